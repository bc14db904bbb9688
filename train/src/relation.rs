//! `spikeslice relation`: the thesis' measurement of how bits and timesteps
//! trade (docs/training.md; thesis §4.2-6, Eqs. 11-13).
//!
//! 1. A float network is quantized after training (no fine-tuning, as in the
//!    thesis) to `b`-bit activations, `b = 1..=8`, with 8-bit weights: the
//!    integer quantized ANN's accuracy against bits.
//! 2. The same float network is converted to a binary-spike SNN (`b_s = 1`,
//!    8-bit weights) for the contract's longest window, `T_max = 64`, and run
//!    on the golden model; after every step `t` we read the **accumulated**
//!    accuracy (argmax of the readout membrane after `t` steps: the usual
//!    reading) and the **stepwise** accuracy (argmax of step `t`'s readout
//!    current alone).
//! 3. Relative accuracies (Eqs. 11-12: accuracy / the curve's maximum) match
//!    each `b` to the smallest `T` whose accumulated SNN reaches the same
//!    relative accuracy.
//! 4. A least-squares fit of the logistic `T(b) = L / (1 + e^(-k (b - x0)))`
//!    (Eq. 13) to the matched pairs, by Nelder-Mead.

use crate::alloc::Allocation;
use crate::data::Data;
use crate::net::{Calibration, Net};
use crate::{convert, new_net};
use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use spikeslice_core::golden::{self, argmax, Engine, LayerOutput};

/// The contract's longest window.
pub const T_MAX: u32 = 64;

/// The measurement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Relation {
    pub data: String,
    pub arch: String,
    pub float_accuracy: f64,
    /// `(b, accuracy)` of the post-training-quantized integer ANN, `b = 1..=8`.
    pub ann_by_bits: Vec<(u32, f64)>,
    /// Accumulated SNN accuracy after `t = 1..=T_MAX` steps.
    pub snn_accumulated: Vec<f64>,
    /// Stepwise SNN accuracy at step `t = 1..=T_MAX`.
    pub snn_stepwise: Vec<f64>,
    /// `(b, T)`: the smallest `T` whose relative accumulated SNN accuracy reaches
    /// the relative ANN accuracy at `b`; `saturated` when none does (then `T_MAX`).
    pub matched: Vec<Matched>,
    pub fit: Option<Logistic>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Matched {
    pub bits: u32,
    pub relative_ann: f64,
    pub timesteps: u32,
    pub relative_snn: f64,
    pub saturated: bool,
}

/// `T(b) = L / (1 + exp(-k (b - x0)))` and its root-mean-square residual.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Logistic {
    pub l: f64,
    pub k: f64,
    pub x0: f64,
    pub rmse: f64,
}

impl Logistic {
    pub fn eval(&self, b: f64) -> f64 {
        self.l / (1.0 + (-self.k * (b - self.x0)).exp())
    }
}

fn sse(p: &[f64; 3], pts: &[(f64, f64)]) -> f64 {
    let f = Logistic {
        l: p[0],
        k: p[1],
        x0: p[2],
        rmse: 0.0,
    };
    pts.iter().map(|&(b, t)| (f.eval(b) - t).powi(2)).sum()
}

/// Least-squares logistic fit by Nelder-Mead (deterministic; several starts).
pub fn fit_logistic(pts: &[(f64, f64)]) -> Option<Logistic> {
    if pts.len() < 3 {
        return None;
    }
    let tmax = pts.iter().map(|p| p.1).fold(0.0, f64::max).max(1.0);
    let bmean = pts.iter().map(|p| p.0).sum::<f64>() / pts.len() as f64;
    let mut best: Option<([f64; 3], f64)> = None;
    for &k0 in &[0.5, 1.0, 2.0] {
        for &x0 in &[bmean - 1.0, bmean, bmean + 1.0] {
            let p = nelder_mead([tmax * 1.1, k0, x0], |p| sse(p, pts), 2000);
            let e = sse(&p, pts);
            let better = match best {
                Some((_, be)) => e < be,
                None => true,
            };
            if p.iter().all(|v| v.is_finite()) && better {
                best = Some((p, e));
            }
        }
    }
    best.map(|(p, e)| Logistic {
        l: p[0],
        k: p[1],
        x0: p[2],
        rmse: (e / pts.len() as f64).sqrt(),
    })
}

fn nelder_mead(start: [f64; 3], f: impl Fn(&[f64; 3]) -> f64, iters: usize) -> [f64; 3] {
    let mut s: Vec<([f64; 3], f64)> = (0..4)
        .map(|i| {
            let mut p = start;
            if i > 0 {
                p[i - 1] += if p[i - 1].abs() > 1e-3 {
                    0.2 * p[i - 1]
                } else {
                    0.5
                };
            }
            (p, f(&p))
        })
        .collect();
    for _ in 0..iters {
        s.sort_by(|a, b| a.1.total_cmp(&b.1));
        if (s[3].1 - s[0].1).abs() < 1e-12 {
            break;
        }
        let mut c = [0.0; 3];
        for (p, _) in &s[..3] {
            for j in 0..3 {
                c[j] += p[j] / 3.0;
            }
        }
        let at = |a: f64| -> [f64; 3] {
            let mut p = [0.0; 3];
            for j in 0..3 {
                p[j] = c[j] + a * (s[3].0[j] - c[j]);
            }
            p
        };
        let r = at(-1.0);
        let fr = f(&r);
        if fr < s[0].1 {
            let e = at(-2.0);
            let fe = f(&e);
            s[3] = if fe < fr { (e, fe) } else { (r, fr) };
        } else if fr < s[2].1 {
            s[3] = (r, fr);
        } else {
            let k = at(0.5);
            let fk = f(&k);
            if fk < s[3].1 {
                s[3] = (k, fk);
            } else {
                let best = s[0].0;
                for item in s.iter_mut().skip(1) {
                    for (v, b) in item.0.iter_mut().zip(best) {
                        *v = b + 0.5 * (*v - b);
                    }
                    item.1 = f(&item.0);
                }
            }
        }
    }
    s.sort_by(|a, b| a.1.total_cmp(&b.1));
    s[0].0
}

