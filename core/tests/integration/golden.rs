//! Property tests of the golden model (docs/semantics.md): the three
//! evaluators agree, and the soft-reset neuron is an exact quantizer.

use proptest::prelude::*;
use spikeslice_core::golden::{self, Engine, LayerOutput, MatmulLayer};
use spikeslice_core::neuron::{Dynamics, Reset};
use spikeslice_core::random::{self, Architecture};

/// Direct (the definition), bit-serial (Eq. 3, the hardware's order) and
/// packed (popcounts) agree on every spike, current and final membrane of
/// every layer of random MLPs and conv nets.
fn engines_agree_on(seed: u64, arch: Architecture) {
    let mut rng = random::rng(seed);
    let model = random::model(&mut rng, arch);
    let bits = model.spec.input.bits.get();
    let input = random::spikes(&mut rng, model.input_len(), bits, 0.6);
    let direct = golden::trace(&model, &input, Engine::Direct);
    let serial = golden::trace(&model, &input, Engine::BitSerial);
    let packed = golden::trace(&model, &input, Engine::Packed);
    assert_eq!(direct, serial, "bit-serial differs, seed {seed}");
    assert_eq!(direct, packed, "packed differs, seed {seed}");
    let out = golden::run_sample(&model, &input, Engine::Direct);
    assert_eq!(out, golden::run_sample(&model, &input, Engine::Packed));
    assert_eq!(
        out.readout,
        direct.layers.last().unwrap().membrane,
        "the readout is the last layer's final membrane"
    );
}

/// Both kernels of the packed evaluator (bit planes with popcounts, and
/// events) equal the direct currents on every layer, whichever the automatic
/// choice would pick.
fn kernels_agree_on(seed: u64, arch: Architecture) {
    let mut rng = random::rng(seed);
    let model = random::model(&mut rng, arch);
    let input = random::spikes(
        &mut rng,
        model.input_len(),
        model.spec.input.bits.get(),
        0.3,
    );
    let trace = golden::trace(&model, &input, Engine::Direct);
    let mut x = input;
    for (layer, tr) in model.layers.iter().zip(&trace.layers) {
        let packed = golden::PackedWeights::new(layer);
        let direct = layer.currents_direct(&x);
        assert_eq!(
            packed.currents_bit_planes(layer, &x),
            direct,
            "bit planes, seed {seed}"
        );
        if let Some(events) = packed.currents_events(layer, &x) {
            assert_eq!(events, direct, "events, seed {seed}");
        }
        if let Some(s) = tr.spikes.first() {
            x = s.clone();
        }
    }
}

/// One neuron with one binary input of weight +1 (b_w = 2), so that an input of
/// 1 adds one to the current and the rest of it is the bias.
fn one_neuron(
    bias: i32,
    threshold: i32,
    v_init: i32,
    dynamics: Dynamics,
    reset: Reset,
    spike_bits: u8,
) -> MatmulLayer {
    MatmulLayer {
        outputs: 1,
        inputs: 1,
        weights: vec![1],
        weight_bits: 2,
        input_bits: 1,
        neurons: golden::Neurons {
            bias: vec![bias],
            threshold: vec![threshold],
            v_init: vec![v_init],
            dynamics,
            reset,
            output: LayerOutput::Spikes { bits: spike_bits },
        },
    }
}

