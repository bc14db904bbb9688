//! spikeslice-hdl's integration tests in one binary: one link instead of one per
//! file, and libtest spreads every file's tests over all cores at once (a
//! long single-threaded test no longer leaves a core idle). One module per
//! topic; run one with `cargo test -p PACKAGE --test integration MODULE::`.

mod common;
mod constraints_ports;
mod csr_dma_lint;
mod csr_iverilog;
mod dma;
mod dma_iverilog;
mod estimate;
mod shell;
mod shell_lint;
