//! Verilog generator (rust-hdl 0.46) for the spikeslice bit-serial systolic compute core.
//!
//! See docs/compute-core.md for the dataflow. Blocks, each with its own test bench:
//! [`pe`], [`array`](mod@array), [`ppu`], [`ndu`], [`sequencer`]; [`config`] holds the generator
//! parameters and [`manifest`] describes a generated design. The accelerator shell:
//! [`axi`], [`csr`], [`dma`], [`buffer`], [`controller`] and the top [`shell`]
//! (`spikeslice_shell`, docs/shell.md).

/// For the blocks' test benches: `uut` (of type `$ty`) connected, and a
/// simulation that toggles its `clock` every 5 time units.
#[cfg(test)]
macro_rules! clocked_simulation {
    ($uut:expr, $ty:ty) => {{
        let mut uut = $uut;
        uut.connect_all();
        let mut sim = Simulation::new();
        sim.add_clock(5, |x: &mut Box<$ty>| x.clock.next = !x.clock.val());
        (sim, uut)
    }};
}

pub mod array;
pub mod config;
pub mod lint;
pub mod manifest;
pub mod ndu;
pub mod param;
pub mod pe;
pub mod pe_dsp;
pub mod ppu;
pub mod sequencer;

pub use config::{ArrayConfig, ConfigError};
pub use manifest::Manifest;

use rust_hdl::prelude::*;
use sequencer::Core;
use std::path::Path;

/// File name of the generated Verilog inside the output directory.
pub const VERILOG_FILE: &str = "spikeslice_core.v"; // == lint::TOP_NAME + ".v"
/// File name of the manifest inside the output directory.
pub const MANIFEST_FILE: &str = "manifest.json";

