//! Tile sequencer: the top of the generated core. Runs layer tiles (all K inputs, up
//! to C outputs, S = b_in * T binary slices) from valid/ready streams. A static input
//! (the same at every timestep, `cfg_repeats = T`) streams one timestep's S = b_in
//! slices, and the neuron steps run T times on the one current they make.
//!
//! Three machines share the work, so that a chunk's rows are drained while the
//! next chunk's (or run's) beats stream, and a run's neuron steps go on while the
//! next timestep is drained:
//!
//! ```text
//! feed:   Idle -start-> Params (3*C beats: C v_init, C bias, C theta; first beat =
//!         column 0) -> Init (the run's first chunk set up), or with `keep_params`
//!         high (the NDUs hold the last run's parameters) Idle does it itself
//!         -> Compute: per chunk of up to R slices K beats of wgt+act (both must be
//!         valid; the first with the first-beat flag, which starts each row's sum
//!         afresh as it reaches the row), the chunks back to back -> after the
//!         run's last beat: Idle
//! drain:  from the cycle after a chunk's last beat, one row per cycle to the
//!         PPUs: row d after K+d steps, while the array takes the step that
//!         completes row d+1 (the next chunk's beat, or zero slice bits); a
//!         timestep's last row hands the PPUs' current to the neuron machine
//! neuron: Idle -current-> Integ -> Div x b_s -> Emit (one spk beat; the reset of the
//!         membrane in the cycle it is taken), or for a readout layer Integ only; a
//!         static input goes back through AfterT to Integ, the PPUs' current held,
//!         until `cfg_repeats` timesteps are done -> Idle, or after the run's last
//!         current Out (C beats of final membranes, column 0 first; skipped by a
//!         spiking run when `spikes_only` is high) -> Done
//! ```
//!
//! The array steps for a beat and for a drain step alike, so while a drain waits
//! the beats wait too; a chunk's last beat waits until the drain before it is in
//! its last row (a chunk of fewer inputs than the rows before it). The PPUs hold
//! one current: a drain step that begins a timestep (slice bit j = 0) waits until
//! the neuron machine's last Integ on the current before, which reads it in that
//! step's own cycle. The feed machine takes the next run (`ready`) once it is
//! idle, while the last one is drained and its neuron steps go on if the new run
//! keeps the parameters: at most two runs are in flight, and `done` pulses once
//! per run, at the neuron machine's Done. `v = v_init` is set with the run's first
//! beat when no run is left behind it, else in the Done of the run before (the
//! membrane is free from then; the parameters are the same).
//!
//! No state waits on a register it need not: a chunk's sums start with its first
//! beat, the last beat hands the chunk to the drain (the wavefront finishes during
//! the drain: row r completes K + r steps into the chunk), and the reset shares the
//! Emit's cycle. An Integ comes at least two cycles after the
//! last write of the membrane (the NDU's leak is registered, `Ndu::leaked`): Idle
//! between a current's last step and the next current's Integ, AfterT between a static
//! input's repeats.
//!
//! Weights are not buffered in this block: each chunk consumes the tile's K weight beats
//! again (the shell's weight banks, or a test harness, replay them).
//!
//! Two generator options (`ArrayConfig`; docs/compute-core.md, "The fan-in in
//! halves and the parameter prefetch"): `fanin_halves`, for which the machines
//! see an array of `R/2` rows (`rows_c`) over `cfg_k = ceil(K/2)` beats and the
//! beat's second weight row goes to the array's lower half (`wgt_data_b`); and
//! `param_prefetch`, with which a run with new parameters is taken with one run
//! in flight, its bias beats go to the NDUs while the PPUs add the drained
//! chunk's own (`bias_hold`), and its theta beats wait for that run's last
//! division. Without them their statements are not generated (loops over
//! `_cols_b`, `_prefetch`, `_cols_p`), so the Verilog is as before.

use crate::array::Array;
use crate::ndu::Ndu;
use crate::param::Param;
use crate::pe::W_BITS;
use crate::ppu::Ppu;
use rust_hdl::prelude::*;

