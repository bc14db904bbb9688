//! The per-event energy model (docs/energy.md): hardware counters in, joules out.
//!
//! Each event class has an energy per unit; the figures of the default table
//! are estimates for the xck26 (16 nm FinFET) whose sources are given in
//! docs/energy.md. `--energy-model FILE` loads another table (other devices, or
//! figures calibrated on a board), as JSON with the same fields.

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Energy per event, in picojoules, and static power in watts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnergyModel {
    /// What the table describes, for reports.
    pub device: String,
    /// One PE addition, per accumulator bit.
    pub pe_add_pj_per_bit: f64,
    /// On-chip buffer (BRAM) read or write, per bit.
    pub buffer_pj_per_bit: f64,
    /// DMA transfer to or from DDR, per byte (interconnect, controller, DRAM).
    pub dma_pj_per_byte: f64,
    /// One neurodynamic update (leak, integrate, divide, reset), per membrane bit.
    pub neuron_pj_per_bit: f64,
    /// Static power of the programmable logic while a run lasts.
    pub static_watts: f64,
}

impl Default for EnergyModel {
    /// The xck26 estimates of docs/energy.md.
    fn default() -> Self {
        Self {
            device: "xck26 (16 nm), estimates from docs/energy.md".into(),
            pe_add_pj_per_bit: 0.013,
            buffer_pj_per_bit: 0.20,
            dma_pj_per_byte: 160.0,
            neuron_pj_per_bit: 0.05,
            static_watts: 0.5,
        }
    }
}

/// The counts one inference produced (from hardware counters or a model).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct EnergyInputs {
    pub pe_adds: u64,
    pub acc_bits: u32,
    pub buffer_bits: u64,
    pub dma_bytes: u64,
    pub neuron_updates: u64,
    pub membrane_bits: u32,
    pub cycles: u64,
    pub clock_hz: f64,
}

/// Energy of one inference, by event class, in joules.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct EnergyReport {
    pub pe_j: f64,
    pub buffer_j: f64,
    pub dma_j: f64,
    pub neuron_j: f64,
    pub static_j: f64,
    pub total_j: f64,
}

impl EnergyReport {
    /// Energy per synaptic operation (`sops` = sum over layers of MACs * T).
    pub fn per_sop(&self, sops: u64) -> f64 {
        self.total_j / sops.max(1) as f64
    }
    /// Energy per unit of Bit Budget (`s_ace` = sum over layers of n * BB, Eq. 8).
    pub fn per_bit_budget(&self, s_ace: u64) -> f64 {
        self.total_j / s_ace.max(1) as f64
    }
}

const PJ: f64 = 1e-12;

impl EnergyModel {
    /// Load a table from a JSON file.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read(path)
            .with_context(|| format!("cannot read energy model {}", path.display()))?;
        let m: Self = serde_json::from_slice(&text)
            .with_context(|| format!("{} is not a valid energy model table", path.display()))?;
        m.validate()
            .with_context(|| format!("in energy model {}", path.display()))?;
        Ok(m)
    }

    pub fn validate(&self) -> Result<()> {
        let fields = [
            ("pe_add_pj_per_bit", self.pe_add_pj_per_bit),
            ("buffer_pj_per_bit", self.buffer_pj_per_bit),
            ("dma_pj_per_byte", self.dma_pj_per_byte),
            ("neuron_pj_per_bit", self.neuron_pj_per_bit),
            ("static_watts", self.static_watts),
        ];
        for (name, v) in fields {
            if !v.is_finite() || v < 0.0 {
                bail!("{name} = {v}: energies and powers must be finite and non-negative");
            }
        }
        Ok(())
    }

    /// Apply the table to one inference's counts.
    pub fn apply(&self, x: &EnergyInputs) -> EnergyReport {
        let pe_j = x.pe_adds as f64 * f64::from(x.acc_bits) * self.pe_add_pj_per_bit * PJ;
        let buffer_j = x.buffer_bits as f64 * self.buffer_pj_per_bit * PJ;
        let dma_j = x.dma_bytes as f64 * self.dma_pj_per_byte * PJ;
        let neuron_j =
            x.neuron_updates as f64 * f64::from(x.membrane_bits) * self.neuron_pj_per_bit * PJ;
        let seconds = if x.clock_hz > 0.0 {
            x.cycles as f64 / x.clock_hz
        } else {
            0.0
        };
        let static_j = self.static_watts * seconds;
        EnergyReport {
            pe_j,
            buffer_j,
            dma_j,
            neuron_j,
            static_j,
            total_j: pe_j + buffer_j + dma_j + neuron_j + static_j,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn energy_by_hand() {
        let m = EnergyModel {
            device: "test".into(),
            pe_add_pj_per_bit: 0.5,
            buffer_pj_per_bit: 2.0,
            dma_pj_per_byte: 100.0,
            neuron_pj_per_bit: 1.0,
            static_watts: 0.25,
        };
        let r = m.apply(&EnergyInputs {
            pe_adds: 1000,
            acc_bits: 20,
            buffer_bits: 300,
            dma_bytes: 10,
            neuron_updates: 4,
            membrane_bits: 32,
            cycles: 2000,
            clock_hz: 200e6,
        });
        // 1000 adds * 20 bits * 0.5 pJ = 10 nJ; 300 bits * 2 pJ = 0.6 nJ;
        // 10 B * 100 pJ = 1 nJ; 4 * 32 * 1 pJ = 0.128 nJ; 0.25 W * 10 us = 2.5 uJ.
        assert!((r.pe_j - 10e-9).abs() < 1e-18);
        assert!((r.buffer_j - 0.6e-9).abs() < 1e-18);
        assert!((r.dma_j - 1e-9).abs() < 1e-18);
        assert!((r.neuron_j - 0.128e-9).abs() < 1e-18);
        assert!((r.static_j - 2.5e-6).abs() < 1e-15);
        assert!((r.total_j - (10e-9 + 0.6e-9 + 1e-9 + 0.128e-9 + 2.5e-6)).abs() < 1e-15);
        assert!((r.per_bit_budget(1000) - r.total_j / 1000.0).abs() < 1e-20);
    }

    #[test]
    fn bad_tables_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("e.json");
        let mut m = serde_json::to_value(EnergyModel::default()).unwrap();
        m["dma_pj_per_byte"] = serde_json::json!(-1.0);
        std::fs::write(&p, m.to_string()).unwrap();
        let e = format!("{:#}", EnergyModel::load(&p).unwrap_err());
        assert!(e.contains("dma_pj_per_byte = -1"), "{e}");
        std::fs::write(&p, r#"{"device": "x", "joules": 1}"#).unwrap();
        let e = format!("{:#}", EnergyModel::load(&p).unwrap_err());
        assert!(
            e.contains("not a valid energy model") && e.contains("joules"),
            "{e}"
        );
    }
}