#[derive(Debug, thiserror::Error)]
pub enum GenError {
    #[error("invalid configuration: {0}")]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Check(#[from] DesignCheck),
    #[error("cannot generate the shell: {0}")]
    Shell(Box<shell::ShellError>),
    #[error(transparent)]
    Write(#[from] spikeslice_core::atomic::WriteError),
}

/// The core built for `cfg` (the width menu picks the instance), handed to `f`.
fn with_core<R>(cfg: &ArrayConfig, f: impl FnOnce(&mut dyn Block) -> R) -> Result<R, ConfigError> {
    cfg.validate()?;
    // One function per instance, each core in a stack frame of its own.
    fn on<const ACC: usize, const MEM: usize, R>(
        cfg: &ArrayConfig,
        f: impl FnOnce(&mut dyn Block) -> R,
    ) -> Result<R, ConfigError> {
        Ok(f(&mut Core::<ACC, MEM>::new(cfg)))
    }
    macro_rules! build {
        ($acc:literal, $mem:literal) => {
            on::<$acc, $mem, R>(cfg, f)
        };
    }
    width_menu!(cfg.acc_bits, cfg.membrane_bits, build)
}

/// A generated design that fails rust-hdl's checks: a bug of the generator.
#[derive(Debug, thiserror::Error)]
#[error("the generated design fails rust-hdl's checks (a generator bug): {0}")]
pub struct DesignCheck(String);

/// rust-hdl's Verilog of `uut` (connected here), with its design checks (every
/// input driven, no combinational loop, no input written) as an error instead of
/// rust-hdl's panic.
pub(crate) fn verilog_of(uut: &mut dyn Block) -> Result<String, DesignCheck> {
    uut.connect_all();
    check_all(uut).map_err(|e| DesignCheck(format!("{e:?}")))?;
    let mut defines = ModuleDefines::default();
    uut.accept("top", &mut defines);
    Ok(lint::drop_unused_modules(&defines.defines()))
}

/// The generator's width menu: rust-hdl widths are types, so every
/// (`acc_bits`, `membrane_bits`) pair is a monomorphized instance, and the menu
/// must be literals. It is every pair the configuration's `validate` accepts:
/// core's `ACC_BITS_SUPPORTED` x `MEMBRANE_BITS_SUPPORTED` with the membrane at
/// least as wide as the accumulator (a test checks they agree), eighteen pairs,
/// so no instance is compiled that no configuration can reach.
/// `width_menu!(acc, mem, build)` expands to a match that calls the macro
/// `build!(ACC, MEM)` for the pair, or is `Err(ConfigError::menu(..).into())`
/// for a pair outside the menu; `width_menu!(@pairs @vec)` is the menu as a
/// `Vec<(u32, u32)>`.
///
/// This crate's own unit-test build instantiates the default pair only: the
/// unit tests build nothing else, and the whole menu (eighteen cores, thirty-six
/// shells) would double that build's compile time. The library that the
/// integration tests, the CLI and the simulator link has the whole menu.
macro_rules! width_menu {
    ($acc:expr, $mem:expr, $build:ident) => {{
        #[cfg(not(test))]
        let built = $crate::width_menu!(@pairs @match $acc, $mem, $build;);
        #[cfg(test)]
        let built = $crate::width_menu!(@match $acc, $mem, $build; [(24, 32)]);
        built
    }};
    // The menu, handed to the arm `$tag` begins.
    (@pairs $($tag:tt)*) => {
        $crate::width_menu!($($tag)* [
            (16, 24), (16, 32), (16, 40), (16, 48),
            (20, 24), (20, 32), (20, 40), (20, 48),
            (24, 24), (24, 32), (24, 40), (24, 48),
            (28, 32), (28, 40), (28, 48),
            (32, 32), (32, 40), (32, 48)
        ])
    };
    (@match $acc:expr, $mem:expr, $build:ident; [$(($a:literal, $m:literal)),*]) => {
        match ($acc, $mem) {
            $( ($a, $m) => $build!($a, $m), )*
            (acc, mem) => Err($crate::config::not_in_menu(acc, mem).into()),
        }
    };
    (@vec [$(($a:literal, $m:literal)),*]) => {
        vec![$(($a, $m)),*]
    };
}
pub(crate) use width_menu;

/// A SHA-256 over every source the generated Verilog depends on (this crate's and
/// `spikeslice-core`'s sources and the workspace's Cargo.lock, which pins rust-hdl;
/// see build.rs): equal fingerprints and configurations give equal Verilog.
pub const GENERATOR_FINGERPRINT: &str = env!("SPIKESLICE_GENERATOR_FINGERPRINT");

/// The Verilog text of the core for `cfg` (lint fix-ups applied, see [`lint`]).
pub fn verilog(cfg: &ArrayConfig) -> Result<String, GenError> {
    let raw = with_core(cfg, verilog_of)??;
    Ok(lint::fixup(&raw, cfg))
}

/// Every port of the core for `cfg` (`spikeslice_core`), in declaration order.
pub fn ports(cfg: &ArrayConfig) -> Result<Vec<manifest::Port>, ConfigError> {
    with_core(cfg, |core| manifest::ports_of(core))
}

/// Writes `spikeslice_core.v` and `manifest.json` into `out_dir` (created if needed).
pub fn generate(cfg: &ArrayConfig, out_dir: &Path) -> Result<Manifest, GenError> {
    let text = verilog(cfg)?;
    write_design(out_dir, VERILOG_FILE, &text, manifest_for(cfg, &text)?)
}

/// Writes a generated design: the Verilog `text` as `verilog_file` and its manifest
/// into `out_dir` (created if needed), each file atomically; the core and the shell
/// both go through it.
pub(crate) fn write_design(
    out_dir: &Path,
    verilog_file: &str,
    text: &str,
    m: Manifest,
) -> Result<Manifest, GenError> {
    let json = serde_json::to_string_pretty(&m).expect("manifest serializes") + "\n";
    // The manifest last: a reader (the simulator's cache) that finds it finds the
    // Verilog it describes.
    spikeslice_core::atomic::write_all(&[
        (out_dir.join(verilog_file), text.as_bytes().to_vec()),
        (out_dir.join(MANIFEST_FILE), json.into_bytes()),
    ])?;
    Ok(m)
}

/// The manifest of a design without writing anything.
pub fn manifest_for(cfg: &ArrayConfig, verilog_text: &str) -> Result<Manifest, ConfigError> {
    Ok(Manifest::of_design(
        "",
        cfg.clone(),
        None,
        lint::TOP_NAME,
        ports(cfg)?,
        VERILOG_FILE,
        verilog_text,
    ))
}

// Accelerator shell (AXI register file and DMA).
pub mod axi;
pub mod csr;
pub mod dma;
pub mod vivado;
// Accelerator shell: buffers, descriptor controller, shell top.
pub mod buffer;
pub mod controller;
pub mod masked_bram;
pub mod output_buffer;
pub mod shell;
// Resource and path estimate with yosys.
pub mod estimate;
// Rewrites of the generated text for compiled simulators (Verilator).
pub mod postpass;

#[cfg(test)]
mod tests {
    use crate::config::{ArrayConfig, ACC_BITS_SUPPORTED, MEMBRANE_BITS_SUPPORTED};

    /// The pairs of `width_menu!` are the pairs the configuration accepts: a
    /// pair in one and not the other would be accepted and fail to build, or
    /// be compiled and never built.
    #[test]
    fn width_menu_is_the_configuration_menu() {
        let menu: Vec<(u32, u32)> = width_menu!(@pairs @vec);
        let mut valid = vec![];
        for &acc_bits in ACC_BITS_SUPPORTED {
            for &membrane_bits in MEMBRANE_BITS_SUPPORTED {
                let cfg = ArrayConfig {
                    acc_bits,
                    membrane_bits,
                    ..ArrayConfig::default()
                };
                if cfg.validate().is_ok() {
                    valid.push((acc_bits, membrane_bits));
                }
            }
        }
        assert_eq!(menu, valid);
        // This unit-test build's menu (one pair) holds the default widths, which
        // every unit test builds.
        macro_rules! pair {
            ($a:literal, $m:literal) => {
                Ok::<_, crate::ConfigError>(($a, $m))
            };
        }
        let d = ArrayConfig::default();
        let built: Result<(u32, u32), _> = width_menu!(d.acc_bits, d.membrane_bits, pair);
        assert_eq!(built.ok(), Some((d.acc_bits, d.membrane_bits)));
    }
}
