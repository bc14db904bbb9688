//! The Vivado wrapper of the shell for the Kria KV260: a Verilog module
//! [`TOP_NAME`] (`spikeslice_kv260_top`) that instantiates the generated shell
//! `spikeslice_shell` and gives Vivado's IP integrator the names and attributes it
//! needs to use the shell as a *module reference* in a block design
//! (constraints/build.tcl).
//!
//! The names and numbers the hand-written constraints share with the wrapper are
//! written into constraints/generated/ by [`kv260`].
//!
//! **UNTESTED IN VIVADO AND ON HARDWARE.** The Verilog is linted with Verilator
//! (`hdl/tests/integration/constraints_ports.rs`); nobody has yet added it to a Vivado block
//! design. The attributes follow AMD's documented conventions:
//!
//! - UG994 (*Designing IP Subsystems Using IP Integrator*), "Inferring Control
//!   Signals in a RTL Module" and "List of Supported X_ Attributes": a clock is
//!   `X_INTERFACE_INFO = "xilinx.com:signal:clock:1.0 <port> CLK"` with
//!   `X_INTERFACE_PARAMETER = "XIL_INTERFACENAME <port>, ASSOCIATED_BUSIF a:b,
//!   ASSOCIATED_RESET <reset port>, FREQ_HZ <integer Hz>"` (at least one clock must be
//!   associated to each AXI interface; several interfaces are separated by `:`);
//!   `X_INTERFACE_PARAMETER` must start with `XIL_INTERFACENAME` when it names the
//!   interface; `X_INTERFACE_MODE` is interface-wide and may sit on any one port.
//! - Reset `xilinx.com:signal:reset:1.0 <port> RST` with `POLARITY ACTIVE_LOW`,
//!   interrupt `xilinx.com:signal:interrupt:1.0 <port> INTERRUPT` with
//!   `SENSITIVITY LEVEL_HIGH` and `PortWidth 1`, AXI ports
//!   `xilinx.com:interface:aximm:1.0 <interface> <LOGICAL>`: the forms Vivado itself
//!   writes for HLS kernels (`ap_clk`, `ap_rst_n`, `interrupt`, `s_axi_control`,
//!   `m_axi_*`), which is also why those names are used here.
//! - UG1118 (*Creating and Packaging Custom IP*), "Inferring Clock and Reset
//!   Interfaces": names ending in `n`/`_n` (`ap_rst_n`) are inferred active low; the
//!   attribute states it anyway.
//!
//! The shell's port contract is the shell's own port list ([`contract`], from
//! `crate::shell::ports`; docs/shell.md): `clock`, `rst` (synchronous, active high),
//! the AXI4-Lite slave `s_axi$*` (12-bit address, 32-bit data), the AXI4 master
//! `m_axi$*` (64-bit address, 64- or 128-bit data) without IDs, PROT, CACHE, LOCK, QOS,
//! REGION or USER, and `irq` (level). The wrapper ties the signals the shell does not
//! carry: AxPROT = 0, AxCACHE = 0b0011 (normal non-cacheable bufferable, AXI4 A4.4),
//! AxLOCK = AxQOS = AxREGION = 0, AWID = ARID = 0 (one ID: the DMA relies on same-ID
//! ordering), and ignores BID/RID. It refuses a shell port list that lacks a contract
//! port, has one with the wrong direction or width, or has a port it would not know
//! how to connect.

pub mod kv260;

use crate::manifest::{Dir, Port};
use spikeslice_core::accel::AcceleratorConfig;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Name of the wrapper module (and `<TOP_NAME>.v`, its file).
pub const TOP_NAME: &str = "spikeslice_kv260_top";
/// File name of the wrapper Verilog.
pub const VERILOG_FILE: &str = "spikeslice_kv260_top.v";
/// Module name of the generated shell the wrapper instantiates.
pub const SHELL_NAME: &str = "spikeslice_shell";
/// File name of the generated shell Verilog (written by the shell generator).
pub const SHELL_FILE: &str = "spikeslice_shell.v";
/// Instance name of the shell inside the wrapper.
pub const SHELL_INSTANCE: &str = "shell";

/// The AXI4-Lite register interface (slave) as Vivado sees it.
pub const S_AXI_IF: &str = "s_axi_control";
/// The AXI4 memory interface (master) as Vivado sees it.
pub const M_AXI_IF: &str = "m_axi_mem";
/// The clock port.
pub const CLOCK_PORT: &str = "ap_clk";
/// The active-low reset port (inverted into the shell's `rst`).
pub const RESET_PORT: &str = "ap_rst_n";
/// The level-sensitive, active-high interrupt output.
pub const IRQ_PORT: &str = "interrupt";

