//! The sweep: complete enumeration, the cache, and bad arguments.

use crate::common;

use common::tiny_training;
use spikeslice_core::golden::{self, Engine, SampleOutput};
use spikeslice_core::model::Model;
use spikeslice_train::alloc::{enumerate, Allocation, MAX_BUDGET};
use spikeslice_train::stats::Spread;
use spikeslice_train::sweep::{sweep, Backend, Simulator, SweepConfig, SweepEvent};
use spikeslice_train::TrainConfig;
use std::collections::BTreeSet;

/// Every allocation by brute force.
fn brute(budget: u32, at_most: bool) -> BTreeSet<(u32, u32, u32)> {
    let mut s = BTreeSet::new();
    for b_w in 1..=8 {
        for b_s in 1..=8 {
            for t in 1..=64 {
                let bb = b_w * b_s * t;
                if bb == budget || (at_most && bb <= budget) {
                    s.insert((b_w, b_s, t));
                }
            }
        }
    }
    s
}

#[test]
fn enumeration_is_complete() {
    let mut nonempty = 0;
    for budget in 0..=MAX_BUDGET + 3 {
        for at_most in [false, true] {
            let expected = brute(budget, at_most);
            match enumerate(budget, at_most) {
                Ok(v) => {
                    let got: BTreeSet<_> = v.iter().map(|a| (a.b_w, a.b_s, a.t)).collect();
                    assert_eq!(got.len(), v.len(), "duplicates at {budget}");
                    assert_eq!(got, expected, "budget {budget} at_most {at_most}");
                    assert!(v.iter().all(|a| Allocation::new(a.b_w, a.b_s, a.t).is_ok()));
                    nonempty += 1;
                }
                Err(e) => assert!(expected.is_empty(), "budget {budget}: {e}"),
            }
        }
    }
    assert!(nonempty > 1000);
    // Worked by hand: 8 = 1*1*8, 1*2*4, 1*4*2, 1*8*1, 2*1*4, 2*2*2, 2*4*1, 4*1*2, 4*2*1, 8*1*1.
    assert_eq!(enumerate(8, false).unwrap().len(), 10);
}

#[test]
fn impossible_budgets_say_why() {
    let e = enumerate(0, false).unwrap_err().to_string();
    assert!(e.contains("budget 0") && e.contains("at least 1"), "{e}");
    // 67 is prime and above 64: no T * b_w * b_s with the contract's ranges.
    let e = enumerate(67, false).unwrap_err().to_string();
    assert!(e.contains("67") && e.contains("--max"), "{e}");
    assert_eq!(enumerate(67, true).unwrap().len(), brute(67, true).len());
    let e = enumerate(MAX_BUDGET + 1, false).unwrap_err().to_string();
    assert!(e.contains("4096"), "{e}");
}

/// Three seeds: every allocation is trained once per seed, each seed's rows
/// equal a one-seed sweep with that seed, and the summary is the spread of
/// those rows.
#[test]
fn seeds_train_every_allocation_and_summarize_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = tiny_sweep(dir.path(), 5, 100);
    cfg.seeds = 3;
    let mut floats = Vec::new();
    let r = sweep(&mut cfg, &mut |e| {
        if let SweepEvent::Float { seed, .. } = e {
            floats.push(seed);
        }
    })
    .unwrap();
    // Every job reports its seed's float network, job after job.
    floats.dedup();
    assert_eq!(floats, [5, 6, 7]);
    assert_eq!(r.seeds, [5, 6, 7]);
    let allocs = enumerate(2, false).unwrap();
    assert_eq!(r.rows.len(), 3 * allocs.len());
    assert_eq!(r.summary.len(), allocs.len());
    for (a, s) in allocs.iter().zip(&r.summary) {
        assert_eq!(s.alloc, *a);
        let rows: Vec<_> = r.rows.iter().filter(|x| x.alloc == *a).collect();
        assert_eq!(rows.iter().map(|x| x.seed).collect::<Vec<_>>(), [5, 6, 7]);
        let snn: Vec<f64> = rows.iter().map(|x| x.snn_accuracy).collect();
        assert_eq!(s.snn_accuracy, Spread::of(&snn));
        assert!(s.snn_accuracy.half_width.is_some());
    }
    // The seed-6 rows are what a one-seed sweep with seed 6 measures (from the
    // cache this time: the models are keyed by seed).
    let one = sweep(&mut tiny_sweep(dir.path(), 6, 100), &mut |_| {}).unwrap();
    assert_eq!(one.seeds, [6]);
    for row in &one.rows {
        assert!(row.cached);
        let same = r
            .rows
            .iter()
            .find(|x| x.alloc == row.alloc && x.seed == 6)
            .unwrap();
        assert_eq!(row.snn_accuracy, same.snn_accuracy);
        assert_eq!(row.qann_accuracy, same.qann_accuracy);
    }
    // The CSV has a row per allocation and seed, naming the seed.
    let csv = r.csv();
    assert!(csv.starts_with("b_w,b_s,T,seed,"), "{csv}");
    assert_eq!(csv.lines().count(), 1 + r.rows.len());
    // No seeds: refused before anything is trained.
    cfg.seeds = 0;
    let e = sweep(&mut cfg, &mut |_| {}).unwrap_err().to_string();
    assert!(e.contains("--seeds 0"), "{e}");
}

fn tiny_sweep(cache: &std::path::Path, seed: u64, train_limit: usize) -> SweepConfig {
    SweepConfig {
        budget: 2,
        at_most: false,
        base: TrainConfig {
            seed,
            ..tiny_training(1, train_limit, 50, 20)
        },
        seeds: 1,
        cache_dir: cache.to_path_buf(),
        backend: Backend::Golden,
        verify_sim: None,
        performance: None,
        simulator: None,
    }
}