/// The feed machine's states: parameters and beats.
#[derive(Copy, Clone, Debug, PartialEq, LogicState)]
pub enum SeqState {
    Idle,
    Params,
    Init,
    Compute,
    /// A start refused for its configuration: `done` with `error`.
    Done,
}

/// The neuron machine's states: a timestep's steps on a drained current.
#[derive(Copy, Clone, Debug, PartialEq, LogicState)]
pub enum NeuronState {
    Idle,
    Integ,
    Div,
    Emit,
    AfterT,
    Out,
    Done,
}

#[derive(LogicBlock, Default)]
pub struct Core<const ACC: usize, const MEM: usize> {
    pub clock: Signal<In, Clock>,
    /// Synchronous reset of the control state.
    pub rst: Signal<In, Bit>,
    // Layer configuration, held stable while busy.
    /// Beats of a chunk: the fan-in K, or with the fan-in in halves
    /// `ceil(K / 2)` (`ArrayConfig::chunk_beats`).
    pub cfg_k: Signal<In, Bits<16>>,
    pub cfg_slices: Signal<In, Bits<10>>,
    pub cfg_b_in: Signal<In, Bits<4>>,
    pub cfg_b_w: Signal<In, Bits<4>>,
    pub cfg_b_s: Signal<In, Bits<4>>,
    pub cfg_lif: Signal<In, Bit>,
    pub cfg_leak: Signal<In, Bits<8>>,
    pub cfg_hard: Signal<In, Bit>,
    pub cfg_readout: Signal<In, Bit>,
    /// Timesteps per streamed input timestep: T for a static input, else 1.
    pub cfg_repeats: Signal<In, Bits<7>>,
    pub start: Signal<In, Bit>,
    /// With `start`: this run's parameters are the last run's (another output
    /// position of the same tile), which the NDUs still hold; Params is skipped.
    pub keep_params: Signal<In, Bit>,
    /// A spiking run ends after its last Emit, without Out: its final
    /// membranes stay in the NDUs (the shell, which has no use for them). Low,
    /// every run sends them (the equivalence suites check them); a readout
    /// sends them either way, they are its output.
    pub spikes_only: Signal<In, Bit>,
    pub busy: Signal<Out, Bit>,
    /// A start would be taken in this cycle: the feed machine is idle, and no
    /// run is left behind it (or, with `keep_params`, one run whose neuron
    /// steps are still going).
    pub ready: Signal<Out, Bit>,
    /// A run's neuron steps are over (one cycle per run), or a start was
    /// refused (with `error`).
    pub done: Signal<Out, Bit>,
    pub error: Signal<Out, Bit>,
    // Streams.
    pub par_valid: Signal<In, Bit>,
    pub par_ready: Signal<Out, Bit>,
    pub par_data: Signal<In, Bits<MEM>>,
    pub wgt_valid: Signal<In, Bit>,
    pub wgt_ready: Signal<Out, Bit>,
    pub wgt_data: Vec<Signal<In, Bits<W_BITS>>>,
    /// With the fan-in in halves, the lower half's weight codes of the beat
    /// (input `cfg_k + k`; any code past the fan-in, whose slice bits are
    /// zero), valid with `wgt_data`; no lanes otherwise.
    pub wgt_data_b: Vec<Signal<In, Bits<W_BITS>>>,
    pub act_valid: Signal<In, Bit>,
    pub act_ready: Signal<Out, Bit>,
    pub act_data: Vec<Signal<In, Bit>>,
    pub spk_valid: Signal<Out, Bit>,
    pub spk_ready: Signal<In, Bit>,
    pub spk_data: Vec<Signal<Out, Bits<8>>>,
    pub mem_valid: Signal<Out, Bit>,
    pub mem_ready: Signal<In, Bit>,
    pub mem_data: Signal<Out, Bits<MEM>>,
    array: Array<ACC>,
    ppus: Vec<Ppu<ACC, MEM>>,
    ndus: Vec<Ndu<MEM>>,
    state: DFF<SeqState>,
    nstate: DFF<NeuronState>,
    /// Runs taken and not yet done by the neuron machine (0, 1 or 2).
    runs: DFF<Bits<2>>,
    /// With the parameter prefetch, each column's bias of the run being
    /// drained (none otherwise).
    bias_hold: Vec<DFF<Bits<MEM>>>,
    /// The PPUs' current belongs to the neuron machine (handed over, not yet
    /// integrated for the last time): the next timestep's drain waits.
    held: DFF<Bit>,
    /// The held current is its run's last.
    held_last: DFF<Bit>,
    /// The current the neuron machine works on is its run's last.
    n_last: DFF<Bit>,
    /// The feed machine's beat in its chunk, the chunk's rows and first slice.
    kc: DFF<Bits<16>>,
    nrows: DFF<Bits<10>>,
    sbase: DFF<Bits<10>>,
    /// The drain: a chunk's rows are being read; the row, the chunk's rows,
    /// whether it is its run's last, and the row's slice bit j in its timestep.
    draining: DFF<Bit>,
    dc: DFF<Bits<10>>,
    dn: DFF<Bits<10>>,
    d_last: DFF<Bit>,
    j: DFF<Bits<3>>,
    di: DFF<Bits<3>>,
    /// Timesteps done on the current input timestep's current (static input).
    rep: DFF<Bits<7>>,
    /// A static input has timesteps left on the current one's current
    /// (`rep + 1 < cfg_repeats`, registered: `rep` changes two cycles or more
    /// before an Integ or Emit reads it, and the flag keeps the comparison off
    /// the path from the neuron machine to the array's first row).
    more_repeats: DFF<Bit>,
    /// The feed machine's beat is its chunk's first, and its last
    /// (`kc + 1 == K`); the drain's row is its chunk's last (`dc + 1 == dn`):
    /// kept with the counters, for the same path.
    k_first: DFF<Bit>,
    k_last: DFF<Bit>,
    d_row_last: DFF<Bit>,
    pk: DFF<Bits<2>>,
    pcol: DFF<Bits<8>>,
    oc: DFF<Bits<8>>,
    err: DFF<Bit>,
    left: Signal<Local, Bits<10>>,
    /// Init's work (the first chunk set up): in Init, or in Idle for a run with
    /// kept parameters.
    init_now: Signal<Local, Bit>,
    /// The first chunk's rows: min(S, R).
    first_rows: Signal<Local, Bits<10>>,
    /// Slices after the current chunk, and the next chunk's rows.
    rest: Signal<Local, Bits<10>>,
    next_rows: Signal<Local, Bits<10>>,
    /// The current chunk is the run's last.
    last_chunk: Signal<Local, Bit>,
    /// Where the neuron machine goes after a current's last step.
    after_current: Signal<Local, NeuronState>,
    /// This cycle's drain step completes a timestep's current.
    handover: Signal<Local, Bit>,
    /// This cycle's drain step is its run's last.
    d_final: Signal<Local, Bit>,
    /// This cycle's Integ is the last on the held current.
    freeing: Signal<Local, Bit>,
    /// A drain step may write the PPUs in this cycle.
    step_ok: Signal<Local, Bit>,
    /// The drain reads a row in this cycle.
    d_step: Signal<Local, Bit>,
    /// The array may take a beat in this cycle: no drain, or one stepping (and
    /// in its last row, for a chunk's last beat).
    beat_ok: Signal<Local, Bit>,
    /// The feed machine takes a beat in this cycle.
    beat: Signal<Local, Bit>,
    /// The neuron machine takes a current: Integ in the next cycle.
    take: Signal<Local, Bit>,
    /// Where the neuron machine goes when it has no current to work on.
    n_next: Signal<Local, NeuronState>,
    /// The start in this cycle is taken.
    accept: Signal<Local, Bit>,
    bad_cfg: Signal<Local, Bit>,
    rows_c: Param<Bits<10>>,
    cols_m1: Param<Bits<8>>,
    wb_max: Param<Bits<4>>,
    sb_max: Param<Bits<4>>,
    _rows: usize,
    _cols: usize,
    _cols_m1: usize,
    /// The lower half's weight lanes: `cols` with the fan-in in halves, else 0.
    _cols_b: usize,
    /// 1 with the parameter prefetch (`ArrayConfig::param_prefetch`), else 0:
    /// the statements of its loops are generated only then.
    _prefetch: usize,
    /// The columns' `bias_hold` registers: `cols` with the prefetch, else 0.
    _cols_p: usize,
}

