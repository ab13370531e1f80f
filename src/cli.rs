//! The `verigym` command line, on any registry: [`run`] parses the process's arguments and
//! runs the command on the registry it is given, with `--envs-file`, `$VERIGYM_ENVS_FILE`
//! and `--data` adding to it as they add to the builtins in `verigym` itself.
//!
//! Commands that run in another process reach the registry's own families (those that are
//! not builtin) through the JSON-lines protocol: `verigym-train` (`train`, `eval` of a local
//! checkpoint, ...) and `eval`'s suites get an envs file whose entries run this program's
//! hidden `env-process NAME` command, named in `$VERIGYM_ENVS_FILE` (see `handoff`).

use crate::{exec, export, handoff, label, new_env, play, sample, score, serve, trainer, verify};
use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use verigym_envs::external::serve_env::EnvServer;
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
        /// An envs file (TOML) whose environments are listed beside the builtins.
        #[arg(long)]
        envs_file: Option<PathBuf>,
    },
    /// Generate tasks as JSONL, each with a reference solution that scores 1.0.
    Sample(sample::SampleArgs),
    /// Score completions: reads task lines (as printed by `sample`) with a "completion", or
    /// with the assistant "turns" of a multi-turn episode (replayed, transcript written).
    Score(score::ScoreArgs),
    /// Play one episode as JSON lines: {"content": ...} turns in, env messages and the
    /// verdict out (multi-turn envs: tools, games; single-turn envs end after one turn).
    Play(play::PlayArgs),
    /// Collect people's feedback on completions (compare pairs, rate, or rank) into
    /// feedback JSONL for a reward model; resumable, single keys (1 / 2 / = / s / u / q).
    Label(label::LabelArgs),
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
    /// Write a starter crate for a new environment: a family, its conformance tests, and a
    /// binary that is this command line with it added.
    NewEnv(new_env::NewEnvArgs),
    /// Serve one environment of this program over the JSON-lines protocol on stdin/stdout
    /// (what the envs files handed to other processes run).
    #[command(hide = true)]
    EnvProcess {
        /// The environment.
        name: String,
        /// Working directory to serve from (the caller's, as the family may read files).
        #[arg(long)]
        cwd: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum BenchTarget {
    /// Sandboxed executions per second of trivial programs.
    Sandbox(exec::BenchArgs),
}

/// Exit status for a usage error (unknown env, bad flag value), as clap uses.
pub const EXIT_USAGE: u8 = 2;

/// Runs the command named by the process's arguments on `registry` and returns its exit
/// status: what `verigym` does on the builtins, on any registry. Commands, flags, output
/// and exit codes are those of `verigym`.
///
/// Pass the builtins plus your own families (`Registry::builtin()` and `register_family`);
/// envs files are added by `--envs-file` and `$VERIGYM_ENVS_FILE`, not by the registry
/// passed in (loading one there too would register its names twice).
pub fn run(registry: Registry) -> ExitCode {
    if let Some(code) = trainer::forward_if_trainer_command(&registry) {
        return code;
    }
    let cli = Cli::parse();
    let result = match cli.command {
        Command::List { json, envs_file } => {
            list(&registry, json, envs_file.as_deref()).map(|_| ExitCode::SUCCESS)
        }
        Command::Sample(args) => sample::run(args, &registry),
        Command::Score(args) => score::run(args, &registry),
        Command::Play(args) => play::run(args, &registry),
        Command::Label(args) => label::run(args),
        Command::RewardServer(args) => serve::run(args, &registry),
        Command::Export(args) => export::run(args, &registry),
        Command::Verify(args) => verify::run(args),
        Command::Exec(args) => exec::run(args),
        Command::Eval(args) => eval(&args, &registry),
        Command::Bench {
            target: BenchTarget::Sandbox(args),
        } => exec::bench(args),
        Command::NewEnv(args) => new_env::run(args, &registry),
        Command::EnvProcess { name, cwd } => env_process(&registry, &name, cwd.as_deref()),
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
/// to verigym-train before parsing); a usage error exits 2. Suites build their own
/// registries from the builtins and envs files, so the registry's own families reach them
/// through `$VERIGYM_ENVS_FILE`.
fn eval(args: &verigym_eval::cli::EvalArgs, registry: &Registry) -> Result<ExitCode> {
    if let Some(value) = handoff::envs_file_var(registry)? {
        // Still one thread here: nothing reads the environment concurrently.
        std::env::set_var(verigym_envs::external::envs_file::ENVS_FILE_VAR, value);
    }
    match verigym_eval::cli::main(args, None) {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(e @ (verigym_eval::EvalError::Usage(_) | verigym_eval::EvalError::Suite { .. })) => {
            eprintln!("error: {e}");
            Ok(ExitCode::from(EXIT_USAGE))
        }
        Err(e) => Err(e.into()),
    }
}

fn list(registry: &Registry, json: bool, envs_file: Option<&Path>) -> Result<()> {
    use std::io::Write;
    let registry = with_envs_files(registry, envs_file)?;
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

/// `env-process NAME`: serves one env of `registry` (never of an envs file: the caller
/// started this process from one) until stdin ends.
fn env_process(registry: &Registry, name: &str, cwd: Option<&Path>) -> Result<ExitCode> {
    let entry = match registry.get(name) {
        Ok(e) => e.clone(),
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::from(EXIT_USAGE));
        }
    };
    if let Some(dir) = cwd {
        std::env::set_current_dir(dir)
            .with_context(|| format!("--cwd {}: cannot enter it", dir.display()))?;
    }
    let stdin = std::io::stdin().lock();
    let stdout = std::io::BufWriter::new(std::io::stdout().lock());
    EnvServer::new(entry)
        .serve(stdin, stdout)
        .context("env-process: reading requests or writing replies")?;
    Ok(ExitCode::SUCCESS)
}

/// `base` plus the envs of `$VERIGYM_ENVS_FILE` and of `--envs-file`.
pub(crate) fn with_envs_files(base: &Registry, envs_file: Option<&Path>) -> Result<Registry> {
    let mut registry = base.clone();
    registry.add_envs_files(envs_file)?;
    Ok(registry)
}

/// `base`, the environments of `--envs-file` (and `$VERIGYM_ENVS_FILE`), and the JSONL
/// dataset envs (`gsm8k_jsonl`, `math_jsonl`) reading `data` when a file is given.
pub(crate) fn cli_registry(
    base: &Registry,
    data: Option<&str>,
    envs_file: Option<&Path>,
) -> Result<Registry> {
    let mut registry = with_envs_files(base, envs_file)?;
    if let Some(path) = data {
        use verigym_envs::math::datasets::{gsm8k_entry, math_entry};
        for entry in [gsm8k_entry(path), math_entry(path)] {
            // Both names are fixed and absent from the builtin list (a test checks it); an
            // envs file (or a registry passed to `run`) that took one of them keeps it.
            let _ = registry.register(entry);
        }
    }
    Ok(registry)
}

/// The options of `--difficulty` and `--config JSON`, as `sample` and `export` take them.
pub(crate) fn env_options(
    difficulty: Option<u8>,
    config: Option<&str>,
) -> Result<verigym_envs::EnvOptions> {
    let config = config
        .map(serde_json::from_str)
        .transpose()
        .context("--config is not valid JSON")?;
    Ok(verigym_envs::EnvOptions { difficulty, config })
}

/// Builds an env by name, printing the known names and exiting 2 when it is unknown.
pub(crate) fn env_or_exit(
    registry: &Registry,
    name: &str,
    opts: &verigym_envs::EnvOptions,
) -> Result<Box<dyn verigym_envs::Environment>, ExitCode> {
    registry.build(name, opts).map_err(|e| {
        eprintln!("error: {e}");
        ExitCode::from(EXIT_USAGE)
    })
}

/// `s` as a TOML basic string, quotes included.
pub(crate) fn toml_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_strings_escape_quotes_backslashes_and_controls() {
        assert_eq!(toml_string("a b"), "\"a b\"");
        assert_eq!(
            toml_string("C:\\x \"y\"\n\u{7f}"),
            "\"C:\\\\x \\\"y\\\"\\u000A\\u007F\""
        );
    }
}
