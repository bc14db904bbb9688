//! The JSON manifest written next to the generated Verilog: the configuration, every
//! port with its direction and width, and a hash of the generated sources (the
//! simulator caches its Verilator builds by this hash).

use crate::config::{ArrayConfig, K_BITS, SLICE_BITS};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use spikeslice_core::accel::AcceleratorConfig;

pub const MANIFEST_VERSION: u32 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Dir {
    In,
    Out,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Port {
    /// Verilog name (rust-hdl names lane i of a vector port `name$i`).
    pub name: String,
    pub dir: Dir,
    pub width: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceFile {
    pub path: String,
    pub sha256: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub manifest_version: u32,
    pub generator: String,
    /// The compute core's configuration.
    pub config: ArrayConfig,
    /// The whole accelerator's configuration (buffer sizes, AXI width, bursts),
    /// for a shell; absent for the compute core alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accelerator: Option<AcceleratorConfig>,
    pub top_module: String,
    pub ports: Vec<Port>,
    pub files: Vec<SourceFile>,
    /// sha256 over the config JSON and every source file: the design's identity.
    pub hash: String,
}

impl Manifest {
    /// The manifest of one generated Verilog file `file` holding `verilog_text`,
    /// whose top is `top_module` with `ports`; `what` names the design in the
    /// generator line (`""` for the core, `" shell"`). The design hash covers the
    /// configuration that was generated (the accelerator's for a shell) and the
    /// text.
    pub fn of_design(
        what: &str,
        config: ArrayConfig,
        accelerator: Option<AcceleratorConfig>,
        top_module: &str,
        ports: Vec<Port>,
        file: &str,
        verilog_text: &str,
    ) -> Self {
        let file_hash = sha256_hex(verilog_text.as_bytes());
        let cfg_json = match &accelerator {
            Some(a) => serde_json::to_string(a),
            None => serde_json::to_string(&config),
        }
        .expect("configurations serialize");
        let hash = sha256_hex(format!("{cfg_json}\n{file_hash}").as_bytes());
        Manifest {
            manifest_version: MANIFEST_VERSION,
            generator: format!(
                "spikeslice-hdl {} (rust-hdl 0.46.0){what}",
                env!("CARGO_PKG_VERSION")
            ),
            config,
            accelerator,
            top_module: top_module.into(),
            ports,
            files: vec![SourceFile {
                path: file.into(),
                sha256: file_hash,
            }],
            hash,
        }
    }
}

pub fn sha256_hex(data: &[u8]) -> String {
    let d = Sha256::digest(data);
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// Every port of the generated top, in a stable order.
pub fn ports(cfg: &ArrayConfig) -> Vec<Port> {
    let m = cfg.membrane_bits;
    let mut p = vec![];
    let mut add = |name: String, dir: Dir, width: u32| p.push(Port { name, dir, width });
    add("clock".into(), Dir::In, 1);
    add("rst".into(), Dir::In, 1);
    add("cfg_k".into(), Dir::In, K_BITS);
    add("cfg_slices".into(), Dir::In, SLICE_BITS);
    for n in ["cfg_b_in", "cfg_b_w", "cfg_b_s"] {
        add(n.into(), Dir::In, 4);
    }
    add("cfg_lif".into(), Dir::In, 1);
    add("cfg_leak".into(), Dir::In, 8);
    add("cfg_hard".into(), Dir::In, 1);
    add("cfg_readout".into(), Dir::In, 1);
    add("start".into(), Dir::In, 1);
    for n in ["busy", "done", "error"] {
        add(n.into(), Dir::Out, 1);
    }
    add("par_valid".into(), Dir::In, 1);
    add("par_ready".into(), Dir::Out, 1);
    add("par_data".into(), Dir::In, m);
    add("wgt_valid".into(), Dir::In, 1);
    add("wgt_ready".into(), Dir::Out, 1);
    for c in 0..cfg.cols {
        add(format!("wgt_data${c}"), Dir::In, 8);
    }
    add("act_valid".into(), Dir::In, 1);
    add("act_ready".into(), Dir::Out, 1);
    for r in 0..cfg.rows {
        add(format!("act_data${r}"), Dir::In, 1);
    }
    add("spk_valid".into(), Dir::Out, 1);
    add("spk_ready".into(), Dir::In, 1);
    for c in 0..cfg.cols {
        add(format!("spk_data${c}"), Dir::Out, 8);
    }
    add("mem_valid".into(), Dir::Out, 1);
    add("mem_ready".into(), Dir::In, 1);
    add("mem_data".into(), Dir::Out, m);
    p
}
