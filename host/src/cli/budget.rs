//! `spikeslice budget`: the bit-budget table (BB paper Eqs. 4, 8, 9).

use anyhow::{Context, Result};
use spikeslice::input::{self, Split};
use spikeslice::report;
use spikeslice_core::budget::budget;
use spikeslice_core::golden::{self, Engine};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// The model's JSON spec.
    #[arg(long)]
    model: PathBuf,
    /// Measure firing rates (for NS-ACE) on this dataset.
    #[arg(long)]
    data: Option<String>,
    /// Which part of the dataset to measure on.
    #[arg(long, value_enum, default_value = "test")]
    split: Split,
    /// Measure on at most this many samples.
    #[arg(long)]
    limit: Option<usize>,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// Also write the JSON to this file.
    #[arg(long)]
    output: Option<PathBuf>,
}

pub fn run(args: Args) -> Result<()> {
    let model = super::load_model(&args.model)?;
    let outputs = match &args.data {
        Some(spec) => {
            let data = input::open_dataset(spec, args.split, args.limit)?;
            let samples = input::from_dataset(&model, &data)?;
            // Firing rates are defined by the golden model (docs/semantics.md §8).
            Some(golden::run_checked_batch(
                &model,
                &samples.inputs,
                Engine::Packed,
            ))
        }
        None => None,
    };
    let b = budget(&model, outputs.as_deref());
    let json = serde_json::to_string_pretty(&b)?;
    if args.json {
        println!("{json}");
    } else {
        println!(
            "model {}: T = {}, input {:?} at {} bits{}",
            model.spec.name,
            model.timesteps(),
            model.spec.input.shape,
            model.spec.input.bits.get(),
            if b.samples > 0 {
                format!(", firing rates measured on {} samples", b.samples)
            } else {
                String::new()
            }
        );
        println!("{}", report::budget_table(&b));
        println!("BB = T*b_w*b_s per synapse (Eq. 4); S-ACE = sum n*BB (Eq. 8); NS-ACE = sum fr*n*BB (Eq. 9)");
    }
    if let Some(path) = &args.output {
        std::fs::write(path, json + "\n")
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}
