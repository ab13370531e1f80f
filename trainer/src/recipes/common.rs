//! The three training stages on one small policy, shared by `verigym demo` and the
//! experiments: a tokenizer and a from-scratch model, SFT on demonstrations, greedy
//! evaluation, and GRPO through the same step as `train grpo` (its knobs here are the few
//! a small from-scratch run needs; [`RlConfig::grpo_config`] says how they map).

use crate::data::{Demo, DemoSpec, Template};
use crate::eval::{self, EvalReport, Generation};
use crate::grpo::{self, GrpoConfig, LossType, RunOptions, RunSummary, StageConfig};
use crate::lm::sft::{self, SftConfig, SftReport};
use crate::optim::Schedule;
use crate::policy::{Config, Model, Tokenizer};
use crate::recipes::error::{Context, RecipeError, Result};
use crate::rollout::config::EnvSpec;
use crate::rollout::episodes::{EpisodeDriver, EpisodeOutcome, TurnFormat};
use crate::rollout::sampler::Completion;
use crate::rollout::sampler::{Sampler, SamplingParams};
use crate::util::config::{finite_in, with_json_overrides, within, ConfigError};
use crate::util::progress::progress_bar;
use serde::{Deserialize, Serialize};
use std::path::Path;
use tch::{Device, Kind};
use verigym_envs::{Environment, Registry, Task};

/// Sizes of a small Llama-style model trained from scratch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelSize {
    pub hidden: usize,
    pub intermediate: usize,
    pub layers: usize,
    pub heads: usize,
    pub max_positions: usize,
}

impl ModelSize {
    /// About 0.8 M parameters: trains in minutes on two CPU cores.
    pub const SMALL: ModelSize = ModelSize {
        hidden: 128,
        intermediate: 384,
        layers: 4,
        heads: 4,
        max_positions: 512,
    };
    /// About 0.5 M parameters in two layers: on two CPU cores, 1,500 SFT steps of 16 rows x
    /// 256 tokens (about 150 s) take two-digit addition from nothing to 100% held-out.
    pub const SHALLOW: ModelSize = ModelSize {
        hidden: 128,
        intermediate: 384,
        layers: 2,
        heads: 4,
        max_positions: 512,
    };
    /// About 0.2 M parameters, for the one-minute runs.
    pub const TINY: ModelSize = ModelSize {
        hidden: 96,
        intermediate: 256,
        layers: 2,
        heads: 4,
        max_positions: 512,
    };
}

/// A recipe's config (the demo's, an experiment's): JSON overrides are merged onto its
/// defaults, then every knob is range-checked.
pub trait RecipeConfig: Serialize + serde::de::DeserializeOwned {
    fn validate(&self) -> Result<(), ConfigError>;
}

/// `base` with a JSON object of overrides merged in, key by key and recursively
/// (`{"sft": {"max_steps": 800}, "size": {"layers": 2}}`), through the same merge as the
/// stages' TOML configs. Unknown keys are errors that name their path (`label` says whose
/// config); `env_config` objects are taken as given (each env checks its own fields).
pub fn with_overrides<T: RecipeConfig>(
    base: &T,
    overrides: &serde_json::Value,
    label: &str,
) -> Result<T> {
    let cfg = with_json_overrides(base, overrides, label, &["env_config"])?;
    cfg.validate()
        .map_err(|e| RecipeError::Msg(format!("{label}: {e}")))?;
    Ok(cfg)
}

/// Range checks of the knobs the recipes share: counts of tasks, difficulty, budget.
pub fn validate_counts(counts: &[(&str, u64, u64, u64)]) -> Result<(), ConfigError> {
    for &(name, v, lo, hi) in counts {
        if !(lo..=hi).contains(&v) {
            return Err(ConfigError::Invalid(format!(
                "{name} must be in {lo}..={hi}, got {v}"
            )));
        }
    }
    Ok(())
}

impl ModelSize {
    /// Range checks, each error naming its knob as `{prefix}.knob`.
    pub fn validate(&self, prefix: &str) -> Result<(), ConfigError> {
        let n = |k: &str| format!("{prefix}.{k}");
        within(&n("hidden"), self.hidden, 1, 1 << 14)?;
        within(&n("intermediate"), self.intermediate, 1, 1 << 16)?;
        within(&n("layers"), self.layers, 1, 256)?;
        within(&n("heads"), self.heads, 1, 256)?;
        within(&n("max_positions"), self.max_positions, 2, 1 << 20)?;
        if !self.hidden.is_multiple_of(self.heads) {
            return Err(ConfigError::Invalid(format!(
                "{} ({}) must be a multiple of {} ({})",
                n("hidden"),
                self.hidden,
                n("heads"),
                self.heads
            )));
        }
        Ok(())
    }
}

