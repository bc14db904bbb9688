//! The network architectures the trainer builds: the named ones (a
//! one-hidden-layer MLP, a small strided conv net, a CIFAR-10 VGG and a
//! ResNet-19-shaped CIFAR-10 net) and any network described by blocks
//! (`c16-pool-r16-c32-pool-fc64`). Only layers the integer contract has
//! (dense, conv2d, average pooling into spiking neurons, the SEW add,
//! flatten, readout; docs/semantics.md §2): no max pooling (the accelerator
//! has none) and no batch norm (nothing to fold).

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Hidden width of the MLP (784-128-10 on mnist): small enough that a sweep
/// trains in seconds per allocation on two cores.
pub const MLP_HIDDEN: usize = 128;

/// Which network to train: one of the named ones, or a description of
/// blocks (docs/training.md, "Architectures").
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum Arch {
    /// `input -> dense(128) -> readout(10)`.
    Mlp,
    /// `conv(8, 5x5, stride 2) -> conv(16, 3x3, stride 2) -> flatten -> readout(10)`
    /// on 28x28 inputs; small inputs (8x8) use a 3x3 stride-1 first conv.
    Cnn,
    /// Blocks in order, then a flatten where the first dense block needs it
    /// and the readout (as many outputs as the data has classes).
    Blocks(Vec<Block>),
}

/// One block of a described network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Block {
    /// `cN[kK][sS][pP]`: a square conv of `N` channels, kernel `K` (3),
    /// stride `S` (1), padding `P` (`K/2`, "same" at stride 1), spiking.
    Conv {
        channels: usize,
        kernel: usize,
        stride: usize,
        padding: usize,
    },
    /// `pool[K]`: average pooling over `K x K` windows (2), stride `K`, into
    /// spiking neurons (the model's `pool` layer).
    Pool { kernel: usize },
    /// `fcN`: a dense layer of `N` spiking neurons.
    Dense { outputs: usize },
    /// `rN`: a SEW-ResNet basic block (Fang et al. 2021, ADD): two 3x3
    /// stride-1 convs of `N` channels whose output spikes are added to the
    /// block's input spikes (the model's `add`), so the input must have `N`
    /// channels.
    Residual { channels: usize },
}

/// The named description `vgg`: the CIFAR-10-shaped VGG net of the BB
/// paper's hardware comparison (64-64-pool-128-128-pool-256-256-pool).
pub const VGG: &str = "c64-c64-pool-c128-c128-pool-c256-c256-pool";

/// The named description `resnet`: a ResNet-19-shaped CIFAR-10 net (the BB
/// paper's hardware comparison; Zheng et al. 2021): 19 weight layers, stages
/// of 128, 256 and 512 channels at 32x32, 16x16 and 8x8 with 3, 3 and 2 basic
/// blocks, global average pooling, `fc256` and the readout. The first block
/// of stages 2 and 3 downsamples; its 1x1-conv shortcut is not an identity, so
/// it is written as two plain convs (`c256s2-c256`) and the other blocks as
/// SEW blocks.
pub const RESNET: &str = "c128-r128-r128-r128-c256s2-c256-r256-r256-c512s2-c512-r512-pool8-fc256";

/// Written out, for `--arch` help and errors.
pub const ARCH_HELP: &str = "mlp, cnn, vgg, resnet, or blocks joined by '-': cN[kK][sS][pP] (conv, N channels, kernel K=3, stride S=1, padding P=K/2), pool[K] (average pool, K=2), rN (residual block: two 3x3 convs of N channels plus the block's input, which has N channels), fcN (dense); the readout is added, e.g. c16-pool-r16-c32-pool-fc64";

