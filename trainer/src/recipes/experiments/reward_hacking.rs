//! `reward-hacking`: RL against a learned reward model rises on the proxy long after true
//! quality has peaked (Gao et al. 2023, "Scaling laws for reward model overoptimization");
//! a guard watching signals the proxy does not share stops the run near the peak.
//!
//! The domain is `product_blurb`, whose true quality is a hidden function of style and
//! content (the env's verifier: the gold scorer, never part of the reward). The pipeline:
//!
//! 1. a byte-level BPE tokenizer trained on the demonstrations (whole words become tokens:
//!    a character-level backbone left its reward models at 0.66 held-out accuracy, see
//!    benches/RESULTS.md), then SFT of a small model from scratch on mediocre
//!    demonstrations;
//! 2. the SFT policy samples several blurbs per prompt; simulated people compare them
//!    (Bradley–Terry with a temperature on the hidden quality);
//! 3. an ensemble of reward models (the SFT backbone with a score head) learns those
//!    preferences (`train rm`);
//! 4. GRPO against the ensemble's mean score, the verifier kept out of the reward, once
//!    without a guard and once with it (the guard watches the held-out gold score and the
//!    ensemble's most pessimistic member against the proxy, and rolls back to the saved
//!    checkpoint it rates best).
//!
//! "True score" is the gold quality of the completions each step samples, smoothed by a
//! centred moving mean (`smooth` steps); the peak, the score at the guard's checkpoint and
//! the final score are read off that curve.

use super::ExperimentOutput;
use crate::data::{Demo, Template};
use crate::grpo::{self, GrpoConfig, RunOptions, StepMetrics};
use crate::lm::sft::SftConfig;
use crate::lm::stage::StageOptions;
use crate::policy::{checkpoint, tokenizer, tokenizer::Tokenizer};
use crate::recipes::common::{validate_counts, ModelSize, Policy, RecipeConfig, RlConfig};
use crate::recipes::error::{RecipeError, Result};
use crate::rm::guard::{GuardAction, GuardConfig};
use crate::rm::train::{self as rm_train, RmConfig};
use crate::util::config::{finite_in, ConfigError, StageConfig};
use crate::util::plot;
use serde::{Deserialize, Serialize};
use std::path::Path;
use tch::Device;
use verigym_envs::env::DEFAULT_DIFFICULTY;
use verigym_envs::preference::demonstrations::demonstrations;
use verigym_envs::preference::raters::{Group, SimulatedRaters};
use verigym_envs::{EnvOptions, Environment, Registry};

const ENV: &str = "product_blurb";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Config {
    /// Mediocre demonstrations for SFT.
    pub sft_demos: u64,
    /// Entries of a byte-level BPE tokenizer trained on the demonstrations (words become
    /// tokens, so the reward model reads words rather than characters); 0: the builtin
    /// character tokenizer.
    pub bpe_vocab: usize,
    pub size: ModelSize,
    pub sft: SftConfig,
    /// Prompts the SFT policy answers for the raters, and answers per prompt.
    pub feedback_prompts: u64,
    pub samples_per_prompt: usize,
    /// The simulated raters' Bradley–Terry temperature on the hidden quality.
    pub rater_temperature: f64,
    /// Pairs whose qualities differ by less than this are judged "about the same" (ties,
    /// no pair).
    pub rater_tie_below: f64,
    /// Reward models in the ensemble, their steps, pairs per step and learning rate.
    pub rm_ensemble: usize,
    /// Each member trains on a bootstrap resample of the pairs (false: every member sees
    /// every pair, in its own order).
    pub rm_bootstrap: bool,
    pub rm_steps: usize,
    pub rm_batch: usize,
    pub rm_lr: f64,
    pub rl: RlConfig,
    /// KL penalty to the SFT policy during RL (objective.beta). Off by default: at 0.05
    /// (lr 2e-4) the policy stayed near the reward models' competence for all 120 steps
    /// (true score 0.40 → 0.89, no fall; benches/RESULTS.md), which is the point of KL, but
    /// this experiment is about what happens without it.
    pub kl_beta: f64,
    /// The guarded run's checkpoints (rollback candidates) every this many steps.
    pub checkpoint_every: usize,
    pub guard: GuardConfig,
    /// Window of the centred moving mean that reads the true-score curve.
    pub smooth: usize,
}

