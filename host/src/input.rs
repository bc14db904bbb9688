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

/// Whether a dataset spec or file name is a CSV (plain or gzipped).
fn is_csv_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.ends_with(".csv") || lower.ends_with(".csv.gz")
}

/// Open a dataset and take the requested split and count.
pub fn open_dataset(spec: &str, split: Split, limit: Option<usize>) -> Result<Dataset> {
    open_split(dataset::open(spec)?, split, limit)
}

/// Open a dataset a model runs on: as [`open_dataset`], but a label-last CSV
/// of any width is read with the model's input shape and bits (a dataset on
/// its own can only infer the shape of the common image sizes).
pub fn open_dataset_for(
    model: &Model,
    spec: &str,
    split: Split,
    limit: Option<usize>,
) -> Result<Dataset> {
    let path = Path::new(spec);
    let shape = || match model.spec.input.shape.as_slice() {
        [n] => Ok([1, 1, *n]),
        [c, h, w] => Ok([*c, *h, *w]),
        other => Err(anyhow::anyhow!(
            "model {} has input shape {other:?}",
            model.spec.name
        )),
    };
    let bits = model.spec.input.bits.get();
    if spec == "-" {
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin().lock(), &mut bytes)
            .context("cannot read standard input")?;
        let data = dataset::parse_csv("standard input", &bytes, shape()?, bits)?;
        return open_split(data, split, limit);
    }
    if is_csv_name(spec) && path.is_file() {
        let mut data = dataset::read_csv(path, shape()?, bits)?;
        data.name = spec.to_string();
        return open_split(data, split, limit);
    }
    open_dataset(spec, split, limit)
}

fn open_split(data: Dataset, split: Split, limit: Option<usize>) -> Result<Dataset> {
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
/// a dataset. `-` reads the CSV from standard input.
pub fn from_file(model: &Model, path: &Path) -> Result<Samples> {
    let stdin = path.as_os_str() == "-";
    let bytes = if stdin {
        let mut b = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin().lock(), &mut b)
            .context("cannot read standard input")?;
        b
    } else {
        std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?
    };
    let name = if stdin {
        "standard input".to_string()
    } else {
        path.display().to_string()
    };
    if !stdin && !is_csv_name(&name) {
        let data = dataset::open(&name)?;
        return from_dataset(model, &data);
    }
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
