//! Spread over training seeds: mean, sample standard deviation and a Student-t
//! 95% confidence interval of the mean, and Welch's t-test for whether two
//! allocations' means differ by more than their seeds scatter.
//!
//! A sweep trains every allocation once per seed on one test split, so the
//! interval covers what changes with the seed (initialisation, shuffling,
//! the quantizer's calibration batch), which is the noise that decides
//! whether one allocation beats another on this data.

use serde::{Deserialize, Serialize};

/// Two-sided 95% critical values of Student's t, `t_{0.975, df}` for
/// `df = 1..=30`.
const T975: [f64; 30] = [
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
    2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
    2.052, 2.048, 2.045, 2.042,
];

/// `t_{0.975, df}`. A fractional `df` (Welch's) is rounded down, which widens
/// the interval: the conservative side. Beyond the table, the values at
/// df = 40, 60 and 120, then the normal 1.960.
pub fn t975(df: f64) -> f64 {
    let d = df.floor();
    if d < 1.0 {
        f64::INFINITY
    } else if d <= 30.0 {
        T975[d as usize - 1]
    } else if d < 60.0 {
        2.021
    } else if d < 120.0 {
        2.000
    } else {
        1.960
    }
}

/// One measure of one allocation over its seeds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Spread {
    /// Seeds measured.
    pub n: usize,
    pub mean: f64,
    /// Sample standard deviation (n - 1 in the denominator); 0 for one seed.
    pub sd: f64,
    pub min: f64,
    pub max: f64,
    /// Half the width of the 95% confidence interval of the mean,
    /// `t_{0.975, n-1} * sd / sqrt(n)`; `None` for a single seed, which
    /// cannot tell its own noise.
    pub half_width: Option<f64>,
}

impl Spread {
    /// The spread of `xs` (at least one value).
    pub fn of(xs: &[f64]) -> Self {
        let n = xs.len().max(1);
        let mean = xs.iter().sum::<f64>() / n as f64;
        let sd = if n > 1 {
            (xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt()
        } else {
            0.0
        };
        Spread {
            n: xs.len(),
            mean,
            sd,
            min: xs.iter().copied().fold(f64::INFINITY, f64::min),
            max: xs.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            half_width: (n > 1).then(|| t975((n - 1) as f64) * sd / (n as f64).sqrt()),
        }
    }
}

/// How two allocations' means compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The first is higher, beyond the noise (Welch's t-test at 5%).
    Higher,
    /// The first is lower, beyond the noise.
    Lower,
    /// The gap is within what the seeds scatter.
    WithinNoise,
    /// One seed each: nothing tells the noise.
    Unknown,
}

/// Welch's two-sided t-test at the 5% level on the difference of `a`'s and
/// `b`'s means (unequal variances, Welch-Satterthwaite degrees of freedom).
/// Two allocations whose seeds agree exactly (no spread at all) differ
/// whenever their means do.
pub fn compare(a: &Spread, b: &Spread) -> Verdict {
    if a.n < 2 || b.n < 2 {
        return Verdict::Unknown;
    }
    let gap = a.mean - b.mean;
    let (va, vb) = (a.sd.powi(2) / a.n as f64, b.sd.powi(2) / b.n as f64);
    let se = (va + vb).sqrt();
    let beyond = if se == 0.0 {
        gap != 0.0
    } else {
        let df =
            (va + vb).powi(2) / (va.powi(2) / (a.n - 1) as f64 + vb.powi(2) / (b.n - 1) as f64);
        gap.abs() > t975(df) * se
    };
    match (beyond, gap > 0.0) {
        (false, _) => Verdict::WithinNoise,
        (true, true) => Verdict::Higher,
        (true, false) => Verdict::Lower,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spread_of_known_values() {
        // mean 2, sd 1, t_{0.975,2} = 4.303: half width 4.303 / sqrt(3).
        let s = Spread::of(&[1.0, 2.0, 3.0]);
        assert_eq!((s.n, s.mean, s.sd, s.min, s.max), (3, 2.0, 1.0, 1.0, 3.0));
        let hw = s.half_width.unwrap();
        assert!((hw - 4.303 / 3f64.sqrt()).abs() < 1e-12, "{hw}");
        let one = Spread::of(&[0.93]);
        assert_eq!((one.n, one.sd, one.half_width), (1, 0.0, None));
    }

    #[test]
    fn critical_values_shrink_towards_the_normal() {
        assert_eq!(t975(1.0), 12.706);
        assert_eq!(t975(2.9), 4.303); // rounded down: conservative
        assert_eq!(t975(45.0), 2.021);
        assert_eq!(t975(1e6), 1.960);
        assert!(t975(0.5).is_infinite());
        let mut prev = f64::INFINITY;
        for d in 1..200 {
            assert!(t975(d as f64) <= prev, "df {d}");
            prev = t975(d as f64);
        }
    }

    #[test]
    fn welch_separates_only_gaps_beyond_the_scatter() {
        let a = Spread::of(&[0.930, 0.932, 0.931]);
        let far = Spread::of(&[0.900, 0.902, 0.901]);
        let near = Spread::of(&[0.925, 0.940, 0.920]);
        assert_eq!(compare(&a, &far), Verdict::Higher);
        assert_eq!(compare(&far, &a), Verdict::Lower);
        assert_eq!(compare(&a, &near), Verdict::WithinNoise);
        assert_eq!(compare(&a, &Spread::of(&[0.5])), Verdict::Unknown);
        let flat = Spread::of(&[0.9, 0.9]);
        assert_eq!(compare(&flat, &flat), Verdict::WithinNoise);
        assert_eq!(compare(&Spread::of(&[0.91, 0.91]), &flat), Verdict::Higher);
    }
}
