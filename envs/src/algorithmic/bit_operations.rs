//! `bit_operations`: evaluate a chain of bitwise operations (AND, OR, XOR, shifts, NOT)
//! on fixed-width unsigned integers, the reasoning-gym `bitwise_arithmetic` idea with an
//! explicit width so every result is well defined.
//!
//! The reference writes each operand in binary at the full width and works column by
//! column; answers are a decimal integer (a `0b…` binary literal is accepted too).

use crate::env::{Domain, Family, Problem};
use crate::kit::{gold_i64, reject, render, unwrap_answer};
use crate::rng::TaskRng;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::fmt::Write;
use verigym_verifiers::number::parse_integer;
use verigym_verifiers::{Verdict, VerifyError};

const TEMPLATE: &str = crate::template!("bit_operations");

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BitOp {
    And,
    Or,
    Xor,
    Shl,
    Shr,
    Not,
}

impl BitOp {
    fn word(self) -> &'static str {
        match self {
            BitOp::And => "AND",
            BitOp::Or => "OR",
            BitOp::Xor => "XOR",
            BitOp::Shl => "<<",
            BitOp::Shr => ">>",
            BitOp::Not => "NOT",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BitOperationsConfig {
    /// Width of every value in bits (1..=48).
    pub bits: u32,
    /// Operations in the chain, drawn uniformly in [min_ops, max_ops].
    pub min_ops: usize,
    pub max_ops: usize,
    /// Operations to draw from.
    pub ops: Vec<BitOp>,
}

pub struct BitOperations {
    config: BitOperationsConfig,
}

/// Parses a decimal integer or a `0b` binary literal.
pub fn parse_value(answer: &str) -> Option<i128> {
    let s = unwrap_answer(answer);
    if let Some(bin) = s.strip_prefix("0b").or_else(|| s.strip_prefix("0B")) {
        let bin = bin.replace('_', "");
        if bin.is_empty() || bin.len() > 100 || !bin.bytes().all(|b| b == b'0' || b == b'1') {
            return None;
        }
        return i128::from_str_radix(&bin, 2).ok();
    }
    let v = parse_integer(s)?;
    i128::try_from(v).ok()
}

impl Family for BitOperations {
    type Config = BitOperationsConfig;
    const NAME: &'static str = "bit_operations";
    const DOMAIN: Domain = Domain::Algorithmic;
    const DESCRIPTION: &'static str =
        "Evaluate chains of AND, OR, XOR, shifts and NOT on fixed-width unsigned integers";

    fn config_for(difficulty: u8) -> BitOperationsConfig {
        const BITS: [u32; 10] = [6, 8, 8, 10, 10, 12, 12, 16, 16, 20];
        const OPS: [usize; 10] = [1, 1, 1, 2, 2, 2, 3, 3, 4, 4];
        let d = usize::from(difficulty.clamp(1, 10)) - 1;
        let mut ops = vec![BitOp::And, BitOp::Or, BitOp::Xor];
        if d >= 2 {
            ops.extend([BitOp::Shl, BitOp::Shr]);
        }
        if d >= 4 {
            ops.push(BitOp::Not);
        }
        BitOperationsConfig {
            bits: BITS[d],
            min_ops: OPS[d].saturating_sub(1).max(1),
            max_ops: OPS[d],
            ops,
        }
    }

    fn new(config: BitOperationsConfig) -> Result<Self, String> {
        if !(1..=48).contains(&config.bits) {
            return Err("bits must be in 1..=48".into());
        }
        if config.min_ops == 0 || config.min_ops > config.max_ops || config.max_ops > 50 {
            return Err("min_ops must be in 1..=max_ops, max_ops at most 50".into());
        }
        if config.ops.is_empty() {
            return Err("ops: at least one operation is needed".into());
        }
        Ok(BitOperations { config })
    }

    fn generate(&self, rng: &mut TaskRng) -> Result<Problem, String> {
        let c = &self.config;
        let bits = c.bits;
        let width = bits as usize;
        let mask = (1u64 << bits) - 1; // bits <= 48, checked in `new`
        let n_ops = rng.range_usize(c.min_ops, c.max_ops);
        let mut acc = rng.below(mask + 1);
        let mut expr = acc.to_string();
        let mut thinking = format!("Work in {bits}-bit binary.\n{acc} = {acc:0width$b}\n");
        for i in 0..n_ops {
            let op = *rng.choose(&c.ops).ok_or("no operations configured")?;
            let prev = acc;
            // Later operations apply to the whole expression so far: parenthesise it.
            if i > 0 && op != BitOp::Not {
                expr = format!("({expr})");
            }
            match op {
                BitOp::Not => {
                    acc = !acc & mask;
                    expr = if i > 0 {
                        format!("NOT ({expr})")
                    } else {
                        format!("NOT {expr}")
                    };
                    let _ = write!(
                        thinking,
                        "NOT {prev:0width$b} = {acc:0width$b} (flip every bit) = "
                    );
                }
                BitOp::Shl | BitOp::Shr => {
                    let k = 1 + rng.below(u64::from(bits.min(4))) as u32;
                    let (result, how) = if op == BitOp::Shl {
                        (
                            (prev << k) & mask,
                            "move bits left, drop overflow, fill 0s on the right",
                        )
                    } else {
                        (prev >> k, "move bits right, fill 0s on the left")
                    };
                    acc = result;
                    let word = op.word();
                    let _ = write!(expr, " {word} {k}");
                    let _ = write!(
                        thinking,
                        "{prev:0width$b} {word} {k}: {how} -> {acc:0width$b} = "
                    );
                }
                BitOp::And | BitOp::Or | BitOp::Xor => {
                    let b = rng.below(mask + 1);
                    acc = match op {
                        BitOp::And => prev & b,
                        BitOp::Or => prev | b,
                        _ => prev ^ b,
                    };
                    let word = op.word();
                    let _ = write!(expr, " {word} {b}");
                    let _ = write!(
                        thinking,
                        "{b} = {b:0width$b}\n{prev:0width$b} {word} {b:0width$b} = {acc:0width$b} (bit by bit) = "
                    );
                }
            }
            let _ = writeln!(thinking, "{acc}");
        }
        let _ = write!(thinking, "Result: {acc}");
        let note = format!(
            "all values are {bits}-bit unsigned integers: AND, OR and XOR act bit by bit, << and >> shift the bits (bits shifted past either end are dropped, 0s come in) and NOT flips all {bits} bits"
        );
        Ok(Problem {
            question: render(TEMPLATE, &[("expr", &expr), ("note", &note)]),
            answer: json!({ "value": acc }),
            thinking,
            final_answer: acc.to_string(),
        })
    }

    fn verify(&self, gold: &serde_json::Value, answer: &str) -> Result<Verdict, VerifyError> {
        let gold = gold_i64(gold, "value")?;
        Ok(match parse_value(answer) {
            Some(v) if v == i128::from(gold) => Verdict::correct(v.to_string()),
            Some(v) => reject(answer, format!("{v} is not the result")),
            None => reject(answer, "answer is not a single integer"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_literals_and_decimals_parse() {
        assert_eq!(parse_value("0b0101"), Some(5));
        assert_eq!(parse_value("13"), Some(13));
        assert_eq!(parse_value("0b12"), None);
        assert_eq!(parse_value("5 or 6"), None);
    }
}
