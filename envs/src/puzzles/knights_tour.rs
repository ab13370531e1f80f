//! `knights_tour`: an open knight's tour of a small board from a given square. Any tour is
//! accepted: the verifier checks the start, every move's L shape and that each square is
//! visited exactly once.
//!
//! The reference chain of thought is Warnsdorff's rule (1823: move to the square with the
//! fewest onward moves) with backtracking when it dead-ends, written out move by move.

use crate::env::{Domain, Family, Problem};
use crate::kit::render;
use crate::kit::{read_gold, reject, tokens, Trace};
use crate::rng::TaskRng;
use serde::{Deserialize, Serialize};
use serde_json::json;
use verigym_verifiers::{Verdict, VerifyError};

const TEMPLATE: &str = crate::template!("knights_tour");
const JUMPS: [(isize, isize); 8] = [
    (1, 2),
    (2, 1),
    (2, -1),
    (1, -2),
    (-1, -2),
    (-2, -1),
    (-2, 1),
    (-1, 2),
];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KnightsTourConfig {
    pub rows: usize,
    pub cols: usize,
}

pub struct KnightsTour {
    config: KnightsTourConfig,
}

#[derive(Deserialize)]
struct Gold {
    rows: usize,
    cols: usize,
    start: String,
}

fn name(sq: usize, cols: usize) -> String {
    format!("{}{}", char::from(b'a' + (sq % cols) as u8), sq / cols + 1)
}

fn parse_square(t: &str, rows: usize, cols: usize) -> Option<usize> {
    let t = t.trim_matches(|c: char| c == '.' || c == '(' || c == ')');
    let mut chars = t.chars();
    let file = chars.next()?.to_ascii_lowercase();
    if !file.is_ascii_lowercase() {
        return None;
    }
    let rank: String = chars.collect();
    if rank.is_empty() || rank.len() > 2 || !rank.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (c, r) = (
        (file as u8 - b'a') as usize,
        rank.parse::<usize>().ok()?.checked_sub(1)?,
    );
    (c < cols && r < rows).then_some(r * cols + c)
}

fn moves_from(sq: usize, rows: usize, cols: usize) -> impl Iterator<Item = usize> {
    let (r, c) = ((sq / cols) as isize, (sq % cols) as isize);
    JUMPS.iter().filter_map(move |(dr, dc)| {
        let (nr, nc) = (r + dr, c + dc);
        (nr >= 0 && nc >= 0 && (nr as usize) < rows && (nc as usize) < cols)
            .then(|| nr as usize * cols + nc as usize)
    })
}

struct Search {
    rows: usize,
    cols: usize,
    seen: Vec<bool>,
    path: Vec<usize>,
    nodes: usize,
    budget: usize,
}

impl Search {
    fn onward(&self, sq: usize) -> usize {
        moves_from(sq, self.rows, self.cols)
            .filter(|&m| !self.seen[m])
            .count()
    }

    fn go(&mut self, trace: &mut Trace) -> bool {
        let n = self.rows * self.cols;
        if self.path.len() == n {
            return true;
        }
        self.nodes += 1;
        if self.nodes > self.budget {
            return false;
        }
        let Some(&at) = self.path.last() else {
            return false;
        };
        let mut options: Vec<(usize, usize)> = moves_from(at, self.rows, self.cols)
            .filter(|&m| !self.seen[m])
            .map(|m| (self.onward(m), m))
            .collect();
        options.sort();
        if options.is_empty() {
            trace.push(format!(
                "From {}: no unvisited square reachable; back up.",
                name(at, self.cols)
            ));
            return false;
        }
        let listed = options
            .iter()
            .map(|(k, m)| format!("{}({k})", name(*m, self.cols)))
            .collect::<Vec<_>>()
            .join(" ");
        for (k, &(_, m)) in options.iter().enumerate() {
            if k == 0 {
                trace.push(format!(
                    "Move {}: from {} the unvisited squares (onward moves) are {listed}; go to {}.",
                    self.path.len(),
                    name(at, self.cols),
                    name(m, self.cols)
                ));
            } else {
                trace.push(format!(
                    "Back at {}: try {} instead.",
                    name(at, self.cols),
                    name(m, self.cols)
                ));
            }
            self.seen[m] = true;
            self.path.push(m);
            if self.go(trace) {
                return true;
            }
            self.path.pop();
            self.seen[m] = false;
            if self.nodes > self.budget {
                return false;
            }
        }
        false
    }
}

/// Warnsdorff's rule with backtracking, written out; `None` when the budget runs out.
fn tour(
    rows: usize,
    cols: usize,
    start: usize,
    budget: usize,
    trace: &mut Trace,
) -> Option<Vec<usize>> {
    let mut s = Search {
        rows,
        cols,
        seen: vec![false; rows * cols],
        path: vec![start],
        nodes: 0,
        budget,
    };
    s.seen[start] = true;
    s.go(trace).then_some(s.path)
}

impl Family for KnightsTour {
    type Config = KnightsTourConfig;
    const NAME: &'static str = "knights_tour";
    const DOMAIN: Domain = Domain::Puzzle;
    const DESCRIPTION: &'static str =
        "Open knight's tour of a small board from a given square; any tour accepted";

