//! Conversion of a QAT network to the integer model (docs/model-format.md),
//! the integer quantized ANN it equals for static input, and the per-layer
//! report of where the SNN's spike counts differ from it (QFFS's "occasional
//! noise").
//!
//! ## The folding (docs/training.md has the derivation)
//!
//! Let `D_p` be the step of the layer's input, in "count" units: a hidden layer
//! reads spike levels whose sum over `T` steps is the count `c_p`, worth
//! `D_p * c_p` in the float network; the first layer reads the raw `b_in`-bit
//! pixel `x` every step, so `c_p = T x` and `D_p = 1 / (x_max T)` (the float
//! network sees `x / x_max`). With integer weight codes `W` and per-channel
//! scale `s_o`, the float pre-activation is `z = s_o D_p (W c_p) + b_o`, and the
//! QAT quantizer (§7) outputs the count `floor(z / D + 1/2)`. The soft-reset
//! neuron's count is `floor((v_init + W c_p + T bias) / theta)`. They agree when
//!
//! ```text
//! theta_o = D / (s_o D_p)                 rounded to an integer >= 1
//! T bias_o + v_init_o = theta_o/2 + theta_o b_o / D   (rounded), v_init in [0, theta)
//! ```
//!
//! so `theta/2` is the pre-charge of QAC/QFFS, and the bias part that does not
//! divide by `T` is kept in `v_init` (which the identity allows anywhere in
//! `[0, theta)`). The readout has one scale `s`: its membrane
//! `v_init + W c_p + T bias` equals the logit `/ (s D_p)` up to rounding of
//! the bias only, so the argmax is that of the fake-quantized network.

use crate::arch::Kind;
use crate::net::Net;
use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use spikeslice_core::golden::{self, Engine, LayerOutput, NeuronLayer, PAD};
use spikeslice_core::model::{
    InputSpec, LayerSpec, Model, ModelSpec, NeuronSpec, PoolMode, Source, Tensor, FORMAT, VERSION,
};
use spikeslice_core::neuron::{Dynamics, Reset};
use spikeslice_core::numeric::{SpikeBits, Timesteps, WeightBits};
use spikeslice_core::widths::{self, AcceleratorWidths};
use std::collections::BTreeMap;

fn i32_of(v: i64, what: &str) -> Result<i32> {
    i32::try_from(v)
        .with_context(|| format!("{what} = {v} does not fit the model's 32-bit integers"))
}

