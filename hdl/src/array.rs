//! The R x C output-stationary systolic array with its input skew and weight decoders.
//!
//! * Column c: a [`WeightDecoder`] turns the b_w-bit code into an 8-bit weight, which
//!   flows down the column one PE per step.
//! * Row r: the slice bit of chunk-local slice r is delayed by r steps (a
//!   [`SkewLine`]), then reaches every PE of the row at once; so is the chunk's
//!   first-beat flag, with which each row's sum starts afresh.
//! * Column c: a [`RowSelect`] reads the accumulator of the row `row` names.
//!
//! So `W[c][k]` and `x_k` meet in PE(r, c) at step k + r, in every column at once: the
//! wavefront is skewed along the columns only, and row r completes K + r steps after
//! a chunk's first. The drain reads row d in its cycle d (from 0), after K + d steps,
//! and the array takes one more step in that cycle, which completes row d + 1: row 0
//! right after the last input, each further row as it completes, so no chunk waits
//! out the wavefront. The step is the next chunk's beat, whose first-beat flag
//! reaches row d in that same step (row d's sum starts afresh as it is read), or
//! zero slice bits, which add nothing. Passing the bit
//! from PE to PE instead (the fully systolic form) would skew the columns too: C - 1
//! more steps of fill and flush per chunk, and C (C - 1) / 2 weight registers to delay
//! column c by c steps; at the kv260 preset's 64 columns that is 63 cycles of every
//! run and 16,128 flip-flops of weight skew (16,380 with the slice-bit registers).
//! The price is the fan-out: a row's bit drives C PEs (docs/compute-core.md,
//! "Dataflow").
//!
//! With the fan-in in halves (`ArrayConfig::fanin_halves`) the array is two
//! `R/2 x C` halves on the same columns: the upper takes the first `ceil(K/2)`
//! inputs from `w_in`, the lower the rest from `w_in_b`, decoded at its first
//! row, and row `R/2 + d` is skewed by `d` as row `d` is; so the rows `d` and
//! `R/2 + d` complete in the same step, and the drain reads their sum. A
//! chunk then holds `R/2` slices over `ceil(K/2)` beats: the sequencer sees an
//! `R/2`-row array whose beats carry two inputs.
//!
//! The PEs are fabric [`Pe`]s or, with `dsp_pes`, [`DspPes`] blocks of one or two PEs
//! of a row in a DSP48E2 slice each (columns 2h and 2h + 1 in slice h of a row at
//! accumulators of at most 24 bits: the two share the row's slice bit and first-beat
//! flag); the wiring between PEs is the same.
//!
//! rust-hdl limitation: `#[hdl_gen]` resolves only one `[index]` per signal path and only
//! with loop variables, so 2-D wiring (`pes[r * C + c]`) cannot be written in the HDL
//! kernel. The array therefore implements `Logic::hdl` by hand, building the same
//! rust-hdl AST (plain assignments) from Rust loops; `update` mirrors it for simulation.

use crate::pe::{Pe, W_BITS};
use crate::pe_dsp::{pes_per_dsp, DspPes};
use rust_hdl::core::ast::{
    Verilog, VerilogBlock, VerilogExpression as E, VerilogLiteral, VerilogOp, VerilogStatement as S,
};
use rust_hdl::prelude::*;

/// Decodes a weight code of run-time width b_w into two's complement (App. B: weights
/// are multi-bit, b_w chosen per layer). b_w = 1: bit 1 -> +1, bit 0 -> -1. b_w >= 2:
/// sign-extend bits [b_w-1:0] (done as (raw << (8-b_w)) >>> (8-b_w), with the
/// arithmetic shift written as ~(~t >> s) for negative t: rust-hdl `Bits` has no `>>>`).
#[derive(LogicBlock, Default)]
pub struct WeightDecoder {
    pub raw: Signal<In, Bits<W_BITS>>,
    pub b_w: Signal<In, Bits<4>>,
    pub w: Signal<Out, Bits<W_BITS>>,
    sh: Signal<Local, Bits<4>>,
    t: Signal<Local, Bits<W_BITS>>,
}

