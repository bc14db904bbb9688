//! The trainable network (candle, CPU): float training, then
//! quantization-aware training (QAT) with the quantizers the integer model
//! computes exactly.
//!
//! - **Weights**: symmetric `b_w`-bit with a per-output-channel scale `s_o`
//!   (per tensor for the readout, so that the readout's argmax is unchanged by
//!   the integer scaling). `b_w >= 2`: `w_q = s * clamp(round(w / s), -Q, Q)`,
//!   `Q = 2^(b_w-1) - 1` (BB paper Eq. 5), `s` learned with LSQ (Esser et al.
//!   2020: straight-through estimator for `round`, gradient scale
//!   `1/sqrt(K Q)`). `b_w = 1`: `w_q = s * sign(w)` with `s = mean|w_o|` and the
//!   identity STE (weights in {-1, +1}, docs/semantics.md §1).
//! - **Activations** of hidden layers: the soft-reset quantizer
//!   `a = D * clamp(floor(z / D + 1/2), 0, n)`, `n = T (2^b_s - 1)`, which is what
//!   a `T`-step, `b_s`-bit soft-reset IF neuron with the `theta/2` pre-charge
//!   computes for constant input (docs/semantics.md §7; QAC, QFFS): the spike
//!   count is `clamp(floor((theta/2 + T I) / theta), 0, n)`. `floor` uses the
//!   STE, the clip has its true gradient, and the step `D` is learned (LSQ,
//!   gradient scale `1/sqrt(N n)`).

use crate::alloc::{Allocation, PerLayer};
use crate::arch::{Kind, LayerDef};
use anyhow::{bail, Context, Result};
use candle_core::{DType, Device, Tensor, Var};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};
use spikeslice_core::dataset::{Dataset, SplitMix64};
use std::collections::HashMap;
use std::path::Path;

/// The trainable tensors of one layer.
#[derive(Debug)]
pub struct LayerParams {
    /// `[O, K]` or `[O, C, k, k]`.
    pub w: Var,
    /// `[O]`.
    pub b: Var,
    /// LSQ weight scale: `[O]` (hidden) or `[1]` (readout); only for `b_w >= 2`
    /// during QAT.
    pub s_w: Option<Var>,
    /// LSQ activation step `D`, `[1]`; hidden layers during QAT.
    pub act_step: Option<Var>,
}

/// A network: its layers, their parameters, and (after `quantize`) the
/// allocation its quantizers use.
#[derive(Debug)]
pub struct Net {
    pub defs: Vec<LayerDef>,
    /// `None` for parameterless layers (flatten, pool).
    pub params: Vec<Option<LayerParams>>,
    /// The activation step `D` of each pooling layer during QAT (its only
    /// parameter); `None` for every other layer.
    pub pool_steps: Vec<Option<Var>>,
    pub alloc: Option<Allocation>,
    /// Layers whose widths differ from `alloc`'s.
    pub layers: PerLayer,
    /// Largest input value (`2^b_in - 1`): inputs are fed as `x / x_max`.
    pub x_max: f32,
}

/// Refuse an allocation under which an add of a residual block would emit
/// spikes wider than the contract's 8 bits: an add's spikes are one bit
/// wider than its wider input's (docs/semantics.md §2), so each block of a
/// stage adds a bit.
pub fn check_sums(defs: &[LayerDef], alloc: Allocation, layers: &PerLayer) -> Result<()> {
    // Each layer's spike bits, and the adds in a row that end at it.
    let mut bits: Vec<u32> = Vec::with_capacity(defs.len());
    let mut adds: Vec<u32> = Vec::with_capacity(defs.len());
    for (l, d) in defs.iter().enumerate() {
        let (b, n) = match d.kind {
            Kind::Add { shortcut } => {
                let (a, s) = (bits[l - 1], bits[shortcut]);
                let (sum, n) = (a.max(s) + 1, adds[l - 1].max(adds[shortcut]) + 1);
                if sum > 8 {
                    bail!(
                        "layer {} adds {}'s {a}-bit spikes to {}'s {s}-bit spikes: the sum needs {sum} bits, and spikes have at most 8; a chain of {n} add(s) needs convs of at most {} bits: give the network fewer spike bits (--alloc B_W/B_S/T, or --layer for this stage's convs), or fewer residual blocks between plain convs",
                        d.name,
                        defs[l - 1].name,
                        defs[shortcut].name,
                        8u32.saturating_sub(n)
                    );
                }
                (sum, n)
            }
            Kind::Flatten => (
                bits.last().copied().unwrap_or(0),
                adds.last().copied().unwrap_or(0),
            ),
            _ => (layers.apply(&d.name, alloc).b_s, 0),
        };
        bits.push(b);
        adds.push(n);
    }
    Ok(())
}

