//! [`OutputBuffer`]: the shell's output buffer, a true dual-port RAM of 64-bit
//! words with a write enable per bit (docs/shell.md, "Buffers").
//!
//! Port A reads a word (the write-back) and writes a whole word (a membrane,
//! zeros when the buffer is cleared) or spike bits; port B writes spike bits. A
//! spike bit is written without a read-modify-write, and two a cycle, one a
//! port: bit `j` of two columns, whose neurons are `P` apart (one word or
//! two), so the spike queue writes a beat of `C` columns of `b_s` bits in
//! `ceil(C / 2) b_s` cycles (docs/controller.md, "The spike queue").
//!
//! The Verilog is the vendors' true-dual-port template with a write enable per
//! bit (a loop over the enables in each port's clocked block, UG901 "RAM HDL
//! Coding Techniques"). Vivado and yosys split such a memory into one-bit-wide
//! columns, each a block RAM in its two-port mode, so the second port costs no
//! RAM: yosys 0.23 maps both forms to the same RAMs (64 RAMB18E2 at the
//! default's 8,192 words, 64 RAMB36E2 at the kv260 preset's 32,768). Each
//! port's loop is behind a test of any enable (`if (|wmask)`), which changes
//! no write and lets a compiled simulator skip the loop in the many cycles
//! that write nothing (docs/simulation-speed.md, "Simulated images per second").
//! The two ports may write one word in a cycle, never one bit (the feeder
//! writes two neurons), so which port wins a bit is not defined.

use crate::buffer::{ram_declaration, ram_depth, BRAM_ADDR_BITS};
use rust_hdl::core::ast::Verilog;
use rust_hdl::prelude::*;
use spikeslice_core::accel::cycles::SPIKE_WRITE_PORTS;

// The feeder writes bit j of two columns in one cycle, one a port.
const _: () = assert!(SPIKE_WRITE_PORTS == 2);

/// Word width of the output buffer (one DMA beat of the write-back).
pub const OUT_WORD_BITS: usize = 64;

/// `depth` words of 64 bits, `depth` a power of two. Port A: `rdata` =
/// `mem[addr]` one clock after `addr` (read-before-write), and bit `i` of
/// `mem[addr]` becomes bit `i` of `wdata` where bit `i` of `wmask` is set.
/// Port B: bit `i` of `mem[addr_b]` becomes bit `i` of `wdata_b` where bit `i`
/// of `wmask_b` is set.
#[derive(LogicBlock, Default)]
pub struct OutputBuffer {
    pub clock: Signal<In, Clock>,
    pub addr: Signal<In, Bits<BRAM_ADDR_BITS>>,
    pub rdata: Signal<Out, Bits<OUT_WORD_BITS>>,
    pub wdata: Signal<In, Bits<OUT_WORD_BITS>>,
    pub wmask: Signal<In, Bits<OUT_WORD_BITS>>,
    pub addr_b: Signal<In, Bits<BRAM_ADDR_BITS>>,
    pub wdata_b: Signal<In, Bits<OUT_WORD_BITS>>,
    pub wmask_b: Signal<In, Bits<OUT_WORD_BITS>>,
    _mem: Vec<Bits<OUT_WORD_BITS>>,
    _abits: usize,
}

impl OutputBuffer {
    /// A buffer of `depth` words, rounded down to a power of two (at least 2).
    pub fn new(depth: usize) -> Self {
        let depth = ram_depth(depth);
        OutputBuffer {
            _mem: vec![Bits::default(); depth],
            _abits: depth.trailing_zeros() as usize,
            ..Default::default()
        }
    }

    pub fn depth(&self) -> usize {
        self._mem.len()
    }
}

impl Logic for OutputBuffer {
    fn update(&mut self) {
        if self.clock.pos_edge() {
            let mask = self._mem.len() - 1;
            let a = self.addr.val().index() & mask;
            self.rdata.next = self._mem[a];
            for (at, data, enables) in [
                (a, self.wdata.val(), self.wmask.val()),
                (
                    self.addr_b.val().index() & mask,
                    self.wdata_b.val(),
                    self.wmask_b.val(),
                ),
            ] {
                self._mem[at] = (self._mem[at] & !enables) | (data & enables);
            }
        }
    }

