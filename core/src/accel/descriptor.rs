//! Layer descriptors: what the controller reads to run one layer without the
//! host (docs/formats.md). A chain of them runs a whole network.
//!
//! A descriptor is 64 bytes: sixteen little-endian 32-bit words. Every address
//! in it is an offset into the DMA window (`BUF_BASE`, `BUF_SIZE`), so the
//! accelerator can check each region against the window before touching memory.

use super::layout;
use super::regmap::ErrorCode;
use super::AcceleratorConfig;
use crate::numeric::{SpikeBits, WeightBits};
use bitvec::prelude::*;
use thiserror::Error;

/// Size of one descriptor in bytes.
pub const DESCRIPTOR_BYTES: usize = 64;
/// First word of every descriptor: ASCII "SSLD".
pub const DESCRIPTOR_MAGIC: u32 = 0x444C_5353;
/// Descriptor format version.
pub const DESCRIPTOR_VERSION: u32 = 2;
/// A gather entry that reads zero (padding).
pub const GATHER_PAD: u32 = u32::MAX;

/// How a layer finds its inputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LayerKind {
    /// Every output reads the whole input vector (`K = input_len`, one position).
    Dense = 0,
    /// Outputs read inputs through a gather table of `G x P x K` indices
    /// (conv2d and pooling, lowered by the compiler to im2col addresses).
    Gather = 1,
    /// A gather layer whose rows the controller generates from the input
    /// map's geometry (`in_h`, `in_w`, kernel, stride, padding) instead of
    /// reading a table: a convolution or pooling over a `C x H x W` map
    /// ([`super::im2col`]).
    Im2col = 2,
}

/// One layer, as the accelerator sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LayerDescriptor {
    pub kind: LayerKind,
    /// The readout: integrate only; write final membranes, not spikes.
    pub readout: bool,
    pub hard_reset: bool,
    /// 0 for IF, else the LIF shift.
    pub leak_shift: u8,
    /// The input is the same at every timestep (direct encoding): one
    /// timestep's planes are read, and the current computed once is integrated
    /// `T` times (docs/formats.md, "Memory layouts").
    pub static_input: bool,
    pub weight_bits: u8,
    pub input_bits: u8,
    /// Output spike bits (ignored for a readout).
    pub spike_bits: u8,
    pub timesteps: u32,
    pub fan_in: u32,
    pub outputs: u32,
    pub positions: u32,
    pub groups: u32,
    /// Length of the input spike vector.
    pub input_len: u32,
    /// Window offsets.
    pub weights: u32,
    pub params: u32,
    pub gather: u32,
    pub input: u32,
    pub output: u32,
    /// 64-bit words from one output plane's start to the next's: 0 writes
    /// the planes one after another (packed); otherwise plane `(t, j)` goes to
    /// `output + 8 (t out_step_planes + j) out_stride`, so that two layers can
    /// write the parts of one plane-interleaved region (docs/formats.md,
    /// "Strided outputs"). Ignored by a readout.
    pub out_stride: u32,
    /// Destination planes per timestep of a strided output (`>= b_s`).
    pub out_step_planes: u8,
    /// An im2col layer's input map (`H x W` values a channel) and its
    /// window: kernel, stride and padding, rows then columns
    /// ([`super::im2col`]). Zero in other layers.
    pub in_h: u32,
    pub in_w: u32,
    pub kernel_h: u8,
    pub kernel_w: u8,
    pub stride_h: u8,
    pub stride_w: u8,
    pub pad_h: u8,
    pub pad_w: u8,
}

/// A descriptor the accelerator must refuse, with the status code it reports.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("descriptor {index}: {message}")]
pub struct DescriptorError {
    pub index: usize,
    pub code: ErrorCode,
    /// Window offset of the offending region or field, for `ERR_OFFSET`.
    pub offset: u32,
    pub message: String,
}

/// A region of the window a descriptor reads or writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Region {
    pub name: &'static str,
    pub offset: u32,
    pub bytes: usize,
    pub write: bool,
}

