//! The daemon: answers the host's requests (docs/protocol.md) by driving the
//! board. Every access the host asks for is checked against the DMA window
//! first, and every descriptor chain is decoded and checked before the
//! accelerator starts, so no host can make the PL touch memory outside its
//! buffer (the RTL checks again: docs/formats.md).

use crate::board::Board;
use crate::board::Registers;
use crate::loader;
use spikeslice_core::accel::driver::{BusError, Deadline, Driver, DriverError, Window};
use spikeslice_core::accel::functional::decode_chain;
use spikeslice_core::accel::regmap::{self, ErrorCode};
use spikeslice_core::protocol::frame::PROTOCOL_VERSION;
use spikeslice_core::protocol::message::{self, ErrorKind, Request, Response, MAX_CHUNK};
use spikeslice_core::protocol::{crc32, Link, LinkError};
use std::io::{Read, Write};
use std::time::Duration;

/// A bitstream being received.
struct PendingBitstream {
    name: String,
    len: u64,
    crc: u32,
    dtbo: Vec<u8>,
    data: Vec<u8>,
}

/// Largest bitstream accepted (the xck26's is about 7.5 MB).
const MAX_BITSTREAM: u64 = 64 << 20;

pub struct Daemon {
    pub board: Board,
    pending: Option<PendingBitstream>,
    /// Bitstreams loaded, for logs and tests.
    pub loaded: Vec<String>,
}

fn error(kind: ErrorKind, message: impl Into<String>) -> Response {
    Response::Error {
        kind,
        message: message.into(),
    }
}

impl Daemon {
    pub fn new(board: Board) -> Self {
        Self {
            board,
            pending: None,
            loaded: Vec::new(),
        }
    }

    fn window_check(&self, offset: u64, len: u64) -> Option<Response> {
        let size = self.board.dma.len() as u64;
        match offset.checked_add(len) {
            Some(end) if end <= size => None,
            _ => Some(error(
                ErrorKind::OutOfWindow,
                format!("[0x{offset:X}, +{len}) is outside the {size}-byte DMA window"),
            )),
        }
    }

    /// The one driver (core), over this board's registers.
    fn driver(&mut self) -> Driver<&mut dyn Registers> {
        Driver::new(&mut *self.board.regs)
    }

    fn run(&mut self, desc_offset: u32, desc_count: u32, timeout_ms: u32) -> Response {
        let config = match self.driver().identify() {
            Ok(c) => c,
            Err(e) => return error(ErrorKind::Board, e.to_string()),
        };
        if let Err(e) = decode_chain(self.board.dma.as_slice(), desc_offset, desc_count, &config) {
            let kind = if e.code == ErrorCode::OutOfWindow {
                ErrorKind::OutOfWindow
            } else {
                ErrorKind::Accelerator
            };
            return error(kind, format!("refused before starting: {e}"));
        }
        let len = self.board.dma.len();
        let window = match Window::new(self.board.dma.phys_addr(), len) {
            Ok(w) => w,
            Err(e) => return error(ErrorKind::Board, e.to_string()),
        };
        if let Err(e) = self.board.dma.sync_for_device(0, len) {
            return error(ErrorKind::Board, format!("{e:#}"));
        }
        let deadline = Deadline::time(Duration::from_millis(u64::from(timeout_ms.max(1))));
        let outcome = self.driver().run(window, desc_offset, desc_count, deadline);
        // The PL may have written the buffer, whatever the outcome.
        if let Err(e) = self.board.dma.sync_for_cpu(0, len) {
            return error(ErrorKind::Board, format!("{e:#}"));
        }
        match outcome {
            Ok(out) => match out.error() {
                Some(e) => error(ErrorKind::Accelerator, e.to_string()),
                None => Response::RunDone {
                    status: out.status,
                    counters: out.counters,
                },
            },
            Err(e @ DriverError::Hang { .. }) => error(ErrorKind::Timeout, e.to_string()),
            Err(e) => error(ErrorKind::Board, e.to_string()),
        }
    }

