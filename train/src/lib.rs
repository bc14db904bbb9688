//! # spikeslice-train
//!
//! Quantization-aware training on the CPU (candle), conversion to the
//! spikeslice integer model, and the bit-budget sweep: "for this budget, how
//! should I spend my bits?" (docs/training.md).
//!
//! - [`alloc`]: allocations `(b_w, b_s, T)` and their enumeration under a budget;
//! - [`arch`]: the MLP and the conv net;
//! - [`net`]: the candle network, float training and QAT;
//! - [`convert`]: folding into the integer model, the integer quantized ANN,
//!   and the SNN-vs-ANN noise report;
//! - [`sweep`]: every allocation of a budget, cached, as a table, CSV, JSON and plot;
//! - [`relation`]: the thesis' bits-vs-timesteps measurement;
//! - [`import`]: float weights trained elsewhere (PyTorch safetensors);
//! - [`nir`]: spiking networks from the SNN ecosystem (NIR graphs).

pub mod alloc;
pub mod arch;
pub mod convert;
pub mod data;
pub mod import;
pub mod net;
pub mod nir;
pub mod plot;
pub mod relation;
pub mod stats;
pub mod sweep;

use alloc::{Allocation, PerLayer};
use anyhow::{Context, Result};
use arch::Arch;
use convert::LayerNoise;
use data::Data;
use net::{Calibration, Net, Phase};
use serde::{Deserialize, Serialize};
use spikeslice_core::budget::{self, NetworkBudget};
use spikeslice_core::golden::{self, Engine};
use spikeslice_core::model::Model;

/// Bump when a change to training, quantization or conversion changes the
/// numbers it produces: it is part of every cache key, so old cached models
/// are retrained rather than reused.
pub const TRAINER_VERSION: u32 = 1;

/// Everything that determines a trained model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    /// A dataset spec (`mnist-5k`, `optdigits`, a file: see `dataset::open`).
    pub data: String,
    pub arch: Arch,
    pub alloc: Allocation,
    /// Layers with other widths than `alloc`'s (mixed precision).
    #[serde(default, skip_serializing_if = "PerLayer::is_empty")]
    pub layers: PerLayer,
    pub seed: u64,
    /// Float pre-training.
    pub float: PhaseConfig,
    /// Quantization-aware fine-tuning from the float weights.
    pub qat: PhaseConfig,
    pub calibration: Calibration,
    /// Use only the first N training samples.
    pub train_limit: Option<usize>,
    /// Use only the first N test samples.
    pub test_limit: Option<usize>,
    /// Test samples on which the per-layer noise report is measured.
    pub noise_samples: usize,
}

/// Serializable [`Phase`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PhaseConfig {
    pub epochs: usize,
    pub lr: f64,
    pub batch: usize,
}

impl From<PhaseConfig> for Phase {
    fn from(p: PhaseConfig) -> Phase {
        Phase {
            epochs: p.epochs,
            lr: p.lr,
            batch: p.batch,
        }
    }
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            data: "mnist-5k".into(),
            arch: Arch::Mlp,
            alloc: Allocation {
                b_w: 4,
                b_s: 2,
                t: 2,
            },
            layers: PerLayer::default(),
            seed: 1,
            float: PhaseConfig {
                epochs: 30,
                lr: 2e-3,
                batch: 64,
            },
            qat: PhaseConfig {
                epochs: 8,
                lr: 1e-3,
                batch: 64,
            },
            calibration: Calibration::Percentile(99.9),
            train_limit: None,
            test_limit: None,
            noise_samples: 200,
        }
    }
}

/// What training reports per stage, for progress bars.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Float,
    Qat,
}

/// Progress callback: `(stage, steps done, steps total)`.
pub type Progress<'a> = &'a mut dyn FnMut(Stage, usize, usize);

