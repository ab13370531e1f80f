//! `countdown`: reach a target from given numbers with + - * /, each number used at most
//! once (the Countdown numbers round; the TinyZero / reasoning-gym RL task).
//!
//! The reference chain of thought is a real depth-first search (closest results first,
//! dead ends written out), bounded by a node budget with the constructed route as fallback.
//! Answers are parsed by our own arithmetic parser and evaluated with exact rationals —
//! model text is never evaluated as code. Every task is solvable by construction.

use crate::env::{Domain, Family, Problem};
use crate::kit::render;
use crate::kit::Trace;
use crate::puzzles::arith_search::{solve_written, Rat, Rules};
use crate::rng::TaskRng;
use num_bigint::BigInt;
use num_rational::BigRational;
use serde::{Deserialize, Serialize};
use serde_json::json;
use verigym_verifiers::arith::{self, Op};
use verigym_verifiers::{Verdict, VerifyError};

const TEMPLATE: &str = crate::template!("countdown");

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CountdownConfig {
    /// How many numbers are given.
    pub numbers: usize,
    /// Each number is drawn from [min_number, max_number].
    pub min_number: u32,
    pub max_number: u32,
    /// How many of the numbers the constructed solution uses (at most `numbers`).
    pub uses: usize,
    /// Largest target accepted; constructions that exceed it are redrawn.
    pub max_target: u64,
}

/// Nodes the written search may expand before falling back to the constructed route.
const SEARCH_BUDGET: usize = 4000;

pub struct Countdown {
    config: CountdownConfig,
}

/// A step of the constructed solution: `left op right = value`.
struct Combine {
    left: (String, i64),
    right: (String, i64),
    op: Op,
    value: i64,
}

impl Family for Countdown {
    type Config = CountdownConfig;
    const NAME: &'static str = "countdown";
    const DOMAIN: Domain = Domain::Puzzle;
    const DESCRIPTION: &'static str =
        "Reach a target with the given numbers and + - * /, each number used at most once";

    fn config_for(difficulty: u8) -> CountdownConfig {
        let d = usize::from(difficulty.clamp(1, 10));
        const MAX_NUMBER: [u32; 10] = [10, 10, 20, 20, 25, 50, 50, 75, 100, 100];
        let numbers = 3 + (d - 1) / 3;
        CountdownConfig {
            numbers,
            min_number: 1,
            max_number: MAX_NUMBER[d - 1],
            uses: (2 + d / 3).min(numbers),
            max_target: if d <= 3 { 100 } else { 1000 },
        }
    }

    fn new(config: CountdownConfig) -> Result<Self, String> {
        if !(2..=12).contains(&config.numbers) {
            return Err(format!("numbers ({}) must be in 2..=12", config.numbers));
        }
        if config.min_number == 0
            || config.min_number > config.max_number
            || config.max_number > 1_000_000
        {
            return Err(
                "min_number and max_number must satisfy 1 <= min_number <= max_number <= 1000000"
                    .into(),
            );
        }
        if config.uses < 2 || config.uses > config.numbers {
            return Err(format!(
                "uses ({}) must be in 2..=numbers ({})",
                config.uses, config.numbers
            ));
        }
        if config.max_target < 1 {
            return Err("max_target must be at least 1".into());
        }
        Ok(Countdown { config })
    }

