//! `spikeslice sweep`: every allocation of a Bit Budget, trained (or reused
//! from the cache), converted and measured: "for this budget, how should I
//! spend my bits?"
//!
//! With no arguments it runs the embedded default: the MLP on mnist-5k at
//! BB = 16 (13 allocations), one worker process per core (docs/training.md
//! has the timings). [`jobs`] runs the jobs in workers or a Slurm array and
//! collects them.

mod jobs;
mod search;

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
use serde::{Deserialize, Serialize};
use spikeslice_train::alloc::Allocation;
use spikeslice_train::{Stage, TrainConfig};
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
    mapping: compiler::Mapping,
}

impl Simulator for SweepSimulator {
    fn run(&mut self, model: &Model, inputs: &[Vec<u8>]) -> Result<Vec<SampleOutput>> {
        let program = compiler::compile_with(model, &self.config, self.mapping)?;
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
    /// Widths that stay fixed while the sweep allocates the rest.
    #[command(flatten)]
    layers: super::train::LayerArgs,
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
    #[command(flatten)]
    mapping: super::MappingArgs,
    /// Its clock, in MHz.
    #[arg(long, default_value_t = 200.0)]
    clock_mhz: f64,
    /// Energy table (JSON, docs/energy.md) instead of the xck26 estimates.
    #[arg(long)]
    energy_model: Option<PathBuf>,
    /// Directory for sweep.csv, sweep.json, sweep.png and sweep.svg
    /// (pareto.* with --search), and the job directory jobs/.
    #[arg(
        long,
        visible_alias = "out-dir",
        value_name = "DIR",
        default_value = "sweep-out"
    )]
    out: PathBuf,
    #[command(flatten)]
    cache: CacheArgs,
    /// Run N jobs (allocation and seed) at a time in worker processes of
    /// this program, from the shared cache, in the job directory OUT/jobs
    /// [default: the number of cores; 1: every job in this process].
    #[arg(long, value_name = "N")]
    jobs: Option<usize>,
    /// Submit the jobs to Slurm as one job array (sbatch) and return; the
    /// cache must be on a file system the nodes share. Collect the results
    /// with the same command line and --collect.
    #[arg(long, conflicts_with_all = ["collect", "jobs"])]
    slurm: bool,
    /// An sbatch option for --slurm (repeatable), e.g. --sbatch=--time=1:00:00.
    #[arg(
        long,
        value_name = "OPTION",
        requires = "slurm",
        allow_hyphen_values = true
    )]
    sbatch: Vec<String>,
    /// Merge the results of a --slurm or --jobs sweep in OUT/jobs into the
    /// report a one-process sweep with the same settings writes.
    #[arg(long)]
    collect: bool,
    /// Search per-layer allocations (each layer's b_w and b_s, and T) whose
    /// MAC-weighted mean Bit Budget is within --budget, and report their
    /// Pareto front of SNN accuracy, energy and fps (pareto.csv, .json, .png).
    #[arg(long, conflicts_with_all = ["slurm", "collect", "max"])]
    search: bool,
    /// With --search: allocations to train and measure at most.
    #[arg(long, value_name = "N", default_value_t = 24, requires = "search")]
    trials: usize,
    /// With --search: hold every layer's Bit Budget within --budget, not
    /// only the MAC-weighted mean.
    #[arg(long, requires = "search")]
    every_layer: bool,
    /// Run job N of the sweep in OUT/jobs (what --slurm and --jobs start).
    #[arg(long, value_name = "N", hide = true)]
    run_job: Option<usize>,
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

/// Everything that determines a sweep's results: what `--jobs` workers and
/// Slurm tasks run with (`OUT/jobs/spec.json`), and what `--collect` checks
/// against its command line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Spec {
    budget: u32,
    at_most: bool,
    base: TrainConfig,
    seeds: usize,
    backend: Backend,
    verify_sim: Option<usize>,
    accel: AcceleratorConfig,
    /// Samples a run of the accelerator computes (`--batch`).
    #[serde(default = "one")]
    batch: usize,
    clock_mhz: f64,
    energy: EnergyModel,
}

fn one() -> usize {
    1
}

