//! The compiler and the program path: a compiled program run by the
//! accelerator's functional model equals the golden model, for random models
//! on random configurations; models that do not fit get clear errors.

use proptest::prelude::*;
use spikeslice::compiler::{compile, CompileError, Program};
use spikeslice::device::{Device, GoldenDevice};
use spikeslice_core::accel::descriptor::{field, DescriptorError, LayerKind};
use spikeslice_core::accel::functional;
use spikeslice_core::accel::regmap::ErrorCode;
use spikeslice_core::accel::AcceleratorConfig;
use spikeslice_core::golden::{self, Engine};
use spikeslice_core::random::{self, Architecture};

fn config(rows: usize, cols: usize) -> AcceleratorConfig {
    AcceleratorConfig {
        rows,
        cols,
        acc_bits: 32,
        membrane_bits: 48,
        ..Default::default()
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(40))]

    #[test]
    fn programs_compute_the_golden_numbers(seed in any::<u64>(), conv in any::<bool>(),
                                           rows in 1usize..17, cols in 1usize..17) {
        let mut rng = random::rng(seed);
        let model = random::model(&mut rng, if conv { Architecture::Conv } else { Architecture::Mlp });
        let program = compile(&model, &config(rows, cols)).unwrap();
        // The layer reading the network's input reads it as a static input.
        prop_assert!(program.descriptors.iter().enumerate().all(|(i, d)| d.static_input == (i == 0)));
        let bits = model.spec.input.bits.get();
        let xs: Vec<Vec<u8>> = (0..3).map(|_| random::spikes(&mut rng, model.input_len(), bits, 0.5)).collect();
        let got = GoldenDevice.run(&program, &xs).unwrap();
        for (x, g) in xs.iter().zip(&got) {
            let want = golden::run_sample(&model, x, Engine::Direct);
            prop_assert_eq!(&g.output, &want);
            // Every layer reads T*b_in slices per position and group (the first,
            // whose input is static, b_in: its current is computed once), and
            // adds a weight per set bit per output reading it, in the layer as
            // the compiler lowered it (merged groups add their zero weights too).
            let trace = golden::trace(&model, x, Engine::Direct);
            let mut inputs = vec![x.clone()];
            let mut adds = 0;
            for ((l, tr), &m) in model.layers.iter().zip(&trace.layers).zip(&program.merged_groups) {
                let lowered = l.merge_groups(m).unwrap_or_else(|| l.clone());
                adds += functional::pe_adds(&lowered, &inputs);
                inputs = tr.spikes.clone();
            }
            prop_assert_eq!(g.activity.pe_adds, adds);
            let spikes: u64 = want.layers.iter().map(|s| s.spike_sum).sum();
            prop_assert_eq!(g.activity.spikes, spikes);
        }
        prop_assert!(per_descriptor_path_agrees(&program, &xs[0]));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// A batched program computes each sample as the golden model does alone,
    /// however many samples a run holds and however many are left for the
    /// last, zero-padded run (docs/architecture.md, "Batches").
    #[test]
    fn batched_programs_compute_each_sample_golden(seed in any::<u64>(), conv in any::<bool>(),
                                                   rows in 1usize..9, cols in 1usize..9,
                                                   batch in 2usize..6, samples in 1usize..9) {
        let mut rng = random::rng(seed);
        let model = random::model(&mut rng, if conv { Architecture::Conv } else { Architecture::Mlp });
        let program = in_runs_of(&model, &config(rows, cols), batch).unwrap();
        prop_assert_eq!(program.batch, batch);
        let bits = model.spec.input.bits.get();
        let xs: Vec<Vec<u8>> = (0..samples).map(|_| random::spikes(&mut rng, model.input_len(), bits, 0.5)).collect();
        let got = GoldenDevice.run(&program, &xs).unwrap();
        prop_assert_eq!(got.len(), samples);
        for (x, g) in xs.iter().zip(&got) {
            prop_assert_eq!(&g.output, &golden::run_sample(&model, x, Engine::Direct));
        }
        prop_assert!(per_descriptor_path_agrees(&program, &xs[0]));
    }
}

