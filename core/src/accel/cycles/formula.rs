//! The cycle formula as the docs write it, generated from the model: the
//! core's run is a sum of [`Term`]s, each the text the docs show beside the
//! count it stands for, checked equal to [`TileTimeline`](super::TileTimeline)'s walk of the
//! sequencer's states; the shell's lines take their constants from the
//! functions and constants the model computes with. `core/tests/integration/generated_docs.rs`
//! fails when docs/controller.md ("Cycle formula") or docs/compute-core.md ("Cycles
//! and utilization") is stale.

use super::{
    generate_phase_cycles, math_phase_cycles, read_phase_cycles, TileShape,
    DESCRIPTOR_FETCH_FIELDS, DIV_ITERS, MATH_DIVS, MATH_MULS, MUL_ITERS, SPIKE_QUEUE_DEPTH,
    SPIKE_WRITE_PORTS,
};

/// The quantities a run's cycle count depends on, in the formula's names.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunVars {
    /// Columns `C`.
    pub c: u64,
    /// Fan-in `K`.
    pub k: u64,
    /// Binary slices `S`.
    pub s: u64,
    /// Chunks `n_ch = ceil(S / R)`.
    pub n_ch: u64,
    /// Timesteps `T`.
    pub t: u64,
    /// Cycles of a timestep's neuron steps `x`: `b_s + 2`, or 1 for a readout.
    pub x: u64,
    /// The input is the same at every timestep.
    pub static_input: bool,
    /// The run sends its `C` final membranes (`Out`).
    pub out: bool,
}

impl RunVars {
    /// The variables of one run of `shape` on a `rows x cols` core;
    /// `spikes_only` is the core's input of that name.
    pub fn of(shape: &TileShape, rows: u64, cols: u64, spikes_only: bool) -> Self {
        let s = shape.slices();
        Self {
            c: cols,
            k: shape.fan_in,
            s,
            n_ch: s.div_ceil(rows),
            t: shape.timesteps,
            x: shape.spike_bits.map_or(1, |b_s| b_s + 2),
            static_input: shape.static_input,
            out: !(spikes_only && shape.spike_bits.is_some()),
        }
    }
}

/// One term of a formula: its text and its count.
#[derive(Clone, Copy)]
pub struct Term {
    pub text: &'static str,
    pub cycles: fn(&RunVars) -> u64,
}

/// A run of the core from the cycle `start` is seen to the cycle `done` is
/// high, both included, each Emit one cycle (hdl/src/sequencer.rs).
pub const CORE_RUN: [Term; 6] = [
    // Idle (start seen), Params (3C beats), Init; Done.
    Term {
        text: "3C + 2",
        cycles: |v| 3 * v.c + 2,
    },
    // Per chunk its Clear (Init or ChunkEnd) and K beats of Compute.
    Term {
        text: "n_ch (K + 1)",
        cycles: |v| v.n_ch * (v.k + 1),
    },
    // Drain: one row a cycle.
    Term {
        text: "S",
        cycles: |v| v.s,
    },
    // Per timestep: Integ, Div x b_s, Emit; or Integ.
    Term {
        text: "T x",
        cycles: |v| v.t * v.x,
    },
    // AfterT between a static input's timesteps.
    Term {
        text: "[static] (T - 1)",
        cycles: |v| if v.static_input { v.t - 1 } else { 0 },
    },
    // Out: the final membranes.
    Term {
        text: "[out] C",
        cycles: |v| if v.out { v.c } else { 0 },
    },
];

/// What a run with kept parameters (the core's `keep_params`) saves: Params'
/// 3C beats and Init, whose work Idle does.
pub const KEPT_PARAMS: Term = Term {
    text: "3C + 1",
    cycles: |v| 3 * v.c + 1,
};

/// The sum of `terms` at `v`.
pub fn sum(terms: &[Term], v: &RunVars) -> u64 {
    terms.iter().map(|t| (t.cycles)(v)).sum()
}

/// The terms' texts joined with ` + `.
pub fn text(terms: &[Term]) -> String {
    terms.iter().map(|t| t.text).collect::<Vec<_>>().join(" + ")
}

/// The legend of the run formula, each line indented by `indent` spaces.
fn core_legend(indent: usize) -> String {
    let pad = " ".repeat(indent);
    [
        "S = T b_in (b_in for a static input), n_ch = ceil(S / R),".to_string(),
        "x = b_s + 2 (spiking: Integ, b_s Div steps, Emit with the reset) | 1 (readout),"
            .to_string(),
        "each Emit one cycle; a static input's T - 1 AfterT between its timesteps;".to_string(),
        "out: the run sends its C final membranes (a readout always, a spiking run".to_string(),
        "while the core's `spikes_only` is low; the shell holds it high);".to_string(),
        format!(
            "{} less for a run with kept parameters (`keep_params`, which the shell sets",
            KEPT_PARAMS.text
        ),
        "for a gather tile's runs after its first: Idle does Init's work)".to_string(),
    ]
    .iter()
    .map(|l| format!("{pad}{l}\n"))
    .collect()
}

/// The code block of docs/compute-core.md, "Cycles and utilization": one run of
/// the bare core and the utilization it gives.
pub fn core_markdown() -> String {
    let lhs = "cycles_tile = ";
    format!(
        "```\n{lhs}{}\n{}\
ideal       = ceil(K O S / (R C))          (every PE adds every cycle)\n\
utilization = ideal / (ceil(O / C) cycles_tile)\n            \
~= [S / (R n_ch)] [O / (C ceil(O / C))] K / (K + 1 + overhead)\n```\n",
        text(&CORE_RUN),
        core_legend(lhs.len()),
    )
}

