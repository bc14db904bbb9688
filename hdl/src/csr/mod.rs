//! The AXI4-Lite register file, generated from the register table
//! (`spikeslice_core::accel::regmap::REGISTERS`, the source of docs/register-map.md).
//!
//! The generator walks the table and gives every register an implementation by its
//! access type and name ([`CsrLayout::from_table`]); offsets, reset values and bit
//! positions come from the table only. The blocks, each with its test bench:
//!
//! | table entry | block |
//! | --- | --- |
//! | every register | [`LiteSlave`]: the AXI4-Lite channels; the decode below answers per address |
//! | `ID`, `VERSION` (RO) | a constant = the table's reset value |
//! | `CFG_*` (RO) | a constant = the value from `AcceleratorConfig::config_registers()` |
//! | `CTRL`, `STATUS`, `IRQ_STATUS` | [`Control`]: start and soft-reset pulses, IRQ enable, sticky done, the W1C pending interrupt, `irq` |
//! | other RW | [`RwRegister`]: 32 bits, reset from the table, byte strobes honoured, driven on `rw[i]` |
//! | `X_LO`/`X_HI` RO pairs | [`CounterLatch`]: a 64-bit input `cnt[i]`; reading `_LO` returns bits 31:0 and latches bits 63:32, which `_HI` returns |
//! | other RO | a 32-bit input `ro[i]` |
//!
//! Bus behaviour: 12-bit byte addresses (a 4 KiB window), 32-bit data. A read or write
//! of an address that is not a register (unmapped, or not 4-byte aligned) answers
//! **SLVERR** and reads 0: a driver bug shows up as a bus error instead of a silent 0.
//! A write to a read-only register answers OKAY and changes nothing (AXI4-Lite
//! slaves commonly ignore such writes; the table already tells software not to).
//!
//! `rst` is a synchronous active-high reset (the shell top inverts ARESETN); soft reset
//! (`CTRL` bit 1) is for the controller and datapath: in this block it clears only
//! STATUS.done and the pending interrupt, the buffer registers and IRQ enable keep
//! their values so a driver can soft-reset and restart without reprogramming them.

/// The register table the register file is generated from: core's, so the RTL
/// cannot drift from the driver, the firmware and docs/register-map.md.
pub use spikeslice_core::accel::regmap;

mod control;
mod counter_latch;
mod layout;
mod lite_slave;
mod rw_register;

#[cfg(test)]
mod bench;

pub use control::Control;
pub use counter_latch::CounterLatch;
pub use layout::{CounterPair, CsrError, CsrLayout};
pub use lite_slave::LiteSlave;
pub use rw_register::RwRegister;

use crate::axi::{finish_verilog, AxiLiteSlave};
use crate::param::Param;
use regmap::REGISTERS;
use rust_hdl::prelude::*;

/// Address bits of the register window.
pub const ADDR_BITS: usize = 12;
/// Name of the generated top module (and of its file, `spikeslice_csr.v`).
pub const TOP_NAME: &str = "spikeslice_csr";

type LiteBus = AxiLiteSlave<ADDR_BITS, 32, 4>;

fn several<T: Default>(k: usize) -> Vec<T> {
    (0..k).map(|_| T::default()).collect()
}

fn addr(x: u32) -> Param<Bits<ADDR_BITS>> {
    Param::new(u64::from(x).into())
}