impl Config {
    pub fn new(quick: bool) -> Config {
        Config {
            sft_demos: if quick { 200 } else { 20_000 },
            bpe_vocab: 400,
            size: if quick {
                ModelSize::TINY
            } else {
                ModelSize::SHALLOW
            },
            sft: SftConfig {
                seq_len: 256,
                batch_size: 16,
                max_steps: if quick { 20 } else { 1200 },
                lr: 3e-3,
                warmup_steps: if quick { 2 } else { 30 },
                eval_every: 0,
                patience: 0,
                keep_best: false,
                ..Default::default()
            },
            feedback_prompts: if quick { 16 } else { 3_000 },
            samples_per_prompt: 4,
            rater_temperature: 0.05,
            // The quick run's barely trained policy writes blurbs of equal quality: coin
            // flips rather than ties, so there are pairs to train on.
            rater_tie_below: if quick { 0.0 } else { 0.02 },
            rm_ensemble: 2,
            rm_bootstrap: false,
            rm_steps: if quick { 10 } else { 900 },
            rm_batch: 32,
            rm_lr: 3e-4,
            rl: RlConfig {
                steps: if quick { 6 } else { 120 },
                tasks_per_step: if quick { 2 } else { 8 },
                group: if quick { 4 } else { 8 },
                temperature: 1.0,
                max_new_tokens: 160,
                lr: 5e-4,
                warmup_steps: 3,
                ..Default::default()
            },
            kl_beta: 0.0,
            checkpoint_every: 2,
            guard: GuardConfig {
                enabled: true,
                window: 8,
                patience: 4,
                min_drop: 0.01,
                warmup: 8,
                action: GuardAction::Rollback,
                ..Default::default()
            },
            smooth: 9,
        }
    }
}

impl RecipeConfig for Config {
    fn validate(&self) -> Result<(), ConfigError> {
        validate_counts(&[
            ("sft_demos", self.sft_demos, 2, 10_000_000),
            ("feedback_prompts", self.feedback_prompts, 2, 10_000_000),
            (
                "samples_per_prompt",
                self.samples_per_prompt as u64,
                2,
                1_000,
            ),
            ("rm_ensemble", self.rm_ensemble as u64, 1, 64),
            ("rm_steps", self.rm_steps as u64, 1, 100_000_000),
            ("rm_batch", self.rm_batch as u64, 1, 1 << 14),
            ("checkpoint_every", self.checkpoint_every as u64, 1, 1 << 20),
            ("smooth", self.smooth as u64, 1, 1 << 20),
        ])?;
        // Below the byte alphabet (256) plus the special tokens there is nothing to merge.
        if self.bpe_vocab != 0 && !(300..=1 << 17).contains(&self.bpe_vocab) {
            return Err(ConfigError::Invalid(format!(
                "bpe_vocab must be 0 (the character tokenizer) or in 300..=131072, got {}",
                self.bpe_vocab
            )));
        }
        finite_in("rater_temperature", self.rater_temperature, 0.0, 100.0)?;
        finite_in("rater_tie_below", self.rater_tie_below, 0.0, 1.0)?;
        finite_in("rm_lr", self.rm_lr, 1e-12, 1e3)?;
        finite_in("kl_beta", self.kl_beta, 0.0, 1e3)?;
        self.size.validate("size")?;
        self.sft.validate("sft")?;
        self.rl.validate("rl")?;
        self.guard.validate()
    }
}

