//! The analytic cycle model: how many clock cycles and DMA bytes a layer takes
//! on a given accelerator configuration, computed from its descriptor alone, so
//! a sweep can report fps without simulating every image.
//!
//! It is the shell's cycle formula (docs/controller.md "Cycle formula"): the
//! controller runs one phase after the other (fetch, size arithmetic, checks,
//! input planes, then per output tile: parameters, weights, the core, and at
//! the end the write-back), so the count is a sum of phase lengths, less what
//! runs at once ([`LayerCycles::overlap`]): the loads that double buffering
//! hides behind the core (layers whose tile fits half the weight banks: the
//! next tile's parameters and weights, or the next gather row, load while the
//! core runs), an im2col layer's first gather row of a tile, generated
//! during the tile's loads, and the output buffer's clear beside the input
//! planes' read. The size arithmetic's steps follow its operands
//! (`super::math`), and the write-back is a walk of its beats and bursts
//! (`write_back`). The runs
//! themselves follow the core's states and the spike queue that takes their
//! Emit beats, run by run (`schedule`). For a
//! memory that answers every read command with its first beat `L` cycles
//! later and every write burst with its response `L` cycles after the last
//! beat, with no backpressure, the formula is **exact**: `hdl/tests/integration/shell.rs`
//! checks it equal to the RTL's `CNT_CYCLES` in rust-hdl's simulator, and
//! `sim/tests/shell.rs` and `tests/tests/integration/network_sim.rs` against the Verilated
//! shell. The bare core's part ([`tile_cycles`]) is checked on its own against
//! the Verilated core in `tests/tests/integration/cycle_model.rs`.

use super::buffers::{output_words, BufferPlan};
use super::descriptor::{LayerDescriptor, LayerKind, DESCRIPTOR_BYTES, DESCRIPTOR_WORDS};
use super::layout;
use super::math;
use super::AcceleratorConfig;
use crate::golden::{LayerOutput, MatmulLayer};
use crate::numeric::WeightBits;
use serde::{Deserialize, Serialize};

pub mod formula;
pub mod machines;
mod schedule;
pub mod write_back;

pub use machines::{bare_core_cycles, run_cycles, CoreMachines};
use schedule::{TilePlan, TileSchedule};

/// Gearbox fields of a descriptor's fetch: one per 32-bit word.
pub const DESCRIPTOR_FETCH_FIELDS: u64 = DESCRIPTOR_WORDS as u64;
/// Emit beats the shell's spike queue holds (hdl/src/controller/spike_queue.rs):
/// the core may be this many timesteps ahead of the output buffer's writes.
/// Eight: a run of up to 8 timesteps (BB 64 at `b_w = 8` and `b_s = 1`)
/// queues all its beats, so that allocations of one Bit Budget differ little
/// in cycles (at 4, the VGG net's 8/1/8 ran 9% slower than its 8/8/1).
pub const SPIKE_QUEUE_DEPTH: u64 = 8;
/// Spike bits the spike queue writes into the output buffer a cycle: bit `j`
/// of two columns (neurons `P` apart), one through each of the buffer's two
/// ports (hdl/src/output_buffer.rs), so an Emit beat of `C` columns of `b_s`
/// bits takes `ceil(C / 2) b_s` cycles to write: a beat's cycles follow its
/// `b_s`, as a run's follow `b_s T`.
pub const SPIKE_WRITE_PORTS: u64 = 2;
/// Timesteps of a layer whose positions the spike queue writes in pairs
/// ([`pairs_positions`]): the queue holds an even position's beats, one slot a
/// timestep, until the next position's come.
pub const PAIRED_TIMESTEPS_MAX: u64 = 4;

/// The spike queue writes the layer's positions in pairs: on an accelerator
/// built with `spike_pairs`, a spiking layer with an even number of positions
/// P, one group, and at most [`PAIRED_TIMESTEPS_MAX`] timesteps. Its runs go
/// position by position through each tile (one group: every run of the tile
/// has its columns), and
/// output neurons `(o0 + c) P + p` and `+ 1` (p even) are adjacent bits of one
/// output-buffer word, so the queue writes bit j of both in one write and a
/// pair of beats takes the cycles of one: the writes of such a layer follow
/// `b_s T / 2` per position (hdl/src/controller/spike_queue.rs).
pub fn pairs_positions(config: &AcceleratorConfig, d: &LayerDescriptor) -> bool {
    config.spike_pairs
        && !d.readout
        && d.positions.is_multiple_of(2)
        && d.positions > 0
        && d.groups == 1
        && u64::from(d.timesteps) <= PAIRED_TIMESTEPS_MAX
}

