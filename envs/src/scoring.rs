//! Grading task records that carry a completion, the one way every front end does it
//! (`verigym score`, the reward server, the Python package): each task is graded by its own
//! env at its own difficulty, with the caller's config overrides, and the result is the
//! verdict record `{reward, correct, components, extracted?, reason?, line, seed, index}`.
//!
//! A record carries either one `"completion"` or, for a whole episode of a multi-turn env,
//! its assistant `"turns"`: the episode is replayed (tool results and feedback recomputed)
//! and the record adds `"transcript"` (the messages after the prompt: assistant turns and
//! the env's `tool` / `user` replies), `"turns"`, `"tool_calls"` and `"tool_errors"`.

use crate::env::{check_difficulty, EnvOptions, Environment, MAX_DIFFICULTY};
use crate::{EnvError, Registry, Task};
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::OnceLock;

/// A task line as `verigym score` reads it: the task's fields plus exactly one of
/// `"completion"` (one model output) and `"turns"` (the assistant turns of an episode).
#[derive(Debug, Clone, Deserialize)]
pub struct ScoredTask {
    #[serde(flatten)]
    pub task: Task,
    #[serde(default)]
    pub completion: Option<String>,
    #[serde(default)]
    pub turns: Option<Vec<String>>,
}

/// What a [`ScoredTask`] asks to grade.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Graded<'a> {
    Completion(&'a str),
    Turns(&'a [String]),
}

impl ScoredTask {
    /// The completion or the turns; both or neither is an error message.
    pub fn graded(&self) -> Result<Graded<'_>, String> {
        match (&self.completion, &self.turns) {
            (Some(c), None) => Ok(Graded::Completion(c)),
            (None, Some(t)) => Ok(Graded::Turns(t)),
            (Some(_), Some(_)) => {
                Err("give either \"completion\" or \"turns\", not both".to_string())
            }
            (None, None) => Err(
                "the line has neither \"completion\" (one output) nor \"turns\" (the \
                 assistant turns of an episode)"
                    .to_string(),
            ),
        }
    }
}

/// One env per (name, difficulty level), built on first use and shared between threads.
type Slots = Vec<OnceLock<Box<dyn Environment>>>;

/// Grades tasks of one env (`for_env`) or of any registered env (`any`).
pub struct Scorer {
    registry: Registry,
    config: Option<serde_json::Value>,
    only: Option<String>,
    envs: HashMap<String, Slots>,
}

impl Scorer {
    /// A scorer for tasks of `name` only; fails at once on an unknown name or a config the
    /// env rejects, before any task is read.
    pub fn for_env(
        registry: Registry,
        name: &str,
        config: Option<serde_json::Value>,
    ) -> Result<Self, EnvError> {
        let scorer = Scorer::new(registry, config, Some(name.to_string()));
        scorer.env(name, crate::env::DEFAULT_DIFFICULTY)?;
        Ok(scorer)
    }

    /// A scorer for tasks of every env in `registry`, at each level's default config.
    pub fn any(registry: Registry) -> Self {
        Scorer::new(registry, None, None)
    }

    fn new(registry: Registry, config: Option<serde_json::Value>, only: Option<String>) -> Self {
        let envs = registry
            .names()
            .into_iter()
            .map(|n| {
                let slots = (0..MAX_DIFFICULTY).map(|_| OnceLock::new()).collect();
                (n.to_string(), slots)
            })
            .collect();
        Scorer {
            registry,
            config,
            only,
            envs,
        }
    }

    /// The env that grades tasks of `name` at difficulty `d`. A build that fails is not
    /// cached: it fails again, with the same message, for the next task.
    fn env(&self, name: &str, d: u8) -> Result<&dyn Environment, EnvError> {
        let d = check_difficulty(d)?;
        let Some(slots) = self.envs.get(name) else {
            return Err(self.registry.get(name).err().unwrap_or_else(|| {
                EnvError::task(name, "environment registered after the scorer was made")
            }));
        };
        let slot = &slots[usize::from(d) - 1];
        if let Some(env) = slot.get() {
            return Ok(env.as_ref());
        }
        let opts = EnvOptions {
            difficulty: Some(d),
            config: self.config.clone(),
        };
        let built = self.registry.build(name, &opts)?;
        // Another thread may have built it meanwhile; either copy is the same env.
        Ok(slot.get_or_init(|| built).as_ref())
    }

    /// The env that grades `task` (refusing tasks of another env in a one-env scorer).
    fn env_for(&self, task: &Task) -> Result<&dyn Environment, EnvError> {
        if let Some(only) = &self.only {
            if &task.env != only {
                return Err(EnvError::task(
                    only,
                    format!("task is for env '{}'", task.env),
                ));
            }
        }
        self.env(&task.env, task.difficulty)
    }

    /// Grades one completion of `task`.
    pub fn verdict(&self, task: &Task, completion: &str) -> Result<crate::Verdict, EnvError> {
        self.env_for(task)?.verify(task, completion)
    }

    /// Replays the episode of `task` from its assistant `turns`.
    pub fn replay(&self, task: &Task, turns: &[String]) -> Result<crate::Replay, EnvError> {
        crate::replay(self.env_for(task)?, task, turns)
    }

    /// The verdict record `verigym score` writes for input line `line` (1-based).
    pub fn record(
        &self,
        line: usize,
        task: &Task,
        completion: &str,
    ) -> Result<serde_json::Value, EnvError> {
        let verdict = self.verdict(task, completion)?;
        let mut v = serde_json::to_value(&verdict)
            .map_err(|e| EnvError::task(&task.env, format!("verdict not serialisable: {e}")))?;
        v["line"] = line.into();
        v["seed"] = task.seed.into();
        v["index"] = task.index.into();
        Ok(v)
    }

