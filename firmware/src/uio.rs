//! The accelerator's registers through UIO: `/dev/uioN` mapped (map 0), and
//! its interrupt: write 1 to unmask, then a blocking read returns the event
//! count. UNTESTED ON HARDWARE: written to the kernel's UIO documentation;
//! tests run the same daemon over [`crate::sim::SimRegisters`].

use crate::board::Registers;
use crate::sysfs::Root;
use anyhow::{Context, Result};
use memmap2::MmapMut;
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::time::Duration;

pub struct Uio {
    name: String,
    file: File,
    map: MmapMut,
}

impl Uio {
    pub fn open(root: &Root, name: &str) -> Result<Self> {
        let size = root
            .read_u64(&format!("sys/class/uio/{name}/maps/map0/size"))
            .context("is the accelerator's device-tree overlay loaded (generic-uio)?")?
            as usize;
        // SAFETY: map 0 of a UIO device is the register file; accesses below are
        // volatile and 32-bit aligned.
        let (file, map) = unsafe { root.map_device(&format!("dev/{name}"), size)? };
        Ok(Self {
            name: name.to_string(),
            file,
            map,
        })
    }

    fn ptr(&mut self, offset: u32) -> *mut u32 {
        assert!(
            offset % 4 == 0 && (offset as usize) + 4 <= self.map.len(),
            "register offset"
        );
        // SAFETY: in bounds and aligned, checked above.
        unsafe { self.map.as_mut_ptr().add(offset as usize) as *mut u32 }
    }
}

impl Registers for Uio {
    fn read32(&mut self, offset: u32) -> u32 {
        // SAFETY: see `ptr`; volatile because the device changes the value.
        unsafe { std::ptr::read_volatile(self.ptr(offset)) }
    }

    fn write32(&mut self, offset: u32, value: u32) {
        // SAFETY: see `ptr`.
        unsafe { std::ptr::write_volatile(self.ptr(offset), value) }
    }

    fn wait_irq(&mut self, timeout: Duration) -> Result<bool> {
        // Unmask, then wait for the fd to become readable.
        self.file.write_all(&1u32.to_ne_bytes())?;
        let mut pfd = libc::pollfd {
            fd: self.file.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        let ms = timeout.as_millis().min(i32::MAX as u128) as i32;
        // SAFETY: one valid pollfd.
        let n = unsafe { libc::poll(&mut pfd, 1, ms) };
        if n < 0 {
            return Err(std::io::Error::last_os_error()).context("poll on the UIO device");
        }
        if n == 0 {
            return Ok(false);
        }
        let mut count = [0u8; 4];
        self.file.read_exact(&mut count)?;
        Ok(true)
    }

    fn reopen(&mut self, root: &Root) -> Result<()> {
        *self = Uio::open(root, &self.name.clone())?;
        Ok(())
    }
}
