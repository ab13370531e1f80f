//! `verigym eval`: its arguments and the command, shared by both binaries. `verigym` runs it
//! for endpoints, `--dry-run` and `--compare`; a local checkpoint goes to `verigym-train`,
//! which passes [`main`] a factory for its batched sampler.

use crate::backend::Backend;
use crate::openai::OpenAi;
use crate::run::{run, RunOptions};
use crate::suite::{Mode, Suite};
use crate::EvalError;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone, clap::Args)]
pub struct EvalArgs {
    /// A builtin suite (core, mini, sharp-edges) or a suite TOML file.
    #[arg(long, required_unless_present = "compare")]
    pub suite: Option<String>,
    /// A local checkpoint folder, or openai:BASE_URL#MODEL_NAME for any OpenAI-compatible
    /// endpoint (vLLM, SGLang, llama.cpp, `verigym serve`, hosted APIs).
    #[arg(long, required_unless_present_any = ["compare", "dry_run"])]
    pub model: Option<String>,
    /// The run folder (results.jsonl, summary.json, report.md, plots/). Default
    /// runs/eval-SUITE. Restarting with the same arguments resumes it.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// List what would run (entries, tasks, samples) and exit.
    #[arg(long)]
    pub dry_run: bool,
    /// Requests in flight at once (endpoints).
    #[arg(long, default_value_t = 8)]
    pub concurrency: usize,
    /// Extra tries of a request that failed with 429, 5xx, a timeout or a dropped
    /// connection (with exponential backoff).
    #[arg(long, default_value_t = 3)]
    pub retries: u32,
    /// Seconds per request.
    #[arg(long, default_value_t = 60.0)]
    pub timeout_s: f64,
    /// The environment variable holding the API key (default OPENAI_API_KEY; none needed
    /// when it is unset).
    #[arg(long)]
    pub api_key_env: Option<String>,
    /// Print B minus A per env with 95% intervals for two finished eval folders.
    #[arg(long, num_args = 2, value_names = ["DIR_A", "DIR_B"])]
    pub compare: Option<Vec<PathBuf>>,
    /// Tasks per sampler batch (local checkpoints).
    #[arg(long, default_value_t = 32)]
    pub batch_size: usize,
    /// Where a local checkpoint runs: auto, cpu or cuda.
    #[arg(long, default_value = "auto")]
    pub device: String,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
}

impl EvalArgs {
    /// Whether this invocation samples a local checkpoint (and so needs libtorch).
    pub fn is_local(&self) -> bool {
        self.compare.is_none()
            && !self.dry_run
            && self
                .model
                .as_deref()
                .is_some_and(|m| !m.starts_with("openai:"))
    }
}

/// Whether raw command-line arguments (after the binary name) are an eval of a local
/// checkpoint; `verigym` forwards those to `verigym-train` without parsing them.
pub fn args_are_local_eval(args: &[String]) -> bool {
    if args.first().map(String::as_str) != Some("eval") {
        return false;
    }
    if args
        .iter()
        .any(|a| a == "--dry-run" || a == "--compare" || a.starts_with("--compare="))
    {
        return false;
    }
    let model = args.iter().enumerate().find_map(|(i, a)| {
        if a == "--model" {
            args.get(i + 1).cloned()
        } else {
            a.strip_prefix("--model=").map(String::from)
        }
    });
    model.is_some_and(|m| !m.starts_with("openai:"))
}

/// Makes the backend for a local checkpoint (`verigym-train`'s sampler).
pub type LocalFactory<'a> = &'a dyn Fn(&EvalArgs, &Suite, &str) -> Result<Box<dyn Backend>, String>;