impl<const ACC: usize, const MEM: usize> Core<ACC, MEM> {
    pub fn new(cfg: &crate::ArrayConfig) -> Self {
        let (rows, cols) = (cfg.rows, cfg.cols);
        let (weight_bits_max, spike_bits_max) = (cfg.weight_bits_max, cfg.spike_bits_max);
        let cols_b = if cfg.fanin_halves { cols } else { 0 };
        Self {
            wgt_data: (0..cols).map(|_| Default::default()).collect(),
            wgt_data_b: (0..cols_b).map(|_| Default::default()).collect(),
            act_data: (0..rows).map(|_| Default::default()).collect(),
            spk_data: (0..cols).map(|_| Default::default()).collect(),
            array: Array::new(rows, cols, cfg.dsp_pes, cfg.fanin_halves),
            ppus: (0..cols).map(|_| Default::default()).collect(),
            ndus: (0..cols).map(|_| Default::default()).collect(),
            // The slices a chunk holds (the feed and the drain count them).
            rows_c: Param::new((cfg.chunk_rows() as u64).into()),
            cols_m1: Param::new((cols as u64 - 1).into()),
            wb_max: Param::new((weight_bits_max as u64).into()),
            sb_max: Param::new((spike_bits_max as u64).into()),
            _rows: rows,
            _cols: cols,
            _cols_m1: cols - 1,
            _cols_b: cols_b,
            _prefetch: usize::from(cfg.param_prefetch),
            _cols_p: if cfg.param_prefetch { cols } else { 0 },
            bias_hold: (0..if cfg.param_prefetch { cols } else { 0 })
                .map(|_| Default::default())
                .collect(),
            ..Default::default()
        }
    }
}

