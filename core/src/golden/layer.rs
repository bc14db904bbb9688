//! A compute layer lowered to synapses plus neurons, and its three evaluators.
//!
//! Every layer that computes `W * x` (dense, conv2d, pooling) is lowered to a
//! [`NeuronLayer`]: `O` output channels at `P` positions, each output summing
//! `K` weighted inputs picked by a gather table (im2col). Evaluation follows
//! docs/semantics.md §4: per timestep, per output, the current
//! `I = sum_k W[o][k] * x[gather(p, k)] + bias[o]`, then one neuron [`step`].
//!
//! Three evaluators compute the same numbers:
//! - [`Engine::Direct`]: the plain i64 loop, the definition;
//! - [`Engine::BitSerial`]: the hardware's order, one binary slice at a time with
//!   a mux-accumulate, recombined with shifts (BB paper Eq. 3);
//! - [`Engine::Packed`]: the fast path, bit planes of weights and slices packed
//!   in `u64` words and combined with popcounts.

use super::packed::PackedWeights;
use crate::neuron::{step, Dynamics, Reset};
use crate::numeric::{signed_width, slice_bit, SpikeBits, WeightBits};
use serde::{Deserialize, Serialize};

/// Marks a padded input in a gather table: it reads as spike 0.
pub const PAD: u32 = u32::MAX;

/// Which evaluator to use. All three give identical results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Engine {
    Direct,
    BitSerial,
    #[default]
    Packed,
}

/// What a layer produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum LayerOutput {
    /// Multi-bit spikes of `bits` bits, one per output per timestep.
    Spikes { bits: u8 },
    /// The readout: no spikes; the final membrane is the output.
    Membrane,
}

/// Which inputs each output sums, and with which weights.
#[derive(Debug, Clone, PartialEq)]
pub struct Synapses {
    /// Output channels `O`.
    pub outputs: usize,
    /// Positions `P` per output channel (1 for dense, `OH*OW` for conv).
    pub positions: usize,
    /// Fan-in `K` of one output.
    pub fan_in: usize,
    /// Channel groups `G`: output channel `o` reads group `o / (O / G)`.
    pub groups: usize,
    /// Length of the input vector.
    pub input_len: usize,
    /// `O x K` weights, row-major.
    pub weights: Vec<i8>,
    /// `G x P x K` input indices ([`PAD`] for padding); `None` means the
    /// identity (dense: `G = P = 1`, `K = input_len`).
    pub gather: Option<Vec<u32>>,
}

impl Synapses {
    /// A dense (fully connected) layer.
    pub fn dense(outputs: usize, inputs: usize, weights: Vec<i8>) -> Self {
        Self {
            outputs,
            positions: 1,
            fan_in: inputs,
            groups: 1,
            input_len: inputs,
            weights,
            gather: None,
        }
    }

    /// Number of neurons: `O * P`. Output index of `(o, p)` is `o * P + p`.
    pub fn neurons(&self) -> usize {
        self.outputs * self.positions
    }

    /// Synapses evaluated per timestep (MACs): `O * P * K`.
    pub fn macs(&self) -> u64 {
        (self.outputs * self.positions * self.fan_in) as u64
    }

    /// The input indices read by group `g` at position `p`.
    fn gather_row(&self, g: usize, p: usize) -> Option<&[u32]> {
        self.gather.as_ref().map(|t| {
            let start = (g * self.positions + p) * self.fan_in;
            &t[start..start + self.fan_in]
        })
    }

    /// The `K` inputs that group `g` reads at position `p` (padding reads 0).
    pub fn gathered(&self, x: &[u8], g: usize, p: usize, out: &mut Vec<u8>) {
        out.clear();
        match self.gather_row(g, p) {
            None => out.extend_from_slice(x),
            Some(row) => out.extend(
                row.iter()
                    .map(|&i| if i == PAD { 0 } else { x[i as usize] }),
            ),
        }
    }

    fn row(&self, o: usize) -> &[i8] {
        &self.weights[o * self.fan_in..(o + 1) * self.fan_in]
    }

