//! Integer CSV readers: labelled (pixels then label) and unlabelled (inputs only).
//!
//! Format accepted by both:
//! * one sample per line, values separated by `,`; `\n` or `\r\n` line ends;
//! * values are unsigned decimal integers, optionally surrounded by spaces or tabs;
//! * blank lines and lines whose first non-blank character is `#` are ignored;
//! * a UTF-8 byte-order mark at the start is ignored;
//! * the whole input may be gzipped (recognised by the magic bytes `1f 8b`).
//!
//! Labelled CSVs may also start with one header line, recognised by containing an ASCII
//! letter. It must have the same number of columns as the rows. If its first column is
//! named `label`, `class`, `target` or `y` (any case) the label is the first column of
//! every row; otherwise (and always when there is no header) it is the last.

use std::path::Path;

use super::{
    check_shape_bits, decompress_if_gz, max_value, read_file, shape_len, DataError, Dataset,
    CLASSES,
};

/// Appended to the [`DataError::Empty`] message for text files.
pub(super) const EMPTY_DETAIL: &str = " or holds only blank, comment and header lines";

/// Reads a label-last integer CSV (see [`parse_csv`]), gzipped or plain (by magic
/// bytes). The dataset is named after the file, minus `.gz` and `.csv`.
pub fn read_csv(path: &Path, shape: [usize; 3], bits: u8) -> Result<Dataset, DataError> {
    let display = path.display().to_string();
    let bytes = read_file(path)?;
    let mut d = parse_csv(&display, &bytes, shape, bits)?;
    let file_name = path
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or(display);
    let stem = file_name.strip_suffix(".gz").unwrap_or(&file_name);
    d.name = stem.strip_suffix(".csv").unwrap_or(stem).to_string();
    Ok(d)
}

/// Parses a labelled integer CSV held in memory (gzipped or plain, by magic bytes):
/// each row is `C*H*W` pixel values (`C, H, W` row-major) then the label (or the label
/// first, if a header says so; see the module docs). Every pixel must be `< 2^bits`,
/// every label `< 10`, and every row must have exactly `C*H*W + 1` values. `name` is
/// used in error messages and as the dataset's name.
pub fn parse_csv(
    name: &str,
    bytes: &[u8],
    shape: [usize; 3],
    bits: u8,
) -> Result<Dataset, DataError> {
    check_shape_bits(name, shape, bits)?;
    let text = decompress_if_gz(name, bytes)?;
    parse_text(name, &text, shape, bits)
}

/// Why a CSV field is not an acceptable unsigned integer.
enum FieldError {
    Empty,
    NotInteger,
    TooLarge,
}

/// Parses one field as a `u32`, allowing surrounding spaces and tabs.
#[inline]
fn parse_field(field: &[u8]) -> Result<u32, FieldError> {
    let field = trim(field);
    if field.is_empty() {
        return Err(FieldError::Empty);
    }
    let mut v: u32 = 0;
    for &b in field {
        let d = b.wrapping_sub(b'0');
        if d > 9 {
            return Err(FieldError::NotInteger);
        }
        v = match v.checked_mul(10).and_then(|v| v.checked_add(u32::from(d))) {
            Some(v) => v,
            None => {
                // Still report a non-digit later in the field as what it is.
                return Err(if field.iter().all(u8::is_ascii_digit) {
                    FieldError::TooLarge
                } else {
                    FieldError::NotInteger
                });
            }
        };
    }
    Ok(v)
}

fn describe(err: FieldError, field: &[u8]) -> String {
    let shown: String = String::from_utf8_lossy(trim(field))
        .chars()
        .take(24)
        .collect();
    match err {
        FieldError::Empty => {
            "empty value (two commas in a row, or a comma at the end of the line?)".to_string()
        }
        FieldError::NotInteger => format!("'{shown}' is not an unsigned decimal integer"),
        FieldError::TooLarge => format!("'{shown}' is too large"),
    }
}

