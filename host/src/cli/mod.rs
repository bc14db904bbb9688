//! One module per subcommand: each parses its arguments and drives the library.

#[macro_use]
pub mod say;
pub mod budget;
pub mod flash;
pub mod gen_rtl;
pub mod import;
pub mod infer;
pub mod mapping;
pub mod outputs;
pub mod progress;
pub mod relation;
pub mod run;
pub mod sweep;
pub mod train;

use anyhow::{Context, Result};
pub use mapping::MappingArgs;
use spikeslice::device::board::{BoardDevice, Transport};
use spikeslice::device::{self, Backend, Device};
use spikeslice::input::{self, Samples, Split};
use spikeslice_core::accel::{preset, AcceleratorConfig};
use spikeslice_core::model::Model;
use std::path::Path;
use std::time::Duration;

/// Load a model, with the path in the error.
pub fn load_model(path: &Path) -> Result<Model> {
    Model::load(path).with_context(|| format!("cannot load model {}", path.display()))
}

/// The weights file a loaded model's spec names, beside the spec.
pub fn weights_path(spec_path: &Path, model: &Model) -> std::path::PathBuf {
    spec_path
        .parent()
        .unwrap_or_else(|| Path::new("."))
        .join(&model.spec.weights)
}

/// The first of `flags` given (`(flag, given)`), refused as a usage error
/// with `why(flag)`: options that do not apply to what the command was asked.
pub fn refuse_given(flags: &[(&str, bool)], why: impl Fn(&str) -> String) -> Result<()> {
    match flags.iter().find(|(_, given)| *given) {
        Some((flag, _)) => Err(usage!("{}", why(flag))),
        None => Ok(()),
    }
}

/// `--clock-mhz` in hertz, or an error a user can act on.
pub fn clock_hz(mhz: f64) -> Result<f64> {
    if !(mhz.is_finite() && mhz > 0.0) {
        return Err(usage!(
            "--clock-mhz {mhz} is not a clock frequency: give a positive number of MHz, e.g. 200"
        ));
    }
    Ok(mhz * 1e6)
}

/// The accelerator configuration a program is compiled for, or the RTL is
/// generated for: a named preset (docs/shell.md, "Presets"), each field
/// overridable by its own flag.
#[derive(clap::Args, Debug, Clone)]
pub struct AccelArgs {
    /// A named accelerator configuration; the flags below override its fields
    /// (docs/shell.md, "Presets").
    #[arg(long, default_value = preset::DEFAULT_PRESET, value_parser = preset_names())]
    pub preset: String,
    /// PE rows of the array (binary slice vectors side by side) [default: the preset's].
    #[arg(long)]
    pub rows: Option<usize>,
    /// PE columns of the array (outputs side by side) [default: the preset's].
    #[arg(long)]
    pub cols: Option<usize>,
    /// Accumulator width in bits [default: the preset's].
    #[arg(long)]
    pub acc_bits: Option<u32>,
    /// Membrane width in bits [default: the preset's].
    #[arg(long)]
    pub membrane_bits: Option<u32>,
    /// Widest weight a layer may use [default: the preset's].
    #[arg(long)]
    pub weight_bits_max: Option<u8>,
    /// Widest spike a layer may use [default: the preset's].
    #[arg(long)]
    pub spike_bits_max: Option<u8>,
    /// AXI4 master data width in bits, 64 or 128 [default: the preset's].
    #[arg(long)]
    pub axi_data_bits: Option<usize>,
    /// Longest AXI4 burst in beats, at most 256 [default: the preset's].
    #[arg(long)]
    pub max_burst_beats: Option<usize>,
    /// Weight buffer size in bytes [default: the preset's].
    #[arg(long)]
    pub wbuf_bytes: Option<usize>,
    /// Activation buffer size in bytes [default: the preset's].
    #[arg(long)]
    pub abuf_bytes: Option<usize>,
    /// Output buffer size in bytes [default: the preset's].
    #[arg(long)]
    pub obuf_bytes: Option<usize>,
    /// The PEs' accumulators in DSP48E2 slices, two PEs a slice at accumulators
    /// of at most 24 bits (`--dsp-pes` alone: true) [default: the preset's].
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    pub dsp_pes: Option<bool>,
    /// The spike queue writes a layer's positions in pairs where it can (even
    /// positions, one group, T <= 4: two neurons' bits a write), for 16 spike
    /// bits a column of each queued beat (`--spike-pairs` alone: true)
    /// [default: the preset's].
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    pub spike_pairs: Option<bool>,
}

/// `--preset`'s values, each with its summary (`preset::presets`).
fn preset_names() -> clap::builder::PossibleValuesParser {
    clap::builder::PossibleValuesParser::new(preset::presets().map(|p| {
        let c = p.config;
        clap::builder::PossibleValue::new(p.name)
            .help(format!("{}x{} array, {}", c.rows, c.cols, p.summary))
    }))
}

