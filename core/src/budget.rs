//! Bit-budget metrics (BB paper §3.2): MACs, `BB = T * b_w * b_s` (Eq. 4),
//! `S-ACE = sum n * BB` (Eq. 8) and `NS-ACE = sum fr * n * BB` (Eq. 9).
//!
//! For a layer, `n` is the MAC count of one forward pass of the equivalent
//! ANN (`O * P * K`), `b_w` its weight width and `b_s` the width of the spikes
//! it reads (the input's `b_in` for the first layer). `fr` is the firing rate of
//! those spikes: events per neuron per timestep, measured by the golden model.

use crate::golden::{LayerOutput, SampleOutput, SpikeStats};
use crate::model::Model;
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
    /// `n * BB`.
    pub s_ace: u64,
    /// Firing rate of the input spikes, when measured.
    pub input_firing_rate: Option<f64>,
    /// `fr * n * BB`, when measured.
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
    // Firing statistics of each layer's input: the data, then each layer's output.
    let input_stats: Option<Vec<SpikeStats>> = outputs.filter(|o| !o.is_empty()).map(|outs| {
        let mut acc = vec![SpikeStats::default(); model.layers.len()];
        for out in outs {
            acc[0].add(&out.input);
            for (l, s) in out.layers.iter().enumerate().take(model.layers.len() - 1) {
                acc[l + 1].add(s);
            }
        }
        acc
    });
    let mut layers = Vec::new();
    for (i, l) in model.layers.iter().enumerate() {
        let kind = model.spec_of(l).map_or("layer", |s| s.kind()).to_string();
        let macs = l.synapses.macs();
        let bw = u64::from(l.weight_bits.get());
        let bs = u64::from(l.input_bits.get());
        let bb = t * bw * bs;
        let weights = l.synapses.weights.len() as u64;
        let params = if kind == "pool" {
            0
        } else {
            weights + l.neurons.bias.len() as u64
        };
        let fr = input_stats.as_ref().map(|s| s[i].firing_rate());
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
            s_ace: macs * bb,
            input_firing_rate: fr,
            ns_ace: fr.map(|f| f * (macs * bb) as f64),
            params,
            weight_memory_bits: if params == 0 { 0 } else { weights * bw },
        });
    }
    NetworkBudget {
        macs: layers.iter().map(|l| l.macs).sum(),
        s_ace: layers.iter().map(|l| l.s_ace).sum(),
        ns_ace: input_stats
            .as_ref()
            .map(|_| layers.iter().filter_map(|l| l.ns_ace).sum()),
        params: layers.iter().map(|l| l.params).sum(),
        weight_memory_bits: layers.iter().map(|l| l.weight_memory_bits).sum(),
        samples: outputs.map_or(0, |o| o.len()),
        layers,
    }
}
