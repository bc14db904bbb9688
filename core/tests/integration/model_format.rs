//! The model format (docs/model-format.md): round trips, and a clear error for
//! every malformed input.

use proptest::prelude::*;
use spikeslice_core::golden::{self, Engine};
use spikeslice_core::model::{Model, ModelError, Tensor, TensorData};
use spikeslice_core::random::{self, Architecture};
use std::path::Path;

fn save(model: &Model, dir: &Path) -> std::path::PathBuf {
    let path = dir.join("model.json");
    model.save(&path).unwrap();
    path
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn save_load_round_trip(seed in any::<u64>(), conv in any::<bool>()) {
        let mut rng = random::rng(seed);
        let arch = if conv { Architecture::Conv } else { Architecture::Mlp };
        let model = random::model(&mut rng, arch);
        let dir = tempfile::tempdir().unwrap();
        let loaded = Model::load(save(&model, dir.path())).unwrap();
        prop_assert_eq!(&loaded, &model);
        let x = random::spikes(&mut rng, model.input_len(), model.spec.input.bits.get(), 0.5);
        prop_assert_eq!(
            golden::run_sample(&loaded, &x, Engine::Packed),
            golden::run_sample(&model, &x, Engine::Packed)
        );
    }
}

/// A saved random MLP with its JSON as a value, for corrupting.
fn fixture() -> (tempfile::TempDir, std::path::PathBuf, Model) {
    let mut rng = random::rng(42);
    let model = loop {
        let m = random::model(&mut rng, Architecture::Mlp);
        if m.spec.layers.len() >= 2 {
            break m;
        }
    };
    let dir = tempfile::tempdir().unwrap();
    let path = save(&model, dir.path());
    (dir, path, model)
}

fn edit_json(path: &Path, f: impl FnOnce(&mut serde_json::Value)) {
    let mut v: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    f(&mut v);
    std::fs::write(path, serde_json::to_vec(&v).unwrap()).unwrap();
}

fn load_err(path: &Path) -> String {
    match Model::load(path) {
        Ok(_) => panic!("the malformed model loaded"),
        Err(e) => e.to_string(),
    }
}

/// The model at `path` does not load, and the error says all of `needles`.
fn refused(path: &Path, needles: &[&str]) {
    let e = load_err(path);
    for n in needles {
        assert!(e.contains(n), "{n:?} not in: {e}");
    }
}

fn with_tensors(
    model: &Model,
    path: &Path,
    f: impl FnOnce(&mut std::collections::BTreeMap<String, Tensor>),
) {
    let mut tensors = model.tensors.clone();
    f(&mut tensors);
    // Write through a model that skips validation: encode the tensors directly.
    let mut m = model.clone();
    m.tensors = tensors;
    m.save(path).unwrap();
}

/// Rewrites the first layer's tensor `{layer}.{suffix}` with `f`; returns the
/// layer's name.
fn edit_first_tensor(
    model: &Model,
    path: &Path,
    suffix: &str,
    f: impl FnOnce(&mut Tensor),
) -> String {
    let first = model.spec.layers[0].name().to_string();
    with_tensors(model, path, |t| {
        f(t.get_mut(&format!("{first}.{suffix}")).unwrap())
    });
    first
}

#[test]
fn not_json() {
    let (_d, path, _) = fixture();
    std::fs::write(&path, b"{ this is not json").unwrap();
    refused(&path, &["model.json", "not a valid model spec"]);
}

#[test]
fn wrong_format_and_unknown_version() {
    let (_d, path, _) = fixture();
    edit_json(&path, |v| v["format"] = "onnx".into());
    refused(&path, &["\"onnx\"", "spikeslice-model"]);
    edit_json(&path, |v| {
        v["format"] = "spikeslice-model".into();
        v["version"] = 99.into();
    });
    refused(&path, &["version 99", "reads version 1"]);
}