/// One output tile's shape, as the core sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TileShape {
    /// Fan-in K: weight/slice beats per chunk.
    pub fan_in: u64,
    /// Input spike bits `b_in`.
    pub input_bits: u64,
    pub timesteps: u64,
    /// The input is the same at every timestep: one timestep's slices, the
    /// current integrated `T` times (`LayerDescriptor::static_input`).
    pub static_input: bool,
    /// Output spike bits `b_s`; `None` for a readout (integrate only).
    pub spike_bits: Option<u64>,
}

impl TileShape {
    /// Binary slice vectors `S = b_in * T` (BB paper Eq. 3 applied over time),
    /// or `b_in` for a static input.
    pub fn slices(&self) -> u64 {
        self.input_bits * self.input_steps()
    }

    /// Timesteps of input streamed: 1 for a static input, else `T`.
    pub fn input_steps(&self) -> u64 {
        if self.static_input {
            1
        } else {
            self.timesteps
        }
    }

    /// The tile of a golden-model layer as the bare core's harness streams it
    /// (`spikeslice_sim::CoreSim`): `timesteps` of input, or one integrated
    /// `timesteps` times when `static_input`.
    pub fn of_layer(layer: &MatmulLayer, timesteps: usize, static_input: bool) -> Self {
        Self {
            fan_in: layer.inputs as u64,
            input_bits: u64::from(layer.input_bits),
            timesteps: timesteps as u64,
            static_input,
            spike_bits: match layer.neurons.output {
                LayerOutput::Spikes { bits } => Some(u64::from(bits)),
                LayerOutput::Membrane => None,
            },
        }
    }

    /// The shape of a descriptor's tiles.
    pub fn of(d: &LayerDescriptor) -> Self {
        Self {
            fan_in: u64::from(d.fan_in),
            input_bits: u64::from(d.input_bits),
            timesteps: u64::from(d.timesteps),
            static_input: d.static_input,
            spike_bits: (!d.readout).then_some(u64::from(d.spike_bits)),
        }
    }
}

/// Cycles of one output tile on the bare `rows x cols` core (`spikes_only`
/// low: the final membranes go out), every stream always ready (an Emit takes
/// one cycle), from the cycle `start` is seen to the cycle `done` is high,
/// both included.
pub fn tile_cycles(shape: &TileShape, rows: u64, cols: u64) -> u64 {
    run_cycles(shape, rows, cols, false, false)
}

/// Cycles an `rows x cols` array adding on every PE in every cycle needs for
/// `macs` synapses (`K O P`) over `slices` binary slices: `LayerCycles::ideal`.
pub fn ideal_cycles(macs: u64, slices: u64, rows: u64, cols: u64) -> u64 {
    (macs * slices).div_ceil(rows * cols)
}

/// The core's runs for one layer: `G` groups x `P` positions x
/// `ceil((O / G) / C)` column tiles, each over the layer's fan-in (for a
/// dense layer, `G = P = 1`).
pub fn layer_tiles(d: &LayerDescriptor, cols: u64) -> u64 {
    let per_group = u64::from(d.outputs / d.groups.max(1));
    u64::from(d.groups) * u64::from(d.positions) * per_group.div_ceil(cols)
}

/// Cycles of a DMA read phase of `fields` gearbox fields (one per cycle): the
/// command, `L` cycles to the first beat, the fields, the completion.
pub fn read_phase_cycles(fields: u64, latency: u64) -> u64 {
    fields + latency + 4
}

/// Cycles of an im2col layer's gather row of `fan_in` entries, generated on
/// chip: the set-up, one entry a cycle, the end (`hdl/src/controller/im2col.rs`).
pub fn generate_phase_cycles(fan_in: u64) -> u64 {
    fan_in + 2
}

/// Cycles of the output write-back of `words` 64-bit words (one DMA command,
/// `beat_bytes` a beat, bursts of at most `max_burst` beats): the walk of
/// [`write_back`].
pub fn write_phase_cycles(words: u64, beat_bytes: u64, max_burst: u64, latency: u64) -> u64 {
    let wpb = beat_bytes / 8;
    let bursts = write_back::bursts_of(words.div_ceil(wpb), max_burst);
    write_back::write_command_cycles(words, wpb, &bursts, latency)
}

