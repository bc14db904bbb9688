//! The spike queue: Emit beats the core has handed over and the feeder has not
//! yet written into the output buffer (docs/shell.md, "The spike queue").
//!
//! The output buffer takes one spike bit a cycle, so a beat of C columns of
//! `b_s` bits takes `C b_s` cycles to write. The core does not wait for them:
//! its Emit takes one cycle while the queue has room (`SPIKE_QUEUE_DEPTH`
//! beats), and the feeder writes the queued beats while the core goes on to its
//! next timestep, or the controller to its next run. Each beat carries the
//! place it is written to (its run's first output neuron and position, its
//! timestep's word base, its run's columns and group), so a beat is written
//! correctly after its run has ended.
//!
//! Push: `push_valid` with the beat and its place, taken when `push_ready`
//! (fewer than `SPIKE_QUEUE_DEPTH` beats queued). Head: while `nonempty`, the
//! oldest beat's place and the spike byte of its column `column`; `pop`
//! removes it. `clear` empties the queue.

use crate::param::Param;
use rust_hdl::prelude::*;
use spikeslice_core::accel::cycles::SPIKE_QUEUE_DEPTH;

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

/// One column of the queue: its spike byte of each queued beat.
#[derive(LogicBlock, Default)]
pub struct SpikeLane {
    pub clock: Signal<In, Clock>,
    /// Store `spike_in` in slot `tail`.
    pub write: Signal<In, Bit>,
    pub tail: Signal<In, Bits<3>>,
    pub spike_in: Signal<In, Bits<8>>,
    /// The byte in slot `head`.
    pub head: Signal<In, Bits<3>>,
    pub spike: Signal<Out, Bits<8>>,
    slots: Vec<DFF<Bits<8>>>,
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
            if self.head.val().index() == e {
                self.spike.next = self.slots[e].q.val();
            }
        }
    }
}

/// The queue: `SPIKE_QUEUE_DEPTH` slots in a ring, a [`SpikeLane`] per column
/// and the places beside them.
#[derive(LogicBlock, Default)]
pub struct SpikeQueue {
    pub clock: Signal<In, Clock>,
    /// Empty the queue (a new start, a reset).
    pub clear: Signal<In, Bit>,
    pub push_valid: Signal<In, Bit>,
    pub push_ready: Signal<Out, Bit>,
    pub spikes_in: Vec<Signal<In, Bits<8>>>,
    pub place_in: BeatPlace,
    /// A beat is queued: the head's place, and its column `column`'s spikes.
    pub nonempty: Signal<Out, Bit>,
    pub column: Signal<In, Bits<8>>,
    pub spike: Signal<Out, Bits<8>>,
    pub place: BeatPlaceOut,
    /// The head has been written: remove it.
    pub pop: Signal<In, Bit>,
    lanes: Vec<SpikeLane>,
    neuron: Vec<DFF<Bits<32>>>,
    timestep_base: Vec<DFF<Bits<32>>>,
    first_column: Vec<DFF<Bits<32>>>,
    group_start: Vec<DFF<Bits<32>>>,
    head: DFF<Bits<3>>,
    tail: DFF<Bits<3>>,
    count: DFF<Bits<4>>,
    push: Signal<Local, Bit>,
    k_depth: Param<Bits<4>>,
    k_last: Param<Bits<3>>,
    _slots: usize,
    _cols: usize,
}