impl Logic for WeightDecoder {
    #[hdl_gen]
    fn update(&mut self) {
        self.sh.next = bits::<4>(8) - self.b_w.val();
        self.t.next = self.raw.val() << self.sh.val();
        if self.t.val().get_bit(7) {
            self.w.next = !((!self.t.val()) >> self.sh.val());
        } else {
            self.w.next = self.t.val() >> self.sh.val();
        }
        if self.b_w.val() == 1 {
            if self.raw.val().get_bit(0) {
                self.w.next = 1.into();
            } else {
                self.w.next = 0xFF.into();
            }
        }
    }
}

/// A column's row multiplexer: the accumulator of row `row` (the drain reads a
/// chunk's rows where they stand, one a cycle, in the order they complete). A row
/// number past the last reads the last row.
#[derive(LogicBlock, Default)]
pub struct RowSelect<const ACC: usize> {
    pub row: Signal<In, Bits<10>>,
    pub acc: Vec<Signal<In, Bits<ACC>>>,
    pub p: Signal<Out, Bits<ACC>>,
    _rows: usize,
    _last: usize,
}

impl<const ACC: usize> RowSelect<ACC> {
    pub fn new(rows: usize) -> Self {
        Self {
            acc: (0..rows).map(|_| Default::default()).collect(),
            _rows: rows,
            _last: rows - 1,
            ..Default::default()
        }
    }
}

impl<const ACC: usize> Logic for RowSelect<ACC> {
    #[hdl_gen]
    fn update(&mut self) {
        // The last row is the default (rust-hdl cannot index with `rows - 1` in an
        // HDL kernel: a one-element range selects it).
        for r in self._last..self._rows {
            self.p.next = self.acc[r].val();
        }
        for r in 0..self._last {
            if self.row.val().index() == r {
                self.p.next = self.acc[r].val();
            }
        }
    }
}

/// A chain of `len` registers advancing only when `en` is high (the skew of one
/// row). Nothing empties it: what a soft reset leaves in flight reaches the rows
/// before the next chunk's first beat, which starts every row's sum afresh.
/// `len` = 0 is a wire.
#[derive(LogicBlock, Default)]
pub struct SkewLine<T: Synth> {
    pub clock: Signal<In, Clock>,
    pub en: Signal<In, Bit>,
    pub d_in: Signal<In, T>,
    pub d_out: Signal<Out, T>,
    regs: Vec<DFF<T>>,
    _len: usize,
    _first: usize,
    _last: usize,
}

impl<T: Synth> SkewLine<T> {
    pub fn new(len: usize) -> Self {
        Self {
            regs: (0..len).map(|_| Default::default()).collect(),
            _len: len,
            _first: len.min(1),
            _last: len.saturating_sub(1),
            ..Default::default()
        }
    }
}

impl<T: Synth> Logic for SkewLine<T> {
    #[hdl_gen]
    fn update(&mut self) {
        self.d_out.next = self.d_in.val();
        for i in 0..self._len {
            self.regs[i].clock.next = self.clock.val();
            self.regs[i].d.next = self.regs[i].q.val();
        }
        // Loops over one-element ranges select the first/last register: rust-hdl
        // cannot index with `len - 1` in an HDL kernel.
        for i in self._last..self._len {
            self.d_out.next = self.regs[i].q.val();
        }
        if self.en.val() {
            for i in 0..self._first {
                self.regs[i].d.next = self.d_in.val();
            }
            for i in 1..self._len {
                self.regs[i].d.next = self.regs[i - 1].q.val();
            }
        }
    }
}

