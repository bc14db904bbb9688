//! Labelled image datasets: the two vendored sets, the standard file formats, and the
//! project's deterministic train/test split.
//!
//! Every dataset is a [`Dataset`]: unsigned integer pixels of a declared bit width,
//! stored sample-major, each sample channel-major (`C, H, W`, row-major), plus one
//! label `0..10` per sample.
//!
//! | source | function | shape | bits |
//! | --- | --- | --- | --- |
//! | vendored `data/mnist-5k.csv.gz` | [`load_mnist_5k`] | 1x28x28 | 8 |
//! | vendored `data/optdigits-1797.csv.gz` | [`load_optdigits`] | 1x8x8 | 5 (values 0..=16) |
//! | label-last integer CSV, plain or gzipped | [`read_csv`], [`parse_csv`] | given | given |
//! | MNIST / Fashion-MNIST IDX files, plain or gzipped | [`read_idx`] | 1xHxW | 8 |
//! | CIFAR-10 binary batches | [`read_cifar10`] | 3x32x32 | 8 |
//! | any of the above, from a `--data` argument | [`open`] | | |
//!
//! The two vendored files are embedded in the binary with `include_bytes!`, so they
//! load from any working directory. Their provenance, licences and checksums are in
//! `data/README.md`.
//!
//! Readers never panic on malformed input: they return a [`DataError`] whose message
//! names the file, says where (line and column, or byte offset) and what is wrong.
//! Gzip input is recognised by its magic bytes `1f 8b`, not by the file name.
//!
//! The split used for training and evaluation is [`stratified_split`]; the project's
//! standard split of mnist-5k is [`mnist_5k_split`] (4,000 train / 1,000 test). The
//! algorithm is documented on [`stratified_split`] precisely enough to reimplement.

use std::borrow::Cow;
use std::io::Read;
use std::path::{Path, PathBuf};

mod cifar;
mod csv;
mod idx;
mod split;

pub use cifar::read_cifar10;
pub use csv::{parse_csv, parse_unlabelled_csv, read_csv};
pub use idx::read_idx;
pub use split::{
    mnist_5k_split, split_indices, stratified_split, Split, SplitMix64, MNIST_5K_SPLIT_SEED,
    MNIST_5K_TEST_FRACTION,
};

/// Number of classes of every supported dataset (digits 0..=9, CIFAR-10 classes).
/// Labels are checked to be below this on load.
pub const CLASSES: usize = 10;

/// `data/mnist-5k.csv.gz`, embedded.
static MNIST_5K_CSV_GZ: &[u8] = include_bytes!("../../../data/mnist-5k.csv.gz");
/// `data/optdigits-1797.csv.gz`, embedded.
static OPTDIGITS_CSV_GZ: &[u8] = include_bytes!("../../../data/optdigits-1797.csv.gz");

/// A labelled image set: unsigned integer pixels, `bits` wide.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// A short human-readable name (`"mnist-5k"`, or the path the data came from).
    pub name: String,
    /// `[channels, height, width]`.
    pub shape: [usize; 3],
    /// Pixel bit width: every pixel is `< 2^bits` (mnist 8, optdigits 5, cifar 8).
    pub bits: u8,
    /// Number of classes; every label is `< classes`. Always [`CLASSES`] for the
    /// readers in this module.
    pub classes: usize,
    /// `len() * sample_len()` pixels, sample-major, each sample `C, H, W` row-major.
    pub pixels: Vec<u8>,
    /// One label per sample.
    pub labels: Vec<u8>,
}

