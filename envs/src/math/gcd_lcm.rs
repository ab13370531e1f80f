//! `gcd_lcm`: greatest common divisor and least common multiple of two or three integers,
//! worked with the Euclidean algorithm (one division per line) and lcm(a, b) = a·b / gcd(a, b).

use crate::env::{Domain, Family, Problem};
use crate::kit::level;
use crate::kit::render;
use crate::math::grade::grade_integer;
use crate::rng::TaskRng;
use num_bigint::BigInt;
use num_integer::Integer;
use num_traits::Zero;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::fmt::Write;
use verigym_verifiers::{Verdict, VerifyError};

const TEMPLATE: &str = crate::template!("gcd_lcm");

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GcdLcmConfig {
    /// Digits of each number (drawn in [max_digits/2, max_digits]).
    pub max_digits: usize,
    /// How many numbers: drawn in 2..=max_count.
    pub max_count: usize,
    /// Whether LCM questions are asked (GCD always is).
    pub lcm: bool,
}

pub struct GcdLcm {
    config: GcdLcmConfig,
}

/// Euclid's algorithm with its division lines.
pub fn euclid_steps(t: &mut String, a: &BigInt, b: &BigInt) -> BigInt {
    let (mut x, mut y) = if a >= b {
        (a.clone(), b.clone())
    } else {
        (b.clone(), a.clone())
    };
    while !y.is_zero() {
        let (q, r) = x.div_rem(&y);
        let _ = writeln!(t, "{x} = {q} × {y} + {r}");
        x = y;
        y = r;
    }
    let _ = writeln!(t, "The last non-zero remainder gives gcd({a}, {b}) = {x}.");
    x
}

impl Family for GcdLcm {
    type Config = GcdLcmConfig;
    const NAME: &'static str = "gcd_lcm";
    const DOMAIN: Domain = Domain::Math;
    const DESCRIPTION: &'static str =
        "Greatest common divisor and least common multiple, worked with the Euclidean algorithm";

    fn config_for(d: u8) -> GcdLcmConfig {
        GcdLcmConfig {
            max_digits: level(d, [2, 3, 5, 5, 6, 7, 8, 10, 12, 15]),
            max_count: if d >= 6 { 3 } else { 2 },
            lcm: d >= 2,
        }
    }

    fn new(c: GcdLcmConfig) -> Result<Self, String> {
        if !(2..=60).contains(&c.max_digits) {
            return Err("max_digits must be in 2..=60".into());
        }
        if !(2..=6).contains(&c.max_count) {
            return Err("max_count must be in 2..=6".into());
        }
        Ok(GcdLcm { config: c })
    }

    fn generate(&self, rng: &mut TaskRng) -> Result<Problem, String> {
        let c = &self.config;
        let count = rng.range_usize(2, c.max_count);
        // A shared factor makes the gcd non-trivial most of the time.
        let gdig = rng.range_usize(1, (c.max_digits / 2).max(1));
        let g: BigInt = rng.digits(gdig).parse().map_err(|_| "bad factor")?;
        let mut nums = Vec::with_capacity(count);
        for _ in 0..count {
            let top = c.max_digits.saturating_sub(gdig).max(1);
            let rest = rng.range_usize(top.saturating_sub(1).max(1), top);
            let k: BigInt = rng.digits(rest).parse().map_err(|_| "bad number")?;
            nums.push(&g * k);
        }
        let lcm = c.lcm && rng.chance(0.5);
        let list: Vec<String> = nums.iter().map(BigInt::to_string).collect();
        let what = if lcm {
            "least common multiple"
        } else {
            "greatest common divisor"
        };
        let question = format!("What is the {what} of {}?", join_and(&list));
        let mut t = String::new();
        let mut acc = nums.first().cloned().unwrap_or_default();
        for n in nums.iter().skip(1) {
            let g = euclid_steps(&mut t, &acc, n);
            if lcm {
                let l = &acc / &g * n;
                let _ = writeln!(t, "lcm({acc}, {n}) = {acc} × {n} / {g} = {l}.");
                acc = l;
            } else {
                acc = g;
            }
        }
        let _ = write!(t, "So the {what} is {acc}.");
        Ok(Problem {
            question: render(TEMPLATE, &[("question", &question)]),
            answer: json!({ "value": acc.to_string() }),
            thinking: t,
            final_answer: acc.to_string(),
        })
    }

    fn verify(&self, gold: &serde_json::Value, answer: &str) -> Result<Verdict, VerifyError> {
        grade_integer(gold, answer)
    }
}

/// "a, b and c".
pub fn join_and(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [a] => a.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}
