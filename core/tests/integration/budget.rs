//! Bit-budget metrics and register widths against values worked out by hand.

use proptest::prelude::*;
use spikeslice_core::budget::budget;
use spikeslice_core::golden::{self, Engine};
use spikeslice_core::model::{parse_spec, Model, Tensor};
use spikeslice_core::random::{self, Architecture};
use spikeslice_core::widths::{self, AcceleratorWidths, Overflow, WidthError};
use std::collections::BTreeMap;
use std::path::Path;

fn model(spec: serde_json::Value, tensors: Vec<(&str, Tensor)>) -> Model {
    let spec = parse_spec(Path::new("test.json"), &serde_json::to_vec(&spec).unwrap()).unwrap();
    let tensors: BTreeMap<String, Tensor> = tensors
        .into_iter()
        .map(|(n, t)| (n.to_string(), t))
        .collect();
    Model::new(spec, tensors).unwrap()
}

/// A mixed-precision MLP: input [4] at 2 bits, T = 3; fc0 4->3 at b_w = 2
/// emitting 4-bit spikes; readout 3->2 at b_w = 4.
fn mixed_mlp() -> Model {
    model(
        serde_json::json!({
            "format": "spikeslice-model", "version": 1, "name": "mixed",
            "weights": "mixed.safetensors", "timesteps": 3,
            "input": {"shape": [4], "bits": 2},
            "layers": [
                {"type": "dense", "name": "fc0", "outputs": 3, "weight_bits": 2,
                 "neuron": {"spike_bits": 4}},
                {"type": "readout", "name": "out", "outputs": 2, "weight_bits": 4}
            ]
        }),
        vec![
            // neuron 0 sums everything, neuron 1 its negation, neuron 2 the first input.
            (
                "fc0.weight",
                Tensor::i8(vec![3, 4], vec![1, 1, 1, 1, -1, -1, -1, -1, 1, 0, 0, 0]),
            ),
            ("fc0.bias", Tensor::i32(vec![3], vec![0, 0, 0])),
            ("fc0.threshold", Tensor::i32(vec![3], vec![3, 3, 2])),
            ("fc0.v_init", Tensor::i32(vec![3], vec![0, 0, 0])),
            (
                "out.weight",
                Tensor::i8(vec![2, 3], vec![7, 0, 0, 0, 0, -7]),
            ),
            ("out.bias", Tensor::i32(vec![2], vec![0, 1])),
            ("out.v_init", Tensor::i32(vec![2], vec![0, 0])),
        ],
    )
}

#[test]
fn mixed_precision_mlp_by_hand() {
    let m = mixed_mlp();
    let b = budget(&m, None);
    // fc0: n = 3*4 = 12 MACs; BB = T*b_w*b_in = 3*2*2 = 12; S-ACE = 144;
    //      params = 12 weights + 3 biases = 15; weight memory = 12*2 = 24 bits.
    let fc0 = &b.layers[0];
    assert_eq!((fc0.macs, fc0.bit_budget, fc0.s_ace), (12, 12, 144));
    assert_eq!((fc0.params, fc0.weight_memory_bits), (15, 24));
    // out: n = 2*3 = 6; BB = 3*4*4 = 48 (it reads fc0's 4-bit spikes); S-ACE = 288;
    //      params = 6 + 2 = 8; weight memory = 6*4 = 24 bits.
    let out = &b.layers[1];
    assert_eq!((out.macs, out.bit_budget, out.s_ace), (6, 48, 288));
    assert_eq!((out.params, out.weight_memory_bits), (8, 24));
    assert_eq!(
        (b.macs, b.s_ace, b.params, b.weight_memory_bits),
        (18, 432, 23, 48)
    );
    assert_eq!(b.ns_ace, None);
}

