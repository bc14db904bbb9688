//! A model's graph while it is lowered: which named tensors exist, their
//! shapes and spike widths, and what each layer's `inputs` name
//! (docs/model-format.md, "Graphs").

use super::spec::LayerSpec;
use super::wiring::Source;
use super::ModelError;
use crate::numeric::SpikeBits;
use std::collections::{BTreeMap, BTreeSet};

/// The name `inputs` uses for the network's input.
pub const INPUT: &str = "input";

/// Activation shape flowing between layers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Shape {
    Flat(usize),
    Map { c: usize, h: usize, w: usize },
}

impl Shape {
    pub(super) fn len(self) -> usize {
        match self {
            Shape::Flat(n) => n,
            Shape::Map { c, h, w } => c * h * w,
        }
    }
    pub(super) fn describe(self) -> String {
        match self {
            Shape::Flat(n) => format!("[{n}]"),
            Shape::Map { c, h, w } => format!("[{c}, {h}, {w}]"),
        }
    }

    /// The length of a flat input to layer `name`, `what` (e.g. "a readout").
    pub(super) fn flat(self, name: &str, what: &str) -> Result<usize, ModelError> {
        match self {
            Shape::Flat(n) => Ok(n),
            map => Err(ModelError::layer(
                name,
                format!(
                    "{what} needs a flat input, got {}: add a flatten layer before it",
                    map.describe()
                ),
            )),
        }
    }

    /// `(C, H, W)` of a map input to layer `name`, `what` (e.g. "pooling").
    pub(super) fn map(self, name: &str, what: &str) -> Result<(usize, usize, usize), ModelError> {
        match self {
            Shape::Map { c, h, w } => Ok((c, h, w)),
            flat => Err(ModelError::layer(
                name,
                format!("{what} needs a [C, H, W] input, got {}", flat.describe()),
            )),
        }
    }
}

/// A named tensor: its shape, the width of its spikes, and where they come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Tensor {
    pub shape: Shape,
    pub bits: SpikeBits,
    pub source: Source,
}

/// The tensors defined so far, in file order.
pub(super) struct Graph<'s> {
    /// Every layer's name in file order, to tell a forward reference from a typo.
    names: Vec<&'s str>,
    defined: BTreeMap<&'s str, Tensor>,
    /// The tensor a layer without `inputs` reads: the one defined last.
    last: (&'s str, Tensor),
    read: BTreeSet<&'s str>,
}

impl<'s> Graph<'s> {
    pub(super) fn new(layers: &'s [LayerSpec], input: Tensor) -> Self {
        Self {
            names: layers.iter().map(LayerSpec::name).collect(),
            defined: BTreeMap::from([(INPUT, input)]),
            last: (INPUT, input),
            read: BTreeSet::new(),
        }
    }

    /// The tensors `layer` reads, checked in number for its kind: the named
    /// ones, or the previous layer's output when it names none.
    pub(super) fn inputs(&mut self, layer: &'s LayerSpec) -> Result<Vec<Tensor>, ModelError> {
        let name = layer.name();
        let names = layer.inputs();
        let (min, max, what) = match layer {
            LayerSpec::Add { .. } => (2, 2, "an add sums exactly two inputs"),
            LayerSpec::Dense { .. } | LayerSpec::Conv2d { .. } | LayerSpec::Readout { .. } => (
                0,
                2,
                "it reads one input and may add one shortcut: name at most two",
            ),
            LayerSpec::Pool { .. } | LayerSpec::Flatten { .. } => {
                (0, 1, "it reads one input: name at most one")
            }
        };
        if names.len() < min || names.len() > max {
            return Err(ModelError::layer(
                name,
                format!("`inputs` names {} tensors; {what}", names.len()),
            ));
        }
        if names.is_empty() {
            self.read.insert(self.last.0);
            return Ok(vec![self.last.1]);
        }
        names.iter().map(|n| self.get(name, n.as_str())).collect()
    }

    fn get(&mut self, layer: &str, wanted: &'s str) -> Result<Tensor, ModelError> {
        if let Some(t) = self.defined.get(wanted) {
            self.read.insert(wanted);
            return Ok(*t);
        }
        let message = if wanted == layer {
            format!("`inputs` names the layer itself ({wanted:?}): a graph cannot have a cycle")
        } else if self.names.contains(&wanted) {
            format!(
                "`inputs` names {wanted:?}, which comes after it: a layer must come after \
                 its inputs, so a graph cannot have a cycle; move {wanted:?} before it"
            )
        } else {
            let near = self
                .defined
                .keys()
                .copied()
                .filter(|k| edit_distance(k, wanted) <= 2)
                .min_by_key(|k| edit_distance(k, wanted));
            match near {
                Some(k) => format!("`inputs` names {wanted:?}, which is no layer; did you mean {k:?}?"),
                None => format!(
                    "`inputs` names {wanted:?}, which is no layer before it (use {INPUT:?} for the network's input)"
                ),
            }
        };
        Err(ModelError::layer(layer, message))
    }

    /// Define `name`'s output; later layers without `inputs` read it.
    pub(super) fn define(&mut self, name: &'s str, tensor: Tensor) {
        self.defined.insert(name, tensor);
        self.last = (name, tensor);
    }

    /// Every layer's output but the last one's is read by some later layer:
    /// an unread output is a mistake in the graph (a wrong name in `inputs`).
    pub(super) fn check_all_read(&self) -> Result<(), ModelError> {
        let Some((last, rest)) = self.names.split_last() else {
            return Ok(());
        };
        match rest
            .iter()
            .find(|n| !self.read.contains(*n) && **n != *last)
        {
            Some(n) => Err(ModelError::layer(
                n,
                "no layer reads its output: name it in a later layer's `inputs`, or remove it",
            )),
            None => Ok(()),
        }
    }
}

/// Levenshtein distance, for "did you mean" (names are short).
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diag = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let next = (diag + usize::from(ca != cb))
                .min(row[j] + 1)
                .min(row[j + 1] + 1);
            diag = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::edit_distance;

    #[test]
    fn edit_distance_counts_edits() {
        assert_eq!(edit_distance("conv1", "conv1"), 0);
        assert_eq!(edit_distance("conv1", "cnv1"), 1);
        assert_eq!(edit_distance("conv1", "conv2"), 1);
        assert_eq!(edit_distance("b1_add", "b1add"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("fc", "readout"), 7);
    }
}
