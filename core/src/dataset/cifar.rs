//! CIFAR-10 binary batches (`data_batch_1.bin` .. `data_batch_5.bin`, `test_batch.bin`
//! from `cifar-10-binary.tar.gz`).
//!
//! A batch is a sequence of 3073-byte records: one label byte (0..=9), then 3072 pixel
//! bytes: the 32x32 red plane, then green, then blue, each row-major. That is already
//! the `C, H, W` layout of [`Dataset`]. A batch may be gzipped (magic bytes `1f 8b`).

use std::path::Path;

use super::{decompress_if_gz, read_file, DataError, Dataset, CLASSES};

const PIXELS: usize = 3 * 32 * 32;
const RECORD: usize = 1 + PIXELS;

/// Reads and concatenates CIFAR-10 binary batches, in the order given. Errors on an
/// empty list, an empty file, a length that is not a multiple of 3073 bytes, or a label
/// above 9. The dataset (3x32x32, 8 bits) is named after the batch files, joined by `+`.
pub fn read_cifar10(batches: &[&Path]) -> Result<Dataset, DataError> {
    if batches.is_empty() {
        return Err(DataError::InvalidArgument {
            name: "cifar-10".to_string(),
            message: "no batch files given".to_string(),
        });
    }
    let mut pixels = Vec::new();
    let mut labels = Vec::new();
    let mut names = Vec::with_capacity(batches.len());
    for path in batches {
        let name = path.display().to_string();
        let raw = read_file(path)?;
        let bytes = decompress_if_gz(&name, &raw)?;
        parse_batch(&name, &bytes, &mut pixels, &mut labels)?;
        names.push(name);
    }
    Ok(Dataset {
        name: names.join("+"),
        shape: [3, 32, 32],
        bits: 8,
        classes: CLASSES,
        pixels,
        labels,
    })
}

/// Appends one batch's records to `pixels` and `labels`.
fn parse_batch(
    name: &str,
    bytes: &[u8],
    pixels: &mut Vec<u8>,
    labels: &mut Vec<u8>,
) -> Result<(), DataError> {
    if bytes.is_empty() {
        return Err(DataError::Empty {
            name: name.to_string(),
            detail: "",
        });
    }
    if !bytes.len().is_multiple_of(RECORD) {
        let cifar100 = if bytes.len().is_multiple_of(RECORD + 1) {
            "; its length is a multiple of 3074, as for CIFAR-100 batches (2 label bytes), \
             which are not supported"
        } else {
            ""
        };
        return Err(DataError::Format {
            name: name.to_string(),
            message: format!(
                "length {} bytes is not a multiple of the 3073-byte CIFAR-10 record (1 label byte \
                 + 3x32x32 pixel bytes): {} whole records then {} stray bytes at offset {}; the \
                 file is truncated or not a CIFAR-10 binary batch{cifar100}",
                bytes.len(),
                bytes.len() / RECORD,
                bytes.len() % RECORD,
                bytes.len() / RECORD * RECORD
            ),
        });
    }
    let n = bytes.len() / RECORD;
    pixels.reserve(n * PIXELS);
    labels.reserve(n);
    for (r, record) in bytes.chunks_exact(RECORD).enumerate() {
        let label = record[0];
        if usize::from(label) >= CLASSES {
            return Err(DataError::Label {
                name: name.to_string(),
                location: format!("record {r} (byte offset {})", r * RECORD),
                label: u64::from(label),
                classes: CLASSES,
            });
        }
        labels.push(label);
        pixels.extend_from_slice(&record[1..]);
    }
    Ok(())
}
