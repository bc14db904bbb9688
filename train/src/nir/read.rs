//! A NIR file as it is stored: HDF5 with a `version` string and a `node`
//! group holding the graph's `nodes` (one group per node: a `type` string and
//! its parameters) and `edges` (pairs of node names). Read with the pure-Rust
//! `hdf5-reader`, so importing needs no C library.
//!
//! Nothing here interprets a node: [`super::graph`] orders them and
//! `lower` maps them onto the integer model.

use super::NirError;
use hdf5_reader::{group::Group, Dataset, Datatype, Hdf5File};
use std::collections::BTreeMap;
use std::path::Path;

/// A numeric parameter: its shape (empty for a scalar) and values, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Array {
    pub shape: Vec<usize>,
    pub values: Vec<f64>,
}

impl Array {
    pub fn len(&self) -> usize {
        self.values.len()
    }
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

/// A node's field: numbers or text (`padding = "same"` is text).
#[derive(Debug, Clone, PartialEq)]
pub enum Field {
    Numbers(Array),
    Text(String),
    /// A sub-group other than metadata: a nested graph's parts, or a
    /// dictionary-valued field such as Flatten's `input_type`.
    Group(BTreeMap<String, Field>),
}

/// One node: its NIR type and fields, by name.
#[derive(Debug, Clone, PartialEq)]
pub struct RawNode {
    pub kind: String,
    pub fields: BTreeMap<String, Field>,
}

/// A whole file.
#[derive(Debug, Clone, PartialEq)]
pub struct RawGraph {
    pub version: String,
    pub nodes: BTreeMap<String, RawNode>,
    pub edges: Vec<(String, String)>,
}

/// Read `path` as a NIR file.
pub fn read(path: &Path) -> Result<RawGraph, NirError> {
    let bytes = std::fs::read(path).map_err(|e| NirError::Read(format!("cannot read it: {e}")))?;
    read_bytes(&bytes)
}

/// Read a NIR file from memory.
pub fn read_bytes(bytes: &[u8]) -> Result<RawGraph, NirError> {
    let not_nir = |what: String| NirError::Read(format!("{what}: is it a NIR (HDF5) file?"));
    let file = Hdf5File::from_bytes(bytes).map_err(|e| not_nir(format!("not HDF5 ({e})")))?;
    let root = file
        .root_group()
        .map_err(|e| not_nir(format!("no root group ({e})")))?;
    let version = root
        .dataset("version")
        .and_then(|d| d.read_string())
        .or_else(|_| root.attribute("version").and_then(|a| a.read_string()))
        .map_err(|_| not_nir("no `version` string".into()))?;
    let graph = root
        .group("node")
        .map_err(|_| not_nir("no `node` group".into()))?;
    let kind = text_of(&graph, "type").map_err(|_| {
        NirError::Read(
            "the graph (group `node`) has no `type`: the file is incomplete (was its export interrupted?); export it again".into(),
        )
    })?;
    if kind != "NIRGraph" {
        return Err(not_nir(format!("the top node is a {kind}, not a NIRGraph")));
    }
    let nodes_group = graph
        .group("nodes")
        .map_err(|_| NirError::Read("the graph has no `nodes` group".into()))?;
    let mut nodes = BTreeMap::new();
    for g in nodes_group.groups().map_err(hdf5("the graph's nodes"))? {
        let name = g.name().to_string();
        let kind = text_of(&g, "type").map_err(|_| NirError::Node {
            node: name.clone(),
            message: "it has no `type` field".into(),
        })?;
        let fields = fields_of(&g).map_err(|message| NirError::Node {
            node: name.clone(),
            message,
        })?;
        nodes.insert(name, RawNode { kind, fields });
    }
    let edges = match graph.dataset("edges") {
        Ok(d) => edges_of(&d)?,
        // A graph of one node has no edges dataset in some writers.
        Err(_) => Vec::new(),
    };
    Ok(RawGraph {
        version,
        nodes,
        edges,
    })
}

fn hdf5(what: &'static str) -> impl Fn(hdf5_reader::error::Error) -> NirError {
    move |e| NirError::Read(format!("cannot read {what}: {e}"))
}

fn text_of(g: &Group, name: &str) -> Result<String, String> {
    g.dataset(name)
        .and_then(|d| d.read_string())
        .map_err(|e| e.to_string())
}

fn edges_of(d: &Dataset) -> Result<Vec<(String, String)>, NirError> {
    let bad = |m: String| NirError::Read(format!("the graph's `edges`: {m}"));
    let shape = d.shape().to_vec();
    if shape.is_empty() || shape == [0] {
        return Ok(Vec::new());
    }
    if shape.len() != 2 || shape[1] != 2 {
        return Err(bad(format!(
            "shape {shape:?}, expected [N, 2] pairs of node names"
        )));
    }
    let names = d.read_strings().map_err(|e| bad(e.to_string()))?;
    Ok(names
        .chunks_exact(2)
        .map(|p| (p[0].clone(), p[1].clone()))
        .collect())
}

fn fields_of(g: &Group) -> Result<BTreeMap<String, Field>, String> {
    let (groups, datasets) = g.members().map_err(|e| e.to_string())?;
    let mut out = BTreeMap::new();
    for d in datasets {
        let name = d.name().to_string();
        if name == "type" {
            continue;
        }
        let field = field_of(&d).map_err(|m| format!("field `{name}`: {m}"))?;
        out.insert(name, field);
    }
    for sub in groups {
        let name = sub.name().to_string();
        if name == "metadata" {
            continue;
        }
        let mut inner = fields_of(&sub).map_err(|m| format!("group `{name}`: {m}"))?;
        if let Ok(kind) = text_of(&sub, "type") {
            inner.insert("type".into(), Field::Text(kind));
        }
        out.insert(name, Field::Group(inner));
    }
    Ok(out)
}

fn field_of(d: &Dataset) -> Result<Field, String> {
    let shape: Vec<usize> = d.shape().iter().map(|&n| n as usize).collect();
    macro_rules! numbers {
        ($t:ty) => {{
            let a = d.read_array::<$t>().map_err(|e| e.to_string())?;
            a.iter().map(|&v| v as f64).collect::<Vec<f64>>()
        }};
    }
    let values = match d.dtype() {
        Datatype::FloatingPoint { size: 4, .. } => numbers!(f32),
        Datatype::FloatingPoint { size: 8, .. } => numbers!(f64),
        Datatype::FixedPoint { size, signed, .. } => match (size, signed) {
            (1, true) => numbers!(i8),
            (1, false) => numbers!(u8),
            (2, true) => numbers!(i16),
            (2, false) => numbers!(u16),
            (4, true) => numbers!(i32),
            (4, false) => numbers!(u32),
            (8, true) => numbers!(i64),
            (8, false) => numbers!(u64),
            _ => return Err(format!("an integer of {size} bytes")),
        },
        Datatype::String { .. } | Datatype::VarLen { .. } => {
            return d.read_string().map(Field::Text).map_err(|e| e.to_string())
        }
        other => return Err(format!("unsupported HDF5 type {other:?}")),
    };
    Ok(Field::Numbers(Array { shape, values }))
}
