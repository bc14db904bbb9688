//! The write-back of a layer: the output buffer's words `[0, words)`, packed
//! into DMA beats (`D / 64` words a beat, word 0 in the low bits), written to
//! the layer's output region with one DMA write command of `8 words` bytes
//! (the DMA splits it into bursts at 4 KiB boundaries and strobes off the tail).
//!
//! The controller's FSM keeps the three states (OutCmd, OutWr, OutWait) and
//! tells the block which one it is in: `issue` (OutCmd, nothing running: the
//! command is offered until `accepted`), `writing` (OutWr: words are read from
//! the buffer at `read_addr`, one a cycle, into the beat being assembled; a
//! full beat goes to the DMA's beat register, or waits in the assembly while
//! that register holds a beat the DMA has not taken, and reading stops only
//! while a beat waits there: with the DMA taking a beat every cycle, the words
//! leave at one a cycle; `sent` when the last beat has gone or the DMA
//! reported an error). The DMA's
//! completion is latched from the command on (`completed`, `err_code`,
//! `err_offset`), so OutWait only looks at it.
//!
//! Outside OutWr the block offers zero beats: a write command that a soft reset
//! interrupted drains instead of blocking the next run's write-back.
//!
//! A **strided** output (descriptor `out_stride != 0`, not a readout) is
//! written one plane per command (docs/formats.md, "Strided outputs"): plane
//! `(t, j)`, the buffer's words `[i W, (i + 1) W)` for `i = t b_s + j` and `W`
//! words a plane, goes to `output + 8 (t out_step_planes + j) out_stride`.
//! The block walks the planes: `restart` (TileEnd, before the first command)
//! goes back to plane 0, `advance` (OutWait, a plane written without error)
//! moves to the next one, and `more` says whether one follows. The addresses
//! are sums, with no multiplier: `8 out_stride` per plane, and per timestep
//! `8 out_step_planes out_stride` from four shifted copies of the stride.

use crate::dma::WriteClient;
use rust_hdl::prelude::*;

