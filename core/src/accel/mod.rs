//! The accelerator's side of the contract: its configuration, register map,
//! layer descriptors and memory layouts. The RTL implements these, the driver
//! and firmware program them, and [`functional`] executes them in software so
//! the whole path can be checked against the golden model.

pub mod buffers;
pub mod cycles;
pub mod descriptor;
pub mod functional;
pub mod layout;
pub mod register_model;
pub mod regmap;

use crate::widths::AcceleratorWidths;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// A generated accelerator: array shape, datapath widths, AXI port and
/// on-chip buffers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AcceleratorConfig {
    /// PE rows: binary slice vectors processed side by side.
    pub rows: usize,
    /// PE columns: outputs processed side by side.
    pub cols: usize,
    pub weight_bits_max: u8,
    pub spike_bits_max: u8,
    pub acc_bits: u32,
    pub membrane_bits: u32,
    /// AXI4 data width in bytes (8 or 16).
    pub axi_data_bytes: usize,
    /// Longest INCR burst, in beats (at most 256).
    pub max_burst_beats: usize,
    /// Weight buffer size in bytes.
    pub wbuf_bytes: usize,
    /// Activation buffer size in bytes.
    pub abuf_bytes: usize,
    /// Output buffer size in bytes.
    pub obuf_bytes: usize,
}

impl Default for AcceleratorConfig {
    fn default() -> Self {
        Self {
            rows: 8,
            cols: 8,
            weight_bits_max: 8,
            spike_bits_max: 8,
            acc_bits: AcceleratorWidths::default().acc_bits,
            membrane_bits: AcceleratorWidths::default().membrane_bits,
            axi_data_bytes: 16,
            max_burst_beats: 256,
            wbuf_bytes: 256 * 1024,
            abuf_bytes: 128 * 1024,
            obuf_bytes: 64 * 1024,
        }
    }
}

/// A configuration no accelerator can have.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("invalid accelerator configuration: {0}")]
pub struct ConfigError(pub String);

impl AcceleratorConfig {
    /// Whether the controller loads a whole row of a weight tile, the `cols` codes
    /// of one input, per cycle (true when `cols * weight_bits_max <= 64`, the
    /// gearbox's widest field), rather than one `b_w`-bit code per cycle. A tile's
    /// weight load then takes `K` cycles instead of `K * cols` (docs/shell.md,
    /// "Controller").
    pub fn loads_weight_rows(&self) -> bool {
        self.cols * usize::from(self.weight_bits_max) <= 64
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        let err = |m: String| Err(ConfigError(m));
        if !(1..=64).contains(&self.rows) || !(1..=64).contains(&self.cols) {
            return err(format!(
                "array {}x{}: rows and columns must be in 1..=64",
                self.rows, self.cols
            ));
        }
        if !(1..=8).contains(&self.weight_bits_max) || !(1..=8).contains(&self.spike_bits_max) {
            return err("the maximum weight and spike widths must be in 1..=8".into());
        }
        if !(8..=48).contains(&self.acc_bits) || !(8..=64).contains(&self.membrane_bits) {
            return err(format!(
                "acc_bits = {} (8..=48) or membrane_bits = {} (8..=64) out of range",
                self.acc_bits, self.membrane_bits
            ));
        }
        if ![8, 16].contains(&self.axi_data_bytes) {
            return err(format!(
                "AXI data width {} bits: use 64 or 128",
                self.axi_data_bytes * 8
            ));
        }
        if !(1..=256).contains(&self.max_burst_beats) {
            return err("bursts are 1..=256 beats (AXI4 INCR)".into());
        }
        Ok(())
    }

    pub fn widths(&self) -> AcceleratorWidths {
        AcceleratorWidths {
            acc_bits: self.acc_bits,
            membrane_bits: self.membrane_bits,
        }
    }

    /// The read-only configuration registers' values.
    pub fn config_registers(&self) -> Vec<(u32, u32)> {
        use regmap::*;
        vec![
            (CFG_ARRAY, (self.rows as u32) | ((self.cols as u32) << 16)),
            (
                CFG_WIDTHS,
                self.acc_bits
                    | (self.membrane_bits << 8)
                    | (u32::from(self.weight_bits_max) << 16)
                    | (u32::from(self.spike_bits_max) << 20),
            ),
            (
                CFG_AXI,
                (self.axi_data_bytes as u32) | ((self.max_burst_beats as u32) << 8),
            ),
            (CFG_WBUF_BYTES, self.wbuf_bytes as u32),
            (CFG_ABUF_BYTES, self.abuf_bytes as u32),
            (CFG_OBUF_BYTES, self.obuf_bytes as u32),
        ]
    }

    /// Rebuild a configuration from its registers (what a driver does after
    /// reading them from a device).
    /// [`AcceleratorConfig::from_registers`] from `(offset, value)` pairs, as
    /// the protocol's handshake carries them (a missing register reads 0).
    pub fn from_register_values(values: &[(u32, u32)]) -> Result<Self, ConfigError> {
        Self::from_registers(|o| values.iter().find(|(x, _)| *x == o).map_or(0, |v| v.1))
    }

    pub fn from_registers(mut read: impl FnMut(u32) -> u32) -> Result<Self, ConfigError> {
        use regmap::*;
        let array = read(CFG_ARRAY);
        let widths = read(CFG_WIDTHS);
        let axi = read(CFG_AXI);
        let c = Self {
            rows: (array & 0xFFFF) as usize,
            cols: (array >> 16) as usize,
            acc_bits: widths & 0xFF,
            membrane_bits: (widths >> 8) & 0xFF,
            weight_bits_max: ((widths >> 16) & 0xF) as u8,
            spike_bits_max: ((widths >> 20) & 0xF) as u8,
            axi_data_bytes: (axi & 0xFF) as usize,
            max_burst_beats: ((axi >> 8) & 0x1FF) as usize,
            wbuf_bytes: read(CFG_WBUF_BYTES) as usize,
            abuf_bytes: read(CFG_ABUF_BYTES) as usize,
            obuf_bytes: read(CFG_OBUF_BYTES) as usize,
        };
        c.validate()?;
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_registers_round_trip() {
        let c = AcceleratorConfig {
            rows: 16,
            cols: 4,
            acc_bits: 20,
            ..Default::default()
        };
        let regs = c.config_registers();
        let back = AcceleratorConfig::from_register_values(&regs).unwrap();
        assert_eq!(back, c);
    }
}
