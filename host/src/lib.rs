//! # spikeslice (host)
//!
//! The host side: the compiler from models to programs ([`compiler`]),
//! devices that run programs ([`device`]), the inputs they run on
//! ([`input`]), their cycles, throughput and energy ([`performance`]), the
//! reports they produce ([`report`]), and flashing a board ([`flash`], with
//! [`bitstream`]: `.bit` headers, the part check and `.bit.bin`). The `spikeslice`
//! binary (src/main.rs) is a thin command line over this library.

pub mod bitstream;
pub mod compiler;
pub mod device;
pub mod energy;
pub mod flash;
pub mod input;
pub mod performance;
pub mod report;
