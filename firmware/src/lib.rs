//! # spikeslice-fw
//!
//! The board-side daemon for a Kria KV260 (Zynq UltraScale+ with Ubuntu or
//! PetaLinux): it maps the accelerator's registers through UIO, its DMA memory
//! through u-dma-buf, loads bitstreams, reads the power sensor, and serves the
//! host over the CRC-framed protocol of docs/protocol.md.
//!
//! The [`board::Registers`] trait is the only seam between the real board
//! ([`uio`]) and the simulated one (the Verilated RTL in [`rtl`], or the
//! functional model in [`sim`]); sysfs, u-dma-buf mapping,
//! power and bitstream loading run the same code against `/` or a fake tree.

pub mod board;
pub mod daemon;
pub mod loader;
#[cfg(feature = "rtl-sim")]
pub mod rtl;
pub mod sim;
pub mod sysfs;
pub mod udmabuf;
pub mod uio;