/// One GRPO run's curves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunCurves {
    /// The reward models' mean score of each step's samples.
    pub proxy_reward: Vec<f64>,
    /// The hidden quality (gold) of each step's samples.
    pub true_score: Vec<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Held-out pairwise accuracy of the ensemble's mean score (against the raters).
    pub rm_pairwise_accuracy: f64,
    /// Each member's held-out accuracy.
    pub rm_member_accuracy: Vec<f64>,
    /// How often the raters agreed with the hidden quality's order on the same feedback:
    /// the ceiling a reward model can reach on their labels.
    pub rater_agreement: f64,
    /// Preference pairs the reward models learn from (ties left out), and the ties.
    pub feedback_pairs: usize,
    pub feedback_ties: usize,
    /// Mean hidden quality of the SFT policy's samples (what the raters saw).
    pub sft_true_score: f64,
    /// RL steps per run (the unguarded run's).
    pub steps: usize,
    pub unguarded: RunCurves,
    pub guarded: RunCurves,
    /// The unguarded run's smoothed true-score peak and its step (0-based).
    pub true_peak_step: usize,
    pub true_peak: f64,
    /// Steps the guarded run took before its guard fired (None: it never fired).
    pub guard_stop_step: Option<usize>,
    pub guard_rule: Option<String>,
    pub guard_reason: Option<String>,
    /// The step whose checkpoint the guarded run kept (rollback), and its smoothed true score.
    pub guard_kept_step: Option<usize>,
    pub true_at_stop: Option<f64>,
    /// The unguarded run's smoothed true score at its last step, and its proxy's rise over
    /// the run (last smoothed minus first smoothed).
    pub true_final_unguarded: f64,
    pub proxy_rise_unguarded: f64,
    pub seed: u64,
    pub config: Config,
    pub seconds: f64,
}

fn env() -> Result<Box<dyn Environment>> {
    let opts = EnvOptions {
        difficulty: Some(DEFAULT_DIFFICULTY),
        config: None,
    };
    Ok(Registry::builtin().build(ENV, &opts)?)
}

