//! `spikeslice import`: float weights trained elsewhere (PyTorch, saved as
//! safetensors), quantized and converted by the same code path as `train`.
//! The layer mapping is in docs/training.md.

use super::train::{Common, ModelOut};
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};

#[derive(clap::Args)]
pub struct Args {
    /// The float weights: a safetensors file (e.g. from
    /// `safetensors.torch.save_file(model.state_dict(), path)`).
    #[arg(long)]
    weights: PathBuf,
    #[command(flatten)]
    common: Common,
    #[command(flatten)]
    model: ModelOut,
}

pub fn run(args: Args) -> Result<()> {
    if args.common.float_epochs.is_some() {
        return Err(usage!(
            "--float-epochs does not apply to import: the --weights are the trained float network (--qat-epochs fine-tunes them)"
        ));
    }
    let mut cfg = args.common.config(args.model.alloc)?;
    cfg.layers = args.model.layers.per_layer(cfg.arch)?;
    // Import quantizes after training unless fine-tuning is asked for.
    if args.common.qat_epochs.is_none() {
        cfg.qat.epochs = 0;
    }
    let data_path = Path::new(&cfg.data);
    super::train::check_model_out(&args.model.out, &[args.weights.as_path(), data_path])?;
    if !args.weights.is_file() {
        return Err(usage!(
            "--weights {}: no such file (give the float weights saved with safetensors)",
            args.weights.display()
        ));
    }
    let data = spikeslice_train::data::load(&cfg.data, cfg.train_limit, cfg.test_limit)?;
    let float = spikeslice_train::import::load_float(&args.weights, cfg.arch, &data, cfg.seed)
        .with_context(|| format!("cannot import {}", args.weights.display()))?;
    let acc = float.accuracy(&data.test)?;
    status!(
        "imported {} as the {} network: float {:.2}% on {} test samples",
        args.weights.display(),
        cfg.arch,
        100.0 * acc,
        data.test.len()
    );
    let mut bar = super::progress::training();
    let r = spikeslice_train::train_from(&cfg, &data, &float, acc, &mut bar)?;
    args.model.finish(r, "")
}