impl Dataset {
    /// Builds a dataset from parts, checking every invariant: `1 <= bits <= 8`, a
    /// non-zero shape, `pixels.len() == labels.len() * C*H*W`, every pixel `< 2^bits`
    /// and every label `< classes`.
    pub fn new(
        name: impl Into<String>,
        shape: [usize; 3],
        bits: u8,
        classes: usize,
        pixels: Vec<u8>,
        labels: Vec<u8>,
    ) -> Result<Dataset, DataError> {
        let name = name.into();
        check_shape_bits(&name, shape, bits)?;
        let sample_len = shape_len(shape);
        if Some(pixels.len()) != labels.len().checked_mul(sample_len) {
            return Err(DataError::InvalidArgument {
                name,
                message: format!(
                    "{} pixels do not make {} samples of {}x{}x{} (= {} pixels each)",
                    pixels.len(),
                    labels.len(),
                    shape[0],
                    shape[1],
                    shape[2],
                    sample_len
                ),
            });
        }
        if let Some(i) = pixels.iter().position(|&p| u32::from(p) > max_value(bits)) {
            return Err(DataError::InvalidArgument {
                message: format!(
                    "pixel {} of sample {} is {}, which does not fit in {} bits",
                    i % sample_len,
                    i / sample_len,
                    pixels[i],
                    bits
                ),
                name,
            });
        }
        if let Some(i) = labels.iter().position(|&l| usize::from(l) >= classes) {
            return Err(DataError::Label {
                location: format!("sample {i}"),
                label: u64::from(labels[i]),
                classes,
                name,
            });
        }
        Ok(Dataset {
            name,
            shape,
            bits,
            classes,
            pixels,
            labels,
        })
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// `true` if there are no samples.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Pixels per sample: `C * H * W`.
    pub fn sample_len(&self) -> usize {
        shape_len(self.shape)
    }

    /// The pixels of sample `i` (`C, H, W`, row-major).
    ///
    /// # Panics
    /// If `i >= len()`, like slice indexing.
    pub fn sample(&self, i: usize) -> &[u8] {
        assert!(
            i < self.len(),
            "sample index {i} out of range for dataset '{}' of {} samples",
            self.name,
            self.len()
        );
        let n = self.sample_len();
        &self.pixels[i * n..(i + 1) * n]
    }

    /// A new dataset holding the samples at `indices`, in that order (repeats allowed).
    ///
    /// # Panics
    /// If any index is `>= len()`.
    pub fn subset(&self, indices: &[usize]) -> Dataset {
        let mut pixels = Vec::with_capacity(indices.len() * self.sample_len());
        let mut labels = Vec::with_capacity(indices.len());
        for &i in indices {
            pixels.extend_from_slice(self.sample(i));
            labels.push(self.labels[i]);
        }
        Dataset {
            name: self.name.clone(),
            shape: self.shape,
            bits: self.bits,
            classes: self.classes,
            pixels,
            labels,
        }
    }

    /// The first `min(n, len())` samples.
    pub fn take(&self, n: usize) -> Dataset {
        let n = n.min(self.len());
        Dataset {
            name: self.name.clone(),
            shape: self.shape,
            bits: self.bits,
            classes: self.classes,
            pixels: self.pixels[..n * self.sample_len()].to_vec(),
            labels: self.labels[..n].to_vec(),
        }
    }

    /// How many samples each class has: a vector of `classes` counts (labels
    /// `>= classes`, which a valid dataset does not have, are not counted).
    pub fn class_counts(&self) -> Vec<usize> {
        let mut counts = vec![0; self.classes];
        for &l in &self.labels {
            if let Some(c) = counts.get_mut(usize::from(l)) {
                *c += 1;
            }
        }
        counts
    }
}

/// Everything that can go wrong reading a dataset. Every message names the file (or
/// dataset) and says what is wrong and where.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// The file could not be read at all.
    #[error("{}: cannot read file: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The data starts with the gzip magic bytes but does not decompress.
    #[error(
        "{name}: cannot decompress gzip data ({source}); the file is probably truncated or \
         corrupt, download or copy it again"
    )]
    Gzip {
        name: String,
        #[source]
        source: std::io::Error,
    },
    /// The file holds no samples.
    #[error("{name}: no samples: the file is empty{detail}")]
    Empty { name: String, detail: &'static str },
    /// A malformed CSV line. `line` and `column` are 1-based.
    #[error("{name}: line {line}, column {column}: {message}")]
    Csv {
        name: String,
        line: usize,
        column: usize,
        message: String,
    },
    /// A binary file does not start with the magic number of the expected format.
    #[error(
        "{name}: bad magic number {found:#010x} at offset 0, expected {expected:#010x}: {hint}"
    )]
    BadMagic {
        name: String,
        found: u32,
        expected: u32,
        hint: &'static str,
    },
    /// A binary file is shorter than its header (or the format) requires.
    #[error(
        "{name}: truncated: expected {expected} bytes ({what}) but the file has {actual}; \
         the file is incomplete, download or copy it again"
    )]
    Truncated {
        name: String,
        expected: u64,
        actual: u64,
        what: String,
    },
    /// An images file and a labels file disagree on the number of samples.
    #[error(
        "{images} holds {n_images} images but {labels} holds {n_labels} labels; the two files \
         must belong together (both train or both t10k, from the same dataset)"
    )]
    CountMismatch {
        images: String,
        labels: String,
        n_images: u64,
        n_labels: u64,
    },
    /// A label is not a class of the dataset.
    #[error("{name}: {location}: label {label} out of range, labels must be below {classes}")]
    Label {
        name: String,
        location: String,
        label: u64,
        classes: usize,
    },
    /// Any other violation of a file format.
    #[error("{name}: {message}")]
    Format { name: String, message: String },
    /// A bad argument: shape, bit width, split fraction, empty batch list.
    #[error("{name}: {message}")]
    InvalidArgument { name: String, message: String },
    /// A `--data` argument that [`open`] cannot resolve.
    #[error("cannot open dataset '{spec}': {message}")]
    Spec { spec: String, message: String },
}

