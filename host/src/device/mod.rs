//! Devices: everything that can run a compiled program. The command line talks
//! to a `dyn Device` and never special-cases one. Every backend runs the same
//! [`Program`] (descriptor chain + memory image): `golden` executes it with the
//! functional model of the accelerator (core), and the simulator and board
//! backends implement the same trait.

pub mod board;
mod golden;
pub mod sim;

pub use board::BoardDevice;
pub use golden::GoldenDevice;
pub use sim::SimDevice;

use crate::compiler::Program;
use spikeslice_core::accel::functional::Activity;
use spikeslice_core::accel::AcceleratorConfig;
use spikeslice_core::golden::SampleOutput;

/// One sample's result from a device.
#[derive(Debug, Clone, PartialEq)]
pub struct Inference {
    pub output: SampleOutput,
    /// What the hardware counters count that depends on the data.
    pub activity: Activity,
    /// The same per layer, where the backend can tell layers apart.
    pub layer_activity: Option<Vec<Activity>>,
    /// Cycles of the whole chain, where the backend measures them (the sim
    /// backend and a board: the shell's `CNT_CYCLES`). `None` where nothing is measured (golden).
    pub cycles: Option<u64>,
    /// The same per layer, where the backend can tell layers apart.
    pub layer_cycles: Option<Vec<u64>>,
}

/// What one run of the descriptor chain counted, for every sample of its
/// batch together.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunCounts {
    pub activity: Activity,
    pub layer_activity: Option<Vec<Activity>>,
    pub cycles: Option<u64>,
    pub layer_cycles: Option<Vec<u64>>,
}

impl RunCounts {
    /// The inferences of a run that computed `outputs` (the samples of one
    /// batch of `batch`, a last batch's zero padding counted in `batch`):
    /// each sample's output with its share of the run's counts
    /// (docs/architecture.md, "Batches").
    pub fn split(self, outputs: Vec<SampleOutput>, batch: usize) -> Vec<Inference> {
        use spikeslice_core::share;
        outputs
            .into_iter()
            .enumerate()
            .map(|(b, output)| Inference {
                output,
                activity: self.activity.share(batch, b),
                layer_activity: self
                    .layer_activity
                    .as_ref()
                    .map(|l| l.iter().map(|a| a.share(batch, b)).collect()),
                cycles: self.cycles.map(|c| share(c, batch, b)),
                layer_cycles: self
                    .layer_cycles
                    .as_ref()
                    .map(|l| l.iter().map(|&c| share(c, batch, b)).collect()),
            })
            .collect()
    }
}

/// Something that runs a compiled program on input samples.
pub trait Device {
    /// Short name, as given to `--backend`.
    fn name(&self) -> &str;
    /// Run every sample (already checked against the model's input), in order,
    /// `program.batch` samples a run.
    fn run(&mut self, program: &Program, inputs: &[Vec<u8>]) -> anyhow::Result<Vec<Inference>>;
    /// The accelerator configuration the device is fixed to (a board's
    /// generated design), or `None` when it runs whatever it is given.
    fn fixed_config(&self) -> Option<AcceleratorConfig> {
        None
    }
    /// Board power in watts, where the device measures it.
    fn power_watts(&mut self) -> anyhow::Result<Option<f64>> {
        Ok(None)
    }
    /// Ask for per-layer cycles and counts (`Inference::layer_cycles`,
    /// `layer_activity`) where the device can measure them only at a cost (the
    /// sim backend: one start per descriptor). Returns whether it will
    /// measure them.
    fn measure_layers(&mut self, _on: bool) -> bool {
        false
    }
}

/// The backends `--backend` accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Backend {
    /// The accelerator's functional model in software (core): the golden numbers.
    Golden,
    /// The generated RTL in Verilator (needs `verilator` and `g++`).
    Sim,
    /// A board running `spikeslice-fw`, over `--port` or `--tcp`.
    Board,
}

/// Open the device for a backend. `config` is the accelerator the program is
/// compiled for (a board reports its own: see [`Device::fixed_config`]);
/// `board` connects to a board's daemon when the board backend is chosen.
pub fn open(
    backend: Backend,
    config: &AcceleratorConfig,
    board: impl FnOnce() -> anyhow::Result<BoardDevice>,
) -> anyhow::Result<Box<dyn Device>> {
    Ok(match backend {
        Backend::Golden => Box::new(GoldenDevice),
        Backend::Sim => Box::new(SimDevice::open(config)?),
        Backend::Board => Box::new(board()?),
    })
}