/// A batch of the MNIST MLP runs its dense layers as 1 x 1 convolutions over
/// the samples, their gather rows made on chip (no table in the image), and
/// costs each sample fewer cycles than a run of its own: the layers' fixed
/// costs and the tiles' loads are paid once per batch.
#[test]
fn a_batch_of_dense_layers_needs_no_table_and_fewer_cycles_a_sample() {
    use spikeslice_core::accel::cycles::CycleModel;
    let model = mnist_mlp();
    let cfg = AcceleratorConfig::default();
    let one = compile(&model, &cfg).unwrap();
    let batch = in_runs_of(&model, &cfg, 16).unwrap();
    assert!(batch
        .descriptors
        .iter()
        .all(|d| d.kind == LayerKind::Im2col));
    assert!(batch.plan.iter().all(|r| !r.name.ends_with(".gather")));
    let cycles = |p: &Program| p.predict(&CycleModel::new(cfg)).1;
    let (alone, shared) = (cycles(&one), cycles(&batch));
    assert!(
        shared.total < alone.total,
        "{} >= {}",
        shared.total,
        alone.total
    );
    assert_eq!(shared.ideal, alone.ideal, "the work a sample asks for");
    assert_eq!(
        batch.data_bytes(),
        one.data_bytes(),
        "the data a sample moves"
    );
    assert!(shared.utilization() > alone.utilization());
}

/// A batch too large for the buffers is refused naming the flag to change.
#[test]
fn a_batch_larger_than_the_buffers_is_refused_naming_the_flag() {
    let model = mnist_mlp();
    let cfg = AcceleratorConfig::default();
    let e = in_runs_of(&model, &cfg, 4096).unwrap_err().to_string();
    // 784 inputs of 64-bit plane words in banks of 2,048 words: 167 digits.
    assert!(e.contains("or run --batch 167 or less"), "{e}");
    assert!(in_runs_of(&model, &cfg, 167).is_ok());
    assert!(in_runs_of(&model, &cfg, 168).is_err());
    let e = in_runs_of(&model, &cfg, 0).unwrap_err().to_string();
    assert!(e.contains("--batch 1 or more"), "{e}");
}

/// The per-descriptor path (decode and check each descriptor just before
/// running it, as the controller does) writes the same window as the chain
/// decoded once, for input `x`.
fn per_descriptor_path_agrees(program: &Program, x: &[u8]) -> bool {
    let mut a = program.image.clone();
    let planes = program.input_planes(&[x.to_vec()]);
    a[program.input.offset as usize..][..planes.len()].copy_from_slice(&planes);
    let mut b = a.clone();
    let n = program.descriptors.len() as u32;
    functional::execute(&mut a, program.desc_offset, n, &program.config).unwrap();
    functional::Chain::decode(&b, program.desc_offset, n, &program.config)
        .unwrap()
        .run(&mut b, &program.config);
    a == b
}

