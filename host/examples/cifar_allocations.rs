//! A CIFAR-10-shaped network at every allocation of Bit Budget 32 and 64 with
//! `b_w = 8`, on a preset (default `kv260`) or an `R x C` accelerator: cycles
//! per image from the cycle model, fps at 200 MHz,
//! energy per image (the energy model, docs/energy.md, on one random image),
//! PE utilization, and DMA bytes read per image against what the data needs
//! (weights + input + every layer's output, once). Beside each, the same
//! program compiled without merged groups (docs/architecture.md, "Merged
//! groups").
//!
//! `ARCH` is `vgg` (3x32x32; 64-64-pool-128-128-pool-256-256-pool, readout
//! 10) or `resnet` (the ResNet-19-shaped net of docs/training.md, its SEW
//! blocks on concatenations, docs/architecture.md, "Residual connections").
//! Cycles and DMA bytes depend on shapes only, so the weights are untrained
//! (`spikeslice_train::untrained_model`); the energy's data-dependent counts
//! (PE additions, spikes) are those of random weights. The BB paper's Table 4
//! reports 342 fps at BB 32 and 155 fps at BB 64 for its ResNet-19 on the
//! xck26.
//!
//! `cargo run --release -p spikeslice --example cifar_allocations -- ARCH [PRESET | R C [ABUF OBUF WBUF]]`
//! (`R C`: the `default` preset with that array; `ABUF`, `OBUF`, `WBUF`: the
//! activation, output and weight buffers' bytes, the default preset's when left out).
use spikeslice::compiler::{compile_with, Mapping};
use spikeslice::device::{Device, GoldenDevice};
use spikeslice::energy::EnergyModel;
use spikeslice::performance::analyze;
use spikeslice_core::accel::cycles::CycleModel;
use spikeslice_core::accel::preset::{preset, BOARD_PRESET};
use spikeslice_core::accel::AcceleratorConfig;
use spikeslice_train::alloc::{self, PerLayer};
use spikeslice_train::arch::{self, Arch};

const CLOCK_HZ: f64 = 200e6;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let arch: Arch = args
        .next()
        .unwrap_or_else(|| "vgg".into())
        .parse()
        .map_err(anyhow::Error::msg)?;
    let rest: Vec<String> = args.collect();
    let config = match rest.first().map(|a| a.parse::<usize>()) {
        None => preset(BOARD_PRESET)?.config,
        Some(Err(_)) => preset(&rest[0])?.config,
        Some(Ok(_)) => {
            let dims: Vec<usize> = rest.iter().map(|a| a.parse()).collect::<Result<_, _>>()?;
            let default = AcceleratorConfig::default();
            AcceleratorConfig {
                rows: dims[0],
                cols: dims.get(1).copied().unwrap_or(default.cols),
                abuf_bytes: dims.get(2).copied().unwrap_or(default.abuf_bytes),
                obuf_bytes: dims.get(3).copied().unwrap_or(default.obuf_bytes),
                wbuf_bytes: dims.get(4).copied().unwrap_or(default.wbuf_bytes),
                ..default
            }
        }
    };
    let cycle_model = CycleModel::new(config);
    let defs = arch::layers(&arch, [3, 32, 32], 10).map_err(anyhow::Error::msg)?;
    println!(
        "{arch} (CIFAR-10 shape, untrained weights) on {}x{} (activation and output buffers {} and {} KiB) at {:.0} MHz",
        config.rows,
        config.cols,
        config.abuf_bytes / 1024,
        config.obuf_bytes / 1024,
        CLOCK_HZ / 1e6
    );
    println!("| BB | b_w/b_s/T | cycles | fps | energy / image | PE util. | DMA read | x data | unmerged cycles | merged speed-up |");
    println!("|---|---|---|---|---|---|---|---|---|---|");
    let mut first = None;
    let mut rng = spikeslice_core::random::rng(1);
    let image = spikeslice_core::random::spikes(&mut rng, 3 * 32 * 32, 8, 1.0);
    for budget in [32, 64] {
        for a in alloc::enumerate(budget, false)?
            .into_iter()
            .filter(|a| a.b_w == 8)
        {
            if let Err(why) = spikeslice_train::net::check_sums(&defs, a, &PerLayer::default()) {
                println!(
                    "| {budget} | {}/{}/{} | refused: {why} | | | | | | | |",
                    a.b_w, a.b_s, a.t
                );
                continue;
            }
            let model = spikeslice_train::untrained_model(&arch, [3, 32, 32], 10, a, 1)?;
            let merged = compile_with(&model, &config, Mapping::default())?;
            let plain = compile_with(
                &model,
                &config,
                Mapping {
                    merge_groups: false,
                    ..Mapping::default()
                },
            )?;
            let (layers, m) = merged.predict(&cycle_model);
            first.get_or_insert((a, merged.clone(), layers));
            let (_, u) = plain.predict(&cycle_model);
            let runs = GoldenDevice.run(&merged, std::slice::from_ref(&image))?;
            let perf = analyze(&merged, &runs, &EnergyModel::default(), CLOCK_HZ, "golden");
            println!(
                "| {budget} | {}/{}/{} | {} | {:.1} | {:.2} mJ | {:.1}% | {:.1} MB | {:.1} | {} | {:.2}x |",
                a.b_w,
                a.b_s,
                a.t,
                m.total,
                CLOCK_HZ / m.total as f64,
                1e3 * perf.energy.total_j,
                100.0 * m.utilization(),
                m.dma_read_bytes as f64 / 1e6,
                m.dma_read_bytes as f64 / merged.data_bytes() as f64,
                u.total,
                u.total as f64 / m.total as f64,
            );
        }
    }
    if let Some((a, program, layers)) = first {
        println!(
            "\nWhere the cycles go at {}/{}/{} (cycle model; dma and control as if nothing \
             overlapped, overlap = what ran at once):",
            a.b_w, a.b_s, a.t
        );
        println!("| layer | merged groups | parts | tiles | compute | dma | of it weights | control | overlap | total | PE util. |");
        println!("|---|---|---|---|---|---|---|---|---|---|---|");
        for (((l, c), m), span) in program
            .model
            .layers
            .iter()
            .zip(&layers)
            .zip(&program.merged_groups)
            .zip(&program.spans)
        {
            println!(
                "| {} | {m} | {} | {} | {} | {} | {} | {} | {} | {} | {:.1}% |",
                l.name,
                span.len(),
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
