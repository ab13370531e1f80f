//! A GRPO run end to end: build the policy (checkpoint or random Llama), the frozen
//! reference (only when beta > 0), the env mixture and the verifier pool; then per step
//! sample → score → (dynamic sampling) → advantages → learn, logging metrics, rollout
//! samples and checkpoints into the run folder. `--resume` reloads the last saved state
//! (weights, reference, AdamW moments, mixture/curriculum state); all randomness is derived
//! from (seed, step, ...), so the resumed run reproduces the uninterrupted one.
//!
//! Run folder: `config.toml` (resolved), `metrics.jsonl`, `samples.jsonl`,
//! `checkpoints/step-N/` (Hugging Face layout), `state/` (what `--resume` needs),
//! `plots/*.png`.

use super::advantage::{advantages, all_equal};
use super::config::{ConfigError, GrpoConfig};
use super::curriculum::{EnvState, Mixture};
use super::learn::{build_batch, learn, reference_logprobs, LearnSettings};
use super::metrics::StepMetrics;
use super::optim::{lr_at, AdamW};
use super::pipeline::{prompt_text, sample_round, Rollout, Scorer, Shaping};
use crate::model::{Config as ModelCfg, Model, ModelError};
use crate::sampler::SampleError;
use crate::tokenizer::Tokenizer;
use indicatif::ProgressBar;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;
use tch::{Device, Kind, Tensor};
use thiserror::Error;
use verigym_envs::{EnvError, Registry};

#[derive(Debug, Error)]
pub enum GrpoError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error(transparent)]
    Sample(#[from] SampleError),
    #[error(transparent)]
    Env(#[from] EnvError),
    #[error(transparent)]
    Torch(#[from] tch::TchError),
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{0}")]
    Run(String),
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> GrpoError + '_ {
    move |source| GrpoError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// How a run is started (what is not part of the config).
pub struct RunOptions {
    pub out: PathBuf,
    pub resume: bool,
    pub registry: Registry,
    pub device: Device,
    /// Stop right after this step index completes, without a final save (simulates a kill;
    /// used by the resume test).
    pub stop_after: Option<usize>,
    pub quiet: bool,
}

/// What `state/state.json` holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct RunState {
    /// The next step to run.
    step: usize,
    envs: Vec<EnvState>,
}

/// The outcome of [`train`].
pub struct RunSummary {
    pub metrics: Vec<StepMetrics>,
    pub out: PathBuf,
}

/// Builds the policy and its tokenizer from the config.
pub fn build_policy(cfg: &GrpoConfig, device: Device) -> Result<(Model, Tokenizer), GrpoError> {
    let kind = if cfg.model.dtype == "bfloat16" {
        Kind::BFloat16
    } else {
        Kind::Float
    };
    if !cfg.model.path.is_empty() {
        return Ok(crate::checkpoint::load(
            Path::new(&cfg.model.path),
            device,
            kind,
        )?);
    }
    let tok = Tokenizer::builtin();
    let m = &cfg.model;
    let mut mc = ModelCfg::llama(
        m.vocab_size,
        m.hidden_size,
        m.intermediate_size,
        m.num_layers,
        m.num_heads,
        m.num_kv_heads,
    );
    if m.vocab_size < tok.vocab_size() {
        return Err(GrpoError::Run(format!(
            "model.vocab_size {} is smaller than the built-in tokenizer's {}",
            m.vocab_size,
            tok.vocab_size()
        )));
    }
    mc.max_position_embeddings = m.max_position_embeddings;
    mc.eos_token_id = tok.eos_ids().first().map(|&e| serde_json::json!(e));
    mc.bos_token_id = tok.bos_id().map(|b| serde_json::json!(b));
    mc.pad_token_id = tok.pad_id().map(|p| serde_json::json!(p));
    Ok((Model::new_seeded(&mc, device, kind, m.init_seed)?, tok))
}

/// A frozen copy of `policy`.
fn frozen_copy(policy: &Model) -> Result<Model, GrpoError> {
    let mut r = Model::new(&policy.cfg, policy.device(), policy.kind())?;
    r.vs.copy(&policy.vs)?;
    r.vs.freeze();
    Ok(r)
}

/// Trainable parameters in name order (a VarStore's map order is not stable).
fn params_sorted(model: &Model) -> Vec<Tensor> {
    let mut vars: Vec<(String, Tensor)> = model.vs.variables().into_iter().collect();
    vars.sort_by(|a, b| a.0.cmp(&b.0));
    vars.into_iter()
        .map(|(_, t)| t)
        .filter(|t| t.requires_grad())
        .collect()
}

/// Keeps the first lines of a JSONL file whose "step" is below `step`.
fn truncate_jsonl(path: &Path, step: usize) -> Result<(), GrpoError> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Ok(());
    };
    let kept: Vec<&str> = text
        .lines()
        .filter(|l| {
            serde_json::from_str::<serde_json::Value>(l)
                .ok()
                .and_then(|v| v.get("step").and_then(|s| s.as_u64()))
                .is_some_and(|s| (s as usize) < step)
        })
        .collect();
    let mut out = kept.join("\n");
    if !out.is_empty() {
        out.push('\n');
    }
    std::fs::write(path, out).map_err(io_err(path))
}

