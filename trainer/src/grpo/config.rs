//! The GRPO run config: every knob as plain serde data with defaults, read from TOML
//! (`train grpo --config run.toml`) with `--set key=value` overrides applied to the TOML
//! tree before it is deserialised, so an override is checked exactly like the file.

use super::advantage::AdvantageScale;
use super::loss::{LossType, ObjectiveConfig};
use super::optim::OptimConfig;
use crate::sampler::KvCacheDtype;
use crate::DeviceChoice;
use serde::{Deserialize, Serialize};
use std::path::Path;
use thiserror::Error;
use verigym_verifiers::Component;

#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("{path}: {msg}")]
    Read { path: String, msg: String },
    #[error("config: {0}")]
    Parse(String),
    #[error("--set {0}: expected key=value")]
    BadSet(String),
    #[error("--set {key}: {msg}")]
    BadPath { key: String, msg: String },
    #[error("config: {0}")]
    Invalid(String),
}

/// The policy to train: a checkpoint directory, or a randomly initialised Llama.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ModelConfig {
    /// HF-layout checkpoint directory (config.json, model.safetensors, tokenizer.json);
    /// empty means a random Llama of the sizes below with the built-in tokenizer.
    pub path: String,
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub intermediate_size: usize,
    pub num_layers: usize,
    pub num_heads: usize,
    pub num_kv_heads: usize,
    pub max_position_embeddings: usize,
    /// Seed of the random initialisation.
    pub init_seed: i64,
    /// float32 | bfloat16
    pub dtype: String,
    pub device: DeviceChoice,
    /// libtorch intra-op threads; 0 keeps libtorch's default.
    pub threads: usize,
}

impl Default for ModelConfig {
    fn default() -> Self {
        ModelConfig {
            path: String::new(),
            vocab_size: 512,
            hidden_size: 256,
            intermediate_size: 768,
            num_layers: 4,
            num_heads: 8,
            num_kv_heads: 8,
            max_position_embeddings: 1024,
            init_seed: 0,
            dtype: "float32".into(),
            device: DeviceChoice::Auto,
            threads: 0,
        }
    }
}

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

/// The objective and its data shaping (TOML `[objective]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GrpoObjective {
    pub loss_type: LossType,
    pub advantage_scale: AdvantageScale,
    pub advantage_eps: f64,
    pub eps_low: f64,
    pub eps_high: f64,
    pub beta: f64,
    /// Optimisation passes over each sampled batch (PPO epochs, "mu").
    pub mu: usize,
    /// Drop groups whose rewards are all equal and sample more tasks to refill.
    pub dynamic_sampling: bool,
    /// Extra sampling rounds allowed per step to refill (the cap).
    pub max_resample_rounds: usize,
    /// Give truncated completions (no stop token) zero loss weight.
    pub mask_truncated: bool,
    /// DAPO soft overlong penalty, added to the reward times `overlong_factor`.
    pub overlong_penalty: bool,
    pub overlong_cache: usize,
    pub overlong_factor: f64,
    /// Refresh the reference model from the policy every N steps (0: never).
    pub ref_refresh_steps: usize,
}

impl Default for GrpoObjective {
    fn default() -> Self {
        GrpoObjective {
            loss_type: LossType::Grpo,
            advantage_scale: AdvantageScale::Group,
            advantage_eps: 1e-4,
            eps_low: 0.2,
            eps_high: 0.2,
            beta: 0.04,
            mu: 1,
            dynamic_sampling: false,
            max_resample_rounds: 3,
            mask_truncated: false,
            overlong_penalty: false,
            overlong_cache: 16,
            overlong_factor: 1.0,
            ref_refresh_steps: 0,
        }
    }
}

impl GrpoObjective {
    pub fn objective(&self) -> ObjectiveConfig {
        ObjectiveConfig {
            loss_type: self.loss_type,
            eps_low: self.eps_low,
            eps_high: self.eps_high,
            beta: self.beta,
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
    #[serde(default)]
    pub rubric: Vec<Component>,
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

/// Micro-batching (gradient accumulation) of the learner.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LearnConfig {
    /// Sequences per forward/backward; the step's batch is accumulated over micro-batches.
    pub micro_batch_size: usize,
}

impl Default for LearnConfig {
    fn default() -> Self {
        LearnConfig {
            micro_batch_size: 64,
        }
    }
}

/// Logging and checkpoints.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// Rollouts written to samples.jsonl per step.
    pub samples_per_step: usize,
    /// Checkpoint every N steps (0: only at the end).
    pub checkpoint_every: usize,
    pub progress: bool,
    pub plots: bool,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            samples_per_step: 4,
            checkpoint_every: 50,
            progress: true,
            plots: true,
        }
    }
}

