//! The descriptor fetch: the 32-bit fields of the descriptor read (one per
//! `take`, from the read phase) are captured into one register per descriptor
//! field, and the header and field checks of the decode are made on them.
//!
//! Every field register is a [`DescriptorField`] built from core's descriptor
//! table (`spikeslice_core::accel::descriptor::field`): its word and bit range
//! are the table's, computed when the Verilog is generated, so the RTL cannot
//! disagree with core's encode/decode or docs/formats.md. The word counter
//! hands every field register the word being taken through one [`WordTap`]
//! bundle (`join`). The fields reach the controller's other blocks the same
//! way: one [`LayerFields`] bundle, `join`ed to each block's [`Layer`].

use crate::param::Param;
use rust_hdl::prelude::*;
use spikeslice_core::accel::descriptor::{
    field, Field, LayerKind, DESCRIPTOR_MAGIC, DESCRIPTOR_VERSION, DESCRIPTOR_WORDS, MAX_TIMESTEPS,
};
use spikeslice_core::neuron::MAX_LEAK_SHIFT;

/// The word being taken, as the field registers see it.
#[derive(LogicInterface, Default)]
#[join = "WordSource"]
pub struct WordTap {
    pub take: Signal<In, Bit>,
    /// Word index in the descriptor (0 = magic).
    pub index: Signal<In, Bits<5>>,
    pub word: Signal<In, Bits<32>>,
}

/// The word being taken, as the word counter offers it.
#[derive(LogicInterface, Default)]
#[join = "WordTap"]
pub struct WordSource {
    pub take: Signal<Out, Bit>,
    pub index: Signal<Out, Bits<5>>,
    pub word: Signal<Out, Bits<32>>,
}

/// The descriptor's fields as the descriptor offers them (a gather layer, of
/// which an im2col layer is one, the kind, readout, hard reset, static input, leak shift, the widths, T, K, O, P, G,
/// input_len, the regions' offsets in the window); held until the next
/// descriptor is read.
#[derive(LogicInterface, Default)]
#[join = "Layer"]
pub struct LayerFields {
    pub gather_layer: Signal<Out, Bit>,
    pub im2col_layer: Signal<Out, Bit>,
    pub kind: Signal<Out, Bits<8>>,
    pub readout: Signal<Out, Bit>,
    pub hard_reset: Signal<Out, Bit>,
    pub static_input: Signal<Out, Bit>,
    pub leak_shift: Signal<Out, Bits<8>>,
    pub weight_bits: Signal<Out, Bits<4>>,
    pub input_bits: Signal<Out, Bits<4>>,
    pub spike_bits: Signal<Out, Bits<4>>,
    pub timesteps: Signal<Out, Bits<8>>,
    pub fan_in: Signal<Out, Bits<32>>,
    pub outputs: Signal<Out, Bits<32>>,
    pub positions: Signal<Out, Bits<32>>,
    pub groups: Signal<Out, Bits<32>>,
    pub input_len: Signal<Out, Bits<32>>,
    pub weights_offset: Signal<Out, Bits<32>>,
    pub params_offset: Signal<Out, Bits<32>>,
    pub gather_offset: Signal<Out, Bits<32>>,
    pub input_offset: Signal<Out, Bits<32>>,
    pub output_offset: Signal<Out, Bits<32>>,
    pub out_stride: Signal<Out, Bits<24>>,
    pub out_step_planes: Signal<Out, Bits<4>>,
    pub in_h: Signal<Out, Bits<12>>,
    pub in_w: Signal<Out, Bits<12>>,
    pub kernel_h: Signal<Out, Bits<4>>,
    pub kernel_w: Signal<Out, Bits<4>>,
    pub stride_h: Signal<Out, Bits<4>>,
    pub stride_w: Signal<Out, Bits<4>>,
    pub pad_h: Signal<Out, Bits<4>>,
    pub pad_w: Signal<Out, Bits<4>>,
}