/// Convert a quantized network into an integer model named `name`, whose
/// weights file is `NAME.safetensors`. Checks the model against the default
/// accelerator widths (24-bit accumulator, 32-bit membrane).
pub fn convert(net: &Net, name: &str, input_bits: u8) -> Result<Model> {
    let alloc = net
        .alloc
        .context("convert needs a quantized network (run QAT first)")?;
    let t = i64::from(alloc.t);
    let mut step_in = 1.0 / (f64::from(net.x_max) * t as f64);
    let mut layers = Vec::new();
    let mut tensors = BTreeMap::new();
    for (l, d) in net.defs.iter().enumerate() {
        // Each layer's own widths (mixed precision); T is the network's.
        let layer = net.alloc_of(l)?;
        let wb = WeightBits::new(layer.b_w)?;
        let sb = SpikeBits::new(layer.b_s)?;
        let neuron = NeuronSpec {
            spike_bits: sb,
            reset: Reset::Soft,
            leak_shift: None,
        };
        match d.kind {
            Kind::Flatten => {
                layers.push(LayerSpec::Flatten {
                    inputs: Vec::new(),
                    name: d.name.clone(),
                });
                continue;
            }
            Kind::Add { shortcut } => {
                // Both addends count in one step (the second conv shares its
                // block input's), which stays the step of the sum.
                layers.push(LayerSpec::Add {
                    name: d.name.clone(),
                    inputs: vec![
                        net.defs[l - 1].name.clone(),
                        net.defs[shortcut].name.clone(),
                    ],
                });
                continue;
            }
            Kind::Pool { kernel } => {
                // The pool neuron sums the window's counts (weights +1): the
                // mean `D_p sum / k^2` quantized with step `D` is
                // `floor((sum + theta/2) / theta)` with `theta = k^2 D / D_p`.
                let step = f64::from(net.act_step_value(l)?);
                let th = ((kernel * kernel) as f64 * step / step_in).round().max(1.0);
                if th > f64::from(i32::MAX / 2) {
                    bail!(
                        "layer {}: threshold {th} is too large (its step {step} is degenerate)",
                        d.name
                    );
                }
                let th = th as i32;
                layers.push(LayerSpec::Pool {
                    inputs: Vec::new(),
                    name: d.name.clone(),
                    mode: PoolMode::Sum,
                    kernel,
                    stride: kernel,
                    threshold: th,
                    v_init: th / 2,
                    neuron,
                });
                step_in = step;
                continue;
            }
            Kind::Dense => layers.push(LayerSpec::Dense {
                inputs: Vec::new(),
                shortcut_weight: None,
                name: d.name.clone(),
                outputs: d.outputs,
                weight_bits: wb,
                neuron,
            }),
            Kind::Conv {
                kernel,
                stride,
                padding,
            } => layers.push(LayerSpec::Conv2d {
                inputs: Vec::new(),
                shortcut_weight: None,
                name: d.name.clone(),
                out_channels: d.outputs,
                kernel: [kernel, kernel],
                stride: [stride, stride],
                padding: [padding, padding],
                groups: 1,
                weight_bits: wb,
                neuron,
            }),
            Kind::Readout => layers.push(LayerSpec::Readout {
                inputs: Vec::new(),
                shortcut_weight: None,
                name: d.name.clone(),
                outputs: d.outputs,
                weight_bits: wb,
                leak_shift: None,
            }),
        }
        let codes = net.weight_codes(l)?;
        let scales = net.weight_scale_values(l)?;
        let p = net.params[l].as_ref().context("no params")?;
        let bias_f: Vec<f32> = p.b.as_tensor().to_vec1()?;
        tensors.insert(
            format!("{}.weight", d.name),
            Tensor::i8(d.weight_shape(), codes),
        );
        let mut bias = Vec::with_capacity(d.outputs);
        let mut v_init = Vec::with_capacity(d.outputs);
        if d.is_hidden() {
            let step = f64::from(net.act_step_value(l)?);
            let mut theta = Vec::with_capacity(d.outputs);
            for o in 0..d.outputs {
                let th = (step / (f64::from(scales[o]) * step_in)).round().max(1.0);
                if th > f64::from(i32::MAX / 2) {
                    bail!("layer {}: threshold {th} for channel {o} is too large (weight scale {} is degenerate)", d.name, scales[o]);
                }
                let th = th as i64;
                // Bias in membrane units over the whole window (theta b / D).
                let total = (th as f64 * f64::from(bias_f[o]) / step).round() as i64;
                let b = (total as f64 / t as f64).round() as i64;
                let v = (th / 2 + total - t * b).clamp(0, th - 1);
                theta.push(th as i32);
                bias.push(i32_of(b, &format!("layer {} bias[{o}]", d.name))?);
                v_init.push(v as i32);
            }
            tensors.insert(
                format!("{}.threshold", d.name),
                Tensor::i32(vec![d.outputs], theta),
            );
            step_in = step;
        } else {
            for o in 0..d.outputs {
                let total =
                    (f64::from(bias_f[o]) / (f64::from(scales[o]) * step_in)).round() as i64;
                bias.push(i32_of(
                    total.div_euclid(t),
                    &format!("layer {} bias[{o}]", d.name),
                )?);
                v_init.push(total.rem_euclid(t) as i32);
            }
        }
        tensors.insert(
            format!("{}.bias", d.name),
            Tensor::i32(vec![d.outputs], bias),
        );
        tensors.insert(
            format!("{}.v_init", d.name),
            Tensor::i32(vec![d.outputs], v_init),
        );
    }
    let spec = ModelSpec {
        format: FORMAT.into(),
        version: VERSION,
        name: name.into(),
        weights: format!("{name}.safetensors"),
        timesteps: Timesteps::new(alloc.t)?,
        input: InputSpec {
            shape: net.defs[0].in_shape.clone(),
            bits: SpikeBits::new(u32::from(input_bits))?,
        },
        layers,
    };
    let model = Model::new(spec, tensors).context("the converted model is invalid")?;
    widths::check(&model, AcceleratorWidths::default())
        .context("the converted model does not fit the default accelerator widths")?;
    Ok(model)
}

