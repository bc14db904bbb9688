//! The spike queue: Emit beats the core has handed over and the feeder has not
//! yet written into the output buffer (docs/controller.md, "The spike queue").
//!
//! The output buffer takes two spike bits a cycle (one through each port,
//! `SPIKE_WRITE_PORTS`: bit j of two columns), so a beat of C columns of `b_s`
//! bits takes `ceil(C / 2) b_s` cycles to write. The core does not wait for them:
//! its Emit takes one cycle while the queue has room (`SPIKE_QUEUE_DEPTH`
//! beats), and the feeder writes the queued beats while the core goes on to its
//! next timestep, or the controller to its next run. Each beat carries the
//! place it is written to (its run's first output neuron and position, its
//! timestep's word base, its run's columns and group), so a beat is written
//! correctly after its run has ended.
//!
//! Push: `push_valid` with the beat and its place, taken when `push_ready`
//! (fewer than `SPIKE_QUEUE_DEPTH` beats queued). Head: while `nonempty`, the
//! oldest beat's place and the spike bytes of its current two columns (the
//! first two, then the next two after each `advance`; zero past the last);
//! `pop` removes it. `clear` empties the queue.
//!
//! Position pairs (`spikeslice_core::accel::cycles::pairs_positions`): an even
//! position's beat pushed with `hold` waits in held slot `timestep` (taken at
//! once: a slot per timestep, `PAIRED_TIMESTEPS_MAX`), and the next position's
//! beat of that timestep, pushed with `partner`, is queued with it as one beat:
//! each column's held byte in the low half of its 16 bits, the pushed byte in
//! the high half (zero for a beat pushed alone), so that the writer puts bit j
//! of both positions, adjacent bits of one word, in one write.
//!
//! The head is a copy of the oldest beat in registers of its own, loaded when
//! the oldest beat changes (from the push into an emptying queue, else from the
//! slot after the head's), and its columns shift down two at each `advance`:
//! the writer reads a register, not a slot and column mux, so the output
//! buffer's write data is a few LUTs from a register at no cycle (through the
//! muxes it is the shell's deepest path, docs/resources.md "Whole shell").

use crate::param::Param;
use rust_hdl::prelude::*;
use spikeslice_core::accel::cycles::{PAIRED_TIMESTEPS_MAX, SPIKE_QUEUE_DEPTH};

/// Where a beat's spikes go: the run's first output neuron plus its position,
/// the timestep's word base in the output buffer, the run's first output
/// column and its group's first output.
#[derive(LogicInterface, Default)]
#[join = "BeatPlaceOut"]
pub struct BeatPlace {
    pub neuron: Signal<In, Bits<32>>,
    pub timestep_base: Signal<In, Bits<32>>,
    pub first_column: Signal<In, Bits<32>>,
    pub group_start: Signal<In, Bits<32>>,
}

/// [`BeatPlace`], as a block offers it.
#[derive(LogicInterface, Default)]
#[join = "BeatPlace"]
pub struct BeatPlaceOut {
    pub neuron: Signal<Out, Bits<32>>,
    pub timestep_base: Signal<Out, Bits<32>>,
    pub first_column: Signal<Out, Bits<32>>,
    pub group_start: Signal<Out, Bits<32>>,
}

/// One column of the queue: its 16 spike bits of each queued beat (a held
/// position's byte and its partner's, or a beat alone's byte).
#[derive(LogicBlock, Default)]
pub struct SpikeLane {
    pub clock: Signal<In, Clock>,
    /// Store `spike_in` in slot `tail`.
    pub write: Signal<In, Bit>,
    pub tail: Signal<In, Bits<3>>,
    pub spike_in: Signal<In, Bits<16>>,
    /// The spikes in slot `at`.
    pub at: Signal<In, Bits<3>>,
    pub spike: Signal<Out, Bits<16>>,
    slots: Vec<DFF<Bits<16>>>,
    _slots: usize,
}

impl SpikeLane {
    pub fn new(slots: usize) -> Self {
        Self {
            slots: super::n(slots),
            _slots: slots,
            ..Default::default()
        }
    }
}

