//! The JSON manifest written next to the generated Verilog: the configuration, every
//! port with its direction and width, and a hash of the generated sources (the
//! simulator caches its Verilator builds by this hash).

use crate::config::{ArrayConfig, K_BITS, SLICE_BITS};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

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
    pub config: ArrayConfig,
    pub top_module: String,
    pub ports: Vec<Port>,
    pub files: Vec<SourceFile>,
    /// sha256 over the config JSON and every source file: the design's identity.
    pub hash: String,
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
