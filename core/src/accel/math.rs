//! The controller's size arithmetic (its math phase, docs/controller.md): the
//! layer's sizes from the descriptor's fields, as a sequence of products and
//! quotients through one multiplier/divider, and how many cycles each takes.
//!
//! The sequence is the table [`SEQUENCE`]: operation i computes size i from two
//! operands (fields, core constants or earlier sizes). The RTL turns it into
//! per-operation operand codes (`hdl/src/controller/sizes.rs`); [`run`]
//! evaluates it in software as the RTL does, for the cycle model.
//!
//! An operation takes as many steps as its operands need, so that a layer's
//! small numbers do not pay for the widest ones:
//! - a product of operands below 2^32 (multiply operands are saturated to 32
//!   bits: a saturated size is outside every window, and the region checks
//!   refuse it) is one 16 x 16-bit partial product per pair of 16-bit halves
//!   that can be non-zero: 1 step when both operands are below 2^16, 2 when
//!   one is, 4 when neither is ([`mul_steps`]);
//! - a quotient is a step that finds the dividend's top bit, then a restoring
//!   division of one step per bit of the dividend (below 2^33: at most
//!   [`DIVIDEND_BITS_MAX`] bits; at least one; [`div_steps`]). By a divisor of
//!   zero the quotient is all ones in those bits; no check reads it (the
//!   decode refuses `G = 0`, and a kernel of area zero fails the im2col check
//!   whatever `K / 0` is).

use super::descriptor::LayerDescriptor;

/// Where an operand of the sequence comes from.
#[derive(Copy, Clone, Debug)]
pub enum Operand {
    /// The descriptor's fields: T, b_in, b_w, b_s, K, O, P, G.
    Timesteps,
    InputBits,
    WeightBits,
    SpikeBits,
    FanIn,
    Outputs,
    Positions,
    Groups,
    /// The core's columns C and rows R.
    Columns,
    Rows,
    /// Bytes of one output's parameters (bias, threshold, v_init).
    ParamBytes,
    /// Words of one input plane (`ceil(input_len / 64)`) and of one output
    /// plane (`ceil(O P / 64)`).
    PlaneWords,
    OutPlaneWords,
    /// O + C - 1 and S + R - 1: dividends of the rounded-up quotients.
    OutputsUp,
    SlicesUp,
    /// Timesteps of input read: 1 for a static input, else T.
    InputSteps,
    /// An im2col layer's geometry: map rows and columns, kernel rows and
    /// columns, window row stride, padding rows.
    InH,
    InW,
    KernelH,
    KernelW,
    StrideH,
    PadH,
    /// A size computed earlier in the sequence.
    Earlier(Size),
}

/// The sizes, in the order the sequence computes them.
#[derive(Copy, Clone, Debug, PartialEq)]
pub enum Size {
    /// S = b_in slices per input timestep read (T of them, or 1 for a
    /// static input).
    Slices,
    /// Input region: S planes.
    InputWords,
    /// Bits of a weight row (C codes).
    RowBits,
    /// Words of a packed weight tile (K rows).
    TileWords,
    /// Column tiles ceil(O / C).
    Tiles,
    WeightWords,
    ParamBytes,
    /// Output neurons O P.
    Neurons,
    /// Output planes T b_s.
    OutPlanes,
    /// Output region of a spiking layer (T b_s planes).
    SpikeWords,
    /// Slice groups ceil(S / R).
    SliceGroups,
    /// Words of each activation bank.
    ActWords,
    /// Output words per timestep (b_s planes).
    TimestepWords,
    /// Outputs per group O / G (its remainder O mod G is kept: the last
    /// division's).
    GroupOutputs,
    /// Gather-table rows G P, entries G P K, entries of one group K P.
    GroupPositions,
    GatherEntries,
    GroupEntries,
    /// Slices streamed by the layer, S G P (CNT_SLICES).
    LayerSlices,
    /// Output neurons of one column tile, C P.
    TileNeurons,
    /// Im2col (`super::im2col::MapSizes`): a channel's map H W, the kernel's
    /// KH KW, channels per group Cg = K / (KH KW), Cg KH KW (K in a layer that
    /// runs), a group's maps Cg H W, all groups' G Cg H W, a window row's step
    /// SH W, the padding rows' PH W.
    MapPlane,
    KernelArea,
    GroupChannels,
    KernelFanIn,
    GroupStride,
    MapValues,
    RowStep,
    PadRows,
}

/// How an operation combines its operands into its size.
#[derive(Copy, Clone, Debug, PartialEq)]
pub enum Op {
    Mul,
    /// The product in bits, as 64-bit words (rounded up).
    MulWords,
    Div,
}

use Operand::*;

/// Operations in the sequence.
pub const MATH_OPS: usize = 27;

