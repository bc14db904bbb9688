//! Deterministic stratified train/test split.

use super::{load_mnist_5k, DataError, Dataset};

/// Seed of the project's standard mnist-5k split ([`mnist_5k_split`]).
pub const MNIST_5K_SPLIT_SEED: u64 = 0x5EED_5EED;
/// Test fraction of the project's standard mnist-5k split: 100 of each class's 500.
pub const MNIST_5K_TEST_FRACTION: f64 = 0.2;

/// The SplitMix64 generator (Steele, Lea, Flood 2014; Vigna's reference `splitmix64.c`).
///
/// ```text
/// next():  state = state + 0x9E3779B97F4A7C15          (mod 2^64)
///          z = state
///          z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9     (mod 2^64)
///          z = (z ^ (z >> 27)) * 0x94D049BB133111EB     (mod 2^64)
///          return z ^ (z >> 31)
/// ```
///
/// The initial state is the seed. With seed 0 the first output is
/// `0xE220A8397B1DCDAF`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// A generator whose state is `seed`.
    pub fn new(seed: u64) -> Self {
        SplitMix64 { state: seed }
    }

    /// The next 64-bit output.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// An index in `0..n` (`n > 0`): the high 64 bits of the 128-bit product
    /// `next_u64() * n` (one draw, no rejection; the bias is below `n / 2^64`).
    pub fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }

    /// Fisher-Yates shuffle: for `i` from `len - 1` down to `1`, swap element `i` with
    /// element `below(i + 1)`. Draws exactly `len - 1` numbers (none if `len < 2`).
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i + 1);
            items.swap(i, j);
        }
    }
}

/// A train/test pair.
#[derive(Debug, Clone, PartialEq)]
pub struct Split {
    pub train: Dataset,
    pub test: Dataset,
}

/// The train and test index lists of a stratified split of `labels` (see
/// [`stratified_split`] for the algorithm). `name` is used in error messages.
pub fn split_indices(
    name: &str,
    labels: &[u8],
    test_fraction: f64,
    seed: u64,
) -> Result<(Vec<usize>, Vec<usize>), DataError> {
    if !(test_fraction > 0.0 && test_fraction < 1.0) {
        return Err(DataError::InvalidArgument {
            name: name.to_string(),
            message: format!(
                "cannot split: test fraction {test_fraction} is not strictly between 0 and 1"
            ),
        });
    }
    let mut by_class: Vec<Vec<usize>> = vec![Vec::new(); 256];
    for (i, &l) in labels.iter().enumerate() {
        by_class[usize::from(l)].push(i);
    }
    let mut rng = SplitMix64::new(seed);
    let mut train = Vec::with_capacity(labels.len());
    let mut test = Vec::with_capacity(labels.len());
    for mut idx in by_class.into_iter().filter(|v| !v.is_empty()) {
        rng.shuffle(&mut idx);
        let k = ((idx.len() as f64 * test_fraction).round() as usize).min(idx.len());
        test.extend_from_slice(&idx[..k]);
        train.extend_from_slice(&idx[k..]);
    }
    if train.is_empty() || test.is_empty() {
        return Err(DataError::InvalidArgument {
            name: name.to_string(),
            message: format!(
                "cannot split {} samples with test fraction {test_fraction}: the {} set would be \
                 empty",
                labels.len(),
                if train.is_empty() { "train" } else { "test" }
            ),
        });
    }
    rng.shuffle(&mut train);
    rng.shuffle(&mut test);
    Ok((train, test))
}

/// Deterministic stratified split into train and test sets.
///
/// The algorithm, exactly (all steps draw from one [`SplitMix64`] seeded with `seed`):
///
/// 1. `test_fraction` must be strictly between 0 and 1, else an error.
/// 2. For each label value `c` that occurs, in ascending order of `c`: take the indices of
///    the samples labelled `c` in ascending order, shuffle them with
///    [`SplitMix64::shuffle`], then put the first `k = round(n_c * test_fraction)`
///    (`f64::round`, halves away from zero) into the test list and the rest into the
///    train list (appending, so both lists are grouped by class at this point).
/// 3. Shuffle the whole train list, then the whole test list, with the same generator,
///    so that batches taken in order are class-mixed.
/// 4. If either list is empty, an error.
///
/// The sets hold the samples in list order and are named `<name>/train` and
/// `<name>/test`. The same data, fraction and seed always give the same split.
pub fn stratified_split(data: &Dataset, test_fraction: f64, seed: u64) -> Result<Split, DataError> {
    let (train_idx, test_idx) = split_indices(&data.name, &data.labels, test_fraction, seed)?;
    let mut train = data.subset(&train_idx);
    let mut test = data.subset(&test_idx);
    train.name = format!("{}/train", data.name);
    test.name = format!("{}/test", data.name);
    Ok(Split { train, test })
}

/// The project's standard split of mnist-5k: `stratified_split(&load_mnist_5k()?, 0.2,
/// 0x5EED_5EED)`, i.e. 4,000 train / 1,000 test, exactly 100 test digits per class.
pub fn mnist_5k_split() -> Result<Split, DataError> {
    stratified_split(
        &load_mnist_5k()?,
        MNIST_5K_TEST_FRACTION,
        MNIST_5K_SPLIT_SEED,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix64_reference_values() {
        let mut r = SplitMix64::new(0);
        assert_eq!(r.next_u64(), 0xE220_A839_7B1D_CDAF);
        assert_eq!(r.next_u64(), 0x6E78_9E6A_A1B9_65F4);
        assert_eq!(r.next_u64(), 0x06C4_5D18_8009_454F);
        let mut r = SplitMix64::new(MNIST_5K_SPLIT_SEED);
        assert_eq!(r.next_u64(), 0x99A4_143D_3458_5F45);
    }

    #[test]
    fn below_and_shuffle() {
        let mut r = SplitMix64::new(7);
        for n in 1..50 {
            assert!(r.below(n) < n);
        }
        let mut v: Vec<usize> = (0..100).collect();
        r.shuffle(&mut v);
        assert_ne!(v, (0..100).collect::<Vec<_>>());
        v.sort_unstable();
        assert_eq!(v, (0..100).collect::<Vec<_>>());
        let mut empty: [u8; 0] = [];
        r.shuffle(&mut empty);
    }

    #[test]
    fn rounding_and_bad_fractions() {
        // 3 of class 0, 1 of class 1: round(1.5) = 2 and round(0.5) = 1 go to test.
        let (train, test) = split_indices("t", &[0, 0, 0, 1], 0.5, 1).unwrap();
        assert_eq!((train.len(), test.len()), (1, 3));
        for f in [0.0, 1.0, -0.5, 1.5, f64::NAN] {
            let e = split_indices("t", &[0, 1], f, 1).unwrap_err();
            assert!(
                e.to_string().contains("not strictly between 0 and 1"),
                "{e}"
            );
        }
        let e = split_indices("t", &[0, 1], 0.6, 1).unwrap_err();
        assert!(
            e.to_string().contains("the train set would be empty"),
            "{e}"
        );
    }
}
