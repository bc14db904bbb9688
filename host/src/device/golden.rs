//! The golden backend: the compiled program executed by the accelerator's
//! functional model, one DMA window per sample, in parallel over samples.

use super::{Device, Inference};
use crate::compiler::Program;
use anyhow::Context;
use rayon::prelude::*;
use spikeslice_core::accel::functional::{Activity, Chain};
use spikeslice_core::accel::layout;
use spikeslice_core::golden::{argmax, LayerOutput, SampleOutput, SpikeStats};

/// Runs programs in software.
#[derive(Debug, Default, Clone, Copy)]
pub struct GoldenDevice;

/// Read a sample's results out of its window.
pub fn read_results(program: &Program, window: &[u8], input: &[u8]) -> SampleOutput {
    let t = program.model.timesteps();
    let mut layers = Vec::with_capacity(program.outputs.len());
    let mut readout = Vec::new();
    for (l, buf) in program.model.layers.iter().zip(&program.outputs) {
        let bytes = &window[buf.offset as usize..buf.offset as usize + buf.bytes];
        match l.output {
            LayerOutput::Spikes { bits } => {
                let spikes = layout::unpack_planes(bytes, t, bits, l.neurons());
                layers.push(SpikeStats::of(&spikes));
            }
            LayerOutput::Membrane => {
                readout = bytes
                    .chunks_exact(8)
                    .map(|c| i64::from_le_bytes(c.try_into().expect("8 bytes")))
                    .collect();
                layers.push(SpikeStats::default());
            }
        }
    }
    SampleOutput {
        class: argmax(&readout),
        readout,
        input: SpikeStats::of(&vec![input.to_vec(); t]),
        layers,
    }
}

impl Device for GoldenDevice {
    fn name(&self) -> &str {
        "golden"
    }

    fn run(&mut self, program: &Program, inputs: &[Vec<u8>]) -> anyhow::Result<Vec<Inference>> {
        let chain = Chain::decode(
            &program.image,
            program.desc_offset,
            program.descriptors.len() as u32,
            &program.config,
        )
        .context("the compiled program's descriptor chain is invalid")?;
        Ok(inputs
            .par_iter()
            .map(|x| {
                let mut window = program.image.clone();
                let planes = program.input_planes(x);
                let at = program.input.offset as usize;
                window[at..at + planes.len()].copy_from_slice(&planes);
                let layers = chain.run_layers(&mut window, &program.config);
                let mut activity = Activity::default();
                for a in &layers {
                    activity.add(a);
                }
                Inference {
                    output: read_results(program, &window, x),
                    activity,
                    layer_activity: Some(layers),
                    cycles: None,
                    layer_cycles: None,
                }
            })
            .collect())
    }
}
