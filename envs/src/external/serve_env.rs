//! The server side of the JSON-lines protocol ([`super::process`]): any registered
//! environment, Rust families included, answered one request line at a time. A program that
//! embeds the verigym CLI serves its own families this way (`env-process NAME`), so a
//! process that cannot link them (`verigym-train`) reads them through an envs file.
//!
//! The env is described as `"raw": true` and its tasks carry their exact `prompt`, so the
//! client applies no format rules of its own: tasks and verdicts read back through
//! [`super::process::ProcessEnv`] are those the env makes in-process (the `env` field aside,
//! which is the name the envs file gives it).

use crate::env::{EnvOptions, Environment, DEFAULT_DIFFICULTY};
use crate::registry::EnvEntry;
use crate::task::{Prompt, Task};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::io::{BufRead, Write};

/// Built envs kept per (difficulty, config); cleared when it grows past this.
const MAX_BUILT: usize = 64;

/// Answers protocol requests for one registry entry.
pub struct EnvServer {
    entry: EnvEntry,
    /// Envs built so far, keyed by difficulty and the config's JSON text.
    built: HashMap<(u8, String), Box<dyn Environment>>,
}

impl EnvServer {
    pub fn new(entry: EnvEntry) -> Self {
        EnvServer {
            entry,
            built: HashMap::new(),
        }
    }

    /// Serves requests from `input` until it ends, one reply line per request line (flushed
    /// at once). A request that cannot be answered gets `{"error": "..."}`; only I/O errors
    /// end the loop early.
    pub fn serve(&mut self, input: impl BufRead, mut output: impl Write) -> std::io::Result<()> {
        for line in input.lines() {
            let line = line?;
            if line.trim().is_empty() {
                continue;
            }
            let reply = self.handle(&line);
            serde_json::to_writer(&mut output, &reply)?;
            output.write_all(b"\n")?;
            output.flush()?;
        }
        Ok(())
    }

    /// The reply to one request line.
    pub fn handle(&mut self, line: &str) -> Value {
        match self.answer(line) {
            Ok(v) => v,
            Err(message) => json!({ "error": message }),
        }
    }

    fn answer(&mut self, line: &str) -> Result<Value, String> {
        let request: Value =
            serde_json::from_str(line).map_err(|e| format!("the request is not JSON: {e}"))?;
        match request.get("op").and_then(Value::as_str) {
            Some("describe") => Ok(json!({
                "name": self.entry.name,
                "domain": self.entry.domain,
                "description": self.entry.description,
                "raw": true,
            })),
            Some("generate") => {
                let seed = field_u64(&request, "seed")?;
                let index = field_u64(&request, "index")?;
                let env = self.env(&request)?;
                let task = env.generate(seed, index).map_err(|e| e.to_string())?;
                Ok(json!({
                    "question": task.question,
                    "answer": task.answer,
                    "solution": task.solution,
                    "prompt": task.prompt,
                }))
            }
            Some("verify") => {
                let answer = request
                    .get("answer")
                    .cloned()
                    .ok_or("the request has no \"answer\"")?;
                let completion = request
                    .get("completion")
                    .and_then(Value::as_str)
                    .ok_or("the request has no \"completion\" string")?;
                let env = self.env(&request)?;
                // Only the gold answer travels; envs grade against it (and their config).
                let task = Task {
                    env: env.name().to_string(),
                    seed: 0,
                    index: 0,
                    difficulty: env.difficulty(),
                    prompt: Prompt::Text(String::new()),
                    answer,
                    solution: None,
                    solution_turns: None,
                    question: String::new(),
                };
                let verdict = env.verify(&task, completion).map_err(|e| e.to_string())?;
                serde_json::to_value(&verdict).map_err(|e| e.to_string())
            }
            Some(op) => Err(format!(
                "unknown op '{op}' (known: describe, generate, verify)"
            )),
            None => Err("the request has no \"op\" string".into()),
        }
    }

    /// The env at the request's difficulty and config, built once per pair.
    fn env(&mut self, request: &Value) -> Result<&dyn Environment, String> {
        let difficulty = match request.get("difficulty") {
            None | Some(Value::Null) => DEFAULT_DIFFICULTY,
            Some(d) => d
                .as_u64()
                .and_then(|d| u8::try_from(d).ok())
                .ok_or_else(|| format!("\"difficulty\" must be 1..=10, got {d}"))?,
        };
        // The client sends {} for "no overrides"; the env sees no config then.
        let config = match request.get("config") {
            None | Some(Value::Null) => None,
            Some(Value::Object(o)) if o.is_empty() => None,
            Some(c) => Some(c.clone()),
        };
        let key = (
            difficulty,
            config.as_ref().map(Value::to_string).unwrap_or_default(),
        );
        if !self.built.contains_key(&key) {
            let opts = EnvOptions {
                difficulty: Some(difficulty),
                config,
            };
            let env = self.entry.build(&opts).map_err(|e| e.to_string())?;
            if self.built.len() >= MAX_BUILT {
                self.built.clear();
            }
            self.built.insert(key.clone(), env);
        }
        self.built
            .get(&key)
            .map(|e| e.as_ref())
            .ok_or_else(|| "the env was not built".to_string())
    }
}

