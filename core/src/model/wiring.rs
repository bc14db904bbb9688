//! What each lowered layer reads: the graph of a model (docs/model-format.md,
//! "Graphs"), resolved from layer names to lowered-layer indices.

use crate::numeric::SpikeBits;

/// Where a spike tensor comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The network's input (direct encoding: the same image every timestep).
    Input,
    /// The spikes of lowered layer `i` (an earlier one).
    Layer(usize),
}

/// A tensor of the layer's output shape whose spikes are added to the layer's
/// current, times `weight` (docs/semantics.md §2, "Shortcuts").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shortcut {
    pub from: Source,
    pub weight: i32,
    /// `b_s` of the shortcut's spikes.
    pub bits: SpikeBits,
}

/// What one lowered layer reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wiring {
    /// The spikes its synapses read.
    pub input: Source,
    pub shortcut: Option<Shortcut>,
}

impl Wiring {
    /// The wiring of layer `i` of a chain: the layer before it, no shortcut.
    pub fn chain(i: usize) -> Self {
        Self {
            input: match i {
                0 => Source::Input,
                i => Source::Layer(i - 1),
            },
            shortcut: None,
        }
    }

    /// The extra current a shortcut can add in one step: `weight * [0, 2^b - 1]`.
    pub fn shortcut_range(&self) -> (i64, i64) {
        match self.shortcut {
            None => (0, 0),
            Some(s) => {
                let x = i64::from(s.weight) * i64::from(crate::numeric::mask(s.bits.get()));
                (x.min(0), x.max(0))
            }
        }
    }
}
