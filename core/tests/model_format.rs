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

#[test]
fn not_json() {
    let (_d, path, _) = fixture();
    std::fs::write(&path, b"{ this is not json").unwrap();
    let e = load_err(&path);
    assert!(
        e.contains("model.json") && e.contains("not a valid model spec"),
        "{e}"
    );
}

#[test]
fn wrong_format_and_unknown_version() {
    let (_d, path, _) = fixture();
    edit_json(&path, |v| v["format"] = "onnx".into());
    let e = load_err(&path);
    assert!(
        e.contains("\"onnx\"") && e.contains("spikeslice-model"),
        "{e}"
    );
    edit_json(&path, |v| {
        v["format"] = "spikeslice-model".into();
        v["version"] = 99.into();
    });
    let e = load_err(&path);
    assert!(
        e.contains("version 99") && e.contains("reads version 1"),
        "{e}"
    );
}

#[test]
fn unknown_fields_are_rejected() {
    let (_d, path, _) = fixture();
    edit_json(&path, |v| v["layers"][0]["dropout"] = 0.5.into());
    let e = load_err(&path);
    assert!(e.contains("dropout"), "{e}");
    let (_d, path, _) = fixture();
    edit_json(&path, |v| v["colour"] = "red".into());
    let e = load_err(&path);
    assert!(e.contains("colour"), "{e}");
}

#[test]
fn bits_out_of_range() {
    let (_d, path, _) = fixture();
    edit_json(&path, |v| v["layers"][0]["weight_bits"] = 9.into());
    let e = load_err(&path);
    assert!(e.contains("b_w = 9") && e.contains("1..=8"), "{e}");
    let (_d, path, _) = fixture();
    edit_json(&path, |v| v["layers"][0]["neuron"]["spike_bits"] = 0.into());
    let e = load_err(&path);
    assert!(e.contains("b_s = 0"), "{e}");
    let (_d, path, _) = fixture();
    edit_json(&path, |v| v["timesteps"] = 65.into());
    let e = load_err(&path);
    assert!(e.contains("T = 65"), "{e}");
}

#[test]
fn weight_outside_its_range_names_layer_and_index() {
    let (_d, path, model) = fixture();
    let first = model.spec.layers[0].name().to_string();
    let bits = model.layers[0].weight_bits;
    with_tensors(&model, &path, |t| {
        let w = t.get_mut(&format!("{first}.weight")).unwrap();
        if let TensorData::I8(d) = &mut w.data {
            d[0] = if bits.get() == 1 {
                0
            } else {
                bits.max_weight() as i8 + 1
            };
        }
    });
    let e = load_err(&path);
    assert!(
        e.contains(&format!("layer {first}")) && e.contains("weight[0][0]"),
        "{e}"
    );
}

#[test]
fn missing_extra_misshapen_and_mistyped_tensors() {
    let (_d, path, model) = fixture();
    let first = model.spec.layers[0].name().to_string();
    with_tensors(&model, &path, |t| {
        t.remove(&format!("{first}.bias"));
    });
    let e = load_err(&path);
    assert!(
        e.contains(&format!("{first}.bias")) && e.contains("missing"),
        "{e}"
    );

    with_tensors(&model, &path, |t| {
        t.insert("ghost.weight".into(), Tensor::i8(vec![1], vec![1]));
    });
    let e = load_err(&path);
    assert!(
        e.contains("ghost.weight") && e.contains("belongs to no layer"),
        "{e}"
    );

    with_tensors(&model, &path, |t| {
        let b = t.get_mut(&format!("{first}.bias")).unwrap();
        b.shape.push(1);
    });
    let e = load_err(&path);
    assert!(
        e.contains(&format!("{first}.bias")) && e.contains("shape"),
        "{e}"
    );

    with_tensors(&model, &path, |t| {
        let b = t.get(&format!("{first}.bias")).unwrap().clone();
        let n = b.shape[0];
        t.insert(format!("{first}.bias"), Tensor::i8(vec![n], vec![0; n]));
    });
    let e = load_err(&path);
    assert!(
        e.contains(&format!("{first}.bias")) && e.contains("expected I32"),
        "{e}"
    );
}

#[test]
fn non_positive_threshold() {
    let (_d, path, model) = fixture();
    let first = model.spec.layers[0].name().to_string();
    with_tensors(&model, &path, |t| {
        if let TensorData::I32(d) = &mut t.get_mut(&format!("{first}.threshold")).unwrap().data {
            d[0] = 0;
        }
    });
    let e = load_err(&path);
    assert!(
        e.contains("threshold[0] = 0") && e.contains("positive"),
        "{e}"
    );
}

#[test]
fn truncated_and_foreign_weight_files() {
    let (dir, path, _) = fixture();
    let weights = dir.path().join("random.safetensors");
    let bytes = std::fs::read(&weights).unwrap();
    std::fs::write(&weights, &bytes[..bytes.len() / 2]).unwrap();
    let e = load_err(&path);
    assert!(
        e.contains("random.safetensors") && e.contains("not a valid safetensors"),
        "{e}"
    );
    std::fs::write(&weights, b"PK\x03\x04 a zip file, not tensors").unwrap();
    let e = load_err(&path);
    assert!(e.contains("not a valid safetensors"), "{e}");
    std::fs::remove_file(&weights).unwrap();
    let e = load_err(&path);
    assert!(
        e.contains("cannot read") && e.contains("random.safetensors"),
        "{e}"
    );
}

#[test]
fn float_tensors_are_refused() {
    use safetensors::tensor::{Dtype, TensorView};
    let (dir, path, _) = fixture();
    let data = 1.0f32.to_le_bytes();
    let view = TensorView::new(Dtype::F32, vec![1], &data).unwrap();
    let bytes = safetensors::serialize(vec![("x.weight", view)], &None).unwrap();
    std::fs::write(dir.path().join("random.safetensors"), bytes).unwrap();
    let e = load_err(&path);
    assert!(
        e.contains("x.weight") && e.contains("F32") && e.contains("integers only"),
        "{e}"
    );
}

#[test]
fn structural_errors() {
    // Dense directly after a [C, H, W] input, readout not last, duplicate names.
    let (_d, path, _) = fixture();
    edit_json(&path, |v| {
        v["input"]["shape"] = serde_json::json!([1, 2, v["input"]["shape"][0]])
    });
    let e = load_err(&path);
    assert!(e.contains("flat input") && e.contains("flatten"), "{e}");

    let (_d, path, _) = fixture();
    edit_json(&path, |v| {
        let layers = v["layers"].as_array_mut().unwrap();
        let last = layers.pop().unwrap();
        layers.insert(0, last);
    });
    let e = load_err(&path);
    assert!(e.contains("readout must be the last layer"), "{e}");

    let (_d, path, _) = fixture();
    edit_json(&path, |v| {
        let name = v["layers"][0]["name"].clone();
        v["layers"][1]["name"] = name;
    });
    let e = load_err(&path);
    assert!(e.contains("used by another layer"), "{e}");
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
    let e = load_err(&path);
    assert!(e.contains("stride") && e.contains("at least 1"), "{e}");
    let path = save(&model, dir.path());
    edit_json(&path, |v| {
        v["layers"][0]["kernel"] = serde_json::json!([50, 50])
    });
    let e = load_err(&path);
    assert!(e.contains("kernel [50, 50]"), "{e}");
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
    let e = load_err(&path);
    assert!(e.contains("`timesteps`") && e.contains("twice"), "{e}");
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
