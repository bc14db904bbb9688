//! How each register of the table is implemented: the generator walks
//! [`REGISTERS`] and gives every entry a class by its access type and name; a
//! register it cannot classify is a generator error, so a register added to the
//! table without RTL fails generation instead of silently reading 0.

use super::regmap::{self, Access, REGISTERS};
use super::ADDR_BITS;

/// A register table or configuration the generator cannot build.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CsrError {
    #[error(
        "register {0} has no implementation in the CSR generator (name/access not recognised)"
    )]
    Unclassified(&'static str),
    #[error("register {0} lies outside the 4 KiB register window or is not word aligned")]
    Offset(&'static str),
    #[error("required register {0} is missing from the table")]
    Missing(&'static str),
    #[error("counter {0} has no matching _HI register at offset + 4")]
    CounterPair(&'static str),
    #[error("configuration value for offset 0x{0:03X} does not name a CFG_* register")]
    ConfigOffset(u32),
    #[error(
        "configuration register {0} has no value (pass AcceleratorConfig::config_registers())"
    )]
    ConfigMissing(&'static str),
}

/// A 64-bit counter pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CounterPair {
    /// Name without the `_LO` suffix, e.g. `CNT_CYCLES`.
    pub name: String,
    pub lo: u32,
    pub hi: u32,
}

/// How each register of the table is implemented; indices of `rw`, `ro` and
/// `counters` are the indices of the block's `rw`, `ro` and `cnt` port vectors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsrLayout {
    /// (offset, value) of the constant registers.
    pub consts: Vec<(u32, u32)>,
    /// (name, offset, reset) of the generic read-write registers.
    pub rw: Vec<(&'static str, u32, u32)>,
    /// (name, offset) of the read-only input registers.
    pub ro: Vec<(&'static str, u32)>,
    pub counters: Vec<CounterPair>,
    pub ctrl: u32,
    pub status: u32,
    pub irq_status: u32,
}

impl CsrLayout {
    /// Classifies every register of [`REGISTERS`]; `cfg_values` are the
    /// `(offset, value)` pairs of `AcceleratorConfig::config_registers()`.
    pub fn from_table(cfg_values: &[(u32, u32)]) -> Result<Self, CsrError> {
        let table = REGISTERS;
        for (off, _) in cfg_values {
            if !table
                .iter()
                .any(|r| r.offset == *off && r.name.starts_with("CFG_"))
            {
                return Err(CsrError::ConfigOffset(*off));
            }
        }
        let mut l = CsrLayout {
            consts: vec![],
            rw: vec![],
            ro: vec![],
            counters: vec![],
            ctrl: u32::MAX,
            status: u32::MAX,
            irq_status: u32::MAX,
        };
        let is_hi_of_counter = |name: &str| {
            name.strip_suffix("_HI").is_some_and(|base| {
                table
                    .iter()
                    .any(|r| r.access == Access::Ro && r.name == format!("{base}_LO"))
            })
        };
        for r in table {
            if r.offset >= 1 << ADDR_BITS || r.offset % 4 != 0 {
                return Err(CsrError::Offset(r.name));
            }
            match (r.name, r.access) {
                ("CTRL", Access::Rw) => l.ctrl = r.offset,
                ("STATUS", Access::Ro) => l.status = r.offset,
                ("IRQ_STATUS", Access::W1c) => l.irq_status = r.offset,
                ("ID" | "VERSION", Access::Ro) => l.consts.push((r.offset, r.reset)),
                (n, Access::Ro) if n.starts_with("CFG_") => {
                    let v = cfg_values
                        .iter()
                        .find(|(o, _)| *o == r.offset)
                        .ok_or(CsrError::ConfigMissing(r.name))?;
                    l.consts.push((r.offset, v.1));
                }
                (n, Access::Ro) if n.ends_with("_LO") => {
                    let base = &n[..n.len() - 3];
                    let hi = table
                        .iter()
                        .find(|h| h.name == format!("{base}_HI"))
                        .filter(|h| h.offset == r.offset + 4 && h.access == Access::Ro)
                        .ok_or(CsrError::CounterPair(r.name))?;
                    l.counters.push(CounterPair {
                        name: base.to_string(),
                        lo: r.offset,
                        hi: hi.offset,
                    });
                }
                (n, Access::Ro) if is_hi_of_counter(n) => {} // with its _LO
                (n, Access::Ro) => l.ro.push((n, r.offset)),
                (n, Access::Rw) => l.rw.push((n, r.offset, r.reset)),
                (n, _) => return Err(CsrError::Unclassified(n)),
            }
        }
        for (name, off) in [
            ("CTRL", l.ctrl),
            ("STATUS", l.status),
            ("IRQ_STATUS", l.irq_status),
        ] {
            if off == u32::MAX {
                return Err(CsrError::Missing(name));
            }
        }
        Ok(l)
    }

    /// Index in the `rw` port vector of a read-write register.
    pub fn rw_index(&self, name: &str) -> Option<usize> {
        self.rw.iter().position(|r| r.0 == name)
    }
    /// Index in the `ro` port vector of a read-only input register.
    pub fn ro_index(&self, name: &str) -> Option<usize> {
        self.ro.iter().position(|r| r.0 == name)
    }
    /// Index in the `cnt` port vector of a counter (name without `_LO`).
    pub fn counter_index(&self, name: &str) -> Option<usize> {
        self.counters.iter().position(|c| c.name == name)
    }

    /// What a register reads after reset with its inputs at 0: the table's
    /// reset value, or for a `CFG_*` register the configuration's value.
    pub fn reset_value(&self, r: &regmap::Register) -> u32 {
        self.consts
            .iter()
            .find(|c| c.0 == r.offset)
            .map_or(r.reset, |c| c.1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use regmap::{CTRL, ERR_OFFSET};
    use spikeslice_core::accel::AcceleratorConfig;

    #[test]
    fn layout_covers_the_table() {
        let cfg = AcceleratorConfig::default().config_registers();
        let l = CsrLayout::from_table(&cfg).unwrap();
        let n = l.consts.len() + l.rw.len() + l.ro.len() + 2 * l.counters.len() + 3;
        assert_eq!(
            n,
            REGISTERS.len(),
            "every register implemented exactly once"
        );
        assert_eq!(l.counters.len(), 8);
        assert!(l.rw_index("BUF_SIZE").is_some() && l.ro_index("ERR_OFFSET").is_some());
        let by = |o| REGISTERS.iter().find(|r| r.offset == o).unwrap();
        assert_eq!(l.reset_value(by(ERR_OFFSET)), 0);
        assert_eq!(l.reset_value(by(regmap::ID)), regmap::MAGIC);
        assert_eq!(l.reset_value(by(cfg[0].0)), cfg[0].1);
        // A missing CFG value or a value for a non-CFG offset is a generator error.
        assert_eq!(
            CsrLayout::from_table(&cfg[1..]),
            Err(CsrError::ConfigMissing("CFG_ARRAY"))
        );
        assert_eq!(
            CsrLayout::from_table(&[(CTRL, 1)]),
            Err(CsrError::ConfigOffset(CTRL))
        );
    }
}
