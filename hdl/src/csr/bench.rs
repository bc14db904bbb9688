//! The test kit of the register file's benches: a clock and a reset for any
//! of its blocks, a `check!` that stops the simulation with a message, and an
//! AXI4-Lite master for the whole register file.

use super::{Control, CounterLatch, Csr, LiteSlave, RwRegister};
use rust_hdl::prelude::*;
use spikeslice_core::random::{Draw, TestRng as Rng};
use std::collections::VecDeque;

/// A block with a clock and a synchronous active-high reset.
pub trait Clocked: Block + Send + 'static {
    fn clock_high(&self) -> bool;
    fn clock_signal(&mut self) -> &mut Signal<In, Clock>;
    fn reset_signal(&mut self) -> &mut Signal<In, Bit>;
}

macro_rules! clocked {
    ($($block:ty),+) => {$(
        impl Clocked for $block {
            fn clock_high(&self) -> bool {
                self.clock.val().clk
            }
            fn clock_signal(&mut self) -> &mut Signal<In, Clock> {
                &mut self.clock
            }
            fn reset_signal(&mut self) -> &mut Signal<In, Bit> {
                &mut self.rst
            }
        }
    )+};
}
clocked!(Csr, LiteSlave, Control, CounterLatch, RwRegister);

/// Stops the bench with a message when `cond` does not hold.
macro_rules! check {
    ($sim:ident, $x:ident, $cond:expr, $($msg:tt)+) => {
        if !$cond {
            println!($($msg)+);
            return Err($sim.halt($x).unwrap_err());
        }
    };
}
pub(crate) use check;

/// Waits for the next rising edge and the falling one after it: the block's
/// outputs are then those of the edge, and inputs set now count at the next.
pub fn cyc<T: Clocked>(sim: &mut Sim<T>, x: Box<T>) -> Result<Box<T>, SimError> {
    let x = sim.watch(|x| x.clock_high(), x)?;
    sim.watch(|x| !x.clock_high(), x)
}

/// A bench body: gets the block out of reset, returns it.
pub type Tb<T> = fn(&mut Sim<T>, Box<T>) -> Result<Box<T>, SimError>;

/// Runs `tb` on `uut` held in reset for two cycles, for at most `max_time`.
pub fn bench<T: Clocked>(mut uut: T, max_time: u64, tb: Tb<T>) {
    uut.connect_all();
    let mut sim = Simulation::new();
    sim.add_clock(5, |x: &mut Box<T>| {
        let c = x.clock_signal();
        c.next = !c.val();
    });
    sim.add_testbench(move |mut sim: Sim<T>| {
        let mut x = sim.init()?;
        x.reset_signal().next = true;
        x = cyc(&mut sim, x)?;
        x = cyc(&mut sim, x)?;
        x.reset_signal().next = false;
        x = tb(&mut sim, x)?;
        sim.done(x)
    });
    sim.run(Box::new(uut), max_time).unwrap();
}

#[derive(Clone, Copy, Debug)]
pub enum Op {
    W(u32, u32, u8),
    R(u32),
}

/// What a batch of transactions returned: (resp, rdata) per op, and the pulses seen.
#[derive(Default, Debug)]
pub struct Outcome {
    pub res: Vec<(u64, u32)>,
    pub starts: usize,
    pub soft_resets: usize,
}

