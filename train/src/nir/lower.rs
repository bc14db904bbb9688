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

use super::graph::Order;
use super::params::{close, Node};
use super::read::RawGraph;
use super::{ImportOptions, NirError};
use spikeslice_core::model::{InputSpec, LayerSpec, ModelSpec, Tensor, FORMAT, INPUT, VERSION};
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

/// A spike tensor the graph has produced: the layer that emits it (or the
/// network's input) and what flows out of it.
#[derive(Debug, Clone)]
struct Produced {
    layer: String,
    flow: Flow,
}

/// A weighted node met so far, waiting for its neuron (through any Scales),
/// with the spikes it reads.
enum Pending {
    Linear(Linear, Produced),
    /// The last neuron, waiting for the Output to make it the readout.
    Last(Linear, Neuron, Produced),
}

/// The spikes node `p` produced, for `node` to read: a weighted node's sum
/// is only its neuron's to read.
fn spikes_of(
    produced: &BTreeMap<&str, Produced>,
    node: &Node,
    p: &str,
) -> Result<Produced, NirError> {
    produced.get(p).cloned().ok_or_else(|| {
        node.err(format!(
            "it reads {p}, a weighted sum that has its own neuron: a node reads spikes, or a weighted sum as its neuron"
        ))
    })
}

/// The graph's nodes, in `order`, onto layers: a weighted node with the neuron
/// that reads it, pools, flattens, and the sums of two inputs (a shortcut into
/// a neuron, or an add of two spike tensors; docs/nir.md, "Sums").
pub fn lower(g: &RawGraph, order: &Order, opts: &ImportOptions) -> Result<Lowered, NirError> {
    let first = &order.nodes[0];
    let input = Node {
        name: first,
        raw: &g.nodes[first],
    };
    let shape = input_shape(&input)?;
    let input_max = (1u64 << opts.input_bits) - 1;
    let input_flow = Flow {
        shape: shape.clone(),
        unit: opts.input_scale,
        max: input_max,
    };
    let mut l = Lowering {
        opts,
        layers: Vec::new(),
        tensors: BTreeMap::new(),
        notes: Vec::new(),
        flow: input_flow.clone(),
    };
    // The spikes each node has produced (a layer's, or the input's values),
    // and the weighted sums still waiting for their neurons.
    let mut produced: BTreeMap<&str, Produced> = BTreeMap::from([(
        first.as_str(),
        Produced {
            layer: INPUT.into(),
            flow: input_flow,
        },
    )]);
    let mut pending: BTreeMap<&str, Pending> = BTreeMap::new();
    for name in &order.nodes[1..] {
        let node = Node {
            name,
            raw: &g.nodes[name],
        };
        let kind = node.raw.kind.as_str();
        let preds = order.preds(name);
        if kind == "Scale" && order.succs(name).len() > 1 {
            return Err(node.err("a Scale feeds several nodes: only its neuron may read it"));
        }
        let is_last = order
            .succs(name)
            .iter()
            .any(|s| g.nodes[s].kind == "Output");
        if is_last && order.succs(name).len() > 1 {
            return Err(node.err(
                "it feeds the Output and other nodes: the network's last layer must feed only the Output",
            ));
        }
        // The weighted node (through Scales) this node continues, if any.
        let waiting: Vec<&String> = preds
            .iter()
            .filter(|p| pending.contains_key(p.as_str()))
            .collect();
        match kind {
            "Output" => {
                let [pred] = preds else {
                    return Err(node.err("the Output must have one input: the network's last layer"));
                };
                let (lin, n, from) = match pending.remove(pred.as_str()) {
                    Some(Pending::Linear(lin, from)) => (lin, None, from),
                    Some(Pending::Last(lin, n, from)) => (lin, Some(n), from),
                    None => {
                        return Err(node.err(
                            "the network must end in a weighted layer (Affine or Linear, with or without a neuron) that gives the classes",
                        ))
                    }
                };
                l.flow = from.flow;
                l.readout(lin, n)?;
                l.wire(&[from.layer]);
                break;
            }
            "Scale" => {
                let ([pred], [_]) = (preds, waiting.as_slice()) else {
                    return Err(node.err(
                        "a Scale must follow an Affine, Linear or Conv2d (it is folded into their weights)",
                    ));
                };
                let Some(Pending::Linear(mut lin, from)) = pending.remove(pred.as_str()) else {
                    return Err(node.err("a Scale after a neuron: scale the weighted node before it"));
                };
                let s = node.per_channel("scale", lin.outputs, lin.positions, None)?;
                lin.per_channel(&s, |x, f| x * f);
                pending.insert(name, Pending::Linear(lin, from));
                continue;
            }
            "IF" | "LIF" | "LI" => {
                let [lin_node] = waiting.as_slice() else {
                    return Err(node.err(if waiting.is_empty() {
                        "a neuron must follow an Affine, Linear or Conv2d: spikeslice's layers are a weighted sum and a neuron".to_string()
                    } else {
                        format!(
                            "it sums two weighted nodes ({}): a shortcut must be spikes; give one of them its own neuron",
                            preds.join(", ")
                        )
                    }));
                };
                let Some(Pending::Linear(lin, from)) = pending.remove(lin_node.as_str()) else {
                    return Err(node.err("a second neuron in a row: each neuron needs its own weighted node"));
                };
                let shortcut_node = preds.iter().find(|p| *p != *lin_node);
                let shortcut: Option<Produced> = match shortcut_node {
                    Some(p) => Some(spikes_of(&produced, &node, p)?),
                    None => None,
                };
                let n = l.neuron(&node, &lin)?;
                if is_last {
                    if let Some(sc) = shortcut_node {
                        return Err(node.err(format!(
                            "it is the network's last neuron and adds a shortcut ({sc}): a shortcut into the readout is not supported"
                        )));
                    }
                    pending.insert(name, Pending::Last(lin, n, from));
                    continue;
                }
                if n.threshold.is_none() {
                    return Err(node.err(
                        "an LI neuron emits no spikes: it can only be the last layer",
                    ));
                }
                l.flow = from.flow;
                l.spiking(&node, lin, n, shortcut.as_ref().map(|s| &s.flow))?;
                let mut wired = vec![from.layer];
                wired.extend(shortcut.map(|s| s.layer));
                l.wire(&wired);
            }
            "Affine" | "Linear" | "Conv2d" | "SumPool2d" | "AvgPool2d" | "Flatten" => {
                if let Some(prev) = waiting.first() {
                    let what = match kind {
                        "Affine" | "Linear" | "Conv2d" => "fold the two linear maps into one before export".to_string(),
                        "Flatten" => "a Flatten between a weighted node and its neuron is not supported: flatten the spikes".to_string(),
                        _ => "pooling between a weighted node and its neuron is not supported: pool the spikes, after the neuron".to_string(),
                    };
                    return Err(node.err(format!("it follows {prev} without a neuron between them: {what}")));
                }
                // Two spike tensors in: their sum first (SEW-ResNet's ADD).
                let from = match preds {
                    [one] => spikes_of(&produced, &node, one)?,
                    [a, b] => {
                        let sources = [
                            (a.as_str(), spikes_of(&produced, &node, a)?),
                            (b.as_str(), spikes_of(&produced, &node, b)?),
                        ];
                        l.add(&node, &sources)?
                    }
                    _ => return Err(node.err("it has no input")),
                };
                l.flow = from.flow.clone();
                let before = l.layers.len();
                match kind {
                    "Affine" | "Linear" | "Conv2d" => {
                        if order.succs(name).len() > 1 {
                            return Err(node.err(format!(
                                "its weighted sum feeds {} nodes ({}): only its neuron may read it",
                                order.succs(name).len(),
                                order.succs(name).join(", ")
                            )));
                        }
                        let lin = if kind == "Conv2d" { l.conv(&node)? } else { l.dense(&node)? };
                        pending.insert(name, Pending::Linear(lin, from));
                        continue;
                    }
                    "Flatten" => l.flatten(&node)?,
                    _ => l.pool(&node, kind == "AvgPool2d")?,
                }
                if l.layers.len() > before {
                    l.wire(&[from.layer]);
                } else {
                    // A flatten of a flat tensor: the same layer's spikes.
                    produced.insert(
                        name,
                        Produced {
                            layer: from.layer,
                            flow: l.flow.clone(),
                        },
                    );
                    continue;
                }
            }
            "CubaLIF" | "CubaLI" => {
                return Err(node.err(
                    "a current-based neuron (a synaptic current with its own time constant) has no counterpart in the integer neuron of docs/semantics.md: use IF or LIF",
                ))
            }
            "Input" => return Err(node.err("a second Input inside the graph")),
            other => {
                return Err(node.err(format!(
                    "node type {other} is not supported: spikeslice imports Input, Output, Affine, Linear, Conv2d, Scale, SumPool2d, AvgPool2d, Flatten, IF, LIF and LI"
                )))
            }
        }
        // The node emitted a layer: later nodes read its spikes.
        let layer = l
            .layers
            .last()
            .expect("a layer was emitted")
            .name()
            .to_string();
        produced.insert(
            name,
            Produced {
                layer,
                flow: l.flow.clone(),
            },
        );
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
    /// Name what the layer just emitted reads, where that is not the layer
    /// before it (or, for the first layer, the network's input): a chain's
    /// layers keep no `inputs`, as the model format writes chains.
    fn wire(&mut self, sources: &[String]) {
        let n = self.layers.len();
        let previous = match n {
            0 | 1 => INPUT.to_string(),
            _ => self.layers[n - 2].name().to_string(),
        };
        if sources.len() > 1 || sources.first() != Some(&previous) {
            if let Some(inputs) = self.layers.last_mut().map(LayerSpec::inputs_mut) {
                *inputs = sources.to_vec();
            }
        }
    }

    /// Two spike tensors that meet at a node: an `add` layer of their sum
    /// (SEW-ResNet), one bit wider than the wider; both must be spikes of
    /// one shape and unit.
    /// `sources` are the NIR nodes summed, and what they produced.
    fn add(&mut self, node: &Node, sources: &[(&str, Produced); 2]) -> Result<Produced, NirError> {
        let [(na, a), (nb, b)] = sources;
        if a.flow.shape != b.flow.shape {
            return Err(node.err(format!(
                "it sums {na} ({:?}) and {nb} ({:?}): a sum needs two tensors of one shape",
                a.flow.shape, b.flow.shape
            )));
        }
        if !close(a.flow.unit, b.flow.unit) {
            return Err(node.err(format!(
                "it sums {na} and {nb}, whose values have different units ({} and {}): spikes and input values add only when one input step is one spike (--input-scale 1)",
                a.flow.unit, b.flow.unit
            )));
        }
        let name = self.unique_name(&format!("{}_add", node.name));
        self.layers.push(LayerSpec::Add {
            name: name.clone(),
            inputs: vec![a.layer.clone(), b.layer.clone()],
        });
        Ok(Produced {
            layer: name,
            flow: Flow {
                shape: a.flow.shape.clone(),
                unit: a.flow.unit,
                max: a.flow.max + b.flow.max,
            },
        })
    }

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
