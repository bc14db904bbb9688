//! Neurodynamic unit (one per column), exactly the contract of docs/semantics.md (BB
//! paper Eqs. 6-7 with integer leak, multi-bit spikes and the clamp):
//!
//! ```text
//! integrate: v <- leak(v) + I        leak(v) = v (IF) | v - (v >>> k) (LIF)
//! spike:     s = v >= theta ? min(floor(v / theta), 2^b_s - 1) : 0
//! reset:     soft v <- v - s*theta  |  hard v <- (s > 0) ? 0 : v
//! ```
//!
//! No divider and no multiplier: s is found by restoring division over b_s steps,
//! i = b_s-1 down to 0: if (rem >>> i) >= theta then rem -= theta << i, s |= 1 << i,
//! starting from rem = v. For integers, floor(rem / 2^i) >= theta exactly when
//! rem - theta*2^i >= 0, so one subtraction `MEM + 8` bits wide (|theta 2^i| <
//! 2^(MEM+6) for i <= 7: it never wraps) gives the step's test, its sign, and
//! the new rem, its low `MEM` bits: no shifter for rem >>> i and no comparator
//! beside the subtractor (182 of the unit's 635 LUTs in yosys's mapping,
//! docs/resources.md, "Compute core alone").
//! If v >= (2^b_s - 1)*theta every step subtracts, giving the clamp
//! s = 2^b_s - 1; if v < theta nothing subtracts, s = 0; otherwise s = floor(v/theta).
//! In every case rem = v - s*theta, the soft-reset membrane, for free.
//!
//! All arithmetic is on `Bits` (two's complement, wrapping; core guarantees no
//! overflow): sign extension ors in the high ones, arithmetic shifts are ~(~x >> k).
//!
//! `leak(v)` is registered: integrate adds the leak of the membrane a cycle
//! before, so it must come at least a cycle after the last write of `v` (init,
//! integrate, reset). The sequencer's neuron machine guarantees it (Emit with the
//! reset, AfterT, Integ; Emit or Integ, Idle, Integ; Done with the init, Idle,
//! Integ; an init with a run's first beat comes K cycles and more before its
//! first Integ), and the shift, the
//! subtraction and the addition are not one path into the membrane register
//! (docs/resources.md, "Whole shell").

use rust_hdl::prelude::*;

#[derive(LogicBlock)]
pub struct Ndu<const MEM: usize> {
    pub clock: Signal<In, Clock>,
    // Per-output parameters, loaded through a shift chain (see the sequencer).
    pub par_shift: Signal<In, Bits<3>>,
    pub chain_in: Signal<In, Bits<MEM>>,
    pub v_init: Signal<Out, Bits<MEM>>,
    pub bias: Signal<Out, Bits<MEM>>,
    pub theta: Signal<Out, Bits<MEM>>,
    // Layer configuration.
    pub lif: Signal<In, Bit>,
    pub leak_shift: Signal<In, Bits<8>>,
    pub hard: Signal<In, Bit>,
    // Operations (one at a time, from the sequencer).
    pub op_init: Signal<In, Bit>,
    pub op_integrate: Signal<In, Bit>,
    pub op_div: Signal<In, Bit>,
    pub div_i: Signal<In, Bits<3>>,
    pub op_reset: Signal<In, Bit>,
    pub current: Signal<In, Bits<MEM>>,
    pub v: Signal<Out, Bits<MEM>>,
    pub spike: Signal<Out, Bits<8>>,
    vreg: DFF<Bits<MEM>>,
    rem: DFF<Bits<MEM>>,
    s: DFF<Bits<8>>,
    p_vinit: DFF<Bits<MEM>>,
    p_bias: DFF<Bits<MEM>>,
    p_theta: DFF<Bits<MEM>>,
    leak_of: Signal<Local, Bits<MEM>>,
    leaked: DFF<Bits<MEM>>,
    vnew: Signal<Local, Bits<MEM>>,
    // The division step's rem and theta sign-extended to 64 bits, and
    // rem - (theta << i): only its low `MEM + 8` bits are used (yosys trims the
    // rest), bit `MEM + 7` its sign.
    rem_x: Signal<Local, Bits<64>>,
    theta_x: Signal<Local, Bits<64>>,
    diff: Signal<Local, Bits<64>>,
    ext: Constant<Bits<64>>,
    sign_idx: Constant<Bits<8>>,
    diff_sign_idx: Constant<Bits<8>>,
}

