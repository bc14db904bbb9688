//! Residual blocks (`rN`, SEW-ResNet's ADD): they train, convert to a graph
//! with `add` layers, keep the SNN = quantized-ANN identity at T = 1, and
//! refuse widths an add cannot carry.

use crate::common;

use common::tiny_training;
use spikeslice_core::model::LayerSpec;
use spikeslice_train::arch::Arch;
use spikeslice_train::{convert, train, TrainConfig};

/// A small, fast configuration: 300 training digits, 100 test digits.
fn tiny(alloc: &str, arch: &str) -> TrainConfig {
    TrainConfig {
        alloc: alloc.parse().unwrap(),
        arch: arch.parse::<Arch>().unwrap(),
        ..tiny_training(2, 300, 100, 100)
    }
}

#[test]
fn residual_blocks_train_and_convert_to_adds_exactly() {
    let r = train(&tiny("4/2/1", "c8-r8-pool-fc16"), &mut |_, _, _| {}).unwrap();
    let kinds: Vec<&str> = r.model.spec.layers.iter().map(|l| l.kind()).collect();
    assert_eq!(
        kinds,
        ["conv2d", "conv2d", "conv2d", "add", "pool", "flatten", "dense", "readout"]
    );
    match &r.model.spec.layers[3] {
        LayerSpec::Add { name, inputs } => {
            assert_eq!(name, "add1");
            assert_eq!(inputs, &["conv3", "conv1"]);
        }
        other => panic!("{other:?}"),
    }
    // The add's spikes are one bit wider than its 2-bit inputs.
    let add = &r.model.layers[3];
    assert_eq!(add.name, "add1");
    assert_eq!(
        add.neurons.output,
        spikeslice_core::golden::LayerOutput::Spikes { bits: 3 }
    );
    // At T = 1 every layer, the add included, is its integer quantized ANN
    // exactly: the second conv shares its block input's step, so the add of
    // counts is the QAT network's add of values.
    for n in &r.eval.noise {
        assert_eq!(n.local_mismatches, 0, "{}: {n:?}", n.layer);
        assert_eq!(n.chain_mismatches, 0, "{}: {n:?}", n.layer);
    }
    assert_eq!(r.eval.snn_qann_agreement, 1.0);
    assert!(r.eval.snn_accuracy > 0.3, "{:?}", r.eval.snn_accuracy);
    // The quantized ANN of the graph sums the add's two inputs' counts.
    let x = vec![3u8; r.model.input_len()];
    let counts = convert::qann(&r.model, &x);
    let sum: Vec<i64> = counts[2]
        .iter()
        .zip(&counts[0])
        .map(|(a, b)| a + b)
        .collect();
    assert_eq!(counts[3], sum);
    // The block's second conv quantizes with its block input's step (one
    // variable, trained by both), so the add sums counts of one unit.
    let step = |l: usize| r.net.act_step_value(l).unwrap();
    assert_eq!(r.net.defs[1].name, "conv2");
    assert_eq!(step(2), step(0));
    assert_ne!(step(1), step(0));
    assert_eq!(step(3), step(0), "the add's step is its inputs'");
}

#[test]
fn over_time_the_add_adds_no_noise_of_its_own() {
    let r = train(&tiny("4/2/3", "c8-r8-fc16"), &mut |_, _, _| {}).unwrap();
    let add = r.eval.noise.iter().find(|n| n.layer == "add1").unwrap();
    assert!(add.compared > 0);
    assert_eq!(add.local_mismatches, 0, "{add:?}");
}

#[test]
fn an_add_wider_than_eight_bits_and_widths_for_an_add_are_refused() {
    // 6-bit spikes: add1 emits 7 bits, add2 8, add3 would need 9.
    let cfg = tiny("2/6/1", "c4-r4-r4-r4");
    let e = format!("{:#}", train(&cfg, &mut |_, _, _| {}).unwrap_err());
    assert!(
        e.contains("layer add3")
            && e.contains("needs 9 bits")
            && e.contains("a chain of 3 add(s) needs convs of at most 5 bits"),
        "{e}"
    );
    // Two blocks fit.
    let ok = tiny("2/6/1", "c4-r4-r4");
    train(&ok, &mut |_, _, _| {}).unwrap();
    let mut bad = tiny("4/2/1", "c4-r4");
    bad.layers.add("add1=*/2").unwrap();
    let e = format!("{:#}", train(&bad, &mut |_, _, _| {}).unwrap_err());
    assert!(e.contains("layer add1 adds two spike tensors"), "{e}");
}
