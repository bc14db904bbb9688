//! Residual graphs on the accelerator (docs/architecture.md, "Residual
//! connections"). A descriptor reads one spike region, so a layer with a
//! shortcut (the Spiking ResNet form, and every add, which the model lowers to
//! a depthwise layer with a shortcut) reads a **concatenation**: one region
//! whose every plane holds its input tensor and its shortcut tensor side by
//! side. The layers producing those tensors write their planes into it with a
//! stride (descriptor `out_stride`, docs/formats.md, "Strided outputs"), and
//! the reader gets the shortcut's term from extra taps: for output `o` of a
//! group of `O/G` outputs, `O/G` taps at the shortcut's neurons of the same
//! position, of weight `w_s` for `o`'s own and 0 for the others. Its current
//! is then `W x + w_s s`, the golden model's (docs/semantics.md §2), from the
//! array's own shift-add over the concatenation's planes.
//!
//! A tensor lives in at most one concatenation; a layer that reads a tensor
//! living in one reads the concatenation, with its gather indices moved to the
//! tensor's part (a dense reader becomes a gather layer of one position).

use super::CompileError;
use spikeslice_core::golden::{LayerOutput, NeuronLayer, PAD};
use spikeslice_core::model::{Model, Source};
use spikeslice_core::numeric::SpikeBits;

/// Parts start at multiples of this many values (64 bytes of a plane), so
/// every part's planes start on a DMA beat, and a plane is a whole number of
/// them.
pub const PART_ALIGN: usize = 512;

/// One concatenation: the region a layer with a shortcut reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Concat {
    /// Values in one plane (a multiple of [`PART_ALIGN`]).
    pub len: usize,
    /// Planes per timestep: the widest part's spike bits.
    pub bits: u8,
}

/// Where each tensor lives and what each layer reads.
#[derive(Debug, Clone, Default)]
pub struct Placement {
    pub concats: Vec<Concat>,
    /// Per layer output: `(concatenation, first value)` when it is a part of
    /// one; `None` when it has its own packed region.
    pub homes: Vec<Option<(usize, usize)>>,
    /// Per layer: the concatenation it reads, if it reads one, and where its
    /// input starts in it.
    pub reads: Vec<Option<(usize, usize)>>,
}

fn refuse(model: &Model, i: usize, message: String) -> CompileError {
    CompileError::Layer {
        layer: model.layers[i].name.clone(),
        message,
    }
}

/// The spike bits of a tensor, or why it cannot be a part (the network input,
/// a readout's membranes).
fn part_bits(model: &Model, reader: usize, s: Source) -> Result<(usize, u8), CompileError> {
    match s {
        Source::Input => Err(refuse(
            model,
            reader,
            "it adds the network input to a layer's current, which the accelerator cannot do: \
             the input region is the driver's, written packed (put a layer between the input \
             and the sum)"
                .into(),
        )),
        Source::Layer(j) => match model.layers[j].neurons.output {
            LayerOutput::Spikes { bits } => Ok((j, bits)),
            LayerOutput::Membrane => Err(refuse(
                model,
                reader,
                format!("it reads the readout {}'s membranes", model.layers[j].name),
            )),
        },
    }
}

