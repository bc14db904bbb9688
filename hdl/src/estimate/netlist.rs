//! Register-to-register paths of a mapped netlist, from yosys's `write_json`.
//!
//! The netlist is read as a graph of Xilinx cells. Sequential cells (flip-flops,
//! block and Ultra RAM, DSP slices, shift registers, LUT RAM, latches, the clock
//! buffer) and the top module's ports bound the paths: a path starts at a
//! sequential cell's output or a top-level input and ends at a sequential
//! cell's input or a top-level output. Between them every cell is
//! combinational: a LUT (or INV), a carry cell (CARRY4, CARRY8) or a wide mux
//! (MUXF7/8/9), each taken as a whole (every output depends on every input, as
//! `ltp` takes cells; within a carry cell that is true of its last output).
//!
//! Two paths are reported, because no single count orders paths by delay: the
//! one of most LUT levels (ties: most cells), where a LUT and its routing are
//! the larger part of a level's delay, and the one of most cells (ties: most
//! LUT levels), which is what Vivado counts as logic levels (with CARRY4 for
//! its CARRY8). Then the longest chain of carry cells alone, and the cells on
//! or behind combinational loops, which a sound design has none of.

use std::collections::{BTreeMap, HashMap};

/// A netlist that is not yosys's JSON of a mapped design.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("unexpected netlist JSON: {0}")]
pub struct NetlistError(pub String);

/// One path between registers: its cells by kind and its ends.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Path {
    /// Cells on the path (LUT levels + carry cells + MUXF).
    pub cells: u64,
    /// LUTs (and INVs) on it: the logic levels.
    pub lut_levels: u64,
    /// Carry cells on it (CARRY4 or CARRY8).
    pub carry_cells: u64,
    /// Wide muxes (MUXF7/8/9) on it.
    pub muxf: u64,
    /// The net the path starts from (a register's output or an input port)
    /// and the one it ends at (a register's input or an output port).
    pub from: String,
    pub to: String,
    /// The path cell by cell: each cell's type and the net it drives on
    /// the path (`LUT6 ctl.x[3]`), the last one `to`.
    pub through: Vec<String>,
}

/// The paths of a netlist (see the module doc).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Paths {
    /// The path of most LUT levels (ties: most cells).
    pub deepest: Path,
    /// The path of most cells (ties: most LUT levels).
    pub longest: Path,
    /// The longest chain of carry cells alone (4 bits each for CARRY4).
    pub longest_carry_chain: u64,
    /// Cells on combinational loops or behind one, which no path is
    /// counted through (0 in a sound design).
    pub loop_cells: u64,
}

#[derive(serde::Deserialize)]
struct Json {
    modules: BTreeMap<String, Module>,
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct Module {
    attributes: BTreeMap<String, serde_json::Value>,
    ports: BTreeMap<String, Port>,
    cells: BTreeMap<String, Cell>,
    netnames: BTreeMap<String, NetName>,
}

#[derive(serde::Deserialize)]
struct Port {
    direction: String,
    bits: Vec<Bit>,
}

#[derive(serde::Deserialize)]
struct Cell {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    port_directions: BTreeMap<String, String>,
    #[serde(default)]
    connections: BTreeMap<String, Vec<Bit>>,
}

#[derive(serde::Deserialize)]
struct NetName {
    #[serde(default)]
    hide_name: u8,
    bits: Vec<Bit>,
}

/// A net (yosys's bit number) or a constant ("0", "1", "x", "z").
#[derive(serde::Deserialize, PartialEq, Eq)]
#[serde(untagged)]
enum Bit {
    Net(u64),
    Const(String),
}

/// What a cell is on a path.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Lut,
    Carry,
    Muxf,
}

fn kind(cell_type: &str) -> Option<Kind> {
    if cell_type.starts_with("LUT") || cell_type == "INV" {
        Some(Kind::Lut)
    } else if cell_type == "CARRY4" || cell_type == "CARRY8" {
        Some(Kind::Carry)
    } else if cell_type.starts_with("MUXF") {
        Some(Kind::Muxf)
    } else {
        None
    }
}

