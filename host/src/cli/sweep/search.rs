//! `sweep --search`: per-layer allocations under a Bit Budget, and their
//! Pareto front (spikeslice_train::sweep::search, docs/training.md).

use super::super::progress::Progress;
use super::{done_line, Args, Spec};
use anyhow::Result;
use spikeslice_train::sweep::search::{self, Limit, SearchConfig};
use spikeslice_train::sweep::SweepEvent;
use std::path::PathBuf;

pub fn run(spec: &Spec, args: &Args, cache: PathBuf) -> Result<()> {
    search::check(spec.budget, args.trials).map_err(|e| usage!("{e:#}"))?;
    if spec.seeds > 1 {
        return Err(usage!(
            "--search measures each allocation with one seed: leave --seeds out, and give the front's allocations to a --seeds sweep"
        ));
    }
    if !spec.base.layers.is_empty() {
        return Err(usage!(
            "--search chooses every layer's widths itself: leave --layer and --layers out"
        ));
    }
    let limit = if args.every_layer {
        Limit::PerLayer
    } else {
        Limit::Mean
    };
    status!(
        "search: up to {} allocation(s) of the {} network on {} with the {} Bit Budget <= {}, seed {} (cache {})",
        args.trials,
        spec.base.arch,
        spec.base.data,
        match limit {
            Limit::Mean => "MAC-weighted mean",
            Limit::PerLayer => "every layer's",
        },
        spec.budget,
        spec.base.seed,
        cache.display()
    );
    let mut cfg = SearchConfig {
        budget: spec.budget,
        limit,
        trials: args.trials,
        sweep: spec.config(cache, true)?,
    };
    let mut bar = Progress::new("{prefix:>14} [{bar:30}] {pos}/{len} {elapsed}").counting("trials");
    bar.set_length(args.trials as u64);
    let report = search::search(&mut cfg, &mut |e| match e {
        SweepEvent::Start { index, .. } => {
            bar.set_prefix(format!("trial {}", index + 1));
            bar.set_position(index as u64);
        }
        SweepEvent::Done { row, .. } => {
            let layers = row.layers.to_string();
            let line = done_line(false, &row);
            bar.println(&if layers.is_empty() {
                line
            } else {
                format!("{line} [{layers}]")
            });
        }
        SweepEvent::Failed { alloc, error, .. } => {
            bar.println(&format!("{alloc:>9}: failed: {error}"))
        }
        _ => {}
    })?;
    bar.finish_and_clear();
    let (files, warnings) = report.write(&args.out)?;
    for w in warnings {
        status!("warning: {w}");
    }
    for f in files {
        status!("wrote {}", f.display());
    }
    out!(
        "Pareto front of {} measured allocation(s) ({}):",
        report.rows.len(),
        report.objectives.join(", ")
    );
    out!("{}", report.table());
    out!(
        "mean BB: the layers' T*b_w*b_s weighted by their MACs, b_s being the width of the spikes a layer reads; \
         cycles, fps and energy: the {}x{} accelerator at {} MHz{}",
        spec.accel.rows,
        spec.accel.cols,
        spec.clock_mhz,
        spikeslice::performance::runs_of(spec.batch)
    );
    out!("{:.1} s", report.seconds);
    if report.skipped > 0 {
        status!(
            "skipped {} allocation(s) within the budget whose adds would emit spikes wider than 8 bits",
            report.skipped
        );
    }
    if !report.failures.is_empty() {
        for (c, e) in &report.failures {
            status!("error: allocation {c}: {e}");
        }
        return Err(anyhow::Error::new(super::super::say::Partial(format!(
            "{} of {} allocation(s) failed; the others are in {}",
            report.failures.len(),
            report.failures.len() + report.rows.len(),
            args.out.display()
        ))));
    }
    Ok(())
}
