//! AXI4 master DMA: a read engine (AR/R) and a write engine (AW/W/B) on one
//! [`Axi4Master`] port, each taking commands (window offset, byte length) and moving
//! beats on a valid/ready stream. See docs/shell.md for the protocol.
//!
//! Guarantees (each checked by the test bench in this module):
//! - **Window**: a command is refused, with no bus transaction, unless its bus
//!   footprint lies inside the DMA window `[0, BUF_SIZE)`. The footprint of
//!   `(offset, len)` is `[offset, offset + ceil(len / B) * B)` for `B` bytes per beat:
//!   whole beats move on the bus (the write engine strobes off the tail bytes, the read
//!   engine delivers them), so the check covers every byte address the PL can touch.
//!   Code [`OUT_OF_WINDOW`] (= `ErrorCode::OutOfWindow`).
//! - **Alignment**: `BUF_BASE + offset` must be beat aligned, else code [`BAD_FIELD`]
//!   (narrow and unaligned transfers are not generated: the layouts align every region).
//! - **Bursts**: INCR, full width (AxSIZE = log2 B), at most `max_burst` (<= 256) beats,
//!   never crossing a 4 KiB boundary (AXI4 A3.4.1).
//! - **Outstanding reads**: up to `max_outstanding` read bursts in flight, one ARID, so
//!   data returns in order. Writes: one burst at a time (AW, its W beats, its B).
//! - **Errors**: SLVERR/DECERR on R or B end the command with code [`AXI_SLVERR`] /
//!   [`AXI_DECERR`] and the window offset of the first failing beat (read) or burst
//!   (write). The read engine stops issuing, drains the beats of the bursts already in
//!   flight (discarding them, `rd.valid` stays low) and returns to idle; the next
//!   command runs normally. The write engine stops at the failing burst and does not
//!   consume the command's remaining input beats: the controller that issued the
//!   command must flush or reset its producer (it does, on any error).
//! - A zero-length command completes at once (done, no error, no transaction).
//!
//! Completion: `rd.done`/`wr.done` pulse for one cycle when a command has finished
//! (every beat delivered / every B received, or the error drained); `rd.err`/`wr.err`
//! hold the command's error code (0 = none) and `rd.err_offset`/`wr.err_offset` the
//! failing window offset, from that pulse until the next command is accepted.
//!
//! Counters (for `CNT_DMA_*`, cleared by `cnt_clear`): `bytes_rd` counts the beats
//! read with OKAY times B (whole beats, as the memory delivered them), `bytes_wr` the
//! bytes strobed in W beats, `stall_cycles` the cycles in which an engine waited on the
//! interconnect (AR/AW/W valid without ready, or a burst in flight with no R beat / a B
//! awaited) — not cycles in which the DMA's own stream partner held it back.

use crate::axi::{check_widths, finish_verilog, Axi4Master, AxiError, MASTER_ADDR_BITS};
use crate::param::Param;
use rust_hdl::prelude::*;

/// `ErrorCode::BadField`: the start address is not beat aligned.
pub const BAD_FIELD: u64 = 2;
/// `ErrorCode::OutOfWindow`: the command's footprint leaves `[0, BUF_SIZE)`.
pub const OUT_OF_WINDOW: u64 = 3;
/// `ErrorCode::AxiSlaveError`.
pub const AXI_SLVERR: u64 = 4;
/// `ErrorCode::AxiDecodeError`.
pub const AXI_DECERR: u64 = 5;
/// Name of the generated top module.
pub const TOP_NAME: &str = "spikeslice_dma";
/// Most read bursts in flight the generator accepts (width of the counter).
pub const MAX_OUTSTANDING: usize = 16;

/// Generator parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DmaParams {
    /// AXI data width in bits: 64 or 128.
    pub data_bits: usize,
    /// Longest burst in beats (1..=256; `AcceleratorConfig::max_burst_beats`).
    pub max_burst: usize,
    /// Read bursts in flight (1..=16).
    pub max_outstanding: usize,
}

