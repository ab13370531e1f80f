//! `verigym train rm`: a reward model from people's feedback, in the run-folder shape of the
//! other stages (a TOML config whose knobs all have defaults, `--set`, `--resume`).
//!
//! The feedback file (`data.path`, any of the three shapes of `verigym_envs::feedback`)
//! becomes preference pairs; a held-out split (`data.val_path`, or `data.val_fraction` of the
//! prompts, so no prompt is on both sides) measures pairwise accuracy. Each step scores
//! `train.batch_size` pairs — the prompt followed by each completion, as the policy wrote it
//! — and takes an AdamW step on the Bradley–Terry loss (`rm::loss`), with rating differences
//! as margins when `data.margin` is on.
//!
//! Run folder, for one model:
//! - `config.toml`, `metrics.jsonl` (`step`, `loss`, `accuracy`, `margin`, `lr`,
//!   `grad_norm`, `pairs_per_s`; `val_loss`, `val_accuracy`, `val_margin` at evaluations),
//!   TensorBoard events, `plots/rm.png`, `report.md`;
//! - `checkpoints/step-N/`: the reward model as transformers saves
//!   `*ForSequenceClassification` (what `verigym rm score` and `train grpo`'s `[reward]`
//!   load);
//! - `state/`: what `--resume` needs.
//!
//! With `train.ensemble = k > 1` each member trains in `members/m{i}/` (that same layout) on
//! its own bootstrap resample of the training pairs and its own data order; the run folder
//! keeps `config.toml`, `report.md` and `ensemble.json`, which lists the members' final
//! checkpoints (one member when k = 1) and their held-out accuracy.

use super::loss::{bradley_terry, pair_stats, PairStats};
use super::model::{is_reward_model, left_pad, RewardModel};
use crate::lm::stage::{LmLog, StageError, StageOptions};
use crate::lm::train::{restore, trainable, EpochOrder};
use crate::optim::{lr_at, AdamW, OptimConfig};
use crate::policy::{Config, ModelConfig, Tokenizer};
use crate::util::config::{finite_in, within, ConfigError, StageConfig};
use crate::util::json::{append_line, truncate_jsonl, write_atomic};
use crate::util::tensorboard::EventWriter;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;
use tch::{Device, Kind, Tensor};
use verigym_envs::feedback::{self, Pair};
use verigym_envs::TaskRng;

/// Feedback data (TOML `[data]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RmData {
    /// Feedback JSONL: comparisons, ratings or orderings (mixed freely).
    pub path: String,
    /// Held-out feedback (empty: split `val_fraction` of the prompts off `path`).
    pub val_path: String,
    pub val_fraction: f64,
    /// Use rating differences as Bradley–Terry margins.
    pub margin: bool,
}

impl Default for RmData {
    fn default() -> Self {
        RmData {
            path: String::new(),
            val_path: String::new(),
            val_fraction: 0.1,
            margin: false,
        }
    }
}

/// Batches, lengths, evaluation and the ensemble (TOML `[train]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RmTrain {
    /// Pairs per optimiser step.
    pub batch_size: usize,
    /// Most tokens of a prompt and completion; longer pairs are left out and counted.
    pub max_len: usize,
    /// Held-out loss and accuracy every N steps (and at the last).
    pub eval_every: usize,
    /// Pairs scored per forward pass at evaluation.
    pub eval_batch_size: usize,
    /// TRL's `center_rewards_coefficient`: keeps scores near zero (0: off).
    pub center: f64,
    /// Reward models trained (members of an ensemble).
    pub ensemble: usize,
    /// Each member of an ensemble trains on a bootstrap resample of the pairs (off: all
    /// members see every pair, in their own order).
    pub bootstrap: bool,
}

impl Default for RmTrain {
    fn default() -> Self {
        RmTrain {
            batch_size: 16,
            max_len: 256,
            eval_every: 10,
            eval_batch_size: 32,
            center: 0.0,
            ensemble: 1,
            bootstrap: true,
        }
    }
}

