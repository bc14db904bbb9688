//! One DMA read phase of the controller, parametrised: the descriptor, the
//! input planes, a tile's parameters and weights and a gather row are all read
//! through it. It issues one read command for
//! `[offset, offset + len)` (aligned down to the beat; the unaligned head is
//! skipped in the gearbox), hands the controller one `field_bits`-bit field
//! per cycle (`take`, `data`) until the controller says the field taken is
//! the `last`, then drains the rest of the command and waits for the DMA's
//! completion, and ends with `done` or, on a DMA error (refused command,
//! SLVERR, DECERR), `failed` with the DMA's code and offset. It never leaves
//! a command half done, except on `rst`.
//!
//! ```text
//! Cmd   command valid until accepted; the gearbox cleared, its skip armed
//! Data  one field per cycle while the gearbox has one; to Wait after `last`
//!       or at a DMA error
//! Wait  the gearbox drains; at the completion: `done` or `failed`, to Cmd
//! ```
//!
//! The controller enters a phase with the block in Cmd (`active` high), and
//! leaves it in the cycle `done` or `failed` is high, so a phase costs the same
//! cycles as three states of the controller's own FSM would.

use crate::buffer::Unpack;
use crate::dma::ReadClient;
use rust_hdl::prelude::*;

#[derive(Copy, Clone, Debug, PartialEq, LogicState)]
pub enum ReadStep {
    Cmd,
    Data,
    Wait,
}

/// `D`/`S`: DMA beat bits/bytes; `W2` = 2 * `D` (the gearbox window).
#[derive(LogicBlock)]
pub struct ReadPhase<const D: usize, const S: usize, const W2: usize> {
    pub clock: Signal<In, Clock>,
    /// Abandon the phase (soft reset): back to Cmd.
    pub rst: Signal<In, Bit>,
    /// The controller is in a read phase.
    pub active: Signal<In, Bit>,
    /// Discard beats (the controller is idle and drains what a reset cut off).
    pub drain: Signal<In, Bit>,
    /// Window offset and length in bytes of the read, and the field width
    /// (1..=64); stable for the whole phase.
    pub offset: Signal<In, Bits<32>>,
    pub len: Signal<In, Bits<32>>,
    pub field_bits: Signal<In, Bits<7>>,
    /// The field taken in this cycle (if any) is the phase's last.
    pub last: Signal<In, Bit>,
    /// The command is being issued (the controller's per-phase set-up).
    pub in_cmd: Signal<Out, Bit>,
    /// A field is taken in this cycle.
    pub take: Signal<Out, Bit>,
    /// The field, in the low `field_bits` bits.
    pub data: Signal<Out, Bits<64>>,
    /// The phase ended without a DMA error (high for one cycle).
    pub done: Signal<Out, Bit>,
    /// The phase ended with a DMA error (high for one cycle).
    pub failed: Signal<Out, Bit>,
    pub err_code: Signal<Out, Bits<8>>,
    pub err_offset: Signal<Out, Bits<32>>,
    /// The DMA read engine.
    pub dma: ReadClient<D>,
    gearbox: Unpack<D, W2>,
    step: DFF<ReadStep>,
    /// Bits of the first beat before `offset`.
    skip: DFF<Bits<8>>,
    /// The DMA's completion, latched from the command to the end of the phase.
    completed: DFF<Bit>,
    code: DFF<Bits<8>>,
    code_offset: DFF<Bits<32>>,
    head: Signal<Local, Bits<32>>,
    beat_mask: Constant<Bits<32>>,
}

impl<const D: usize, const S: usize, const W2: usize> Default for ReadPhase<D, S, W2> {
    fn default() -> Self {
        assert_eq!(S * 8, D, "beat bytes");
        Self {
            clock: Default::default(),
            rst: Default::default(),
            active: Default::default(),
            drain: Default::default(),
            offset: Default::default(),
            len: Default::default(),
            field_bits: Default::default(),
            last: Default::default(),
            in_cmd: Default::default(),
            take: Default::default(),
            data: Default::default(),
            done: Default::default(),
            failed: Default::default(),
            err_code: Default::default(),
            err_offset: Default::default(),
            dma: Default::default(),
            gearbox: Unpack::new(),
            step: Default::default(),
            skip: Default::default(),
            completed: Default::default(),
            code: Default::default(),
            code_offset: Default::default(),
            head: Default::default(),
            beat_mask: Constant::new((S as u64 - 1).into()),
        }
    }
}

