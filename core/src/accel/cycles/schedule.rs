//! The timing of the core's runs inside the shell: the core's machines
//! ([`CoreMachines`]), when the spike queue takes their Emit beats and writes
//! them ([`SpikeQueueModel`]), and the controller's tile loop around the runs
//! ([`TileSchedule`]).

use super::machines::CoreMachines;
use super::SPIKE_QUEUE_DEPTH;
use std::collections::VecDeque;

/// The spike queue as the cycle model sees it (hdl/src/controller/spike_queue.rs):
/// it takes an Emit beat in a cycle it holds fewer than [`SPIKE_QUEUE_DEPTH`]
/// beats, and writes its head beat `ceil(C / 2) b_s` cycles, two bits a cycle
/// ([`super::SPIKE_WRITE_PORTS`]), from the
/// cycle after the beat was taken or the one after the previous beat's last
/// write; a beat leaves the queue (`pop`) in the cycle of its last write.
/// A layer whose positions go in pairs ([`super::pairs_positions`]): an even
/// position's beats are held, taken at once, and its partner's are queued and
/// written with them.
#[derive(Debug, Clone, Default)]
pub(super) struct SpikeQueueModel {
    /// Cycles a beat takes to write (`ceil(C / 2) b_s`).
    beat_writes: u64,
    /// `T` of a layer whose positions go in pairs.
    paired_timesteps: Option<u64>,
    /// Beats offered so far (T a run, runs in position order).
    offered: u64,
    /// The cycles the queued beats leave, oldest first.
    pops: VecDeque<u64>,
    /// The cycle the last beat taken leaves.
    last_pop: Option<u64>,
}

impl SpikeQueueModel {
    pub(super) fn new(beat_writes: u64, paired_timesteps: Option<u64>) -> Self {
        Self {
            beat_writes,
            paired_timesteps,
            ..Self::default()
        }
    }

    /// The core offers an Emit beat from cycle `offered`: the cycle the queue
    /// takes it (its count, registered, counts the beats taken and not left
    /// before the cycle).
    pub(super) fn take(&mut self, offered: u64) -> u64 {
        let beat = self.offered;
        self.offered += 1;
        if self
            .paired_timesteps
            .is_some_and(|t| (beat / t).is_multiple_of(2))
        {
            // An even position's beat: held.
            return offered;
        }
        while self.pops.front().is_some_and(|&p| p < offered) {
            self.pops.pop_front();
        }
        let taken = if (self.pops.len() as u64) < SPIKE_QUEUE_DEPTH {
            offered
        } else {
            // Full: room from the cycle after the oldest beat leaves.
            self.pops.pop_front().map_or(offered, |p| p + 1)
        };
        let first_write = match self.last_pop {
            Some(p) => (taken + 1).max(p + 1),
            None => taken + 1,
        };
        let pop = first_write + self.beat_writes - 1;
        self.pops.push_back(pop);
        self.last_pop = Some(pop);
        taken
    }

    /// The first cycle the queue is empty once every beat taken is written.
    pub(super) fn drained(&self) -> u64 {
        self.last_pop.map_or(0, |p| p + 1)
    }
}

/// The controller's tile loop as a schedule of its FSM and its compute engine
/// (docs/controller.md, "Double buffering"): serially the FSM waits for every run;
/// double buffered it goes on loading, and only CoreGo (dense) or the priming of
/// the next gather row (in Grow's last cycle, or in GPre) waits for the core to
/// take the next run,
/// and the next tile's TileStart for the running tile to have taken its
/// parameters. The runs' Emit beats go through the spike queue, which the
/// write-back (OutCmd) waits to be written.
pub(super) struct TileSchedule {
    pub gather: bool,
    pub positions: u64,
    /// Cycles of one gather-row read (or generation).
    pub row_read: u64,
    /// A tile's first row is generated from the first cycle of its loads
    /// (an im2col layer: the generator needs no DMA), not after them.
    pub early_row: bool,
    /// The core, idle, for the layer's runs.
    pub core: CoreMachines,
    /// Cycles after CoreGo at which a tile's first run has taken its 3C
    /// parameters.
    pub params_taken: u64,
    /// Cycles the spike queue takes to write one Emit beat (`ceil(C / 2) b_s`).
    pub beat_writes: u64,
    /// `T` of a layer whose positions the queue writes in pairs.
    pub paired_timesteps: Option<u64>,
}

