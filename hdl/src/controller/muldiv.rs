//! The controller's multiplier / divider: the descriptor's size arithmetic
//! (region sizes, tile and plane geometry, `O / G`) runs through it, one
//! operation at a time, so the controller needs no wide combinational
//! multiplier or divider for numbers it computes once per layer.
//!
//! An operation takes the steps its operands need
//! (`spikeslice_core::accel::math`, whose cycle count the cycle formula
//! enters): a product of two operands below 2^32 (the controller saturates
//! them) is one 16 x 16-bit partial product through one multiplier, a DSP slice
//! on the FPGA, per pair of halves that can be non-zero (1, 2 or 4 steps),
//! accumulated at its weight 2^0, 2^16 or 2^32. A quotient of a dividend below
//! 2^33 (the controller's are) is a restoring division of one step per bit of
//! the dividend, after a first step in which a priority encoder over the
//! latched dividend's 33 bits finds its top bit: each step takes the dividend's
//! next bit from that position of the register it shifts through (the quotient
//! shifting in below it), so no shifter or encoder is on the load's path or on
//! a step's.
//!
//! `load` latches the operands (and clears the accumulator); each `step`
//! performs one iteration; `last` is high during the last. After it,
//! `product` holds `a * b` or, for a division, the remainder, and `quotient`
//! holds `a / b` (by zero: ones in the dividend's bits).

use crate::param::Param;
use rust_hdl::prelude::*;
use spikeslice_core::accel::math::DIVIDEND_BITS_MAX;

#[derive(LogicBlock)]
pub struct MulDiv {
    pub clock: Signal<In, Clock>,
    /// Latch `a`, `b` and `div`, and restart.
    pub load: Signal<In, Bit>,
    /// For a product, below 2^32 (the upper half is ignored); for a quotient,
    /// below 2^`DIVIDEND_BITS_MAX`.
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
    /// The operation's last step.
    last_step: DFF<Bits<7>>,
    dividing: DFF<Bit>,
    /// A product's `a` has a high half: step bit 0 picks `a`'s half, bit 1
    /// `b`'s (else bit 0 picks `b`'s).
    a_wide: DFF<Bit>,
    /// A quotient's dividend bits n (its top bit's position plus one, at least
    /// one), found in its first step: the division's steps are 1 to n, and
    /// the dividend's next bit is at n - 1 of `shifted`.
    dividend_bits: DFF<Bits<7>>,
    /// At `load`: the operands' high halves are non-zero.
    load_a_wide: Signal<Local, Bit>,
    load_b_wide: Signal<Local, Bit>,
    /// In a quotient's first step: the latched dividend's bits.
    found_bits: Signal<Local, Bits<7>>,
    /// The dividend's next bit; the quotient's bits (below n).
    next_bit: Signal<Local, Bit>,
    quotient_mask: Signal<Local, Bits<64>>,
    /// This step's halves: `a`'s high half, `b`'s high half.
    high_a: Signal<Local, Bit>,
    high_b: Signal<Local, Bit>,
    /// The remainder with the dividend's next bit shifted in.
    rem: Signal<Local, Bits<64>>,
    /// This step's halves of the operands (step bit 0 picks `a`'s, bit 1 `b`'s).
    half_a: Signal<Local, Bits<16>>,
    half_b: Signal<Local, Bits<16>>,
    half_product: Signal<Local, Bits<32>>,
    /// Their product, at its weight.
    partial: Signal<Local, Bits<64>>,
    /// Per bit i of a dividend, i + 1: its bits if i is its top one; and the
    /// word with bit i alone.
    k_bits_to: Vec<Param<Bits<7>>>,
    k_bit: Vec<Param<Bits<64>>>,
    _dividend_bits: usize,
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
            last_step: Default::default(),
            dividing: Default::default(),
            a_wide: Default::default(),
            dividend_bits: Default::default(),
            load_a_wide: Default::default(),
            load_b_wide: Default::default(),
            found_bits: Default::default(),
            next_bit: Default::default(),
            quotient_mask: Default::default(),
            high_a: Default::default(),
            high_b: Default::default(),
            rem: Default::default(),
            half_a: Default::default(),
            half_b: Default::default(),
            half_product: Default::default(),
            partial: Default::default(),
            k_bits_to: (1..=DIVIDEND_BITS_MAX)
                .map(|b| Param::new(b.into()))
                .collect(),
            k_bit: (0..DIVIDEND_BITS_MAX)
                .map(|i| Param::new((1u64 << i).into()))
                .collect(),
            _dividend_bits: DIVIDEND_BITS_MAX as usize,
        }
    }
}

