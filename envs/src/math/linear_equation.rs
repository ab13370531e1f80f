//! `linear_equation`: one linear equation in one unknown (`a(x + b) = c x + d` and simpler
//! forms), solved by expanding, collecting the unknown on one side and dividing; exact
//! rational solutions.

use crate::env::{Domain, Family, Problem};
use crate::kit::render;
use crate::kit::{gold_str, level, unwrap_answer};
use crate::math::grade::{compare_rational, parse_rational, rational_str, strip_assignment};
use crate::rng::TaskRng;
use num_rational::BigRational;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::fmt::Write;
use verigym_verifiers::{Verdict, VerifyError};

const TEMPLATE: &str = crate::template!("linear_equation");

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinearEquationConfig {
    /// Coefficients and constants are drawn in -max_coefficient..=max_coefficient.
    pub max_coefficient: i64,
    /// Unknown on both sides (c x + d on the right).
    pub both_sides: bool,
    /// Bracketed forms a(x + b) that need expanding.
    pub brackets: bool,
    /// Allow non-integer (fractional) solutions.
    pub fractional: bool,
}

pub struct LinearEquation {
    config: LinearEquationConfig,
}

/// `a·v + b` as text: `3x - 5`, `-x`, `7`.
pub fn linear_text(a: i64, b: i64, v: &str) -> String {
    let mut s = match a {
        0 => String::new(),
        1 => v.to_string(),
        -1 => format!("-{v}"),
        _ => format!("{a}{v}"),
    };
    if s.is_empty() {
        return b.to_string();
    }
    if b > 0 {
        let _ = write!(s, " + {b}");
    } else if b < 0 {
        let _ = write!(s, " - {}", -b);
    }
    s
}

fn nonzero(rng: &mut TaskRng, m: i64) -> i64 {
    let v = rng.range(1, m);
    if rng.chance(0.5) {
        -v
    } else {
        v
    }
}

impl Family for LinearEquation {
    type Config = LinearEquationConfig;
    const NAME: &'static str = "linear_equation";
    const DOMAIN: Domain = Domain::Math;
    const DESCRIPTION: &'static str = "One linear equation in one unknown, exact rational solution";

    fn config_for(d: u8) -> LinearEquationConfig {
        LinearEquationConfig {
            max_coefficient: level(d, [9, 12, 15, 20, 25, 30, 50, 75, 100, 200]),
            both_sides: d >= 3,
            brackets: d >= 5,
            fractional: d >= 4,
        }
    }

    fn new(c: LinearEquationConfig) -> Result<Self, String> {
        if !(2..=1_000_000).contains(&c.max_coefficient) {
            return Err("max_coefficient must be in 2..=1000000".into());
        }
        Ok(LinearEquation { config: c })
    }

    fn generate(&self, rng: &mut TaskRng) -> Result<Problem, String> {
        let c = &self.config;
        let m = c.max_coefficient;
        let var = *rng
            .choose(&["x", "y", "n", "t", "k", "a", "m", "z"])
            .unwrap_or(&"x");
        // Left: p(v + q) or p v + q; right: r v + s (r = 0 unless both_sides).
        let bracket = c.brackets && rng.chance(0.5);
        let p = nonzero(rng, m);
        let q = rng.range(-m, m);
        let r = if c.both_sides {
            loop {
                let r = rng.range(-m, m);
                if r != p {
                    break r;
                }
            }
        } else {
            0
        };
        let (a, b) = if bracket { (p, p * q) } else { (p, q) };
        let s = if c.fractional && rng.chance(0.7) {
            rng.range(-m * 3, m * 3)
        } else {
            // An integer solution: s = (a - r)·x + b.
            let x = rng.range(-m, m);
            (a - r) * x + b
        };
        let left = if bracket {
            let inner = linear_text(1, q, var);
            if p == 1 {
                format!("({inner})")
            } else if p == -1 {
                format!("-({inner})")
            } else {
                format!("{p}({inner})")
            }
        } else {
            linear_text(a, b, var)
        };
        let right = linear_text(r, s, var);
        let equation = format!("{left} = {right}");
        let mut t = String::new();
        if bracket {
            let _ = writeln!(
                t,
                "Expand the bracket: {left} = {}.",
                linear_text(a, b, var)
            );
        }
        let _ = writeln!(t, "The equation is {} = {right}.", linear_text(a, b, var));
        if r != 0 {
            let _ = writeln!(
                t,
                "Subtract {} from both sides: {} = {s}.",
                linear_text(r, 0, var),
                linear_text(a - r, b, var)
            );
        }
        let k = a - r;
        if b != 0 {
            let _ = writeln!(
                t,
                "Subtract {b} from both sides: {} = {s} - ({b}) = {}.",
                linear_text(k, 0, var),
                s - b
            );
        }
        let x = BigRational::new((s - b).into(), k.into());
        let _ = write!(
            t,
            "Divide both sides by {k}: {var} = {}/{k} = {}.",
            s - b,
            rational_str(&x)
        );
        let ans = rational_str(&x);
        Ok(Problem {
            question: render(TEMPLATE, &[("var", var), ("equation", &equation)]),
            answer: json!({ "value": ans, "variable": var }),
            thinking: t,
            final_answer: format!("{var} = {ans}"),
        })
    }

    fn verify(&self, gold: &serde_json::Value, answer: &str) -> Result<Verdict, VerifyError> {
        let text = gold_str(gold, "value")?;
        let var = gold_str(gold, "variable")?;
        let g = parse_rational(text).ok_or_else(|| VerifyError::InvalidGold("value".into()))?;
        let a = strip_assignment(unwrap_answer(answer), &[var]);
        Ok(compare_rational(&g, text, a))
    }
}
