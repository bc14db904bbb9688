//! The search under a Bit Budget: per-layer allocations (each weight layer's
//! `b_w`, each spiking layer's `b_s`, the network's `T`) whose budget stays
//! within a limit, fine-tuned with QAT and measured like a sweep's, and the
//! Pareto front of SNN accuracy, energy and fps among them
//! (docs/training.md, "Search under a budget").
//!
//! A layer's Bit Budget is `T b_w(l) b_s(l)` (BB paper Eq. 4), where
//! `b_s(l)` is the width of the spikes layer `l` reads: the previous weight
//! layer's spike width, and for the first layer the width it emits (the
//! sweep's convention, under which a uniform allocation's layers all spend
//! its `BB`). The limit holds for the MAC-weighted mean of the layers'
//! budgets, or with [`Limit::PerLayer`] for every layer.
//!
//! The search starts from every uniform allocation at the budget, then
//! repeatedly takes the allocations on the front and tries their neighbours
//! (one layer's `b_w` or `b_s`, or `T`, one step up or down) that are within
//! the limit and new, until `trials` allocations are measured or no
//! neighbour is left. Everything is deterministic for a seed.

use super::{float_net, load_data, measure_reported, SweepConfig, SweepEvent, SweepRow};
use crate::alloc::{self, Allocation, LayerBits, PerLayer, MAX_BITS, MAX_T};
use crate::arch::{self, Kind, LayerDef};
use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, VecDeque};
use std::time::Instant;

/// Where the budget limit applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Limit {
    /// The MAC-weighted mean of the layers' budgets.
    Mean,
    /// Every layer's budget.
    PerLayer,
}

/// A per-layer allocation in canonical form: the first weight layer's widths
/// and `T` as the allocation, the layers that differ from it as overrides.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Candidate {
    pub alloc: Allocation,
    #[serde(default, skip_serializing_if = "PerLayer::is_empty")]
    pub layers: PerLayer,
}

impl std::fmt::Display for Candidate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.layers.is_empty() {
            write!(f, "{}", self.alloc)
        } else {
            write!(f, "{} ({})", self.alloc, self.layers)
        }
    }
}

/// The widths of every weight layer, `(name, b_w, b_s)` (the readout's
/// `b_s` unused), and `T`: the form the search changes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Widths {
    t: u32,
    layers: Vec<(String, u32, u32)>,
}

impl Widths {
    fn of(c: &Candidate, defs: &[LayerDef]) -> Self {
        let layers = weight_layers(defs)
            .map(|d| {
                let a = c.layers.apply(&d.name, c.alloc);
                // The readout emits no spikes: 0 keeps equal allocations equal.
                let b_s = if d.kind == Kind::Readout { 0 } else { a.b_s };
                (d.name.clone(), a.b_w, b_s)
            })
            .collect();
        Widths {
            t: c.alloc.t,
            layers,
        }
    }

    fn candidate(&self) -> Candidate {
        let (_, b_w, b_s) = self.layers[0];
        let alloc = Allocation {
            b_w,
            b_s,
            t: self.t,
        };
        let mut layers = PerLayer::default();
        for (name, w, s) in &self.layers[1..] {
            let bits = LayerBits {
                b_w: (*w != b_w).then_some(*w),
                b_s: (*s != 0 && *s != b_s).then_some(*s),
            };
            if bits.b_w.is_some() || bits.b_s.is_some() {
                layers.0.insert(name.clone(), bits);
            }
        }
        Candidate { alloc, layers }
    }

    /// Each weight layer's Bit Budget (module documentation).
    fn budgets(&self) -> Vec<u32> {
        let mut read = self.layers[0].2;
        self.layers
            .iter()
            .map(|&(_, b_w, b_s)| {
                let bb = self.t * b_w * read;
                read = b_s;
                bb
            })
            .collect()
    }
}

/// The layers with weights (a pool follows the allocation's `b_s`).
fn weight_layers(defs: &[LayerDef]) -> impl Iterator<Item = &LayerDef> {
    defs.iter().filter(|d| d.has_weights())
}

