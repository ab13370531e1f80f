//! `matrix_transpose`: transpose an integer matrix (reasoning-gym `manipulate_matrix`'s
//! transpose step). The reference reads each column top to bottom into a row.

use crate::env::{Domain, Family, Problem};
use crate::kit::render;
use crate::kit::{gold_matrix, join_ints, matrix_text, parse_matrix, reject};
use crate::rng::TaskRng;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::fmt::Write;
use verigym_verifiers::{Verdict, VerifyError};

const TEMPLATE: &str = crate::template!("matrix_transpose");

/// Matrix shape and entry range, shared by the matrix families.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MatrixConfig {
    /// Each dimension drawn uniformly in [min_dim, max_dim].
    pub min_dim: usize,
    pub max_dim: usize,
    /// Entries drawn uniformly in [min_value, max_value].
    pub min_value: i64,
    pub max_value: i64,
}

/// Validates a matrix config.
pub fn check_matrix(c: &MatrixConfig) -> Result<(), String> {
    if c.min_dim == 0 || c.min_dim > c.max_dim || c.max_dim > 30 {
        return Err("min_dim must be in 1..=max_dim, max_dim at most 30".into());
    }
    if c.min_value > c.max_value || c.min_value < -1_000_000 || c.max_value > 1_000_000 {
        return Err("min_value must be <= max_value, both within +-1000000".into());
    }
    Ok(())
}

/// A random `rows` x `cols` matrix.
pub fn random_matrix(
    rng: &mut TaskRng,
    rows: usize,
    cols: usize,
    c: &MatrixConfig,
) -> Vec<Vec<i64>> {
    (0..rows)
        .map(|_| {
            (0..cols)
                .map(|_| rng.range(c.min_value, c.max_value))
                .collect()
        })
        .collect()
}

pub struct MatrixTranspose {
    config: MatrixConfig,
}

impl Family for MatrixTranspose {
    type Config = MatrixConfig;
    const NAME: &'static str = "matrix_transpose";
    const DOMAIN: Domain = Domain::Algorithmic;
    const DESCRIPTION: &'static str = "Transpose an integer matrix";

    fn config_for(difficulty: u8) -> MatrixConfig {
        const MIN: [usize; 10] = [2, 2, 2, 3, 3, 3, 4, 4, 5, 6];
        const MAX: [usize; 10] = [2, 3, 3, 4, 4, 5, 5, 6, 7, 8];
        let d = usize::from(difficulty.clamp(1, 10)) - 1;
        let hi = if d < 4 { 9 } else { 99 };
        MatrixConfig {
            min_dim: MIN[d],
            max_dim: MAX[d],
            min_value: if d >= 6 { -hi } else { 0 },
            max_value: hi,
        }
    }

    fn new(config: MatrixConfig) -> Result<Self, String> {
        check_matrix(&config)?;
        Ok(MatrixTranspose { config })
    }

    fn generate(&self, rng: &mut TaskRng) -> Result<Problem, String> {
        let c = &self.config;
        let (r, k) = (
            rng.range_usize(c.min_dim, c.max_dim),
            rng.range_usize(c.min_dim, c.max_dim),
        );
        let m = random_matrix(rng, r, k, c);
        let t: Vec<Vec<i64>> = (0..k)
            .map(|j| {
                m.iter()
                    .map(|row| row.get(j).copied().unwrap_or(0))
                    .collect()
            })
            .collect();
        let mut thinking = format!(
            "The matrix is {r}x{k}, so the transpose is {k}x{r}. Column j, read top to bottom, becomes row j:\n"
        );
        for (j, row) in t.iter().enumerate() {
            let _ = writeln!(thinking, "column {}: {}", j + 1, join_ints(row, " "));
        }
        let final_answer = matrix_text(&t);
        Ok(Problem {
            question: render(TEMPLATE, &[("matrix", &matrix_text(&m))]),
            answer: json!({ "matrix": t }),
            thinking,
            final_answer,
        })
    }

    fn verify(&self, gold: &serde_json::Value, answer: &str) -> Result<Verdict, VerifyError> {
        let gold = gold_matrix(gold, "matrix")?;
        Ok(match parse_matrix(answer) {
            Some(m) if m == gold => Verdict::correct(matrix_text(&m)),
            Some(_) => reject(answer, "not the transpose"),
            None => reject(answer, "answer is not a rectangular integer matrix"),
        })
    }
}
