//! `verigym rm`: reward models — make one from a checkpoint, score completions.

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use serde_json::Value;
use std::io::{BufRead, Write};
use std::path::PathBuf;
use tch::{Device, Kind, Tensor};
use verigym_trainer::policy::checkpoint;
use verigym_trainer::rm::model::RewardModel;

#[derive(Subcommand)]
pub enum RmCommand {
    /// Score `{"prompt", "completion"}` JSONL (stdin or --in): one `{"reward"}` line out per
    /// line in, in order; a bad line stops with an error naming it.
    Score(ScoreArgs),
    /// A reward model on a checkpoint's backbone with a random score head (seeded), saved in
    /// transformers' sequence-classification layout.
    Init {
        /// A causal-LM checkpoint folder (its LM head is left out).
        #[arg(long)]
        model: PathBuf,
        #[arg(long)]
        out: PathBuf,
        #[arg(long, default_value_t = 0)]
        seed: i64,
    },
}

#[derive(Args)]
pub struct ScoreArgs {
    /// Reward model folder (`*ForSequenceClassification` config, score head).
    #[arg(long)]
    pub model: PathBuf,
    /// Input JSONL; stdin when absent.
    #[arg(long = "in")]
    pub input: Option<PathBuf>,
    /// Texts scored per forward pass.
    #[arg(long, default_value_t = 16)]
    pub batch_size: usize,
}

pub fn run(cmd: &RmCommand) -> Result<()> {
    match cmd {
        RmCommand::Score(args) => score(args),
        RmCommand::Init { model, out, seed } => {
            let (backbone, tok) = checkpoint::load(model, Device::Cpu, Kind::Float)?;
            let std = backbone.cfg.initializer_range;
            let rm = RewardModel::new(backbone);
            tch::manual_seed(*seed);
            tch::no_grad(|| {
                let head = Tensor::randn(rm.score.size(), (Kind::Float, Device::Cpu)) * std;
                rm.score.shallow_clone().copy_(&head);
            });
            rm.save(&tok, out)?;
            eprintln!(
                "reward model on {} saved to {}",
                model.display(),
                out.display()
            );
            Ok(())
        }
    }
}

fn score(args: &ScoreArgs) -> Result<()> {
    let (rm, tok) = RewardModel::load(&args.model, Device::Cpu, Kind::Float)?;
    let (name, reader): (String, Box<dyn BufRead>) = match &args.input {
        Some(p) => (
            p.display().to_string(),
            Box::new(std::io::BufReader::new(
                std::fs::File::open(p).with_context(|| p.display().to_string())?,
            )),
        ),
        None => ("stdin".into(), Box::new(std::io::stdin().lock())),
    };
    let mut texts = Vec::new();
    for (i, line) in reader.lines().enumerate() {
        let line = line.with_context(|| format!("{name}:{}", i + 1))?;
        if line.trim().is_empty() {
            bail!(
                "{name}:{}: empty line (every line is one completion to score)",
                i + 1
            );
        }
        let v: Value =
            serde_json::from_str(&line).with_context(|| format!("{name}:{}: not JSON", i + 1))?;
        let field = |f: &str| -> Result<String> {
            match v.get(f) {
                Some(Value::String(s)) => Ok(s.clone()),
                Some(_) => bail!("{name}:{}: field '{f}' must be a string", i + 1),
                None => bail!("{name}:{}: missing field '{f}'", i + 1),
            }
        };
        texts.push(format!("{}{}", field("prompt")?, field("completion")?));
    }
    let rewards = rm.score_texts(&tok, &texts, args.batch_size)?;
    let mut out = std::io::stdout().lock();
    for r in rewards {
        writeln!(out, "{}", serde_json::json!({ "reward": r }))?;
    }
    Ok(())
}