impl<const MEM: usize> Default for Ndu<MEM> {
    fn default() -> Self {
        assert!(
            MEM + 8 <= 64,
            "the division step's difference needs MEM + 8 <= 64 bits"
        );
        let ones: Bits<64> = (!0u64).into();
        Self {
            clock: Default::default(),
            par_shift: Default::default(),
            chain_in: Default::default(),
            v_init: Default::default(),
            bias: Default::default(),
            theta: Default::default(),
            lif: Default::default(),
            leak_shift: Default::default(),
            hard: Default::default(),
            op_init: Default::default(),
            op_integrate: Default::default(),
            op_div: Default::default(),
            div_i: Default::default(),
            op_reset: Default::default(),
            current: Default::default(),
            v: Default::default(),
            spike: Default::default(),
            vreg: Default::default(),
            rem: Default::default(),
            s: Default::default(),
            p_vinit: Default::default(),
            p_bias: Default::default(),
            p_theta: Default::default(),
            leak_of: Default::default(),
            leaked: Default::default(),
            vnew: Default::default(),
            rem_x: Default::default(),
            theta_x: Default::default(),
            diff: Default::default(),
            ext: Constant::new(ones << MEM as u64),
            sign_idx: Constant::new((MEM as u64 - 1).into()),
            diff_sign_idx: Constant::new((MEM as u64 + 7).into()),
        }
    }
}