#[test]
fn unknown_fields_are_rejected() {
    let (_d, path, _) = fixture();
    edit_json(&path, |v| v["layers"][0]["dropout"] = 0.5.into());
    refused(&path, &["dropout"]);
    let (_d, path, _) = fixture();
    edit_json(&path, |v| v["colour"] = "red".into());
    refused(&path, &["colour"]);
}

#[test]
fn bits_out_of_range() {
    let (_d, path, _) = fixture();
    edit_json(&path, |v| v["layers"][0]["weight_bits"] = 9.into());
    refused(&path, &["b_w = 9", "1..=8"]);
    let (_d, path, _) = fixture();
    edit_json(&path, |v| v["layers"][0]["neuron"]["spike_bits"] = 0.into());
    refused(&path, &["b_s = 0"]);
    let (_d, path, _) = fixture();
    edit_json(&path, |v| v["timesteps"] = 65.into());
    refused(&path, &["T = 65"]);
}

#[test]
fn weight_outside_its_range_names_layer_and_index() {
    let (_d, path, model) = fixture();
    let bits = model.layers[0].weight_bits;
    let outside = if bits.get() == 1 {
        0
    } else {
        bits.max_weight() as i8 + 1
    };
    let first = edit_first_tensor(&model, &path, "weight", |w| {
        if let TensorData::I8(d) = &mut w.data {
            d[0] = outside;
        }
    });
    refused(&path, &[&format!("layer {first}"), "weight[0][0]"]);
}

#[test]
fn missing_extra_misshapen_and_mistyped_tensors() {
    let (_d, path, model) = fixture();
    let first = model.spec.layers[0].name().to_string();
    with_tensors(&model, &path, |t| {
        t.remove(&format!("{first}.bias"));
    });
    refused(&path, &[&format!("{first}.bias"), "missing"]);

    with_tensors(&model, &path, |t| {
        t.insert("ghost.weight".into(), Tensor::i8(vec![1], vec![1]));
    });
    refused(&path, &["ghost.weight", "belongs to no layer"]);

    edit_first_tensor(&model, &path, "bias", |b| b.shape.push(1));
    refused(&path, &[&format!("{first}.bias"), "shape"]);

    edit_first_tensor(&model, &path, "bias", |b| {
        let n = b.shape[0];
        *b = Tensor::i8(vec![n], vec![0; n]);
    });
    refused(&path, &[&format!("{first}.bias"), "expected I32"]);
}

#[test]
fn non_positive_threshold() {
    let (_d, path, model) = fixture();
    edit_first_tensor(&model, &path, "threshold", |t| {
        if let TensorData::I32(d) = &mut t.data {
            d[0] = 0;
        }
    });
    refused(&path, &["threshold[0] = 0", "positive"]);
}

#[test]
fn truncated_and_foreign_weight_files() {
    let (dir, path, _) = fixture();
    let weights = dir.path().join("random.safetensors");
    let bytes = std::fs::read(&weights).unwrap();
    std::fs::write(&weights, &bytes[..bytes.len() / 2]).unwrap();
    refused(&path, &["random.safetensors", "not a valid safetensors"]);
    std::fs::write(&weights, b"PK\x03\x04 a zip file, not tensors").unwrap();
    refused(&path, &["not a valid safetensors"]);
    std::fs::remove_file(&weights).unwrap();
    refused(&path, &["cannot read", "random.safetensors"]);
}

#[test]
fn float_tensors_are_refused() {
    use safetensors::tensor::{Dtype, TensorView};
    let (dir, path, _) = fixture();
    let data = 1.0f32.to_le_bytes();
    let view = TensorView::new(Dtype::F32, vec![1], &data).unwrap();
    let bytes = safetensors::serialize(vec![("x.weight", view)], &None).unwrap();
    std::fs::write(dir.path().join("random.safetensors"), bytes).unwrap();
    refused(&path, &["x.weight", "F32", "integers only"]);
}

