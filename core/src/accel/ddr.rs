//! The DDR model: the memory behind the accelerator's AXI4 master, cycle by cycle.
//! It is the one memory every simulation of the shell uses: the Verilated shell
//! (`spikeslice-sim`), and the rust-hdl benches of the whole shell and of the DMA
//! (`hdl/tests/`). It is behaviour only, without HDL types: each simulator has an
//! adapter that moves its port values into a [`MasterOut`] and a [`SlaveOut`] onto
//! its ports.
//!
//! A byte memory for one window `[base, base + len)`, the five AXI4 channels with
//! seeded random latency and valid/ready backpressure, several outstanding read
//! bursts (one ID: answered in order), SLVERR/DECERR injection, and a bus monitor.
//!
//! Per clock cycle the adapter calls [`Ddr::drive`] (what the slave puts on its
//! outputs this cycle, decided from its state only, never from the master's outputs
//! of the same cycle, so there is no combinational path through the model), sets
//! those on the ports, lets the design settle, reads the master's outputs and calls
//! [`Ddr::observe`] with them (handshakes happen where valid and ready are both
//! high; it returns them), then clocks.
//!
//! Timing with [`DdrTiming::fixed`] is the one the cycle model is exact for
//! (`cycles::CycleModel`): the first R beat of a burst `L` cycles after its AR
//! handshake, then one beat per cycle; a write burst's B `L` cycles after its last W
//! beat; AR/AW always ready, W ready whenever an AW has been accepted.
//!
//! Faults answer beat by beat, as a slave may (AXI4 A3.4.4): a read beat whose bytes
//! touch a [`Fault`] is answered with its response, a write beat touching one is
//! dropped and the burst's B carries the first such response. Beats outside the
//! window are DECERR (and a monitor violation).
//!
//! The monitor checks what a protocol checker on the master port would (AXI4, ARM IHI
//! 0022): INCR bursts only, AxSIZE = the bus width, at most `max_burst_beats` beats,
//! no burst crossing a 4 KiB boundary, beat-aligned addresses, every byte of a burst
//! inside the window (the shell's guarantee, docs/shell.md), WLAST exactly on the last
//! beat, and AR/AW/W payloads held stable while valid waits for ready. Violations are
//! collected (the caller turns them into an error) rather than panicking, so a test
//! reports all of them with the cycle they happened in.

use crate::random::{rng, Draw, TestRng};
use std::collections::VecDeque;

/// AXI response codes (xRESP).
pub const RESP_OKAY: u8 = 0b00;
pub const RESP_SLVERR: u8 = 0b10;
pub const RESP_DECERR: u8 = 0b11;

/// The AXI4 INCR burst type.
const BURST_INCR: u64 = 1;

/// Latency and backpressure of the memory.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DdrTiming {
    /// Seed of the random latency and backpressure.
    pub seed: u64,
    /// Cycles from an AR handshake to the burst's first R beat, and from a write
    /// burst's last W beat to its B, drawn per burst in `min..=max`.
    pub latency_min: u64,
    pub latency_max: u64,
    /// Probability that, in a given cycle, a ready (AR/AW/W) is high or a due R/B
    /// beat is offered, drawn in whole percent. 1.0 = no backpressure.
    pub p_ready: f64,
    /// Read bursts the slave accepts before it holds ARREADY low.
    pub max_outstanding_reads: usize,
}

impl DdrTiming {
    /// Fixed latency, no backpressure: the timing the cycle model is exact for.
    pub fn fixed(latency: u64) -> Self {
        DdrTiming {
            seed: 0,
            latency_min: latency,
            latency_max: latency,
            p_ready: 1.0,
            max_outstanding_reads: 16,
        }
    }

    /// Seeded random latency in `lo..=hi` and 30 % backpressure on every channel.
    pub fn random(seed: u64, lo: u64, hi: u64) -> Self {
        DdrTiming {
            seed,
            latency_min: lo,
            latency_max: hi.max(lo),
            p_ready: 0.7,
            max_outstanding_reads: 8,
        }
    }

    /// Whether the cycle model is exact for this timing (fixed latency, no
    /// backpressure).
    pub fn is_fixed(&self) -> bool {
        self.latency_min == self.latency_max && self.p_ready >= 1.0
    }
}