/// The register file.
#[derive(LogicBlock, Default)]
pub struct Csr {
    pub clock: Signal<In, Clock>,
    /// Synchronous reset, active high.
    pub rst: Signal<In, Bit>,
    pub s_axi: LiteBus,
    /// One-cycle pulse: software wrote 1 to CTRL.start.
    pub start: Signal<Out, Bit>,
    /// One-cycle pulse: software wrote 1 to CTRL.soft_reset.
    pub soft_reset: Signal<Out, Bit>,
    /// Interrupt request (level): pending & enabled.
    pub irq: Signal<Out, Bit>,
    pub busy: Signal<In, Bit>,
    /// Run finished (a rising edge sets STATUS.done and the pending interrupt).
    pub done: Signal<In, Bit>,
    pub error: Signal<In, Bit>,
    pub error_code: Signal<In, Bits<8>>,
    /// The read-write registers, in [`CsrLayout::rw`] order.
    pub rw: Vec<Signal<Out, Bits<32>>>,
    /// The read-only inputs, in [`CsrLayout::ro`] order.
    pub ro: Vec<Signal<In, Bits<32>>>,
    /// The 64-bit counters, in [`CsrLayout::counters`] order.
    pub cnt: Vec<Signal<In, Bits<64>>>,
    bus: LiteSlave,
    control: Control,
    regs: Vec<RwRegister>,
    counters: Vec<CounterLatch>,
    // Table-derived addresses and values.
    reg_off: Vec<Param<Bits<ADDR_BITS>>>,
    c_off: Vec<Param<Bits<ADDR_BITS>>>,
    c_val: Vec<Param<Bits<32>>>,
    rw_off: Vec<Param<Bits<ADDR_BITS>>>,
    ro_off: Vec<Param<Bits<ADDR_BITS>>>,
    lo_off: Vec<Param<Bits<ADDR_BITS>>>,
    hi_off: Vec<Param<Bits<ADDR_BITS>>>,
    ctrl_off: Param<Bits<ADDR_BITS>>,
    status_off: Param<Bits<ADDR_BITS>>,
    irq_off: Param<Bits<ADDR_BITS>>,
    _nreg: usize,
    _nc: usize,
    _nrw: usize,
    _nro: usize,
    _ncnt: usize,
}

impl Csr {
    /// The register file for `cfg_values` (`AcceleratorConfig::config_registers()`).
    pub fn new(cfg_values: &[(u32, u32)]) -> Result<(Self, CsrLayout), CsrError> {
        let l = CsrLayout::from_table(cfg_values)?;
        let csr = Csr {
            rw: several(l.rw.len()),
            ro: several(l.ro.len()),
            cnt: several(l.counters.len()),
            bus: LiteSlave::default(),
            control: Control::default(),
            regs: l.rw.iter().map(|r| RwRegister::new(r.2)).collect(),
            counters: several(l.counters.len()),
            reg_off: REGISTERS.iter().map(|r| addr(r.offset)).collect(),
            c_off: l.consts.iter().map(|c| addr(c.0)).collect(),
            c_val: l
                .consts
                .iter()
                .map(|c| Param::new(u64::from(c.1).into()))
                .collect(),
            rw_off: l.rw.iter().map(|r| addr(r.1)).collect(),
            ro_off: l.ro.iter().map(|r| addr(r.1)).collect(),
            lo_off: l.counters.iter().map(|c| addr(c.lo)).collect(),
            hi_off: l.counters.iter().map(|c| addr(c.hi)).collect(),
            ctrl_off: addr(l.ctrl),
            status_off: addr(l.status),
            irq_off: addr(l.irq_status),
            _nreg: REGISTERS.len(),
            _nc: l.consts.len(),
            _nrw: l.rw.len(),
            _nro: l.ro.len(),
            _ncnt: l.counters.len(),
            ..Default::default()
        };
        Ok((csr, l))
    }
}

