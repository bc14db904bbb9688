//! Where results go: a closed or full standard output ends a command without
//! a panic and without losing the files it was asked to write; every file is
//! written whole or not at all (a full disk leaves the previous file); a
//! failing command leaves no partial set; no output overwrites an input; `-`
//! is standard output; status lines go to standard error.

use crate::common;

use common::*;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// Run with standard output a pipe whose reading end is closed, so
/// that the first line the command prints fails with a broken pipe.
fn closed_stdout(args: &[&str], cache: &Path) -> Output {
    // The reading end is closed before the child starts, so its first write
    // to standard output fails however fast it gets there.
    let (reader, writer) = std::io::pipe().expect("a pipe");
    drop(reader);
    Command::new(BIN)
        .args(args)
        .env("SPIKESLICE_CACHE", cache)
        .stdin(Stdio::null())
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .expect("run spikeslice")
}

/// Run with standard output on /dev/full (every write fails with ENOSPC).
fn full_stdout(args: &[&str]) -> Output {
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .expect("/dev/full");
    Command::new(BIN)
        .args(args)
        .stdout(full)
        .output()
        .expect("run spikeslice")
}

/// Run with a disk that is full after `bytes` bytes of any one file:
/// RLIMIT_FSIZE, with SIGXFSZ ignored so that the write fails with EFBIG
/// (as a full disk fails with ENOSPC) rather than killing the process.
fn small_disk(args: &[&str], bytes: u64, cache: &Path) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.args(args).env("SPIKESLICE_CACHE", cache);
    // SAFETY: async-signal-safe calls only, between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            let lim = libc::rlimit {
                rlim_cur: bytes,
                rlim_max: bytes,
            };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    cmd.output().expect("run spikeslice")
}

/// Names in `dir`, sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|r| {
            r.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

fn no_panic(o: &Output) {
    let e = stderr(o);
    assert!(!e.contains("panicked"), "{e}");
    assert_ne!(o.status.code(), Some(101), "{e}");
}

/// `infer` of `model` on `limit` mnist-5k test samples, the report to `out`.
fn infer_mnist<'a>(model: &'a str, limit: &'a str, out: &'a str) -> Vec<&'a str> {
    vec![
        "infer", "--model", model, "--data", "mnist-5k", "--limit", limit, "--out", out,
    ]
}

#[test]
fn a_closed_stdout_ends_quietly_and_keeps_the_files() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let m = repo_model("mnist-mlp.json");
    let json = |n: &str| d.join(n).display().to_string();
    let infer_json = json("infer.json");
    for (args, files) in [
        (
            infer_mnist(&m, "30", &infer_json),
            vec![d.join("infer.json")],
        ),
        (
            vec!["budget", "--model", &m, "--out", &json("budget.json")],
            vec![d.join("budget.json")],
        ),
        (
            vec![
                "run",
                "--model",
                &m,
                "--limit",
                "3",
                "--out",
                &json("run.json"),
            ],
            vec![d.join("run.json")],
        ),
        (
            vec![
                "gen-rtl",
                "--rows",
                "2",
                "--cols",
                "2",
                "--out",
                &json("rtl"),
            ],
            vec![d.join("rtl/manifest.json"), d.join("rtl/spikeslice_core.v")],
        ),
    ] {
        let o = closed_stdout(&args, d);
        no_panic(&o);
        assert_eq!(o.status.code(), Some(141), "{args:?}: {}", stderr(&o));
        assert!(!stderr(&o).contains("error"), "{args:?}: {}", stderr(&o));
        for f in files {
            let bytes = std::fs::read(&f).unwrap_or_else(|e| panic!("{args:?}: {f:?}: {e}"));
            if f.extension().is_some_and(|e| e == "json") {
                serde_json::from_slice::<serde_json::Value>(&bytes).expect("whole JSON");
            }
        }
    }
}

