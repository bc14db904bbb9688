//! Progress on standard error: a bar on a terminal; elsewhere (a log file, CI)
//! a plain line every few seconds, so a long run shows it is alive. Nothing
//! with `--quiet`.

use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::time::{Duration, Instant};

/// How often a log line is written when standard error is not a terminal.
const LOG_EVERY: Duration = Duration::from_secs(5);

pub struct Progress {
    bar: Option<ProgressBar>,
    log: bool,
    last: Instant,
    prefix: String,
    message: String,
    pos: u64,
    len: u64,
    /// What the position counts, for the log lines.
    unit: &'static str,
}

impl Progress {
    pub fn new(template: &str) -> Self {
        let quiet = super::say::quiet();
        let tty = std::io::stderr().is_terminal();
        let bar = (!quiet && tty).then(|| {
            let b = ProgressBar::new(0);
            if let Ok(style) = ProgressStyle::with_template(template) {
                b.set_style(style.progress_chars("=> "));
            }
            b
        });
        Self {
            bar,
            log: !quiet && !tty,
            last: Instant::now(),
            prefix: String::new(),
            message: String::new(),
            pos: 0,
            len: 0,
            unit: "steps",
        }
    }

    /// The same, counting `unit` (e.g. "bytes") instead of steps.
    pub fn counting(mut self, unit: &'static str) -> Self {
        self.unit = unit;
        self
    }

    pub fn set_prefix(&mut self, p: impl Into<String>) {
        self.prefix = p.into();
        if let Some(b) = &self.bar {
            b.set_prefix(self.prefix.clone());
        }
    }

    pub fn set_message(&mut self, m: &str) {
        self.message = m.to_string();
        if let Some(b) = &self.bar {
            b.set_message(m.to_string());
        }
    }

    pub fn set_length(&mut self, n: u64) {
        self.len = n;
        if let Some(b) = &self.bar {
            b.set_length(n);
        }
    }

    pub fn reset(&mut self) {
        if let Some(b) = &self.bar {
            b.reset();
        }
    }

    pub fn set_position(&mut self, n: u64) {
        self.pos = n;
        if let Some(b) = &self.bar {
            b.set_position(n);
        } else if self.log && self.last.elapsed() >= LOG_EVERY {
            self.last = Instant::now();
            let what = [self.prefix.as_str(), self.message.as_str()]
                .iter()
                .filter(|s| !s.is_empty())
                .copied()
                .collect::<Vec<_>>()
                .join(" ");
            super::say::status_line(format_args!(
                "{what}: {}/{} {}",
                self.pos, self.len, self.unit
            ));
        }
    }

    /// A status line above the bar.
    pub fn println(&self, line: &str) {
        match &self.bar {
            Some(b) => b.println(line),
            None => super::say::status_line(format_args!("{line}")),
        }
    }

    pub fn finish_and_clear(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

/// A progress report that follows the training stages.
pub fn training() -> impl FnMut(spikeslice_train::Stage, usize, usize) {
    let mut p = Progress::new("{msg:>6} [{bar:40}] {pos}/{len} steps {elapsed}");
    let mut stage = None;
    move |s, done, total| {
        if stage != Some(s) {
            stage = Some(s);
            p.reset();
            p.set_length(total as u64);
            p.set_message(match s {
                spikeslice_train::Stage::Float => "float",
                spikeslice_train::Stage::Qat => "QAT",
            });
        }
        p.set_position(done as u64);
        if done == total {
            p.finish_and_clear();
        }
    }
}
