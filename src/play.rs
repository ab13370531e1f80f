//! `verigym play`: one episode as a JSON-lines conversation on stdin / stdout, for driving
//! an env from any program (an agent loop, a test, a person typing).
//!
//! Out: `{"type": "start", "messages": [...], "tools": [...]}` (the prompt messages, the
//! tools as OpenAI-style `{"type": "function", "function": {...}}` objects); then, for each
//! assistant turn read, `{"type": "env", "messages": [...]}` while the episode goes on, or
//! `{"type": "end", "reward", "correct", "components", "reason", "turns", ...}` when it
//! ends (exit 0). In: one `{"content": "assistant text"}` per line. A line that is not such
//! an object gets `{"type": "error", "error": ...}` and uses no turn. Input that ends
//! before the episode does gets the cut-off `end` line (reward 0, a reason). The token
//! budget (`max_tokens`) is not enforced here: there is no tokenizer.

use crate::cli::env_or_exit;
use anyhow::Result;
use clap::Args;
use serde_json::{json, Value};
use std::io::{BufRead, Write};
use std::process::ExitCode;
use verigym_envs::tools::tool_object;
use verigym_envs::{start_episode, Message, Prompt, Registry, Step, Verdict};

#[derive(Args)]
pub struct PlayArgs {
    /// Environment name (see `verigym list`).
    #[arg(long)]
    env: String,
    /// Seed of the task.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Index of the task.
    #[arg(long, default_value_t = 0)]
    index: u64,
    /// Difficulty level 1..=10.
    #[arg(long)]
    difficulty: Option<u8>,
    /// JSON object overriding fields of the difficulty's config.
    #[arg(long)]
    config: Option<String>,
    /// An envs file (TOML) whose environments are added beside the builtins.
    #[arg(long)]
    envs_file: Option<std::path::PathBuf>,
}

fn send(out: &mut impl Write, v: &Value) -> Result<()> {
    serde_json::to_writer(&mut *out, v)?;
    out.write_all(b"\n")?;
    out.flush()?;
    Ok(())
}

fn end_line(v: &Verdict, stats: verigym_envs::EpisodeStats) -> Value {
    json!({
        "type": "end",
        "reward": v.reward,
        "correct": v.correct,
        "components": v.components,
        "reason": v.reason,
        "turns": stats.turns,
        "tool_calls": stats.tool_calls,
        "tool_errors": stats.tool_errors,
    })
}

/// The assistant text of one input line, or why the line is not one.
fn read_turn(line: &str) -> Result<String, String> {
    let v: Value = serde_json::from_str(line).map_err(|e| format!("not JSON: {e}"))?;
    match v.get("content") {
        Some(Value::String(s)) => Ok(s.clone()),
        _ => Err("expected an object with a string \"content\"".into()),
    }
}

pub fn run(args: PlayArgs, registry: &Registry) -> Result<ExitCode> {
    let opts = crate::cli::env_options(args.difficulty, args.config.as_deref())?;
    let registry = crate::cli::with_envs_files(registry, args.envs_file.as_deref())?;
    let env = match env_or_exit(&registry, &args.env, &opts) {
        Ok(e) => e,
        Err(code) => return Ok(code),
    };
    let task = env.generate(args.seed, args.index)?;
    let messages = match &task.prompt {
        Prompt::Text(t) => vec![Message::new("user", t.as_str())],
        Prompt::Chat(m) => m.clone(),
    };
    let tools: Vec<Value> = env.tools().iter().map(tool_object).collect();
    let mut out = std::io::stdout().lock();
    send(
        &mut out,
        &json!({ "type": "start", "messages": messages, "tools": tools }),
    )?;
    let mut episode = start_episode(env.as_ref(), task);
    let stdin = std::io::stdin().lock();
    for line in stdin.split(b'\n') {
        let line = line?;
        let text = String::from_utf8_lossy(&line);
        if text.trim().is_empty() {
            continue;
        }
        let turn = match read_turn(&text) {
            Ok(t) => t,
            Err(e) => {
                send(&mut out, &json!({ "type": "error", "error": e }))?;
                continue;
            }
        };
        match episode.step(&turn)? {
            Step::Continue { messages } => {
                send(&mut out, &json!({ "type": "env", "messages": messages }))?;
            }
            Step::Done(v) => {
                send(&mut out, &end_line(&v, episode.stats()))?;
                return Ok(ExitCode::SUCCESS);
            }
        }
    }
    let v = episode.cut_off("the input ended before the episode did");
    send(&mut out, &end_line(&v, episode.stats()))?;
    Ok(ExitCode::SUCCESS)
}
