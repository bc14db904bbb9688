//! `spikeslice gen-rtl`: write the Verilog rust-hdl generates, and its
//! manifest. By default the compute core alone (`spikeslice_core.v`, what the
//! equivalence tests verilate); with `--shell` the whole accelerator
//! (`spikeslice_shell.v`: register file, DMA, buffers, controller, core) and
//! the KV260 block-design wrapper (`spikeslice_kv260_top.v`) that
//! constraints/build.sh hands to Vivado. With `--estimate`, yosys then maps
//! the generated design to the KV260's FPGA family and the command prints the
//! resources against the xck26 and the deepest and longest register-to-register
//! paths, and writes
//! `estimate.json` (`spikeslice_hdl::estimate`; docs/resources.md,
//! "Resources").

use super::AccelArgs;
use anyhow::{Context, Result};
use spikeslice_core::accel::kv260::XCK26;
use spikeslice_core::accel::preset::{self, Preset};
use spikeslice_hdl::estimate::{self, Estimate};
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
    /// The core alone: its fan-in in two halves of the rows (an even number),
    /// the lower half fed from a second weight stream, so that a chunk holds
    /// rows / 2 slices over half the beats (docs/compute-core.md, "The fan-in
    /// in halves and the parameter prefetch"). Not with --shell: the shell's weight banks read one weight
    /// row a cycle.
    #[arg(long)]
    fanin_halves: bool,
    /// The core alone: a tile's parameters shifted in while the last tile's
    /// drain and neuron steps go on (docs/compute-core.md, "The fan-in in
    /// halves and the parameter prefetch"). Not with --shell: the shell's controller and cycle model
    /// start a tile once the last is done.
    #[arg(long)]
    param_prefetch: bool,
    /// Clock the wrapper declares to the block design, in MHz (with --shell;
    /// build.tcl sets the rate the PS really generates).
    #[arg(long, default_value_t = 200.0)]
    clock_mhz: f64,
    /// Output directory (created if missing; files of the same names in it
    /// are replaced, others left alone).
    #[arg(long, visible_alias = "out-dir", value_name = "DIR")]
    out: PathBuf,
    /// After generating, run yosys (synth_xilinx -family xcup) on the design:
    /// print LUT, FF, carry, DSP, BRAM and URAM against the xck26 and the
    /// register-to-register paths of most LUT levels and of most cells, and
    /// write estimate.json (and
    /// estimate-yosys.log) into --out. Needs yosys; minutes for the shell.
    #[arg(long)]
    estimate: bool,
}

/// File name of the estimate inside the output directory.
pub const ESTIMATE_FILE: &str = "estimate.json";

pub fn run(args: Args) -> Result<()> {
    let cfg = args.accel.config()?;
    for (set, flag) in [
        (args.fanin_halves, "--fanin-halves"),
        (args.param_prefetch, "--param-prefetch"),
    ] {
        if set && args.shell {
            return Err(usage!(
                "{flag} builds the compute core alone; leave it out with --shell (docs/compute-core.md)"
            ));
        }
    }
    let mut array = cfg.array();
    array.fanin_halves = args.fanin_halves;
    array.param_prefetch = args.param_prefetch;
    array
        .validate()
        .map_err(|e| usage!("{}: {}", e.flag(), e.message))?;
    if args.estimate {
        // Before generating: a missing yosys ends the command at once.
        estimate::yosys_version()?;
    }
    let clock_hz = super::clock_hz(args.clock_mhz)?;
    super::outputs::check_dir_target("--out", &args.out)?;
    let what = format!("{}x{}", cfg.rows, cfg.cols);
    // Generate into a temporary directory beside --out, then move the files
    // in: a failure leaves no partial set behind (the temporary directory is
    // removed when it drops).
    let parent = match args.out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent)
        .with_context(|| format!("cannot create directory {}", parent.display()))?;
    let staging = tempfile::Builder::new()
        .prefix(".spikeslice-gen-rtl-")
        .tempdir_in(&parent)
        .with_context(|| format!("cannot write to {}", parent.display()))?;
    let dir = staging.path();
    let (manifest, extra): (Manifest, Vec<PathBuf>) = if args.shell {
        let m = spikeslice_hdl::shell::generate(&cfg, dir)
            .with_context(|| format!("cannot generate the {what} accelerator shell"))?;
        let params = WrapperParams {
            axi_data_bits: 8 * cfg.axi_data_bytes as u32,
            clock_hz: clock_hz.round() as u64,
        };
        let top = vivado::generate(&m.ports, &params, dir)
            .context("cannot generate the KV260 wrapper")?;
        (m, vec![top])
    } else {
        let m = spikeslice_hdl::generate(&array, dir)
            .with_context(|| format!("cannot generate the {what} core"))?;
        (m, Vec::new())
    };
    let mut files: Vec<String> = manifest.files.iter().map(|f| f.path.clone()).collect();
    files.extend(
        extra
            .iter()
            .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned())),
    );
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create directory {}", args.out.display()))?;
    // Every file, the manifest last (it names the others).
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.file_name()))
        .collect();
    names.sort_by_key(|n| (n == "manifest.json", n.clone()));
    for name in names {
        let (from, to) = (dir.join(&name), args.out.join(&name));
        std::fs::rename(&from, &to).with_context(|| format!("cannot write {}", to.display()))?;
    }
    status!(
        "wrote {} ({} ports) and manifest.json to {}",
        files.join(", "),
        manifest.ports.len(),
        args.out.display()
    );
    out!("design hash {}", manifest.hash);
    if args.estimate {
        status!(
            "estimating with yosys ({}; log {})",
            estimate::SYNTH,
            args.out.join(estimate::LOG_FILE).display()
        );
        let e = estimate::estimate_dir(&args.out)
            .with_context(|| format!("cannot estimate the {what} design"))?;
        let json = serde_json::to_string_pretty(&e).expect("estimate serializes") + "\n";
        let path = args.out.join(ESTIMATE_FILE);
        spikeslice_core::atomic::write(&path, json.as_bytes())?;
        print_estimate(&e, preset::preset(&args.accel.preset).ok())?;
        status!("wrote {} (yosys took {:.0} s)", path.display(), e.seconds);
    }
    Ok(())
}