/// The compiler merges the groups of depthwise convolutions and pools where
/// the cycle model says it pays (docs/architecture.md, "Merged groups"), and only
/// there: on arrays 1 to 16 columns wide it merges some of the grouped layers
/// of random conv nets and not others, the programs still compute the golden
/// numbers, and a merged layer is predicted faster than the same layer
/// unmerged.
#[test]
fn grouped_layers_are_merged_where_it_pays() {
    let (mut grouped, mut merged) = (0, 0);
    for seed in 0..60 {
        let mut rng = random::rng(seed);
        let model = random::model(&mut rng, Architecture::Conv);
        let cfg = config(2, 1 + seed as usize % 16);
        let program = compile(&model, &cfg).unwrap();
        for (l, &m) in model.layers.iter().zip(&program.merged_groups) {
            let g = l.synapses.groups;
            assert!(g % m == 0, "{}: merged {m} of {g} groups", l.name);
            grouped += usize::from(g > 1);
            merged += usize::from(m > 1);
        }
        let bits = model.spec.input.bits.get();
        let x = random::spikes(&mut rng, model.input_len(), bits, 0.5);
        let got = GoldenDevice
            .run(&program, std::slice::from_ref(&x))
            .unwrap();
        assert_eq!(
            got[0].output,
            golden::run_sample(&model, &x, Engine::Direct),
            "seed {seed}"
        );
        // A merged layer's descriptor is the merged shape, and it is faster.
        let cycle_model = spikeslice_core::accel::cycles::CycleModel::new(cfg);
        for (i, &m) in program.merged_groups.iter().enumerate() {
            let d = &program.descriptors[i];
            let l = &model.layers[i];
            assert_eq!(d.groups as usize, l.synapses.groups / m);
            assert_eq!(d.fan_in as usize, l.synapses.fan_in * m);
            if m > 1 {
                let mut plain = *d;
                plain.fan_in = l.synapses.fan_in as u32;
                plain.groups = l.synapses.groups as u32;
                plain.weight_bits = l.weight_bits.get();
                assert!(
                    cycle_model.layer(d, 0).total < cycle_model.layer(&plain, 0).total,
                    "seed {seed} {}: merged {m} is not faster",
                    l.name
                );
            }
        }
    }
    assert!(
        merged > 0 && merged < grouped,
        "{merged} of {grouped} grouped layers merged"
    );
}

/// On the kv260 preset, the CIFAR-10-shaped VGG net's three pools merge
/// their channels and the net runs at least 1.3x faster than compiled without
/// merging (docs/performance.md, "Grouped layers and a CIFAR-10-shaped VGG
/// net": 2.2x at 8/1/4, where each unmerged pool runs one output of 64 columns
/// per group and position).
#[test]
fn the_vgg_nets_pools_merge_on_the_board_preset() {
    use spikeslice::compiler::{compile_with, Mapping};
    use spikeslice_core::accel::cycles::CycleModel;
    use spikeslice_core::accel::preset;
    let arch = "vgg".parse().unwrap();
    let alloc = spikeslice_train::alloc::Allocation::new(8, 1, 4).unwrap();
    let model = spikeslice_train::untrained_model(&arch, [3, 32, 32], 10, alloc, 1).unwrap();
    let cfg = preset::preset(preset::BOARD_PRESET).unwrap().config;
    let merged = compile(&model, &cfg).unwrap();
    let plain = compile_with(
        &model,
        &cfg,
        Mapping {
            merge_groups: false,
            ..Mapping::default()
        },
    )
    .unwrap();
    for (l, &m) in model.layers.iter().zip(&merged.merged_groups) {
        let pool = l.name.starts_with("pool");
        assert_eq!(m > 1, pool, "{} merged {m} groups", l.name);
    }
    assert!(plain.merged_groups.iter().all(|&m| m == 1));
    let cycle_model = CycleModel::new(cfg);
    let (m, p) = (
        merged.predict(&cycle_model).1,
        plain.predict(&cycle_model).1,
    );
    assert!(
        p.total as f64 >= 1.3 * m.total as f64,
        "{} cycles merged, {} unmerged",
        m.total,
        p.total
    );
    // The same useful work either way: utilization counts the model's synapses.
    assert_eq!(m.ideal, p.ideal);
}

