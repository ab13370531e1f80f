//! `base_conversion`: convert between binary and decimal (and, at higher levels,
//! hexadecimal), the reasoning-gym `base_conversion` task restricted to conversions that
//! involve base 2.
//!
//! The reference shows the procedure: repeated division with remainders, doubling
//! (Horner) for binary to decimal, and 4-bit groups between binary and hexadecimal.

use crate::env::{Domain, Family, Problem};
use crate::kit::render;
use crate::kit::{gold_str, reject, unwrap_answer};
use crate::rng::TaskRng;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::fmt::Write;
use verigym_verifiers::{Verdict, VerifyError};

const TEMPLATE: &str = crate::template!("base_conversion");

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BaseConversionConfig {
    /// Values have between min_bits and max_bits significant bits (1..=63).
    pub min_bits: u32,
    pub max_bits: u32,
    /// Whether hexadecimal <-> binary / decimal conversions are drawn too.
    pub hex: bool,
}

pub struct BaseConversion {
    config: BaseConversionConfig,
}

fn base_name(b: u32) -> &'static str {
    match b {
        2 => "binary",
        16 => "hexadecimal",
        _ => "decimal",
    }
}

/// `v` written in base 2, 10 or 16 (lower-case hex digits).
pub fn to_base(v: u64, b: u32) -> String {
    match b {
        2 => format!("{v:b}"),
        16 => format!("{v:x}"),
        _ => v.to_string(),
    }
}

/// Parses digits in base `b`, allowing a matching `0b` / `0x` prefix, `_` separators
/// and upper-case hex. At most 64 digits.
pub fn parse_base(answer: &str, b: u32) -> Option<u64> {
    let s = unwrap_answer(answer);
    let prefix = match b {
        2 => ["0b", "0B"],
        16 => ["0x", "0X"],
        _ => ["", ""],
    };
    let s = if !prefix[0].is_empty() {
        s.strip_prefix(prefix[0])
            .or_else(|| s.strip_prefix(prefix[1]))
            .unwrap_or(s)
    } else {
        s
    };
    let digits: String = s.chars().filter(|c| *c != '_').collect();
    if digits.is_empty() || digits.len() > 64 || !digits.chars().all(|c| c.is_digit(b)) {
        return None;
    }
    u64::from_str_radix(&digits, b).ok()
}

fn digit_char(d: u64) -> char {
    char::from_digit(d as u32, 16).unwrap_or('0')
}

/// Repeated division by the target base, remainders read from last to first.
fn divide_steps(out: &mut String, v: u64, b: u32, written: &str) {
    let _ = writeln!(out, "Divide by {b} repeatedly, writing down remainders:");
    let b = u64::from(b);
    let mut x = v;
    loop {
        let (q, r) = (x / b, x % b);
        let _ = write!(out, "{x} / {b} = {q} remainder {r}");
        if b == 16 && r >= 10 {
            let _ = write!(out, " ({})", digit_char(r));
        }
        out.push('\n');
        x = q;
        if x == 0 {
            break;
        }
    }
    let _ = writeln!(out, "Reading the remainders from last to first: {written}");
}

/// Horner's rule: the value of `digits` in base `b`, one digit at a time.
fn horner_steps(out: &mut String, digits: &str, b: u32) {
    let _ = writeln!(
        out,
        "Go left to right: multiply the total by {b} and add each digit."
    );
    let mut acc: u64 = 0;
    for c in digits.chars() {
        let d = u64::from(c.to_digit(b).unwrap_or(0));
        let next = acc * u64::from(b) + d;
        let _ = writeln!(out, "{acc} * {b} + {d} = {next}");
        acc = next;
    }
}

impl Family for BaseConversion {
    type Config = BaseConversionConfig;
    const NAME: &'static str = "base_conversion";
    const DOMAIN: Domain = Domain::Algorithmic;
    const DESCRIPTION: &'static str =
        "Convert numbers between binary and decimal (and hexadecimal at higher levels)";

    fn config_for(difficulty: u8) -> BaseConversionConfig {
        const MIN: [u32; 10] = [5, 6, 7, 8, 10, 12, 14, 16, 20, 24];
        const MAX: [u32; 10] = [7, 8, 10, 12, 14, 16, 20, 24, 28, 32];
        let d = usize::from(difficulty.clamp(1, 10)) - 1;
        BaseConversionConfig {
            min_bits: MIN[d],
            max_bits: MAX[d],
            hex: d >= 5,
        }
    }

