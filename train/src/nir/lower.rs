//! NIR nodes onto the integer model (docs/nir.md): each weighted node and the
//! neuron after it become one layer, with integer weights, biases and
//! thresholds in that layer's own unit.
//!
//! Units: every tensor flowing between layers is an integer times a unit of
//! float value: the input `--input-scale`, spikes 1 (a NIR spike is 1.0; a
//! multi-bit spike `s` is `s` spikes), an average pool's output `1/k^2` of its
//! input's. A weighted layer with weight scale `s_w` on an input of unit `u`
//! computes currents in unit `U = s_w * u`, so its bias is `b / U` and its
//! threshold `v_th / U`.

use super::params::{close, Node};
use super::read::RawGraph;
use super::{ImportOptions, NirError};
use spikeslice_core::model::{InputSpec, LayerSpec, ModelSpec, Tensor, FORMAT, VERSION};
use spikeslice_core::neuron::MAX_LEAK_SHIFT;
use spikeslice_core::numeric::{SpikeBits, Timesteps, WeightBits};
use std::collections::BTreeMap;

/// What flows into the next node: its shape, unit, and largest integer.
#[derive(Debug, Clone)]
pub(super) struct Flow {
    pub(super) shape: Vec<usize>,
    pub(super) unit: f64,
    pub(super) max: u64,
}

/// A weighted node waiting for the neuron that follows it.
pub(super) struct Linear {
    pub(super) node: String,
    /// `Dense` or `Conv2d`, without its neuron yet.
    pub(super) conv: Option<ConvGeometry>,
    pub(super) outputs: usize,
    /// Output positions per channel (1 for dense).
    pub(super) positions: usize,
    pub(super) out_shape: Vec<usize>,
    /// `[O, ...]`, row-major, per-output-channel rows.
    pub(super) weight: Vec<f64>,
    pub(super) weight_shape: Vec<usize>,
    pub(super) bias: Vec<f64>,
}

impl Linear {
    /// Replace each output channel's weights and bias `x` by `op(x, by[c])`
    /// (a Scale multiplies, a spiking readout divides by its threshold).
    pub(super) fn per_channel(&mut self, by: &[f64], op: impl Fn(f64, f64) -> f64) {
        let row = self.weight.len() / self.outputs;
        for (c, &f) in by.iter().enumerate() {
            for w in &mut self.weight[c * row..(c + 1) * row] {
                *w = op(*w, f);
            }
            self.bias[c] = op(self.bias[c], f);
        }
    }
}

pub(super) struct ConvGeometry {
    pub(super) kernel: [usize; 2],
    pub(super) stride: [usize; 2],
    pub(super) padding: [usize; 2],
    pub(super) groups: usize,
}

/// The neuron after a [`Linear`], as the integer model needs it.
pub(super) struct Neuron {
    pub(super) node: String,
    /// Per channel: what multiplies the current (`r`, times `dt/tau` for LIF).
    pub(super) gain: Vec<f64>,
    /// Per channel, in float volts; `None` for LI (no spikes).
    pub(super) threshold: Option<Vec<f64>>,
    pub(super) leak_shift: Option<u8>,
}

/// The integer model's spec and tensors, and what the import decided.
pub struct Lowered {
    pub spec: ModelSpec,
    pub tensors: BTreeMap<String, Tensor>,
    pub notes: Vec<String>,
}

pub(super) struct Lowering<'o> {
    pub(super) opts: &'o ImportOptions,
    pub(super) layers: Vec<LayerSpec>,
    pub(super) tensors: BTreeMap<String, Tensor>,
    pub(super) notes: Vec<String>,
    pub(super) flow: Flow,
}

