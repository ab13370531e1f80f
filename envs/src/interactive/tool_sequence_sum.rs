//! `tool_sequence_sum`: the sum of `(a·i^k + b·i) mod m` for i = 1..N, with N up to a
//! million: a short program, not a pen-and-paper sum, so the `python` tool is the way.
//! The reference episode runs that program, then answers its output.
//!
//! The shape of Project-Euler-style warm-ups: exact, cheap to verify (the generator sums
//! it in Rust), and impossible to guess.

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
pub struct ToolSequenceSumConfig {
    /// N is drawn uniformly in [min_n, max_n].
    pub min_n: u64,
    pub max_n: u64,
    /// The power k of i is drawn in [1, max_power].
    pub max_power: u32,
    pub max_turns: usize,
    pub max_tool_calls: usize,
    pub max_tokens: usize,
}

pub struct ToolSequenceSum {
    config: ToolSequenceSumConfig,
}

/// Largest N: a Python loop over it stays well inside the tool's time limit.
pub const MAX_N: u64 = 1_000_000;

/// The sum the task asks for, exactly.
pub fn sequence_sum(a: u64, b: u64, k: u32, m: u64, n: u64) -> u128 {
    let m128 = u128::from(m);
    (1..=n)
        .map(|i| {
            let i = u128::from(i) % m128;
            let mut p = 1u128;
            for _ in 0..k {
                p = p * i % m128;
            }
            (u128::from(a) * p + u128::from(b) * i) % m128
        })
        .sum()
}

impl MultiFamily for ToolSequenceSum {
    type Config = ToolSequenceSumConfig;
    const NAME: &'static str = "tool_sequence_sum";
    const DOMAIN: Domain = Domain::Code;
    const DESCRIPTION: &'static str =
        "Sum a long generated sequence modulo m, with a Python tool to call";
    const TOOLS: &'static [&'static str] = &["python"];

    fn config_for(difficulty: u8) -> ToolSequenceSumConfig {
        let (min_n, max_n) = level(
            difficulty,
            [
                (100, 1000),
                (1000, 5000),
                (5000, 20_000),
                (10_000, 50_000),
                (20_000, 100_000),
                (50_000, 200_000),
                (100_000, 300_000),
                (200_000, 500_000),
                (300_000, 800_000),
                (500_000, 1_000_000),
            ],
        );
        ToolSequenceSumConfig {
            min_n,
            max_n,
            max_power: level(difficulty, [2, 2, 2, 3, 3, 3, 4, 4, 5, 5]),
            max_turns: 4,
            max_tool_calls: 4,
            max_tokens: 4096,
        }
    }

    fn new(config: ToolSequenceSumConfig) -> Result<Self, String> {
        if config.min_n < 1 || config.min_n > config.max_n || config.max_n > MAX_N {
            return Err(format!(
                "min_n and max_n must satisfy 1 <= min_n <= max_n <= {MAX_N}"
            ));
        }
        if !(1..=8).contains(&config.max_power) {
            return Err("max_power must be in 1..=8".into());
        }
        if config.max_turns < 2 || config.max_tool_calls < 1 {
            return Err("max_turns must be at least 2 and max_tool_calls at least 1".into());
        }
        Ok(ToolSequenceSum { config })
    }

    fn limits(&self) -> EpisodeLimits {
        EpisodeLimits {
            max_turns: self.config.max_turns,
            max_tool_calls: self.config.max_tool_calls,
            max_tokens: self.config.max_tokens,
        }
    }

    fn generate(&self, rng: &mut TaskRng) -> Result<Played, String> {
        let c = &self.config;
        let n = rng.range(c.min_n as i64, c.max_n as i64) as u64;
        let k = rng.range(1, i64::from(c.max_power)) as u32;
        let a = rng.range(1, 99) as u64;
        let b = rng.range(0, 99) as u64;
        let m = rng.range(1000, 1_000_000) as u64;
        let sum = sequence_sum(a, b, k, m, n);
        let term = if b == 0 {
            format!("{a}*i**{k}")
        } else {
            format!("{a}*i**{k} + {b}*i")
        };
        let code = format!("print(sum(({term}) % {m} for i in range(1, {n} + 1)))");
        let call = render_call("python", &json!({ "code": code }));
        let shown = if b == 0 {
            format!("{a}·i^{k}")
        } else {
            format!("{a}·i^{k} + {b}·i")
        };
        Ok(Played {
            question: format!(
                "Compute the sum of ({shown}) mod {m} over every integer i from 1 to {n}: \
                 each term is reduced modulo {m} before it is added. Give the exact sum."
            ),
            answer: json!({ "sum": sum.to_string() }),
            reference: vec![
                Message::new("assistant", call),
                Message::new("tool", format!("{sum}\n")),
                Message::new("assistant", format!("<answer>{sum}</answer>")),
            ],
        })
    }

    fn episode<'a>(
        &'a self,
        gold: &serde_json::Value,
        tools: &ToolRegistry,
    ) -> Result<Box<dyn Episode + 'a>, VerifyError> {
        let sum: BigInt = gold_str(gold, "sum")?
            .parse()
            .map_err(|_| VerifyError::InvalidGold("sum is not an integer".into()))?;
        Ok(integer_tool_episode(
            Self::NAME,
            tools,
            self.limits(),
            sum,
            "sum",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sum_matches_a_direct_count() {
        // 1..=4 of (2i^2 + i) mod 7: 3, 10%7=3, 21%7=0, 36%7=1 -> 7.
        assert_eq!(sequence_sum(2, 1, 2, 7, 4), 7);
        assert_eq!(sequence_sum(1, 0, 1, 1000, 10), 55);
    }
}