fn field_u64(request: &Value, name: &str) -> Result<u64, String> {
    request
        .get(name)
        .and_then(Value::as_u64)
        .ok_or_else(|| format!("the request needs a non-negative integer \"{name}\""))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::Registry;

    fn server(name: &str) -> EnvServer {
        EnvServer::new(Registry::builtin().get(name).unwrap().clone())
    }

    fn env(name: &str, difficulty: u8, config: Option<Value>) -> Box<dyn Environment> {
        Registry::builtin()
            .build(
                name,
                &EnvOptions {
                    difficulty: Some(difficulty),
                    config,
                },
            )
            .unwrap()
    }

    #[test]
    fn describe_names_the_entry_and_asks_for_raw_completions() {
        let reply = server("arithmetic").handle(r#"{"op": "describe"}"#);
        assert_eq!(reply["name"], "arithmetic");
        assert_eq!(reply["domain"], "math");
        assert_eq!(reply["raw"], true);
        assert!(reply["description"].as_str().is_some_and(|d| !d.is_empty()));
    }

    #[test]
    fn generate_and_verify_answer_what_the_env_does_in_process() {
        let mut s = server("arithmetic");
        for (difficulty, config) in [(1, json!({})), (7, json!({})), (4, Value::Null)] {
            let local = env("arithmetic", difficulty, None);
            for index in 0..5 {
                let reply = s.handle(
                    &json!({"op": "generate", "seed": 9, "index": index,
                        "difficulty": difficulty, "config": config})
                    .to_string(),
                );
                let task = local.generate(9, index).unwrap();
                assert_eq!(reply["question"], json!(task.question));
                assert_eq!(reply["answer"], task.answer);
                assert_eq!(reply["solution"], json!(task.solution));
                assert_eq!(reply["prompt"], json!(task.prompt));
                for completion in [
                    task.solution.clone().unwrap(),
                    "<think>x</think><answer>-1</answer>".into(),
                    "no tags".into(),
                ] {
                    let reply = s.handle(
                        &json!({"op": "verify", "answer": task.answer, "completion": completion,
                            "difficulty": difficulty, "config": config})
                        .to_string(),
                    );
                    let want = local.verify(&task, &completion).unwrap();
                    assert_eq!(reply, serde_json::to_value(&want).unwrap(), "{completion}");
                }
            }
        }
    }

    #[test]
    fn config_overrides_reach_the_env_and_bad_ones_are_errors() {
        let mut s = server("arithmetic");
        let local = env("arithmetic", 2, None);
        let config = local.config();
        let reply = s.handle(
            &json!({"op": "generate", "seed": 1, "index": 1, "difficulty": 2,
                "config": config})
            .to_string(),
        );
        assert_eq!(
            reply["question"],
            json!(local.generate(1, 1).unwrap().question)
        );
        let reply = s
            .handle(r#"{"op": "generate", "seed": 1, "index": 1, "config": {"no_such_field": 1}}"#);
        let err = reply["error"].as_str().unwrap();
        assert!(err.contains("no_such_field"), "{err}");
    }

    #[test]
    fn malformed_requests_get_error_replies_and_the_server_goes_on() {
        let input = [
            "not json",
            r#"{"op": "fly"}"#,
            r#"{"seed": 1}"#,
            r#"{"op": "generate", "index": 0}"#,
            r#"{"op": "generate", "seed": 0, "index": 0, "difficulty": 11}"#,
            r#"{"op": "generate", "seed": 0, "index": 0, "difficulty": 300}"#,
            r#"{"op": "verify", "answer": 1}"#,
            "",
            r#"{"op": "describe"}"#,
        ]
        .join("\n");
        let mut out = Vec::new();
        server("arithmetic")
            .serve(input.as_bytes(), &mut out)
            .unwrap();
        let replies: Vec<Value> = String::from_utf8(out)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(replies.len(), 8, "one reply per non-empty line");
        let expect = [
            "not JSON",
            "unknown op 'fly'",
            "no \"op\"",
            "\"seed\"",
            "difficulty 11",
            "1..=10",
            "\"completion\"",
        ];
        for (reply, want) in replies.iter().zip(expect) {
            let err = reply["error"].as_str().unwrap_or_default();
            assert!(err.contains(want), "{reply} should say {want}");
        }
        assert_eq!(replies[7]["name"], "arithmetic");
    }
}
