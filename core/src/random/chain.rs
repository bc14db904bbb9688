//! Random descriptor chains and small accelerator configurations: the one
//! test kit the rust-hdl benches, the Verilator suites and the board tests
//! share. A chain is laid out in a window of random garbage, so a test can
//! check that the accelerator touched exactly what the functional model did.

use crate::accel::cycles::{PAIRED_TIMESTEPS_MAX, SPIKE_QUEUE_DEPTH};
use crate::accel::descriptor::{LayerDescriptor, LayerKind, DESCRIPTOR_BYTES};
use crate::accel::{layout, AcceleratorConfig};
use crate::numeric::WeightBits;
use rand::Rng;

/// A random chain of 1-3 layers (dense, or gather when `gather_pct` allows:
/// a random table including padding, or an im2col geometry), laid out in a window of `size` bytes with random
/// garbage everywhere else. Returns (window, descriptor offset, count).
pub fn chain(
    rng: &mut impl Rng,
    cfg: &AcceleratorConfig,
    size: usize,
    gather_pct: f64,
    big: bool,
) -> (Vec<u8>, u32, u32) {
    chain_with_long_trains(rng, cfg, size, gather_pct, big, 0.25)
}

/// [`chain`], a `long_pct` part of the chains with trains of wide spikes from
/// a static input (b_s from 4 up where the configuration allows), half of them
/// long (T from `SPIKE_QUEUE_DEPTH + 1` to `+ 4`), half short enough for their
/// positions to go in pairs (T from 2 to `PAIRED_TIMESTEPS_MAX`,
/// `pairs_positions`): with 8 columns the core emits faster than the output
/// buffer takes the bits, the spike queue fills, and its writes set a layer's
/// cycles.
pub fn chain_with_long_trains(
    rng: &mut impl Rng,
    cfg: &AcceleratorConfig,
    size: usize,
    gather_pct: f64,
    big: bool,
    long_pct: f64,
) -> (Vec<u8>, u32, u32) {
    let mut w: Vec<u8> = (0..size).map(|_| rng.gen()).collect();
    let n_layers = rng.gen_range(1..=3usize);
    let long = rng.gen_bool(long_pct);
    let depth = SPIKE_QUEUE_DEPTH as u32;
    let t = if long && rng.gen_bool(0.5) {
        rng.gen_range(depth + 1..=depth + 4)
    } else if long {
        rng.gen_range(2..=PAIRED_TIMESTEPS_MAX as u32)
    } else {
        rng.gen_range(1..=3u32)
    };
    let mut b_in = rng.gen_range(1..=3u8);
    let mut k = rng.gen_range(1..=40u32);
    let align = |x: usize| x.div_ceil(64) * 64;
    // `big`: up to 60 outputs per layer and the chain anywhere in the first 4 KiB,
    // so that regions longer than a burst straddle 4 KiB boundaries.
    let desc_off = 64 * rng.gen_range(0..if big { 64 } else { 3usize });
    let mut at = align(desc_off + n_layers * DESCRIPTOR_BYTES);
    // Half the chains start with a static input (direct encoding): one
    // timestep's planes, read once and integrated T times.
    let static_input = long || rng.gen_bool(0.5);
    let input_steps = if static_input { 1 } else { t };
    let input: Vec<Vec<u8>> = (0..input_steps)
        .map(|_| {
            (0..k)
                .map(|_| rng.gen_range(0..1u32 << b_in) as u8)
                .collect()
        })
        .collect();
    let packed = layout::pack_planes(&input, b_in, k as usize);
    let mut in_off = at;
    w[at..at + packed.len()].copy_from_slice(&packed);
    at = align(at + packed.len());
    let mut count = 0;
    for i in 0..n_layers {
        let n_in = k;
        let gather = rng.gen_bool(gather_pct);
        let (groups, positions) = if gather {
            (rng.gen_range(1..=3u32), rng.gen_range(1..=4u32))
        } else {
            (1, 1)
        };
        // Half the gather layers are im2col: a random map geometry (any
        // stride, padding and position count, so windows may run off the map
        // or repeat) that the controller accepts.
        let mut im2col = None;
        if gather && rng.gen_bool(0.5) {
            let channels = if rng.gen_bool(0.25) {
                4
            } else {
                rng.gen_range(1..=2u32)
            };
            let per_map = n_in / (groups * channels);
            if per_map > 0 {
                let h = rng.gen_range(1..=per_map.min(6));
                let sw_min = u8::from(!rng.gen_bool(0.1));
                let d = LayerDescriptor {
                    in_h: h,
                    in_w: rng.gen_range(1..=per_map / h),
                    kernel_h: rng.gen_range(1..=3),
                    kernel_w: rng.gen_range(1..=3),
                    stride_h: rng.gen_range(0..=2),
                    stride_w: rng.gen_range(sw_min..=2),
                    pad_h: rng.gen_range(0..=2),
                    pad_w: rng.gen_range(0..=2),
                    ..LayerDescriptor::dense(1, 1)
                };
                k = channels * u32::from(d.kernel_h) * u32::from(d.kernel_w);
                im2col = Some(d);
            }
        }
        if gather && im2col.is_none() {
            // Mostly small windows; a quarter of 30..=40 entries, past half the
            // row buffer of the 64-code configurations (the serial schedule).
            k = if rng.gen_bool(0.25) {
                rng.gen_range(30..=40u32)
            } else {
                rng.gen_range(1..=10u32)
            };
        }
        let o = groups * rng.gen_range(1..=(if big { 60 } else { 9 } / groups));
        let readout = i + 1 == n_layers && rng.gen_bool(0.5);
        let bw = rng.gen_range(1..=cfg.weight_bits_max.min(4));
        let b_s = if readout {
            0
        } else if long {
            rng.gen_range(4.min(cfg.spike_bits_max)..=cfg.spike_bits_max)
        } else {
            rng.gen_range(1..=3u8.min(cfg.spike_bits_max))
        };
        let wb = WeightBits::new(u32::from(bw)).unwrap();
        let weights: Vec<i8> = (0..o * k)
            .map(|_| {
                if bw == 1 {
                    if rng.gen_bool(0.5) {
                        1
                    } else {
                        -1
                    }
                } else {
                    rng.gen_range(wb.min_weight()..=wb.max_weight()) as i8
                }
            })
            .collect();
        let wp = layout::pack_weights(&weights, o as usize, k as usize, cfg.cols, wb);
        let w_off = at;
        w[at..at + wp.len()].copy_from_slice(&wp);
        at = align(at + wp.len());
        let p_off = at;
        for _ in 0..o {
            let vals = [
                rng.gen_range(-40..=40i32),
                rng.gen_range(1..=60),
                rng.gen_range(-10..=10),
            ];
            for v in vals {
                w[at..at + 4].copy_from_slice(&v.to_le_bytes());
                at += 4;
            }
        }
        at = align(at);
        let g_off = at;
        if gather && im2col.is_none() {
            for _ in 0..groups * positions * k {
                let e = if rng.gen_bool(0.1) {
                    u32::MAX
                } else {
                    rng.gen_range(0..n_in)
                };
                w[at..at + 4].copy_from_slice(&e.to_le_bytes());
                at += 4;
            }
            at = align(at);
        }
        let neurons = (o * positions) as usize;
        let out_off = at;
        // A third of the one-word-plane spiking layers write strided planes
        // (one DMA command each, docs/formats.md): a stride of one beat (a
        // gap after each plane with 128-bit beats), and up to one destination
        // plane more per step than b_s. The next layer reads the whole interleaved region, the
        // window's garbage in the gaps included, as its input.
        let plane_words = neurons.div_ceil(64) as u32;
        let beat_words = (cfg.axi_data_bytes / 8) as u32;
        let (out_stride, out_step_planes) = if !readout && plane_words == 1 && rng.gen_bool(0.35) {
            // One beat: the next layer's fan-in stays within the small
            // configurations' weight banks (64 codes).
            let stride = beat_words;
            let planes = (b_s + rng.gen_range(0..=1u8)).min(cfg.spike_bits_max.min(4));
            (stride, planes)
        } else {
            (0, 0)
        };
        let out_bytes = if readout {
            neurons * 8
        } else if out_stride != 0 {
            t as usize * usize::from(out_step_planes) * out_stride as usize * 8
        } else {
            layout::planes_bytes(t as usize, b_s, neurons)
        };
        at = align(at + out_bytes);
        let d = LayerDescriptor {
            kind: match (gather, im2col) {
                (_, Some(_)) => LayerKind::Im2col,
                (true, None) => LayerKind::Gather,
                (false, None) => LayerKind::Dense,
            },
            readout,
            static_input: static_input && i == 0,
            hard_reset: rng.gen_bool(0.5),
            leak_shift: if rng.gen_bool(0.5) {
                0
            } else {
                rng.gen_range(1..=3)
            },
            weight_bits: bw,
            input_bits: b_in,
            spike_bits: b_s,
            timesteps: t,
            fan_in: k,
            outputs: o,
            positions,
            groups,
            input_len: n_in,
            weights: w_off as u32,
            params: p_off as u32,
            gather: if gather { g_off as u32 } else { 0 },
            input: in_off as u32,
            output: out_off as u32,
            out_stride,
            out_step_planes,
            // The im2col fields (zero in other layers).
            ..im2col.unwrap_or_else(|| LayerDescriptor::dense(1, 1))
        };
        let dat = desc_off + i * DESCRIPTOR_BYTES;
        w[dat..dat + DESCRIPTOR_BYTES].copy_from_slice(&d.encode());
        count += 1;
        in_off = out_off;
        if out_stride != 0 {
            b_in = out_step_planes;
            k = out_stride * 64;
        } else {
            b_in = b_s;
            k = o * positions;
        }
        if readout {
            break;
        }
    }
    assert!(at <= size, "window too small for the chain");
    (w, desc_off as u32, count)
}

