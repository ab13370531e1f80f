//! `polynomial_evaluation`: evaluate an integer polynomial at an integer point by Horner's
//! rule, one multiply-add per line (big integers).

use crate::env::{Domain, Family, Problem};
use crate::kit::level;
use crate::kit::render;
use crate::math::grade::grade_integer;
use crate::math::polynomial::Poly;
use crate::rng::TaskRng;
use num_bigint::BigInt;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::fmt::Write;
use verigym_verifiers::{Verdict, VerifyError};

const TEMPLATE: &str = crate::template!("polynomial_evaluation");

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolynomialEvaluationConfig {
    /// Degree drawn in [2, max_degree].
    pub max_degree: usize,
    /// Coefficients in -max_coefficient..=max_coefficient.
    pub max_coefficient: i64,
    /// The point x in -max_x..=max_x.
    pub max_x: i64,
}

pub struct PolynomialEvaluation {
    config: PolynomialEvaluationConfig,
}

impl Family for PolynomialEvaluation {
    type Config = PolynomialEvaluationConfig;
    const NAME: &'static str = "polynomial_evaluation";
    const DOMAIN: Domain = Domain::Math;
    const DESCRIPTION: &'static str = "Evaluate an integer polynomial at a point by Horner's rule";

    fn config_for(d: u8) -> PolynomialEvaluationConfig {
        PolynomialEvaluationConfig {
            max_degree: level(d, [2, 3, 3, 4, 5, 6, 7, 8, 10, 12]),
            max_coefficient: level(d, [5, 9, 12, 15, 20, 30, 50, 75, 100, 200]),
            max_x: level(d, [3, 5, 6, 8, 10, 12, 15, 20, 30, 50]),
        }
    }

    fn new(c: PolynomialEvaluationConfig) -> Result<Self, String> {
        if !(2..=40).contains(&c.max_degree) {
            return Err("max_degree must be in 2..=40".into());
        }
        if !(1..=1_000_000).contains(&c.max_coefficient) || !(1..=1_000_000).contains(&c.max_x) {
            return Err("max_coefficient and max_x must be in 1..=1000000".into());
        }
        Ok(PolynomialEvaluation { config: c })
    }

    fn generate(&self, rng: &mut TaskRng) -> Result<Problem, String> {
        let c = &self.config;
        let deg = rng.range_usize(2, c.max_degree);
        let mut coefs: Vec<i64> = (0..deg)
            .map(|_| rng.range(-c.max_coefficient, c.max_coefficient))
            .collect();
        let lead = loop {
            let v = rng.range(-c.max_coefficient, c.max_coefficient);
            if v != 0 {
                break v;
            }
        };
        coefs.push(lead);
        let p = Poly::from_i64(&coefs);
        let x = BigInt::from(rng.range(-c.max_x, c.max_x));
        let poly = p.text("x");
        let mut t = format!(
            "Horner's rule: rewrite p(x) as nested multiply-adds and evaluate at x = {x}.\n"
        );
        let v = p.horner(&x, &mut t);
        let _ = write!(t, "So p({x}) = {v}.");
        Ok(Problem {
            question: render(TEMPLATE, &[("poly", &poly), ("x", &x.to_string())]),
            answer: json!({ "value": v.to_string() }),
            thinking: t,
            final_answer: v.to_string(),
        })
    }

    fn verify(&self, gold: &serde_json::Value, answer: &str) -> Result<Verdict, VerifyError> {
        grade_integer(gold, answer)
    }
}
