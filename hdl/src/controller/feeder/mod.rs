//! The compute feeder: runs one tile (dense) or one gather run on the core,
//! beside the controller's FSM, so that with double buffering the FSM loads the
//! next tile or gather row while the core computes.
//!
//! The FSM starts a run from CoreGo ([`TileRun::go`]) once the core would take it
//! ([`TileRun::can_start`]) and hands the run's tile and group; the feeder latches
//! them with the bank halves the FSM has just loaded, and from then until the
//! core's `done`, whatever state the FSM is in (the core takes a run while the
//! one before finishes its neuron steps, so two may be in flight: the older one's
//! output place is kept apart, `e_*`, for its Emit beats and membranes):
//!
//! - **parameters**: 3C beats from its parameter registers (C v_init, C bias,
//!   C thresholds, column 0 first, sign-extended to the membrane width); the
//!   FSM's Par state writes the registers through [`ParamLoad`] once the running
//!   tile has taken them ([`TileRun::params_free`]). A run that finds the
//!   registers unwritten since the last run started (another position or group
//!   of the same tile) starts the core with `keep_params`: the core's neuron
//!   units still hold them, and the run takes no parameter beats;
//! - **weights and slices**: one (wgt, act) beat per cycle: the weight banks at
//!   k, act lane r bit `k` (dense) or bit `row[k]` (gather; padding reads 0) of
//!   activation bank r at the slice group's word base, zero for rows past S. The
//!   gather row is read one ahead from the row buffer, so that the activation
//!   banks see the entry of the next beat; the FSM primes it at the new row's
//!   entry 0 in Grow's last cycle or in GPre ([`TileRun::prime`]);
//! - **outputs**: the Emit beats into the [`SpikeQueue`], which takes one a
//!   cycle while it has room, and from its head single-bit writes into the
//!   output buffer (spike bit j of column c to the plane of bit j at output
//!   neuron `first neuron + c P + position`; bit j of columns c and c + 1 in
//!   one cycle, through the buffer's two ports, `ceil(C / 2) b_s` cycles a
//!   beat; a layer whose positions go in pairs, `pairs_positions`, holds an
//!   even position's beats in the queue and writes each with the next
//!   position's beat of its timestep, bit j of both neurons in one write),
//!   while
//!   the core and the FSM go on; the final membranes of a readout layer as whole
//!   words, sign-extended to 64 bits; only the columns that are outputs of the
//!   beat's (run's) group are written. [`TileRun::draining`] stays high until
//!   the queue is written, and the FSM's write-back waits for it;
//! - **counts**: PE additions per beat (set slice bits streamed x the columns
//!   written, `Activity::pe_adds`) and the spikes written. The additions are
//!   counted two cycles behind the beat, off its path: the beat's set lanes and its
//!   group's columns are registered, then their product, then added. Only
//!   CNT_PE_ADDS reads the count, after the run's last beat has long passed.
//!   The spikes are counted a cycle behind their writes (a pair's sum is
//!   registered), and only CNT_SPIKES reads them, after the write-back.
//!
//! The banks and the output buffer stay with the controller (its load phases
//! write them); the feeder drives their read addresses and the output buffer's
//! writes, which the controller gives way to.

use super::descriptor::Layer;
use super::n;
use super::sizes::SizesIn;
use super::spike_queue::SpikeQueue;
use crate::buffer::BRAM_ADDR_BITS;
use crate::param::Param;
use rust_hdl::prelude::*;
use spikeslice_core::accel::cycles::PAIRED_TIMESTEPS_MAX;

mod ports;
pub use ports::{ParamLoad, TileRun};