/// A tokenizer and the model it feeds.
pub struct Policy {
    pub tokenizer: Tokenizer,
    pub model: Model,
    pad: i64,
    eos: i64,
}

impl Policy {
    /// A fresh model of `size` for `tokenizer`, initialised from `seed`.
    pub fn new(tokenizer: Tokenizer, size: ModelSize, device: Device, seed: u64) -> Result<Policy> {
        let eos = *tokenizer
            .eos_ids()
            .first()
            .context("the tokenizer has no eos token")?;
        let pad = tokenizer.pad_id().unwrap_or(eos);
        let mut cfg = Config::llama(
            tokenizer.vocab_size(),
            size.hidden,
            size.intermediate,
            size.layers,
            size.heads,
            size.heads,
        );
        cfg.max_position_embeddings = size.max_positions;
        cfg.eos_token_id = Some(serde_json::json!(eos));
        cfg.pad_token_id = Some(serde_json::json!(pad));
        let model = Model::new_seeded(&cfg, device, Kind::Float, seed as i64)?;
        Ok(Policy {
            tokenizer,
            model,
            pad,
            eos,
        })
    }

    pub fn num_params(&self) -> usize {
        self.model.cfg.num_params()
    }

    /// Token ids of `text`, no special tokens added.
    pub fn encode(&self, text: &str) -> Result<Vec<i64>, String> {
        self.tokenizer
            .encode(text, false)
            .map_err(|e| e.to_string())
    }

    /// Supervised fine-tuning on `train`, validating on `val`.
    pub fn sft(&self, train: &[Demo], val: &[Demo], cfg: &SftConfig) -> Result<SftReport> {
        let encode = |s: &str| self.encode(s);
        let tokens = sft::Tokens {
            encode: &encode,
            eos: self.eos,
            pad: self.pad,
            format: TurnFormat::new(&self.tokenizer),
        };
        Ok(sft::train(
            &self.model,
            &self.model.vs,
            train,
            val,
            &tokens,
            cfg,
        )?)
    }

    /// [`Policy::sft`], resumable: the trained weights and the report are kept in `dir`
    /// (`sft.safetensors`, `sft.json`) under a key of everything that determines them (model
    /// size, SFT config, a digest of the demonstrations, `key`). A rerun with the same key
    /// loads them instead of training again; any other key trains afresh and overwrites.
    pub fn sft_resumable(
        &mut self,
        train: &[Demo],
        val: &[Demo],
        cfg: &SftConfig,
        dir: &std::path::Path,
        key: serde_json::Value,
    ) -> Result<SftReport> {
        let key = serde_json::json!({
            "key": key,
            "config": &self.model.cfg,
            "sft": cfg,
            "train": demos_digest(train),
            "val": demos_digest(val),
        });
        let (weights, meta) = (dir.join("sft.safetensors"), dir.join("sft.json"));
        if let Ok(text) = std::fs::read_to_string(&meta) {
            let saved: serde_json::Value = serde_json::from_str(&text)
                .with_context(|| format!("{}: not valid JSON", meta.display()))?;
            if saved.get("key") == Some(&key) && weights.exists() {
                let report: SftReport = serde_json::from_value(saved["report"].clone())
                    .with_context(|| format!("{}: report", meta.display()))?;
                self.model
                    .vs
                    .load(&weights)
                    .with_context(|| format!("loading {}", weights.display()))?;
                eprintln!(
                    "SFT: resumed the trained weights from {}",
                    weights.display()
                );
                return Ok(report);
            }
        }
        let report = self.sft(train, val, cfg)?;
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        self.model
            .vs
            .save(&weights)
            .with_context(|| format!("saving {}", weights.display()))?;
        // The weights first, then the marker that makes them resumable.
        crate::util::json::write_json(&meta, &serde_json::json!({"key": key, "report": &report}))?;
        Ok(report)
    }

    /// A new-token budget that fits every demonstration's completion (and its end token)
    /// with a quarter to spare, and at least `floor`. A budget shorter than the
    /// demonstrations truncates every imitated answer, and a truncated answer scores 0.
    pub fn completion_budget(&self, demos: &[Demo], floor: usize) -> Result<usize> {
        let mut longest = 0;
        for d in demos {
            longest = longest.max(self.encode(&d.completion).map_err(RecipeError::Msg)?.len());
        }
        Ok(floor.max((longest + 1) * 5 / 4 + 4))
    }

