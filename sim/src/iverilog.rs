//! Icarus Verilog baseline: the same generated core, driven by a self-checking test
//! bench that is generated here from Rust, run with `iverilog -g2012` + `vvp`.
//!
//! The test bench replays exactly the streams [`crate::CoreSim::run_layer`] drives
//! without backpressure (output tiles of C columns, parameters, weights replayed per
//! chunk of R slices, slice bits), checks every spike beat and final membrane against
//! the golden model's values (stored in `$readmemh` files next to it), writes what the
//! core produced to `out.txt`, and prints the cycle count. Its cycle count equals the
//! Verilator harness's `SimRun::cycles` for the same layer (same protocol, same start
//! and done accounting), so the two simulators' cycles per second compare directly.
//!
//! The only hand-written part is the test bench skeleton below; the design is the
//! output of [`spikeslice_hdl::generate`].

use crate::{tile_params, tile_weights, SimError};
use spikeslice_core::golden::{LayerOutput, LayerTrace, MatmulLayer};
use spikeslice_core::neuron::{Dynamics, Reset};
use spikeslice_hdl::manifest::Manifest;
use spikeslice_hdl::ArrayConfig;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// Result of one Icarus run.
#[derive(Debug, Clone)]
pub struct IverilogRun {
    /// What the core produced (parsed from the test bench's `out.txt`).
    pub trace: LayerTrace,
    /// Clock cycles from the first start to the last done (as `SimRun::cycles`).
    pub cycles: u64,
    /// Weight/slice beats accepted by the core (as `SimRun::compute_beats`).
    pub compute_beats: u64,
    /// Mismatches against the golden model counted by the test bench itself.
    pub errors: u64,
    /// Wall time of `iverilog` (parse and elaborate to a vvp file).
    pub compile_secs: f64,
    /// Wall time of `vvp` (load, `$readmemh`, simulate).
    pub run_secs: f64,
    /// CPU time (user + system) of `vvp`, the figure for cycles/s: on a shared
    /// machine it is far less noisy than the wall time.
    pub run_cpu_secs: f64,
    /// The directory holding the test bench, the stimulus and the logs.
    pub dir: PathBuf,
}

impl IverilogRun {
    /// Simulated cycles per CPU second of the `vvp` run.
    pub fn cycles_per_sec(&self) -> f64 {
        self.cycles as f64 / self.run_cpu_secs
    }
}

