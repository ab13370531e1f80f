//! `long_division`: big-integer division with remainder, worked digit by digit the way long
//! division is taught (bring down a digit, find the quotient digit, subtract).
//!
//! Extends `arithmetic` with the fourth operation; dividends reach 30 digits at level 10.

use crate::env::{Domain, Family, Problem};
use crate::kit::render;
use crate::kit::{excerpt, gold_str, level};
use crate::math::grade::MAX_ANSWER_BYTES;
use crate::rng::TaskRng;
use num_bigint::BigInt;
use num_integer::Integer;
use num_traits::{Signed, Zero};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::fmt::Write;
use verigym_verifiers::number::parse_integer;
use verigym_verifiers::{Verdict, VerifyError};

const TEMPLATE: &str = crate::template!("long_division");
const DIGIT_CAP: usize = 200;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LongDivisionConfig {
    /// Digits of the dividend, drawn uniformly in [min, max].
    pub min_dividend_digits: usize,
    pub max_dividend_digits: usize,
    /// Digits of the divisor, drawn uniformly in [min, max] (never more than the dividend).
    pub min_divisor_digits: usize,
    pub max_divisor_digits: usize,
}

pub struct LongDivision {
    config: LongDivisionConfig,
}

impl Family for LongDivision {
    type Config = LongDivisionConfig;
    const NAME: &'static str = "long_division";
    const DOMAIN: Domain = Domain::Math;
    const DESCRIPTION: &'static str =
        "Big-integer long division with remainder, worked digit by digit";

    fn config_for(d: u8) -> LongDivisionConfig {
        let max_dividend_digits = level(d, [2, 3, 5, 6, 8, 12, 16, 20, 25, 30]);
        let max_divisor_digits = level(d, [1, 1, 2, 2, 2, 3, 4, 5, 6, 8]);
        LongDivisionConfig {
            min_dividend_digits: (max_dividend_digits - max_dividend_digits / 4).max(2),
            max_dividend_digits,
            min_divisor_digits: usize::div_ceil(max_divisor_digits, 2),
            max_divisor_digits,
        }
    }

    fn new(c: LongDivisionConfig) -> Result<Self, String> {
        if c.min_dividend_digits == 0 || c.min_dividend_digits > c.max_dividend_digits {
            return Err("min_dividend_digits must be in 1..=max_dividend_digits".into());
        }
        if c.min_divisor_digits == 0 || c.min_divisor_digits > c.max_divisor_digits {
            return Err("min_divisor_digits must be in 1..=max_divisor_digits".into());
        }
        if c.max_dividend_digits > DIGIT_CAP || c.max_divisor_digits > DIGIT_CAP {
            return Err(format!(
                "max_dividend_digits and max_divisor_digits must be at most {DIGIT_CAP}"
            ));
        }
        Ok(LongDivision { config: c })
    }

    fn generate(&self, rng: &mut TaskRng) -> Result<Problem, String> {
        let c = &self.config;
        let n = rng.range_usize(c.min_dividend_digits, c.max_dividend_digits);
        let m = rng
            .range_usize(c.min_divisor_digits, c.max_divisor_digits)
            .min(n);
        let a = rng.digits(n);
        let mut b = rng.digits(m);
        if b == "1" {
            b = format!("{}", 2 + rng.below(8));
        }
        let (a_big, b_big): (BigInt, BigInt) = (
            a.parse().map_err(|_| "bad dividend")?,
            b.parse().map_err(|_| "bad divisor")?,
        );
        let (q, r) = a_big.div_rem(&b_big);
        let thinking = steps(&a, &b_big);
        let final_answer = format!("{q} R {r}");
        Ok(Problem {
            question: render(TEMPLATE, &[("a", &a), ("b", &b)]),
            answer: json!({ "quotient": q.to_string(), "remainder": r.to_string() }),
            thinking,
            final_answer,
        })
    }

    fn verify(&self, gold: &serde_json::Value, answer: &str) -> Result<Verdict, VerifyError> {
        let q = parse_integer(gold_str(gold, "quotient")?)
            .ok_or_else(|| VerifyError::InvalidGold("quotient is not an integer".into()))?;
        let r = parse_integer(gold_str(gold, "remainder")?)
            .ok_or_else(|| VerifyError::InvalidGold("remainder is not an integer".into()))?;
        Ok(match parse_quotient_remainder(answer) {
            Some((aq, ar)) if aq == q && ar == r => Verdict::correct(format!("{aq} R {ar}")),
            Some((aq, ar)) => {
                Verdict::wrong(Some(format!("{aq} R {ar}")), format!("expected {q} R {r}"))
            }
            None => Verdict::wrong(Some(excerpt(answer)), "answer is not of the form \"Q R r\""),
        })
    }
}

/// Reads `Q R r`, `Q r r`, `Q remainder r`, `quotient Q, remainder r`.
pub fn parse_quotient_remainder(answer: &str) -> Option<(BigInt, BigInt)> {
    if answer.len() > MAX_ANSWER_BYTES {
        return None;
    }
    let lower = answer.trim().to_ascii_lowercase();
    let lower = lower
        .trim_end_matches('.')
        .replace("quotient", " ")
        .replace(',', " ");
    let lower = lower.replace("remainder", " r ");
    let tokens: Vec<&str> = lower.split_whitespace().collect();
    let (q, r) = match tokens.as_slice() {
        [q, "r", r] => (*q, *r),
        [q, r] => (*q, r.strip_prefix('r')?),
        _ => return None,
    };
    let (q, r) = (parse_integer(q)?, parse_integer(r)?);
    (!r.is_negative()).then_some((q, r))
}

/// The long-division worked steps of `a ÷ b`.
fn steps(a: &str, b: &BigInt) -> String {
    let mut out = format!("Long division of {a} by {b}, one digit of the dividend at a time.\n");
    let mut rem = BigInt::zero();
    let mut quotient = String::new();
    let ten = BigInt::from(10);
    for ch in a.chars() {
        let d = BigInt::from(ch.to_digit(10).unwrap_or(0));
        let cur = &rem * &ten + d;
        let (qd, r) = cur.div_rem(b);
        let prod = &qd * b;
        if !(quotient.is_empty() && qd.is_zero()) {
            quotient.push_str(&qd.to_string());
        }
        let _ = writeln!(
            out,
            "Bring down {ch}: {cur}. {cur} ÷ {b} = {qd} (since {qd} × {b} = {prod}); {cur} - {prod} = {r}."
        );
        rem = r;
    }
    if quotient.is_empty() {
        quotient.push('0');
    }
    let _ = write!(
        out,
        "The quotient digits read {quotient} and the remainder is {rem}.\nCheck: {quotient} × {b} + {rem} = {a}."
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_answer_forms() {
        let p = |s: &str| parse_quotient_remainder(s).map(|(q, r)| format!("{q}/{r}"));
        assert_eq!(p("12 R 3"), Some("12/3".into()));
        assert_eq!(p("12 r3"), Some("12/3".into()));
        assert_eq!(p("quotient 12, remainder 3"), Some("12/3".into()));
        assert_eq!(p("12 remainder 3."), Some("12/3".into()));
        for bad in ["12", "12 R", "12 R 3 R 4", "R 3", "12 R -3", "12.5"] {
            assert_eq!(p(bad), None, "{bad}");
        }
    }

    #[test]
    fn steps_end_with_the_check() {
        let s = steps("1234", &BigInt::from(7));
        assert!(
            s.contains("The quotient digits read 176 and the remainder is 2."),
            "{s}"
        );
    }
}
