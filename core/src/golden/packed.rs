//! The fast evaluator: bit planes in `u64` words and popcounts.
//!
//! With `x^(j)` the j-th binary slice of the inputs and `W_b` the b-th bit plane
//! of the weights (two's complement, top plane weighted `-2^(b_w-1)`):
//!
//! ```text
//! sum_k W[k] x[k] = sum_b c_b sum_j 2^j popcount(W_b & x^(j))      (BB paper Eq. 3)
//! c_b = 2^b for b < b_w - 1,  c_{b_w-1} = -2^(b_w-1)
//! ```
//!
//! and for `b_w = 1` (weights `2*bit - 1`): `sum_k W x^(j) = 2 popcount(W_0 & x^(j)) - popcount(x^(j))`.
//! The work per output is at most `b_w * b_in * ceil(K/64)` word operations
//! instead of `K` multiply-adds, and less on sparse inputs: a slice word that is
//! all zero contributes nothing and is skipped.
//!
//! Layout and speed notes (the results do not depend on any of them):
//! - weights are stored `[o][word][plane]`, so one output's planes for one
//!   input word sit together and one input word is loaded once for all planes;
//! - inputs are packed once per position (once per timestep for dense layers),
//!   not once per output, into `[word][slice]`, with a list of the words that
//!   hold any set bit;
//! - bytes are turned into bit planes 16 at a time with SSE2 `movemask`
//!   (x86_64 baseline), which makes packing a layer's weights cheap enough to
//!   do per call;
//! - the kernel is monomorphised over the plane count so its inner loop is
//!   unrolled, and compiled with the `popcnt` instruction when the CPU has it.

use super::layer::NeuronLayer;
use super::PAD;

const WORD: usize = 64;

/// Weights of one layer as bit planes: `[o][word][plane]`.
#[derive(Debug, Clone)]
pub struct PackedWeights {
    words: usize,
    planes: usize,
    bits: Vec<u64>,
    /// Coefficient of each plane.
    coeff: Vec<i64>,
    binary: bool,
    /// The weights transposed, `[g][k][o in group]`, for the event-driven
    /// kernel; empty when an i32 accumulator could overflow.
    transposed: Vec<i32>,
}

/// Bit `b` of each of the 64 bytes, for `b` in `0..planes`, into `out[b]`.
#[inline]
fn bit_planes(bytes: &[u8; WORD], out: &mut [u64]) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{
            __m128i, _mm_cvtsi32_si128, _mm_loadu_si128, _mm_movemask_epi8, _mm_sll_epi16,
        };
        // SAFETY: SSE2 is part of the x86_64 baseline; the loads read 4 x 16
        // bytes inside `bytes` (unaligned loads are allowed).
        unsafe {
            let p = bytes.as_ptr().cast::<__m128i>();
            let v = [
                _mm_loadu_si128(p),
                _mm_loadu_si128(p.add(1)),
                _mm_loadu_si128(p.add(2)),
                _mm_loadu_si128(p.add(3)),
            ];
            for (b, o) in out.iter_mut().enumerate() {
                // Shifting 16-bit lanes left by 7-b moves bit b of both bytes of
                // a lane to their bit 7 (the low byte's bits spill into the high
                // byte's low bits, which movemask ignores).
                let count = _mm_cvtsi32_si128(7 - b as i32);
                let mut word = 0u64;
                for (q, &vq) in v.iter().enumerate() {
                    let m = _mm_movemask_epi8(_mm_sll_epi16(vq, count)) as u32 as u64;
                    word |= m << (16 * q);
                }
                *o = word;
            }
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        for (b, o) in out.iter_mut().enumerate() {
            *o = bytes
                .iter()
                .enumerate()
                .fold(0u64, |w, (k, &v)| w | (u64::from((v >> b) & 1) << k));
        }
    }
}