/// Timing of the memory system behind the AXI master.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DmaTiming {
    /// Cycles from a read command's handshake to its first beat, and from a
    /// write burst's last beat to its response.
    pub latency: u64,
}

impl Default for DmaTiming {
    fn default() -> Self {
        // ~200 ns to DDR4 through an HP port at 200 MHz (Zynq UltraScale+ TRM
        // UG1085, "PS-PL interfaces"; a typical figure, not measured here).
        Self { latency: 40 }
    }
}

/// Predicted cost of one layer (one descriptor).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct LayerCycles {
    /// Runs of the core (output tiles x positions x groups met).
    pub tiles: u64,
    /// Cycles the core is running: from each run's start to its `done`
    /// (`CNT_BUSY`), Emits waiting for room in the spike queue included.
    pub compute: u64,
    /// Cycles of DMA phases: descriptor fetch, input planes, parameters,
    /// weights, gather rows, write-back (as if nothing overlapped; see
    /// `overlap`).
    pub dma: u64,
    /// Of `dma`, the weight loads (per tile `K C / L` fields of `L` codes,
    /// one per cycle: `AcceleratorConfig::weight_lanes`; `ceil(K / 2)` where
    /// a field carries two inputs' rows, `AcceleratorConfig::weight_rows_per_field`).
    pub weight_load: u64,
    /// Cycles of control: size arithmetic, checks, clearing the output buffer,
    /// the write-back's wait for the spike queue.
    pub control: u64,
    /// PE-cycles of useful work: `K * O * P * S / (R * C)`, i.e. the cycles an
    /// array that adds on every PE in every cycle would need.
    pub ideal: u64,
    /// Bytes the DMA reads (`CNT_DMA_RD`: whole beats, docs/controller.md
    /// "Counters").
    pub dma_read_bytes: u64,
    /// Bytes the DMA writes (`CNT_DMA_WR`: the output region).
    pub dma_write_bytes: u64,
    /// On-chip buffer traffic in bits: every DMA byte written into or read out
    /// of a buffer, plus the buffer reads that feed the array (per compute beat
    /// `C * b_w` weight bits and `R` slice bits; per output tile `3C`
    /// parameters of the membrane width, which the tile's later runs keep).
    pub buffer_bits: u64,
    /// Cycles of `dma + control` that ran at once with other work: the next
    /// tile's loads behind the current tile (double buffering, docs/controller.md
    /// "Double buffering"), an im2col tile's first gather row during its loads.
    pub overlap: u64,
    /// Total cycles of the layer: `compute + dma + control - overlap`.
    pub total: u64,
}

fieldwise_add!(LayerCycles {
    tiles,
    compute,
    dma,
    weight_load,
    control,
    ideal,
    dma_read_bytes,
    dma_write_bytes,
    buffer_bits,
    overlap,
    total
});

impl LayerCycles {
    /// PE utilization: useful PE-cycles over available PE-cycles.
    pub fn utilization(&self) -> f64 {
        if self.total == 0 {
            0.0
        } else {
            self.ideal as f64 / self.total as f64
        }
    }
}

/// The analytic model of one accelerator configuration.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CycleModel {
    pub config: AcceleratorConfig,
    pub dma: DmaTiming,
}

impl CycleModel {
    pub fn new(config: AcceleratorConfig) -> Self {
        Self {
            config,
            dma: DmaTiming::default(),
        }
    }

    /// The model of a memory that answers after `latency` cycles.
    pub fn with_latency(config: AcceleratorConfig, latency: u64) -> Self {
        Self {
            config,
            dma: DmaTiming { latency },
        }
    }

    /// `CNT_CYCLES` of a chain that runs to the end (from the start to done,
    /// inclusive), on a memory answering every read command and every write
    /// burst after `dma.latency` cycles with no backpressure.
    pub fn chain_cycles(&self, descriptors: &[LayerDescriptor]) -> u64 {
        self.chain(descriptors, 0).1.total
    }

