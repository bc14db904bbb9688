//! Whole networks on the Verilator backend (`spikeslice::device::SimDevice`): the
//! generated accelerator shell (register file, DMA, controller, buffers, core) runs
//! compiled programs through its registers and a simulated DDR exactly as a board
//! would, and must give the golden backend's outputs bit for bit (readouts, classes,
//! every layer's spike statistics), the same event counts (PE additions, slices,
//! spikes, bytes written; bytes read = the DMA formula of docs/controller.md), and, with
//! the default fixed-latency DDR, `CNT_CYCLES` equal to
//! the cycle model, `CycleModel::chain_cycles` (whole chains, and per layer where
//! the device runs one descriptor per start).
//!
//! The digit models are the repository's (models/README.md); the random ones
//! come from seeded generators over allocations, dynamics and geometry.

use spikeslice::compiler::{compile, compile_with, Mapping, Program};
use spikeslice::device::{Device, GoldenDevice, Inference, SimDevice};
use spikeslice_core::accel::cycles::CycleModel;
use spikeslice_core::accel::AcceleratorConfig;
use spikeslice_core::random::{self, Architecture};
use spikeslice_sim::ddr::DdrTiming;
use spikeslice_tests::{digits, repository_model};

/// Runs `inputs` on both backends and checks outputs and counts; with a fixed-latency
/// DDR also the cycles against the formula. Returns the sim's inferences.
fn check(dev: &mut SimDevice, program: &Program, inputs: &[Vec<u8>], what: &str) -> Vec<Inference> {
    let want = GoldenDevice.run(program, inputs).unwrap();
    let t = std::time::Instant::now();
    let got = dev
        .run(program, inputs)
        .unwrap_or_else(|e| panic!("{what}: {e:#}"));
    let cfg = program.config;
    let ds = &program.descriptors;
    let fixed = dev.timing.is_fixed();
    let latency = dev.timing.latency_min;
    let base = dev.shell().ddr.base;
    let model = CycleModel::with_latency(cfg, latency);
    let est = model.chain_cycles(ds);
    // The estimate does not count write bursts split at 4 KiB boundaries
    // (`CycleModel::write_split_cycles`; reported): the count must be the estimate, or the
    // estimate plus exactly that.
    let split = model.write_split_cycles(ds, base);
    // A run of a batch counts for all its samples; each sample is given its
    // share (`RunCounts::split`): sample `i` is sample `i % batch` of its run.
    let share = |v: u64, i: usize| spikeslice_core::share(v, program.batch, i % program.batch);
    let exact = |measured: u64, est: u64, split: u64, i: usize| {
        measured == share(est, i) || (split > 0 && measured == share(est + split, i))
    };
    let dma_rd = model.chain_read_bytes(ds, u64::from(program.desc_offset));
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        assert_eq!(g.output, w.output, "{what}: sample {i} differs from golden");
        let (a, b) = (&g.activity, &w.activity);
        assert_eq!(a.pe_adds, b.pe_adds, "{what}: sample {i}: CNT_PE_ADDS");
        assert_eq!(a.slices, b.slices, "{what}: sample {i}: CNT_SLICES");
        assert_eq!(a.spikes, b.spikes, "{what}: sample {i}: CNT_SPIKES");
        assert_eq!(
            a.bytes_written, b.bytes_written,
            "{what}: sample {i}: CNT_DMA_WR"
        );
        assert_eq!(a.neuron_updates, b.neuron_updates, "{what}: sample {i}");
        assert_eq!(
            a.bytes_read,
            share(dma_rd, i),
            "{what}: sample {i}: CNT_DMA_RD"
        );
        let cycles = g.cycles.expect("the sim backend counts cycles");
        if fixed {
            assert!(
                exact(cycles, est, split, i),
                "{what}: sample {i}: CNT_CYCLES {cycles} vs the cycle model's {est} \
                 (latency {latency}, 4 KiB write splits {split})"
            );
            let est = share(est, i);
            let dev_pct = 100.0 * (cycles as f64 - est as f64).abs() / cycles as f64;
            assert!(
                dev_pct < 2.0,
                "{what}: sample {i}: {dev_pct:.2} % from the estimate"
            );
        } else {
            let est = share(est, i);
            assert!(cycles >= est, "{what}: sample {i}: {cycles} < {est}");
        }
        if let Some(lc) = &g.layer_cycles {
            assert_eq!(lc.len(), program.spans.len());
            let la = g.layer_activity.as_ref().expect("per-layer activity");
            let wl = w
                .layer_activity
                .as_ref()
                .expect("golden per-layer activity");
            for (l, span) in program.spans.iter().enumerate() {
                assert_eq!(la[l].pe_adds, wl[l].pe_adds, "{what}: sample {i} layer {l}");
                assert_eq!(la[l].spikes, wl[l].spikes, "{what}: sample {i} layer {l}");
                if fixed {
                    // A layer's run (its descriptors: one, or the parts of a
                    // split output) counts the layer and the Finish cycle.
                    let one = &ds[span.clone()];
                    let e = model.chain_cycles(one) - 1;
                    let sp = model.write_split_cycles(one, base);
                    assert!(
                        exact(lc[l], e, sp, i),
                        "{what}: sample {i} layer {l}: {} cycles, estimate {e} (+{sp})",
                        lc[l]
                    );
                }
            }
        }
    }
    let n = inputs.len().max(1) as u64;
    eprintln!(
        "{what}: {} samples, {} cycles each, {:.2} s",
        inputs.len(),
        got.iter().map(|g| g.cycles.unwrap_or(0)).sum::<u64>() / n,
        t.elapsed().as_secs_f64()
    );
    got
}

