//! The graph's shape: which NIR versions are read, and the nodes from the one
//! Input to the one Output in an order that lists each after its inputs, or
//! an error naming the node or edge that prevents it (a cycle, a dangling
//! edge, a node off the paths, a sum of more than two tensors). Which sums
//! and branches a model can express is `lower`'s to say.

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

/// The graph in an order that lists every node after its inputs, from the
/// one Input to the one Output, with each node's inputs and outputs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    pub nodes: Vec<String>,
    pub preds: BTreeMap<String, Vec<String>>,
    pub succs: BTreeMap<String, Vec<String>>,
}

impl Order {
    pub fn preds(&self, node: &str) -> &[String] {
        self.preds.get(node).map_or(&[], Vec::as_slice)
    }
    pub fn succs(&self, node: &str) -> &[String] {
        self.succs.get(node).map_or(&[], Vec::as_slice)
    }
}

/// The nodes in an order that lists each after its inputs (Kahn's algorithm,
/// in name order among the ready ones so the result is stable), or an error
/// naming the edge or node that prevents importing the graph: a dangling
/// edge, a cycle, a node off the paths from the Input to the Output, a node
/// summing more than two inputs.
pub fn order(g: &RawGraph) -> Result<Order, NirError> {
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
    let mut succs: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut preds: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (from, to) in &g.edges {
        succs.entry(from.clone()).or_default().push(to.clone());
        preds.entry(to.clone()).or_default().push(from.clone());
    }
    {
        let succ_refs: BTreeMap<&str, Vec<&str>> = succs
            .iter()
            .map(|(k, v)| (k.as_str(), v.iter().map(String::as_str).collect()))
            .collect();
        if let Some(cycle) = find_cycle(g, &succ_refs) {
            return graph_err(format!(
                "the graph has a cycle through {}: recurrent networks are not supported (spikeslice runs feed-forward networks)",
                cycle.join(" -> ")
            ));
        }
    }
    for (name, from) in &preds {
        if from.len() > 2 {
            return graph_err(format!(
                "node {name} sums {} inputs ({}): a sum of more than two tensors is not supported (a residual block adds one shortcut)",
                from.len(),
                from.join(", ")
            ));
        }
    }
    // Reachable from the input, and reaching the output: every node must be both.
    let reach = |start: &str, next: &BTreeMap<String, Vec<String>>| -> BTreeSet<String> {
        let mut seen = BTreeSet::from([start.to_string()]);
        let mut stack = vec![start.to_string()];
        while let Some(n) = stack.pop() {
            for m in next.get(&n).into_iter().flatten() {
                if seen.insert(m.clone()) {
                    stack.push(m.clone());
                }
            }
        }
        seen
    };
    let (from_input, to_output) = (reach(inputs[0], &succs), reach(outputs[0], &preds));
    if !from_input.contains(outputs[0].as_str()) {
        return graph_err(format!(
            "no path leads from the input {} to the output {}: the graph is not connected",
            inputs[0], outputs[0]
        ));
    }
    if let Some(stray) = g
        .nodes
        .keys()
        .find(|n| !from_input.contains(*n) || !to_output.contains(*n))
    {
        return graph_err(format!(
            "node {stray} is not on a path from the input to the output: remove it or connect it"
        ));
    }
    let mut waiting: BTreeMap<&str, usize> = g
        .nodes
        .keys()
        .map(|n| (n.as_str(), preds.get(n).map_or(0, Vec::len)))
        .collect();
    let mut ready: BTreeSet<&str> = BTreeSet::from([inputs[0].as_str()]);
    let mut nodes = Vec::with_capacity(g.nodes.len());
    while let Some(n) = ready.pop_first() {
        nodes.push(n.to_string());
        for m in succs.get(n).into_iter().flatten() {
            let w = waiting.get_mut(m.as_str()).expect("edges name nodes");
            *w -= 1;
            if *w == 0 {
                ready.insert(m.as_str());
            }
        }
    }
    Ok(Order {
        nodes,
        preds,
        succs,
    })
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
        assert_eq!(order(&g).unwrap().nodes, ["i", "a", "n", "o"]);
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
            order(&graph(nodes, edges)).unwrap_err().to_string()
        };
        let e = err(&[("i", "a"), ("a", "n"), ("n", "a"), ("n", "o")], &nodes);
        assert!(e.contains("cycle through a -> n -> a"), "{e}");
        let e = err(
            &[
                ("i", "a"),
                ("a", "n"),
                ("i", "n"),
                ("a", "o"),
                ("n", "o"),
                ("i", "o"),
            ],
            &nodes,
        );
        assert!(e.contains("node o sums 3 inputs (a, n, i)"), "{e}");
        let e = err(&[("i", "a"), ("a", "ghost"), ("n", "o")], &nodes);
        assert!(e.contains("names node \"ghost\""), "{e}");
        let e = err(&[("i", "a"), ("a", "o")], &nodes);
        assert!(e.contains("node n is not on a path"), "{e}");
        let e = err(&[("i", "a"), ("a", "n")], &nodes);
        assert!(
            e.contains("no path leads from the input i to the output o"),
            "{e}"
        );
        let e = err(&[("i", "a"), ("a", "n"), ("a", "o")], &nodes);
        assert!(e.contains("node n is not on a path"), "{e}");
        let e = err(
            &[("i", "o")],
            &[("i", "Input"), ("o", "Output"), ("x", "Input")],
        );
        assert!(e.contains("2 Input and 1 Output"), "{e}");
    }
}
