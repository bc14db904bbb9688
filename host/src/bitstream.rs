//! Xilinx `.bit` files: the header (design, part, date, time) and the raw
//! configuration data, and the `.bit.bin` the Linux FPGA manager loads on a
//! Zynq UltraScale+ (docs/board.md).
//!
//! Layout (big-endian lengths): a 2-byte length and 9 bytes of magic
//! (`0F F0 0F F0 0F F0 0F F0 00`), a 2-byte field `00 01`, then the keys
//! `a` (design), `b` (part), `c` (date), `d` (time), each followed by a 2-byte
//! length and a NUL-terminated string, then `e` with a 4-byte length and the
//! configuration data, which contains the sync word `AA 99 55 66`.

use thiserror::Error;

const MAGIC: [u8; 11] = [
    0x00, 0x09, 0x0F, 0xF0, 0x0F, 0xF0, 0x0F, 0xF0, 0x0F, 0xF0, 0x00,
];
const SYNC: [u8; 4] = [0xAA, 0x99, 0x55, 0x66];

/// The part of the Kria K26 SOM (KV260), as Vivado writes it in `.bit` headers.
pub const KV260_PART: &str = "xck26";

/// A parsed `.bit` file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bitstream {
    pub design: String,
    /// Full part name, e.g. `xck26-sfvc784-2LV-c`.
    pub part: String,
    pub date: String,
    pub time: String,
    /// The configuration data (key `e`), big-endian words as Vivado writes them.
    pub data: Vec<u8>,
}

/// A `.bit` file that cannot be loaded.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum BitstreamError {
    #[error("not a Xilinx .bit file: the header magic is missing (a .bin or another file?)")]
    Magic,
    #[error("the .bit header is truncated at byte {at}: the file is incomplete (copy it again)")]
    Truncated { at: usize },
    #[error("the .bit file's configuration data is cut short: the header says {said} bytes from byte {at}, the file has {has}; the file is incomplete (copy it again)")]
    DataTruncated { at: usize, said: usize, has: usize },
    #[error("the .bit header has key {found:?} at byte {at} where {expected:?} was expected")]
    Key {
        at: usize,
        expected: char,
        found: char,
    },
    #[error("the .bit header's {field} is not text")]
    Text { field: &'static str },
    #[error("the configuration data has no sync word AA995566: the file is corrupt")]
    NoSync,
    #[error("the bitstream was built for part {part}, but this board is an {expected}: rebuild it for the board's part")]
    WrongPart { part: String, expected: String },
}

struct Reader<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], BitstreamError> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.b.len());
        let end = end.ok_or(BitstreamError::Truncated { at: self.at })?;
        let s = &self.b[self.at..end];
        self.at = end;
        Ok(s)
    }
    fn u16(&mut self) -> Result<usize, BitstreamError> {
        let s = self.take(2)?;
        Ok(usize::from(u16::from_be_bytes([s[0], s[1]])))
    }
    fn key(&mut self, expected: char) -> Result<(), BitstreamError> {
        let at = self.at;
        let k = self.take(1)?[0];
        if k != expected as u8 {
            return Err(BitstreamError::Key {
                at,
                expected,
                found: k as char,
            });
        }
        Ok(())
    }
    fn string(&mut self, field: &'static str) -> Result<String, BitstreamError> {
        let n = self.u16()?;
        let s = self.take(n)?;
        let s = s.strip_suffix(&[0]).unwrap_or(s);
        String::from_utf8(s.to_vec()).map_err(|_| BitstreamError::Text { field })
    }
}

impl Bitstream {
    /// Parse a `.bit` file.
    pub fn parse(bytes: &[u8]) -> Result<Self, BitstreamError> {
        if !bytes.starts_with(&MAGIC) {
            return Err(BitstreamError::Magic);
        }
        let mut r = Reader {
            b: bytes,
            at: MAGIC.len(),
        };
        if r.take(2)? != [0x00, 0x01] {
            return Err(BitstreamError::Magic);
        }
        r.key('a')?;
        let design = r.string("design name")?;
        r.key('b')?;
        let part = r.string("part name")?;
        r.key('c')?;
        let date = r.string("date")?;
        r.key('d')?;
        let time = r.string("time")?;
        r.key('e')?;
        let len = r.take(4)?;
        let len = u32::from_be_bytes([len[0], len[1], len[2], len[3]]) as usize;
        let at = r.at;
        let data = r
            .take(len)
            .map_err(|_| BitstreamError::DataTruncated {
                at,
                said: len,
                has: bytes.len() - at,
            })?
            .to_vec();
        if !data.windows(4).any(|w| w == SYNC) {
            return Err(BitstreamError::NoSync);
        }
        Ok(Self {
            design,
            part,
            date,
            time,
            data,
        })
    }

