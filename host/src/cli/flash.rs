//! `spikeslice flash BITSTREAM --port /dev/ttyUSB1`: load a bitstream onto the
//! board through its daemon, then verify the accelerator answers.

use anyhow::{Context, Result};
use spikeslice::bitstream::KV260_PART;
use spikeslice::flash;
use std::path::PathBuf;

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
    connection: super::Connection,
}

pub fn run(args: Args) -> Result<()> {
    args.connection.check()?;
    let bit = std::fs::read(&args.bitstream)
        .with_context(|| format!("cannot read {}", args.bitstream.display()))?;
    let dtbo = std::fs::read(&args.dtbo)
        .with_context(|| format!("cannot read {}", args.dtbo.display()))?;
    // Check before connecting: a wrong file should not need a board.
    flash::check(&bit, &args.part).with_context(|| format!("{}", args.bitstream.display()))?;
    // The board may have no accelerator yet (the first flash after boot).
    let mut dev = args.connection.open_for_flashing()?;
    let mut bar = super::progress::Progress::new("{msg} [{bar:40}] {bytes}/{total_bytes} ({eta})")
        .counting("bytes");
    let mut report = |name: &str, sent: u64, total: u64| {
        if sent == 0 {
            bar.set_message(&format!("flashing {name}"));
            bar.set_length(total);
        }
        bar.set_position(sent);
        if sent == total {
            bar.finish_and_clear();
        }
    };
    let f = flash::flash(&mut dev, &bit, &dtbo, &args.part, &mut report)?;
    drop(dev);
    // Verify with a fresh handshake: the ID and configuration registers.
    let dev = args
        .connection
        .open()
        .context("the board did not answer after loading")?;
    let c = dev.info.config;
    out!(
        "flashed {} for {} ({} bytes); accelerator {}x{}, acc {} bits, membrane {} bits, window {} bytes",
        f.design, f.part, f.bytes, c.rows, c.cols, c.acc_bits, c.membrane_bits, dev.info.window_bytes
    );
    Ok(())
}
