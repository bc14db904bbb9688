//! Simulated clock cycles per second of the Verilated core (8x8, 16x16, 32x32):
//! `cargo bench -p spikeslice-sim --bench sim_speed`.
//!
//! Workload: `spikeslice_sim::iverilog::baseline_layer(256, 7)` (K = 1024, 256 outputs,
//! 8-bit weights, b_in = 1, T = 8), no backpressure: the layer the Icarus baseline
//! (`--example iverilog_baseline`) runs. Criterion's throughput is in elements =
//! simulated cycles per layer run, so "thrpt" reads as cycles/s: `*_wall` by wall
//! time, `*_cpu` by the benchmark thread's CPU time. The figure includes
//! the Rust harness (stream queues, one FFI call per port per cycle), which is what
//! the equivalence suite pays. `*_raw_*`: the same core as rust-hdl writes it,
//! without the generator's post-pass (`spikeslice_hdl::postpass`), measured in the
//! same run so the ratio holds on a noisy machine (8x8 and 16x16 only: the
//! 32x32 core takes minutes to build, and its figure is the as-built one).
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use spikeslice_hdl::ArrayConfig;
use spikeslice_sim::build::Design;
use spikeslice_sim::{compare_with_golden, iverilog, Backpressure, CoreSim, SimOptions};
use std::time::Duration;

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("verilator");
    g.sample_size(10);
    g.warm_up_time(Duration::from_secs(2));
    g.measurement_time(Duration::from_secs(8));
    let (layer, xs) = iverilog::baseline_layer(256, 7);
    let golden = layer.run(&xs);
    for n in [8usize, 16, 32] {
        let cfg = ArrayConfig {
            rows: n,
            cols: n,
            ..Default::default()
        };
        let mut designs = vec![("", Design::Core(cfg.clone()))];
        if n <= 16 {
            designs.push(("_raw", Design::CoreWithoutPostpass(cfg.clone())));
        }
        for (tag, design) in designs {
            let mut sim = CoreSim::build_design(design, &SimOptions::default()).expect("build");
            let run = sim
                .run_layer(&layer, &xs, Backpressure::none())
                .expect("run");
            compare_with_golden(&run.trace, &golden)
                .unwrap_or_else(|e| panic!("{n}x{n}{tag}: {e}"));
            eprintln!("{n}x{n}{tag}: {} cycles per layer run", run.cycles);
            g.throughput(Throughput::Elements(run.cycles));
            g.bench_function(format!("{n}x{n}{tag}_cycles_wall"), |b| {
                b.iter(|| {
                    sim.run_layer(&layer, &xs, Backpressure::none())
                        .expect("run")
                })
            });
            // The same, timed by this thread's CPU time (Linux /proc, 10 ms
            // resolution; one run is 0.1-1 s).
            g.bench_function(format!("{n}x{n}{tag}_cycles_cpu"), |b| {
                b.iter_custom(|iters| {
                    iverilog::thread_cpu_time(iters, || {
                        sim.run_layer(&layer, &xs, Backpressure::none())
                            .expect("run");
                    })
                })
            });
        }
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
