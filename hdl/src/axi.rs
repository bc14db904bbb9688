//! AXI port bundles of the accelerator shell (AMBA AXI and ACE Protocol Specification,
//! ARM IHI 0022, AXI4 and AXI4-Lite), and the Verilog post-processing shared by the
//! shell blocks.
//!
//! Signal names follow the specification (lower case, without the `S_AXI_`/`M_AXI_`
//! prefix; rust-hdl prefixes them with the bundle's field name and `$`, so the
//! generated Verilog port is `s_axi$awaddr` (`$` is legal inside a Verilog identifier;
//! a Vivado wrapper maps the ports to `S_AXI_AWADDR` etc.).
//! Directions are those of the block that owns the bundle: [`AxiLiteSlave`] is the
//! register file's side, [`Axi4Master`] is the DMA's side.
//!
//! Not carried (tie them at the shell top, the Vivado block design does it by default):
//! AxPROT (0b000), AxCACHE (0b0011), AxLOCK, AxQOS, AxREGION, the user signals, and the
//! IDs: the DMA uses one ID (0) per direction, so the interconnect returns read data
//! and write responses in order (AXI4 A5.3.1: same-ID transactions complete in order).
//!
//! Data widths are generator parameters. rust-hdl widths are types and stable Rust has
//! no `D / 8` in a const generic, so the strobe width `S` is a second parameter;
//! [`check_widths`] rejects inconsistent pairs, and the aliases [`Axi4Master64`] /
//! [`Axi4Master128`] name the two widths the accelerator supports (64 or 128 bits, as
//! `AcceleratorConfig::axi_data_bytes` 8 or 16).

use rust_hdl::prelude::*;

/// AXI response codes (xRESP).
pub mod resp {
    pub const OKAY: u64 = 0b00;
    pub const EXOKAY: u64 = 0b01;
    pub const SLVERR: u64 = 0b10;
    pub const DECERR: u64 = 0b11;
}

/// AxBURST encodings.
pub mod burst {
    pub const FIXED: u64 = 0b00;
    pub const INCR: u64 = 0b01;
    pub const WRAP: u64 = 0b10;
}

/// Address width of the DMA master (Zynq UltraScale+ HP ports take 49 bits; 64 covers
/// every interconnect, the shell top slices it).
pub const MASTER_ADDR_BITS: usize = 64;

/// A bundle parameterization the generator cannot build.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AxiError {
    #[error("AXI data width {0} bits is not supported: use 64 or 128 for the DMA master, 32 for AXI4-Lite")]
    DataWidth(usize),
    #[error("AXI strobe width {strobe} does not match data width {data} (must be data / 8)")]
    StrobeWidth { data: usize, strobe: usize },
}

/// Checks a (data width, strobe width) pair: `S == D / 8` and `D` one of `allowed`.
pub fn check_widths(data: usize, strobe: usize, allowed: &[usize]) -> Result<(), AxiError> {
    if !allowed.contains(&data) {
        return Err(AxiError::DataWidth(data));
    }
    if strobe * 8 != data {
        return Err(AxiError::StrobeWidth { data, strobe });
    }
    Ok(())
}

/// The slave side of an AXI4-Lite port: `A` address bits, `D` data bits, `S = D / 8`
/// strobe bits.
#[derive(LogicInterface, Default)]
pub struct AxiLiteSlave<const A: usize, const D: usize, const S: usize> {
    pub awaddr: Signal<In, Bits<A>>,
    pub awvalid: Signal<In, Bit>,
    pub awready: Signal<Out, Bit>,
    pub wdata: Signal<In, Bits<D>>,
    pub wstrb: Signal<In, Bits<S>>,
    pub wvalid: Signal<In, Bit>,
    pub wready: Signal<Out, Bit>,
    pub bresp: Signal<Out, Bits<2>>,
    pub bvalid: Signal<Out, Bit>,
    pub bready: Signal<In, Bit>,
    pub araddr: Signal<In, Bits<A>>,
    pub arvalid: Signal<In, Bit>,
    pub arready: Signal<Out, Bit>,
    pub rdata: Signal<Out, Bits<D>>,
    pub rresp: Signal<Out, Bits<2>>,
    pub rvalid: Signal<Out, Bit>,
    pub rready: Signal<In, Bit>,
}