/// `verigym train rm`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RmConfig {
    pub seed: u64,
    pub steps: usize,
    pub out: String,
    /// The backbone: a causal-LM checkpoint (its head is replaced by a zero score head), a
    /// reward model to train further, or (empty path) a random model of this shape.
    pub model: ModelConfig,
    pub data: RmData,
    pub train: RmTrain,
    pub optim: OptimConfig,
    pub log: LmLog,
}

impl Default for RmConfig {
    fn default() -> Self {
        RmConfig {
            seed: 0,
            steps: 200,
            out: "runs/rm".into(),
            model: ModelConfig::default(),
            data: RmData::default(),
            train: RmTrain::default(),
            optim: OptimConfig {
                lr: 1e-4,
                weight_decay: 0.0,
                // torch's AdamW defaults, as TRL's RewardTrainer uses them.
                beta1: 0.9,
                beta2: 0.999,
                eps: 1e-8,
                warmup_steps: 10,
                min_lr_ratio: 0.1,
                max_grad_norm: 1.0,
                ..Default::default()
            },
            log: LmLog {
                checkpoint_every: 0,
                ..Default::default()
            },
        }
    }
}

impl StageConfig for RmConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        within("steps", self.steps, 1, 100_000_000)?;
        self.model.validate()?;
        finite_in("data.val_fraction", self.data.val_fraction, 0.0, 0.9)?;
        within("train.batch_size", self.train.batch_size, 1, 1 << 14)?;
        within("train.max_len", self.train.max_len, 2, 1 << 20)?;
        within(
            "train.batch_size x train.max_len",
            self.train.batch_size.saturating_mul(self.train.max_len),
            2,
            1 << 24,
        )?;
        within("train.eval_every", self.train.eval_every, 0, 100_000_000)?;
        within(
            "train.eval_batch_size",
            self.train.eval_batch_size,
            1,
            1 << 14,
        )?;
        finite_in("train.center", self.train.center, 0.0, 1e3)?;
        within("train.ensemble", self.train.ensemble, 1, 64)?;
        self.optim.validate()?;
        if self.data.val_path.is_empty() && self.data.val_fraction == 0.0 {
            return Err(ConfigError::Invalid(
                "data.val_fraction is 0 and data.val_path is empty: a reward model needs \
                 held-out pairs to report its accuracy"
                    .into(),
            ));
        }
        Ok(())
    }
}

/// One member's held-out numbers and final checkpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Member {
    /// The final checkpoint, relative to the run folder.
    pub checkpoint: String,
    pub val_accuracy: f64,
    pub val_loss: f64,
    pub val_margin: f64,
}

/// `ensemble.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnsembleFile {
    pub members: Vec<Member>,
    /// Held-out accuracy of the members' mean score.
    pub ensemble_val_accuracy: f64,
    pub train_pairs: usize,
    pub val_pairs: usize,
    /// Pairs longer than `train.max_len` tokens, left out: in the held-out split and the
    /// last member's training pairs (its bootstrap resample, in an ensemble).
    pub dropped_pairs: usize,
    /// What converting the feedback saw (ties, duplicates, conflicts ...).
    pub feedback: feedback::PairStats,
}

/// What a finished run reports.
pub struct RmSummary {
    pub out: PathBuf,
    pub ensemble: EnsembleFile,
}

/// A pair as token ids (prompt + completion, with the tokenizer's special tokens).
#[derive(Clone)]
struct TokPair {
    chosen: Vec<i64>,
    rejected: Vec<i64>,
    margin: f64,
}

