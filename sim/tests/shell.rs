//! The generated shell Verilog (`spikeslice_shell.v`) in Verilator, driven as a board
//! drives it ([`ShellSim`]: AXI4-Lite registers, a DDR model behind the AXI4 master):
//! seeded random dense and gather chains built with core's encoders must leave the
//! window **byte for byte** as `functional::execute` leaves it (guard bytes and
//! untouched regions included), STATUS / DESC_INDEX / ERR_OFFSET as the functional
//! model says, the counters PE_ADDS / SLICES / SPIKES / DMA_WR equal to its
//! `Activity`, DMA_RD equal to the read formula of docs/controller.md, and, with a
//! fixed-latency DDR without backpressure, CNT_CYCLES equal to
//! the cycle model (`CycleModel::chain_cycles`). Faults (SLVERR on a read, DECERR on a write, a run
//! cut short by its cycle limit) end the run without a hang, and the next run on the
//! same simulator is bit-exact again.
//!
//! The Verilator builds are cached (target/spikeslice-sim-cache): the first run of
//! each configuration takes a minute or two to build.

use rand::Rng;
use spikeslice_core::accel::buffers::output_words;
use spikeslice_core::accel::cycles::{
    pairs_positions, read_phase_cycles, CycleModel, DmaTiming, TileShape,
};
use spikeslice_core::accel::descriptor::{LayerDescriptor, LayerKind};
use spikeslice_core::accel::regmap::{self, status, ErrorCode};
use spikeslice_core::accel::{functional, AcceleratorConfig};
use spikeslice_core::random::chain::{
    chain, chain_with_long_trains, config_2x2_128, config_2x3_64, config_2x8_64, config_4x4_64,
};
use spikeslice_core::random::{rng as seeded, TestRng};
use spikeslice_sim::ddr::{DdrTiming, Fault, RESP_DECERR, RESP_SLVERR};
use spikeslice_sim::{ShellSim, SimError, SimOptions};

const WINDOW: usize = 12 * 1024;
const MAX_CYCLES: u64 = 2_000_000;

/// The shell for `cfg` in Verilator, its DDR at a fixed `latency`.
fn shell(cfg: &AcceleratorConfig, latency: u64) -> ShellSim {
    let t = std::time::Instant::now();
    let mut s = ShellSim::build(cfg, &SimOptions::default())
        .unwrap_or_else(|e| panic!("building the {}x{} shell: {e}", cfg.rows, cfg.cols));
    s.ddr.set_timing(DdrTiming::fixed(latency));
    eprintln!(
        "shell {}x{} {}-bit: {} in {:.1} s",
        cfg.rows,
        cfg.cols,
        8 * cfg.axi_data_bytes,
        if s.verilated.built { "built" } else { "loaded" },
        t.elapsed().as_secs_f64()
    );
    s
}

