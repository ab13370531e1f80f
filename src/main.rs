//! `verigym`: the command-line front end. Thin by design — environments, verifiers and the
//! learner live in their crates. This binary does not link libtorch, so `list`, `sample`,
//! `score`, `verify`, `exec`, `export`, `reward-server` and `eval` of an endpoint start in
//! milliseconds; commands that train or sample a model
//! are handed to `verigym-train`, installed beside it.

mod exec;
mod export;
mod jsonl;
mod sample;
mod score;
mod serve;
mod trainer;
mod verify;

use anyhow::Result;
use clap::{Parser, Subcommand};
use std::process::ExitCode;
use verigym_envs::Registry;

#[derive(Parser)]
#[command(
    name = "verigym",
    version,
    about = "A gym for reinforcement learning with verifiable rewards"
)]
#[command(after_help = trainer::HELP)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// List every environment with its domain, description and difficulty range.
    List {
        /// One JSON object per line instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Generate tasks as JSONL, each with a reference solution that scores 1.0.
    Sample(sample::SampleArgs),
    /// Score completions: reads task lines (as printed by `sample`) with a "completion".
    Score(score::ScoreArgs),
    /// Serve the verifiers over HTTP: POST /score, POST /get_reward (OpenRLHF), GET /health.
    RewardServer(serve::ServeArgs),
    /// Write tasks as a veRL-schema training set (Parquet or JSONL).
    Export(export::ExportArgs),
    /// Grade answers with a standalone verifier (`verigym verify math`).
    Verify(verify::VerifyArgs),
    /// Run a Python program from stdin against tests in the sandbox.
    Exec(exec::ExecArgs),
    /// Run a benchmark suite against a model: a local checkpoint (run by verigym-train) or
    /// openai:BASE_URL#MODEL for any OpenAI-compatible endpoint; --dry-run lists the tasks,
    /// --compare DIR_A DIR_B sets two evals side by side.
    Eval(verigym_eval::cli::EvalArgs),
    /// Throughput benchmarks (`bench sandbox`; `bench sample|grpo` run in verigym-train).
    Bench {
        #[command(subcommand)]
        target: BenchTarget,
    },
}

#[derive(Subcommand)]
enum BenchTarget {
    /// Sandboxed executions per second of trivial programs.
    Sandbox(exec::BenchArgs),
}

/// Exit status for a usage error (unknown env, bad flag value), as clap uses.
pub const EXIT_USAGE: u8 = 2;

fn main() -> ExitCode {
    if let Some(code) = trainer::forward_if_trainer_command() {
        return code;
    }
    let cli = Cli::parse();
    let result = match cli.command {
        Command::List { json } => list(json).map(|_| ExitCode::SUCCESS),
        Command::Sample(args) => sample::run(args),
        Command::Score(args) => score::run(args),
        Command::RewardServer(args) => serve::run(args),
        Command::Export(args) => export::run(args),
        Command::Verify(args) => verify::run(args),
        Command::Exec(args) => exec::run(args),
        Command::Eval(args) => eval(&args),
        Command::Bench {
            target: BenchTarget::Sandbox(args),
        } => exec::bench(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// `verigym eval` of an endpoint, a dry run or a comparison (local checkpoints were handed
/// to verigym-train before parsing); a usage error exits 2.
fn eval(args: &verigym_eval::cli::EvalArgs) -> Result<ExitCode> {
    match verigym_eval::cli::main(args, None) {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(e @ (verigym_eval::EvalError::Usage(_) | verigym_eval::EvalError::Suite { .. })) => {
            eprintln!("error: {e}");
            Ok(ExitCode::from(EXIT_USAGE))
        }
        Err(e) => Err(e.into()),
    }
}

fn list(json: bool) -> Result<()> {
    use std::io::Write;
    let registry = Registry::builtin();
    let mut out = std::io::stdout().lock();
    if json {
        for e in registry.entries() {
            writeln!(out, "{}", serde_json::to_string(&e.listing())?)?;
        }
    } else {
        let width = registry.names().iter().map(|n| n.len()).max().unwrap_or(4);
        writeln!(
            out,
            "{:width$}  {:11}  {:10}  description",
            "name", "domain", "difficulty"
        )?;
        for e in registry.entries() {
            writeln!(
                out,
                "{:width$}  {:11}  {:10}  {}",
                e.name,
                e.domain.as_str(),
                "1-10",
                e.description
            )?;
        }
    }
    Ok(())
}

/// The builtin registry, plus the JSONL dataset envs (`gsm8k_jsonl`, `math_jsonl`) reading
/// `data` when a file is given.
pub fn cli_registry(data: Option<&str>) -> Registry {
    let mut registry = Registry::builtin();
    if let Some(path) = data {
        use verigym_envs::math::datasets::{gsm8k_entry, math_entry};
        for entry in [gsm8k_entry(path), math_entry(path)] {
            // Both names are fixed and absent from the builtin list (a test checks it).
            let _ = registry.register(entry);
        }
    }
    registry
}

/// The options of `--difficulty` and `--config JSON`, as `sample` and `export` take them.
pub fn env_options(
    difficulty: Option<u8>,
    config: Option<&str>,
) -> Result<verigym_envs::EnvOptions> {
    use anyhow::Context;
    let config = config
        .map(serde_json::from_str)
        .transpose()
        .context("--config is not valid JSON")?;
    Ok(verigym_envs::EnvOptions { difficulty, config })
}

/// Builds an env by name, printing the known names and exiting 2 when it is unknown.
pub fn env_or_exit(
    registry: &Registry,
    name: &str,
    opts: &verigym_envs::EnvOptions,
) -> Result<Box<dyn verigym_envs::Environment>, ExitCode> {
    registry.build(name, opts).map_err(|e| {
        eprintln!("error: {e}");
        ExitCode::from(EXIT_USAGE)
    })
}