#[test]
fn digit_models_run_bit_exact_on_the_verilated_shell() {
    let config = AcceleratorConfig::default();
    let mut dev = SimDevice::open(&config).unwrap();
    for name in ["mnist-mlp.json", "mnist-cnn.json"] {
        let model = repository_model(name);
        let program = compile(&model, &config).unwrap();
        let xs = digits(&model, 12);
        check(&mut dev, &program, &xs, name);
        // The same under seeded random DDR latency and valid/ready backpressure:
        // outputs and counts must not change, cycles only grow.
        dev.timing = DdrTiming::random(7, 20, 80);
        check(
            &mut dev,
            &program,
            &xs[..3],
            &format!("{name}, random DDR timing"),
        );
        dev.timing = DdrTiming::default();
    }
}

/// Networks imported from NIR graphs (train/tests/fixtures/nir, written by the
/// reference `nir` package): a conv net with sum pooling into 3-bit spikes and
/// an MLP whose spiking last layer became the readout, at two allocations,
/// on random inputs, with fixed and random DDR timing.
#[test]
fn imported_nir_networks_run_bit_exact_on_the_verilated_shell() {
    use rand::{Rng, SeedableRng};
    use spikeslice_train::nir::{self, ImportOptions, NirReset};
    let config = AcceleratorConfig::default();
    let mut dev = SimDevice::open(&config).unwrap();
    let mut rng = rand::rngs::StdRng::seed_from_u64(15);
    for (fixture, alloc, reset) in [
        ("cnn-sumpool", "4/1/3", NirReset::Zero),
        ("mlp-if", "3/2/4", NirReset::Subtract),
    ] {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../train/tests/fixtures/nir")
            .join(format!("{fixture}.nir"));
        let opts = ImportOptions {
            alloc: alloc.parse().unwrap(),
            input_bits: 2,
            input_scale: 1.0,
            dt: 1e-3,
            reset,
            name: fixture.into(),
        };
        let model = nir::import(&path, &opts).unwrap().model;
        let program = compile(&model, &config).unwrap();
        let xs: Vec<Vec<u8>> = (0..4)
            .map(|_| {
                (0..model.input_len())
                    .map(|_| rng.gen_range(0..4))
                    .collect()
            })
            .collect();
        let what = format!("{fixture} at {alloc}");
        check(&mut dev, &program, &xs, &what);
        dev.timing = DdrTiming::random(rng.gen(), 10, 60);
        check(
            &mut dev,
            &program,
            &xs[..2],
            &format!("{what}, random DDR timing"),
        );
        dev.timing = DdrTiming::default();
    }
}

/// A 4x4 array (many tiles per layer) with the widest datapath: random models
/// may need it.
fn wide_4x4() -> AcceleratorConfig {
    AcceleratorConfig {
        rows: 4,
        cols: 4,
        acc_bits: 32,
        membrane_bits: 48,
        ..Default::default()
    }
}

