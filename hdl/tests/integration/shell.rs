//! Test bench of the whole shell (`spikeslice_hdl::shell::Shell`) in rust-hdl's
//! simulator: an AXI4-Lite master programs the registers as a driver does, core's
//! DDR model (`spikeslice_core::accel::ddr`: fixed read/B latency, optional random
//! backpressure, injected SLVERR/DECERR, the AXI4 monitor) serves the DMA, and randomized descriptor chains built with core's
//! encoders are compared **bit for bit** with `functional::execute` on the same
//! window: every byte of the window (guard bytes, padding and untouched regions
//! included), STATUS / DESC_INDEX / ERR_OFFSET, and the counters PE_ADDS, SLICES and
//! SPIKES (= `Activity`), DMA_RD / DMA_WR (= the read formula of docs/controller.md,
//! "Counters").

use crate::common;

use common::{drive_ddr, observe_ddr};
use rust_hdl::prelude::*;
use spikeslice_core::accel::cycles::CycleModel;
use spikeslice_core::accel::ddr::{self, Ddr, DdrTiming, RESP_DECERR, RESP_SLVERR};
use spikeslice_core::accel::descriptor::{LayerDescriptor, LayerKind, DESCRIPTOR_BYTES};
use spikeslice_core::accel::functional;
use spikeslice_core::accel::regmap::{self, ctrl, status};
use spikeslice_core::accel::{layout, AcceleratorConfig};
use spikeslice_core::numeric::WeightBits;
use spikeslice_hdl::controller::CtlState;
use spikeslice_hdl::shell::Shell;

use spikeslice_core::random::chain::{
    chain_with_long_trains, config_2x2_128, config_2x3_64, config_2x8_64, config_4x4_64,
};
use spikeslice_core::random::{rng as seeded, Draw};

const BASE: u64 = 0x8_1234_0000;

type R<T> = Result<T, SimError>;

fn cyc<const A: usize, const M: usize, const D: usize, const S: usize, const W2: usize>(
    sim: &mut Sim<Shell<A, M, D, S, W2>>,
    mut x: Box<Shell<A, M, D, S, W2>>,
    m: &mut Ddr,
) -> R<Box<Shell<A, M, D, S, W2>>> {
    drive_ddr(m, &mut x.m_axi);
    wait_clock_false!(sim, clock, x);
    observe_ddr(m, &x.m_axi);
    wait_clock_true!(sim, clock, x);
    Ok(x)
}

/// One AXI4-Lite write (AW and W together, then B).
fn lite_write<const A: usize, const M: usize, const D: usize, const S: usize, const W2: usize>(
    sim: &mut Sim<Shell<A, M, D, S, W2>>,
    mut x: Box<Shell<A, M, D, S, W2>>,
    m: &mut Ddr,
    addr: u32,
    data: u32,
) -> R<Box<Shell<A, M, D, S, W2>>> {
    x.s_axi.awaddr.next = u64::from(addr).into();
    x.s_axi.wdata.next = u64::from(data).into();
    x.s_axi.wstrb.next = 0xF.into();
    x.s_axi.awvalid.next = true;
    x.s_axi.wvalid.next = true;
    x.s_axi.bready.next = true;
    let (mut aw, mut w) = (false, false);
    for _ in 0..50 {
        drive_ddr(m, &mut x.m_axi);
        wait_clock_false!(sim, clock, x);
        let bdone = x.s_axi.bvalid.val();
        if x.s_axi.awready.val() {
            aw = true;
        }
        if x.s_axi.wready.val() {
            w = true;
        }
        observe_ddr(m, &x.m_axi);
        wait_clock_true!(sim, clock, x);
        x.s_axi.awvalid.next = !aw;
        x.s_axi.wvalid.next = !w;
        if bdone {
            x.s_axi.bready.next = false;
            return Ok(x);
        }
    }
    println!("AXI-Lite write to {addr:#x} not answered");
    Err(sim.halt(x).unwrap_err())
}

