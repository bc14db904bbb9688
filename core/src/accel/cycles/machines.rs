//! The compute core's machines, cycle by cycle, as hdl/src/sequencer.rs
//! builds them: the **feed machine** takes a run's parameters and beats, its
//! chunks back to back; the **drain** reads a chunk's rows into the PPUs
//! from the cycle after its last beat, beside the next chunk's beats; the
//! **neuron machine** runs each drained current's neuron steps (Integ, Div x
//! `b_s`, Emit; a static input's `T` of them, AfterT between) and a run's Out.
//! The array steps for beats and drain steps alike: a waiting drain holds the
//! beats, and a chunk's last beat waits for the drain before it to be in its
//! last row. The drain and the neuron machine share the PPUs' current: a drain
//! step that starts a timestep waits until the neuron machine's last Integ on
//! the current before it (the same cycle will do). The feed machine takes the
//! next run while the last one is drained and its neuron steps go on, if the
//! run keeps its parameters, or on a core with the parameter prefetch any run,
//! whose theta beats then wait for the last run's last division; at most two
//! runs are in flight.
//!
//! The cycle model steps this mirror instead of summing a formula: where the
//! machines wait on each other no closed form is shorter than the walk.
//! The streams are always valid (the shell's feeder offers a beat a cycle, the
//! model's memory never stalls a run), and an Emit beat is taken when the spike
//! queue takes it ([`super::schedule`]).

use super::TileShape;
use crate::accel::config::ArrayConfig;

/// The feed machine's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Feed {
    Idle,
    /// Parameter beats left.
    Params(u64),
    Init,
    /// Beats taken in the chunk.
    Compute(u64),
}

/// The neuron machine's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Neuron {
    Idle,
    Integ,
    /// Division steps left, this one included.
    Div(u64),
    /// The cycle the spike sink takes the beat.
    Emit(u64),
    AfterT,
    /// Membranes sent.
    Out(u64),
    Done,
}

/// The core of one configuration running runs of one tile shape.
#[derive(Debug, Clone)]
pub struct CoreMachines {
    rows: u64,
    cols: u64,
    k: u64,
    slices: u64,
    b_in: u64,
    repeats: u64,
    /// Div steps a timestep: `b_s`, or `None` for a readout (Integ only).
    spike_bits: Option<u64>,
    /// A run ends with Out (its C final membranes).
    out: bool,
    /// The parameter prefetch (`ArrayConfig::param_prefetch`).
    prefetch: bool,
    /// The cycle [`Self::step`] simulates next.
    pub t: u64,
    feed: Feed,
    neuron: Neuron,
    runs: u8,
    held: bool,
    held_last: bool,
    n_last: bool,
    nrows: u64,
    sbase: u64,
    /// The drain: reading a chunk's rows, the row, the chunk's rows, and
    /// whether it is its run's last.
    draining: bool,
    dc: u64,
    dn: u64,
    d_last: bool,
    j: u64,
    rep: u64,
    /// Cycles the core's `busy` was high.
    pub busy: u64,
}

/// What one cycle did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Cycle {
    /// The start offered in this cycle was taken.
    pub accepted: bool,
    /// A run's neuron steps ended (`done`).
    pub done: bool,
}

impl CoreMachines {
    /// An idle core at cycle 0. `spikes_only`: the core's input of that name
    /// (high in the shell), with which a spiking run ends without Out.
    pub fn new(shape: &TileShape, rows: u64, cols: u64, spikes_only: bool) -> Self {
        Self {
            rows,
            cols,
            k: shape.fan_in,
            slices: shape.slices(),
            b_in: shape.input_bits,
            repeats: shape.timesteps / shape.input_steps(),
            spike_bits: shape.spike_bits,
            out: !(spikes_only && shape.spike_bits.is_some()),
            prefetch: false,
            t: 0,
            feed: Feed::Idle,
            neuron: Neuron::Idle,
            runs: 0,
            held: false,
            held_last: false,
            n_last: false,
            nrows: 0,
            sbase: 0,
            draining: false,
            dc: 0,
            dn: 0,
            d_last: false,
            j: 0,
            rep: 0,
            busy: 0,
        }
    }

