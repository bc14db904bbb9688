//! The board backend: the same programs as every other backend, run on a
//! board through its daemon (`spikeslice-fw`) over a serial port or TCP
//! (docs/protocol.md). The device uploads the program's window image once,
//! then per run (a sample, or a batch) the input planes, runs the chain and
//! reads the outputs.

use super::{Device, Inference, RunCounts};
use crate::compiler::Program;
use anyhow::{anyhow, bail, Context, Result};
use spikeslice_core::accel::cycles::CycleModel;
use spikeslice_core::accel::functional::Activity;
use spikeslice_core::accel::regmap;
use spikeslice_core::accel::AcceleratorConfig;
use spikeslice_core::protocol::frame::PROTOCOL_VERSION;
use spikeslice_core::protocol::message::{self, Counters, Request, Response, MAX_CHUNK};
use spikeslice_core::protocol::Link;
use std::io::{Read, Write};
use std::time::Duration;

/// A byte stream to the daemon.
pub trait Transport: Read + Write + Send {}
impl<T: Read + Write + Send> Transport for T {}

/// What the board said in the handshake.
#[derive(Debug, Clone)]
pub struct BoardInfo {
    pub id: u32,
    pub version: u32,
    /// The accelerator's configuration registers (when one is loaded).
    pub config: AcceleratorConfig,
    pub window_bytes: u64,
    /// Whether the ID register reads the spikeslice magic.
    pub accelerator_loaded: bool,
}

/// A connection to a board's daemon.
pub struct BoardDevice {
    link: Link<Box<dyn Transport>>,
    pub info: BoardInfo,
    /// Identity of the program image on the board, to upload it once.
    loaded: Option<(usize, u32)>,
    /// Requests time out after this long.
    pub reply_timeout: Duration,
}

/// The least time the daemon gives a run: covers the driver's and the
/// operating system's latencies around short chains.
pub const MIN_RUN_TIMEOUT: Duration = Duration::from_secs(10);

/// The clock [`run_timeout`] assumes: 20 times slower than the 200 MHz the
/// fps figures use, so a run times out only when the accelerator hangs (or
/// the cycle model is off by that much), not when a large network's batch
/// takes long.
const TIMEOUT_CLOCK_HZ: u64 = 10_000_000;

/// How long the daemon gives one run of a chain that the cycle model puts at
/// `cycles`: those cycles at `TIMEOUT_CLOCK_HZ`, at least
/// [`MIN_RUN_TIMEOUT`].
pub fn run_timeout(cycles: u64) -> Duration {
    let at_slow_clock =
        Duration::from_nanos(cycles.saturating_mul(1_000_000_000 / TIMEOUT_CLOCK_HZ));
    at_slow_clock.max(MIN_RUN_TIMEOUT)
}

/// A reply from the daemon, or an error that says what to check: a reply
/// that does not decode comes from a daemon of another protocol (or a port
/// that is not the daemon's).
fn decode_reply(bytes: &[u8]) -> Result<Response> {
    message::decode(bytes).map_err(|e| {
        anyhow!(
            "the board's answer is not a spikeslice reply ({e}): check that the port or \
             address is the spikeslice-fw daemon's and that it is the same version as this \
             spikeslice ({})",
            env!("CARGO_PKG_VERSION")
        )
    })
}

impl BoardDevice {
    /// Connect and shake hands. Fails with an actionable message when the
    /// daemon speaks another protocol or no accelerator is loaded.
    pub fn connect(transport: Box<dyn Transport>) -> Result<Self> {
        Self::connect_with(transport, u32::from(PROTOCOL_VERSION))
    }

    /// [`BoardDevice::connect`] claiming a given protocol version (tests use
    /// it to check that a mismatch is refused).
    pub fn connect_with(transport: Box<dyn Transport>, protocol: u32) -> Result<Self> {
        let dev = Self::handshake(transport, protocol)?;
        if !dev.info.accelerator_loaded {
            bail!(
                "the board's ID register reads 0x{:08X}, not a spikeslice accelerator: flash the bitstream first (spikeslice flash)",
                dev.info.id
            );
        }
        Ok(dev)
    }

