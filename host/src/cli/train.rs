//! `spikeslice train`: quantization-aware training of one allocation, converted
//! to an integer model (docs/training.md).

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use spikeslice_train::alloc::Allocation;
use spikeslice_train::arch::Arch;
use spikeslice_train::net::Calibration;
use spikeslice_train::{Stage, TrainConfig};
use std::path::{Path, PathBuf};

/// Options shared by train, sweep, relation and import.
#[derive(clap::Args, Clone)]
pub struct Common {
    /// Dataset: mnist-5k (embedded; standard 4,000/1,000 split), optdigits
    /// (embedded), or a file or directory (split 80/20, stratified).
    #[arg(long, default_value = "mnist-5k")]
    pub data: String,
    /// Network: mlp (784-128-10) or cnn (two strided convs and a readout).
    #[arg(long, default_value = "mlp")]
    pub arch: Arch,
    /// Seed of initialisation and shuffling (training is deterministic for a seed).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Epochs of float training (default: 30).
    #[arg(long)]
    pub float_epochs: Option<usize>,
    /// Epochs of quantization-aware fine-tuning (default: 8).
    #[arg(long)]
    pub qat_epochs: Option<usize>,
    /// Activation calibration before QAT: max, or a percentile pNN (e.g. p99.9).
    #[arg(long, default_value = "p99.9")]
    pub calibration: Calibration,
    /// Train on the first N training samples only.
    #[arg(long)]
    pub train_limit: Option<usize>,
    /// Test on the first N test samples only.
    #[arg(long)]
    pub test_limit: Option<usize>,
}

impl Common {
    pub fn config(&self, alloc: Allocation) -> TrainConfig {
        let mut c = TrainConfig {
            data: self.data.clone(),
            arch: self.arch,
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
        c
    }
}

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    common: Common,
    /// How to spend the bits: b_w/b_s/T (weight bits / spike bits / timesteps).
    #[arg(long, default_value = "4/2/2")]
    alloc: Allocation,
    /// Where to write the model's JSON spec (its .safetensors goes beside it).
    #[arg(long)]
    out: PathBuf,
}

/// A progress bar that follows the training stages.
pub fn progress_bar() -> impl FnMut(Stage, usize, usize) {
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{msg:>6} [{bar:40}] {pos}/{len} steps {elapsed}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    let mut stage = None;
    move |s, done, total| {
        if stage != Some(s) {
            stage = Some(s);
            bar.reset();
            bar.set_length(total as u64);
            bar.set_message(match s {
                Stage::Float => "float",
                Stage::Qat => "QAT",
            });
        }
        bar.set_position(done as u64);
        if done == total {
            bar.finish_and_clear();
        }
    }
}

/// Save a model as `path` with its weights beside it, named after the file.
pub fn save_model(model: &mut spikeslice_core::model::Model, path: &Path) -> Result<()> {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .context("--out needs a file name, e.g. model.json")?;
    model.spec.weights = format!("{stem}.safetensors");
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    model
        .save(path)
        .with_context(|| format!("cannot write {}", path.display()))
}

/// Print an evaluation: accuracies, noise, budget.
pub fn print_eval(e: &spikeslice_train::Evaluation) {
    println!(
        "accuracy on {} test samples: float {:.2}%, QAT {:.2}%, quantized ANN (integer) {:.2}%, SNN (golden) {:.2}%",
        e.test_samples,
        100.0 * e.float_accuracy,
        100.0 * e.qat_accuracy,
        100.0 * e.qann_accuracy,
        100.0 * e.snn_accuracy
    );
    println!(
        "SNN and quantized ANN agree on {:.2}% of the samples",
        100.0 * e.snn_qann_agreement
    );
    let mut t = comfy_table::Table::new();
    t.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED);
    t.set_header(vec![
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
    println!("spike counts against the quantized ANN (QFFS \"occasional noise\"):\n{t}");
    let b = &e.budget;
    println!(
        "MACs {}, S-ACE {}, NS-ACE {}, params {}, weight memory {} bits",
        b.macs,
        b.s_ace,
        b.ns_ace.map_or("-".into(), |v| format!("{v:.0}")),
        b.params,
        b.weight_memory_bits
    );
}

pub fn run(args: Args) -> Result<()> {
    let cfg = args.common.config(args.alloc);
    println!(
        "training {} on {} at b_w/b_s/T = {} (BB = {}), seed {}",
        cfg.arch,
        cfg.data,
        cfg.alloc,
        cfg.alloc.budget(),
        cfg.seed
    );
    let started = std::time::Instant::now();
    let mut bar = progress_bar();
    let mut r = spikeslice_train::train(&cfg, &mut bar)?;
    print_eval(&r.eval);
    save_model(&mut r.model, &args.out)?;
    println!(
        "wrote {} ({:.1} s)",
        args.out.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
