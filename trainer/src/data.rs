//! SFT demonstrations: written from the environments' reference solutions (optionally by a
//! demonstrator with a systematic flaw), and read back from JSONL (`prompt`/`completion` or
//! chat `messages`, the two layouts TRL's `SFTTrainer` accepts).

use serde::{Deserialize, Serialize};
use std::io::{BufRead, Write};
use std::path::Path;
use thiserror::Error;
use verigym_envs::{EnvOptions, Environment, Registry, Task, TaskRng};
use verigym_verifiers::format::format_completion;

/// Longest JSONL line accepted when reading demonstrations (bounded work on hostile files).
pub const MAX_LINE_BYTES: usize = 1 << 20;

#[derive(Debug, Error)]
pub enum DataError {
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    #[error("{path}:{line}: {message}")]
    Parse {
        path: String,
        line: usize,
        message: String,
    },
    #[error("environment: {0}")]
    Env(#[from] verigym_envs::EnvError),
    #[error("{0}")]
    Invalid(String),
}

/// One demonstration: the prompt the model sees and the completion it learns to write.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Demo {
    pub prompt: String,
    pub completion: String,
    /// A multi-turn demonstration: the conversation after the prompt (assistant turns and
    /// the environment's `tool` / `user` messages, ending with an assistant turn); the loss
    /// covers the assistant turns only. `completion` is then the transcript as text.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub turns: Vec<verigym_envs::Message>,
}

/// How prompts are written for the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Template {
    /// The task's full prompt, format instructions included (for pretrained models).
    #[default]
    Full,
    /// The bare question and a newline: short prompts for small models trained from scratch,
    /// which learn the format from the demonstrations themselves.
    Compact,
}

impl std::str::FromStr for Template {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "full" => Ok(Template::Full),
            "compact" => Ok(Template::Compact),
            o => Err(format!("unknown template '{o}'; use full or compact")),
        }
    }
}

impl Template {
    /// The template as a `rollout.prompt_template` pattern (`{prompt}` / `{question}`).
    pub fn pattern(self) -> &'static str {
        match self {
            Template::Full => "{prompt}\n",
            Template::Compact => "{question}\n",
        }
    }

    /// The prompt text for `task`.
    pub fn prompt(self, task: &Task) -> String {
        match self {
            Template::Full => format!("{}\n", task.prompt.to_text()),
            Template::Compact => format!("{}\n", task.question),
        }
    }
}

impl Profile {
    /// `profile.flaw_rate` in [0, 1].
    pub fn validate(&self) -> Result<(), crate::util::config::ConfigError> {
        match *self {
            Profile::DropsFinalCarry { flaw_rate } => {
                crate::util::config::finite_in("profile.flaw_rate", flaw_rate, 0.0, 1.0)
            }
            _ => Ok(()),
        }
    }
}

/// Who writes the demonstrations.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "name", rename_all = "kebab-case")]
pub enum Profile {
    /// The environment's reference solution, always correct.
    Reference,
    /// Direct answers: `<answer>X</answer>` with no chain of thought (for tokens-to-think).
    Direct,
    /// An arithmetic demonstrator whose usual habit (in `flaw_rate` of its addition
    /// demonstrations) is to drop the carry out of the leading column: it writes `carry 0`
    /// there, skips the final carry, and answers without the leading 1. In the other
    /// demonstrations it follows the correct procedure. Non-addition tasks get the reference.
    DropsFinalCarry { flaw_rate: f64 },
}

impl std::str::FromStr for Profile {
    type Err = String;
    /// `reference`, `direct`, `drops-final-carry` (flaw rate 0.7) or `drops-final-carry:R`.
    fn from_str(s: &str) -> Result<Self, String> {
        let (name, arg) = match s.split_once(':') {
            Some((n, a)) => (n, Some(a)),
            None => (s, None),
        };
        match (name, arg) {
            ("reference", None) => Ok(Profile::Reference),
            ("direct", None) => Ok(Profile::Direct),
            ("drops-final-carry", a) => {
                let flaw_rate = match a {
                    Some(a) => a
                        .parse::<f64>()
                        .map_err(|e| format!("flaw rate '{a}': {e}"))?,
                    None => 0.7,
                };
                if !(0.0..=1.0).contains(&flaw_rate) {
                    return Err(format!("flaw rate {flaw_rate} must be in [0, 1]"));
                }
                Ok(Profile::DropsFinalCarry { flaw_rate })
            }
            _ => Err(format!(
                "unknown profile '{s}'; use reference, direct, drops-final-carry[:RATE]"
            )),
        }
    }
}

