//! The graph's shape: which NIR versions are read, and the chain of nodes
//! from the one Input to the one Output, or an error naming the node or edge
//! that prevents it (a cycle, a dangling edge, a sum of two paths).

use super::read::RawGraph;
use super::NirError;
use std::collections::{BTreeMap, BTreeSet};

/// NIR versions this build reads: 0.1 (the NIR paper's first exports) up to
/// 1.x. The node types used here kept their fields over that range; files
/// before 1.0 lack `v_reset`, which then reads as 0.
pub fn check_version(version: &str) -> Result<(), NirError> {
    let mut parts = version.trim().split('.').map(|p| p.parse::<u32>());
    let (major, minor) = match (parts.next(), parts.next()) {
        (Some(Ok(a)), Some(Ok(b))) => (a, b),
        _ => return Err(NirError::Version(version.to_string())),
    };
    if (major == 0 && minor >= 1) || major == 1 {
        Ok(())
    } else {
        Err(NirError::Version(version.to_string()))
    }
}

/// The node names from Input to Output, in order.
pub fn chain(g: &RawGraph) -> Result<Vec<String>, NirError> {
    let graph_err = |m: String| Err(NirError::Graph(m));
    for (from, to) in &g.edges {
        for end in [from, to] {
            if !g.nodes.contains_key(end) {
                return graph_err(format!(
                    "the edge {from} -> {to} names node {end:?}, which the file does not have (the file is malformed: export it again)"
                ));
            }
        }
    }
    let of_kind = |kind: &str| -> Vec<&String> {
        g.nodes
            .iter()
            .filter(|(_, n)| n.kind == kind)
            .map(|(name, _)| name)
            .collect()
    };
    let (inputs, outputs) = (of_kind("Input"), of_kind("Output"));
    if inputs.len() != 1 || outputs.len() != 1 {
        return graph_err(format!(
            "the graph has {} Input and {} Output nodes; spikeslice imports networks with one of each",
            inputs.len(),
            outputs.len()
        ));
    }
    let mut succ: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    let mut pred: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (from, to) in &g.edges {
        succ.entry(from).or_default().push(to);
        pred.entry(to).or_default().push(from);
    }
    if let Some(cycle) = find_cycle(g, &succ) {
        return graph_err(format!(
            "the graph has a cycle through {}: recurrent networks are not supported (spikeslice runs feed-forward networks)",
            cycle.join(" -> ")
        ));
    }
    for (name, from) in &pred {
        if from.len() > 1 {
            return graph_err(format!(
                "node {name} sums {} inputs ({}): residual connections are not supported by this build's model format",
                from.len(),
                from.join(", ")
            ));
        }
    }
    for (name, to) in &succ {
        if to.len() > 1 {
            return graph_err(format!(
                "node {name} feeds {} nodes ({}): branching graphs (residual connections) are not supported by this build's model format",
                to.len(),
                to.join(", ")
            ));
        }
    }
    let mut order = vec![inputs[0].clone()];
    let mut at = inputs[0].as_str();
    while let Some(next) = succ.get(at).and_then(|s| s.first()) {
        order.push(next.to_string());
        at = next;
    }
    if at != outputs[0] {
        return graph_err(format!(
            "the path from the input ends at node {at}, not at the output {}: the graph is not connected",
            outputs[0]
        ));
    }
    let on_path: BTreeSet<&String> = order.iter().collect();
    if let Some(stray) = g.nodes.keys().find(|n| !on_path.contains(n)) {
        return graph_err(format!(
            "node {stray} is not on the path from the input to the output: remove it or connect it"
        ));
    }
    Ok(order)
}

