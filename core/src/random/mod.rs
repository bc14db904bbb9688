//! Seeded random layers, models and spike trains for property tests,
//! equivalence tests and benchmarks. Every generator takes an explicit RNG so
//! a failing case replays from its seed.

pub mod chain;
mod residual;

pub use residual::residual_model;

use crate::golden::{LayerOutput, MatmulLayer, Neurons};
use crate::model::{
    InputSpec, LayerSpec, Model, ModelSpec, NeuronSpec, PoolMode, Tensor, FORMAT, VERSION,
};
use crate::neuron::{Dynamics, Reset};
use crate::numeric::{SpikeBits, Timesteps, WeightBits};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;

/// The PRNG every generator and test bench is driven by.
pub type TestRng = ChaCha8Rng;

/// The PRNG every generator here is meant to be driven by.
pub fn rng(seed: u64) -> TestRng {
    ChaCha8Rng::seed_from_u64(seed)
}

/// The draws test benches make, on any RNG.
pub trait Draw {
    /// A uniformly random 64-bit word.
    fn next(&mut self) -> u64;
    /// Uniform in `0..n` (`n > 0`).
    fn below(&mut self, n: u64) -> u64;
    /// True with probability `pct` percent.
    fn chance(&mut self, pct: u64) -> bool;
    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: i64, hi: i64) -> i64;
}

impl<R: Rng> Draw for R {
    fn next(&mut self) -> u64 {
        self.next_u64()
    }
    fn below(&mut self, n: u64) -> u64 {
        self.gen_range(0..n)
    }
    fn chance(&mut self, pct: u64) -> bool {
        self.below(100) < pct
    }
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        self.gen_range(lo..=hi)
    }
}

/// A legal random weight at `bits`.
pub fn weight(rng: &mut impl Rng, bits: WeightBits) -> i8 {
    if bits.get() == 1 {
        if rng.gen() {
            1
        } else {
            -1
        }
    } else {
        rng.gen_range(bits.min_weight()..=bits.max_weight()) as i8
    }
}

/// `len` random `bits`-bit spikes, each non-zero with probability `density`.
pub fn spikes(rng: &mut impl Rng, len: usize, bits: u8, density: f64) -> Vec<u8> {
    let max = crate::numeric::mask(bits);
    (0..len)
        .map(|_| {
            if rng.gen_bool(density) {
                rng.gen_range(1..=max)
            } else {
                0
            }
        })
        .collect()
}

/// Random dynamics and reset.
pub fn neuron_kind(rng: &mut impl Rng) -> (Dynamics, Reset) {
    let dynamics = if rng.gen_bool(0.5) {
        Dynamics::If
    } else {
        Dynamics::Lif {
            leak_shift: rng.gen_range(1..=6),
        }
    };
    let reset = if rng.gen_bool(0.5) {
        Reset::Soft
    } else {
        Reset::Hard
    };
    (dynamics, reset)
}

/// A threshold scale that makes a layer fire sometimes but not always: about
/// the spread of a current of `fan_in` random terms.
fn threshold_scale(fan_in: usize, weight_bits: WeightBits, input_bits: u8) -> i32 {
    let w = f64::from(weight_bits.max_weight());
    let x = f64::from(crate::numeric::mask(input_bits));
    ((fan_in as f64).sqrt() * w * x / 2.0).max(2.0) as i32
}

/// Per-output bias, threshold and initial membrane around `scale`.
fn neuron_params(rng: &mut impl Rng, outputs: usize, scale: i32) -> (Vec<i32>, Vec<i32>, Vec<i32>) {
    let bias = (0..outputs)
        .map(|_| rng.gen_range(-scale / 2..=scale / 2))
        .collect();
    let threshold: Vec<i32> = (0..outputs).map(|_| rng.gen_range(1..=scale)).collect();
    let v_init = threshold.iter().map(|&t| rng.gen_range(-t..=t)).collect();
    (bias, threshold, v_init)
}

