//! `sorting`: sort a list of integers ascending or descending (reasoning-gym
//! `number_sorting`), with a selection-sort trace as the chain of thought.

use crate::env::{Domain, Family, Problem};
use crate::kit::render;
use crate::kit::{gold_ints, join_ints, parse_int_list, push_int, reject};
use crate::rng::TaskRng;
use serde::{Deserialize, Serialize};
use serde_json::json;
use verigym_verifiers::{Verdict, VerifyError};

const TEMPLATE: &str = crate::template!("sorting");

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SortingConfig {
    /// List length, drawn uniformly in [min_len, max_len].
    pub min_len: usize,
    pub max_len: usize,
    /// Values are drawn uniformly in [min_value, max_value].
    pub min_value: i64,
    pub max_value: i64,
    /// Probability of descending order.
    pub descending_probability: f64,
}

/// Value and length bounds shared by the list families.
pub const VALUE_CAP: i64 = 1_000_000_000_000;
pub const LEN_CAP: usize = 1000;

/// Checks a list-length and value range.
pub fn check_list(min_len: usize, max_len: usize, lo: i64, hi: i64) -> Result<(), String> {
    if min_len == 0 || min_len > max_len || max_len > LEN_CAP {
        return Err(format!(
            "min_len must be in 1..=max_len, max_len at most {LEN_CAP}"
        ));
    }
    if lo > hi || lo < -VALUE_CAP || hi > VALUE_CAP {
        return Err(format!(
            "min_value must be <= max_value, both within +-{VALUE_CAP}"
        ));
    }
    Ok(())
}

pub struct Sorting {
    config: SortingConfig,
}

impl Family for Sorting {
    type Config = SortingConfig;
    const NAME: &'static str = "sorting";
    const DOMAIN: Domain = Domain::Algorithmic;
    const DESCRIPTION: &'static str =
        "Sort a list of integers ascending or descending, traced as a selection sort";

    fn config_for(difficulty: u8) -> SortingConfig {
        const MIN: [usize; 10] = [5, 5, 6, 7, 8, 10, 12, 14, 16, 20];
        const MAX: [usize; 10] = [6, 7, 8, 10, 12, 14, 16, 20, 25, 30];
        const HI: [i64; 10] = [20, 50, 99, 200, 999, 999, 9999, 9999, 99999, 999999];
        let d = usize::from(difficulty.clamp(1, 10)) - 1;
        SortingConfig {
            min_len: MIN[d],
            max_len: MAX[d],
            min_value: if d >= 3 { -HI[d] } else { 0 },
            max_value: HI[d],
            descending_probability: if d == 0 { 0.0 } else { 0.5 },
        }
    }

    fn new(config: SortingConfig) -> Result<Self, String> {
        check_list(
            config.min_len,
            config.max_len,
            config.min_value,
            config.max_value,
        )?;
        if !(0.0..=1.0).contains(&config.descending_probability) {
            return Err("descending_probability must be in [0, 1]".into());
        }
        Ok(Sorting { config })
    }

    fn generate(&self, rng: &mut TaskRng) -> Result<Problem, String> {
        let c = &self.config;
        let n = rng.range_usize(c.min_len, c.max_len);
        let nums: Vec<i64> = (0..n)
            .map(|_| rng.range(c.min_value, c.max_value))
            .collect();
        let desc = rng.chance(c.descending_probability);
        let pick = if desc { "largest" } else { "smallest" };
        let mut thinking = String::with_capacity(n * n * 4 + 100);
        thinking.push_str("Selection sort: repeatedly take the ");
        thinking.push_str(pick);
        thinking.push_str(" remaining number.\n");
        let mut rest = nums.clone();
        let mut out = Vec::with_capacity(n);
        while !rest.is_empty() {
            let mut best = 0;
            for (i, v) in rest.iter().enumerate() {
                let better = if desc {
                    *v > rest[best]
                } else {
                    *v < rest[best]
                };
                if better {
                    best = i;
                }
            }
            let v = rest.remove(best);
            out.push(v);
            thinking.push_str("take ");
            push_int(&mut thinking, v);
            if !rest.is_empty() {
                thinking.push_str(", remaining: ");
                thinking.push_str(&join_ints(&rest, ", "));
            }
            thinking.push('\n');
        }
        let answer = join_ints(&out, ", ");
        thinking.push_str("Sorted: ");
        thinking.push_str(&answer);
        Ok(Problem {
            question: render(
                TEMPLATE,
                &[
                    ("order", if desc { "descending" } else { "ascending" }),
                    ("numbers", &join_ints(&nums, ", ")),
                ],
            ),
            answer: json!({ "sorted": out }),
            thinking,
            final_answer: answer,
        })
    }

    fn verify(&self, gold: &serde_json::Value, answer: &str) -> Result<Verdict, VerifyError> {
        let gold = gold_ints(gold, "sorted")?;
        Ok(match parse_int_list(answer) {
            Some(v) if v == gold => Verdict::correct(join_ints(&v, ", ")),
            Some(_) => reject(answer, "not the sorted list"),
            None => reject(answer, "answer is not a list of integers"),
        })
    }
}
