//! `sudoku` (4x4, 6x6, 9x9) and `mini_sudoku` (4x4): fill the grid so every row, column
//! and box holds each digit once. Puzzles have a unique solution, checked by our own
//! bitmask solver while givens are removed (the dig-holes method, cf. reasoning-gym's
//! `sudoku` / `mini_sudoku`).
//!
//! The reference chain of thought solves like a person: naked and hidden singles first,
//! then a guess on the cell with fewest candidates, with contradictions and undos written
//! out. The verifier re-checks every row, column and box of the answer and the givens,
//! so any valid completion is accepted.

use crate::env::{Domain, Family, Problem};
use crate::kit::render;
use crate::kit::{read_gold, read_grid, reject, Trace};
use crate::rng::TaskRng;
use serde::{Deserialize, Serialize};
use serde_json::json;
use verigym_verifiers::{Verdict, VerifyError};

const SUDOKU_TEMPLATE: &str = crate::template!("sudoku");
const MINI_TEMPLATE: &str = crate::template!("mini_sudoku");

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SudokuConfig {
    /// Box height and width; the grid side is their product (at most 9).
    pub box_rows: usize,
    pub box_cols: usize,
    /// Givens to keep; holes are dug while the solution stays unique, so a grid may keep
    /// a few more when no further given can go.
    pub clues: usize,
}

fn check_config(c: &SudokuConfig) -> Result<(), String> {
    // Checked: a fuzzed size like usize::MAX must be refused, not overflow.
    let n = c.box_rows.saturating_mul(c.box_cols);
    if c.box_rows == 0 || c.box_cols == 0 || !(4..=9).contains(&n) {
        return Err(format!(
            "box_rows * box_cols ({n}) must be in 4..=9 with both at least 1"
        ));
    }
    if c.clues > n * n {
        return Err(format!("clues ({}) must be at most {}", c.clues, n * n));
    }
    Ok(())
}

pub struct Sudoku {
    config: SudokuConfig,
}

pub struct MiniSudoku {
    config: SudokuConfig,
}

#[derive(Deserialize)]
struct Gold {
    box_rows: usize,
    box_cols: usize,
    /// Row-major digits, 0 for empty.
    puzzle: String,
}

/// The geometry of a grid.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    pub br: usize,
    pub bc: usize,
    pub n: usize,
}

impl Shape {
    pub fn new(br: usize, bc: usize) -> Shape {
        Shape { br, bc, n: br * bc }
    }
    fn bx(&self, r: usize, c: usize) -> usize {
        (r / self.br) * (self.n / self.bc) + c / self.bc
    }
}

/// Candidate masks of rows, columns and boxes: bit d set means digit d+1 is used.
#[derive(Clone)]
struct State {
    cells: Vec<u8>,
    rows: [u16; 9],
    cols: [u16; 9],
    boxes: [u16; 9],
}

impl State {
    fn new(shape: Shape, cells: &[u8]) -> Option<State> {
        let mut s = State {
            cells: vec![0; shape.n * shape.n],
            rows: [0; 9],
            cols: [0; 9],
            boxes: [0; 9],
        };
        for (i, &v) in cells.iter().enumerate() {
            if v != 0 {
                if s.candidates(shape, i) & (1 << (v - 1)) == 0 {
                    return None;
                }
                s.place(shape, i, v);
            }
        }
        Some(s)
    }
    fn place(&mut self, shape: Shape, i: usize, v: u8) {
        let (r, c) = (i / shape.n, i % shape.n);
        let bit = 1u16 << (v - 1);
        self.cells[i] = v;
        self.rows[r] |= bit;
        self.cols[c] |= bit;
        self.boxes[shape.bx(r, c)] |= bit;
    }
    fn candidates(&self, shape: Shape, i: usize) -> u16 {
        let (r, c) = (i / shape.n, i % shape.n);
        let full = (1u16 << shape.n) - 1;
        full & !(self.rows[r] | self.cols[c] | self.boxes[shape.bx(r, c)])
    }
}

/// Counts solutions up to `limit` (backtracking on the cell with fewest candidates).
fn count(shape: Shape, s: &mut State, limit: usize) -> usize {
    let mut best: Option<(usize, u16)> = None;
    for i in 0..s.cells.len() {
        if s.cells[i] == 0 {
            let m = s.candidates(shape, i);
            if m == 0 {
                return 0;
            }
            if best.is_none_or(|(_, b)| m.count_ones() < b.count_ones()) {
                best = Some((i, m));
                if m.count_ones() == 1 {
                    break;
                }
            }
        }
    }
    let Some((i, mut m)) = best else {
        return 1;
    };
    let mut total = 0;
    while m != 0 && total < limit {
        let d = m.trailing_zeros() as u8 + 1;
        m &= m - 1;
        let saved = (s.rows, s.cols, s.boxes);
        s.place(shape, i, d);
        total += count(shape, s, limit - total);
        s.cells[i] = 0;
        (s.rows, s.cols, s.boxes) = saved;
    }
    total
}