/// An AXI4-Lite master with random valid delays and random bready/rready. Writes
/// pipeline (the next AW/W may go while a B is outstanding), reads pipeline, and a
/// read waits for all earlier B (and a write for all earlier R) so results are
/// those of program order. Valid, once raised, stays up until the handshake
/// (AXI4 A3.2.1).
pub fn run(
    sim: &mut Sim<Csr>,
    mut x: Box<Csr>,
    ops: &[Op],
    rng: &mut Rng,
    busy_pct: u64,
) -> Result<(Box<Csr>, Outcome), SimError> {
    let mut out = Outcome {
        res: vec![(u64::MAX, 0); ops.len()],
        ..Default::default()
    };
    let mut next = 0;
    // (op index, delay before valid) of the address/data phases in progress.
    let mut aw: Option<(usize, u64)> = None;
    let mut w: Option<(usize, u64)> = None;
    let mut ar: Option<(usize, u64)> = None;
    let mut wait_b: VecDeque<usize> = VecDeque::new();
    let mut wait_r: VecDeque<usize> = VecDeque::new();
    let mut done = 0;
    let mut guard = 0;
    let d = |rng: &mut Rng| {
        if rng.chance(busy_pct) {
            rng.below(4)
        } else {
            0
        }
    };
    while done < ops.len() {
        guard += 1;
        if guard > 200 * (ops.len() + 10) {
            println!("CSR master timed out: {done} of {} done", ops.len());
            return Err(sim.halt(x).unwrap_err());
        }
        // Start the next op when its turn has come.
        if aw.is_none() && w.is_none() && ar.is_none() && next < ops.len() {
            match ops[next] {
                Op::W(..) if wait_r.is_empty() => {
                    aw = Some((next, d(rng)));
                    w = Some((next, d(rng)));
                    wait_b.push_back(next);
                    next += 1;
                }
                Op::R(_) if wait_b.is_empty() => {
                    ar = Some((next, d(rng)));
                    wait_r.push_back(next);
                    next += 1;
                }
                _ => {}
            }
        }
        // Drive this cycle's inputs.
        let awv = matches!(aw, Some((_, 0)));
        let wv = matches!(w, Some((_, 0)));
        let arv = matches!(ar, Some((_, 0)));
        let bready = !rng.chance(busy_pct);
        let rready = !rng.chance(busy_pct);
        x.s_axi.awvalid.next = awv;
        x.s_axi.wvalid.next = wv;
        x.s_axi.arvalid.next = arv;
        x.s_axi.bready.next = bready;
        x.s_axi.rready.next = rready;
        if let Some((i, _)) = aw {
            if let Op::W(a, _, _) = ops[i] {
                x.s_axi.awaddr.next = (a as u64).into();
            }
        }
        if let Some((i, _)) = w {
            if let Op::W(_, v, s) = ops[i] {
                x.s_axi.wdata.next = (v as u64).into();
                x.s_axi.wstrb.next = (s as u64).into();
            }
        }
        if let Some((i, _)) = ar {
            if let Op::R(a) = ops[i] {
                x.s_axi.araddr.next = (a as u64).into();
            }
        }
        // The slave's outputs are registered: they are this cycle's values.
        if x.start.val() {
            out.starts += 1;
        }
        if x.soft_reset.val() {
            out.soft_resets += 1;
        }
        if awv && x.s_axi.awready.val() {
            aw = None;
        }
        if wv && x.s_axi.wready.val() {
            w = None;
        }
        if arv && x.s_axi.arready.val() {
            ar = None;
        }
        if bready && x.s_axi.bvalid.val() {
            let Some(i) = wait_b.pop_front() else {
                println!("B without a write");
                return Err(sim.halt(x).unwrap_err());
            };
            out.res[i] = (x.s_axi.bresp.val().to_u64(), 0);
            done += 1;
        }
        if rready && x.s_axi.rvalid.val() {
            let Some(i) = wait_r.pop_front() else {
                println!("R without a read");
                return Err(sim.halt(x).unwrap_err());
            };
            out.res[i] = (x.s_axi.rresp.val().to_u64(), x.s_axi.rdata.val().to_u32());
            done += 1;
        }
        for p in [&mut aw, &mut w, &mut ar].into_iter().flatten() {
            p.1 = p.1.saturating_sub(1);
        }
        x = cyc(sim, x)?;
    }
    x.s_axi.awvalid.next = false;
    x.s_axi.wvalid.next = false;
    x.s_axi.arvalid.next = false;
    Ok((x, out))
}