fn trim(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

/// The lines of `text` with 1-based line numbers, `\r` stripped, BOM skipped, and
/// blank and `#` comment lines dropped.
fn content_lines(text: &[u8]) -> impl Iterator<Item = (usize, &[u8])> {
    let text = text.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(text);
    text.split(|&b| b == b'\n')
        .enumerate()
        .filter_map(|(i, line)| {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            match trim(line).first() {
                None | Some(b'#') => None,
                Some(_) => Some((i + 1, line)),
            }
        })
}

fn is_header(line: &[u8]) -> bool {
    line.iter().any(u8::is_ascii_alphabetic)
}

fn count_fields(line: &[u8]) -> usize {
    line.iter().filter(|&&b| b == b',').count() + 1
}

/// Number of columns of the first content line (header or data), if any.
pub(super) fn first_row_columns(text: &[u8]) -> Option<usize> {
    content_lines(text)
        .next()
        .map(|(_, line)| count_fields(line))
}

/// Parses decompressed labelled CSV text. `shape` and `bits` must be checked already.
pub(super) fn parse_text(
    name: &str,
    text: &[u8],
    shape: [usize; 3],
    bits: u8,
) -> Result<Dataset, DataError> {
    let n_px = shape_len(shape);
    let columns = n_px + 1;
    let max = max_value(bits);
    let err = |line: usize, column: usize, message: String| DataError::Csv {
        name: name.to_string(),
        line,
        column,
        message,
    };

    // Typical rows are ~2-4 bytes per value; over-reserving a little is cheap.
    let est_rows = text.len() / (2 * columns) + 1;
    let mut pixels: Vec<u8> = Vec::with_capacity(est_rows.saturating_mul(n_px).min(1 << 28));
    let mut labels: Vec<u8> = Vec::with_capacity(est_rows.min(1 << 24));
    let mut label_col = n_px;
    let mut first = true;

    for (line_no, line) in content_lines(text) {
        if std::mem::take(&mut first) && is_header(line) {
            let n = count_fields(line);
            if n != columns {
                return Err(err(
                    line_no,
                    1,
                    format!(
                        "header has {n} columns, expected {columns} ({n_px} pixels of a \
                         {}x{}x{} image, and the label)",
                        shape[0], shape[1], shape[2]
                    ),
                ));
            }
            let first_col = line
                .split(|&b| b == b',')
                .next()
                .map(trim)
                .unwrap_or_default();
            if [&b"label"[..], b"class", b"target", b"y"]
                .iter()
                .any(|n| first_col.eq_ignore_ascii_case(n))
            {
                label_col = 0;
            }
            continue;
        }
        let mut col = 0usize;
        for field in line.split(|&b| b == b',') {
            if col == columns {
                return Err(err(
                    line_no,
                    columns + 1,
                    format!(
                        "too many values: expected {columns} ({n_px} pixels and the label), \
                         found {}",
                        count_fields(line)
                    ),
                ));
            }
            let v = parse_field(field).map_err(|e| err(line_no, col + 1, describe(e, field)))?;
            if col == label_col {
                if v as usize >= CLASSES {
                    return Err(DataError::Label {
                        name: name.to_string(),
                        location: format!("line {line_no}, column {}", col + 1),
                        label: u64::from(v),
                        classes: CLASSES,
                    });
                }
                labels.push(v as u8);
            } else {
                if v > max {
                    return Err(err(
                        line_no,
                        col + 1,
                        format!("pixel value {v} does not fit in {bits} bits (must be 0..={max})"),
                    ));
                }
                pixels.push(v as u8);
            }
            col += 1;
        }
        if col != columns {
            return Err(err(
                line_no,
                col + 1,
                format!(
                    "too few values: expected {columns} ({n_px} pixels and the label), found {col}"
                ),
            ));
        }
    }
    if labels.is_empty() {
        return Err(DataError::Empty {
            name: name.to_string(),
            detail: EMPTY_DETAIL,
        });
    }
    Ok(Dataset {
        name: name.to_string(),
        shape,
        bits,
        classes: CLASSES,
        pixels,
        labels,
    })
}

/// Parses a plain integer CSV of unlabelled inputs (gzipped or plain, by magic bytes):
/// one sample per line, comma-separated unsigned integers (`u32`). Blank lines and lines
/// starting with `#` are ignored; there is no header. Every sample must have the same
/// number of values as the first. An input with no samples is an error.
pub fn parse_unlabelled_csv(name: &str, bytes: &[u8]) -> Result<Vec<Vec<u32>>, DataError> {
    let text = decompress_if_gz(name, bytes)?;
    let mut rows: Vec<Vec<u32>> = Vec::new();
    let mut width: Option<(usize, usize)> = None; // (values, line of the first sample)
    for (line_no, line) in content_lines(&text) {
        let mut row = Vec::with_capacity(width.map_or(16, |(w, _)| w));
        for (col, field) in line.split(|&b| b == b',').enumerate() {
            let v = parse_field(field).map_err(|e| DataError::Csv {
                name: name.to_string(),
                line: line_no,
                column: col + 1,
                message: describe(e, field),
            })?;
            row.push(v);
        }
        match width {
            None => width = Some((row.len(), line_no)),
            Some((w, first_line)) if w != row.len() => {
                return Err(DataError::Csv {
                    name: name.to_string(),
                    line: line_no,
                    column: row.len().min(w) + 1,
                    message: format!(
                        "{} values, but the first sample (line {first_line}) has {w}; every \
                         sample must have the same number of values",
                        row.len()
                    ),
                });
            }
            Some(_) => {}
        }
        rows.push(row);
    }
    if rows.is_empty() {
        return Err(DataError::Empty {
            name: name.to_string(),
            detail: " or holds only blank and comment lines",
        });
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields() {
        assert!(matches!(parse_field(b" 12\t"), Ok(12)));
        assert!(matches!(parse_field(b"4294967295"), Ok(u32::MAX)));
        assert!(matches!(
            parse_field(b"4294967296"),
            Err(FieldError::TooLarge)
        ));
        assert!(matches!(
            parse_field(b"99999999999x"),
            Err(FieldError::NotInteger)
        ));
        assert!(matches!(parse_field(b"-1"), Err(FieldError::NotInteger)));
        assert!(matches!(parse_field(b"1.0"), Err(FieldError::NotInteger)));
        assert!(matches!(parse_field(b"1 2"), Err(FieldError::NotInteger)));
        assert!(matches!(parse_field(b"  "), Err(FieldError::Empty)));
    }

    #[test]
    fn header_label_first_crlf_bom_comments() {
        let text = b"\xEF\xBB\xBFlabel,p0,p1\r\n# comment\r\n\r\n3, 1,2\r\n9,0,0\r\n";
        let d = parse_csv("t.csv", text, [1, 1, 2], 2).unwrap();
        assert_eq!(d.labels, vec![3, 9]);
        assert_eq!(d.pixels, vec![1, 2, 0, 0]);
        let d = parse_csv("t.csv", b"p0,p1,label\n1,2,3\n", [1, 1, 2], 2).unwrap();
        assert_eq!((d.pixels, d.labels), (vec![1, 2], vec![3]));
    }

    #[test]
    fn no_trailing_newline() {
        let d = parse_csv("t.csv", b"1,2,3\n0,1,4", [1, 1, 2], 2).unwrap();
        assert_eq!(d.labels, vec![3, 4]);
    }

    #[test]
    fn bad_header_width() {
        let e = parse_csv("t.csv", b"a,b\n1,2,3\n", [1, 1, 2], 2).unwrap_err();
        assert!(
            e.to_string()
                .contains("t.csv: line 1, column 1: header has 2 columns, expected 3"),
            "{e}"
        );
    }

    #[test]
    fn unlabelled() {
        let rows = parse_unlabelled_csv("in.csv", b"# inputs\n1,2,3\n\n4, 5 ,6\n").unwrap();
        assert_eq!(rows, vec![vec![1, 2, 3], vec![4, 5, 6]]);
        let e = parse_unlabelled_csv("in.csv", b"1,2,3\n4,x,6\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "in.csv: line 2, column 2: 'x' is not an unsigned decimal integer"
        );
        let e = parse_unlabelled_csv("in.csv", b"1,2,3\n4,5\n").unwrap_err();
        assert!(
            e.to_string()
                .contains("line 2, column 3: 2 values, but the first sample (line 1) has 3"),
            "{e}"
        );
        let e = parse_unlabelled_csv("in.csv", b"\n# nothing\n").unwrap_err();
        assert!(e.to_string().contains("no samples"), "{e}");
        let e = parse_unlabelled_csv("in.csv", b"1,,3\n").unwrap_err();
        assert!(e.to_string().contains("column 2: empty value"), "{e}");
    }
}