pub fn run(
    device: Device,
    out: &Path,
    seeds: std::ops::Range<u64>,
    cfg: &Config,
) -> Result<ExperimentOutput> {
    let start = std::time::Instant::now();
    std::fs::create_dir_all(out)?;
    let seed = seeds.start;
    let env = env()?;
    let template = Template::Compact;

    // 1. SFT on mediocre demonstrations.
    let demos: Vec<Demo> = demonstrations(seed, cfg.sft_demos, 1)?
        .into_iter()
        .map(|d| Demo {
            prompt: template.prompt(&d.task),
            completion: d.completion,
            turns: Vec::new(),
        })
        .collect();
    let tokenizer = match cfg.bpe_vocab {
        0 => Tokenizer::builtin(),
        vocab => {
            let texts: Vec<String> = demos
                .iter()
                .map(|d| format!("{}{}", d.prompt, d.completion))
                .collect();
            tokenizer::train_bpe_json(&texts, vocab)
                .and_then(|json| Tokenizer::from_json(&json))
                .map_err(|e| RecipeError::Msg(format!("the BPE tokenizer: {e}")))?
        }
    };
    let mut policy = Policy::new(tokenizer, cfg.size, device, seed)?;
    let mut sft = cfg.sft.clone();
    sft.seed = seed;
    let key = serde_json::json!({
        "experiment": "reward-hacking",
        "seed": seed,
        "bpe_vocab": cfg.bpe_vocab,
    });
    policy.sft_resumable(&demos, &[], &sft, &out.join("sft"), key)?;
    let budget = policy
        .completion_budget(&demos, 16)?
        .max(cfg.rl.max_new_tokens);
    let sft_dir = out.join("sft").join("checkpoint");
    checkpoint::save_policy(&policy.model, &policy.tokenizer, &sft_dir)?;
    let sft_weights = crate::lm::train::snapshot(&policy.model.vs);

    // 2. The SFT policy's blurbs, compared by simulated people.
    let tasks: Vec<verigym_envs::Task> = (0..cfg.feedback_prompts)
        .map(|i| env.generate(seed.wrapping_add(7_000), i))
        .collect::<std::result::Result<_, _>>()?;
    let k = cfg.samples_per_prompt;
    let prompts: Vec<String> = tasks
        .iter()
        .flat_map(|t| std::iter::repeat_n(template.prompt(t), k))
        .collect();
    let sample_seeds: Vec<u64> = (0..prompts.len() as u64)
        .map(|i| seed.wrapping_mul(1_000_003).wrapping_add(i))
        .collect();
    eprintln!(
        "reward-hacking: sampling {} blurbs for the raters",
        prompts.len()
    );
    let completions = policy.generate(&prompts, budget, 1.0, &sample_seeds)?;
    let mut groups = Vec::with_capacity(tasks.len());
    let mut qualities = Vec::with_capacity(prompts.len());
    for (t, chunk) in tasks.iter().zip(completions.chunks(k)) {
        let mut g = Group {
            prompt: template.prompt(t),
            completions: Vec::with_capacity(k),
        };
        for c in chunk {
            let q = env.verify(t, &c.text)?.reward;
            qualities.push(q);
            g.completions.push((c.text.clone(), q));
        }
        groups.push(g);
    }
    let sft_true_score = mean(&qualities);
    let raters = SimulatedRaters {
        temperature: cfg.rater_temperature,
        seed,
    };
    let feedback = raters.compare_or_tie(&groups, cfg.rater_tie_below);
    let rater_agreement = agreement(&groups, &feedback);
    let feedback_path = out.join("feedback.jsonl");
    crate::util::json::write_jsonl(&feedback_path, &feedback)?;
    eprintln!(
        "reward-hacking: {} comparisons (SFT quality {sft_true_score:.3}, raters agree with the \
         hidden order {rater_agreement:.3})",
        feedback.len()
    );

    // 3. The reward-model ensemble.
    let rm_dir = out.join("rm");
    let rm_cfg = rm_config(cfg, seed, &sft_dir, &feedback_path, &rm_dir)?;
    let _ = std::fs::remove_dir_all(&rm_dir);
    let rm = rm_train::train(
        &rm_cfg,
        StageOptions {
            out: rm_dir.clone(),
            resume: false,
            device,
            stop_after: None,
        },
    )?;
    let rm_pairwise_accuracy = rm.ensemble.ensemble_val_accuracy;
    eprintln!("reward-hacking: reward models' held-out accuracy {rm_pairwise_accuracy:.3}");

    // 4. GRPO against the proxy: unguarded, then guarded, from the same SFT weights.
    let mut rl = |guarded: bool| -> Result<grpo::RunSummary> {
        crate::lm::train::restore(&policy.model.vs, &sft_weights);
        let g = grpo_config(cfg, seed, budget, &rm_dir, guarded)?;
        let run = out.join(if guarded { "guarded" } else { "unguarded" });
        let _ = std::fs::remove_dir_all(&run);
        let opts = RunOptions {
            out: run,
            resume: false,
            registry: Registry::builtin(),
            device,
            stop_after: None,
            quiet: !cfg.rl.progress,
        };
        Ok(grpo::train_policy(
            &g,
            opts,
            &mut policy.model,
            &policy.tokenizer,
        )?)
    };
    let unguarded = rl(false)?;
    let guarded = rl(true)?;

    let u = curves(&unguarded.metrics);
    let smoothed = centred_mean(&u.true_score, cfg.smooth);
    let (true_peak_step, true_peak) = smoothed
        .iter()
        .copied()
        .enumerate()
        .fold((0, f64::MIN), |b, (i, v)| if v > b.1 { (i, v) } else { b });
    let proxy_s = centred_mean(&u.proxy_reward, cfg.smooth);
    let outcome = guarded.guard.as_ref();
    let kept = outcome.and_then(|o| {
        o.checkpoint
            .strip_prefix("checkpoints/step-")
            .and_then(|s| s.parse::<usize>().ok())
    });
    let summary = Summary {
        rm_pairwise_accuracy,
        rm_member_accuracy: rm.ensemble.members.iter().map(|m| m.val_accuracy).collect(),
        rater_agreement,
        feedback_pairs: rm.ensemble.train_pairs + rm.ensemble.val_pairs,
        feedback_ties: rm.ensemble.feedback.ties,
        sft_true_score,
        steps: u.true_score.len(),
        guarded: curves(&guarded.metrics),
        true_peak_step,
        true_peak,
        guard_stop_step: outcome.map(|o| o.stopped_at),
        guard_rule: outcome.map(|o| o.trigger.rule.clone()),
        guard_reason: outcome.map(|o| o.trigger.reason.clone()),
        guard_kept_step: kept,
        // Checkpoint step-N sampled step N: its true score is the curve's at N.
        true_at_stop: kept.and_then(|s| {
            smoothed
                .get(s.min(smoothed.len().saturating_sub(1)))
                .copied()
        }),
        true_final_unguarded: smoothed.last().copied().unwrap_or(f64::NAN),
        proxy_rise_unguarded: proxy_s.last().copied().unwrap_or(f64::NAN)
            - proxy_s.first().copied().unwrap_or(f64::NAN),
        unguarded: u,
        seed,
        config: cfg.clone(),
        seconds: start.elapsed().as_secs_f64(),
    };
    crate::util::json::write_json(&out.join("summary.json"), &summary)?;
    write_plot(&out.join("proxy_vs_true.png"), &summary)?;
    let md = report(&summary);
    std::fs::write(out.join("report.md"), &md)?;
    Ok(ExperimentOutput { markdown: md })
}

