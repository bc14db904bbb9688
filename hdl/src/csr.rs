//! The AXI4-Lite register file, generated from the register table
//! (`spikeslice_core::accel::regmap::REGISTERS`, the source of docs/register-map.md).
//!
//! The generator walks the table and gives every register an implementation by its
//! access type and name ([`CsrLayout::from_table`]); a register it cannot classify is a
//! generator error, so a register added to the table without RTL fails generation
//! instead of silently reading 0. Offsets and reset values come from the table only.
//!
//! | table entry | implementation |
//! | --- | --- |
//! | `ID`, `VERSION` (RO) | constant = the table's reset value |
//! | `CFG_*` (RO) | constant = the value from `AcceleratorConfig::config_registers()` |
//! | `CTRL` | bit 0 start, bit 1 soft reset: W1S one-cycle pulses (`start`, `soft_reset`), read 0; bit 2 IRQ enable (RW) |
//! | `STATUS` (RO) | bit 0 `busy` input; bit 1 done, set by a rising edge of `done`, cleared by a start or soft reset; bit 2 `error` input; bits 15:8 `error_code` input |
//! | `IRQ_STATUS` (W1C) | bit 0 pending, set with done (a simultaneous set wins over the clear), cleared by writing 1 or by soft reset; `irq` = pending & enable |
//! | other RW | a 32-bit register, reset from the table, byte strobes honoured, driven on `rw[i]` |
//! | `X_LO`/`X_HI` RO pairs | a 64-bit input `cnt[i]`; reading `_LO` returns bits 31:0 and latches bits 63:32, which `_HI` returns |
//! | other RO | a 32-bit input `ro[i]` |
//!
//! Bus behaviour: 12-bit byte addresses (a 4 KiB window), 32-bit data. A read or write
//! of an address that is not a register (unmapped, or not 4-byte aligned) answers
//! **SLVERR** and reads 0: a driver bug shows up as a bus error instead of a silent 0.
//! A write to a read-only register answers OKAY and changes nothing (AXI4-Lite
//! slaves commonly ignore such writes; the table already tells software not to).
//! AW and W are accepted independently, in any order; one write and one read are in
//! flight at a time (B and R are registered, so a slow master never loses a response).
//!
//! `rst` is a synchronous active-high reset (the shell top inverts ARESETN); soft reset
//! (`CTRL` bit 1) is for the controller and datapath: in this block it clears only
//! STATUS.done and the pending interrupt, the buffer registers and IRQ enable keep
//! their values so a driver can soft-reset and restart without reprogramming them.

/// The register table the register file is generated from: core's, so the RTL
/// cannot drift from the driver, the firmware and docs/register-map.md.
pub use spikeslice_core::accel::regmap;

use crate::axi::{finish_verilog, AxiLiteSlave};
use regmap::{Access, REGISTERS};
use rust_hdl::prelude::*;

/// Address bits of the register window.
pub const ADDR_BITS: usize = 12;
/// Name of the generated top module (and of its file, `spikeslice_csr.v`).
pub const TOP_NAME: &str = "spikeslice_csr";

