//! `spikeslice import --nir` on the command line: a NIR graph becomes a model
//! that `run` takes, evaluated on `--data` in its input shape; refusals name
//! the flag or the node and exit with 2 (command line) or 1 (the file).

use crate::common;

use common::*;
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../train/tests/fixtures/nir")
        .join(format!("{name}.nir"))
        .display()
        .to_string()
}

/// `import --nir FIXTURE --alloc 4/1/4 --input-bits 2 --data DATA --out OUT`.
fn import(name: &str, data: &str, out: &str) -> std::process::Output {
    spikeslice(&[
        "import",
        "--nir",
        &fixture(name),
        "--alloc",
        "4/1/4",
        "--input-bits",
        "2",
        "--data",
        data,
        "--out",
        out,
    ])
}

/// 60 samples of the mlp-if fixture's 16 two-bit inputs, label last.
fn data_csv(dir: &Path) -> PathBuf {
    let mut text = String::new();
    let mut x = 7u32;
    for i in 0..60 {
        let row: Vec<String> = (0..16)
            .map(|_| {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                ((x >> 16) % 4).to_string()
            })
            .collect();
        text += &format!("{},{}\n", row.join(","), i % 5);
    }
    let p = dir.join("data.csv");
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn a_nir_graph_imports_evaluates_and_runs() {
    let dir = tempfile::tempdir().unwrap();
    let data = data_csv(dir.path());
    let out = dir.path().join("m.json");
    let (data, out_s) = (data.to_str().unwrap(), out.to_str().unwrap());
    let o = import("mlp-if", data, out_s);
    let (so, se) = (stdout(&o), stderr(&o));
    assert!(o.status.success(), "{se}");
    assert!(
        so.contains("imported") && so.contains("(NIR 1.0.8) at 4/1/4"),
        "{so}"
    );
    assert!(so.contains("dense affine, readout affine_1"), "{so}");
    assert!(so.contains("accuracy on 10 test samples"), "{so}");
    assert!(se.contains("imported as the readout"), "{se}");
    assert!(dir.path().join("m.safetensors").is_file());
    let o = spikeslice(&[
        "run",
        "--model",
        out_s,
        "--data",
        data,
        "--backend",
        "golden",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("model fixture") || stdout(&o).contains("model m"),
        "{}",
        stdout(&o)
    );
    // The default --data (784-value digits) is not the network's input: the
    // model is written, and the status says why there is no accuracy.
    let o = spikeslice(&[
        "import",
        "--nir",
        &fixture("mlp-if"),
        "--input-bits",
        "2",
        "--out",
        out_s,
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("no accuracy: --data mnist-5k has 784"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn nir_refusals_name_the_flag_or_the_node() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("m.json");
    let out = out.to_str().unwrap();
    let (recurrent, cubalif, mlp) = (fixture("recurrent"), fixture("cubalif"), fixture("mlp-if"));
    let cases: [(Vec<&str>, i32, &str); 5] = [
        (
            vec!["--nir", &recurrent],
            1,
            "cycle through lif -> rec -> lif",
        ),
        (vec!["--nir", &cubalif], 1, "node cubalif (CubaLIF)"),
        (
            vec!["--nir", &mlp, "--float-epochs", "2"],
            2,
            "--float-epochs does not apply to --nir",
        ),
        (
            vec!["--weights", "w.safetensors", "--dt", "0.002"],
            2,
            "--dt applies to --nir only",
        ),
        (
            vec!["--nir", "no-such.nir"],
            2,
            "--nir no-such.nir: no such file",
        ),
    ];
    for (args, code, needle) in cases {
        let args = [&["import", "--out", out][..], &args].concat();
        let o = spikeslice(&args);
        let e = stderr(&o);
        assert_eq!(o.status.code(), Some(code), "{args:?}: {e}");
        assert!(
            e.contains(needle) && !e.contains("panicked"),
            "{args:?}: {e}"
        );
        assert!(!Path::new(out).exists(), "{args:?} wrote {out}");
    }
}

/// A residual NIR block imports and is evaluated in the golden model on
/// `--data`; `budget` takes the model, and `run` compiles it (its shortcut
/// onto a concatenation) and reports the accuracy `import` measured.
#[test]
fn a_residual_nir_graph_imports_and_runs() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::new();
    for i in 0..20u32 {
        let row: Vec<String> = (0..8).map(|k| ((i * 7 + k * 3) % 4).to_string()).collect();
        text += &format!("{},{}\n", row.join(","), i % 3);
    }
    let data = dir.path().join("data.csv");
    std::fs::write(&data, text).unwrap();
    let out = dir.path().join("res.json");
    let (data, out_s) = (data.to_str().unwrap(), out.to_str().unwrap());
    let o = import("resnet-spiking", data, out_s);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("accuracy on"), "{}", stdout(&o));
    let imported = stdout(&o);
    let o = spikeslice(&["budget", "--model", out_s, "--data", data]);
    assert!(o.status.success(), "{}", stderr(&o));
    let accuracy = |text: &str| {
        let at = text.find("accuracy").expect("an accuracy");
        let pct = text[at..].find('%').expect("a percentage") + at;
        let start = text[..pct].rfind(' ').unwrap() + 1;
        text[start..pct].to_string()
    };
    let imported = accuracy(&imported);
    let o = spikeslice(&["run", "--model", out_s, "--data", data]);
    assert!(o.status.success(), "{}", stderr(&o));
    let ran = stdout(&o);
    assert!(
        ran.contains(&format!("{imported}%")),
        "import {imported}%, run:\n{ran}"
    );
}
