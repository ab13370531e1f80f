//! `verigym data sft|corpus`: training data from the environments.

use anyhow::{Context, Result};
use std::path::PathBuf;
use verigym_envs::Registry;
use verigym_trainer::data::{self, DemoSpec, Profile, Template};

#[derive(clap::Subcommand)]
pub enum DataCommand {
    /// Write SFT demonstrations (JSONL {prompt, completion}) from the envs' reference
    /// solutions, or from a demonstrator profile.
    Sft {
        #[command(flatten)]
        tasks: TaskArgs,
        /// reference | direct | drops-final-carry[:RATE]
        #[arg(long, default_value = "reference")]
        profile: Profile,
    },
    /// Write a plain-text corpus for `train pretrain`: each task's prompt and reference
    /// solution as one document per line.
    Corpus {
        #[command(flatten)]
        tasks: TaskArgs,
    },
}

/// Which tasks, and where the file goes.
#[derive(clap::Args)]
pub struct TaskArgs {
    /// Comma-separated env names.
    #[arg(long, value_delimiter = ',', required = true)]
    envs: Vec<String>,
    /// Tasks per env.
    #[arg(long, default_value_t = 1000)]
    n: u64,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    #[arg(long)]
    difficulty: Option<u8>,
    /// full (the task prompt with format instructions) | compact (the bare question)
    #[arg(long, default_value = "full")]
    template: Template,
    /// JSON object of per-env config overrides, e.g. '{"arithmetic": {"ops": ["add"]}}'.
    #[arg(long)]
    config: Option<String>,
    #[arg(long)]
    out: PathBuf,
    /// An envs file (TOML) whose environments can be named in --envs beside the builtins.
    #[arg(long)]
    envs_file: Option<PathBuf>,
}

impl TaskArgs {
    fn spec(&self, profile: Profile) -> Result<DemoSpec> {
        let config = match &self.config {
            None => Default::default(),
            Some(c) => match serde_json::from_str(c).context("--config")? {
                serde_json::Value::Object(m) => m,
                _ => anyhow::bail!("--config must be a JSON object keyed by env name"),
            },
        };
        Ok(DemoSpec {
            envs: self.envs.clone(),
            n: self.n,
            seed: self.seed,
            difficulty: self.difficulty,
            config,
            template: self.template,
            profile,
        })
    }
}

pub fn run(what: DataCommand) -> Result<()> {
    match what {
        DataCommand::Sft { tasks, profile } => {
            let registry = Registry::with_envs_file(tasks.envs_file.as_deref())?;
            let demos = data::demonstrations_in(&registry, &tasks.spec(profile)?)?;
            data::write_jsonl(&tasks.out, &demos)?;
            eprintln!(
                "wrote {} demonstrations to {}",
                demos.len(),
                tasks.out.display()
            );
        }
        DataCommand::Corpus { tasks } => {
            let registry = Registry::with_envs_file(tasks.envs_file.as_deref())?;
            let docs = data::corpus_in(&registry, &tasks.spec(Profile::Reference)?)?;
            let mut text = docs.join("\n");
            text.push('\n');
            std::fs::write(&tasks.out, text)
                .with_context(|| format!("writing {}", tasks.out.display()))?;
            eprintln!("wrote {} documents to {}", docs.len(), tasks.out.display());
        }
    }
    Ok(())
}