/// The systolic array proper.
#[derive(LogicBlock, Default)]
pub struct Array<const ACC: usize> {
    pub clock: Signal<In, Clock>,
    pub en: Signal<In, Bit>,
    /// This step's beat is its chunk's first (each row's sum starts afresh
    /// when it reaches the row).
    pub fst: Signal<In, Bit>,
    /// The row the drain reads (chunk-local slice).
    pub row: Signal<In, Bits<10>>,
    pub b_w: Signal<In, Bits<4>>,
    /// Weight codes, one lane per column.
    pub w_in: Vec<Signal<In, Bits<W_BITS>>>,
    /// With the fan-in in halves, the lower half's weight codes (input
    /// `ceil(K/2) + k`), one lane per column; no lanes otherwise.
    pub w_in_b: Vec<Signal<In, Bits<W_BITS>>>,
    /// Slice bits, lane i = chunk-local slice i (in halves: lane `R/2 + i`
    /// is slice i of the lower half's input).
    pub x_in: Vec<Signal<In, Bit>>,
    /// Row `row`'s accumulators, one lane per column (in halves: the sum of
    /// rows `row` and `R/2 + row`).
    pub acc_out: Vec<Signal<Out, Bits<ACC>>>,
    dec: Vec<WeightDecoder>,
    /// The lower half's decoders (in halves; else none).
    dec_b: Vec<WeightDecoder>,
    /// Each column's row multiplexer: over every row, or in halves over the
    /// upper half's.
    sel: Vec<RowSelect<ACC>>,
    /// In halves, each column's multiplexer over the lower half's rows.
    sel_b: Vec<RowSelect<ACC>>,
    xskew: Vec<SkewLine<Bit>>,
    /// The first-beat flag, skewed as the slice bits.
    fskew: Vec<SkewLine<Bit>>,
    /// Fabric PEs, row-major; empty when the PEs are in DSP slices.
    pes: Vec<Pe<ACC>>,
    /// DSP slices of `_per_dsp` PEs of one row each, by row then column
    /// group (`dsp_pes`); empty for fabric PEs.
    dsps: Vec<DspPes<ACC>>,
    _rows: usize,
    _cols: usize,
    _per_dsp: usize,
    /// The first row of the lower half, in halves; 0 otherwise.
    _half: usize,
}

impl<const ACC: usize> Array<ACC> {
    /// An array of fabric PEs, or with `dsp_pes` of PEs in DSP48E2 slices
    /// (hdl/src/pe_dsp.rs), [`pes_per_dsp`] of one row in each; with
    /// `fanin_halves` (an even number of rows) in two halves of the fan-in.
    pub fn new(rows: usize, cols: usize, dsp_pes: bool, fanin_halves: bool) -> Self {
        let half = if fanin_halves { rows / 2 } else { 0 };
        let lower = |n: usize| if fanin_halves { n } else { 0 };
        let per_dsp = if dsp_pes { pes_per_dsp(ACC) } else { 0 };
        let (pes, dsps) = if dsp_pes {
            let groups = cols.div_ceil(per_dsp);
            let lanes = |h: usize| per_dsp.min(cols - h * per_dsp);
            let dsps = (0..rows * groups)
                .map(|q| DspPes::new(lanes(q % groups)))
                .collect();
            (Vec::new(), dsps)
        } else {
            (
                (0..rows * cols).map(|_| Default::default()).collect(),
                Vec::new(),
            )
        };
        // A row's skew: its place in its half.
        let skew = |r: usize| if half > 0 { r % half } else { r };
        let upper = if half > 0 { half } else { rows };
        Self {
            w_in: (0..cols).map(|_| Default::default()).collect(),
            w_in_b: (0..lower(cols)).map(|_| Default::default()).collect(),
            x_in: (0..rows).map(|_| Default::default()).collect(),
            acc_out: (0..cols).map(|_| Default::default()).collect(),
            dec: (0..cols).map(|_| Default::default()).collect(),
            dec_b: (0..lower(cols)).map(|_| Default::default()).collect(),
            sel: (0..cols).map(|_| RowSelect::new(upper)).collect(),
            sel_b: (0..lower(cols)).map(|_| RowSelect::new(half)).collect(),
            xskew: (0..rows).map(|r| SkewLine::new(skew(r))).collect(),
            fskew: (0..rows).map(|r| SkewLine::new(skew(r))).collect(),
            pes,
            dsps,
            _rows: rows,
            _cols: cols,
            _per_dsp: per_dsp,
            _half: half,
            ..Default::default()
        }
    }

    /// Where row `row`'s accumulators are read: (multiplexer, its input).
    fn select_of(&self, row: usize) -> (&'static str, usize) {
        if self._half > 0 && row >= self._half {
            ("sel_b", row - self._half)
        } else {
            ("sel", row)
        }
    }

    /// Row `row` is the first of the lower half (its weights are decoded
    /// from `w_in_b`, not passed down from the row above).
    fn lower_first(&self, row: usize) -> bool {
        self._half > 0 && row == self._half
    }