/// A column tile of the tile loop.
pub(super) struct TilePlan {
    /// TileStart and GAdv's cycles, before the tile's first read.
    pub setup: u64,
    /// The parameter and weight reads.
    pub loads: u64,
    /// The groups its columns meet (1 for a dense layer).
    pub groups: u64,
}

/// What [`TileSchedule::cycles`] finds.
pub(super) struct ScheduleCycles {
    pub tile_loop: u64,
    pub busy: u64,
    pub queue_wait: u64,
}

/// The core and its spike queue, stepped as far as the FSM has looked.
struct Engine {
    core: CoreMachines,
    queue: SpikeQueueModel,
    /// The cycle the running tile's parameters count as taken.
    taken: u64,
}

impl Engine {
    fn step(&mut self, start: Option<bool>) -> super::machines::Cycle {
        let queue = &mut self.queue;
        self.core.step(start, &mut |e| queue.take(e))
    }

    /// A cycle without a start, or the cycles [`CoreMachines::skip`] takes at
    /// once (up to `limit`).
    fn step_or_skip(&mut self, limit: u64) {
        if self.core.skip(limit) == 0 {
            self.step(None);
        }
    }

    fn advance_to(&mut self, t: u64) {
        while self.core.t < t {
            self.step_or_skip(t);
        }
    }

    /// The first cycle from `t` on at which the core takes a start.
    fn ready_at(&mut self, t: u64, keep_params: bool) -> u64 {
        self.advance_to(t);
        while !self.core.ready(keep_params) {
            self.step_or_skip(u64::MAX);
        }
        self.core.t
    }

    /// A start at `t`, where the core takes it.
    fn start(&mut self, t: u64, keep_params: bool) {
        self.advance_to(t);
        let cycle = self.step(Some(keep_params));
        debug_assert!(cycle.accepted, "a start the core does not take at {t}");
    }

    /// The cycle of the next `done`.
    fn next_done(&mut self) -> u64 {
        loop {
            // No run ends in skipped cycles: the neuron machine is idle in them.
            if self.core.skip(u64::MAX) == 0 && self.step(None).done {
                return self.core.t - 1;
            }
        }
    }

    /// The first cycle no run is in flight.
    fn all_done(&mut self) -> u64 {
        while !self.core.idle() {
            self.step_or_skip(u64::MAX);
        }
        self.core.t
    }
}

impl TileSchedule {
    /// The FSM's step into CoreGo at `t`: start the run (the core takes it at
    /// `t`: the FSM waited for that); the cycle the FSM moves on from.
    fn go(&self, t: u64, first: bool, engine: &mut Engine, double: bool) -> u64 {
        engine.start(t, !first);
        // A later run of the tile takes no parameters: they count as taken in
        // the cycle after CoreGo.
        engine.taken = t + if first { self.params_taken } else { 1 };
        if double {
            t + 1
        } else {
            engine.next_done() + 1
        }
    }