/// Place every layer's output: a part of the concatenation of the layer that
/// takes it as input or shortcut next to a shortcut, or a region of its own.
pub fn place(model: &Model) -> Result<Placement, CompileError> {
    let n = model.layers.len();
    let mut p = Placement {
        concats: Vec::new(),
        homes: vec![None; n],
        reads: vec![None; n],
    };
    for (i, w) in model.wiring.iter().enumerate() {
        let Some(s) = w.shortcut else { continue };
        let (x, x_bits) = part_bits(model, i, w.input)?;
        let (sc, s_bits) = part_bits(model, i, s.from)?;
        for j in [x, sc] {
            if p.homes[j].is_some() {
                return Err(refuse(
                    model,
                    i,
                    format!(
                        "layer {}'s spikes are already summed with another tensor by an earlier \
                         layer; the accelerator keeps a tensor in one concatenation (give each \
                         sum its own producer)",
                        model.layers[j].name
                    ),
                ));
            }
        }
        let c = p.concats.len();
        let x_len = model.layers[x].neurons();
        p.homes[x] = Some((c, 0));
        let mut end = x_len;
        if sc != x {
            let at = x_len.div_ceil(PART_ALIGN) * PART_ALIGN;
            p.homes[sc] = Some((c, at));
            end = at + model.layers[sc].neurons();
        }
        p.concats.push(Concat {
            len: end.div_ceil(PART_ALIGN) * PART_ALIGN,
            bits: x_bits.max(s_bits),
        });
    }
    for (i, w) in model.wiring.iter().enumerate() {
        if let Source::Layer(j) = w.input {
            p.reads[i] = p.homes[j];
        }
    }
    Ok(p)
}

/// Layer `i` as the array runs it on `placement` when it reads a
/// concatenation: its taps moved to its input's part and, with a shortcut,
/// `O/G` shortcut taps per group. `None` when it reads a region of its own.
pub fn rewire(
    l: &NeuronLayer,
    i: usize,
    model: &Model,
    placement: &Placement,
) -> Result<Option<NeuronLayer>, CompileError> {
    let Some((c, at)) = placement.reads[i] else {
        return Ok(None);
    };
    let concat = &placement.concats[c];
    let s = &l.synapses;
    let (o, k, g, pos) = (s.outputs, s.fan_in, s.groups, s.positions);
    let opg = o / g;
    // The shortcut's part and weight, when the layer has one.
    let shortcut = match model.wiring[i].shortcut {
        Some(sc) => {
            let Source::Layer(j) = sc.from else {
                unreachable!("placed: the input is never a shortcut")
            };
            let (_, s_at) = placement.homes[j].expect("placed with its reader");
            if opg > 1 && l.weight_bits.get() == 1 {
                return Err(refuse(
                    model,
                    i,
                    format!(
                        "its shortcut needs weights of 0 beside its {opg} outputs per group, which \
                         b_w = 1 cannot code: give the layer b_w >= 2 (an add, one output per \
                         group, runs at b_w = 1)"
                    ),
                ));
            }
            Some((s_at, sc.weight))
        }
        None => None,
    };
    let extra = if shortcut.is_some() { opg } else { 0 };
    let k2 = k + extra;
    let mut table = Vec::with_capacity(g * pos * k2);
    for grp in 0..g {
        for p in 0..pos {
            match &s.gather {
                Some(t) => {
                    let row = &t[(grp * pos + p) * k..(grp * pos + p + 1) * k];
                    table.extend(
                        row.iter()
                            .map(|&v| if v == PAD { PAD } else { v + at as u32 }),
                    );
                }
                None => table.extend((0..k).map(|v| (v + at) as u32)),
            }
            if let Some((s_at, _)) = shortcut {
                // The shortcut has the layer's output shape: neuron (o, p) is o P + p.
                table.extend((0..opg).map(|m| (s_at + (grp * opg + m) * pos + p) as u32));
            }
        }
    }
    let mut weights = Vec::with_capacity(o * k2);
    for out in 0..o {
        weights.extend_from_slice(&s.weights[out * k..(out + 1) * k]);
        if let Some((_, w_s)) = shortcut {
            let own = out % opg;
            weights.extend((0..opg).map(|m| if m == own { w_s as i8 } else { 0 }));
        }
    }
    let mut r = l.clone();
    r.synapses.fan_in = k2;
    r.synapses.input_len = concat.len;
    r.synapses.weights = weights;
    r.synapses.gather = Some(table);
    r.input_bits = SpikeBits::new(u32::from(concat.bits)).expect("a part's width");
    Ok(Some(r))
}