impl<const ACC: usize, const MEM: usize> Logic for Core<ACC, MEM> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self, clock, state, nstate, runs, held, held_last, n_last, kc, nrows, sbase, draining,
            dc, dn, d_last, j, di, rep, pk, pcol, oc, err
        );
        dff_setup!(self, clock, more_repeats, k_first, k_last, d_row_last);
        // Defaults: nothing moves.
        self.array.clock.next = self.clock.val();
        self.array.row.next = self.dc.q.val();
        self.array.b_w.next = self.cfg_b_w.val();
        self.busy.next = (self.state.q.val() != SeqState::Idle)
            | (self.nstate.q.val() != NeuronState::Idle)
            | (self.runs.q.val() != 0);
        self.done.next =
            (self.state.q.val() == SeqState::Done) | (self.nstate.q.val() == NeuronState::Done);
        self.error.next = self.err.q.val();
        self.par_ready.next = false;
        self.wgt_ready.next = false;
        self.act_ready.next = false;
        self.spk_valid.next = false;
        self.mem_valid.next = false;
        self.mem_data.next = 0.into();
        self.init_now.next = false;
        self.left.next = self.cfg_slices.val() - self.sbase.q.val();
        self.first_rows.next = self.cfg_slices.val();
        if self.cfg_slices.val() > self.rows_c.val() {
            self.first_rows.next = self.rows_c.val();
        }
        self.rest.next = self.left.val() - self.nrows.q.val();
        self.next_rows.next = self.rest.val();
        if self.rest.val() > self.rows_c.val() {
            self.next_rows.next = self.rows_c.val();
        }
        self.last_chunk.next = self.left.val() == self.nrows.q.val();
        self.bad_cfg.next = (self.cfg_b_w.val() == 0)
            | (self.cfg_b_w.val() > self.wb_max.val())
            | (self.cfg_b_in.val() == 0)
            | (self.cfg_b_in.val() > 8)
            | (self.cfg_k.val() == 0)
            | (self.cfg_slices.val() == 0)
            | (self.cfg_repeats.val() == 0)
            | (!self.cfg_readout.val()
                & ((self.cfg_b_s.val() == 0) | (self.cfg_b_s.val() > self.sb_max.val())));
        // A start is taken by an idle feed machine with no run behind it, or
        // with one whose neuron steps go on, if the new run keeps the
        // parameters (the NDUs hold them for both).
        self.ready.next = (self.state.q.val() == SeqState::Idle)
            & ((self.runs.q.val() == 0)
                | (self.keep_params.val() & !self.bad_cfg.val() & (self.runs.q.val() == 1)));
        // With the parameter prefetch, a run with new parameters too (another
        // tile of the layer): they are shifted in while the last run finishes,
        // each kind once the last run no longer reads it (Params below).
        for _i in 0..self._prefetch {
            self.ready.next = (self.state.q.val() == SeqState::Idle)
                & ((self.runs.q.val() == 0) | (!self.bad_cfg.val() & (self.runs.q.val() == 1)));
        }
        self.accept.next = self.ready.val() & self.start.val();
        // The neuron machine and the drain share the PPUs' current: a drain step
        // that starts a timestep (j = 0) rewrites it, so it waits until the
        // neuron machine's last Integ on the held one, which reads it in the
        // step's own cycle.
        self.more_repeats.d.next = self.rep.q.val() + 1 < self.cfg_repeats.val();
        self.freeing.next =
            (self.nstate.q.val() == NeuronState::Integ) & !self.more_repeats.q.val();
        self.step_ok.next = (self.j.q.val() != 0) | !self.held.q.val() | self.freeing.val();
        self.d_step.next = self.draining.q.val() & self.step_ok.val();
        self.handover.next =
            self.d_step.val() & (bit_cast::<4, 3>(self.j.q.val()) + 1 == self.cfg_b_in.val());
        self.d_final.next = self.d_last.q.val() & self.d_row_last.q.val();
        // The array steps for a beat and a drain step alike: a beat waits for a
        // waiting drain, and a chunk's last beat for the drain's last row (the
        // next drain starts in the cycle after it).
        self.beat_ok.next = !self.draining.q.val()
            | (self.d_step.val() & (!self.k_last.q.val() | self.d_row_last.q.val()));
        self.beat.next = (self.state.q.val() == SeqState::Compute)
            & self.wgt_valid.val()
            & self.act_valid.val()
            & self.beat_ok.val();
        self.array.en.next = self.beat.val() | self.d_step.val();
        self.array.fst.next = self.beat.val() & self.k_first.q.val();
        self.take.next =
            (self.nstate.q.val() == NeuronState::Idle) & (self.held.q.val() | self.handover.val());
        // After a current's last step: the next current, or after the run's
        // last, Out, or Done for a spiking run with `spikes_only`.
        self.after_current.next = NeuronState::Idle;
        if self.n_last.q.val() {
            self.after_current.next = NeuronState::Out;
            if self.spikes_only.val() & !self.cfg_readout.val() {
                self.after_current.next = NeuronState::Done;
            }
        }
        self.n_next.next = self.after_current.val();
        if self.more_repeats.q.val() {
            self.n_next.next = NeuronState::AfterT;
        }
        // Zero slice bits in a drain step without a beat: they add nothing.
        for r in 0..self._rows {
            self.array.x_in[r].next = self.act_data[r].val() & self.beat.val();
        }
        for c in 0..self._cols_b {
            self.array.w_in_b[c].next = self.wgt_data_b[c].val();
        }
        // With the parameter prefetch the PPUs add the bias of the run being
        // drained, taken at its chunk's last beat: the next run's bias may be
        // shifted into the NDUs meanwhile.
        for c in 0..self._cols_p {
            self.bias_hold[c].clock.next = self.clock.val();
            self.bias_hold[c].d.next = self.bias_hold[c].q.val();
            if self.beat.val() & self.k_last.q.val() {
                self.bias_hold[c].d.next = self.ndus[c].bias.val();
            }
        }
        for c in 0..self._cols {
            self.array.w_in[c].next = self.wgt_data[c].val();
            self.ppus[c].clock.next = self.clock.val();
            self.ppus[c].en.next = self.d_step.val();
            self.ppus[c].j.next = self.j.q.val();
            self.ppus[c].p.next = self.array.acc_out[c].val();
            self.ppus[c].bias.next = self.ndus[c].bias.val();
            for _i in 0..self._prefetch {
                self.ppus[c].bias.next = self.bias_hold[c].q.val();
            }
            self.ndus[c].clock.next = self.clock.val();
            self.ndus[c].par_shift.next = 0.into();
            self.ndus[c].lif.next = self.cfg_lif.val();
            self.ndus[c].leak_shift.next = self.cfg_leak.val();
            self.ndus[c].hard.next = self.cfg_hard.val();
            self.ndus[c].op_init.next = false;
            self.ndus[c].op_integrate.next = false;
            self.ndus[c].op_div.next = false;
            self.ndus[c].div_i.next = self.di.q.val();
            self.ndus[c].op_reset.next = false;
            self.ndus[c].current.next = self.ppus[c].current.val();
            self.spk_data[c].next = self.ndus[c].spike.val();
        }
        // Parameter chain: column c takes column c+1's value; the last takes the stream.
        for c in 0..self._cols_m1 {
            self.ndus[c].chain_in.next = self.ndus[c + 1].v_init.val();
            if self.pk.q.val() == 1 {
                self.ndus[c].chain_in.next = self.ndus[c + 1].bias.val();
            }
            if self.pk.q.val() == 2 {
                self.ndus[c].chain_in.next = self.ndus[c + 1].theta.val();
            }
        }
        for c in self._cols_m1..self._cols {
            self.ndus[c].chain_in.next = self.par_data.val();
        }

        // ---------------- The feed machine ----------------
        match self.state.q.val() {
            SeqState::Idle => {
                if self.accept.val() {
                    if self.bad_cfg.val() {
                        self.err.d.next = true;
                        self.state.d.next = SeqState::Done;
                    } else {
                        self.err.d.next = false;
                        self.pk.d.next = 0.into();
                        self.pcol.d.next = 0.into();
                        self.state.d.next = SeqState::Params;
                        if self.keep_params.val() {
                            // Init's work, in this cycle: the NDUs hold the parameters.
                            self.init_now.next = true;
                            self.state.d.next = SeqState::Compute;
                        }
                    }
                }
            }
            SeqState::Params => {
                self.par_ready.next = true;
                if self.par_valid.val() {
                    for c in 0..self._cols {
                        self.ndus[c].par_shift.next = bits::<3>(1) << self.pk.q.val();
                    }
                    if self.pcol.q.val() == self.cols_m1.val() {
                        self.pcol.d.next = 0.into();
                        self.pk.d.next = self.pk.q.val() + 1;
                        if self.pk.q.val() == 2 {
                            self.state.d.next = SeqState::Init;
                        }
                    } else {
                        self.pcol.d.next = self.pcol.q.val() + 1;
                    }
                }
                // The parameter prefetch: with a run in flight before this one,
                // v_init is free (its Done, or this run's first beat, sets the
                // membrane from it) and so is the bias (its drains read the
                // copy `bias_hold` took at their chunk's last beat); theta once
                // its neuron machine is past its last division: till then a
                // theta beat waits.
                for _i in 0..self._prefetch {
                    if (self.pk.q.val() == 2)
                        & (self.runs.q.val() == 2)
                        & !((self.nstate.q.val() == NeuronState::Out)
                            | (self.nstate.q.val() == NeuronState::Done)
                            | ((self.nstate.q.val() == NeuronState::Emit)
                                & self.n_last.q.val()
                                & !self.more_repeats.q.val()))
                    {
                        self.par_ready.next = false;
                        for c in 0..self._cols {
                            self.ndus[c].par_shift.next = 0.into();
                        }
                        self.pcol.d.next = self.pcol.q.val();
                        self.pk.d.next = self.pk.q.val();
                        self.state.d.next = SeqState::Params;
                    }
                }
            }
            SeqState::Init => {
                self.init_now.next = true;
                self.state.d.next = SeqState::Compute;
            }
            SeqState::Compute => {
                // v = v_init while the run's first beat is due, if the neuron
                // machine is done with the runs before (else its Done does it):
                // decoded from registers, so that `start` does not reach the C
                // membranes' muxes.
                if (self.kc.q.val() == 0) & (self.sbase.q.val() == 0) & (self.runs.q.val() == 1) {
                    for c in 0..self._cols {
                        self.ndus[c].op_init.next = true;
                    }
                }
                // Both streams must be valid: a beat pairs weight k with slice bits k.
                self.wgt_ready.next = self.act_valid.val() & self.beat_ok.val();
                self.act_ready.next = self.wgt_valid.val() & self.beat_ok.val();
                if self.beat.val() {
                    self.kc.d.next = self.kc.q.val() + 1;
                    self.k_first.d.next = false;
                    self.k_last.d.next = bit_cast::<17, 16>(self.kc.q.val()) + 2
                        == bit_cast::<17, 16>(self.cfg_k.val());
                    if self.k_last.q.val() {
                        // The chunk's last beat: the next chunk's beats follow at
                        // once, or after the run's last the feed machine is idle.
                        self.kc.d.next = 0.into();
                        self.k_first.d.next = true;
                        self.k_last.d.next = self.cfg_k.val() == 1;
                        self.sbase.d.next = self.sbase.q.val() + self.nrows.q.val();
                        self.nrows.d.next = self.next_rows.val();
                        if self.last_chunk.val() {
                            self.state.d.next = SeqState::Idle;
                        }
                    }
                }
            }
            SeqState::Done => {
                self.state.d.next = SeqState::Idle;
            }
            _ => {
                self.state.d.next = SeqState::Idle;
            }
        }
        if self.init_now.val() {
            // A run's cycle before its first beat (Init, or Idle with kept
            // parameters): its first chunk.
            self.kc.d.next = 0.into();
            self.k_first.d.next = true;
            self.k_last.d.next = self.cfg_k.val() == 1;
            self.sbase.d.next = 0.into();
            self.nrows.d.next = self.first_rows.val();
        }

        // ---------------- The drain ----------------
        // Row dc is complete (K + dc steps taken) and read where it stands; the
        // array's step in this cycle completes the next row. A timestep's first
        // row waits while the neuron machine holds the last timestep's current.
        if self.d_step.val() {
            self.dc.d.next = self.dc.q.val() + 1;
            self.d_row_last.d.next = self.dc.q.val() + 2 == self.dn.q.val();
            self.j.d.next = self.j.q.val() + 1;
            if self.handover.val() {
                self.j.d.next = 0.into();
            }
            if self.d_row_last.q.val() {
                self.draining.d.next = false;
            }
        }
        if self.beat.val() & self.k_last.q.val() {
            // The chunk's last beat: its drain starts in the next cycle (the one
            // before, if any, is in its last row in this one).
            self.draining.d.next = true;
            self.dc.d.next = 0.into();
            self.d_row_last.d.next = self.nrows.q.val() == 1;
            self.dn.d.next = self.nrows.q.val();
            self.d_last.d.next = self.last_chunk.val();
        }
        // The current handed over: the neuron machine's until its last Integ.
        if self.freeing.val() {
            self.held.d.next = false;
        }
        if self.handover.val() {
            self.held.d.next = true;
            self.held_last.d.next = self.d_final.val();
        }

        // ---------------- The neuron machine ----------------
        match self.nstate.q.val() {
            NeuronState::Idle => {
                // A current's first Integ comes at least two cycles after the last
                // write of the membrane (the NDU's leak is registered): the cycle
                // of that write moved here, and this one.
                if self.take.val() {
                    self.nstate.d.next = NeuronState::Integ;
                    self.n_last.d.next = self.held_last.q.val();
                    if self.handover.val() {
                        self.n_last.d.next = self.d_final.val();
                    }
                }
            }
            NeuronState::Integ => {
                for c in 0..self._cols {
                    self.ndus[c].op_integrate.next = true;
                }
                self.di.d.next = bit_cast::<3, 4>(self.cfg_b_s.val() - 1);
                if self.cfg_readout.val() {
                    self.nstate.d.next = self.n_next.val();
                    if self.more_repeats.q.val() {
                        self.rep.d.next = self.rep.q.val() + 1;
                    } else {
                        self.rep.d.next = 0.into();
                    }
                } else {
                    self.nstate.d.next = NeuronState::Div;
                }
            }
            NeuronState::Div => {
                for c in 0..self._cols {
                    self.ndus[c].op_div.next = true;
                }
                self.di.d.next = self.di.q.val() - 1;
                if self.di.q.val() == 0 {
                    self.nstate.d.next = NeuronState::Emit;
                }
            }
            NeuronState::Emit => {
                // The membrane's reset goes with the beat: once, in the cycle it is taken.
                self.spk_valid.next = true;
                if self.spk_ready.val() {
                    for c in 0..self._cols {
                        self.ndus[c].op_reset.next = true;
                    }
                    self.nstate.d.next = self.n_next.val();
                    if self.more_repeats.q.val() {
                        self.rep.d.next = self.rep.q.val() + 1;
                    } else {
                        self.rep.d.next = 0.into();
                    }
                }
            }
            NeuronState::AfterT => {
                // A static input: the next timestep integrates the same current, two
                // cycles after the reset (the NDU's leak is registered).
                self.nstate.d.next = NeuronState::Integ;
            }
            NeuronState::Out => {
                self.mem_valid.next = true;
                for c in 0..self._cols {
                    if self.oc.q.val().index() == c {
                        self.mem_data.next = self.ndus[c].v.val();
                    }
                }
                if self.mem_ready.val() {
                    self.oc.d.next = self.oc.q.val() + 1;
                    if self.oc.q.val() == self.cols_m1.val() {
                        self.oc.d.next = 0.into();
                        self.nstate.d.next = NeuronState::Done;
                    }
                }
            }
            NeuronState::Done => {
                // The run is over. A run taken behind it starts from v_init (its
                // first beat found this machine busy).
                if self.runs.q.val() == 2 {
                    for c in 0..self._cols {
                        self.ndus[c].op_init.next = true;
                    }
                }
                self.nstate.d.next = NeuronState::Idle;
            }
            _ => {
                self.nstate.d.next = NeuronState::Idle;
            }
        }
        // Runs in flight: one more when a good start is taken, one fewer at the
        // neuron machine's Done.
        if (self.accept.val() & !self.bad_cfg.val()) & (self.nstate.q.val() != NeuronState::Done) {
            self.runs.d.next = self.runs.q.val() + 1;
        }
        if !(self.accept.val() & !self.bad_cfg.val()) & (self.nstate.q.val() == NeuronState::Done) {
            self.runs.d.next = self.runs.q.val() - 1;
        }
        if self.rst.val() {
            self.state.d.next = SeqState::Idle;
            self.nstate.d.next = NeuronState::Idle;
            self.runs.d.next = 0.into();
            self.held.d.next = false;
            self.draining.d.next = false;
            self.j.d.next = 0.into();
            self.rep.d.next = 0.into();
            self.oc.d.next = 0.into();
            self.err.d.next = false;
        }
    }
}
