//! On-chip buffers of the accelerator shell (docs/shell.md, "Buffers"):
//!
//! - [`Bram`]: a simple dual-port RAM (one write port, one synchronous read port) whose
//!   **depth is a run-time generator parameter** (rust-hdl's `RAM<D, N>` takes the
//!   address width as a type, so a depth derived from `AcceleratorConfig` could not be
//!   used). The Verilog is the textbook block-RAM template (`reg [W-1:0] mem[...]`,
//!   registered read) with a `ram_style` attribute from [`ram_style`] (Vivado and
//!   yosys both honour it): Ultra RAM for the large buffers, block RAM for the
//!   others above 256 words, the tool's choice below.
//! - [`Unpack`]: the gearbox from DMA beats (64 or 128 bits) to a stream of fields of a
//!   run-time width `n` in 1..=64 bits, one field per cycle, little-endian bit order
//!   (bit `i` of the stream is bit `i % D` of beat `i / D`), optionally skipping the
//!   first `skip` bits of the first beat (reads that start inside a beat). The shell
//!   uses it with `n` = 32 (descriptor words, parameters), 64 (bit-plane words) and
//!   `b_w` (packed weight codes).

use rust_hdl::core::ast::Verilog;
use rust_hdl::prelude::*;

/// Address width of every [`Bram`] port (the high bits above the depth are ignored).
pub const BRAM_ADDR_BITS: usize = spikeslice_core::accel::buffers::BANK_ADDR_BITS;

pub use spikeslice_core::accel::buffers::pow2_floor;

/// Memories of at least this many bits are Ultra RAM (an URAM288 holds 288 Kb,
/// and the xck26 has 64 of them against 144 RAMB36: below 128 Kb, four RAMB36
/// or fewer, block RAM wastes less of the scarcer URAMs).
pub const URAM_MIN_BITS: usize = 128 * 1024;
/// Columns whose 8-bit weight codes share a weight bank's 64-bit word, each
/// column a lane of its own write enable (`MaskedBram::with_lanes`): one wide
/// RAM maps to Ultra RAM's byte writes where one RAM a column would take at
/// least a URAM288 or a RAMB36 of its own (docs/shell.md, "Buffers").
pub const WEIGHT_BANK_COLUMNS: usize = 8;
/// Memories deeper than this are block RAM (or Ultra RAM) whatever their width.
pub const LUTRAM_MAX_DEPTH: usize = 256;

/// The `ram_style` of a `depth` x `width` [`Bram`]: `ultra` from
/// [`URAM_MIN_BITS`], `block` above [`LUTRAM_MAX_DEPTH`] words, none (the tool
/// decides) for small memories. yosys 0.23 needs it: left to choose, it maps the
/// output buffer's one-bit columns (`OutputBuffer`) to LUT RAM and fails ("invalid OPTION_ABITS/WIDTH
/// combination") at the default configuration's 8192 words.
pub fn ram_style(depth: usize, width: usize) -> Option<&'static str> {
    if depth * width >= URAM_MIN_BITS {
        Some("ultra")
    } else if depth > LUTRAM_MAX_DEPTH {
        Some("block")
    } else {
        None
    }
}

/// The depth of a RAM asked for `depth` words: rounded down to a power of two
/// (at least 2), at most the address ports' reach.
pub fn ram_depth(depth: usize) -> usize {
    pow2_floor(depth).min(1 << BRAM_ADDR_BITS)
}

