//! Generates each shell block and lints it with `verilator --lint-only -Wall`:
//! any warning fails, and so does a missing Verilator (a lint that cannot run
//! must not pass; scripts/test.sh installs it).

use spikeslice_core::accel::AcceleratorConfig;
use spikeslice_hdl::{csr, dma};

use crate::common;

/// Lints `text` as `<top>.v`.
fn lint(top: &str, text: &str) {
    common::verilator_lint(top, &[(&format!("{top}.v"), text)]);
}

#[test]
fn csr_verilog_lints_clean() {
    let v = csr::verilog(&AcceleratorConfig::default().config_registers()).unwrap();
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
