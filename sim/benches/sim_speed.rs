//! Simulated clock cycles per second of the Verilated core (8x8 and 16x16) on a dense
//! layer: `cargo bench -p spikeslice-sim --bench sim_speed`. Criterion reports the time
//! per layer run; cycles/s = cycles per run (printed) / time per run.
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use spikeslice_core::golden::LayerOutput;
use spikeslice_core::random;
use spikeslice_hdl::ArrayConfig;
use spikeslice_sim::{Backpressure, CoreSim, SimOptions};

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("verilator");
    g.sample_size(10);
    for n in [8usize, 16] {
        let cfg = ArrayConfig { rows: n, cols: n, ..Default::default() };
        let mut sim = CoreSim::build(&cfg, &SimOptions::default()).expect("build");
        let mut rng = random::rng(3);
        let layer = random::matmul_layer(&mut rng, 2 * n, 256, 8, 1, LayerOutput::Spikes { bits: 2 });
        let xs: Vec<Vec<u8>> = (0..n).map(|_| random::spikes(&mut rng, 256, 1, 0.5)).collect();
        let cycles = sim.run_layer(&layer, &xs, Backpressure::none()).expect("run").cycles;
        eprintln!("{n}x{n}: {cycles} cycles per run");
        g.throughput(Throughput::Elements(cycles));
        g.bench_function(format!("{n}x{n}_cycles"), |b| {
            b.iter(|| sim.run_layer(&layer, &xs, Backpressure::none()).expect("run"))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