    /// The same synapses with every `m` consecutive groups merged into one:
    /// `G / m` groups of fan-in `m K`, each output reading its merged group's
    /// `m K` inputs, with weight 0 on the `(m - 1) K` that belong to the other
    /// groups. Every current is unchanged (the added terms are `0 * x`); the
    /// array gets `m` times the outputs per group, so a tile of `C` columns
    /// meets fewer groups (docs/architecture.md, "Merged groups"). `None` unless
    /// `m` divides `G` and the synapses have a gather table.
    pub fn merge_groups(&self, m: usize) -> Option<Synapses> {
        let table = self.gather.as_ref()?;
        if m == 0 || !self.groups.is_multiple_of(m) {
            return None;
        }
        let (k, p, o) = (self.fan_in, self.positions, self.outputs);
        let per_group = o / self.groups;
        let merged_k = m * k;
        let mut weights = vec![0i8; o * merged_k];
        for (out, row) in weights.chunks_exact_mut(merged_k).enumerate() {
            let local = (out / per_group) % m;
            row[local * k..(local + 1) * k].copy_from_slice(self.row(out));
        }
        let mut gather = Vec::with_capacity(table.len());
        for merged in 0..self.groups / m {
            for pos in 0..p {
                for g in merged * m..(merged + 1) * m {
                    let start = (g * p + pos) * k;
                    gather.extend_from_slice(&table[start..start + k]);
                }
            }
        }
        Some(Synapses {
            outputs: o,
            positions: p,
            fan_in: merged_k,
            groups: self.groups / m,
            input_len: self.input_len,
            weights,
            gather: Some(gather),
        })
    }

    /// The synapses of output channels `range` alone: their weight rows and
    /// their groups' gather rows, the input unchanged. `None` unless the range
    /// is non-empty, inside `O`, and either whole groups or inside one group
    /// (then one group of the range's outputs). The compiler splits a layer
    /// whose output does not fit the output buffer into such parts
    /// (docs/architecture.md, "Split outputs").
    pub fn channels(&self, range: std::ops::Range<usize>) -> Option<Synapses> {
        let per_group = self.outputs / self.groups;
        if range.is_empty() || range.end > self.outputs {
            return None;
        }
        let groups = if range.start.is_multiple_of(per_group) && range.end.is_multiple_of(per_group)
        {
            range.start / per_group..range.end / per_group
        } else if range.start / per_group == (range.end - 1) / per_group {
            range.start / per_group..range.start / per_group + 1
        } else {
            return None;
        };
        let (k, p) = (self.fan_in, self.positions);
        Some(Synapses {
            outputs: range.len(),
            positions: p,
            fan_in: k,
            groups: groups.len(),
            input_len: self.input_len,
            weights: self.weights[range.start * k..range.end * k].to_vec(),
            gather: self
                .gather
                .as_ref()
                .map(|t| t[groups.start * p * k..groups.end * p * k].to_vec()),
        })
    }

    /// Range `[neg, pos]` of `sum_k W[o][k] * b_k` over binary `b`: the bound on
    /// one slice's partial sum.
    pub fn slice_sum_range(&self, o: usize) -> (i64, i64) {
        self.row(o).iter().fold((0, 0), |(n, p), &w| {
            let w = i64::from(w);
            (n + w.min(0), p + w.max(0))
        })
    }
}

/// A compute layer: synapses, then one neuron per `(o, p)`.
#[derive(Debug, Clone, PartialEq)]
pub struct NeuronLayer {
    pub name: String,
    pub synapses: Synapses,
    pub weight_bits: WeightBits,
    pub input_bits: SpikeBits,
    pub neurons: Neurons,
}

/// A layer's neurons: their parameters per output channel, their dynamics and
/// what the layer emits.
#[derive(Debug, Clone, PartialEq)]
pub struct Neurons {
    /// Per output channel.
    pub bias: Vec<i32>,
    /// Per output channel; unused when the layer emits membranes (a readout).
    pub threshold: Vec<i32>,
    /// Per output channel: the membrane before timestep 0.
    pub v_init: Vec<i32>,
    pub dynamics: Dynamics,
    pub reset: Reset,
    pub output: LayerOutput,
}

