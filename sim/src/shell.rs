//! The whole accelerator shell (`spikeslice_shell.v`: AXI4-Lite register file, AXI4
//! DMA, descriptor controller, buffers, compute core) in Verilator, driven as a board
//! drives it: registers over AXI4-Lite, memory through the DDR model ([`crate::ddr`])
//! behind the AXI4 master, whose outputs and inputs move through the Verilated ports
//! every cycle: in the shim's C++ loop ([`crate::run_loop`]) while the register bus
//! is idle (a run from its start to its interrupt), in [`ShellSim`]'s Rust step
//! around register transactions.
//!
//! [`ShellSim::build`] generates the shell for an [`AcceleratorConfig`], builds it
//! (cached like [`crate::CoreSim`]) and loads it. [`ShellSim::write`] / [`ShellSim::read`]
//! are single AXI4-Lite transactions; [`ShellSim::run`] programs the window and the
//! chain, starts it, clocks until the interrupt or a cycle limit, and reads STATUS,
//! DESC_INDEX, ERR_OFFSET and the counters. Every register offset comes from core's
//! register map (`spikeslice_core::accel::regmap`).
//!
//! 128-bit AXI configurations (the default) are supported: the data ports are
//! Verilator wide words, set and read 32 bits at a time (see [`crate::build`]).

use crate::build::{self, Design};
use crate::ddr::{Ddr, DdrTiming, MasterOut};
use crate::{SimError, SimOptions, Verilated};
use spikeslice_core::accel::driver::{
    BusError, Deadline, Driver, DriverError, RegisterBus, Window,
};
use spikeslice_core::accel::regmap::{self, ctrl};
use spikeslice_core::accel::AcceleratorConfig;
use spikeslice_hdl::manifest::Manifest;

/// Physical address of the DMA window in the simulated memory: above 4 GiB, so the
/// high half of BUF_BASE matters, and page aligned as a u-dma-buf is.
pub const DEFAULT_BASE: u64 = 0x8_1234_0000;

/// Cycles an AXI4-Lite transaction may take before the register file counts as hung
/// (it answers a read in 2 cycles and a write in 3, docs/shell.md).
const LITE_TIMEOUT: u64 = 64;

pub use spikeslice_core::accel::counters::Counters;
pub use spikeslice_core::accel::driver::RunOutcome;

/// The AXI4-Lite slave's outputs in one cycle.
#[derive(Debug, Clone, Copy)]
struct LiteOut {
    awready: bool,
    wready: bool,
    bvalid: bool,
    bresp: u64,
    arready: bool,
    rvalid: bool,
    rdata: u32,
    rresp: u64,
}

#[derive(Debug, Clone)]
struct Ports {
    rst: u32,
    irq: u32,
    // AXI4-Lite slave.
    s_awaddr: u32,
    s_awvalid: u32,
    s_awready: u32,
    s_wdata: u32,
    s_wstrb: u32,
    s_wvalid: u32,
    s_wready: u32,
    s_bresp: u32,
    s_bvalid: u32,
    s_bready: u32,
    s_araddr: u32,
    s_arvalid: u32,
    s_arready: u32,
    s_rdata: u32,
    s_rresp: u32,
    s_rvalid: u32,
    s_rready: u32,
    // AXI4 master.
    m_awaddr: u32,
    m_awlen: u32,
    m_awsize: u32,
    m_awburst: u32,
    m_awvalid: u32,
    m_awready: u32,
    m_wdata: u32,
    m_wstrb: u32,
    m_wlast: u32,
    m_wvalid: u32,
    m_wready: u32,
    m_bresp: u32,
    m_bvalid: u32,
    m_bready: u32,
    m_araddr: u32,
    m_arlen: u32,
    m_arsize: u32,
    m_arburst: u32,
    m_arvalid: u32,
    m_arready: u32,
    m_rdata: u32,
    m_rresp: u32,
    m_rlast: u32,
    m_rvalid: u32,
    m_rready: u32,
}