/// Random conv nets: their convolutions and poolings compile to im2col
/// descriptors with no table in the image, and compute the golden numbers as
/// the program that reads tables does.
#[test]
fn convolutions_generate_their_gather_rows_on_chip() {
    use spikeslice::compiler::{compile_with, Mapping};
    let mut generated = 0;
    for seed in 0..16u64 {
        let mut rng = random::rng(seed);
        let model = random::model(&mut rng, Architecture::Conv);
        let cfg = config(1 + seed as usize % 4, 1 + seed as usize % 7);
        let program = compile(&model, &cfg).unwrap();
        let tables = compile_with(
            &model,
            &cfg,
            Mapping {
                im2col: false,
                ..Mapping::default()
            },
        )
        .unwrap();
        assert!(tables
            .descriptors
            .iter()
            .all(|d| d.kind != LayerKind::Im2col));
        let kinds = |p: &Program| p.descriptors.iter().map(|d| d.kind).collect::<Vec<_>>();
        let im2col = kinds(&program)
            .iter()
            .filter(|&&k| k == LayerKind::Im2col)
            .count();
        generated += im2col;
        // A table in the image for each table layer, none for an im2col one.
        let tabled = |p: &Program| {
            p.plan
                .iter()
                .filter(|r| r.name.ends_with(".gather"))
                .count()
        };
        let gathers = kinds(&program)
            .iter()
            .filter(|&&k| k == LayerKind::Gather)
            .count();
        assert_eq!(tabled(&program), gathers, "seed {seed}");
        assert_eq!(tabled(&tables), gathers + im2col, "seed {seed}");
        if im2col > 0 {
            assert!(
                program.window_bytes() < tables.window_bytes(),
                "seed {seed}"
            );
        }
        let bits = model.spec.input.bits.get();
        let xs: Vec<Vec<u8>> = (0..2)
            .map(|_| random::spikes(&mut rng, model.input_len(), bits, 0.5))
            .collect();
        let got = GoldenDevice.run(&program, &xs).unwrap();
        let want = GoldenDevice.run(&tables, &xs).unwrap();
        for ((x, g), w) in xs.iter().zip(&got).zip(&want) {
            assert_eq!(g.output, w.output, "seed {seed}");
            assert_eq!(g.output, golden::run_sample(&model, x, Engine::Direct));
        }
    }
    assert!(generated >= 16, "{generated} im2col layers in 16 conv nets");
}

/// `model` compiled for `cfg` in runs of `batch` samples.
fn in_runs_of(
    model: &spikeslice_core::model::Model,
    cfg: &AcceleratorConfig,
    batch: usize,
) -> Result<Program, CompileError> {
    let mapping = spikeslice::compiler::Mapping {
        batch,
        ..Default::default()
    };
    spikeslice::compiler::compile_with(model, cfg, mapping)
}

fn some_model() -> spikeslice_core::model::Model {
    let mut rng = random::rng(12);
    random::model(&mut rng, Architecture::Mlp)
}

fn mnist_mlp() -> spikeslice_core::model::Model {
    spikeslice_core::model::Model::load(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/mnist-mlp.json"),
    )
    .unwrap()
}

/// Registers narrower than a layer's worst case are refused naming the
/// layer; widths the generator cannot build are refused before any model
/// check, naming the field.
#[test]
fn too_narrow_registers_are_refused() {
    let narrow = AcceleratorConfig {
        acc_bits: 16,
        membrane_bits: 24,
        ..Default::default()
    };
    // A bias of 2^23 - 1 needs more than the 24 membrane bits.
    let mut model = some_model();
    model.layers[0].neurons.bias[0] = (1 << 23) - 1;
    let e = compile(&model, &narrow).unwrap_err();
    assert!(matches!(e, CompileError::Width(_)), "{e}");
    assert!(e.to_string().contains("layer "), "{e}");
    let unbuildable = AcceleratorConfig {
        acc_bits: 8,
        membrane_bits: 8,
        ..Default::default()
    };
    match compile(&some_model(), &unbuildable).unwrap_err() {
        CompileError::Config(c) => assert_eq!(c.field, "acc_bits"),
        e => panic!("{e}"),
    }
}

#[test]
fn widths_beyond_the_generated_maximum_are_refused() {
    let model = some_model();
    let widest = model
        .layers
        .iter()
        .map(|l| l.weight_bits.get())
        .max()
        .unwrap();
    if widest == 1 {
        return; // nothing narrower to generate
    }
    let c = AcceleratorConfig {
        weight_bits_max: widest - 1,
        acc_bits: 32,
        membrane_bits: 48,
        ..Default::default()
    };
    let e = compile(&model, &c).unwrap_err().to_string();
    assert!(
        e.contains(&format!("b_w = {widest}")) && e.contains("--weight-bits-max"),
        "{e}"
    );
}

