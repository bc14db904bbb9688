//! The descriptor-driven controller of the accelerator shell (docs/controller.md).
//! On `start` it runs `DESC_COUNT` layer descriptors from `DESC_OFFSET` through the
//! DMA, with no host between layers, and leaves the window exactly as
//! `spikeslice_core::accel::functional::execute` does.
//!
//! Per descriptor one FSM steps through the phases; their datapaths are blocks:
//! [`Descriptor`] (the field registers and decode checks, from core's descriptor
//! table), [`ReadPhase`] (every DMA read) with [`Loads`] (what each read phase
//! reads and where its fields go), [`LayerSizes`] (the math phase: the table
//! [`SEQUENCE`] through one [`MulDiv`]), [`LayerChecks`] (regions, fit, gather
//! entries), [`TileWalk`] (tiles, positions, groups, the halves of double
//! buffering), [`Feeder`] (runs a tile on the core beside the FSM, so that loads
//! can run behind it) and [`WriteBack`]. The descriptor's fields and the sizes
//! reach the blocks as two bundles ([`LayerFields`], [`Sizes`], `join`ed); the
//! DMA engines are [`ReadClient`] and [`WriteClient`], linked through. The FSM
//! keeps the order of the phases, the error report and the counters.
//!
//! ```text
//! Desc                      the 64-byte descriptor
//! Decode                    magic/version (code 1), kind (2, at + 8), fields (2)
//! MathSet/MathRun/MathStore the sizes: the products and quotients of
//!                           spikeslice_core::accel::math's SEQUENCE
//! Regions, Fit              O mod G (2); regions inside the window (3); buffers (6)
//! Act, Clr                  the input planes into the activation banks; beside
//!                           them the output buffer's words of this layer to
//!                           zero, Clr waiting for the last
//! per column tile of C outputs:
//!   TileStart/GAdv          valid columns; the tile's first group
//!   gather: PosStart/GrpStart  position 0, the group's window
//!   Par, Wgt                parameters (threshold <= 0: code 2), weights
//!   dense:  CoreGo/CoreRun  the feeder runs the tile
//!   gather: per position, per group meeting the tile: (GrpStart,) Grow
//!                           (the gather row, read; a bad entry: code 2 at the
//!                           entry; an im2col layer's generated, the tile's
//!                           first from the first cycle of Par), GPre (if the
//!                           core would not take the run in Grow's last cycle),
//!                           CoreGo/CoreRun, RunEnd (serial)
//!   TileEnd                 next tile, or the write-back
//! OutCmd/OutWr/OutWait      the output buffer -> the layer's output region
//! Next                      next descriptor, or Finish / Fail (once the feeder
//!                           is idle)
//! ```
//!
//! Double buffered (K <= half the bank depth), CoreGo does not wait for the run:
//! dense, it goes on to TileEnd and the next tile's TileStart..Wgt (TileStart waits
//! until the running tile has taken its parameters); gather, straight to the next
//! row's Grow, the walk taking RunEnd's step (and a new position's GrpStart) with the
//! start; Grow's last cycle primes the row, or GPre waits, until the core would take
//! the run. CoreGo and OutCmd wait until the feeder is idle.
//!
//! Every DMA error (refused command, SLVERR, DECERR) ends the run with the DMA's code
//! and offset; the controller waits for the DMA's completion pulse first, so it never
//! leaves a command half done (except on soft reset, where Idle drains the engines).

mod checks;
mod descriptor;
mod feeder;
mod fsm;
mod im2col;
mod loads;
mod muldiv;
mod read_phase;
mod sizes;
mod spike_queue;
mod state;
mod walk;
mod weight_banks;
mod writeback;

use crate::buffer::{Bram, BRAM_ADDR_BITS};
use crate::dma::{ReadClient, WriteClient};
use crate::output_buffer::OutputBuffer;
use crate::pe::W_BITS;
pub use checks::LayerChecks;
pub use descriptor::{Descriptor, DescriptorField, Layer, LayerFields};
pub use feeder::{Feeder, ParamLoad, TileRun};
pub use im2col::{GenStep, Im2colRow};
pub use loads::Loads;
pub use muldiv::MulDiv;
pub use read_phase::{ReadPhase, ReadStep};
use rust_hdl::prelude::*;
pub use sizes::{LayerSizes, Op, Operand, Size, Sizes, SizesIn, SEQUENCE};
pub use state::CtlState;
pub use walk::TileWalk;
pub use weight_banks::WeightBanks;
pub use writeback::WriteBack;

