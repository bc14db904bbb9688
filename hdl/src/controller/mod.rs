//! The descriptor-driven controller of the accelerator shell (docs/shell.md,
//! "Controller"). On `start` it runs `DESC_COUNT` layer descriptors from
//! `DESC_OFFSET` through the DMA, with no host between layers, and leaves the window
//! exactly as `spikeslice_core::accel::functional::execute` does.
//!
//! Per descriptor: one FSM for the phases, a compute engine that feeds the core while
//! `crun` is high (so that loads can run behind it), and blocks of their own: the
//! descriptor's field registers and checks ([`Descriptor`], built from core's
//! descriptor table), every DMA read phase ([`ReadPhase`]: command, fields, drain
//! and completion, three steps of its own), the size arithmetic ([`MulDiv`]) and the
//! write-back ([`WriteBack`]). The DMA engines are two bundles, [`ReadClient`] and
//! [`WriteClient`], linked through to the blocks that use them.
//!
//! ```text
//! Desc                     read the 64-byte descriptor (16 words)
//! Decode                   magic/version (code 1), kind (2, at + 8), fields (2)
//! MathSet/MathRun/MathStore 19 multiplies/divides in `MulDiv` (64 cycles each): region
//!                          sizes, tile and plane geometry, O / G
//! Regions                  O mod G (2); weights, params, input, output, gather inside
//!                          the window (code 3)
//! Fit                      on-chip buffer limits (code 6, BufferOverflow)
//! Gchk                     gather layers: every table entry (code 2 at the entry)
//! Act                      all T*b_in input planes -> activation banks (bank r holds
//!                          the planes s with s mod R = r)
//! Clr                      zero the output buffer words of this layer
//! per column tile of C outputs:
//!   TileStart/GAdv         valid columns; first group of the tile
//!   Par                    the tile's bias/threshold/v_init (threshold <= 0: code 2)
//!   Wgt                    the packed tile -> one weight bank per column (code k at
//!                          address k, in the bank half `lwh`)
//!   dense:  CoreGo/CoreRun the compute engine runs the tile: par beats from the
//!                          registers, one (wgt, act) beat per cycle from the banks,
//!                          spikes / final membranes into the output buffer, PE
//!                          additions counted per beat
//!           double buffered (K <= half the bank depth): CoreGo goes on to TileEnd
//!                          and the next tile's TileStart..Wgt while the engine
//!                          runs; TileStart waits until the running tile has taken its
//!                          parameters, CoreGo and OutCmd until the engine is idle
//!   gather: per position, per group meeting the tile: Grow (the
//!           gather row, into the row-buffer half `lgh`), GPre, CoreGo/CoreRun (act
//!           lanes read through the row), RunEnd; double buffered, CoreGo goes on to
//!           RunEnd and the next row read, GPre waits until the engine is idle
//!   TileEnd                next tile, or the write-back
//! OutCmd/OutWr/OutWait     the output buffer -> the layer's output region
//! Next                     next descriptor, or Finish (done) / Fail (error + done,
//!                          once the engine is idle)
//! ```
//!
//! Every DMA error (refused command, SLVERR, DECERR) ends the run with the DMA's code
//! and offset; the controller waits for the DMA's completion pulse first, so it never
//! leaves a command half done (except on soft reset, where Idle drains the engines).

mod checks;
mod descriptor;
mod feeder;
mod loads;
mod muldiv;
mod read_phase;
mod sizes;
mod writeback;

use crate::buffer::{Bram, BRAM_ADDR_BITS};
use crate::dma::{ReadClient, WriteClient};
use crate::pe::W_BITS;
pub use checks::LayerChecks;
pub use descriptor::{Descriptor, DescriptorField};
pub use feeder::{Feeder, ParamLoad, TileRun};
pub use loads::Loads;
pub use muldiv::MulDiv;
pub use read_phase::{ReadPhase, ReadStep};
use rust_hdl::prelude::*;
pub use sizes::{LayerSizes, Op, Operand, Size, SEQUENCE};
pub use writeback::WriteBack;

// The cycle formula lives in core (the contract the driver's cycle model and this
// RTL share); the RTL's sequencing must keep it exact (hdl/tests/shell.rs).
pub use spikeslice_core::accel::cycles::{
    read_phase_cycles, write_phase_cycles, MATH_ITERS, MATH_OPS,
};

#[derive(Copy, Clone, Debug, PartialEq, LogicState)]
pub enum CtlState {
    Idle,
    Desc,
    Decode,
    MathSet,
    MathRun,
    MathStore,
    Regions,
    Fit,
    Gchk,
    Act,
    Clr,
    TileStart,
    GAdv,
    Par,
    Wgt,
    PosStart,
    GrpStart,
    Grow,
    GPre,
    CoreGo,
    CoreRun,
    RunEnd,
    TileEnd,
    OutCmd,
    OutWr,
    OutWait,
    Next,
    Finish,
    Fail,
}

// The buffer plan is part of the contract: the compiler and the functional model
// refuse what the Fit state refuses.
pub use spikeslice_core::accel::buffers::BufferPlan;