#[test]
fn ns_ace_from_measured_firing_rates() {
    let m = mixed_mlp();
    // Input [1, 0, 2, 0] every step: 2 of 4 inputs non-zero, fr_in = 0.5.
    // fc0: neuron 0 gets I = 3 = theta, fires 1 each step (3 events);
    //      neuron 1 gets -3, never fires;
    //      neuron 2 gets I = 1, theta 2: v = 1, 2 -> spike, 1: 1 event.
    //      fr = 4 events / (3 neurons * 3 steps) = 4/9.
    // NS-ACE = 0.5*144 + 4/9*288 = 72 + 128 = 200.
    let outs = golden::run_batch(&m, &[vec![1, 0, 2, 0]], Engine::Packed).unwrap();
    // Readout: out 0 = 7 * (1+1+1) spikes of neuron 0 = 21;
    //         out 1 = -7 * 1 spike of neuron 2 + bias 1 per step * 3 = -4.
    assert_eq!(outs[0].readout, vec![21, -4]);
    let b = budget(&m, Some(&outs));
    assert_eq!(b.layers[0].input_firing_rate, Some(0.5));
    assert!((b.layers[1].input_firing_rate.unwrap() - 4.0 / 9.0).abs() < 1e-12);
    assert!((b.layers[0].ns_ace.unwrap() - 72.0).abs() < 1e-9);
    assert!((b.layers[1].ns_ace.unwrap() - 128.0).abs() < 1e-9);
    assert!((b.ns_ace.unwrap() - 200.0).abs() < 1e-9);
    assert_eq!(b.samples, 1);
}

#[test]
fn conv_pool_net_by_hand() {
    // Input 1x5x5 at 8 bits, T = 2. conv 1->2, 3x3, stride 1, no padding -> 2x3x3
    // at b_w = 3, 2-bit spikes; sum pool 2x2 stride 1 -> 2x2x2, 3-bit spikes;
    // flatten 8; readout 8->10 at b_w = 2.
    let m = model(
        serde_json::json!({
            "format": "spikeslice-model", "version": 1, "name": "convpool",
            "weights": "w.safetensors", "timesteps": 2,
            "input": {"shape": [1, 5, 5], "bits": 8},
            "layers": [
                {"type": "conv2d", "name": "c", "out_channels": 2, "kernel": [3, 3], "weight_bits": 3,
                 "neuron": {"spike_bits": 2, "reset": "hard"}},
                {"type": "pool", "name": "p", "mode": "sum", "kernel": 2, "stride": 1, "threshold": 2,
                 "neuron": {"spike_bits": 3}},
                {"type": "flatten", "name": "f"},
                {"type": "readout", "name": "r", "outputs": 10, "weight_bits": 2}
            ]
        }),
        vec![
            ("c.weight", Tensor::i8(vec![2, 1, 3, 3], vec![1; 18])),
            ("c.bias", Tensor::i32(vec![2], vec![0, 0])),
            ("c.threshold", Tensor::i32(vec![2], vec![100, 100])),
            ("c.v_init", Tensor::i32(vec![2], vec![0, 0])),
            ("r.weight", Tensor::i8(vec![10, 8], vec![1; 80])),
            ("r.bias", Tensor::i32(vec![10], vec![0; 10])),
            ("r.v_init", Tensor::i32(vec![10], vec![0; 10])),
        ],
    );
    let b = budget(&m, None);
    // conv: n = 2 channels * 9 positions * 9 taps = 162; BB = 2*3*8 = 48; S-ACE = 7776.
    assert_eq!(
        (b.layers[0].macs, b.layers[0].bit_budget, b.layers[0].s_ace),
        (162, 48, 7776)
    );
    assert_eq!(
        (b.layers[0].params, b.layers[0].weight_memory_bits),
        (20, 54)
    );
    // pool: n = 2 * 4 * 4 = 32 at b_w = 1 reading 2-bit spikes: BB = 2*1*2 = 4; S-ACE = 128; no params.
    assert_eq!(
        (b.layers[1].macs, b.layers[1].bit_budget, b.layers[1].s_ace),
        (32, 4, 128)
    );
    assert_eq!((b.layers[1].params, b.layers[1].kind.as_str()), (0, "pool"));
    // readout: n = 80; BB = 2*2*3 = 12; S-ACE = 960; params 90, memory 160 bits.
    assert_eq!(
        (b.layers[2].macs, b.layers[2].bit_budget, b.layers[2].s_ace),
        (80, 12, 960)
    );
    assert_eq!((b.s_ace, b.params, b.weight_memory_bits), (8864, 110, 214));
}

