//! The cycle formula as the docs write it, generated from the model: a run of
//! the core is the walk of its machines ([`CoreMachines`](super::CoreMachines)),
//! with a closed form where a run's chunks hold whole timesteps
//! ([`closed_form`], checked equal to the walk); the shell's lines take their
//! constants from the functions and constants the model computes with.
//! `core/tests/integration/generated_docs.rs`
//! fails when docs/controller.md ("Cycle formula") or docs/compute-core.md ("Cycles
//! and utilization") is stale.

use super::{
    generate_phase_cycles, read_phase_cycles, TileShape, DESCRIPTOR_FETCH_FIELDS,
    PAIRED_TIMESTEPS_MAX, SPIKE_QUEUE_DEPTH, SPIKE_WRITE_PORTS,
};
use crate::accel::math::{
    DIVIDEND_BITS_MAX, HALF_BITS, MATH_OPS, MUL_STEPS_MAX, OP_OVERHEAD, PHASE_OVERHEAD,
};

/// The lines that describe a run of the core (hdl/src/sequencer.rs, the walk
/// of `CoreMachines`), each indented by `indent` spaces after the first.
fn core_lines(lhs: &str) -> String {
    let pad = " ".repeat(lhs.len());
    let lines = [
        "the walk of the core's machines (`CoreMachines`), from the cycle `start` is".to_string(),
        "seen to the cycle `done` is high:".to_string(),
        "feed:   1 (start) + 3C + 1 (Params, Init; none with `keep_params`: the start's"
            .to_string(),
        "        cycle does Init's work), then per chunk of up to R slices K beats, the"
            .to_string(),
        "        chunks back to back; a chunk's last beat waits for the drain before it"
            .to_string(),
        "        to be in its last row".to_string(),
        "drain:  from the cycle after a chunk's last beat its rows, one a cycle, beside"
            .to_string(),
        "        the next chunk's beats (the array steps for both: a waiting drain holds"
            .to_string(),
        "        the beats); a drain step that begins a timestep (j = 0) waits for the".to_string(),
        "        neuron machine's last Integ on the timestep before (the same cycle will do)"
            .to_string(),
        "neuron: per timestep, from the cycle after its last drain step, or two cycles".to_string(),
        "        after the machine's last step if later: Integ, Div x b_s, Emit (x = b_s + 2"
            .to_string(),
        "        cycles; a readout Integ only, x = 1); a static input's T of them, AfterT"
            .to_string(),
        "        between; after the run's last: Out (C, if out) and Done".to_string(),
        "S = T b_in (b_in for a static input), n_ch = ceil(S / R); out: a readout, or a"
            .to_string(),
        "spiking run while the core's `spikes_only` is low (the shell holds it high);".to_string(),
        "the next run is taken once the feed machine is idle, with `keep_params` while the"
            .to_string(),
        "last run is drained and its neuron steps go on (at most two runs in flight)".to_string(),
        "where every chunk holds whole timesteps, K >= R and the neuron steps keep up (below):"
            .to_string(),
        format!("  {}", closed_form_text()),
    ];
    let lines: Vec<String> = lines
        .into_iter()
        .chain(closed_form_legend().iter().map(|l| format!("  {l}")))
        .collect();
    let mut out = String::new();
    for (i, l) in lines.iter().enumerate() {
        if i == 0 {
            out.push_str(&format!("{lhs}{l}\n"));
        } else {
            out.push_str(&format!("{pad}{l}\n"));
        }
    }
    out
}

/// The text of [`closed_form`].
fn closed_form_text() -> &'static str {
    "3C + 3 + sum over chunks c (K + w_c) + n_l + (t_l - 1) (p - b_in) + x + [out] C"
}

/// The legend of [`closed_form_text`].
fn closed_form_legend() -> [&'static str; 4] {
    [
        "t_c timesteps in chunk c, n_l rows and t_l timesteps in the last,",
        "p = max(b_in, x + 1), w_c = max(0, t_c - 2) (p - b_in) before the last chunk, 0 in",
        "it; for a static input (S <= R): 3C + 2 + (K + 1) + S + T x + (T - 1) + [out] C;",
        "3C + 1 less with `keep_params`",
    ]
}

