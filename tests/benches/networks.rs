//! Simulated images per second of the reference networks (models/mnist-mlp.json,
//! models/mnist-cnn.json) on the Verilator backend: the whole accelerator shell
//! (registers, DMA, controller, buffers, core) at the default 8x8 configuration,
//! driven through its registers and the DDR model exactly as `spikeslice run
//! --backend sim` drives it, next to the golden backend on the same program.
//!
//! `cargo bench -p spikeslice-tests --bench networks` (a few minutes; the first
//! run builds the shell with Verilator). Criterion's throughput is in elements =
//! images, so `thrpt` reads as images per second of host time. Before measuring,
//! the bench checks the sim's outputs equal the golden backend's. The MLP also
//! runs in batches of 64 (`mnist-mlp_sim_runs_of_64`), beside its runs of one.
//! Each sim figure is measured twice: by wall time, and (`*_cpu`) by this
//! thread's CPU time, which the Verilated shell runs on alone and which other
//! jobs on a shared machine disturb far less (the golden backend may use more
//! threads, so it is timed by wall time only).
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use spikeslice::compiler::{compile, compile_with, Mapping};
use spikeslice::device::{Device, GoldenDevice, SimDevice};
use spikeslice_core::accel::AcceleratorConfig;
use spikeslice_sim::iverilog::thread_cpu_time;
use spikeslice_tests::{digits, repository_model};
use std::time::Duration;

/// Images per measured iteration.
const BATCH: usize = 8;
/// Samples a run of the batched program computes.
const RUN_OF: usize = 64;

fn bench(c: &mut Criterion) {
    let config = AcceleratorConfig::default();
    let mut sim = SimDevice::open(&config).expect("build the Verilated shell");
    let mut g = c.benchmark_group("networks");
    g.sample_size(10);
    g.warm_up_time(Duration::from_secs(1));
    g.measurement_time(Duration::from_secs(10));
    g.throughput(Throughput::Elements(BATCH as u64));
    for name in ["mnist-mlp", "mnist-cnn"] {
        let model = repository_model(&format!("{name}.json"));
        let program = compile(&model, &config).expect("compile");
        let xs = digits(&model, BATCH);
        let want = GoldenDevice.run(&program, &xs).expect("golden");
        let got = sim.run(&program, &xs).expect("sim");
        for (g, w) in got.iter().zip(&want) {
            assert_eq!(g.output, w.output, "{name}: the sim differs from golden");
        }
        eprintln!(
            "{name}: {} simulated cycles per image",
            got[0].cycles.unwrap_or(0)
        );
        g.bench_function(format!("{name}_sim"), |b| {
            b.iter(|| sim.run(&program, &xs).expect("sim"))
        });
        g.bench_function(format!("{name}_sim_cpu"), |b| {
            b.iter_custom(|iters| {
                thread_cpu_time(iters, || {
                    sim.run(&program, &xs).expect("sim");
                })
            })
        });
        g.bench_function(format!("{name}_golden"), |b| {
            b.iter(|| GoldenDevice.run(&program, &xs).expect("golden"))
        });
    }
    // The MLP in runs of 64 digits (docs/architecture.md, "Batches"), 64
    // digits an iteration: images per second against the runs of one above.
    let model = repository_model("mnist-mlp.json");
    let mapping = Mapping {
        batch: RUN_OF,
        ..Mapping::default()
    };
    let program = compile_with(&model, &config, mapping).expect("compile a batch");
    let xs = digits(&model, RUN_OF);
    let want = GoldenDevice.run(&program, &xs).expect("golden");
    let got = sim.run(&program, &xs).expect("sim");
    assert!(
        got.iter().zip(&want).all(|(g, w)| g.output == w.output),
        "mnist-mlp in runs of {RUN_OF}: the sim differs from golden"
    );
    g.throughput(Throughput::Elements(RUN_OF as u64));
    g.bench_function(format!("mnist-mlp_sim_runs_of_{RUN_OF}"), |b| {
        b.iter(|| sim.run(&program, &xs).expect("sim"))
    });
    g.bench_function(format!("mnist-mlp_sim_runs_of_{RUN_OF}_cpu"), |b| {
        b.iter_custom(|iters| {
            thread_cpu_time(iters, || {
                sim.run(&program, &xs).expect("sim");
            })
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
