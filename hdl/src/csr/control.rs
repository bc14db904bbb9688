//! `CTRL`, `STATUS` and `IRQ_STATUS`: the registers with behaviour beyond
//! storage. Bit positions are the register table's (`regmap::ctrl`,
//! `regmap::status`, `regmap::irq_status`).
//!
//! - `CTRL`: start and soft reset are write-1 pulses one cycle long (`start`,
//!   `soft_reset`) and read 0; IRQ enable is a stored bit, written when its byte
//!   lane's strobe is set.
//! - `STATUS`: busy, error and the error code are the controller's inputs; done is
//!   set by a rising edge of `done` and cleared by a start or a soft reset.
//! - `IRQ_STATUS`: pending is set with done (a set in the same cycle as a clear
//!   wins), cleared by writing 1 or by a soft reset; `irq` = pending & enable.
//!
//! Soft reset clears only done and pending: IRQ enable keeps its value, so a driver
//! can soft-reset and restart without reprogramming it.

use super::regmap::{ctrl, irq_status, status};
use rust_hdl::prelude::*;

fn mask(bits: u32) -> Constant<Bits<32>> {
    Constant::new(u64::from(bits).into())
}

/// Where a one-bit field sits, as a shift amount.
fn at(bit_mask: u32) -> Constant<Bits<5>> {
    debug_assert_eq!(bit_mask.count_ones(), 1, "a one-bit field");
    Constant::new(u64::from(bit_mask.trailing_zeros()).into())
}

#[derive(LogicBlock)]
pub struct Control {
    pub clock: Signal<In, Clock>,
    /// Synchronous reset, active high.
    pub rst: Signal<In, Bit>,
    /// A write to `CTRL` / to `IRQ_STATUS` is performed in this cycle.
    pub ctrl_write: Signal<In, Bit>,
    pub irq_write: Signal<In, Bit>,
    /// The write's byte-strobe mask and the data under it.
    pub wmask: Signal<In, Bits<32>>,
    pub wbits: Signal<In, Bits<32>>,
    pub busy: Signal<In, Bit>,
    pub done: Signal<In, Bit>,
    pub error: Signal<In, Bit>,
    pub error_code: Signal<In, Bits<8>>,
    pub start: Signal<Out, Bit>,
    pub soft_reset: Signal<Out, Bit>,
    pub irq: Signal<Out, Bit>,
    /// What `CTRL`, `STATUS` and `IRQ_STATUS` read.
    pub ctrl_word: Signal<Out, Bits<32>>,
    pub status_word: Signal<Out, Bits<32>>,
    pub irq_word: Signal<Out, Bits<32>>,
    irq_en: DFF<Bit>,
    done_st: DFF<Bit>,
    pend: DFF<Bit>,
    done_prev: DFF<Bit>,
    start_p: DFF<Bit>,
    srst_p: DFF<Bit>,
    done_rise: Signal<Local, Bit>,
    start_mask: Constant<Bits<32>>,
    srst_mask: Constant<Bits<32>>,
    irq_en_mask: Constant<Bits<32>>,
    pend_mask: Constant<Bits<32>>,
    irq_en_at: Constant<Bits<5>>,
    busy_at: Constant<Bits<5>>,
    done_at: Constant<Bits<5>>,
    error_at: Constant<Bits<5>>,
    code_at: Constant<Bits<5>>,
    pend_at: Constant<Bits<5>>,
}

impl Default for Control {
    fn default() -> Self {
        assert_eq!(status::ERROR_CODE.width, 8, "the error_code port is 8 bits");
        Self {
            clock: Default::default(),
            rst: Default::default(),
            ctrl_write: Default::default(),
            irq_write: Default::default(),
            wmask: Default::default(),
            wbits: Default::default(),
            busy: Default::default(),
            done: Default::default(),
            error: Default::default(),
            error_code: Default::default(),
            start: Default::default(),
            soft_reset: Default::default(),
            irq: Default::default(),
            ctrl_word: Default::default(),
            status_word: Default::default(),
            irq_word: Default::default(),
            irq_en: Default::default(),
            done_st: Default::default(),
            pend: Default::default(),
            done_prev: Default::default(),
            start_p: Default::default(),
            srst_p: Default::default(),
            done_rise: Default::default(),
            start_mask: mask(ctrl::START),
            srst_mask: mask(ctrl::SOFT_RESET),
            irq_en_mask: mask(ctrl::IRQ_ENABLE),
            pend_mask: mask(irq_status::PENDING),
            irq_en_at: at(ctrl::IRQ_ENABLE),
            busy_at: at(status::BUSY),
            done_at: at(status::DONE),
            error_at: at(status::ERROR),
            code_at: Constant::new(u64::from(status::ERROR_CODE.lsb).into()),
            pend_at: at(irq_status::PENDING),
        }
    }
}

