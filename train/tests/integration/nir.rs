//! `spikeslice import --nir`: the fixtures of scripts/nir-fixtures.py, written
//! by the reference `nir` package. Imported networks are checked spike for
//! spike against a float evaluation of NIR's own equations on the file's
//! weights; every refusal is checked for the node and the reason it names.

use proptest::prelude::*;
use spikeslice_core::golden::{self, Engine};
use spikeslice_core::model::LayerSpec;
use spikeslice_train::alloc::Allocation;
use spikeslice_train::nir::read::{self, Field, RawGraph};
use spikeslice_train::nir::{self, ImportOptions, NirReset};
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/nir")
        .join(format!("{name}.nir"))
}

fn options(alloc: &str) -> ImportOptions {
    ImportOptions {
        alloc: alloc.parse::<Allocation>().unwrap(),
        input_bits: 2,
        input_scale: 1.0,
        dt: 1e-3,
        reset: NirReset::Zero,
        name: "fixture".into(),
    }
}

fn numbers(g: &RawGraph, node: &str, field: &str) -> (Vec<usize>, Vec<f64>) {
    match &g.nodes[node].fields[field] {
        Field::Numbers(a) => (a.shape.clone(), a.values.clone()),
        other => panic!("{node}.{field} is {other:?}"),
    }
}

/// NIR's Affine: `W x + b`.
fn affine(g: &RawGraph, node: &str, x: &[f64]) -> Vec<f64> {
    let (ws, w) = numbers(g, node, "weight");
    let (_, b) = numbers(g, node, "bias");
    (0..ws[0])
        .map(|o| b[o] + (0..ws[1]).map(|k| w[o * ws[1] + k] * x[k]).sum::<f64>())
        .collect()
}

/// One step of NIR's IF with r = 1, resetting to zero: `v += I`, a spike
/// where `v > v_th`.
fn if_step(v: &mut [f64], current: &[f64], th: &[f64]) -> Vec<u8> {
    let mut s = vec![0u8; current.len()];
    for i in 0..current.len() {
        v[i] += current[i];
        if v[i] > th[i] {
            s[i] = 1;
            v[i] = 0.0;
        }
    }
    s
}

/// NIR's equations in floats, on a chain of Affine, Conv2d (stride 1), Scale,
/// IF (reset to zero, fire at `v > v_th`), SumPool2d, AvgPool2d (2x2) and
/// Flatten: each IF's spike
/// trains, and the last layer's current summed over time and divided by its
/// threshold (what the imported readout ranks).
fn float_reference(
    g: &RawGraph,
    order: &[String],
    x: &[f64],
    t: usize,
) -> (Vec<Vec<Vec<u8>>>, Vec<f64>) {
    let mut trains = Vec::new();
    let mut last_current = Vec::new();
    let mut membranes: Vec<Vec<f64>> = Vec::new();
    // Per IF: its current over threshold, summed over time.
    let mut ranks: Vec<Vec<f64>> = Vec::new();
    let mut direct = Vec::new();
    for _ in 0..t {
        let mut v = x.to_vec();
        let mut shape: Vec<usize> = numbers(g, &order[0], "shape")
            .1
            .iter()
            .map(|&d| d as usize)
            .collect();
        let mut neuron = 0;
        for name in &order[1..] {
            match g.nodes[name].kind.as_str() {
                "Affine" => {
                    v = affine(g, name, &v);
                    shape = vec![v.len()];
                    last_current.clone_from(&v);
                }
                "Conv2d" => {
                    let (ws, w) = numbers(g, name, "weight");
                    let (_, pad) = numbers(g, name, "padding");
                    let (o, c, kh, kw) = (ws[0], ws[1], ws[2], ws[3]);
                    let (h, wd, p) = (shape[1], shape[2], pad[0] as isize);
                    let mut out = vec![0.0; o * h * wd];
                    for (oc, y, xx) in itertools3(o, h, wd) {
                        let mut acc = 0.0;
                        for (ic, i, j) in itertools3(c, kh, kw) {
                            let (yy, xi) =
                                (y as isize + i as isize - p, xx as isize + j as isize - p);
                            if yy >= 0 && xi >= 0 && (yy as usize) < h && (xi as usize) < wd {
                                acc += w[((oc * c + ic) * kh + i) * kw + j]
                                    * v[(ic * h + yy as usize) * wd + xi as usize];
                            }
                        }
                        out[(oc * h + y) * wd + xx] = acc;
                    }
                    v = out;
                    shape = vec![o, h, wd];
                    last_current.clone_from(&v);
                }
                "IF" => {
                    let (_, th) = numbers(g, name, "v_threshold");
                    if membranes.len() <= neuron {
                        membranes.push(vec![0.0; v.len()]);
                        ranks.push(vec![0.0; v.len()]);
                        trains.push(Vec::new());
                    }
                    let s = if_step(&mut membranes[neuron], &v, &th);
                    for i in 0..v.len() {
                        ranks[neuron][i] += last_current[i] / th[i];
                    }
                    trains[neuron].push(s.clone());
                    v = s.iter().map(|&s| f64::from(s)).collect();
                    neuron += 1;
                }
                "Scale" => {
                    let (_, f) = numbers(g, name, "scale");
                    let per = v.len() / f.len();
                    for (i, x) in v.iter_mut().enumerate() {
                        *x *= f[i / per];
                    }
                    last_current.clone_from(&v);
                }
                "SumPool2d" | "AvgPool2d" => {
                    let div = if g.nodes[name].kind == "AvgPool2d" {
                        4.0
                    } else {
                        1.0
                    };
                    let (c, h, wd) = (shape[0], shape[1] / 2, shape[2] / 2);
                    let src = v.clone();
                    v = itertools3(c, h, wd)
                        .map(|(ch, y, xx)| {
                            itertools3(1, 2, 2)
                                .map(|(_, i, j)| {
                                    src[(ch * shape[1] + 2 * y + i) * shape[2] + 2 * xx + j]
                                })
                                .sum::<f64>()
                                / div
                        })
                        .collect();
                    shape = vec![c, h, wd];
                }
                "Flatten" => shape = vec![v.len()],
                "Output" => {
                    if g.nodes[&order[order.len() - 2]].kind != "IF" {
                        // An Affine straight into the output: its current.
                        direct.resize(v.len(), 0.0);
                        for i in 0..v.len() {
                            direct[i] += v[i];
                        }
                    }
                }
                other => panic!("the reference does not evaluate {other}"),
            }
        }
    }
    let ranked = if direct.is_empty() {
        ranks.pop().unwrap_or_default()
    } else {
        direct
    };
    (trains, ranked)
}

