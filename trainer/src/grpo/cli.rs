//! `verigym train grpo` and `verigym bench grpo`: argument structs and entry points, kept
//! here so the binary's `main.rs` only dispatches.

use super::config::GrpoConfig;
use super::run::{train, RunOptions};
use crate::DeviceChoice;
use anyhow::{Context, Result};
use std::path::PathBuf;
use verigym_envs::Registry;

#[derive(clap::Args, Debug)]
pub struct TrainGrpoArgs {
    /// The run config (TOML); every knob has a default, so an empty file works.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Override a config key, e.g. `--set objective.beta=0 --set envs.0.difficulty=2`.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub sets: Vec<String>,
    /// Continue the run in `--out` from its last saved state.
    #[arg(long)]
    pub resume: bool,
    /// Run folder (default: the config's `out`).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// auto | cpu | cuda (default: the config's model.device).
    #[arg(long)]
    pub device: Option<DeviceChoice>,
}

pub fn train_grpo(args: TrainGrpoArgs) -> Result<()> {
    let mut cfg = match &args.config {
        Some(p) => GrpoConfig::from_file(p, &args.sets)?,
        None => GrpoConfig::from_toml("", &args.sets)?,
    };
    if let Some(d) = args.device {
        cfg.model.device = d;
    }
    let out = args.out.clone().unwrap_or_else(|| PathBuf::from(&cfg.out));
    cfg.out = out.display().to_string();
    let device = cfg.model.device.resolve().map_err(anyhow::Error::msg)?;
    eprintln!(
        "grpo: {} steps, {} tasks x {} completions on {}; run folder {}",
        cfg.steps,
        cfg.rollout.tasks_per_step,
        cfg.rollout.group_size,
        crate::device::describe(device),
        out.display()
    );
    let summary = train(
        &cfg,
        RunOptions {
            out,
            resume: args.resume,
            registry: Registry::builtin(),
            device,
            stop_after: None,
            quiet: false,
        },
    )
    .context("GRPO run failed")?;
    if let Some(last) = summary.metrics.last() {
        eprintln!(
            "done: step {} reward {:.3} accuracy {:.3}; metrics in {}",
            last.step + 1,
            last.reward_mean,
            last.accuracy,
            summary.out.join("metrics.jsonl").display()
        );
    }
    Ok(())
}
