//! The budget sweep: every allocation `(b_w, b_s, T)` of a Bit Budget, trained
//! (or taken from the cache), converted, and measured.
//!
//! ## Extension points
//! - [`PerformanceModel`]: the driver's cycle and energy models (host crate,
//!   `spikeslice::performance::ModelledPerformance`) fill [`SweepRow::perf`].
//! - [`Simulator`]: a device that runs whole networks in RTL simulation (host
//!   crate, the Verilator backend). With [`Backend::Sim`] the SNN accuracy is
//!   the simulator's; `verify_sim` runs that many test samples through it.
//!   Either way every simulated sample must equal the golden model's result
//!   exactly, or the sweep fails.

use crate::alloc::{self, Allocation, PerLayer};
use crate::convert::LayerNoise;
use crate::data::{self, Data};
use crate::net::Net;
use crate::stats::Spread;
use crate::{Evaluation, Stage, TrainConfig, TRAINER_VERSION};
use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use spikeslice_core::golden::{self, Engine, SampleOutput};
use spikeslice_core::{atomic, model::Model};
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Instant;

pub mod jobdir;
mod report;
pub mod search;
pub mod slurm;

/// Where the SNN runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// The golden model (`spikeslice_core::golden`): the definition.
    Golden,
    /// Verilator RTL simulation of the accelerator (a [`Simulator`]).
    Sim,
}

/// Cycles, throughput and energy of one model on one accelerator
/// configuration: filled by a [`PerformanceModel`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Performance {
    /// Accelerator configuration, e.g. `"16x16 @ 200 MHz"`.
    pub config: String,
    pub cycles_per_inference: u64,
    pub fps: f64,
    pub energy_per_inference_j: f64,
    /// Energy per inference divided by the network's S-ACE (Eq. 8): energy per
    /// unit of Bit Budget.
    pub energy_per_bit_budget_j: f64,
}

/// The hook for the driver's analytical cycle and energy models:
/// implement it and pass it in [`SweepConfig::performance`].
pub trait PerformanceModel {
    fn estimate(&self, model: &Model) -> Result<Performance>;
}

/// Whole networks in RTL simulation: the hook for the Verilator backend.
pub trait Simulator {
    /// Run `inputs` (checked model inputs) and return one result per sample.
    fn run(&mut self, model: &Model, inputs: &[Vec<u8>]) -> Result<Vec<SampleOutput>>;
}

/// What to sweep.
pub struct SweepConfig {
    pub budget: u32,
    /// All allocations with `T b_w b_s <= budget` instead of `==`.
    pub at_most: bool,
    /// Data, architecture, first seed and hyperparameters (its `alloc` is
    /// ignored).
    pub base: TrainConfig,
    /// Seeds per allocation: `base.seed`, `base.seed + 1`, ... (at least 1).
    pub seeds: usize,
    pub cache_dir: PathBuf,
    pub backend: Backend,
    /// Also run this many test samples through the simulator and compare.
    pub verify_sim: Option<usize>,
    pub performance: Option<Box<dyn PerformanceModel>>,
    /// Needed by [`Backend::Sim`] and `verify_sim`.
    pub simulator: Option<Box<dyn Simulator>>,
}

/// One allocation's results for one seed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepRow {
    pub alloc: Allocation,
    /// Layers with their own widths (a search's per-layer allocations).
    #[serde(default, skip_serializing_if = "PerLayer::is_empty")]
    pub layers: PerLayer,
    pub bit_budget: u32,
    /// The seed of the float network and of fine-tuning.
    #[serde(default)]
    pub seed: u64,
    pub float_accuracy: f64,
    pub qat_accuracy: f64,
    pub qann_accuracy: f64,
    pub snn_accuracy: f64,
    pub snn_qann_agreement: f64,
    pub params: u64,
    pub weight_memory_bits: u64,
    pub macs: u64,
    pub s_ace: u64,
    pub ns_ace: Option<f64>,
    /// Largest per-layer fraction of SNN counts that differ from the
    /// quantizer of their own input (QFFS "occasional noise").
    pub max_local_noise: f64,
    pub noise: Vec<LayerNoise>,
    /// Taken from the cache rather than trained.
    pub cached: bool,
    /// The converted model's JSON spec, relative to the model cache
    /// (`<key>/model.json`): a report names no machine's directories.
    pub model_path: PathBuf,
    /// Filled by a [`PerformanceModel`] when one is given.
    pub perf: Option<Performance>,
    /// Test samples run through the simulator and found equal to the golden
    /// model (0 without a simulator).
    pub sim_verified: usize,
}