/// A cycle's nodes, if the graph has one (depth-first search, in name order
/// so the message is stable).
fn find_cycle(g: &RawGraph, succ: &BTreeMap<&str, Vec<&str>>) -> Option<Vec<String>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Open,
        Done,
    }
    let mut mark: BTreeMap<&str, Mark> = g.nodes.keys().map(|k| (k.as_str(), Mark::New)).collect();
    for start in g.nodes.keys() {
        if mark[start.as_str()] != Mark::New {
            continue;
        }
        // An explicit stack of (node, next successor index): no recursion
        // depth limit on a long chain.
        let mut stack: Vec<(&str, usize)> = vec![(start.as_str(), 0)];
        mark.insert(start, Mark::Open);
        while let Some((node, i)) = stack.last().copied() {
            let next = succ.get(node).and_then(|s| s.get(i)).copied();
            match next {
                Some(n) => {
                    stack.last_mut().expect("not empty").1 += 1;
                    match mark[n] {
                        Mark::Open => {
                            let from = stack.iter().position(|(s, _)| *s == n).unwrap_or(0);
                            let mut cycle: Vec<String> =
                                stack[from..].iter().map(|(s, _)| s.to_string()).collect();
                            cycle.push(n.to_string());
                            return Some(cycle);
                        }
                        Mark::New => {
                            mark.insert(n, Mark::Open);
                            stack.push((n, 0));
                        }
                        Mark::Done => {}
                    }
                }
                None => {
                    mark.insert(node, Mark::Done);
                    stack.pop();
                }
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nir::read::RawNode;

    fn graph(nodes: &[(&str, &str)], edges: &[(&str, &str)]) -> RawGraph {
        RawGraph {
            version: "1.0.8".into(),
            nodes: nodes
                .iter()
                .map(|(n, k)| {
                    (
                        n.to_string(),
                        RawNode {
                            kind: k.to_string(),
                            fields: BTreeMap::new(),
                        },
                    )
                })
                .collect(),
            edges: edges
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect(),
        }
    }

    #[test]
    fn versions_from_0_1_to_1_x_are_read() {
        for ok in ["0.1.1", "0.2.0", "0.5.0", "1.0", "1.0.8", "1.3.0"] {
            assert!(check_version(ok).is_ok(), "{ok}");
        }
        for bad in ["0.0.9", "2.0.0", "one", ""] {
            assert!(check_version(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_chain_comes_out_in_order_whatever_the_edge_order() {
        let g = graph(
            &[
                ("i", "Input"),
                ("a", "Affine"),
                ("n", "IF"),
                ("o", "Output"),
            ],
            &[("n", "o"), ("i", "a"), ("a", "n")],
        );
        assert_eq!(chain(&g).unwrap(), ["i", "a", "n", "o"]);
    }

    #[test]
    fn cycles_branches_strays_and_dangling_edges_are_named() {
        let nodes = [
            ("i", "Input"),
            ("a", "Affine"),
            ("n", "IF"),
            ("o", "Output"),
        ];
        let err = |edges: &[(&str, &str)], nodes: &[(&str, &str)]| {
            chain(&graph(nodes, edges)).unwrap_err().to_string()
        };
        let e = err(&[("i", "a"), ("a", "n"), ("n", "a"), ("n", "o")], &nodes);
        assert!(e.contains("cycle through a -> n -> a"), "{e}");
        let e = err(&[("i", "a"), ("a", "n"), ("i", "n"), ("n", "o")], &nodes);
        assert!(e.contains("node n sums 2 inputs (a, i)"), "{e}");
        let e = err(&[("i", "a"), ("a", "ghost"), ("n", "o")], &nodes);
        assert!(e.contains("names node \"ghost\""), "{e}");
        let e = err(&[("i", "a"), ("a", "o")], &nodes);
        assert!(e.contains("node n is not on the path"), "{e}");
        let e = err(&[("i", "a"), ("a", "n")], &nodes);
        assert!(e.contains("ends at node n"), "{e}");
        let e = err(
            &[("i", "o")],
            &[("i", "Input"), ("o", "Output"), ("x", "Input")],
        );
        assert!(e.contains("2 Input and 1 Output"), "{e}");
    }
}
