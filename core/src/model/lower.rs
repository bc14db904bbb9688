//! Validation and lowering of a spec plus tensors into [`NeuronLayer`]s
//! (docs/semantics.md §2).

use super::graph::{self, Graph, Shape};
use super::spec::{dynamics_of, LayerSpec, ModelSpec, NeuronSpec, PoolMode};
use super::tensors::{Tensor, TensorData};
use super::wiring::{Shortcut, Source, Wiring};
use super::ModelError;
use crate::golden::{LayerOutput, NeuronLayer, Synapses, PAD};
use crate::neuron::{Dynamics, Reset};
use crate::numeric::{SpikeBits, WeightBits};
use std::collections::{BTreeMap, BTreeSet};

/// Largest weight count, neuron count or gather table a layer may have: far
/// beyond any network this accelerator runs, small enough that a corrupt spec
/// cannot make us allocate gigabytes.
const MAX_ELEMENTS: usize = 1 << 28;

fn check_size(layer: &str, what: &str, n: usize) -> Result<(), ModelError> {
    if n == 0 {
        return Err(ModelError::layer(layer, format!("{what} is zero")));
    }
    if n > MAX_ELEMENTS {
        return Err(ModelError::layer(
            layer,
            format!("{what} is {n}, more than the supported {MAX_ELEMENTS}"),
        ));
    }
    Ok(())
}