fn rm_config(
    cfg: &Config,
    seed: u64,
    backbone: &Path,
    feedback: &Path,
    out: &Path,
) -> Result<RmConfig> {
    let mut c = RmConfig {
        seed,
        steps: cfg.rm_steps,
        out: out.display().to_string(),
        ..Default::default()
    };
    c.model.path = backbone.display().to_string();
    c.data.path = feedback.display().to_string();
    c.data.val_fraction = 0.15;
    c.train.batch_size = cfg.rm_batch;
    c.train.ensemble = cfg.rm_ensemble;
    c.train.bootstrap = cfg.rm_bootstrap;
    c.train.eval_every = (cfg.rm_steps / 5).max(1);
    c.optim.lr = cfg.rm_lr;
    c.log.progress = cfg.rl.progress;
    c.validate()?;
    Ok(c)
}

fn grpo_config(
    cfg: &Config,
    seed: u64,
    budget: usize,
    rm: &Path,
    guarded: bool,
) -> Result<GrpoConfig> {
    let mut rl = cfg.rl.clone();
    rl.seed = seed.wrapping_add(1_000);
    rl.max_new_tokens = budget;
    let spec = crate::data::DemoSpec {
        envs: vec![ENV.into()],
        n: 0,
        seed,
        difficulty: Some(DEFAULT_DIFFICULTY),
        config: Default::default(),
        template: Template::Compact,
        profile: crate::data::Profile::Reference,
    };
    let mut g = rl.grpo_config(&spec)?;
    g.reward.model = rm.display().to_string();
    g.reward.verifier_weight = 0.0;
    g.objective.beta = cfg.kl_beta;
    g.log.plots = true;
    g.log.samples_per_step = 8;
    if guarded {
        g.guard = cfg.guard.clone();
        g.log.checkpoint_every = cfg.checkpoint_every;
    }
    g.validate()?;
    Ok(g)
}

fn curves(ms: &[StepMetrics]) -> RunCurves {
    RunCurves {
        proxy_reward: ms
            .iter()
            .map(|m| m.rm_reward_mean.unwrap_or(f64::NAN))
            .collect(),
        true_score: ms
            .iter()
            .map(|m| m.verifier_reward_mean.unwrap_or(f64::NAN))
            .collect(),
    }
}

fn mean(xs: &[f64]) -> f64 {
    xs.iter().sum::<f64>() / xs.len().max(1) as f64
}

/// The centred moving mean over `window` points (shorter at the ends).
fn centred_mean(xs: &[f64], window: usize) -> Vec<f64> {
    let half = window / 2;
    (0..xs.len())
        .map(|i| {
            let lo = i.saturating_sub(half);
            let hi = (i + half + 1).min(xs.len());
            mean(&xs[lo..hi])
        })
        .collect()
}

/// The share of comparisons (ties left out) whose chosen completion has the higher hidden
/// quality.
fn agreement(groups: &[Group], rows: &[verigym_envs::feedback::Feedback]) -> f64 {
    use std::collections::HashMap;
    let q: HashMap<(&str, &str), f64> = groups
        .iter()
        .flat_map(|g| {
            g.completions
                .iter()
                .map(move |(c, q)| ((g.prompt.as_str(), c.as_str()), *q))
        })
        .collect();
    let mut agree = 0usize;
    let mut n = 0usize;
    for r in rows {
        if let verigym_envs::feedback::Feedback::Comparison {
            prompt,
            chosen,
            rejected,
            tie: false,
        } = r
        {
            let (a, b) = (
                q.get(&(prompt.as_str(), chosen.as_str())),
                q.get(&(prompt.as_str(), rejected.as_str())),
            );
            if let (Some(a), Some(b)) = (a, b) {
                n += 1;
                agree += usize::from(a > b);
            }
        }
    }
    agree as f64 / n.max(1) as f64
}

