//! Bit-exact equivalence of the Verilated compute core with the golden model
//! (`MatmulLayer::run`): every spike of every timestep and every final membrane, under
//! seeded random valid/ready backpressure on every stream.
//!
//! * `ci_subset`: a representative subset (few array shapes, so few Verilator builds;
//!   builds are cached by manifest hash in `$SPIKESLICE_CACHE` or
//!   target/spikeslice-sim-cache).
//! * `kept_parameters_and_spikes_only`: a tile's runs as the shell starts them, the
//!   parameters kept after the first (`keep_params`), membranes left out at random
//!   (`spikes_only`); cycles checked against the cycle model where unstalled.
//! * `soak` (`--ignored`): thousands of cases over all shapes.
//! * `replay`: re-runs one case: `SPIKESLICE_SEED=<seed> SPIKESLICE_SHAPE=RxC cargo test
//!   -p spikeslice-tests --test integration equivalence::replay -- --ignored --nocapture`; add
//!   `SPIKESLICE_TRACE=out.fst` for its waveform, and `SPIKESLICE_CORE=halves,prefetch,dsp`
//!   (any of them) for a core with those generator options.
//! * `waveform_on_demand`: a traced build writes an FST file of a run.

use rand::Rng;
use spikeslice_core::accel::cycles::{run_cycles, TileShape};
use spikeslice_core::golden::{LayerOutput, MatmulLayer};
use spikeslice_core::random;
use spikeslice_hdl::ArrayConfig;
use spikeslice_sim::{compare_with_golden, Backpressure, CoreSim, RunFlags, SimOptions};
use std::collections::HashMap;

/// One random case, fully determined by its seed (and the array shape).
fn case(seed: u64, rows: usize, cols: usize, max_k: usize) -> (MatmulLayer, Vec<Vec<u8>>) {
    let mut rng = random::rng(seed);
    let weight_bits = rng.gen_range(1..=8u8);
    let input_bits = rng.gen_range(1..=8u8);
    let t = rng.gen_range(1..=16usize);
    // Sizes around the array: multiples and non-multiples of R and C.
    let outputs = match rng.gen_range(0..3) {
        0 => cols * rng.gen_range(1..=2),
        1 => rng.gen_range(1..=2 * cols + 1),
        _ => cols + 1,
    };
    // Fan-ins up to R make chunks shorter than the drain before them, which
    // holds their last beat.
    let inputs = match rng.gen_range(0..4) {
        0 => rows * rng.gen_range(1..=3),
        1 => rng.gen_range(1..=rows),
        _ => rng.gen_range(1..=max_k),
    };
    let output = if rng.gen_bool(0.2) {
        LayerOutput::Membrane
    } else {
        LayerOutput::Spikes {
            bits: rng.gen_range(1..=8),
        }
    };
    let layer = random::matmul_layer(&mut rng, outputs, inputs, weight_bits, input_bits, output);
    let density = rng.gen_range(0.1..0.9);
    let xs = (0..t)
        .map(|_| random::spikes(&mut rng, inputs, input_bits, density))
        .collect();
    (layer, xs)
}

/// Simulators by shape, built once from `base` (its rows and columns
/// replaced); traced ones when `trace` is set.
struct Sims(
    HashMap<(usize, usize), CoreSim>,
    Option<std::path::PathBuf>,
    ArrayConfig,
);

impl Sims {
    fn new() -> Self {
        Self::of(ArrayConfig::default())
    }

    /// Simulators of `base`'s generator options (its rows and columns are
    /// each shape's).
    fn of(base: ArrayConfig) -> Self {
        Sims(HashMap::new(), None, base)
    }

    fn get(&mut self, rows: usize, cols: usize) -> &mut CoreSim {
        let trace = self.1.clone();
        let config = ArrayConfig {
            rows,
            cols,
            ..self.2.clone()
        };
        self.0.entry((rows, cols)).or_insert_with(|| {
            let t0 = std::time::Instant::now();
            let options = SimOptions {
                trace: trace.is_some(),
                ..SimOptions::default()
            };
            let mut sim = CoreSim::build(&config, &options)
                .unwrap_or_else(|e| panic!("building the {rows}x{cols} simulator: {e}"));
            if let Some(path) = &trace {
                sim.verilated
                    .trace_to(path)
                    .unwrap_or_else(|e| panic!("tracing to {}: {e}", path.display()));
            }
            eprintln!(
                "{rows}x{cols}: {} in {:.1?}",
                if sim.verilated.built {
                    "built"
                } else {
                    "cached"
                },
                t0.elapsed()
            );
            sim
        })
    }
}

