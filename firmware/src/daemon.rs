//! The daemon: answers the host's requests (docs/protocol.md) by driving the
//! board. Every access the host asks for is checked against the DMA window
//! first, and every descriptor chain is decoded and checked before the
//! accelerator starts, so no host can make the PL touch memory outside its
//! buffer (the RTL checks again: docs/formats.md).

use crate::board::Board;
use crate::loader;
use spikeslice_core::accel::functional::decode_chain;
use spikeslice_core::accel::regmap::{self, ctrl, status, ErrorCode};
use spikeslice_core::accel::AcceleratorConfig;
use spikeslice_core::protocol::frame::PROTOCOL_VERSION;
use spikeslice_core::protocol::message::{self, Counters, ErrorKind, Request, Response, MAX_CHUNK};
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

    fn read_counters(&mut self) -> Counters {
        let mut r64 = |lo: u32| {
            let l = self.board.regs.read32(lo);
            let h = self.board.regs.read32(lo + 4);
            u64::from(l) | (u64::from(h) << 32)
        };
        Counters {
            cycles: r64(regmap::CNT_CYCLES_LO),
            busy: r64(regmap::CNT_BUSY_LO),
            pe_adds: r64(regmap::CNT_PE_ADDS_LO),
            slices: r64(regmap::CNT_SLICES_LO),
            dma_read_bytes: r64(regmap::CNT_DMA_RD_LO),
            dma_write_bytes: r64(regmap::CNT_DMA_WR_LO),
            dma_stall_cycles: r64(regmap::CNT_DMA_STALL_LO),
            spikes: r64(regmap::CNT_SPIKES_LO),
        }
    }

    fn config(&mut self) -> Result<AcceleratorConfig, String> {
        let regs = &mut self.board.regs;
        AcceleratorConfig::from_registers(|o| regs.read32(o)).map_err(|e| e.to_string())
    }

    fn run(&mut self, desc_offset: u32, desc_count: u32, timeout_ms: u32) -> Response {
        let config = match self.config() {
            Ok(c) => c,
            Err(e) => {
                return error(
                    ErrorKind::Board,
                    format!("the accelerator's configuration registers: {e}"),
                )
            }
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
        if let Err(e) = self.board.dma.sync_for_device(0, len) {
            return error(ErrorKind::Board, format!("{e:#}"));
        }
        let phys = self.board.dma.phys_addr();
        let regs = &mut self.board.regs;
        regs.write32(regmap::BUF_BASE_LO, phys as u32);
        regs.write32(regmap::BUF_BASE_HI, (phys >> 32) as u32);
        regs.write32(regmap::BUF_SIZE, len as u32);
        regs.write32(regmap::DESC_OFFSET, desc_offset);
        regs.write32(regmap::DESC_COUNT, desc_count);
        regs.write32(regmap::IRQ_STATUS, 1);
        regs.write32(regmap::CTRL, ctrl::IRQ_ENABLE | ctrl::START);
        let timeout = Duration::from_millis(u64::from(timeout_ms.max(1)));
        let fired = match regs.wait_irq(timeout) {
            Ok(f) => f,
            Err(e) => return error(ErrorKind::Board, format!("{e:#}")),
        };
        let st = regs.read32(regmap::STATUS);
        if !fired && st & status::DONE == 0 {
            // Reset so the next run starts clean.
            regs.write32(regmap::CTRL, ctrl::SOFT_RESET);
            return error(
                ErrorKind::Timeout,
                format!("no done within {timeout_ms} ms; the accelerator was reset"),
            );
        }
        regs.write32(regmap::IRQ_STATUS, 1);
        if let Err(e) = self.board.dma.sync_for_cpu(0, len) {
            return error(ErrorKind::Board, format!("{e:#}"));
        }
        if st & status::ERROR != 0 {
            let code = status::error_code(st);
            let what = ErrorCode::from_code(code).map_or("unknown error", |c| c.describe());
            let index = self.board.regs.read32(regmap::DESC_INDEX);
            let at = self.board.regs.read32(regmap::ERR_OFFSET);
            return error(
                ErrorKind::Accelerator,
                format!("the accelerator stopped at descriptor {index}: {what} (code {code}, offset 0x{at:X})"),
            );
        }
        Response::RunDone {
            status: st,
            counters: self.read_counters(),
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
                let regs = &mut self.board.regs;
                let config = AcceleratorConfig::default()
                    .config_registers()
                    .into_iter()
                    .map(|(o, _)| (o, regs.read32(o)))
                    .collect();
                Response::Hello {
                    protocol: u32::from(PROTOCOL_VERSION),
                    id: regs.read32(regmap::ID),
                    version: regs.read32(regmap::VERSION),
                    config,
                    window_bytes: self.board.dma.len() as u64,
                }
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
            Request::Counters => Response::Counters(self.read_counters()),
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
                let id = self.board.regs.read32(regmap::ID);
                if id != regmap::MAGIC {
                    return error(
                        ErrorKind::Bitstream,
                        format!("loaded, but the ID register reads 0x{id:08X}, not a spikeslice accelerator"),
                    );
                }
                self.loaded.push(p.name);
                Response::Ok
            }
            Request::Reset => {
                self.board.regs.write32(regmap::CTRL, ctrl::SOFT_RESET);
                Response::Ok
            }
        }
    }

    /// Serve one client until it goes away. A malformed message is answered
    /// with an error and the session goes on.
    pub fn serve<T: Read + Write>(&mut self, link: &mut Link<T>) -> Result<(), LinkError> {
        loop {
            let payload = match link.recv(Duration::from_secs(3600)) {
                Ok(p) => p,
                Err(LinkError::Timeout(_)) => continue,
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
