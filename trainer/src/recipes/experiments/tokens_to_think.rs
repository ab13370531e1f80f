//! `tokens-to-think`: the same model with the same training budget (optimiser steps x rows x
//! tokens), fine-tuned on direct answers or on chain-of-thought demonstrations of
//! multi-digit addition; held-out accuracy by problem size. A chain of thought gives a
//! fixed-depth transformer serial computation it cannot do in one forward pass (Wei et al.
//! 2022; Feng et al. 2023, "Towards revealing the mystery behind chain of thought").

use super::ExperimentOutput;
use crate::data::{self, addition_operands, DemoSpec, Profile, Template};
use crate::eval::{self, mean_ci};
use crate::lm::sft::SftConfig;
use crate::policy::tokenizer::Tokenizer;
use crate::recipes::common::{validate_counts, RecipeConfig};
use crate::recipes::common::{ModelSize, Policy};
use crate::recipes::error::{RecipeError, Result};
use crate::util::config::ConfigError;
use crate::util::plot;
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use std::path::Path;
use tch::Device;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Config {
    /// Problem sizes (digits of the longer operand) 1..=max_digits.
    pub max_digits: usize,
    pub train_demos: u64,
    pub eval_tasks: u64,
    pub size: ModelSize,
    pub sft: SftConfig,
    /// Smallest new-token budget; the run raises it to fit the longest demonstration.
    pub max_new_tokens: usize,
}

impl RecipeConfig for Config {
    fn validate(&self) -> Result<(), ConfigError> {
        validate_counts(&[
            ("max_digits", self.max_digits as u64, 1, 12),
            ("train_demos", self.train_demos, 1, 10_000_000),
            ("eval_tasks", self.eval_tasks, 1, 1_000_000),
            ("max_new_tokens", self.max_new_tokens as u64, 1, 1 << 20),
        ])?;
        self.size.validate("size")?;
        self.sft.validate("sft")
    }
}

impl Config {
    pub fn new(quick: bool) -> Config {
        Config {
            max_digits: 4,
            train_demos: if quick { 300 } else { 16_000 },
            eval_tasks: if quick { 50 } else { 400 },
            size: if quick {
                ModelSize::TINY
            } else {
                ModelSize::SHALLOW
            },
            sft: SftConfig {
                // A 4-digit chain of thought and its prompt fit in 384 tokens.
                seq_len: 384,
                batch_size: 16,
                max_steps: if quick { 30 } else { 1000 },
                lr: 3e-3,
                warmup_steps: if quick { 5 } else { 50 },
                eval_every: 0,
                patience: 0,
                keep_best: false,
                ..Default::default()
            },
            max_new_tokens: 240,
        }
    }
}

