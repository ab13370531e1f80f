//! `modular_arithmetic`: residues of big integers, modular sums and products, modular inverses
//! (extended Euclidean algorithm, back-substitution shown) and linear congruences a·x ≡ b.

use crate::env::{Domain, Family, Problem};
use crate::kit::level;
use crate::kit::render;
use crate::math::grade::grade_integer;
use crate::rng::TaskRng;
use num_bigint::BigInt;
use num_integer::Integer;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::fmt::Write;
use verigym_verifiers::{Verdict, VerifyError};

const TEMPLATE: &str = crate::template!("modular_arithmetic");

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModularArithmeticConfig {
    /// Moduli are drawn in 2..=max_modulus.
    pub max_modulus: i64,
    /// Digits of the operands of residue, sum and product questions.
    pub max_digits: usize,
    /// Include modular inverses and linear congruences.
    pub inverses: bool,
}

pub struct ModularArithmetic {
    config: ModularArithmeticConfig,
}

/// Extended Euclid on (a, m) with its lines; returns (g, x) with a·x ≡ g (mod m).
fn ext_euclid(t: &mut String, a: i128, m: i128) -> (i128, i128) {
    let (mut r0, mut r1) = (m, a);
    let (mut s0, mut s1) = (0i128, 1i128);
    let _ = writeln!(
        t,
        "Extended Euclid on ({m}, {a}), tracking the coefficient of {a}:"
    );
    while r1 != 0 {
        let q = r0 / r1;
        let r2 = r0 - q * r1;
        let s2 = s0 - q * s1;
        let _ = writeln!(
            t,
            "{r0} = {q} × {r1} + {r2}; coefficient {s0} - {q} × {s1} = {s2}"
        );
        (r0, r1, s0, s1) = (r1, r2, s1, s2);
    }
    (r0, s0)
}

impl Family for ModularArithmetic {
    type Config = ModularArithmeticConfig;
    const NAME: &'static str = "modular_arithmetic";
    const DOMAIN: Domain = Domain::Math;
    const DESCRIPTION: &'static str =
        "Residues, modular sums and products, modular inverses and linear congruences";

    fn config_for(d: u8) -> ModularArithmeticConfig {
        ModularArithmeticConfig {
            max_modulus: level(
                d,
                [
                    12,
                    30,
                    1000,
                    2000,
                    5000,
                    10_000,
                    100_000,
                    1_000_000,
                    10_000_000,
                    1_000_000_000,
                ],
            ),
            max_digits: level(d, [2, 3, 4, 5, 6, 8, 10, 14, 20, 30]),
            inverses: d >= 3,
        }
    }

    fn new(c: ModularArithmeticConfig) -> Result<Self, String> {
        if !(3..=1_000_000_000_000).contains(&c.max_modulus) {
            return Err("max_modulus must be in 3..=10^12".into());
        }
        if !(1..=200).contains(&c.max_digits) {
            return Err("max_digits must be in 1..=200".into());
        }
        Ok(ModularArithmetic { config: c })
    }

    fn generate(&self, rng: &mut TaskRng) -> Result<Problem, String> {
        let c = &self.config;
        let m = rng.range(2.max(c.max_modulus / 10), c.max_modulus);
        let mb = BigInt::from(m);
        let mut t = String::new();
        let kinds = if c.inverses { 5 } else { 3 };
        let big = |rng: &mut TaskRng| -> BigInt {
            let d = rng.range_usize((c.max_digits / 2).max(1), c.max_digits);
            rng.digits(d).parse().unwrap_or_default()
        };
        let (question, value): (String, BigInt) = match rng.below(kinds) {
            0 => {
                let a = big(rng);
                let (q, r) = a.div_rem(&mb);
                let _ = writeln!(t, "Divide: {a} = {q} × {m} + {r}.");
                (format!("What is {a} mod {m}?"), r)
            }
            1 => {
                let (a, b) = (big(rng), big(rng));
                let (ra, rb) = (a.mod_floor(&mb), b.mod_floor(&mb));
                let s = (&ra + &rb).mod_floor(&mb);
                let _ = writeln!(
                    t,
                    "Reduce each term first: {a} mod {m} = {ra} and {b} mod {m} = {rb}."
                );
                let _ = writeln!(
                    t,
                    "{ra} + {rb} = {}, and {} mod {m} = {s}.",
                    &ra + &rb,
                    &ra + &rb
                );
                (format!("What is ({a} + {b}) mod {m}?"), s)
            }
            2 => {
                let (a, b) = (big(rng), big(rng));
                let (ra, rb) = (a.mod_floor(&mb), b.mod_floor(&mb));
                let p = &ra * &rb;
                let s = p.mod_floor(&mb);
                let _ = writeln!(
                    t,
                    "Reduce each factor first: {a} mod {m} = {ra} and {b} mod {m} = {rb}."
                );
                let (q, _) = p.div_rem(&mb);
                let _ = writeln!(t, "{ra} × {rb} = {p} = {q} × {m} + {s}.");
                (format!("What is ({a} × {b}) mod {m}?"), s)
            }
            k => {
                // An invertible a modulo m.
                let a = loop {
                    let a = rng.range(2, m - 1);
                    if a.gcd(&m) == 1 {
                        break a;
                    }
                    if m <= 3 {
                        break 1;
                    }
                };
                let (_, x) = ext_euclid(&mut t, i128::from(a), i128::from(m));
                let inv = x.rem_euclid(i128::from(m));
                let _ = writeln!(
                    t,
                    "So {a} × {x} ≡ 1 (mod {m}), and the inverse is {x} mod {m} = {inv}."
                );
                if k == 3 {
                    (format!("What is the inverse of {a} modulo {m}, that is the x in 0..{m} with {a}·x ≡ 1 (mod {m})?"), BigInt::from(inv))
                } else {
                    let b = rng.range(1, m - 1);
                    let x = (i128::from(b) * inv).rem_euclid(i128::from(m));
                    let _ = writeln!(t, "Multiply both sides of {a}·x ≡ {b} by {inv}: x ≡ {b} × {inv} = {} ≡ {x} (mod {m}).", i128::from(b) * inv);
                    (
                        format!("Solve {a}·x ≡ {b} (mod {m}) for x in 0..{m}."),
                        BigInt::from(x),
                    )
                }
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
