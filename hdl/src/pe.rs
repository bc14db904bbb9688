//! Processing element: a multiplexer and an accumulator (BB paper App. B: "the binary
//! input controls the multiplexer to determine whether the accumulator adds the current
//! weight"). No multiplier: one binary spike slice bit x^(j)_k selects whether the
//! decoded weight `W[o][k]` is added, so `P_j[o] = sum_k x^(j)_k ? W[o][k] : 0`.
//!
//! Weights arrive already decoded to 8-bit two's complement (the column decoder in
//! [`crate::array`] turns b_w-bit codes, including b_w = 1 -> +-1, into values), and are
//! sign-extended here to the accumulator width.
//!
//! Output-stationary: the PE keeps its accumulator and passes the weight down (one
//! register), gated by the array-wide `en` (a stall freezes the whole wavefront, so
//! results never depend on stalls). The slice bit is not passed on: a row's bit
//! reaches all of the row's PEs at once ([`crate::array`]). The accumulator is read
//! where it stands, by its column's row multiplexer: a PE has no drain path.
//!
//! A chunk's first beat comes with `fst`, which travels with the row's slice bit:
//! the step that brings it starts the sum afresh (`acc <= x ? w : 0`). The row is
//! read in that same cycle, before the edge, so the next chunk's beats follow the
//! last ones without a gap while the drain reads the rows as they complete.

use rust_hdl::prelude::*;

/// Width of a decoded weight (two's complement; b_w <= 8 and +-1 both fit).
pub const W_BITS: usize = 8;

#[derive(LogicBlock)]
pub struct Pe<const ACC: usize> {
    pub clock: Signal<In, Clock>,
    /// Advance the systolic wavefront by one step.
    pub en: Signal<In, Bit>,
    /// This step's beat is its chunk's first: the sum starts from 0.
    pub fst: Signal<In, Bit>,
    pub w_in: Signal<In, Bits<W_BITS>>,
    pub x_in: Signal<In, Bit>,
    pub w_out: Signal<Out, Bits<W_BITS>>,
    pub acc_out: Signal<Out, Bits<ACC>>,
    w: DFF<Bits<W_BITS>>,
    acc: DFF<Bits<ACC>>,
    /// What the step adds to: the accumulator, or 0 at a chunk's first beat.
    base: Signal<Local, Bits<ACC>>,
    /// What the step adds.
    operand: Signal<Local, Bits<ACC>>,
    /// Ones above bit 7: OR-ing it in sign-extends a negative weight (rust-hdl has no
    /// sign-extension operator on `Bits`; this maps to plain wiring after synthesis).
    sext: Constant<Bits<ACC>>,
}

impl<const ACC: usize> Default for Pe<ACC> {
    fn default() -> Self {
        let ones: Bits<ACC> = !Bits::<ACC>::default();
        Self {
            clock: Default::default(),
            en: Default::default(),
            fst: Default::default(),
            w_in: Default::default(),
            x_in: Default::default(),
            w_out: Default::default(),
            acc_out: Default::default(),
            w: Default::default(),
            acc: Default::default(),
            base: Default::default(),
            operand: Default::default(),
            sext: Constant::new(ones << W_BITS as u64),
        }
    }
}

impl<const ACC: usize> Logic for Pe<ACC> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, w, acc);
        self.w_out.next = self.w.q.val();
        self.acc_out.next = self.acc.q.val();
        self.base.next = self.acc.q.val();
        if self.fst.val() {
            self.base.next = 0.into();
        }
        // The mux: the weight, sign-extended, only when the slice bit is 1. One
        // adder takes both operands, so each bit is one LUT before the carry.
        self.operand.next = 0.into();
        if self.x_in.val() {
            self.operand.next = bit_cast::<ACC, W_BITS>(self.w_in.val());
            if self.w_in.val().get_bit(7) {
                self.operand.next = bit_cast::<ACC, W_BITS>(self.w_in.val()) | self.sext.val();
            }
        }
        if self.en.val() {
            self.w.d.next = self.w_in.val();
            self.acc.d.next = self.base.val() + self.operand.val();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Uut = Pe<24>;

    fn to_acc(v: i64) -> i64 {
        // Interpret a 24-bit register as signed.
        (v << 40) >> 40
    }

    #[test]
    fn pe_mux_accumulates_and_starts_afresh_at_a_first_beat() {
        let (mut sim, uut) = clocked_simulation!(Uut::default(), Uut);
        sim.add_testbench(move |mut sim: Sim<Uut>| {
            let mut x = sim.init()?;
            // Two chunks of (first, bit, weight): -3 + 7 + (-128) = -124 (the 5 is
            // masked by its bit 0), then 9 from a first beat, which drops the -124.
            let chunks: [[(bool, bool, i8); 4]; 2] = [
                [
                    (true, true, -3),
                    (false, false, 5),
                    (false, true, 7),
                    (false, true, -128),
                ],
                [
                    (true, true, 9),
                    (false, false, 4),
                    (false, false, 1),
                    (false, false, -2),
                ],
            ];
            for (chunk, want) in chunks.iter().zip([-124, 9]) {
                for &(first, b, w) in chunk {
                    x.en.next = true;
                    x.fst.next = first;
                    x.x_in.next = b;
                    x.w_in.next = (w as u8 as u64).into();
                    wait_clock_cycle!(sim, clock, x);
                    // A stalled cycle must not change anything, a first beat's flag
                    // included.
                    x.en.next = false;
                    x.fst.next = true;
                    x.x_in.next = true;
                    x.w_in.next = 1.into();
                    wait_clock_cycle!(sim, clock, x);
                    sim_assert_eq!(sim, x.w_out.val(), w as u8 as u64, x);
                }
                sim_assert_eq!(sim, to_acc(x.acc_out.val().to_u64() as i64), want, x);
            }
            sim.done(x)
        });
        sim.run(Box::new(uut), 1_000).unwrap();
    }
}
