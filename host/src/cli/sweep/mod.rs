//! `spikeslice sweep`: every allocation of a Bit Budget, trained (or reused
//! from the cache), converted and measured: "for this budget, how should I
//! spend my bits?"
//!
//! With no arguments it runs the embedded default: the MLP on mnist-5k at
//! BB = 16 (13 allocations), about 20 s from a cold cache in a release build
//! on this 2-core machine (32-50 s while other builds share it), 2 s once cached
//! (docs/training.md).

use super::progress::Progress;
use super::train::Common;
use anyhow::Result;
use spikeslice::compiler;
use spikeslice::device::{Device, SimDevice};
use spikeslice::energy::EnergyModel;
use spikeslice::input::{self, Split};
use spikeslice::performance::ModelledPerformance;
use spikeslice_core::accel::AcceleratorConfig;
use spikeslice_core::golden::SampleOutput;
use spikeslice_core::model::Model;
use spikeslice_train::sweep::{self, Backend, Simulator, SweepConfig, SweepEvent};

/// Test samples the energy model's data-dependent counts are averaged over.
const PERF_SAMPLES: usize = 100;
use spikeslice_train::Stage;
use std::path::PathBuf;

#[derive(clap::ValueEnum, Clone, Copy)]
pub enum BackendArg {
    /// The golden model (core).
    Golden,
    /// The generated RTL in Verilator: every test sample, checked against golden.
    Sim,
}

/// The Verilator backend as the sweep's simulator: compile each model for the
/// sweep's accelerator and run it on the simulated core.
struct SweepSimulator {
    device: SimDevice,
    config: AcceleratorConfig,
}

impl Simulator for SweepSimulator {
    fn run(&mut self, model: &Model, inputs: &[Vec<u8>]) -> Result<Vec<SampleOutput>> {
        let program = compiler::compile(model, &self.config)?;
        Ok(self
            .device
            .run(&program, inputs)?
            .into_iter()
            .map(|i| i.output)
            .collect())
    }
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
    /// Train every allocation with N seeds (--seed, --seed + 1, ...) and
    /// report the mean with its 95% interval; 3 or more tell a gap between
    /// allocations from noise.
    #[arg(long, value_name = "N", default_value_t = 1)]
    seeds: usize,
    /// Where the SNN runs.
    #[arg(long, value_enum, default_value = "golden")]
    backend: BackendArg,
    /// Also run the first N test samples through Verilator and fail on any
    /// difference from the golden model.
    #[arg(long, value_name = "N")]
    verify_sim: Option<usize>,
    /// The accelerator the cycles, fps and energy columns are for.
    #[command(flatten)]
    accel: super::AccelArgs,
    /// Its clock, in MHz.
    #[arg(long, default_value_t = 200.0)]
    clock_mhz: f64,
    /// Energy table (JSON, docs/energy.md) instead of the xck26 estimates.
    #[arg(long)]
    energy_model: Option<PathBuf>,
    /// Directory for sweep.csv, sweep.json, sweep.png and sweep.svg.
    #[arg(
        long,
        visible_alias = "out-dir",
        value_name = "DIR",
        default_value = "sweep-out"
    )]
    out: PathBuf,
    #[command(flatten)]
    cache: CacheArgs,
}

/// The model cache: sweep's, and relation's, which shares its float networks.
#[derive(clap::Args)]
pub struct CacheArgs {
    /// Cache of trained models, keyed by data, architecture, allocation, seed
    /// and training settings; sweep and relation share its float networks
    /// (default: $SPIKESLICE_CACHE, else $XDG_CACHE_HOME/spikeslice or
    /// ~/.cache/spikeslice).
    #[arg(long)]
    cache: Option<PathBuf>,
}

