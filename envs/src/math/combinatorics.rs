//! `combinatorics`: factorials, binomial coefficients, permutations and arrangements of
//! letters with repeats, as counting questions in words; big integers, with the products and
//! exact divisions worked one factor at a time.

use crate::env::{Domain, Family, Problem};
use crate::kit::level;
use crate::kit::render;
use crate::math::grade::grade_integer;
use crate::rng::TaskRng;
use num_bigint::BigInt;
use num_traits::One;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::fmt::Write;
use verigym_verifiers::{Verdict, VerifyError};

const TEMPLATE: &str = crate::template!("combinatorics");

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CombinatoricsConfig {
    /// n is drawn in [max_n/2, max_n] (at least 3).
    pub max_n: u64,
}

pub struct Combinatorics {
    config: CombinatoricsConfig,
}

const PEOPLE: &[&str] = &[
    "students",
    "players",
    "volunteers",
    "employees",
    "club members",
    "candidates",
    "runners",
    "musicians",
];
const THINGS: &[&str] = &[
    "books",
    "paintings",
    "flavours",
    "cards",
    "songs",
    "toppings",
    "stamps",
    "plants",
];

fn factorial_steps(n: u64, t: &mut String) -> BigInt {
    let mut v = BigInt::one();
    for i in 2..=n {
        let prev = v.clone();
        v *= i;
        let _ = writeln!(t, "{prev} × {i} = {v}");
    }
    v
}

/// C(n, k) built up as C × (next factor) ÷ i, every division exact.
fn binomial_steps(n: u64, k: u64, t: &mut String) -> BigInt {
    let kk = k.min(n - k);
    let _ = writeln!(
        t,
        "C({n}, {k}) = C({n}, {kk}); build it up as C × (next factor) ÷ i:"
    );
    let mut v = BigInt::one();
    for i in 1..=kk {
        let f = n - kk + i;
        let next = &v * f / i;
        let _ = writeln!(t, "{v} × {f} ÷ {i} = {next}");
        v = next;
    }
    v
}

impl Family for Combinatorics {
    type Config = CombinatoricsConfig;
    const NAME: &'static str = "combinatorics";
    const DOMAIN: Domain = Domain::Math;
    const DESCRIPTION: &'static str =
        "Factorials, binomial coefficients, permutations and word arrangements (big integers)";

    fn config_for(d: u8) -> CombinatoricsConfig {
        CombinatoricsConfig {
            max_n: level(d, [6, 8, 20, 24, 30, 36, 42, 50, 60, 80]),
        }
    }

    fn new(c: CombinatoricsConfig) -> Result<Self, String> {
        if !(4..=500).contains(&c.max_n) {
            return Err("max_n must be in 4..=500".into());
        }
        Ok(Combinatorics { config: c })
    }

    fn generate(&self, rng: &mut TaskRng) -> Result<Problem, String> {
        let c = &self.config;
        let n = rng.range((c.max_n / 2).max(3) as i64, c.max_n as i64) as u64;
        let mut t = String::new();
        let (question, value) = match rng.below(5) {
            0 => {
                // Two groups: choose k1 of n1 and k2 of n2, multiply.
                let n1 = rng.range(3, n as i64) as u64;
                let n2 = rng.range(3, n as i64) as u64;
                let k1 = rng.range(1, (n1 - 1) as i64) as u64;
                let k2 = rng.range(1, (n2 - 1) as i64) as u64;
                let (g1, g2) = (
                    rng.choose(PEOPLE).unwrap_or(&"students"),
                    rng.choose(THINGS).unwrap_or(&"books"),
                );
                let _ = writeln!(
                    t,
                    "The two choices are independent, so multiply C({n1}, {k1}) by C({n2}, {k2})."
                );
                let a = binomial_steps(n1, k1, &mut t);
                let b = binomial_steps(n2, k2, &mut t);
                let v = &a * &b;
                let _ = writeln!(t, "{a} × {b} = {v}");
                (format!("A team picks {k1} of {n1} {g1} and, separately, {k2} of {n2} {g2}. In how many ways can both choices be made?"), v)
            }
            1 => {
                let k = rng.range(2, (n - 1) as i64) as u64;
                let who = rng.choose(PEOPLE).unwrap_or(&"students");
                let _ = writeln!(
                    t,
                    "Choosing {k} of {n} where order does not matter is C({n}, {k})."
                );
                let v = binomial_steps(n, k, &mut t);
                (format!("A committee of {k} is to be chosen from {n} {who}. How many different committees are possible?"), v)
            }
            2 => {
                let k = rng.range(2, n.min(12) as i64) as u64;
                let who = rng.choose(PEOPLE).unwrap_or(&"runners");
                let _ = writeln!(
                    t,
                    "Ordered choices of {k} from {n}: P({n}, {k}) = {n} × {} × ... × {}.",
                    n - 1,
                    n - k + 1
                );
                let mut v = BigInt::from(n);
                for f in (n - k + 1..n).rev() {
                    let prev = v.clone();
                    v *= f;
                    let _ = writeln!(t, "{prev} × {f} = {v}");
                }
                (format!("From {n} {who}, a first, second, ... and {}-th place are awarded ({k} different places, one person each). In how many ways can the places be awarded?", k), v)
            }
            _ => {
                let len = (n as usize).clamp(5, 24);
                let alphabet = rng.range_usize(2, 6.min(len - 1));
                let letters: Vec<char> = (0..len)
                    .map(|_| char::from(b'A' + rng.below(alphabet as u64) as u8))
                    .collect();
                let word: String = letters.iter().collect();
                let mut counts = std::collections::BTreeMap::new();
                for ch in &letters {
                    *counts.entry(*ch).or_insert(0u64) += 1;
                }
                let desc: Vec<String> = counts.iter().map(|(ch, k)| format!("{ch}: {k}")).collect();
                let _ = writeln!(t, "{len} letters with repeats ({}), so the count is {len}! divided by the factorial of each letter's count.", desc.join(", "));
                let _ = writeln!(t, "{len}! step by step:");
                let mut v = factorial_steps(len as u64, &mut t);
                for (ch, k) in &counts {
                    if *k > 1 {
                        let mut f = BigInt::one();
                        for i in 2..=*k {
                            f *= i;
                        }
                        let next = &v / &f;
                        let _ = writeln!(
                            t,
                            "Divide by {k}! = {f} for the letter {ch}: {v} ÷ {f} = {next}"
                        );
                        v = next;
                    }
                }
                (format!("How many distinct arrangements are there of the letters of the string {word}?"), v)
            }
        };
        let _ = write!(t, "The answer is {value}.");
        Ok(Problem {
            question: render(TEMPLATE, &[("question", &question)]),
            answer: json!({ "value": value.to_string() }),
            thinking: t,
            final_answer: value.to_string(),
        })
    }

    fn verify(&self, gold: &serde_json::Value, answer: &str) -> Result<Verdict, VerifyError> {
        grade_integer(gold, answer)
    }
}
