//! The compiler: model + accelerator configuration -> program.
//!
//! A program is everything a device needs to run a model: one DMA window
//! image holding the descriptor chain, packed weights, per-output parameters
//! and gather tables (docs/formats.md), and a plan of where each sample's
//! input goes and where each layer writes. Data flows one way:
//! model -> program -> device -> report.

use spikeslice_core::accel::buffers::BufferPlan;
use spikeslice_core::accel::cycles::{ideal_cycles, CycleModel, LayerCycles};
use spikeslice_core::accel::descriptor::{
    LayerDescriptor, LayerKind, DESCRIPTOR_BYTES, GATHER_PAD, PARAM_BYTES,
};
use spikeslice_core::accel::functional::Chain;
use spikeslice_core::accel::AcceleratorConfig;
use spikeslice_core::accel::{im2col, layout};
use spikeslice_core::golden::{argmax, LayerOutput, NeuronLayer, SampleOutput, SpikeStats, PAD};
use spikeslice_core::model::{LayerSpec, Model, Source};
use spikeslice_core::widths::{self, WidthError};
use std::borrow::Cow;
use thiserror::Error;

mod concat;
mod fit;
mod split;
#[cfg(test)]
mod tests;

use fit::{check_buffers, check_fit, largest_batch, shape_of};

/// Regions start on 64-byte boundaries (a cache line, and an AXI beat multiple).
const ALIGN: usize = 64;

/// A model that cannot run on a configuration.
#[derive(Debug, Error)]
pub enum CompileError {
    #[error(transparent)]
    Config(#[from] spikeslice_core::accel::ConfigError),
    #[error(transparent)]
    Width(#[from] WidthError),
    #[error("layer {layer}: {message}")]
    Layer { layer: String, message: String },
    #[error(
        "the program needs a {bytes}-byte DMA window, more than the 4 GiB descriptors can address"
    )]
    TooLarge { bytes: usize },
    #[error(transparent)]
    Batch(spikeslice_core::model::ModelError),
    #[error("a batch of 0 samples runs nothing: give --batch 1 or more")]
    EmptyBatch,
}

/// Where a spike train or the readout lives in the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Buffer {
    pub offset: u32,
    /// From `offset` to the end of the last plane (a part of a
    /// concatenation spans the other part's planes too).
    pub bytes: usize,
}

/// One named region of the window, for the buffer plan report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    pub name: String,
    pub offset: u32,
    pub bytes: usize,
}

/// A compiled model.
#[derive(Debug, Clone)]
pub struct Program {
    pub model: Model,
    pub config: AcceleratorConfig,
    /// The window's initial contents (activation regions are zero).
    pub image: Vec<u8>,
    pub desc_offset: u32,
    pub descriptors: Vec<LayerDescriptor>,
    /// Per layer, its descriptors: one, or the parts of a split output
    /// (docs/architecture.md, "Split outputs"), in channel order.
    pub spans: Vec<std::ops::Range<usize>>,
    /// Input spike planes: the `b_in` planes of one timestep of the input
    /// vector, which every layer reading it reads as a static input (direct
    /// encoding: the same image at every timestep).
    pub input: Buffer,
    /// Each layer's output (spike planes, or the readout's i64 membranes).
    pub outputs: Vec<Buffer>,
    pub plan: Vec<Planned>,
    /// Per layer, how many of its channel groups each descriptor group merges
    /// (1: the model's grouping; docs/architecture.md, "Merged groups").
    pub merged_groups: Vec<usize>,
    /// Samples one run of the chain computes (`Mapping::batch`; `model` is
    /// one sample's, the descriptors the batch's).
    pub batch: usize,
}

impl Program {
    pub fn window_bytes(&self) -> usize {
        self.image.len()
    }

