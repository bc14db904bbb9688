//! The accelerator's registers through UIO: `/dev/uioN` mapped (map 0), and
//! its interrupt: write 1 to unmask, then a blocking read returns the event
//! count. UNTESTED ON HARDWARE: written to the kernel's UIO documentation;
//! tests run the same daemon over [`crate::sim::SimRegisters`].

use crate::board::Registers;
use crate::sysfs::Root;
use anyhow::{Context, Result};
use memmap2::MmapMut;
use spikeslice_core::accel::driver::{BusError, Deadline, RegisterBus};
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::AsRawFd;

/// The register file of UIO device `name`, or nothing while no accelerator is
/// loaded: on a freshly booted board the overlay that creates `/dev/uioN`
/// comes with the bitstream, so the daemon must start without it and map it
/// after `spikeslice flash` loaded one ([`Registers::reopen`]).
pub struct Uio {
    name: String,
    device: Option<(File, MmapMut)>,
}

impl Uio {
    /// Map the device; an error if it is not there.
    pub fn open(root: &Root, name: &str) -> Result<Self> {
        let size = root
            .read_u64(&format!("sys/class/uio/{name}/maps/map0/size"))
            .with_context(|| {
                format!("no UIO device {name}: is the accelerator's device-tree overlay loaded (generic-uio)?")
            })? as usize;
        // SAFETY: map 0 of a UIO device is the register file; accesses below are
        // volatile and 32-bit aligned.
        let device = unsafe { root.map_device(&format!("dev/{name}"), size)? };
        Ok(Self {
            name: name.to_string(),
            device: Some(device),
        })
    }

    /// Map the device if it is there, else start unloaded: registers read 0
    /// (so `Hello` reports ID 0 and the host says no accelerator is loaded),
    /// writes go nowhere, and waiting for the interrupt is an error.
    pub fn open_or_unloaded(root: &Root, name: &str) -> Result<Self> {
        if root.path(&format!("sys/class/uio/{name}")).exists() {
            Self::open(root, name)
        } else {
            Ok(Self {
                name: name.to_string(),
                device: None,
            })
        }
    }

    /// Whether an accelerator's registers are mapped.
    pub fn is_loaded(&self) -> bool {
        self.device.is_some()
    }

    fn ptr(&mut self, offset: u32) -> Option<*mut u32> {
        let (_, map) = self.device.as_mut()?;
        assert!(
            offset.is_multiple_of(4) && (offset as usize) + 4 <= map.len(),
            "register offset"
        );
        // SAFETY: in bounds and aligned, checked above.
        Some(unsafe { map.as_mut_ptr().add(offset as usize) as *mut u32 })
    }
}

impl RegisterBus for Uio {
    fn read32(&mut self, offset: u32) -> Result<u32, BusError> {
        // SAFETY: see `ptr`; volatile because the device changes the value.
        Ok(self
            .ptr(offset)
            .map_or(0, |p| unsafe { std::ptr::read_volatile(p) }))
    }

    fn write32(&mut self, offset: u32, value: u32) -> Result<(), BusError> {
        if let Some(p) = self.ptr(offset) {
            // SAFETY: see `ptr`.
            unsafe { std::ptr::write_volatile(p, value) }
        }
        Ok(())
    }

    fn wait_irq(&mut self, deadline: Deadline) -> Result<bool, BusError> {
        self.wait(deadline).map_err(|e| BusError(format!("{e:#}")))
    }
}

impl Uio {
    /// Unmask the interrupt and wait for it (UIO: a 4-byte read of the event
    /// count) until `deadline.time`, or for ever.
    fn wait(&mut self, deadline: Deadline) -> Result<bool> {
        let Some((file, _)) = self.device.as_mut() else {
            anyhow::bail!(
                "no accelerator is loaded (no /dev/{}): load a bitstream with `spikeslice flash`",
                self.name
            );
        };
        // Unmask, then wait for the fd to become readable.
        file.write_all(&1u32.to_ne_bytes())?;
        let mut pfd = libc::pollfd {
            fd: file.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        let ms = deadline
            .time
            .map_or(-1, |t| t.as_millis().min(i32::MAX as u128) as i32);
        // SAFETY: one valid pollfd.
        let n = unsafe { libc::poll(&mut pfd, 1, ms) };
        if n < 0 {
            return Err(std::io::Error::last_os_error()).context("poll on the UIO device");
        }
        if n == 0 {
            return Ok(false);
        }
        let mut count = [0u8; 4];
        file.read_exact(&mut count)?;
        Ok(true)
    }
}

impl Registers for Uio {
    fn reopen(&mut self, root: &Root) -> Result<()> {
        *self = Uio::open(root, &self.name.clone())?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A daemon started before any bitstream runs unloaded, then maps the
    /// device once the overlay created it.
    #[test]
    fn starts_unloaded_and_maps_the_device_after_a_load() {
        let dir = std::env::temp_dir().join(format!("spikeslice-uio-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let root = Root(dir.clone());
        assert!(Uio::open(&root, "uio0").is_err());
        let mut uio = Uio::open_or_unloaded(&root, "uio0").unwrap();
        assert!(!uio.is_loaded());
        assert_eq!(uio.read32(0), Ok(0));
        uio.write32(0x10, 5).unwrap();
        let e = uio
            .wait_irq(Deadline::time(std::time::Duration::from_millis(1)))
            .unwrap_err();
        assert!(e.to_string().contains("spikeslice flash"), "{e}");

        // What loading the overlay creates (a regular file stands in for /dev/uio0).
        std::fs::create_dir_all(dir.join("sys/class/uio/uio0/maps/map0")).unwrap();
        std::fs::write(dir.join("sys/class/uio/uio0/maps/map0/size"), "0x1000\n").unwrap();
        std::fs::create_dir_all(dir.join("dev")).unwrap();
        let mut regs = vec![0u8; 0x1000];
        regs[0..4].copy_from_slice(&0x5353_4C44u32.to_ne_bytes());
        std::fs::write(dir.join("dev/uio0"), &regs).unwrap();
        uio.reopen(&root).unwrap();
        assert!(uio.is_loaded());
        assert_eq!(uio.read32(0), Ok(0x5353_4C44));
        uio.write32(4, 7).unwrap();
        assert_eq!(uio.read32(4), Ok(7));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
