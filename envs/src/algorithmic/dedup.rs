//! `dedup`: remove duplicates from a list keeping first occurrences in order, traced
//! with a "seen" set as a program would.

use crate::algorithmic::sorting::check_list;
use crate::env::{Domain, Family, Problem};
use crate::kit::render;
use crate::kit::{gold_ints, join_ints, parse_int_list, push_int, reject};
use crate::rng::TaskRng;
use serde::{Deserialize, Serialize};
use serde_json::json;
use verigym_verifiers::{Verdict, VerifyError};

const TEMPLATE: &str = crate::template!("dedup");

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DedupConfig {
    /// List length, drawn uniformly in [min_len, max_len].
    pub min_len: usize,
    pub max_len: usize,
    /// Values are drawn uniformly in [min_value, max_value]; a narrow range repeats more.
    pub min_value: i64,
    pub max_value: i64,
}

pub struct Dedup {
    config: DedupConfig,
}

impl Family for Dedup {
    type Config = DedupConfig;
    const NAME: &'static str = "dedup";
    const DOMAIN: Domain = Domain::Algorithmic;
    const DESCRIPTION: &'static str =
        "Remove duplicates from a list, keeping first occurrences in their order";

    fn config_for(difficulty: u8) -> DedupConfig {
        const MIN: [usize; 10] = [6, 7, 8, 9, 10, 12, 14, 16, 20, 24];
        const MAX: [usize; 10] = [8, 9, 10, 12, 14, 16, 20, 24, 30, 36];
        let d = usize::from(difficulty.clamp(1, 10)) - 1;
        // A few more values than items: repeats in most lists, yet enough distinct values
        // kept that the order matters.
        let hi = (MAX[d] + 2) as i64;
        DedupConfig {
            min_len: MIN[d],
            max_len: MAX[d],
            min_value: if d >= 4 { -hi / 2 } else { 1 },
            max_value: if d >= 4 { hi - hi / 2 } else { hi },
        }
    }

    fn new(config: DedupConfig) -> Result<Self, String> {
        check_list(
            config.min_len,
            config.max_len,
            config.min_value,
            config.max_value,
        )?;
        Ok(Dedup { config })
    }

    fn generate(&self, rng: &mut TaskRng) -> Result<Problem, String> {
        let c = &self.config;
        let n = rng.range_usize(c.min_len, c.max_len);
        let nums: Vec<i64> = (0..n)
            .map(|_| rng.range(c.min_value, c.max_value))
            .collect();
        let mut thinking = String::with_capacity(n * 24 + 80);
        thinking.push_str("Walk the list, keeping a number only the first time it is seen.\n");
        let mut kept: Vec<i64> = Vec::with_capacity(n);
        for v in &nums {
            push_int(&mut thinking, *v);
            if kept.contains(v) {
                thinking.push_str(": seen before, drop\n");
            } else {
                kept.push(*v);
                thinking.push_str(": new, keep\n");
            }
        }
        let answer = join_ints(&kept, ", ");
        thinking.push_str("Kept: ");
        thinking.push_str(&answer);
        Ok(Problem {
            question: render(TEMPLATE, &[("numbers", &join_ints(&nums, ", "))]),
            answer: json!({ "kept": kept }),
            thinking,
            final_answer: answer,
        })
    }

    fn verify(&self, gold: &serde_json::Value, answer: &str) -> Result<Verdict, VerifyError> {
        let gold = gold_ints(gold, "kept")?;
        Ok(match parse_int_list(answer) {
            Some(v) if v == gold => Verdict::correct(join_ints(&v, ", ")),
            Some(_) => reject(answer, "not the deduplicated list"),
            None => reject(answer, "answer is not a list of integers"),
        })
    }
}