fn itertools3(a: usize, b: usize, c: usize) -> impl Iterator<Item = (usize, usize, usize)> {
    (0..a).flat_map(move |i| (0..b).flat_map(move |j| (0..c).map(move |k| (i, j, k))))
}

/// The spiking layers of a golden trace, and the readout's membranes.
fn golden_run(model: &spikeslice_core::model::Model, x: &[u8]) -> (Vec<Vec<Vec<u8>>>, Vec<i64>) {
    let trace = golden::trace(model, x, Engine::Direct);
    let mut spiking = Vec::new();
    for (layer, tr) in model.layers.iter().zip(&trace.layers) {
        if let Some(LayerSpec::Dense { .. } | LayerSpec::Conv2d { .. }) = model.spec_of(layer) {
            spiking.push(tr.spikes.clone());
        }
    }
    let readout = trace.layers.last().unwrap().membrane.clone();
    (spiking, readout)
}

/// Same order of magnitude and the same ranking: the readout is the float
/// ranking in integer units.
fn assert_same_ranking(readout: &[i64], ranked: &[f64]) {
    assert_eq!(readout.len(), ranked.len());
    let top = ranked.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let itop = readout.iter().map(|v| v.abs()).max().unwrap_or(0) as f64;
    if top == 0.0 {
        assert_eq!(itop, 0.0);
        return;
    }
    let unit = top / itop;
    for (r, f) in readout.iter().zip(ranked) {
        assert!(
            (*r as f64 * unit - f).abs() <= 1e-9 * top,
            "readout {readout:?} against {ranked:?}"
        );
    }
}

fn check_against_reference(name: &str, alloc: &str, x: &[u8], input_scale: f64) {
    let path = fixture(name);
    let mut opts = options(alloc);
    opts.input_scale = input_scale;
    let imported = nir::import(&path, &opts).unwrap();
    let raw = read::read(&path).unwrap();
    let order = nir::graph::order(&raw).unwrap().nodes;
    let xf: Vec<f64> = x.iter().map(|&v| f64::from(v) * input_scale).collect();
    let (trains, ranked) = float_reference(&raw, &order, &xf, opts.alloc.t as usize);
    let (spiking, readout) = golden_run(&imported.model, x);
    // A last IF becomes the readout; every other IF is a spiking layer.
    let last_spikes = raw.nodes[&order[order.len() - 2]].kind == "IF";
    assert_eq!(spiking.len() + usize::from(last_spikes), trains.len());
    for (i, (g, f)) in spiking.iter().zip(&trains).enumerate() {
        assert_eq!(
            g, f,
            "{name}: spiking layer {i} differs from NIR's equations"
        );
    }
    assert_same_ranking(&readout, &ranked);
}