#[test]
fn structural_errors() {
    // Dense directly after a [C, H, W] input, readout not last, duplicate names.
    let (_d, path, _) = fixture();
    edit_json(&path, |v| {
        v["input"]["shape"] = serde_json::json!([1, 2, v["input"]["shape"][0]])
    });
    refused(&path, &["flat input", "flatten"]);

    let (_d, path, _) = fixture();
    edit_json(&path, |v| {
        let layers = v["layers"].as_array_mut().unwrap();
        let last = layers.pop().unwrap();
        layers.insert(0, last);
    });
    refused(&path, &["readout must be the last layer"]);

    let (_d, path, _) = fixture();
    edit_json(&path, |v| {
        let name = v["layers"][0]["name"].clone();
        v["layers"][1]["name"] = name;
    });
    refused(&path, &["used by another layer"]);
}

#[test]
fn conv_geometry_errors() {
    let mut rng = random::rng(3);
    let model = loop {
        let m = random::model(&mut rng, Architecture::Conv);
        if matches!(
            m.spec.layers[0],
            spikeslice_core::model::LayerSpec::Conv2d { .. }
        ) {
            break m;
        }
    };
    let dir = tempfile::tempdir().unwrap();
    let path = save(&model, dir.path());
    edit_json(&path, |v| {
        v["layers"][0]["stride"] = serde_json::json!([0, 1])
    });
    refused(&path, &["stride", "at least 1"]);
    let path = save(&model, dir.path());
    edit_json(&path, |v| {
        v["layers"][0]["kernel"] = serde_json::json!([50, 50])
    });
    refused(&path, &["kernel [50, 50]"]);
}

#[test]
fn errors_are_typed() {
    let (_d, path, _) = fixture();
    edit_json(&path, |v| v["version"] = 2.into());
    assert!(matches!(
        Model::load(&path),
        Err(ModelError::Version { found: 2, .. })
    ));
}

#[test]
fn a_key_given_twice_is_refused_by_name() {
    let (_d, path, _) = fixture();
    let text = std::fs::read_to_string(&path).unwrap();
    let twice = text.replacen("\"timesteps\":", "\"timesteps\": 3, \"timesteps\":", 1);
    assert_ne!(text, twice);
    std::fs::write(&path, twice).unwrap();
    refused(&path, &["`timesteps`", "twice"]);
}

#[test]
fn a_wrong_value_names_its_layer_and_field() {
    let (_d, path, model) = fixture();
    let name = model.spec.layers[1].name().to_string();
    edit_json(&path, |v| {
        v["layers"][1]["outputs"] = serde_json::json!([2, 2])
    });
    let e = load_err(&path);
    assert!(
        e.contains(&format!("layer 1 ({name}), field `outputs`")) && e.contains("sequence"),
        "{e}"
    );
    let (_d, path, _) = fixture();
    edit_json(&path, |v| v["input"]["bits"] = 9.into());
    let e = load_err(&path);
    assert!(
        e.contains("input, field `bits`: input bits = 9") && !e.contains("spike bits"),
        "{e}"
    );
}

#[test]
fn a_failed_save_keeps_the_previous_model() {
    let (d, path, model) = fixture();
    let before = std::fs::read(&path).unwrap();
    // The weights cannot take their name (a directory is in the way): the
    // spec is not replaced either, and no temporary file is left.
    let weights = d.path().join(&model.spec.weights);
    std::fs::remove_file(&weights).unwrap();
    std::fs::create_dir(&weights).unwrap();
    std::fs::write(weights.join("keep"), "x").unwrap();
    assert!(model.save(&path).is_err());
    assert_eq!(std::fs::read(&path).unwrap(), before);
    let mut names: Vec<_> = std::fs::read_dir(d.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    let mut want = vec!["model.json".to_string(), model.spec.weights.clone()];
    want.sort();
    assert_eq!(names, want);
}
