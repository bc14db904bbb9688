//! The whole accelerator shell (`spikeslice_shell.v`: AXI4-Lite register file, AXI4
//! DMA, descriptor controller, buffers, compute core) in Verilator, driven as a board
//! drives it: registers over AXI4-Lite, memory through a DDR model ([`crate::ddr`])
//! behind the AXI4 master.
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
use crate::{SimError, SimOptions};
use libloading::Library;
use spikeslice_core::accel::regmap::{self, ctrl, status, ErrorCode};
use spikeslice_core::accel::AcceleratorConfig;
use spikeslice_hdl::manifest::Manifest;
use std::ffi::{c_void, CString};
use std::path::{Path, PathBuf};

/// Physical address of the DMA window in the simulated memory: above 4 GiB, so the
/// high half of BUF_BASE matters, and page aligned as a u-dma-buf is.
pub const DEFAULT_BASE: u64 = 0x8_1234_0000;

/// Cycles an AXI4-Lite transaction may take before the register file counts as hung
/// (it answers a read in 2 cycles and a write in 3, docs/shell.md).
const LITE_TIMEOUT: u64 = 64;

use crate::build::{FreeFn, GetFn, GetWordFn, SetFn, SetWordFn, TickFn, TraceFn};

/// The eight counters, LO offsets, in register-map order.
const COUNTERS: [u32; 8] = [
    regmap::CNT_CYCLES_LO,
    regmap::CNT_BUSY_LO,
    regmap::CNT_PE_ADDS_LO,
    regmap::CNT_SLICES_LO,
    regmap::CNT_DMA_RD_LO,
    regmap::CNT_DMA_WR_LO,
    regmap::CNT_DMA_STALL_LO,
    regmap::CNT_SPIKES_LO,
];

/// The hardware counters after a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    pub cycles: u64,
    pub busy: u64,
    pub pe_adds: u64,
    pub slices: u64,
    pub dma_rd: u64,
    pub dma_wr: u64,
    pub dma_stall: u64,
    pub spikes: u64,
}

/// What a run left in the registers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunOutcome {
    pub status: u32,
    pub desc_index: u32,
    pub err_offset: u32,
    pub counters: Counters,
    /// Clock cycles from the start write's handshake to the interrupt.
    pub cycles_to_irq: u64,
}

impl RunOutcome {
    /// STATUS bits 15:8 (0 = no error).
    pub fn error_code(&self) -> u32 {
        status::error_code(self.status)
    }
    /// The error, if the run ended with one.
    pub fn error(&self) -> Option<Result<ErrorCode, u32>> {
        if self.status & status::ERROR == 0 {
            None
        } else {
            let c = self.error_code();
            Some(ErrorCode::from_code(c).ok_or(c))
        }
    }
}

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
    manifest: Manifest,
    lib_path: PathBuf,
    /// Whether this `build` call ran Verilator (false = cache hit).
    pub built: bool,
    /// The memory behind the AXI4 master. Its window `[base, base + mem.len())` is
    /// what [`ShellSim::run`] programs as BUF_BASE / BUF_SIZE.
    pub ddr: Ddr,
    handle: *mut c_void,
    set: SetFn,
    get: GetFn,
    set_word: Option<SetWordFn>,
    get_word: Option<GetWordFn>,
    eval: TickFn,
    tick: TickFn,
    free: FreeFn,
    trace_open: TraceFn,
    p: Ports,
    /// Last value written to each input port (skip redundant calls into the model).
    last: Vec<Option<u64>>,
    /// Whether an input changed since the design last settled: the falling-edge
    /// evaluation at the end of a tick leaves it settled, so a cycle whose inputs
    /// did not change needs no evaluation before its outputs are read (most cycles
    /// of a compute phase; it saves a third of the evaluations).
    dirty: bool,
    cycle: u64,
    _lib: Library,
}

// SAFETY: the model instance behind `handle` is owned by this value alone and is
// only touched through `&mut self`; it is built single-threaded (no `--threads`),
// so it has no thread affinity and may move to another thread (the board daemon
// serves from one) as long as it is not shared, which `!Sync` still forbids.
unsafe impl Send for ShellSim {}

impl Drop for ShellSim {
    fn drop(&mut self) {
        // SAFETY: handle came from ss_new of this library and is freed once.
        unsafe { (self.free)(self.handle) }
    }
}