/// Each buffer rule of the controller's Fit check (docs/shell.md) refuses a
/// layer at compile time, names the generator option, and the size it
/// suggests does make the program compile; the functional model refuses the
/// same layer with BufferOverflow, as the RTL does.
#[test]
fn layers_larger_than_the_buffers_are_refused_with_the_size_that_fits() {
    // The reference MLP (784 8-bit pixels, 128 hidden neurons): large enough
    // that the smallest buffers fail every rule.
    let model = mnist_mlp();
    let base = AcceleratorConfig {
        acc_bits: 32,
        membrane_bits: 48,
        ..Default::default()
    };
    let program = compile(&model, &base).unwrap();
    type Set = fn(&mut AcceleratorConfig, usize);
    // Each buffer at the smallest size a configuration may have.
    let rules: [(&str, Set, usize); 3] = [
        ("--wbuf-bytes", |c, v| c.wbuf_bytes = v, 2 * base.cols),
        ("--abuf-bytes", |c, v| c.abuf_bytes = v, 16 * base.rows),
        ("--obuf-bytes", |c, v| c.obuf_bytes = v, 16),
    ];
    for (option, set, smallest) in rules {
        let mut small = base;
        set(&mut small, smallest);
        let e = compile(&model, &small).unwrap_err().to_string();
        assert!(e.contains(option), "{option}: {e}");
        let need: usize = e
            .split("at least ")
            .nth(1)
            .and_then(|t| t.trim_end_matches(')').parse().ok())
            .unwrap_or_else(|| panic!("no size in: {e}"));
        let mut enough = base;
        set(&mut enough, need);
        compile(&model, &enough).unwrap_or_else(|e| panic!("{option} {need}: {e}"));

        // The device refuses the same program built for the bigger buffers
        // when it runs on the small ones.
        let mut image = program.image.clone();
        let err = functional::execute(
            &mut image,
            program.desc_offset,
            program.descriptors.len() as u32,
            &small,
        )
        .unwrap_err();
        assert_eq!(err.code, ErrorCode::BufferOverflow, "{option}: {err}");
    }
}

/// The functional model's refusal of the program's chain in `image`.
fn refused(program: &Program, image: &mut [u8]) -> DescriptorError {
    functional::execute(
        image,
        program.desc_offset,
        program.descriptors.len() as u32,
        &program.config,
    )
    .unwrap_err()
}

#[test]
fn a_descriptor_pointing_outside_the_window_is_refused() {
    let model = some_model();
    let program = compile(&model, &config(4, 4)).unwrap();
    let mut image = program.image.clone();
    // Point the first layer's output past the window: the accelerator must
    // refuse before writing anything.
    let mut d = program.descriptors[0];
    d.output = image.len() as u32 - 8;
    let at = program.desc_offset as usize;
    image[at..at + 64].copy_from_slice(&d.encode());
    let before = image.clone();
    let e = refused(&program, &mut image);
    assert_eq!(e.code, ErrorCode::OutOfWindow);
    assert!(e.to_string().contains("output region"), "{e}");
    assert!(
        image == before,
        "nothing is written by a refused descriptor"
    );
}

#[test]
fn a_corrupted_descriptor_is_refused() {
    let model = some_model();
    let program = compile(&model, &config(4, 4)).unwrap();
    let mut image = program.image.clone();
    // b_w = 15, past every accelerator's maximum.
    let at = program.desc_offset + field::WEIGHT_BITS.byte_offset();
    image[at as usize] = 0xFF;
    let e = refused(&program, &mut image);
    assert_eq!(e.code, ErrorCode::BadField);
}

