//! Bit-budget metrics (BB paper §3.2): MACs, `BB = T * b_w * b_s` (Eq. 4),
//! `S-ACE = sum n * BB` (Eq. 8) and `NS-ACE = sum fr * n * BB` (Eq. 9).
//!
//! For a layer, `n` is the MAC count of one forward pass of the equivalent
//! ANN (`O * P * K`), `b_w` its weight width and `b_s` the width of the spikes
//! it reads (the input's `b_in` for the first layer). `fr` is the firing rate of
//! those spikes: events per neuron per timestep, measured by the golden model.
//! A shortcut adds one synapse per neuron to both sums: `n = O * P` additions
//! with `BB = T * b_w * b_s` of the shortcut's spikes (docs/semantics.md §8).

use crate::golden::{LayerOutput, SampleOutput, SpikeStats};
use crate::model::{Model, Source};
use serde::{Deserialize, Serialize};

/// Metrics of one lowered layer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LayerBudget {
    pub name: String,
    pub kind: String,
    pub neurons: u64,
    /// `n`: MACs of one ANN forward pass.
    pub macs: u64,
    pub weight_bits: u8,
    /// `b_s` of the spikes this layer reads.
    pub input_bits: u8,
    /// `b_s` of the spikes it emits (`None` for the readout).
    pub spike_bits: Option<u8>,
    pub timesteps: u64,
    /// `T * b_w * b_s` per synapse.
    pub bit_budget: u64,
    /// `n * BB`, plus the shortcut's `adds * BB`.
    pub s_ace: u64,
    /// Firing rate of the input spikes, when measured.
    pub input_firing_rate: Option<f64>,
    /// A shortcut's additions (docs/semantics.md §2, "Shortcuts"): one per
    /// neuron, 0 without a shortcut.
    pub shortcut_adds: u64,
    /// `T * b_w * b_s` of the shortcut, `b_s` its spikes' width.
    pub shortcut_bit_budget: u64,
    /// Firing rate of the shortcut's spikes, when measured.
    pub shortcut_firing_rate: Option<f64>,
    /// `fr * n * BB` plus the shortcut's `fr * adds * BB`, when measured.
    pub ns_ace: Option<f64>,
    /// Weights plus biases.
    pub params: u64,
    /// Weights times `b_w`.
    pub weight_memory_bits: u64,
}

/// Metrics of a whole network.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NetworkBudget {
    pub layers: Vec<LayerBudget>,
    pub macs: u64,
    pub s_ace: u64,
    pub ns_ace: Option<f64>,
    pub params: u64,
    pub weight_memory_bits: u64,
    /// Samples the firing rates were measured on (0 when not measured).
    pub samples: usize,
}

/// Metrics from the architecture alone, or with firing rates measured on
/// `outputs` (golden-model results of the same model).
pub fn budget(model: &Model, outputs: Option<&[SampleOutput]>) -> NetworkBudget {
    let t = model.timesteps() as u64;
    let measured = outputs.filter(|o| !o.is_empty());
    // Firing statistics of a source over the samples: the data or a layer's output.
    let stats_of = |from: Source| {
        measured.map(|outs| {
            let mut acc = SpikeStats::default();
            for out in outs {
                acc.add(match from {
                    Source::Input => &out.input,
                    Source::Layer(j) => &out.layers[j],
                });
            }
            acc.firing_rate()
        })
    };
    let mut layers = Vec::new();
    for (l, wiring) in model.layers.iter().zip(&model.wiring) {
        let kind = model.spec_of(l).map_or("layer", |s| s.kind()).to_string();
        let macs = l.synapses.macs();
        let bw = u64::from(l.weight_bits.get());
        let bs = u64::from(l.input_bits.get());
        let bb = t * bw * bs;
        let weights = l.synapses.weights.len() as u64;
        // Pooling and add have fixed weights of +1, no parameters of their own.
        let params = if kind == "pool" || kind == "add" {
            0
        } else {
            weights + l.neurons.bias.len() as u64
        };
        let fr = stats_of(wiring.input);
        let (adds, bb_sc, fr_sc) = match wiring.shortcut {
            Some(sc) => (
                l.neurons() as u64,
                t * bw * u64::from(sc.bits.get()),
                stats_of(sc.from),
            ),
            None => (0, 0, None),
        };
        let synapses = macs * bb;
        layers.push(LayerBudget {
            name: l.name.clone(),
            kind,
            neurons: l.neurons() as u64,
            macs,
            weight_bits: l.weight_bits.get(),
            input_bits: l.input_bits.get(),
            spike_bits: match l.neurons.output {
                LayerOutput::Spikes { bits } => Some(bits),
                LayerOutput::Membrane => None,
            },
            timesteps: t,
            bit_budget: bb,
            s_ace: synapses + adds * bb_sc,
            input_firing_rate: fr,
            shortcut_adds: adds,
            shortcut_bit_budget: bb_sc,
            shortcut_firing_rate: fr_sc,
            ns_ace: fr.map(|f| f * synapses as f64 + fr_sc.unwrap_or(0.0) * (adds * bb_sc) as f64),
            params,
            weight_memory_bits: if params == 0 { 0 } else { weights * bw },
        });
    }
    NetworkBudget {
        macs: layers.iter().map(|l| l.macs).sum(),
        s_ace: layers.iter().map(|l| l.s_ace).sum(),
        ns_ace: measured.map(|_| layers.iter().filter_map(|l| l.ns_ace).sum()),
        params: layers.iter().map(|l| l.params).sum(),
        weight_memory_bits: layers.iter().map(|l| l.weight_memory_bits).sum(),
        samples: outputs.map_or(0, |o| o.len()),
        layers,
    }
}
