//! A CIFAR-10-shaped network in batches of 1 to 32 images on a preset: cycles
//! per image (the cycle model, `Program::predict`), PE utilization, the DMA
//! window, and the layers that read gather tables in a batch
//! (docs/architecture.md, "Batches"; docs/performance.md, "Batches").
//!
//! `cargo run --release -p spikeslice --example batches -- [ARCH [PRESET [b_w/b_s/T]]]`
//! (defaults: `vgg kv260 8/1/4`; `ARCH` as in `cifar_allocations`). Cycles
//! depend on shapes only, so the weights are untrained.
use spikeslice::compiler::{compile_with, Mapping};
use spikeslice_core::accel::cycles::CycleModel;
use spikeslice_core::accel::preset::{preset, BOARD_PRESET};
use spikeslice_train::alloc::Allocation;
use spikeslice_train::arch::Arch;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let arch: Arch = args
        .next()
        .unwrap_or_else(|| "vgg".into())
        .parse()
        .map_err(anyhow::Error::msg)?;
    let config = preset(&args.next().unwrap_or_else(|| BOARD_PRESET.into()))?.config;
    let a: Allocation = args.next().unwrap_or_else(|| "8/1/4".into()).parse()?;
    let model = spikeslice_train::untrained_model(&arch, [3, 32, 32], 10, a, 1)?;
    let cycle_model = CycleModel::new(config);
    println!(
        "{arch} {}/{}/{} on {}x{} (cycle model)",
        a.b_w, a.b_s, a.t, config.rows, config.cols
    );
    println!(
        "| batch | cycles / image | PE util. | window | split layers | layers reading tables |"
    );
    println!("|---|---|---|---|---|---|");
    for batch in [1, 2, 4, 8, 16, 32] {
        let mapping = Mapping {
            batch,
            ..Mapping::default()
        };
        let program = match compile_with(&model, &config, mapping) {
            Ok(p) => p,
            Err(e) => {
                println!("| {batch} | refused: {e} | | | | |");
                continue;
            }
        };
        let (_, total) = program.predict(&cycle_model);
        let split: Vec<&str> = program
            .spans
            .iter()
            .zip(&program.model.layers)
            .filter(|(s, _)| s.len() > 1)
            .map(|(_, l)| l.name.as_str())
            .collect();
        println!(
            "| {batch} | {} | {:.1}% | {:.0} MB | {} | {} |",
            total.total,
            100.0 * total.utilization(),
            program.window_bytes() as f64 / 1e6,
            split.join(", "),
            program.tabled_layers().join(", "),
        );
    }
    Ok(())
}