/// A random dense layer with the given sizes and widths.
pub fn matmul_layer(
    rng: &mut impl Rng,
    outputs: usize,
    inputs: usize,
    weight_bits: u8,
    input_bits: u8,
    output: LayerOutput,
) -> MatmulLayer {
    let wb = WeightBits::new(u32::from(weight_bits)).expect("weight bits in 1..=8");
    let weights = (0..outputs * inputs).map(|_| weight(rng, wb)).collect();
    let scale = threshold_scale(inputs, wb, input_bits);
    let (bias, threshold, v_init) = neuron_params(rng, outputs, scale);
    let (dynamics, reset) = neuron_kind(rng);
    MatmulLayer {
        outputs,
        inputs,
        weights,
        weight_bits,
        input_bits,
        neurons: Neurons {
            bias,
            threshold,
            v_init,
            dynamics,
            reset,
            output,
        },
    }
}

/// Which kind of random network to make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Architecture {
    /// Flat input, one or two dense layers, a readout.
    Mlp,
    /// `[C, H, W]` input, conv / pool layers of random geometry, flatten,
    /// dense, readout.
    Conv,
    /// `[C, 16, 16]` input, convs that keep or halve the plane (odd kernels,
    /// "same" padding) and pools, so every plane has a multiple of 16
    /// positions, of up to 24 channels, then a readout of up to 32 outputs:
    /// layers large enough that a small output buffer splits them
    /// (docs/architecture.md, "Split outputs").
    Wide,
}

pub(crate) fn neuron_spec(rng: &mut impl Rng) -> NeuronSpec {
    let spike_bits: u8 = rng.gen_range(1..=8);
    let (dynamics, reset) = neuron_kind(rng);
    NeuronSpec {
        spike_bits: SpikeBits::new(u32::from(spike_bits)).expect("spike bits in 1..=8"),
        reset,
        leak_shift: match dynamics {
            Dynamics::If => None,
            Dynamics::Lif { leak_shift } => Some(leak_shift),
        },
    }
}

/// Draws a layer's weight width and adds its random tensors (weights, bias,
/// initial membrane, and thresholds if `spiking`) to `tensors`; returns the width.
pub(crate) fn add_tensors(
    rng: &mut impl Rng,
    tensors: &mut BTreeMap<String, Tensor>,
    name: &str,
    weight_shape: Vec<usize>,
    input_bits: u8,
    spiking: bool,
) -> WeightBits {
    let weight_bits = WeightBits::new(rng.gen_range(1..=8)).expect("valid");
    let outputs = weight_shape[0];
    let count: usize = weight_shape.iter().product();
    let fan_in = count / outputs;
    let w = (0..count).map(|_| weight(rng, weight_bits)).collect();
    let (bias, threshold, v_init) = neuron_params(
        rng,
        outputs,
        threshold_scale(fan_in, weight_bits, input_bits),
    );
    tensors.insert(format!("{name}.weight"), Tensor::i8(weight_shape, w));
    tensors.insert(format!("{name}.bias"), Tensor::i32(vec![outputs], bias));
    tensors.insert(format!("{name}.v_init"), Tensor::i32(vec![outputs], v_init));
    if spiking {
        tensors.insert(
            format!("{name}.threshold"),
            Tensor::i32(vec![outputs], threshold),
        );
    }
    weight_bits
}

