//! The simulated board: a fake `/dev` and `/sys` tree in a directory, and an
//! accelerator behind it, so the daemon runs unchanged in tests. The
//! accelerator is either the generated RTL in Verilator ([`crate::rtl`], the
//! default of `spikeslice-fw --simulate`) or, here, the register-level
//! functional model (core), whose DMA view is a second shared mapping of the
//! fake `/dev/udmabuf0`, as the PL sees DDR independently of the CPU.

use crate::board::{BoardPaths, Registers};
use crate::sysfs::Root;
use anyhow::{bail, Result};
use memmap2::MmapMut;
use spikeslice_core::accel::driver::{BusError, Deadline, RegisterBus};
use spikeslice_core::accel::register_model::RegisterModel;
use spikeslice_core::accel::AcceleratorConfig;
use std::fs::OpenOptions;

/// Physical address the fake u-dma-buf reports.
pub const SIM_PHYS: u64 = 0x7000_0000;

/// Build a fake tree for a board with a `window`-byte u-dma-buf.
pub fn create_tree(root: &Root, window: usize, app: &str) -> Result<BoardPaths> {
    root.create("dev/udmabuf0", &[])?;
    let f = OpenOptions::new()
        .write(true)
        .open(root.path("dev/udmabuf0"))?;
    f.set_len(window as u64)?;
    let class = "sys/class/u-dma-buf/udmabuf0";
    root.create(
        &format!("{class}/phys_addr"),
        format!("0x{SIM_PHYS:x}\n").as_bytes(),
    )?;
    root.create(&format!("{class}/size"), format!("{window}\n").as_bytes())?;
    for a in [
        "sync_offset",
        "sync_size",
        "sync_direction",
        "sync_for_cpu",
        "sync_for_device",
    ] {
        root.create(&format!("{class}/{a}"), b"0\n")?;
    }
    root.create("sys/class/uio/uio0/maps/map0/size", b"0x1000\n")?;
    root.create("sys/class/hwmon/hwmon0/name", b"ina260_u14\n")?;
    root.create("sys/class/hwmon/hwmon0/power1_input", b"4210000\n")?;
    root.create("sys/class/fpga_manager/fpga0/flags", b"0\n")?;
    root.create("sys/class/fpga_manager/fpga0/firmware", b"\n")?;
    root.create("sys/class/fpga_manager/fpga0/state", b"operating\n")?;
    root.create("lib/firmware/.keep", b"")?;
    Ok(BoardPaths {
        root: root.clone(),
        udmabuf: "udmabuf0".into(),
        power_sensor: "ina260_u14".into(),
        app: app.into(),
    })
}

/// What the kernel checks when the FPGA manager is given a firmware name: the
/// file must be in /lib/firmware.
pub fn check_loaded_firmware(root: &Root) -> Result<()> {
    let name = root.read("sys/class/fpga_manager/fpga0/firmware")?;
    if !name.is_empty() && !root.exists(&format!("lib/firmware/{name}")) {
        bail!("the FPGA manager was given {name}, which is not in /lib/firmware");
    }
    Ok(())
}

/// The accelerator's own view of the DMA memory: a second shared mapping of the
/// fake `/dev/udmabuf0`, as the PL sees DDR independently of the CPU.
///
/// # Safety
/// The caller touches the mapping only while the daemon waits for the
/// accelerator (a run, its START and its interrupt), as the PL does.
pub unsafe fn map_accelerator_view(root: &Root) -> Result<MmapMut> {
    let len = std::fs::metadata(root.path("dev/udmabuf0"))?.len() as usize;
    // SAFETY: upheld by the caller, see above.
    let (_file, window) = unsafe { root.map_device("dev/udmabuf0", len)? };
    Ok(window)
}

/// The simulated accelerator's registers, as the functional model (fast; the
/// RTL is [`crate::rtl::RtlRegisters`]).
pub struct SimRegisters {
    model: RegisterModel,
    /// The accelerator's own mapping of the DMA memory.
    window: MmapMut,
    /// Bitstreams "loaded" so far.
    pub loads: u32,
}

impl SimRegisters {
    pub fn new(root: &Root, config: AcceleratorConfig) -> Result<Self> {
        // SAFETY: the model reads and writes it only during a run.
        let window = unsafe { map_accelerator_view(root)? };
        Ok(Self {
            model: RegisterModel::new(config),
            window,
            loads: 0,
        })
    }
}

impl RegisterBus for SimRegisters {
    fn read32(&mut self, offset: u32) -> Result<u32, BusError> {
        self.model.bus(&mut self.window).read32(offset)
    }
    fn write32(&mut self, offset: u32, value: u32) -> Result<(), BusError> {
        self.model.bus(&mut self.window).write32(offset, value)
    }
    fn wait_irq(&mut self, deadline: Deadline) -> Result<bool, BusError> {
        self.model.bus(&mut self.window).wait_irq(deadline)
    }
}

impl Registers for SimRegisters {
    fn reopen(&mut self, root: &Root) -> Result<()> {
        // What the kernel would do: the FPGA manager read the firmware file it
        // was given; check it is there, then the new design comes up reset.
        check_loaded_firmware(root)?;
        self.model = RegisterModel::new(self.model.config);
        self.loads += 1;
        Ok(())
    }
}
