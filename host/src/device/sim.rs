//! The Verilator backend: the compiled program run by the generated accelerator
//! **shell** (`spikeslice_shell.v`: AXI4-Lite register file, AXI4 DMA, descriptor
//! controller, buffers and compute core, built by `spikeslice-sim`), driven exactly
//! as the board daemon drives the real one (firmware/src/daemon.rs): the program's
//! image is placed in a simulated DDR window once, per run (a sample, or a batch)
//! the input planes are written into it, the caches are synced for the device, BUF_BASE / BUF_SIZE /
//! DESC_OFFSET / DESC_COUNT are programmed over AXI4-Lite, the chain is started and
//! the driver waits for the interrupt (with a cycle limit), syncs for the CPU, maps
//! STATUS's error code to an error, reads the counters and the results out of the
//! window. Nothing of the chain runs in this driver: every descriptor fetch, check,
//! DMA transfer and layer is the RTL's.
//!
//! Cycles: `Inference::cycles` is the shell's `CNT_CYCLES` (a batch's sample: its
//! share of the run's, `RunCounts::split`). Per-layer numbers
//! (`layer_cycles`, `layer_activity`) need one start per descriptor, since the
//! counters cover a whole run: with [`SimDevice::per_layer`] the chain is run one
//! descriptor at a time (the controller keeps no state between descriptors, so the
//! window ends the same), each layer's cycles are that run's `CNT_CYCLES` minus the
//! final Finish cycle, and `cycles` is their sum plus one (what one whole-chain run
//! counts, the cycle model's structure). Off by default: one start per
//! run, as on a board, and the per-layer fields are `None`.

use super::{Device, Inference, RunCounts};
use crate::compiler::Program;
use anyhow::{bail, Context, Result};
use spikeslice_core::accel::cycles::CycleModel;
use spikeslice_core::accel::descriptor::DESCRIPTOR_BYTES;
use spikeslice_core::accel::driver::Window;
use spikeslice_core::accel::functional::{Activity, Chain};
use spikeslice_core::accel::AcceleratorConfig;
use spikeslice_sim::ddr::DdrTiming;
use spikeslice_sim::shell::RunOutcome;
use spikeslice_sim::{ShellSim, SimError, SimOptions};

/// A Verilated accelerator shell, its DDR model, and the configuration it was
/// generated for.
pub struct SimDevice {
    sim: ShellSim,
    config: AcceleratorConfig,
    /// Latency and backpressure of the simulated DDR, applied (and re-seeded) at
    /// every [`Device::run`]. Default: a fixed 40-cycle latency without
    /// backpressure (~200 ns at 200 MHz, the cycle model's `DmaTiming::default`);
    /// `DdrTiming::random(seed, lo, hi)` for seeded random latency and valid/ready
    /// backpressure (results must not depend on it; cycles do).
    pub timing: DdrTiming,
    /// Run one descriptor per start to measure every layer (see the module doc).
    pub per_layer: bool,
    /// Cycle limit of one run; `None`: derived from the cycle formula (four times
    /// the prediction at the DDR's longest latency, more under backpressure).
    pub timeout_cycles: Option<u64>,
    /// Identity of the program image in the window (length, CRC-32), to place it
    /// once as the board backend uploads it once.
    loaded: Option<(usize, u32)>,
}

impl SimDevice {
    /// Generate and build (or take from the cache) the shell for `config`.
    pub fn open(config: &AcceleratorConfig) -> Result<Self> {
        let sim = ShellSim::build(config, &SimOptions::default()).with_context(|| {
            format!(
                "cannot build the Verilator model of the {}x{} accelerator shell (needs \
                 Debian's `verilator` and `g++`; scripts/test.sh installs them)",
                config.rows, config.cols
            )
        })?;
        Ok(Self {
            sim,
            config: *config,
            timing: DdrTiming::default(),
            per_layer: false,
            timeout_cycles: None,
            loaded: None,
        })
    }

    /// The simulator, for tests that inject faults into its DDR model.
    pub fn shell(&mut self) -> &mut ShellSim {
        &mut self.sim
    }

    /// Hand `[offset, offset + len)` of the window to the device. On the board this
    /// flushes the CPU caches (u-dma-buf `sync_for_device`); the simulated DDR is
    /// the host's memory, so there is nothing to flush, but the call stays where the
    /// driver makes it.
    fn sync_for_device(&mut self, _offset: usize, _len: usize) {}

    /// Take `[offset, offset + len)` back for the CPU (on the board: invalidate the
    /// CPU caches, u-dma-buf `sync_for_cpu`). Nothing to do in simulation.
    fn sync_for_cpu(&mut self, _offset: usize, _len: usize) {}

    fn limit(&self, chain: &Chain) -> u64 {
        if let Some(t) = self.timeout_cycles {
            return t;
        }
        let t = &self.timing;
        let est =
            CycleModel::with_latency(self.config, t.latency_max).chain_cycles(&chain.descriptors);
        // Every handshake waits ~1/p cycles under backpressure, on both sides.
        let p = t.p_ready.clamp(0.05, 1.0);
        ((4 * est) as f64 / (p * p)) as u64 + 100_000
    }

