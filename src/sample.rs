//! `verigym sample`: tasks as JSONL, generated in parallel, printed in index order.

use crate::cli::env_or_exit;
use anyhow::{Context, Result};
use clap::Args;
use rayon::prelude::*;
use std::io::Write;
use std::process::ExitCode;
use verigym_envs::Registry;

#[derive(Args)]
pub struct SampleArgs {
    /// Environment name (see `verigym list`).
    #[arg(long)]
    env: String,
    /// Number of tasks.
    #[arg(long, default_value_t = 10)]
    n: u64,
    /// Seed; task i of seed s is the same on every machine and every run.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// First task index.
    #[arg(long, default_value_t = 0)]
    start: u64,
    /// Difficulty level 1..=10.
    #[arg(long)]
    difficulty: Option<u8>,
    /// A JSONL dataset file for the `gsm8k_jsonl` and `math_jsonl` envs.
    #[arg(long)]
    data: Option<String>,
    /// JSON object overriding fields of the difficulty's config.
    #[arg(long)]
    config: Option<String>,
    /// An envs file (TOML): environments in any language or datasets with a chosen
    /// verifier, added beside the builtins.
    #[arg(long)]
    envs_file: Option<std::path::PathBuf>,
}

pub fn run(args: SampleArgs, registry: &Registry) -> Result<ExitCode> {
    let opts = crate::cli::env_options(args.difficulty, args.config.as_deref())?;
    let env = match env_or_exit(
        &crate::cli::cli_registry(registry, args.data.as_deref(), args.envs_file.as_deref())?,
        &args.env,
        &opts,
    ) {
        Ok(e) => e,
        Err(code) => return Ok(code),
    };
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    const CHUNK: u64 = 8192;
    let end = args
        .start
        .checked_add(args.n)
        .context("--start + --n overflows")?;
    let mut lo = args.start;
    let mut errors = 0u64;
    while lo < end {
        let hi = end.min(lo + CHUNK);
        let lines: Vec<Result<String, verigym_envs::EnvError>> = (lo..hi)
            .into_par_iter()
            .map(|i| {
                env.generate(args.seed, i).and_then(|t| {
                    serde_json::to_string(&t)
                        .map_err(|e| verigym_envs::EnvError::task(&args.env, e.to_string()))
                })
            })
            .collect();
        for (i, l) in (lo..hi).zip(lines) {
            // A task that could not be made (an external env crashed, timed out or replied
            // garbage) keeps its line as an error record; an env that stopped ends the run.
            let l = match l {
                Ok(l) => l,
                Err(e @ verigym_envs::EnvError::Stopped { .. }) => {
                    out.flush()?;
                    return Err(e.into());
                }
                Err(e) => {
                    errors += 1;
                    serde_json::json!({"env": args.env, "seed": args.seed, "index": i,
                        "error": e.to_string()})
                    .to_string()
                }
            };
            out.write_all(l.as_bytes())?;
            out.write_all(b"\n")?;
        }
        lo = hi;
    }
    if errors > 0 {
        out.flush()?;
        eprintln!("error: {errors} of {} tasks could not be generated", args.n);
        return Ok(ExitCode::FAILURE);
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}