/// A register table or configuration the generator cannot build.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CsrError {
    #[error(
        "register {0} has no implementation in the CSR generator (name/access not recognised)"
    )]
    Unclassified(&'static str),
    #[error("register {0} lies outside the 4 KiB register window or is not word aligned")]
    Offset(&'static str),
    #[error("required register {0} is missing from the table")]
    Missing(&'static str),
    #[error("counter {0} has no matching _HI register at offset + 4")]
    CounterPair(&'static str),
    #[error("configuration value for offset 0x{0:03X} does not name a CFG_* register")]
    ConfigOffset(u32),
    #[error(
        "configuration register {0} has no value (pass AcceleratorConfig::config_registers())"
    )]
    ConfigMissing(&'static str),
}

/// A 64-bit counter pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CounterPair {
    /// Name without the `_LO` suffix, e.g. `CNT_CYCLES`.
    pub name: String,
    pub lo: u32,
    pub hi: u32,
}

/// How each register of the table is implemented; indices of `rw`, `ro` and
/// `counters` are the indices of the block's `rw`, `ro` and `cnt` port vectors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsrLayout {
    /// (offset, value) of the constant registers.
    pub consts: Vec<(u32, u32)>,
    /// (name, offset, reset) of the generic read-write registers.
    pub rw: Vec<(&'static str, u32, u32)>,
    /// (name, offset) of the read-only input registers.
    pub ro: Vec<(&'static str, u32)>,
    pub counters: Vec<CounterPair>,
    pub ctrl: u32,
    pub status: u32,
    pub irq_status: u32,
}

impl CsrLayout {
    /// Classifies every register of [`REGISTERS`]; `cfg_values` are the
    /// `(offset, value)` pairs of `AcceleratorConfig::config_registers()`.
    pub fn from_table(cfg_values: &[(u32, u32)]) -> Result<Self, CsrError> {
        let table = REGISTERS;
        for (off, _) in cfg_values {
            if !table
                .iter()
                .any(|r| r.offset == *off && r.name.starts_with("CFG_"))
            {
                return Err(CsrError::ConfigOffset(*off));
            }
        }
        let mut l = CsrLayout {
            consts: vec![],
            rw: vec![],
            ro: vec![],
            counters: vec![],
            ctrl: u32::MAX,
            status: u32::MAX,
            irq_status: u32::MAX,
        };
        let is_hi_of_counter = |name: &str| {
            name.strip_suffix("_HI").is_some_and(|base| {
                table
                    .iter()
                    .any(|r| r.access == Access::Ro && r.name == format!("{base}_LO"))
            })
        };
        for r in table {
            if r.offset >= 1 << ADDR_BITS || r.offset % 4 != 0 {
                return Err(CsrError::Offset(r.name));
            }
            match (r.name, r.access) {
                ("CTRL", Access::Rw) => l.ctrl = r.offset,
                ("STATUS", Access::Ro) => l.status = r.offset,
                ("IRQ_STATUS", Access::W1c) => l.irq_status = r.offset,
                ("ID" | "VERSION", Access::Ro) => l.consts.push((r.offset, r.reset)),
                (n, Access::Ro) if n.starts_with("CFG_") => {
                    let v = cfg_values
                        .iter()
                        .find(|(o, _)| *o == r.offset)
                        .ok_or(CsrError::ConfigMissing(r.name))?;
                    l.consts.push((r.offset, v.1));
                }
                (n, Access::Ro) if n.ends_with("_LO") => {
                    let base = &n[..n.len() - 3];
                    let hi = table
                        .iter()
                        .find(|h| h.name == format!("{base}_HI"))
                        .filter(|h| h.offset == r.offset + 4 && h.access == Access::Ro)
                        .ok_or(CsrError::CounterPair(r.name))?;
                    l.counters.push(CounterPair {
                        name: base.to_string(),
                        lo: r.offset,
                        hi: hi.offset,
                    });
                }
                (n, Access::Ro) if is_hi_of_counter(n) => {} // with its _LO
                (n, Access::Ro) => l.ro.push((n, r.offset)),
                (n, Access::Rw) => l.rw.push((n, r.offset, r.reset)),
                (n, _) => return Err(CsrError::Unclassified(n)),
            }
        }
        for (name, off) in [
            ("CTRL", l.ctrl),
            ("STATUS", l.status),
            ("IRQ_STATUS", l.irq_status),
        ] {
            if off == u32::MAX {
                return Err(CsrError::Missing(name));
            }
        }
        Ok(l)
    }

    /// Index in the `rw` port vector of a read-write register.
    pub fn rw_index(&self, name: &str) -> Option<usize> {
        self.rw.iter().position(|r| r.0 == name)
    }
    /// Index in the `ro` port vector of a read-only input register.
    pub fn ro_index(&self, name: &str) -> Option<usize> {
        self.ro.iter().position(|r| r.0 == name)
    }
    /// Index in the `cnt` port vector of a counter (name without `_LO`).
    pub fn counter_index(&self, name: &str) -> Option<usize> {
        self.counters.iter().position(|c| c.name == name)
    }
}

fn n<T: Default>(k: usize) -> Vec<T> {
    (0..k).map(|_| T::default()).collect()
}
fn a12(x: u32) -> Constant<Bits<ADDR_BITS>> {
    Constant::new((x as u64).into())
}
fn c32(x: u32) -> Constant<Bits<32>> {
    Constant::new((x as u64).into())
}

/// The register file.
#[derive(LogicBlock)]
pub struct Csr {
    pub clock: Signal<In, Clock>,
    /// Synchronous reset, active high.
    pub rst: Signal<In, Bit>,
    pub s_axi: AxiLiteSlave<ADDR_BITS, 32, 4>,
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
    // Write channel.
    aw_held: DFF<Bit>,
    aw_addr: DFF<Bits<ADDR_BITS>>,
    w_held: DFF<Bit>,
    w_data: DFF<Bits<32>>,
    w_strb: DFF<Bits<4>>,
    b_valid: DFF<Bit>,
    b_resp: DFF<Bits<2>>,
    // Read channel.
    r_valid: DFF<Bit>,
    r_data: DFF<Bits<32>>,
    r_resp: DFF<Bits<2>>,
    // Registers.
    rw_q: Vec<DFF<Bits<32>>>,
    cnt_hi: Vec<DFF<Bits<32>>>,
    irq_en: DFF<Bit>,
    done_st: DFF<Bit>,
    pend: DFF<Bit>,
    done_prev: DFF<Bit>,
    start_p: DFF<Bit>,
    srst_p: DFF<Bit>,
    // Combinational.
    do_write: Signal<Local, Bit>,
    do_read: Signal<Local, Bit>,
    wmask: Signal<Local, Bits<32>>,
    wbits: Signal<Local, Bits<32>>,
    whit: Signal<Local, Bit>,
    rhit: Signal<Local, Bit>,
    rval: Signal<Local, Bits<32>>,
    status_w: Signal<Local, Bits<32>>,
    done_rise: Signal<Local, Bit>,
    m: Vec<Signal<Local, Bits<32>>>,
    // Table-derived constants.
    c_off: Vec<Constant<Bits<ADDR_BITS>>>,
    c_val: Vec<Constant<Bits<32>>>,
    rw_off: Vec<Constant<Bits<ADDR_BITS>>>,
    rw_rst: Vec<Constant<Bits<32>>>,
    ro_off: Vec<Constant<Bits<ADDR_BITS>>>,
    lo_off: Vec<Constant<Bits<ADDR_BITS>>>,
    hi_off: Vec<Constant<Bits<ADDR_BITS>>>,
    ctrl_off: Constant<Bits<ADDR_BITS>>,
    status_off: Constant<Bits<ADDR_BITS>>,
    irq_off: Constant<Bits<ADDR_BITS>>,
    byte_ff: Vec<Constant<Bits<32>>>,
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
            clock: Default::default(),
            rst: Default::default(),
            s_axi: Default::default(),
            start: Default::default(),
            soft_reset: Default::default(),
            irq: Default::default(),
            busy: Default::default(),
            done: Default::default(),
            error: Default::default(),
            error_code: Default::default(),
            rw: n(l.rw.len()),
            ro: n(l.ro.len()),
            cnt: n(l.counters.len()),
            aw_held: Default::default(),
            aw_addr: Default::default(),
            w_held: Default::default(),
            w_data: Default::default(),
            w_strb: Default::default(),
            b_valid: Default::default(),
            b_resp: Default::default(),
            r_valid: Default::default(),
            r_data: Default::default(),
            r_resp: Default::default(),
            rw_q: n(l.rw.len()),
            cnt_hi: n(l.counters.len()),
            irq_en: Default::default(),
            done_st: Default::default(),
            pend: Default::default(),
            done_prev: Default::default(),
            start_p: Default::default(),
            srst_p: Default::default(),
            do_write: Default::default(),
            do_read: Default::default(),
            wmask: Default::default(),
            wbits: Default::default(),
            whit: Default::default(),
            rhit: Default::default(),
            rval: Default::default(),
            status_w: Default::default(),
            done_rise: Default::default(),
            m: n(4),
            c_off: l.consts.iter().map(|c| a12(c.0)).collect(),
            c_val: l.consts.iter().map(|c| c32(c.1)).collect(),
            rw_off: l.rw.iter().map(|r| a12(r.1)).collect(),
            rw_rst: l.rw.iter().map(|r| c32(r.2)).collect(),
            ro_off: l.ro.iter().map(|r| a12(r.1)).collect(),
            lo_off: l.counters.iter().map(|c| a12(c.lo)).collect(),
            hi_off: l.counters.iter().map(|c| a12(c.hi)).collect(),
            ctrl_off: a12(l.ctrl),
            status_off: a12(l.status),
            irq_off: a12(l.irq_status),
            byte_ff: (0..4).map(|i| c32(0xFF << (8 * i))).collect(),
            _nc: l.consts.len(),
            _nrw: l.rw.len(),
            _nro: l.ro.len(),
            _ncnt: l.counters.len(),
        };
        Ok((csr, l))
    }
}