/// MACs of one forward pass of a layer.
fn macs(d: &LayerDef) -> u64 {
    (d.fan_in() * d.out_shape.iter().product::<usize>()) as u64
}

/// The MAC-weighted mean of the layers' Bit Budgets, and the largest.
fn spent(w: &Widths, defs: &[LayerDef]) -> (f64, u32) {
    let bb = w.budgets();
    let m: Vec<u64> = weight_layers(defs).map(macs).collect();
    let total: u64 = m.iter().sum();
    let mean = bb
        .iter()
        .zip(&m)
        .map(|(&b, &n)| f64::from(b) * n as f64)
        .sum::<f64>()
        / total.max(1) as f64;
    (mean, bb.iter().copied().max().unwrap_or(0))
}

/// What to search.
pub struct SearchConfig {
    pub budget: u32,
    pub limit: Limit,
    /// Allocations to measure at most (the uniform ones first).
    pub trials: usize,
    /// Data, architecture, seed, training, cache, backend and performance
    /// model (its budget, seeds and per-layer widths are not used).
    pub sweep: SweepConfig,
}

/// One measured allocation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchRow {
    pub candidate: Candidate,
    /// MAC-weighted mean of the layers' Bit Budgets.
    pub mean_bit_budget: f64,
    /// The largest layer's.
    pub max_bit_budget: u32,
    /// On the Pareto front of the measured allocations.
    pub front: bool,
    pub row: SweepRow,
}

/// The search's outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchReport {
    pub budget: u32,
    pub limit: Limit,
    pub data: String,
    pub arch: String,
    pub seed: u64,
    pub test_samples: usize,
    /// The objectives the front is over.
    pub objectives: Vec<String>,
    /// Every measured allocation, in the order measured.
    pub rows: Vec<SearchRow>,
    /// Allocations that failed, and why.
    pub failures: Vec<(Candidate, String)>,
    /// Allocations within the budget that the network cannot carry (an add
    /// would emit spikes wider than 8 bits), not measured.
    #[serde(default)]
    pub skipped: usize,
    pub seconds: f64,
}

/// Refuse settings that search nothing.
pub fn check(budget: u32, trials: usize) -> Result<()> {
    if trials == 0 {
        bail!("--trials 0 measures nothing: give 1 or more");
    }
    alloc::enumerate(budget, true)?;
    Ok(())
}

