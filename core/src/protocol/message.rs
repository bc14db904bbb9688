//! Messages between the host and the board daemon (docs/protocol.md §3),
//! serialized with postcard (compact, serde-based, made for wire formats).

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Largest data chunk of an upload, read or bitstream message: leaves room for
/// the message's own fields within one frame.
pub const MAX_CHUNK: usize = 32 * 1024;

/// What the host asks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Request {
    /// Version handshake; the answer carries the accelerator's identity.
    Hello { protocol: u32, client: String },
    /// Write `data` into the DMA window at `offset`.
    Upload { offset: u64, data: Vec<u8> },
    /// Read `len` bytes of the DMA window at `offset`.
    Read { offset: u64, len: u32 },
    /// Run the descriptor chain at `desc_offset` and wait for done.
    Run {
        desc_offset: u32,
        desc_count: u32,
        timeout_ms: u32,
    },
    /// Read the performance counters.
    Counters,
    /// Read the board's power sensor.
    Power,
    /// Start a bitstream upload: the whole image's length and CRC-32, checked
    /// before anything is loaded; the device-tree overlay comes with it.
    BitstreamBegin {
        name: String,
        bit_len: u64,
        bit_crc32: u32,
        dtbo: Vec<u8>,
    },
    /// One chunk of the bitstream, in order.
    BitstreamChunk { offset: u64, data: Vec<u8> },
    /// Check the whole image and load it.
    BitstreamCommit,
    /// Soft-reset the accelerator.
    Reset,
}

pub use crate::accel::counters::Counters;

/// What the board answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Response {
    Hello {
        protocol: u32,
        /// The `ID` register (0x53504B53 when an accelerator is loaded).
        id: u32,
        /// The `VERSION` register.
        version: u32,
        /// `(offset, value)` of every configuration register.
        config: Vec<(u32, u32)>,
        /// Size of the DMA window in bytes.
        window_bytes: u64,
    },
    Ok,
    Data(Vec<u8>),
    RunDone {
        status: u32,
        counters: Counters,
    },
    Counters(Counters),
    /// Power in microwatts, and the sensor's name.
    Power {
        microwatts: u64,
        sensor: String,
    },
    Error {
        kind: ErrorKind,
        message: String,
    },
}

/// Why the board refused or failed a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ErrorKind {
    /// The peer speaks another protocol version.
    Version,
    /// A message that did not decode.
    Malformed,
    /// An access outside the DMA window.
    OutOfWindow,
    /// The accelerator reported an error in STATUS.
    Accelerator,
    /// The run did not finish in time.
    Timeout,
    /// A bitstream that is corrupt, incomplete or for another part.
    Bitstream,
    /// Anything else on the board (I/O, sysfs).
    Board,
}

/// A payload that is not a message.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("malformed message: {0}")]
pub struct MessageError(pub String);

pub fn encode<T: Serialize>(m: &T) -> Vec<u8> {
    postcard::to_allocvec(m).expect("messages serialize")
}

pub fn decode<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> Result<T, MessageError> {
    postcard::from_bytes(bytes).map_err(|e| MessageError(e.to_string()))
}
