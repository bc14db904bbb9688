//! Bit widths and the integer domains they define (docs/semantics.md §1).
//!
//! A layer's allocation is `(b_w, b_s)` plus the network's timestep count `T`;
//! the Bit Budget of one synapse is `BB = T * b_w * b_s` (BB paper Eq. 4).

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Largest weight or spike width the contract allows.
pub const MAX_BITS: u8 = 8;
/// Largest timestep count the contract allows.
pub const MAX_TIMESTEPS: u16 = 64;

/// A width or count outside the contract's range.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RangeError {
    #[error(
        "weight bits b_w = {0} is out of range: use 1..={MAX_BITS} (1 means weights in {{-1, +1}})"
    )]
    WeightBits(u32),
    #[error("spike bits b_s = {0} is out of range: use 1..={MAX_BITS}")]
    SpikeBits(u32),
    #[error("timesteps T = {0} is out of range: use 1..={MAX_TIMESTEPS}")]
    Timesteps(u32),
}

/// The range check of a width or count, `1..=$max`, and its `u32` conversions
/// (serde reads and writes these types through them, so a model file cannot
/// hold an out-of-range value).
macro_rules! bounded {
    ($name:ident, $repr:ty, $max:expr) => {
        impl $name {
            pub fn new(value: u32) -> Result<Self, RangeError> {
                if (1..=u32::from($max)).contains(&value) {
                    Ok(Self(value as $repr))
                } else {
                    Err(RangeError::$name(value))
                }
            }
        }
        impl TryFrom<u32> for $name {
            type Error = RangeError;
            fn try_from(v: u32) -> Result<Self, RangeError> {
                Self::new(v)
            }
        }
        impl From<$name> for u32 {
            fn from(v: $name) -> u32 {
                u32::from(v.0)
            }
        }
    };
}

/// Weight width `b_w` in 1..=8.
///
/// `b_w = 1` is the binary case: weights are -1 or +1 (stored as one bit,
/// 1 for +1). `b_w >= 2` is symmetric two's complement,
/// `[-(2^(b_w-1) - 1), 2^(b_w-1) - 1]`: the most negative code is unused so
/// that negation never overflows and the range matches symmetric quantization
/// (BB paper Eq. 5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u32")]
pub struct WeightBits(u8);

impl WeightBits {
    pub fn get(self) -> u8 {
        self.0
    }
    /// Largest representable weight.
    pub fn max_weight(self) -> i32 {
        if self.0 == 1 {
            1
        } else {
            (1 << (self.0 - 1)) - 1
        }
    }
    /// Smallest representable weight.
    pub fn min_weight(self) -> i32 {
        -self.max_weight()
    }
    /// Whether `w` is a legal weight at this width (`0` is not legal at `b_w = 1`).
    pub fn contains(self, w: i32) -> bool {
        if self.0 == 1 {
            w == 1 || w == -1
        } else {
            (self.min_weight()..=self.max_weight()).contains(&w)
        }
    }
    /// The `b_w`-bit code the hardware stores for a legal weight.
    pub fn encode(self, w: i32) -> u8 {
        debug_assert!(self.contains(w));
        if self.0 == 1 {
            u8::from(w > 0)
        } else {
            (w as u8) & mask(self.0)
        }
    }
    /// Inverse of [`WeightBits::encode`].
    pub fn decode(self, code: u8) -> i32 {
        let code = code & mask(self.0);
        if self.0 == 1 {
            if code == 1 {
                1
            } else {
                -1
            }
        } else {
            // Sign-extend from b_w bits.
            let shift = 8 - self.0;
            i32::from(((code << shift) as i8) >> shift)
        }
    }
}

bounded!(WeightBits, u8, MAX_BITS);

/// Spike (or input) width `b_s` in 1..=8: spikes are unsigned, `0..=2^b_s - 1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u32")]
pub struct SpikeBits(u8);

impl SpikeBits {
    pub fn get(self) -> u8 {
        self.0
    }
    /// Largest spike value, `2^b_s - 1`: the clamp of Eq. 7.
    pub fn max_spike(self) -> u8 {
        mask(self.0)
    }
}

bounded!(SpikeBits, u8, MAX_BITS);

/// Timestep count `T` in 1..=64, one for the whole network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u32")]
pub struct Timesteps(u16);

impl Timesteps {
    pub fn get(self) -> usize {
        usize::from(self.0)
    }
}

bounded!(Timesteps, u16, MAX_TIMESTEPS);

/// `2^bits - 1` for `bits` in 1..=8.
pub fn mask(bits: u8) -> u8 {
    debug_assert!((1..=8).contains(&bits));
    (((1u16) << bits) - 1) as u8
}

/// Bit `slice` of a spike: the binary slice `x^(k)` of BB paper Eq. 3.
#[inline]
pub fn slice_bit(spike: u8, slice: u8) -> bool {
    (spike >> slice) & 1 == 1
}

/// Number of bits a two's-complement register needs to hold every value in
/// `lo..=hi` (at least 1).
pub fn signed_width(lo: i64, hi: i64) -> u32 {
    let mut bits = 1;
    while bits < 64 {
        let min = -(1i64 << (bits - 1));
        let max = (1i64 << (bits - 1)) - 1;
        if lo >= min && hi <= max {
            return bits;
        }
        bits += 1;
    }
    64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weight_ranges() {
        let b1 = WeightBits::new(1).unwrap();
        assert!(b1.contains(1) && b1.contains(-1) && !b1.contains(0));
        let b4 = WeightBits::new(4).unwrap();
        assert_eq!((b4.min_weight(), b4.max_weight()), (-7, 7));
        assert!(!b4.contains(-8));
        let b8 = WeightBits::new(8).unwrap();
        assert_eq!((b8.min_weight(), b8.max_weight()), (-127, 127));
        assert!(WeightBits::new(0).is_err() && WeightBits::new(9).is_err());
    }

    #[test]
    fn encode_decode_round_trip() {
        for b in 1..=8 {
            let wb = WeightBits::new(b).unwrap();
            for w in wb.min_weight()..=wb.max_weight() {
                if wb.contains(w) {
                    assert_eq!(wb.decode(wb.encode(w)), w, "b_w={b} w={w}");
                }
            }
        }
    }

    #[test]
    fn widths() {
        assert_eq!(signed_width(0, 0), 1);
        assert_eq!(signed_width(-1, 0), 1);
        assert_eq!(signed_width(0, 1), 2);
        assert_eq!(signed_width(-128, 127), 8);
        assert_eq!(signed_width(-129, 127), 9);
        assert_eq!(signed_width(0, 128), 9);
    }

    #[test]
    fn ranges_reject_with_clear_messages() {
        let e = SpikeBits::new(9).unwrap_err().to_string();
        assert!(e.contains("b_s = 9") && e.contains("1..=8"), "{e}");
        let e = Timesteps::new(65).unwrap_err().to_string();
        assert!(e.contains("T = 65") && e.contains("1..=64"), "{e}");
    }
}
