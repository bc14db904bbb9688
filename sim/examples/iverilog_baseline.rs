//! Icarus Verilog baseline against Verilator on the same generated core and layer.
//!
//! `cargo run --release -p spikeslice-sim --example iverilog_baseline -- R C [outputs]`
//!
//! Layer: `spikeslice_sim::iverilog::baseline_layer` (K = 1024, `outputs` outputs,
//! default 256, 8-bit weights, b_in = 1, T = 8, seed 7), no backpressure. The Icarus
//! test bench (generated from Rust, written to /tmp/spikeslice_iverilog_RxC/) checks
//! every spike and final membrane against the golden model; this program checks the
//! parsed outputs again, and that both simulators count the same cycles.
use spikeslice_hdl::ArrayConfig;
use spikeslice_sim::{compare_with_golden, iverilog, Backpressure, CoreSim, SimOptions};
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let rows = args.first().copied().unwrap_or(8);
    let cols = args.get(1).copied().unwrap_or(rows);
    let outputs = args.get(2).copied().unwrap_or(256);
    let cfg = ArrayConfig {
        rows,
        cols,
        ..Default::default()
    };
    let (layer, xs) = iverilog::baseline_layer(outputs, 7);
    let golden = layer.run(&xs);

    // Verilator: one untimed run (and the check), then repeated runs for at least
    // 2 s of CPU time. Rates are per CPU second (the machine is shared).
    let mut sim = CoreSim::build(&cfg, &SimOptions::default())?;
    let run = sim.run_layer(&layer, &xs, Backpressure::none())?;
    compare_with_golden(&run.trace, &golden).map_err(|e| format!("Verilator: {e}"))?;
    let (t0, c0) = (Instant::now(), iverilog::thread_cpu_secs().unwrap_or(0.0));
    let mut runs = 0u64;
    let (wall, cpu) = loop {
        sim.run_layer(&layer, &xs, Backpressure::none())?;
        runs += 1;
        let wall = t0.elapsed().as_secs_f64();
        let cpu = iverilog::thread_cpu_secs().map_or(wall, |c| c - c0);
        if cpu >= 2.0 || wall >= 30.0 {
            break (wall, cpu);
        }
    };
    let vl_rate = (runs * run.cycles) as f64 / cpu;
    println!(
        "verilator {rows}x{cols}: {} cycles, {} compute beats; {runs} runs in {wall:.2} s wall, {cpu:.2} s CPU: {:.0} cycles/CPU-s ({:.0} cycles/wall-s)",
        run.cycles,
        run.compute_beats,
        vl_rate,
        (runs * run.cycles) as f64 / wall
    );

    // Icarus Verilog on the same design, layer and streams.
    let dir = std::env::temp_dir().join(format!("spikeslice_iverilog_{rows}x{cols}"));
    let iv = iverilog::run(&cfg, &layer, &xs, &dir)?;
    println!(
        "iverilog  {rows}x{cols}: {} cycles, {} compute beats, {} errors; iverilog {:.2} s, vvp {:.2} s wall, {:.2} s CPU: {:.0} cycles/CPU-s ({:.0} cycles/wall-s) ({})",
        iv.cycles,
        iv.compute_beats,
        iv.errors,
        iv.compile_secs,
        iv.run_secs,
        iv.run_cpu_secs,
        iv.cycles_per_sec(),
        iv.cycles as f64 / iv.run_secs,
        iv.dir.display()
    );
    assert_eq!(iv.errors, 0, "the Icarus test bench found mismatches");
    compare_with_golden(&iv.trace, &golden).map_err(|e| format!("Icarus: {e}"))?;
    assert_eq!(iv.cycles, run.cycles, "cycle counts differ");
    assert_eq!(iv.compute_beats, run.compute_beats, "beat counts differ");
    println!(
        "{rows}x{cols}: outputs equal golden on both; Verilator / Icarus (CPU time) = {:.0}x",
        vl_rate / iv.cycles_per_sec()
    );
    Ok(())
}
