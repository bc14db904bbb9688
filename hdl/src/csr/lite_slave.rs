//! The AXI4-Lite slave side of the register file: the five channels, with the
//! register decode left to the parent, which answers per address whether it is
//! a register (`whit`, `rhit`) and what it reads (`rval`).
//!
//! AW and W are accepted independently, in any order, each held until both are
//! present and B is free; the write is performed in that cycle (`write`, with
//! the held address and the data under the byte strobes). One write and one read
//! are in flight at a time, and B and R are registered, so a slow master never
//! loses a response. A write or read of an address that is not a register
//! answers SLVERR (and reads 0: the parent's `rval` is 0 there).

use super::ADDR_BITS;
use crate::axi::{resp, AxiLiteSlave};
use rust_hdl::prelude::*;

/// Bytes of the AXI4-Lite data bus.
const LANES: usize = 4;

#[derive(LogicBlock)]
pub struct LiteSlave {
    pub clock: Signal<In, Clock>,
    /// Synchronous reset, active high: drops held requests and pending responses.
    pub rst: Signal<In, Bit>,
    pub s_axi: AxiLiteSlave<ADDR_BITS, 32, 4>,
    /// Address of the write (held from AW).
    pub waddr: Signal<Out, Bits<ADDR_BITS>>,
    /// The write is performed in this cycle.
    pub write: Signal<Out, Bit>,
    /// The write's byte strobes as a bit mask, and the data under it.
    pub wmask: Signal<Out, Bits<32>>,
    pub wbits: Signal<Out, Bits<32>>,
    /// `waddr` is a register.
    pub whit: Signal<In, Bit>,
    /// Address of the read requested on AR (combinational, for the decode).
    pub raddr: Signal<Out, Bits<ADDR_BITS>>,
    /// The read is accepted in this cycle (`rval` is what it returns).
    pub read: Signal<Out, Bit>,
    /// `raddr` is a register, and what it reads.
    pub rhit: Signal<In, Bit>,
    pub rval: Signal<In, Bits<32>>,
    aw_held: DFF<Bit>,
    aw_addr: DFF<Bits<ADDR_BITS>>,
    w_held: DFF<Bit>,
    w_data: DFF<Bits<32>>,
    w_strb: DFF<Bits<4>>,
    b_valid: DFF<Bit>,
    b_resp: DFF<Bits<2>>,
    r_valid: DFF<Bit>,
    r_data: DFF<Bits<32>>,
    r_resp: DFF<Bits<2>>,
    /// The mask of each byte lane whose strobe is set.
    lane: Vec<Signal<Local, Bits<32>>>,
    lane_ones: Vec<Constant<Bits<32>>>,
    okay: Constant<Bits<2>>,
    slverr: Constant<Bits<2>>,
}

impl Default for LiteSlave {
    fn default() -> Self {
        Self {
            clock: Default::default(),
            rst: Default::default(),
            s_axi: Default::default(),
            waddr: Default::default(),
            write: Default::default(),
            wmask: Default::default(),
            wbits: Default::default(),
            whit: Default::default(),
            raddr: Default::default(),
            read: Default::default(),
            rhit: Default::default(),
            rval: Default::default(),
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
            lane: (0..LANES).map(|_| Default::default()).collect(),
            lane_ones: (0..LANES)
                .map(|i| Constant::new((0xFFu64 << (8 * i)).into()))
                .collect(),
            okay: Constant::new(resp::OKAY.into()),
            slverr: Constant::new(resp::SLVERR.into()),
        }
    }
}

