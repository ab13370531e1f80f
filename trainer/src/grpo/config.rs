//! The GRPO run config: every knob as plain serde data with defaults, read from TOML
//! (`train grpo --config run.toml`) with `--set key=value` overrides applied to the TOML
//! tree before it is deserialised, so an override is checked exactly like the file.

use super::advantage::AdvantageScale;
use super::loss::{ImportanceSamplingLevel, IsCorrection, LossType, ObjectiveConfig};
use crate::optim::OptimConfig;
use crate::policy::lora::{lora_needs_a_base, LoraConfig};
use crate::policy::ModelConfig;
use crate::rm::guard::GuardConfig;
use crate::rm::reward::RewardConfig;
use crate::rollout::config::{CurriculumConfig, EnvSpec, RolloutConfig};
use crate::util::config::{finite_in, within};
pub use crate::util::config::{ConfigError, StageConfig};
use serde::{Deserialize, Serialize};

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
    /// "token" (GRPO) or "sequence" (GSPO: one ratio per sequence, the geometric mean of
    /// its token ratios).
    pub importance_sampling_level: ImportanceSamplingLevel,
    /// Sampler-learner mismatch correction: none | token_truncate | token_mask |
    /// sequence_truncate | sequence_mask (TRL's modes), with the weights' cap.
    pub is_correction: IsCorrection,
    pub is_correction_cap: f64,
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
            importance_sampling_level: ImportanceSamplingLevel::Token,
            is_correction: IsCorrection::None,
            is_correction_cap: 2.0,
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
            importance_sampling_level: self.importance_sampling_level,
            is_correction: self.is_correction,
            is_correction_cap: self.is_correction_cap,
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
    /// A TensorBoard event file (`events.out.tfevents.*`) beside metrics.jsonl, every
    /// numeric metric under the same name.
    pub tensorboard: bool,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            samples_per_step: 4,
            checkpoint_every: 50,
            progress: true,
            plots: true,
            tensorboard: true,
        }
    }
}

/// A benchmark suite run on the policy every `every` steps (and after the last), on
/// held-out seeds; pass@k per env goes into `metrics.jsonl` (`eval`) and the plots, and each
/// eval's folder (results, report) into `OUT/eval/step-N`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EvalConfig {
    /// A builtin suite name or a suite TOML file ("" : no evals).
    pub suite: String,
    /// Steps between evals (0: none).
    pub every: usize,
    /// Added to every suite entry's seed, so eval tasks come from seeds training did not draw.
    pub seed_offset: u64,
    /// Tasks per sampler batch.
    pub batch_size: usize,
}

impl Default for EvalConfig {
    fn default() -> Self {
        EvalConfig {
            suite: String::new(),
            every: 0,
            seed_offset: 1_000_000,
            batch_size: 32,
        }
    }
}

impl EvalConfig {
    /// The suite with the held-out seeds, or `None` when evals are off.
    pub fn suite(&self) -> Result<Option<verigym_eval::Suite>, ConfigError> {
        if self.every == 0 || self.suite.is_empty() {
            return Ok(None);
        }
        let mut suite = verigym_eval::Suite::load(&self.suite)
            .map_err(|e| ConfigError::Invalid(format!("eval.suite: {e}")))?;
        for e in &mut suite.envs {
            e.seed = e.seed.wrapping_add(self.seed_offset);
        }
        Ok(Some(suite))
    }
}

impl GrpoConfig {
    /// The environments the run may use: the builtins and those of `envs_file`.
    pub fn registry(&self) -> Result<verigym_envs::Registry, ConfigError> {
        let file = (!self.envs_file.is_empty()).then(|| std::path::Path::new(&self.envs_file));
        verigym_envs::Registry::with_envs_file(file)
            .map_err(|e| ConfigError::Invalid(format!("envs_file: {e}")))
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
    pub eval: EvalConfig,
    /// LoRA adapters (`rank = 0`: full fine-tuning).
    pub lora: LoraConfig,
    /// Where the reward comes from: the verifiers, reward models, a length component.
    pub reward: RewardConfig,
    /// The over-optimisation guard: when to stop RL against a learned reward.
    pub guard: GuardConfig,
    /// An envs file (TOML) whose environments `[[envs]]` may name beside the builtins:
    /// processes in any language, datasets with a chosen verifier ("": none).
    pub envs_file: String,
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
            eval: EvalConfig::default(),
            lora: LoraConfig::default(),
            reward: RewardConfig::default(),
            guard: GuardConfig::default(),
            envs_file: String::new(),
            envs: vec![EnvSpec {
                name: "arithmetic".into(),
                weight: 1.0,
                difficulty: 3,
                config: None,
                rubric: Vec::new(),
                max_turns: None,
            }],
        }
    }
}

impl StageConfig for GrpoConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        let bad = |m: String| Err(ConfigError::Invalid(m));
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
        within("steps", self.steps, 0, 100_000_000)?;
        if !(r.temperature.is_finite() && r.temperature > 0.0) {
            return bad(format!(
                "rollout.temperature must be > 0 for RL sampling, got {}",
                r.temperature
            ));
        }
        let o = &self.objective;
        finite_in("objective.is_correction_cap", o.is_correction_cap, 1.0, 1e9)?;
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
        self.optim.validate()?;
        self.reward.validate()?;
        self.guard.validate()?;
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
        within("eval.batch_size", self.eval.batch_size, 1, 1 << 16)?;
        if !self.envs_file.is_empty() && !std::path::Path::new(&self.envs_file).is_file() {
            return bad(format!("envs_file: {} is not a file", self.envs_file));
        }
        if self.eval.every > 0 && self.eval.suite.is_empty() {
            return bad("eval.every is set but eval.suite names no suite".into());
        }
        self.eval.suite()?;
        self.lora.validate()?;
        if self.lora.enabled() {
            lora_needs_a_base(&self.model)?;
            if o.ref_refresh_steps > 0 {
                return bad(
                    "objective.ref_refresh_steps must be 0 with LoRA: the reference is the \
                     base with the adapters off"
                        .into(),
                );
            }
        }
        self.model.validate()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every knob of the run config (each leaf of the default config, and the first env
    /// entry's) set to each hostile value is either accepted as a valid config or refused
    /// with an error that names the knob: never a panic, never a NaN let through.
    /// Every knob of the run config set to each hostile value is accepted as a valid
    /// config or refused with an error that names the knob: never a panic, never a NaN.
    #[test]
    fn every_knob_refuses_hostile_values_by_name() {
        let failures = crate::util::config::hostile_knob_failures::<GrpoConfig>();
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
        let failures = crate::util::config::example_file_failures::<GrpoConfig>(text);
        assert!(failures.is_empty(), "{}", failures.join("\n"));
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