impl Logic for Csr {
    #[hdl_gen]
    fn update(&mut self) {
        self.bus.clock.next = self.clock.val();
        self.bus.rst.next = self.rst.val();
        self.control.clock.next = self.clock.val();
        self.control.rst.next = self.rst.val();
        LiteBus::link(&mut self.s_axi, &mut self.bus.s_axi);
        self.start.next = self.control.start.val();
        self.soft_reset.next = self.control.soft_reset.val();
        self.irq.next = self.control.irq.val();
        self.control.busy.next = self.busy.val();
        self.control.done.next = self.done.val();
        self.control.error.next = self.error.val();
        self.control.error_code.next = self.error_code.val();

        // Write decode: every register answers OKAY; only RW registers, CTRL and
        // IRQ_STATUS change.
        self.bus.whit.next = false;
        for i in 0..self._nreg {
            if self.bus.waddr.val() == self.reg_off[i].val() {
                self.bus.whit.next = true;
            }
        }
        self.control.ctrl_write.next =
            self.bus.write.val() & (self.bus.waddr.val() == self.ctrl_off.val());
        self.control.irq_write.next =
            self.bus.write.val() & (self.bus.waddr.val() == self.irq_off.val());
        self.control.wmask.next = self.bus.wmask.val();
        self.control.wbits.next = self.bus.wbits.val();
        for i in 0..self._nrw {
            self.regs[i].clock.next = self.clock.val();
            self.regs[i].rst.next = self.rst.val();
            self.regs[i].write.next =
                self.bus.write.val() & (self.bus.waddr.val() == self.rw_off[i].val());
            self.regs[i].wmask.next = self.bus.wmask.val();
            self.regs[i].wbits.next = self.bus.wbits.val();
            self.rw[i].next = self.regs[i].value.val();
        }

        // Read decode: what the requested address reads (0 where nothing is mapped).
        self.bus.rval.next = 0.into();
        self.bus.rhit.next = false;
        for i in 0..self._nreg {
            if self.bus.raddr.val() == self.reg_off[i].val() {
                self.bus.rhit.next = true;
            }
        }
        for i in 0..self._nc {
            if self.bus.raddr.val() == self.c_off[i].val() {
                self.bus.rval.next = self.c_val[i].val();
            }
        }
        for i in 0..self._nrw {
            if self.bus.raddr.val() == self.rw_off[i].val() {
                self.bus.rval.next = self.regs[i].value.val();
            }
        }
        for i in 0..self._nro {
            if self.bus.raddr.val() == self.ro_off[i].val() {
                self.bus.rval.next = self.ro[i].val();
            }
        }
        for i in 0..self._ncnt {
            self.counters[i].clock.next = self.clock.val();
            self.counters[i].rst.next = self.rst.val();
            self.counters[i].count.next = self.cnt[i].val();
            self.counters[i].latch.next =
                self.bus.read.val() & (self.bus.raddr.val() == self.lo_off[i].val());
            if self.bus.raddr.val() == self.lo_off[i].val() {
                self.bus.rval.next = self.counters[i].lo.val();
            }
            if self.bus.raddr.val() == self.hi_off[i].val() {
                self.bus.rval.next = self.counters[i].hi.val();
            }
        }
        if self.bus.raddr.val() == self.ctrl_off.val() {
            self.bus.rval.next = self.control.ctrl_word.val();
        }
        if self.bus.raddr.val() == self.status_off.val() {
            self.bus.rval.next = self.control.status_word.val();
        }
        if self.bus.raddr.val() == self.irq_off.val() {
            self.bus.rval.next = self.control.irq_word.val();
        }
    }
}

/// The Verilog of the register file (top module [`TOP_NAME`], lint waivers applied).
pub fn verilog(cfg_values: &[(u32, u32)]) -> Result<String, CsrError> {
    let (mut uut, _) = Csr::new(cfg_values)?;
    uut.connect_all();
    Ok(finish_verilog(
        &generate_verilog(&uut),
        TOP_NAME,
        "AXI4-Lite register file from core/src/accel/regmap.rs",
    ))
}

#[cfg(test)]
mod tests {
    use super::bench::{bench, check, cyc, run, Op};
    use super::regmap::*;
    use super::*;
    use spikeslice_core::accel::AcceleratorConfig;
    use spikeslice_core::random::{rng as seeded, Draw};

    /// The default accelerator's configuration registers.
    fn cfg() -> Vec<(u32, u32)> {
        AcceleratorConfig::default().config_registers()
    }

