//! Trains the small example model shipped in `models/`: a 784-64-10 MLP on the
//! mnist-5k train split, converted to the integer SNN of docs/semantics.md.
//!
//! ```text
//! cargo run --release -p spikeslice-core --example example_model -- --out models
//! ```
//!
//! Deterministic for its fixed seed: single-threaded f32 SGD with a seeded
//! ChaCha8 generator. It wrote `models/mnist-mlp.*`, the repository's example
//! model, which the CLI, the budget table and the hardware tests run; `spikeslice
//! train` (quantization-aware training with candle) is the trainer for everything
//! else.
//!
//! # The conversion
//!
//! The hidden layer is trained as a clipped ReLU `h = clamp(z, 0, A_MAX)`,
//! quantized to `L = T * (2^b_s - 1)` levels of `step = A_MAX / L`. That is what
//! an IF neuron with soft reset and `v_init = theta/2`, fed the same current `I`
//! for `T` steps, computes: its spike count is
//! `clamp(floor((theta/2 + T*I) / theta), 0, L) = clamp(round_half_up(T*I/theta), 0, L)`
//! (the identity behind the conversion papers, checked by the property tests in
//! core/tests/integration/golden.rs). With integer weights `Wq = round(W / s_w)` and the
//! raw pixel `p = x / s_x` (`s_x = 1/255`), `z = s_w s_x (Wq p + b/(s_w s_x))`,
//! so `I = Wq p + round(b / (s_w s_x))` and `T*I/theta = z/step` when
//! `theta = T * step / (s_w s_x)`.
//!
//! The readout integrates the hidden spikes for `T` steps with no reset, so its
//! final membrane is `W2q * count + T * b2q`. The float logits are
//! `step * s_w2 * (W2q * count) + b2`; dividing by `step * s_w2` gives the
//! readout's bias `b2q = round(b2 / (T * step * s_w2))`. The argmax is the same
//! up to that rounding.
//!
//! Training uses the same quantizers in the forward pass (fake quantization,
//! straight-through gradients) for its last epochs, so the converted network
//! loses little accuracy.

use rand::Rng;
use spikeslice_core::dataset::{mnist_5k_split, Dataset};
use spikeslice_core::golden::{self, Engine};
use spikeslice_core::model::{
    InputSpec, LayerSpec, Model, ModelSpec, NeuronSpec, Tensor, FORMAT, VERSION,
};
use spikeslice_core::neuron::Reset;
use spikeslice_core::numeric::{SpikeBits, Timesteps, WeightBits};
use spikeslice_core::random;
use std::collections::BTreeMap;
use std::path::PathBuf;

const SEED: u64 = 20_240_601;
const INPUTS: usize = 784;
const HIDDEN: usize = 64;
const CLASSES: usize = 10;
const WEIGHT_BITS: u32 = 4;
const SPIKE_BITS: u32 = 2;
const TIMESTEPS: u32 = 2;
/// Clip of the hidden activation: the largest value the SNN can represent.
const A_MAX: f32 = 1.0;
/// Epochs of plain float training, then epochs with fake quantization.
const FLOAT_EPOCHS: usize = 12;
const QAT_EPOCHS: usize = 8;
const BATCH: usize = 32;
const LEARNING_RATE: f32 = 0.05;
/// Test-split samples written to the CSV for `spikeslice infer --input`.
const CSV_SAMPLES: usize = 5;

/// Hidden activation levels: `T * (2^b_s - 1)`.
fn levels() -> f32 {
    (TIMESTEPS * ((1 << SPIKE_BITS) - 1)) as f32
}

fn max_weight() -> f32 {
    WeightBits::new(WEIGHT_BITS).unwrap().max_weight() as f32
}

/// The float network: `W1` is `HIDDEN x INPUTS`, `W2` is `CLASSES x HIDDEN`.
struct Mlp {
    w1: Vec<f32>,
    b1: Vec<f32>,
    w2: Vec<f32>,
    b2: Vec<f32>,
}

/// Symmetric per-layer scale of `b_w`-bit weights: the largest magnitude maps
/// to the largest code.
fn weight_scale(w: &[f32]) -> f32 {
    w.iter().fold(0f32, |m, v| m.max(v.abs())).max(1e-8) / max_weight()
}

