//! The Vivado scripts and the device tree against the generated wrapper and the
//! register map (constraints/, hdl/src/vivado.rs; docs/board.md).
//!
//! Nothing in constraints/ can run in CI (no Vivado, no board), so this test checks
//! what can be checked without them: every accelerator pin, interface and address
//! space that constraints/build.tcl names exists in the wrapper Verilog generated
//! from the shell's port list; every wrapper interface is connected; the AXI data
//! width the script configures HP0 for is the wrapper's; the register window and the
//! interrupt in constraints/spikeslice.dtsi agree with build.tcl, with the register
//! map (core/src/accel/regmap.rs) and with the daemon's defaults; the wrapper lints
//! clean with `verilator --lint-only -Wall` next to a stub of the shell; and the
//! overlay compiles with `dtc`.
//!
//! The shell's port list is the generated shell's (`spikeslice_hdl::shell::ports`),
//! the same list `gen-rtl --shell` writes into manifest.json.
//!
//! The checks are functions returning the problems they find, so
//! `checks_can_fail` can show that a renamed port, pin or window is caught.

use spikeslice_core::accel::{regmap, AcceleratorConfig};
use spikeslice_hdl::manifest::{Dir, Port};
use spikeslice_hdl::vivado::{self, WrapperParams};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

mod common;

/// The generated shell's ports (its manifest) for an AXI4 master of
/// `axi_data_bits` data bits.
fn shell_ports(axi_data_bits: u32) -> Vec<Port> {
    spikeslice_hdl::shell::ports(&AcceleratorConfig {
        axi_data_bytes: axi_data_bits as usize / 8,
        ..AcceleratorConfig::default()
    })
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("hdl/ has a parent")
        .to_path_buf()
}

fn read(rel: &str) -> String {
    let p = repo().join(rel);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("cannot read {}: {e}", p.display()))
}

/// The default width: `AcceleratorConfig::default()`'s DMA master.
fn default_axi_bits() -> u32 {
    (AcceleratorConfig::default().axi_data_bytes * 8) as u32
}

fn wrapper_text(axi_data_bits: u32) -> String {
    let p = WrapperParams {
        axi_data_bits,
        clock_hz: vivado::DEFAULT_CLOCK_HZ,
    };
    vivado::verilog(&shell_ports(axi_data_bits), &p).expect("the contract is accepted")
}

// ------------------------------------------------------------------ parsing

/// What the wrapper's Verilog declares, read from the text (not from the generator's
/// tables, so the test checks the file Vivado will read).
#[derive(Debug, Default)]
struct Wrapper {
    module: String,
    /// Top-level ports: name -> (direction, width).
    ports: BTreeMap<String, (Dir, u32)>,
    /// Interfaces named in X_INTERFACE_INFO: name -> its logical ports.
    interfaces: BTreeMap<String, Vec<String>>,
    /// Every X_INTERFACE_PARAMETER string.
    parameters: Vec<String>,
}

fn parse_wrapper(v: &str) -> Wrapper {
    let mut w = Wrapper::default();
    for line in v.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("module ") {
            w.module = rest.split([' ', '(']).next().unwrap_or("").to_string();
        } else if let Some(rest) = line.strip_prefix("(* X_INTERFACE_INFO = \"") {
            let body = rest.split('"').next().unwrap_or("");
            let f: Vec<&str> = body.split_whitespace().collect();
            if f.len() == 3 {
                w.interfaces
                    .entry(f[1].to_string())
                    .or_default()
                    .push(f[2].to_string());
            }
        } else if let Some(rest) = line.strip_prefix("(* X_INTERFACE_PARAMETER = \"") {
            w.parameters
                .push(rest.split('"').next().unwrap_or("").to_string());
        } else if line.starts_with("input ") || line.starts_with("output ") {
            let dir = if line.starts_with("input") {
                Dir::In
            } else {
                Dir::Out
            };
            let decl = line.trim_end_matches(';');
            let width = match (decl.find('['), decl.find(':')) {
                (Some(a), Some(b)) => decl[a + 1..b].trim().parse::<u32>().unwrap_or(0) + 1,
                _ => 1,
            };
            let name = decl.split_whitespace().last().unwrap_or("").to_string();
            w.ports.insert(name, (dir, width));
        }
    }
    w
}

