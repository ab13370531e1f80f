//! `beyond-imitation`: SFT imitates a flawed demonstrator and inherits its habit; GRPO with
//! the verifier as reward finds the correct behaviour among its own samples and amplifies it.
//! The demonstrator (`drops-final-carry`) loses the carry out of the leading column in most
//! of its addition demonstrations and works correctly in the rest (the setting of
//! "SFT memorizes, RL generalizes", Chu et al. 2025, on a task small enough for a CPU).

use super::pipeline::{grpo, ModelSize, Policy, RlConfig};
use super::{plot, ExperimentOutput};
use crate::data::{self, DemoSpec, Profile, Template};
use crate::eval::{self, mean_ci};
use crate::sft::SftConfig;
use crate::tokenizer::Tokenizer;
use anyhow::Result;
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use std::path::Path;
use tch::Device;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Config {
    pub flaw_rate: f64,
    pub train_demos: u64,
    pub eval_tasks: u64,
    pub size: ModelSize,
    pub sft: SftConfig,
    pub rl: RlConfig,
    /// Smallest new-token budget; the run raises it to fit the longest demonstration.
    pub max_new_tokens: usize,
}

impl Config {
    pub fn new(quick: bool) -> Config {
        Config {
            flaw_rate: 0.6,
            train_demos: if quick { 300 } else { 6000 },
            eval_tasks: if quick { 40 } else { 200 },
            size: if quick {
                ModelSize::TINY
            } else {
                ModelSize::SHALLOW
            },
            sft: SftConfig {
                seq_len: 256,
                batch_size: 16,
                max_steps: if quick { 40 } else { 1500 },
                lr: 3e-3,
                warmup_steps: 50,
                eval_every: 250,
                patience: 0,
                ..Default::default()
            },
            rl: RlConfig {
                steps: if quick { 4 } else { 60 },
                tasks_per_step: 8,
                group: 8,
                max_new_tokens: 120,
                lr: 7e-4,
                ..Default::default()
            },
            max_new_tokens: 120,
        }
    }
}

