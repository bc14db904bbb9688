//! Loading a bitstream the way Kria boards do it (docs/board.md): an app
//! folder `/lib/firmware/xilinx/<app>/` with `<app>.bit.bin`, `<app>.dtbo` and
//! `shell.json`, loaded by `xmutil loadapp` (dfx-mgr) when present; otherwise
//! the Linux FPGA manager directly (`/sys/class/fpga_manager/fpga0/{flags,firmware,state}`)
//! and the overlay through configfs. UNTESTED ON HARDWARE; in tests the same
//! code writes into a fake tree.

use crate::board::BoardPaths;
use anyhow::{bail, Context, Result};
use spikeslice_core::accel::kv260;
use std::process::Command;

/// The sync word as it appears in a `.bit.bin` (32-bit words byte-swapped).
const SWAPPED_SYNC: [u8; 4] = [0x66, 0x55, 0x99, 0xAA];

/// Which loader ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Xmutil,
    FpgaManager,
}

fn xmutil_available(paths: &BoardPaths) -> bool {
    paths.root.root() == std::path::Path::new("/")
        && Command::new("xmutil").arg("--help").output().is_ok()
}

/// Install and load `bin` with its overlay.
pub fn load(paths: &BoardPaths, bin: &[u8], dtbo: &[u8]) -> Result<Method> {
    if !bin.windows(4).any(|w| w == SWAPPED_SYNC) {
        bail!("the .bit.bin has no sync word: it is not a Zynq UltraScale+ configuration image");
    }
    let root = &paths.root;
    let app = &paths.app;
    let dir = format!("lib/firmware/xilinx/{app}");
    root.create(&format!("{dir}/{app}.bit.bin"), bin)?;
    root.create(&format!("{dir}/{app}.dtbo"), dtbo)?;
    root.create(&format!("{dir}/shell.json"), kv260::SHELL_JSON.as_bytes())?;
    if xmutil_available(paths) {
        // Unloading fails when nothing is loaded; that is fine.
        let _ = Command::new("xmutil").arg("unloadapp").output();
        let out = Command::new("xmutil")
            .args(["loadapp", app])
            .output()
            .context("cannot run xmutil")?;
        if !out.status.success() {
            bail!(
                "xmutil loadapp {app} failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        return Ok(Method::Xmutil);
    }
    // The FPGA manager loads firmware by name, relative to /lib/firmware.
    root.create(&format!("lib/firmware/{app}.bit.bin"), bin)?;
    root.create(&format!("lib/firmware/{app}.dtbo"), dtbo)?;
    let mgr = "sys/class/fpga_manager/fpga0";
    if !root.exists(mgr) {
        bail!("no FPGA manager at /{mgr} and no xmutil: cannot load a bitstream on this system");
    }
    root.write(&format!("{mgr}/flags"), "0")?; // 0: full reconfiguration
    root.write(&format!("{mgr}/firmware"), &format!("{app}.bit.bin"))?;
    let state = root.read(&format!("{mgr}/state"))?;
    if state != "operating" {
        bail!("the FPGA manager reports state {state:?} after loading, not \"operating\"");
    }
    let overlay = format!("sys/kernel/config/device-tree/overlays/{app}");
    std::fs::create_dir_all(root.path(&overlay))
        .with_context(|| format!("cannot create the configfs overlay /{overlay}"))?;
    root.write(&format!("{overlay}/path"), &format!("{app}.dtbo"))?;
    Ok(Method::FpgaManager)
}
