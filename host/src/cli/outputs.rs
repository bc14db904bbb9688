//! Output paths: checked before any long work (not an input, a directory
//! that can exist), written atomically (`spikeslice_core::atomic`),
//! and `-` for standard output.

use anyhow::Result;
use spikeslice_core::{atomic, model::Model};
use std::path::{Component, Path, PathBuf};

/// Whether `path` is `-`: standard output, or standard input for an input.
pub fn is_stdio(path: &Path) -> bool {
    path.as_os_str() == "-"
}

/// `path` absolute with symbolic links resolved, also when it does not exist
/// yet: its deepest existing ancestor is resolved, and the rest (which cannot
/// hold links) is appended with `.` and `..` applied.
pub fn canonical(path: &Path) -> PathBuf {
    let absolute = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()
            .map(|d| d.join(path))
            .unwrap_or_else(|_| path.to_path_buf())
    };
    let mut rest = Vec::new();
    let mut base = absolute.as_path();
    loop {
        if let Ok(mut p) = base.canonicalize() {
            for c in rest.iter().rev() {
                match c {
                    Component::CurDir => {}
                    Component::ParentDir => {
                        p.pop();
                    }
                    other => p.push(other.as_os_str()),
                }
            }
            return p;
        }
        match (base.parent(), base.components().next_back()) {
            (Some(parent), Some(last)) => {
                rest.push(last);
                base = parent;
            }
            _ => return absolute,
        }
    }
}

/// Refuse an output that is one of the inputs, by canonical path: writing it
/// would destroy the input.
pub fn check_not_input(flag: &str, output: &Path, inputs: &[&Path]) -> Result<()> {
    if is_stdio(output) {
        return Ok(());
    }
    let out = canonical(output);
    for input in inputs.iter().filter(|p| !is_stdio(p)) {
        if canonical(input) == out {
            return Err(usage!(
                "{flag} {} would overwrite the input {}: write to another file",
                output.display(),
                input.display()
            ));
        }
    }
    Ok(())
}

/// Check a report's `--out` before any work: a file can be made there, and it
/// is neither the model (its spec at `model_path` or its weights) nor one of
/// the `other` inputs.
pub fn check_report_target(
    out: &Path,
    model_path: &Path,
    model: &Model,
    other: &[Option<&Path>],
) -> Result<()> {
    check_file_target("--out", out)?;
    let weights = super::weights_path(model_path, model);
    let mut inputs = vec![model_path, weights.as_path()];
    inputs.extend(other.iter().flatten());
    check_not_input("--out", out, &inputs)
}

/// Check before long work that a file can be made at `path`: it is not a
/// directory, and its directory is one or can be created.
pub fn check_file_target(flag: &str, path: &Path) -> Result<()> {
    if is_stdio(path) {
        return Ok(());
    }
    if path.is_dir() {
        return Err(usage!(
            "{flag} {} is a directory: give a file name, e.g. {}",
            path.display(),
            path.join("out.json").display()
        ));
    }
    match path.parent().filter(|d| !d.as_os_str().is_empty()) {
        Some(dir) => check_dir_target(flag, dir),
        None => Ok(()),
    }
}

/// Check before long work that `dir` is, or can become, a directory: neither
/// it nor an ancestor is a file.
pub fn check_dir_target(flag: &str, dir: &Path) -> Result<()> {
    if is_stdio(dir) {
        return Err(usage!(
            "{flag} names a directory of several files: standard output (-) cannot hold them"
        ));
    }
    let mut p = Some(dir);
    while let Some(d) = p.filter(|d| !d.as_os_str().is_empty()) {
        if let Ok(meta) = std::fs::metadata(d) {
            if !meta.is_dir() {
                return Err(usage!(
                    "{flag} {}: {} is a file, not a directory",
                    dir.display(),
                    d.display()
                ));
            }
            break;
        }
        p = d.parent();
    }
    Ok(())
}

/// Write `bytes` to `path` atomically, or to standard output for `-`.
/// Returns whether a file was written (for a "wrote" status line).
pub fn write(path: &Path, bytes: &[u8]) -> Result<bool> {
    if is_stdio(path) {
        super::say::print_bytes(bytes)?;
        return Ok(false);
    }
    atomic::write(path, bytes)?;
    Ok(true)
}

/// Write a JSON value (pretty, with a final newline) as [`write`] does, and
/// say so on standard error.
pub fn write_json(path: &Path, value: &impl serde::Serialize) -> Result<()> {
    let json = serde_json::to_string_pretty(value)? + "\n";
    if write(path, json.as_bytes())? {
        status!("wrote {}", path.display());
    }
    Ok(())
}
