//! `spikeslice train`: quantization-aware training of one allocation, converted
//! to an integer model (docs/training.md).

use anyhow::Result;
use spikeslice_train::alloc::{Allocation, LayerBits, PerLayer};
use spikeslice_train::arch::Arch;
use spikeslice_train::net::Calibration;
use spikeslice_train::TrainConfig;
use std::path::{Path, PathBuf};

/// Options shared by train, sweep, relation and import.
#[derive(clap::Args, Clone)]
pub struct Common {
    /// Dataset: mnist-5k (embedded; standard 4,000/1,000 split), optdigits
    /// (embedded), or a file or directory (split 80/20, stratified).
    #[arg(long, default_value = "mnist-5k")]
    pub data: String,
    // The grammar is written once, in the parser's module.
    #[arg(long, default_value = "mlp", help = spikeslice_train::arch::ARCH_HELP)]
    pub arch: Arch,
    /// Seed of initialisation and shuffling (training is deterministic for a seed).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Epochs of float training [default: 30] (not for import: its weights
    /// are trained).
    #[arg(long)]
    pub float_epochs: Option<usize>,
    /// Epochs of quantization-aware fine-tuning [default: 8; import: 0,
    /// quantize only].
    #[arg(long)]
    pub qat_epochs: Option<usize>,
    /// Activation calibration before QAT: max, or a percentile pNN (e.g. p99.9).
    #[arg(long, default_value = "p99.9")]
    pub calibration: Calibration,
    /// Train on the first N training samples only (N >= 1).
    #[arg(long)]
    pub train_limit: Option<usize>,
    /// Test on the first N test samples only (N >= 1).
    #[arg(long)]
    pub test_limit: Option<usize>,
}

impl Common {
    pub fn config(&self, alloc: Allocation) -> Result<TrainConfig> {
        for (flag, v) in [
            ("--train-limit", self.train_limit),
            ("--test-limit", self.test_limit),
        ] {
            if v == Some(0) {
                return Err(usage!(
                    "{flag} 0 selects no samples: give at least 1, or leave {flag} out for all"
                ));
            }
        }
        // Blocks in an order no image can take are a command-line error;
        // sizes are checked against the data.
        spikeslice_train::arch::structure(&self.arch)
            .map_err(|why| usage!("--arch {}: {why}", self.arch))?;
        let mut c = TrainConfig {
            data: self.data.clone(),
            arch: self.arch.clone(),
            alloc,
            seed: self.seed,
            calibration: self.calibration,
            train_limit: self.train_limit,
            test_limit: self.test_limit,
            ..TrainConfig::default()
        };
        if let Some(e) = self.float_epochs {
            c.float.epochs = e;
        }
        if let Some(e) = self.qat_epochs {
            c.qat.epochs = e;
        }
        Ok(c)
    }
}

/// Per-layer widths (mixed precision): train, import and sweep.
#[derive(clap::Args, Clone)]
pub struct LayerArgs {
    /// A layer's own widths, NAME=B_W/B_S: its weight bits and the bits of
    /// the spikes it emits (`*`: the allocation's; the readout takes B_W
    /// only), e.g. --layer fc1=8/2 --layer out=8. Repeatable. T stays the
    /// network's.
    #[arg(long = "layer", value_name = "NAME=B_W/B_S")]
    pub layer: Vec<String>,
    /// Per-layer widths from a JSON file, e.g.
    /// {"fc1": {"b_w": 8, "b_s": 2}, "out": {"b_w": 8}}.
    #[arg(long, value_name = "FILE")]
    pub layers: Option<PathBuf>,
}

impl LayerArgs {
    /// The per-layer widths asked for, checked against `arch`'s layers.
    pub fn per_layer(&self, arch: &Arch) -> Result<PerLayer> {
        let mut p = PerLayer::default();
        if let Some(f) = &self.layers {
            let text = std::fs::read(f)
                .map_err(|e| usage!("--layers {}: cannot read it: {e}", f.display()))?;
            let entries: std::collections::BTreeMap<String, LayerBits> =
                serde_json::from_slice(&text).map_err(|e| {
                    usage!(
                    "--layers {}: {e}: write an object of layer names, each with b_w and/or b_s, \
                         e.g. {{\"fc1\": {{\"b_w\": 8, \"b_s\": 2}}}}",
                    f.display()
                )
                })?;
            p = PerLayer(entries);
            p.check(arch)
                .map_err(|e| usage!("--layers {}: {e}", f.display()))?;
        }
        for t in &self.layer {
            p.add(t).map_err(|e| usage!("--layer {t}: {e}"))?;
        }
        p.check(arch).map_err(|e| usage!("--layer: {e}"))?;
        Ok(p)
    }
}

/// The allocation a model is quantized to and where it is written: train
/// and import.
#[derive(clap::Args)]
pub struct ModelOut {
    /// How to spend the bits: b_w/b_s/T (weight bits / spike bits / timesteps).
    #[arg(long, default_value = "4/2/2")]
    pub alloc: Allocation,
    /// Where to write the model's JSON spec (its .safetensors goes beside it,
    /// named after it; neither may be an input file).
    #[arg(long, visible_alias = "output", value_name = "FILE")]
    pub out: PathBuf,
    #[command(flatten)]
    pub layers: LayerArgs,
}