/// Quantize (post-training) and convert a copy of `float` at `alloc`.
fn ptq(
    float: &Net,
    arch: &crate::arch::Arch,
    data: &Data,
    alloc: Allocation,
    seed: u64,
) -> Result<spikeslice_core::model::Model> {
    let mut net = new_net(arch, data, seed)?;
    net.set_tensors(&float.tensors(), None)?;
    let calib: Vec<usize> = (0..data.train.len().min(512)).collect();
    net.quantize(
        alloc,
        &net.batch(&data.train, &calib)?,
        Calibration::Percentile(99.9),
    )?;
    convert::convert(&net, "relation", data.train.bits)
}

/// Run the measurement on a trained float network.
pub fn measure(
    float: &Net,
    arch: &crate::arch::Arch,
    data: &Data,
    float_accuracy: f64,
    seed: u64,
) -> Result<Relation> {
    let inputs = crate::test_inputs(data);
    let labels = &data.test.labels;
    let n = inputs.len() as f64;
    let mut ann_by_bits = Vec::new();
    for b in 1..=8 {
        let model = ptq(float, arch, data, Allocation::new(8, b, 1)?, seed)
            .with_context(|| format!("cannot quantize to {b}-bit activations"))?;
        let ok = inputs
            .iter()
            .zip(labels)
            .filter(|(x, &y)| {
                golden::argmax(convert::qann(&model, x).last().expect("layers")) == usize::from(y)
            })
            .count();
        ann_by_bits.push((b, ok as f64 / n));
    }
    let snn = ptq(float, arch, data, Allocation::new(8, 1, T_MAX)?, seed)?;
    let readout = snn.layers.len() - 1;
    debug_assert!(matches!(
        snn.layers[readout].neurons.output,
        LayerOutput::Membrane
    ));
    let mut acc_ok = vec![0usize; T_MAX as usize];
    let mut step_ok = vec![0usize; T_MAX as usize];
    for (x, &y) in inputs.iter().zip(labels) {
        let tr = golden::trace(&snn, x, Engine::Packed);
        let cur = &tr.layers[readout].currents;
        let mut v: Vec<i64> = snn.layers[readout]
            .neurons
            .v_init
            .iter()
            .map(|&v| i64::from(v))
            .collect();
        for (t, c) in cur.iter().enumerate() {
            for (a, &i) in v.iter_mut().zip(c) {
                *a += i;
            }
            acc_ok[t] += usize::from(argmax(&v) == usize::from(y));
            step_ok[t] += usize::from(argmax(c) == usize::from(y));
        }
    }
    let snn_accumulated: Vec<f64> = acc_ok.iter().map(|&c| c as f64 / n).collect();
    let snn_stepwise: Vec<f64> = step_ok.iter().map(|&c| c as f64 / n).collect();
    // Eqs. 11-12: relative to each curve's maximum.
    let ann_max = ann_by_bits
        .iter()
        .map(|p| p.1)
        .fold(0.0, f64::max)
        .max(1e-9);
    let snn_max = snn_accumulated
        .iter()
        .copied()
        .fold(0.0, f64::max)
        .max(1e-9);
    let matched: Vec<Matched> = ann_by_bits
        .iter()
        .map(|&(b, a)| {
            let rel = a / ann_max;
            let hit = snn_accumulated
                .iter()
                .position(|&s| s / snn_max >= rel - 1e-12);
            let t = hit.map_or(T_MAX, |i| i as u32 + 1);
            Matched {
                bits: b,
                relative_ann: rel,
                timesteps: t,
                relative_snn: snn_accumulated[t as usize - 1] / snn_max,
                saturated: hit.is_none(),
            }
        })
        .collect();
    let pts: Vec<(f64, f64)> = matched
        .iter()
        .map(|m| (f64::from(m.bits), f64::from(m.timesteps)))
        .collect();
    Ok(Relation {
        data: data.name.clone(),
        arch: arch.to_string(),
        float_accuracy,
        ann_by_bits,
        snn_accumulated,
        snn_stepwise,
        matched,
        fit: fit_logistic(&pts),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logistic_fit_recovers_known_parameters() {
        // The thesis' MNIST conv fit (Table 2): L = 29.2, x0 = 4.73, k = 1.70.
        let truth = Logistic {
            l: 29.206,
            k: 1.695,
            x0: 4.7283,
            rmse: 0.0,
        };
        let pts: Vec<(f64, f64)> = (1..=8).map(|b| (b as f64, truth.eval(b as f64))).collect();
        let f = fit_logistic(&pts).unwrap();
        assert!((f.l - truth.l).abs() < 0.05, "{f:?}");
        assert!((f.k - truth.k).abs() < 0.01, "{f:?}");
        assert!((f.x0 - truth.x0).abs() < 0.01, "{f:?}");
        assert!(f.rmse < 1e-3);
    }
}
