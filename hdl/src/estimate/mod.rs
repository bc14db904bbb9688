//! Resource and path estimate of a generated design without vendor tools: yosys's
//! `synth_xilinx -family xcup` (the KV260's UltraScale+ family) maps the design
//! to Xilinx cells, `stat` counts them, and [`netlist`] finds the longest
//! register-to-register paths of the netlist yosys writes (docs/resources.md,
//! "Resources").
//!
//! What the figures are: yosys's technology mapping, before any place and route.
//! What they are not: Vivado's utilization or timing. Vivado optimises further
//! (and maps adders to CARRY8 where yosys 0.23 uses CARRY4), and a path's delay
//! depends on placement and routing, which no step here models; a path is a
//! count of cells, not nanoseconds.
//!
//! Why not `synth_xilinx -abc9`: yosys 0.23's ABC9 flow (marked experimental;
//! for `xcup` it warns that it uses the 7 series' delays) mapped the 1x1 shell
//! of hdl/tests/integration/estimate.rs (its neuron unit's division step a comparison
//! beside the subtraction) to 11,044 LUT where `abc` made 15,058, but with a
//! deepest path of 17 LUT levels (a ripple of LUT5s behind the im2col row
//! generator's input count, `ctl.row_gen.k`) where `abc` finds 9. The path
//! report is what backs the clock, and the same claim under ABC9 would need
//! more registers: the estimate stays with `abc`.
//!
//! Why not yosys's own `ltp`: it reports the path of most cells only, not the
//! one of most LUT levels, and yosys 0.23's `ltp -noff` does not know Xilinx
//! flip-flop cells (FDRE) as flip-flops, so it needs a selection without the
//! sequential cells. Reading the netlist gives both paths and their ends in
//! one pass.

pub mod netlist;
pub mod parse;

use spikeslice_core::accel::kv260::Device;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// The yosys command line the estimate runs.
pub const YOSYS: &str = "yosys";
/// The synthesis command (without `-top`): see the module doc.
pub const SYNTH: &str = "synth_xilinx -family xcup -uram -flatten -noiopad";
/// The estimate's yosys log, in the design's directory.
pub const LOG_FILE: &str = "estimate-yosys.log";

/// Why an estimate could not be made.
#[derive(Debug, thiserror::Error)]
pub enum EstimateError {
    #[error("yosys was not found: install yosys (Debian package yosys)")]
    NoYosys,
    #[error("cannot run yosys: {0}")]
    Spawn(std::io::Error),
    #[error("yosys failed: {line}\n(full log: {})", log.display())]
    Yosys { line: String, log: PathBuf },
    #[error("cannot read the design in {}: {detail}", dir.display())]
    Design { dir: PathBuf, detail: String },
    #[error("{}: {error}", path.display())]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{error} (full log: {})", log.display())]
    Parse {
        error: parse::ParseError,
        log: PathBuf,
    },
    #[error("{error} (full log: {})", log.display())]
    Netlist {
        error: netlist::NetlistError,
        log: PathBuf,
    },
}

/// Cell counts of the mapped design, by resource.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ResourceEstimate {
    /// LUT1..LUT6 and INV (logic LUTs; an INV is a LUT1 in the device).
    pub lut: u64,
    /// LUTs used as memory: LUT RAM cells (RAM32M, RAM64M, RAM*X1*).
    pub lutram: u64,
    /// LUTs used as shift registers (SRL16E, SRLC32E).
    pub srl: u64,
    /// Flip-flops (FDRE, FDSE, FDCE, FDPE) and latches.
    pub ff: u64,
    /// CARRY4 cells (yosys 0.23 maps adders to CARRY4 also for UltraScale+).
    pub carry4: u64,
    /// CARRY8 cells.
    pub carry8: u64,
    /// Wide-function muxes (MUXF7, MUXF8, MUXF9).
    pub muxf: u64,
    /// DSP48E2 (or DSP48E1) slices.
    pub dsp: u64,
    /// RAMB36 cells.
    pub bram36: u64,
    /// RAMB18 cells (half a RAMB36 each).
    pub bram18: u64,
    /// URAM288 cells.
    pub uram: u64,
    /// Every cell type and its count, as `stat` gives them.
    pub cells: BTreeMap<String, u64>,
}

