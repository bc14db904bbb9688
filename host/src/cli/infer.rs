//! `spikeslice infer`: run a model on a dataset or a CSV of inputs.

use anyhow::{Context, Result};
use spikeslice::compiler;
use spikeslice::input::{self, Split};
use spikeslice::report::{self, InferReport};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// The model's JSON spec (its safetensors file sits beside it).
    #[arg(long)]
    model: PathBuf,
    /// An input file: a CSV with one sample per line (integers separated by
    /// commas, optionally the label last), or a dataset file (IDX, CIFAR-10, .csv.gz).
    #[arg(long, conflicts_with = "data", required_unless_present = "data")]
    input: Option<PathBuf>,
    /// A labelled dataset: mnist-5k, optdigits, a .csv[.gz] with the label last,
    /// an MNIST IDX images file or directory, or CIFAR-10 binary batches.
    #[arg(long)]
    data: Option<String>,
    /// Which part of the dataset to use.
    #[arg(long, value_enum, default_value = "test")]
    split: Split,
    /// Use at most this many samples.
    #[arg(long)]
    limit: Option<usize>,
    #[command(flatten)]
    device: super::DeviceArgs,
    /// Write per-sample readouts, classes and per-layer spike counts as JSON.
    #[arg(long)]
    output: Option<PathBuf>,
}

pub fn run(args: Args) -> Result<()> {
    let model = super::load_model(&args.model)?;
    let samples = match (&args.input, &args.data) {
        (Some(path), _) => {
            let mut s = input::from_file(&model, path)?;
            if let Some(l) = s.labels.as_mut() {
                l.truncate(args.limit.unwrap_or(usize::MAX));
            }
            if let Some(n) = args.limit {
                s.inputs.truncate(n);
            }
            s
        }
        (None, Some(spec)) => {
            let data = input::open_dataset(spec, args.split, args.limit)?;
            input::from_dataset(&model, &data)?
        }
        (None, None) => unreachable!("clap requires --input or --data"),
    };
    let (mut dev, config) = args.device.open()?;
    let program = compiler::compile(&model, &config).with_context(|| {
        format!(
            "cannot compile model {} for this accelerator",
            model.spec.name
        )
    })?;
    let started = std::time::Instant::now();
    let outputs: Vec<_> = dev
        .run(&program, &samples.inputs)?
        .into_iter()
        .map(|i| i.output)
        .collect();
    let seconds = started.elapsed().as_secs_f64();
    let report = InferReport::new(
        &model,
        dev.name(),
        &samples.source,
        &outputs,
        samples.labels.as_deref(),
    );
    println!(
        "model {} on {} ({} samples, backend {}, {:.0} samples/s)",
        model.spec.name,
        samples.source,
        outputs.len(),
        dev.name(),
        outputs.len() as f64 / seconds.max(1e-9)
    );
    if let Some(acc) = report.accuracy {
        println!("accuracy: {:.2}%", 100.0 * acc);
    } else {
        for r in report.results.iter().take(20) {
            println!(
                "sample {}: class {} readout {:?}",
                r.index, r.class, r.readout
            );
        }
    }
    println!("{}", report::firing_table(&model, &outputs));
    if let Some(path) = &args.output {
        let json = serde_json::to_string_pretty(&report)?;
        std::fs::write(path, json + "\n")
            .with_context(|| format!("cannot write {}", path.display()))?;
        println!("wrote {}", path.display());
    }
    Ok(())
}