#[test]
fn random_networks_at_many_allocations_run_bit_exact() {
    let config = wide_4x4();
    let mut dev = SimDevice::open(&config).unwrap();
    for seed in 0..32u64 {
        let arch = if seed % 2 == 0 {
            Architecture::Mlp
        } else {
            Architecture::Conv
        };
        let mut rng = random::rng(0x5EED + seed);
        let model = random::model(&mut rng, arch);
        check_seeded(
            &mut dev,
            &config,
            &model,
            &mut rng,
            seed,
            &format!("seed {seed} ({arch:?})"),
        );
    }
}

/// `model` compiled for `config` (the device's) and run on three random inputs
/// from `rng`, checked by [`check`]: every fourth seed per layer (one start per
/// descriptor), every fourth under random latency and backpressure, the rest
/// whole chains at a fixed latency. Returns the inputs and the sim's inferences.
fn check_seeded(
    dev: &mut SimDevice,
    config: &AcceleratorConfig,
    model: &spikeslice_core::model::Model,
    rng: &mut impl rand::Rng,
    seed: u64,
    what: &str,
) -> (Vec<Vec<u8>>, Vec<Inference>) {
    let program = compile(model, config)
        .unwrap_or_else(|e| panic!("{what}: the random model does not compile: {e}"));
    check_compiled(dev, &program, rng, seed, what)
}

/// [`check_seeded`] of a program already compiled for the device.
fn check_compiled(
    dev: &mut SimDevice,
    program: &Program,
    rng: &mut impl rand::Rng,
    seed: u64,
    what: &str,
) -> (Vec<Vec<u8>>, Vec<Inference>) {
    let model = &program.model;
    let bits = model.spec.input.bits.get();
    let xs: Vec<Vec<u8>> = (0..3)
        .map(|_| random::spikes(rng, model.input_len(), bits, 0.5))
        .collect();
    dev.per_layer = seed % 4 == 1;
    dev.timing = if seed % 4 == 3 {
        DdrTiming::random(seed, 5, 60)
    } else {
        DdrTiming::fixed(40)
    };
    let got = check(dev, program, &xs, what);
    (xs, got)
}

/// The first `want` random models from `make` (one seed after another from
/// `seed_base`) whose program for `config` `keep` accepts, each checked by
/// [`check_compiled`] on one device; fails when fewer than `want` of 64 seeds
/// are kept.
fn check_kept_random_nets(
    config: &AcceleratorConfig,
    seed_base: u64,
    want: u64,
    make: impl Fn(&mut spikeslice_core::random::TestRng, u64) -> (spikeslice_core::model::Model, String),
    keep: impl Fn(&Program) -> bool,
) {
    let mut dev = SimDevice::open(config).unwrap();
    let mut ran = 0;
    for seed in 0..64u64 {
        let mut rng = random::rng(seed_base + seed);
        let (model, what) = make(&mut rng, seed);
        match compile(&model, config) {
            Ok(program) if keep(&program) => {
                check_compiled(&mut dev, &program, &mut rng, ran, &what);
                ran += 1;
            }
            _ => continue,
        }
        if ran == want {
            return;
        }
    }
    panic!("only {ran} of 64 random nets kept, {want} wanted");
}

/// Residual networks (Spiking ResNet shortcuts and SEW adds) on the shell:
/// their producers write strided planes into concatenations, their readers
/// gather from them (docs/architecture.md, "Residual connections").
#[test]
fn random_residual_networks_run_bit_exact() {
    let config = wide_4x4();
    let mut dev = SimDevice::open(&config).unwrap();
    for seed in 0..16u64 {
        let mut rng = random::rng(0x2E5 + seed);
        let model = random::residual_model(&mut rng);
        let what = format!("residual seed {seed}");
        let (xs, got) = check_seeded(&mut dev, &config, &model, &mut rng, seed, &what);
        for (x, g) in xs.iter().zip(&got) {
            assert_eq!(
                g.output,
                spikeslice_core::golden::run_sample(
                    &model,
                    x,
                    spikeslice_core::golden::Engine::Packed
                ),
                "residual seed {seed}: the golden model"
            );
        }
    }
}

