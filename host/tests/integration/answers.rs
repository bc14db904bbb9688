//! Answers that point at what to change: exit statuses that mean something,
//! `--limit 0` and flags that do nothing refused, model specs with a key twice
//! or a wrong field named by layer and field, NaN weights refused by name, and
//! help that says what the command does.

use crate::common;

use common::*;
use std::path::Path;

/// Fails with `code` and a one-line error containing every needle.
fn refused(args: &[&str], code: i32, needles: &[&str]) {
    let o = spikeslice(args);
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(code), "{args:?}: {e}");
    assert!(
        e.starts_with("error: ") && !e.contains("panicked"),
        "{args:?}: {e}"
    );
    assert_eq!(e.trim_end().lines().count(), 1, "{args:?}: one line: {e}");
    for n in needles {
        assert!(e.contains(n), "{args:?}: expected {n:?} in {e}");
    }
}

#[test]
fn limit_zero_and_flags_that_would_do_nothing_are_usage_errors() {
    let m = repo_model("mnist-mlp.json");
    for cmd in ["infer", "run"] {
        refused(
            &[cmd, "--model", &m, "--data", "mnist-5k", "--limit", "0"],
            2,
            &["--limit 0"],
        );
    }
    refused(
        &[
            "budget", "--model", &m, "--data", "mnist-5k", "--limit", "0",
        ],
        2,
        &["--limit 0"],
    );
    refused(
        &["budget", "--model", &m, "--limit", "5"],
        2,
        &["--limit", "--data"],
    );
    refused(
        &["train", "--out", "m.json", "--test-limit", "0"],
        2,
        &["--test-limit 0"],
    );
    for (flag, value) in [
        ("--port", "/dev/ttyUSB1"),
        ("--tcp", "127.0.0.1:1"),
        ("--baud", "9600"),
    ] {
        refused(
            &["run", "--model", &m, flag, value],
            2,
            &[flag, "--backend board"],
        );
        refused(
            &["infer", "--model", &m, "--data", "mnist-5k", flag, value],
            2,
            &[flag, "--backend board"],
        );
    }
    refused(
        &[
            "run",
            "--model",
            &m,
            "--backend",
            "board",
            "--tcp",
            "127.0.0.1:1",
            "--baud",
            "9600",
        ],
        2,
        &["--baud", "--tcp"],
    );
    refused(
        &["sweep", "--backend", "sim", "--verify-sim", "3"],
        2,
        &["--verify-sim 3", "--backend sim"],
    );
    // The accelerator's limits are the same for every command that takes them.
    for cmd in [
        vec!["run", "--model", &m],
        vec!["infer", "--model", &m, "--data", "mnist-5k"],
        vec!["gen-rtl", "--out", "never-written"],
    ] {
        for (flag, value) in [
            ("--wbuf-bytes", "1000000000000"),
            ("--abuf-bytes", "4294967296"),
        ] {
            let mut args = cmd.clone();
            args.extend_from_slice(&[flag, value]);
            refused(&args, 2, &[flag, value]);
        }
    }
    // The core-only options: not with --shell, and the halves need even rows.
    for flag in ["--fanin-halves", "--param-prefetch"] {
        refused(
            &["gen-rtl", "--shell", flag, "--out", "never-written"],
            2,
            &[flag, "--shell"],
        );
    }
    refused(
        &[
            "gen-rtl",
            "--rows",
            "3",
            "--fanin-halves",
            "--out",
            "never-written",
        ],
        2,
        &["--rows", "even"],
    );
    assert!(!Path::new("never-written").exists());
    refused(
        &["run", "--model", &m, "--idle-seconds", "1"],
        2,
        &["--idle-seconds", "--backend board"],
    );
    refused(
        &import_args("w.safetensors", "m.json", &["--float-epochs", "3"]),
        2,
        &["--float-epochs", "import"],
    );
}