/// The master side of an AXI4 port: `A` address bits, `D` data bits, `S = D / 8`
/// strobe bits. One ID per direction (not carried, see the module doc).
#[derive(LogicInterface, Default)]
pub struct Axi4Master<const A: usize, const D: usize, const S: usize> {
    // Write address channel.
    pub awaddr: Signal<Out, Bits<A>>,
    /// Beats - 1 (AXI4 INCR: up to 256 beats).
    pub awlen: Signal<Out, Bits<8>>,
    /// log2(bytes per beat).
    pub awsize: Signal<Out, Bits<3>>,
    pub awburst: Signal<Out, Bits<2>>,
    pub awvalid: Signal<Out, Bit>,
    pub awready: Signal<In, Bit>,
    // Write data channel.
    pub wdata: Signal<Out, Bits<D>>,
    pub wstrb: Signal<Out, Bits<S>>,
    pub wlast: Signal<Out, Bit>,
    pub wvalid: Signal<Out, Bit>,
    pub wready: Signal<In, Bit>,
    // Write response channel.
    pub bresp: Signal<In, Bits<2>>,
    pub bvalid: Signal<In, Bit>,
    pub bready: Signal<Out, Bit>,
    // Read address channel.
    pub araddr: Signal<Out, Bits<A>>,
    pub arlen: Signal<Out, Bits<8>>,
    pub arsize: Signal<Out, Bits<3>>,
    pub arburst: Signal<Out, Bits<2>>,
    pub arvalid: Signal<Out, Bit>,
    pub arready: Signal<In, Bit>,
    // Read data channel.
    pub rdata: Signal<In, Bits<D>>,
    pub rresp: Signal<In, Bits<2>>,
    pub rlast: Signal<In, Bit>,
    pub rvalid: Signal<In, Bit>,
    pub rready: Signal<Out, Bit>,
}

/// The 64-bit DMA master port.
pub type Axi4Master64 = Axi4Master<MASTER_ADDR_BITS, 64, 8>;
/// The 128-bit DMA master port.
pub type Axi4Master128 = Axi4Master<MASTER_ADDR_BITS, 128, 16>;

/// Verilator rules waived for the shell blocks; the reasons are those of
/// [`crate::lint::WAIVERS`] (looked up there so they are written once).
pub const SHELL_WAIVERS: &[&str] = &["WIDTH", "UNUSEDPARAM", "DECLFILENAME"];

/// Post-processing of a shell block's rust-hdl Verilog (like [`crate::lint::fixup`],
/// which is specific to the core): a header, the waivers of [`SHELL_WAIVERS`] with their
/// reasons from [`crate::lint::WAIVERS`], and the top module renamed from rust-hdl's
/// `top` to `top_name` (Verilator wants module name == file name).
pub fn finish_verilog(raw: &str, top_name: &str, what: &str) -> String {
    let header = format!(
        "// Generated by spikeslice-hdl with rust-hdl 0.46.0: {what}.\n\
         // Do not edit: regenerate with spikeslice-hdl.\n"
    );
    let waivers: Vec<(&str, &str)> = crate::lint::WAIVERS
        .iter()
        .filter(|(r, _)| SHELL_WAIVERS.contains(r))
        .copied()
        .collect();
    crate::lint::finish(&header, &waivers, raw, top_name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn width_checks() {
        assert!(check_widths(64, 8, &[64, 128]).is_ok());
        assert!(check_widths(128, 16, &[64, 128]).is_ok());
        assert_eq!(
            check_widths(32, 4, &[64, 128]),
            Err(AxiError::DataWidth(32))
        );
        assert_eq!(
            check_widths(128, 8, &[64, 128]),
            Err(AxiError::StrobeWidth {
                data: 128,
                strobe: 8
            })
        );
    }

    #[test]
    fn shell_waivers_exist_in_lint() {
        // A waiver renamed or dropped in lint.rs must not silently vanish here.
        for w in SHELL_WAIVERS {
            assert!(
                crate::lint::WAIVERS.iter().any(|(r, _)| r == w),
                "{w} not in lint::WAIVERS"
            );
        }
    }
}
