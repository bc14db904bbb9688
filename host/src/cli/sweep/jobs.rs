//! A sweep beyond one process: its jobs (allocation and seed) in a job
//! directory `OUT/jobs`, run by local worker processes (`--jobs N`) or a
//! Slurm job array (`--slurm`), each with `--run-job N`, and merged by
//! `--collect` into the report a one-process sweep writes
//! (docs/training.md, "Beyond one process").

use super::super::progress::Progress;
use super::{done_line, tag, Spec};
use anyhow::{Context, Result};
use spikeslice_train::sweep::jobdir::JobDir;
use spikeslice_train::sweep::{self, slurm, Job, JobResult, SweepConfig, SweepReport};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn job_dir(out: &Path) -> JobDir {
    JobDir::new(out.join("jobs"))
}

/// The command that runs one job of the sweep in `out`, up to its index.
fn worker_command(out: &Path, cache: &Path) -> Result<Vec<String>> {
    let exe = std::env::current_exe().context("cannot find this program's path")?;
    let path = |p: &Path| -> Result<String> {
        let p = std::path::absolute(p)
            .with_context(|| format!("cannot make {} absolute", p.display()))?;
        slurm::program(&p)
    };
    Ok(vec![
        slurm::program(&exe)?,
        "sweep".into(),
        "--quiet".into(),
        "--out".into(),
        path(out)?,
        "--cache".into(),
        path(cache)?,
        "--run-job".into(),
    ])
}

/// `--run-job N`: run job N with the settings in `out/jobs` and store its
/// result there. A failed job is stored too, and exits with status 3.
pub fn run_one(out: &Path, cache: PathBuf, index: usize) -> Result<()> {
    let dir = job_dir(out);
    let spec: Spec = dir.spec()?;
    let job = dir.job(index)?;
    let mut cfg = spec.config(cache, true)?;
    let data = sweep::load_data(&cfg)?;
    let started = Instant::now();
    let result = sweep::run_job(&mut cfg, &data, job, &mut |_| {});
    dir.save(&result)?;
    let several = spec.seeds > 1;
    match &result.outcome {
        Ok(row) => {
            status!(
                "{} in {:.1} s",
                done_line(several, row),
                started.elapsed().as_secs_f64()
            );
            Ok(())
        }
        Err(e) => Err(anyhow::Error::new(super::super::say::Partial(format!(
            "{job} failed (kept in {}): {e}",
            dir.path.display()
        )))),
    }
}

/// `--slurm`: make the job directory and submit the jobs that have no result
/// yet as one array.
pub fn submit(spec: &Spec, out: &Path, cache: &Path, sbatch_args: &[String]) -> Result<()> {
    let cfg = spec.config(cache.to_path_buf(), false)?;
    let jobs = sweep::jobs(&cfg)?;
    let dir = job_dir(out);
    dir.create(spec, &jobs)?;
    let (done, missing) = dir.results()?;
    if missing.is_empty() {
        status!(
            "all {} jobs in {} have results: collect them with the same options and --collect",
            jobs.len(),
            dir.path.display()
        );
        return Ok(());
    }
    let id = slurm::submit(&slurm::Submission {
        dir: &dir,
        jobs: &missing,
        command: worker_command(out, cache)?,
        sbatch_args,
    })?;
    status!(
        "submitted {} job(s) as Slurm array {id}{} (logs in {}); when squeue -j {id} is empty, \
         run the same command with --collect instead of --slurm",
        missing.len(),
        if done.is_empty() {
            String::new()
        } else {
            format!(", {} already done", done.len())
        },
        dir.logs().display()
    );
    out!("{id}");
    Ok(())
}

/// `--collect`: the report of the sweep in `out/jobs`, which must be the
/// sweep the command line describes and have every job's result.
pub fn collect(spec: &Spec, out: &Path, cache: PathBuf) -> Result<SweepReport> {
    let dir = job_dir(out);
    dir.check(spec)?;
    let (results, missing) = dir.results()?;
    if !missing.is_empty() {
        let list: Vec<String> = missing.iter().take(5).map(Job::to_string).collect();
        anyhow::bail!(
            "{} of {} jobs have no result yet ({}{}): they are queued, running or died \
             (see {}); collect again when they finish, or submit the missing ones again with \
             the same options (finished jobs are kept)",
            missing.len(),
            missing.len() + results.len(),
            list.join(", "),
            if missing.len() > 5 { ", ..." } else { "" },
            dir.logs().display()
        );
    }
    let cfg = spec.config(cache, false)?;
    let seconds = results.iter().map(|r| r.seconds).sum();
    report(&cfg, results, seconds)
}

