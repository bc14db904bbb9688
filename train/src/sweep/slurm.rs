//! Submitting a sweep's jobs to Slurm as one job array (`sbatch --array`):
//! task N runs `spikeslice sweep --out DIR --run-job N`, which writes
//! `DIR/jobs/results/N.json` ([`super::jobdir`]).

use super::jobdir::JobDir;
use super::Job;
use anyhow::{bail, Context, Result};
use std::path::Path;
use std::process::Command;

/// What to submit.
pub struct Submission<'a> {
    /// The job directory, made by [`JobDir::create`].
    pub dir: &'a JobDir,
    /// The jobs to run (those without a result).
    pub jobs: &'a [Job],
    /// The program each task runs and its arguments up to the job index,
    /// which Slurm appends as `$SLURM_ARRAY_TASK_ID`.
    pub command: Vec<String>,
    /// More `sbatch` options (`--partition=gpu`, `--time=1:00:00`, ...).
    pub sbatch_args: &'a [String],
}

/// Submit the array; returns Slurm's job id.
pub fn submit(s: &Submission) -> Result<String> {
    if s.jobs.is_empty() {
        bail!("nothing to submit: every job has a result");
    }
    let indices: Vec<String> = s.jobs.iter().map(|j| j.index.to_string()).collect();
    let script = s
        .command
        .iter()
        .map(|a| quote(a))
        .collect::<Vec<_>>()
        .join(" ")
        + " \"$SLURM_ARRAY_TASK_ID\"";
    let mut cmd = Command::new("sbatch");
    cmd.arg("--parsable")
        .arg(format!("--array={}", indices.join(",")))
        .arg("--job-name=spikeslice-sweep")
        .arg("--chdir")
        .arg(&s.dir.path)
        .arg("--output")
        .arg(s.dir.log("%a"))
        .args(s.sbatch_args)
        .arg("--wrap")
        .arg(script);
    let out = cmd.output().map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            anyhow::anyhow!(
                "--slurm needs Slurm's sbatch on PATH, and it is not there: \
                 run on a cluster's login node, or leave --slurm out to run here"
            )
        } else {
            anyhow::Error::new(e).context("cannot start sbatch")
        }
    })?;
    if !out.status.success() {
        bail!(
            "sbatch refused the job array ({}): {}; check the cluster (sinfo) and SLURM_CONF, \
             or give --sbatch options",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let text = String::from_utf8_lossy(&out.stdout);
    // --parsable prints `jobid` or `jobid;cluster`.
    let id = text.trim().split(';').next().unwrap_or_default();
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
        bail!("sbatch printed no job id: {:?}", text.trim());
    }
    Ok(id.to_string())
}

/// `a` as one word of a POSIX shell command line.
fn quote(a: &str) -> String {
    if !a.is_empty()
        && a.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./=:,+@%".contains(&b))
    {
        a.to_string()
    } else {
        format!("'{}'", a.replace('\'', r"'\''"))
    }
}

/// The program path as a string, for the job script.
pub fn program(path: &Path) -> Result<String> {
    path.to_str().map(str::to_string).with_context(|| {
        format!(
            "the program path {} is not UTF-8: Slurm's job script cannot name it",
            path.display()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::quote;

    #[test]
    fn words_are_quoted_for_the_shell() {
        assert_eq!(quote("/usr/bin/spikeslice"), "/usr/bin/spikeslice");
        assert_eq!(quote("a b"), "'a b'");
        assert_eq!(quote("it's"), r"'it'\''s'");
        assert_eq!(quote(""), "''");
        assert_eq!(quote("$HOME"), "'$HOME'");
    }
}