/// The PEs' accumulators in DSP48E2 slices (`dsp_pes`, the simulation model
/// of the primitive in the generated Verilog): a 3x4 array of 24-bit
/// accumulators, two PEs per slice in its first row pair and one in its last
/// row, random networks bit-exact with the same backpressure and checks.
#[test]
fn random_networks_run_bit_exact_with_pes_in_dsp_slices() {
    let config = AcceleratorConfig {
        rows: 3,
        acc_bits: 24,
        dsp_pes: true,
        ..wide_4x4()
    };
    // Random widths may need wider accumulators than 24 bits: those do not
    // compile and are not kept.
    let make = |rng: &mut _, seed: u64| {
        let arch = [Architecture::Mlp, Architecture::Conv][seed as usize % 2];
        (
            random::model(rng, arch),
            format!("dsp seed {seed} ({arch:?})"),
        )
    };
    check_kept_random_nets(&config, 0xD5B, 12, make, |_| true);
}

/// Layers whose output does not fit the output buffer run as several
/// descriptors, one per range of output channels, each writing its part of
/// every plane strided (docs/architecture.md, "Split outputs"): random wide
/// conv nets on a shell with a 1 KiB output buffer, bit-exact, per layer and
/// under random DDR timing as the other random networks.
#[test]
fn random_split_networks_run_bit_exact() {
    let config = AcceleratorConfig {
        obuf_bytes: 1024,
        ..wide_4x4()
    };
    let make = |rng: &mut _, seed: u64| {
        (
            random::model(rng, Architecture::Wide),
            format!("split seed {seed}"),
        )
    };
    // Models whose every layer fits whole, or of which not even one channel
    // fits, do not test the split.
    let splits = |p: &Program| p.descriptors.len() > p.model.layers.len();
    check_kept_random_nets(&config, 0x5B17, 8, make, splits);
}

/// Batches (docs/architecture.md, "Batches"): the MNIST MLP in runs of 8
/// digits (a full run and a zero-padded last one), and random MLPs and conv
/// nets in runs of 2 to 4 samples, whole chains, per layer and under random
/// DDR latency and backpressure, each sample as the golden backend computes
/// it alone, each run's counts as the cycle model predicts them.
#[test]
fn batches_run_bit_exact_on_the_verilated_shell() {
    fn batched(
        model: &spikeslice_core::model::Model,
        config: &AcceleratorConfig,
        batch: usize,
    ) -> Program {
        let mapping = Mapping {
            batch,
            ..Mapping::default()
        };
        compile_with(model, config, mapping).unwrap_or_else(|e| panic!("batch {batch}: {e}"))
    }
    let config = AcceleratorConfig::default();
    let mut dev = SimDevice::open(&config).unwrap();
    let model = repository_model("mnist-mlp.json");
    let xs = digits(&model, 11);
    let program = batched(&model, &config, 8);
    let got = check(&mut dev, &program, &xs, "mnist-mlp, runs of 8");
    let alone = dev
        .run(&compile(&model, &config).unwrap(), &xs[..1])
        .unwrap();
    assert!(
        got[0].cycles < alone[0].cycles,
        "a batch costs a sample less"
    );
    dev.timing = DdrTiming::random(11, 20, 80);
    check(
        &mut dev,
        &program,
        &xs[..3],
        "mnist-mlp, runs of 8, random DDR timing",
    );

    let config = wide_4x4();
    let mut dev = SimDevice::open(&config).unwrap();
    for seed in 0..6u64 {
        let arch = if seed % 2 == 0 {
            Architecture::Mlp
        } else {
            Architecture::Conv
        };
        let mut rng = random::rng(0xBA7 + seed);
        let model = random::model(&mut rng, arch);
        let program = batched(&model, &config, 2 + seed as usize % 3);
        check_compiled(
            &mut dev,
            &program,
            &mut rng,
            seed,
            &format!("batch, seed {seed} ({arch:?})"),
        );
    }
}

