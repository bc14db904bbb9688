//! Devices: everything that can run a compiled program. The command line talks
//! to a `dyn Device` and never special-cases one. Every backend runs the same
//! [`Program`] (descriptor chain + memory image): `golden` executes it with the
//! functional model of the accelerator (core), and the simulator and board
//! backends implement the same trait.

pub mod board;
mod golden;

pub use board::BoardDevice;
pub use golden::{read_results, GoldenDevice};

use crate::compiler::Program;
use spikeslice_core::accel::functional::Activity;
use spikeslice_core::golden::SampleOutput;

/// One sample's result from a device.
#[derive(Debug, Clone, PartialEq)]
pub struct Inference {
    pub output: SampleOutput,
    /// What the hardware counters count that depends on the data.
    pub activity: Activity,
    /// Cycles, where the backend measures or models them.
    pub cycles: Option<u64>,
}

/// Something that runs a compiled program on input samples.
pub trait Device {
    /// Short name, as given to `--backend`.
    fn name(&self) -> &str;
    /// Run every sample (already checked against the model's input), in order.
    fn run(&mut self, program: &Program, inputs: &[Vec<u8>]) -> anyhow::Result<Vec<Inference>>;
}

/// The backends `--backend` accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Backend {
    /// The accelerator's functional model in software (core): the golden numbers.
    Golden,
}

/// Open the device for a backend.
pub fn open(backend: Backend) -> anyhow::Result<Box<dyn Device>> {
    Ok(match backend {
        Backend::Golden => Box::new(GoldenDevice),
    })
}
