//! The math phase: the layer's sizes, from the descriptor's fields, as the
//! sequence of products and quotients of core's
//! [`SEQUENCE`](spikeslice_core::accel::math::SEQUENCE) through one
//! [`MulDiv`], each taking the steps its operands need
//! (`spikeslice_core::accel::math`, which the cycle model evaluates too).
//!
//! Operation i computes size i from two operands (fields, core constants or
//! earlier sizes). Multiply operands are saturated to 32 bits (a saturated
//! size is outside every window, and the region checks refuse it). The table
//! is turned into per-operation operand codes when the Verilog is generated.
//!
//! The FSM steps the block: `restart` (Decode) goes back to operation 0;
//! `load` (MathSet) hands the operation's operands to the `MulDiv`; `step`
//! (MathRun) runs it, `step_last` marks its last cycle; `store` (MathStore)
//! keeps the result and moves on, `last_op` marks the last operation.

use super::descriptor::Layer;
use super::muldiv::MulDiv;
use super::n;
use crate::param::Param;
use rust_hdl::prelude::*;
pub use spikeslice_core::accel::math::{Op, Operand, Size, MATH_OPS, SEQUENCE};

use Operand::*;

/// Operations in the sequence.
const OPS: usize = MATH_OPS;

/// The operand codes: the 22 plain operands, then the sizes (the order of
/// `sources` in the block's `update`).
const PLAIN: usize = 22;
const SOURCES: usize = PLAIN + OPS;
// `update` writes the sizes' sources from index 22 (a literal: rust-hdl's
// generator evaluates indices with loop variables only).
const _: () = assert!(PLAIN == 22);
const _: () = assert!(SOURCES <= 64, "operand codes are 6 bits");
// `update` reads the im2col sizes at these indices (literals, as above).
const _: () = assert!(Size::MapPlane as usize == 19 && Size::PadRows as usize == 26);

fn code(o: Operand) -> u64 {
    match o {
        Timesteps => 0,
        InputBits => 1,
        WeightBits => 2,
        SpikeBits => 3,
        FanIn => 4,
        Outputs => 5,
        Positions => 6,
        Groups => 7,
        Columns => 8,
        Rows => 9,
        ParamBytes => 10,
        PlaneWords => 11,
        OutPlaneWords => 12,
        OutputsUp => 13,
        SlicesUp => 14,
        InputSteps => 15,
        InH => 16,
        InW => 17,
        KernelH => 18,
        KernelW => 19,
        StrideH => 20,
        PadH => 21,
        Earlier(s) => PLAIN as u64 + s as u64,
    }
}

/// Per operation of the sequence, the code of an operand.
fn codes(operand: impl Fn(&(Size, Operand, Op, Operand)) -> Operand) -> Vec<Param<Bits<6>>> {
    SEQUENCE
        .iter()
        .map(|s| Param::new(code(operand(s)).into()))
        .collect()
}

/// Per operation of the sequence, whether it is of kind `op`.
fn kinds(op: Op) -> Vec<Param<Bit>> {
    SEQUENCE.iter().map(|s| Param::new(s.2 == op)).collect()
}

/// The layer's sizes as the math phase offers them (see [`Size`]; the output
/// region of a readout layer is its membranes, one word per neuron).
#[derive(LogicInterface, Default)]
#[join = "SizesIn"]
pub struct Sizes {
    pub slices: Signal<Out, Bits<64>>,
    pub input_words: Signal<Out, Bits<64>>,
    pub tile_words: Signal<Out, Bits<64>>,
    pub weight_words: Signal<Out, Bits<64>>,
    pub param_bytes: Signal<Out, Bits<64>>,
    pub output_words: Signal<Out, Bits<64>>,
    pub act_words: Signal<Out, Bits<64>>,
    pub timestep_words: Signal<Out, Bits<64>>,
    pub group_outputs: Signal<Out, Bits<64>>,
    pub group_remainder: Signal<Out, Bits<64>>,
    pub gather_entries: Signal<Out, Bits<64>>,
    pub group_entries: Signal<Out, Bits<64>>,
    pub layer_slices: Signal<Out, Bits<64>>,
    pub tile_neurons: Signal<Out, Bits<64>>,
    pub map_plane: Signal<Out, Bits<64>>,
    pub kernel_fan_in: Signal<Out, Bits<64>>,
    pub group_stride: Signal<Out, Bits<64>>,
    pub map_values: Signal<Out, Bits<64>>,
    pub row_step: Signal<Out, Bits<64>>,
    pub pad_rows: Signal<Out, Bits<64>>,
    pub plane_words: Signal<Out, Bits<32>>,
    pub out_plane_words: Signal<Out, Bits<32>>,
}