    /// Column groups of DSP slices in a row (0 for fabric PEs).
    fn dsp_groups(&self) -> usize {
        if self._per_dsp == 0 {
            0
        } else {
            self._cols.div_ceil(self._per_dsp)
        }
    }

    /// The PE block of row `row`, column `col` and the lane it is in: `pes`
    /// index row-major, `dsps` by row, then column group.
    fn block_of(&self, row: usize, col: usize) -> (usize, usize) {
        match self._per_dsp {
            0 => (row * self._cols + col, 0),
            per => (row * self.dsp_groups() + col / per, col % per),
        }
    }

    /// The wiring, as (destination, sources) signal names in rust-hdl's flattened
    /// naming (`pes$5$x_in`): the destination is the sum of its sources, 0 for
    /// none (in halves a column's output adds its two multiplexers'; every other
    /// destination has one source or none). Shared by `hdl` so that the Verilog
    /// and the list agree.
    fn wiring(&self) -> Vec<(String, Vec<String>)> {
        let (rows, cols) = (self._rows, self._cols);
        let mut v: Vec<(String, Vec<String>)> = Vec::new();
        let mut c = |d: String, s: &[&str]| v.push((d, s.iter().map(|s| s.to_string()).collect()));
        // The PE blocks: fabric PEs with ports w_in, w_out and acc_out, or DSP
        // slices of a row's neighbouring columns with a port of each per lane
        // (w_in0, w_in1, ..); either takes its row's x_in and fst.
        let (block, per, lanes) = if self._per_dsp > 0 {
            ("dsps", self._per_dsp, 2)
        } else {
            ("pes", 1, 1)
        };
        let lane_port = |port: &str, lane: usize| {
            if self._per_dsp == 0 {
                port.to_string()
            } else {
                format!("{port}{lane}")
            }
        };
        for col in 0..cols {
            c(format!("dec${col}$raw"), &[&format!("w_in${col}")]);
            c(format!("dec${col}$b_w"), &["b_w"]);
            c(format!("sel${col}$row"), &["row"]);
            if self._half > 0 {
                c(format!("dec_b${col}$raw"), &[&format!("w_in_b${col}")]);
                c(format!("dec_b${col}$b_w"), &["b_w"]);
                c(format!("sel_b${col}$row"), &["row"]);
            }
            for row in 0..rows {
                let (q, lane) = self.block_of(row, col);
                let src = format!("{block}${q}${}", lane_port("acc_out", lane));
                let (sel, input) = self.select_of(row);
                c(format!("{sel}${col}$acc${input}"), &[&src]);
            }
            let (upper, lower) = (format!("sel${col}$p"), format!("sel_b${col}$p"));
            if self._half > 0 {
                c(format!("acc_out${col}"), &[&upper, &lower]);
            } else {
                c(format!("acc_out${col}"), &[&upper]);
            }
        }
        for row in 0..rows {
            for (skew, input) in [("xskew", "x_in"), ("fskew", "fst")] {
                c(format!("{skew}${row}$clock"), &["clock"]);
                c(format!("{skew}${row}$en"), &["en"]);
                let d_in = if skew == "xskew" {
                    format!("x_in${row}")
                } else {
                    input.to_string()
                };
                c(format!("{skew}${row}$d_in"), &[&d_in]);
            }
        }
        let per_row = if self._per_dsp > 0 {
            self.dsp_groups()
        } else {
            cols
        };
        for row in 0..rows {
            for h in 0..per_row {
                let q = row * per_row + h;
                for port in ["clock", "en"] {
                    c(format!("{block}${q}${port}"), &[port]);
                }
                c(
                    format!("{block}${q}$x_in"),
                    &[&format!("xskew${row}$d_out")],
                );
                c(format!("{block}${q}$fst"), &[&format!("fskew${row}$d_out")]);
                for lane in 0..lanes {
                    let col = h * per + lane;
                    // A lane past the last column reads 0 (no source).
                    let w_src = if lane >= per || col >= cols {
                        None
                    } else if row == 0 {
                        Some(format!("dec${col}$w"))
                    } else if self.lower_first(row) {
                        Some(format!("dec_b${col}$w"))
                    } else {
                        Some(format!(
                            "{block}${}${}",
                            q - per_row,
                            lane_port("w_out", lane)
                        ))
                    };
                    let port = format!("{block}${q}${}", lane_port("w_in", lane));
                    match &w_src {
                        Some(src) => c(port, &[src]),
                        None => c(port, &[]),
                    }
                }
            }
        }
        v
    }
}

