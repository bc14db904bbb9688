//! Generator parameters of the compute core, with validation.
//!
//! rust-hdl widths are types (`Bits<N>` with a const `N`), so the accumulator and
//! membrane widths cannot be plain run-time numbers: the generator monomorphizes the
//! design for a fixed menu of widths ([`ACC_BITS_SUPPORTED`], [`MEMBRANE_BITS_SUPPORTED`])
//! and rejects other values with an error that lists the menu. Rows and columns are
//! run-time values (the array is a `Vec` of PEs with generated wiring).

use serde::{Deserialize, Serialize};

/// Accumulator widths (bits of the PE's partial-sum register) the generator supports.
pub const ACC_BITS_SUPPORTED: &[u32] = &[16, 20, 24, 28, 32];
/// Membrane widths (bits of the post-processing current and of the membrane) supported.
pub const MEMBRANE_BITS_SUPPORTED: &[u32] = &[24, 32, 40, 48];
/// Width of the K counter: one tile accumulates up to 2^16 - 1 inputs.
pub const K_BITS: u32 = 16;
/// Width of the slice counter: b_in * T <= 8 * 64 = 512 binary slices per tile.
pub const SLICE_BITS: u32 = 10;
/// Largest array dimension accepted (the generated Verilog grows as rows*cols).
pub const MAX_DIM: usize = 64;

/// Parameters of one generated compute core.
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
}

impl Default for ArrayConfig {
    fn default() -> Self {
        ArrayConfig {
            rows: 8,
            cols: 8,
            weight_bits_max: 8,
            spike_bits_max: 8,
            acc_bits: 24,
            membrane_bits: 32,
        }
    }
}

/// A configuration the generator cannot build.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("rows must be in 1..={MAX_DIM}, got {0}")]
    Rows(usize),
    #[error("cols must be in 1..={MAX_DIM}, got {0}")]
    Cols(usize),
    #[error("weight_bits_max must be in 1..=8, got {0}")]
    WeightBits(u8),
    #[error("spike_bits_max must be in 1..=8, got {0}")]
    SpikeBits(u8),
    #[error("acc_bits {0} is not supported; rust-hdl widths are compile-time, choose one of {ACC_BITS_SUPPORTED:?}")]
    AccBits(u32),
    #[error("membrane_bits {0} is not supported; rust-hdl widths are compile-time, choose one of {MEMBRANE_BITS_SUPPORTED:?}")]
    MembraneBits(u32),
    #[error("membrane_bits ({membrane}) must be at least acc_bits ({acc}): the current I sums partial sums P_j")]
    MembraneNarrow { acc: u32, membrane: u32 },
}

impl ArrayConfig {
    /// Checks every parameter; the error names the parameter and the accepted range.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.rows == 0 || self.rows > MAX_DIM {
            return Err(ConfigError::Rows(self.rows));
        }
        if self.cols == 0 || self.cols > MAX_DIM {
            return Err(ConfigError::Cols(self.cols));
        }
        if !(1..=8).contains(&self.weight_bits_max) {
            return Err(ConfigError::WeightBits(self.weight_bits_max));
        }
        if !(1..=8).contains(&self.spike_bits_max) {
            return Err(ConfigError::SpikeBits(self.spike_bits_max));
        }
        if !ACC_BITS_SUPPORTED.contains(&self.acc_bits) {
            return Err(ConfigError::AccBits(self.acc_bits));
        }
        if !MEMBRANE_BITS_SUPPORTED.contains(&self.membrane_bits) {
            return Err(ConfigError::MembraneBits(self.membrane_bits));
        }
        if self.membrane_bits < self.acc_bits {
            return Err(ConfigError::MembraneNarrow {
                acc: self.acc_bits,
                membrane: self.membrane_bits,
            });
        }
        Ok(())
    }

    /// A short name used for module and file names, e.g. `r8c8_w8s8_a24m32`.
    pub fn tag(&self) -> String {
        format!(
            "r{}c{}_w{}s{}_a{}m{}",
            self.rows,
            self.cols,
            self.weight_bits_max,
            self.spike_bits_max,
            self.acc_bits,
            self.membrane_bits
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_valid() {
        ArrayConfig::default().validate().unwrap();
    }

    #[test]
    fn errors_name_the_parameter() {
        let mut c = ArrayConfig {
            rows: 0,
            ..Default::default()
        };
        assert_eq!(c.validate(), Err(ConfigError::Rows(0)));
        c.rows = 4;
        c.acc_bits = 23;
        let e = c.validate().unwrap_err().to_string();
        assert!(
            e.contains("acc_bits 23") && e.contains("[16, 20, 24, 28, 32]"),
            "{e}"
        );
        c.acc_bits = 32;
        c.membrane_bits = 24;
        assert!(matches!(
            c.validate(),
            Err(ConfigError::MembraneNarrow { .. })
        ));
        c.membrane_bits = 40;
        c.weight_bits_max = 9;
        assert_eq!(c.validate(), Err(ConfigError::WeightBits(9)));
    }
}
