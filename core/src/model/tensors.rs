//! Integer tensors and their safetensors encoding.

use super::ModelError;
use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use std::collections::BTreeMap;
use std::path::Path;

/// The element data of a tensor: I8 weights, I32 everything else.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TensorData {
    I8(Vec<i8>),
    I32(Vec<i32>),
}

/// A named tensor's shape and data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tensor {
    pub shape: Vec<usize>,
    pub data: TensorData,
}

impl Tensor {
    pub fn i8(shape: Vec<usize>, data: Vec<i8>) -> Self {
        Self {
            shape,
            data: TensorData::I8(data),
        }
    }
    pub fn i32(shape: Vec<usize>, data: Vec<i32>) -> Self {
        Self {
            shape,
            data: TensorData::I32(data),
        }
    }
    pub fn dtype_name(&self) -> &'static str {
        match self.data {
            TensorData::I8(_) => "I8",
            TensorData::I32(_) => "I32",
        }
    }
}

/// Decode a safetensors file. Only I8 and I32 tensors are accepted.
pub fn read(path: &Path, bytes: &[u8]) -> Result<BTreeMap<String, Tensor>, ModelError> {
    let st = SafeTensors::deserialize(bytes).map_err(|e| ModelError::Safetensors {
        path: path.into(),
        message: format!("{e} (is the file truncated, or not a safetensors file?)"),
    })?;
    let mut out = BTreeMap::new();
    for (name, view) in st.tensors() {
        let shape = view.shape().to_vec();
        let raw = view.data();
        let data = match view.dtype() {
            Dtype::I8 => TensorData::I8(raw.iter().map(|&b| b as i8).collect()),
            Dtype::I32 => TensorData::I32(
                raw.chunks_exact(4)
                    .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                    .collect(),
            ),
            other => {
                return Err(ModelError::tensor(
                    &name,
                    format!(
                        "has dtype {other:?}; spikeslice models hold integers only: I8 weights, I32 biases, thresholds and v_init"
                    ),
                ))
            }
        };
        out.insert(name, Tensor { shape, data });
    }
    Ok(out)
}

/// Encode tensors as a safetensors file.
pub fn write(tensors: &BTreeMap<String, Tensor>) -> Result<Vec<u8>, ModelError> {
    let bytes: Vec<(String, Dtype, Vec<usize>, Vec<u8>)> = tensors
        .iter()
        .map(|(name, t)| match &t.data {
            TensorData::I8(d) => (
                name.clone(),
                Dtype::I8,
                t.shape.clone(),
                d.iter().map(|&v| v as u8).collect(),
            ),
            TensorData::I32(d) => (
                name.clone(),
                Dtype::I32,
                t.shape.clone(),
                d.iter().flat_map(|v| v.to_le_bytes()).collect(),
            ),
        })
        .collect();
    let mut views = Vec::with_capacity(bytes.len());
    for (name, dtype, shape, data) in &bytes {
        let view = TensorView::new(*dtype, shape.clone(), data)
            .map_err(|e| ModelError::tensor(name, format!("cannot be encoded: {e}")))?;
        views.push((name.clone(), view));
    }
    let mut meta = std::collections::HashMap::new();
    meta.insert("format".to_string(), super::FORMAT.to_string());
    safetensors::serialize(views, &Some(meta))
        .map_err(|e| ModelError::Model(format!("cannot encode the weights: {e}")))
}