/// Lower the whole model, checking every layer and tensor: its compute
/// layers and what each reads.
pub fn lower(
    spec: &ModelSpec,
    tensors: &BTreeMap<String, Tensor>,
) -> Result<(Vec<NeuronLayer>, Vec<Wiring>), ModelError> {
    let shape = match spec.input.shape.as_slice() {
        [n] => Shape::Flat(*n),
        [c, h, w] => Shape::Map {
            c: *c,
            h: *h,
            w: *w,
        },
        other => {
            return Err(ModelError::Model(format!(
                "input shape {other:?} must be [N] or [C, H, W]"
            )))
        }
    };
    if shape.len() == 0 || shape.len() > MAX_ELEMENTS {
        return Err(ModelError::Model(format!(
            "input shape {} has {} values: it must have 1..={MAX_ELEMENTS}",
            shape.describe(),
            shape.len()
        )));
    }
    if spec.layers.is_empty() {
        return Err(ModelError::Model("the model has no layers".into()));
    }
    let mut names = BTreeSet::new();
    for (i, l) in spec.layers.iter().enumerate() {
        let name = l.name();
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err(ModelError::Model(format!(
                "layer {i} has name {name:?}: names must be non-empty and use only letters, digits, '_' and '-'"
            )));
        }
        if !names.insert(name) {
            return Err(ModelError::layer(name, "the name is used by another layer"));
        }
        if name == graph::INPUT {
            return Err(ModelError::layer(
                name,
                format!(
                    "{:?} names the network's input in `inputs`: rename the layer",
                    graph::INPUT
                ),
            ));
        }
        let is_last = i + 1 == spec.layers.len();
        match (l, is_last) {
            (LayerSpec::Readout { .. }, false) => {
                return Err(ModelError::layer(name, "a readout must be the last layer"))
            }
            (LayerSpec::Readout { .. }, true) => {}
            (_, true) => {
                return Err(ModelError::layer(
                    name,
                    format!(
                        "the last layer is a {}; a model must end with a readout layer",
                        l.kind()
                    ),
                ))
            }
            _ => {}
        }
    }
    let mut used = BTreeSet::new();
    let mut graph = Graph::new(
        &spec.layers,
        graph::Tensor {
            shape,
            bits: spec.input.bits,
            source: Source::Input,
        },
    );
    let mut layers = Vec::new();
    let mut wiring = Vec::new();
    for l in &spec.layers {
        let name = l.name();
        let inputs = graph.inputs(l)?;
        let graph::Tensor {
            shape,
            bits,
            source,
        } = inputs[0];
        let neurons = match (l, Neurons::of(l)) {
            (LayerSpec::Add { .. }, _) => Neurons::Spiking(sum_neuron(name, bits, inputs[1].bits)?),
            (_, Some(neurons)) => neurons,
            (_, None) => {
                // A flatten: the same values, in one dimension.
                let flat = Shape::Flat(shape.len());
                graph.define(
                    name,
                    graph::Tensor {
                        shape: flat,
                        ..inputs[0]
                    },
                );
                continue;
            }
        };
        let (synapses, weight_bits, params, next) = match l {
            LayerSpec::Dense {
                outputs,
                weight_bits,
                ..
            }
            | LayerSpec::Readout {
                outputs,
                weight_bits,
                ..
            } => {
                let what = match neurons {
                    Neurons::Spiking(_) => "a dense layer",
                    Neurons::Readout { .. } => "a readout",
                };
                let k = shape.flat(name, what)?;
                let synapses = Synapses::dense(*outputs, k, Vec::new());
                let params = Params::Read(vec![*outputs, k]);
                (synapses, *weight_bits, params, Shape::Flat(*outputs))
            }
            LayerSpec::Conv2d {
                out_channels,
                kernel,
                stride,
                padding,
                groups,
                weight_bits,
                ..
            } => {
                let (c, h, w) = shape.map(name, "conv2d")?;
                let geo = Geometry::new(
                    name,
                    (c, h, w),
                    *out_channels,
                    *kernel,
                    *stride,
                    *padding,
                    *groups,
                )?;
                let synapses = geo.synapses(Vec::new());
                debug_assert_eq!(synapses.fan_in, (c / groups) * kernel[0] * kernel[1]);
                let params = Params::Read(vec![*out_channels, c / groups, kernel[0], kernel[1]]);
                (synapses, *weight_bits, params, geo.output_shape())
            }
            LayerSpec::Pool {
                mode,
                kernel,
                stride,
                threshold,
                v_init,
                ..
            } => {
                let (c, h, w) = shape.map(name, "pooling")?;
                let geo = Geometry::new(name, (c, h, w), c, [*kernel; 2], [*stride; 2], [0, 0], c)?;
                // Pooling is a depthwise conv with every weight +1, which b_w = 1
                // represents exactly; average pooling divides by the window by
                // scaling the threshold and the initial membrane.
                let area = (kernel * kernel) as i64;
                let scale = match mode {
                    PoolMode::Sum => 1,
                    PoolMode::Avg => area,
                };
                let th = i64::from(*threshold) * scale;
                let v0 = i64::from(*v_init) * scale;
                let to_i32 = |v: i64, what: &str| {
                    i32::try_from(v).map_err(|_| {
                        ModelError::layer(
                            name,
                            format!("{what} scaled by the window ({v}) does not fit 32 bits"),
                        )
                    })
                };
                let (th, v0) = (to_i32(th, "threshold")?, to_i32(v0, "v_init")?);
                let synapses = geo.synapses(vec![1i8; c * kernel * kernel]);
                let weight_bits = WeightBits::new(1).expect("1 is a valid width");
                let params = Params::Given(NeuronParams {
                    bias: vec![0; c],
                    threshold: vec![th; c],
                    v_init: vec![v0; c],
                });
                (synapses, weight_bits, params, geo.output_shape())
            }
            LayerSpec::Add { .. } => {
                if inputs[1].shape != shape {
                    return Err(ModelError::layer(
                        name,
                        format!(
                            "adds {} ({}) and {} ({}): an add needs two inputs of one shape",
                            shape.describe(),
                            l.inputs()[0],
                            inputs[1].shape.describe(),
                            l.inputs()[1]
                        ),
                    ));
                }
                // The first input through a depthwise 1x1 conv of weight +1, the
                // second as a shortcut of weight 1, into neurons of threshold 1
                // that emit their whole current: exactly the sum (§2, "Add").
                let (c, h, w) = match shape {
                    Shape::Flat(n) => (n, 1, 1),
                    Shape::Map { c, h, w } => (c, h, w),
                };
                let geo = Geometry::new(name, (c, h, w), c, [1, 1], [1, 1], [0, 0], c)?;
                let synapses = geo.synapses(vec![1i8; c]);
                let weight_bits = WeightBits::new(1).expect("1 is a valid width");
                let params = Params::Given(NeuronParams {
                    bias: vec![0; c],
                    threshold: vec![1; c],
                    v_init: vec![0; c],
                });
                (synapses, weight_bits, params, shape)
            }
            LayerSpec::Flatten { .. } => unreachable!("a flatten has no neurons"),
        };
        let shortcut = match (l, inputs.get(1)) {
            (LayerSpec::Add { .. }, Some(b)) => Some(Shortcut {
                from: b.source,
                weight: 1,
                bits: b.bits,
            }),
            (_, Some(s)) => Some(shortcut(l, weight_bits, next, s)?),
            (_, None) => {
                if shortcut_weight(l).is_some() {
                    return Err(ModelError::layer(
                        name,
                        "`shortcut_weight` is given but `inputs` names no shortcut: name it second",
                    ));
                }
                None
            }
        };
        let parts = LayerParts {
            name,
            synapses,
            weight_bits,
            input_bits: bits,
            neurons,
        };
        let layer = match params {
            Params::Read(weight_shape) => parts.read(tensors, &mut used, &weight_shape)?,
            Params::Given(p) => parts.build(p)?,
        };
        let out_bits = match neurons {
            Neurons::Spiking(n) => n.spike_bits,
            Neurons::Readout { .. } => bits,
        };
        graph.define(
            name,
            graph::Tensor {
                shape: next,
                bits: out_bits,
                source: Source::Layer(layers.len()),
            },
        );
        layers.push(layer);
        wiring.push(Wiring {
            input: source,
            shortcut,
        });
    }
    graph.check_all_read()?;
    if let Some(extra) = tensors.keys().find(|t| !used.contains(t.as_str())) {
        return Err(ModelError::ExtraTensor {
            tensor: extra.clone(),
        });
    }
    Ok((layers, wiring))
}

