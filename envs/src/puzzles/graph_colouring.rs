//! `graph_colouring`: colour a graph with k colours so no edge is monochromatic
//! (reasoning-gym's `graph_color`). Graphs are built around a hidden planted colouring, so
//! a solution always exists; any proper colouring is accepted, checked edge by edge.
//!
//! The reference chain of thought is DSATUR (Brélaz 1979: colour the vertex whose
//! neighbours already use the most colours) with backtracking, written out.

use crate::env::{Domain, Family, Problem};
use crate::prompts::render;
use crate::puzzles::common::{read_gold, reject, Trace};
use crate::rng::TaskRng;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::fmt::Write;
use verigym_verifiers::{Verdict, VerifyError};

const TEMPLATE: &str = include_str!("../../../prompts/graph_colouring.txt");

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GraphColouringConfig {
    pub vertices: usize,
    pub colours: usize,
    /// Probability of an edge between two vertices of different planted colours.
    pub edge_probability: f64,
}

pub struct GraphColouring {
    config: GraphColouringConfig,
}

#[derive(Deserialize)]
struct Gold {
    vertices: usize,
    colours: usize,
    /// 1-based endpoints.
    edges: Vec<(usize, usize)>,
}

struct Dsatur<'a> {
    adj: &'a [Vec<usize>],
    k: usize,
    colour: Vec<usize>, // 0 = none
    nodes: usize,
}

impl Dsatur<'_> {
    fn used(&self, v: usize) -> u32 {
        self.adj[v].iter().fold(0, |m, &u| {
            if self.colour[u] > 0 {
                m | 1 << self.colour[u]
            } else {
                m
            }
        })
    }

    fn go(&mut self, trace: &mut Trace) -> bool {
        // Saturation (neighbour colours) of every uncoloured vertex, computed once per step.
        let mut pick: Option<(usize, u32)> = None;
        let mut best = (0u32, 0usize);
        for v in 0..self.colour.len() {
            if self.colour[v] != 0 {
                continue;
            }
            let used = self.used(v);
            let key = (used.count_ones(), self.adj[v].len());
            if pick.is_none() || key > best {
                best = key;
                pick = Some((v, used));
            }
        }
        let Some((v, used)) = pick else {
            return true;
        };
        self.nodes += 1;
        if self.nodes > 100_000 {
            return false;
        }
        let free: Vec<usize> = (1..=self.k).filter(|c| used & (1 << c) == 0).collect();
        if free.is_empty() {
            trace.push(format!(
                "Vertex {}: its neighbours use every colour; back up.",
                v + 1
            ));
            return false;
        }
        // The colours the neighbours use, e.g. "{1,3}".
        let mut blocked = String::from("{");
        for c in (1..=self.k).filter(|c| used & (1 << c) != 0) {
            if blocked.len() > 1 {
                blocked.push(',');
            }
            blocked.push(char::from(b'0' + c as u8));
        }
        blocked.push('}');
        for (i, &c) in free.iter().enumerate() {
            trace.write(format_args!(
                "Vertex {} (neighbours use {blocked}): {}colour {c}.",
                v + 1,
                if i == 0 { "" } else { "try " }
            ));
            self.colour[v] = c;
            if self.go(trace) {
                return true;
            }
            self.colour[v] = 0;
        }
        trace.push(format!("Vertex {}: no colour works; back up.", v + 1));
        false
    }
}

impl Family for GraphColouring {
    type Config = GraphColouringConfig;
    const NAME: &'static str = "graph_colouring";
    const DOMAIN: Domain = Domain::Puzzle;
    const DESCRIPTION: &'static str =
        "Colour a graph with k colours so no edge is monochromatic; any proper colouring accepted";

    fn config_for(difficulty: u8) -> GraphColouringConfig {
        let d = usize::from(difficulty.clamp(1, 10));
        const V: [usize; 10] = [5, 6, 8, 10, 12, 14, 16, 18, 20, 24];
        GraphColouringConfig {
            vertices: V[d - 1],
            colours: if d <= 3 {
                3
            } else if d <= 7 {
                3 + (d % 2)
            } else {
                4
            },
            edge_probability: [0.38, 0.41, 0.44, 0.47, 0.5, 0.53, 0.56, 0.59, 0.62, 0.65][d - 1],
        }
    }

    fn new(config: GraphColouringConfig) -> Result<Self, String> {
        if !(2..=60).contains(&config.vertices) {
            return Err("vertices must be in 2..=60".into());
        }
        if !(2..=9).contains(&config.colours) {
            return Err("colours must be in 2..=9".into());
        }
        if !(0.0..=1.0).contains(&config.edge_probability) {
            return Err("edge_probability must be in [0, 1]".into());
        }
        Ok(GraphColouring { config })
    }