impl Profile {
    /// This demonstrator's completion for `task`. Deterministic in (task env, seed, index).
    pub fn complete(self, task: &Task) -> Result<String, DataError> {
        let reference = task
            .solution
            .clone()
            .ok_or_else(|| DataError::Invalid(format!("{} has no reference solution", task.env)))?;
        match self {
            Profile::Reference => Ok(reference),
            Profile::Direct => {
                // A multi-turn reference answers in its last turn.
                let last = task.solution_turns.as_ref().and_then(|t| t.last());
                let answer =
                    verigym_verifiers::format::parse_think_answer(last.unwrap_or(&reference))
                        .map_err(|e| DataError::Invalid(format!("reference solution: {e}")))?
                        .answer
                        .to_string();
                Ok(format!("<answer>{answer}</answer>"))
            }
            Profile::DropsFinalCarry { flaw_rate } => {
                let Some((a, b)) = addition_operands(task) else {
                    return Ok(reference);
                };
                let mut rng =
                    TaskRng::for_task(&format!("demonstrator/{}", task.env), task.seed, task.index);
                let flawed = rng.chance(flaw_rate);
                let (thinking, answer) = column_addition(&a, &b, flawed);
                Ok(format_completion(&thinking, &answer))
            }
        }
    }
}

/// The operands of an `arithmetic` addition task, read from its question
/// ("Compute A + B."); `None` for anything else.
pub fn addition_operands(task: &Task) -> Option<(String, String)> {
    if task.env != "arithmetic" {
        return None;
    }
    let body = task.question.strip_prefix("Compute ")?.strip_suffix('.')?;
    let (a, b) = body.split_once(" + ")?;
    let digits =
        |s: &str| !s.is_empty() && s.len() <= 1000 && s.bytes().all(|c| c.is_ascii_digit());
    (digits(a) && digits(b)).then(|| (a.to_string(), b.to_string()))
}

/// Column addition written the way the `arithmetic` reference writes it. With
/// `drop_final_carry`, the carry out of the leading column is written as 0 and lost.
pub fn column_addition(a: &str, b: &str, drop_final_carry: bool) -> (String, String) {
    let digit = |s: &[u8], i: usize| -> u32 {
        s.len()
            .checked_sub(i + 1)
            .and_then(|k| s.get(k))
            .map_or(0, |c| u32::from(c.saturating_sub(b'0')))
    };
    let (x, y) = (a.as_bytes(), b.as_bytes());
    let columns = x.len().max(y.len());
    let mut lines = vec![format!("Add {a} + {b} column by column from the right.")];
    let mut carry = 0;
    let mut out = Vec::new();
    for i in 0..columns {
        let (p, q) = (digit(x, i), digit(y, i));
        let s = p + q + carry;
        let next = if drop_final_carry && i + 1 == columns {
            0
        } else {
            s / 10
        };
        lines.push(format!(
            "{p} + {q} + carry {carry} = {s}, write {}, carry {next}",
            s % 10
        ));
        out.push(char::from_digit(s % 10, 10).unwrap_or('0'));
        carry = next;
    }
    if carry > 0 {
        lines.push(format!("final carry {carry}"));
        out.push('1');
    }
    let sum: String = out.iter().rev().collect();
    let trimmed = sum.trim_start_matches('0');
    let sum = if trimmed.is_empty() { "0" } else { trimmed }.to_string();
    lines.push(format!("So {a} + {b} = {sum}."));
    (lines.join("\n"), sum)
}

/// What to generate: environments, how many tasks each, and from which seed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DemoSpec {
    pub envs: Vec<String>,
    /// Tasks per environment.
    pub n: u64,
    pub seed: u64,
    pub difficulty: Option<u8>,
    /// Config overrides per env name (JSON objects), e.g. `{"arithmetic": {"ops": ["add"]}}`.
    #[serde(default)]
    pub config: serde_json::Map<String, serde_json::Value>,
    pub template: Template,
    pub profile: Profile,
}

impl DemoSpec {
    /// `n` additions (`arithmetic`, addition only) whose operands have `min_digits..=max_digits`
    /// digits, with bare-question prompts: the task of the addition experiments.
    pub fn addition(
        min_digits: usize,
        max_digits: usize,
        n: u64,
        seed: u64,
        profile: Profile,
    ) -> DemoSpec {
        let mut config = serde_json::Map::new();
        config.insert(
            "arithmetic".into(),
            serde_json::json!({"ops": ["add"], "min_digits": min_digits, "max_digits": max_digits}),
        );
        DemoSpec {
            envs: vec!["arithmetic".into()],
            n,
            seed,
            difficulty: Some(1),
            config,
            template: Template::Compact,
            profile,
        }
    }
}

/// Builds the environments of `spec` from the builtin registry.
pub fn build_envs(spec: &DemoSpec) -> Result<Vec<Box<dyn Environment>>, DataError> {
    build_envs_in(&Registry::builtin(), spec)
}

