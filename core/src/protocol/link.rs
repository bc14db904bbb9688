//! The link: reliable, ordered delivery of payloads over a byte stream
//! (serial port or TCP) with stop-and-wait ARQ (docs/protocol.md §2).
//!
//! Each data frame carries a sequence number. The receiver ACKs a good frame
//! (and drops a duplicate after ACKing it again, for when the ACK was lost) and
//! NAKs a corrupted one; the sender retransmits on a NAK or when no ACK comes
//! within the timeout, up to a retry limit.

use super::frame::{Decoder, Frame, FrameError, Kind, MAX_PAYLOAD};
use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::time::{Duration, Instant};
use thiserror::Error;

/// Why the link gave up.
#[derive(Debug, Error)]
pub enum LinkError {
    #[error("no acknowledgement after {attempts} attempts: is the board running spikeslice-fw, and the port and baud rate right?")]
    NoAck { attempts: u32 },
    #[error("timed out after {0:?} waiting for a message")]
    Timeout(Duration),
    #[error("the link was closed by the other side")]
    Closed,
    #[error("a {len}-byte payload exceeds the {MAX_PAYLOAD}-byte frame limit")]
    TooLarge { len: usize },
    #[error("link I/O error: {0}")]
    Io(#[from] io::Error),
}

/// Counts of what went wrong and was repaired, for tests and diagnostics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LinkStats {
    pub frames_sent: u64,
    pub retransmits: u64,
    pub bad_frames: u64,
    pub duplicates: u64,
}

/// One end of a link over a byte stream whose reads time out (a serial port
/// or a TCP stream with a read timeout set).
pub struct Link<T> {
    io: T,
    decoder: Decoder,
    inbox: VecDeque<Frame>,
    next_seq: u16,
    last_received: Option<u16>,
    received: VecDeque<Vec<u8>>,
    pub ack_timeout: Duration,
    pub max_attempts: u32,
    pub stats: LinkStats,
}

impl<T: Read + Write> Link<T> {
    pub fn new(io: T) -> Self {
        Self {
            io,
            decoder: Decoder::new(),
            inbox: VecDeque::new(),
            next_seq: 0,
            last_received: None,
            received: VecDeque::new(),
            ack_timeout: Duration::from_millis(200),
            max_attempts: 20,
            stats: LinkStats::default(),
        }
    }

    pub fn get_ref(&self) -> &T {
        &self.io
    }

    fn write_frame(&mut self, f: &Frame) -> Result<(), LinkError> {
        self.io.write_all(&f.encode())?;
        self.io.flush()?;
        self.stats.frames_sent += 1;
        Ok(())
    }

    /// Read what is available (or wait up to the stream's timeout) and handle
    /// it: data frames are ACKed and queued, ACK/NAK frames go to the inbox.
    fn pump(&mut self) -> Result<(), LinkError> {
        let mut buf = [0u8; 4096];
        let n = match self.io.read(&mut buf) {
            Ok(0) => return Err(LinkError::Closed),
            Ok(n) => n,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
                ) =>
            {
                return Ok(())
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => return Ok(()),
            Err(e) if is_closed(&e) => return Err(LinkError::Closed),
            Err(e) => return Err(e.into()),
        };
        for r in self.decoder.push(&buf[..n]) {
            match r {
                Ok(f) if f.kind == Kind::Data => {
                    // ACK even a duplicate: its first ACK may have been lost.
                    self.write_frame(&Frame::ack(f.seq))?;
                    if self.last_received == Some(f.seq) {
                        self.stats.duplicates += 1;
                    } else {
                        self.last_received = Some(f.seq);
                        self.received.push_back(f.payload);
                    }
                }
                Ok(f) => self.inbox.push_back(f),
                Err(FrameError::Oversize { .. }) | Err(_) => {
                    self.stats.bad_frames += 1;
                    // The sequence number of a corrupted frame cannot be
                    // trusted; a NAK asks for whatever is outstanding.
                    self.write_frame(&Frame::nak(u16::MAX))?;
                }
            }
        }
        Ok(())
    }

    /// Send one payload and wait until the other side has it.
    pub fn send(&mut self, payload: &[u8]) -> Result<(), LinkError> {
        if payload.len() > MAX_PAYLOAD {
            return Err(LinkError::TooLarge { len: payload.len() });
        }
        let seq = self.next_seq;
        self.next_seq = self.next_seq.wrapping_add(1);
        let frame = Frame::data(seq, payload.to_vec());
        for attempt in 0..self.max_attempts {
            if attempt > 0 {
                self.stats.retransmits += 1;
            }
            self.write_frame(&frame)?;
            let deadline = Instant::now() + self.ack_timeout;
            'wait: while Instant::now() < deadline {
                self.pump()?;
                while let Some(f) = self.inbox.pop_front() {
                    match f.kind {
                        Kind::Ack if f.seq == seq => return Ok(()),
                        Kind::Nak => break 'wait,
                        _ => {} // a stale ACK of an earlier frame
                    }
                }
            }
        }
        Err(LinkError::NoAck {
            attempts: self.max_attempts,
        })
    }

    /// Wait up to `timeout` for the next payload.
    pub fn recv(&mut self, timeout: Duration) -> Result<Vec<u8>, LinkError> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(p) = self.received.pop_front() {
                return Ok(p);
            }
            if Instant::now() >= deadline {
                return Err(LinkError::Timeout(timeout));
            }
            self.pump()?;
            // ACK/NAK frames that arrive while nothing is being sent are stale.
            self.inbox.clear();
        }
    }
}

fn is_closed(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::BrokenPipe
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::UnexpectedEof
    )
}
