//! `spikeslice`: spend a Bit Budget, see what it buys.

use clap::{Parser, Subcommand};
use std::process::ExitCode;

mod cli;

#[derive(Parser)]
#[command(name = "spikeslice", version, about = "Bit-budget SNN accelerator: models, golden model, RTL, board", long_about = None)]
struct Cli {
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
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", error_chain(&e));
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes, `: `-separated, leaving out a cause whose text the
/// message before it already contains (many errors quote their source).
fn error_chain(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if !out.contains(&text) {
            if !out.is_empty() {
                out.push_str(": ");
            }
            out.push_str(&text);
        }
    }
    out
}