    /// The bytes an image's inference needs to move once: the packed weights,
    /// its input planes and every layer's output (what DMA traffic is
    /// compared with: docs/performance.md, "Grouped layers and a CIFAR-10-shaped
    /// VGG net").
    pub fn data_bytes(&self) -> u64 {
        let t = self.model.timesteps();
        let layers = &self.model.layers;
        let weights: u64 = layers
            .iter()
            .map(|l| {
                (l.synapses.weights.len() * usize::from(l.weight_bits.get())).div_ceil(8) as u64
            })
            .sum();
        let outputs: u64 = layers
            .iter()
            .map(|l| match l.neurons.output {
                LayerOutput::Spikes { bits } => layout::planes_bytes(t, bits, l.neurons()) as u64,
                LayerOutput::Membrane => 8 * l.neurons() as u64,
            })
            .sum();
        let bits = self.model.spec.input.bits.get();
        let input = layout::planes_bytes(1, bits, self.model.input_len());
        weights + input as u64 + outputs
    }
    /// The input region's contents for one run: the batch's samples (at
    /// most [`Program::batch`]; missing ones are zeros) side by side
    /// (`BatchLayout`), their planes once, for the layers that read them as a
    /// static input.
    pub fn input_planes(&self, samples: &[Vec<u8>]) -> Vec<u8> {
        let bits = self.model.spec.input.bits.get();
        let len = self.model.input_len();
        let values = self.model.input_layout(self.batch).interleave(samples, len);
        layout::pack_planes(&[values], bits, len * self.batch)
    }

    /// The cycle model's prediction of the chain, per layer and whole, with
    /// each layer's useful work (`LayerCycles::ideal`) counted from the
    /// model's synapses and input widths: a merged layer's zero weights and a
    /// concatenation's shortcut taps and zero planes keep PEs busy but are not
    /// work the network's synapses ask for.
    /// A batch's figures are a sample's share of the run's, rounded to the
    /// nearest (the share of sample `n / 2`, `LayerCycles::share`).
    pub fn predict(&self, cycle_model: &CycleModel) -> (Vec<LayerCycles>, LayerCycles) {
        let (parts, total) = cycle_model.chain(&self.descriptors, u64::from(self.desc_offset));
        let (n, middle) = (self.batch, self.batch / 2);
        let mut total = total.share(n, middle);
        let parts: Vec<LayerCycles> = parts.iter().map(|p| p.share(n, middle)).collect();
        let mut layers = self.per_layer(&parts, LayerCycles::add);
        let (r, c) = (self.config.rows as u64, self.config.cols as u64);
        for (lc, (span, l)) in layers
            .iter_mut()
            .zip(self.spans.iter().zip(&self.model.layers))
        {
            let d = &self.descriptors[span.start];
            // The model's input width: a concatenation's zero planes (a
            // part narrower than its neighbour) are not work either.
            let slices = u64::from(d.input_steps()) * u64::from(l.input_bits.get());
            let useful = ideal_cycles(l.synapses.macs(), slices, r, c);
            total.ideal = total.ideal - lc.ideal + useful;
            lc.ideal = useful;
        }
        (layers, total)
    }

    /// The layers that read gather tables from the window, row by row (a
    /// batched convolution, a reader of a concatenation), where the other
    /// layers make their rows on chip or need none.
    pub fn tabled_layers(&self) -> Vec<&str> {
        self.spans
            .iter()
            .zip(&self.model.layers)
            .filter(|(span, _)| {
                self.descriptors[(*span).clone()]
                    .iter()
                    .any(|d| d.kind == LayerKind::Gather)
            })
            .map(|(_, l)| l.name.as_str())
            .collect()
    }

    /// The layer descriptor `index` runs (part of).
    pub fn layer_of(&self, index: usize) -> Option<&NeuronLayer> {
        let i = self.spans.iter().position(|s| s.contains(&index))?;
        self.model.layers.get(i)
    }

    /// Per-descriptor figures folded into per-layer ones over [`Program::spans`].
    pub fn per_layer<T: Clone>(&self, parts: &[T], add: impl Fn(&mut T, &T)) -> Vec<T> {
        self.spans
            .iter()
            .map(|span| {
                let mut sum = parts[span.start].clone();
                for x in &parts[span.start + 1..span.end] {
                    add(&mut sum, x);
                }
                sum
            })
            .collect()
    }