fn quantize_weights(w: &[f32]) -> (Vec<i8>, f32) {
    let s = weight_scale(w);
    let m = max_weight();
    let q = w
        .iter()
        .map(|v| (v / s).round().clamp(-m, m) as i8)
        .collect();
    (q, s)
}

/// Fake-quantized weights: the float values the integer weights stand for.
fn fake_quantize(w: &[f32]) -> Vec<f32> {
    let (q, s) = quantize_weights(w);
    q.into_iter().map(|v| f32::from(v) * s).collect()
}

/// The hidden activation: clipped ReLU, and with `quantize` the SNN's spike
/// count times the level step (round half up, as `floor(x + 1/2)` of the
/// `theta/2` pre-charge).
fn activation(z: f32, quantize: bool) -> f32 {
    let h = z.clamp(0.0, A_MAX);
    if quantize {
        let step = A_MAX / levels();
        (h / step + 0.5).floor().min(levels()) * step
    } else {
        h
    }
}

impl Mlp {
    fn new(rng: &mut impl Rng) -> Self {
        // He-uniform initialisation for the ReLU layer, Xavier for the readout.
        let a1 = (6.0 / INPUTS as f32).sqrt();
        let a2 = (6.0 / (HIDDEN + CLASSES) as f32).sqrt();
        Self {
            w1: (0..HIDDEN * INPUTS)
                .map(|_| rng.gen_range(-a1..a1))
                .collect(),
            b1: vec![0.0; HIDDEN],
            w2: (0..CLASSES * HIDDEN)
                .map(|_| rng.gen_range(-a2..a2))
                .collect(),
            b2: vec![0.0; CLASSES],
        }
    }

    /// Forward pass of one sample: pre-activations, activations, logits.
    fn forward(
        &self,
        w1: &[f32],
        w2: &[f32],
        x: &[f32],
        quantize: bool,
    ) -> ([f32; HIDDEN], [f32; HIDDEN], [f32; CLASSES]) {
        let mut z = [0f32; HIDDEN];
        let mut h = [0f32; HIDDEN];
        for j in 0..HIDDEN {
            let row = &w1[j * INPUTS..(j + 1) * INPUTS];
            z[j] = self.b1[j] + row.iter().zip(x).map(|(w, v)| w * v).sum::<f32>();
            h[j] = activation(z[j], quantize);
        }
        let mut y = [0f32; CLASSES];
        for c in 0..CLASSES {
            let row = &w2[c * HIDDEN..(c + 1) * HIDDEN];
            y[c] = self.b2[c] + row.iter().zip(&h).map(|(w, v)| w * v).sum::<f32>();
        }
        (z, h, y)
    }

    /// One epoch of mini-batch SGD on softmax cross-entropy. With `quantize`,
    /// the forward pass uses fake-quantized weights and activations and the
    /// gradients pass straight through the rounding (but not the clip) to the
    /// float weights.
    fn epoch(&mut self, data: &[(Vec<f32>, u8)], order: &[usize], quantize: bool) -> f32 {
        let mut loss = 0f32;
        for chunk in order.chunks(BATCH) {
            let (w1, w2) = if quantize {
                (fake_quantize(&self.w1), fake_quantize(&self.w2))
            } else {
                (self.w1.clone(), self.w2.clone())
            };
            let mut g1 = vec![0f32; HIDDEN * INPUTS];
            let mut gb1 = [0f32; HIDDEN];
            let mut g2 = [0f32; CLASSES * HIDDEN];
            let mut gb2 = [0f32; CLASSES];
            for &i in chunk {
                let (x, label) = (&data[i].0, usize::from(data[i].1));
                let (z, h, y) = self.forward(&w1, &w2, x, quantize);
                let max = y.iter().fold(f32::MIN, |m, &v| m.max(v));
                let exp: Vec<f32> = y.iter().map(|v| (v - max).exp()).collect();
                let sum: f32 = exp.iter().sum();
                loss -= (exp[label] / sum).ln();
                let mut dh = [0f32; HIDDEN];
                for c in 0..CLASSES {
                    let dy = exp[c] / sum - if c == label { 1.0 } else { 0.0 };
                    gb2[c] += dy;
                    for j in 0..HIDDEN {
                        g2[c * HIDDEN + j] += dy * h[j];
                        dh[j] += dy * w2[c * HIDDEN + j];
                    }
                }
                for j in 0..HIDDEN {
                    // The clip's gradient: 1 inside (0, A_MAX), 0 outside.
                    if z[j] <= 0.0 || z[j] >= A_MAX {
                        continue;
                    }
                    gb1[j] += dh[j];
                    let g = &mut g1[j * INPUTS..(j + 1) * INPUTS];
                    for (gk, &xk) in g.iter_mut().zip(x) {
                        *gk += dh[j] * xk;
                    }
                }
            }
            let lr = LEARNING_RATE / chunk.len() as f32;
            for (w, g) in self.w1.iter_mut().zip(&g1) {
                *w -= lr * g;
            }
            for (b, g) in self.b1.iter_mut().zip(&gb1) {
                *b -= lr * g;
            }
            for (w, g) in self.w2.iter_mut().zip(&g2) {
                *w -= lr * g;
            }
            for (b, g) in self.b2.iter_mut().zip(&gb2) {
                *b -= lr * g;
            }
        }
        loss / order.len() as f32
    }

