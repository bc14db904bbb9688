//! Training and conversion: determinism, the exact SNN = quantized-ANN
//! identity on one-hidden-layer networks, and bad input.

use crate::common;

use common::tiny_training;
use spikeslice_core::dataset::SplitMix64;
use spikeslice_core::golden::{self, Engine, LayerOutput};
use spikeslice_core::model::{
    InputSpec, LayerSpec, Model, ModelSpec, NeuronSpec, Tensor, FORMAT, VERSION,
};
use spikeslice_core::neuron::Reset;
use spikeslice_core::numeric::{SpikeBits, Timesteps, WeightBits};
use spikeslice_train::alloc::Allocation;
use spikeslice_train::arch::Arch;
use spikeslice_train::{convert, data, train, TrainConfig};
use std::collections::BTreeMap;

/// A small, fast configuration: 300 training digits, 100 test digits.
fn tiny(alloc: &str, arch: Arch) -> TrainConfig {
    TrainConfig {
        alloc: alloc.parse().unwrap(),
        arch,
        ..tiny_training(2, 300, 100, 100)
    }
}

fn floats(r: &spikeslice_train::TrainResult) -> BTreeMap<String, Vec<u32>> {
    r.net
        .tensors()
        .into_iter()
        .map(|(k, t)| {
            let v: Vec<f32> = t.flatten_all().unwrap().to_vec1().unwrap();
            (k, v.into_iter().map(f32::to_bits).collect())
        })
        .collect()
}

#[test]
fn training_is_deterministic_for_a_seed() {
    let cfg = tiny("3/2/2", Arch::Mlp);
    let a = train(&cfg, &mut |_, _, _| {}).unwrap();
    let b = train(&cfg, &mut |_, _, _| {}).unwrap();
    // Bit-identical float weights, scales and steps, and identical integer models.
    assert_eq!(floats(&a), floats(&b));
    assert_eq!(a.model, b.model);
    assert_eq!(a.eval, b.eval);
    // A different seed gives different weights (the seed is really used).
    let mut other = cfg.clone();
    other.seed = 2;
    let c = train(&other, &mut |_, _, _| {}).unwrap();
    assert_ne!(floats(&a), floats(&c));
}

#[test]
fn cnn_trains_and_converts_deterministically() {
    let cfg = tiny("4/2/1", Arch::Cnn);
    let a = train(&cfg, &mut |_, _, _| {}).unwrap();
    let b = train(&cfg, &mut |_, _, _| {}).unwrap();
    assert_eq!(a.model, b.model);
    // Better than chance after a few hundred digits.
    assert!(a.eval.snn_accuracy > 0.3, "{:?}", a.eval.snn_accuracy);
    assert_eq!(
        a.eval.noise[0].local_mismatches, 0,
        "first conv layer sees constant input"
    );
}

#[test]
fn described_networks_with_pooling_train_and_convert_exactly() {
    // At T = 1 every layer sees its input once, so the SNN is the integer
    // quantized ANN exactly, pooling layer included (docs/training.md).
    let arch: Arch = "c8-pool-fc16".parse().unwrap();
    let r = train(&tiny("4/2/1", arch), &mut |_, _, _| {}).unwrap();
    let kinds: Vec<&str> = r.model.spec.layers.iter().map(|l| l.kind()).collect();
    assert_eq!(kinds, ["conv2d", "pool", "flatten", "dense", "readout"]);
    match &r.model.spec.layers[1] {
        LayerSpec::Pool {
            kernel,
            stride,
            threshold,
            v_init,
            ..
        } => {
            assert_eq!((*kernel, *stride), (2, 2));
            assert!(
                *threshold >= 1 && *v_init == threshold / 2,
                "{threshold} {v_init}"
            );
        }
        other => panic!("{other:?}"),
    }
    for n in &r.eval.noise {
        assert_eq!(n.local_mismatches, 0, "{}: {n:?}", n.layer);
        assert_eq!(n.chain_mismatches, 0, "{}: {n:?}", n.layer);
    }
    assert_eq!(r.eval.snn_qann_agreement, 1.0);
    assert!(r.eval.snn_accuracy > 0.3, "{:?}", r.eval.snn_accuracy);
    // A pool's weights are fixed: widths for it give b_s only.
    let mut bad = tiny("4/2/1", "c8-pool-fc16".parse().unwrap());
    bad.layers.add("pool1=4/2").unwrap();
    let e = format!("{:#}", train(&bad, &mut |_, _, _| {}).unwrap_err());
    assert!(e.contains("layer pool1 pools"), "{e}");
}