    /// The verdict record of a whole episode replayed from its assistant `turns`, with the
    /// transcript after the prompt and the episode's counts.
    pub fn record_turns(
        &self,
        line: usize,
        task: &Task,
        turns: &[String],
    ) -> Result<serde_json::Value, EnvError> {
        let r = self.replay(task, turns)?;
        let not_json = |e: serde_json::Error| EnvError::task(&task.env, e.to_string());
        let mut v = serde_json::to_value(&r.verdict).map_err(not_json)?;
        v["line"] = line.into();
        v["seed"] = task.seed.into();
        v["index"] = task.index.into();
        v["turns"] = r.stats.turns.into();
        v["tool_calls"] = r.stats.tool_calls.into();
        v["tool_errors"] = r.stats.tool_errors.into();
        v["transcript"] = serde_json::to_value(&r.messages).map_err(not_json)?;
        Ok(v)
    }

    /// The record of a parsed line: its completion graded, or its turns replayed; any
    /// failure is a message for the `{"line", "error"}` record that takes its place.
    pub fn record_scored(
        &self,
        line: usize,
        item: &ScoredTask,
    ) -> Result<serde_json::Value, String> {
        match item.graded()? {
            Graded::Completion(c) => self.record(line, &item.task, c),
            Graded::Turns(t) => self.record_turns(line, &item.task, t),
        }
        .map_err(|e| e.to_string())
    }

    /// Parses one JSON task line with a completion (or turns) and grades it; any failure
    /// is a message for the `{"line", "error"}` record that takes its place.
    pub fn record_json(&self, line: usize, text: &str) -> Result<serde_json::Value, String> {
        let item: ScoredTask =
            serde_json::from_str(text).map_err(|e| format!("invalid task line: {e}"))?;
        self.record_scored(line, &item)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task_line(env: &str, difficulty: u8, completion: &str) -> String {
        let registry = Registry::builtin();
        let opts = EnvOptions {
            difficulty: Some(difficulty),
            config: None,
        };
        let task = registry.build(env, &opts).unwrap().generate(5, 2).unwrap();
        let mut v = serde_json::to_value(&task).unwrap();
        let completion = if completion.is_empty() {
            task.solution.clone().unwrap()
        } else {
            completion.to_string()
        };
        v["completion"] = completion.into();
        v.to_string()
    }

    #[test]
    fn each_task_is_graded_at_its_own_difficulty() {
        let scorer = Scorer::for_env(Registry::builtin(), "arithmetic", None).unwrap();
        for d in [1, 7, 10] {
            let r = scorer
                .record_json(4, &task_line("arithmetic", d, ""))
                .unwrap();
            assert_eq!(r["reward"], 1.0, "{r}");
            assert_eq!((r["line"].as_u64(), r["seed"].as_u64()), (Some(4), Some(5)));
        }
        let wrong = scorer
            .record_json(1, &task_line("arithmetic", 3, "<answer>x</answer>"))
            .unwrap();
        assert_eq!(wrong["reward"], 0.0);
    }

    #[test]
    fn one_env_scorer_rejects_other_envs_and_any_scorer_takes_them() {
        let line = task_line("countdown", 2, "");
        let one = Scorer::for_env(Registry::builtin(), "arithmetic", None).unwrap();
        let err = one.record_json(1, &line).unwrap_err();
        assert!(
            err.contains("countdown") && err.contains("arithmetic"),
            "{err}"
        );
        let any = Scorer::any(Registry::builtin());
        assert_eq!(any.record_json(1, &line).unwrap()["correct"], true);
    }

    #[test]
    fn episodes_are_scored_from_their_turns() {
        let any = Scorer::any(Registry::builtin());
        let env = Registry::builtin_at("tool_multiplication", 2).unwrap();
        let task = env.generate(3, 1).unwrap();
        let mut v = serde_json::to_value(&task).unwrap();
        v["turns"] = serde_json::json!(task.solution_turns);
        let r = any.record_json(2, &v.to_string()).unwrap();
        assert_eq!(
            (r["reward"].as_f64(), r["turns"].as_u64()),
            (Some(1.0), Some(2)),
            "{r}"
        );
        assert_eq!(r["tool_calls"], 1);
        let transcript = r["transcript"].as_array().unwrap();
        assert_eq!(transcript.len(), 3);
        assert_eq!(transcript[1]["role"], "tool");
        v["completion"] = "<answer>1</answer>".into();
        let both = any.record_json(1, &v.to_string()).unwrap_err();
        assert!(both.contains("not both"), "{both}");
        v.as_object_mut().unwrap().remove("turns");
        v.as_object_mut().unwrap().remove("completion");
        let neither = any.record_json(1, &v.to_string()).unwrap_err();
        assert!(neither.contains("neither"), "{neither}");
    }

    #[test]
    fn bad_input_is_an_error_naming_the_problem() {
        let any = Scorer::any(Registry::builtin());
        let err = any.record_json(1, "{not json").unwrap_err();
        assert!(err.starts_with("invalid task line"), "{err}");
        let mut v: serde_json::Value =
            serde_json::from_str(&task_line("countdown", 2, "")).unwrap();
        v["env"] = "nope".into();
        let err = any.record_json(1, &v.to_string()).unwrap_err();
        assert!(err.contains("unknown environment 'nope'"), "{err}");
        v["env"] = "countdown".into();
        v["difficulty"] = 11.into();
        let err = any.record_json(1, &v.to_string()).unwrap_err();
        assert!(err.contains("difficulty 11"), "{err}");
        let bad = Scorer::for_env(
            Registry::builtin(),
            "countdown",
            Some(serde_json::json!({"x": 1})),
        );
        assert!(matches!(bad, Err(EnvError::InvalidConfig { .. })));
    }
}