/// Hyperparameters of one training phase.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Phase {
    pub epochs: usize,
    pub lr: f64,
    pub batch: usize,
}

pub(crate) fn dev() -> Device {
    Device::Cpu
}

/// A uniform float in `[0, 1)` from the project's deterministic generator.
fn unit(rng: &mut SplitMix64) -> f32 {
    (rng.next_u64() >> 40) as f32 / (1u64 << 24) as f32
}

/// Value `x`, gradient scaled by `g` (LSQ's gradient scaling).
fn grad_scale(x: &Tensor, g: f64) -> Result<Tensor> {
    let scaled = x.affine(g, 0.0)?;
    Ok((&scaled + (x - &scaled)?.detach())?)
}

/// Value `f(x)` computed elsewhere, gradient of the identity (the STE).
fn ste(x: &Tensor, value: &Tensor) -> Result<Tensor> {
    Ok((x + (value - x)?.detach())?)
}

impl Net {
    /// Fresh float network, Kaiming-uniform weights from `seed`, zero biases.
    pub fn new(defs: Vec<LayerDef>, x_max: f32, seed: u64) -> Result<Self> {
        let mut rng = SplitMix64::new(seed ^ 0x7EA1_5EED);
        let mut params = Vec::new();
        for d in &defs {
            if !d.has_weights() {
                params.push(None);
                continue;
            }
            let shape = d.weight_shape();
            let n: usize = shape.iter().product();
            let bound = (6.0 / d.fan_in() as f32).sqrt();
            let w: Vec<f32> = (0..n)
                .map(|_| (2.0 * unit(&mut rng) - 1.0) * bound)
                .collect();
            let w = Var::from_tensor(&Tensor::from_vec(w, shape, &dev())?)?;
            let b = Var::from_tensor(&Tensor::zeros(d.outputs, DType::F32, &dev())?)?;
            params.push(Some(LayerParams {
                w,
                b,
                s_w: None,
                act_step: None,
            }));
        }
        Ok(Self {
            pool_steps: vec![None; defs.len()],
            defs,
            params,
            alloc: None,
            layers: PerLayer::default(),
            x_max,
        })
    }

    /// The input batch `[B, ...in_shape]` as floats in `[0, 1]`.
    pub fn batch(&self, data: &Dataset, idx: &[usize]) -> Result<Tensor> {
        let len = data.sample_len();
        let mut v = Vec::with_capacity(idx.len() * len);
        for &i in idx {
            v.extend(data.sample(i).iter().map(|&p| f32::from(p) / self.x_max));
        }
        let mut shape = vec![idx.len()];
        shape.extend_from_slice(&self.defs[0].in_shape);
        Ok(Tensor::from_vec(v, shape, &dev())?)
    }

    /// The weight tensor the forward pass uses: float, or fake-quantized.
    pub fn weight(&self, l: usize) -> Result<Tensor> {
        let p = self.params[l].as_ref().context("layer has no weights")?;
        let w = p.w.as_tensor();
        if self.alloc.is_none() {
            return Ok(w.clone());
        }
        let alloc = self.alloc_of(l)?;
        let scale = self.weight_scale(l)?;
        let codes = self.weight_codes_ste(l, alloc, &scale)?;
        Ok(codes.broadcast_mul(&scale)?)
    }

    /// Layer `l`'s allocation: the network's, with the layer's own widths.
    pub fn alloc_of(&self, l: usize) -> Result<Allocation> {
        let a = self.alloc.context("not quantized")?;
        Ok(self.layers.apply(&self.defs[l].name, a))
    }

