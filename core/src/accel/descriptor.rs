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
use thiserror::Error;

/// Size of one descriptor in bytes.
pub const DESCRIPTOR_BYTES: usize = 64;
/// First word of every descriptor: ASCII "SSLD".
pub const DESCRIPTOR_MAGIC: u32 = 0x444C_5353;
/// Descriptor format version.
pub const DESCRIPTOR_VERSION: u32 = 1;
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

impl LayerDescriptor {
    pub fn encode(&self) -> [u8; DESCRIPTOR_BYTES] {
        let flags = (self.kind as u32)
            | (u32::from(self.readout) << 8)
            | (u32::from(self.hard_reset) << 9)
            | (u32::from(self.leak_shift) << 16);
        let widths = u32::from(self.weight_bits)
            | (u32::from(self.input_bits) << 4)
            | (u32::from(self.spike_bits) << 8);
        let words = [
            DESCRIPTOR_MAGIC,
            DESCRIPTOR_VERSION,
            flags,
            widths,
            self.timesteps,
            self.fan_in,
            self.outputs,
            self.positions,
            self.groups,
            self.input_len,
            self.weights,
            self.params,
            self.gather,
            self.input,
            self.output,
            0,
        ];
        let mut out = [0u8; DESCRIPTOR_BYTES];
        for (i, w) in words.iter().enumerate() {
            out[i * 4..i * 4 + 4].copy_from_slice(&w.to_le_bytes());
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
        let w = |i: usize| u32::from_le_bytes(bytes[i * 4..i * 4 + 4].try_into().expect("4 bytes"));
        if w(0) != DESCRIPTOR_MAGIC || w(1) != DESCRIPTOR_VERSION {
            return Err(fail(
                ErrorCode::BadDescriptor,
                at,
                format!(
                    "magic 0x{:08X} version {}: expected 0x{DESCRIPTOR_MAGIC:08X} version {DESCRIPTOR_VERSION}",
                    w(0),
                    w(1)
                ),
            ));
        }
        let flags = w(2);
        let kind = match flags & 0xFF {
            0 => LayerKind::Dense,
            1 => LayerKind::Gather,
            k => {
                return Err(fail(
                    ErrorCode::BadField,
                    at + 8,
                    format!("unknown layer kind {k}"),
                ))
            }
        };
        let d = Self {
            kind,
            readout: flags & (1 << 8) != 0,
            hard_reset: flags & (1 << 9) != 0,
            leak_shift: ((flags >> 16) & 0xFF) as u8,
            weight_bits: (w(3) & 0xF) as u8,
            input_bits: ((w(3) >> 4) & 0xF) as u8,
            spike_bits: ((w(3) >> 8) & 0xF) as u8,
            timesteps: w(4),
            fan_in: w(5),
            outputs: w(6),
            positions: w(7),
            groups: w(8),
            input_len: w(9),
            weights: w(10),
            params: w(11),
            gather: w(12),
            input: w(13),
            output: w(14),
        };
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
        if !(1..=64).contains(&self.timesteps) {
            return Err(bad(format!("T = {} is outside 1..=64", self.timesteps)));
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
        if self.outputs % self.groups != 0 {
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
            })
    }

    /// Neurons this layer computes (`O * P`).
    pub fn neurons(&self) -> usize {
        self.outputs as usize * self.positions as usize
    }

    /// Every region the layer touches, with its size.
    pub fn regions(&self, config: &AcceleratorConfig) -> Vec<Region> {
        let t = self.timesteps as usize;
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
                bytes: layout::planes_bytes(t, self.input_bits, self.input_len as usize),
                write: false,
            },
            Region {
                name: "output",
                offset: self.output,
                bytes: if self.readout {
                    self.neurons() * 8
                } else {
                    layout::planes_bytes(t, self.spike_bits, self.neurons())
                },
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
        }
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
