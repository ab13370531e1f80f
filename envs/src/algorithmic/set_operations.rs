//! `set_operations`: union, intersection, difference and symmetric difference of two
//! integer sets. Any order of the result is accepted; duplicates are not.

use crate::algorithmic::sorting::check_list;
use crate::env::{Domain, Family, Problem};
use crate::kit::render;
use crate::kit::{gold_ints, is_empty_marker, join_ints, parse_int_list, push_int, reject};
use crate::rng::TaskRng;
use serde::{Deserialize, Serialize};
use serde_json::json;
use verigym_verifiers::{Verdict, VerifyError};

const TEMPLATE: &str = crate::template!("set_operations");

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SetOp {
    Union,
    Intersection,
    Difference,
    SymmetricDifference,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetOperationsConfig {
    /// Size of each set, drawn uniformly in [min_len, max_len].
    pub min_len: usize,
    pub max_len: usize,
    /// Elements are drawn from [min_value, max_value] (must hold 2 * max_len values).
    pub min_value: i64,
    pub max_value: i64,
    /// Operations to draw from, uniformly.
    pub ops: Vec<SetOp>,
}

pub struct SetOperations {
    config: SetOperationsConfig,
}

/// `n` distinct values from [lo, hi], by rejection (the range holds at least 2n values).
fn distinct(rng: &mut TaskRng, n: usize, lo: i64, hi: i64) -> Vec<i64> {
    let mut v = Vec::with_capacity(n);
    while v.len() < n {
        let x = rng.range(lo, hi);
        if !v.contains(&x) {
            v.push(x);
        }
    }
    v
}

impl Family for SetOperations {
    type Config = SetOperationsConfig;
    const NAME: &'static str = "set_operations";
    const DOMAIN: Domain = Domain::Algorithmic;
    const DESCRIPTION: &'static str =
        "Union, intersection, difference or symmetric difference of two sets (any order)";

    fn config_for(difficulty: u8) -> SetOperationsConfig {
        const MIN: [usize; 10] = [3, 4, 4, 5, 6, 7, 8, 10, 12, 14];
        const MAX: [usize; 10] = [4, 5, 6, 7, 8, 10, 12, 14, 16, 20];
        let d = usize::from(difficulty.clamp(1, 10)) - 1;
        let hi = (MAX[d] * 2) as i64;
        let mut ops = vec![SetOp::Union, SetOp::Intersection, SetOp::Difference];
        if d >= 3 {
            ops.push(SetOp::SymmetricDifference);
        }
        SetOperationsConfig {
            min_len: MIN[d],
            max_len: MAX[d],
            min_value: if d >= 5 { -hi } else { 1 },
            max_value: hi,
            ops,
        }
    }

    fn new(config: SetOperationsConfig) -> Result<Self, String> {
        check_list(
            config.min_len,
            config.max_len,
            config.min_value,
            config.max_value,
        )?;
        if ((config.max_value - config.min_value + 1) as u64) < 2 * config.max_len as u64 {
            return Err("min_value..=max_value must hold at least 2 * max_len values".into());
        }
        if config.ops.is_empty() {
            return Err("ops: at least one operation is needed".into());
        }
        Ok(SetOperations { config })
    }

    fn generate(&self, rng: &mut TaskRng) -> Result<Problem, String> {
        let c = &self.config;
        let (la, lb) = (rng_len(rng, c), rng_len(rng, c));
        let a = distinct(rng, la, c.min_value, c.max_value);
        let b = distinct(rng, lb, c.min_value, c.max_value);
        let op = *rng.choose(&c.ops).ok_or("no operations configured")?;
        let mut thinking = String::with_capacity((a.len() + b.len()) * 24 + 100);
        let mut out = Vec::new();
        let keep_a = |in_b: bool| match op {
            SetOp::Union => true,
            SetOp::Intersection => in_b,
            SetOp::Difference | SetOp::SymmetricDifference => !in_b,
        };
        thinking.push_str("Go through A, checking membership in B:\n");
        for x in &a {
            let in_b = b.contains(x);
            push_int(&mut thinking, *x);
            thinking.push_str(if in_b { " is in B" } else { " is not in B" });
            if keep_a(in_b) {
                out.push(*x);
                thinking.push_str(", keep\n");
            } else {
                thinking.push_str(", skip\n");
            }
        }
        if matches!(op, SetOp::Union | SetOp::SymmetricDifference) {
            thinking.push_str("Then add the elements of B that are not in A:\n");
            for x in &b {
                push_int(&mut thinking, *x);
                if a.contains(x) {
                    thinking.push_str(" is in A, already handled\n");
                } else {
                    out.push(*x);
                    thinking.push_str(" is not in A, keep\n");
                }
            }
        }
        let expr = match op {
            SetOp::Union => "the union A ∪ B",
            SetOp::Intersection => "the intersection A ∩ B",
            SetOp::Difference => "the difference A \\ B (elements of A that are not in B)",
            SetOp::SymmetricDifference => {
                "the symmetric difference A △ B (elements in exactly one of A and B)"
            }
        };
        let final_answer = if out.is_empty() {
            thinking.push_str("Nothing is kept: the result is empty.");
            "none".to_string()
        } else {
            let s = join_ints(&out, ", ");
            thinking.push_str("Result: ");
            thinking.push_str(&s);
            s
        };
        Ok(Problem {
            question: render(
                TEMPLATE,
                &[
                    ("a", &format!("{{{}}}", join_ints(&a, ", "))),
                    ("b", &format!("{{{}}}", join_ints(&b, ", "))),
                    ("expr", expr),
                ],
            ),
            answer: json!({ "set": out }),
            thinking,
            final_answer,
        })
    }

    fn verify(&self, gold: &serde_json::Value, answer: &str) -> Result<Verdict, VerifyError> {
        let mut gold = gold_ints(gold, "set")?;
        gold.sort_unstable();
        let mut got = if is_empty_marker(answer) {
            Vec::new()
        } else {
            match parse_int_list(answer) {
                Some(v) => v,
                None => return Ok(reject(answer, "answer is not a list of integers")),
            }
        };
        got.sort_unstable();
        if got.windows(2).any(|w| w[0] == w[1]) {
            return Ok(reject(answer, "an element is listed twice"));
        }
        Ok(if got == gold {
            Verdict::correct(if got.is_empty() {
                "none".into()
            } else {
                join_ints(&got, ", ")
            })
        } else {
            reject(answer, "not the resulting set")
        })
    }
}

fn rng_len(rng: &mut TaskRng, c: &SetOperationsConfig) -> usize {
    rng.range_usize(c.min_len, c.max_len)
}
