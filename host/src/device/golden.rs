//! The golden backend: the compiled program executed by the accelerator's
//! functional model, one DMA window per sample, in parallel over samples.

use super::{Device, Inference};
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
        Ok(inputs
            .par_iter()
            .map(|x| {
                let mut window = program.image.clone();
                let planes = program.input_planes(x);
                let at = program.input.offset as usize;
                window[at..at + planes.len()].copy_from_slice(&planes);
                let parts = chain.run_layers(&mut window, &program.config);
                let mut activity = Activity::default();
                for a in &parts {
                    activity.add(a);
                }
                let layers = program.per_layer(&parts, Activity::add);
                Inference {
                    output: program.read_results(&window, x),
                    activity,
                    layer_activity: Some(layers),
                    cycles: None,
                    layer_cycles: None,
                }
            })
            .collect())
    }
}