    /// For the layer's tiles: the cycles from the first TileStart to the
    /// cycle the write-back starts, the cycles the core is busy in them
    /// (`CNT_BUSY`), and the cycles OutCmd waits for the spike queue after the
    /// last run.
    pub fn cycles(&self, tiles: &[TilePlan], double: bool) -> ScheduleCycles {
        // `t`: the cycle the FSM enters its next state.
        let mut t = 0u64;
        let mut engine = Engine {
            core: self.core.clone(),
            queue: SpikeQueueModel::new(self.beat_writes, self.paired_timesteps),
            taken: 0,
        };
        for tile in tiles {
            // TileStart waits for the running tile to take its parameters.
            let start = t.max(engine.taken) + tile.setup;
            if self.gather {
                // PosStart and GrpStart set position 0's window, then the
                // loads; Grow follows them.
                let loads = start + 2;
                t = loads + tile.loads;
                for pos in 0..self.positions {
                    if pos > 0 && !double {
                        // GrpStart (double buffered, CoreGo takes its step).
                        t += 1;
                    }
                    for grp in 0..tile.groups {
                        t = if self.early_row && pos == 0 && grp == 0 {
                            // Grow waits for the row begun with the loads
                            // (K + 2 cycles from their first), one cycle at least.
                            (t + 1).max(loads + self.row_read)
                        } else {
                            t + self.row_read
                        };
                        let first = pos == 0 && grp == 0;
                        // Grow's last cycle primes the row if the core would
                        // take the run, else GPre waits until it would; CoreGo.
                        t = engine.ready_at(t - 1, !first) + 1;
                        t = self.go(t, first, &mut engine, double);
                        if !double {
                            // RunEnd (double buffered, CoreGo takes its step and
                            // the next row is made from the next cycle).
                            t += 1;
                        }
                    }
                }
            } else {
                t = engine.ready_at(start + tile.loads, false); // CoreGo
                t = self.go(t, true, &mut engine, double);
            }
            t += 1; // TileEnd
        }
        // OutCmd waits for the last run and for the spike queue.
        let run_end = t.max(engine.all_done());
        let end = run_end.max(engine.queue.drained());
        ScheduleCycles {
            tile_loop: end,
            busy: engine.core.busy,
            queue_wait: end - run_end,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::TileShape;
    use super::*;

    #[test]
    fn the_queue_takes_beats_while_it_has_room() {
        let depth = SPIKE_QUEUE_DEPTH;
        let mut q = SpikeQueueModel::new(10, None);
        // Beats offered back to back: the first `depth` are taken at once.
        let taken: Vec<u64> = (0..depth + 2).map(|i| q.take(100 + i)).collect();
        for (i, &t) in taken.iter().enumerate().take(depth as usize) {
            assert_eq!(t, 100 + i as u64);
        }
        // The first beat is written in cycles 101..=110 and leaves in 110: the
        // queue has room again from 111; the second leaves in 120.
        assert_eq!(taken[depth as usize], 111);
        assert_eq!(taken[depth as usize + 1], 121);
        // depth + 2 beats of 10 cycles each, from cycle 101.
        assert_eq!(q.drained(), 101 + 10 * (depth + 2));
        // An idle queue takes a beat at once and writes it from the next cycle.
        let mut idle = SpikeQueueModel::new(3, None);
        assert_eq!(idle.take(7), 7);
        assert_eq!(idle.drained(), 11);
        // Positions in pairs, T = 2: the even position's beats are held (taken
        // at once, even while the queue is full), and its partner's go as the
        // only beats of an unpaired queue would.
        let mut paired = SpikeQueueModel::new(10, Some(2));
        let mut alone = SpikeQueueModel::new(10, None);
        let mut waited = 0;
        for i in 0..4 * (depth + 2) {
            let taken = paired.take(100 + i);
            if (i / 2) % 2 == 0 {
                assert_eq!(taken, 100 + i, "held beat {i}");
            } else {
                assert_eq!(taken, alone.take(100 + i), "queued beat {i}");
                waited += taken - (100 + i);
            }
        }
        assert!(waited > 0, "the queue never filled");
        assert_eq!(paired.drained(), alone.drained());
    }

    #[test]
    fn an_early_row_hides_behind_the_tiles_loads() {
        let shape = TileShape {
            fan_in: 20,
            input_bits: 1,
            timesteps: 2,
            static_input: false,
            spike_bits: Some(1),
        };
        let schedule = |early_row, row_read| TileSchedule {
            gather: true,
            positions: 3,
            row_read,
            early_row,
            core: CoreMachines::new(&shape, 4, 4, true),
            params_taken: 13,
            beat_writes: 2,
            paired_timesteps: None,
        };
        for (loads, row_read) in [(30, 22), (30, 31), (30, 32), (5, 90)] {
            let tiles = [
                TilePlan {
                    setup: 2,
                    loads,
                    groups: 2,
                },
                TilePlan {
                    setup: 3,
                    loads,
                    groups: 1,
                },
            ];
            // Serially every tile's first row saves what the loads hide of
            // it: all but Grow's one cycle, or the loads' length.
            let (late, early) = (
                schedule(false, row_read).cycles(&tiles, false),
                schedule(true, row_read).cycles(&tiles, false),
            );
            let saved = (row_read - 1).min(loads);
            assert_eq!(
                late.tile_loop - early.tile_loop,
                2 * saved,
                "{loads} {row_read}"
            );
            assert_eq!(late.busy, early.busy);
            // Double buffered the previous tile's last run hides part of the
            // loads too: the row saves at most as much.
            let (late, early) = (
                schedule(false, row_read).cycles(&tiles, true),
                schedule(true, row_read).cycles(&tiles, true),
            );
            assert!(early.tile_loop < late.tile_loop);
            assert!(late.tile_loop - early.tile_loop <= 2 * saved);
        }
    }
}
