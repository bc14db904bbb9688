//! Batches: `n` samples through one descriptor chain (docs/architecture.md,
//! "Batches").
//!
//! A batched layer is the layer itself over `n` times its output positions:
//! the same weights and neuron parameters, a gather table whose rows for
//! sample `b` read sample `b`'s values. So each column tile's parameters and
//! weights load once for the batch, and the tile runs `n P` times; the
//! per-layer costs (descriptor fetch, size arithmetic, the first tile's loads,
//! the write-back's latency) are paid once per batch, not once per sample.
//!
//! Every vector of a batch, the network's input and each layer's output, keeps
//! the samples' values side by side at the innermost level that still holds a
//! whole channel: value `i = c * inner + p` of sample `b` sits at
//! `(c * n + b) * inner + p`, where `inner` is the positions of a channel (a
//! layer's `P`, the input's `H W`, 1 for a flat input). A layer's output
//! `(o, b P + p)` is then at `o n P + b P + p`, the golden model's own order
//! for `n P` positions, so a batched layer needs no reordering between layers,
//! and a dense layer over a flat input becomes a 1 x 1 convolution over `n`
//! positions, which the im2col generator makes on chip without a table.

use super::{Model, ModelError};
use crate::golden::{Synapses, PAD};

/// Where each sample's values sit in a batched vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchLayout {
    /// Samples in the batch, `n`.
    pub samples: usize,
    /// Values of one channel of one sample, kept together.
    pub inner: usize,
}

impl BatchLayout {
    /// Index of value `i` of sample `b` in the batched vector.
    pub fn index(&self, b: usize, i: usize) -> usize {
        let inner = self.inner.max(1);
        (i / inner * self.samples + b) * inner + i % inner
    }

    /// The batched vector of `samples` (at most `self.samples` of them, each
    /// of `len` values; missing samples are zeros).
    pub fn interleave<T: Copy + Default>(&self, samples: &[impl AsRef<[T]>], len: usize) -> Vec<T> {
        let mut out = vec![T::default(); len * self.samples];
        for (b, s) in samples.iter().enumerate().take(self.samples) {
            for (i, &v) in s.as_ref().iter().enumerate().take(len) {
                out[self.index(b, i)] = v;
            }
        }
        out
    }

    /// Sample `b`'s values out of a batched vector.
    pub fn sample<T: Copy>(&self, batched: &[T], b: usize) -> Vec<T> {
        let len = batched.len() / self.samples.max(1);
        (0..len).map(|i| batched[self.index(b, i)]).collect()
    }
}

impl Synapses {
    /// These synapses over a batch whose input vector is laid out as
    /// `input` says: `n P` positions (sample `b`'s position `p` is position
    /// `b P + p`), each reading its sample's values.
    pub fn batched(&self, input: BatchLayout) -> Synapses {
        let n = input.samples;
        let (g, p, k) = (self.groups, self.positions, self.fan_in);
        let mut gather = Vec::with_capacity(g * n * p * k);
        for group in 0..g {
            for b in 0..n {
                for pos in 0..p {
                    for i in 0..k {
                        let entry = match &self.gather {
                            Some(t) => t[(group * p + pos) * k + i],
                            None => i as u32,
                        };
                        gather.push(if entry == PAD {
                            PAD
                        } else {
                            input.index(b, entry as usize) as u32
                        });
                    }
                }
            }
        }
        Synapses {
            positions: n * p,
            input_len: n * self.input_len,
            gather: Some(gather),
            ..self.clone()
        }
    }
}

impl Model {
    /// How a batch of `n` lays out the network's input: channel by channel,
    /// the values of a channel's map (`H W` of a `C x H x W` input) together.
    pub fn input_layout(&self, n: usize) -> BatchLayout {
        BatchLayout {
            samples: n,
            inner: self.spec.input.shape.iter().skip(1).product(),
        }
    }

    /// How a batch of `n` lays out layer `i`'s output: its positions together.
    pub fn output_layout(&self, i: usize, n: usize) -> BatchLayout {
        BatchLayout {
            samples: n,
            inner: self.layers[i].synapses.positions,
        }
    }