    /// The core with the parameter prefetch (`ArrayConfig::param_prefetch`).
    pub fn with_prefetch(mut self, prefetch: bool) -> Self {
        self.prefetch = prefetch;
        self
    }

    /// The core would take a start in this cycle (`ready`), with or without
    /// `keep_params`.
    pub fn ready(&self, keep_params: bool) -> bool {
        self.feed == Feed::Idle
            && (self.runs == 0 || ((keep_params || self.prefetch) && self.runs == 1))
    }

    /// No run is in flight: every `done` given.
    pub fn idle(&self) -> bool {
        self.runs == 0 && self.feed == Feed::Idle && self.neuron == Neuron::Idle
    }

    /// Simulate cycle `self.t`, offering a start (`Some(keep_params)`) or not;
    /// `take(e)`: the cycle the spike sink takes an Emit beat first offered at
    /// cycle `e` (at least `e`).
    pub fn step(&mut self, start: Option<bool>, take: &mut dyn FnMut(u64) -> u64) -> Cycle {
        let t = self.t;
        if self.feed != Feed::Idle || self.neuron != Neuron::Idle || self.runs != 0 {
            self.busy += 1;
        }
        let accepted = start.is_some_and(|keep| self.ready(keep));
        let more_repeats = self.rep + 1 < self.repeats;
        let release = self.neuron == Neuron::Integ && !more_repeats;
        let step_ok = self.j != 0 || !self.held || release;
        let d_step = self.draining && step_ok;
        let handover = d_step && self.j + 1 == self.b_in;
        let last_chunk = self.slices - self.sbase == self.nrows;
        let d_row_last = self.dc + 1 == self.dn;
        let last_step = d_row_last && self.d_last;
        let take_current = self.neuron == Neuron::Idle && (self.held || handover);
        let after_current = if !self.n_last {
            Neuron::Idle
        } else if self.out {
            Neuron::Out(0)
        } else {
            Neuron::Done
        };
        let n_next = if more_repeats {
            Neuron::AfterT
        } else {
            after_current
        };
        let done = self.neuron == Neuron::Done;

        // The feed machine.
        let mut init_now = false;
        let mut chunk_done = false;
        match self.feed {
            Feed::Idle => {
                if accepted {
                    if start == Some(true) {
                        init_now = true;
                        self.feed = Feed::Compute(0);
                    } else {
                        self.feed = Feed::Params(3 * self.cols);
                    }
                }
            }
            Feed::Params(left) => {
                // With a run in flight before this one (the prefetch), a theta
                // beat waits for its last division.
                let theta = (3 * self.cols - left) / self.cols == 2;
                let dividing = self.runs == 2
                    && !matches!(self.neuron, Neuron::Out(_) | Neuron::Done)
                    && !(matches!(self.neuron, Neuron::Emit(_)) && self.n_last && !more_repeats);
                let waits = theta && dividing;
                self.feed = if waits {
                    Feed::Params(left)
                } else if left == 1 {
                    Feed::Init
                } else {
                    Feed::Params(left - 1)
                };
            }
            Feed::Init => {
                init_now = true;
                self.feed = Feed::Compute(0);
            }
            Feed::Compute(kc) => {
                // Every stream is valid: a beat unless the drain holds it.
                let last_beat = kc + 1 == self.k;
                if !self.draining || (d_step && (!last_beat || d_row_last)) {
                    self.feed = Feed::Compute(kc + 1);
                    if last_beat {
                        chunk_done = true;
                        self.feed = if last_chunk {
                            Feed::Idle
                        } else {
                            Feed::Compute(0)
                        };
                    }
                }
            }
        }
        if init_now {
            self.sbase = 0;
            self.nrows = self.slices.min(self.rows);
        }
        // The drain.
        if d_step {
            self.j = if handover { 0 } else { self.j + 1 };
            self.dc += 1;
            if d_row_last {
                self.draining = false;
            }
        }
        if chunk_done {
            self.draining = true;
            self.dc = 0;
            self.dn = self.nrows;
            self.d_last = last_chunk;
            self.sbase += self.nrows;
            self.nrows = (self.slices - self.sbase).min(self.rows);
        }
        if release {
            self.held = false;
        }
        if handover {
            self.held = true;
            self.held_last = last_step;
        }

        // The neuron machine.
        self.neuron = match self.neuron {
            Neuron::Idle => {
                if take_current {
                    self.n_last = if handover { last_step } else { self.held_last };
                    Neuron::Integ
                } else {
                    Neuron::Idle
                }
            }
            Neuron::Integ => match self.spike_bits {
                None => {
                    self.rep = if more_repeats { self.rep + 1 } else { 0 };
                    n_next
                }
                Some(b_s) => Neuron::Div(b_s),
            },
            Neuron::Div(left) => {
                if left == 1 {
                    Neuron::Emit(take(t + 1))
                } else {
                    Neuron::Div(left - 1)
                }
            }
            Neuron::Emit(at) => {
                if at == t {
                    self.rep = if more_repeats { self.rep + 1 } else { 0 };
                    n_next
                } else {
                    Neuron::Emit(at)
                }
            }
            Neuron::AfterT => Neuron::Integ,
            Neuron::Out(sent) => {
                if sent + 1 == self.cols {
                    Neuron::Done
                } else {
                    Neuron::Out(sent + 1)
                }
            }
            Neuron::Done => Neuron::Idle,
        };
        if accepted && !done {
            self.runs += 1;
        }
        if !accepted && done {
            self.runs -= 1;
        }
        self.t += 1;
        Cycle { accepted, done }
    }

