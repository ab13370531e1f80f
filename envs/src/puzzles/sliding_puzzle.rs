//! `sliding_puzzle`: the 8-puzzle (and its 2x3 / 2x4 / 3x4 cousins) solved in the fewest
//! moves. Optimal lengths come from our own A* search with the Manhattan-distance heuristic
//! (Hart, Nilsson and Raphael 1968; admissible, so the first goal popped is optimal).
//! Any optimal move sequence is accepted: the verifier slides the tiles itself.
//!
//! The reference chain of thought reports the search (nodes expanded, optimal length) and
//! then walks the solution, with the board and the heuristic after every move.

use crate::env::{Domain, Family, Problem};
use crate::kit::render;
use crate::kit::{read_gold, reject, tokens, Trace};
use crate::rng::TaskRng;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use verigym_verifiers::{Verdict, VerifyError};

const TEMPLATE: &str = crate::template!("sliding_puzzle");

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlidingPuzzleConfig {
    pub rows: usize,
    pub cols: usize,
    /// Random-walk scramble length range; the optimal length is computed exactly.
    pub min_scramble: usize,
    pub max_scramble: usize,
}

pub struct SlidingPuzzle {
    config: SlidingPuzzleConfig,
}

#[derive(Deserialize)]
struct Gold {
    rows: usize,
    cols: usize,
    start: Vec<u8>,
    optimal: usize,
}

/// Tiles row-major, 0 for the blank; the goal is 1..n-1 then the blank.
type Board = Vec<u8>;

fn goal(n: usize) -> Board {
    (1..n as u8).chain(std::iter::once(0)).collect()
}

fn manhattan(b: &[u8], cols: usize) -> usize {
    let n = b.len();
    b.iter()
        .enumerate()
        .filter(|(_, &t)| t != 0)
        .map(|(i, &t)| {
            let g = (t as usize + n - 1) % n;
            (i / cols).abs_diff(g / cols) + (i % cols).abs_diff(g % cols)
        })
        .sum()
}

fn neighbours(blank: usize, rows: usize, cols: usize) -> Vec<usize> {
    let (r, c) = (blank / cols, blank % cols);
    let mut v = Vec::with_capacity(4);
    if r > 0 {
        v.push(blank - cols);
    }
    if r + 1 < rows {
        v.push(blank + cols);
    }
    if c > 0 {
        v.push(blank - 1);
    }
    if c + 1 < cols {
        v.push(blank + 1);
    }
    v
}

fn key(b: &[u8]) -> u64 {
    b.iter().fold(0u64, |k, &t| k * 16 + u64::from(t))
}

/// A* from `start`; returns the tiles slid along an optimal path and the nodes expanded.
fn astar(start: &[u8], rows: usize, cols: usize, max_nodes: usize) -> Option<(Vec<u8>, usize)> {
    let target = key(&goal(start.len()));
    let mut open = BinaryHeap::new();
    let mut best: HashMap<u64, (usize, u64, u8)> = HashMap::new(); // g, parent, tile
    let k0 = key(start);
    best.insert(k0, (0, u64::MAX, 0));
    open.push(Reverse((
        manhattan(start, cols),
        0usize,
        k0,
        start.to_vec(),
    )));
    let mut expanded = 0;
    while let Some(Reverse((_, g, k, b))) = open.pop() {
        if best.get(&k).is_some_and(|e| e.0 < g) {
            continue;
        }
        if k == target {
            let mut tiles = Vec::new();
            let mut at = k;
            while let Some(&(_, parent, tile)) = best.get(&at) {
                if parent == u64::MAX {
                    break;
                }
                tiles.push(tile);
                at = parent;
            }
            tiles.reverse();
            return Some((tiles, expanded));
        }
        expanded += 1;
        if expanded > max_nodes {
            return None;
        }
        let blank = b.iter().position(|&t| t == 0)?;
        for nb in neighbours(blank, rows, cols) {
            let mut next = b.clone();
            next.swap(blank, nb);
            let nk = key(&next);
            if best.get(&nk).is_none_or(|e| g + 1 < e.0) {
                best.insert(nk, (g + 1, k, b[nb]));
                open.push(Reverse((g + 1 + manhattan(&next, cols), g + 1, nk, next)));
            }
        }
    }
    None
}