/// Bytes of per-output parameters: bias, threshold, v_init as i32 each.
pub const PARAM_BYTES: usize = 12;
/// Words in a descriptor.
pub const DESCRIPTOR_WORDS: usize = DESCRIPTOR_BYTES / 4;
/// Largest `T` a descriptor may ask for (the core's slice counter,
/// `b_in * T <= 8 * 64`).
pub const MAX_TIMESTEPS: u32 = 64;

/// One field of a descriptor: bits `[lsb, lsb + bits)` of word `word`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    /// The field's name in [`LayerDescriptor`] (or `magic` / `version`).
    pub name: &'static str,
    pub word: usize,
    pub lsb: u32,
    pub bits: u32,
    pub doc: &'static str,
}

impl Field {
    /// Byte offset of the field's word from the descriptor's start (what
    /// `ERR_OFFSET` names for a bad field).
    pub const fn byte_offset(&self) -> u32 {
        4 * self.word as u32
    }
    /// The field's value in `words` (bits packed by `bitvec`, least
    /// significant bit first, as the little-endian words are).
    pub fn get(&self, words: &[u32; DESCRIPTOR_WORDS]) -> u32 {
        words.view_bits::<Lsb0>()[self.range()].load_le()
    }
    /// Store `value`, which must fit the field.
    fn put(&self, words: &mut [u32; DESCRIPTOR_WORDS], value: u32) {
        debug_assert!(
            self.bits == 32 || value >> self.bits == 0,
            "{} = {value} does not fit {} bits",
            self.name,
            self.bits
        );
        let r = self.range();
        words.view_bits_mut::<Lsb0>()[r].store_le(value);
    }
    fn range(&self) -> std::ops::Range<usize> {
        let at = 32 * self.word + self.lsb as usize;
        at..at + self.bits as usize
    }
}

/// A descriptor field's value as a word's bits.
trait FieldValue: Sized {
    fn to_bits(self) -> u32;
    /// `None` for bits that name no value (an unknown layer kind).
    fn from_bits(bits: u32) -> Option<Self>;
}

impl FieldValue for u32 {
    fn to_bits(self) -> u32 {
        self
    }
    fn from_bits(bits: u32) -> Option<Self> {
        Some(bits)
    }
}

impl FieldValue for u8 {
    fn to_bits(self) -> u32 {
        u32::from(self)
    }
    fn from_bits(bits: u32) -> Option<Self> {
        u8::try_from(bits).ok()
    }
}

impl FieldValue for bool {
    fn to_bits(self) -> u32 {
        u32::from(self)
    }
    fn from_bits(bits: u32) -> Option<Self> {
        Some(bits != 0)
    }
}

impl FieldValue for LayerKind {
    fn to_bits(self) -> u32 {
        self as u32
    }
    fn from_bits(bits: u32) -> Option<Self> {
        match bits {
            0 => Some(LayerKind::Dense),
            1 => Some(LayerKind::Gather),
            2 => Some(LayerKind::Im2col),
            _ => None,
        }
    }
}

