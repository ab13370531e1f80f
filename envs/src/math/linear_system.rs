//! `linear_system`: systems of two or three linear equations with integer coefficients and
//! exact rational solutions, solved by Gaussian elimination with the row operations shown,
//! then back-substitution.

use crate::env::{Domain, Family, Problem};
use crate::kit::render;
use crate::kit::{excerpt, level, unwrap_answer};
use crate::math::grade::{parse_rational, rational_str, MAX_ANSWER_BYTES};
use crate::rng::TaskRng;
use num_bigint::BigInt;
use num_rational::BigRational;
use num_traits::{One, Signed, Zero};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::BTreeMap;
use std::fmt::Write;
use verigym_verifiers::{Verdict, VerifyError};

const TEMPLATE: &str = crate::template!("linear_system");
const VARS: [&str; 3] = ["x", "y", "z"];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinearSystemConfig {
    /// Number of unknowns (2 or 3).
    pub unknowns: usize,
    /// Coefficients in -max_coefficient..=max_coefficient.
    pub max_coefficient: i64,
    /// Allow non-integer solutions.
    pub fractional: bool,
}

pub struct LinearSystem {
    config: LinearSystemConfig,
}

type Row = Vec<BigRational>;

fn q(v: i64) -> BigRational {
    BigRational::from_integer(BigInt::from(v))
}

fn eq_text(row: &[BigRational], n: usize) -> String {
    let mut s = String::new();
    for (i, c) in row.iter().take(n).enumerate() {
        if c.is_zero() {
            continue;
        }
        let mag = c.abs();
        let coef = if mag.is_one() {
            String::new()
        } else if mag.is_integer() {
            rational_str(&mag)
        } else {
            format!("({})", rational_str(&mag))
        };
        if s.is_empty() {
            let _ = write!(
                s,
                "{}{coef}{}",
                if c.is_negative() { "-" } else { "" },
                VARS[i]
            );
        } else {
            let _ = write!(
                s,
                " {} {coef}{}",
                if c.is_negative() { "-" } else { "+" },
                VARS[i]
            );
        }
    }
    if s.is_empty() {
        s.push('0');
    }
    format!("{s} = {}", rational_str(&row[n]))
}

impl Family for LinearSystem {
    type Config = LinearSystemConfig;
    const NAME: &'static str = "linear_system";
    const DOMAIN: Domain = Domain::Math;
    const DESCRIPTION: &'static str =
        "Systems of 2-3 linear equations with exact rational solutions, by Gaussian elimination";

    fn config_for(d: u8) -> LinearSystemConfig {
        LinearSystemConfig {
            unknowns: if d >= 6 { 3 } else { 2 },
            max_coefficient: level(d, [5, 9, 12, 15, 20, 6, 9, 12, 15, 20]),
            fractional: d >= 4,
        }
    }

    fn new(c: LinearSystemConfig) -> Result<Self, String> {
        if !(2..=3).contains(&c.unknowns) {
            return Err("unknowns must be 2 or 3".into());
        }
        if !(2..=10_000).contains(&c.max_coefficient) {
            return Err("max_coefficient must be in 2..=10000".into());
        }
        Ok(LinearSystem { config: c })
    }

    fn generate(&self, rng: &mut TaskRng) -> Result<Problem, String> {
        let c = &self.config;
        let n = c.unknowns;
        let m = c.max_coefficient;
        // Integer coefficient matrix with non-zero determinant.
        let (mat, sol) = loop {
            let mat: Vec<Vec<i64>> = (0..n)
                .map(|_| (0..n).map(|_| rng.range(-m, m)).collect())
                .collect();
            let rows: Vec<Row> = mat
                .iter()
                .map(|r| r.iter().map(|&v| q(v)).collect())
                .collect();
            if int_det(&mat) == 0 {
                continue;
            }
            let sol: Vec<BigRational> = if c.fractional && rng.chance(0.6) {
                // Integer right-hand sides; the solution is whatever it is (rational).
                let rhs: Vec<i64> = (0..n).map(|_| rng.range(-m * 4, m * 4)).collect();
                let mut aug: Vec<Row> = rows
                    .iter()
                    .zip(&rhs)
                    .map(|(r, &b)| {
                        let mut r = r.clone();
                        r.push(q(b));
                        r
                    })
                    .collect();
                solve(&mut aug, n, &mut String::new()).ok_or("singular")?
            } else {
                (0..n).map(|_| q(rng.range(-m, m))).collect()
            };
            break (rows, sol);
        };
        let aug: Vec<Row> = mat
            .iter()
            .map(|r| {
                let mut row = r.clone();
                let b: BigRational = r.iter().zip(&sol).map(|(a, x)| a * x).sum();
                row.push(b);
                row
            })
            .collect();
        let equations: Vec<String> = aug.iter().map(|r| eq_text(r, n)).collect();
        let mut t = String::from("Gaussian elimination on the equations:\n");
        for (i, e) in equations.iter().enumerate() {
            let _ = writeln!(t, "(E{}) {e}", i + 1);
        }
        let mut work = aug.clone();
        let got = solve(&mut work, n, &mut t).ok_or("singular system")?;
        let form = VARS[..n]
            .iter()
            .map(|v| format!("{v} = ..."))
            .collect::<Vec<_>>()
            .join(", ");
        let answer_text = VARS[..n]
            .iter()
            .zip(&got)
            .map(|(v, x)| format!("{v} = {}", rational_str(x)))
            .collect::<Vec<_>>()
            .join(", ");
        let _ = write!(t, "Solution: {answer_text}.");
        let gold: BTreeMap<&str, String> = VARS[..n]
            .iter()
            .zip(&got)
            .map(|(v, x)| (*v, rational_str(x)))
            .collect();
        Ok(Problem {
            question: render(
                TEMPLATE,
                &[("equations", &equations.join("\n")), ("form", &form)],
            ),
            answer: json!({ "values": gold }),
            thinking: t,
            final_answer: answer_text,
        })
    }

