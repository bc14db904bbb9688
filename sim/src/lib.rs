//! Verilator harness for the generated spikeslice RTL: the compute core
//! ([`CoreSim`], below) and the whole accelerator shell ([`ShellSim`] in [`shell`]:
//! registers over AXI4-Lite, memory through core's DDR model, re-exported as [`ddr`]).
//! Both run a [`Verilated`] instance of their design, built and cached by [`build`].
//!
//! [`CoreSim::build`] generates the Verilog for an [`ArrayConfig`], builds it with
//! Verilator into a shared library (cached by the manifest hash, see [`build`]) and
//! loads it. [`CoreSim::run_layer`] runs a whole [`MatmulLayer`] through the tile
//! sequencer: the harness streams output tiles of C columns, one after the other
//! (each tile's start offered until the core takes it: after the last tile's
//! `done`, or with the parameter prefetch once its feed machine is idle), replays
//! the tile's weights for every chunk of R slices (R/2 over input pairs with the
//! fan-in in halves), and puts seeded random valid/ready backpressure on every
//! stream (results must not depend on it).
//!
//! In hardware: the whole K reduction (the PE accumulators hold any K up to 2^16 - 1),
//! slice recombination, bias, neuron dynamics, spikes and the membrane across all T
//! timesteps of a tile. In the harness: splitting the outputs into tiles of C columns,
//! feeding the slices in chunks of R, replaying weights per chunk (in the accelerator
//! the shell's weight banks do this), and reassembling outputs.

pub mod build;
pub mod iverilog;
pub mod run_loop;
pub mod shell;
pub mod verilated;

pub use shell::ShellSim;
/// The DDR model behind the shell's AXI4 master (`spikeslice_core::accel::ddr`,
/// shared with the rust-hdl benches).
pub use spikeslice_core::accel::ddr;
pub use verilated::Verilated;

use rand::Rng;
use spikeslice_core::golden::{LayerOutput, LayerTrace, MatmulLayer};
use spikeslice_core::neuron::{Dynamics, Reset};
use spikeslice_core::random::{rng as seeded, TestRng};
use spikeslice_hdl::manifest::Manifest;
use spikeslice_hdl::ArrayConfig;
use std::collections::VecDeque;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("configuration: {0}")]
    Config(String),
    #[error("{tool} failed: {message}")]
    Tool { tool: String, message: String },
    #[error("{0}: {1}")]
    Io(PathBuf, std::io::Error),
    #[error("cannot load {0}: {1}")]
    Load(PathBuf, String),
    #[error("layer does not fit this core: {0}")]
    Layer(String),
    #[error("simulation: {0}")]
    Hang(String),
    /// An AXI bus error response or protocol violation (shell simulation).
    #[error("AXI: {0}")]
    Axi(String),
}

/// How to build the simulator.
#[derive(Debug, Clone, Default)]
pub struct SimOptions {
    /// Cache directory (default [`build::default_cache_dir`]).
    pub cache_dir: Option<PathBuf>,
    /// Build with FST tracing compiled in (a separate cache entry).
    pub trace: bool,
}

/// Backpressure: the probability that a stream source offers a beat, or a sink is
/// ready, in a given cycle. 1.0 = no backpressure.
#[derive(Debug, Clone, Copy)]
pub struct Backpressure {
    pub seed: u64,
    pub p: f64,
}

impl Backpressure {
    pub fn none() -> Self {
        Backpressure { seed: 0, p: 1.0 }
    }
    pub fn random(seed: u64) -> Self {
        Backpressure { seed, p: 0.7 }
    }
}

/// Whether a simulated layer produced exactly the golden model's spikes at every
/// timestep and its final membranes; the first difference otherwise.
pub fn compare_with_golden(got: &LayerTrace, golden: &LayerTrace) -> Result<(), String> {
    if got.spikes != golden.spikes {
        let t = (0..)
            .find(|&t| got.spikes.get(t) != golden.spikes.get(t))
            .expect("the spike trains differ somewhere");
        return Err(format!(
            "spikes differ from golden at timestep {t}: {:?}, golden {:?}",
            got.spikes.get(t),
            golden.spikes.get(t)
        ));
    }
    if got.membrane != golden.membrane {
        return Err(format!(
            "final membranes differ from golden: {:?}, golden {:?}",
            got.membrane, golden.membrane
        ));
    }
    Ok(())
}