    fn generate(&self, rng: &mut TaskRng) -> Result<Problem, String> {
        let c = &self.config;
        let numbers: Vec<i64> = (0..c.numbers)
            .map(|_| rng.range(i64::from(c.min_number), i64::from(c.max_number)))
            .collect();
        // Redraw the construction until its target is a positive integer in range; a
        // bounded number of tries, then the always-valid fallback of a plain sum.
        let (steps, target) = (0..64)
            .find_map(|_| {
                let (steps, value) = construct(rng, &numbers, c.uses)?;
                (value >= 1 && value as u64 <= c.max_target).then_some((steps, value))
            })
            .unwrap_or_else(|| fallback(&numbers));
        let listed = numbers
            .iter()
            .map(|n| n.to_string())
            .collect::<Vec<_>>()
            .join(", ");
        let mut trace = Trace::new();
        trace.push(format!(
            "Target {target} from [{listed}]. Search: combine two numbers, put the result back, \
             and try the combinations closest to the target first."
        ));
        let pool: Vec<Rat> = numbers.iter().map(|&n| Rat::int(n)).collect();
        let (expression, conclusion) = match solve_written(
            Rules::Countdown,
            &pool,
            Rat::int(target),
            SEARCH_BUDGET,
            &mut trace,
        ) {
            Some(found) => {
                let e = found.expression;
                let c = format!("So {e} = {target}.");
                (e, c)
            }
            None => {
                // The bounded search gave up; build the target from the known route.
                trace.push("The search is getting long; build the target step by step instead:");
                for s in &steps {
                    trace.push(format!(
                        "{} {} {} = {}",
                        s.left.1,
                        s.op.symbol(),
                        s.right.1,
                        s.value
                    ));
                }
                let e = steps.last().map(render_step).unwrap_or_default();
                let c = format!("That reaches {target}: {e} = {target}.");
                (e, c)
            }
        };
        let thinking = trace.finish(conclusion);
        Ok(Problem {
            question: render(
                TEMPLATE,
                &[("numbers", &listed), ("target", &target.to_string())],
            ),
            answer: json!({ "numbers": numbers, "target": target }),
            thinking,
            final_answer: expression,
        })
    }

    fn verify(&self, gold: &serde_json::Value, answer: &str) -> Result<Verdict, VerifyError> {
        let bad_gold =
            || VerifyError::InvalidGold("expected {\"numbers\": [int], \"target\": int}".into());
        let target = gold
            .get("target")
            .and_then(|t| t.as_i64())
            .ok_or_else(bad_gold)?;
        let numbers: Vec<i64> = gold
            .get("numbers")
            .and_then(|n| n.as_array())
            .ok_or_else(bad_gold)?
            .iter()
            .map(|v| v.as_i64().ok_or_else(bad_gold))
            .collect::<Result<_, _>>()?;
        Ok(check_answer(&numbers, target, answer))
    }
}

/// Grades one answer: an expression, optionally followed by `= target`.
pub fn check_answer(numbers: &[i64], target: i64, answer: &str) -> Verdict {
    let extracted = Some(answer.chars().take(200).collect::<String>());
    let expr_text = match answer.split_once('=') {
        Some((lhs, rhs)) => {
            if rhs.trim() != target.to_string() {
                return Verdict::wrong(
                    extracted,
                    format!("right-hand side '{}' is not the target", rhs.trim()),
                );
            }
            lhs
        }
        None => answer,
    };
    let expr = match arith::parse(expr_text) {
        Ok(e) => e,
        Err(e) => return Verdict::wrong(extracted, format!("not an arithmetic expression: {e}")),
    };
    if expr.has_negation() {
        return Verdict::wrong(extracted, "unary minus is not allowed");
    }
    let mut available: Vec<BigInt> = numbers.iter().map(|&n| BigInt::from(n)).collect();
    for lit in expr.literals() {
        match available.iter().position(|n| n == lit) {
            Some(i) => {
                available.swap_remove(i);
            }
            None if numbers.iter().any(|&n| BigInt::from(n) == *lit) => {
                return Verdict::wrong(
                    extracted,
                    format!("number {lit} is used more times than it is given"),
                )
            }
            None => {
                return Verdict::wrong(
                    extracted,
                    format!("number {lit} is not among the given numbers"),
                )
            }
        }
    }
    match expr.eval() {
        Ok(v) if v == BigRational::from_integer(BigInt::from(target)) => {
            Verdict::correct(expr_text.trim())
        }
        Ok(v) => Verdict::wrong(extracted, format!("expression equals {v}, not {target}")),
        Err(e) => Verdict::wrong(extracted, format!("expression cannot be evaluated: {e}")),
    }
}

