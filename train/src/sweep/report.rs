//! The sweep's report: the terminal table, CSV, JSON and plots, and the
//! comparisons it prints.

use super::{rows_of, AllocSummary, Performance, SweepReport};
use crate::alloc::Allocation;
use crate::stats::{self, Spread, Verdict};
use anyhow::Result;
use spikeslice_core::atomic;
use std::path::{Path, PathBuf};

fn pct(x: f64) -> String {
    format!("{:.2}", 100.0 * x)
}

/// A terminal table in the report's style: `header`, then the cycles, fps
/// and energy columns when `with_perf`.
fn table_with(header: &[&str], with_perf: bool) -> comfy_table::Table {
    let mut t = comfy_table::Table::new();
    t.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED);
    let mut header = header.to_vec();
    if with_perf {
        header.extend(["cycles", "fps", "uJ/inf"]);
    }
    t.set_header(header);
    t
}

/// The cycles, fps and energy (µJ) cells of a row: `-` where no cycle model
/// measured it.
fn perf_cells(perf: Option<&Performance>) -> [String; 3] {
    match perf {
        Some(p) => [
            p.cycles_per_inference.to_string(),
            format!("{:.0}", p.fps),
            format!("{:.3}", p.energy_per_inference_j * 1e6),
        ],
        None => ["-".into(), "-".into(), "-".into()],
    }
}

/// `x` as a percentage, with its 95% interval's half width when it has one.
fn pct_spread(x: &Spread) -> String {
    match x.half_width {
        Some(hw) => format!("{} ± {}", pct(x.mean), pct(hw)),
        None => pct(x.mean),
    }
}

impl SweepReport {
    /// Allocation `a`'s cycles, fps and energy over its seeds: cycles and fps
    /// (which depend on the shapes only) of its first seed, the energies
    /// (which depend on the spikes) averaged over its seeds; `None` without a
    /// cycle model. With one seed, that seed's figures.
    pub fn performance_of(&self, a: Allocation) -> Option<Performance> {
        let perf: Vec<&Performance> = rows_of(&self.rows, a)
            .filter_map(|r| r.perf.as_ref())
            .collect();
        let mean =
            |f: fn(&Performance) -> f64| perf.iter().map(|p| f(p)).sum::<f64>() / perf.len() as f64;
        Some(Performance {
            energy_per_inference_j: mean(|p| p.energy_per_inference_j),
            energy_per_bit_budget_j: mean(|p| p.energy_per_bit_budget_j),
            ..(*perf.first()?).clone()
        })
    }

    /// The allocation with the best mean SNN accuracy over its seeds (the
    /// smallest budget, then the first, on a tie).
    pub fn best(&self) -> Option<&AllocSummary> {
        self.summary
            .iter()
            .fold(None, |best: Option<&AllocSummary>, r| match best {
                Some(b) if b.snn_accuracy.mean >= r.snn_accuracy.mean => Some(b),
                _ => Some(r),
            })
    }

    /// The BB paper's comparison for static images: among allocations of the
    /// same budget and the same `b_w`, does the one that spends most on `b_s`
    /// beat the one that spends most on `T`? One line per such pair, on the
    /// mean SNN accuracy over the seeds; a gap within what the seeds scatter
    /// (Welch's t-test at 5%, [`stats::compare`]) is called noise, and with
    /// one seed the line says that the noise is unknown.
    pub fn spike_bits_vs_timesteps(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut keys: Vec<(u32, u32)> = self
            .summary
            .iter()
            .map(|r| (r.bit_budget, r.alloc.b_w))
            .collect();
        keys.dedup();
        for (bb, bw) in keys {
            let group: Vec<&AllocSummary> = self
                .summary
                .iter()
                .filter(|r| r.bit_budget == bb && r.alloc.b_w == bw)
                .collect();
            if group.len() < 2 {
                continue;
            }
            let bits = group.iter().max_by_key(|r| r.alloc.b_s).expect("non-empty");
            let time = group.iter().max_by_key(|r| r.alloc.t).expect("non-empty");
            let (b, t) = (&bits.snn_accuracy, &time.snn_accuracy);
            let verdict = match stats::compare(b, t) {
                Verdict::Higher => "spike bits win".to_string(),
                Verdict::Lower => "timesteps win".into(),
                Verdict::WithinNoise => "within noise (no winner at 95%)".into(),
                Verdict::Unknown => format!(
                    "{} on one seed, whose noise is unknown (--seeds 3 tells)",
                    if b.mean > t.mean {
                        "spike bits ahead"
                    } else if b.mean < t.mean {
                        "timesteps ahead"
                    } else {
                        "tie"
                    }
                ),
            };
            out.push(format!(
                "BB {bb}, b_w {bw}: {} {}% vs {} {}%: {verdict}",
                bits.alloc,
                pct_spread(b),
                time.alloc,
                pct_spread(t)
            ));
        }
        out
    }