    fn layout() -> CsrLayout {
        CsrLayout::from_table(&cfg()).unwrap()
    }

    fn csr_bench(tb: bench::Tb<Csr>) {
        bench(Csr::new(&cfg()).unwrap().0, 2_000_000, tb);
    }

    #[test]
    fn csr_reset_values_and_access_types() {
        csr_bench(|sim, mut x| {
            let mut rng = seeded(0x1234_5678);
            let l = layout();
            let expected_reset = |r: &Register| l.reset_value(r);
            // Every register's reset value, from the table (CFG_* from the config).
            let ops: Vec<Op> = REGISTERS.iter().map(|r| Op::R(r.offset)).collect();
            let o;
            (x, o) = run(sim, x, &ops, &mut rng, 30)?;
            for (r, (resp, v)) in REGISTERS.iter().zip(&o.res) {
                check!(sim, x, *resp == 0, "{} read resp {resp}", r.name);
                check!(
                    sim,
                    x,
                    *v == expected_reset(r),
                    "{} resets to {v:#x}, table says {:#x}",
                    r.name,
                    expected_reset(r)
                );
            }
            // Access types: write all ones, read back.
            for r in REGISTERS {
                let o;
                (x, o) = run(
                    sim,
                    x,
                    &[Op::W(r.offset, 0xFFFF_FFFF, 0xF), Op::R(r.offset)],
                    &mut rng,
                    30,
                )?;
                check!(sim, x, o.res[0].0 == 0, "{} write resp", r.name);
                let got = o.res[1].1;
                let want = match (r.access, r.name) {
                    (Access::Ro, _) => expected_reset(r),
                    (Access::Rw, "CTRL") => ctrl::IRQ_ENABLE,
                    (Access::Rw, _) => 0xFFFF_FFFF,
                    (Access::W1s | Access::W1c, _) => 0,
                };
                check!(
                    sim,
                    x,
                    got == want,
                    "{} ({}) read {got:#x} after writing ones, want {want:#x}",
                    r.name,
                    r.access.as_str()
                );
                if r.name == "CTRL" {
                    check!(
                        sim,
                        x,
                        o.starts == 1 && o.soft_resets == 1,
                        "CTRL ones: {} start and {} soft-reset pulses",
                        o.starts,
                        o.soft_resets
                    );
                }
            }
            // Byte strobes on a RW register.
            let o;
            (x, o) = run(
                sim,
                x,
                &[
                    Op::W(BUF_SIZE, 0, 0xF),
                    Op::W(BUF_SIZE, 0x1122_3344, 0b0101),
                    Op::R(BUF_SIZE),
                ],
                &mut rng,
                30,
            )?;
            check!(
                sim,
                x,
                o.res[2].1 == 0x0022_0044,
                "strobes: {:#x}",
                o.res[2].1
            );
            // Unmapped and unaligned addresses: SLVERR, read 0, no side effect.
            let o;
            (x, o) = run(
                sim,
                x,
                &[
                    Op::R(0x0F0),
                    Op::R(BUF_SIZE + 2),
                    Op::R(0xFFC),
                    Op::W(0x0F0, 0xFFFF_FFFF, 0xF),
                    Op::W(BUF_SIZE + 1, 0xFFFF_FFFF, 0xF),
                    Op::R(BUF_SIZE),
                ],
                &mut rng,
                30,
            )?;
            for i in 0..5 {
                check!(
                    sim,
                    x,
                    o.res[i] == (2, 0),
                    "unmapped op {i}: {:?}",
                    o.res[i]
                );
            }
            check!(
                sim,
                x,
                o.res[5] == (0, 0x0022_0044),
                "unmapped write had an effect"
            );
            Ok(x)
        });
    }

