//! The weight banks: a tile's weight codes, `Kmax` per column (docs/shell.md,
//! "Buffers").
//!
//! Column `c`'s 8-bit code is lane `c mod 8` of bank `c / 8`'s 64-bit word
//! ([`WEIGHT_BANK_COLUMNS`]), each lane with its own write enable
//! (`MaskedBram::with_lanes`): a load's field writes the lanes of the columns
//! it carries, and a read gives every column's code at one address. Eight
//! columns to a RAM is what lets a wide array's banks fit a board's memories:
//! a RAM takes at least one URAM288 or RAMB36 however little it holds, and the
//! kv260 preset has 64 columns.
//!
//! Paired banks (`AcceleratorConfig::paired_weight_rows`: a whole row of codes
//! fits a gearbox field) keep even and odd inputs in RAMs of their own, input
//! `k` at word `k / 2` of its parity's RAM, so that a load writes two inputs'
//! rows in one cycle: a field of two narrow rows is taken at the rate of one.
//!
//! Write: the columns whose `we` is set take their `code` (the low 8 bits) at
//! input `waddr`; in paired banks, with `waddr` even, the columns whose
//! `we_next` is set also take `code_next` at input `waddr + 1`. Read:
//! `rcode[c]` is column c's code at input `raddr`, one clock later
//! (read-before-write when both hit one word).

use super::n;
use crate::buffer::{BRAM_ADDR_BITS, WEIGHT_BANK_COLUMNS};
use crate::masked_bram::MaskedBram;
use crate::param::Param;
use rust_hdl::prelude::*;

// `update` indexes a column's bank as `c / 8`: rust-hdl evaluates an index
// from the loop variable and literals only.
const _: () = assert!(WEIGHT_BANK_COLUMNS == 8);

#[derive(LogicBlock, Default)]
pub struct WeightBanks {
    pub clock: Signal<In, Clock>,
    /// The load's writes: per column, its code (in the low 8 bits) and enable
    /// at input `waddr` and (paired banks, `waddr` even) at input `waddr + 1`.
    pub we: Vec<Signal<In, Bit>>,
    pub code: Vec<Signal<In, Bits<64>>>,
    pub we_next: Vec<Signal<In, Bit>>,
    pub code_next: Vec<Signal<In, Bits<64>>>,
    pub waddr: Signal<In, Bits<BRAM_ADDR_BITS>>,
    /// The feeder's read: every column's code at input `raddr`, a clock later.
    pub raddr: Signal<In, Bits<BRAM_ADDR_BITS>>,
    pub rcode: Vec<Signal<Out, Bits<8>>>,
    /// The banks of the even inputs (of every input when not paired) and of
    /// the odd inputs (paired banks only).
    banks: Vec<MaskedBram<64>>,
    odd_banks: Vec<MaskedBram<64>>,
    /// Per bank: the codes and lane enables of the columns written.
    bank_codes: Vec<Signal<Local, Bits<64>>>,
    bank_lanes: Vec<Signal<Local, Bits<64>>>,
    odd_codes: Vec<Signal<Local, Bits<64>>>,
    odd_lanes: Vec<Signal<Local, Bits<64>>>,
    /// The written input is odd (paired banks); the inputs' words in their RAMs.
    waddr_odd: Signal<Local, Bit>,
    waddr_word: Signal<Local, Bits<BRAM_ADDR_BITS>>,
    raddr_word: Signal<Local, Bits<BRAM_ADDR_BITS>>,
    /// The input read is odd (paired banks), a clock later with the codes.
    read_odd: DFF<Bit>,
    paired: Param<Bit>,
    word_shift: Param<Bits<8>>,
    /// Per column: its code's place in its bank's word, and its lane's enable
    /// (the lane's first bit).
    lane_shift: Vec<Param<Bits<8>>>,
    lane_enable: Vec<Param<Bits<64>>>,
    /// A code's 8 bits: the bits above are zero (the load masks the code to
    /// `b_w` bits), which only a constant tells synthesis.
    code_bits: Param<Bits<64>>,
    _cols: usize,
    _banks: usize,
    /// `cols` and the bank count when paired, else 0.
    _odd_cols: usize,
    _odd_banks: usize,
}