    /// `CNT_DMA_RD` of a chain at window offset `descriptor_offset` that runs
    /// to the end: whole beats, `rd(off, len) = ceil((len + off mod B) / B) * B`
    /// per read; per descriptor the descriptor and the input planes; per tile
    /// the parameters and the weight tile, and (gather) the table rows of every
    /// position and group meeting the tile (each checked as it is read).
    pub fn chain_read_bytes(&self, descriptors: &[LayerDescriptor], descriptor_offset: u64) -> u64 {
        self.chain(descriptors, descriptor_offset).1.dma_read_bytes
    }

    /// Cycles the write-backs of `descriptors` take beyond [`Self::chain_cycles`]
    /// when the window sits at physical address `base`: the model counts
    /// `ceil(beats / max_burst)` write bursts per output region, while the DMA
    /// also splits bursts at every 4 KiB boundary (AXI4 forbids crossing one;
    /// docs/shell.md, "Burst splitting"). The write engine has one burst in
    /// flight, so each extra burst waits for the previous one's response, as
    /// a `max_burst` split does ([`write_back`]).
    pub fn write_split_cycles(&self, descriptors: &[LayerDescriptor], base: u64) -> u64 {
        let cfg = &self.config;
        let b = cfg.axi_data_bytes as u64;
        let max_burst = cfg.max_burst_beats as u64;
        let l = self.dma.latency;
        let mut extra = 0;
        for d in descriptors {
            for (offset, bytes) in d.output_planes() {
                let words = (bytes as u64).div_ceil(8);
                let beats = words.div_ceil(b / 8);
                let (mut a, mut n, mut bursts) = (base + u64::from(offset), beats, vec![]);
                while n > 0 {
                    let k = n.min(max_burst).min((4096 - a % 4096) / b).max(1);
                    a += k * b;
                    n -= k;
                    bursts.push(k);
                }
                extra += write_back::write_command_cycles(words, b / 8, &bursts, l)
                    - write_phase_cycles(words, b, max_burst, l);
            }
        }
        extra
    }

    /// Bytes a read of `len` bytes at `offset` moves: whole beats.
    fn read_bytes(&self, offset: u64, len: u64) -> u64 {
        let b = self.config.axi_data_bytes as u64;
        (len + offset % b).div_ceil(b) * b
    }