/// One TCL command per entry: continuation lines joined, comments dropped.
fn tcl_statements(tcl: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for line in tcl.lines() {
        let t = line.trim();
        if cur.is_empty() && (t.starts_with('#') || t.is_empty()) {
            continue;
        }
        if let Some(head) = t.strip_suffix('\\') {
            cur.push_str(head);
            cur.push(' ');
        } else {
            cur.push_str(t);
            out.push(std::mem::take(&mut cur));
        }
    }
    out
}

/// `set name value` at the top level of the script: the defaults.
fn tcl_defaults(tcl: &str) -> BTreeMap<String, String> {
    let mut vars = BTreeMap::new();
    for line in tcl.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() == 3 && f[0] == "set" && !vars.contains_key(f[1]) {
            vars.insert(f[1].to_string(), f[2].to_string());
        }
    }
    vars
}

/// Every use of the accelerator cell in the script: (command, name after `$acc/`).
fn tcl_acc_refs(tcl: &str) -> Vec<(String, String)> {
    let mut refs = Vec::new();
    for st in tcl_statements(tcl) {
        let mut rest = st.as_str();
        while let Some(at) = rest.find("$acc/") {
            let before = rest[..at].trim_end();
            let cmd = before
                .rsplit(['[', ' '])
                .find(|s| !s.is_empty() && !s.starts_with('-'))
                .unwrap_or("")
                .to_string();
            let name: String = rest[at + 5..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            refs.push((cmd, name));
            rest = &rest[at + 5..];
        }
    }
    refs
}

/// The body of the device-tree node `<header> {`.
fn dts_node<'a>(dts: &'a str, header: &str) -> Option<&'a str> {
    let start = dts.find(&format!("{header} {{"))?;
    let open = start + dts[start..].find('{')?;
    let mut depth = 0;
    for (i, c) in dts[open..].char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(&dts[open + 1..open + i]);
                }
            }
            _ => {}
        }
    }
    None
}

/// The node (body) that has `compatible = "<compat>"`.
fn dts_node_compatible<'a>(dts: &'a str, compat: &str) -> Option<&'a str> {
    let at = dts.find(&format!("compatible = \"{compat}\""))?;
    let open = dts[..at].rfind('{')?;
    let header_start = dts[..open].rfind(['\n', ';']).map_or(0, |i| i + 1);
    dts_node(&dts[header_start..], dts[header_start..open].trim())
}

fn parse_cell(s: &str) -> Option<u64> {
    let s = s.trim();
    match s.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    }
}

/// The cells of `prop = <...>` (the first group only), and of all groups for
/// `prop = <a b>, <c d>`.
fn dts_cells(node: &str, prop: &str) -> Option<Vec<u64>> {
    let at = node.find(&format!("{prop} = "))?;
    let value = &node[at + prop.len() + 3..];
    let end = value.find(';')?;
    let cells: Option<Vec<u64>> = value[..end]
        .split(['<', '>', ',', ' ', '\t'])
        .filter(|s| !s.is_empty())
        .map(parse_cell)
        .collect();
    cells
}

fn dts_string(node: &str, prop: &str) -> Option<String> {
    let at = node.find(&format!("{prop} = \""))?;
    let rest = &node[at + prop.len() + 4..];
    Some(rest[..rest.find('"')?].to_string())
}