/// The descriptor's fields as a block that uses them sees them (`join`ed to
/// the descriptor's [`LayerFields`]).
#[derive(LogicInterface, Default)]
#[join = "LayerFields"]
pub struct Layer {
    pub gather_layer: Signal<In, Bit>,
    pub im2col_layer: Signal<In, Bit>,
    pub kind: Signal<In, Bits<8>>,
    pub readout: Signal<In, Bit>,
    pub hard_reset: Signal<In, Bit>,
    pub static_input: Signal<In, Bit>,
    pub leak_shift: Signal<In, Bits<8>>,
    pub weight_bits: Signal<In, Bits<4>>,
    pub input_bits: Signal<In, Bits<4>>,
    pub spike_bits: Signal<In, Bits<4>>,
    pub timesteps: Signal<In, Bits<8>>,
    pub fan_in: Signal<In, Bits<32>>,
    pub outputs: Signal<In, Bits<32>>,
    pub positions: Signal<In, Bits<32>>,
    pub groups: Signal<In, Bits<32>>,
    pub input_len: Signal<In, Bits<32>>,
    pub weights_offset: Signal<In, Bits<32>>,
    pub params_offset: Signal<In, Bits<32>>,
    pub gather_offset: Signal<In, Bits<32>>,
    pub input_offset: Signal<In, Bits<32>>,
    pub output_offset: Signal<In, Bits<32>>,
    pub out_stride: Signal<In, Bits<24>>,
    pub out_step_planes: Signal<In, Bits<4>>,
    pub in_h: Signal<In, Bits<12>>,
    pub in_w: Signal<In, Bits<12>>,
    pub kernel_h: Signal<In, Bits<4>>,
    pub kernel_w: Signal<In, Bits<4>>,
    pub stride_h: Signal<In, Bits<4>>,
    pub stride_w: Signal<In, Bits<4>>,
    pub pad_h: Signal<In, Bits<4>>,
    pub pad_w: Signal<In, Bits<4>>,
}

/// One descriptor field of `N` bits: bits `[lsb, lsb + N)` of word `word` of the
/// table's [`Field`], captured when that word is taken.
#[derive(LogicBlock, Default)]
pub struct DescriptorField<const N: usize> {
    pub clock: Signal<In, Clock>,
    pub tap: WordTap,
    pub value: Signal<Out, Bits<N>>,
    held: DFF<Bits<N>>,
    /// The word with the field at bit 0 (Verilog slices signals, not expressions).
    aligned: Signal<Local, Bits<32>>,
    word_index: Param<Bits<5>>,
    lsb: Param<Bits<5>>,
}

impl<const N: usize> DescriptorField<N> {
    pub fn new(f: &Field) -> Self {
        assert_eq!(f.bits as usize, N, "width of descriptor field {}", f.name);
        assert!(f.word < DESCRIPTOR_WORDS && f.lsb < 32, "{}", f.name);
        Self {
            word_index: Param::new((f.word as u64).into()),
            lsb: Param::new(u64::from(f.lsb).into()),
            ..Default::default()
        }
    }
}

impl<const N: usize> Logic for DescriptorField<N> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, held);
        self.value.next = self.held.q.val();
        self.aligned.next = self.tap.word.val() >> self.lsb.val();
        if self.tap.take.val() & (self.tap.index.val() == self.word_index.val()) {
            self.held.d.next = self.aligned.val().get_bits::<N>(0);
        }
    }
}

/// Counts the words of the descriptor read and offers each to the field registers.
#[derive(LogicBlock, Default)]
pub struct WordCounter {
    pub clock: Signal<In, Clock>,
    pub restart: Signal<In, Bit>,
    pub take: Signal<In, Bit>,
    pub word: Signal<In, Bits<32>>,
    pub last: Signal<Out, Bit>,
    pub tap: WordSource,
    index: DFF<Bits<5>>,
    last_index: Param<Bits<5>>,
}

impl WordCounter {
    fn new() -> Self {
        Self {
            last_index: Param::new((DESCRIPTOR_WORDS as u64 - 1).into()),
            ..Default::default()
        }
    }
}