/// The report from every job's result.
fn report(cfg: &SweepConfig, results: Vec<JobResult>, seconds: f64) -> Result<SweepReport> {
    let test_samples = sweep::load_data(cfg)?.test.len();
    sweep::assemble(cfg, test_samples, results, seconds)
}

/// `--jobs N`: every job without a result in a worker process, N at a time;
/// a line per finished job, and a progress line every few seconds in logs.
pub fn run_parallel(spec: &Spec, out: &Path, cache: PathBuf, n: usize) -> Result<SweepReport> {
    let started = Instant::now();
    let cfg = spec.config(cache.clone(), false)?;
    let jobs = sweep::jobs(&cfg)?;
    let dir = job_dir(out);
    // A local sweep starts a new job directory: the model cache, keyed by
    // the trainer's version, is what makes a second run fast, while results
    // kept here would outlive a change of the code. (A Slurm sweep keeps its
    // finished jobs, and refuses another sweep's directory.)
    if dir.holds_a_sweep() {
        std::fs::remove_dir_all(&dir.path)
            .with_context(|| format!("cannot replace {}", dir.path.display()))?;
    }
    dir.create(spec, &jobs)?;
    let mut queue: Vec<Job> = jobs.iter().rev().copied().collect();
    let command = worker_command(out, &cache)?;
    let several = spec.seeds > 1;
    let mut bar = Progress::new("{prefix:>14} [{bar:30}] {pos}/{len} {elapsed}").counting("jobs");
    bar.set_prefix(format!("{n} workers"));
    bar.set_length(jobs.len() as u64);
    let mut running: Vec<(Job, Child)> = Vec::new();
    let mut results = Vec::with_capacity(jobs.len());
    let mut died = Vec::new();
    while !queue.is_empty() || !running.is_empty() {
        while running.len() < n {
            let Some(job) = queue.pop() else { break };
            // Standard error to a file, as under Slurm: a pipe nobody reads
            // until the worker ends could fill and stall it.
            let log_path = dir.log(&job.index.to_string());
            let log_file = std::fs::File::create(&log_path)
                .with_context(|| format!("cannot create {}", log_path.display()))?;
            let child = Command::new(&command[0])
                .args(&command[1..])
                .arg(job.index.to_string())
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log_file)
                .spawn()
                .with_context(|| format!("cannot start a worker for {job}"))?;
            running.push((job, child));
        }
        std::thread::sleep(Duration::from_millis(50));
        let mut i = 0;
        while i < running.len() {
            if running[i].1.try_wait()?.is_none() {
                i += 1;
                continue;
            }
            let (job, mut child) = running.swap_remove(i);
            let status = child.wait()?;
            bar.set_position((results.len() + died.len() + 1) as u64);
            match dir.result(job)? {
                Some(r) => {
                    bar.println(&match &r.outcome {
                        Ok(row) => done_line(several, row),
                        Err(error) => {
                            format!("{:>9}: failed: {error}", tag(several, &job.alloc, job.seed))
                        }
                    });
                    results.push(r);
                }
                // A worker that died before it stored a result (killed, out
                // of memory): the others go on, and the next sweep trains
                // only its model again, the others' being in the cache.
                None => {
                    let text = std::fs::read_to_string(dir.log(&job.index.to_string()))
                        .unwrap_or_default();
                    let why = format!(
                        "the worker for {job} ended ({status}) without a result: {}",
                        text.trim()
                    );
                    bar.println(&why);
                    died.push(why);
                }
            }
        }
    }
    bar.finish_and_clear();
    if !died.is_empty() {
        anyhow::bail!(
            "{} worker(s) died; the finished jobs' models are in the cache {}, so the same \
             command trains only the others again: {}",
            died.len(),
            cache.display(),
            died.join("; ")
        );
    }
    report(&cfg, results, started.elapsed().as_secs_f64())
}