/// Combines `uses` random numbers pairwise with random operations, keeping every
/// intermediate a positive integer (the Countdown rules).
fn construct(rng: &mut TaskRng, numbers: &[i64], uses: usize) -> Option<(Vec<Combine>, i64)> {
    let mut idx: Vec<usize> = (0..numbers.len()).collect();
    rng.shuffle(&mut idx);
    let mut pool: Vec<(String, i64)> = idx[..uses]
        .iter()
        .map(|&i| (numbers[i].to_string(), numbers[i]))
        .collect();
    let mut steps = Vec::new();
    while pool.len() > 1 {
        let i = rng.below(pool.len() as u64) as usize;
        let left = pool.swap_remove(i);
        let j = rng.below(pool.len() as u64) as usize;
        let right = pool.swap_remove(j);
        let (l, r) = (left.1, right.1);
        let mut ops = vec![Op::Add, Op::Mul];
        if l > r {
            ops.push(Op::Sub);
        }
        if r > 1 && l % r == 0 {
            ops.push(Op::Div);
        }
        let op = *rng.choose(&ops)?;
        let value = match op {
            Op::Add => l.checked_add(r)?,
            Op::Sub => l - r,
            Op::Mul => l.checked_mul(r)?,
            Op::Div => l / r,
        };
        let step = Combine {
            left,
            right,
            op,
            value,
        };
        pool.push((render_step(&step), value));
        steps.push(step);
    }
    let value = pool.pop()?.1;
    Some((steps, value))
}

fn fallback(numbers: &[i64]) -> (Vec<Combine>, i64) {
    let (a, b) = (numbers[0], numbers[1]);
    let step = Combine {
        left: (a.to_string(), a),
        right: (b.to_string(), b),
        op: Op::Add,
        value: a + b,
    };
    (vec![step], a + b)
}

/// Writes `left op right`, parenthesising compound operands.
fn render_step(s: &Combine) -> String {
    let wrap = |t: &str| {
        if t.contains(' ') {
            format!("({t})")
        } else {
            t.to_string()
        }
    };
    format!("{} {} {}", wrap(&s.left.0), s.op.symbol(), wrap(&s.right.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_any_valid_expression() {
        let v = check_answer(&[25, 4, 3, 7], 103, "25 * 4 + 3");
        assert!(v.correct, "{v:?}");
        // Another valid route to the same target.
        assert!(
            check_answer(&[25, 4, 3, 7], 103, "(7 * 3 - 4) + 25 * 4 - 14 + 14 - 14")
                .reason
                .is_some()
        );
        assert!(check_answer(&[10, 5, 2], 4, "10 / 5 * 2").correct);
        assert!(check_answer(&[10, 5, 2], 4, "10 / 5 * 2 = 4").correct);
    }

    #[test]
    fn rejects_reuse_division_by_zero_and_code() {
        let reuse = check_answer(&[5, 3], 25, "5 * 5");
        assert!(!reuse.correct && reuse.reason.unwrap().contains("used more times"));
        let zero = check_answer(&[5, 1, 3, 3], 5, "5 + 1 / (3 - 3)");
        assert!(!zero.correct && zero.reason.unwrap().contains("division by zero"));
        let code = check_answer(&[5, 3], 8, "__import__('os').system('true') or 8");
        assert!(
            !code.correct
                && code
                    .reason
                    .unwrap()
                    .contains("not an arithmetic expression")
        );
        let foreign = check_answer(&[5, 3], 8, "4 + 4");
        assert!(!foreign.correct && foreign.reason.unwrap().contains("not among"));
        let neg = check_answer(&[5, 3], 2, "-3 + 5");
        assert!(!neg.correct);
        let wrong_rhs = check_answer(&[5, 3], 8, "5 + 3 = 9");
        assert!(!wrong_rhs.correct);
    }
}