impl CacheArgs {
    /// The model cache directory: --cache, else from the environment.
    pub fn dir(&self) -> PathBuf {
        if let Some(p) = &self.cache {
            return p.clone();
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
}

pub fn run(args: Args) -> Result<()> {
    let backend = match args.backend {
        BackendArg::Golden => Backend::Golden,
        BackendArg::Sim => Backend::Sim,
    };
    // Check the budget before loading data, so a bad budget fails at once.
    let allocs =
        spikeslice_train::alloc::enumerate(args.budget, args.max).map_err(|e| usage!("{e:#}"))?;
    let base = args.common.config(allocs[0])?;
    let cache = args.cache.dir();
    let clock_hz = super::clock_hz(args.clock_mhz)?;
    sweep::check_verify_sim(args.verify_sim).map_err(|e| usage!("{e:#}"))?;
    sweep::check_seeds(args.seeds).map_err(|e| usage!("{e:#}"))?;
    if let (Some(n), BackendArg::Sim) = (args.verify_sim, args.backend) {
        return Err(usage!(
            "--verify-sim {n} does nothing with --backend sim, which already runs every test sample through Verilator and checks it: leave one out"
        ));
    }
    let config = args.accel.config()?;
    super::outputs::check_dir_target("--out", &args.out)?;
    let energy = match &args.energy_model {
        Some(p) => EnergyModel::load(p)?,
        None => EnergyModel::default(),
    };
    // The data-dependent counts of the energy model (PE additions, spikes)
    // are averaged over the first test samples.
    let data = input::open_dataset(&base.data, Split::Test, Some(PERF_SAMPLES))?;
    let perf_inputs = (0..data.len()).map(|i| data.sample(i).to_vec()).collect();
    let simulator: Option<Box<dyn Simulator>> =
        if matches!(args.backend, BackendArg::Sim) || args.verify_sim.is_some() {
            Some(Box::new(SweepSimulator {
                device: SimDevice::open(&config)?,
                config,
            }))
        } else {
            None
        };
    let mut cfg = SweepConfig {
        budget: args.budget,
        at_most: args.max,
        base,
        seeds: args.seeds,
        cache_dir: cache.clone(),
        backend,
        verify_sim: args.verify_sim,
        performance: Some(Box::new(ModelledPerformance {
            config,
            clock_hz,
            energy,
            inputs: perf_inputs,
        })),
        simulator,
    };
    let seeds = match args.seeds {
        1 => format!("seed {}", cfg.base.seed),
        n => format!(
            "seeds {}..={}",
            cfg.base.seed,
            cfg.base.seed.wrapping_add(n as u64 - 1)
        ),
    };
    status!(
        "sweep: {} allocation(s) with BB {} {} on {}, {} network, {seeds} (cache {})",
        allocs.len(),
        if args.max { "<=" } else { "=" },
        args.budget,
        cfg.base.data,
        cfg.base.arch,
        cache.display()
    );
    // With several seeds, every line names its seed.
    let several = args.seeds > 1;
    let tag = move |alloc: &dyn std::fmt::Display, seed: u64| {
        if several {
            format!("{alloc} seed {seed}")
        } else {
            alloc.to_string()
        }
    };
    let mut bar = Progress::new("{prefix:>14} {msg:>6} [{bar:30}] {pos}/{len} {elapsed}");
    let mut stage = None;
    let report = sweep::sweep(&mut cfg, &mut |e| match e {
        SweepEvent::Float { seed, cached } => {
            let what = tag(&"float network", seed);
            bar.set_prefix(what.clone());
            if cached {
                bar.println(&format!("{what}: from the cache"));
            }
        }
        SweepEvent::Start {
            index,
            total,
            alloc,
            seed,
            cached,
        } => {
            bar.set_prefix(format!("{}/{} {}", index + 1, total, tag(&alloc, seed)));
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
        SweepEvent::Done { row, .. } => bar.println(&format!(
            "{:>9}: qANN {:.2}%, SNN {:.2}%{}",
            tag(&row.alloc, row.seed),
            100.0 * row.qann_accuracy,
            100.0 * row.snn_accuracy,
            if row.cached { " (cached)" } else { "" }
        )),
        SweepEvent::Failed {
            alloc, seed, error, ..
        } => bar.println(&format!("{:>9}: failed: {error}", tag(&alloc, seed))),
    })?;
    bar.finish_and_clear();
    // The files first: a closed or full standard output must not lose them.
    let (files, warnings) = report.write(&args.out)?;
    for w in warnings {
        status!("warning: {w}");
    }
    for f in files {
        status!("wrote {}", f.display());
    }
    if !report.rows.is_empty() {
        print_report(&report, &args, &config)?;
    }
    out!("{:.1} s", report.seconds);
    if !report.failures.is_empty() {
        for f in &report.failures {
            status!("error: allocation {}: {}", tag(&f.alloc, f.seed), f.error);
        }
        let what = format!(
            "{} of {} allocation(s) failed ({})",
            report.failures.len(),
            report.failures.len() + report.rows.len(),
            report
                .failures
                .iter()
                .map(|f| tag(&f.alloc, f.seed))
                .collect::<Vec<_>>()
                .join(", ")
        );
        if report.rows.is_empty() {
            anyhow::bail!("{what}");
        }
        return Err(anyhow::Error::new(super::say::Partial(format!(
            "{what}; the others are in {}",
            args.out.display()
        ))));
    }
    Ok(())
}

fn print_report(
    report: &sweep::SweepReport,
    args: &Args,
    config: &AcceleratorConfig,
) -> Result<()> {
    out!("{}", report.table());
    let float = report
        .summary
        .first()
        .map_or(report.float_accuracy, |a| a.float_accuracy.mean);
    out!(
        "float model: {:.2}% on {} test samples{}",
        100.0 * float,
        report.test_samples,
        if report.seeds.len() > 1 {
            " (mean over the seeds)"
        } else {
            ""
        }
    );
    if let Some(b) = report.best() {
        let snn = &b.snn_accuracy;
        out!(
            "best allocation: {} with SNN {:.2}%{} ({:+.2} points from float)",
            b.alloc,
            100.0 * snn.mean,
            snn.half_width
                .map_or(String::new(), |h| format!(" ± {:.2}", 100.0 * h)),
            100.0 * (snn.mean - b.float_accuracy.mean)
        );
    }
    let lines = report.spike_bits_vs_timesteps();
    if !lines.is_empty() {
        out!("spike bits against timesteps at a fixed budget and b_w (BB paper):");
        for l in lines {
            out!("  {l}");
        }
    }
    out!(
        "cycles, fps and energy: cycle and energy models of the {}x{} accelerator at {} MHz \
         (docs/performance.md), counts averaged over {PERF_SAMPLES} test samples",
        config.rows,
        config.cols,
        args.clock_mhz
    );
    if let Some(n) = report
        .rows
        .first()
        .map(|r| r.sim_verified)
        .filter(|&n| n > 0)
    {
        out!("RTL simulation: {n} test samples per allocation, all equal to the golden model");
    }
    Ok(())
}
