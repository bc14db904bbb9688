//! `spikeslice train`, `sweep`, `relation` and `import` end to end on tiny
//! configurations, and their errors on bad arguments (never a panic).

use crate::common;

use common::*;
use std::process::Output;

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// Fails with a clear message (no panic, no usage dump from a crash).
fn fails_with(args: &[&str], needle: &str) {
    let dir = tempfile::tempdir().unwrap();
    let o = spikeslice_in(args, dir.path());
    let (out, err) = text(&o);
    assert!(!o.status.success(), "{args:?} should fail:\n{out}");
    assert!(!err.contains("panicked"), "{args:?} panicked:\n{err}");
    assert!(
        err.contains(needle),
        "{args:?}: expected {needle:?} in:\n{err}"
    );
}

#[test]
fn bad_arguments_give_clear_errors() {
    // Each command line (split at spaces) and what its error must say.
    for (line, needle) in [
        ("sweep --budget 0", "no allocation meets the budget 0"),
        ("sweep --budget 67", "use --max"),
        ("sweep --budget 5000", "4096"),
        ("sweep --data nope", "cannot open dataset 'nope'"),
        ("sweep --arch rnn", "mlp, cnn, vgg"),
        ("sweep --verify-sim 0", "--verify-sim 0"),
        ("sweep --seeds 0", "--seeds 0 trains nothing"),
        ("sweep --jobs 0", "--jobs 0 runs nothing"),
        ("sweep --search --trials 0", "--trials 0 measures nothing"),
        (
            "sweep --search --budget 0",
            "no allocation meets the budget 0",
        ),
        ("sweep --search --seeds 2", "one seed"),
        ("sweep --search --layer out=8", "leave --layer"),
        ("sweep --trials 3", "--search"),
        (
            "sweep --layer fc9=4",
            "the mlp network has no layer \"fc9\": its layers are fc1, out",
        ),
        (
            "sweep --arch cnn --layer out=4/2",
            "the readout: it emits no spikes",
        ),
        ("train --layer fc1 --out m.json", "--layer fc1: malformed"),
        (
            "train --layer fc1=4 --layer fc1=2 --out m.json",
            "given twice",
        ),
        (
            "train --layers nowhere.json --out m.json",
            "--layers nowhere.json",
        ),
        ("sweep --clock-mhz 0", "is not a clock frequency"),
        ("sweep --rows 0", "rows"),
        ("train --alloc 4/2 --out m.json", "malformed allocation"),
        (
            "train --alloc 4/9/2 --out m.json",
            "b_s = 9 is out of range",
        ),
        ("train --data missing.csv --out m.json", "missing.csv"),
        ("train --calibration p200 --out m.json", "percentile"),
        (
            "import --weights nowhere.safetensors --out m.json",
            "nowhere.safetensors",
        ),
    ] {
        fails_with(&line.split(' ').collect::<Vec<_>>(), needle);
    }
}

#[test]
fn train_writes_a_model_that_infer_runs() {
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("m.json");
    let args = tiny(&["train", "--alloc", "2/2/2", "--out", m.to_str().unwrap()]);
    let o = spikeslice_in(&args, dir.path());
    let (out, err) = text(&o);
    assert!(o.status.success(), "{out}\n{err}");
    assert!(
        out.contains("float") && out.contains("SNN (golden)"),
        "{out}"
    );
    assert!(dir.path().join("m.safetensors").exists());
    let o = spikeslice_in(
        &[
            "infer",
            "--model",
            m.to_str().unwrap(),
            "--data",
            "mnist-5k",
            "--limit",
            "20",
        ],
        dir.path(),
    );
    assert!(o.status.success(), "{:?}", text(&o));
}

