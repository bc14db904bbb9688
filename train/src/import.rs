//! Import of float models trained elsewhere: PyTorch weights saved as
//! safetensors (`safetensors.torch.save_file(model.state_dict(), path)`),
//! quantized and converted by the same code path as our own training
//! (calibration, optional QAT fine-tuning, folding, width check).
//!
//! ## Layer mapping (docs/training.md)
//! The architecture is ours (`--arch mlp|cnn`, see [`crate::arch`]); the file
//! supplies its float weights. For each weighted layer (MLP: `fc1`, `out`;
//! conv net: `conv1`, `conv2`, `out`) the tensors are found
//! 1. by our names: `fc1.weight`, `fc1.bias`, ...; else
//! 2. by position: the file's `*.weight` tensors ordered by their name
//!    (numeric parts compared as numbers, so `layers.10` follows `layers.2`),
//!    each with the `*.bias` of the same prefix: `nn.Sequential(Linear, ReLU,
//!    Linear)` saves `0.weight, 0.bias, 2.weight, 2.bias`.
//!
//! Shapes must be PyTorch's: `Linear` `[out, in]`, `Conv2d` `[out, in, kH, kW]`.
//! The network must take the image scaled to `[0, 1]` (`x / (2^b_in - 1)`,
//! torchvision's `ToTensor`), flattened channel-major for the MLP, with ReLU
//! after every hidden layer and no normalization layer (fold batch norm into
//! the conv before saving). F32, F16, BF16 and F64 tensors are accepted.

use crate::data::Data;
use crate::net::Net;
use anyhow::{bail, Context, Result};
use candle_core::{DType, Tensor};
use std::collections::HashMap;
use std::path::Path;

/// Split a name into text and number runs for a natural order.
fn natural_key(s: &str) -> Vec<(String, u64)> {
    let mut out = Vec::new();
    let mut text = String::new();
    let mut num: Option<u64> = None;
    for ch in s.chars() {
        if let Some(d) = ch.to_digit(10) {
            num = Some(
                num.unwrap_or(0)
                    .saturating_mul(10)
                    .saturating_add(u64::from(d)),
            );
        } else {
            if let Some(n) = num.take() {
                out.push((std::mem::take(&mut text), n));
            }
            text.push(ch);
        }
    }
    out.push((text, num.unwrap_or(0)));
    out
}

/// Refuse a tensor with a NaN or infinite value: quantization would turn it
/// into an arbitrary integer without a word.
fn check_finite(path: &Path, name: &str, t: &Tensor) -> Result<()> {
    let values = t.flatten_all()?.to_vec1::<f32>()?;
    let bad: Vec<usize> = values
        .iter()
        .enumerate()
        .filter(|(_, v)| !v.is_finite())
        .map(|(i, _)| i)
        .collect();
    if let Some(&first) = bad.first() {
        bail!(
            "{}: tensor {name} has {} NaN or infinite value(s) (the first at flat index {first}: {}): fix or retrain the float weights before importing",
            path.display(),
            bad.len(),
            values[first]
        );
    }
    Ok(())
}

/// Read the file and map its tensors onto `net`'s layer names.
pub fn map_tensors(path: &Path, net: &Net) -> Result<HashMap<String, Tensor>> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let raw = candle_core::safetensors::load_buffer(&bytes, &candle_core::Device::Cpu)
        .with_context(|| format!("{} is not a safetensors file", path.display()))?;
    let mut file = HashMap::new();
    for (k, t) in raw {
        let t = match t.dtype() {
            DType::F32 | DType::F16 | DType::BF16 | DType::F64 => t.to_dtype(DType::F32)?,
            other => bail!(
                "tensor {k} has dtype {other:?}: import takes float weights (F32, F16, BF16, F64); an integer spikeslice model loads with --model instead"
            ),
        };
        file.insert(k, t);
    }
    let layers: Vec<_> = net.defs.iter().filter(|d| d.has_weights()).collect();
    let ours = layers
        .iter()
        .all(|d| file.contains_key(&format!("{}.weight", d.name)));
    let mut out = HashMap::new();
    if ours {
        for d in &layers {
            for part in ["weight", "bias"] {
                let k = format!("{}.{part}", d.name);
                let t = file
                    .get(&k)
                    .with_context(|| format!("{}: tensor {k} is missing", path.display()))?;
                check_finite(path, &k, t)?;
                out.insert(k, t.clone());
            }
        }
        return Ok(out);
    }
    let mut weights: Vec<&String> = file
        .keys()
        .filter(|k| k.ends_with(".weight") || *k == "weight")
        .collect();
    weights.sort_by_key(|k| natural_key(k));
    if weights.len() != layers.len() {
        bail!(
            "{}: found {} weight tensors ({}), the {} architecture has {} weighted layers ({}); name them {} or save exactly one .weight per layer",
            path.display(),
            weights.len(),
            weights.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", "),
            if layers.len() == 2 { "mlp" } else { "cnn" },
            layers.len(),
            layers.iter().map(|d| d.name.as_str()).collect::<Vec<_>>().join(", "),
            layers.iter().map(|d| format!("{}.weight", d.name)).collect::<Vec<_>>().join(", "),
        );
    }
    for (d, wk) in layers.iter().zip(weights) {
        let prefix = wk.strip_suffix("weight").unwrap_or("");
        let bk = format!("{prefix}bias");
        let w = file[wk].clone();
        if w.dims() != d.weight_shape().as_slice() {
            bail!(
                "{}: tensor {wk} (mapped to layer {}) has shape {:?}, expected {:?}",
                path.display(),
                d.name,
                w.dims(),
                d.weight_shape()
            );
        }
        check_finite(path, wk, &w)?;
        let b = match file.get(&bk) {
            Some(b) => {
                check_finite(path, &bk, b)?;
                b.clone()
            }
            // A layer saved without bias (bias=False): zero bias.
            None => Tensor::zeros(d.outputs, DType::F32, &candle_core::Device::Cpu)?,
        };
        out.insert(format!("{}.weight", d.name), w);
        out.insert(format!("{}.bias", d.name), b);
    }
    Ok(out)
}

/// A float network with the imported weights.
pub fn load_float(path: &Path, arch: &crate::arch::Arch, data: &Data, seed: u64) -> Result<Net> {
    let mut net = crate::new_net(arch, data, seed)?;
    let t = map_tensors(path, &net)?;
    net.set_tensors(&t, None)?;
    Ok(net)
}