/// NIR's equations in floats on a graph of Affine and IF nodes (reset to
/// zero, fire at `v > v_th`, r = 1), where a node's input is the sum of its
/// inputs' outputs: each IF's spike train by node name, and the Output's
/// input summed over time (the readout's current).
fn graph_reference(
    g: &RawGraph,
    order: &nir::graph::Order,
    x: &[f64],
    t: usize,
) -> (std::collections::BTreeMap<String, Vec<Vec<u8>>>, Vec<f64>) {
    use std::collections::BTreeMap;
    let mut membranes: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    let mut trains: BTreeMap<String, Vec<Vec<u8>>> = BTreeMap::new();
    let mut out = Vec::new();
    for _ in 0..t {
        let mut value: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
        for name in &order.nodes {
            let summed = || -> Vec<f64> {
                let mut acc: Vec<f64> = Vec::new();
                for p in order.preds(name) {
                    let v = &value[p.as_str()];
                    acc.resize(v.len(), 0.0);
                    acc.iter_mut().zip(v).for_each(|(a, b)| *a += b);
                }
                acc
            };
            let v = match g.nodes[name].kind.as_str() {
                "Input" => x.to_vec(),
                "Affine" => affine(g, name, &summed()),
                "IF" => {
                    let (_, th) = numbers(g, name, "v_threshold");
                    let i = summed();
                    let m = membranes.entry(name).or_insert_with(|| vec![0.0; i.len()]);
                    let s = if_step(m, &i, &th);
                    trains.entry(name.clone()).or_default().push(s.clone());
                    s.iter().map(|&b| f64::from(b)).collect()
                }
                "Output" => {
                    let i = summed();
                    out.resize(i.len(), 0.0);
                    out.iter_mut().zip(&i).for_each(|(a, b)| *a += b);
                    i
                }
                other => panic!("the graph reference does not evaluate {other}"),
            };
            value.insert(name, v);
        }
    }
    (trains, out)
}

/// The residual fixtures: each IF's spikes equal the imported layer's (named
/// after its Affine), and the readout ranks as NIR's output current does.
fn check_residual(name: &str, x: &[u8], t: u32, input_scale: f64) -> spikeslice_core::model::Model {
    let path = fixture(name);
    let mut opts = options(&format!("4/1/{t}"));
    opts.input_scale = input_scale;
    let model = nir::import(&path, &opts).unwrap().model;
    let raw = read::read(&path).unwrap();
    let order = nir::graph::order(&raw).unwrap();
    let xf: Vec<f64> = x.iter().map(|&v| f64::from(v) * input_scale).collect();
    let (trains, out) = graph_reference(&raw, &order, &xf, t as usize);
    let trace = golden::trace(&model, x, Engine::Direct);
    for (node, train) in &trains {
        let affine = &order
            .preds(node)
            .iter()
            .find(|p| raw.nodes[*p].kind == "Affine")
            .unwrap();
        let i = model
            .layers
            .iter()
            .position(|l| &l.name == *affine)
            .unwrap();
        assert_eq!(
            &trace.layers[i].spikes, train,
            "{name}: {node} differs from NIR's equations"
        );
    }
    assert_same_ranking(&trace.layers.last().unwrap().membrane, &out);
    model
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// A NIR node summing two inputs imports as a residual block: the stem's
    /// spikes added to the second IF's current (Spiking ResNet, a shortcut of
    /// weight 4 at the 1/4 step of its weights), or summed with the block's
    /// spikes by an add before the readout (SEW-ResNet); both spike where NIR's
    /// equations do.
    #[test]
    fn residual_blocks_import_and_spike_where_nirs_equations_do(
        x in prop::collection::vec(0u8..=3, 8),
        t in 1u32..=6,
        scale in prop::sample::select(vec![0.25, 0.5, 1.0]),
    ) {
        let m = check_residual("resnet-spiking", &x, t, scale);
        let fc2 = m.spec.layers.iter().find(|l| l.name() == "fc2").unwrap();
        prop_assert_eq!(fc2.inputs(), ["fc1".to_string(), "fc0".to_string()]);
        match fc2 {
            LayerSpec::Dense { shortcut_weight, .. } => prop_assert_eq!(*shortcut_weight, Some(4)),
            other => prop_assert!(false, "{:?}", other),
        }
        let m = check_residual("resnet-sew", &x, t, scale);
        let kinds: Vec<&str> = m.spec.layers.iter().map(|l| l.kind()).collect();
        prop_assert_eq!(kinds, ["dense", "dense", "dense", "add", "readout"]);
    }

    /// Weights on a 1/8 grid with 7/8 present are exact at b_w = 4, and so
    /// are power-of-two input scales, so the imported MLP spikes exactly where
    /// NIR's IF does, every timestep.
    #[test]
    fn an_imported_mlp_spikes_where_nirs_equations_do(
        x in prop::collection::vec(0u8..=3, 16),
        t in 1u32..=8,
        scale in prop::sample::select(vec![0.25, 0.5, 1.0, 2.0]),
    ) {
        check_against_reference("mlp-if", &format!("4/1/{t}"), &x, scale);
    }

    /// The same for a conv net with sum pooling (the Sinabs CNN's shape):
    /// the pooling layer passes the window's spike count through exactly.
    #[test]
    fn an_imported_cnn_spikes_where_nirs_equations_do(
        x in prop::collection::vec(0u8..=3, 128),
        t in 1u32..=4,
        scale in prop::sample::select(vec![0.25, 0.5, 1.0, 2.0]),
    ) {
        check_against_reference("cnn-sumpool", &format!("4/1/{t}"), &x, scale);
    }

    /// A Scale folded into the conv's weights and an average pool's 1/4
    /// carried into the next layer's unit: both exact for powers of two.
    #[test]
    fn scales_and_average_pools_import_exactly(
        x in prop::collection::vec(0u8..=3, 32),
        t in 1u32..=4,
        scale in prop::sample::select(vec![0.5, 1.0]),
    ) {
        check_against_reference("scale-avgpool", &format!("4/1/{t}"), &x, scale);
    }
}

