//! The accelerator's configuration, defined once: what the generator builds,
//! what the compiler compiles for, what every backend runs and what the
//! configuration registers report. [`AcceleratorConfig::validate`] holds every
//! limit (the generator's width menu, the register widths, the buffers'
//! minimum and maximum sizes), so a configuration the RTL cannot be built for
//! is refused up front, on every backend, naming the field to change.
//!
//! Views: [`AcceleratorConfig::array`] (the compute core alone, for the core
//! generator and its simulator), [`AcceleratorConfig::widths`] (the datapath
//! registers, for the width check), [`super::buffers::BufferPlan`] (the
//! on-chip buffers).

use super::regmap;
use crate::widths::AcceleratorWidths;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Accumulator widths (bits of the PE's partial-sum register) the generator
/// builds. rust-hdl widths are types (`Bits<N>`), so the generator
/// monomorphizes the design for a fixed menu of widths.
pub const ACC_BITS_SUPPORTED: &[u32] = &[16, 20, 24, 28, 32];
/// Membrane widths (the post-processing current and the membrane) it builds.
pub const MEMBRANE_BITS_SUPPORTED: &[u32] = &[24, 32, 40, 48];
/// Largest array dimension (the generated Verilog grows as rows * cols).
pub const MAX_DIM: usize = 64;
/// Largest on-chip buffer, in bytes, of each kind (16 MiB: far beyond an
/// xck26's 5.1 MB of block and Ultra RAM, well inside the 32-bit
/// configuration registers).
pub const MAX_BUFFER_BYTES: usize = 16 << 20;

/// A generated accelerator: array shape, datapath widths, AXI port and
/// on-chip buffers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AcceleratorConfig {
    /// PE rows: binary slice vectors processed side by side.
    pub rows: usize,
    /// PE columns: outputs processed side by side.
    pub cols: usize,
    pub weight_bits_max: u8,
    pub spike_bits_max: u8,
    pub acc_bits: u32,
    pub membrane_bits: u32,
    /// AXI4 data width in bytes (8 or 16).
    pub axi_data_bytes: usize,
    /// Longest INCR burst, in beats (at most 256).
    pub max_burst_beats: usize,
    /// Weight buffer size in bytes.
    pub wbuf_bytes: usize,
    /// Activation buffer size in bytes.
    pub abuf_bytes: usize,
    /// Output buffer size in bytes.
    pub obuf_bytes: usize,
    /// The PEs' accumulators in DSP48E2 slices, two PEs a slice at
    /// accumulators of at most 24 bits (docs/compute-core.md, "PEs in DSP48E2
    /// slices"); fabric adders when false.
    #[serde(default)]
    pub dsp_pes: bool,
    /// The spike queue writes a layer's positions in pairs where it can
    /// (`cycles::pairs_positions`: two adjacent neurons' bits in one write),
    /// for 16 spike bits a column of each queued beat and `PAIRED_TIMESTEPS_MAX`
    /// held bytes a column; one position at a time when false
    /// (docs/controller.md, "The spike queue and kept parameters").
    #[serde(default)]
    pub spike_pairs: bool,
}

impl Default for AcceleratorConfig {
    fn default() -> Self {
        Self {
            rows: 8,
            cols: 8,
            weight_bits_max: 8,
            spike_bits_max: 8,
            acc_bits: AcceleratorWidths::default().acc_bits,
            membrane_bits: AcceleratorWidths::default().membrane_bits,
            axi_data_bytes: 16,
            max_burst_beats: 256,
            wbuf_bytes: 256 * 1024,
            abuf_bytes: 128 * 1024,
            obuf_bytes: 64 * 1024,
            dsp_pes: false,
            spike_pairs: true,
        }
    }
}

/// A configuration no accelerator can have: the field (as named in
/// [`AcceleratorConfig`]) and why.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("invalid accelerator configuration: {message}")]
pub struct ConfigError {
    pub field: &'static str,
    pub message: String,
}

impl ConfigError {
    pub fn new(field: &'static str, message: String) -> Self {
        Self { field, message }
    }

    /// A width the generator's menu does not have.
    pub fn menu(field: &'static str, value: u32) -> Self {
        let menu = if field == "acc_bits" {
            ACC_BITS_SUPPORTED
        } else {
            MEMBRANE_BITS_SUPPORTED
        };
        Self::new(
            field,
            format!("{field} {value} is not supported; rust-hdl widths are compile-time, choose one of {menu:?}"),
        )
    }

