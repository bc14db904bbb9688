//! Import of NIR graphs (the Neuromorphic Intermediate Representation that
//! snnTorch, SpikingJelly, Norse, Sinabs, Rockpool, Lava-DL and others export)
//! into the integer model; the mapping is in docs/nir.md.
//!
//! - [`read`]: the HDF5 file, with the pure-Rust `hdf5-reader` (no C library);
//! - [`graph`]: versions, and the nodes in an order that lists each after
//!   its inputs (cycles, dangling edges and stray nodes are refused by name);
//! - `params`: typed access to a node's fields;
//! - `lower` and `emit`: nodes onto layers, quantized to an allocation.

mod emit;
pub mod graph;
mod lower;
mod params;
pub mod read;

use crate::alloc::Allocation;
use spikeslice_core::model::{Model, ModelError};
use std::path::Path;

/// What the NIR file cannot be imported for; each names the node, edge or
/// option to change.
#[derive(Debug, thiserror::Error)]
pub enum NirError {
    #[error("{0}")]
    Read(String),
    #[error("NIR version {0:?} is not supported: this build reads versions 0.1 to 1.x")]
    Version(String),
    #[error("{0}")]
    Graph(String),
    #[error("node {node}: {message}")]
    Node { node: String, message: String },
    #[error("{0}")]
    Options(String),
    #[error("the imported network is not a valid model: {0}")]
    Model(#[from] ModelError),
}

/// How a neuron resets after a spike. NIR's IF and LIF reset to `v_reset`
/// (zero); frameworks that subtract the threshold instead (Sinabs' default,
/// snnTorch's `reset_mechanism="subtract"`) export the same node, and the file
/// does not say which.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NirReset {
    /// `v <- 0` after a spike, as NIR's equations say.
    Zero,
    /// `v <- v - s * theta`: the integer model's soft reset.
    Subtract,
}

/// The choices a NIR file does not make.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// `b_w` of every layer, `b_s` of every spiking layer, `T`.
    pub alloc: Allocation,
    /// Bits of an input value (`0..2^bits - 1`).
    pub input_bits: u8,
    /// The float value of one input step, as the network was trained (1 for
    /// event counts such as N-MNIST frames; `1/255` for 8-bit images scaled
    /// to `[0, 1]`).
    pub input_scale: f64,
    /// The simulation step in seconds, for LIF and LI time constants (NIR files
    /// do not store it).
    pub dt: f64,
    pub reset: NirReset,
    /// The model's name in reports.
    pub name: String,
}

/// An imported network and what the import decided on the way.
pub struct Imported {
    pub model: Model,
    pub version: String,
    /// One line per decision a user should know of (e.g. a spiking last
    /// layer read out by its current).
    pub notes: Vec<String>,
}

/// Read and convert a NIR file.
pub fn import(path: &Path, opts: &ImportOptions) -> Result<Imported, NirError> {
    let raw = read::read(path)?;
    import_graph(&raw, opts)
}

/// Convert a NIR graph already read.
pub fn import_graph(raw: &read::RawGraph, opts: &ImportOptions) -> Result<Imported, NirError> {
    graph::check_version(&raw.version)?;
    if !(1..=8).contains(&opts.input_bits) {
        return Err(NirError::Options(format!(
            "--input-bits {}: use 1..=8",
            opts.input_bits
        )));
    }
    if !(opts.input_scale.is_finite() && opts.input_scale > 0.0) {
        return Err(NirError::Options(format!(
            "--input-scale {}: give the positive float value of one input step",
            opts.input_scale
        )));
    }
    if !(opts.dt.is_finite() && opts.dt > 0.0) {
        return Err(NirError::Options(format!(
            "--dt {}: give the positive simulation step in seconds",
            opts.dt
        )));
    }
    let order = graph::order(raw)?;
    let lowered = lower::lower(raw, &order, opts)?;
    let model = Model::new(lowered.spec, lowered.tensors)?;
    Ok(Imported {
        model,
        version: raw.version.clone(),
        notes: lowered.notes,
    })
}