/// The default of a `spikeslice-fw` flag, from firmware/src/main.rs
/// (`#[arg(long, default_value = "...")] <field>: String`).
fn firmware_default(main_rs: &str, field: &str) -> Option<String> {
    let at = main_rs.find(&format!("    {field}: String"))?;
    let attr = main_rs[..at].rfind("default_value = \"")?;
    let rest = &main_rs[attr + 17..];
    Some(rest[..rest.find('"')?].to_string())
}

// ------------------------------------------------------------------ checks

/// build.tcl against the wrapper. Returns the problems found.
fn check_tcl(tcl: &str, wrapper: &Wrapper) -> Vec<String> {
    let mut bad = Vec::new();
    let vars = tcl_defaults(tcl);
    let var = |n: &str| vars.get(n).cloned().unwrap_or_default();
    let stmts = tcl_statements(tcl);

    // The module reference names the wrapper; the files are the generator's.
    if var("top_module") != wrapper.module || wrapper.module != vivado::TOP_NAME {
        bad.push(format!(
            "build.tcl top_module {:?}, wrapper module {:?}, generator {:?}",
            var("top_module"),
            wrapper.module,
            vivado::TOP_NAME
        ));
    }
    if !stmts
        .iter()
        .any(|s| s.contains("create_bd_cell -type module -reference $top_module $acc_name"))
    {
        bad.push("build.tcl does not instantiate $top_module as a module reference".into());
    }
    for (v, want) in [
        ("shell_file", vivado::SHELL_FILE),
        ("top_file", vivado::VERILOG_FILE),
    ] {
        if var(v) != want {
            bad.push(format!("build.tcl {v} = {:?}, expected {want:?}", var(v)));
        }
    }

    // Every accelerator pin, interface and address space the script names exists.
    let refs = tcl_acc_refs(tcl);
    for (cmd, name) in &refs {
        let ok = match cmd.as_str() {
            "get_bd_pins" => wrapper.ports.contains_key(name),
            "get_bd_intf_pins" => wrapper.interfaces.contains_key(name),
            // An address space belongs to a master interface.
            "get_bd_addr_spaces" => {
                wrapper.interfaces.contains_key(name)
                    && wrapper
                        .ports
                        .get(&format!("{name}_awaddr"))
                        .is_some_and(|(d, _)| *d == Dir::Out)
            }
            _ => false,
        };
        if !ok {
            bad.push(format!(
                "build.tcl uses `{cmd} $acc/{name}`, which the wrapper {} does not have",
                wrapper.module
            ));
        }
    }
    // ... and every wrapper interface (AXI, clock, reset, interrupt) is connected.
    for intf in wrapper.interfaces.keys() {
        let connected = stmts.iter().any(|s| {
            (s.starts_with("connect_bd_net") || s.starts_with("connect_bd_intf_net"))
                && (s.contains(&format!("$acc/{intf}]")))
        });
        if !connected {
            bad.push(format!("build.tcl never connects the wrapper's {intf}"));
        }
    }

    // Specific connections.
    let net_with = |a: &str, b: &str| {
        stmts
            .iter()
            .any(|s| s.starts_with("connect_bd_net") && s.contains(a) && s.contains(b))
    };
    for (a, b, what) in [
        (
            format!("$acc/{}]", vivado::CLOCK_PORT),
            "$ps/pl_clk0]".to_string(),
            "the clock to pl_clk0",
        ),
        (
            format!("$acc/{}]", vivado::RESET_PORT),
            "$rst/peripheral_aresetn]".to_string(),
            "the active-low reset to proc_sys_reset's peripheral_aresetn",
        ),
        (
            format!("$acc/{}]", vivado::IRQ_PORT),
            "$ps/pl_ps_irq0]".to_string(),
            "the interrupt to pl_ps_irq0",
        ),
    ] {
        if !net_with(&a, &b) {
            bad.push(format!("build.tcl does not connect {what}"));
        }
    }
    for needle in [
        format!(
            "[get_bd_intf_pins $sc_ctrl/M00_AXI] [get_bd_intf_pins $acc/{}]",
            vivado::S_AXI_IF
        ),
        format!(
            "[get_bd_intf_pins $acc/{}] [get_bd_intf_pins $sc_mem/S00_AXI]",
            vivado::M_AXI_IF
        ),
        "[get_bd_intf_pins $ps/M_AXI_HPM0_FPD] [get_bd_intf_pins $sc_ctrl/S00_AXI]".into(),
        "[get_bd_intf_pins $sc_mem/M00_AXI] [get_bd_intf_pins $ps/S_AXI_HP0_FPD]".into(),
    ] {
        if !stmts.iter().any(|s| s.contains(&needle)) {
            bad.push(format!("build.tcl lacks the connection {needle}"));
        }
    }

    // The AXI data width: the script's default is the accelerator's default and the
    // wrapper's, HP0 is configured from it, and the script checks the wrapper's.
    let tcl_bits: u32 = var("axi_data_bits").parse().unwrap_or(0);
    let wrapper_bits = wrapper
        .ports
        .get(&format!("{}_rdata", vivado::M_AXI_IF))
        .map(|p| p.1);
    if Some(tcl_bits) != wrapper_bits || tcl_bits != default_axi_bits() {
        bad.push(format!(
            "AXI data width: build.tcl {tcl_bits}, wrapper {wrapper_bits:?}, AcceleratorConfig::default() {}",
            default_axi_bits()
        ));
    }
    let param = format!(
        "XIL_INTERFACENAME {}, PROTOCOL AXI4, DATA_WIDTH {tcl_bits},",
        vivado::M_AXI_IF
    );
    if !wrapper.parameters.iter().any(|p| p.starts_with(&param)) {
        bad.push(format!(
            "the wrapper's m_axi_mem does not declare DATA_WIDTH {tcl_bits}"
        ));
    }
    for needle in [
        "CONFIG.PSU__SAXIGP2__DATA_WIDTH $axi_data_bits",
        "CONFIG.PSU__USE__S_AXI_GP2 {1}",
        "CONFIG.PSU__USE__M_AXI_GP0 {1}",
        "CONFIG.PSU__USE__IRQ0 {1}",
        "CONFIG.PSU__CRL_APB__PL0_REF_CTRL__FREQMHZ $clock_mhz",
        "set acc_mem_width [get_property CONFIG.DATA_WIDTH [get_bd_intf_pins $acc/m_axi_mem]]",
        "if {$acc_mem_width != $axi_data_bits}",
    ] {
        if !stmts.iter().any(|s| s.contains(needle)) {
            bad.push(format!("build.tcl lacks `{needle}`"));
        }
    }

    // The register window: the wrapper's AXI4-Lite address width gives its size.
    let lite_bits = wrapper
        .ports
        .get(&format!("{}_awaddr", vivado::S_AXI_IF))
        .map_or(0, |p| p.1);
    if var("reg_range") != "4K" || (1u64 << lite_bits) != vivado::REG_WINDOW_BYTES {
        bad.push(format!(
            "register window: build.tcl range {}, wrapper {} address bits",
            var("reg_range"),
            lite_bits
        ));
    }
    if !stmts.iter().any(|s| {
        s.starts_with("assign_bd_address -offset $reg_base -range $reg_range")
            && s.contains("$ctrl_segs")
    }) {
        bad.push("build.tcl does not place the register window at $reg_base".into());
    }
    // Clock default: the wrapper's nominal FREQ_HZ.
    let mhz: u64 = var("clock_mhz").parse().unwrap_or(0);
    if mhz * 1_000_000 != vivado::DEFAULT_CLOCK_HZ {
        bad.push(format!(
            "build.tcl clock_mhz {mhz} is not the wrapper's default {} Hz",
            vivado::DEFAULT_CLOCK_HZ
        ));
    }
    bad
}