impl<const ACC: usize> Logic for Array<ACC> {
    fn update(&mut self) {
        let (rows, cols) = (self._rows, self._cols);
        let per = self._per_dsp;
        let half = self._half;
        for col in 0..cols {
            self.dec[col].raw.next = self.w_in[col].val();
            self.dec[col].b_w.next = self.b_w.val();
            self.sel[col].row.next = self.row.val();
            if half > 0 {
                self.dec_b[col].raw.next = self.w_in_b[col].val();
                self.dec_b[col].b_w.next = self.b_w.val();
                self.sel_b[col].row.next = self.row.val();
            }
            for row in 0..rows {
                let (q, lane) = self.block_of(row, col);
                let acc = if per == 0 {
                    self.pes[q].acc_out.val()
                } else if lane == 0 {
                    self.dsps[q].acc_out0.val()
                } else {
                    self.dsps[q].acc_out1.val()
                };
                match self.select_of(row) {
                    ("sel", input) => self.sel[col].acc[input].next = acc,
                    (_, input) => self.sel_b[col].acc[input].next = acc,
                }
            }
            self.acc_out[col].next = if half > 0 {
                self.sel[col].p.val() + self.sel_b[col].p.val()
            } else {
                self.sel[col].p.val()
            };
        }
        for row in 0..rows {
            self.xskew[row].clock.next = self.clock.val();
            self.xskew[row].en.next = self.en.val();
            self.xskew[row].d_in.next = self.x_in[row].val();
            self.fskew[row].clock.next = self.clock.val();
            self.fskew[row].en.next = self.en.val();
            self.fskew[row].d_in.next = self.fst.val();
        }
        let groups = self.dsp_groups();
        for row in 0..rows {
            for h in 0..groups {
                let q = row * groups + h;
                // As `wiring`: a lane past the block's lanes or the last column reads 0.
                let weight = |a: &Self, lane: usize| -> Bits<W_BITS> {
                    let col = h * per + lane;
                    if lane >= per || col >= cols {
                        Bits::default()
                    } else if row == 0 {
                        a.dec[col].w.val()
                    } else if a.lower_first(row) {
                        a.dec_b[col].w.val()
                    } else if lane == 0 {
                        a.dsps[q - groups].w_out0.val()
                    } else {
                        a.dsps[q - groups].w_out1.val()
                    }
                };
                let (w0, w1) = (weight(self, 0), weight(self, 1));
                self.dsps[q].clock.next = self.clock.val();
                self.dsps[q].en.next = self.en.val();
                self.dsps[q].fst.next = self.fskew[row].d_out.val();
                self.dsps[q].x_in.next = self.xskew[row].d_out.val();
                self.dsps[q].w_in0.next = w0;
                self.dsps[q].w_in1.next = w1;
            }
        }
        if per == 0 {
            for row in 0..rows {
                for col in 0..cols {
                    let p = row * cols + col;
                    self.pes[p].clock.next = self.clock.val();
                    self.pes[p].en.next = self.en.val();
                    self.pes[p].fst.next = self.fskew[row].d_out.val();
                    self.pes[p].w_in.next = if row == 0 {
                        self.dec[col].w.val()
                    } else if self.lower_first(row) {
                        self.dec_b[col].w.val()
                    } else {
                        self.pes[p - cols].w_out.val()
                    };
                    self.pes[p].x_in.next = self.xskew[row].d_out.val();
                }
            }
        }
    }

