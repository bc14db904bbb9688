//! One module per subcommand: each parses its arguments and drives the library.

pub mod budget;
pub mod flash;
pub mod gen_rtl;
pub mod import;
pub mod infer;
pub mod relation;
pub mod sweep;
pub mod train;

use anyhow::{Context, Result};
use spikeslice_core::model::Model;
use std::path::Path;

/// Load a model, with the path in the error.
pub fn load_model(path: &Path) -> Result<Model> {
    Model::load(path).with_context(|| format!("cannot load model {}", path.display()))
}

/// The accelerator configuration a program is compiled for.
#[derive(clap::Args, Debug, Clone)]
pub struct AccelArgs {
    /// PE rows of the array.
    #[arg(long, default_value_t = 8)]
    pub rows: usize,
    /// PE columns of the array.
    #[arg(long, default_value_t = 8)]
    pub cols: usize,
    /// Accumulator width in bits.
    #[arg(long, default_value_t = spikeslice_core::widths::AcceleratorWidths::default().acc_bits)]
    pub acc_bits: u32,
    /// Membrane width in bits.
    #[arg(long, default_value_t = spikeslice_core::widths::AcceleratorWidths::default().membrane_bits)]
    pub membrane_bits: u32,
}

impl AccelArgs {
    pub fn config(&self) -> Result<spikeslice_core::accel::AcceleratorConfig> {
        let c = spikeslice_core::accel::AcceleratorConfig {
            rows: self.rows,
            cols: self.cols,
            acc_bits: self.acc_bits,
            membrane_bits: self.membrane_bits,
            ..Default::default()
        };
        c.validate()?;
        Ok(c)
    }
}