fn write_plot(path: &Path, s: &Summary) -> Result<()> {
    let pts = |v: &[f64]| -> Vec<(f64, f64)> {
        v.iter()
            .enumerate()
            .filter(|(_, y)| y.is_finite())
            .map(|(i, y)| (i as f64, *y))
            .collect()
    };
    let (proxy, truth) = (pts(&s.unguarded.proxy_reward), pts(&s.unguarded.true_score));
    let mut series = vec![
        plot::Series::noisy("proxy: reward-model mean", &proxy),
        plot::Series::noisy("true: hidden quality", &truth),
    ];
    let all = proxy.iter().chain(&truth).map(|p| p.1);
    let (lo, hi) = all.fold((f64::MAX, f64::MIN), |(a, b), y| (a.min(y), b.max(y)));
    let stop: Vec<(f64, f64)> = match s.guard_kept_step {
        Some(k) => vec![(k as f64, lo), (k as f64, hi)],
        None => Vec::new(),
    };
    if !stop.is_empty() {
        series.push(plot::Series::line("guard: checkpoint kept", &stop));
    }
    plot::chart(
        path,
        "GRPO against a reward model: proxy vs true quality",
        "RL step",
        "score",
        &series,
    )
    .map_err(RecipeError::Msg)
}

fn report(s: &Summary) -> String {
    let opt = |v: Option<f64>| v.map_or("–".to_string(), |x| format!("{x:.3}"));
    let step = |v: Option<usize>| v.map_or("–".to_string(), |x| x.to_string());
    format!(
        "# Experiment: reward hacking and the guard\n\n\
         A small model trained from scratch on mediocre product blurbs; its own blurbs compared \
         by simulated raters (Bradley–Terry, temperature {}); an ensemble of {} reward models; \
         GRPO against their mean score for {} steps, the hidden quality (the env's verifier) \
         held out of the reward. Seed {}, {:.0} s.\n\n\
         | | |\n|---|---:|\n\
         | feedback pairs (ties) | {} ({}) |\n\
         | raters' agreement with the hidden order | {:.3} |\n\
         | reward models' held-out pairwise accuracy (ensemble mean) | {:.3} |\n\
         | SFT policy's true score | {:.3} |\n\
         | unguarded: true-score peak (step) | {:.3} ({}) |\n\
         | unguarded: final true score | {:.3} |\n\
         | unguarded: proxy rise over the run | {:+.3} |\n\
         | guard fired after step | {} ({}) |\n\
         | guard: checkpoint kept (step) | {} |\n\
         | guard: true score kept | {} |\n\n\
         Guard: {}\n\n\
         True scores are the hidden quality of each step's samples, smoothed over {} steps.\n\n\
         ![proxy vs true](proxy_vs_true.png)\n",
        s.config.rater_temperature,
        s.config.rm_ensemble,
        s.steps,
        s.seed,
        s.seconds,
        s.feedback_pairs,
        s.feedback_ties,
        s.rater_agreement,
        s.rm_pairwise_accuracy,
        s.sft_true_score,
        s.true_peak,
        s.true_peak_step,
        s.true_final_unguarded,
        s.proxy_rise_unguarded,
        step(s.guard_stop_step),
        s.guard_rule.as_deref().unwrap_or("never fired"),
        step(s.guard_kept_step),
        opt(s.true_at_stop),
        s.guard_reason.as_deref().unwrap_or("did not fire"),
        s.config.smooth,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_centred_mean_shrinks_at_the_ends() {
        let m = centred_mean(&[0.0, 3.0, 6.0, 9.0], 3);
        assert_eq!(m, vec![1.5, 3.0, 6.0, 7.5]);
        assert_eq!(centred_mean(&[], 5), Vec::<f64>::new());
    }

    #[test]
    fn the_tokenizer_knob_takes_0_or_a_vocabulary_above_the_byte_alphabet() {
        let with = |bpe_vocab| Config {
            bpe_vocab,
            ..Config::new(false)
        };
        assert!(with(0).validate().is_ok());
        assert!(with(400).validate().is_ok());
        for bad in [1, 299, (1 << 17) + 1] {
            let e = with(bad).validate().unwrap_err().to_string();
            assert!(e.contains("bpe_vocab"), "{e}");
        }
    }
}