impl ModelOut {
    /// Save a trained model as `--out`, say so, and print its evaluation.
    pub fn finish(&self, mut r: spikeslice_train::TrainResult, note: &str) -> Result<()> {
        // The model first: a closed or full standard output must not lose it.
        save_model(&mut r.model, &self.out)?;
        status!(
            "wrote {} and {}{note}",
            self.out.display(),
            weights_beside(&self.out)?.display()
        );
        print_eval(&r.eval)
    }
}

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    common: Common,
    #[command(flatten)]
    model: ModelOut,
}

/// The weights file a model saved as `path` gets: beside it, named after it.
pub fn weights_beside(path: &Path) -> Result<PathBuf> {
    let stem = path
        .file_stem()
        .filter(|_| !super::outputs::is_stdio(path))
        .map(|s| s.to_string_lossy().to_string())
        .ok_or_else(|| {
            usage!(
                "--out {} needs a file name, e.g. model.json (a model is two files, so not -)",
                path.display()
            )
        })?;
    Ok(path.with_file_name(format!("{stem}.safetensors")))
}

/// Check before training that `--out` and the weights beside it can be
/// written and overwrite none of `inputs`.
pub fn check_model_out(path: &Path, inputs: &[&Path]) -> Result<()> {
    super::outputs::check_file_target("--out", path)?;
    let weights = weights_beside(path)?;
    if path.extension().is_some_and(|e| e == "safetensors") {
        return Err(usage!(
            "--out {} names the weights file: give the JSON spec's name, e.g. {}",
            path.display(),
            path.with_extension("json").display()
        ));
    }
    super::outputs::check_not_input("--out", path, inputs)?;
    super::outputs::check_not_input(
        &format!("--out {} writes its weights to", path.display()),
        &weights,
        inputs,
    )
}

/// Save a model as `path` with its weights beside it, named after the file
/// (both written whole before either takes its name).
pub fn save_model(model: &mut spikeslice_core::model::Model, path: &Path) -> Result<()> {
    let weights = weights_beside(path)?;
    model.spec.weights = weights
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    model.save(path)?;
    Ok(())
}

/// `, per layer fc1 8/2, out 8/*` when some layers have their own widths.
pub fn mixed(layers: &PerLayer) -> String {
    if layers.is_empty() {
        String::new()
    } else {
        format!(", per layer {layers}")
    }
}

/// Print an evaluation: accuracies, noise, budget.
pub fn print_eval(e: &spikeslice_train::Evaluation) -> Result<()> {
    out!(
        "accuracy on {} test samples: float {:.2}%, QAT {:.2}%, quantized ANN (integer) {:.2}%, SNN (golden) {:.2}%",
        e.test_samples,
        100.0 * e.float_accuracy,
        100.0 * e.qat_accuracy,
        100.0 * e.qann_accuracy,
        100.0 * e.snn_accuracy
    );
    out!(
        "SNN and quantized ANN agree on {:.2}% of the samples",
        100.0 * e.snn_qann_agreement
    );
    let mut t = spikeslice::report::table(&[
        "layer",
        "outputs compared",
        "local noise %",
        "vs quantized ANN %",
        "mean |diff|",
    ]);
    for n in &e.noise {
        t.add_row(vec![
            n.layer.clone(),
            n.compared.to_string(),
            format!("{:.3}", 100.0 * n.local_rate()),
            format!("{:.3}", 100.0 * n.chain_rate()),
            format!("{:.4}", n.chain_mean_abs),
        ]);
    }
    out!("spike counts against the quantized ANN (QFFS \"occasional noise\"):\n{t}");
    let b = &e.budget;
    out!(
        "MACs {}, S-ACE {}, NS-ACE {}, params {}, weight memory {} bits",
        b.macs,
        b.s_ace,
        b.ns_ace.map_or("-".into(), |v| format!("{v:.0}")),
        b.params,
        b.weight_memory_bits
    );
    Ok(())
}

pub fn run(args: Args) -> Result<()> {
    let mut cfg = args.common.config(args.model.alloc)?;
    cfg.layers = args.model.layers.per_layer(&cfg.arch)?;
    let data_path = Path::new(&cfg.data);
    check_model_out(&args.model.out, &[data_path])?;
    status!(
        "training {} on {} at b_w/b_s/T = {} (BB = {}){}, seed {}",
        cfg.arch,
        cfg.data,
        cfg.alloc,
        cfg.alloc.budget(),
        mixed(&cfg.layers),
        cfg.seed
    );
    let started = std::time::Instant::now();
    let mut bar = super::progress::training();
    let r = spikeslice_train::train(&cfg, &mut bar)?;
    let took = format!(" ({:.1} s)", started.elapsed().as_secs_f64());
    args.model.finish(r, &took)
}