    fn config_for(difficulty: u8) -> KnightsTourConfig {
        const BOARDS: [(usize, usize); 10] = [
            (3, 4),
            (4, 5),
            (5, 5),
            (5, 6),
            (6, 6),
            (6, 7),
            (7, 7),
            (7, 8),
            (8, 8),
            (8, 8),
        ];
        let (rows, cols) = BOARDS[usize::from(difficulty.clamp(1, 10)) - 1];
        KnightsTourConfig { rows, cols }
    }

    fn new(config: KnightsTourConfig) -> Result<Self, String> {
        let (r, c) = (config.rows.min(config.cols), config.rows.max(config.cols));
        // Open tours exist on r x c boards (r <= c) except r in {1, 2}, r = 3 with
        // c in {3, 5, 6}, and r = c = 4 (Conrad et al. 1994 / Schwenk 1991).
        let exists = !(r <= 2 || (r == 3 && [3, 5, 6].contains(&c)) || (r == 4 && c == 4));
        if !exists || c > 10 {
            return Err(
                "rows x cols must be a board with an open knight's tour, at most 10 x 10".into(),
            );
        }
        Ok(KnightsTour { config })
    }

    fn generate(&self, rng: &mut TaskRng) -> Result<Problem, String> {
        let (rows, cols) = (self.config.rows, self.config.cols);
        let mut squares: Vec<usize> = (0..rows * cols).collect();
        rng.shuffle(&mut squares);
        // Not every start square has a tour (5x5: only one colour); try starts in random
        // order, each with a bounded search.
        for &start in squares.iter().take(24) {
            let mut trace = Trace::new();
            trace.push(format!(
                "Warnsdorff's rule: always jump to the unvisited square with the fewest onward moves (count in brackets); back up at a dead end. Start at {}.",
                name(start, cols)
            ));
            if let Some(path) = tour(rows, cols, start, 2_000, &mut trace) {
                let answer = path
                    .iter()
                    .map(|&s| name(s, cols))
                    .collect::<Vec<_>>()
                    .join(" ");
                let start_name = name(start, cols);
                return Ok(Problem {
                    question: render(
                        TEMPLATE,
                        &[
                            ("start", &start_name),
                            ("rows", &rows.to_string()),
                            ("cols", &cols.to_string()),
                            ("last_col", &char::from(b'a' + cols as u8 - 1).to_string()),
                        ],
                    ),
                    answer: json!({ "rows": rows, "cols": cols, "start": start_name }),
                    thinking: trace.finish(format!("All {} squares are visited.", rows * cols)),
                    final_answer: answer,
                });
            }
        }
        Err("no tour found from any tried start".into())
    }

    fn verify(&self, gold: &serde_json::Value, answer: &str) -> Result<Verdict, VerifyError> {
        let g: Gold = read_gold(gold)?;
        if g.rows == 0 || g.cols == 0 || g.cols > 26 || g.rows > 26 {
            return Err(VerifyError::InvalidGold("bad board".into()));
        }
        let start = parse_square(&g.start, g.rows, g.cols)
            .ok_or_else(|| VerifyError::InvalidGold("bad start".into()))?;
        Ok(check(g.rows, g.cols, start, answer))
    }
}

/// Checks a tour: starts at `start`, knight moves only, every square once.
pub fn check(rows: usize, cols: usize, start: usize, answer: &str) -> Verdict {
    let toks = tokens(answer);
    let n = rows * cols;
    if toks.len() != n {
        return reject(
            answer,
            format!("{} squares listed, the board has {n}", toks.len()),
        );
    }
    let mut seen = vec![false; n];
    let mut prev: Option<usize> = None;
    for t in toks {
        let Some(sq) = parse_square(t, rows, cols) else {
            return reject(answer, format!("'{t}' is not a square of the board"));
        };
        match prev {
            None if sq != start => {
                return reject(
                    answer,
                    format!("the tour must start at {}", name(start, cols)),
                )
            }
            Some(p) if !moves_from(p, rows, cols).any(|m| m == sq) => {
                return reject(
                    answer,
                    format!("{} to {t} is not a knight move", name(p, cols)),
                )
            }
            _ => {}
        }
        if std::mem::replace(&mut seen[sq], true) {
            return reject(answer, format!("{t} is visited twice"));
        }
        prev = Some(sq);
    }
    Verdict::correct(format!("tour of {n} squares"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_a_hand_written_tour_and_rejects_broken_ones() {
        // A 3x4 open tour found by hand (a1 start).
        let t = "a1 c2 a3 b1 d2 b3 c1 a2 c3 d1 b2 d3";
        assert!(check(3, 4, 0, t).correct, "{:?}", check(3, 4, 0, t));
        assert!(!check(3, 4, 0, "a1 c2 a3 b1 d2 b3 c1 a2 c3 d1 b2 b2").correct);
        assert!(!check(3, 4, 0, "c2 a1 a3 b1 d2 b3 c1 a2 c3 d1 b2 d3").correct);
        assert!(!check(3, 4, 0, "a1 c2").correct);
    }
}