fn spec(cfg: &Config, n: u64, seed: u64, profile: Profile) -> DemoSpec {
    DemoSpec::addition(1, cfg.max_digits, n, seed, profile)
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Row {
    pub digits: usize,
    pub n: usize,
    pub direct: f64,
    pub direct_ci: f64,
    pub cot: f64,
    pub cot_ci: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub direct_accuracy: f64,
    pub cot_accuracy: f64,
    pub by_digits: Vec<Row>,
    pub direct_mean_length: f64,
    pub cot_mean_length: f64,
    pub seeds: u64,
    pub config: Config,
    pub seconds: f64,
}

const EVAL_SEED: u64 = 515_151;

pub fn run(
    device: Device,
    out: &Path,
    seeds: std::ops::Range<u64>,
    cfg: &Config,
) -> Result<ExperimentOutput> {
    let start = std::time::Instant::now();
    std::fs::create_dir_all(out)?;
    let cfg = cfg.clone();
    let envs = data::build_envs(&spec(&cfg, 0, 0, Profile::Reference))?;
    let tasks = eval::tasks(&envs, cfg.eval_tasks, EVAL_SEED)?;
    let size_of = |question: &str, env: &str| -> usize {
        let t = verigym_envs::Task {
            env: env.into(),
            seed: 0,
            index: 0,
            difficulty: 1,
            prompt: verigym_envs::Prompt::Text(String::new()),
            answer: serde_json::Value::Null,
            solution: None,
            solution_turns: None,
            question: question.into(),
        };
        addition_operands(&t).map_or(0, |(a, b)| a.len().max(b.len()))
    };
    // acc[arm][seed][digits-1]
    let mut acc: Vec<Vec<Vec<f64>>> = vec![Vec::new(); 2];
    let mut counts = vec![0usize; cfg.max_digits];
    let mut overall = [Vec::new(), Vec::new()];
    let mut lengths = [0.0f64; 2];
    for seed in seeds.clone() {
        for (arm, profile) in [Profile::Direct, Profile::Reference]
            .into_iter()
            .enumerate()
        {
            let train = data::demonstrations(&spec(&cfg, cfg.train_demos, 200 + seed, profile))?;
            let policy = Policy::new(Tokenizer::builtin(), cfg.size, device, seed)?;
            let mut sft = cfg.sft.clone();
            sft.seed = seed;
            policy.sft(&train, &[], &sft)?;
            let budget = policy.completion_budget(&train, cfg.max_new_tokens)?;
            let rep =
                policy.evaluate(&envs, &tasks, Template::Compact, budget, 100, "eval", true)?;
            // Every held-out completion, for reading what the model did.
            let arm_name = if arm == 0 { "direct" } else { "cot" };
            let mut lines = String::new();
            for r in &rep.records {
                lines.push_str(&serde_json::to_string(r)?);
                lines.push('\n');
            }
            std::fs::write(
                out.join(format!("seed-{seed}-{arm_name}-eval.jsonl")),
                lines,
            )?;
            let mut by = vec![(0usize, 0usize); cfg.max_digits];
            for r in &rep.records {
                let d = size_of(&r.question, &r.env);
                if let Some(slot) = d.checked_sub(1).and_then(|i| by.get_mut(i)) {
                    slot.0 += usize::from(r.correct);
                    slot.1 += 1;
                }
            }
            if seed == 0 && arm == 0 {
                counts = by.iter().map(|b| b.1).collect();
            }
            acc[arm].push(
                by.iter()
                    .map(|&(c, n)| c as f64 / n.max(1) as f64)
                    .collect(),
            );
            overall[arm].push(rep.mean_accuracy());
            lengths[arm] += rep.per_env.first().map_or(0.0, |e| e.mean_length);
            eprintln!(
                "seed {seed} {}: accuracy {:.3}",
                if arm == 0 {
                    "direct"
                } else {
                    "chain of thought"
                },
                rep.mean_accuracy()
            );
        }
    }
    let n_seeds = seeds.end.saturating_sub(seeds.start).max(1);
    let by_digits: Vec<Row> = (0..cfg.max_digits)
        .map(|d| {
            let col = |arm: usize| mean_ci(&acc[arm].iter().map(|s| s[d]).collect::<Vec<_>>());
            let (direct, direct_ci) = col(0);
            let (cot, cot_ci) = col(1);
            Row {
                digits: d + 1,
                n: counts.get(d).copied().unwrap_or(0),
                direct,
                direct_ci,
                cot,
                cot_ci,
            }
        })
        .collect();
    let summary = Summary {
        direct_accuracy: mean_ci(&overall[0]).0,
        cot_accuracy: mean_ci(&overall[1]).0,
        by_digits,
        direct_mean_length: lengths[0] / n_seeds as f64,
        cot_mean_length: lengths[1] / n_seeds as f64,
        seeds: n_seeds,
        config: cfg,
        seconds: start.elapsed().as_secs_f64(),
    };
    crate::util::json::write_json(&out.join("summary.json"), &summary)?;
    let values: Vec<Vec<f64>> = summary
        .by_digits
        .iter()
        .map(|r| vec![r.direct, r.cot])
        .collect();
    let errs: Vec<Vec<f64>> = summary
        .by_digits
        .iter()
        .map(|r| vec![r.direct_ci, r.cot_ci])
        .collect();
    let groups: Vec<String> = summary
        .by_digits
        .iter()
        .map(|r| match r.digits {
            1 => "1 digit".to_string(),
            d => format!("{d} digits"),
        })
        .collect();
    let series = ["direct answer".to_string(), "chain of thought".to_string()];
    plot::bars(
        &out.join("tokens_to_think.png"),
        "tokens-to-think: held-out accuracy by problem size",
        "accuracy (fraction)",
        &groups,
        &series,
        &values,
        Some(&errs),
    )
    .map_err(RecipeError::Msg)?;
    let mut md = String::new();
    let _ = writeln!(md, "# tokens-to-think\n");
    let _ = writeln!(
        md,
        "Addition of 1- to {}-digit numbers. The same {}-layer model (hidden {}) is trained \
         from scratch with the same budget ({} steps x {} rows x {} tokens) on {} direct \
         answers (`<answer>X</answer>`) or on {} column-by-column chain-of-thought \
         demonstrations. Held-out accuracy by size of the longer operand ({} tasks, greedy), \
         mean over {} seed(s) with 95% t-intervals. Mean completion length: direct {:.1} \
         tokens, chain of thought {:.1} tokens.\n",
        summary.config.max_digits,
        summary.config.size.layers,
        summary.config.size.hidden,
        summary.config.sft.max_steps,
        summary.config.sft.batch_size,
        summary.config.sft.seq_len,
        summary.config.train_demos,
        summary.config.train_demos,
        summary.config.eval_tasks,
        summary.seeds,
        summary.direct_mean_length,
        summary.cot_mean_length
    );
    let _ = writeln!(
        md,
        "| digits | tasks | direct answer | chain of thought |\n|---:|---:|---:|---:|"
    );
    for r in &summary.by_digits {
        let _ = writeln!(
            md,
            "| {} | {} | {:.3} ± {:.3} | {:.3} ± {:.3} |",
            r.digits, r.n, r.direct, r.direct_ci, r.cot, r.cot_ci
        );
    }
    let _ = writeln!(
        md,
        "| **all** | {} | **{:.3}** | **{:.3}** |",
        summary.config.eval_tasks, summary.direct_accuracy, summary.cot_accuracy
    );
    let _ = writeln!(
        md,
        "\n![by size](tokens_to_think.png)\n\nOne group of bars per problem size (1 digit on \
         the left); blue: direct answer, orange: chain of thought; black: 95% interval."
    );
    std::fs::write(out.join("results.md"), &md)?;
    Ok(ExperimentOutput { markdown: md })
}