/// The estimate's table on standard output: each resource against the xck26,
/// a line naming any resource over the device, the LUT margin of a board
/// preset, and the deepest and longest paths.
fn print_estimate(e: &Estimate, board_preset: Option<Preset>) -> Result<()> {
    let r = &e.resources;
    out!("resources ({}, {}; not Vivado):", e.yosys, e.synth);
    out!(
        "{:<8} {:>10} {:>10} {:>8}",
        "resource",
        "used",
        XCK26.name,
        "percent"
    );
    let usage = r.usage(&XCK26);
    for u in &usage {
        let used = if u.used.fract() == 0.0 {
            format!("{}", u.used)
        } else {
            format!("{:.1}", u.used)
        };
        out!(
            "{:<8} {:>10} {:>10} {:>7.1}%",
            u.name,
            used,
            u.capacity,
            u.percent()
        );
    }
    out!(
        "(LUT = {} logic + {} LUT RAM + {} SRL; CARRY8 = {} CARRY8 + {} CARRY4 / 2; \
         BRAM36 = {} RAMB36 + {} RAMB18 / 2; {} MUXF7/8/9)",
        r.lut,
        r.lutram,
        r.srl,
        r.carry8,
        r.carry4,
        r.bram36,
        r.bram18,
        r.muxf
    );
    let over: Vec<String> = usage
        .iter()
        .filter(|u| !u.fits())
        .map(|u| format!("{} ({} > {})", u.name, u.used, u.capacity))
        .collect();
    if over.is_empty() {
        out!("fits the {}", XCK26.name);
    } else {
        out!(
            "does NOT fit the {}: {} over the device",
            XCK26.name,
            over.join(", ")
        );
    }
    if let Some((preset, device)) = board_preset.and_then(|p| Some((p, p.device?))) {
        let lut = 100.0 * r.lut_total() as f64 / device.lut as f64;
        let within = lut <= preset::LUT_BUDGET_PERCENT as f64;
        out!(
            "{} the {} preset's margin: LUT {lut:.1}% of the {} (at most {}%)",
            if within { "within" } else { "OVER" },
            preset.name,
            device.name,
            preset::LUT_BUDGET_PERCENT
        );
    }
    let p = &e.paths;
    for (what, path) in [("deepest path", &p.deepest), ("longest path", &p.longest)] {
        out!(
            "{what}: {} LUT levels, {} carry cells, {} MUXF ({} cells) from {} to {}",
            path.lut_levels,
            path.carry_cells,
            path.muxf,
            path.cells,
            path.from,
            path.to
        );
        out!("  through {}", path.through.join(" -> "));
    }
    out!(
        "longest carry chain: {} carry cells; cells on or behind combinational loops: {}",
        p.longest_carry_chain,
        p.loop_cells
    );
    Ok(())
}
