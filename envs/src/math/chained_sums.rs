//! `chained_sums`: long chains of additions and subtractions of multi-digit integers, worked
//! as a running total (one line per term).
//!
//! The chain length and the operand size both grow with difficulty, so long-horizon
//! bookkeeping and carries are exercised together.

use crate::env::{Domain, Family, Problem};
use crate::kit::level;
use crate::kit::render;
use crate::math::grade::grade_integer;
use crate::rng::TaskRng;
use num_bigint::BigInt;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::fmt::Write;
use verigym_verifiers::{Verdict, VerifyError};

const TEMPLATE: &str = crate::template!("chained_sums");

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChainedSumsConfig {
    /// Number of terms, drawn uniformly in [min_terms, max_terms].
    pub min_terms: usize,
    pub max_terms: usize,
    /// Largest number of digits of a term (each term has 1..=max_digits digits).
    pub max_digits: usize,
    /// Probability that a term after the first is subtracted.
    pub subtract_probability: f64,
}

pub struct ChainedSums {
    config: ChainedSumsConfig,
}

impl Family for ChainedSums {
    type Config = ChainedSumsConfig;
    const NAME: &'static str = "chained_sums";
    const DOMAIN: Domain = Domain::Math;
    const DESCRIPTION: &'static str =
        "Long chains of additions and subtractions, worked as a running total";

    fn config_for(d: u8) -> ChainedSumsConfig {
        let max_terms = level(d, [3, 4, 5, 6, 7, 8, 10, 12, 15, 20]);
        ChainedSumsConfig {
            min_terms: (max_terms * 2 / 3).max(3),
            max_terms,
            max_digits: level(d, [2, 2, 3, 3, 4, 5, 6, 8, 10, 12]),
            subtract_probability: if d <= 1 { 0.0 } else { 0.4 },
        }
    }

    fn new(c: ChainedSumsConfig) -> Result<Self, String> {
        if c.min_terms < 2 || c.min_terms > c.max_terms || c.max_terms > 200 {
            return Err("min_terms must be in 2..=max_terms and max_terms at most 200".into());
        }
        if c.max_digits == 0 || c.max_digits > 100 {
            return Err("max_digits must be in 1..=100".into());
        }
        if !(0.0..=1.0).contains(&c.subtract_probability) {
            return Err("subtract_probability must be in [0, 1]".into());
        }
        Ok(ChainedSums { config: c })
    }

    fn generate(&self, rng: &mut TaskRng) -> Result<Problem, String> {
        let c = &self.config;
        let n = rng.range_usize(c.min_terms, c.max_terms);
        let mut expr = String::new();
        let mut thinking = String::from("Keep a running total, one term at a time.\n");
        let mut total = BigInt::from(0);
        for i in 0..n {
            let digits = rng.range_usize(c.max_digits.div_ceil(2), c.max_digits);
            let t = rng.digits(digits);
            let v: BigInt = t.parse().map_err(|_| "bad term")?;
            if i == 0 {
                expr.push_str(&t);
                total = v;
                let _ = writeln!(thinking, "Start with {t}.");
                continue;
            }
            let before = total.clone();
            if rng.chance(c.subtract_probability) {
                total -= &v;
                let _ = write!(expr, " - {t}");
                let _ = writeln!(thinking, "{before} - {t} = {total}");
            } else {
                total += &v;
                let _ = write!(expr, " + {t}");
                let _ = writeln!(thinking, "{before} + {t} = {total}");
            }
        }
        let _ = write!(thinking, "The final total is {total}.");
        Ok(Problem {
            question: render(TEMPLATE, &[("expr", &expr)]),
            answer: json!({ "value": total.to_string() }),
            thinking,
            final_answer: total.to_string(),
        })
    }

    fn verify(&self, gold: &serde_json::Value, answer: &str) -> Result<Verdict, VerifyError> {
        grade_integer(gold, answer)
    }
}
