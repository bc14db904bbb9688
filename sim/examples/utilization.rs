//! Measures PE utilization on a large dense tile: K = 1024 inputs, 256 outputs,
//! b_in * T = 8 binary slices (b_in = 1, T = 8), no backpressure.
//! ideal cycles = K * O * S / (R * C); utilization = ideal / measured.
//!
//! `cargo run --release -p spikeslice-sim --example utilization -- 8 8`
use spikeslice_core::golden::LayerOutput;
use spikeslice_core::random;
use spikeslice_hdl::ArrayConfig;
use spikeslice_sim::{Backpressure, CoreSim, SimOptions};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let (rows, cols) = (
        args.first().copied().unwrap_or(8),
        args.get(1).copied().unwrap_or(8),
    );
    let (k, o, t, b_s) = (
        1024usize,
        256usize,
        8usize,
        args.get(2).copied().unwrap_or(1) as u8,
    );
    let cfg = ArrayConfig {
        rows,
        cols,
        ..Default::default()
    };
    let mut sim = CoreSim::build(&cfg, &SimOptions::default())?;
    let mut rng = random::rng(1);
    let layer = random::matmul_layer(&mut rng, o, k, 8, 1, LayerOutput::Spikes { bits: b_s });
    let xs: Vec<Vec<u8>> = (0..t)
        .map(|_| random::spikes(&mut rng, k, 1, 0.5))
        .collect();
    let t0 = std::time::Instant::now();
    let run = sim.run_layer(&layer, &xs, Backpressure::none())?;
    let wall = t0.elapsed().as_secs_f64();
    assert_eq!(
        run.trace.spikes,
        layer.run(&xs).spikes,
        "RTL differs from golden"
    );
    let ideal = (k * o * t) as f64 / (rows * cols) as f64;
    println!(
        "{rows}x{cols} K={k} O={o} S={t} b_s={b_s}: {} cycles, ideal {ideal:.0}, utilization {:.1}%, {:.2} Mcycles/s simulated",
        run.cycles,
        100.0 * ideal / run.cycles as f64,
        run.cycles as f64 / wall / 1e6
    );
    Ok(())
}