    fn new(config: BaseConversionConfig) -> Result<Self, String> {
        if config.min_bits == 0 || config.min_bits > config.max_bits || config.max_bits > 63 {
            return Err("min_bits must be in 1..=max_bits, max_bits at most 63".into());
        }
        Ok(BaseConversion { config })
    }

    fn generate(&self, rng: &mut TaskRng) -> Result<Problem, String> {
        let c = &self.config;
        let bits = rng.range(i64::from(c.min_bits), i64::from(c.max_bits)) as u32;
        // Exactly `bits` significant bits: the top one set.
        let v = (1u64 << (bits - 1)) | rng.below(1u64 << (bits - 1));
        let pairs: &[(u32, u32)] = if c.hex {
            &[(10, 2), (2, 10), (16, 2), (2, 16)]
        } else {
            &[(10, 2), (2, 10)]
        };
        let (from, to) = *rng.choose(pairs).ok_or("no conversions")?;
        let shown = to_base(v, from);
        let result = to_base(v, to);
        let mut thinking = String::new();
        match (from, to) {
            (16, 2) => {
                thinking.push_str("Replace each hexadecimal digit by its 4 bits:\n");
                for ch in shown.chars() {
                    let d = ch.to_digit(16).unwrap_or(0);
                    let _ = writeln!(thinking, "{ch} -> {d:04b}");
                }
                let _ = writeln!(thinking, "Joined, without leading zeros: {result}");
            }
            (2, 16) => {
                thinking.push_str("Group the bits in fours from the right:\n");
                // Left-pad with zeros to a whole number of 4-bit groups.
                let width = shown.len().div_ceil(4) * 4;
                let padded = format!("{shown:0>width$}");
                for i in (0..width).step_by(4) {
                    let group = &padded[i..i + 4];
                    let d = u64::from_str_radix(group, 2).unwrap_or(0);
                    let _ = writeln!(thinking, "{group} -> {}", digit_char(d));
                }
                let _ = writeln!(thinking, "Joined: {result}");
            }
            (_, 10) => horner_steps(&mut thinking, &shown, from),
            (_, t) => {
                if from != 10 {
                    horner_steps(&mut thinking, &shown, from);
                }
                divide_steps(&mut thinking, v, t, &result);
            }
        }
        let (from_name, to_name) = (base_name(from), base_name(to));
        let _ = write!(
            thinking,
            "So {shown} in {from_name} is {result} in {to_name}."
        );
        let value = format!("the {from_name} number {shown}");
        Ok(Problem {
            question: render(
                TEMPLATE,
                &[
                    ("value", &value),
                    ("from", base_name(from)),
                    ("to", base_name(to)),
                ],
            ),
            answer: json!({ "base": to, "value": result }),
            thinking,
            final_answer: result,
        })
    }

    fn verify(&self, gold: &serde_json::Value, answer: &str) -> Result<Verdict, VerifyError> {
        let base = gold
            .get("base")
            .and_then(|b| b.as_u64())
            .filter(|b| [2, 10, 16].contains(b))
            .ok_or_else(|| VerifyError::InvalidGold("expected base 2, 10 or 16".into()))?
            as u32;
        let value = parse_base(gold_str(gold, "value")?, base)
            .ok_or_else(|| VerifyError::InvalidGold("gold value does not parse".into()))?;
        Ok(match parse_base(answer, base) {
            Some(v) if v == value => Verdict::correct(to_base(v, base)),
            Some(_) => reject(answer, "wrong value"),
            None => reject(
                answer,
                format!("answer is not a {} number", base_name(base)),
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions_round_trip_and_parse_prefixes() {
        assert_eq!(to_base(156, 2), "10011100");
        assert_eq!(to_base(255, 16), "ff");
        assert_eq!(parse_base("0b1001_1100", 2), Some(156));
        assert_eq!(parse_base("0xFF", 16), Some(255));
        assert_eq!(parse_base("102", 2), None);
        assert_eq!(parse_base("0x12", 10), None);
    }
}
