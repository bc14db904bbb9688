//! The `spikeslice` command line, end to end: results equal the golden model's,
//! and bad input gives an error a user can act on (never a panic).

use crate::common;

use common::*;
use spikeslice_core::golden::{self, Engine};
use spikeslice_core::model::Model;
use spikeslice_core::random::{self, Architecture};
use std::path::Path;
use std::process::{Command, Output};

/// A random model saved in `dir`, and a CSV of random samples for it.
fn fixture(dir: &Path, seed: u64, samples: usize) -> (Model, Vec<Vec<u8>>) {
    let mut rng = random::rng(seed);
    let model = random::model(&mut rng, Architecture::Conv);
    model.save(dir.join("m.json")).unwrap();
    let bits = model.spec.input.bits.get();
    let xs: Vec<Vec<u8>> = (0..samples)
        .map(|_| random::spikes(&mut rng, model.input_len(), bits, 0.5))
        .collect();
    let csv: String = xs
        .iter()
        .map(|x| {
            x.iter()
                .map(|v| v.to_string())
                .collect::<Vec<_>>()
                .join(",")
                + "\n"
        })
        .collect();
    std::fs::write(dir.join("x.csv"), csv).unwrap();
    (model, xs)
}

#[test]
fn infer_writes_the_golden_results() {
    for seed in [1u64, 2, 3] {
        let dir = tempfile::tempdir().unwrap();
        let (model, xs) = fixture(dir.path(), seed, 7);
        let d = dir.path().display();
        let o = spikeslice(&[
            "infer",
            "--model",
            &format!("{d}/m.json"),
            "--input",
            &format!("{d}/x.csv"),
            "--output",
            &format!("{d}/out.json"),
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        let report: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.path().join("out.json")).unwrap()).unwrap();
        assert_eq!(report["samples"], 7);
        for (i, x) in xs.iter().enumerate() {
            let want = golden::run_sample(&model, x, Engine::Direct);
            let got = &report["results"][i];
            let readout: Vec<i64> = serde_json::from_value(got["readout"].clone()).unwrap();
            assert_eq!(readout, want.readout, "seed {seed} sample {i}");
            assert_eq!(got["class"], want.class);
            for (l, s) in want.layers.iter().enumerate() {
                assert_eq!(got["layers"][l]["spike_sum"], s.spike_sum);
                assert_eq!(got["layers"][l]["spike_events"], s.spike_events);
            }
        }
    }
}

