//! One module per subcommand: each parses its arguments and drives the library.

pub mod budget;
pub mod infer;

use anyhow::{Context, Result};
use spikeslice_core::model::Model;
use std::path::Path;

/// Load a model, with the path in the error.
pub fn load_model(path: &Path) -> Result<Model> {
    Model::load(path).with_context(|| format!("cannot load model {}", path.display()))
}
