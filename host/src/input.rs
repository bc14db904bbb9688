//! The samples a command runs on: a dataset (with labels) or a plain CSV of
//! inputs (without), checked against the model's input.

use anyhow::{bail, Context, Result};
use spikeslice_core::dataset::{self, Dataset};
use spikeslice_core::golden::check_input;
use spikeslice_core::model::Model;
use std::path::Path;

/// Which part of a dataset to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Split {
    /// Every sample.
    All,
    /// The standard stratified training part (80%).
    Train,
    /// The standard stratified test part (20%).
    Test,
}

/// Checked samples, with labels when they came from a dataset.
#[derive(Debug, Clone)]
pub struct Samples {
    pub source: String,
    pub inputs: Vec<Vec<u8>>,
    pub labels: Option<Vec<u8>>,
}

/// Open a dataset and take the requested split and count.
pub fn open_dataset(spec: &str, split: Split, limit: Option<usize>) -> Result<Dataset> {
    let data = dataset::open(spec)?;
    let data = match split {
        Split::All => data,
        Split::Train | Split::Test => {
            let s = dataset::stratified_split(
                &data,
                dataset::MNIST_5K_TEST_FRACTION,
                dataset::MNIST_5K_SPLIT_SEED,
            )?;
            if split == Split::Train {
                s.train
            } else {
                s.test
            }
        }
    };
    Ok(match limit {
        Some(n) => data.take(n),
        None => data,
    })
}

/// Samples of a dataset, checked against the model.
pub fn from_dataset(model: &Model, data: &Dataset) -> Result<Samples> {
    let want = model.input_len();
    if data.sample_len() != want {
        bail!(
            "{} has {} values per sample ({:?}), but model {} takes {} ({:?})",
            data.name,
            data.sample_len(),
            data.shape,
            model.spec.name,
            want,
            model.spec.input.shape
        );
    }
    let bits = model.spec.input.bits.get();
    if data.bits > bits {
        bail!(
            "{} has {}-bit values, but model {} takes {}-bit input: use a model trained for this data",
            data.name,
            data.bits,
            model.spec.name,
            bits
        );
    }
    let inputs = (0..data.len()).map(|i| data.sample(i).to_vec()).collect();
    Ok(Samples {
        source: data.name.clone(),
        inputs,
        labels: Some(data.labels.clone()),
    })
}

/// Samples of an input file: a CSV of integers, one sample per line, either
/// exactly the model's input width (unlabelled) or one more (the label last);
/// anything else that is not plain CSV (gzip, IDX, CIFAR-10 batches) is read as
/// a dataset.
pub fn from_file(model: &Model, path: &Path) -> Result<Samples> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let is_csv = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
    if !is_csv {
        let data = dataset::open(&path.display().to_string())?;
        return from_dataset(model, &data);
    }
    let name = path.display().to_string();
    let rows = dataset::parse_unlabelled_csv(&name, &bytes)?;
    let want = model.input_len();
    let width = rows.first().map_or(0, |r| r.len());
    let (rows, labels) = if width == want + 1 {
        let mut labels = Vec::with_capacity(rows.len());
        let mut inputs = Vec::with_capacity(rows.len());
        for (i, mut r) in rows.into_iter().enumerate() {
            let label = r.pop().unwrap_or_default();
            if label as usize >= model.classes() {
                bail!(
                    "{name}, line {}: the last column is read as the label, and {label} is not a class of model {} (0..{})",
                    i + 1,
                    model.spec.name,
                    model.classes()
                );
            }
            labels.push(label as u8);
            inputs.push(r);
        }
        (inputs, Some(labels))
    } else if width == want {
        (rows, None)
    } else {
        bail!(
            "{name} has {width} values per line; model {} takes {want} inputs (or {} with a label last)",
            model.spec.name,
            want + 1
        );
    };
    let inputs = rows
        .iter()
        .enumerate()
        .map(|(i, r)| check_input(model, i, r))
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("in {name}"))?;
    Ok(Samples {
        source: name,
        inputs,
        labels,
    })
}