    /// Predict one layer, the descriptor at window offset `at`.
    pub fn layer(&self, d: &LayerDescriptor, at: u64) -> LayerCycles {
        let cfg = &self.config;
        let (r, c) = (cfg.rows as u64, cfg.cols as u64);
        let l = self.dma.latency;
        let rd = |fields| read_phase_cycles(fields, l);
        let shape = TileShape::of(d);
        let (k, o) = (u64::from(d.fan_in), u64::from(d.outputs));
        let p = u64::from(d.positions);
        let s = shape.slices();
        let plane_words = u64::from(d.input_len).div_ceil(64);
        let out_words = output_words(d);
        let gather = d.kind != LayerKind::Dense;
        // A gather row: read from the table, or generated (im2col).
        let row_read = if d.kind == LayerKind::Im2col {
            generate_phase_cycles(k)
        } else {
            rd(k)
        };
        let tile_bytes = WeightBits::new(u32::from(d.weight_bits))
            .map_or(0, |wb| layout::weight_tile_bytes(k as usize, cfg.cols, wb))
            as u64;

        // Gearbox fields of a weight tile: `C / L` per input, `L` codes each,
        // or one per two inputs where two rows fit a field.
        let rows_per_field = cfg.weight_rows_per_field(d.weight_bits) as u64;
        let weight_fields = k.div_ceil(rows_per_field) * (c / cfg.weight_lanes() as u64);

        // Double buffering (docs/controller.md): a layer whose tile (and gather row)
        // fits half the weight banks (and the row buffer) loads the next tile, or
        // the next gather row, while the core runs.
        let double = k <= BufferPlan::new(cfg).double_buffer_depth() as u64;
        // Per tile: its set-up (TileStart, GAdv) and loads (parameters,
        // weights), and the groups its columns meet.
        let mut tile_plan: Vec<TilePlan> = Vec::new();

        let mut x = LayerCycles::default();
        // Fetch, decode, size arithmetic, region and fit checks (a gather
        // layer's entries are checked as each run reads its row).
        x.dma += rd(DESCRIPTOR_FETCH_FIELDS);
        x.control += math::run(d, r, c).cycles();
        x.dma_read_bytes += self.read_bytes(at, DESCRIPTOR_BYTES as u64);
        // Input planes, and beside them the output buffer's clear, a word a
        // cycle from Act's first cycle: Clr waits for what is left of it, at
        // least a cycle. Everything before the first TileStart, then the tile
        // loop.
        let planes = rd(s * plane_words);
        let before_tiles = x.dma + x.control + (planes + 1).max(out_words);
        x.dma += planes;
        x.dma_read_bytes += self.read_bytes(u64::from(d.input), s * plane_words * 8);
        x.control += out_words;
        let (mut o0, mut g_lo, mut tile) = (0u64, 0u64, 0u64);
        while o0 < o {
            let nv = c.min(o - o0);
            let tile_groups = d.tile_groups(o0, c);
            let advance = tile_groups.start() - g_lo; // steps to the tile's first group
            g_lo = *tile_groups.start();
            x.control += 2 + advance + 1; // TileStart, GAdv, TileEnd
            x.dma += rd(3 * nv) + rd(weight_fields);
            let groups = if gather {
                tile_groups.end() - tile_groups.start() + 1
            } else {
                1
            };
            tile_plan.push(TilePlan {
                setup: 2 + advance,
                loads: rd(3 * nv) + rd(weight_fields),
                groups,
            });
            x.weight_load += rd(weight_fields);
            x.dma_read_bytes += self.read_bytes(u64::from(d.params) + 12 * o0, 12 * nv)
                + self.read_bytes(u64::from(d.weights) + tile * tile_bytes, tile_bytes);
            if gather {
                // PosStart; per position GrpStart; per (position, group) the
                // gather row, CoreGo (Grow's last cycle primes the row: GPre only
                // waits for a busy core), the core, RunEnd. Double buffered,
                // CoreGo takes the step of RunEnd and of a later position's
                // GrpStart. Every run after the tile's first keeps its
                // parameters in the core.
                x.control += if double {
                    2 + p * groups
                } else {
                    1 + p * (1 + groups * 2)
                };
                x.dma += p * groups * row_read;
                x.tiles += p * groups;
                if d.kind == LayerKind::Gather {
                    for pos in 0..p {
                        for grp in tile_groups.clone() {
                            x.dma_read_bytes += self.read_bytes(d.gather_row(grp, pos), 4 * k);
                        }
                    }
                }
            } else {
                x.control += 1; // CoreGo
                x.tiles += 1;
            }
            o0 += c;
            tile += 1;
        }
        // The write-back: a write phase per DMA command, the output at once or
        // each plane of a strided output (`LayerDescriptor::output_planes`;
        // OutWait goes back to OutCmd in the cycle it would go to Next).
        let write_back: u64 = d
            .output_planes()
            .iter()
            .map(|&(_, bytes)| {
                write_phase_cycles(
                    (bytes as u64).div_ceil(8),
                    cfg.axi_data_bytes as u64,
                    cfg.max_burst_beats as u64,
                    l,
                )
            })
            .sum();
        x.dma += write_back;
        x.control += 1; // Next
        let schedule = TileSchedule {
            gather,
            positions: p,
            row_read,
            early_row: d.kind == LayerKind::Im2col,
            core: CoreMachines::new(&shape, r, c, true),
            params_taken: 3 * c + 1,
            beat_writes: c.div_ceil(SPIKE_WRITE_PORTS) * shape.spike_bits.unwrap_or(0),
            paired_timesteps: pairs_positions(cfg, d).then_some(shape.timesteps),
        };
        let run = schedule.cycles(&tile_plan, double);
        x.compute = run.busy;
        x.control += run.queue_wait; // OutCmd waits for the spike queue
        x.total = before_tiles + run.tile_loop + write_back + 1;
        x.overlap = x.compute + x.dma + x.control - x.total;
        x.dma_write_bytes = d
            .regions(cfg)
            .iter()
            .filter(|r| r.write)
            .map(|r| r.bytes as u64)
            .sum();
        x.ideal = ideal_cycles(k * o * p, s, r, c);
        let beats = x.tiles * s.div_ceil(r) * k;
        x.buffer_bits = 8 * (x.dma_read_bytes + x.dma_write_bytes)
            + beats * (c * u64::from(d.weight_bits) + r)
            + tile * 3 * c * u64::from(cfg.membrane_bits);
        x
    }