/// AXI4-Lite address bits: the register window is `1 << REG_ADDR_BITS` = 4 KiB.
pub const REG_ADDR_BITS: u32 = crate::csr::ADDR_BITS as u32;
/// Size of the register window in bytes.
pub const REG_WINDOW_BYTES: u64 = 1 << REG_ADDR_BITS;
/// AXI4 master address bits (the interconnect slices to the 49 bits of an HP port).
pub const MEM_ADDR_BITS: u32 = crate::axi::MASTER_ADDR_BITS as u32;
/// Width of the tied-off AXI4 master IDs.
pub const MEM_ID_BITS: u32 = 1;
/// AxCACHE driven by the wrapper: 0b0011, normal non-cacheable bufferable.
pub const AXCACHE: u32 = 0b0011;
/// Default PL clock (pl_clk0) in Hz.
pub const DEFAULT_CLOCK_HZ: u64 = 200_000_000;

/// What the wrapper is generated for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WrapperParams {
    /// AXI4 master data width: 64 or 128 (`AcceleratorConfig::axi_data_bytes * 8`).
    pub axi_data_bits: u32,
    /// Nominal clock frequency written into `FREQ_HZ` of `ap_clk` (build.tcl overrides
    /// the block-design pin with the frequency the PS actually generates).
    pub clock_hz: u64,
}

impl Default for WrapperParams {
    /// The default accelerator's DMA width at [`DEFAULT_CLOCK_HZ`].
    fn default() -> Self {
        Self {
            axi_data_bits: (AcceleratorConfig::default().axi_data_bytes * 8) as u32,
            clock_hz: DEFAULT_CLOCK_HZ,
        }
    }
}

/// Why no wrapper was generated.
#[derive(Debug, thiserror::Error)]
pub enum WrapperError {
    #[error("AXI data width {0} is not supported: the DMA master is 64 or 128 bits wide")]
    DataWidth(u32),
    #[error("clock frequency {0} Hz is outside 1 MHz ..= 1 GHz")]
    ClockHz(u64),
    #[error(
        "the shell's port list lacks {} contract port(s) the wrapper must connect: {}",
        .0.len(),
        .0.join(", ")
    )]
    Missing(Vec<String>),
    #[error("shell port `{name}` is {found}; the top port contract says {expected}")]
    Mismatch {
        name: String,
        found: String,
        expected: String,
    },
    #[error(
        "shell port `{0}` is not in the top port contract: the wrapper does not know how \
         to connect it (extend hdl/src/vivado.rs and constraints/build.tcl together)"
    )]
    Unknown(String),
    #[error("shell port `{0}` appears more than once in the port list")]
    Duplicate(String),
    #[error("cannot build the shell to read its port contract: {0}")]
    Shell(String),
    #[error(transparent)]
    Write(#[from] spikeslice_core::atomic::WriteError),
}

use Dir::{In, Out};

/// AXI4 master signals the shell does not carry, on both address channels (`aw*`,
/// `ar*`): (suffix, width, tied value). Outputs of the wrapper.
const M_AXI_TIED: &[(&str, u32, u32)] = &[
    ("id", MEM_ID_BITS, 0),
    ("lock", 1, 0),
    ("cache", 4, AXCACHE),
    ("prot", 3, 0),
    ("qos", 4, 0),
    ("region", 4, 0),
];

/// Every tied signal: (wrapper port suffix, width, value), `aw*` then `ar*`.
fn tied() -> impl Iterator<Item = (String, u32, u32)> {
    ["aw", "ar"].into_iter().flat_map(|ch| {
        M_AXI_TIED
            .iter()
            .map(move |(sig, width, value)| (format!("{ch}{sig}"), *width, *value))
    })
}

/// AXI4 master response IDs the wrapper accepts and ignores (inputs of the wrapper).
const M_AXI_IGNORED: &[(&str, u32)] = &[("bid", MEM_ID_BITS), ("rid", MEM_ID_BITS)];

/// The top port contract for an AXI4 master of `data_bits`: the port list of the
/// shell the generator builds (`crate::shell::ports`), so the wrapper's tables are
/// the shell's and cannot drift from it.
pub fn contract(data_bits: u32) -> Result<Vec<Port>, WrapperError> {
    if data_bits != 64 && data_bits != 128 {
        return Err(WrapperError::DataWidth(data_bits));
    }
    crate::shell::ports(&AcceleratorConfig {
        axi_data_bytes: data_bits as usize / 8,
        ..AcceleratorConfig::default()
    })
    .map_err(|e| WrapperError::Shell(e.to_string()))
}