impl<const D: usize, const S: usize, const W2: usize> Logic for ReadPhase<D, S, W2> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, step, skip, completed, code, code_offset);
        // The command, aligned down to the beat; the head is skipped in the gearbox.
        self.head.next = self.offset.val() & self.beat_mask.val();
        self.dma.cmd_offset.next = self.offset.val() & !self.beat_mask.val();
        self.dma.cmd_len.next = self.len.val() + self.head.val();
        self.dma.cmd_valid.next = false;
        self.gearbox.clock.next = self.clock.val();
        self.gearbox.clear.next = false;
        self.gearbox.drain.next = self.drain.val();
        self.gearbox.n.next = self.field_bits.val();
        self.gearbox.skip.next = self.skip.q.val();
        self.gearbox.in_valid.next = self.dma.valid.val();
        self.gearbox.in_data.next = self.dma.data.val();
        self.dma.ready.next = self.gearbox.in_ready.val();
        self.gearbox.out_ready.next = false;
        self.data.next = self.gearbox.out_data.val();
        self.in_cmd.next = false;
        self.take.next = false;
        self.done.next = false;
        self.failed.next = false;
        self.err_code.next = self.code.q.val();
        self.err_offset.next = self.code_offset.q.val();
        if self.dma.done.val() {
            self.completed.d.next = true;
            self.code.d.next = self.dma.err.val();
            self.code_offset.d.next = self.dma.err_offset.val();
        }
        if self.active.val() {
            match self.step.q.val() {
                ReadStep::Cmd => {
                    self.in_cmd.next = true;
                    self.dma.cmd_valid.next = true;
                    self.gearbox.clear.next = true;
                    self.skip.d.next = bit_cast::<8, 32>(self.head.val()) << 3;
                    self.completed.d.next = false;
                    if self.dma.cmd_ready.val() {
                        self.step.d.next = ReadStep::Data;
                    }
                }
                ReadStep::Data => {
                    self.gearbox.out_ready.next = true;
                    self.take.next = self.gearbox.out_valid.val();
                    if self.take.val() & self.last.val() {
                        self.step.d.next = ReadStep::Wait;
                    }
                    if self.dma.done.val() & (self.dma.err.val() != 0) {
                        self.step.d.next = ReadStep::Wait;
                    }
                }
                ReadStep::Wait => {
                    self.gearbox.drain.next = true;
                    if self.completed.q.val() {
                        self.done.next = self.code.q.val() == 0;
                        self.failed.next = self.code.q.val() != 0;
                        self.step.d.next = ReadStep::Cmd;
                    }
                }
                _ => {
                    self.step.d.next = ReadStep::Cmd;
                }
            }
        }
        if self.rst.val() {
            self.step.d.next = ReadStep::Cmd;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use spikeslice_core::random::{rng, Draw};

    type Uut = ReadPhase<64, 8, 128>;

    /// Random reads of 32-bit fields at unaligned offsets from a behavioural
    /// read engine with random gaps between beats: every field arrives in order,
    /// the phase ends with `done`; a read the engine answers with an error ends
    /// with `failed`, the engine's code and offset, after the completion.
    #[test]
    fn read_phase_delivers_fields_and_reports_errors() {
        let (mut sim, uut) = clocked_simulation!(Uut::default(), Uut);
        sim.add_testbench(move |mut sim: Sim<Uut>| {
            let mut x = sim.init()?;
            let mut r = rng(0x5EAD);
            let memory: Vec<u8> = (0..4096).map(|_| r.next() as u8).collect();
            for case in 0..24 {
                let fields = 1 + r.below(40) as usize;
                let offset = 4 * r.below(500) as usize;
                let fail = case % 4 == 3;
                x.offset.next = (offset as u64).into();
                x.len.next = (4 * fields as u64).into();
                x.field_bits.next = 32.into();
                x.active.next = true;
                x.last.next = false;
                x.dma.cmd_ready.next = false;
                wait_clock_cycle!(sim, clock, x);
                sim_assert!(sim, x.in_cmd.val() & x.dma.cmd_valid.val(), x);
                let base = x.dma.cmd_offset.val().to_u64() as usize;
                let len = x.dma.cmd_len.val().to_u64() as usize;
                sim_assert_eq!(sim, base, offset & !7, x);
                sim_assert_eq!(sim, base + len, offset + 4 * fields, x);
                x.dma.cmd_ready.next = true;
                wait_clock_cycle!(sim, clock, x);
                x.dma.cmd_ready.next = false;
                let mut beats: Vec<u64> = memory[base..base + len.div_ceil(8) * 8]
                    .chunks(8)
                    .map(|b| u64::from_le_bytes(b.try_into().unwrap()))
                    .collect();
                if fail {
                    beats.truncate(beats.len() / 2);
                }
                let mut got = vec![];
                let mut guard = 0;
                let mut completed = false;
                // The engine completes after its last beat (at once when it has none).
                let mut complete_now = beats.is_empty();
                while !(x.done.val() | x.failed.val()) {
                    guard += 1;
                    sim_assert!(sim, guard < 2000, x);
                    x.dma.done.next = false;
                    if complete_now && !completed {
                        x.dma.done.next = true;
                        x.dma.err.next = if fail { 4.into() } else { 0.into() };
                        x.dma.err_offset.next = if fail { 0x123.into() } else { 0.into() };
                        completed = true;
                    }
                    // `take` depends on registers only: it is this cycle's.
                    x.last.next = got.len() + 1 == fields;
                    if x.take.val() {
                        got.push(x.data.val().to_u64() as u32);
                    }
                    let valid = !beats.is_empty() && r.chance(70);
                    x.dma.valid.next = valid;
                    if valid {
                        x.dma.data.next = beats[0].into();
                    }
                    let handshake = valid && x.dma.ready.val();
                    wait_clock_cycle!(sim, clock, x);
                    if handshake {
                        beats.remove(0);
                        complete_now = beats.is_empty();
                    }
                }
                x.dma.done.next = false;
                if fail {
                    sim_assert!(sim, x.failed.val() & !x.done.val(), x);
                    sim_assert_eq!(sim, x.err_code.val().to_u64(), 4, x);
                    sim_assert_eq!(sim, x.err_offset.val().to_u64(), 0x123, x);
                } else {
                    sim_assert!(sim, x.done.val() & !x.failed.val(), x);
                    let want: Vec<u32> = memory[offset..offset + 4 * fields]
                        .chunks(4)
                        .map(|b| u32::from_le_bytes(b.try_into().unwrap()))
                        .collect();
                    sim_assert!(sim, got == want, x);
                }
                x.active.next = false;
                wait_clock_cycle!(sim, clock, x);
            }
            sim.done(x)
        });
        sim.run(Box::new(uut), 10_000_000).unwrap();
    }
}
