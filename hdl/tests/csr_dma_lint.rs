//! Generates each shell block and lints it with `verilator --lint-only -Wall`.
//!
//! Without Verilator on PATH the tests skip (with a message), except when the `CI`
//! environment variable is set: there a missing Verilator is a failure, so CI cannot
//! pass by silently not linting.

use spikeslice_hdl::{csr, dma};
use std::path::PathBuf;
use std::process::Command;

fn verilator_present() -> bool {
    Command::new("verilator")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Lints `text` as `<top>.v`; returns verilator's diagnostics, or None when skipped.
/// `SPIKESLICE_DUMP_DIR=dir` also writes the generated file there, for reading.
fn lint(top: &str, text: &str) -> Option<String> {
    if let Some(d) = std::env::var_os("SPIKESLICE_DUMP_DIR") {
        std::fs::write(PathBuf::from(d).join(format!("{top}.v")), text).unwrap();
    }
    if !verilator_present() {
        panic!("verilator is not on PATH: install Debian's `verilator` (scripts/test.sh does)");
    }
    let dir: PathBuf = std::env::temp_dir().join(format!(
        "spikeslice-shell-lint-{}-{top}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join(format!("{top}.v"));
    std::fs::write(&file, text).unwrap();
    let out = Command::new("verilator")
        .args(["--lint-only", "-Wall", "--top-module", top])
        .arg(&file)
        .output()
        .expect("run verilator");
    let diag = String::from_utf8_lossy(&out.stderr).into_owned();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        out.status.success() && !diag.contains("%Warning") && !diag.contains("%Error"),
        "verilator --lint-only -Wall on {top}:\n{diag}"
    );
    Some(diag)
}

/// The values `AcceleratorConfig::default().config_registers()` gives (rows 8, cols 8,
/// ...); any values do for the lint, these are realistic.
const CFG: &[(u32, u32)] = &[
    (csr::regmap::CFG_ARRAY, 0x0008_0008),
    (csr::regmap::CFG_WIDTHS, 0x0088_2018),
    (csr::regmap::CFG_AXI, 0x0001_0010),
    (csr::regmap::CFG_WBUF_BYTES, 256 * 1024),
    (csr::regmap::CFG_ABUF_BYTES, 128 * 1024),
    (csr::regmap::CFG_OBUF_BYTES, 64 * 1024),
];

#[test]
fn csr_verilog_lints_clean() {
    let v = csr::verilog(CFG).unwrap();
    assert!(v.contains(&format!("module {}(", csr::TOP_NAME)));
    lint(csr::TOP_NAME, &v);
}

#[test]
fn dma_verilog_lints_clean_at_both_widths() {
    for (data_bits, max_burst, max_outstanding) in [(64, 256, 4), (128, 16, 2), (128, 256, 16)] {
        let p = dma::DmaParams {
            data_bits,
            max_burst,
            max_outstanding,
        };
        let v = dma::verilog(&p).unwrap();
        assert!(v.contains(&format!("module {}(", dma::TOP_NAME)));
        assert!(
            v.contains(&format!("[{}:0] m_axi$rdata", data_bits - 1)),
            "{p:?}: data width not generated"
        );
        lint(dma::TOP_NAME, &v);
    }
}