// The cycle formula (`spikeslice_core::accel::cycles`) is core's, the contract the
// driver's cycle model and this RTL share: the RTL's sequencing keeps it exact
// (hdl/tests/integration/shell.rs). So is the buffer plan: the compiler and the functional
// model refuse what the Fit state refuses.
pub use spikeslice_core::accel::buffers::BufferPlan;

/// The controller, with its buffers. `D`/`S`: DMA beat bits/bytes, `W2` = 2 * D,
/// `MEM`: membrane width of the core.
#[derive(LogicBlock, Default)]
pub struct Controller<const D: usize, const S: usize, const W2: usize, const MEM: usize> {
    pub clock: Signal<In, Clock>,
    /// Synchronous reset (AXI reset or CTRL soft reset).
    pub rst: Signal<In, Bit>,
    pub start: Signal<In, Bit>,
    pub buf_size: Signal<In, Bits<32>>,
    pub desc_offset: Signal<In, Bits<32>>,
    pub desc_count: Signal<In, Bits<32>>,
    pub busy: Signal<Out, Bit>,
    /// High from the end of a run to the next start (the CSR sets STATUS.done on its
    /// rising edge).
    pub done: Signal<Out, Bit>,
    pub error: Signal<Out, Bit>,
    pub error_code: Signal<Out, Bits<8>>,
    pub desc_index: Signal<Out, Bits<32>>,
    pub err_offset: Signal<Out, Bits<32>>,
    /// Start pulse for the DMA's counters.
    pub cnt_clear: Signal<Out, Bit>,
    pub cnt_cycles: Signal<Out, Bits<64>>,
    pub cnt_busy: Signal<Out, Bits<64>>,
    pub cnt_pe_adds: Signal<Out, Bits<64>>,
    pub cnt_slices: Signal<Out, Bits<64>>,
    pub cnt_spikes: Signal<Out, Bits<64>>,
    /// The DMA's read engine (every read phase) and write engine (the write-back).
    pub dma_rd: ReadClient<D>,
    pub dma_wr: WriteClient<D>,
    // Core (hdl/src/sequencer.rs) configuration and streams.
    pub c_cfg_k: Signal<Out, Bits<16>>,
    pub c_cfg_slices: Signal<Out, Bits<10>>,
    pub c_cfg_b_in: Signal<Out, Bits<4>>,
    pub c_cfg_b_w: Signal<Out, Bits<4>>,
    pub c_cfg_b_s: Signal<Out, Bits<4>>,
    pub c_cfg_lif: Signal<Out, Bit>,
    pub c_cfg_leak: Signal<Out, Bits<8>>,
    pub c_cfg_hard: Signal<Out, Bit>,
    pub c_cfg_readout: Signal<Out, Bit>,
    pub c_cfg_repeats: Signal<Out, Bits<7>>,
    pub c_start: Signal<Out, Bit>,
    pub c_keep_params: Signal<Out, Bit>,
    pub c_busy: Signal<In, Bit>,
    pub c_ready: Signal<In, Bit>,
    pub c_done: Signal<In, Bit>,
    pub c_error: Signal<In, Bit>,
    pub c_par_valid: Signal<Out, Bit>,
    pub c_par_ready: Signal<In, Bit>,
    pub c_par_data: Signal<Out, Bits<MEM>>,
    pub c_wgt_valid: Signal<Out, Bit>,
    pub c_wgt_ready: Signal<In, Bit>,
    pub c_wgt_data: Vec<Signal<Out, Bits<W_BITS>>>,
    pub c_act_valid: Signal<Out, Bit>,
    pub c_act_ready: Signal<In, Bit>,
    pub c_act_data: Vec<Signal<Out, Bit>>,
    pub c_spk_valid: Signal<In, Bit>,
    pub c_spk_ready: Signal<Out, Bit>,
    pub c_spk_data: Vec<Signal<In, Bits<8>>>,
    pub c_mem_valid: Signal<In, Bit>,
    pub c_mem_ready: Signal<Out, Bit>,
    pub c_mem_data: Signal<In, Bits<MEM>>,
    // The blocks.
    desc: Descriptor,
    read: ReadPhase<D, S, W2>,
    /// An im2col layer's gather rows, generated where a table layer's are read.
    row_gen: Im2colRow,
    loads: Loads,
    sizes: LayerSizes,
    checks: LayerChecks,
    feeder: Feeder<MEM>,
    writer: WriteBack<D>,
    // The buffers: weight banks (eight columns' 8-bit codes a word, a write
    // enable per column), activation banks (one per row), the output buffer
    // (64-bit words with a write enable per bit: word-wide and single-bit
    // writes, and spike bits through a second port) and the gather-row buffer.
    weight_banks: WeightBanks,
    act_banks: Vec<Bram<Bits<64>>>,
    out_buffer: OutputBuffer,
    row_buffer: Bram<Bits<32>>,
    // The run: BUF_SIZE, descriptors to run, the descriptor's index and offset.
    state: DFF<CtlState>,
    window_size: DFF<Bits<32>>,
    desc_total: DFF<Bits<32>>,
    desc_idx: DFF<Bits<32>>,
    desc_at: DFF<Bits<32>>,
    /// An im2col layer's next gather row is in the row buffer.
    row_made: DFF<Bit>,
    /// Grow's row is complete: read, generated, or made before Grow.
    row_done: Signal<Local, Bit>,
    /// The read phase's field, as a 32-bit word, and a gather row's entry.
    field32: Signal<Local, Bits<32>>,
    row_entry: Signal<Local, Bits<32>>,
    // The walk over tiles, positions and groups.
    walk: TileWalk,
    // The output buffer's address and word-wide writes.
    out_write_all: Signal<Local, Bit>,
    out_addr: Signal<Local, Bits<32>>,
    // The result (done, error code and offset), and a failure in this cycle.
    done_flag: DFF<Bit>,
    err_code: DFF<Bits<8>>,
    err_at: DFF<Bits<32>>,
    fail_code: Signal<Local, Bits<8>>,
    fail_offset: Signal<Local, Bits<32>>,
    // Counters (the feeder counts PE additions and spikes).
    cycle_count: DFF<Bits<64>>,
    core_busy_cycles: DFF<Bits<64>>,
    slice_count: DFF<Bits<64>>,
    _rows: usize,
    _cols: usize,
}

