//! `spikeslice budget`: the bit-budget table (BB paper Eqs. 4, 8, 9).

use anyhow::Result;
use spikeslice::input::Split;
use spikeslice::report;
use spikeslice_core::budget::budget;
use spikeslice_core::golden::{self, Engine};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// The model's JSON spec (its safetensors file sits beside it: the
    /// layers' shapes come from the weights).
    #[arg(long)]
    model: PathBuf,
    /// Measure firing rates (for NS-ACE) on this dataset: mnist-5k, optdigits,
    /// a .csv[.gz] with the label last (read with the model's input shape; `-`: from standard input), IDX
    /// or CIFAR-10 files.
    #[arg(long)]
    data: Option<String>,
    #[command(flatten)]
    samples: super::SampleArgs,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// Also write the JSON to this file (`-`: standard output, instead of the
    /// table).
    #[arg(long, visible_alias = "output", value_name = "FILE")]
    out: Option<PathBuf>,
}

pub fn run(args: Args) -> Result<()> {
    args.samples.check()?;
    if args.data.is_none() {
        super::refuse_given(
            &[
                ("--limit", args.samples.limit.is_some()),
                ("--split", args.samples.split != Split::Test),
            ],
            |flag| {
                format!(
                    "{flag} chooses the samples firing rates are measured on: add --data, or leave {flag} out"
                )
            },
        )?;
    }
    let model = super::load_model(&args.model)?;
    if let Some(out) = &args.out {
        let data = args.data.as_deref().map(std::path::Path::new);
        super::outputs::check_report_target(out, &args.model, &model, &[data])?;
    }
    let outputs = match &args.data {
        Some(spec) => {
            let samples = args.samples.load(&model, spec)?;
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
    // The file first: a closed or full standard output must not lose it.
    if let Some(path) = &args.out {
        super::outputs::write_json(path, &b)?;
        if super::outputs::is_stdio(path) {
            return Ok(());
        }
    }
    if args.json {
        out!("{}", serde_json::to_string_pretty(&b)?);
    } else {
        out!(
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
        out!("{}", report::budget_table(&b));
        out!("BB = T*b_w*b_s per synapse (Eq. 4); S-ACE = sum n*BB (Eq. 8); NS-ACE = sum fr*n*BB (Eq. 9)");
    }
    Ok(())
}
