//! `spikeslice flash`: a `.bit` file onto the board. The header is parsed and
//! the part checked on the host (openFPGALoader does not support the K26, so
//! loading happens on the board), the configuration data converted to the
//! `.bit.bin` the FPGA manager loads, uploaded in chunks with its device-tree
//! overlay and the CRC-32 of the whole image, loaded by the daemon, and
//! verified by reading the accelerator's ID and configuration registers.

use crate::bitstream::Bitstream;
use crate::device::board::BoardDevice;
use anyhow::{bail, Context, Result};
use spikeslice_core::protocol::crc32;
use spikeslice_core::protocol::message::{Request, Response, MAX_CHUNK};

/// What was flashed.
#[derive(Debug, Clone)]
pub struct Flashed {
    pub design: String,
    pub part: String,
    pub bytes: usize,
}

/// Parse and check a `.bit` file for `part` (a prefix such as `xck26`).
pub fn check(bit: &[u8], part: &str) -> Result<Bitstream> {
    let b = Bitstream::parse(bit)?;
    b.check_part(part)?;
    Ok(b)
}

/// Progress of an upload: `(design name, bytes sent, bytes in all)`, called
/// once with 0 bytes sent before the first chunk and after every chunk.
pub type Progress<'a> = &'a mut dyn FnMut(&str, u64, u64);

/// Flash `bit` (a `.bit` file's bytes) with overlay `dtbo` through `dev`.
pub fn flash(
    dev: &mut BoardDevice,
    bit: &[u8],
    dtbo: &[u8],
    part: &str,
    progress: Progress,
) -> Result<Flashed> {
    let b = check(bit, part)?;
    let bin = b.to_bin();
    let name = b.design.split(';').next().unwrap_or("design").to_string();
    match dev.request(&Request::BitstreamBegin {
        name: name.clone(),
        bit_len: bin.len() as u64,
        bit_crc32: crc32(&bin),
        dtbo: dtbo.to_vec(),
    })? {
        Response::Ok => {}
        other => bail!("unexpected answer to the bitstream header: {other:?}"),
    }
    let total = bin.len() as u64;
    let mut sent = 0;
    progress(&name, sent, total);
    for (i, chunk) in bin.chunks(MAX_CHUNK).enumerate() {
        match dev.request(&Request::BitstreamChunk {
            offset: (i * MAX_CHUNK) as u64,
            data: chunk.to_vec(),
        })? {
            Response::Ok => {
                sent += chunk.len() as u64;
                progress(&name, sent, total);
            }
            other => bail!("unexpected answer to a bitstream chunk: {other:?}"),
        }
    }
    dev.request(&Request::BitstreamCommit)
        .context("the board did not load the bitstream")?;
    Ok(Flashed {
        design: b.design,
        part: b.part,
        bytes: bin.len(),
    })
}
