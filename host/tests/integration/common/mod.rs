//! What the command-line tests share: running the binary, its output as text,
//! the repository's models, and files in the formats the commands read.
// Each test file is its own crate and uses a part of this module.
#![allow(dead_code)]

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

pub const BIN: &str = env!("CARGO_BIN_EXE_spikeslice");

/// `spikeslice ARGS`, with no standard input.
pub fn spikeslice(args: &[&str]) -> Output {
    command(args).output().expect("run spikeslice")
}

/// `spikeslice ARGS` with its sweep cache in `cache`.
pub fn spikeslice_in(args: &[&str], cache: &Path) -> Output {
    command(args)
        .env("SPIKESLICE_CACHE", cache)
        .output()
        .expect("run spikeslice")
}

/// `spikeslice ARGS` with `input` on its standard input (`-` arguments).
pub fn spikeslice_with_stdin(args: &[&str], input: &[u8]) -> Output {
    let mut child = command(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn spikeslice");
    // Written and closed before waiting; a command that stops reading early
    // (an error) closes the pipe, which is not the test's failure.
    let _ = child.stdin.take().expect("stdin").write_all(input);
    child.wait_with_output().expect("run spikeslice")
}

/// The command, ready to spawn (no standard input).
pub fn command(args: &[&str]) -> Command {
    let mut c = Command::new(BIN);
    c.args(args).stdin(Stdio::null());
    c
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A model of the repository's models/ folder, e.g. `mnist-mlp.json`.
pub fn repo_model(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../models")
        .join(name)
        .display()
        .to_string()
}

/// `import --weights WEIGHTS --out OUT` and then the `more` flags.
pub fn import_args<'a>(weights: &'a str, out: &'a str, more: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["import", "--weights", weights, "--out", out];
    args.extend_from_slice(more);
    args
}

/// `train`/`sweep` flags for a run of a few seconds.
pub const TINY_TRAINING: &[&str] = &[
    "--train-limit",
    "200",
    "--test-limit",
    "50",
    "--float-epochs",
    "1",
    "--qat-epochs",
    "1",
];

/// `args` with [`TINY_TRAINING`] after them.
pub fn tiny<'a>(args: &[&'a str]) -> Vec<&'a str> {
    [args, TINY_TRAINING].concat()
}

/// A safetensors file of F32 tensors `(name, shape, values)`.
pub fn safetensors_f32(tensors: &[(&str, Vec<usize>, Vec<f32>)]) -> Vec<u8> {
    use safetensors::tensor::{Dtype, TensorView};
    let bytes: Vec<Vec<u8>> = tensors
        .iter()
        .map(|(_, _, v)| v.iter().flat_map(|x| x.to_le_bytes()).collect())
        .collect();
    let views: Vec<(&str, TensorView)> = tensors
        .iter()
        .zip(&bytes)
        .map(|((name, shape, _), b)| {
            let view = TensorView::new(Dtype::F32, shape.clone(), b).expect("tensor shape");
            (*name, view)
        })
        .collect();
    safetensors::serialize(views, &None).expect("serialize safetensors")
}

/// `data` gzip-compressed.
pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).expect("compress");
    e.finish().expect("compress")
}