/// Runs one random chain on `sim` with its current DDR timing and checks everything
/// against the functional model; with a fixed latency and no backpressure
/// CNT_CYCLES must equal the cycle formula. Returns the chain's layers.
fn check_chain(
    sim: &mut ShellSim,
    rng: &mut TestRng,
    gather_pct: f64,
    big: bool,
    long_pct: f64,
    what: &str,
) -> Vec<LayerDescriptor> {
    let cfg = *sim.config();
    let timing = sim.ddr.timing;
    let exact_latency = timing.is_fixed().then_some(timing.latency_min);
    let (w, desc_off, count) = chain_with_long_trains(rng, &cfg, WINDOW, gather_pct, big, long_pct);
    let mut want = w.clone();
    let act = functional::execute(&mut want, desc_off, count, &cfg)
        .unwrap_or_else(|e| panic!("{what}: the functional model refused the chain: {e}"));
    sim.set_window(w.clone());
    let out = sim
        .run(desc_off, count, MAX_CYCLES)
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    assert_eq!(out.status, status::DONE, "{what}: STATUS {:#x}", out.status);
    assert_eq!(out.desc_index, count, "{what}: DESC_INDEX");
    assert_eq!(out.err_offset, 0, "{what}: ERR_OFFSET");
    if let Some(p) = sim.window().iter().zip(&want).position(|(a, b)| a != b) {
        panic!(
            "{what}: window differs first at offset {p:#x}: RTL {:#04x}, functional {:#04x}",
            sim.window()[p],
            want[p]
        );
    }
    let c = out.counters;
    assert_eq!(c.pe_adds, act.pe_adds, "{what}: CNT_PE_ADDS");
    assert_eq!(c.slices, act.slices, "{what}: CNT_SLICES");
    assert_eq!(c.spikes, act.spikes, "{what}: CNT_SPIKES");
    assert_eq!(c.dma_write_bytes, act.bytes_written, "{what}: CNT_DMA_WR");
    let ds = functional::decode_chain(&w, desc_off, count, &cfg).unwrap();
    assert_eq!(
        c.dma_read_bytes,
        CycleModel::new(cfg).chain_read_bytes(&ds, u64::from(desc_off)),
        "{what}: CNT_DMA_RD"
    );
    assert!(
        c.busy > 0 && c.busy < c.cycles,
        "{what}: CNT_BUSY {} of {}",
        c.busy,
        c.cycles
    );
    // Controller active from the cycle after the start pulse to the done: the
    // interrupt follows the done by a couple of register stages.
    assert!(
        c.cycles <= sim.last_run_cycles() && sim.last_run_cycles() <= c.cycles + 8,
        "{what}: CNT_CYCLES {} vs {} cycles to the interrupt",
        c.cycles,
        sim.last_run_cycles()
    );
    match exact_latency {
        Some(l) => {
            let model = CycleModel::with_latency(cfg, l);
            let (_, predicted) = model.chain(&ds, 0);
            let est = predicted.total;
            // The core's busy cycles, its Emits' waits for the spike queue
            // where they fall (4 KiB write splits come after the runs).
            assert_eq!(
                c.busy, predicted.compute,
                "{what}: CNT_BUSY against the cycle model's compute"
            );
            // Exact, except for the 4 KiB write splits the estimate does not count
            // (see `CycleModel::write_split_cycles`): accepted only as exactly that amount.
            let split = model.write_split_cycles(&ds, sim.ddr.base);
            assert!(
                c.cycles == est || (split > 0 && c.cycles == est + split),
                "{what}: CNT_CYCLES {} vs the cycle model's {est} (latency {l}, \
                 4 KiB write splits {split})",
                c.cycles
            );
            if split > 0 {
                eprintln!("{what}: {split} cycles of 4 KiB write splits");
            }
            let dev = (c.cycles as f64 - est as f64).abs() / c.cycles as f64;
            assert!(dev < 0.02, "{what}: {:.2} % from the estimate", 100.0 * dev);
            // Every read waits L - 1 cycles for its first beat with nothing on R.
            if l >= 2 {
                assert!(
                    c.dma_stall_cycles > 0,
                    "{what}: no CNT_DMA_STALL at latency {l}"
                );
            }
            assert!(
                c.dma_stall_cycles < c.cycles,
                "{what}: CNT_DMA_STALL {}",
                c.dma_stall_cycles
            );
        }
        None => {
            // Backpressure and longer latencies only add cycles.
            let est = CycleModel::with_latency(cfg, timing.latency_min).chain_cycles(&ds);
            assert!(
                c.cycles >= est,
                "{what}: {} cycles under backpressure < {est} without",
                c.cycles
            );
        }
    }
    ds
}

/// `n` random chains at a fixed latency, each checked by [`check_chain`]; returns
/// every layer run.
fn chains(
    cfg: AcceleratorConfig,
    seed: u64,
    n: usize,
    gather_pct: f64,
    latency: u64,
    big: bool,
) -> Vec<LayerDescriptor> {
    chains_with_long_trains(cfg, seed, n, gather_pct, latency, big, 0.25)
}

/// [`chains`], `long_pct` of them with long trains of wide spikes
/// (`chain_with_long_trains`).
fn chains_with_long_trains(
    cfg: AcceleratorConfig,
    seed: u64,
    n: usize,
    gather_pct: f64,
    latency: u64,
    big: bool,
    long_pct: f64,
) -> Vec<LayerDescriptor> {
    let mut sim = shell(&cfg, latency);
    let mut rng = seeded(seed);
    let t = std::time::Instant::now();
    let c0 = sim.verilated.cycles();
    let mut layers = Vec::new();
    for i in 0..n {
        let what = format!(
            "{}x{} seed {seed} chain {i} (latency {latency})",
            cfg.rows, cfg.cols
        );
        layers.extend(check_chain(
            &mut sim, &mut rng, gather_pct, big, long_pct, &what,
        ));
    }
    eprintln!(
        "{n} chains, {} cycles in {:.2} s",
        sim.verilated.cycles() - c0,
        t.elapsed().as_secs_f64()
    );
    layers
}