/// The neuron of an add: threshold 1, no leak, soft reset, one bit wider than
/// its wider input, so it emits the sum of its inputs unclamped (§2, "Add").
fn sum_neuron(name: &str, a: SpikeBits, b: SpikeBits) -> Result<NeuronSpec, ModelError> {
    let wide = a.get().max(b.get()) + 1;
    let spike_bits = SpikeBits::new(u32::from(wide)).map_err(|_| {
        ModelError::layer(
            name,
            format!(
                "the sum of {}-bit and {}-bit spikes needs {wide} bits, more than spikes have: \
                 lower the inputs' spike_bits",
                a.get(),
                b.get()
            ),
        )
    })?;
    Ok(NeuronSpec {
        spike_bits,
        reset: Reset::Soft,
        leak_shift: None,
    })
}

fn shortcut_weight(l: &LayerSpec) -> Option<i32> {
    match l {
        LayerSpec::Dense {
            shortcut_weight, ..
        }
        | LayerSpec::Conv2d {
            shortcut_weight, ..
        }
        | LayerSpec::Readout {
            shortcut_weight, ..
        } => *shortcut_weight,
        _ => None,
    }
}

/// The shortcut of a dense, conv or readout layer: the second of its `inputs`,
/// of its output's shape, added to its current times `shortcut_weight`
/// (default 1), a weight of the layer's `b_w` range.
fn shortcut(
    l: &LayerSpec,
    weight_bits: WeightBits,
    output: Shape,
    from: &graph::Tensor,
) -> Result<Shortcut, ModelError> {
    let name = l.name();
    if from.shape != output {
        return Err(ModelError::layer(
            name,
            format!(
                "its shortcut {:?} is {}, its output {}: a shortcut needs the output's shape",
                l.inputs()[1],
                from.shape.describe(),
                output.describe()
            ),
        ));
    }
    let weight = shortcut_weight(l).unwrap_or(1);
    if !weight_bits.contains(weight) {
        return Err(ModelError::layer(
            name,
            format!(
                "shortcut_weight = {weight} is outside the b_w = {} range {}",
                weight_bits.get(),
                weight_range(weight_bits)
            ),
        ));
    }
    Ok(Shortcut {
        from: from.source,
        weight,
        bits: from.bits,
    })
}

