//! MNIST / Fashion-MNIST IDX files.
//!
//! An IDX file is a big-endian header followed by raw data:
//! * images (`*-images-idx3-ubyte`): magic `0x00000803` (unsigned bytes, 3 dimensions),
//!   then `u32` count, rows, columns, then `count * rows * columns` pixel bytes;
//! * labels (`*-labels-idx1-ubyte`): magic `0x00000801` (unsigned bytes, 1 dimension),
//!   then `u32` count, then `count` label bytes.
//!
//! Either file may be gzipped (recognised by the magic bytes `1f 8b`).

use std::path::Path;

use super::{decompress_if_gz, read_file, DataError, Dataset, CLASSES};

const IMAGES_MAGIC: u32 = 0x0000_0803;
const LABELS_MAGIC: u32 = 0x0000_0801;
const IMAGES_HEADER: usize = 16;
const LABELS_HEADER: usize = 8;

/// Reads an MNIST-style pair of IDX files (images `idx3-ubyte`, labels `idx1-ubyte`),
/// each gzipped or not. Checks the magic numbers, the dimensions, that each file is
/// exactly as long as its header says, that the counts match and that every label is
/// below 10. The result has shape `1 x rows x cols`, 8 bits, and is named after the
/// images file.
pub fn read_idx(images: &Path, labels: &Path) -> Result<Dataset, DataError> {
    let images_name = images.display().to_string();
    let labels_name = labels.display().to_string();

    let raw = read_file(images)?;
    let image_bytes = decompress_if_gz(&images_name, &raw)?;
    let (n_images, rows, cols, pixels) = parse_images(&images_name, &image_bytes)?;

    let raw = read_file(labels)?;
    let label_bytes = decompress_if_gz(&labels_name, &raw)?;
    let (n_labels, label_data) = parse_labels(&labels_name, &label_bytes)?;

    if n_images != n_labels {
        return Err(DataError::CountMismatch {
            images: images_name,
            labels: labels_name,
            n_images: u64::from(n_images),
            n_labels: u64::from(n_labels),
        });
    }
    if let Some(i) = label_data.iter().position(|&l| usize::from(l) >= CLASSES) {
        return Err(DataError::Label {
            name: labels_name,
            location: format!("label {i} (byte offset {})", LABELS_HEADER + i),
            label: u64::from(label_data[i]),
            classes: CLASSES,
        });
    }
    Ok(Dataset {
        name: images_name,
        shape: [1, rows as usize, cols as usize],
        bits: 8,
        classes: CLASSES,
        pixels: pixels.to_vec(),
        labels: label_data.to_vec(),
    })
}

fn be_u32(bytes: &[u8], offset: usize) -> u32 {
    let mut b = [0u8; 4];
    b.copy_from_slice(&bytes[offset..offset + 4]);
    u32::from_be_bytes(b)
}

/// Checks the header length and magic number common to both kinds of file.
fn check_header(
    name: &str,
    bytes: &[u8],
    header_len: usize,
    magic: u32,
    what: &str,
) -> Result<(), DataError> {
    if bytes.is_empty() {
        return Err(DataError::Empty {
            name: name.to_string(),
            detail: "",
        });
    }
    if bytes.len() >= 4 {
        let found = be_u32(bytes, 0);
        if found != magic {
            let hint = match (magic, found) {
                (IMAGES_MAGIC, LABELS_MAGIC) => {
                    "this is an IDX labels file (idx1-ubyte), not an images file; are the images \
                     and labels paths swapped?"
                }
                (LABELS_MAGIC, IMAGES_MAGIC) => {
                    "this is an IDX images file (idx3-ubyte), not a labels file; are the images \
                     and labels paths swapped?"
                }
                (IMAGES_MAGIC, _) => {
                    "not an IDX unsigned-byte 3-dimensional images file (idx3-ubyte)"
                }
                _ => "not an IDX unsigned-byte 1-dimensional labels file (idx1-ubyte)",
            };
            return Err(DataError::BadMagic {
                name: name.to_string(),
                found,
                expected: magic,
                hint,
            });
        }
    }
    if bytes.len() < header_len {
        return Err(DataError::Truncated {
            name: name.to_string(),
            expected: header_len as u64,
            actual: bytes.len() as u64,
            what: format!("the {header_len}-byte IDX {what} header"),
        });
    }
    Ok(())
}