/// 2x3, 64-bit AXI, 8-beat bursts, 1 KiB of weights: buffers small enough
/// that random chains exercise both the double-buffered and the serial
/// schedule, and many bursts.
pub fn config_2x3_64() -> AcceleratorConfig {
    AcceleratorConfig {
        rows: 2,
        cols: 3,
        weight_bits_max: 4,
        spike_bits_max: 4,
        acc_bits: 16,
        membrane_bits: 24,
        axi_data_bytes: 8,
        max_burst_beats: 8,
        wbuf_bytes: 1024,
        abuf_bytes: 2048,
        obuf_bytes: 1024,
        dsp_pes: false,
        spike_pairs: true,
    }
}

pub fn config_4x4_64() -> AcceleratorConfig {
    // R = 4 > S for some layers (idle rows masked); bursts of 4 beats (many bursts
    // per read and per write-back).
    AcceleratorConfig {
        rows: 4,
        cols: 4,
        weight_bits_max: 4,
        spike_bits_max: 3,
        acc_bits: 24,
        membrane_bits: 32,
        axi_data_bytes: 8,
        max_burst_beats: 4,
        wbuf_bytes: 2048,
        abuf_bytes: 4096,
        obuf_bytes: 1024,
        dsp_pes: false,
        spike_pairs: true,
    }
}

