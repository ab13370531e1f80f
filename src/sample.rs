//! `verigym sample`: tasks as JSONL, generated in parallel, printed in index order.

use crate::env_or_exit;
use anyhow::{Context, Result};
use clap::Args;
use rayon::prelude::*;
use std::io::Write;
use std::process::ExitCode;

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
}

pub fn run(args: SampleArgs) -> Result<ExitCode> {
    let opts = crate::env_options(args.difficulty, args.config.as_deref())?;
    let env = match env_or_exit(&crate::cli_registry(args.data.as_deref()), &args.env, &opts) {
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
    while lo < end {
        let hi = end.min(lo + CHUNK);
        let lines: Vec<String> = (lo..hi)
            .into_par_iter()
            .map(|i| {
                let task = env.generate(args.seed, i)?;
                serde_json::to_string(&task).map_err(anyhow::Error::from)
            })
            .collect::<Result<_>>()?;
        for l in lines {
            out.write_all(l.as_bytes())?;
            out.write_all(b"\n")?;
        }
        lo = hi;
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}