/// The descriptor format, defined once: every field's word, bits and meaning.
/// It generates [`field`] (one constant per field, which the controller's RTL
/// generator reads for its word capture and field slices), [`FIELDS`],
/// [`LayerDescriptor::encode`] / [`LayerDescriptor::decode`], and the table
/// of docs/formats.md ([`markdown`]; a test fails when that table is stale).
macro_rules! descriptor_fields {
    ($( $(#[doc = $doc:literal])+ $konst:ident: $field:ident: $ty:ty = word $word:literal [$lsb:literal; $bits:literal]; )+) => {
        /// One constant per descriptor field (see [`FIELDS`]).
        pub mod field {
            use super::Field;
            /// Word 0: [`super::DESCRIPTOR_MAGIC`].
            pub const MAGIC: Field = Field { name: "magic", word: 0, lsb: 0, bits: 32, doc: "magic `0x444C5353` (\"SSLD\")" };
            /// Word 1: [`super::DESCRIPTOR_VERSION`].
            pub const VERSION: Field = Field { name: "version", word: 1, lsb: 0, bits: 32, doc: "format version, 2" };
            $(
                $(#[doc = $doc])+
                pub const $konst: Field = Field {
                    name: stringify!($field),
                    word: $word,
                    lsb: $lsb,
                    bits: $bits,
                    doc: concat!($($doc),+),
                };
            )+
        }

        /// Every field, in word and bit order (the words not listed are
        /// reserved and zero).
        pub const FIELDS: &[Field] = &[field::MAGIC, field::VERSION, $( field::$konst, )+];

        impl LayerDescriptor {
            /// The descriptor's 16 words.
            pub fn to_words(&self) -> [u32; DESCRIPTOR_WORDS] {
                let mut w = [0u32; DESCRIPTOR_WORDS];
                field::MAGIC.put(&mut w, DESCRIPTOR_MAGIC);
                field::VERSION.put(&mut w, DESCRIPTOR_VERSION);
                $( field::$konst.put(&mut w, FieldValue::to_bits(self.$field)); )+
                w
            }

            /// The fields of 16 words, or the first field whose bits name no
            /// value. Magic and version are not checked here.
            pub fn from_words(w: &[u32; DESCRIPTOR_WORDS]) -> Result<Self, Field> {
                Ok(Self {
                    $( $field: <$ty as FieldValue>::from_bits(field::$konst.get(w)).ok_or(field::$konst)?, )+
                })
            }
        }
    };
}

descriptor_fields! {
    /// How the layer finds its inputs: 0 dense, 1 gather (a table), 2 im2col
    /// (rows generated from the map's geometry).
    KIND: kind: LayerKind = word 2 [0; 8];
    /// The readout: integrate only, write final membranes (i64) instead of spikes.
    READOUT: readout: bool = word 2 [8; 1];
    /// Hard reset (1) or reset by subtraction (0).
    HARD_RESET: hard_reset: bool = word 2 [9; 1];
    /// Static input (1): the input is the same at every timestep (the
    /// network's direct-encoded input); its region holds one timestep's `b_in`
    /// planes, and each tile's current is computed once and integrated `T` times.
    STATIC_INPUT: static_input: bool = word 2 [10; 1];
    /// LIF leak shift (0 = IF).
    LEAK_SHIFT: leak_shift: u8 = word 2 [16; 8];
    /// Im2col: zero rows above and below the map.
    PAD_H: pad_h: u8 = word 2 [24; 4];
    /// Im2col: zero columns left and right of the map.
    PAD_W: pad_w: u8 = word 2 [28; 4];
    /// `b_w`, weight bits.
    WEIGHT_BITS: weight_bits: u8 = word 3 [0; 4];
    /// `b_in`, input spike bits.
    INPUT_BITS: input_bits: u8 = word 3 [4; 4];
    /// `b_s`, output spike bits (ignored for a readout).
    SPIKE_BITS: spike_bits: u8 = word 3 [8; 4];
    /// Im2col: kernel rows.
    KERNEL_H: kernel_h: u8 = word 3 [12; 4];
    /// Im2col: kernel columns.
    KERNEL_W: kernel_w: u8 = word 3 [16; 4];
    /// Im2col: rows between vertically adjacent windows.
    STRIDE_H: stride_h: u8 = word 3 [20; 4];
    /// Im2col: columns between horizontally adjacent windows.
    STRIDE_W: stride_w: u8 = word 3 [24; 4];
    /// `T`, timesteps (1..=64).
    TIMESTEPS: timesteps: u32 = word 4 [0; 8];
    /// Im2col: rows `H` of the input map.
    IN_H: in_h: u32 = word 4 [8; 12];
    /// Im2col: columns `W` of the input map.
    IN_W: in_w: u32 = word 4 [20; 12];
    /// `K`, fan-in of one output.
    FAN_IN: fan_in: u32 = word 5 [0; 32];
    /// `O`, outputs (channels).
    OUTPUTS: outputs: u32 = word 6 [0; 32];
    /// `P`, positions per output channel (1 for dense).
    POSITIONS: positions: u32 = word 7 [0; 32];
    /// `G`, groups (1 for dense; `C` for pooling).
    GROUPS: groups: u32 = word 8 [0; 32];
    /// Length of the input spike vector.
    INPUT_LEN: input_len: u32 = word 9 [0; 32];
    /// Window offset of the packed weight tiles.
    WEIGHTS: weights: u32 = word 10 [0; 32];
    /// Window offset of the per-output parameters (bias, threshold, v_init).
    PARAMS: params: u32 = word 11 [0; 32];
    /// Window offset of the gather table (gather layers).
    GATHER: gather: u32 = word 12 [0; 32];
    /// Window offset of the input planes (the previous layer's output).
    INPUT: input: u32 = word 13 [0; 32];
    /// Window offset of the output planes (or the readout's membranes).
    OUTPUT: output: u32 = word 14 [0; 32];
    /// 64-bit words between the starts of consecutive output planes; 0 = packed.
    OUT_STRIDE: out_stride: u32 = word 15 [0; 24];
    /// Destination planes per timestep of a strided output.
    OUT_STEP_PLANES: out_step_planes: u8 = word 15 [24; 4];
}

/// The descriptor table of docs/formats.md, generated from [`FIELDS`].
pub fn markdown() -> String {
    let mut s = String::from("| word | bits | field | meaning |\n| --- | --- | --- | --- |\n");
    let mut word = 0;
    for f in FIELDS {
        while word < f.word {
            s.push_str(&format!("| {word} | 31:0 | | reserved, 0 |\n"));
            word += 1;
        }
        let bits = if f.bits == 1 {
            format!("{}", f.lsb)
        } else {
            format!("{}:{}", f.lsb + f.bits - 1, f.lsb)
        };
        s.push_str(&format!(
            "| {} | {bits} | `{}` | {} |\n",
            f.word,
            f.name,
            f.doc.trim()
        ));
        word = f.word + 1;
    }
    for w in word..DESCRIPTOR_WORDS {
        s.push_str(&format!("| {w} | 31:0 | | reserved, 0 |\n"));
    }
    s
}

impl LayerDescriptor {
    /// A dense IF layer of `fan_in` inputs and `outputs` outputs (`b_w` 2,
    /// `b_in` = `b_s` = 1, `T` = 1, soft reset, every offset 0): a starting
    /// point that tests adjust with struct update syntax.
    pub fn dense(fan_in: u32, outputs: u32) -> Self {
        Self {
            kind: LayerKind::Dense,
            readout: false,
            hard_reset: false,
            leak_shift: 0,
            static_input: false,
            weight_bits: 2,
            input_bits: 1,
            spike_bits: 1,
            timesteps: 1,
            fan_in,
            outputs,
            positions: 1,
            groups: 1,
            input_len: fan_in,
            weights: 0,
            params: 0,
            gather: 0,
            input: 0,
            output: 0,
            out_stride: 0,
            out_step_planes: 0,
            in_h: 0,
            in_w: 0,
            kernel_h: 0,
            kernel_w: 0,
            stride_h: 0,
            stride_w: 0,
            pad_h: 0,
            pad_w: 0,
        }
    }

    pub fn encode(&self) -> [u8; DESCRIPTOR_BYTES] {
        let mut out = [0u8; DESCRIPTOR_BYTES];
        for (chunk, w) in out.chunks_exact_mut(4).zip(self.to_words()) {
            chunk.copy_from_slice(&w.to_le_bytes());
        }
        out
    }

    /// Decode and check a descriptor against the configuration and a window of
    /// `window` bytes. `at` is the descriptor's own window offset.
    pub fn decode(
        bytes: &[u8],
        index: usize,
        at: u32,
        config: &AcceleratorConfig,
        window: usize,
    ) -> Result<Self, DescriptorError> {
        let fail = |code, offset, message: String| DescriptorError {
            index,
            code,
            offset,
            message,
        };
        if bytes.len() < DESCRIPTOR_BYTES {
            return Err(fail(
                ErrorCode::OutOfWindow,
                at,
                "the descriptor runs past the end of the window".into(),
            ));
        }
        let mut w = [0u32; DESCRIPTOR_WORDS];
        for (x, chunk) in w.iter_mut().zip(bytes.chunks_exact(4)) {
            *x = u32::from_le_bytes(chunk.try_into().expect("4 bytes"));
        }
        let (magic, version) = (field::MAGIC.get(&w), field::VERSION.get(&w));
        if magic != DESCRIPTOR_MAGIC || version != DESCRIPTOR_VERSION {
            return Err(fail(
                ErrorCode::BadDescriptor,
                at,
                format!(
                    "magic 0x{magic:08X} version {version}: expected 0x{DESCRIPTOR_MAGIC:08X} version {DESCRIPTOR_VERSION}"
                ),
            ));
        }
        let d = Self::from_words(&w).map_err(|f| {
            fail(
                ErrorCode::BadField,
                at + f.byte_offset(),
                format!("unknown {} {}", f.name.replace('_', " "), f.get(&w)),
            )
        })?;
        d.check(index, at, config, window)?;
        Ok(d)
    }

    /// Check every field and region. What the controller does before it runs a layer.
    pub fn check(
        &self,
        index: usize,
        at: u32,
        config: &AcceleratorConfig,
        window: usize,
    ) -> Result<(), DescriptorError> {
        let bad = |m: String| DescriptorError {
            index,
            code: ErrorCode::BadField,
            offset: at,
            message: m,
        };
        if !(1..=config.weight_bits_max).contains(&self.weight_bits) {
            return Err(bad(format!(
                "b_w = {} is outside this accelerator's 1..={}",
                self.weight_bits, config.weight_bits_max
            )));
        }
        if !(1..=config.spike_bits_max).contains(&self.input_bits)
            || (!self.readout && !(1..=config.spike_bits_max).contains(&self.spike_bits))
        {
            return Err(bad(format!(
                "input bits {} / spike bits {} outside this accelerator's 1..={}",
                self.input_bits, self.spike_bits, config.spike_bits_max
            )));
        }
        if !(1..=MAX_TIMESTEPS).contains(&self.timesteps) {
            return Err(bad(format!(
                "T = {} is outside 1..={MAX_TIMESTEPS}",
                self.timesteps
            )));
        }
        if self.leak_shift > crate::neuron::MAX_LEAK_SHIFT {
            return Err(bad(format!(
                "leak shift {} is out of range",
                self.leak_shift
            )));
        }
        if self.fan_in == 0
            || self.outputs == 0
            || self.positions == 0
            || self.groups == 0
            || self.input_len == 0
        {
            return Err(bad(
                "fan-in, outputs, positions, groups and input length must be non-zero".into(),
            ));
        }
        if !self.outputs.is_multiple_of(self.groups) {
            return Err(bad(format!(
                "{} outputs do not divide into {} groups",
                self.outputs, self.groups
            )));
        }
        if self.kind == LayerKind::Dense
            && (self.positions != 1 || self.groups != 1 || self.fan_in != self.input_len)
        {
            return Err(bad(
                "a dense layer has one position, one group and fan-in = input length".into(),
            ));
        }
        if self.kind == LayerKind::Im2col {
            if let Some(m) = super::im2col::fault(self) {
                return Err(bad(m));
            }
        }
        for r in self.regions(config) {
            let end = u64::from(r.offset) + r.bytes as u64;
            if end > window as u64 {
                return Err(DescriptorError {
                    index,
                    code: ErrorCode::OutOfWindow,
                    offset: r.offset,
                    message: format!(
                        "its {} region [0x{:X}, 0x{:X}) is outside the {}-byte DMA window",
                        r.name, r.offset, end, window
                    ),
                });
            }
        }
        super::buffers::BufferPlan::new(config)
            .fit(self)
            .map_err(|e| DescriptorError {
                index,
                code: ErrorCode::BufferOverflow,
                offset: at,
                message: format!("it does not fit the on-chip buffers: {e}"),
            })?;
        // A strided output's planes: each write command is the DMA's to check
        // (beat alignment, then the window), at the plane's offset, when the
        // layer has run: after the controller's region and fit checks (the
        // packed region checked above ends before the last plane does).
        let beat = config.axi_data_bytes as u64;
        for (offset, bytes) in self.output_planes().into_iter().skip(1) {
            if !u64::from(offset).is_multiple_of(beat) {
                return Err(DescriptorError {
                    index,
                    code: ErrorCode::BadField,
                    offset,
                    message: format!(
                        "its output plane at 0x{offset:X} is not aligned to the {beat}-byte DMA beat (out_stride {})",
                        self.out_stride
                    ),
                });
            }
            let end = u64::from(offset) + (bytes as u64).div_ceil(beat) * beat;
            if end > window as u64 {
                return Err(DescriptorError {
                    index,
                    code: ErrorCode::OutOfWindow,
                    offset,
                    message: format!(
                        "its output plane [0x{offset:X}, 0x{end:X}) is outside the {window}-byte DMA window (out_stride {}, out_step_planes {})",
                        self.out_stride, self.out_step_planes
                    ),
                });
            }
        }
        Ok(())
    }

    /// Neurons this layer computes (`O * P`).
    pub fn neurons(&self) -> usize {
        self.outputs as usize * self.positions as usize
    }

    /// Timesteps of input the layer reads: 1 for a static input, else `T`.
    pub fn input_steps(&self) -> u32 {
        if self.static_input {
            1
        } else {
            self.timesteps
        }
    }

    /// Binary input slices `S = b_in` times [`Self::input_steps`]: the planes
    /// the layer reads, and the slices each of its tiles streams.
    pub fn slices(&self) -> u64 {
        u64::from(self.input_steps()) * u64::from(self.input_bits)
    }

    /// Every region the layer touches, with its size.
    pub fn regions(&self, config: &AcceleratorConfig) -> Vec<Region> {
        let steps = self.input_steps() as usize;
        let wb = WeightBits::new(u32::from(self.weight_bits).max(1)).expect("checked width");
        let mut r = vec![
            Region {
                name: "weights",
                offset: self.weights,
                bytes: layout::weight_bytes(
                    self.outputs as usize,
                    self.fan_in as usize,
                    config.cols,
                    wb,
                ),
                write: false,
            },
            Region {
                name: "params",
                offset: self.params,
                bytes: self.outputs as usize * PARAM_BYTES,
                write: false,
            },
            Region {
                name: "input",
                offset: self.input,
                bytes: layout::planes_bytes(steps, self.input_bits, self.input_len as usize),
                write: false,
            },
            Region {
                name: "output",
                offset: self.output,
                bytes: self.regions_output().1,
                write: true,
            },
        ];
        if self.kind == LayerKind::Gather {
            r.push(Region {
                name: "gather",
                offset: self.gather,
                bytes: self.groups as usize * self.positions as usize * self.fan_in as usize * 4,
                write: false,
            });
        }
        r
    }

    /// Whether the output's planes are written strided (one DMA command each).
    pub fn strided(&self) -> bool {
        self.out_stride != 0 && !self.readout
    }

    /// The groups the column tile of at most `cols` outputs from output `o0`
    /// meets, in the order its runs take them (a dense layer's one group).
    pub fn tile_groups(&self, o0: u64, cols: u64) -> std::ops::RangeInclusive<u64> {
        let outputs = u64::from(self.outputs);
        let per_group = (outputs / u64::from(self.groups.max(1))).max(1);
        let end = (o0 + cols).min(outputs);
        o0 / per_group..=(end - 1) / per_group
    }

    /// The window offset of the gather row of group `g` at position `p`: its
    /// `K` 32-bit entries (docs/formats.md, "Gather table").
    pub fn gather_row(&self, g: u64, p: u64) -> u64 {
        u64::from(self.gather) + 4 * u64::from(self.fan_in) * (g * u64::from(self.positions) + p)
    }

    /// The write-back's DMA commands, `(window offset, bytes)` in order: the
    /// whole output region at once, or with [`Self::out_stride`] one per plane
    /// `(t, j)` at `output + 8 (t out_step_planes + j) out_stride` (mod 2^32,
    /// as the controller's address arithmetic wraps).
    pub fn output_planes(&self) -> Vec<(u32, usize)> {
        let out = &self.regions_output();
        if !self.strided() {
            return vec![(out.0, out.1)];
        }
        let plane = layout::plane_bytes(self.neurons());
        let stride = 8 * u64::from(self.out_stride);
        let mut v = Vec::new();
        for t in 0..u64::from(self.timesteps) {
            for j in 0..u64::from(self.spike_bits) {
                let at =
                    u64::from(self.output) + (t * u64::from(self.out_step_planes) + j) * stride;
                // The controller's 32-bit address arithmetic wraps.
                v.push(((at & u64::from(u32::MAX)) as u32, plane));
            }
        }
        v
    }

    /// The output region as the controller checks it: the packed planes (or
    /// the readout's membranes).
    fn regions_output(&self) -> (u32, usize) {
        let t = self.timesteps as usize;
        let bytes = if self.readout {
            self.neurons() * 8
        } else {
            layout::planes_bytes(t, self.spike_bits, self.neurons())
        };
        (self.output, bytes)
    }

    /// The spike width checked as a [`SpikeBits`].
    pub fn spike_bits(&self) -> Option<SpikeBits> {
        SpikeBits::new(u32::from(self.spike_bits)).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> LayerDescriptor {
        LayerDescriptor {
            kind: LayerKind::Gather,
            readout: false,
            hard_reset: true,
            leak_shift: 3,
            static_input: false,
            weight_bits: 4,
            input_bits: 2,
            spike_bits: 3,
            timesteps: 4,
            fan_in: 9,
            outputs: 4,
            positions: 16,
            groups: 1,
            input_len: 36,
            weights: 0x100,
            params: 0x200,
            gather: 0x300,
            input: 0x1000,
            output: 0x2000,
            out_stride: 0,
            out_step_planes: 0,
            ..LayerDescriptor::dense(1, 1)
        }
    }

    /// A strided output: its planes where the fields put them, and the DMA's
    /// refusals of a plane off the beat or past the window, at its offset.
    #[test]
    fn strided_planes_are_placed_and_checked() {
        let c = AcceleratorConfig::default();
        let d = LayerDescriptor {
            out_stride: 6,
            out_step_planes: 4,
            ..sample()
        };
        // 4 outputs x 16 positions: one word a plane; T = 4, b_s = 3.
        let planes = d.output_planes();
        assert_eq!(planes.len(), 12);
        assert_eq!(planes[0], (0x2000, 8));
        assert_eq!(planes[2], (0x2000 + 2 * 48, 8));
        assert_eq!(planes[3], (0x2000 + 4 * 48, 8), "the next step's plane 0");
        let last = 0x2000 + (3 * 4 + 2) * 48;
        assert_eq!(planes[11], (last, 8));
        assert!(d.check(0, 0, &c, last as usize + 16).is_ok());
        let e = d.check(0, 0, &c, last as usize + 8).unwrap_err();
        assert_eq!((e.code, e.offset), (ErrorCode::OutOfWindow, last));
        let odd = LayerDescriptor { out_stride: 3, ..d };
        let e = odd.check(0, 0, &c, 1 << 20).unwrap_err();
        assert_eq!((e.code, e.offset), (ErrorCode::BadField, 0x2000 + 24));
        // A readout ignores the fields; packed planes are one command.
        let readout = LayerDescriptor { readout: true, ..d };
        assert_eq!(readout.output_planes().len(), 1);
        assert_eq!(sample().output_planes().len(), 1);
    }

    #[test]
    fn encode_decode_round_trip() {
        let c = AcceleratorConfig::default();
        let d = sample();
        assert_eq!(
            LayerDescriptor::decode(&d.encode(), 0, 0, &c, 1 << 20).unwrap(),
            d
        );
    }

    #[test]
    fn refuses_regions_outside_the_window() {
        let c = AcceleratorConfig::default();
        let mut d = sample();
        d.output = 0xFFFF_FF00;
        let e = LayerDescriptor::decode(&d.encode(), 2, 0x40, &c, 1 << 20).unwrap_err();
        assert_eq!(e.code, ErrorCode::OutOfWindow);
        assert_eq!(e.offset, 0xFFFF_FF00);
        assert!(
            e.to_string().starts_with("descriptor 2: its output region"),
            "{e}"
        );
    }

    #[test]
    fn refuses_bad_magic_and_fields() {
        let c = AcceleratorConfig {
            weight_bits_max: 4,
            ..Default::default()
        };
        let mut bytes = sample().encode();
        bytes[0] ^= 1;
        let e = LayerDescriptor::decode(&bytes, 0, 0, &c, 1 << 20).unwrap_err();
        assert_eq!(e.code, ErrorCode::BadDescriptor);
        let mut d = sample();
        d.weight_bits = 5;
        let e = LayerDescriptor::decode(&d.encode(), 0, 0, &c, 1 << 20).unwrap_err();
        assert_eq!(e.code, ErrorCode::BadField);
        assert!(e.to_string().contains("b_w = 5"), "{e}");
    }
}