#[test]
fn a_closed_stdout_during_training_commands_keeps_their_files() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let sweep_out = dir.path().join("sweep");
    let rel_out = dir.path().join("relation");
    let m = dir.path().join("m.json");
    let (sweep, rel) = (sweep_out.to_str().unwrap(), rel_out.to_str().unwrap());
    for (args, files) in [
        (
            vec!["sweep", "--budget", "1", "--out", sweep],
            vec![sweep_out.join("sweep.csv"), sweep_out.join("sweep.json")],
        ),
        (
            vec!["relation", "--out", rel],
            vec![rel_out.join("relation.json"), rel_out.join("relation.csv")],
        ),
        (
            vec!["train", "--alloc", "1/1/1", "--out", m.to_str().unwrap()],
            vec![m.clone(), dir.path().join("m.safetensors")],
        ),
    ] {
        let args = tiny(&args);
        let o = closed_stdout(&args, &cache);
        no_panic(&o);
        assert_eq!(o.status.code(), Some(141), "{args:?}: {}", stderr(&o));
        for f in files {
            assert!(f.exists(), "{args:?}: {f:?} missing");
        }
    }
}

#[test]
fn a_full_stdout_is_an_error_not_a_panic() {
    let m = repo_model("mnist-mlp.json");
    for args in [
        vec!["infer", "--model", &m, "--data", "mnist-5k", "--limit", "3"],
        vec!["budget", "--model", &m],
        vec!["budget", "--model", &m, "--out", "-"],
        vec![
            "infer", "--model", &m, "--data", "mnist-5k", "--limit", "3", "--out", "-",
        ],
    ] {
        let o = full_stdout(&args);
        no_panic(&o);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {}", stderr(&o));
        assert!(
            stderr(&o).contains("cannot write to standard output")
                && stderr(&o).contains("No space left"),
            "{args:?}: {}",
            stderr(&o)
        );
    }
    // A device named as the output is written in place, not replaced.
    let o = spikeslice_in(
        &["budget", "--model", &m, "--out", "/dev/full"],
        Path::new("/nonexistent"),
    );
    no_panic(&o);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("/dev/full"), "{}", stderr(&o));
    use std::os::unix::fs::FileTypeExt;
    let t = std::fs::metadata("/dev/full").unwrap().file_type();
    assert!(t.is_char_device(), "/dev/full was replaced");
}

#[test]
fn a_full_disk_keeps_the_previous_file_and_leaves_no_temporary() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = d.join("out.json");
    std::fs::write(&out, "previous\n").unwrap();
    // 200 samples of readouts and spike counts: far over 16 KiB.
    let o = small_disk(
        &[
            "infer",
            "--model",
            &repo_model("mnist-mlp.json"),
            "--data",
            "mnist-5k",
            "--limit",
            "200",
            "--out",
            out.to_str().unwrap(),
        ],
        16 << 10,
        d,
    );
    no_panic(&o);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("cannot write") && stderr(&o).contains("out.json"),
        "{}",
        stderr(&o)
    );
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "previous\n");
    assert_eq!(listing(d), ["out.json"]);

    // gen-rtl: the shell's Verilog is far over 64 KiB; nothing is left.
    let rtl = d.join("rtl");
    let o = small_disk(
        &["gen-rtl", "--shell", "--out", rtl.to_str().unwrap()],
        64 << 10,
        d,
    );
    no_panic(&o);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(!rtl.exists(), "{:?}", listing(&rtl));
    assert_eq!(listing(d), ["out.json"]);
}

#[test]
fn train_on_a_full_disk_says_write_and_leaves_no_model() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("models");
    std::fs::create_dir(&d).unwrap();
    let m = d.join("m.json");
    let cache = dir.path().join("cache");
    let args = tiny(&["train", "--alloc", "1/1/1", "--out", m.to_str().unwrap()]);
    // The weights (784 x 128 at one bit, stored as bytes) are over 64 KiB.
    let o = small_disk(&args, 64 << 10, &cache);
    no_panic(&o);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(
        e.contains("cannot write") && !e.contains("cannot read"),
        "{e}"
    );
    assert_eq!(listing(&d), Vec::<String>::new());
}