fn append_line(path: &Path, line: &str) -> Result<(), GrpoError> {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(io_err(path))?;
    writeln!(f, "{line}").map_err(io_err(path))
}

struct Saver<'a> {
    out: &'a Path,
}

impl Saver<'_> {
    fn state_dir(&self) -> PathBuf {
        self.out.join("state")
    }

    /// Writes what `--resume` needs; the state file goes last so a half-written save is
    /// never picked up.
    fn save_state(
        &self,
        policy: &Model,
        reference: Option<&Model>,
        opt: &AdamW,
        state: &RunState,
    ) -> Result<(), GrpoError> {
        let dir = self.state_dir();
        std::fs::create_dir_all(&dir).map_err(io_err(&dir))?;
        policy.vs.save(dir.join("policy.safetensors"))?;
        if let Some(r) = reference {
            r.vs.save(dir.join("reference.safetensors"))?;
        }
        opt.save(&dir.join("optimizer.pt"))?;
        let text =
            serde_json::to_string_pretty(state).map_err(|e| GrpoError::Run(e.to_string()))?;
        let tmp = dir.join("state.json.tmp");
        std::fs::write(&tmp, text).map_err(io_err(&tmp))?;
        std::fs::rename(&tmp, dir.join("state.json")).map_err(io_err(&dir))
    }
}