    /// Connect to a daemon that may have no accelerator loaded yet (a freshly
    /// booted board), to load one: `info.accelerator_loaded` says which, and
    /// `info.config` is meaningful only when it is.
    pub fn connect_for_flashing(transport: Box<dyn Transport>) -> Result<Self> {
        Self::handshake(transport, u32::from(PROTOCOL_VERSION))
    }

    fn handshake(transport: Box<dyn Transport>, protocol: u32) -> Result<Self> {
        let mut link = Link::new(transport);
        link.ack_timeout = Duration::from_millis(300);
        let reply_timeout = Duration::from_secs(30);
        let hello = Request::Hello {
            protocol,
            client: format!("spikeslice {}", env!("CARGO_PKG_VERSION")),
        };
        link.send(&message::encode(&hello))?;
        let resp = decode_reply(&link.recv(reply_timeout)?)?;
        let info = match resp {
            Response::Hello {
                id,
                version,
                config,
                window_bytes,
                ..
            } => {
                let accelerator_loaded = id == regmap::MAGIC;
                let config = if accelerator_loaded {
                    AcceleratorConfig::from_register_values(&config)
                        .context("the board's configuration registers are invalid")?
                } else {
                    AcceleratorConfig::default()
                };
                BoardInfo {
                    id,
                    version,
                    config,
                    window_bytes,
                    accelerator_loaded,
                }
            }
            Response::Error { kind, message } => {
                bail!("the board refused the handshake ({kind:?}): {message}")
            }
            other => bail!("unexpected answer to hello: {other:?}"),
        };
        Ok(Self {
            link,
            info,
            loaded: None,
            reply_timeout,
        })
    }

    /// One request, one answer; board errors become errors.
    pub fn request(&mut self, req: &Request) -> Result<Response> {
        self.request_within(req, self.reply_timeout)
    }

    /// [`Self::request`], waiting up to `wait` for the answer.
    fn request_within(&mut self, req: &Request, wait: Duration) -> Result<Response> {
        self.link.send(&message::encode(req))?;
        let resp = decode_reply(&self.link.recv(wait)?)?;
        match resp {
            Response::Error { kind, message } => {
                Err(anyhow!("the board answered {kind:?}: {message}"))
            }
            r => Ok(r),
        }
    }

    /// Write `data` into the window at `offset`, in chunks.
    pub fn upload(&mut self, offset: u64, data: &[u8]) -> Result<()> {
        for (i, chunk) in data.chunks(MAX_CHUNK).enumerate() {
            let at = offset + (i * MAX_CHUNK) as u64;
            match self.request(&Request::Upload {
                offset: at,
                data: chunk.to_vec(),
            })? {
                Response::Ok => {}
                other => bail!("unexpected answer to an upload: {other:?}"),
            }
        }
        Ok(())
    }

    /// Read `len` bytes of the window at `offset`, in chunks.
    pub fn read(&mut self, offset: u64, len: usize) -> Result<Vec<u8>> {
        let mut out = Vec::with_capacity(len);
        while out.len() < len {
            let n = (len - out.len()).min(MAX_CHUNK);
            match self.request(&Request::Read {
                offset: offset + out.len() as u64,
                len: n as u32,
            })? {
                Response::Data(d) if d.len() == n => out.extend(d),
                other => bail!("unexpected answer to a read: {other:?}"),
            }
        }
        Ok(out)
    }

    /// Run the chain at `desc_offset`, giving the daemon `timeout` for it
    /// ([`run_timeout`]); the answer is awaited that long and the usual reply
    /// time more, so that the daemon's timeout, which names the run, comes
    /// first.
    pub fn start(
        &mut self,
        desc_offset: u32,
        desc_count: u32,
        timeout: Duration,
    ) -> Result<Counters> {
        let timeout_ms = u32::try_from(timeout.as_millis()).unwrap_or(u32::MAX);
        let req = Request::Run {
            desc_offset,
            desc_count,
            timeout_ms,
        };
        let wait = Duration::from_millis(u64::from(timeout_ms)) + self.reply_timeout;
        match self.request_within(&req, wait)? {
            Response::RunDone { counters, .. } => Ok(counters),
            other => bail!("unexpected answer to run: {other:?}"),
        }
    }