/// The whole sweep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepReport {
    pub budget: u32,
    pub at_most: bool,
    pub data: String,
    pub arch: String,
    /// The first seed.
    pub seed: u64,
    /// Every seed each allocation was trained with.
    #[serde(default)]
    pub seeds: Vec<u64>,
    pub backend: Backend,
    /// Layers whose widths every allocation keeps (mixed precision).
    #[serde(default, skip_serializing_if = "PerLayer::is_empty")]
    pub layers: PerLayer,
    pub test_samples: usize,
    /// The first seed's float network.
    pub float_accuracy: f64,
    /// One row per allocation and seed, allocation by allocation.
    pub rows: Vec<SweepRow>,
    /// One entry per allocation: its accuracies over the seeds.
    #[serde(default)]
    pub summary: Vec<AllocSummary>,
    /// Allocations that failed (training, conversion, simulation): the
    /// others are still measured and reported.
    #[serde(default)]
    pub failures: Vec<SweepFailure>,
    pub seconds: f64,
}

/// An allocation the sweep could not measure for a seed, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepFailure {
    pub alloc: Allocation,
    #[serde(default)]
    pub seed: u64,
    pub error: String,
}

/// One allocation over its seeds (those that did not fail).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AllocSummary {
    pub alloc: Allocation,
    pub bit_budget: u32,
    pub float_accuracy: Spread,
    pub qann_accuracy: Spread,
    pub snn_accuracy: Spread,
}

/// What the sweep reports while it runs.
#[derive(Debug, Clone)]
pub enum SweepEvent {
    Float {
        seed: u64,
        cached: bool,
    },
    Start {
        index: usize,
        alloc: Allocation,
        seed: u64,
        cached: bool,
    },
    Train {
        stage: Stage,
        done: usize,
        total: usize,
    },
    Done {
        index: usize,
        row: Box<SweepRow>,
    },
    /// The allocation failed; the sweep goes on with the next.
    Failed {
        index: usize,
        alloc: Allocation,
        seed: u64,
        error: String,
    },
}