/// Runs `verigym eval`; prints the table (or the dry run, or the comparison) on stdout.
pub fn main(args: &EvalArgs, local: Option<LocalFactory>) -> Result<(), EvalError> {
    if let Some(dirs) = &args.compare {
        let [a, b] = dirs.as_slice() else {
            return Err(EvalError::Usage("--compare takes two folders".into()));
        };
        let (_, text) = crate::report::compare(a, b)?;
        print!("{text}");
        return Ok(());
    }
    let name = args
        .suite
        .as_deref()
        .ok_or_else(|| EvalError::Usage("--suite is required".into()))?;
    let suite = Suite::load(name)?;
    if args.dry_run {
        print!("{}", dry_run(&suite)?);
        return Ok(());
    }
    if !(args.timeout_s.is_finite() && args.timeout_s > 0.0) {
        return Err(EvalError::Usage(format!(
            "--timeout-s must be > 0, got {}",
            args.timeout_s
        )));
    }
    if args.concurrency == 0 || args.batch_size == 0 {
        return Err(EvalError::Usage(
            "--concurrency and --batch-size must be at least 1".into(),
        ));
    }
    let model = args
        .model
        .as_deref()
        .ok_or_else(|| EvalError::Usage("--model is required".into()))?;
    let backend: Box<dyn Backend> = match OpenAi::parse_spec(model) {
        Some(spec) => {
            let (url, name) = spec.map_err(EvalError::Usage)?;
            let var = args.api_key_env.as_deref().unwrap_or("OPENAI_API_KEY");
            let key = std::env::var(var).ok().filter(|k| !k.is_empty());
            if key.is_none() && args.api_key_env.is_some() {
                return Err(EvalError::Usage(format!(
                    "--api-key-env {var}: the variable is not set"
                )));
            }
            Box::new(OpenAi::new(
                url,
                name,
                key,
                args.concurrency,
                Duration::from_secs_f64(args.timeout_s),
            ))
        }
        None => match local {
            Some(make) => make(args, &suite, model).map_err(EvalError::Usage)?,
            None => {
                return Err(EvalError::Usage(
                    "local checkpoints are evaluated by verigym-train".into(),
                ))
            }
        },
    };
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("runs/eval-{}", suite.name)));
    let opts = RunOptions {
        retries: args.retries,
        progress: !args.quiet,
        ..RunOptions::default()
    };
    let summary = run(&suite, backend.as_ref(), &out, &opts)?;
    print!("{}", crate::report::table(&summary));
    println!(
        "accuracy {:.3} [{:.3}, {:.3}] over {} tasks ({} errors); run folder {}",
        summary.overall.accuracy.mean,
        summary.overall.accuracy.lo,
        summary.overall.accuracy.hi,
        summary.overall.tasks,
        summary.overall.errors,
        out.display()
    );
    Ok(())
}

/// What a suite will run, entry by entry.
pub fn dry_run(suite: &Suite) -> Result<String, EvalError> {
    let expanded = suite.expand()?;
    let mut out = String::new();
    let mode = match suite.mode {
        Mode::Chat => "chat",
        Mode::Completion => "completion",
    };
    let _ = writeln!(
        out,
        "suite {}: {} samples per task, temperature {}, top_p {}, max_tokens {}, {mode} mode",
        suite.name, suite.samples, suite.temperature, suite.top_p, suite.max_tokens
    );
    if let Some(t) = &suite.prompt_template {
        let _ = writeln!(out, "prompt template: {t:?}");
    }
    if let Some(s) = &suite.system_prompt {
        let _ = writeln!(out, "system prompt: {s:?}");
    }
    if suite.samples > 1 && suite.temperature == 0.0 {
        let _ = writeln!(
            out,
            "note: {} greedy samples per task are all alike unless the server seeds them",
            suite.samples
        );
    }
    let _ = writeln!(out, "\n| entry | env | difficulty | tasks | seed |");
    let _ = writeln!(out, "|---:|---|---:|---:|---:|");
    for ((entry, d, name), _) in &expanded.envs {
        let n = expanded
            .items
            .iter()
            .filter(|i| i.key.entry == *entry && i.key.difficulty == *d && &i.key.env == name)
            .count();
        let seed = suite.envs.get(*entry).map(|e| e.seed).unwrap_or(0);
        let _ = writeln!(out, "| {entry} | {name} | {d} | {n} | {seed} |");
    }
    let _ = writeln!(
        out,
        "\n{} tasks x {} samples = {} completions",
        expanded.items.len(),
        suite.samples,
        expanded.items.len() * suite.samples
    );
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &[&str]) -> Vec<String> {
        s.iter().map(|a| a.to_string()).collect()
    }

    #[test]
    fn only_local_models_go_to_the_trainer() {
        assert!(args_are_local_eval(&v(&[
            "eval", "--suite", "mini", "--model", "runs/m"
        ])));
        assert!(args_are_local_eval(&v(&[
            "eval",
            "--model=runs/m",
            "--suite",
            "mini"
        ])));
        assert!(!args_are_local_eval(&v(&[
            "eval",
            "--suite",
            "mini",
            "--model",
            "openai:http://x/v1#m"
        ])));
        assert!(!args_are_local_eval(&v(&[
            "eval",
            "--suite",
            "mini",
            "--dry-run"
        ])));
        assert!(!args_are_local_eval(&v(&["eval", "--compare", "a", "b"])));
        assert!(!args_are_local_eval(&v(&["sample", "--model", "x"])));
    }

    #[test]
    fn dry_run_lists_every_entry() {
        let text = dry_run(&Suite::load("mini").unwrap()).unwrap();
        assert!(text.contains("| 0 | arithmetic | 5 | 10 | 0 |"), "{text}");
        assert!(
            text.contains("60 tasks x 1 samples = 60 completions"),
            "{text}"
        );
    }
}