    fn accuracy(&self, data: &[(Vec<f32>, u8)], quantize: bool) -> f64 {
        let (w1, w2) = if quantize {
            (fake_quantize(&self.w1), fake_quantize(&self.w2))
        } else {
            (self.w1.clone(), self.w2.clone())
        };
        let correct = data
            .iter()
            .filter(|(x, label)| {
                let (_, _, y) = self.forward(&w1, &w2, x, quantize);
                // The lowest index wins a tie, as in golden::argmax.
                let best = (0..CLASSES).fold(0, |b, c| if y[c] > y[b] { c } else { b });
                best == usize::from(*label)
            })
            .count();
        correct as f64 / data.len() as f64
    }

    /// The integer SNN (module docs: "The conversion").
    fn to_snn(&self) -> Model {
        let s_x = 1.0 / 255.0;
        let t = TIMESTEPS as f32;
        let step = A_MAX / levels();
        let (w1q, s1) = quantize_weights(&self.w1);
        let (w2q, s2) = quantize_weights(&self.w2);
        let theta = (t * step / (s1 * s_x)).round() as i32;
        let b1q: Vec<i32> = self
            .b1
            .iter()
            .map(|b| (b / (s1 * s_x)).round() as i32)
            .collect();
        let b2q: Vec<i32> = self
            .b2
            .iter()
            .map(|b| (b / (t * step * s2)).round() as i32)
            .collect();
        let mut tensors = BTreeMap::new();
        tensors.insert("fc1.weight".into(), Tensor::i8(vec![HIDDEN, INPUTS], w1q));
        tensors.insert("fc1.bias".into(), Tensor::i32(vec![HIDDEN], b1q));
        tensors.insert(
            "fc1.threshold".into(),
            Tensor::i32(vec![HIDDEN], vec![theta; HIDDEN]),
        );
        tensors.insert(
            "fc1.v_init".into(),
            Tensor::i32(vec![HIDDEN], vec![theta / 2; HIDDEN]),
        );
        tensors.insert(
            "readout.weight".into(),
            Tensor::i8(vec![CLASSES, HIDDEN], w2q),
        );
        tensors.insert("readout.bias".into(), Tensor::i32(vec![CLASSES], b2q));
        tensors.insert(
            "readout.v_init".into(),
            Tensor::i32(vec![CLASSES], vec![0; CLASSES]),
        );
        let spec = ModelSpec {
            format: FORMAT.into(),
            version: VERSION,
            name: "mnist-mlp".into(),
            weights: "mnist-mlp.safetensors".into(),
            timesteps: Timesteps::new(TIMESTEPS).unwrap(),
            input: InputSpec {
                shape: vec![INPUTS],
                bits: SpikeBits::new(8).unwrap(),
            },
            layers: vec![
                LayerSpec::Dense {
                    inputs: Vec::new(),
                    shortcut_weight: None,
                    name: "fc1".into(),
                    outputs: HIDDEN,
                    weight_bits: WeightBits::new(WEIGHT_BITS).unwrap(),
                    neuron: NeuronSpec {
                        spike_bits: SpikeBits::new(SPIKE_BITS).unwrap(),
                        reset: Reset::Soft,
                        leak_shift: None,
                    },
                },
                LayerSpec::Readout {
                    inputs: Vec::new(),
                    shortcut_weight: None,
                    name: "readout".into(),
                    outputs: CLASSES,
                    weight_bits: WeightBits::new(WEIGHT_BITS).unwrap(),
                    leak_shift: None,
                },
            ],
        };
        Model::new(spec, tensors).expect("the converted model is valid")
    }
}