/// Residual models compile onto concatenations (docs/architecture.md,
/// "Residual connections"): the program computes the golden numbers on random
/// residual models and arrays, the per-descriptor path writes the same window,
/// and every layer fed into a sum writes its planes strided.
#[test]
fn residual_programs_compute_the_golden_numbers() {
    for seed in 0..24u64 {
        let mut rng = random::rng(seed);
        let model = random::residual_model(&mut rng);
        let (rows, cols) = (1 + seed as usize % 5, 1 + (seed as usize * 7) % 9);
        let program =
            compile(&model, &config(rows, cols)).unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        let bits = model.spec.input.bits.get();
        let xs: Vec<Vec<u8>> = (0..3)
            .map(|_| random::spikes(&mut rng, model.input_len(), bits, 0.5))
            .collect();
        let got = GoldenDevice.run(&program, &xs).unwrap();
        for (x, g) in xs.iter().zip(&got) {
            assert_eq!(
                g.output,
                golden::run_sample(&model, x, Engine::Direct),
                "seed {seed}"
            );
        }
        for (i, w) in model.wiring.iter().enumerate() {
            if let Some(s) = w.shortcut {
                for src in [w.input, s.from] {
                    let spikeslice_core::model::Source::Layer(j) = src else {
                        unreachable!()
                    };
                    assert!(program.descriptors[j].strided(), "seed {seed}: layer {j}");
                }
                // A gather layer: its table, or (where the taps happen to
                // make a convolution's table) its im2col geometry.
                assert_ne!(program.descriptors[i].kind, LayerKind::Dense);
            }
        }
        assert!(per_descriptor_path_agrees(&program, &xs[0]), "seed {seed}");
    }
}

/// What the accelerator cannot hold of a residual graph is refused naming the
/// layer: a shortcut into several outputs per group at b_w = 1 (the taps
/// beside an output's own need weight 0).
#[test]
fn a_shortcut_into_one_bit_weights_is_refused_naming_the_layer() {
    use spikeslice_core::model::{LayerSpec, Model, TensorData};
    use spikeslice_core::numeric::WeightBits;
    let model = (0..64)
        .map(|seed| random::residual_model(&mut random::rng(seed)))
        .find(|m| {
            m.spec.layers.iter().any(|l| {
                matches!(l, LayerSpec::Conv2d { shortcut_weight: Some(_), out_channels, .. } if *out_channels > 1)
            })
        })
        .expect("a Spiking ResNet block of several channels");
    let mut spec = model.spec.clone();
    let mut tensors = model.tensors.clone();
    let mut name = String::new();
    for l in &mut spec.layers {
        if let LayerSpec::Conv2d {
            name: n,
            shortcut_weight: Some(w),
            weight_bits,
            out_channels,
            ..
        } = l
        {
            if *out_channels > 1 {
                *weight_bits = WeightBits::new(1).unwrap();
                *w = 1;
                name = n.clone();
                break;
            }
        }
    }
    if let TensorData::I8(w) = &mut tensors.get_mut(&format!("{name}.weight")).unwrap().data {
        for v in w.iter_mut() {
            *v = if *v < 0 { -1 } else { 1 };
        }
    }
    let one_bit = Model::new(spec, tensors).unwrap();
    let e = compile(&one_bit, &config(8, 8)).unwrap_err().to_string();
    assert!(
        e.starts_with(&format!("layer {name}: ")) && e.contains("give the layer b_w >= 2"),
        "{e}"
    );
}

/// A tensor is summed with two others (the stem into two SEW adds): it cannot
/// live in two concatenations, and the compiler says which layer to change.
#[test]
fn a_tensor_summed_twice_is_refused_naming_the_layer() {
    use spikeslice_core::model::{LayerSpec, Model};
    let model = (0..256)
        .map(|seed| random::residual_model(&mut random::rng(seed)))
        .find(|m| {
            let adds = m.spec.layers.iter().filter(|l| l.kind() == "add").count();
            adds >= 2
        })
        .expect("a model of two SEW blocks");
    let mut spec = model.spec.clone();
    let second = spec
        .layers
        .iter()
        .enumerate()
        .filter(|(_, l)| l.kind() == "add")
        .nth(1)
        .map(|(i, _)| i)
        .unwrap();
    let name = spec.layers[second].name().to_string();
    if let LayerSpec::Add { inputs, .. } = &mut spec.layers[second] {
        inputs[1] = "stem".into();
    }
    let twice = Model::new(spec, model.tensors.clone()).unwrap();
    let e = compile(&twice, &config(8, 8)).unwrap_err().to_string();
    assert!(
        e.starts_with(&format!("layer {name}: "))
            && e.contains("layer stem's spikes are already summed"),
        "{e}"
    );
}

