//! The controller's sequential multiplier / divider: the descriptor's size
//! arithmetic (region sizes, tile and plane geometry, `O / G`) runs through
//! it, one 64-step shift-add product or restoring division at a time
//! (`MATH_ITERS` cycles each, `spikeslice_core::accel::cycles`), so the controller needs no wide
//! combinational multiplier or divider for numbers it computes once per
//! layer.
//!
//! `load` latches the operands (and clears the accumulator); each `step`
//! performs one iteration; `last` is high during the 64th. After it,
//! `product` holds `a * b` (mod 2^64) or, for a division, the remainder,
//! and `quotient` holds `a / b`.

use rust_hdl::prelude::*;

#[derive(LogicBlock, Default)]
pub struct MulDiv {
    pub clock: Signal<In, Clock>,
    /// Latch `a`, `b` and `div`, and restart.
    pub load: Signal<In, Bit>,
    pub a: Signal<In, Bits<64>>,
    pub b: Signal<In, Bits<64>>,
    /// Divide (`a / b`) rather than multiply.
    pub div: Signal<In, Bit>,
    /// Perform one iteration.
    pub step: Signal<In, Bit>,
    /// This step is the last (the 64th) of the operation.
    pub last: Signal<Out, Bit>,
    /// The product, or the division's remainder.
    pub product: Signal<Out, Bits<64>>,
    /// The division's quotient.
    pub quotient: Signal<Out, Bits<64>>,
    /// Multiplicand (shifted left), or dividend becoming the quotient.
    shifted: DFF<Bits<64>>,
    /// Multiplier (shifted right), or divisor.
    operand: DFF<Bits<64>>,
    /// Partial product, or partial remainder.
    acc: DFF<Bits<64>>,
    count: DFF<Bits<7>>,
    dividing: DFF<Bit>,
    /// The remainder with the dividend's next bit shifted in.
    rem: Signal<Local, Bits<64>>,
}

impl Logic for MulDiv {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, shifted, operand, acc, count, dividing);
        self.rem.next = self.acc.q.val() << 1;
        if self.shifted.q.val().get_bit(63) {
            self.rem.next = (self.acc.q.val() << 1) | 1;
        }
        self.last.next = self.count.q.val() == 63;
        self.product.next = self.acc.q.val();
        self.quotient.next = self.shifted.q.val();
        if self.load.val() {
            self.shifted.d.next = self.a.val();
            self.operand.d.next = self.b.val();
            self.dividing.d.next = self.div.val();
            self.acc.d.next = 0.into();
            self.count.d.next = 0.into();
        } else if self.step.val() {
            self.count.d.next = self.count.q.val() + 1;
            if self.dividing.q.val() {
                // Restoring division: the quotient shifts into `shifted`.
                self.shifted.d.next = self.shifted.q.val() << 1;
                self.acc.d.next = self.rem.val();
                if self.rem.val() >= self.operand.q.val() {
                    self.acc.d.next = self.rem.val() - self.operand.q.val();
                    self.shifted.d.next = (self.shifted.q.val() << 1) | 1;
                }
            } else {
                if self.operand.q.val().get_bit(0) {
                    self.acc.d.next = self.acc.q.val() + self.shifted.q.val();
                }
                self.shifted.d.next = self.shifted.q.val() << 1;
                self.operand.d.next = self.operand.q.val() >> 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use spikeslice_core::accel::cycles::MATH_ITERS;
    use spikeslice_core::random::{rng, Draw};

    /// Random products and quotients of operands below 2^32 (what the
    /// controller feeds it), and the edge cases, against Rust's arithmetic;
    /// `last` is high on exactly the 64th step.
    #[test]
    fn muldiv_multiplies_and_divides_in_64_steps() {
        let (mut sim, uut) = clocked_simulation!(MulDiv::default(), MulDiv);
        sim.add_testbench(move |mut sim: Sim<MulDiv>| {
            let mut x = sim.init()?;
            let mut r = rng(0x3D1F);
            let mut cases = vec![(0u64, 7u64, false), (0xFFFF_FFFF, 0xFFFF_FFFF, false)];
            cases.extend([(0, 3, true), (0xFFFF_FFFF, 1, true), (12, 12, true)]);
            for _ in 0..60 {
                let div = r.chance(50);
                let a = r.next() >> r.below(64).max(32);
                let b = (r.next() >> r.below(64).max(32)).max(u64::from(div));
                cases.push((a, b, div));
            }
            for (a, b, div) in cases {
                x.load.next = true;
                x.a.next = a.into();
                x.b.next = b.into();
                x.div.next = div;
                wait_clock_cycle!(sim, clock, x);
                x.load.next = false;
                x.step.next = true;
                for i in 0..MATH_ITERS {
                    sim_assert_eq!(sim, x.last.val(), i + 1 == MATH_ITERS, x);
                    wait_clock_cycle!(sim, clock, x);
                }
                x.step.next = false;
                if div {
                    sim_assert_eq!(sim, x.quotient.val().to_u64(), a / b, x);
                    sim_assert_eq!(sim, x.product.val().to_u64(), a % b, x);
                } else {
                    sim_assert_eq!(sim, x.product.val().to_u64(), a.wrapping_mul(b), x);
                }
            }
            sim.done(x)
        });
        sim.run(Box::new(uut), 1_000_000).unwrap();
    }
}
