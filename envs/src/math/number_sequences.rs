//! `number_sequences`: the next term of arithmetic, geometric, polynomial (found with a
//! table of finite differences) and Fibonacci-like sequences, worked from the visible terms.

use crate::env::{Domain, Family, Problem};
use crate::kit::level;
use crate::kit::render;
use crate::math::grade::grade_integer;
use crate::rng::TaskRng;
use num_bigint::BigInt;
use num_traits::Zero;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::fmt::Write;
use verigym_verifiers::{Verdict, VerifyError};

const TEMPLATE: &str = crate::template!("number_sequences");

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NumberSequencesConfig {
    /// Largest polynomial degree (1 is arithmetic).
    pub max_degree: usize,
    /// Include geometric sequences.
    pub geometric: bool,
    /// Include Fibonacci-like sequences (each term the sum of the two before).
    pub recurrence: bool,
    /// Coefficients / first terms in -max_value..=max_value.
    pub max_value: i64,
    /// Visible terms.
    pub terms: usize,
}

pub struct NumberSequences {
    config: NumberSequencesConfig,
}

fn join(v: &[BigInt]) -> String {
    v.iter()
        .map(BigInt::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

impl Family for NumberSequences {
    type Config = NumberSequencesConfig;
    const NAME: &'static str = "number_sequences";
    const DOMAIN: Domain = Domain::Math;
    const DESCRIPTION: &'static str =
        "Next term of arithmetic, geometric, polynomial and Fibonacci-like sequences";

    fn config_for(d: u8) -> NumberSequencesConfig {
        NumberSequencesConfig {
            max_degree: level(d, [1, 1, 2, 2, 2, 3, 3, 3, 4, 4]),
            geometric: d >= 2,
            recurrence: d >= 4,
            max_value: level(d, [10, 20, 100, 100, 150, 200, 300, 400, 500, 1000]),
            terms: level(d, [5, 5, 6, 6, 6, 7, 7, 7, 8, 8]),
        }
    }

    fn new(c: NumberSequencesConfig) -> Result<Self, String> {
        if !(1..=6).contains(&c.max_degree) {
            return Err("max_degree must be in 1..=6".into());
        }
        if c.terms < c.max_degree + 2 || c.terms > 20 {
            return Err("terms must be in max_degree+2..=20".into());
        }
        if !(2..=1_000_000).contains(&c.max_value) {
            return Err("max_value must be in 2..=1000000".into());
        }
        Ok(NumberSequences { config: c })
    }

    fn generate(&self, rng: &mut TaskRng) -> Result<Problem, String> {
        let c = &self.config;
        let n = c.terms;
        let m = c.max_value;
        // Polynomial sequences once per degree, so each kind's share stays large enough.
        let mut kinds = vec![0u8; c.max_degree];
        if c.geometric {
            kinds.push(1);
        }
        if c.recurrence {
            kinds.push(2);
        }
        let kind = *rng.choose(&kinds).unwrap_or(&0);
        let mut t = String::new();
        let (terms, next): (Vec<BigInt>, BigInt) = match kind {
            1 => {
                let a = BigInt::from(
                    rng.range(1, m.saturating_mul(100)) * if rng.chance(0.3) { -1 } else { 1 },
                );
                let r = *rng
                    .choose(&[-5i64, -4, -3, -2, 2, 3, 4, 5, 6])
                    .unwrap_or(&2);
                let all: Vec<BigInt> = (0..=n)
                    .map(|i| &a * BigInt::from(r).pow(i as u32))
                    .collect();
                let _ = writeln!(
                    t,
                    "Ratios of consecutive terms: {} ÷ {} = {r}, and the same for every pair.",
                    all[1], all[0]
                );
                let _ = writeln!(
                    t,
                    "It is geometric with ratio {r}: next = {} × {r} = {}.",
                    all[n - 1],
                    all[n]
                );
                (all[..n].to_vec(), all[n].clone())
            }
            2 => {
                let (a, b) = (rng.range(-m, m), rng.range(1, m));
                let mut all = vec![BigInt::from(a), BigInt::from(b)];
                while all.len() <= n {
                    let k = all.len();
                    let v = &all[k - 1] + &all[k - 2];
                    all.push(v);
                }
                let _ = writeln!(
                    t,
                    "Each term is the sum of the two before it: {} + {} = {}, {} + {} = {}.",
                    all[0], all[1], all[2], all[1], all[2], all[3]
                );
                let _ = writeln!(t, "Next = {} + {} = {}.", all[n - 2], all[n - 1], all[n]);
                (all[..n].to_vec(), all[n].clone())
            }
            _ => {
                let deg = rng.range_usize(1, c.max_degree);
                let mut coefs: Vec<i64> = (0..=deg).map(|_| rng.range(-m, m)).collect();
                coefs[0] = rng.range(-m.saturating_mul(10), m.saturating_mul(10));
                let small = (m / 5).max(2);
                coefs[deg] = loop {
                    let v = rng.range(-small, small);
                    if v != 0 {
                        break v;
                    }
                };
                let all: Vec<BigInt> = (0..=n as i64)
                    .map(|i| {
                        coefs
                            .iter()
                            .rev()
                            .fold(BigInt::zero(), |acc, &c| acc * i + c)
                    })
                    .collect();
                let shown = all[..n].to_vec();
                // Table of differences until it is constant, then extend each row by one.
                let mut rows = vec![shown.clone()];
                while rows
                    .last()
                    .is_some_and(|r| r.len() > 1 && !r.windows(2).all(|w| w[0] == w[1]))
                {
                    let last = rows.last().cloned().unwrap_or_default();
                    let diff: Vec<BigInt> = last.windows(2).map(|w| &w[1] - &w[0]).collect();
                    let _ = writeln!(t, "Differences (level {}): {}", rows.len(), join(&diff));
                    rows.push(diff);
                }
                let _ = writeln!(
                    t,
                    "Level {} is constant, so the sequence is a polynomial of degree {}.",
                    rows.len() - 1,
                    rows.len() - 1
                );
                let mut carry = rows
                    .last()
                    .and_then(|r| r.last().cloned())
                    .unwrap_or_default();
                for k in (0..rows.len() - 1).rev() {
                    let last = rows[k].last().cloned().unwrap_or_default();
                    let v = &last + &carry;
                    let _ = writeln!(t, "Extend level {k}: {last} + {carry} = {v}");
                    carry = v;
                }
                (shown, carry)
            }
        };
        let _ = write!(t, "The next term is {next}.");
        Ok(Problem {
            question: render(TEMPLATE, &[("terms", &join(&terms))]),
            answer: json!({ "value": next.to_string() }),
            thinking: t,
            final_answer: next.to_string(),
        })
    }

    fn verify(&self, gold: &serde_json::Value, answer: &str) -> Result<Verdict, VerifyError> {
        grade_integer(gold, answer)
    }
}