/// The neurons of a layer: a spiking layer's, or the readout's.
#[derive(Debug, Clone, Copy)]
enum Neurons {
    Spiking(NeuronSpec),
    Readout { leak_shift: Option<u8> },
}

impl Neurons {
    /// The neurons a layer's spec gives; `None` for a flatten, which has none,
    /// and an add, whose neuron follows from its inputs ([`sum_neuron`]).
    fn of(l: &LayerSpec) -> Option<Self> {
        match l {
            LayerSpec::Dense { neuron, .. }
            | LayerSpec::Conv2d { neuron, .. }
            | LayerSpec::Pool { neuron, .. } => Some(Neurons::Spiking(*neuron)),
            LayerSpec::Readout { leak_shift, .. } => Some(Neurons::Readout {
                leak_shift: *leak_shift,
            }),
            LayerSpec::Flatten { .. } | LayerSpec::Add { .. } => None,
        }
    }
}

/// Where a layer's weights and per-output parameters come from.
enum Params {
    /// The tensors, the weights of this shape.
    Read(Vec<usize>),
    /// Fixed by the spec (pooling).
    Given(NeuronParams),
}

/// Per-output-channel parameters of a layer's neurons.
struct NeuronParams {
    bias: Vec<i32>,
    /// Empty for a readout.
    threshold: Vec<i32>,
    v_init: Vec<i32>,
}

/// A layer before its per-output parameters: what every kind of layer
/// lowers to.
struct LayerParts<'n> {
    name: &'n str,
    synapses: Synapses,
    weight_bits: WeightBits,
    input_bits: SpikeBits,
    neurons: Neurons,
}

impl LayerParts<'_> {
    /// The layer with these parameters, checked.
    fn build(self, p: NeuronParams) -> Result<NeuronLayer, ModelError> {
        let (leak_shift, reset, output) = match self.neurons {
            Neurons::Spiking(n) => (
                n.leak_shift,
                n.reset,
                LayerOutput::Spikes {
                    bits: n.spike_bits.get(),
                },
            ),
            Neurons::Readout { leak_shift } => (leak_shift, Reset::Soft, LayerOutput::Membrane),
        };
        let layer = NeuronLayer {
            name: self.name.to_string(),
            synapses: self.synapses,
            weight_bits: self.weight_bits,
            input_bits: self.input_bits,
            neurons: crate::golden::Neurons {
                bias: p.bias,
                threshold: p.threshold,
                v_init: p.v_init,
                dynamics: dynamics_of(leak_shift).map_err(|m| ModelError::layer(self.name, m))?,
                reset,
                output,
            },
        };
        validate_neuron_layer(&layer)?;
        Ok(layer)
    }

    /// A dense, conv or readout layer: its weights and parameters read from
    /// the tensors and checked.
    fn read(
        mut self,
        tensors: &BTreeMap<String, Tensor>,
        used: &mut BTreeSet<String>,
        weight_shape: &[usize],
    ) -> Result<NeuronLayer, ModelError> {
        let name = self.name;
        let o = self.synapses.outputs;
        check_size(name, "the output count", o)?;
        check_size(name, "the weight count", weight_shape.iter().product())?;
        self.synapses.weights = take_as::<i8>(name, tensors, used, "weight", weight_shape)?;
        let mut per_output = |suffix| take_as::<i32>(name, tensors, used, suffix, &[o]);
        let bias = per_output("bias")?;
        let v_init = per_output("v_init")?;
        let threshold = match self.neurons {
            Neurons::Spiking(_) => per_output("threshold")?,
            Neurons::Readout { .. } => Vec::new(),
        };
        self.build(NeuronParams {
            bias,
            threshold,
            v_init,
        })
    }
}

/// Output geometry of a convolution.
struct Geometry {
    c: usize,
    h: usize,
    w: usize,
    o: usize,
    k: [usize; 2],
    s: [usize; 2],
    pad: [usize; 2],
    groups: usize,
    oh: usize,
    ow: usize,
}

