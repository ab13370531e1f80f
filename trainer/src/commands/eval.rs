//! `verigym eval` of a local checkpoint: the shared command (verigym-eval) with the batched
//! sampler as its backend.

use anyhow::Result;
use verigym_eval::cli::EvalArgs;
use verigym_eval::{Backend, Suite};
use verigym_trainer::eval::{Held, LocalModel};
use verigym_trainer::policy::checkpoint;
use verigym_trainer::rollout::sampler::KvCacheDtype;
use verigym_trainer::DeviceChoice;

pub fn run(args: &EvalArgs) -> Result<()> {
    verigym_eval::cli::main(args, Some(&load))?;
    Ok(())
}

/// Loads the checkpoint at `model` (fp32) with its tokenizer and recorded prompt template.
fn load(args: &EvalArgs, _suite: &Suite, model: &str) -> Result<Box<dyn Backend>, String> {
    let device: DeviceChoice = args.device.parse()?;
    let device = device.resolve()?;
    let dir = std::path::Path::new(model);
    let (m, tok) = checkpoint::load(dir, device, tch::Kind::Float).map_err(|e| e.to_string())?;
    let template = checkpoint::prompt_template(dir).map_err(|e| e.to_string())?;
    let name = std::fs::canonicalize(dir)
        .unwrap_or_else(|_| dir.to_path_buf())
        .display()
        .to_string();
    Ok(Box::new(LocalModel {
        model: Held::Owned(m),
        tokenizer: Held::Owned(tok),
        prompt_template: template,
        batch_size: args.batch_size,
        name,
        kv_cache_dtype: KvCacheDtype::Auto,
    }))
}
