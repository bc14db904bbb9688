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

mod descriptor;
mod muldiv;
mod read_phase;
mod writeback;

use crate::buffer::{Bram, BRAM_ADDR_BITS};
use crate::dma::{ReadClient, WriteClient};
use crate::pe::W_BITS;
pub use descriptor::{Descriptor, DescriptorField};
pub use muldiv::MulDiv;
pub use read_phase::{ReadPhase, ReadStep};
use rust_hdl::prelude::*;
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
    rp: ReadPhase<D, S, W2>,
    writer: WriteBack<D>,
    wbank: Vec<Bram<Bits<8>>>,
    abank: Vec<Bram<Bits<64>>>,
    obank: Vec<Bram<Bit>>,
    gbuf: Bram<Bits<32>>,
    // FSM.
    state: DFF<CtlState>,
    lsize: DFF<Bits<32>>,
    dcnt: DFF<Bits<32>>,
    idx: DFF<Bits<32>>,
    at: DFF<Bits<32>>,
    // The descriptor's fields (descriptor.rs).
    desc: Descriptor,
    // Decoded fields.
    pw: Signal<Local, Bits<32>>,
    opw: Signal<Local, Bits<32>>,
    // Sequential multiply / divide.
    op: DFF<Bits<5>>,
    muldiv: MulDiv,
    set_a: Signal<Local, Bits<64>>,
    set_b: Signal<Local, Bits<64>>,
    set_div: Signal<Local, Bit>,
    // Geometry (results of the math phase).
    s_sl: DFF<Bits<64>>,
    in_words: DFF<Bits<64>>,
    cbw: DFF<Bits<64>>,
    tile_words: DFF<Bits<64>>,
    ntiles: DFF<Bits<64>>,
    w_words: DFF<Bits<64>>,
    par_bytes: DFF<Bits<64>>,
    nn: DFF<Bits<64>>,
    oplanes: DFF<Bits<64>>,
    out_words: DFF<Bits<64>>,
    chunks: DFF<Bits<64>>,
    a_words: DFF<Bits<64>>,
    tstride: DFF<Bits<64>>,
    opg: DFF<Bits<64>>,
    rem_og: DFF<Bits<64>>,
    gp: DFF<Bits<64>>,
    gpk: DFF<Bits<64>>,
    kp: DFF<Bits<64>>,
    sl_tot: DFF<Bits<64>>,
    cp: DFF<Bits<64>>,
    end_g: Signal<Local, Bits<64>>,
    // Gather iteration.
    gbad: DFF<Bit>,
    gbad_i: DFF<Bits<32>>,
    glo_s: DFF<Bits<32>>,
    glo_off: DFF<Bits<32>>,
    gs: DFF<Bits<32>>,
    goffc: DFF<Bits<32>>,
    pos: DFF<Bits<32>>,
    pofs: DFF<Bits<32>>,
    nbase: DFF<Bits<32>>,
    nrun: DFF<Bits<32>>,
    mrun: DFF<Bits<32>>,
    gcur: DFF<Bits<32>>,
    gnext: Signal<Local, Bits<32>>,
    gidx: Signal<Local, Bits<32>>,
    kn1: Signal<Local, Bits<16>>,
    ocol: Signal<Local, Bits<32>>,
    ocol_ok: Signal<Local, Bit>,
    mcol: Signal<Local, Bits<32>>,
    mcol_ok: Signal<Local, Bit>,
    ncg: Signal<Local, Bits<32>>,
    ghi: Signal<Local, Bits<32>>,
    end_w: Signal<Local, Bits<64>>,
    end_p: Signal<Local, Bits<64>>,
    end_i: Signal<Local, Bits<64>>,
    end_o: Signal<Local, Bits<64>>,
    // DMA read phases.
    dw: Signal<Local, Bits<32>>,
    nlow: Signal<Local, Bits<6>>,
    k_ones32: Constant<Bits<64>>,
    lc: DFF<Bits<32>>,
    lr: DFF<Bits<8>>,
    lw: DFF<Bits<32>>,
    lbase: DFF<Bits<32>>,
    // Tile.
    o0: DFF<Bits<32>>,
    pcur: DFF<Bits<32>>,
    wcur: DFF<Bits<32>>,
    nvalid: DFF<Bits<32>>,
    // Compute engine: the core runs a tile while `crun`; with double buffering
    // (`dbl`) the FSM loads the next tile meanwhile, into the other half of the
    // weight banks (`lwh` loads, `cwh` computes) and with `co0`/`cnv`/`cnb` the
    // running tile's first column, valid columns and first neuron.
    crun: DFF<Bit>,
    cerr: DFF<Bit>,
    dbl: DFF<Bit>,
    lwh: DFF<Bit>,
    cwh: DFF<Bit>,
    co0: DFF<Bits<32>>,
    cnv: DFF<Bits<32>>,
    cnb: DFF<Bits<32>>,
    cgs: DFF<Bits<32>>,
    cpos: DFF<Bits<32>>,
    // Gather-row buffer halves: rows load into `lgh` while the run reads `cgh`.
    lgh: DFF<Bit>,
    cgh: DFF<Bit>,
    lgoff: Signal<Local, Bits<32>>,
    cgoff: Signal<Local, Bits<32>>,
    wboff: Signal<Local, Bits<32>>,
    rboff: Signal<Local, Bits<32>>,
    addn: Signal<Local, Bits<32>>,
    k_khalf: Constant<Bits<32>>,
    pb: Vec<DFF<Bits<32>>>,
    pt: Vec<DFF<Bits<32>>>,
    pv: Vec<DFF<Bits<32>>>,
    pf: DFF<Bits<2>>,
    pcol: DFF<Bits<8>>,
    bth: DFF<Bit>,
    // Core feed.
    ppk: DFF<Bits<2>>,
    ppc: DFF<Bits<8>>,
    pword: Signal<Local, Bits<32>>,
    kk: DFF<Bits<16>>,
    s0: DFF<Bits<10>>,
    ab: DFF<Bits<32>>,
    sv: DFF<Bit>,
    sact: DFF<Bit>,
    kn: Signal<Local, Bits<16>>,
    abn: Signal<Local, Bits<32>>,
    hs: Signal<Local, Bit>,
    left: Signal<Local, Bits<10>>,
    pop: Signal<Local, Bits<8>>,
    lane: Signal<Local, Bits<64>>,
    // Output writers.
    ec: DFF<Bits<8>>,
    ej: DFF<Bits<4>>,
    jb: DFF<Bits<32>>,
    tb: DFF<Bits<32>>,
    moc: DFF<Bits<8>>,
    ssel: Signal<Local, Bits<8>>,
    sbit: Signal<Local, Bit>,
    sshift: Signal<Local, Bits<8>>,
    m64: Signal<Local, Bits<64>>,
    o_we_all: Signal<Local, Bit>,
    o_we_one: Signal<Local, Bit>,
    o_addr: Signal<Local, Bits<32>>,
    word: Signal<Local, Bits<64>>,
    // Result.
    donef: DFF<Bit>,
    errq: DFF<Bits<8>>,
    erroff: DFF<Bits<32>>,
    fcode: Signal<Local, Bits<8>>,
    foff: Signal<Local, Bits<32>>,
    // Counters.
    c_cyc: DFF<Bits<64>>,
    c_bsy: DFF<Bits<64>>,
    c_add: DFF<Bits<64>>,
    c_sl: DFF<Bits<64>>,
    c_spk: DFF<Bits<64>>,
    // Constants.
    k_cols: Constant<Bits<64>>,
    k_rows: Constant<Bits<64>>,
    k_cols_m1: Constant<Bits<8>>,
    k_rows_m1: Constant<Bits<8>>,
    k_cols12: Constant<Bits<32>>,
    k_wbmax: Constant<Bits<4>>,
    k_sbmax: Constant<Bits<4>>,
    k_kmax: Constant<Bits<32>>,
    k_adepth: Constant<Bits<64>>,
    k_odepth: Constant<Bits<64>>,
    k_bmask: Constant<Bits<32>>,
    k_pad: Constant<Bits<32>>,
    k_far: Constant<Bits<64>>,
    k_sext32: Constant<Bits<MEM>>,
    k_memhalf: Constant<Bits<MEM>>,
    k_sext64: Constant<Bits<64>>,
    lane_id: Vec<Constant<Bits<10>>>,
    bitm: Vec<Constant<Bits<64>>>,
    // Weight load: a row of C codes per gearbox field (`k_wrow`), else one code.
    k_wrow: Constant<Bit>,
    k_cols16: Constant<Bits<16>>,
    col_id16: Vec<Constant<Bits<16>>>,
    wrow_bits: Signal<Local, Bits<32>>,
    wmask: Signal<Local, Bits<64>>,
    wsh: Vec<Signal<Local, Bits<32>>>,
    wcode: Vec<Signal<Local, Bits<64>>>,
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
        let sext32 = if MEM > 32 {
            ((1u128 << MEM) - 1) ^ ((1u128 << 32) - 1)
        } else {
            0
        };
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
            rp: Default::default(),
            writer: Default::default(),
            desc: Descriptor::new(cfg),
            wbank: (0..cols).map(|_| Bram::new(plan.wbank_depth)).collect(),
            abank: (0..rows).map(|_| Bram::new(plan.abank_depth)).collect(),
            obank: (0..64).map(|_| Bram::new(plan.obuf_words)).collect(),
            gbuf: Bram::new(plan.wbank_depth),
            state: Default::default(),
            lsize: Default::default(),
            dcnt: Default::default(),
            idx: Default::default(),
            at: Default::default(),
            pw: Default::default(),
            opw: Default::default(),
            op: Default::default(),
            muldiv: Default::default(),
            set_a: Default::default(),
            set_b: Default::default(),
            set_div: Default::default(),
            s_sl: Default::default(),
            in_words: Default::default(),
            cbw: Default::default(),
            tile_words: Default::default(),
            ntiles: Default::default(),
            w_words: Default::default(),
            par_bytes: Default::default(),
            nn: Default::default(),
            oplanes: Default::default(),
            out_words: Default::default(),
            chunks: Default::default(),
            a_words: Default::default(),
            tstride: Default::default(),
            opg: Default::default(),
            rem_og: Default::default(),
            gp: Default::default(),
            gpk: Default::default(),
            kp: Default::default(),
            sl_tot: Default::default(),
            cp: Default::default(),
            end_g: Default::default(),
            gbad: Default::default(),
            gbad_i: Default::default(),
            glo_s: Default::default(),
            glo_off: Default::default(),
            gs: Default::default(),
            goffc: Default::default(),
            pos: Default::default(),
            pofs: Default::default(),
            nbase: Default::default(),
            nrun: Default::default(),
            mrun: Default::default(),
            gcur: Default::default(),
            gnext: Default::default(),
            gidx: Default::default(),
            kn1: Default::default(),
            ocol: Default::default(),
            ocol_ok: Default::default(),
            mcol: Default::default(),
            mcol_ok: Default::default(),
            ncg: Default::default(),
            ghi: Default::default(),
            end_w: Default::default(),
            end_p: Default::default(),
            end_i: Default::default(),
            end_o: Default::default(),
            dw: Default::default(),
            nlow: Default::default(),
            k_ones32: Constant::new(0xFFFF_FFFFu64.into()),
            lc: Default::default(),
            lr: Default::default(),
            lw: Default::default(),
            lbase: Default::default(),
            o0: Default::default(),
            pcur: Default::default(),
            wcur: Default::default(),
            nvalid: Default::default(),
            crun: Default::default(),
            cerr: Default::default(),
            dbl: Default::default(),
            lwh: Default::default(),
            cwh: Default::default(),
            co0: Default::default(),
            cnv: Default::default(),
            cnb: Default::default(),
            cgs: Default::default(),
            cpos: Default::default(),
            lgh: Default::default(),
            cgh: Default::default(),
            lgoff: Default::default(),
            cgoff: Default::default(),
            wboff: Default::default(),
            rboff: Default::default(),
            addn: Default::default(),
            k_khalf: Constant::new((plan.double_buffer_depth() as u64).into()),
            pb: n(cols),
            pt: n(cols),
            pv: n(cols),
            pf: Default::default(),
            pcol: Default::default(),
            bth: Default::default(),
            ppk: Default::default(),
            ppc: Default::default(),
            pword: Default::default(),
            kk: Default::default(),
            s0: Default::default(),
            ab: Default::default(),
            sv: Default::default(),
            sact: Default::default(),
            kn: Default::default(),
            abn: Default::default(),
            hs: Default::default(),
            left: Default::default(),
            pop: Default::default(),
            lane: Default::default(),
            ec: Default::default(),
            ej: Default::default(),
            jb: Default::default(),
            tb: Default::default(),
            moc: Default::default(),
            ssel: Default::default(),
            sbit: Default::default(),
            sshift: Default::default(),
            m64: Default::default(),
            o_we_all: Default::default(),
            o_we_one: Default::default(),
            o_addr: Default::default(),
            word: Default::default(),
            donef: Default::default(),
            errq: Default::default(),
            erroff: Default::default(),
            fcode: Default::default(),
            foff: Default::default(),
            c_cyc: Default::default(),
            c_bsy: Default::default(),
            c_add: Default::default(),
            c_sl: Default::default(),
            c_spk: Default::default(),
            k_cols: Constant::new((cols as u64).into()),
            k_rows: Constant::new((rows as u64).into()),
            k_cols_m1: Constant::new((cols as u64 - 1).into()),
            k_rows_m1: Constant::new((rows as u64 - 1).into()),
            k_cols12: Constant::new((cols as u64 * 12).into()),
            k_wbmax: Constant::new(u64::from(cfg.weight_bits_max).into()),
            k_sbmax: Constant::new(u64::from(cfg.spike_bits_max).into()),
            k_kmax: Constant::new((plan.wbank_depth as u64).into()),
            k_adepth: Constant::new((plan.abank_depth as u64).into()),
            k_odepth: Constant::new((plan.obuf_words as u64).into()),
            k_bmask: Constant::new((S as u64 - 1).into()),
            k_pad: Constant::new(0xFFFF_FFFFu64.into()),
            k_far: Constant::new((1u64 << 40).into()),
            k_sext32: Constant::new(Bits::<MEM>::from(sext32 as u64)),
            k_memhalf: Constant::new((1u64 << (MEM - 1)).into()),
            k_sext64: Constant::new((!((1u64 << MEM) - 1)).into()),
            lane_id: (0..rows)
                .map(|r| Constant::new((r as u64).into()))
                .collect(),
            bitm: (0..64).map(|b| Constant::new((1u64 << b).into())).collect(),
            k_wrow: Constant::new(cfg.loads_weight_rows()),
            k_cols16: Constant::new((cols as u64).into()),
            col_id16: (0..cols)
                .map(|c| Constant::new((c as u64).into()))
                .collect(),
            wrow_bits: Default::default(),
            wmask: Default::default(),
            wsh: n(cols),
            wcode: n(cols),
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
            self, clock, state, lsize, dcnt, idx, at, op, s_sl, in_words, cbw, tile_words, ntiles,
            w_words, par_bytes, nn, oplanes, out_words, chunks, a_words, tstride, opg, rem_og, gp,
            gpk, kp, sl_tot, cp, gbad, gbad_i, glo_s, glo_off, gs, goffc, pos, pofs, nbase, nrun,
            mrun, gcur, lc, lr, lw, lbase, o0, pcur, wcur, nvalid, crun, cerr, dbl, lwh, cwh, co0,
            cnv, cnb, cgs, cpos, lgh, cgh, pf, pcol, bth, ppk, ppc, kk, s0, ab, sv, sact, ec, ej,
            jb, tb, moc, donef, errq, erroff, c_cyc, c_bsy, c_add, c_sl, c_spk
        );
        for c in 0..self._cols {
            self.pb[c].clock.next = self.clock.val();
            self.pb[c].d.next = self.pb[c].q.val();
            self.pt[c].clock.next = self.clock.val();
            self.pt[c].d.next = self.pt[c].q.val();
            self.pv[c].clock.next = self.clock.val();
            self.pv[c].d.next = self.pv[c].q.val();
        }
        // ---------------- The descriptor (descriptor.rs) ----------------
        self.desc.clock.next = self.clock.val();
        self.desc.restart.next = (self.state.q.val() == CtlState::Desc) & self.rp.in_cmd.val();
        self.desc.take.next = (self.state.q.val() == CtlState::Desc) & self.rp.take.val();
        self.desc.word.next = bit_cast::<32, 64>(self.rp.data.val());
        self.pw.next = (self.desc.input_len.val() + 63) >> 6;
        self.opw.next = bit_cast::<32, 64>((self.nn.q.val() + 63) >> 6);
        // Region ends (64 bits: sizes are below 2^35 words after the saturating math).
        self.end_w.next =
            bit_cast::<64, 32>(self.desc.weights_offset.val()) + (self.w_words.q.val() << 3);
        self.end_p.next =
            bit_cast::<64, 32>(self.desc.params_offset.val()) + self.par_bytes.q.val();
        self.end_i.next =
            bit_cast::<64, 32>(self.desc.input_offset.val()) + (self.in_words.q.val() << 3);
        self.end_g.next =
            bit_cast::<64, 32>(self.desc.gather_offset.val()) + (self.gpk.q.val() << 2);
        // A size of 2^32 words or more is outside every window (and would wrap below).
        if self.gpk.q.val().get_bits::<32>(32).any() {
            self.end_g.next = self.k_far.val();
        }
        if self.w_words.q.val().get_bits::<32>(32).any() {
            self.end_w.next = self.k_far.val();
        }
        if self.in_words.q.val().get_bits::<32>(32).any() {
            self.end_i.next = self.k_far.val();
        }
        self.end_o.next =
            bit_cast::<64, 32>(self.desc.output_offset.val()) + (self.out_words.q.val() << 3);
        if self.out_words.q.val().get_bits::<32>(32).any() {
            self.end_o.next = self.k_far.val();
        }

        // ---------------- Outputs and defaults ----------------
        self.busy.next = self.state.q.val() != CtlState::Idle;
        self.done.next = self.donef.q.val();
        self.error.next = self.errq.q.val() != 0;
        self.error_code.next = self.errq.q.val();
        self.desc_index.next = self.idx.q.val();
        self.err_offset.next = self.erroff.q.val();
        self.cnt_clear.next = false;
        self.cnt_cycles.next = self.c_cyc.q.val();
        self.cnt_busy.next = self.c_bsy.q.val();
        self.cnt_pe_adds.next = self.c_add.q.val();
        self.cnt_slices.next = self.c_sl.q.val();
        self.cnt_spikes.next = self.c_spk.q.val();
        self.c_cfg_k.next = self.desc.fan_in.val().get_bits::<16>(0);
        self.c_cfg_slices.next = self.s_sl.q.val().get_bits::<10>(0);
        self.c_cfg_b_in.next = self.desc.input_bits.val();
        self.c_cfg_b_w.next = self.desc.weight_bits.val();
        self.c_cfg_b_s.next = self.desc.spike_bits.val();
        self.c_cfg_lif.next = self.desc.leak_shift.val() != 0;
        self.c_cfg_leak.next = self.desc.leak_shift.val();
        self.c_cfg_hard.next = self.desc.hard_reset.val();
        self.c_cfg_readout.next = self.desc.readout.val();
        self.c_start.next = false;

        // A weight tile's row of C codes, in bits, and the mask of one code.
        self.wrow_bits.next = bit_cast::<16, 4>(self.desc.weight_bits.val()) * self.k_cols16.val();
        self.wmask.next = (bits::<64>(1) << self.desc.weight_bits.val()) - 1;

        // DMA reads: one read phase block for every phase (`read_phase.rs`); the
        // controller picks the region and the field width, and takes the fields.
        self.rp.clock.next = self.clock.val();
        self.rp.rst.next = self.rst.val();
        self.rp.active.next = false;
        self.rp.drain.next = false;
        self.rp.last.next = false;
        self.rp.offset.next = self.at.q.val();
        self.rp.len.next = 64.into();
        self.rp.field_bits.next = 32.into();
        if self.state.q.val() == CtlState::Act {
            self.rp.offset.next = self.desc.input_offset.val();
            self.rp.len.next = bit_cast::<32, 64>(self.in_words.q.val() << 3);
            self.rp.field_bits.next = 64.into();
        }
        if self.state.q.val() == CtlState::Gchk {
            self.rp.offset.next = self.desc.gather_offset.val();
            self.rp.len.next = bit_cast::<32, 64>(self.gpk.q.val() << 2);
        }
        if self.state.q.val() == CtlState::Grow {
            self.rp.offset.next = self.goffc.q.val();
            self.rp.len.next = self.desc.fan_in.val() << 2;
        }
        if self.state.q.val() == CtlState::Par {
            self.rp.offset.next = self.pcur.q.val();
            self.rp.len.next = (self.nvalid.q.val() << 3) + (self.nvalid.q.val() << 2);
        }
        if self.state.q.val() == CtlState::Wgt {
            self.rp.offset.next = self.wcur.q.val();
            self.rp.len.next = bit_cast::<32, 64>(self.tile_words.q.val() << 3);
            self.rp.field_bits.next = bit_cast::<7, 4>(self.desc.weight_bits.val());
            if self.k_wrow.val() {
                self.rp.field_bits.next = bit_cast::<7, 32>(self.wrow_bits.val());
            }
        }
        ReadClient::<D>::link(&mut self.dma_rd, &mut self.rp.dma);
        self.dw.next = bit_cast::<32, 64>(self.rp.data.val());
        // The write-back (writeback.rs): the FSM says which of its states it is in.
        self.writer.clock.next = self.clock.val();
        self.writer.issue.next =
            (self.state.q.val() == CtlState::OutCmd) & !self.cerr.q.val() & !self.crun.q.val();
        self.writer.writing.next = self.state.q.val() == CtlState::OutWr;
        self.writer.offset.next = self.desc.output_offset.val();
        self.writer.words.next = self.out_words.q.val();
        WriteClient::<D>::link(&mut self.dma_wr, &mut self.writer.dma);

        // Sequential multiply / divide unit (operands chosen by the states).
        self.set_a.next = 0.into();
        self.set_b.next = 0.into();
        self.set_div.next = false;
        self.muldiv.clock.next = self.clock.val();
        self.muldiv.load.next = false;
        self.muldiv.step.next = false;
        self.muldiv.a.next = 0.into();
        self.muldiv.b.next = 0.into();
        self.muldiv.div.next = false;

        // Failure report (used by the transitions to Fail).
        self.fcode.next = 0.into();
        self.foff.next = 0.into();

        // Buffers: defaults.
        // Weight bank halves (double buffering): loads write `lwh`, the core reads `cwh`.
        self.wboff.next = 0.into();
        if self.lwh.q.val() {
            self.wboff.next = self.k_khalf.val();
        }
        self.rboff.next = 0.into();
        if self.cwh.q.val() {
            self.rboff.next = self.k_khalf.val();
        }
        self.lgoff.next = 0.into();
        if self.lgh.q.val() {
            self.lgoff.next = self.k_khalf.val();
        }
        self.cgoff.next = 0.into();
        if self.cgh.q.val() {
            self.cgoff.next = self.k_khalf.val();
        }
        // Weight codes out of the gearbox's field: code c of a row at bits
        // [c b_w, (c + 1) b_w) (layout::pack_weights), or the one code at bit 0.
        for c in 0..self._cols {
            self.wsh[c].next = 0.into();
            if self.k_wrow.val() {
                self.wsh[c].next =
                    bit_cast::<16, 4>(self.desc.weight_bits.val()) * self.col_id16[c].val();
            }
            self.wcode[c].next = (self.rp.data.val() >> self.wsh[c].val()) & self.wmask.val();
            self.wbank[c].clock.next = self.clock.val();
            self.wbank[c].we.next = false;
            self.wbank[c].waddr.next =
                bit_cast::<BRAM_ADDR_BITS, 32>(self.lw.q.val() + self.wboff.val());
            self.wbank[c].wdata.next = self.wcode[c].val().get_bits::<8>(0);
        }
        for r in 0..self._rows {
            self.abank[r].clock.next = self.clock.val();
            self.abank[r].we.next = false;
            self.abank[r].waddr.next =
                bit_cast::<BRAM_ADDR_BITS, 32>(self.lbase.q.val() + self.lw.q.val());
            self.abank[r].wdata.next = self.rp.data.val();
        }
        // Output columns: in range and in the group being run (dense: one group).
        self.ocol.next = self.co0.q.val() + bit_cast::<32, 8>(self.ec.q.val());
        self.ocol_ok.next = (self.ocol.val() < self.desc.outputs.val())
            & (self.ocol.val() >= self.cgs.q.val())
            & (bit_cast::<64, 32>(self.ocol.val())
                < bit_cast::<64, 32>(self.cgs.q.val()) + self.opg.q.val());
        self.mcol.next = self.co0.q.val() + bit_cast::<32, 8>(self.moc.q.val());
        self.mcol_ok.next = (self.mcol.val() < self.desc.outputs.val())
            & (self.mcol.val() >= self.cgs.q.val())
            & (bit_cast::<64, 32>(self.mcol.val())
                < bit_cast::<64, 32>(self.cgs.q.val()) + self.opg.q.val());
        // Valid columns of the tile in the group: min(gs + opg, o0 + nvalid) - max(gs, o0).
        self.ghi.next = self.co0.q.val() + self.cnv.q.val();
        if bit_cast::<64, 32>(self.cgs.q.val()) + self.opg.q.val()
            < bit_cast::<64, 32>(self.ghi.val())
        {
            self.ghi.next = self.cgs.q.val() + bit_cast::<32, 64>(self.opg.q.val());
        }
        self.ncg.next = self.ghi.val() - self.co0.q.val();
        if self.cgs.q.val() > self.co0.q.val() {
            self.ncg.next = self.ghi.val() - self.cgs.q.val();
        }
        // Core feed: the next k (the RAM address) and the current beat.
        self.kn.next = self.kk.q.val();
        self.abn.next = self.ab.q.val();
        self.hs.next =
            self.sv.q.val() & self.sact.q.val() & self.c_wgt_ready.val() & self.c_act_ready.val();
        self.left.next = bit_cast::<10, 64>(self.s_sl.q.val()) - self.s0.q.val();
        self.c_wgt_valid.next = self.sv.q.val() & self.sact.q.val();
        self.c_act_valid.next = self.sv.q.val() & self.sact.q.val();
        self.pop.next = 0.into();
        for c in 0..self._cols {
            self.c_wgt_data[c].next = self.wbank[c].rdata.val();
        }
        // The input index of the beat: k (dense) or the gather entry (padding reads 0).
        self.gidx.next = bit_cast::<32, 16>(self.kk.q.val());
        if self.desc.gather_layer.val() {
            self.gidx.next = self.gcur.q.val();
        }
        for r in 0..self._rows {
            self.lane.next = self.abank[r].rdata.val() >> self.gidx.val().get_bits::<6>(0);
            self.c_act_data[r].next = self.lane.val().get_bit(0)
                & (self.lane_id[r].val() < self.left.val())
                & !(self.desc.gather_layer.val() & (self.gcur.q.val() == self.k_pad.val()));
            if self.lane.val().get_bit(0)
                & (self.lane_id[r].val() < self.left.val())
                & !(self.desc.gather_layer.val() & (self.gcur.q.val() == self.k_pad.val()))
            {
                self.pop.next = self.pop.val() + 1;
            }
        }
        // Parameter beats: C v_init, C bias, C theta (column 0 first), sign-extended.
        self.pword.next = 0.into();
        for c in 0..self._cols {
            if self.ppc.q.val().index() == c {
                if self.ppk.q.val() == 0 {
                    self.pword.next = self.pv[c].q.val();
                }
                if self.ppk.q.val() == 1 {
                    self.pword.next = self.pb[c].q.val();
                }
                if self.ppk.q.val() == 2 {
                    self.pword.next = self.pt[c].q.val();
                }
            }
        }
        self.c_par_data.next = bit_cast::<MEM, 32>(self.pword.val());
        if self.pword.val().get_bit(31) {
            self.c_par_data.next = bit_cast::<MEM, 32>(self.pword.val()) | self.k_sext32.val();
        }
        self.c_par_valid.next = self.crun.q.val() & (self.ppk.q.val() != 3);
        // Spikes: column ec, bit ej of the current beat; membranes sign-extended to 64.
        self.ssel.next = 0.into();
        for c in 0..self._cols {
            if self.ec.q.val().index() == c {
                self.ssel.next = self.c_spk_data[c].val();
            }
        }
        self.sshift.next = self.ssel.val() >> self.ej.q.val();
        self.sbit.next = self.sshift.val().get_bit(0);
        self.m64.next = bit_cast::<64, MEM>(self.c_mem_data.val());
        if self.c_mem_data.val() >= self.k_memhalf.val() {
            self.m64.next = bit_cast::<64, MEM>(self.c_mem_data.val()) | self.k_sext64.val();
        }
        self.c_spk_ready.next = false;
        self.c_mem_ready.next = false;
        self.nlow.next = self.nrun.q.val().get_bits::<6>(0);
        self.o_addr.next = self.lc.q.val();
        self.o_we_all.next = false;
        self.o_we_one.next = false;
        // Output buffer read-out word (registered RAM outputs of the 64 bit banks).
        self.word.next = 0.into();
        for b in 0..self._obanks {
            if self.obank[b].rdata.val() {
                self.word.next = self.word.val() | self.bitm[b].val();
            }
        }
        self.writer.word.next = self.word.val();

        // ---------------- Compute engine: the core runs a tile ----------------
        // Independent of the FSM state, so that with double buffering the FSM loads
        // the next tile meanwhile. PE additions: per beat, the set slice bits
        // streamed x the columns written (`Activity::pe_adds`).
        self.addn.next = bit_cast::<16, 8>(self.pop.val()) * self.ncg.val().get_bits::<16>(0);
        if self.crun.q.val() {
            // Parameters.
            if (self.ppk.q.val() != 3) & self.c_par_ready.val() {
                self.ppc.d.next = self.ppc.q.val() + 1;
                if self.ppc.q.val() == self.k_cols_m1.val() {
                    self.ppc.d.next = 0.into();
                    self.ppk.d.next = self.ppk.q.val() + 1;
                }
            }
            // One (wgt, act) beat per cycle from the banks.
            if self.hs.val() {
                self.gcur.d.next = self.gbuf.rdata.val();
                self.c_add.d.next = self.c_add.q.val() + bit_cast::<64, 32>(self.addn.val());
                self.kn.next = self.kk.q.val() + 1;
                if bit_cast::<32, 16>(self.kk.q.val() + 1) == self.desc.fan_in.val() {
                    self.kn.next = 0.into();
                    self.abn.next = self.ab.q.val() + self.pw.val();
                    self.s0.d.next = self.s0.q.val() + bit_cast::<10, 64>(self.k_rows.val());
                    if bit_cast::<64, 10>(self.s0.q.val()) + self.k_rows.val() >= self.s_sl.q.val()
                    {
                        self.sact.d.next = false;
                    }
                }
            }
            // Spikes: C x b_s single-bit writes, then the beat is accepted.
            if self.c_spk_valid.val() {
                self.o_we_one.next = self.ocol_ok.val();
                self.o_addr.next = self.tb.q.val() + self.jb.q.val() + (self.nrun.q.val() >> 6);
                if (self.ej.q.val() == 0) & self.ocol_ok.val() {
                    self.c_spk.d.next = self.c_spk.q.val() + bit_cast::<64, 8>(self.ssel.val());
                }
                self.ej.d.next = self.ej.q.val() + 1;
                self.jb.d.next = self.jb.q.val() + self.opw.val();
                if self.ej.q.val() + 1 == self.desc.spike_bits.val() {
                    self.ej.d.next = 0.into();
                    self.jb.d.next = 0.into();
                    self.ec.d.next = self.ec.q.val() + 1;
                    self.nrun.d.next = self.nrun.q.val() + self.desc.positions.val();
                    if self.ec.q.val() == self.k_cols_m1.val() {
                        self.ec.d.next = 0.into();
                        self.nrun.d.next = self.cnb.q.val() + self.cpos.q.val();
                        self.c_spk_ready.next = true;
                        self.tb.d.next = self.tb.q.val() + bit_cast::<32, 64>(self.tstride.q.val());
                    }
                }
            }
            // Final membranes: written for a readout layer, dropped otherwise.
            self.c_mem_ready.next = true;
            if self.c_mem_valid.val() {
                self.moc.d.next = self.moc.q.val() + 1;
                self.mrun.d.next = self.mrun.q.val() + self.desc.positions.val();
                self.o_addr.next = self.mrun.q.val();
                self.o_we_all.next = self.desc.readout.val() & self.mcol_ok.val();
            }
            if self.c_done.val() {
                self.crun.d.next = false;
                self.cerr.d.next = self.c_error.val();
            }
        }

        // ---------------- FSM ----------------
        match self.state.q.val() {
            CtlState::Idle => {
                // Drain whatever a soft reset interrupted.
                self.rp.drain.next = true;
                if self.start.val() {
                    self.cnt_clear.next = true;
                    self.lsize.d.next = self.buf_size.val();
                    self.dcnt.d.next = self.desc_count.val();
                    self.at.d.next = self.desc_offset.val();
                    self.idx.d.next = 0.into();
                    self.donef.d.next = false;
                    self.errq.d.next = 0.into();
                    self.erroff.d.next = 0.into();
                    self.c_cyc.d.next = 0.into();
                    self.c_bsy.d.next = 0.into();
                    self.c_add.d.next = 0.into();
                    self.c_sl.d.next = 0.into();
                    self.c_spk.d.next = 0.into();
                    self.cerr.d.next = false;
                    if self.desc_count.val() == 0 {
                        self.state.d.next = CtlState::Finish;
                    } else {
                        self.state.d.next = CtlState::Desc;
                    }
                }
            }
            CtlState::Desc => {
                self.rp.active.next = true;
                self.rp.last.next = self.desc.last.val();
                if self.rp.failed.val() {
                    self.fcode.next = self.rp.err_code.val();
                    self.foff.next = self.rp.err_offset.val();
                    // A refused command names the descriptor itself.
                    if self.rp.err_code.val() == 3 {
                        self.foff.next = self.at.q.val();
                    }
                    self.state.d.next = CtlState::Fail;
                }
                if self.rp.done.val() {
                    self.state.d.next = CtlState::Decode;
                }
            }
            CtlState::Decode => {
                self.op.d.next = 0.into();
                if self.desc.bad_header.val() {
                    self.fcode.next = 1.into();
                    self.foff.next = self.at.q.val();
                    self.state.d.next = CtlState::Fail;
                } else if self.desc.bad_kind.val() {
                    self.fcode.next = 2.into();
                    self.foff.next = self.at.q.val() + 8;
                    self.state.d.next = CtlState::Fail;
                } else if self.desc.bad_field.val() {
                    self.fcode.next = 2.into();
                    self.foff.next = self.at.q.val();
                    self.state.d.next = CtlState::Fail;
                } else {
                    self.state.d.next = CtlState::MathSet;
                }
            }
            CtlState::MathSet => {
                // Operands of operation `op` (each below 2^32: products fit 64 bits).
                if self.op.q.val() == 0 {
                    self.set_a.next = bit_cast::<64, 32>(self.desc.timesteps.val());
                    self.set_b.next = bit_cast::<64, 4>(self.desc.input_bits.val());
                }
                if self.op.q.val() == 1 {
                    self.set_a.next = self.s_sl.q.val();
                    self.set_b.next = bit_cast::<64, 32>(self.pw.val());
                }
                if self.op.q.val() == 2 {
                    self.set_a.next = self.k_cols.val();
                    self.set_b.next = bit_cast::<64, 4>(self.desc.weight_bits.val());
                }
                if self.op.q.val() == 3 {
                    self.set_a.next = bit_cast::<64, 32>(self.desc.fan_in.val());
                    self.set_b.next = self.cbw.q.val();
                }
                if self.op.q.val() == 4 {
                    self.set_a.next =
                        bit_cast::<64, 32>(self.desc.outputs.val()) + self.k_cols.val() - 1;
                    self.set_b.next = self.k_cols.val();
                    self.set_div.next = true;
                }
                if self.op.q.val() == 5 {
                    self.set_a.next = self.ntiles.q.val();
                    self.set_b.next = self.tile_words.q.val();
                }
                if self.op.q.val() == 6 {
                    self.set_a.next = bit_cast::<64, 32>(self.desc.outputs.val());
                    self.set_b.next = 12.into();
                }
                if self.op.q.val() == 7 {
                    self.set_a.next = bit_cast::<64, 32>(self.desc.outputs.val());
                    self.set_b.next = bit_cast::<64, 32>(self.desc.positions.val());
                }
                if self.op.q.val() == 8 {
                    self.set_a.next = bit_cast::<64, 32>(self.desc.timesteps.val());
                    self.set_b.next = bit_cast::<64, 4>(self.desc.spike_bits.val());
                }
                if self.op.q.val() == 9 {
                    self.set_a.next = self.oplanes.q.val();
                    self.set_b.next = bit_cast::<64, 32>(self.opw.val());
                }
                if self.op.q.val() == 10 {
                    self.set_a.next = self.s_sl.q.val() + self.k_rows.val() - 1;
                    self.set_b.next = self.k_rows.val();
                    self.set_div.next = true;
                }
                if self.op.q.val() == 11 {
                    self.set_a.next = self.chunks.q.val();
                    self.set_b.next = bit_cast::<64, 32>(self.pw.val());
                }
                if self.op.q.val() == 12 {
                    self.set_a.next = bit_cast::<64, 4>(self.desc.spike_bits.val());
                    self.set_b.next = bit_cast::<64, 32>(self.opw.val());
                }
                if self.op.q.val() == 13 {
                    self.set_a.next = bit_cast::<64, 32>(self.desc.outputs.val());
                    self.set_b.next = bit_cast::<64, 32>(self.desc.groups.val());
                    self.set_div.next = true;
                }
                if self.op.q.val() == 14 {
                    self.set_a.next = bit_cast::<64, 32>(self.desc.groups.val());
                    self.set_b.next = bit_cast::<64, 32>(self.desc.positions.val());
                }
                if self.op.q.val() == 15 {
                    self.set_a.next = self.gp.q.val();
                    self.set_b.next = bit_cast::<64, 32>(self.desc.fan_in.val());
                }
                if self.op.q.val() == 16 {
                    self.set_a.next = bit_cast::<64, 32>(self.desc.fan_in.val());
                    self.set_b.next = bit_cast::<64, 32>(self.desc.positions.val());
                }
                if self.op.q.val() == 17 {
                    self.set_a.next = self.s_sl.q.val();
                    self.set_b.next = self.gp.q.val();
                }
                if self.op.q.val() == 18 {
                    self.set_a.next = self.k_cols.val();
                    self.set_b.next = bit_cast::<64, 32>(self.desc.positions.val());
                }
                // Saturate multiply operands to 32 bits (a saturated size is outside
                // every window anyway).
                if !self.set_div.val() {
                    if self.set_a.val().get_bits::<32>(32).any() {
                        self.set_a.next = self.k_ones32.val();
                    }
                    if self.set_b.val().get_bits::<32>(32).any() {
                        self.set_b.next = self.k_ones32.val();
                    }
                }
                self.muldiv.a.next = self.set_a.val();
                self.muldiv.b.next = self.set_b.val();
                self.muldiv.div.next = self.set_div.val();
                self.muldiv.load.next = true;
                self.state.d.next = CtlState::MathRun;
            }
            CtlState::MathRun => {
                self.muldiv.step.next = true;
                if self.muldiv.last.val() {
                    self.state.d.next = CtlState::MathStore;
                }
            }
            CtlState::MathStore => {
                self.op.d.next = self.op.q.val() + 1;
                self.state.d.next = CtlState::MathSet;
                if self.op.q.val() == 0 {
                    self.s_sl.d.next = self.muldiv.product.val();
                }
                if self.op.q.val() == 1 {
                    self.in_words.d.next = self.muldiv.product.val();
                }
                if self.op.q.val() == 2 {
                    self.cbw.d.next = self.muldiv.product.val();
                }
                if self.op.q.val() == 3 {
                    self.tile_words.d.next = (self.muldiv.product.val() + 63) >> 6;
                }
                if self.op.q.val() == 4 {
                    self.ntiles.d.next = self.muldiv.quotient.val();
                }
                if self.op.q.val() == 5 {
                    self.w_words.d.next = self.muldiv.product.val();
                }
                if self.op.q.val() == 6 {
                    self.par_bytes.d.next = self.muldiv.product.val();
                }
                if self.op.q.val() == 7 {
                    self.nn.d.next = self.muldiv.product.val();
                }
                if self.op.q.val() == 8 {
                    self.oplanes.d.next = self.muldiv.product.val();
                }
                if self.op.q.val() == 9 {
                    self.out_words.d.next = self.muldiv.product.val();
                    if self.desc.readout.val() {
                        self.out_words.d.next = self.nn.q.val();
                    }
                }
                if self.op.q.val() == 10 {
                    self.chunks.d.next = self.muldiv.quotient.val();
                }
                if self.op.q.val() == 11 {
                    self.a_words.d.next = self.muldiv.product.val();
                }
                if self.op.q.val() == 12 {
                    self.tstride.d.next = self.muldiv.product.val();
                }
                if self.op.q.val() == 13 {
                    self.opg.d.next = self.muldiv.quotient.val();
                    self.rem_og.d.next = self.muldiv.product.val();
                }
                if self.op.q.val() == 14 {
                    self.gp.d.next = self.muldiv.product.val();
                }
                if self.op.q.val() == 15 {
                    self.gpk.d.next = self.muldiv.product.val();
                }
                if self.op.q.val() == 16 {
                    self.kp.d.next = self.muldiv.product.val();
                }
                if self.op.q.val() == 17 {
                    self.sl_tot.d.next = self.muldiv.product.val();
                }
                if self.op.q.val() == 18 {
                    self.cp.d.next = self.muldiv.product.val();
                    self.state.d.next = CtlState::Regions;
                }
            }
            CtlState::Regions => {
                // In the order of LayerDescriptor::regions: weights, params, input, output.
                self.state.d.next = CtlState::Fit;
                if self.desc.gather_layer.val()
                    & (self.end_g.val() > bit_cast::<64, 32>(self.lsize.q.val()))
                {
                    self.fcode.next = 3.into();
                    self.foff.next = self.desc.gather_offset.val();
                    self.state.d.next = CtlState::Fail;
                }
                if self.end_o.val() > bit_cast::<64, 32>(self.lsize.q.val()) {
                    self.fcode.next = 3.into();
                    self.foff.next = self.desc.output_offset.val();
                    self.state.d.next = CtlState::Fail;
                }
                if self.end_i.val() > bit_cast::<64, 32>(self.lsize.q.val()) {
                    self.fcode.next = 3.into();
                    self.foff.next = self.desc.input_offset.val();
                    self.state.d.next = CtlState::Fail;
                }
                if self.end_p.val() > bit_cast::<64, 32>(self.lsize.q.val()) {
                    self.fcode.next = 3.into();
                    self.foff.next = self.desc.params_offset.val();
                    self.state.d.next = CtlState::Fail;
                }
                if self.end_w.val() > bit_cast::<64, 32>(self.lsize.q.val()) {
                    self.fcode.next = 3.into();
                    self.foff.next = self.desc.weights_offset.val();
                    self.state.d.next = CtlState::Fail;
                }
                // O must divide into G groups (checked before the regions).
                if self.rem_og.q.val() != 0 {
                    self.fcode.next = 2.into();
                    self.foff.next = self.at.q.val();
                    self.state.d.next = CtlState::Fail;
                }
            }
            CtlState::Fit => {
                if (self.desc.fan_in.val() > self.k_kmax.val())
                    | (self.a_words.q.val() > self.k_adepth.val())
                    | (self.out_words.q.val() > self.k_odepth.val())
                {
                    self.fcode.next = 6.into();
                    self.foff.next = self.at.q.val();
                    self.state.d.next = CtlState::Fail;
                } else {
                    self.c_sl.d.next = self.c_sl.q.val() + self.sl_tot.q.val();
                    if self.desc.gather_layer.val() {
                        self.state.d.next = CtlState::Gchk;
                    } else {
                        self.state.d.next = CtlState::Act;
                    }
                }
            }
            CtlState::Gchk => {
                // Every entry must be padding or inside the input (the first bad one,
                // in table order, is reported: code 2 at its offset).
                self.rp.active.next = true;
                if self.rp.in_cmd.val() {
                    self.lc.d.next = 0.into();
                    self.gbad.d.next = false;
                }
                self.rp.last.next = bit_cast::<64, 32>(self.lc.q.val() + 1) == self.gpk.q.val();
                if self.rp.take.val() {
                    if !self.gbad.q.val()
                        & (self.dw.val() != self.k_pad.val())
                        & (self.dw.val() >= self.desc.input_len.val())
                    {
                        self.gbad.d.next = true;
                        self.gbad_i.d.next = self.lc.q.val();
                    }
                    self.lc.d.next = self.lc.q.val() + 1;
                }
                if self.rp.failed.val() {
                    self.fcode.next = self.rp.err_code.val();
                    self.foff.next = self.rp.err_offset.val();
                    self.state.d.next = CtlState::Fail;
                }
                if self.rp.done.val() {
                    if self.gbad.q.val() {
                        self.fcode.next = 2.into();
                        self.foff.next = self.desc.gather_offset.val() + (self.gbad_i.q.val() << 2);
                        self.state.d.next = CtlState::Fail;
                    } else {
                        self.state.d.next = CtlState::Act;
                    }
                }
            }
            CtlState::Act => {
                self.rp.active.next = true;
                if self.rp.in_cmd.val() {
                    self.lc.d.next = 0.into();
                    self.lr.d.next = 0.into();
                    self.lw.d.next = 0.into();
                    self.lbase.d.next = 0.into();
                }
                self.rp.last.next =
                    bit_cast::<64, 32>(self.lc.q.val() + 1) == self.in_words.q.val();
                if self.rp.take.val() {
                    for r in 0..self._rows {
                        if self.lr.q.val().index() == r {
                            self.abank[r].we.next = true;
                        }
                    }
                    self.lc.d.next = self.lc.q.val() + 1;
                    self.lw.d.next = self.lw.q.val() + 1;
                    if self.lw.q.val() + 1 == self.pw.val() {
                        self.lw.d.next = 0.into();
                        self.lr.d.next = self.lr.q.val() + 1;
                        if self.lr.q.val() == self.k_rows_m1.val() {
                            self.lr.d.next = 0.into();
                            self.lbase.d.next = self.lbase.q.val() + self.pw.val();
                        }
                    }
                }
                if self.rp.failed.val() {
                    self.fcode.next = self.rp.err_code.val();
                    self.foff.next = self.rp.err_offset.val();
                    self.state.d.next = CtlState::Fail;
                }
                if self.rp.done.val() {
                    self.lc.d.next = 0.into();
                    self.state.d.next = CtlState::Clr;
                }
            }
            CtlState::Clr => {
                self.o_we_all.next = true;
                self.lc.d.next = self.lc.q.val() + 1;
                if bit_cast::<64, 32>(self.lc.q.val() + 1) == self.out_words.q.val() {
                    self.o0.d.next = 0.into();
                    self.glo_s.d.next = 0.into();
                    self.glo_off.d.next = self.desc.gather_offset.val();
                    self.nbase.d.next = 0.into();
                    self.pos.d.next = 0.into();
                    self.gs.d.next = 0.into();
                    self.pcur.d.next = self.desc.params_offset.val();
                    self.wcur.d.next = self.desc.weights_offset.val();
                    // Double buffer layers whose tile (and gather row) fits half the
                    // weight banks (and the row buffer).
                    self.lwh.d.next = false;
                    self.lgh.d.next = false;
                    self.dbl.d.next = self.desc.fan_in.val() <= self.k_khalf.val();
                    self.state.d.next = CtlState::TileStart;
                }
            }
            CtlState::TileStart => {
                // The running tile's parameters are consumed in its first 3C cycles;
                // only then may the next tile's overwrite them.
                if !self.crun.q.val() | (self.ppk.q.val() == 3) {
                    self.nvalid.d.next = self.desc.outputs.val() - self.o0.q.val();
                    if self.desc.outputs.val() - self.o0.q.val()
                        > bit_cast::<32, 64>(self.k_cols.val())
                    {
                        self.nvalid.d.next = bit_cast::<32, 64>(self.k_cols.val());
                    }
                    for c in 0..self._cols {
                        self.pb[c].d.next = 0.into();
                        self.pt[c].d.next = 0.into();
                        self.pv[c].d.next = 0.into();
                    }
                    self.bth.d.next = false;
                    self.state.d.next = CtlState::GAdv;
                }
            }
            CtlState::GAdv => {
                // First group of the tile: advance while the group ends at or before o0.
                if bit_cast::<64, 32>(self.glo_s.q.val()) + self.opg.q.val()
                    <= bit_cast::<64, 32>(self.o0.q.val())
                {
                    self.glo_s.d.next = self.glo_s.q.val() + bit_cast::<32, 64>(self.opg.q.val());
                    self.glo_off.d.next =
                        self.glo_off.q.val() + bit_cast::<32, 64>(self.kp.q.val() << 2);
                } else {
                    self.state.d.next = CtlState::Par;
                }
            }
            CtlState::Par => {
                self.rp.active.next = true;
                if self.rp.in_cmd.val() {
                    self.lc.d.next = 0.into();
                    self.pf.d.next = 0.into();
                    self.pcol.d.next = 0.into();
                }
                self.rp.last.next =
                    self.lc.q.val() + 1 == (self.nvalid.q.val() << 1) + self.nvalid.q.val();
                if self.rp.take.val() {
                    for c in 0..self._cols {
                        if self.pcol.q.val().index() == c {
                            if self.pf.q.val() == 0 {
                                self.pb[c].d.next = self.dw.val();
                            }
                            if self.pf.q.val() == 1 {
                                self.pt[c].d.next = self.dw.val();
                            }
                            if self.pf.q.val() == 2 {
                                self.pv[c].d.next = self.dw.val();
                            }
                        }
                    }
                    // A spiking layer's thresholds must be positive (code 2, offset 0,
                    // as the functional model's layer check reports it).
                    if (self.pf.q.val() == 1)
                        & !self.desc.readout.val()
                        & (self.dw.val().get_bit(31) | (self.dw.val() == 0))
                    {
                        self.bth.d.next = true;
                    }
                    self.pf.d.next = self.pf.q.val() + 1;
                    if self.pf.q.val() == 2 {
                        self.pf.d.next = 0.into();
                        self.pcol.d.next = self.pcol.q.val() + 1;
                    }
                    self.lc.d.next = self.lc.q.val() + 1;
                }
                if self.rp.failed.val() {
                    self.fcode.next = self.rp.err_code.val();
                    self.foff.next = self.rp.err_offset.val();
                    self.state.d.next = CtlState::Fail;
                }
                if self.rp.done.val() {
                    if self.bth.q.val() {
                        self.fcode.next = 2.into();
                        self.foff.next = 0.into();
                        self.state.d.next = CtlState::Fail;
                    } else {
                        self.state.d.next = CtlState::Wgt;
                    }
                }
            }
            CtlState::Wgt => {
                self.rp.active.next = true;
                if self.rp.in_cmd.val() {
                    self.lr.d.next = 0.into();
                    self.lw.d.next = 0.into();
                }
                // A whole row (input lw's code for every column) per field, or one
                // code (column lr of input lw).
                self.rp.last.next = self.lw.q.val() + 1 == self.desc.fan_in.val();
                if !self.k_wrow.val() {
                    self.rp.last.next = (self.lw.q.val() + 1 == self.desc.fan_in.val())
                        & (self.lr.q.val() == self.k_cols_m1.val());
                }
                if self.rp.take.val() & self.k_wrow.val() {
                    for c in 0..self._cols {
                        self.wbank[c].we.next = true;
                    }
                    self.lw.d.next = self.lw.q.val() + 1;
                }
                if self.rp.take.val() & !self.k_wrow.val() {
                    for c in 0..self._cols {
                        if self.lr.q.val().index() == c {
                            self.wbank[c].we.next = true;
                        }
                    }
                    self.lr.d.next = self.lr.q.val() + 1;
                    if self.lr.q.val() == self.k_cols_m1.val() {
                        self.lr.d.next = 0.into();
                        self.lw.d.next = self.lw.q.val() + 1;
                    }
                }
                if self.rp.failed.val() {
                    self.fcode.next = self.rp.err_code.val();
                    self.foff.next = self.rp.err_offset.val();
                    self.state.d.next = CtlState::Fail;
                }
                if self.rp.done.val() {
                    if self.desc.gather_layer.val() {
                        self.state.d.next = CtlState::PosStart;
                    } else {
                        self.state.d.next = CtlState::CoreGo;
                    }
                }
            }
            CtlState::PosStart => {
                self.pos.d.next = 0.into();
                self.pofs.d.next = 0.into();
                self.state.d.next = CtlState::GrpStart;
            }
            CtlState::GrpStart => {
                self.gs.d.next = self.glo_s.q.val();
                self.goffc.d.next = self.glo_off.q.val() + self.pofs.q.val();
                self.state.d.next = CtlState::Grow;
            }
            CtlState::Grow => {
                self.rp.active.next = true;
                if self.rp.in_cmd.val() {
                    self.lw.d.next = 0.into();
                }
                self.rp.last.next = self.lw.q.val() + 1 == self.desc.fan_in.val();
                if self.rp.take.val() {
                    self.lw.d.next = self.lw.q.val() + 1;
                }
                if self.rp.failed.val() {
                    self.fcode.next = self.rp.err_code.val();
                    self.foff.next = self.rp.err_offset.val();
                    self.state.d.next = CtlState::Fail;
                }
                if self.rp.done.val() {
                    self.state.d.next = CtlState::GPre;
                }
            }
            CtlState::GPre => {
                // Primes the row pipeline at the new row's entry 0 (below): only once
                // the previous run, which reads the other half, is over.
                if !self.crun.q.val() {
                    self.state.d.next = CtlState::CoreGo;
                }
            }
            CtlState::CoreGo => {
                // With double buffering the previous tile may still be running: wait
                // for the core (it is idle again the cycle after its done).
                if self.cerr.q.val() {
                    self.fcode.next = 2.into();
                    self.foff.next = self.at.q.val();
                    self.state.d.next = CtlState::Fail;
                } else if !self.crun.q.val() {
                    self.c_start.next = true;
                    self.crun.d.next = true;
                    self.cwh.d.next = self.lwh.q.val();
                    self.co0.d.next = self.o0.q.val();
                    self.cnv.d.next = self.nvalid.q.val();
                    self.cnb.d.next = self.nbase.q.val();
                    self.cgs.d.next = self.gs.q.val();
                    self.cpos.d.next = self.pos.q.val();
                    self.cgh.d.next = self.lgh.q.val();
                    self.ppk.d.next = 0.into();
                    self.ppc.d.next = 0.into();
                    self.kn.next = 0.into();
                    self.abn.next = 0.into();
                    self.s0.d.next = 0.into();
                    self.sv.d.next = true;
                    self.sact.d.next = true;
                    self.ec.d.next = 0.into();
                    self.ej.d.next = 0.into();
                    self.jb.d.next = 0.into();
                    self.tb.d.next = 0.into();
                    self.moc.d.next = 0.into();
                    self.gcur.d.next = self.gbuf.rdata.val();
                    self.nrun.d.next = self.nbase.q.val() + self.pos.q.val();
                    self.mrun.d.next = self.nbase.q.val() + self.pos.q.val();
                    self.state.d.next = CtlState::CoreRun;
                    if self.dbl.q.val() {
                        // Go on loading while this run goes: the next tile's parameters
                        // and weights (dense), the next gather row (gather).
                        self.state.d.next = CtlState::TileEnd;
                        if self.desc.gather_layer.val() {
                            self.lgh.d.next = !self.lgh.q.val();
                            self.state.d.next = CtlState::RunEnd;
                        }
                    }
                }
            }
            CtlState::CoreRun => {
                // The compute engine runs the tile (above); wait for it.
                if self.c_done.val() {
                    if self.c_error.val() {
                        self.fcode.next = 2.into();
                        self.foff.next = self.at.q.val();
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
                self.gs.d.next = self.gs.q.val() + bit_cast::<32, 64>(self.opg.q.val());
                self.goffc.d.next = self.goffc.q.val() + bit_cast::<32, 64>(self.kp.q.val() << 2);
                if bit_cast::<64, 32>(self.gs.q.val()) + self.opg.q.val()
                    < bit_cast::<64, 32>(self.o0.q.val() + self.nvalid.q.val())
                {
                    self.state.d.next = CtlState::Grow;
                } else {
                    self.pos.d.next = self.pos.q.val() + 1;
                    self.pofs.d.next = self.pofs.q.val() + (self.desc.fan_in.val() << 2);
                    if self.pos.q.val() + 1 == self.desc.positions.val() {
                        self.state.d.next = CtlState::TileEnd;
                    } else {
                        self.state.d.next = CtlState::GrpStart;
                    }
                }
            }
            CtlState::TileEnd => {
                // Double buffered, the next tile's weights go to the other half.
                if self.dbl.q.val() {
                    self.lwh.d.next = !self.lwh.q.val();
                }
                self.pos.d.next = 0.into();
                self.nbase.d.next = self.nbase.q.val() + bit_cast::<32, 64>(self.cp.q.val());
                self.o0.d.next = self.o0.q.val() + bit_cast::<32, 64>(self.k_cols.val());
                self.pcur.d.next = self.pcur.q.val() + self.k_cols12.val();
                self.wcur.d.next =
                    self.wcur.q.val() + bit_cast::<32, 64>(self.tile_words.q.val() << 3);
                if bit_cast::<64, 32>(self.o0.q.val()) + self.k_cols.val()
                    >= bit_cast::<64, 32>(self.desc.outputs.val())
                {
                    self.state.d.next = CtlState::OutCmd;
                } else {
                    self.state.d.next = CtlState::TileStart;
                }
            }
            CtlState::OutCmd => {
                // The last tile's spikes must be in the output buffer first.
                if self.cerr.q.val() {
                    self.fcode.next = 2.into();
                    self.foff.next = self.at.q.val();
                    self.state.d.next = CtlState::Fail;
                } else if self.writer.accepted.val() {
                    self.state.d.next = CtlState::OutWr;
                }
            }
            CtlState::OutWr => {
                self.o_addr.next = self.writer.read_addr.val();
                if self.writer.sent.val() {
                    self.state.d.next = CtlState::OutWait;
                }
            }
            CtlState::OutWait => {
                if self.writer.completed.val() {
                    if self.writer.err_code.val() != 0 {
                        self.fcode.next = self.writer.err_code.val();
                        self.foff.next = self.writer.err_offset.val();
                        self.state.d.next = CtlState::Fail;
                    } else {
                        self.state.d.next = CtlState::Next;
                    }
                }
            }
            CtlState::Next => {
                self.idx.d.next = self.idx.q.val() + 1;
                self.at.d.next = self.at.q.val() + 64;
                if self.idx.q.val() + 1 == self.dcnt.q.val() {
                    self.state.d.next = CtlState::Finish;
                } else {
                    self.state.d.next = CtlState::Desc;
                }
            }
            CtlState::Finish => {
                self.idx.d.next = self.dcnt.q.val();
                self.donef.d.next = true;
                self.state.d.next = CtlState::Idle;
            }
            CtlState::Fail => {
                // A load that failed behind a running tile: let the tile finish, as
                // it would have before the load was started.
                if !self.crun.q.val() {
                    self.donef.d.next = true;
                    self.state.d.next = CtlState::Idle;
                }
            }
        }
        if self.fcode.val() != 0 {
            self.errq.d.next = self.fcode.val();
            self.erroff.d.next = self.foff.val();
        }
        self.kk.d.next = self.kn.val();
        self.ab.d.next = self.abn.val();
        for c in 0..self._cols {
            self.wbank[c].raddr.next = bit_cast::<BRAM_ADDR_BITS, 32>(
                bit_cast::<32, 16>(self.kn.val()) + self.rboff.val(),
            );
        }
        // Gather buffer writes (the read phase's `take`).
        self.gbuf.clock.next = self.clock.val();
        self.gbuf.we.next = (self.state.q.val() == CtlState::Grow) & self.rp.take.val();
        self.gbuf.waddr.next = bit_cast::<BRAM_ADDR_BITS, 32>(self.lw.q.val() + self.lgoff.val());
        self.gbuf.wdata.next = self.dw.val();
        // Gather: the entry of the next beat (read one ahead in the gather buffer).
        self.gnext.next = self.gcur.q.val();
        if ((self.state.q.val() == CtlState::CoreGo) & !self.crun.q.val()) | self.hs.val() {
            self.gnext.next = self.gbuf.rdata.val();
        }
        self.kn1.next = self.kn.val() + 1;
        if bit_cast::<32, 16>(self.kn.val() + 1) == self.desc.fan_in.val() {
            self.kn1.next = 0.into();
        }
        self.gbuf.raddr.next =
            bit_cast::<BRAM_ADDR_BITS, 32>(bit_cast::<32, 16>(self.kn1.val()) + self.cgoff.val());
        if (self.state.q.val() == CtlState::GPre) & !self.crun.q.val() {
            // The next run's row, which CoreGo hands to the engine (`cgh` = `lgh`).
            self.gbuf.raddr.next = bit_cast::<BRAM_ADDR_BITS, 32>(self.lgoff.val());
        }
        for r in 0..self._rows {
            self.abank[r].raddr.next = bit_cast::<BRAM_ADDR_BITS, 32>(
                self.abn.val() + bit_cast::<32, 16>(self.kn.val() >> 6),
            );
            if self.desc.gather_layer.val() {
                self.abank[r].raddr.next =
                    bit_cast::<BRAM_ADDR_BITS, 32>(self.abn.val() + (self.gnext.val() >> 6));
            }
        }
        for b in 0..self._obanks {
            self.obank[b].clock.next = self.clock.val();
            self.obank[b].raddr.next = bit_cast::<BRAM_ADDR_BITS, 32>(self.o_addr.val());
            self.obank[b].waddr.next = bit_cast::<BRAM_ADDR_BITS, 32>(self.o_addr.val());
            self.obank[b].we.next = self.o_we_all.val();
            self.obank[b].wdata.next =
                self.c_mem_valid.val() & (self.m64.val() & self.bitm[b].val()).any();
            if self.o_we_one.val() & (self.nlow.val().index() == b) {
                self.obank[b].we.next = true;
                self.obank[b].wdata.next = self.sbit.val();
            }
        }
        // Counters.
        if self.state.q.val() != CtlState::Idle {
            self.c_cyc.d.next = self.c_cyc.q.val() + 1;
        }
        if self.c_busy.val() {
            self.c_bsy.d.next = self.c_bsy.q.val() + 1;
        }
        if self.rst.val() {
            self.state.d.next = CtlState::Idle;
            self.donef.d.next = false;
            self.errq.d.next = 0.into();
            self.erroff.d.next = 0.into();
            self.idx.d.next = 0.into();
            self.sv.d.next = false;
            self.sact.d.next = false;
            self.crun.d.next = false;
            self.cerr.d.next = false;
            self.c_cyc.d.next = 0.into();
            self.c_bsy.d.next = 0.into();
            self.c_add.d.next = 0.into();
            self.c_sl.d.next = 0.into();
            self.c_spk.d.next = 0.into();
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