impl ResourceEstimate {
    /// Sorts `stat`'s cell counts into resources.
    pub fn from_cells(cells: BTreeMap<String, u64>) -> Self {
        let sum = |f: &dyn Fn(&str) -> bool| -> u64 {
            cells
                .iter()
                .filter(|(k, _)| f(k.as_str()))
                .map(|(_, n)| n)
                .sum()
        };
        ResourceEstimate {
            lut: sum(&|k| k.starts_with("LUT") || k == "INV"),
            lutram: sum(&|k| k.starts_with("RAM") && !k.starts_with("RAMB")),
            srl: sum(&|k| k.starts_with("SRL")),
            ff: sum(&|k| k.starts_with("FD") || k.starts_with("LD")),
            carry4: sum(&|k| k == "CARRY4"),
            carry8: sum(&|k| k == "CARRY8"),
            muxf: sum(&|k| k.starts_with("MUXF")),
            dsp: sum(&|k| k.starts_with("DSP48")),
            bram36: sum(&|k| k.starts_with("RAMB36")),
            bram18: sum(&|k| k.starts_with("RAMB18")),
            uram: sum(&|k| k.starts_with("URAM")),
            cells,
        }
    }

    /// LUTs of the device used: logic, memory and shift registers.
    pub fn lut_total(&self) -> u64 {
        self.lut + self.lutram + self.srl
    }

    /// Carry cells in CARRY8s (an UltraScale+ CARRY8 holds two CARRY4s).
    pub fn carry8_equivalent(&self) -> u64 {
        self.carry8 + self.carry4.div_ceil(2)
    }

    /// Block RAM in RAMB36s (two RAMB18s share one RAMB36 site).
    pub fn bram36_equivalent(&self) -> f64 {
        self.bram36 as f64 + self.bram18 as f64 / 2.0
    }

    /// Each resource: its name, the figure, the device's capacity.
    pub fn usage(&self, device: &Device) -> Vec<Usage> {
        let u = |name: &'static str, used: f64, capacity: u64| Usage {
            name,
            used,
            capacity,
        };
        vec![
            u("LUT", self.lut_total() as f64, device.lut),
            u("FF", self.ff as f64, device.ff),
            u("CARRY8", self.carry8_equivalent() as f64, device.carry8),
            u("DSP", self.dsp as f64, device.dsp),
            u("BRAM36", self.bram36_equivalent(), device.bram36),
            u("URAM", self.uram as f64, device.uram),
        ]
    }
}

/// One resource against the device.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Usage {
    pub name: &'static str,
    pub used: f64,
    pub capacity: u64,
}

impl Usage {
    pub fn percent(&self) -> f64 {
        100.0 * self.used / self.capacity as f64
    }
    pub fn fits(&self) -> bool {
        self.used <= self.capacity as f64
    }
}

/// What an estimate reports.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Estimate {
    /// `yosys -V`.
    pub yosys: String,
    /// The synthesis command.
    pub synth: String,
    pub top: String,
    pub resources: ResourceEstimate,
    /// How the paths were found (see the module doc).
    pub path_method: String,
    pub paths: netlist::Paths,
    /// yosys's wall time, in seconds.
    pub seconds: f64,
}

const PATH_METHOD: &str = "the synth_xilinx netlist (write_json) as a graph of LUT, carry \
     and MUXF cells between sequential cells (flip-flops, block/Ultra RAM, DSP, SRL, LUT RAM, \
     latches, BUFG) and ports; longest paths by LUT levels and by cells";

/// Name of the netlist the script writes.
pub const NETLIST_FILE: &str = "netlist.json";

/// The yosys script for the Verilog `files` with top module `top`; its outputs
/// (stat.json and [`NETLIST_FILE`]) go to the directory yosys runs in.
pub fn script(files: &[PathBuf], top: &str) -> String {
    let q = |p: &Path| format!("\"{}\"", p.display());
    let mut s = String::new();
    for f in files {
        s += &format!("read_verilog {}\n", q(f));
    }
    s += &format!("{SYNTH} -top {top}\n");
    // yosys 0.23's `tee -o` and `write_json` take quotes as part of the name:
    // the outputs are plain names in the directory yosys runs in.
    s += "tee -q -o stat.json stat -json\n";
    s += &format!("write_json {NETLIST_FILE}\n");
    s
}

