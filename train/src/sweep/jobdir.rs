//! A sweep's job directory: the settings every job runs with, the job list,
//! and one result file per finished job. Local worker processes and a Slurm
//! job array write into it; `sweep --collect` merges it into the report a
//! one-process sweep makes.
//!
//! ```text
//! DIR/spec.json          the settings (written by the submitting command)
//! DIR/jobs.json          the job list
//! DIR/results/N.json     job N's row or failure (written atomically)
//! DIR/logs/N.log         job N's standard error (a worker's, or Slurm's task's)
//! ```

use super::{Job, JobResult};
use anyhow::{bail, Context, Result};
use serde::{de::DeserializeOwned, Serialize};
use spikeslice_core::atomic;
use std::path::{Path, PathBuf};

/// A job directory (see the module documentation).
#[derive(Debug, Clone)]
pub struct JobDir {
    pub path: PathBuf,
}

impl JobDir {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    fn spec_path(&self) -> PathBuf {
        self.path.join("spec.json")
    }

    fn jobs_path(&self) -> PathBuf {
        self.path.join("jobs.json")
    }

    fn result_path(&self, index: usize) -> PathBuf {
        self.path.join("results").join(format!("{index}.json"))
    }

    /// The directory of the jobs' standard error.
    pub fn logs(&self) -> PathBuf {
        self.path.join("logs")
    }

    /// Where task `task`'s standard error goes: a job index, or Slurm's
    /// `%a` pattern for it.
    pub fn log(&self, task: &str) -> PathBuf {
        self.logs().join(format!("{task}.log"))
    }

    /// Make the directory for a sweep with `spec` and `jobs`, or reuse it if
    /// it holds the same sweep (its finished jobs are kept). A directory of
    /// another sweep is refused: its results would be mixed with these.
    pub fn create<S: Serialize>(&self, spec: &S, jobs: &[Job]) -> Result<()> {
        if self.spec_path().exists() {
            return self.check(spec);
        }
        for d in [self.path.join("results"), self.logs()] {
            std::fs::create_dir_all(&d)
                .with_context(|| format!("cannot create {}", d.display()))?;
        }
        atomic::write(&self.jobs_path(), &serde_json::to_vec_pretty(jobs)?)?;
        // spec.json last: its presence marks a complete directory.
        atomic::write(&self.spec_path(), &serde_json::to_vec_pretty(spec)?)?;
        Ok(())
    }

    /// Whether the directory holds a sweep's jobs (any sweep's).
    pub fn holds_a_sweep(&self) -> bool {
        self.spec_path().is_file()
    }

    /// Whether the directory holds a sweep with these settings (a missing
    /// directory holds none; one of another sweep is an error that says so).
    pub fn check<S: Serialize>(&self, spec: &S) -> Result<()> {
        let text = serde_json::to_vec_pretty(spec)?;
        let path = self.spec_path();
        let old = std::fs::read(&path).with_context(|| {
            format!(
                "{} holds no sweep's jobs: start them with --slurm or --jobs N",
                self.path.display()
            )
        })?;
        if old != text {
            let differ = differences(&old, &text);
            bail!(
                "{} holds the jobs of another sweep ({} differ{}): give that sweep's options, \
                 or choose another --out",
                self.path.display(),
                if differ.is_empty() {
                    "its settings".to_string()
                } else {
                    differ.join(", ")
                },
                if differ.len() == 1 { "s" } else { "" }
            );
        }
        Ok(())
    }

    /// The settings the directory's jobs run with.
    pub fn spec<S: DeserializeOwned>(&self) -> Result<S> {
        read_json(&self.spec_path()).with_context(|| {
            format!(
                "{} is not a sweep's job directory (made by sweep --slurm or --jobs)",
                self.path.display()
            )
        })
    }

    pub fn jobs(&self) -> Result<Vec<Job>> {
        read_json(&self.jobs_path())
    }

    /// Job `index` of the list.
    pub fn job(&self, index: usize) -> Result<Job> {
        let jobs = self.jobs()?;
        jobs.get(index).copied().with_context(|| {
            format!(
                "--run-job {index}: the sweep in {} has jobs 0..={}",
                self.path.display(),
                jobs.len().saturating_sub(1)
            )
        })
    }

    pub fn save(&self, result: &JobResult) -> Result<()> {
        let path = self.result_path(result.job.index);
        atomic::write(&path, &serde_json::to_vec_pretty(result)?)
            .with_context(|| format!("cannot write {}", path.display()))
    }

    /// The result of `job`, if it finished. A result file that belongs to
    /// another job is an error.
    pub fn result(&self, job: Job) -> Result<Option<JobResult>> {
        let path = self.result_path(job.index);
        if !path.exists() {
            return Ok(None);
        }
        let r: JobResult = read_json(&path)?;
        if r.job != job {
            bail!(
                "{} holds the result of {} where {job} belongs: the directory mixes two sweeps",
                path.display(),
                r.job
            );
        }
        Ok(Some(r))
    }

    /// Every finished result, and the jobs that have none yet.
    pub fn results(&self) -> Result<(Vec<JobResult>, Vec<Job>)> {
        let mut done = Vec::new();
        let mut missing = Vec::new();
        for job in self.jobs()? {
            match self.result(job)? {
                Some(r) => done.push(r),
                None => missing.push(job),
            }
        }
        Ok((done, missing))
    }
}

/// The settings whose values differ between two spec texts, as dotted paths
/// (`budget`, `base.seed`).
fn differences(a: &[u8], b: &[u8]) -> Vec<String> {
    let parse = |t: &[u8]| serde_json::from_slice::<serde_json::Value>(t).ok();
    let mut out = Vec::new();
    if let (Some(a), Some(b)) = (parse(a), parse(b)) {
        diff("", &a, &b, &mut out);
    }
    out
}

fn diff(path: &str, a: &serde_json::Value, b: &serde_json::Value, out: &mut Vec<String>) {
    use serde_json::Value::Object;
    match (a, b) {
        (Object(a), Object(b)) => {
            let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                let here = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                match (a.get(k), b.get(k)) {
                    (Some(x), Some(y)) => diff(&here, x, y, out),
                    _ => out.push(here),
                }
            }
        }
        _ if a != b => out.push(path.to_string()),
        _ => {}
    }
}

fn read_json<T: DeserializeOwned>(path: &Path) -> Result<T> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_slice(&bytes).with_context(|| format!("{} is damaged", path.display()))
}