impl Logic for LiteSlave {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self, clock, aw_held, aw_addr, w_held, w_data, w_strb, b_valid, b_resp, r_valid,
            r_data, r_resp
        );
        self.s_axi.awready.next = !self.aw_held.q.val();
        self.s_axi.wready.next = !self.w_held.q.val();
        self.s_axi.bvalid.next = self.b_valid.q.val();
        self.s_axi.bresp.next = self.b_resp.q.val();
        self.s_axi.arready.next = !self.r_valid.q.val();
        self.s_axi.rvalid.next = self.r_valid.q.val();
        self.s_axi.rdata.next = self.r_data.q.val();
        self.s_axi.rresp.next = self.r_resp.q.val();

        // Write: address and data, each held until both are present and B is free.
        if self.s_axi.awvalid.val() & !self.aw_held.q.val() {
            self.aw_held.d.next = true;
            self.aw_addr.d.next = self.s_axi.awaddr.val();
        }
        if self.s_axi.wvalid.val() & !self.w_held.q.val() {
            self.w_held.d.next = true;
            self.w_data.d.next = self.s_axi.wdata.val();
            self.w_strb.d.next = self.s_axi.wstrb.val();
        }
        self.waddr.next = self.aw_addr.q.val();
        self.write.next = self.aw_held.q.val() & self.w_held.q.val() & !self.b_valid.q.val();
        for i in 0..4 {
            self.lane[i].next = 0.into();
            if self.w_strb.q.val().get_bit(i) {
                self.lane[i].next = self.lane_ones[i].val();
            }
        }
        self.wmask.next =
            self.lane[0].val() | self.lane[1].val() | self.lane[2].val() | self.lane[3].val();
        self.wbits.next = self.w_data.q.val() & self.wmask.val();
        if self.b_valid.q.val() & self.s_axi.bready.val() {
            self.b_valid.d.next = false;
        }
        if self.write.val() {
            self.aw_held.d.next = false;
            self.w_held.d.next = false;
            self.b_valid.d.next = true;
            self.b_resp.d.next = self.slverr.val();
            if self.whit.val() {
                self.b_resp.d.next = self.okay.val();
            }
        }

        // Read: the parent decodes the request address; data and response registered.
        self.raddr.next = self.s_axi.araddr.val();
        self.read.next = self.s_axi.arvalid.val() & !self.r_valid.q.val();
        if self.r_valid.q.val() & self.s_axi.rready.val() {
            self.r_valid.d.next = false;
        }
        if self.read.val() {
            self.r_valid.d.next = true;
            self.r_data.d.next = self.rval.val();
            self.r_resp.d.next = self.slverr.val();
            if self.rhit.val() {
                self.r_resp.d.next = self.okay.val();
            }
        }

        if self.rst.val() {
            self.aw_held.d.next = false;
            self.w_held.d.next = false;
            self.b_valid.d.next = false;
            self.r_valid.d.next = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::csr::bench::{bench, check, cyc};

    /// The parent's write decode, with one register at 0x010.
    fn decode_write(x: &mut LiteSlave) {
        x.whit.next = x.waddr.val() == 0x010;
    }

    #[test]
    fn a_write_waits_for_both_channels_and_answers_by_the_decode() {
        bench(LiteSlave::default(), 10_000, |sim, mut x| {
            // W alone: held, nothing performed, AW still ready.
            x.s_axi.wvalid.next = true;
            x.s_axi.wdata.next = 0x1122_3344.into();
            x.s_axi.wstrb.next = 0b0110.into();
            x = cyc(sim, x)?;
            x.s_axi.wvalid.next = false;
            for _ in 0..3 {
                x = cyc(sim, x)?;
                check!(sim, x, !x.write.val() && !x.s_axi.wready.val(), "W held");
                check!(sim, x, x.s_axi.awready.val(), "AW ready");
            }
            // AW arrives: the write is performed with the strobed bytes.
            x.s_axi.awvalid.next = true;
            x.s_axi.awaddr.next = 0x010.into();
            x = cyc(sim, x)?;
            x.s_axi.awvalid.next = false;
            check!(sim, x, x.write.val() && x.waddr.val() == 0x010, "write");
            check!(
                sim,
                x,
                x.wmask.val() == 0x00FF_FF00,
                "mask {:x}",
                x.wmask.val()
            );
            check!(
                sim,
                x,
                x.wbits.val() == 0x0022_3300,
                "bits {:x}",
                x.wbits.val()
            );
            // B is OKAY and stays until BREADY; no second write meanwhile.
            decode_write(&mut x);
            x = cyc(sim, x)?;
            for _ in 0..2 {
                check!(sim, x, x.s_axi.bvalid.val() && !x.write.val(), "B held");
                check!(sim, x, x.s_axi.bresp.val() == resp::OKAY, "OKAY");
                x = cyc(sim, x)?;
            }
            x.s_axi.bready.next = true;
            x = cyc(sim, x)?;
            x.s_axi.bready.next = false;
            check!(sim, x, !x.s_axi.bvalid.val(), "B taken");
            // A write elsewhere answers SLVERR.
            x.s_axi.awvalid.next = true;
            x.s_axi.wvalid.next = true;
            x.s_axi.awaddr.next = 0x014.into();
            x = cyc(sim, x)?;
            x.s_axi.awvalid.next = false;
            x.s_axi.wvalid.next = false;
            decode_write(&mut x);
            x = cyc(sim, x)?;
            check!(sim, x, x.s_axi.bvalid.val(), "B");
            check!(sim, x, x.s_axi.bresp.val() == resp::SLVERR, "SLVERR");
            Ok(x)
        });
    }

    #[test]
    fn a_read_is_registered_and_held_until_taken() {
        bench(LiteSlave::default(), 10_000, |sim, mut x| {
            for (addr, hit, data) in [(0x010u64, true, 0xCAFEu64), (0x012, false, 0)] {
                x.s_axi.arvalid.next = true;
                x.s_axi.araddr.next = addr.into();
                x.rhit.next = hit;
                x.rval.next = data.into();
                check!(sim, x, x.s_axi.arready.val(), "AR ready");
                x = cyc(sim, x)?;
                x.s_axi.arvalid.next = false;
                check!(sim, x, x.raddr.val() == addr, "raddr");
                // The decode's answer moves on; the registered one does not.
                x.rhit.next = !hit;
                x.rval.next = 0x5555.into();
                for _ in 0..3 {
                    x = cyc(sim, x)?;
                    let want = if hit { resp::OKAY } else { resp::SLVERR };
                    check!(
                        sim,
                        x,
                        x.s_axi.rvalid.val() && !x.s_axi.arready.val(),
                        "R held"
                    );
                    check!(sim, x, x.s_axi.rdata.val() == data, "rdata");
                    check!(sim, x, x.s_axi.rresp.val() == want, "rresp");
                }
                x.s_axi.rready.next = true;
                x = cyc(sim, x)?;
                x.s_axi.rready.next = false;
                check!(sim, x, !x.s_axi.rvalid.val(), "R taken");
            }
            Ok(x)
        });
    }
}
