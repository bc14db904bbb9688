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

/// The programmable-logic resources of an FPGA, as counted for a fit check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Device {
    /// The part's name.
    pub name: &'static str,
    /// 6-input LUTs (CLB LUTs; LUTs used as memory or shift registers count here too).
    pub lut: u64,
    /// Flip-flops (CLB registers).
    pub ff: u64,
    /// Carry chains: one CARRY8 per CLB (usable as two CARRY4s).
    pub carry8: u64,
    /// DSP48E2 slices.
    pub dsp: u64,
    /// 36 Kb block RAMs (each usable as two 18 Kb halves).
    pub bram36: u64,
    /// 288 Kb UltraRAMs.
    pub uram: u64,
}

/// The Zynq UltraScale+ xck26 of the Kria K26 SOM on the KV260 (AMD's K26 data
/// sheet, DS987): 117,120 LUTs, 234,240 flip-flops, 14,640 CLBs (one CARRY8
/// each), 1,248 DSP48E2, 144 RAMB36 and 64 URAM288.
pub const XCK26: Device = Device {
    name: "xck26",
    lut: 117_120,
    ff: 234_240,
    carry8: 14_640,
    dsp: 1_248,
    bram36: 144,
    uram: 64,
};