    fn verify(&self, gold: &serde_json::Value, answer: &str) -> Result<Verdict, VerifyError> {
        let want: BTreeMap<String, BigRational> = gold
            .get("values")
            .and_then(|v| v.as_object())
            .ok_or_else(|| VerifyError::InvalidGold("expected a values object".into()))?
            .iter()
            .map(|(k, v)| Some((k.clone(), parse_rational(v.as_str()?)?)))
            .collect::<Option<_>>()
            .ok_or_else(|| VerifyError::InvalidGold("bad values".into()))?;
        Ok(match parse_assignments(answer) {
            Some(got) if got == want => Verdict::correct(excerpt(answer)),
            Some(_) => Verdict::wrong(Some(excerpt(answer)), "wrong values"),
            None => Verdict::wrong(
                Some(excerpt(answer)),
                "answer is not of the form x = ..., y = ...",
            ),
        })
    }
}

/// Reads `x = 1, y = -2/3; z = 4` (also "and", `\frac`) into name -> value; a name given
/// twice or a part without `=` is malformed.
pub fn parse_assignments(answer: &str) -> Option<BTreeMap<String, BigRational>> {
    if answer.len() > MAX_ANSWER_BYTES {
        return None;
    }
    let s = unwrap_answer(answer)
        .replace(" and ", ",")
        .replace(';', ",");
    let s = s.trim().trim_start_matches('(').trim_end_matches(')');
    let mut out = BTreeMap::new();
    for part in s.split(',') {
        let (k, v) = part.split_once('=')?;
        let k = k.trim();
        if k.is_empty() || k.len() > 3 || !k.chars().all(|c| c.is_ascii_alphabetic()) {
            return None;
        }
        if out
            .insert(k.to_string(), parse_rational(v.trim())?)
            .is_some()
        {
            return None;
        }
    }
    Some(out)
}

/// Determinant of a 2x2 or 3x3 integer matrix (exact in i128).
fn int_det(m: &[Vec<i64>]) -> i128 {
    let g = |i: usize, j: usize| i128::from(m.get(i).and_then(|r| r.get(j)).copied().unwrap_or(0));
    match m.len() {
        2 => g(0, 0) * g(1, 1) - g(0, 1) * g(1, 0),
        3 => {
            g(0, 0) * (g(1, 1) * g(2, 2) - g(1, 2) * g(2, 1))
                - g(0, 1) * (g(1, 0) * g(2, 2) - g(1, 2) * g(2, 0))
                + g(0, 2) * (g(1, 0) * g(2, 1) - g(1, 1) * g(2, 0))
        }
        _ => 0,
    }
}

/// Eliminates below each pivot (with a line per row operation), then back-substitutes.
fn solve(aug: &mut [Row], n: usize, t: &mut String) -> Option<Vec<BigRational>> {
    for col in 0..n {
        let p = (col..n).find(|&r| !aug[r][col].is_zero())?;
        if p != col {
            aug.swap(p, col);
            let _ = writeln!(
                t,
                "Swap equations {} and {} so the pivot for {} is non-zero.",
                p + 1,
                col + 1,
                VARS[col]
            );
        }
        for r in col + 1..n {
            if aug[r][col].is_zero() {
                continue;
            }
            let f = &aug[r][col] / &aug[col][col];
            let pivot = aug[col].clone();
            for (x, p) in aug[r].iter_mut().zip(&pivot).skip(col) {
                *x -= &f * p;
            }
            let _ = writeln!(
                t,
                "Equation {} minus ({}) × equation {} removes {}: {}",
                r + 1,
                rational_str(&f),
                col + 1,
                VARS[col],
                eq_text(&aug[r], n)
            );
        }
    }
    let mut x = vec![BigRational::zero(); n];
    for i in (0..n).rev() {
        let mut rhs = aug[i][n].clone();
        for j in i + 1..n {
            rhs -= &aug[i][j] * &x[j];
        }
        x[i] = &rhs / &aug[i][i];
        let _ = writeln!(
            t,
            "From {}: {} = {} / {} = {}",
            eq_text(&aug[i], n),
            VARS[i],
            rational_str(&rhs),
            rational_str(&aug[i][i]),
            rational_str(&x[i])
        );
    }
    Some(x)
}