impl FromStr for Arch {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim() {
            "mlp" => Ok(Arch::Mlp),
            "cnn" | "conv" => Ok(Arch::Cnn),
            "vgg" => VGG.parse(),
            "resnet" | "resnet19" | "resnet-19" => RESNET.parse(),
            "" => Err(format!("empty architecture: use {ARCH_HELP}")),
            text => {
                let blocks = text
                    .split('-')
                    .enumerate()
                    .map(|(i, tok)| {
                        parse_block(tok).map_err(|why| {
                            format!(
                                "architecture {text:?}, block {} {tok:?}: {why}; use {ARCH_HELP}",
                                i + 1
                            )
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(Arch::Blocks(blocks))
            }
        }
    }
}

/// The decimal number at the start of `tok`, and the rest.
fn number(tok: &str) -> Option<(usize, &str)> {
    let end = tok.find(|c: char| !c.is_ascii_digit()).unwrap_or(tok.len());
    let n = tok[..end].parse().ok()?;
    Some((n, &tok[end..]))
}

fn parse_block(tok: &str) -> Result<Block, String> {
    let positive = |n: usize, what: &str| {
        if n == 0 {
            Err(format!("{what} must be at least 1"))
        } else {
            Ok(n)
        }
    };
    if let Some(rest) = tok.strip_prefix("pool") {
        let kernel = if rest.is_empty() {
            2
        } else {
            match number(rest) {
                Some((k, "")) => positive(k, "the pool window")?,
                _ => return Err("a pool is pool or poolK, e.g. pool2".into()),
            }
        };
        return Ok(Block::Pool { kernel });
    }
    if let Some(rest) = tok.strip_prefix("fc") {
        return match number(rest) {
            Some((n, "")) => Ok(Block::Dense {
                outputs: positive(n, "a dense layer's width")?,
            }),
            _ => Err("a dense layer is fcN, e.g. fc128".into()),
        };
    }
    if let Some(rest) = tok.strip_prefix('r') {
        return match number(rest) {
            Some((n, "")) => Ok(Block::Residual {
                channels: positive(n, "a residual block's channel count")?,
            }),
            _ => Err("a residual block is rN, e.g. r32".into()),
        };
    }
    if let Some(rest) = tok.strip_prefix('c') {
        let Some((channels, mut rest)) = number(rest) else {
            return Err("a conv is cN[kK][sS][pP], e.g. c32k3s2".into());
        };
        let channels = positive(channels, "a conv's channel count")?;
        let (mut kernel, mut stride, mut padding) = (3, 1, None);
        while let Some(key) = rest.chars().next() {
            let Some((v, after)) = number(&rest[1..]) else {
                return Err(format!("{key:?} needs a number after it"));
            };
            match key {
                'k' => kernel = positive(v, "the kernel")?,
                's' => stride = positive(v, "the stride")?,
                'p' => padding = Some(v),
                other => return Err(format!("{other:?} is not k, s or p")),
            }
            rest = after;
        }
        let padding = padding.unwrap_or(kernel / 2);
        if padding >= kernel {
            return Err(format!(
                "padding {padding} must be smaller than the kernel {kernel}"
            ));
        }
        return Ok(Block::Conv {
            channels,
            kernel,
            stride,
            padding,
        });
    }
    Err("not a block".into())
}

impl fmt::Display for Block {
    /// The shortest form that parses back to the same block.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Block::Conv {
                channels,
                kernel,
                stride,
                padding,
            } => {
                write!(f, "c{channels}")?;
                if kernel != 3 {
                    write!(f, "k{kernel}")?;
                }
                if stride != 1 {
                    write!(f, "s{stride}")?;
                }
                if padding != kernel / 2 {
                    write!(f, "p{padding}")?;
                }
                Ok(())
            }
            Block::Pool { kernel: 2 } => f.write_str("pool"),
            Block::Pool { kernel } => write!(f, "pool{kernel}"),
            Block::Dense { outputs } => write!(f, "fc{outputs}"),
            Block::Residual { channels } => write!(f, "r{channels}"),
        }
    }
}

impl fmt::Display for Arch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Arch::Mlp => f.write_str("mlp"),
            Arch::Cnn => f.write_str("cnn"),
            Arch::Blocks(blocks) => {
                let text: Vec<String> = blocks.iter().map(|b| b.to_string()).collect();
                let text = text.join("-");
                f.write_str(match text.as_str() {
                    VGG => "vgg",
                    RESNET => "resnet",
                    _ => &text,
                })
            }
        }
    }
}

impl From<Arch> for String {
    fn from(a: Arch) -> String {
        a.to_string()
    }
}

