//! A sweep beyond one process: `--jobs N` worker processes and a Slurm job
//! array on a single-node cluster started on localhost
//! (scripts/slurm-cluster.sh), each merged into the report a one-process
//! sweep writes, from separate caches so nothing is shared but the code.

use crate::common;

use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// A tiny two-seed sweep writing to `out`, then `more` flags.
fn sweep_args(out: &Path, more: &[&str]) -> Vec<String> {
    let out = out.display().to_string();
    let head = [
        "sweep",
        "--budget",
        "2",
        "--seeds",
        "2",
        "--out",
        out.as_str(),
    ];
    [&head[..], TINY_TRAINING, more]
        .concat()
        .into_iter()
        .map(String::from)
        .collect()
}

fn run(args: &[String], cache: &Path, env: &[(&str, &str)]) -> std::process::Output {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut c = command(&args);
    c.env("SPIKESLICE_CACHE", cache);
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("run spikeslice")
}

fn ok(o: &std::process::Output, what: &str) -> String {
    assert!(
        o.status.success(),
        "{what} failed ({}):\n{}\n{}",
        o.status,
        stdout(o),
        stderr(o)
    );
    stdout(o)
}

/// The report's rows with what depends on where the jobs ran (cache paths,
/// cache hits) left out: what must be identical.
fn rows(out: &Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(out.join("sweep.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mut rows = v["rows"].as_array().unwrap().clone();
    for r in &mut rows {
        let o = r.as_object_mut().unwrap();
        o.remove("model_path");
        o.remove("cached");
    }
    assert!(!rows.is_empty());
    rows
}

/// Standard output without its timing line.
fn table(stdout: &str) -> String {
    stdout
        .lines()
        .filter(|l| !l.ends_with(" s"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn local_workers_report_what_one_process_reports() {
    let dir = tempfile::tempdir().unwrap();
    let (one, two) = (dir.path().join("one"), dir.path().join("two"));
    let a = ok(
        &run(
            &sweep_args(&one, &["--jobs", "1"]),
            &dir.path().join("cache-a"),
            &[],
        ),
        "one-process sweep",
    );
    let o = run(
        &sweep_args(&two, &["--jobs", "2"]),
        &dir.path().join("cache-b"),
        &[],
    );
    let b = ok(&o, "sweep --jobs 2");
    assert_eq!(rows(&one), rows(&two));
    assert_eq!(table(&a), table(&b));
    // A line per finished job, in a log as on a terminal.
    let err = stderr(&o);
    assert_eq!(err.matches(": qANN ").count(), 6, "{err}");
    assert_eq!(
        std::fs::read_dir(two.join("jobs/results")).unwrap().count(),
        6
    );
    // The same directory with other settings: a local sweep replaces the
    // other sweep's jobs (their models are in the cache).
    let o = run(
        &sweep_args(&two, &["--jobs", "2", "--seed", "7"]),
        &dir.path().join("cache-b"),
        &[],
    );
    ok(&o, "sweep --jobs 2 --seed 7");
    assert!(stderr(&o).contains("seeds 7..=8"), "{}", stderr(&o));
    assert_eq!(
        std::fs::read_dir(two.join("jobs/results")).unwrap().count(),
        6
    );
}

#[test]
fn collect_refuses_what_is_missing_or_from_another_sweep() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let cache = dir.path().join("cache");
    let o = run(&sweep_args(&out, &["--collect"]), &cache, &[]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("holds no sweep's jobs"),
        "{}",
        stderr(&o)
    );
    ok(
        &run(&sweep_args(&out, &["--jobs", "2"]), &cache, &[]),
        "--jobs 2",
    );
    std::fs::remove_file(out.join("jobs/results/3.json")).unwrap();
    let o = run(&sweep_args(&out, &["--collect"]), &cache, &[]);
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(
        err.contains("1 of 6 jobs have no result yet (job 3 (1/1/2 seed 2))"),
        "{err}"
    );
    // A local sweep runs every job again, from the model cache.
    let o = run(&sweep_args(&out, &["--jobs", "2"]), &cache, &[]);
    ok(&o, "--jobs 2 again");
    assert_eq!(
        stderr(&o).matches("% (cached)").count(),
        6,
        "{}",
        stderr(&o)
    );
    ok(
        &run(&sweep_args(&out, &["--collect"]), &cache, &[]),
        "collect",
    );
    let mut other = sweep_args(&out, &["--collect"]);
    other[2] = "4".into(); // --budget 4
    let o = run(&other, &cache, &[]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("another sweep (budget differs)"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn slurm_without_a_cluster_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    // No sbatch on PATH.
    let o = run(
        &sweep_args(&out, &["--slurm"]),
        &dir.path().join("cache"),
        &[("PATH", "/nonexistent")],
    );
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("--slurm needs Slurm's sbatch on PATH"),
        "{}",
        stderr(&o)
    );
}

/// A Slurm cluster of this machine alone, stopped (and its directory
/// removed) when dropped.
struct Cluster {
    dir: PathBuf,
    conf: String,
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/slurm-cluster.sh")
}

impl Cluster {
    fn start(parent: &Path) -> Self {
        let dir = parent.join("slurm");
        let o = Command::new("bash")
            .arg(script())
            .arg("start")
            .arg(&dir)
            // Apart from a developer's own fixture on the default ports.
            .env("SLURM_FIXTURE_PORT_BASE", "16917")
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "cannot start the test cluster (scripts/slurm-cluster.sh install \
             installs Slurm; the tests run it as root):\n{}",
            stderr(&o)
        );
        Cluster {
            dir: dir.clone(),
            conf: dir.join("slurm.conf").display().to_string(),
        }
    }

    /// Wait until Slurm has no job `id` queued or running.
    fn wait(&self, id: &str) {
        let t0 = Instant::now();
        loop {
            let o = Command::new("squeue")
                .args(["-h", "-j", id])
                .env("SLURM_CONF", &self.conf)
                .output()
                .unwrap();
            if o.status.success() && o.stdout.is_empty() {
                return;
            }
            assert!(
                t0.elapsed() < Duration::from_secs(600),
                "Slurm job {id} still queued after 10 min"
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(script())
            .arg("stop")
            .arg(&self.dir)
            .status();
    }
}

#[test]
fn a_slurm_array_reports_what_one_process_reports() {
    let dir = tempfile::tempdir().unwrap();
    // munged needs o+x on every directory above its socket.
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let cluster = Cluster::start(dir.path());
    let env = [("SLURM_CONF", cluster.conf.as_str())];
    let (here, there) = (dir.path().join("here"), dir.path().join("there"));
    let a = ok(
        &run(
            &sweep_args(&here, &["--jobs", "1"]),
            &dir.path().join("cache-a"),
            &[],
        ),
        "one-process sweep",
    );
    let cache = dir.path().join("cache-b");
    let o = run(&sweep_args(&there, &["--slurm"]), &cache, &env);
    let id = ok(&o, "sweep --slurm").trim().to_string();
    assert!(stderr(&o).contains("submitted 6 job(s)"), "{}", stderr(&o));
    cluster.wait(&id);
    let b = ok(
        &run(&sweep_args(&there, &["--collect"]), &cache, &env),
        "sweep --collect",
    );
    assert_eq!(rows(&here), rows(&there));
    assert_eq!(table(&a), table(&b));
    // A lost result is run again alone; the finished jobs are kept.
    std::fs::remove_file(there.join("jobs/results/5.json")).unwrap();
    let o = run(&sweep_args(&there, &["--slurm"]), &cache, &env);
    let id = ok(&o, "sweep --slurm again").trim().to_string();
    assert!(
        stderr(&o).contains("submitted 1 job(s)") && stderr(&o).contains("5 already done"),
        "{}",
        stderr(&o)
    );
    cluster.wait(&id);
    let c = ok(
        &run(&sweep_args(&there, &["--collect"]), &cache, &env),
        "sweep --collect again",
    );
    assert_eq!(table(&a), table(&c));
    // A misconfigured Slurm (an empty slurm.conf; one that names no
    // reachable controller fails the same way, after sbatch's retries): a
    // clear error, and nothing lost.
    std::fs::remove_file(there.join("jobs/results/5.json")).unwrap();
    let empty = dir.path().join("empty.conf");
    std::fs::write(&empty, "").unwrap();
    let o = run(
        &sweep_args(&there, &["--slurm"]),
        &cache,
        &[("SLURM_CONF", empty.to_str().unwrap())],
    );
    assert!(!o.status.success());
    assert!(stderr(&o).contains("sbatch refused"), "{}", stderr(&o));
    assert_eq!(
        std::fs::read_dir(there.join("jobs/results"))
            .unwrap()
            .count(),
        5
    );
}