/// Worst-case register widths a layer needs (docs/semantics.md §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequiredWidths {
    /// PE accumulator: one slice's partial sum `P_j`.
    pub acc_bits: u32,
    /// Post-processing and neurodynamic units: the current `I`, the membrane
    /// `v` and the threshold.
    pub membrane_bits: u32,
    /// The value ranges behind the widths, for error messages.
    pub acc_range: (i64, i64),
    pub membrane_range: (i64, i64),
}

/// What one layer did over `T` timesteps.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LayerTrace {
    /// `[t][neuron]`; empty for a readout.
    pub spikes: Vec<Vec<u8>>,
    /// Final membrane per neuron.
    pub membrane: Vec<i64>,
    /// `[t][neuron]`: the integrated current `I` (including bias).
    pub currents: Vec<Vec<i64>>,
}

/// Spike statistics of one layer for one sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SpikeStats {
    /// Sum of all spike values over neurons and timesteps.
    pub spike_sum: u64,
    /// Number of `(neuron, timestep)` pairs with a non-zero spike.
    pub spike_events: u64,
    /// `neurons * T`: the denominator of the firing rate.
    pub slots: u64,
}

fieldwise_add!(SpikeStats {
    spike_sum,
    spike_events,
    slots
});

impl SpikeStats {
    /// Firing rate: spike events per neuron per timestep; 0 over no slots
    /// (which hold no events either).
    pub fn firing_rate(&self) -> f64 {
        self.spike_events as f64 / self.slots.max(1) as f64
    }
    /// Statistics of a spike train `[t][neuron]`.
    pub fn of(spikes: &[Vec<u8>]) -> Self {
        let mut s = SpikeStats::default();
        for step in spikes {
            s.slots += step.len() as u64;
            for &v in step {
                s.spike_sum += u64::from(v);
                s.spike_events += u64::from(v > 0);
            }
        }
        s
    }
}

impl NeuronLayer {
    pub fn neurons(&self) -> usize {
        self.synapses.neurons()
    }

    /// This layer with `m` groups merged ([`Synapses::merge_groups`]): its
    /// weights at least 2 bits wide, since a 1-bit weight is +-1 and cannot
    /// hold the merged zeros. `None` when the synapses cannot be merged so.
    pub fn merge_groups(&self, m: usize) -> Option<NeuronLayer> {
        let synapses = self.synapses.merge_groups(m)?;
        let weight_bits = if m > 1 && self.weight_bits.get() == 1 {
            WeightBits::new(2).ok()?
        } else {
            self.weight_bits
        };
        Some(NeuronLayer {
            name: self.name.clone(),
            synapses,
            weight_bits,
            input_bits: self.input_bits,
            neurons: self.neurons.clone(),
        })
    }

    /// The layer's output channels `range` alone ([`Synapses::channels`]),
    /// with their neurons' parameters.
    pub fn channels(&self, range: std::ops::Range<usize>) -> Option<NeuronLayer> {
        let synapses = self.synapses.channels(range.clone())?;
        let part = |v: &[i32]| v.get(range.clone()).map_or_else(Vec::new, <[i32]>::to_vec);
        Some(NeuronLayer {
            name: self.name.clone(),
            synapses,
            weight_bits: self.weight_bits,
            input_bits: self.input_bits,
            neurons: Neurons {
                bias: part(&self.neurons.bias),
                threshold: part(&self.neurons.threshold),
                v_init: part(&self.neurons.v_init),
                ..self.neurons.clone()
            },
        })
    }

    fn max_spike(&self) -> u8 {
        match self.neurons.output {
            LayerOutput::Spikes { bits } => crate::numeric::mask(bits),
            LayerOutput::Membrane => 0,
        }
    }