impl Default for DmaParams {
    fn default() -> Self {
        DmaParams {
            data_bits: 128,
            max_burst: 256,
            max_outstanding: 4,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DmaError {
    #[error(transparent)]
    Axi(#[from] AxiError),
    #[error("max_burst {0} out of range: AXI4 INCR bursts are 1..=256 beats")]
    MaxBurst(usize),
    #[error("max_outstanding {0} out of range 1..={MAX_OUTSTANDING}")]
    Outstanding(usize),
}

impl DmaParams {
    pub fn validate(&self) -> Result<(), DmaError> {
        check_widths(self.data_bits, self.data_bits / 8, &[64, 128])?;
        if !(1..=256).contains(&self.max_burst) {
            return Err(DmaError::MaxBurst(self.max_burst));
        }
        if !(1..=MAX_OUTSTANDING).contains(&self.max_outstanding) {
            return Err(DmaError::Outstanding(self.max_outstanding));
        }
        Ok(())
    }
}

#[derive(Copy, Clone, Debug, PartialEq, LogicState)]
pub enum RdState {
    Idle,
    Check,
    Run,
    Done,
}

#[derive(Copy, Clone, Debug, PartialEq, LogicState)]
pub enum WrState {
    Idle,
    Check,
    Addr,
    Data,
    Resp,
    Done,
}

/// The DMA: `D` data bits, `S = D / 8` bytes per beat.
/// The read engine's ports as its client (the controller) sees them: the
/// command, the data stream and the completion (signals as [`Dma`]'s `rd_*`).
#[derive(LogicInterface, Default)]
#[join = "ReadServer"]
pub struct ReadClient<const D: usize> {
    pub cmd_valid: Signal<Out, Bit>,
    pub cmd_ready: Signal<In, Bit>,
    pub cmd_offset: Signal<Out, Bits<32>>,
    pub cmd_len: Signal<Out, Bits<32>>,
    pub valid: Signal<In, Bit>,
    pub ready: Signal<Out, Bit>,
    pub data: Signal<In, Bits<D>>,
    pub done: Signal<In, Bit>,
    pub err: Signal<In, Bits<8>>,
    pub err_offset: Signal<In, Bits<32>>,
}

/// The write engine's ports as its client (the controller) sees them
/// (signals as [`Dma`]'s `wr_*`).
#[derive(LogicInterface, Default)]
#[join = "WriteServer"]
pub struct WriteClient<const D: usize> {
    pub cmd_valid: Signal<Out, Bit>,
    pub cmd_ready: Signal<In, Bit>,
    pub cmd_offset: Signal<Out, Bits<32>>,
    pub cmd_len: Signal<Out, Bits<32>>,
    pub valid: Signal<Out, Bit>,
    pub ready: Signal<In, Bit>,
    pub data: Signal<Out, Bits<D>>,
    pub done: Signal<In, Bit>,
    pub err: Signal<In, Bits<8>>,
    pub err_offset: Signal<In, Bits<32>>,
}

/// The read engine's ports as the DMA presents them: the mirror of [`ReadClient`],
/// joined to it in the shell.
#[derive(LogicInterface, Default)]
#[join = "ReadClient"]
pub struct ReadServer<const D: usize> {
    pub cmd_valid: Signal<In, Bit>,
    pub cmd_ready: Signal<Out, Bit>,
    pub cmd_offset: Signal<In, Bits<32>>,
    pub cmd_len: Signal<In, Bits<32>>,
    pub valid: Signal<Out, Bit>,
    pub ready: Signal<In, Bit>,
    pub data: Signal<Out, Bits<D>>,
    pub done: Signal<Out, Bit>,
    pub err: Signal<Out, Bits<8>>,
    pub err_offset: Signal<Out, Bits<32>>,
}

/// The write engine's ports as the DMA presents them: the mirror of
/// [`WriteClient`], joined to it in the shell.
#[derive(LogicInterface, Default)]
#[join = "WriteClient"]
pub struct WriteServer<const D: usize> {
    pub cmd_valid: Signal<In, Bit>,
    pub cmd_ready: Signal<Out, Bit>,
    pub cmd_offset: Signal<In, Bits<32>>,
    pub cmd_len: Signal<In, Bits<32>>,
    pub valid: Signal<In, Bit>,
    pub ready: Signal<Out, Bit>,
    pub data: Signal<In, Bits<D>>,
    pub done: Signal<Out, Bit>,
    pub err: Signal<Out, Bits<8>>,
    pub err_offset: Signal<Out, Bits<32>>,
}

#[derive(LogicBlock, Default)]
pub struct Dma<const D: usize, const S: usize> {
    pub clock: Signal<In, Clock>,
    /// Synchronous reset, active high (also: soft reset from CTRL).
    pub rst: Signal<In, Bit>,
    /// BUF_BASE (physical address of the window) and BUF_SIZE: hold stable while busy.
    pub buf_base: Signal<In, Bits<64>>,
    pub buf_size: Signal<In, Bits<32>>,
    pub m_axi: Axi4Master<MASTER_ADDR_BITS, D, S>,
    /// Read commands and their data (`rd_last`: the command's last beat).
    pub rd: ReadServer<D>,
    pub rd_last: Signal<Out, Bit>,
    /// Write commands and their data.
    pub wr: WriteServer<D>,
    // Counters.
    pub cnt_clear: Signal<In, Bit>,
    pub bytes_rd: Signal<Out, Bits<64>>,
    pub bytes_wr: Signal<Out, Bits<64>>,
    pub stall_cycles: Signal<Out, Bits<64>>,
    // Read engine.
    rs: DFF<RdState>,
    r_off: DFF<Bits<32>>,
    r_len: DFF<Bits<32>>,
    r_addr: DFF<Bits<64>>,
    r_issue_left: DFF<Bits<32>>,
    r_recv_left: DFF<Bits<32>>,
    r_recv_off: DFF<Bits<32>>,
    r_outst: DFF<Bits<5>>,
    r_ar_hold: DFF<Bit>,
    r_errq: DFF<Bits<8>>,
    r_err_off: DFF<Bits<32>>,
    r_burst: Signal<Local, Bits<32>>,
    r_to4k: Signal<Local, Bits<32>>,
    r_ar: Signal<Local, Bit>,
    r_hs: Signal<Local, Bit>,
    r_bad: Signal<Local, Bit>,
    r_outst_next: Signal<Local, Bits<5>>,
    // Write engine.
    ws: DFF<WrState>,
    w_off: DFF<Bits<32>>,
    w_len: DFF<Bits<32>>,
    w_addr: DFF<Bits<64>>,
    w_left: DFF<Bits<32>>,
    w_blen: DFF<Bits<32>>,
    w_burst_off: DFF<Bits<32>>,
    w_cur_off: DFF<Bits<32>>,
    /// A burst was accepted in the last cycle: the address and the offset move on
    /// by its length (`w_blen`, not yet counted down) now, a cycle after the
    /// handshake, so that the burst's length and the additions are not one path.
    /// The next AW is at least a data beat and a response away.
    w_step: DFF<Bit>,
    w_tail_strb: DFF<Bits<S>>,
    w_tail_bytes: DFF<Bits<64>>,
    w_errq: DFF<Bits<8>>,
    w_err_off: DFF<Bits<32>>,
    w_burst: Signal<Local, Bits<32>>,
    w_to4k: Signal<Local, Bits<32>>,
    w_hs: Signal<Local, Bit>,
    /// Bytes in the command's last beat (0 = a full beat), its strobe and byte count.
    w_tail: Signal<Local, Bits<8>>,
    w_tail_strb_c: Signal<Local, Bits<16>>,
    w_tail_bytes_c: Signal<Local, Bits<64>>,
    tmask: Param<Bits<8>>,
    // Shared checks (one per engine, from the latched command).
    r_chk: WindowCheck,
    w_chk: WindowCheck,
    // Counters.
    c_rd: DFF<Bits<64>>,
    c_wr: DFF<Bits<64>>,
    c_stall: DFF<Bits<64>>,
    stall: Signal<Local, Bit>,
    // Constants.
    log2b: Param<Bits<8>>,
    beat64: Param<Bits<64>>,
    max_burst: Param<Bits<32>>,
    max_out: Param<Bits<5>>,
    k4096: Param<Bits<32>>,
    ones: Param<Bits<S>>,
}

/// The command checks, from a latched (offset, len): start address, beats, and the
/// error code (0 = accepted). Combinational.
#[derive(LogicBlock, Default)]
pub struct WindowCheck {
    pub base: Signal<In, Bits<64>>,
    pub size: Signal<In, Bits<32>>,
    pub off: Signal<In, Bits<32>>,
    pub len: Signal<In, Bits<32>>,
    pub addr: Signal<Out, Bits<64>>,
    pub beats: Signal<Out, Bits<32>>,
    pub code: Signal<Out, Bits<8>>,
    beats34: Signal<Local, Bits<34>>,
    end34: Signal<Local, Bits<34>>,
    log2b: Param<Bits<8>>,
    bm1_34: Param<Bits<34>>,
    amask: Param<Bits<64>>,
}

impl WindowCheck {
    fn new(beat_bytes: usize) -> Self {
        let log2 = beat_bytes.trailing_zeros() as u64;
        WindowCheck {
            log2b: Param::new(log2.into()),
            bm1_34: Param::new((beat_bytes as u64 - 1).into()),
            amask: Param::new((beat_bytes as u64 - 1).into()),
            ..Default::default()
        }
    }
}

impl Logic for WindowCheck {
    #[hdl_gen]
    fn update(&mut self) {
        self.addr.next = self.base.val() + bit_cast::<64, 32>(self.off.val());
        // 34 bits: offset + len + B - 1 < 2^34, no wrap in Rust or Verilog.
        self.beats34.next =
            (bit_cast::<34, 32>(self.len.val()) + self.bm1_34.val()) >> self.log2b.val();
        self.beats.next = bit_cast::<32, 34>(self.beats34.val());
        self.end34.next =
            bit_cast::<34, 32>(self.off.val()) + (self.beats34.val() << self.log2b.val());
        self.code.next = 0.into();
        if self.end34.val() > bit_cast::<34, 32>(self.size.val()) {
            self.code.next = 3.into(); // OutOfWindow
        }
        if (self.addr.val() & self.amask.val()).any() {
            self.code.next = 2.into(); // BadField: unaligned
        }
    }
}

impl<const D: usize, const S: usize> Dma<D, S> {
    pub fn new(p: &DmaParams) -> Result<Self, DmaError> {
        p.validate()?;
        check_widths(D, S, &[p.data_bits])?;
        let log2 = (S as u64).trailing_zeros() as u64;
        Ok(Dma {
            tmask: Param::new((S as u64 - 1).into()),
            r_chk: WindowCheck::new(S),
            w_chk: WindowCheck::new(S),
            log2b: Param::new(log2.into()),
            beat64: Param::new((S as u64).into()),
            max_burst: Param::new((p.max_burst as u64).into()),
            max_out: Param::new((p.max_outstanding as u64).into()),
            k4096: Param::new(4096.into()),
            ones: Param::new(Bits::<S>::mask()),
            ..Default::default()
        })
    }
}

impl<const D: usize, const S: usize> Logic for Dma<D, S> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self,
            clock,
            rs,
            r_off,
            r_len,
            r_addr,
            r_issue_left,
            r_recv_left,
            r_recv_off,
            r_outst,
            r_ar_hold,
            r_errq,
            r_err_off,
            ws,
            w_off,
            w_len,
            w_addr,
            w_left,
            w_blen,
            w_burst_off,
            w_cur_off,
            w_step,
            w_tail_strb,
            w_tail_bytes,
            w_errq,
            w_err_off,
            c_rd,
            c_wr,
            c_stall
        );
        // Checks of the latched commands.
        self.r_chk.base.next = self.buf_base.val();
        self.r_chk.size.next = self.buf_size.val();
        self.r_chk.off.next = self.r_off.q.val();
        self.r_chk.len.next = self.r_len.q.val();
        self.w_chk.base.next = self.buf_base.val();
        self.w_chk.size.next = self.buf_size.val();
        self.w_chk.off.next = self.w_off.q.val();
        self.w_chk.len.next = self.w_len.q.val();

        // ---------------- Read engine ----------------
        self.rd.cmd_ready.next = self.rs.q.val() == RdState::Idle;
        self.rd.done.next = self.rs.q.val() == RdState::Done;
        self.rd.err.next = self.r_errq.q.val();
        self.rd.err_offset.next = self.r_err_off.q.val();
        self.rd.data.next = self.m_axi.rdata.val();
        self.rd_last.next = self.r_recv_left.q.val() == 1;
        self.m_axi.arsize.next = bit_cast::<3, 8>(self.log2b.val());
        self.m_axi.arburst.next = 1.into(); // INCR
        self.m_axi.araddr.next = self.r_addr.q.val();
        // Burst = min(beats left, max_burst, beats to the next 4 KiB boundary).
        self.r_to4k.next = (self.k4096.val()
            - bit_cast::<32, 12>(self.r_addr.q.val().get_bits::<12>(0)))
            >> self.log2b.val();
        self.r_burst.next = self.r_issue_left.q.val();
        if self.r_burst.val() > self.max_burst.val() {
            self.r_burst.next = self.max_burst.val();
        }
        if self.r_burst.val() > self.r_to4k.val() {
            self.r_burst.next = self.r_to4k.val();
        }
        self.m_axi.arlen.next = bit_cast::<8, 32>(self.r_burst.val() - 1);
        self.r_ar.next = (self.rs.q.val() == RdState::Run)
            & (self.r_errq.q.val() == 0)
            & self.r_issue_left.q.val().any()
            & (self.r_outst.q.val() < self.max_out.val());
        // An AR once presented stays valid until accepted (AXI4 A3.2.1), also when an
        // error stops further issuing meanwhile; its burst is then drained.
        if self.r_ar_hold.q.val() {
            self.r_ar.next = true;
        }
        self.m_axi.arvalid.next = self.r_ar.val();
        self.r_ar_hold.d.next = self.r_ar.val() & !self.m_axi.arready.val();
        // A failing beat (rresp bit 1: SLVERR or DECERR) and every beat after the first
        // error are not delivered; they are accepted at once (drained).
        self.r_bad.next = self.m_axi.rresp.val().get_bit(1) | (self.r_errq.q.val() != 0);
        self.rd.valid.next =
            (self.rs.q.val() == RdState::Run) & self.m_axi.rvalid.val() & !self.r_bad.val();
        self.m_axi.rready.next =
            (self.rs.q.val() == RdState::Run) & (self.r_bad.val() | self.rd.ready.val());
        self.r_hs.next = (self.rs.q.val() == RdState::Run)
            & self.m_axi.rvalid.val()
            & (self.r_bad.val() | self.rd.ready.val());
        self.r_outst_next.next = self.r_outst.q.val();
        if self.r_ar.val() & self.m_axi.arready.val() {
            self.r_addr.d.next =
                self.r_addr.q.val() + (bit_cast::<64, 32>(self.r_burst.val()) << self.log2b.val());
            self.r_issue_left.d.next = self.r_issue_left.q.val() - self.r_burst.val();
            self.r_outst_next.next = self.r_outst.q.val() + 1;
        }
        if self.r_hs.val() {
            self.r_recv_left.d.next = self.r_recv_left.q.val() - 1;
            self.r_recv_off.d.next =
                self.r_recv_off.q.val() + bit_cast::<32, 64>(self.beat64.val());
            if self.m_axi.rlast.val() {
                self.r_outst_next.next = self.r_outst_next.val() - 1;
            }
            if self.m_axi.rresp.val().get_bit(1) & (self.r_errq.q.val() == 0) {
                self.r_errq.d.next = 4.into(); // AxiSlaveError
                if self.m_axi.rresp.val().get_bit(0) {
                    self.r_errq.d.next = 5.into(); // AxiDecodeError
                }
                self.r_err_off.d.next = self.r_recv_off.q.val();
            }
            // Every OKAY beat the memory delivered, also those drained after an error.
            if !self.m_axi.rresp.val().get_bit(1) {
                self.c_rd.d.next = self.c_rd.q.val() + self.beat64.val();
            }
        }
        self.r_outst.d.next = self.r_outst_next.val();
        match self.rs.q.val() {
            RdState::Idle => {
                if self.rd.cmd_valid.val() {
                    self.r_off.d.next = self.rd.cmd_offset.val();
                    self.r_len.d.next = self.rd.cmd_len.val();
                    self.r_errq.d.next = 0.into();
                    self.r_err_off.d.next = 0.into();
                    self.rs.d.next = RdState::Check;
                }
            }
            RdState::Check => {
                self.r_addr.d.next = self.r_chk.addr.val();
                self.r_issue_left.d.next = self.r_chk.beats.val();
                self.r_recv_left.d.next = self.r_chk.beats.val();
                self.r_recv_off.d.next = self.r_off.q.val();
                self.r_outst.d.next = 0.into();
                if self.r_chk.code.val() != 0 {
                    self.r_errq.d.next = self.r_chk.code.val();
                    self.r_err_off.d.next = self.r_off.q.val();
                    self.rs.d.next = RdState::Done;
                } else if !self.r_chk.beats.val().any() {
                    self.rs.d.next = RdState::Done;
                } else {
                    self.rs.d.next = RdState::Run;
                }
            }
            RdState::Run => {
                // Finished: nothing left to issue (or an error stopped issuing) and no
                // burst in flight.
                if ((self.r_errq.q.val() != 0) | !self.r_issue_left.q.val().any())
                    & !self.r_outst_next.val().any()
                {
                    self.rs.d.next = RdState::Done;
                }
            }
            RdState::Done => {
                self.rs.d.next = RdState::Idle;
            }
        }

        // ---------------- Write engine ----------------
        self.wr.cmd_ready.next = self.ws.q.val() == WrState::Idle;
        self.wr.done.next = self.ws.q.val() == WrState::Done;
        self.wr.err.next = self.w_errq.q.val();
        self.wr.err_offset.next = self.w_err_off.q.val();
        self.m_axi.awsize.next = bit_cast::<3, 8>(self.log2b.val());
        self.m_axi.awburst.next = 1.into(); // INCR
        self.m_axi.awaddr.next = self.w_addr.q.val();
        self.w_to4k.next = (self.k4096.val()
            - bit_cast::<32, 12>(self.w_addr.q.val().get_bits::<12>(0)))
            >> self.log2b.val();
        self.w_burst.next = self.w_left.q.val();
        if self.w_burst.val() > self.max_burst.val() {
            self.w_burst.next = self.max_burst.val();
        }
        if self.w_burst.val() > self.w_to4k.val() {
            self.w_burst.next = self.w_to4k.val();
        }
        self.m_axi.awlen.next = bit_cast::<8, 32>(self.w_burst.val() - 1);
        self.m_axi.awvalid.next = self.ws.q.val() == WrState::Addr;
        self.m_axi.wvalid.next = (self.ws.q.val() == WrState::Data) & self.wr.valid.val();
        self.wr.ready.next = (self.ws.q.val() == WrState::Data) & self.m_axi.wready.val();
        self.m_axi.wdata.next = self.wr.data.val();
        self.m_axi.wlast.next = self.w_blen.q.val() == 1;
        self.m_axi.wstrb.next = self.ones.val();
        if self.w_left.q.val() == 1 {
            self.m_axi.wstrb.next = self.w_tail_strb.q.val();
        }
        self.m_axi.bready.next = self.ws.q.val() == WrState::Resp;
        self.w_tail.next = bit_cast::<8, 32>(self.w_len.q.val()) & self.tmask.val();
        self.w_tail_bytes_c.next = bit_cast::<64, 8>(self.w_tail.val());
        self.w_tail_strb_c.next = (bit_cast::<16, 8>(1.into()) << self.w_tail.val()) - 1;
        if self.w_tail.val() == 0 {
            self.w_tail_bytes_c.next = self.beat64.val();
            self.w_tail_strb_c.next = 0xFFFF.into();
        }
        self.w_hs.next =
            (self.ws.q.val() == WrState::Data) & self.wr.valid.val() & self.m_axi.wready.val();
        self.w_step.d.next = false;
        if self.w_step.q.val() {
            self.w_cur_off.d.next =
                self.w_cur_off.q.val() + (self.w_blen.q.val() << self.log2b.val());
            self.w_addr.d.next =
                self.w_addr.q.val() + (bit_cast::<64, 32>(self.w_blen.q.val()) << self.log2b.val());
        }
        match self.ws.q.val() {
            WrState::Idle => {
                if self.wr.cmd_valid.val() {
                    self.w_off.d.next = self.wr.cmd_offset.val();
                    self.w_len.d.next = self.wr.cmd_len.val();
                    self.w_errq.d.next = 0.into();
                    self.w_err_off.d.next = 0.into();
                    self.ws.d.next = WrState::Check;
                }
            }
            WrState::Check => {
                self.w_addr.d.next = self.w_chk.addr.val();
                self.w_left.d.next = self.w_chk.beats.val();
                self.w_cur_off.d.next = self.w_off.q.val();
                self.w_tail_strb.d.next = bit_cast::<S, 16>(self.w_tail_strb_c.val());
                self.w_tail_bytes.d.next = self.w_tail_bytes_c.val();
                if self.w_chk.code.val() != 0 {
                    self.w_errq.d.next = self.w_chk.code.val();
                    self.w_err_off.d.next = self.w_off.q.val();
                    self.ws.d.next = WrState::Done;
                } else if !self.w_chk.beats.val().any() {
                    self.ws.d.next = WrState::Done;
                } else {
                    self.ws.d.next = WrState::Addr;
                }
            }
            WrState::Addr => {
                if self.m_axi.awready.val() {
                    self.w_blen.d.next = self.w_burst.val();
                    self.w_burst_off.d.next = self.w_cur_off.q.val();
                    self.w_step.d.next = true;
                    self.ws.d.next = WrState::Data;
                }
            }
            WrState::Data => {
                if self.w_hs.val() {
                    self.w_blen.d.next = self.w_blen.q.val() - 1;
                    self.w_left.d.next = self.w_left.q.val() - 1;
                    self.c_wr.d.next = self.c_wr.q.val() + self.beat64.val();
                    if self.w_left.q.val() == 1 {
                        self.c_wr.d.next = self.c_wr.q.val() + self.w_tail_bytes.q.val();
                    }
                    if self.w_blen.q.val() == 1 {
                        self.ws.d.next = WrState::Resp;
                    }
                }
            }
            WrState::Resp => {
                if self.m_axi.bvalid.val() {
                    if self.m_axi.bresp.val().get_bit(1) {
                        self.w_errq.d.next = 4.into(); // AxiSlaveError
                        if self.m_axi.bresp.val().get_bit(0) {
                            self.w_errq.d.next = 5.into(); // AxiDecodeError
                        }
                        self.w_err_off.d.next = self.w_burst_off.q.val();
                        self.ws.d.next = WrState::Done;
                    } else if self.w_left.q.val().any() {
                        self.ws.d.next = WrState::Addr;
                    } else {
                        self.ws.d.next = WrState::Done;
                    }
                }
            }
            WrState::Done => {
                self.ws.d.next = WrState::Idle;
            }
        }

        // ---------------- Counters ----------------
        self.stall.next = ((self.r_ar.val() & !self.m_axi.arready.val())
            | ((self.rs.q.val() == RdState::Run)
                & self.r_outst.q.val().any()
                & !self.m_axi.rvalid.val()))
            | ((self.ws.q.val() == WrState::Addr) & !self.m_axi.awready.val())
            | ((self.ws.q.val() == WrState::Data) & self.wr.valid.val() & !self.m_axi.wready.val())
            | ((self.ws.q.val() == WrState::Resp) & !self.m_axi.bvalid.val());
        if self.stall.val() {
            self.c_stall.d.next = self.c_stall.q.val() + 1;
        }
        self.bytes_rd.next = self.c_rd.q.val();
        self.bytes_wr.next = self.c_wr.q.val();
        self.stall_cycles.next = self.c_stall.q.val();
        if self.cnt_clear.val() {
            self.c_rd.d.next = 0.into();
            self.c_wr.d.next = 0.into();
            self.c_stall.d.next = 0.into();
        }
        if self.rst.val() {
            self.rs.d.next = RdState::Idle;
            self.ws.d.next = WrState::Idle;
            self.r_outst.d.next = 0.into();
            self.r_ar_hold.d.next = false;
            self.r_errq.d.next = 0.into();
            self.w_errq.d.next = 0.into();
            self.c_rd.d.next = 0.into();
            self.c_wr.d.next = 0.into();
            self.c_stall.d.next = 0.into();
        }
    }
}

fn build<const D: usize, const S: usize>(p: &DmaParams) -> Result<String, DmaError> {
    let mut uut = Dma::<D, S>::new(p)?;
    uut.connect_all();
    Ok(finish_verilog(
        &generate_verilog(&uut),
        TOP_NAME,
        &format!(
            "AXI4 master DMA, {} data bits, bursts <= {} beats, {} reads outstanding",
            p.data_bits, p.max_burst, p.max_outstanding
        ),
    ))
}

/// The Verilog of the DMA (top module [`TOP_NAME`], lint waivers applied).
pub fn verilog(p: &DmaParams) -> Result<String, DmaError> {
    p.validate()?;
    match p.data_bits {
        64 => build::<64, 8>(p),
        _ => build::<128, 16>(p),
    }
}