    /// The command-line flag that sets the field (`--acc-bits`, ...).
    pub fn flag(&self) -> String {
        flag_of(self.field)
    }
}

/// The command-line flag that sets an `AcceleratorConfig` field (`acc_bits`:
/// `--acc-bits`; `axi_data_bytes` is set in bits, `--axi-data-bits`).
pub fn flag_of(field: &str) -> String {
    match field {
        "axi_data_bytes" => "--axi-data-bits".into(),
        f => format!("--{}", f.replace('_', "-")),
    }
}

/// The compute core alone: what the core generator and its simulator take.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArrayConfig {
    /// Rows of the PE array: binary spike slices processed in parallel.
    pub rows: usize,
    /// Columns of the PE array: outputs processed in parallel.
    pub cols: usize,
    /// Largest weight width b_w a layer may use (1..=8).
    pub weight_bits_max: u8,
    /// Largest spike width b_s a layer may emit (1..=8).
    pub spike_bits_max: u8,
    /// Accumulator width of a PE (holds one binary-slice partial sum P_j).
    pub acc_bits: u32,
    /// Membrane width (holds the current I and the membrane v).
    pub membrane_bits: u32,
    /// The PEs' accumulators in DSP48E2 slices (`AcceleratorConfig::dsp_pes`).
    #[serde(default)]
    pub dsp_pes: bool,
    /// The fan-in in two halves: the lower `rows / 2` rows take the slices of
    /// the upper rows over the second half of the inputs, from a second weight
    /// stream, and the drain adds each pair of rows, so a chunk holds
    /// `rows / 2` slices over `ceil(K / 2)` beats (docs/compute-core.md, "The
    /// fan-in in halves and the parameter prefetch"). The core alone: the
    /// shell, whose weight banks read one weight row a cycle, builds its core
    /// without it.
    #[serde(default)]
    pub fanin_halves: bool,
    /// The parameter prefetch: the core takes a run with new parameters
    /// (another tile of the layer) while the last run's drain and neuron
    /// steps go on, and shifts each kind of parameter in once the last run
    /// is done reading it (docs/compute-core.md, "The fan-in in halves and
    /// the parameter prefetch"). The core alone: the shell, whose controller
    /// and cycle model start a new tile once the last is done, builds its
    /// core without it.
    #[serde(default)]
    pub param_prefetch: bool,
}

impl Default for ArrayConfig {
    fn default() -> Self {
        AcceleratorConfig::default().array()
    }
}

impl ArrayConfig {
    /// Every limit of the core generator; the error names the field.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let in_range = |field, value: usize, range: std::ops::RangeInclusive<usize>| {
            if range.contains(&value) {
                Ok(())
            } else {
                let (lo, hi) = range.into_inner();
                Err(ConfigError::new(
                    field,
                    format!("{field} must be in {lo}..={hi}, got {value}"),
                ))
            }
        };
        in_range("rows", self.rows, 1..=MAX_DIM)?;
        in_range("cols", self.cols, 1..=MAX_DIM)?;
        let max_bits = usize::from(crate::numeric::MAX_BITS);
        in_range("weight_bits_max", self.weight_bits_max.into(), 1..=max_bits)?;
        in_range("spike_bits_max", self.spike_bits_max.into(), 1..=max_bits)?;
        if !ACC_BITS_SUPPORTED.contains(&self.acc_bits) {
            return Err(ConfigError::menu("acc_bits", self.acc_bits));
        }
        if !MEMBRANE_BITS_SUPPORTED.contains(&self.membrane_bits) {
            return Err(ConfigError::menu("membrane_bits", self.membrane_bits));
        }
        if self.membrane_bits < self.acc_bits {
            return Err(ConfigError::new(
                "membrane_bits",
                format!(
                    "membrane_bits ({}) must be at least acc_bits ({}): the current I sums partial sums P_j",
                    self.membrane_bits, self.acc_bits
                ),
            ));
        }
        if self.fanin_halves && !self.rows.is_multiple_of(2) {
            return Err(ConfigError::new(
                "rows",
                format!(
                    "the fan-in in halves needs an even number of rows (two halves of rows / 2), got {}",
                    self.rows
                ),
            ));
        }
        Ok(())
    }

    /// Binary slices a chunk holds: the rows, or with the fan-in in halves
    /// the rows of one half.
    pub fn chunk_rows(&self) -> usize {
        if self.fanin_halves {
            self.rows / 2
        } else {
            self.rows
        }
    }

    /// Beats of a chunk over `fan_in` inputs (the core's `cfg_k`): one an
    /// input, or with the fan-in in halves one a pair of inputs `k` and
    /// `ceil(K / 2) + k`.
    pub fn chunk_beats(&self, fan_in: usize) -> usize {
        if self.fanin_halves {
            fan_in.div_ceil(2)
        } else {
            fan_in
        }
    }

    /// A short name used for module and file names, e.g. `r8c8_w8s8_a24m32`
    /// (`_dsp` at the end for PEs in DSP slices, then `_halves` for the
    /// fan-in in halves, `_prefetch` for the parameter prefetch).
    pub fn tag(&self) -> String {
        format!(
            "r{}c{}_w{}s{}_a{}m{}{}{}{}",
            self.rows,
            self.cols,
            self.weight_bits_max,
            self.spike_bits_max,
            self.acc_bits,
            self.membrane_bits,
            if self.dsp_pes { "_dsp" } else { "" },
            if self.fanin_halves { "_halves" } else { "" },
            if self.param_prefetch { "_prefetch" } else { "" }
        )
    }
}

