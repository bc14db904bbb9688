//! Performance of a compiled program on an accelerator: cycles, latency, fps,
//! PE utilization, DMA bytes and energy, per layer and per network, and per
//! unit of Bit Budget.
//!
//! Cycles come from the device when it measures them (sim: the Verilated
//! shell's cycle counter; board: the hardware's) and from the analytic cycle
//! model (core/src/accel/cycles/) otherwise; the report says which. Energy applies the per-event model (docs/energy.md) to the device's
//! counters; on a board the measured power is reported beside it.

use crate::compiler::{self, Program};
use crate::device::{Device, GoldenDevice, Inference};
use crate::energy::{EnergyInputs, EnergyModel, EnergyReport};
use anyhow::{Context, Result};
use serde::Serialize;
use spikeslice_core::accel::cycles::{CycleModel, LayerCycles};
use spikeslice_core::accel::functional::Activity;
use spikeslice_core::accel::AcceleratorConfig;
use spikeslice_core::budget::{self, NetworkBudget};
use spikeslice_core::model::Model;

/// Where a cycle count came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CycleSource {
    /// Counted by the device.
    Measured,
    /// Predicted by the analytic cycle model.
    Model,
}

/// One layer's figures, means over the samples.
#[derive(Debug, Clone, Serialize)]
pub struct LayerPerformance {
    pub name: String,
    pub tiles: u64,
    pub predicted_cycles: u64,
    pub measured_cycles: Option<f64>,
    /// PE utilization: ideal PE-cycles over the cycles the layer took.
    pub utilization: f64,
    pub dma_read_bytes: f64,
    pub dma_write_bytes: f64,
    /// `None` where the device did not count this layer on its own.
    pub pe_adds: Option<f64>,
    /// `n * BB` of the layer (Eq. 8).
    pub s_ace: u64,
    pub energy: Option<EnergyReport>,
}

/// The whole network's figures, means over the samples.
#[derive(Debug, Clone, Serialize)]
pub struct NetworkPerformance {
    pub backend: String,
    /// e.g. `"8x8 @ 200 MHz"`, or `"8x8 @ 200 MHz, in runs of 64 samples"`
    /// for a batch.
    pub config: String,
    pub clock_hz: f64,
    pub samples: usize,
    /// Samples one run computes (`--batch`): cycles, counts and energy are one
    /// sample's share of a run, the latency a whole run's.
    pub batch: usize,
    pub predicted_cycles: u64,
    pub measured_cycles: Option<f64>,
    /// The cycles the latency and fps use, and where they came from.
    pub cycles: f64,
    pub cycle_source: CycleSource,
    pub latency_s: f64,
    /// Samples a second, runs back to back.
    pub fps: f64,
    pub utilization: f64,
    pub dma_read_bytes: f64,
    pub dma_write_bytes: f64,
    pub pe_adds: f64,
    /// Synaptic operations: sum over layers of MACs times T.
    pub sops: u64,
    pub s_ace: u64,
    pub energy: EnergyReport,
    pub energy_per_sop_j: f64,
    /// Energy per inference over S-ACE: joules per unit of Bit Budget.
    pub energy_per_bit_budget_j: f64,
    /// Board power measured during the run and idle, in watts, and the energy
    /// per inference they imply (board backend only).
    pub measured_power: Option<MeasuredPower>,
    pub layers: Vec<LayerPerformance>,
}

/// Power measured on a board: the INA260 reads the whole 5 V rail a few times a
/// second with ~10 mW resolution, so energy per inference comes from a long
/// batch with the idle power subtracted.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct MeasuredPower {
    pub idle_w: f64,
    pub busy_w: f64,
    pub seconds: f64,
    pub energy_per_inference_j: f64,
}

fn mean(xs: impl Iterator<Item = f64>, n: usize) -> f64 {
    xs.sum::<f64>() / n.max(1) as f64
}

fn mean_activity(acts: &[&Activity]) -> [f64; 6] {
    let n = acts.len();
    [
        mean(acts.iter().map(|a| a.pe_adds as f64), n),
        mean(acts.iter().map(|a| a.slices as f64), n),
        mean(acts.iter().map(|a| a.spikes as f64), n),
        mean(acts.iter().map(|a| a.bytes_read as f64), n),
        mean(acts.iter().map(|a| a.bytes_written as f64), n),
        mean(acts.iter().map(|a| a.neuron_updates as f64), n),
    ]
}

/// Energy of one inference from mean counts.
fn energy_of(
    model: &EnergyModel,
    config: &AcceleratorConfig,
    mean: [f64; 6],
    buffer_bits: u64,
    cycles: f64,
    clock_hz: f64,
) -> EnergyReport {
    model.apply(&EnergyInputs {
        pe_adds: mean[0].round() as u64,
        acc_bits: config.acc_bits,
        buffer_bits,
        dma_bytes: (mean[3] + mean[4]).round() as u64,
        neuron_updates: mean[5].round() as u64,
        membrane_bits: config.membrane_bits,
        cycles: cycles.round() as u64,
        clock_hz,
    })
}

/// `", in runs of N samples"` for a batch of `N` (`--batch`), else nothing:
/// what a report adds to the accelerator it names.
pub fn runs_of(batch: usize) -> String {
    match batch {
        1 => String::new(),
        n => format!(", in runs of {n} samples"),
    }
}

