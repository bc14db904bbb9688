//! The golden model as a device.

use super::Device;
use spikeslice_core::golden::{self, Engine, SampleOutput};
use spikeslice_core::model::Model;

/// Runs models with the golden model's packed evaluator, in parallel over samples.
#[derive(Debug, Default)]
pub struct GoldenDevice {
    pub engine: Engine,
}

impl Device for GoldenDevice {
    fn name(&self) -> &str {
        "golden"
    }
    fn run(&mut self, model: &Model, inputs: &[Vec<u8>]) -> anyhow::Result<Vec<SampleOutput>> {
        Ok(golden::run_checked_batch(model, inputs, self.engine))
    }
}
