//! `spikeslice`: spend a Bit Budget, see what it buys.

use clap::{Parser, Subcommand};
use std::process::ExitCode;

mod cli;

const AFTER_HELP: &str = "\
Exit status: 0 success; 1 the command failed (the error is on standard error);
2 a wrong command line (unknown flag, or a value that cannot work); 3 sweep
finished with some allocations failed (the others were written); 141 standard
output was closed early (e.g. by `| head`).

Output flags take `-` for standard output; results go to standard output,
status lines (\"wrote ...\", progress, notes) to standard error.";

#[derive(Parser)]
#[command(
    name = "spikeslice",
    version,
    about = "Bit-budget SNN accelerator: models, golden model, RTL, board",
    long_about = None,
    after_help = AFTER_HELP
)]
struct Cli {
    /// Print no status lines or progress on standard error (results and
    /// errors still appear).
    #[arg(long, short, global = true)]
    quiet: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a model on inputs and report readouts, classes and spike counts.
    Infer(cli::infer::Args),
    /// Run a model on a device (golden, sim, board): accuracy, cycles, fps, energy.
    Run(cli::run::Args),
    /// Print the bit-budget table of a model (MACs, BB, S-ACE, NS-ACE, memory).
    Budget(cli::budget::Args),
    /// Generate the compute core's Verilog with rust-hdl, and its manifest.
    GenRtl(cli::gen_rtl::Args),
    /// Load a bitstream onto a board through its daemon.
    Flash(cli::flash::Args),
    /// Quantization-aware training of one allocation, converted to an integer model.
    Train(cli::train::Args),
    /// Train and measure every allocation of a Bit Budget (table, CSV, JSON, plot).
    Sweep(cli::sweep::Args),
    /// Bits against timesteps: the thesis' measurement and logistic fit.
    Relation(cli::relation::Args),
    /// Quantize and convert float weights trained elsewhere (PyTorch safetensors).
    Import(cli::import::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    cli::say::set_quiet(cli.quiet);
    let result = match cli.command {
        Command::Infer(a) => cli::infer::run(a),
        Command::Run(a) => cli::run::run(a),
        Command::Budget(a) => cli::budget::run(a),
        Command::GenRtl(a) => cli::gen_rtl::run(a),
        Command::Flash(a) => cli::flash::run(a),
        Command::Train(a) => cli::train::run(a),
        Command::Sweep(a) => cli::sweep::run(a),
        Command::Relation(a) => cli::relation::run(a),
        Command::Import(a) => cli::import::run(a),
    }
    .and_then(|()| cli::say::flush());
    match result {
        Ok(()) => ExitCode::from(cli::say::EXIT_OK),
        Err(e) => ExitCode::from(cli::say::finish(&e)),
    }
}