    /// The descriptor chain decoded and checked from the image, as the
    /// accelerator will read it: what a backend checks before it starts.
    pub fn chain(&self) -> anyhow::Result<Chain> {
        use anyhow::Context;
        Chain::decode(
            &self.image,
            self.desc_offset,
            self.descriptors.len() as u32,
            &self.config,
        )
        .context("the compiled program's descriptor chain is invalid")
    }

    /// The results of `inputs` (the samples of one run, at most
    /// [`Program::batch`]) out of the window the chain ran in: the inverse of
    /// the output layouts (spike planes per layer, the readout's membranes),
    /// each sample's values taken out of the batch's (`BatchLayout`).
    pub fn read_results(&self, window: &[u8], inputs: &[Vec<u8>]) -> Vec<SampleOutput> {
        let t = self.model.timesteps();
        let n = self.batch;
        let mut layers = vec![Vec::with_capacity(self.outputs.len()); inputs.len()];
        let mut readouts = vec![Vec::new(); inputs.len()];
        for (i, ((l, buf), span)) in self
            .model
            .layers
            .iter()
            .zip(&self.outputs)
            .zip(&self.spans)
            .enumerate()
        {
            let at = self.model.output_layout(i, n);
            let ds = &self.descriptors[span.clone()];
            let bytes = &window[buf.offset as usize..buf.offset as usize + buf.bytes];
            match l.neurons.output {
                LayerOutput::Spikes { bits } => {
                    // The planes where the write-back put them (one region, or
                    // one place per plane of a strided output, and of a split
                    // layer each plane in parts, one per descriptor).
                    let per_part: Vec<_> = ds.iter().map(LayerDescriptor::output_planes).collect();
                    let planes: Cow<[u8]> = match per_part.as_slice() {
                        [one] if one.len() == 1 => {
                            let (at, n) = one[0];
                            Cow::Borrowed(&window[at as usize..at as usize + n])
                        }
                        parts => Cow::Owned(
                            (0..parts[0].len())
                                .flat_map(|q| parts.iter().map(move |part| part[q]))
                                .flat_map(|(at, n)| &window[at as usize..at as usize + n])
                                .copied()
                                .collect(),
                        ),
                    };
                    let spikes = layout::unpack_planes(&planes, t, bits, n * l.neurons());
                    for (b, stats) in layers.iter_mut().enumerate() {
                        let own: Vec<Vec<u8>> = spikes.iter().map(|s| at.sample(s, b)).collect();
                        stats.push(SpikeStats::of(&own));
                    }
                }
                LayerOutput::Membrane => {
                    let membranes: Vec<i64> = bytes
                        .chunks_exact(8)
                        .map(|c| i64::from_le_bytes(c.try_into().expect("8 bytes")))
                        .collect();
                    for (b, (readout, stats)) in readouts.iter_mut().zip(&mut layers).enumerate() {
                        *readout = at.sample(&membranes, b);
                        stats.push(SpikeStats::default());
                    }
                }
            }
        }
        inputs
            .iter()
            .zip(readouts.into_iter().zip(layers))
            .map(|(input, (readout, layers))| SampleOutput {
                class: argmax(&readout),
                readout,
                input: SpikeStats::of(&vec![input.to_vec(); t]),
                layers,
            })
            .collect()
    }
}

struct Allocator {
    next: usize,
    plan: Vec<Planned>,
}

impl Allocator {
    fn take(&mut self, name: String, bytes: usize) -> u32 {
        let offset = self.next;
        self.next = (self.next + bytes).div_ceil(ALIGN) * ALIGN;
        self.plan.push(Planned {
            name,
            offset: offset as u32,
            bytes,
        });
        offset as u32
    }
}

