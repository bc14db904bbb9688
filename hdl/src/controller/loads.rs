//! What each of the controller's read phases reads, and where its fields go.
//! The FSM keeps the phases' order and their errors; it tells the block its
//! state, and the block sets up the [`ReadPhase`](super::ReadPhase) (region,
//! field width, which field is the last) and routes the fields taken:
//!
//! ```text
//! Desc  the 64-byte descriptor at `descriptor_offset`, 32-bit fields (to Descriptor)
//! Act   the T b_in input planes, 64-bit words: plane s to activation bank s mod R,
//!       at the plane's word base (bank-major: R planes, then the next R)
//! Par   the tile's nv x (bias, threshold, v_init) (to the feeder's registers);
//!       a threshold <= 0 in a spiking layer is flagged (`params_bad`)
//! Wgt   the packed weight tile into the C columns of the weight banks, in the half being
//!       loaded: L codes per field (`AcceleratorConfig::weight_lanes`), the
//!       codes of columns [j L, (j + 1) L) of one input, code c at bits
//!       [(c - j L) b_w, (c - j L + 1) b_w) (the order of
//!       layout::pack_weights); C / L fields per input. Paired banks
//!       (`AcceleratorConfig::weight_rows_per_field`): where two rows of C
//!       codes fit 64 bits, a field of two inputs' rows, the second at bits
//!       [C b_w, 2 C b_w), into the banks at once (an odd K's last row alone)
//! Grow  a gather row, K entries, into the row buffer's half being loaded (and to
//!       the checks, `count` = entry index)
//! Gen   not a state: an im2col layer's row generator (im2col.rs) writes its
//!       entries into the half being loaded, beside whichever phase the FSM is in
//!       (a tile's first row during Par and Wgt), no read
//! Clr   no read: waits for the clear (below); `cleared` once the last word is
//! ```
//!
//! The **clear** of the output buffer is not a phase of its own: from Act's first
//! cycle (Fit restarts it) it writes zero to one word a cycle, `clear_addr`,
//! beside the input planes' read, which writes other buffers; Clr waits for
//! what is left of it (docs/controller.md, "Cycle formula").

use super::descriptor::Layer;
use super::n;
use super::sizes::SizesIn;
use super::CtlState;
use crate::buffer::BRAM_ADDR_BITS;
use crate::param::Param;
use rust_hdl::prelude::*;
use spikeslice_core::accel::buffers::BufferPlan;
use spikeslice_core::accel::AcceleratorConfig;