    /// The model that runs `n` samples at once: each layer batched over its
    /// input's layout, the input `n` times as long. A batch runs a chain:
    /// a layer that reads anything but the layer before it is refused.
    pub fn batched(&self, n: usize) -> Result<Model, ModelError> {
        if n == 0 {
            return Err(ModelError::Model(
                "a batch holds at least one sample".into(),
            ));
        }
        if let Some(i) = (0..self.layers.len()).find(|&i| self.wiring[i] != super::Wiring::chain(i))
        {
            return Err(ModelError::layer(
                &self.layers[i].name,
                "reads a layer other than the one before it (a shortcut or a skip); \
                 a batch runs chains of layers only: run this model with --batch 1",
            ));
        }
        let mut batched = self.clone();
        batched.spec.input.shape = vec![n * self.input_len()];
        for (i, l) in batched.layers.iter_mut().enumerate() {
            let input = match i {
                0 => self.input_layout(n),
                i => self.output_layout(i - 1, n),
            };
            l.synapses = self.layers[i].synapses.batched(input);
        }
        Ok(batched)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::golden::{run_sample, Engine};
    use crate::random::{rng, Draw};

    /// A layer's positions are kept together, channels outermost: the golden
    /// model's output order for `n P` positions.
    #[test]
    fn a_sample_sits_beside_the_others_inside_each_channel() {
        let l = BatchLayout {
            samples: 3,
            inner: 2,
        };
        // Sample 1's values 0..4: channel 0 at 2, 3; channel 1 at 8, 9.
        let at: Vec<usize> = (0..4).map(|i| l.index(1, i)).collect();
        assert_eq!(at, [2, 3, 8, 9]);
        let samples = [vec![1u8, 2, 3, 4], vec![5, 6, 7, 8]];
        let v = l.interleave(&samples, 4);
        assert_eq!(v, [1, 2, 5, 6, 0, 0, 3, 4, 7, 8, 0, 0]);
        assert_eq!(l.sample(&v, 1), samples[1]);
        assert_eq!(l.sample(&v, 2), [0; 4]);
    }

    proptest::proptest! {
        /// The layout places every value of every sample at its own index,
        /// and taking a sample out inverts putting it in.
        #[test]
        fn a_layout_is_a_permutation(samples in 1usize..7, inner in 1usize..9, channels in 1usize..9) {
            let l = BatchLayout { samples, inner };
            let len = channels * inner;
            let mut seen = vec![false; samples * len];
            for b in 0..samples {
                for i in 0..len {
                    let at = l.index(b, i);
                    proptest::prop_assert!(!seen[at], "two values at {}", at);
                    seen[at] = true;
                }
            }
            let values: Vec<Vec<u32>> = (0..samples)
                .map(|b| (0..len).map(|i| (b * len + i) as u32).collect())
                .collect();
            let batched = l.interleave(&values, len);
            for (b, v) in values.iter().enumerate() {
                proptest::prop_assert_eq!(&l.sample(&batched, b), v);
            }
        }
    }

    /// The batched model on the interleaved samples gives each sample's own
    /// results: readout membranes and every layer's spike counts, for a dense
    /// chain and for a convolution net (random weights, random inputs).
    #[test]
    fn a_batched_model_computes_each_sample_as_alone() {
        for name in ["mnist-mlp", "mnist-cnn"] {
            let path = format!("{}/../models/{name}.json", env!("CARGO_MANIFEST_DIR"));
            let model = Model::load(std::path::Path::new(&path)).expect("model");
            let mut r = rng(0xBA7C);
            let bits = model.spec.input.bits.get();
            let len = model.input_len();
            let n = 3;
            let samples: Vec<Vec<u8>> = (0..n)
                .map(|_| (0..len).map(|_| r.below(1 << bits) as u8).collect())
                .collect();
            let batched = model.batched(n).expect("a chain batches");
            let input = model.input_layout(n).interleave(&samples, len);
            let together = run_sample(&batched, &input, Engine::Direct);
            for (b, s) in samples.iter().enumerate() {
                let alone = run_sample(&model, s, Engine::Direct);
                let last = model.layers.len() - 1;
                let readout = model.output_layout(last, n).sample(&together.readout, b);
                assert_eq!(readout, alone.readout, "{name}, sample {b}");
            }
            // The spike counts of the batch are the samples' together.
            for (i, stats) in together.layers.iter().enumerate() {
                let sum: u64 = samples
                    .iter()
                    .map(|s| run_sample(&model, s, Engine::Direct).layers[i].spike_sum)
                    .sum();
                assert_eq!(stats.spike_sum, sum, "{name}, layer {i}");
            }
        }
    }

    #[test]
    fn a_graph_does_not_batch() {
        let path = format!("{}/../models/mnist-mlp.json", env!("CARGO_MANIFEST_DIR"));
        let mut model = Model::load(std::path::Path::new(&path)).expect("model");
        model.wiring[1].input = super::super::Source::Input;
        let e = model.batched(4).expect_err("not a chain").to_string();
        assert!(e.contains("--batch 1"), "{e}");
        assert!(model.batched(0).is_err());
    }
}
