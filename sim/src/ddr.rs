//! A DDR model behind the shell's AXI4 master: a byte memory for one window
//! `[base, base + len)`, the five AXI4 channels with seeded random latency and
//! valid/ready backpressure, several outstanding read bursts (one ID: answered in
//! order), SLVERR/DECERR injection, and a bus monitor.
//!
//! Per clock cycle the harness calls [`Ddr::drive`] (what the slave puts on its
//! outputs this cycle, decided from its state only, never from the master's outputs
//! of the same cycle, so there is no combinational path through the model), sets
//! those on the ports, evaluates the design, reads the master's outputs and calls
//! [`Ddr::observe`] with them (handshakes happen where valid and ready are both high),
//! then clocks.
//!
//! Timing with [`DdrTiming::fixed`] is exactly that of the slave of
//! `hdl/tests/shell.rs`, for which `controller::cycle_estimate` is exact: the first R
//! beat of a burst `L` cycles after its AR handshake, then one beat per cycle; a write
//! burst's B `L` cycles after its last W beat; AR/AW always ready, W ready whenever
//! an AW has been accepted.
//!
//! The monitor checks what a protocol checker on the master port would (AXI4, ARM IHI
//! 0022): INCR bursts only, AxSIZE = the bus width, at most 256 beats, no burst
//! crossing a 4 KiB boundary, beat-aligned addresses, every byte of a burst inside
//! the window (the shell's guarantee, docs/shell.md), WLAST exactly on the last beat,
//! and AR/AW/W payloads held stable while valid waits for ready. Violations are
//! collected (the harness turns them into an error) rather than panicking, so a test
//! reports all of them with the cycle they happened in.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::VecDeque;

/// AXI response codes (AxRESP).
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
    /// beat is offered. 1.0 = no backpressure.
    pub p_ready: f64,
    /// Read bursts the slave accepts before it holds ARREADY low.
    pub max_outstanding_reads: usize,
}

impl DdrTiming {
    /// Fixed latency, no backpressure: the timing `cycle_estimate` is exact for.
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
}

impl Default for DdrTiming {
    /// The cycle model's default latency (`DmaTiming::default`: ~200 ns to DDR4
    /// through an HP port at 200 MHz), fixed, without backpressure.
    fn default() -> Self {
        DdrTiming::fixed(spikeslice_core::accel::cycles::DmaTiming::default().latency)
    }
}

/// An injected fault: every burst whose bytes touch a window offset in `[lo, hi)`
/// is answered with `resp` (reads: on every beat of the burst; writes: on its B,
/// and the burst's data is dropped).
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
    pub resp: u8,
}

/// What the slave drives in one cycle.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SlaveOut {
    pub arready: bool,
    pub awready: bool,
    pub wready: bool,
    pub rvalid: bool,
    /// The beat's bytes (`beat_bytes` of them; zeros when not valid).
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

#[derive(Debug, Clone)]
struct ReadBurst {
    addr: u64,
    beats: u64,
    next: u64,
    delay: u64,
    resp: u8,
}

#[derive(Debug, Clone)]
struct WriteBurst {
    addr: u64,
    beats: u64,
    got: u64,
    resp: u8,
}