/// The parameter beats of the output tile at output `o0`, as the core takes them:
/// `cols` initial membranes, biases and thresholds, two's complement masked to
/// `mask`; columns past the layer's outputs, and a readout's thresholds (it has
/// none), get 0, 0 and 1.
pub(crate) fn tile_params(layer: &MatmulLayer, o0: usize, cols: usize, mask: u64) -> Vec<u64> {
    let width = cols.min(layer.outputs - o0);
    let mut beats = Vec::with_capacity(3 * cols);
    for (vals, pad) in [
        (&layer.neurons.v_init, 0i32),
        (&layer.neurons.bias, 0),
        (&layer.neurons.threshold, 1),
    ] {
        for c in 0..cols {
            let v = if c < width {
                vals.get(o0 + c).copied().unwrap_or(pad)
            } else {
                pad
            };
            beats.push((v as i64 as u64) & mask);
        }
    }
    beats
}

/// The weight beat of input `kk` for the output tile at `o0`: one `b_w`-bit code
/// per column, 0 past the layer's outputs.
pub(crate) fn tile_weights(layer: &MatmulLayer, o0: usize, cols: usize, kk: usize) -> Vec<u64> {
    let k = layer.inputs;
    (0..cols)
        .map(|c| {
            if o0 + c < layer.outputs {
                weight_code(layer.weights[(o0 + c) * k + kk], layer.weight_bits)
            } else {
                0
            }
        })
        .collect()
}

/// How [`CoreSim::run_with`] starts a run: the core's `keep_params` and
/// `spikes_only` inputs (docs/compute-core.md, "Streams of the tile sequencer").
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunFlags {
    /// The NDUs keep the parameters the last run loaded (a gather tile's next
    /// position in the shell): no parameter beats. The layer must be one tile
    /// (`outputs <= C`) and the last run must have loaded its parameters.
    pub keep_params: bool,
    /// A spiking run ends after its last Emit, its final membranes left in the
    /// NDUs (the shell holds it high); a readout sends them either way.
    pub spikes_only: bool,
}

/// Result of a layer run.
#[derive(Debug, Clone)]
pub struct SimRun {
    pub trace: LayerTrace,
    /// Clock cycles from the first start to the last done, all tiles.
    pub cycles: u64,
    /// Cycles in which the array advanced with a real beat (en with data).
    pub compute_beats: u64,
}

/// A loaded, running instance of the Verilated core.
pub struct CoreSim {
    cfg: ArrayConfig,
    /// The Verilated model: cycles, manifest, tracing.
    pub verilated: Verilated,
    ports: Ports,
}

#[derive(Debug, Clone, Default)]
struct Ports {
    rst: u32,
    cfg_k: u32,
    cfg_slices: u32,
    cfg_b_in: u32,
    cfg_b_w: u32,
    cfg_b_s: u32,
    cfg_lif: u32,
    cfg_leak: u32,
    cfg_hard: u32,
    cfg_readout: u32,
    cfg_repeats: u32,
    start: u32,
    ready: u32,
    keep_params: u32,
    spikes_only: u32,
    done: u32,
    error: u32,
    par_valid: u32,
    par_ready: u32,
    par_data: u32,
    wgt_valid: u32,
    wgt_ready: u32,
    wgt_data: Vec<u32>,
    /// The lower half's weight lanes (the fan-in in halves; else none).
    wgt_data_b: Vec<u32>,
    act_valid: u32,
    act_ready: u32,
    act_data: Vec<u32>,
    spk_valid: u32,
    spk_ready: u32,
    spk_data: Vec<u32>,
    mem_valid: u32,
    mem_ready: u32,
    mem_data: u32,
}