/// A random valid model: random sizes, widths, geometry, dynamics and values.
pub fn model(rng: &mut impl Rng, arch: Architecture) -> Model {
    let timesteps = rng.gen_range(1..=8);
    let input_bits: u8 = rng.gen_range(1..=8);
    let mut tensors = BTreeMap::new();
    let mut layers = Vec::new();
    let mut bits = input_bits;
    let (input_shape, mut flat) = match arch {
        Architecture::Mlp => {
            let n = rng.gen_range(1..=40);
            (vec![n], n)
        }
        Architecture::Conv => {
            let (c, h, w) = (
                rng.gen_range(1..=3),
                rng.gen_range(3..=9),
                rng.gen_range(3..=9),
            );
            (vec![c, h, w], 0)
        }
        Architecture::Wide => (vec![rng.gen_range(1..=3), 16, 16], 0),
    };
    let wide = arch == Architecture::Wide;
    if arch != Architecture::Mlp {
        let (mut c, mut h, mut w) = (input_shape[0], input_shape[1], input_shape[2]);
        for i in 0..rng.gen_range(1..=2) {
            let name = format!("conv{i}");
            let groups = if c > 1 && rng.gen_bool(0.3) { c } else { 1 };
            let out_channels = if wide {
                groups * rng.gen_range(2..=24 / groups.max(3))
            } else {
                groups * rng.gen_range(1..=3)
            };
            let (kernel, padding) = if wide {
                let k = if rng.gen_bool(0.5) { 3 } else { 1 };
                ([k, k], [k / 2, k / 2])
            } else {
                let kernel = [rng.gen_range(1..=h.min(3)), rng.gen_range(1..=w.min(3))];
                let padding = [rng.gen_range(0..kernel[0]), rng.gen_range(0..kernel[1])];
                (kernel, padding)
            };
            let stride = if wide {
                let s = if h >= 8 { rng.gen_range(1..=2) } else { 1 };
                [s, s]
            } else {
                [rng.gen_range(1..=2), rng.gen_range(1..=2)]
            };
            let shape = vec![out_channels, c / groups, kernel[0], kernel[1]];
            let wb = add_tensors(rng, &mut tensors, &name, shape, bits, true);
            let neuron = neuron_spec(rng);
            layers.push(LayerSpec::Conv2d {
                inputs: Vec::new(),
                shortcut_weight: None,
                name,
                out_channels,
                kernel,
                stride,
                padding,
                groups,
                weight_bits: wb,
                neuron,
            });
            c = out_channels;
            h = (h + 2 * padding[0] - kernel[0]) / stride[0] + 1;
            w = (w + 2 * padding[1] - kernel[1]) / stride[1] + 1;
            bits = neuron.spike_bits.get();
            if h >= 2 && w >= 2 && (!wide || h >= 8) && rng.gen_bool(0.5) {
                let neuron = neuron_spec(rng);
                layers.push(LayerSpec::Pool {
                    inputs: Vec::new(),
                    name: format!("pool{i}"),
                    mode: if rng.gen_bool(0.5) {
                        PoolMode::Sum
                    } else {
                        PoolMode::Avg
                    },
                    kernel: 2,
                    stride: 2,
                    threshold: rng.gen_range(1..=i32::from(crate::numeric::mask(bits))),
                    v_init: 0,
                    neuron,
                });
                h = (h - 2) / 2 + 1;
                w = (w - 2) / 2 + 1;
                bits = neuron.spike_bits.get();
            }
        }
        layers.push(LayerSpec::Flatten {
            inputs: Vec::new(),
            name: "flatten".into(),
        });
        flat = c * h * w;
    }
    for i in 0..rng.gen_range(0..=if wide { 0 } else { 2 }) {
        let name = format!("fc{i}");
        let outputs = rng.gen_range(1..=24);
        let wb = add_tensors(rng, &mut tensors, &name, vec![outputs, flat], bits, true);
        let neuron = neuron_spec(rng);
        layers.push(LayerSpec::Dense {
            inputs: Vec::new(),
            shortcut_weight: None,
            name,
            outputs,
            weight_bits: wb,
            neuron,
        });
        flat = outputs;
        bits = neuron.spike_bits.get();
    }
    let outputs = rng.gen_range(2..=if wide { 32 } else { 10 });
    let wb = add_tensors(
        rng,
        &mut tensors,
        "readout",
        vec![outputs, flat],
        bits,
        false,
    );
    layers.push(LayerSpec::Readout {
        inputs: Vec::new(),
        shortcut_weight: None,
        name: "readout".into(),
        outputs,
        weight_bits: wb,
        leak_shift: None,
    });
    let spec = ModelSpec {
        format: FORMAT.into(),
        version: VERSION,
        name: "random".into(),
        weights: "random.safetensors".into(),
        timesteps: Timesteps::new(timesteps).expect("valid T"),
        input: InputSpec {
            shape: input_shape,
            bits: SpikeBits::new(u32::from(input_bits)).expect("valid bits"),
        },
        layers,
    };
    Model::new(spec, tensors).expect("the generator makes valid models")
}