    /// Board power in microwatts.
    pub fn power(&mut self) -> Result<u64> {
        match self.request(&Request::Power)? {
            Response::Power { microwatts, .. } => Ok(microwatts),
            other => bail!("unexpected answer to power: {other:?}"),
        }
    }
}

impl Device for BoardDevice {
    fn name(&self) -> &str {
        "board"
    }

    fn fixed_config(&self) -> Option<AcceleratorConfig> {
        Some(self.info.config)
    }

    fn power_watts(&mut self) -> Result<Option<f64>> {
        Ok(Some(self.power()? as f64 * 1e-6))
    }

    fn run(&mut self, program: &Program, inputs: &[Vec<u8>]) -> Result<Vec<Inference>> {
        if program.config != self.info.config {
            bail!(
                "the program was compiled for another accelerator than the board's: {} \
                 (the other is the board's); compile with the board's configuration",
                program.config.differences(&self.info.config).join(", ")
            );
        }
        if program.window_bytes() as u64 > self.info.window_bytes {
            bail!(
                "the program needs a {}-byte DMA window, the board has {} bytes",
                program.window_bytes(),
                self.info.window_bytes
            );
        }
        let identity = (
            program.image.len(),
            spikeslice_core::protocol::crc32(&program.image),
        );
        if self.loaded != Some(identity) {
            self.upload(0, &program.image)
                .context("uploading the program")?;
            self.loaded = Some(identity);
        }
        let neuron_updates: u64 = program
            .descriptors
            .iter()
            .map(|d| (d.neurons() * d.timesteps as usize) as u64)
            .sum();
        let (_, chain) = CycleModel::new(program.config)
            .chain(&program.descriptors, u64::from(program.desc_offset));
        let timeout = run_timeout(chain.total);
        let mut results = Vec::with_capacity(inputs.len());
        for samples in inputs.chunks(program.batch) {
            let planes = program.input_planes(samples);
            self.upload(u64::from(program.input.offset), &planes)?;
            let counters = self.start(
                program.desc_offset,
                program.descriptors.len() as u32,
                timeout,
            )?;
            // Read every layer's output into a window-shaped buffer, so the
            // results are read exactly as the golden backend reads them.
            let mut window = vec![0u8; program.window_bytes()];
            for buf in &program.outputs {
                let bytes = self.read(u64::from(buf.offset), buf.bytes)?;
                window[buf.offset as usize..buf.offset as usize + buf.bytes]
                    .copy_from_slice(&bytes);
            }
            let counts = RunCounts {
                activity: Activity {
                    pe_adds: counters.pe_adds,
                    slices: counters.slices,
                    spikes: counters.spikes,
                    bytes_read: counters.dma_read_bytes,
                    bytes_written: counters.dma_write_bytes,
                    // Not counted in hardware: neurons times timesteps, static.
                    neuron_updates,
                },
                cycles: (counters.cycles > 0).then_some(counters.cycles),
                ..RunCounts::default()
            };
            results.extend(counts.split(program.read_results(&window, samples), program.batch));
        }
        Ok(results)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_gets_its_predicted_length_at_a_twentieth_of_the_clock() {
        // A small chain gets the floor; a long one (a CIFAR-sized net in a
        // batch of 64: 64 x 64 M cycles, 20 s at 200 MHz) its cycles at 10 MHz.
        assert_eq!(run_timeout(10_000), MIN_RUN_TIMEOUT);
        assert_eq!(
            run_timeout(64 * 64_000_000),
            Duration::from_micros(409_600_000)
        );
        assert_eq!(run_timeout(u64::MAX), Duration::from_nanos(u64::MAX));
    }

    #[test]
    fn a_reply_that_does_not_decode_says_what_to_check() {
        // A varint that never terminates: what a foreign peer's bytes give.
        let e = super::decode_reply(&[0xff; 12]).unwrap_err().to_string();
        assert!(
            e.contains("not a spikeslice reply") && e.contains("spikeslice-fw"),
            "{e}"
        );
    }
}
