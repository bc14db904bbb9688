//! The layers of the integer model, emitted as the lowering meets them:
//! weights quantized per layer (symmetric, max-abs: BB paper Eq. 5), biases
//! and thresholds in the layer's current unit (see [`super::lower`]).

use super::lower::{Flow, Linear, Lowering, Neuron};
use super::params::Node;
use super::{NirError, NirReset};
use spikeslice_core::model::{LayerSpec, NeuronSpec, PoolMode, Tensor};
use spikeslice_core::neuron::Reset;
use spikeslice_core::numeric::{SpikeBits, WeightBits};

/// A layer's integer weights and biases, and the float value of one unit of
/// its current.
struct Quantized {
    weight: Vec<i8>,
    bias: Vec<i32>,
    unit: f64,
}

/// Bits that hold `0..=max`.
fn bits_for(max: u64) -> u32 {
    64 - max.max(1).leading_zeros()
}

impl Lowering<'_> {
    /// Quantize `lin` with each channel's row multiplied by `gain[c]`. With a
    /// shortcut whose values have float unit `shortcut`, the current's unit is
    /// chosen so the shortcut's weight is a whole code `m` of `b_w` (the
    /// largest that keeps every weight within the codes: the scale is at most
    /// one code coarser per weight than without a shortcut), and `m` is returned.
    fn quantize(
        &self,
        lin: &Linear,
        gain: &[f64],
        b_w: WeightBits,
        shortcut: Option<f64>,
    ) -> Result<(Quantized, Option<i32>), NirError> {
        let row = lin.weight.len() / lin.outputs;
        let w: Vec<f64> = lin
            .weight
            .iter()
            .enumerate()
            .map(|(i, &w)| w * gain[i / row])
            .collect();
        let top = f64::from(b_w.max_weight());
        let mut scale = if b_w.get() == 1 {
            // Binary weights: the sign, scaled by the mean magnitude (the
            // L1-optimal scale of a sign quantizer).
            let mean = w.iter().map(|w| w.abs()).sum::<f64>() / w.len().max(1) as f64;
            if mean > 0.0 {
                mean
            } else {
                1.0
            }
        } else {
            let max = w.iter().fold(0.0f64, |m, w| m.max(w.abs()));
            if max > 0.0 {
                max / top
            } else {
                1.0
            }
        };
        let m = match shortcut {
            None => None,
            Some(sc) => {
                let natural = sc / (scale * self.flow.unit);
                let m = if b_w.get() == 1 {
                    1.0
                } else {
                    (natural + 1e-9).floor().min(top)
                };
                if m < 1.0 {
                    return Err(NirError::Node {
                        node: lin.node.clone(),
                        message: format!(
                            "its shortcut adds {sc} per unit, {natural:.3} steps of its {}-bit weights: less than one step (raise --alloc's b_w)",
                            b_w.get()
                        ),
                    });
                }
                scale = sc / (m * self.flow.unit);
                Some(m as i32)
            }
        };
        let codes: Vec<i8> = if b_w.get() == 1 {
            w.iter().map(|&w| if w < 0.0 { -1 } else { 1 }).collect()
        } else {
            w.iter()
                .map(|&w| (w / scale).round().clamp(-top, top) as i8)
                .collect()
        };
        let unit = scale * self.flow.unit;
        let bias = lin
            .bias
            .iter()
            .zip(gain)
            .enumerate()
            .map(|(c, (b, g))| to_i32(&lin.node, "bias", c, b * g / unit))
            .collect::<Result<_, _>>()?;
        Ok((
            Quantized {
                weight: codes,
                bias,
                unit,
            },
            m,
        ))
    }

    fn add_tensors(
        &mut self,
        name: &str,
        shape: &[usize],
        q: Quantized,
        threshold: Option<Vec<i32>>,
    ) {
        let o = q.bias.len();
        self.tensors.insert(
            format!("{name}.weight"),
            Tensor::i8(shape.to_vec(), q.weight),
        );
        self.tensors
            .insert(format!("{name}.bias"), Tensor::i32(vec![o], q.bias));
        self.tensors
            .insert(format!("{name}.v_init"), Tensor::i32(vec![o], vec![0; o]));
        if let Some(t) = threshold {
            self.tensors
                .insert(format!("{name}.threshold"), Tensor::i32(vec![o], t));
        }
    }

    /// A weighted layer and its spiking neuron, with the spikes (or input) of
    /// `shortcut` added to its current (Spiking ResNet: NIR sums a node's
    /// inputs), of the layer's output shape.
    pub(super) fn spiking(
        &mut self,
        node: &Node,
        lin: Linear,
        n: Neuron,
        shortcut: Option<&Flow>,
    ) -> Result<(), NirError> {
        let b_w = self.weight_bits()?;
        let b_s = SpikeBits::new(self.opts.alloc.b_s)
            .map_err(|e| NirError::Options(format!("--alloc: {e}")))?;
        if let Some(sc) = shortcut {
            if sc.shape != lin.out_shape {
                return Err(node.err(format!(
                    "it adds a shortcut of shape {:?} to {}'s output of shape {:?}: a shortcut needs the output's shape",
                    sc.shape, lin.node, lin.out_shape
                )));
            }
        }
        // The shortcut's values are its unit times an integer; the neuron's
        // gain (r) multiplies it as it does the weighted sum.
        let gain0 = n.gain.first().copied().unwrap_or(1.0);
        if shortcut.is_some() && n.gain.iter().any(|&g| !super::params::close(g, gain0)) {
            return Err(node.err(
                "its r (or dt/tau) varies across channels: a shortcut needs one gain for the layer",
            ));
        }
        let (q, shortcut_weight) =
            self.quantize(&lin, &n.gain, b_w, shortcut.map(|s| s.unit * gain0))?;
        let v_th = n
            .threshold
            .as_ref()
            .expect("a spiking neuron has a threshold");
        let threshold = v_th
            .iter()
            .enumerate()
            .map(|(c, &v)| self.integer_threshold(&n.node, c, v / q.unit))
            .collect::<Result<Vec<_>, _>>()?;
        let name = self.unique_name(&lin.node);
        let neuron = NeuronSpec {
            spike_bits: b_s,
            reset: match self.opts.reset {
                NirReset::Zero => Reset::Hard,
                NirReset::Subtract => Reset::Soft,
            },
            leak_shift: n.leak_shift,
        };
        let spec = match &lin.conv {
            None => LayerSpec::Dense {
                inputs: Vec::new(),
                shortcut_weight,
                name: name.clone(),
                outputs: lin.outputs,
                weight_bits: b_w,
                neuron,
            },
            Some(g) => LayerSpec::Conv2d {
                inputs: Vec::new(),
                shortcut_weight,
                name: name.clone(),
                out_channels: lin.outputs,
                kernel: g.kernel,
                stride: g.stride,
                padding: g.padding,
                groups: g.groups,
                weight_bits: b_w,
                neuron,
            },
        };
        self.add_tensors(&name, &lin.weight_shape, q, Some(threshold));
        self.layers.push(spec);
        self.flow = Flow {
            shape: lin.out_shape,
            unit: 1.0,
            max: u64::from(spikeslice_core::numeric::mask(b_s.get())),
        };
        Ok(())
    }

    /// The integer threshold of a membrane that fires at `v > q` (NIR's
    /// strict comparison; exact on integer membranes when resetting to zero),
    /// or at `v >= round(q)` when resetting by subtraction, where the
    /// subtracted amount must be the threshold itself.
    fn integer_threshold(&self, node: &str, c: usize, q: f64) -> Result<i32, NirError> {
        let t = match self.opts.reset {
            NirReset::Zero => {
                let n = q.round();
                if (q - n).abs() <= 1e-9 * q.abs().max(1.0) {
                    n + 1.0
                } else {
                    q.floor() + 1.0
                }
            }
            NirReset::Subtract => q.round().max(1.0),
        };
        to_i32(node, "v_threshold", c, t)
    }

    /// The network's last layer: the readout, whose final membranes give the
    /// class. A last layer that spikes (classes by spike count) becomes a
    /// readout of its current divided by each class's threshold: a
    /// subtracting neuron's spike count is that sum over the threshold, up to
    /// a spike.
    pub(super) fn readout(&mut self, mut lin: Linear, n: Option<Neuron>) -> Result<(), NirError> {
        if lin.conv.is_some() {
            return Err(NirError::Node {
                node: lin.node.clone(),
                message: "the last weighted layer is a Conv2d: the readout must be dense (add Flatten and Affine)".into(),
            });
        }
        let (gain, leak_shift) = match &n {
            None => (vec![1.0; lin.outputs], None),
            Some(n) => (n.gain.clone(), n.leak_shift),
        };
        if let Some(v_th) = n.as_ref().and_then(|n| n.threshold.as_ref()) {
            lin.per_channel(v_th, |x, t| x / t);
            self.notes.push(format!(
                "{} spikes: imported as the readout, whose class is the largest current over threshold (the most spikes, up to one)",
                n.as_ref().map_or("", |n| n.node.as_str())
            ));
        }
        let b_w = self.weight_bits()?;
        let (q, _) = self.quantize(&lin, &gain, b_w, None)?;
        let name = self.unique_name(&lin.node);
        self.add_tensors(&name, &lin.weight_shape, q, None);
        self.layers.push(LayerSpec::Readout {
            inputs: Vec::new(),
            shortcut_weight: None,
            name,
            outputs: lin.outputs,
            weight_bits: b_w,
            leak_shift,
        });
        Ok(())
    }

    /// SumPool2d or AvgPool2d on spikes: a pooling layer whose neuron passes
    /// the window's sum through exactly (threshold 1, wide enough spikes); an
    /// average's `1/k^2` goes into the unit, so the next layer's weights take it.
    pub(super) fn pool(&mut self, node: &Node, avg: bool) -> Result<(), NirError> {
        let [c, h, w] = self.flow.shape[..] else {
            return Err(node.err(format!(
                "its input has shape {:?}: pooling needs [C, H, W]",
                self.flow.shape
            )));
        };
        let k = node
            .pair("kernel_size")?
            .ok_or_else(|| node.err("field `kernel_size` is missing"))?;
        let s = node.pair("stride")?.unwrap_or(k);
        if let Some(p) = node.pair("padding")? {
            if p != [0, 0] {
                return Err(node.err(format!(
                    "padding {p:?} is not supported: pool without padding"
                )));
            }
        }
        if k[0] != k[1] || s[0] != s[1] || k[0] == 0 || s[0] == 0 {
            return Err(node.err(format!(
                "kernel {k:?} and stride {s:?}: spikeslice pools with square windows and equal strides"
            )));
        }
        let (k, s) = (k[0], s[0]);
        if k > h || k > w {
            return Err(node.err(format!("kernel {k} is larger than the {h}x{w} input")));
        }
        let area = (k * k) as u64;
        let max = self.flow.max * area;
        let bits = bits_for(max);
        let spike_bits = SpikeBits::new(bits).map_err(|_| {
            node.err(format!(
                "its window sums up to {max}, which needs {bits}-bit spikes (at most 8): lower --alloc's b_s or --input-bits"
            ))
        })?;
        let name = self.unique_name(node.name);
        self.layers.push(LayerSpec::Pool {
            inputs: Vec::new(),
            name,
            mode: PoolMode::Sum,
            kernel: k,
            stride: s,
            threshold: 1,
            v_init: 0,
            neuron: NeuronSpec {
                spike_bits,
                reset: Reset::Soft,
                leak_shift: None,
            },
        });
        self.flow = Flow {
            shape: vec![c, (h - k) / s + 1, (w - k) / s + 1],
            unit: if avg {
                self.flow.unit / area as f64
            } else {
                self.flow.unit
            },
            max,
        };
        Ok(())
    }

    /// Flatten: channel-major, as the model format stores maps. Files that
    /// counted a batch axis (`start_dim = 1` on an unbatched `[C, H, W]`)
    /// flatten the same way.
    pub(super) fn flatten(&mut self, node: &Node) -> Result<(), NirError> {
        let start = match node.optional("start_dim")? {
            Some(a) if a.len() == 1 => a.values[0],
            _ => 0.0,
        };
        if start > 1.0 {
            return Err(node.err(format!(
                "start_dim = {start} keeps the channel axis: only a full flatten is supported"
            )));
        }
        if self.flow.shape.len() > 1 {
            let name = self.unique_name(node.name);
            self.layers.push(LayerSpec::Flatten {
                inputs: Vec::new(),
                name,
            });
            self.flow.shape = vec![self.flow.shape.iter().product()];
        }
        Ok(())
    }
}

fn to_i32(node: &str, field: &str, c: usize, v: f64) -> Result<i32, NirError> {
    let r = v.round();
    if r.abs() < f64::from(i32::MAX) {
        Ok(r as i32)
    } else {
        Err(NirError::Node {
            node: node.to_string(),
            message: format!(
                "{field} in channel {c} is {v:e} units of the layer's current, beyond 32 bits: its weights are tiny against it (check the export, or raise --alloc's b_w)"
            ),
        })
    }
}
