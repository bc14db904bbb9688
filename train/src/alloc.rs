//! Bit allocations `(b_w, b_s, T)` and their enumeration under a Bit Budget
//! (BB paper Eq. 4: `BB = T * b_w * b_s` bit operations per synapse).

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Largest weight and spike width of the contract (docs/semantics.md §1).
pub const MAX_BITS: u32 = 8;
/// Largest number of timesteps of the contract.
pub const MAX_T: u32 = 64;
/// The largest budget any allocation reaches: `8 * 8 * 64`.
pub const MAX_BUDGET: u32 = MAX_BITS * MAX_BITS * MAX_T;

/// How a budget is spent: weight bits, spike bits and timesteps, the same for
/// every layer (the sweep does not explore mixed precision).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Allocation {
    pub b_w: u32,
    pub b_s: u32,
    pub t: u32,
}

/// A malformed `--alloc` or an impossible budget.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AllocError {
    #[error("malformed allocation {0:?}: write it as b_w/b_s/T, for example 4/2/2 (weight bits / spike bits / timesteps)")]
    Malformed(String),
    #[error("allocation {text:?}: {what} = {value} is out of range: use {range}")]
    Range {
        text: String,
        what: &'static str,
        value: u32,
        range: &'static str,
    },
    #[error("no allocation meets the budget {budget}: {reason}")]
    NoAllocation { budget: u32, reason: String },
}

impl Allocation {
    /// Checked constructor.
    pub fn new(b_w: u32, b_s: u32, t: u32) -> Result<Self, AllocError> {
        let text = format!("{b_w}/{b_s}/{t}");
        let check = |what, value: u32, max: u32, range| {
            if (1..=max).contains(&value) {
                Ok(())
            } else {
                Err(AllocError::Range {
                    text: text.clone(),
                    what,
                    value,
                    range,
                })
            }
        };
        check("b_w", b_w, MAX_BITS, "1..=8")?;
        check("b_s", b_s, MAX_BITS, "1..=8")?;
        check("T", t, MAX_T, "1..=64")?;
        Ok(Self { b_w, b_s, t })
    }

    /// `BB = T * b_w * b_s` (Eq. 4).
    pub fn budget(self) -> u32 {
        self.t * self.b_w * self.b_s
    }

    /// Quantization levels of a hidden activation: a `T`-step, `b_s`-bit
    /// soft-reset neuron emits `0..=T*(2^b_s - 1)` spikes in total
    /// (docs/semantics.md §7).
    pub fn levels(self) -> u32 {
        self.t * ((1 << self.b_s) - 1)
    }

    /// A file-name-safe tag, `w4s2t2`.
    pub fn tag(self) -> String {
        format!("w{}s{}t{}", self.b_w, self.b_s, self.t)
    }
}

impl fmt::Display for Allocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.b_w, self.b_s, self.t)
    }
}

impl FromStr for Allocation {
    type Err = AllocError;
    fn from_str(s: &str) -> Result<Self, AllocError> {
        let parts: Vec<&str> = s.trim().split('/').collect();
        if parts.len() != 3 {
            return Err(AllocError::Malformed(s.to_string()));
        }
        let mut v = [0u32; 3];
        for (slot, p) in v.iter_mut().zip(&parts) {
            *slot = p
                .trim()
                .parse()
                .map_err(|_| AllocError::Malformed(s.to_string()))?;
        }
        Allocation::new(v[0], v[1], v[2])
    }
}

/// Every allocation with `T * b_w * b_s == budget` (or `<= budget` with
/// `at_most`), `b_w, b_s` in 1..=8 and `T` in 1..=64, sorted by budget, then
/// `b_w`, `b_s`, `T`. An empty result is an error that says why.
pub fn enumerate(budget: u32, at_most: bool) -> Result<Vec<Allocation>, AllocError> {
    if budget == 0 {
        return Err(AllocError::NoAllocation {
            budget,
            reason: "every allocation spends at least 1 bit (b_w = b_s = T = 1); use a budget of 1 or more".into(),
        });
    }
    let mut out = Vec::new();
    for b_w in 1..=MAX_BITS {
        for b_s in 1..=MAX_BITS {
            let per_step = b_w * b_s;
            if at_most {
                for t in 1..=MAX_T {
                    if per_step * t <= budget {
                        out.push(Allocation { b_w, b_s, t });
                    }
                }
            } else if budget.is_multiple_of(per_step) && (1..=MAX_T).contains(&(budget / per_step))
            {
                out.push(Allocation {
                    b_w,
                    b_s,
                    t: budget / per_step,
                });
            }
        }
    }
    if out.is_empty() {
        let reason = if budget > MAX_BUDGET {
            format!("the largest budget is 8 * 8 * 64 = {MAX_BUDGET}; use --max to take every allocation up to {budget}")
        } else {
            format!("{budget} is not T * b_w * b_s for any b_w, b_s in 1..=8 and T in 1..=64 (a prime above 64 cannot be split); pick another budget or use --max for every allocation up to it")
        };
        return Err(AllocError::NoAllocation { budget, reason });
    }
    out.sort_by_key(|a| (a.budget(), a.b_w, a.b_s, a.t));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_display() {
        let a: Allocation = "4/2/3".parse().unwrap();
        assert_eq!(
            (a.b_w, a.b_s, a.t, a.budget(), a.levels()),
            (4, 2, 3, 24, 9)
        );
        assert_eq!(a.to_string(), "4/2/3");
        for bad in ["4/2", "a/b/c", "4/2/3/1", "", "4//3"] {
            assert!(
                matches!(bad.parse::<Allocation>(), Err(AllocError::Malformed(_))),
                "{bad}"
            );
        }
        let e = "9/1/1".parse::<Allocation>().unwrap_err().to_string();
        assert!(e.contains("b_w = 9"), "{e}");
        let e = "1/1/65".parse::<Allocation>().unwrap_err().to_string();
        assert!(e.contains("T = 65"), "{e}");
    }
}