/// A whole GRPO run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GrpoConfig {
    pub seed: u64,
    pub steps: usize,
    /// Run folder (overridden by `--out`).
    pub out: String,
    pub model: ModelConfig,
    pub rollout: RolloutConfig,
    pub objective: GrpoObjective,
    pub optim: OptimConfig,
    pub learn: LearnConfig,
    pub curriculum: CurriculumConfig,
    pub log: LogConfig,
    pub envs: Vec<EnvSpec>,
}

impl Default for GrpoConfig {
    fn default() -> Self {
        GrpoConfig {
            seed: 0,
            steps: 100,
            out: "runs/grpo".into(),
            model: ModelConfig::default(),
            rollout: RolloutConfig::default(),
            objective: GrpoObjective::default(),
            optim: OptimConfig::default(),
            learn: LearnConfig::default(),
            curriculum: CurriculumConfig::default(),
            log: LogConfig::default(),
            envs: vec![EnvSpec {
                name: "arithmetic".into(),
                weight: 1.0,
                difficulty: 3,
                config: None,
                rubric: Vec::new(),
            }],
        }
    }
}

/// Sets `key` (dotted; array elements by index, e.g. `envs.0.weight`) in `table` to
/// `value`, parsed as a TOML value (`0.1`, `true`, `"x"`, `[1, 2]`) or else taken as a
/// bare string.
pub fn set_path(root: &mut toml::Value, key: &str, value: &str) -> Result<(), ConfigError> {
    let parsed: toml::Value = match format!("v = {value}").parse::<toml::Table>() {
        Ok(mut t) => t.remove("v").unwrap_or(toml::Value::String(value.into())),
        Err(_) => toml::Value::String(value.into()),
    };
    let parts: Vec<&str> = key.split('.').collect();
    let bad = |msg: String| ConfigError::BadPath {
        key: key.into(),
        msg,
    };
    if parts.iter().any(|p| p.is_empty()) {
        return Err(bad("empty key segment".into()));
    }
    let Some((last, init)) = parts.split_last() else {
        return Err(bad("empty key".into()));
    };
    let mut cur: &mut toml::Value = root;
    for p in init {
        cur = match cur {
            toml::Value::Table(t) => t
                .entry(p.to_string())
                .or_insert_with(|| toml::Value::Table(toml::Table::new())),
            toml::Value::Array(a) => {
                let i: usize = p
                    .parse()
                    .map_err(|_| bad(format!("'{p}' indexes an array; use a number")))?;
                let n = a.len();
                a.get_mut(i)
                    .ok_or_else(|| bad(format!("index {i} out of range (length {n})")))?
            }
            _ => return Err(bad(format!("'{p}' is not a table"))),
        };
    }
    match cur {
        toml::Value::Table(t) => {
            t.insert(last.to_string(), parsed);
        }
        toml::Value::Array(a) => {
            let i: usize = last
                .parse()
                .map_err(|_| bad(format!("'{last}' indexes an array; use a number")))?;
            let n = a.len();
            *a.get_mut(i)
                .ok_or_else(|| bad(format!("index {i} out of range (length {n})")))? = parsed;
        }
        _ => return Err(bad(format!("cannot set '{last}' inside a value"))),
    }
    Ok(())
}