/// `sum_k W[o][k] c[gather(p, k)]` for every neuron `(o, p)` of `layer`, on
/// integer input counts.
fn layer_sums(layer: &NeuronLayer, c: &[i64]) -> Vec<i64> {
    let s = &layer.synapses;
    let per_group = s.outputs / s.groups;
    let mut out = vec![0i64; s.neurons()];
    for o in 0..s.outputs {
        let g = o / per_group;
        let row = &s.weights[o * s.fan_in..(o + 1) * s.fan_in];
        for p in 0..s.positions {
            let acc: i64 = match &s.gather {
                None => row.iter().zip(c).map(|(&w, &x)| i64::from(w) * x).sum(),
                Some(table) => {
                    let start = (g * s.positions + p) * s.fan_in;
                    row.iter()
                        .zip(&table[start..start + s.fan_in])
                        .map(|(&w, &i)| {
                            if i == PAD {
                                0
                            } else {
                                i64::from(w) * c[i as usize]
                            }
                        })
                        .sum()
                }
            };
            out[o * s.positions + p] = acc;
        }
    }
    out
}

/// One layer of the integer quantized ANN: from input counts (summed over the
/// `T` steps) to output counts, `clamp(floor((v_init + W c + w_s c_s + T
/// bias)/theta), 0, T (2^b_s - 1))` (docs/semantics.md §7; `w_s c_s` is a
/// shortcut's counts times its weight, §2), or the readout's final membrane
/// `v_init + W c + w_s c_s + T bias`. Exact for IF neurons with soft reset.
pub fn layer_counts(
    layer: &NeuronLayer,
    c: &[i64],
    shortcut: Option<(i32, &[i64])>,
    t: usize,
) -> Vec<i64> {
    let mut sums = layer_sums(layer, c);
    if let Some((w, cs)) = shortcut {
        for (a, &x) in sums.iter_mut().zip(cs) {
            *a += i64::from(w) * x;
        }
    }
    let pos = layer.synapses.positions;
    let t = t as i64;
    sums.iter()
        .enumerate()
        .map(|(n, &acc)| {
            let o = n / pos;
            let v = i64::from(layer.neurons.v_init[o]) + acc + t * i64::from(layer.neurons.bias[o]);
            match layer.neurons.output {
                LayerOutput::Membrane => v,
                LayerOutput::Spikes { bits } => {
                    let max = t * ((1i64 << bits) - 1);
                    v.div_euclid(i64::from(layer.neurons.threshold[o]))
                        .clamp(0, max)
                }
            }
        })
        .collect()
}

/// The counts a layer reads from `from`: the input's (`input`) or an
/// earlier layer's (`layers`).
fn counts_of<'a>(input: &'a [i64], layers: &'a [Vec<i64>], from: Source) -> &'a [i64] {
    match from {
        Source::Input => input,
        Source::Layer(j) => &layers[j],
    }
}

/// Layer `l` of `model` on the counts so far (`input`, then `layers[..l]`),
/// with its shortcut when it has one.
fn counts_at(model: &Model, l: usize, input: &[i64], layers: &[Vec<i64>]) -> Vec<i64> {
    let w = &model.wiring[l];
    let shortcut = w
        .shortcut
        .map(|s| (s.weight, counts_of(input, layers, s.from)));
    layer_counts(
        &model.layers[l],
        counts_of(input, layers, w.input),
        shortcut,
        model.timesteps(),
    )
}