#[test]
fn cached_models_are_reused_and_invalidated() {
    let dir = tempfile::tempdir().unwrap();
    let run = |cfg: &SweepConfig| {
        let mut cfg = clone_config(cfg);
        sweep(&mut cfg, &mut |_| {}).unwrap()
    };
    let first = run(&tiny_sweep(dir.path(), 1, 200));
    // BB = 2: 1/1/2, 1/2/1, 2/1/1.
    assert_eq!(first.rows.len(), 3);
    assert!(first.rows.iter().all(|r| !r.cached));
    let again = run(&tiny_sweep(dir.path(), 1, 200));
    assert!(
        again.rows.iter().all(|r| r.cached),
        "second run reuses every model"
    );
    for (a, b) in first.rows.iter().zip(&again.rows) {
        assert_eq!(
            (a.snn_accuracy, a.qann_accuracy, a.s_ace),
            (b.snn_accuracy, b.qann_accuracy, b.s_ace)
        );
        assert_eq!(a.model_path, b.model_path);
    }
    // Another seed, or other data, is another key.
    let seed = run(&tiny_sweep(dir.path(), 2, 200));
    assert!(seed.rows.iter().all(|r| !r.cached));
    let data = run(&tiny_sweep(dir.path(), 1, 150));
    assert!(data.rows.iter().all(|r| !r.cached));
    // Other QAT hyperparameters: retrain the quantized models.
    let mut cfg = tiny_sweep(dir.path(), 1, 200);
    cfg.base.qat.lr = 5e-4;
    assert!(run(&cfg).rows.iter().all(|r| !r.cached));
    // The outputs are written.
    let out = dir.path().join("out");
    let (files, _warnings) = first.write(&out).unwrap();
    assert!(files.iter().any(|f| f.ends_with("sweep.csv")));
    let csv = std::fs::read_to_string(out.join("sweep.csv")).unwrap();
    assert_eq!(csv.lines().count(), 4, "{csv}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("sweep.json")).unwrap()).unwrap();
    assert_eq!(json["rows"].as_array().unwrap().len(), 3);
}

/// A simulator that answers with the golden model, optionally spoiling one
/// sample's readout: the sweep must accept the first and fail on the second.
struct FakeSim {
    spoil: Option<usize>,
    calls: std::rc::Rc<std::cell::Cell<usize>>,
}

impl Simulator for FakeSim {
    fn run(&mut self, model: &Model, inputs: &[Vec<u8>]) -> anyhow::Result<Vec<SampleOutput>> {
        self.calls.set(self.calls.get() + inputs.len());
        let mut out = golden::run_checked_batch(model, inputs, Engine::Packed);
        if let Some(i) = self.spoil {
            out[i].readout[0] += 1;
        }
        Ok(out)
    }
}

fn clone_config(c: &SweepConfig) -> SweepConfig {
    SweepConfig {
        budget: c.budget,
        at_most: c.at_most,
        base: c.base.clone(),
        seeds: c.seeds,
        cache_dir: c.cache_dir.clone(),
        backend: c.backend,
        verify_sim: c.verify_sim,
        performance: None,
        simulator: None,
    }
}

#[test]
fn simulated_samples_are_verified_against_the_golden_model() {
    let dir = tempfile::tempdir().unwrap();
    // Without a simulator: a clear error, before any training.
    let mut cfg = tiny_sweep(dir.path(), 1, 100);
    cfg.backend = Backend::Sim;
    let e = sweep(&mut cfg, &mut |_| {}).unwrap_err().to_string();
    assert!(e.contains("need a simulator"), "{e}");
    let mut cfg = tiny_sweep(dir.path(), 1, 100);
    cfg.verify_sim = Some(0);
    let e = sweep(&mut cfg, &mut |_| {}).unwrap_err().to_string();
    assert!(e.contains("--verify-sim 0"), "{e}");
    // --verify-sim 7 with a faithful simulator: 7 samples per allocation.
    let calls = std::rc::Rc::new(std::cell::Cell::new(0));
    let mut cfg = tiny_sweep(dir.path(), 1, 100);
    cfg.verify_sim = Some(7);
    cfg.simulator = Some(Box::new(FakeSim {
        spoil: None,
        calls: calls.clone(),
    }));
    let r = sweep(&mut cfg, &mut |_| {}).unwrap();
    assert!(r.rows.iter().all(|row| row.sim_verified == 7));
    assert_eq!(calls.get(), 7 * r.rows.len());
    // --backend sim: the SNN accuracy is the simulator's, over the test split.
    let mut cfg = tiny_sweep(dir.path(), 1, 100);
    cfg.backend = Backend::Sim;
    cfg.simulator = Some(Box::new(FakeSim {
        spoil: None,
        calls: calls.clone(),
    }));
    let sim = sweep(&mut cfg, &mut |_| {}).unwrap();
    assert!(sim.rows.iter().all(|row| row.sim_verified == 50));
    for (a, b) in sim.rows.iter().zip(&r.rows) {
        assert_eq!(a.snn_accuracy, b.snn_accuracy);
    }
    // One differing sample fails its allocation loudly, naming the sample;
    // the sweep reports the failure rather than a row.
    let mut cfg = tiny_sweep(dir.path(), 1, 100);
    cfg.verify_sim = Some(7);
    cfg.simulator = Some(Box::new(FakeSim {
        spoil: Some(3),
        calls,
    }));
    let r = sweep(&mut cfg, &mut |_| {}).unwrap();
    assert!(r.rows.is_empty(), "{:?}", r.rows);
    let e = &r.failures[0].error;
    assert!(
        e.contains("differs from the golden model on test sample 3"),
        "{e}"
    );
}
