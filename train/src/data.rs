//! Training and test data: the project's standard splits of the digit sets.

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};
use spikeslice_core::dataset::{self, Dataset, MNIST_5K_SPLIT_SEED, MNIST_5K_TEST_FRACTION};

/// A train/test pair and a digest of both (the cache key's data part).
#[derive(Debug, Clone)]
pub struct Data {
    pub name: String,
    pub train: Dataset,
    pub test: Dataset,
    /// SHA-256 over shapes, bits, pixels and labels of both parts, in hex.
    pub digest: String,
}

/// Load `spec` (anything `spikeslice_core::dataset::open` takes) and split it.
///
/// `mnist-5k` uses the project's standard split (`mnist_5k_split`: 4,000
/// train / 1,000 test); every other set gets the same stratified 80/20 split
/// with the same seed, so results are comparable between runs.
/// `train_limit` / `test_limit` keep the first samples (the splits are
/// shuffled, so a prefix is class-mixed), for quick runs and tests.
pub fn load(spec: &str, train_limit: Option<usize>, test_limit: Option<usize>) -> Result<Data> {
    let split = if spec == "mnist-5k" {
        dataset::mnist_5k_split()?
    } else {
        let all = dataset::open(spec)?;
        dataset::stratified_split(&all, MNIST_5K_TEST_FRACTION, MNIST_5K_SPLIT_SEED)
            .with_context(|| format!("cannot split {spec} into train and test"))?
    };
    let mut train = split.train;
    let mut test = split.test;
    if let Some(n) = train_limit {
        train = train.take(n.min(train.len()));
    }
    if let Some(n) = test_limit {
        test = test.take(n.min(test.len()));
    }
    if train.is_empty() || test.is_empty() {
        anyhow::bail!("{spec}: the train or test part is empty (limits too small?)");
    }
    let mut h = Sha256::new();
    for d in [&train, &test] {
        for s in d.shape {
            h.update((s as u64).to_le_bytes());
        }
        h.update([d.bits]);
        h.update((d.len() as u64).to_le_bytes());
        h.update(&d.pixels);
        h.update(&d.labels);
    }
    let digest = format!("{:x}", h.finalize());
    Ok(Data {
        name: spec.to_string(),
        train,
        test,
        digest,
    })
}
