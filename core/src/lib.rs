//! # spikeslice-core
//!
//! The contract every part of spikeslice shares. The numbers defined here are the
//! numbers: the RTL, the driver and the firmware are all tested, bit for bit,
//! against [`golden`]. The spec this code implements is `docs/semantics.md`.

pub mod dataset;