/// spikeslice.dtsi against build.tcl, the register map, the wrapper and the daemon.
fn check_dtsi(dts: &str, tcl: &str, wrapper: &Wrapper, main_rs: &str) -> Vec<String> {
    let mut bad = Vec::new();
    let vars = tcl_defaults(tcl);
    let tcl_base = vars.get("reg_base").and_then(|s| parse_cell(s));

    // The register window.
    match dts_node_compatible(dts, "generic-uio") {
        None => bad.push("spikeslice.dtsi has no generic-uio node".into()),
        Some(uio) => {
            match dts_cells(uio, "reg").as_deref() {
                Some([hi, lo, shi, slo]) => {
                    let base = (hi << 32) | lo;
                    let size = (shi << 32) | slo;
                    if Some(base) != tcl_base {
                        bad.push(format!(
                            "dtsi register base 0x{base:X}, build.tcl reg_base {tcl_base:X?}"
                        ));
                    }
                    if size != vivado::REG_WINDOW_BYTES {
                        bad.push(format!(
                            "dtsi register window 0x{size:X} bytes, the wrapper's AXI4-Lite decodes 0x{:X}",
                            vivado::REG_WINDOW_BYTES
                        ));
                    }
                    if let Some(r) = regmap::REGISTERS
                        .iter()
                        .find(|r| u64::from(r.offset) + 4 > size)
                    {
                        bad.push(format!(
                            "register {} at 0x{:03X} lies outside the dtsi window of 0x{size:X} bytes",
                            r.name, r.offset
                        ));
                    }
                    if size % 4096 != 0 || base % 4096 != 0 {
                        bad.push("the UIO map must be whole 4 KiB pages".into());
                    }
                }
                other => bad.push(format!("generic-uio reg is {other:?}, expected 4 cells")),
            }
            // The interrupt: pl_ps_irq0[0] (the only bit build.tcl drives) = SPI 89,
            // level high like the wrapper's SENSITIVITY and the register map's
            // pending-until-W1C IRQ_STATUS.
            let level_high = wrapper
                .parameters
                .iter()
                .any(|p| p.starts_with("XIL_INTERFACENAME interrupt, SENSITIVITY LEVEL_HIGH"));
            let held = regmap::by_name("IRQ_STATUS").map(|r| r.access) == Some(regmap::Access::W1c)
                && regmap::ctrl::IRQ_ENABLE != 0;
            const GIC_SPI: u64 = 0;
            const PL_PS_IRQ0_SPI: u64 = 89; // UG1085 "PS-PL Interrupts"
            const IRQ_TYPE_LEVEL_HIGH: u64 = 4;
            let want = [GIC_SPI, PL_PS_IRQ0_SPI, IRQ_TYPE_LEVEL_HIGH];
            if dts_cells(uio, "interrupts").as_deref() != Some(&want[..]) || !level_high || !held {
                bad.push(format!(
                    "interrupt: dtsi {:?}, expected {want:?} (wrapper level-high: {level_high}, \
                     IRQ_STATUS W1C: {held})",
                    dts_cells(uio, "interrupts")
                ));
            }
            if !uio.contains("interrupt-parent = <&gic>;") {
                bad.push("the generic-uio node's interrupt-parent is not &gic".into());
            }
        }
    }

    // The bitstream name the overlay loads: the app's, as the daemon installs it.
    let app = vars.get("app").cloned().unwrap_or_default();
    let fw_app = firmware_default(main_rs, "app");
    let full = dts_node(dts, "&fpga_full").unwrap_or("");
    if dts_string(full, "firmware-name") != Some(format!("{app}.bit.bin"))
        || fw_app.as_deref() != Some(app.as_str())
    {
        bad.push(format!(
            "firmware-name {:?}, build.tcl app {app:?}, spikeslice-fw --app default {fw_app:?}",
            dts_string(full, "firmware-name")
        ));
    }
    // pl_clk0 rate default = build.tcl's default request; build.sh's marker present.
    let mhz: u64 = vars
        .get("clock_mhz")
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let clk = dts_node(full, "clocking0").unwrap_or("");
    if dts_cells(clk, "assigned-clock-rates") != Some(vec![mhz * 1_000_000])
        || !clk.contains("/* PL_CLK0_HZ */")
    {
        bad.push(format!(
            "clocking0 assigned-clock-rates {:?}, build.tcl clock_mhz {mhz} (and the PL_CLK0_HZ marker)",
            dts_cells(clk, "assigned-clock-rates")
        ));
    }
    // HP0's AFI width (regid 4 read, 5 write) = the default DMA width.
    let afi = dts_node(full, "afi0").unwrap_or("");
    let pairs = dts_cells(afi, "config-afi").unwrap_or_default();
    let width_code = match vars.get("axi_data_bits").map(String::as_str) {
        Some("128") => Some(0),
        Some("64") => Some(1),
        _ => None,
    };
    for regid in [4u64, 5] {
        let v = pairs.chunks(2).find(|p| p[0] == regid).map(|p| p[1]);
        if v.is_none() || v != width_code {
            bad.push(format!(
                "config-afi regid {regid} (HP0) = {v:?}, expected {width_code:?} for {:?} bits",
                vars.get("axi_data_bits")
            ));
        }
    }
    if !afi.contains("/* AFI_HP0 */") {
        bad.push("the config-afi line lacks the AFI_HP0 marker build.sh edits".into());
    }
    // DMA memory: the device the daemon opens.
    match dts_node_compatible(dts, "ikwzm,u-dma-buf") {
        None => bad.push("spikeslice.dtsi has no u-dma-buf node".into()),
        Some(udma) => {
            let name = dts_string(udma, "device-name");
            if name != firmware_default(main_rs, "udmabuf") {
                bad.push(format!(
                    "u-dma-buf device-name {name:?}, spikeslice-fw --udmabuf default {:?}",
                    firmware_default(main_rs, "udmabuf")
                ));
            }
            match dts_cells(udma, "size").as_deref() {
                Some([s]) if *s >= 1 << 20 && s % 4096 == 0 => {}
                other => bad.push(format!(
                    "u-dma-buf size {other:?}: want whole pages, >= 1 MiB"
                )),
            }
        }
    }
    bad
}

