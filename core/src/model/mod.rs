//! Model files: a JSON spec plus integer weights in safetensors
//! (docs/model-format.md), loaded into validated, lowered [`NeuronLayer`]s.

mod batch;
mod graph;
mod lower;
mod parse;
mod spec;
mod tensors;
mod wiring;

pub use batch::BatchLayout;
pub use graph::INPUT;
pub use lower::validate_neuron_layer;
pub use spec::{
    dynamics_of, InputSpec, LayerSpec, ModelSpec, NeuronSpec, PoolMode, FORMAT, VERSION,
};
pub use tensors::{Tensor, TensorData};
pub use wiring::{Shortcut, Source, Wiring};

use crate::golden::NeuronLayer;
use std::collections::BTreeMap;
use std::fmt::Display;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// Everything that can be wrong with a model. Each message names the file,
/// layer or tensor and says what was expected.
#[derive(Debug, Error)]
pub enum ModelError {
    // The I/O error is part of the message, not a `source`, so that reports
    // which print the whole chain do not print it twice.
    #[error("cannot read {path}: {error}")]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("cannot write {path}: {error}")]
    Write {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{path} is not a valid model spec: {message}")]
    Json { path: PathBuf, message: String },
    #[error("{path}: format is {found:?}, expected {FORMAT:?}: is this a spikeslice model file?")]
    Format { path: PathBuf, found: String },
    #[error("{path}: model format version {found} is not supported: this build reads version {VERSION}; convert the model or use a matching spikeslice")]
    Version { path: PathBuf, found: u64 },
    #[error("{path} is not a valid safetensors file: {message}")]
    Safetensors { path: PathBuf, message: String },
    #[error("layer {layer}: {message}")]
    Layer { layer: String, message: String },
    #[error("tensor {tensor}: {message}")]
    Tensor { tensor: String, message: String },
    #[error("tensor {tensor} is missing from the weights file (layer {layer} needs it)")]
    MissingTensor { tensor: String, layer: String },
    #[error("tensor {tensor} in the weights file belongs to no layer of the spec: remove it or fix the layer name")]
    ExtraTensor { tensor: String },
    #[error("the model is invalid: {0}")]
    Model(String),
}

impl ModelError {
    pub fn layer(layer: &str, message: impl Display) -> Self {
        ModelError::Layer {
            layer: layer.to_string(),
            message: message.to_string(),
        }
    }
    pub fn tensor(tensor: &str, message: impl Display) -> Self {
        ModelError::Tensor {
            tensor: tensor.to_string(),
            message: message.to_string(),
        }
    }
}

/// A validated model: its spec, its tensors, and the compute layers lowered
/// from them (flatten layers lower to nothing; pooling lowers to a depthwise
/// neuron layer).
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    pub spec: ModelSpec,
    pub tensors: BTreeMap<String, Tensor>,
    pub layers: Vec<NeuronLayer>,
    /// What each of `layers` reads: its input and its shortcut, if any.
    pub wiring: Vec<Wiring>,
}

impl Model {
    /// Build a model from a spec and its tensors, validating both.
    pub fn new(spec: ModelSpec, tensors: BTreeMap<String, Tensor>) -> Result<Self, ModelError> {
        Self::new_at(Path::new("<memory>"), spec, tensors)
    }

    fn new_at(
        path: &Path,
        spec: ModelSpec,
        tensors: BTreeMap<String, Tensor>,
    ) -> Result<Self, ModelError> {
        if spec.format != FORMAT {
            return Err(ModelError::Format {
                path: path.into(),
                found: spec.format,
            });
        }
        if spec.version != VERSION {
            return Err(ModelError::Version {
                path: path.into(),
                found: u64::from(spec.version),
            });
        }
        let (layers, wiring) = lower::lower(&spec, &tensors)?;
        Ok(Self {
            spec,
            tensors,
            layers,
            wiring,
        })
    }

    /// Load `path` (the JSON spec) and the safetensors file it names.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, ModelError> {
        let path = path.as_ref();
        let text = std::fs::read(path).map_err(|error| ModelError::Io {
            path: path.into(),
            error,
        })?;
        let spec = parse_spec(path, &text)?;
        let weights_path = path
            .parent()
            .unwrap_or_else(|| Path::new("."))
            .join(&spec.weights);
        let bytes = std::fs::read(&weights_path).map_err(|error| ModelError::Io {
            path: weights_path.clone(),
            error,
        })?;
        let tensors = tensors::read(&weights_path, &bytes)?;
        Self::new_at(path, spec, tensors)
    }

    /// Write the spec to `path` and the weights beside it, as named by
    /// `spec.weights`.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<(), ModelError> {
        let path = path.as_ref();
        let weights_path = path
            .parent()
            .unwrap_or_else(|| Path::new("."))
            .join(&self.spec.weights);
        let json = serde_json::to_string_pretty(&self.spec).expect("spec serializes");
        // Both files are complete before either takes its name; the spec,
        // which readers open first, is renamed last.
        crate::atomic::write_all(&[
            (weights_path, tensors::write(&self.tensors)?),
            (path.to_path_buf(), (json + "\n").into_bytes()),
        ])
        .map_err(|e| ModelError::Write {
            path: e.path,
            error: e.error,
        })
    }

    pub fn timesteps(&self) -> usize {
        self.spec.timesteps.get()
    }

    /// Number of input values one sample has.
    pub fn input_len(&self) -> usize {
        self.spec.input.shape.iter().product()
    }

    /// Number of classes: the readout's width.
    pub fn classes(&self) -> usize {
        self.layers.last().map_or(0, |l| l.neurons())
    }

    /// Whether every layer reads the one before it and nothing else: a chain,
    /// not a graph with shortcuts or skips.
    pub fn is_chain(&self) -> bool {
        self.wiring
            .iter()
            .enumerate()
            .all(|(i, w)| *w == Wiring::chain(i))
    }

    /// The layer spec a lowered layer came from.
    pub fn spec_of(&self, lowered: &NeuronLayer) -> Option<&LayerSpec> {
        self.spec.layers.iter().find(|l| l.name() == lowered.name)
    }
}

/// Parse a spec, checking format and version before the fields, so an old or
/// foreign file gets the right message rather than a field error.
pub fn parse_spec(path: &Path, text: &[u8]) -> Result<ModelSpec, ModelError> {
    let json_err = |e: serde_json::Error| ModelError::Json {
        path: path.into(),
        message: e.to_string(),
    };
    let parse::Unique(value) = serde_json::from_slice(text).map_err(json_err)?;
    let format = value.get("format").and_then(|f| f.as_str()).unwrap_or("");
    if format != FORMAT {
        return Err(ModelError::Format {
            path: path.into(),
            found: format.into(),
        });
    }
    match value.get("version").and_then(|v| v.as_u64()) {
        Some(v) if v == u64::from(VERSION) => {}
        Some(v) => {
            return Err(ModelError::Version {
                path: path.into(),
                found: v,
            })
        }
        None => {
            return Err(ModelError::Json {
                path: path.into(),
                message: "missing or non-integer field `version`".into(),
            })
        }
    }
    parse::spec_from_value(value).map_err(|message| ModelError::Json {
        path: path.into(),
        message,
    })
}
