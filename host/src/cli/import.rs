//! `spikeslice import`: float weights trained elsewhere (PyTorch, saved as
//! safetensors), quantized and converted by the same code path as `train`.
//! The layer mapping is in docs/training.md.

use super::train::{print_eval, save_model, Common};
use anyhow::{Context, Result};
use spikeslice_train::alloc::Allocation;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// The float weights: a safetensors file (e.g. from
    /// `safetensors.torch.save_file(model.state_dict(), path)`).
    #[arg(long)]
    weights: PathBuf,
    #[command(flatten)]
    common: Common,
    /// How to spend the bits: b_w/b_s/T.
    #[arg(long, default_value = "4/2/2")]
    alloc: Allocation,
    /// Where to write the model's JSON spec (its .safetensors goes beside it).
    #[arg(long)]
    out: PathBuf,
}

pub fn run(args: Args) -> Result<()> {
    let mut cfg = args.common.config(args.alloc);
    // Import quantizes after training unless fine-tuning is asked for.
    if args.common.qat_epochs.is_none() {
        cfg.qat.epochs = 0;
    }
    let data = spikeslice_train::data::load(&cfg.data, cfg.train_limit, cfg.test_limit)?;
    let float = spikeslice_train::import::load_float(&args.weights, cfg.arch, &data, cfg.seed)
        .with_context(|| format!("cannot import {}", args.weights.display()))?;
    let acc = float.accuracy(&data.test)?;
    println!(
        "imported {} as the {} network: float {:.2}% on {} test samples",
        args.weights.display(),
        cfg.arch,
        100.0 * acc,
        data.test.len()
    );
    let mut bar = super::train::progress_bar();
    let mut r = spikeslice_train::train_from(&cfg, &data, &float, acc, &mut bar)?;
    print_eval(&r.eval);
    save_model(&mut r.model, &args.out)?;
    println!("wrote {}", args.out.display());
    Ok(())
}
