//! Post-processing unit (one per column): re-assembles the binary-slice partial sums of
//! multi-bit spikes with shifts, BB paper Eq. 3 (W x = sum_j 2^j W x^(j)), and adds the
//! bias: I = bias + sum_j (P_j << j). Slices arrive in increasing j (the drain order),
//! j = 0 starts a new timestep from the bias. The state survives chunk boundaries, so a
//! timestep whose slices straddle two chunks (rows not a multiple of b_in) still works.

use rust_hdl::prelude::*;

#[derive(LogicBlock)]
pub struct Ppu<const ACC: usize, const MEM: usize> {
    pub clock: Signal<In, Clock>,
    /// A drained partial sum P_j is on `p` this cycle.
    pub en: Signal<In, Bit>,
    /// Slice index j of `p` (0..b_in-1).
    pub j: Signal<In, Bits<3>>,
    pub p: Signal<In, Bits<ACC>>,
    pub bias: Signal<In, Bits<MEM>>,
    /// The current I (complete after the last slice of a timestep).
    pub current: Signal<Out, Bits<MEM>>,
    cur: DFF<Bits<MEM>>,
    pext: Signal<Local, Bits<MEM>>,
    /// Bit index of the sign of `p`, and ones above it: sign extension on `Bits`.
    sign_idx: Constant<Bits<8>>,
    sext: Constant<Bits<MEM>>,
}

impl<const ACC: usize, const MEM: usize> Default for Ppu<ACC, MEM> {
    fn default() -> Self {
        let ones: Bits<MEM> = !Bits::<MEM>::default();
        Self {
            clock: Default::default(),
            en: Default::default(),
            j: Default::default(),
            p: Default::default(),
            bias: Default::default(),
            current: Default::default(),
            cur: Default::default(),
            pext: Default::default(),
            sign_idx: Constant::new((ACC as u64 - 1).into()),
            sext: Constant::new(if ACC >= MEM {
                Bits::default()
            } else {
                ones << ACC as u64
            }),
        }
    }
}

impl<const ACC: usize, const MEM: usize> Logic for Ppu<ACC, MEM> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, cur);
        self.current.next = self.cur.q.val();
        self.pext.next = bit_cast::<MEM, ACC>(self.p.val());
        if self.p.val().get_bit(self.sign_idx.val().index()) {
            self.pext.next = bit_cast::<MEM, ACC>(self.p.val()) | self.sext.val();
        }
        if self.en.val() {
            if self.j.val() == 0 {
                self.cur.d.next = self.bias.val() + self.pext.val();
            } else {
                self.cur.d.next = self.cur.q.val() + (self.pext.val() << self.j.val());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Uut = Ppu<16, 24>;

    #[test]
    fn ppu_shift_adds_slices_and_bias() {
        let (mut sim, uut) = clocked_simulation!(Uut::default(), Uut);
        sim.add_testbench(move |mut sim: Sim<Uut>| {
            let mut x = sim.init()?;
            // Two timesteps of 3 slices: P = [5, -7, 100] then [-1, 0, -300], bias -11.
            for (ps, want) in [
                ([5i64, -7, 100], -11 + 5 - 14 + 400),
                ([-1, 0, -300], -11 - 1 - 1200),
            ] {
                for (j, p) in ps.iter().enumerate() {
                    x.en.next = true;
                    x.j.next = (j as u64).into();
                    x.p.next = ((*p as u64) & 0xFFFF).into();
                    x.bias.next = ((-11i64 as u64) & 0xFF_FFFF).into();
                    wait_clock_cycle!(sim, clock, x);
                    x.en.next = false;
                    wait_clock_cycle!(sim, clock, x);
                }
                let got = ((x.current.val().to_u64() as i64) << 40) >> 40;
                sim_assert_eq!(sim, got, want, x);
            }
            sim.done(x)
        });
        sim.run(Box::new(uut), 10_000).unwrap();
    }
}
