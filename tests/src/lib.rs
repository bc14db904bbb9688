//! Whole-system tests live in `tests/tests/`; this library holds what they share:
//! the repository's digit models and their inputs.

use spikeslice::input::{self, Split};
use spikeslice_core::model::Model;
use std::path::Path;

/// A model of the repository's `models/` directory (`name` with its `.json`).
pub fn repository_model(name: &str) -> Model {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../models")
        .join(name);
    Model::load(&path).unwrap_or_else(|e| panic!("loading {}: {e}", path.display()))
}

/// The first `n` test digits of the vendored mnist-5k, as `model`'s inputs.
pub fn digits(model: &Model, n: usize) -> Vec<Vec<u8>> {
    let data = input::open_dataset("mnist-5k", Split::Test, Some(n)).expect("mnist-5k");
    input::from_dataset(model, &data)
        .expect("digit inputs")
        .inputs
}