#[test]
fn the_cnns_layers_are_what_the_graph_says() {
    let m = nir::import(&fixture("cnn-sumpool"), &options("4/1/4"))
        .unwrap()
        .model;
    let kinds: Vec<&str> = m.spec.layers.iter().map(|l| l.kind()).collect();
    assert_eq!(kinds, ["conv2d", "pool", "flatten", "dense", "readout"]);
    match &m.spec.layers[1] {
        LayerSpec::Pool {
            kernel,
            stride,
            threshold,
            neuron,
            ..
        } => {
            assert_eq!((*kernel, *stride, *threshold), (2, 2, 1));
            // A window of four binary spikes sums to at most 4: three bits.
            assert_eq!(neuron.spike_bits.get(), 3);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(m.input_len(), 2 * 8 * 8);
    assert_eq!(m.classes(), 3);
}

#[test]
fn lif_and_li_take_their_leak_from_tau_over_dt() {
    let m = nir::import(&fixture("lif-li"), &options("4/2/4"))
        .unwrap()
        .model;
    // tau 4 ms and 8 ms at dt = 1 ms: v >> 2 and v >> 3.
    match (&m.spec.layers[0], &m.spec.layers[1]) {
        (LayerSpec::Dense { neuron, .. }, LayerSpec::Readout { leak_shift, .. }) => {
            assert_eq!(neuron.leak_shift, Some(2));
            assert_eq!(*leak_shift, Some(3));
        }
        other => panic!("{other:?}"),
    }
    let mut o = options("4/2/4");
    o.dt = 3e-3;
    let e = nir::import(&fixture("lif-li"), &o)
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.contains("tau / dt = 0.004 / 0.003") && e.contains("--dt"),
        "{e}"
    );
}

#[test]
fn subtracting_resets_import_as_the_soft_reset() {
    let mut o = options("4/2/2");
    o.reset = NirReset::Subtract;
    let m = nir::import(&fixture("mlp-if"), &o).unwrap().model;
    match &m.spec.layers[0] {
        LayerSpec::Dense { neuron, .. } => {
            assert_eq!(neuron.reset, spikeslice_core::neuron::Reset::Soft);
            assert_eq!(neuron.spike_bits.get(), 2);
        }
        other => panic!("{other:?}"),
    }
    // 1.3 at a unit of 1/8 is 10.4: 10 when subtracting (fire at >=), 11
    // when resetting to zero (fire at > 10.4).
    assert_eq!(threshold0(&m), 10);
    let m = nir::import(&fixture("mlp-if"), &options("4/2/2"))
        .unwrap()
        .model;
    assert_eq!(threshold0(&m), 11);
}

fn threshold0(m: &spikeslice_core::model::Model) -> i32 {
    m.layers[0].neurons.threshold[0]
}

#[test]
fn what_cannot_be_represented_is_refused_by_node_and_reason() {
    let cases = [
        ("recurrent", "cycle through"),
        ("cubalif", "current-based neuron"),
        ("residual", "a shortcut into the readout is not supported"),
        (
            "sum-weighted",
            "if1 (IF): it sums two weighted nodes (fc1, fc0b)",
        ),
        ("v-reset", "v_reset = 0.5"),
        ("dangling-edge", "names node \"ghost\""),
        ("future-version", "NIR version \"2.0.0\" is not supported"),
    ];
    for (name, expected) in cases {
        let e = match nir::import(&fixture(name), &options("4/1/2")) {
            Ok(_) => panic!("{name} was imported"),
            Err(e) => e.to_string(),
        };
        assert!(e.contains(expected), "{name}: {e}");
    }
    // The input's values and spikes summed: exact when one input step is
    // worth one spike, refused naming the units otherwise.
    assert!(nir::import(&fixture("sum-units"), &options("4/1/2")).is_ok());
    let mut o = options("4/1/2");
    o.input_scale = 0.5;
    let e = nir::import(&fixture("sum-units"), &o)
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.contains("fc1 (Affine): it sums if0 and input") && e.contains("different units"),
        "{e}"
    );
    let e = nir::read::read_bytes(b"not an hdf5 file")
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("is it a NIR (HDF5) file?"), "{e}");
}