/// The wrapper port a shell port is connected to; `rst` has none (the wrapper
/// drives it with the inverted `ap_rst_n`).
fn wrapper_port(shell_port: &str) -> Option<String> {
    match shell_port {
        "clock" => Some(CLOCK_PORT.into()),
        "rst" => None,
        "irq" => Some(IRQ_PORT.into()),
        _ => {
            let (bundle, sig) = shell_port.split_once('$')?;
            let intf = match bundle {
                "s_axi" => S_AXI_IF,
                "m_axi" => M_AXI_IF,
                _ => return None,
            };
            Some(format!("{intf}_{sig}"))
        }
    }
}

fn check_params(p: &WrapperParams) -> Result<(), WrapperError> {
    if !(1_000_000..=1_000_000_000).contains(&p.clock_hz) {
        return Err(WrapperError::ClockHz(p.clock_hz));
    }
    Ok(())
}

fn describe(dir: Dir, width: u32) -> String {
    let d = match dir {
        In => "an input",
        Out => "an output",
    };
    format!("{d} of {width} bit{}", if width == 1 { "" } else { "s" })
}

/// Checks `shell_ports` against the top port contract for `p` (see the module docs).
pub fn check_shell_ports(shell_ports: &[Port], p: &WrapperParams) -> Result<(), WrapperError> {
    check_params(p)?;
    check_against(shell_ports, &contract(p.axi_data_bits)?)
}

/// Checks `shell_ports` against `contract`: no duplicate, unknown, mistyped or
/// missing port.
fn check_against(shell_ports: &[Port], contract: &[Port]) -> Result<(), WrapperError> {
    for (i, port) in shell_ports.iter().enumerate() {
        if shell_ports[..i].iter().any(|q| q.name == port.name) {
            return Err(WrapperError::Duplicate(port.name.clone()));
        }
        let Some(c) = contract.iter().find(|c| c.name == port.name) else {
            return Err(WrapperError::Unknown(port.name.clone()));
        };
        if c.dir != port.dir || c.width != port.width {
            return Err(WrapperError::Mismatch {
                name: port.name.clone(),
                found: describe(port.dir, port.width),
                expected: describe(c.dir, c.width),
            });
        }
    }
    let missing: Vec<String> = contract
        .iter()
        .filter(|c| !shell_ports.iter().any(|q| q.name == c.name))
        .map(|c| format!("`{}` ({})", c.name, describe(c.dir, c.width)))
        .collect();
    if !missing.is_empty() {
        return Err(WrapperError::Missing(missing));
    }
    Ok(())
}

/// Every top-level port of the wrapper, in declaration order (directions as seen by
/// the wrapper). constraints/build.tcl and the device tree name these.
pub fn wrapper_ports(p: &WrapperParams) -> Result<Vec<Port>, WrapperError> {
    Ok(wrapper_ports_for(&contract(p.axi_data_bits)?))
}

/// The wrapper's ports for a shell with the port list `contract`.
fn wrapper_ports_for(contract: &[Port]) -> Vec<Port> {
    let port = |name: String, dir: Dir, width: u32| Port { name, dir, width };
    let mut v = vec![
        port(CLOCK_PORT.into(), In, 1),
        port(RESET_PORT.into(), In, 1),
    ];
    for c in contract {
        if c.name.contains('$') {
            let name = wrapper_port(&c.name).expect("every bus port has a wrapper port");
            v.push(port(name, c.dir, c.width));
        }
    }
    for (sig, width, _) in tied() {
        v.push(port(format!("{M_AXI_IF}_{sig}"), Out, width));
    }
    for (sig, width) in M_AXI_IGNORED {
        v.push(port(format!("{M_AXI_IF}_{sig}"), In, *width));
    }
    v.push(port(IRQ_PORT.into(), Out, 1));
    v
}

fn range(width: u32) -> String {
    if width == 1 {
        String::new()
    } else {
        format!("[{}:0] ", width - 1)
    }
}

fn decl(dir: Dir, width: u32, name: &str) -> String {
    let d = match dir {
        In => "input ",
        Out => "output",
    };
    format!("  {d} wire {}{name};\n", range(width))
}

