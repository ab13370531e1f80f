//! `verigym-train`: the libtorch-linked half of the CLI. `verigym` forwards model commands
//! (train, generate, bench sample|grpo, data, experiment, demo) here.

use anyhow::Result;
use clap::{Parser, Subcommand};
use verigym_trainer::DeviceChoice;

#[derive(Parser)]
#[command(name = "verigym", version, about = "verigym model commands (libtorch)")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// The demo run of the README.
    Demo {
        /// Where the model runs: auto (CUDA when available), cpu or cuda.
        #[arg(long, default_value = "auto")]
        device: DeviceChoice,
        /// A one-minute version (used by CI).
        #[arg(long)]
        quick: bool,
    },
    /// Train a policy (`train grpo --config run.toml`).
    Train {
        #[command(subcommand)]
        what: TrainCommand,
    },
    /// Generate a completion with a checkpoint (`--temperature 0` is greedy).
    Generate(verigym_trainer::policy_cli::GenerateArgs),
    /// Checkpoint tools: convert (load and save again), init (fresh random model).
    Checkpoint {
        #[command(subcommand)]
        what: verigym_trainer::policy_cli::CheckpointCommand,
    },
    /// Throughput benchmarks.
    Bench {
        #[command(subcommand)]
        target: BenchCommand,
    },
}

#[derive(Subcommand)]
enum TrainCommand {
    /// GRPO from a TOML config with `--set key=value` overrides; `--resume` continues.
    Grpo(verigym_trainer::grpo::cli::TrainGrpoArgs),
}

#[derive(Subcommand)]
enum BenchCommand {
    /// New tokens/s of batched sampling; prints {"tokens_per_s": ...}.
    Sample(verigym_trainer::policy_cli::BenchSampleArgs),
    /// Seconds per GRPO step on the TRL comparison settings; prints {"step_s": ...}.
    Grpo(verigym_trainer::grpo::bench::BenchGrpoArgs),
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Demo { device, quick } => {
            let device = device.resolve().map_err(anyhow::Error::msg)?;
            let report = verigym_trainer::demo::run(device, if quick { 5 } else { 20 })?;
            println!(
                "{} environments, {} reference solutions scored, {} correct",
                report.envs, report.scored, report.perfect
            );
            anyhow::ensure!(
                report.perfect == report.scored,
                "a reference solution failed its verifier"
            );
        }
        Command::Train {
            what: TrainCommand::Grpo(args),
        } => verigym_trainer::grpo::cli::train_grpo(args)?,
        Command::Generate(args) => verigym_trainer::policy_cli::generate(&args)?,
        Command::Checkpoint { what } => verigym_trainer::policy_cli::checkpoint(&what)?,
        Command::Bench {
            target: BenchCommand::Sample(args),
        } => println!("{}", verigym_trainer::policy_cli::bench_sample(&args)?),
        Command::Bench {
            target: BenchCommand::Grpo(args),
        } => verigym_trainer::grpo::bench::run(args)?,
    }
    Ok(())
}
