//! What a configuration fits: a layer's widths, the on-chip buffers (the
//! controller's Fit rule, refused here first with the size that fits), and
//! the largest batch that does.

use super::CompileError;
use spikeslice_core::accel::buffers::{minimum_bytes, BufferPlan};
use spikeslice_core::accel::descriptor::{LayerDescriptor, LayerKind};
use spikeslice_core::accel::AcceleratorConfig;
use spikeslice_core::golden::{LayerOutput, NeuronLayer};
use spikeslice_core::neuron::{Dynamics, Reset};

fn layer_err(layer: &NeuronLayer, message: String) -> CompileError {
    CompileError::Layer {
        layer: layer.name.clone(),
        message,
    }
}

/// Check that a layer fits what the configuration was generated for.
pub(super) fn check_fit(l: &NeuronLayer, config: &AcceleratorConfig) -> Result<(), CompileError> {
    if l.weight_bits.get() > config.weight_bits_max {
        return Err(layer_err(
            l,
            format!(
                "b_w = {} but the accelerator supports at most {} (generate it with --weight-bits-max {})",
                l.weight_bits.get(),
                config.weight_bits_max,
                l.weight_bits.get()
            ),
        ));
    }
    let spike_bits = match l.neurons.output {
        LayerOutput::Spikes { bits } => bits,
        LayerOutput::Membrane => 1,
    };
    let widest = l.input_bits.get().max(spike_bits);
    if widest > config.spike_bits_max {
        return Err(layer_err(
            l,
            format!(
                "{widest}-bit spikes but the accelerator supports at most {} (generate it with --spike-bits-max {widest})",
                config.spike_bits_max
            ),
        ));
    }
    Ok(())
}

/// The controller's Fit check (docs/shell.md), refused here first, with the
/// buffer size that makes every layer of the model fit.
pub(super) fn check_buffers(
    layers: &[&NeuronLayer],
    static_inputs: &[bool],
    config: &AcceleratorConfig,
    t: usize,
) -> Result<(), CompileError> {
    let plan = BufferPlan::new(config);
    for (&l, &st) in layers.iter().zip(static_inputs) {
        if let Err(e) = plan.fit(&shape_of(l, t, st)) {
            let e = match e.buffer() {
                Some(b) => {
                    let most = layers
                        .iter()
                        .zip(static_inputs)
                        .map(|(&l, &st)| {
                            minimum_bytes(config.rows, config.cols, &shape_of(l, t, st))[b]
                        })
                        .max()
                        .unwrap_or(0);
                    e.suggesting(most)
                }
                None => e,
            };
            return Err(layer_err(l, e.to_string()));
        }
    }
    Ok(())
}

/// The largest batch below `n` whose layers fit the buffers, from the shapes of
/// `layers` batched `n` times (positions and input `n` times one sample's):
/// what a refused batch suggests.
pub(super) fn largest_batch(
    layers: &[&NeuronLayer],
    static_inputs: &[bool],
    config: &AcceleratorConfig,
    t: usize,
    n: usize,
) -> Option<usize> {
    let plan = BufferPlan::new(config);
    let fits = |m: usize| {
        layers.iter().zip(static_inputs).all(|(&l, &st)| {
            let mut d = shape_of(l, t, st);
            d.positions = d.positions / n as u32 * m as u32;
            d.input_len = d.input_len / n as u32 * m as u32;
            plan.fit(&d).is_ok()
        })
    };
    (1..n).rev().find(|&m| fits(m))
}

/// A layer's descriptor without its window offsets: what the fit check and
/// the cycle model need.
pub(super) fn shape_of(l: &NeuronLayer, t: usize, static_input: bool) -> LayerDescriptor {
    let s = &l.synapses;
    LayerDescriptor {
        kind: if s.gather.is_some() {
            LayerKind::Gather
        } else {
            LayerKind::Dense
        },
        readout: l.neurons.output == LayerOutput::Membrane,
        hard_reset: l.neurons.reset == Reset::Hard,
        static_input,
        leak_shift: match l.neurons.dynamics {
            Dynamics::If => 0,
            Dynamics::Lif { leak_shift } => leak_shift,
        },
        weight_bits: l.weight_bits.get(),
        input_bits: l.input_bits.get(),
        spike_bits: match l.neurons.output {
            LayerOutput::Spikes { bits } => bits,
            LayerOutput::Membrane => 0,
        },
        timesteps: t as u32,
        positions: s.positions as u32,
        groups: s.groups as u32,
        input_len: s.input_len as u32,
        // Every window offset 0, packed output.
        ..LayerDescriptor::dense(s.fan_in as u32, s.outputs as u32)
    }
}
