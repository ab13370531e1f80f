//! `arithmetic`: exact big-integer addition, subtraction and multiplication with worked
//! column arithmetic (carries, borrows, partial products) as the chain of thought.
//!
//! Multi-digit arithmetic is a known failure of language models (Dziri et al., "Faith and
//! Fate", 2023); the digits knob scales with difficulty up to 30-digit operands.

use crate::env::{Domain, Family, Problem};
use crate::kit::render;
use crate::rng::TaskRng;
use num_bigint::BigInt;
use serde::{Deserialize, Serialize};
use serde_json::json;
use verigym_verifiers::number::parse_integer;
use verigym_verifiers::{Verdict, VerifyError};

const TEMPLATE: &str = crate::template!("arithmetic");

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ArithOp {
    Add,
    Sub,
    Mul,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArithmeticConfig {
    /// Operations to draw from, uniformly.
    pub ops: Vec<ArithOp>,
    /// Digits of each operand, drawn uniformly in [min_digits, max_digits].
    pub min_digits: usize,
    pub max_digits: usize,
}

pub struct Arithmetic {
    config: ArithmeticConfig,
}

/// Largest operand size accepted (digits): the worked long multiplication grows with the
/// square of the digits, and at this size it still fits the 64 KiB completion limit.
const DIGIT_CAP: usize = 100;

impl Family for Arithmetic {
    type Config = ArithmeticConfig;
    const NAME: &'static str = "arithmetic";
    const DOMAIN: Domain = Domain::Math;
    const DESCRIPTION: &'static str =
        "Exact multi-digit addition, subtraction and multiplication (big integers), worked column by column";

    fn config_for(difficulty: u8) -> ArithmeticConfig {
        const MAX: [usize; 10] = [2, 3, 4, 6, 8, 10, 14, 18, 24, 30];
        let max_digits = MAX[usize::from(difficulty.clamp(1, 10)) - 1];
        let ops = if difficulty <= 2 {
            vec![ArithOp::Add, ArithOp::Sub]
        } else {
            vec![ArithOp::Add, ArithOp::Sub, ArithOp::Mul]
        };
        ArithmeticConfig {
            ops,
            min_digits: (max_digits / 2).max(1),
            max_digits,
        }
    }

    fn new(config: ArithmeticConfig) -> Result<Self, String> {
        if config.ops.is_empty() {
            return Err("ops: at least one operation is needed".into());
        }
        if config.min_digits == 0 || config.min_digits > config.max_digits {
            return Err(format!(
                "min_digits ({}) must be in 1..=max_digits ({})",
                config.min_digits, config.max_digits
            ));
        }
        if config.max_digits > DIGIT_CAP {
            return Err(format!(
                "max_digits ({}) must be at most {DIGIT_CAP}",
                config.max_digits
            ));
        }
        Ok(Arithmetic { config })
    }

    fn generate(&self, rng: &mut TaskRng) -> Result<Problem, String> {
        let c = &self.config;
        let op = *rng.choose(&c.ops).ok_or("no operations configured")?;
        let (len_a, len_b) = (
            rng.range_usize(c.min_digits, c.max_digits),
            rng.range_usize(c.min_digits, c.max_digits),
        );
        let (a, b) = (rng.digits(len_a), rng.digits(len_b));
        let (symbol, thinking, result) = match op {
            ArithOp::Add => ("+", add_steps(&a, &b), big(&a) + big(&b)),
            ArithOp::Sub => ("-", sub_steps(&a, &b), big(&a) - big(&b)),
            ArithOp::Mul => ("*", mul_steps(&a, &b), big(&a) * big(&b)),
        };
        let result = result.to_string();
        Ok(Problem {
            question: render(TEMPLATE, &[("a", &a), ("op", symbol), ("b", &b)]),
            answer: json!({ "value": result }),
            thinking,
            final_answer: result,
        })
    }

    fn verify(&self, gold: &serde_json::Value, answer: &str) -> Result<Verdict, VerifyError> {
        let gold = gold
            .get("value")
            .and_then(|v| v.as_str())
            .and_then(parse_integer)
            .ok_or_else(|| {
                VerifyError::InvalidGold("expected {\"value\": \"<integer>\"}".into())
            })?;
        Ok(match parse_integer(answer) {
            Some(v) if v == gold => Verdict::correct(v.to_string()),
            Some(v) => Verdict::wrong(Some(v.to_string()), format!("{v} is not {gold}")),
            None => Verdict::wrong(
                Some(answer.chars().take(200).collect()),
                "answer is not a single integer",
            ),
        })
    }
}

fn big(digits: &str) -> BigInt {
    // Inputs come from `TaskRng::digits`, always ASCII digits.
    digits.parse().unwrap_or_default()
}

fn digit_at(s: &[u8], i_from_right: usize) -> u32 {
    if i_from_right < s.len() {
        u32::from(s[s.len() - 1 - i_from_right] - b'0')
    } else {
        0
    }
}

/// Column addition, least significant digit first.
fn add_steps(a: &str, b: &str) -> String {
    let (x, y) = (a.as_bytes(), b.as_bytes());
    let mut lines = vec![format!("Add {a} + {b} column by column from the right.")];
    let mut carry = 0;
    let mut out = Vec::new();
    for i in 0..x.len().max(y.len()) {
        let (p, q) = (digit_at(x, i), digit_at(y, i));
        let s = p + q + carry;
        lines.push(format!(
            "{p} + {q} + carry {carry} = {s}, write {}, carry {}",
            s % 10,
            s / 10
        ));
        out.push(char::from_digit(s % 10, 10).unwrap_or('0'));
        carry = s / 10;
    }
    if carry > 0 {
        lines.push(format!("final carry {carry}"));
        out.push('1');
    }
    let sum: String = out.iter().rev().collect();
    lines.push(format!(
        "So {a} + {b} = {}.",
        or_zero(sum.trim_start_matches('0'))
    ));
    lines.join("\n")
}

/// Column subtraction with borrows; a negative result subtracts the other way round.
fn sub_steps(a: &str, b: &str) -> String {
    let negative = big(a) < big(b);
    let (hi, lo) = if negative { (b, a) } else { (a, b) };
    let mut lines = vec![if negative {
        format!("{a} < {b}, so compute {b} - {a} and negate it.")
    } else {
        format!("Subtract {a} - {b} column by column from the right.")
    }];
    let (x, y) = (hi.as_bytes(), lo.as_bytes());
    let mut borrow = 0i32;
    let mut out = Vec::new();
    for i in 0..x.len() {
        let (p, q) = (digit_at(x, i) as i32, digit_at(y, i) as i32);
        let mut d = p - q - borrow;
        let next = if d < 0 {
            d += 10;
            1
        } else {
            0
        };
        lines.push(format!(
            "{p} - {q} - borrow {borrow}: write {d}, borrow {next}"
        ));
        out.push(char::from_digit(d as u32, 10).unwrap_or('0'));
        borrow = next;
    }
    let diff: String = out.iter().rev().collect();
    let diff = or_zero(diff.trim_start_matches('0'));
    let result = if negative { format!("-{diff}") } else { diff };
    lines.push(format!("So {a} - {b} = {result}."));
    lines.join("\n")
}

/// Long multiplication: one partial product per digit of the second factor, then the sum.
fn mul_steps(a: &str, b: &str) -> String {
    let mut lines = vec![format!(
        "Multiply {a} * {b} by the digits of {b} from the right."
    )];
    let a_big = big(a);
    let mut total = BigInt::from(0);
    for (i, d) in b.bytes().rev().enumerate() {
        let d = u32::from(d - b'0');
        let partial = &a_big * d;
        let shifted = format!("{partial}{}", "0".repeat(i));
        let shifted = if partial == BigInt::from(0) {
            "0".to_string()
        } else {
            shifted
        };
        lines.push(format!(
            "{a} * {d} = {partial}, shifted {i} places: {shifted}"
        ));
        total += big(&shifted);
    }
    lines.push(format!("Sum of the partial products: {total}"));
    lines.push(format!("So {a} * {b} = {total}."));
    lines.join("\n")
}

/// A digit string with its leading zeros trimmed; all zeros is "0".
fn or_zero(trimmed: &str) -> String {
    if trimmed.is_empty() {
        "0".into()
    } else {
        trimmed.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::{EnvOptions, Environment, FamilyEnv};

    fn env(d: u8) -> FamilyEnv<Arithmetic> {
        FamilyEnv::build(&EnvOptions {
            difficulty: Some(d),
            config: None,
        })
        .unwrap()
    }

    #[test]
    fn worked_steps_reach_the_exact_result() {
        assert!(add_steps("958", "67").ends_with("So 958 + 67 = 1025."));
        assert!(sub_steps("1000", "1").ends_with("So 1000 - 1 = 999."));
        assert!(sub_steps("12", "40").ends_with("So 12 - 40 = -28."));
        assert!(sub_steps("40", "40").ends_with("So 40 - 40 = 0."));
        assert!(mul_steps("123", "405").ends_with("So 123 * 405 = 49815."));
    }

    #[test]
    fn top_difficulty_reaches_30_digits() {
        let e = env(10);
        let longest = (0..200)
            .map(|i| {
                e.generate(1, i).unwrap().answer["value"]
                    .as_str()
                    .unwrap()
                    .len()
            })
            .max()
            .unwrap();
        assert!(longest >= 30, "longest result {longest}");
    }

    #[test]
    fn verifies_exactly() {
        let e = env(5);
        let t = e.generate(3, 4).unwrap();
        let gold = t.answer["value"].as_str().unwrap().to_string();
        let ok = e
            .verify(&t, &format!("<think>x</think><answer>{gold}</answer>"))
            .unwrap();
        assert!(ok.correct);
        let off = (parse_integer(&gold).unwrap() + BigInt::from(1)).to_string();
        let bad = e
            .verify(&t, &format!("<think>x</think><answer>{off}</answer>"))
            .unwrap();
        assert!(!bad.correct && bad.reward == 0.0);
        let hedge = e
            .verify(&t, &format!("<answer>{gold} or {off}</answer>"))
            .unwrap();
        assert!(!hedge.correct);
    }

    #[test]
    fn bad_config_names_the_field() {
        let err = FamilyEnv::<Arithmetic>::build(&EnvOptions {
            difficulty: None,
            config: Some(json!({"min_digits": 5, "max_digits": 2})),
        })
        .err()
        .unwrap()
        .to_string();
        assert!(err.contains("min_digits"), "{err}");
    }

    #[test]
    fn the_largest_operands_still_give_a_reference_that_fits() {
        let family = Arithmetic::new(ArithmeticConfig {
            ops: vec![ArithOp::Mul],
            min_digits: DIGIT_CAP,
            max_digits: DIGIT_CAP,
        })
        .unwrap();
        let p = family.generate(&mut TaskRng::from_seed(3)).unwrap();
        let completion = verigym_verifiers::format::format_completion(&p.thinking, &p.final_answer);
        assert!(completion.len() < 60 * 1024, "{} bytes", completion.len());
    }
}