impl Ports {
    fn from_manifest(m: &Manifest) -> Result<Self, SimError> {
        let find = |n: &str| build::port_index(m, n);
        let lanes = |prefix: &str, n: usize| -> Result<Vec<u32>, SimError> {
            (0..n).map(|i| find(&format!("{prefix}${i}"))).collect()
        };
        let (r, c) = (m.config.rows, m.config.cols);
        Ok(Ports {
            rst: find("rst")?,
            cfg_k: find("cfg_k")?,
            cfg_slices: find("cfg_slices")?,
            cfg_b_in: find("cfg_b_in")?,
            cfg_b_w: find("cfg_b_w")?,
            cfg_b_s: find("cfg_b_s")?,
            cfg_lif: find("cfg_lif")?,
            cfg_leak: find("cfg_leak")?,
            cfg_hard: find("cfg_hard")?,
            cfg_readout: find("cfg_readout")?,
            cfg_repeats: find("cfg_repeats")?,
            start: find("start")?,
            ready: find("ready")?,
            keep_params: find("keep_params")?,
            spikes_only: find("spikes_only")?,
            done: find("done")?,
            error: find("error")?,
            par_valid: find("par_valid")?,
            par_ready: find("par_ready")?,
            par_data: find("par_data")?,
            wgt_valid: find("wgt_valid")?,
            wgt_ready: find("wgt_ready")?,
            wgt_data: lanes("wgt_data", c)?,
            wgt_data_b: lanes("wgt_data_b", if m.config.fanin_halves { c } else { 0 })?,
            act_valid: find("act_valid")?,
            act_ready: find("act_ready")?,
            act_data: lanes("act_data", r)?,
            spk_valid: find("spk_valid")?,
            spk_ready: find("spk_ready")?,
            spk_data: lanes("spk_data", c)?,
            mem_valid: find("mem_valid")?,
            mem_ready: find("mem_ready")?,
            mem_data: find("mem_data")?,
        })
    }
}

/// Sign-extend the low `bits` of `v`.
fn sext(v: u64, bits: u32) -> i64 {
    ((v << (64 - bits)) as i64) >> (64 - bits)
}

/// The b_w-bit code of a weight on the weight stream (b_w = 1: +1 -> 1, -1 -> 0).
pub fn weight_code(w: i8, bits: u8) -> u64 {
    if bits == 1 {
        u64::from(w > 0)
    } else {
        u64::from(w as u8) & ((1u64 << bits) - 1)
    }
}

/// A stream source: holds its beat until accepted (valid never drops before ready).
struct Source<T> {
    q: VecDeque<T>,
    offering: bool,
}

impl<T> Source<T> {
    fn new(q: VecDeque<T>) -> Self {
        Source { q, offering: false }
    }
    /// Decide this cycle's valid. Returns true when a (new or held) beat is offered.
    fn offer(&mut self, rng: &mut TestRng, p: f64) -> bool {
        if !self.offering && !self.q.is_empty() && (p >= 1.0 || rng.gen_bool(p)) {
            self.offering = true;
        }
        self.offering
    }
}

impl CoreSim {
    /// Generate, build (unless cached) and load the core for `cfg`.
    pub fn build(cfg: &ArrayConfig, opts: &SimOptions) -> Result<Self, SimError> {
        Self::build_design(build::Design::Core(cfg.clone()), opts)
    }

    /// [`CoreSim::build`] for a [`build::Design::Core`] or
    /// [`build::Design::CoreWithoutPostpass`].
    pub fn build_design(design: build::Design, opts: &SimOptions) -> Result<Self, SimError> {
        let cfg = match &design {
            build::Design::Core(c) | build::Design::CoreWithoutPostpass(c) => c.clone(),
            build::Design::Shell(_) => {
                return Err(SimError::Config(
                    "CoreSim runs a core, not the shell".into(),
                ))
            }
        };
        let verilated = Verilated::load(&design, opts)?;
        let ports = Ports::from_manifest(verilated.manifest())?;
        let mut sim = CoreSim {
            cfg,
            verilated,
            ports,
        };
        sim.reset();
        Ok(sim)
    }

    pub fn config(&self) -> &ArrayConfig {
        &self.cfg
    }

    fn set(&mut self, port: u32, v: u64) {
        self.verilated.set(port, v);
    }
    fn get(&self, port: u32) -> u64 {
        self.verilated.get(port)
    }
    fn eval(&mut self) {
        self.verilated.eval();
    }
    fn tick(&mut self) {
        self.verilated.tick();
    }

