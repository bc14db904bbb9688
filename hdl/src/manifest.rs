//! The JSON manifest written next to the generated Verilog: the configuration, every
//! port with its direction and width, and a hash of the generated sources (the
//! simulator caches its Verilator builds by this hash).

use crate::config::ArrayConfig;
use rust_hdl::prelude::{Atom, AtomKind, Block, Probe};
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

/// Every port of the top block `top`, in declaration order, as rust-hdl's
/// generator declares them in the Verilog module header: an interface's signals are
/// `bundle$signal`, lane i of a vector port `name$i`. The port list is read off the
/// block itself, so it cannot drift from the Verilog.
pub fn ports_of(top: &dyn Block) -> Vec<Port> {
    let mut lister = TopPorts::default();
    top.accept("top", &mut lister);
    lister.ports
}

/// A [`Probe`] that collects the ports of the outermost scope.
#[derive(Default)]
struct TopPorts {
    /// Scopes entered (1 = inside the top block).
    depth: usize,
    /// Interfaces entered at the top block, outermost first.
    namespace: Vec<String>,
    ports: Vec<Port>,
}

impl Probe for TopPorts {
    fn visit_start_scope(&mut self, _name: &str, _node: &dyn Block) {
        self.depth += 1;
    }

    fn visit_end_scope(&mut self, _name: &str, _node: &dyn Block) {
        self.depth -= 1;
    }

    fn visit_start_namespace(&mut self, name: &str, _node: &dyn Block) {
        if self.depth == 1 {
            self.namespace.push(name.to_string());
        }
    }

    fn visit_end_namespace(&mut self, _name: &str, _node: &dyn Block) {
        if self.depth == 1 {
            self.namespace.pop();
        }
    }

    fn visit_atom(&mut self, name: &str, signal: &dyn Atom) {
        let dir = match signal.kind() {
            AtomKind::InputParameter => Dir::In,
            AtomKind::OutputParameter => Dir::Out,
            _ => return,
        };
        if self.depth != 1 {
            return;
        }
        let name = self
            .namespace
            .iter()
            .map(String::as_str)
            .chain([name])
            .collect::<Vec<_>>()
            .join("$");
        self.ports.push(Port {
            name,
            dir,
            width: signal.bits() as u32,
        });
    }
}
