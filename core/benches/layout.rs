//! Speed of the memory layouts (core/src/accel/layout.rs): packing a layer's
//! weights into column tiles and spikes into bit planes, and back. The compiler
//! packs once per program; the functional model unpacks every layer of every
//! run, so the unpacking side is the one on a hot path.
//!
//! Run with `cargo bench -p spikeslice-core --bench layout`; docs/performance.md
//! holds the figures.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use spikeslice_core::accel::layout;
use spikeslice_core::numeric::WeightBits;
use spikeslice_core::random;
use std::hint::black_box;
use std::time::Duration;

/// A 784-256 layer at b_w = 4 on an 8-column array, and its input as four
/// timesteps of 4-bit spikes: the golden bench's MLP layer.
const OUTPUTS: usize = 256;
const FAN_IN: usize = 784;
const COLS: usize = 8;
const TIMESTEPS: usize = 4;
const SPIKE_BITS: u8 = 4;

fn layout_bench(c: &mut Criterion) {
    let mut rng = random::rng(11);
    let wb = WeightBits::new(4).unwrap();
    let weights: Vec<i8> = (0..OUTPUTS * FAN_IN)
        .map(|_| random::weight(&mut rng, wb))
        .collect();
    let spikes: Vec<Vec<u8>> = (0..TIMESTEPS)
        .map(|_| random::spikes(&mut rng, FAN_IN, SPIKE_BITS, 0.3))
        .collect();
    let packed_w = layout::pack_weights(&weights, OUTPUTS, FAN_IN, COLS, wb);
    let packed_s = layout::pack_planes(&spikes, SPIKE_BITS, FAN_IN);

    let mut g = c.benchmark_group("layout");
    g.measurement_time(Duration::from_secs(3));
    g.throughput(Throughput::Elements((OUTPUTS * FAN_IN) as u64));
    g.bench_function("pack_weights", |b| {
        b.iter(|| layout::pack_weights(black_box(&weights), OUTPUTS, FAN_IN, COLS, wb))
    });
    g.bench_function("unpack_weights", |b| {
        b.iter(|| layout::unpack_weights(black_box(&packed_w), OUTPUTS, FAN_IN, COLS, wb))
    });
    g.throughput(Throughput::Elements((TIMESTEPS * FAN_IN) as u64));
    g.bench_function("pack_planes", |b| {
        b.iter(|| layout::pack_planes(black_box(&spikes), SPIKE_BITS, FAN_IN))
    });
    g.bench_function("unpack_planes", |b| {
        b.iter(|| layout::unpack_planes(black_box(&packed_s), TIMESTEPS, SPIKE_BITS, FAN_IN))
    });
    g.finish();
}

criterion_group!(benches, layout_bench);
criterion_main!(benches);