impl AcceleratorConfig {
    /// The compute core's part of the configuration.
    pub fn array(&self) -> ArrayConfig {
        ArrayConfig {
            rows: self.rows,
            cols: self.cols,
            weight_bits_max: self.weight_bits_max,
            spike_bits_max: self.spike_bits_max,
            acc_bits: self.acc_bits,
            membrane_bits: self.membrane_bits,
            dsp_pes: self.dsp_pes,
            fanin_halves: false,
            param_prefetch: false,
        }
    }

    /// The datapath registers' widths.
    pub fn widths(&self) -> AcceleratorWidths {
        AcceleratorWidths {
            acc_bits: self.acc_bits,
            membrane_bits: self.membrane_bits,
        }
    }

    /// Weight codes the controller loads per cycle, `L`: the largest divisor
    /// of `cols` with `L * weight_bits_max <= 64`, the gearbox's widest field.
    /// A tile's weight load takes `K * cols / L` cycles: `K` when a whole row
    /// of `cols` codes fits a field (docs/controller.md).
    pub fn weight_lanes(&self) -> usize {
        let widest = (64 / usize::from(self.weight_bits_max.max(1))).max(1);
        (1..=self.cols.min(widest))
            .rev()
            .find(|l| self.cols.is_multiple_of(*l))
            .unwrap_or(1)
    }

    /// Whether the weight banks hold even and odd inputs in RAMs of their own,
    /// so that a load writes two inputs' rows in one cycle: built where a whole
    /// row of `cols` codes fits one gearbox field at the widest code (`L =
    /// cols`, [`Self::weight_lanes`]) and each RAM holds two inputs or more
    /// (docs/controller.md).
    pub fn paired_weight_rows(&self) -> bool {
        // Each of the two RAMs holds at least two inputs.
        self.cols == self.weight_lanes() && super::buffers::BufferPlan::new(self).wbank_depth >= 4
    }

    /// Inputs' rows of weight codes one gearbox field carries at
    /// `weight_bits`: two where the banks are built for it
    /// ([`Self::paired_weight_rows`]) and two rows of `cols` codes fit the
    /// field's 64 bits, else one. A tile's weight load takes
    /// `ceil(K / rows) * cols / L` cycles.
    pub fn weight_rows_per_field(&self, weight_bits: u8) -> usize {
        if self.paired_weight_rows() && 2 * self.cols * usize::from(weight_bits) <= 64 {
            2
        } else {
            1
        }
    }

