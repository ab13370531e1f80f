//! `game_of_life`: advance a Conway's Game of Life board (Gardner, Scientific American,
//! 1970; rule B3/S23) by one or more generations, cells outside the board dead.
//!
//! The reference writes every row's live-neighbour counts before the next row, so the
//! whole computation is on the page. Answers are parsed as a board of `#`/`.` (or 1/0).

use crate::env::{Domain, Family, Problem};
use crate::kit::render;
use crate::kit::{gold_strs, push_int, reject, MAX_ITEMS};
use crate::rng::TaskRng;
use serde::{Deserialize, Serialize};
use serde_json::json;
use verigym_verifiers::{Verdict, VerifyError};

const TEMPLATE: &str = crate::template!("game_of_life");

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GameOfLifeConfig {
    /// Board size, each side drawn uniformly in [min_side, max_side].
    pub min_side: usize,
    pub max_side: usize,
    /// Probability that a cell starts alive.
    pub density: f64,
    /// Generations to advance.
    pub steps: usize,
}

pub struct GameOfLife {
    config: GameOfLifeConfig,
}

type Board = Vec<Vec<bool>>;

fn neighbours(b: &Board, r: usize, c: usize) -> usize {
    let mut n = 0;
    for dr in [-1i64, 0, 1] {
        for dc in [-1i64, 0, 1] {
            if dr == 0 && dc == 0 {
                continue;
            }
            let (rr, cc) = (r as i64 + dr, c as i64 + dc);
            if rr >= 0 && cc >= 0 {
                if let Some(true) = b.get(rr as usize).and_then(|row| row.get(cc as usize)) {
                    n += 1;
                }
            }
        }
    }
    n
}

fn row_text(row: &[bool]) -> String {
    row.iter().map(|c| if *c { '#' } else { '.' }).collect()
}

/// One generation; appends each row's neighbour counts and new row to `out`.
fn step(b: &Board, out: &mut String) -> Board {
    let mut next = b.clone();
    for (r, row) in b.iter().enumerate() {
        out.push_str("row ");
        push_int(out, r as i64 + 1);
        out.push_str(" neighbours ");
        for (c, alive) in row.iter().enumerate() {
            let n = neighbours(b, r, c);
            if c > 0 {
                out.push(' ');
            }
            push_int(out, n as i64);
            let live = matches!((alive, n), (true, 2) | (_, 3));
            if let Some(cell) = next.get_mut(r).and_then(|x| x.get_mut(c)) {
                *cell = live;
            }
        }
        out.push_str(" -> ");
        out.push_str(&row_text(next.get(r).map(Vec::as_slice).unwrap_or(&[])));
        out.push('\n');
    }
    next
}

/// Parses a board: one row per line (or rows separated by spaces/commas), cells `#`/`.`
/// or `1`/`0`, all rows the same length.
fn parse_board(answer: &str) -> Option<Vec<String>> {
    // Not `clean`: a trailing '.' is a dead cell here, not punctuation.
    let s = answer.trim();
    let mut rows = Vec::new();
    for t in s
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|t| !t.is_empty())
    {
        let t = t.trim_matches('`');
        if t.is_empty() || rows.len() >= MAX_ITEMS {
            continue;
        }
        let row: Option<String> = t
            .chars()
            .map(|c| match c {
                '#' | '1' => Some('#'),
                '.' | '0' => Some('.'),
                _ => None,
            })
            .collect();
        rows.push(row?);
    }
    let w = rows.first()?.len();
    rows.iter().all(|r| r.len() == w).then_some(rows)
}

impl Family for GameOfLife {
    type Config = GameOfLifeConfig;
    const NAME: &'static str = "game_of_life";
    const DOMAIN: Domain = Domain::Algorithmic;
    const DESCRIPTION: &'static str =
        "Advance a Game of Life board (B3/S23, dead border) by one or more generations";

    fn config_for(difficulty: u8) -> GameOfLifeConfig {
        const MIN: [usize; 10] = [3, 4, 4, 5, 5, 6, 6, 7, 8, 8];
        const MAX: [usize; 10] = [4, 4, 5, 5, 6, 6, 7, 8, 8, 10];
        const STEPS: [usize; 10] = [1, 1, 1, 1, 1, 2, 2, 2, 3, 3];
        let d = usize::from(difficulty.clamp(1, 10)) - 1;
        GameOfLifeConfig {
            min_side: MIN[d],
            max_side: MAX[d],
            density: 0.35,
            steps: STEPS[d],
        }
    }

    fn new(config: GameOfLifeConfig) -> Result<Self, String> {
        if config.min_side < 2 || config.min_side > config.max_side || config.max_side > 40 {
            return Err("min_side must be in 2..=max_side, max_side at most 40".into());
        }
        if !(0.0..=1.0).contains(&config.density) {
            return Err("density must be in [0, 1]".into());
        }
        if !(1..=10).contains(&config.steps) {
            return Err("steps must be in 1..=10".into());
        }
        Ok(GameOfLife { config })
    }

    fn generate(&self, rng: &mut TaskRng) -> Result<Problem, String> {
        let c = &self.config;
        let (h, w) = (
            rng.range_usize(c.min_side, c.max_side),
            rng.range_usize(c.min_side, c.max_side),
        );
        let mut board: Board = (0..h)
            .map(|_| (0..w).map(|_| rng.chance(c.density)).collect())
            .collect();
        let grid: Vec<String> = board.iter().map(|r| row_text(r)).collect();
        let mut thinking = String::with_capacity(h * (w + 30) * c.steps + 100);
        for s in 0..c.steps {
            thinking.push_str("Generation ");
            push_int(&mut thinking, s as i64 + 1);
            thinking.push_str(": count live neighbours of each cell, apply B3/S23.\n");
            board = step(&board, &mut thinking);
        }
        let rows: Vec<String> = board.iter().map(|r| row_text(r)).collect();
        let final_answer = rows.join("\n");
        thinking.push_str("Final board:\n");
        thinking.push_str(&final_answer);
        let steps = if c.steps == 1 {
            "one generation".to_string()
        } else {
            format!("{} generations", c.steps)
        };
        Ok(Problem {
            question: render(TEMPLATE, &[("grid", &grid.join("\n")), ("steps", &steps)]),
            answer: json!({ "board": rows }),
            thinking,
            final_answer,
        })
    }

    fn verify(&self, gold: &serde_json::Value, answer: &str) -> Result<Verdict, VerifyError> {
        let gold = gold_strs(gold, "board")?;
        Ok(match parse_board(answer) {
            Some(b) if b.iter().map(String::as_str).eq(gold.iter().copied()) => {
                Verdict::correct(b.join("\n"))
            }
            Some(_) => reject(answer, "not the next board"),
            None => reject(answer, "answer is not a board of # and ."),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blinker_oscillates() {
        let b: Board = vec![
            vec![false, false, false],
            vec![true, true, true],
            vec![false, false, false],
        ];
        let mut s = String::new();
        let n = step(&b, &mut s);
        assert_eq!(
            n.iter().map(|r| row_text(r)).collect::<Vec<_>>(),
            vec![".#.", ".#.", ".#."]
        );
        assert_eq!(step(&n, &mut s), b);
        assert_eq!(
            parse_board("010\n010\n010"),
            Some(vec![".#.".into(), ".#.".into(), ".#.".into()])
        );
        assert_eq!(parse_board(".#.\n.#"), None);
    }
}
