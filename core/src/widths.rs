//! Register widths: an accelerator configuration's accumulator and membrane
//! widths, checked against each layer's worst case (docs/semantics.md §6).
//!
//! The accelerator never wraps and never saturates silently: a model that
//! could exceed a width on any input is rejected before it runs.

use crate::golden::{NeuronLayer, RequiredWidths};
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

/// Where a layer's values could overflow a register: the range they can
/// reach, the bits that needs and the bits the register has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Overflow {
    pub layer: String,
    pub lo: i64,
    pub hi: i64,
    pub needed: u32,
    pub have: u32,
}

/// A layer that could overflow a register.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum WidthError {
    #[error("layer {layer}: a slice partial sum can reach [{lo}, {hi}], which needs a {needed}-bit accumulator; the accelerator has {have} bits (generate it with --acc-bits {needed} or more, or use smaller weights or fan-in)", layer = .0.layer, lo = .0.lo, hi = .0.hi, needed = .0.needed, have = .0.have)]
    Accumulator(Overflow),
    #[error("layer {layer}: the current or membrane can reach [{lo}, {hi}] over T steps, which needs {needed} membrane bits; the accelerator has {have} (generate it with --membrane-bits {needed} or more, or lower T, the bias or v_init)", layer = .0.layer, lo = .0.lo, hi = .0.hi, needed = .0.needed, have = .0.have)]
    Membrane(Overflow),
}

/// Check every layer; returns each layer's requirement when all fit.
pub fn check(model: &Model, widths: AcceleratorWidths) -> Result<Vec<RequiredWidths>, WidthError> {
    let t = model.timesteps();
    model
        .layers
        .iter()
        .zip(&model.wiring)
        .map(|(l, w)| check_layer(l, t, w.shortcut_range(), widths))
        .collect()
}

/// Check one layer over `t` steps whose current also gets `extra` every step
/// (a shortcut's term, [`crate::model::Wiring::shortcut_range`]).
pub fn check_layer(
    l: &NeuronLayer,
    t: usize,
    extra: (i64, i64),
    widths: AcceleratorWidths,
) -> Result<RequiredWidths, WidthError> {
    let r = l.required_widths_with(t, extra);
    let over = |needed: u32, have: u32, (lo, hi): (i64, i64)| {
        (needed > have).then(|| Overflow {
            layer: l.name.clone(),
            lo,
            hi,
            needed,
            have,
        })
    };
    if let Some(o) = over(r.acc_bits, widths.acc_bits, r.acc_range) {
        return Err(WidthError::Accumulator(o));
    }
    if let Some(o) = over(r.membrane_bits, widths.membrane_bits, r.membrane_range) {
        return Err(WidthError::Membrane(o));
    }
    Ok(r)
}
