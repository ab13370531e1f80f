//! `n_queens`: complete a partly filled n-queens board (reasoning-gym's `n_queens`; the
//! classic backtracking exercise, Wirth 1971). Any non-attacking completion that keeps the
//! given queens is accepted: the verifier re-checks rows, columns and diagonals itself.
//!
//! The reference chain of thought is the row-by-row backtracking search, with the
//! attacked columns and every dead end written out.

use crate::env::{Domain, Family, Problem};
use crate::kit::render;
use crate::kit::{read_gold, read_grid, reject, Trace};
use crate::rng::TaskRng;
use serde::{Deserialize, Serialize};
use serde_json::json;
use verigym_verifiers::{Verdict, VerifyError};

const TEMPLATE: &str = crate::template!("n_queens");

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NQueensConfig {
    /// Board side.
    pub n: usize,
    /// Queens removed from a solution (the rest are given), drawn in [min_remove, max_remove].
    pub min_remove: usize,
    pub max_remove: usize,
}

pub struct NQueens {
    config: NQueensConfig,
}

#[derive(Deserialize)]
struct Gold {
    n: usize,
    /// Given queens as (row, column), 0-based.
    given: Vec<(usize, usize)>,
}

/// Columns attacked in `row` by the queens placed so far (`cols[r]` for rows r < row).
fn attacked(n: usize, placed: &[Option<usize>], row: usize) -> u32 {
    let mut m = 0u32;
    for (r, c) in placed.iter().enumerate() {
        if let Some(c) = *c {
            if r == row {
                continue;
            }
            let d = row.abs_diff(r);
            m |= 1 << c;
            if c + d < n {
                m |= 1 << (c + d);
            }
            if c >= d {
                m |= 1 << (c - d);
            }
        }
    }
    m
}

/// A random solution: backtracking over bit masks of taken columns and diagonals, with a
/// shuffled column order per row.
fn random_solution(n: usize, rng: &mut TaskRng) -> Option<Vec<usize>> {
    struct S<'a> {
        n: usize,
        orders: &'a [Vec<usize>],
        cols: Vec<usize>,
        budget: u32,
    }
    fn go(s: &mut S, row: usize, used: u32, d1: u64, d2: u64) -> bool {
        if row == s.n {
            return true;
        }
        if s.budget == 0 {
            return false;
        }
        s.budget -= 1;
        for k in 0..s.n {
            let c = s.orders[row][k];
            let (a, b) = (row + c, row + s.n - c);
            if used & (1 << c) != 0 || d1 & (1 << a) != 0 || d2 & (1 << b) != 0 {
                continue;
            }
            s.cols.push(c);
            if go(s, row + 1, used | 1 << c, d1 | 1 << a, d2 | 1 << b) {
                return true;
            }
            s.cols.pop();
        }
        false
    }
    let orders: Vec<Vec<usize>> = (0..n)
        .map(|_| {
            let mut o: Vec<usize> = (0..n).collect();
            rng.shuffle(&mut o);
            o
        })
        .collect();
    let mut s = S {
        n,
        orders: &orders,
        cols: Vec::with_capacity(n),
        budget: 200_000,
    };
    go(&mut s, 0, 0, 0, 0).then_some(s.cols)
}

fn col_list(m: u32, n: usize) -> String {
    let v: Vec<String> = (0..n)
        .filter(|c| m & (1 << c) != 0)
        .map(|c| (c + 1).to_string())
        .collect();
    if v.is_empty() {
        "none".into()
    } else {
        v.join(", ")
    }
}

/// Row-by-row backtracking from the givens, written out.
fn solve_written(
    n: usize,
    placed: &mut Vec<Option<usize>>,
    row: usize,
    fixed: &[bool],
    trace: &mut Trace,
) -> bool {
    if row == n {
        return true;
    }
    if fixed[row] {
        let c = placed[row].unwrap_or(0);
        if attacked(n, &placed[..row], row) & (1 << c) != 0 {
            trace.push(format!(
                "Row {}: the given queen in column {} is attacked; back up.",
                row + 1,
                c + 1
            ));
            return false;
        }
        trace.push(format!("Row {}: given queen in column {}.", row + 1, c + 1));
        return solve_written(n, placed, row + 1, fixed, trace);
    }
    // Columns attacked by the queens above and by the givens below.
    let mut m = attacked(n, &placed[..row], row);
    for r in row + 1..n {
        if let (true, Some(c)) = (fixed[r], placed[r]) {
            let d = r - row;
            m |= 1 << c;
            if c + d < n {
                m |= 1 << (c + d);
            }
            if c >= d {
                m |= 1 << (c - d);
            }
        }
    }
    let free: Vec<usize> = (0..n).filter(|c| m & (1 << c) == 0).collect();
    if free.is_empty() {
        trace.push(format!(
            "Row {}: every column is attacked; back up.",
            row + 1
        ));
        return false;
    }
    for c in free {
        trace.push(format!(
            "Row {}: attacked columns {}; place a queen in column {}.",
            row + 1,
            col_list(m, n),
            c + 1
        ));
        placed[row] = Some(c);
        if solve_written(n, placed, row + 1, fixed, trace) {
            return true;
        }
        placed[row] = None;
        trace.push(format!(
            "Row {}: column {} leads to a dead end; try the next column.",
            row + 1,
            c + 1
        ));
    }
    trace.push(format!("Row {}: no column left; back up.", row + 1));
    false
}

