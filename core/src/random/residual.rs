//! Random residual networks: a stem conv, then blocks whose shortcut is added
//! to the second conv's current (Spiking ResNet) or summed with its spikes by
//! an `add` (SEW-ResNet), a flatten and a readout (docs/model-format.md,
//! "Graphs").

use super::{add_tensors, neuron_spec, weight};
use crate::model::{
    InputSpec, LayerSpec, Model, ModelSpec, NeuronSpec, Tensor, FORMAT, INPUT, VERSION,
};
use crate::numeric::{SpikeBits, Timesteps};
use rand::Rng;
use std::collections::BTreeMap;

/// A random neuron whose spikes are at most 3 bits wide, so the sums of up to
/// three SEW blocks in a row (3 + 1 + 1 + 1 bits) stay within 8 bits.
fn narrow_neuron(rng: &mut impl Rng) -> NeuronSpec {
    let n = neuron_spec(rng);
    NeuronSpec {
        spike_bits: SpikeBits::new(u32::from(n.spike_bits.get().min(3))).expect("1..=3"),
        ..n
    }
}

/// A conv that keeps the map's size (3x3 with padding 1, or 1x1), with its
/// random tensors; returns the layer and its spikes' width.
fn same_conv(
    rng: &mut impl Rng,
    tensors: &mut BTreeMap<String, Tensor>,
    name: &str,
    inputs: Vec<String>,
    (c_in, c_out): (usize, usize),
    input_bits: u8,
    shortcut: bool,
) -> (LayerSpec, u8) {
    let k = if rng.gen_bool(0.5) { 3 } else { 1 };
    let wb = add_tensors(
        rng,
        tensors,
        name,
        vec![c_out, c_in, k, k],
        input_bits,
        true,
    );
    // A shortcut into several outputs per group runs on the accelerator as
    // taps of weight 0 beside the output's own, which b_w = 1 cannot code:
    // such a layer's +-1 weights are declared 2-bit (the same values).
    let wb = if shortcut && c_out > 1 && wb.get() == 1 {
        crate::numeric::WeightBits::new(2).expect("2 bits")
    } else {
        wb
    };
    let neuron = narrow_neuron(rng);
    let shortcut_weight = shortcut.then(|| i32::from(weight(rng, wb)));
    let layer = LayerSpec::Conv2d {
        name: name.into(),
        inputs,
        out_channels: c_out,
        kernel: [k, k],
        stride: [1, 1],
        padding: [k / 2, k / 2],
        groups: 1,
        weight_bits: wb,
        neuron,
        shortcut_weight,
    };
    (layer, neuron.spike_bits.get())
}

/// A random valid residual model (`Model::is_chain` is false): a stem, one to
/// three blocks of either form, a flatten and the readout.
pub fn residual_model(rng: &mut impl Rng) -> Model {
    let mut tensors = BTreeMap::new();
    let mut layers: Vec<LayerSpec> = Vec::new();
    let input_bits: u8 = rng.gen_range(1..=3);
    let (c_in, h, w) = (
        rng.gen_range(1..=3),
        rng.gen_range(2..=6),
        rng.gen_range(2..=6),
    );
    let c = rng.gen_range(1..=4);
    let (stem, mut bits) = same_conv(
        rng,
        &mut tensors,
        "stem",
        vec![INPUT.into()],
        (c_in, c),
        input_bits,
        false,
    );
    layers.push(stem);
    let mut last = "stem".to_string();
    for b in 0..rng.gen_range(1..=3) {
        let (c1, c2) = (format!("b{b}_conv1"), format!("b{b}_conv2"));
        let (l1, bits1) = same_conv(
            rng,
            &mut tensors,
            &c1,
            vec![last.clone()],
            (c, c),
            bits,
            false,
        );
        layers.push(l1);
        if rng.gen_bool(0.5) {
            // Spiking ResNet: the block's input added to conv2's current.
            let inputs = vec![c1, last.clone()];
            let (l2, bits2) = same_conv(rng, &mut tensors, &c2, inputs, (c, c), bits1, true);
            layers.push(l2);
            (last, bits) = (c2, bits2);
        } else {
            // SEW-ResNet: conv2's spikes plus the block's input.
            let (l2, bits2) = same_conv(rng, &mut tensors, &c2, Vec::new(), (c, c), bits1, false);
            layers.push(l2);
            let add = format!("b{b}_add");
            layers.push(LayerSpec::Add {
                name: add.clone(),
                inputs: vec![c2, last.clone()],
            });
            (last, bits) = (add, bits.max(bits2) + 1);
        }
    }
    layers.push(LayerSpec::Flatten {
        name: "flatten".into(),
        inputs: vec![last],
    });
    let classes = rng.gen_range(2..=6);
    let wb = add_tensors(
        rng,
        &mut tensors,
        "readout",
        vec![classes, c * h * w],
        bits,
        false,
    );
    layers.push(LayerSpec::Readout {
        name: "readout".into(),
        inputs: Vec::new(),
        outputs: classes,
        weight_bits: wb,
        leak_shift: None,
        shortcut_weight: None,
    });
    let spec = ModelSpec {
        format: FORMAT.into(),
        version: VERSION,
        name: "random-residual".into(),
        weights: "random-residual.safetensors".into(),
        timesteps: Timesteps::new(rng.gen_range(1..=6)).expect("valid T"),
        input: InputSpec {
            shape: vec![c_in, h, w],
            bits: SpikeBits::new(u32::from(input_bits)).expect("valid bits"),
        },
        layers,
    };
    Model::new(spec, tensors).expect("the generator makes valid residual models")
}