/// The math phase's sequence: (size, a, how, b).
pub const SEQUENCE: [(Size, Operand, Op, Operand); MATH_OPS] = [
    (Size::Slices, InputSteps, Op::Mul, InputBits),
    (Size::InputWords, Earlier(Size::Slices), Op::Mul, PlaneWords),
    (Size::RowBits, Columns, Op::Mul, WeightBits),
    (Size::TileWords, FanIn, Op::MulWords, Earlier(Size::RowBits)),
    (Size::Tiles, OutputsUp, Op::Div, Columns),
    (
        Size::WeightWords,
        Earlier(Size::Tiles),
        Op::Mul,
        Earlier(Size::TileWords),
    ),
    (Size::ParamBytes, Outputs, Op::Mul, ParamBytes),
    (Size::Neurons, Outputs, Op::Mul, Positions),
    (Size::OutPlanes, Timesteps, Op::Mul, SpikeBits),
    (
        Size::SpikeWords,
        Earlier(Size::OutPlanes),
        Op::Mul,
        OutPlaneWords,
    ),
    (Size::SliceGroups, SlicesUp, Op::Div, Rows),
    (
        Size::ActWords,
        Earlier(Size::SliceGroups),
        Op::Mul,
        PlaneWords,
    ),
    (Size::TimestepWords, SpikeBits, Op::Mul, OutPlaneWords),
    (Size::GroupOutputs, Outputs, Op::Div, Groups),
    (Size::GroupPositions, Groups, Op::Mul, Positions),
    (
        Size::GatherEntries,
        Earlier(Size::GroupPositions),
        Op::Mul,
        FanIn,
    ),
    (Size::GroupEntries, FanIn, Op::Mul, Positions),
    (
        Size::LayerSlices,
        Earlier(Size::Slices),
        Op::Mul,
        Earlier(Size::GroupPositions),
    ),
    (Size::TileNeurons, Columns, Op::Mul, Positions),
    (Size::MapPlane, InH, Op::Mul, InW),
    (Size::KernelArea, KernelH, Op::Mul, KernelW),
    (
        Size::GroupChannels,
        FanIn,
        Op::Div,
        Earlier(Size::KernelArea),
    ),
    (
        Size::KernelFanIn,
        Earlier(Size::GroupChannels),
        Op::Mul,
        Earlier(Size::KernelArea),
    ),
    (
        Size::GroupStride,
        Earlier(Size::GroupChannels),
        Op::Mul,
        Earlier(Size::MapPlane),
    ),
    (Size::MapValues, Groups, Op::Mul, Earlier(Size::GroupStride)),
    (Size::RowStep, StrideH, Op::Mul, InW),
    (Size::PadRows, PadH, Op::Mul, InW),
];

/// Bits of a multiplier half: operands below 2^16 need one partial product.
pub const HALF_BITS: u32 = 16;
/// Steps of the widest product: four 16 x 16-bit partial products.
pub const MUL_STEPS_MAX: u64 = 4;
/// Bits of the widest dividend: the dividends are below 2^33 (`O + C - 1`,
/// `S + R - 1`, `O` and `K`, with the descriptor's `O` and `K` below 2^32).
pub const DIVIDEND_BITS_MAX: u64 = 33;
/// Cycles an operation takes besides its steps: MathSet, which hands the
/// operands to the multiplier/divider, and MathStore, which keeps the result.
pub const OP_OVERHEAD: u64 = 2;
/// Cycles of the math phase besides the operations: Decode, and the two
/// cycles that hand the sizes on (Regions, Fit).
pub const PHASE_OVERHEAD: u64 = 3;

/// Steps of the product of `a` and `b` (both below 2^32): one per pair of
/// halves that can be non-zero.
pub const fn mul_steps(a: u64, b: u64) -> u64 {
    halves(a) * halves(b)
}

/// 16-bit halves of an operand below 2^32 that can be non-zero.
const fn halves(x: u64) -> u64 {
    if x >> HALF_BITS != 0 {
        2
    } else {
        1
    }
}

/// Steps of a quotient of `a` (below 2^33): one to find `a`'s top bit, then
/// one per bit of `a` (at least one).
pub const fn div_steps(a: u64) -> u64 {
    let bits = (u64::BITS - a.leading_zeros()) as u64;
    if bits == 0 {
        2
    } else {
        1 + bits
    }
}

/// The sequence evaluated for one descriptor on an `rows` x `cols` core.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MathRun {
    /// Size i, as the RTL's register i holds it after the phase.
    pub sizes: [u64; MATH_OPS],
    /// Steps of each operation.
    pub steps: [u64; MATH_OPS],
}

impl MathRun {
    /// Cycles from Decode to the first cycle after Fit's check: the decode, each
    /// operation's set-up, steps and store, and the two cycles that hand the
    /// sizes on.
    pub fn cycles(&self) -> u64 {
        PHASE_OVERHEAD + self.steps.iter().map(|s| s + OP_OVERHEAD).sum::<u64>()
    }
}

