//! `spikeslice import`: float weights trained elsewhere (PyTorch, saved as
//! safetensors), quantized and converted by the same code path as `train`
//! (docs/training.md); or a spiking network exported as a NIR graph by an SNN
//! framework, mapped onto the integer neuron (docs/nir.md).

use super::train::{Common, ModelOut};
use anyhow::{Context, Result};
use spikeslice::input::Split;
use spikeslice_core::golden::{self, Engine};
use spikeslice_train::nir::{self, ImportOptions, NirReset};
use std::path::{Path, PathBuf};

#[derive(clap::Args)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["weights", "nir"])))]
pub struct Args {
    /// The float weights: a safetensors file (e.g. from
    /// `safetensors.torch.save_file(model.state_dict(), path)`).
    #[arg(long)]
    weights: Option<PathBuf>,
    /// A spiking network as a NIR graph (HDF5, `nir.write`), exported by
    /// snnTorch, Sinabs, Norse, SpikingJelly, ... (docs/nir.md).
    #[arg(long, value_name = "FILE")]
    nir: Option<PathBuf>,
    #[command(flatten)]
    nir_options: NirArgs,
    #[command(flatten)]
    common: Common,
    #[command(flatten)]
    model: ModelOut,
}

/// What a NIR file does not say (docs/nir.md).
#[derive(clap::Args)]
struct NirArgs {
    /// --nir: bits of an input value (inputs are 0..2^bits - 1) [default: 8].
    #[arg(long)]
    input_bits: Option<u8>,
    /// --nir: the float value of one input step as the network was trained
    /// (1: event counts, as N-MNIST frames; 0.00392156862745098 = 1/255:
    /// 8-bit images scaled to [0, 1]) [default: 1].
    #[arg(long)]
    input_scale: Option<f64>,
    /// --nir: the simulation step in seconds, for LIF and LI time constants
    /// [default: 0.001].
    #[arg(long)]
    dt: Option<f64>,
    /// --nir: the neurons' reset: zero (NIR's equations) or subtract (the
    /// threshold: Sinabs' default, snnTorch's "subtract") [default: zero].
    #[arg(long, value_enum)]
    nir_reset: Option<ResetArg>,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum ResetArg {
    Zero,
    Subtract,
}

pub fn run(args: Args) -> Result<()> {
    match (&args.weights, &args.nir) {
        (_, Some(nir)) => run_nir(&args, nir),
        (Some(weights), None) => run_weights(&args, weights),
        (None, None) => unreachable!("clap requires --weights or --nir"),
    }
}

fn run_weights(args: &Args, weights: &Path) -> Result<()> {
    let n = &args.nir_options;
    super::refuse_given(
        &[
            ("--input-bits", n.input_bits.is_some()),
            ("--input-scale", n.input_scale.is_some()),
            ("--dt", n.dt.is_some()),
            ("--nir-reset", n.nir_reset.is_some()),
        ],
        |flag| {
            format!(
                "{flag} applies to --nir only: the --weights network takes the dataset's own input"
            )
        },
    )?;
    if args.common.float_epochs.is_some() {
        return Err(usage!(
            "--float-epochs does not apply to import: the --weights are the trained float network (--qat-epochs fine-tunes them)"
        ));
    }
    let mut cfg = args.common.config(args.model.alloc)?;
    cfg.layers = args.model.layers.per_layer(&cfg.arch)?;
    // Import quantizes after training unless fine-tuning is asked for.
    if args.common.qat_epochs.is_none() {
        cfg.qat.epochs = 0;
    }
    let data_path = Path::new(&cfg.data);
    super::train::check_model_out(&args.model.out, &[weights, data_path])?;
    if !weights.is_file() {
        return Err(usage!(
            "--weights {}: no such file (give the float weights saved with safetensors)",
            weights.display()
        ));
    }
    let data = spikeslice_train::data::load(&cfg.data, cfg.train_limit, cfg.test_limit)?;
    let float = spikeslice_train::import::load_float(weights, &cfg.arch, &data, cfg.seed)
        .with_context(|| format!("cannot import {}", weights.display()))?;
    let acc = float.accuracy(&data.test)?;
    status!(
        "imported {} as the {} network: float {:.2}% on {} test samples",
        weights.display(),
        cfg.arch,
        100.0 * acc,
        data.test.len()
    );
    let mut bar = super::progress::training();
    let r = spikeslice_train::train_from(&cfg, &data, &float, acc, &mut bar)?;
    args.model.finish(r, "")
}

/// A NIR graph: mapped onto the integer model at `--alloc` (its `b_w` for
/// every layer, `b_s` for every spiking one, `T`), saved, and evaluated on
/// `--data` when its samples are the network's input.
fn run_nir(args: &Args, path: &Path) -> Result<()> {
    let c = &args.common;
    super::refuse_given(
        &[
            ("--float-epochs", c.float_epochs.is_some()),
            ("--qat-epochs", c.qat_epochs.is_some()),
            ("--train-limit", c.train_limit.is_some()),
            ("--layer", !args.model.layers.layer.is_empty()),
            ("--layers", args.model.layers.layers.is_some()),
        ],
        |flag| {
            format!(
                "{flag} does not apply to --nir: a NIR network is imported as exported, at --alloc's widths"
            )
        },
    )?;
    if c.test_limit == Some(0) {
        return Err(usage!(
            "--test-limit 0 selects no samples: give at least 1, or leave it out"
        ));
    }
    let data_path = Path::new(&c.data);
    super::train::check_model_out(&args.model.out, &[path, data_path])?;
    if !path.is_file() {
        return Err(usage!(
            "--nir {}: no such file (give a NIR graph written by nir.write)",
            path.display()
        ));
    }
    let n = &args.nir_options;
    let alloc = args.model.alloc;
    let input_bits = n.input_bits.unwrap_or(8);
    let opts = ImportOptions {
        alloc,
        input_bits,
        input_scale: n.input_scale.unwrap_or(1.0),
        dt: n.dt.unwrap_or(1e-3),
        reset: match n.nir_reset.unwrap_or(ResetArg::Zero) {
            ResetArg::Zero => NirReset::Zero,
            ResetArg::Subtract => NirReset::Subtract,
        },
        name: path
            .file_stem()
            .map_or_else(|| "nir".into(), |s| s.to_string_lossy().into_owned()),
    };
    let imported =
        nir::import(path, &opts).with_context(|| format!("cannot import {}", path.display()))?;
    let mut model = imported.model;
    // The data is opened before anything is written: a bad --data fails the
    // command with no model left behind.
    let test = spikeslice::input::open_dataset_for(&model, &c.data, Split::Test, c.test_limit)?;
    for note in &imported.notes {
        status!("{note}");
    }
    super::train::save_model(&mut model, &args.model.out)?;
    status!(
        "wrote {} and {}",
        args.model.out.display(),
        super::train::weights_beside(&args.model.out)?.display()
    );
    let layers: Vec<String> = model
        .spec
        .layers
        .iter()
        .map(|l| format!("{} {}", l.kind(), l.name()))
        .collect();
    out!(
        "imported {} (NIR {}) at {alloc}: input {:?} x {} bits; {}",
        path.display(),
        imported.version,
        model.spec.input.shape,
        input_bits,
        layers.join(", ")
    );
    if test.sample_len() != model.input_len() || test.bits > input_bits {
        status!(
            "no accuracy: --data {} has {} {}-bit values per sample, the network takes {} of {} bits (give --data in the network's input shape)",
            c.data,
            test.sample_len(),
            test.bits,
            model.input_len(),
            input_bits
        );
        return Ok(());
    }
    let inputs: Vec<Vec<u8>> = (0..test.len()).map(|i| test.sample(i).to_vec()).collect();
    let outputs = golden::run_checked_batch(&model, &inputs, Engine::Packed);
    let correct = outputs
        .iter()
        .zip(&test.labels)
        .filter(|(o, &l)| o.class == usize::from(l))
        .count();
    out!(
        "accuracy on {} test samples of {}: SNN (golden) {:.2}%",
        test.len(),
        c.data,
        100.0 * correct as f64 / test.len() as f64
    );
    Ok(())
}