impl Logic for WordCounter {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, index);
        self.tap.take.next = self.take.val();
        self.tap.index.next = self.index.q.val();
        self.tap.word.next = self.word.val();
        self.last.next = self.index.q.val() == self.last_index.val();
        if self.restart.val() {
            self.index.d.next = 0.into();
        }
        if self.take.val() {
            self.index.d.next = self.index.q.val() + 1;
        }
    }
}

/// The descriptor fetch and decode. `restart`: the read phase issues the
/// descriptor's command; `take`/`word`: a 32-bit field of the read; `last`:
/// the word taken now is the descriptor's last. The fields hold their values
/// until the next descriptor is read.
#[derive(LogicBlock, Default)]
pub struct Descriptor {
    pub clock: Signal<In, Clock>,
    pub restart: Signal<In, Bit>,
    pub take: Signal<In, Bit>,
    pub word: Signal<In, Bits<32>>,
    pub last: Signal<Out, Bit>,
    /// Magic or version wrong (code 1 at the descriptor).
    pub bad_header: Signal<Out, Bit>,
    /// A kind the controller does not know (code 2 at the kind's word).
    pub bad_kind: Signal<Out, Bit>,
    /// Any other field out of range (code 2 at the descriptor): widths outside
    /// 1..=max (`b_s` not checked for a readout), T outside 1..=64, leak shift
    /// above 16, a zero size, a dense layer with P != 1, G != 1 or K != input_len.
    pub bad_field: Signal<Out, Bit>,
    /// The fields, as the controller's blocks see them.
    pub fields: LayerFields,
    counter: WordCounter,
    magic_field: DescriptorField<32>,
    version_field: DescriptorField<32>,
    kind_field: DescriptorField<8>,
    readout_field: DescriptorField<1>,
    hard_reset_field: DescriptorField<1>,
    static_input_field: DescriptorField<1>,
    leak_shift_field: DescriptorField<8>,
    weight_bits_field: DescriptorField<4>,
    input_bits_field: DescriptorField<4>,
    spike_bits_field: DescriptorField<4>,
    timesteps_field: DescriptorField<8>,
    fan_in_field: DescriptorField<32>,
    outputs_field: DescriptorField<32>,
    positions_field: DescriptorField<32>,
    groups_field: DescriptorField<32>,
    input_len_field: DescriptorField<32>,
    weights_field: DescriptorField<32>,
    params_field: DescriptorField<32>,
    gather_field: DescriptorField<32>,
    input_field: DescriptorField<32>,
    output_field: DescriptorField<32>,
    out_stride_field: DescriptorField<24>,
    out_step_planes_field: DescriptorField<4>,
    in_h_field: DescriptorField<12>,
    in_w_field: DescriptorField<12>,
    kernel_h_field: DescriptorField<4>,
    kernel_w_field: DescriptorField<4>,
    stride_h_field: DescriptorField<4>,
    stride_w_field: DescriptorField<4>,
    pad_h_field: DescriptorField<4>,
    pad_w_field: DescriptorField<4>,
    magic: Param<Bits<32>>,
    version: Param<Bits<32>>,
    gather_kind: Param<Bits<8>>,
    im2col_kind: Param<Bits<8>>,
    weight_bits_max: Param<Bits<4>>,
    spike_bits_max: Param<Bits<4>>,
    timesteps_max: Param<Bits<8>>,
    leak_shift_max: Param<Bits<8>>,
}