impl TryFrom<String> for Arch {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        s.parse()
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
    /// Average pooling over `kernel x kernel` windows, stride `kernel`, into
    /// spiking neurons: no weights, a quantized activation.
    Pool { kernel: usize },
    /// `[C, H, W] -> [C*H*W]`.
    Flatten,
    /// Fully connected, integrates only: its membrane is the output.
    Readout,
    /// The elementwise sum of the layer before it and layer `shortcut`'s
    /// output spikes (SEW-ResNet's ADD): no weights, no quantizer.
    Add { shortcut: usize },
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
    /// The layer whose activation step `D` this layer's quantizer uses
    /// instead of its own: the second conv of a residual block shares its
    /// block input's, so that the add sums counts of one unit (`D c_a + D c_b
    /// = D (c_a + c_b)`, docs/training.md, "Residual blocks").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shares_step: Option<usize>,
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
            shares_step: None,
        }
    }

    /// Whether the layer has weights.
    pub fn has_weights(&self) -> bool {
        !matches!(
            self.kind,
            Kind::Flatten | Kind::Pool { .. } | Kind::Add { .. }
        )
    }
    /// Whether the layer ends in spiking neurons (a quantized activation).
    pub fn is_hidden(&self) -> bool {
        matches!(
            self.kind,
            Kind::Dense | Kind::Conv { .. } | Kind::Pool { .. }
        )
    }
    /// Fan-in of one output: `K`.
    pub fn fan_in(&self) -> usize {
        match self.kind {
            Kind::Conv { kernel, .. } => self.in_shape[0] * kernel * kernel,
            Kind::Pool { kernel } => kernel * kernel,
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

/// Why a conv or pool block cannot follow a dense one.
const AFTER_DENSE: &str =
    "it needs a [C, H, W] map, but follows a dense block: put conv and pool blocks before fc blocks";

/// The layers of `arch` on an image every block fits, for what does not
/// depend on the image: layer names and kinds, and whether the blocks come in
/// an order any image can take (a conv after a dense block cannot).
pub fn structure(arch: &Arch) -> Result<Vec<LayerDef>, String> {
    layers(arch, [1, 4096, 4096], 10)
}

/// The layers of `arch` for images of shape `image` and `classes` outputs,
/// or why the blocks do not fit the image (naming the block).
pub fn layers(arch: &Arch, image: [usize; 3], classes: usize) -> Result<Vec<LayerDef>, String> {
    let flat: usize = image.iter().product();
    let blocks = match arch {
        Arch::Mlp => vec![Block::Dense {
            outputs: MLP_HIDDEN,
        }],
        Arch::Cnn => {
            // 28x28: 5x5 stride 2 -> 14x14; 8x8: 3x3 stride 1 -> 8x8.
            let (k1, s1, p1) = if image[1].min(image[2]) >= 16 {
                (5, 2, 2)
            } else {
                (3, 1, 1)
            };
            vec![
                Block::Conv {
                    channels: 8,
                    kernel: k1,
                    stride: s1,
                    padding: p1,
                },
                Block::Conv {
                    channels: 16,
                    kernel: 3,
                    stride: 2,
                    padding: 1,
                },
            ]
        }
        Arch::Blocks(b) => b.clone(),
    };
    // A network that starts with a dense block reads the image flat (no
    // flatten layer), as the MLP does.
    let mut shape: Vec<usize> = match blocks.first() {
        Some(Block::Dense { .. }) | None => vec![flat],
        _ => image.to_vec(),
    };
    let mut defs = Vec::new();
    let (mut convs, mut pools, mut fcs, mut adds) = (0, 0, 0, 0);
    for (i, b) in blocks.iter().enumerate() {
        let at = |why: String| format!("block {} ({b}) of {arch}: {why}", i + 1);
        let map = |shape: &[usize]| match *shape {
            [c, h, w] => Ok((c, h, w)),
            _ => Err(at(AFTER_DENSE.into())),
        };
        match *b {
            Block::Conv {
                channels,
                kernel,
                stride,
                padding,
            } => {
                let (c, h, w) = map(&shape)?;
                if kernel > h + 2 * padding || kernel > w + 2 * padding {
                    return Err(at(format!(
                        "kernel {kernel} is larger than the padded {}x{} input",
                        h + 2 * padding,
                        w + 2 * padding
                    )));
                }
                let oh = (h + 2 * padding - kernel) / stride + 1;
                let ow = (w + 2 * padding - kernel) / stride + 1;
                convs += 1;
                defs.push(LayerDef {
                    name: format!("conv{convs}"),
                    kind: Kind::Conv {
                        kernel,
                        stride,
                        padding,
                    },
                    outputs: channels,
                    in_shape: vec![c, h, w],
                    out_shape: vec![channels, oh, ow],
                    shares_step: None,
                });
            }
            Block::Pool { kernel } => {
                let (c, h, w) = map(&shape)?;
                if kernel > h || kernel > w {
                    return Err(at(format!(
                        "the window {kernel} is larger than the {h}x{w} input"
                    )));
                }
                pools += 1;
                defs.push(LayerDef {
                    name: format!("pool{pools}"),
                    kind: Kind::Pool { kernel },
                    outputs: c,
                    in_shape: vec![c, h, w],
                    out_shape: vec![c, (h - kernel) / kernel + 1, (w - kernel) / kernel + 1],
                    shares_step: None,
                });
            }
            Block::Dense { outputs } => {
                if shape.len() == 3 {
                    defs.push(flatten(&shape));
                }
                fcs += 1;
                defs.push(LayerDef::flat(
                    &format!("fc{fcs}"),
                    Kind::Dense,
                    shape.iter().product(),
                    outputs,
                ));
            }
            Block::Residual { channels } => {
                let (c, h, w) = map(&shape)?;
                // The block's input: spikes of a layer with a learned step
                // (not the image, whose step is fixed by the pixels).
                let Some(input) = defs.len().checked_sub(1) else {
                    return Err(at(
                        "a residual block adds its input to its output, so it needs a conv or pool block before it".into(),
                    ));
                };
                if c != channels {
                    return Err(at(format!(
                        "its input has {c} channels, so the block must have {c} (an identity shortcut keeps the shape): write r{c}, or put a c{channels} before it"
                    )));
                }
                let conv = |n: usize, shares_step| LayerDef {
                    name: format!("conv{n}"),
                    kind: Kind::Conv {
                        kernel: 3,
                        stride: 1,
                        padding: 1,
                    },
                    outputs: c,
                    in_shape: vec![c, h, w],
                    out_shape: vec![c, h, w],
                    shares_step,
                };
                defs.push(conv(convs + 1, None));
                defs.push(conv(convs + 2, Some(input)));
                convs += 2;
                adds += 1;
                defs.push(LayerDef {
                    name: format!("add{adds}"),
                    kind: Kind::Add { shortcut: input },
                    outputs: c,
                    in_shape: vec![c, h, w],
                    out_shape: vec![c, h, w],
                    shares_step: None,
                });
            }
        }
        shape = defs.last().map_or(shape, |d| d.out_shape.clone());
    }
    if shape.len() == 3 {
        defs.push(flatten(&shape));
        shape = vec![shape.iter().product()];
    }
    defs.push(LayerDef::flat("out", Kind::Readout, shape[0], classes));
    Ok(defs)
}

fn flatten(shape: &[usize]) -> LayerDef {
    let f = shape.iter().product();
    LayerDef {
        name: "flat".into(),
        kind: Kind::Flatten,
        outputs: f,
        in_shape: shape.to_vec(),
        out_shape: vec![f],
        shares_step: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptions_parse_and_print_back() {
        for text in [
            "c16-pool-c32k5s2-pool3-fc64",
            "fc256",
            "c8p0-fc10",
            "c8-r8-pool-r8-fc16",
            "vgg",
            "resnet",
            "mlp",
            "cnn",
        ] {
            let a: Arch = text.parse().unwrap();
            assert_eq!(a.to_string(), text);
            assert_eq!(a.to_string().parse::<Arch>().unwrap(), a);
        }
        // Defaults are written out only where they differ.
        assert_eq!(
            "c16k3s1p1-pool2".parse::<Arch>().unwrap().to_string(),
            "c16-pool"
        );
        let json = serde_json::to_string(&Arch::Cnn).unwrap();
        assert_eq!(json, "\"cnn\"");
        let a: Arch = serde_json::from_str("\"c8-fc4\"").unwrap();
        assert_eq!(a.to_string(), "c8-fc4");
    }

    #[test]
    fn typos_and_impossible_networks_are_named() {
        let e = |s: &str| s.parse::<Arch>().unwrap_err();
        assert!(
            e("c16-x3").contains("block 2 \"x3\": not a block"),
            "{}",
            e("c16-x3")
        );
        assert!(e("c0").contains("at least 1"));
        assert!(e("c8k3p3").contains("smaller than the kernel"));
        assert!(e("c8q2").contains("'q' is not k, s or p"));
        assert!(e("fc").contains("fcN"));
        assert!(e("r").contains("rN"));
        assert!(e("c8-r0").contains("at least 1"));
        let first: Arch = "r8".parse().unwrap();
        let err = layers(&first, [1, 8, 8], 10).unwrap_err();
        assert!(
            err.contains("block 1 (r8)") && err.contains("needs a conv or pool block before it"),
            "{err}"
        );
        let widen: Arch = "c4-r8".parse().unwrap();
        let err = layers(&widen, [1, 8, 8], 10).unwrap_err();
        assert!(
            err.contains("block 2 (r8)") && err.contains("write r4, or put a c8 before it"),
            "{err}"
        );
        let after_dense: Arch = "c4-fc8-r8".parse().unwrap();
        let err = layers(&after_dense, [1, 8, 8], 10).unwrap_err();
        assert!(
            err.contains("block 3 (r8)") && err.contains("before fc blocks"),
            "{err}"
        );
        let fc_first: Arch = "fc32-c8".parse().unwrap();
        let err = layers(&fc_first, [1, 28, 28], 10).unwrap_err();
        assert!(
            err.contains("block 2 (c8)") && err.contains("before fc blocks"),
            "{err}"
        );
        let big: Arch = "c8k9p0".parse().unwrap();
        let err = layers(&big, [1, 8, 8], 10).unwrap_err();
        assert!(
            err.contains("kernel 9 is larger than the padded 8x8 input"),
            "{err}"
        );
    }

    #[test]
    fn the_resnet_has_the_shape_of_resnet_19() {
        let defs = layers(&"resnet".parse().unwrap(), [3, 32, 32], 10).unwrap();
        assert_eq!(defs.iter().filter(|d| d.has_weights()).count(), 19);
        assert_eq!(
            defs.iter()
                .filter(|d| matches!(d.kind, Kind::Add { .. }))
                .count(),
            6
        );
        let at = |name: &str| defs.iter().find(|d| d.name == name).unwrap();
        assert_eq!(at("add3").out_shape, [128, 32, 32]);
        assert_eq!(at("add5").out_shape, [256, 16, 16]);
        assert_eq!(at("add6").out_shape, [512, 8, 8]);
        assert_eq!(at("pool1").out_shape, [512, 1, 1]);
        assert_eq!(at("fc1").outputs, 256);
        assert_eq!(defs.last().unwrap().in_shape, [256]);
        // Blocks of one stage chain: each add's shortcut is the add before.
        let add2 = defs.iter().position(|d| d.name == "add2").unwrap();
        let add1 = defs.iter().position(|d| d.name == "add1").unwrap();
        assert_eq!(defs[add2].kind, Kind::Add { shortcut: add1 });
    }

    #[test]
    fn the_vgg_net_has_the_shape_of_the_papers() {
        let defs = layers(&"vgg".parse().unwrap(), [3, 32, 32], 10).unwrap();
        let names: Vec<&str> = defs.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "conv1", "conv2", "pool1", "conv3", "conv4", "pool2", "conv5", "conv6", "pool3",
                "flat", "out"
            ]
        );
        assert_eq!(defs[8].out_shape, [256, 4, 4]);
        assert_eq!(defs[10].in_shape, [4096]);
        // The named nets keep their layers.
        let cnn = layers(&Arch::Cnn, [1, 28, 28], 10).unwrap();
        let shapes: Vec<&[usize]> = cnn.iter().map(|d| d.out_shape.as_slice()).collect();
        assert_eq!(shapes, [&[8, 14, 14][..], &[16, 7, 7], &[784], &[10]]);
        // A block: two 3x3 convs (the second shares its input's step) and an
        // add of the block's input.
        let block = layers(&"c4-r4".parse().unwrap(), [1, 8, 8], 10).unwrap();
        let names: Vec<&str> = block.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(names, ["conv1", "conv2", "conv3", "add1", "flat", "out"]);
        assert_eq!(block[2].shares_step, Some(0));
        assert_eq!(block[3].kind, Kind::Add { shortcut: 0 });
        assert_eq!(block[3].out_shape, [4, 8, 8]);
        let mlp = layers(&Arch::Mlp, [1, 28, 28], 10).unwrap();
        assert_eq!(mlp[0].in_shape, [784]);
        assert_eq!(mlp[0].name, "fc1");
    }
}
