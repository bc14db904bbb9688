//! spikeslice-core's integration tests in one binary: one link instead of one per
//! file, and libtest spreads every file's tests over all cores at once (a
//! long single-threaded test no longer leaves a core idle). One module per
//! topic; run one with `cargo test -p PACKAGE --test integration MODULE::`.

mod budget;
mod dataset;
mod doc_references;
mod generated_docs;
mod golden;
mod model_format;
mod protocol;
mod residual;