#[test]
fn budget_prints_the_table() {
    let dir = tempfile::tempdir().unwrap();
    let (model, _) = fixture(dir.path(), 9, 1);
    let o = spikeslice(&[
        "budget",
        "--model",
        &dir.path().join("m.json").display().to_string(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    for l in &model.layers {
        assert!(out.contains(&l.name), "{out}");
    }
    assert!(out.contains("S-ACE") && out.contains("total"), "{out}");
    let o = spikeslice(&[
        "budget",
        "--json",
        "--model",
        &dir.path().join("m.json").display().to_string(),
    ]);
    let b: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let want = spikeslice_core::budget::budget(&model, None);
    assert_eq!(b["s_ace"], want.s_ace);
}

/// A residual model's budget: the shortcut's additions are in S-ACE.
#[test]
fn budget_counts_a_residual_models_shortcuts() {
    let dir = tempfile::tempdir().unwrap();
    let model = random::residual_model(&mut random::rng(5));
    let path = dir.path().join("res.json");
    model.save(&path).unwrap();
    let o = spikeslice(&["budget", "--json", "--model", &path.display().to_string()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let b: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let want = spikeslice_core::budget::budget(&model, None);
    assert_eq!(b["s_ace"], want.s_ace);
    let adds: u64 = want.layers.iter().map(|l| l.shortcut_adds).sum();
    assert!(adds > 0);
    assert!(b["layers"]
        .as_array()
        .unwrap()
        .iter()
        .any(|l| l["shortcut_adds"].as_u64() > Some(0)));
}

/// Run a command that must fail with an error message, not a panic; returns
/// the message.
fn failure(args: &[&str]) -> String {
    failed(&spikeslice(args))
}

/// The error message of a command that must have failed (not panicked).
fn failed(o: &Output) -> String {
    assert!(!o.status.success(), "succeeded: {}", stdout(o));
    let e = stderr(o);
    assert!(e.starts_with("error: ") && !e.contains("panicked"), "{e}");
    e
}

/// `spikeslice infer --model MODEL --input INPUT`.
fn infer(model: &str, input: &Path) -> Output {
    spikeslice(&[
        "infer",
        "--model",
        model,
        "--input",
        &input.display().to_string(),
    ])
}

#[test]
fn bad_inputs_give_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let (model, _) = fixture(dir.path(), 4, 1);
    let m = dir.path().join("m.json").display().to_string();

    // A missing model file.
    let e = failure(&[
        "infer",
        "--model",
        "/no/such/model.json",
        "--data",
        "mnist-5k",
    ]);
    assert!(e.contains("/no/such/model.json"), "{e}");

    // Data that does not fit the model's input.
    let e = failure(&["infer", "--model", &m, "--data", "mnist-5k", "--limit", "3"]);
    assert!(
        e.contains("784 values per sample") && e.contains(&model.input_len().to_string()),
        "{e}"
    );

    // A CSV sample with a value too wide for the input bits.
    let wide = vec!["999"; model.input_len()].join(",");
    let wide_path = dir.path().join("wide.csv");
    std::fs::write(&wide_path, wide + "\n").unwrap();
    let e = failed(&infer(&m, &wide_path));
    assert!(e.contains("999"), "{e}");

    // An unknown dataset name.
    let e = failure(&["infer", "--model", &m, "--data", "imagenet-1k"]);
    assert!(e.contains("imagenet-1k"), "{e}");

    // A configuration no accelerator can have.
    let x = dir.path().join("x.csv").display().to_string();
    let e = failure(&["infer", "--model", &m, "--input", &x, "--rows", "0"]);
    assert!(e.contains("rows"), "{e}");
}

#[test]
fn a_csv_with_labels_reports_accuracy() {
    let dir = tempfile::tempdir().unwrap();
    let (model, xs) = fixture(dir.path(), 11, 6);
    // Label each sample with the golden class for the first half and a wrong
    // class for the rest: accuracy must come out at exactly 50%.
    let classes = model.classes();
    let csv: String = xs
        .iter()
        .enumerate()
        .map(|(i, x)| {
            let class = golden::run_sample(&model, x, Engine::Direct).class;
            let label = if i < 3 { class } else { (class + 1) % classes };
            let mut cols: Vec<String> = x.iter().map(|v| v.to_string()).collect();
            cols.push(label.to_string());
            cols.join(",") + "\n"
        })
        .collect();
    let path = dir.path().join("labelled.csv");
    std::fs::write(&path, csv).unwrap();
    let m = dir.path().join("m.json").display().to_string();
    let o = infer(&m, &path);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("accuracy: 50.00%"), "{}", stdout(&o));

    // A label that is not a class.
    let bad = xs[0]
        .iter()
        .map(|v| v.to_string())
        .collect::<Vec<_>>()
        .join(",")
        + ",99\n";
    std::fs::write(&path, bad).unwrap();
    let e = failed(&infer(&m, &path));
    assert!(e.contains("99 is not a class"), "{e}");
}

/// `verilator --lint-only -Wall` on a generated file as the docs give it, with
/// no `--top-module`. Verilator is a test dependency (scripts/test.sh installs
/// it): a missing verilator fails the test rather than skipping it.
fn lint_clean(v: &std::path::Path) {
    let lint = Command::new("verilator")
        .args(["--lint-only", "-Wall"])
        .arg(v)
        .output()
        .expect("verilator must be installed to run the tests (scripts/test.sh installs it)");
    assert!(
        lint.status.success() && lint.stderr.is_empty(),
        "verilator --lint-only -Wall {}:\n{}",
        v.display(),
        String::from_utf8_lossy(&lint.stderr)
    );
}

#[test]
fn gen_rtl_writes_lint_clean_verilog_and_a_manifest() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("rtl");
    // `gen-rtl` of the core with `flags` into `dir/name`: it succeeds, its
    // Verilog is lint clean, and its manifest's configuration is returned.
    let core = |name: &str, flags: &[&str]| -> serde_json::Value {
        let out = dir.path().join(name);
        let out_arg = out.display().to_string();
        let mut args = vec!["gen-rtl"];
        args.extend_from_slice(flags);
        args.extend_from_slice(&["--out", &out_arg]);
        let o = spikeslice(&args);
        assert!(o.status.success(), "{}", stderr(&o));
        lint_clean(&out.join("spikeslice_core.v"));
        let manifest: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
        manifest["config"].clone()
    };
    let config = core("rtl", &["--rows", "3", "--cols", "5", "--acc-bits", "20"]);
    assert_eq!(config["rows"], 3);
    assert_eq!(config["cols"], 5);
    assert_eq!(config["acc_bits"], 20);
    // With its PEs in DSP slices too: one top module, no unused ones.
    core(
        "rtl-dsp",
        &["--rows", "3", "--cols", "2", "--dsp-pes", "true"],
    );
    // The fan-in in halves and the parameter prefetch, with DSP PEs: in the
    // manifest, and lint clean too.
    let config = core(
        "rtl-halves",
        &[
            "--rows",
            "4",
            "--cols",
            "3",
            "--dsp-pes",
            "--fanin-halves",
            "--param-prefetch",
        ],
    );
    assert_eq!(config["fanin_halves"], true);
    assert_eq!(config["param_prefetch"], true);

    // A width the generator cannot build is refused with the menu.
    let o = spikeslice(&[
        "gen-rtl",
        "--rows",
        "2",
        "--cols",
        "2",
        "--acc-bits",
        "17",
        "--out",
        &out.display().to_string(),
    ]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("17") && stderr(&o).contains("24"),
        "{}",
        stderr(&o)
    );
}

/// The `run` report's JSON, from `--json`.
fn run_json(dir: &Path, extra: &[&str]) -> serde_json::Value {
    let json = dir.join("run.json");
    let model = Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/mnist-mlp.json");
    let mut args = vec![
        "run",
        "--model",
        model.to_str().unwrap(),
        "--data",
        "mnist-5k",
        "--limit",
        "4",
        "--json",
        json.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let o = spikeslice(&args);
    assert!(
        o.status.success(),
        "spikeslice run {extra:?}: {}",
        stderr(&o)
    );
    let out = stdout(&o);
    assert!(
        out.contains("accuracy:") && out.contains("fps"),
        "run {extra:?} printed no accuracy or fps: {out}"
    );
    serde_json::from_str(&std::fs::read_to_string(json).unwrap()).unwrap()
}

/// `spikeslice run` on every backend through the same command line: equal
/// accuracy and per-layer structure; cycles from the model on golden, from the
/// hardware counter on sim and board (the board: a daemon over a simulated board
/// with the Verilated shell, reached over TCP), and those two equal.
/// A board daemon over a simulated board whose accelerator is the Verilated
/// shell, serving one connection over TCP: its address, its thread and its
/// directory.
fn simulated_board() -> (String, std::thread::JoinHandle<()>, tempfile::TempDir) {
    use spikeslice_fw::board::Board;
    use spikeslice_fw::daemon::Daemon;
    use spikeslice_fw::sysfs::Root;
    let board_dir = tempfile::tempdir().unwrap();
    let root = Root(board_dir.path().to_path_buf());
    let paths = spikeslice_fw::sim::create_tree(&root, 4 << 20, "spikeslice").unwrap();
    let regs = spikeslice_fw::rtl::RtlRegisters::new(
        &root,
        spikeslice_core::accel::AcceleratorConfig::default(),
    )
    .unwrap();
    let mut daemon = Daemon::new(Board::open(Box::new(regs), paths).unwrap());
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let server = std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        stream
            .set_read_timeout(Some(std::time::Duration::from_millis(20)))
            .unwrap();
        let mut link = spikeslice_core::protocol::Link::new(stream);
        let _ = daemon.serve(&mut link);
    });
    (addr, server, board_dir)
}

/// `spikeslice run` on every backend through the same command line: equal
/// accuracy and per-layer structure; cycles from the model on golden, from the
/// hardware counter on sim and board (the board: a daemon over a simulated board
/// with the Verilated shell, reached over TCP), and those two equal.
#[test]
fn run_reports_the_same_network_on_every_backend() {
    let dir = tempfile::tempdir().unwrap();
    let golden = run_json(dir.path(), &["--backend", "golden"]);
    let sim = run_json(dir.path(), &["--backend", "sim", "--clock-mhz", "300"]);
    let (addr, server, _board) = simulated_board();
    let board = run_json(
        dir.path(),
        &["--backend", "board", "--tcp", &addr, "--idle-seconds", "0"],
    );
    server.join().unwrap();

    let acc = |v: &serde_json::Value| v["accuracy"].as_f64().unwrap();
    let perf = |v: &serde_json::Value, k: &str| v["performance"][k].clone();
    assert_eq!(acc(&golden), acc(&sim));
    assert_eq!(acc(&golden), acc(&board));
    assert_eq!(perf(&golden, "cycle_source"), "model");
    for v in [&sim, &board] {
        assert_eq!(perf(v, "cycle_source"), "measured", "{v}");
        assert_eq!(
            perf(v, "layers").as_array().unwrap().len(),
            perf(&golden, "layers").as_array().unwrap().len()
        );
    }
    // Both run the same RTL at the same DDR latency: the same cycle counter.
    assert_eq!(perf(&sim, "cycles"), perf(&board, "cycles"));
    // fps = clock / cycles: 300 MHz against the default 200.
    let fps = |v: &serde_json::Value| perf(v, "fps").as_f64().unwrap();
    let cycles = perf(&sim, "cycles").as_f64().unwrap();
    assert!((fps(&sim) - 300e6 / cycles).abs() < 1e-6 * fps(&sim));
    assert!((fps(&board) - 200e6 / cycles).abs() < 1e-6 * fps(&board));
}

/// `--batch 8` on 4 digits (one run, half of it padding) on every backend:
/// the accuracy of one digit at a time, fewer cycles per digit than alone
/// (the model's on golden, the counter's on sim and board, those two equal),
/// and a latency of the whole run.
#[test]
fn run_in_batches_on_every_backend() {
    let dir = tempfile::tempdir().unwrap();
    let alone = run_json(dir.path(), &["--backend", "golden"]);
    let batch = ["--batch", "8"];
    let golden = run_json(dir.path(), &[&batch[..], &["--backend", "golden"]].concat());
    let sim = run_json(dir.path(), &[&batch[..], &["--backend", "sim"]].concat());
    let (addr, server, _board) = simulated_board();
    let tcp = ["--backend", "board", "--tcp", &addr, "--idle-seconds", "0"];
    let board = run_json(dir.path(), &[&batch[..], &tcp[..]].concat());
    server.join().unwrap();
    let perf = |v: &serde_json::Value, k: &str| v["performance"][k].as_f64().unwrap();
    for v in [&golden, &sim, &board] {
        assert_eq!(v["accuracy"], alone["accuracy"]);
        assert_eq!(perf(v, "batch"), 8.0);
        assert!(perf(v, "cycles") < perf(&alone, "cycles"), "{v}");
        let run = 8.0 * perf(v, "cycles") / perf(v, "clock_hz");
        assert!((perf(v, "latency_s") - run).abs() < 1e-9, "{v}");
    }
    assert_eq!(perf(&sim, "cycles"), perf(&board, "cycles"));
    // A batch predicted slower than none is named, with the cycles of one
    // sample a run, and why: a batched convolution reads a gather table.
    let cnn = repo_model("mnist-cnn.json");
    let cnn_json = dir.path().join("cnn.json");
    let args = ["run", "--model", &cnn, "--limit", "2"];
    let o = spikeslice(&[&args[..], &["--json", cnn_json.to_str().unwrap()]].concat());
    assert!(o.status.success(), "{}", stderr(&o));
    let cnn_alone: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&cnn_json).unwrap()).unwrap();
    let o = spikeslice(&[&args[..], &["--batch", "2"]].concat());
    assert!(o.status.success(), "{}", stderr(&o));
    let why = format!(
        "against {} one at a time; layer(s) conv1, conv2, out read gather tables",
        perf(&cnn_alone, "cycles")
    );
    assert!(stderr(&o).contains(&why), "{why}: {}", stderr(&o));
    let o = spikeslice(&[
        "run",
        "--model",
        &repo_model("mnist-mlp.json"),
        "--batch",
        "0",
    ]);
    assert!(
        !o.status.success() && stderr(&o).contains("--batch"),
        "{}",
        stderr(&o)
    );
}

