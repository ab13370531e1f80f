//! The `Environment` trait every env implements, and `Family`, the short way to write one:
//! a serde config with difficulty levels, a seeded generator and a verifier.
//!
//! Follows reasoning-gym's generator shape (config with validation, generation seeded from
//! (seed, index), scoring) with burn-rl's habit of small traits and one blanket adapter.

use crate::episode::{Episode, EpisodeLimits, SingleTurn};
use crate::kit::with_format;
use crate::rng::TaskRng;
use crate::tools::ToolSpec;
use crate::{EnvError, Prompt, Task};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use verigym_verifiers::format::{format_completion, parse_think_answer};
use verigym_verifiers::{Verdict, VerifyError};

/// Lowest and highest difficulty level.
pub const MIN_DIFFICULTY: u8 = 1;
pub const MAX_DIFFICULTY: u8 = 10;
/// The level used when none is asked for.
pub const DEFAULT_DIFFICULTY: u8 = 3;

/// The broad area an environment belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Domain {
    Algorithmic,
    Code,
    Logic,
    Math,
    /// Open-ended text whose quality is a hidden scoring function (people's preferences,
    /// simulated): for reward-model experiments, not for verifiable rewards.
    Preference,
    Puzzle,
    Science,
    Text,
}

impl Domain {
    pub fn as_str(self) -> &'static str {
        match self {
            Domain::Algorithmic => "algorithmic",
            Domain::Code => "code",
            Domain::Logic => "logic",
            Domain::Math => "math",
            Domain::Preference => "preference",
            Domain::Puzzle => "puzzle",
            Domain::Science => "science",
            Domain::Text => "text",
        }
    }
}

/// A built environment: a fixed config that generates and verifies tasks.
///
/// `generate` is a pure function of (config, seed, index). `verify` never panics: a wrong
/// or malformed completion is `Ok` with reward 0, `Err` means the verifier could not run.
pub trait Environment: Send + Sync {
    fn name(&self) -> &str;
    fn domain(&self) -> Domain;
    fn difficulty(&self) -> u8;
    /// The resolved config as JSON (what `--config` overrides were merged into).
    fn config(&self) -> serde_json::Value;
    fn generate(&self, seed: u64, index: u64) -> Result<Task, EnvError>;
    fn verify(&self, task: &Task, completion: &str) -> Result<Verdict, EnvError>;
    /// A multi-turn episode for this task, where the env has one (tool use, games);
    /// `None` means single-turn. Use [`start_episode`] rather than calling this directly.
    fn multi_turn(&self, _task: &Task) -> Option<Box<dyn Episode + '_>> {
        None
    }
    /// Whether tasks of this env are multi-turn episodes (`multi_turn` returns `Some`).
    fn is_multi_turn(&self) -> bool {
        false
    }
    /// The tools an episode of this env may call (empty for most envs).
    fn tools(&self) -> Vec<ToolSpec> {
        Vec::new()
    }
    /// The limits of an episode (turns, tool calls, tokens); `None` for single-turn envs.
    fn episode_limits(&self) -> Option<EpisodeLimits> {
        None
    }
}

/// Starts an episode for `task`: the env's own multi-turn episode, or the one-step default.
pub fn start_episode(env: &dyn Environment, task: Task) -> Box<dyn Episode + '_> {
    match env.multi_turn(&task) {
        Some(ep) => ep,
        None => Box::new(SingleTurn::new(env, task)),
    }
}

/// What a family's generator returns for one task.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    /// The problem statement, without the format instructions.
    pub question: String,
    /// Gold answer spec, read back by `verify`.
    pub answer: serde_json::Value,
    /// The worked chain of thought of the reference solution.
    pub thinking: String,
    /// The final answer exactly as the reference writes it inside `<answer>`.
    pub final_answer: String,
}

/// One environment family: config, generator, verifier. Wrap it in [`FamilyEnv`] (the
/// registry does this) to get an [`Environment`].
pub trait Family: Sized + Send + Sync + 'static {
    type Config: Serialize + DeserializeOwned + Clone + Send + Sync;
    const NAME: &'static str;
    const DOMAIN: Domain;
    const DESCRIPTION: &'static str;

    /// The config at a difficulty level in 1..=10.
    fn config_for(difficulty: u8) -> Self::Config;
    /// Validates the config once; the message names the offending field.
    fn new(config: Self::Config) -> Result<Self, String>;
    fn generate(&self, rng: &mut TaskRng) -> Result<Problem, String>;
    /// Grades the answer text (already cut out of the completion by the format parser)
    /// against the gold spec.
    fn verify(&self, gold: &serde_json::Value, answer: &str) -> Result<Verdict, VerifyError>;
}

/// Adapter from a [`Family`] to an [`Environment`].
pub struct FamilyEnv<F: Family> {
    family: F,
    config: serde_json::Value,
    difficulty: u8,
}

/// How a caller asks for an environment: a difficulty level and/or config overrides.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EnvOptions {
    pub difficulty: Option<u8>,
    /// JSON object whose fields override the difficulty's config.
    pub config: Option<serde_json::Value>,
}