/// Builds the environments of `spec` from `registry` (the builtins and an envs file's).
pub fn build_envs_in(
    registry: &Registry,
    spec: &DemoSpec,
) -> Result<Vec<Box<dyn Environment>>, DataError> {
    spec.envs
        .iter()
        .map(|name| {
            let opts = EnvOptions {
                difficulty: spec.difficulty,
                config: spec.config.get(name).cloned(),
            };
            Ok(registry.build(name, &opts)?)
        })
        .collect()
}

/// `f` of every task of `spec` (with its env), environments interleaved task by task.
fn map_tasks<T>(
    registry: &Registry,
    spec: &DemoSpec,
    f: impl Fn(&dyn Environment, &Task) -> Result<T, DataError>,
) -> Result<Vec<T>, DataError> {
    let envs = build_envs_in(registry, spec)?;
    let mut out = Vec::with_capacity(envs.len() * spec.n as usize);
    for i in 0..spec.n {
        for env in &envs {
            out.push(f(env.as_ref(), &env.generate(spec.seed, i)?)?);
        }
    }
    Ok(out)
}

/// The demonstrations of `spec`, environments interleaved task by task.
pub fn demonstrations(spec: &DemoSpec) -> Result<Vec<Demo>, DataError> {
    demonstrations_in(&Registry::builtin(), spec)
}

/// [`demonstrations`] of environments from `registry`.
pub fn demonstrations_in(registry: &Registry, spec: &DemoSpec) -> Result<Vec<Demo>, DataError> {
    map_tasks(registry, spec, |env, task| {
        // A multi-turn reference is replayed (tool results recomputed) into the turns of
        // the demonstration; a direct-answer demonstrator answers in one turn.
        let turns = match (&task.solution_turns, spec.profile) {
            (Some(turns), Profile::Reference) => {
                let replay = verigym_envs::replay(env, task, turns)?;
                if !replay.verdict.correct {
                    return Err(DataError::Invalid(format!(
                        "{} seed {} index {}: the reference episode does not score",
                        task.env, task.seed, task.index
                    )));
                }
                replay.messages
            }
            _ => Vec::new(),
        };
        Ok(Demo {
            prompt: spec.template.prompt(task),
            completion: spec.profile.complete(task)?,
            turns,
        })
    })
}

/// A plain-text corpus of `spec`: per task, its prompt (written with the spec's template)
/// and its reference solution as one document on one line (line breaks become spaces).
pub fn corpus(spec: &DemoSpec) -> Result<Vec<String>, DataError> {
    corpus_in(&Registry::builtin(), spec)
}

/// [`corpus`] of environments from `registry`.
pub fn corpus_in(registry: &Registry, spec: &DemoSpec) -> Result<Vec<String>, DataError> {
    map_tasks(registry, spec, |_, task| {
        let solution = Profile::Reference.complete(task)?;
        let doc = format!("{} {}", spec.template.prompt(task).trim_end(), solution);
        Ok(doc.split_whitespace().collect::<Vec<_>>().join(" "))
    })
}

/// Writes demonstrations as JSONL.
pub fn write_jsonl(path: &Path, demos: &[Demo]) -> Result<(), DataError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let mut w = std::io::BufWriter::new(std::fs::File::create(path)?);
    for d in demos {
        serde_json::to_writer(&mut w, d).map_err(|e| DataError::Invalid(e.to_string()))?;
        w.write_all(b"\n")?;
    }
    w.flush()?;
    Ok(())
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Line {
    Pair {
        prompt: String,
        completion: String,
        #[serde(default)]
        turns: Vec<verigym_envs::Message>,
    },
    Chat {
        messages: Vec<verigym_envs::Message>,
    },
}

