//! Memory layouts the accelerator reads and writes (docs/formats.md):
//! weights packed at `b_w` bits in column tiles, spikes as binary bit planes.
//!
//! All multi-byte values are little-endian; bit `i` of a packed stream is bit
//! `i % 64` of 64-bit word `i / 64`.

use crate::numeric::WeightBits;
use bitvec::prelude::*;

/// Bytes of `bits` bits rounded up to whole 64-bit words.
pub fn words_bytes(bits: usize) -> usize {
    bits.div_ceil(64) * 8
}

/// Bytes of one column tile of packed weights: `K * cols` codes of `b_w` bits,
/// padded to a 64-bit word.
pub fn weight_tile_bytes(fan_in: usize, cols: usize, weight_bits: WeightBits) -> usize {
    words_bytes(fan_in * cols * usize::from(weight_bits.get()))
}

/// Bytes of all packed weights of an `O x K` matrix for an array of `cols` columns.
pub fn weight_bytes(outputs: usize, fan_in: usize, cols: usize, weight_bits: WeightBits) -> usize {
    outputs.div_ceil(cols) * weight_tile_bytes(fan_in, cols, weight_bits)
}

/// Pack an `O x K` weight matrix: for each tile of `cols` outputs, for each
/// input `k`, the `cols` codes of that tile's outputs (the order the array's
/// columns consume them: one input per beat, one weight per column). Outputs
/// past `O` in the last tile are code 0.
pub fn pack_weights(
    weights: &[i8],
    outputs: usize,
    fan_in: usize,
    cols: usize,
    weight_bits: WeightBits,
) -> Vec<u8> {
    let bw = usize::from(weight_bits.get());
    let mut out = vec![0u8; weight_bytes(outputs, fan_in, cols, weight_bits)];
    let tile_bytes = weight_tile_bytes(fan_in, cols, weight_bits);
    for (tile, bytes) in out.chunks_exact_mut(tile_bytes).enumerate() {
        let codes = bytes.view_bits_mut::<Lsb0>().chunks_exact_mut(bw);
        for (i, code) in codes.take(fan_in * cols).enumerate() {
            let (k, o) = (i / cols, tile * cols + i % cols);
            if o < outputs {
                code.store_le(weight_bits.encode(i32::from(weights[o * fan_in + k])));
            }
        }
    }
    out
}

/// Inverse of [`pack_weights`].
pub fn unpack_weights(
    bytes: &[u8],
    outputs: usize,
    fan_in: usize,
    cols: usize,
    weight_bits: WeightBits,
) -> Vec<i8> {
    let bw = usize::from(weight_bits.get());
    let tile_bits = weight_tile_bytes(fan_in, cols, weight_bits) * 8;
    let bits = bytes.view_bits::<Lsb0>();
    let mut w = vec![0i8; outputs * fan_in];
    for o in 0..outputs {
        let (tile, c) = (o / cols, o % cols);
        for k in 0..fan_in {
            let at = tile * tile_bits + (k * cols + c) * bw;
            w[o * fan_in + k] = weight_bits.decode(bits[at..at + bw].load_le::<u8>()) as i8;
        }
    }
    w
}

/// Bytes of one bit plane over `n` values.
pub fn plane_bytes(n: usize) -> usize {
    words_bytes(n)
}

/// Bytes of a spike train of `timesteps` steps, `n` values, `bits` planes each.
pub fn planes_bytes(timesteps: usize, bits: u8, n: usize) -> usize {
    timesteps * usize::from(bits) * plane_bytes(n)
}

/// Spikes as bit planes: plane `t * bits + j` holds bit `j` of every value at
/// timestep `t` (the binary slices `x^(j)` of BB paper Eq. 3), each plane
/// padded to whole 64-bit words.
pub fn pack_planes(spikes: &[Vec<u8>], bits: u8, n: usize) -> Vec<u8> {
    let mut out = vec![0u8; planes_bytes(spikes.len(), bits, n)];
    let mut planes = out.chunks_exact_mut(plane_bytes(n));
    for step in spikes {
        debug_assert_eq!(step.len(), n);
        for (j, plane) in (0..bits).zip(&mut planes) {
            // One 64-bit word per 64 values: the loop a compiler vectorises.
            for (word, values) in plane.chunks_exact_mut(8).zip(step.chunks(64)) {
                let bits = values
                    .iter()
                    .rev()
                    .fold(0u64, |w, &v| w << 1 | u64::from((v >> j) & 1));
                word.copy_from_slice(&bits.to_le_bytes());
            }
        }
    }
    out
}

/// Inverse of [`pack_planes`].
pub fn unpack_planes(bytes: &[u8], timesteps: usize, bits: u8, n: usize) -> Vec<Vec<u8>> {
    assert!(
        bytes.len() >= planes_bytes(timesteps, bits, n),
        "spike planes truncated"
    );
    let mut planes = bytes.chunks_exact(plane_bytes(n));
    (0..timesteps)
        .map(|_| {
            let mut step = vec![0u8; n];
            for (j, plane) in (0..bits).zip(&mut planes) {
                for (word, values) in plane.chunks_exact(8).zip(step.chunks_mut(64)) {
                    let bits = u64::from_le_bytes(word.try_into().expect("8-byte chunk"));
                    for (i, v) in values.iter_mut().enumerate() {
                        *v |= (((bits >> i) & 1) as u8) << j;
                    }
                }
            }
            step
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random;
    use rand::Rng;

    #[test]
    fn weights_round_trip_for_every_width_and_shape() {
        let mut rng = random::rng(5);
        for _ in 0..200 {
            let bw = WeightBits::new(rng.gen_range(1..=8)).unwrap();
            let (o, k, cols) = (
                rng.gen_range(1..40),
                rng.gen_range(1..70),
                rng.gen_range(1..17),
            );
            let w: Vec<i8> = (0..o * k).map(|_| random::weight(&mut rng, bw)).collect();
            let packed = pack_weights(&w, o, k, cols, bw);
            assert_eq!(packed.len(), weight_bytes(o, k, cols, bw));
            assert_eq!(unpack_weights(&packed, o, k, cols, bw), w);
        }
    }

    #[test]
    fn planes_round_trip() {
        let mut rng = random::rng(6);
        for _ in 0..200 {
            let bits = rng.gen_range(1..=8);
            let (t, n) = (rng.gen_range(1..5), rng.gen_range(1..200));
            let s: Vec<Vec<u8>> = (0..t)
                .map(|_| random::spikes(&mut rng, n, bits, 0.5))
                .collect();
            let packed = pack_planes(&s, bits, n);
            assert_eq!(packed.len(), planes_bytes(t, bits, n));
            assert_eq!(unpack_planes(&packed, t, bits, n), s);
        }
    }

    #[test]
    fn plane_bit_order_is_little_endian() {
        // Value 0b10 at index 9: plane 1, byte 1, bit 1.
        let mut v = vec![0u8; 10];
        v[9] = 2;
        let p = pack_planes(&[v], 2, 10);
        assert_eq!(p.len(), 16);
        assert_eq!(p[8 + 1], 0b10);
        assert!(p[..8].iter().all(|&b| b == 0));
    }
}
