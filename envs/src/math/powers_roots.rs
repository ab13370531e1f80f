//! `powers_roots`: integer powers (big integers, by repeated multiplication), exact integer
//! n-th roots of perfect powers (by bisection), and simplifying square roots to the form
//! a√b with b square-free (by factoring out squares).
//!
//! A simplified radical must be written in simplest form: `√72` is equal to `6√2` but is not
//! an answer to "simplify √72".

use crate::env::{Domain, Family, Problem};
use crate::kit::render;
use crate::kit::{excerpt, gold_str, level, unwrap_answer};
use crate::math::grade::{grade_integer, MAX_ANSWER_BYTES};
use crate::math::surd::split_square;
use crate::rng::TaskRng;
use num_bigint::BigInt;
use num_traits::One;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::fmt::Write;
use verigym_verifiers::number::parse_integer;
use verigym_verifiers::{Verdict, VerifyError};

const TEMPLATE: &str = crate::template!("powers_roots");

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PowersRootsConfig {
    /// Bases of powers and roots are drawn in 2..=max_base.
    pub max_base: u64,
    /// Exponents are drawn in 2..=max_exponent.
    pub max_exponent: u32,
    /// Square roots to simplify are of numbers up to max_radicand.
    pub max_radicand: u64,
}

pub struct PowersRoots {
    config: PowersRootsConfig,
}

impl Family for PowersRoots {
    type Config = PowersRootsConfig;
    const NAME: &'static str = "powers_roots";
    const DOMAIN: Domain = Domain::Math;
    const DESCRIPTION: &'static str =
        "Integer powers, exact n-th roots of perfect powers, and simplifying square roots";

    fn config_for(d: u8) -> PowersRootsConfig {
        PowersRootsConfig {
            max_base: level(d, [9, 12, 20, 30, 50, 99, 200, 500, 999, 9999]),
            max_exponent: level(d, [3, 4, 5, 6, 8, 10, 12, 15, 20, 25]),
            max_radicand: level(
                d,
                [
                    50, 100, 300, 1000, 3000, 10_000, 50_000, 200_000, 1_000_000, 10_000_000,
                ],
            ),
        }
    }

    fn new(c: PowersRootsConfig) -> Result<Self, String> {
        if !(3..=1_000_000).contains(&c.max_base) {
            return Err("max_base must be in 3..=1000000".into());
        }
        if !(2..=100).contains(&c.max_exponent) {
            return Err("max_exponent must be in 2..=100".into());
        }
        if !(8..=1_000_000_000_000).contains(&c.max_radicand) {
            return Err("max_radicand must be in 8..=10^12".into());
        }
        Ok(PowersRoots { config: c })
    }

