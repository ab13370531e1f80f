//! `maze`: find a shortest path from S to G on a grid with walls (reasoning-gym's `maze`
//! asks only for the length; here the path itself is the answer). Any path of the shortest
//! length is accepted: the verifier walks the moves on the grid itself.
//!
//! The reference chain of thought is breadth-first search written layer by layer, then the
//! walk back from the goal along decreasing distances.

use crate::env::{Domain, Family, Problem};
use crate::kit::{read_gold, reject, render, tokens};
use crate::rng::TaskRng;
use serde::{Deserialize, Serialize};
use std::fmt::Write;
use verigym_verifiers::{Verdict, VerifyError};

const TEMPLATE: &str = crate::template!("maze");

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MazeConfig {
    pub width: usize,
    pub height: usize,
    /// Probability that an inner square is a wall.
    pub wall_density: f64,
    /// Shortest distance from S to G is at least this (a best effort within the redraws).
    pub min_distance: usize,
}

pub struct Maze {
    config: MazeConfig,
}

#[derive(Deserialize)]
struct Gold {
    grid: Vec<String>,
    distance: usize,
}

const DIRS: [(char, isize, isize); 4] = [('U', -1, 0), ('D', 1, 0), ('L', 0, -1), ('R', 0, 1)];

/// Distances from `start` over a row-major grid by breadth-first search (u32::MAX where
/// unreachable); flat arrays and an index queue, since this is most of a task's cost.
/// Breadth-first distances from `start` (u32::MAX where unreachable; `#` is a wall).
/// Runs on a copy of the grid padded with a wall border, so neighbours need no bounds
/// checks or divisions.
fn bfs(cells: &[u8], w: usize, start: usize) -> Vec<u32> {
    let h = cells.len() / w.max(1);
    let pw = w + 2;
    let mut open = vec![false; pw * (h + 2)];
    for (r, row) in cells.chunks(w).enumerate() {
        let base = (r + 1) * pw + 1;
        for (o, &b) in open[base..base + w].iter_mut().zip(row) {
            *o = b != b'#';
        }
    }
    let mut pdist = vec![u32::MAX; open.len()];
    let mut queue = Vec::with_capacity(cells.len());
    let ps = (start / w + 1) * pw + start % w + 1;
    pdist[ps] = 0;
    queue.push(ps);
    let mut head = 0;
    while let Some(&u) = queue.get(head) {
        head += 1;
        let d = pdist[u] + 1;
        for v in [u - pw, u + pw, u - 1, u + 1] {
            if open[v] && pdist[v] == u32::MAX {
                pdist[v] = d;
                queue.push(v);
            }
        }
    }
    let mut dist = Vec::with_capacity(cells.len());
    for r in 0..h {
        let base = (r + 1) * pw + 1;
        dist.extend_from_slice(&pdist[base..base + w]);
    }
    dist
}

fn find(grid: &[Vec<u8>], ch: u8) -> Option<(usize, usize)> {
    grid.iter()
        .enumerate()
        .find_map(|(r, row)| row.iter().position(|&b| b == ch).map(|c| (r, c)))
}

impl Family for Maze {
    type Config = MazeConfig;
    const NAME: &'static str = "maze";
    const DOMAIN: Domain = Domain::Puzzle;
    const DESCRIPTION: &'static str =
        "Shortest path through a grid maze as a move list; any shortest path accepted";

    fn config_for(difficulty: u8) -> MazeConfig {
        let d = usize::from(difficulty.clamp(1, 10));
        const SIDE: [usize; 10] = [5, 6, 7, 8, 9, 10, 12, 14, 16, 18];
        let side = SIDE[d - 1];
        MazeConfig {
            width: side,
            height: side,
            wall_density: [0.26, 0.28, 0.29, 0.31, 0.32, 0.34, 0.35, 0.37, 0.38, 0.4][d - 1],
            min_distance: side * 3 / 4,
        }
    }