    /// Answer one request.
    pub fn handle(&mut self, req: Request) -> Response {
        match req {
            Request::Hello { protocol, .. } => {
                if protocol != u32::from(PROTOCOL_VERSION) {
                    return error(
                        ErrorKind::Version,
                        format!("the host speaks protocol {protocol}, this daemon speaks {PROTOCOL_VERSION}: update one of them"),
                    );
                }
                let window_bytes = self.board.dma.len() as u64;
                let mut d = self.driver();
                let mut hello = || -> Result<Response, BusError> {
                    Ok(Response::Hello {
                        protocol: u32::from(PROTOCOL_VERSION),
                        id: d.bus.read32(regmap::ID)?,
                        version: d.bus.read32(regmap::VERSION)?,
                        config: d.config_registers()?,
                        window_bytes,
                    })
                };
                hello().unwrap_or_else(|e| error(ErrorKind::Board, e.to_string()))
            }
            Request::Upload { offset, data } => {
                if data.len() > MAX_CHUNK {
                    return error(
                        ErrorKind::Malformed,
                        format!(
                            "an upload chunk of {} bytes exceeds {MAX_CHUNK}",
                            data.len()
                        ),
                    );
                }
                if let Some(e) = self.window_check(offset, data.len() as u64) {
                    return e;
                }
                let at = offset as usize;
                self.board.dma.as_mut_slice()[at..at + data.len()].copy_from_slice(&data);
                Response::Ok
            }
            Request::Read { offset, len } => {
                if len as usize > MAX_CHUNK {
                    return error(
                        ErrorKind::Malformed,
                        format!("a read of {len} bytes exceeds {MAX_CHUNK}"),
                    );
                }
                if let Some(e) = self.window_check(offset, u64::from(len)) {
                    return e;
                }
                let at = offset as usize;
                Response::Data(self.board.dma.as_slice()[at..at + len as usize].to_vec())
            }
            Request::Run {
                desc_offset,
                desc_count,
                timeout_ms,
            } => self.run(desc_offset, desc_count, timeout_ms),
            Request::Counters => match self.driver().counters() {
                Ok(c) => Response::Counters(c),
                Err(e) => error(ErrorKind::Board, e.to_string()),
            },
            Request::Power => match self.board.power_microwatts() {
                Ok(uw) => Response::Power {
                    microwatts: uw,
                    sensor: self.board.paths.power_sensor.clone(),
                },
                Err(e) => error(ErrorKind::Board, format!("{e:#}")),
            },
            Request::BitstreamBegin {
                name,
                bit_len,
                bit_crc32,
                dtbo,
            } => {
                if bit_len == 0 || bit_len > MAX_BITSTREAM {
                    return error(
                        ErrorKind::Bitstream,
                        format!("a bitstream of {bit_len} bytes is not plausible"),
                    );
                }
                self.pending = Some(PendingBitstream {
                    name,
                    len: bit_len,
                    crc: bit_crc32,
                    dtbo,
                    data: Vec::new(),
                });
                Response::Ok
            }
            Request::BitstreamChunk { offset, data } => {
                let Some(p) = self.pending.as_mut() else {
                    return error(
                        ErrorKind::Bitstream,
                        "a bitstream chunk without BitstreamBegin",
                    );
                };
                if offset != p.data.len() as u64 || p.data.len() as u64 + data.len() as u64 > p.len
                {
                    return error(
                        ErrorKind::Bitstream,
                        format!(
                            "chunk at {offset} does not follow the {} bytes received (of {})",
                            p.data.len(),
                            p.len
                        ),
                    );
                }
                p.data.extend_from_slice(&data);
                Response::Ok
            }
            Request::BitstreamCommit => {
                let Some(p) = self.pending.take() else {
                    return error(ErrorKind::Bitstream, "commit without a bitstream");
                };
                if p.data.len() as u64 != p.len {
                    return error(
                        ErrorKind::Bitstream,
                        format!("incomplete: {} of {} bytes", p.data.len(), p.len),
                    );
                }
                let crc = crc32(&p.data);
                if crc != p.crc {
                    return error(
                        ErrorKind::Bitstream,
                        format!("CRC-32 0x{crc:08X} of the received image differs from the announced 0x{:08X}; nothing was loaded", p.crc),
                    );
                }
                if let Err(e) = loader::load(&self.board.paths, &p.data, &p.dtbo) {
                    return error(ErrorKind::Bitstream, format!("{e:#}"));
                }
                if let Err(e) = self.board.regs.reopen(&self.board.paths.root) {
                    return error(ErrorKind::Board, format!("after loading: {e:#}"));
                }
                if let Err(e) = self.driver().identify() {
                    return error(ErrorKind::Bitstream, format!("loaded, but {e}"));
                }
                self.loaded.push(p.name);
                Response::Ok
            }
            Request::Reset => match self.driver().soft_reset() {
                Ok(()) => Response::Ok,
                Err(e) => error(ErrorKind::Board, e.to_string()),
            },
        }
    }

    /// Serve one client until it goes away: a client that closes the link
    /// ends the session normally (`Ok`); an I/O error or a link that stopped
    /// acknowledging is an `Err`. A malformed message is answered with an
    /// error and the session goes on.
    pub fn serve<T: Read + Write>(&mut self, link: &mut Link<T>) -> Result<(), LinkError> {
        loop {
            let payload = match link.recv(Duration::from_secs(3600)) {
                Ok(p) => p,
                Err(LinkError::Timeout(_)) => continue,
                Err(LinkError::Closed) => return Ok(()),
                Err(e) => return Err(e),
            };
            let resp = match message::decode::<Request>(&payload) {
                Ok(req) => self.handle(req),
                Err(e) => error(ErrorKind::Malformed, e.to_string()),
            };
            link.send(&message::encode(&resp))?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::board::BoardPaths;
    use crate::sim::{create_tree, SimRegisters};
    use crate::sysfs::Root;
    use spikeslice_core::accel::AcceleratorConfig;
    use std::io;

    /// A client that sends `input`, then closes the connection (reads 0), or
    /// fails with `then` instead.
    struct Client {
        input: io::Cursor<Vec<u8>>,
        then: Option<io::ErrorKind>,
    }

    impl Read for Client {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            match self.input.read(buf)? {
                0 => self.then.map_or(Ok(0), |k| Err(io::Error::from(k))),
                n => Ok(n),
            }
        }
    }
    impl Write for Client {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn daemon(dir: &std::path::Path) -> Daemon {
        let root = Root(dir.to_path_buf());
        let paths: BoardPaths = create_tree(&root, 1 << 20, "spikeslice").unwrap();
        let regs = SimRegisters::new(&root, AcceleratorConfig::default()).unwrap();
        Daemon::new(Board::open(Box::new(regs), paths).unwrap())
    }

    #[test]
    fn a_client_that_disconnects_ends_the_session_normally_and_an_io_error_does_not() {
        let dir = tempfile::tempdir().unwrap();
        let mut d = daemon(dir.path());
        let client = |then| Client {
            input: io::Cursor::new(Vec::new()),
            then,
        };
        assert!(d.serve(&mut Link::new(client(None))).is_ok());
        assert!(d
            .serve(&mut Link::new(client(Some(io::ErrorKind::ConnectionReset))))
            .is_ok());
        let err = d
            .serve(&mut Link::new(client(Some(
                io::ErrorKind::PermissionDenied,
            ))))
            .unwrap_err();
        assert!(matches!(err, LinkError::Io(_)), "{err}");
    }
}
