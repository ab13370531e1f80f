//! A GRPO run around the step (`step.rs`): build the policy (checkpoint or random Llama),
//! then run `Grpo::step` for each step, logging metrics, rollout samples and checkpoints
//! into the run folder. `--resume` reloads the last saved state
//! (weights, reference, AdamW moments, mixture/curriculum state); all randomness is derived
//! from (seed, step, ...), so the resumed run reproduces the uninterrupted one.
//!
//! Run folder: `config.toml` (resolved), `metrics.jsonl`, `samples.jsonl`,
//! `events.out.tfevents.*` (the metrics for TensorBoard), `checkpoints/step-N/` (Hugging
//! Face layout), `state/` (what `--resume` needs), `plots/*.png`.

use super::config::{ConfigError, GrpoConfig, StageConfig};
use super::metrics::StepMetrics;
use super::step::{Grpo, StepOutput};
use crate::policy::{checkpoint, Model, ModelError, Tokenizer};
use crate::rm::guard::{Guard, GuardAction, Signals, Trigger};
use crate::rollout::mixture::EnvState;
use crate::rollout::pipeline::{prompt_text, Rollout};
use crate::rollout::sampler::SampleError;
use crate::util::json::{append_line, truncate_jsonl, write_atomic};
use crate::util::progress::styled_bar;
use crate::util::tensorboard::{EventError, EventWriter};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use tch::Device;
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
    #[error(transparent)]
    Events(#[from] EventError),
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
    /// The guard's observations (`[guard] enabled`).
    #[serde(default)]
    guard: Option<Guard>,
}

/// The outcome of [`train`].
pub struct RunSummary {
    pub metrics: Vec<StepMetrics>,
    pub out: PathBuf,
    /// What the guard decided, when it fired.
    pub guard: Option<GuardOutcome>,
}

/// What a run stopped by its guard kept (`OUT/guard.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GuardOutcome {
    pub trigger: Trigger,
    pub action: GuardAction,
    /// Steps taken when the guard fired.
    pub stopped_at: usize,
    /// The checkpoint the run ends with: the last one (stop) or the one the guard rates best
    /// (rollback), relative to the run folder.
    pub checkpoint: String,
}

struct Saver<'a> {
    out: &'a Path,
}

impl Saver<'_> {
    fn state_dir(&self) -> PathBuf {
        self.out.join("state")
    }

    /// Writes what `--resume` needs after `done` steps; the state file goes last so a
    /// half-written save is never picked up.
    fn save_state(&self, grpo: &Grpo, done: usize, guard: Option<&Guard>) -> Result<(), GrpoError> {
        let dir = self.state_dir();
        std::fs::create_dir_all(&dir).map_err(io_err(&dir))?;
        grpo.policy
            .trainable_store()
            .save(dir.join("policy.safetensors"))?;
        if let Some(r) = &grpo.reference {
            r.vs.save(dir.join("reference.safetensors"))?;
        }
        grpo.opt.save(&dir.join("optimizer.pt"))?;
        let state = RunState {
            step: done,
            envs: grpo.mixture.states(),
            guard: guard.cloned(),
        };
        let text =
            serde_json::to_string_pretty(&state).map_err(|e| GrpoError::Run(e.to_string()))?;
        let path = dir.join("state.json");
        write_atomic(&path, text.as_bytes()).map_err(io_err(&path))
    }

    /// Loads the saved policy weights (before the rest of the run is built from them).
    fn load_policy(&self, policy: &mut Model) -> Result<(), GrpoError> {
        Ok(policy
            .trainable_store_mut()
            .load(self.state_dir().join("policy.safetensors"))?)
    }

    /// Loads the rest of the saved state into `grpo`; returns the next step to run and the
    /// guard's state.
    fn load_state(&self, grpo: &mut Grpo) -> Result<(usize, Option<Guard>), GrpoError> {
        let dir = self.state_dir();
        let path = dir.join("state.json");
        let text = std::fs::read_to_string(&path).map_err(io_err(&path))?;
        let st: RunState = serde_json::from_str(&text)
            .map_err(|e| GrpoError::Run(format!("{}: {e}", path.display())))?;
        if let Some(r) = grpo.reference.as_mut() {
            r.vs.load(dir.join("reference.safetensors"))?;
        }
        grpo.opt.load(&dir.join("optimizer.pt"))?;
        grpo.mixture.restore(&st.envs)?;
        Ok((st.step, st.guard))
    }
}

