//! DMA memory through u-dma-buf: `/dev/udmabufN` mapped into the daemon, its
//! physical address and cache maintenance through
//! `/sys/class/u-dma-buf/udmabufN/{phys_addr,size,sync_offset,sync_size,sync_direction,sync_for_cpu,sync_for_device}`.

use crate::sysfs::Root;
use anyhow::{bail, Context, Result};
use memmap2::MmapMut;

/// One u-dma-buf buffer, mapped.
pub struct UdmaBuf {
    root: Root,
    name: String,
    map: MmapMut,
    phys: u64,
}

/// Direction codes of `sync_direction`.
const DMA_BIDIRECTIONAL: u32 = 0;

impl UdmaBuf {
    pub fn open(root: &Root, name: &str) -> Result<Self> {
        let class = format!("sys/class/u-dma-buf/{name}");
        let phys = root
            .read_u64(&format!("{class}/phys_addr"))
            .context("is the u-dma-buf module loaded with this buffer (see docs/board.md)?")?;
        let size = root.read_u64(&format!("{class}/size"))? as usize;
        if size == 0 {
            bail!("{name} has size 0");
        }
        // SAFETY: the mapping is shared with the device (and, in tests, with the
        // simulated accelerator); all accesses go through this mapping's slice.
        let (_file, map) = unsafe { root.map_device(&format!("dev/{name}"), size)? };
        Ok(Self {
            root: root.clone(),
            name: name.to_string(),
            map,
            phys,
        })
    }

    pub fn phys_addr(&self) -> u64 {
        self.phys
    }
    pub fn len(&self) -> usize {
        self.map.len()
    }
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
    pub fn as_slice(&self) -> &[u8] {
        &self.map
    }
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        &mut self.map
    }

    fn sync(&self, file: &str, offset: usize, len: usize) -> Result<()> {
        let class = format!("sys/class/u-dma-buf/{}", self.name);
        self.root
            .write(&format!("{class}/sync_offset"), &offset.to_string())?;
        self.root
            .write(&format!("{class}/sync_size"), &len.to_string())?;
        self.root.write(
            &format!("{class}/sync_direction"),
            &DMA_BIDIRECTIONAL.to_string(),
        )?;
        self.root.write(&format!("{class}/{file}"), "1")
    }

    /// Hand `[offset, offset+len)` to the device (flushes CPU caches).
    pub fn sync_for_device(&self, offset: usize, len: usize) -> Result<()> {
        self.sync("sync_for_device", offset, len)
    }

    /// Take `[offset, offset+len)` back for the CPU (invalidates CPU caches).
    pub fn sync_for_cpu(&self, offset: usize, len: usize) -> Result<()> {
        self.sync("sync_for_cpu", offset, len)
    }
}