impl WeightBanks {
    /// The banks of `cols` columns, `depth` codes each; `paired`: even and
    /// odd inputs in RAMs of their own (`depth` even).
    pub fn new(cols: usize, depth: usize, paired: bool) -> Self {
        let banks = cols.div_ceil(WEIGHT_BANK_COLUMNS);
        let lane = |c: usize| 8 * (c % WEIGHT_BANK_COLUMNS);
        let ram_depth = if paired { depth / 2 } else { depth };
        let rams = |count: usize| -> Vec<MaskedBram<64>> {
            (0..count)
                .map(|b| {
                    let used = cols.min(WEIGHT_BANK_COLUMNS * (b + 1)) - WEIGHT_BANK_COLUMNS * b;
                    MaskedBram::with_lanes(ram_depth, 8, 8 * used)
                })
                .collect()
        };
        let odd = if paired { banks } else { 0 };
        WeightBanks {
            we: n(cols),
            code: n(cols),
            we_next: n(cols),
            code_next: n(cols),
            rcode: n(cols),
            banks: rams(banks),
            odd_banks: rams(odd),
            bank_codes: n(banks),
            bank_lanes: n(banks),
            odd_codes: n(odd),
            odd_lanes: n(odd),
            paired: Param::new(paired),
            word_shift: Param::new(u64::from(paired).into()),
            lane_shift: (0..cols)
                .map(|c| Param::new((lane(c) as u64).into()))
                .collect(),
            lane_enable: (0..cols)
                .map(|c| Param::new((1u64 << lane(c)).into()))
                .collect(),
            code_bits: Param::new(0xffu64.into()),
            _cols: cols,
            _banks: banks,
            _odd_cols: if paired { cols } else { 0 },
            _odd_banks: odd,
            ..Default::default()
        }
    }
}

