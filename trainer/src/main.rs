//! `verigym-train`: the libtorch-linked half of the CLI. `verigym` forwards model commands
//! (train, generate, serve, bench sample|grpo, data, experiment, demo) here.

mod commands;

use anyhow::{Context, Result};
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
    /// The demo run of the README: tokenizer and small model from nothing, SFT, eval, GRPO,
    /// eval again; writes the run folder (report.md, summary.json, plots, model).
    Demo {
        /// Where the model runs: auto (CUDA when available), cpu or cuda.
        #[arg(long, default_value = "auto")]
        device: DeviceChoice,
        /// A one-minute version (used by CI).
        #[arg(long)]
        quick: bool,
        /// The run folder.
        #[arg(long, default_value = "runs/demo")]
        out: std::path::PathBuf,
        /// A JSON file of overrides merged onto the defaults, e.g.
        /// {"sft": {"max_steps": 800}, "rl": {"steps": 60}} (see summary.json's "config").
        #[arg(long)]
        config: Option<std::path::PathBuf>,
    },
    /// Training data.
    Data {
        #[command(subcommand)]
        what: commands::data::DataCommand,
    },
    /// Reproduce a finding on a CPU: beyond-imitation, tokens-to-think, tokens-not-characters, tools,
    /// reward-hacking.
    Experiment {
        name: String,
        #[arg(long, default_value = "auto")]
        device: DeviceChoice,
        /// Output folder (default runs/experiment-NAME).
        #[arg(long)]
        out: Option<std::path::PathBuf>,
        /// Seeds to average over.
        #[arg(long, default_value_t = 3)]
        seeds: u64,
        /// The first seed (seeds run first-seed, first-seed + 1, ...). Runs of single seeds
        /// into the same --out can go in parallel; a later run over all of them resumes each
        /// finished seed (beyond-imitation keeps per-seed results).
        #[arg(long, default_value_t = 0)]
        first_seed: u64,
        /// A much shorter run (smoke test; numbers not meaningful).
        #[arg(long)]
        quick: bool,
        /// A JSON file of overrides merged onto the experiment's defaults, e.g.
        /// {"rl": {"steps": 120}} (see the experiment's summary.json "config").
        #[arg(long)]
        config: Option<std::path::PathBuf>,
    },
    /// The three training stages: `train pretrain`, `train sft`, `train grpo`, each with
    /// `--config FILE.toml`, `--set key=value` and `--resume`.
    Train {
        #[command(subcommand)]
        what: TrainCommand,
    },
    /// Run a benchmark suite against a local checkpoint (`verigym eval`; endpoints, dry runs
    /// and comparisons run in `verigym` without libtorch).
    Eval(verigym_eval::cli::EvalArgs),
    /// Generate a completion with a checkpoint (`--temperature 0` is greedy).
    Generate(commands::policy::GenerateArgs),
    /// Serve a checkpoint over an OpenAI-compatible HTTP API (/v1/models,
    /// /v1/completions, /v1/chat/completions), batching concurrent requests.
    Serve(commands::serve::ServeArgs),
    /// Checkpoint tools: convert (load and save again), merge (LoRA adapters into their
    /// base), init (fresh random model).
    Checkpoint {
        #[command(subcommand)]
        what: commands::policy::CheckpointCommand,
    },
    /// Reward models: score completions (`rm score`), make one from a checkpoint (`rm init`).
    Rm {
        #[command(subcommand)]
        what: commands::rm::RmCommand,
    },
    /// What this machine gives the trainer: CPU model and features, the kernel code path
    /// (VERIGYM_CPU_PATH forces one), libtorch's version and devices, thread counts.
    Doctor {
        /// One JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Throughput benchmarks.
    Bench {
        #[command(subcommand)]
        target: BenchCommand,
    },
}