#[derive(LogicBlock, Default)]
pub struct Loads {
    pub clock: Signal<In, Clock>,
    /// The descriptor's fields and the layer's sizes.
    pub layer: Layer,
    pub sizes: SizesIn,
    pub state: Signal<In, CtlState>,
    /// The state is a read phase.
    pub active: Signal<Out, Bit>,
    // The read phase: the command is issued, a field is taken, the phase ended.
    pub in_cmd: Signal<In, Bit>,
    pub take: Signal<In, Bit>,
    pub data: Signal<In, Bits<64>>,
    pub done: Signal<In, Bit>,
    /// The read's offset, length, field width, and whether the field taken is
    /// the last.
    pub offset: Signal<Out, Bits<32>>,
    pub len: Signal<Out, Bits<32>>,
    pub field_bits: Signal<Out, Bits<7>>,
    pub last: Signal<Out, Bit>,
    // Where the phases read: the descriptor (and its last word), the gather
    // row, the tile's parameters and weights, and the tile's valid columns.
    pub descriptor_offset: Signal<In, Bits<32>>,
    pub descriptor_last: Signal<In, Bit>,
    pub row_at: Signal<In, Bits<32>>,
    pub params_at: Signal<In, Bits<32>>,
    pub weights_at: Signal<In, Bits<32>>,
    pub columns: Signal<In, Bits<32>>,
    /// The weight-bank and row-buffer halves being loaded.
    pub weight_half: Signal<In, Bit>,
    pub gather_half: Signal<In, Bit>,
    /// The row generator's entry taken (`entry` in the controller's row word)
    /// and its index.
    pub gen_take: Signal<In, Bit>,
    pub gen_index: Signal<In, Bits<32>>,
    /// Fields taken in the phase (Grow: the entry).
    pub count: Signal<Out, Bits<32>>,
    /// The clear: write zero to the output buffer's word `clear_addr`; every
    /// word is cleared (this cycle's write the last, or done).
    pub clear_write: Signal<Out, Bit>,
    pub clear_addr: Signal<Out, Bits<32>>,
    pub cleared: Signal<Out, Bit>,
    // The writes: weight banks, activation banks (the word is `data`), row
    // buffer (the entry is `data`), parameter registers (the word is `data`).
    pub weight_we: Vec<Signal<Out, Bit>>,
    pub weight_addr: Signal<Out, Bits<BRAM_ADDR_BITS>>,
    pub weight_code: Vec<Signal<Out, Bits<64>>>,
    /// The second input's row of a field of two (paired banks), at
    /// `weight_addr + 1`.
    pub weight_we_next: Vec<Signal<Out, Bit>>,
    pub weight_code_next: Vec<Signal<Out, Bits<64>>>,
    pub act_we: Vec<Signal<Out, Bit>>,
    pub act_addr: Signal<Out, Bits<BRAM_ADDR_BITS>>,
    pub row_we: Signal<Out, Bit>,
    pub row_addr: Signal<Out, Bits<BRAM_ADDR_BITS>>,
    pub param_write: Signal<Out, Bit>,
    pub param_column: Signal<Out, Bits<8>>,
    pub param_field: Signal<Out, Bits<2>>,
    pub params_bad: Signal<Out, Bit>,
    /// Fields taken, the bank (activation row, weight column) and the word or
    /// input in it, the activation planes' word base.
    taken: DFF<Bits<32>>,
    bank: DFF<Bits<8>>,
    word: DFF<Bits<32>>,
    plane_base: DFF<Bits<32>>,
    /// The parameter being read (0 bias, 1 threshold, 2 v_init), its column,
    /// and a non-positive threshold seen.
    field: DFF<Bits<2>>,
    column: DFF<Bits<8>>,
    bad_threshold: DFF<Bit>,
    /// The clear's next word, and every word cleared.
    clear_word: DFF<Bits<32>>,
    clear_over: DFF<Bit>,
    entry: Signal<Local, Bits<32>>,
    field_width: Signal<Local, Bits<32>>,
    /// Weight fields carry two rows (paired banks, `2 C b_w <= 64`); the
    /// next field does (not an odd K's last row), a register so that the
    /// field's width does not wait for the input count's comparison.
    pair_rows: Signal<Local, Bit>,
    pair: DFF<Bit>,
    code_mask: Signal<Local, Bits<64>>,
    code_shift: Vec<Signal<Local, Bits<32>>>,
    code: Vec<Signal<Local, Bits<64>>>,
    code_next: Vec<Signal<Local, Bits<64>>>,
    weight_offset: Signal<Local, Bits<32>>,
    gather_offset_half: Signal<Local, Bits<32>>,
    k_last_row: Param<Bits<8>>,
    k_last_chunk: Param<Bits<8>>,
    k_lanes: Param<Bits<16>>,
    k_half: Param<Bits<32>>,
    k_paired: Param<Bit>,
    /// Per column: its place in its field (`c mod L`) and its field (`c / L`).
    lane_id: Vec<Param<Bits<16>>>,
    chunk_id: Vec<Param<Bits<8>>>,
    _rows: usize,
    _cols: usize,
}

