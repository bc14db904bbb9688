//! A functional model of the accelerator: executes a descriptor chain on a
//! memory window exactly as the hardware must (same layouts, same checks, same
//! numbers), with the golden model doing the arithmetic. It is the reference the
//! compiler is tested against before any RTL runs, and the executable
//! definition of what the RTL's controller does with a chain.

use super::descriptor::{
    DescriptorError, LayerDescriptor, LayerKind, DESCRIPTOR_BYTES, GATHER_PAD, PARAM_BYTES,
};
use super::layout;
use super::regmap::ErrorCode;
use super::AcceleratorConfig;
use crate::golden::{
    Engine, LayerOutput, LayerTrace, NeuronLayer, Neurons, PackedWeights, Synapses, PAD,
};
use crate::neuron::{Dynamics, Reset};
use crate::numeric::{SpikeBits, WeightBits};
use serde::{Deserialize, Serialize};

/// Event counts of a run: what the hardware counters count that depends on the
/// data, not on timing (cycles come from a cycle model or the RTL).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Activity {
    /// PE additions performed: one per set slice bit per output reading it.
    pub pe_adds: u64,
    /// Binary slice vectors processed: `T * b_in * P * G` per layer.
    pub slices: u64,
    /// Sum of emitted spike values.
    pub spikes: u64,
    /// Bytes of the regions read (the minimum traffic; tiling can add re-reads).
    pub bytes_read: u64,
    /// Bytes written.
    pub bytes_written: u64,
    /// Neurodynamic updates: neurons times timesteps.
    pub neuron_updates: u64,
}

fieldwise_add!(Activity {
    pe_adds,
    slices,
    spikes,
    bytes_read,
    bytes_written,
    neuron_updates
});