/// The mapping choices the compiler may make (all on by default).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mapping {
    /// Merge the groups of grouped layers where the cycle model says it pays
    /// (docs/architecture.md, "Merged groups").
    pub merge_groups: bool,
    /// Give convolutions and poolings whose table the geometry fields can
    /// generate an im2col descriptor, and no table (docs/formats.md, "Im2col
    /// layers").
    pub im2col: bool,
    /// Samples one run of the chain computes: every layer over `batch` times
    /// its positions, its tiles' parameters and weights loaded once for them
    /// (docs/architecture.md, "Batches"). 1: one sample a run.
    pub batch: usize,
}

impl Default for Mapping {
    fn default() -> Self {
        Self {
            merge_groups: true,
            im2col: true,
            batch: 1,
        }
    }
}

/// The im2col form of layer `l` (shaped `d`), when it is a convolution or a
/// pooling whose gather table the geometry fields generate exactly, or a
/// batched dense layer over a flat input: a 1 x 1 convolution over the
/// batch's samples.
fn im2col_of(model: &Model, l: &NeuronLayer, d: &LayerDescriptor) -> Option<LayerDescriptor> {
    let table = l.synapses.gather.as_ref()?;
    let (kernel, stride, pad) = match model.spec_of(l)? {
        LayerSpec::Dense { .. } | LayerSpec::Readout { .. } => ([1, 1], [1, 1], [0, 0]),
        LayerSpec::Conv2d {
            kernel,
            stride,
            padding,
            ..
        } => (*kernel, *stride, *padding),
        LayerSpec::Pool { kernel, stride, .. } => ([*kernel; 2], [*stride; 2], [0, 0]),
        _ => return None,
    };
    let table: Vec<u32> = table.iter().map(|&i| stored_entry(i)).collect();
    im2col::from_table(d, &table, kernel, stride, pad)
}

/// A gather entry as the descriptor's table stores it: the golden model's
/// padding marker becomes [`GATHER_PAD`].
fn stored_entry(i: u32) -> u32 {
    if i == PAD {
        GATHER_PAD
    } else {
        i
    }
}

/// Compile `model` for `config`, with every mapping choice the compiler has.
pub fn compile(model: &Model, config: &AcceleratorConfig) -> Result<Program, CompileError> {
    compile_with(model, config, Mapping::default())
}