/// The code block of docs/controller.md, "Cycle formula": `CNT_CYCLES` of a chain.
pub fn shell_markdown() -> String {
    let rd = read_phase_cycles(0, 0);
    let row = generate_phase_cycles(0);
    let mul = MUL_ITERS + 2;
    let div = DIV_ITERS + 2;
    let math_rest = math_phase_cycles() - 1 - MATH_MULS * mul - MATH_DIVS * div;
    let core = format!("core   = {}\n{}", text(&CORE_RUN), core_legend(9));
    format!(
        "```
RD(F)  = F + L + {rd}                       read phase of F gearbox fields (1 per cycle)
ROW(K) = RD(K) for a table row; K + {row} for an im2col layer's generated row, but
         for a tile's first max(1, K + {row} - RD(3 nv) - RD(Fw)): it is made from the
         first cycle of the tile's loads, and Grow waits for what is left
{core}\
emits  = a spiking run's T Emits fall where the sequencer reaches them (after the
         drain of a timestep's last slice: Integ, Div x b_s; a static input's
         T of them one after the other, AfterT between), `TileTimeline`; an Emit is taken in its
         first cycle while the spike queue holds fewer than {SPIKE_QUEUE_DEPTH} beats, else in the
         cycle after the oldest beat's last write, and the run's later states move
         by the wait; a beat taken at cycle a is written in ceil(C / {SPIKE_WRITE_PORTS}) b_s cycles from
         max(a + 1, the previous beat's last write + 1)
WR(w)  = 1 + (w + 2 beats + 1) + sum over bursts j >= 2 of max(0, L - w_j) + L + 1
         wpb = B / 8 words per beat, beats = ceil(w / wpb), bursts = ceil(beats / max_burst),
         w_j = words in burst j's first beat (wpb; fewer only when it is the last beat)
layer  = RD({DESCRIPTOR_FETCH_FIELDS}) + 1 + {MATH_MULS} * {mul} + {MATH_DIVS} * {div} + {math_rest}                 fetch, decode, math, checks
       + RD(S ceil(I / 64)) + out_words                    input planes, clear
       + tiles
       + WR(out_words) + 1                                 packed output
       | T b_s WR(ceil(O P / 64)) + 1                      strided: a command per plane
CNT_CYCLES = sum of layers + 1

tiles, serial (K > Kmax / 2):
         sum over tiles o0 = 0, C, ..  (nv = min(C, O - o0), g0 = floor(o0 / (O/G))):
           load + 1 + dense: 1 + core
                    | gather: 1 + P (1 + n_g (ROW(K) + 2 + core + 1)),
                              n_g = groups meeting [o0, o0 + nv)
         load = 2 + (g0 - g0_prev) + RD(3 nv) + RD(Fw)     TileStart, GAdv, params, weights
         Fw = ceil(K / m) C / L (L weight codes per field, AcceleratorConfig::weight_lanes;
              m = 2 inputs' rows per field where they fit, else 1: weight_rows_per_field)
tiles, double buffered (K <= Kmax / 2), dense, tiles i = 0 .. n-1:
         go_0 = load_0
         go_i = max(go_(i-1) + 3C + 1 + load_i,   next loads after the running tile's parameters
                    go_(i-1) + core + 1)          the core idle again
         tiles = go_(n-1) + core + 1
tiles, double buffered, gather: the same schedule with a run per (position, group):
         after CoreGo at go the FSM is at RunEnd (go + 1), then GrpStart (new
         position) and the next row ROW(K); GPre waits for go + core + 1, CoreGo
         follows it; TileEnd, TileStart (waiting for go + 3C + 1, or go + 1 after a
         run that kept its parameters) and the next tile's loads follow the tile's
         last RunEnd; OutCmd waits for the last run and the spike queue's last write
```
"
    )
}

/// The run formula's count, [`CORE_RUN`] summed: equal to [`TileTimeline`](super::TileTimeline)'s
/// walk with one-cycle Emits (tested below).
pub fn core_run_cycles(shape: &TileShape, rows: u64, cols: u64, spikes_only: bool) -> u64 {
    sum(&CORE_RUN, &RunVars::of(shape, rows, cols, spikes_only))
}

#[cfg(test)]
mod tests {
    use super::super::TileTimeline;
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The formula the docs show counts what the sequencer's states count.
        #[test]
        fn the_run_formula_is_the_sequencers_walk(
            fan_in in 1u64..3000,
            input_bits in 1u64..=8,
            timesteps in 1u64..=16,
            static_input: bool,
            spike_bits in proptest::option::of(1u64..=8),
            rows in 1u64..=64,
            cols in 1u64..=64,
            spikes_only: bool,
        ) {
            let shape = TileShape { fan_in, input_bits, timesteps, static_input, spike_bits };
            prop_assert_eq!(
                core_run_cycles(&shape, rows, cols, spikes_only),
                TileTimeline::of(&shape, rows, cols, spikes_only).cycles(1)
            );
        }
    }

    #[test]
    fn the_shell_formula_shows_the_models_constants() {
        let md = shell_markdown();
        let layer = md.lines().find(|l| l.starts_with("layer  = ")).unwrap();
        let fetch = format!("RD({DESCRIPTOR_FETCH_FIELDS}) + ");
        // What follows the fetch up to the column of notes: the math phase,
        // written out term by term.
        let rest = &layer[layer.find(&fetch).unwrap() + fetch.len()..];
        let math: u64 = rest[..rest.find("  ").unwrap()]
            .split(" + ")
            .map(|t| {
                t.split(" * ")
                    .map(|f| f.parse::<u64>().unwrap())
                    .product::<u64>()
            })
            .sum();
        assert_eq!(math, math_phase_cycles());
    }
}
