//! Generator parameters of the compute core: the core's view of the one
//! accelerator configuration (`spikeslice_core::accel::config`), where its
//! limits and the width menu are defined. Rows and columns are run-time
//! values (the array is a `Vec` of PEs with generated wiring); the
//! accumulator and membrane widths are types, hence the menu.

pub use spikeslice_core::accel::config::{
    ArrayConfig, ConfigError, ACC_BITS_SUPPORTED, MAX_DIM, MEMBRANE_BITS_SUPPORTED,
};

/// The error for a width pair outside the generator's menu (`width_menu!`):
/// the field whose width the menu lacks, else the membrane's, which must be at
/// least as wide as the accumulator (the configuration's `validate` refuses
/// such pairs first, with the reason).
pub(crate) fn not_in_menu(acc_bits: u32, membrane_bits: u32) -> ConfigError {
    if ACC_BITS_SUPPORTED.contains(&acc_bits) {
        ConfigError::menu("membrane_bits", membrane_bits)
    } else {
        ConfigError::menu("acc_bits", acc_bits)
    }
}

/// Width of the K counter: one tile accumulates up to 2^16 - 1 inputs.
pub const K_BITS: u32 = 16;
/// Width of the slice counter: b_in * T <= 8 * 64 = 512 binary slices per tile.
pub const SLICE_BITS: u32 = 10;