/// The count [`closed_form_text`] gives for a lone run on an idle core,
/// every stream ready, or `None` where it does not hold: a timestep split
/// between chunks, a chunk's last beat held by the drain before it (`K < R`),
/// or a chunk's neuron steps still going when the next chunk's first timestep
/// is drained (with `g = K + 1 - R` cycles from a chunk's last drain step to the
/// next chunk's first: `g + b_in < x + 2` or `g + 2 b_in < p + x + 2`).
pub fn closed_form(
    shape: &TileShape,
    rows: u64,
    cols: u64,
    spikes_only: bool,
    keep_params: bool,
) -> Option<u64> {
    let s = shape.slices();
    let b_in = shape.input_bits;
    let x = shape.spike_bits.map_or(1, |b_s| b_s + 2);
    let out = if spikes_only && shape.spike_bits.is_some() {
        0
    } else {
        cols
    };
    let k = shape.fan_in;
    let params = if keep_params { 1 } else { 3 * cols + 2 };
    if shape.static_input {
        let t = shape.timesteps;
        return (s <= rows).then_some(params + (k + 1) + s + t * x + (t - 1) + out);
    }
    let p = b_in.max(x + 1);
    // The drain of a chunk goes on beside the next chunk's first beats: from a
    // chunk's last drain step to the next chunk's first, K + 1 - R cycles.
    let gap = k as i64 + 1 - rows as i64;
    let (b, x_i, p_i) = (b_in as i64, x as i64, p as i64);
    if s > rows
        && (!rows.is_multiple_of(b_in)
            || k < rows
            || gap + b < x_i + 2
            || gap + 2 * b < p_i + x_i + 2)
    {
        return None;
    }
    let mut cycles = params + 1;
    let mut left = s;
    loop {
        let n_c = left.min(rows);
        let t_c = n_c / b_in;
        left -= n_c;
        cycles += k;
        if left == 0 {
            return Some(cycles + n_c + (t_c - 1) * (p - b_in) + x + out);
        }
        cycles += t_c.saturating_sub(2) * (p - b_in);
    }
}

