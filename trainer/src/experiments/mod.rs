//! `verigym experiment NAME`: three classic findings about reasoning models reproduced on a
//! CPU in minutes — RL beyond imitation, tokens to think, tokens not characters — on the
//! SFT / eval / GRPO pipeline shared with `verigym demo`.

pub mod beyond_imitation;
pub mod pipeline;
pub mod plot;
pub mod tokens_not_characters;
pub mod tokens_to_think;

use anyhow::Result;
use std::path::Path;
use tch::Device;

/// What an experiment leaves besides its files: the markdown table it wrote.
pub struct ExperimentOutput {
    pub markdown: String,
}

/// The experiments, by name.
pub const NAMES: [&str; 3] = [
    "beyond-imitation",
    "tokens-to-think",
    "tokens-not-characters",
];

/// Runs experiment `name` into `out`, averaging over `seeds` seeds.
pub fn run(name: &str, device: Device, out: &Path, seeds: u64, quick: bool) -> Result<()> {
    let o = match name {
        "beyond-imitation" => beyond_imitation::run(device, out, seeds, quick)?,
        "tokens-to-think" => tokens_to_think::run(device, out, seeds, quick)?,
        "tokens-not-characters" => tokens_not_characters::run(device, out, seeds, quick)?,
        other => anyhow::bail!("unknown experiment '{other}'; known: {}", NAMES.join(", ")),
    };
    println!("{}", o.markdown);
    Ok(())
}
