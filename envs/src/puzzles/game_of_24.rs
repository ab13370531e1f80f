//! `game_of_24`: combine four numbers with + - * / into 24, each used exactly once (the
//! 24 game; reasoning-gym's `puzzle24`, the "Tree of Thoughts" benchmark task of Yao et al.
//! 2023). Harder levels draw hands with few solutions, counted by our own exhaustive search.
//!
//! Answers are parsed by our arithmetic parser and evaluated with exact rationals.

use crate::env::{Domain, Family, Problem};
use crate::kit::render;
use crate::kit::{read_gold, reject, Trace};
use crate::puzzles::arith_search::{count_solutions, solve_written, Rat, Rules};
use crate::rng::TaskRng;
use num_bigint::BigInt;
use num_rational::BigRational;
use serde::{Deserialize, Serialize};
use serde_json::json;
use verigym_verifiers::arith;
use verigym_verifiers::{Verdict, VerifyError};

const TEMPLATE: &str = crate::template!("game_of_24");

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GameOf24Config {
    /// How many numbers are dealt (4 in the classic game).
    pub count: usize,
    /// Numbers are drawn from 1..=max_number.
    pub max_number: u32,
    pub target: i64,
    /// Accepted hands have between min_solutions and max_solutions solutions (combination
    /// orders, counted up to 1000); fewer solutions is harder.
    pub min_solutions: usize,
    pub max_solutions: usize,
}

pub struct GameOf24 {
    config: GameOf24Config,
}

#[derive(Deserialize)]
struct Gold {
    numbers: Vec<i64>,
    target: i64,
}

/// Solutions are counted up to this many (more are not told apart).
const MAX_COUNTED: usize = 1000;

/// `count` numbers in 1..=max that add up to `target` (largest first), for a target in
/// count..=count * max: the hand of last resort when no random draw was solvable.
fn hand_adding_up_to(target: i64, count: usize, max: i64) -> Vec<i64> {
    let mut left = target;
    (0..count)
        .map(|i| {
            let still_to_fill = (count - i - 1) as i64;
            let n = (left - still_to_fill).min(max);
            left -= n;
            n
        })
        .collect()
}

impl Family for GameOf24 {
    type Config = GameOf24Config;
    const NAME: &'static str = "game_of_24";
    const DOMAIN: Domain = Domain::Puzzle;
    const DESCRIPTION: &'static str =
        "Make 24 from four numbers with + - * /, each used exactly once (exact fractions)";

    fn config_for(difficulty: u8) -> GameOf24Config {
        let d = usize::from(difficulty.clamp(1, 10));
        const MAX: [u32; 10] = [6, 8, 9, 10, 10, 12, 13, 13, 13, 13];
        const MIN_SOL: [usize; 10] = [60, 30, 15, 8, 1, 1, 1, 1, 1, 1];
        const MAX_SOL: [usize; 10] = [1000, 1000, 1000, 1000, 1000, 60, 30, 16, 8, 4];
        GameOf24Config {
            count: 4,
            max_number: MAX[d - 1],
            target: 24,
            min_solutions: MIN_SOL[d - 1],
            max_solutions: MAX_SOL[d - 1],
        }
    }

    fn new(config: GameOf24Config) -> Result<Self, String> {
        if !(2..=5).contains(&config.count) {
            return Err(format!("count ({}) must be in 2..=5", config.count));
        }
        if !(1..=100).contains(&config.max_number) {
            return Err("max_number must be in 1..=100".into());
        }
        if !(1..=10_000).contains(&config.target) {
            return Err("target must be in 1..=10000".into());
        }
        if config.min_solutions == 0 || config.min_solutions > config.max_solutions {
            return Err("min_solutions must be in 1..=max_solutions".into());
        }
        if config.max_solutions > MAX_COUNTED {
            return Err(format!("max_solutions must be at most {MAX_COUNTED}"));
        }
        // A hand whose numbers add up to the target always exists in this range, so
        // generation never runs out of solvable hands.
        let most = config.count as i64 * i64::from(config.max_number);
        if !(config.count as i64..=most).contains(&config.target) {
            return Err(format!(
                "target must be in count..=count * max_number ({}..={most}) so that a solvable hand exists",
                config.count
            ));
        }
        Ok(GameOf24 { config })
    }

