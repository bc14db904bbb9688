//! The golden backend: the compiled program executed by the accelerator's
//! functional model, one DMA window per run (a batch), in parallel over runs.

use super::{Device, Inference, RunCounts};
use crate::compiler::Program;
use rayon::prelude::*;
use spikeslice_core::accel::functional::Activity;

/// Runs programs in software.
#[derive(Debug, Default, Clone, Copy)]
pub struct GoldenDevice;

impl Device for GoldenDevice {
    fn name(&self) -> &str {
        "golden"
    }

    fn run(&mut self, program: &Program, inputs: &[Vec<u8>]) -> anyhow::Result<Vec<Inference>> {
        let chain = program.chain()?;
        let runs: Vec<Vec<Inference>> = inputs
            .par_chunks(program.batch)
            .map(|samples| {
                let mut window = program.image.clone();
                let planes = program.input_planes(samples);
                let at = program.input.offset as usize;
                window[at..at + planes.len()].copy_from_slice(&planes);
                let parts = chain.run_layers(&mut window, &program.config);
                let mut activity = Activity::default();
                for a in &parts {
                    activity.add(a);
                }
                let counts = RunCounts {
                    activity,
                    layer_activity: Some(program.per_layer(&parts, Activity::add)),
                    cycles: None,
                    layer_cycles: None,
                };
                counts.split(program.read_results(&window, samples), program.batch)
            })
            .collect();
        Ok(runs.into_iter().flatten().collect())
    }
}
