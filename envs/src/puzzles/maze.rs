//! `maze`: find a shortest path from S to G on a grid with walls (reasoning-gym's `maze`
//! asks only for the length; here the path itself is the answer). Any path of the shortest
//! length is accepted: the verifier walks the moves on the grid itself.
//!
//! The reference chain of thought is breadth-first search written layer by layer, then the
//! walk back from the goal along decreasing distances.

use crate::env::{Domain, Family, Problem};
use crate::prompts::render;
use crate::puzzles::common::{read_gold, reject, tokens, Trace};
use crate::rng::TaskRng;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::VecDeque;
use verigym_verifiers::{Verdict, VerifyError};

const TEMPLATE: &str = include_str!("../../../prompts/maze.txt");

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

/// Distances from `start` by breadth-first search (usize::MAX where unreachable).
fn bfs(grid: &[Vec<u8>], start: (usize, usize)) -> Vec<Vec<usize>> {
    let (h, w) = (grid.len(), grid.first().map_or(0, Vec::len));
    let mut dist = vec![vec![usize::MAX; w]; h];
    let mut q = VecDeque::new();
    dist[start.0][start.1] = 0;
    q.push_back(start);
    while let Some((r, c)) = q.pop_front() {
        for (_, dr, dc) in DIRS {
            let (nr, nc) = (r as isize + dr, c as isize + dc);
            if nr < 0 || nc < 0 || nr as usize >= h || nc as usize >= w {
                continue;
            }
            let (nr, nc) = (nr as usize, nc as usize);
            if grid[nr][nc] != b'#' && dist[nr][nc] == usize::MAX {
                dist[nr][nc] = dist[r][c] + 1;
                q.push_back((nr, nc));
            }
        }
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
            min_distance: side,
        }
    }

    fn new(config: MazeConfig) -> Result<Self, String> {
        if !(2..=40).contains(&config.width) || !(2..=40).contains(&config.height) {
            return Err("width and height must be in 2..=40".into());
        }
        if !(0.0..=0.6).contains(&config.wall_density) {
            return Err("wall_density must be in [0, 0.6]".into());
        }
        if config.min_distance > config.width + config.height - 2 {
            return Err("min_distance must be at most width + height - 2".into());
        }
        Ok(Maze { config })
    }

    fn generate(&self, rng: &mut TaskRng) -> Result<Problem, String> {
        let c = &self.config;
        let (w, h) = (c.width, c.height);
        let mut best: Option<(Vec<Vec<u8>>, usize)> = None;
        for _ in 0..50 {
            let mut grid: Vec<Vec<u8>> = (0..h)
                .map(|_| {
                    (0..w)
                        .map(|_| {
                            if rng.chance(c.wall_density) {
                                b'#'
                            } else {
                                b'.'
                            }
                        })
                        .collect()
                })
                .collect();
            let s = (rng.below(h as u64) as usize, rng.below(w as u64) as usize);
            let g = (rng.below(h as u64) as usize, rng.below(w as u64) as usize);
            if s == g {
                continue;
            }
            grid[s.0][s.1] = b'S';
            grid[g.0][g.1] = b'G';
            let d = bfs(&grid, s)[g.0][g.1];
            if d == usize::MAX {
                continue;
            }
            if d >= c.min_distance {
                best = Some((grid, d));
                break;
            }
            if best.as_ref().map_or(true, |b| d > b.1) {
                best = Some((grid, d));
            }
        }
        let grid = match best {
            Some((g, _)) => g,
            None => {
                // Fallback: an open grid from corner to corner.
                let mut g = vec![vec![b'.'; w]; h];
                g[0][0] = b'S';
                g[h - 1][w - 1] = b'G';
                g
            }
        };
        let s = find(&grid, b'S').ok_or("no start")?;
        let g = find(&grid, b'G').ok_or("no goal")?;
        let dist = bfs(&grid, s);
        let distance = dist[g.0][g.1];
        let mut trace = Trace::new();
        trace.push(format!(
            "Breadth-first search from S at (row {}, col {}), one layer of squares per step count:",
            s.0 + 1,
            s.1 + 1
        ));
        for k in 1..=distance {
            let layer: Vec<String> = (0..h)
                .flat_map(|r| (0..w).map(move |c| (r, c)))
                .filter(|&(r, c)| dist[r][c] == k)
                .map(|(r, c)| format!("({},{})", r + 1, c + 1))
                .collect();
            let hit = if k == distance {
                " — G is reached"
            } else {
                ""
            };
            trace.push(format!("{k} steps: {}{hit}", layer.join(" ")));
        }
        // Walk back from G, always to a neighbour one step closer to S.
        let mut path = Vec::new();
        let mut at = g;
        while at != s {
            let Some((ch, pr, pc)) = DIRS.iter().find_map(|&(ch, dr, dc)| {
                let (pr, pc) = (at.0 as isize - dr, at.1 as isize - dc);
                (pr >= 0
                    && pc >= 0
                    && (pr as usize) < h
                    && (pc as usize) < w
                    && dist[pr as usize][pc as usize].checked_add(1) == Some(dist[at.0][at.1]))
                .then_some((ch, pr as usize, pc as usize))
            }) else {
                return Err("broken distance map".into());
            };
            path.push(ch);
            at = (pr, pc);
        }
        path.reverse();
        let moves: Vec<String> = path.iter().map(|c| c.to_string()).collect();
        let answer = moves.join(" ");
        trace.push(format!(
            "Walking back from G through squares one step closer each time gives the path {answer}."
        ));
        let rows: Vec<String> = grid
            .iter()
            .map(|r| String::from_utf8_lossy(r).into_owned())
            .collect();
        Ok(Problem {
            question: render(TEMPLATE, &[("grid", &rows.join("\n"))]),
            answer: json!({ "grid": rows, "distance": distance }),
            thinking: trace.finish(format!("The shortest path takes {distance} moves.")),
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
