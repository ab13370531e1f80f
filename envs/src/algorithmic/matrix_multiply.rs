//! `matrix_multiply`: the product of two small integer matrices, every entry worked as a
//! row-by-column dot product (exact i64 arithmetic; entries are bounded by the config).

use crate::algorithmic::matrix_transpose::{check_matrix, random_matrix, MatrixConfig};
use crate::env::{Domain, Family, Problem};
use crate::kit::render;
use crate::kit::{gold_matrix, matrix_text, parse_matrix, reject};
use crate::rng::TaskRng;
use serde_json::json;
use std::fmt::Write;
use verigym_verifiers::{Verdict, VerifyError};

const TEMPLATE: &str = crate::template!("matrix_multiply");

pub struct MatrixMultiply {
    config: MatrixConfig,
}

impl Family for MatrixMultiply {
    type Config = MatrixConfig;
    const NAME: &'static str = "matrix_multiply";
    const DOMAIN: Domain = Domain::Algorithmic;
    const DESCRIPTION: &'static str = "Multiply two integer matrices, entry by entry";

    fn config_for(difficulty: u8) -> MatrixConfig {
        const MIN: [usize; 10] = [2, 2, 2, 2, 3, 3, 3, 3, 4, 4];
        const MAX: [usize; 10] = [2, 2, 3, 3, 3, 4, 4, 5, 5, 6];
        const HI: [i64; 10] = [5, 9, 9, 9, 9, 12, 15, 20, 20, 30];
        let d = usize::from(difficulty.clamp(1, 10)) - 1;
        MatrixConfig {
            min_dim: MIN[d],
            max_dim: MAX[d],
            min_value: if d >= 3 { -HI[d] } else { 0 },
            max_value: HI[d],
        }
    }

    fn new(config: MatrixConfig) -> Result<Self, String> {
        check_matrix(&config)?;
        Ok(MatrixMultiply { config })
    }

    // Entries are named by (i, j) as in the maths, so j indexes B and P together.
    #[allow(clippy::needless_range_loop)]
    fn generate(&self, rng: &mut TaskRng) -> Result<Problem, String> {
        let c = &self.config;
        let (m, k, n) = (
            rng.range_usize(c.min_dim, c.max_dim),
            rng.range_usize(c.min_dim, c.max_dim),
            rng.range_usize(c.min_dim, c.max_dim),
        );
        let a = random_matrix(rng, m, k, c);
        let b = random_matrix(rng, k, n, c);
        let mut thinking = String::from("Entry (i, j) is row i of A times column j of B.\n");
        let mut p = vec![vec![0i64; n]; m];
        for (i, row) in a.iter().enumerate() {
            for j in 0..n {
                // "(1, 2): 3*4 + 5*-6 = 12 + (-30) = -18": factors, products, sum.
                let mut factors = Vec::new();
                let mut products = Vec::new();
                let mut sum = 0i64;
                for (t, x) in row.iter().enumerate() {
                    let y = b.get(t).and_then(|r| r.get(j)).copied().unwrap_or(0);
                    let prod = x * y;
                    factors.push(format!("{x}*{y}"));
                    // A negative product after the first is bracketed: "+ (-30)".
                    products.push(if prod < 0 && t > 0 {
                        format!("({prod})")
                    } else {
                        prod.to_string()
                    });
                    sum += prod;
                }
                let _ = writeln!(
                    thinking,
                    "({}, {}): {} = {} = {sum}",
                    i + 1,
                    j + 1,
                    factors.join(" + "),
                    products.join(" + ")
                );
                p[i][j] = sum;
            }
        }
        let final_answer = matrix_text(&p);
        Ok(Problem {
            question: render(
                TEMPLATE,
                &[("a", &matrix_text(&a)), ("b", &matrix_text(&b))],
            ),
            answer: json!({ "matrix": p }),
            thinking,
            final_answer,
        })
    }

    fn verify(&self, gold: &serde_json::Value, answer: &str) -> Result<Verdict, VerifyError> {
        let gold = gold_matrix(gold, "matrix")?;
        Ok(match parse_matrix(answer) {
            Some(m) if m == gold => Verdict::correct(matrix_text(&m)),
            Some(_) => reject(answer, "not the product"),
            None => reject(answer, "answer is not a rectangular integer matrix"),
        })
    }
}
