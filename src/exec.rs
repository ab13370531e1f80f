//! `verigym exec` and `verigym bench sandbox`: the code sandbox from the command line.
//! (Filled in by the code-sandbox issue.)

use anyhow::{bail, Result};
use clap::Args;
use std::process::ExitCode;

#[derive(Args)]
pub struct ExecArgs {
    /// Tests file: {"io": [...]} or {"function": "name", "cases": [...]}.
    #[arg(long)]
    tests: std::path::PathBuf,
}

#[derive(Args)]
pub struct BenchArgs {
    /// Number of executions.
    #[arg(long, default_value_t = 1000)]
    n: usize,
}

pub fn run(args: ExecArgs) -> Result<ExitCode> {
    bail!(
        "sandbox not available yet (tests file {})",
        args.tests.display()
    )
}

pub fn bench(args: BenchArgs) -> Result<ExitCode> {
    bail!("sandbox bench not available yet ({} executions)", args.n)
}
