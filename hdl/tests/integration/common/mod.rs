//! What the shell blocks' tests share: compile a generated design with its
//! self-checking test bench under Icarus Verilog and run it, lint generated
//! files with Verilator, and put core's DDR model behind a rust-hdl AXI4 master
//! port. Each test crate uses some of these.
#![allow(dead_code)]

use rust_hdl::prelude::*;
use spikeslice_core::accel::ddr::{Ddr, Handshakes, MasterOut};
use spikeslice_hdl::axi::Axi4Master;
use std::path::PathBuf;
use std::process::Command;

/// `verilator --lint-only -Wall` on `files` (name, text), written to a fresh
/// directory named after `tag`, with no `--top-module`: a module nothing
/// instantiates is a second top (MULTITOP); fails on any warning or error
/// and returns Verilator's diagnostics. Panics when Verilator is missing:
/// scripts/test.sh installs it, and a lint that cannot run must not pass.
/// `SPIKESLICE_DUMP_DIR=dir` also writes the files there, for reading.
pub fn verilator_lint(tag: &str, files: &[(&str, &str)]) -> String {
    let present = Command::new("verilator")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        present,
        "verilator is not on PATH: install Debian's `verilator` (scripts/test.sh does)"
    );
    let dir = std::env::temp_dir().join(format!("spikeslice-lint-{}-{tag}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let dump = std::env::var_os("SPIKESLICE_DUMP_DIR").map(PathBuf::from);
    let mut cmd = Command::new("verilator");
    cmd.args(["--lint-only", "-Wall"]);
    for (name, text) in files {
        std::fs::write(dir.join(name), text).unwrap();
        if let Some(d) = &dump {
            std::fs::write(d.join(format!("{tag}-{name}")), text).unwrap();
        }
        cmd.arg(dir.join(name));
    }
    let out = cmd.output().expect("run verilator");
    let diag = String::from_utf8_lossy(&out.stderr).into_owned();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        out.status.success() && !diag.contains("%Warning") && !diag.contains("%Error"),
        "verilator --lint-only -Wall on {tag}:\n{diag}"
    );
    diag
}

/// Simulate `design` (written as `design_file`) with the test bench `tb` under
/// iverilog/vvp in a fresh directory named after `name`; returns vvp's output.
/// Panics when iverilog is missing: scripts/test.sh installs it, and a bench
/// that cannot run must not pass.
pub fn run_icarus(name: &str, design_file: &str, design: &str, tb: &str) -> String {
    let present = Command::new("iverilog")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success() || !o.stdout.is_empty());
    assert!(
        present,
        "iverilog is not on PATH: install Debian's `iverilog` (scripts/test.sh does)"
    );
    let dir = std::env::temp_dir().join(format!("spikeslice-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(design_file), design).unwrap();
    std::fs::write(dir.join("tb.v"), tb).unwrap();
    let out = Command::new("iverilog")
        .args(["-g2012", "-o"])
        .arg(dir.join("sim"))
        .arg(dir.join("tb.v"))
        .arg(dir.join(design_file))
        .output()
        .expect("run iverilog");
    assert!(
        out.status.success(),
        "iverilog: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let run = Command::new("vvp")
        .arg("-n")
        .arg(dir.join("sim"))
        .output()
        .expect("run vvp");
    if std::env::var_os("SPIKESLICE_KEEP").is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    String::from_utf8_lossy(&run.stdout).into_owned()
}

/// A DMA beat of `D` bits from its bytes (little-endian, as AXI carries them).
pub fn to_bits<const D: usize>(bytes: &[u8]) -> Bits<D> {
    let mut x = Bits::<D>::default();
    for (i, c) in bytes.chunks(8).enumerate() {
        let mut w = [0u8; 8];
        w[..c.len()].copy_from_slice(c);
        x.set_bits::<64>(i * 64, u64::from_le_bytes(w).into());
    }
    x
}

/// The bytes of a DMA beat of `D` bits.
pub fn from_bits<const D: usize>(x: Bits<D>) -> Vec<u8> {
    (0..D / 64)
        .flat_map(|i| x.get_bits::<64>(i * 64).to_u64().to_le_bytes())
        .collect()
}

/// The DDR model's outputs of this cycle onto the inputs of a DMA master port
/// (before the clock's falling edge, when the design settles).
pub fn drive_ddr<const A: usize, const D: usize, const S: usize>(
    ddr: &mut Ddr,
    port: &mut Axi4Master<A, D, S>,
) {
    let o = ddr.drive();
    port.arready.next = o.arready;
    port.awready.next = o.awready;
    port.wready.next = o.wready;
    port.rvalid.next = o.rvalid;
    port.rdata.next = to_bits::<D>(&o.rdata);
    port.rresp.next = u64::from(o.rresp).into();
    port.rlast.next = o.rlast;
    port.bvalid.next = o.bvalid;
    port.bresp.next = u64::from(o.bresp).into();
}

/// The settled outputs of a DMA master port into the DDR model: the cycle's
/// handshakes.
pub fn observe_ddr<const A: usize, const D: usize, const S: usize>(
    ddr: &mut Ddr,
    port: &Axi4Master<A, D, S>,
) -> Handshakes {
    ddr.observe(&MasterOut {
        arvalid: port.arvalid.val(),
        araddr: port.araddr.val().to_u64(),
        arlen: port.arlen.val().to_u64(),
        arsize: port.arsize.val().to_u64(),
        arburst: port.arburst.val().to_u64(),
        awvalid: port.awvalid.val(),
        awaddr: port.awaddr.val().to_u64(),
        awlen: port.awlen.val().to_u64(),
        awsize: port.awsize.val().to_u64(),
        awburst: port.awburst.val().to_u64(),
        wvalid: port.wvalid.val(),
        wdata: from_bits::<D>(port.wdata.val()),
        wstrb: port.wstrb.val().to_u64(),
        wlast: port.wlast.val(),
        rready: port.rready.val(),
        bready: port.bready.val(),
    })
}