    /// Take, at once, the cycles before `limit` in which only the feed
    /// machine's beat count moves: Compute before the chunk's last beat, no
    /// drain, the neuron machine idle with no current to take. What
    /// [`Self::step`] would do cycle by cycle, without a start; the cycles
    /// taken.
    pub fn skip(&mut self, limit: u64) -> u64 {
        let Feed::Compute(kc) = self.feed else {
            return 0;
        };
        if self.neuron != Neuron::Idle || self.held || self.draining {
            return 0;
        }
        let n = (self.k - 1 - kc).min(limit.saturating_sub(self.t));
        self.feed = Feed::Compute(kc + n);
        self.t += n;
        self.busy += n;
        n
    }
}

/// Cycles of one run on an idle `rows x cols` core, every stream always ready
/// (an Emit takes one cycle): from the cycle `start` is seen to the cycle
/// `done` is high, both included. `keep_params`: the run keeps the last run's
/// parameters (no Params, Init's work in the start's cycle).
pub fn run_cycles(
    shape: &TileShape,
    rows: u64,
    cols: u64,
    spikes_only: bool,
    keep_params: bool,
) -> u64 {
    let mut core = CoreMachines::new(shape, rows, cols, spikes_only);
    let mut at_once = |e: u64| e;
    core.step(Some(keep_params), &mut at_once);
    loop {
        if core.step(None, &mut at_once).done {
            return core.t;
        }
    }
}