fn lite_read<const A: usize, const M: usize, const D: usize, const S: usize, const W2: usize>(
    sim: &mut Sim<Shell<A, M, D, S, W2>>,
    mut x: Box<Shell<A, M, D, S, W2>>,
    m: &mut Ddr,
    addr: u32,
) -> R<(Box<Shell<A, M, D, S, W2>>, u32)> {
    x.s_axi.araddr.next = u64::from(addr).into();
    x.s_axi.arvalid.next = true;
    x.s_axi.rready.next = true;
    let mut ar = false;
    for _ in 0..50 {
        drive_ddr(m, &mut x.m_axi);
        wait_clock_false!(sim, clock, x);
        let r = x
            .s_axi
            .rvalid
            .val()
            .then(|| x.s_axi.rdata.val().to_u64() as u32);
        if x.s_axi.arready.val() {
            ar = true;
        }
        observe_ddr(m, &x.m_axi);
        wait_clock_true!(sim, clock, x);
        x.s_axi.arvalid.next = !ar;
        if let Some(v) = r {
            x.s_axi.rready.next = false;
            return Ok((x, v));
        }
    }
    println!("AXI-Lite read of {addr:#x} not answered");
    Err(sim.halt(x).unwrap_err())
}

fn read64<const A: usize, const M: usize, const D: usize, const S: usize, const W2: usize>(
    sim: &mut Sim<Shell<A, M, D, S, W2>>,
    x: Box<Shell<A, M, D, S, W2>>,
    m: &mut Ddr,
    lo: u32,
) -> R<(Box<Shell<A, M, D, S, W2>>, u64)> {
    let (x, l) = lite_read(sim, x, m, lo)?;
    let (x, h) = lite_read(sim, x, m, lo + 4)?;
    Ok((x, u64::from(l) | (u64::from(h) << 32)))
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Fault {
    None,
    /// Corrupt the magic word of a random descriptor.
    BadMagic,
    /// Move a random descriptor's output region past the window end.
    OutOfWindow,
    /// SLVERR on the first beat of a random layer's weights.
    ReadSlverr,
    /// DECERR on the B of a random layer's output write.
    WriteDecerr,
    /// Gather entries past the input (the first gather layer's, if any): where
    /// the first column tile meets two groups, one in group 0's last row and one
    /// in the tile's last group's first row, so that the first bad entry the runs
    /// meet is not the first in table order (docs/controller.md, "Checks in run
    /// order"); else one at random.
    BadGatherEntry,
    /// A non-positive threshold in a random spiking layer.
    BadThreshold,
}

struct Case {
    fault: Fault,
    /// Soft-reset the shell some cycles into the run, then run it again.
    soft_reset_first: bool,
}

fn bench<const A: usize, const M: usize, const D: usize, const S: usize, const W2: usize>(
    cfg: AcceleratorConfig,
    seed: u64,
    cases: Vec<Case>,
    busy_pct: u64,
    gather_pct: u64,
    latency: u64,
    long_pct: u64,
) {
    let size = 12 * 1024usize;
    let mut uut = Shell::<A, M, D, S, W2>::new(&cfg).unwrap();
    uut.connect_all();
    let mut sim = Simulation::new();
    sim.add_clock(5, |x: &mut Box<Shell<A, M, D, S, W2>>| {
        x.clock.next = !x.clock.val()
    });
    sim.add_testbench(move |mut sim: Sim<Shell<A, M, D, S, W2>>| {
        let mut rng = seeded(seed);
        let timing = DdrTiming {
            seed: seed ^ 0x5EED,
            latency_min: latency,
            latency_max: latency,
            p_ready: (100 - busy_pct) as f64 / 100.0,
            max_outstanding_reads: usize::MAX,
        };
        let mut m = Ddr::new(BASE, 0, S, timing);
        m.max_burst_beats = cfg.max_burst_beats as u64;
        let mut x = sim.init()?;
        x.rst.next = true;
        x = cyc(&mut sim, x, &mut m)?;
        x = cyc(&mut sim, x, &mut m)?;
        x.rst.next = false;
        for (ci, case) in cases.iter().enumerate() {
            let (mut w, desc_off, count) = chain_with_long_trains(
                &mut rng,
                &cfg,
                size,
                gather_pct as f64 / 100.0,
                false,
                long_pct as f64 / 100.0,
            );
            let mut win_size = size as u32;
            m.faults.clear();
            let victim = rng.below(u64::from(count)) as usize;
            let vat = desc_off as usize + victim * DESCRIPTOR_BYTES;
            let vd = functional::decode_chain(&w, desc_off, count, &cfg).unwrap()[victim];
            let mut slverr_at = 0u32;
            match case.fault {
                Fault::None => {}
                Fault::BadMagic => w[vat] ^= 0x10,
                Fault::OutOfWindow => {
                    // The window ends just inside the victim's output region.
                    win_size = vd.output + 8 + 64 * rng.below(2) as u32;
                    win_size = win_size.min(size as u32);
                    if win_size as usize >= vd.regions(&cfg)[3].bytes + vd.output as usize {
                        win_size = vd.output;
                    }
                }
                Fault::ReadSlverr => {
                    // On the first beat of a random tile's weights that no other tile
                    // shares: with double buffering a later tile loads behind a run.
                    let wb = WeightBits::new(u32::from(vd.weight_bits)).unwrap();
                    let tb = layout::weight_tile_bytes(vd.fan_in as usize, cfg.cols, wb) as u64;
                    let tiles = u64::from(vd.outputs).div_ceil(cfg.cols as u64);
                    let t = rng.below(tiles);
                    let b = S as u64;
                    let mut a = (u64::from(vd.weights) + t * tb).div_ceil(b) * b;
                    if a >= u64::from(vd.weights) + (t + 1) * tb {
                        a = u64::from(vd.weights);
                    }
                    slverr_at = a as u32;
                    m.faults.push(ddr::Fault {
                        lo: a,
                        hi: a + 1,
                        resp: RESP_SLVERR,
                    });
                }
                Fault::WriteDecerr => {
                    let a = u64::from(vd.output);
                    m.faults.push(ddr::Fault {
                        lo: a,
                        hi: a + 1,
                        resp: RESP_DECERR,
                    });
                }
                Fault::BadGatherEntry => {
                    let ds = functional::decode_chain(&w, desc_off, count, &cfg).unwrap();
                    // The groups the first column tile meets.
                    let tile_groups = |d: &LayerDescriptor| d.tile_groups(0, cfg.cols as u64).end() + 1;
                    let gathers = || ds.iter().filter(|d| d.kind == LayerKind::Gather);
                    let orders_differ = gathers().find(|d| tile_groups(d) > 1 && d.positions > 1);
                    if let Some(d) = orders_differ.or_else(|| gathers().next()) {
                        let (p, k) = (u64::from(d.positions), u64::from(d.fan_in));
                        let tile_groups = tile_groups(d);
                        let rows = if tile_groups > 1 && p > 1 {
                            println!("case {ci}: bad entries in rows (0, {}) and ({}, 0)", p - 1, tile_groups - 1);
                            vec![p - 1, (tile_groups - 1) * p]
                        } else {
                            println!("case {ci}: a bad entry at random");
                            vec![rng.below(u64::from(d.groups) * p)]
                        };
                        for row in rows {
                            let e = d.gather as usize + 4 * (row * k + rng.below(k)) as usize;
                            let v = d.input_len + rng.below(3) as u32;
                            w[e..e + 4].copy_from_slice(&v.to_le_bytes());
                        }
                    }
                }
                Fault::BadThreshold => {
                    let ds = functional::decode_chain(&w, desc_off, count, &cfg).unwrap();
                    if let Some(d) = ds.iter().rev().find(|d| !d.readout) {
                        let e =
                            d.params as usize + 12 * rng.below(u64::from(d.outputs)) as usize + 4;
                        let v = -(rng.below(3) as i32);
                        w[e..e + 4].copy_from_slice(&v.to_le_bytes());
                    }
                }
            }
            // What the hardware must leave: functional::execute on the window (up to
            // the failing layer for AXI faults, which the functional model has not).
            let mut want = w.clone();
            let (want_code, want_index, want_off, act) = match case.fault {
                Fault::ReadSlverr | Fault::WriteDecerr => {
                    let a = functional::execute(&mut want[..win_size as usize], desc_off, victim as u32, &cfg).unwrap();
                    if case.fault == Fault::WriteDecerr {
                        // The victim ran; its output write was refused by the memory.
                        (5u32, victim as u32, vd.output, Some(a))
                    } else {
                        (4u32, victim as u32, slverr_at, Some(a))
                    }
                }
                _ => match functional::execute(&mut want[..win_size as usize], desc_off, count, &cfg) {
                    Ok(a) => (0, count, 0, Some(a)),
                    Err(e) => (e.code as u32, e.index as u32, e.offset, None),
                },
            };
            m.mem = w.clone();
            // Program the registers as the driver does.
            x = lite_write(&mut sim, x, &mut m, regmap::BUF_BASE_LO, BASE as u32)?;
            x = lite_write(&mut sim, x, &mut m, regmap::BUF_BASE_HI, (BASE >> 32) as u32)?;
            x = lite_write(&mut sim, x, &mut m, regmap::BUF_SIZE, win_size)?;
            x = lite_write(&mut sim, x, &mut m, regmap::DESC_OFFSET, desc_off)?;
            x = lite_write(&mut sim, x, &mut m, regmap::DESC_COUNT, count)?;
            // Counters of a run started while the DMA still drains an aborted write
            // include the drained bytes (docs/shell.md, "Counters").
            let mut drained = false;
            if case.soft_reset_first {
                x = lite_write(&mut sim, x, &mut m, regmap::CTRL, ctrl::START | ctrl::IRQ_ENABLE)?;
                if rng.chance(50) {
                    for _ in 0..rng.below(3000) {
                        x = cyc(&mut sim, x, &mut m)?;
                    }
                } else {
                    // In the middle of a write-back, then start again at once: the
                    // interrupted write command must drain, not block the next run.
                    let mut n = 0;
                    while x.controller_state() != CtlState::OutWr && n < 100_000 {
                        x = cyc(&mut sim, x, &mut m)?;
                        n += 1;
                    }
                    x = cyc(&mut sim, x, &mut m)?;
                    drained = true;
                }
                println!("case {ci}: soft reset in {:?}", x.controller_state());
                x = lite_write(&mut sim, x, &mut m, regmap::CTRL, ctrl::SOFT_RESET | ctrl::IRQ_ENABLE)?;
                let (x2, st) = lite_read(&mut sim, x, &mut m, regmap::STATUS)?;
                x = x2;
                sim_assert_eq!(sim, st & (status::BUSY | status::DONE | status::ERROR), 0, x);
                if !drained {
                    // Let a read command in flight drain before the next start, so
                    // that the next run's counters are its own.
                    for _ in 0..200 {
                        x = cyc(&mut sim, x, &mut m)?;
                    }
                }
                // The aborted run may have written outputs: restore the window (the
                // memory model keeps serving the drained commands meanwhile).
                m.mem = w.clone();
            }
            x = lite_write(&mut sim, x, &mut m, regmap::CTRL, ctrl::START | ctrl::IRQ_ENABLE)?;
            let c0 = m.cycles;
            let mut n = 0u64;
            let mut hist: std::collections::BTreeMap<String, u64> = Default::default();
            let trace = std::env::var_os("SPIKESLICE_TRACE").is_some();
            let mut last_state = None;
            while !x.irq.val() {
                *hist.entry(format!("{:?}", x.controller_state())).or_default() += 1;
                if trace && last_state != Some(x.controller_state()) {
                    last_state = Some(x.controller_state());
                    println!("  trace {ci} {} {:?}", m.cycles - c0, x.controller_state());
                }
                x = cyc(&mut sim, x, &mut m)?;
                n += 1;
                if n > 400_000 {
                    println!("case {ci}: no interrupt after {n} cycles");
                    return Err(sim.halt(x).unwrap_err());
                }
            }
            let run_cycles = m.cycles - c0;
            let (x2, st) = lite_read(&mut sim, x, &mut m, regmap::STATUS)?;
            let (x2, di) = lite_read(&mut sim, x2, &mut m, regmap::DESC_INDEX)?;
            let (x2, eo) = lite_read(&mut sim, x2, &mut m, regmap::ERR_OFFSET)?;
            let (x2, adds) = read64(&mut sim, x2, &mut m, regmap::CNT_PE_ADDS_LO)?;
            let (x2, slices) = read64(&mut sim, x2, &mut m, regmap::CNT_SLICES_LO)?;
            let (x2, spikes) = read64(&mut sim, x2, &mut m, regmap::CNT_SPIKES_LO)?;
            let (x2, rd) = read64(&mut sim, x2, &mut m, regmap::CNT_DMA_RD_LO)?;
            let (x2, wr) = read64(&mut sim, x2, &mut m, regmap::CNT_DMA_WR_LO)?;
            let (x2, cycles) = read64(&mut sim, x2, &mut m, regmap::CNT_CYCLES_LO)?;
            let (x2, busy) = read64(&mut sim, x2, &mut m, regmap::CNT_BUSY_LO)?;
            x = lite_write(&mut sim, x2, &mut m, regmap::IRQ_STATUS, 1)?;
            println!(
                "case {ci} {:?}: {count} layers, code {want_code}, {run_cycles} cycles to IRQ, CNT_CYCLES {cycles}, busy {busy}",
                case.fault
            );
            let mut want_status = status::DONE;
            if want_code != 0 {
                want_status |= status::ERROR | (want_code << 8);
            }
            sim_assert_eq!(sim, st, want_status, x);
            sim_assert_eq!(sim, di, want_index, x);
            sim_assert_eq!(sim, eo, want_off, x);
            if case.fault != Fault::WriteDecerr {
                if let Some(p) = m.mem.iter().zip(&want).position(|(a, b)| a != b) {
                    println!("case {ci}: window differs first at offset {p:#x} (drained {drained})");
                    let ds = functional::decode_chain(&w, desc_off, count, &cfg).unwrap();
                    for d in &ds {
                        println!("  {d:?}");
                    }
                    let diff: Vec<usize> = (0..want.len()).filter(|&i| m.mem[i] != want[i]).collect();
                    println!("  {} bytes differ: {:x?}", diff.len(), &diff[..diff.len().min(40)]);
                    println!("  rtl  {:02x?}", &m.mem[p..p + 16]);
                    println!("  want {:02x?}", &want[p..p + 16]);
                    sim_assert!(sim, false, x);
                }
            } else {
                // Everything outside the victim's output region as functional left it.
                let r = vd.regions(&cfg)[3];
                let (lo, hi) = (r.offset as usize, r.offset as usize + r.bytes);
                for (i, (a, b)) in m.mem.iter().zip(&want).enumerate() {
                    if (i < lo || i >= hi) && a != b {
                        println!("case {ci}: window differs at {i:#x}");
                        sim_assert!(sim, false, x);
                    }
                }
            }
            if want_code == 0 {
                let a = act.unwrap();
                sim_assert_eq!(sim, adds, a.pe_adds, x);
                sim_assert_eq!(sim, slices, a.slices, x);
                sim_assert_eq!(sim, spikes, a.spikes, x);
                if !drained {
                    sim_assert_eq!(sim, wr, a.bytes_written, x);
                    sim_assert_eq!(
                        sim,
                        rd,
                        CycleModel::new(cfg).chain_read_bytes(
                            &functional::decode_chain(&w, desc_off, count, &cfg).unwrap(),
                            u64::from(desc_off)
                        ),
                        x
                    );
                }
                if busy_pct == 0 {
                    let ds = functional::decode_chain(&w, desc_off, count, &cfg).unwrap();
                    // One prediction: the chain's cycles and the core's busy cycles.
                    let (_, predicted) =
                        CycleModel::with_latency(cfg, m.timing.latency_min).chain(&ds, 0);
                    let est = predicted.total;
                    let dev = (est as f64 - cycles as f64).abs() / cycles as f64;
                    println!("  cycle estimate {est} vs CNT_CYCLES {cycles}: {:.2}% ({})", 100.0 * dev, est as i64 - cycles as i64);
                    if std::env::var_os("SPIKESLICE_CYCLES_HIST").is_some() {
                        for d in &ds {
                            println!("  {d:?}");
                        }
                        println!("  {hist:?}");
                    }
                    // The formula is exact for this slave (docs/controller.md, "Cycle formula").
                    sim_assert_eq!(sim, est, cycles, x);
                    // The core's busy cycles too: its Emits' waits for the
                    // spike queue are where they fall.
                    sim_assert_eq!(sim, busy, predicted.compute, x);
                    sim_assert!(sim, dev < 0.02, x);
                }
            }
            if !m.violations.is_empty() {
                println!("AXI violations: {:?}", m.violations);
                sim_assert!(sim, false, x);
            }
        }
        sim.done(x)
    });
    sim.run(Box::new(uut), 1 << 40).unwrap();
}

fn ok_cases(n: usize) -> Vec<Case> {
    (0..n)
        .map(|_| Case {
            fault: Fault::None,
            soft_reset_first: false,
        })
        .collect()
}

#[test]
fn shell_dense_chains_64bit_match_functional() {
    bench::<16, 24, 64, 8, 128>(config_2x3_64(), 1, ok_cases(6), 0, 0, 4, 25);
}

#[test]
fn shell_dense_chains_128bit_match_functional() {
    bench::<20, 32, 128, 16, 256>(config_2x2_128(), 2, ok_cases(6), 0, 0, 9, 25);
}

#[test]
fn shell_errors_and_recovery() {
    let f = |fault, soft| Case {
        fault,
        soft_reset_first: soft,
    };
    bench::<16, 24, 64, 8, 128>(
        config_2x3_64(),
        3,
        vec![
            f(Fault::BadMagic, false),
            f(Fault::None, false),
            f(Fault::OutOfWindow, false),
            f(Fault::ReadSlverr, false),
            f(Fault::None, false),
            f(Fault::WriteDecerr, false),
            f(Fault::None, true),
            f(Fault::BadGatherEntry, false),
            f(Fault::BadThreshold, false),
            f(Fault::BadGatherEntry, false),
            f(Fault::None, false),
            f(Fault::None, true),
            f(Fault::None, true),
            f(Fault::None, true),
            f(Fault::BadThreshold, false),
            f(Fault::BadGatherEntry, false),
            f(Fault::BadThreshold, false),
        ],
        0,
        60,
        3,
        25,
    );
}

/// Chains of gather layers with bad entries: where a layer's first column tile
/// meets two groups, the runs meet a bad entry of a later group before the
/// table's first (docs/controller.md, "Checks in run order"), and the shell must
/// report the one the functional model names.
#[test]
fn shell_reports_bad_gather_entries_in_run_order() {
    let case = || Case {
        fault: Fault::BadGatherEntry,
        soft_reset_first: false,
    };
    bench::<16, 24, 64, 8, 128>(
        config_2x3_64(),
        9,
        (0..4).map(|_| case()).collect(),
        0,
        100,
        2,
        0,
    );
}

#[test]
fn shell_gather_chains_match_functional() {
    bench::<16, 24, 64, 8, 128>(config_2x3_64(), 5, ok_cases(6), 0, 70, 1, 25);
    bench::<20, 32, 128, 16, 256>(config_2x2_128(), 6, ok_cases(4), 0, 70, 6, 25);
}

#[test]
fn shell_spike_queue_fills_on_eight_columns() {
    // 8 columns, spikes up to 8 bits: static inputs with b_s >= 4 and T > 4
    // fill the spike queue, and the core waits in Emit (the cycle formula,
    // checked exactly, models it).
    bench::<16, 24, 64, 8, 128>(config_2x8_64(), 8, ok_cases(6), 0, 40, 3, 100);
}

#[test]
fn shell_under_backpressure() {
    bench::<16, 24, 64, 8, 128>(config_2x3_64(), 4, ok_cases(3), 40, 30, 4, 25);
}

#[test]
fn shell_4x4_short_bursts() {
    // R = 4 > S for some layers (idle rows masked), C = 4, bursts of 4 beats (many
    // bursts per read and per write-back).
    let cfg = AcceleratorConfig {
        axi_data_bytes: 16,
        ..config_4x4_64()
    };
    bench::<24, 32, 128, 16, 256>(cfg, 7, ok_cases(5), 0, 50, 5, 25);
}