/// Checks that the data after the header is exactly `expected` bytes long.
fn check_body(
    name: &str,
    bytes: &[u8],
    header_len: usize,
    body: u64,
    what: String,
) -> Result<(), DataError> {
    let expected = header_len as u64 + body;
    let actual = bytes.len() as u64;
    if actual < expected {
        return Err(DataError::Truncated {
            name: name.to_string(),
            expected,
            actual,
            what: format!("{header_len}-byte header + {what}"),
        });
    }
    if actual > expected {
        return Err(DataError::Format {
            name: name.to_string(),
            message: format!(
                "{} unexpected bytes after the end of the data at offset {expected}; the header \
                 declares {what}",
                actual - expected
            ),
        });
    }
    Ok(())
}

/// Returns `(count, rows, cols, pixel bytes)`.
fn parse_images<'a>(name: &str, bytes: &'a [u8]) -> Result<(u32, u32, u32, &'a [u8]), DataError> {
    check_header(name, bytes, IMAGES_HEADER, IMAGES_MAGIC, "images")?;
    let (n, rows, cols) = (be_u32(bytes, 4), be_u32(bytes, 8), be_u32(bytes, 12));
    if n == 0 {
        return Err(DataError::Format {
            name: name.to_string(),
            message: "the header declares 0 images (byte offset 4)".to_string(),
        });
    }
    if rows == 0 || cols == 0 || u64::from(rows) * u64::from(cols) >= 1 << 30 {
        return Err(DataError::Format {
            name: name.to_string(),
            message: format!(
                "the header declares images of {rows}x{cols} pixels (byte offsets 8 and 12), \
                 which is not a usable image size"
            ),
        });
    }
    let body = u64::from(n) * u64::from(rows) * u64::from(cols); // < 2^62, no overflow
    check_body(
        name,
        bytes,
        IMAGES_HEADER,
        body,
        format!("{n} images of {rows}x{cols} bytes"),
    )?;
    Ok((n, rows, cols, &bytes[IMAGES_HEADER..]))
}

/// Returns `(count, label bytes)`.
fn parse_labels<'a>(name: &str, bytes: &'a [u8]) -> Result<(u32, &'a [u8]), DataError> {
    check_header(name, bytes, LABELS_HEADER, LABELS_MAGIC, "labels")?;
    let n = be_u32(bytes, 4);
    check_body(
        name,
        bytes,
        LABELS_HEADER,
        u64::from(n),
        format!("{n} label bytes"),
    )?;
    Ok((n, &bytes[LABELS_HEADER..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_header_is_truncated() {
        let e = parse_images("x", &[0, 0, 8, 3, 0, 0]).unwrap_err();
        assert!(
            e.to_string()
                .contains("truncated: expected 16 bytes (the 16-byte IDX images header)"),
            "{e}"
        );
        let e = parse_images("x", &[0, 0, 8]).unwrap_err();
        assert!(e.to_string().contains("truncated"), "{e}");
    }

    #[test]
    fn zero_size_images_rejected() {
        let mut b = vec![0, 0, 8, 3, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 5];
        let e = parse_images("x", &b).unwrap_err();
        assert!(e.to_string().contains("0x5 pixels"), "{e}");
        b[7] = 0;
        let e = parse_images("x", &b).unwrap_err();
        assert!(e.to_string().contains("declares 0 images"), "{e}");
    }

    #[test]
    fn huge_header_is_truncated_not_overflow() {
        let b = [0, 0, 8, 3, 255, 255, 255, 255, 0, 0, 64, 0, 0, 0, 64, 0];
        let e = parse_images("x", &b).unwrap_err();
        assert!(e.to_string().contains("truncated"), "{e}");
    }
}