/// Counts along a path, and where it came from.
#[derive(Clone, Copy, Default)]
struct Reach {
    luts: u64,
    carries: u64,
    muxfs: u64,
    /// The net the path starts at (`None`: only constants feed it).
    start: Option<u64>,
    /// The combinational cell before this one.
    pred: Option<usize>,
}

impl Reach {
    fn cells(&self) -> u64 {
        self.luts + self.carries + self.muxfs
    }
}

/// The combinational cells of the top module and how they connect.
struct Graph<'a> {
    kinds: Vec<Kind>,
    /// Per cell: its type, as yosys names it.
    types: Vec<&'a str>,
    /// Per cell: its output nets.
    outputs: Vec<Vec<u64>>,
    /// Per cell: its input nets.
    inputs: Vec<Vec<u64>>,
    /// Per cell: the combinational cells driving its inputs (each once).
    preds: Vec<Vec<usize>>,
    /// The nets a path ends at: sequential cells' inputs and output ports.
    sinks: Vec<u64>,
    /// Which combinational cell drives a net.
    driver: HashMap<u64, usize>,
}

/// The paths of yosys's JSON netlist `json`, whose top module (the one with
/// the `top` attribute, or the only one with cells) is the mapped design.
pub fn paths(json: &str) -> Result<Paths, NetlistError> {
    let j: Json = serde_json::from_str(json).map_err(|e| NetlistError(e.to_string()))?;
    let top = top_module(&j)?;
    let g = graph(top)?;
    let (order, loop_cells) = topological(&g);
    let deepest = longest(&g, &order, |r| (r.luts, r.cells()));
    let longest_cells = longest(&g, &order, |r| (r.cells(), r.luts));
    Ok(Paths {
        deepest: describe(deepest, &g, top),
        longest: describe(longest_cells, &g, top),
        longest_carry_chain: carry_chain(&g, &order),
        loop_cells,
    })
}

fn top_module(j: &Json) -> Result<&Module, NetlistError> {
    let is_top = |m: &Module| {
        m.attributes.get("top").is_some_and(|v| match v {
            serde_json::Value::String(s) => s.trim_start_matches('0') == "1",
            serde_json::Value::Number(n) => n.as_u64() == Some(1),
            _ => false,
        })
    };
    if let Some(m) = j.modules.values().find(|m| is_top(m)) {
        return Ok(m);
    }
    let mut with_cells = j.modules.values().filter(|m| !m.cells.is_empty());
    match (with_cells.next(), with_cells.next()) {
        (Some(m), None) => Ok(m),
        _ => Err(NetlistError(
            "no module with the `top` attribute, and not exactly one with cells".into(),
        )),
    }
}

fn graph(top: &Module) -> Result<Graph<'_>, NetlistError> {
    let mut kinds = Vec::new();
    let mut types = Vec::new();
    let mut inputs = Vec::new();
    let mut outputs = Vec::new();
    let mut sinks = Vec::new();
    let nets = |bits: &[Bit]| -> Vec<u64> {
        bits.iter()
            .filter_map(|b| match b {
                Bit::Net(n) => Some(*n),
                Bit::Const(_) => None,
            })
            .collect()
    };
    for (name, cell) in &top.cells {
        let mut ins = Vec::new();
        let mut outs = Vec::new();
        for (port, bits) in &cell.connections {
            match cell.port_directions.get(port).map(String::as_str) {
                Some("input") => ins.extend(nets(bits)),
                Some("output") => outs.extend(nets(bits)),
                Some("inout") => {
                    ins.extend(nets(bits));
                    outs.extend(nets(bits));
                }
                _ => {
                    return Err(NetlistError(format!(
                        "cell {name} ({}): port {port} has no direction",
                        cell.kind
                    )))
                }
            }
        }
        match kind(&cell.kind) {
            Some(k) => {
                kinds.push(k);
                types.push(cell.kind.as_str());
                inputs.push(ins);
                outputs.push(outs);
            }
            None => sinks.extend(ins),
        }
    }
    for port in top.ports.values() {
        if port.direction != "input" {
            sinks.extend(nets(&port.bits));
        }
    }
    let mut driver = HashMap::new();
    for (c, outs) in outputs.iter().enumerate() {
        for &n in outs {
            driver.insert(n, c);
        }
    }
    let preds = inputs
        .iter()
        .map(|ins| {
            let mut p: Vec<usize> = ins.iter().filter_map(|n| driver.get(n).copied()).collect();
            p.sort_unstable();
            p.dedup();
            p
        })
        .collect();
    Ok(Graph {
        kinds,
        types,
        outputs,
        inputs,
        preds,
        sinks,
        driver,
    })
}

