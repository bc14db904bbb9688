//! The accelerator's side of the contract: its configuration, register map,
//! layer descriptors and memory layouts. The RTL implements these, the driver
//! and firmware program them, and [`functional`] executes them in software so
//! the whole path can be checked against the golden model.

pub mod buffers;
pub mod config;
pub mod counters;
pub mod cycles;
pub mod ddr;
pub mod descriptor;
pub mod driver;
pub mod functional;
pub mod im2col;
pub mod kv260;
pub mod layout;
pub mod math;
pub mod preset;
pub mod register_model;
pub mod regmap;

pub use config::{AcceleratorConfig, ArrayConfig, ConfigError};