/// Cycles of `tiles` output tiles of one layer on the bare core `cfg`,
/// started as its harness (`spikeslice_sim::CoreSim`) starts them: each
/// tile's start offered until taken (after the last tile's `done`, or with the
/// parameter prefetch once the feed machine is idle), every stream always
/// ready, `spikes_only` low; from the first start to the last `done`, both
/// included. With the fan-in in halves a chunk holds `rows / 2` slices over
/// `ceil(K / 2)` beats (`ArrayConfig::chunk_rows`, `chunk_beats`).
pub fn bare_core_cycles(cfg: &ArrayConfig, shape: &TileShape, tiles: u64) -> u64 {
    let fan_in = usize::try_from(shape.fan_in).unwrap_or(usize::MAX);
    let chunked = TileShape {
        fan_in: cfg.chunk_beats(fan_in) as u64,
        ..*shape
    };
    let (rows, cols) = (cfg.chunk_rows() as u64, cfg.cols as u64);
    if tiles == 0 {
        return 0;
    }
    let mut core = CoreMachines::new(&chunked, rows, cols, false).with_prefetch(cfg.param_prefetch);
    let mut at_once = |e: u64| e;
    let (mut started, mut done) = (0, 0);
    loop {
        let start = (started < tiles).then_some(false);
        let cycle = core.step(start, &mut at_once);
        started += u64::from(cycle.accepted);
        done += u64::from(cycle.done);
        if done == tiles {
            return core.t;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conv(fan_in: u64, input_bits: u64, static_input: bool) -> TileShape {
        TileShape {
            fan_in,
            input_bits,
            timesteps: 2,
            static_input,
            spike_bits: Some(4),
        }
    }

    /// Once the feed machine has taken a run's beats, a run that keeps the
    /// parameters is taken while the neuron machine finishes the last one; a
    /// run with new parameters waits for it, and a third run for the first
    /// run's `done`.
    #[test]
    fn a_run_keeping_its_parameters_is_taken_beside_the_last_ones_neuron_steps() {
        let shape = conv(25, 8, true);
        let mut core = CoreMachines::new(&shape, 8, 8, true);
        let mut at_once = |e: u64| e;
        assert!(core.step(Some(true), &mut at_once).accepted);
        // 25 beats: the feed machine is idle again 26 cycles on, while the
        // run's rows are drained.
        while !core.ready(true) {
            core.step(None, &mut at_once);
        }
        assert_eq!(core.t, 26);
        assert!(
            !core.ready(false),
            "new parameters wait for the neuron steps"
        );
        assert!(core.step(Some(true), &mut at_once).accepted);
        // The first run's done comes while the second one streams its beats.
        let mut dones = vec![];
        while dones.len() < 2 {
            if core.step(None, &mut at_once).done {
                dones.push(core.t - 1);
            }
        }
        // Each run alone: 1 + 25 + 8 + 2 (Integ, Div x 4, Emit) + AfterT + Done.
        let alone = run_cycles(&shape, 8, 8, true, true);
        assert_eq!(dones[0], alone - 1);
        assert_eq!(dones[1], 26 + alone - 1);
        assert!(core.idle());
        // Busy from the cycle after the first start to the last done: once,
        // though two runs were in flight.
        assert_eq!(core.busy, dones[1]);
    }

    /// Without the core's options a layer's tiles run one after the other
    /// (`tile_cycles` each); the fan-in in halves is an array of half the rows
    /// over half the beats.
    #[test]
    fn a_bare_core_layer_is_its_tiles_one_after_the_other() {
        let plain = ArrayConfig {
            rows: 4,
            cols: 8,
            ..ArrayConfig::default()
        };
        let halves = ArrayConfig {
            fanin_halves: true,
            ..plain.clone()
        };
        for shape in [conv(25, 8, true), conv(72, 1, false), conv(3, 2, false)] {
            let one = run_cycles(&shape, 4, 8, false, false);
            assert_eq!(bare_core_cycles(&plain, &shape, 3), 3 * one);
            let half = TileShape {
                fan_in: shape.fan_in.div_ceil(2),
                ..shape
            };
            let one = run_cycles(&half, 2, 8, false, false);
            assert_eq!(bare_core_cycles(&halves, &shape, 3), 3 * one);
        }
    }

    /// With the parameter prefetch the next tile is taken as soon as the feed
    /// machine is idle: its v_init and bias beats go at once, its theta beats
    /// wait for the last tile's last division; the layer is shorter than its
    /// tiles one after the other, by less than a tile's parameter beats and
    /// neuron steps.
    #[test]
    fn prefetched_tiles_overlap_the_last_ones_neuron_steps() {
        let shape = TileShape {
            fan_in: 40,
            input_bits: 1,
            timesteps: 8,
            static_input: false,
            spike_bits: Some(8),
        };
        let mut core = CoreMachines::new(&shape, 8, 4, false).with_prefetch(true);
        let mut at_once = |e: u64| e;
        assert!(core.step(Some(false), &mut at_once).accepted);
        while !core.ready(false) {
            core.step(None, &mut at_once);
        }
        // Start, 12 parameter beats, Init, 40 beats: the next tile is taken
        // while the first one's rows are still drained.
        assert_eq!(core.t, 1 + 12 + 1 + 40);
        assert!(core.draining);
        assert!(core.step(Some(false), &mut at_once).accepted);
        // v_init and bias: 8 beats in 8 cycles; then theta waits.
        for _ in 0..9 {
            core.step(None, &mut at_once);
        }
        assert_eq!(core.feed, Feed::Params(4));
        let mut waited = 0;
        while core.feed == Feed::Params(4) {
            assert!(core.neuron != Neuron::Out(0) && core.runs == 2);
            core.step(None, &mut at_once);
            waited += 1;
        }
        assert!(waited > 8, "theta waited {waited} cycles");
        let prefetch = ArrayConfig {
            rows: 8,
            cols: 4,
            param_prefetch: true,
            ..ArrayConfig::default()
        };
        let one = run_cycles(&shape, 8, 4, false, false);
        let layer = bare_core_cycles(&prefetch, &shape, 3);
        assert!(
            layer < 3 * one && layer > 3 * 41,
            "{layer} against 3 x {one}"
        );
    }

    /// Skipping the plain Compute cycles gives the cycle-by-cycle walk's
    /// runs, done cycles and busy count.
    #[test]
    fn skipped_cycles_are_the_steps_they_replace() {
        for shape in [conv(25, 8, true), conv(72, 4, false), conv(3, 2, false)] {
            let walk = |skipping: bool| {
                let mut core = CoreMachines::new(&shape, 4, 8, true);
                let mut at_once = |e: u64| e;
                let mut dones = vec![];
                let mut starts = 0;
                while dones.len() < 3 {
                    let start = (starts < 3 && core.ready(starts > 0)).then_some(starts > 0);
                    if start.is_none() && skipping && core.skip(u64::MAX) > 0 {
                        continue;
                    }
                    let cycle = core.step(start, &mut at_once);
                    starts += usize::from(cycle.accepted);
                    if cycle.done {
                        dones.push(core.t - 1);
                    }
                }
                (dones, core.busy, core.t)
            };
            assert_eq!(walk(true), walk(false));
        }
    }

    /// The drain of a timestep waits for the neuron machine's last Integ on
    /// the one before: with 1-bit slices (one row a timestep) and 4-bit
    /// spikes (7 cycles a timestep) a chunk of 8 timesteps drains in 1 + 7 x 7
    /// cycles, not 8.
    #[test]
    fn the_drain_waits_for_the_held_current() {
        let shape = TileShape {
            fan_in: 40,
            input_bits: 1,
            timesteps: 8,
            static_input: false,
            spike_bits: Some(4),
        };
        let x = 4 + 2;
        let p = x + 1;
        // Start, Params, Init, K beats, 8 rows, the last timestep's neuron
        // steps and Done; and before each of the 7 later timesteps' rows a wait
        // of p - 1 cycles for the current before it.
        let walk = run_cycles(&shape, 8, 8, true, false);
        let no_wait = 3 * 8 + 2 + 40 + 8 + x + 1;
        assert_eq!(walk, no_wait + 7 * (p - 1));
    }
}