/// The combinational cells in an order where every cell comes after the cells
/// driving it (Kahn's algorithm), and the number of cells left out: those on
/// a loop or behind one.
fn topological(g: &Graph) -> (Vec<usize>, u64) {
    let n = g.kinds.len();
    let mut indegree: Vec<usize> = g.preds.iter().map(Vec::len).collect();
    let mut succs = vec![Vec::new(); n];
    for (c, ps) in g.preds.iter().enumerate() {
        for &p in ps {
            succs[p].push(c);
        }
    }
    let mut order: Vec<usize> = (0..n).filter(|&c| indegree[c] == 0).collect();
    let mut i = 0;
    while i < order.len() {
        let c = order[i];
        i += 1;
        for &s in &succs[c] {
            indegree[s] -= 1;
            if indegree[s] == 0 {
                order.push(s);
            }
        }
    }
    let left = (n - order.len()) as u64;
    (order, left)
}

/// The path to a sink that is greatest by `key`, as its counts and cells.
fn longest(
    g: &Graph,
    order: &[usize],
    key: impl Fn(&Reach) -> (u64, u64),
) -> (Reach, Vec<usize>, Option<u64>) {
    let mut reach: Vec<Option<Reach>> = vec![None; g.kinds.len()];
    for &c in order {
        let mut best = Reach {
            start: g.inputs[c]
                .iter()
                .copied()
                .find(|n| !g.driver.contains_key(n)),
            ..Reach::default()
        };
        for &p in &g.preds[c] {
            if let Some(r) = reach[p] {
                if best.pred.is_none()
                    || key(&r) > key(&reach[best.pred.expect("set")].expect("reached"))
                {
                    best = Reach { pred: Some(p), ..r };
                }
            }
        }
        match g.kinds[c] {
            Kind::Lut => best.luts += 1,
            Kind::Carry => best.carries += 1,
            Kind::Muxf => best.muxfs += 1,
        }
        reach[c] = Some(best);
    }
    // The sink whose driver reaches furthest.
    let mut end: Option<(usize, u64)> = None;
    for &s in &g.sinks {
        if let Some(&c) = g.driver.get(&s) {
            if let Some(r) = reach[c] {
                let better = match end {
                    None => true,
                    Some((e, _)) => key(&r) > key(&reach[e].expect("reached")),
                };
                if better {
                    end = Some((c, s));
                }
            }
        }
    }
    let Some((last, sink)) = end else {
        return (Reach::default(), Vec::new(), None);
    };
    let mut cells = vec![last];
    while let Some(p) = reach[*cells.last().expect("non-empty")]
        .expect("reached")
        .pred
    {
        cells.push(p);
    }
    cells.reverse();
    (reach[last].expect("reached"), cells, Some(sink))
}

fn describe((r, cells, sink): (Reach, Vec<usize>, Option<u64>), g: &Graph, top: &Module) -> Path {
    let name = |net: Option<u64>| net.map(|n| net_name(top, n)).unwrap_or_default();
    // Each cell's net on the path: the one the next cell reads, or the sink.
    let through = cells
        .iter()
        .enumerate()
        .map(|(i, &c)| {
            let net = match cells.get(i + 1) {
                Some(&next) => g.outputs[c]
                    .iter()
                    .copied()
                    .find(|n| g.inputs[next].contains(n)),
                None => sink,
            };
            format!("{} {}", g.types[c], name(net))
        })
        .collect();
    Path {
        through,
        cells: r.cells(),
        lut_levels: r.luts,
        carry_cells: r.carries,
        muxf: r.muxfs,
        from: name(r.start),
        to: name(sink),
    }
}