/// `D`: DMA beat bits (64 or 128).
#[derive(LogicBlock)]
pub struct WriteBack<const D: usize> {
    pub clock: Signal<In, Clock>,
    /// Offer the write command (OutCmd with no tile running).
    pub issue: Signal<In, Bit>,
    /// Send the beats (OutWr).
    pub writing: Signal<In, Bit>,
    /// The output region's window offset and its size in 64-bit words.
    pub offset: Signal<In, Bits<32>>,
    pub words: Signal<In, Bits<64>>,
    /// Write one plane per command: the stride between planes in 64-bit
    /// words, the destination planes per timestep, `b_s` and a plane's words.
    pub strided: Signal<In, Bit>,
    pub stride: Signal<In, Bits<24>>,
    pub step_planes: Signal<In, Bits<4>>,
    pub spike_bits: Signal<In, Bits<4>>,
    pub plane_words: Signal<In, Bits<32>>,
    /// Back to the first plane (TileEnd); on to the next plane (OutWait).
    pub restart: Signal<In, Bit>,
    pub advance: Signal<In, Bit>,
    /// A strided output has a plane after this one.
    pub more: Signal<Out, Bit>,
    /// The output buffer's word at the `read_addr` of the previous cycle.
    pub word: Signal<In, Bits<64>>,
    pub read_addr: Signal<Out, Bits<32>>,
    /// The DMA took the command.
    pub accepted: Signal<Out, Bit>,
    /// Every beat is sent, or the DMA has failed the command: to OutWait.
    pub sent: Signal<Out, Bit>,
    /// The DMA's completion of the command, and its result (0 = no error).
    pub completed: Signal<Out, Bit>,
    pub err_code: Signal<Out, Bits<8>>,
    pub err_offset: Signal<Out, Bits<32>>,
    pub dma: WriteClient<D>,
    /// The next word to read, and whether a word was read in the last cycle.
    next_word: DFF<Bits<32>>,
    word_read: DFF<Bit>,
    /// The beat offered to the DMA, and whether it holds one.
    out_beat: DFF<Bits<D>>,
    out_full: DFF<Bit>,
    /// The beat being assembled, its words, and whether it is full and waits
    /// for the DMA's register.
    beat: DFF<Bits<D>>,
    beat_words: DFF<Bits<2>>,
    beat_held: DFF<Bit>,
    done_seen: DFF<Bit>,
    code: DFF<Bits<8>>,
    code_offset: DFF<Bits<32>>,
    /// This cycle: the DMA takes the offered beat; the register is free for
    /// another; the assembly with the word read in the last cycle; the
    /// register and the assembly hold a beat in the next cycle.
    take: Signal<Local, Bit>,
    out_free: Signal<Local, Bit>,
    assembled: Signal<Local, Bits<D>>,
    out_next: Signal<Local, Bit>,
    held_next: Signal<Local, Bit>,
    last_word_of_beat: Constant<Bits<2>>,
    /// The plane being written: its first buffer word, its window offset,
    /// the offset of its timestep's plane 0, and `j`.
    plane_first: DFF<Bits<64>>,
    plane_offset: DFF<Bits<32>>,
    step_offset: DFF<Bits<32>>,
    plane_bit: DFF<Bits<4>>,
    /// The command's first and end buffer words, and the end registered when the
    /// command is offered: the words are read against the register, so the sum
    /// that makes the end is not on the read's path.
    cmd_first: Signal<Local, Bits<64>>,
    cmd_end: Signal<Local, Bits<64>>,
    end_word: DFF<Bits<32>>,
    /// `8 out_stride`, and `8 out_step_planes out_stride` as its sum and
    /// registered: the descriptor's fields are stable from its decode on, long
    /// before the write-back's first step, and the sums of shifted strides are
    /// not on the step's path (docs/resources.md, "Whole shell").
    plane_bytes: Signal<Local, Bits<32>>,
    step_sum: Signal<Local, Bits<32>>,
    step_bytes: DFF<Bits<32>>,
}

impl<const D: usize> Default for WriteBack<D> {
    fn default() -> Self {
        assert!(D == 64 || D == 128, "beat width");
        Self {
            clock: Default::default(),
            issue: Default::default(),
            writing: Default::default(),
            offset: Default::default(),
            words: Default::default(),
            word: Default::default(),
            read_addr: Default::default(),
            accepted: Default::default(),
            sent: Default::default(),
            completed: Default::default(),
            err_code: Default::default(),
            err_offset: Default::default(),
            dma: Default::default(),
            next_word: Default::default(),
            word_read: Default::default(),
            out_beat: Default::default(),
            out_full: Default::default(),
            beat: Default::default(),
            beat_words: Default::default(),
            beat_held: Default::default(),
            done_seen: Default::default(),
            code: Default::default(),
            code_offset: Default::default(),
            take: Default::default(),
            out_free: Default::default(),
            assembled: Default::default(),
            out_next: Default::default(),
            held_next: Default::default(),
            last_word_of_beat: Constant::new(((D / 64) as u64 - 1).into()),
            strided: Default::default(),
            stride: Default::default(),
            step_planes: Default::default(),
            spike_bits: Default::default(),
            plane_words: Default::default(),
            restart: Default::default(),
            advance: Default::default(),
            more: Default::default(),
            plane_first: Default::default(),
            plane_offset: Default::default(),
            step_offset: Default::default(),
            plane_bit: Default::default(),
            end_word: Default::default(),
            cmd_first: Default::default(),
            cmd_end: Default::default(),
            plane_bytes: Default::default(),
            step_sum: Default::default(),
            step_bytes: Default::default(),
        }
    }
}