/// The controller, with its buffers. `D`/`S`: DMA beat bits/bytes, `W2` = 2 * D,
/// `MEM`: membrane width of the core.
#[derive(LogicBlock)]
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
    pub c_start: Signal<Out, Bit>,
    pub c_busy: Signal<In, Bit>,
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
    // Buffers.
    read: ReadPhase<D, S, W2>,
    writer: WriteBack<D>,
    weight_banks: Vec<Bram<Bits<8>>>,
    act_banks: Vec<Bram<Bits<64>>>,
    out_banks: Vec<Bram<Bit>>,
    row_buffer: Bram<Bits<32>>,
    // FSM.
    state: DFF<CtlState>,
    window_size: DFF<Bits<32>>,
    desc_total: DFF<Bits<32>>,
    desc_idx: DFF<Bits<32>>,
    desc_at: DFF<Bits<32>>,
    // The descriptor's fields (descriptor.rs).
    desc: Descriptor,
    // The layer's sizes (the math phase) and checks.
    sizes: LayerSizes,
    // Gather iteration.
    first_group: DFF<Bits<32>>,
    first_group_table: DFF<Bits<32>>,
    group_start: DFF<Bits<32>>,
    row_at: DFF<Bits<32>>,
    position: DFF<Bits<32>>,
    position_row: DFF<Bits<32>>,
    first_neuron: DFF<Bits<32>>,
    // DMA read phases.
    field32: Signal<Local, Bits<32>>,
    // Tile.
    first_column: DFF<Bits<32>>,
    params_at: DFF<Bits<32>>,
    weights_at: DFF<Bits<32>>,
    columns: DFF<Bits<32>>,
    // The compute feeder runs a tile on the core; with double buffering (`dbl`)
    // the FSM loads the next tile meanwhile, into the other half of the weight
    // banks (`lwh`) and of the gather-row buffer (`lgh`).
    feeder: Feeder<MEM>,
    checks: LayerChecks,
    loads: Loads,
    double_buffer: DFF<Bit>,
    weight_half: DFF<Bit>,
    gather_half: DFF<Bit>,
    k_half: Constant<Bits<32>>,
    // The output buffer's address and writes, and its read-out word.
    out_write_all: Signal<Local, Bit>,
    out_addr: Signal<Local, Bits<32>>,
    out_word: Signal<Local, Bits<64>>,
    // Result.
    done_flag: DFF<Bit>,
    err_code: DFF<Bits<8>>,
    err_at: DFF<Bits<32>>,
    fail_code: Signal<Local, Bits<8>>,
    fail_offset: Signal<Local, Bits<32>>,
    // Counters.
    cycle_count: DFF<Bits<64>>,
    core_busy_cycles: DFF<Bits<64>>,
    slice_count: DFF<Bits<64>>,
    // Constants.
    k_columns: Constant<Bits<64>>,
    k_tile_param_bytes: Constant<Bits<32>>,
    bit_mask: Vec<Constant<Bits<64>>>,
    _rows: usize,
    _cols: usize,
    _obanks: usize,
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
            clock: Default::default(),
            rst: Default::default(),
            start: Default::default(),
            buf_size: Default::default(),
            desc_offset: Default::default(),
            desc_count: Default::default(),
            busy: Default::default(),
            done: Default::default(),
            error: Default::default(),
            error_code: Default::default(),
            desc_index: Default::default(),
            err_offset: Default::default(),
            cnt_clear: Default::default(),
            cnt_cycles: Default::default(),
            cnt_busy: Default::default(),
            cnt_pe_adds: Default::default(),
            cnt_slices: Default::default(),
            cnt_spikes: Default::default(),
            dma_rd: Default::default(),
            dma_wr: Default::default(),
            c_cfg_k: Default::default(),
            c_cfg_slices: Default::default(),
            c_cfg_b_in: Default::default(),
            c_cfg_b_w: Default::default(),
            c_cfg_b_s: Default::default(),
            c_cfg_lif: Default::default(),
            c_cfg_leak: Default::default(),
            c_cfg_hard: Default::default(),
            c_cfg_readout: Default::default(),
            c_start: Default::default(),
            c_busy: Default::default(),
            c_done: Default::default(),
            c_error: Default::default(),
            c_par_valid: Default::default(),
            c_par_ready: Default::default(),
            c_par_data: Default::default(),
            c_wgt_valid: Default::default(),
            c_wgt_ready: Default::default(),
            c_wgt_data: n(cols),
            c_act_valid: Default::default(),
            c_act_ready: Default::default(),
            c_act_data: n(rows),
            c_spk_valid: Default::default(),
            c_spk_ready: Default::default(),
            c_spk_data: n(cols),
            c_mem_valid: Default::default(),
            c_mem_ready: Default::default(),
            c_mem_data: Default::default(),
            read: Default::default(),
            writer: Default::default(),
            desc: Descriptor::new(cfg),
            weight_banks: (0..cols).map(|_| Bram::new(plan.wbank_depth)).collect(),
            act_banks: (0..rows).map(|_| Bram::new(plan.abank_depth)).collect(),
            out_banks: (0..64).map(|_| Bram::new(plan.obuf_words)).collect(),
            row_buffer: Bram::new(plan.wbank_depth),
            state: Default::default(),
            window_size: Default::default(),
            desc_total: Default::default(),
            desc_idx: Default::default(),
            desc_at: Default::default(),
            first_group: Default::default(),
            first_group_table: Default::default(),
            group_start: Default::default(),
            row_at: Default::default(),
            position: Default::default(),
            position_row: Default::default(),
            first_neuron: Default::default(),
            field32: Default::default(),
            first_column: Default::default(),
            params_at: Default::default(),
            weights_at: Default::default(),
            columns: Default::default(),
            feeder: Feeder::new(rows, cols, plan.double_buffer_depth()),
            sizes: LayerSizes::new(rows, cols),
            loads: Loads::new(
                rows,
                cols,
                plan.double_buffer_depth(),
                cfg.loads_weight_rows(),
            ),
            checks: LayerChecks::new(plan.wbank_depth, plan.abank_depth, plan.obuf_words),
            double_buffer: Default::default(),
            weight_half: Default::default(),
            gather_half: Default::default(),
            k_half: Constant::new((plan.double_buffer_depth() as u64).into()),
            out_write_all: Default::default(),
            out_addr: Default::default(),
            out_word: Default::default(),
            done_flag: Default::default(),
            err_code: Default::default(),
            err_at: Default::default(),
            fail_code: Default::default(),
            fail_offset: Default::default(),
            cycle_count: Default::default(),
            core_busy_cycles: Default::default(),
            slice_count: Default::default(),
            k_columns: Constant::new((cols as u64).into()),
            k_tile_param_bytes: Constant::new((cols as u64 * 12).into()),
            bit_mask: (0..64).map(|b| Constant::new((1u64 << b).into())).collect(),
            _rows: rows,
            _cols: cols,
            _obanks: 64,
        }
    }
}