    /// Completions of `prompts` (greedy when `temperature` is 0), one seed per prompt.
    pub fn generate(
        &self,
        prompts: &[String],
        max_new_tokens: usize,
        temperature: f64,
        seeds: &[u64],
    ) -> Result<Vec<Completion>> {
        let ids = prompts
            .iter()
            .map(|p| self.encode(p))
            .collect::<Result<Vec<_>, String>>()
            .map_err(RecipeError::Msg)?;
        let params = SamplingParams {
            max_new_tokens,
            temperature,
            stop_token_ids: self.tokenizer.eos_ids().to_vec(),
            ..Default::default()
        };
        Ok(Sampler::new(&self.tokenizer).generate(&self.model, &ids, &params, seeds)?)
    }

    /// [`Policy::generate`] where tasks of multi-turn envs (from `envs`) are played as
    /// episodes: their outcomes come back beside the completions (`None` for single-turn).
    pub fn play(
        &self,
        envs: &[Box<dyn Environment>],
        tasks: &[Task],
        prompts: &[String],
        max_new_tokens: usize,
        temperature: f64,
        seeds: &[u64],
    ) -> Result<(Vec<Completion>, Vec<Option<EpisodeOutcome>>)> {
        let rows: Vec<Option<(&dyn Environment, Task)>> = tasks
            .iter()
            .map(|t| {
                let env = envs.iter().find(|e| e.name() == t.env)?;
                env.is_multi_turn().then(|| (env.as_ref(), t.clone()))
            })
            .collect();
        if rows.iter().all(Option::is_none) {
            let out = self.generate(prompts, max_new_tokens, temperature, seeds)?;
            let none = vec![None; out.len()];
            return Ok((out, none));
        }
        let ids = prompts
            .iter()
            .map(|p| self.encode(p))
            .collect::<Result<Vec<_>, String>>()
            .map_err(RecipeError::Msg)?;
        let params = SamplingParams {
            max_new_tokens,
            temperature,
            stop_token_ids: self.tokenizer.eos_ids().to_vec(),
            ..Default::default()
        };
        let mut driver = EpisodeDriver::new(&self.tokenizer, rows);
        let out = Sampler::new(&self.tokenizer).generate_turns(
            &self.model,
            &ids,
            &params,
            seeds,
            &mut driver,
        )?;
        Ok((out, driver.finish()))
    }

    /// Greedy evaluation of `tasks` (prompts written with `template`); tasks of multi-turn
    /// envs are played as episodes.
    #[allow(clippy::too_many_arguments)]
    pub fn evaluate(
        &self,
        envs: &[Box<dyn Environment>],
        tasks: &[Task],
        template: Template,
        max_new_tokens: usize,
        batch: usize,
        label: &str,
        progress: bool,
    ) -> Result<EvalReport> {
        let bar = progress_bar(tasks.len() as u64, label, progress);
        let mut generate =
            |tasks: &[Task], prompts: &[String]| -> Result<Vec<Generation>, String> {
                let seeds = vec![0; prompts.len()];
                let (out, outcomes) = self
                    .play(envs, tasks, prompts, max_new_tokens, 0.0, &seeds)
                    .map_err(|e| e.to_string())?;
                bar.inc(prompts.len() as u64);
                Ok(out
                    .into_iter()
                    .zip(outcomes)
                    .map(|(c, o)| Generation {
                        tokens: c.token_ids.len(),
                        text: c.text,
                        verdict: o.map(|o| o.verdict),
                    })
                    .collect())
            };
        let report = eval::evaluate(envs, tasks, template, batch, &mut generate)?;
        bar.finish_and_clear();
        Ok(report)
    }
}

/// FNV-1a over the demonstrations' prompts and completions, as hex: equal data, equal digest.
fn demos_digest(demos: &[Demo]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for d in demos {
        for part in [d.prompt.as_bytes(), &[0], d.completion.as_bytes(), &[1]] {
            for &b in part {
                h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
            }
        }
    }
    format!("{:016x}/{}", h, demos.len())
}

/// The GRPO stage's knobs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RlConfig {
    pub steps: usize,
    /// Distinct tasks per step (spread over the envs).
    pub tasks_per_step: usize,
    /// Completions per task (the group).
    pub group: usize,
    pub temperature: f64,
    pub max_new_tokens: usize,
    pub lr: f64,
    pub warmup_steps: usize,
    pub grad_clip: f64,
    pub eps_low: f64,
    pub eps_high: f64,
    pub loss_type: LossType,
    /// Seed of the training tasks (keep it apart from the evaluation seed).
    pub seed: u64,
    pub progress: bool,
}