    #[test]
    fn csr_ctrl_status_irq_semantics() {
        csr_bench(|sim, mut x| {
            let mut rng = seeded(99);
            let o;
            (x, o) = run(
                sim,
                x,
                &[Op::W(CTRL, ctrl::START, 0xF), Op::R(CTRL)],
                &mut rng,
                0,
            )?;
            check!(
                sim,
                x,
                o.starts == 1 && o.soft_resets == 0,
                "one start pulse"
            );
            check!(sim, x, o.res[1].1 == 0, "start reads back 0 (W1S)");
            // Busy then done: STATUS follows, done is sticky, the interrupt pends but
            // irq stays low while disabled.
            x.busy.next = true;
            x = cyc(sim, x)?;
            let o;
            (x, o) = run(sim, x, &[Op::R(STATUS)], &mut rng, 0)?;
            check!(
                sim,
                x,
                o.res[0].1 == status::BUSY,
                "busy: {:#x}",
                o.res[0].1
            );
            x.busy.next = false;
            x.done.next = true;
            x.error.next = true;
            x.error_code.next = 5.into();
            x = cyc(sim, x)?;
            x.done.next = false;
            x = cyc(sim, x)?;
            x = cyc(sim, x)?;
            check!(sim, x, !x.irq.val(), "irq while disabled");
            let o;
            (x, o) = run(sim, x, &[Op::R(STATUS), Op::R(IRQ_STATUS)], &mut rng, 0)?;
            let want = status::ERROR_CODE.set(status::DONE | status::ERROR, 5);
            check!(
                sim,
                x,
                o.res[0].1 == want,
                "status {:#x} want {want:#x}",
                o.res[0].1
            );
            check!(sim, x, o.res[1].1 == 1, "irq pending");
            // Enable: irq rises. Writing 0 to IRQ_STATUS keeps it, 1 clears it (W1C).
            (x, _) = run(sim, x, &[Op::W(CTRL, ctrl::IRQ_ENABLE, 0xF)], &mut rng, 0)?;
            x = cyc(sim, x)?;
            check!(sim, x, x.irq.val(), "irq enabled and pending");
            (x, _) = run(sim, x, &[Op::W(IRQ_STATUS, 0, 0xF)], &mut rng, 0)?;
            x = cyc(sim, x)?;
            check!(sim, x, x.irq.val(), "W1C with 0 cleared the interrupt");
            (x, _) = run(sim, x, &[Op::W(IRQ_STATUS, 1, 0xF)], &mut rng, 0)?;
            x = cyc(sim, x)?;
            check!(
                sim,
                x,
                !x.irq.val(),
                "W1C with 1 did not clear the interrupt"
            );
            // Done stays sticky while inputs go low; the next start clears it.
            x.error.next = false;
            x.error_code.next = 0.into();
            let o;
            (x, o) = run(sim, x, &[Op::R(STATUS)], &mut rng, 0)?;
            check!(
                sim,
                x,
                o.res[0].1 == status::DONE,
                "sticky done {:#x}",
                o.res[0].1
            );
            let o;
            (x, o) = run(
                sim,
                x,
                &[
                    Op::W(CTRL, ctrl::START | ctrl::IRQ_ENABLE, 0xF),
                    Op::R(STATUS),
                    Op::R(CTRL),
                ],
                &mut rng,
                0,
            )?;
            check!(
                sim,
                x,
                o.res[1].1 == 0,
                "start clears done: {:#x}",
                o.res[1].1
            );
            check!(sim, x, o.res[2].1 == ctrl::IRQ_ENABLE, "irq enable kept");
            // Soft reset clears done and a pending interrupt, keeps BUF_* and enable.
            x.done.next = true;
            x = cyc(sim, x)?;
            x.done.next = false;
            let o;
            (x, o) = run(
                sim,
                x,
                &[
                    Op::W(BUF_SIZE, 0xABCD, 0xF),
                    Op::W(CTRL, ctrl::SOFT_RESET | ctrl::IRQ_ENABLE, 0xF),
                    Op::R(STATUS),
                    Op::R(IRQ_STATUS),
                    Op::R(BUF_SIZE),
                    Op::R(CTRL),
                ],
                &mut rng,
                0,
            )?;
            check!(
                sim,
                x,
                o.soft_resets == 1 && o.starts == 0,
                "soft reset pulse"
            );
            check!(
                sim,
                x,
                o.res[2].1 == 0
                    && o.res[3].1 == 0
                    && o.res[4].1 == 0xABCD
                    && o.res[5].1 == ctrl::IRQ_ENABLE,
                "after soft reset: {:?}",
                o.res
            );
            Ok(x)
        });
    }