/// The 5,000-digit MNIST subset vendored as `data/mnist-5k.csv.gz` (500 per class,
/// sorted by class), embedded in the binary. Shape 1x28x28, 8 bits.
pub fn load_mnist_5k() -> Result<Dataset, DataError> {
    let mut d = parse_csv("mnist-5k.csv.gz", MNIST_5K_CSV_GZ, [1, 28, 28], 8)?;
    d.name = "mnist-5k".to_string();
    Ok(d)
}

/// The 1,797-digit UCI optdigits set vendored as `data/optdigits-1797.csv.gz`,
/// embedded in the binary. Shape 1x8x8; the values are counts 0..=16, so `bits` is 5.
pub fn load_optdigits() -> Result<Dataset, DataError> {
    let mut d = parse_csv("optdigits-1797.csv.gz", OPTDIGITS_CSV_GZ, [1, 8, 8], 5)?;
    d.name = "optdigits".to_string();
    Ok(d)
}

/// The names [`open`] accepts besides paths.
pub const BUILTIN_NAMES: [&str; 2] = ["mnist-5k", "optdigits"];

/// Resolves a user's `--data` argument. In order:
///
/// 1. `mnist-5k` or `optdigits`: the embedded sets (write `./mnist-5k` for a path of
///    that name).
/// 2. A directory:
///    * holding MNIST IDX files (`train-images-idx3-ubyte` or `t10k-images-idx3-ubyte`,
///      also spelt `*-images.idx3-ubyte`, gzipped or not, with the matching labels
///      file): the `train` part if present, else the `t10k` part;
///    * else holding CIFAR-10 binary batches (itself or its `cifar-10-batches-bin`
///      subdirectory): `data_batch_1.bin` .. `data_batch_5.bin` (those present, in
///      order) if any, else `test_batch.bin`.
///
///    To load the test part of a directory that holds both, name its file instead.
/// 3. A `.csv` or `.csv.gz` file (label last, see [`parse_csv`]); the shape is
///    inferred from the number of pixel columns: 784 -> 1x28x28 8 bits, 64 -> 1x8x8
///    5 bits, 3072 -> 3x32x32 8 bits; any other width is an error.
/// 4. An `*-images-idx3-ubyte[.gz]` (or `*-images.idx3-ubyte[.gz]`) file; its labels
///    file (`images` -> `labels`, `idx3` -> `idx1`, gzipped or not) must sit beside it.
/// 5. A `.bin` file: one CIFAR-10 binary batch.
///
/// The dataset's `name` is the spec for files, and `<spec>/train` or `<spec>/test`
/// for directories.
pub fn open(spec: &str) -> Result<Dataset, DataError> {
    match spec {
        "mnist-5k" => return load_mnist_5k(),
        "optdigits" => return load_optdigits(),
        _ => {}
    }
    let spec_err = |message: String| DataError::Spec {
        spec: spec.to_string(),
        message,
    };
    let path = Path::new(spec);
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(spec_err(format!(
                "no such file or directory, and not a built-in dataset name (built-ins: {})",
                BUILTIN_NAMES.join(", ")
            )))
        }
        Err(source) => {
            return Err(DataError::Io {
                path: path.to_path_buf(),
                source,
            })
        }
    };
    if meta.is_dir() {
        return open_dir(spec, path);
    }
    let file_name = path
        .file_name()
        .map(|f| f.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    let base = file_name.strip_suffix(".gz").unwrap_or(&file_name);
    let mut data = if base.ends_with(".csv") {
        open_csv(spec, path)?
    } else if base.contains("idx3-ubyte") {
        read_idx(path, &labels_beside(spec, path)?)?
    } else if base.contains("idx1-ubyte") {
        return Err(spec_err(
            "this is an IDX labels file; pass the images file (*-images-idx3-ubyte), and its \
             labels file is found beside it"
                .to_string(),
        ));
    } else if base.ends_with(".bin") {
        read_cifar10(&[path])?
    } else {
        return Err(spec_err(
            "unrecognised file type; expected a .csv or .csv.gz file, an \
             *-images-idx3-ubyte[.gz] file, a CIFAR-10 .bin batch, or a directory holding \
             MNIST IDX files or CIFAR-10 batches"
                .to_string(),
        ));
    };
    data.name = spec.to_string();
    Ok(data)
}