#[test]
fn a_described_net_trains_on_cifar_10_binary_batches() {
    // Two classes the net can tell apart (bright against dark images), in
    // CIFAR-10's binary batch format: `--data` with the batches trains the
    // 3x32x32 path end to end.
    let dir = tempfile::tempdir().unwrap();
    let mut rng = SplitMix64::new(3);
    let mut bytes = Vec::new();
    for i in 0..200u32 {
        let label = (i % 2) as u8;
        bytes.push(label);
        for _ in 0..3 * 32 * 32 {
            let noise = (rng.next_u64() % 64) as u8;
            bytes.push(if label == 1 { 160 + noise } else { 32 + noise });
        }
    }
    let batch = dir.path().join("data_batch_1.bin");
    std::fs::write(&batch, bytes).unwrap();
    let mut cfg = tiny("4/2/2", "c4k5s2-pool-fc8".parse().unwrap());
    cfg.data = batch.display().to_string();
    cfg.train_limit = None;
    cfg.test_limit = None;
    // Enough steps to push the eight unused classes' logits below these two.
    cfg.float.epochs = 30;
    cfg.float.lr = 1e-2;
    cfg.qat.epochs = 3;
    let r = train(&cfg, &mut |_, _, _| {}).unwrap();
    assert_eq!(r.model.spec.input.shape, [3, 32, 32]);
    assert!(r.eval.snn_accuracy > 0.75, "{:?}", r.eval);
}

#[test]
fn per_layer_widths_reach_the_model_and_keep_the_snn_exact() {
    // The conv net with every weight layer at its own widths: each layer of
    // the converted model has them, the quantizers trained with them (the
    // QAT accuracy differs from the uniform allocation's), and the
    // one-timestep first layer still matches the integer ANN exactly.
    let mut cfg = tiny("2/1/2", Arch::Cnn);
    for l in ["conv1=4/2", "conv2=3/*", "out=8"] {
        cfg.layers.add(l).unwrap();
    }
    let r = train(&cfg, &mut |_, _, _| {}).unwrap();
    let widths: Vec<(u32, Option<u8>)> = r
        .model
        .layers
        .iter()
        .map(|l| {
            let spikes = match l.neurons.output {
                LayerOutput::Spikes { bits } => Some(bits),
                LayerOutput::Membrane => None,
            };
            (u32::from(l.weight_bits.get()), spikes)
        })
        .collect();
    assert_eq!(widths, [(4, Some(2)), (3, Some(1)), (8, None)]);
    assert_eq!(r.model.timesteps(), 2);
    assert_eq!(r.eval.noise[0].local_mismatches, 0);
    let uniform = train(&tiny("2/1/2", Arch::Cnn), &mut |_, _, _| {}).unwrap();
    assert_ne!(floats(&r), floats(&uniform));
    // A layer the network lacks is refused before training, naming its layers.
    let mut bad = tiny("2/1/2", Arch::Mlp);
    bad.layers.add("conv1=4").unwrap();
    let e = format!("{:#}", train(&bad, &mut |_, _, _| {}).unwrap_err());
    assert!(
        e.contains("no layer \"conv1\"") && e.contains("fc1, out"),
        "{e}"
    );
}

/// SNN hidden spike counts (summed over T) for one sample.
fn snn_counts(model: &Model, x: &[u8]) -> Vec<Vec<i64>> {
    let tr = golden::trace(model, x, Engine::Direct);
    model
        .layers
        .iter()
        .zip(&tr.layers)
        .map(|(l, t)| match l.neurons.output {
            LayerOutput::Membrane => t.membrane.clone(),
            LayerOutput::Spikes { .. } => {
                let mut c = vec![0i64; l.neurons()];
                for step in &t.spikes {
                    for (a, &s) in c.iter_mut().zip(step) {
                        *a += i64::from(s);
                    }
                }
                c
            }
        })
        .collect()
}

