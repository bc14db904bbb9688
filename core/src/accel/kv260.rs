//! Names the Kria KV260 board, its daemon and the generated build files must
//! agree on (docs/board.md): the generator writes them into
//! constraints/generated/, the daemon (firmware) takes them as its defaults.

/// The Kria app: `/lib/firmware/xilinx/<APP>/<APP>.bit.bin`, `xmutil loadapp
/// <APP>`; the daemon's `--app` default.
pub const APP: &str = "spikeslice";

/// The u-dma-buf device of the DMA window (`/dev/<UDMABUF_DEVICE>`), created by
/// the overlay; the daemon's `--udmabuf` default.
pub const UDMABUF_DEVICE: &str = "udmabuf0";

/// dfx-mgr's description of the app's shell (`shell.json` beside the
/// bitstream): a flat shell, one slot.
pub const SHELL_JSON: &str = r#"{ "shell_type": "XRT_FLAT", "num_slots": "1" }"#;
