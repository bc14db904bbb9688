//! Generates the shell top (`spikeslice_shell`) and lints it with
//! `verilator --lint-only -Wall`: any warning fails. Also checks the manifest's ports
//! against the generated module header.

use spikeslice_core::accel::AcceleratorConfig;
use spikeslice_hdl::shell;

use crate::common;

fn lint(tag: &str, text: &str) {
    common::verilator_lint(tag, &[(shell::VERILOG_FILE, text)]);
}

/// The ports declared in the generated top module, in order: (name, is_output, width).
fn header_ports(v: &str) -> Vec<(String, bool, u32)> {
    let start = v
        .find(&format!("module {}(", shell::TOP_NAME))
        .expect("top module");
    let body = &v[start..];
    let mut out = vec![];
    for line in body.lines().skip(1) {
        let l = line.trim();
        if l.starts_with("//") || l.is_empty() {
            continue;
        }
        let dir = if l.starts_with("input") {
            false
        } else if l.starts_with("output") {
            true
        } else {
            break;
        };
        let width = match (l.find('['), l.find(':')) {
            (Some(a), Some(b)) if b > a => l[a + 1..b].trim().parse::<u32>().unwrap() + 1,
            _ => 1,
        };
        let name = l
            .trim_end_matches(';')
            .split_whitespace()
            .last()
            .unwrap()
            .to_string();
        out.push((name, dir, width));
    }
    out
}

fn check(cfg: AcceleratorConfig, tag: &str) {
    let v = shell::verilog(&cfg).unwrap();
    assert!(v.contains(&format!("module {}(", shell::TOP_NAME)));
    let dir =
        std::env::temp_dir().join(format!("spikeslice-shell-gen-{}-{tag}", std::process::id()));
    let m = shell::generate(&cfg, &dir).unwrap();
    assert_eq!(m.top_module, "spikeslice_shell");
    assert!(dir.join("spikeslice_shell.v").exists() && dir.join("manifest.json").exists());
    let _ = std::fs::remove_dir_all(&dir);
    let mut declared = header_ports(&v);
    let mut listed: Vec<(String, bool, u32)> = m
        .ports
        .iter()
        .map(|p| {
            (
                p.name.clone(),
                p.dir == spikeslice_hdl::manifest::Dir::Out,
                p.width,
            )
        })
        .collect();
    declared.sort();
    listed.sort();
    assert_eq!(declared, listed, "manifest ports != generated ports");
    lint(tag, &v);
}

#[test]
fn shell_verilog_lints_clean_64() {
    check(
        AcceleratorConfig {
            rows: 2,
            cols: 3,
            acc_bits: 16,
            membrane_bits: 24,
            axi_data_bytes: 8,
            max_burst_beats: 16,
            wbuf_bytes: 4096,
            abuf_bytes: 4096,
            obuf_bytes: 2048,
            ..Default::default()
        },
        "2x3-64",
    );
}

#[test]
fn shell_verilog_lints_clean_128_default_buffers() {
    check(
        AcceleratorConfig {
            rows: 4,
            cols: 4,
            // Positions one at a time through the spike queue (no held slots).
            spike_pairs: false,
            ..Default::default()
        },
        "4x4-128",
    );
}

#[test]
fn shell_verilog_lints_clean_default_8x8() {
    check(AcceleratorConfig::default(), "8x8-default");
}

/// PEs in DSP48E2 slices: the primitive's instances and its simulation model
/// (hdl/src/pe_dsp.rs) lint clean, with two SIMD lanes (and a one-PE slice at
/// an odd column count) and with one 48-bit lane.
#[test]
fn shell_verilog_lints_clean_with_pes_in_dsp_slices() {
    for (cols, acc_bits) in [(3, 16), (2, 32)] {
        let rows = 2;
        let cfg = AcceleratorConfig {
            rows,
            cols,
            acc_bits,
            membrane_bits: 32,
            dsp_pes: true,
            wbuf_bytes: 4096,
            abuf_bytes: 4096,
            obuf_bytes: 2048,
            ..Default::default()
        };
        let v = shell::verilog(&cfg).unwrap();
        // One slice per `pes_per_dsp` columns of each row, and the model.
        let slices = rows * cols.div_ceil(spikeslice_hdl::pe_dsp::pes_per_dsp(acc_bits as usize));
        assert_eq!(v.matches("DSP48E2 #(").count(), slices + 1);
        check(cfg, &format!("2x{cols}-dsp-a{acc_bits}"));
    }
}