/// `MEM`: membrane width of the core.
#[derive(LogicBlock, Default)]
pub struct Feeder<const MEM: usize> {
    pub clock: Signal<In, Clock>,
    pub rst: Signal<In, Bit>,
    /// The descriptor's fields and the layer's sizes.
    pub layer: Layer,
    pub sizes: SizesIn,
    pub run: TileRun,
    pub params: ParamLoad,
    // Banks: read addresses (registered RAMs: the data follows a cycle later).
    pub weight_addr: Signal<Out, Bits<BRAM_ADDR_BITS>>,
    pub act_addr: Signal<Out, Bits<BRAM_ADDR_BITS>>,
    pub act_words: Vec<Signal<In, Bits<64>>>,
    pub gather_addr: Signal<Out, Bits<BRAM_ADDR_BITS>>,
    pub gather_entry: Signal<In, Bits<32>>,
    // Output buffer: the feeder addresses it (`out_claim`) while it writes.
    pub out_claim: Signal<Out, Bit>,
    pub out_addr: Signal<Out, Bits<32>>,
    /// Write `out_word` (a membrane; zero unless one is offered or spikes
    /// are written) at `out_addr`.
    pub out_write_word: Signal<Out, Bit>,
    pub out_word: Signal<Out, Bits<64>>,
    /// Spike bits into the word at `out_addr`: the bits of `out_word` where
    /// `out_mask` (none, one bit, or two adjacent for a pair of positions).
    pub out_mask: Signal<Out, Bits<64>>,
    /// The second column's spike bits, through the buffer's second port:
    /// the bits of `out_word_b` where `out_mask_b` into the word at
    /// `out_addr_b`.
    pub out_addr_b: Signal<Out, Bits<32>>,
    pub out_mask_b: Signal<Out, Bits<64>>,
    pub out_word_b: Signal<Out, Bits<64>>,
    // Counts (cleared by `run.clear` and `rst`).
    pub pe_adds: Signal<Out, Bits<64>>,
    pub spikes: Signal<Out, Bits<64>>,
    // The core (hdl/src/sequencer.rs): start, status and streams.
    pub core_start: Signal<Out, Bit>,
    /// With `core_start`: the core keeps the last run's parameters.
    pub core_keep_params: Signal<Out, Bit>,
    pub core_ready: Signal<In, Bit>,
    pub core_done: Signal<In, Bit>,
    pub core_error: Signal<In, Bit>,
    pub par_valid: Signal<Out, Bit>,
    pub par_ready: Signal<In, Bit>,
    pub par_data: Signal<Out, Bits<MEM>>,
    pub wgt_valid: Signal<Out, Bit>,
    pub wgt_ready: Signal<In, Bit>,
    pub act_valid: Signal<Out, Bit>,
    pub act_ready: Signal<In, Bit>,
    pub act_data: Vec<Signal<Out, Bit>>,
    pub spk_valid: Signal<In, Bit>,
    pub spk_ready: Signal<Out, Bit>,
    pub spk_data: Vec<Signal<In, Bits<8>>>,
    pub mem_valid: Signal<In, Bit>,
    pub mem_ready: Signal<Out, Bit>,
    pub mem_data: Signal<In, Bits<MEM>>,
    // The runs: started and not yet done (0, 1 or 2: the core takes a run
    // while the one before finishes its neuron steps).
    in_flight: DFF<Bits<2>>,
    running: Signal<Local, Bit>,
    failed: DFF<Bit>,
    /// Where the run of the core's neuron machine (the oldest in flight) writes:
    /// its first output neuron plus position, first column and group start,
    /// for its Emit beats and final membranes.
    e_neuron: DFF<Bits<32>>,
    e_first_column: DFF<Bits<32>>,
    e_group_start: DFF<Bits<32>>,
    /// The neuron machine's run is an even position's whose beats the queue
    /// holds, or the odd one's whose beats go with them; its Emit's timestep.
    e_held: DFF<Bit>,
    e_partner: DFF<Bit>,
    e_timestep: DFF<Bits<3>>,
    /// The layer's positions go in pairs (`pairs_positions`).
    pairs: DFF<Bit>,
    /// The run started in this cycle is the neuron machine's next.
    e_from_start: Signal<Local, Bit>,
    /// The run started before becomes the neuron machine's at this `done`.
    e_from_run: Signal<Local, Bit>,
    first_column: DFF<Bits<32>>,
    columns: DFF<Bits<32>>,
    first_neuron: DFF<Bits<32>>,
    group_start: DFF<Bits<32>>,
    position: DFF<Bits<32>>,
    weight_half: DFF<Bit>,
    gather_half: DFF<Bit>,
    /// The run starts in this cycle.
    start: Signal<Local, Bit>,
    // Parameters: per column, and the beat being offered (field, column; field
    // 3 once all are taken).
    bias: Vec<DFF<Bits<32>>>,
    threshold: Vec<DFF<Bits<32>>>,
    v_init: Vec<DFF<Bits<32>>>,
    par_field: DFF<Bits<2>>,
    par_column: DFF<Bits<8>>,
    /// The parameter registers were written (or cleared) since the last run
    /// started, or no run has started since a reset or a clear: the next run
    /// streams them to the core.
    params_new: DFF<Bit>,
    par_word: Signal<Local, Bits<32>>,
    // Weight and slice beats: input k (the bank address), the slice group's
    // first slice and activation word base; the stream is armed from a start to
    // the reset, and streaming until the last slice group's last beat.
    k: DFF<Bits<16>>,
    slice_base: DFF<Bits<10>>,
    act_base: DFF<Bits<32>>,
    armed: DFF<Bit>,
    streaming: DFF<Bit>,
    /// The gather entry of the current beat.
    entry: DFF<Bits<32>>,
    /// The two inputs after `k` (0 after the last): the bank read addresses
    /// are a mux of registers on the beat, not a chain of increments and
    /// compares with the fan-in (docs/resources.md, "Whole shell").
    k1: DFF<Bits<16>>,
    k2: DFF<Bits<16>>,
    /// `k2`'s successor, for the next beat.
    k3: Signal<Local, Bits<16>>,
    k_next: Signal<Local, Bits<16>>,
    act_base_next: Signal<Local, Bits<32>>,
    /// The k after `k_next`, whose gather entry is read one ahead.
    k_ahead: Signal<Local, Bits<16>>,
    entry_next: Signal<Local, Bits<32>>,
    /// A (wgt, act) beat is taken in this cycle.
    beat: Signal<Local, Bit>,
    /// Slices of the group still to stream (lanes r < `slices_left` are valid).
    slices_left: Signal<Local, Bits<10>>,
    input_index: Signal<Local, Bits<32>>,
    lane: Signal<Local, Bits<64>>,
    /// The set slice bits of the last cycle's beat (none without one) and its
    /// group's columns; their count, and the PE additions they made, registered.
    counted: Vec<DFF<Bit>>,
    counted_columns: DFF<Bits<16>>,
    lanes_set: Signal<Local, Bits<8>>,
    adds: DFF<Bits<32>>,
    weight_offset: Signal<Local, Bits<32>>,
    gather_offset: Signal<Local, Bits<32>>,
    load_gather_offset: Signal<Local, Bits<32>>,
    // Emit beats: the queue, and the word base of the running run's next
    // timestep in the output buffer.
    queue: SpikeQueue,
    emit_base: DFF<Bits<32>>,
    /// The core's Emit beat goes into the queue in this cycle.
    emit_taken: Signal<Local, Bit>,
    // Spike writes from the queue's head, two columns a cycle: the pair's
    // first column and the bit, the bit's plane offset, the two columns'
    // neuron offsets (c P and (c + 1) P).
    spike_column: DFF<Bits<8>>,
    spike_bit: DFF<Bits<4>>,
    plane_offset: DFF<Bits<32>>,
    column_offset: DFF<Bits<32>>,
    column_offset_b: DFF<Bits<32>>,
    spike_neuron: Signal<Local, Bits<32>>,
    spike_neuron_b: Signal<Local, Bits<32>>,
    // Membrane writes: column and output neuron.
    membrane_column: DFF<Bits<8>>,
    membrane_neuron: DFF<Bits<32>>,
    pe_adds_count: DFF<Bits<64>>,
    spikes_count: DFF<Bits<64>>,
    /// The head's two columns' spikes from bit `spike_bit` on (each byte:
    /// the low one's bit 0, the high one's bit 8), and the write masks'
    /// step: one bit, or two for a pair of positions.
    spike_shifted: Signal<Local, Bits<16>>,
    spike_shifted_b: Signal<Local, Bits<16>>,
    mask_step: Signal<Local, Bits<64>>,
    /// The spikes of the pair's columns written (at their bit 0), and that
    /// sum a cycle later, added to the count: the group checks stay off the
    /// count's 64-bit sum.
    pair_spikes: Signal<Local, Bits<16>>,
    pair_count: DFF<Bits<16>>,
    membrane: Signal<Local, Bits<64>>,
    /// The columns written are outputs of the run's group (dense: one group).
    spike_output: Signal<Local, Bits<32>>,
    spike_written: Signal<Local, Bit>,
    spike_output_b: Signal<Local, Bits<32>>,
    spike_written_b: Signal<Local, Bit>,
    membrane_output: Signal<Local, Bits<32>>,
    membrane_written: Signal<Local, Bit>,
    /// Valid columns of the tile in the group:
    /// min(group start + outputs per group, first column + columns) - max(group start, first column).
    group_end: Signal<Local, Bits<32>>,
    group_columns: Signal<Local, Bits<32>>,
    k_rows: Param<Bits<64>>,
    k_last_column: Param<Bits<8>>,
    k_half: Param<Bits<32>>,
    k_padding: Param<Bits<32>>,
    k_sext32: Param<Bits<MEM>>,
    k_memhalf: Param<Bits<MEM>>,
    k_sext64: Param<Bits<64>>,
    /// The even and the odd bits of a word: where a pair's first and second
    /// position's spike go.
    k_even: Param<Bits<64>>,
    k_odd: Param<Bits<64>>,
    k_paired_timesteps: Param<Bits<8>>,
    lane_id: Vec<Param<Bits<10>>>,
    _rows: usize,
    _cols: usize,
    /// 1 where positions may go in pairs, else 0 (`pairs` stays low).
    _pairs: usize,
}