/// The first `ERROR:` message of a yosys log (yosys may append it to the
/// previous line, or prefix it with a file name), or the log's last non-empty
/// line.
pub fn error_line(log: &str) -> String {
    log.lines()
        .find(|l| l.contains("ERROR:"))
        .map(|l| {
            // `file:line: ERROR: ...` as it is; otherwise from `ERROR:` on.
            if l.contains(": ERROR:") {
                l
            } else {
                &l[l.find("ERROR:").expect("found")..]
            }
        })
        .or_else(|| log.lines().rev().find(|l| !l.trim().is_empty()))
        .unwrap_or("(empty log)")
        .trim()
        .to_string()
}

/// yosys's version line, or [`EstimateError::NoYosys`].
pub fn yosys_version() -> Result<String, EstimateError> {
    match Command::new(YOSYS).arg("-V").output() {
        Ok(o) => Ok(String::from_utf8_lossy(&o.stdout).trim().to_string()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(EstimateError::NoYosys),
        Err(e) => Err(EstimateError::Spawn(e)),
    }
}

/// Estimates the design generated into `dir` (its `manifest.json` names the
/// top module and the Verilog files). yosys's log is left in `dir`
/// ([`LOG_FILE`]); its other outputs go to a work directory that is removed.
pub fn estimate_dir(dir: &Path) -> Result<Estimate, EstimateError> {
    let design_err = |detail: String| EstimateError::Design {
        dir: dir.to_path_buf(),
        detail,
    };
    let manifest_path = dir.join(crate::MANIFEST_FILE);
    let text = std::fs::read_to_string(&manifest_path)
        .map_err(|e| design_err(format!("{}: {e}", manifest_path.display())))?;
    let m: crate::Manifest =
        serde_json::from_str(&text).map_err(|e| design_err(format!("manifest.json: {e}")))?;
    let files: Vec<PathBuf> = m
        .files
        .iter()
        .filter(|f| f.path.ends_with(".v") || f.path.ends_with(".sv"))
        .map(|f| dir.join(&f.path))
        .collect();
    if files.is_empty() {
        return Err(design_err("the manifest names no Verilog file".into()));
    }
    estimate(&files, &m.top_module, dir)
}

/// Estimates the design of the Verilog `files` with top module `top`; the log
/// is written to `dir`/[`LOG_FILE`].
pub fn estimate(files: &[PathBuf], top: &str, dir: &Path) -> Result<Estimate, EstimateError> {
    let yosys = yosys_version()?;
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |error| EstimateError::Io { path, error }
    };
    let work = dir.join(format!(".estimate-{}", std::process::id()));
    std::fs::create_dir_all(&work).map_err(io(&work))?;
    let result = run_in(files, top, dir, &work, yosys);
    let _ = std::fs::remove_dir_all(&work);
    result
}