pub fn lower(g: &RawGraph, order: &[String], opts: &ImportOptions) -> Result<Lowered, NirError> {
    let input = Node {
        name: &order[0],
        raw: &g.nodes[&order[0]],
    };
    let shape = input_shape(&input)?;
    let input_max = (1u64 << opts.input_bits) - 1;
    let mut l = Lowering {
        opts,
        layers: Vec::new(),
        tensors: BTreeMap::new(),
        notes: Vec::new(),
        flow: Flow {
            shape: shape.clone(),
            unit: opts.input_scale,
            max: input_max,
        },
    };
    // A weighted node, then the neuron that follows it, wait here until the
    // next node says whether the neuron is the network's last.
    let mut linear: Option<Linear> = None;
    let mut neuron: Option<Neuron> = None;
    for name in &order[1..] {
        let node = Node {
            name,
            raw: &g.nodes[name],
        };
        let kind = node.raw.kind.as_str();
        if kind == "Output" {
            let Some(lin) = linear.take() else {
                return Err(node.err(
                    "the network must end in a weighted layer (Affine or Linear, with or without a neuron) that gives the classes",
                ));
            };
            l.readout(lin, neuron.take())?;
            break;
        }
        // Not the output: the waiting layer spikes into this node.
        if let Some(n) = neuron.take() {
            if n.threshold.is_none() {
                return Err(node.err(format!(
                    "it follows {}, a leaky integrator that emits no spikes: an LI neuron can only be the last layer",
                    n.node
                )));
            }
            l.spiking(linear.take().expect("a neuron follows a weighted node"), n)?;
        }
        match kind {
            "Affine" | "Linear" | "Conv2d" => {
                if let Some(prev) = &linear {
                    return Err(node.err(format!(
                        "it follows {} without a neuron between them: fold the two linear maps into one before export",
                        prev.node
                    )));
                }
                linear = Some(if kind == "Conv2d" {
                    l.conv(&node)?
                } else {
                    l.dense(&node)?
                });
            }
            "Scale" => {
                let Some(lin) = linear.as_mut() else {
                    return Err(node.err(
                        "a Scale must follow an Affine, Linear or Conv2d (it is folded into their weights)",
                    ));
                };
                let s = node.per_channel("scale", lin.outputs, lin.positions, None)?;
                lin.per_channel(&s, |x, f| x * f);
            }
            "IF" | "LIF" | "LI" => {
                let Some(lin) = linear.as_ref() else {
                    return Err(node.err(
                        "a neuron must follow an Affine, Linear or Conv2d: spikeslice's layers are a weighted sum and a neuron",
                    ));
                };
                // A neuron waiting before this one was emitted above, and
                // took its weighted node: a second neuron in a row finds none.
                neuron = Some(l.neuron(&node, lin)?);
            }
            "SumPool2d" | "AvgPool2d" => {
                if linear.is_some() {
                    return Err(node.err(
                        "pooling between a weighted node and its neuron is not supported: pool the spikes, after the neuron",
                    ));
                }
                l.pool(&node, kind == "AvgPool2d")?;
            }
            "Flatten" => {
                if linear.is_some() {
                    return Err(node.err(
                        "a Flatten between a weighted node and its neuron is not supported: flatten the spikes",
                    ));
                }
                l.flatten(&node)?;
            }
            "CubaLIF" | "CubaLI" => {
                return Err(node.err(
                    "a current-based neuron (a synaptic current with its own time constant) has no counterpart in the integer neuron of docs/semantics.md: use IF or LIF",
                ))
            }
            "Input" => return Err(node.err("a second Input inside the chain")),
            other => {
                return Err(node.err(format!(
                    "node type {other} is not supported: spikeslice imports Input, Output, Affine, Linear, Conv2d, Scale, SumPool2d, AvgPool2d, Flatten, IF, LIF and LI"
                )))
            }
        }
    }
    let t = Timesteps::new(opts.alloc.t).map_err(|e| NirError::Options(e.to_string()))?;
    let spec = ModelSpec {
        format: FORMAT.into(),
        version: VERSION,
        name: opts.name.clone(),
        weights: String::new(),
        timesteps: t,
        input: InputSpec {
            shape,
            bits: SpikeBits::new(u32::from(opts.input_bits))
                .map_err(|e| NirError::Options(format!("--input-bits: {e}")))?,
        },
        layers: l.layers,
    };
    Ok(Lowered {
        spec,
        tensors: l.tensors,
        notes: l.notes,
    })
}

/// The input's shape without leading axes of one that a batch or time axis
/// left (`[1, 784]` is `[784]`; `[1, 2, 34, 34]` is `[2, 34, 34]`).
fn input_shape(input: &Node) -> Result<Vec<usize>, NirError> {
    let a = input
        .array("shape")
        .or_else(|_| input.array("input_type"))?;
    let mut shape: Vec<usize> = a
        .values
        .iter()
        .map(|&v| (v >= 1.0 && v.fract() == 0.0).then_some(v as usize))
        .collect::<Option<_>>()
        .ok_or_else(|| {
            input.err(format!(
                "shape {:?} is not a list of positive integers",
                a.values
            ))
        })?;
    while shape.len() > 1 && shape[0] == 1 && (shape.len() > 3 || shape.len() == 2) {
        shape.remove(0);
    }
    if shape.len() != 1 && shape.len() != 3 {
        return Err(input.err(format!(
            "input shape {shape:?}: spikeslice takes [N] or [C, H, W] inputs"
        )));
    }
    Ok(shape)
}

