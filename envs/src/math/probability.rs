//! `probability`: exact probabilities as reduced fractions — dice sums, coin-flip counts,
//! drawing without replacement (hypergeometric), sequential draws and complements — each
//! worked as favourable over total outcomes with the counts shown.

use crate::env::{Domain, Family, Problem};
use crate::kit::level;
use crate::kit::render;
use crate::math::grade::{grade_rational, rational_str};
use crate::rng::TaskRng;
use num_bigint::BigInt;
use num_rational::BigRational;
use num_traits::{One, Zero};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::fmt::Write;
use verigym_verifiers::{Verdict, VerifyError};

const TEMPLATE: &str = crate::template!("probability");

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProbabilityConfig {
    /// Largest number of coins / rolls / balls drawn.
    pub max_trials: u64,
    /// Largest number of balls of one colour in an urn.
    pub max_balls: u64,
    /// Dice faces to draw from.
    pub dice: Vec<u64>,
}

pub struct Probability {
    config: ProbabilityConfig,
}

fn binom(n: u64, k: u64) -> BigInt {
    if k > n {
        return BigInt::zero();
    }
    let k = k.min(n - k);
    let mut v = BigInt::one();
    for i in 1..=k {
        v = v * (n - k + i) / i;
    }
    v
}

const COLOURS: &[(&str, &str)] = &[
    ("red", "blue"),
    ("green", "yellow"),
    ("black", "white"),
    ("orange", "purple"),
];

impl Family for Probability {
    type Config = ProbabilityConfig;
    const NAME: &'static str = "probability";
    const DOMAIN: Domain = Domain::Math;
    const DESCRIPTION: &'static str =
        "Exact probabilities as reduced fractions: dice, coins, urns, sequential draws, complements";

    fn config_for(d: u8) -> ProbabilityConfig {
        ProbabilityConfig {
            max_trials: level(d, [2, 3, 5, 6, 8, 10, 12, 15, 20, 30]),
            max_balls: level(d, [5, 8, 12, 15, 20, 25, 30, 40, 60, 100]),
            dice: match d {
                1..=2 => vec![6],
                3..=5 => vec![4, 6, 8],
                _ => vec![4, 6, 8, 10, 12, 20],
            },
        }
    }

    fn new(c: ProbabilityConfig) -> Result<Self, String> {
        if !(2..=200).contains(&c.max_trials) {
            return Err("max_trials must be in 2..=200".into());
        }
        if !(3..=10_000).contains(&c.max_balls) {
            return Err("max_balls must be in 3..=10000".into());
        }
        if c.dice.is_empty() || c.dice.iter().any(|f| !(2..=1000).contains(f)) {
            return Err("dice must list face counts in 2..=1000".into());
        }
        Ok(Probability { config: c })
    }