impl Descriptor {
    pub fn new(cfg: &spikeslice_core::accel::AcceleratorConfig) -> Self {
        Self {
            counter: WordCounter::new(),
            magic_field: DescriptorField::new(&field::MAGIC),
            version_field: DescriptorField::new(&field::VERSION),
            kind_field: DescriptorField::new(&field::KIND),
            readout_field: DescriptorField::new(&field::READOUT),
            hard_reset_field: DescriptorField::new(&field::HARD_RESET),
            static_input_field: DescriptorField::new(&field::STATIC_INPUT),
            leak_shift_field: DescriptorField::new(&field::LEAK_SHIFT),
            weight_bits_field: DescriptorField::new(&field::WEIGHT_BITS),
            input_bits_field: DescriptorField::new(&field::INPUT_BITS),
            spike_bits_field: DescriptorField::new(&field::SPIKE_BITS),
            timesteps_field: DescriptorField::new(&field::TIMESTEPS),
            fan_in_field: DescriptorField::new(&field::FAN_IN),
            outputs_field: DescriptorField::new(&field::OUTPUTS),
            positions_field: DescriptorField::new(&field::POSITIONS),
            groups_field: DescriptorField::new(&field::GROUPS),
            input_len_field: DescriptorField::new(&field::INPUT_LEN),
            weights_field: DescriptorField::new(&field::WEIGHTS),
            params_field: DescriptorField::new(&field::PARAMS),
            gather_field: DescriptorField::new(&field::GATHER),
            input_field: DescriptorField::new(&field::INPUT),
            output_field: DescriptorField::new(&field::OUTPUT),
            out_stride_field: DescriptorField::new(&field::OUT_STRIDE),
            out_step_planes_field: DescriptorField::new(&field::OUT_STEP_PLANES),
            in_h_field: DescriptorField::new(&field::IN_H),
            in_w_field: DescriptorField::new(&field::IN_W),
            kernel_h_field: DescriptorField::new(&field::KERNEL_H),
            kernel_w_field: DescriptorField::new(&field::KERNEL_W),
            stride_h_field: DescriptorField::new(&field::STRIDE_H),
            stride_w_field: DescriptorField::new(&field::STRIDE_W),
            pad_h_field: DescriptorField::new(&field::PAD_H),
            pad_w_field: DescriptorField::new(&field::PAD_W),
            magic: Param::new(u64::from(DESCRIPTOR_MAGIC).into()),
            version: Param::new(u64::from(DESCRIPTOR_VERSION).into()),
            gather_kind: Param::new((LayerKind::Gather as u64).into()),
            im2col_kind: Param::new((LayerKind::Im2col as u64).into()),
            weight_bits_max: Param::new(u64::from(cfg.weight_bits_max).into()),
            spike_bits_max: Param::new(u64::from(cfg.spike_bits_max).into()),
            timesteps_max: Param::new(u64::from(MAX_TIMESTEPS).into()),
            leak_shift_max: Param::new(u64::from(MAX_LEAK_SHIFT).into()),
            ..Default::default()
        }
    }
}