impl Loads {
    /// The loads of the accelerator `cfg`.
    pub fn for_config(cfg: &AcceleratorConfig) -> Self {
        let half_depth = BufferPlan::new(cfg).double_buffer_depth();
        let (lanes, paired) = (cfg.weight_lanes(), cfg.paired_weight_rows());
        Self::new(cfg.rows, cfg.cols, half_depth, lanes, paired)
    }

    /// For a core of `rows` x `cols` with bank halves of `half_depth`
    /// entries, loading `lanes` weight codes per field (a divisor of `cols`,
    /// `AcceleratorConfig::weight_lanes`); `paired`: the weight banks take
    /// two inputs' rows a cycle (`AcceleratorConfig::paired_weight_rows`,
    /// `lanes == cols`).
    pub fn new(rows: usize, cols: usize, half_depth: usize, lanes: usize, paired: bool) -> Self {
        assert!(
            lanes >= 1 && cols.is_multiple_of(lanes),
            "{lanes} lanes do not divide {cols} columns"
        );
        assert!(!paired || lanes == cols, "paired rows need a row per field");
        Self {
            weight_we: n(cols),
            weight_code: n(cols),
            weight_we_next: n(cols),
            weight_code_next: n(cols),
            act_we: n(rows),
            code_shift: n(cols),
            code: n(cols),
            code_next: n(cols),
            k_last_row: Param::new((rows as u64 - 1).into()),
            k_last_chunk: Param::new(((cols / lanes) as u64 - 1).into()),
            k_lanes: Param::new((lanes as u64).into()),
            k_half: Param::new((half_depth as u64).into()),
            k_paired: Param::new(paired),
            lane_id: (0..cols)
                .map(|c| Param::new(((c % lanes) as u64).into()))
                .collect(),
            chunk_id: (0..cols)
                .map(|c| Param::new(((c / lanes) as u64).into()))
                .collect(),
            _rows: rows,
            _cols: cols,
            ..Default::default()
        }
    }
}

