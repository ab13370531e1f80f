//! `bit_operations`: evaluate a chain of bitwise operations (AND, OR, XOR, shifts, NOT)
//! on fixed-width unsigned integers, the reasoning-gym `bitwise_arithmetic` idea with an
//! explicit width so every result is well defined.
//!
//! The reference writes each operand in binary at the full width and works column by
//! column; answers are a decimal integer (a `0b…` binary literal is accepted too).

use crate::algorithmic::answer::{clean, gold_i64, push_bin, push_int, wrong};
use crate::env::{Domain, Family, Problem};
use crate::prompts::render;
use crate::rng::TaskRng;
use serde::{Deserialize, Serialize};
use serde_json::json;
use verigym_verifiers::number::parse_integer;
use verigym_verifiers::{Verdict, VerifyError};

const TEMPLATE: &str = include_str!("../../../prompts/bit_operations.txt");

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
    let s = clean(answer);
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
        let mask: u64 = if bits >= 64 {
            u64::MAX
        } else {
            (1u64 << bits) - 1
        };
        let n_ops = rng.range_usize(c.min_ops, c.max_ops);
        let mut acc = rng.below(mask + 1);
        let mut expr = String::with_capacity(16 * (n_ops + 1));
        push_int(&mut expr, acc as i64);
        let mut thinking = String::with_capacity(n_ops * (4 * bits as usize + 80) + 100);
        thinking.push_str("Work in ");
        push_int(&mut thinking, i64::from(bits));
        thinking.push_str("-bit binary.\n");
        push_int(&mut thinking, acc as i64);
        thinking.push_str(" = ");
        push_bin(&mut thinking, acc, bits);
        thinking.push('\n');
        for i in 0..n_ops {
            let op = *rng.choose(&c.ops).ok_or("no operations configured")?;
            let prev = acc;
            // Later operations apply to the whole expression so far: parenthesise it.
            if i > 0 && op != BitOp::Not {
                expr.insert(0, '(');
                expr.push(')');
            }
            match op {
                BitOp::Not => {
                    acc = !acc & mask;
                    expr = if i > 0 {
                        format!("NOT ({expr})")
                    } else {
                        format!("NOT {expr}")
                    };
                    thinking.push_str("NOT ");
                    push_bin(&mut thinking, prev, bits);
                    thinking.push_str(" = ");
                    push_bin(&mut thinking, acc, bits);
                    thinking.push_str(" (flip every bit) = ");
                }
                BitOp::Shl | BitOp::Shr => {
                    let k = 1 + rng.below(u64::from(bits.clamp(1, 4))) as u32;
                    acc = if op == BitOp::Shl {
                        (prev << k) & mask
                    } else {
                        prev >> k
                    };
                    expr.push(' ');
                    expr.push_str(op.word());
                    expr.push(' ');
                    push_int(&mut expr, i64::from(k));
                    push_bin(&mut thinking, prev, bits);
                    thinking.push(' ');
                    thinking.push_str(op.word());
                    thinking.push(' ');
                    push_int(&mut thinking, i64::from(k));
                    thinking.push_str(if op == BitOp::Shl {
                        ": move bits left, drop overflow, fill 0s on the right -> "
                    } else {
                        ": move bits right, fill 0s on the left -> "
                    });
                    push_bin(&mut thinking, acc, bits);
                    thinking.push_str(" = ");
                }
                BitOp::And | BitOp::Or | BitOp::Xor => {
                    let b = rng.below(mask + 1);
                    acc = match op {
                        BitOp::And => prev & b,
                        BitOp::Or => prev | b,
                        _ => prev ^ b,
                    };
                    expr.push(' ');
                    expr.push_str(op.word());
                    expr.push(' ');
                    push_int(&mut expr, b as i64);
                    push_int(&mut thinking, b as i64);
                    thinking.push_str(" = ");
                    push_bin(&mut thinking, b, bits);
                    thinking.push('\n');
                    push_bin(&mut thinking, prev, bits);
                    thinking.push(' ');
                    thinking.push_str(op.word());
                    thinking.push(' ');
                    push_bin(&mut thinking, b, bits);
                    thinking.push_str(" = ");
                    push_bin(&mut thinking, acc, bits);
                    thinking.push_str(" (bit by bit) = ");
                }
            }
            push_int(&mut thinking, acc as i64);
            thinking.push('\n');
        }
        thinking.push_str("Result: ");
        push_int(&mut thinking, acc as i64);
        let mut note = String::with_capacity(220);
        note.push_str("all values are ");
        push_int(&mut note, i64::from(bits));
        note.push_str("-bit unsigned integers: AND, OR and XOR act bit by bit, << and >> shift the bits (bits shifted past either end are dropped, 0s come in) and NOT flips all ");
        push_int(&mut note, i64::from(bits));
        note.push_str(" bits");
        let mut value = String::new();
        push_int(&mut value, acc as i64);
        Ok(Problem {
            question: render(TEMPLATE, &[("expr", &expr), ("note", &note)]),
            answer: json!({ "value": acc }),
            thinking,
            final_answer: value,
        })
    }

    fn verify(&self, gold: &serde_json::Value, answer: &str) -> Result<Verdict, VerifyError> {
        let gold = gold_i64(gold, "value")?;
        Ok(match parse_value(answer) {
            Some(v) if v == i128::from(gold) => Verdict::correct(v.to_string()),
            Some(v) => wrong(answer, format!("{v} is not the result")),
            None => wrong(answer, "answer is not a single integer"),
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