/// Compile `model` for `config` with the given mapping choices.
pub fn compile_with(
    sample_model: &Model,
    config: &AcceleratorConfig,
    mapping: Mapping,
) -> Result<Program, CompileError> {
    config.validate()?;
    let batched;
    let model = match mapping.batch {
        0 => return Err(CompileError::EmptyBatch),
        1 => sample_model,
        n => {
            batched = sample_model.batched(n).map_err(CompileError::Batch)?;
            &batched
        }
    };
    widths::check(model, config.widths())?;
    let t = model.timesteps();
    for l in &model.layers {
        check_fit(l, config)?;
    }
    // Residual graphs: which tensors share a concatenation, and each layer as
    // the array runs it (merged groups, then moved onto its concatenation).
    let placement = concat::place(model)?;
    // The layers that read the network's input read it as a static input:
    // one timestep's planes, the current computed once per tile
    // (docs/formats.md, "Memory layouts"). (A concatenation never holds
    // the network's input: `place` refuses it in a sum.)
    let static_inputs: Vec<bool> = (0..model.layers.len())
        .map(|i| placement.reads[i].is_none() && model.wiring[i].input == Source::Input)
        .collect();
    let mut lowered: Vec<(Cow<NeuronLayer>, usize)> = Vec::with_capacity(model.layers.len());
    for (i, &static_input) in static_inputs.iter().enumerate() {
        let (l, merged) = lower(model, i, &placement, config, t, static_input, mapping);
        let l = match concat::rewire(&l, i, model, &placement)? {
            Some(r) => {
                // The shortcut's term is in the taps now, so in the
                // accumulator. (Its widths pass `check_fit`: a concatenation
                // is as wide as its widest part, a checked layer's output.)
                widths::check_layer(&r, t, (0, 0), config.widths())?;
                Cow::Owned(r)
            }
            None => l,
        };
        lowered.push((l, merged));
    }
    // Each layer's descriptors: one, or one per part of its output channels
    // when its output does not fit the output buffer.
    let mut pieces: Vec<(usize, std::ops::Range<usize>, Cow<NeuronLayer>)> = Vec::new();
    let mut spans = Vec::with_capacity(lowered.len());
    for (i, (l, _)) in lowered.iter().enumerate() {
        let parts = split::channel_parts(l, t, static_inputs[i], config);
        let first = pieces.len();
        if parts.len() == 1 {
            pieces.push((i, parts[0].clone(), Cow::Borrowed(l.as_ref())));
        } else {
            for r in parts {
                let part = l
                    .channels(r.clone())
                    .expect("channel_parts gives whole groups or ranges inside one");
                pieces.push((i, r, Cow::Owned(part)));
            }
        }
        spans.push(first..pieces.len());
    }
    let piece_statics: Vec<bool> = pieces.iter().map(|(i, ..)| static_inputs[*i]).collect();
    let piece_layers: Vec<&NeuronLayer> = pieces.iter().map(|(.., l)| l.as_ref()).collect();
    check_buffers(&piece_layers, &piece_statics, config, t).map_err(|e| match e {
        CompileError::Layer { layer, message } if mapping.batch > 1 => {
            let most = largest_batch(&piece_layers, &piece_statics, config, t, mapping.batch);
            let hint = match most {
                Some(m) => format!(" (or run --batch {m} or less)"),
                None => String::new(),
            };
            CompileError::Layer {
                layer,
                message: format!("{message}{hint}"),
            }
        }
        e => e,
    })?;
    let mut alloc = Allocator {
        next: 0,
        plan: Vec::new(),
    };
    let desc_offset = alloc.take("descriptors".into(), pieces.len() * DESCRIPTOR_BYTES);

    // Each piece's descriptor fields but the window offsets: an im2col layer's
    // rows come from its geometry, any other gather layer's from its table.
    let shapes: Vec<LayerDescriptor> = pieces
        .iter()
        .map(|(i, _, l)| {
            let d = shape_of(l, t, static_inputs[*i]);
            mapping
                .im2col
                .then(|| im2col_of(model, l, &d))
                .flatten()
                .unwrap_or(d)
        })
        .collect();
    // Static regions: parameters, weights, gather tables (a split layer's
    // per part, named by its channels).
    let mut statics = Vec::new();
    for ((i, r, l), shape) in pieces.iter().zip(&shapes) {
        let name = if spans[*i].len() == 1 {
            l.name.clone()
        } else {
            format!("{}[{}..{}]", l.name, r.start, r.end)
        };
        let o = l.synapses.outputs;
        let params = alloc.take(format!("{name}.params"), o * PARAM_BYTES);
        let wbytes = layout::weight_bytes(o, l.synapses.fan_in, config.cols, l.weight_bits);
        let weights = alloc.take(format!("{name}.weights"), wbytes);
        let gather = l
            .synapses
            .gather
            .as_ref()
            .filter(|_| shape.kind == LayerKind::Gather)
            .map(|g| alloc.take(format!("{name}.gather"), g.len() * 4));
        statics.push((params, weights, gather));
    }
    // Activations: the input, the concatenations, then each other layer's
    // output, which the layers after it read.
    let in_bits = model.spec.input.bits.get();
    let input_bytes = layout::planes_bytes(1, in_bits, model.input_len());
    let input = Buffer {
        offset: alloc.take("input".into(), input_bytes),
        bytes: input_bytes,
    };
    let concats: Vec<u32> = placement
        .concats
        .iter()
        .enumerate()
        .map(|(c, cat)| {
            alloc.take(
                format!("concat{c}"),
                layout::planes_bytes(t, cat.bits, cat.len),
            )
        })
        .collect();
    // Each layer's output, and its descriptors' `(out_stride, out_step_planes)`:
    // a part of a concatenation writes its planes at the concatenation's, a
    // split layer's parts at its own region's.
    let mut outputs = Vec::new();
    let mut strides = Vec::new();
    for ((l, home), span) in model.layers.iter().zip(&placement.homes).zip(&spans) {
        let (buffer, stride) = match (l.neurons.output, home) {
            (LayerOutput::Spikes { bits }, Some((c, at))) => {
                let cat = &placement.concats[*c];
                let plane = layout::plane_bytes(cat.len);
                let last = (t - 1) * usize::from(cat.bits) + usize::from(bits) - 1;
                let buffer = Buffer {
                    offset: concats[*c] + (at / 8) as u32,
                    bytes: last * plane + layout::plane_bytes(l.neurons()),
                };
                (buffer, ((plane / 8) as u32, cat.bits))
            }
            (output, _) => {
                let split = span.len() > 1;
                let (bytes, stride) = match output {
                    // A split layer's parts write each plane strided, and
                    // every plane then starts on a DMA beat.
                    LayerOutput::Spikes { bits } if split => {
                        let plane = layout::plane_bytes(l.neurons());
                        let stride = plane.next_multiple_of(config.axi_data_bytes);
                        let planes = t * usize::from(bits);
                        let bytes = (planes - 1) * stride + plane;
                        (bytes, ((stride / 8) as u32, bits))
                    }
                    LayerOutput::Spikes { bits } => {
                        (layout::planes_bytes(t, bits, l.neurons()), (0, 0))
                    }
                    LayerOutput::Membrane => (l.neurons() * 8, (0, 0)),
                };
                let offset = alloc.take(format!("{}.output", l.name), bytes);
                (Buffer { offset, bytes }, stride)
            }
        };
        outputs.push(buffer);
        strides.push(stride);
    }
    if alloc.next > u32::MAX as usize {
        return Err(CompileError::TooLarge { bytes: alloc.next });
    }

    let mut image = vec![0u8; alloc.next];
    let mut descriptors = Vec::new();
    for (n, (((i, channels, l), &(params, weights, gather)), shape)) in
        pieces.iter().zip(&statics).zip(&shapes).enumerate()
    {
        let i = *i;
        // A layer reads the layer before it, or in a graph any earlier one,
        // or the concatenation holding what it reads.
        let layer_input = match (placement.reads[i], model.wiring[i].input) {
            (Some((c, _)), _) => concats[c],
            (None, Source::Input) => input.offset,
            (None, Source::Layer(j)) => outputs[j].offset,
        };
        let s = &l.synapses;
        let mut p = Vec::with_capacity(s.outputs * PARAM_BYTES);
        for o in 0..s.outputs {
            let th = l.neurons.threshold.get(o).copied().unwrap_or(0);
            for v in [l.neurons.bias[o], th, l.neurons.v_init[o]] {
                p.extend_from_slice(&v.to_le_bytes());
            }
        }
        put(&mut image, params, &p);
        put(
            &mut image,
            weights,
            &layout::pack_weights(&s.weights, s.outputs, s.fan_in, config.cols, l.weight_bits),
        );
        if let (Some(at), Some(g)) = (gather, &s.gather) {
            let bytes: Vec<u8> = g
                .iter()
                .flat_map(|&i| stored_entry(i).to_le_bytes())
                .collect();
            put(&mut image, at, &bytes);
        }
        // A part of a concatenation, or a split layer, writes strided; a
        // layer of its own region in one piece, packed. A part of a split
        // layer starts at its first channel's values.
        let (out_stride, out_step_planes) = strides[i];
        let positions = l.synapses.positions;
        let output = outputs[i].offset
            + match model.layers[i].neurons.output {
                LayerOutput::Spikes { .. } => (channels.start * positions / 8) as u32,
                LayerOutput::Membrane => (channels.start * positions * 8) as u32,
            };
        let d = LayerDescriptor {
            weights,
            params,
            gather: gather.unwrap_or(0),
            input: layer_input,
            output,
            out_stride,
            out_step_planes,
            ..*shape
        };
        put(
            &mut image,
            desc_offset + (n * DESCRIPTOR_BYTES) as u32,
            &d.encode(),
        );
        descriptors.push(d);
    }
    Ok(Program {
        model: sample_model.clone(),
        config: *config,
        image,
        desc_offset,
        descriptors,
        spans,
        input,
        outputs,
        plan: alloc.plan,
        merged_groups: lowered.iter().map(|&(_, m)| m).collect(),
        batch: mapping.batch,
    })
}

