//! `polynomial_expansion`: expand a product of linear and quadratic factors with integer
//! coefficients, multiplying one factor at a time and collecting like terms; the answer is
//! compared coefficient by coefficient.

use crate::env::{Domain, Family, Problem};
use crate::kit::render;
use crate::kit::{excerpt, level};
use crate::math::polynomial::{parse_poly, Poly};
use crate::rng::TaskRng;
use num_bigint::BigInt;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::fmt::Write;
use verigym_verifiers::{Verdict, VerifyError};

const TEMPLATE: &str = crate::template!("polynomial_expansion");

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolynomialExpansionConfig {
    /// Number of factors, drawn in [2, max_factors].
    pub max_factors: usize,
    /// Coefficients drawn in -max_coefficient..=max_coefficient.
    pub max_coefficient: i64,
    /// Probability that a factor is quadratic rather than linear.
    pub quadratic_probability: f64,
}

pub struct PolynomialExpansion {
    config: PolynomialExpansionConfig,
}

fn factor_text(p: &Poly) -> String {
    format!("({})", p.text("x"))
}

impl Family for PolynomialExpansion {
    type Config = PolynomialExpansionConfig;
    const NAME: &'static str = "polynomial_expansion";
    const DOMAIN: Domain = Domain::Math;
    const DESCRIPTION: &'static str =
        "Expand products of linear and quadratic factors, collecting like terms";

    fn config_for(d: u8) -> PolynomialExpansionConfig {
        PolynomialExpansionConfig {
            max_factors: level(d, [2, 2, 3, 3, 3, 4, 4, 4, 5, 5]),
            max_coefficient: level(d, [5, 9, 9, 12, 12, 12, 15, 15, 20, 20]),
            quadratic_probability: level(d, [0.0, 0.0, 0.3, 0.2, 0.3, 0.4, 0.3, 0.4, 0.4, 0.5]),
        }
    }

    fn new(c: PolynomialExpansionConfig) -> Result<Self, String> {
        if !(2..=10).contains(&c.max_factors) {
            return Err("max_factors must be in 2..=10".into());
        }
        if !(2..=1000).contains(&c.max_coefficient) {
            return Err("max_coefficient must be in 2..=1000".into());
        }
        if !(0.0..=1.0).contains(&c.quadratic_probability) {
            return Err("quadratic_probability must be in [0, 1]".into());
        }
        Ok(PolynomialExpansion { config: c })
    }

    fn generate(&self, rng: &mut TaskRng) -> Result<Problem, String> {
        let c = &self.config;
        let n = rng.range_usize(2, c.max_factors);
        let m = c.max_coefficient;
        let mut factors = Vec::with_capacity(n);
        for _ in 0..n {
            let quad = rng.chance(c.quadratic_probability);
            let lead = loop {
                let v = rng.range(-m.min(6), m.min(6));
                if v != 0 {
                    break v;
                }
            };
            let f = if quad {
                Poly::from_i64(&[rng.range(-m, m), rng.range(-m, m), lead])
            } else {
                let k = loop {
                    let v = rng.range(-m, m);
                    if v != 0 {
                        break v;
                    }
                };
                Poly::from_i64(&[k, lead])
            };
            factors.push(f);
        }
        let expr: String = factors.iter().map(factor_text).collect();
        let mut t = String::new();
        let mut acc = factors.first().cloned().ok_or("no factors")?;
        for f in factors.iter().skip(1) {
            let _ = writeln!(
                t,
                "Multiply {} by {}: each term of the first times each term of the second.",
                factor_text(&acc),
                factor_text(f)
            );
            let mut parts = Vec::new();
            for (i, a) in acc.0.iter().enumerate().rev() {
                if a == &BigInt::from(0) {
                    continue;
                }
                let mut one = vec![BigInt::from(0); i + 1];
                one[i] = a.clone();
                let term = Poly(one);
                parts.push(format!(
                    "{} × {} = {}",
                    term.text("x"),
                    factor_text(f),
                    term.mul(f).text("x")
                ));
            }
            let _ = writeln!(t, "{}", parts.join("; "));
            acc = acc.mul(f);
            let _ = writeln!(t, "Collecting like terms: {}", acc.text("x"));
        }
        let ans = acc.text("x");
        let _ = write!(t, "So the expansion is {ans}.");
        let coefs: Vec<String> = acc.0.iter().map(BigInt::to_string).collect();
        Ok(Problem {
            question: render(TEMPLATE, &[("expr", &expr)]),
            answer: json!({ "coefficients": coefs }),
            thinking: t,
            final_answer: ans,
        })
    }

    fn verify(&self, gold: &serde_json::Value, answer: &str) -> Result<Verdict, VerifyError> {
        let want = gold_poly(gold)?;
        Ok(match parse_poly(answer, 'x') {
            Some(p) if p == want => Verdict::correct(p.text("x")),
            Some(p) => Verdict::wrong(Some(p.text("x")), format!("expected {}", want.text("x"))),
            None => Verdict::wrong(
                Some(excerpt(answer)),
                "answer is not an expanded polynomial in x",
            ),
        })
    }
}

/// The gold polynomial `{"coefficients": ["c0", "c1", ...]}`.
pub fn gold_poly(gold: &serde_json::Value) -> Result<Poly, VerifyError> {
    let v: Vec<BigInt> = gold
        .get("coefficients")
        .and_then(|c| c.as_array())
        .ok_or_else(|| VerifyError::InvalidGold("expected coefficients".into()))?
        .iter()
        .map(|c| c.as_str().and_then(|s| s.parse().ok()))
        .collect::<Option<_>>()
        .ok_or_else(|| VerifyError::InvalidGold("bad coefficient".into()))?;
    Ok(Poly(v))
}