    /// Write a `.bit` file (for tests and tools).
    pub fn to_bit(&self) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        out.extend([0x00, 0x01]);
        for (key, s) in [
            (b'a', &self.design),
            (b'b', &self.part),
            (b'c', &self.date),
            (b'd', &self.time),
        ] {
            out.push(key);
            out.extend(((s.len() + 1) as u16).to_be_bytes());
            out.extend(s.as_bytes());
            out.push(0);
        }
        out.push(b'e');
        out.extend((self.data.len() as u32).to_be_bytes());
        out.extend(&self.data);
        out
    }

    /// Refuse a bitstream for another part: `expected` is a prefix such as
    /// [`KV260_PART`] (the package and speed grade may vary).
    pub fn check_part(&self, expected: &str) -> Result<(), BitstreamError> {
        if self
            .part
            .to_ascii_lowercase()
            .starts_with(&expected.to_ascii_lowercase())
        {
            Ok(())
        } else {
            Err(BitstreamError::WrongPart {
                part: self.part.clone(),
                expected: expected.to_string(),
            })
        }
    }

    /// The `.bit.bin` the Zynq UltraScale+ FPGA manager loads: the
    /// configuration data without the header, each 32-bit word byte-swapped
    /// (what `bootgen -arch zynqmp -process_bitstream bin` produces; untested
    /// on hardware, see docs/board.md). Data whose length is not a multiple of
    /// four is padded with zeros.
    pub fn to_bin(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.data.len().div_ceil(4) * 4);
        for w in self.data.chunks(4) {
            let mut word = [0u8; 4];
            word[..w.len()].copy_from_slice(w);
            word.reverse();
            out.extend(word);
        }
        out
    }

    /// A small synthetic bitstream with a valid header and sync word, for tests.
    pub fn synthetic(design: &str, part: &str, payload_words: usize) -> Self {
        let mut data = vec![0xFF; 32];
        data.extend([0x00, 0x00, 0x00, 0xBB, 0x11, 0x22, 0x00, 0x44]);
        data.extend([0xFF; 8]);
        data.extend(SYNC);
        for i in 0..payload_words as u32 {
            data.extend(i.wrapping_mul(0x9E37_79B9).to_be_bytes());
        }
        Self {
            design: design.to_string(),
            part: part.to_string(),
            date: "2026/11/23".into(),
            time: "12:00:00".into(),
            data,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let b = Bitstream::synthetic(
            "spikeslice_top;UserID=0XFFFFFFFF",
            "xck26-sfvc784-2LV-c",
            100,
        );
        let parsed = Bitstream::parse(&b.to_bit()).unwrap();
        assert_eq!(parsed, b);
        parsed.check_part(KV260_PART).unwrap();
    }

    #[test]
    fn bin_swaps_words_and_keeps_the_sync_word() {
        let b = Bitstream::synthetic("d", "xck26", 3);
        let bin = b.to_bin();
        assert_eq!(bin.len(), b.data.len());
        assert!(bin.windows(4).any(|w| w == [0x66, 0x55, 0x99, 0xAA]));
        assert_eq!(&bin[32..36], &[0xBB, 0x00, 0x00, 0x00]);
    }

    #[test]
    fn wrong_part_and_corruption_are_refused() {
        let b = Bitstream::synthetic("d", "xczu9eg-ffvb1156-2-e", 4);
        let e = Bitstream::parse(&b.to_bit())
            .unwrap()
            .check_part(KV260_PART)
            .unwrap_err();
        assert!(
            e.to_string().contains("xczu9eg") && e.to_string().contains("xck26"),
            "{e}"
        );
        let bit = Bitstream::synthetic("d", "xck26", 4).to_bit();
        let e = Bitstream::parse(&bit[..bit.len() - 3]).unwrap_err();
        assert!(matches!(e, BitstreamError::DataTruncated { .. }), "{e}");
        assert!(e.to_string().contains("cut short"), "{e}");
        let e = Bitstream::parse(&bit[..20]).unwrap_err();
        assert!(matches!(e, BitstreamError::Truncated { .. }), "{e}");
        assert_eq!(
            Bitstream::parse(b"PK\x03\x04zip").unwrap_err(),
            BitstreamError::Magic
        );
        let mut no_sync = Bitstream::synthetic("d", "xck26", 4);
        no_sync.data.retain(|&b| b != 0xAA);
        assert_eq!(
            Bitstream::parse(&no_sync.to_bit()).unwrap_err(),
            BitstreamError::NoSync
        );
    }
}
