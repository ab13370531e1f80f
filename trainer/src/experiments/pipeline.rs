//! The three training stages on one small policy, shared by `verigym demo` and the
//! experiments: build a tokenizer and a from-scratch model, SFT on demonstrations, greedy
//! evaluation, and a compact on-policy GRPO stage (DeepSeekMath's group-relative objective
//! through `grpo::micro_batch_loss`, one optimisation pass per batch as in nanochat's
//! `chat_rl`), all on the issue-7 model and sampler.

use crate::data::{Demo, Template};
use crate::eval::{self, EvalReport, Generation};
use crate::grpo::{
    advantages, micro_batch_loss, AdvantageScale, LossType, Normaliser, ObjectiveConfig,
};
use crate::model::{Config, Model};
use crate::sampler::{Sampler, SamplingParams};
use crate::sft::{self, progress_bar, SftConfig, SftReport};
use crate::tokenizer::Tokenizer;
use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use tch::nn::{self, OptimizerConfig};
use tch::{Device, Kind, Tensor};
use verigym_envs::{Environment, Task};

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
        Ok(sft::train(
            &self.model,
            &self.model.vs,
            train,
            val,
            &encode,
            self.eos,
            self.pad,
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
        crate::demo::write_json(&meta, &serde_json::json!({"key": key, "report": &report}))?;
        Ok(report)
    }

    /// A new-token budget that fits every demonstration's completion (and its end token)
    /// with a quarter to spare, and at least `floor`. A budget shorter than the
    /// demonstrations truncates every imitated answer, and a truncated answer scores 0.
    pub fn completion_budget(&self, demos: &[Demo], floor: usize) -> Result<usize> {
        let mut longest = 0;
        for d in demos {
            longest = longest.max(
                self.encode(&d.completion)
                    .map_err(anyhow::Error::msg)?
                    .len(),
            );
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
    ) -> Result<Vec<crate::sampler::Completion>> {
        let ids = prompts
            .iter()
            .map(|p| self.encode(p))
            .collect::<Result<Vec<_>, String>>()
            .map_err(anyhow::Error::msg)?;
        let params = SamplingParams {
            max_new_tokens,
            temperature,
            stop_token_ids: self.tokenizer.eos_ids().to_vec(),
            ..Default::default()
        };
        Ok(Sampler::new(&self.tokenizer).generate(&self.model, &ids, &params, seeds)?)
    }

    /// Greedy evaluation of `tasks` (prompts written with `template`).
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
        let mut generate = |prompts: &[String]| -> Result<Vec<Generation>, String> {
            let seeds = vec![0; prompts.len()];
            let out = self
                .generate(prompts, max_new_tokens, 0.0, &seeds)
                .map_err(|e| e.to_string())?;
            bar.inc(prompts.len() as u64);
            Ok(out
                .into_iter()
                .map(|c| Generation {
                    tokens: c.token_ids.len(),
                    text: c.text,
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

/// One GRPO step's metrics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RlStep {
    pub step: usize,
    pub reward: f64,
    pub accuracy: f64,
    /// Fraction of groups whose rewards were all equal (no learning signal).
    pub zero_std_groups: f64,
    pub mean_length: f64,
    pub loss: f64,
    pub seconds: f64,
}

/// GRPO from the current policy on tasks of `envs` (prompts written with `template`), with
/// the verifier's reward. No KL term (beta 0, as DAPO and Dr. GRPO recommend).
pub fn grpo(
    policy: &Policy,
    envs: &[Box<dyn Environment>],
    template: Template,
    cfg: &RlConfig,
) -> Result<Vec<RlStep>> {
    anyhow::ensure!(
        !envs.is_empty() && cfg.group > 0 && cfg.tasks_per_step > 0,
        "empty GRPO batch"
    );
    let vs = &policy.model.vs;
    let mut opt = nn::AdamW {
        wd: 0.0,
        beta2: 0.99,
        ..Default::default()
    }
    .build(vs, cfg.lr)?;
    let objective = ObjectiveConfig {
        loss_type: cfg.loss_type,
        eps_low: cfg.eps_low,
        eps_high: cfg.eps_high,
        beta: 0.0,
    };
    let bar = progress_bar(cfg.steps as u64, "grpo", cfg.progress);
    let mut history = Vec::with_capacity(cfg.steps);
    let mut task_index = 0u64;
    for step in 0..cfg.steps {
        let t0 = std::time::Instant::now();
        let mut tasks = Vec::with_capacity(cfg.tasks_per_step);
        for j in 0..cfg.tasks_per_step {
            let env = &envs[j % envs.len()];
            tasks.push(env.generate(cfg.seed, task_index)?);
            if j % envs.len() == envs.len() - 1 {
                task_index += 1;
            }
        }
        if !cfg.tasks_per_step.is_multiple_of(envs.len()) {
            task_index += 1;
        }
        let prompts: Vec<String> = tasks
            .iter()
            .flat_map(|t| std::iter::repeat_n(template.prompt(t), cfg.group))
            .collect();
        let seeds: Vec<u64> = (0..prompts.len() as u64)
            .map(|i| cfg.seed.wrapping_mul(1_000_003) ^ ((step as u64) << 20) ^ i)
            .collect();
        let completions = policy.generate(&prompts, cfg.max_new_tokens, cfg.temperature, &seeds)?;
        let mut rewards = Vec::with_capacity(completions.len());
        let mut correct = 0usize;
        for (k, c) in completions.iter().enumerate() {
            let task = &tasks[k / cfg.group];
            let env = envs
                .iter()
                .find(|e| e.name() == task.env)
                .context("task of an unknown env")?;
            let v = env.verify(task, &c.text)?;
            correct += usize::from(v.correct);
            rewards.push(v.reward);
        }
        let adv = advantages(&rewards, cfg.group, AdvantageScale::Group, 1e-4);
        let zero_groups = rewards
            .chunks(cfg.group)
            .filter(|g| g.iter().all(|r| (r - g[0]).abs() < 1e-12))
            .count();
        let mean_length = completions.iter().map(|c| c.token_ids.len()).sum::<usize>() as f64
            / completions.len().max(1) as f64;
        let mut loss_value = 0.0;
        // Only sequences with a non-zero advantage carry gradient.
        let keep: Vec<usize> = (0..completions.len())
            .filter(|&k| adv[k].abs() > 1e-9)
            .collect();
        if !keep.is_empty() {
            let prompt_ids = prompts
                .iter()
                .map(|p| policy.encode(p))
                .collect::<Result<Vec<_>, String>>()
                .map_err(anyhow::Error::msg)?;
            let t_max = keep
                .iter()
                .map(|&k| prompt_ids[k].len() + completions[k].token_ids.len())
                .max()
                .unwrap_or(2)
                .max(2);
            let b = keep.len();
            let mut ids = vec![policy.pad; b * t_max];
            let mut attn = vec![0i64; b * t_max];
            let mut mask = vec![0f32; b * (t_max - 1)];
            let mut old = vec![0f32; b * (t_max - 1)];
            let mut adv_k = Vec::with_capacity(b);
            for (r, &k) in keep.iter().enumerate() {
                let p = &prompt_ids[k];
                let c = &completions[k];
                let row = r * t_max;
                for (j, &t) in p.iter().chain(c.token_ids.iter()).enumerate() {
                    ids[row + j] = t;
                    attn[row + j] = 1;
                }
                for (j, &lp) in c.logprobs.iter().enumerate() {
                    // Position p.len()-1+j predicts completion token j.
                    let at = r * (t_max - 1) + p.len() - 1 + j;
                    mask[at] = 1.0;
                    old[at] = lp;
                }
                adv_k.push(adv[k] as f32);
            }
            let device = policy.model.device();
            let (bt, tt) = (b as i64, t_max as i64);
            let ids = Tensor::from_slice(&ids).view([bt, tt]).to_device(device);
            let attn = Tensor::from_slice(&attn).view([bt, tt]).to_device(device);
            let mask = Tensor::from_slice(&mask)
                .view([bt, tt - 1])
                .to_device(device);
            let old = Tensor::from_slice(&old)
                .view([bt, tt - 1])
                .to_device(device);
            let adv_t = Tensor::from_slice(&adv_k).to_device(device);
            let logp = policy
                .model
                .token_logprobs(&ids, &attn, cfg.temperature.max(1e-3))?;
            let norm = Normaliser {
                sequences: b,
                tokens: mask.sum(Kind::Float).double_value(&[]),
                micro_batches: 1,
                max_len: t_max,
            };
            let (loss, _) = micro_batch_loss(&objective, &norm, &logp, &old, None, &adv_t, &mask);
            let lr = sft::lr_schedule(cfg.lr, 1.0, cfg.warmup_steps, cfg.steps, step);
            opt.set_lr(lr);
            opt.zero_grad();
            loss.backward();
            if cfg.grad_clip > 0.0 {
                opt.clip_grad_norm(cfg.grad_clip);
            }
            opt.step();
            loss_value = loss.double_value(&[]);
        }
        let n = completions.len().max(1) as f64;
        let s = RlStep {
            step: step + 1,
            reward: rewards.iter().sum::<f64>() / n,
            accuracy: correct as f64 / n,
            zero_std_groups: zero_groups as f64 / (completions.len() / cfg.group).max(1) as f64,
            mean_length,
            loss: loss_value,
            seconds: t0.elapsed().as_secs_f64(),
        };
        bar.set_message(format!("reward {:.2} acc {:.2}", s.reward, s.accuracy));
        bar.inc(1);
        history.push(s);
    }
    bar.finish_and_clear();
    Ok(history)
}