#[test]
fn a_failing_gen_rtl_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let rtl = dir.path().join("rtl");
    for bad in [
        vec!["--shell", "--clock-mhz", "0"],
        vec!["--shell", "--wbuf-bytes", "1000000000000"],
        vec!["--abuf-bytes", "4294967296"],
    ] {
        let mut args = vec!["gen-rtl", "--out", rtl.to_str().unwrap()];
        args.extend_from_slice(&bad);
        let o = spikeslice_in(&args, dir.path());
        no_panic(&o);
        assert_eq!(o.status.code(), Some(2), "{bad:?}: {}", stderr(&o));
        assert!(
            stderr(&o).contains(bad[bad.len() - 2]),
            "{bad:?}: {}",
            stderr(&o)
        );
        assert_eq!(listing(dir.path()), Vec::<String>::new(), "{bad:?}");
    }
}

fn mlp_weights(poison: Option<(&str, f32)>) -> Vec<u8> {
    let mut t = vec![
        ("fc1.weight", vec![128, 784], vec![0.01f32; 128 * 784]),
        ("fc1.bias", vec![128], vec![0.0; 128]),
        ("out.weight", vec![10, 128], vec![0.01; 10 * 128]),
        ("out.bias", vec![10], vec![0.0; 10]),
    ];
    if let Some((name, v)) = poison {
        let x = t.iter_mut().find(|x| x.0 == name).unwrap();
        x.2[5] = v;
    }
    safetensors_f32(&t)
}

