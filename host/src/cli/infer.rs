//! `spikeslice infer`: run a model on a dataset or a CSV of inputs.

use anyhow::Result;
use spikeslice::input::{self, Split};
use spikeslice::report::{self, InferReport};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// The model's JSON spec (its safetensors file sits beside it).
    #[arg(long)]
    model: PathBuf,
    /// An input file: a CSV with one sample per line (integers separated by
    /// commas, optionally the label last; `-` reads it from standard input), or
    /// a dataset file (IDX, CIFAR-10); used whole (--split is for --data).
    #[arg(long, conflicts_with = "data", required_unless_present = "data")]
    input: Option<PathBuf>,
    /// A labelled dataset: mnist-5k, optdigits, a .csv[.gz] with the label last
    /// (read with the model's input shape; `-`: from standard input), an MNIST IDX images file or
    /// directory, or CIFAR-10 binary batches.
    #[arg(long)]
    data: Option<String>,
    #[command(flatten)]
    samples: super::SampleArgs,
    #[command(flatten)]
    device: super::DeviceArgs,
    #[command(flatten)]
    mapping: super::MappingArgs,
    /// Write per-sample readouts, classes and per-layer spike counts as JSON
    /// to this file (`-`: standard output, instead of the summary).
    #[arg(long, visible_alias = "output", value_name = "FILE")]
    out: Option<PathBuf>,
}

/// Samples listed on standard output when the data has no labels.
const LISTED: usize = 20;

pub fn run(args: Args) -> Result<()> {
    args.samples.check()?;
    args.device.check()?;
    if args.input.is_some() && args.samples.split != Split::Test {
        return Err(usage!(
            "--split chooses a part of a --data dataset; an --input file is used whole: leave --split out"
        ));
    }
    let model = super::load_model(&args.model)?;
    if let Some(out) = &args.out {
        let data = args.data.as_deref().map(std::path::Path::new);
        let inputs = [args.input.as_deref(), data];
        super::outputs::check_report_target(out, &args.model, &model, &inputs)?;
    }
    let samples = match (&args.input, &args.data) {
        (Some(path), _) => {
            let mut s = input::from_file(&model, path)?;
            if let Some(l) = s.labels.as_mut() {
                l.truncate(args.samples.limit.unwrap_or(usize::MAX));
            }
            if let Some(n) = args.samples.limit {
                s.inputs.truncate(n);
            }
            s
        }
        (None, Some(spec)) => args.samples.load(&model, spec)?,
        (None, None) => unreachable!("clap requires --input or --data"),
    };
    let (mut dev, config) = args.device.open()?;
    let program = args
        .mapping
        .compile(&model, &config, samples.inputs.len())?;
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
    // The file first: a closed or full standard output must not lose it.
    let to_stdout = match &args.out {
        Some(path) => {
            super::outputs::write_json(path, &report)?;
            super::outputs::is_stdio(path)
        }
        None => false,
    };
    if to_stdout {
        return Ok(());
    }
    out!(
        "model {} on {} ({} samples, backend {}, {:.0} samples/s)",
        model.spec.name,
        samples.source,
        outputs.len(),
        dev.name(),
        outputs.len() as f64 / seconds.max(1e-9)
    );
    if let Some(acc) = report.accuracy {
        out!("accuracy: {:.2}%", 100.0 * acc);
    } else {
        for r in report.results.iter().take(LISTED) {
            out!(
                "sample {}: class {} readout {:?}",
                r.index,
                r.class,
                r.readout
            );
        }
        let rest = report.results.len().saturating_sub(LISTED);
        if rest > 0 {
            out!(
                "... and {rest} more sample(s){}",
                match &args.out {
                    Some(p) => format!(", all in {}", p.display()),
                    None => ": --out FILE writes them all".into(),
                }
            );
        }
    }
    out!("{}", report::firing_table(&model, &outputs));
    Ok(())
}