    /// The effective per-channel scale, shaped to broadcast against the weight:
    /// `[O, 1]`, `[O, 1, 1, 1]` or `[1, 1]` for the readout.
    pub fn weight_scale(&self, l: usize) -> Result<Tensor> {
        let d = &self.defs[l];
        let p = self.params[l].as_ref().context("layer has no weights")?;
        let alloc = self.alloc_of(l)?;
        let w = p.w.as_tensor();
        let rank = w.rank();
        let mut bshape = vec![1usize; rank];
        if alloc.b_w == 1 {
            // Binary weights: s = mean |w| over the channel (or tensor), no gradient.
            let a = w.abs()?.detach();
            let s = if d.kind == Kind::Readout {
                a.mean_all()?.reshape(bshape)?
            } else {
                bshape[0] = d.outputs;
                a.flatten_from(1)?.mean(1)?.reshape(bshape)?
            };
            return Ok(s);
        }
        let s = p.s_w.as_ref().context("missing weight scale")?.as_tensor();
        let q = f64::from((1u32 << (alloc.b_w - 1)) - 1);
        let g = 1.0 / ((d.fan_in() as f64) * q).sqrt();
        let s = grad_scale(&s.abs()?, g)?;
        if d.kind != Kind::Readout {
            bshape[0] = d.outputs;
        }
        Ok(s.reshape(bshape)?)
    }

    /// Integer weight codes (as floats) with the STE attached.
    fn weight_codes_ste(&self, l: usize, alloc: Allocation, scale: &Tensor) -> Result<Tensor> {
        let w = self.params[l].as_ref().context("no weights")?.w.as_tensor();
        if alloc.b_w == 1 {
            // sign with 0 -> +1 (the contract's bit 1 = +1); identity gradient.
            let sgn = w.ge(0f32)?.to_dtype(DType::F32)?.affine(2.0, -1.0)?;
            return ste(w, &sgn);
        }
        let q = f64::from((1u32 << (alloc.b_w - 1)) - 1);
        let u = w.broadcast_div(scale)?.clamp(-q, q)?;
        ste(&u, &u.round()?)
    }

    /// The integer weight codes the converted model stores.
    pub fn weight_codes(&self, l: usize) -> Result<Vec<i8>> {
        let alloc = self.alloc_of(l)?;
        let scale = self.weight_scale(l)?;
        let c = self.weight_codes_ste(l, alloc, &scale)?;
        let v: Vec<f32> = c.flatten_all()?.to_vec1()?;
        Ok(v.into_iter().map(|x| x as i8).collect())
    }

    /// Per-output scale values `s_o` (one repeated value for a per-tensor scale).
    pub fn weight_scale_values(&self, l: usize) -> Result<Vec<f32>> {
        let s: Vec<f32> = self.weight_scale(l)?.flatten_all()?.to_vec1()?;
        Ok(if s.len() == 1 {
            vec![s[0]; self.defs[l].outputs]
        } else {
            s
        })
    }

    /// The variable holding layer `l`'s activation step: its own, or the one
    /// it shares (a residual block's second conv: its block input's; an add:
    /// its inputs', which are one).
    fn step_var(&self, l: usize) -> Result<&Var> {
        let d = &self.defs[l];
        if let Some(shared) = d.shares_step {
            return self.step_var(shared);
        }
        if let Kind::Add { shortcut } = d.kind {
            return self.step_var(shortcut);
        }
        let var = match &self.params[l] {
            Some(p) => p.act_step.as_ref(),
            None => self.pool_steps[l].as_ref(),
        };
        var.context("missing activation step")
    }

    /// The activation step `D` of hidden layer `l`, with its LSQ gradient scale.
    fn act_step(&self, l: usize, per_sample: usize) -> Result<(Tensor, f64)> {
        let alloc = self.alloc_of(l)?;
        let n = f64::from(alloc.levels());
        let d = self.step_var(l)?;
        let g = 1.0 / ((per_sample as f64) * n).sqrt();
        Ok((
            grad_scale(&d.as_tensor().abs()?, g)?.clamp(1e-6, f64::MAX)?,
            n,
        ))
    }

    /// The value of `D` for layer `l`.
    pub fn act_step_value(&self, l: usize) -> Result<f32> {
        let d = self.step_var(l)?;
        Ok(d.as_tensor().abs()?.to_vec1::<f32>()?[0].max(1e-6))
    }

    /// Pre-activation of layer `l` for input `x`.
    fn linear(&self, l: usize, x: &Tensor) -> Result<Tensor> {
        let d = &self.defs[l];
        let p = self.params[l].as_ref().context("no params")?;
        let w = self.weight(l)?;
        Ok(match d.kind {
            Kind::Conv {
                stride, padding, ..
            } => x
                .conv2d(&w, padding, stride, 1, 1)?
                .broadcast_add(&p.b.as_tensor().reshape((1, d.outputs, 1, 1))?)?,
            _ => x.matmul(&w.t()?)?.broadcast_add(p.b.as_tensor())?,
        })
    }