/// The first 8 bytes of the SHA-256 of `v`'s JSON text, in hex.
fn digest(v: serde_json::Value) -> String {
    let mut h = Sha256::new();
    h.update(v.to_string().as_bytes());
    h.finalize()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Cache key of the float network: data, architecture, seed, float phase, code version.
pub fn float_key(cfg: &TrainConfig, data: &Data) -> String {
    let v = serde_json::json!({
        "trainer": TRAINER_VERSION,
        "data": data.digest,
        "arch": cfg.arch,
        "seed": cfg.seed,
        "float": cfg.float,
    });
    digest(v)
}

/// Cache key of a converted model: the float key plus allocation, QAT phase,
/// calibration and what the evaluation measures.
pub fn model_key(cfg: &TrainConfig, data: &Data) -> String {
    let mut v = serde_json::json!({
        "float": float_key(cfg, data),
        "alloc": cfg.alloc,
        "qat": cfg.qat,
        "calibration": cfg.calibration,
        "noise_samples": cfg.noise_samples,
    });
    // Only when there are any: uniform allocations keep their keys.
    if !cfg.layers.is_empty() {
        v["layers"] = serde_json::to_value(&cfg.layers).unwrap_or_default();
    }
    digest(v)
}

/// The float network for `cfg`, from the cache or trained (and cached).
pub fn float_net(
    cfg: &TrainConfig,
    data: &Data,
    cache: &Path,
    on: &mut dyn FnMut(SweepEvent),
) -> Result<(Net, f64, bool)> {
    let dir = cache.join(format!("float-{}", float_key(cfg, data)));
    // Jobs of one seed running side by side wait for one training.
    let _lock = lock(&dir)?;
    let ckpt = dir.join("float.safetensors");
    let acc_path = dir.join("float.json");
    if ckpt.exists() && acc_path.exists() {
        let mut net = crate::new_net(&cfg.arch, data, cfg.seed)?;
        let acc = net.load(&ckpt, None).ok().and_then(|()| {
            let bytes = std::fs::read(&acc_path).ok()?;
            serde_json::from_slice::<f64>(&bytes).ok()
        });
        if let Some(acc) = acc {
            on(SweepEvent::Float {
                seed: cfg.seed,
                cached: true,
            });
            return Ok((net, acc, true));
        }
        // An unreadable entry (damaged, older format): train it again.
    }
    on(SweepEvent::Float {
        seed: cfg.seed,
        cached: false,
    });
    let net = crate::pretrain(cfg, data, &mut |stage, done, total| {
        on(SweepEvent::Train { stage, done, total })
    })?;
    let acc = net.accuracy(&data.test)?;
    net.save(&ckpt)?;
    // float.json last: its presence marks a complete entry.
    atomic::write(&acc_path, serde_json::to_string(&acc)?.as_bytes())?;
    Ok((net, acc, false))
}

/// The cache entry of `cfg`'s converted model.
fn model_dir(cfg: &TrainConfig, data: &Data, cache: &Path) -> PathBuf {
    cache.join(format!("{}-{}", cfg.alloc.tag(), model_key(cfg, data)))
}

/// Hold `<entry>/lock` while a cache entry is read or made, so that
/// processes sharing the cache (local workers, a Slurm array) make each entry
/// once; released when the returned file is dropped.
fn lock(entry: &Path) -> Result<std::fs::File> {
    std::fs::create_dir_all(entry)
        .with_context(|| format!("cannot create the cache entry {}", entry.display()))?;
    let path = entry.join("lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("cannot open the cache lock {}", path.display()))?;
    file.lock()
        .with_context(|| format!("cannot lock {}", path.display()))?;
    Ok(file)
}

/// A converted model and its evaluation, from the cache when its key matches,
/// else trained from `float` and stored.
pub fn cached_model(
    cfg: &TrainConfig,
    data: &Data,
    float: &Net,
    float_accuracy: f64,
    cache: &Path,
    on: &mut dyn FnMut(SweepEvent),
) -> Result<(Model, Evaluation, PathBuf, bool)> {
    let dir = model_dir(cfg, data, cache);
    let _lock = lock(&dir)?;
    let model_path = dir.join("model.json");
    let eval_path = dir.join("eval.json");
    if model_path.exists() && eval_path.exists() {
        let eval = std::fs::read(&eval_path)
            .ok()
            .and_then(|b| serde_json::from_slice::<Evaluation>(&b).ok());
        if let (Ok(model), Some(eval)) = (Model::load(&model_path), eval) {
            return Ok((model, eval, model_path, true));
        }
        // An unreadable entry (damaged, older format): train it again.
    }
    let mut r = crate::train_from(
        cfg,
        data,
        float,
        float_accuracy,
        &mut |stage, done, total| on(SweepEvent::Train { stage, done, total }),
    )?;
    r.model.spec.weights = "model.safetensors".into();
    r.model
        .save(&model_path)
        .with_context(|| format!("cannot write {}", model_path.display()))?;
    r.net.save(&dir.join("qat.safetensors"))?;
    // eval.json last: its presence marks a complete entry.
    atomic::write(
        &eval_path,
        serde_json::to_string_pretty(&r.eval)?.as_bytes(),
    )?;
    Ok((r.model, r.eval, model_path, false))
}

/// Refuse a `--verify-sim` that verifies nothing (callers check it before they
/// build a simulator; [`sweep`] checks it again).
pub fn check_verify_sim(verify_sim: Option<usize>) -> Result<()> {
    if verify_sim == Some(0) {
        bail!("--verify-sim 0 verifies nothing: give the number of test samples to simulate");
    }
    Ok(())
}

/// One unit of a sweep: an allocation trained with a seed, then measured.
/// Jobs run on their own from the shared cache, in one process, in local
/// worker processes or as a Slurm job array ([`jobs`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Job {
    /// Position in the sweep's job list.
    pub index: usize,
    pub alloc: Allocation,
    pub seed: u64,
}

impl fmt::Display for Job {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "job {} ({} seed {})", self.index, self.alloc, self.seed)
    }
}