/// Trains with GRPO as configured; see the module docs for the run folder.
pub fn train(cfg: &GrpoConfig, opts: RunOptions) -> Result<RunSummary, GrpoError> {
    if cfg.model.threads > 0 {
        tch::set_num_threads(cfg.model.threads as i32);
    }
    let out = opts.out.clone();
    std::fs::create_dir_all(&out).map_err(io_err(&out))?;
    let saver = Saver { out: &out };
    let state_file = saver.state_dir().join("state.json");
    if !opts.resume && state_file.exists() {
        return Err(GrpoError::Run(format!(
            "{} already holds a run; pass --resume to continue it or choose another --out",
            out.display()
        )));
    }
    std::fs::write(out.join("config.toml"), cfg.to_toml()).map_err(io_err(&out))?;

    let (mut policy, tok) = build_policy(cfg, opts.device)?;
    let mut reference = if cfg.objective.beta > 0.0 {
        Some(frozen_copy(&policy)?)
    } else {
        None
    };
    let mut opt = AdamW::new(params_sorted(&policy), cfg.optim.clone());
    let mut mixture = Mixture::new(
        opts.registry.clone(),
        &cfg.envs,
        cfg.curriculum.clone(),
        cfg.seed,
    )?;
    let scorer = Scorer::new(cfg.rollout.verifier_threads).map_err(GrpoError::Run)?;

    let metrics_path = out.join("metrics.jsonl");
    let samples_path = out.join("samples.jsonl");
    let mut start_step = 0;
    let mut history: Vec<StepMetrics> = Vec::new();
    if opts.resume && state_file.exists() {
        let text = std::fs::read_to_string(&state_file).map_err(io_err(&state_file))?;
        let st: RunState =
            serde_json::from_str(&text).map_err(|e| GrpoError::Run(e.to_string()))?;
        let dir = saver.state_dir();
        policy.vs.load(dir.join("policy.safetensors"))?;
        if let Some(r) = reference.as_mut() {
            r.vs.load(dir.join("reference.safetensors"))?;
        }
        opt.load(&dir.join("optimizer.pt"))?;
        mixture.restore(&st.envs)?;
        start_step = st.step;
        truncate_jsonl(&metrics_path, start_step)?;
        truncate_jsonl(&samples_path, start_step)?;
        if let Ok(text) = std::fs::read_to_string(&metrics_path) {
            history = text
                .lines()
                .filter_map(|l| serde_json::from_str(l).ok())
                .collect();
        }
    } else {
        for p in [&metrics_path, &samples_path] {
            std::fs::write(p, "").map_err(io_err(p))?;
        }
    }

    let bar = progress(cfg.steps as u64, opts.quiet || !cfg.log.progress);
    bar.set_position(start_step as u64);
    let settings = LearnSettings {
        objective: cfg.objective.objective(),
        mu: cfg.objective.mu,
        micro_batch_size: cfg.learn.micro_batch_size,
        temperature: cfg.rollout.temperature,
        max_grad_norm: cfg.optim.max_grad_norm,
        max_len: cfg.rollout.max_new_tokens,
    };
    let pad = tok.pad_id().unwrap_or(0);
    for step in start_step..cfg.steps {
        let m = run_step(
            cfg,
            step,
            &policy,
            reference.as_ref(),
            &tok,
            &mut opt,
            &mut mixture,
            &scorer,
            &settings,
            pad,
            &samples_path,
        )?;
        append_line(
            &metrics_path,
            &serde_json::to_string(&m).map_err(|e| GrpoError::Run(e.to_string()))?,
        )?;
        bar.set_message(format!(
            "reward {:.3} acc {:.3} kl {:.4} {:.0} tok/s",
            m.reward_mean, m.accuracy, m.kl, m.tokens_per_s
        ));
        bar.inc(1);
        history.push(m);
        let done = step + 1;
        if cfg.objective.ref_refresh_steps > 0 && done % cfg.objective.ref_refresh_steps == 0 {
            if let Some(r) = reference.as_mut() {
                tch::no_grad(|| r.vs.copy(&policy.vs))?;
            }
        }
        let st = RunState {
            step: done,
            envs: mixture.states(),
        };
        let due = cfg.log.checkpoint_every > 0 && done % cfg.log.checkpoint_every == 0;
        if due || done == cfg.steps {
            saver.save_state(&policy, reference.as_ref(), &opt, &st)?;
            crate::checkpoint::save(
                &policy,
                &tok,
                &out.join("checkpoints").join(format!("step-{done}")),
            )?;
        }
        if opts.stop_after == Some(step) {
            bar.abandon();
            return Ok(RunSummary {
                metrics: history,
                out,
            });
        }
    }
    bar.finish();
    if cfg.log.plots {
        write_plots(&out, &history)?;
    }
    Ok(RunSummary {
        metrics: history,
        out,
    })
}

fn progress(len: u64, hidden: bool) -> ProgressBar {
    crate::sft::styled_bar(
        len,
        !hidden,
        "grpo [{bar:30}] step {pos}/{len} {msg} ({elapsed} < {eta})",
    )
}