fn board(n: usize, cols: &[Option<usize>]) -> String {
    (0..n)
        .map(|r| {
            (0..n)
                .map(|c| {
                    if cols.get(r).copied().flatten() == Some(c) {
                        "Q"
                    } else {
                        "_"
                    }
                })
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

impl Family for NQueens {
    type Config = NQueensConfig;
    const NAME: &'static str = "n_queens";
    const DOMAIN: Domain = Domain::Puzzle;
    const DESCRIPTION: &'static str =
        "Complete an n-queens board from some given queens; any valid completion accepted";

    fn config_for(difficulty: u8) -> NQueensConfig {
        let d = usize::from(difficulty.clamp(1, 10));
        const N: [usize; 10] = [4, 5, 6, 6, 8, 8, 9, 10, 11, 12];
        let n = N[d - 1];
        let max_remove = (n * (d + 2) / 12).clamp(1, n);
        NQueensConfig {
            n,
            min_remove: (max_remove / 2).max(1),
            max_remove,
        }
    }

    fn new(config: NQueensConfig) -> Result<Self, String> {
        if !(4..=20).contains(&config.n) {
            return Err(format!("n ({}) must be in 4..=20", config.n));
        }
        if config.min_remove == 0
            || config.min_remove > config.max_remove
            || config.max_remove > config.n
        {
            return Err(
                "min_remove and max_remove must satisfy 1 <= min_remove <= max_remove <= n".into(),
            );
        }
        Ok(NQueens { config })
    }

    fn generate(&self, rng: &mut TaskRng) -> Result<Problem, String> {
        let n = self.config.n;
        let solution = random_solution(n, rng).ok_or("no n-queens solution within budget")?;
        let remove = rng.range_usize(self.config.min_remove, self.config.max_remove);
        let mut rows: Vec<usize> = (0..n).collect();
        rng.shuffle(&mut rows);
        let mut placed: Vec<Option<usize>> = solution.iter().map(|&c| Some(c)).collect();
        for &r in &rows[..remove] {
            placed[r] = None;
        }
        let given: Vec<(usize, usize)> = placed
            .iter()
            .enumerate()
            .filter_map(|(r, c)| c.map(|c| (r, c)))
            .collect();
        let fixed: Vec<bool> = placed.iter().map(Option::is_some).collect();
        let prompt_board = board(n, &placed);
        let mut trace = Trace::new();
        trace.push(format!(
            "{} queens given, {} to place, one per row. Go row by row from the top, trying free columns left to right.",
            given.len(),
            remove
        ));
        if !solve_written(n, &mut placed, 0, &fixed, &mut trace) {
            return Err("the search found no completion of a solvable board".into());
        }
        let answer = board(n, &placed);
        Ok(Problem {
            question: render(
                TEMPLATE,
                &[
                    ("n", &n.to_string()),
                    ("given", &given.len().to_string()),
                    ("board", &prompt_board),
                ],
            ),
            answer: json!({ "n": n, "given": given }),
            thinking: trace.finish("Every row has a queen and none attack each other."),
            final_answer: answer,
        })
    }

    fn verify(&self, gold: &serde_json::Value, answer: &str) -> Result<Verdict, VerifyError> {
        let g: Gold = read_gold(gold)?;
        if !(1..=32).contains(&g.n) {
            return Err(VerifyError::InvalidGold("n out of range".into()));
        }
        Ok(check(g.n, &g.given, answer))
    }
}

/// Grades a board: exactly one queen per row, no shared column or diagonal, givens kept.
pub fn check(n: usize, given: &[(usize, usize)], answer: &str) -> Verdict {
    let Some(rows) = read_grid(answer, n, n) else {
        return reject(answer, format!("expected {n} rows of {n} squares"));
    };
    let mut cols = Vec::with_capacity(n);
    for (r, row) in rows.iter().enumerate() {
        let mut q = None;
        for (c, ch) in row.iter().enumerate() {
            match ch {
                'Q' | 'q' => {
                    if q.is_some() {
                        return reject(answer, format!("row {} has two queens", r + 1));
                    }
                    q = Some(c);
                }
                '_' | '.' => {}
                other => return reject(answer, format!("'{other}' is not Q or _")),
            }
        }
        match q {
            Some(c) => cols.push(c),
            None => return reject(answer, format!("row {} has no queen", r + 1)),
        }
    }
    for &(r, c) in given {
        if cols.get(r) != Some(&c) {
            return reject(
                answer,
                format!(
                    "the given queen at row {}, column {} is missing",
                    r + 1,
                    c + 1
                ),
            );
        }
    }
    for a in 0..n {
        for b in a + 1..n {
            if cols[a] == cols[b] || b - a == cols[a].abs_diff(cols[b]) {
                return reject(
                    answer,
                    format!(
                        "the queens in rows {} and {} attack each other",
                        a + 1,
                        b + 1
                    ),
                );
            }
        }
    }
    Verdict::correct(board(n, &cols.into_iter().map(Some).collect::<Vec<_>>()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_both_solutions_of_the_empty_four_board() {
        assert!(check(4, &[], "_Q__\n___Q\nQ___\n__Q_").correct);
        assert!(check(4, &[], "__Q_\nQ___\n___Q\n_Q__").correct);
        assert!(!check(4, &[(0, 1)], "__Q_\nQ___\n___Q\n_Q__").correct);
        assert!(!check(4, &[], "Q___\n__Q_\n____\n_Q__").correct);
        assert!(!check(4, &[], "Q___\n_Q__\n__Q_\n___Q").correct);
    }
}