fn show(b: &[u8], cols: usize) -> String {
    b.chunks(cols)
        .map(|r| {
            r.iter()
                .map(|&t| {
                    if t == 0 {
                        "_".to_string()
                    } else {
                        t.to_string()
                    }
                })
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Slides `tile` into the blank if adjacent.
fn slide(b: &mut [u8], tile: u8, rows: usize, cols: usize) -> bool {
    let (Some(blank), Some(at)) = (
        b.iter().position(|&t| t == 0),
        b.iter().position(|&t| t == tile),
    ) else {
        return false;
    };
    if tile == 0 || !neighbours(blank, rows, cols).contains(&at) {
        return false;
    }
    b.swap(blank, at);
    true
}

impl Family for SlidingPuzzle {
    type Config = SlidingPuzzleConfig;
    const NAME: &'static str = "sliding_puzzle";
    const DOMAIN: Domain = Domain::Puzzle;
    const DESCRIPTION: &'static str =
        "Sliding-tile puzzle (8-puzzle and smaller) in the fewest moves; any optimal sequence accepted";

    fn config_for(difficulty: u8) -> SlidingPuzzleConfig {
        let d = usize::from(difficulty.clamp(1, 10));
        let (rows, cols) = if d <= 2 { (2, 3) } else { (3, 3) };
        const SCRAMBLE: [usize; 10] = [4, 8, 6, 9, 12, 15, 18, 22, 26, 30];
        SlidingPuzzleConfig {
            rows,
            cols,
            min_scramble: SCRAMBLE[d - 1] / 2 + 1,
            max_scramble: SCRAMBLE[d - 1],
        }
    }

    fn new(config: SlidingPuzzleConfig) -> Result<Self, String> {
        // Checked: a fuzzed size like usize::MAX must be refused, not overflow.
        let n = config.rows.saturating_mul(config.cols);
        if config.rows < 2 || config.cols < 2 || n > 12 {
            return Err("rows and cols must be at least 2 with rows * cols <= 12".into());
        }
        if config.min_scramble == 0
            || config.min_scramble > config.max_scramble
            || config.max_scramble > 200
        {
            return Err("min_scramble and max_scramble must satisfy 1 <= min <= max <= 200".into());
        }
        Ok(SlidingPuzzle { config })
    }

    fn generate(&self, rng: &mut TaskRng) -> Result<Problem, String> {
        let c = &self.config;
        let n = c.rows * c.cols;
        let target = goal(n);
        let mut found = None;
        for _ in 0..20 {
            let mut b = target.clone();
            let steps = rng.range_usize(c.min_scramble, c.max_scramble);
            let mut last = usize::MAX;
            for _ in 0..steps {
                let blank = b.iter().position(|&t| t == 0).ok_or("no blank")?;
                let options: Vec<usize> = neighbours(blank, c.rows, c.cols)
                    .into_iter()
                    .filter(|&p| p != last)
                    .collect();
                let &p = rng.choose(&options).ok_or("no move")?;
                b.swap(blank, p);
                last = blank;
            }
            if b == target {
                continue;
            }
            if let Some((tiles, expanded)) = astar(&b, c.rows, c.cols, 400_000) {
                found = Some((b, tiles, expanded));
                break;
            }
        }
        let (start, tiles, expanded) = match found {
            Some(f) => f,
            None => {
                // Fallback: one move from the goal.
                let mut b = target.clone();
                b.swap(n - 1, n - 2);
                let t = b[n - 1];
                (b, vec![t], 1)
            }
        };
        let mut trace = Trace::new();
        let h0 = manhattan(&start, c.cols);
        trace.push(format!(
            "A* search with the Manhattan-distance heuristic (sum of each tile's distance to its goal square, a lower bound). Start: h = {h0}."
        ));
        trace.push(format!(
            "The search expands {expanded} boards before the goal comes off the queue with {} moves, so {} is the minimum.",
            tiles.len(),
            tiles.len()
        ));
        let mut b = start.clone();
        for (k, &t) in tiles.iter().enumerate() {
            slide(&mut b, t, c.rows, c.cols);
            trace.push(format!(
                "Move {}: slide {t}, h = {}:\n{}",
                k + 1,
                manhattan(&b, c.cols),
                show(&b, c.cols)
            ));
        }
        let answer = tiles
            .iter()
            .map(|t| t.to_string())
            .collect::<Vec<_>>()
            .join(" ");
        Ok(Problem {
            question: render(
                TEMPLATE,
                &[
                    ("rows", &c.rows.to_string()),
                    ("cols", &c.cols.to_string()),
                    ("goal", &show(&target, c.cols)),
                    ("start", &show(&start, c.cols)),
                ],
            ),
            answer: json!({ "rows": c.rows, "cols": c.cols, "start": start, "optimal": tiles.len() }),
            thinking: trace.finish(format!("The board is solved in {} moves.", tiles.len())),
            final_answer: answer,
        })
    }

    fn verify(&self, gold: &serde_json::Value, answer: &str) -> Result<Verdict, VerifyError> {
        let g: Gold = read_gold(gold)?;
        if g.rows * g.cols != g.start.len() || g.start.len() > 16 {
            return Err(VerifyError::InvalidGold("bad board".into()));
        }
        Ok(check(g.rows, g.cols, &g.start, g.optimal, answer))
    }
}

/// Slides the tiles: each adjacent to the blank, solved at the end, optimal length.
pub fn check(rows: usize, cols: usize, start: &[u8], optimal: usize, answer: &str) -> Verdict {
    let toks = tokens(answer);
    if toks.len() != optimal {
        return reject(
            answer,
            format!("{} moves, the minimum is {optimal}", toks.len()),
        );
    }
    let mut b = start.to_vec();
    for (k, t) in toks.iter().enumerate() {
        let Ok(tile) = t.parse::<u8>() else {
            return reject(answer, format!("'{t}' is not a tile number"));
        };
        if !slide(&mut b, tile, rows, cols) {
            return reject(
                answer,
                format!(
                    "move {}: tile {tile} is not next to the empty square",
                    k + 1
                ),
            );
        }
    }
    if b != goal(start.len()) {
        return reject(answer, "the board is not solved");
    }
    Verdict::correct(toks.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Breadth-first distances to the goal over all 2x3 boards.
    fn distances(rows: usize, cols: usize) -> HashMap<Board, usize> {
        let mut dist = HashMap::new();
        let g = goal(rows * cols);
        dist.insert(g.clone(), 0);
        let mut q = std::collections::VecDeque::from([g]);
        while let Some(b) = q.pop_front() {
            let blank = b.iter().position(|&t| t == 0).unwrap();
            for nb in neighbours(blank, rows, cols) {
                let mut n = b.clone();
                n.swap(blank, nb);
                if !dist.contains_key(&n) {
                    dist.insert(n.clone(), dist[&b] + 1);
                    q.push_back(n);
                }
            }
        }
        dist
    }

    /// An optimal path from `b` that starts with the `first` tile, following distances.
    fn path_via(dist: &HashMap<Board, usize>, b: &Board, first: u8) -> Vec<u8> {
        let mut cur = b.clone();
        let mut out = vec![first];
        slide(&mut cur, first, 2, 3);
        while dist[&cur] > 0 {
            let blank = cur.iter().position(|&t| t == 0).unwrap();
            let t = neighbours(blank, 2, 3)
                .into_iter()
                .map(|p| cur[p])
                .find(|&t| {
                    let mut n = cur.clone();
                    slide(&mut n, t, 2, 3);
                    dist[&n] + 1 == dist[&cur]
                })
                .unwrap();
            slide(&mut cur, t, 2, 3);
            out.push(t);
        }
        out
    }

    #[test]
    fn astar_is_optimal_and_every_optimal_sequence_is_accepted() {
        let dist = distances(2, 3);
        let mut alternatives = 0;
        for (b, &d) in &dist {
            let (tiles, _) = astar(b, 2, 3, 10_000).unwrap();
            assert_eq!(tiles.len(), d);
            // Boards with two optimal first moves: both full paths must be accepted.
            let blank = b.iter().position(|&t| t == 0).unwrap();
            let firsts: Vec<u8> = neighbours(blank, 2, 3)
                .into_iter()
                .map(|p| b[p])
                .filter(|&t| {
                    let mut n = b.clone();
                    slide(&mut n, t, 2, 3);
                    dist[&n] + 1 == d
                })
                .collect();
            if firsts.len() >= 2 {
                alternatives += 1;
                for f in firsts {
                    let p = path_via(&dist, b, f);
                    let text = p
                        .iter()
                        .map(|t| t.to_string())
                        .collect::<Vec<_>>()
                        .join(" ");
                    assert!(check(2, 3, b, d, &text).correct, "{text}");
                }
            }
        }
        assert!(alternatives > 0);
        let start: Board = vec![1, 2, 3, 4, 0, 5, 7, 8, 6];
        assert!(check(3, 3, &start, 2, "5 6").correct);
        assert!(!check(3, 3, &start, 2, "6 5").correct);
        assert!(!check(3, 3, &start, 3, "5 6 6").correct);
    }
}
