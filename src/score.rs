//! `verigym score`: grade completions attached to task lines, in order, on all cores.

use crate::{env_or_exit, jsonl};
use anyhow::{Context, Result};
use clap::Args;
use serde::Deserialize;
use std::process::ExitCode;
use std::sync::OnceLock;
use verigym_envs::env::{check_difficulty, MAX_DIFFICULTY};
use verigym_envs::{EnvOptions, Environment, Task};

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
}

#[derive(Deserialize)]
struct Line {
    #[serde(flatten)]
    task: Task,
    completion: String,
}

pub fn run(args: ScoreArgs) -> Result<ExitCode> {
    let config: Option<serde_json::Value> = args
        .config
        .as_deref()
        .map(serde_json::from_str)
        .transpose()
        .context("--config is not valid JSON")?;
    let registry = crate::cli_registry(args.data.as_deref());
    // Fail fast on an unknown env or a bad config, before reading any input.
    let opts = |d: u8| EnvOptions {
        difficulty: Some(d),
        config: config.clone(),
    };
    if let Err(code) = env_or_exit(&registry, &args.env, &opts(1)) {
        return Ok(code);
    }
    // One env per difficulty level, built on first use: a task is graded under the config
    // it was generated with.
    let envs: Vec<OnceLock<Result<Box<dyn Environment>, String>>> =
        (0..MAX_DIFFICULTY).map(|_| OnceLock::new()).collect();
    let score_line = |n: usize, text: &str| -> Result<serde_json::Value, String> {
        let line: Line =
            serde_json::from_str(text).map_err(|e| format!("invalid task line: {e}"))?;
        if line.task.env != args.env {
            return Err(format!(
                "task is for env '{}', not '{}'",
                line.task.env, args.env
            ));
        }
        let d = check_difficulty(line.task.difficulty).map_err(|e| e.to_string())?;
        let env = envs[usize::from(d) - 1]
            .get_or_init(|| {
                registry
                    .build(&args.env, &opts(d))
                    .map_err(|e| e.to_string())
            })
            .as_ref()
            .map_err(Clone::clone)?;
        let verdict = env
            .verify(&line.task, &line.completion)
            .map_err(|e| e.to_string())?;
        let mut v = serde_json::to_value(&verdict).map_err(|e| e.to_string())?;
        v["line"] = n.into();
        v["seed"] = line.task.seed.into();
        v["index"] = line.task.index.into();
        Ok(v)
    };
    let stdin = std::io::stdin().lock();
    let stdout = std::io::BufWriter::new(std::io::stdout().lock());
    let summary = jsonl::map_lines(stdin, stdout, score_line)?;
    if summary.errors > 0 {
        eprintln!(
            "error: {} of {} lines could not be scored",
            summary.errors, summary.lines
        );
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}
