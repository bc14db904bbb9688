//! Bit allocations `(b_w, b_s, T)` and their enumeration under a Bit Budget
//! (BB paper Eq. 4: `BB = T * b_w * b_s` bit operations per synapse).

use crate::arch::{self, Arch, Kind};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

/// Largest weight and spike width of the contract (docs/semantics.md §1).
pub const MAX_BITS: u32 = 8;
/// Largest number of timesteps of the contract.
pub const MAX_T: u32 = 64;
/// The largest budget any allocation reaches: `8 * 8 * 64`.
pub const MAX_BUDGET: u32 = MAX_BITS * MAX_BITS * MAX_T;

/// How a budget is spent: weight bits, spike bits and timesteps, for every
/// layer but those a [`PerLayer`] gives other widths.
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
    /// A per-layer allocation that is malformed or names what the network lacks.
    #[error("{0}")]
    Layer(String),
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

/// A layer's own widths, where they differ from the network's allocation:
/// `b_w` of its weights, `b_s` of the spikes it emits. Timesteps are the
/// network's: every layer of the contract runs the same `T`
/// (docs/semantics.md §1).
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(deny_unknown_fields)]
pub struct LayerBits {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub b_w: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub b_s: Option<u32>,
}

/// Per-layer widths by layer name (`--layer NAME=B_W/B_S`, `--layers FILE`):
/// mixed precision on top of an [`Allocation`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PerLayer(pub BTreeMap<String, LayerBits>);

impl PerLayer {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Layer `name`'s allocation: `base` with this layer's widths.
    pub fn apply(&self, name: &str, base: Allocation) -> Allocation {
        let bits = self.0.get(name).copied().unwrap_or_default();
        Allocation {
            b_w: bits.b_w.unwrap_or(base.b_w),
            b_s: bits.b_s.unwrap_or(base.b_s),
            t: base.t,
        }
    }

    /// Parse one `NAME=B_W/B_S` (either width may be `*`, the network's) or
    /// `NAME=B_W`, and add it; a layer named twice is refused.
    pub fn add(&mut self, text: &str) -> Result<(), AllocError> {
        let bad = || {
            AllocError::Layer(format!(
            "malformed per-layer allocation {text:?}: write it as NAME=B_W/B_S, NAME=B_W or NAME=*/B_S, e.g. fc1=4/2 or out=8"
        ))
        };
        let (name, bits) = text.split_once('=').ok_or_else(bad)?;
        let name = name.trim();
        if name.is_empty() {
            return Err(bad());
        }
        let mut parts = bits.split('/');
        let mut width = |what: &'static str| -> Result<Option<u32>, AllocError> {
            match parts.next().map(str::trim) {
                None | Some("*") => Ok(None),
                Some(p) => {
                    let v: u32 = p.parse().map_err(|_| bad())?;
                    if !(1..=MAX_BITS).contains(&v) {
                        return Err(AllocError::Layer(format!(
                            "{text:?}: {what} = {v} is out of range: use 1..=8"
                        )));
                    }
                    Ok(Some(v))
                }
            }
        };
        let b_w = width("b_w")?;
        let b_s = width("b_s")?;
        if parts.next().is_some() || (b_w.is_none() && b_s.is_none()) {
            return Err(bad());
        }
        if self.0.contains_key(name) {
            return Err(AllocError::Layer(format!(
                "layer {name} is given twice: keep one --layer {name}=..."
            )));
        }
        self.0.insert(name.to_string(), LayerBits { b_w, b_s });
        Ok(())
    }

    /// Refuse what `arch` cannot take: an unknown layer (naming those it
    /// has), spike bits for the readout, widths for a layer without weights.
    pub fn check(&self, arch: &Arch) -> Result<(), AllocError> {
        if self.0.is_empty() {
            return Ok(());
        }
        let defs = arch::structure(arch).map_err(AllocError::Layer)?;
        for (name, bits) in &self.0 {
            let Some(d) = defs.iter().find(|d| &d.name == name) else {
                let names: Vec<&str> = defs
                    .iter()
                    .filter(|d| d.kind != Kind::Flatten)
                    .map(|d| d.name.as_str())
                    .collect();
                return Err(AllocError::Layer(format!(
                    "the {arch} network has no layer {name:?}: its layers are {}",
                    names.join(", ")
                )));
            };
            let range = |v: Option<u32>| v.is_some_and(|v| !(1..=MAX_BITS).contains(&v));
            if range(bits.b_w) || range(bits.b_s) {
                return Err(AllocError::Layer(format!(
                    "layer {name}: widths must be in 1..=8 (b_w {:?}, b_s {:?})",
                    bits.b_w, bits.b_s
                )));
            }
            match d.kind {
                Kind::Pool { .. } if bits.b_w.is_some() => {
                    return Err(AllocError::Layer(format!(
                        "layer {name} pools: it has no weights, so give it b_s only ({name}=*/{})",
                        bits.b_s.map_or("*".to_string(), |s| s.to_string())
                    )))
                }
                Kind::Flatten => {
                    return Err(AllocError::Layer(format!(
                        "layer {name} only reshapes: it has no weights or spikes to give widths"
                    )))
                }
                Kind::Add { .. } => {
                    return Err(AllocError::Layer(format!(
                        "layer {name} adds two spike tensors: it has no weights, and its spikes are one bit wider than its wider input's, so it takes no widths (give them to the convs of its block)"
                    )))
                }
                Kind::Readout if bits.b_s.is_some() => {
                    return Err(AllocError::Layer(format!(
                        "layer {name} is the readout: it emits no spikes, so give it b_w only ({name}={})",
                        bits.b_w.map_or("*".to_string(), |w| w.to_string())
                    )))
                }
                _ => {}
            }
        }
        Ok(())
    }
}

