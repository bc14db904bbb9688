//! `spikeslice-fw`: the board daemon. Serves one host at a time over a serial
//! port or TCP; after a client goes away it waits for the next.

use anyhow::{Context, Result};
use clap::Parser;
use spikeslice_core::accel::{kv260, AcceleratorConfig};
use spikeslice_core::protocol::Link;
use spikeslice_fw::board::{Board, BoardPaths, Registers};
use spikeslice_fw::daemon::Daemon;
use spikeslice_fw::sysfs::Root;
use spikeslice_fw::{sim, uio};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Parser)]
#[command(
    name = "spikeslice-fw",
    version,
    about = "spikeslice board daemon for the Kria KV260"
)]
struct Args {
    /// Serial port to serve on (e.g. /dev/ttyPS1 or a USB gadget port).
    #[arg(long, conflicts_with = "listen")]
    port: Option<String>,
    /// Baud rate of the serial port.
    #[arg(long, default_value_t = 115_200)]
    baud: u32,
    /// Serve over TCP instead, e.g. 0.0.0.0:7878.
    #[arg(long)]
    listen: Option<String>,
    /// UIO device of the accelerator's registers.
    #[arg(long, default_value = "uio0")]
    uio: String,
    /// u-dma-buf device for DMA memory.
    #[arg(long, default_value = kv260::UDMABUF_DEVICE)]
    udmabuf: String,
    /// hwmon sensor for board power.
    #[arg(long, default_value = "ina260_u14")]
    power_sensor: String,
    /// Accel app name under /lib/firmware/xilinx/.
    #[arg(long, default_value = kv260::APP)]
    app: String,
    /// Root of /sys, /dev and /lib/firmware (for testing on a fake tree).
    #[arg(long, default_value = "/")]
    root: PathBuf,
    /// Run a simulated board in this directory (a fake /dev and /sys tree and
    /// a simulated accelerator, see --sim-accel) instead of the real hardware.
    #[arg(long)]
    simulate: Option<PathBuf>,
    /// The simulated board's accelerator: the generated RTL in Verilator (the
    /// same shell a bitstream holds; needs verilator and g++) or the functional
    /// model (fast, no tools).
    #[arg(long, value_enum, default_value_t = SimAccel::default())]
    sim_accel: SimAccel,
    /// DMA window size of the simulated board, in bytes.
    #[arg(long, default_value_t = 16 << 20)]
    sim_window: usize,
}

/// What sits behind a simulated board's registers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum SimAccel {
    /// The Verilated accelerator shell (firmware built with the `rtl-sim` feature).
    Rtl,
    /// The register-level functional model of the accelerator (core).
    Functional,
}

impl Default for SimAccel {
    fn default() -> Self {
        if cfg!(feature = "rtl-sim") {
            SimAccel::Rtl
        } else {
            SimAccel::Functional
        }
    }
}

fn sim_registers(root: &Root, accel: SimAccel) -> Result<Box<dyn Registers>> {
    let config = AcceleratorConfig::default();
    Ok(match accel {
        #[cfg(feature = "rtl-sim")]
        SimAccel::Rtl => Box::new(spikeslice_fw::rtl::RtlRegisters::new(root, config)?),
        #[cfg(not(feature = "rtl-sim"))]
        SimAccel::Rtl => anyhow::bail!(
            "this spikeslice-fw was built without the rtl-sim feature: use \
             --sim-accel functional, or rebuild with default features"
        ),
        SimAccel::Functional => Box::new(sim::SimRegisters::new(root, config)?),
    })
}

fn main() {
    if let Err(e) = run(Args::parse()) {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

fn run(args: Args) -> Result<()> {
    let (regs, paths): (Box<dyn Registers>, BoardPaths) = match &args.simulate {
        Some(dir) => {
            let root = Root(dir.clone());
            let paths = sim::create_tree(&root, args.sim_window, &args.app)?;
            (sim_registers(&root, args.sim_accel)?, paths)
        }
        None => {
            let root = Root(args.root.clone());
            let paths = BoardPaths {
                root: root.clone(),
                udmabuf: args.udmabuf.clone(),
                power_sensor: args.power_sensor.clone(),
                app: args.app.clone(),
            };
            // The overlay that creates the UIO device comes with the bitstream:
            // start without it so `spikeslice flash` can load one.
            let uio = uio::Uio::open_or_unloaded(&root, &args.uio)?;
            if !uio.is_loaded() {
                eprintln!(
                    "spikeslice-fw: no /dev/{} yet: serving without an accelerator until a bitstream is loaded",
                    args.uio
                );
            }
            (Box::new(uio), paths)
        }
    };
    let mut daemon = Daemon::new(Board::open(regs, paths)?);
    if let Some(addr) = &args.listen {
        let listener = std::net::TcpListener::bind(addr)
            .with_context(|| format!("cannot listen on {addr}"))?;
        eprintln!("spikeslice-fw: listening on {addr}");
        for stream in listener.incoming() {
            let stream = stream?;
            stream.set_read_timeout(Some(Duration::from_millis(50)))?;
            // The link's small frames (a message, then its ACK) would otherwise
            // wait for Nagle's algorithm and the peer's delayed ACK.
            stream.set_nodelay(true)?;
            let mut link = Link::new(stream);
            match daemon.serve(&mut link) {
                Ok(()) => eprintln!("spikeslice-fw: client disconnected"),
                Err(e) => eprintln!("spikeslice-fw: client lost: {e}"),
            }
        }
        return Ok(());
    }
    let port = args.port.as_deref().context("give --port or --listen")?;
    loop {
        let serial = serialport::new(port, args.baud)
            .timeout(Duration::from_millis(50))
            .open_native()
            .with_context(|| format!("cannot open {port}"))?;
        eprintln!("spikeslice-fw: serving on {port} at {} baud", args.baud);
        let mut link = Link::new(serial);
        match daemon.serve(&mut link) {
            Ok(()) => eprintln!("spikeslice-fw: session ended: the host closed {port}"),
            Err(e) => eprintln!("spikeslice-fw: session lost: {e}"),
        }
    }
}