/// Run the search.
pub fn search(cfg: &mut SearchConfig, on: &mut dyn FnMut(SweepEvent)) -> Result<SearchReport> {
    check(cfg.budget, cfg.trials)?;
    let started = Instant::now();
    let data = load_data(&cfg.sweep)?;
    let defs = arch::layers(&cfg.sweep.base.arch, data.train.shape, data.train.classes)
        .map_err(anyhow::Error::msg)?;
    let skipped = std::cell::Cell::new(0usize);
    // Within the budget, and carried by the network: an allocation whose adds
    // would emit spikes wider than 8 bits is skipped (and counted), as a sweep
    // skips it, rather than failed.
    let within = |w: &Widths| {
        let (mean, max) = spent(w, &defs);
        let spent_ok = match cfg.limit {
            Limit::Mean => mean <= f64::from(cfg.budget) + 1e-9,
            Limit::PerLayer => max <= cfg.budget,
        };
        if !spent_ok {
            return false;
        }
        let cand = w.candidate();
        let carried = crate::net::check_sums(&defs, cand.alloc, &cand.layers).is_ok();
        skipped.set(skipped.get() + usize::from(!carried));
        carried
    };
    // The uniform allocations at the budget first (every allocation up to it
    // when none spends it exactly).
    let uniform =
        alloc::enumerate(cfg.budget, false).or_else(|_| alloc::enumerate(cfg.budget, true))?;
    // Every allocation considered, measured or not, so that each is judged once.
    let mut seen: BTreeSet<Widths> = BTreeSet::new();
    let mut queue: VecDeque<Widths> = uniform
        .into_iter()
        .map(|alloc| {
            let layers = PerLayer::default();
            Widths::of(&Candidate { alloc, layers }, &defs)
        })
        .filter(|w| seen.insert(w.clone()) && within(w))
        .collect();
    if queue.is_empty() && skipped.get() > 0 {
        bail!(
            "no allocation at BB {} fits the {} network: its adds would emit spikes wider than 8 bits",
            cfg.budget,
            cfg.sweep.base.arch
        );
    }
    let mut rows: Vec<SearchRow> = Vec::new();
    let mut failures = Vec::new();
    let (float, float_accuracy, _) = float_net(&cfg.sweep.base, &data, &cfg.sweep.cache_dir, on)?;
    let mut index = 0;
    while rows.len() + failures.len() < cfg.trials {
        if queue.is_empty() {
            // Neighbours of the front, best accuracy first.
            let mut front: Vec<&SearchRow> = rows.iter().filter(|r| r.front).collect();
            front.sort_by(|a, b| b.row.snn_accuracy.total_cmp(&a.row.snn_accuracy));
            for r in front {
                for n in neighbours(&Widths::of(&r.candidate, &defs)) {
                    if seen.insert(n.clone()) && within(&n) {
                        queue.push_back(n);
                    }
                }
            }
        }
        let Some(w) = queue.pop_front() else {
            break;
        };
        let cand = w.candidate();
        let mut c = cfg.sweep.base.clone();
        c.alloc = cand.alloc;
        c.layers = cand.layers.clone();
        match measure_reported(&mut cfg.sweep, &c, &data, &float, float_accuracy, index, on) {
            Ok(row) => {
                let (mean, max) = spent(&w, &defs);
                rows.push(SearchRow {
                    candidate: cand,
                    mean_bit_budget: mean,
                    max_bit_budget: max,
                    front: false,
                    row,
                });
                mark_front(&mut rows);
            }
            Err(error) => failures.push((cand, error)),
        }
        index += 1;
    }
    let objectives = if rows.iter().all(|r| r.row.perf.is_some()) {
        vec![
            "snn_accuracy (max)",
            "energy_per_inference_j (min)",
            "fps (max)",
        ]
    } else {
        vec!["snn_accuracy (max)", "mean_bit_budget (min)"]
    };
    Ok(SearchReport {
        budget: cfg.budget,
        limit: cfg.limit,
        data: cfg.sweep.base.data.clone(),
        arch: cfg.sweep.base.arch.to_string(),
        seed: cfg.sweep.base.seed,
        test_samples: data.test.len(),
        objectives: objectives.into_iter().map(String::from).collect(),
        rows,
        failures,
        skipped: skipped.get(),
        seconds: started.elapsed().as_secs_f64(),
    })
}

impl SearchReport {
    /// The front, best SNN accuracy first.
    pub fn front(&self) -> Vec<&SearchRow> {
        let mut f: Vec<&SearchRow> = self.rows.iter().filter(|r| r.front).collect();
        f.sort_by(|a, b| b.row.snn_accuracy.total_cmp(&a.row.snn_accuracy));
        f
    }