#[test]
fn import_never_overwrites_its_weights() {
    let dir = tempfile::tempdir().unwrap();
    let w = dir.path().join("X.safetensors");
    let bytes = mlp_weights(None);
    std::fs::write(&w, &bytes).unwrap();
    for out in ["X.json", "X.safetensors", "./sub/../X.json"] {
        let out = dir.path().join(out);
        let o = spikeslice_in(
            &import_args(
                w.to_str().unwrap(),
                out.to_str().unwrap(),
                &["--test-limit", "20"],
            ),
            dir.path(),
        );
        no_panic(&o);
        assert_eq!(o.status.code(), Some(2), "{out:?}: {}", stderr(&o));
        assert!(stderr(&o).contains("X.safetensors"), "{}", stderr(&o));
        assert_eq!(
            std::fs::read(&w).unwrap(),
            bytes,
            "--out {out:?} changed the weights"
        );
    }
    // A symbolic link to the weights is the same file.
    let link = dir.path().join("link.safetensors");
    std::os::unix::fs::symlink(&w, &link).unwrap();
    let o = spikeslice_in(
        &import_args(
            link.to_str().unwrap(),
            dir.path().join("X.json").to_str().unwrap(),
            &[],
        ),
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert_eq!(std::fs::read(&w).unwrap(), bytes);
}

#[test]
fn outputs_that_are_inputs_are_refused_before_any_work() {
    let dir = tempfile::tempdir().unwrap();
    let m = repo_model("mnist-mlp.json");
    let weights = Path::new(&m).with_extension("safetensors");
    let before = std::fs::read(&weights).unwrap();
    for args in [
        vec!["infer", "--model", &m, "--data", "mnist-5k", "--out", &m],
        vec!["budget", "--model", &m, "--out", weights.to_str().unwrap()],
        vec!["run", "--model", &m, "--json", &m],
    ] {
        let o = spikeslice_in(&args, dir.path());
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(
            stderr(&o).contains("would overwrite the input"),
            "{}",
            stderr(&o)
        );
    }
    assert_eq!(std::fs::read(&weights).unwrap(), before);

    // An output directory under a file fails before training starts.
    let file = dir.path().join("file");
    std::fs::write(&file, "x").unwrap();
    let started = std::time::Instant::now();
    let o = spikeslice_in(
        &["train", "--out", file.join("m.json").to_str().unwrap()],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("is a file, not a directory"),
        "{}",
        stderr(&o)
    );
    assert!(started.elapsed().as_secs() < 20, "trained before refusing");
    let o = spikeslice_in(&["sweep", "--out", file.to_str().unwrap()], dir.path());
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}

#[test]
fn dash_is_standard_output_and_input_and_status_goes_to_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let m = repo_model("mnist-mlp.json");
    // --out -: the JSON report alone on standard output.
    let o = spikeslice_in(
        &[
            "infer", "--model", &m, "--data", "mnist-5k", "--limit", "3", "--out", "-",
        ],
        dir.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON on stdout");
    assert_eq!(v["samples"], 3);
    let o = spikeslice_in(&["budget", "--model", &m, "--out", "-"], dir.path());
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON on stdout");
    assert!(v["s_ace"].as_u64().unwrap() > 0);

    // --input -: the CSV from standard input; 25 unlabelled samples, 20
    // listed and the rest counted.
    let row = vec!["1"; 784].join(",") + "\n";
    let o = spikeslice_with_stdin(
        &["infer", "--model", &m, "--input", "-"],
        row.repeat(25).as_bytes(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("25 samples") && out.contains("sample 19:"),
        "{out}"
    );
    assert!(out.contains("and 5 more sample(s)"), "{out}");

    // Status lines on standard error; --quiet silences them.
    let f = dir.path().join("r.json");
    let args = infer_mnist(&m, "2", f.to_str().unwrap());
    let o = spikeslice_in(&args, dir.path());
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!String::from_utf8_lossy(&o.stdout).contains("wrote"));
    assert!(stderr(&o).contains("wrote"), "{}", stderr(&o));
    let mut quiet = vec!["--quiet"];
    quiet.extend_from_slice(&args);
    let o = spikeslice_in(&quiet, dir.path());
    assert!(o.status.success() && o.stderr.is_empty(), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("accuracy"));
}

/// The sweep cache directory of each allocation, by tag prefix.
fn cache_entries(cache: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(cache)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v
}

#[test]
fn a_corrupted_cache_is_retrained_and_a_failing_allocation_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let out = dir.path().join("out");
    let args = tiny(&["sweep", "--budget", "2", "--out", out.to_str().unwrap()]);
    let o = spikeslice_in(&args, &cache);
    assert!(o.status.success(), "{}", stderr(&o));

    // Damage every file of the cache: everything is retrained.
    for e in cache_entries(&cache) {
        for f in std::fs::read_dir(&e).unwrap() {
            std::fs::write(
                f.unwrap().path(),
                b"\xff\xff\xff\xff\xff\xff\xff\x7fgarbage",
            )
            .unwrap();
        }
    }
    let o = spikeslice_in(&args, &cache);
    no_panic(&o);
    assert!(o.status.success(), "{}", stderr(&o));
    let csv = std::fs::read_to_string(out.join("sweep.csv")).unwrap();
    assert_eq!(csv.lines().count(), 4, "{csv}");
    assert!(csv.lines().skip(1).all(|l| l.contains(",false,")), "{csv}");

    // One allocation's entry cannot be written (a file where its directory
    // goes): that allocation fails, the others are reported and written,
    // and the exit status says so.
    let victim = cache_entries(&cache)
        .into_iter()
        .find(|p| p.file_name().unwrap().to_string_lossy().starts_with("w2"))
        .expect("the 2/1/1 entry");
    std::fs::remove_dir_all(&victim).unwrap();
    std::fs::write(&victim, "in the way").unwrap();
    std::fs::remove_dir_all(&out).unwrap();
    let o = spikeslice_in(&args, &cache);
    no_panic(&o);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(e.contains("1 of 3 allocation(s) failed (2/1/1)"), "{e}");
    let csv = std::fs::read_to_string(out.join("sweep.csv")).unwrap();
    assert_eq!(csv.lines().count(), 3, "{csv}");
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("sweep.json")).unwrap()).unwrap();
    assert_eq!(json["failures"][0]["alloc"]["b_w"], 2, "{json}");
}