impl Geometry {
    fn new(
        name: &str,
        (c, h, w): (usize, usize, usize),
        o: usize,
        k: [usize; 2],
        s: [usize; 2],
        pad: [usize; 2],
        groups: usize,
    ) -> Result<Self, ModelError> {
        let err = |m: String| Err(ModelError::layer(name, m));
        if k.contains(&0) || s.contains(&0) {
            return err(format!("kernel {k:?} and stride {s:?} must be at least 1"));
        }
        if groups == 0 || c % groups != 0 || !o.is_multiple_of(groups) {
            return err(format!(
                "groups = {groups} must divide both the input channels ({c}) and the output channels ({o})"
            ));
        }
        if pad[0] >= k[0] || pad[1] >= k[1] {
            return err(format!(
                "padding {pad:?} must be smaller than the kernel {k:?}"
            ));
        }
        let (ph, pw) = (h + 2 * pad[0], w + 2 * pad[1]);
        if k[0] > ph || k[1] > pw {
            return err(format!(
                "kernel {k:?} is larger than the padded input {ph}x{pw}"
            ));
        }
        let oh = (ph - k[0]) / s[0] + 1;
        let ow = (pw - k[1]) / s[1] + 1;
        check_size(name, "the output size", o * oh * ow)?;
        check_size(
            name,
            "the gather table",
            groups * oh * ow * (c / groups) * k[0] * k[1],
        )?;
        Ok(Self {
            c,
            h,
            w,
            o,
            k,
            s,
            pad,
            groups,
            oh,
            ow,
        })
    }

    /// The output map's shape.
    fn output_shape(&self) -> Shape {
        Shape::Map {
            c: self.o,
            h: self.oh,
            w: self.ow,
        }
    }

    /// Synapses with an im2col gather table: `k = (ic * KH + ky) * KW + kx`.
    fn synapses(&self, weights: Vec<i8>) -> Synapses {
        let cg = self.c / self.groups;
        let fan_in = cg * self.k[0] * self.k[1];
        let positions = self.oh * self.ow;
        let mut gather = Vec::with_capacity(self.groups * positions * fan_in);
        for g in 0..self.groups {
            for oy in 0..self.oh {
                for ox in 0..self.ow {
                    for icl in 0..cg {
                        let ic = g * cg + icl;
                        for ky in 0..self.k[0] {
                            for kx in 0..self.k[1] {
                                let iy = (oy * self.s[0] + ky) as isize - self.pad[0] as isize;
                                let ix = (ox * self.s[1] + kx) as isize - self.pad[1] as isize;
                                let inside = iy >= 0
                                    && ix >= 0
                                    && (iy as usize) < self.h
                                    && (ix as usize) < self.w;
                                gather.push(if inside {
                                    (ic * self.h * self.w + iy as usize * self.w + ix as usize)
                                        as u32
                                } else {
                                    PAD
                                });
                            }
                        }
                    }
                }
            }
        }
        Synapses {
            outputs: self.o,
            positions,
            fan_in,
            groups: self.groups,
            input_len: self.c * self.h * self.w,
            weights,
            gather: Some(gather),
        }
    }
}

/// An element type a tensor can hold, with its dtype name for messages.
trait Element: Clone + Sized {
    const DTYPE: &'static str;
    fn values(data: &TensorData) -> Option<&Vec<Self>>;
}

/// [`Element`] for the type a [`TensorData`] variant holds, named after it.
macro_rules! element {
    ($t:ty, $variant:ident) => {
        impl Element for $t {
            const DTYPE: &'static str = stringify!($variant);
            fn values(data: &TensorData) -> Option<&Vec<$t>> {
                match data {
                    TensorData::$variant(v) => Some(v),
                    _ => None,
                }
            }
        }
    };
}

element!(i8, I8);
element!(i32, I32);

/// The tensor `{layer}.{suffix}` of `shape`, as elements of type `T`.
fn take_as<T: Element>(
    layer: &str,
    tensors: &BTreeMap<String, Tensor>,
    used: &mut BTreeSet<String>,
    suffix: &str,
    shape: &[usize],
) -> Result<Vec<T>, ModelError> {
    let t = take(layer, tensors, used, suffix, shape)?;
    T::values(&t.data).cloned().ok_or_else(|| {
        ModelError::tensor(
            &format!("{layer}.{suffix}"),
            format!("has dtype {}, expected {}", t.dtype_name(), T::DTYPE),
        )
    })
}