/// What a job produced: its row, or why it failed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobResult {
    pub job: Job,
    pub outcome: std::result::Result<SweepRow, String>,
    /// How long the job took.
    pub seconds: f64,
}

/// The seeds of a sweep: `base.seed`, `base.seed + 1`, ...
pub fn seeds(cfg: &SweepConfig) -> Vec<u64> {
    (0..cfg.seeds as u64)
        .map(|i| cfg.base.seed.wrapping_add(i))
        .collect()
}

/// Every job of the sweep, seed by seed (the jobs of one seed share its float
/// network), after checking the settings.
pub fn jobs(cfg: &SweepConfig) -> Result<Vec<Job>> {
    check_verify_sim(cfg.verify_sim)?;
    check_seeds(cfg.seeds)?;
    cfg.base.layers.check(&cfg.base.arch)?;
    let (allocs, _) = allocations(cfg.budget, cfg.at_most, &cfg.base)?;
    Ok(seeds(cfg)
        .into_iter()
        .flat_map(|seed| allocs.iter().map(move |&alloc| (alloc, seed)))
        .enumerate()
        .map(|(index, (alloc, seed))| Job { index, alloc, seed })
        .collect())
}

/// The allocations a sweep at `budget` trains, and those the network of
/// `base` cannot carry, each with why (an add of a residual block would emit
/// spikes wider than 8 bits): a sweep skips those rather than fail them.
#[allow(clippy::type_complexity)]
pub fn allocations(
    budget: u32,
    at_most: bool,
    base: &TrainConfig,
) -> Result<(Vec<Allocation>, Vec<(Allocation, String)>)> {
    let defs = crate::arch::structure(&base.arch).map_err(anyhow::Error::msg)?;
    let (mut fit, mut refused) = (Vec::new(), Vec::new());
    for a in alloc::enumerate(budget, at_most)? {
        match crate::net::check_sums(&defs, a, &base.layers) {
            Ok(()) => fit.push(a),
            Err(why) => refused.push((a, why.to_string())),
        }
    }
    if fit.is_empty() {
        let why = refused
            .first()
            .map_or(String::new(), |(a, w)| format!(": {a}: {w}"));
        anyhow::bail!(
            "no allocation at BB {budget} fits the {} network{why}",
            base.arch
        );
    }
    Ok((fit, refused))
}

/// The sweep's data: its training and test split.
pub fn load_data(cfg: &SweepConfig) -> Result<Data> {
    data::load(&cfg.base.data, cfg.base.train_limit, cfg.base.test_limit)
}

/// Run one job: the seed's float network and the allocation's model, each
/// from the cache or trained into it, then measured. A failure is the job's
/// outcome, not an error: the sweep goes on.
pub fn run_job(
    cfg: &mut SweepConfig,
    data: &Data,
    job: Job,
    on: &mut dyn FnMut(SweepEvent),
) -> JobResult {
    let started = Instant::now();
    let mut c = cfg.base.clone();
    c.seed = job.seed;
    c.alloc = job.alloc;
    let outcome = match float_net(&c, data, &cfg.cache_dir, on) {
        Ok((float, float_accuracy, _)) => {
            measure_reported(cfg, &c, data, &float, float_accuracy, job.index, on)
        }
        Err(e) => Err(failed(&c, job.index, &e, on)),
    };
    JobResult {
        job,
        outcome,
        seconds: started.elapsed().as_secs_f64(),
    }
}