#[test]
fn sweep_writes_outputs_and_reuses_the_cache() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("out");
    let args = tiny(&["sweep", "--budget", "2", "--out", out_dir.to_str().unwrap()]);
    let o = spikeslice_in(&args, &dir.path().join("cache"));
    let (out, err) = text(&o);
    assert!(o.status.success(), "{out}\n{err}");
    for a in ["1/1/2", "1/2/1", "2/1/1"] {
        assert!(out.contains(a), "{a} missing:\n{out}");
    }
    assert!(
        out.contains("cycles, fps and energy: cycle and energy models of the 8x8"),
        "{out}"
    );
    let csv = std::fs::read_to_string(out_dir.join("sweep.csv")).unwrap();
    assert_eq!(csv.lines().count(), 4);
    // Every allocation has its cycles, fps and energy columns filled in.
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    for col in [
        "cycles",
        "fps",
        "energy_per_inference_j",
        "energy_per_bit_budget_j",
    ] {
        let i = header.iter().position(|h| *h == col).expect(col);
        for l in csv.lines().skip(1) {
            let v: f64 = l.split(',').nth(i).unwrap().parse().unwrap_or(-1.0);
            assert!(v > 0.0, "{col} missing in {l}");
        }
    }
    assert!(csv.lines().skip(1).all(|l| l.contains(",false,")), "{csv}");
    let o = spikeslice_in(&args, &dir.path().join("cache"));
    assert!(o.status.success());
    let csv = std::fs::read_to_string(out_dir.join("sweep.csv")).unwrap();
    assert!(
        csv.lines().skip(1).all(|l| l.contains(",true,")),
        "second run is cached:\n{csv}"
    );
    // Two seeds: the first from the cache, a row per allocation and seed in
    // the CSV, and the table gives each allocation's interval.
    let mut two = args.clone();
    two.extend(["--seeds", "2"]);
    let o = spikeslice_in(&two, &dir.path().join("cache"));
    let (out, err) = text(&o);
    assert!(o.status.success(), "{out}\n{err}");
    assert!(err.contains("seeds 1..=2"), "{err}");
    assert!(
        out.contains("SNN % (95% CI)") && out.contains(" ± "),
        "{out}"
    );
    let csv = std::fs::read_to_string(out_dir.join("sweep.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1 + 2 * 3, "{csv}");
    assert_eq!(
        csv.lines().filter(|l| l.contains(",true,")).count(),
        3,
        "{csv}"
    );
    // In batches: the same models from the cache, compiled to run 4 samples a
    // run (through the workers' spec), other cycles, the same accuracies.
    let cycles = |csv: &str| -> Vec<(String, String)> {
        let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
        let at = |c: &str| header.iter().position(|h| *h == c).unwrap();
        let (c, a) = (at("cycles"), at("snn_acc"));
        csv.lines()
            .skip(1)
            .map(|l| {
                let f: Vec<&str> = l.split(',').collect();
                (f[c].to_string(), f[a].to_string())
            })
            .collect()
    };
    spikeslice_in(&args, &dir.path().join("cache"));
    let alone = cycles(&std::fs::read_to_string(out_dir.join("sweep.csv")).unwrap());
    let mut batch = args.clone();
    batch.extend(["--batch", "4"]);
    let o = spikeslice_in(&batch, &dir.path().join("cache"));
    let (out, err) = text(&o);
    assert!(o.status.success(), "{out}\n{err}");
    assert!(out.contains("in runs of 4 samples"), "{out}");
    let batched = cycles(&std::fs::read_to_string(out_dir.join("sweep.csv")).unwrap());
    for ((c1, a1), (c4, a4)) in alone.iter().zip(&batched) {
        assert_eq!(a1, a4, "a batch changes no result");
        assert_ne!(c1, c4, "a batch changes the cycles");
    }
}

#[test]
fn a_residual_network_sweeps_without_the_allocations_its_adds_cannot_carry() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("out");
    // Three blocks: the last add emits b_s + 3 bits, so 1/6/1 cannot be built.
    let args = tiny(&[
        "sweep",
        "--arch",
        "c2s2-r2-r2-r2",
        "--budget",
        "6",
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    let o = spikeslice_in(&args, &dir.path().join("cache"));
    let (out, err) = text(&o);
    assert!(
        o.status.success(),
        "{out}
{err}"
    );
    assert!(err.contains("sweep: 8 allocation(s)"), "{err}");
    assert!(
        err.contains("skipping 1/6/1: layer add3") && err.contains("needs 9 bits"),
        "{err}"
    );
    assert!(
        out.contains("cycles, fps and energy: cycle and energy models of the 8x8"),
        "{out}"
    );
    let csv = std::fs::read_to_string(out_dir.join("sweep.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1 + 8, "{csv}");
    assert!(!csv.contains("1/6/1"), "{csv}");
    // Every row has its accuracy, budget and (the network compiles onto the
    // accelerator's concatenations) cycle columns.
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).expect(name);
    for l in csv.lines().skip(1) {
        let cells: Vec<&str> = l.split(',').collect();
        assert!(cells[col("snn_acc")].parse::<f64>().is_ok(), "{l}");
        assert!(cells[col("s_ace")].parse::<f64>().unwrap() > 0.0, "{l}");
        assert!(cells[col("cycles")].parse::<u64>().unwrap() > 0, "{l}");
    }
    // A search over the same budget skips 1/6/1 as well, rather than fail it
    // (its 8 measured allocations come from the sweep's cache).
    let search_dir = dir.path().join("search");
    let args = tiny(&[
        "sweep",
        "--search",
        "--arch",
        "c2s2-r2-r2-r2",
        "--budget",
        "6",
        "--trials",
        "8",
        "--out",
        search_dir.to_str().unwrap(),
    ]);
    let o = spikeslice_in(&args, &dir.path().join("cache"));
    let (out, err) = text(&o);
    assert!(o.status.success(), "{out}\n{err}");
    assert!(
        err.contains("skipped 1 allocation(s) within the budget"),
        "{err}"
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(search_dir.join("pareto.json")).unwrap())
            .unwrap();
    assert_eq!(report["skipped"], 1);
    let rows = report["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 8);
    assert!(
        rows.iter().all(|r| r["candidate"]["alloc"]["b_s"] != 6),
        "{rows:?}"
    );
}

#[test]
fn per_layer_widths_hold_in_every_allocation_of_a_sweep() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("out");
    let layers = dir.path().join("layers.json");
    std::fs::write(&layers, r#"{"out": {"b_w": 8}}"#).unwrap();
    let args = tiny(&[
        "sweep",
        "--budget",
        "2",
        "--layers",
        layers.to_str().unwrap(),
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    let o = spikeslice_in(&args, &dir.path().join("cache"));
    let (out, err) = text(&o);
    assert!(o.status.success(), "{out}\n{err}");
    assert!(err.contains("BB = 2, per layer out 8/*"), "{err}");
    assert!(
        out.contains("per-layer widths kept by every allocation: out 8/*"),
        "{out}"
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out_dir.join("sweep.json")).unwrap())
            .unwrap();
    assert_eq!(report["layers"]["out"]["b_w"], 8);
    // Every allocation's model: its own b_w in fc1, 8 in the readout. The
    // report names it inside the cache, not by this machine's path.
    for row in report["rows"].as_array().unwrap() {
        assert!(
            std::path::Path::new(row["model_path"].as_str().unwrap()).is_relative(),
            "{row}"
        );
        let spec: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(
                dir.path()
                    .join("cache")
                    .join(row["model_path"].as_str().unwrap()),
            )
            .unwrap(),
        )
        .unwrap();
        let widths: Vec<u64> = spec["layers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["weight_bits"].as_u64().unwrap())
            .collect();
        assert_eq!(widths, [row["alloc"]["b_w"].as_u64().unwrap(), 8], "{row}");
    }
    // A file that is not per-layer widths names the file and the form.
    std::fs::write(&layers, r#"{"out": {"bits": 8}}"#).unwrap();
    let o = spikeslice_in(&args, &dir.path().join("cache"));
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.contains("layers.json") && err.contains("unknown field `bits`"),
        "{err}"
    );
}

#[test]
fn a_search_keeps_its_budget_and_reports_the_front() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("out");
    let args = tiny(&[
        "sweep",
        "--search",
        "--budget",
        "4",
        "--trials",
        "9",
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    let o = spikeslice_in(&args, &dir.path().join("cache"));
    let (out, err) = text(&o);
    assert!(o.status.success(), "{out}\n{err}");
    assert!(
        out.contains("Pareto front of 9 measured allocation(s)"),
        "{out}"
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out_dir.join("pareto.json")).unwrap())
            .unwrap();
    let rows = report["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 9);
    // The 6 uniform allocations of BB 4 first, then neighbours of the front
    // (one width or T a step away: per-layer ones, or uniform below BB 4).
    assert!(rows[..6]
        .iter()
        .all(|r| r["candidate"].get("layers").is_none() && r["mean_bit_budget"] == 4.0));
    assert!(rows[6..]
        .iter()
        .all(|r| r["mean_bit_budget"] != 4.0 || r["candidate"].get("layers").is_some()));
    let mut front = 0;
    for r in rows {
        assert!(r["mean_bit_budget"].as_f64().unwrap() <= 4.0 + 1e-9, "{r}");
        front += usize::from(r["front"].as_bool().unwrap());
        // The model has the widths the allocation names.
        let spec: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(
                dir.path()
                    .join("cache")
                    .join(r["row"]["model_path"].as_str().unwrap()),
            )
            .unwrap(),
        )
        .unwrap();
        let c = &r["candidate"];
        let out_bw = c["layers"]["out"]["b_w"]
            .as_u64()
            .unwrap_or(c["alloc"]["b_w"].as_u64().unwrap());
        assert_eq!(spec["layers"][0]["weight_bits"], c["alloc"]["b_w"], "{r}");
        assert_eq!(
            spec["layers"][1]["weight_bits"].as_u64(),
            Some(out_bw),
            "{r}"
        );
    }
    // Nothing on the front is dominated by a measured allocation.
    let obj = |r: &serde_json::Value| {
        (
            r["row"]["snn_accuracy"].as_f64().unwrap(),
            -r["row"]["perf"]["energy_per_inference_j"].as_f64().unwrap(),
            r["row"]["perf"]["fps"].as_f64().unwrap(),
        )
    };
    for a in rows.iter().filter(|r| r["front"] == true) {
        let (x, y, z) = obj(a);
        for b in rows {
            let (u, v, w) = obj(b);
            let dominated = u >= x && v >= y && w >= z && (u > x || v > y || w > z);
            assert!(!dominated, "{a} is dominated by {b}");
        }
    }
    assert!(front >= 1);
    let csv = std::fs::read_to_string(out_dir.join("pareto.csv")).unwrap();
    assert_eq!(csv.lines().count(), 10);
}
