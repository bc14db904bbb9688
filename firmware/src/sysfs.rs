//! Files of the Linux device model, under a root that is `/` on the board and
//! a temporary directory in tests (so the same code runs against a fake tree).

use anyhow::{Context, Result};
use memmap2::{MmapMut, MmapOptions};
use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

/// The root of `/sys`, `/dev` and `/lib/firmware`.
#[derive(Debug, Clone)]
pub struct Root(pub PathBuf);

impl Root {
    pub fn path(&self, rel: &str) -> PathBuf {
        self.0.join(rel.trim_start_matches('/'))
    }

    /// An attribute's text, trimmed.
    pub fn read(&self, rel: &str) -> Result<String> {
        let p = self.path(rel);
        let s =
            std::fs::read_to_string(&p).with_context(|| format!("cannot read {}", p.display()))?;
        Ok(s.trim().to_string())
    }

    /// An attribute holding a number, decimal or `0x` hexadecimal (sysfs uses both).
    pub fn read_u64(&self, rel: &str) -> Result<u64> {
        let s = self.read(rel)?;
        let parsed = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
            Some(hex) => u64::from_str_radix(hex, 16),
            None => s.parse(),
        };
        parsed.with_context(|| format!("{} holds {s:?}, not a number", self.path(rel).display()))
    }

    pub fn write(&self, rel: &str, value: &str) -> Result<()> {
        let p = self.path(rel);
        std::fs::write(&p, value).with_context(|| format!("cannot write {}", p.display()))
    }

    pub fn exists(&self, rel: &str) -> bool {
        self.path(rel).exists()
    }

    /// Create a file with its parents (for building fake trees).
    pub fn create(&self, rel: &str, contents: &[u8]) -> Result<()> {
        let p = self.path(rel);
        if let Some(dir) = p.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        std::fs::write(&p, contents).with_context(|| format!("cannot write {}", p.display()))
    }

    /// Open a device file read-write and map its first `size` bytes shared.
    ///
    /// # Safety
    /// The caller accesses the mapping as the device requires (volatile for
    /// registers); the memory may change under it, as device memory does.
    pub unsafe fn map_device(&self, rel: &str, size: usize) -> Result<(File, MmapMut)> {
        let dev = self.path(rel);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&dev)
            .with_context(|| format!("cannot open {}", dev.display()))?;
        // SAFETY: upheld by the caller, see above.
        let map = unsafe { MmapOptions::new().len(size).map_mut(&file) }
            .with_context(|| format!("cannot map {} ({size} bytes)", dev.display()))?;
        Ok((file, map))
    }

    pub fn root(&self) -> &Path {
        &self.0
    }
}
