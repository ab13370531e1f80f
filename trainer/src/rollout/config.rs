//! What a rollout is: the sampling knobs, the environments of the mixture and the
//! curriculum that moves their difficulty (TOML `[rollout]`, `[[envs]]`, `[curriculum]`).

use crate::rollout::sampler::KvCacheDtype;
use serde::{Deserialize, Serialize};
use verigym_verifiers::Component;

/// Rollout knobs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RolloutConfig {
    /// Tasks per step; each gets `group_size` completions.
    pub tasks_per_step: usize,
    pub group_size: usize,
    pub max_new_tokens: usize,
    pub temperature: f64,
    pub top_k: usize,
    pub top_p: f64,
    pub min_p: f64,
    /// How a task becomes the prompt text: `{prompt}` (the env's prompt with format
    /// instructions) and `{question}` (the bare problem) are filled in.
    pub prompt_template: String,
    /// Encode the prompt with the tokenizer's chat template (checkpoints that have one).
    pub chat: bool,
    /// Sequences per sampler call (0: the whole batch at once).
    pub sample_batch: usize,
    /// Verifier threads (0: rayon's default).
    pub verifier_threads: usize,
    /// The sampler's KV cache: "auto" (the model's dtype) or "bf16" (see
    /// `KvCacheDtype`; the learner's log-probs stay the model's, so the sampling-time
    /// log-probs GRPO uses as the old policy carry the bf16 rounding).
    pub kv_cache_dtype: KvCacheDtype,
}

impl Default for RolloutConfig {
    fn default() -> Self {
        RolloutConfig {
            tasks_per_step: 8,
            group_size: 8,
            max_new_tokens: 64,
            temperature: 1.0,
            top_k: 0,
            top_p: 1.0,
            min_p: 0.0,
            prompt_template: "{prompt}".into(),
            chat: false,
            sample_batch: 0,
            verifier_threads: 0,
            kv_cache_dtype: KvCacheDtype::Auto,
        }
    }
}

/// One environment of the mixture.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnvSpec {
    pub name: String,
    #[serde(default = "one")]
    pub weight: f64,
    /// Starting difficulty (1..=10).
    #[serde(default = "three")]
    pub difficulty: u8,
    /// Overrides of the env's config fields (a TOML table).
    #[serde(default)]
    pub config: Option<toml::Table>,
    /// Reward components and weights; empty keeps the env's default (accuracy only).
    /// Multi-turn envs also log `tool_use` (1 when a tool call succeeded), weight 0 unless
    /// given here.
    #[serde(default)]
    pub rubric: Vec<Component>,
    /// Most model turns per episode (multi-turn envs; the env's own limit when absent).
    #[serde(default)]
    pub max_turns: Option<usize>,
}

fn one() -> f64 {
    1.0
}
fn three() -> u8 {
    3
}

/// Adaptive difficulty per env.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CurriculumConfig {
    pub enabled: bool,
    /// Completions in the rolling accuracy window.
    pub window: usize,
    pub raise_above: f64,
    pub lower_below: f64,
    pub min_difficulty: u8,
    pub max_difficulty: u8,
}

impl Default for CurriculumConfig {
    fn default() -> Self {
        CurriculumConfig {
            enabled: false,
            window: 128,
            raise_above: 0.8,
            lower_below: 0.2,
            min_difficulty: 1,
            max_difficulty: 10,
        }
    }
}