#[test]
fn shell_spike_queue_fills_on_eight_columns_2x8() {
    // Every chain with trains of wide spikes from a static input: the core
    // emits faster than the output buffer takes the bits, the spike queue
    // fills, and CNT_BUSY shows where the Emits waited; the cycles of the
    // layers whose positions go in pairs follow their halved writes.
    let cfg = config_2x8_64();
    let layers = chains_with_long_trains(cfg, 16, 150, 0.6, 3, false, 1.0);
    let paired = layers.iter().filter(|d| pairs_positions(&cfg, d)).count();
    assert!(paired >= 8, "{paired} of {} layers paired", layers.len());
}

#[test]
fn shell_dense_chains_2x3_64bit_match_functional() {
    chains(config_2x3_64(), 11, 40, 0.0, 4, false);
}

#[test]
fn shell_gather_chains_2x3_64bit_match_functional() {
    let cfg = config_2x3_64();
    let layers = chains(cfg, 12, 40, 0.7, 1, false);
    // Layers whose positions the spike queue writes in pairs, and others.
    let paired = layers.iter().filter(|d| pairs_positions(&cfg, d)).count();
    assert!(
        paired >= 5 && paired + 5 <= layers.len(),
        "{paired} of {} layers paired",
        layers.len()
    );
}

#[test]
fn shell_dense_and_gather_chains_4x4_64bit_match_functional() {
    chains(config_4x4_64(), 13, 30, 0.0, 9, false);
    chains(config_4x4_64(), 14, 30, 0.6, 5, false);
}

#[test]
fn shell_long_bursts_across_4k_boundaries() {
    // Bursts of up to 64 beats (512 bytes) on 64-byte aligned regions: reads and
    // write-backs are split at 4 KiB boundaries as well as at max_burst.
    let cfg = AcceleratorConfig {
        max_burst_beats: 64,
        obuf_bytes: 4096,
        ..config_2x3_64()
    };
    chains(cfg, 19, 40, 0.5, 12, true);
}

#[test]
fn shell_loads_weight_rows_wider_than_64_bits_in_several_fields() {
    // The small configurations load a tile's weights a row of C codes per field
    // (two rows a field where they fit: paired banks); 9 columns of up to 8-bit
    // weights make a 72-bit row, wider than the gearbox's widest field, so this
    // one loads 3 codes per cycle, 3 fields per input
    // (`AcceleratorConfig::weight_lanes`), in banks that are not paired.
    assert_eq!(config_2x3_64().weight_lanes(), 3);
    assert_eq!(config_2x2_128().weight_lanes(), 2);
    let cfg = AcceleratorConfig {
        cols: 9,
        weight_bits_max: 8,
        wbuf_bytes: 2304,
        ..config_2x3_64()
    };
    assert_eq!(cfg.weight_lanes(), 3);
    assert!(!cfg.paired_weight_rows());
    chains(cfg, 16, 20, 0.5, 4, false);
}

#[test]
fn shell_weight_banks_of_eight_columns_2x16() {
    // 16 columns of up to 8-bit codes: two weight banks of eight columns' codes
    // a word, each written whole by its own field of 8 codes, as the kv260
    // preset's 64 columns fill eight (docs/shell.md, "Buffers"); the 9-column
    // test above has fields that straddle two banks.
    let cfg = AcceleratorConfig {
        cols: 16,
        weight_bits_max: 8,
        wbuf_bytes: 4096,
        ..config_2x8_64()
    };
    assert_eq!(cfg.weight_lanes(), 8);
    chains(cfg, 23, 20, 0.5, 3, false);
}