/// Trains with GRPO as configured, from the policy `cfg.model` names; see the module docs
/// for the run folder.
pub fn train(cfg: &GrpoConfig, opts: RunOptions) -> Result<RunSummary, GrpoError> {
    let (mut policy, tok) = crate::policy::build(&cfg.model, opts.device)?;
    train_policy(cfg, opts, &mut policy, &tok)
}

/// Trains `policy` (already built, e.g. by an SFT stage in the same process) with GRPO.
pub fn train_policy(
    cfg: &GrpoConfig,
    opts: RunOptions,
    policy: &mut Model,
    tok: &Tokenizer,
) -> Result<RunSummary, GrpoError> {
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
    let resuming = opts.resume && state_file.exists();
    if cfg.lora.enabled() && policy.lora().is_none() {
        let base = crate::lm::stage::base_path(&cfg.model.path);
        policy.attach_lora(&cfg.lora, cfg.seed as i64, &base)?;
    }
    if resuming {
        saver.load_policy(policy)?;
    }
    let policy = &*policy;
    let mut grpo = Grpo::new(cfg, policy, tok, opts.registry.clone())?;

    let metrics_path = out.join("metrics.jsonl");
    let samples_path = out.join("samples.jsonl");
    let mut start_step = 0;
    let mut history: Vec<StepMetrics> = Vec::new();
    let mut guard = cfg.guard.enabled.then(|| Guard::new(cfg.guard.clone()));
    if resuming {
        let (step, saved_guard) = saver.load_state(&mut grpo)?;
        start_step = step;
        if guard.is_some() {
            guard = saved_guard.or(guard);
        }
        if guard.as_ref().is_some_and(|g| g.fired().is_some()) {
            // The guard ended this run; resuming past its decision would undo it.
            let path = out.join("guard.json");
            let text = std::fs::read_to_string(&path).map_err(io_err(&path))?;
            let outcome: GuardOutcome = serde_json::from_str(&text)
                .map_err(|e| GrpoError::Run(format!("{}: {e}", path.display())))?;
            eprintln!(
                "the guard stopped this run after {} steps ({}); nothing to resume",
                outcome.stopped_at, outcome.trigger.rule
            );
            let history = read_metrics(&metrics_path);
            return Ok(RunSummary {
                metrics: history,
                out,
                guard: Some(outcome),
            });
        }
        for p in [&metrics_path, &samples_path] {
            truncate_jsonl(p, start_step).map_err(io_err(p))?;
        }
        history = read_metrics(&metrics_path);
    } else {
        for p in [&metrics_path, &samples_path] {
            std::fs::write(p, "").map_err(io_err(p))?;
        }
    }
    // The event file starts afresh from what metrics.jsonl now holds (nothing, or the
    // steps up to the resumed checkpoint).
    let mut events = match cfg.log.tensorboard {
        true => Some(EventWriter::resume_from_jsonl(&out, &metrics_path)?),
        false => None,
    };

    let bar = styled_bar(
        cfg.steps as u64,
        !opts.quiet && cfg.log.progress,
        "grpo [{bar:30}] step {pos}/{len} {msg} ({elapsed} < {eta})",
    );
    bar.set_position(start_step as u64);
    let suite = cfg.eval.suite()?;
    for step in start_step..cfg.steps {
        let StepOutput {
            mut metrics,
            rollouts,
        } = grpo.step(step)?;
        let done = step + 1;
        if let Some(suite) = &suite {
            if done % cfg.eval.every == 0 || done == cfg.steps {
                metrics.eval = eval_suite(cfg, suite, policy, tok, &out, done)?;
            }
        }
        let fired = match guard.as_mut() {
            Some(g) => {
                let t = g.observe(
                    step,
                    guard_signals(cfg, grpo.reward_model_count(), &metrics),
                );
                metrics.guard_estimate = g.estimate();
                metrics.guard_stop = t.clone();
                t
            }
            None => None,
        };
        let line = serde_json::to_string(&metrics).map_err(|e| GrpoError::Run(e.to_string()))?;
        append_line(&metrics_path, &line).map_err(io_err(&metrics_path))?;
        if let Some(events) = events.as_mut() {
            events.write_line(&line)?;
        }
        write_samples(&samples_path, cfg, tok, step, &rollouts)?;
        bar.set_message(format!(
            "reward {:.3} acc {:.3} kl {:.4} {:.0} tok/s",
            metrics.reward_mean, metrics.accuracy, metrics.kl, metrics.tokens_per_s
        ));
        bar.inc(1);
        history.push(metrics);
        let every = cfg.objective.ref_refresh_steps;
        if every > 0 && done % every == 0 {
            grpo.refresh_reference()?;
        }
        let due = cfg.log.checkpoint_every > 0 && done % cfg.log.checkpoint_every == 0;
        if due || done == cfg.steps || fired.is_some() {
            saver.save_state(&grpo, done, guard.as_ref())?;
            let dir = out.join("checkpoints").join(format!("step-{done}"));
            checkpoint::save_policy(policy, tok, &dir)?;
            if !cfg.rollout.chat {
                checkpoint::write_prompt_template(&dir, &cfg.rollout.prompt_template)?;
            }
        }
        if let (Some(trigger), Some(g)) = (fired, guard.as_ref()) {
            bar.abandon_with_message(format!("guard: {}", trigger.reason));
            let outcome = guard_outcome(&out, cfg.guard.action, trigger, g, done)?;
            if cfg.log.plots {
                write_plots(&out, &history, Some(&outcome))?;
            }
            return Ok(RunSummary {
                metrics: history,
                out,
                guard: Some(outcome),
            });
        }
        if opts.stop_after == Some(step) {
            bar.abandon();
            return Ok(RunSummary {
                metrics: history,
                out,
                guard: None,
            });
        }
    }
    bar.finish();
    if cfg.log.plots {
        write_plots(&out, &history, None)?;
    }
    Ok(RunSummary {
        metrics: history,
        out,
        guard: None,
    })
}