#[test]
fn trained_one_hidden_layer_snn_equals_its_quantized_ann_exactly() {
    // One hidden layer: its input (the pixels) is constant in time, so by the
    // soft-reset identity (docs/semantics.md §7) every hidden spike count
    // equals the integer ANN's quantized activation, and the readout (linear in
    // the counts) equals exactly too.
    for alloc in ["1/1/1", "2/3/2", "4/1/5", "8/2/3"] {
        let r = train(&tiny(alloc, Arch::Mlp), &mut |_, _, _| {}).unwrap();
        let d = data::load("mnist-5k", Some(10), Some(100)).unwrap();
        for i in 0..d.test.len() {
            let x = d.test.sample(i);
            assert_eq!(
                snn_counts(&r.model, x),
                convert::qann(&r.model, x),
                "{alloc}, sample {i}"
            );
        }
        assert_eq!(r.eval.snn_qann_agreement, 1.0, "{alloc}");
        assert_eq!(r.eval.snn_accuracy, r.eval.qann_accuracy, "{alloc}");
        for n in &r.eval.noise {
            assert_eq!(
                (n.local_mismatches, n.chain_mismatches),
                (0, 0),
                "{alloc} {}",
                n.layer
            );
            assert!(n.compared > 0);
        }
        // The conversion folded the pre-charge: v_init in [0, theta).
        let l = &r.model.layers[0];
        for (v, th) in l.neurons.v_init.iter().zip(&l.neurons.threshold) {
            assert!((0..*th).contains(v), "v_init {v} theta {th}");
        }
    }
}

/// A random dense -> readout model with thresholds, biases and v_init in
/// `[0, theta)` as the converter produces them.
fn random_one_layer(rng: &mut SplitMix64, k: usize, h: usize, a: Allocation) -> Model {
    let wb = WeightBits::new(a.b_w).unwrap();
    let mut w = |n: usize| -> Vec<i8> {
        (0..n)
            .map(|_| {
                let m = wb.max_weight();
                let v = rng.below((2 * m + 1) as usize) as i32 - m;
                if a.b_w == 1 && v == 0 {
                    1
                } else {
                    v as i8
                }
            })
            .collect()
    };
    let w1 = w(h * k);
    let w2 = w(10 * h);
    let theta: Vec<i32> = (0..h).map(|_| 1 + rng.below(300) as i32).collect();
    let v1: Vec<i32> = theta
        .iter()
        .map(|&t| rng.below(t as usize) as i32)
        .collect();
    let b1: Vec<i32> = (0..h).map(|_| rng.below(400) as i32 - 200).collect();
    let b2: Vec<i32> = (0..10).map(|_| rng.below(400) as i32 - 200).collect();
    let v2: Vec<i32> = (0..10).map(|_| rng.below(50) as i32 - 25).collect();
    let mut t = BTreeMap::new();
    t.insert("fc1.weight".into(), Tensor::i8(vec![h, k], w1));
    t.insert("fc1.bias".into(), Tensor::i32(vec![h], b1));
    t.insert("fc1.threshold".into(), Tensor::i32(vec![h], theta));
    t.insert("fc1.v_init".into(), Tensor::i32(vec![h], v1));
    t.insert("out.weight".into(), Tensor::i8(vec![10, h], w2));
    t.insert("out.bias".into(), Tensor::i32(vec![10], b2));
    t.insert("out.v_init".into(), Tensor::i32(vec![10], v2));
    let spec = ModelSpec {
        format: FORMAT.into(),
        version: VERSION,
        name: "r".into(),
        weights: "r.safetensors".into(),
        timesteps: Timesteps::new(a.t).unwrap(),
        input: InputSpec {
            shape: vec![k],
            bits: SpikeBits::new(4).unwrap(),
        },
        layers: vec![
            LayerSpec::Dense {
                inputs: Vec::new(),
                shortcut_weight: None,
                name: "fc1".into(),
                outputs: h,
                weight_bits: wb,
                neuron: NeuronSpec {
                    spike_bits: SpikeBits::new(a.b_s).unwrap(),
                    reset: Reset::Soft,
                    leak_shift: None,
                },
            },
            LayerSpec::Readout {
                inputs: Vec::new(),
                shortcut_weight: None,
                name: "out".into(),
                outputs: 10,
                weight_bits: wb,
                leak_shift: None,
            },
        ],
    };
    Model::new(spec, t).unwrap()
}