    /// Predict a chain whose descriptors start at window offset
    /// `descriptor_offset`: per layer, and the whole run (`CNT_CYCLES`: the
    /// layers plus the final cycle).
    pub fn chain(
        &self,
        descriptors: &[LayerDescriptor],
        descriptor_offset: u64,
    ) -> (Vec<LayerCycles>, LayerCycles) {
        let layers: Vec<LayerCycles> = descriptors
            .iter()
            .enumerate()
            .map(|(i, d)| self.layer(d, descriptor_offset + (DESCRIPTOR_BYTES * i) as u64))
            .collect();
        let mut total = LayerCycles::default();
        for l in &layers {
            total.add(l);
        }
        total.control += 1; // Finish
        total.total += 1;
        (layers, total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chunk_costs_its_fan_in() {
        let base = TileShape {
            fan_in: 100,
            input_bits: 1,
            timesteps: 4,
            static_input: false,
            spike_bits: Some(1),
        };
        let more_k = TileShape {
            fan_in: 101,
            ..base
        };
        // One chunk of 4 slices on a 4-row core: one more k is one more cycle.
        assert_eq!(tile_cycles(&more_k, 4, 4), tile_cycles(&base, 4, 4) + 1);
        // Two chunks on a 2-row core: one more k is two more cycles.
        assert_eq!(tile_cycles(&more_k, 2, 4), tile_cycles(&base, 2, 4) + 2);
    }

    #[test]
    fn slices_cost_the_same_however_bits_and_timesteps_split_except_the_neuron_steps() {
        let split = |b_in, t| TileShape {
            fan_in: 500,
            input_bits: b_in,
            timesteps: t,
            static_input: false,
            spike_bits: None,
        };
        let a = tile_cycles(&split(1, 8), 8, 8);
        let b = tile_cycles(&split(8, 1), 8, 8);
        // Readout neuron steps: an Integ per timestep.
        assert_eq!(a - b, 8 - 1);
    }

    fn dense(fan_in: u32, outputs: u32) -> LayerDescriptor {
        LayerDescriptor {
            timesteps: 2,
            ..LayerDescriptor::dense(fan_in, outputs)
        }
    }

    #[test]
    fn double_buffering_hides_the_next_tiles_loads_when_half_the_banks_hold_a_tile() {
        // 4 columns, 1 KiB of weights: 256 codes per bank, 128 per half.
        let cfg = AcceleratorConfig {
            rows: 2,
            cols: 4,
            wbuf_bytes: 1024,
            ..AcceleratorConfig::default()
        };
        let model = CycleModel::new(cfg);
        // A run's cycles after CoreGo, its Emits taken at once.
        let core = |k| tile_cycles(&TileShape::of(&dense(k, 4)), 2, 4) - 1;
        for k in [1u32, 17, 128] {
            let four = model.layer(&dense(k, 16), 0);
            assert_eq!(
                four.total + four.overlap,
                four.compute + four.dma + four.control
            );
            // Each of the three later tiles overlaps its loads with a run, and
            // the layer never takes less than its runs back to back.
            assert!(four.overlap > 0, "K {k}");
            assert!(four.total >= 4 * (core(k) + 1), "K {k}");
        }
        // K past half the banks: one tile after the other, nothing hidden but
        // the output buffer's clear beside the (longer) input planes' read,
        // all of it but Clr's one cycle.
        let serial = model.layer(&dense(129, 16), 0);
        assert_eq!(serial.overlap, output_words(&dense(129, 16)) - 1);
        assert_eq!(
            serial.total + serial.overlap,
            serial.compute + serial.dma + serial.control
        );
        // A gather layer reads the next position's row while a run goes: every
        // run but the first hides all but a cycle of the shorter of its row
        // read and the run before it (here a run is 52 cycles, a row read 53).
        let gather = |fan_in| LayerDescriptor {
            kind: LayerKind::Gather,
            positions: 6,
            groups: 2,
            outputs: 8,
            input_len: 50,
            ..dense(fan_in, 8)
        };
        let rows = model.layer(&gather(9), 0);
        let row_read = read_phase_cycles(9, model.dma.latency);
        let run = rows.compute / rows.tiles;
        assert!(
            rows.overlap >= (rows.tiles - 1) * (run.min(row_read) - 1),
            "{rows:?}"
        );
        let serial = gather(129);
        assert_eq!(model.layer(&serial, 0).overlap, output_words(&serial) - 1);
    }
}