    fn generate(&self, rng: &mut TaskRng) -> Result<Problem, String> {
        let c = &self.config;
        let target = Rat::int(c.target);
        let mut chosen: Option<Vec<i64>> = None;
        let mut solvable: Option<Vec<i64>> = None;
        // Bounded redraws; a solvable hand outside the solution-count window is the
        // fallback, and 6 4 1 1 (6 * 4 * 1 * 1) the last resort for the classic game.
        for _ in 0..400 {
            let hand: Vec<i64> = (0..c.count)
                .map(|_| rng.range(1, i64::from(c.max_number)))
                .collect();
            let pool: Vec<Rat> = hand.iter().map(|&n| Rat::int(n)).collect();
            let n = count_solutions(Rules::AllNumbers, &pool, target, c.max_solutions + 1);
            if n == 0 {
                continue;
            }
            if (c.min_solutions..=c.max_solutions).contains(&n) {
                chosen = Some(hand);
                break;
            }
            solvable.get_or_insert(hand);
        }
        let hand = chosen
            .or(solvable)
            .unwrap_or_else(|| hand_adding_up_to(c.target, c.count, i64::from(c.max_number)));
        let pool: Vec<Rat> = hand.iter().map(|&n| Rat::int(n)).collect();
        let listed = hand
            .iter()
            .map(|n| n.to_string())
            .collect::<Vec<_>>()
            .join(", ");
        let mut trace = Trace::new();
        trace.push(format!(
            "Make {target} from [{listed}], using every number once. Search: combine two \
             numbers, put the result back, closest results to {target} first."
        ));
        let found = solve_written(Rules::AllNumbers, &pool, target, 1_000_000, &mut trace)
            .ok_or("the search found no solution for a hand counted as solvable")?;
        let expression = found.expression;
        let thinking = trace.finish(format!("So {expression} = {target}."));
        Ok(Problem {
            question: render(
                TEMPLATE,
                &[("numbers", &listed), ("target", &c.target.to_string())],
            ),
            answer: json!({ "numbers": hand, "target": c.target }),
            thinking,
            final_answer: expression,
        })
    }

    fn verify(&self, gold: &serde_json::Value, answer: &str) -> Result<Verdict, VerifyError> {
        let g: Gold = read_gold(gold)?;
        Ok(check_answer(&g.numbers, g.target, answer))
    }
}

/// Grades an expression that must use exactly the given numbers and equal the target.
pub fn check_answer(numbers: &[i64], target: i64, answer: &str) -> Verdict {
    let expr_text = match answer.split_once('=') {
        Some((lhs, rhs)) => {
            if rhs.trim() != target.to_string() {
                return reject(
                    answer,
                    format!("right-hand side '{}' is not the target", rhs.trim()),
                );
            }
            lhs
        }
        None => answer,
    };
    let expr = match arith::parse(expr_text) {
        Ok(e) => e,
        Err(e) => return reject(answer, format!("not an arithmetic expression: {e}")),
    };
    if expr.has_negation() {
        return reject(answer, "unary minus is not allowed");
    }
    let mut used: Vec<BigInt> = expr.literals().into_iter().cloned().collect();
    let mut given: Vec<BigInt> = numbers.iter().map(|&n| BigInt::from(n)).collect();
    used.sort();
    given.sort();
    if used != given {
        return reject(
            answer,
            "the expression must use each given number exactly once",
        );
    }
    match expr.eval() {
        Ok(v) if v == BigRational::from_integer(BigInt::from(target)) => {
            Verdict::correct(expr_text.trim())
        }
        Ok(v) => reject(answer, format!("expression equals {v}, not {target}")),
        Err(e) => reject(answer, format!("expression cannot be evaluated: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_every_valid_expression_and_nothing_else() {
        assert!(check_answer(&[3, 3, 8, 8], 24, "8 / (3 - 8 / 3)").correct);
        assert!(check_answer(&[4, 6, 1, 1], 24, "4 * 6 * 1 * 1").correct);
        assert!(!check_answer(&[4, 6, 1, 1], 24, "(1 + 1 - 1 - 1 + 4) * 6 = 24").correct);
        assert!(check_answer(&[4, 6, 1, 1], 24, "(4 * 6) / (1 * 1)").correct);
        assert!(!check_answer(&[4, 6, 1, 1], 24, "4 * 6").correct);
        assert!(!check_answer(&[4, 6, 1, 1], 24, "4 * 6 * 1 * 1 = 25").correct);
        assert!(!check_answer(&[4, 6, 1, 1], 24, "-1 + 1 + 4 * 6 * 1").correct);
    }

    #[test]
    fn the_hand_of_last_resort_adds_up_to_the_target() {
        for (target, count, max) in [(24, 4, 6), (4, 4, 13), (30, 3, 10), (7, 2, 100)] {
            let hand = hand_adding_up_to(target, count, max);
            assert_eq!(hand.len(), count);
            assert_eq!(hand.iter().sum::<i64>(), target, "{hand:?}");
            assert!(hand.iter().all(|n| (1..=max).contains(n)), "{hand:?}");
        }
    }
}