/// The number of solutions of a puzzle, up to `limit`.
pub fn solutions(shape: Shape, cells: &[u8], limit: usize) -> usize {
    State::new(shape, cells).map_or(0, |mut s| count(shape, &mut s, limit))
}

/// A random complete grid: the banded base pattern with digits, rows within bands,
/// bands, columns within stacks and stacks shuffled.
fn full_grid(shape: Shape, rng: &mut TaskRng) -> Vec<u8> {
    let Shape { br, bc, n } = shape;
    let mut digits: Vec<u8> = (1..=n as u8).collect();
    rng.shuffle(&mut digits);
    let order = |rng: &mut TaskRng, group: usize, groups: usize| {
        let mut gs: Vec<usize> = (0..groups).collect();
        rng.shuffle(&mut gs);
        let mut out = Vec::with_capacity(group * groups);
        for g in gs {
            let mut inner: Vec<usize> = (0..group).collect();
            rng.shuffle(&mut inner);
            out.extend(inner.into_iter().map(|k| g * group + k));
        }
        out
    };
    let rows = order(rng, br, n / br);
    let cols = order(rng, bc, n / bc);
    let mut g = vec![0u8; n * n];
    for (r, &rr) in rows.iter().enumerate() {
        for (c, &cc) in cols.iter().enumerate() {
            g[r * n + c] = digits[(bc * (rr % br) + rr / br + cc) % n];
        }
    }
    g
}

/// Digs holes in random order while the solution stays unique, down to `clues` givens.
fn dig(shape: Shape, full: &[u8], clues: usize, rng: &mut TaskRng) -> Vec<u8> {
    let mut puzzle = full.to_vec();
    let mut order: Vec<usize> = (0..puzzle.len()).collect();
    rng.shuffle(&mut order);
    let mut left = puzzle.len();
    for i in order {
        if left <= clues {
            break;
        }
        let v = puzzle[i];
        puzzle[i] = 0;
        if solutions(shape, &puzzle, 2) == 1 {
            left -= 1;
        } else {
            puzzle[i] = v;
        }
    }
    puzzle
}

fn cell_name(shape: Shape, i: usize) -> String {
    format!("r{}c{}", i / shape.n + 1, i % shape.n + 1)
}

fn mask_list(m: u16) -> String {
    (0..16)
        .filter(|d| m & (1 << d) != 0)
        .map(|d| (d + 1).to_string())
        .collect::<Vec<_>>()
        .join(",")
}

/// Solves by singles, guessing when stuck, and writes every step. Returns the solution.
fn solve_written(shape: Shape, s: State, trace: &mut Trace) -> Option<State> {
    let mut s = s;
    let n = shape.n;
    loop {
        if s.cells.iter().all(|&v| v != 0) {
            return Some(s);
        }
        // Naked single: a cell with one candidate; a cell with none is a contradiction.
        let mut progress = false;
        for i in 0..n * n {
            if s.cells[i] != 0 {
                continue;
            }
            let m = s.candidates(shape, i);
            if m == 0 {
                trace.push(format!(
                    "{} has no candidate left: contradiction.",
                    cell_name(shape, i)
                ));
                return None;
            }
            if m.count_ones() == 1 {
                let d = m.trailing_zeros() as u8 + 1;
                trace.push(format!(
                    "{} = {d} (the only candidate)",
                    cell_name(shape, i)
                ));
                s.place(shape, i, d);
                progress = true;
            }
        }
        if progress {
            continue;
        }
        // Hidden single: a digit with one place left in a row, column or box.
        'units: for unit in 0..3 * n {
            for d in 0..n as u8 {
                let bit = 1u16 << d;
                let mut spot = None;
                let mut places = 0;
                for k in 0..n {
                    let i = unit_cell(shape, unit, k);
                    if s.cells[i] == d + 1 {
                        places = 2;
                        break;
                    }
                    if s.cells[i] == 0 && s.candidates(shape, i) & bit != 0 {
                        places += 1;
                        spot = Some(i);
                    }
                }
                if places == 0 {
                    trace.push(format!(
                        "{} has no place for {}: contradiction.",
                        unit_name(shape, unit),
                        d + 1
                    ));
                    return None;
                }
                if let (1, Some(i)) = (places, spot) {
                    trace.push(format!(
                        "{} = {} (the only place for {} in {})",
                        cell_name(shape, i),
                        d + 1,
                        d + 1,
                        unit_name(shape, unit)
                    ));
                    s.place(shape, i, d + 1);
                    progress = true;
                    break 'units;
                }
            }
        }
        if progress {
            continue;
        }
        // Stuck: guess on the cell with the fewest candidates.
        let (i, m) = (0..n * n)
            .filter(|&i| s.cells[i] == 0)
            .map(|i| (i, s.candidates(shape, i)))
            .min_by_key(|(_, m)| m.count_ones())?;
        let mut rest = m;
        while rest != 0 {
            let d = rest.trailing_zeros() as u8 + 1;
            rest &= rest - 1;
            trace.push(format!(
                "No singles left. Guess {} = {d} (candidates {}).",
                cell_name(shape, i),
                mask_list(m)
            ));
            let mut t = s.clone();
            t.place(shape, i, d);
            if let Some(done) = solve_written(shape, t, trace) {
                return Some(done);
            }
            trace.push(format!("Undo the guess {} = {d}.", cell_name(shape, i)));
        }
        return None;
    }
}