/// Runs one case; on a mismatch, panics with the seed and the replay command.
fn check(sims: &mut Sims, seed: u64, rows: usize, cols: usize) {
    let (layer, mut xs) = case(seed, rows, cols, 70);
    // A third of the cases is a static input (direct encoding): the first
    // timestep's input at every timestep, streamed once by the core.
    let static_input = seed % 3 == 1;
    if static_input {
        xs = vec![xs[0].clone(); xs.len()];
    }
    let want = layer.run(&xs);
    let options = core_options(&sims.2);
    let sim = sims.get(rows, cols);
    let replay = format!(
        "SPIKESLICE_SEED={seed} SPIKESLICE_SHAPE={rows}x{cols}{} cargo test -p spikeslice-tests --test integration equivalence::replay -- --ignored --nocapture",
        if options.is_empty() {
            String::new()
        } else {
            format!(" SPIKESLICE_CORE={options}")
        }
    );
    let bp = Backpressure::random(seed);
    let got = if static_input {
        sim.run_layer_static(&layer, &xs[0], xs.len(), bp)
    } else {
        sim.run_layer(&layer, &xs, bp)
    }
    .unwrap_or_else(|e| panic!("seed {seed} on {rows}x{cols}: {e}\nreplay: {replay}"));
    let what = format!(
        "seed {seed} on {rows}x{cols} {options}: O={} K={} b_w={} b_in={} T={} static {static_input} {:?} {:?} {:?}",
        layer.outputs,
        layer.inputs,
        layer.weight_bits,
        layer.input_bits,
        xs.len(),
        layer.neurons.output,
        layer.neurons.dynamics,
        layer.neurons.reset
    );
    if let Err(e) = compare_with_golden(&got.trace, &want) {
        panic!("{e}: {what}\nreplay: {replay}");
    }
}

/// The generator options of `cfg` a replay names (`SPIKESLICE_CORE`).
fn core_options(cfg: &ArrayConfig) -> String {
    [
        (cfg.fanin_halves, "halves"),
        (cfg.param_prefetch, "prefetch"),
        (cfg.dsp_pes, "dsp"),
    ]
    .iter()
    .filter(|(set, _)| *set)
    .map(|(_, name)| *name)
    .collect::<Vec<_>>()
    .join(",")
}

fn run_cases(shapes: &[(usize, usize)], per_shape: u64, base: u64) {
    run_cases_on(Sims::new(), shapes, per_shape, base);
}

fn run_cases_on(mut sims: Sims, shapes: &[(usize, usize)], per_shape: u64, base: u64) {
    for &(r, c) in shapes {
        for i in 0..per_shape {
            check(
                &mut sims,
                base + (r * 1000 + c) as u64 * 1_000_000 + i,
                r,
                c,
            );
        }
    }
}

#[test]
fn ci_subset() {
    run_cases(&[(1, 1), (4, 4), (3, 5), (8, 8)], 25, 0);
}

/// The PEs in DSP48E2 slices (hdl/src/pe_dsp.rs, with the primitive's
/// simulation model): two 24-bit lanes a slice, and one 48-bit lane at 32-bit
/// accumulators, on an odd column count (a slice of one PE at the right).
#[test]
fn ci_subset_pes_in_dsp_slices() {
    for acc_bits in [24, 32] {
        let sims = Sims::of(ArrayConfig {
            acc_bits,
            dsp_pes: true,
            ..ArrayConfig::default()
        });
        run_cases_on(sims, &[(3, 5)], 12, 9_000_000_000 + u64::from(acc_bits));
    }
}