impl Spec {
    /// The sweep the command line asks for, refusing settings that cannot
    /// work before anything is loaded.
    fn of(args: &Args) -> Result<Self> {
        let backend = match args.backend {
            BackendArg::Golden => Backend::Golden,
            BackendArg::Sim => Backend::Sim,
        };
        spikeslice_train::alloc::enumerate(args.budget, args.max).map_err(|e| usage!("{e:#}"))?;
        // The sweep sets each job's allocation: the base's is a placeholder,
        // the same for every budget.
        let mut base = args.common.config(Allocation {
            b_w: 1,
            b_s: 1,
            t: 1,
        })?;
        base.layers = args.layers.per_layer(&base.arch)?;
        super::clock_hz(args.clock_mhz)?;
        sweep::check_verify_sim(args.verify_sim).map_err(|e| usage!("{e:#}"))?;
        sweep::check_seeds(args.seeds).map_err(|e| usage!("{e:#}"))?;
        if let (Some(n), BackendArg::Sim) = (args.verify_sim, args.backend) {
            return Err(usage!(
                "--verify-sim {n} does nothing with --backend sim, which already runs every test sample through Verilator and checks it: leave one out"
            ));
        }
        if args.jobs == Some(0) {
            return Err(usage!(
                "--jobs 0 runs nothing: give 1 or more (at most the cores to use)"
            ));
        }
        Ok(Self {
            budget: args.budget,
            at_most: args.max,
            base,
            seeds: args.seeds,
            backend,
            verify_sim: args.verify_sim,
            accel: args.accel.config()?,
            batch: args.mapping.sweep_batch()?,
            clock_mhz: args.clock_mhz,
            energy: match &args.energy_model {
                Some(p) => EnergyModel::load(p)?,
                None => EnergyModel::default(),
            },
        })
    }

    /// The sweep's configuration. To measure jobs (`measure`), with the cycle
    /// and energy models, and the Verilator simulator when the backend or
    /// `--verify-sim` needs one; without, for listing jobs and assembling
    /// their results, which need neither.
    fn config(&self, cache: PathBuf, measure: bool) -> Result<SweepConfig> {
        let mut cfg = SweepConfig {
            budget: self.budget,
            at_most: self.at_most,
            base: self.base.clone(),
            seeds: self.seeds,
            cache_dir: cache,
            backend: self.backend,
            verify_sim: self.verify_sim,
            performance: None,
            simulator: None,
        };
        if !measure {
            return Ok(cfg);
        }
        // The data-dependent counts of the energy model (PE additions,
        // spikes) are averaged over the first test samples.
        let data = input::open_dataset(&self.base.data, Split::Test, Some(PERF_SAMPLES))?;
        let perf_inputs = (0..data.len()).map(|i| data.sample(i).to_vec()).collect();
        let mapping = compiler::Mapping {
            batch: self.batch,
            ..Default::default()
        };
        cfg.performance = Some(Box::new(ModelledPerformance {
            config: self.accel,
            mapping,
            clock_hz: self.clock_mhz * 1e6,
            energy: self.energy.clone(),
            inputs: perf_inputs,
        }));
        if self.backend == Backend::Sim || self.verify_sim.is_some() {
            cfg.simulator = Some(Box::new(SweepSimulator {
                device: SimDevice::open(&self.accel)?,
                config: self.accel,
                mapping,
            }));
        }
        Ok(cfg)
    }
}