fn read_metrics(path: &Path) -> Vec<StepMetrics> {
    std::fs::read_to_string(path)
        .map(|text| {
            text.lines()
                .filter_map(|l| serde_json::from_str(l).ok())
                .collect()
        })
        .unwrap_or_default()
}

/// What the guard sees of a step. The gold signal is the verifier's reward when the run
/// trains on reward models and keeps the verifier out of the reward (`verifier_weight = 0`);
/// the ensemble's signals need two members or more.
fn guard_signals(cfg: &GrpoConfig, members: usize, m: &StepMetrics) -> Signals {
    let held_out = !cfg.reward.model.is_empty() && cfg.reward.verifier_weight == 0.0;
    Signals {
        proxy: m.rm_reward_mean.unwrap_or(m.reward_mean),
        gold: m.verifier_reward_mean.filter(|_| held_out),
        ensemble_min: m.rm_min_mean.filter(|_| members > 1),
        ensemble_std: m.rm_std_mean.filter(|_| members > 1),
        kl: m.kl,
        length: m.completion_len_mean,
        repetition: m.repetition,
    }
}

/// Ends a run whose guard fired: picks the checkpoint to keep (the last, or the saved one
/// the guard rates best) and writes `OUT/guard.json`.
fn guard_outcome(
    out: &Path,
    action: GuardAction,
    trigger: Trigger,
    guard: &Guard,
    done: usize,
) -> Result<GuardOutcome, GrpoError> {
    let kept = match action {
        GuardAction::Stop => done,
        GuardAction::Rollback => {
            // Checkpoint step-N holds the weights that sampled step N's rollouts.
            let saved = saved_checkpoints(&out.join("checkpoints"))?;
            guard.best_of(&saved).unwrap_or(done)
        }
    };
    let outcome = GuardOutcome {
        trigger,
        action,
        stopped_at: done,
        checkpoint: format!("checkpoints/step-{kept}"),
    };
    let text = serde_json::to_string_pretty(&outcome).map_err(|e| GrpoError::Run(e.to_string()))?;
    let path = out.join("guard.json");
    write_atomic(&path, text.as_bytes()).map_err(io_err(&path))?;
    Ok(outcome)
}