impl<const MEM: usize> Feeder<MEM> {
    /// For a core of `rows` x `cols`, with bank halves of `half_depth` entries;
    /// `pairs`: the spike queue writes positions in pairs where it can
    /// (`AcceleratorConfig::spike_pairs`).
    pub fn new(rows: usize, cols: usize, half_depth: usize, pairs: bool) -> Self {
        let sext32 = if MEM > 32 {
            ((1u128 << MEM) - 1) ^ ((1u128 << 32) - 1)
        } else {
            0
        };
        Self {
            act_words: n(rows),
            act_data: n(rows),
            counted: n(rows),
            spk_data: n(cols),
            queue: SpikeQueue::new(cols, pairs),
            bias: n(cols),
            threshold: n(cols),
            v_init: n(cols),
            k_rows: Param::new((rows as u64).into()),
            k_last_column: Param::new((cols as u64 - 1).into()),
            k_half: Param::new((half_depth as u64).into()),
            k_padding: Param::new(0xFFFF_FFFFu64.into()),
            k_sext32: Param::new(Bits::<MEM>::from(sext32 as u64)),
            k_memhalf: Param::new((1u64 << (MEM - 1)).into()),
            k_sext64: Param::new((!((1u64 << MEM) - 1)).into()),
            k_even: Param::new(0x5555_5555_5555_5555u64.into()),
            k_odd: Param::new(0xAAAA_AAAA_AAAA_AAAAu64.into()),
            k_paired_timesteps: Param::new(PAIRED_TIMESTEPS_MAX.into()),
            lane_id: (0..rows).map(|r| Param::new((r as u64).into())).collect(),
            _rows: rows,
            _cols: cols,
            _pairs: usize::from(pairs),
            ..Default::default()
        }
    }
}