#[test]
fn shell_double_buffers_layers_whose_tile_fits_half_the_banks() {
    // 64 codes per weight bank and row buffer: a layer with K <= 32 loads each next
    // tile (dense) or gather row (gather) into the other half while the core runs
    // (docs/controller.md, "Double buffering"); K in 33..=40 runs one phase after the
    // other. Both schedules, dense and gather, must be bit-exact and take exactly the
    // cycles of the formula. The banks are paired (two inputs' rows a field at
    // every width up to 4 bits), so both halves take fields of two rows.
    let cfg = AcceleratorConfig {
        wbuf_bytes: 192,
        ..config_2x3_64()
    };
    assert_eq!(cfg.weight_rows_per_field(4), 2);
    let latency = 5;
    let layers = chains(cfg, 21, 40, 0.5, latency, false);
    let model = CycleModel {
        config: cfg,
        dma: DmaTiming { latency },
    };
    // What every layer hides: the output buffer's clear beside the input
    // planes' read, all of the shorter but Clr's cycle.
    let beside_planes = |d: &LayerDescriptor| {
        let planes = TileShape::of(d).slices() * u64::from(d.input_len).div_ceil(64);
        (output_words(d) - 1).min(read_phase_cycles(planes, latency))
    };
    // Layers of more than one run (tiles, or gather positions and groups).
    let multi_run: Vec<_> = layers
        .iter()
        .filter(|d| model.layer(d, 0).tiles > 1)
        .collect();
    let count = |kind: LayerKind, double: bool| {
        multi_run
            .iter()
            .filter(|d| d.kind == kind && (d.fan_in <= 32) == double)
            .inspect(|d| {
                let hidden = model.layer(d, 0).overlap - beside_planes(d);
                assert_eq!(hidden > 0, double, "{d:?}: {hidden} more cycles overlapped");
            })
            .count()
    };
    let found = [
        count(LayerKind::Dense, true),
        count(LayerKind::Dense, false),
        count(LayerKind::Gather, true),
        count(LayerKind::Gather, false),
    ];
    assert!(
        found.iter().all(|&n| n > 0),
        "dense double/serial, gather double/serial: {found:?} of {} multi-run layers",
        multi_run.len()
    );
}

#[test]
fn shell_chains_2x2_128bit_match_functional() {
    // 128-bit data ports: Verilator wide words through the word accessors;
    // positions one at a time (`spike_pairs` false), also in the layers
    // whose positions would go in pairs.
    let cfg = config_2x2_128();
    let layers = chains(cfg, 15, 30, 0.5, 6, false);
    let pairable = AcceleratorConfig {
        spike_pairs: true,
        ..cfg
    };
    assert!(layers.iter().any(|d| pairs_positions(&pairable, d)));
    assert!(!layers.iter().any(|d| pairs_positions(&cfg, d)));
}

#[test]
fn shell_under_random_latency_and_backpressure() {
    let cfg = config_4x4_64();
    let mut sim = shell(&cfg, 1);
    let mut rng = seeded(16);
    for i in 0..24 {
        sim.ddr
            .set_timing(DdrTiming::random(100 + i, 1, 1 + 10 * (i % 4)));
        let what = format!("4x4 random timing chain {i}");
        check_chain(&mut sim, &mut rng, 0.5, false, 0.25, &what);
    }
}

/// Runs a chain with an AXI error injected at `fault` (a window offset), checks the
/// error code, DESC_INDEX and ERR_OFFSET, and that everything outside the victim's
/// output region is as the functional model leaves the layers before the victim.
fn faulty_run(sim: &mut ShellSim, rng: &mut TestRng, write: bool, resp: u8) {
    let cfg = *sim.config();
    let (w, desc_off, count) = chain(rng, &cfg, WINDOW, 0.5, false);
    let ds = functional::decode_chain(&w, desc_off, count, &cfg).unwrap();
    let victim = rng.gen_range(0..count as usize);
    let vd = ds[victim];
    let at = u64::from(if write { vd.output } else { vd.weights });
    sim.ddr.faults = vec![Fault {
        lo: at,
        hi: at + 1,
        resp,
    }];
    sim.ddr.fault_hits.clear();
    let mut want = w.clone();
    functional::execute(&mut want, desc_off, victim as u32, &cfg).unwrap();
    sim.set_window(w);
    let out = sim
        .run(desc_off, count, MAX_CYCLES)
        .unwrap_or_else(|e| panic!("fault run: {e}"));
    let code = if resp == RESP_SLVERR {
        ErrorCode::AxiSlaveError
    } else {
        ErrorCode::AxiDecodeError
    };
    assert_eq!(
        out.error().map(|e| e.kind()),
        Some(Some(code)),
        "STATUS {:#x}: the injected {} must end the run",
        out.status,
        if write { "write error" } else { "read error" }
    );
    assert_eq!(out.desc_index, victim as u32, "DESC_INDEX");
    // The failing burst starts at the region (every region is 64-byte aligned).
    assert_eq!(u64::from(out.err_offset), at, "ERR_OFFSET");
    assert_eq!(sim.ddr.fault_hits.len(), 1, "{:?}", sim.ddr.fault_hits);
    assert_eq!(sim.ddr.fault_hits[0].offset, at);
    let r = vd.regions(&cfg)[3];
    let (lo, hi) = (r.offset as usize, r.offset as usize + r.bytes);
    for (i, (a, b)) in sim.window().iter().zip(&want).enumerate() {
        // A failing write leaves its own region as the memory took it.
        if !(write && (lo..hi).contains(&i)) {
            assert_eq!(a, b, "window at {i:#x} after the fault");
        }
    }
    sim.ddr.faults.clear();
}