/// The N of every `step-N` folder in `dir`, ascending.
fn saved_checkpoints(dir: &Path) -> Result<Vec<usize>, GrpoError> {
    let mut steps: Vec<usize> = std::fs::read_dir(dir)
        .map_err(io_err(dir))?
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str()?.strip_prefix("step-")?.parse().ok())
        .collect();
    steps.sort_unstable();
    Ok(steps)
}

/// Runs the suite on the policy into `OUT/eval/step-N` (resumable like any eval) and
/// returns what `metrics.jsonl` records of it.
fn eval_suite(
    cfg: &GrpoConfig,
    suite: &verigym_eval::Suite,
    policy: &Model,
    tok: &Tokenizer,
    out: &Path,
    step: usize,
) -> Result<std::collections::BTreeMap<String, f64>, GrpoError> {
    use crate::eval::{Held, LocalModel};
    let backend = LocalModel {
        model: Held::Borrowed(policy),
        tokenizer: Held::Borrowed(tok),
        prompt_template: (!cfg.rollout.chat).then(|| cfg.rollout.prompt_template.clone()),
        batch_size: cfg.eval.batch_size,
        name: format!("policy at step {step}"),
        kv_cache_dtype: cfg.rollout.kv_cache_dtype,
    };
    let dir = out.join("eval").join(format!("step-{step}"));
    let opts = verigym_eval::RunOptions {
        progress: false,
        ..Default::default()
    };
    let s = verigym_eval::run(suite, &backend, &dir, &opts)
        .map_err(|e| GrpoError::Run(format!("eval at step {step}: {e}")))?;
    let mut logged = std::collections::BTreeMap::new();
    logged.insert("accuracy".to_string(), s.overall.accuracy.mean);
    for (k, v) in &s.overall.pass_at_k {
        logged.insert(format!("pass@{k}"), *v);
    }
    for (env, scores) in &s.per_env {
        for (k, v) in &scores.pass_at_k {
            logged.insert(format!("pass@{k}/{env}"), *v);
        }
    }
    Ok(logged)
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
        append_line(path, &line.to_string()).map_err(io_err(path))?;
    }
    Ok(())
}

