//! `verigym verify math`: grade {"gold","completion"} JSONL lines with the math verifier.
//! (Filled in by the math-verifier issue.)

use anyhow::{bail, Result};
use clap::Args;
use std::process::ExitCode;

#[derive(Args)]
pub struct VerifyArgs {
    /// Which verifier: math.
    kind: String,
}

pub fn run(args: VerifyArgs) -> Result<ExitCode> {
    bail!("verifier '{}' is not available yet", args.kind)
}
