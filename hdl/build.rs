//! The generator's fingerprint: a SHA-256 over every source the generated Verilog
//! depends on (this crate's and `spikeslice-core`'s sources, which hold the
//! configuration and the register map, and the workspace's Cargo.lock, which pins
//! rust-hdl). Equal fingerprints and equal configurations give equal Verilog, so the
//! simulator's cache may find a design's library without generating its text
//! (`spikeslice_sim::build`). Any change under these paths changes it.
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            files(&p, out);
        } else {
            out.push(p);
        }
    }
}

fn main() {
    let here = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let inputs = [
        here.join("src"),
        here.join("Cargo.toml"),
        here.join("../core/src"),
        here.join("../Cargo.lock"),
    ];
    let mut paths = vec![];
    for input in &inputs {
        println!("cargo::rerun-if-changed={}", input.display());
        if input.is_dir() {
            files(input, &mut paths);
        } else if input.exists() {
            paths.push(input.clone());
        }
    }
    paths.sort();
    let mut h = Sha256::new();
    for p in &paths {
        let rel = p.strip_prefix(&here).unwrap_or(p);
        h.update(rel.to_string_lossy().as_bytes());
        h.update([0]);
        h.update(std::fs::read(p).unwrap_or_default());
        h.update([0]);
    }
    let hex: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
    println!("cargo::rustc-env=SPIKESLICE_GENERATOR_FINGERPRINT={hex}");
}