/// PNGs of the main curves into `out/plots/`, one chart per metric against the step.
pub fn write_plots(
    out: &Path,
    history: &[StepMetrics],
    guard: Option<&GuardOutcome>,
) -> Result<(), GrpoError> {
    use crate::util::plot::{chart, Series};
    let dir = out.join("plots");
    std::fs::create_dir_all(&dir).map_err(io_err(&dir))?;
    /// File name, title, y axis, legend label, noisy (smoothed) or not, and the value.
    type Curve = (
        &'static str,
        &'static str,
        &'static str,
        &'static str,
        bool,
        fn(&StepMetrics) -> f64,
    );
    let curves: [Curve; 9] = [
        (
            "reward_mean",
            "GRPO: mean reward per step",
            "reward",
            "mean reward",
            true,
            |m| m.reward_mean,
        ),
        (
            "accuracy",
            "GRPO: accuracy of the training samples",
            "accuracy (fraction)",
            "accuracy",
            true,
            |m| m.accuracy,
        ),
        (
            "kl",
            "GRPO: KL to the reference policy (k3)",
            "KL (nats/token)",
            "KL",
            true,
            |m| m.kl,
        ),
        (
            "entropy",
            "GRPO: policy entropy",
            "entropy (nats/token)",
            "entropy",
            true,
            |m| m.entropy,
        ),
        (
            "completion_len_mean",
            "GRPO: mean completion length",
            "tokens",
            "mean length",
            true,
            |m| m.completion_len_mean,
        ),
        (
            "clip_region",
            "GRPO: tokens with the ratio clipped",
            "fraction",
            "clipped tokens",
            true,
            |m| m.clip_region,
        ),
        (
            "grad_norm",
            "GRPO: gradient norm before clipping",
            "L2 norm",
            "gradient norm",
            true,
            |m| m.grad_norm,
        ),
        (
            "tokens_per_s",
            "GRPO: new tokens per second of the step",
            "tokens/s",
            "throughput",
            true,
            |m| m.tokens_per_s,
        ),
        (
            "lr",
            "GRPO: learning rate",
            "learning rate",
            "learning rate",
            false,
            |m| m.lr,
        ),
    ];
    // The suite evals: pass@1 per env (and overall) at the steps they ran.
    let evals: Vec<&StepMetrics> = history.iter().filter(|m| !m.eval.is_empty()).collect();
    if let Some(last) = evals.last() {
        let keys: Vec<&String> = last
            .eval
            .keys()
            .filter(|k| k.as_str() == "pass@1" || k.starts_with("pass@1/"))
            .collect();
        let points: Vec<Vec<(f64, f64)>> = keys
            .iter()
            .map(|k| {
                evals
                    .iter()
                    .filter_map(|m| m.eval.get(*k).map(|v| (m.step as f64 + 1.0, *v)))
                    .collect()
            })
            .collect();
        let series: Vec<Series> = keys
            .iter()
            .zip(&points)
            .map(|(k, p)| Series::line(k.strip_prefix("pass@1/").unwrap_or("overall"), p))
            .collect();
        chart(
            &dir.join("eval_pass_at_1.png"),
            "GRPO: pass@1 on the held-out suite",
            "step",
            "pass@1",
            &series,
        )
        .map_err(GrpoError::Run)?;
    }
    if history.iter().any(|m| m.rm_reward_mean.is_some()) {
        proxy_chart(&dir.join("proxy_vs_gold.png"), history, guard)?;
    }
    for (name, title, y_label, label, noisy, f) in curves {
        let pts: Vec<(f64, f64)> = history.iter().map(|m| (m.step as f64, f(m))).collect();
        let series = if noisy {
            Series::noisy(label, &pts)
        } else {
            Series::line(label, &pts)
        };
        chart(
            &dir.join(format!("{name}.png")),
            title,
            "step",
            y_label,
            &[series],
        )
        .map_err(GrpoError::Run)?;
    }
    Ok(())
}

/// The reward models' score against the verifier's (the gold scorer, when held out), with
/// the guard's stop marked.
fn proxy_chart(
    path: &Path,
    history: &[StepMetrics],
    guard: Option<&GuardOutcome>,
) -> Result<(), GrpoError> {
    use crate::util::plot::{chart, Series};
    let pts = |f: fn(&StepMetrics) -> Option<f64>| -> Vec<(f64, f64)> {
        history
            .iter()
            .filter_map(|m| f(m).map(|v| (m.step as f64, v)))
            .collect()
    };
    let proxy = pts(|m| m.rm_reward_mean);
    let gold = pts(|m| m.verifier_reward_mean);
    let mut series = vec![Series::noisy("reward model (proxy)", &proxy)];
    if !gold.is_empty() {
        series.push(Series::noisy("verifier (gold)", &gold));
    }
    let ys = proxy.iter().chain(&gold).map(|p| p.1);
    let (lo, hi) = ys.fold((f64::MAX, f64::MIN), |(a, b), y| (a.min(y), b.max(y)));
    let stop: Vec<(f64, f64)> = guard
        .map(|g| {
            let x = g.stopped_at as f64 - 1.0;
            vec![(x, lo), (x, hi)]
        })
        .unwrap_or_default();
    if !stop.is_empty() {
        series.push(Series::line("guard stop", &stop));
    }
    chart(
        path,
        "GRPO: proxy reward against gold",
        "step",
        "reward",
        &series,
    )
    .map_err(GrpoError::Run)
}