impl<const D: usize> Logic for WriteBack<D> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self,
            clock,
            next_word,
            word_read,
            out_beat,
            out_full,
            beat,
            beat_words,
            beat_held,
            done_seen,
            code,
            code_offset,
            plane_first,
            plane_offset,
            step_offset,
            plane_bit,
            end_word,
            step_bytes
        );
        // The plane walk of a strided output.
        self.plane_bytes.next = bit_cast::<32, 24>(self.stride.val()) << 3;
        self.step_sum.next = 0.into();
        if self.step_planes.val().get_bit(0) {
            self.step_sum.next = self.plane_bytes.val();
        }
        if self.step_planes.val().get_bit(1) {
            self.step_sum.next = self.step_sum.val() + (self.plane_bytes.val() << 1);
        }
        if self.step_planes.val().get_bit(2) {
            self.step_sum.next = self.step_sum.val() + (self.plane_bytes.val() << 2);
        }
        if self.step_planes.val().get_bit(3) {
            self.step_sum.next = self.step_sum.val() + (self.plane_bytes.val() << 3);
        }
        self.step_bytes.d.next = self.step_sum.val();
        self.cmd_first.next = 0.into();
        self.cmd_end.next = self.words.val();
        if self.strided.val() {
            self.cmd_first.next = self.plane_first.q.val();
            self.cmd_end.next =
                self.plane_first.q.val() + bit_cast::<64, 32>(self.plane_words.val());
        }
        // `more` is read in OutWait, after the command: its end is registered.
        self.more.next =
            self.strided.val() & (bit_cast::<64, 32>(self.end_word.q.val()) < self.words.val());
        if self.restart.val() {
            self.plane_first.d.next = 0.into();
            self.plane_offset.d.next = self.offset.val();
            self.step_offset.d.next = self.offset.val();
            self.plane_bit.d.next = 0.into();
        }
        if self.advance.val() {
            self.plane_first.d.next = bit_cast::<64, 32>(self.end_word.q.val());
            if self.plane_bit.q.val() + 1 == self.spike_bits.val() {
                self.plane_bit.d.next = 0.into();
                self.step_offset.d.next = self.step_offset.q.val() + self.step_bytes.q.val();
                self.plane_offset.d.next = self.step_offset.q.val() + self.step_bytes.q.val();
            } else {
                self.plane_bit.d.next = self.plane_bit.q.val() + 1;
                self.plane_offset.d.next = self.plane_offset.q.val() + self.plane_bytes.val();
            }
        }
        if self.dma.done.val() {
            self.done_seen.d.next = true;
            self.code.d.next = self.dma.err.val();
            self.code_offset.d.next = self.dma.err_offset.val();
        }
        self.completed.next = self.done_seen.q.val();
        self.err_code.next = self.code.q.val();
        self.err_offset.next = self.code_offset.q.val();
        self.dma.cmd_valid.next = self.issue.val();
        self.dma.cmd_offset.next = self.offset.val();
        if self.strided.val() {
            self.dma.cmd_offset.next = self.plane_offset.q.val();
        }
        // The command's words, `cmd_end - cmd_first`, without the subtraction.
        self.dma.cmd_len.next = bit_cast::<32, 64>(self.words.val() << 3);
        if self.strided.val() {
            self.dma.cmd_len.next = self.plane_words.val() << 3;
        }
        self.accepted.next = self.issue.val() & self.dma.cmd_ready.val();
        self.dma.valid.next = true;
        self.dma.data.next = 0.into();
        self.read_addr.next = self.next_word.q.val();
        self.sent.next = false;
        self.take.next = false;
        self.out_free.next = false;
        self.assembled.next = self.beat.q.val();
        self.out_next.next = false;
        self.held_next.next = false;
        if self.issue.val() {
            self.done_seen.d.next = false;
            self.next_word.d.next = bit_cast::<32, 64>(self.cmd_first.val());
            self.end_word.d.next = bit_cast::<32, 64>(self.cmd_end.val());
            self.word_read.d.next = false;
            self.out_full.d.next = false;
            self.beat_held.d.next = false;
            self.beat_words.d.next = 0.into();
        }
        if self.writing.val() {
            self.dma.valid.next = self.out_full.q.val();
            self.dma.data.next = self.out_beat.q.val();
            self.take.next = self.out_full.q.val() & self.dma.ready.val();
            self.out_free.next = !self.out_full.q.val() | self.take.val();
            self.out_next.next = self.out_full.q.val() & !self.take.val();
            self.held_next.next = self.beat_held.q.val();
            // A held beat moves on as soon as the register is free.
            if self.beat_held.q.val() & self.out_free.val() {
                self.out_beat.d.next = self.beat.q.val();
                self.out_next.next = true;
                self.held_next.next = false;
            }
            // The word read in the previous cycle joins the assembly, which
            // holds no full beat then (reading stops while it would).
            self.word_read.d.next = false;
            if self.word_read.q.val() {
                if self.beat_words.q.val() == 0 {
                    self.assembled.next = bit_cast::<D, 64>(self.word.val());
                } else {
                    self.assembled.next =
                        self.beat.q.val() | (bit_cast::<D, 64>(self.word.val()) << 64);
                }
                self.beat.d.next = self.assembled.val();
                self.beat_words.d.next = self.beat_words.q.val() + 1;
                if (self.beat_words.q.val() == self.last_word_of_beat.val())
                    | (self.next_word.q.val() == self.end_word.q.val())
                {
                    self.beat_words.d.next = 0.into();
                    if self.out_free.val() & !self.beat_held.q.val() {
                        self.out_beat.d.next = self.assembled.val();
                        self.out_next.next = true;
                    } else {
                        self.held_next.next = true;
                    }
                }
            }
            self.out_full.d.next = self.out_next.val();
            self.beat_held.d.next = self.held_next.val();
            // Read the next word unless a beat will wait in the assembly.
            if !self.held_next.val() & (self.next_word.q.val() < self.end_word.q.val()) {
                self.word_read.d.next = true;
                self.next_word.d.next = self.next_word.q.val() + 1;
            }
            self.sent.next = (!self.out_full.q.val()
                & !self.beat_held.q.val()
                & !self.word_read.q.val()
                & (self.next_word.q.val() == self.end_word.q.val()))
                | (self.done_seen.q.val() & (self.code.q.val() != 0));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use spikeslice_core::random::{rng, Draw};

    /// A write-back of 5 words at 128 bits: three beats (the last half full)
    /// carry the words in order, with DMA backpressure on every other beat;
    /// then an error from the DMA ends the writing at once with its code and
    /// offset.
    #[test]
    fn writeback_packs_words_into_beats_and_reports_errors() {
        let mut uut = WriteBack::<128>::default();
        uut.connect_all();
        let mut sim = Simulation::new();
        sim.add_clock(5, |x: &mut Box<WriteBack<128>>| {
            x.clock.next = !x.clock.val()
        });
        sim.add_testbench(move |mut sim: Sim<WriteBack<128>>| {
            let mut x = sim.init()?;
            let buffer: Vec<u64> = (0..5u64)
                .map(|i| 0x1111_0000_0000_0000 * (i + 1) + i)
                .collect();
            for fail in [false, true] {
                x.offset.next = 0x240.into();
                x.words.next = (buffer.len() as u64).into();
                x.issue.next = true;
                x.dma.cmd_ready.next = false;
                wait_clock_cycle!(sim, clock, x);
                sim_assert!(sim, x.dma.cmd_valid.val() && !x.accepted.val(), x);
                sim_assert_eq!(sim, x.dma.cmd_offset.val().to_u64(), 0x240, x);
                sim_assert_eq!(sim, x.dma.cmd_len.val().to_u64(), 40, x);
                x.dma.cmd_ready.next = true;
                wait_clock_cycle!(sim, clock, x);
                sim_assert!(sim, x.accepted.val(), x);
                x.issue.next = false;
                x.writing.next = true;
                let mut beats: Vec<u128> = vec![];
                let mut read_addr = 0usize;
                let mut cycles = 0;
                while !x.sent.val() {
                    cycles += 1;
                    sim_assert!(sim, cycles < 100, x);
                    x.dma.done.next = false;
                    // The registered output buffer: the word at last cycle's address.
                    x.word.next = buffer.get(read_addr).copied().unwrap_or(0).into();
                    read_addr = x.read_addr.val().to_u64() as usize;
                    let ready = cycles % 2 == 0;
                    x.dma.ready.next = ready;
                    if x.dma.valid.val() && ready {
                        beats.push(x.dma.data.val().to_u128());
                        if fail {
                            x.dma.err.next = 4.into();
                            x.dma.err_offset.next = 0x240.into();
                            x.dma.done.next = true;
                        }
                    }
                    wait_clock_cycle!(sim, clock, x);
                }
                x.writing.next = false;
                if fail {
                    sim_assert_eq!(sim, beats.len(), 1, x);
                    wait_clock_cycle!(sim, clock, x);
                    sim_assert!(sim, x.completed.val(), x);
                    sim_assert_eq!(sim, x.err_code.val().to_u64(), 4, x);
                    sim_assert_eq!(sim, x.err_offset.val().to_u64(), 0x240, x);
                } else {
                    let want: Vec<u128> = buffer
                        .chunks(2)
                        .map(|c| {
                            c.iter()
                                .rev()
                                .fold(0u128, |a, &w| (a << 64) | u128::from(w))
                        })
                        .collect();
                    sim_assert_eq!(sim, beats, want, x);
                    sim_assert!(sim, !x.completed.val(), x);
                }
                x.dma.done.next = false;
                x.dma.err.next = 0.into();
                wait_clock_cycle!(sim, clock, x);
            }
            sim.done(x)
        });
        sim.run(Box::new(uut), 1_000_000).unwrap();
    }

    /// Random lengths and random DMA backpressure at 64 and 128 bits: the
    /// beats carry the words in order, none lost while reading stops; with
    /// the DMA taking every beat at once, `sent` comes `words + 2` cycles
    /// into OutWr (a word a cycle, the first beat two cycles after its read).
    fn streams<const D: usize>(seed: u64) {
        let mut uut = WriteBack::<D>::default();
        uut.connect_all();
        let mut sim = Simulation::new();
        sim.add_clock(5, |x: &mut Box<WriteBack<D>>| x.clock.next = !x.clock.val());
        sim.add_testbench(move |mut sim: Sim<WriteBack<D>>| {
            let mut x = sim.init()?;
            let mut r = rng(seed);
            let wpb = D / 64;
            for case in 0..24 {
                let words = 1 + r.below(40) as usize;
                let busy = if case % 3 == 0 { 0 } else { 10 + r.below(70) };
                let buffer: Vec<u64> = (0..words).map(|_| r.next()).collect();
                x.words.next = (words as u64).into();
                x.issue.next = true;
                x.dma.cmd_ready.next = true;
                wait_clock_cycle!(sim, clock, x);
                x.issue.next = false;
                x.writing.next = true;
                let (mut beats, mut read_addr, mut cycles) = (vec![], 0usize, 0usize);
                while !x.sent.val() {
                    sim_assert!(sim, cycles < 1000, x);
                    x.word.next = buffer.get(read_addr).copied().unwrap_or(0).into();
                    read_addr = x.read_addr.val().to_u64() as usize;
                    // Not ready in the first cycle, whose inputs are still settling.
                    let ready = cycles > 0 && !r.chance(busy);
                    x.dma.ready.next = ready;
                    if x.dma.valid.val() && ready {
                        beats.push(x.dma.data.val());
                    }
                    wait_clock_cycle!(sim, clock, x);
                    cycles += 1;
                }
                x.writing.next = false;
                let want: Vec<Bits<D>> = buffer
                    .chunks(wpb)
                    .map(|c| {
                        c.iter()
                            .enumerate()
                            .fold(Bits::<D>::default(), |a, (i, &w)| {
                                a | (bit_cast::<D, 64>(w.into()) << (64 * i) as u64)
                            })
                    })
                    .collect();
                sim_assert_eq!(sim, beats, want, x);
                if busy == 0 {
                    sim_assert_eq!(sim, cycles, words + 2, x);
                }
                wait_clock_cycle!(sim, clock, x);
            }
            sim.done(x)
        });
        sim.run(Box::new(uut), 10_000_000).unwrap();
    }

    #[test]
    fn writeback_streams_a_word_a_cycle_under_backpressure() {
        streams::<64>(0x3B1);
        streams::<128>(0x3B2);
    }

    /// A strided output of T = 2 steps of b_s = 2 planes, 3 words each, into
    /// destination planes 5 words apart, 3 a step: four commands, each at its
    /// plane's offset with its own words, `more` before all but the last, and
    /// a restart goes back to plane 0.
    #[test]
    fn writeback_writes_a_strided_output_one_plane_per_command() {
        let mut uut = WriteBack::<64>::default();
        uut.connect_all();
        let mut sim = Simulation::new();
        sim.add_clock(5, |x: &mut Box<WriteBack<64>>| {
            x.clock.next = !x.clock.val()
        });
        sim.add_testbench(move |mut sim: Sim<WriteBack<64>>| {
            let mut x = sim.init()?;
            let buffer: Vec<u64> = (0..12u64).map(|i| 0xAB00 + i).collect();
            let (base, stride, step_planes) = (0x1000u64, 5u64, 3u64);
            x.offset.next = base.into();
            x.words.next = 12u64.into();
            x.strided.next = true;
            x.stride.next = stride.into();
            x.step_planes.next = step_planes.into();
            x.spike_bits.next = 2u64.into();
            x.plane_words.next = 3u64.into();
            for _round in 0..2 {
                x.restart.next = true;
                wait_clock_cycle!(sim, clock, x);
                x.restart.next = false;
                for plane in 0..4u64 {
                    let (t, j) = (plane / 2, plane % 2);
                    x.issue.next = true;
                    x.dma.cmd_ready.next = true;
                    wait_clock_cycle!(sim, clock, x);
                    sim_assert!(sim, x.accepted.val(), x);
                    let want = base + 8 * (t * step_planes + j) * stride;
                    sim_assert_eq!(sim, x.dma.cmd_offset.val().to_u64(), want, x);
                    sim_assert_eq!(sim, x.dma.cmd_len.val().to_u64(), 24, x);
                    x.issue.next = false;
                    x.writing.next = true;
                    let mut beats = vec![];
                    let mut read_addr = 0usize;
                    let mut cycles = 0;
                    while !x.sent.val() {
                        cycles += 1;
                        sim_assert!(sim, cycles < 100, x);
                        x.word.next = buffer.get(read_addr).copied().unwrap_or(0).into();
                        read_addr = x.read_addr.val().to_u64() as usize;
                        // Not ready in the first cycle, whose inputs are still settling.
                        let ready = cycles % 3 == 0 || cycles % 3 == 2;
                        x.dma.ready.next = ready;
                        if x.dma.valid.val() && ready {
                            beats.push(x.dma.data.val().to_u64());
                        }
                        wait_clock_cycle!(sim, clock, x);
                    }
                    x.writing.next = false;
                    let first = 3 * plane as usize;
                    sim_assert_eq!(sim, beats, buffer[first..first + 3].to_vec(), x);
                    // OutWait: the DMA's completion, then on to the next plane.
                    x.dma.done.next = true;
                    wait_clock_cycle!(sim, clock, x);
                    x.dma.done.next = false;
                    sim_assert!(sim, x.completed.val(), x);
                    sim_assert_eq!(sim, x.more.val(), plane < 3, x);
                    x.advance.next = x.more.val();
                    wait_clock_cycle!(sim, clock, x);
                    x.advance.next = false;
                }
            }
            sim.done(x)
        });
        sim.run(Box::new(uut), 1_000_000).unwrap();
    }
}