/// Build the report for `runs` of `program` on a device called `backend`.
pub fn analyze(
    program: &Program,
    runs: &[Inference],
    energy: &EnergyModel,
    clock_hz: f64,
    backend: &str,
) -> NetworkPerformance {
    let config = program.config;
    let cycle_model = CycleModel::new(config);
    let (predicted, total) = program.predict(&cycle_model);
    let n = runs.len();
    let outputs: Vec<_> = runs.iter().map(|r| r.output.clone()).collect();
    let nb: NetworkBudget = budget::budget(&program.model, Some(&outputs));
    let measured = if n > 0 && runs.iter().all(|r| r.cycles.is_some()) {
        Some(mean(runs.iter().map(|r| r.cycles.unwrap_or(0) as f64), n))
    } else {
        None
    };
    let (cycles, cycle_source) = match measured {
        Some(c) => (c, CycleSource::Measured),
        None => (total.total as f64, CycleSource::Model),
    };
    let total_acts: Vec<&Activity> = runs.iter().map(|r| &r.activity).collect();
    let mut m = mean_activity(&total_acts);
    // DMA traffic does not depend on the data: the cycle model's bytes are the
    // DMA's counters exactly (whole beats, parameter and gather re-reads per
    // tile; docs/controller.md, "Counters"), which the functional model's
    // `Activity::bytes_read` (each region once) is not.
    m[3] = total.dma_read_bytes as f64;
    m[4] = total.dma_write_bytes as f64;
    let e = energy_of(energy, &config, m, total.buffer_bits, cycles, clock_hz);
    let sops: u64 = nb.layers.iter().map(|l| l.macs * l.timesteps).sum();
    let layers = predicted
        .iter()
        .enumerate()
        .map(|(i, p)| layer_performance(program, runs, energy, clock_hz, &nb, i, p))
        .collect();
    NetworkPerformance {
        backend: backend.to_string(),
        config: format!(
            "{}x{} @ {:.0} MHz{}",
            config.rows,
            config.cols,
            clock_hz / 1e6,
            runs_of(program.batch)
        ),
        clock_hz,
        samples: n,
        batch: program.batch,
        predicted_cycles: total.total,
        measured_cycles: measured,
        cycles,
        cycle_source,
        latency_s: cycles * program.batch as f64 / clock_hz,
        fps: clock_hz / cycles.max(1.0),
        utilization: total.ideal as f64 / cycles.max(1.0),
        dma_read_bytes: m[3],
        dma_write_bytes: m[4],
        pe_adds: m[0],
        sops,
        s_ace: nb.s_ace,
        energy_per_sop_j: e.per_sop(sops),
        energy_per_bit_budget_j: e.per_bit_budget(nb.s_ace),
        energy: e,
        measured_power: None,
        layers,
    }
}

fn layer_performance(
    program: &Program,
    runs: &[Inference],
    energy: &EnergyModel,
    clock_hz: f64,
    nb: &NetworkBudget,
    i: usize,
    p: &LayerCycles,
) -> LayerPerformance {
    let n = runs.len();
    let measured = runs
        .iter()
        .map(|r| r.layer_cycles.as_ref().and_then(|c| c.get(i).copied()))
        .collect::<Option<Vec<u64>>>()
        .filter(|v| !v.is_empty())
        .map(|v| mean(v.iter().map(|&c| c as f64), n));
    let cycles = measured.unwrap_or(p.total as f64);
    let acts: Option<Vec<&Activity>> = runs
        .iter()
        .map(|r| r.layer_activity.as_ref().and_then(|a| a.get(i)))
        .collect();
    let (m, energy) = match acts.filter(|a| !a.is_empty()) {
        Some(a) => {
            let mut m = mean_activity(&a);
            m[3] = p.dma_read_bytes as f64;
            m[4] = p.dma_write_bytes as f64;
            let e = energy_of(energy, &program.config, m, p.buffer_bits, cycles, clock_hz);
            (Some(m), Some(e))
        }
        None => (None, None),
    };
    LayerPerformance {
        name: program.model.layers[i].name.clone(),
        tiles: p.tiles,
        predicted_cycles: p.total,
        measured_cycles: measured,
        utilization: p.ideal as f64 / cycles.max(1.0),
        dma_read_bytes: m.map_or(p.dma_read_bytes as f64, |m| m[3]),
        dma_write_bytes: m.map_or(p.dma_write_bytes as f64, |m| m[4]),
        pe_adds: m.map(|m| m[0]),
        s_ace: nb.layers.get(i).map_or(0, |l| l.s_ace),
        energy,
    }
}

/// The sweep's performance columns: the cycle and energy models of one
/// accelerator configuration, with the data-dependent counts (PE additions,
/// spikes) measured by the golden backend on a few samples.
pub struct ModelledPerformance {
    pub config: AcceleratorConfig,
    /// How the compiler maps the models (`--batch`).
    pub mapping: compiler::Mapping,
    pub clock_hz: f64,
    pub energy: EnergyModel,
    /// Samples the counts are averaged over.
    pub inputs: Vec<Vec<u8>>,
}

impl spikeslice_train::sweep::PerformanceModel for ModelledPerformance {
    fn estimate(&self, model: &Model) -> Result<spikeslice_train::sweep::Performance> {
        let program =
            compiler::compile_with(model, &self.config, self.mapping).with_context(|| {
                format!(
                    "cannot compile {} for the {}x{} accelerator",
                    model.spec.name, self.config.rows, self.config.cols
                )
            })?;
        let runs = GoldenDevice.run(&program, &self.inputs)?;
        let p = analyze(&program, &runs, &self.energy, self.clock_hz, "golden");
        Ok(spikeslice_train::sweep::Performance {
            config: p.config,
            cycles_per_inference: p.predicted_cycles,
            fps: p.fps,
            energy_per_inference_j: p.energy.total_j,
            energy_per_bit_budget_j: p.energy_per_bit_budget_j,
        })
    }
}
