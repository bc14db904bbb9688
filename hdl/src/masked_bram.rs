//! [`MaskedBram`]: a simple dual-port RAM of `W`-bit words whose write port takes a
//! mask, one enable per bit: the shell's output buffer, where the feeder writes a
//! whole word (a membrane, or zeros when the buffer is cleared) or one spike bit of
//! a word without a read-modify-write (docs/shell.md, "Buffers").
//!
//! The Verilog is the vendors' write-enable template (a loop over the enables in one
//! clocked block, as Vivado's byte-write-enable RAM, UG901 "RAM HDL Coding
//! Techniques"), at one enable per bit: Vivado and yosys both split such a memory
//! into one-bit-wide columns, so it maps to the block RAM that `W` separate one-bit
//! RAMs map to, while a compiled simulator reads one word a cycle instead of `W`.

use crate::buffer::{ram_declaration, ram_depth, BRAM_ADDR_BITS};
use rust_hdl::core::ast::Verilog;
use rust_hdl::prelude::*;

/// Simple dual-port RAM of `depth` words of `W` bits; `depth` is a power of two.
/// Read: `rdata` = `mem[raddr]` one clock after `raddr` (read-before-write when both
/// ports hit the same word in the same cycle). Write: bit `i` of `mem[waddr]`
/// becomes bit `i` of `wdata` where bit `i` of `wmask` is set.
#[derive(LogicBlock, Default)]
pub struct MaskedBram<const W: usize> {
    pub clock: Signal<In, Clock>,
    pub raddr: Signal<In, Bits<BRAM_ADDR_BITS>>,
    pub rdata: Signal<Out, Bits<W>>,
    pub waddr: Signal<In, Bits<BRAM_ADDR_BITS>>,
    pub wdata: Signal<In, Bits<W>>,
    pub wmask: Signal<In, Bits<W>>,
    _mem: Vec<Bits<W>>,
    _abits: usize,
}

impl<const W: usize> MaskedBram<W> {
    /// A RAM of `depth` words (rounded down to a power of two, at least 2).
    pub fn new(depth: usize) -> Self {
        let depth = ram_depth(depth);
        MaskedBram {
            _mem: vec![Bits::default(); depth],
            _abits: depth.trailing_zeros() as usize,
            ..Default::default()
        }
    }

    pub fn depth(&self) -> usize {
        self._mem.len()
    }
}

impl<const W: usize> Logic for MaskedBram<W> {
    fn update(&mut self) {
        if self.clock.pos_edge() {
            let mask = self._mem.len() - 1;
            self.rdata.next = self._mem[self.raddr.val().index() & mask];
            let at = self.waddr.val().index() & mask;
            let keep = self._mem[at] & !self.wmask.val();
            self._mem[at] = keep | (self.wdata.val() & self.wmask.val());
        }
    }

    fn connect(&mut self) {
        self.rdata.connect();
    }

    fn hdl(&self) -> Verilog {
        // Each bit is its own column of the memory (its own enable), so the
        // column's size decides the kind of RAM, as for a one-bit `Bram`.
        let declaration = ram_declaration(self._mem.len(), W, 1);
        Verilog::Custom(format!(
            "\
{declaration}integer i;

always @(posedge clock) begin
   rdata <= mem[raddr[{am}:0]];
   for (i = 0; i < {W}; i = i + 1) begin
      if (wmask[i]) begin
         mem[waddr[{am}:0]][i] <= wdata[i];
      end
   end
end
",
            am = self._abits - 1,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use spikeslice_core::random::{rng as seeded, Draw};

    #[test]
    fn masked_writes_change_only_the_masked_bits() {
        let mut uut = MaskedBram::<16>::new(100);
        assert_eq!(uut.depth(), 64);
        uut.connect_all();
        let mut sim = Simulation::new();
        sim.add_clock(5, |x: &mut Box<MaskedBram<16>>| {
            x.clock.next = !x.clock.val()
        });
        sim.add_testbench(move |mut sim: Sim<MaskedBram<16>>| {
            let mut x = sim.init()?;
            let mut rng = seeded(11);
            let mut model = vec![0u64; 64];
            for _ in 0..3000 {
                let (ra, wa) = (rng.below(80), rng.below(80));
                // Whole words, single bits and no write, as the shell writes.
                let wmask = match rng.below(3) {
                    0 => 0xffff,
                    1 => 1 << rng.below(16),
                    _ => rng.below(1 << 16),
                };
                let wd = rng.below(1 << 16);
                x.raddr.next = ra.into();
                x.waddr.next = wa.into();
                x.wdata.next = wd.into();
                x.wmask.next = wmask.into();
                wait_clock_false!(sim, clock, x);
                wait_clock_true!(sim, clock, x);
                // Read-before-write: the read sees the old word.
                let e = model[(ra % 64) as usize];
                let w = &mut model[(wa % 64) as usize];
                *w = (*w & !wmask) | (wd & wmask);
                sim_assert_eq!(sim, x.rdata.val().to_u64(), e, x);
            }
            sim.done(x)
        });
        sim.run(Box::new(uut), 1_000_000).unwrap();
    }

    #[test]
    fn the_verilog_loops_over_the_bit_enables() {
        let text = match MaskedBram::<64>::new(8192).hdl() {
            Verilog::Custom(t) => t,
            _ => unreachable!(),
        };
        assert!(text.starts_with("(* ram_style = \"block\" *)\nreg [63:0] mem[0:8191];"));
        assert!(text.contains("for (i = 0; i < 64; i = i + 1)"));
        assert!(text.contains("mem[waddr[12:0]][i] <= wdata[i];"));
    }
}