#[test]
fn axi_errors_end_the_run_and_the_next_run_is_exact() {
    let cfg = config_2x3_64();
    let mut sim = shell(&cfg, 3);
    let mut rng = seeded(17);
    for (i, (write, resp)) in [
        (false, RESP_SLVERR),
        (true, RESP_DECERR),
        (false, RESP_DECERR),
        (true, RESP_SLVERR),
    ]
    .into_iter()
    .enumerate()
    {
        faulty_run(&mut sim, &mut rng, write, resp);
        check_chain(
            &mut sim,
            &mut rng,
            0.5,
            false,
            0.25,
            &format!("after fault {i}"),
        );
    }
}

#[test]
fn a_run_cut_short_is_a_hang_error_and_the_next_run_is_exact() {
    let cfg = config_2x3_64();
    let mut sim = shell(&cfg, 2);
    let mut rng = seeded(18);
    let (w, desc_off, count) = chain(&mut rng, &cfg, WINDOW, 0.0, false);
    sim.set_window(w);
    // Far too few cycles for any chain (the descriptor arithmetic alone takes 1254).
    match sim.run(desc_off, count, 300) {
        Err(SimError::Hang(m)) => assert!(m.contains("STATUS"), "{m}"),
        other => panic!("expected a hang, got {other:?}"),
    }
    // The soft reset left the shell idle; a register write to an unmapped address is a
    // bus error, not a hang.
    match sim.write(0xFFC, 1) {
        Err(SimError::Axi(m)) => assert!(m.contains("0xffc"), "{m}"),
        other => panic!("expected SLVERR, got {other:?}"),
    }
    for i in 0..3 {
        check_chain(
            &mut sim,
            &mut rng,
            0.5,
            false,
            0.25,
            &format!("after the hang {i}"),
        );
    }
}

#[test]
fn a_run_cut_short_inside_the_core_leaves_nothing_in_the_array() {
    // Cut at random points, most of them while the core runs a tile (it has slice
    // bits in flight in its skew lines), then soft-reset: the next chain
    // must be exact, so nothing of the cut run may add into it.
    let cfg = config_2x3_64();
    let mut sim = shell(&cfg, 2);
    let mut rng = seeded(22);
    for i in 0..8 {
        let (w, desc_off, count) = chain(&mut rng, &cfg, WINDOW, 0.3, false);
        let ds = functional::decode_chain(&w, desc_off, count, &cfg).unwrap();
        let est = CycleModel::with_latency(cfg, 2).chain_cycles(&ds);
        // Past the descriptor arithmetic (about 1,300 cycles), before the done.
        let cut = rng.gen_range(1300.min(est - 20)..est - 10);
        sim.set_window(w);
        match sim.run(desc_off, count, cut) {
            Err(SimError::Hang(_)) => {}
            other => panic!("cut {i} at {cut} of {est}: expected a hang, got {other:?}"),
        }
        let what = format!("after the cut {i} at {cut} of {est} cycles");
        check_chain(&mut sim, &mut rng, 0.3, false, 0.25, &what);
    }
}

