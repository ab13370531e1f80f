//! `verigym experiment NAME`: five classic findings about reasoning models reproduced on a
//! CPU in minutes — RL beyond imitation, tokens to think, tokens not characters, tools, reward hacking — on the
//! SFT / eval / GRPO pipeline shared with `verigym demo`.

pub mod beyond_imitation;
pub mod reward_hacking;
pub mod tokens_not_characters;
pub mod tokens_to_think;
pub mod tools;

use crate::recipes::common::with_overrides;
use crate::recipes::error::{RecipeError, Result};
use std::path::Path;
use tch::Device;

/// What an experiment leaves besides its files: the markdown table it wrote.
pub struct ExperimentOutput {
    pub markdown: String,
}

/// The experiments, by name.
pub const NAMES: [&str; 5] = [
    "beyond-imitation",
    "reward-hacking",
    "tokens-to-think",
    "tokens-not-characters",
    "tools",
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
        "reward-hacking" => {
            let cfg = with_overrides(&reward_hacking::Config::new(quick), over, &label)?;
            reward_hacking::run(device, out, seeds, &cfg)?
        }
        "tokens-to-think" => {
            let cfg = with_overrides(&tokens_to_think::Config::new(quick), over, &label)?;
            tokens_to_think::run(device, out, seeds, &cfg)?
        }
        "tokens-not-characters" => {
            let cfg = with_overrides(&tokens_not_characters::Config::new(quick), over, &label)?;
            tokens_not_characters::run(device, out, seeds, &cfg)?
        }
        "tools" => {
            let cfg = with_overrides(&tools::Config::new(quick), over, &label)?;
            tools::run(device, out, seeds, &cfg)?
        }
        other => {
            return Err(RecipeError::Msg(format!(
                "unknown experiment '{other}'; known: {}",
                NAMES.join(", ")
            )))
        }
    };
    println!("{}", o.markdown);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every knob of the demo's and the experiments' configs, set to each hostile JSON
    /// value, loads or is refused with an error naming it; never a panic.
    #[test]
    fn every_knob_of_every_recipe_refuses_hostile_values_by_name() {
        use crate::recipes::common::RecipeConfig;
        use crate::util::config::hostile_json_failures;
        fn check<T: RecipeConfig>(base: &T) -> Vec<String> {
            hostile_json_failures(base, |over| {
                with_overrides(base, over, "config")
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            })
        }
        let mut failures = check(&crate::recipes::demo::DemoConfig::new(false));
        failures.extend(check(&beyond_imitation::Config::new(false)));
        failures.extend(check(&tokens_to_think::Config::new(false)));
        failures.extend(check(&tokens_not_characters::Config::new(false)));
        failures.extend(check(&tools::Config::new(false)));
        failures.extend(check(&reward_hacking::Config::new(false)));
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

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
        assert!(err.contains("'rl.stpes'"), "{err}");
        assert!(err.contains("beyond-imitation config"), "{err}");
        let wrong_type = serde_json::json!({"rl": {"steps": "many"}});
        assert!(with_overrides(&base, &wrong_type, "x").is_err());
        assert!(with_overrides(&base, &serde_json::json!([1]), "x").is_err());
    }
}