/// The layer's sizes as a block that uses them sees them (`join`ed to
/// [`Sizes`]).
#[derive(LogicInterface, Default)]
#[join = "Sizes"]
pub struct SizesIn {
    pub slices: Signal<In, Bits<64>>,
    pub input_words: Signal<In, Bits<64>>,
    pub tile_words: Signal<In, Bits<64>>,
    pub weight_words: Signal<In, Bits<64>>,
    pub param_bytes: Signal<In, Bits<64>>,
    pub output_words: Signal<In, Bits<64>>,
    pub act_words: Signal<In, Bits<64>>,
    pub timestep_words: Signal<In, Bits<64>>,
    pub group_outputs: Signal<In, Bits<64>>,
    pub group_remainder: Signal<In, Bits<64>>,
    pub gather_entries: Signal<In, Bits<64>>,
    pub group_entries: Signal<In, Bits<64>>,
    pub layer_slices: Signal<In, Bits<64>>,
    pub tile_neurons: Signal<In, Bits<64>>,
    pub map_plane: Signal<In, Bits<64>>,
    pub kernel_fan_in: Signal<In, Bits<64>>,
    pub group_stride: Signal<In, Bits<64>>,
    pub map_values: Signal<In, Bits<64>>,
    pub row_step: Signal<In, Bits<64>>,
    pub pad_rows: Signal<In, Bits<64>>,
    pub plane_words: Signal<In, Bits<32>>,
    pub out_plane_words: Signal<In, Bits<32>>,
}

#[derive(LogicBlock, Default)]
pub struct LayerSizes {
    pub clock: Signal<In, Clock>,
    pub restart: Signal<In, Bit>,
    pub load: Signal<In, Bit>,
    pub step: Signal<In, Bit>,
    pub store: Signal<In, Bit>,
    pub step_last: Signal<Out, Bit>,
    pub last_op: Signal<Out, Bit>,
    /// The descriptor's fields.
    pub layer: Layer,
    /// The sizes the controller's blocks use.
    pub out: Sizes,
    muldiv: MulDiv,
    op: DFF<Bits<5>>,
    sizes: Vec<DFF<Bits<64>>>,
    remainder: DFF<Bits<64>>,
    sources: Vec<Signal<Local, Bits<64>>>,
    a_code: Signal<Local, Bits<6>>,
    b_code: Signal<Local, Bits<6>>,
    divide: Signal<Local, Bit>,
    in_words: Signal<Local, Bit>,
    a: Signal<Local, Bits<64>>,
    b: Signal<Local, Bits<64>>,
    // The table, per operation.
    a_codes: Vec<Param<Bits<6>>>,
    b_codes: Vec<Param<Bits<6>>>,
    divides: Vec<Param<Bit>>,
    words: Vec<Param<Bit>>,
    k_columns: Param<Bits<64>>,
    k_rows: Param<Bits<64>>,
    k_param_bytes: Param<Bits<64>>,
    k_ones32: Param<Bits<64>>,
    k_last_op: Param<Bits<5>>,
    k_remainder_op: Param<Bits<5>>,
    _ops: usize,
    _sources: usize,
}