#[test]
fn registers_identify_the_generated_configuration() {
    for cfg in [config_2x3_64(), config_2x2_128()] {
        let mut sim = shell(&cfg, 1);
        assert_eq!(sim.read(regmap::ID).unwrap(), regmap::MAGIC);
        assert_eq!(sim.read(regmap::VERSION).unwrap(), regmap::REGMAP_VERSION);
        let values: Vec<(u32, u32)> = cfg
            .config_registers()
            .into_iter()
            .map(|(o, _)| (o, sim.read(o).unwrap()))
            .collect();
        assert_eq!(values, cfg.config_registers());
        assert_eq!(
            AcceleratorConfig::from_register_values(&values).unwrap(),
            cfg
        );
        // Idle after reset: nothing busy, done or failed.
        assert_eq!(sim.read(regmap::STATUS).unwrap(), 0);
        // Read-write registers read back what was written.
        sim.write(regmap::DESC_OFFSET, 0x1234_5640).unwrap();
        assert_eq!(sim.read(regmap::DESC_OFFSET).unwrap(), 0x1234_5640);
    }
}

#[test]
fn a_traced_shell_writes_a_waveform() {
    let cfg = config_2x3_64();
    let opts = SimOptions {
        trace: true,
        ..Default::default()
    };
    let mut sim = ShellSim::build(&cfg, &opts).unwrap();
    let path = std::env::temp_dir().join(format!("spikeslice-shell-{}.fst", std::process::id()));
    sim.verilated.trace_to(&path).unwrap();
    sim.ddr.set_timing(DdrTiming::fixed(4));
    let mut rng = seeded(20);
    check_chain(&mut sim, &mut rng, 0.5, false, 0.25, "traced");
    drop(sim); // closes the file
    let bytes = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    let _ = std::fs::remove_file(&path);
    assert!(bytes > 1000, "the FST file has {bytes} bytes");
}

/// The shim's cycle loop (`spikeslice_sim::run_loop`, what a run clocks between its
/// start and its interrupt) and the Rust step it replaces clock the design alike:
/// under random latency and backpressure, on a 128-bit (wide-word) and a 64-bit
/// bus, the same chains leave the same window, status, counters and cycle counts,
/// also when a read or a write fails.
#[test]
fn the_shim_loop_and_the_rust_loop_agree_cycle_for_cycle() {
    for cfg in [config_2x2_128(), config_4x4_64()] {
        let mut shim = shell(&cfg, 1);
        let mut rust = shell(&cfg, 1);
        rust.rust_cycle_loop = true;
        let mut rng = seeded(21);
        for i in 0..9 {
            let (w, desc_off, count) = chain(&mut rng, &cfg, WINDOW, 0.5, false);
            // Every third chain fails a read, every third a write, of a random layer.
            let ds = functional::decode_chain(&w, desc_off, count, &cfg).unwrap();
            let victim = ds[rng.gen_range(0..ds.len())];
            let faults = match i % 3 {
                0 => vec![],
                1 => vec![Fault {
                    lo: u64::from(victim.weights),
                    hi: u64::from(victim.weights) + 1,
                    resp: RESP_SLVERR,
                }],
                _ => vec![Fault {
                    lo: u64::from(victim.output),
                    hi: u64::from(victim.output) + 1,
                    resp: RESP_DECERR,
                }],
            };
            let mut runs = vec![];
            for sim in [&mut shim, &mut rust] {
                sim.ddr.set_timing(DdrTiming::random(300 + i, 1, 12));
                sim.ddr.faults = faults.clone();
                sim.set_window(w.clone());
                let out = sim.run(desc_off, count, MAX_CYCLES).unwrap();
                assert_eq!(out.status == status::DONE, faults.is_empty(), "{out:?}");
                runs.push((
                    format!("{out:?}"),
                    sim.last_run_cycles(),
                    sim.verilated.cycles(),
                    sim.window().to_vec(),
                ));
                sim.ddr.faults.clear();
            }
            let what = format!("{}x{} chain {i}", cfg.rows, cfg.cols);
            assert_eq!(runs[0].0, runs[1].0, "{what}: outcome");
            assert_eq!(runs[0].1, runs[1].1, "{what}: cycles to the interrupt");
            assert_eq!(runs[0].2, runs[1].2, "{what}: cycles clocked");
            assert!(runs[0].3 == runs[1].3, "{what}: the windows differ");
        }
    }
}
