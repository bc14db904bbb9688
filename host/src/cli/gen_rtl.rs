//! `spikeslice gen-rtl`: write the Verilog rust-hdl generates, and its
//! manifest. By default the compute core alone (`spikeslice_core.v`, what the
//! equivalence tests verilate); with `--shell` the whole accelerator
//! (`spikeslice_shell.v`: register file, DMA, buffers, controller, core) and
//! the KV260 block-design wrapper (`spikeslice_kv260_top.v`) that
//! constraints/build.sh hands to Vivado.

use super::AccelArgs;
use anyhow::{Context, Result};
use spikeslice_hdl::manifest::Manifest;
use spikeslice_hdl::vivado::{self, WrapperParams};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    accel: AccelArgs,
    /// Generate the whole accelerator shell and the KV260 wrapper, not only the
    /// compute core.
    #[arg(long)]
    shell: bool,
    /// Clock the wrapper declares to the block design, in MHz (with --shell;
    /// build.tcl sets the rate the PS really generates).
    #[arg(long, default_value_t = 200.0)]
    clock_mhz: f64,
    /// Output directory.
    #[arg(long)]
    out: PathBuf,
}

pub fn run(args: Args) -> Result<()> {
    let cfg = args.accel.config()?;
    let what = format!("{}x{}", cfg.rows, cfg.cols);
    let (manifest, extra): (Manifest, Vec<PathBuf>) = if args.shell {
        let m = spikeslice_hdl::shell::generate(&cfg, &args.out)
            .with_context(|| format!("cannot generate the {what} accelerator shell"))?;
        let params = WrapperParams {
            axi_data_bits: 8 * cfg.axi_data_bytes as u32,
            clock_hz: (args.clock_mhz * 1e6).round() as u64,
        };
        let top = vivado::generate(&spikeslice_hdl::shell::ports(&cfg), &params, &args.out)
            .context("cannot generate the KV260 wrapper")?;
        (m, vec![top])
    } else {
        let m = spikeslice_hdl::generate(&cfg.array(), &args.out)
            .with_context(|| format!("cannot generate the {what} core"))?;
        (m, Vec::new())
    };
    let mut files: Vec<String> = manifest.files.iter().map(|f| f.path.clone()).collect();
    files.extend(
        extra
            .iter()
            .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned())),
    );
    println!(
        "wrote {} ({} ports) and manifest.json to {}; design hash {}",
        files.join(", "),
        manifest.ports.len(),
        args.out.display(),
        &manifest.hash[..16]
    );
    Ok(())
}