/// A layer name of the model format (letters, digits, `_`, `-`), from a NIR
/// node name (which may contain dots).
fn layer_name(node: &str) -> String {
    let s: String = node
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.is_empty() {
        "layer".into()
    } else {
        s
    }
}

impl Lowering<'_> {
    pub(super) fn unique_name(&self, node: &str) -> String {
        let base = layer_name(node);
        let taken = |n: &str| self.layers.iter().any(|l| l.name() == n);
        if !taken(&base) {
            return base;
        }
        (2..)
            .map(|i| format!("{base}_{i}"))
            .find(|n| !taken(n))
            .expect("unbounded")
    }

    pub(super) fn weight_bits(&self) -> Result<WeightBits, NirError> {
        WeightBits::new(self.opts.alloc.b_w).map_err(|e| NirError::Options(format!("--alloc: {e}")))
    }

    fn dense(&self, node: &Node) -> Result<Linear, NirError> {
        let [k] = self.flow.shape[..] else {
            return Err(node.err(format!(
                "its input has shape {:?}: a dense layer needs a flat input (add a Flatten before it)",
                self.flow.shape
            )));
        };
        let w = node.array("weight")?;
        node.finite("weight", w)?;
        let [o, wk] = w.shape[..] else {
            return Err(node.err(format!(
                "weight has shape {:?}, expected [out, in]",
                w.shape
            )));
        };
        if wk != k {
            let hint = if o == k {
                " (it looks stored as [in, out]: transpose it before export)"
            } else {
                ""
            };
            return Err(node.err(format!(
                "weight has shape {:?}, expected [out, {k}] for an input of {k} values{hint}",
                w.shape
            )));
        }
        let bias = self.bias(node, o)?;
        Ok(Linear {
            node: node.name.to_string(),
            conv: None,
            outputs: o,
            positions: 1,
            out_shape: vec![o],
            weight: w.values.clone(),
            weight_shape: vec![o, k],
            bias,
        })
    }

    fn bias(&self, node: &Node, o: usize) -> Result<Vec<f64>, NirError> {
        if node.raw.kind == "Linear" {
            return Ok(vec![0.0; o]);
        }
        node.per_channel("bias", o, 1, Some(0.0))
    }

    fn conv(&self, node: &Node) -> Result<Linear, NirError> {
        let [c, h, wd] = self.flow.shape[..] else {
            return Err(node.err(format!(
                "its input has shape {:?}: a Conv2d needs a [C, H, W] input",
                self.flow.shape
            )));
        };
        let w = node.array("weight")?;
        node.finite("weight", w)?;
        let [o, cg, kh, kw] = w.shape[..] else {
            return Err(node.err(format!(
                "weight has shape {:?}, expected [O, C/groups, KH, KW]",
                w.shape
            )));
        };
        let groups = if node.raw.fields.contains_key("groups") {
            node.count("groups")?
        } else {
            1
        };
        if groups == 0 || cg * groups != c {
            return Err(node.err(format!(
                "weight has {cg} input channels per group and groups = {groups}, but the input has {c} channels"
            )));
        }
        let kernel = [kh, kw];
        let stride = node.pair("stride")?.unwrap_or([1, 1]);
        if let Some(d) = node.pair("dilation")? {
            if d != [1, 1] {
                return Err(node.err(format!("dilation {d:?} is not supported: use dilation 1")));
            }
        }
        let padding = match node.text("padding") {
            Some("valid") => [0, 0],
            Some("same") if stride == [1, 1] && kh % 2 == 1 && kw % 2 == 1 => [kh / 2, kw / 2],
            Some(other) => {
                return Err(node.err(format!(
                    "padding {other:?} is not supported here: give it as integers (\"same\" needs stride 1 and an odd kernel)"
                )))
            }
            None => node.pair("padding")?.unwrap_or([0, 0]),
        };
        let (ph, pw) = (h + 2 * padding[0], wd + 2 * padding[1]);
        if kh > ph || kw > pw || stride.contains(&0) {
            return Err(node.err(format!(
                "kernel {kernel:?} with stride {stride:?} does not fit the padded {ph}x{pw} input"
            )));
        }
        let (oh, ow) = ((ph - kh) / stride[0] + 1, (pw - kw) / stride[1] + 1);
        let bias = self.bias(node, o)?;
        Ok(Linear {
            node: node.name.to_string(),
            conv: Some(ConvGeometry {
                kernel,
                stride,
                padding,
                groups,
            }),
            outputs: o,
            positions: oh * ow,
            out_shape: vec![o, oh, ow],
            weight: w.values.clone(),
            weight_shape: w.shape.clone(),
            bias,
        })
    }

    fn neuron(&self, node: &Node, lin: &Linear) -> Result<Neuron, NirError> {
        let (o, p) = (lin.outputs, lin.positions);
        let r = node.per_channel("r", o, p, Some(1.0))?;
        if let Some(c) = r.iter().position(|&r| r <= 0.0) {
            return Err(node.err(format!(
                "r = {} in channel {c}: the resistance must be positive",
                r[c]
            )));
        }
        let kind = node.raw.kind.as_str();
        let (leak_shift, dt_over_tau) = if kind == "IF" {
            (None, 1.0)
        } else {
            let v_leak = node.per_channel("v_leak", o, p, Some(0.0))?;
            if let Some(c) = v_leak.iter().position(|&v| v != 0.0) {
                return Err(node.err(format!(
                    "v_leak = {} in channel {c}: the integer neuron leaks towards 0 only",
                    v_leak[c]
                )));
            }
            let tau = node.per_channel("tau", o, p, None)?;
            let k = self.leak_shift(node, &tau)?;
            (Some(k), self.opts.dt / tau[0])
        };
        let threshold = if kind == "LI" {
            None
        } else {
            let v_th = node.per_channel("v_threshold", o, p, None)?;
            if let Some(c) = v_th.iter().position(|&v| v <= 0.0) {
                return Err(node.err(format!(
                    "v_threshold = {} in channel {c}: thresholds must be positive",
                    v_th[c]
                )));
            }
            let v_reset = node.per_channel("v_reset", o, p, Some(0.0))?;
            if let Some(c) = v_reset.iter().position(|&v| v != 0.0) {
                return Err(node.err(format!(
                    "v_reset = {} in channel {c}: the integer neuron resets to 0 (--nir-reset zero) or by subtracting the threshold (--nir-reset subtract), not to another potential",
                    v_reset[c]
                )));
            }
            Some(v_th)
        };
        Ok(Neuron {
            node: node.name.to_string(),
            gain: r.iter().map(|r| r * dt_over_tau).collect(),
            threshold,
            leak_shift,
        })
    }

    /// The leak shift `k` with `2^k = tau / dt` (the integer LIF's
    /// `v - (v >> k)` is Euler's `v (1 - dt/tau)`), one per layer.
    fn leak_shift(&self, node: &Node, tau: &[f64]) -> Result<u8, NirError> {
        let dt = self.opts.dt;
        if let Some(c) = tau.iter().position(|&t| t <= 0.0) {
            return Err(node.err(format!(
                "tau = {} in channel {c}: time constants must be positive",
                tau[c]
            )));
        }
        if let Some(c) = tau.iter().position(|&t| !close(t, tau[0])) {
            return Err(node.err(format!(
                "tau varies across channels ({} in channel 0, {} in channel {c}): the integer model has one leak per layer",
                tau[0] as f32, tau[c] as f32
            )));
        }
        let ratio = tau[0] / dt;
        let k = ratio.log2();
        let nearest = k.round();
        if (k - nearest).abs() > 0.05 || nearest < 1.0 || nearest > f64::from(MAX_LEAK_SHIFT) {
            let suggest = (1..=MAX_LEAK_SHIFT)
                .map(|k| (k, tau[0] / f64::from(1u32 << k)))
                .min_by(|a, b| (a.0 as f64 - k).abs().total_cmp(&(b.0 as f64 - k).abs()))
                .expect("a non-empty range");
            return Err(node.err(format!(
                "tau / dt = {} / {dt} = {ratio:.4}: the integer LIF leaks v >> k, so tau / dt must be a power of two from 2 to 2^{MAX_LEAK_SHIFT}; choose --dt (e.g. --dt {} gives 2^{})",
                tau[0] as f32, suggest.1 as f32, suggest.0
            )));
        }
        Ok(nearest as u8)
    }
}