impl Logic for MulDiv {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, shifted, operand, acc, count, last_step, dividing, a_wide);
        dff_setup!(self, clock, dividend_bits);
        // A division step: the dividend's next bit, n - 1 of `shifted`.
        self.next_bit.next = false;
        for i in 0..self._dividend_bits {
            if self.dividend_bits.q.val() == self.k_bits_to[i].val() {
                self.next_bit.next = self.shifted.q.val().get_bit(i);
            }
        }
        self.rem.next = self.acc.q.val() << 1;
        if self.next_bit.val() {
            self.rem.next = (self.acc.q.val() << 1) | 1;
        }
        // The step's halves: a's high half only if it has one.
        self.high_a.next = false;
        self.high_b.next = self.count.q.val().get_bit(0);
        if self.a_wide.q.val() {
            self.high_a.next = self.count.q.val().get_bit(0);
            self.high_b.next = self.count.q.val().get_bit(1);
        }
        self.half_a.next = self.shifted.q.val().get_bits::<16>(0);
        if self.high_a.val() {
            self.half_a.next = self.shifted.q.val().get_bits::<16>(16);
        }
        self.half_b.next = self.operand.q.val().get_bits::<16>(0);
        if self.high_b.val() {
            self.half_b.next = self.operand.q.val().get_bits::<16>(16);
        }
        // a b = aL bL + (aH bL + aL bH) 2^16 + aH bH 2^32: one multiplier.
        self.half_product.next = self.half_a.val() * self.half_b.val();
        self.partial.next = bit_cast::<64, 32>(self.half_product.val());
        if self.high_a.val() != self.high_b.val() {
            self.partial.next = bit_cast::<64, 32>(self.half_product.val()) << 16;
        }
        if self.high_a.val() && self.high_b.val() {
            self.partial.next = bit_cast::<64, 32>(self.half_product.val()) << 32;
        }
        self.last.next = self.count.q.val() == self.last_step.q.val();
        if self.dividing.q.val() {
            // Steps 1 to n (step 0 finds n).
            self.last.next =
                (self.count.q.val() != 0) & (self.count.q.val() == self.dividend_bits.q.val());
        }
        self.product.next = self.acc.q.val();
        // The quotient: the low n bits of `shifted` (the dividend's bits above).
        self.quotient_mask.next = 0.into();
        for i in 0..self._dividend_bits {
            if self.dividend_bits.q.val() >= self.k_bits_to[i].val() {
                self.quotient_mask.next = self.quotient_mask.val() | self.k_bit[i].val();
            }
        }
        self.quotient.next = self.shifted.q.val() & self.quotient_mask.val();
        // The operands' widths, at load; the latched dividend's, in step 0.
        self.load_a_wide.next = self.a.val().get_bits::<16>(16).any();
        self.load_b_wide.next = self.b.val().get_bits::<16>(16).any();
        self.found_bits.next = 1.into();
        for i in 0..self._dividend_bits {
            if self.shifted.q.val().get_bit(i) {
                self.found_bits.next = self.k_bits_to[i].val();
            }
        }
        if self.load.val() {
            self.shifted.d.next = self.a.val();
            self.last_step.d.next = 0.into();
            if self.load_a_wide.val() | self.load_b_wide.val() {
                self.last_step.d.next = 1.into();
            }
            if self.load_a_wide.val() & self.load_b_wide.val() {
                self.last_step.d.next = 3.into();
            }
            self.operand.d.next = self.b.val();
            self.dividing.d.next = self.div.val();
            self.a_wide.d.next = self.load_a_wide.val();
            self.acc.d.next = 0.into();
            self.count.d.next = 0.into();
        } else if self.step.val() {
            self.count.d.next = self.count.q.val() + 1;
            if self.dividing.q.val() {
                if self.count.q.val() == 0 {
                    self.dividend_bits.d.next = self.found_bits.val();
                } else {
                    // Restoring division: the quotient shifts into `shifted`.
                    self.shifted.d.next = self.shifted.q.val() << 1;
                    self.acc.d.next = self.rem.val();
                    if self.rem.val() >= self.operand.q.val() {
                        self.acc.d.next = self.rem.val() - self.operand.q.val();
                        self.shifted.d.next = (self.shifted.q.val() << 1) | 1;
                    }
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
    use spikeslice_core::accel::math::{div_steps, mul_steps};
    use spikeslice_core::random::{rng, Draw};

    /// Random products of operands below 2^32 (the controller saturates them),
    /// quotients of dividends below 2^33 (its dividends are sums of a 32-bit
    /// field and a small one), and the edge cases, against Rust's arithmetic;
    /// `last` is high on exactly the step `mul_steps` or `div_steps` counts.
    #[test]
    fn muldiv_takes_the_steps_its_operands_need() {
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
            // Widths at the edges of a step: 2^16 - 1 and 2^16, 1 and 2 bits.
            cases.extend([(0x1_0000, 0xFFFF, false), (0xFFFF, 0x1_0000, false)]);
            cases.extend([(1, 1, true), (2, 1, true), (3, 2, true)]);
            for _ in 0..120 {
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
                let iters = if div { div_steps(a) } else { mul_steps(a, b) };
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
