//! The golden model: the definition of every number the accelerator produces.
//!
//! Layers run in order, each for all `T` timesteps before the next
//! (docs/semantics.md §5). For a feed-forward network this equals time-major
//! order: layer `l` at step `t` reads only earlier layers' spikes at step `t`
//! (its input and its shortcut, [`crate::model::Wiring`]) and its own state
//! from step `t-1`, so any order that respects those dependencies computes
//! the same values.

mod layer;
mod matmul;
mod packed;

pub use layer::{
    Engine, LayerOutput, LayerTrace, NeuronLayer, Neurons, RequiredWidths, SpikeStats, Synapses,
    PAD,
};
pub use matmul::MatmulLayer;
pub use packed::PackedWeights;

use crate::model::{Model, Source};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// An input sample that does not fit the model.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum InputError {
    #[error("sample {sample} has {found} values, the model's input has {expected}")]
    Length {
        sample: usize,
        found: usize,
        expected: usize,
    },
    #[error("sample {sample}, value {index} is {value}, which does not fit the model's {bits}-bit input (max {max})")]
    Range {
        sample: usize,
        index: usize,
        value: u32,
        bits: u8,
        max: u32,
    },
}

/// The result of one sample.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SampleOutput {
    /// Final readout membranes: the network's output.
    pub readout: Vec<i64>,
    /// Index of the largest readout (the lowest index on a tie).
    pub class: usize,
    /// Statistics of the input, counted as spikes (for the first layer's NS-ACE).
    pub input: SpikeStats,
    /// Spike statistics of each lowered layer's output (the readout's are zero).
    pub layers: Vec<SpikeStats>,
}

/// Per-layer traces of one sample, for debugging and equivalence tests.
#[derive(Debug, Clone, PartialEq)]
pub struct NetworkTrace {
    pub layers: Vec<LayerTrace>,
}

/// Check a sample against the model's input and convert it to spikes.
pub fn check_input(model: &Model, sample: usize, values: &[u32]) -> Result<Vec<u8>, InputError> {
    let expected = model.input_len();
    if values.len() != expected {
        return Err(InputError::Length {
            sample,
            found: values.len(),
            expected,
        });
    }
    let bits = model.spec.input.bits.get();
    let max = u32::from(crate::numeric::mask(bits));
    values
        .iter()
        .enumerate()
        .map(|(index, &value)| {
            if value > max {
                Err(InputError::Range {
                    sample,
                    index,
                    value,
                    bits,
                    max,
                })
            } else {
                Ok(value as u8)
            }
        })
        .collect()
}

/// What a model needs for the packed evaluator, built once per model rather
/// than once per sample: each layer's weights as bit planes.
pub struct Prepared {
    packed: Vec<PackedWeights>,
}

impl Prepared {
    pub fn new(model: &Model) -> Self {
        Self {
            packed: model.layers.iter().map(PackedWeights::new).collect(),
        }
    }
}

fn prepared_for(model: &Model, engine: Engine) -> Option<Prepared> {
    (engine == Engine::Packed).then(|| Prepared::new(model))
}

/// Run layer `i` of `model` on the spike trains before it: its input's and
/// its shortcut's (docs/semantics.md §2, "Shortcuts").
fn run_layer(
    model: &Model,
    i: usize,
    input: &[Vec<u8>],
    earlier: &[Vec<Vec<u8>>],
    engine: Engine,
    prepared: Option<&Prepared>,
) -> LayerTrace {
    let layer = &model.layers[i];
    let wiring = model.wiring[i];
    let spikes = |s: Source| match s {
        Source::Input => input,
        Source::Layer(j) => &earlier[j],
    };
    let packed = prepared.map(|p| &p.packed[i]);
    let mut currents = layer.currents_prepared(spikes(wiring.input), engine, packed);
    if let Some(shortcut) = wiring.shortcut {
        let w = i64::from(shortcut.weight);
        for (current, x) in currents.iter_mut().zip(spikes(shortcut.from)) {
            for (c, &v) in current.iter_mut().zip(x) {
                *c += w * i64::from(v);
            }
        }
    }
    layer.integrate(currents)
}

/// Run one checked sample through every layer, keeping each layer's trace.
pub fn trace(model: &Model, input: &[u8], engine: Engine) -> NetworkTrace {
    let prepared = prepared_for(model, engine);
    let inputs: Vec<Vec<u8>> = vec![input.to_vec(); model.timesteps()];
    let mut spikes: Vec<Vec<Vec<u8>>> = Vec::with_capacity(model.layers.len());
    let mut layers = Vec::with_capacity(model.layers.len());
    for i in 0..model.layers.len() {
        let tr = run_layer(model, i, &inputs, &spikes, engine, prepared.as_ref());
        spikes.push(tr.spikes.clone());
        layers.push(tr);
    }
    NetworkTrace { layers }
}

/// Run one checked sample.
pub fn run_sample(model: &Model, input: &[u8], engine: Engine) -> SampleOutput {
    run_sample_prepared(model, prepared_for(model, engine).as_ref(), input, engine)
}

/// Run one checked sample with weights prepared by [`Prepared::new`] (used
/// with [`Engine::Packed`]; ignored by the other engines).
pub fn run_sample_prepared(
    model: &Model,
    prepared: Option<&Prepared>,
    input: &[u8],
    engine: Engine,
) -> SampleOutput {
    let inputs: Vec<Vec<u8>> = vec![input.to_vec(); model.timesteps()];
    let input_stats = SpikeStats::of(&inputs);
    let mut spikes: Vec<Vec<Vec<u8>>> = Vec::with_capacity(model.layers.len());
    let mut stats = Vec::with_capacity(model.layers.len());
    let mut readout = Vec::new();
    for (i, layer) in model.layers.iter().enumerate() {
        let tr = run_layer(model, i, &inputs, &spikes, engine, prepared);
        stats.push(SpikeStats::of(&tr.spikes));
        if layer.neurons.output == LayerOutput::Membrane {
            readout = tr.membrane;
        }
        spikes.push(tr.spikes);
    }
    SampleOutput {
        class: argmax(&readout),
        readout,
        input: input_stats,
        layers: stats,
    }
}

/// Run many samples in parallel. Each sample is checked first.
pub fn run_batch(
    model: &Model,
    samples: &[Vec<u32>],
    engine: Engine,
) -> Result<Vec<SampleOutput>, InputError> {
    let inputs: Vec<Vec<u8>> = samples
        .iter()
        .enumerate()
        .map(|(i, s)| check_input(model, i, s))
        .collect::<Result<_, _>>()?;
    Ok(run_checked_batch(model, &inputs, engine))
}

/// Run many already-checked samples in parallel (rayon, one sample per task).
pub fn run_checked_batch(model: &Model, inputs: &[Vec<u8>], engine: Engine) -> Vec<SampleOutput> {
    let prepared = prepared_for(model, engine);
    inputs
        .par_iter()
        .map(|x| run_sample_prepared(model, prepared.as_ref(), x, engine))
        .collect()
}

/// Index of the largest value; the lowest index wins a tie.
pub fn argmax(values: &[i64]) -> usize {
    let mut best = 0;
    for (i, &v) in values.iter().enumerate() {
        if v > values[best] {
            best = i;
        }
    }
    best
}
