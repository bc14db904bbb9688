//! Residual graphs (docs/semantics.md §2, "Shortcuts" and "Add";
//! docs/model-format.md, "Graphs"): the three evaluators agree on random
//! residual networks, an add emits the sum of its inputs, a shortcut adds its
//! spikes times its weight to the current, the width bounds and the budget
//! count the shortcut, and a bad graph is refused naming the layer.

use proptest::prelude::*;
use spikeslice_core::budget;
use spikeslice_core::golden::{self, Engine};
use spikeslice_core::model::{
    InputSpec, LayerSpec, Model, ModelSpec, NeuronSpec, Source, Tensor, FORMAT, VERSION,
};
use spikeslice_core::neuron::Reset;
use spikeslice_core::numeric::{SpikeBits, Timesteps, WeightBits};
use spikeslice_core::random;
use std::collections::BTreeMap;

fn sample(seed: u64) -> (Model, Vec<u8>) {
    let mut rng = random::rng(seed);
    let model = random::residual_model(&mut rng);
    let x = random::spikes(
        &mut rng,
        model.input_len(),
        model.spec.input.bits.get(),
        0.7,
    );
    (model, x)
}

/// The spike trains of every layer of a trace, and of the input.
fn spikes_of(model: &Model, trace: &golden::NetworkTrace, x: &[u8], s: Source) -> Vec<Vec<u8>> {
    match s {
        Source::Input => vec![x.to_vec(); model.timesteps()],
        Source::Layer(j) => trace.layers[j].spikes.clone(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Direct, bit-serial and packed agree on every layer of random residual
    /// networks, and the readout is the last layer's membrane.
    #[test]
    fn engines_agree_on_residual_networks(seed in any::<u64>()) {
        let (model, x) = sample(seed);
        prop_assert!(!model.is_chain());
        let direct = golden::trace(&model, &x, Engine::Direct);
        prop_assert_eq!(&direct, &golden::trace(&model, &x, Engine::BitSerial));
        prop_assert_eq!(&direct, &golden::trace(&model, &x, Engine::Packed));
        let out = golden::run_sample(&model, &x, Engine::Packed);
        prop_assert_eq!(&out.readout, &direct.layers.last().unwrap().membrane);
    }

    /// An add emits exactly the sum of its two inputs at every step; a
    /// shortcut's layer integrates its synapses' current plus `weight * s`.
    #[test]
    fn adds_sum_and_shortcuts_add_to_the_current(seed in any::<u64>()) {
        let (model, x) = sample(seed);
        let trace = golden::trace(&model, &x, Engine::Direct);
        for (i, (layer, wiring)) in model.layers.iter().zip(&model.wiring).enumerate() {
            let Some(sc) = wiring.shortcut else { continue };
            let input = spikes_of(&model, &trace, &x, wiring.input);
            let shortcut = spikes_of(&model, &trace, &x, sc.from);
            let kind = model.spec_of(layer).unwrap().kind();
            for t in 0..model.timesteps() {
                if kind == "add" {
                    let sum: Vec<u8> = input[t].iter().zip(&shortcut[t]).map(|(a, b)| a + b).collect();
                    prop_assert_eq!(&trace.layers[i].spikes[t], &sum, "{} at t = {}", layer.name, t);
                } else {
                    let own = layer.currents_direct(&input[t]);
                    for (n, (&c, &s)) in trace.layers[i].currents[t].iter().zip(&shortcut[t]).enumerate() {
                        prop_assert_eq!(c, own[n] + i64::from(sc.weight) * i64::from(s));
                    }
                }
            }
        }
    }

    /// The width bounds include the shortcut's term: no current or membrane
    /// the golden model computes leaves them.
    #[test]
    fn residual_values_stay_within_required_widths(seed in any::<u64>()) {
        let (model, x) = sample(seed);
        let trace = golden::trace(&model, &x, Engine::Direct);
        for ((layer, wiring), tr) in model.layers.iter().zip(&model.wiring).zip(&trace.layers) {
            let (lo, hi) = layer
                .required_widths_with(model.timesteps(), wiring.shortcut_range())
                .membrane_range;
            for c in tr.currents.iter().flatten().chain(&tr.membrane) {
                prop_assert!((lo..=hi).contains(c), "{} outside [{}, {}] in {}", c, lo, hi, layer.name);
            }
        }
    }
}

/// S-ACE counts a shortcut as one addition per neuron at `T * b_w * b_s` of
/// the shortcut's spikes, on top of the synapses' `n * BB`.
#[test]
fn the_budget_counts_the_shortcut() {
    for seed in 0..16 {
        let (model, _) = sample(seed);
        let b = budget::budget(&model, None);
        let t = model.timesteps() as u64;
        let mut expected = 0;
        for (l, w) in model.layers.iter().zip(&model.wiring) {
            let bw = u64::from(l.weight_bits.get());
            expected += l.synapses.macs() * t * bw * u64::from(l.input_bits.get());
            if let Some(sc) = w.shortcut {
                expected += l.neurons() as u64 * t * bw * u64::from(sc.bits.get());
            }
        }
        assert_eq!(b.s_ace, expected, "seed {seed}");
        assert!(b.layers.iter().any(|l| l.shortcut_adds > 0), "seed {seed}");
    }
}

// ---- hand-built graphs for the refusals ----

fn neuron(bits: u32) -> NeuronSpec {
    NeuronSpec {
        spike_bits: SpikeBits::new(bits).unwrap(),
        reset: Reset::Soft,
        leak_shift: None,
    }
}

/// A 1x1 conv `c_in -> c_out` with weights 1 and its tensors.
fn conv(
    tensors: &mut BTreeMap<String, Tensor>,
    name: &str,
    inputs: &[&str],
    (c_in, c_out): (usize, usize),
    bits: u32,
) -> LayerSpec {
    tensors.insert(
        format!("{name}.weight"),
        Tensor::i8(vec![c_out, c_in, 1, 1], vec![1; c_out * c_in]),
    );
    for (t, v) in [("bias", 0), ("v_init", 0), ("threshold", 1)] {
        tensors.insert(
            format!("{name}.{t}"),
            Tensor::i32(vec![c_out], vec![v; c_out]),
        );
    }
    LayerSpec::Conv2d {
        name: name.into(),
        inputs: inputs.iter().map(|s| s.to_string()).collect(),
        out_channels: c_out,
        kernel: [1, 1],
        stride: [1, 1],
        padding: [0, 0],
        groups: 1,
        weight_bits: WeightBits::new(2).unwrap(),
        neuron: neuron(bits),
        shortcut_weight: None,
    }
}

/// stem (2 ch) -> a (2 ch) -> add(a, stem) -> flatten -> readout, on a
/// [1, 2, 2] input; `edit` changes the layers before the model is built.
fn graph(
    edit: impl FnOnce(&mut Vec<LayerSpec>, &mut BTreeMap<String, Tensor>),
) -> Result<Model, String> {
    let mut t = BTreeMap::new();
    let mut layers = vec![
        conv(&mut t, "stem", &[], (1, 2), 2),
        conv(&mut t, "a", &[], (2, 2), 2),
        LayerSpec::Add {
            name: "sum".into(),
            inputs: vec!["a".into(), "stem".into()],
        },
        LayerSpec::Flatten {
            name: "flat".into(),
            inputs: Vec::new(),
        },
    ];
    t.insert("readout.weight".into(), Tensor::i8(vec![3, 8], vec![1; 24]));
    for n in ["bias", "v_init"] {
        t.insert(format!("readout.{n}"), Tensor::i32(vec![3], vec![0; 3]));
    }
    layers.push(LayerSpec::Readout {
        name: "readout".into(),
        inputs: Vec::new(),
        outputs: 3,
        weight_bits: WeightBits::new(2).unwrap(),
        leak_shift: None,
        shortcut_weight: None,
    });
    edit(&mut layers, &mut t);
    let spec = ModelSpec {
        format: FORMAT.into(),
        version: VERSION,
        name: "graph".into(),
        weights: "graph.safetensors".into(),
        timesteps: Timesteps::new(3).unwrap(),
        input: InputSpec {
            shape: vec![1, 2, 2],
            bits: SpikeBits::new(2).unwrap(),
        },
        layers,
    };
    Model::new(spec, t).map_err(|e| e.to_string())
}

fn set_inputs(layers: &mut [LayerSpec], name: &str, to: &[&str]) {
    let l = layers.iter_mut().find(|l| l.name() == name).unwrap();
    *l.inputs_mut() = to.iter().map(|s| s.to_string()).collect();
}

fn refused(edit: impl FnOnce(&mut Vec<LayerSpec>, &mut BTreeMap<String, Tensor>), want: &[&str]) {
    let e = graph(edit).expect_err("the graph must be refused");
    for w in want {
        assert!(e.contains(w), "{e:?} lacks {w:?}");
    }
}

#[test]
fn the_base_graph_is_valid_and_its_add_is_three_bits() {
    let m = graph(|_, _| ()).unwrap();
    assert!(!m.is_chain());
    let add = &m.layers[2];
    assert_eq!(add.neurons.output, golden::LayerOutput::Spikes { bits: 3 });
    assert_eq!(m.wiring[2].shortcut.unwrap().from, Source::Layer(0));
    assert_eq!(m.wiring[2].input, Source::Layer(1));
}

#[test]
fn bad_graphs_are_refused_naming_the_layer_and_the_fix() {
    // A cycle: a layer reads one that comes after it, or itself.
    refused(
        |l, _| set_inputs(l, "a", &["sum"]),
        &["layer a", "\"sum\", which comes after it", "cycle"],
    );
    refused(
        |l, _| set_inputs(l, "a", &["a"]),
        &["layer a", "the layer itself", "cycle"],
    );
    // A dangling input: a typo gets a suggestion, a name far from any does not.
    refused(
        |l, _| set_inputs(l, "sum", &["a", "stme"]),
        &["layer sum", "did you mean \"stem\""],
    );
    refused(
        |l, _| set_inputs(l, "a", &["nowhere_near"]),
        &["layer a", "no layer before it", "\"input\""],
    );
    // An add of two shapes.
    refused(
        |l, t| {
            l[1] = conv(t, "a", &[], (2, 3), 2);
        },
        &["layer sum", "[3, 2, 2]", "[2, 2, 2]", "one shape"],
    );
    // An add that needs more than 8 bits.
    refused(
        |l, t| {
            l[0] = conv(t, "stem", &[], (1, 2), 8);
        },
        &["layer sum", "needs 9 bits", "spike_bits"],
    );
    // Inputs in the wrong number for the kind.
    refused(
        |l, _| set_inputs(l, "sum", &["a"]),
        &["layer sum", "exactly two"],
    );
    refused(
        |l, _| set_inputs(l, "flat", &["sum", "a"]),
        &["layer flat", "at most one"],
    );
    // An output nobody reads.
    refused(
        |l, _| set_inputs(l, "flat", &["a"]),
        &["layer sum", "no layer reads its output"],
    );
    // A shortcut of the wrong shape, or a weight outside b_w.
    refused(
        |l, t| {
            l[1] = conv(t, "a", &["stem", "input"], (2, 2), 2);
        },
        &[
            "layer a",
            "shortcut \"input\" is [1, 2, 2]",
            "output [2, 2, 2]",
        ],
    );
    refused(
        |l, t| {
            l[1] = conv(t, "a", &["stem", "stem"], (2, 2), 2);
            if let LayerSpec::Conv2d {
                shortcut_weight, ..
            } = &mut l[1]
            {
                *shortcut_weight = Some(2);
            }
        },
        &["layer a", "shortcut_weight = 2", "[-1, 1]"],
    );
    refused(
        |l, _| {
            if let LayerSpec::Conv2d {
                shortcut_weight, ..
            } = &mut l[1]
            {
                *shortcut_weight = Some(1);
            }
        },
        &["layer a", "names no shortcut"],
    );
    // `input` is reserved.
    refused(
        |l, t| {
            l[1] = conv(t, "input", &[], (2, 2), 2);
            set_inputs(l, "sum", &["input", "stem"]);
        },
        &["layer input", "rename"],
    );
}

/// A graph round-trips through its JSON: `inputs` and the add survive, and a
/// chain's JSON has no `inputs` at all (files of chains are unchanged).
#[test]
fn graphs_round_trip_and_chains_keep_their_json() {
    let m = graph(|_, _| ()).unwrap();
    let json = serde_json::to_string(&m.spec).unwrap();
    assert!(json.contains("\"type\":\"add\"") && json.contains("\"inputs\":[\"a\",\"stem\"]"));
    let back: ModelSpec = serde_json::from_str(&json).unwrap();
    assert_eq!(back, m.spec);
    let chain = random::model(&mut random::rng(1), random::Architecture::Conv);
    assert!(chain.is_chain());
    assert!(!serde_json::to_string(&chain.spec)
        .unwrap()
        .contains("inputs"));
}