fn read_i32s(bytes: &[u8]) -> Vec<i32> {
    bytes
        .chunks_exact(4)
        .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

/// Decode and check descriptor `index` of the chain at `desc_offset`; a
/// descriptor running past the window's end is refused by the decoder.
fn decode_at(
    window: &[u8],
    desc_offset: u32,
    index: usize,
    config: &AcceleratorConfig,
) -> Result<LayerDescriptor, DescriptorError> {
    let at = desc_offset as usize + index * DESCRIPTOR_BYTES;
    let start = at.min(window.len());
    let end = (at + DESCRIPTOR_BYTES).min(window.len());
    LayerDescriptor::decode(&window[start..end], index, at as u32, config, window.len())
}

/// Decode the descriptor chain at `desc_offset` without running it.
pub fn decode_chain(
    window: &[u8],
    desc_offset: u32,
    count: u32,
    config: &AcceleratorConfig,
) -> Result<Vec<LayerDescriptor>, DescriptorError> {
    (0..count as usize)
        .map(|i| decode_at(window, desc_offset, i, config))
        .collect()
}

/// Rebuild the layer a descriptor describes from the window.
pub fn layer_of(
    window: &[u8],
    d: &LayerDescriptor,
    index: usize,
    config: &AcceleratorConfig,
) -> Result<NeuronLayer, DescriptorError> {
    let region = |off: u32, len: usize| &window[off as usize..off as usize + len];
    let bad = |m: String| DescriptorError {
        index,
        code: ErrorCode::BadField,
        offset: 0,
        message: m,
    };
    let wb = WeightBits::new(u32::from(d.weight_bits)).map_err(|e| bad(e.to_string()))?;
    let (o, k) = (d.outputs as usize, d.fan_in as usize);
    let wbytes = layout::weight_bytes(o, k, config.cols, wb);
    let weights = layout::unpack_weights(region(d.weights, wbytes), o, k, config.cols, wb);
    let params = read_i32s(region(d.params, o * PARAM_BYTES));
    let (mut bias, mut threshold, mut v_init) = (Vec::new(), Vec::new(), Vec::new());
    for p in params.chunks_exact(3) {
        bias.push(p[0]);
        threshold.push(p[1]);
        v_init.push(p[2]);
    }
    // The gather table as stored, or as the controller generates an im2col
    // layer's rows (GATHER_PAD marks padding).
    let table: Option<Vec<u32>> = match d.kind {
        LayerKind::Dense => None,
        LayerKind::Gather => {
            let n = d.groups as usize * d.positions as usize * k;
            Some(
                read_i32s(region(d.gather, n * 4))
                    .into_iter()
                    .map(|v| v as u32)
                    .collect(),
            )
        }
        LayerKind::Im2col => Some(super::im2col::table(d)),
    };
    if let Some((offset, message)) =
        first_fault_in_run_order(d, table.as_deref(), &threshold, config)
    {
        return Err(DescriptorError {
            index,
            code: ErrorCode::BadField,
            offset,
            message,
        });
    }
    let gather = table.map(|t| {
        t.into_iter()
            .map(|i| if i == GATHER_PAD { PAD } else { i })
            .collect()
    });
    let layer = NeuronLayer {
        name: format!("descriptor {index}"),
        synapses: Synapses {
            outputs: o,
            positions: d.positions as usize,
            fan_in: k,
            groups: d.groups as usize,
            input_len: d.input_len as usize,
            weights,
            gather,
        },
        weight_bits: wb,
        input_bits: SpikeBits::new(u32::from(d.input_bits)).map_err(|e| bad(e.to_string()))?,
        neurons: Neurons {
            bias,
            threshold: if d.readout { Vec::new() } else { threshold },
            v_init,
            dynamics: if d.leak_shift == 0 {
                Dynamics::If
            } else {
                Dynamics::Lif {
                    leak_shift: d.leak_shift,
                }
            },
            reset: if d.hard_reset {
                Reset::Hard
            } else {
                Reset::Soft
            },
            output: if d.readout {
                LayerOutput::Membrane
            } else {
                LayerOutput::Spikes { bits: d.spike_bits }
            },
        },
    };
    crate::model::validate_neuron_layer(&layer).map_err(|e| bad(e.to_string()))?;
    Ok(layer)
}

/// The first bad parameter or gather entry of a layer in the order the
/// controller meets them (docs/controller.md): per column tile of `C`
/// outputs, its parameters (a spiking layer's thresholds must be positive:
/// offset 0), then, in a gather layer, the row of every position and of every
/// group meeting the tile (an entry must be padding or an input index: its
/// offset). The controller checks each gather row as a run reads it, so a
/// layer fails at the first row that holds a bad entry, not at the table's
/// first bad entry.
fn first_fault_in_run_order(
    d: &LayerDescriptor,
    table: Option<&[u32]>,
    threshold: &[i32],
    config: &AcceleratorConfig,
) -> Option<(u32, String)> {
    let (o, k, cols) = (
        u64::from(d.outputs),
        u64::from(d.fan_in),
        config.cols as u64,
    );
    for o0 in (0..o).step_by(config.cols) {
        if !d.readout {
            let columns = o0 as usize..(o0 + cols).min(o) as usize;
            if let Some(c) = columns.into_iter().find(|&c| threshold[c] <= 0) {
                let t = threshold[c];
                return Some((
                    0,
                    format!("threshold[{c}] = {t}: thresholds must be positive"),
                ));
            }
        }
        let Some(table) = table else { continue };
        for pos in 0..u64::from(d.positions) {
            for g in d.tile_groups(o0, cols) {
                let first = ((g * u64::from(d.positions) + pos) * k) as usize;
                let row = &table[first..first + k as usize];
                if let Some(i) = row
                    .iter()
                    .position(|&v| v != GATHER_PAD && v >= d.input_len)
                {
                    return Some((
                        (d.gather_row(g, pos) + 4 * i as u64) as u32,
                        format!(
                            "gather entry {} reads input {} of {}",
                            first + i,
                            row[i],
                            d.input_len
                        ),
                    ));
                }
            }
        }
    }
    None
}

/// PE additions of one layer over its inputs: for every timestep, position and
/// group, the set bits of the gathered slices, times the outputs reading them.
pub fn pe_adds(layer: &NeuronLayer, inputs: &[Vec<u8>]) -> u64 {
    let s = &layer.synapses;
    let per_group = (s.outputs / s.groups) as u64;
    let mut patch = Vec::new();
    let mut adds = 0u64;
    for x in inputs {
        for g in 0..s.groups {
            for p in 0..s.positions {
                s.gathered(x, g, p, &mut patch);
                let ones: u64 = patch.iter().map(|v| u64::from(v.count_ones())).sum();
                adds += ones * per_group;
            }
        }
    }
    adds
}

/// Run one decoded layer on the window: read its input planes, compute, write
/// its output, and count what it did.
pub fn run_layer(
    window: &mut [u8],
    d: &LayerDescriptor,
    layer: &NeuronLayer,
    packed: Option<&PackedWeights>,
    config: &AcceleratorConfig,
) -> Activity {
    let golden = |l: &NeuronLayer, x: &[Vec<u8>]| {
        Ok::<_, std::convert::Infallible>(l.run_prepared(x, Engine::Packed, packed))
    };
    match run_layer_with(window, d, layer, config, golden) {
        Ok(a) => a,
        Err(never) => match never {},
    }
}

/// [`run_layer`] with another engine doing the arithmetic: `compute` gets the
/// layer and its input spikes (one vector per timestep) and returns the
/// layer's trace; the window reads and writes and the counts are the
/// functional model's. The Verilator backend passes the simulated core here.
pub fn run_layer_with<E>(
    window: &mut [u8],
    d: &LayerDescriptor,
    layer: &NeuronLayer,
    config: &AcceleratorConfig,
    compute: impl FnOnce(&NeuronLayer, &[Vec<u8>]) -> Result<LayerTrace, E>,
) -> Result<Activity, E> {
    let t = d.timesteps as usize;
    let steps = d.input_steps() as usize;
    let in_bytes = layout::planes_bytes(steps, d.input_bits, d.input_len as usize);
    let read_steps = layout::unpack_planes(
        &window[d.input as usize..d.input as usize + in_bytes],
        steps,
        d.input_bits,
        d.input_len as usize,
    );
    // A static input is the same at every timestep (one step read, its
    // current computed once: the PEs add it once).
    let inputs: Vec<Vec<u8>> = (0..t).map(|i| read_steps[i % steps].clone()).collect();
    let trace = compute(layer, &inputs)?;
    let out: Vec<u8> = if d.readout {
        trace
            .membrane
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect()
    } else {
        layout::pack_planes(&trace.spikes, d.spike_bits, d.neurons())
    };
    // The write-back: the output region at once, or one plane per command
    // (a strided output, docs/formats.md).
    let planes = d.output_planes();
    let chunk = out.len() / planes.len();
    for ((offset, bytes), data) in planes.into_iter().zip(out.chunks(chunk.max(1))) {
        window[offset as usize..offset as usize + bytes].copy_from_slice(data);
    }
    let read: usize = d
        .regions(config)
        .iter()
        .filter(|r| !r.write)
        .map(|r| r.bytes)
        .sum();
    Ok(Activity {
        pe_adds: pe_adds(layer, &read_steps),
        slices: d.slices() * u64::from(d.positions) * u64::from(d.groups),
        spikes: trace.spikes.iter().flatten().map(|&s| u64::from(s)).sum(),
        bytes_read: (read + DESCRIPTOR_BYTES) as u64,
        bytes_written: out.len() as u64,
        neuron_updates: (d.neurons() * t) as u64,
    })
}

/// A chain decoded once, to run many samples through the same static regions
/// (weights, parameters, gather tables do not change between samples).
#[derive(Debug, Clone)]
pub struct Chain {
    pub descriptors: Vec<LayerDescriptor>,
    pub layers: Vec<NeuronLayer>,
    packed: Vec<PackedWeights>,
}

impl Chain {
    pub fn decode(
        window: &[u8],
        desc_offset: u32,
        count: u32,
        config: &AcceleratorConfig,
    ) -> Result<Self, DescriptorError> {
        let descriptors = decode_chain(window, desc_offset, count, config)?;
        let layers: Vec<NeuronLayer> = descriptors
            .iter()
            .enumerate()
            .map(|(i, d)| layer_of(window, d, i, config))
            .collect::<Result<_, _>>()?;
        let packed = layers.iter().map(PackedWeights::new).collect();
        Ok(Self {
            descriptors,
            layers,
            packed,
        })
    }

    /// Run every layer in order on `window`.
    pub fn run(&self, window: &mut [u8], config: &AcceleratorConfig) -> Activity {
        let mut total = Activity::default();
        for a in self.run_layers(window, config) {
            total.add(&a);
        }
        total
    }

    /// [`Chain::run`], counting each layer on its own.
    pub fn run_layers(&self, window: &mut [u8], config: &AcceleratorConfig) -> Vec<Activity> {
        self.descriptors
            .iter()
            .zip(&self.layers)
            .zip(&self.packed)
            .map(|((d, l), p)| run_layer(window, d, l, Some(p), config))
            .collect()
    }
}

/// Execute `count` descriptors at `desc_offset` in `window`, writing every
/// layer's output into the window. Each descriptor is decoded and checked just
/// before its layer runs, and the run stops at the first bad one with the error
/// code the hardware reports, as the controller does.
pub fn execute(
    window: &mut [u8],
    desc_offset: u32,
    count: u32,
    config: &AcceleratorConfig,
) -> Result<Activity, DescriptorError> {
    let mut total = Activity::default();
    for i in 0..count as usize {
        let d = decode_at(window, desc_offset, i, config)?;
        let layer = layer_of(window, &d, i, config)?;
        total.add(&run_layer(window, &d, &layer, None, config));
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A gather layer of 16 outputs in 4 groups, 2 positions, K = 3, its table
    /// at window offset 64, on 8 columns: tile 0 meets groups 0 and 1. The
    /// runs meet row (g 1, p 0) before row (g 0, p 1), where the table holds
    /// (g 0, p 1) first; a bad threshold of tile 1 comes after tile 0's rows.
    #[test]
    fn faults_are_reported_in_the_order_of_the_runs() {
        let config = AcceleratorConfig::default();
        let d = LayerDescriptor {
            kind: LayerKind::Gather,
            outputs: 16,
            groups: 4,
            positions: 2,
            input_len: 10,
            gather: 64,
            ..LayerDescriptor::dense(3, 16)
        };
        let entry_at = |g: usize, p: usize, k: usize| 64 + 4 * ((g * 2 + p) * 3 + k);
        let mut window = vec![0u8; 64 + 4 * 4 * 2 * 3];
        for (i, e) in window[64..].chunks_exact_mut(4).enumerate() {
            let v = if i % 5 == 0 {
                GATHER_PAD
            } else {
                i as u32 % 10
            };
            e.copy_from_slice(&v.to_le_bytes());
        }
        let mut threshold = vec![1; 16];
        let fault = |w: &[u8], t: &[i32]| {
            let table: Vec<u32> = read_i32s(&w[64..]).into_iter().map(|v| v as u32).collect();
            first_fault_in_run_order(&d, Some(&table), t, &config)
        };
        assert_eq!(fault(&window, &threshold), None);
        let bad = |w: &mut Vec<u8>, at: usize| w[at..at + 4].copy_from_slice(&10u32.to_le_bytes());
        bad(&mut window, entry_at(0, 1, 2));
        bad(&mut window, entry_at(1, 0, 1));
        threshold[9] = 0;
        assert_eq!(
            fault(&window, &threshold).unwrap().0 as usize,
            entry_at(1, 0, 1)
        );
        window[entry_at(1, 0, 1)] = 9;
        assert_eq!(
            fault(&window, &threshold).unwrap().0 as usize,
            entry_at(0, 1, 2)
        );
        window[entry_at(0, 1, 2)] = 9;
        let (offset, message) = fault(&window, &threshold).unwrap();
        assert_eq!(offset, 0, "{message}");
        assert!(message.contains("threshold[9] = 0"), "{message}");
        threshold[2] = -1;
        bad(&mut window, entry_at(3, 1, 0));
        assert!(fault(&window, &threshold)
            .unwrap()
            .1
            .contains("threshold[2]"));
    }
}
