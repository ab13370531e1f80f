//! A complete custom environment in one file: "echo the larger of two numbers".
//!
//! A `Family` is a serde config with difficulty levels, a seeded generator and a verifier;
//! one `register_family` call adds it to a registry beside the builtins, and everything
//! else (sampling, scoring, the conformance checks, training) works with it unchanged.
//!
//! Run: `cargo run --example custom_env`

use serde::{Deserialize, Serialize};
use serde_json::json;
use verigym_envs::{Domain, EnvOptions, Family, Problem, Registry, TaskRng};
use verigym_verifiers::number::parse_integer;
use verigym_verifiers::{Verdict, VerifyError};

/// The config: plain serde data. Difficulty levels map onto it in `config_for`.
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct MaxOfTwoConfig {
    max_value: i64,
}

struct MaxOfTwo {
    config: MaxOfTwoConfig,
}

impl Family for MaxOfTwo {
    type Config = MaxOfTwoConfig;
    const NAME: &'static str = "max_of_two";
    const DOMAIN: Domain = Domain::Math;
    const DESCRIPTION: &'static str = "Say which of two integers is larger";

    fn config_for(difficulty: u8) -> MaxOfTwoConfig {
        MaxOfTwoConfig {
            max_value: 10i64.pow(u32::from(difficulty)),
        }
    }

    fn new(config: MaxOfTwoConfig) -> Result<Self, String> {
        if config.max_value < 1 {
            return Err("max_value must be at least 1".into());
        }
        Ok(MaxOfTwo { config })
    }

    /// Deterministic in (seed, index): the adapter hands us the task's own RNG.
    fn generate(&self, rng: &mut TaskRng) -> Result<Problem, String> {
        let (a, b) = (
            rng.range(0, self.config.max_value),
            rng.range(0, self.config.max_value),
        );
        let max = a.max(b);
        Ok(Problem {
            question: format!("Which is larger, {a} or {b}?"),
            answer: json!({ "value": max }),
            thinking: format!("Compare {a} and {b}: {max} is the larger."),
            final_answer: max.to_string(),
        })
    }

    /// Receives only the text inside <answer> (the adapter applies the format rules).
    fn verify(&self, gold: &serde_json::Value, answer: &str) -> Result<Verdict, VerifyError> {
        let gold = gold["value"]
            .as_i64()
            .ok_or_else(|| VerifyError::InvalidGold("no value".into()))?;
        Ok(match parse_integer(answer) {
            Some(v) if v == gold.into() => Verdict::correct(answer),
            _ => Verdict::wrong(Some(answer.to_string()), format!("expected {gold}")),
        })
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut registry = Registry::builtin();
    registry.register_family::<MaxOfTwo>()?;

    let env = registry.build(
        "max_of_two",
        &EnvOptions {
            difficulty: Some(2),
            config: None,
        },
    )?;
    let task = env.generate(7, 0)?;
    println!("{}", serde_json::to_string_pretty(&task)?);
    let solution = task.solution.clone().unwrap_or_default();
    println!("reference: {:?}", env.verify(&task, &solution)?);
    println!(
        "wrong:     {:?}",
        env.verify(&task, "<think>guess</think><answer>-1</answer>")?
    );
    Ok(())
}
