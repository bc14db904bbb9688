//! Frames: the unit the link sends (docs/protocol.md §1).
//!
//! ```text
//! 0     1        protocol version
//! 1     1        kind: 0 data, 1 ack, 2 nak
//! 2     2        sequence number (u16 LE)
//! 4     4        payload length n (u32 LE)
//! 8     n        payload
//! 8+n   4        CRC-32/ISO-HDLC of bytes 0..8+n (LE)
//! ```
//!
//! On the wire each frame is COBS-encoded and followed by one 0x00 byte, so a
//! receiver resynchronizes at the next zero after any corruption or loss.

use thiserror::Error;

/// The protocol version this build speaks.
pub const PROTOCOL_VERSION: u8 = 1;
/// Largest payload of one frame.
pub const MAX_PAYLOAD: usize = 64 * 1024;
const HEADER: usize = 8;
const TRAILER: usize = 4;
/// Largest encoded frame on the wire, delimiter included.
pub const MAX_WIRE_FRAME: usize =
    HEADER + MAX_PAYLOAD + TRAILER + (HEADER + MAX_PAYLOAD + TRAILER) / 254 + 2;

const CRC32: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC);

/// CRC-32/ISO-HDLC (the Ethernet and zlib CRC), as every frame carries it.
pub fn crc32(bytes: &[u8]) -> u32 {
    CRC32.checksum(bytes)
}

/// What a frame is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Data = 0,
    Ack = 1,
    Nak = 2,
}

/// A decoded frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub kind: Kind,
    pub seq: u16,
    pub payload: Vec<u8>,
}

/// A frame that did not decode. The link answers with a NAK and goes on.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FrameError {
    #[error("a frame exceeded the {max}-byte limit before its delimiter; it was discarded")]
    Oversize { max: usize },
    #[error("a frame is not valid COBS; it was discarded")]
    Cobs,
    #[error("a frame of {len} bytes is shorter than a header and CRC")]
    Short { len: usize },
    #[error("a frame failed its CRC (carried 0x{carried:08X}, computed 0x{computed:08X})")]
    Crc { carried: u32, computed: u32 },
    #[error("a frame speaks protocol version {found}; this side speaks {PROTOCOL_VERSION}")]
    Version { found: u8 },
    #[error("a frame has unknown kind {0}")]
    Kind(u8),
    #[error("a frame says its payload has {said} bytes but carries {carried}")]
    Length { said: usize, carried: usize },
    #[error("a frame carries a {len}-byte payload, over the {MAX_PAYLOAD}-byte limit of protocol version {PROTOCOL_VERSION}")]
    PayloadTooLarge { len: usize },
}

impl Frame {
    pub fn data(seq: u16, payload: Vec<u8>) -> Self {
        Self {
            kind: Kind::Data,
            seq,
            payload,
        }
    }
    pub fn ack(seq: u16) -> Self {
        Self {
            kind: Kind::Ack,
            seq,
            payload: Vec::new(),
        }
    }
    pub fn nak(seq: u16) -> Self {
        Self {
            kind: Kind::Nak,
            seq,
            payload: Vec::new(),
        }
    }

    /// The frame's bytes on the wire: COBS, then the 0x00 delimiter.
    ///
    /// # Panics
    /// If the payload exceeds [`MAX_PAYLOAD`]: callers chunk their data.
    pub fn encode(&self) -> Vec<u8> {
        assert!(
            self.payload.len() <= MAX_PAYLOAD,
            "payload over MAX_PAYLOAD"
        );
        let mut raw = Vec::with_capacity(HEADER + self.payload.len() + TRAILER);
        raw.push(PROTOCOL_VERSION);
        raw.push(self.kind as u8);
        raw.extend_from_slice(&self.seq.to_le_bytes());
        raw.extend_from_slice(&(self.payload.len() as u32).to_le_bytes());
        raw.extend_from_slice(&self.payload);
        raw.extend_from_slice(&crc32(&raw).to_le_bytes());
        let mut wire = cobs::encode_vec(&raw);
        wire.push(0);
        wire
    }