/// Trains the reward model(s) as configured; see the module docs for the run folder.
pub fn train(cfg: &RmConfig, opts: StageOptions) -> Result<RmSummary, StageError> {
    let (rows, fb_stats) = read_pairs(&cfg.data.path, "data.path")?;
    let (train_pairs, val_pairs) = match cfg.data.val_path.as_str() {
        "" => split_by_prompt(rows, cfg.data.val_fraction, cfg.seed),
        p => (rows, read_pairs(p, "data.val_path")?.0),
    };
    if train_pairs.is_empty() || val_pairs.is_empty() {
        return Err(StageError::Run(format!(
            "{} gives {} training and {} held-out pairs: both need at least one (more \
             feedback, or data.val_path)",
            cfg.data.path,
            train_pairs.len(),
            val_pairs.len()
        )));
    }
    let out = opts.out.clone();
    let holds_a_run = [
        "state/state.json",
        "members/m0/state/state.json",
        "ensemble.json",
    ]
    .iter()
    .any(|f| out.join(f).exists());
    if !opts.resume && holds_a_run {
        return Err(StageError::Run(format!(
            "{} already holds a run; pass --resume to continue it or choose another --out",
            out.display()
        )));
    }
    std::fs::create_dir_all(&out).map_err(|e| run_err(&out, e))?;
    std::fs::write(out.join("config.toml"), cfg.to_toml()).map_err(|e| run_err(&out, e))?;
    let started = Instant::now();
    let k = cfg.train.ensemble;
    let mut members = Vec::with_capacity(k);
    let mut val_scores: Vec<(Vec<f64>, Vec<f64>)> = Vec::new();
    let mut dropped = 0;
    for i in 0..k {
        let dir = match k {
            1 => out.clone(),
            _ => out.join("members").join(format!("m{i}")),
        };
        let member_opts = StageOptions {
            out: dir.clone(),
            resume: opts.resume,
            device: opts.device,
            stop_after: opts.stop_after,
        };
        let train_i = if k > 1 && cfg.train.bootstrap {
            bootstrap(&train_pairs, cfg.seed, i as u64)
        } else {
            train_pairs.clone()
        };
        let r = train_member(cfg, i as u64, &train_i, &val_pairs, &member_opts)?;
        let Some(r) = r else {
            // Stopped early (a resume test's simulated kill).
            return Ok(RmSummary {
                out,
                ensemble: EnsembleFile {
                    members,
                    ensemble_val_accuracy: f64::NAN,
                    train_pairs: train_pairs.len(),
                    val_pairs: val_pairs.len(),
                    dropped_pairs: dropped,
                    feedback: fb_stats,
                },
            });
        };
        dropped = r.dropped;
        let rel = r
            .checkpoint
            .strip_prefix(&out)
            .unwrap_or(&r.checkpoint)
            .display()
            .to_string();
        members.push(Member {
            checkpoint: rel,
            val_accuracy: r.val.stats.accuracy,
            val_loss: r.val.loss,
            val_margin: r.val.stats.margin,
        });
        val_scores.push((r.val.chosen, r.val.rejected));
    }
    let ensemble_val_accuracy = mean_accuracy(&val_scores);
    let ens = EnsembleFile {
        members,
        ensemble_val_accuracy,
        train_pairs: train_pairs.len(),
        val_pairs: val_pairs.len(),
        dropped_pairs: dropped,
        feedback: fb_stats,
    };
    let text = serde_json::to_string_pretty(&ens).map_err(|e| StageError::Run(e.to_string()))?;
    let path = out.join("ensemble.json");
    write_atomic(&path, text.as_bytes()).map_err(|e| run_err(&path, e))?;
    if k > 1 {
        let md = ensemble_report(&ens, started.elapsed().as_secs_f64());
        let path = out.join("report.md");
        write_atomic(&path, md.as_bytes()).map_err(|e| run_err(&path, e))?;
    }
    Ok(RmSummary { out, ensemble: ens })
}

fn run_err(path: &Path, e: impl std::fmt::Display) -> StageError {
    StageError::Run(format!("{}: {e}", path.display()))
}

fn read_pairs(path: &str, knob: &str) -> Result<(Vec<Pair>, feedback::PairStats), StageError> {
    if path.is_empty() {
        return Err(ConfigError::Invalid(format!(
            "{knob} is empty: name a feedback JSONL file (comparisons, ratings or orderings)"
        ))
        .into());
    }
    let rows = feedback::read_file(Path::new(path)).map_err(|e| StageError::Run(e.to_string()))?;
    Ok(feedback::to_pairs(&rows))
}