fn floats(data: &Dataset) -> Vec<(Vec<f32>, u8)> {
    (0..data.len())
        .map(|i| {
            let x = data
                .sample(i)
                .iter()
                .map(|&p| f32::from(p) / 255.0)
                .collect();
            (x, data.labels[i])
        })
        .collect()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let out = match args.as_slice() {
        [] => PathBuf::from("models"),
        [flag, dir] if flag == "--out" => PathBuf::from(dir),
        _ => return Err("usage: example_model [--out DIR]".into()),
    };
    let split = mnist_5k_split()?;
    let train = floats(&split.train);
    let test = floats(&split.test);
    let mut rng = random::rng(SEED);
    let mut mlp = Mlp::new(&mut rng);
    let mut order: Vec<usize> = (0..train.len()).collect();
    let mut float_acc = 0.0;
    for epoch in 0..FLOAT_EPOCHS + QAT_EPOCHS {
        // Fisher-Yates with the seeded generator: the same order every run.
        for i in (1..order.len()).rev() {
            order.swap(i, rng.gen_range(0..=i));
        }
        let quantize = epoch >= FLOAT_EPOCHS;
        let loss = mlp.epoch(&train, &order, quantize);
        println!(
            "epoch {:2} ({}): loss {loss:.4}, test accuracy {:.2}%",
            epoch + 1,
            if quantize { "fake-quant" } else { "float" },
            100.0 * mlp.accuracy(&test, quantize)
        );
        if epoch + 1 == FLOAT_EPOCHS {
            float_acc = mlp.accuracy(&test, false);
        }
    }
    let fake_acc = mlp.accuracy(&test, true);
    let model = mlp.to_snn();
    let samples: Vec<Vec<u32>> = (0..split.test.len())
        .map(|i| split.test.sample(i).iter().map(|&p| u32::from(p)).collect())
        .collect();
    let outputs = golden::run_batch(&model, &samples, Engine::Packed)?;
    let correct = outputs
        .iter()
        .zip(&split.test.labels)
        .filter(|(o, &l)| o.class == usize::from(l))
        .count();
    let snn_acc = correct as f64 / outputs.len() as f64;
    println!(
        "mnist-5k test split ({} digits): float {:.2}% (after the float epochs), fake-quantized float {:.2}% (after QAT), integer SNN (golden) {:.2}%",
        test.len(),
        100.0 * float_acc,
        100.0 * fake_acc,
        100.0 * snn_acc
    );
    std::fs::create_dir_all(&out)?;
    let path = out.join("mnist-mlp.json");
    model.save(&path)?;
    let mut csv = String::new();
    for s in samples.iter().take(CSV_SAMPLES) {
        let line: Vec<String> = s.iter().map(|v| v.to_string()).collect();
        csv.push_str(&line.join(","));
        csv.push('\n');
    }
    std::fs::write(out.join("mnist-mlp-samples.csv"), csv)?;
    let labels: Vec<String> = split.test.labels[..CSV_SAMPLES]
        .iter()
        .map(|l| l.to_string())
        .collect();
    let predicted: Vec<String> = outputs[..CSV_SAMPLES]
        .iter()
        .map(|o| o.class.to_string())
        .collect();
    println!(
        "wrote {} (+ mnist-mlp.safetensors) and mnist-mlp-samples.csv: the first {CSV_SAMPLES} test digits, labels [{}], SNN predicts [{}]",
        path.display(),
        labels.join(", "),
        predicted.join(", ")
    );
    Ok(())
}