#[test]
fn random_one_hidden_layer_models_equal_the_integer_ann() {
    let mut rng = SplitMix64::new(11);
    for case in 0..60 {
        let a = Allocation::new(
            1 + rng.below(8) as u32,
            1 + rng.below(8) as u32,
            1 + rng.below(16) as u32,
        )
        .unwrap();
        let (k, h) = (1 + rng.below(40), 1 + rng.below(20));
        let model = random_one_layer(&mut rng, k, h, a);
        for _ in 0..10 {
            let x: Vec<u8> = (0..model.input_len())
                .map(|_| rng.below(16) as u8)
                .collect();
            assert_eq!(
                snn_counts(&model, &x),
                convert::qann(&model, &x),
                "case {case} at {a}"
            );
        }
    }
}

#[test]
fn bad_inputs_give_clear_errors() {
    let e = data::load("no-such-set", None, None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("no-such-set") && e.contains("built-in"), "{e}");
    for bad in ["4/2", "4/2/x", "0/1/1", "1/9/1", "1/1/65"] {
        let e = bad.parse::<Allocation>().unwrap_err().to_string();
        assert!(e.contains(bad) || e.contains("out of range"), "{bad}: {e}");
    }
    let e = "mlpx".parse::<Arch>().unwrap_err();
    assert!(e.contains("\"mlpx\"") && e.contains("mlp, cnn, vgg"), "{e}");
}

#[test]
fn imported_pytorch_weights_convert_like_our_own() {
    use spikeslice_train::{finetune, import, pretrain};
    let mut cfg = tiny("4/2/2", Arch::Mlp);
    cfg.qat.epochs = 0; // post-training quantization, as `spikeslice import` does by default
    let d = data::load(&cfg.data, cfg.train_limit, cfg.test_limit).unwrap();
    let float = pretrain(&cfg, &d, &mut |_, _, _| {}).unwrap();
    // nn.Sequential(Linear, ReLU, Linear).state_dict() names.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("torch.safetensors");
    let t = float.tensors();
    let mut torch = std::collections::HashMap::new();
    torch.insert("0.weight".to_string(), t["fc1.weight"].clone());
    torch.insert("0.bias".to_string(), t["fc1.bias"].clone());
    torch.insert("2.weight".to_string(), t["out.weight"].clone());
    torch.insert("2.bias".to_string(), t["out.bias"].clone());
    candle_core::safetensors::save(&torch, &path).unwrap();
    let imported = import::load_float(&path, &Arch::Mlp, &d, cfg.seed).unwrap();
    let ours = finetune(&cfg, &d, &float, &mut |_, _, _| {}).unwrap();
    let theirs = finetune(&cfg, &d, &imported, &mut |_, _, _| {}).unwrap();
    let a = convert::convert(&ours, "m", 8).unwrap();
    let b = convert::convert(&theirs, "m", 8).unwrap();
    assert_eq!(
        a, b,
        "same weights, same conversion path, same integer model"
    );

    // A layer of the wrong shape is named in the error.
    torch.insert(
        "2.weight".to_string(),
        candle_core::Tensor::zeros((10, 7), candle_core::DType::F32, &candle_core::Device::Cpu)
            .unwrap(),
    );
    candle_core::safetensors::save(&torch, &path).unwrap();
    let e = format!(
        "{:#}",
        import::load_float(&path, &Arch::Mlp, &d, 1).unwrap_err()
    );
    assert!(e.contains("2.weight") && e.contains("[10, 7]"), "{e}");
    // An integer file (a spikeslice model) is refused with a hint.
    let m = dir.path().join("int.safetensors");
    let mut ints = std::collections::HashMap::new();
    ints.insert(
        "fc1.weight".to_string(),
        candle_core::Tensor::zeros(
            (128, 784),
            candle_core::DType::U8,
            &candle_core::Device::Cpu,
        )
        .unwrap(),
    );
    candle_core::safetensors::save(&ints, &m).unwrap();
    let e = format!(
        "{:#}",
        import::load_float(&m, &Arch::Mlp, &d, 1).unwrap_err()
    );
    assert!(e.contains("float weights"), "{e}");
}