/// The accuracies and metrics of one converted model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    pub alloc: Allocation,
    /// Float network (before QAT).
    pub float_accuracy: f64,
    /// The QAT network with fake quantization (candle, f32).
    pub qat_accuracy: f64,
    /// The integer quantized ANN of the converted model (exact count quantizer).
    pub qann_accuracy: f64,
    /// The converted SNN on the golden model.
    pub snn_accuracy: f64,
    /// Fraction of test samples where the SNN and integer-ANN classes agree.
    pub snn_qann_agreement: f64,
    pub test_samples: usize,
    pub noise: Vec<LayerNoise>,
    /// MACs, S-ACE, NS-ACE (firing rates measured on the test set), params,
    /// weight memory.
    pub budget: NetworkBudget,
}

/// A trained, converted model and its evaluation.
#[derive(Debug)]
pub struct TrainResult {
    pub model: Model,
    pub net: Net,
    pub eval: Evaluation,
}

/// A fresh network for `cfg`'s architecture on `data`.
pub fn new_net(arch: &Arch, data: &Data, seed: u64) -> Result<Net> {
    let [c, h, w] = data.train.shape;
    let defs = arch::layers(arch, data.train.shape, data.train.classes).map_err(|why| {
        anyhow::anyhow!(
            "--arch {arch} does not fit the {c}x{h}x{w} images of {}: {why}",
            data.name
        )
    })?;
    let x_max = ((1u32 << data.train.bits) - 1) as f32;
    Net::new(defs, x_max, seed)
}

/// An untrained network of `arch` for `[C, H, W]` images of 8-bit pixels and
/// `classes` classes, quantized at `alloc` (activation steps calibrated on
/// `seed`-random images) and converted: a model with the shapes and widths of
/// a trained one and values that mean nothing. What cycle and DMA figures
/// need, since those depend on shapes only (docs/performance.md).
pub fn untrained_model(
    arch: &Arch,
    image: [usize; 3],
    classes: usize,
    alloc: Allocation,
    seed: u64,
) -> Result<Model> {
    let defs = arch::layers(arch, image, classes).map_err(|why| {
        anyhow::anyhow!(
            "--arch {arch} does not fit {}x{}x{} images: {why}",
            image[0],
            image[1],
            image[2]
        )
    })?;
    let mut net = Net::new(defs, 255.0, seed)?;
    let mut rng = spikeslice_core::random::rng(seed);
    let len: usize = image.iter().product();
    let pixels = spikeslice_core::random::spikes(&mut rng, 4 * len, 8, 1.0);
    let x = candle_core::Tensor::from_vec(
        pixels
            .iter()
            .map(|&p| f32::from(p) / 255.0)
            .collect::<Vec<f32>>(),
        (4, image[0], image[1], image[2]),
        &net::dev(),
    )?;
    net.quantize(alloc, &x, Calibration::Max)?;
    convert::convert(&net, &format!("untrained-{arch}-{}", alloc.tag()), 8)
}

/// Float pre-training.
pub fn pretrain(cfg: &TrainConfig, data: &Data, progress: Progress) -> Result<Net> {
    let net = new_net(&cfg.arch, data, cfg.seed)?;
    net.fit(&data.train, cfg.float.into(), cfg.seed, &mut |d, t| {
        progress(Stage::Float, d, t)
    })?;
    Ok(net)
}

/// QAT at `cfg.alloc`, starting from the float network's weights.
pub fn finetune(cfg: &TrainConfig, data: &Data, float: &Net, progress: Progress) -> Result<Net> {
    let mut net = new_net(&cfg.arch, data, cfg.seed)?;
    net.set_tensors(&float.tensors(), None)?;
    let calib: Vec<usize> = (0..data.train.len().min(512)).collect();
    let x = net.batch(&data.train, &calib)?;
    cfg.layers.check(&cfg.arch)?;
    net.layers = cfg.layers.clone();
    net.quantize(cfg.alloc, &x, cfg.calibration)?;
    net.fit(
        &data.train,
        cfg.qat.into(),
        cfg.seed.wrapping_add(u64::from(cfg.alloc.budget())),
        &mut |d, t| progress(Stage::Qat, d, t),
    )?;
    Ok(net)
}