    /// Every limit of every stage: the core generator's, the AXI port's and
    /// the buffers' (at least two entries per bank, so each half of a double
    /// buffer holds one; at most [`MAX_BUFFER_BYTES`]).
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.array().validate()?;
        let err = |field, m: String| Err(ConfigError::new(field, m));
        if ![8, 16].contains(&self.axi_data_bytes) {
            return err(
                "axi_data_bytes",
                format!(
                    "AXI data width {} bits: use 64 or 128",
                    self.axi_data_bytes * 8
                ),
            );
        }
        if !(1..=256).contains(&self.max_burst_beats) {
            return err(
                "max_burst_beats",
                format!(
                    "bursts are 1..=256 beats (AXI4 INCR), got {}",
                    self.max_burst_beats
                ),
            );
        }
        for (field, bytes, min) in [
            ("wbuf_bytes", self.wbuf_bytes, 2 * self.cols),
            ("abuf_bytes", self.abuf_bytes, 2 * 8 * self.rows),
            ("obuf_bytes", self.obuf_bytes, 2 * 8),
        ] {
            if !(min..=MAX_BUFFER_BYTES).contains(&bytes) {
                return err(
                    field,
                    format!(
                        "{field} = {bytes}: this {}x{} accelerator's buffer takes {min}..={MAX_BUFFER_BYTES} bytes",
                        self.rows, self.cols
                    ),
                );
            }
        }
        Ok(())
    }

    /// The fields in which `self` differs from `other`, each as its flag with
    /// both values: `--rows 4 (8 on the other)`, for refusals that name what to
    /// change.
    pub fn differences(&self, other: &Self) -> Vec<String> {
        let mut out = Vec::new();
        let mut field = |name: &str, a: &dyn ToString, b: &dyn ToString| {
            let (a, b) = (a.to_string(), b.to_string());
            if a != b {
                out.push(format!("{} {a} ({b} on the other)", flag_of(name)));
            }
        };
        let o = other;
        field("rows", &self.rows, &o.rows);
        field("cols", &self.cols, &o.cols);
        field("weight_bits_max", &self.weight_bits_max, &o.weight_bits_max);
        field("spike_bits_max", &self.spike_bits_max, &o.spike_bits_max);
        field("acc_bits", &self.acc_bits, &o.acc_bits);
        field("membrane_bits", &self.membrane_bits, &o.membrane_bits);
        // Set in bits (`flag_of`).
        let bits = |c: &Self| 8 * c.axi_data_bytes;
        field("axi_data_bytes", &bits(self), &bits(o));
        field("max_burst_beats", &self.max_burst_beats, &o.max_burst_beats);
        field("wbuf_bytes", &self.wbuf_bytes, &o.wbuf_bytes);
        field("abuf_bytes", &self.abuf_bytes, &o.abuf_bytes);
        field("obuf_bytes", &self.obuf_bytes, &o.obuf_bytes);
        field("dsp_pes", &self.dsp_pes, &o.dsp_pes);
        field("spike_pairs", &self.spike_pairs, &o.spike_pairs);
        out
    }

    /// The read-only configuration registers' values.
    pub fn config_registers(&self) -> Vec<(u32, u32)> {
        use regmap::*;
        vec![
            (CFG_ARRAY, (self.rows as u32) | ((self.cols as u32) << 16)),
            (
                CFG_WIDTHS,
                self.acc_bits
                    | (self.membrane_bits << 8)
                    | (u32::from(self.weight_bits_max) << 16)
                    | (u32::from(self.spike_bits_max) << 20)
                    | (u32::from(self.dsp_pes) << 24)
                    | (u32::from(self.spike_pairs) << 25),
            ),
            (
                CFG_AXI,
                (self.axi_data_bytes as u32) | ((self.max_burst_beats as u32) << 8),
            ),
            (CFG_WBUF_BYTES, self.wbuf_bytes as u32),
            (CFG_ABUF_BYTES, self.abuf_bytes as u32),
            (CFG_OBUF_BYTES, self.obuf_bytes as u32),
        ]
    }

    /// [`AcceleratorConfig::from_registers`] from `(offset, value)` pairs, as
    /// the protocol's handshake carries them (a missing register reads 0).
    pub fn from_register_values(values: &[(u32, u32)]) -> Result<Self, ConfigError> {
        Self::from_registers(|o| values.iter().find(|(x, _)| *x == o).map_or(0, |v| v.1))
    }

    /// Rebuild a configuration from its registers (what a driver does after
    /// reading them from a device).
    pub fn from_registers(mut read: impl FnMut(u32) -> u32) -> Result<Self, ConfigError> {
        use regmap::*;
        let array = read(CFG_ARRAY);
        let widths = read(CFG_WIDTHS);
        let axi = read(CFG_AXI);
        let c = Self {
            rows: (array & 0xFFFF) as usize,
            cols: (array >> 16) as usize,
            acc_bits: widths & 0xFF,
            membrane_bits: (widths >> 8) & 0xFF,
            weight_bits_max: ((widths >> 16) & 0xF) as u8,
            spike_bits_max: ((widths >> 20) & 0xF) as u8,
            axi_data_bytes: (axi & 0xFF) as usize,
            max_burst_beats: ((axi >> 8) & 0x1FF) as usize,
            wbuf_bytes: read(CFG_WBUF_BYTES) as usize,
            abuf_bytes: read(CFG_ABUF_BYTES) as usize,
            obuf_bytes: read(CFG_OBUF_BYTES) as usize,
            dsp_pes: (widths >> 24) & 1 == 1,
            spike_pairs: (widths >> 25) & 1 == 1,
        };
        c.validate()?;
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_registers_round_trip() {
        for (dsp_pes, spike_pairs) in [(false, true), (true, false)] {
            let c = AcceleratorConfig {
                rows: 16,
                cols: 4,
                acc_bits: 20,
                dsp_pes,
                spike_pairs,
                ..Default::default()
            };
            let regs = c.config_registers();
            let back = AcceleratorConfig::from_register_values(&regs).unwrap();
            assert_eq!(back, c);
        }
    }

    #[test]
    fn two_rows_a_field_where_a_row_fits_a_field_and_two_fit_64_bits() {
        let d = AcceleratorConfig::default();
        assert!(d.paired_weight_rows());
        assert_eq!(
            [1, 2, 4, 5, 8].map(|b| d.weight_rows_per_field(b)),
            [2, 2, 2, 1, 1]
        );
        // 4x64: a row of 64 codes takes eight fields, so the banks are not paired.
        let wide = AcceleratorConfig {
            rows: 4,
            cols: 64,
            ..d
        };
        assert!(!wide.paired_weight_rows());
        assert_eq!(wide.weight_rows_per_field(1), 1);
        // A RAM of each parity holds two inputs or more.
        let tiny = AcceleratorConfig {
            cols: 3,
            wbuf_bytes: 9,
            ..d
        };
        assert_eq!(super::super::buffers::BufferPlan::new(&tiny).wbank_depth, 2);
        assert!(!tiny.paired_weight_rows());
    }

    #[test]
    fn differences_name_each_differing_flag() {
        let a = AcceleratorConfig::default();
        assert!(a.differences(&a).is_empty());
        let b = AcceleratorConfig {
            rows: 4,
            axi_data_bytes: 8,
            dsp_pes: true,
            ..a
        };
        assert_eq!(
            b.differences(&a),
            [
                "--rows 4 (8 on the other)",
                "--axi-data-bits 64 (128 on the other)",
                "--dsp-pes true (false on the other)"
            ]
        );
    }

    #[test]
    fn errors_name_the_field_and_its_flag() {
        let check = |c: AcceleratorConfig, field: &str, flag: &str, says: &str| {
            let e = c.validate().unwrap_err();
            assert_eq!(e.field, field);
            assert_eq!(e.flag(), flag);
            assert!(e.to_string().contains(says), "{e}");
        };
        let d = AcceleratorConfig::default;
        check(
            AcceleratorConfig { rows: 0, ..d() },
            "rows",
            "--rows",
            "1..=64",
        );
        check(
            AcceleratorConfig {
                acc_bits: 18,
                ..d()
            },
            "acc_bits",
            "--acc-bits",
            "[16, 20, 24, 28, 32]",
        );
        check(
            AcceleratorConfig {
                acc_bits: 32,
                membrane_bits: 24,
                ..d()
            },
            "membrane_bits",
            "--membrane-bits",
            "at least acc_bits",
        );
        check(
            AcceleratorConfig {
                axi_data_bytes: 4,
                ..d()
            },
            "axi_data_bytes",
            "--axi-data-bits",
            "64 or 128",
        );
        check(
            AcceleratorConfig {
                wbuf_bytes: 1_000_000_000_000,
                ..d()
            },
            "wbuf_bytes",
            "--wbuf-bytes",
            "16..=16777216",
        );
        check(
            AcceleratorConfig {
                obuf_bytes: 8,
                ..d()
            },
            "obuf_bytes",
            "--obuf-bytes",
            "16..=",
        );
        d().validate().unwrap();
    }
}
