//! The network architectures the trainer builds: a one-hidden-layer MLP and
//! a small strided conv net. Both use only layers the integer contract has
//! (dense, conv2d, flatten, readout; docs/semantics.md §2): no max pooling
//! (the accelerator has none) and no batch norm (nothing to fold).

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Hidden width of the MLP (784-128-10 on mnist): small enough that a sweep
/// trains in seconds per allocation on two cores.
pub const MLP_HIDDEN: usize = 128;

/// Which network to train.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Arch {
    /// `input -> dense(128) -> readout(10)`.
    Mlp,
    /// `conv(8, 5x5, stride 2) -> conv(16, 3x3, stride 2) -> flatten -> readout(10)`
    /// on 28x28 inputs; small inputs (8x8) use a 3x3 stride-1 first conv.
    Cnn,
}

impl FromStr for Arch {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "mlp" => Ok(Arch::Mlp),
            "cnn" | "conv" => Ok(Arch::Cnn),
            other => Err(format!("unknown architecture {other:?}: use mlp or cnn")),
        }
    }
}

impl fmt::Display for Arch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Arch::Mlp => "mlp",
            Arch::Cnn => "cnn",
        })
    }
}

/// What a layer computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Kind {
    /// Fully connected, spiking.
    Dense,
    /// Square conv, spiking.
    Conv {
        kernel: usize,
        stride: usize,
        padding: usize,
    },
    /// `[C, H, W] -> [C*H*W]`.
    Flatten,
    /// Fully connected, integrates only: its membrane is the output.
    Readout,
}

/// One layer with its input and output shapes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerDef {
    pub name: String,
    pub kind: Kind,
    /// Output channels (dense/readout: outputs).
    pub outputs: usize,
    pub in_shape: Vec<usize>,
    pub out_shape: Vec<usize>,
}

impl LayerDef {
    /// A layer from `inputs` values in a row to `outputs`.
    fn flat(name: &str, kind: Kind, inputs: usize, outputs: usize) -> Self {
        LayerDef {
            name: name.into(),
            kind,
            outputs,
            in_shape: vec![inputs],
            out_shape: vec![outputs],
        }
    }

    /// Whether the layer has weights.
    pub fn has_weights(&self) -> bool {
        !matches!(self.kind, Kind::Flatten)
    }
    /// Whether the layer ends in spiking neurons (a quantized activation).
    pub fn is_hidden(&self) -> bool {
        matches!(self.kind, Kind::Dense | Kind::Conv { .. })
    }
    /// Fan-in of one output: `K`.
    pub fn fan_in(&self) -> usize {
        match self.kind {
            Kind::Conv { kernel, .. } => self.in_shape[0] * kernel * kernel,
            _ => self.in_shape.iter().product(),
        }
    }
    /// Shape of the weight tensor: `[O, K]` or `[O, C, k, k]`.
    pub fn weight_shape(&self) -> Vec<usize> {
        match self.kind {
            Kind::Conv { kernel, .. } => vec![self.outputs, self.in_shape[0], kernel, kernel],
            _ => vec![self.outputs, self.fan_in()],
        }
    }
}

/// The model's input shape as the integer spec sees it: flat for the MLP.
pub fn input_shape(arch: Arch, image: [usize; 3]) -> Vec<usize> {
    match arch {
        Arch::Mlp => vec![image.iter().product()],
        Arch::Cnn => image.to_vec(),
    }
}

/// The layers of `arch` for images of shape `image` and `classes` outputs.
pub fn layers(arch: Arch, image: [usize; 3], classes: usize) -> Vec<LayerDef> {
    let flat: usize = image.iter().product();
    let readout = |inputs| LayerDef::flat("out", Kind::Readout, inputs, classes);
    match arch {
        Arch::Mlp => vec![
            LayerDef::flat("fc1", Kind::Dense, flat, MLP_HIDDEN),
            readout(MLP_HIDDEN),
        ],
        Arch::Cnn => {
            let [c, h, w] = image;
            // 28x28: 5x5 stride 2 -> 14x14; 8x8: 3x3 stride 1 -> 8x8.
            let (k1, s1, p1) = if h.min(w) >= 16 { (5, 2, 2) } else { (3, 1, 1) };
            let conv = |name: &str, inp: [usize; 3], out: usize, k: usize, s: usize, p: usize| {
                let oh = (inp[1] + 2 * p - k) / s + 1;
                let ow = (inp[2] + 2 * p - k) / s + 1;
                LayerDef {
                    name: name.into(),
                    kind: Kind::Conv {
                        kernel: k,
                        stride: s,
                        padding: p,
                    },
                    outputs: out,
                    in_shape: inp.to_vec(),
                    out_shape: vec![out, oh, ow],
                }
            };
            let l1 = conv("conv1", [c, h, w], 8, k1, s1, p1);
            let s1v = [l1.out_shape[0], l1.out_shape[1], l1.out_shape[2]];
            let l2 = conv("conv2", s1v, 16, 3, 2, 1);
            let f: usize = l2.out_shape.iter().product();
            let s2 = l2.out_shape.clone();
            vec![
                l1,
                l2,
                LayerDef {
                    name: "flat".into(),
                    kind: Kind::Flatten,
                    outputs: f,
                    in_shape: s2,
                    out_shape: vec![f],
                },
                readout(f),
            ]
        }
    }
}