impl Logic for Loads {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, taken, bank, word, plane_base);
        dff_setup!(self, clock, field, column, bad_threshold, pair);
        dff_setup!(self, clock, clear_word, clear_over);
        self.entry.next = bit_cast::<32, 64>(self.data.val());
        self.count.next = self.taken.q.val();
        // The clear: restarted in Fit, a word a cycle in Act and Clr.
        self.clear_addr.next = self.clear_word.q.val();
        self.clear_write.next = false;
        self.cleared.next = self.clear_over.q.val();
        if self.state.val() == CtlState::Fit {
            self.clear_word.d.next = 0.into();
            self.clear_over.d.next = false;
        }
        if ((self.state.val() == CtlState::Act) | (self.state.val() == CtlState::Clr))
            & !self.clear_over.q.val()
        {
            self.clear_write.next = true;
            self.clear_word.d.next = self.clear_word.q.val() + 1;
            if bit_cast::<64, 32>(self.clear_word.q.val() + 1) == self.sizes.output_words.val() {
                self.clear_over.d.next = true;
                self.cleared.next = true;
            }
        }
        self.params_bad.next = self.bad_threshold.q.val();
        // A weight field of L codes, in bits, and the mask of one code.
        self.field_width.next =
            bit_cast::<16, 4>(self.layer.weight_bits.val()) * self.k_lanes.val();
        self.code_mask.next = (bits::<64>(1) << self.layer.weight_bits.val()) - 1;
        self.pair_rows.next = self.k_paired.val() & (self.field_width.val() <= 32);
        // The halves being loaded (double buffering).
        self.weight_offset.next = 0.into();
        if self.weight_half.val() {
            self.weight_offset.next = self.k_half.val();
        }
        self.gather_offset_half.next = 0.into();
        if self.gather_half.val() {
            self.gather_offset_half.next = self.k_half.val();
        }

        // The read: the descriptor unless the phase says otherwise.
        self.active.next = true;
        self.last.next = false;
        self.offset.next = self.descriptor_offset.val();
        self.len.next = 64.into();
        self.field_bits.next = 32.into();
        match self.state.val() {
            CtlState::Desc => {
                self.last.next = self.descriptor_last.val();
            }
            CtlState::Act => {
                self.offset.next = self.layer.input_offset.val();
                self.len.next = bit_cast::<32, 64>(self.sizes.input_words.val() << 3);
                self.field_bits.next = 64.into();
                self.last.next =
                    bit_cast::<64, 32>(self.taken.q.val() + 1) == self.sizes.input_words.val();
            }
            CtlState::Grow => {
                // An im2col layer's row is generated, not read (`gen_take`).
                self.active.next = !self.layer.im2col_layer.val();
                self.offset.next = self.row_at.val();
                self.len.next = self.layer.fan_in.val() << 2;
                self.last.next = self.taken.q.val() + 1 == self.layer.fan_in.val();
            }
            CtlState::Par => {
                self.offset.next = self.params_at.val();
                self.len.next = (self.columns.val() << 3) + (self.columns.val() << 2);
                self.last.next =
                    self.taken.q.val() + 1 == (self.columns.val() << 1) + self.columns.val();
            }
            CtlState::Wgt => {
                self.offset.next = self.weights_at.val();
                self.len.next = bit_cast::<32, 64>(self.sizes.tile_words.val() << 3);
                // Field `bank` of input `word`: the codes of columns
                // [bank L, (bank + 1) L); or inputs `word` and `word + 1`.
                self.field_bits.next = bit_cast::<7, 32>(self.field_width.val());
                if self.pair.q.val() {
                    self.field_bits.next = bit_cast::<7, 32>(self.field_width.val() << 1);
                }
                self.last.next = ((self.word.q.val() + 1 == self.layer.fan_in.val())
                    | (self.pair.q.val() & (self.word.q.val() + 2 == self.layer.fan_in.val())))
                    & (self.bank.q.val() == self.k_last_chunk.val());
            }
            _ => {
                self.active.next = false;
            }
        }

        // Weight codes out of the field: column c's code at bits
        // [(c mod L) b_w, (c mod L + 1) b_w) of field c / L; the second
        // input's C b_w bits higher.
        for c in 0..self._cols {
            self.code_shift[c].next =
                bit_cast::<16, 4>(self.layer.weight_bits.val()) * self.lane_id[c].val();
            self.code[c].next =
                (self.data.val() >> self.code_shift[c].val()) & self.code_mask.val();
            self.code_next[c].next = (self.data.val()
                >> (self.code_shift[c].val() + self.field_width.val()))
                & self.code_mask.val();
            self.weight_code[c].next = self.code[c].val();
            self.weight_code_next[c].next = self.code_next[c].val();
            self.weight_we[c].next = (self.state.val() == CtlState::Wgt)
                & self.take.val()
                & (self.bank.q.val() == self.chunk_id[c].val());
            self.weight_we_next[c].next = self.weight_we[c].val() & self.pair.q.val();
        }
        self.weight_addr.next =
            bit_cast::<BRAM_ADDR_BITS, 32>(self.word.q.val() + self.weight_offset.val());
        for r in 0..self._rows {
            self.act_we[r].next = (self.state.val() == CtlState::Act)
                & self.take.val()
                & (self.bank.q.val().index() == r);
        }
        self.act_addr.next =
            bit_cast::<BRAM_ADDR_BITS, 32>(self.plane_base.q.val() + self.word.q.val());
        self.row_we.next =
            ((self.state.val() == CtlState::Grow) & self.take.val()) | self.gen_take.val();
        self.row_addr.next =
            bit_cast::<BRAM_ADDR_BITS, 32>(self.taken.q.val() + self.gather_offset_half.val());
        if self.gen_take.val() {
            self.row_addr.next = bit_cast::<BRAM_ADDR_BITS, 32>(
                self.gen_index.val() + self.gather_offset_half.val(),
            );
        }
        self.param_write.next = (self.state.val() == CtlState::Par) & self.take.val();
        self.param_column.next = self.column.q.val();
        self.param_field.next = self.field.q.val();

        // The counters of the phases.
        match self.state.val() {
            CtlState::Act => {
                if self.in_cmd.val() {
                    self.taken.d.next = 0.into();
                    self.bank.d.next = 0.into();
                    self.word.d.next = 0.into();
                    self.plane_base.d.next = 0.into();
                }
                if self.take.val() {
                    self.taken.d.next = self.taken.q.val() + 1;
                    self.word.d.next = self.word.q.val() + 1;
                    if self.word.q.val() + 1 == self.sizes.plane_words.val() {
                        self.word.d.next = 0.into();
                        self.bank.d.next = self.bank.q.val() + 1;
                        if self.bank.q.val() == self.k_last_row.val() {
                            self.bank.d.next = 0.into();
                            self.plane_base.d.next =
                                self.plane_base.q.val() + self.sizes.plane_words.val();
                        }
                    }
                }
                if self.done.val() {
                    self.taken.d.next = 0.into();
                }
            }
            CtlState::Par => {
                if self.in_cmd.val() {
                    self.taken.d.next = 0.into();
                    self.field.d.next = 0.into();
                    self.column.d.next = 0.into();
                    self.bad_threshold.d.next = false;
                }
                if self.take.val() {
                    // A spiking layer's thresholds must be positive.
                    if (self.field.q.val() == 1)
                        & !self.layer.readout.val()
                        & (self.entry.val().get_bit(31) | (self.entry.val() == 0))
                    {
                        self.bad_threshold.d.next = true;
                    }
                    self.field.d.next = self.field.q.val() + 1;
                    if self.field.q.val() == 2 {
                        self.field.d.next = 0.into();
                        self.column.d.next = self.column.q.val() + 1;
                    }
                    self.taken.d.next = self.taken.q.val() + 1;
                }
            }
            CtlState::Wgt => {
                // The next field is a pair while two inputs or more remain.
                if self.in_cmd.val() {
                    self.bank.d.next = 0.into();
                    self.word.d.next = 0.into();
                    self.pair.d.next = self.pair_rows.val() & (self.layer.fan_in.val() != 1);
                }
                if self.take.val() {
                    self.bank.d.next = self.bank.q.val() + 1;
                    if self.bank.q.val() == self.k_last_chunk.val() {
                        self.bank.d.next = 0.into();
                        self.word.d.next = self.word.q.val() + 1;
                        self.pair.d.next = self.pair_rows.val()
                            & (self.word.q.val() + 2 != self.layer.fan_in.val());
                        if self.pair.q.val() {
                            self.word.d.next = self.word.q.val() + 2;
                            self.pair.d.next = self.pair_rows.val()
                                & (self.word.q.val() + 3 != self.layer.fan_in.val());
                        }
                    }
                }
            }
            CtlState::Grow => {
                if self.in_cmd.val() {
                    self.taken.d.next = 0.into();
                }
                if self.take.val() {
                    self.taken.d.next = self.taken.q.val() + 1;
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROWS: usize = 2;
    const COLS: usize = 3;
    const HALF: u64 = 16;

    /// A field's write (per phase: act (address, banks written); weights
    /// (address, `column << 8 | code` of each bank written); params (column,
    /// [field, write])) and whether the block called the field the last.
    type Wrote = (u64, Vec<u64>, bool);

    /// Offers `fields` to the block in `state`, one a cycle after one cycle of
    /// command set-up, and returns what the block did with each.
    fn phase(
        sim: &mut Sim<Loads>,
        mut x: Box<Loads>,
        state: CtlState,
        fields: &[u64],
    ) -> Result<(Box<Loads>, Vec<Wrote>), SimError> {
        x.state.next = state;
        x.in_cmd.next = true;
        wait_clock_cycle!(sim, clock, x);
        x.in_cmd.next = false;
        let mut out = vec![];
        for &f in fields {
            x.take.next = true;
            x.data.next = f.into();
            x = sim.wait(1, x)?;
            let wrote = match state {
                CtlState::Act => {
                    let banks: Vec<u64> = (0..ROWS as u64)
                        .filter(|&r| x.act_we[r as usize].val())
                        .collect();
                    (x.act_addr.val().to_u64(), banks)
                }
                CtlState::Wgt => {
                    let codes = (0..COLS)
                        .filter(|&c| x.weight_we[c].val())
                        .map(|c| (c as u64) << 8 | x.weight_code[c].val().to_u64())
                        .collect();
                    (x.weight_addr.val().to_u64(), codes)
                }
                _ => (
                    x.param_column.val().to_u64(),
                    vec![x.param_field.val().to_u64(), u64::from(x.param_write.val())],
                ),
            };
            out.push((wrote.0, wrote.1, x.last.val()));
            wait_clock_cycle!(sim, clock, x);
        }
        x.take.next = false;
        Ok((x, out))
    }

    /// On a 2x3 core with weight rows: the input planes (4 planes of 2 words)
    /// into the banks by plane mod R; a weight tile (K = 2 rows of 3 4-bit
    /// codes) into the upper half of every weight bank; two columns'
    /// parameters, one threshold zero (flagged); the read set-ups; the clear
    /// beside the input's read and after it.
    #[test]
    fn loads_route_every_phase() {
        let (mut sim, uut) =
            clocked_simulation!(Loads::new(ROWS, COLS, HALF as usize, COLS, false), Loads);
        sim.add_testbench(move |mut sim: Sim<Loads>| {
            let mut x = sim.init()?;
            x.layer.input_offset.next = 0x300.into();
            x.sizes.input_words.next = 8.into();
            x.sizes.plane_words.next = 2.into();
            x.layer.fan_in.next = 2.into();
            x.layer.weight_bits.next = 4.into();
            x.sizes.tile_words.next = 1.into();
            x.weights_at.next = 0x500.into();
            x.params_at.next = 0x600.into();
            x.columns.next = 2.into();
            x.weight_half.next = true;
            x.sizes.output_words.next = 12.into();
            // Fit restarts the clear.
            x.state.next = CtlState::Fit;
            wait_clock_cycle!(sim, clock, x);
            // Act: word w of plane s to bank s mod 2 at (s / 2) * 2 + w mod 2;
            // the clear writes a word a cycle from its first cycle.
            x.state.next = CtlState::Act;
            x = sim.wait(1, x)?;
            sim_assert!(sim, x.active.val(), x);
            sim_assert!(sim, x.clear_write.val() & !x.cleared.val(), x);
            sim_assert_eq!(sim, x.clear_addr.val().to_u64(), 0, x);
            sim_assert_eq!(sim, x.offset.val().to_u64(), 0x300, x);
            sim_assert_eq!(sim, x.len.val().to_u64(), 64, x);
            sim_assert_eq!(sim, x.field_bits.val().to_u64(), 64, x);
            let (x, got) = phase(&mut sim, x, CtlState::Act, &[0; 8])?;
            let want: Vec<Wrote> = (0..8u64)
                .map(|i| ((i / 4) * 2 + i % 2, vec![(i / 2) % 2], i == 7))
                .collect();
            sim_assert_eq!(sim, got, want, x);
            // The phase ends after 10 cycles (command, 8 fields, done), which
            // cleared words 0 to 9; Clr: words 10 and 11, `cleared` at the last;
            // no read; then `cleared` stays and nothing is written.
            let mut x = x;
            x.done.next = true;
            wait_clock_cycle!(sim, clock, x);
            x.done.next = false;
            x.state.next = CtlState::Clr;
            for w in 10..13u64 {
                x = sim.wait(1, x)?;
                sim_assert!(sim, !x.active.val(), x);
                sim_assert_eq!(sim, x.clear_write.val(), w < 12, x);
                sim_assert_eq!(sim, x.clear_addr.val().to_u64(), w.min(12), x);
                sim_assert_eq!(sim, x.cleared.val(), w >= 11, x);
                wait_clock_cycle!(sim, clock, x);
            }
            // Wgt: a row of three 4-bit codes per field, every bank at k + half.
            x.state.next = CtlState::Wgt;
            x = sim.wait(1, x)?;
            sim_assert_eq!(sim, x.field_bits.val().to_u64(), 12, x);
            sim_assert_eq!(sim, x.offset.val().to_u64(), 0x500, x);
            let (x, got) = phase(&mut sim, x, CtlState::Wgt, &[0x321, 0xABC])?;
            let want = vec![
                (HALF, vec![1, 0x102, 0x203], false),
                (HALF + 1, vec![0xC, 0x10B, 0x20A], true),
            ];
            sim_assert_eq!(sim, got, want, x);
            // Par: (bias, threshold, v_init) of two columns; column 1's threshold is 0.
            let (mut x, got) = phase(&mut sim, x, CtlState::Par, &[5, 1, 0, 6, 0, 0])?;
            let want: Vec<Wrote> = (0..6u64).map(|i| (i / 3, vec![i % 3, 1], i == 5)).collect();
            sim_assert_eq!(sim, got, want, x);
            wait_clock_cycle!(sim, clock, x);
            sim_assert!(sim, x.params_bad.val(), x);
            sim_assert_eq!(sim, x.offset.val().to_u64(), 0x600, x);
            sim_assert_eq!(sim, x.len.val().to_u64(), 24, x);
            sim.done(x)
        });
        sim.run(Box::new(uut), 1_000_000).unwrap();
    }

    /// Paired banks: K = 3 rows of three 4-bit codes, rows 0 and 1 as one
    /// 24-bit field (the second row's codes on the `_next` writes), row 2
    /// alone as the last, 12-bit field, into the upper half; then K = 2 rows
    /// of 8-bit codes as one 48-bit field, the last.
    #[test]
    fn paired_banks_take_two_rows_a_field() {
        let (mut sim, uut) =
            clocked_simulation!(Loads::new(ROWS, COLS, HALF as usize, COLS, true), Loads);
        sim.add_testbench(move |mut sim: Sim<Loads>| {
            let mut x = sim.init()?;
            x.layer.fan_in.next = 3.into();
            x.layer.weight_bits.next = 4.into();
            x.sizes.tile_words.next = 1.into();
            x.weight_half.next = true;
            x.state.next = CtlState::Wgt;
            x.in_cmd.next = true;
            wait_clock_cycle!(sim, clock, x);
            x.in_cmd.next = false;
            // (field bits, address, codes at it, codes at it + 1, last)
            let mut got = vec![];
            for f in [0xABC_321u64, 0x654] {
                x = sim.wait(1, x)?;
                let bits = x.field_bits.val().to_u64();
                x.take.next = true;
                x.data.next = f.into();
                x = sim.wait(1, x)?;
                let codes = |we: &[Signal<Out, Bit>], code: &[Signal<Out, Bits<64>>]| -> Vec<u64> {
                    (0..COLS)
                        .filter(|&c| we[c].val())
                        .map(|c| (c as u64) << 8 | code[c].val().to_u64())
                        .collect()
                };
                got.push((
                    bits,
                    x.weight_addr.val().to_u64(),
                    codes(&x.weight_we, &x.weight_code),
                    codes(&x.weight_we_next, &x.weight_code_next),
                    x.last.val(),
                ));
                wait_clock_cycle!(sim, clock, x);
                x.take.next = false;
            }
            let want = vec![
                (
                    24,
                    HALF,
                    vec![1, 0x102, 0x203],
                    vec![0xC, 0x10B, 0x20A],
                    false,
                ),
                (12, HALF + 2, vec![4, 0x105, 0x206], vec![], true),
            ];
            sim_assert_eq!(sim, got, want, x);
            // K = 2 rows of 8-bit codes: one 48-bit field, the last.
            x.layer.fan_in.next = 2.into();
            x.layer.weight_bits.next = 8.into();
            x.in_cmd.next = true;
            wait_clock_cycle!(sim, clock, x);
            x.in_cmd.next = false;
            x = sim.wait(1, x)?;
            sim_assert_eq!(sim, x.field_bits.val().to_u64(), 48, x);
            x.take.next = true;
            x.data.next = 0x0605_0403_0201_u64.into();
            x = sim.wait(1, x)?;
            sim_assert!(sim, x.last.val(), x);
            sim_assert_eq!(sim, x.weight_addr.val().to_u64(), HALF, x);
            sim_assert_eq!(sim, x.weight_code_next[2].val().to_u64(), 6, x);
            sim_assert!(sim, x.weight_we_next[2].val(), x);
            sim.done(x)
        });
        sim.run(Box::new(uut), 1_000_000).unwrap();
    }

    /// One lane (a row of C codes wider than 64 bits): a 4-bit code per
    /// field, bank by bank, the last at the last column of the last input.
    #[test]
    fn one_lane_loads_a_code_per_field() {
        let (mut sim, uut) =
            clocked_simulation!(Loads::new(ROWS, COLS, HALF as usize, 1, false), Loads);
        sim.add_testbench(move |mut sim: Sim<Loads>| {
            let mut x = sim.init()?;
            x.layer.fan_in.next = 2.into();
            x.layer.weight_bits.next = 4.into();
            x.sizes.tile_words.next = 1.into();
            x.state.next = CtlState::Wgt;
            x = sim.wait(1, x)?;
            sim_assert_eq!(sim, x.field_bits.val().to_u64(), 4, x);
            let (x, got) = phase(&mut sim, x, CtlState::Wgt, &[1, 2, 3, 0xA, 0xB, 0xC])?;
            let want: Vec<Wrote> = (0..6u64)
                .map(|i| {
                    (
                        i / 3,
                        vec![(i % 3) << 8 | [1, 2, 3, 0xA, 0xB, 0xC][i as usize]],
                        i == 5,
                    )
                })
                .collect();
            sim_assert_eq!(sim, got, want, x);
            sim.done(x)
        });
        sim.run(Box::new(uut), 1_000_000).unwrap();
    }

    /// The row generator's entries go into the row buffer's half being loaded
    /// at their index, in any state (a tile's first row during the weights),
    /// beside the phase's own fields; a read phase's fields reach the row
    /// buffer only in Grow.
    #[test]
    fn generated_entries_go_to_the_half_being_loaded_beside_any_phase() {
        let (mut sim, uut) =
            clocked_simulation!(Loads::new(ROWS, COLS, HALF as usize, COLS, false), Loads);
        sim.add_testbench(move |mut sim: Sim<Loads>| {
            let mut x = sim.init()?;
            x.layer.fan_in.next = 4.into();
            x.layer.weight_bits.next = 4.into();
            for (state, half, index) in [
                (CtlState::Par, false, 3u64),
                (CtlState::Wgt, true, 0),
                (CtlState::Grow, true, 7),
            ] {
                x.state.next = state;
                x.gather_half.next = half;
                x.take.next = true;
                x.gen_take.next = false;
                x = sim.wait(1, x)?;
                sim_assert_eq!(sim, x.row_we.val(), state == CtlState::Grow, x);
                x.gen_take.next = true;
                x.gen_index.next = index.into();
                x = sim.wait(1, x)?;
                sim_assert!(sim, x.row_we.val(), x);
                let at = index + if half { HALF } else { 0 };
                sim_assert_eq!(sim, x.row_addr.val().to_u64(), at, x);
            }
            sim.done(x)
        });
        sim.run(Box::new(uut), 1_000_000).unwrap();
    }
}