    /// The terminal table: a row per allocation; with more than one seed,
    /// the allocation's accuracies over its seeds (the seeds' own rows are in
    /// the CSV and JSON).
    pub fn table(&self) -> comfy_table::Table {
        if self.seeds.len() > 1 {
            return self.summary_table();
        }
        let with_perf = self.rows.iter().any(|r| r.perf.is_some());
        let mut t = table_with(
            &[
                "b_w/b_s/T",
                "BB",
                "levels",
                "float %",
                "QAT %",
                "qANN %",
                "SNN %",
                "SNN=qANN %",
                "params",
                "weight KiB",
                "S-ACE (M)",
                "NS-ACE (M)",
                "noise %",
                "cached",
            ],
            with_perf,
        );
        for r in &self.rows {
            let mut row = vec![
                r.alloc.to_string(),
                r.bit_budget.to_string(),
                r.alloc.levels().to_string(),
                pct(r.float_accuracy),
                pct(r.qat_accuracy),
                pct(r.qann_accuracy),
                pct(r.snn_accuracy),
                pct(r.snn_qann_agreement),
                r.params.to_string(),
                format!("{:.1}", r.weight_memory_bits as f64 / 8192.0),
                format!("{:.2}", r.s_ace as f64 / 1e6),
                r.ns_ace.map_or("-".into(), |v| format!("{:.2}", v / 1e6)),
                format!("{:.1}", 100.0 * r.max_local_noise),
                if r.cached { "yes" } else { "no" }.into(),
            ];
            if with_perf {
                row.extend(perf_cells(r.perf.as_ref()));
            }
            t.add_row(row);
        }
        t
    }

    /// Mean and 95% interval over the seeds, a row per allocation, with its
    /// [`performance_of`](Self::performance_of).
    fn summary_table(&self) -> comfy_table::Table {
        let with_perf = self.rows.iter().any(|r| r.perf.is_some());
        let mut t = table_with(
            &[
                "b_w/b_s/T",
                "BB",
                "levels",
                "seeds",
                "float %",
                "qANN % (95% CI)",
                "SNN % (95% CI)",
                "SNN min-max %",
            ],
            with_perf,
        );
        for a in &self.summary {
            let snn = &a.snn_accuracy;
            let mut row = vec![
                a.alloc.to_string(),
                a.bit_budget.to_string(),
                a.alloc.levels().to_string(),
                snn.n.to_string(),
                pct(a.float_accuracy.mean),
                pct_spread(&a.qann_accuracy),
                pct_spread(snn),
                format!("{}-{}", pct(snn.min), pct(snn.max)),
            ];
            if with_perf {
                row.extend(perf_cells(self.performance_of(a.alloc).as_ref()));
            }
            t.add_row(row);
        }
        t
    }

    /// CSV, one row per allocation and seed (performance columns empty where
    /// no cycle model was given).
    pub fn csv(&self) -> String {
        let mut s = String::from(
            "b_w,b_s,T,seed,bit_budget,levels,float_acc,qat_acc,qann_acc,snn_acc,snn_qann_agreement,params,weight_memory_bits,macs,s_ace,ns_ace,max_local_noise,cached,cycles,fps,energy_per_inference_j,energy_per_bit_budget_j,model\n",
        );
        for r in &self.rows {
            let p = r.perf.as_ref();
            s.push_str(&format!(
                "{},{},{},{},{},{},{:.4},{:.4},{:.4},{:.4},{:.4},{},{},{},{},{},{:.5},{},{},{},{},{},{}\n",
                r.alloc.b_w,
                r.alloc.b_s,
                r.alloc.t,
                r.seed,
                r.bit_budget,
                r.alloc.levels(),
                r.float_accuracy,
                r.qat_accuracy,
                r.qann_accuracy,
                r.snn_accuracy,
                r.snn_qann_agreement,
                r.params,
                r.weight_memory_bits,
                r.macs,
                r.s_ace,
                r.ns_ace.map_or(String::new(), |v| format!("{v:.0}")),
                r.max_local_noise,
                r.cached,
                p.map_or(String::new(), |p| p.cycles_per_inference.to_string()),
                p.map_or(String::new(), |p| format!("{:.1}", p.fps)),
                p.map_or(String::new(), |p| format!("{:e}", p.energy_per_inference_j)),
                p.map_or(String::new(), |p| format!("{:e}", p.energy_per_bit_budget_j)),
                r.model_path.display(),
            ));
        }
        s
    }

    /// Write `sweep.csv`, `sweep.json`, `sweep.png` and `sweep.svg` into `dir`.
    /// A plot that cannot be drawn (no font on the machine) is a warning in the
    /// returned list, not a failure of the sweep.
    pub fn write(&self, dir: &Path) -> Result<(Vec<PathBuf>, Vec<String>)> {
        let mut warnings = Vec::new();
        let csv = dir.join("sweep.csv");
        let json = dir.join("sweep.json");
        atomic::write_all(&[
            (csv.clone(), self.csv().into_bytes()),
            (
                json.clone(),
                (serde_json::to_string_pretty(self)? + "\n").into_bytes(),
            ),
        ])?;
        let mut written = vec![csv, json];
        for ext in ["png", "svg"] {
            let p = dir.join(format!("sweep.{ext}"));
            match crate::plot::sweep_plot(self, &p) {
                Ok(()) => written.push(p),
                Err(e) => warnings.push(format!("no plot {}: {e:#}", p.display())),
            }
        }
        Ok((written, warnings))
    }
}