    #[test]
    fn csr_counter_lo_latches_hi() {
        csr_bench(|sim, mut x| {
            let mut rng = seeded(7);
            let l = layout();
            for (i, c) in l.counters.iter().enumerate() {
                x.cnt[i].next = (0x0000_0001_0000_0005u64 + ((i as u64) << 40)).into();
                let o;
                (x, o) = run(sim, x, &[Op::R(c.lo)], &mut rng, 20)?;
                check!(sim, x, o.res[0].1 == 5, "{} LO {:#x}", c.name, o.res[0].1);
                // The counter moves on; HI still returns the word latched with LO.
                x.cnt[i].next = (0x0000_0002_0000_0007u64 + ((i as u64) << 40)).into();
                let o;
                (x, o) = run(
                    sim,
                    x,
                    &[Op::R(c.hi), Op::R(c.lo), Op::R(c.hi)],
                    &mut rng,
                    20,
                )?;
                let want_old = 1 + ((i as u32) << 8);
                let want_new = 2 + ((i as u32) << 8);
                check!(
                    sim,
                    x,
                    o.res[0].1 == want_old && o.res[1].1 == 7 && o.res[2].1 == want_new,
                    "{}: {:?}",
                    c.name,
                    o.res
                );
            }
            Ok(x)
        });
    }

    #[test]
    fn csr_random_back_to_back_against_a_model() {
        csr_bench(|sim, mut x| {
            let mut rng = seeded(0xC5_2026);
            let l = layout();
            for (i, _) in l.ro.iter().enumerate() {
                x.ro[i].next = (0x1000 + i as u64).into();
            }
            let mut model: Vec<u32> = l.rw.iter().map(|r| r.2).collect();
            for round in 0..20 {
                let mut ops = vec![];
                let mut want = vec![];
                for _ in 0..30 {
                    let k = rng.below(l.rw.len() as u64) as usize;
                    match rng.below(4) {
                        0 | 1 => {
                            let v = rng.next() as u32;
                            let s = rng.below(16) as u8;
                            let mut m = 0u32;
                            for b in 0..4 {
                                if s & (1 << b) != 0 {
                                    m |= 0xFF << (8 * b);
                                }
                            }
                            model[k] = (model[k] & !m) | (v & m);
                            ops.push(Op::W(l.rw[k].1, v, s));
                            want.push((0, 0));
                        }
                        2 => {
                            ops.push(Op::R(l.rw[k].1));
                            want.push((0, model[k]));
                        }
                        _ => {
                            let j = rng.below(l.ro.len() as u64) as usize;
                            ops.push(Op::R(l.ro[j].1));
                            want.push((0, 0x1000 + j as u32));
                        }
                    }
                }
                let o;
                (x, o) = run(sim, x, &ops, &mut rng, 50)?;
                for (i, (got, w)) in o.res.iter().zip(&want).enumerate() {
                    check!(
                        sim,
                        x,
                        got == w,
                        "round {round} op {i} {:?}: {got:?} != {w:?}",
                        ops[i]
                    );
                }
                // The outputs carry the registers.
                for (k, v) in model.iter().enumerate() {
                    check!(sim, x, x.rw[k].val().to_u32() == *v, "rw[{k}] output");
                }
            }
            Ok(x)
        });
    }
}