/// 2x8, 64-bit AXI, spikes up to 8 bits: `C b_s / 2` cycles of spike writes a
/// beat (two columns a cycle) against `b_s + 3` cycles between a static
/// input's Emits, so that with `b_s >= 2` and `T > SPIKE_QUEUE_DEPTH` the spike
/// queue fills and the core waits for it.
pub fn config_2x8_64() -> AcceleratorConfig {
    AcceleratorConfig {
        rows: 2,
        cols: 8,
        weight_bits_max: 4,
        spike_bits_max: 8,
        acc_bits: 16,
        membrane_bits: 24,
        axi_data_bytes: 8,
        max_burst_beats: 8,
        wbuf_bytes: 2048,
        abuf_bytes: 2048,
        obuf_bytes: 2048,
        dsp_pes: false,
        spike_pairs: true,
    }
}

/// 2x2, 128-bit AXI, 8-bit widths; positions one at a time through the spike
/// queue (`spike_pairs` false).
pub fn config_2x2_128() -> AcceleratorConfig {
    AcceleratorConfig {
        rows: 2,
        cols: 2,
        weight_bits_max: 8,
        spike_bits_max: 8,
        acc_bits: 20,
        membrane_bits: 32,
        axi_data_bytes: 16,
        max_burst_beats: 16,
        wbuf_bytes: 1024,
        abuf_bytes: 2048,
        obuf_bytes: 1024,
        dsp_pes: false,
        spike_pairs: false,
    }
}