impl GrpoConfig {
    /// Parses TOML text, applies `--set` overrides (`key=value`), fills defaults and
    /// validates.
    pub fn from_toml(text: &str, sets: &[String]) -> Result<GrpoConfig, ConfigError> {
        let table: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| ConfigError::Parse(e.to_string()))?;
        // Defaults first, so `--set envs.0.weight=2` works without an [[envs]] in the file.
        let mut full = toml::Table::try_from(GrpoConfig::default())
            .map_err(|e| ConfigError::Parse(e.to_string()))?;
        for (k, v) in table {
            full.insert(k, v);
        }
        let mut root = toml::Value::Table(full);
        for s in sets {
            let (k, v) = s
                .split_once('=')
                .ok_or_else(|| ConfigError::BadSet(s.clone()))?;
            set_path(&mut root, k.trim(), v.trim())?;
        }
        let cfg: GrpoConfig = root
            .try_into()
            .map_err(|e: toml::de::Error| ConfigError::Parse(e.to_string()))?;
        cfg.validate()?;
        Ok(cfg)
    }

    pub fn from_file(path: &Path, sets: &[String]) -> Result<GrpoConfig, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read {
            path: path.display().to_string(),
            msg: e.to_string(),
        })?;
        GrpoConfig::from_toml(&text, sets)
    }

    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_else(|e| format!("# could not serialise: {e}\n"))
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |m: String| Err(ConfigError::Invalid(m));
        // Sizes beyond these are typos, not runs: refused before they allocate or spin.
        let within = |name: &str, v: usize, lo: usize, hi: usize| -> Result<(), ConfigError> {
            if (lo..=hi).contains(&v) {
                Ok(())
            } else {
                Err(ConfigError::Invalid(format!(
                    "{name} must be in {lo}..={hi}, got {v}"
                )))
            }
        };
        let finite_in = |name: &str, v: f64, lo: f64, hi: f64| -> Result<(), ConfigError> {
            if v.is_finite() && (lo..=hi).contains(&v) {
                Ok(())
            } else {
                Err(ConfigError::Invalid(format!(
                    "{name} must be a number in [{lo}, {hi}], got {v}"
                )))
            }
        };
        let r = &self.rollout;
        if r.tasks_per_step == 0 || r.group_size == 0 {
            return bad("rollout.tasks_per_step and rollout.group_size must be >= 1".into());
        }
        if r.max_new_tokens == 0 {
            return bad("rollout.max_new_tokens must be >= 1".into());
        }
        within("rollout.tasks_per_step", r.tasks_per_step, 1, 1 << 16)?;
        within("rollout.group_size", r.group_size, 1, 1 << 12)?;
        within(
            "rollout.tasks_per_step x rollout.group_size",
            r.tasks_per_step.saturating_mul(r.group_size),
            1,
            1 << 20,
        )?;
        within("rollout.max_new_tokens", r.max_new_tokens, 1, 1 << 20)?;
        within("rollout.verifier_threads", r.verifier_threads, 0, 1024)?;
        finite_in("rollout.top_p", r.top_p, 0.0, 1.0)?;
        finite_in("rollout.min_p", r.min_p, 0.0, 1.0)?;
        within("model.threads", self.model.threads, 0, 1024)?;
        within("steps", self.steps, 0, 100_000_000)?;
        if !(r.temperature.is_finite() && r.temperature > 0.0) {
            return bad(format!(
                "rollout.temperature must be > 0 for RL sampling, got {}",
                r.temperature
            ));
        }
        let o = &self.objective;
        if !(o.eps_low >= 0.0 && o.eps_low < 1.0 && o.eps_high >= 0.0) {
            return bad("objective.eps_low must be in [0, 1) and eps_high >= 0".into());
        }
        if !(o.beta.is_finite() && o.beta >= 0.0) {
            return bad(format!("objective.beta must be >= 0, got {}", o.beta));
        }
        if o.mu == 0 {
            return bad("objective.mu must be >= 1".into());
        }
        finite_in("objective.eps_low", o.eps_low, 0.0, 1.0)?;
        finite_in("objective.eps_high", o.eps_high, 0.0, 1e6)?;
        within("objective.mu", o.mu, 1, 1000)?;
        within(
            "objective.max_resample_rounds",
            o.max_resample_rounds,
            0,
            1000,
        )?;
        finite_in("objective.overlong_factor", o.overlong_factor, 0.0, 1e6)?;
        if !(o.advantage_eps.is_finite() && o.advantage_eps >= 0.0) {
            return bad("objective.advantage_eps must be >= 0".into());
        }
        if self.learn.micro_batch_size == 0 {
            return bad("learn.micro_batch_size must be >= 1".into());
        }
        let op = &self.optim;
        if !(op.lr.is_finite() && op.lr >= 0.0) {
            return bad(format!("optim.lr must be >= 0, got {}", op.lr));
        }
        if !(0.0..1.0).contains(&op.beta1) || !(0.0..1.0).contains(&op.beta2) {
            return bad("optim.beta1 and optim.beta2 must be in [0, 1)".into());
        }
        finite_in("optim.lr", op.lr, 0.0, 1e3)?;
        finite_in("optim.weight_decay", op.weight_decay, 0.0, 1e3)?;
        if !(op.eps.is_finite() && op.eps > 0.0 && op.eps <= 1.0) {
            return bad(format!(
                "optim.eps must be a number in (0, 1], got {}",
                op.eps
            ));
        }
        finite_in("optim.min_lr_ratio", op.min_lr_ratio, 0.0, 1.0)?;
        finite_in("optim.max_grad_norm", op.max_grad_norm, 0.0, 1e9)?;
        within(
            "learn.micro_batch_size",
            self.learn.micro_batch_size,
            1,
            1 << 20,
        )?;
        if self.envs.is_empty() {
            return bad("at least one [[envs]] entry is needed".into());
        }
        for e in &self.envs {
            if !(e.weight.is_finite() && e.weight > 0.0) {
                return bad(format!("envs '{}': weight must be > 0", e.name));
            }
            if !(1..=10).contains(&e.difficulty) {
                return bad(format!("envs '{}': difficulty must be in 1..=10", e.name));
            }
            for c in &e.rubric {
                if !(c.weight.is_finite() && c.weight >= 0.0) {
                    return bad(format!(
                        "envs '{}': rubric component '{}' weight must be >= 0, got {}",
                        e.name, c.name, c.weight
                    ));
                }
            }
        }
        let c = &self.curriculum;
        if c.min_difficulty < 1 || c.max_difficulty > 10 || c.min_difficulty > c.max_difficulty {
            return bad(format!(
                "curriculum.min_difficulty ({}) and curriculum.max_difficulty ({}) must \
                 satisfy 1 <= min <= max <= 10",
                c.min_difficulty, c.max_difficulty
            ));
        }
        finite_in("curriculum.raise_above", c.raise_above, 0.0, 1.0)?;
        finite_in("curriculum.lower_below", c.lower_below, 0.0, 1.0)?;
        if c.enabled && (c.window == 0 || c.lower_below >= c.raise_above) {
            return bad("curriculum needs window >= 1 and lower_below < raise_above".into());
        }
        match self.model.dtype.as_str() {
            "float32" | "bfloat16" => {}
            other => return bad(format!("model.dtype '{other}': use float32 or bfloat16")),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every knob of the run config (each leaf of the default config, and the first env
    /// entry's) set to each hostile value is either accepted as a valid config or refused
    /// with an error that names the knob: never a panic, never a NaN let through.
    #[test]
    fn every_knob_refuses_hostile_values_by_name() {
        fn leaves(prefix: &str, v: &toml::Value, out: &mut Vec<String>) {
            match v {
                toml::Value::Table(t) => {
                    for (k, v) in t {
                        let p = if prefix.is_empty() {
                            k.clone()
                        } else {
                            format!("{prefix}.{k}")
                        };
                        leaves(&p, v, out);
                    }
                }
                toml::Value::Array(a) => {
                    if let Some(first) = a.first() {
                        if first.is_table() {
                            leaves(&format!("{prefix}.0"), first, out);
                        }
                    }
                }
                _ => out.push(prefix.to_string()),
            }
        }
        let root = toml::Value::Table(toml::Table::try_from(GrpoConfig::default()).unwrap());
        let mut knobs = Vec::new();
        leaves("", &root, &mut knobs);
        assert!(knobs.len() > 50, "only {} knobs found", knobs.len());
        let hostile = [
            "nan",
            "inf",
            "-inf",
            "-1",
            "0",
            "1e12",
            "1000000000000",
            "18446744073709551615",
            "\"x\"",
            "true",
            "[1, 2]",
        ];
        let mut failures = Vec::new();
        for knob in &knobs {
            for v in hostile {
                let set = format!("{knob}={v}");
                match GrpoConfig::from_toml("", std::slice::from_ref(&set)) {
                    // Accepted: then every float in it is finite.
                    Ok(cfg) if cfg.to_toml().contains("nan") || cfg.to_toml().contains("inf") => {
                        failures.push(format!("{set}: accepted a non-finite value"));
                    }
                    Ok(_) => {}
                    Err(e) => {
                        let msg = e.to_string();
                        let leaf = knob.rsplit('.').next().unwrap_or(knob);
                        if !(msg.contains(leaf) || msg.contains(knob.as_str())) {
                            failures.push(format!("{set}: the error does not name it: {msg}"));
                        }
                    }
                }
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[test]
    fn empty_file_gives_defaults() {
        let c = GrpoConfig::from_toml("", &[]).unwrap();
        assert_eq!(c, GrpoConfig::default());
        let back = GrpoConfig::from_toml(&c.to_toml(), &[]).unwrap();
        assert_eq!(back, c);
    }

    #[test]
    fn sets_override_file_values() {
        let text = "steps = 5\n[objective]\nbeta = 0.0\n[[envs]]\nname = \"countdown\"\n";
        let sets = vec![
            "objective.loss_type=dapo".to_string(),
            "optim.lr = 3e-4".to_string(),
            "envs.0.weight=2".to_string(),
            "envs.0.config.max_digits=1".to_string(),
            "rollout.prompt_template={question}".to_string(),
        ];
        let c = GrpoConfig::from_toml(text, &sets).unwrap();
        assert_eq!(c.steps, 5);
        assert_eq!(c.objective.beta, 0.0);
        assert_eq!(c.objective.loss_type, LossType::Dapo);
        assert_eq!(c.optim.lr, 3e-4);
        assert_eq!(c.envs[0].name, "countdown");
        assert_eq!(c.envs[0].weight, 2.0);
        assert_eq!(
            c.envs[0].config.as_ref().unwrap()["max_digits"].as_integer(),
            Some(1)
        );
        assert_eq!(c.rollout.prompt_template, "{question}");
    }

    #[test]
    fn the_example_run_file_parses() {
        let text = include_str!("../../tests/fixtures/grpo/run.toml");
        let c = GrpoConfig::from_toml(text, &["steps=3".into()]).unwrap();
        assert_eq!(c.steps, 3);
        assert_eq!(c.objective.loss_type, LossType::Dapo);
        assert_eq!(c.envs.len(), 2);
        assert_eq!(c.envs[0].rubric.len(), 2);
        assert!(c.curriculum.enabled);
    }

    /// The example run file names every knob of the config (the README points users to
    /// it as the list), and every value it does not mark "default: ..." is the default.
    #[test]
    fn the_example_run_file_lists_every_knob_with_its_default() {
        let text = include_str!("../../tests/fixtures/grpo/run.toml");
        let example: toml::Table = text.parse().unwrap();
        let defaults = toml::Table::try_from(GrpoConfig::default()).unwrap();
        // Dotted paths of the scalar knobs (the env list is an example, not a default).
        fn knobs(prefix: &str, t: &toml::Table, out: &mut Vec<(String, toml::Value)>) {
            for (k, v) in t {
                let path = format!("{prefix}{k}");
                match v {
                    toml::Value::Table(sub) => knobs(&format!("{path}."), sub, out),
                    toml::Value::Array(_) => {}
                    _ => out.push((path, v.clone())),
                }
            }
        }
        let (mut want, mut have) = (Vec::new(), Vec::new());
        knobs("", &defaults, &mut want);
        knobs("", &example, &mut have);
        let marked: Vec<&str> = text
            .lines()
            .filter(|l| l.contains("default: "))
            .filter_map(|l| l.split_once(" = ").map(|(k, _)| k.trim()))
            .collect();
        assert!(want.len() > 50, "{} knobs", want.len());
        for (path, value) in &want {
            let found = have.iter().find(|(p, _)| p == path);
            let Some((_, example_value)) = found else {
                panic!("run.toml does not list {path} (default {value})");
            };
            let key = path.rsplit('.').next().unwrap_or(path);
            if !marked.contains(&key) {
                assert_eq!(
                    example_value, value,
                    "{path} differs from its default unmarked"
                );
            }
        }
    }

    #[test]
    fn unknown_keys_and_bad_values_are_rejected() {
        assert!(GrpoConfig::from_toml("stepz = 1", &[]).is_err());
        assert!(GrpoConfig::from_toml("[objective]\nloss_type = \"ppo\"", &[]).is_err());
        assert!(GrpoConfig::from_toml("", &["objective.mu=0".into()]).is_err());
        assert!(GrpoConfig::from_toml("", &["nokey".into()]).is_err());
        assert!(GrpoConfig::from_toml("", &["envs.7.weight=1".into()]).is_err());
        assert!(GrpoConfig::from_toml("", &["rollout.temperature=0".into()]).is_err());
        let e = GrpoConfig::from_toml("", &["rollout.kv_cache_dtype=\"fp8\"".into()])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("rollout.kv_cache_dtype") && e.contains("fp8"),
            "{e}"
        );
    }
}
