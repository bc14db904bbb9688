//! The hand-written Vivado script, overlay and build script against what the
//! generator writes for them (constraints/, hdl/src/vivado.rs; docs/board.md).
//!
//! The names and numbers the constraints share with the generated wrapper, the
//! register map and the default accelerator are generated into
//! constraints/generated/ (`spikeslice_hdl::vivado::kv260`); the first test fails
//! when a committed file differs from what the code writes, and
//! `SPIKESLICE_BLESS=1 cargo test -p spikeslice-hdl --test integration constraints_ports::`
//! rewrites them. The other checks cover what is still written by hand: that
//! build.tcl, spikeslice.dtsi and build.sh include the generated pieces and
//! restate none of their facts, and the block-design connections on the PS side
//! (the daemon's defaults are the same constants of core as the generated names,
//! `spikeslice_core::accel::kv260`). The
//! wrapper lints clean with `verilator --lint-only -Wall` next to a stub of the
//! shell, and the overlay compiles with `dtc`.
//!
//! The checks are functions returning the problems they find, so
//! `checks_can_fail` can show that a restated fact or a lost include is caught.

use spikeslice_hdl::manifest::{Dir, Port};
use spikeslice_hdl::vivado::{self, kv260, WrapperParams};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common;

/// The generated shell's ports (its manifest) for an AXI4 master of
/// `axi_data_bits` data bits.
fn shell_ports(axi_data_bits: u32) -> Vec<Port> {
    vivado::contract(axi_data_bits).unwrap()
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

fn wrapper_text(axi_data_bits: u32) -> String {
    let p = WrapperParams {
        axi_data_bits,
        ..WrapperParams::default()
    };
    vivado::verilog(&shell_ports(axi_data_bits), &p).expect("the contract is accepted")
}

fn assert_none(problems: Vec<String>) {
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

// ------------------------------------------------------------------ generated

#[test]
fn generated_files_are_current() {
    let bless = std::env::var_os("SPIKESLICE_BLESS").is_some();
    for (rel, want) in kv260::files() {
        let path = repo().join(&rel);
        if bless {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &want).unwrap();
        }
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            have == want,
            "{rel} is stale: run SPIKESLICE_BLESS=1 cargo test -p spikeslice-hdl --test integration constraints_ports::"
        );
    }
}

// ------------------------------------------------------------------ parsing

/// One Tcl command per entry: continuation lines joined, comments dropped.
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

/// `set name value` at the top level of a script.
fn tcl_sets(tcl: &str) -> BTreeMap<String, String> {
    let mut vars = BTreeMap::new();
    for line in tcl.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() == 3 && f[0] == "set" && !vars.contains_key(f[1]) {
            vars.insert(f[1].to_string(), f[2].to_string());
        }
    }
    vars
}

/// What follows each `$<cell>/` in the script: a pin, interface or address space.
fn tcl_cell_refs(tcl: &str, cell: &str) -> Vec<String> {
    let tag = format!("${cell}/");
    let mut refs = Vec::new();
    for st in tcl_statements(tcl) {
        let mut rest = st.as_str();
        while let Some(at) = rest.find(&tag) {
            rest = &rest[at + tag.len()..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '$')
                .collect();
            refs.push(name);
        }
    }
    refs
}

// ------------------------------------------------------------------ checks

