//! The host <-> board wire protocol (docs/protocol.md): COBS-framed,
//! CRC-32-checked frames ([`frame`]), a stop-and-wait link with sequence
//! numbers, ACK/NAK and retransmission ([`link`]), and the messages
//! ([`message`]).

pub mod frame;
pub mod link;
pub mod message;

pub use frame::{crc32, PROTOCOL_VERSION};
pub use link::{Link, LinkError, LinkStats};
pub use message::{Counters, ErrorKind, Request, Response};