    /// One start of `count` descriptors at `desc_offset`; an error code in STATUS or
    /// a hang becomes an error naming the layer.
    fn run_chain(
        &mut self,
        program: &Program,
        desc_offset: u32,
        count: u32,
        first: usize,
        limit: u64,
    ) -> Result<RunOutcome> {
        let len = self.sim.window().len();
        self.sync_for_device(0, len);
        let out = self.sim.run(desc_offset, count, limit);
        if !matches!(&out, Ok(o) if o.error().is_none()) {
            // A failed run may have left partial outputs: place the whole image
            // again before the next run, as a driver that lost a run would.
            self.loaded = None;
        }
        let out = out.map_err(|e| match e {
            SimError::Hang(m) => anyhow::anyhow!(
                "the simulated accelerator did not finish within {limit} cycles: {m}"
            ),
            e => anyhow::Error::new(e).context("the simulated accelerator's buses"),
        })?;
        self.sync_for_cpu(0, len);
        if let Some(mut e) = out.error() {
            // The index in the whole chain, where a run started part-way.
            e.desc_index += first as u32;
            let layer = program
                .layer_of(e.desc_index as usize)
                .map_or("past the last layer", |l| l.name.as_str());
            bail!("{e} (layer {layer})");
        }
        Ok(out)
    }
}

impl Device for SimDevice {
    fn name(&self) -> &str {
        "sim"
    }

    fn measure_layers(&mut self, on: bool) -> bool {
        self.per_layer = on;
        true
    }

    fn run(&mut self, program: &Program, inputs: &[Vec<u8>]) -> Result<Vec<Inference>> {
        if program.config != self.config {
            bail!(
                "the program was compiled for another accelerator than the simulator's: {} \
                 (the other is the simulator's); compile for the device's configuration",
                program.config.differences(&self.config).join(", ")
            );
        }
        // Refused before starting, as the board daemon does: the hardware would
        // refuse it too, with less context.
        let chain = program.chain()?;
        // BUF_SIZE must hold the window: the driver's own rule, checked before
        // the image is placed.
        Window::new(0, program.window_bytes())?;
        self.sim.ddr.set_timing(self.timing);
        let identity = (
            program.image.len(),
            spikeslice_core::protocol::crc32(&program.image),
        );
        if self.loaded != Some(identity) {
            self.sim.set_window(program.image.clone());
            self.loaded = Some(identity);
        }
        let limit = self.limit(&chain);
        let n = chain.descriptors.len();
        let layers = program.spans.len();
        let updates = |ds: &[spikeslice_core::accel::descriptor::LayerDescriptor]| -> u64 {
            ds.iter()
                .map(|d| (d.neurons() * d.timesteps as usize) as u64)
                .sum()
        };
        let activity_of = |o: &RunOutcome, neuron_updates| Activity {
            pe_adds: o.counters.pe_adds,
            slices: o.counters.slices,
            spikes: o.counters.spikes,
            // The DMA's counters, as the board reports them: whole beats, with the
            // per-tile parameter and gather re-reads (docs/controller.md, "Counters").
            bytes_read: o.counters.dma_read_bytes,
            bytes_written: o.counters.dma_write_bytes,
            // Not counted in hardware: neurons times timesteps, static.
            neuron_updates,
        };
        let mut results = Vec::with_capacity(inputs.len());
        for (i, samples) in inputs.chunks(program.batch).enumerate() {
            let first = i * program.batch;
            let which = || match samples.len() {
                1 => format!("sample {first}"),
                n => format!("samples {first}..{}", first + n),
            };
            let planes = program.input_planes(samples);
            let at = program.input.offset as usize;
            self.sim.window_mut()[at..at + planes.len()].copy_from_slice(&planes);
            let counts = if self.per_layer {
                let mut activity = Activity::default();
                let mut layer_activity = Vec::with_capacity(layers);
                let mut layer_cycles = Vec::with_capacity(layers);
                // A layer's descriptors (the parts of a split layer) in one run.
                for span in &program.spans {
                    let off = program.desc_offset + (span.start * DESCRIPTOR_BYTES) as u32;
                    let count = span.len() as u32;
                    let o = self
                        .run_chain(program, off, count, span.start, limit)
                        .with_context(which)?;
                    let a = activity_of(&o, updates(&chain.descriptors[span.clone()]));
                    activity.add(&a);
                    layer_activity.push(a);
                    // A run counts its layer and the Finish cycle.
                    layer_cycles.push(o.counters.cycles.saturating_sub(1));
                }
                RunCounts {
                    activity,
                    layer_activity: Some(layer_activity),
                    cycles: Some(layer_cycles.iter().sum::<u64>() + 1),
                    layer_cycles: Some(layer_cycles),
                }
            } else {
                let o = self
                    .run_chain(program, program.desc_offset, n as u32, 0, limit)
                    .with_context(which)?;
                RunCounts {
                    activity: activity_of(&o, updates(&chain.descriptors)),
                    cycles: Some(o.counters.cycles),
                    ..RunCounts::default()
                }
            };
            let outputs = program.read_results(self.sim.window(), samples);
            results.extend(counts.split(outputs, program.batch));
        }
        Ok(results)
    }
}