// Each operation's block holds its own conditions (op_div's test as op_reset's).
#[allow(clippy::collapsible_if)]
impl<const MEM: usize> Logic for Ndu<MEM> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, vreg, rem, s, p_vinit, p_bias, p_theta, leaked);
        self.v.next = self.vreg.q.val();
        self.spike.next = self.s.q.val();
        self.v_init.next = self.p_vinit.q.val();
        self.bias.next = self.p_bias.q.val();
        self.theta.next = self.p_theta.q.val();
        // Parameter chain: bit 0 shifts v_init, bit 1 bias, bit 2 theta.
        if self.par_shift.val().get_bit(0) {
            self.p_vinit.d.next = self.chain_in.val();
        }
        if self.par_shift.val().get_bit(1) {
            self.p_bias.d.next = self.chain_in.val();
        }
        if self.par_shift.val().get_bit(2) {
            self.p_theta.d.next = self.chain_in.val();
        }
        // leak(v): LIF subtracts the arithmetic shift v >>> k.
        self.leak_of.next = self.vreg.q.val();
        if self.lif.val() {
            if self.vreg.q.val().get_bit(self.sign_idx.val().index()) {
                self.leak_of.next =
                    self.vreg.q.val() - !((!self.vreg.q.val()) >> self.leak_shift.val());
            } else {
                self.leak_of.next =
                    self.vreg.q.val() - (self.vreg.q.val() >> self.leak_shift.val());
            }
        }
        self.leaked.d.next = self.leak_of.val();
        self.vnew.next = self.leaked.q.val() + self.current.val();
        // The restoring-division step: rem - theta 2^i, its sign the test
        // (rem >>> i) >= theta.
        self.rem_x.next = bit_cast::<64, MEM>(self.rem.q.val());
        if self.rem.q.val().get_bit(self.sign_idx.val().index()) {
            self.rem_x.next = bit_cast::<64, MEM>(self.rem.q.val()) | self.ext.val();
        }
        self.theta_x.next = bit_cast::<64, MEM>(self.p_theta.q.val());
        if self.p_theta.q.val().get_bit(self.sign_idx.val().index()) {
            self.theta_x.next = bit_cast::<64, MEM>(self.p_theta.q.val()) | self.ext.val();
        }
        self.diff.next = self.rem_x.val() - (self.theta_x.val() << self.div_i.val());
        if self.op_init.val() {
            self.vreg.d.next = self.p_vinit.q.val();
        }
        if self.op_integrate.val() {
            self.vreg.d.next = self.vnew.val();
            self.rem.d.next = self.vnew.val();
            self.s.d.next = 0.into();
        }
        if self.op_div.val() {
            if !self.diff.val().get_bit(self.diff_sign_idx.val().index()) {
                self.rem.d.next = bit_cast::<MEM, 64>(self.diff.val());
                self.s.d.next = self.s.q.val().replace_bit(self.div_i.val().index(), true);
            }
        }
        if self.op_reset.val() {
            if self.hard.val() {
                if self.s.q.val().any() {
                    self.vreg.d.next = 0.into();
                }
            } else {
                self.vreg.d.next = self.rem.q.val();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Uut = Ndu<24>;

    fn sx(v: u64) -> i64 {
        ((v as i64) << 40) >> 40
    }

    /// Reference for one step, straight from the contract.
    fn step(v: i64, i: i64, lif: Option<u32>, theta: i64, bs: u32, hard: bool) -> (i64, u8) {
        let v = match lif {
            None => v,
            Some(k) => v - (v >> k),
        } + i;
        let s = if v >= theta {
            (v / theta).min((1 << bs) - 1)
        } else {
            0
        };
        let v = if hard {
            if s > 0 {
                0
            } else {
                v
            }
        } else {
            v - s * theta
        };
        (v, s as u8)
    }

    /// (leak, hard, b_s, theta, v_init, currents)
    type Case = (Option<u32>, bool, u32, i64, i64, Vec<i64>);

    /// Runs each case on a fresh unit: parameters through the chain, init,
    /// then per current an integrate, `b_s` division steps and the reset, each
    /// step's spike and membrane against [`step`].
    fn check(cases: Vec<Case>) {
        for (lif, hard, bs, theta, vinit, currents) in cases {
            let (mut sim, uut) = clocked_simulation!(Uut::default(), Uut);
            let m = 0xFF_FFFFu64;
            sim.add_testbench(move |mut sim: Sim<Uut>| {
                let mut x = sim.init()?;
                x.lif.next = lif.is_some();
                x.leak_shift.next = (lif.unwrap_or(0) as u64).into();
                x.hard.next = hard;
                for (sel, val) in [(1u64, vinit), (4, theta)] {
                    x.par_shift.next = sel.into();
                    x.chain_in.next = ((val as u64) & m).into();
                    wait_clock_cycle!(sim, clock, x);
                }
                x.par_shift.next = 0.into();
                x.op_init.next = true;
                wait_clock_cycle!(sim, clock, x);
                x.op_init.next = false;
                // Integrate a cycle after the last write of v (the contract).
                wait_clock_cycle!(sim, clock, x);
                let mut v = vinit;
                for &i in currents.iter() {
                    let (v_want, s_want) = step(v, i, lif, theta, bs, hard);
                    v = v_want;
                    x.current.next = ((i as u64) & m).into();
                    x.op_integrate.next = true;
                    wait_clock_cycle!(sim, clock, x);
                    x.op_integrate.next = false;
                    for d in (0..bs).rev() {
                        x.op_div.next = true;
                        x.div_i.next = (d as u64).into();
                        wait_clock_cycle!(sim, clock, x);
                    }
                    x.op_div.next = false;
                    x.op_reset.next = true;
                    wait_clock_cycle!(sim, clock, x);
                    x.op_reset.next = false;
                    sim_assert_eq!(sim, x.spike.val().to_u64() as u8, s_want, x);
                    sim_assert_eq!(sim, sx(x.v.val().to_u64()), v_want, x);
                    wait_clock_cycle!(sim, clock, x);
                }
                sim.done(x)
            });
            sim.run(Box::new(uut), 100_000).unwrap();
        }
    }

    #[test]
    fn ndu_matches_contract() {
        check(vec![
            (None, false, 1, 10, 5, vec![3, 9, 30, -50, 12]),
            (Some(2), false, 3, 7, 3, vec![100, -4, 20, 1, 0]),
            (Some(1), true, 2, 5, -8, vec![40, 2, -30, 9, 11]),
            (None, true, 8, 3, 1, vec![1000, 2, -7, 765, 3]),
        ]);
    }

    /// Random units: thresholds from 1 to 2^22 (where `theta << i` no longer
    /// fits the 24-bit membrane, the division's test must still be exact),
    /// 1-8 spike bits, IF or LIF with shifts past the width, either reset;
    /// membranes kept within +-2^22 (the core guarantees no overflow).
    #[test]
    fn ndu_matches_contract_on_random_units() {
        use spikeslice_core::random::{rng, Draw};
        let mut r = rng(0x0D0E);
        let bound = 1i64 << 22;
        let cases = (0..48)
            .map(|_| {
                let lif = r.chance(50).then(|| r.below(41) as u32);
                let hard = r.chance(30);
                let bs = 1 + r.below(8) as u32;
                let theta = 1 + (r.next() >> (42 + r.below(22))) as i64;
                let vinit = r.range(-theta, theta);
                let scale = theta << r.below(u64::from(bs) + 2);
                let mut v = vinit;
                let currents = (0..8)
                    .map(|_| {
                        let mut i = r.range(-scale, scale).clamp(-bound / 4, bound / 4);
                        if step(v, i, lif, theta, bs, hard).0.abs() >= bound {
                            i = 0;
                        }
                        v = step(v, i, lif, theta, bs, hard).0;
                        i
                    })
                    .collect();
                (lif, hard, bs, theta, vinit, currents)
            })
            .collect();
        check(cases);
    }
}