impl Ports {
    fn from_manifest(m: &Manifest) -> Result<Self, SimError> {
        let f = |n: &str| build::port_index(m, n);
        Ok(Ports {
            rst: f("rst")?,
            irq: f("irq")?,
            s_awaddr: f("s_axi$awaddr")?,
            s_awvalid: f("s_axi$awvalid")?,
            s_awready: f("s_axi$awready")?,
            s_wdata: f("s_axi$wdata")?,
            s_wstrb: f("s_axi$wstrb")?,
            s_wvalid: f("s_axi$wvalid")?,
            s_wready: f("s_axi$wready")?,
            s_bresp: f("s_axi$bresp")?,
            s_bvalid: f("s_axi$bvalid")?,
            s_bready: f("s_axi$bready")?,
            s_araddr: f("s_axi$araddr")?,
            s_arvalid: f("s_axi$arvalid")?,
            s_arready: f("s_axi$arready")?,
            s_rdata: f("s_axi$rdata")?,
            s_rresp: f("s_axi$rresp")?,
            s_rvalid: f("s_axi$rvalid")?,
            s_rready: f("s_axi$rready")?,
            m_awaddr: f("m_axi$awaddr")?,
            m_awlen: f("m_axi$awlen")?,
            m_awsize: f("m_axi$awsize")?,
            m_awburst: f("m_axi$awburst")?,
            m_awvalid: f("m_axi$awvalid")?,
            m_awready: f("m_axi$awready")?,
            m_wdata: f("m_axi$wdata")?,
            m_wstrb: f("m_axi$wstrb")?,
            m_wlast: f("m_axi$wlast")?,
            m_wvalid: f("m_axi$wvalid")?,
            m_wready: f("m_axi$wready")?,
            m_bresp: f("m_axi$bresp")?,
            m_bvalid: f("m_axi$bvalid")?,
            m_bready: f("m_axi$bready")?,
            m_araddr: f("m_axi$araddr")?,
            m_arlen: f("m_axi$arlen")?,
            m_arsize: f("m_axi$arsize")?,
            m_arburst: f("m_axi$arburst")?,
            m_arvalid: f("m_axi$arvalid")?,
            m_arready: f("m_axi$arready")?,
            m_rdata: f("m_axi$rdata")?,
            m_rresp: f("m_axi$rresp")?,
            m_rlast: f("m_axi$rlast")?,
            m_rvalid: f("m_axi$rvalid")?,
            m_rready: f("m_axi$rready")?,
        })
    }
}

/// A loaded, running instance of the Verilated shell with its DDR model.
pub struct ShellSim {
    cfg: AcceleratorConfig,
    /// The Verilated model: cycles, manifest, tracing.
    pub verilated: Verilated,
    /// The memory behind the AXI4 master. Its window `[base, base + mem.len())` is
    /// what [`ShellSim::run`] programs as BUF_BASE / BUF_SIZE.
    pub ddr: Ddr,
    p: Ports,
    /// Last value written to each input port (skip redundant calls into the model).
    last: Vec<Option<u64>>,
    /// Whether the design must settle before its outputs are read: an input
    /// changed, or the clock ticked (a tick leaves the falling edge to the next
    /// evaluation, see `build::shim_source_for`). Outside a tick, a changed input
    /// alone costs no evaluation until an output is read.
    dirty: bool,
    /// Clock cycle by cycle in Rust (`ShellSim::step`) where the shim's loop
    /// ([`crate::run_loop`]) would run: the reference the loop is tested against.
    pub rust_cycle_loop: bool,
    /// The cycles of the last start write's handshake and of the interrupt
    /// that ended the run ([`ShellSim::last_run_cycles`]).
    started_at: u64,
    irq_at: u64,
}