impl Logic for SpikeLane {
    #[hdl_gen]
    fn update(&mut self) {
        self.spike.next = 0.into();
        for e in 0..self._slots {
            self.slots[e].clock.next = self.clock.val();
            self.slots[e].d.next = self.slots[e].q.val();
            if self.write.val() & (self.tail.val().index() == e) {
                self.slots[e].d.next = self.spike_in.val();
            }
            if self.at.val().index() == e {
                self.spike.next = self.slots[e].q.val();
            }
        }
    }
}

/// One column's held bytes of an even position's beats, a slot a timestep,
/// and the 16 bits it queues: a partner's byte over the held byte of its
/// timestep, or a beat alone's byte (high half zero).
#[derive(LogicBlock, Default)]
pub struct HeldLane {
    pub clock: Signal<In, Clock>,
    /// Hold `spike_in` in slot `timestep`.
    pub hold: Signal<In, Bit>,
    /// `spike_in` is the partner of the byte held in slot `timestep`.
    pub partner: Signal<In, Bit>,
    pub timestep: Signal<In, Bits<3>>,
    pub spike_in: Signal<In, Bits<8>>,
    pub lane: Signal<Out, Bits<16>>,
    held: Signal<Local, Bits<8>>,
    slots: Vec<DFF<Bits<8>>>,
    _slots: usize,
}

impl HeldLane {
    pub fn new(slots: usize) -> Self {
        Self {
            slots: super::n(slots),
            _slots: slots,
            ..Default::default()
        }
    }
}

impl Logic for HeldLane {
    #[hdl_gen]
    fn update(&mut self) {
        self.held.next = 0.into();
        for e in 0..self._slots {
            self.slots[e].clock.next = self.clock.val();
            self.slots[e].d.next = self.slots[e].q.val();
            if self.hold.val() & (self.timestep.val().index() == e) {
                self.slots[e].d.next = self.spike_in.val();
            }
            if self.timestep.val().index() == e {
                self.held.next = self.slots[e].q.val();
            }
        }
        self.lane.next = bit_cast::<16, 8>(self.spike_in.val());
        if self.partner.val() {
            self.lane.next =
                (bit_cast::<16, 8>(self.spike_in.val()) << 8) | bit_cast::<16, 8>(self.held.val());
        }
    }
}

/// The queue: `SPIKE_QUEUE_DEPTH` slots in a ring, a [`SpikeLane`] and a
/// [`HeldLane`] per column, and the places beside them.
#[derive(LogicBlock, Default)]
pub struct SpikeQueue {
    pub clock: Signal<In, Clock>,
    /// Empty the queue (a new start, a reset).
    pub clear: Signal<In, Bit>,
    pub push_valid: Signal<In, Bit>,
    pub push_ready: Signal<Out, Bit>,
    pub spikes_in: Vec<Signal<In, Bits<8>>>,
    pub place_in: BeatPlace,
    /// The pushed beat is an even position's: hold it in slot `timestep`.
    pub hold: Signal<In, Bit>,
    /// The pushed beat is an odd position's: queue it with the beat held in
    /// slot `timestep`.
    pub partner: Signal<In, Bit>,
    pub timestep: Signal<In, Bits<3>>,
    /// A beat is queued: the head's place, and its current two columns'
    /// spikes (`spike_b`: zero past the last column), the held position's
    /// byte low, its partner's high.
    pub nonempty: Signal<Out, Bit>,
    pub spike: Signal<Out, Bits<16>>,
    pub spike_b: Signal<Out, Bits<16>>,
    pub place: BeatPlaceOut,
    /// The head's current two columns have been written: go on to the next two.
    pub advance: Signal<In, Bit>,
    /// The head has been written: remove it.
    pub pop: Signal<In, Bit>,
    lanes: Vec<SpikeLane>,
    held: Vec<HeldLane>,
    neuron: Vec<DFF<Bits<32>>>,
    timestep_base: Vec<DFF<Bits<32>>>,
    first_column: Vec<DFF<Bits<32>>>,
    group_start: Vec<DFF<Bits<32>>>,
    // The head beat's copy: its columns from the current one on, its place.
    head_spikes: Vec<DFF<Bits<16>>>,
    head_neuron: DFF<Bits<32>>,
    head_timestep_base: DFF<Bits<32>>,
    head_first_column: DFF<Bits<32>>,
    head_group_start: DFF<Bits<32>>,
    head: DFF<Bits<3>>,
    tail: DFF<Bits<3>>,
    count: DFF<Bits<4>>,
    push: Signal<Local, Bit>,
    /// The push goes into the ring (not held).
    enqueue: Signal<Local, Bit>,
    /// The slot after the head's.
    after_head: Signal<Local, Bits<3>>,
    /// The head copy takes the pushed beat (the queue is empty after this
    /// cycle's pop, or was), or the beat in the slot after the head's.
    load_pushed: Signal<Local, Bit>,
    load_next: Signal<Local, Bit>,
    k_depth: Param<Bits<4>>,
    k_last: Param<Bits<3>>,
    _slots: usize,
    _cols: usize,
}

