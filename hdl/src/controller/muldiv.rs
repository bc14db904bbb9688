//! The controller's multiplier / divider: the descriptor's size arithmetic
//! (region sizes, tile and plane geometry, `O / G`) runs through it, one
//! operation at a time, so the controller needs no wide combinational
//! multiplier or divider for numbers it computes once per layer.
//!
//! A product of two operands below 2^32 (the controller saturates them) is
//! four 16 x 16-bit partial products through one multiplier, a DSP slice on
//! the FPGA, accumulated at their weights 2^0, 2^16, 2^16 and 2^32
//! (`MUL_ITERS` steps). A quotient of a dividend below 2^33 (the controller's
//! are) is a restoring division of `DIV_ITERS` = 33 steps, one per quotient
//! bit: the dividend enters shifted to the top of the 64-bit register. Both
//! counts are `spikeslice_core::accel::cycles`', whose cycle formula they
//! enter.
//!
//! `load` latches the operands (and clears the accumulator); each `step`
//! performs one iteration; `last` is high during the last. After it,
//! `product` holds `a * b` or, for a division, the remainder, and `quotient`
//! holds `a / b`.

use crate::param::Param;
use rust_hdl::prelude::*;
use spikeslice_core::accel::cycles::{DIV_ITERS, MUL_ITERS};

#[derive(LogicBlock)]
pub struct MulDiv {
    pub clock: Signal<In, Clock>,
    /// Latch `a`, `b` and `div`, and restart.
    pub load: Signal<In, Bit>,
    /// For a product, below 2^32 (the upper half is ignored); for a quotient,
    /// below 2^`DIV_ITERS`.
    pub a: Signal<In, Bits<64>>,
    /// For a product, below 2^32 (the upper half is ignored).
    pub b: Signal<In, Bits<64>>,
    /// Divide (`a / b`) rather than multiply.
    pub div: Signal<In, Bit>,
    /// Perform one iteration.
    pub step: Signal<In, Bit>,
    /// This step is the operation's last.
    pub last: Signal<Out, Bit>,
    /// The product, or the division's remainder.
    pub product: Signal<Out, Bits<64>>,
    /// The division's quotient.
    pub quotient: Signal<Out, Bits<64>>,
    /// Multiplicand, or dividend becoming the quotient.
    shifted: DFF<Bits<64>>,
    /// Multiplier, or divisor.
    operand: DFF<Bits<64>>,
    /// Partial product, or partial remainder.
    acc: DFF<Bits<64>>,
    count: DFF<Bits<7>>,
    dividing: DFF<Bit>,
    /// The remainder with the dividend's next bit shifted in.
    rem: Signal<Local, Bits<64>>,
    /// This step's halves of the operands (step bit 0 picks `a`'s, bit 1 `b`'s).
    half_a: Signal<Local, Bits<16>>,
    half_b: Signal<Local, Bits<16>>,
    half_product: Signal<Local, Bits<32>>,
    /// Their product, at its weight.
    partial: Signal<Local, Bits<64>>,
    k_mul_last: Param<Bits<7>>,
    k_div_last: Param<Bits<7>>,
    /// 64 - `DIV_ITERS`: where a dividend's top bit enters the register.
    k_div_shift: Param<Bits<7>>,
}

impl Default for MulDiv {
    fn default() -> Self {
        Self {
            clock: Default::default(),
            load: Default::default(),
            a: Default::default(),
            b: Default::default(),
            div: Default::default(),
            step: Default::default(),
            last: Default::default(),
            product: Default::default(),
            quotient: Default::default(),
            shifted: Default::default(),
            operand: Default::default(),
            acc: Default::default(),
            count: Default::default(),
            dividing: Default::default(),
            rem: Default::default(),
            half_a: Default::default(),
            half_b: Default::default(),
            half_product: Default::default(),
            partial: Default::default(),
            k_mul_last: Param::new((MUL_ITERS - 1).into()),
            k_div_last: Param::new((DIV_ITERS - 1).into()),
            k_div_shift: Param::new((64 - DIV_ITERS).into()),
        }
    }
}

impl Logic for MulDiv {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, shifted, operand, acc, count, dividing);
        self.rem.next = self.acc.q.val() << 1;
        if self.shifted.q.val().get_bit(63) {
            self.rem.next = (self.acc.q.val() << 1) | 1;
        }
        self.half_a.next = self.shifted.q.val().get_bits::<16>(0);
        if self.count.q.val().get_bit(0) {
            self.half_a.next = self.shifted.q.val().get_bits::<16>(16);
        }
        self.half_b.next = self.operand.q.val().get_bits::<16>(0);
        if self.count.q.val().get_bit(1) {
            self.half_b.next = self.operand.q.val().get_bits::<16>(16);
        }
        // a b = aL bL + (aH bL + aL bH) 2^16 + aH bH 2^32: one multiplier.
        self.half_product.next = self.half_a.val() * self.half_b.val();
        self.partial.next = bit_cast::<64, 32>(self.half_product.val());
        if self.count.q.val().get_bit(0) != self.count.q.val().get_bit(1) {
            self.partial.next = bit_cast::<64, 32>(self.half_product.val()) << 16;
        }
        if self.count.q.val().get_bit(0) && self.count.q.val().get_bit(1) {
            self.partial.next = bit_cast::<64, 32>(self.half_product.val()) << 32;
        }
        self.last.next = self.count.q.val() == self.k_mul_last.val();
        if self.dividing.q.val() {
            self.last.next = self.count.q.val() == self.k_div_last.val();
        }
        self.product.next = self.acc.q.val();
        self.quotient.next = self.shifted.q.val();
        if self.load.val() {
            self.shifted.d.next = self.a.val();
            if self.div.val() {
                self.shifted.d.next = self.a.val() << self.k_div_shift.val();
            }
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
                self.acc.d.next = self.acc.q.val() + self.partial.val();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use spikeslice_core::random::{rng, Draw};

    /// Random products of operands below 2^32 (the controller saturates them),
    /// quotients of dividends below 2^33 (its dividends are sums of a 32-bit
    /// field and a small one), and the edge cases, against Rust's arithmetic;
    /// `last` is high on exactly the `MUL_ITERS`th or `DIV_ITERS`th step.
    #[test]
    fn muldiv_multiplies_in_4_steps_and_divides_in_33() {
        let (mut sim, uut) = clocked_simulation!(MulDiv::default(), MulDiv);
        sim.add_testbench(move |mut sim: Sim<MulDiv>| {
            let mut x = sim.init()?;
            let mut r = rng(0x3D1F);
            let mut cases = vec![(0u64, 7u64, false), (0xFFFF_FFFF, 0xFFFF_FFFF, false)];
            // Each partial product alone: aL bL, aH bL, aL bH, aH bH.
            cases.extend([(0xFFFF, 0xFFFF, false), (0xFFFF_0000, 0xFFFF, false)]);
            cases.extend([
                (0xFFFF, 0xFFFF_0000, false),
                (0xFFFF_0000, 0xFFFF_0000, false),
            ]);
            cases.extend([(0, 3, true), (0xFFFF_FFFF, 1, true), (12, 12, true)]);
            cases.extend([((1 << 33) - 1, 7, true), ((1 << 33) - 1, 1, true)]);
            for _ in 0..80 {
                let div = r.chance(50);
                let a = r.next() >> r.below(64).max(if div { 31 } else { 32 });
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
                let iters = if div { DIV_ITERS } else { MUL_ITERS };
                for i in 0..iters {
                    sim_assert_eq!(sim, x.last.val(), i + 1 == iters, x);
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