impl ShellSim {
    /// Generate, build (unless cached) and load the shell for `cfg`, with an empty
    /// window at [`DEFAULT_BASE`] and the default DDR timing, and reset it.
    pub fn build(cfg: &AcceleratorConfig, opts: &SimOptions) -> Result<Self, SimError> {
        let verilated = Verilated::load(&Design::Shell(*cfg), opts)?;
        let p = Ports::from_manifest(verilated.manifest())?;
        let n_ports = verilated.manifest().ports.len();
        let mut ddr = Ddr::new(DEFAULT_BASE, 0, cfg.axi_data_bytes, DdrTiming::default());
        // The monitor holds the DMA to the generated burst limit.
        ddr.max_burst_beats = cfg.max_burst_beats as u64;
        let mut sim = ShellSim {
            cfg: *cfg,
            verilated,
            ddr,
            p,
            last: vec![None; n_ports],
            dirty: true,
            rust_cycle_loop: false,
            started_at: 0,
            irq_at: 0,
        };
        sim.reset();
        Ok(sim)
    }

    pub fn config(&self) -> &AcceleratorConfig {
        &self.cfg
    }

    /// Replace the window's contents (its size becomes BUF_SIZE of the next run).
    pub fn set_window(&mut self, bytes: Vec<u8>) {
        self.ddr.mem = bytes;
    }
    pub fn window(&self) -> &[u8] {
        &self.ddr.mem
    }
    pub fn window_mut(&mut self) -> &mut [u8] {
        &mut self.ddr.mem
    }

    fn set(&mut self, port: u32, v: u64) {
        if self.last[port as usize] != Some(v) {
            self.verilated.set(port, v);
            self.last[port as usize] = Some(v);
            self.dirty = true;
        }
    }
    fn get(&self, port: u32) -> u64 {
        self.verilated.get(port)
    }
    fn get_bit(&self, port: u32) -> bool {
        self.get(port) & 1 == 1
    }
    /// Set a data port of `bytes.len()` bytes (64 or 128 bits).
    fn set_bytes(&mut self, port: u32, bytes: &[u8]) {
        self.verilated.set_bytes(port, bytes);
        self.last[port as usize] = None;
        self.dirty = true;
    }

    /// One clock cycle: the DDR drives its outputs, the design settles, the DDR sees
    /// the master's outputs (handshakes), the clock rises. Returns whether `irq` was
    /// high in this cycle, and with `lite` the register file's outputs of the cycle
    /// (sampled before the edge, as a bus master sees them).
    fn step(&mut self, lite: bool) -> (bool, Option<LiteOut>) {
        let o = self.ddr.drive().clone();
        let p = self.p.clone();
        self.set(p.m_arready, u64::from(o.arready));
        self.set(p.m_awready, u64::from(o.awready));
        self.set(p.m_wready, u64::from(o.wready));
        self.set(p.m_rvalid, u64::from(o.rvalid));
        if o.rvalid {
            self.set_bytes(p.m_rdata, &o.rdata);
            self.set(p.m_rresp, u64::from(o.rresp));
            self.set(p.m_rlast, u64::from(o.rlast));
        }
        self.set(p.m_bvalid, u64::from(o.bvalid));
        self.set(p.m_bresp, u64::from(o.bresp));
        if self.dirty {
            self.verilated.eval();
            self.dirty = false;
        }
        let b = self.cfg.axi_data_bytes;
        let mut m = MasterOut {
            arvalid: self.get_bit(p.m_arvalid),
            awvalid: self.get_bit(p.m_awvalid),
            wvalid: self.get_bit(p.m_wvalid),
            rready: self.get_bit(p.m_rready),
            bready: self.get_bit(p.m_bready),
            ..Default::default()
        };
        if m.arvalid {
            m.araddr = self.get(p.m_araddr);
            m.arlen = self.get(p.m_arlen);
            m.arsize = self.get(p.m_arsize);
            m.arburst = self.get(p.m_arburst);
        }
        if m.awvalid {
            m.awaddr = self.get(p.m_awaddr);
            m.awlen = self.get(p.m_awlen);
            m.awsize = self.get(p.m_awsize);
            m.awburst = self.get(p.m_awburst);
        }
        if m.wvalid {
            m.wdata = self.verilated.get_bytes(p.m_wdata, b);
            m.wstrb = self.get(p.m_wstrb);
            m.wlast = self.get_bit(p.m_wlast);
        }
        let irq = self.get_bit(p.irq);
        let lite = lite.then(|| LiteOut {
            awready: self.get_bit(p.s_awready),
            wready: self.get_bit(p.s_wready),
            bvalid: self.get_bit(p.s_bvalid),
            bresp: self.get(p.s_bresp),
            arready: self.get_bit(p.s_arready),
            rvalid: self.get_bit(p.s_rvalid),
            rdata: self.get(p.s_rdata) as u32,
            rresp: self.get(p.s_rresp),
        });
        self.ddr.observe(&m);
        self.verilated.tick();
        self.dirty = true;
        (irq, lite)
    }