impl<const MEM: usize> Logic for Feeder<MEM> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, in_flight, failed, weight_half, gather_half);
        dff_setup!(self, clock, e_neuron, e_first_column, e_group_start);
        dff_setup!(self, clock, e_held, e_partner, e_timestep, pairs);
        dff_setup!(self, clock, first_column, columns, first_neuron);
        dff_setup!(
            self,
            clock,
            group_start,
            position,
            par_field,
            par_column,
            params_new
        );
        dff_setup!(self, clock, k, k1, k2, slice_base, act_base, entry, armed);
        dff_setup!(self, clock, streaming, spike_column, spike_bit);
        dff_setup!(
            self,
            clock,
            plane_offset,
            column_offset,
            column_offset_b,
            emit_base
        );
        dff_setup!(self, clock, membrane_column, membrane_neuron);
        dff_setup!(self, clock, pe_adds_count, spikes_count, pair_count);
        dff_setup!(self, clock, counted_columns, adds);
        for r in 0..self._rows {
            self.counted[r].clock.next = self.clock.val();
        }
        // ---------------- Parameter registers ----------------
        for c in 0..self._cols {
            self.bias[c].clock.next = self.clock.val();
            self.bias[c].d.next = self.bias[c].q.val();
            self.threshold[c].clock.next = self.clock.val();
            self.threshold[c].d.next = self.threshold[c].q.val();
            self.v_init[c].clock.next = self.clock.val();
            self.v_init[c].d.next = self.v_init[c].q.val();
            if self.params.clear.val() {
                self.bias[c].d.next = 0.into();
                self.threshold[c].d.next = 0.into();
                self.v_init[c].d.next = 0.into();
            }
            if self.params.write.val() & (self.params.column.val().index() == c) {
                if self.params.field.val() == 0 {
                    self.bias[c].d.next = self.params.word.val();
                }
                if self.params.field.val() == 1 {
                    self.threshold[c].d.next = self.params.word.val();
                }
                if self.params.field.val() == 2 {
                    self.v_init[c].d.next = self.params.word.val();
                }
            }
        }
        self.running.next = self.in_flight.q.val() != 0;
        self.run.running.next = self.running.val();
        self.run.can_start.next = self.core_ready.val() & !self.failed.q.val();
        self.run.draining.next = self.queue.nonempty.val();
        self.run.failed.next = self.failed.q.val();
        self.run.params_free.next = !self.running.val() | (self.par_field.q.val() == 3);
        self.start.next = self.run.go.val() & self.core_ready.val() & !self.failed.q.val();
        self.e_from_start.next = self.start.val()
            & ((self.in_flight.q.val() == 0)
                | ((self.in_flight.q.val() == 1) & self.core_done.val()));
        self.e_from_run.next = self.core_done.val() & (self.in_flight.q.val() == 2);
        // Runs in flight.
        if self.start.val() & !self.core_done.val() {
            self.in_flight.d.next = self.in_flight.q.val() + 1;
        }
        if !self.start.val() & self.core_done.val() & self.running.val() {
            self.in_flight.d.next = self.in_flight.q.val() - 1;
        }
        self.core_start.next = self.start.val();
        self.core_keep_params.next = !self.params_new.q.val();
        if self.params.clear.val() | self.params.write.val() {
            self.params_new.d.next = true;
        }
        self.pe_adds.next = self.pe_adds_count.q.val();
        self.spikes.next = self.spikes_count.q.val();

        // Bank halves: the run reads the halves it was started with (from the
        // start's own cycle: the core may take its first beat in the next one);
        // The FSM's priming reads the half being loaded.
        self.weight_offset.next = 0.into();
        if (self.start.val() & self.run.weight_half.val())
            | (!self.start.val() & self.weight_half.q.val())
        {
            self.weight_offset.next = self.k_half.val();
        }
        self.gather_offset.next = 0.into();
        if (self.start.val() & self.run.gather_half.val())
            | (!self.start.val() & self.gather_half.q.val())
        {
            self.gather_offset.next = self.k_half.val();
        }
        self.load_gather_offset.next = 0.into();
        if self.run.gather_half.val() {
            self.load_gather_offset.next = self.k_half.val();
        }
        // Output columns: in range and in the group being run (dense: one group).
        self.spike_output.next =
            self.queue.place.first_column.val() + bit_cast::<32, 8>(self.spike_column.q.val());
        self.spike_written.next = (self.spike_output.val() < self.layer.outputs.val())
            & (self.spike_output.val() >= self.queue.place.group_start.val())
            & (bit_cast::<64, 32>(self.spike_output.val())
                < bit_cast::<64, 32>(self.queue.place.group_start.val())
                    + self.sizes.group_outputs.val());
        // The pair's second column: one of the array's, an output, in the group.
        self.spike_output_b.next = self.spike_output.val() + 1;
        self.spike_written_b.next = (self.spike_column.q.val() < self.k_last_column.val())
            & (self.spike_output_b.val() < self.layer.outputs.val())
            & (self.spike_output_b.val() >= self.queue.place.group_start.val())
            & (bit_cast::<64, 32>(self.spike_output_b.val())
                < bit_cast::<64, 32>(self.queue.place.group_start.val())
                    + self.sizes.group_outputs.val());
        self.membrane_output.next =
            self.e_first_column.q.val() + bit_cast::<32, 8>(self.membrane_column.q.val());
        self.membrane_written.next = (self.membrane_output.val() < self.layer.outputs.val())
            & (self.membrane_output.val() >= self.e_group_start.q.val())
            & (bit_cast::<64, 32>(self.membrane_output.val())
                < bit_cast::<64, 32>(self.e_group_start.q.val()) + self.sizes.group_outputs.val());
        self.group_end.next = self.first_column.q.val() + self.columns.q.val();
        if bit_cast::<64, 32>(self.group_start.q.val()) + self.sizes.group_outputs.val()
            < bit_cast::<64, 32>(self.group_end.val())
        {
            self.group_end.next =
                self.group_start.q.val() + bit_cast::<32, 64>(self.sizes.group_outputs.val());
        }
        self.group_columns.next = self.group_end.val() - self.first_column.q.val();
        if self.group_start.q.val() > self.first_column.q.val() {
            self.group_columns.next = self.group_end.val() - self.group_start.q.val();
        }

        // ---------------- Weight and slice beats ----------------
        self.k_next.next = self.k.q.val();
        self.k_ahead.next = self.k1.q.val();
        self.k3.next = self.k2.q.val() + 1;
        if bit_cast::<32, 16>(self.k2.q.val() + 1) == self.layer.fan_in.val() {
            self.k3.next = 0.into();
        }
        self.act_base_next.next = self.act_base.q.val();
        self.beat.next = self.armed.q.val()
            & self.streaming.q.val()
            & self.wgt_ready.val()
            & self.act_ready.val();
        self.slices_left.next =
            bit_cast::<10, 64>(self.sizes.slices.val()) - self.slice_base.q.val();
        self.wgt_valid.next = self.armed.q.val() & self.streaming.q.val();
        self.act_valid.next = self.armed.q.val() & self.streaming.q.val();
        // The input index of the beat: k (dense) or the gather entry (padding reads 0).
        self.input_index.next = bit_cast::<32, 16>(self.k.q.val());
        if self.layer.gather_layer.val() {
            self.input_index.next = self.entry.q.val();
        }
        for r in 0..self._rows {
            self.lane.next = self.act_words[r].val() >> self.input_index.val().get_bits::<6>(0);
            self.act_data[r].next = self.lane.val().get_bit(0)
                & (self.lane_id[r].val() < self.slices_left.val())
                & !(self.layer.gather_layer.val() & (self.entry.q.val() == self.k_padding.val()));
            self.counted[r].d.next = self.beat.val() & self.act_data[r].val();
        }
        // The PE additions, two cycles behind the beat (see the module documentation).
        self.lanes_set.next = 0.into();
        for r in 0..self._rows {
            if self.counted[r].q.val() {
                self.lanes_set.next = self.lanes_set.val() + 1;
            }
        }
        self.counted_columns.d.next = self.group_columns.val().get_bits::<16>(0);
        self.adds.d.next = bit_cast::<16, 8>(self.lanes_set.val()) * self.counted_columns.q.val();
        self.pe_adds_count.d.next =
            self.pe_adds_count.q.val() + bit_cast::<64, 32>(self.adds.q.val());
        // Parameter beats: C v_init, C bias, C theta (column 0 first), sign-extended.
        self.par_word.next = 0.into();
        for c in 0..self._cols {
            if self.par_column.q.val().index() == c {
                if self.par_field.q.val() == 0 {
                    self.par_word.next = self.v_init[c].q.val();
                }
                if self.par_field.q.val() == 1 {
                    self.par_word.next = self.bias[c].q.val();
                }
                if self.par_field.q.val() == 2 {
                    self.par_word.next = self.threshold[c].q.val();
                }
            }
        }
        self.par_data.next = bit_cast::<MEM, 32>(self.par_word.val());
        if self.par_word.val().get_bit(31) {
            self.par_data.next = bit_cast::<MEM, 32>(self.par_word.val()) | self.k_sext32.val();
        }
        self.par_valid.next = self.running.val() & (self.par_field.q.val() != 3);

        // ---------------- Output writes ----------------
        // Emit beats into the queue, with where they go.
        self.queue.clock.next = self.clock.val();
        self.queue.clear.next = self.run.clear.val() | self.rst.val();
        self.queue.push_valid.next = self.spk_valid.val();
        self.spk_ready.next = self.queue.push_ready.val();
        for c in 0..self._cols {
            self.queue.spikes_in[c].next = self.spk_data[c].val();
        }
        self.queue.place_in.neuron.next = self.e_neuron.q.val();
        self.queue.hold.next = self.e_held.q.val();
        self.queue.partner.next = self.e_partner.q.val();
        self.queue.timestep.next = self.e_timestep.q.val();
        if self.e_partner.q.val() {
            // The pair's first (even) neuron: the place of both.
            self.queue.place_in.neuron.next = (self.e_neuron.q.val() >> 1) << 1;
        }
        self.queue.place_in.timestep_base.next = self.emit_base.q.val();
        self.queue.place_in.first_column.next = self.e_first_column.q.val();
        self.queue.place_in.group_start.next = self.e_group_start.q.val();
        // The next timestep's word base: its own statements (and `emit_taken`
        // a signal of its own), so that Verilator need not settle the run's
        // large block, which drives the core's inputs, on the core's `spk_valid`.
        self.emit_taken.next = self.spk_valid.val() & self.queue.push_ready.val();
        if self.emit_taken.val() {
            self.emit_base.d.next =
                self.emit_base.q.val() + bit_cast::<32, 64>(self.sizes.timestep_words.val());
            self.e_timestep.d.next = self.e_timestep.q.val() + 1;
        }
        self.pairs.d.next = false;
        for _p in 0..self._pairs {
            self.pairs.d.next = !self.layer.readout.val()
                & !self.layer.positions.val().get_bit(0)
                & (self.layer.positions.val() != 0)
                & (self.layer.groups.val() == 1)
                & (self.layer.timesteps.val() <= self.k_paired_timesteps.val());
        }
        // A run's first timestep goes to word base 0: from the cycle its
        // place is the neuron machine's.
        if self.e_from_start.val() | self.e_from_run.val() {
            self.emit_base.d.next = 0.into();
            self.e_timestep.d.next = 0.into();
            self.membrane_column.d.next = 0.into();
        }
        if self.e_from_start.val() {
            self.e_held.d.next = self.pairs.q.val() & !self.run.position.val().get_bit(0);
            self.e_partner.d.next = self.pairs.q.val() & self.run.position.val().get_bit(0);
            self.e_neuron.d.next = self.run.first_neuron.val() + self.run.position.val();
            self.e_first_column.d.next = self.run.first_column.val();
            self.e_group_start.d.next = self.run.group_start.val();
            self.membrane_neuron.d.next = self.run.first_neuron.val() + self.run.position.val();
        }
        if self.e_from_run.val() {
            self.e_held.d.next = self.pairs.q.val() & !self.position.q.val().get_bit(0);
            self.e_partner.d.next = self.pairs.q.val() & self.position.q.val().get_bit(0);
            self.e_neuron.d.next = self.first_neuron.q.val() + self.position.q.val();
            self.e_first_column.d.next = self.first_column.q.val();
            self.e_group_start.d.next = self.group_start.q.val();
            self.membrane_neuron.d.next = self.first_neuron.q.val() + self.position.q.val();
        }
        // Spikes from the queue's head: column `spike_column`, bit `spike_bit`;
        // membranes sign-extended to 64.
        self.queue.advance.next = false;
        self.queue.pop.next = false;
        self.spike_neuron.next = self.queue.place.neuron.val() + self.column_offset.q.val();
        self.spike_neuron_b.next = self.queue.place.neuron.val() + self.column_offset_b.q.val();
        self.spike_shifted.next = self.queue.spike.val() >> self.spike_bit.q.val();
        self.spike_shifted_b.next = self.queue.spike_b.val() >> self.spike_bit.q.val();
        self.mask_step.next = 1.into();
        if self.pairs.q.val() {
            self.mask_step.next = 3.into();
        }
        self.membrane.next = bit_cast::<64, MEM>(self.mem_data.val());
        if self.mem_data.val() >= self.k_memhalf.val() {
            self.membrane.next = bit_cast::<64, MEM>(self.mem_data.val()) | self.k_sext64.val();
        }
        self.out_word.next = 0.into();
        if self.mem_valid.val() {
            self.out_word.next = self.membrane.val();
        }
        self.out_word_b.next = 0.into();
        self.mem_ready.next = false;
        self.out_claim.next = false;
        self.out_addr.next = 0.into();
        self.out_write_word.next = false;
        self.out_mask.next = 0.into();
        self.out_mask_b.next = 0.into();
        self.out_addr_b.next = 0.into();
        self.pair_spikes.next = 0.into();

        // ---------------- The run ----------------
        if self.running.val() {
            // Parameters.
            if (self.par_field.q.val() != 3) & self.par_ready.val() {
                self.par_column.d.next = self.par_column.q.val() + 1;
                if self.par_column.q.val() == self.k_last_column.val() {
                    self.par_column.d.next = 0.into();
                    self.par_field.d.next = self.par_field.q.val() + 1;
                }
            }
            // One (wgt, act) beat per cycle from the banks.
            if self.beat.val() {
                self.entry.d.next = self.gather_entry.val();
                self.k_next.next = self.k1.q.val();
                self.k_ahead.next = self.k2.q.val();
                self.k1.d.next = self.k2.q.val();
                self.k2.d.next = self.k3.val();
                if self.k1.q.val() == 0 {
                    // k was the last input.
                    self.act_base_next.next = self.act_base.q.val() + self.sizes.plane_words.val();
                    self.slice_base.d.next =
                        self.slice_base.q.val() + bit_cast::<10, 64>(self.k_rows.val());
                    if bit_cast::<64, 10>(self.slice_base.q.val()) + self.k_rows.val()
                        >= self.sizes.slices.val()
                    {
                        self.streaming.d.next = false;
                    }
                }
            }
            // Final membranes: written for a readout layer, dropped otherwise
            // (a spiking layer's queue may be writing the output buffer).
            self.mem_ready.next = true;
            if self.mem_valid.val() & self.layer.readout.val() {
                self.out_claim.next = true;
                self.membrane_column.d.next = self.membrane_column.q.val() + 1;
                self.membrane_neuron.d.next =
                    self.membrane_neuron.q.val() + self.layer.positions.val();
                self.out_addr.next = self.membrane_neuron.q.val();
                self.out_write_word.next = self.layer.readout.val() & self.membrane_written.val();
            }
            if self.core_done.val() {
                self.failed.d.next = self.core_error.val();
            }
        }
        // The queue's head beat: ceil(C / 2) x b_s cycles of two writes (bit j
        // of columns c and c + 1: their neurons are P apart, in one word or
        // two; of a pair of positions, two adjacent bits each), then the next
        // beat, whether or not a run is going. An empty queue's writer waits
        // at a beat's first pair of columns, its second column P neurons up.
        // A write's data is the bit everywhere (a pair's: the first
        // position's in the even bits, the second's in the odd), the mask
        // picks where.
        self.column_offset_b.d.next = self.layer.positions.val();
        self.pair_count.d.next = 0.into();
        self.spikes_count.d.next =
            self.spikes_count.q.val() + bit_cast::<64, 16>(self.pair_count.q.val());
        if self.queue.nonempty.val() {
            self.out_claim.next = true;
            self.out_word.next = 0.into();
            if self.spike_shifted.val().get_bit(0) {
                self.out_word.next = self.k_even.val();
            }
            if self.spike_shifted.val().get_bit(8)
                | (!self.pairs.q.val() & self.spike_shifted.val().get_bit(0))
            {
                self.out_word.next = self.out_word.val() | self.k_odd.val();
            }
            if self.spike_shifted_b.val().get_bit(0) {
                self.out_word_b.next = self.k_even.val();
            }
            if self.spike_shifted_b.val().get_bit(8)
                | (!self.pairs.q.val() & self.spike_shifted_b.val().get_bit(0))
            {
                self.out_word_b.next = self.out_word_b.val() | self.k_odd.val();
            }
            self.out_addr.next = self.queue.place.timestep_base.val()
                + self.plane_offset.q.val()
                + (self.spike_neuron.val() >> 6);
            self.out_addr_b.next = self.queue.place.timestep_base.val()
                + self.plane_offset.q.val()
                + (self.spike_neuron_b.val() >> 6);
            // The spikes counted: both positions' (a beat alone has zero in
            // its high byte).
            if self.spike_written.val() {
                self.out_mask.next =
                    self.mask_step.val() << self.spike_neuron.val().get_bits::<6>(0);
                self.pair_spikes.next = bit_cast::<16, 8>(self.queue.spike.val().get_bits::<8>(0))
                    + bit_cast::<16, 8>(self.queue.spike.val().get_bits::<8>(8));
            }
            if self.spike_written_b.val() {
                self.out_mask_b.next =
                    self.mask_step.val() << self.spike_neuron_b.val().get_bits::<6>(0);
                self.pair_spikes.next = self.pair_spikes.val()
                    + bit_cast::<16, 8>(self.queue.spike_b.val().get_bits::<8>(0))
                    + bit_cast::<16, 8>(self.queue.spike_b.val().get_bits::<8>(8));
            }
            if self.spike_bit.q.val() == 0 {
                self.pair_count.d.next = self.pair_spikes.val();
            }
            self.spike_bit.d.next = self.spike_bit.q.val() + 1;
            self.plane_offset.d.next = self.plane_offset.q.val() + self.sizes.out_plane_words.val();
            self.column_offset_b.d.next = self.column_offset_b.q.val();
            if self.spike_bit.q.val() + 1 == self.layer.spike_bits.val() {
                self.queue.advance.next = true;
                self.spike_bit.d.next = 0.into();
                self.plane_offset.d.next = 0.into();
                self.spike_column.d.next = self.spike_column.q.val() + 2;
                self.column_offset.d.next =
                    self.column_offset.q.val() + (self.layer.positions.val() << 1);
                self.column_offset_b.d.next =
                    self.column_offset_b.q.val() + (self.layer.positions.val() << 1);
                if self.spike_column.q.val() + 1 >= self.k_last_column.val() {
                    self.spike_column.d.next = 0.into();
                    self.column_offset.d.next = 0.into();
                    self.column_offset_b.d.next = self.layer.positions.val();
                    self.queue.pop.next = true;
                }
            }
        }
        if self.start.val() {
            self.weight_half.d.next = self.run.weight_half.val();
            self.gather_half.d.next = self.run.gather_half.val();
            self.first_column.d.next = self.run.first_column.val();
            self.columns.d.next = self.run.columns.val();
            self.first_neuron.d.next = self.run.first_neuron.val();
            self.group_start.d.next = self.run.group_start.val();
            self.position.d.next = self.run.position.val();
            self.par_field.d.next = 0.into();
            if !self.params_new.q.val() {
                self.par_field.d.next = 3.into();
            }
            self.params_new.d.next = self.params.clear.val() | self.params.write.val();
            self.par_column.d.next = 0.into();
            self.k_next.next = 0.into();
            self.k_ahead.next = 1.into();
            if self.layer.fan_in.val() == 1 {
                self.k_ahead.next = 0.into();
            }
            self.k1.d.next = self.k_ahead.val();
            self.k2.d.next = 2.into();
            if self.layer.fan_in.val() <= 2 {
                self.k2.d.next = 0.into();
            }
            self.act_base_next.next = 0.into();
            self.slice_base.d.next = 0.into();
            self.armed.d.next = true;
            self.streaming.d.next = true;
            self.entry.d.next = self.gather_entry.val();
        }
        if self.run.clear.val() | self.rst.val() {
            // The queue empties: its writer starts at a beat's first bit. The
            // counts and the addition pipeline start from zero.
            self.spike_column.d.next = 0.into();
            self.spike_bit.d.next = 0.into();
            self.plane_offset.d.next = 0.into();
            self.column_offset.d.next = 0.into();
            self.column_offset_b.d.next = self.layer.positions.val();
            self.params_new.d.next = true;
            self.failed.d.next = false;
            self.pe_adds_count.d.next = 0.into();
            self.spikes_count.d.next = 0.into();
            self.pair_count.d.next = 0.into();
            self.adds.d.next = 0.into();
            for r in 0..self._rows {
                self.counted[r].d.next = false;
            }
        }

        // ---------------- Bank read addresses ----------------
        self.k.d.next = self.k_next.val();
        self.act_base.d.next = self.act_base_next.val();
        self.weight_addr.next = bit_cast::<BRAM_ADDR_BITS, 32>(
            bit_cast::<32, 16>(self.k_next.val()) + self.weight_offset.val(),
        );
        // Gather: the entry of the next beat (read one ahead in the row buffer).
        self.entry_next.next = self.entry.q.val();
        if self.start.val() | self.beat.val() {
            self.entry_next.next = self.gather_entry.val();
        }
        self.gather_addr.next = bit_cast::<BRAM_ADDR_BITS, 32>(
            bit_cast::<32, 16>(self.k_ahead.val()) + self.gather_offset.val(),
        );
        if self.run.prime.val() & self.core_ready.val() {
            // The next run's row, which the start hands to the run.
            self.gather_addr.next = bit_cast::<BRAM_ADDR_BITS, 32>(self.load_gather_offset.val());
        }
        self.act_addr.next = bit_cast::<BRAM_ADDR_BITS, 32>(
            self.act_base_next.val() + bit_cast::<32, 16>(self.k_next.val() >> 6),
        );
        if self.layer.gather_layer.val() {
            self.act_addr.next = bit_cast::<BRAM_ADDR_BITS, 32>(
                self.act_base_next.val() + (self.entry_next.val() >> 6),
            );
        }
        if self.rst.val() {
            self.armed.d.next = false;
            self.streaming.d.next = false;
            self.in_flight.d.next = 0.into();
        }
    }
}

#[cfg(test)]
mod tests;