impl Default for DdrTiming {
    /// The cycle model's default latency (`DmaTiming::default`: ~200 ns to DDR4
    /// through an HP port at 200 MHz), fixed, without backpressure.
    fn default() -> Self {
        DdrTiming::fixed(super::cycles::DmaTiming::default().latency)
    }
}

/// An injected fault: every beat whose bytes touch a window offset in `[lo, hi)`
/// is answered with `resp` (reads: that beat's RRESP; writes: the beat is dropped
/// and its burst's BRESP is `resp`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fault {
    pub lo: u64,
    pub hi: u64,
    pub resp: u8,
}

/// A burst that was answered with an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FaultHit {
    pub write: bool,
    /// Window offset of the burst's first beat.
    pub offset: u64,
    pub beats: u64,
    /// The first error response of the burst.
    pub resp: u8,
}

/// What the slave drives in one cycle.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SlaveOut {
    pub arready: bool,
    pub awready: bool,
    pub wready: bool,
    pub rvalid: bool,
    /// The beat's bytes (`beat_bytes` of them; zeros outside the window).
    pub rdata: Vec<u8>,
    pub rresp: u8,
    pub rlast: bool,
    pub bvalid: bool,
    pub bresp: u8,
}

/// What the master drives in one cycle (read after the design settled).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MasterOut {
    pub arvalid: bool,
    pub araddr: u64,
    pub arlen: u64,
    pub arsize: u64,
    pub arburst: u64,
    pub awvalid: bool,
    pub awaddr: u64,
    pub awlen: u64,
    pub awsize: u64,
    pub awburst: u64,
    pub wvalid: bool,
    pub wdata: Vec<u8>,
    pub wstrb: u64,
    pub wlast: bool,
    pub rready: bool,
    pub bready: bool,
}

/// A burst as its address handshake gave it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Burst {
    /// Bus address of the first beat.
    pub addr: u64,
    pub beats: u64,
}

/// The handshakes of one cycle, as [`Ddr::observe`] saw them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Handshakes {
    /// A read burst accepted.
    pub ar: Option<Burst>,
    /// An R beat taken: its response and RLAST.
    pub r: Option<(u8, bool)>,
    /// A write burst accepted.
    pub aw: Option<Burst>,
    /// A W beat taken: its strobes.
    pub w: Option<u64>,
    /// A B response taken.
    pub b: Option<u8>,
}

#[derive(Debug, Clone)]
struct ReadBurst {
    burst: Burst,
    next: u64,
    delay: u64,
    /// Whether a beat of it was already answered with an error.
    hit: bool,
}

#[derive(Debug, Clone)]
struct WriteBurst {
    burst: Burst,
    got: u64,
    resp: u8,
}

/// The memory and its AXI4 slave port.
pub struct Ddr {
    pub base: u64,
    pub mem: Vec<u8>,
    pub beat_bytes: usize,
    pub timing: DdrTiming,
    /// The longest burst the master may issue (the monitor's limit).
    pub max_burst_beats: u64,
    pub faults: Vec<Fault>,
    /// Bursts answered with an error, in order.
    pub fault_hits: Vec<FaultHit>,
    /// Protocol violations seen by the monitor (with the cycle).
    pub violations: Vec<String>,
    /// Cycles observed.
    pub cycles: u64,
    rng: TestRng,
    rq: VecDeque<ReadBurst>,
    wq: VecDeque<WriteBurst>,
    /// Responses owed: (resp, delay).
    bq: VecDeque<(u8, u64)>,
    out: SlaveOut,
    /// The master's AR/AW/W payloads of the previous cycle when valid was not
    /// accepted: they must be presented again unchanged.
    ar_pending: Option<(u64, u64, u64, u64)>,
    aw_pending: Option<(u64, u64, u64, u64)>,
    w_pending: Option<(Vec<u8>, u64, bool)>,
}

