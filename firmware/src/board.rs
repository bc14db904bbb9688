//! The board: registers and interrupt (the part that differs between the real
//! Linux board and the simulated one), DMA memory, power sensor and bitstream
//! loading (the parts that run the same code against `/` or a fake tree).

use crate::sysfs::Root;
use crate::udmabuf::UdmaBuf;
use anyhow::{bail, Context, Result};
use spikeslice_core::accel::driver::RegisterBus;

/// Register access and the accelerator's interrupt, the driver's seam
/// ([`RegisterBus`]): `/dev/uioN` on the board ([`crate::uio::Uio`]) and a
/// simulated accelerator in tests ([`crate::sim::SimRegisters`],
/// [`crate::rtl::RtlRegisters`]), plus what a bitstream load changes.
pub trait Registers: RegisterBus + Send {
    /// Called after a new bitstream was loaded (the device may have changed).
    fn reopen(&mut self, root: &Root) -> Result<()>;
}

/// Where the daemon finds things on the board.
#[derive(Debug, Clone)]
pub struct BoardPaths {
    pub root: Root,
    /// The u-dma-buf device name, e.g. `udmabuf0`.
    pub udmabuf: String,
    /// The hwmon sensor name, e.g. `ina260_u14` on the KV260.
    pub power_sensor: String,
    /// The accel app name under /lib/firmware/xilinx/.
    pub app: String,
}

/// Everything the daemon drives.
pub struct Board {
    pub regs: Box<dyn Registers>,
    pub dma: UdmaBuf,
    pub paths: BoardPaths,
}

impl Board {
    pub fn open(regs: Box<dyn Registers>, paths: BoardPaths) -> Result<Self> {
        let dma = UdmaBuf::open(&paths.root, &paths.udmabuf)?;
        Ok(Self { regs, dma, paths })
    }

    /// Power in microwatts from the hwmon sensor named `power_sensor`
    /// (`power1_input`, INA260: the whole 5 V rail of the SOM).
    pub fn power_microwatts(&self) -> Result<u64> {
        let root = &self.paths.root;
        let dir = root.path("sys/class/hwmon");
        let entries =
            std::fs::read_dir(&dir).with_context(|| format!("cannot list {}", dir.display()))?;
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let rel = format!("sys/class/hwmon/{name}");
            if root.read(&format!("{rel}/name")).ok().as_deref()
                == Some(self.paths.power_sensor.as_str())
            {
                return root.read_u64(&format!("{rel}/power1_input"));
            }
        }
        bail!(
            "no hwmon sensor named {} under {}: is the ina260 driver loaded?",
            self.paths.power_sensor,
            dir.display()
        )
    }
}