/// build.tcl: sources the generated names, restates none, names the wrapper and the
/// PS only through them, and connects every wrapper interface.
fn check_tcl(tcl: &str, generated: &str) -> Vec<String> {
    let mut bad = Vec::new();
    let shared = tcl_sets(generated);
    let stmts = tcl_statements(tcl);
    if !stmts
        .iter()
        .any(|s| s == "source [file join $script_dir generated accel.tcl]")
    {
        bad.push("build.tcl does not source generated/accel.tcl".into());
    }
    for (name, value) in tcl_sets(tcl) {
        if shared.contains_key(&name) {
            bad.push(format!(
                "build.tcl sets {name} {value}, which generated/accel.tcl holds"
            ));
        }
    }
    // Pins and interfaces of the accelerator and the PS only through the generated
    // names (the PS's clock and interrupt pins pair with the overlay's numbers).
    for cell in ["acc", "ps"] {
        for name in tcl_cell_refs(tcl, cell) {
            let generated_var = name
                .strip_prefix('$')
                .is_some_and(|v| shared.contains_key(v));
            let ps_side = cell == "ps" && !name.starts_with('$');
            if !generated_var && !ps_side {
                bad.push(format!("build.tcl names `${cell}/{name}` by hand"));
            }
        }
    }
    for name in ["pl_clk0", "pl_ps_irq0", "S_AXI_HP0_FPD", "M_AXI_HPM0_FPD"] {
        if tcl_cell_refs(tcl, "ps").iter().any(|n| n == name) {
            bad.push(format!("build.tcl names the PS's {name} by hand"));
        }
    }
    // The connections written by hand: each generated interface and pin, to what.
    let connected = |a: &str, b: &str| {
        stmts.iter().any(|s| {
            (s.starts_with("connect_bd_net") || s.starts_with("connect_bd_intf_net"))
                && s.contains(&format!("{a}]"))
                && s.contains(&format!("{b}]"))
        })
    };
    for (a, b) in [
        ("$acc/$acc_clk_pin", "$ps/$ps_clk_pin"),
        ("$acc/$acc_rst_pin", "$rst/peripheral_aresetn"),
        ("$acc/$acc_irq_pin", "$ps/$ps_irq_pin"),
        ("$acc/$acc_ctrl_intf", "$sc_ctrl/M00_AXI"),
        ("$ps/$ps_ctrl_port", "$sc_ctrl/S00_AXI"),
        ("$acc/$acc_mem_intf", "$sc_mem/S00_AXI"),
        ("$ps/$ps_mem_port", "$sc_mem/M00_AXI"),
    ] {
        if !connected(a, b) {
            bad.push(format!("build.tcl does not connect {a} to {b}"));
        }
    }
    // The DMA width configures HP0 and is checked against the wrapper; the register
    // window is placed at the generated base and size.
    for needle in [
        "CONFIG.PSU__SAXIGP2__DATA_WIDTH $axi_data_bits",
        "CONFIG.PSU__USE__S_AXI_GP2 {1}",
        "CONFIG.PSU__USE__M_AXI_GP0 {1}",
        "CONFIG.PSU__USE__IRQ0 {1}",
        "CONFIG.PSU__CRL_APB__PL0_REF_CTRL__FREQMHZ $clock_mhz",
        "set acc_mem_width [get_property CONFIG.DATA_WIDTH [get_bd_intf_pins $acc/$acc_mem_intf]]",
        "if {$acc_mem_width != $axi_data_bits}",
        "if {[lsearch -exact $axi_data_widths $axi_data_bits] < 0}",
        "set acc [create_bd_cell -type module -reference $top_module $acc_name]",
        "assign_bd_address -offset $reg_base -range $reg_range",
    ] {
        if !stmts.iter().any(|s| s.contains(needle)) {
            bad.push(format!("build.tcl lacks `{needle}`"));
        }
    }
    bad
}

/// spikeslice.dtsi holds no node of its own: everything comes from the generated
/// include.
fn check_dtsi(dts: &str) -> Vec<String> {
    let mut bad = Vec::new();
    let code: Vec<&str> = dts
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("//"))
        .collect();
    if code
        != [
            "/dts-v1/;",
            "/plugin/;",
            "/include/ \"generated/accel.dtsi\"",
        ]
    {
        bad.push(format!(
            "spikeslice.dtsi should only include generated/accel.dtsi, has {code:?}"
        ));
    }
    bad
}

/// build.sh: sources the generated settings and edits the generated overlay's
/// marked lines.
fn check_build_sh(sh: &str, dtsi: &str) -> Vec<String> {
    let mut bad = Vec::new();
    for needle in [
        ". \"$ROOT/constraints/generated/accel.sh\"",
        "\"$ROOT/constraints/generated/accel.dtsi\" > \"$OUT/generated/accel.dtsi\"",
        "/* PL_CLK0_HZ */",
        "AFI_HP0",
        "$AFI_WIDTH_64",
        "$AFI_WIDTH_128",
        "constraints/build.tcl",
        "dtc -@ -I dts -O dtb",
        "-process_bitstream bin",
    ] {
        if !sh.contains(needle) {
            bad.push(format!("build.sh lacks {needle}"));
        }
    }
    for marker in [kv260::PL_CLK0_MARKER, kv260::AFI_MARKER] {
        if !dtsi.contains(marker) {
            bad.push(format!("the generated overlay lacks the marker {marker}"));
        }
    }
    for restated in [
        "APP=",
        "spikeslice_shell.v",
        "spikeslice_kv260_top.v",
        ":-128}",
        ":-200}",
    ] {
        if sh.contains(restated) {
            bad.push(format!("build.sh restates {restated}"));
        }
    }
    bad
}