/// The code block of docs/controller.md, "Cycle formula": `CNT_CYCLES` of a chain.
pub fn shell_markdown() -> String {
    let rd = read_phase_cycles(0, 0);
    let row = generate_phase_cycles(0);
    let core = core_lines("core   = ");
    format!(
        "```
RD(F)  = F + L + {rd}                       read phase of F gearbox fields (1 per cycle)
ROW(K) = RD(K) for a table row; K + {row} for an im2col layer's generated row, but
         for a tile's first max(1, K + {row} - RD(3 nv) - RD(Fw)): it is made from the
         first cycle of the tile's loads, and Grow waits for what is left
{core}\
emits  = an Emit is taken in its first cycle while the spike queue holds fewer than
         {SPIKE_QUEUE_DEPTH} beats, else in the cycle after the oldest beat's last write, and the
         neuron machine waits for it; a beat taken at cycle a is written in
         ceil(C / {SPIKE_WRITE_PORTS}) b_s cycles from max(a + 1, the previous beat's last write + 1);
         positions in pairs (spike_pairs; P even, G = 1, T <= {PAIRED_TIMESTEPS_MAX}, a spiking layer): an even
         position's Emits are taken at once and held, its partner's queued and
         written with them
WR(w)  = h + L + 4: OutCmd, OutWr to the cycle after h, OutWait; h = the cycle of OutWr
         (from 0) in which the DMA takes the last of ceil(w / wpb) beats (wpb = B / 8
         words a beat), the walk of core/src/accel/cycles/write_back.rs: word i read
         in cycle i unless reading has stopped, in the beat assembled a cycle later;
         a full beat (or the last) to the DMA's register if free (empty, or taken
         that cycle), else waiting in the assembly, and no read while one will wait
         there; the DMA takes the register's beat from cycle 2, in bursts of
         max_burst beats, a burst's first beat from h_j + L + 2 after the last of
         burst j at h_j. One burst: h = w + 1
MATH   = {PHASE_OVERHEAD} + sum over the {MATH_OPS} operations of the size arithmetic (`SEQUENCE`,
         core/src/accel/math.rs) of {OP_OVERHEAD} + steps: a product a b (a, b saturated to
         32 bits) 1 step if a, b < 2^{HALF_BITS}, 2 if one of them is, {MUL_STEPS_MAX} else; a quotient
         a / b (a < 2^{DIVIDEND_BITS_MAX}) 1 step to find a's top bit, then one per bit of a (at least 1)
layer  = RD({DESCRIPTOR_FETCH_FIELDS}) + MATH                                 fetch, decode, math, checks
       + max(RD(S ceil(I / 64)) + 1, out_words)            input planes, the clear beside them
       + tiles
       + WR(out_words) + 1                                 packed output
       | T b_s WR(ceil(O P / 64)) + 1                      strided: a command per plane
CNT_CYCLES = sum of layers + 1

tiles, serial (K > Kmax / 2):
         sum over tiles o0 = 0, C, ..  (nv = min(C, O - o0), g0 = floor(o0 / (O/G))):
           load + 1 + dense: 1 + core
                    | gather: 1 + P (1 + n_g (ROW(K) + 1 + core + 1)),
                              n_g = groups meeting [o0, o0 + nv),
                              core = a run's cycles, start to done
         load = 2 + (g0 - g0_prev) + RD(3 nv) + RD(Fw)     TileStart, GAdv, params, weights
         Fw = ceil(K / m) C / L (L weight codes per field, AcceleratorConfig::weight_lanes;
              m = 2 inputs' rows per field where they fit, else 1: weight_rows_per_field)
tiles, double buffered (K <= Kmax / 2), dense, tiles i = 0 .. n-1:
         go_0 = load_0
         go_i = max(go_(i-1) + 3C + 1 + load_i,   next loads after the running tile's parameters
                    ready_i)                      the core takes the run (every run before done)
         tiles = the last run's done + 1
tiles, double buffered, gather: the same schedule with a run per (position, group):
         CoreGo at go takes RunEnd's step (and a new position's GrpStart) with the
         start, and the FSM makes the next row in Grow from go + 1, ROW(K) cycles;
         in Grow's last cycle the row is primed and CoreGo follows if the core would
         take the run (its feed machine idle, and for the tile's first run every run
         before done), else GPre waits until it would; TileEnd (go + 1 after the
         tile's last run), TileStart (waiting for go + 3C + 1, or go + 1 after a run
         that kept its parameters) and the next tile's loads follow; OutCmd waits for
         the last run's done and the spike queue's last write
```
"
    )
}

/// The code block of docs/compute-core.md, "Cycles and utilization": one run of
/// the bare core and the utilization it gives.
pub fn core_markdown() -> String {
    format!(
        "```\n{}\
ideal       = ceil(K O S / (R C))          (every PE adds every cycle)\n\
utilization = ideal / (ceil(O / C) cycles_tile)\n```\n",
        core_lines("cycles_tile = "),
    )
}

#[cfg(test)]
mod tests {
    use super::super::run_cycles;
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The closed form the docs show counts what the machines do,
        /// wherever it claims to hold.
        #[test]
        fn the_closed_form_is_the_machines_walk(
            fan_in in 1u64..400,
            input_bits in 1u64..=8,
            timesteps in 1u64..=16,
            static_input: bool,
            spike_bits in proptest::option::of(1u64..=8),
            rows in 1u64..=32,
            cols in 1u64..=32,
            spikes_only: bool,
            keep_params: bool,
        ) {
            let shape = TileShape { fan_in, input_bits, timesteps, static_input, spike_bits };
            if let Some(cycles) = closed_form(&shape, rows, cols, spikes_only, keep_params) {
                prop_assert_eq!(
                    cycles,
                    run_cycles(&shape, rows, cols, spikes_only, keep_params)
                );
            }
        }
    }

    /// The closed form covers the usual shapes: a static input on enough
    /// rows, and timesteps that fill whole chunks.
    #[test]
    fn the_closed_form_holds_for_whole_timestep_chunks() {
        let shape = |b_in, t, static_input| TileShape {
            fan_in: 72,
            input_bits: b_in,
            timesteps: t,
            static_input,
            spike_bits: Some(4),
        };
        for (b_in, t, static_input) in [(8, 2, true), (4, 2, false), (2, 4, false), (1, 16, false)]
        {
            assert!(closed_form(&shape(b_in, t, static_input), 8, 8, true, true).is_some());
        }
        // b_in = 3 on 8 rows splits a timestep between chunks.
        assert!(closed_form(&shape(3, 4, false), 8, 8, true, true).is_none());
    }
}