    /// Worst-case widths over every input the layer can receive in `timesteps`
    /// steps (docs/semantics.md §6). The bound uses the actual weights: slice
    /// sums lie in `[sum of negative weights, sum of positive weights]`; the
    /// current is that times `2^b_in - 1` plus the bias; the membrane moves at
    /// most one current per step from `v_init` (leak and reset only pull it
    /// toward zero).
    pub fn required_widths(&self, timesteps: usize) -> RequiredWidths {
        self.required_widths_with(timesteps, (0, 0))
    }

    /// [`NeuronLayer::required_widths`] for a layer whose current also gets a
    /// shortcut's term in `extra` every step (`Wiring::shortcut_range`); the
    /// accumulator is not affected, since the term is added after the slices.
    pub fn required_widths_with(&self, timesteps: usize, extra: (i64, i64)) -> RequiredWidths {
        let max_in = i64::from(crate::numeric::mask(self.input_bits.get()));
        let t = timesteps as i64;
        let (mut acc_lo, mut acc_hi) = (0i64, 0i64);
        let (mut mem_lo, mut mem_hi) = (0i64, 0i64);
        for o in 0..self.synapses.outputs {
            let (neg, pos) = self.synapses.slice_sum_range(o);
            acc_lo = acc_lo.min(neg);
            acc_hi = acc_hi.max(pos);
            let bias = i64::from(self.neurons.bias[o]);
            let (i_lo, i_hi) = (neg * max_in + bias + extra.0, pos * max_in + bias + extra.1);
            let v0 = i64::from(self.neurons.v_init[o]);
            let lo = i_lo.min(v0.min(0) + t * i_lo.min(0));
            let mut hi = i_hi.max(v0.max(0) + t * i_hi.max(0));
            if let LayerOutput::Spikes { .. } = self.neurons.output {
                hi = hi.max(i64::from(self.neurons.threshold[o]));
            }
            mem_lo = mem_lo.min(lo);
            mem_hi = mem_hi.max(hi);
        }
        RequiredWidths {
            acc_bits: signed_width(acc_lo, acc_hi),
            membrane_bits: signed_width(mem_lo, mem_hi),
            acc_range: (acc_lo, acc_hi),
            membrane_range: (mem_lo, mem_hi),
        }
    }

    /// Run all timesteps. `inputs[t]` is the input vector at timestep `t`.
    pub fn run(&self, inputs: &[Vec<u8>], engine: Engine) -> LayerTrace {
        self.run_prepared(inputs, engine, None)
    }

    /// [`NeuronLayer::run`] with the packed weights prepared beforehand (they
    /// depend only on the layer, so a batch packs them once).
    pub fn run_prepared(
        &self,
        inputs: &[Vec<u8>],
        engine: Engine,
        packed: Option<&PackedWeights>,
    ) -> LayerTrace {
        self.integrate(self.currents_prepared(inputs, engine, packed))
    }

    /// The currents `I` of every timestep (`[t][neuron]`, bias included) by
    /// `engine`, before the neurodynamics.
    pub fn currents_prepared(
        &self,
        inputs: &[Vec<u8>],
        engine: Engine,
        packed: Option<&PackedWeights>,
    ) -> Vec<Vec<i64>> {
        let mut currents: Vec<Vec<i64>> = Vec::with_capacity(inputs.len());
        match engine {
            Engine::Direct => {
                for x in inputs {
                    currents.push(self.currents_direct(x));
                }
            }
            Engine::BitSerial => {
                for x in inputs {
                    currents.push(self.currents_bit_serial(x));
                }
            }
            Engine::Packed => {
                let owned;
                let packed = match packed {
                    Some(p) => p,
                    None => {
                        owned = PackedWeights::new(self);
                        &owned
                    }
                };
                for (t, x) in inputs.iter().enumerate() {
                    // Equal inputs give equal currents: with direct encoding the
                    // first layer sees the same image every timestep, so it is
                    // computed once.
                    if t > 0 && inputs[t - 1] == *x {
                        let prev = currents[t - 1].clone();
                        currents.push(prev);
                    } else {
                        currents.push(packed.currents(self, x));
                    }
                }
            }
        }
        currents
    }