pub fn run(args: Args) -> Result<()> {
    let cache = args.cache.dir();
    if let Some(index) = args.run_job {
        return jobs::run_one(&args.out, cache, index);
    }
    let spec = Spec::of(&args)?;
    super::outputs::check_dir_target("--out", &args.out)?;
    if args.search {
        return search::run(&spec, &args, cache);
    }
    let several = args.seeds > 1;
    let report = if args.collect {
        jobs::collect(&spec, &args.out, cache)?
    } else if args.slurm {
        return jobs::submit(&spec, &args.out, &cache, &args.sbatch);
    } else {
        announce(&spec, &cache);
        let workers = args.jobs.unwrap_or_else(|| {
            std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
        });
        if workers > 1 {
            jobs::run_parallel(&spec, &args.out, cache, workers)?
        } else {
            let mut cfg = spec.config(cache, true)?;
            let total = sweep::jobs(&cfg)?.len();
            run_here(&mut cfg, total, several)?
        }
    };
    // The files first: a closed or full standard output must not lose them.
    let (files, warnings) = report.write(&args.out)?;
    for w in warnings {
        status!("warning: {w}");
    }
    for f in files {
        status!("wrote {}", f.display());
    }
    if !report.rows.is_empty() {
        print_report(&report, &spec)?;
    }
    out!("{:.1} s", report.seconds);
    if !report.failures.is_empty() {
        for f in &report.failures {
            status!(
                "error: allocation {}: {}",
                tag(several, &f.alloc, f.seed),
                f.error
            );
        }
        let what = format!(
            "{} of {} allocation(s) failed ({})",
            report.failures.len(),
            report.failures.len() + report.rows.len(),
            report
                .failures
                .iter()
                .map(|f| tag(several, &f.alloc, f.seed))
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

/// The status line that opens a sweep.
fn announce(spec: &Spec, cache: &std::path::Path) {
    let seeds = match spec.seeds {
        1 => format!("seed {}", spec.base.seed),
        n => format!(
            "seeds {}..={}",
            spec.base.seed,
            spec.base.seed.wrapping_add(n as u64 - 1)
        ),
    };
    let (allocs, refused) =
        sweep::allocations(spec.budget, spec.at_most, &spec.base).unwrap_or_default();
    let allocs = allocs.len();
    status!(
        "sweep: {allocs} allocation(s) with BB {} {}{} on {}, {} network, {seeds} (cache {})",
        if spec.at_most { "<=" } else { "=" },
        spec.budget,
        super::train::mixed(&spec.base.layers),
        spec.base.data,
        spec.base.arch,
        cache.display()
    );
    for (a, why) in refused {
        status!("skipping {a}: {why}");
    }
}

/// An allocation, and with several seeds its seed: how every line names a job.
fn tag(several: bool, alloc: &dyn std::fmt::Display, seed: u64) -> String {
    if several {
        format!("{alloc} seed {seed}")
    } else {
        alloc.to_string()
    }
}

/// The line that reports a finished job.
fn done_line(several: bool, row: &sweep::SweepRow) -> String {
    format!(
        "{:>9}: qANN {:.2}%, SNN {:.2}%{}",
        tag(several, &row.alloc, row.seed),
        100.0 * row.qann_accuracy,
        100.0 * row.snn_accuracy,
        if row.cached { " (cached)" } else { "" }
    )
}

/// Every job in this process, with a progress bar.
fn run_here(cfg: &mut SweepConfig, total: usize, several: bool) -> Result<sweep::SweepReport> {
    let mut bar = Progress::new("{prefix:>14} {msg:>6} [{bar:30}] {pos}/{len} {elapsed}");
    let mut stage = None;
    let mut float_seed = None;
    let report = sweep::sweep(cfg, &mut |e| match e {
        // Every job loads its seed's float network: say so once per seed.
        SweepEvent::Float { seed, cached } if float_seed != Some(seed) => {
            float_seed = Some(seed);
            let what = tag(several, &"float network", seed);
            bar.set_prefix(what.clone());
            if cached {
                bar.println(&format!("{what}: from the cache"));
            }
        }
        SweepEvent::Float { .. } => {}
        SweepEvent::Start {
            index,
            alloc,
            seed,
            cached,
            ..
        } => {
            bar.set_prefix(format!(
                "{}/{} {}",
                index + 1,
                total,
                tag(several, &alloc, seed)
            ));
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
        SweepEvent::Done { row, .. } => bar.println(&done_line(several, &row)),
        SweepEvent::Failed {
            alloc, seed, error, ..
        } => bar.println(&format!(
            "{:>9}: failed: {error}",
            tag(several, &alloc, seed)
        )),
    })?;
    bar.finish_and_clear();
    Ok(report)
}

fn print_report(report: &sweep::SweepReport, spec: &Spec) -> Result<()> {
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
    if !report.layers.is_empty() {
        out!(
            "per-layer widths kept by every allocation: {} (BB is the allocation's; S-ACE counts each layer's own widths)",
            report.layers
        );
    }
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
        "cycles, fps and energy: cycle and energy models of the {}x{} accelerator at {} MHz{} \
         (docs/performance.md), counts averaged over {PERF_SAMPLES} test samples",
        spec.accel.rows,
        spec.accel.cols,
        spec.clock_mhz,
        spikeslice::performance::runs_of(spec.batch)
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
