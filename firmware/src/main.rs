//! `spikeslice-fw`: the board-side daemon. Not implemented yet: the board-path issue fills it.

fn main() {
    eprintln!(
        "spikeslice-fw {}: the board daemon is not implemented yet (see the board-path issue)",
        env!("CARGO_PKG_VERSION")
    );
    std::process::exit(2);
}
