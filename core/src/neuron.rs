//! The multi-bit spiking neuron (docs/semantics.md §3; BB paper Eqs. 6-7).
//!
//! One timestep of one neuron, with integer state:
//!
//! ```text
//! v  <- leak(v) + I                     integrate (Eq. 6), I includes the bias
//! s  <- 0                     if v < theta
//!       min(floor(v/theta), 2^b_s - 1) otherwise        (Eq. 7, clamped)
//! v  <- v - s*theta           soft reset
//!       0 if s > 0 else v     hard reset
//! ```
//!
//! Where we differ from Eq. 7: the paper emits `floor(v/theta) * theta`; we emit
//! the integer level `s` and let the next layer's weights absorb `theta`
//! (the conversion folds the scale), and we clamp `s` so it fits `b_s` bits.
//! We fire at `v >= theta` (Eq. 6 says `v > v_th`) so that the spike count of a
//! soft-reset neuron equals `floor(v_total / theta)`, the quantizer identity of
//! the conversion papers (QAC, QFFS).

use serde::{Deserialize, Serialize};

/// Membrane dynamics between timesteps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", tag = "model", deny_unknown_fields)]
pub enum Dynamics {
    /// Integrate-and-fire: no leak.
    If,
    /// Leaky integrate-and-fire with leak `v - (v >> leak_shift)`, an
    /// arithmetic shift, i.e. `tau = 2^k / (2^k - 1)` in Eq. 1 without a multiplier.
    Lif { leak_shift: u8 },
}

/// Largest LIF leak shift (a shift of 31 or more would leave `v` unchanged or
/// round every negative membrane by one, neither of which is a useful leak).
pub const MAX_LEAK_SHIFT: u8 = 16;

impl Dynamics {
    /// The leak applied before integration.
    #[inline]
    pub fn leak(self, v: i64) -> i64 {
        match self {
            Dynamics::If => v,
            Dynamics::Lif { leak_shift } => v - (v >> leak_shift),
        }
    }
}

/// What happens to the membrane after a spike.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Reset {
    /// Reset by subtraction, `v <- v - s*theta`: keeps the residue, which makes
    /// the neuron an exact quantizer of its summed input.
    Soft,
    /// Reset to zero after any spike.
    Hard,
}

/// The spike level for membrane `v` (Eq. 7 with the clamp to `max_spike`).
#[inline]
pub fn spike_level(v: i64, threshold: i64, max_spike: u8) -> u8 {
    debug_assert!(threshold > 0);
    if v < threshold {
        0
    } else {
        (v / threshold).min(i64::from(max_spike)) as u8
    }
}

/// One timestep of a spiking neuron: integrate `current`, fire, reset.
/// Returns the spike; updates `v` in place.
#[inline]
pub fn step(
    v: &mut i64,
    current: i64,
    threshold: i64,
    max_spike: u8,
    dynamics: Dynamics,
    reset: Reset,
) -> u8 {
    let integrated = dynamics.leak(*v) + current;
    let s = spike_level(integrated, threshold, max_spike);
    *v = match reset {
        Reset::Soft => integrated - i64::from(s) * threshold,
        Reset::Hard if s > 0 => 0,
        Reset::Hard => integrated,
    };
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_and_clamp() {
        assert_eq!(spike_level(9, 10, 3), 0);
        assert_eq!(spike_level(10, 10, 3), 1);
        assert_eq!(spike_level(29, 10, 3), 2);
        assert_eq!(spike_level(1000, 10, 3), 3);
        assert_eq!(spike_level(-50, 10, 3), 0);
    }

    #[test]
    fn soft_reset_keeps_residue_and_hard_reset_clears() {
        let mut v = 5;
        // 5 + 40 = 45 -> floor(45/10) = 4, clamped to 3; residue 15.
        assert_eq!(step(&mut v, 40, 10, 3, Dynamics::If, Reset::Soft), 3);
        assert_eq!(v, 15);
        let mut v = 5;
        assert_eq!(step(&mut v, 40, 10, 3, Dynamics::If, Reset::Hard), 3);
        assert_eq!(v, 0);
    }

    #[test]
    fn leak_is_an_arithmetic_shift() {
        let lif = Dynamics::Lif { leak_shift: 2 };
        assert_eq!(lif.leak(100), 75);
        assert_eq!(lif.leak(-100), -75);
        // -1 >> 2 = -1, so -1 leaks to 0.
        assert_eq!(lif.leak(-1), 0);
        assert_eq!(lif.leak(3), 3);
    }
}