/// The memory and its AXI4 slave port.
pub struct Ddr {
    pub base: u64,
    pub mem: Vec<u8>,
    pub beat_bytes: usize,
    pub timing: DdrTiming,
    pub faults: Vec<Fault>,
    /// Bursts answered with an error, in order.
    pub fault_hits: Vec<FaultHit>,
    /// Protocol violations seen by the monitor (with the cycle).
    pub violations: Vec<String>,
    /// Cycles observed.
    pub cycles: u64,
    /// Beats moved, for statistics.
    pub read_beats: u64,
    pub write_beats: u64,
    rng: ChaCha8Rng,
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
            faults: vec![],
            fault_hits: vec![],
            violations: vec![],
            cycles: 0,
            read_beats: 0,
            write_beats: 0,
            rng: ChaCha8Rng::seed_from_u64(timing.seed),
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
        self.rng = ChaCha8Rng::seed_from_u64(timing.seed);
    }

    /// Whether no burst is in flight.
    pub fn idle(&self) -> bool {
        self.rq.is_empty() && self.wq.is_empty() && self.bq.is_empty()
    }

    fn chance(&mut self) -> bool {
        let p = self.timing.p_ready;
        p >= 1.0 || self.rng.gen_bool(p.max(0.0))
    }

    fn latency(&mut self) -> u64 {
        let (lo, hi) = (self.timing.latency_min, self.timing.latency_max);
        if hi <= lo {
            lo
        } else {
            self.rng.gen_range(lo..=hi)
        }
    }

    /// The response for a burst covering `[addr, addr + bytes)`.
    fn fault_of(&self, addr: u64, bytes: u64) -> u8 {
        let (lo, hi) = (
            addr.wrapping_sub(self.base),
            addr.wrapping_sub(self.base) + bytes,
        );
        self.faults
            .iter()
            .find(|f| f.lo < hi && lo < f.hi)
            .map_or(RESP_OKAY, |f| f.resp)
    }

    fn in_window(&self, addr: u64, bytes: u64) -> bool {
        addr >= self.base && addr - self.base + bytes <= self.mem.len() as u64
    }

    /// This cycle's slave outputs.
    pub fn drive(&mut self) -> &SlaveOut {
        let max_rd = self.timing.max_outstanding_reads;
        let can_ar = self.rq.len() < max_rd;
        self.out.arready = can_ar && self.chance();
        self.out.awready = self.chance();
        self.out.wready = !self.wq.is_empty() && self.chance();
        if !self.out.rvalid {
            let due = matches!(self.rq.front(), Some(f) if f.delay == 0);
            if due && self.chance() {
                let f = self.rq.front().expect("due burst");
                let a = f.addr + f.next * self.beat_bytes as u64;
                self.out.rresp = f.resp;
                self.out.rlast = f.next + 1 == f.beats;
                let b = self.beat_bytes;
                if self.in_window(a, b as u64) {
                    let i = (a - self.base) as usize;
                    self.out.rdata.copy_from_slice(&self.mem[i..i + b]);
                } else {
                    self.out.rdata.iter_mut().for_each(|x| *x = 0);
                }
                self.out.rvalid = true;
            }
        }
        if !self.out.bvalid {
            let due = matches!(self.bq.front(), Some(f) if f.1 == 0);
            if due && self.chance() {
                self.out.bresp = self.bq.front().expect("due response").0;
                self.out.bvalid = true;
            }
        }
        &self.out
    }

    fn check_burst(&mut self, what: &str, addr: u64, len: u64, size: u64, burst: u64) -> u64 {
        let c = self.cycles;
        let b = self.beat_bytes as u64;
        let beats = len + 1;
        if burst != BURST_INCR {
            self.violations.push(format!(
                "cycle {c}: {what} {addr:#x}: burst type {burst}, not INCR"
            ));
        }
        if 1u64 << size != b {
            self.violations.push(format!(
                "cycle {c}: {what} {addr:#x}: AxSIZE {size} ({} bytes) on a {b}-byte bus",
                1u64 << size
            ));
        }
        if beats > 256 {
            self.violations
                .push(format!("cycle {c}: {what} {addr:#x}: {beats} beats > 256"));
        }
        if addr % b != 0 {
            self.violations.push(format!(
                "cycle {c}: {what} {addr:#x}: not aligned to the {b}-byte beat"
            ));
        }
        if addr % 4096 + beats * b > 4096 {
            self.violations.push(format!(
                "cycle {c}: {what} {addr:#x} x{beats}: crosses a 4 KiB boundary"
            ));
        }
        if !self.in_window(addr, beats * b) {
            self.violations.push(format!(
                "cycle {c}: {what} {addr:#x} x{beats}: outside the window [{:#x}, {:#x})",
                self.base,
                self.base + self.mem.len() as u64
            ));
        }
        beats
    }

    /// The master's outputs of this cycle (after the design settled with this cycle's
    /// slave outputs): performs the handshakes and advances one cycle.
    pub fn observe(&mut self, m: &MasterOut) {
        let c = self.cycles;
        let b = self.beat_bytes as u64;
        // Stability of payloads that waited (AXI4 A3.2.1: once valid is asserted it
        // stays asserted, with the same payload, until the handshake).
        let ar = (m.araddr, m.arlen, m.arsize, m.arburst);
        if let Some(p) = self.ar_pending.take() {
            if !m.arvalid || p != ar {
                self.violations
                    .push(format!("cycle {c}: AR changed or dropped before ARREADY"));
            }
        }
        let aw = (m.awaddr, m.awlen, m.awsize, m.awburst);
        if let Some(p) = self.aw_pending.take() {
            if !m.awvalid || p != aw {
                self.violations
                    .push(format!("cycle {c}: AW changed or dropped before AWREADY"));
            }
        }
        if let Some(p) = self.w_pending.take() {
            if !m.wvalid || p.0 != m.wdata || p.1 != m.wstrb || p.2 != m.wlast {
                self.violations
                    .push(format!("cycle {c}: W changed or dropped before WREADY"));
            }
        }
        if m.arvalid {
            if self.out.arready {
                let beats = self.check_burst("AR", m.araddr, m.arlen, m.arsize, m.arburst);
                let resp = self.fault_of(m.araddr, beats * b);
                let resp = if self.in_window(m.araddr, beats * b) {
                    resp
                } else {
                    RESP_DECERR
                };
                if resp != RESP_OKAY {
                    self.fault_hits.push(FaultHit {
                        write: false,
                        offset: m.araddr.wrapping_sub(self.base),
                        beats,
                        resp,
                    });
                }
                let delay = self.latency();
                self.rq.push_back(ReadBurst {
                    addr: m.araddr,
                    beats,
                    next: 0,
                    delay,
                    resp,
                });
            } else {
                self.ar_pending = Some(ar);
            }
        }
        if self.out.rvalid && m.rready {
            let f = self.rq.front_mut().expect("a burst is being answered");
            f.next += 1;
            if f.next == f.beats {
                self.rq.pop_front();
            }
            self.out.rvalid = false;
            self.read_beats += 1;
        }
        if m.awvalid {
            if self.out.awready {
                let beats = self.check_burst("AW", m.awaddr, m.awlen, m.awsize, m.awburst);
                let resp = self.fault_of(m.awaddr, beats * b);
                let resp = if self.in_window(m.awaddr, beats * b) {
                    resp
                } else {
                    RESP_DECERR
                };
                if resp != RESP_OKAY {
                    self.fault_hits.push(FaultHit {
                        write: true,
                        offset: m.awaddr.wrapping_sub(self.base),
                        beats,
                        resp,
                    });
                }
                self.wq.push_back(WriteBurst {
                    addr: m.awaddr,
                    beats,
                    got: 0,
                    resp,
                });
            } else {
                self.aw_pending = Some(aw);
            }
        }
        if m.wvalid {
            if self.out.wready {
                let f = self
                    .wq
                    .front()
                    .expect("W accepted only after an AW")
                    .clone();
                let a = f.addr + f.got * b;
                if m.wlast != (f.got + 1 == f.beats) {
                    self.violations.push(format!(
                        "cycle {c}: WLAST {} on beat {} of a {}-beat burst at {:#x}",
                        m.wlast,
                        f.got + 1,
                        f.beats,
                        f.addr
                    ));
                }
                if f.resp == RESP_OKAY && self.in_window(a, b) {
                    let i = (a - self.base) as usize;
                    for k in 0..b as usize {
                        if m.wstrb >> k & 1 == 1 {
                            self.mem[i + k] = m.wdata[k];
                        }
                    }
                }
                self.write_beats += 1;
                let f = self.wq.front_mut().expect("checked above");
                f.got += 1;
                if f.got == f.beats {
                    let f = self.wq.pop_front().expect("checked above");
                    let delay = self.latency();
                    self.bq.push_back((f.resp, delay));
                }
            } else {
                self.w_pending = Some((m.wdata.clone(), m.wstrb, m.wlast));
            }
        }
        if self.out.bvalid && m.bready {
            self.bq.pop_front();
            self.out.bvalid = false;
        }
        for f in self.rq.iter_mut() {
            f.delay = f.delay.saturating_sub(1);
        }
        for f in self.bq.iter_mut() {
            f.1 = f.1.saturating_sub(1);
        }
        self.cycles += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn idle_master() -> MasterOut {
        MasterOut {
            wdata: vec![0; 8],
            ..Default::default()
        }
    }

    #[test]
    fn a_read_burst_arrives_after_the_latency_one_beat_per_cycle() {
        let mut d = Ddr::new(0x1000, 4096, 8, DdrTiming::fixed(3));
        for (i, x) in d.mem.iter_mut().enumerate() {
            *x = i as u8;
        }
        d.drive();
        let mut m = idle_master();
        m.arvalid = true;
        m.araddr = 0x1010;
        m.arlen = 1;
        m.arsize = 3;
        m.arburst = 1;
        m.rready = true;
        d.observe(&m);
        m.arvalid = false;
        let mut beats = vec![];
        for cycle in 1..8 {
            let o = d.drive().clone();
            if o.rvalid {
                beats.push((cycle, o.rdata.clone(), o.rlast));
            }
            d.observe(&m);
        }
        assert_eq!(beats.len(), 2);
        assert_eq!(beats[0].0, 3, "first beat L cycles after the AR handshake");
        assert_eq!(beats[1].0, 4);
        assert_eq!(beats[0].1, (0x10..0x18).collect::<Vec<u8>>());
        assert!(!beats[0].2 && beats[1].2);
        assert!(d.violations.is_empty(), "{:?}", d.violations);
    }

    #[test]
    fn the_monitor_flags_4k_crossings_and_wrong_wlast() {
        let mut d = Ddr::new(0, 16384, 8, DdrTiming::fixed(1));
        d.drive();
        let mut m = idle_master();
        m.arvalid = true;
        m.araddr = 4096 - 8;
        m.arlen = 1;
        m.arsize = 3;
        m.arburst = 1;
        d.observe(&m);
        assert!(d.violations.iter().any(|v| v.contains("4 KiB")));
        let mut d = Ddr::new(0, 16384, 8, DdrTiming::fixed(1));
        d.drive();
        let mut m = idle_master();
        m.awvalid = true;
        m.awlen = 1;
        m.awsize = 3;
        m.awburst = 1;
        d.observe(&m);
        m.awvalid = false;
        d.drive();
        m.wvalid = true;
        m.wstrb = 0xFF;
        m.wlast = true; // on beat 1 of 2
        d.observe(&m);
        assert!(d.violations.iter().any(|v| v.contains("WLAST")));
    }

    #[test]
    fn the_monitor_flags_a_payload_changed_before_ready() {
        let mut d = Ddr::new(0, 8192, 8, DdrTiming::fixed(1));
        d.timing.max_outstanding_reads = 0; // ARREADY stays low
        d.drive();
        let mut m = idle_master();
        m.arvalid = true;
        m.araddr = 64;
        m.arsize = 3;
        m.arburst = 1;
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
    fn faults_answer_the_whole_burst() {
        let mut d = Ddr::new(0, 8192, 8, DdrTiming::fixed(1));
        d.faults.push(Fault {
            lo: 24,
            hi: 25,
            resp: RESP_SLVERR,
        });
        d.drive();
        let mut m = idle_master();
        m.arvalid = true;
        m.arlen = 3;
        m.arsize = 3;
        m.arburst = 1;
        m.rready = true;
        d.observe(&m);
        m.arvalid = false;
        let mut resps = vec![];
        for _ in 0..6 {
            let o = d.drive().clone();
            if o.rvalid {
                resps.push(o.rresp);
            }
            d.observe(&m);
        }
        assert_eq!(resps, vec![RESP_SLVERR; 4]);
        assert_eq!(d.fault_hits.len(), 1);
        assert!(d.idle());
    }
}
