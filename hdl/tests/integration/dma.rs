//! Test bench of the DMA (hdl/src/dma.rs) in rust-hdl's simulator, against core's
//! DDR model (`spikeslice_core::accel::ddr`: seeded random ready/valid delays and
//! read latencies, bursts answered in order: one ID), random commands, and injected
//! SLVERR/DECERR.
//!
//! Checked on every transaction, by the DDR model's monitor: INCR, full-width size,
//! <= max_burst beats, no 4 KiB crossing, the whole burst inside the window, VALID
//! held with stable payload until READY (AXI4 A3.2.1), WLAST exactly on the last
//! beat; by this bench: bursts equal to the reference split, read bursts in flight
//! <= max_outstanding. Checked per command: data delivered (read) or written (write,
//! including the tail strobes: bytes beyond the command are never written), the
//! error code and offset, refused commands issue no transaction, and the engines
//! accept the next command after an error.

use crate::common;

use common::{drive_ddr, from_bits, observe_ddr, to_bits};
use rust_hdl::prelude::*;
use spikeslice_core::accel::ddr::{Ddr, DdrTiming, Fault, RESP_DECERR, RESP_OKAY, RESP_SLVERR};
use spikeslice_hdl::dma::{self, Dma, DmaParams};
use std::collections::VecDeque;

use spikeslice_core::random::{rng as seeded, Draw, TestRng as Rng};

/// The burst split rule, written independently of the RTL: from `addr`, `beats` beats
/// of `b` bytes, bursts of at most `max` beats that do not cross 4 KiB.
fn split(mut addr: u64, mut beats: u64, b: u64, max: u64) -> Vec<(u64, u64)> {
    let mut v = vec![];
    while beats > 0 {
        let to4k = (4096 - (addr % 4096)) / b;
        let n = beats.min(max).min(to4k);
        v.push((addr, n));
        addr += n * b;
        beats -= n;
    }
    v
}

/// The DDR model behind the DMA's AXI4 master, the DMA's stream partners, and what
/// the bench records of the traffic.
struct Model {
    ddr: Ddr,
    /// The stream partners' own random stalls.
    rng: Rng,
    busy_pct: u64,
    max_out: u64,
    rd_ready: bool,
    pub rd_got: Vec<(Vec<u8>, bool)>,
    pub wr_beats: VecDeque<Vec<u8>>,
    wr_valid: bool,
    pub ar_log: Vec<(u64, u64)>,
    pub aw_log: Vec<(u64, u64)>,
    pub max_outst_seen: u64,
    /// R beats answered OKAY, and bytes strobed in W beats: what the counters count.
    pub okay_r_beats: u64,
    pub w_strobed: u64,
}

impl Model {
    /// Drives the slave's and the stream partners' signals for this cycle.
    fn drive<const D: usize, const S: usize>(&mut self, x: &mut Dma<D, S>) {
        drive_ddr(&mut self.ddr, &mut x.m_axi);
        let p = self.busy_pct;
        self.rd_ready = !self.rng.chance(p);
        if !self.wr_valid && !self.wr_beats.is_empty() && !self.rng.chance(p) {
            self.wr_valid = true;
        }
        if let Some(w) = self.wr_beats.front() {
            x.wr.data.next = to_bits::<D>(w);
        }
        x.rd.ready.next = self.rd_ready;
        x.wr.valid.next = self.wr_valid;
    }