impl Logic for WeightBanks {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, read_odd);
        self.waddr_odd.next = self.paired.val() & self.waddr.val().get_bit(0);
        self.waddr_word.next = self.waddr.val() >> self.word_shift.val();
        self.raddr_word.next = self.raddr.val() >> self.word_shift.val();
        self.read_odd.d.next = self.paired.val() & self.raddr.val().get_bit(0);
        for b in 0..self._banks {
            self.bank_codes[b].next = 0.into();
            self.bank_lanes[b].next = 0.into();
        }
        for b in 0..self._odd_banks {
            self.odd_codes[b].next = 0.into();
            self.odd_lanes[b].next = 0.into();
        }
        // Input `waddr` into its parity's banks; the pair's odd input (paired,
        // `waddr` even) into the odd banks.
        for c in 0..self._cols {
            if !self.waddr_odd.val() {
                self.bank_codes[c / 8].next = self.bank_codes[c / 8].val()
                    | ((self.code[c].val() & self.code_bits.val()) << self.lane_shift[c].val());
                if self.we[c].val() {
                    self.bank_lanes[c / 8].next =
                        self.bank_lanes[c / 8].val() | self.lane_enable[c].val();
                }
            }
        }
        for c in 0..self._odd_cols {
            if self.waddr_odd.val() {
                self.odd_codes[c / 8].next = self.odd_codes[c / 8].val()
                    | ((self.code[c].val() & self.code_bits.val()) << self.lane_shift[c].val());
                if self.we[c].val() {
                    self.odd_lanes[c / 8].next =
                        self.odd_lanes[c / 8].val() | self.lane_enable[c].val();
                }
            } else {
                self.odd_codes[c / 8].next = self.odd_codes[c / 8].val()
                    | ((self.code_next[c].val() & self.code_bits.val())
                        << self.lane_shift[c].val());
                if self.we_next[c].val() {
                    self.odd_lanes[c / 8].next =
                        self.odd_lanes[c / 8].val() | self.lane_enable[c].val();
                }
            }
        }
        for b in 0..self._banks {
            self.banks[b].clock.next = self.clock.val();
            self.banks[b].wmask.next = self.bank_lanes[b].val();
            self.banks[b].waddr.next = self.waddr_word.val();
            self.banks[b].wdata.next = self.bank_codes[b].val();
            self.banks[b].raddr.next = self.raddr_word.val();
        }
        for b in 0..self._odd_banks {
            self.odd_banks[b].clock.next = self.clock.val();
            self.odd_banks[b].wmask.next = self.odd_lanes[b].val();
            self.odd_banks[b].waddr.next = self.waddr_word.val();
            self.odd_banks[b].wdata.next = self.odd_codes[b].val();
            self.odd_banks[b].raddr.next = self.raddr_word.val();
        }
        for c in 0..self._cols {
            self.rcode[c].next = self.banks[c / 8]
                .rdata
                .val()
                .get_bits::<8>(self.lane_shift[c].val().index());
        }
        for c in 0..self._odd_cols {
            if self.read_odd.q.val() {
                self.rcode[c].next = self.odd_banks[c / 8]
                    .rdata
                    .val()
                    .get_bits::<8>(self.lane_shift[c].val().index());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use spikeslice_core::random::{rng as seeded, Draw};

    /// Random writes of random column sets (a field's columns, a bank's,
    /// several banks', none; in paired banks a second input's as well when
    /// the first is even) and random reads against a model of one code per
    /// column and input, on column counts that fill their last bank and that
    /// do not.
    fn columns_read_back_their_own_codes(cols: usize, paired: bool, seed: u64) {
        const DEPTH: usize = 32;
        let mut uut = WeightBanks::new(cols, DEPTH, paired);
        uut.connect_all();
        let mut sim = Simulation::new();
        sim.add_clock(5, |x: &mut Box<WeightBanks>| x.clock.next = !x.clock.val());
        sim.add_testbench(move |mut sim: Sim<WeightBanks>| {
            let mut x = sim.init()?;
            let mut rng = seeded(seed);
            let mut model = vec![vec![0u64; cols]; DEPTH];
            for _ in 0..2000 {
                let (ra, wa) = (rng.below(DEPTH as u64), rng.below(DEPTH as u64));
                let lanes = 1 + rng.below(cols as u64) as usize;
                let first = rng.below((cols - lanes + 1) as u64) as usize;
                let pair = paired && wa % 2 == 0 && rng.below(2) == 0;
                // Read-before-write: the read sees the word as it was.
                let expect = model[ra as usize].clone();
                let mut second_row = vec![];
                for (c, slot) in model[wa as usize].iter_mut().enumerate() {
                    // The shell's load: a field's contiguous columns (or none),
                    // the code in the low 8 bits, zero above, as the load masks it.
                    let write = rng.below(4) != 0 && (first..first + lanes).contains(&c);
                    let code = rng.below(256);
                    x.we[c].next = write;
                    x.code[c].next = code.into();
                    if write {
                        *slot = code;
                    }
                    let (write, code) = (pair && rng.below(4) != 0, rng.below(256));
                    x.we_next[c].next = write;
                    x.code_next[c].next = code.into();
                    if write {
                        second_row.push((c, code));
                    }
                }
                for (c, code) in second_row {
                    model[wa as usize + 1][c] = code;
                }
                x.waddr.next = wa.into();
                x.raddr.next = ra.into();
                wait_clock_false!(sim, clock, x);
                wait_clock_true!(sim, clock, x);
                for (c, e) in expect.iter().enumerate() {
                    sim_assert_eq!(sim, x.rcode[c].val().to_u64(), *e, x);
                }
            }
            sim.done(x)
        });
        sim.run(Box::new(uut), 1_000_000).unwrap();
    }

    #[test]
    fn columns_read_back_their_own_codes_in_shared_banks() {
        columns_read_back_their_own_codes(8, false, 21);
        columns_read_back_their_own_codes(9, false, 22);
        columns_read_back_their_own_codes(20, false, 23);
        columns_read_back_their_own_codes(1, false, 24);
    }

    #[test]
    fn paired_banks_take_two_inputs_a_cycle() {
        columns_read_back_their_own_codes(8, true, 25);
        columns_read_back_their_own_codes(3, true, 26);
        columns_read_back_their_own_codes(12, true, 27);
    }
}