    /// Synchronous reset of the control state (two cycles).
    pub fn reset(&mut self) {
        let p = self.ports.clone();
        for port in [
            p.start,
            p.keep_params,
            p.spikes_only,
            p.par_valid,
            p.wgt_valid,
            p.act_valid,
            p.spk_ready,
            p.mem_ready,
        ] {
            self.set(port, 0);
        }
        self.set(p.rst, 1);
        self.tick();
        self.tick();
        self.set(p.rst, 0);
        self.eval();
    }

    /// Checks that `layer` fits this core (widths, counters) before running it.
    pub fn check_layer(&self, layer: &MatmulLayer, timesteps: usize) -> Result<(), SimError> {
        layer
            .validate()
            .map_err(|e| SimError::Layer(e.to_string()))?;
        let c = &self.cfg;
        let s = usize::from(layer.input_bits) * timesteps;
        if layer.inputs == 0 || layer.inputs >= 1 << spikeslice_hdl::config::K_BITS {
            return Err(SimError::Layer(format!(
                "inputs {} not in 1..65536",
                layer.inputs
            )));
        }
        if timesteps == 0 || s >= 1 << spikeslice_hdl::config::SLICE_BITS {
            return Err(SimError::Layer(format!("b_in*T = {s} not in 1..1024")));
        }
        if layer.weight_bits > c.weight_bits_max {
            return Err(SimError::Layer(format!(
                "weight_bits {} > weight_bits_max {}",
                layer.weight_bits, c.weight_bits_max
            )));
        }
        if let LayerOutput::Spikes { bits } = layer.neurons.output {
            if bits > c.spike_bits_max {
                return Err(SimError::Layer(format!(
                    "spike bits {bits} > spike_bits_max {}",
                    c.spike_bits_max
                )));
            }
        }
        let w = layer.required_widths(timesteps);
        if w.acc_bits > c.acc_bits || w.membrane_bits > c.membrane_bits {
            return Err(SimError::Layer(format!(
                "needs acc {} / membrane {} bits, core has {} / {}",
                w.acc_bits, w.membrane_bits, c.acc_bits, c.membrane_bits
            )));
        }
        Ok(())
    }

    /// Runs `layer` on `inputs` (one vector per timestep) and returns what the core
    /// produced: spikes per timestep (empty for a readout), final membranes.
    pub fn run_layer(
        &mut self,
        layer: &MatmulLayer,
        inputs: &[Vec<u8>],
        bp: Backpressure,
    ) -> Result<SimRun, SimError> {
        self.run_with(layer, inputs, 1, RunFlags::default(), bp)
    }

    /// Runs `layer` on a static input: `input` at each of `timesteps`
    /// timesteps, streamed once (`cfg_repeats = T`), each tile's current
    /// integrated `timesteps` times. Returns what [`Self::run_layer`] does.
    pub fn run_layer_static(
        &mut self,
        layer: &MatmulLayer,
        input: &[u8],
        timesteps: usize,
        bp: Backpressure,
    ) -> Result<SimRun, SimError> {
        self.run_with(layer, &[input.to_vec()], timesteps, RunFlags::default(), bp)
    }