impl SpikeQueue {
    pub fn new(cols: usize) -> Self {
        let depth = SPIKE_QUEUE_DEPTH as usize;
        assert!((1..=8).contains(&depth), "head and tail are 3 bits");
        Self {
            spikes_in: super::n(cols),
            lanes: (0..cols).map(|_| SpikeLane::new(depth)).collect(),
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
        self.push_ready.next = self.count.q.val() < self.k_depth.val();
        self.push.next = self.push_valid.val() & self.push_ready.val();
        self.nonempty.next = self.count.q.val() != 0;
        self.spike.next = 0.into();
        for c in 0..self._cols {
            self.lanes[c].clock.next = self.clock.val();
            self.lanes[c].write.next = self.push.val();
            self.lanes[c].tail.next = self.tail.q.val();
            self.lanes[c].spike_in.next = self.spikes_in[c].val();
            self.lanes[c].head.next = self.head.q.val();
            if self.column.val().index() == c {
                self.spike.next = self.lanes[c].spike.val();
            }
        }
        self.place.neuron.next = 0.into();
        self.place.timestep_base.next = 0.into();
        self.place.first_column.next = 0.into();
        self.place.group_start.next = 0.into();
        for e in 0..self._slots {
            self.neuron[e].clock.next = self.clock.val();
            self.neuron[e].d.next = self.neuron[e].q.val();
            self.timestep_base[e].clock.next = self.clock.val();
            self.timestep_base[e].d.next = self.timestep_base[e].q.val();
            self.first_column[e].clock.next = self.clock.val();
            self.first_column[e].d.next = self.first_column[e].q.val();
            self.group_start[e].clock.next = self.clock.val();
            self.group_start[e].d.next = self.group_start[e].q.val();
            if self.push.val() & (self.tail.q.val().index() == e) {
                self.neuron[e].d.next = self.place_in.neuron.val();
                self.timestep_base[e].d.next = self.place_in.timestep_base.val();
                self.first_column[e].d.next = self.place_in.first_column.val();
                self.group_start[e].d.next = self.place_in.group_start.val();
            }
            if self.head.q.val().index() == e {
                self.place.neuron.next = self.neuron[e].q.val();
                self.place.timestep_base.next = self.timestep_base[e].q.val();
                self.place.first_column.next = self.first_column[e].q.val();
                self.place.group_start.next = self.group_start[e].q.val();
            }
        }
        if self.push.val() {
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
            if self.push.val() {
                self.count.d.next = self.count.q.val();
            }
        } else if self.push.val() {
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

    const COLS: usize = 3;

    /// Random pushes and pops against a `VecDeque` of the same depth: the
    /// beats come out in order with their places, `push_ready` is low exactly
    /// when `SPIKE_QUEUE_DEPTH` beats are queued, a push and a pop in one cycle
    /// keep the count, and `clear` empties the queue.
    #[test]
    fn spike_queue_keeps_beats_in_order_up_to_its_depth() {
        let (mut sim, uut) = clocked_simulation!(SpikeQueue::new(COLS), SpikeQueue);
        sim.add_testbench(move |mut sim: Sim<SpikeQueue>| {
            let mut x = sim.init()?;
            let mut r = rng(0x5917);
            let mut model: VecDeque<(Vec<u64>, [u64; 4])> = VecDeque::new();
            let depth = SPIKE_QUEUE_DEPTH as usize;
            let (mut fulls, mut pushes) = (0, 0);
            for cycle in 0..3000u64 {
                let beat: Vec<u64> = (0..COLS).map(|_| r.below(256)).collect();
                let place = [
                    r.next() >> 32,
                    r.next() >> 32,
                    r.next() >> 32,
                    r.next() >> 32,
                ];
                let push = r.chance(55);
                let pop = r.chance(45);
                let clear = cycle % 997 == 996;
                x.push_valid.next = push;
                for (s, &b) in x.spikes_in.iter_mut().zip(&beat) {
                    s.next = b.into();
                }
                x.place_in.neuron.next = place[0].into();
                x.place_in.timestep_base.next = place[1].into();
                x.place_in.first_column.next = place[2].into();
                x.place_in.group_start.next = place[3].into();
                let column = r.below(COLS as u64);
                x.column.next = column.into();
                x.pop.next = pop;
                x.clear.next = clear;
                x = sim.wait(1, x)?;
                sim_assert_eq!(sim, x.push_ready.val(), model.len() < depth, x);
                sim_assert_eq!(sim, x.nonempty.val(), !model.is_empty(), x);
                if let Some((spikes, p)) = model.front() {
                    sim_assert_eq!(sim, x.spike.val().to_u64(), spikes[column as usize], x);
                    sim_assert_eq!(sim, x.place.neuron.val().to_u64(), p[0], x);
                    sim_assert_eq!(sim, x.place.timestep_base.val().to_u64(), p[1], x);
                    sim_assert_eq!(sim, x.place.first_column.val().to_u64(), p[2], x);
                    sim_assert_eq!(sim, x.place.group_start.val().to_u64(), p[3], x);
                }
                fulls += usize::from(model.len() == depth);
                let pushed = push && model.len() < depth;
                if pop {
                    model.pop_front();
                }
                if pushed {
                    pushes += 1;
                    model.push_back((beat, place));
                }
                if clear {
                    model.clear();
                }
                wait_clock_cycle!(sim, clock, x);
            }
            // Both ends exercised: full often, and many beats through.
            sim_assert!(sim, fulls > 100 && pushes > 1000, x);
            sim.done(x)
        });
        sim.run(Box::new(uut), 1_000_000).unwrap();
    }
}