    /// Decode one frame's COBS bytes (without the delimiter).
    pub fn decode(encoded: &[u8]) -> Result<Self, FrameError> {
        let raw = cobs::decode_vec(encoded).map_err(|_| FrameError::Cobs)?;
        if raw.len() < HEADER + TRAILER {
            return Err(FrameError::Short { len: raw.len() });
        }
        let body = raw.len() - TRAILER;
        let carried = u32::from_le_bytes(raw[body..].try_into().expect("4 bytes"));
        let computed = crc32(&raw[..body]);
        if carried != computed {
            return Err(FrameError::Crc { carried, computed });
        }
        if raw[0] != PROTOCOL_VERSION {
            return Err(FrameError::Version { found: raw[0] });
        }
        let kind = match raw[1] {
            0 => Kind::Data,
            1 => Kind::Ack,
            2 => Kind::Nak,
            k => return Err(FrameError::Kind(k)),
        };
        let seq = u16::from_le_bytes([raw[2], raw[3]]);
        let said = u32::from_le_bytes(raw[4..8].try_into().expect("4 bytes")) as usize;
        if said != body - HEADER {
            return Err(FrameError::Length {
                said,
                carried: body - HEADER,
            });
        }
        // The wire limit (MAX_WIRE_FRAME) leaves COBS slack, so a well-formed
        // frame slightly over the payload limit fits through it: refuse it here,
        // as the sender would have (found by fuzz/frame_decoder).
        if said > MAX_PAYLOAD {
            return Err(FrameError::PayloadTooLarge { len: said });
        }
        Ok(Self {
            kind,
            seq,
            payload: raw[HEADER..body].to_vec(),
        })
    }
}

/// Splits a byte stream into frames at the delimiters.
#[derive(Debug, Default)]
pub struct Decoder {
    buf: Vec<u8>,
    discarding: bool,
}

impl Decoder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Feed received bytes; returns every frame (or frame error) they complete.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<Result<Frame, FrameError>> {
        let mut out = Vec::new();
        for &b in bytes {
            if b == 0 {
                if self.discarding {
                    self.discarding = false;
                } else if !self.buf.is_empty() {
                    out.push(Frame::decode(&self.buf));
                }
                self.buf.clear();
            } else if !self.discarding {
                if self.buf.len() >= MAX_WIRE_FRAME {
                    // Drop everything up to the next delimiter: a frame this long
                    // is garbage or an attack, and must not grow memory.
                    out.push(Err(FrameError::Oversize {
                        max: MAX_WIRE_FRAME,
                    }));
                    self.buf.clear();
                    self.discarding = true;
                } else {
                    self.buf.push(b);
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_delimiter() {
        let f = Frame::data(7, vec![0, 1, 0, 2, 255, 0]);
        let wire = f.encode();
        assert_eq!(wire.last(), Some(&0));
        assert!(!wire[..wire.len() - 1].contains(&0), "COBS removes zeros");
        let mut d = Decoder::new();
        assert_eq!(d.push(&wire), vec![Ok(f)]);
    }

    #[test]
    fn every_single_bit_flip_is_detected() {
        let f = Frame::data(300, (0..200u8).collect());
        let wire = f.encode();
        for i in 0..wire.len() - 1 {
            for bit in 0..8 {
                let mut w = wire.clone();
                w[i] ^= 1 << bit;
                let got = Decoder::new().push(&w);
                assert!(
                    got.iter().all(|r| r.as_ref() != Ok(&f)) && !got.iter().any(|r| r.is_ok()),
                    "flip of byte {i} bit {bit} went unnoticed: {got:?}"
                );
            }
        }
    }

    #[test]
    fn a_payload_one_byte_over_the_limit_is_refused() {
        // Build the frame by hand: `encode` itself refuses such a payload.
        let payload = vec![0xA5u8; MAX_PAYLOAD + 1];
        let mut raw = vec![PROTOCOL_VERSION, Kind::Data as u8, 9, 0];
        raw.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        raw.extend_from_slice(&payload);
        raw.extend_from_slice(&crc32(&raw).to_le_bytes());
        let mut wire = cobs::encode_vec(&raw);
        assert!(wire.len() <= MAX_WIRE_FRAME, "fits through the wire limit");
        wire.push(0);
        let got = Decoder::new().push(&wire);
        assert_eq!(
            got,
            vec![Err(FrameError::PayloadTooLarge {
                len: MAX_PAYLOAD + 1
            })]
        );
        assert!(got[0]
            .as_ref()
            .unwrap_err()
            .to_string()
            .contains("65536-byte limit"));
        // Exactly at the limit still decodes.
        let f = Frame::data(10, vec![0xA5u8; MAX_PAYLOAD]);
        assert_eq!(Decoder::new().push(&f.encode()), vec![Ok(f)]);
    }

    #[test]
    fn oversize_input_is_bounded_and_recovers() {
        let mut d = Decoder::new();
        let junk = vec![0x55u8; MAX_WIRE_FRAME + 10];
        let r = d.push(&junk);
        assert_eq!(
            r,
            vec![Err(FrameError::Oversize {
                max: MAX_WIRE_FRAME
            })]
        );
        assert!(d.buf.len() <= MAX_WIRE_FRAME);
        // The next delimiter ends the discard; the following frame decodes.
        let f = Frame::ack(3);
        let mut stream = vec![0u8];
        stream.extend(f.encode());
        assert_eq!(d.push(&stream), vec![Ok(f)]);
    }
}