    fn new(config: MazeConfig) -> Result<Self, String> {
        if !(2..=40).contains(&config.width) || !(2..=40).contains(&config.height) {
            return Err("width and height must be in 2..=40".into());
        }
        if !(0.0..=0.6).contains(&config.wall_density) {
            return Err("wall_density must be in [0, 0.6]".into());
        }
        // At distance 0 the goal would be the start, and the path an empty answer.
        if config.min_distance == 0 || config.min_distance > config.width + config.height - 2 {
            return Err("min_distance must be in 1..=width + height - 2".into());
        }
        Ok(Maze { config })
    }

    fn generate(&self, rng: &mut TaskRng) -> Result<Problem, String> {
        let c = &self.config;
        let (w, h) = (c.width, c.height);
        // Draw a grid and a start, search once from the start, and pick the goal among the
        // squares at least `min_distance` away (else the farthest); bounded redraws.
        let n = w * h;
        let mut best: Option<(Vec<u8>, usize, usize, Vec<u32>)> = None;
        let mut far: Vec<usize> = Vec::with_capacity(n);
        for _ in 0..20 {
            let mut cells: Vec<u8> = (0..n)
                .map(|_| {
                    if rng.chance(c.wall_density) {
                        b'#'
                    } else {
                        b'.'
                    }
                })
                .collect();
            let s = rng.below(n as u64) as usize;
            cells[s] = b'S';
            let dist = bfs(&cells, w, s);
            far.clear();
            far.extend(
                (0..n).filter(|&v| dist[v] != u32::MAX && dist[v] as usize >= c.min_distance),
            );
            if let Some(&g) = rng.choose(&far) {
                best = Some((cells, s, g, dist));
                break;
            }
            let farthest = (0..n)
                .filter(|&v| dist[v] != u32::MAX && dist[v] > 0)
                .max_by_key(|&v| dist[v]);
            if let Some(g) = farthest {
                if best.as_ref().is_none_or(|b| dist[g] > b.3[b.2]) {
                    best = Some((cells, s, g, dist));
                }
            }
        }
        // (G is not a wall, so marking it leaves the distances from S as they are.)
        let (mut cells, s, g, dist) = match best {
            Some(b) => b,
            None => {
                // Fallback: an open grid from corner to corner.
                let mut cells = vec![b'.'; n];
                cells[0] = b'S';
                let dist = bfs(&cells, w, 0);
                (cells, 0, n - 1, dist)
            }
        };
        cells[g] = b'G';
        let distance = dist[g] as usize;
        // The squares at distance 1..=distance, grouped by distance and in reading order
        // within a group (a counting sort on the distance).
        let mut start_of = vec![0usize; distance + 2];
        for &d in &dist {
            if d >= 1 && (d as usize) <= distance {
                start_of[d as usize + 1] += 1;
            }
        }
        for k in 1..start_of.len() {
            start_of[k] += start_of[k - 1];
        }
        let mut order = vec![(0u16, 0u16); start_of[distance + 1]];
        let mut next = start_of.clone();
        for r in 0..h {
            for col in 0..w {
                let d = dist[r * w + col];
                if d >= 1 && (d as usize) <= distance {
                    order[next[d as usize]] = (r as u16 + 1, col as u16 + 1);
                    next[d as usize] += 1;
                }
            }
        }
        let mut thinking = format!(
            "Breadth-first search from S at (row {}, col {}), one layer of squares per step count:",
            s / w + 1,
            s % w + 1
        );
        for k in 1..=distance {
            let layer: Vec<String> = order[start_of[k]..start_of[k + 1]]
                .iter()
                .map(|(r, col)| format!(" ({r},{col})"))
                .collect();
            let _ = write!(thinking, "\n{k} steps:{}", layer.concat());
            if k == distance {
                thinking.push_str(" — G is reached");
            }
        }
        // Walk back from G, always to a neighbour one step closer to S.
        let mut path = Vec::with_capacity(distance);
        let mut at = g;
        while at != s {
            let (r, col) = (at / w, at % w);
            let step = DIRS.iter().find_map(|&(ch, dr, dc)| {
                let (pr, pc) = (r as isize - dr, col as isize - dc);
                if pr < 0 || pc < 0 || pr as usize >= h || pc as usize >= w {
                    return None;
                }
                let p = pr as usize * w + pc as usize;
                (dist[p].checked_add(1) == Some(dist[at])).then_some((ch, p))
            });
            let Some((ch, p)) = step else {
                return Err("broken distance map".into());
            };
            path.push(ch);
            at = p;
        }
        path.reverse();
        let moves: Vec<String> = path.iter().map(char::to_string).collect();
        let answer = moves.join(" ");
        let _ = write!(
            thinking,
            "\nWalking back from G through squares one step closer each time gives the path {answer}.\nThe shortest path takes {distance} moves."
        );
        let grid: Vec<String> = cells
            .chunks(w)
            .map(|row| row.iter().map(|&b| char::from(b)).collect())
            .collect();
        let question = render(TEMPLATE, &[("grid", &grid.join("\n"))]);
        let rows: Vec<serde_json::Value> = cells
            .chunks(w)
            .map(|r| serde_json::Value::String(r.iter().map(|&b| char::from(b)).collect()))
            .collect();
        let mut gold = serde_json::Map::new();
        gold.insert("distance".into(), distance.into());
        gold.insert("grid".into(), serde_json::Value::Array(rows));
        Ok(Problem {
            question,
            answer: serde_json::Value::Object(gold),
            thinking,
            final_answer: answer,
        })
    }