/// A layer whose output does not fit the output buffer is split by output
/// channel into several descriptors (docs/architecture.md, "Split outputs"):
/// on random wide conv nets, with an output buffer half the size the largest
/// layer needs, the programs split layers, still compute the golden numbers,
/// the per-descriptor path writes the same window, every part of a split
/// layer writes strided, and the cycle model counts every part.
#[test]
fn split_outputs_compute_the_golden_numbers() {
    use spikeslice_core::accel::buffers::minimum_bytes;
    use spikeslice_core::accel::cycles::CycleModel;
    let mut split = 0;
    for seed in 0..24u64 {
        let mut rng = random::rng(0x5B11 + seed);
        let model = random::model(&mut rng, Architecture::Wide);
        let (rows, cols) = (1 + seed as usize % 4, 1 + (seed as usize * 5) % 8);
        let mut small = config(rows, cols);
        let whole = compile(&model, &small).unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        assert_eq!(whole.descriptors.len(), model.layers.len(), "seed {seed}");
        let most = whole
            .descriptors
            .iter()
            .map(|d| minimum_bytes(rows, cols, d)[2])
            .max()
            .unwrap();
        small.obuf_bytes = (most / 2).max(16) as usize;
        let program = match compile(&model, &small) {
            Ok(p) => p,
            // Not even one channel group of some layer fits: refused, naming
            // the option and a size, as any layer that does not fit.
            Err(e) => {
                let e = e.to_string();
                assert!(e.contains("--obuf-bytes"), "seed {seed}: {e}");
                continue;
            }
        };
        assert_eq!(program.spans.len(), model.layers.len(), "seed {seed}");
        assert_eq!(program.spans.last().unwrap().end, program.descriptors.len());
        if program.descriptors.len() > model.layers.len() {
            split += 1;
        }
        for span in &program.spans {
            if span.len() > 1 {
                for d in &program.descriptors[span.clone()] {
                    assert!(
                        d.readout || d.strided(),
                        "seed {seed}: a part writes packed"
                    );
                }
            }
        }
        let bits = model.spec.input.bits.get();
        let xs: Vec<Vec<u8>> = (0..3)
            .map(|_| random::spikes(&mut rng, model.input_len(), bits, 0.5))
            .collect();
        let got = GoldenDevice
            .run(&program, &xs)
            .unwrap_or_else(|e| panic!("seed {seed}: {e:#}"));
        for (x, g) in xs.iter().zip(&got) {
            assert_eq!(
                g.output,
                golden::run_sample(&model, x, Engine::Direct),
                "seed {seed}"
            );
            assert_eq!(
                g.layer_activity.as_ref().map(Vec::len),
                Some(model.layers.len())
            );
        }
        assert!(per_descriptor_path_agrees(&program, &xs[0]), "seed {seed}");
        let cm = CycleModel::new(small);
        let (layers, total) = program.predict(&cm);
        assert_eq!(layers.len(), model.layers.len());
        let (_, chain) = cm.chain(&program.descriptors, u64::from(program.desc_offset));
        assert_eq!(total.total, chain.total, "seed {seed}");
        assert_eq!(
            layers.iter().map(|l| l.tiles).sum::<u64>(),
            chain.tiles,
            "seed {seed}"
        );
    }
    assert!(split >= 12, "only {split} of 24 seeds split a layer");
}