/// `--batch auto` takes the batch whose runs the cycle model predicts to take
/// the samples in the fewest cycles (a last run the samples do not fill costs
/// a whole run): the one found among the powers of two up to the samples, each
/// run on its own; a model whose batches read tables runs one sample a run,
/// and a sweep, which compares allocations at one batch, refuses it.
#[test]
fn batch_auto_takes_the_batch_that_runs_the_samples_fastest() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("run.json");
    let run = |model: &str, batch: &str| -> (serde_json::Value, String) {
        let o = spikeslice(&[
            "run",
            "--model",
            &repo_model(model),
            "--data",
            "mnist-5k",
            "--limit",
            "20",
            "--batch",
            batch,
            "--json",
            json.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "--batch {batch}: {}", stderr(&o));
        let v = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
        (v, stderr(&o))
    };
    let batch = |v: &serde_json::Value| v["performance"]["batch"].as_f64().unwrap() as u64;
    let (auto, said) = run("mnist-mlp.json", "auto");
    let total = |b: u64| {
        let (v, _) = run("mnist-mlp.json", &b.to_string());
        assert_eq!(batch(&v), b);
        assert_eq!(v["accuracy"], auto["accuracy"]);
        20u64.div_ceil(b) * b * v["performance"]["cycles"].as_f64().unwrap() as u64
    };
    let best = [1, 2, 4, 8, 16]
        .into_iter()
        .min_by_key(|&b| (total(b), b))
        .unwrap();
    assert_eq!(batch(&auto), best, "{said}");
    assert!(
        best > 1 && said.contains(&format!("runs of {best} samples")),
        "{said}"
    );
    let (cnn, said) = run("mnist-cnn.json", "auto");
    assert_eq!(batch(&cnn), 1);
    assert!(said.contains("one sample a run"), "{said}");
    let out = dir.path().join("sweep");
    let o = spikeslice(&["sweep", "--batch", "auto", "--out", out.to_str().unwrap()]);
    assert!(
        !o.status.success() && stderr(&o).contains("give --batch N") && !out.exists(),
        "{}",
        stderr(&o)
    );
}