#[derive(Subcommand)]
enum TrainCommand {
    /// Next-token pretraining on plain text (`[data] path`: a file or a folder of them).
    Pretrain(commands::train::StageArgs),
    /// Supervised fine-tuning on {prompt, completion} JSONL, loss on completions only.
    Sft(commands::train::StageArgs),
    /// GRPO with the environments' verifiers as reward.
    Grpo(commands::train::StageArgs),
    /// A reward model (or an ensemble) from people's feedback: comparisons, ratings or
    /// orderings JSONL (`[data] path`), the Bradley–Terry loss, held-out pairwise accuracy.
    Rm(commands::train::StageArgs),
}

#[derive(Subcommand)]
enum BenchCommand {
    /// New tokens/s of batched sampling; prints {"tokens_per_s": ...}.
    Sample(commands::policy::BenchSampleArgs),
    /// Seconds per GRPO step on the TRL comparison settings; prints {"step_s": ...}.
    Grpo(commands::bench_grpo::BenchGrpoArgs),
}

/// Runs the command; an error prints as one `error:` line with its causes (no backtrace,
/// whatever RUST_BACKTRACE says: these are the user's errors, not the program's) and
/// exits 1.
fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run() -> Result<()> {
    verigym_trainer::device::tune_allocator();
    let cli = Cli::parse();
    // A VERIGYM_CPU_PATH that names no path, or one this CPU lacks, is refused up front
    // rather than silently replaced.
    verigym_trainer::kernels::cpu::CpuPath::from_env()?;
    match cli.command {
        Command::Doctor { json } => verigym_trainer::device::doctor(json),
        Command::Demo {
            device,
            quick,
            out,
            config,
        } => {
            let device = device.resolve().map_err(anyhow::Error::msg)?;
            let mut cfg = verigym_trainer::recipes::demo::DemoConfig::new(quick);
            if let Some(path) = config {
                cfg = cfg
                    .with_overrides(&read_json(&path)?)
                    .with_context(|| format!("{}", path.display()))?;
            }
            let s = verigym_trainer::recipes::demo::run(device, &cfg, &out, true)?;
            println!(
                "held-out accuracy: SFT {:.3} -> GRPO {:.3} ({:.0}s); run folder {}",
                s.sft_accuracy,
                s.grpo_accuracy,
                s.seconds.total,
                out.display()
            );
        }
        Command::Data { what } => commands::data::run(what)?,
        Command::Experiment {
            name,
            device,
            out,
            seeds,
            first_seed,
            quick,
            config,
        } => {
            let device = device.resolve().map_err(anyhow::Error::msg)?;
            let out = out.unwrap_or_else(|| format!("runs/experiment-{name}").into());
            let overrides = config.as_deref().map(read_json).transpose()?;
            verigym_trainer::recipes::experiments::run(
                &name,
                device,
                &out,
                first_seed..first_seed.saturating_add(seeds),
                quick,
                overrides.as_ref(),
            )
            .with_context(|| match &config {
                Some(p) => format!("experiment {name} (config {})", p.display()),
                None => format!("experiment {name}"),
            })?;
        }
        Command::Train { what } => match what {
            TrainCommand::Pretrain(args) => commands::train::pretrain(args)?,
            TrainCommand::Sft(args) => commands::train::sft(args)?,
            TrainCommand::Grpo(args) => commands::train::grpo(args)?,
            TrainCommand::Rm(args) => commands::train::rm(args)?,
        },
        Command::Eval(args) => commands::eval::run(&args)?,
        Command::Generate(args) => commands::policy::generate(&args)?,
        Command::Serve(args) => commands::serve::run(&args)?,
        Command::Checkpoint { what } => commands::policy::checkpoint(&what)?,
        Command::Rm { what } => commands::rm::run(&what)?,
        Command::Bench {
            target: BenchCommand::Sample(args),
        } => println!("{}", commands::policy::bench_sample(&args)?),
        Command::Bench {
            target: BenchCommand::Grpo(args),
        } => commands::bench_grpo::run(args)?,
    }
    Ok(())
}

/// A JSON file, with its name in the error.
fn read_json(path: &std::path::Path) -> Result<serde_json::Value> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{}: not valid JSON", path.display()))
}
