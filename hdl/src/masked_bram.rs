//! [`MaskedBram`]: a simple dual-port RAM of `W`-bit words whose write port takes a
//! mask, one enable per lane of `lane` bits. At eight bits a lane it is a weight
//! bank, eight columns' codes a word, each field of a tile's load writing the
//! columns it carries (docs/shell.md, "Buffers").
//!
//! The Verilog is the vendors' write-enable template (a loop over the enables in one
//! clocked block, as Vivado's byte-write-enable RAM, UG901 "RAM HDL Coding
//! Techniques"). At eight bits a lane it maps to Ultra RAM's byte writes: a 8,192 x 64
//! weight bank is two URAM288 (yosys 0.23, `synth_xilinx -family xcup -uram`), where
//! eight 8,192 x 8 RAMs would take at least one each. (The output buffer, an enable
//! per bit and two ports, is [`crate::output_buffer::OutputBuffer`].)

use crate::buffer::{ram_declaration, ram_depth, BRAM_ADDR_BITS};
use rust_hdl::core::ast::Verilog;
use rust_hdl::prelude::*;

/// Simple dual-port RAM of `depth` words of `W` bits; `depth` is a power of two.
/// Read: `rdata` = `mem[raddr]` one clock after `raddr` (read-before-write when both
/// ports hit the same word in the same cycle). Write: lane `l` (bits `[l lane,
/// (l + 1) lane)`) of `mem[waddr]` becomes that lane of `wdata` where bit `l lane`
/// of `wmask`, the lane's first, is set (the other bits of `wmask` are not read).
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
    /// Bits a write enable covers, a divisor of `W`.
    _lane: usize,
    /// The bits of a word the design uses (the rest are never written or read):
    /// with the depth, they decide the kind of RAM.
    _used_bits: usize,
}

impl<const W: usize> MaskedBram<W> {
    /// A RAM of `depth` words with an enable per `lane` bits, of whose words
    /// the design uses the low `used_bits`.
    pub fn with_lanes(depth: usize, lane: usize, used_bits: usize) -> Self {
        assert!(
            lane >= 1 && W.is_multiple_of(lane),
            "{lane}-bit lanes do not divide {W} bits"
        );
        let depth = ram_depth(depth);
        MaskedBram {
            _mem: vec![Bits::default(); depth],
            _abits: depth.trailing_zeros() as usize,
            _lane: lane,
            _used_bits: used_bits.clamp(1, W),
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
            let enables = self.wmask.val();
            let mut lanes = enables;
            if self._lane > 1 {
                lanes = Bits::default();
                for l in (0..W).step_by(self._lane) {
                    if enables.get_bit(l) {
                        for i in l..l + self._lane {
                            lanes = lanes.replace_bit(i, true);
                        }
                    }
                }
            }
            let keep = self._mem[at] & !lanes;
            self._mem[at] = keep | (self.wdata.val() & lanes);
        }
    }

    fn connect(&mut self) {
        self.rdata.connect();
    }

    fn hdl(&self) -> Verilog {
        let am = self._abits - 1;
        let declaration = ram_declaration(self._mem.len(), W, self._used_bits, ["raddr", "waddr"]);
        let lane = self._lane;
        Verilog::Custom(format!(
            "\
{declaration}integer i;

always @(posedge clock) begin
   rdata <= mem[raddr[{am}:0]];
   for (i = 0; i < {lanes}; i = i + 1) begin
      if (wmask[i * {lane}]) begin
         mem[waddr[{am}:0]][i * {lane} +: {lane}] <= wdata[i * {lane} +: {lane}];
      end
   end
end
",
            lanes = W / lane,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use spikeslice_core::random::{rng as seeded, Draw};

    /// Random reads and masked writes against a model of the memory, with
    /// `lane`-bit write enables; the mask's other bits are random, and must
    /// not matter.
    fn masked_writes_change_only_the_enabled_lanes(lane: usize, seed: u64) {
        let mut uut = MaskedBram::<16>::with_lanes(100, lane, 16);
        assert_eq!(uut.depth(), 64);
        uut.connect_all();
        let mut sim = Simulation::new();
        sim.add_clock(5, |x: &mut Box<MaskedBram<16>>| {
            x.clock.next = !x.clock.val()
        });
        sim.add_testbench(move |mut sim: Sim<MaskedBram<16>>| {
            let mut x = sim.init()?;
            let mut rng = seeded(seed);
            let mut model = vec![0u64; 64];
            let lane_ones = (1u64 << lane) - 1;
            for _ in 0..3000 {
                let (ra, wa) = (rng.below(80), rng.below(80));
                // Whole words, single lanes and no write, as the shell writes.
                let wmask = match rng.below(3) {
                    0 => 0xffff,
                    1 => 1 << (lane as u64 * rng.below(16 / lane as u64)),
                    _ => rng.below(1 << 16),
                };
                let enabled: u64 = (0..16)
                    .step_by(lane)
                    .filter(|l| wmask >> l & 1 == 1)
                    .map(|l| lane_ones << l)
                    .sum();
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
                *w = (*w & !enabled) | (wd & enabled);
                sim_assert_eq!(sim, x.rdata.val().to_u64(), e, x);
            }
            sim.done(x)
        });
        sim.run(Box::new(uut), 1_000_000).unwrap();
    }

    #[test]
    fn masked_writes_change_only_the_masked_bits() {
        masked_writes_change_only_the_enabled_lanes(1, 11);
    }

    #[test]
    fn lane_writes_change_only_the_enabled_lanes() {
        masked_writes_change_only_the_enabled_lanes(4, 12);
        masked_writes_change_only_the_enabled_lanes(8, 13);
    }

    #[test]
    fn the_verilog_of_lanes_loops_over_the_lane_enables() {
        let text = match MaskedBram::<64>::with_lanes(8192, 8, 64).hdl() {
            Verilog::Custom(t) => t,
            _ => unreachable!(),
        };
        assert!(text.starts_with("(* ram_style = \"ultra\" *)\nreg [63:0] mem[0:8191];"));
        assert!(text.contains("for (i = 0; i < 8; i = i + 1)"));
        assert!(text.contains("if (wmask[i * 8]) begin"));
        assert!(text.contains("mem[waddr[12:0]][i * 8 +: 8] <= wdata[i * 8 +: 8];"));
        // One column's codes of a 1x1 array: the kind of RAM of 8 bits a word.
        let one = match MaskedBram::<64>::with_lanes(4096, 8, 8).hdl() {
            Verilog::Custom(t) => t,
            _ => unreachable!(),
        };
        assert!(one.starts_with("(* ram_style = \"block\" *)\nreg [63:0] mem[0:4095];"));
    }
}