/// Reads JSONL demonstrations: `{"prompt", "completion"}` or `{"messages": [...]}`, where
/// the last message must be the assistant's and the earlier ones become the prompt
/// (`role: content` lines, then `assistant: `). Blank lines are skipped.
pub fn read_jsonl(path: &Path) -> Result<Vec<Demo>, DataError> {
    let file = std::fs::File::open(path)?;
    let name = path.display().to_string();
    let mut out = Vec::new();
    for (i, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line?;
        let err = |message: String| DataError::Parse {
            path: name.clone(),
            line: i + 1,
            message,
        };
        if line.len() > MAX_LINE_BYTES {
            return Err(err(format!("line over {MAX_LINE_BYTES} bytes")));
        }
        if line.trim().is_empty() {
            continue;
        }
        let parsed: Line = serde_json::from_str(&line).map_err(|e| {
            err(format!(
                "{e}; expected {{\"prompt\", \"completion\"}} or {{\"messages\"}}"
            ))
        })?;
        out.push(match parsed {
            Line::Pair {
                prompt,
                completion,
                turns,
            } => Demo {
                prompt,
                completion,
                turns,
            },
            Line::Chat { mut messages } => {
                if messages.last().is_none_or(|m| m.role != "assistant") {
                    return Err(err("the last message must be the assistant's".into()));
                }
                // Messages before the first assistant turn are the prompt; more than one
                // assistant turn makes a multi-turn demonstration.
                let first = messages
                    .iter()
                    .position(|m| m.role == "assistant")
                    .unwrap_or(0);
                let mut turns = messages.split_off(first);
                let mut prompt: String = messages
                    .iter()
                    .map(|m| format!("{}: {}\n", m.role, m.content))
                    .collect();
                prompt.push_str("assistant: ");
                let completion = turns
                    .iter()
                    .map(|m| m.content.as_str())
                    .collect::<Vec<_>>()
                    .join("\n");
                if turns.len() == 1 {
                    turns.clear();
                }
                Demo {
                    prompt,
                    completion,
                    turns,
                }
            }
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addition_spec(profile: Profile, n: u64) -> DemoSpec {
        DemoSpec {
            difficulty: Some(2),
            ..DemoSpec::addition(2, 3, n, 7, profile)
        }
    }

    #[test]
    fn correct_column_addition_matches_the_reference_solution() {
        let spec = addition_spec(Profile::Reference, 50);
        let env = &build_envs(&spec).unwrap()[0];
        for i in 0..50 {
            let task = env.generate(7, i).unwrap();
            let (a, b) = addition_operands(&task).unwrap();
            let (t, ans) = column_addition(&a, &b, false);
            assert_eq!(Some(format_completion(&t, &ans)), task.solution);
        }
    }

    #[test]
    fn dropping_the_final_carry_loses_the_leading_one() {
        let (t, ans) = column_addition("95", "17", true);
        assert_eq!(ans, "12");
        assert!(t.contains("9 + 1 + carry 1 = 11, write 1, carry 0"), "{t}");
        assert_eq!(column_addition("12", "13", true).1, "25");
        assert_eq!(column_addition("95", "17", false).1, "112");
    }

    #[test]
    fn flawed_demonstrator_is_usually_wrong_on_final_carries_only() {
        let spec = addition_spec(Profile::DropsFinalCarry { flaw_rate: 0.7 }, 400);
        let env = &build_envs(&spec).unwrap()[0];
        let (mut carry_tasks, mut carry_right, mut other_wrong) = (0, 0, 0);
        for i in 0..400 {
            let task = env.generate(7, i).unwrap();
            let demo = spec.profile.complete(&task).unwrap();
            let ok = env.verify(&task, &demo).unwrap().correct;
            let gold = task.answer["value"].as_str().unwrap().to_string();
            let (a, b) = addition_operands(&task).unwrap();
            if gold.len() > a.len().max(b.len()) {
                carry_tasks += 1;
                carry_right += usize::from(ok);
            } else if !ok {
                other_wrong += 1;
            }
        }
        assert_eq!(other_wrong, 0);
        let frac = carry_right as f64 / carry_tasks as f64;
        assert!(
            carry_tasks > 50 && (0.18..0.42).contains(&frac),
            "{carry_right}/{carry_tasks}"
        );
    }

    #[test]
    fn profiles_parse_and_reject_nonsense() {
        assert_eq!("reference".parse(), Ok(Profile::Reference));
        assert_eq!(
            "drops-final-carry:0.5".parse(),
            Ok(Profile::DropsFinalCarry { flaw_rate: 0.5 })
        );
        assert!("drops-final-carry:2".parse::<Profile>().is_err());
        assert!("nope".parse::<Profile>().is_err());
    }

    #[test]
    fn jsonl_round_trip_and_chat_messages() {
        let dir = std::env::temp_dir().join(format!("verigym-data-{}", std::process::id()));
        let path = dir.join("demos.jsonl");
        let demos = demonstrations(&addition_spec(Profile::Direct, 3)).unwrap();
        assert!(demos[0].completion.starts_with("<answer>"));
        write_jsonl(&path, &demos).unwrap();
        assert_eq!(read_jsonl(&path).unwrap(), demos);
        let chat = dir.join("chat.jsonl");
        std::fs::write(
            &chat,
            "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"},{\"role\":\"assistant\",\"content\":\"yo\"}]}\n\n",
        )
        .unwrap();
        let d = read_jsonl(&chat).unwrap();
        assert_eq!(d[0].prompt, "user: hi\nassistant: ");
        assert_eq!(d[0].completion, "yo");
        std::fs::write(
            &chat,
            "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}\n",
        )
        .unwrap();
        assert!(read_jsonl(&chat).is_err());
        std::fs::write(&chat, "not json\n").unwrap();
        assert!(matches!(
            read_jsonl(&chat),
            Err(DataError::Parse { line: 1, .. })
        ));
        std::fs::remove_dir_all(dir).ok();
    }
}
