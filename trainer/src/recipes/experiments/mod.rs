//! `verigym experiment NAME`: three classic findings about reasoning models reproduced on a
//! CPU in minutes — RL beyond imitation, tokens to think, tokens not characters — on the
//! SFT / eval / GRPO pipeline shared with `verigym demo`.

pub mod beyond_imitation;
pub mod tokens_not_characters;
pub mod tokens_to_think;

use anyhow::{Context, Result};
use serde::{de::DeserializeOwned, Serialize};
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

/// Runs experiment `name` into `out`, averaging over the seeds `seeds` (at least one), with
/// its defaults (or the `--quick` ones) overridden by `overrides` (a JSON object, see
/// [`with_overrides`]).
pub fn run(
    name: &str,
    device: Device,
    out: &Path,
    seeds: std::ops::Range<u64>,
    quick: bool,
    overrides: Option<&serde_json::Value>,
) -> Result<()> {
    let seeds = if seeds.is_empty() {
        seeds.start..seeds.start.saturating_add(1)
    } else {
        seeds
    };
    let none = serde_json::json!({});
    let over = overrides.unwrap_or(&none);
    let label = format!("{name} config");
    let o = match name {
        "beyond-imitation" => {
            let cfg = with_overrides(&beyond_imitation::Config::new(quick), over, &label)?;
            beyond_imitation::run(device, out, seeds, &cfg)?
        }
        "tokens-to-think" => {
            let cfg = with_overrides(&tokens_to_think::Config::new(quick), over, &label)?;
            tokens_to_think::run(device, out, seeds, &cfg)?
        }
        "tokens-not-characters" => {
            let cfg = with_overrides(&tokens_not_characters::Config::new(quick), over, &label)?;
            tokens_not_characters::run(device, out, seeds, &cfg)?
        }
        other => anyhow::bail!("unknown experiment '{other}'; known: {}", NAMES.join(", ")),
    };
    println!("{}", o.markdown);
    Ok(())
}

/// `base` with a JSON object of overrides merged in, key by key and recursively
/// (`{"sft": {"max_steps": 800}, "size": {"layers": 2}}`). Unknown keys are errors that name
/// their path (`label` says whose config); `env_config` objects are taken as given (each env
/// checks its own fields).
pub fn with_overrides<T: Serialize + DeserializeOwned>(
    base: &T,
    overrides: &serde_json::Value,
    label: &str,
) -> Result<T> {
    let mut value = serde_json::to_value(base)?;
    merge_json(&mut value, overrides, "", label)?;
    serde_json::from_value(value).with_context(|| label.to_string())
}

fn merge_json(
    base: &mut serde_json::Value,
    over: &serde_json::Value,
    path: &str,
    label: &str,
) -> Result<()> {
    let (Some(base_obj), Some(over_obj)) = (base.as_object_mut(), over.as_object()) else {
        anyhow::bail!("{label}{path}: expected a JSON object");
    };
    for (k, v) in over_obj {
        let here = format!("{path}.{k}");
        let Some(slot) = base_obj.get_mut(k) else {
            let known: Vec<&str> = base_obj.keys().map(String::as_str).collect();
            anyhow::bail!(
                "{label}: unknown key '{here}'; keys here: {}",
                known.join(", ")
            );
        };
        if slot.is_object() && v.is_object() && here != ".env_config" {
            merge_json(slot, v, &here, label)?;
        } else {
            *slot = v.clone();
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_merge_recursively_and_name_unknown_keys() {
        let base = beyond_imitation::Config::new(false);
        let over = serde_json::json!({"digits": 2, "rl": {"steps": 7}});
        let cfg = with_overrides(&base, &over, "beyond-imitation config").unwrap();
        assert_eq!(cfg.digits, 2);
        assert_eq!(cfg.rl.steps, 7);
        // Untouched siblings keep their defaults.
        assert_eq!(cfg.rl.group, base.rl.group);
        assert_eq!(cfg.sft, base.sft);

        let bad = serde_json::json!({"rl": {"stpes": 7}});
        let err = with_overrides(&base, &bad, "beyond-imitation config")
            .unwrap_err()
            .to_string();
        assert!(err.contains("'.rl.stpes'"), "{err}");
        assert!(err.contains("beyond-imitation config"), "{err}");
        let wrong_type = serde_json::json!({"rl": {"steps": "many"}});
        assert!(with_overrides(&base, &wrong_type, "x").is_err());
        assert!(with_overrides(&base, &serde_json::json!([1]), "x").is_err());
    }
}
