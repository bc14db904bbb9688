//! Register widths: an accelerator configuration's accumulator and membrane
//! widths, checked against each layer's worst case (docs/semantics.md §6).
//!
//! The accelerator never wraps and never saturates silently: a model that
//! could exceed a width on any input is rejected before it runs.

use crate::golden::RequiredWidths;
use crate::model::Model;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// The widths of the datapath registers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AcceleratorWidths {
    /// PE accumulator: one binary slice's partial sum.
    pub acc_bits: u32,
    /// Post-processing and neurodynamic units: current, membrane, threshold.
    pub membrane_bits: u32,
}

impl Default for AcceleratorWidths {
    /// The generator's defaults.
    fn default() -> Self {
        Self {
            acc_bits: 24,
            membrane_bits: 32,
        }
    }
}

/// A layer that could overflow a register.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum WidthError {
    #[error("layer {layer}: a slice partial sum can reach [{lo}, {hi}], which needs a {needed}-bit accumulator; the accelerator has {have} bits (generate it with --acc-bits {needed} or more, or use smaller weights or fan-in)")]
    Accumulator {
        layer: String,
        lo: i64,
        hi: i64,
        needed: u32,
        have: u32,
    },
    #[error("layer {layer}: the current or membrane can reach [{lo}, {hi}] over T steps, which needs {needed} membrane bits; the accelerator has {have} (generate it with --membrane-bits {needed} or more, or lower T, the bias or v_init)")]
    Membrane {
        layer: String,
        lo: i64,
        hi: i64,
        needed: u32,
        have: u32,
    },
}

/// Check every layer; returns each layer's requirement when all fit.
pub fn check(model: &Model, widths: AcceleratorWidths) -> Result<Vec<RequiredWidths>, WidthError> {
    let t = model.timesteps();
    model
        .layers
        .iter()
        .map(|l| {
            let r = l.required_widths(t);
            if r.acc_bits > widths.acc_bits {
                return Err(WidthError::Accumulator {
                    layer: l.name.clone(),
                    lo: r.acc_range.0,
                    hi: r.acc_range.1,
                    needed: r.acc_bits,
                    have: widths.acc_bits,
                });
            }
            if r.membrane_bits > widths.membrane_bits {
                return Err(WidthError::Membrane {
                    layer: l.name.clone(),
                    lo: r.membrane_range.0,
                    hi: r.membrane_range.1,
                    needed: r.membrane_bits,
                    have: widths.membrane_bits,
                });
            }
            Ok(r)
        })
        .collect()
}
