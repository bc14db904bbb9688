//! Test bench of the DMA (hdl/src/dma.rs) in rust-hdl's simulator, against a
//! behavioural AXI4 slave memory with seeded random ready/valid delays and read
//! latencies (bursts answered in order: one ID), random commands, and injected
//! SLVERR/DECERR.
//!
//! Checked on every transaction: INCR, full-width size, <= max_burst beats, no 4 KiB
//! crossing, the whole burst inside the window, bursts equal to the reference split,
//! read bursts in flight <= max_outstanding, VALID held with stable payload until
//! READY (AXI4 A3.2.1), WLAST exactly on the last beat. Checked per command: data
//! delivered (read) or written (write, including the tail strobes: bytes beyond the
//! command are never written), the error code and offset, refused commands issue no
//! transaction, and the engines accept the next command after an error.

mod common;

use common::{from_bits, to_bits};
use rust_hdl::prelude::*;
use spikeslice_hdl::dma::{self, Dma, DmaParams};
use std::collections::VecDeque;

use spikeslice_core::random::{rng as seeded, Draw, TestRng as Rng};

const GUARD: u64 = 8192;

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

struct RBurst {
    addr: u64,
    beats: u64,
    next: u64,
    delay: u64,
}
struct WBurst {
    addr: u64,
    beats: u64,
    got: u64,
    err: u64,
}

/// The slave memory and the DMA's stream partners.
struct Model {
    rng: Rng,
    b: u64,
    base: u64,
    size: u64,
    max_burst: u64,
    max_out: u64,
    busy_pct: u64,
    max_latency: u64,
    /// Memory covering [base - GUARD, base + size + GUARD).
    mem: Vec<u8>,
    /// (lo, hi, resp): beats whose address is in [lo, hi) answer resp.
    err: Vec<(u64, u64, u64)>,
    // Read side.
    ar_ready: bool,
    rq: VecDeque<RBurst>,
    r_valid: bool,
    r_resp: u64,
    r_last: bool,
    rd_ready: bool,
    pub ar_log: Vec<(u64, u64)>,
    pub rd_got: Vec<(Vec<u8>, bool)>,
    pub max_outst_seen: u64,
    // Write side.
    aw_ready: bool,
    w_ready: bool,
    wq: VecDeque<WBurst>,
    bq: VecDeque<(u64, u64)>,
    b_valid: bool,
    pub aw_log: Vec<(u64, u64)>,
    pub wr_beats: VecDeque<Vec<u8>>,
    wr_valid: bool,
    // Previous-cycle VALID-without-READY payloads (stability checks).
    ar_pend: Option<(u64, u64)>,
    aw_pend: Option<(u64, u64)>,
    w_pend: Option<(Vec<u8>, u64, bool)>,
    pub violations: Vec<String>,
    /// R beats answered OKAY, and bytes strobed in W beats: what the counters count.
    pub okay_r_beats: u64,
    pub w_strobed: u64,
    pub cycles: u64,
}

impl Model {
    fn in_mem(&self, a: u64) -> usize {
        (a - (self.base - GUARD)) as usize
    }
    fn err_of(&self, a: u64) -> u64 {
        self.err
            .iter()
            .find(|e| a >= e.0 && a < e.1)
            .map_or(0, |e| e.2)
    }
    fn check_burst(&mut self, what: &str, addr: u64, len: u64, size: u64, burst: u64) {
        let beats = len + 1;
        let mut bad = vec![];
        if burst != 1 {
            bad.push(format!("burst type {burst}"));
        }
        if 1 << size != self.b {
            bad.push(format!("size {size}"));
        }
        if beats > self.max_burst {
            bad.push(format!("{beats} beats > {}", self.max_burst));
        }
        if addr % 4096 + beats * self.b > 4096 {
            bad.push("crosses 4 KiB".into());
        }
        if addr < self.base || addr + beats * self.b > self.base + self.size {
            bad.push("outside the window".into());
        }
        if addr % self.b != 0 {
            bad.push("unaligned".into());
        }
        if !bad.is_empty() {
            self.violations
                .push(format!("{what} {addr:#x} x{beats}: {}", bad.join(", ")));
        }
    }