/// Evaluate the sequence as the RTL does (`hdl/src/controller/sizes.rs`) for a
/// descriptor whose fields fit their encodings: multiply operands saturated
/// to 32 bits, 64-bit products, the quotients of a restoring division (all
/// ones, in the dividend's bits, for a divisor of zero).
pub fn run(d: &LayerDescriptor, rows: u64, cols: u64) -> MathRun {
    let mut sizes = [0u64; MATH_OPS];
    let mut steps = [0u64; MATH_OPS];
    // 32-bit sums, as the RTL's `plane_words` and `out_plane_words`.
    let plane_words = u64::from(d.input_len.wrapping_add(63) >> 6);
    for (i, &(_, a, how, b)) in SEQUENCE.iter().enumerate() {
        let value = |o: Operand| -> u64 {
            match o {
                Timesteps => u64::from(d.timesteps),
                InputBits => u64::from(d.input_bits),
                WeightBits => u64::from(d.weight_bits),
                SpikeBits => u64::from(d.spike_bits),
                FanIn => u64::from(d.fan_in),
                Outputs => u64::from(d.outputs),
                Positions => u64::from(d.positions),
                Groups => u64::from(d.groups),
                Columns => cols,
                Rows => rows,
                ParamBytes => 12,
                PlaneWords => plane_words,
                OutPlaneWords => {
                    (sizes[Size::Neurons as usize].wrapping_add(63) >> 6) & 0xFFFF_FFFF
                }
                OutputsUp => u64::from(d.outputs) + cols - 1,
                SlicesUp => sizes[Size::Slices as usize].wrapping_add(rows - 1),
                InputSteps => {
                    if d.static_input {
                        1
                    } else {
                        u64::from(d.timesteps)
                    }
                }
                InH => u64::from(d.in_h),
                InW => u64::from(d.in_w),
                KernelH => u64::from(d.kernel_h),
                KernelW => u64::from(d.kernel_w),
                StrideH => u64::from(d.stride_h),
                PadH => u64::from(d.pad_h),
                Earlier(s) => sizes[s as usize],
            }
        };
        let (a, b) = (value(a), value(b));
        let saturate = |x: u64| x.min(u64::from(u32::MAX));
        (sizes[i], steps[i]) = match how {
            Op::Div => {
                let steps = div_steps(a);
                (a.checked_div(b).unwrap_or((1 << (steps - 1)) - 1), steps)
            }
            Op::Mul | Op::MulWords => {
                let (a, b) = (saturate(a), saturate(b));
                let p = a * b;
                let p = if how == Op::MulWords {
                    p.div_ceil(64)
                } else {
                    p
                };
                (p, mul_steps(a, b))
            }
        };
    }
    MathRun { sizes, steps }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sequence_computes_the_sizes_in_order_from_earlier_ones() {
        for (i, (size, a, _, b)) in SEQUENCE.iter().enumerate() {
            assert_eq!(*size as usize, i);
            for o in [a, b] {
                if let Earlier(s) = o {
                    assert!((*s as usize) < i, "operation {i} reads a later size");
                }
            }
        }
    }

    #[test]
    fn steps_follow_the_operands_widths() {
        assert_eq!(mul_steps(0xFFFF, 0xFFFF), 1);
        assert_eq!(mul_steps(0x1_0000, 3), 2);
        assert_eq!(mul_steps(3, 0x1_0000), 2);
        assert_eq!(mul_steps(u32::MAX.into(), u32::MAX.into()), 4);
        assert_eq!(div_steps(0), 2);
        assert_eq!(div_steps(1), 2);
        assert_eq!(div_steps(25), 6);
        assert_eq!(div_steps((1 << 33) - 1), 1 + DIVIDEND_BITS_MAX);
    }

    /// A dense layer of small numbers on an 8x8 core: every product takes one
    /// step, and the quotients (O + C - 1) / C = 17 / 8, (S + R - 1) / R =
    /// 15 / 8, O / G = 10 / 1 and K / (KH KW) = 784 / 0 take 6, 5, 5 and 11
    /// (a step to find the dividend's top bit, one per bit).
    #[test]
    fn a_small_dense_layer_pays_a_step_a_product() {
        let d = LayerDescriptor {
            timesteps: 2,
            input_bits: 4,
            weight_bits: 4,
            spike_bits: 2,
            ..LayerDescriptor::dense(784, 10)
        };
        let m = run(&d, 8, 8);
        assert_eq!(m.sizes[Size::Slices as usize], 8);
        assert_eq!(m.sizes[Size::Tiles as usize], 2);
        assert_eq!(m.sizes[Size::GroupChannels as usize], (1 << 10) - 1);
        // 23 products of one step, quotients of 6 + 5 + 5 + 11 steps.
        assert_eq!(m.cycles(), 3 + 23 * 3 + (6 + 5 + 5 + 11) + 4 * 2);
    }
}