/// Checks a difficulty level.
pub fn check_difficulty(d: u8) -> Result<u8, EnvError> {
    if (MIN_DIFFICULTY..=MAX_DIFFICULTY).contains(&d) {
        Ok(d)
    } else {
        Err(EnvError::InvalidDifficulty(d))
    }
}

/// Merges `overrides` (a JSON object) over the serialised `base` config, rejecting fields
/// the config does not have, and deserialises the result. A value of the wrong type is an
/// error that names its field.
pub fn merge_config<C: Serialize + DeserializeOwned>(
    env: &str,
    base: &C,
    overrides: Option<&serde_json::Value>,
) -> Result<C, EnvError> {
    let base = serde_json::to_value(base).map_err(|e| EnvError::config(env, e.to_string()))?;
    let Some(over) = overrides else {
        return serde_json::from_value(base).map_err(|e| EnvError::config(env, e.to_string()));
    };
    let over = over
        .as_object()
        .ok_or_else(|| EnvError::config(env, "config must be a JSON object"))?;
    let fields = base
        .as_object()
        .ok_or_else(|| EnvError::config(env, "this environment's config is not an object"))?;
    let mut merged = fields.clone();
    for (k, v) in over {
        if !fields.contains_key(k) {
            let known: Vec<&str> = fields.keys().map(String::as_str).collect();
            return Err(EnvError::config(
                env,
                format!("unknown field '{k}'; fields are: {}", known.join(", ")),
            ));
        }
        // One override at a time over the valid base, so a type error names its field
        // (serde's own message does not say which field it was reading).
        let mut one = fields.clone();
        one.insert(k.clone(), v.clone());
        if let Err(e) = serde_json::from_value::<C>(serde_json::Value::Object(one)) {
            return Err(EnvError::config(env, format!("field '{k}': {e}")));
        }
        merged.insert(k.clone(), v.clone());
    }
    serde_json::from_value(serde_json::Value::Object(merged))
        .map_err(|e| EnvError::config(env, e.to_string()))
}

impl<F: Family> FamilyEnv<F> {
    pub fn build(opts: &EnvOptions) -> Result<Self, EnvError> {
        let difficulty = check_difficulty(opts.difficulty.unwrap_or(DEFAULT_DIFFICULTY))?;
        let config = merge_config(F::NAME, &F::config_for(difficulty), opts.config.as_ref())?;
        let json =
            serde_json::to_value(&config).map_err(|e| EnvError::config(F::NAME, e.to_string()))?;
        let family = F::new(config).map_err(|m| EnvError::config(F::NAME, m))?;
        Ok(FamilyEnv {
            family,
            config: json,
            difficulty,
        })
    }

    pub fn family(&self) -> &F {
        &self.family
    }
}

impl<F: Family> Environment for FamilyEnv<F> {
    fn name(&self) -> &str {
        F::NAME
    }

    fn domain(&self) -> Domain {
        F::DOMAIN
    }

    fn difficulty(&self) -> u8 {
        self.difficulty
    }

    fn config(&self) -> serde_json::Value {
        self.config.clone()
    }

    fn generate(&self, seed: u64, index: u64) -> Result<Task, EnvError> {
        let mut rng = TaskRng::for_task(F::NAME, seed, index);
        let p = self
            .family
            .generate(&mut rng)
            .map_err(|message| EnvError::Generation {
                env: F::NAME.to_string(),
                seed,
                index,
                message,
            })?;
        Ok(Task {
            env: F::NAME.to_string(),
            seed,
            index,
            difficulty: self.difficulty,
            prompt: Prompt::Text(with_format(&p.question)),
            answer: p.answer,
            solution: Some(format_completion(&p.thinking, &p.final_answer)),
            solution_turns: None,
            question: p.question,
        })
    }

    fn verify(&self, task: &Task, completion: &str) -> Result<Verdict, EnvError> {
        if task.env != F::NAME {
            return Err(EnvError::task(
                F::NAME,
                format!("task is for '{}'", task.env),
            ));
        }
        verify_formatted(completion, |answer| {
            self.family.verify(&task.answer, answer)
        })
    }
}

/// Runs the think/answer format parser, then `grade` on the answer text. Adds a `format`
/// component (1 when a think block and an `<answer>` block were both present) that is
/// logged with weight 0 by the default rubric.
pub fn verify_formatted(
    completion: &str,
    grade: impl FnOnce(&str) -> Result<Verdict, VerifyError>,
) -> Result<Verdict, EnvError> {
    match parse_think_answer(completion) {
        Ok(parsed) => {
            let format = if parsed.thinking.is_some() && parsed.tagged {
                1.0
            } else {
                0.0
            };
            Ok(grade(parsed.answer)?
                .with_component("format", format)
                .clamp())
        }
        Err(e) => Ok(Verdict::wrong(None, format!("malformed completion: {e}"))
            .with_component("format", 0.0)),
    }
}