/// Reads a CSV, inferring its shape from the number of columns of its first row.
fn open_csv(spec: &str, path: &Path) -> Result<Dataset, DataError> {
    let name = path.display().to_string();
    let raw = read_file(path)?;
    let text = decompress_if_gz(&name, &raw)?;
    let Some(columns) = csv::first_row_columns(&text) else {
        return Err(DataError::Empty {
            name,
            detail: csv::EMPTY_DETAIL,
        });
    };
    let (shape, bits) = match columns.saturating_sub(1) {
        784 => ([1, 28, 28], 8),
        64 => ([1, 8, 8], 5),
        3072 => ([3, 32, 32], 8),
        n => {
            return Err(DataError::Spec {
                spec: spec.to_string(),
                message: format!(
                    "cannot infer the image shape from {columns} columns ({n} pixels + label); \
                     a dataset on its own has 785 (1x28x28, 8 bits), 65 (1x8x8, 5 bits) or 3073 \
                     (3x32x32, 8 bits); infer, run and budget read a CSV of any width with the \
                     shape of their --model, and infer --input also takes one without labels"
                ),
            })
        }
    };
    csv::parse_text(&name, &text, shape, bits)
}

/// The IDX image file names looked for in a directory, per part.
fn idx_image_names(part: &str) -> [String; 4] {
    [
        format!("{part}-images-idx3-ubyte"),
        format!("{part}-images-idx3-ubyte.gz"),
        format!("{part}-images.idx3-ubyte"),
        format!("{part}-images.idx3-ubyte.gz"),
    ]
}

fn open_dir(spec: &str, dir: &Path) -> Result<Dataset, DataError> {
    for (part, label) in [("train", "train"), ("t10k", "test")] {
        for candidate in idx_image_names(part) {
            let images = dir.join(&candidate);
            if images.is_file() {
                let mut d = read_idx(&images, &labels_beside(spec, &images)?)?;
                d.name = format!("{spec}/{label}");
                return Ok(d);
            }
        }
    }
    let cifar_dir = {
        let sub = dir.join("cifar-10-batches-bin");
        if sub.is_dir() {
            sub
        } else {
            dir.to_path_buf()
        }
    };
    let train: Vec<PathBuf> = (1..=5)
        .map(|i| cifar_dir.join(format!("data_batch_{i}.bin")))
        .filter(|p| p.is_file())
        .collect();
    let (batches, label) = if !train.is_empty() {
        (train, "train")
    } else {
        let test = cifar_dir.join("test_batch.bin");
        if !test.is_file() {
            return Err(DataError::Spec {
                spec: spec.to_string(),
                message: "the directory holds neither MNIST IDX files \
                          ({train,t10k}-images-idx3-ubyte[.gz] with their labels files) nor \
                          CIFAR-10 binary batches (data_batch_N.bin, test_batch.bin)"
                    .to_string(),
            });
        }
        (vec![test], "test")
    };
    let refs: Vec<&Path> = batches.iter().map(PathBuf::as_path).collect();
    let mut d = read_cifar10(&refs)?;
    d.name = format!("{spec}/{label}");
    Ok(d)
}

/// Finds the labels file beside an IDX images file: `images` -> `labels`,
/// `idx3` -> `idx1`, gzipped or not.
fn labels_beside(spec: &str, images: &Path) -> Result<PathBuf, DataError> {
    let file_name = images
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    let base = file_name.strip_suffix(".gz").unwrap_or(&file_name);
    let labels_base = base
        .replacen("images", "labels", 1)
        .replacen("idx3", "idx1", 1);
    let candidates = [labels_base.clone(), format!("{labels_base}.gz")];
    for c in &candidates {
        let p = images.with_file_name(c);
        if p.is_file() {
            return Ok(p);
        }
    }
    Err(DataError::Spec {
        spec: spec.to_string(),
        message: format!(
            "found the images file {} but no labels file beside it (looked for {} and {})",
            images.display(),
            candidates[0],
            candidates[1]
        ),
    })
}

