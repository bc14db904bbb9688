//! The simulated board's accelerator as **RTL**: the generated accelerator shell
//! (`spikeslice_shell`: AXI4-Lite register file, AXI4 DMA, descriptor controller,
//! buffers, compute core) built by Verilator (`spikeslice-sim`), behind the same
//! fake `/dev` and `/sys` tree as [`crate::sim`]. The daemon drives it through the
//! [`Registers`] seam exactly as it drives `/dev/uioN` on a KV260: every register
//! access is an AXI4-Lite transaction on the simulated bus, and every byte the
//! accelerator moves goes through its AXI4 master and the DDR model.
//!
//! Memory: the PL sees DDR at the u-dma-buf's physical address
//! ([`crate::sim::SIM_PHYS`]). The DDR model holds its own copy of the buffer;
//! the copy is refreshed from the CPU's mapping when the daemon writes START (the
//! daemon has made `sync_for_device` before that, as on the board) and written
//! back when the interrupt fires (before the daemon's `sync_for_cpu`), which is
//! what cache maintenance guarantees on the real board: the CPU and the PL agree
//! on the buffer at those two points only.

use crate::board::Registers;
use crate::sim::SIM_PHYS;
use crate::sysfs::Root;
use anyhow::{Context, Result};
use memmap2::MmapMut;
use spikeslice_core::accel::driver::{BusError, Deadline, RegisterBus};
use spikeslice_core::accel::regmap::{self, ctrl};
use spikeslice_core::accel::AcceleratorConfig;
use spikeslice_sim::{ShellSim, SimOptions};
use std::time::Instant;

/// Cycles clocked between two looks at the wall clock while waiting for the
/// interrupt.
const IRQ_POLL_CYCLES: u64 = 4096;

/// The Verilated accelerator shell as the simulated board's registers.
pub struct RtlRegisters {
    sim: ShellSim,
    /// The CPU's view of the DMA buffer (a second shared mapping of the fake
    /// `/dev/udmabuf0`).
    window: MmapMut,
    /// Whether a run is in flight (the DDR copy is the newer one).
    running: bool,
    /// Bitstreams "loaded" so far.
    pub loads: u32,
}

impl RtlRegisters {
    /// Build (or take from the Verilator cache) the shell for `config` and reset it.
    pub fn new(root: &Root, config: AcceleratorConfig) -> Result<Self> {
        // SAFETY: read and written only at START and at the interrupt, while the
        // daemon waits.
        let window = unsafe { crate::sim::map_accelerator_view(root)? };
        let mut sim = ShellSim::build(&config, &SimOptions::default()).with_context(|| {
            format!(
                "cannot build the Verilator model of the {}x{} accelerator shell for the \
                 simulated board (needs Debian's `verilator` and `g++`; scripts/test.sh \
                 installs them)",
                config.rows, config.cols
            )
        })?;
        sim.ddr.base = SIM_PHYS;
        sim.set_window(vec![0; window.len()]);
        Ok(Self {
            sim,
            window,
            running: false,
            loads: 0,
        })
    }

    /// The simulator, for tests that inject faults into its DDR model.
    pub fn shell(&mut self) -> &mut ShellSim {
        &mut self.sim
    }

    /// The run is over (interrupt or soft reset): hand the PL's memory back to the
    /// CPU's mapping.
    fn finish_run(&mut self) {
        if self.running {
            self.window.copy_from_slice(self.sim.window());
            self.running = false;
        }
    }
}

impl RegisterBus for RtlRegisters {
    fn read32(&mut self, offset: u32) -> Result<u32, BusError> {
        self.sim.read(offset).map_err(|e| BusError(e.to_string()))
    }

    fn write32(&mut self, offset: u32, value: u32) -> Result<(), BusError> {
        if offset == regmap::CTRL && value & ctrl::START != 0 {
            // The daemon has synced the buffer for the device: the PL now reads
            // what the CPU wrote.
            self.sim.window_mut().copy_from_slice(&self.window);
            self.running = true;
        }
        if offset == regmap::CTRL && value & ctrl::SOFT_RESET != 0 {
            self.finish_run();
        }
        self.sim
            .write(offset, value)
            .map_err(|e| BusError(e.to_string()))
    }

    /// Clocks the shell until the interrupt: a board's daemon waits in wall
    /// time, so this does too (`deadline.time`), and also stops after
    /// `deadline.cycles` where given.
    fn wait_irq(&mut self, deadline: Deadline) -> Result<bool, BusError> {
        let until = deadline.time.map(|t| Instant::now() + t);
        let mut cycles = deadline.cycles.unwrap_or(u64::MAX);
        let fired = loop {
            let n = IRQ_POLL_CYCLES.min(cycles);
            if self.sim.clock_until_irq(n) {
                break true;
            }
            cycles -= n;
            if cycles == 0 || until.is_some_and(|u| Instant::now() >= u) {
                break false;
            }
        };
        if fired {
            self.finish_run();
        }
        Ok(fired)
    }
}

impl Registers for RtlRegisters {
    fn reopen(&mut self, root: &Root) -> Result<()> {
        // What the kernel does on a load: the FPGA manager read the firmware file it
        // was given; check it is there, then the new design comes up from reset.
        crate::sim::check_loaded_firmware(root)?;
        self.finish_run();
        self.sim.reset();
        self.loads += 1;
        Ok(())
    }
}