impl<const D: usize, const S: usize, const W2: usize, const MEM: usize> Controller<D, S, W2, MEM> {
    /// The FSM state (for test benches and cycle accounting).
    pub fn fsm_state(&self) -> CtlState {
        self.state.q.val()
    }
}

impl<const D: usize, const S: usize, const W2: usize, const MEM: usize> Logic
    for Controller<D, S, W2, MEM>
{
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self,
            clock,
            state,
            window_size,
            desc_total,
            desc_idx,
            desc_at,
            first_group,
            first_group_table,
            group_start,
            row_at,
            position,
            position_row,
            first_neuron,
            first_column,
            params_at,
            weights_at,
            columns,
            double_buffer,
            weight_half,
            gather_half,
            done_flag,
            err_code,
            err_at,
            cycle_count,
            core_busy_cycles,
            slice_count
        );
        // The read phase's field, as a 32-bit word.
        self.field32.next = bit_cast::<32, 64>(self.read.data.val());
        // ---------------- The descriptor (descriptor.rs) ----------------
        self.desc.clock.next = self.clock.val();
        self.desc.restart.next = (self.state.q.val() == CtlState::Desc) & self.read.in_cmd.val();
        self.desc.take.next = (self.state.q.val() == CtlState::Desc) & self.read.take.val();
        self.desc.word.next = bit_cast::<32, 64>(self.read.data.val());
        // The math phase (sizes.rs): the FSM steps the sequence.
        self.sizes.clock.next = self.clock.val();
        self.sizes.restart.next = self.state.q.val() == CtlState::Decode;
        self.sizes.load.next = self.state.q.val() == CtlState::MathSet;
        self.sizes.step.next = self.state.q.val() == CtlState::MathRun;
        self.sizes.store.next = self.state.q.val() == CtlState::MathStore;
        self.sizes.timesteps.next = self.desc.timesteps.val();
        self.sizes.input_bits.next = self.desc.input_bits.val();
        self.sizes.weight_bits.next = self.desc.weight_bits.val();
        self.sizes.spike_bits.next = self.desc.spike_bits.val();
        self.sizes.fan_in.next = self.desc.fan_in.val();
        self.sizes.outputs.next = self.desc.outputs.val();
        self.sizes.positions.next = self.desc.positions.val();
        self.sizes.groups.next = self.desc.groups.val();
        self.sizes.input_len.next = self.desc.input_len.val();
        self.sizes.readout.next = self.desc.readout.val();
        // The layer's checks (checks.rs).
        self.checks.clock.next = self.clock.val();
        self.checks.window_size.next = self.window_size.q.val();
        self.checks.descriptor_offset.next = self.desc_at.q.val();
        self.checks.weights_offset.next = self.desc.weights_offset.val();
        self.checks.params_offset.next = self.desc.params_offset.val();
        self.checks.input_offset.next = self.desc.input_offset.val();
        self.checks.output_offset.next = self.desc.output_offset.val();
        self.checks.gather_offset.next = self.desc.gather_offset.val();
        self.checks.gather_layer.next = self.desc.gather_layer.val();
        self.checks.fan_in.next = self.desc.fan_in.val();
        self.checks.input_len.next = self.desc.input_len.val();
        self.checks.weight_words.next = self.sizes.weight_words.val();
        self.checks.param_bytes.next = self.sizes.param_bytes.val();
        self.checks.input_words.next = self.sizes.input_words.val();
        self.checks.output_words.next = self.sizes.output_words.val();
        self.checks.gather_entries.next = self.sizes.gather_entries.val();
        self.checks.group_remainder.next = self.sizes.group_remainder.val();
        self.checks.act_words.next = self.sizes.act_words.val();
        self.checks.entry_restart.next =
            (self.state.q.val() == CtlState::Gchk) & self.read.in_cmd.val();
        self.checks.entry_take.next = (self.state.q.val() == CtlState::Gchk) & self.read.take.val();
        self.checks.entry.next = self.field32.val();
        self.checks.entry_index.next = self.loads.count.val();

        // ---------------- Outputs and defaults ----------------
        self.busy.next = self.state.q.val() != CtlState::Idle;
        self.done.next = self.done_flag.q.val();
        self.error.next = self.err_code.q.val() != 0;
        self.error_code.next = self.err_code.q.val();
        self.desc_index.next = self.desc_idx.q.val();
        self.err_offset.next = self.err_at.q.val();
        self.cnt_clear.next = false;
        self.cnt_cycles.next = self.cycle_count.q.val();
        self.cnt_busy.next = self.core_busy_cycles.q.val();
        self.cnt_pe_adds.next = self.feeder.pe_adds.val();
        self.cnt_slices.next = self.slice_count.q.val();
        self.cnt_spikes.next = self.feeder.spikes.val();
        self.c_cfg_k.next = self.desc.fan_in.val().get_bits::<16>(0);
        self.c_cfg_slices.next = self.sizes.slices.val().get_bits::<10>(0);
        self.c_cfg_b_in.next = self.desc.input_bits.val();
        self.c_cfg_b_w.next = self.desc.weight_bits.val();
        self.c_cfg_b_s.next = self.desc.spike_bits.val();
        self.c_cfg_lif.next = self.desc.leak_shift.val() != 0;
        self.c_cfg_leak.next = self.desc.leak_shift.val();
        self.c_cfg_hard.next = self.desc.hard_reset.val();
        self.c_cfg_readout.next = self.desc.readout.val();

        // DMA reads: one read phase block for every phase (`read_phase.rs`); the
        // loads (loads.rs) set each phase up and take its fields.
        self.read.clock.next = self.clock.val();
        self.read.rst.next = self.rst.val();
        self.read.active.next = false;
        self.read.drain.next = false;
        self.read.last.next = self.loads.last.val();
        self.read.offset.next = self.loads.offset.val();
        self.read.len.next = self.loads.len.val();
        self.read.field_bits.next = self.loads.field_bits.val();
        ReadClient::<D>::link(&mut self.dma_rd, &mut self.read.dma);
        self.loads.clock.next = self.clock.val();
        self.loads.state.next = self.state.q.val();
        self.loads.in_cmd.next = self.read.in_cmd.val();
        self.loads.take.next = self.read.take.val();
        self.loads.data.next = self.read.data.val();
        self.loads.done.next = self.read.done.val();
        self.loads.descriptor_offset.next = self.desc_at.q.val();
        self.loads.descriptor_last.next = self.desc.last.val();
        self.loads.row_offset.next = self.row_at.q.val();
        self.loads.params_offset.next = self.params_at.q.val();
        self.loads.weights_offset.next = self.weights_at.q.val();
        self.loads.columns.next = self.columns.q.val();
        self.loads.input_offset.next = self.desc.input_offset.val();
        self.loads.gather_offset.next = self.desc.gather_offset.val();
        self.loads.fan_in.next = self.desc.fan_in.val();
        self.loads.weight_bits.next = self.desc.weight_bits.val();
        self.loads.readout.next = self.desc.readout.val();
        self.loads.input_words.next = self.sizes.input_words.val();
        self.loads.gather_entries.next = self.sizes.gather_entries.val();
        self.loads.tile_words.next = self.sizes.tile_words.val();
        self.loads.output_words.next = self.sizes.output_words.val();
        self.loads.plane_words.next = self.sizes.plane_words.val();
        self.loads.weight_half.next = self.weight_half.q.val();
        self.loads.gather_half.next = self.gather_half.q.val();
        // The write-back (writeback.rs): the FSM says which of its states it is in.
        self.writer.clock.next = self.clock.val();
        self.writer.issue.next = (self.state.q.val() == CtlState::OutCmd)
            & !self.feeder.run.failed.val()
            & !self.feeder.run.running.val();
        self.writer.writing.next = self.state.q.val() == CtlState::OutWr;
        self.writer.offset.next = self.desc.output_offset.val();
        self.writer.words.next = self.sizes.output_words.val();
        WriteClient::<D>::link(&mut self.dma_wr, &mut self.writer.dma);

        // Failure report (used by the transitions to Fail).
        self.fail_code.next = 0.into();
        self.fail_offset.next = 0.into();

        // The buffers' writes (the loads); the feeder drives their reads.
        for c in 0..self._cols {
            self.weight_banks[c].clock.next = self.clock.val();
            self.weight_banks[c].we.next = self.loads.weight_we[c].val();
            self.weight_banks[c].waddr.next = self.loads.weight_addr.val();
            self.weight_banks[c].wdata.next = self.loads.weight_code[c].val();
        }
        for r in 0..self._rows {
            self.act_banks[r].clock.next = self.clock.val();
            self.act_banks[r].we.next = self.loads.act_we[r].val();
            self.act_banks[r].waddr.next = self.loads.act_addr.val();
            self.act_banks[r].wdata.next = self.read.data.val();
        }
        self.row_buffer.clock.next = self.clock.val();
        self.row_buffer.we.next = self.loads.row_we.val();
        self.row_buffer.waddr.next = self.loads.row_addr.val();
        self.row_buffer.wdata.next = self.field32.val();
        // ---------------- The compute feeder (feeder.rs) ----------------
        // Independent of the FSM state but for the run's start (CoreGo) and the
        // gather row's priming (GPre).
        self.feeder.clock.next = self.clock.val();
        self.feeder.rst.next = self.rst.val();
        self.feeder.run.clear.next = (self.state.q.val() == CtlState::Idle) & self.start.val();
        self.feeder.run.go.next = self.state.q.val() == CtlState::CoreGo;
        self.feeder.run.prime.next = self.state.q.val() == CtlState::GPre;
        self.feeder.run.first_column.next = self.first_column.q.val();
        self.feeder.run.columns.next = self.columns.q.val();
        self.feeder.run.first_neuron.next = self.first_neuron.q.val();
        self.feeder.run.group_start.next = self.group_start.q.val();
        self.feeder.run.position.next = self.position.q.val();
        self.feeder.run.weight_half.next = self.weight_half.q.val();
        self.feeder.run.gather_half.next = self.gather_half.q.val();
        self.feeder.params.clear.next = false;
        self.feeder.params.write.next = self.loads.param_write.val();
        self.feeder.params.column.next = self.loads.param_column.val();
        self.feeder.params.field.next = self.loads.param_field.val();
        self.feeder.params.word.next = self.field32.val();
        self.feeder.fan_in.next = self.desc.fan_in.val();
        self.feeder.outputs.next = self.desc.outputs.val();
        self.feeder.positions.next = self.desc.positions.val();
        self.feeder.spike_bits.next = self.desc.spike_bits.val();
        self.feeder.readout.next = self.desc.readout.val();
        self.feeder.gather_layer.next = self.desc.gather_layer.val();
        self.feeder.slices.next = self.sizes.slices.val();
        self.feeder.plane_words.next = self.sizes.plane_words.val();
        self.feeder.out_plane_words.next = self.sizes.out_plane_words.val();
        self.feeder.timestep_words.next = self.sizes.timestep_words.val();
        self.feeder.group_outputs.next = self.sizes.group_outputs.val();
        self.c_start.next = self.feeder.core_start.val();
        self.feeder.core_done.next = self.c_done.val();
        self.feeder.core_error.next = self.c_error.val();
        self.c_par_valid.next = self.feeder.par_valid.val();
        self.feeder.par_ready.next = self.c_par_ready.val();
        self.c_par_data.next = self.feeder.par_data.val();
        self.c_wgt_valid.next = self.feeder.wgt_valid.val();
        self.feeder.wgt_ready.next = self.c_wgt_ready.val();
        self.c_act_valid.next = self.feeder.act_valid.val();
        self.feeder.act_ready.next = self.c_act_ready.val();
        self.feeder.spk_valid.next = self.c_spk_valid.val();
        self.c_spk_ready.next = self.feeder.spk_ready.val();
        self.feeder.mem_valid.next = self.c_mem_valid.val();
        self.c_mem_ready.next = self.feeder.mem_ready.val();
        self.feeder.mem_data.next = self.c_mem_data.val();
        for c in 0..self._cols {
            self.weight_banks[c].raddr.next = self.feeder.weight_addr.val();
            self.c_wgt_data[c].next = self.weight_banks[c].rdata.val();
            self.feeder.spk_data[c].next = self.c_spk_data[c].val();
        }
        for r in 0..self._rows {
            self.act_banks[r].raddr.next = self.feeder.act_addr.val();
            self.feeder.act_words[r].next = self.act_banks[r].rdata.val();
            self.c_act_data[r].next = self.feeder.act_data[r].val();
        }
        self.row_buffer.raddr.next = self.feeder.gather_addr.val();
        self.feeder.gather_entry.next = self.row_buffer.rdata.val();
        // The output buffer: cleared by Clr, written by the feeder, read by the
        // write-back (registered RAM outputs of the 64 bit banks).
        self.out_addr.next = self.loads.count.val();
        if self.feeder.out_claim.val() {
            self.out_addr.next = self.feeder.out_addr.val();
        }
        self.out_write_all.next = self.feeder.out_write_word.val();
        self.out_word.next = 0.into();
        for b in 0..self._obanks {
            if self.out_banks[b].rdata.val() {
                self.out_word.next = self.out_word.val() | self.bit_mask[b].val();
            }
        }
        self.writer.word.next = self.out_word.val();

        // ---------------- FSM ----------------
        match self.state.q.val() {
            CtlState::Idle => {
                // Drain whatever a soft reset interrupted.
                self.read.drain.next = true;
                if self.start.val() {
                    self.cnt_clear.next = true;
                    self.window_size.d.next = self.buf_size.val();
                    self.desc_total.d.next = self.desc_count.val();
                    self.desc_at.d.next = self.desc_offset.val();
                    self.desc_idx.d.next = 0.into();
                    self.done_flag.d.next = false;
                    self.err_code.d.next = 0.into();
                    self.err_at.d.next = 0.into();
                    self.cycle_count.d.next = 0.into();
                    self.core_busy_cycles.d.next = 0.into();
                    self.slice_count.d.next = 0.into();
                    if self.desc_count.val() == 0 {
                        self.state.d.next = CtlState::Finish;
                    } else {
                        self.state.d.next = CtlState::Desc;
                    }
                }
            }
            CtlState::Desc => {
                self.read.active.next = true;
                if self.read.failed.val() {
                    self.fail_code.next = self.read.err_code.val();
                    self.fail_offset.next = self.read.err_offset.val();
                    // A refused command names the descriptor itself.
                    if self.read.err_code.val() == 3 {
                        self.fail_offset.next = self.desc_at.q.val();
                    }
                    self.state.d.next = CtlState::Fail;
                }
                if self.read.done.val() {
                    self.state.d.next = CtlState::Decode;
                }
            }
            CtlState::Decode => {
                if self.desc.bad_header.val() {
                    self.fail_code.next = 1.into();
                    self.fail_offset.next = self.desc_at.q.val();
                    self.state.d.next = CtlState::Fail;
                } else if self.desc.bad_kind.val() {
                    self.fail_code.next = 2.into();
                    self.fail_offset.next = self.desc_at.q.val() + 8;
                    self.state.d.next = CtlState::Fail;
                } else if self.desc.bad_field.val() {
                    self.fail_code.next = 2.into();
                    self.fail_offset.next = self.desc_at.q.val();
                    self.state.d.next = CtlState::Fail;
                } else {
                    self.state.d.next = CtlState::MathSet;
                }
            }
            CtlState::MathSet => {
                self.state.d.next = CtlState::MathRun;
            }
            CtlState::MathRun => {
                if self.sizes.step_last.val() {
                    self.state.d.next = CtlState::MathStore;
                }
            }
            CtlState::MathStore => {
                self.state.d.next = CtlState::MathSet;
                if self.sizes.last_op.val() {
                    self.state.d.next = CtlState::Regions;
                }
            }
            CtlState::Regions => {
                self.state.d.next = CtlState::Fit;
                if self.checks.region_fail.val() {
                    self.fail_code.next = self.checks.region_code.val();
                    self.fail_offset.next = self.checks.region_offset.val();
                    self.state.d.next = CtlState::Fail;
                }
            }
            CtlState::Fit => {
                if self.checks.overflow.val() {
                    self.fail_code.next = 6.into();
                    self.fail_offset.next = self.desc_at.q.val();
                    self.state.d.next = CtlState::Fail;
                } else {
                    self.slice_count.d.next =
                        self.slice_count.q.val() + self.sizes.layer_slices.val();
                    if self.desc.gather_layer.val() {
                        self.state.d.next = CtlState::Gchk;
                    } else {
                        self.state.d.next = CtlState::Act;
                    }
                }
            }
            CtlState::Gchk => {
                // Every entry goes through the checks (the first bad one, in table
                // order, is reported: code 2 at its offset).
                self.read.active.next = true;
                if self.read.failed.val() {
                    self.fail_code.next = self.read.err_code.val();
                    self.fail_offset.next = self.read.err_offset.val();
                    self.state.d.next = CtlState::Fail;
                }
                if self.read.done.val() {
                    if self.checks.entry_bad.val() {
                        self.fail_code.next = 2.into();
                        self.fail_offset.next = self.checks.entry_bad_offset.val();
                        self.state.d.next = CtlState::Fail;
                    } else {
                        self.state.d.next = CtlState::Act;
                    }
                }
            }
            CtlState::Act => {
                self.read.active.next = true;
                if self.read.failed.val() {
                    self.fail_code.next = self.read.err_code.val();
                    self.fail_offset.next = self.read.err_offset.val();
                    self.state.d.next = CtlState::Fail;
                }
                if self.read.done.val() {
                    self.state.d.next = CtlState::Clr;
                }
            }
            CtlState::Clr => {
                self.out_write_all.next = true;
                if self.loads.cleared.val() {
                    self.first_column.d.next = 0.into();
                    self.first_group.d.next = 0.into();
                    self.first_group_table.d.next = self.desc.gather_offset.val();
                    self.first_neuron.d.next = 0.into();
                    self.position.d.next = 0.into();
                    self.group_start.d.next = 0.into();
                    self.params_at.d.next = self.desc.params_offset.val();
                    self.weights_at.d.next = self.desc.weights_offset.val();
                    // Double buffer layers whose tile (and gather row) fits half the
                    // weight banks (and the row buffer).
                    self.weight_half.d.next = false;
                    self.gather_half.d.next = false;
                    self.double_buffer.d.next = self.desc.fan_in.val() <= self.k_half.val();
                    self.state.d.next = CtlState::TileStart;
                }
            }
            CtlState::TileStart => {
                // The running tile's parameters are consumed in its first 3C cycles;
                // only then may the next tile's overwrite them.
                if self.feeder.run.params_free.val() {
                    self.columns.d.next = self.desc.outputs.val() - self.first_column.q.val();
                    if self.desc.outputs.val() - self.first_column.q.val()
                        > bit_cast::<32, 64>(self.k_columns.val())
                    {
                        self.columns.d.next = bit_cast::<32, 64>(self.k_columns.val());
                    }
                    self.feeder.params.clear.next = true;
                    self.state.d.next = CtlState::GAdv;
                }
            }
            CtlState::GAdv => {
                // First group of the tile: advance while the group ends at or before o0.
                if bit_cast::<64, 32>(self.first_group.q.val()) + self.sizes.group_outputs.val()
                    <= bit_cast::<64, 32>(self.first_column.q.val())
                {
                    self.first_group.d.next = self.first_group.q.val()
                        + bit_cast::<32, 64>(self.sizes.group_outputs.val());
                    self.first_group_table.d.next = self.first_group_table.q.val()
                        + bit_cast::<32, 64>(self.sizes.group_entries.val() << 2);
                } else {
                    self.state.d.next = CtlState::Par;
                }
            }
            CtlState::Par => {
                self.read.active.next = true;
                if self.read.failed.val() {
                    self.fail_code.next = self.read.err_code.val();
                    self.fail_offset.next = self.read.err_offset.val();
                    self.state.d.next = CtlState::Fail;
                }
                if self.read.done.val() {
                    // A spiking layer's thresholds must be positive (code 2, offset 0,
                    // as the functional model's layer check reports it).
                    if self.loads.params_bad.val() {
                        self.fail_code.next = 2.into();
                        self.fail_offset.next = 0.into();
                        self.state.d.next = CtlState::Fail;
                    } else {
                        self.state.d.next = CtlState::Wgt;
                    }
                }
            }
            CtlState::Wgt => {
                self.read.active.next = true;
                if self.read.failed.val() {
                    self.fail_code.next = self.read.err_code.val();
                    self.fail_offset.next = self.read.err_offset.val();
                    self.state.d.next = CtlState::Fail;
                }
                if self.read.done.val() {
                    if self.desc.gather_layer.val() {
                        self.state.d.next = CtlState::PosStart;
                    } else {
                        self.state.d.next = CtlState::CoreGo;
                    }
                }
            }
            CtlState::PosStart => {
                self.position.d.next = 0.into();
                self.position_row.d.next = 0.into();
                self.state.d.next = CtlState::GrpStart;
            }
            CtlState::GrpStart => {
                self.group_start.d.next = self.first_group.q.val();
                self.row_at.d.next = self.first_group_table.q.val() + self.position_row.q.val();
                self.state.d.next = CtlState::Grow;
            }
            CtlState::Grow => {
                self.read.active.next = true;
                if self.read.failed.val() {
                    self.fail_code.next = self.read.err_code.val();
                    self.fail_offset.next = self.read.err_offset.val();
                    self.state.d.next = CtlState::Fail;
                }
                if self.read.done.val() {
                    self.state.d.next = CtlState::GPre;
                }
            }
            CtlState::GPre => {
                // The feeder primes the row pipeline at the new row's entry 0: only
                // once the previous run, which reads the other half, is over.
                if !self.feeder.run.running.val() {
                    self.state.d.next = CtlState::CoreGo;
                }
            }
            CtlState::CoreGo => {
                // With double buffering the previous tile may still be running: wait
                // for the core (it is idle again the cycle after its done).
                if self.feeder.run.failed.val() {
                    self.fail_code.next = 2.into();
                    self.fail_offset.next = self.desc_at.q.val();
                    self.state.d.next = CtlState::Fail;
                } else if !self.feeder.run.running.val() {
                    // The feeder starts the run (`run.go`).
                    self.state.d.next = CtlState::CoreRun;
                    if self.double_buffer.q.val() {
                        // Go on loading while this run goes: the next tile's parameters
                        // and weights (dense), the next gather row (gather).
                        self.state.d.next = CtlState::TileEnd;
                        if self.desc.gather_layer.val() {
                            self.gather_half.d.next = !self.gather_half.q.val();
                            self.state.d.next = CtlState::RunEnd;
                        }
                    }
                }
            }
            CtlState::CoreRun => {
                // The feeder runs the tile; wait for it.
                if self.c_done.val() {
                    if self.c_error.val() {
                        self.fail_code.next = 2.into();
                        self.fail_offset.next = self.desc_at.q.val();
                        self.state.d.next = CtlState::Fail;
                    } else if self.desc.gather_layer.val() {
                        self.state.d.next = CtlState::RunEnd;
                    } else {
                        self.state.d.next = CtlState::TileEnd;
                    }
                }
            }
            CtlState::RunEnd => {
                // Next group of the tile at this position, else the next position.
                self.group_start.d.next =
                    self.group_start.q.val() + bit_cast::<32, 64>(self.sizes.group_outputs.val());
                self.row_at.d.next =
                    self.row_at.q.val() + bit_cast::<32, 64>(self.sizes.group_entries.val() << 2);
                if bit_cast::<64, 32>(self.group_start.q.val()) + self.sizes.group_outputs.val()
                    < bit_cast::<64, 32>(self.first_column.q.val() + self.columns.q.val())
                {
                    self.state.d.next = CtlState::Grow;
                } else {
                    self.position.d.next = self.position.q.val() + 1;
                    self.position_row.d.next =
                        self.position_row.q.val() + (self.desc.fan_in.val() << 2);
                    if self.position.q.val() + 1 == self.desc.positions.val() {
                        self.state.d.next = CtlState::TileEnd;
                    } else {
                        self.state.d.next = CtlState::GrpStart;
                    }
                }
            }
            CtlState::TileEnd => {
                // Double buffered, the next tile's weights go to the other half.
                if self.double_buffer.q.val() {
                    self.weight_half.d.next = !self.weight_half.q.val();
                }
                self.position.d.next = 0.into();
                self.first_neuron.d.next =
                    self.first_neuron.q.val() + bit_cast::<32, 64>(self.sizes.tile_neurons.val());
                self.first_column.d.next =
                    self.first_column.q.val() + bit_cast::<32, 64>(self.k_columns.val());
                self.params_at.d.next = self.params_at.q.val() + self.k_tile_param_bytes.val();
                self.weights_at.d.next =
                    self.weights_at.q.val() + bit_cast::<32, 64>(self.sizes.tile_words.val() << 3);
                if bit_cast::<64, 32>(self.first_column.q.val()) + self.k_columns.val()
                    >= bit_cast::<64, 32>(self.desc.outputs.val())
                {
                    self.state.d.next = CtlState::OutCmd;
                } else {
                    self.state.d.next = CtlState::TileStart;
                }
            }
            CtlState::OutCmd => {
                // The last tile's spikes must be in the output buffer first.
                if self.feeder.run.failed.val() {
                    self.fail_code.next = 2.into();
                    self.fail_offset.next = self.desc_at.q.val();
                    self.state.d.next = CtlState::Fail;
                } else if self.writer.accepted.val() {
                    self.state.d.next = CtlState::OutWr;
                }
            }
            CtlState::OutWr => {
                self.out_addr.next = self.writer.read_addr.val();
                if self.writer.sent.val() {
                    self.state.d.next = CtlState::OutWait;
                }
            }
            CtlState::OutWait => {
                if self.writer.completed.val() {
                    if self.writer.err_code.val() != 0 {
                        self.fail_code.next = self.writer.err_code.val();
                        self.fail_offset.next = self.writer.err_offset.val();
                        self.state.d.next = CtlState::Fail;
                    } else {
                        self.state.d.next = CtlState::Next;
                    }
                }
            }
            CtlState::Next => {
                self.desc_idx.d.next = self.desc_idx.q.val() + 1;
                self.desc_at.d.next = self.desc_at.q.val() + 64;
                if self.desc_idx.q.val() + 1 == self.desc_total.q.val() {
                    self.state.d.next = CtlState::Finish;
                } else {
                    self.state.d.next = CtlState::Desc;
                }
            }
            CtlState::Finish => {
                self.desc_idx.d.next = self.desc_total.q.val();
                self.done_flag.d.next = true;
                self.state.d.next = CtlState::Idle;
            }
            CtlState::Fail => {
                // A load that failed behind a running tile: let the tile finish, as
                // it would have before the load was started.
                if !self.feeder.run.running.val() {
                    self.done_flag.d.next = true;
                    self.state.d.next = CtlState::Idle;
                }
            }
        }
        if self.fail_code.val() != 0 {
            self.err_code.d.next = self.fail_code.val();
            self.err_at.d.next = self.fail_offset.val();
        }
        for b in 0..self._obanks {
            self.out_banks[b].clock.next = self.clock.val();
            self.out_banks[b].raddr.next = bit_cast::<BRAM_ADDR_BITS, 32>(self.out_addr.val());
            self.out_banks[b].waddr.next = bit_cast::<BRAM_ADDR_BITS, 32>(self.out_addr.val());
            self.out_banks[b].we.next = self.out_write_all.val();
            self.out_banks[b].wdata.next =
                (self.feeder.out_word.val() & self.bit_mask[b].val()).any();
            if self.feeder.out_write_bit.val() & (self.feeder.out_bit_index.val().index() == b) {
                self.out_banks[b].we.next = true;
                self.out_banks[b].wdata.next = self.feeder.out_bit.val();
            }
        }
        // Counters.
        if self.state.q.val() != CtlState::Idle {
            self.cycle_count.d.next = self.cycle_count.q.val() + 1;
        }
        if self.c_busy.val() {
            self.core_busy_cycles.d.next = self.core_busy_cycles.q.val() + 1;
        }
        if self.rst.val() {
            self.state.d.next = CtlState::Idle;
            self.done_flag.d.next = false;
            self.err_code.d.next = 0.into();
            self.err_at.d.next = 0.into();
            self.desc_idx.d.next = 0.into();
            self.cycle_count.d.next = 0.into();
            self.core_busy_cycles.d.next = 0.into();
            self.slice_count.d.next = 0.into();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use spikeslice_core::accel::descriptor::LayerDescriptor;
    use spikeslice_core::accel::AcceleratorConfig;

    fn cfg() -> AcceleratorConfig {
        spikeslice_core::random::chain::config_2x3_64()
    }

    #[test]
    fn buffer_plan_from_config() {
        let p = BufferPlan::new(&cfg());
        assert_eq!(p.wbank_depth, 256); // pow2(1024 / 3)
        assert_eq!(p.abank_depth, 128); // 2048 / 8 / 2
        assert_eq!(p.obuf_words, 128);
        let d = BufferPlan::new(&AcceleratorConfig::default());
        assert_eq!(
            (d.wbank_depth, d.abank_depth, d.obuf_words),
            (32768, 2048, 8192)
        );
    }

    /// The controller alone, with a behavioural read engine serving one descriptor:
    /// an empty chain finishes at once; a bad magic and a refused descriptor read end
    /// with the right code, index and offset; the next start runs again.
    #[test]
    fn controller_fetch_and_refusals() {
        let c = cfg();
        let mut uut = Controller::<64, 8, 128, 24>::new(&c);
        uut.connect_all();
        let mut sim = Simulation::new();
        sim.add_clock(5, |x: &mut Box<Controller<64, 8, 128, 24>>| {
            x.clock.next = !x.clock.val()
        });
        sim.add_testbench(move |mut sim: Sim<Controller<64, 8, 128, 24>>| {
            let mut x = sim.init()?;
            let good = LayerDescriptor {
                weights: 0x100,
                params: 0x140,
                input: 0x180,
                output: 0x1C0,
                ..LayerDescriptor::dense(4, 2)
            };
            let mut bad_magic = good.encode();
            bad_magic[0] ^= 1;
            // A fan-in of 2^32 - 16: the weight region saturates the size arithmetic and
            // must be refused as outside the window (code 3 at the weights offset).
            let huge = LayerDescriptor {
                fan_in: 0xFFFF_FFF0,
                input_len: 0xFFFF_FFF0,
                ..good
            }
            .encode();
            x.rst.next = true;
            wait_clock_cycles!(sim, clock, x, 2);
            x.rst.next = false;
            x.buf_size.next = 0x1000.into();
            x.dma_rd.cmd_ready.next = true;
            // (desc_count, refuse the read?, expected code, expected offset)
            for (count, refuse, code, off, d) in [
                (0u64, false, 0u64, 0u64, bad_magic),
                (1, false, 1, 0x40, bad_magic),
                (1, true, 3, 0x40, bad_magic),
                (1, false, 3, 0x100, huge),
                (0, false, 0, 0, huge),
            ] {
                x.desc_offset.next = 0x40.into();
                x.desc_count.next = count.into();
                x.start.next = true;
                wait_clock_cycle!(sim, clock, x);
                x.start.next = false;
                let mut beats: Vec<u64> = vec![];
                let mut guard = 0;
                while !x.done.val() {
                    guard += 1;
                    sim_assert!(sim, guard < 5000, x);
                    x.dma_rd.done.next = false;
                    x.dma_rd.valid.next = false;
                    if x.dma_rd.cmd_valid.val() {
                        sim_assert_eq!(sim, x.dma_rd.cmd_offset.val().to_u64(), 0x40, x);
                        sim_assert_eq!(sim, x.dma_rd.cmd_len.val().to_u64(), 64, x);
                        if refuse {
                            // The engine refuses the command two cycles later.
                            x.dma_rd.err.next = 3.into();
                            x.dma_rd.err_offset.next = 0x40.into();
                            wait_clock_cycle!(sim, clock, x);
                            x.dma_rd.done.next = true;
                        } else {
                            x.dma_rd.err.next = 0.into();
                            beats = d
                                .chunks(8)
                                .map(|b| u64::from_le_bytes(b.try_into().unwrap()))
                                .collect();
                        }
                    } else if let Some(&b) = beats.first() {
                        x.dma_rd.valid.next = true;
                        x.dma_rd.data.next = b.into();
                        if x.dma_rd.ready.val() {
                            beats.remove(0);
                            if beats.is_empty() {
                                wait_clock_cycle!(sim, clock, x);
                                x.dma_rd.valid.next = false;
                                x.dma_rd.done.next = true;
                            }
                        }
                    }
                    wait_clock_cycle!(sim, clock, x);
                }
                x.dma_rd.done.next = false;
                sim_assert_eq!(sim, x.error_code.val().to_u64(), code, x);
                sim_assert_eq!(sim, x.error.val(), code != 0, x);
                sim_assert_eq!(sim, x.err_offset.val().to_u64(), off, x);
                sim_assert_eq!(
                    sim,
                    x.desc_index.val().to_u64(),
                    if code == 0 { count } else { 0 },
                    x
                );
                wait_clock_cycles!(sim, clock, x, 3);
            }
            sim.done(x)
        });
        sim.run(Box::new(uut), 10_000_000).unwrap();
    }
}
