//! What the shell blocks' Icarus Verilog benches share: compile a generated
//! design with its self-checking test bench and run it.

use std::process::Command;

/// Simulate `design` (written as `design_file`) with the test bench `tb` under
/// iverilog/vvp in a fresh directory named after `name`; returns vvp's output.
/// Panics when iverilog is missing: scripts/test.sh installs it, and a bench
/// that cannot run must not pass.
pub fn run_icarus(name: &str, design_file: &str, design: &str, tb: &str) -> String {
    let present = Command::new("iverilog")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success() || !o.stdout.is_empty());
    assert!(
        present,
        "iverilog is not on PATH: install Debian's `iverilog` (scripts/test.sh does)"
    );
    let dir = std::env::temp_dir().join(format!("spikeslice-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(design_file), design).unwrap();
    std::fs::write(dir.join("tb.v"), tb).unwrap();
    let out = Command::new("iverilog")
        .args(["-g2012", "-o"])
        .arg(dir.join("sim"))
        .arg(dir.join("tb.v"))
        .arg(dir.join(design_file))
        .output()
        .expect("run iverilog");
    assert!(
        out.status.success(),
        "iverilog: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let run = Command::new("vvp")
        .arg("-n")
        .arg(dir.join("sim"))
        .output()
        .expect("run vvp");
    if std::env::var_os("SPIKESLICE_KEEP").is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    String::from_utf8_lossy(&run.stdout).into_owned()
}
