//! `verigym verify math`: grade {"gold","completion"[,"options"]} JSONL lines with the math
//! verifier, in input order on all cores (ordered parallel map of `jsonl::map_lines`).

use crate::jsonl;
use anyhow::Result;
use clap::Args;
use serde::Deserialize;
use std::process::ExitCode;
use verigym_verifiers::math::{verify, MathOptions};

#[derive(Args)]
pub struct VerifyArgs {
    /// Which verifier: math.
    kind: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Line {
    gold: String,
    completion: String,
    #[serde(default)]
    options: MathOptions,
}

pub fn run(args: VerifyArgs) -> Result<ExitCode> {
    if args.kind != "math" {
        eprintln!("error: unknown verifier '{}' (known: math)", args.kind);
        return Ok(ExitCode::from(crate::cli::EXIT_USAGE));
    }
    let grade = |_n: usize, text: &str| -> Result<serde_json::Value, String> {
        let line: Line = serde_json::from_str(text).map_err(|e| format!("invalid line: {e}"))?;
        let v = verify(&line.gold, &line.completion, &line.options);
        let mut out = serde_json::json!({
            "equal": v.equal,
            "extracted": v.extracted,
            "reason": v.reason,
        });
        if let Some(m) = v.method {
            out["method"] = m.into();
        }
        Ok(out)
    };
    let stdin = std::io::stdin().lock();
    let stdout = std::io::BufWriter::new(std::io::stdout().lock());
    let summary = jsonl::map_lines(stdin, stdout, grade)?;
    if summary.errors > 0 {
        eprintln!(
            "error: {} of {} lines could not be graded",
            summary.errors, summary.lines
        );
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}
