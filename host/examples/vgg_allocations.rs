//! The CIFAR-10-shaped VGG net (3x32x32; 64-64-pool-128-128-pool-256-256-pool,
//! readout 10) at every allocation of Bit Budget 32 and 64 with `b_w = 8`, on
//! an `R x C` accelerator (default buffers): cycles per image from the cycle
//! model, fps at 200 MHz, PE utilization, and DMA bytes read per image against
//! what the data needs (weights + input + every layer's output, once). Beside
//! each, the same program compiled without merged groups (docs/architecture.md,
//! "Merged groups").
//!
//! Cycles and DMA bytes depend on shapes only, so the weights are untrained
//! (`spikeslice_train::untrained_model`). The BB paper's Table 4 reports 342
//! fps at BB 32 and 155 fps at BB 64 for its ResNet-19 on the xck26.
//!
//! `cargo run --release -p spikeslice --example vgg_allocations -- [R C]`
use spikeslice::compiler::{compile_with, Mapping, Program};
use spikeslice_core::accel::cycles::CycleModel;
use spikeslice_core::accel::AcceleratorConfig;
use spikeslice_train::alloc;
use spikeslice_train::arch::Arch;

const CLOCK_HZ: f64 = 200e6;

/// Bytes the network's data needs once: packed weights, input planes and
/// every layer's output region.
fn data_bytes(p: &Program) -> u64 {
    let weights: u64 = p
        .model
        .layers
        .iter()
        .map(|l| (l.synapses.weights.len() * usize::from(l.weight_bits.get())).div_ceil(8) as u64)
        .sum();
    let outputs: u64 = p.outputs.iter().map(|b| b.bytes as u64).sum();
    weights + p.input.bytes as u64 + outputs
}

fn main() -> anyhow::Result<()> {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse())
        .collect::<Result<_, _>>()?;
    let config = AcceleratorConfig {
        rows: args.first().copied().unwrap_or(8),
        cols: args.get(1).copied().unwrap_or(32),
        ..Default::default()
    };
    let cycle_model = CycleModel::new(config);
    let arch: Arch = "vgg".parse().map_err(anyhow::Error::msg)?;
    println!(
        "VGG (CIFAR-10 shape, untrained weights) on {}x{} at {:.0} MHz",
        config.rows,
        config.cols,
        CLOCK_HZ / 1e6
    );
    println!("| BB | b_w/b_s/T | cycles | fps | PE util. | DMA read | x data | unmerged cycles | merged speed-up |");
    println!("|---|---|---|---|---|---|---|---|---|");
    let mut first = None;
    for budget in [32, 64] {
        for a in alloc::enumerate(budget, false)?
            .into_iter()
            .filter(|a| a.b_w == 8)
        {
            let model = spikeslice_train::untrained_model(&arch, [3, 32, 32], 10, a, 1)?;
            let merged = compile_with(&model, &config, Mapping::default())?;
            let plain = compile_with(
                &model,
                &config,
                Mapping {
                    merge_groups: false,
                },
            )?;
            let (layers, m) = merged.predict(&cycle_model);
            first.get_or_insert((a, merged.clone(), layers));
            let (_, u) = plain.predict(&cycle_model);
            println!(
                "| {budget} | {}/{}/{} | {} | {:.1} | {:.1}% | {:.1} MB | {:.1} | {} | {:.2}x |",
                a.b_w,
                a.b_s,
                a.t,
                m.total,
                CLOCK_HZ / m.total as f64,
                100.0 * m.utilization(),
                m.dma_read_bytes as f64 / 1e6,
                m.dma_read_bytes as f64 / data_bytes(&merged) as f64,
                u.total,
                u.total as f64 / m.total as f64,
            );
        }
    }
    if let Some((a, program, layers)) = first {
        println!(
            "\nWhere the cycles go at {}/{}/{} (cycle model; dma and control as if nothing \
             overlapped, overlap = what double buffering hides):",
            a.b_w, a.b_s, a.t
        );
        println!("| layer | merged groups | tiles | compute | dma | of it weights | control | overlap | total | PE util. |");
        println!("|---|---|---|---|---|---|---|---|---|---|");
        for ((l, c), m) in program
            .model
            .layers
            .iter()
            .zip(&layers)
            .zip(&program.merged_groups)
        {
            println!(
                "| {} | {m} | {} | {} | {} | {} | {} | {} | {} | {:.1}% |",
                l.name,
                c.tiles,
                c.compute,
                c.dma,
                c.weight_load,
                c.control,
                c.overlap,
                c.total,
                100.0 * c.utilization()
            );
        }
    }
    Ok(())
}