fn n<T: Default>(k: usize) -> Vec<T> {
    (0..k).map(|_| Default::default()).collect()
}

impl<const D: usize, const S: usize, const W2: usize, const MEM: usize> Controller<D, S, W2, MEM> {
    pub fn new(cfg: &spikeslice_core::accel::AcceleratorConfig) -> Self {
        assert_eq!(D, 8 * cfg.axi_data_bytes, "beat width");
        assert_eq!(S * 8, D);
        assert_eq!(W2, 2 * D);
        let plan = BufferPlan::new(cfg);
        let (rows, cols) = (cfg.rows, cfg.cols);
        Controller {
            c_wgt_data: n(cols),
            c_act_data: n(rows),
            c_spk_data: n(cols),
            desc: Descriptor::new(cfg),
            weight_banks: WeightBanks::new(cols, plan.wbank_depth, cfg.paired_weight_rows()),
            act_banks: (0..rows).map(|_| Bram::new(plan.abank_depth)).collect(),
            out_buffer: OutputBuffer::new(plan.obuf_words),
            row_buffer: Bram::new(plan.wbank_depth),
            walk: TileWalk::new(cols, plan.double_buffer_depth()),
            feeder: Feeder::new(rows, cols, plan.double_buffer_depth(), cfg.spike_pairs),
            sizes: LayerSizes::new(rows, cols),
            row_gen: Im2colRow::new(),
            loads: Loads::for_config(cfg),
            checks: LayerChecks::new(plan.wbank_depth, plan.abank_depth, plan.obuf_words),
            _rows: rows,
            _cols: cols,
            ..Default::default()
        }
    }

    /// The FSM state (for test benches and cycle accounting).
    pub fn fsm_state(&self) -> CtlState {
        self.state.q.val()
    }
}

#[cfg(test)]
mod tests;