/// A tile's later runs as the shell starts them (a gather layer's next
/// positions): the parameters kept from the tile's first run (`keep_params`),
/// and spiking runs ending without their membranes (`spikes_only`, at random).
/// Each run's spikes (and membranes, where sent) equal the golden model's on
/// its own input, under random backpressure; without backpressure its cycles
/// are the cycle model's ([`run_cycles`], with or without kept parameters).
#[test]
fn kept_parameters_and_spikes_only() {
    let mut sims = Sims::new();
    for &(rows, cols) in &[(4, 4), (3, 5), (8, 8)] {
        for seed in 0..8u64 {
            let mut rng = random::rng(0x6E7 + 100 * seed + (rows * cols) as u64);
            let (weight_bits, input_bits) = (rng.gen_range(1..=8u8), rng.gen_range(1..=8u8));
            let output = if rng.gen_bool(0.25) {
                LayerOutput::Membrane
            } else {
                LayerOutput::Spikes {
                    bits: rng.gen_range(1..=8),
                }
            };
            let (outputs, inputs) = (rng.gen_range(1..=cols), rng.gen_range(1..=60usize));
            let layer =
                random::matmul_layer(&mut rng, outputs, inputs, weight_bits, input_bits, output);
            let t = rng.gen_range(1..=6usize);
            let static_input = rng.gen_bool(0.3);
            // A static input is streamed once and integrated T times.
            let (streamed, repeats) = if static_input { (1, t) } else { (t, 1) };
            let sim = sims.get(rows, cols);
            for position in 0..rng.gen_range(2..=4) {
                let xs: Vec<Vec<u8>> = (0..streamed)
                    .map(|_| random::spikes(&mut rng, inputs, input_bits, 0.5))
                    .collect();
                let timesteps = if static_input {
                    vec![xs[0].clone(); t]
                } else {
                    xs.clone()
                };
                let want = layer.run(&timesteps);
                let flags = RunFlags {
                    keep_params: position > 0,
                    spikes_only: rng.gen_bool(0.5),
                };
                // Every other run timed, the first of a tile in half the cases.
                let timed = (position + seed) % 2 == 1;
                let bp = if timed {
                    Backpressure::none()
                } else {
                    Backpressure::random(seed * 16 + position)
                };
                let what = format!(
                    "{rows}x{cols} seed {seed} position {position}: O={outputs} K={inputs} \
                     b_in={input_bits} T={t} static {static_input} {output:?} {flags:?}"
                );
                let got = sim
                    .run_with(&layer, &xs, repeats, flags, bp)
                    .unwrap_or_else(|e| panic!("{what}: {e}"));
                assert_eq!(got.trace.spikes, want.spikes, "{what}: spikes");
                if !flags.spikes_only || output == LayerOutput::Membrane {
                    assert_eq!(got.trace.membrane, want.membrane, "{what}: membranes");
                }
                if timed {
                    let shape = TileShape::of_layer(&layer, t, static_input);
                    let (r, c) = (rows as u64, cols as u64);
                    let model = run_cycles(&shape, r, c, flags.spikes_only, flags.keep_params);
                    assert_eq!(got.cycles, model, "{what}: cycles");
                }
            }
        }
    }
}

/// The fan-in in halves (the lower rows on the second half of the inputs,
/// from a second weight stream; the drain adds each pair of rows) and the
/// parameter prefetch (a tile's parameters shifted in while the last tile
/// finishes), alone and together, with fabric and DSP PEs.
#[test]
fn ci_subset_fanin_halves_and_parameter_prefetch() {
    for (i, &(rows, cols, fanin_halves, param_prefetch, dsp_pes)) in [
        (4, 4, true, true, false),
        (3, 5, false, true, false),
        (4, 3, true, false, true),
    ]
    .iter()
    .enumerate()
    {
        let sims = Sims::of(ArrayConfig {
            fanin_halves,
            param_prefetch,
            dsp_pes,
            ..ArrayConfig::default()
        });
        run_cases_on(
            sims,
            &[(rows, cols)],
            16,
            9_100_000_000 + 100_000_000 * i as u64,
        );
    }
}