/// One step: sample (with dynamic-sampling refills), score, learn; returns its metrics.
#[allow(clippy::too_many_arguments)]
fn run_step(
    cfg: &GrpoConfig,
    step: usize,
    policy: &Model,
    reference: Option<&Model>,
    tok: &Tokenizer,
    opt: &mut AdamW,
    mixture: &mut Mixture,
    scorer: &Scorer,
    settings: &LearnSettings,
    pad: i64,
    samples_path: &Path,
) -> Result<StepMetrics, GrpoError> {
    let t0 = Instant::now();
    let g = cfg.rollout.group_size;
    let want = cfg.rollout.tasks_per_step;
    let obj = &cfg.objective;
    let overlong = obj.overlong_penalty.then_some((
        cfg.rollout.max_new_tokens,
        obj.overlong_cache,
        obj.overlong_factor,
    ));
    let mut all: Vec<Rollout> = Vec::new();
    let mut kept: Vec<Rollout> = Vec::new();
    let (mut t_sample, mut t_score, mut t_reference) = (0.0, 0.0, 0.0);
    let mut rounds = 0;
    let mut ref_logp: Option<Tensor> = None;
    let mut early_batch = None;
    loop {
        let need = if obj.dynamic_sampling {
            want - kept.len() / g
        } else {
            want
        };
        let drawn = mixture.draw(step as u64, rounds as u64, need)?;
        let pending = sample_round(
            policy,
            tok,
            &cfg.rollout,
            mixture,
            scorer,
            &drawn,
            cfg.seed,
            step as u64,
            rounds as u64,
            all.len() / g,
        )?;
        t_sample += pending.sample_time.as_secs_f64();
        // Without dynamic sampling every rollout is trained on: compute the reference
        // log-probs while the verifiers score.
        if !obj.dynamic_sampling {
            let refs: Vec<&Rollout> = pending.rollouts.iter().collect();
            let zeros = vec![0.0; refs.len()];
            let batch = build_batch(&refs, &zeros, obj.mask_truncated, pad, policy.device());
            if let Some(r) = reference {
                let t = Instant::now();
                ref_logp = Some(reference_logprobs(
                    r,
                    &batch,
                    settings.micro_batch_size,
                    settings.temperature,
                )?);
                t_reference += t.elapsed().as_secs_f64();
            }
            early_batch = Some(batch);
        }
        let rubrics = mixture.envs.iter().map(|e| e.rubric.as_ref()).collect();
        let shaping = Shaping { rubrics, overlong };
        let (rollouts, wait) = pending.collect(scorer, &shaping).map_err(GrpoError::Run)?;
        t_score += wait.as_secs_f64();
        rounds += 1;
        for group in rollouts.chunks(g) {
            let rewards: Vec<f64> = group.iter().map(|r| r.reward).collect();
            if !obj.dynamic_sampling || !all_equal(&rewards) {
                kept.extend_from_slice(group);
            }
        }
        all.extend(rollouts);
        if !obj.dynamic_sampling || kept.len() / g >= want || rounds > obj.max_resample_rounds {
            break;
        }
    }
    kept.truncate(want * g);

    let t_learn = Instant::now();
    let rewards: Vec<f64> = kept.iter().map(|r| r.reward).collect();
    let adv = advantages(&rewards, g, obj.advantage_scale, obj.advantage_eps);
    let lr = lr_at(&cfg.optim, step, cfg.steps);
    let mut metrics = StepMetrics {
        step,
        lr,
        sampling_rounds: rounds,
        groups_trained: kept.len() / g,
        ..Default::default()
    };
    if !kept.is_empty() {
        let batch = match early_batch {
            Some(mut b) => {
                let a: Vec<f32> = adv.iter().map(|&x| x as f32).collect();
                b.adv = Tensor::from_slice(&a).to_device(policy.device());
                b
            }
            None => {
                let refs: Vec<&Rollout> = kept.iter().collect();
                let b = build_batch(&refs, &adv, obj.mask_truncated, pad, policy.device());
                if let Some(r) = reference {
                    let t = Instant::now();
                    ref_logp = Some(reference_logprobs(
                        r,
                        &b,
                        settings.micro_batch_size,
                        settings.temperature,
                    )?);
                    t_reference += t.elapsed().as_secs_f64();
                }
                b
            }
        };
        let rep = learn(policy, ref_logp.as_ref(), opt, &batch, settings, lr)?;
        metrics.loss = rep.loss;
        metrics.grad_norm = rep.grad_norm;
        metrics.kl = rep.stats.kl();
        metrics.clip_low = rep.stats.clip_low();
        metrics.clip_high = rep.stats.clip_high();
        metrics.clip_region = rep.stats.clip_region();
        metrics.entropy = rep.entropy;
    }
    let learn_s = t_learn.elapsed().as_secs_f64();

    metrics.fill_rollouts(&all, g);
    for slot in 0..mixture.envs.len() {
        let correct: Vec<bool> = all
            .iter()
            .filter(|r| r.slot == slot)
            .map(|r| r.verdict.as_ref().is_some_and(|v| v.correct))
            .collect();
        mixture.record(slot, &correct)?;
    }
    // Difficulty the step sampled at is what the rollouts say; log the env's level after
    // the curriculum update (what the next step samples at).
    for e in &mixture.envs {
        metrics
            .difficulty
            .insert(e.spec.name.clone(), e.state.difficulty);
    }
    write_samples(samples_path, cfg, tok, step, &all)?;
    let step_s = t0.elapsed().as_secs_f64();
    metrics.time_sample_s = t_sample;
    metrics.time_score_s = t_score;
    metrics.time_reference_s = t_reference;
    metrics.time_learn_s = learn_s;
    metrics.time_step_s = step_s;
    metrics.tokens_per_s = metrics.new_tokens as f64 / step_s.max(1e-9);
    Ok(metrics)
}

