//! One 64-bit counter behind a `_LO`/`_HI` register pair: `_LO` reads the low
//! word of the live count, and a read of `_LO` latches the high word, which
//! `_HI` returns, so a driver that reads `_LO` then `_HI` gets one consistent
//! 64-bit value while the counter keeps moving.

use rust_hdl::prelude::*;

#[derive(LogicBlock, Default)]
pub struct CounterLatch {
    pub clock: Signal<In, Clock>,
    /// Synchronous reset, active high: the latched word reads 0.
    pub rst: Signal<In, Bit>,
    pub count: Signal<In, Bits<64>>,
    /// `_LO` is read in this cycle.
    pub latch: Signal<In, Bit>,
    /// What `_LO` and `_HI` read.
    pub lo: Signal<Out, Bits<32>>,
    pub hi: Signal<Out, Bits<32>>,
    hi_word: DFF<Bits<32>>,
}

impl Logic for CounterLatch {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, hi_word);
        self.lo.next = self.count.val().get_bits::<32>(0);
        self.hi.next = self.hi_word.q.val();
        if self.latch.val() {
            self.hi_word.d.next = self.count.val().get_bits::<32>(32);
        }
        if self.rst.val() {
            self.hi_word.d.next = 0.into();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::csr::bench::{bench, check, cyc};

    #[test]
    fn hi_returns_the_word_latched_with_lo() {
        bench(CounterLatch::default(), 10_000, |sim, mut x| {
            x.count.next = 0x0000_0001_0000_0005u64.into();
            x = cyc(sim, x)?;
            check!(
                sim,
                x,
                x.lo.val() == 5 && x.hi.val() == 0,
                "not latched yet"
            );
            x.latch.next = true;
            x = cyc(sim, x)?;
            x.latch.next = false;
            // The counter moves on; HI keeps the word of the read of LO.
            x.count.next = 0x0000_0002_0000_0007u64.into();
            x = cyc(sim, x)?;
            check!(
                sim,
                x,
                x.lo.val() == 7 && x.hi.val() == 1,
                "hi {:x}",
                x.hi.val()
            );
            x.latch.next = true;
            x = cyc(sim, x)?;
            x.latch.next = false;
            check!(sim, x, x.hi.val() == 2, "latched again");
            Ok(x)
        });
    }
}