/// The X_ attributes of wrapper port `name`, if it carries any.
fn attributes(name: &str, p: &WrapperParams, lite_data_bits: u32) -> Vec<String> {
    let info = |vlnv: &str, intf: &str, logical: &str| {
        format!("(* X_INTERFACE_INFO = \"{vlnv} {intf} {logical}\" *)")
    };
    let param = |s: String| format!("(* X_INTERFACE_PARAMETER = \"{s}\" *)");
    let mode = |m: &str| format!("(* X_INTERFACE_MODE = \"{m}\" *)");
    if name == CLOCK_PORT {
        return vec![
            info("xilinx.com:signal:clock:1.0", CLOCK_PORT, "CLK"),
            param(format!(
                "XIL_INTERFACENAME {CLOCK_PORT}, ASSOCIATED_BUSIF {S_AXI_IF}:{M_AXI_IF}, \
                 ASSOCIATED_RESET {RESET_PORT}, FREQ_HZ {}",
                p.clock_hz
            )),
        ];
    }
    if name == RESET_PORT {
        return vec![
            info("xilinx.com:signal:reset:1.0", RESET_PORT, "RST"),
            param(format!(
                "XIL_INTERFACENAME {RESET_PORT}, POLARITY ACTIVE_LOW"
            )),
        ];
    }
    if name == IRQ_PORT {
        return vec![
            info("xilinx.com:signal:interrupt:1.0", IRQ_PORT, "INTERRUPT"),
            param(format!(
                "XIL_INTERFACENAME {IRQ_PORT}, SENSITIVITY LEVEL_HIGH, PortWidth 1"
            )),
        ];
    }
    for (intf, is_master) in [(S_AXI_IF, false), (M_AXI_IF, true)] {
        let Some(sig) = name.strip_prefix(intf).and_then(|s| s.strip_prefix('_')) else {
            continue;
        };
        let mut a = vec![info(
            "xilinx.com:interface:aximm:1.0",
            intf,
            &sig.to_ascii_uppercase(),
        )];
        // Interface-wide attributes may sit on any one port of the interface (UG994):
        // the first one, AWADDR.
        if sig == "awaddr" {
            if is_master {
                a.push(mode("master"));
                a.push(param(format!(
                    "XIL_INTERFACENAME {intf}, PROTOCOL AXI4, DATA_WIDTH {}, ADDR_WIDTH \
                     {MEM_ADDR_BITS}, ID_WIDTH {MEM_ID_BITS}, READ_WRITE_MODE READ_WRITE",
                    p.axi_data_bits
                )));
            } else {
                a.push(mode("slave"));
                a.push(param(format!(
                    "XIL_INTERFACENAME {intf}, PROTOCOL AXI4LITE, DATA_WIDTH \
                     {lite_data_bits}, ADDR_WIDTH {REG_ADDR_BITS}, READ_WRITE_MODE READ_WRITE"
                )));
            }
        }
        return a;
    }
    Vec::new()
}