impl Logic for Control {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, irq_en, done_st, pend, done_prev, start_p, srst_p);
        self.start.next = self.start_p.q.val();
        self.soft_reset.next = self.srst_p.q.val();
        self.irq.next = self.pend.q.val() & self.irq_en.q.val();
        self.start_p.d.next = false;
        self.srst_p.d.next = false;
        self.done_prev.d.next = self.done.val();
        self.done_rise.next = self.done.val() & !self.done_prev.q.val();

        if self.ctrl_write.val() {
            self.start_p.d.next = (self.wbits.val() & self.start_mask.val()).any();
            self.srst_p.d.next = (self.wbits.val() & self.srst_mask.val()).any();
            if (self.wmask.val() & self.irq_en_mask.val()).any() {
                self.irq_en.d.next = (self.wbits.val() & self.irq_en_mask.val()).any();
            }
        }
        if self.irq_write.val() & (self.wbits.val() & self.pend_mask.val()).any() {
            self.pend.d.next = false;
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

        self.ctrl_word.next = bit_cast::<32, 1>(self.irq_en.q.val().into()) << self.irq_en_at.val();
        self.status_word.next = (bit_cast::<32, 8>(self.error_code.val()) << self.code_at.val())
            | (bit_cast::<32, 1>(self.busy.val().into()) << self.busy_at.val())
            | (bit_cast::<32, 1>(self.done_st.q.val().into()) << self.done_at.val())
            | (bit_cast::<32, 1>(self.error.val().into()) << self.error_at.val());
        self.irq_word.next = bit_cast::<32, 1>(self.pend.q.val().into()) << self.pend_at.val();

        if self.rst.val() {
            self.irq_en.d.next = false;
            self.done_st.d.next = false;
            self.pend.d.next = false;
            self.start_p.d.next = false;
            self.srst_p.d.next = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::csr::bench::{bench, check, cyc};

    /// One performed write of `value` (all strobes) to CTRL or IRQ_STATUS.
    fn write(
        sim: &mut Sim<Control>,
        mut x: Box<Control>,
        to_ctrl: bool,
        value: u32,
    ) -> Result<Box<Control>, SimError> {
        x.ctrl_write.next = to_ctrl;
        x.irq_write.next = !to_ctrl;
        x.wmask.next = 0xFFFF_FFFF.into();
        x.wbits.next = u64::from(value).into();
        x = cyc(sim, x)?;
        x.ctrl_write.next = false;
        x.irq_write.next = false;
        Ok(x)
    }

    #[test]
    fn start_is_one_pulse_and_reads_zero_irq_enable_is_kept() {
        bench(Control::default(), 10_000, |sim, mut x| {
            x = write(sim, x, true, ctrl::START | ctrl::IRQ_ENABLE)?;
            check!(sim, x, x.start.val() && !x.soft_reset.val(), "start pulse");
            check!(
                sim,
                x,
                x.ctrl_word.val().to_u32() == ctrl::IRQ_ENABLE,
                "CTRL reads enable"
            );
            x = cyc(sim, x)?;
            check!(sim, x, !x.start.val(), "one cycle");
            // Without the lane's strobe, IRQ enable keeps its value.
            x.wmask.next = 0xFFFF_FF00.into();
            x.wbits.next = 0.into();
            x.ctrl_write.next = true;
            x = cyc(sim, x)?;
            x.ctrl_write.next = false;
            check!(
                sim,
                x,
                x.ctrl_word.val().to_u32() == ctrl::IRQ_ENABLE,
                "strobe honoured"
            );
            x = write(sim, x, true, 0)?;
            check!(sim, x, x.ctrl_word.val() == 0, "enable cleared");
            Ok(x)
        });
    }

    #[test]
    fn done_sets_status_and_pending_w1c_and_soft_reset_clear() {
        bench(Control::default(), 10_000, |sim, mut x| {
            x = write(sim, x, true, ctrl::IRQ_ENABLE)?;
            x.busy.next = true;
            x = cyc(sim, x)?;
            check!(sim, x, x.status_word.val().to_u32() == status::BUSY, "busy");
            x.busy.next = false;
            x.done.next = true;
            x.error.next = true;
            x.error_code.next = 5.into();
            x = cyc(sim, x)?;
            // Done held high is one edge, not a stream of them.
            x = cyc(sim, x)?;
            x.done.next = false;
            x = cyc(sim, x)?;
            let want = status::ERROR_CODE.set(status::DONE | status::ERROR, 5);
            check!(
                sim,
                x,
                x.status_word.val().to_u32() == want,
                "status {:x}",
                x.status_word.val().to_u32()
            );
            check!(
                sim,
                x,
                x.irq.val() && x.irq_word.val().to_u32() == irq_status::PENDING,
                "irq"
            );
            // Writing 0 to IRQ_STATUS keeps the interrupt, 1 clears it.
            x = write(sim, x, false, 0)?;
            check!(sim, x, x.irq.val(), "W1C with 0");
            x = write(sim, x, false, irq_status::PENDING)?;
            check!(sim, x, !x.irq.val() && x.irq_word.val() == 0, "W1C with 1");
            // Done stays until a start; a soft reset clears done and a new pending.
            x.error.next = false;
            x.error_code.next = 0.into();
            x = cyc(sim, x)?;
            check!(
                sim,
                x,
                x.status_word.val().to_u32() == status::DONE,
                "sticky done"
            );
            x = write(sim, x, true, ctrl::START | ctrl::IRQ_ENABLE)?;
            x = cyc(sim, x)?;
            check!(sim, x, x.status_word.val() == 0, "start clears done");
            x.done.next = true;
            x = cyc(sim, x)?;
            x.done.next = false;
            x = cyc(sim, x)?;
            check!(sim, x, x.irq.val(), "pending again");
            x = write(sim, x, true, ctrl::SOFT_RESET | ctrl::IRQ_ENABLE)?;
            check!(
                sim,
                x,
                x.soft_reset.val() && !x.start.val(),
                "soft reset pulse"
            );
            x = cyc(sim, x)?;
            check!(
                sim,
                x,
                x.status_word.val() == 0 && x.irq_word.val() == 0,
                "cleared"
            );
            check!(
                sim,
                x,
                x.ctrl_word.val().to_u32() == ctrl::IRQ_ENABLE,
                "enable kept"
            );
            Ok(x)
        });
    }
}