#[test]
fn bad_options_name_the_flag() {
    let mut o = options("4/1/2");
    o.input_scale = 0.0;
    let e = nir::import(&fixture("mlp-if"), &o)
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("--input-scale"), "{e}");
    let mut o = options("4/8/2");
    o.input_bits = 8;
    // 255 * 4 does not fit 8-bit spikes after the CNN's sum pooling.
    let e = nir::import(&fixture("cnn-sumpool"), &o)
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("lower --alloc's b_s"), "{e}");
}

/// The real exports of ../shared/data/nir-real (outside the repository; see
/// its README): `cargo test -p spikeslice-train --test integration nir:: -- --ignored`.
#[test]
#[ignore = "reads ../shared/data/nir-real, which is outside the repository"]
fn real_exports_import_or_are_refused_with_the_reason() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/nir-real");
    let mut o = options("8/1/8");
    o.input_bits = 4;
    let m = nir::import(&dir.join("sinabs_cnn-nmnist.nir"), &o)
        .unwrap()
        .model;
    assert_eq!(m.input_len(), 2 * 34 * 34);
    assert_eq!(m.classes(), 10);
    let out = golden::run_sample(&m, &vec![1; m.input_len()], Engine::Packed);
    assert_eq!(out.readout.len(), 10);
    nir::import(&dir.join("sinabs_cnn-nmnist-legacy-flatten.nir"), &o).unwrap();
    // The one-neuron LIF networks of the NIR paper's first task: tau = 2.5 ms
    // is 2^3 steps of dt = 0.3125 ms, a leaky readout.
    o.dt = 0.0025 / 8.0;
    for file in ["norse_lif.nir", "rockpool_lif.nir"] {
        let m = nir::import(&dir.join(file), &o).unwrap().model;
        match m.spec.layers.last() {
            Some(LayerSpec::Readout { leak_shift, .. }) => {
                assert_eq!(*leak_shift, Some(3), "{file}")
            }
            other => panic!("{file}: {other:?}"),
        }
    }
    o.dt = 1e-3;
    for (file, expected) in [
        ("snntorch_rnn-braille-zero.nir", "cycle"),
        ("snntorch_rnn-braille-subtract.nir", "cycle"),
        ("nengo-likely_feedback-oscillator.nir", "cycle"),
        (
            "snntorch_rnn-braille-legacy.nir",
            "which the file does not have",
        ),
        ("snntorch_mlp-truncated.nir", "the file is incomplete"),
        ("spyx_mlp-shd.nir", "stored as [in, out]"),
    ] {
        let e = match nir::import(&dir.join(file), &o) {
            Ok(_) => panic!("{file} was imported"),
            Err(e) => e.to_string(),
        };
        assert!(e.contains(expected), "{file}: {e}");
    }
}