/// The wrapper's Verilog for a shell with ports `shell_ports` (checked against the
/// contract first: a missing, mistyped or unknown port is an error, never a
/// half-connected wrapper).
pub fn verilog(shell_ports: &[Port], p: &WrapperParams) -> Result<String, WrapperError> {
    // The contract is the default shell's port list: built once, used for the
    // check, the wrapper's ports and the instance's connections.
    check_params(p)?;
    let contract = contract(p.axi_data_bits)?;
    check_against(shell_ports, &contract)?;
    let ports = wrapper_ports_for(&contract);
    let lite_data_bits = ports
        .iter()
        .find(|q| q.name == format!("{S_AXI_IF}_wdata"))
        .map_or(0, |q| q.width);
    let mut v = String::new();
    let _ = write!(
        v,
        "// Generated by spikeslice-hdl (hdl/src/vivado.rs): the Vivado wrapper of {SHELL_NAME}\n\
         // for the Kria KV260, AXI4 master {} bits, ap_clk {} Hz.\n\
         // Do not edit: regenerate. UNTESTED IN VIVADO AND ON HARDWARE (Verilator lint only).\n\
         // Attribute conventions: AMD UG994 (IP integrator, X_INTERFACE_INFO/PARAMETER/MODE)\n\
         // and UG1118 (clock and reset inference); see hdl/src/vivado.rs.\n\
         \n\
         module {TOP_NAME} (\n",
        p.axi_data_bits, p.clock_hz
    );
    let names: Vec<&str> = ports.iter().map(|q| q.name.as_str()).collect();
    let _ = writeln!(v, "  {}\n);", names.join(",\n  "));
    for q in &ports {
        let ignored = M_AXI_IGNORED
            .iter()
            .any(|(sig, _)| q.name == format!("{M_AXI_IF}_{sig}"));
        // Local Verilator waivers, each for one declaration:
        // - BID/RID: one ID is issued, so the responses' IDs carry no information.
        // - `interrupt` is a C++ keyword-like name to Verilator (SYMRSVDWORD: its C++
        //   model renames it); it is the name Vivado's HLS kernels use, kept on purpose.
        let waiver = if ignored {
            Some("UNUSEDSIGNAL")
        } else if q.name == IRQ_PORT {
            Some("SYMRSVDWORD")
        } else {
            None
        };
        if let Some(w) = waiver {
            let _ = writeln!(v, "  /* verilator lint_off {w} */");
        }
        for a in attributes(&q.name, p, lite_data_bits) {
            let _ = writeln!(v, "  {a}");
        }
        v.push_str(&decl(q.dir, q.width, &q.name));
        if let Some(w) = waiver {
            let _ = writeln!(v, "  /* verilator lint_on {w} */");
        }
    }
    v.push_str(
        "\n  // ap_rst_n comes from proc_sys_reset (peripheral_aresetn), registered in the\n  \
         // ap_clk domain; the shell's rst is synchronous and active high.\n  \
         wire rst = ~ap_rst_n;\n\n",
    );
    v.push_str("  // Signals the shell does not carry (docs/shell.md): one ID, AxCACHE = 0b0011\n  // (normal non-cacheable bufferable), everything else 0.\n");
    for (sig, width, value) in tied() {
        let _ = writeln!(v, "  assign {M_AXI_IF}_{sig} = {width}'d{value};");
    }
    let _ = write!(v, "\n  {SHELL_NAME} {SHELL_INSTANCE} (\n");
    let conns: Vec<String> = contract
        .iter()
        .map(|c| {
            let to = wrapper_port(&c.name).unwrap_or_else(|| "rst".into());
            format!("    .{}({to})", c.name)
        })
        .collect();
    let _ = writeln!(v, "{}\n  );\n\nendmodule", conns.join(",\n"));
    Ok(v)
}