impl LayerSizes {
    pub fn new(rows: usize, cols: usize) -> Self {
        for (i, s) in SEQUENCE.iter().enumerate() {
            assert_eq!(s.0 as usize, i, "SEQUENCE computes the sizes in order");
        }
        Self {
            sizes: n(OPS),
            sources: n(SOURCES),
            a_codes: codes(|s| s.1),
            b_codes: codes(|s| s.3),
            divides: kinds(Op::Div),
            words: kinds(Op::MulWords),
            k_columns: Param::new((cols as u64).into()),
            k_rows: Param::new((rows as u64).into()),
            k_param_bytes: Param::new(12.into()),
            k_ones32: Param::new(0xFFFF_FFFFu64.into()),
            k_last_op: Param::new(((MATH_OPS - 1) as u64).into()),
            k_remainder_op: Param::new((Size::GroupOutputs as u64).into()),
            _ops: OPS,
            _sources: SOURCES,
            ..Default::default()
        }
    }
}

impl Logic for LayerSizes {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, op, remainder);
        for i in 0..self._ops {
            self.sizes[i].clock.next = self.clock.val();
            self.sizes[i].d.next = self.sizes[i].q.val();
        }
        self.out.plane_words.next = (self.layer.input_len.val() + 63) >> 6;
        self.out.out_plane_words.next = bit_cast::<32, 64>((self.sizes[7].q.val() + 63) >> 6);
        // The operands, in the order of `Operand`.
        self.sources[0].next = bit_cast::<64, 8>(self.layer.timesteps.val());
        self.sources[1].next = bit_cast::<64, 4>(self.layer.input_bits.val());
        self.sources[2].next = bit_cast::<64, 4>(self.layer.weight_bits.val());
        self.sources[3].next = bit_cast::<64, 4>(self.layer.spike_bits.val());
        self.sources[4].next = bit_cast::<64, 32>(self.layer.fan_in.val());
        self.sources[5].next = bit_cast::<64, 32>(self.layer.outputs.val());
        self.sources[6].next = bit_cast::<64, 32>(self.layer.positions.val());
        self.sources[7].next = bit_cast::<64, 32>(self.layer.groups.val());
        self.sources[8].next = self.k_columns.val();
        self.sources[9].next = self.k_rows.val();
        self.sources[10].next = self.k_param_bytes.val();
        self.sources[11].next = bit_cast::<64, 32>(self.out.plane_words.val());
        self.sources[12].next = bit_cast::<64, 32>(self.out.out_plane_words.val());
        self.sources[13].next =
            bit_cast::<64, 32>(self.layer.outputs.val()) + self.k_columns.val() - 1;
        self.sources[14].next = self.sizes[0].q.val() + self.k_rows.val() - 1;
        self.sources[15].next = bit_cast::<64, 8>(self.layer.timesteps.val());
        if self.layer.static_input.val() {
            self.sources[15].next = 1.into();
        }
        self.sources[16].next = bit_cast::<64, 12>(self.layer.in_h.val());
        self.sources[17].next = bit_cast::<64, 12>(self.layer.in_w.val());
        self.sources[18].next = bit_cast::<64, 4>(self.layer.kernel_h.val());
        self.sources[19].next = bit_cast::<64, 4>(self.layer.kernel_w.val());
        self.sources[20].next = bit_cast::<64, 4>(self.layer.stride_h.val());
        self.sources[21].next = bit_cast::<64, 4>(self.layer.pad_h.val());
        // 22 is PLAIN (see its assertion).
        for i in 0..self._ops {
            self.sources[22 + i].next = self.sizes[i].q.val();
        }
        // Operation `op`: its operand codes and kind, from the table.
        self.a_code.next = 0.into();
        self.b_code.next = 0.into();
        self.divide.next = false;
        self.in_words.next = false;
        for i in 0..self._ops {
            if self.op.q.val().index() == i {
                self.a_code.next = self.a_codes[i].val();
                self.b_code.next = self.b_codes[i].val();
                self.divide.next = self.divides[i].val();
                self.in_words.next = self.words[i].val();
            }
        }
        self.a.next = 0.into();
        self.b.next = 0.into();
        for s in 0..self._sources {
            if self.a_code.val().index() == s {
                self.a.next = self.sources[s].val();
            }
            if self.b_code.val().index() == s {
                self.b.next = self.sources[s].val();
            }
        }
        // Multiply operands saturate to 32 bits (products then fit 64 bits).
        if !self.divide.val() {
            if self.a.val().get_bits::<32>(32).any() {
                self.a.next = self.k_ones32.val();
            }
            if self.b.val().get_bits::<32>(32).any() {
                self.b.next = self.k_ones32.val();
            }
        }
        self.muldiv.clock.next = self.clock.val();
        self.muldiv.load.next = self.load.val();
        self.muldiv.step.next = self.step.val();
        self.muldiv.a.next = self.a.val();
        self.muldiv.b.next = self.b.val();
        self.muldiv.div.next = self.divide.val();
        self.step_last.next = self.muldiv.last.val();
        self.last_op.next = self.op.q.val() == self.k_last_op.val();
        if self.restart.val() {
            self.op.d.next = 0.into();
        }
        if self.store.val() {
            self.op.d.next = self.op.q.val() + 1;
            // O mod G, which the checks need, of the one division it belongs to.
            if self.op.q.val() == self.k_remainder_op.val() {
                self.remainder.d.next = self.muldiv.product.val();
            }
            for i in 0..self._ops {
                if self.op.q.val().index() == i {
                    self.sizes[i].d.next = self.muldiv.product.val();
                    if self.words[i].val() {
                        self.sizes[i].d.next = (self.muldiv.product.val() + 63) >> 6;
                    }
                    if self.divides[i].val() {
                        self.sizes[i].d.next = self.muldiv.quotient.val();
                    }
                }
            }
        }
        self.out.slices.next = self.sizes[0].q.val();
        self.out.input_words.next = self.sizes[1].q.val();
        self.out.tile_words.next = self.sizes[3].q.val();
        self.out.weight_words.next = self.sizes[5].q.val();
        self.out.param_bytes.next = self.sizes[6].q.val();
        self.out.output_words.next = self.sizes[9].q.val();
        if self.layer.readout.val() {
            self.out.output_words.next = self.sizes[7].q.val();
        }
        self.out.act_words.next = self.sizes[11].q.val();
        self.out.timestep_words.next = self.sizes[12].q.val();
        self.out.group_outputs.next = self.sizes[13].q.val();
        self.out.group_remainder.next = self.remainder.q.val();
        self.out.gather_entries.next = self.sizes[15].q.val();
        self.out.group_entries.next = self.sizes[16].q.val();
        self.out.layer_slices.next = self.sizes[17].q.val();
        self.out.tile_neurons.next = self.sizes[18].q.val();
        self.out.map_plane.next = self.sizes[19].q.val();
        self.out.kernel_fan_in.next = self.sizes[22].q.val();
        self.out.group_stride.next = self.sizes[23].q.val();
        self.out.map_values.next = self.sizes[24].q.val();
        self.out.row_step.next = self.sizes[25].q.val();
        self.out.pad_rows.next = self.sizes[26].q.val();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use spikeslice_core::accel::descriptor::LayerDescriptor;
    use spikeslice_core::accel::im2col::MapSizes;
    use spikeslice_core::accel::math;
    use spikeslice_core::random::{rng, Draw};

    const ROWS: u64 = 2;
    const COLS: u64 = 3;

    /// A descriptor's fields: T, b_in, b_w, b_s, K, O, P, G, input_len,
    /// readout, static input.
    type Fields = (u64, u64, u64, u64, u64, u64, u64, u64, u64, bool, bool);
    /// An im2col geometry: H, W, KH, KW, SH, PH.
    type Geometry = (u32, u32, u8, u8, u8, u8);

    /// The descriptor of the fields and the geometry.
    fn descriptor(f: Fields, m: Geometry) -> LayerDescriptor {
        let (t, b_in, b_w, b_s, k, o, p, g, input_len, readout, static_input) = f;
        LayerDescriptor {
            timesteps: t as u32,
            input_bits: b_in as u8,
            weight_bits: b_w as u8,
            spike_bits: b_s as u8,
            fan_in: k as u32,
            outputs: o as u32,
            positions: p as u32,
            groups: g as u32,
            input_len: input_len as u32,
            readout,
            static_input,
            in_h: m.0,
            in_w: m.1,
            kernel_h: m.2,
            kernel_w: m.3,
            stride_h: m.4,
            pad_h: m.5,
            ..LayerDescriptor::dense(1, 1)
        }
    }

    /// The sizes the block outputs, in its port order, computed in Rust.
    fn model(f: Fields, m: Geometry) -> Vec<u64> {
        let (t, b_in, b_w, b_s, k, o, p, g, input_len, readout, static_input) = f;
        let sat = |x: u64| if x >> 32 != 0 { 0xFFFF_FFFF } else { x };
        let mul = |a: u64, b: u64| sat(a).wrapping_mul(sat(b));
        let slices = mul(if static_input { 1 } else { t }, b_in);
        let pw = u64::from((input_len as u32).wrapping_add(63) >> 6);
        let tile_words = (mul(k, mul(COLS, b_w)) + 63) >> 6;
        let tiles = o.div_ceil(COLS);
        let neurons = mul(o, p);
        let opw = ((neurons + 63) >> 6) & 0xFFFF_FFFF;
        let output_words = if readout {
            neurons
        } else {
            mul(mul(t, b_s), opw)
        };
        let gp = mul(g, p);
        // The im2col sizes are core's (core/src/accel/im2col.rs).
        let map = MapSizes::of(&descriptor(f, m));
        vec![
            slices,
            mul(slices, pw),
            tile_words,
            mul(tiles, tile_words),
            mul(o, 12),
            output_words,
            mul(slices.div_ceil(ROWS), pw),
            mul(b_s, opw),
            o / g,
            o % g,
            mul(gp, k),
            mul(k, p),
            mul(slices, gp),
            mul(COLS, p),
            map.plane,
            map.fan_in,
            map.group_stride,
            map.map,
            map.row_step,
            map.pad_rows,
            pw,
            opw,
        ]
    }

    /// Random layers, and ones whose sizes saturate, through the whole
    /// sequence: `step_last` on the last step of every operation, `last_op`
    /// at the last, every size as the Rust model computes it.
    #[test]
    fn layer_sizes_follow_the_sequence() {
        let (mut sim, uut) = clocked_simulation!(LayerSizes::new(2, 3), LayerSizes);
        sim.add_testbench(move |mut sim: Sim<LayerSizes>| {
            let mut x = sim.init()?;
            let mut r = rng(0x512E);
            let mut layers: Vec<Fields> = vec![
                (
                    64,
                    8,
                    8,
                    8,
                    0xFFFF_FFF0,
                    0xFFFF_FFFF,
                    0xFFFF_FFFF,
                    7,
                    0xFFFF_FFF0,
                    false,
                    false,
                ),
                (1, 1, 1, 1, 1, 1, 1, 1, 1, true, false),
                (64, 8, 2, 2, 784, 64, 1, 1, 784, false, true),
            ];
            for _ in 0..6 {
                let g = 1 + r.below(4);
                layers.push((
                    1 + r.below(64),
                    1 + r.below(8),
                    1 + r.below(8),
                    1 + r.below(8),
                    1 + r.below(5000),
                    g * (1 + r.below(300)),
                    1 + r.below(700),
                    g,
                    1 + r.below(70_000),
                    r.chance(30),
                    r.chance(50),
                ));
            }
            for f in layers {
                // Non-empty kernels (an empty one is refused whatever the
                // group stride), up to the fields' widths.
                let m: Geometry = (
                    r.below(4096) as u32,
                    r.below(4096) as u32,
                    1 + r.below(15) as u8,
                    1 + r.below(15) as u8,
                    r.below(16) as u8,
                    r.below(16) as u8,
                );
                x.layer.in_h.next = u64::from(m.0).into();
                x.layer.in_w.next = u64::from(m.1).into();
                x.layer.kernel_h.next = u64::from(m.2).into();
                x.layer.kernel_w.next = u64::from(m.3).into();
                x.layer.stride_h.next = u64::from(m.4).into();
                x.layer.pad_h.next = u64::from(m.5).into();
                let (t, b_in, b_w, b_s, k, o, p, g, input_len, readout, static_input) = f;
                x.layer.timesteps.next = t.into();
                x.layer.input_bits.next = b_in.into();
                x.layer.weight_bits.next = b_w.into();
                x.layer.spike_bits.next = b_s.into();
                x.layer.fan_in.next = k.into();
                x.layer.outputs.next = o.into();
                x.layer.positions.next = p.into();
                x.layer.groups.next = g.into();
                x.layer.input_len.next = input_len.into();
                x.layer.readout.next = readout;
                x.layer.static_input.next = static_input;
                // Core's evaluation of the sequence: the steps the cycle model
                // counts, and the sizes (checked against this test's model below).
                let run = math::run(&descriptor(f, m), ROWS, COLS);
                x.restart.next = true;
                wait_clock_cycle!(sim, clock, x);
                x.restart.next = false;
                for op in 0..OPS {
                    x.load.next = true;
                    wait_clock_cycle!(sim, clock, x);
                    x.load.next = false;
                    x.step.next = true;
                    let iters = run.steps[op];
                    for i in 0..iters {
                        sim_assert_eq!(sim, x.step_last.val(), i + 1 == iters, x);
                        wait_clock_cycle!(sim, clock, x);
                    }
                    x.step.next = false;
                    sim_assert_eq!(sim, x.last_op.val(), op + 1 == OPS, x);
                    x.store.next = true;
                    wait_clock_cycle!(sim, clock, x);
                    x.store.next = false;
                }
                let got: Vec<u64> = [
                    &x.out.slices,
                    &x.out.input_words,
                    &x.out.tile_words,
                    &x.out.weight_words,
                    &x.out.param_bytes,
                    &x.out.output_words,
                    &x.out.act_words,
                    &x.out.timestep_words,
                    &x.out.group_outputs,
                    &x.out.group_remainder,
                    &x.out.gather_entries,
                    &x.out.group_entries,
                    &x.out.layer_slices,
                    &x.out.tile_neurons,
                    &x.out.map_plane,
                    &x.out.kernel_fan_in,
                    &x.out.group_stride,
                    &x.out.map_values,
                    &x.out.row_step,
                    &x.out.pad_rows,
                ]
                .iter()
                .map(|s| s.val().to_u64())
                .chain(
                    [&x.out.plane_words, &x.out.out_plane_words]
                        .iter()
                        .map(|s| s.val().to_u64()),
                )
                .collect();
                let want = model(f, m);
                sim_assert_eq!(sim, &got, &want, x);
                // Core's sizes, at the ports' indices (the output words of a
                // spiking layer; the remainder is not a size).
                let at = [
                    0, 1, 3, 5, 6, 9, 11, 12, 13, 15, 16, 17, 18, 19, 22, 23, 24, 25, 26,
                ];
                let ported: Vec<usize> = (0..20).filter(|&i| i != 9).collect();
                for (&size, &port) in at.iter().zip(&ported) {
                    if !(readout && size == 9) {
                        sim_assert_eq!(sim, run.sizes[size], want[port], x);
                    }
                }
            }
            sim.done(x)
        });
        sim.run(Box::new(uut), 10_000_000).unwrap();
    }
}