    fn generate(&self, rng: &mut TaskRng) -> Result<Problem, String> {
        let c = &self.config;
        let mut t = String::new();
        match rng.below(3) {
            0 => {
                let b = rng.range(2, c.max_base as i64) as u64;
                let e = rng.range(2, i64::from(c.max_exponent)) as u32;
                let _ = writeln!(t, "Multiply {b} by itself {e} times, one factor at a time.");
                let mut v = BigInt::from(b);
                let _ = writeln!(t, "{b}^1 = {b}");
                for k in 2..=e {
                    let prev = v.clone();
                    v *= b;
                    let _ = writeln!(t, "{b}^{k} = {prev} × {b} = {v}");
                }
                let _ = write!(t, "So {b}^{e} = {v}.");
                Ok(Problem {
                    question: render(
                        TEMPLATE,
                        &[("question", &format!("Compute {b}^{e} exactly."))],
                    ),
                    answer: json!({ "kind": "integer", "value": v.to_string() }),
                    thinking: t,
                    final_answer: v.to_string(),
                })
            }
            1 => {
                let b = rng.range(2, c.max_base as i64) as u64;
                let e = rng.range(2, i64::from(c.max_exponent.min(8))) as u32;
                let n = BigInt::from(b).pow(e);
                let name = match e {
                    2 => "square root".to_string(),
                    3 => "cube root".to_string(),
                    k => format!("{k}th root"),
                };
                let _ = writeln!(t, "Find r with r^{e} = {n} by bisection on r.");
                let (mut lo, mut hi) = (BigInt::one(), BigInt::one());
                while hi.pow(e) <= n {
                    hi *= 2;
                }
                let _ = writeln!(t, "{hi}^{e} = {} > {n}, so 1 <= r < {hi}.", hi.pow(e));
                while &hi - &lo > BigInt::one() {
                    let mid: BigInt = (&lo + &hi) / 2;
                    let p = mid.pow(e);
                    if p <= n {
                        let _ = writeln!(t, "{mid}^{e} = {p} <= {n}, so r >= {mid}.");
                        lo = mid;
                    } else {
                        let _ = writeln!(t, "{mid}^{e} = {p} > {n}, so r < {mid}.");
                        hi = mid;
                    }
                }
                let _ = write!(t, "So r = {lo}: {lo}^{e} = {n} exactly.");
                Ok(Problem {
                    question: render(
                        TEMPLATE,
                        &[(
                            "question",
                            &format!("What is the {name} of {n}? It is a whole number."),
                        )],
                    ),
                    answer: json!({ "kind": "integer", "value": lo.to_string() }),
                    thinking: t,
                    final_answer: lo.to_string(),
                })
            }
            _ => {
                // A number with a square factor > 1 and a non-trivial square-free part.
                let (n, a, b) = loop {
                    let n = rng.range(8, c.max_radicand as i64) as u64;
                    let (a, b) = split_square(n);
                    if a > 1 && b > 1 {
                        break (n, a, b);
                    }
                };
                let _ = writeln!(t, "Factor {n} to find its largest square factor.");
                let mut m = n;
                let mut p = 2u64;
                let mut factors = Vec::new();
                while p * p <= m {
                    while m % p == 0 {
                        factors.push(p);
                        m /= p;
                    }
                    p += 1;
                }
                if m > 1 {
                    factors.push(m);
                }
                let f: Vec<String> = factors.iter().map(u64::to_string).collect();
                let _ = writeln!(t, "{n} = {}", f.join(" × "));
                let _ = writeln!(t, "Pairs of equal primes leave the root: the square factor is {}^2 = {}, and {n} = {} × {b}.", a, a * a, a * a);
                let _ = write!(
                    t,
                    "√{n} = √{} × √{b} = {a}√{b}, and {b} has no square factor left.",
                    a * a
                );
                let ans = format!("{a}√{b}");
                Ok(Problem {
                    question: render(TEMPLATE, &[("question", &format!("Simplify √{n} to the form a√b, where b has no square factor greater than 1."))]),
                    answer: json!({ "kind": "radical", "coefficient": a.to_string(), "radicand": b.to_string() }),
                    thinking: t,
                    final_answer: ans,
                })
            }
        }
    }

    fn verify(&self, gold: &serde_json::Value, answer: &str) -> Result<Verdict, VerifyError> {
        if gold_str(gold, "kind")? == "integer" {
            return grade_integer(gold, answer);
        }
        let a = parse_integer(gold_str(gold, "coefficient")?)
            .ok_or_else(|| VerifyError::InvalidGold("bad coefficient".into()))?;
        let b = parse_integer(gold_str(gold, "radicand")?)
            .ok_or_else(|| VerifyError::InvalidGold("bad radicand".into()))?;
        Ok(match parse_simple_radical(answer) {
            Some((x, y)) if x == a && y == b => Verdict::correct(format!("{x}√{y}")),
            Some((x, y)) => Verdict::wrong(Some(format!("{x}√{y}")), format!("expected {a}√{b}")),
            None => Verdict::wrong(Some(excerpt(answer)), "answer is not of the form a√b"),
        })
    }
}

/// Reads `a√b`, `a*sqrt(b)`, `a sqrt b`, `a\sqrt{b}` into (a, b), both integers as written.
pub fn parse_simple_radical(answer: &str) -> Option<(BigInt, BigInt)> {
    if answer.len() > MAX_ANSWER_BYTES {
        return None;
    }
    let s = unwrap_answer(answer)
        .replace("\\sqrt", "√")
        .replace("sqrt", "√");
    let (coef, rest) = s.split_once('√')?;
    let coef = coef
        .trim()
        .trim_end_matches(['*', '·'])
        .trim_end_matches("\\cdot")
        .trim();
    let coef = if coef.is_empty() {
        BigInt::one()
    } else {
        parse_integer(coef)?
    };
    let rest = rest.trim();
    let inner = rest
        .strip_prefix('{')
        .and_then(|r| r.strip_suffix('}'))
        .or_else(|| rest.strip_prefix('(').and_then(|r| r.strip_suffix(')')))
        .unwrap_or(rest);
    Some((coef, parse_integer(inner)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn radical_forms() {
        let p = |s: &str| parse_simple_radical(s).map(|(a, b)| format!("{a}|{b}"));
        assert_eq!(p("6√2"), Some("6|2".into()));
        assert_eq!(p("6 * sqrt(2)"), Some("6|2".into()));
        assert_eq!(p("$6\\sqrt{2}$"), Some("6|2".into()));
        assert_eq!(p("√72"), Some("1|72".into()));
        assert_eq!(p("6√2 + 1"), None);
        assert_eq!(p("6"), None);
    }
}