impl Logic for Csr {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self, clock, aw_held, aw_addr, w_held, w_data, w_strb, b_valid, b_resp, r_valid,
            r_data, r_resp, irq_en, done_st, pend, done_prev, start_p, srst_p
        );
        for i in 0..self._nrw {
            self.rw_q[i].clock.next = self.clock.val();
            self.rw_q[i].d.next = self.rw_q[i].q.val();
            self.rw[i].next = self.rw_q[i].q.val();
        }
        for i in 0..self._ncnt {
            self.cnt_hi[i].clock.next = self.clock.val();
            self.cnt_hi[i].d.next = self.cnt_hi[i].q.val();
        }
        // Outputs.
        self.s_axi.awready.next = !self.aw_held.q.val();
        self.s_axi.wready.next = !self.w_held.q.val();
        self.s_axi.bvalid.next = self.b_valid.q.val();
        self.s_axi.bresp.next = self.b_resp.q.val();
        self.s_axi.arready.next = !self.r_valid.q.val();
        self.s_axi.rvalid.next = self.r_valid.q.val();
        self.s_axi.rdata.next = self.r_data.q.val();
        self.s_axi.rresp.next = self.r_resp.q.val();
        self.start.next = self.start_p.q.val();
        self.soft_reset.next = self.srst_p.q.val();
        self.irq.next = self.pend.q.val() & self.irq_en.q.val();
        self.start_p.d.next = false;
        self.srst_p.d.next = false;
        self.done_prev.d.next = self.done.val();
        self.done_rise.next = self.done.val() & !self.done_prev.q.val();

        // Write address and data, each held until both are present and B is free.
        if self.s_axi.awvalid.val() & !self.aw_held.q.val() {
            self.aw_held.d.next = true;
            self.aw_addr.d.next = self.s_axi.awaddr.val();
        }
        if self.s_axi.wvalid.val() & !self.w_held.q.val() {
            self.w_held.d.next = true;
            self.w_data.d.next = self.s_axi.wdata.val();
            self.w_strb.d.next = self.s_axi.wstrb.val();
        }
        self.do_write.next = self.aw_held.q.val() & self.w_held.q.val() & !self.b_valid.q.val();
        for i in 0..4 {
            self.m[i].next = 0.into();
            if self.w_strb.q.val().get_bit(i) {
                self.m[i].next = self.byte_ff[i].val();
            }
        }
        self.wmask.next = self.m[0].val() | self.m[1].val() | self.m[2].val() | self.m[3].val();
        self.wbits.next = self.w_data.q.val() & self.wmask.val();
        self.whit.next = false;
        if self.b_valid.q.val() & self.s_axi.bready.val() {
            self.b_valid.d.next = false;
        }
        if self.do_write.val() {
            self.aw_held.d.next = false;
            self.w_held.d.next = false;
            self.b_valid.d.next = true;
        }
        // Read-only registers: writes are accepted (OKAY) and ignored.
        for i in 0..self._nc {
            if self.aw_addr.q.val() == self.c_off[i].val() {
                self.whit.next = true;
            }
        }
        for i in 0..self._nro {
            if self.aw_addr.q.val() == self.ro_off[i].val() {
                self.whit.next = true;
            }
        }
        for i in 0..self._ncnt {
            if (self.aw_addr.q.val() == self.lo_off[i].val())
                | (self.aw_addr.q.val() == self.hi_off[i].val())
            {
                self.whit.next = true;
            }
        }
        if self.aw_addr.q.val() == self.status_off.val() {
            self.whit.next = true;
        }
        for i in 0..self._nrw {
            if self.aw_addr.q.val() == self.rw_off[i].val() {
                self.whit.next = true;
                if self.do_write.val() {
                    self.rw_q[i].d.next =
                        (self.rw_q[i].q.val() & !self.wmask.val()) | self.wbits.val();
                }
            }
        }
        if self.aw_addr.q.val() == self.ctrl_off.val() {
            self.whit.next = true;
            if self.do_write.val() {
                self.start_p.d.next = self.wbits.val().get_bit(0);
                self.srst_p.d.next = self.wbits.val().get_bit(1);
                if self.w_strb.q.val().get_bit(0) {
                    self.irq_en.d.next = self.wbits.val().get_bit(2);
                }
            }
        }
        if (self.aw_addr.q.val() == self.irq_off.val())
            & self.do_write.val()
            & self.wbits.val().get_bit(0)
        {
            self.pend.d.next = false;
        }
        if self.aw_addr.q.val() == self.irq_off.val() {
            self.whit.next = true;
        }
        if self.do_write.val() {
            self.b_resp.d.next = 2.into(); // SLVERR
            if self.whit.val() {
                self.b_resp.d.next = 0.into(); // OKAY
            }
        }

        // Sticky status: done clears on start or soft reset; the interrupt stays
        // pending through a soft reset only if a new done arrives with it.
        if self.start_p.q.val() | self.srst_p.q.val() {
            self.done_st.d.next = false;
        }
        if self.srst_p.q.val() {
            self.pend.d.next = false;
        }
        if self.done_rise.val() {
            self.done_st.d.next = true;
            self.pend.d.next = true;
        }

        // Read: decode the request address, register data and response.
        self.do_read.next = self.s_axi.arvalid.val() & !self.r_valid.q.val();
        self.status_w.next = (bit_cast::<32, 8>(self.error_code.val()) << 8)
            .replace_bit(0, self.busy.val())
            .replace_bit(1, self.done_st.q.val())
            .replace_bit(2, self.error.val());
        self.rval.next = 0.into();
        self.rhit.next = false;
        for i in 0..self._nc {
            if self.s_axi.araddr.val() == self.c_off[i].val() {
                self.rval.next = self.c_val[i].val();
                self.rhit.next = true;
            }
        }
        for i in 0..self._nrw {
            if self.s_axi.araddr.val() == self.rw_off[i].val() {
                self.rval.next = self.rw_q[i].q.val();
                self.rhit.next = true;
            }
        }
        for i in 0..self._nro {
            if self.s_axi.araddr.val() == self.ro_off[i].val() {
                self.rval.next = self.ro[i].val();
                self.rhit.next = true;
            }
        }
        for i in 0..self._ncnt {
            if self.s_axi.araddr.val() == self.lo_off[i].val() {
                self.rval.next = self.cnt[i].val().get_bits::<32>(0);
                self.rhit.next = true;
                if self.do_read.val() {
                    self.cnt_hi[i].d.next = self.cnt[i].val().get_bits::<32>(32);
                }
            }
            if self.s_axi.araddr.val() == self.hi_off[i].val() {
                self.rval.next = self.cnt_hi[i].q.val();
                self.rhit.next = true;
            }
        }
        if self.s_axi.araddr.val() == self.ctrl_off.val() {
            self.rval.next = bit_cast::<32, 1>(self.irq_en.q.val().into()) << 2;
            self.rhit.next = true;
        }
        if self.s_axi.araddr.val() == self.status_off.val() {
            self.rval.next = self.status_w.val();
            self.rhit.next = true;
        }
        if self.s_axi.araddr.val() == self.irq_off.val() {
            self.rval.next = bit_cast::<32, 1>(self.pend.q.val().into());
            self.rhit.next = true;
        }
        if self.r_valid.q.val() & self.s_axi.rready.val() {
            self.r_valid.d.next = false;
        }
        if self.do_read.val() {
            self.r_valid.d.next = true;
            self.r_data.d.next = self.rval.val();
            self.r_resp.d.next = 2.into(); // SLVERR
            if self.rhit.val() {
                self.r_resp.d.next = 0.into(); // OKAY
            }
        }

        if self.rst.val() {
            self.aw_held.d.next = false;
            self.w_held.d.next = false;
            self.b_valid.d.next = false;
            self.r_valid.d.next = false;
            self.irq_en.d.next = false;
            self.done_st.d.next = false;
            self.pend.d.next = false;
            self.start_p.d.next = false;
            self.srst_p.d.next = false;
            for i in 0..self._nrw {
                self.rw_q[i].d.next = self.rw_rst[i].val();
            }
            for i in 0..self._ncnt {
                self.cnt_hi[i].d.next = 0.into();
            }
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
    use super::regmap::*;
    use super::*;
    use std::collections::VecDeque;

    use spikeslice_core::random::{rng as seeded, Draw, TestRng as Rng};

    const CFG: &[(u32, u32)] = &[
        (CFG_ARRAY, 0x0004_0010),
        (CFG_WIDTHS, 0x0088_2018),
        (CFG_AXI, 0x0000_1010),
        (CFG_WBUF_BYTES, 256 * 1024),
        (CFG_ABUF_BYTES, 128 * 1024),
        (CFG_OBUF_BYTES, 64 * 1024),
    ];

    #[derive(Clone, Copy, Debug)]
    enum Op {
        W(u32, u32, u8),
        R(u32),
    }

    /// What a batch of transactions returned: (resp, rdata) per op, and the pulses seen.
    #[derive(Default, Debug)]
    struct Outcome {
        res: Vec<(u64, u32)>,
        starts: usize,
        soft_resets: usize,
    }

    fn cyc(sim: &mut Sim<Csr>, mut x: Box<Csr>) -> Result<Box<Csr>, SimError> {
        wait_clock_cycle!(sim, clock, x);
        Ok(x)
    }

    /// An AXI4-Lite master with random valid delays and random bready/rready. Writes
    /// pipeline (the next AW/W may go while a B is outstanding), reads pipeline, and a
    /// read waits for all earlier B (and a write for all earlier R) so results are
    /// those of program order. Valid, once raised, stays up until the handshake
    /// (AXI4 A3.2.1).
    fn run(
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

    /// Runs `tb` on a fresh register file held in reset for two cycles.
    /// A test bench body: gets the register file out of reset, returns it.
    type Tb = fn(&mut Sim<Csr>, Box<Csr>) -> Result<Box<Csr>, SimError>;

    fn bench(tb: Tb) {
        let (mut uut, _) = Csr::new(CFG).unwrap();
        uut.connect_all();
        let mut sim = Simulation::new();
        sim.add_clock(5, |x: &mut Box<Csr>| x.clock.next = !x.clock.val());
        sim.add_testbench(move |mut sim: Sim<Csr>| {
            let mut x = sim.init()?;
            x.rst.next = true;
            x = cyc(&mut sim, x)?;
            x = cyc(&mut sim, x)?;
            x.rst.next = false;
            x = tb(&mut sim, x)?;
            sim.done(x)
        });
        sim.run(Box::new(uut), 2_000_000).unwrap();
    }

    macro_rules! check {
        ($sim:ident, $x:ident, $cond:expr, $($msg:tt)+) => {
            if !$cond {
                println!($($msg)+);
                return Err($sim.halt($x).unwrap_err());
            }
        };
    }

    fn expected_reset(r: &Register) -> u32 {
        CFG.iter()
            .find(|c| c.0 == r.offset)
            .map_or(r.reset, |c| c.1)
    }

    #[test]
    fn layout_covers_the_table() {
        let l = CsrLayout::from_table(CFG).unwrap();
        let n = l.consts.len() + l.rw.len() + l.ro.len() + 2 * l.counters.len() + 3;
        assert_eq!(
            n,
            REGISTERS.len(),
            "every register implemented exactly once"
        );
        assert_eq!(l.counters.len(), 8);
        assert!(l.rw_index("BUF_SIZE").is_some() && l.ro_index("ERR_OFFSET").is_some());
        // A missing CFG value or a value for a non-CFG offset is a generator error.
        assert_eq!(
            CsrLayout::from_table(&CFG[1..]),
            Err(CsrError::ConfigMissing("CFG_ARRAY"))
        );
        assert_eq!(
            CsrLayout::from_table(&[(CTRL, 1)]),
            Err(CsrError::ConfigOffset(CTRL))
        );
    }

    #[test]
    fn csr_reset_values_and_access_types() {
        bench(|sim, mut x| {
            let mut rng = seeded(0x1234_5678);
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
        bench(|sim, mut x| {
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
            let want = status::DONE | status::ERROR | (5 << 8);
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
                o.res[2].1 == 0 && o.res[3].1 == 0 && o.res[4].1 == 0xABCD && o.res[5].1 == 4,
                "after soft reset: {:?}",
                o.res
            );
            Ok(x)
        });
    }

    #[test]
    fn csr_counter_lo_latches_hi() {
        bench(|sim, mut x| {
            let mut rng = seeded(7);
            let l = CsrLayout::from_table(CFG).unwrap();
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
        bench(|sim, mut x| {
            let mut rng = seeded(0xC5_2026);
            let l = CsrLayout::from_table(CFG).unwrap();
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
