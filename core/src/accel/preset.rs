//! Named accelerator configurations (`--preset NAME` on every command that
//! takes a configuration; docs/shell.md, "Presets"). A preset sets every field
//! of [`AcceleratorConfig`]; a flag given beside it overrides that field.

use super::kv260::{Device, XCK26};
use super::AcceleratorConfig;
use thiserror::Error;

/// A named configuration and the device it is sized for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Preset {
    pub name: &'static str,
    /// One line for `--help` and the docs.
    pub summary: &'static str,
    pub config: AcceleratorConfig,
    /// The FPGA it is sized for, with the margin of [`LUT_BUDGET_PERCENT`];
    /// `None` for configurations chosen for simulation speed.
    pub device: Option<Device>,
}

/// The share of a device's LUTs a board preset may use, in percent: room for
/// routing and for Vivado to close timing.
pub const LUT_BUDGET_PERCENT: u64 = 70;

/// The preset used when none is named.
pub const DEFAULT_PRESET: &str = "default";

/// The preset a board build generates (constraints/build.sh, docs/board.md).
pub const BOARD_PRESET: &str = "kv260";

/// Every preset, the default first.
pub fn presets() -> [Preset; 2] {
    let default = AcceleratorConfig::default();
    [
        Preset {
            name: DEFAULT_PRESET,
            summary: "quick to simulate: the tests' and most figures' configuration",
            config: default,
            device: None,
        },
        Preset {
            name: BOARD_PRESET,
            summary:
                "the board build's accelerator (constraints/build.sh), for CIFAR-sized networks",
            // Four rows: a layer keeps at most its S = T b_in slices' rows
            // busy, and S is 4 or 8 at the BB paper's Table 4 budgets (BB 32
            // and 64 at b_w = 8), so every row works at both and BB 64 takes
            // twice BB 32's cycles; the PEs go to 64 columns. 512 KiB of
            // weights, 8,192 codes a column: the Table 4 net's largest
            // fan-in (4,608) fits, VGG's (2,304) double buffers; 16 URAMs
            // (eight 64-bit banks). 1 MiB of activation buffer: the ResNet-19-shaped
            // net of Table 4 at 8/1/8 reads 32 planes of a 128x32x32 tensor
            // and its shortcut (docs/results.md). 256 KiB of output buffer,
            // in the block RAM the weights left (64 RAMB36): the net's
            // largest outputs are not split (the compiler splits outputs
            // larger than the buffer, each part re-reading the input;
            // docs/results.md gives what the splits would cost at 64 KiB).
            // The accumulators in 128 DSP slices, which the design leaves idle
            // otherwise, instead of about 4,800 LUTs (docs/resources.md,
            // "The kv260 preset"). Positions one at a time through the spike
            // queue: in pairs its 64 columns took 5,262 LUTs more, 72.0% of
            // the device, over the margin, for 2-3% more fps on the VGG net.
            config: AcceleratorConfig {
                rows: 4,
                cols: 64,
                wbuf_bytes: 512 << 10,
                abuf_bytes: 1 << 20,
                obuf_bytes: 256 << 10,
                dsp_pes: true,
                spike_pairs: false,
                ..default
            },
            device: Some(XCK26),
        },
    ]
}

/// A preset name that does not exist.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("no preset named {name:?}: choose one of {}", names().join(", "))]
pub struct UnknownPreset {
    pub name: String,
}

/// The names of every preset.
pub fn names() -> Vec<&'static str> {
    presets().iter().map(|p| p.name).collect()
}

/// The preset called `name`.
pub fn preset(name: &str) -> Result<Preset, UnknownPreset> {
    presets()
        .into_iter()
        .find(|p| p.name == name)
        .ok_or_else(|| UnknownPreset { name: name.into() })
}

/// The presets as a markdown table (docs/shell.md, "Presets").
pub fn markdown() -> String {
    let mut s = String::from(
        "| preset | array | weight / activation / output buffer | AXI | sized for | what it is for |\n\
         | --- | --- | --- | --- | --- | --- |\n",
    );
    for p in presets() {
        let c = &p.config;
        let device = p.device.map_or("-".to_string(), |d| {
            format!("{} (at most {LUT_BUDGET_PERCENT}% of its LUTs)", d.name)
        });
        s += &format!(
            "| `{}` | {}x{}, {}-bit accumulators{}, {}-bit membranes{} | {} / {} / {} KiB | {} bits | {device} | {} |\n",
            p.name,
            c.rows,
            c.cols,
            c.acc_bits,
            if c.dsp_pes { " in DSP48E2 slices" } else { "" },
            c.membrane_bits,
            if c.spike_pairs { ", spikes of positions in pairs" } else { "" },
            c.wbuf_bytes / 1024,
            c.abuf_bytes / 1024,
            c.obuf_bytes / 1024,
            8 * c.axi_data_bytes,
            p.summary
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_preset_is_a_valid_configuration() {
        for p in presets() {
            p.config
                .validate()
                .unwrap_or_else(|e| panic!("{}: {e}", p.name));
        }
        assert_eq!(presets()[0].config, AcceleratorConfig::default());
    }

    #[test]
    fn unknown_names_list_the_presets() {
        let e = preset("kv26").unwrap_err().to_string();
        assert!(e.contains("kv26") && e.contains("default, kv260"), "{e}");
        assert_eq!(preset("kv260").unwrap().config.cols, 64);
    }
}
