//! `tool_multiplication`: multiply two long integers with the `calculator` tool. The
//! reference episode calls the calculator once, then answers the product it returned.
//!
//! A long product is the classic task a model gets wrong by hand and right with a tool,
//! so the reward is the accuracy of the answer, and the `tool_use` component shows
//! whether the model learnt to call the tool.

use super::{integer_tool_episode, MultiFamily, Played};
use crate::env::Domain;
use crate::episode::{Episode, EpisodeLimits};
use crate::kit::{gold_str, level};
use crate::rng::TaskRng;
use crate::tools::{render_call, ToolRegistry};
use crate::Message;
use num_bigint::BigInt;
use serde::{Deserialize, Serialize};
use serde_json::json;
use verigym_verifiers::VerifyError;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToolMultiplicationConfig {
    /// Digits of each factor, drawn uniformly in [min_digits, max_digits].
    pub min_digits: usize,
    pub max_digits: usize,
    pub max_turns: usize,
    pub max_tool_calls: usize,
    pub max_tokens: usize,
}

pub struct ToolMultiplication {
    config: ToolMultiplicationConfig,
}

/// Most digits a factor may have.
pub const MAX_DIGITS: usize = 200;

impl MultiFamily for ToolMultiplication {
    type Config = ToolMultiplicationConfig;
    const NAME: &'static str = "tool_multiplication";
    const DOMAIN: Domain = Domain::Math;
    const DESCRIPTION: &'static str = "Multiply two long integers, with a calculator tool to call";
    const TOOLS: &'static [&'static str] = &["calculator"];

    fn config_for(difficulty: u8) -> ToolMultiplicationConfig {
        let (min_digits, max_digits) = level(
            difficulty,
            [
                (8, 8),
                (10, 10),
                (12, 12),
                (12, 14),
                (14, 15),
                (15, 16),
                (16, 17),
                (17, 18),
                (18, 19),
                (19, 20),
            ],
        );
        ToolMultiplicationConfig {
            min_digits,
            max_digits,
            max_turns: 4,
            max_tool_calls: 4,
            max_tokens: 2048,
        }
    }

    fn new(config: ToolMultiplicationConfig) -> Result<Self, String> {
        if config.min_digits < 1 || config.min_digits > config.max_digits {
            return Err("min_digits must be in 1..=max_digits".into());
        }
        if config.max_digits > MAX_DIGITS {
            return Err(format!("max_digits must be at most {MAX_DIGITS}"));
        }
        if config.max_turns < 2 || config.max_tool_calls < 1 {
            return Err("max_turns must be at least 2 and max_tool_calls at least 1".into());
        }
        Ok(ToolMultiplication { config })
    }

    fn limits(&self) -> EpisodeLimits {
        EpisodeLimits {
            max_turns: self.config.max_turns,
            max_tool_calls: self.config.max_tool_calls,
            max_tokens: self.config.max_tokens,
        }
    }

    fn generate(&self, rng: &mut TaskRng) -> Result<Played, String> {
        let (lo, hi) = (self.config.min_digits, self.config.max_digits);
        let (da, db) = (rng.range_usize(lo, hi), rng.range_usize(lo, hi));
        let (a, b) = (rng.digits(da), rng.digits(db));
        let product = |x: &str, y: &str| -> Result<BigInt, String> {
            let p = |s: &str| s.parse::<BigInt>().map_err(|e| e.to_string());
            Ok(p(x)? * p(y)?)
        };
        let product = product(&a, &b)?.to_string();
        let call = render_call("calculator", &json!({ "expression": format!("{a}*{b}") }));
        Ok(Played {
            question: format!("What is {a} × {b}?"),
            answer: json!({ "product": product }),
            reference: vec![
                Message::new("assistant", call),
                Message::new("tool", product.as_str()),
                Message::new("assistant", format!("<answer>{product}</answer>")),
            ],
        })
    }

    fn episode<'a>(
        &'a self,
        gold: &serde_json::Value,
        tools: &ToolRegistry,
    ) -> Result<Box<dyn Episode + 'a>, VerifyError> {
        let product: BigInt = gold_str(gold, "product")?
            .parse()
            .map_err(|_| VerifyError::InvalidGold("product is not an integer".into()))?;
        Ok(integer_tool_episode(
            Self::NAME,
            tools,
            self.limits(),
            product,
            "product",
        ))
    }
}

#[cfg(test)]
mod tests {
    use crate::{replay, Registry, Step};

    #[test]
    fn the_reference_episode_calls_the_calculator_and_scores_one() {
        let env = Registry::builtin_at("tool_multiplication", 3).unwrap();
        let task = env.generate(1, 1).unwrap();
        let turns = task.solution_turns.clone().unwrap();
        assert!(turns[0].starts_with("<tool_call>\n{\"name\": \"calculator\""));
        let r = replay(env.as_ref(), &task, &turns).unwrap();
        assert!(
            r.verdict.correct && r.verdict.reward == 1.0,
            "{:?}",
            r.verdict
        );
        assert_eq!(r.verdict.components["tool_use"], 1.0);
        assert_eq!(r.stats.tool_calls, 1);
        // Level 3 is the 12-digit task.
        let q = &task.question;
        assert_eq!(q.split(' ').nth(2).unwrap().len(), 12, "{q}");
        // The transcript of the replay is the one the task carries.
        let text = super::super::transcript_text(&r.messages);
        assert_eq!(Some(text), task.solution);
    }

    #[test]
    fn a_direct_answer_scores_and_a_wrong_one_does_not() {
        let env = Registry::builtin_at("tool_multiplication", 1).unwrap();
        let task = env.generate(2, 0).unwrap();
        let product = task.answer["product"].as_str().unwrap().to_string();
        let v = env
            .verify(&task, &format!("<answer>{product}</answer>"))
            .unwrap();
        assert!(v.correct && v.components["tool_use"] == 0.0);
        assert!(!env.verify(&task, "<answer>12</answer>").unwrap().correct);
        // A tool call alone does not end the episode: one completion cannot score.
        let turns = task.solution_turns.clone().unwrap();
        let v = env.verify(&task, &turns[0]).unwrap();
        assert!(v.reward == 0.0 && v.reason.unwrap().contains("multi-turn"));
        let mut ep = crate::start_episode(env.as_ref(), task);
        assert!(
            matches!(ep.step("<tool_call>{\"name\": \"calculator\", \"arguments\": {\"expression\": \"10^10^10\"}}</tool_call>").unwrap(),
            Step::Continue { messages } if messages[0].content.starts_with("error: "))
        );
    }
}