impl Ddr {
    /// A zeroed window of `len` bytes at physical address `base` (beat aligned).
    pub fn new(base: u64, len: usize, beat_bytes: usize, timing: DdrTiming) -> Self {
        Ddr {
            base,
            mem: vec![0; len],
            beat_bytes,
            timing,
            max_burst_beats: 256,
            faults: vec![],
            fault_hits: vec![],
            violations: vec![],
            cycles: 0,
            rng: rng(timing.seed),
            rq: VecDeque::new(),
            wq: VecDeque::new(),
            bq: VecDeque::new(),
            out: SlaveOut {
                rdata: vec![0; beat_bytes],
                ..Default::default()
            },
            ar_pending: None,
            aw_pending: None,
            w_pending: None,
        }
    }

    /// Re-seed the random timing (for example per sample).
    pub fn set_timing(&mut self, timing: DdrTiming) {
        self.timing = timing;
        self.rng = rng(timing.seed);
    }

    /// The state after an AXI reset, which aborts the master's bursts: nothing in
    /// flight, the timing re-seeded, the cycle count, fault hits and violations
    /// cleared. The memory and the faults stay.
    pub fn reset(&mut self) {
        let mut fresh = Ddr::new(self.base, 0, self.beat_bytes, self.timing);
        fresh.mem = std::mem::take(&mut self.mem);
        fresh.faults = std::mem::take(&mut self.faults);
        fresh.max_burst_beats = self.max_burst_beats;
        *self = fresh;
    }

    /// Whether no burst is in flight.
    pub fn idle(&self) -> bool {
        self.rq.is_empty() && self.wq.is_empty() && self.bq.is_empty()
    }

    /// Read bursts accepted whose last beat has not been taken.
    pub fn reads_in_flight(&self) -> usize {
        self.rq.len()
    }

    /// A ready or a due beat this cycle, under the backpressure of the timing.
    fn ready(&mut self) -> bool {
        let pct = (self.timing.p_ready * 100.0).round().clamp(0.0, 100.0) as u64;
        pct >= 100 || !self.rng.chance(100 - pct)
    }

    fn latency(&mut self) -> u64 {
        let (lo, hi) = (self.timing.latency_min, self.timing.latency_max);
        if hi <= lo {
            lo
        } else {
            lo + self.rng.below(hi - lo + 1)
        }
    }

    fn in_window(&self, addr: u64, bytes: u64) -> bool {
        addr >= self.base && addr - self.base + bytes <= self.mem.len() as u64
    }

    /// The response to a beat at bus address `addr`: DECERR outside the window,
    /// else the first fault touching its bytes, else OKAY.
    pub fn beat_response(&self, addr: u64) -> u8 {
        let b = self.beat_bytes as u64;
        if !self.in_window(addr, b) {
            return RESP_DECERR;
        }
        let lo = addr - self.base;
        self.faults
            .iter()
            .find(|f| f.lo < lo + b && lo < f.hi)
            .map_or(RESP_OKAY, |f| f.resp)
    }

    /// This cycle's slave outputs.
    pub fn drive(&mut self) -> &SlaveOut {
        let can_ar = self.rq.len() < self.timing.max_outstanding_reads;
        self.out.arready = can_ar && self.ready();
        self.out.awready = self.ready();
        self.out.wready = !self.wq.is_empty() && self.ready();
        if !self.out.rvalid {
            let due = matches!(self.rq.front(), Some(f) if f.delay == 0);
            if due && self.ready() {
                self.offer_read_beat();
            }
        }
        if !self.out.bvalid {
            let due = matches!(self.bq.front(), Some(f) if f.1 == 0);
            if due && self.ready() {
                self.out.bresp = self.bq.front().expect("due response").0;
                self.out.bvalid = true;
            }
        }
        &self.out
    }

    fn offer_read_beat(&mut self) {
        let b = self.beat_bytes;
        let f = self.rq.front().expect("due burst");
        let (Burst { addr, beats }, next) = (f.burst, f.next);
        let a = addr + next * b as u64;
        let resp = self.beat_response(a);
        if self.in_window(a, b as u64) {
            let i = (a - self.base) as usize;
            self.out.rdata.copy_from_slice(&self.mem[i..i + b]);
        } else {
            self.out.rdata.iter_mut().for_each(|x| *x = 0);
        }
        let f = self.rq.front_mut().expect("due burst");
        if resp != RESP_OKAY && !f.hit {
            f.hit = true;
            self.fault_hits.push(FaultHit {
                write: false,
                offset: addr.wrapping_sub(self.base),
                beats,
                resp,
            });
        }
        self.out.rresp = resp;
        self.out.rlast = next + 1 == beats;
        self.out.rvalid = true;
    }