/// A readable name of `net`: a net name the design gave (not one yosys made
/// up) if there is one, the shortest otherwise, with the bit's index.
fn net_name(top: &Module, net: u64) -> String {
    let mut best: Option<(bool, usize, String)> = None;
    for (name, n) in &top.netnames {
        if let Some(i) = n.bits.iter().position(|b| *b == Bit::Net(net)) {
            let full = if n.bits.len() == 1 {
                name.clone()
            } else {
                format!("{name}[{i}]")
            };
            let candidate = (n.hide_name != 0, full.len(), full);
            if best.as_ref().is_none_or(|b| candidate < *b) {
                best = Some(candidate);
            }
        }
    }
    best.map(|b| b.2).unwrap_or_else(|| format!("net {net}"))
}

/// The longest chain of carry cells connected to each other.
fn carry_chain(g: &Graph, order: &[usize]) -> u64 {
    let mut chain = vec![0u64; g.kinds.len()];
    let mut best = 0;
    for &c in order {
        if g.kinds[c] != Kind::Carry {
            continue;
        }
        let before = g.preds[c]
            .iter()
            .filter(|&&p| g.kinds[p] == Kind::Carry)
            .map(|&p| chain[p])
            .max()
            .unwrap_or(0);
        chain[c] = before + 1;
        best = best.max(chain[c]);
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    /// yosys 0.23's netlist of fixtures/design.v (fixtures/README.md): two
    /// 16-bit registers, their sum or their xor plus 3 into a third.
    const DESIGN: &str = include_str!("fixtures/netlist.json");

    #[test]
    fn the_fixture_paths_run_through_the_adders() {
        let p = paths(DESIGN).unwrap();
        // `ltp` on the sequential cells' complement gave this design's path of
        // most cells as 6: a LUT, the four CARRY4s of a 16-bit adder, a LUT
        // (fixtures/README.md).
        assert_eq!(
            (p.longest.cells, p.longest.lut_levels, p.longest.carry_cells),
            (6, 2, 4)
        );
        assert_eq!(p.longest.muxf, 0);
        // Every path here has at most two LUTs; the deepest ties on LUTs and
        // so is as long.
        assert_eq!(p.deepest, p.longest);
        // From a register (the inputs are registered first) to q's input.
        assert!(
            ["ra[", "rb["].iter().any(|r| p.longest.from.starts_with(r)),
            "{:?}",
            p.longest
        );
        assert!(p.longest.to.starts_with("$0\\q[15:0]["), "{:?}", p.longest);
        assert_eq!(p.longest_carry_chain, 4);
        assert_eq!(p.loop_cells, 0);
    }

    /// A netlist in yosys's JSON form: `cells` as (name, type, inputs,
    /// outputs), one flip-flop `r` from net 1 (Q) to net 2 (D), ports as
    /// (name, direction, net).
    fn netlist(cells: &[(&str, &str, &[u64], &[u64])], ports: &[(&str, &str, u64)]) -> String {
        let mut cs = serde_json::Map::new();
        for (name, kind, ins, outs) in cells {
            let mut dirs = serde_json::Map::new();
            let mut conns = serde_json::Map::new();
            for (i, n) in ins.iter().enumerate() {
                dirs.insert(format!("I{i}"), "input".into());
                conns.insert(format!("I{i}"), serde_json::json!([n]));
            }
            for (i, n) in outs.iter().enumerate() {
                dirs.insert(format!("O{i}"), "output".into());
                conns.insert(format!("O{i}"), serde_json::json!([n]));
            }
            cs.insert(
                name.to_string(),
                serde_json::json!({"type": kind, "port_directions": dirs, "connections": conns}),
            );
        }
        let mut ps = serde_json::Map::new();
        let mut names = serde_json::Map::new();
        for (name, dir, n) in ports {
            ps.insert(
                name.to_string(),
                serde_json::json!({"direction": dir, "bits": [n]}),
            );
            names.insert(
                name.to_string(),
                serde_json::json!({"hide_name": 0, "bits": [n]}),
            );
        }
        names.insert(
            "$made_up".into(),
            serde_json::json!({"hide_name": 1, "bits": [7, 8]}),
        );
        serde_json::json!({"modules": {
            "lib": {"ports": {}},
            "top": {"attributes": {"top": "00000000000000000000000000000001"},
                    "ports": ps, "cells": cs, "netnames": names}
        }})
        .to_string()
    }

    #[test]
    fn the_deepest_and_the_longest_path_differ_where_carries_are_many() {
        // From input `a`: three LUTs in a row into the flip-flop; from input
        // `b`: one LUT and three carry cells to output `y`.
        let json = netlist(
            &[
                ("l1", "LUT2", &[10, 11], &[12]),
                ("l2", "LUT1", &[12], &[13]),
                ("l3", "LUT6", &[13], &[14]),
                ("ff", "FDRE", &[14], &[15]),
                ("m", "LUT3", &[20, 15], &[21]),
                ("c1", "CARRY4", &[21], &[22]),
                ("c2", "CARRY4", &[22], &[23]),
                ("c3", "CARRY8", &[23, 0], &[24]),
                ("x", "MUXF7", &[24], &[25]),
            ],
            &[
                ("a", "input", 10),
                ("a2", "input", 11),
                ("b", "input", 20),
                ("y", "output", 25),
            ],
        );
        let p = paths(&json).unwrap();
        assert_eq!((p.deepest.cells, p.deepest.lut_levels), (3, 3));
        assert_eq!(
            (p.deepest.from.as_str(), p.deepest.to.as_str()),
            ("a", "net 14")
        );
        assert_eq!(
            p.deepest.through,
            ["LUT2 net 12", "LUT1 net 13", "LUT6 net 14"]
        );
        assert_eq!(
            (
                p.longest.cells,
                p.longest.lut_levels,
                p.longest.carry_cells,
                p.longest.muxf
            ),
            (5, 1, 3, 1)
        );
        assert_eq!(p.longest.to, "y");
        assert!(
            ["b", "net 15"].contains(&p.longest.from.as_str()),
            "{:?}",
            p.longest
        );
        assert_eq!(p.longest_carry_chain, 3);
        assert_eq!(p.loop_cells, 0);
    }

    #[test]
    fn a_combinational_loop_is_counted_not_followed() {
        let json = netlist(
            &[
                ("l1", "LUT2", &[10, 13], &[12]),
                ("l2", "LUT2", &[12, 10], &[13]),
                ("l3", "LUT1", &[10], &[14]),
            ],
            &[("a", "input", 10), ("y", "output", 14), ("z", "output", 12)],
        );
        let p = paths(&json).unwrap();
        assert_eq!(p.loop_cells, 2);
        assert_eq!((p.deepest.cells, p.deepest.to.as_str()), (1, "y"));
    }

    #[test]
    fn a_netlist_without_a_design_is_an_error() {
        assert!(paths("not json").is_err());
        let two = serde_json::json!({"modules": {
            "a": {"cells": {"x": {"type": "LUT1"}}},
            "b": {"cells": {"y": {"type": "LUT1"}}}
        }});
        let e = paths(&two.to_string()).unwrap_err();
        assert!(e.0.contains("top"), "{e}");
        let no_dir = serde_json::json!({"modules": {"t": {"cells": {
            "x": {"type": "LUT1", "connections": {"I0": [3]}}
        }}}});
        let e = paths(&no_dir.to_string()).unwrap_err();
        assert!(e.0.contains("I0"), "{e}");
    }
}