fn take<'a>(
    layer: &str,
    tensors: &'a BTreeMap<String, Tensor>,
    used: &mut BTreeSet<String>,
    suffix: &str,
    shape: &[usize],
) -> Result<&'a Tensor, ModelError> {
    let name = format!("{layer}.{suffix}");
    let t = tensors
        .get(&name)
        .ok_or_else(|| ModelError::MissingTensor {
            tensor: name.clone(),
            layer: layer.to_string(),
        })?;
    if t.shape != shape {
        return Err(ModelError::tensor(
            &name,
            format!("has shape {:?}, expected {shape:?}", t.shape),
        ));
    }
    used.insert(name);
    Ok(t)
}

/// The weights `bits` can hold, for messages: `{-1, +1}` at one bit (no 0),
/// else `[min, max]`.
fn weight_range(bits: WeightBits) -> String {
    if bits.get() == 1 {
        "{-1, +1}".to_string()
    } else {
        format!("[{}, {}]", bits.min_weight(), bits.max_weight())
    }
}

/// Check a lowered layer's internal consistency and value ranges.
pub fn validate_neuron_layer(l: &NeuronLayer) -> Result<(), ModelError> {
    let name = l.name.as_str();
    let err = |m: String| Err(ModelError::layer(name, m));
    let (s, neurons) = (&l.synapses, &l.neurons);
    if s.outputs == 0 || s.positions == 0 || s.fan_in == 0 || s.groups == 0 {
        return err("outputs, positions, fan-in and groups must all be at least 1".into());
    }
    if s.outputs % s.groups != 0 {
        return err(format!(
            "{} outputs do not divide into {} groups",
            s.outputs, s.groups
        ));
    }
    if s.weights.len() != s.outputs * s.fan_in {
        return err(format!(
            "{} weights given, expected outputs x fan-in = {} x {}",
            s.weights.len(),
            s.outputs,
            s.fan_in
        ));
    }
    match &s.gather {
        None => {
            if s.groups != 1 || s.positions != 1 || s.fan_in != s.input_len {
                return err("a layer without a gather table must be dense (1 group, 1 position, fan-in = inputs)".into());
            }
        }
        Some(g) => {
            if g.len() != s.groups * s.positions * s.fan_in {
                return err("gather table has the wrong size".into());
            }
            if g.iter().any(|&i| i != PAD && i as usize >= s.input_len) {
                return err("gather table reads outside the input".into());
            }
        }
    }
    let per_out = [
        ("bias", neurons.bias.len()),
        ("v_init", neurons.v_init.len()),
    ];
    for (what, n) in per_out {
        if n != s.outputs {
            return err(format!(
                "{what} has {n} values, expected one per output ({})",
                s.outputs
            ));
        }
    }
    if let Some((k, &w)) = s
        .weights
        .iter()
        .enumerate()
        .find(|(_, &w)| !l.weight_bits.contains(i32::from(w)))
    {
        let (o, i) = (k / s.fan_in, k % s.fan_in);
        return err(format!(
            "weight[{o}][{i}] = {w} is outside the b_w = {} range {}",
            l.weight_bits.get(),
            weight_range(l.weight_bits)
        ));
    }
    if let Dynamics::Lif { leak_shift } = neurons.dynamics {
        if !(1..=crate::neuron::MAX_LEAK_SHIFT).contains(&leak_shift) {
            return err(format!("leak_shift = {leak_shift} is out of range"));
        }
    }
    match neurons.output {
        LayerOutput::Spikes { bits } => {
            SpikeBits::new(u32::from(bits)).map_err(|e| ModelError::layer(name, e))?;
            if neurons.threshold.len() != s.outputs {
                return err(format!(
                    "threshold has {} values, expected one per output ({})",
                    neurons.threshold.len(),
                    s.outputs
                ));
            }
            if let Some((o, &t)) = neurons.threshold.iter().enumerate().find(|(_, &t)| t <= 0) {
                return err(format!("threshold[{o}] = {t}: thresholds must be positive"));
            }
        }
        LayerOutput::Membrane => {}
    }
    Ok(())
}
