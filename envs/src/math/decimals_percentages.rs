//! `decimals_percentages`: decimal addition, subtraction and multiplication, percentages of a
//! quantity, "what percent", percentage change and discounts — all with exact decimal answers,
//! worked by scaling to integers.
//!
//! Every answer is a terminating decimal, graded as an exact rational (0.5 = 1/2 = 0.50).

use crate::env::{Domain, Family, Problem};
use crate::kit::level;
use crate::kit::render;
use crate::math::grade::{exact_decimal, grade_rational, rational_str};
use crate::rng::TaskRng;
use num_bigint::BigInt;
use num_rational::BigRational;
use num_traits::{Signed, Zero};
use serde::{Deserialize, Serialize};
use serde_json::json;
use verigym_verifiers::{Verdict, VerifyError};

const TEMPLATE: &str = crate::template!("decimals_percentages");

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecimalsPercentagesConfig {
    /// Largest whole part of an operand (10^k - 1 style bound).
    pub max_whole: i64,
    /// Decimal places of operands, drawn in 1..=max_places.
    pub max_places: u32,
    /// Include the percentage problems (percent of, what percent, change, discount).
    pub percentages: bool,
}

pub struct DecimalsPercentages {
    config: DecimalsPercentagesConfig,
}

/// A decimal with `places` places: whole part in 0..=max_whole.
fn decimal(rng: &mut TaskRng, max_whole: i64, places: u32) -> BigRational {
    let scale = 10i64.pow(places);
    let mut n = rng.range(1, max_whole.saturating_mul(scale).max(1) + scale - 1);
    if n % 10 == 0 {
        n += rng.range(1, 9);
    }
    BigRational::new(BigInt::from(n), BigInt::from(scale))
}

fn dec(r: &BigRational) -> String {
    exact_decimal(r).unwrap_or_else(|| rational_str(r))
}

fn places(r: &BigRational) -> usize {
    dec(r).split_once('.').map_or(0, |(_, f)| f.len())
}

impl Family for DecimalsPercentages {
    type Config = DecimalsPercentagesConfig;
    const NAME: &'static str = "decimals_percentages";
    const DOMAIN: Domain = Domain::Math;
    const DESCRIPTION: &'static str =
        "Decimal arithmetic and percentages (of, what percent, change, discount) with exact answers";

    fn config_for(d: u8) -> DecimalsPercentagesConfig {
        DecimalsPercentagesConfig {
            max_whole: level(d, [9, 20, 50, 100, 200, 500, 1000, 5000, 20000, 100000]),
            max_places: level(d, [1, 1, 2, 2, 2, 3, 3, 3, 4, 4]),
            percentages: d >= 2,
        }
    }

    fn new(c: DecimalsPercentagesConfig) -> Result<Self, String> {
        if !(1..=1_000_000_000).contains(&c.max_whole) {
            return Err("max_whole must be in 1..=1000000000".into());
        }
        if !(1..=6).contains(&c.max_places) {
            return Err("max_places must be in 1..=6".into());
        }
        Ok(DecimalsPercentages { config: c })
    }