impl ShellSim {
    /// Generate, build (unless cached) and load the shell for `cfg`, with an empty
    /// window at [`DEFAULT_BASE`] and the default DDR timing, and reset it.
    pub fn build(cfg: &AcceleratorConfig, opts: &SimOptions) -> Result<Self, SimError> {
        let cache = opts
            .cache_dir
            .clone()
            .unwrap_or_else(build::default_cache_dir);
        let design = Design::shell(cfg)?;
        let (lib_path, manifest, built) = build::build_design(&design, opts.trace, &cache)?;
        let wide = manifest.ports.iter().any(|p| p.width > 64);
        // SAFETY: the library is one `build_design` just built from our own
        // generated shim.
        let build::Shim {
            lib,
            new,
            free,
            set,
            get,
            eval,
            tick,
            trace_open,
            words,
        } = unsafe { build::Shim::load(&lib_path, wide)? };
        let (set_word, get_word) = words.unzip();
        // SAFETY: `new` comes from that library; the handle is freed once, in Drop.
        unsafe {
            let p = Ports::from_manifest(&manifest)?;
            let n_ports = manifest.ports.len();
            let handle = new();
            let mut sim = ShellSim {
                cfg: *cfg,
                manifest,
                lib_path,
                built,
                ddr: Ddr::new(DEFAULT_BASE, 0, cfg.axi_data_bytes, DdrTiming::default()),
                handle,
                set,
                get,
                set_word,
                get_word,
                eval,
                tick,
                free,
                trace_open,
                p,
                last: vec![None; n_ports],
                dirty: true,
                cycle: 0,
                _lib: lib,
            };
            sim.reset();
            Ok(sim)
        }
    }

