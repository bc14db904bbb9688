//! `spikeslice run`: a model on a device, with accuracy and, per network and
//! per layer, cycles, latency, fps, PE utilization, DMA bytes and energy.

use anyhow::Result;
use spikeslice::device::Backend;
use spikeslice::energy::EnergyModel;
use spikeslice::performance::{self, MeasuredPower};
use spikeslice::report;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

#[derive(clap::Args)]
pub struct Args {
    /// The model's JSON spec (its safetensors file sits beside it).
    #[arg(long)]
    model: PathBuf,
    /// A labelled dataset: mnist-5k, optdigits, a .csv[.gz] with the label
    /// last (read with the model's input shape; `-`: from standard input), an MNIST IDX file or
    /// directory, or CIFAR-10 binary batches.
    #[arg(long, default_value = "mnist-5k")]
    data: String,
    #[command(flatten)]
    samples: super::SampleArgs,
    #[command(flatten)]
    device: super::DeviceArgs,
    #[command(flatten)]
    mapping: super::MappingArgs,
    /// Accelerator clock for latency, fps and static energy, in MHz.
    #[arg(long, default_value_t = 200.0)]
    clock_mhz: f64,
    /// Energy table (JSON, fields of docs/energy.md) instead of the xck26 estimates.
    #[arg(long)]
    energy_model: Option<PathBuf>,
    /// Board backend: seconds of idle power to measure before the run
    /// [default: 5].
    #[arg(long)]
    idle_seconds: Option<f64>,
    /// Measure every layer's cycles and counts on the device, where it can only
    /// at a cost (sim: one start per descriptor, as many runs as layers).
    #[arg(long)]
    per_layer: bool,
    /// Write the whole report as JSON to this file (`-`: standard output,
    /// instead of the summary).
    #[arg(long, visible_alias = "json", value_name = "FILE")]
    out: Option<PathBuf>,
}

pub fn run(args: Args) -> Result<()> {
    let clock_hz = super::clock_hz(args.clock_mhz)?;
    args.samples.check()?;
    args.device.check()?;
    let idle_seconds = match args.idle_seconds {
        Some(s) if args.device.backend != Backend::Board => {
            return Err(usage!(
                "--idle-seconds {s} measures a board's power: add --backend board, or leave it out"
            ))
        }
        Some(s) if !(s.is_finite() && s >= 0.0) => {
            return Err(usage!(
                "--idle-seconds {s} is not a duration: give a number of seconds >= 0"
            ))
        }
        Some(s) => s,
        None => 5.0,
    };
    let energy = match &args.energy_model {
        Some(p) => EnergyModel::load(p)?,
        None => EnergyModel::default(),
    };
    let model = super::load_model(&args.model)?;
    if let Some(out) = &args.out {
        let inputs = [Some(Path::new(&args.data)), args.energy_model.as_deref()];
        super::outputs::check_report_target(out, &args.model, &model, &inputs)?;
    }
    let samples = args.samples.load(&model, &args.data)?;
    let (mut dev, config) = args.device.open()?;
    if args.per_layer && !dev.measure_layers(true) {
        status!(
            "note: the {} backend does not measure layers one by one; per-layer figures come \
             from the cycle model",
            dev.name()
        );
    }
    let program = args
        .mapping
        .compile(&model, &config, samples.inputs.len())?;
    let idle = dev.power_watts()?.map(|first| {
        // A few readings over the idle window: the INA260 updates a few times a second.
        let mut readings = vec![first];
        let until = Instant::now() + Duration::from_secs_f64(idle_seconds);
        while Instant::now() < until {
            std::thread::sleep(Duration::from_millis(250));
            if let Ok(Some(w)) = dev.power_watts() {
                readings.push(w);
            }
        }
        readings.iter().sum::<f64>() / readings.len() as f64
    });
    let started = Instant::now();
    let runs = dev.run(&program, &samples.inputs)?;
    let seconds = started.elapsed().as_secs_f64();
    let busy = if idle.is_some() {
        dev.power_watts()?
    } else {
        None
    };
    let outputs: Vec<_> = runs.iter().map(|r| r.output.clone()).collect();
    let mut perf = performance::analyze(&program, &runs, &energy, clock_hz, dev.name());
    if let (Some(idle_w), Some(busy_w)) = (idle, busy) {
        perf.measured_power = Some(MeasuredPower {
            idle_w,
            busy_w,
            seconds,
            energy_per_inference_j: (busy_w - idle_w).max(0.0) * seconds / runs.len().max(1) as f64,
        });
    }
    let accuracy = samples
        .labels
        .as_deref()
        .map(|l| report::accuracy(&outputs, l));
    // The file first: a closed or full standard output must not lose it.
    if let Some(path) = &args.out {
        let json = serde_json::json!({
            "model": model.spec.name,
            "data": samples.source,
            "accuracy": accuracy,
            "performance": perf,
        });
        super::outputs::write_json(path, &json)?;
        if super::outputs::is_stdio(path) {
            return Ok(());
        }
    }
    out!(
        "model {} on {} ({} samples), backend {}, {:.1} samples/s on this host",
        model.spec.name,
        samples.source,
        runs.len(),
        dev.name(),
        runs.len() as f64 / seconds.max(1e-9)
    );
    if let Some(acc) = accuracy {
        out!("accuracy: {:.2}%", 100.0 * acc);
    }
    out!("{}", report::performance_report(&perf));
    Ok(())
}