    /// Drives the slave's and the stream partners' signals for this cycle.
    fn drive<const D: usize, const S: usize>(&mut self, x: &mut Dma<D, S>) {
        let p = self.busy_pct;
        self.ar_ready = !self.rng.chance(p);
        self.aw_ready = !self.rng.chance(p);
        self.w_ready = !self.wq.is_empty() && !self.rng.chance(p);
        self.rd_ready = !self.rng.chance(p);
        if !self.r_valid {
            if let Some(f) = self.rq.front() {
                if f.delay == 0 && !self.rng.chance(p) {
                    let a = f.addr + f.next * self.b;
                    self.r_valid = true;
                    self.r_resp = self.err_of(a);
                    self.r_last = f.next + 1 == f.beats;
                    let i = self.in_mem(a);
                    x.m_axi.rdata.next = to_bits::<D>(&self.mem[i..i + self.b as usize]);
                }
            }
        }
        if !self.b_valid {
            if let Some(f) = self.bq.front() {
                if f.1 == 0 && !self.rng.chance(p) {
                    self.b_valid = true;
                }
            }
        }
        if !self.wr_valid && !self.wr_beats.is_empty() && !self.rng.chance(p) {
            self.wr_valid = true;
        }
        if let Some(w) = self.wr_beats.front() {
            x.wr_data.next = to_bits::<D>(w);
        }
        x.m_axi.arready.next = self.ar_ready;
        x.m_axi.awready.next = self.aw_ready;
        x.m_axi.wready.next = self.w_ready;
        x.m_axi.rvalid.next = self.r_valid;
        x.m_axi.rresp.next = self.r_resp.into();
        x.m_axi.rlast.next = self.r_last;
        x.m_axi.bvalid.next = self.b_valid;
        x.m_axi.bresp.next = self.bq.front().map_or(0, |f| f.0).into();
        x.rd_ready.next = self.rd_ready;
        x.wr_valid.next = self.wr_valid;
    }