#[test]
fn exit_statuses_are_documented_and_distinct() {
    let o = spikeslice(&["--help"]);
    assert!(o.status.success());
    let help = stdout(&o);
    for s in [
        "Exit status",
        "0 success",
        "1 the command failed",
        "2 a wrong command line",
        "3 sweep",
        "141",
    ] {
        assert!(help.contains(s), "--help lacks {s:?}:\n{help}");
    }
    // 2: clap's own checks and ours alike; 1: a command that fails.
    assert_eq!(
        spikeslice(&["infer", "--no-such-flag"]).status.code(),
        Some(2)
    );
    assert_eq!(
        spikeslice(&[
            "run",
            "--model",
            &repo_model("mnist-mlp.json"),
            "--clock-mhz",
            "0"
        ])
        .status
        .code(),
        Some(2)
    );
    refused(
        &[
            "infer",
            "--model",
            "/no/such/model.json",
            "--data",
            "mnist-5k",
        ],
        1,
        &["/no/such/model.json"],
    );
}

/// Write a copy of the example model with its spec text changed.
fn edited_model(dir: &Path, edit: impl FnOnce(String) -> String) -> String {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../models");
    std::fs::copy(
        src.join("mnist-mlp.safetensors"),
        dir.join("mnist-mlp.safetensors"),
    )
    .unwrap();
    let text = std::fs::read_to_string(src.join("mnist-mlp.json")).unwrap();
    let p = dir.join("m.json");
    std::fs::write(&p, edit(text)).unwrap();
    p.display().to_string()
}