// ------------------------------------------------------------------ tests

#[test]
fn build_tcl_takes_the_shared_names_from_the_generated_include() {
    let tcl = read("constraints/build.tcl");
    assert!(
        tcl_cell_refs(&tcl, "acc").len() >= 8,
        "the parser found too few accelerator references"
    );
    assert_none(check_tcl(&tcl, &kv260::tcl()));
}

#[test]
fn overlay_is_the_generated_nodes() {
    assert_none(check_dtsi(&read("constraints/spikeslice.dtsi")));
}

#[test]
fn shell_json_and_build_sh_agree() {
    let j: serde_json::Value =
        serde_json::from_str(&read("constraints/shell.json")).expect("shell.json is JSON");
    // The daemon writes the same shell.json when it installs an app itself.
    let daemons: serde_json::Value =
        serde_json::from_str(spikeslice_core::accel::kv260::SHELL_JSON).unwrap();
    assert_eq!(j, daemons);
    assert_eq!(j["shell_type"], "XRT_FLAT");
    assert_none(check_build_sh(
        &read("constraints/build.sh"),
        &kv260::dtsi(),
    ));
}

#[test]
fn checks_can_fail() {
    let tcl = read("constraints/build.tcl");
    let generated = kv260::tcl();
    let dts = read("constraints/spikeslice.dtsi");
    let sh = read("constraints/build.sh");

    // A pin named by hand, a fact restated, the include lost.
    let p = check_tcl(
        &tcl.replace("$acc/$acc_irq_pin]", "$acc/interrupt]"),
        &generated,
    );
    assert!(
        p.iter().any(|m| m.contains("`$acc/interrupt` by hand")),
        "{p:?}"
    );
    assert!(
        p.iter()
            .any(|m| m.contains("does not connect $acc/$acc_irq_pin")),
        "{p:?}"
    );
    let p = check_tcl(
        &tcl.replace("$ps/$ps_irq_pin]", "$ps/pl_ps_irq0]"),
        &generated,
    );
    assert!(p.iter().any(|m| m.contains("PS's pl_ps_irq0")), "{p:?}");
    let p = check_tcl(&format!("{tcl}\nset reg_base 0xA0010000\n"), &generated);
    assert!(p.iter().any(|m| m.contains("sets reg_base")), "{p:?}");
    let p = check_tcl(&tcl.replace("generated accel.tcl", "accel.tcl"), &generated);
    assert!(p.iter().any(|m| m.contains("does not source")), "{p:?}");
    // A node written into the overlay by hand.
    let p = check_dtsi(&dts.replace("/plugin/;", "/plugin/;\n&amba { };"));
    assert!(p.iter().any(|m| m.contains("should only include")), "{p:?}");
    // build.sh with its own default, and an overlay without the marker it edits.
    let p = check_build_sh(
        &sh.replace(
            "${AXI_DATA_BITS:-$DEFAULT_AXI_DATA_BITS}",
            "${AXI_DATA_BITS:-128}",
        ),
        &kv260::dtsi(),
    );
    assert!(p.iter().any(|m| m.contains("restates :-128}")), "{p:?}");
    let p = check_build_sh(&sh, &kv260::dtsi().replace(kv260::AFI_MARKER, ""));
    assert!(p.iter().any(|m| m.contains("AFI_HP0")), "{p:?}");
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
/// real shell lints on its own in shell_lint.rs; the stub keeps this fast).
/// scripts/test.sh installs Verilator.
#[test]
fn wrapper_lints_clean_with_a_stub_shell() {
    for bits in [64, 128] {
        common::verilator_lint(
            &format!("wrapper{bits}"),
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