impl PackedWeights {
    pub fn new(layer: &NeuronLayer) -> Self {
        let syn = &layer.synapses;
        let words = syn.fan_in.div_ceil(WORD);
        let bw = layer.weight_bits;
        let planes = usize::from(bw.get());
        let binary = planes == 1;
        let mut bits = vec![0u64; syn.outputs * words * planes];
        let mut buf = [0u8; WORD];
        for o in 0..syn.outputs {
            let row = &syn.weights[o * syn.fan_in..(o + 1) * syn.fan_in];
            for (w, chunk) in row.chunks(WORD).enumerate() {
                // The codes: for b_w >= 2 the two's complement byte, whose low
                // b_w bits are the code (the sign extends into bit b_w-1); for
                // b_w = 1 the bit is 1 for +1. Padding past K stays 0.
                if chunk.len() < WORD {
                    buf.fill(0);
                }
                if binary {
                    for (d, &v) in buf.iter_mut().zip(chunk) {
                        *d = u8::from(v > 0);
                    }
                } else {
                    // A plain byte copy (i8 -> u8 reinterprets the bits), which
                    // compiles to a memcpy rather than a per-weight branch.
                    for (d, &v) in buf.iter_mut().zip(chunk) {
                        *d = v as u8;
                    }
                }
                let base = (o * words + w) * planes;
                bit_planes(&buf, &mut bits[base..base + planes]);
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
        // The event-driven kernel accumulates in i32: only when no sum of K
        // products can leave it.
        let per_group = syn.outputs / syn.groups;
        let worst = syn.fan_in as u64 * u64::from(bw.max_weight().unsigned_abs()) * 255;
        let transposed = if worst < i32::MAX as u64 {
            let mut t = vec![0i32; syn.groups * syn.fan_in * per_group];
            for o in 0..syn.outputs {
                let (g, ol) = (o / per_group, o % per_group);
                for k in 0..syn.fan_in {
                    t[(g * syn.fan_in + k) * per_group + ol] =
                        i32::from(syn.weights[o * syn.fan_in + k]);
                }
            }
            t
        } else {
            Vec::new()
        };
        Self {
            words,
            planes,
            bits,
            coeff,
            binary,
            transposed,
        }
    }

    /// Whether the event-driven kernel is expected to be cheaper for input `x`:
    /// it costs about one vectorized multiply-add per non-zero input and output
    /// (eight i32 lanes), the bit-plane kernel `b_w * b_in * K/64` popcounts per
    /// output whatever the sparsity.
    fn prefer_events(&self, layer: &NeuronLayer, x: &[u8]) -> bool {
        if self.transposed.is_empty() {
            return false;
        }
        let nonzero = x.iter().filter(|&&v| v != 0).count() as f64;
        let density = nonzero / x.len().max(1) as f64;
        let k = layer.synapses.fan_in as f64;
        let events = density * k / 8.0;
        let popcounts = (self.planes * usize::from(layer.input_bits.get()) * self.words) as f64;
        events < popcounts
    }

    /// Event-driven currents: each non-zero input adds its value times its
    /// column of weights to every output reading it (what an event-driven
    /// SNN simulator does), vectorized over the outputs.
    /// `None` when the layer's sums could overflow the i32 accumulator.
    pub fn currents_events(&self, layer: &NeuronLayer, x: &[u8]) -> Option<Vec<i64>> {
        if self.transposed.is_empty() {
            return None;
        }
        let syn = &layer.synapses;
        let per_group = syn.outputs / syn.groups;
        let mut out = vec![0i64; syn.neurons()];
        let mut acc = vec![0i32; per_group];
        for g in 0..syn.groups {
            let wt = &self.transposed[g * syn.fan_in * per_group..(g + 1) * syn.fan_in * per_group];
            for p in 0..syn.positions {
                acc.fill(0);
                let mut add = |k: usize, v: u8| {
                    let v = i32::from(v);
                    for (a, &w) in acc.iter_mut().zip(&wt[k * per_group..(k + 1) * per_group]) {
                        *a += v * w;
                    }
                };
                match &syn.gather {
                    None => {
                        for (k, &v) in x.iter().enumerate() {
                            if v != 0 {
                                add(k, v);
                            }
                        }
                    }
                    Some(t) => {
                        let start = (g * syn.positions + p) * syn.fan_in;
                        for (k, &i) in t[start..start + syn.fan_in].iter().enumerate() {
                            if i != PAD {
                                let v = x[i as usize];
                                if v != 0 {
                                    add(k, v);
                                }
                            }
                        }
                    }
                }
                for (ol, &a) in acc.iter().enumerate() {
                    let o = g * per_group + ol;
                    out[o * syn.positions + p] = i64::from(a) + i64::from(layer.neurons.bias[o]);
                }
            }
        }
        Some(out)
    }

    /// Currents `sum W x + b` for one timestep's input vector, by whichever
    /// kernel is cheaper for this input: bit planes and popcounts, or events.
    pub fn currents(&self, layer: &NeuronLayer, x: &[u8]) -> Vec<i64> {
        if self.prefer_events(layer, x) {
            if let Some(c) = self.currents_events(layer, x) {
                return c;
            }
        }
        self.currents_bit_planes(layer, x)
    }

    /// Currents by the bit-plane kernel alone (for tests and benchmarks).
    pub fn currents_bit_planes(&self, layer: &NeuronLayer, x: &[u8]) -> Vec<i64> {
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
        // One instance per plane count, so the plane loop is unrolled.
        match self.planes {
            1 => self.currents_planes::<1>(layer, x),
            2 => self.currents_planes::<2>(layer, x),
            3 => self.currents_planes::<3>(layer, x),
            4 => self.currents_planes::<4>(layer, x),
            5 => self.currents_planes::<5>(layer, x),
            6 => self.currents_planes::<6>(layer, x),
            7 => self.currents_planes::<7>(layer, x),
            _ => self.currents_planes::<8>(layer, x),
        }
    }

    #[inline(always)]
    fn currents_planes<const PLANES: usize>(&self, layer: &NeuronLayer, x: &[u8]) -> Vec<i64> {
        debug_assert_eq!(PLANES, self.planes);
        let syn = &layer.synapses;
        let slices = usize::from(layer.input_bits.get());
        let words = self.words;
        let mut out = vec![0i64; syn.neurons()];
        // The gathered inputs, zero-padded to whole words.
        let mut patch = vec![0u8; words * WORD];
        // `[word][slice]` slice bits, and the words with any bit set.
        let mut xs = vec![0u64; words * slices];
        let mut nonzero: Vec<usize> = Vec::with_capacity(words);
        let per_group = syn.outputs / syn.groups;
        for g in 0..syn.groups {
            for p in 0..syn.positions {
                // Dense layers read the same input at their only position: pack
                // it once. Conv and pooling layers gather a patch per position.
                let row = syn.gather.as_ref().map(|t| {
                    let start = (g * syn.positions + p) * syn.fan_in;
                    &t[start..start + syn.fan_in]
                });
                if row.is_some() || (g == 0 && p == 0) {
                    match row {
                        None => patch[..syn.fan_in].copy_from_slice(&x[..syn.fan_in]),
                        Some(row) => {
                            for (d, &i) in patch.iter_mut().zip(row) {
                                *d = if i == PAD { 0 } else { x[i as usize] };
                            }
                        }
                    }
                    nonzero.clear();
                    for w in 0..words {
                        let bytes: &[u8; WORD] = patch[w * WORD..(w + 1) * WORD]
                            .try_into()
                            .expect("a whole word");
                        if bytes.iter().all(|&v| v == 0) {
                            xs[w * slices..(w + 1) * slices].fill(0);
                        } else {
                            bit_planes(bytes, &mut xs[w * slices..(w + 1) * slices]);
                            nonzero.push(w);
                        }
                    }
                }
                // For b_w = 1: sum_j 2^j popcount(x^(j)), shared by every output.
                let input_sum: i64 = if self.binary {
                    nonzero
                        .iter()
                        .flat_map(|&w| xs[w * slices..(w + 1) * slices].iter().enumerate())
                        .map(|(j, v)| i64::from(v.count_ones()) << j)
                        .sum()
                } else {
                    0
                };
                for o in g * per_group..(g + 1) * per_group {
                    let wrow = &self.bits[o * words * PLANES..(o + 1) * words * PLANES];
                    // Per plane: sum_j 2^j popcount(W_b & x^(j)).
                    let mut plane_sums = [0i64; PLANES];
                    for &w in &nonzero {
                        let wp: &[u64; PLANES] = wrow[w * PLANES..(w + 1) * PLANES]
                            .try_into()
                            .expect("PLANES words");
                        for (j, &xj) in xs[w * slices..(w + 1) * slices].iter().enumerate() {
                            if xj == 0 {
                                continue;
                            }
                            for (s, &wb) in plane_sums.iter_mut().zip(wp) {
                                *s += i64::from((wb & xj).count_ones()) << j;
                            }
                        }
                    }
                    let acc = if self.binary {
                        2 * plane_sums[0] - input_sum
                    } else {
                        plane_sums.iter().zip(&self.coeff).map(|(s, c)| s * c).sum()
                    };
                    out[o * syn.positions + p] = acc + i64::from(layer.neurons.bias[o]);
                }
            }
        }
        out
    }
}