/// With the parameter prefetch the next tile's parameters are shifted in
/// while the last tile's drain and neuron steps go on: layers where that
/// overlap is longest (1-bit input slices, so every row of a chunk starts a
/// timestep and waits for the neuron steps of the one before; 8-bit output
/// spikes, the slowest neuron steps; several tiles), with and without
/// backpressure, on every prefetching configuration above.
#[test]
fn prefetched_parameters_leave_the_last_tile_its_own() {
    for (rows, cols, fanin_halves) in [(4, 4, true), (3, 5, false), (16, 16, true)] {
        let cfg = ArrayConfig {
            rows,
            cols,
            fanin_halves,
            param_prefetch: true,
            ..ArrayConfig::default()
        };
        let mut sims = Sims::of(cfg.clone());
        let sim = sims.get(rows, cols);
        for seed in 0..6u64 {
            let mut rng = random::rng(0x9AE + 10 * seed + rows as u64);
            let (outputs, inputs) = (cols * 2 + 1, rng.gen_range(1..=40usize));
            let t = cfg.chunk_rows() * rng.gen_range(1..=2) + rng.gen_range(0..2);
            let output = LayerOutput::Spikes { bits: 8 };
            let wb = rng.gen_range(1..=8u8);
            let layer = random::matmul_layer(&mut rng, outputs, inputs, wb, 1, output);
            let xs: Vec<Vec<u8>> = (0..t)
                .map(|_| random::spikes(&mut rng, inputs, 1, 0.5))
                .collect();
            let bp = if seed % 2 == 0 {
                Backpressure::none()
            } else {
                Backpressure::random(seed)
            };
            let what = format!(
                "{rows}x{cols} {} seed {seed}: O={outputs} K={inputs} b_w={wb} T={t}",
                core_options(&cfg)
            );
            let got = sim
                .run_layer(&layer, &xs, bp)
                .unwrap_or_else(|e| panic!("{what}: {e}"));
            if let Err(e) = compare_with_golden(&got.trace, &layer.run(&xs)) {
                panic!("{e}: {what}");
            }
        }
    }
}

/// The 16x16 array as the dense-tile utilization target runs it: the fan-in
/// in halves and the parameter prefetch (docs/performance.md, "Utilization").
#[test]
fn ci_subset_16x16() {
    let sims = Sims::of(ArrayConfig {
        fanin_halves: true,
        param_prefetch: true,
        ..ArrayConfig::default()
    });
    run_cases_on(sims, &[(16, 16)], 6, 0);
}

#[test]
#[ignore = "soak: thousands of cases, run with --ignored"]
fn soak() {
    let n: u64 = std::env::var("SPIKESLICE_SOAK_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(500);
    run_cases(
        &[(1, 1), (4, 4), (3, 5), (8, 8), (16, 16), (5, 2)],
        n,
        7_000_000_000,
    );
}

#[test]
#[ignore = "replays one case: set SPIKESLICE_SEED and SPIKESLICE_SHAPE"]
fn replay() {
    let seed = std::env::var("SPIKESLICE_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .expect("set SPIKESLICE_SEED (and SPIKESLICE_SHAPE=RxC) to replay a case");
    let shape = std::env::var("SPIKESLICE_SHAPE").unwrap_or_else(|_| "4x4".into());
    let (r, c) = shape
        .split_once('x')
        .and_then(|(r, c)| Some((r.parse().ok()?, c.parse().ok()?)))
        .expect("SPIKESLICE_SHAPE must look like 4x4");
    let mut sims = Sims::new();
    sims.1 = std::env::var_os("SPIKESLICE_TRACE").map(Into::into);
    let options = std::env::var("SPIKESLICE_CORE").unwrap_or_default();
    for option in options.split(',').filter(|o| !o.is_empty()) {
        match option {
            "halves" => sims.2.fanin_halves = true,
            "prefetch" => sims.2.param_prefetch = true,
            "dsp" => sims.2.dsp_pes = true,
            other => panic!("SPIKESLICE_CORE: {other:?} is none of halves, prefetch, dsp"),
        }
    }
    check(&mut sims, seed, r, c);
    eprintln!("seed {seed} on {r}x{c}: equal");
}

/// Waveforms on demand: a traced build of a small core writes a non-trivial
/// FST file while it runs a case that still matches the golden model.
#[test]
fn waveform_on_demand() {
    let dir = tempfile::tempdir().unwrap();
    let fst = dir.path().join("case.fst");
    let mut sims = Sims::new();
    sims.1 = Some(fst.clone());
    check(&mut sims, 42, 2, 2);
    drop(sims); // closes the trace
    let bytes = std::fs::metadata(&fst).map(|m| m.len()).unwrap_or(0);
    assert!(bytes > 1000, "the FST file has {bytes} bytes");
}