impl fmt::Display for PerLayer {
    /// `fc1 4/2, out 8/*`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let w = |v: Option<u32>| v.map_or("*".to_string(), |v| v.to_string());
        let parts: Vec<String> = self
            .0
            .iter()
            .map(|(n, b)| format!("{n} {}/{}", w(b.b_w), w(b.b_s)))
            .collect();
        f.write_str(&parts.join(", "))
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
    fn per_layer_widths_parse_apply_and_check() {
        let mut p = PerLayer::default();
        p.add("fc1=4/2").unwrap();
        p.add("out=8").unwrap();
        let base = Allocation::new(2, 1, 4).unwrap();
        assert_eq!(p.apply("fc1", base), Allocation::new(4, 2, 4).unwrap());
        assert_eq!(p.apply("out", base), Allocation::new(8, 1, 4).unwrap());
        assert_eq!(p.apply("other", base), base);
        assert_eq!(p.to_string(), "fc1 4/2, out 8/*");
        p.check(&Arch::Mlp).unwrap();
        let e = p.check(&Arch::Cnn).unwrap_err().to_string();
        assert!(
            e.contains("no layer \"fc1\"") && e.contains("conv1, conv2, out"),
            "{e}"
        );
        let e = p.add("fc1=2").unwrap_err().to_string();
        assert!(e.contains("given twice"), "{e}");
        let mut q = PerLayer::default();
        q.add("conv2=*/3").unwrap();
        assert_eq!(q.apply("conv2", base), Allocation::new(2, 3, 4).unwrap());
        for (bad, needle) in [
            ("fc1", "malformed"),
            ("=4/2", "malformed"),
            ("fc1=*/*", "malformed"),
            ("fc1=4/2/1", "malformed"),
            ("fc1=x", "malformed"),
            ("fc1=9", "b_w = 9"),
            ("fc1=1/0", "b_s = 0"),
        ] {
            let e = PerLayer::default().add(bad).unwrap_err().to_string();
            assert!(e.contains(needle), "{bad}: {e}");
        }
        let mut r = PerLayer::default();
        r.add("out=4/2").unwrap();
        let e = r.check(&Arch::Mlp).unwrap_err().to_string();
        assert!(e.contains("readout") && e.contains("out=4"), "{e}");
        let mut f = PerLayer::default();
        f.add("flat=4").unwrap();
        assert!(f
            .check(&Arch::Cnn)
            .unwrap_err()
            .to_string()
            .contains("only reshapes"));
    }

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
