//! Devices: everything that can run a model. The command line talks to a
//! `dyn Device` and never special-cases one; `golden` is the reference, and
//! the simulator and board backends implement the same trait.

mod golden;

pub use golden::GoldenDevice;

use spikeslice_core::golden::SampleOutput;
use spikeslice_core::model::Model;

/// Something that runs a model on checked input samples.
pub trait Device {
    /// Short name, as given to `--backend`.
    fn name(&self) -> &str;
    /// Run every sample (already checked against the model's input) and return
    /// one result per sample, in order.
    fn run(&mut self, model: &Model, inputs: &[Vec<u8>]) -> anyhow::Result<Vec<SampleOutput>>;
}

/// The backends `--backend` accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Backend {
    /// The golden model in software (core).
    Golden,
}

/// Open the device for a backend.
pub fn open(backend: Backend) -> anyhow::Result<Box<dyn Device>> {
    Ok(match backend {
        Backend::Golden => Box::new(GoldenDevice::default()),
    })
}
