//! Measures PE utilization on a large dense tile: K = 1024 inputs, 256 outputs,
//! S = b_in * T binary slices (default b_in = 1, T = 8), no backpressure, and checks
//! the spikes and final membranes against the golden model.
//! ideal cycles = K * O * S / (R * C); utilization = ideal / measured cycles, which
//! must equal the cycle model's (`cycles::bare_core_cycles`).
//!
//! `cargo run --release -p spikeslice-sim --example utilization -- R C [b_in T [b_s]] [--fanin-halves] [--param-prefetch]`
//! (b_s: bits of the output spikes, default 1; it sets the neuron steps per timestep;
//! `--fanin-halves`: the array in two halves of the fan-in, `ArrayConfig::fanin_halves`;
//! `--param-prefetch`: each tile's parameters shifted in while the last tile finishes,
//! `ArrayConfig::param_prefetch`.)
use spikeslice_core::accel::cycles::{bare_core_cycles, TileShape};
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
    let (k, o) = (1024usize, 256usize);
    let b_in = args.get(2).copied().unwrap_or(1) as u8;
    let t = args.get(3).copied().unwrap_or(8);
    let b_s = args.get(4).copied().unwrap_or(1) as u8;
    let s_slices = usize::from(b_in) * t;
    let flag = |name: &str| std::env::args().any(|a| a == name);
    let (fanin_halves, param_prefetch) = (flag("--fanin-halves"), flag("--param-prefetch"));
    let cfg = ArrayConfig {
        rows,
        cols,
        fanin_halves,
        param_prefetch,
        ..Default::default()
    };
    let mut sim = CoreSim::build(&cfg, &SimOptions::default())?;
    let mut rng = random::rng(1);
    let layer = random::matmul_layer(&mut rng, o, k, 8, b_in, LayerOutput::Spikes { bits: b_s });
    let xs: Vec<Vec<u8>> = (0..t)
        .map(|_| random::spikes(&mut rng, k, b_in, 0.5))
        .collect();
    let t0 = std::time::Instant::now();
    let run = sim.run_layer(&layer, &xs, Backpressure::none())?;
    let wall = t0.elapsed().as_secs_f64();
    let golden = layer.run(&xs);
    assert_eq!(run.trace.spikes, golden.spikes, "RTL differs from golden");
    assert_eq!(
        run.trace.membrane, golden.membrane,
        "RTL differs from golden"
    );
    // The cycle model's count of the same tiles (docs/compute-core.md).
    let shape = TileShape::of_layer(&layer, t, false);
    let model = bare_core_cycles(&cfg, &shape, o.div_ceil(cols) as u64);
    assert_eq!(run.cycles, model, "the cycle model differs from the RTL");
    let ideal = (k * o * s_slices) as f64 / (rows * cols) as f64;
    println!(
        "{rows}x{cols}{} K={k} O={o} S={s_slices} (b_in={b_in} T={t}) b_s={b_s}: {} cycles, ideal {ideal:.0}, utilization {:.1}%, compute beats {} ({:.1}% of cycles), {:.2} Mcycles/s simulated",
        match (fanin_halves, param_prefetch) {
            (false, false) => "",
            (true, false) => " (fan-in in halves)",
            (false, true) => " (parameter prefetch)",
            (true, true) => " (fan-in in halves, parameter prefetch)",
        },
        run.cycles,
        100.0 * ideal / run.cycles as f64,
        run.compute_beats,
        100.0 * run.compute_beats as f64 / run.cycles as f64,
        run.cycles as f64 / wall / 1e6
    );
    Ok(())
}
