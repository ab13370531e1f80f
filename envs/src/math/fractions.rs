//! `fractions`: reducing, adding, subtracting, multiplying and dividing fractions, worked with
//! least common denominators and greatest common divisors; the answer must be in lowest terms.
//!
//! Lowest terms is enforced (not just value equality): otherwise echoing `6/8` back for
//! "reduce 6/8" would earn the reward.

use crate::env::{Domain, Family, Problem};
use crate::kit::render;
use crate::kit::{excerpt, gold_str, level, unwrap_answer};
use crate::math::grade::{parse_rational, rational_str};
use crate::rng::TaskRng;
use num_bigint::BigInt;
use num_integer::Integer;
use num_rational::BigRational;
use num_traits::{One, Signed, Zero};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::fmt::Write;
use verigym_verifiers::{Verdict, VerifyError};

const TEMPLATE: &str = crate::template!("fractions");
const REDUCE_TEMPLATE: &str = crate::template!("fractions_reduce");

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FractionOp {
    Reduce,
    Add,
    Sub,
    Mul,
    Div,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FractionsConfig {
    pub ops: Vec<FractionOp>,
    /// Denominators are drawn in 2..=max_denominator.
    pub max_denominator: i64,
    /// Fractions in a chain (for the four operations), drawn in [2, max_terms].
    pub max_terms: usize,
}

pub struct Fractions {
    config: FractionsConfig,
}

fn q(n: i64, d: i64) -> BigRational {
    BigRational::new(BigInt::from(n), BigInt::from(d))
}

/// `n/d` as written (not reduced), negative numerators in parentheses when not first.
fn show(n: i64, d: i64) -> String {
    format!("{n}/{d}")
}

fn show_q(r: &BigRational) -> String {
    rational_str(r)
}

impl Family for Fractions {
    type Config = FractionsConfig;
    const NAME: &'static str = "fractions";
    const DOMAIN: Domain = Domain::Math;
    const DESCRIPTION: &'static str =
        "Reduce, add, subtract, multiply and divide fractions; answers in lowest terms";

    fn config_for(d: u8) -> FractionsConfig {
        use FractionOp::*;
        FractionsConfig {
            ops: match d {
                1 => vec![Reduce, Add],
                2 => vec![Reduce, Add, Sub],
                3 | 4 => vec![Reduce, Add, Sub, Mul, Div],
                _ => vec![Add, Sub, Mul, Div],
            },
            max_denominator: level(d, [6, 9, 15, 15, 20, 25, 30, 40, 60, 100]),
            max_terms: level(d, [2, 2, 2, 2, 3, 3, 3, 4, 4, 5]),
        }
    }

    fn new(c: FractionsConfig) -> Result<Self, String> {
        if c.ops.is_empty() {
            return Err("ops: at least one operation is needed".into());
        }
        if !(2..=1_000_000).contains(&c.max_denominator) {
            return Err("max_denominator must be in 2..=1000000".into());
        }
        if !(2..=20).contains(&c.max_terms) {
            return Err("max_terms must be in 2..=20".into());
        }
        Ok(Fractions { config: c })
    }

    fn generate(&self, rng: &mut TaskRng) -> Result<Problem, String> {
        let c = &self.config;
        let op = *rng.choose(&c.ops).ok_or("no operations")?;
        let mut t = String::new();
        let (question, value) = if op == FractionOp::Reduce {
            let g = rng.range(2, c.max_denominator);
            let d = rng.range(2, c.max_denominator.saturating_mul(4));
            let n = rng.range(1, c.max_denominator.saturating_mul(4));
            let (n, d) = (n * g, d * g);
            let v = q(n, d);
            let gcd = n.gcd(&d);
            let _ = writeln!(t, "Find the greatest common divisor of {n} and {d}.");
            euclid(&mut t, n, d);
            let _ = write!(
                t,
                "Divide both by {gcd}: {n} ÷ {gcd} = {}, {d} ÷ {gcd} = {}.",
                n / gcd,
                d / gcd
            );
            (render(REDUCE_TEMPLATE, &[("expr", &show(n, d))]), v)
        } else {
            let terms = rng.range_usize(2, c.max_terms);
            let mut fr = Vec::with_capacity(terms);
            for _ in 0..terms {
                let d = rng.range(2, c.max_denominator);
                let n = rng.range(1, c.max_denominator.saturating_mul(2));
                fr.push((n, d));
            }
            let mut ops = Vec::with_capacity(terms);
            for _ in 1..terms {
                // A chain mixes + with - or * with /, evaluated left to right.
                let o = match op {
                    FractionOp::Add | FractionOp::Sub => *rng
                        .choose(&[FractionOp::Add, FractionOp::Sub])
                        .unwrap_or(&op),
                    _ => *rng
                        .choose(&[FractionOp::Mul, FractionOp::Div])
                        .unwrap_or(&op),
                };
                ops.push(if terms == 2 { op } else { o });
            }
            let mut expr = show(fr[0].0, fr[0].1);
            let mut acc = q(fr[0].0, fr[0].1);
            let _ = writeln!(t, "Work left to right.");
            for (o, (n, d)) in ops.iter().zip(fr.iter().skip(1)) {
                let sym = match o {
                    FractionOp::Add => "+",
                    FractionOp::Sub => "-",
                    FractionOp::Mul => "×",
                    _ => "÷",
                };
                let _ = write!(expr, " {sym} {}", show(*n, *d));
                acc = step(&mut t, &acc, *o, *n, *d);
            }
            (render(TEMPLATE, &[("expr", &expr)]), acc)
        };
        let answer = show_q(&value);
        let _ = write!(t, "\nIn lowest terms the result is {answer}.");
        Ok(Problem {
            question,
            answer: json!({ "value": answer }),
            thinking: t,
            final_answer: answer,
        })
    }

    fn verify(&self, gold: &serde_json::Value, answer: &str) -> Result<Verdict, VerifyError> {
        let text = gold_str(gold, "value")?;
        let g = parse_rational(text)
            .ok_or_else(|| VerifyError::InvalidGold(format!("{text:?} is not a fraction")))?;
        Ok(match parse_rational(answer) {
            Some(v) if v != g => Verdict::wrong(
                Some(rational_str(&v)),
                format!("{} is not {}", rational_str(&v), rational_str(&g)),
            ),
            Some(_) if !in_lowest_terms(answer) => Verdict::wrong(
                Some(excerpt(answer)),
                format!("{} is not in lowest terms", excerpt(answer)),
            ),
            Some(v) => Verdict::correct(rational_str(&v)),
            None => Verdict::wrong(Some(excerpt(answer)), "answer is not a fraction"),
        })
    }
}

/// Whether the written fraction is in lowest terms: an integer, or `p/q` (plain or
/// `\frac`) with gcd(p, q) = 1 and q > 1. Decimals are not fractions in lowest terms.
pub fn in_lowest_terms(answer: &str) -> bool {
    let s = unwrap_answer(answer);
    let s = s.strip_prefix('-').unwrap_or(s).trim();
    let (n, d) = if let Some(rest) = s
        .strip_prefix("\\frac")
        .or_else(|| s.strip_prefix("\\dfrac"))
    {
        match crate::math::grade::braced(rest.trim_start())
            .and_then(|(n, r)| crate::math::grade::braced(r.trim_start()).map(|(d, _)| (n, d)))
        {
            Some(x) => x,
            None => return false,
        }
    } else if let Some((n, d)) = s.split_once('/') {
        (n, d)
    } else {
        return verigym_verifiers::number::parse_integer(s).is_some();
    };
    let (Some(n), Some(d)) = (
        verigym_verifiers::number::parse_integer(n),
        verigym_verifiers::number::parse_integer(d),
    ) else {
        return false;
    };
    d > BigInt::one() && n.gcd(&d).is_one() && !n.is_negative()
}

fn euclid(t: &mut String, a: i64, b: i64) {
    let (mut x, mut y) = (a.max(b), a.min(b));
    while y != 0 {
        let _ = writeln!(t, "{x} = {} × {y} + {}", x / y, x % y);
        (x, y) = (y, x % y);
    }
    let _ = writeln!(t, "So gcd({a}, {b}) = {x}.");
}

fn step(t: &mut String, acc: &BigRational, op: FractionOp, n: i64, d: i64) -> BigRational {
    let rhs = q(n, d);
    let (an, ad) = (acc.numer().clone(), acc.denom().clone());
    let a_text = show_q(acc);
    let (bn, bd) = (BigInt::from(n), BigInt::from(d));
    let result = match op {
        FractionOp::Add | FractionOp::Sub => {
            let l = ad.lcm(&bd);
            let (fa, fb) = (&l / &ad, &l / &bd);
            let (na, nb) = (&an * &fa, &bn * &fb);
            let (sym, num) = if op == FractionOp::Add {
                ("+", &na + &nb)
            } else {
                ("-", &na - &nb)
            };
            let _ = writeln!(
                t,
                "{a_text} {sym} {n}/{d}: the least common denominator of {ad} and {d} is {l}; {a_text} = {na}/{l} and {n}/{d} = {nb}/{l}; {na} {sym} {nb} = {num}, giving {num}/{l}."
            );
            BigRational::new(num, l)
        }
        FractionOp::Mul => {
            let (num, den) = (&an * &bn, &ad * &bd);
            let _ = writeln!(
                t,
                "{a_text} × {n}/{d}: multiply numerators and denominators: ({an} × {n})/({ad} × {d}) = {num}/{den}."
            );
            BigRational::new(num, den)
        }
        _ => {
            let (num, den) = (&an * &bd, &ad * &bn);
            let _ = writeln!(
                t,
                "{a_text} ÷ {n}/{d}: multiply by the reciprocal {d}/{n}: ({an} × {d})/({ad} × {n}) = {num}/{den}."
            );
            BigRational::new(num, den)
        }
    };
    let raw = match op {
        FractionOp::Add => acc + &rhs,
        FractionOp::Sub => acc - &rhs,
        FractionOp::Mul => acc * &rhs,
        _ => {
            if rhs.is_zero() {
                acc.clone()
            } else {
                acc / &rhs
            }
        }
    };
    let _ = writeln!(t, "Reduced, that is {}.", show_q(&raw));
    debug_assert_eq!(raw, result);
    raw
}
