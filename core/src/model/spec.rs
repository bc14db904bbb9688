//! The JSON half of a model file (docs/model-format.md).

use crate::neuron::{Dynamics, Reset, MAX_LEAK_SHIFT};
use crate::numeric::{SpikeBits, Timesteps, WeightBits};
use serde::{Deserialize, Serialize};

/// The `format` field every model file carries.
pub const FORMAT: &str = "spikeslice-model";
/// The model format version this build reads and writes.
pub const VERSION: u32 = 1;

/// A model's structure and allocation; the weights live in the safetensors file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSpec {
    pub format: String,
    pub version: u32,
    pub name: String,
    /// Path of the safetensors file, relative to the JSON file.
    pub weights: String,
    /// `T`, one for the whole network.
    pub timesteps: Timesteps,
    pub input: InputSpec,
    pub layers: Vec<LayerSpec>,
}

/// The input: `shape` is `[N]` or `[C, H, W]`; values are `bits`-bit unsigned,
/// presented unchanged at every timestep (direct encoding).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputSpec {
    pub shape: Vec<usize>,
    pub bits: SpikeBits,
}

/// The neuron of a spiking layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NeuronSpec {
    /// `b_s` of the spikes this layer emits.
    pub spike_bits: SpikeBits,
    #[serde(default = "soft")]
    pub reset: Reset,
    /// Absent: IF. Present: LIF with leak `v - (v >> leak_shift)`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leak_shift: Option<u8>,
}

fn soft() -> Reset {
    Reset::Soft
}
fn one_pair() -> [usize; 2] {
    [1, 1]
}
fn zero_pair() -> [usize; 2] {
    [0, 0]
}
fn one() -> usize {
    1
}

/// Sum or average pooling; both lower to a neuron layer (docs/semantics.md §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PoolMode {
    Sum,
    Avg,
}

/// One layer of the model.
///
/// `inputs` names what a layer reads (docs/model-format.md, "Graphs"): empty
/// means the layer before it in the file (the network input for the first).
/// A dense, conv2d or readout layer may name a second input, a shortcut of its
/// output's shape whose spikes are added to its current (Spiking ResNet); an
/// `add` sums the spikes of its two inputs (SEW-ResNet). docs/semantics.md §2.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
pub enum LayerSpec {
    Dense {
        name: String,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        inputs: Vec<String>,
        outputs: usize,
        weight_bits: WeightBits,
        neuron: NeuronSpec,
        /// The shortcut's weight (the second input's), in the layer's `b_w` range.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        shortcut_weight: Option<i32>,
    },
    Conv2d {
        name: String,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        inputs: Vec<String>,
        out_channels: usize,
        kernel: [usize; 2],
        #[serde(default = "one_pair")]
        stride: [usize; 2],
        #[serde(default = "zero_pair")]
        padding: [usize; 2],
        #[serde(default = "one")]
        groups: usize,
        weight_bits: WeightBits,
        neuron: NeuronSpec,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        shortcut_weight: Option<i32>,
    },
    Pool {
        name: String,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        inputs: Vec<String>,
        mode: PoolMode,
        kernel: usize,
        stride: usize,
        /// Threshold per output (multiplied by `kernel^2` for `avg`).
        threshold: i32,
        /// Initial membrane (multiplied by `kernel^2` for `avg`).
        #[serde(default)]
        v_init: i32,
        neuron: NeuronSpec,
    },
    Flatten {
        name: String,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        inputs: Vec<String>,
    },
    /// Elementwise sum of two spike tensors of one shape (SEW-ResNet's ADD):
    /// the output spikes are one bit wider than the wider input.
    Add { name: String, inputs: Vec<String> },
    Readout {
        name: String,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        inputs: Vec<String>,
        outputs: usize,
        weight_bits: WeightBits,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        leak_shift: Option<u8>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        shortcut_weight: Option<i32>,
    },
}

impl LayerSpec {
    pub fn name(&self) -> &str {
        match self {
            LayerSpec::Dense { name, .. }
            | LayerSpec::Conv2d { name, .. }
            | LayerSpec::Pool { name, .. }
            | LayerSpec::Flatten { name, .. }
            | LayerSpec::Add { name, .. }
            | LayerSpec::Readout { name, .. } => name,
        }
    }
    /// [`LayerSpec::inputs`], to change.
    pub fn inputs_mut(&mut self) -> &mut Vec<String> {
        match self {
            LayerSpec::Dense { inputs, .. }
            | LayerSpec::Conv2d { inputs, .. }
            | LayerSpec::Pool { inputs, .. }
            | LayerSpec::Flatten { inputs, .. }
            | LayerSpec::Add { inputs, .. }
            | LayerSpec::Readout { inputs, .. } => inputs,
        }
    }
    /// The names this layer reads (empty: the layer before it).
    pub fn inputs(&self) -> &[String] {
        match self {
            LayerSpec::Dense { inputs, .. }
            | LayerSpec::Conv2d { inputs, .. }
            | LayerSpec::Pool { inputs, .. }
            | LayerSpec::Flatten { inputs, .. }
            | LayerSpec::Add { inputs, .. }
            | LayerSpec::Readout { inputs, .. } => inputs,
        }
    }
    pub fn kind(&self) -> &'static str {
        match self {
            LayerSpec::Dense { .. } => "dense",
            LayerSpec::Conv2d { .. } => "conv2d",
            LayerSpec::Pool { .. } => "pool",
            LayerSpec::Flatten { .. } => "flatten",
            LayerSpec::Add { .. } => "add",
            LayerSpec::Readout { .. } => "readout",
        }
    }
    /// Whether the layer has weight tensors in the safetensors file.
    pub fn has_tensors(&self) -> bool {
        matches!(
            self,
            LayerSpec::Dense { .. } | LayerSpec::Conv2d { .. } | LayerSpec::Readout { .. }
        )
    }
}

/// Map a spec's optional leak to dynamics, checking its range.
pub fn dynamics_of(leak_shift: Option<u8>) -> Result<Dynamics, String> {
    match leak_shift {
        None => Ok(Dynamics::If),
        Some(k) if (1..=MAX_LEAK_SHIFT).contains(&k) => Ok(Dynamics::Lif { leak_shift: k }),
        Some(k) => Err(format!(
            "leak_shift = {k} is out of range: use 1..={MAX_LEAK_SHIFT}, or leave it out for IF"
        )),
    }
}