    /// Checks a burst at its address handshake and returns it.
    fn check_burst(&mut self, what: &str, addr: u64, len: u64, size: u64, burst: u64) -> Burst {
        let c = self.cycles;
        let b = self.beat_bytes as u64;
        let beats = len + 1;
        let mut bad = vec![];
        if burst != BURST_INCR {
            bad.push(format!("burst type {burst}, not INCR"));
        }
        if 1u64 << size != b {
            bad.push(format!(
                "AxSIZE {size} ({} bytes) on a {b}-byte bus",
                1u64 << size
            ));
        }
        if beats > self.max_burst_beats {
            bad.push(format!("{beats} beats > {}", self.max_burst_beats));
        }
        if !addr.is_multiple_of(b) {
            bad.push(format!("not aligned to the {b}-byte beat"));
        }
        if addr % 4096 + beats * b > 4096 {
            bad.push("crosses a 4 KiB boundary".into());
        }
        if !self.in_window(addr, beats * b) {
            bad.push(format!(
                "outside the window [{:#x}, {:#x})",
                self.base,
                self.base + self.mem.len() as u64
            ));
        }
        for v in bad {
            self.violations
                .push(format!("cycle {c}: {what} {addr:#x} x{beats}: {v}"));
        }
        Burst { addr, beats }
    }

    /// AXI4 A3.2.1: once valid is asserted it stays asserted, with the same
    /// payload, until the handshake. `held`: whether a payload that waited last
    /// cycle is presented again unchanged (`None`: none waited).
    fn check_held(&mut self, what: &str, held: Option<bool>) {
        if held == Some(false) {
            let c = self.cycles;
            self.violations.push(format!(
                "cycle {c}: {what} changed or dropped before {what}READY"
            ));
        }
    }

    /// The master's outputs of this cycle (after the design settled with this cycle's
    /// slave outputs): performs the handshakes, advances one cycle and returns the
    /// handshakes.
    pub fn observe(&mut self, m: &MasterOut) -> Handshakes {
        let mut h = Handshakes::default();
        let ar = (m.araddr, m.arlen, m.arsize, m.arburst);
        let held = self.ar_pending.take().map(|p| m.arvalid && p == ar);
        self.check_held("AR", held);
        let aw = (m.awaddr, m.awlen, m.awsize, m.awburst);
        let held = self.aw_pending.take().map(|p| m.awvalid && p == aw);
        self.check_held("AW", held);
        let held = self.w_pending.take().map(|(data, strb, last)| {
            m.wvalid && data == m.wdata && strb == m.wstrb && last == m.wlast
        });
        self.check_held("W", held);
        if m.arvalid && self.out.arready {
            let burst = self.check_burst("AR", m.araddr, m.arlen, m.arsize, m.arburst);
            let delay = self.latency();
            self.rq.push_back(ReadBurst {
                burst,
                next: 0,
                delay,
                hit: false,
            });
            h.ar = Some(burst);
        } else if m.arvalid {
            self.ar_pending = Some(ar);
        }
        if self.out.rvalid && m.rready {
            let f = self.rq.front_mut().expect("a burst is being answered");
            f.next += 1;
            if f.next == f.burst.beats {
                self.rq.pop_front();
            }
            self.out.rvalid = false;
            h.r = Some((self.out.rresp, self.out.rlast));
        }
        if m.awvalid && self.out.awready {
            let burst = self.check_burst("AW", m.awaddr, m.awlen, m.awsize, m.awburst);
            self.wq.push_back(WriteBurst {
                burst,
                got: 0,
                resp: RESP_OKAY,
            });
            h.aw = Some(burst);
        } else if m.awvalid {
            self.aw_pending = Some(aw);
        }
        if m.wvalid && self.out.wready {
            self.write_beat(m);
            h.w = Some(m.wstrb);
        } else if m.wvalid {
            self.w_pending = Some((m.wdata.clone(), m.wstrb, m.wlast));
        }
        if self.out.bvalid && m.bready {
            self.bq.pop_front();
            self.out.bvalid = false;
            h.b = Some(self.out.bresp);
        }
        for f in self.rq.iter_mut() {
            f.delay = f.delay.saturating_sub(1);
        }
        for f in self.bq.iter_mut() {
            f.1 = f.1.saturating_sub(1);
        }
        self.cycles += 1;
        h
    }