    /// After the DUT's combinational outputs settled: the handshakes of this cycle.
    fn observe<const D: usize, const S: usize>(&mut self, x: &Dma<D, S>) {
        let m = &x.m_axi;
        // AR.
        let arv = m.arvalid.val();
        let ar = (m.araddr.val().to_u64(), m.arlen.val().to_u64());
        if let Some(prev) = self.ar_pend {
            if !arv || ar != prev {
                self.violations
                    .push(format!("AR dropped or changed while waiting: {prev:?}"));
            }
        }
        self.ar_pend = None;
        if arv && self.ar_ready {
            self.check_burst(
                "AR",
                ar.0,
                ar.1,
                m.arsize.val().to_u64(),
                m.arburst.val().to_u64(),
            );
            self.ar_log.push((ar.0, ar.1 + 1));
            let delay = self.rng.below(self.max_latency + 1);
            self.rq.push_back(RBurst {
                addr: ar.0,
                beats: ar.1 + 1,
                next: 0,
                delay,
            });
            self.max_outst_seen = self.max_outst_seen.max(self.rq.len() as u64);
            if self.rq.len() as u64 > self.max_out {
                self.violations.push(format!(
                    "{} read bursts in flight > {}",
                    self.rq.len(),
                    self.max_out
                ));
            }
        } else if arv {
            self.ar_pend = Some(ar);
        }
        // R.
        if self.r_valid && m.rready.val() {
            if self.r_resp == 0 {
                self.okay_r_beats += 1;
            }
            let f = self.rq.front_mut().expect("R beat without a burst");
            f.next += 1;
            if f.next == f.beats {
                self.rq.pop_front();
            }
            self.r_valid = false;
        }
        if x.rd_valid.val() && self.rd_ready {
            self.rd_got
                .push((from_bits::<D>(x.rd_data.val()), x.rd_last.val()));
        }
        // AW.
        let awv = m.awvalid.val();
        let aw = (m.awaddr.val().to_u64(), m.awlen.val().to_u64());
        if let Some(prev) = self.aw_pend {
            if !awv || aw != prev {
                self.violations
                    .push(format!("AW dropped or changed while waiting: {prev:?}"));
            }
        }
        self.aw_pend = None;
        if awv && self.aw_ready {
            self.check_burst(
                "AW",
                aw.0,
                aw.1,
                m.awsize.val().to_u64(),
                m.awburst.val().to_u64(),
            );
            self.aw_log.push((aw.0, aw.1 + 1));
            self.wq.push_back(WBurst {
                addr: aw.0,
                beats: aw.1 + 1,
                got: 0,
                err: 0,
            });
        } else if awv {
            self.aw_pend = Some(aw);
        }
        // W.
        let wv = m.wvalid.val();
        let wbeat = (
            from_bits::<D>(m.wdata.val()),
            m.wstrb.val().to_u64(),
            m.wlast.val(),
        );
        if let Some(prev) = &self.w_pend {
            if !wv || *prev != wbeat {
                self.violations
                    .push("W dropped or changed while waiting".into());
            }
        }
        self.w_pend = None;
        if wv && self.w_ready {
            let b = self.b;
            self.w_strobed += wbeat.1.count_ones() as u64;
            let f = self.wq.front_mut().expect("wready only with a burst");
            let a = f.addr + f.got * b;
            if wbeat.2 != (f.got + 1 == f.beats) {
                let msg = format!("WLAST {} on beat {} of {}", wbeat.2, f.got, f.beats);
                self.violations.push(msg);
            }
            f.got += 1;
            let done = f.got == f.beats;
            let e = self.err_of(a);
            let f = self.wq.front_mut().unwrap();
            if e != 0 && f.err == 0 {
                f.err = e;
            }
            if e == 0 {
                for k in 0..b {
                    if wbeat.1 >> k & 1 == 1 {
                        let i = self.in_mem(a + k);
                        self.mem[i] = wbeat.0[k as usize];
                    }
                }
            }
            if done {
                let f = self.wq.pop_front().unwrap();
                let d = self.rng.below(self.max_latency + 1);
                self.bq.push_back((f.err, d));
            }
        } else if wv {
            self.w_pend = Some(wbeat);
        }
        if self.wr_valid && x.wr_ready.val() {
            self.wr_beats.pop_front();
            self.wr_valid = false;
        }
        // B.
        if self.b_valid && m.bready.val() {
            self.bq.pop_front();
            self.b_valid = false;
        }
        self.cycles += 1;
        for f in self.rq.iter_mut() {
            f.delay = f.delay.saturating_sub(1);
        }
        for f in self.bq.iter_mut() {
            f.1 = f.1.saturating_sub(1);
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct Cmd {
    off: u64,
    len: u64,
}

/// What a command must end with: the error code, the error offset, and for a read the
/// number of beats delivered.
fn expect(model: &Model, c: Cmd, write: bool) -> (u64, u64, u64) {
    let b = model.b;
    let beats = c.len.div_ceil(b);
    if (model.base + c.off) % b != 0 {
        return (dma::BAD_FIELD, c.off, 0);
    }
    if c.off + beats * b > model.size {
        return (dma::OUT_OF_WINDOW, c.off, 0);
    }
    let code = |e: u64| {
        if e == 3 {
            dma::AXI_DECERR
        } else {
            dma::AXI_SLVERR
        }
    };
    if write {
        for (a, n) in split(model.base + c.off, beats, b, model.max_burst) {
            if let Some(e) = (0..n).map(|k| model.err_of(a + k * b)).find(|e| *e != 0) {
                return (code(e), a - model.base, 0);
            }
        }
    } else {
        for k in 0..beats {
            let e = model.err_of(model.base + c.off + k * b);
            if e != 0 {
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
        let mut mem = vec![0u8; (s.size + 2 * GUARD) as usize];
        mem.iter_mut().for_each(|v| *v = rng.next() as u8);
        let mut m = Model {
            rng: seeded(s.seed ^ 0xABCD),
            b,
            base: s.base,
            size: s.size,
            max_burst: s.params.max_burst as u64,
            max_out: s.params.max_outstanding as u64,
            busy_pct: s.busy_pct,
            max_latency: s.max_latency,
            mem,
            err: vec![],
            ar_ready: false,
            rq: VecDeque::new(),
            r_valid: false,
            r_resp: 0,
            r_last: false,
            rd_ready: false,
            ar_log: vec![],
            rd_got: vec![],
            max_outst_seen: 0,
            aw_ready: false,
            w_ready: false,
            wq: VecDeque::new(),
            bq: VecDeque::new(),
            b_valid: false,
            aw_log: vec![],
            wr_beats: VecDeque::new(),
            wr_valid: false,
            ar_pend: None,
            aw_pend: None,
            w_pend: None,
            violations: vec![],
            okay_r_beats: 0,
            w_strobed: 0,
            cycles: 0,
        };
        let mut reference = m.mem.clone();
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
            m.err.clear();
            if rng.chance(s.err_pct) {
                let c = if rng.chance(50) { rc } else { wc };
                let beats = c.len.div_ceil(b);
                if beats > 0 {
                    let a = s.base + c.off / b * b + rng.below(beats) * b;
                    let resp = if rng.chance(50) { 2 } else { 3 };
                    m.err.push((a, a + b, resp));
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
            x.rd_cmd_offset.next = rc.off.into();
            x.rd_cmd_len.next = rc.len.into();
            x.wr_cmd_offset.next = wc.off.into();
            x.wr_cmd_len.next = wc.len.into();
            let (mut r_sent, mut w_sent) = (false, false);
            let (mut r_res, mut w_res) = (None, None);
            let limit = 100 * (rc.len.min(1 << 20) / b + wc.len.min(1 << 20) / b + 50);
            let mut t = 0;
            while r_res.is_none() || w_res.is_none() {
                x.rd_cmd_valid.next = !r_sent;
                x.wr_cmd_valid.next = !w_sent;
                // Command ready depends on the state only: valid this cycle => accepted.
                if !r_sent && x.rd_cmd_ready.val() {
                    r_sent = true;
                }
                if !w_sent && x.wr_cmd_ready.val() {
                    w_sent = true;
                }
                x = cyc(&mut sim, x, &mut m)?;
                x.rd_cmd_valid.next = false;
                x.wr_cmd_valid.next = false;
                if x.rd_done.val() && r_sent {
                    r_res = Some((x.rd_err.val().to_u64(), x.rd_err_offset.val().to_u64()));
                }
                if x.wr_done.val() && w_sent {
                    w_res = Some((x.wr_err.val().to_u64(), x.wr_err_offset.val().to_u64()));
                    // A failed write leaves its remaining beats: the controller flushes.
                    m.wr_beats.clear();
                    m.wr_valid = false;
                }
                t += 1;
                if t > limit {
                    fail!(sim, x, "iteration {it}: hang (read {rc:?} -> {r_res:?}, write {wc:?} -> {w_res:?})");
                }
                if !m.violations.is_empty() {
                    fail!(sim, x, "iteration {it}: AXI violations: {:?}", m.violations);
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
                let a = m.in_mem(s.base + rc.off + k as u64 * b);
                if data[..] != reference[a..a + b as usize] {
                    fail!(sim, x, "iteration {it}: read {rc:?} beat {k} data differs");
                }
                if *last != (k as u64 + 1 == rb) {
                    fail!(sim, x, "iteration {it}: read {rc:?} beat {k} rd_last {last}");
                }
            }
            let refused = |c: u64| c == dma::BAD_FIELD || c == dma::OUT_OF_WINDOW;
            if refused(want_r.0) && m.ar_log.len() != ar0 {
                fail!(sim, x, "iteration {it}: refused read {rc:?} issued AR");
            }
            if want_r.0 == 0 && rb > 0 {
                let want_bursts = split(s.base + rc.off, rb, b, m.max_burst);
                if m.ar_log[ar0..] != want_bursts[..] {
                    fail!(sim, x, "iteration {it}: read bursts {:?} != split {want_bursts:?}", &m.ar_log[ar0..]);
                }
            }
            // Write: code, offset, memory.
            if w_res != (want_w.0, if want_w.0 == 0 { 0 } else { want_w.1 }) {
                fail!(sim, x, "iteration {it}: write {wc:?} ended {w_res:?}, want {want_w:?}");
            }
            if refused(want_w.0) && m.aw_log.len() != aw0 {
                fail!(sim, x, "iteration {it}: refused write {wc:?} issued AW");
            }
            if want_w.0 == 0 && wbeats > 0 {
                let want_bursts = split(s.base + wc.off, wbeats, b, m.max_burst);
                if m.aw_log[aw0..] != want_bursts[..] {
                    fail!(sim, x, "iteration {it}: write bursts {:?} != split {want_bursts:?}", &m.aw_log[aw0..]);
                }
            }
            let (lo, hi) = if refused(want_w.0) {
                (0, 0)
            } else {
                let lo = m.in_mem(s.base + wc.off);
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
                reference[lo..hi].copy_from_slice(&m.mem[lo..hi]);
            }
            if let Some(i) = (0..reference.len()).find(|i| reference[*i] != m.mem[*i]) {
                let a = (s.base - GUARD) as i64 + i as i64 - s.base as i64;
                fail!(sim, x, "iteration {it}: memory differs at window offset {a} (write {wc:?})");
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
        if rd != m.okay_r_beats * b || wr != m.w_strobed || st == 0 || st >= m.cycles {
            fail!(sim, x, "counters rd {rd} wr {wr} stall {st}: want rd {} wr {} stall in 1..{}",
                m.okay_r_beats * b, m.w_strobed, m.cycles);
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