/// Run the sweep in this process, job after job.
pub fn sweep(cfg: &mut SweepConfig, on: &mut dyn FnMut(SweepEvent)) -> Result<SweepReport> {
    let jobs = jobs(cfg)?;
    if (cfg.backend == Backend::Sim || cfg.verify_sim.is_some()) && cfg.simulator.is_none() {
        bail!("--backend sim and --verify-sim need a simulator, and none was given");
    }
    let started = Instant::now();
    let data = load_data(cfg)?;
    let results: Vec<JobResult> = jobs
        .into_iter()
        .map(|job| run_job(cfg, &data, job, on))
        .collect();
    assemble(
        cfg,
        data.test.len(),
        results,
        started.elapsed().as_secs_f64(),
    )
}

/// The report of a sweep from its jobs' results, wherever they ran: one row
/// per allocation and seed, allocation by allocation.
pub fn assemble(
    cfg: &SweepConfig,
    test_samples: usize,
    mut results: Vec<JobResult>,
    seconds: f64,
) -> Result<SweepReport> {
    let allocs = alloc::enumerate(cfg.budget, cfg.at_most)?;
    let seeds = seeds(cfg);
    // Allocation by allocation, each in seed order (the order the seeds ran
    // in, which a stable sort keeps).
    results.sort_by_key(|r| r.job.index);
    let position = |a: &Allocation| allocs.iter().position(|x| x == a);
    results.sort_by_key(|r| position(&r.job.alloc));
    let mut rows = Vec::new();
    let mut failures = Vec::new();
    for r in results {
        match r.outcome {
            Ok(row) => rows.push(row),
            Err(error) => failures.push(SweepFailure {
                alloc: r.job.alloc,
                seed: r.job.seed,
                error,
            }),
        }
    }
    let float_accuracy = rows
        .iter()
        .find(|r| r.seed == cfg.base.seed)
        .map_or(0.0, |r| r.float_accuracy);
    let summary = summarize(&allocs, &rows);
    Ok(SweepReport {
        budget: cfg.budget,
        at_most: cfg.at_most,
        data: cfg.base.data.clone(),
        arch: cfg.base.arch.to_string(),
        seed: cfg.base.seed,
        seeds,
        backend: cfg.backend,
        layers: cfg.base.layers.clone(),
        test_samples,
        float_accuracy,
        rows,
        summary,
        failures,
        seconds,
    })
}

/// Refuse a seed count that trains nothing (callers check it before they
/// load anything; [`sweep`] checks it again).
pub fn check_seeds(seeds: usize) -> Result<()> {
    if seeds == 0 {
        bail!("--seeds 0 trains nothing: give 1 or more (3 or more to tell a gap from noise)");
    }
    Ok(())
}

/// One allocation and seed (`c`): trained or from the cache, then measured.
fn measure(
    cfg: &mut SweepConfig,
    c: &TrainConfig,
    data: &Data,
    float: &Net,
    float_accuracy: f64,
    on: &mut dyn FnMut(SweepEvent),
) -> Result<SweepRow> {
    let a = c.alloc;
    let (model, eval, model_path, cached) =
        cached_model(c, data, float, float_accuracy, &cfg.cache_dir, on)?;
    let perf = match &cfg.performance {
        Some(p) => Some(p.estimate(&model)?),
        None => None,
    };
    let mut snn_accuracy = eval.snn_accuracy;
    let mut sim_verified = 0;
    let sim_samples = match cfg.backend {
        Backend::Sim => Some(data.test.len()),
        Backend::Golden => cfg.verify_sim,
    };
    if let (Some(n), Some(sim)) = (sim_samples, cfg.simulator.as_mut()) {
        let (accuracy, n) = verify_on_simulator(sim.as_mut(), &model, data, n)
            .with_context(|| format!("allocation {a}, seed {}", c.seed))?;
        sim_verified = n;
        if cfg.backend == Backend::Sim {
            snn_accuracy = accuracy;
        }
    }
    Ok(SweepRow {
        alloc: a,
        layers: c.layers.clone(),
        bit_budget: a.budget(),
        seed: c.seed,
        float_accuracy: eval.float_accuracy,
        qat_accuracy: eval.qat_accuracy,
        qann_accuracy: eval.qann_accuracy,
        snn_accuracy,
        snn_qann_agreement: eval.snn_qann_agreement,
        params: eval.budget.params,
        weight_memory_bits: eval.budget.weight_memory_bits,
        macs: eval.budget.macs,
        s_ace: eval.budget.s_ace,
        ns_ace: eval.budget.ns_ace,
        max_local_noise: eval
            .noise
            .iter()
            .map(|n| n.local_rate())
            .fold(0.0, f64::max),
        noise: eval.noise,
        cached,
        model_path: model_path
            .strip_prefix(&cfg.cache_dir)
            .map(Path::to_path_buf)
            .unwrap_or(model_path),
        perf,
        sim_verified,
    })
}

