//! How the compiler maps a model onto the accelerator: `--batch`, a number of
//! samples a run or `auto`, the batch the cycle model finds fastest a sample.

use anyhow::{Context, Result};
use spikeslice::compiler::{self, Program};
use spikeslice_core::accel::cycles::CycleModel;
use spikeslice_core::accel::AcceleratorConfig;
use spikeslice_core::model::Model;
use std::fmt;
use std::str::FromStr;

/// The largest batch `--batch auto` tries: the MNIST networks gain less than
/// a percent past 64 (docs/performance.md, "Batches"), and each candidate is a
/// compile.
pub const AUTO_BATCH_MAX: usize = 256;

/// `--batch`: samples a run, or `auto`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Batch {
    Samples(u32),
    Auto,
}

impl FromStr for Batch {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        if s == "auto" {
            return Ok(Batch::Auto);
        }
        match s.parse::<u32>() {
            Ok(n) if n >= 1 => Ok(Batch::Samples(n)),
            _ => Err(format!(
                "'{s}' is not a batch: give a number of samples >= 1, or auto"
            )),
        }
    }
}

impl fmt::Display for Batch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Batch::Samples(n) => write!(f, "{n}"),
            Batch::Auto => f.write_str("auto"),
        }
    }
}

/// How the compiler maps a model onto the accelerator.
#[derive(clap::Args, Debug, Clone)]
pub struct MappingArgs {
    /// Samples one run of the accelerator computes together: each tile's
    /// parameters and weights load once for all of them, and each layer's
    /// fixed costs are paid once a run (docs/architecture.md, "Batches").
    /// Cycles, counts and energy are then one sample's share; latency is the
    /// whole run's. `auto`: the batch of 1, 2, 4, .. (at most the samples, and
    /// 256) that the cycle model predicts to run the samples fastest.
    #[arg(long, default_value = "1")]
    pub batch: Batch,
}

/// A model's cycles a sample on `program`'s accelerator, by the cycle model.
fn cycles_a_sample(program: &Program) -> u64 {
    program.predict(&CycleModel::new(program.config)).1.total
}

impl MappingArgs {
    /// The mapping of a batch of `batch` samples.
    fn mapping(batch: usize) -> compiler::Mapping {
        compiler::Mapping {
            batch,
            ..Default::default()
        }
    }

    /// The batch a sweep compiles every allocation with: a number (each
    /// allocation would choose its own `auto` batch, and the sweep compares
    /// allocations at one).
    pub fn sweep_batch(&self) -> Result<usize> {
        match self.batch {
            Batch::Samples(n) => Ok(n as usize),
            Batch::Auto => Err(usage!(
                "--batch auto chooses a batch per model; a sweep compares allocations at \
                 one batch: give --batch N"
            )),
        }
    }

    /// Compile `model` for `config` to run `samples` samples: at the batch
    /// given, or at `auto`'s choice, said on stderr: the batch whose runs take
    /// the fewest cycles for the samples (a last run the samples do not fill
    /// costs a whole run), the smaller of two that tie.
    pub fn compile(
        &self,
        model: &Model,
        config: &AcceleratorConfig,
        samples: usize,
    ) -> Result<Program> {
        let compile = |batch: usize| {
            compiler::compile_with(model, config, Self::mapping(batch)).with_context(|| {
                format!(
                    "cannot compile model {} for the {}x{} accelerator",
                    model.spec.name, config.rows, config.cols
                )
            })
        };
        let n = match self.batch {
            Batch::Samples(n) => {
                let program = compile(n as usize)?;
                self.note(&program);
                return Ok(program);
            }
            Batch::Auto => samples.clamp(1, AUTO_BATCH_MAX),
        };
        let samples = samples.max(1) as u64;
        // The samples' cycles in runs of `batch`.
        let cost =
            |p: &Program| samples.div_ceil(p.batch as u64) * p.batch as u64 * cycles_a_sample(p);
        let alone = compile(1)?;
        let single = cost(&alone);
        let mut best = (single, alone);
        let mut batch = 2;
        // Doubling until the samples, the cap, or a batch the compiler
        // refuses (the buffers, a graph's shortcuts): larger ones fit no better.
        while batch <= n {
            let Ok(program) = compile(batch) else { break };
            let cycles = cost(&program);
            if cycles < best.0 {
                best = (cycles, program);
            }
            batch *= 2;
        }
        let (cycles, program) = best;
        if program.batch == 1 {
            status!(
                "--batch auto: one sample a run (no batch of up to {n} is predicted to run \
                 the {samples} samples faster than {single} cycles)"
            );
        } else {
            status!(
                "--batch auto: runs of {} samples: the cycle model predicts {cycles} cycles \
                 for the {samples} samples, against {single} one at a time",
                program.batch
            );
        }
        Ok(program)
    }

    /// Say so when a batch is predicted to cost a sample more than a run of
    /// its own, naming the layers a batch makes read gather tables (a batched
    /// convolution's rows are not one map's windows, so it reads them from the
    /// DMA where a run of its own generates them).
    fn note(&self, program: &Program) {
        if program.batch == 1 {
            return;
        }
        let Ok(alone) = compiler::compile(&program.model, &program.config) else {
            return;
        };
        let (batched, single) = (cycles_a_sample(program), cycles_a_sample(&alone));
        if batched < single {
            return;
        }
        let tabled = program.tabled_layers();
        let why = if tabled.is_empty() {
            String::new()
        } else {
            format!(
                "; layer(s) {} read gather tables in a batch",
                tabled.join(", ")
            )
        };
        status!(
            "note: in runs of {} samples the cycle model predicts {batched} cycles a sample, \
             against {single} one at a time{why} (docs/architecture.md, \"Batches\")",
            program.batch
        );
    }
}