/// Merging groups (docs/architecture.md, "Merged groups") changes no spike,
/// current or membrane: every grouped layer of random conv nets (depthwise
/// convolutions and pools), merged by every divisor of its group count, on the
/// input the network gives it.
fn merged_groups_agree_on(seed: u64) -> usize {
    let mut rng = random::rng(seed);
    let model = random::model(&mut rng, Architecture::Conv);
    let bits = model.spec.input.bits.get();
    let input = random::spikes(&mut rng, model.input_len(), bits, 0.6);
    let trace = golden::trace(&model, &input, Engine::Direct);
    let mut inputs = vec![input; model.timesteps()];
    let mut merged_layers = 0;
    for (layer, out) in model.layers.iter().zip(&trace.layers) {
        let groups = layer.synapses.groups;
        for m in (2..=groups).filter(|m| groups % m == 0) {
            let merged = layer.merge_groups(m).expect("a divisor of the groups");
            assert_eq!(merged.synapses.groups, groups / m);
            assert_eq!(merged.synapses.fan_in, m * layer.synapses.fan_in);
            for engine in [Engine::Direct, Engine::Packed] {
                let got = merged.run(&inputs, engine);
                assert_eq!(&got, out, "{} merged by {m}, seed {seed}", layer.name);
            }
            merged_layers += 1;
        }
        assert!(layer.merge_groups(groups + 1).is_none());
        inputs = out.spikes.clone();
    }
    merged_layers
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    /// On random conv nets; at least some of them have grouped layers.
    #[test]
    fn merged_groups_agree(seeds in proptest::collection::vec(any::<u64>(), 32)) {
        let merged: usize = seeds.into_iter().map(merged_groups_agree_on).sum();
        prop_assert!(merged > 0, "no grouped layer in 32 random conv nets");
    }

    /// On an MLP and a conv net from every seed.
    #[test]
    fn packed_kernels_agree(seed in any::<u64>()) {
        for arch in [Architecture::Mlp, Architecture::Conv] {
            kernels_agree_on(seed, arch);
        }
    }

    /// On an MLP and a conv net from every seed.
    #[test]
    fn engines_agree(seed in any::<u64>()) {
        for arch in [Architecture::Mlp, Architecture::Conv] {
            engines_agree_on(seed, arch);
        }
    }

    /// Eq. 3 term by term: the current is `sum_j 2^j P_j + bias`, with `P_j`
    /// the mux-accumulate of slice j, for every width pair.
    #[test]
    fn bit_serial_identity(seed in any::<u64>(), bw in 1u8..=8, bs in 1u8..=8,
                           outputs in 1usize..12, inputs in 1usize..150) {
        let mut rng = random::rng(seed);
        let layer = random::matmul_layer(&mut rng, outputs, inputs, bw, bs, LayerOutput::Spikes { bits: 3 });
        let x = random::spikes(&mut rng, inputs, bs, 0.5);
        let direct: Vec<i64> = (0..outputs)
            .map(|o| (0..inputs).map(|k| i64::from(layer.weights[o * inputs + k]) * i64::from(x[k])).sum::<i64>()
                 + i64::from(layer.neurons.bias[o]))
            .collect();
        let mut serial: Vec<i64> = layer.neurons.bias.iter().map(|&b| i64::from(b)).collect();
        for j in 0..bs {
            for (acc, p) in serial.iter_mut().zip(layer.slice_partial_sums(&x, j)) {
                *acc += p << j;
            }
        }
        prop_assert_eq!(&direct, &serial);
        prop_assert_eq!(&layer.run(std::slice::from_ref(&x)).currents[0], &direct);
    }

    /// The identity behind the conversion papers: an IF neuron with
    /// `v_init = theta/2` and soft reset, fed a constant current `I` for `T`
    /// steps, emits in total `clamp(floor((theta/2 + T*I) / theta), 0, T*(2^b_s - 1))`.
    #[test]
    fn soft_reset_counts_are_a_quantizer(theta in 1i32..200, t in 1usize..=64, bs in 1u8..=8,
                                         current in -300i32..300) {
        let layer = one_neuron(current - 1, theta, theta / 2, Dynamics::If, Reset::Soft, bs);
        let trace = layer.run(&vec![vec![1u8]; t]);
        let total: i64 = trace.spikes.iter().map(|s| i64::from(s[0])).sum();
        let max = (t as i64) * ((1i64 << bs) - 1);
        let expected = (i64::from(theta / 2) + t as i64 * i64::from(current))
            .div_euclid(i64::from(theta))
            .clamp(0, max);
        prop_assert_eq!(total, expected);
    }
}

#[test]
fn hard_reset_differs_from_the_quantizer() {
    // theta = 10, I = 15: soft reset carries the residue (15, 20 -> 1, 2 spikes),
    // hard reset drops it (15 -> 1, then 15 -> 1).
    let spikes = |reset| -> Vec<u8> {
        let trace = one_neuron(14, 10, 0, Dynamics::If, reset, 4).run(&[vec![1u8], vec![1u8]]);
        trace.spikes.iter().map(|s| s[0]).collect()
    };
    assert_eq!(spikes(Reset::Soft), vec![1, 2]);
    assert_eq!(spikes(Reset::Hard), vec![1, 1]);
}

#[test]
fn lif_leaks_toward_zero() {
    // v_init = 64, no input, threshold above reach: 64 -> 48 -> 36 -> 27.
    let layer = one_neuron(0, 1000, 64, Dynamics::Lif { leak_shift: 2 }, Reset::Soft, 1);
    let trace = layer.run(&vec![vec![0u8]; 3]);
    assert_eq!(trace.membrane, vec![27]);
}

#[test]
fn batch_checks_inputs() {
    let mut rng = random::rng(7);
    let model = random::model(&mut rng, Architecture::Mlp);
    let n = model.input_len();
    let too_short = vec![vec![0u32; n + 1]];
    let e = golden::run_batch(&model, &too_short, Engine::Packed)
        .unwrap_err()
        .to_string();
    assert!(e.contains(&format!("has {} values", n + 1)), "{e}");
    let too_wide = vec![vec![256u32; n]];
    let e = golden::run_batch(&model, &too_wide, Engine::Packed)
        .unwrap_err()
        .to_string();
    assert!(e.contains("256") && e.contains("-bit input"), "{e}");
}