/// A one-layer model with weights [3, -2, 1] at b_w = 3, 2-bit input (max 3),
/// bias 5, v_init 4, threshold 10, T = 4.
fn width_model() -> Model {
    model(
        serde_json::json!({
            "format": "spikeslice-model", "version": 1, "name": "w", "weights": "w.safetensors",
            "timesteps": 4, "input": {"shape": [3], "bits": 2},
            "layers": [{"type": "dense", "name": "d", "outputs": 1, "weight_bits": 3,
                        "neuron": {"spike_bits": 1}},
                       {"type": "readout", "name": "r", "outputs": 1, "weight_bits": 1}]
        }),
        vec![
            ("d.weight", Tensor::i8(vec![1, 3], vec![3, -2, 1])),
            ("d.bias", Tensor::i32(vec![1], vec![5])),
            ("d.threshold", Tensor::i32(vec![1], vec![10])),
            ("d.v_init", Tensor::i32(vec![1], vec![4])),
            ("r.weight", Tensor::i8(vec![1, 1], vec![1])),
            ("r.bias", Tensor::i32(vec![1], vec![0])),
            ("r.v_init", Tensor::i32(vec![1], vec![0])),
        ],
    )
}

#[test]
fn widths_by_hand() {
    let m = width_model();
    // Slice sums lie in [-2, 4]: 4 signed bits (-8..=7).
    // Current: [-2*3 + 5, 4*3 + 5] = [-1, 17].
    // Membrane: low min(-1, min(4,0) + 4*(-1)) = -4; high max(17, 4 + 4*17) = 72.
    // [-4, 72] needs 8 signed bits.
    let need = widths::check(
        &m,
        AcceleratorWidths {
            acc_bits: 4,
            membrane_bits: 8,
        },
    )
    .unwrap();
    assert_eq!((need[0].acc_bits, need[0].membrane_bits), (4, 8));
    assert_eq!(
        (need[0].acc_range, need[0].membrane_range),
        ((-2, 4), (-4, 72))
    );

    let e = widths::check(
        &m,
        AcceleratorWidths {
            acc_bits: 3,
            membrane_bits: 8,
        },
    )
    .unwrap_err();
    assert!(matches!(
        &e,
        WidthError::Accumulator(Overflow {
            needed: 4,
            have: 3,
            ..
        })
    ));
    let msg = e.to_string();
    assert!(
        msg.contains("layer d") && msg.contains("--acc-bits 4"),
        "{msg}"
    );

    let e = widths::check(
        &m,
        AcceleratorWidths {
            acc_bits: 4,
            membrane_bits: 7,
        },
    )
    .unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("layer d") && msg.contains("[-4, 72]") && msg.contains("--membrane-bits 8"),
        "{msg}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// The bounds are true bounds: no value the golden model computes leaves them.
    #[test]
    fn golden_values_stay_within_required_widths(seed in any::<u64>(), conv in any::<bool>()) {
        let mut rng = random::rng(seed);
        let m = random::model(&mut rng, if conv { Architecture::Conv } else { Architecture::Mlp });
        let x = random::spikes(&mut rng, m.input_len(), m.spec.input.bits.get(), 0.9);
        let trace = golden::trace(&m, &x, Engine::Direct);
        let mut spikes = vec![x; m.timesteps()];
        for (layer, tr) in m.layers.iter().zip(&trace.layers) {
            let req = layer.required_widths(m.timesteps());
            let (lo, hi) = req.membrane_range;
            for c in tr.currents.iter().flatten().chain(&tr.membrane) {
                prop_assert!((lo..=hi).contains(c), "{} outside [{lo}, {hi}] in {}", c, layer.name);
            }
            for s in &spikes {
                for j in 0..layer.input_bits.get() {
                    for p in layer.slice_partial_sums(s, j) {
                        prop_assert!((req.acc_range.0..=req.acc_range.1).contains(&p));
                    }
                }
            }
            spikes = tr.spikes.clone();
        }
    }
}