    fn verify(&self, gold: &serde_json::Value, answer: &str) -> Result<Verdict, VerifyError> {
        let g: Gold = read_gold(gold)?;
        let grid: Vec<Vec<u8>> = g.grid.iter().map(|r| r.as_bytes().to_vec()).collect();
        Ok(check(&grid, g.distance, answer))
    }
}

/// Walks the moves: every square open, ends on G, exactly the shortest length.
pub fn check(grid: &[Vec<u8>], distance: usize, answer: &str) -> Verdict {
    let (Some(s), Some(goal)) = (find(grid, b'S'), find(grid, b'G')) else {
        return reject(answer, "gold maze has no S or G");
    };
    let mut moves = Vec::new();
    for t in tokens(answer) {
        let word = t.to_ascii_uppercase();
        let dirs: Vec<char> = match word.as_str() {
            "UP" => vec!['U'],
            "DOWN" => vec!['D'],
            "LEFT" => vec!['L'],
            "RIGHT" => vec!['R'],
            _ if word.chars().all(|c| "UDLR".contains(c)) => word.chars().collect(),
            _ => return reject(answer, format!("'{t}' is not a move")),
        };
        moves.extend(dirs);
        if moves.len() > 4 * distance + 4 {
            return reject(answer, "far too many moves");
        }
    }
    if moves.len() != distance {
        return reject(
            answer,
            format!(
                "{} moves, but the shortest path takes {distance}",
                moves.len()
            ),
        );
    }
    let mut at = s;
    for (k, m) in moves.iter().enumerate() {
        let Some(&(_, dr, dc)) = DIRS.iter().find(|d| d.0 == *m) else {
            return reject(answer, "bad move");
        };
        let (nr, nc) = (at.0 as isize + dr, at.1 as isize + dc);
        let open = nr >= 0
            && nc >= 0
            && grid
                .get(nr as usize)
                .and_then(|row| row.get(nc as usize))
                .is_some_and(|&b| b != b'#');
        if !open {
            return reject(
                answer,
                format!("move {} ({m}) hits a wall or leaves the maze", k + 1),
            );
        }
        at = (nr as usize, nc as usize);
    }
    if at != goal {
        return reject(answer, "the moves do not end on G");
    }
    Verdict::correct(moves.iter().collect::<String>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_either_shortest_path() {
        let grid: Vec<Vec<u8>> = ["S..", ".#.", "..G"]
            .iter()
            .map(|r| r.as_bytes().to_vec())
            .collect();
        assert!(check(&grid, 4, "R R D D").correct);
        assert!(check(&grid, 4, "D, D, R, R").correct);
        assert!(check(&grid, 4, "down down right right").correct);
        assert!(check(&grid, 4, "DDRR").correct);
        assert!(!check(&grid, 4, "R D D R").correct);
        assert!(!check(&grid, 4, "R R D D U D").correct);
    }
}