    fn generate(&self, rng: &mut TaskRng) -> Result<Problem, String> {
        let c = &self.config;
        let n = c.vertices;
        let planted: Vec<usize> = (0..n)
            .map(|_| rng.below(c.colours as u64) as usize)
            .collect();
        let mut edges = Vec::new();
        let mut adj = vec![Vec::new(); n];
        for a in 0..n {
            for b in a + 1..n {
                if planted[a] != planted[b] && rng.chance(c.edge_probability) {
                    edges.push((a + 1, b + 1));
                    adj[a].push(b);
                    adj[b].push(a);
                }
            }
        }
        let mut trace = Trace::new();
        trace.push(format!(
            "DSATUR: repeatedly take the uncoloured vertex whose neighbours use the most colours (ties: most neighbours), give it the lowest free colour, back up when none is free. {} colours available.",
            c.colours
        ));
        let mut s = Dsatur {
            adj: &adj,
            k: c.colours,
            colour: vec![0; n],
            nodes: 0,
        };
        let colouring = if s.go(&mut trace) {
            s.colour
        } else {
            trace.push(
                "The search is taking long; use the colouring that the edge structure allows: ",
            );
            planted.iter().map(|p| p + 1).collect()
        };
        let mut answer = String::with_capacity(8 * n);
        for (v, col) in colouring.iter().enumerate() {
            let sep = if v > 0 { ", " } else { "" };
            let _ = write!(answer, "{sep}{}: {col}", v + 1);
        }
        let mut edge_text = String::with_capacity(6 * edges.len());
        for (i, (a, b)) in edges.iter().enumerate() {
            let sep = if i > 0 { ", " } else { "" };
            let _ = write!(edge_text, "{sep}{a}-{b}");
        }
        Ok(Problem {
            question: render(
                TEMPLATE,
                &[
                    ("colours", &c.colours.to_string()),
                    ("vertices", &n.to_string()),
                    (
                        "edges",
                        if edges.is_empty() {
                            "(none)"
                        } else {
                            &edge_text
                        },
                    ),
                ],
            ),
            answer: json!({ "vertices": n, "colours": c.colours, "edges": edges }),
            thinking: trace.finish("Every edge joins two different colours."),
            final_answer: answer,
        })
    }

    fn verify(&self, gold: &serde_json::Value, answer: &str) -> Result<Verdict, VerifyError> {
        let g: Gold = read_gold(gold)?;
        if g.vertices == 0
            || g.vertices > 1000
            || g.edges
                .iter()
                .any(|&(a, b)| a == 0 || b == 0 || a > g.vertices || b > g.vertices)
        {
            return Err(VerifyError::InvalidGold("bad graph".into()));
        }
        Ok(check(g.vertices, g.colours, &g.edges, answer))
    }
}

/// Reads "v: c" pairs (separators `:` or `=`, pairs split by commas, semicolons or lines).
pub fn parse_assignment(answer: &str, n: usize) -> Result<Vec<usize>, String> {
    let mut colour = vec![0usize; n];
    let parts: Vec<&str> = answer
        .split([',', ';', '\n'])
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect();
    if parts.len() != n {
        return Err(format!(
            "{} pairs given, the graph has {n} vertices",
            parts.len()
        ));
    }
    for p in parts {
        let (v, c) = p
            .split_once([':', '='])
            .ok_or_else(|| format!("'{p}' is not 'vertex: colour'"))?;
        let v = v.trim().trim_start_matches(['v', 'V']);
        let (Ok(v), Ok(c)) = (v.trim().parse::<usize>(), c.trim().parse::<usize>()) else {
            return Err(format!("'{p}' is not 'vertex: colour'"));
        };
        if v == 0 || v > n {
            return Err(format!("there is no vertex {v}"));
        }
        if colour[v - 1] != 0 {
            return Err(format!("vertex {v} is coloured twice"));
        }
        if c == 0 {
            return Err("colours start at 1".into());
        }
        colour[v - 1] = c;
    }
    Ok(colour)
}

pub fn check(n: usize, k: usize, edges: &[(usize, usize)], answer: &str) -> Verdict {
    let colour = match parse_assignment(answer, n) {
        Ok(c) => c,
        Err(e) => return reject(answer, e),
    };
    if let Some(c) = colour.iter().find(|&&c| c > k) {
        return reject(answer, format!("colour {c} is more than the {k} allowed"));
    }
    for &(a, b) in edges {
        if colour[a - 1] == colour[b - 1] {
            return reject(
                answer,
                format!(
                    "edge {a}-{b} joins two vertices of colour {}",
                    colour[a - 1]
                ),
            );
        }
    }
    Verdict::correct(format!("proper {k}-colouring"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_any_proper_colouring() {
        let edges = [(1, 2), (2, 3)];
        assert!(check(3, 2, &edges, "1: 1, 2: 2, 3: 1").correct);
        assert!(check(3, 2, &edges, "1=2\n2=1\n3=2").correct);
        assert!(check(3, 3, &edges, "3: 3, 1: 1, 2: 2").correct);
        assert!(!check(3, 2, &edges, "1: 1, 2: 1, 3: 2").correct);
        assert!(!check(3, 2, &edges, "1: 1, 2: 3, 3: 1").correct);
        assert!(!check(3, 2, &edges, "1: 1, 2: 2").correct);
        assert!(!check(3, 2, &edges, "1: 1, 1: 2, 3: 1").correct);
    }
}