impl Logic for Descriptor {
    #[hdl_gen]
    fn update(&mut self) {
        self.counter.clock.next = self.clock.val();
        self.counter.restart.next = self.restart.val();
        self.counter.take.next = self.take.val();
        self.counter.word.next = self.word.val();
        self.last.next = self.counter.last.val();
        self.magic_field.clock.next = self.clock.val();
        WordSource::join(&mut self.counter.tap, &mut self.magic_field.tap);
        self.version_field.clock.next = self.clock.val();
        WordSource::join(&mut self.counter.tap, &mut self.version_field.tap);
        self.kind_field.clock.next = self.clock.val();
        WordSource::join(&mut self.counter.tap, &mut self.kind_field.tap);
        self.fields.kind.next = self.kind_field.value.val();
        self.readout_field.clock.next = self.clock.val();
        WordSource::join(&mut self.counter.tap, &mut self.readout_field.tap);
        self.fields.readout.next = self.readout_field.value.val().any();
        self.hard_reset_field.clock.next = self.clock.val();
        WordSource::join(&mut self.counter.tap, &mut self.hard_reset_field.tap);
        self.fields.hard_reset.next = self.hard_reset_field.value.val().any();
        self.static_input_field.clock.next = self.clock.val();
        WordSource::join(&mut self.counter.tap, &mut self.static_input_field.tap);
        self.fields.static_input.next = self.static_input_field.value.val().any();
        self.leak_shift_field.clock.next = self.clock.val();
        WordSource::join(&mut self.counter.tap, &mut self.leak_shift_field.tap);
        self.fields.leak_shift.next = self.leak_shift_field.value.val();
        self.weight_bits_field.clock.next = self.clock.val();
        WordSource::join(&mut self.counter.tap, &mut self.weight_bits_field.tap);
        self.fields.weight_bits.next = self.weight_bits_field.value.val();
        self.input_bits_field.clock.next = self.clock.val();
        WordSource::join(&mut self.counter.tap, &mut self.input_bits_field.tap);
        self.fields.input_bits.next = self.input_bits_field.value.val();
        self.spike_bits_field.clock.next = self.clock.val();
        WordSource::join(&mut self.counter.tap, &mut self.spike_bits_field.tap);
        self.fields.spike_bits.next = self.spike_bits_field.value.val();
        self.timesteps_field.clock.next = self.clock.val();
        WordSource::join(&mut self.counter.tap, &mut self.timesteps_field.tap);
        self.fields.timesteps.next = self.timesteps_field.value.val();
        self.fan_in_field.clock.next = self.clock.val();
        WordSource::join(&mut self.counter.tap, &mut self.fan_in_field.tap);
        self.fields.fan_in.next = self.fan_in_field.value.val();
        self.outputs_field.clock.next = self.clock.val();
        WordSource::join(&mut self.counter.tap, &mut self.outputs_field.tap);
        self.fields.outputs.next = self.outputs_field.value.val();
        self.positions_field.clock.next = self.clock.val();
        WordSource::join(&mut self.counter.tap, &mut self.positions_field.tap);
        self.fields.positions.next = self.positions_field.value.val();
        self.groups_field.clock.next = self.clock.val();
        WordSource::join(&mut self.counter.tap, &mut self.groups_field.tap);
        self.fields.groups.next = self.groups_field.value.val();
        self.input_len_field.clock.next = self.clock.val();
        WordSource::join(&mut self.counter.tap, &mut self.input_len_field.tap);
        self.fields.input_len.next = self.input_len_field.value.val();
        self.weights_field.clock.next = self.clock.val();
        WordSource::join(&mut self.counter.tap, &mut self.weights_field.tap);
        self.fields.weights_offset.next = self.weights_field.value.val();
        self.params_field.clock.next = self.clock.val();
        WordSource::join(&mut self.counter.tap, &mut self.params_field.tap);
        self.fields.params_offset.next = self.params_field.value.val();
        self.gather_field.clock.next = self.clock.val();
        WordSource::join(&mut self.counter.tap, &mut self.gather_field.tap);
        self.fields.gather_offset.next = self.gather_field.value.val();
        self.input_field.clock.next = self.clock.val();
        WordSource::join(&mut self.counter.tap, &mut self.input_field.tap);
        self.fields.input_offset.next = self.input_field.value.val();
        self.output_field.clock.next = self.clock.val();
        WordSource::join(&mut self.counter.tap, &mut self.output_field.tap);
        self.fields.output_offset.next = self.output_field.value.val();
        self.out_stride_field.clock.next = self.clock.val();
        WordSource::join(&mut self.counter.tap, &mut self.out_stride_field.tap);
        self.fields.out_stride.next = self.out_stride_field.value.val();
        self.out_step_planes_field.clock.next = self.clock.val();
        WordSource::join(&mut self.counter.tap, &mut self.out_step_planes_field.tap);
        self.fields.out_step_planes.next = self.out_step_planes_field.value.val();
        self.in_h_field.clock.next = self.clock.val();
        WordSource::join(&mut self.counter.tap, &mut self.in_h_field.tap);
        self.fields.in_h.next = self.in_h_field.value.val();
        self.in_w_field.clock.next = self.clock.val();
        WordSource::join(&mut self.counter.tap, &mut self.in_w_field.tap);
        self.fields.in_w.next = self.in_w_field.value.val();
        self.kernel_h_field.clock.next = self.clock.val();
        WordSource::join(&mut self.counter.tap, &mut self.kernel_h_field.tap);
        self.fields.kernel_h.next = self.kernel_h_field.value.val();
        self.kernel_w_field.clock.next = self.clock.val();
        WordSource::join(&mut self.counter.tap, &mut self.kernel_w_field.tap);
        self.fields.kernel_w.next = self.kernel_w_field.value.val();
        self.stride_h_field.clock.next = self.clock.val();
        WordSource::join(&mut self.counter.tap, &mut self.stride_h_field.tap);
        self.fields.stride_h.next = self.stride_h_field.value.val();
        self.stride_w_field.clock.next = self.clock.val();
        WordSource::join(&mut self.counter.tap, &mut self.stride_w_field.tap);
        self.fields.stride_w.next = self.stride_w_field.value.val();
        self.pad_h_field.clock.next = self.clock.val();
        WordSource::join(&mut self.counter.tap, &mut self.pad_h_field.tap);
        self.fields.pad_h.next = self.pad_h_field.value.val();
        self.pad_w_field.clock.next = self.clock.val();
        WordSource::join(&mut self.counter.tap, &mut self.pad_w_field.tap);
        self.fields.pad_w.next = self.pad_w_field.value.val();

        self.fields.im2col_layer.next = self.kind_field.value.val() == self.im2col_kind.val();
        self.fields.gather_layer.next = (self.kind_field.value.val() == self.gather_kind.val())
            | (self.kind_field.value.val() == self.im2col_kind.val());
        self.bad_header.next = (self.magic_field.value.val() != self.magic.val())
            | (self.version_field.value.val() != self.version.val());
        self.bad_kind.next = self.kind_field.value.val() > self.im2col_kind.val();
        self.bad_field.next = (self.weight_bits_field.value.val() == 0)
            | (self.weight_bits_field.value.val() > self.weight_bits_max.val())
            | (self.input_bits_field.value.val() == 0)
            | (self.input_bits_field.value.val() > self.spike_bits_max.val())
            | (!self.readout_field.value.val().any()
                & ((self.spike_bits_field.value.val() == 0)
                    | (self.spike_bits_field.value.val() > self.spike_bits_max.val())))
            | (self.timesteps_field.value.val() == 0)
            | (self.timesteps_field.value.val() > self.timesteps_max.val())
            | (self.leak_shift_field.value.val() > self.leak_shift_max.val())
            | (self.fan_in_field.value.val() == 0)
            | (self.outputs_field.value.val() == 0)
            | (self.positions_field.value.val() == 0)
            | (self.groups_field.value.val() == 0)
            | (self.input_len_field.value.val() == 0)
            | ((self.kind_field.value.val() == 0)
                & ((self.positions_field.value.val() != 1)
                    | (self.groups_field.value.val() != 1)
                    | (self.fan_in_field.value.val() != self.input_len_field.value.val())));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use spikeslice_core::accel::descriptor::{LayerDescriptor, DESCRIPTOR_BYTES, FIELDS};
    use spikeslice_core::accel::AcceleratorConfig;
    use spikeslice_core::random::{chain::chain, rng};

    /// Every field of core's table has its register here, built from the table
    /// entry of the same name (the test bench below checks the values).
    #[test]
    fn every_table_field_has_a_register() {
        let names: Vec<&str> = FIELDS.iter().map(|f| f.name).collect();
        let d = Descriptor::new(&AcceleratorConfig::default());
        let held = [
            ("magic", d.magic_field.word_index.val().index()),
            ("version", d.version_field.word_index.val().index()),
            ("kind", d.kind_field.word_index.val().index()),
            ("readout", d.readout_field.word_index.val().index()),
            ("hard_reset", d.hard_reset_field.word_index.val().index()),
            (
                "static_input",
                d.static_input_field.word_index.val().index(),
            ),
            ("leak_shift", d.leak_shift_field.word_index.val().index()),
            ("weight_bits", d.weight_bits_field.word_index.val().index()),
            ("input_bits", d.input_bits_field.word_index.val().index()),
            ("spike_bits", d.spike_bits_field.word_index.val().index()),
            ("timesteps", d.timesteps_field.word_index.val().index()),
            ("fan_in", d.fan_in_field.word_index.val().index()),
            ("outputs", d.outputs_field.word_index.val().index()),
            ("positions", d.positions_field.word_index.val().index()),
            ("groups", d.groups_field.word_index.val().index()),
            ("input_len", d.input_len_field.word_index.val().index()),
            ("weights", d.weights_field.word_index.val().index()),
            ("params", d.params_field.word_index.val().index()),
            ("gather", d.gather_field.word_index.val().index()),
            ("input", d.input_field.word_index.val().index()),
            ("output", d.output_field.word_index.val().index()),
            ("out_stride", d.out_stride_field.word_index.val().index()),
            (
                "out_step_planes",
                d.out_step_planes_field.word_index.val().index(),
            ),
            ("in_h", d.in_h_field.word_index.val().index()),
            ("in_w", d.in_w_field.word_index.val().index()),
            ("kernel_h", d.kernel_h_field.word_index.val().index()),
            ("kernel_w", d.kernel_w_field.word_index.val().index()),
            ("stride_h", d.stride_h_field.word_index.val().index()),
            ("stride_w", d.stride_w_field.word_index.val().index()),
            ("pad_h", d.pad_h_field.word_index.val().index()),
            ("pad_w", d.pad_w_field.word_index.val().index()),
        ];
        assert_eq!(held.len(), FIELDS.len());
        for (name, word) in held {
            let f = FIELDS.iter().find(|f| f.name == name).expect(name);
            assert!(names.contains(&name));
            assert_eq!(word, f.word, "{name}");
        }
    }

    fn words(d: &LayerDescriptor) -> Vec<u32> {
        d.encode()
            .chunks(4)
            .map(|b| u32::from_le_bytes(b.try_into().unwrap()))
            .collect()
    }

    /// Descriptors fed word by word: every field equals core's decode of the
    /// same bytes, `last` is high with the last word, and the checks flag a
    /// bad magic, an unknown kind and out-of-range fields.
    #[test]
    fn descriptor_fields_and_checks_follow_core() {
        let cfg = AcceleratorConfig::default();
        let mut uut = Descriptor::new(&cfg);
        uut.connect_all();
        // Good descriptors: every layer of a few random chains (dense and
        // gather, the shapes the compiler emits); the bad ones vary the first.
        let mut rng = rng(0xDE5C);
        let goods: Vec<LayerDescriptor> = (0..4)
            .flat_map(|_| {
                let (window, at, count) = chain(&mut rng, &cfg, 1 << 14, 0.5, false);
                (0..count as usize)
                    .map(|i| {
                        let o = at as usize + i * DESCRIPTOR_BYTES;
                        LayerDescriptor::decode(&window[o..], i, o as u32, &cfg, window.len())
                            .unwrap()
                    })
                    .collect::<Vec<_>>()
            })
            .collect();
        let good = goods[0];
        let mut bad_magic = words(&good);
        bad_magic[0] ^= 1;
        let mut bad_kind = words(&good);
        bad_kind[field::KIND.word] |= 4;
        let wide = LayerDescriptor {
            weight_bits: cfg.weight_bits_max + 1,
            ..good
        };
        let long = LayerDescriptor {
            timesteps: MAX_TIMESTEPS + 1,
            ..good
        };
        let readout = LayerDescriptor {
            readout: true,
            spike_bits: 0,
            ..good
        };
        let dense_p = LayerDescriptor {
            kind: LayerKind::Dense,
            positions: 2,
            fan_in: good.input_len + 1,
            ..good
        };
        // (words, bad header, bad kind, bad field)
        let mut cases: Vec<_> = goods
            .iter()
            .map(|d| (words(d), false, false, false))
            .collect();
        cases.extend([
            (bad_magic, true, false, false),
            (bad_kind, false, true, false),
            (words(&wide), false, false, true),
            (words(&long), false, false, true),
            (words(&readout), false, false, false),
            (words(&dense_p), false, false, true),
        ]);
        let mut sim = Simulation::new();
        sim.add_clock(5, |x: &mut Box<Descriptor>| x.clock.next = !x.clock.val());
        sim.add_testbench(move |mut sim: Sim<Descriptor>| {
            let mut x = sim.init()?;
            for (w, header, kind, bad) in &cases {
                x.restart.next = true;
                wait_clock_cycle!(sim, clock, x);
                x.restart.next = false;
                for (i, &v) in w.iter().enumerate() {
                    // A gap between words, as the gearbox leaves when it waits for a beat.
                    wait_clock_cycle!(sim, clock, x);
                    x.take.next = true;
                    x.word.next = u64::from(v).into();
                    sim_assert_eq!(sim, x.last.val(), i == DESCRIPTOR_WORDS - 1, x);
                    wait_clock_cycle!(sim, clock, x);
                    x.take.next = false;
                }
                wait_clock_cycle!(sim, clock, x);
                sim_assert_eq!(sim, x.bad_header.val(), *header, x);
                sim_assert_eq!(sim, x.bad_kind.val(), *kind, x);
                if *header || *kind {
                    continue;
                }
                sim_assert_eq!(sim, x.bad_field.val(), *bad, x);
                let arr: [u32; DESCRIPTOR_WORDS] = w.clone().try_into().unwrap();
                let d = LayerDescriptor::from_words(&arr).unwrap();
                let got = [
                    x.fields.kind.val().to_u64(),
                    x.fields.readout.val() as u64,
                    x.fields.hard_reset.val() as u64,
                    x.fields.static_input.val() as u64,
                    x.fields.leak_shift.val().to_u64(),
                    x.fields.weight_bits.val().to_u64(),
                    x.fields.input_bits.val().to_u64(),
                    x.fields.spike_bits.val().to_u64(),
                    x.fields.timesteps.val().to_u64(),
                    x.fields.fan_in.val().to_u64(),
                    x.fields.outputs.val().to_u64(),
                    x.fields.positions.val().to_u64(),
                    x.fields.groups.val().to_u64(),
                    x.fields.input_len.val().to_u64(),
                    x.fields.weights_offset.val().to_u64(),
                    x.fields.params_offset.val().to_u64(),
                    x.fields.gather_offset.val().to_u64(),
                    x.fields.input_offset.val().to_u64(),
                    x.fields.output_offset.val().to_u64(),
                    x.fields.out_stride.val().to_u64(),
                    x.fields.out_step_planes.val().to_u64(),
                    x.fields.in_h.val().to_u64(),
                    x.fields.in_w.val().to_u64(),
                    x.fields.kernel_h.val().to_u64(),
                    x.fields.kernel_w.val().to_u64(),
                    x.fields.stride_h.val().to_u64(),
                    x.fields.stride_w.val().to_u64(),
                    x.fields.pad_h.val().to_u64(),
                    x.fields.pad_w.val().to_u64(),
                    x.fields.gather_layer.val() as u64,
                    x.fields.im2col_layer.val() as u64,
                ];
                let want = [
                    d.kind as u64,
                    d.readout as u64,
                    d.hard_reset as u64,
                    d.static_input as u64,
                    u64::from(d.leak_shift),
                    u64::from(d.weight_bits),
                    u64::from(d.input_bits),
                    u64::from(d.spike_bits),
                    u64::from(d.timesteps),
                    u64::from(d.fan_in),
                    u64::from(d.outputs),
                    u64::from(d.positions),
                    u64::from(d.groups),
                    u64::from(d.input_len),
                    u64::from(d.weights),
                    u64::from(d.params),
                    u64::from(d.gather),
                    u64::from(d.input),
                    u64::from(d.output),
                    u64::from(d.out_stride),
                    u64::from(d.out_step_planes),
                    u64::from(d.in_h),
                    u64::from(d.in_w),
                    u64::from(d.kernel_h),
                    u64::from(d.kernel_w),
                    u64::from(d.stride_h),
                    u64::from(d.stride_w),
                    u64::from(d.pad_h),
                    u64::from(d.pad_w),
                    (d.kind != LayerKind::Dense) as u64,
                    (d.kind == LayerKind::Im2col) as u64,
                ];
                sim_assert_eq!(sim, got, want, x);
            }
            sim.done(x)
        });
        sim.run(Box::new(uut), 1_000_000).unwrap();
    }
}