    fn generate(&self, rng: &mut TaskRng) -> Result<Problem, String> {
        let c = &self.config;
        let mut t = String::new();
        let (question, p): (String, BigRational) = match rng.below(5) {
            0 => {
                let f = *rng.choose(&c.dice).unwrap_or(&6);
                let s = rng.range(2, 2 * f as i64) as u64;
                let at_least = rng.chance(0.5);
                let pairs: Vec<(u64, u64)> = (1..=f)
                    .flat_map(|a| (1..=f).map(move |b| (a, b)))
                    .filter(|(a, b)| if at_least { a + b >= s } else { a + b == s })
                    .collect();
                let total = f * f;
                if at_least {
                    let _ = writeln!(t, "Two {f}-sided dice give {f} × {f} = {total} equally likely ordered outcomes.");
                    for first in 1..=f {
                        let k = pairs.iter().filter(|(a, _)| *a == first).count();
                        let _ =
                            writeln!(t, "First die {first}: {k} outcomes with sum at least {s}.");
                    }
                } else {
                    let list: Vec<String> =
                        pairs.iter().map(|(a, b)| format!("({a},{b})")).collect();
                    let _ = writeln!(t, "Two {f}-sided dice give {f} × {f} = {total} equally likely ordered outcomes.");
                    let _ = writeln!(
                        t,
                        "Outcomes with sum {s}: {}.",
                        if list.is_empty() {
                            "none".to_string()
                        } else {
                            list.join(" ")
                        }
                    );
                }
                let k = pairs.len() as u64;
                let p = BigRational::new(BigInt::from(k), BigInt::from(total));
                let _ = writeln!(
                    t,
                    "That is {k} of {total}, so the probability is {k}/{total} = {}.",
                    rational_str(&p)
                );
                let what = if at_least {
                    format!("at least {s}")
                } else {
                    format!("exactly {s}")
                };
                (format!("Two fair {f}-sided dice (faces 1 to {f}) are rolled. What is the probability that the sum is {what}?"), p)
            }
            1 => {
                let n = rng.range(2, c.max_trials as i64) as u64;
                let at_least = rng.chance(0.4);
                let k = rng.range(i64::from(at_least), n as i64) as u64;
                let total = BigInt::from(2).pow(n as u32);
                let _ = writeln!(t, "{n} fair coins: 2^{n} = {total} equally likely sequences; C({n}, j) of them have exactly j heads.");
                let mut fav = BigInt::zero();
                let range = if at_least { k..=n } else { k..=k };
                for j in range {
                    let b = binom(n, j);
                    let _ = writeln!(t, "C({n}, {j}) = {b}");
                    fav += b;
                }
                let p = BigRational::new(fav.clone(), total.clone());
                let _ = writeln!(
                    t,
                    "Favourable: {fav} of {total}, so the probability is {fav}/{total} = {}.",
                    rational_str(&p)
                );
                let what = if at_least {
                    format!("at least {k}")
                } else {
                    format!("exactly {k}")
                };
                (format!("{n} fair coins are tossed. What is the probability of getting {what} heads?"), p)
            }
            2 => {
                let (ca, cb) = *rng.choose(COLOURS).unwrap_or(&("red", "blue"));
                let r = rng.range(2, c.max_balls as i64) as u64;
                let b = rng.range(2, c.max_balls as i64) as u64;
                let m = rng.range(2, c.max_trials.min(r + b - 1).max(2) as i64) as u64;
                let j = rng.range(m.saturating_sub(b) as i64, m.min(r) as i64) as u64;
                let total = binom(r + b, m);
                let (x, y) = (binom(r, j), binom(b, m - j));
                let fav = &x * &y;
                let _ = writeln!(
                    t,
                    "Choose {m} of the {} balls: C({}, {m}) = {total} equally likely hands.",
                    r + b,
                    r + b
                );
                let _ = writeln!(
                    t,
                    "Exactly {j} {ca}: C({r}, {j}) × C({b}, {}) = {x} × {y} = {fav}.",
                    m - j
                );
                let p = BigRational::new(fav.clone(), total.clone());
                let _ = writeln!(t, "Probability = {fav}/{total} = {}.", rational_str(&p));
                (format!("A bag holds {r} {ca} and {b} {cb} balls. {m} balls are drawn at random without replacement. What is the probability that exactly {j} of them are {ca}?"), p)
            }
            3 => {
                let (ca, cb) = *rng.choose(COLOURS).unwrap_or(&("red", "blue"));
                let r = rng.range(2, c.max_balls as i64) as u64;
                let b = rng.range(1, c.max_balls as i64) as u64;
                let m = rng.range(2, c.max_trials.min(r).max(2) as i64) as u64;
                let mut p = BigRational::one();
                let mut factors = Vec::new();
                for i in 0..m {
                    let f = BigRational::new(BigInt::from(r - i), BigInt::from(r + b - i));
                    factors.push(format!("{}/{}", r - i, r + b - i));
                    p *= f;
                }
                let _ = writeln!(t, "Draw one at a time; each {ca} draw leaves one fewer {ca} ball and one fewer ball in all.");
                let _ = writeln!(t, "P = {} = {}.", factors.join(" × "), rational_str(&p));
                (format!("A box has {r} {ca} and {b} {cb} marbles. {m} marbles are taken out one after another without replacement. What is the probability that all {m} are {ca}?"), p)
            }
            _ => {
                let f = *rng.choose(&c.dice).unwrap_or(&6);
                let n = rng.range(2, c.max_trials.min(12) as i64) as u32;
                let none = BigRational::new(BigInt::from(f - 1).pow(n), BigInt::from(f).pow(n));
                let p = BigRational::one() - &none;
                let _ = writeln!(
                    t,
                    "Use the complement: P(no {f} in {n} rolls) = ({}/{f})^{n} = {}/{}.",
                    f - 1,
                    BigInt::from(f - 1).pow(n),
                    BigInt::from(f).pow(n)
                );
                let _ = writeln!(
                    t,
                    "P(at least one {f}) = 1 - {} = {}.",
                    rational_str(&none),
                    rational_str(&p)
                );
                (format!("A fair {f}-sided die (faces 1 to {f}) is rolled {n} times. What is the probability that at least one roll shows {f}?"), p)
            }
        };
        let ans = rational_str(&p);
        let _ = write!(t, "The probability is {ans}.");
        Ok(Problem {
            question: render(TEMPLATE, &[("question", &question)]),
            answer: json!({ "value": ans }),
            thinking: t,
            final_answer: ans,
        })
    }

    fn verify(&self, gold: &serde_json::Value, answer: &str) -> Result<Verdict, VerifyError> {
        grade_rational(gold, answer)
    }
}