    /// Clock `n` cycles with the bus idle (the DDR keeps answering).
    pub fn idle(&mut self, n: u64) {
        for _ in 0..n {
            self.step(false);
        }
    }

    /// Clock with the register bus idle until `irq` is high, at most `max_cycles`
    /// cycles; whether it fired. For drivers that program the registers themselves
    /// (the board daemon over a simulated board) rather than through [`ShellSim::run`].
    /// The cycles run in the shim's loop ([`crate::run_loop`]) unless
    /// [`ShellSim::rust_cycle_loop`] is set.
    pub fn clock_until_irq(&mut self, max_cycles: u64) -> bool {
        let shim_loop = if self.rust_cycle_loop {
            None
        } else {
            self.verilated.run_until_irq(&mut self.ddr, max_cycles)
        };
        match shim_loop {
            Some((_, irq)) => {
                // The shim set the master's inputs behind the cache's back.
                self.last.fill(None);
                self.dirty = true;
                irq
            }
            _ => (0..max_cycles).any(|_| self.step(false).0),
        }
    }

    /// Synchronous reset of everything (the AXI reset): two cycles. Also forgets the
    /// DDR's bursts in flight, since the reset aborts the master's.
    pub fn reset(&mut self) {
        let p = self.p.clone();
        for port in [p.s_awvalid, p.s_wvalid, p.s_bready, p.s_arvalid, p.s_rready] {
            self.set(port, 0);
        }
        self.set(p.rst, 1);
        self.ddr.reset();
        self.step(false);
        self.step(false);
        self.set(p.rst, 0);
        // The reset cycles are not bus traffic the monitor should judge.
        self.ddr.violations.clear();
    }

    /// One AXI4-Lite write (AW and W together, then B). A response other than OKAY
    /// (the register file answers SLVERR for unmapped or unaligned addresses) is an
    /// error.
    pub fn write(&mut self, addr: u32, data: u32) -> Result<(), SimError> {
        let p = self.p.clone();
        self.set(p.s_awaddr, u64::from(addr));
        self.set(p.s_wdata, u64::from(data));
        self.set(p.s_wstrb, 0xF);
        self.set(p.s_awvalid, 1);
        self.set(p.s_wvalid, 1);
        self.set(p.s_bready, 1);
        let (mut aw, mut w) = (false, false);
        for _ in 0..LITE_TIMEOUT {
            let o = self.step(true).1.expect("sampled");
            aw |= o.awready;
            w |= o.wready;
            self.set(p.s_awvalid, u64::from(!aw));
            self.set(p.s_wvalid, u64::from(!w));
            if o.bvalid {
                self.set(p.s_bready, 0);
                let resp = o.bresp;
                if resp != 0 {
                    return Err(SimError::Axi(format!(
                        "AXI4-Lite write of {data:#x} to {addr:#05x} answered {resp:#04b}"
                    )));
                }
                return Ok(());
            }
        }
        self.set(p.s_awvalid, 0);
        self.set(p.s_wvalid, 0);
        self.set(p.s_bready, 0);
        Err(SimError::Hang(format!(
            "AXI4-Lite write to {addr:#05x} not answered within {LITE_TIMEOUT} cycles"
        )))
    }

