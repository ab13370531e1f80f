//! `verigym train pretrain|sft|grpo|rm`: one argument shape for the stages.

use anyhow::{Context, Result};
use std::path::PathBuf;
use verigym_trainer::grpo::{self, GrpoConfig, RunOptions};
use verigym_trainer::lm::stage::{self, PretrainConfig, SftStageConfig, StageOptions};
use verigym_trainer::rm::train::RmConfig;
use verigym_trainer::util::config::StageConfig;
use verigym_trainer::DeviceChoice;

#[derive(clap::Args, Debug)]
pub struct StageArgs {
    /// The run config (TOML); every knob has a default, so no file (or an empty one) runs.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Override a config key, e.g. `--set optim.lr=3e-4 --set envs.0.difficulty=2`.
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

impl StageArgs {
    /// The config: the file (or the defaults) with the `--set` overrides.
    fn config<T: StageConfig>(&self) -> Result<T> {
        Ok(match &self.config {
            Some(p) => T::from_file(p, &self.sets)?,
            None => T::from_toml("", &self.sets)?,
        })
    }

    /// The run folder and device, `--out` and `--device` over the config's.
    fn place(&self, out: &mut String, device: &mut DeviceChoice) -> Result<(PathBuf, tch::Device)> {
        if let Some(d) = self.device {
            *device = d;
        }
        let folder = self.out.clone().unwrap_or_else(|| PathBuf::from(&*out));
        *out = folder.display().to_string();
        Ok((folder, device.resolve().map_err(anyhow::Error::msg)?))
    }
}

pub fn pretrain(args: StageArgs) -> Result<()> {
    let mut cfg: PretrainConfig = args.config()?;
    let (out, device) = args.place(&mut cfg.out, &mut cfg.model.device)?;
    eprintln!(
        "pretrain: {} steps of {} rows x {} tokens on {}; run folder {}",
        cfg.steps,
        cfg.train.batch_size,
        cfg.train.seq_len,
        verigym_trainer::device::describe(device),
        out.display()
    );
    let s =
        stage::pretrain(&cfg, stage_options(&args, out, device)).context("pretraining failed")?;
    finished(&s);
    Ok(())
}

pub fn sft(args: StageArgs) -> Result<()> {
    let mut cfg: SftStageConfig = args.config()?;
    let (out, device) = args.place(&mut cfg.out, &mut cfg.model.device)?;
    eprintln!(
        "sft: {} steps of {} rows x {} tokens on {}; run folder {}",
        cfg.steps,
        cfg.train.batch_size,
        cfg.train.seq_len,
        verigym_trainer::device::describe(device),
        out.display()
    );
    let s = stage::sft(&cfg, stage_options(&args, out, device)).context("SFT failed")?;
    finished(&s);
    Ok(())
}

pub fn rm(args: StageArgs) -> Result<()> {
    let mut cfg: RmConfig = args.config()?;
    let (out, device) = args.place(&mut cfg.out, &mut cfg.model.device)?;
    eprintln!(
        "rm: {} steps of {} pairs, {} model(s), on {}; run folder {}",
        cfg.steps,
        cfg.train.batch_size,
        cfg.train.ensemble,
        verigym_trainer::device::describe(device),
        out.display()
    );
    let s = verigym_trainer::rm::train::train(&cfg, stage_options(&args, out, device))
        .context("reward-model training failed")?;
    for (i, m) in s.ensemble.members.iter().enumerate() {
        eprintln!(
            "member {i}: held-out pairwise accuracy {:.4}, loss {:.4}; checkpoint {}",
            m.val_accuracy,
            m.val_loss,
            s.out.join(&m.checkpoint).display()
        );
    }
    eprintln!(
        "done: {} training pairs, {} held out; ensemble accuracy {:.4}; {}",
        s.ensemble.train_pairs,
        s.ensemble.val_pairs,
        s.ensemble.ensemble_val_accuracy,
        s.out.join("ensemble.json").display()
    );
    Ok(())
}

fn stage_options(args: &StageArgs, out: PathBuf, device: tch::Device) -> StageOptions {
    StageOptions {
        out,
        resume: args.resume,
        device,
        stop_after: None,
    }
}

fn finished(s: &stage::StageSummary) {
    let last = s.report.train_loss.last().map_or(f64::NAN, |x| x.1);
    eprintln!(
        "done: {} steps, last loss {last:.4}; checkpoint {}; report {}",
        s.report.steps,
        s.checkpoint
            .as_ref()
            .map_or("none".into(), |c| c.display().to_string()),
        s.out.join("report.md").display()
    );
}

pub fn grpo(args: StageArgs) -> Result<()> {
    let mut cfg: GrpoConfig = args.config()?;
    let (out, device) = args.place(&mut cfg.out, &mut cfg.model.device)?;
    eprintln!(
        "grpo: {} steps, {} tasks x {} completions on {}; run folder {}",
        cfg.steps,
        cfg.rollout.tasks_per_step,
        cfg.rollout.group_size,
        verigym_trainer::device::describe(device),
        out.display()
    );
    if !cfg.model.path.is_empty() && !cfg.rollout.chat {
        let dir = std::path::Path::new(&cfg.model.path);
        if let Some(t) = verigym_trainer::policy::checkpoint::prompt_template(dir)? {
            if t != cfg.rollout.prompt_template {
                eprintln!(
                    "note: {} was trained on prompts written as {t:?}; this run writes them \
                     as {:?} (rollout.prompt_template)",
                    dir.display(),
                    cfg.rollout.prompt_template
                );
            }
        }
    }
    let summary = grpo::train(
        &cfg,
        RunOptions {
            out,
            resume: args.resume,
            registry: cfg.registry()?,
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
    if let Some(g) = &summary.guard {
        eprintln!(
            "guard ({}) stopped the run after {} steps: {}. The run's model: {} ({:?}; see \
             guard.json)",
            g.trigger.rule,
            g.stopped_at,
            g.trigger.reason,
            summary.out.join(&g.checkpoint).display(),
            g.action
        );
    }
    Ok(())
}