/// The share of the 8x8 array's PE-cycles that add on `n` digits of the
/// repository's `name` network compiled with `mapping`, counted by the shell
/// (`CNT_CYCLES`) against the synapses' work.
fn shell_utilization(name: &str, mapping: Mapping, n: usize) -> f64 {
    let config = AcceleratorConfig::default();
    let mut dev = SimDevice::open(&config).unwrap();
    let model = repository_model(name);
    let program = compile_with(&model, &config, mapping).unwrap();
    let got = dev.run(&program, &digits(&model, n)).unwrap();
    let cycles: u64 = got.iter().map(|g| g.cycles.unwrap()).sum();
    let ideal = program.predict(&CycleModel::new(config)).1.ideal * n as u64;
    ideal as f64 / cycles as f64
}

/// The utilization target of docs/performance.md ("Batches"): the MNIST MLP
/// in runs of 16 digits keeps at least 90% of the 8x8 array's PE-cycles
/// adding.
#[test]
fn the_mnist_mlp_in_runs_of_16_keeps_90_percent_of_the_pes_busy() {
    let mapping = Mapping {
        batch: 16,
        ..Mapping::default()
    };
    let utilization = shell_utilization("mnist-mlp.json", mapping, 16);
    assert!(
        utilization >= 0.90,
        "{:.1}% of the PE-cycles",
        100.0 * utilization
    );
}

/// The utilization target of docs/performance.md ("Whole networks on the
/// accelerator shell"): the MNIST conv net, one image a run, keeps at least 75%
/// of the 8x8 array's PE-cycles adding (conv1's positions go in pairs through
/// the spike queue, whose writes bound it otherwise).
#[test]
fn the_mnist_conv_net_keeps_75_percent_of_the_pes_busy() {
    let utilization = shell_utilization("mnist-cnn.json", Mapping::default(), 2);
    assert!(
        utilization >= 0.75,
        "{:.1}% of the PE-cycles",
        100.0 * utilization
    );
}

#[test]
fn per_layer_runs_add_up_to_the_whole_chain() {
    let config = wide_4x4();
    let mut dev = SimDevice::open(&config).unwrap();
    let mut rng = random::rng(0xADD);
    let model = random::model(&mut rng, Architecture::Conv);
    let program = compile(&model, &config).unwrap();
    let xs = vec![random::spikes(
        &mut rng,
        model.input_len(),
        model.spec.input.bits.get(),
        0.5,
    )];
    let whole = check(&mut dev, &program, &xs, "whole chain");
    dev.per_layer = true;
    let layers = check(&mut dev, &program, &xs, "per layer");
    assert_eq!(whole[0].output, layers[0].output);
    assert_eq!(whole[0].activity, layers[0].activity);
    assert_eq!(whole[0].cycles, layers[0].cycles);
}

/// The analytic cycle model (core/src/accel/cycles/) against the shell's counter,
/// within the 2 % target, on the digit models with the model's default DDR latency.
#[test]
fn cycle_model_is_within_two_percent_of_the_shell() {
    let config = AcceleratorConfig::default();
    let mut dev = SimDevice::open(&config).unwrap();
    let model_cfg = CycleModel::new(config);
    dev.timing = DdrTiming::fixed(model_cfg.dma.latency);
    for name in ["mnist-mlp.json", "mnist-cnn.json"] {
        let model = repository_model(name);
        let program = compile(&model, &config).unwrap();
        let got = dev.run(&program, &digits(&model, 1)).unwrap();
        let measured = got[0].cycles.unwrap();
        let (_, total) = model_cfg.chain(&program.descriptors, u64::from(program.desc_offset));
        let dev_pct = 100.0 * (total.total as f64 - measured as f64).abs() / measured as f64;
        assert!(
            dev_pct <= 2.0,
            "{name}: CycleModel::chain predicts {} cycles, the shell counted {measured} ({dev_pct:.2} %)",
            total.total
        );
    }
}

#[test]
fn a_program_for_another_array_is_refused() {
    let config = AcceleratorConfig::default();
    let mut dev = SimDevice::open(&config).unwrap();
    let model = repository_model("mnist-mlp.json");
    let other = AcceleratorConfig { rows: 4, ..config };
    let program = compile(&model, &other).unwrap();
    let e = format!("{:#}", dev.run(&program, &digits(&model, 1)).unwrap_err());
    assert!(e.contains("--rows 4 (8 on the other)"), "{e}");
}