fn run_in(
    files: &[PathBuf],
    top: &str,
    dir: &Path,
    work: &Path,
    yosys: String,
) -> Result<Estimate, EstimateError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |error| EstimateError::Io { path, error }
    };
    let abs = |p: &Path| std::fs::canonicalize(p).map_err(io(p));
    let work = abs(work)?;
    let dir = abs(dir)?;
    // The design's files by their paths from the work directory (a directory
    // inside `dir`) where they are under `dir`: yosys puts the file name into
    // the names it makes up, which the paths report, and they should not
    // depend on where the design was generated.
    let files: Vec<PathBuf> = files
        .iter()
        .map(|f| {
            let f = abs(f)?;
            Ok(match f.strip_prefix(&dir) {
                Ok(rel) => Path::new("..").join(rel),
                Err(_) => f,
            })
        })
        .collect::<Result<_, EstimateError>>()?;
    let log = dir.join(LOG_FILE);
    let script_path = work.join("estimate.ys");
    std::fs::write(&script_path, script(&files, top)).map_err(io(&script_path))?;
    let t0 = Instant::now();
    let out = Command::new(YOSYS)
        .current_dir(&work)
        .arg("-q")
        .arg("-l")
        .arg(&log)
        .arg("-s")
        .arg(&script_path)
        .output()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => EstimateError::NoYosys,
            _ => EstimateError::Spawn(e),
        })?;
    let seconds = t0.elapsed().as_secs_f64();
    if !out.status.success() {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let mut line = error_line(&text);
        if line == "(empty log)" {
            line = error_line(&String::from_utf8_lossy(&out.stderr));
        }
        return Err(EstimateError::Yosys { line, log });
    }
    let read = |name: &str| {
        let p = work.join(name);
        std::fs::read_to_string(&p).map_err(io(&p))
    };
    let parse_err = |error| EstimateError::Parse {
        error,
        log: log.clone(),
    };
    let cells = parse::stat_cells(&read("stat.json")?).map_err(parse_err)?;
    let resources = ResourceEstimate::from_cells(cells);
    let paths = netlist::paths(&read(NETLIST_FILE)?).map_err(|error| EstimateError::Netlist {
        error,
        log: log.clone(),
    })?;
    Ok(Estimate {
        yosys,
        synth: format!("{SYNTH} -top {top}"),
        top: top.to_string(),
        resources,
        path_method: PATH_METHOD.to_string(),
        paths,
        seconds,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use spikeslice_core::accel::kv260::XCK26;

    #[test]
    fn cells_sort_into_resources() {
        let cells: BTreeMap<String, u64> = [
            ("LUT1", 1),
            ("LUT6", 10),
            ("LUT6_2", 2),
            ("INV", 1),
            ("RAM64M", 3),
            ("SRL16E", 4),
            ("SRLC32E", 1),
            ("FDRE", 20),
            ("FDSE", 2),
            ("CARRY4", 5),
            ("MUXF7", 6),
            ("MUXF8", 1),
            ("DSP48E2", 7),
            ("RAMB36E2", 3),
            ("RAMB18E2", 3),
            ("URAM288", 2),
            ("BUFG", 1),
        ]
        .into_iter()
        .map(|(k, n)| (k.to_string(), n))
        .collect();
        let r = ResourceEstimate::from_cells(cells);
        assert_eq!(
            (r.lut, r.lutram, r.srl, r.ff, r.carry4, r.muxf),
            (14, 3, 5, 22, 5, 7)
        );
        assert_eq!((r.dsp, r.bram36, r.bram18, r.uram), (7, 3, 3, 2));
        assert_eq!(r.lut_total(), 22);
        assert_eq!(r.carry8_equivalent(), 3);
        assert_eq!(r.bram36_equivalent(), 4.5);
        let u = r.usage(&XCK26);
        assert_eq!(
            u.iter().map(|u| u.name).collect::<Vec<_>>(),
            ["LUT", "FF", "CARRY8", "DSP", "BRAM36", "URAM"]
        );
        assert!(u.iter().all(Usage::fits));
        let bram = &u[4];
        assert_eq!(bram.capacity, 144);
        assert!((bram.percent() - 4.5 / 1.44).abs() < 1e-9);
    }

    #[test]
    fn usage_flags_a_resource_over_the_device() {
        let mut cells = BTreeMap::new();
        cells.insert("RAMB36E2".to_string(), 128);
        cells.insert("RAMB18E2".to_string(), 64);
        let u = ResourceEstimate::from_cells(cells).usage(&XCK26);
        let over: Vec<_> = u.iter().filter(|u| !u.fits()).map(|u| u.name).collect();
        assert_eq!(over, ["BRAM36"]);
    }

    #[test]
    fn script_reads_every_file_and_writes_counts_and_netlist() {
        let s = script(&[PathBuf::from("/d/a.v"), PathBuf::from("/d/b.v")], "top");
        assert!(s.contains("read_verilog \"/d/a.v\"\nread_verilog \"/d/b.v\"\n"));
        assert!(s.contains("synth_xilinx -family xcup -uram -flatten -noiopad -top top\n"));
        assert!(s.ends_with("tee -q -o stat.json stat -json\nwrite_json netlist.json\n"));
    }

    #[test]
    fn error_line_is_the_first_error() {
        let log = "1. Executing\nWarning: x\nERROR: invalid OPTION_ABITS/WIDTH combination\nmore\n";
        assert_eq!(
            error_line(log),
            "ERROR: invalid OPTION_ABITS/WIDTH combination"
        );
        assert_eq!(error_line("a\nlast line\n\n"), "last line");
        // As yosys 0.23 wrote them: appended to the previous line, or after a
        // file name.
        assert_eq!(
            error_line("Found and reported 0 problems.ERROR: Can't create file \"x\".\n"),
            "ERROR: Can't create file \"x\"."
        );
        let techmap = "/usr/share/yosys/xilinx/lutrams_xc5v_map.v:181: ERROR: invalid OPTION_ABITS/WIDTH combination.";
        assert_eq!(error_line(techmap), techmap);
    }
}