/// The Verilog a RAM of `depth` x `width` bits declares before its clocked block:
/// the `ram_style` of a `depth` x `style_width` memory ([`ram_style`]), the
/// memory, and the bits of its two address ports `addrs` above the depth, which
/// are not decoded.
pub fn ram_declaration(depth: usize, width: usize, style_width: usize, addrs: [&str; 2]) -> String {
    let style = ram_style(depth, style_width)
        .map(|s| format!("(* ram_style = \"{s}\" *)\n"))
        .unwrap_or_default();
    let (ah, a) = (BRAM_ADDR_BITS - 1, depth.trailing_zeros());
    format!(
        "\
{style}reg [{w}:0] mem[0:{last}];
// Address bits above the depth are not decoded.
wire unused_addr_hi = &{{1'b0, {p}[{ah}:{a}], {q}[{ah}:{a}]}};
",
        p = addrs[0],
        q = addrs[1],
        w = width - 1,
        last = depth - 1,
    )
}

/// Simple dual-port RAM of `depth` words of type `T` (`Bits<W>` or `Bit`); `depth` is a power of two.
/// Read: `rdata` = `mem[raddr]` one clock after `raddr` (read-before-write when both
/// ports hit the same word in the same cycle). Write: `mem[waddr] = wdata` when `we`.
#[derive(LogicBlock, Default)]
pub struct Bram<T: Synth> {
    pub clock: Signal<In, Clock>,
    pub raddr: Signal<In, Bits<BRAM_ADDR_BITS>>,
    pub rdata: Signal<Out, T>,
    pub waddr: Signal<In, Bits<BRAM_ADDR_BITS>>,
    pub wdata: Signal<In, T>,
    pub we: Signal<In, Bit>,
    _mem: Vec<T>,
    _abits: usize,
}

impl<T: Synth> Bram<T> {
    /// A RAM of `depth` words (rounded down to a power of two, at least 2).
    pub fn new(depth: usize) -> Self {
        let depth = ram_depth(depth);
        Bram {
            _mem: vec![T::default(); depth],
            _abits: depth.trailing_zeros() as usize,
            ..Default::default()
        }
    }

    pub fn depth(&self) -> usize {
        self._mem.len()
    }
}

impl<T: Synth> Logic for Bram<T> {
    fn update(&mut self) {
        if self.clock.pos_edge() {
            let mask = self._mem.len() - 1;
            self.rdata.next = self._mem[self.raddr.val().index() & mask];
            if self.we.val() {
                self._mem[self.waddr.val().index() & mask] = self.wdata.val();
            }
        }
    }

    fn connect(&mut self) {
        self.rdata.connect();
    }

    fn hdl(&self) -> Verilog {
        let declaration = ram_declaration(self._mem.len(), T::BITS, T::BITS, ["raddr", "waddr"]);
        Verilog::Custom(format!(
            "\
{declaration}
always @(posedge clock) begin
   rdata <= mem[raddr[{am}:0]];
   if (we) begin
      mem[waddr[{am}:0]] <= wdata;
   end
end
",
            am = self._abits - 1,
        ))
    }
}

/// Beats of `D` bits in, fields of `n` bits out (one per cycle). `W2` = 2 * `D` is the
/// width of the holding window (stable Rust has no `2 * D` in a type).
///
/// `clear` empties the window and arms the skip (the first beat accepted afterwards
/// loses its `skip` low bits). `drain` accepts and discards beats (used to finish a DMA
/// command whose tail is not needed). `n` and `skip` must be stable while fields flow.
#[derive(LogicBlock)]
pub struct Unpack<const D: usize, const W2: usize> {
    pub clock: Signal<In, Clock>,
    pub clear: Signal<In, Bit>,
    pub drain: Signal<In, Bit>,
    /// Field width, 1..=64.
    pub n: Signal<In, Bits<7>>,
    /// Bits to drop from the first beat after `clear` (< D).
    pub skip: Signal<In, Bits<8>>,
    pub in_valid: Signal<In, Bit>,
    pub in_ready: Signal<Out, Bit>,
    pub in_data: Signal<In, Bits<D>>,
    pub out_valid: Signal<Out, Bit>,
    pub out_ready: Signal<In, Bit>,
    /// The field in the low `n` bits, zero above.
    pub out_data: Signal<Out, Bits<64>>,
    win: DFF<Bits<W2>>,
    cnt: DFF<Bits<9>>,
    first: DFF<Bit>,
    take: Signal<Local, Bit>,
    c1: Signal<Local, Bits<9>>,
    w1: Signal<Local, Bits<W2>>,
    beat: Signal<Local, Bits<W2>>,
    mask: Signal<Local, Bits<64>>,
    dbits: Constant<Bits<9>>,
}

impl<const D: usize, const W2: usize> Unpack<D, W2> {
    pub fn new() -> Self {
        assert_eq!(W2, 2 * D, "Unpack window must be twice the beat");
        Unpack {
            clock: Default::default(),
            clear: Default::default(),
            drain: Default::default(),
            n: Default::default(),
            skip: Default::default(),
            in_valid: Default::default(),
            in_ready: Default::default(),
            in_data: Default::default(),
            out_valid: Default::default(),
            out_ready: Default::default(),
            out_data: Default::default(),
            win: Default::default(),
            cnt: Default::default(),
            first: Default::default(),
            take: Default::default(),
            c1: Default::default(),
            w1: Default::default(),
            beat: Default::default(),
            mask: Default::default(),
            dbits: Constant::new((D as u64).into()),
        }
    }
}

impl<const D: usize, const W2: usize> Default for Unpack<D, W2> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const D: usize, const W2: usize> Logic for Unpack<D, W2> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, win, cnt, first);
        self.mask.next = (bits::<64>(1) << self.n.val()) - 1;
        if self.n.val() == 64 {
            self.mask.next = 0xFFFF_FFFF_FFFF_FFFF_u64.into();
        }
        self.out_valid.next = self.cnt.q.val() >= bit_cast::<9, 7>(self.n.val());
        self.out_data.next = bit_cast::<64, W2>(self.win.q.val()) & self.mask.val();
        self.take.next = self.out_valid.val() & self.out_ready.val();
        self.c1.next = self.cnt.q.val();
        self.w1.next = self.win.q.val();
        if self.take.val() {
            self.c1.next = self.cnt.q.val() - bit_cast::<9, 7>(self.n.val());
            self.w1.next = self.win.q.val() >> self.n.val();
        }
        self.in_ready.next = self.drain.val() | (self.c1.val() < self.dbits.val());
        self.beat.next = bit_cast::<W2, D>(self.in_data.val());
        if self.first.q.val() {
            self.beat.next = bit_cast::<W2, D>(self.in_data.val()) >> self.skip.val();
        }
        self.win.d.next = self.w1.val();
        self.cnt.d.next = self.c1.val();
        if self.in_valid.val() & self.in_ready.val() & !self.drain.val() {
            self.win.d.next = self.w1.val() | (self.beat.val() << self.c1.val());
            self.cnt.d.next = self.c1.val() + self.dbits.val();
            if self.first.q.val() {
                self.cnt.d.next =
                    self.c1.val() + self.dbits.val() - bit_cast::<9, 8>(self.skip.val());
            }
            self.first.d.next = false;
        }
        if self.clear.val() {
            self.win.d.next = 0.into();
            self.cnt.d.next = 0.into();
            self.first.d.next = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use spikeslice_core::random::{rng as seeded, Draw};

    #[test]
    fn ram_style_by_size() {
        assert_eq!(ram_style(32768, 8), Some("ultra"));
        assert_eq!(ram_style(2048, 64), Some("ultra"));
        assert_eq!(ram_style(1024, 64), Some("block"));
        assert_eq!(ram_style(8192, 8), Some("block"));
        assert_eq!(ram_style(16384, 8), Some("ultra"));
        assert_eq!(ram_style(8192, 1), Some("block"));
        assert_eq!(ram_style(4096, 8), Some("block"));
        assert_eq!(ram_style(256, 1), None);
        assert_eq!(ram_style(512, 8), Some("block"));
        assert_eq!(ram_style(256, 64), None);
        let v = |depth| match Bram::<Bits<8>>::new(depth).hdl() {
            Verilog::Custom(t) => t,
            _ => unreachable!(),
        };
        assert!(v(32768).starts_with("(* ram_style = \"ultra\" *)\nreg [7:0] mem[0:32767];"));
        assert!(v(64).starts_with("reg [7:0] mem[0:63];"));
    }

    #[test]
    fn bram_reads_what_was_written_one_cycle_later() {
        let mut uut = Bram::<Bits<16>>::new(100);
        assert_eq!(uut.depth(), 64);
        uut.connect_all();
        let mut sim = Simulation::new();
        sim.add_clock(5, |x: &mut Box<Bram<Bits<16>>>| {
            x.clock.next = !x.clock.val()
        });
        sim.add_testbench(move |mut sim: Sim<Bram<Bits<16>>>| {
            let mut x = sim.init()?;
            let mut rng = seeded(7);
            let mut model = vec![0u64; 64];
            for _ in 0..2000 {
                let (ra, wa) = (rng.below(80), rng.below(80));
                let we = rng.below(2) == 1;
                let wd = rng.below(1 << 16);
                x.raddr.next = ra.into();
                x.waddr.next = wa.into();
                x.wdata.next = wd.into();
                x.we.next = we;
                wait_clock_false!(sim, clock, x);
                wait_clock_true!(sim, clock, x);
                // Read-before-write: the read sees the old word.
                let e = model[(ra % 64) as usize];
                if we {
                    model[(wa % 64) as usize] = wd;
                }
                sim_assert_eq!(sim, x.rdata.val().to_u64(), e, x);
            }
            sim.done(x)
        });
        sim.run(Box::new(uut), 1_000_000).unwrap();
    }

    /// Random field widths, skips, beat gaps and consumer stalls against a bit-level
    /// model of the stream.
    fn unpack_bench<const D: usize, const W2: usize>(seed: u64) {
        let mut uut = Unpack::<D, W2>::new();
        uut.connect_all();
        let mut sim = Simulation::new();
        sim.add_clock(5, |x: &mut Box<Unpack<D, W2>>| {
            x.clock.next = !x.clock.val()
        });
        sim.add_testbench(move |mut sim: Sim<Unpack<D, W2>>| {
            let mut x = sim.init()?;
            let mut rng = seeded(seed);
            for _ in 0..40 {
                let n = [1u64, 2, 3, 5, 7, 8, 32, 64][rng.below(8) as usize];
                let skip = rng.below(D as u64 / 8) * 8;
                let beats = 1 + rng.below(6) as usize;
                let data: Vec<Vec<u64>> = (0..beats)
                    .map(|_| (0..D / 64).map(|_| rng.next()).collect())
                    .collect();
                let bit = |i: u64| {
                    (data[(i / D as u64) as usize][((i % D as u64) / 64) as usize] >> (i % 64)) & 1
                };
                let total = beats as u64 * D as u64 - skip;
                let fields = total / n;
                x.clear.next = true;
                x.n.next = n.into();
                x.skip.next = skip.into();
                x.in_valid.next = false;
                x.out_ready.next = false;
                wait_clock_false!(sim, clock, x);
                wait_clock_true!(sim, clock, x);
                x.clear.next = false;
                let (mut sent, mut got) = (0usize, 0u64);
                let mut guard = 0;
                while got < fields {
                    guard += 1;
                    sim_assert!(sim, guard < 10_000, x);
                    let v = sent < beats && rng.below(4) != 0;
                    x.in_valid.next = v;
                    if v {
                        let mut b = Bits::<D>::default();
                        for (i, w) in data[sent].iter().enumerate() {
                            b.set_bits::<64>(i * 64, (*w).into());
                        }
                        x.in_data.next = b;
                    }
                    x.out_ready.next = rng.below(3) != 0;
                    wait_clock_false!(sim, clock, x);
                    if x.out_valid.val() && x.out_ready.val() {
                        let mut want = 0u64;
                        for b in 0..n {
                            want |= bit(skip + got * n + b) << b;
                        }
                        sim_assert_eq!(sim, x.out_data.val().to_u64(), want, x);
                        got += 1;
                    }
                    if x.in_valid.val() && x.in_ready.val() {
                        sent += 1;
                    }
                    wait_clock_true!(sim, clock, x);
                }
            }
            sim.done(x)
        });
        sim.run(Box::new(uut), 10_000_000).unwrap();
    }

    #[test]
    fn unpack_fields_64() {
        unpack_bench::<64, 128>(3);
    }

    #[test]
    fn unpack_fields_128() {
        unpack_bench::<128, 256>(11);
    }
}