/// The integer quantized ANN of `model` on one input: the counts of every
/// layer (the last entry is the readout's membranes). A graph's layers read
/// the counts of the layers they name, and an add sums its two (a shortcut
/// of weight 1 into a threshold-1 neuron).
pub fn qann(model: &Model, x: &[u8]) -> Vec<Vec<i64>> {
    let t = model.timesteps() as i64;
    let input: Vec<i64> = x.iter().map(|&v| i64::from(v) * t).collect();
    let mut out: Vec<Vec<i64>> = Vec::with_capacity(model.layers.len());
    for l in 0..model.layers.len() {
        let c = counts_at(model, l, &input, &out);
        out.push(c);
    }
    out
}

/// Whether the integer-ANN identity is exact for this model's neurons
/// (IF and soft reset everywhere).
pub fn qann_is_exact(model: &Model) -> bool {
    model.layers.iter().all(|l| {
        l.neurons.dynamics == Dynamics::If
            && (l.neurons.reset == Reset::Soft || l.neurons.output == LayerOutput::Membrane)
    })
}

/// How often one layer's SNN spike counts differ from the integer ANN.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LayerNoise {
    pub layer: String,
    /// Neuron outputs compared (neurons x samples).
    pub compared: u64,
    /// SNN count != the quantizer applied to the SNN's own input counts: the
    /// noise this layer adds (QFFS "occasional noise"); always 0 for the first
    /// layer, whose input is constant in time.
    pub local_mismatches: u64,
    /// SNN count != the integer ANN's count (noise accumulated through the network).
    pub chain_mismatches: u64,
    /// Mean |SNN count - integer-ANN count| over the compared outputs.
    pub chain_mean_abs: f64,
}

impl LayerNoise {
    pub fn local_rate(&self) -> f64 {
        self.local_mismatches as f64 / self.compared.max(1) as f64
    }
    pub fn chain_rate(&self) -> f64 {
        self.chain_mismatches as f64 / self.compared.max(1) as f64
    }
}

/// Compare SNN spike counts (golden model, summed over `T`) with the integer
/// ANN on `inputs`, layer by layer; the readout compares final membranes.
pub fn noise_report(model: &Model, inputs: &[Vec<u8>]) -> Vec<LayerNoise> {
    let t = model.timesteps();
    let mut rep: Vec<LayerNoise> = model
        .layers
        .iter()
        .map(|l| LayerNoise {
            layer: l.name.clone(),
            ..Default::default()
        })
        .collect();
    let mut abs_sum = vec![0u64; model.layers.len()];
    for x in inputs {
        let ann = qann(model, x);
        let tr = golden::trace(model, x, Engine::Packed);
        let input: Vec<i64> = x.iter().map(|&v| i64::from(v) * t as i64).collect();
        let mut snn_counts: Vec<Vec<i64>> = Vec::with_capacity(model.layers.len());
        for (l, layer) in model.layers.iter().enumerate() {
            let snn: Vec<i64> = match layer.neurons.output {
                LayerOutput::Membrane => tr.layers[l].membrane.clone(),
                LayerOutput::Spikes { .. } => {
                    let mut c = vec![0i64; layer.neurons()];
                    for step in &tr.layers[l].spikes {
                        for (a, &s) in c.iter_mut().zip(step) {
                            *a += i64::from(s);
                        }
                    }
                    c
                }
            };
            let local = counts_at(model, l, &input, &snn_counts);
            let r = &mut rep[l];
            r.compared += snn.len() as u64;
            for ((&s, &lo), &a) in snn.iter().zip(&local).zip(&ann[l]) {
                r.local_mismatches += u64::from(s != lo);
                r.chain_mismatches += u64::from(s != a);
                abs_sum[l] += s.abs_diff(a);
            }
            snn_counts.push(snn);
        }
    }
    for (r, a) in rep.iter_mut().zip(abs_sum) {
        r.chain_mean_abs = a as f64 / r.compared.max(1) as f64;
    }
    rep
}