    pub fn config(&self) -> &AcceleratorConfig {
        &self.cfg
    }
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }
    pub fn library_path(&self) -> &Path {
        &self.lib_path
    }
    /// Total clock cycles simulated by this instance.
    pub fn cycles(&self) -> u64 {
        self.cycle
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

    /// Start writing an FST waveform to `path` (needs `SimOptions::trace`).
    pub fn trace_to(&mut self, path: &Path) -> Result<(), SimError> {
        let c = CString::new(path.to_string_lossy().as_bytes())
            .map_err(|e| SimError::Config(e.to_string()))?;
        // SAFETY: valid handle, NUL-terminated path.
        let ok = unsafe { (self.trace_open)(self.handle, c.as_ptr()) };
        if ok == 0 {
            return Err(SimError::Config(
                "this simulator was built without tracing; set SimOptions::trace".into(),
            ));
        }
        Ok(())
    }

    fn set(&mut self, port: u32, v: u64) {
        if self.last[port as usize] != Some(v) {
            // SAFETY: valid handle; unknown ports are ignored by the shim.
            unsafe { (self.set)(self.handle, port, v) }
            self.last[port as usize] = Some(v);
            self.dirty = true;
        }
    }
    fn get(&self, port: u32) -> u64 {
        // SAFETY: as above.
        unsafe { (self.get)(self.handle, port) }
    }
    fn get_bit(&self, port: u32) -> bool {
        self.get(port) & 1 == 1
    }
    /// Set a data port of `bytes.len()` bytes (64 or 128 bits).
    fn set_bytes(&mut self, port: u32, bytes: &[u8]) {
        match self.set_word {
            Some(sw) => {
                for (i, w) in bytes.chunks(4).enumerate() {
                    let mut b = [0u8; 4];
                    b[..w.len()].copy_from_slice(w);
                    // SAFETY: valid handle; the shim bounds-checks the word index.
                    unsafe { sw(self.handle, port, i as u32, u32::from_le_bytes(b)) }
                }
                self.dirty = true;
            }
            None => {
                let mut b = [0u8; 8];
                b[..bytes.len().min(8)].copy_from_slice(&bytes[..bytes.len().min(8)]);
                self.last[port as usize] = None;
                self.set(port, u64::from_le_bytes(b));
            }
        }
    }
    fn get_bytes(&self, port: u32, n: usize) -> Vec<u8> {
        match self.get_word {
            Some(gw) => (0..n.div_ceil(4))
                // SAFETY: as above.
                .flat_map(|i| unsafe { gw(self.handle, port, i as u32) }.to_le_bytes())
                .take(n)
                .collect(),
            None => self.get(port).to_le_bytes()[..n.min(8)].to_vec(),
        }
    }
    fn eval(&self) {
        // SAFETY: as above.
        unsafe { (self.eval)(self.handle) }
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
            self.eval();
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
            m.wdata = self.get_bytes(p.m_wdata, b);
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
        // SAFETY: as above.
        unsafe { (self.tick)(self.handle) }
        self.cycle += 1;
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
    pub fn clock_until_irq(&mut self, max_cycles: u64) -> bool {
        (0..max_cycles).any(|_| self.step(false).0)
    }

    /// Synchronous reset of everything (the AXI reset): two cycles. Also forgets the
    /// DDR's bursts in flight, since the reset aborts the master's.
    pub fn reset(&mut self) {
        let p = self.p.clone();
        for port in [p.s_awvalid, p.s_wvalid, p.s_bready, p.s_arvalid, p.s_rready] {
            self.set(port, 0);
        }
        self.set(p.rst, 1);
        let mem = std::mem::take(&mut self.ddr.mem);
        let mut ddr = Ddr::new(self.ddr.base, 0, self.ddr.beat_bytes, self.ddr.timing);
        ddr.mem = mem;
        ddr.faults = std::mem::take(&mut self.ddr.faults);
        self.ddr = ddr;
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

    /// A 64-bit counter: `_LO` (which latches `_HI`), then `_HI`.
    pub fn read64(&mut self, lo: u32) -> Result<u64, SimError> {
        let l = self.read(lo)?;
        let h = self.read(lo + 4)?;
        Ok(u64::from(l) | (u64::from(h) << 32))
    }

    /// All eight counters.
    pub fn counters(&mut self) -> Result<Counters, SimError> {
        let mut v = [0u64; 8];
        for (x, &lo) in v.iter_mut().zip(&COUNTERS) {
            *x = self.read64(lo)?;
        }
        Ok(Counters {
            cycles: v[0],
            busy: v[1],
            pe_adds: v[2],
            slices: v[3],
            dma_rd: v[4],
            dma_wr: v[5],
            dma_stall: v[6],
            spikes: v[7],
        })
    }

    /// Soft reset (CTRL bit 1): the controller and the core return to idle, STATUS and
    /// the pending interrupt clear; the DMA drains what it has in flight (the DDR
    /// model keeps answering while the next transactions run).
    pub fn soft_reset(&mut self) -> Result<(), SimError> {
        self.write(regmap::CTRL, ctrl::SOFT_RESET)
    }

    /// Program the window (BUF_BASE = the DDR's base, BUF_SIZE = its length) and the
    /// chain, acknowledge any old interrupt, and start with the interrupt enabled.
    pub fn start(&mut self, desc_offset: u32, desc_count: u32) -> Result<(), SimError> {
        let base = self.ddr.base;
        let size = u32::try_from(self.ddr.mem.len()).map_err(|_| {
            SimError::Config(format!(
                "a {}-byte window does not fit the 32-bit BUF_SIZE",
                self.ddr.mem.len()
            ))
        })?;
        self.write(regmap::BUF_BASE_LO, base as u32)?;
        self.write(regmap::BUF_BASE_HI, (base >> 32) as u32)?;
        self.write(regmap::BUF_SIZE, size)?;
        self.write(regmap::DESC_OFFSET, desc_offset)?;
        self.write(regmap::DESC_COUNT, desc_count)?;
        self.write(regmap::IRQ_STATUS, 1)?;
        self.write(regmap::CTRL, ctrl::START | ctrl::IRQ_ENABLE)
    }

    /// Start the chain and clock until the interrupt (done or error), at most
    /// `max_cycles`; then read STATUS, DESC_INDEX, ERR_OFFSET and the counters and
    /// acknowledge the interrupt. A run that ends with an error code is an `Ok`
    /// outcome (see [`RunOutcome::error`]); no interrupt within `max_cycles` is
    /// [`SimError::Hang`] with the registers' state, after a soft reset so the next
    /// run starts clean (as the board daemon does). AXI protocol violations seen by
    /// the DDR monitor are [`SimError::Axi`].
    pub fn run(
        &mut self,
        desc_offset: u32,
        desc_count: u32,
        max_cycles: u64,
    ) -> Result<RunOutcome, SimError> {
        self.ddr.violations.clear();
        self.start(desc_offset, desc_count)?;
        let c0 = self.cycle;
        let mut fired = false;
        while self.cycle - c0 < max_cycles {
            if self.step(false).0 {
                fired = true;
                break;
            }
        }
        let cycles_to_irq = self.cycle - c0;
        let st = self.read(regmap::STATUS)?;
        if !fired {
            let index = self.read(regmap::DESC_INDEX)?;
            let cycles = self.read64(regmap::CNT_CYCLES_LO)?;
            self.soft_reset()?;
            // Let the DMA finish the bursts it has in flight (it drains after a soft
            // reset), so the next run's counters and timing start clean.
            for _ in 0..100_000 {
                if self.ddr.idle() {
                    break;
                }
                self.step(false);
            }
            return Err(SimError::Hang(format!(
                "no interrupt within {max_cycles} cycles: STATUS {st:#010x}, DESC_INDEX \
                 {index}, CNT_CYCLES {cycles}, DDR idle {}; the shell was soft-reset",
                self.ddr.idle()
            )));
        }
        let desc_index = self.read(regmap::DESC_INDEX)?;
        let err_offset = self.read(regmap::ERR_OFFSET)?;
        let counters = self.counters()?;
        self.write(regmap::IRQ_STATUS, 1)?;
        if !self.ddr.violations.is_empty() {
            return Err(SimError::Axi(format!(
                "AXI4 protocol violations on the master port: {}",
                self.ddr.violations.join("; ")
            )));
        }
        if st & status::DONE == 0 {
            return Err(SimError::Hang(format!(
                "interrupt without STATUS.done: STATUS {st:#010x}"
            )));
        }
        Ok(RunOutcome {
            status: st,
            desc_index,
            err_offset,
            counters,
            cycles_to_irq,
        })
    }
}

/// `CNT_DMA_RD` of a chain that ran to the end (docs/shell.md, "Counters"): whole
/// beats, with `rd(off, len) = ceil((len + off mod B) / B) * B`; per descriptor the
/// descriptor, the input planes and (gather) the whole table for the check; per tile
/// the parameters and the weight tile, and (gather) the table rows of every position
/// and group meeting the tile.
pub fn dma_read_bytes(
    cfg: &AcceleratorConfig,
    descriptors: &[spikeslice_core::accel::descriptor::LayerDescriptor],
    desc_offset: u32,
) -> u64 {
    use spikeslice_core::accel::descriptor::{LayerKind, DESCRIPTOR_BYTES};
    use spikeslice_core::accel::layout;
    use spikeslice_core::numeric::WeightBits;
    let b = cfg.axi_data_bytes as u64;
    let rd = |off: u64, len: u64| (len + off % b).div_ceil(b) * b;
    let mut total = 0;
    for (i, d) in descriptors.iter().enumerate() {
        total += rd(
            u64::from(desc_offset) + (DESCRIPTOR_BYTES * i) as u64,
            DESCRIPTOR_BYTES as u64,
        );
        let t = d.timesteps as usize;
        total += rd(
            u64::from(d.input),
            layout::planes_bytes(t, d.input_bits, d.input_len as usize) as u64,
        );
        let tile = WeightBits::new(u32::from(d.weight_bits)).map_or(0, |wb| {
            layout::weight_tile_bytes(d.fan_in as usize, cfg.cols, wb)
        }) as u64;
        let tiles = (d.outputs as usize).div_ceil(cfg.cols);
        let (k, p, g) = (
            u64::from(d.fan_in),
            u64::from(d.positions),
            u64::from(d.groups.max(1)),
        );
        let gather = d.kind == LayerKind::Gather;
        if gather {
            total += rd(u64::from(d.gather), 4 * g * p * k);
        }
        let opg = (u64::from(d.outputs) / g).max(1);
        for ti in 0..tiles {
            let o0 = (ti * cfg.cols) as u64;
            let nv = (u64::from(d.outputs) - o0).min(cfg.cols as u64);
            total += rd(u64::from(d.params) + 12 * o0, 12 * nv);
            total += rd(u64::from(d.weights) + tile * ti as u64, tile);
            if gather {
                for pos in 0..p {
                    for grp in o0 / opg..=(o0 + nv - 1) / opg {
                        total += rd(u64::from(d.gather) + 4 * k * (grp * p + pos), 4 * k);
                    }
                }
            }
        }
    }
    total
}

/// Cycles the write-backs of `descriptors` take beyond `controller::cycle_estimate`
/// with a fixed-latency DDR (window at physical `base`), because the estimate counts
/// `ceil(beats / max_burst)` write bursts per output region while the DMA also splits
/// at every 4 KiB boundary (docs/shell.md, "Burst splitting"); the write engine has
/// one burst in flight, so each extra burst costs `max(0, L - B / 8)` cycles, as a
/// `max_burst` split does. Found by this harness (the mnist-cnn program's first
/// output region straddles a 4 KiB boundary); 0 once the estimate splits as the DMA
/// does.
pub fn write_split_cycles(
    cfg: &AcceleratorConfig,
    descriptors: &[spikeslice_core::accel::descriptor::LayerDescriptor],
    base: u64,
    latency: u64,
) -> u64 {
    let b = cfg.axi_data_bytes as u64;
    let max_burst = cfg.max_burst_beats as u64;
    let mut extra = 0;
    for d in descriptors {
        for r in d.regions(cfg).iter().filter(|r| r.write) {
            let words = (r.bytes as u64).div_ceil(8);
            let beats = words.div_ceil(b / 8);
            let (mut a, mut n, mut bursts) = (base + u64::from(r.offset), beats, 0u64);
            while n > 0 {
                let k = n.min(max_burst).min((4096 - a % 4096) / b).max(1);
                a += k * b;
                n -= k;
                bursts += 1;
            }
            extra +=
                bursts.saturating_sub(beats.div_ceil(max_burst)) * latency.saturating_sub(b / 8);
        }
    }
    extra
}
