//! Layers whose output does not fit the output buffer, split by output
//! channel (docs/architecture.md, "Split outputs"). The controller holds a
//! descriptor's whole output on chip until its write-back; a layer with more
//! output than that becomes several descriptors, each computing a range of
//! output channels from the same input and writing its part of every
//! output plane with a stride (docs/formats.md, "Strided outputs"), so the
//! layer's output lies in the window exactly as one descriptor would have
//! written it. Each neuron is computed by one part, from the same inputs,
//! weights and parameters: the split changes cycles and DMA traffic, not a
//! number.

use super::shape_of;
use spikeslice_core::accel::buffers::BufferPlan;
use spikeslice_core::accel::AcceleratorConfig;
use spikeslice_core::golden::{LayerOutput, NeuronLayer};
use std::ops::Range;

/// Output buffer errors are the ones a split lifts (`FitError::buffer`).
pub(super) const OUTPUT_BUFFER: usize = 2;

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// The output channel ranges of the descriptors that run layer `l`: the whole
/// layer when it fits the buffers (or fails on something a split does not
/// change), else the fewest parts that fit. A part is whole channel groups or
/// a range inside one group, its values fill whole DMA beats of every plane,
/// and where the sizes allow it is a multiple of the array's columns, so no
/// part runs a tile of idle columns that a larger part would not. When not
/// even the smallest such part fits, the parts are that small, and the buffer
/// check reports what they need.
pub fn channel_parts(
    l: &NeuronLayer,
    timesteps: usize,
    static_input: bool,
    config: &AcceleratorConfig,
) -> Vec<Range<usize>> {
    let plan = BufferPlan::new(config);
    let whole = shape_of(l, timesteps, static_input);
    let o = l.synapses.outputs;
    match plan.fit(&whole) {
        Err(e) if e.buffer() == Some(OUTPUT_BUFFER) => {}
        _ => return std::iter::once(0..o).collect(),
    }
    let per_group = o / l.synapses.groups;
    // Values a part's first value must be a multiple of: every part of a
    // plane starts on a DMA beat, and all but the last are whole beats, so no
    // write of one part touches another's bits. A spike is one bit, a
    // readout's membrane 64.
    let beat = 8 * config.axi_data_bytes;
    let align = match l.neurons.output {
        LayerOutput::Spikes { .. } => beat,
        LayerOutput::Membrane => (beat / 64).max(1),
    };
    let p = l.synapses.positions;
    // Part sizes: whole beats of every plane, and whole groups or a divisor
    // of a group (parts inside one group read that group's rows).
    let beats = align / gcd(p, align);
    let valid = |m: usize| {
        m.is_multiple_of(beats) && (m.is_multiple_of(per_group) || per_group.is_multiple_of(m))
    };
    let fits = |m: usize| {
        let mut d = whole;
        d.outputs = m as u32;
        d.groups = m.div_ceil(per_group) as u32;
        plan.fit(&d).is_ok()
    };
    let sizes: Vec<usize> = (1..o).filter(|&m| valid(m)).collect();
    let Some(&smallest) = sizes.first() else {
        return std::iter::once(0..o).collect();
    };
    let most = sizes
        .iter()
        .rev()
        .copied()
        .find(|&m| fits(m))
        .unwrap_or(smallest);
    // As few parts as the largest fitting size allows; of the sizes that
    // give that many, a multiple of the array's columns (no part runs a tile
    // of idle columns a larger one would not), else the most even.
    let n = o.div_ceil(most);
    let same: Vec<usize> = sizes
        .iter()
        .copied()
        .filter(|&m| m <= most && o.div_ceil(m) == n)
        .collect();
    let size = same
        .iter()
        .rev()
        .copied()
        .find(|m| m.is_multiple_of(config.cols))
        .unwrap_or(same[0]);
    (0..o).step_by(size).map(|a| a..(a + size).min(o)).collect()
}