/// Two-digit additions: a carry out of the leading column in about 60% of them.
fn spec(n: u64, seed: u64, profile: Profile) -> DemoSpec {
    DemoSpec::addition(2, 2, n, seed, profile)
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeedResult {
    pub seed: u64,
    pub demonstrator_accuracy: f64,
    pub sft_accuracy: f64,
    pub grpo_accuracy: f64,
    pub sft_steps: usize,
    pub grpo_final_reward: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub demonstrator_accuracy: f64,
    pub sft_accuracy: f64,
    pub grpo_accuracy: f64,
    /// Half-widths of the 95% t-intervals over seeds.
    pub demonstrator_ci: f64,
    pub sft_ci: f64,
    pub grpo_ci: f64,
    pub grpo_minus_demonstrator: f64,
    pub seeds: Vec<SeedResult>,
    pub eval_tasks: u64,
    pub config: Config,
    pub seconds: f64,
}

const EVAL_SEED: u64 = 777_777;

pub fn run(device: Device, out: &Path, seeds: u64, quick: bool) -> Result<ExperimentOutput> {
    let start = std::time::Instant::now();
    let cfg = Config::new(quick);
    let profile = Profile::DropsFinalCarry {
        flaw_rate: cfg.flaw_rate,
    };
    let envs = data::build_envs(&spec(0, 0, profile))?;
    let tasks = eval::tasks(&envs, cfg.eval_tasks, EVAL_SEED)?;
    let held_out: std::collections::HashSet<String> =
        tasks.iter().map(|t| Template::Compact.prompt(t)).collect();
    // The demonstrator's own held-out accuracy: its demonstrations of the evaluation tasks.
    let mut results = Vec::new();
    let mut curves = Vec::new();
    for seed in 0..seeds.max(1) {
        let mut demo_correct = 0usize;
        for t in &tasks {
            // A fresh draw of the demonstrator's habit per seed (its rng is keyed by task).
            let mut t2 = t.clone();
            t2.seed = t.seed ^ (seed << 32);
            let c = profile.complete(&t2)?;
            demo_correct += usize::from(envs[0].verify(t, &c)?.correct);
        }
        // Held out means unseen: demonstrations of an evaluation question are left out.
        let train: Vec<_> = data::demonstrations(&spec(cfg.train_demos, 100 + seed, profile))?
            .into_iter()
            .filter(|d| !held_out.contains(&d.prompt))
            .collect();
        let val = data::demonstrations(&spec(64, 50_000 + seed, profile))?;
        let policy = Policy::new(Tokenizer::builtin(), cfg.size, device, seed)?;
        let mut sft_cfg = cfg.sft.clone();
        sft_cfg.seed = seed;
        let sft = policy.sft(&train, &val, &sft_cfg)?;
        let budget = policy.completion_budget(&train, cfg.max_new_tokens)?;
        let before =
            policy.evaluate(&envs, &tasks, Template::Compact, budget, 100, "eval", true)?;
        let mut rl = cfg.rl.clone();
        rl.seed = 9_000 + seed;
        rl.max_new_tokens = rl.max_new_tokens.max(budget);
        let hist = grpo(&policy, &envs, Template::Compact, &rl)?;
        let after = policy.evaluate(&envs, &tasks, Template::Compact, budget, 100, "eval", true)?;
        let r = SeedResult {
            seed,
            demonstrator_accuracy: demo_correct as f64 / tasks.len().max(1) as f64,
            sft_accuracy: before.mean_accuracy(),
            grpo_accuracy: after.mean_accuracy(),
            sft_steps: sft.steps,
            grpo_final_reward: hist.last().map_or(0.0, |s| s.reward),
        };
        eprintln!(
            "seed {seed}: demonstrator {:.3}, SFT {:.3}, GRPO {:.3}",
            r.demonstrator_accuracy, r.sft_accuracy, r.grpo_accuracy
        );
        curves.push(
            hist.iter()
                .map(|s| (s.step as f64, s.accuracy))
                .collect::<Vec<_>>(),
        );
        results.push(r);
    }
    let col = |f: fn(&SeedResult) -> f64| mean_ci(&results.iter().map(f).collect::<Vec<_>>());
    let (d, dci) = col(|r| r.demonstrator_accuracy);
    let (s, sci) = col(|r| r.sft_accuracy);
    let (g, gci) = col(|r| r.grpo_accuracy);
    let summary = Summary {
        demonstrator_accuracy: d,
        sft_accuracy: s,
        grpo_accuracy: g,
        demonstrator_ci: dci,
        sft_ci: sci,
        grpo_ci: gci,
        grpo_minus_demonstrator: g - d,
        seeds: results,
        eval_tasks: cfg.eval_tasks,
        config: cfg,
        seconds: start.elapsed().as_secs_f64(),
    };
    std::fs::create_dir_all(out)?;
    crate::demo::write_json(&out.join("summary.json"), &summary)?;
    plot::bars(
        &out.join("beyond_imitation.png"),
        &[vec![d, s, g]],
        Some(&[vec![dci, sci, gci]]),
    )
    .map_err(anyhow::Error::msg)?;
    plot::lines(&out.join("grpo_train_accuracy.png"), &curves).map_err(anyhow::Error::msg)?;
    let mut md = String::new();
    let _ = writeln!(md, "# beyond-imitation\n");
    let _ = writeln!(
        md,
        "Two-digit addition. The demonstrator drops the carry out of the leading column in \
         {:.0}% of its demonstrations and adds correctly in the rest. A {}-layer model \
         (hidden {}) is trained from scratch by SFT on {} of its demonstrations, then by \
         GRPO ({} steps, {} tasks x {} samples) with the verifier as reward. Held-out: {} \
         tasks (seed {EVAL_SEED}; their questions are removed from the demonstrations), greedy \
         decoding; mean over {} seeds with 95% t-intervals.\n",
        summary.config.flaw_rate * 100.0,
        summary.config.size.layers,
        summary.config.size.hidden,
        summary.config.train_demos,
        summary.config.rl.steps,
        summary.config.rl.tasks_per_step,
        summary.config.rl.group,
        summary.eval_tasks,
        summary.seeds.len()
    );
    let _ = writeln!(md, "| | held-out accuracy |\n|---|---:|");
    let _ = writeln!(md, "| demonstrator | {d:.3} ± {dci:.3} |");
    let _ = writeln!(md, "| SFT on its demonstrations | {s:.3} ± {sci:.3} |");
    let _ = writeln!(md, "| GRPO from the SFT policy | {g:.3} ± {gci:.3} |");
    let _ = writeln!(
        md,
        "\n| seed | demonstrator | SFT | GRPO |\n|---:|---:|---:|---:|"
    );
    for r in &summary.seeds {
        let _ = writeln!(
            md,
            "| {} | {:.3} | {:.3} | {:.3} |",
            r.seed, r.demonstrator_accuracy, r.sft_accuracy, r.grpo_accuracy
        );
    }
    let _ = writeln!(
        md,
        "\n![bars](beyond_imitation.png)\n\nBars: grey demonstrator, blue SFT, orange GRPO \
         (black: 95% interval). `grpo_train_accuracy.png`: training-sample accuracy per GRPO \
         step, one line per seed."
    );
    std::fs::write(out.join("results.md"), &md)?;
    Ok(ExperimentOutput { markdown: md })
}