    /// The neurodynamics over precomputed currents.
    pub fn integrate(&self, currents: Vec<Vec<i64>>) -> LayerTrace {
        let p = self.synapses.positions;
        let outputs = self.synapses.outputs;
        // Neuron (o, p) has index o * P + p: loop channel-major so each
        // channel's parameters are read once, not divided out per neuron.
        let mut v = vec![0i64; self.neurons()];
        for (o, chunk) in v.chunks_mut(p).enumerate() {
            chunk.fill(i64::from(self.neurons.v_init[o]));
        }
        let mut spikes = Vec::new();
        match self.neurons.output {
            LayerOutput::Membrane => {
                for cur in &currents {
                    for (vn, &c) in v.iter_mut().zip(cur) {
                        *vn = self.neurons.dynamics.leak(*vn) + c;
                    }
                }
            }
            LayerOutput::Spikes { .. } => {
                let max = self.max_spike();
                for cur in &currents {
                    let mut s = vec![0u8; self.neurons()];
                    for o in 0..outputs {
                        let th = i64::from(self.neurons.threshold[o]);
                        let range = o * p..(o + 1) * p;
                        for ((sn, vn), &c) in s[range.clone()]
                            .iter_mut()
                            .zip(&mut v[range.clone()])
                            .zip(&cur[range])
                        {
                            *sn = step(vn, c, th, max, self.neurons.dynamics, self.neurons.reset);
                        }
                    }
                    spikes.push(s);
                }
            }
        }
        LayerTrace {
            spikes,
            membrane: v,
            currents,
        }
    }

    /// Currents for one timestep by the plain loop: `sum_k W x + b`.
    pub fn currents_direct(&self, x: &[u8]) -> Vec<i64> {
        self.per_neuron(x, |o, row, patch| {
            let acc: i64 = row
                .iter()
                .zip(patch)
                .map(|(&w, &xv)| i64::from(w) * i64::from(xv))
                .sum();
            acc + i64::from(self.neurons.bias[o])
        })
    }

    /// One binary slice's partial sums `P_j` (the PE's mux-accumulate): the
    /// slice bit selects whether the weight is added. No multiplications.
    pub fn slice_partial_sums(&self, x: &[u8], slice: u8) -> Vec<i64> {
        self.per_neuron(x, |_, row, patch| {
            row.iter()
                .zip(patch)
                .filter(|&(_, &xv)| slice_bit(xv, slice))
                .map(|(&w, _)| i64::from(w))
                .sum()
        })
    }

    /// One value per neuron `(o, p)`: `f(o, weights of o, inputs o reads at p)`,
    /// gathering each position's inputs once per group.
    fn per_neuron(&self, x: &[u8], f: impl Fn(usize, &[i8], &[u8]) -> i64) -> Vec<i64> {
        let syn = &self.synapses;
        let per_group = syn.outputs / syn.groups;
        let mut out = vec![0i64; self.neurons()];
        let mut patch = Vec::with_capacity(syn.fan_in);
        for g in 0..syn.groups {
            for p in 0..syn.positions {
                syn.gathered(x, g, p, &mut patch);
                for o in g * per_group..(g + 1) * per_group {
                    out[o * syn.positions + p] = f(o, syn.row(o), &patch);
                }
            }
        }
        out
    }

    /// Currents for one timestep in the hardware's order: `sum_j 2^j P_j + b`
    /// (BB paper Eq. 3), the post-processing unit's shift-add.
    pub fn currents_bit_serial(&self, x: &[u8]) -> Vec<i64> {
        let mut out = vec![0i64; self.neurons()];
        for j in 0..self.input_bits.get() {
            for (acc, pj) in out.iter_mut().zip(self.slice_partial_sums(x, j)) {
                *acc += pj << j;
            }
        }
        let p = self.synapses.positions;
        for (n, acc) in out.iter_mut().enumerate() {
            *acc += i64::from(self.neurons.bias[n / p]);
        }
        out
    }
}
