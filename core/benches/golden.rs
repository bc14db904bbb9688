//! Throughput of the golden model: the fast path (`Engine::Packed`, rayon over a
//! batch) against the plain direct loop (`Engine::Direct`, one thread, one
//! sample after another), on a 784-256-10 MLP and a small conv net at
//! `b_w = b_s = 4` (8-bit input), `T = 4` and `T = 1`.
//!
//! Run with `cargo bench -p spikeslice-core --bench golden`. Each benchmark
//! processes one batch of `BATCH` real mnist-5k digits; criterion's
//! `Throughput::Elements` makes it print images per second. Synaptic operations
//! per second are `MACs per timestep * T * images/s` (the MAC count of
//! `Model::layers`), printed once per network before the measurements so the
//! reader can convert; docs/performance.md holds both.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use spikeslice_core::dataset::load_mnist_5k;
use spikeslice_core::golden::{self, Engine};
use spikeslice_core::model::{
    InputSpec, LayerSpec, Model, ModelSpec, NeuronSpec, PoolMode, Tensor, FORMAT, VERSION,
};
use spikeslice_core::neuron::Reset;
use spikeslice_core::numeric::{SpikeBits, Timesteps, WeightBits};
use spikeslice_core::random;
use std::collections::BTreeMap;
use std::time::Duration;

/// Samples per batch: enough to keep both cores busy through rayon.
const BATCH: usize = 64;
const WEIGHT_BITS: u32 = 4;
const SPIKE_BITS: u32 = 4;
const INPUT_BITS: u32 = 8;

fn neuron() -> NeuronSpec {
    NeuronSpec {
        spike_bits: SpikeBits::new(SPIKE_BITS).unwrap(),
        reset: Reset::Soft,
        leak_shift: None,
    }
}

fn wbits() -> WeightBits {
    WeightBits::new(WEIGHT_BITS).unwrap()
}

/// A 3x3 convolution that keeps the image size (stride 1, padding 1).
fn conv3x3(name: &str, out_channels: usize) -> LayerSpec {
    LayerSpec::Conv2d {
        inputs: Vec::new(),
        shortcut_weight: None,
        name: name.into(),
        out_channels,
        kernel: [3, 3],
        stride: [1, 1],
        padding: [1, 1],
        groups: 1,
        weight_bits: wbits(),
        neuron: neuron(),
    }
}

/// A 2x2 average pool, stride 2: half the image size.
fn avg_pool2x2(name: &str) -> LayerSpec {
    LayerSpec::Pool {
        inputs: Vec::new(),
        name: name.into(),
        mode: PoolMode::Avg,
        kernel: 2,
        stride: 2,
        threshold: 1,
        v_init: 0,
        neuron: neuron(),
    }
}

/// The last layer: `outputs` classes, read from the membranes.
fn readout(outputs: usize) -> LayerSpec {
    LayerSpec::Readout {
        inputs: Vec::new(),
        shortcut_weight: None,
        name: "readout".into(),
        outputs,
        weight_bits: wbits(),
        leak_shift: None,
    }
}

/// The two benchmark networks, before thresholds are set.
fn spec(conv: bool, timesteps: u32) -> ModelSpec {
    let layers = if conv {
        // 1x28x28 -> 8x28x28 -> 8x14x14 -> 16x14x14 -> 16x7x7 -> 784 -> 10.
        vec![
            conv3x3("conv1", 8),
            avg_pool2x2("pool1"),
            conv3x3("conv2", 16),
            avg_pool2x2("pool2"),
            LayerSpec::Flatten {
                inputs: Vec::new(),
                name: "flatten".into(),
            },
            readout(10),
        ]
    } else {
        vec![
            LayerSpec::Dense {
                inputs: Vec::new(),
                shortcut_weight: None,
                name: "fc1".into(),
                outputs: 256,
                weight_bits: wbits(),
                neuron: neuron(),
            },
            readout(10),
        ]
    };
    ModelSpec {
        format: FORMAT.into(),
        version: VERSION,
        name: if conv { "bench-conv" } else { "bench-mlp" }.into(),
        weights: "bench.safetensors".into(),
        timesteps: Timesteps::new(timesteps).unwrap(),
        input: InputSpec {
            shape: if conv { vec![1, 28, 28] } else { vec![784] },
            bits: SpikeBits::new(INPUT_BITS).unwrap(),
        },
        layers,
    }
}