/// Splits pairs by prompt: about `fraction` of the prompts (at least one, when there are
/// two or more) and all their pairs are held out.
fn split_by_prompt(pairs: Vec<Pair>, fraction: f64, seed: u64) -> (Vec<Pair>, Vec<Pair>) {
    let mut prompts: Vec<&str> = pairs.iter().map(|p| p.prompt.as_str()).collect();
    prompts.sort_unstable();
    prompts.dedup();
    let mut order: Vec<usize> = (0..prompts.len()).collect();
    TaskRng::from_seed(seed ^ 0x5eed_5917).shuffle(&mut order);
    let n_val = ((prompts.len() as f64 * fraction).round() as usize)
        .max(usize::from(prompts.len() > 1 && fraction > 0.0));
    let held: std::collections::HashSet<String> = order[..n_val.min(order.len())]
        .iter()
        .map(|&i| prompts[i].to_string())
        .collect();
    pairs.into_iter().partition(|p| !held.contains(&p.prompt))
}

/// A resample of `items` with replacement (member `member` of an ensemble).
fn bootstrap<T: Clone>(items: &[T], seed: u64, member: u64) -> Vec<T> {
    let mut rng = TaskRng::from_seed(seed ^ (member + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    (0..items.len())
        .map(|_| items[rng.below(items.len() as u64) as usize].clone())
        .collect()
}

/// Held-out accuracy of the members' mean score per pair.
fn mean_accuracy(scores: &[(Vec<f64>, Vec<f64>)]) -> f64 {
    let Some(n) = scores.first().map(|s| s.0.len()) else {
        return f64::NAN;
    };
    if n == 0 {
        return f64::NAN;
    }
    let right = (0..n)
        .filter(|&j| {
            let c: f64 = scores.iter().map(|s| s.0[j]).sum();
            let r: f64 = scores.iter().map(|s| s.1[j]).sum();
            c > r
        })
        .count();
    right as f64 / n as f64
}

/// One member's held-out evaluation.
struct Evaluation {
    loss: f64,
    stats: PairStats,
    chosen: Vec<f64>,
    rejected: Vec<f64>,
}

struct MemberResult {
    checkpoint: PathBuf,
    val: Evaluation,
    dropped: usize,
}

/// What a member's `state/state.json` holds.
#[derive(Debug, Serialize, Deserialize)]
struct SavedState {
    /// Steps taken.
    step: usize,
}

/// The reward model to train: from a reward-model folder, a causal-LM checkpoint or a
/// random backbone.
fn build(cfg: &ModelConfig, device: Device) -> Result<(RewardModel, Tokenizer), StageError> {
    if !cfg.path.is_empty() {
        let dir = Path::new(&cfg.path);
        let c = Config::from_file(&dir.join("config.json"))?;
        if is_reward_model(&c) {
            return Ok(RewardModel::load(dir, device, cfg.kind())?);
        }
    }
    let (model, tok) = crate::policy::build(cfg, device)?;
    Ok((RewardModel::new(model), tok))
}

/// Trains member `member` in `opts.out`; None when stopped by `opts.stop_after`.
fn train_member(
    cfg: &RmConfig,
    member: u64,
    train: &[Pair],
    val: &[Pair],
    opts: &StageOptions,
) -> Result<Option<MemberResult>, StageError> {
    let out = &opts.out;
    let state_dir = out.join("state");
    let state_path = state_dir.join("state.json");
    std::fs::create_dir_all(out).map_err(|e| run_err(out, e))?;
    if !opts.resume && state_path.exists() {
        return Err(StageError::Run(format!(
            "{} already holds a run; pass --resume to continue it or choose another --out",
            out.display()
        )));
    }
    let metrics = out.join("metrics.jsonl");
    if !(opts.resume && state_path.exists()) {
        std::fs::write(&metrics, "").map_err(|e| run_err(&metrics, e))?;
    }
    let (rm, tok) = build(&cfg.model, opts.device)?;
    let encode = |p: &Pair| -> Result<Option<TokPair>, StageError> {
        let enc = |c: &str| {
            tok.encode(&format!("{}{c}", p.prompt), true)
                .map_err(|e| StageError::Run(format!("tokenizer: {e}")))
        };
        let (chosen, rejected) = (enc(&p.chosen)?, enc(&p.rejected)?);
        let fits = |ids: &[i64]| !ids.is_empty() && ids.len() <= cfg.train.max_len;
        let margin = if cfg.data.margin { p.margin } else { 0.0 };
        let fit = fits(&chosen) && fits(&rejected);
        Ok(fit.then_some(TokPair {
            chosen,
            rejected,
            margin,
        }))
    };
    let tokenize = |ps: &[Pair]| -> Result<(Vec<TokPair>, usize), StageError> {
        let all: Vec<Option<TokPair>> = ps.iter().map(encode).collect::<Result<_, _>>()?;
        let dropped = all.iter().filter(|p| p.is_none()).count();
        Ok((all.into_iter().flatten().collect(), dropped))
    };
    let (train_tok, dropped_train) = tokenize(train)?;
    let (val_tok, dropped_val) = tokenize(val)?;
    if train_tok.is_empty() || val_tok.is_empty() {
        return Err(StageError::Run(format!(
            "every training or every held-out pair is longer than train.max_len ({}) tokens",
            cfg.train.max_len
        )));
    }
    let pad = tok
        .pad_id()
        .or_else(|| tok.eos_ids().first().copied())
        .unwrap_or(0);
    let device = rm.model.device();
    let scores_of = |pairs: &[&TokPair]| -> Result<(Tensor, Tensor), StageError> {
        let texts: Vec<Vec<i64>> = pairs
            .iter()
            .map(|p| p.chosen.clone())
            .chain(pairs.iter().map(|p| p.rejected.clone()))
            .collect();
        let (ids, attn) = left_pad(&texts, pad, device)?;
        let s = rm.scores(&ids, &attn)?;
        let n = pairs.len() as i64;
        Ok((s.narrow(0, 0, n), s.narrow(0, n, n)))
    };
    let evaluate = || -> Result<Evaluation, StageError> {
        let mut chosen = Vec::with_capacity(val_tok.len());
        let mut rejected = Vec::with_capacity(val_tok.len());
        let mut loss_sum = 0.0;
        for chunk in val_tok.chunks(cfg.train.eval_batch_size) {
            let refs: Vec<&TokPair> = chunk.iter().collect();
            let (c, r) = tch::no_grad(|| scores_of(&refs))?;
            let m = margins(&refs, device);
            let l = bradley_terry(&c, &r, m.as_ref(), 0.0).double_value(&[]);
            loss_sum += l * chunk.len() as f64;
            chosen.extend(Vec::<f64>::try_from(&c.to_kind(Kind::Double))?);
            rejected.extend(Vec::<f64>::try_from(&r.to_kind(Kind::Double))?);
        }
        let (c, r) = (Tensor::from_slice(&chosen), Tensor::from_slice(&rejected));
        Ok(Evaluation {
            loss: loss_sum / val_tok.len() as f64,
            stats: pair_stats(&c, &r),
            chosen,
            rejected,
        })
    };

    let mut opt = AdamW::new(trainable(&rm.model.vs), cfg.optim.clone());
    let mut step = 0;
    if opts.resume && state_path.exists() {
        let text = std::fs::read_to_string(&state_path).map_err(|e| run_err(&state_path, e))?;
        let saved: SavedState = serde_json::from_str(&text).map_err(|e| run_err(&state_path, e))?;
        let weights = Tensor::read_safetensors(state_dir.join("model.safetensors"))?;
        restore(&rm.model.vs, &weights);
        opt.load(&state_dir.join("optimizer.pt"))?;
        step = saved.step;
        truncate_jsonl(&metrics, step).map_err(|e| run_err(&metrics, e))?;
        eprintln!("resumed at step {step} from {}", state_dir.display());
    }
    let mut events = match cfg.log.tensorboard {
        true => Some(EventWriter::resume_from_jsonl(out, &metrics).map_err(|e| run_err(out, e))?),
        false => None,
    };
    let save = |step: usize, opt: &AdamW| -> Result<PathBuf, StageError> {
        let dir = out.join("checkpoints").join(format!("step-{step}"));
        rm.save(&tok, &dir)?;
        std::fs::create_dir_all(&state_dir).map_err(|e| run_err(&state_dir, e))?;
        rm.model.vs.save(state_dir.join("model.safetensors"))?;
        opt.save(&state_dir.join("optimizer.pt"))?;
        let text = serde_json::to_string(&SavedState { step }).unwrap_or_default();
        write_atomic(&state_path, text.as_bytes()).map_err(|e| run_err(&state_path, e))?;
        Ok(dir)
    };

    let mut order = EpochOrder::new(
        train_tok.len(),
        cfg.train.batch_size,
        cfg.seed ^ member.wrapping_mul(0xA076_1D64_78BD_642F),
    );
    let label = match cfg.train.ensemble {
        1 => "rm".to_string(),
        _ => format!("rm m{member}"),
    };
    let bar = crate::util::progress::progress_bar(cfg.steps as u64, &label, cfg.log.progress);
    bar.set_position(step as u64);
    let mut last_eval = None;
    let mut last_checkpoint = None;
    while step < cfg.steps {
        let t0 = Instant::now();
        let idx = order.batch(step);
        let batch: Vec<&TokPair> = idx.iter().map(|&i| &train_tok[i]).collect();
        let lr = lr_at(&cfg.optim, step, cfg.steps);
        let (c, r) = scores_of(&batch)?;
        let m = margins(&batch, device);
        let loss = bradley_terry(&c, &r, m.as_ref(), cfg.train.center);
        opt.zero_grad();
        loss.backward();
        let grad_norm = opt.clip_grad_norm(cfg.optim.max_grad_norm);
        let l = loss.double_value(&[]);
        if !(l.is_finite() && grad_norm.is_finite()) {
            return Err(StageError::Run(format!(
                "non-finite loss ({l}) or gradient norm ({grad_norm}) at step {}: stopping \
                 before the update (lower optim.lr)",
                step + 1
            )));
        }
        opt.step(lr);
        let stats = pair_stats(&c, &r);
        step += 1;
        let mut line = serde_json::json!({
            "step": step - 1,
            "loss": l,
            "accuracy": stats.accuracy,
            "margin": stats.margin,
            "lr": lr,
            "grad_norm": grad_norm,
            "pairs_per_s": batch.len() as f64 / t0.elapsed().as_secs_f64().max(1e-9),
        });
        let eval_due = cfg.train.eval_every > 0 && step.is_multiple_of(cfg.train.eval_every);
        if eval_due || step == cfg.steps {
            let e = evaluate()?;
            line["val_loss"] = e.loss.into();
            line["val_accuracy"] = e.stats.accuracy.into();
            line["val_margin"] = e.stats.margin.into();
            bar.set_message(format!("val acc {:.3}", e.stats.accuracy));
            last_eval = Some(e);
        }
        let line = line.to_string();
        append_line(&metrics, &line).map_err(|e| run_err(&metrics, e))?;
        if let Some(ev) = events.as_mut() {
            ev.write_line(&line).map_err(|e| run_err(out, e))?;
        }
        let every = cfg.log.checkpoint_every;
        if (every > 0 && step.is_multiple_of(every)) || step == cfg.steps {
            last_checkpoint = Some(save(step, &opt)?);
        }
        bar.inc(1);
        if opts.stop_after == Some(step) && step < cfg.steps {
            return Ok(None);
        }
    }
    bar.finish_and_clear();
    // A run resumed after its last step has not evaluated in this session.
    let val = match last_eval {
        Some(e) => e,
        None => tch::no_grad(evaluate)?,
    };
    let checkpoint = match last_checkpoint {
        Some(c) => c,
        None => out.join("checkpoints").join(format!("step-{}", cfg.steps)),
    };
    finish_member(out, cfg, &val, &checkpoint, dropped_train + dropped_val)?;
    Ok(Some(MemberResult {
        checkpoint,
        val,
        dropped: dropped_train + dropped_val,
    }))
}

/// The margins of a batch ([N] fp32), None when every one is 0.
fn margins(pairs: &[&TokPair], device: Device) -> Option<Tensor> {
    let m: Vec<f32> = pairs.iter().map(|p| p.margin as f32).collect();
    m.iter()
        .any(|&x| x != 0.0)
        .then(|| Tensor::from_slice(&m).to_device(device))
}

/// A member's plot and `report.md`, read back from its metrics (so a resumed run's report
/// covers every step).
fn finish_member(
    out: &Path,
    cfg: &RmConfig,
    val: &Evaluation,
    checkpoint: &Path,
    dropped: usize,
) -> Result<(), StageError> {
    let metrics = out.join("metrics.jsonl");
    let text = std::fs::read_to_string(&metrics).map_err(|e| run_err(&metrics, e))?;
    let mut series: BTreeMap<&str, Vec<(f64, f64)>> = BTreeMap::new();
    for line in text.lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let step = v["step"].as_f64().unwrap_or(0.0) + 1.0;
        for key in ["accuracy", "val_accuracy", "loss", "val_loss"] {
            if let Some(x) = v[key].as_f64() {
                series.entry(key).or_default().push((step, x));
            }
        }
    }
    if cfg.log.plots {
        use crate::util::plot::{chart, Series};
        let dir = out.join("plots");
        std::fs::create_dir_all(&dir).map_err(|e| run_err(&dir, e))?;
        let get = |k: &str| series.get(k).cloned().unwrap_or_default();
        let (acc, val_acc) = (get("accuracy"), get("val_accuracy"));
        chart(
            &dir.join("rm.png"),
            "reward model: pairwise accuracy",
            "step",
            "accuracy",
            &[
                Series::noisy("train batch", &acc),
                Series::line("held out", &val_acc),
            ],
        )
        .map_err(StageError::Run)?;
    }
    let first = series
        .get("loss")
        .and_then(|s| s.first())
        .map_or(f64::NAN, |x| x.1);
    let md = format!(
        "# verigym train rm\n\n| | |\n|---|---:|\n| steps | {} |\n| first training loss | \
         {first:.4} |\n| held-out loss | {:.4} |\n| held-out pairwise accuracy | {:.4} |\n\
         | held-out mean reward margin | {:.4} |\n| pairs left out (too long) | {dropped} |\n\n\
         Checkpoint: `{}`.\n\n![accuracy](plots/rm.png)\n",
        cfg.steps,
        val.loss,
        val.stats.accuracy,
        val.stats.margin,
        checkpoint.display()
    );
    let path = out.join("report.md");
    write_atomic(&path, md.as_bytes()).map_err(|e| run_err(&path, e))
}

fn ensemble_report(e: &EnsembleFile, secs: f64) -> String {
    let mut s = format!(
        "# verigym train rm: an ensemble of {}\n\n{} training pairs, {} held out, {} left out \
         as too long.\n\n| member | held-out accuracy | held-out loss | checkpoint |\n\
         |---|---:|---:|---|\n",
        e.members.len(),
        e.train_pairs,
        e.val_pairs,
        e.dropped_pairs
    );
    for (i, m) in e.members.iter().enumerate() {
        s.push_str(&format!(
            "| m{i} | {:.4} | {:.4} | `{}` |\n",
            m.val_accuracy, m.val_loss, m.checkpoint
        ));
    }
    s.push_str(&format!(
        "\nHeld-out accuracy of the mean score: **{:.4}**. Wall time (this session): {secs:.0} \
         s.\n",
        e.ensemble_val_accuracy
    ));
    s
}

/// The reward models a path names: a reward-model folder, or a `train rm` run folder (its
/// `ensemble.json` members).
pub fn member_paths(path: &Path) -> Result<Vec<PathBuf>, StageError> {
    let ens = path.join("ensemble.json");
    if ens.exists() {
        let text = std::fs::read_to_string(&ens).map_err(|e| run_err(&ens, e))?;
        let e: EnsembleFile = serde_json::from_str(&text).map_err(|e| run_err(&ens, e))?;
        if e.members.is_empty() {
            return Err(run_err(&ens, "lists no members"));
        }
        return Ok(e.members.iter().map(|m| path.join(&m.checkpoint)).collect());
    }
    if path.join("config.json").exists() {
        return Ok(vec![path.to_path_buf()]);
    }
    Err(StageError::Run(format!(
        "{}: neither a reward model (config.json) nor a finished `train rm` run \
         (ensemble.json)",
        path.display()
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::config::{example_file_failures, hostile_knob_failures};

    fn pair(prompt: &str, c: &str) -> Pair {
        Pair {
            prompt: prompt.into(),
            chosen: c.into(),
            rejected: "x".into(),
            margin: 0.0,
        }
    }

    #[test]
    fn the_split_keeps_each_prompt_on_one_side() {
        let pairs: Vec<Pair> = (0..40)
            .map(|i| pair(&format!("p{}", i % 10), &format!("c{i}")))
            .collect();
        let (train, val) = split_by_prompt(pairs.clone(), 0.2, 3);
        assert_eq!(train.len() + val.len(), 40);
        let vp: std::collections::HashSet<&str> = val.iter().map(|p| p.prompt.as_str()).collect();
        assert_eq!(vp.len(), 2, "20% of 10 prompts");
        assert!(train.iter().all(|p| !vp.contains(p.prompt.as_str())));
        // Seeded: the same split again, another seed another split.
        assert_eq!(split_by_prompt(pairs.clone(), 0.2, 3).1, val);
        assert_ne!(split_by_prompt(pairs.clone(), 0.2, 4).1, val);
        // One held-out prompt at least, when there are two.
        let two = vec![pair("a", "1"), pair("b", "2")];
        assert_eq!(split_by_prompt(two, 0.01, 0).1.len(), 1);
    }

    #[test]
    fn bootstrap_resamples_with_replacement_per_member() {
        let pairs: Vec<Pair> = (0..50).map(|i| pair("p", &format!("c{i}"))).collect();
        let a = bootstrap(&pairs, 1, 0);
        let b = bootstrap(&pairs, 1, 1);
        assert_eq!(a.len(), 50);
        assert_ne!(a, b);
        assert_eq!(a, bootstrap(&pairs, 1, 0));
        let distinct: std::collections::HashSet<&str> =
            a.iter().map(|p| p.chosen.as_str()).collect();
        // About 1 - 1/e of the rows appear in a resample of the same size.
        assert!((20..45).contains(&distinct.len()), "{}", distinct.len());
    }

    #[test]
    fn the_ensemble_accuracy_is_that_of_the_mean_score() {
        // Member 1 is wrong on pair 0 by a little, member 2 right by a lot.
        let scores = vec![
            (vec![0.0, 1.0], vec![0.1, 0.0]),
            (vec![1.0, 1.0], vec![0.0, 2.0]),
        ];
        assert_eq!(mean_accuracy(&scores), 0.5);
        assert!(mean_accuracy(&[]).is_nan());
    }

    #[test]
    fn the_example_file_lists_every_knob_with_its_default() {
        let text = include_str!("../../tests/fixtures/rm/rm.toml");
        let failures = example_file_failures::<RmConfig>(text);
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[test]
    fn every_knob_refuses_hostile_values_by_name() {
        let failures = hostile_knob_failures::<RmConfig>();
        assert!(failures.is_empty(), "{}", failures.join("\n"));
        let e = RmConfig::from_toml("[data]\nval_fraction = 0.0", &[])
            .unwrap_err()
            .to_string();
        assert!(e.contains("data.val_fraction"), "{e}");
    }
}
