//! What the command line prints, and how it ends. Results go to standard
//! output through [`out!`], whose write errors end the command (a closed pipe
//! quietly, with status [`EXIT_CLOSED_STDOUT`]); status lines ("wrote ...",
//! notes, progress) go to standard error through [`status!`], silenced by
//! `--quiet` and never fatal. Nothing here panics on a failed write.

use std::fmt;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

/// The command succeeded.
pub const EXIT_OK: u8 = 0;
/// The command failed: the error is on standard error.
pub const EXIT_FAILURE: u8 = 1;
/// The command line is wrong: an unknown or missing flag, or a flag's value
/// that cannot work (the same status clap gives for its own checks).
pub const EXIT_USAGE: u8 = 2;
/// `sweep` finished with some allocations failed: the others' results were
/// written, the failures are listed on standard error.
pub const EXIT_PARTIAL: u8 = 3;
/// Standard output was closed before everything was printed (e.g. `| head`):
/// 128 + SIGPIPE, what a shell reports for a command the signal ended.
pub const EXIT_CLOSED_STDOUT: u8 = 141;

static QUIET: AtomicBool = AtomicBool::new(false);

pub fn set_quiet(q: bool) {
    QUIET.store(q, Ordering::Relaxed);
}

pub fn quiet() -> bool {
    QUIET.load(Ordering::Relaxed)
}

/// An error that is its message, shown as it is.
macro_rules! message_error {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $name(pub String);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl std::error::Error for $name {}
    };
}

message_error!(
    /// A command line that cannot work: exit status [`EXIT_USAGE`].
    Usage
);

message_error!(
    /// Some parts of the work failed, the rest was done and written: exit status
    /// [`EXIT_PARTIAL`].
    Partial
);

/// Standard output could not be written.
#[derive(Debug)]
pub struct Stdout(pub std::io::Error);

impl fmt::Display for Stdout {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "cannot write to standard output: {}", self.0)
    }
}

impl std::error::Error for Stdout {}

/// A usage error, formatted.
macro_rules! usage {
    ($($t:tt)*) => {
        anyhow::Error::new($crate::cli::say::Usage(format!($($t)*)))
    };
}

/// A line of results on standard output; returns from the function with an
/// error when it cannot be written.
macro_rules! out {
    ($($t:tt)*) => {
        $crate::cli::say::print_line(format_args!($($t)*))?
    };
}

/// A status line on standard error, unless `--quiet`.
macro_rules! status {
    ($($t:tt)*) => {
        $crate::cli::say::status_line(format_args!($($t)*))
    };
}

pub fn print_line(args: fmt::Arguments) -> anyhow::Result<()> {
    let mut o = std::io::stdout().lock();
    o.write_fmt(args)
        .and_then(|()| o.write_all(b"\n"))
        .map_err(|e| anyhow::Error::new(Stdout(e)))
}

/// Write `bytes` to standard output and flush.
pub fn print_bytes(bytes: &[u8]) -> anyhow::Result<()> {
    let mut o = std::io::stdout().lock();
    o.write_all(bytes)
        .and_then(|()| o.flush())
        .map_err(|e| anyhow::Error::new(Stdout(e)))
}

/// Flush standard output (a full disk shows here for redirected output).
pub fn flush() -> anyhow::Result<()> {
    std::io::stdout()
        .lock()
        .flush()
        .map_err(|e| anyhow::Error::new(Stdout(e)))
}

pub fn status_line(args: fmt::Arguments) {
    if !quiet() {
        let mut e = std::io::stderr().lock();
        let _ = e.write_fmt(args).and_then(|()| e.write_all(b"\n"));
    }
}

/// Print an error and choose the exit status.
pub fn finish(e: &anyhow::Error) -> u8 {
    if let Some(s) = e.chain().find_map(|c| c.downcast_ref::<Stdout>()) {
        if s.0.kind() == std::io::ErrorKind::BrokenPipe {
            return EXIT_CLOSED_STDOUT;
        }
    }
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "error: {}", error_chain(e));
    if e.chain().any(|c| c.is::<Usage>()) {
        EXIT_USAGE
    } else if e.chain().any(|c| c.is::<Partial>()) {
        EXIT_PARTIAL
    } else {
        EXIT_FAILURE
    }
}

/// The error and its causes, `: `-separated, leaving out a cause whose text the
/// message before it already contains (many errors quote their source).
fn error_chain(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if !out.contains(&text) {
            if !out.is_empty() {
                out.push_str(": ");
            }
            out.push_str(&text);
        }
    }
    out
}