impl SpikeQueue {
    /// `cols` lanes; held slots where `pairs` (`AcceleratorConfig::spike_pairs`),
    /// else none: a beat is never held, nor queued as a partner.
    pub fn new(cols: usize, pairs: bool) -> Self {
        let depth = SPIKE_QUEUE_DEPTH as usize;
        let held = if pairs {
            PAIRED_TIMESTEPS_MAX as usize
        } else {
            0
        };
        assert!((1..=8).contains(&depth), "head and tail are 3 bits");
        const { assert!(PAIRED_TIMESTEPS_MAX <= 8, "a held slot's index is 3 bits") };
        Self {
            spikes_in: super::n(cols),
            lanes: (0..cols).map(|_| SpikeLane::new(depth)).collect(),
            held: (0..cols).map(|_| HeldLane::new(held)).collect(),
            head_spikes: super::n(cols),
            neuron: super::n(depth),
            timestep_base: super::n(depth),
            first_column: super::n(depth),
            group_start: super::n(depth),
            k_depth: Param::new((depth as u64).into()),
            k_last: Param::new((depth as u64 - 1).into()),
            _slots: depth,
            _cols: cols,
            ..Default::default()
        }
    }
}

impl Logic for SpikeQueue {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, head, tail, count);
        dff_setup!(self, clock, head_neuron, head_timestep_base);
        dff_setup!(self, clock, head_first_column, head_group_start);
        // A held beat is taken at once: its slot is free (the partner of the
        // last pair's beat of its timestep was queued before this one came).
        self.push_ready.next = (self.count.q.val() < self.k_depth.val()) | self.hold.val();
        self.push.next = self.push_valid.val() & self.push_ready.val();
        self.enqueue.next = self.push.val() & !self.hold.val();
        self.nonempty.next = self.count.q.val() != 0;
        self.after_head.next = self.head.q.val() + 1;
        if self.head.q.val() == self.k_last.val() {
            self.after_head.next = 0.into();
        }
        self.load_next.next = self.pop.val() & (self.count.q.val() >= 2);
        self.load_pushed.next = self.enqueue.val()
            & ((self.count.q.val() == 0) | (self.pop.val() & (self.count.q.val() == 1)));
        for c in 0..self._cols {
            self.held[c].clock.next = self.clock.val();
            self.held[c].hold.next = self.push.val() & self.hold.val();
            self.held[c].partner.next = self.partner.val();
            self.held[c].timestep.next = self.timestep.val();
            self.held[c].spike_in.next = self.spikes_in[c].val();
            self.lanes[c].clock.next = self.clock.val();
            self.lanes[c].write.next = self.enqueue.val();
            self.lanes[c].tail.next = self.tail.q.val();
            self.lanes[c].spike_in.next = self.held[c].lane.val();
            self.lanes[c].at.next = self.after_head.val();
            self.head_spikes[c].clock.next = self.clock.val();
            self.head_spikes[c].d.next = self.head_spikes[c].q.val();
            if self.advance.val() {
                self.head_spikes[c].d.next = 0.into();
            }
        }
        // Advance: each column takes the byte two columns up (the last two,
        // zero); a load below overrides it.
        for c in 2..self._cols {
            if self.advance.val() {
                self.head_spikes[c - 2].d.next = self.head_spikes[c].q.val();
            }
        }
        for c in 0..self._cols {
            if self.load_next.val() {
                self.head_spikes[c].d.next = self.lanes[c].spike.val();
            }
            if self.load_pushed.val() {
                self.head_spikes[c].d.next = self.held[c].lane.val();
            }
        }
        self.spike.next = self.head_spikes[0].q.val();
        self.spike_b.next = 0.into();
        for c in 1..self._cols.min(2) {
            self.spike_b.next = self.head_spikes[c].q.val();
        }
        self.place.neuron.next = self.head_neuron.q.val();
        self.place.timestep_base.next = self.head_timestep_base.q.val();
        self.place.first_column.next = self.head_first_column.q.val();
        self.place.group_start.next = self.head_group_start.q.val();
        for e in 0..self._slots {
            self.neuron[e].clock.next = self.clock.val();
            self.neuron[e].d.next = self.neuron[e].q.val();
            self.timestep_base[e].clock.next = self.clock.val();
            self.timestep_base[e].d.next = self.timestep_base[e].q.val();
            self.first_column[e].clock.next = self.clock.val();
            self.first_column[e].d.next = self.first_column[e].q.val();
            self.group_start[e].clock.next = self.clock.val();
            self.group_start[e].d.next = self.group_start[e].q.val();
            if self.enqueue.val() & (self.tail.q.val().index() == e) {
                self.neuron[e].d.next = self.place_in.neuron.val();
                self.timestep_base[e].d.next = self.place_in.timestep_base.val();
                self.first_column[e].d.next = self.place_in.first_column.val();
                self.group_start[e].d.next = self.place_in.group_start.val();
            }
            if self.load_next.val() & (self.after_head.val().index() == e) {
                self.head_neuron.d.next = self.neuron[e].q.val();
                self.head_timestep_base.d.next = self.timestep_base[e].q.val();
                self.head_first_column.d.next = self.first_column[e].q.val();
                self.head_group_start.d.next = self.group_start[e].q.val();
            }
        }
        if self.load_pushed.val() {
            self.head_neuron.d.next = self.place_in.neuron.val();
            self.head_timestep_base.d.next = self.place_in.timestep_base.val();
            self.head_first_column.d.next = self.place_in.first_column.val();
            self.head_group_start.d.next = self.place_in.group_start.val();
        }
        if self.enqueue.val() {
            self.tail.d.next = self.tail.q.val() + 1;
            if self.tail.q.val() == self.k_last.val() {
                self.tail.d.next = 0.into();
            }
        }
        if self.pop.val() & self.nonempty.val() {
            self.head.d.next = self.head.q.val() + 1;
            if self.head.q.val() == self.k_last.val() {
                self.head.d.next = 0.into();
            }
            self.count.d.next = self.count.q.val() - 1;
            if self.enqueue.val() {
                self.count.d.next = self.count.q.val();
            }
        } else if self.enqueue.val() {
            self.count.d.next = self.count.q.val() + 1;
        }
        if self.clear.val() {
            self.head.d.next = 0.into();
            self.tail.d.next = 0.into();
            self.count.d.next = 0.into();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use spikeslice_core::random::{rng, Draw};
    use std::collections::VecDeque;

    // Odd: the last pair of columns is one column.
    const COLS: usize = 5;

    /// Random pushes (alone, held, or partners of a held beat), advances and
    /// pops against a `VecDeque` of the same depth and the held slots: the
    /// beats come out in order with their places and the head's columns two by
    /// two, a partner's with the held bytes low, `push_ready` is low exactly
    /// when `SPIKE_QUEUE_DEPTH` beats are queued and the push would be queued,
    /// a push and a pop in one cycle keep the count, and `clear` empties the
    /// queue (not the held slots: the next position overwrites them).
    #[test]
    fn spike_queue_keeps_beats_in_order_up_to_its_depth() {
        let (mut sim, uut) = clocked_simulation!(SpikeQueue::new(COLS, true), SpikeQueue);
        sim.add_testbench(move |mut sim: Sim<SpikeQueue>| {
            let mut x = sim.init()?;
            let mut r = rng(0x5917);
            let mut model: VecDeque<(Vec<u64>, [u64; 4])> = VecDeque::new();
            let slots = PAIRED_TIMESTEPS_MAX as usize;
            let mut held = vec![vec![0u64; COLS]; slots];
            let depth = SPIKE_QUEUE_DEPTH as usize;
            let (mut fulls, mut pushes, mut advanced, mut pairs) = (0, 0, 0, 0);
            // The head's current column.
            let mut column = 0usize;
            for cycle in 0..3000u64 {
                let beat: Vec<u64> = (0..COLS).map(|_| r.below(256)).collect();
                let place = [
                    r.next() >> 32,
                    r.next() >> 32,
                    r.next() >> 32,
                    r.next() >> 32,
                ];
                let push = r.chance(70);
                let pop = r.chance(45);
                let clear = cycle % 997 == 996;
                // Alone, held or a partner, a third each.
                let how = r.below(3);
                let timestep = r.below(slots as u64) as usize;
                x.push_valid.next = push;
                x.hold.next = how == 1;
                x.partner.next = how == 2;
                x.timestep.next = (timestep as u64).into();
                for (s, &b) in x.spikes_in.iter_mut().zip(&beat) {
                    s.next = b.into();
                }
                x.place_in.neuron.next = place[0].into();
                x.place_in.timestep_base.next = place[1].into();
                x.place_in.first_column.next = place[2].into();
                x.place_in.group_start.next = place[3].into();
                // As the feeder drives it: an advance only while a beat is
                // queued, and up to its last pair of columns (the pop's cycle).
                let advance = !model.is_empty() && (pop || (column + 2 < COLS && r.chance(50)));
                x.advance.next = advance;
                x.pop.next = pop;
                x.clear.next = clear;
                x = sim.wait(1, x)?;
                sim_assert_eq!(sim, x.push_ready.val(), model.len() < depth || how == 1, x);
                sim_assert_eq!(sim, x.nonempty.val(), !model.is_empty(), x);
                if let Some((spikes, p)) = model.front() {
                    sim_assert_eq!(sim, x.spike.val().to_u64(), spikes[column], x);
                    let next = spikes.get(column + 1).copied().unwrap_or(0);
                    sim_assert_eq!(sim, x.spike_b.val().to_u64(), next, x);
                    sim_assert_eq!(sim, x.place.neuron.val().to_u64(), p[0], x);
                    sim_assert_eq!(sim, x.place.timestep_base.val().to_u64(), p[1], x);
                    sim_assert_eq!(sim, x.place.first_column.val().to_u64(), p[2], x);
                    sim_assert_eq!(sim, x.place.group_start.val().to_u64(), p[3], x);
                }
                fulls += usize::from(model.len() == depth);
                let pushed = push && how != 1 && model.len() < depth;
                if pop {
                    if model.pop_front().is_some() {
                        column = 0;
                    }
                } else if advance {
                    column += 2;
                    advanced += 1;
                }
                if push && how == 1 {
                    held[timestep].clone_from(&beat);
                }
                if pushed {
                    pushes += 1;
                    let lanes = if how == 2 {
                        pairs += 1;
                        beat.iter()
                            .zip(&held[timestep])
                            .map(|(b, h)| b << 8 | h)
                            .collect()
                    } else {
                        beat
                    };
                    model.push_back((lanes, place));
                }
                if clear {
                    model.clear();
                    column = 0;
                }
                wait_clock_cycle!(sim, clock, x);
            }
            // Both ends exercised: full often, and many beats through.
            sim_assert!(
                sim,
                fulls > 100 && pushes > 1000 && advanced > 300 && pairs > 400,
                x
            );
            sim.done(x)
        });
        sim.run(Box::new(uut), 1_000_000).unwrap();
    }
}