    /// Forward pass; returns the logits and the hidden pre-activations.
    pub fn forward_all(&self, x: &Tensor) -> Result<(Tensor, Vec<Tensor>)> {
        let mut x = x.clone();
        let mut pre = Vec::new();
        // Every layer's output, for the adds of residual blocks.
        let mut outs: Vec<Tensor> = Vec::with_capacity(self.defs.len());
        for (l, d) in self.defs.iter().enumerate() {
            match d.kind {
                Kind::Flatten => x = x.flatten_from(1)?,
                Kind::Readout => x = self.linear(l, &x)?,
                // Both addends are counts times one step D (the second conv
                // shares its block input's), so the sum is D (c_a + c_b)
                // exactly: what the model's add computes on the counts.
                Kind::Add { shortcut } => x = (&x + &outs[shortcut])?,
                Kind::Dense | Kind::Conv { .. } | Kind::Pool { .. } => {
                    let z = match d.kind {
                        // The pool neuron's input: the window's mean.
                        Kind::Pool { kernel } => x.avg_pool2d(kernel)?,
                        _ => self.linear(l, &x)?,
                    };
                    pre.push(z.clone());
                    x = if self.alloc.is_some() {
                        let per_sample: usize = d.out_shape.iter().product();
                        let (step, n) = self.act_step(l, per_sample)?;
                        // count = clamp(floor(z/D + 1/2), 0, n): docs/semantics.md §7
                        let u = z.broadcast_div(&step)?.affine(1.0, 0.5)?.clamp(0.0, n)?;
                        ste(&u, &u.floor()?)?.broadcast_mul(&step)?
                    } else {
                        z.relu()?
                    };
                }
            }
            outs.push(x.clone());
        }
        Ok((x, pre))
    }

    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        Ok(self.forward_all(x)?.0)
    }

    fn vars(&self) -> (Vec<Var>, Vec<Var>) {
        let mut weights = Vec::new();
        let mut scales = Vec::new();
        for p in self.params.iter().flatten() {
            weights.push(p.w.clone());
            weights.push(p.b.clone());
            scales.extend(p.s_w.iter().cloned());
            scales.extend(p.act_step.iter().cloned());
        }
        scales.extend(self.pool_steps.iter().flatten().cloned());
        (weights, scales)
    }

    /// Switch to QAT at `alloc`: initialise the weight scales and calibrate the
    /// activation steps on `calib` (inputs). Calibration runs layer by layer on
    /// the already-quantized earlier layers: the clip point is the max or a
    /// percentile of the layer's positive pre-activations, and `D = clip / n`.
    pub fn quantize(
        &mut self,
        alloc: Allocation,
        calib: &Tensor,
        calibration: Calibration,
    ) -> Result<()> {
        check_sums(&self.defs, alloc, &self.layers)?;
        self.alloc = Some(alloc);
        for l in 0..self.defs.len() {
            let alloc = self.alloc_of(l)?;
            let q = ((1u32 << (alloc.b_w - 1)) - 1).max(1) as f32;
            let d = &self.defs[l];
            if let Kind::Pool { .. } = d.kind {
                self.pool_steps[l] = Some(Var::from_tensor(&Tensor::ones(1, DType::F32, &dev())?)?);
            }
            let Some(p) = self.params[l].as_mut() else {
                continue;
            };
            if alloc.b_w >= 2 {
                // LSQ-style init, never clipping more than the max does:
                // s = min(max|w| / Q, 2 mean|w| / sqrt(Q)).
                let w: Vec<f32> = p.w.as_tensor().flatten_all()?.to_vec1()?;
                let groups = if d.kind == Kind::Readout {
                    1
                } else {
                    d.outputs
                };
                let per = w.len() / groups;
                let s: Vec<f32> = w
                    .chunks(per)
                    .map(|c| {
                        let max = c.iter().fold(0f32, |m, x| m.max(x.abs()));
                        let mean = c.iter().map(|x| x.abs()).sum::<f32>() / c.len() as f32;
                        (max / q).min(2.0 * mean / q.sqrt()).max(1e-8)
                    })
                    .collect();
                p.s_w = Some(Var::from_tensor(&Tensor::from_vec(s, groups, &dev())?)?);
            }
            if d.is_hidden() && d.shares_step.is_none() {
                p.act_step = Some(Var::from_tensor(&Tensor::ones(1, DType::F32, &dev())?)?);
            }
        }
        // Calibrate one hidden layer at a time, so each sees quantized inputs.
        for l in 0..self.defs.len() {
            // A shared step is calibrated where it is owned.
            if !self.defs[l].is_hidden() || self.defs[l].shares_step.is_some() {
                continue;
            }
            let n = self.alloc_of(l)?.levels() as f32;
            let (_, pre) = self.forward_all(calib)?;
            let idx = self.defs[..l].iter().filter(|d| d.is_hidden()).count();
            let mut z: Vec<f32> = pre[idx].flatten_all()?.to_vec1()?;
            z.retain(|&v| v > 0.0);
            let clip = calibration.clip(&mut z);
            let step = (clip / n).max(1e-6);
            self.step_var(l)?
                .set(&Tensor::from_vec(vec![step], 1, &dev())?)?;
        }
        Ok(())
    }

    /// Train for `phase.epochs` epochs (cross-entropy, AdamW), shuffling with
    /// `seed`. Single-threaded reductions in a fixed order make this
    /// deterministic for a seed. `progress(done, total)` after every step.
    pub fn fit(
        &self,
        data: &Dataset,
        phase: Phase,
        seed: u64,
        progress: &mut dyn FnMut(usize, usize),
    ) -> Result<()> {
        let (weights, scales) = self.vars();
        let mut opt_w = AdamW::new(
            weights,
            ParamsAdamW {
                lr: phase.lr,
                weight_decay: 1e-4,
                ..Default::default()
            },
        )?;
        let mut opt_s = if scales.is_empty() {
            None
        } else {
            Some(AdamW::new(
                scales,
                ParamsAdamW {
                    lr: phase.lr,
                    weight_decay: 0.0,
                    ..Default::default()
                },
            )?)
        };
        let mut rng = SplitMix64::new(seed);
        let mut order: Vec<usize> = (0..data.len()).collect();
        let steps_per_epoch = data.len().div_ceil(phase.batch);
        let total = steps_per_epoch * phase.epochs;
        let mut done = 0;
        for _ in 0..phase.epochs {
            rng.shuffle(&mut order);
            // Cosine decay of the learning rate over the phase.
            for chunk in order.chunks(phase.batch) {
                let frac = done as f64 / total.max(1) as f64;
                let lr = phase.lr * 0.5 * (1.0 + (std::f64::consts::PI * frac).cos());
                opt_w.set_learning_rate(lr);
                if let Some(o) = opt_s.as_mut() {
                    o.set_learning_rate(lr);
                }
                let x = self.batch(data, chunk)?;
                let y: Vec<u32> = chunk.iter().map(|&i| u32::from(data.labels[i])).collect();
                let y = Tensor::from_vec(y, chunk.len(), &dev())?;
                let logits = self.forward(&x)?;
                let loss = candle_nn::loss::cross_entropy(&logits, &y)?;
                let grads = loss.backward()?;
                opt_w.step(&grads)?;
                if let Some(o) = opt_s.as_mut() {
                    o.step(&grads)?;
                }
                done += 1;
                progress(done, total);
            }
        }
        Ok(())
    }

    /// Test accuracy in `[0, 1]` (lowest index wins a tie, as in the golden model).
    pub fn accuracy(&self, data: &Dataset) -> Result<f64> {
        let idx: Vec<usize> = (0..data.len()).collect();
        let mut correct = 0usize;
        for chunk in idx.chunks(500) {
            let logits: Vec<Vec<f32>> = self.forward(&self.batch(data, chunk)?)?.to_vec2()?;
            for (row, &i) in logits.iter().zip(chunk) {
                let mut best = 0;
                for (k, &v) in row.iter().enumerate() {
                    if v > row[best] {
                        best = k;
                    }
                }
                correct += usize::from(best == usize::from(data.labels[i]));
            }
        }
        Ok(correct as f64 / data.len() as f64)
    }

    /// All tensors by name (`NAME.weight`, `.bias`, `.w_scale`, `.act_step`).
    pub fn tensors(&self) -> HashMap<String, Tensor> {
        let mut m = HashMap::new();
        for (d, p) in self.defs.iter().zip(&self.params) {
            if let Some(p) = p {
                m.insert(format!("{}.weight", d.name), p.w.as_tensor().clone());
                m.insert(format!("{}.bias", d.name), p.b.as_tensor().clone());
                if let Some(s) = &p.s_w {
                    m.insert(format!("{}.w_scale", d.name), s.as_tensor().clone());
                }
                if let Some(s) = &p.act_step {
                    m.insert(format!("{}.act_step", d.name), s.as_tensor().clone());
                }
            }
        }
        for (d, s) in self.defs.iter().zip(&self.pool_steps) {
            if let Some(s) = s {
                m.insert(format!("{}.act_step", d.name), s.as_tensor().clone());
            }
        }
        m
    }

    /// Save the float tensors (a checkpoint, not a spikeslice model).
    pub fn save(&self, path: &Path) -> Result<()> {
        let tensors = self.tensors();
        spikeslice_core::atomic::write_via(path, |tmp| {
            candle_core::safetensors::save(&tensors, tmp).map_err(anyhow::Error::from)
        })
        .with_context(|| format!("cannot write checkpoint {}", path.display()))
    }

    /// Replace the parameters with a checkpoint's (same architecture).
    pub fn load(&mut self, path: &Path, alloc: Option<Allocation>) -> Result<()> {
        let t = candle_core::safetensors::load(path, &dev())
            .with_context(|| format!("cannot read checkpoint {}", path.display()))?;
        self.set_tensors(&t, alloc)
    }

    /// Replace the parameters from named tensors.
    pub fn set_tensors(
        &mut self,
        t: &HashMap<String, Tensor>,
        alloc: Option<Allocation>,
    ) -> Result<()> {
        self.alloc = alloc;
        for (d, s) in self.defs.iter().zip(self.pool_steps.iter_mut()) {
            *s = match t.get(&format!("{}.act_step", d.name)) {
                Some(v) if alloc.is_some() && matches!(d.kind, Kind::Pool { .. }) => {
                    Some(Var::from_tensor(&v.copy()?)?)
                }
                _ => None,
            };
        }
        for (d, p) in self.defs.iter().zip(self.params.iter_mut()) {
            let Some(p) = p else { continue };
            let get = |k: &str| -> Result<Tensor> {
                let name = format!("{}.{k}", d.name);
                t.get(&name)
                    .cloned()
                    .with_context(|| format!("checkpoint has no tensor {name}"))
            };
            let w = get("weight")?.to_dtype(DType::F32)?;
            if w.dims() != d.weight_shape().as_slice() {
                bail!(
                    "tensor {}.weight has shape {:?}, the architecture needs {:?}",
                    d.name,
                    w.dims(),
                    d.weight_shape()
                );
            }
            let b = get("bias")?.to_dtype(DType::F32)?;
            if b.dims() != [d.outputs] {
                bail!(
                    "tensor {}.bias has shape {:?}, expected [{}]",
                    d.name,
                    b.dims(),
                    d.outputs
                );
            }
            // `copy` gives each network its own storage: training one must
            // not move the other's weights.
            p.w = Var::from_tensor(&w.copy()?)?;
            p.b = Var::from_tensor(&b.copy()?)?;
            p.s_w = match get("w_scale") {
                Ok(s) if alloc.is_some() => Some(Var::from_tensor(&s.copy()?)?),
                _ => None,
            };
            p.act_step = match get("act_step") {
                Ok(s) if alloc.is_some() => Some(Var::from_tensor(&s.copy()?)?),
                _ => None,
            };
        }
        Ok(())
    }
}

/// How the activation clip point is calibrated before QAT.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Calibration {
    /// The largest positive pre-activation.
    Max,
    /// This percentile (0..=100) of the positive pre-activations.
    Percentile(f64),
}

impl Calibration {
    /// The clip point of `values` (sorted in place).
    pub fn clip(self, values: &mut [f32]) -> f32 {
        if values.is_empty() {
            return 1.0;
        }
        values.sort_by(|a, b| a.total_cmp(b));
        match self {
            Calibration::Max => values[values.len() - 1],
            Calibration::Percentile(p) => {
                let i = ((p / 100.0) * (values.len() - 1) as f64).round() as usize;
                values[i.min(values.len() - 1)]
            }
        }
    }
}

impl std::str::FromStr for Calibration {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if s == "max" {
            return Ok(Calibration::Max);
        }
        let p = s
            .strip_prefix('p')
            .and_then(|p| p.parse::<f64>().ok())
            .filter(|p| (0.0..=100.0).contains(p));
        p.map(Calibration::Percentile)
            .ok_or_else(|| format!("calibration {s:?}: use max or pNN (a percentile, e.g. p99.9)"))
    }
}