    /// After the DUT's combinational outputs settled: the handshakes of this cycle.
    fn observe<const D: usize, const S: usize>(&mut self, x: &Dma<D, S>) {
        let h = observe_ddr(&mut self.ddr, &x.m_axi);
        if let Some(b) = h.ar {
            self.ar_log.push((b.addr, b.beats));
            // In flight at the handshake: a burst whose last beat was taken in the
            // same cycle still counts.
            let n = (self.ddr.reads_in_flight() + usize::from(h.r.is_some_and(|r| r.1))) as u64;
            self.max_outst_seen = self.max_outst_seen.max(n);
            if n > self.max_out {
                let msg = format!("{n} read bursts in flight > {}", self.max_out);
                self.ddr.violations.push(msg);
            }
        }
        if let Some(b) = h.aw {
            self.aw_log.push((b.addr, b.beats));
        }
        if h.r.is_some_and(|r| r.0 == RESP_OKAY) {
            self.okay_r_beats += 1;
        }
        if let Some(strobes) = h.w {
            self.w_strobed += u64::from(strobes.count_ones());
        }
        if x.rd.valid.val() && self.rd_ready {
            self.rd_got
                .push((from_bits::<D>(x.rd.data.val()), x.rd_last.val()));
        }
        if self.wr_valid && x.wr.ready.val() {
            self.wr_beats.pop_front();
            self.wr_valid = false;
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct Cmd {
    off: u64,
    len: u64,
}

/// The response injected for the beat at bus address `addr`, from the bench's own
/// fault list (written independently of the DDR model, which must answer it).
fn injected(ddr: &Ddr, addr: u64) -> u8 {
    let (lo, b) = (addr - ddr.base, ddr.beat_bytes as u64);
    ddr.faults
        .iter()
        .find(|f| f.lo < lo + b && lo < f.hi)
        .map_or(RESP_OKAY, |f| f.resp)
}

/// What a command must end with: the error code, the error offset, and for a read the
/// number of beats delivered.
fn expect(model: &Model, c: Cmd, write: bool) -> (u64, u64, u64) {
    let ddr = &model.ddr;
    let b = ddr.beat_bytes as u64;
    let beats = c.len.div_ceil(b);
    if !(ddr.base + c.off).is_multiple_of(b) {
        return (dma::BAD_FIELD, c.off, 0);
    }
    if c.off + beats * b > ddr.mem.len() as u64 {
        return (dma::OUT_OF_WINDOW, c.off, 0);
    }
    let code = |resp: u8| {
        if resp == RESP_DECERR {
            dma::AXI_DECERR
        } else {
            dma::AXI_SLVERR
        }
    };
    if write {
        for (a, n) in split(ddr.base + c.off, beats, b, ddr.max_burst_beats) {
            let mut responses = (0..n).map(|k| injected(ddr, a + k * b));
            if let Some(e) = responses.find(|e| *e != RESP_OKAY) {
                return (code(e), a - ddr.base, 0);
            }
        }
    } else {
        for k in 0..beats {
            let e = injected(ddr, ddr.base + c.off + k * b);
            if e != RESP_OKAY {
                return (code(e), c.off + k * b, k);
            }
        }
    }
    (0, 0, beats)
}

fn random_cmd(rng: &mut Rng, b: u64, lo: u64, hi: u64, size: u64) -> Cmd {
    let span = hi - lo;
    let mut len = match rng.below(10) {
        0 => 0,
        1..=3 => 1 + rng.below(3 * b),
        _ => 1 + rng.below(span.min(3 * 4096)),
    };
    let mut off = lo + rng.below(span) / b * b;
    match rng.below(24) {
        // Unaligned start: refused (BadField).
        0 => {
            off += 1 + rng.below(b - 1);
            len = len.min(hi.saturating_sub(off));
        }
        // Runs past the end of the window: refused (OutOfWindow).
        1 => {
            off = size / b * b - rng.below(2) * b;
            len = size - off + 1 + rng.below(2 * b);
        }
        // The bytes fit but the last beat does not (BUF_SIZE not a beat multiple).
        2 => {
            off = size / b * b;
            len = size - off;
        }
        // Far outside the window.
        3 => off = u32::MAX as u64 / b * b,
        _ => len = len.min(hi - off),
    }
    Cmd { off, len }
}

fn cyc<const D: usize, const S: usize>(
    sim: &mut Sim<Dma<D, S>>,
    mut x: Box<Dma<D, S>>,
    m: &mut Model,
) -> Result<Box<Dma<D, S>>, SimError> {
    m.drive(&mut *x);
    wait_clock_false!(sim, clock, x);
    m.observe(&*x);
    wait_clock_true!(sim, clock, x);
    Ok(x)
}

struct Setup {
    seed: u64,
    params: DmaParams,
    base: u64,
    size: u64,
    commands: usize,
    busy_pct: u64,
    max_latency: u64,
    /// Chance (%) of an injected SLVERR/DECERR per iteration.
    err_pct: u64,
}

macro_rules! fail {
    ($sim:ident, $x:ident, $($msg:tt)+) => {{
        println!($($msg)+);
        return Err($sim.halt($x).unwrap_err());
    }};
}

fn bench<const D: usize, const S: usize>(s: Setup) {
    let mut uut = Dma::<D, S>::new(&s.params).unwrap();
    uut.connect_all();
    let mut sim = Simulation::new();
    sim.add_clock(5, |x: &mut Box<Dma<D, S>>| x.clock.next = !x.clock.val());
    let s = std::sync::Arc::new(s);
    sim.add_testbench(move |mut sim: Sim<Dma<D, S>>| {
        let s = s.clone();
        let mut rng = seeded(s.seed);
        let b = S as u64;
        let timing = DdrTiming {
            seed: s.seed ^ 0xABCD,
            latency_min: 0,
            latency_max: s.max_latency,
            p_ready: (100 - s.busy_pct) as f64 / 100.0,
            // The DMA's own limit is what is checked, so the memory sets none.
            max_outstanding_reads: usize::MAX,
        };
        let mut ddr = Ddr::new(s.base, s.size as usize, S, timing);
        ddr.max_burst_beats = s.params.max_burst as u64;
        ddr.mem.iter_mut().for_each(|v| *v = rng.next() as u8);
        let mut m = Model {
            ddr,
            rng: seeded(s.seed ^ 0x57EA),
            busy_pct: s.busy_pct,
            max_out: s.params.max_outstanding as u64,
            rd_ready: false,
            rd_got: vec![],
            wr_beats: VecDeque::new(),
            wr_valid: false,
            ar_log: vec![],
            aw_log: vec![],
            max_outst_seen: 0,
            okay_r_beats: 0,
            w_strobed: 0,
        };
        let mut reference = m.ddr.mem.clone();
        let mut x = sim.init()?;
        x.rst.next = true;
        x.buf_base.next = s.base.into();
        x.buf_size.next = s.size.into();
        x = cyc(&mut sim, x, &mut m)?;
        x = cyc(&mut sim, x, &mut m)?;
        x.rst.next = false;
        let (mut n_ok, mut n_axi_err, mut n_refused, mut recovered) = (0, 0, 0, 0);
        let mut last_failed = false;
        let half = s.size / 2 / b * b;
        for it in 0..s.commands {
            // Reads and writes run concurrently on disjoint halves, swapped each time.
            let (rlo, rhi, wlo, whi) = if it % 2 == 0 {
                (0, half, half, s.size)
            } else {
                (half, s.size, 0, half)
            };
            let rc = random_cmd(&mut rng, b, rlo, rhi, s.size);
            let wc = random_cmd(&mut rng, b, wlo, whi, s.size);
            // Inject an error on one beat of one command, sometimes.
            m.ddr.faults.clear();
            if rng.chance(s.err_pct) {
                let c = if rng.chance(50) { rc } else { wc };
                let beats = c.len.div_ceil(b);
                if beats > 0 {
                    let lo = c.off / b * b + rng.below(beats) * b;
                    let resp = if rng.chance(50) {
                        RESP_SLVERR
                    } else {
                        RESP_DECERR
                    };
                    m.ddr.faults.push(Fault {
                        lo,
                        hi: lo + b,
                        resp,
                    });
                }
            }
            let want_r = expect(&m, rc, false);
            let want_w = expect(&m, wc, true);
            let wbeats = if want_w.0 == dma::BAD_FIELD || want_w.0 == dma::OUT_OF_WINDOW {
                0
            } else {
                wc.len.div_ceil(b)
            };
            let wdata: Vec<Vec<u8>> = (0..wbeats)
                .map(|_| (0..b).map(|_| rng.next() as u8).collect())
                .collect();
            m.wr_beats = wdata.iter().cloned().collect();
            m.rd_got.clear();
            let (ar0, aw0) = (m.ar_log.len(), m.aw_log.len());
            x.rd.cmd_offset.next = rc.off.into();
            x.rd.cmd_len.next = rc.len.into();
            x.wr.cmd_offset.next = wc.off.into();
            x.wr.cmd_len.next = wc.len.into();
            let (mut r_sent, mut w_sent) = (false, false);
            let (mut r_res, mut w_res) = (None, None);
            let limit = 100 * (rc.len.min(1 << 20) / b + wc.len.min(1 << 20) / b + 50);
            let mut t = 0;
            while r_res.is_none() || w_res.is_none() {
                x.rd.cmd_valid.next = !r_sent;
                x.wr.cmd_valid.next = !w_sent;
                // Command ready depends on the state only: valid this cycle => accepted.
                if !r_sent && x.rd.cmd_ready.val() {
                    r_sent = true;
                }
                if !w_sent && x.wr.cmd_ready.val() {
                    w_sent = true;
                }
                x = cyc(&mut sim, x, &mut m)?;
                x.rd.cmd_valid.next = false;
                x.wr.cmd_valid.next = false;
                if x.rd.done.val() && r_sent {
                    r_res = Some((x.rd.err.val().to_u64(), x.rd.err_offset.val().to_u64()));
                }
                if x.wr.done.val() && w_sent {
                    w_res = Some((x.wr.err.val().to_u64(), x.wr.err_offset.val().to_u64()));
                    // A failed write leaves its remaining beats: the controller flushes.
                    m.wr_beats.clear();
                    m.wr_valid = false;
                }
                t += 1;
                if t > limit {
                    fail!(sim, x, "iteration {it}: hang (read {rc:?} -> {r_res:?}, write {wc:?} -> {w_res:?})");
                }
                if !m.ddr.violations.is_empty() {
                    fail!(sim, x, "iteration {it}: AXI violations: {:?}", m.ddr.violations);
                }
            }
            let (r_res, w_res) = (r_res.unwrap(), w_res.unwrap());
            // Read: code, offset, delivered data.
            let rb = rc.len.div_ceil(b);
            if r_res != (want_r.0, if want_r.0 == 0 { 0 } else { want_r.1 }) {
                fail!(sim, x, "iteration {it}: read {rc:?} ended {r_res:?}, want {want_r:?}");
            }
            if m.rd_got.len() as u64 != want_r.2 {
                fail!(sim, x, "iteration {it}: read {rc:?} delivered {} beats, want {}", m.rd_got.len(), want_r.2);
            }
            for (k, (data, last)) in m.rd_got.iter().enumerate() {
                let a = (rc.off + k as u64 * b) as usize;
                if data[..] != reference[a..a + b as usize] {
                    fail!(sim, x, "iteration {it}: read {rc:?} beat {k} data differs");
                }
                if *last != (k as u64 + 1 == rb) {
                    fail!(sim, x, "iteration {it}: read {rc:?} beat {k} rd_last {last}");
                }
            }
            let refused = |c: u64| c == dma::BAD_FIELD || c == dma::OUT_OF_WINDOW;
            // What a command's address channel carried, against the expected split: a
            // refused command issues nothing, an accepted one the 4 KiB / burst split.
            let bursts_wrong = |code: u64, off: u64, beats: u64, log: &[(u64, u64)]| {
                let want = if refused(code) || code == 0 && beats == 0 {
                    vec![]
                } else if code == 0 {
                    split(s.base + off, beats, b, m.ddr.max_burst_beats)
                } else {
                    return None; // an AXI error: the bursts before it are checked elsewhere
                };
                (*log != want[..]).then(|| format!("{log:?}, want {want:?}"))
            };
            if let Some(e) = bursts_wrong(want_r.0, rc.off, rb, &m.ar_log[ar0..]) {
                fail!(sim, x, "iteration {it}: read {rc:?} bursts {e}");
            }
            // Write: code, offset, memory.
            if w_res != (want_w.0, if want_w.0 == 0 { 0 } else { want_w.1 }) {
                fail!(sim, x, "iteration {it}: write {wc:?} ended {w_res:?}, want {want_w:?}");
            }
            if let Some(e) = bursts_wrong(want_w.0, wc.off, wbeats, &m.aw_log[aw0..]) {
                fail!(sim, x, "iteration {it}: write {wc:?} bursts {e}");
            }
            let (lo, hi) = if refused(want_w.0) {
                (0, 0)
            } else {
                let lo = wc.off as usize;
                (lo, lo + wc.len as usize)
            };
            if want_w.0 == 0 {
                for (k, beat) in wdata.iter().enumerate() {
                    for (j, v) in beat.iter().enumerate() {
                        let i = lo + k * b as usize + j;
                        if i < hi {
                            reference[i] = *v;
                        }
                    }
                }
            } else {
                // After a failed write the command's bytes are unknown: resync them.
                reference[lo..hi].copy_from_slice(&m.ddr.mem[lo..hi]);
            }
            if let Some(i) = (0..reference.len()).find(|i| reference[*i] != m.ddr.mem[*i]) {
                fail!(sim, x, "iteration {it}: memory differs at window offset {i} (write {wc:?})");
            }
            let failed = want_r.0 != 0 || want_w.0 != 0;
            if want_r.0 == 4 || want_r.0 == 5 || want_w.0 == 4 || want_w.0 == 5 {
                n_axi_err += 1;
            }
            if refused(want_r.0) || refused(want_w.0) {
                n_refused += 1;
            }
            if !failed {
                n_ok += 1;
                if last_failed {
                    recovered += 1;
                }
            }
            last_failed = failed;
        }
        // Counters: every OKAY read beat, every written byte; some stalls with backpressure.
        println!(
            "ok {n_ok}, AXI errors {n_axi_err}, refused {n_refused}, recoveries {recovered}, \
             max reads in flight {}, bytes rd {} wr {}, stall cycles {}",
            m.max_outst_seen,
            x.bytes_rd.val().to_u64(),
            x.bytes_wr.val().to_u64(),
            x.stall_cycles.val().to_u64()
        );
        if n_ok == 0 || n_axi_err == 0 || n_refused == 0 || recovered == 0 {
            fail!(sim, x, "the random commands did not cover success, errors, refusals and recovery");
        }
        let (rd, wr, st) = (
            x.bytes_rd.val().to_u64(),
            x.bytes_wr.val().to_u64(),
            x.stall_cycles.val().to_u64(),
        );
        if rd != m.okay_r_beats * b || wr != m.w_strobed || st == 0 || st >= m.ddr.cycles {
            fail!(sim, x, "counters rd {rd} wr {wr} stall {st}: want rd {} wr {} stall in 1..{}",
                m.okay_r_beats * b, m.w_strobed, m.ddr.cycles);
        }
        x.cnt_clear.next = true;
        x = cyc(&mut sim, x, &mut m)?;
        x.cnt_clear.next = false;
        x = cyc(&mut sim, x, &mut m)?;
        if x.bytes_rd.val().any() || x.bytes_wr.val().any() || x.stall_cycles.val().any() {
            fail!(sim, x, "cnt_clear did not clear the counters");
        }
        if m.max_outst_seen != m.max_out {
            fail!(sim, x, "never reached {} reads in flight (max {})", m.max_out, m.max_outst_seen);
        }
        sim.done(x)
    });
    sim.run(Box::new(uut), 1 << 40).unwrap();
}

#[test]
fn dma_64bit_random_commands() {
    bench::<64, 8>(Setup {
        seed: 1,
        params: DmaParams {
            data_bits: 64,
            max_burst: 256,
            max_outstanding: 4,
        },
        base: 0x1_2345_6000 + 0x7F8,
        size: 5 * 4096 + 0x13C,
        commands: 120,
        busy_pct: 30,
        max_latency: 12,
        err_pct: 25,
    });
}

#[test]
fn dma_128bit_short_bursts_random_commands() {
    bench::<128, 16>(Setup {
        seed: 2,
        params: DmaParams {
            data_bits: 128,
            max_burst: 16,
            max_outstanding: 2,
        },
        base: 0x8000_0000 + 0xF30,
        size: 4 * 4096 + 0x1F8,
        commands: 120,
        busy_pct: 40,
        max_latency: 20,
        err_pct: 25,
    });
}

/// Heavy backpressure and frequent errors, so an error often arrives while an AR waits
/// for ARREADY: the AR must stay valid (and its burst be drained), not be withdrawn.
#[test]
fn dma_errors_under_heavy_backpressure() {
    bench::<64, 8>(Setup {
        seed: 3,
        params: DmaParams {
            data_bits: 64,
            max_burst: 8,
            max_outstanding: 3,
        },
        base: 0x4000_0000,
        size: 3 * 4096,
        commands: 80,
        busy_pct: 75,
        max_latency: 3,
        err_pct: 70,
    });
}

#[test]
fn dma_params_are_checked() {
    let p = DmaParams::default();
    assert!(dma::verilog(&DmaParams { data_bits: 32, ..p }).is_err());
    assert!(dma::verilog(&DmaParams { max_burst: 0, ..p }).is_err());
    assert!(dma::verilog(&DmaParams {
        max_burst: 257,
        ..p
    })
    .is_err());
    assert!(dma::verilog(&DmaParams {
        max_outstanding: 17,
        ..p
    })
    .is_err());
    // A type whose width does not match the parameters is refused, not miscompiled.
    assert!(Dma::<64, 8>::new(&p).is_err());
}

#[test]
fn dma_error_codes_match_the_register_map() {
    use spikeslice_hdl::csr::regmap::ErrorCode;
    assert_eq!(dma::BAD_FIELD, ErrorCode::BadField as u64);
    assert_eq!(dma::OUT_OF_WINDOW, ErrorCode::OutOfWindow as u64);
    assert_eq!(dma::AXI_SLVERR, ErrorCode::AxiSlaveError as u64);
    assert_eq!(dma::AXI_DECERR, ErrorCode::AxiDecodeError as u64);
}