    // Marks every signal `update` drives (what `#[hdl_gen]` would generate).
    fn connect(&mut self) {
        for col in 0..self._cols {
            self.dec[col].raw.connect();
            self.dec[col].b_w.connect();
            self.sel[col].row.connect();
            for a in self.sel[col].acc.iter_mut() {
                a.connect();
            }
            self.acc_out[col].connect();
        }
        for (dec, sel) in self.dec_b.iter_mut().zip(self.sel_b.iter_mut()) {
            dec.raw.connect();
            dec.b_w.connect();
            sel.row.connect();
            for a in sel.acc.iter_mut() {
                a.connect();
            }
        }
        for skew in self.xskew.iter_mut().chain(self.fskew.iter_mut()) {
            skew.clock.connect();
            skew.en.connect();
            skew.d_in.connect();
        }
        for d in self.dsps.iter_mut() {
            d.clock.connect();
            d.en.connect();
            d.fst.connect();
            d.x_in.connect();
            d.w_in0.connect();
            d.w_in1.connect();
        }
        for pe in self.pes.iter_mut() {
            pe.clock.connect();
            pe.en.connect();
            pe.fst.connect();
            pe.w_in.connect();
            pe.x_in.connect();
        }
    }

    fn hdl(&self) -> Verilog {
        let stmts: VerilogBlock = self
            .wiring()
            .into_iter()
            .map(|(d, sources)| {
                // No source: 0; several: their sum.
                let rhs = sources
                    .into_iter()
                    .map(E::Signal)
                    .reduce(|a, b| E::Binary(Box::new(a), VerilogOp::Add, Box::new(b)))
                    .unwrap_or(E::Literal(VerilogLiteral::from(0_u32)));
                S::Assignment(E::Signal(d), rhs)
            })
            .collect();
        Verilog::Combinatorial(stmts)
    }
}

#[cfg(test)]
// Lane indices mirror the hardware's rows and columns.
#[allow(clippy::needless_range_loop)]
mod tests {
    use super::*;

    #[test]
    fn decoder_covers_every_width() {
        for b_w in 1..=8u64 {
            for raw in 0..(1u64 << b_w) {
                let mut uut = WeightDecoder::default();
                uut.connect_all();
                uut.raw.next = raw.into();
                uut.b_w.next = b_w.into();
                // Settle the combinational block (rust-hdl's fixed-point update).
                for _ in 0..4 {
                    uut.update_all();
                }
                let got = uut.w.val().to_u64() as u8 as i8;
                let want: i8 = if b_w == 1 {
                    if raw == 1 {
                        1
                    } else {
                        -1
                    }
                } else {
                    ((raw << (8 - b_w)) as u8 as i8) >> (8 - b_w)
                };
                assert_eq!(got, want, "b_w {b_w} raw {raw:#x}");
            }
        }
    }

    type Uut = Array<24>;

    /// A 3 x 3 array computes P[slice][col] = sum_k x[slice][k] * W[col][k] for two
    /// chunks back to back, with stalls: the second chunk's beats follow the first's
    /// at once, and each row of the first is read in the step whose first beat
    /// starts it afresh.
    #[test]
    fn array_matches_matrix_product_with_stalls() {
        plain_matrix_product_with_stalls(false);
    }

    /// The same with its PEs in DSP slices: a two-PE slice and a one-PE slice
    /// per row (24-bit accumulators, two SIMD lanes).
    #[test]
    fn dsp_array_matches_matrix_product_with_stalls() {
        plain_matrix_product_with_stalls(true);
    }

    /// The fan-in in halves: a 4 x 3 array of two 2-row halves takes K = 5
    /// inputs in 3 beats (the upper half inputs 0..3 from `w_in`, the lower
    /// 3..5 from `w_in_b`, then zero slice bits), two chunks back to back with
    /// a stall after every step, and row d reads the sum over all five inputs;
    /// with fabric and with DSP PEs.
    #[test]
    fn halves_array_matches_matrix_product_with_stalls() {
        let k = 5;
        // Weights of chunk ch, column c, input i; slice bits of chunk ch, slice
        // s, input i: fixed patterns with both signs and every input's bit set
        // somewhere in the first and last beats.
        let w = |ch: usize, c: usize, i: usize| -> i8 { ((ch * 7 + c * 5 + i * 3) % 15) as i8 - 7 };
        let x = move |ch: usize, s: usize, i: usize| -> bool {
            i == 0 || i == k - 1 || !(ch + s + i).is_multiple_of(3)
        };
        for dsp_pes in [false, true] {
            matrix_product_with_stalls(4, dsp_pes, true, k, w, x);
        }
    }

