//! `spikeslice sweep`: every allocation of a Bit Budget, trained (or reused
//! from the cache), converted and measured: "for this budget, how should I
//! spend my bits?"
//!
//! With no arguments it runs the embedded default: the MLP on mnist-5k at
//! BB = 16 (13 allocations), about 20 s from a cold cache in a release build
//! on this 2-core machine (32-50 s while other builds share it), 2 s once cached
//! (docs/training.md).

use super::train::Common;
use anyhow::Result;
use indicatif::{ProgressBar, ProgressStyle};
use spikeslice_train::sweep::{self, Backend, SweepConfig, SweepEvent};
use spikeslice_train::Stage;
use std::path::PathBuf;

#[derive(clap::ValueEnum, Clone, Copy)]
pub enum BackendArg {
    /// The golden model (core).
    Golden,
    /// Verilator RTL simulation (not available yet: needs issue 4's driver).
    Sim,
}

#[derive(clap::Args)]
pub struct Args {
    /// The Bit Budget per synapse, BB = T * b_w * b_s (BB paper Eq. 4).
    #[arg(long, default_value_t = 16)]
    budget: u32,
    /// Every allocation with BB <= budget, not only == budget.
    #[arg(long)]
    max: bool,
    #[command(flatten)]
    common: Common,
    /// Where the SNN runs.
    #[arg(long, value_enum, default_value = "golden")]
    backend: BackendArg,
    /// Also run N samples through Verilator and fail on any difference from
    /// the golden model (not available yet: needs issue 4's driver).
    #[arg(long, value_name = "N")]
    verify_sim: Option<usize>,
    /// Directory for sweep.csv, sweep.json, sweep.png and sweep.svg.
    #[arg(long, default_value = "sweep-out")]
    out: PathBuf,
    /// Cache of trained models, keyed by data, architecture, allocation, seed
    /// and training settings (default: $SPIKESLICE_CACHE, else
    /// $XDG_CACHE_HOME/spikeslice or ~/.cache/spikeslice).
    #[arg(long)]
    cache: Option<PathBuf>,
}

/// The model cache directory.
pub fn cache_dir(explicit: Option<PathBuf>) -> PathBuf {
    if let Some(p) = explicit {
        return p;
    }
    if let Some(p) = std::env::var_os("SPIKESLICE_CACHE") {
        return p.into();
    }
    if let Some(p) = std::env::var_os("XDG_CACHE_HOME") {
        return PathBuf::from(p).join("spikeslice");
    }
    match std::env::var_os("HOME") {
        Some(h) => PathBuf::from(h).join(".cache").join("spikeslice"),
        None => PathBuf::from(".spikeslice-cache"),
    }
}

pub fn run(args: Args) -> Result<()> {
    let backend = match args.backend {
        BackendArg::Golden => Backend::Golden,
        BackendArg::Sim => Backend::Sim,
    };
    // Check the budget before loading data, so a bad budget fails at once.
    let allocs = spikeslice_train::alloc::enumerate(args.budget, args.max)?;
    let base = args.common.config(allocs[0]);
    let cache = cache_dir(args.cache);
    let cfg = SweepConfig {
        budget: args.budget,
        at_most: args.max,
        base,
        cache_dir: cache.clone(),
        backend,
        verify_sim: args.verify_sim,
        // Issue 4: the driver's cycle and energy models plug in here.
        performance: None,
    };
    println!(
        "sweep: {} allocation(s) with BB {} {} on {}, {} network, seed {} (cache {})",
        allocs.len(),
        if args.max { "<=" } else { "=" },
        args.budget,
        cfg.base.data,
        cfg.base.arch,
        cfg.base.seed,
        cache.display()
    );
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{prefix:>14} {msg:>6} [{bar:30}] {pos}/{len} {elapsed}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    let mut stage = None;
    let report = sweep::sweep(&cfg, &mut |e| match e {
        SweepEvent::Float { cached } => {
            bar.set_prefix("float network");
            if cached {
                bar.println("float network: from the cache");
            }
        }
        SweepEvent::Start {
            index,
            total,
            alloc,
            cached,
        } => {
            bar.set_prefix(format!("{}/{} {}", index + 1, total, alloc));
            stage = None;
            if cached {
                bar.set_message("cached");
            }
        }
        SweepEvent::Train {
            stage: s,
            done,
            total,
        } => {
            if stage != Some(s) {
                stage = Some(s);
                bar.set_length(total as u64);
                bar.set_message(match s {
                    Stage::Float => "float",
                    Stage::Qat => "QAT",
                });
            }
            bar.set_position(done as u64);
        }
        SweepEvent::Done { row, .. } => bar.println(format!(
            "{:>9}: qANN {:.2}%, SNN {:.2}%{}",
            row.alloc.to_string(),
            100.0 * row.qann_accuracy,
            100.0 * row.snn_accuracy,
            if row.cached { " (cached)" } else { "" }
        )),
    })?;
    bar.finish_and_clear();
    println!("{}", report.table());
    println!(
        "float model: {:.2}% on {} test samples",
        100.0 * report.float_accuracy,
        report.test_samples
    );
    if let Some(b) = report.best() {
        println!(
            "best allocation: {} with SNN {:.2}% ({:+.2} points from float)",
            b.alloc,
            100.0 * b.snn_accuracy,
            100.0 * (b.snn_accuracy - report.float_accuracy)
        );
    }
    let lines = report.spike_bits_vs_timesteps();
    if !lines.is_empty() {
        println!("spike bits against timesteps at a fixed budget and b_w (BB paper):");
        for l in lines {
            println!("  {l}");
        }
    }
    println!("cycles, fps and energy: not yet available (they need the driver's cycle and energy models, issue 4)");
    let (files, warnings) = report.write(&args.out)?;
    for w in warnings {
        eprintln!("warning: {w}");
    }
    for f in files {
        println!("wrote {}", f.display());
    }
    println!("{:.1} s", report.seconds);
    Ok(())
}
