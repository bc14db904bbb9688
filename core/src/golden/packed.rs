//! The fast evaluator: bit planes in `u64` words and popcounts.
//!
//! With `x^(j)` the j-th binary slice of the inputs and `W_b` the b-th bit plane
//! of the weights (two's complement, top plane weighted `-2^(b_w-1)`):
//!
//! ```text
//! sum_k W[k] x[k] = sum_j 2^j sum_b c_b popcount(W_b & x^(j))      (BB paper Eq. 3)
//! c_b = 2^b for b < b_w - 1,  c_{b_w-1} = -2^(b_w-1)
//! ```
//!
//! and for `b_w = 1` (weights `2*bit - 1`): `sum_k W x^(j) = 2 popcount(W_0 & x^(j)) - popcount(x^(j))`.
//! The work per output is `b_w * b_in * ceil(K/64)` word operations instead of
//! `K` multiply-adds.

use super::layer::NeuronLayer;

const WORD: usize = 64;

/// Weights of one layer as bit planes: `[o][plane][word]`.
pub struct PackedWeights {
    words: usize,
    planes: usize,
    bits: Vec<u64>,
    /// Coefficient of each plane.
    coeff: Vec<i64>,
    binary: bool,
}

impl PackedWeights {
    pub fn new(layer: &NeuronLayer) -> Self {
        let syn = &layer.synapses;
        let words = syn.fan_in.div_ceil(WORD);
        let bw = layer.weight_bits;
        let planes = usize::from(bw.get());
        let mut bits = vec![0u64; syn.outputs * planes * words];
        for o in 0..syn.outputs {
            for (k, &w) in syn.weights[o * syn.fan_in..(o + 1) * syn.fan_in]
                .iter()
                .enumerate()
            {
                let code = bw.encode(i32::from(w));
                for b in 0..planes {
                    if (code >> b) & 1 == 1 {
                        bits[(o * planes + b) * words + k / WORD] |= 1 << (k % WORD);
                    }
                }
            }
        }
        let coeff = (0..planes)
            .map(|b| {
                if b + 1 == planes && planes > 1 {
                    -(1i64 << b)
                } else {
                    1i64 << b
                }
            })
            .collect();
        Self {
            words,
            planes,
            bits,
            coeff,
            binary: planes == 1,
        }
    }

    /// Currents `sum W x + b` for one timestep's input vector.
    pub fn currents(&self, layer: &NeuronLayer, x: &[u8]) -> Vec<i64> {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("popcnt") {
                // SAFETY: the CPU supports popcnt, checked just above.
                return unsafe { self.currents_popcnt(layer, x) };
            }
        }
        self.currents_generic(layer, x)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "popcnt")]
    unsafe fn currents_popcnt(&self, layer: &NeuronLayer, x: &[u8]) -> Vec<i64> {
        // The same body, compiled with the popcnt instruction for count_ones.
        self.currents_generic(layer, x)
    }

    #[inline(always)]
    fn currents_generic(&self, layer: &NeuronLayer, x: &[u8]) -> Vec<i64> {
        let syn = &layer.synapses;
        let slices = usize::from(layer.input_bits.get());
        let words = self.words;
        let mut out = vec![0i64; syn.neurons()];
        let mut patch = Vec::with_capacity(syn.fan_in);
        let mut xs = vec![0u64; slices * words];
        let mut active = vec![false; slices];
        let per_group = syn.outputs / syn.groups;
        for g in 0..syn.groups {
            for p in 0..syn.positions {
                syn.gathered(x, g, p, &mut patch);
                xs.iter_mut().for_each(|w| *w = 0);
                for (k, &v) in patch.iter().enumerate() {
                    let mut v = v;
                    let mut j = 0;
                    while v != 0 {
                        if v & 1 == 1 {
                            xs[j * words + k / WORD] |= 1 << (k % WORD);
                        }
                        v >>= 1;
                        j += 1;
                    }
                }
                for (j, a) in active.iter_mut().enumerate() {
                    *a = xs[j * words..(j + 1) * words].iter().any(|&w| w != 0);
                }
                for o in g * per_group..(g + 1) * per_group {
                    let wbase = o * self.planes * words;
                    let mut acc = 0i64;
                    for j in 0..slices {
                        if !active[j] {
                            continue;
                        }
                        let xj = &xs[j * words..(j + 1) * words];
                        let mut slice_sum = 0i64;
                        for b in 0..self.planes {
                            let wp = &self.bits[wbase + b * words..wbase + (b + 1) * words];
                            let ones: u32 = wp.iter().zip(xj).map(|(a, c)| (a & c).count_ones()).sum();
                            slice_sum += self.coeff[b] * i64::from(ones);
                        }
                        if self.binary {
                            let n: u32 = xj.iter().map(|w| w.count_ones()).sum();
                            slice_sum = 2 * slice_sum - i64::from(n);
                        }
                        acc += slice_sum << j;
                    }
                    out[o * syn.positions + p] = acc + i64::from(layer.bias[o]);
                }
            }
        }
        out
    }
}