impl AccelArgs {
    /// The preset with the given flags applied, validated.
    pub fn config(&self) -> Result<AcceleratorConfig> {
        let base = preset::preset(&self.preset).map_err(|e| usage!("--preset: {e}"))?;
        let mut c = base.config;
        c.rows = self.rows.unwrap_or(c.rows);
        c.cols = self.cols.unwrap_or(c.cols);
        c.acc_bits = self.acc_bits.unwrap_or(c.acc_bits);
        c.membrane_bits = self.membrane_bits.unwrap_or(c.membrane_bits);
        c.weight_bits_max = self.weight_bits_max.unwrap_or(c.weight_bits_max);
        c.spike_bits_max = self.spike_bits_max.unwrap_or(c.spike_bits_max);
        if let Some(bits) = self.axi_data_bits {
            if !bits.is_multiple_of(8) {
                return Err(usage!(
                    "--axi-data-bits {bits} is not a whole number of bytes"
                ));
            }
            c.axi_data_bytes = bits / 8;
        }
        c.max_burst_beats = self.max_burst_beats.unwrap_or(c.max_burst_beats);
        c.wbuf_bytes = self.wbuf_bytes.unwrap_or(c.wbuf_bytes);
        c.abuf_bytes = self.abuf_bytes.unwrap_or(c.abuf_bytes);
        c.obuf_bytes = self.obuf_bytes.unwrap_or(c.obuf_bytes);
        c.dsp_pes = self.dsp_pes.unwrap_or(c.dsp_pes);
        c.spike_pairs = self.spike_pairs.unwrap_or(c.spike_pairs);
        c.validate()
            .map_err(|e| usage!("{}: {}", e.flag(), e.message))?;
        Ok(c)
    }
}

const DEFAULT_BAUD: u32 = 115_200;

/// Which samples of a `--data` dataset a command reads.
#[derive(clap::Args, Debug, Clone)]
pub struct SampleArgs {
    /// Which part of the --data dataset to use.
    #[arg(long, value_enum, default_value = "test")]
    pub split: Split,
    /// Use at most this many samples (at least 1).
    #[arg(long)]
    pub limit: Option<usize>,
}

impl SampleArgs {
    /// `--limit`, refused at 0 (it would select no samples).
    pub fn check(&self) -> Result<()> {
        if self.limit == Some(0) {
            return Err(usage!(
                "--limit 0 selects no samples: give at least 1, or leave --limit out for all"
            ));
        }
        Ok(())
    }

    /// The chosen samples of dataset `spec`, checked against the model's input.
    pub fn load(&self, model: &Model, spec: &str) -> Result<Samples> {
        let data = input::open_dataset_for(model, spec, self.split, self.limit)?;
        input::from_dataset(model, &data)
    }
}

/// How to reach the board's daemon.
#[derive(clap::Args, Debug, Clone)]
pub struct Connection {
    /// Serial port of the board (e.g. /dev/ttyUSB1).
    #[arg(long, conflicts_with = "tcp")]
    pub port: Option<String>,
    /// Baud rate.
    #[arg(long, default_value_t = DEFAULT_BAUD)]
    pub baud: u32,
    /// The daemon's TCP address instead (host:port).
    #[arg(long)]
    pub tcp: Option<String>,
}

impl Connection {
    /// Connect to a daemon with an accelerator loaded.
    pub fn open(&self) -> Result<BoardDevice> {
        BoardDevice::connect(self.transport()?)
    }

    /// Connect to a daemon that may have no accelerator loaded yet.
    pub fn open_for_flashing(&self) -> Result<BoardDevice> {
        BoardDevice::connect_for_flashing(self.transport()?)
    }

    /// Refuse a flag the chosen transport ignores.
    pub fn check(&self) -> Result<()> {
        if self.tcp.is_some() && self.baud != DEFAULT_BAUD {
            return Err(usage!(
                "--baud {} sets a serial port's speed; --tcp has none: leave --baud out, or use --port",
                self.baud
            ));
        }
        Ok(())
    }

    fn transport(&self) -> Result<Box<dyn Transport>> {
        self.check()?;
        Ok(match (&self.port, &self.tcp) {
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
                // Small frames and their ACKs: no Nagle delay (the daemon does the same).
                s.set_nodelay(true)?;
                Box::new(s)
            }
            (None, None) => return Err(usage!("give --port or --tcp to reach the board's daemon")),
        })
    }
}

/// Which device runs the program, and the accelerator it is compiled for.
#[derive(clap::Args, Debug, Clone)]
pub struct DeviceArgs {
    /// Where to run: golden (the functional model), sim (the generated RTL in
    /// Verilator: a few to a few dozen images a second, see
    /// docs/simulation-speed.md) or board (a board's daemon over --port or --tcp).
    #[arg(long, value_enum, default_value = "golden")]
    pub backend: Backend,
    #[command(flatten)]
    pub accel: AccelArgs,
    #[command(flatten)]
    pub connection: Connection,
}

impl DeviceArgs {
    /// Check the options without opening anything: the configuration, and
    /// no connection flag unless the backend is the board (it would be ignored).
    pub fn check(&self) -> Result<AcceleratorConfig> {
        let c = self.accel.config()?;
        if self.backend == Backend::Board {
            self.connection.check()?;
        } else {
            let given = [
                ("--port", self.connection.port.is_some()),
                ("--tcp", self.connection.tcp.is_some()),
                ("--baud", self.connection.baud != DEFAULT_BAUD),
            ];
            if let Some((flag, _)) = given.iter().find(|(_, g)| *g) {
                return Err(usage!(
                    "{flag} is for the board backend: add --backend board, or leave {flag} out"
                ));
            }
        }
        Ok(c)
    }

    /// Open the device; the configuration is the board's own when the device
    /// has one, else the one given by --rows/--cols/...
    pub fn open(&self) -> Result<(Box<dyn Device>, AcceleratorConfig)> {
        let asked = self.check()?;
        let dev = device::open(self.backend, &asked, || self.connection.open())?;
        let config = match dev.fixed_config() {
            Some(c) => {
                if c.rows != asked.rows || c.cols != asked.cols {
                    status!(
                        "note: the {} has a {}x{} array; compiling for it (not {}x{})",
                        dev.name(),
                        c.rows,
                        c.cols,
                        asked.rows,
                        asked.cols
                    );
                }
                c
            }
            None => asked,
        };
        Ok((dev, config))
    }
}