/// [`measure`] `c` as item `index` of a sweep or search, reporting
/// [`SweepEvent::Start`], then `Done` or `Failed`; a failure is its message.
fn measure_reported(
    cfg: &mut SweepConfig,
    c: &TrainConfig,
    data: &Data,
    float: &Net,
    float_accuracy: f64,
    index: usize,
    on: &mut dyn FnMut(SweepEvent),
) -> std::result::Result<SweepRow, String> {
    on(SweepEvent::Start {
        index,
        alloc: c.alloc,
        seed: c.seed,
        cached: model_dir(c, data, &cfg.cache_dir)
            .join("eval.json")
            .exists(),
    });
    match measure(cfg, c, data, float, float_accuracy, on) {
        Ok(row) => {
            on(SweepEvent::Done {
                index,
                row: Box::new(row.clone()),
            });
            Ok(row)
        }
        Err(e) => Err(failed(c, index, &e, on)),
    }
}

/// Report `c`'s failure as item `index`, and return its message.
fn failed(
    c: &TrainConfig,
    index: usize,
    e: &anyhow::Error,
    on: &mut dyn FnMut(SweepEvent),
) -> String {
    let error = format!("{e:#}");
    on(SweepEvent::Failed {
        index,
        alloc: c.alloc,
        seed: c.seed,
        error: error.clone(),
    });
    error
}

/// Each allocation's accuracies over the seeds it has rows for.
pub fn summarize(allocs: &[Allocation], rows: &[SweepRow]) -> Vec<AllocSummary> {
    allocs
        .iter()
        .filter_map(|&a| {
            let of = |f: fn(&SweepRow) -> f64| -> Vec<f64> { rows_of(rows, a).map(f).collect() };
            let snn = of(|r| r.snn_accuracy);
            (!snn.is_empty()).then(|| AllocSummary {
                alloc: a,
                bit_budget: a.budget(),
                float_accuracy: Spread::of(&of(|r| r.float_accuracy)),
                qann_accuracy: Spread::of(&of(|r| r.qann_accuracy)),
                snn_accuracy: Spread::of(&snn),
            })
        })
        .collect()
}

/// The rows of allocation `a` (in seed order, as a report holds them).
fn rows_of(rows: &[SweepRow], a: Allocation) -> impl Iterator<Item = &SweepRow> {
    rows.iter().filter(move |r| r.alloc == a)
}

/// Run the first `n` test samples through the simulator and compare each with
/// the golden model. Returns the simulator's accuracy and the samples checked;
/// any difference is an error naming the sample.
fn verify_on_simulator(
    sim: &mut dyn Simulator,
    model: &Model,
    data: &Data,
    n: usize,
) -> Result<(f64, usize)> {
    let n = n.min(data.test.len());
    let inputs: Vec<Vec<u8>> = crate::test_inputs(data).into_iter().take(n).collect();
    let got = sim.run(model, &inputs)?;
    let want = golden::run_checked_batch(model, &inputs, Engine::Packed);
    if got.len() != want.len() {
        bail!(
            "the simulator returned {} results for {} samples",
            got.len(),
            want.len()
        );
    }
    let mut correct = 0usize;
    for (i, ((g, w), &y)) in got.iter().zip(&want).zip(&data.test.labels).enumerate() {
        if g != w {
            bail!(
                "RTL simulation differs from the golden model on test sample {i}: \
                 readout {:?} (class {}) vs golden {:?} (class {}); this is an RTL or driver bug",
                g.readout,
                g.class,
                w.readout,
                w.class
            );
        }
        correct += usize::from(g.class == usize::from(y));
    }
    Ok((correct as f64 / n.max(1) as f64, n))
}