/// `--preset` sets the whole configuration and a flag beside it overrides
/// one field: the report names the array it ran on.
#[test]
fn presets_set_the_configuration_and_flags_override_them() {
    let dir = tempfile::tempdir().unwrap();
    for (extra, array) in [
        (&[][..], "8x8"),
        (&["--preset", "kv260"][..], "4x64"),
        (&["--preset", "kv260", "--cols", "16"][..], "4x16"),
        (&["--rows", "4"][..], "4x8"),
    ] {
        let report = run_json(dir.path(), extra);
        let config = report["performance"]["config"].as_str().unwrap_or_default();
        assert!(config.starts_with(array), "{extra:?}: ran on {config}");
    }
}

#[test]
fn run_refuses_bad_arguments_with_advice() {
    let model = Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/mnist-mlp.json");
    let m = model.to_str().unwrap();
    for (args, says) in [
        (
            vec!["run", "--model", m, "--clock-mhz", "0"],
            "is not a clock frequency",
        ),
        (
            vec!["run", "--model", m, "--backend", "board"],
            "give --port or --tcp",
        ),
        (
            vec!["run", "--model", m, "--data", "no-such-set"],
            "no-such-set",
        ),
        (vec!["run", "--model", m, "--axi-data-bits", "96"], "96"),
        (vec!["run", "--model", m, "--preset", "kv26"], "kv260"),
    ] {
        let o = spikeslice(&args);
        let e = stderr(&o);
        assert!(!o.status.success(), "{args:?} succeeded");
        assert!(e.contains(says), "{args:?}: {e}");
        assert!(!e.contains("panicked"), "{args:?}: {e}");
    }
}
