//! `radix_conversion`: convert integers between bases 2..=36 — to decimal by Horner's rule
//! (positional expansion), from decimal by repeated division, remainders read upwards.
//!
//! Named `radix_conversion` because the algorithmic domain has its own `base_conversion`.

use crate::env::{Domain, Family, Problem};
use crate::kit::render;
use crate::kit::{excerpt, gold_str, level, unwrap_answer};
use crate::math::grade::MAX_ANSWER_BYTES;
use crate::rng::TaskRng;
use num_bigint::BigInt;
use num_integer::Integer;
use num_traits::{Num, ToPrimitive, Zero};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::fmt::Write;
use verigym_verifiers::{Verdict, VerifyError};

const TEMPLATE: &str = crate::template!("radix_conversion");

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RadixConversionConfig {
    /// Bases to draw from (each in 2..=36); source and target differ.
    pub bases: Vec<u32>,
    /// Decimal digits of the value, drawn in [max_digits - 1, max_digits].
    pub max_digits: usize,
}

pub struct RadixConversion {
    config: RadixConversionConfig,
}

const DIGITS: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";

fn digit(v: u32) -> char {
    char::from(*DIGITS.get(v as usize).unwrap_or(&b'?'))
}

impl Family for RadixConversion {
    type Config = RadixConversionConfig;
    const NAME: &'static str = "radix_conversion";
    const DOMAIN: Domain = Domain::Math;
    const DESCRIPTION: &'static str =
        "Integer conversion between bases 2..36 by Horner's rule and repeated division";

    fn config_for(d: u8) -> RadixConversionConfig {
        RadixConversionConfig {
            bases: match d {
                1..=2 => vec![2, 10],
                3..=4 => vec![2, 8, 10, 16],
                5..=6 => vec![2, 3, 5, 8, 10, 12, 16],
                _ => (2..=36).collect(),
            },
            max_digits: level(d, [2, 3, 6, 6, 7, 8, 10, 14, 18, 24]),
        }
    }

    fn new(c: RadixConversionConfig) -> Result<Self, String> {
        // Two different bases at least: generation redraws the target base until it
        // differs from the source base.
        let first = c.bases.first().copied();
        if c.bases.iter().any(|b| !(2..=36).contains(b))
            || c.bases.iter().all(|b| Some(*b) == first)
        {
            return Err("bases must hold at least two different bases in 2..=36".into());
        }
        if !(1..=100).contains(&c.max_digits) {
            return Err("max_digits must be in 1..=100".into());
        }
        Ok(RadixConversion { config: c })
    }

    fn generate(&self, rng: &mut TaskRng) -> Result<Problem, String> {
        let c = &self.config;
        let from = *rng.choose(&c.bases).ok_or("no bases")?;
        let to = loop {
            let b = *rng.choose(&c.bases).ok_or("no bases")?;
            if b != from {
                break b;
            }
        };
        let len = rng.range_usize(c.max_digits.saturating_sub(1).max(1), c.max_digits);
        let n: BigInt = rng.digits(len).parse().map_err(|_| "bad value")?;
        let src = n.to_str_radix(from).to_uppercase();
        let dst = n.to_str_radix(to).to_uppercase();
        let mut t = String::new();
        if from != 10 {
            let _ = writeln!(
                t,
                "First convert {src} (base {from}) to decimal with Horner's rule:"
            );
            let mut acc = BigInt::zero();
            for ch in src.chars() {
                let v = ch.to_digit(36).unwrap_or(0);
                let next = &acc * from + v;
                let _ = writeln!(t, "{acc} × {from} + {v} = {next}");
                acc = next;
            }
            let _ = writeln!(t, "So the value is {n} in decimal.");
        }
        if to != 10 {
            let _ = writeln!(t, "Divide {n} repeatedly by {to}, keeping the remainders:");
            let mut q = n.clone();
            let tb = BigInt::from(to);
            while !q.is_zero() {
                let (nq, r) = q.div_rem(&tb);
                let rv = r.to_u32().unwrap_or(0);
                let _ = writeln!(t, "{q} ÷ {to} = {nq} remainder {rv} (digit {})", digit(rv));
                q = nq;
            }
            let _ = writeln!(t, "Reading the remainders from last to first gives {dst}.");
        }
        let _ = write!(t, "So {src} in base {from} is {dst} in base {to}.");
        Ok(Problem {
            question: render(
                TEMPLATE,
                &[
                    ("from", &from.to_string()),
                    ("value", &src),
                    ("to", &to.to_string()),
                ],
            ),
            answer: json!({ "digits": dst, "base": to }),
            thinking: t,
            final_answer: dst,
        })
    }

    fn verify(&self, gold: &serde_json::Value, answer: &str) -> Result<Verdict, VerifyError> {
        let digits = gold_str(gold, "digits")?;
        let base = gold
            .get("base")
            .and_then(|b| b.as_u64())
            .filter(|b| (2..=36).contains(b))
            .ok_or_else(|| VerifyError::InvalidGold("base must be in 2..=36".into()))?
            as u32;
        let want = BigInt::from_str_radix(digits, base)
            .map_err(|_| VerifyError::InvalidGold("digits do not parse".into()))?;
        if answer.len() > MAX_ANSWER_BYTES {
            return Ok(Verdict::wrong(None, "answer too long"));
        }
        let a = unwrap_answer(answer);
        let a = a
            .strip_suffix(&format!("_{base}"))
            .or_else(|| a.strip_suffix(&format!("_{{{base}}}")))
            .unwrap_or(a);
        let ok_chars = !a.is_empty()
            && a.len() <= 400
            && a.chars()
                .all(|ch| ch.to_digit(36).is_some_and(|v| v < base));
        if !ok_chars {
            return Ok(Verdict::wrong(
                Some(excerpt(answer)),
                format!("answer is not a base-{base} numeral"),
            ));
        }
        Ok(match BigInt::from_str_radix(a, base) {
            Ok(v) if v == want => Verdict::correct(a.to_uppercase()),
            _ => Verdict::wrong(Some(excerpt(answer)), format!("expected {digits}")),
        })
    }
}