fn assert_none(problems: Vec<String>) {
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

// ------------------------------------------------------------------ tests

#[test]
fn build_tcl_names_only_what_the_wrapper_has() {
    let w = parse_wrapper(&wrapper_text(default_axi_bits()));
    assert_eq!(w.module, vivado::TOP_NAME);
    // The parse saw the whole wrapper (guards the parser itself).
    let expected = vivado::wrapper_ports(&WrapperParams {
        axi_data_bits: default_axi_bits(),
        clock_hz: vivado::DEFAULT_CLOCK_HZ,
    });
    assert_eq!(w.ports.len(), expected.len());
    for p in &expected {
        assert_eq!(w.ports.get(&p.name), Some(&(p.dir, p.width)), "{}", p.name);
    }
    for intf in [
        vivado::S_AXI_IF,
        vivado::M_AXI_IF,
        vivado::CLOCK_PORT,
        vivado::RESET_PORT,
        vivado::IRQ_PORT,
    ] {
        assert!(w.interfaces.contains_key(intf), "{intf}");
    }
    let tcl = read("constraints/build.tcl");
    assert!(
        tcl_acc_refs(&tcl).len() >= 8,
        "the parser found too few accelerator references"
    );
    assert_none(check_tcl(&tcl, &w));
}

#[test]
fn dtsi_agrees_with_build_tcl_regmap_wrapper_and_daemon() {
    let w = parse_wrapper(&wrapper_text(default_axi_bits()));
    assert_none(check_dtsi(
        &read("constraints/spikeslice.dtsi"),
        &read("constraints/build.tcl"),
        &w,
        &read("firmware/src/main.rs"),
    ));
}

#[test]
fn shell_json_and_build_sh_agree() {
    let j: serde_json::Value =
        serde_json::from_str(&read("constraints/shell.json")).expect("shell.json is JSON");
    assert_eq!(j["shell_type"], "XRT_FLAT");
    assert_eq!(j["num_slots"], "1");
    // The daemon writes the same shell.json when it installs an app itself.
    let loader = read("firmware/src/loader.rs");
    assert!(loader.contains(r#""shell_type": "XRT_FLAT", "num_slots": "1""#));
    let sh = read("constraints/build.sh");
    for needle in [
        "/* PL_CLK0_HZ */",
        "AFI_HP0",
        "constraints/build.tcl",
        "dtc -@ -I dts -O dtb",
        "-process_bitstream bin",
        vivado::SHELL_FILE,
        vivado::VERILOG_FILE,
    ] {
        assert!(sh.contains(needle), "build.sh lacks {needle}");
    }
}

#[test]
fn checks_can_fail() {
    let good = wrapper_text(default_axi_bits());
    let tcl = read("constraints/build.tcl");
    let dts = read("constraints/spikeslice.dtsi");
    let main_rs = read("firmware/src/main.rs");

    // A wrapper port renamed (as if the generator changed a name).
    let renamed = parse_wrapper(&good.replace("ap_rst_n", "ap_resetn"));
    let p = check_tcl(&tcl, &renamed);
    assert!(p.iter().any(|m| m.contains("$acc/ap_rst_n")), "{p:?}");
    // A pin renamed in the script.
    let w = parse_wrapper(&good);
    let p = check_tcl(&tcl.replace("$acc/interrupt]", "$acc/irq]"), &w);
    assert!(p.iter().any(|m| m.contains("$acc/irq")), "{p:?}");
    assert!(p.iter().any(|m| m.contains("interrupt")), "{p:?}");
    // A 64-bit wrapper against the 128-bit script.
    let p = check_tcl(&tcl, &parse_wrapper(&wrapper_text(64)));
    assert!(p.iter().any(|m| m.starts_with("AXI data width")), "{p:?}");
    // A wrong window size, base and interrupt in the overlay.
    let p = check_dtsi(
        &dts.replace("0x0 0x1000>", "0x0 0x100>"),
        &tcl,
        &w,
        &main_rs,
    );
    assert!(
        p.iter().any(|m| m.contains("register window 0x100")),
        "{p:?}"
    );
    assert!(p.iter().any(|m| m.contains("CNT_")), "{p:?}");
    let p = check_dtsi(
        &dts.replace("0xa0000000 0x0", "0xa0010000 0x0"),
        &tcl,
        &w,
        &main_rs,
    );
    assert!(p.iter().any(|m| m.contains("register base")), "{p:?}");
    let p = check_dtsi(&dts.replace("<0 89 4>", "<0 90 4>"), &tcl, &w, &main_rs);
    assert!(p.iter().any(|m| m.starts_with("interrupt")), "{p:?}");
    let p = check_dtsi(&dts.replace("<0 89 4>", "<0 89 1>"), &tcl, &w, &main_rs);
    assert!(p.iter().any(|m| m.starts_with("interrupt")), "{p:?}");
    // The HP0 width and the device name.
    let p = check_dtsi(
        &dts.replace("<4 0>, <5 0>", "<4 1>, <5 1>"),
        &tcl,
        &w,
        &main_rs,
    );
    assert!(p.iter().any(|m| m.contains("regid 4")), "{p:?}");
    let p = check_dtsi(
        &dts.replace("\"udmabuf0\"", "\"udmabuf1\""),
        &tcl,
        &w,
        &main_rs,
    );
    assert!(p.iter().any(|m| m.contains("device-name")), "{p:?}");
    // The generator itself refuses a shell that lost a contract port.
    let mut ports = shell_ports(128);
    ports.retain(|p| p.name != "irq");
    let err = vivado::verilog(&ports, &WrapperParams::default()).unwrap_err();
    assert!(err.to_string().contains("`irq`"), "{err}");
}

// ------------------------------------------------------------------ tools

fn tool_present(tool: &str, arg: &str) -> bool {
    Command::new(tool)
        .arg(arg)
        .output()
        .is_ok_and(|o| o.status.success())
}

fn scratch(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "spikeslice-constraints-{}-{tag}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A behaviour-free `spikeslice_shell` with exactly the contract's ports (outputs
/// driven to 0), so Verilator can elaborate the wrapper.
fn shell_stub(ports: &[Port]) -> String {
    let names: Vec<&str> = ports.iter().map(|p| p.name.as_str()).collect();
    let mut s = format!(
        "// Stub of the shell for linting the wrapper: the contract's ports, no logic.\n\
         /* verilator lint_off UNUSEDSIGNAL */\n\
         module {}(\n  {}\n);\n",
        vivado::SHELL_NAME,
        names.join(",\n  ")
    );
    for p in ports {
        let range = if p.width == 1 {
            String::new()
        } else {
            format!("[{}:0] ", p.width - 1)
        };
        match p.dir {
            Dir::In => s.push_str(&format!("  input wire {range}{};\n", p.name)),
            Dir::Out => s.push_str(&format!(
                "  output wire {range}{};\n  assign {} = {}'d0;\n",
                p.name, p.name, p.width
            )),
        }
    }
    s.push_str("endmodule\n/* verilator lint_on UNUSEDSIGNAL */\n");
    s
}

/// `verilator --lint-only -Wall` on the wrapper with a stub of the shell (the
/// real shell lints on its own in tests/shell_lint.rs; the stub keeps this fast).
/// scripts/test.sh installs Verilator.
#[test]
fn wrapper_lints_clean_with_a_stub_shell() {
    for bits in [64, 128] {
        common::verilator_lint(
            &format!("wrapper{bits}"),
            vivado::TOP_NAME,
            &[
                (vivado::VERILOG_FILE, &wrapper_text(bits)),
                (vivado::SHELL_FILE, &shell_stub(&shell_ports(bits))),
            ],
        );
    }
}

/// `dtc -@` on the overlay, as constraints/build.sh runs it. scripts/test.sh
/// installs dtc (Debian: device-tree-compiler).
#[test]
fn dtsi_compiles_with_dtc() {
    assert!(
        tool_present("dtc", "--version"),
        "dtc is not on PATH (Debian: device-tree-compiler; scripts/test.sh installs it)"
    );
    let dir = scratch("dtc");
    let out_file = dir.join("spikeslice.dtbo");
    let out = Command::new("dtc")
        .args(["-@", "-I", "dts", "-O", "dtb", "-o"])
        .arg(&out_file)
        .arg(repo().join("constraints/spikeslice.dtsi"))
        .output()
        .expect("run dtc");
    let diag = String::from_utf8_lossy(&out.stderr).into_owned();
    let blob = std::fs::read(&out_file).unwrap_or_default();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(out.status.success(), "dtc failed:\n{diag}");
    // Only warnings about phandles the running kernel's tree provides are expected.
    for line in diag.lines().filter(|l| l.contains("Warning")) {
        assert!(
            line.contains("Could not get phandle node")
                || line.contains("Invalid phandle")
                || line.contains("Missing interrupt-parent"),
            "unexpected dtc warning: {line}"
        );
    }
    // A flattened device tree (magic 0xd00dfeed) with the overlay's symbols.
    assert_eq!(blob.get(..4), Some(&[0xd0, 0x0d, 0xfe, 0xed][..]));
    let text = String::from_utf8_lossy(&blob);
    for needle in [
        "__fixups__",
        "__symbols__",
        "generic-uio",
        "ikwzm,u-dma-buf",
    ] {
        assert!(text.contains(needle), "dtbo lacks {needle}");
    }
}