/// Writes `spikeslice_kv260_top.v` into `out_dir` (created if needed); returns its path.
pub fn generate(
    shell_ports: &[Port],
    p: &WrapperParams,
    out_dir: &Path,
) -> Result<PathBuf, WrapperError> {
    let text = verilog(shell_ports, p)?;
    let path = out_dir.join(VERILOG_FILE);
    spikeslice_core::atomic::write(&path, text.as_bytes())?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(d: u32) -> WrapperParams {
        WrapperParams {
            axi_data_bits: d,
            clock_hz: 200_000_000,
        }
    }

    #[test]
    fn contract_is_accepted_at_both_widths_and_every_port_is_connected() {
        for d in [64, 128] {
            let ports = contract(d).unwrap();
            let v = verilog(&ports, &params(d)).unwrap();
            assert!(v.contains(&format!("module {TOP_NAME} (")));
            assert!(v.contains(&format!("{SHELL_NAME} {SHELL_INSTANCE} (")));
            for q in &ports {
                assert_eq!(
                    v.matches(&format!(".{}(", q.name)).count(),
                    1,
                    "{} connected once",
                    q.name
                );
            }
            assert!(v.contains(".rst(rst)"));
            assert!(v.contains("wire rst = ~ap_rst_n;"));
            assert!(v.contains(&format!("input  wire [{}:0] m_axi_mem_rdata;", d - 1)));
            assert!(v.contains(&format!("output wire [{}:0] m_axi_mem_wstrb;", d / 8 - 1)));
            assert!(v.contains(&format!("DATA_WIDTH {d}, ADDR_WIDTH 64")));
        }
    }

    #[test]
    fn ports_are_declared_with_their_attributes() {
        let v = verilog(&contract(128).unwrap(), &params(128)).unwrap();
        for needle in [
            "(* X_INTERFACE_INFO = \"xilinx.com:signal:clock:1.0 ap_clk CLK\" *)",
            "ASSOCIATED_BUSIF s_axi_control:m_axi_mem, ASSOCIATED_RESET ap_rst_n, FREQ_HZ 200000000",
            "(* X_INTERFACE_INFO = \"xilinx.com:signal:reset:1.0 ap_rst_n RST\" *)",
            "XIL_INTERFACENAME ap_rst_n, POLARITY ACTIVE_LOW",
            "(* X_INTERFACE_INFO = \"xilinx.com:signal:interrupt:1.0 interrupt INTERRUPT\" *)",
            "XIL_INTERFACENAME interrupt, SENSITIVITY LEVEL_HIGH, PortWidth 1",
            "(* X_INTERFACE_INFO = \"xilinx.com:interface:aximm:1.0 s_axi_control AWADDR\" *)",
            "XIL_INTERFACENAME s_axi_control, PROTOCOL AXI4LITE, DATA_WIDTH 32, ADDR_WIDTH 12",
            "(* X_INTERFACE_INFO = \"xilinx.com:interface:aximm:1.0 m_axi_mem RREADY\" *)",
            "XIL_INTERFACENAME m_axi_mem, PROTOCOL AXI4, DATA_WIDTH 128",
            "assign m_axi_mem_awcache = 4'd3;",
            "assign m_axi_mem_arcache = 4'd3;",
            "assign m_axi_mem_arid = 1'd0;",
            "assign m_axi_mem_awprot = 3'd0;",
        ] {
            assert!(v.contains(needle), "missing {needle}\n{v}");
        }
        // Every wrapper port carries an X_INTERFACE_INFO: it belongs to an interface.
        for q in wrapper_ports(&params(128)).unwrap() {
            let decl = format!(" {};\n", q.name);
            let at = v
                .find(&decl)
                .unwrap_or_else(|| panic!("{} undeclared", q.name));
            let prev = v[..at].rfind(";\n").unwrap();
            assert!(
                v[prev..at].contains("X_INTERFACE_INFO"),
                "{} has no X_INTERFACE_INFO",
                q.name
            );
        }
    }

    #[test]
    fn every_missing_port_is_refused_by_name() {
        let full = contract(64).unwrap();
        for i in 0..full.len() {
            let mut ports = full.clone();
            let gone = ports.remove(i);
            let err = verilog(&ports, &params(64)).unwrap_err();
            let msg = err.to_string();
            assert!(
                matches!(err, WrapperError::Missing(ref m) if m.len() == 1),
                "{msg}"
            );
            assert!(msg.contains(&format!("`{}`", gone.name)), "{msg}");
        }
        let err = verilog(&[], &params(64)).unwrap_err();
        assert!(matches!(err, WrapperError::Missing(ref m) if m.len() == full.len()));
    }

    #[test]
    fn wrong_widths_directions_unknown_and_duplicate_ports_are_refused() {
        // A 64-bit shell wrapped as a 128-bit one.
        let err = verilog(&contract(64).unwrap(), &params(128)).unwrap_err();
        assert!(
            matches!(err, WrapperError::Mismatch { ref name, .. } if name == "m_axi$wdata"),
            "{err}"
        );
        let mut ports = contract(128).unwrap();
        ports[1].dir = Out; // rst as an output
        assert!(matches!(
            verilog(&ports, &params(128)),
            Err(WrapperError::Mismatch { .. })
        ));
        let mut ports = contract(128).unwrap();
        ports.push(Port {
            name: "debug".into(),
            dir: Out,
            width: 8,
        });
        let err = verilog(&ports, &params(128)).unwrap_err();
        assert!(err
            .to_string()
            .contains("`debug` is not in the top port contract"));
        let mut ports = contract(128).unwrap();
        ports.push(ports[0].clone());
        assert!(matches!(
            verilog(&ports, &params(128)),
            Err(WrapperError::Duplicate(_))
        ));
    }

    #[test]
    fn bad_parameters_are_refused() {
        let ports = contract(64).unwrap();
        assert!(matches!(
            verilog(&ports, &params(32)),
            Err(WrapperError::DataWidth(32))
        ));
        let p = WrapperParams {
            axi_data_bits: 64,
            clock_hz: 0,
        };
        assert!(matches!(verilog(&ports, &p), Err(WrapperError::ClockHz(0))));
    }

    #[test]
    fn wrapper_port_names_are_unique_and_prefixed() {
        let ports = wrapper_ports(&params(128)).unwrap();
        for (i, q) in ports.iter().enumerate() {
            assert!(!ports[..i].iter().any(|r| r.name == q.name), "{}", q.name);
            assert!(
                [CLOCK_PORT, RESET_PORT, IRQ_PORT].contains(&q.name.as_str())
                    || q.name.starts_with("s_axi_control_")
                    || q.name.starts_with("m_axi_mem_"),
                "{}",
                q.name
            );
        }
        assert_eq!(REG_WINDOW_BYTES, 4096);
    }
}