/// Seeded random weights (uniform over the 4-bit range), zero bias, and
/// thresholds calibrated on real digits: each layer's threshold is set, in
/// order, to half the standard deviation of its currents on a few samples, so
/// that neurons fire at realistic, neither silent nor saturated, rates (the
/// fast path skips empty slices, so sparsity matters to its speed).
fn build(conv: bool, timesteps: u32, calibration: &[Vec<u8>]) -> Model {
    let spec = spec(conv, timesteps);
    let mut rng = random::rng(0xBE4C);
    let mut tensors = BTreeMap::new();
    let mut shape = vec![1usize, 28, 28];
    let mut flat = 784;
    let mut weighted = Vec::new();
    for l in &spec.layers {
        let wshape = match l {
            LayerSpec::Conv2d {
                out_channels,
                kernel,
                ..
            } => {
                let s = vec![*out_channels, shape[0], kernel[0], kernel[1]];
                shape = vec![*out_channels, shape[1], shape[2]];
                flat = shape.iter().product();
                Some(s)
            }
            LayerSpec::Pool { .. } => {
                shape = vec![shape[0], shape[1] / 2, shape[2] / 2];
                flat = shape.iter().product();
                None
            }
            LayerSpec::Dense { outputs, .. } | LayerSpec::Readout { outputs, .. } => {
                let s = vec![*outputs, flat];
                flat = *outputs;
                Some(s)
            }
            LayerSpec::Flatten { .. } | LayerSpec::Add { .. } => None,
        };
        if let Some(s) = wshape {
            let name = l.name().to_string();
            let n: usize = s.iter().product();
            let o = s[0];
            let w = (0..n).map(|_| random::weight(&mut rng, wbits())).collect();
            tensors.insert(format!("{name}.weight"), Tensor::i8(s, w));
            tensors.insert(format!("{name}.bias"), Tensor::i32(vec![o], vec![0; o]));
            tensors.insert(format!("{name}.v_init"), Tensor::i32(vec![o], vec![0; o]));
            if !matches!(l, LayerSpec::Readout { .. }) {
                tensors.insert(
                    format!("{name}.threshold"),
                    Tensor::i32(vec![o], vec![1; o]),
                );
            }
            weighted.push((name, o));
        }
    }
    // Calibrate layer by layer: each threshold changes the next layer's input.
    let mut model = Model::new(spec.clone(), tensors.clone()).expect("valid bench model");
    for (name, outputs) in &weighted {
        let Some(index) = model.layers.iter().position(|l| &l.name == name) else {
            continue;
        };
        if matches!(
            model.layers[index].neurons.output,
            golden::LayerOutput::Membrane
        ) {
            continue;
        }
        let mut sum = 0f64;
        let mut sq = 0f64;
        let mut n = 0f64;
        for x in calibration {
            let trace = golden::trace(&model, x, Engine::Packed);
            for c in trace.layers[index].currents.iter().flatten() {
                let c = *c as f64;
                sum += c;
                sq += c * c;
                n += 1.0;
            }
        }
        let std = (sq / n - (sum / n).powi(2)).max(1.0).sqrt();
        let theta = ((std / 2.0) as i32).max(1);
        let o = *outputs;
        tensors.insert(
            format!("{name}.threshold"),
            Tensor::i32(vec![o], vec![theta; o]),
        );
        tensors.insert(
            format!("{name}.v_init"),
            Tensor::i32(vec![o], vec![theta / 2; o]),
        );
        model = Model::new(spec.clone(), tensors.clone()).expect("valid bench model");
    }
    model
}

fn throughput(c: &mut Criterion) {
    let data = load_mnist_5k().expect("embedded mnist-5k");
    // Every 78th digit: a class-mixed batch (the file is sorted by class).
    let batch: Vec<Vec<u8>> = (0..BATCH)
        .map(|i| data.sample(i * (data.len() / BATCH)).to_vec())
        .collect();
    let mut group = c.benchmark_group("golden");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4))
        .throughput(Throughput::Elements(BATCH as u64));
    for (net, conv) in [("mlp-784-256-10", false), ("conv-8-16", true)] {
        for t in [4u32, 1] {
            let model = build(conv, t, &batch[..8]);
            let packed = golden::run_checked_batch(&model, &batch, Engine::Packed);
            let direct: Vec<_> = batch
                .iter()
                .map(|x| golden::run_sample(&model, x, Engine::Direct))
                .collect();
            assert_eq!(packed, direct, "{net} T={t}: the engines disagree");
            let macs: u64 = model.layers.iter().map(|l| l.synapses.macs()).sum();
            let rates: Vec<String> = model
                .layers
                .iter()
                .enumerate()
                .filter(|(_, l)| !matches!(l.neurons.output, golden::LayerOutput::Membrane))
                .map(|(i, l)| {
                    let mut s = golden::SpikeStats::default();
                    packed.iter().for_each(|o| s.add(&o.layers[i]));
                    format!("{} {:.3}", l.name, s.firing_rate())
                })
                .collect();
            println!(
                "{net} T={t}: {macs} MACs/timestep, {} synaptic ops/image; firing rates: {}",
                macs * u64::from(t),
                rates.join(", ")
            );
            let id = format!("{net}/T={t}");
            group.bench_with_input(BenchmarkId::new("packed-rayon", &id), &batch, |b, batch| {
                b.iter(|| golden::run_checked_batch(&model, batch, Engine::Packed))
            });
            // The same fast path on one thread, to separate the kernel's gain
            // from rayon's.
            let prepared = golden::Prepared::new(&model);
            group.bench_with_input(
                BenchmarkId::new("packed-1thread", &id),
                &batch,
                |b, batch| {
                    b.iter(|| {
                        batch
                            .iter()
                            .map(|x| {
                                golden::run_sample_prepared(
                                    &model,
                                    Some(&prepared),
                                    x,
                                    Engine::Packed,
                                )
                            })
                            .collect::<Vec<_>>()
                    })
                },
            );
            group.bench_with_input(
                BenchmarkId::new("direct-1thread", &id),
                &batch,
                |b, batch| {
                    b.iter(|| {
                        batch
                            .iter()
                            .map(|x| golden::run_sample(&model, x, Engine::Direct))
                            .collect::<Vec<_>>()
                    })
                },
            );
        }
    }
    group.finish();
}

criterion_group!(benches, throughput);
criterion_main!(benches);