    fn plain_matrix_product_with_stalls(dsp_pes: bool) {
        // Two chunks' weights and slices. Every slice's last bit is set: a row read
        // one step early leaves it out; every first bit is set too: a row read one
        // step late has lost its sum.
        let w: [Vec<Vec<i8>>; 2] = [
            vec![
                vec![3, -4, 7, -8, 1],
                vec![-1, 2, -3, 5, 6],
                vec![4, 4, -7, 2, -1],
            ],
            vec![
                vec![-2, 6, 1, 3, -5],
                vec![7, -6, 5, -4, 3],
                vec![1, -1, 2, -2, 7],
            ],
        ];
        let x: [Vec<Vec<bool>>; 2] = [
            vec![
                vec![true, false, true, true, true],
                vec![true, true, true, false, true],
                vec![true, true, true, true, true],
            ],
            vec![
                vec![true, true, false, false, true],
                vec![true, false, false, true, true],
                vec![true, false, true, false, true],
            ],
        ];
        matrix_product_with_stalls(
            3,
            dsp_pes,
            false,
            5,
            move |ch, c, i| w[ch][c][i],
            move |ch, s, i| x[ch][s][i],
        );
    }

    /// Two chunks of `k` inputs through a `rows x 3` array, weights `w(chunk,
    /// column, input)` and slice bits `x(chunk, slice, input)`: a chunk's beats
    /// (in halves, input `b` to the upper rows and `ceil(k / 2) + b` to the
    /// lower), then one step per drained row (zero slice bits, and garbage
    /// weights, which they mask); every step is followed by a stall with
    /// garbage on the inputs, in which the row select settles. Each drained row
    /// must read its slice's sum over all `k` inputs.
    fn matrix_product_with_stalls(
        rows: usize,
        dsp_pes: bool,
        fanin_halves: bool,
        k: usize,
        w: impl Fn(usize, usize, usize) -> i8 + Send + std::panic::RefUnwindSafe + 'static,
        x: impl Fn(usize, usize, usize) -> bool + Send + std::panic::RefUnwindSafe + 'static,
    ) {
        let cols = 3;
        let (slices, beats, halves) = if fanin_halves {
            (rows / 2, k.div_ceil(2), 2)
        } else {
            (rows, k, 1)
        };
        let (mut sim, uut) = clocked_simulation!(Uut::new(rows, cols, dsp_pes, fanin_halves), Uut);
        sim.add_testbench(move |mut sim: Sim<Uut>| {
            let mut u = sim.init()?;
            u.b_w.next = 4.into();
            for step in 0..2 * beats + slices {
                let (chunk, b) = (step / beats, step % beats);
                for h in 0..halves {
                    let i = h * beats + b;
                    for col in 0..cols {
                        let code = if chunk < 2 && i < k {
                            (w(chunk, col, i) as u8 & 0xF) as u64
                        } else {
                            0xB
                        };
                        if h == 0 {
                            u.w_in[col].next = code.into();
                        } else {
                            u.w_in_b[col].next = code.into();
                        }
                    }
                    for s in 0..slices {
                        u.x_in[h * slices + s].next = chunk < 2 && i < k && x(chunk, s, i);
                    }
                }
                u.fst.next = chunk < 2 && b == 0;
                u.en.next = true;
                wait_clock_cycle!(sim, clock, u);
                u.en.next = false;
                u.fst.next = true;
                for s in 0..rows {
                    u.x_in[s].next = true;
                }
                // `beats + d` steps into a chunk, its row (pair) d is complete.
                let read = (step + 1)
                    .checked_sub(beats)
                    .map(|t| (t / beats, t % beats));
                let Some((chunk, d)) = read.filter(|&(_, d)| d < slices) else {
                    wait_clock_cycle!(sim, clock, u);
                    continue;
                };
                u.row.next = (d as u64).into();
                wait_clock_cycle!(sim, clock, u);
                for col in 0..cols {
                    let want: i64 = (0..k)
                        .filter(|&i| x(chunk, d, i))
                        .map(|i| w(chunk, col, i) as i64)
                        .sum();
                    let got = ((u.acc_out[col].val().to_u64() as i64) << 40) >> 40;
                    sim_assert_eq!(sim, got, want, u);
                }
            }
            sim.done(u)
        });
        sim.run(Box::new(uut), 10_000).unwrap();
    }
}