/// The layer as the array runs it, and how many groups it merges: of the
/// divisors `m` of a grouped layer's group count whose merged layer fits the
/// buffers and the weight width, the one the cycle model finds fastest (the
/// smallest among equals; [`merge_prices`]). A grouped layer on `C` columns with
/// fewer than `C` outputs per group leaves most columns idle on every run, one
/// run per group a tile meets; merging `m` groups costs `m` times the fan-in
/// per run, in zero weights, and saves runs (docs/architecture.md, "Merged
/// groups").
fn lower<'a>(
    model: &'a Model,
    i: usize,
    placement: &concat::Placement,
    config: &AcceleratorConfig,
    t: usize,
    static_input: bool,
    mapping: Mapping,
) -> (Cow<'a, NeuronLayer>, usize) {
    let l = &model.layers[i];
    let best = merge_prices(model, i, placement, config, t, static_input, mapping)
        .into_iter()
        .map(|(m, cycles)| (cycles, m))
        .min()
        .map_or(1, |(_, m)| m);
    match l.merge_groups(best) {
        Some(merged) if best > 1 => (Cow::Owned(merged), best),
        _ => (Cow::Borrowed(l), 1),
    }
}

/// Each way layer `i` may merge its groups, `(m, cycles)`: the divisors `m` of
/// its group count whose merged layer fits the buffers and the weight width,
/// each priced by the cycle model as it would run: rewired onto the
/// concatenation it reads (a table gather, whose rows every column tile reads
/// again), else an im2col layer where its table allows; a choice the rewiring
/// refuses is left out. Empty for a layer that does not merge (one group, no
/// gather table, or merging off).
fn merge_prices(
    model: &Model,
    i: usize,
    placement: &concat::Placement,
    config: &AcceleratorConfig,
    t: usize,
    static_input: bool,
    mapping: Mapping,
) -> Vec<(usize, u64)> {
    let l = &model.layers[i];
    let groups = l.synapses.groups;
    if !mapping.merge_groups || groups == 1 || l.synapses.gather.is_none() {
        return Vec::new();
    }
    let cycle_model = CycleModel::new(*config);
    let plan = BufferPlan::new(config);
    let cost = |m: usize| -> Option<u64> {
        let merged;
        let mut layer = l;
        if m > 1 {
            merged = l.merge_groups(m)?;
            layer = &merged;
        }
        let rewired = concat::rewire(layer, i, model, placement).ok()?;
        let mut d = shape_of(rewired.as_ref().unwrap_or(layer), t, static_input);
        if d.weight_bits > config.weight_bits_max {
            return None;
        }
        if mapping.im2col && rewired.is_none() {
            d = im2col_of(model, layer, &d).unwrap_or(d);
        }
        // A merged layer whose output does not fit is split like any other
        // (split.rs): only the other buffers rule a merge out.
        match plan.fit(&d) {
            Err(e) if e.buffer() != Some(split::OUTPUT_BUFFER) => return None,
            _ => {}
        }
        Some(cycle_model.layer(&d, 0).total)
    };
    (1..=groups)
        .filter(|m| groups.is_multiple_of(*m))
        .filter_map(|m| Some((m, cost(m)?)))
        .collect()
}

fn put(image: &mut [u8], offset: u32, bytes: &[u8]) {
    image[offset as usize..offset as usize + bytes.len()].copy_from_slice(bytes);
}