    /// One AXI4-Lite read. A response other than OKAY is an error.
    pub fn read(&mut self, addr: u32) -> Result<u32, SimError> {
        let p = self.p.clone();
        self.set(p.s_araddr, u64::from(addr));
        self.set(p.s_arvalid, 1);
        self.set(p.s_rready, 1);
        let mut ar = false;
        for _ in 0..LITE_TIMEOUT {
            let o = self.step(true).1.expect("sampled");
            ar |= o.arready;
            self.set(p.s_arvalid, u64::from(!ar));
            if o.rvalid {
                self.set(p.s_rready, 0);
                let (resp, data) = (o.rresp, o.rdata);
                if resp != 0 {
                    return Err(SimError::Axi(format!(
                        "AXI4-Lite read of {addr:#05x} answered {resp:#04b}"
                    )));
                }
                return Ok(data);
            }
        }
        self.set(p.s_arvalid, 0);
        self.set(p.s_rready, 0);
        Err(SimError::Hang(format!(
            "AXI4-Lite read of {addr:#05x} not answered within {LITE_TIMEOUT} cycles"
        )))
    }

    /// All eight counters.
    pub fn counters(&mut self) -> Result<Counters, SimError> {
        Driver::new(self).counters().map_err(bus_error)
    }

    /// Soft reset (CTRL bit 1): the controller and the core return to idle, STATUS and
    /// the pending interrupt clear; the DMA drains what it has in flight (the DDR
    /// model keeps answering while the next transactions run).
    pub fn soft_reset(&mut self) -> Result<(), SimError> {
        Driver::new(self).soft_reset().map_err(bus_error)
    }

    /// Clock cycles of the last [`ShellSim::run`], from the start write's handshake
    /// to the interrupt.
    pub fn last_run_cycles(&self) -> u64 {
        self.irq_at.saturating_sub(self.started_at)
    }

    /// Run the chain through the driver (`spikeslice_core::accel::driver`), the
    /// window being the DDR model's memory (BUF_BASE = its base, BUF_SIZE = its
    /// length), and clock until the interrupt, at most `max_cycles`. A run that ends
    /// with an error code is an `Ok` outcome (see [`RunOutcome::error`]); no
    /// interrupt within `max_cycles` is [`SimError::Hang`], after a soft reset, as
    /// on a board. AXI protocol violations seen by the DDR monitor are
    /// [`SimError::Axi`].
    pub fn run(
        &mut self,
        desc_offset: u32,
        desc_count: u32,
        max_cycles: u64,
    ) -> Result<RunOutcome, SimError> {
        self.ddr.violations.clear();
        let window = Window::new(self.ddr.base, self.ddr.mem.len())
            .map_err(|e| SimError::Config(e.to_string()))?;
        let out = Driver::new(&mut *self)
            .run(
                window,
                desc_offset,
                desc_count,
                Deadline::cycles(max_cycles),
            )
            .map_err(|e| match e {
                DriverError::Bus(e) => bus_error(e),
                e => SimError::Hang(e.to_string()),
            })?;
        if !self.ddr.violations.is_empty() {
            return Err(SimError::Axi(format!(
                "AXI4 protocol violations on the master port: {}",
                self.ddr.violations.join("; ")
            )));
        }
        Ok(out)
    }
}

fn bus_error(e: BusError) -> SimError {
    SimError::Axi(e.0)
}

/// The shell's AXI4-Lite port and interrupt as the driver's bus.
impl RegisterBus for ShellSim {
    fn read32(&mut self, offset: u32) -> Result<u32, BusError> {
        self.read(offset).map_err(|e| BusError(e.to_string()))
    }

    fn write32(&mut self, offset: u32, value: u32) -> Result<(), BusError> {
        self.write(offset, value)
            .map_err(|e| BusError(e.to_string()))?;
        if offset == regmap::CTRL && value & ctrl::START != 0 {
            self.started_at = self.verilated.cycles();
        }
        Ok(())
    }

    fn wait_irq(&mut self, deadline: Deadline) -> Result<bool, BusError> {
        let irq = self.clock_until_irq(deadline.cycles.unwrap_or(u64::MAX));
        self.irq_at = self.verilated.cycles();
        Ok(irq)
    }

    /// Let the DMA finish the bursts it has in flight (it drains after a soft
    /// reset), so the next run's counters and timing start clean.
    fn settle(&mut self) -> Result<(), BusError> {
        for _ in 0..100_000 {
            if self.ddr.idle() {
                break;
            }
            self.step(false);
        }
        Ok(())
    }
}