/// Reads a whole file, naming it in the error.
pub(crate) fn read_file(path: &Path) -> Result<Vec<u8>, DataError> {
    std::fs::read(path).map_err(|source| DataError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Decompresses `bytes` if they start with the gzip magic `1f 8b` (all members of a
/// multi-member stream); otherwise borrows them unchanged.
pub(crate) fn decompress_if_gz<'a>(
    name: &str,
    bytes: &'a [u8],
) -> Result<Cow<'a, [u8]>, DataError> {
    if !bytes.starts_with(&[0x1f, 0x8b]) {
        return Ok(Cow::Borrowed(bytes));
    }
    let mut out = Vec::with_capacity(bytes.len().saturating_mul(4));
    flate2::read::MultiGzDecoder::new(bytes)
        .read_to_end(&mut out)
        .map_err(|source| DataError::Gzip {
            name: name.to_string(),
            source,
        })?;
    Ok(Cow::Owned(out))
}

/// `C * H * W` (saturating, so absurd shapes fail the checks instead of wrapping).
pub(crate) fn shape_len(shape: [usize; 3]) -> usize {
    shape[0].saturating_mul(shape[1]).saturating_mul(shape[2])
}

/// Largest pixel value of a `bits`-wide pixel (`bits` in 1..=8).
pub(crate) fn max_value(bits: u8) -> u32 {
    (1u32 << bits) - 1
}

/// Checks the caller-supplied format arguments: a non-zero, sane shape and `1 <= bits <= 8`.
pub(crate) fn check_shape_bits(name: &str, shape: [usize; 3], bits: u8) -> Result<(), DataError> {
    if !(1..=8).contains(&bits) {
        return Err(DataError::InvalidArgument {
            name: name.to_string(),
            message: format!("pixel bit width {bits} is not supported, it must be 1..=8"),
        });
    }
    if shape.contains(&0) || shape_len(shape) >= (1 << 30) {
        return Err(DataError::InvalidArgument {
            name: name.to_string(),
            message: format!(
                "image shape {}x{}x{} (CxHxW) is invalid: every dimension must be non-zero and \
                 the product below 2^30",
                shape[0], shape[1], shape[2]
            ),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny() -> Dataset {
        Dataset::new(
            "tiny",
            [1, 1, 2],
            2,
            10,
            vec![0, 1, 2, 3, 1, 1],
            vec![4, 5, 6],
        )
        .unwrap()
    }

    #[test]
    fn accessors() {
        let d = tiny();
        assert_eq!(d.len(), 3);
        assert!(!d.is_empty());
        assert_eq!(d.sample_len(), 2);
        assert_eq!(d.sample(1), &[2, 3]);
        let s = d.subset(&[2, 0, 2]);
        assert_eq!(s.pixels, vec![1, 1, 0, 1, 1, 1]);
        assert_eq!(s.labels, vec![6, 4, 6]);
        assert_eq!(d.take(2).labels, vec![4, 5]);
        assert_eq!(d.take(99), d);
        assert!(d.take(0).is_empty());
        assert_eq!(d.class_counts(), vec![0, 0, 0, 0, 1, 1, 1, 0, 0, 0]);
    }

    #[test]
    #[should_panic(expected = "out of range")]
    fn sample_out_of_range_panics() {
        tiny().sample(3);
    }

    #[test]
    fn new_checks_invariants() {
        let e = Dataset::new("x", [1, 1, 2], 2, 10, vec![0, 4], vec![0]).unwrap_err();
        assert!(e.to_string().contains("does not fit in 2 bits"), "{e}");
        let e = Dataset::new("x", [1, 1, 2], 2, 10, vec![0], vec![0]).unwrap_err();
        assert!(e.to_string().contains("do not make 1 samples"), "{e}");
        let e = Dataset::new("x", [1, 1, 2], 2, 3, vec![0, 0], vec![3]).unwrap_err();
        assert!(e.to_string().contains("label 3 out of range"), "{e}");
        let e = Dataset::new("x", [1, 0, 2], 2, 3, vec![], vec![]).unwrap_err();
        assert!(e.to_string().contains("1x0x2"), "{e}");
        let e = Dataset::new("x", [1, 1, 2], 9, 3, vec![], vec![]).unwrap_err();
        assert!(e.to_string().contains("bit width 9"), "{e}");
    }

    #[test]
    fn gzip_detected_by_magic() {
        use std::io::Write;
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(b"hello").unwrap();
        let gz = enc.finish().unwrap();
        assert_eq!(&*decompress_if_gz("t", &gz).unwrap(), b"hello");
        assert_eq!(&*decompress_if_gz("t", b"plain").unwrap(), b"plain");
        let e = decompress_if_gz("t.gz", &gz[..gz.len() / 2]).unwrap_err();
        assert!(
            e.to_string().starts_with("t.gz: cannot decompress gzip"),
            "{e}"
        );
    }
}