    fn generate(&self, rng: &mut TaskRng) -> Result<Problem, String> {
        let c = &self.config;
        let kinds = if c.percentages { 7 } else { 3 };
        let p1 = rng.range(1, i64::from(c.max_places)) as u32;
        let p2 = rng.range(1, i64::from(c.max_places)) as u32;
        let (question, thinking, value) = match rng.below(kinds) {
            0 | 1 => {
                let (a, b) = (decimal(rng, c.max_whole, p1), decimal(rng, c.max_whole, p2));
                let add = rng.chance(0.5);
                let (sym, v) = if add { ("+", &a + &b) } else { ("-", &a - &b) };
                let k = places(&a).max(places(&b));
                let s = BigRational::from_integer(BigInt::from(10).pow(k as u32));
                let (ai, bi, vi) = (
                    (&a * &s).to_integer(),
                    (&b * &s).to_integer(),
                    (&v * &s).to_integer(),
                );
                (
                    format!("What is {} {sym} {}?", dec(&a), dec(&b)),
                    format!(
                        "Line up the decimal points: both numbers have at most {k} decimal places, so work in units of 10^-{k}.\n{} = {ai} units and {} = {bi} units.\n{ai} {sym} {bi} = {vi} units.\nShift the decimal point back {k} places: {}.",
                        dec(&a), dec(&b), dec(&v)
                    ),
                    v,
                )
            }
            2 => {
                let a = decimal(rng, c.max_whole, p1);
                let b = decimal(rng, (c.max_whole / 10).max(9), p2);
                let v = &a * &b;
                let (ka, kb) = (places(&a), places(&b));
                let ai =
                    (&a * BigRational::from_integer(BigInt::from(10).pow(ka as u32))).to_integer();
                let bi =
                    (&b * BigRational::from_integer(BigInt::from(10).pow(kb as u32))).to_integer();
                (
                    format!("What is {} × {}?", dec(&a), dec(&b)),
                    format!(
                        "Multiply without the decimal points: {ai} × {bi} = {}.\nThe factors have {ka} + {kb} = {} decimal places, so the product is {}.",
                        &ai * &bi, ka + kb, dec(&v)
                    ),
                    v,
                )
            }
            3 | 4 => {
                let pct = BigRational::new(
                    BigInt::from(rng.range(1, 399)),
                    BigInt::from(if rng.chance(0.3) { 2 } else { 1 }),
                );
                let n = BigRational::from_integer(BigInt::from(
                    rng.range(2, c.max_whole.saturating_mul(10).max(200)),
                ));
                let v = &pct * &n / BigRational::from_integer(BigInt::from(100));
                if rng.chance(0.5) {
                    (
                        format!("What is {}% of {}?", dec(&pct), dec(&n)),
                        format!(
                            "{}% means {} ÷ 100 = {}.\n{} × {} = {}.",
                            dec(&pct),
                            dec(&pct),
                            dec(&(&pct / BigRational::from_integer(BigInt::from(100)))),
                            dec(&(&pct / BigRational::from_integer(BigInt::from(100)))),
                            dec(&n),
                            dec(&v)
                        ),
                        v,
                    )
                } else {
                    (
                        format!("{} is what percent of {}?", dec(&v), dec(&n)),
                        format!(
                            "Percent = part ÷ whole × 100 = {} ÷ {} × 100.\n{} ÷ {} = {}, and × 100 gives {}.",
                            dec(&v), dec(&n), dec(&v), dec(&n), dec(&(&v / &n)), dec(&pct)
                        ),
                        pct,
                    )
                }
            }
            5 => {
                let old = BigRational::from_integer(BigInt::from(
                    rng.range(2, c.max_whole.saturating_mul(10).max(200)) * 4,
                ));
                let pct = BigRational::from_integer(BigInt::from(rng.range(-90, 150)));
                let pct = if pct.is_zero() {
                    BigRational::from_integer(BigInt::from(10))
                } else {
                    pct
                };
                let new = &old * (BigRational::from_integer(BigInt::from(100)) + &pct)
                    / BigRational::from_integer(BigInt::from(100));
                let diff = &new - &old;
                (
                    format!("A quantity changes from {} to {}. What is the percentage change (negative for a decrease)?", dec(&old), dec(&new)),
                    format!(
                        "Change = new - old = {} - {} = {}.\nPercentage change = change ÷ old × 100 = {} ÷ {} × 100 = {}.",
                        dec(&new), dec(&old), dec(&diff), dec(&diff), dec(&old), dec(&pct)
                    ),
                    pct,
                )
            }
            _ => {
                let price = decimal(rng, c.max_whole, 2);
                let pct = BigRational::from_integer(BigInt::from(5 * rng.range(1, 18)));
                let hundred = BigRational::from_integer(BigInt::from(100));
                let off = &price * &pct / &hundred;
                let v = &price - &off;
                (
                    format!("An item costs {} dollars and is discounted by {}%. What is the new price in dollars?", dec(&price), dec(&pct)),
                    format!(
                        "The discount is {}% of {} = {} × {} ÷ 100 = {}.\nNew price = {} - {} = {}.",
                        dec(&pct), dec(&price), dec(&price), dec(&pct), dec(&off), dec(&price), dec(&off), dec(&v)
                    ),
                    v,
                )
            }
        };
        let answer = dec(&value);
        debug_assert!(!value.is_negative() || answer.starts_with('-'));
        Ok(Problem {
            question: render(TEMPLATE, &[("question", &question)]),
            answer: json!({ "value": rational_str(&value) }),
            thinking,
            final_answer: answer,
        })
    }

    fn verify(&self, gold: &serde_json::Value, answer: &str) -> Result<Verdict, VerifyError> {
        grade_rational(gold, answer)
    }
}