/// The test inputs as checked model inputs.
pub fn test_inputs(data: &Data) -> Vec<Vec<u8>> {
    (0..data.test.len())
        .map(|i| data.test.sample(i).to_vec())
        .collect()
}

/// Evaluate a converted model: integer ANN, SNN (golden), noise, budget.
pub fn evaluate_model(
    model: &Model,
    data: &Data,
    noise_samples: usize,
) -> Result<(f64, f64, f64, Vec<LayerNoise>, NetworkBudget)> {
    let inputs = test_inputs(data);
    if inputs.first().map(Vec::len) != Some(model.input_len()) {
        anyhow::bail!(
            "the model's input has {} values, the data's samples have {}",
            model.input_len(),
            data.test.sample_len()
        );
    }
    let outs = golden::run_checked_batch(model, &inputs, Engine::Packed);
    let labels = &data.test.labels;
    let n = inputs.len() as f64;
    let mut snn_ok = 0usize;
    let mut qann_ok = 0usize;
    let mut agree = 0usize;
    for ((x, o), &y) in inputs.iter().zip(&outs).zip(labels) {
        let ann = convert::qann(model, x);
        let qc = golden::argmax(ann.last().context("model has no layers")?);
        snn_ok += usize::from(o.class == usize::from(y));
        qann_ok += usize::from(qc == usize::from(y));
        agree += usize::from(qc == o.class);
    }
    let noise = convert::noise_report(model, &inputs[..noise_samples.min(inputs.len())]);
    let budget = budget::budget(model, Some(&outs));
    Ok((
        qann_ok as f64 / n,
        snn_ok as f64 / n,
        agree as f64 / n,
        noise,
        budget,
    ))
}

/// Train (float, then QAT), convert, evaluate. Deterministic for a seed.
pub fn train(cfg: &TrainConfig, progress: Progress) -> Result<TrainResult> {
    // Before the float phase: a typo in a layer name must not cost a training.
    cfg.layers.check(&cfg.arch)?;
    let defs = arch::structure(&cfg.arch).map_err(anyhow::Error::msg)?;
    net::check_sums(&defs, cfg.alloc, &cfg.layers)?;
    let data = data::load(&cfg.data, cfg.train_limit, cfg.test_limit)?;
    let float = pretrain(cfg, &data, progress)?;
    let float_accuracy = float.accuracy(&data.test)?;
    train_from(cfg, &data, &float, float_accuracy, progress)
}

/// QAT, convert and evaluate from an already trained float network.
pub fn train_from(
    cfg: &TrainConfig,
    data: &Data,
    float: &Net,
    float_accuracy: f64,
    progress: Progress,
) -> Result<TrainResult> {
    let net = finetune(cfg, data, float, progress)?;
    let qat_accuracy = net.accuracy(&data.test)?;
    let mixed = if cfg.layers.is_empty() { "" } else { "-mixed" };
    let name = format!(
        "{}-{}-{}{mixed}",
        data_tag(&cfg.data),
        cfg.arch,
        cfg.alloc.tag()
    );
    let model = convert::convert(&net, &name, data.train.bits)
        .with_context(|| format!("cannot convert the {} network at {}", cfg.arch, cfg.alloc))?;
    let (qann_accuracy, snn_accuracy, agreement, noise, budget) =
        evaluate_model(&model, data, cfg.noise_samples)?;
    Ok(TrainResult {
        eval: Evaluation {
            alloc: cfg.alloc,
            float_accuracy,
            qat_accuracy,
            qann_accuracy,
            snn_accuracy,
            snn_qann_agreement: agreement,
            test_samples: data.test.len(),
            noise,
            budget,
        },
        model,
        net,
    })
}

/// A short name for a dataset spec, for model names and files.
pub fn data_tag(spec: &str) -> String {
    let base = std::path::Path::new(spec)
        .file_name()
        .map(|f| f.to_string_lossy().to_string())
        .unwrap_or_else(|| spec.to_string());
    base.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}
