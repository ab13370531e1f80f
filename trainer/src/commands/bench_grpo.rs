//! `verigym bench grpo`: seconds per GRPO step on the settings of the TRL comparison
//! (benches/compare_trl.py): a random Llama (vocab 512, hidden 256, intermediate 768,
//! 4 layers, 8 heads), 8 tasks x 8 completions, <= 64 new tokens, temperature 1, beta 0.04
//! with a reference model, loss grpo, one optimisation pass; prompts are the bare questions
//! of `arithmetic` at difficulty 3 (as the comparison script feeds TRL). Prints `{"step_s": median}`
//! over the steps after the warm-up.

use anyhow::Result;
use std::path::PathBuf;
use verigym_envs::Registry;
use verigym_trainer::grpo::config::GrpoConfig;
use verigym_trainer::grpo::metrics::StepMetrics;
use verigym_trainer::grpo::run::{train, RunOptions};
use verigym_trainer::grpo::StageConfig;
use verigym_trainer::DeviceChoice;

#[derive(clap::Args, Debug)]
pub struct BenchGrpoArgs {
    /// Measured steps (after the warm-up).
    #[arg(long, default_value_t = 5)]
    pub steps: usize,
    #[arg(long, default_value_t = 1)]
    pub warmup: usize,
    #[arg(long, default_value = "cpu")]
    pub device: DeviceChoice,
    /// Extra config overrides (same keys as `train grpo --set`).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub sets: Vec<String>,
    /// Write the random initial policy (HF layout) here and exit, for the TRL side.
    #[arg(long)]
    pub save_model: Option<PathBuf>,
    /// Print every step's metrics too.
    #[arg(long)]
    pub verbose: bool,
}

/// The benchmark's config: the defaults are already the TRL settings; this pins them.
pub fn bench_config(steps: usize, sets: &[String]) -> Result<GrpoConfig> {
    let mut base = vec![
        format!("steps={steps}"),
        "model.vocab_size=512".into(),
        "model.hidden_size=256".into(),
        "model.intermediate_size=768".into(),
        "model.num_layers=4".into(),
        "model.num_heads=8".into(),
        "model.num_kv_heads=8".into(),
        "rollout.tasks_per_step=8".into(),
        "rollout.group_size=8".into(),
        "rollout.max_new_tokens=64".into(),
        "rollout.temperature=1.0".into(),
        "rollout.prompt_template=\"{question}\"".into(),
        "envs.0.name=\"arithmetic\"".into(),
        "envs.0.difficulty=3".into(),
        "objective.beta=0.04".into(),
        "objective.loss_type=\"grpo\"".into(),
        "objective.mu=1".into(),
        "learn.micro_batch_size=64".into(),
        "log.progress=false".into(),
        "log.plots=false".into(),
        "log.tensorboard=false".into(),
        "log.checkpoint_every=0".into(),
        "log.samples_per_step=0".into(),
    ];
    base.extend(sets.iter().cloned());
    Ok(GrpoConfig::from_toml("", &base)?)
}

pub fn run(args: BenchGrpoArgs) -> Result<()> {
    let device = args.device.resolve().map_err(anyhow::Error::msg)?;
    let cfg = bench_config(args.warmup + args.steps, &args.sets)?;
    if let Some(dir) = &args.save_model {
        let (model, tok) = verigym_trainer::policy::build(&cfg.model, device)?;
        verigym_trainer::policy::checkpoint::save(&model, &tok, dir)?;
        eprintln!("saved the initial policy to {}", dir.display());
        return Ok(());
    }
    let out = std::env::temp_dir().join(format!("verigym-bench-grpo-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let summary = train(
        &cfg,
        RunOptions {
            out: out.clone(),
            resume: false,
            registry: Registry::builtin(),
            device,
            stop_after: None,
            quiet: true,
        },
    )?;
    let _ = std::fs::remove_dir_all(&out);
    let measured = || summary.metrics.iter().skip(args.warmup);
    let median = |f: fn(&StepMetrics) -> f64| {
        let mut v: Vec<f64> = measured().map(f).collect();
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
    };
    if args.verbose {
        for m in &summary.metrics {
            eprintln!(
                "step {} {:.3}s (sample {:.3}, score {:.3}, reference {:.3}, learn {:.3}) {} \
                 new tokens, kl {:.5}",
                m.step,
                m.time_step_s,
                m.time_sample_s,
                m.time_score_s,
                m.time_reference_s,
                m.time_learn_s,
                m.new_tokens,
                m.kl
            );
        }
    }
    let tokens: usize = measured().map(|m| m.new_tokens).sum();
    let total: f64 = measured().map(|m| m.time_step_s).sum();
    println!(
        "{}",
        serde_json::json!({
            "step_s": median(|m| m.time_step_s),
            // Medians of the step's parts (each over the measured steps).
            "sample_s": median(|m| m.time_sample_s),
            "score_s": median(|m| m.time_score_s),
            "reference_s": median(|m| m.time_reference_s),
            "learn_s": median(|m| m.time_learn_s),
            "steps": measured().count(),
            "completion_tokens_per_s": tokens as f64 / total.max(1e-9),
            "device": verigym_trainer::device::describe(device),
        })
    );
    Ok(())
}