    /// The terminal table: the front, best accuracy first.
    pub fn table(&self) -> comfy_table::Table {
        let mut t = comfy_table::Table::new();
        t.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED);
        t.set_header(vec![
            "allocation (b_w/b_s/T, per layer)",
            "mean BB",
            "max BB",
            "SNN %",
            "qANN %",
            "cycles",
            "fps",
            "uJ/inf",
        ]);
        for r in self.front() {
            let p = r.row.perf.as_ref();
            t.add_row(vec![
                r.candidate.to_string(),
                format!("{:.2}", r.mean_bit_budget),
                r.max_bit_budget.to_string(),
                format!("{:.2}", 100.0 * r.row.snn_accuracy),
                format!("{:.2}", 100.0 * r.row.qann_accuracy),
                p.map_or("-".into(), |p| p.cycles_per_inference.to_string()),
                p.map_or("-".into(), |p| format!("{:.0}", p.fps)),
                p.map_or("-".into(), |p| {
                    format!("{:.3}", p.energy_per_inference_j * 1e6)
                }),
            ]);
        }
        t
    }

    /// One line per measured allocation, front or not.
    pub fn csv(&self) -> String {
        let mut s = String::from(
            "allocation,b_w,b_s,T,layers,mean_bit_budget,max_bit_budget,front,snn_acc,qann_acc,qat_acc,s_ace,cycles,fps,energy_per_inference_j,model
",
        );
        for r in &self.rows {
            let p = r.row.perf.as_ref();
            let a = r.candidate.alloc;
            s.push_str(&format!(
                "{},{},{},{},{},{:.4},{},{},{:.4},{:.4},{:.4},{},{},{},{},{}
",
                a,
                a.b_w,
                a.b_s,
                a.t,
                r.candidate.layers.to_string().replace(", ", ";"),
                r.mean_bit_budget,
                r.max_bit_budget,
                r.front,
                r.row.snn_accuracy,
                r.row.qann_accuracy,
                r.row.qat_accuracy,
                r.row.s_ace,
                p.map_or(String::new(), |p| p.cycles_per_inference.to_string()),
                p.map_or(String::new(), |p| format!("{:.1}", p.fps)),
                p.map_or(String::new(), |p| format!("{:e}", p.energy_per_inference_j)),
                r.row.model_path.display(),
            ));
        }
        s
    }

    /// `pareto.csv`, `pareto.json`, and `pareto.png`/`.svg` (SNN accuracy
    /// against energy, the front marked) in `dir`; a plot that cannot be
    /// drawn is a warning.
    pub fn write(&self, dir: &std::path::Path) -> Result<(Vec<std::path::PathBuf>, Vec<String>)> {
        let csv = dir.join("pareto.csv");
        let json = dir.join("pareto.json");
        spikeslice_core::atomic::write_all(&[
            (csv.clone(), self.csv().into_bytes()),
            (
                json.clone(),
                (serde_json::to_string_pretty(self)?
                    + "
")
                .into_bytes(),
            ),
        ])?;
        let mut written = vec![csv, json];
        let mut warnings = Vec::new();
        for ext in ["png", "svg"] {
            let p = dir.join(format!("pareto.{ext}"));
            match self.plot(&p) {
                Ok(()) => written.push(p),
                Err(e) => warnings.push(format!("no plot {}: {e:#}", p.display())),
            }
        }
        Ok((written, warnings))
    }

    fn plot(&self, path: &std::path::Path) -> Result<()> {
        use crate::plot::{render, Chart, Series};
        let with_perf = self.rows.iter().all(|r| r.row.perf.is_some());
        let x = |r: &SearchRow| match &r.row.perf {
            Some(p) if with_perf => p.energy_per_inference_j * 1e6,
            _ => r.mean_bit_budget,
        };
        let points = |front: bool| -> Vec<(f64, f64)> {
            self.rows
                .iter()
                .filter(|r| r.front == front)
                .map(|r| (x(r), 100.0 * r.row.snn_accuracy))
                .collect()
        };
        render(
            &Chart {
                title: format!(
                    "{} on {}: search under BB {} ({})",
                    self.arch,
                    self.data,
                    self.budget,
                    match self.limit {
                        Limit::Mean => "MAC-weighted mean",
                        Limit::PerLayer => "every layer",
                    }
                ),
                x_desc: if with_perf {
                    "energy per inference (uJ)".into()
                } else {
                    "MAC-weighted mean Bit Budget".into()
                },
                y_desc: "SNN accuracy (%)".into(),
                series: vec![
                    Series {
                        name: "measured".into(),
                        points: points(false),
                        ..Default::default()
                    },
                    Series {
                        name: "Pareto front".into(),
                        points: points(true),
                        ..Default::default()
                    },
                ],
                categorical: true,
                ..Default::default()
            },
            path,
        )
    }
}