/// Sum of the `utime` and `stime` fields (14 and 15, or 16 and 17 with `children`)
/// of a `/proc/.../stat` file, in seconds (Linux; assumes 100 clock ticks per second).
fn proc_cpu_secs(stat: &str, children: bool) -> Option<f64> {
    let text = std::fs::read_to_string(stat).ok()?;
    // Fields after the command name (in parentheses, may contain spaces).
    let rest = &text[text.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3 (state): field n is f[n - 3].
    let (a, b) = if children { (16, 17) } else { (14, 15) };
    let ticks: u64 = f.get(a - 3)?.parse::<u64>().ok()? + f.get(b - 3)?.parse::<u64>().ok()?;
    Some(ticks as f64 / 100.0)
}

/// CPU time (user + system) of the calling thread, in seconds (Linux `/proc`, 10 ms
/// resolution); `None` elsewhere.
pub fn thread_cpu_secs() -> Option<f64> {
    proc_cpu_secs("/proc/thread-self/stat", false)
}

/// `run` called `iters` times, timed by the calling thread's CPU time: the
/// measurement of the benches' `*_cpu` figures (criterion's `iter_custom`),
/// robust against other jobs on a shared machine. Panics without Linux's
/// `/proc/thread-self/stat`.
pub fn thread_cpu_time(iters: u64, mut run: impl FnMut()) -> Duration {
    let c0 = thread_cpu_secs().expect("/proc/thread-self/stat");
    for _ in 0..iters {
        run();
    }
    let c1 = thread_cpu_secs().expect("/proc/thread-self/stat");
    Duration::from_secs_f64(c1 - c0)
}

/// CPU time of this process's waited-for children, in seconds (Linux `/proc`).
fn children_cpu_secs() -> Option<f64> {
    proc_cpu_secs("/proc/self/stat", true)
}

/// The layer used for the simulator-speed comparison: K = 1024 inputs, `outputs`
/// outputs, 8-bit weights, b_in = 1, T = 8 (S = 8 binary slices), 2-bit spikes,
/// seeded. Returns the layer and its inputs (one vector per timestep).
pub fn baseline_layer(outputs: usize, seed: u64) -> (MatmulLayer, Vec<Vec<u8>>) {
    let mut rng = spikeslice_core::random::rng(seed);
    let (k, t) = (1024usize, 8usize);
    let layer = spikeslice_core::random::matmul_layer(
        &mut rng,
        outputs,
        k,
        8,
        1,
        LayerOutput::Spikes { bits: 2 },
    );
    let xs = (0..t)
        .map(|_| spikeslice_core::random::spikes(&mut rng, k, 1, 0.5))
        .collect();
    (layer, xs)
}

fn port_width(m: &Manifest, name: &str) -> Result<u32, SimError> {
    m.ports
        .iter()
        .find(|p| p.name == name)
        .map(|p| p.width)
        .ok_or_else(|| SimError::Config(format!("manifest lacks port {name}")))
}

/// Hex of the lanes `vals` packed LSB first, `bits` each.
fn pack_hex(vals: &[u64], bits: u32) -> String {
    let total = vals.len() * bits as usize;
    let mut nibbles = vec![0u8; total.div_ceil(4)];
    for (i, &v) in vals.iter().enumerate() {
        for b in 0..bits as usize {
            if (v >> b) & 1 == 1 {
                let pos = i * bits as usize + b;
                nibbles[pos / 4] |= 1 << (pos % 4);
            }
        }
    }
    nibbles.iter().rev().map(|n| format!("{n:x}")).collect()
}

/// Writes the design, the test bench and its stimulus into `dir`; returns the
/// test bench path. `expected` is the golden model's trace for `inputs`.
pub fn write_testbench(
    cfg: &ArrayConfig,
    layer: &MatmulLayer,
    inputs: &[Vec<u8>],
    expected: &LayerTrace,
    dir: &Path,
) -> Result<(Manifest, PathBuf), SimError> {
    if cfg.fanin_halves {
        return Err(SimError::Config(
            "the Icarus test bench streams one input a beat: fanin_halves must be false".into(),
        ));
    }
    std::fs::create_dir_all(dir).map_err(|e| SimError::Io(dir.into(), e))?;
    let m = spikeslice_hdl::generate(cfg, dir)
        .map_err(|e| SimError::Config(format!("generate: {e}")))?;
    let (rows, cols) = (cfg.rows, cfg.cols);
    let t_steps = inputs.len();
    let b_in = usize::from(layer.input_bits);
    let slices = b_in * t_steps;
    let k = layer.inputs;
    let chunks = slices.div_ceil(rows);
    let tiles = layer.outputs.div_ceil(cols);
    let (spike_bits, readout) = match layer.neurons.output {
        LayerOutput::Spikes { bits } => (bits, false),
        LayerOutput::Membrane => (1, true),
    };
    let mbits = port_width(&m, "mem_data")?;
    let mmask = if mbits >= 64 {
        u64::MAX
    } else {
        (1u64 << mbits) - 1
    };
    let spk_bits = port_width(&m, "spk_data$0")?;
    let wgt_bits = port_width(&m, "wgt_data$0")?;

    // Stimulus and expected values, in the order run_layer produces them.
    let (mut par, mut wgt, mut act) = (String::new(), String::new(), String::new());
    let (mut spk_exp, mut spk_mask, mut mem_exp, mut mem_mask) =
        (String::new(), String::new(), String::new(), String::new());
    // Slice bits: lane i of chunk ch is bit j = s mod b_in of timestep s / b_in's
    // input (s = ch * R + i); lanes past the last slice are 0.
    for ch in 0..chunks {
        let lanes: Vec<Option<(&[u8], usize)>> = (0..rows)
            .map(|i| {
                let s = ch * rows + i;
                (s < slices).then(|| (inputs[s / b_in].as_slice(), s % b_in))
            })
            .collect();
        for kk in 0..k {
            let bits: Vec<u64> = lanes
                .iter()
                .map(|l| l.map_or(0, |(x, j)| u64::from((x[kk] >> j) & 1)))
                .collect();
            writeln!(act, "{}", pack_hex(&bits, 1)).unwrap();
        }
    }
    for tile in 0..tiles {
        let o0 = tile * cols;
        let width = cols.min(layer.outputs - o0);
        for beat in tile_params(layer, o0, cols, mmask) {
            writeln!(par, "{beat:x}").unwrap();
        }
        for _ch in 0..chunks {
            for kk in 0..k {
                let lanes = tile_weights(layer, o0, cols, kk);
                writeln!(wgt, "{}", pack_hex(&lanes, wgt_bits)).unwrap();
            }
        }
        let lane_mask: Vec<u64> = (0..cols)
            .map(|c| if c < width { 0xff } else { 0 })
            .collect();
        for t in 0..t_steps {
            let v: Vec<u64> = (0..cols)
                .map(|c| {
                    if c < width && !readout {
                        u64::from(expected.spikes[t][o0 + c])
                    } else {
                        0
                    }
                })
                .collect();
            writeln!(spk_exp, "{}", pack_hex(&v, spk_bits)).unwrap();
            writeln!(spk_mask, "{}", pack_hex(&lane_mask, spk_bits)).unwrap();
        }
        for c in 0..cols {
            let v = if c < width {
                (expected.membrane[o0 + c] as u64) & mmask
            } else {
                0
            };
            writeln!(mem_exp, "{v:x}").unwrap();
            writeln!(mem_mask, "{:x}", if c < width { mmask } else { 0 }).unwrap();
        }
    }
    for (name, text) in [
        ("par.hex", &par),
        ("wgt.hex", &wgt),
        ("act.hex", &act),
        ("spk_exp.hex", &spk_exp),
        ("spk_mask.hex", &spk_mask),
        ("mem_exp.hex", &mem_exp),
        ("mem_mask.hex", &mem_mask),
    ] {
        let p = dir.join(name);
        std::fs::write(&p, text).map_err(|e| SimError::Io(p, e))?;
    }

    let (lif, leak) = match layer.neurons.dynamics {
        Dynamics::If => (0, 0),
        Dynamics::Lif { leak_shift } => (1, u32::from(leak_shift)),
    };
    let hard = u32::from(layer.neurons.reset == Reset::Hard);
    let t_spk = if readout { 0 } else { t_steps };
    let lanes = |prefix: &str, n: usize, w: u32, bus: &str| -> String {
        (0..n)
            .map(|i| {
                format!(
                    "        .{prefix}${i}({bus}[{}:{}]),\n",
                    (i as u32 + 1) * w - 1,
                    i as u32 * w
                )
            })
            .collect()
    };
    let mut tb = String::new();
    write!(
        tb,
        r#"// Generated by spikeslice-sim (sim/src/iverilog.rs): self-checking test bench
// for the {rows}x{cols} core on one dense layer (K = {k}, O = {outputs}, S = {slices}).
`timescale 1ns/1ps
module tb;
    localparam R = {rows}, C = {cols}, K = {k}, TILES = {tiles}, T = {t_spk};
    localparam NPAR = 3 * C, NW = {nw};
    localparam SB = {spk_bits}, WB = {wgt_bits}, MB = {mbits};
    reg clock = 1'b0;
    always #5 clock = ~clock;

    reg [MB-1:0] par_mem [0:TILES*NPAR-1];
    reg [WB*C-1:0] wgt_mem [0:TILES*NW-1];
    reg [R-1:0] act_mem [0:NW-1];
    reg [SB*C-1:0] spk_exp [0:(T > 0 ? TILES*T : 1)-1];
    reg [SB*C-1:0] spk_msk [0:(T > 0 ? TILES*T : 1)-1];
    reg [MB-1:0] mem_exp [0:TILES*C-1];
    reg [MB-1:0] mem_msk [0:TILES*C-1];

    // 0: reset (2 cycles), 1: start pulse, 2: running a tile, 3: finished
    reg [1:0] st = 2'd0;
    integer rst_n = 0, tile = 0, pidx = 0, widx = 0, tout = 0, cout = 0;
    integer cycles = 0, beats = 0, errors = 0, fd;

    wire rst = (st == 2'd0);
    wire start = (st == 2'd1);
    wire par_valid = (st == 2'd2) && (pidx < (tile + 1) * NPAR);
    wire wgt_valid = (st == 2'd2) && (widx < (tile + 1) * NW);
    wire act_valid = wgt_valid;
    wire [MB-1:0] par_data = par_valid ? par_mem[pidx] : {{MB{{1'b0}}}};
    wire [WB*C-1:0] wgt_bus = wgt_valid ? wgt_mem[widx] : {{WB*C{{1'b0}}}};
    wire [R-1:0] act_bus = wgt_valid ? act_mem[widx - tile * NW] : {{R{{1'b0}}}};
    wire [SB*C-1:0] spk_bus;
    wire [MB-1:0] mem_data;
    wire busy, done, error, par_ready, wgt_ready, act_ready, spk_valid, mem_valid;

    spikeslice_core dut(
        .clock(clock), .rst(rst),
        .cfg_k(16'd{k}), .cfg_slices(10'd{slices}), .cfg_b_in(4'd{b_in}),
        .cfg_b_w(4'd{b_w}), .cfg_b_s(4'd{spike_bits}), .cfg_lif(1'b{lif}),
        .cfg_leak(8'd{leak}), .cfg_hard(1'b{hard}), .cfg_readout(1'b{readout_bit}), .cfg_repeats(7'd1),
        .start(start), .keep_params(1'b0), .spikes_only(1'b0), .busy(busy), .done(done), .error(error),
        .par_valid(par_valid), .par_ready(par_ready), .par_data(par_data),
        .wgt_valid(wgt_valid), .wgt_ready(wgt_ready),
{wgt_lanes}        .act_valid(act_valid), .act_ready(act_ready),
{act_lanes}        .spk_valid(spk_valid), .spk_ready(1'b1),
{spk_lanes}        .mem_valid(mem_valid), .mem_ready(1'b1), .mem_data(mem_data)
    );

    initial begin
        $readmemh("par.hex", par_mem);
        $readmemh("wgt.hex", wgt_mem);
        $readmemh("act.hex", act_mem);
        if (T > 0) begin
            $readmemh("spk_exp.hex", spk_exp);
            $readmemh("spk_mask.hex", spk_msk);
        end
        $readmemh("mem_exp.hex", mem_exp);
        $readmemh("mem_mask.hex", mem_msk);
        fd = $fopen("out.txt", "w");
    end

    always @(posedge clock) begin
        case (st)
        2'd0: begin
            rst_n <= rst_n + 1;
            if (rst_n == 1) st <= 2'd1;
        end
        2'd1: begin
            cycles <= cycles + 1;
            st <= 2'd2;
        end
        2'd2: begin
            cycles <= cycles + 1;
            if (par_valid && par_ready) pidx <= pidx + 1;
            if ((wgt_valid && wgt_ready) != (act_valid && act_ready)) begin
                $display("TB ERROR: weight and slice beats fired apart at cycle %0d", cycles);
                errors = errors + 1;
            end
            if (wgt_valid && wgt_ready) begin
                widx <= widx + 1;
                beats <= beats + 1;
            end
            if (spk_valid) begin
                $fwrite(fd, "spk %0d %0d %h\n", tile, tout, spk_bus);
                if (tout >= T) begin
                    $display("TB ERROR: unexpected spike beat in tile %0d", tile);
                    errors = errors + 1;
                end else if (((spk_bus ^ spk_exp[tile * T + tout]) & spk_msk[tile * T + tout]) != 0) begin
                    $display("TB MISMATCH spikes tile %0d t %0d: got %h want %h", tile, tout,
                             spk_bus, spk_exp[tile * T + tout]);
                    errors = errors + 1;
                end
                tout <= tout + 1;
            end
            if (mem_valid) begin
                $fwrite(fd, "mem %0d %0d %h\n", tile, cout, mem_data);
                if (cout >= C) begin
                    $display("TB ERROR: unexpected membrane beat in tile %0d", tile);
                    errors = errors + 1;
                end else if (((mem_data ^ mem_exp[tile * C + cout]) & mem_msk[tile * C + cout]) != 0) begin
                    $display("TB MISMATCH membrane tile %0d col %0d: got %h want %h", tile, cout,
                             mem_data, mem_exp[tile * C + cout]);
                    errors = errors + 1;
                end
                cout <= cout + 1;
            end
            if (done) begin
                if (error) begin
                    $display("TB ERROR: core flagged the configuration");
                    errors = errors + 1;
                end
                // Counts of this tile, including a beat accepted in this very cycle.
                if (pidx + (par_valid && par_ready) != (tile + 1) * NPAR
                    || widx + (wgt_valid && wgt_ready) != (tile + 1) * NW
                    || tout + spk_valid != T || cout + mem_valid != C) begin
                    $display("TB ERROR: tile %0d ended early (par %0d, wgt %0d, spk %0d, mem %0d)",
                             tile, pidx, widx, tout, cout);
                    errors = errors + 1;
                end
                tout <= 0;
                cout <= 0;
                tile <= tile + 1;
                st <= (tile + 1 == TILES) ? 2'd3 : 2'd1;
            end
        end
        default: begin
            $display("SPIKESLICE_TB cycles=%0d beats=%0d errors=%0d", cycles, beats, errors);
            $fclose(fd);
            $finish;
        end
        endcase
    end
endmodule
"#,
        outputs = layer.outputs,
        nw = chunks * k,
        b_w = layer.weight_bits,
        readout_bit = u32::from(readout),
        wgt_lanes = lanes("wgt_data", cols, wgt_bits, "wgt_bus"),
        act_lanes = lanes("act_data", rows, 1, "act_bus"),
        spk_lanes = lanes("spk_data", cols, spk_bits, "spk_bus"),
    )
    .unwrap();
    let tb_path = dir.join("tb.v");
    std::fs::write(&tb_path, tb).map_err(|e| SimError::Io(tb_path.clone(), e))?;
    Ok((m, tb_path))
}

fn tool(cmd: &mut Command, name: &str) -> Result<(String, f64), SimError> {
    let t0 = Instant::now();
    let out = cmd.output().map_err(|e| SimError::Tool {
        tool: name.into(),
        message: e.to_string(),
    })?;
    let secs = t0.elapsed().as_secs_f64();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        return Err(SimError::Tool {
            tool: name.into(),
            message: format!(
                "{}\n{stdout}\n{}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            ),
        });
    }
    Ok((stdout, secs))
}

/// Generates the design and test bench into `dir`, compiles them with
/// `iverilog -g2012`, runs `vvp`, and parses what the core produced.
pub fn run(
    cfg: &ArrayConfig,
    layer: &MatmulLayer,
    inputs: &[Vec<u8>],
    dir: &Path,
) -> Result<IverilogRun, SimError> {
    let expected = layer.run(inputs);
    let (m, tb) = write_testbench(cfg, layer, inputs, &expected, dir)?;
    let design = dir.join(&m.files[0].path);
    let (_, compile_secs) = tool(
        Command::new("iverilog")
            .current_dir(dir)
            .arg("-g2012")
            .arg("-o")
            .arg("tb.vvp")
            .arg("-s")
            .arg("tb")
            .arg(&tb)
            .arg(&design),
        "iverilog",
    )?;
    let cpu0 = children_cpu_secs();
    let (stdout, run_secs) = tool(
        Command::new("vvp").current_dir(dir).arg("-n").arg("tb.vvp"),
        "vvp",
    )?;
    let run_cpu_secs = match (cpu0, children_cpu_secs()) {
        (Some(a), Some(b)) if b > a => b - a,
        _ => run_secs,
    };
    let log = dir.join("vvp.log");
    std::fs::write(&log, &stdout).map_err(|e| SimError::Io(log, e))?;
    let summary = stdout
        .lines()
        .find_map(|l| l.strip_prefix("SPIKESLICE_TB "))
        .ok_or_else(|| SimError::Hang(format!("vvp printed no summary:\n{stdout}")))?;
    let field = |key: &str| -> u64 {
        summary
            .split_whitespace()
            .find_map(|kv| kv.strip_prefix(key).and_then(|v| v.parse().ok()))
            .unwrap_or(u64::MAX)
    };
    let (cycles, compute_beats, errors) = (field("cycles="), field("beats="), field("errors="));

    // What the core produced, back into a trace.
    let readout = matches!(layer.neurons.output, LayerOutput::Membrane);
    let mut spikes = if readout {
        vec![]
    } else {
        vec![vec![0u8; layer.outputs]; inputs.len()]
    };
    let mut membrane = vec![0i64; layer.outputs];
    let out_path = dir.join("out.txt");
    let out = std::fs::read_to_string(&out_path).map_err(|e| SimError::Io(out_path, e))?;
    let spk_bits = port_width(&m, "spk_data$0")? as usize;
    let mbits = port_width(&m, "mem_data")?;
    for line in out.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        let [kind, tile, idx, hex] = f[..] else {
            continue;
        };
        let (tile, idx): (usize, usize) = (
            tile.parse().unwrap_or(usize::MAX),
            idx.parse().unwrap_or(usize::MAX),
        );
        let o0 = tile * cfg.cols;
        match kind {
            "spk" if !readout && idx < spikes.len() => {
                // Lane c is bits [SB*c, SB*c + SB) of the hex string (MSB first).
                let nib: Vec<u8> = hex
                    .bytes()
                    .rev()
                    .map(|b| (b as char).to_digit(16).unwrap_or(0) as u8)
                    .collect();
                for c in 0..cfg.cols.min(layer.outputs.saturating_sub(o0)) {
                    let mut v = 0u8;
                    for b in 0..spk_bits {
                        let pos = c * spk_bits + b;
                        if nib.get(pos / 4).is_some_and(|n| (n >> (pos % 4)) & 1 == 1) {
                            v |= 1 << b;
                        }
                    }
                    spikes[idx][o0 + c] = v;
                }
            }
            "mem" if o0 + idx < layer.outputs && idx < cfg.cols => {
                let v = u64::from_str_radix(hex, 16).unwrap_or(0);
                membrane[o0 + idx] = ((v << (64 - mbits)) as i64) >> (64 - mbits);
            }
            _ => {}
        }
    }
    Ok(IverilogRun {
        trace: LayerTrace {
            spikes,
            membrane,
            currents: vec![],
        },
        cycles,
        compute_beats,
        errors,
        compile_secs,
        run_secs,
        run_cpu_secs,
        dir: dir.to_path_buf(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small non-square core with output padding (O not a multiple of C), multi-bit
    /// input slices, and both a spiking and a readout layer: the test bench's own
    /// check and the parsed outputs must equal the golden model. Fails when
    /// `iverilog` is missing (scripts/test.sh installs it).
    #[test]
    fn icarus_matches_golden_on_small_layers() {
        assert!(
            Command::new("iverilog").arg("-V").output().is_ok(),
            "iverilog is not on PATH: install Debian's `iverilog` (scripts/test.sh does)"
        );
        let cfg = ArrayConfig {
            rows: 2,
            cols: 3,
            ..Default::default()
        };
        let mut rng = spikeslice_core::random::rng(11);
        for (i, output) in [LayerOutput::Spikes { bits: 3 }, LayerOutput::Membrane]
            .into_iter()
            .enumerate()
        {
            let layer = spikeslice_core::random::matmul_layer(&mut rng, 5, 20, 4, 2, output);
            let xs: Vec<Vec<u8>> = (0..3)
                .map(|_| spikeslice_core::random::spikes(&mut rng, 20, 2, 0.5))
                .collect();
            let dir = std::env::temp_dir().join(format!(
                "spikeslice_iverilog_test_{}_{i}",
                std::process::id()
            ));
            let run = run(&cfg, &layer, &xs, &dir).expect("iverilog run");
            let golden = layer.run(&xs);
            assert_eq!(
                run.errors,
                0,
                "test bench mismatches, see {}",
                dir.display()
            );
            assert_eq!(run.trace.spikes, golden.spikes);
            assert_eq!(run.trace.membrane, golden.membrane);
            assert_eq!(run.compute_beats, 3 * 2 * 20, "2 tiles x 3 chunks x K");
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
}