    fn connect(&mut self) {
        self.rdata.connect();
    }

    fn hdl(&self) -> Verilog {
        let am = self._abits - 1;
        // Each bit is its own column of the memory (its own enables), so the
        // column's size decides the kind of RAM, as for a one-bit `Bram`.
        let declaration = ram_declaration(self._mem.len(), OUT_WORD_BITS, 1, ["addr", "addr_b"]);
        // A port's masked write, the loop behind a test of any enable.
        let writes = |addr: &str, wdata: &str, wmask: &str, i: &str| {
            format!(
                "   if (|{wmask}) begin
      for ({i} = 0; {i} < {OUT_WORD_BITS}; {i} = {i} + 1) begin
         if ({wmask}[{i}]) begin
            mem[{addr}[{am}:0]][{i}] <= {wdata}[{i}];
         end
      end
   end
"
            )
        };
        let port_a = writes("addr", "wdata", "wmask", "i");
        let port_b = writes("addr_b", "wdata_b", "wmask_b", "j");
        Verilog::Custom(format!(
            "\
{declaration}integer i;
integer j;

always @(posedge clock) begin
   rdata <= mem[addr[{am}:0]];
{port_a}end

always @(posedge clock) begin
{port_b}end
"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use spikeslice_core::random::{rng as seeded, Draw};

    /// Random reads, word writes and bit writes on both ports against a model
    /// of the memory; the two ports' masks never share a bit (as the feeder
    /// writes them), and their data's other bits must not matter.
    #[test]
    fn both_ports_change_only_their_masked_bits() {
        let mut uut = OutputBuffer::new(100);
        assert_eq!(uut.depth(), 64);
        uut.connect_all();
        let mut sim = Simulation::new();
        sim.add_clock(5, |x: &mut Box<OutputBuffer>| x.clock.next = !x.clock.val());
        sim.add_testbench(move |mut sim: Sim<OutputBuffer>| {
            let mut x = sim.init()?;
            let mut rng = seeded(21);
            let mut model = vec![0u64; 64];
            for _ in 0..3000 {
                let (a, b) = (rng.below(80), rng.below(80));
                let ma = match rng.below(4) {
                    0 => u64::MAX,
                    1 => 1 << rng.below(64),
                    2 => 0,
                    _ => Draw::next(&mut rng),
                };
                let mb = match rng.below(3) {
                    0 => 1 << rng.below(64),
                    1 => 0,
                    _ => Draw::next(&mut rng),
                } & !ma;
                let (da, db) = (Draw::next(&mut rng), Draw::next(&mut rng));
                x.addr.next = a.into();
                x.wdata.next = da.into();
                x.wmask.next = ma.into();
                x.addr_b.next = b.into();
                x.wdata_b.next = db.into();
                x.wmask_b.next = mb.into();
                wait_clock_false!(sim, clock, x);
                wait_clock_true!(sim, clock, x);
                // Read-before-write: the read sees the old word.
                let e = model[(a % 64) as usize];
                for (at, d, m) in [(a, da, ma), (b, db, mb)] {
                    let w = &mut model[(at % 64) as usize];
                    *w = (*w & !m) | (d & m);
                }
                sim_assert_eq!(sim, x.rdata.val().to_u64(), e, x);
            }
            sim.done(x)
        });
        sim.run(Box::new(uut), 1_000_000).unwrap();
    }

    #[test]
    fn the_verilog_loops_over_each_ports_bit_enables() {
        let text = match OutputBuffer::new(8192).hdl() {
            Verilog::Custom(t) => t,
            _ => unreachable!(),
        };
        assert!(text.starts_with("(* ram_style = \"block\" *)\nreg [63:0] mem[0:8191];"));
        assert!(text.contains("rdata <= mem[addr[12:0]];"));
        assert!(text.contains("mem[addr[12:0]][i] <= wdata[i];"));
        assert!(text.contains("mem[addr_b[12:0]][j] <= wdata_b[j];"));
    }
}