    /// One W beat taken: stored unless refused, and the burst's B queued after its
    /// last beat.
    fn write_beat(&mut self, m: &MasterOut) {
        let b = self.beat_bytes as u64;
        let f = self.wq.front().expect("W accepted only after an AW");
        let (Burst { addr, beats }, got) = (f.burst, f.got);
        let a = addr + got * b;
        if m.wlast != (got + 1 == beats) {
            let c = self.cycles;
            self.violations.push(format!(
                "cycle {c}: WLAST {} on beat {} of a {beats}-beat burst at {addr:#x}",
                m.wlast,
                got + 1,
            ));
        }
        let resp = self.beat_response(a);
        if resp == RESP_OKAY {
            let i = (a - self.base) as usize;
            for k in 0..b as usize {
                if m.wstrb >> k & 1 == 1 {
                    self.mem[i + k] = m.wdata[k];
                }
            }
        }
        let f = self.wq.front_mut().expect("checked above");
        f.got += 1;
        if f.resp == RESP_OKAY {
            f.resp = resp;
        }
        if f.got == f.burst.beats {
            let f = self.wq.pop_front().expect("checked above");
            if f.resp != RESP_OKAY {
                self.fault_hits.push(FaultHit {
                    write: true,
                    offset: f.burst.addr.wrapping_sub(self.base),
                    beats: f.burst.beats,
                    resp: f.resp,
                });
            }
            let delay = self.latency();
            self.bq.push_back((f.resp, delay));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A master offering a read burst of `beats` 8-byte beats at `addr`, taking R.
    fn ar_master(addr: u64, beats: u64) -> MasterOut {
        MasterOut {
            arvalid: true,
            araddr: addr,
            arlen: beats - 1,
            arsize: 3,
            arburst: 1,
            rready: true,
            wdata: vec![0; 8],
            ..Default::default()
        }
    }

    /// A master offering a write burst of `beats` 8-byte beats at 0, taking B.
    fn aw_master(beats: u64) -> MasterOut {
        MasterOut {
            awvalid: true,
            awlen: beats - 1,
            awsize: 3,
            awburst: 1,
            bready: true,
            wdata: vec![0; 8],
            ..Default::default()
        }
    }

    /// A master whose write burst of `beats` 8-byte beats at 0 `d` has accepted,
    /// now offering its beats (all bytes strobed).
    fn aw_accepted(d: &mut Ddr, beats: u64) -> MasterOut {
        d.drive();
        let mut m = aw_master(beats);
        d.observe(&m);
        m.awvalid = false;
        m.wvalid = true;
        m.wstrb = 0xFF;
        m
    }

    /// 8 KiB of memory at 0 with 8-byte beats and latency `latency`, answering
    /// the beats that touch bytes `lo..hi` with `resp`.
    fn ddr_with_fault(latency: u64, lo: u64, hi: u64, resp: u8) -> Ddr {
        let mut d = Ddr::new(0, 8192, 8, DdrTiming::fixed(latency));
        d.faults.push(Fault { lo, hi, resp });
        d
    }

    /// A read burst of `beats` 8-byte beats at `addr`, taken as soon as offered:
    /// the (cycle, data, resp, last) of every beat.
    fn read(d: &mut Ddr, addr: u64, beats: u64) -> Vec<(u64, Vec<u8>, u8, bool)> {
        d.drive();
        let mut m = ar_master(addr, beats);
        d.observe(&m);
        m.arvalid = false;
        let mut got = vec![];
        for cycle in 1..20 {
            let o = d.drive().clone();
            if o.rvalid {
                got.push((cycle, o.rdata.clone(), o.rresp, o.rlast));
            }
            d.observe(&m);
        }
        got
    }

    #[test]
    fn a_read_burst_arrives_after_the_latency_one_beat_per_cycle() {
        let mut d = Ddr::new(0x1000, 4096, 8, DdrTiming::fixed(3));
        for (i, x) in d.mem.iter_mut().enumerate() {
            *x = i as u8;
        }
        let beats = read(&mut d, 0x1010, 2);
        assert_eq!(beats.len(), 2);
        assert_eq!(beats[0].0, 3, "first beat L cycles after the AR handshake");
        assert_eq!(beats[1].0, 4);
        assert_eq!(beats[0].1, (0x10..0x18).collect::<Vec<u8>>());
        assert!(!beats[0].3 && beats[1].3);
        assert!(d.violations.is_empty(), "{:?}", d.violations);
        assert!(d.idle());
    }

    #[test]
    fn the_monitor_flags_4k_crossings_long_bursts_and_wrong_wlast() {
        let mut d = Ddr::new(0, 16384, 8, DdrTiming::fixed(1));
        read(&mut d, 4096 - 8, 2);
        assert!(d.violations.iter().any(|v| v.contains("4 KiB")));
        let mut d = Ddr::new(0, 16384, 8, DdrTiming::fixed(1));
        d.max_burst_beats = 4;
        read(&mut d, 0, 5);
        assert!(d.violations.iter().any(|v| v.contains("5 beats > 4")));
        let mut d = Ddr::new(0, 16384, 8, DdrTiming::fixed(1));
        let mut m = aw_accepted(&mut d, 2);
        d.drive();
        m.wlast = true; // on beat 1 of 2
        d.observe(&m);
        assert!(d.violations.iter().any(|v| v.contains("WLAST")));
    }

    #[test]
    fn the_monitor_flags_a_payload_changed_before_ready() {
        let mut d = Ddr::new(0, 8192, 8, DdrTiming::fixed(1));
        d.timing.max_outstanding_reads = 0; // ARREADY stays low
        d.drive();
        let mut m = ar_master(64, 1);
        d.observe(&m);
        assert!(d.violations.is_empty());
        d.drive();
        m.araddr = 128;
        d.observe(&m);
        assert!(
            d.violations.iter().any(|v| v.contains("AR changed")),
            "{:?}",
            d.violations
        );
    }

    #[test]
    fn faults_answer_the_beats_that_touch_them() {
        let mut d = ddr_with_fault(1, 24, 25, RESP_SLVERR);
        let resps: Vec<u8> = read(&mut d, 0, 4).iter().map(|b| b.2).collect();
        assert_eq!(resps, vec![RESP_OKAY, RESP_OKAY, RESP_OKAY, RESP_SLVERR]);
        assert_eq!(
            d.fault_hits,
            vec![FaultHit {
                write: false,
                offset: 0,
                beats: 4,
                resp: RESP_SLVERR
            }]
        );
        assert!(d.idle());
    }

    #[test]
    fn a_refused_write_beat_is_dropped_and_its_burst_answered_with_the_error() {
        let mut d = ddr_with_fault(2, 8, 16, RESP_DECERR);
        let mut m = aw_accepted(&mut d, 2);
        let mut b = None;
        for beat in 0..2u8 {
            assert!(d.drive().wready);
            m.wdata = vec![beat + 1; 8];
            m.wlast = beat == 1;
            d.observe(&m);
        }
        m.wvalid = false;
        for _ in 0..4 {
            d.drive();
            b = b.or(d.observe(&m).b);
        }
        assert_eq!(b, Some(RESP_DECERR));
        assert_eq!(
            &d.mem[..16],
            &[1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0]
        );
        assert_eq!(d.fault_hits.len(), 1);
        assert!(d.violations.is_empty(), "{:?}", d.violations);
    }

    #[test]
    fn backpressure_stalls_the_channels_at_about_the_given_rate() {
        let mut d = Ddr::new(0, 4096, 8, DdrTiming::random(5, 1, 1));
        let ready = (0..1000).filter(|_| d.drive().awready).count();
        assert!((600..800).contains(&ready), "{ready} of 1000 cycles ready");
    }
}