#[test]
fn model_specs_name_the_key_layer_and_field_to_fix() {
    let dir = tempfile::tempdir().unwrap();
    // A key given twice.
    let m = edited_model(dir.path(), |t| {
        t.replace(
            "\"outputs\": 64,",
            "\"outputs\": 64,\n      \"outputs\": 32,",
        )
    });
    refused(
        &["budget", "--model", &m],
        1,
        &["`outputs`", "twice", "line"],
    );
    let m = edited_model(dir.path(), |t| {
        t.replace("\"timesteps\": 2,", "\"timesteps\": 2, \"timesteps\": 4,")
    });
    refused(&["budget", "--model", &m], 1, &["`timesteps`", "twice"]);

    // A pool kernel given as a list: the layer and the field.
    let pool = r#"{"type": "pool", "name": "p1", "mode": "sum", "kernel": [2, 2], "stride": 2, "threshold": 1, "neuron": {"spike_bits": 1}},
    {
      "type": "readout""#;
    let m = edited_model(dir.path(), |t| {
        t.replacen("{\n      \"type\": \"readout\"", pool, 1)
    });
    refused(
        &["budget", "--model", &m],
        1,
        &["layer 1 (p1)", "field `kernel`", "sequence"],
    );

    // input.bits out of range: the input's bits, not "spike bits".
    let m = edited_model(dir.path(), |t| t.replace("\"bits\": 8", "\"bits\": 9"));
    let o = spikeslice(&["budget", "--model", &m]);
    let e = stderr(&o);
    assert!(
        e.contains("input, field `bits`") && e.contains("input bits = 9"),
        "{e}"
    );
    assert!(!e.contains("spike bits"), "{e}");
}

#[test]
fn csv_data_is_read_alike_by_infer_run_and_budget() {
    let dir = tempfile::tempdir().unwrap();
    let m = repo_model("mnist-mlp.json");
    // Unlabelled, gzipped: infer --input reads it.
    let rows = (vec!["3"; 784].join(",") + "\n").repeat(3);
    let gz = dir.path().join("x.csv.gz");
    let mut enc = gzip(rows.as_bytes());
    std::fs::write(&gz, &mut enc).unwrap();
    let o = spikeslice(&["infer", "--model", &m, "--input", gz.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("3 samples"), "{}", stdout(&o));

    // A labelled CSV of the model's width: infer, run and budget all read it.
    let labelled = dir.path().join("l.csv");
    std::fs::write(&labelled, (vec!["3"; 784].join(",") + ",7\n").repeat(4)).unwrap();
    let l = labelled.to_str().unwrap();
    for args in [
        vec!["infer", "--model", &m, "--data", l, "--split", "all"],
        vec!["run", "--model", &m, "--data", l, "--split", "all"],
        vec!["budget", "--model", &m, "--data", l, "--split", "all"],
    ] {
        let o = spikeslice(&args);
        assert!(o.status.success(), "{args:?}: {}", stderr(&o));
    }
    // The same CSV from standard input with --data -.
    for cmd in ["infer", "budget"] {
        let o = spikeslice_with_stdin(
            &[cmd, "--model", &m, "--data", "-", "--split", "all"],
            &std::fs::read(&labelled).unwrap(),
        );
        assert!(o.status.success(), "{cmd} --data -: {}", stderr(&o));
        assert!(stdout(&o).contains("4 samples"), "{cmd}: {}", stdout(&o));
    }
    // A CSV no model gives a shape to: the message names the commands that
    // read any width, not a library function.
    let odd = dir.path().join("odd.csv");
    std::fs::write(&odd, "1,2,3,0\n").unwrap();
    let o = spikeslice(&["train", "--data", odd.to_str().unwrap(), "--out", "m.json"]);
    let e = stderr(&o);
    assert!(
        !o.status.success() && e.contains("--model") && !e.contains("read_csv"),
        "{e}"
    );
}

#[test]
fn import_refuses_nan_and_infinite_weights_by_tensor() {
    let dir = tempfile::tempdir().unwrap();
    for (name, bad) in [
        ("fc1.weight", f32::NAN),
        ("out.bias", f32::INFINITY),
        ("fc1.bias", f32::NEG_INFINITY),
    ] {
        let mut t = vec![
            ("fc1.weight", vec![128, 784], vec![0.01f32; 128 * 784]),
            ("fc1.bias", vec![128], vec![0.0; 128]),
            ("out.weight", vec![10, 128], vec![0.01; 10 * 128]),
            ("out.bias", vec![10], vec![0.0; 10]),
        ];
        t.iter_mut().find(|x| x.0 == name).unwrap().2[3] = bad;
        let w = dir.path().join("w.safetensors");
        std::fs::write(&w, safetensors_f32(&t)).unwrap();
        let o = dir.path().join("m.json");
        refused(
            &import_args(
                w.to_str().unwrap(),
                o.to_str().unwrap(),
                &["--test-limit", "20"],
            ),
            1,
            &[name, "NaN or infinite", "index 3"],
        );
        assert!(!o.exists());
    }
}

#[test]
fn import_and_flash_say_what_is_wrong_with_their_files() {
    let dir = tempfile::tempdir().unwrap();
    refused(
        &import_args(
            "/no/such.safetensors",
            dir.path().join("m.json").to_str().unwrap(),
            &[],
        ),
        2,
        &["--weights /no/such.safetensors: no such file"],
    );
    let notst = dir.path().join("junk.safetensors");
    std::fs::write(&notst, "not a tensor file").unwrap();
    refused(
        &import_args(
            notst.to_str().unwrap(),
            dir.path().join("m.json").to_str().unwrap(),
            &["--test-limit", "20"],
        ),
        1,
        &["junk.safetensors is not a safetensors file"],
    );
    // A .bit whose configuration data runs past the end of the file.
    let bit = spikeslice::bitstream::Bitstream::synthetic("d", "xck26-sfvc784-2LV-c", 16).to_bit();
    let cut = dir.path().join("cut.bit");
    std::fs::write(&cut, &bit[..bit.len() - 8]).unwrap();
    let dtbo = dir.path().join("x.dtbo");
    std::fs::write(&dtbo, "x").unwrap();
    refused(
        &[
            "flash",
            cut.to_str().unwrap(),
            "--dtbo",
            dtbo.to_str().unwrap(),
            "--tcp",
            "127.0.0.1:1",
        ],
        1,
        &["cut.bit", "cut short", "incomplete"],
    );
}

#[test]
fn help_matches_behaviour() {
    let help = |cmd: &str| stdout(&spikeslice(&[cmd, "--help"]));
    let h = help("import");
    assert!(h.contains("import: 0"), "{h}");
    let h = help("budget");
    assert!(h.contains("safetensors"), "{h}");
    for cmd in [
        "infer", "run", "budget", "train", "import", "gen-rtl", "sweep", "relation",
    ] {
        let h = help(cmd);
        assert!(h.contains("--out"), "{cmd} has no --out:\n{h}");
    }
    for cmd in ["infer", "run", "budget"] {
        assert!(help(cmd).contains("`-`"), "{cmd}: --out - undocumented");
    }
}