fn unit_cell(shape: Shape, unit: usize, k: usize) -> usize {
    let n = shape.n;
    match unit / n {
        0 => (unit % n) * n + k,
        1 => k * n + unit % n,
        _ => {
            let b = unit % n;
            let (r0, c0) = (
                (b / (n / shape.bc)) * shape.br,
                (b % (n / shape.bc)) * shape.bc,
            );
            (r0 + k / shape.bc) * n + c0 + k % shape.bc
        }
    }
}

fn unit_name(shape: Shape, unit: usize) -> String {
    let n = shape.n;
    match unit / n {
        0 => format!("row {}", unit % n + 1),
        1 => format!("column {}", unit % n + 1),
        _ => format!("box {}", unit % n + 1),
    }
}

fn show(shape: Shape, cells: &[u8], empty: &str) -> String {
    cells
        .chunks(shape.n)
        .map(|row| {
            row.iter()
                .map(|&v| {
                    if v == 0 {
                        empty.to_string()
                    } else {
                        v.to_string()
                    }
                })
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn generate(config: &SudokuConfig, template: &str, rng: &mut TaskRng) -> Result<Problem, String> {
    let shape = Shape::new(config.box_rows, config.box_cols);
    let full = full_grid(shape, rng);
    let puzzle = dig(shape, &full, config.clues, rng);
    let start = State::new(shape, &puzzle).ok_or("generated grid is inconsistent")?;
    let mut trace = Trace::new();
    trace.push(format!(
        "{} givens, {} cells to fill. Place singles first, guess only when stuck.",
        puzzle.iter().filter(|&&v| v != 0).count(),
        puzzle.iter().filter(|&&v| v == 0).count()
    ));
    let solved = solve_written(shape, start, &mut trace).ok_or("solver found no solution")?;
    let answer = show(shape, &solved.cells, "_");
    let thinking = trace.finish("Every row, column and box now holds each digit once.");
    let puzzle_text: String = puzzle.iter().map(|v| char::from(b'0' + v)).collect();
    Ok(Problem {
        question: render(
            template,
            &[
                ("size", &shape.n.to_string()),
                ("box_rows", &shape.br.to_string()),
                ("box_cols", &shape.bc.to_string()),
                ("grid", &show(shape, &puzzle, "_")),
            ],
        ),
        answer: json!({ "box_rows": shape.br, "box_cols": shape.bc, "puzzle": puzzle_text }),
        thinking,
        final_answer: answer,
    })
}

/// Grades a completed grid: digits only, every unit a permutation, givens kept.
pub fn check(shape: Shape, puzzle: &[u8], answer: &str) -> Verdict {
    let n = shape.n;
    let Some(rows) = read_grid(answer, n, n) else {
        return reject(answer, format!("expected {n} rows of {n} digits"));
    };
    let mut cells = Vec::with_capacity(n * n);
    for c in rows.iter().flatten() {
        match c.to_digit(10) {
            Some(d) if (1..=n as u32).contains(&d) => cells.push(d as u8),
            _ => return reject(answer, format!("'{c}' is not a digit from 1 to {n}")),
        }
    }
    for (i, (&g, &v)) in puzzle.iter().zip(&cells).enumerate() {
        if g != 0 && g != v {
            return reject(
                answer,
                format!("{} changes the given {g}", cell_name(shape, i)),
            );
        }
    }
    for unit in 0..3 * n {
        let mut seen = 0u16;
        for k in 0..n {
            seen |= 1 << (cells[unit_cell(shape, unit, k)] - 1);
        }
        if seen.count_ones() as usize != n {
            return reject(
                answer,
                format!("{} repeats a digit", unit_name(shape, unit)),
            );
        }
    }
    Verdict::correct(show(shape, &cells, "_"))
}

fn verify(gold: &serde_json::Value, answer: &str) -> Result<Verdict, VerifyError> {
    let g: Gold = read_gold(gold)?;
    let shape = Shape::new(g.box_rows, g.box_cols);
    let puzzle: Vec<u8> = g.puzzle.bytes().map(|b| b.wrapping_sub(b'0')).collect();
    if !(4..=9).contains(&shape.n)
        || puzzle.len() != shape.n * shape.n
        || puzzle.iter().any(|&v| v as usize > shape.n)
    {
        return Err(VerifyError::InvalidGold("bad sudoku puzzle".into()));
    }
    Ok(check(shape, &puzzle, answer))
}

impl Family for Sudoku {
    type Config = SudokuConfig;
    const NAME: &'static str = "sudoku";
    const DOMAIN: Domain = Domain::Puzzle;
    const DESCRIPTION: &'static str =
        "Sudoku on 4x4, 6x6 and 9x9 grids with a unique solution; any valid completion accepted";

    fn config_for(difficulty: u8) -> SudokuConfig {
        let d = usize::from(difficulty.clamp(1, 10));
        let (box_rows, box_cols) = match d {
            1 => (2, 2),
            2 | 3 => (2, 3),
            _ => (3, 3),
        };
        const CLUES: [usize; 10] = [6, 18, 14, 40, 36, 33, 30, 28, 26, 24];
        SudokuConfig {
            box_rows,
            box_cols,
            clues: CLUES[d - 1],
        }
    }

    fn new(config: SudokuConfig) -> Result<Self, String> {
        check_config(&config)?;
        Ok(Sudoku { config })
    }

    fn generate(&self, rng: &mut TaskRng) -> Result<Problem, String> {
        generate(&self.config, SUDOKU_TEMPLATE, rng)
    }

    fn verify(&self, gold: &serde_json::Value, answer: &str) -> Result<Verdict, VerifyError> {
        verify(gold, answer)
    }
}

impl Family for MiniSudoku {
    type Config = SudokuConfig;
    const NAME: &'static str = "mini_sudoku";
    const DOMAIN: Domain = Domain::Puzzle;
    const DESCRIPTION: &'static str =
        "4x4 sudoku with a unique solution, fewer givens at higher levels";

    fn config_for(difficulty: u8) -> SudokuConfig {
        const CLUES: [usize; 10] = [12, 11, 10, 9, 8, 7, 6, 6, 5, 4];
        SudokuConfig {
            box_rows: 2,
            box_cols: 2,
            clues: CLUES[usize::from(difficulty.clamp(1, 10)) - 1],
        }
    }

    fn new(config: SudokuConfig) -> Result<Self, String> {
        check_config(&config)?;
        if (config.box_rows, config.box_cols) != (2, 2) {
            return Err("mini_sudoku is 4x4: box_rows and box_cols must be 2".into());
        }
        Ok(MiniSudoku { config })
    }

    fn generate(&self, rng: &mut TaskRng) -> Result<Problem, String> {
        generate(&self.config, MINI_TEMPLATE, rng)
    }

    fn verify(&self, gold: &serde_json::Value, answer: &str) -> Result<Verdict, VerifyError> {
        verify(gold, answer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_grids_are_valid_for_every_shape() {
        let mut rng = TaskRng::from_seed(1);
        for (br, bc) in [(2, 2), (2, 3), (3, 3)] {
            let shape = Shape::new(br, bc);
            let g = full_grid(shape, &mut rng);
            let text = show(shape, &g, "_");
            assert!(check(shape, &vec![0; g.len()], &text).correct, "{text}");
            assert_eq!(solutions(shape, &g, 2), 1);
        }
    }

    #[test]
    fn dug_puzzles_are_unique() {
        let mut rng = TaskRng::from_seed(2);
        let shape = Shape::new(3, 3);
        let g = full_grid(shape, &mut rng);
        let p = dig(shape, &g, 26, &mut rng);
        assert_eq!(solutions(shape, &p, 5), 1);
        assert!(p.iter().filter(|&&v| v != 0).count() < 40);
    }
}