impl Default for RlConfig {
    fn default() -> Self {
        RlConfig {
            steps: 40,
            tasks_per_step: 8,
            group: 8,
            temperature: 1.0,
            max_new_tokens: 160,
            lr: 5e-4,
            warmup_steps: 3,
            grad_clip: 1.0,
            eps_low: 0.2,
            eps_high: 0.28,
            loss_type: LossType::Dapo,
            seed: 1_000,
            progress: true,
        }
    }
}

impl RlConfig {
    /// Range checks, each error naming its knob as `{prefix}.knob`.
    pub fn validate(&self, prefix: &str) -> Result<(), ConfigError> {
        let n = |k: &str| format!("{prefix}.{k}");
        within(&n("steps"), self.steps, 0, 100_000_000)?;
        within(&n("tasks_per_step"), self.tasks_per_step, 1, 1 << 16)?;
        within(&n("group"), self.group, 1, 1 << 12)?;
        within(
            &n("tasks_per_step x group"),
            self.tasks_per_step.saturating_mul(self.group),
            1,
            1 << 20,
        )?;
        finite_in(&n("temperature"), self.temperature, 1e-6, 100.0)?;
        within(&n("max_new_tokens"), self.max_new_tokens, 1, 1 << 20)?;
        finite_in(&n("lr"), self.lr, 0.0, 1e3)?;
        within(&n("warmup_steps"), self.warmup_steps, 0, 100_000_000)?;
        finite_in(&n("grad_clip"), self.grad_clip, 0.0, 1e9)?;
        finite_in(&n("eps_low"), self.eps_low, 0.0, 0.999)?;
        finite_in(&n("eps_high"), self.eps_high, 0.0, 1e6)
    }

    /// The `train grpo` config these knobs stand for: DAPO-style loss without a KL term
    /// (beta 0, as DAPO and Dr. GRPO recommend), one pass per batch, a constant learning
    /// rate after warm-up, on the envs of `spec` with prompts written by its template.
    pub fn grpo_config(&self, spec: &DemoSpec) -> Result<GrpoConfig> {
        let mut cfg = GrpoConfig {
            seed: self.seed,
            steps: self.steps,
            envs: env_specs(spec)?,
            ..Default::default()
        };
        cfg.rollout.tasks_per_step = self.tasks_per_step;
        cfg.rollout.group_size = self.group;
        cfg.rollout.temperature = self.temperature;
        cfg.rollout.max_new_tokens = self.max_new_tokens;
        cfg.rollout.prompt_template = spec.template.pattern().to_string();
        cfg.objective.loss_type = self.loss_type;
        cfg.objective.eps_low = self.eps_low;
        cfg.objective.eps_high = self.eps_high;
        cfg.objective.beta = 0.0;
        cfg.optim.lr = self.lr;
        cfg.optim.warmup_steps = self.warmup_steps;
        cfg.optim.schedule = Schedule::Constant;
        cfg.optim.max_grad_norm = self.grad_clip;
        // The whole step's batch in one forward/backward.
        cfg.learn.micro_batch_size = self.tasks_per_step * self.group;
        cfg.log.checkpoint_every = 0;
        cfg.log.progress = self.progress;
        cfg.validate()?;
        Ok(cfg)
    }
}

/// The `[[envs]]` entries of `spec`: its envs with its difficulty and config overrides.
pub fn env_specs(spec: &DemoSpec) -> Result<Vec<EnvSpec>> {
    spec.envs
        .iter()
        .map(|name| {
            let config = match spec.config.get(name) {
                Some(v) => Some(
                    toml::Table::try_from(v).with_context(|| format!("config of env '{name}'"))?,
                ),
                None => None,
            };
            Ok(EnvSpec {
                name: name.clone(),
                weight: 1.0,
                difficulty: spec.difficulty.unwrap_or(3),
                config,
                rubric: Vec::new(),
                max_turns: None,
            })
        })
        .collect()
}

/// GRPO from the current policy on the envs of `spec`, with the verifier's reward, through
/// the one GRPO step of `train grpo`; the run folder (metrics, samples, plots, final
/// checkpoint) is `out`, started afresh.
pub fn grpo(
    policy: &mut Policy,
    spec: &DemoSpec,
    cfg: &RlConfig,
    out: &Path,
) -> Result<RunSummary> {
    let grpo_cfg = cfg.grpo_config(spec)?;
    let state = out.join("state");
    if state.exists() {
        std::fs::remove_dir_all(&state).with_context(|| format!("removing {}", state.display()))?;
    }
    let opts = RunOptions {
        out: out.to_path_buf(),
        resume: false,
        registry: Registry::builtin(),
        device: policy.model.device(),
        stop_after: None,
        quiet: !cfg.progress,
    };
    Ok(grpo::train_policy(
        &grpo_cfg,
        opts,
        &mut policy.model,
        &policy.tokenizer,
    )?)
}