/// One step up or down in one width, or in `T`.
fn neighbours(w: &Widths) -> Vec<Widths> {
    let mut out = Vec::new();
    let step = |v: u32, max: u32| {
        [
            v.checked_sub(1).filter(|&x| x >= 1),
            (v < max).then_some(v + 1),
        ]
    };
    for t in step(w.t, MAX_T).into_iter().flatten() {
        out.push(Widths { t, ..w.clone() });
    }
    let last = w.layers.len() - 1;
    for i in 0..w.layers.len() {
        for b_w in step(w.layers[i].1, MAX_BITS).into_iter().flatten() {
            let mut n = w.clone();
            n.layers[i].1 = b_w;
            out.push(n);
        }
        if i == last {
            continue; // the readout emits no spikes
        }
        for b_s in step(w.layers[i].2, MAX_BITS).into_iter().flatten() {
            let mut n = w.clone();
            n.layers[i].2 = b_s;
            out.push(n);
        }
    }
    out
}

/// The objectives of a row, each to be maximized.
fn objectives(r: &SearchRow) -> Vec<f64> {
    match &r.row.perf {
        Some(p) => vec![r.row.snn_accuracy, -p.energy_per_inference_j, p.fps],
        None => vec![r.row.snn_accuracy, -r.mean_bit_budget],
    }
}

/// `a` dominates `b`: at least as good in every objective, better in one.
fn dominates(a: &[f64], b: &[f64]) -> bool {
    a.iter().zip(b).all(|(x, y)| x >= y) && a.iter().zip(b).any(|(x, y)| x > y)
}

/// Mark the rows no other row dominates.
fn mark_front(rows: &mut [SearchRow]) {
    let obj: Vec<Vec<f64>> = rows.iter().map(objectives).collect();
    for (i, r) in rows.iter_mut().enumerate() {
        r.front = !obj.iter().any(|o| dominates(o, &obj[i]));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mlp() -> Vec<LayerDef> {
        arch::layers(&arch::Arch::Mlp, [1, 28, 28], 10).unwrap()
    }

    #[test]
    fn candidates_are_canonical_and_budgets_follow_the_spikes_read() {
        let defs = mlp();
        let mut layers = PerLayer::default();
        layers.add("out=8").unwrap();
        let c = Candidate {
            alloc: "2/2/3".parse().unwrap(),
            layers,
        };
        let w = Widths::of(&c, &defs);
        assert_eq!(w.layers, [("fc1".into(), 2, 2), ("out".into(), 8, 0)]);
        // fc1 reads its own width (the convention), out reads fc1's spikes.
        assert_eq!(w.budgets(), [3 * 2 * 2, 3 * 8 * 2]);
        assert_eq!(w.candidate(), c);
        let (mean, max) = spent(&w, &defs);
        let (n1, n2) = (784.0 * 128.0, 128.0 * 10.0);
        assert!((mean - (12.0 * n1 + 48.0 * n2) / (n1 + n2)).abs() < 1e-9);
        assert_eq!(max, 48);
        // A uniform allocation spends its BB in every layer.
        let u = Widths::of(
            &Candidate {
                alloc: "4/2/2".parse().unwrap(),
                layers: PerLayer::default(),
            },
            &defs,
        );
        assert_eq!(u.budgets(), [16, 16]);
        assert_eq!(spent(&u, &defs), (16.0, 16));
        // Neighbours: T +-1, each b_w +-1, fc1's b_s +-1 (not the readout's).
        let n = neighbours(&u);
        assert_eq!(n.len(), 2 + 2 + 2 + 2);
        assert!(n.iter().all(|x| x.candidate() != u.candidate()));
        // Every neighbour is a valid training configuration, and names the
        // same allocation when it goes back and forth.
        for x in &n {
            x.candidate().layers.check(&arch::Arch::Mlp).unwrap();
            assert_eq!(Widths::of(&x.candidate(), &defs), *x);
        }
    }

    #[test]
    fn the_front_keeps_only_undominated_rows() {
        assert!(dominates(&[0.9, -1.0], &[0.8, -1.0]));
        assert!(!dominates(&[0.9, -2.0], &[0.8, -1.0]));
        assert!(!dominates(&[0.9, -1.0], &[0.9, -1.0]));
    }
}
