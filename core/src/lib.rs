//! # spikeslice-core
//!
//! The contract every part of spikeslice shares. The numbers defined here are the
//! numbers: the RTL, the driver and the firmware are all tested, bit for bit,
//! against [`golden`]. The spec this code implements is `docs/semantics.md`.
//!
//! - [`numeric`]: bit widths `b_w`, `b_s`, `T` and their integer domains;
//! - [`neuron`]: the multi-bit IF/LIF neuron (BB paper Eqs. 6-7);
//! - [`model`]: the model format (JSON spec + safetensors) and its lowering;
//! - [`golden`]: the reference evaluators (direct, bit-serial, packed);
//! - [`widths`]: worst-case register widths against an accelerator configuration;
//! - [`budget`]: MACs, Bit Budget, S-ACE and NS-ACE (Eqs. 4, 8, 9);
//! - [`atomic`]: files written whole or not at all (temporary file, then rename);
//! - [`dataset`]: the digit datasets and standard file formats;
//! - [`accel`]: the accelerator's configuration, register map, descriptors,
//!   memory layouts, and a functional model that executes them;
//! - [`protocol`]: the CRC-framed host <-> board wire protocol;

/// `add(&mut self, other)` and `share(n, i)` for a record of counts: the
/// field-wise sum, and one sample's part of a batch's counts, for the
/// statistics that are totalled over layers, timesteps and samples.
macro_rules! fieldwise_add {
    ($ty:ident { $($field:ident),+ $(,)? }) => {
        impl $ty {
            /// Add `other`'s counts to these, field by field.
            pub fn add(&mut self, other: &$ty) {
                $(self.$field += other.$field;)+
            }

            /// Sample `i`'s share of counts that `n` samples made together (a
            /// batch), field by field ([`crate::share`]).
            pub fn share(&self, n: usize, i: usize) -> Self {
                Self {
                    $($field: $crate::share(self.$field, n, i),)+
                }
            }
        }
    };
}

/// Sample `i`'s share of a count `total` that `n` samples made together (a
/// batch): `total / n`, the remainder one each to the first samples, so that
/// the `n` shares add up to the whole.
pub fn share(total: u64, n: usize, i: usize) -> u64 {
    let n = n.max(1) as u64;
    total / n + u64::from((i as u64) < total % n)
}

pub mod accel;
pub mod atomic;
pub mod budget;
pub mod dataset;
pub mod golden;
pub mod model;
pub mod neuron;
pub mod numeric;
pub mod protocol;
pub mod random;
pub mod widths;
