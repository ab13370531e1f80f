//! `verigym score`: grade completions attached to task lines, in order, on all cores.

use crate::jsonl;
use anyhow::{Context, Result};
use clap::Args;
use std::process::ExitCode;
use verigym_envs::{Registry, Scorer};

#[derive(Args)]
pub struct ScoreArgs {
    /// Environment the tasks belong to.
    #[arg(long)]
    env: String,
    /// A JSONL dataset file for the `gsm8k_jsonl` and `math_jsonl` envs.
    #[arg(long)]
    data: Option<String>,
    /// JSON object overriding config fields, as given to `sample`.
    #[arg(long)]
    config: Option<String>,
    /// An envs file (TOML): environments in any language or datasets with a chosen
    /// verifier, added beside the builtins.
    #[arg(long)]
    envs_file: Option<std::path::PathBuf>,
}

pub fn run(args: ScoreArgs, registry: &Registry) -> Result<ExitCode> {
    let config: Option<serde_json::Value> = args
        .config
        .as_deref()
        .map(serde_json::from_str)
        .transpose()
        .context("--config is not valid JSON")?;
    // Fails fast on an unknown env or a bad config, before reading any input. Each task is
    // then graded under the config it was generated with (its own difficulty level).
    let registry =
        crate::cli::cli_registry(registry, args.data.as_deref(), args.envs_file.as_deref())?;
    let scorer = match Scorer::for_env(registry, &args.env, config) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::from(crate::cli::EXIT_USAGE));
        }
    };
    let stdin = std::io::stdin().lock();
    let stdout = std::io::BufWriter::new(std::io::stdout().lock());
    let summary = jsonl::map_lines(stdin, stdout, |n, text| scorer.record_json(n, text))?;
    if summary.errors > 0 {
        eprintln!(
            "error: {} of {} lines could not be scored",
            summary.errors, summary.lines
        );
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}
