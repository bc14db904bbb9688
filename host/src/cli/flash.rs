//! `spikeslice flash BITSTREAM --port /dev/ttyUSB1`: load a bitstream onto the
//! board through its daemon, then verify the accelerator answers.

use anyhow::{Context, Result};
use spikeslice::device::board::{BoardDevice, Transport};
use spikeslice::flash;
use spikeslice_core::bitstream::KV260_PART;
use std::path::PathBuf;
use std::time::Duration;

/// How to reach the board's daemon.
#[derive(clap::Args, Debug, Clone)]
pub struct Connection {
    /// Serial port of the board (e.g. /dev/ttyUSB1).
    #[arg(long, conflicts_with = "tcp")]
    pub port: Option<String>,
    /// Baud rate.
    #[arg(long, default_value_t = 115_200)]
    pub baud: u32,
    /// The daemon's TCP address instead (host:port).
    #[arg(long)]
    pub tcp: Option<String>,
}

impl Connection {
    pub fn open(&self) -> Result<BoardDevice> {
        let transport: Box<dyn Transport> = match (&self.port, &self.tcp) {
            (Some(port), _) => Box::new(
                serialport::new(port, self.baud)
                    .timeout(Duration::from_millis(50))
                    .open_native()
                    .with_context(|| format!("cannot open {port}"))?,
            ),
            (None, Some(addr)) => {
                let s = std::net::TcpStream::connect(addr)
                    .with_context(|| format!("cannot connect to {addr}"))?;
                s.set_read_timeout(Some(Duration::from_millis(50)))?;
                Box::new(s)
            }
            (None, None) => anyhow::bail!("give --port or --tcp to reach the board's daemon"),
        };
        BoardDevice::connect(transport)
    }
}

#[derive(clap::Args)]
pub struct Args {
    /// The Vivado .bit file.
    bitstream: PathBuf,
    /// Its device-tree overlay (.dtbo), built by constraints/ (docs/board.md).
    #[arg(long)]
    dtbo: PathBuf,
    /// The part the board has; a bitstream for another part is refused.
    #[arg(long, default_value = KV260_PART)]
    part: String,
    #[command(flatten)]
    connection: Connection,
}

pub fn run(args: Args) -> Result<()> {
    let bit = std::fs::read(&args.bitstream)
        .with_context(|| format!("cannot read {}", args.bitstream.display()))?;
    let dtbo = std::fs::read(&args.dtbo)
        .with_context(|| format!("cannot read {}", args.dtbo.display()))?;
    // Check before connecting: a wrong file should not need a board.
    flash::check(&bit, &args.part).with_context(|| format!("{}", args.bitstream.display()))?;
    let mut dev = args.connection.open()?;
    let f = flash::flash(&mut dev, &bit, &dtbo, &args.part, true)?;
    drop(dev);
    // Verify with a fresh handshake: the ID and configuration registers.
    let dev = args
        .connection
        .open()
        .context("the board did not answer after loading")?;
    let c = dev.info.config;
    println!(
        "flashed {} for {} ({} bytes); accelerator {}x{}, acc {} bits, membrane {} bits, window {} bytes",
        f.design, f.part, f.bytes, c.rows, c.cols, c.acc_bits, c.membrane_bits, dev.info.window_bytes
    );
    Ok(())
}