    /// Runs `layer` on `inputs`, the timesteps of input streamed, each
    /// integrated `repeats` times (1, or T for a static input), started with
    /// `flags`. Returns what [`Self::run_layer`] does; a spiking run with
    /// `spikes_only` sends no membranes, and its `membrane` stays zero.
    pub fn run_with(
        &mut self,
        layer: &MatmulLayer,
        inputs: &[Vec<u8>],
        repeats: usize,
        flags: RunFlags,
        bp: Backpressure,
    ) -> Result<SimRun, SimError> {
        let t_steps = inputs.len() * repeats;
        self.check_layer(layer, t_steps)?;
        if repeats == 0 || repeats > 127 {
            return Err(SimError::Layer(format!(
                "{repeats} timesteps on one input: the core repeats 1..=127"
            )));
        }
        if flags.keep_params && layer.outputs > self.cfg.cols {
            return Err(SimError::Layer(format!(
                "keep_params runs one tile of {} outputs, the layer has {}",
                self.cfg.cols, layer.outputs
            )));
        }
        if inputs.iter().any(|x| x.len() != layer.inputs) {
            return Err(SimError::Layer(
                "an input vector has the wrong length".into(),
            ));
        }
        let cols = self.cfg.cols;
        // A chunk's slices and beats: with the fan-in in halves, beat `kk`
        // carries inputs `kk` (upper rows, `wgt_data`) and `beats + kk` (lower
        // rows, `wgt_data_b`; none past the fan-in: zero slice bits).
        let (rows, beats) = (self.cfg.chunk_rows(), self.cfg.chunk_beats(layer.inputs));
        let halves = if self.cfg.fanin_halves { 2 } else { 1 };
        let mbits = self.cfg.membrane_bits;
        let mmask = (1u64 << mbits) - 1;
        let p = self.ports.clone();
        let mut rng = seeded(bp.seed);
        let b_in = usize::from(layer.input_bits);
        let slices = b_in * inputs.len();
        let k = layer.inputs;
        let (spike_bits, readout) = match layer.neurons.output {
            LayerOutput::Spikes { bits } => (bits, false),
            LayerOutput::Membrane => (1, true),
        };
        self.set(p.cfg_k, beats as u64);
        self.set(p.cfg_slices, slices as u64);
        self.set(p.cfg_b_in, b_in as u64);
        self.set(p.cfg_b_w, u64::from(layer.weight_bits));
        self.set(p.cfg_b_s, u64::from(spike_bits));
        let (lif, leak) = match layer.neurons.dynamics {
            Dynamics::If => (0, 0),
            Dynamics::Lif { leak_shift } => (1, u64::from(leak_shift)),
        };
        self.set(p.cfg_lif, lif);
        self.set(p.cfg_leak, leak);
        self.set(p.cfg_hard, u64::from(layer.neurons.reset == Reset::Hard));
        self.set(p.cfg_readout, u64::from(readout));
        self.set(p.cfg_repeats, repeats as u64);
        // `keep_params` is read with `start`, `spikes_only` at the run's end:
        // both held for the whole run.
        self.set(p.keep_params, u64::from(flags.keep_params));
        self.set(p.spikes_only, u64::from(flags.spikes_only));
        let membranes_out = if flags.spikes_only && !readout {
            0
        } else {
            cols
        };

        let mut spikes = if readout {
            vec![]
        } else {
            vec![vec![0u8; layer.outputs]; t_steps]
        };
        let mut membrane = vec![0i64; layer.outputs];
        let start_cycle = self.verilated.cycles();
        let mut compute_beats = 0u64;
        let chunks = slices.div_ceil(rows);
        let tiles = layer.outputs.div_ceil(cols);
        // Every tile's streams, the tiles one after the other: the core takes
        // a tile's start when it is ready (after the last tile's `done`, or
        // with the parameter prefetch once the feed machine is idle), so the
        // queues simply run on.
        let mut par = VecDeque::new();
        let mut wgt = VecDeque::new();
        let mut act = VecDeque::new();
        for o0 in (0..layer.outputs).step_by(cols) {
            if !flags.keep_params {
                par.extend(tile_params(layer, o0, cols, mmask));
            }
            for ch in 0..chunks {
                for kk in 0..beats {
                    // Each half's input of the beat: the weight codes of every
                    // half side by side, then its slice bits (none past the
                    // fan-in: code 0, zero bits).
                    let mut codes = Vec::with_capacity(halves * cols);
                    let mut bits = Vec::with_capacity(halves * rows);
                    for e in (0..halves).map(|h| h * beats + kk) {
                        if e < k {
                            codes.extend(tile_weights(layer, o0, cols, e));
                        } else {
                            codes.resize(codes.len() + cols, 0);
                        }
                        for i in 0..rows {
                            let s = ch * rows + i;
                            bits.push(if s < slices && e < k {
                                u64::from((inputs[s / b_in][e] >> (s % b_in)) & 1)
                            } else {
                                0
                            });
                        }
                    }
                    wgt.push_back(codes);
                    act.push_back(bits);
                }
            }
        }
        let mut par = Source::new(par);
        let mut wgt = Source::new(wgt);
        let mut act = Source::new(act);
        // Beats out so far, over all tiles (a tile's come in order, the
        // tiles' one after the other: one neuron machine).
        let (mut t_out, mut c_out) = (0usize, 0usize);
        let (mut started, mut finished) = (0usize, 0usize);
        let mut start_high = false;
        // Generous bound: every beat could wait ~1/p cycles, plus the NDU steps.
        let per_tile = 3 * cols + chunks * (beats + rows + cols) + (slices + t_steps) * 12 + cols;
        let limit =
            start_cycle + 64 * tiles as u64 + ((tiles * per_tile) as f64 * 20.0 / bp.p) as u64;
        loop {
            if self.verilated.cycles() > limit {
                return Err(SimError::Hang(format!(
                    "{finished} of {tiles} tiles did not finish within {} cycles",
                    limit - start_cycle
                )));
            }
            // Without the prefetch the core takes no tile with new parameters
            // before the last one's `done`: the start is offered from then on.
            let offer_start = started < tiles && (self.cfg.param_prefetch || started == finished);
            if offer_start != start_high {
                self.set(p.start, u64::from(offer_start));
                start_high = offer_start;
            }
            let pv = par.offer(&mut rng, bp.p);
            self.set(p.par_valid, u64::from(pv));
            if pv {
                self.set(p.par_data, par.q[0]);
            }
            let wv = wgt.offer(&mut rng, bp.p);
            self.set(p.wgt_valid, u64::from(wv));
            if wv {
                for (c, &port) in p.wgt_data.iter().chain(&p.wgt_data_b).enumerate() {
                    self.set(port, wgt.q[0][c]);
                }
            }
            let av = act.offer(&mut rng, bp.p);
            self.set(p.act_valid, u64::from(av));
            if av {
                for (r, &port) in p.act_data.iter().enumerate() {
                    self.set(port, act.q[0][r]);
                }
            }
            let sr = bp.p >= 1.0 || rng.gen_bool(bp.p);
            let mr = bp.p >= 1.0 || rng.gen_bool(bp.p);
            self.set(p.spk_ready, u64::from(sr));
            self.set(p.mem_ready, u64::from(mr));
            self.eval();
            let taken = offer_start && self.get(p.ready) == 1;
            if pv && self.get(p.par_ready) == 1 {
                par.q.pop_front();
                par.offering = false;
            }
            let wfire = wv && self.get(p.wgt_ready) == 1;
            let afire = av && self.get(p.act_ready) == 1;
            if wfire != afire {
                return Err(SimError::Hang("weight and slice beats fired apart".into()));
            }
            if wfire {
                wgt.q.pop_front();
                wgt.offering = false;
                act.q.pop_front();
                act.offering = false;
                compute_beats += 1;
            }
            if sr && self.get(p.spk_valid) == 1 {
                if readout || t_out >= tiles * t_steps {
                    return Err(SimError::Hang("unexpected spike beat".into()));
                }
                let (o0, t) = ((t_out / t_steps) * cols, t_out % t_steps);
                for c in 0..cols.min(layer.outputs - o0) {
                    spikes[t][o0 + c] = self.get(p.spk_data[c]) as u8;
                }
                t_out += 1;
            }
            if mr && self.get(p.mem_valid) == 1 {
                if c_out >= tiles * membranes_out {
                    return Err(SimError::Hang("unexpected membrane beat".into()));
                }
                let (o0, c) = ((c_out / membranes_out) * cols, c_out % membranes_out);
                if o0 + c < layer.outputs {
                    membrane[o0 + c] = sext(self.get(p.mem_data), mbits);
                }
                c_out += 1;
            }
            let done = self.get(p.done) == 1;
            let err = self.get(p.error) == 1;
            self.tick();
            started += usize::from(taken);
            if done {
                if err {
                    return Err(SimError::Layer("the core flagged the configuration".into()));
                }
                finished += 1;
                if finished == tiles {
                    break;
                }
            }
        }
        for port in [p.start, p.par_valid, p.wgt_valid, p.act_valid] {
            self.set(port, 0);
        }
        if !par.q.is_empty()
            || !wgt.q.is_empty()
            || c_out != tiles * membranes_out
            || (!readout && t_out != tiles * t_steps)
        {
            return Err(SimError::Hang(format!(
                "the layer ended early: {} par, {} wgt beats left, {c_out} membranes, {t_out} spike beats",
                par.q.len(),
                wgt.q.len()
            )));
        }
        Ok(SimRun {
            trace: LayerTrace {
                spikes,
                membrane,
                currents: vec![],
            },
            cycles: self.verilated.cycles() - start_cycle,
            compute_beats,
        })
    }
}