fn write_samples(
    path: &Path,
    cfg: &GrpoConfig,
    tok: &Tokenizer,
    step: usize,
    all: &[Rollout],
) -> Result<(), GrpoError> {
    for r in all.iter().take(cfg.log.samples_per_step) {
        let v = r.verdict.as_ref();
        let line = serde_json::json!({
            "step": step,
            "env": r.task.env,
            "index": r.task.index,
            "difficulty": r.task.difficulty,
            "prompt": prompt_text(&cfg.rollout, tok, &r.task),
            "completion": r.text,
            "reward": r.reward,
            "correct": v.is_some_and(|v| v.correct),
            "extracted": v.and_then(|v| v.extracted.clone()),
            "reason": v.and_then(|v| v.reason.clone()).or_else(|| r.verify_error.clone()),
            "tokens": r.completion_ids.len(),
            "truncated": r.truncated,
        });
        append_line(path, &line.to_string())?;
    }
    Ok(())
}

/// PNGs of the main curves into `out/plots/`.
pub fn write_plots(out: &Path, history: &[StepMetrics]) -> Result<(), GrpoError> {
    let dir = out.join("plots");
    std::fs::create_dir_all(&dir).map_err(io_err(&dir))?;
    type Curve = (&'static str, fn(&StepMetrics) -> f64);
    let curves: [Curve; 9] = [
        ("reward_mean", |m| m.reward_mean),
        ("accuracy", |m| m.accuracy),
        ("kl", |m| m.kl),
        ("entropy", |m| m.entropy),
        ("completion_len_mean", |m| m.completion_len_mean),
        ("clip_region", |m| m.clip_region),
        ("grad_norm", |m| m.grad_norm),
        ("tokens_per_s", |m| m.tokens_per_s),
        ("lr", |m| m.lr),
    ];
    for (name, f) in curves {
        let pts: Vec<(f64, f64)> = history.iter().map(|m| (m.step as f64, f(m))).collect();
        crate::plot::line_plot(&dir.join(format!("{name}.png")), name, &pts)
            .map_err(GrpoError::Run)?;
    }
    Ok(())
}
