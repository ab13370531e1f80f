//! `graph_colouring`: colour a graph with k colours so no edge is monochromatic
//! (reasoning-gym's `graph_color`). Graphs are built around a hidden planted colouring, so
//! a solution always exists; any proper colouring is accepted, checked edge by edge.
//!
//! The reference chain of thought is DSATUR (Brélaz 1979: colour the vertex whose
//! neighbours already use the most colours) with backtracking, written out.

use crate::env::{Domain, Family, Problem};
use crate::kit::{read_gold, reject, render, Trace};
use crate::rng::TaskRng;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use verigym_verifiers::{Verdict, VerifyError};

const TEMPLATE: &str = crate::template!("graph_colouring");

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

/// DSATUR with backtracking over bitmask adjacency (at most 60 vertices, one `u64` each).
/// Saturation is kept incrementally: `seen[v * 10 + c]` counts the neighbours of `v` with
/// colour `c`, bit `c` of `sat[v]` is set while that count is positive, and `key[v]` is
/// (number of colours in `sat[v]`) * 64 + degree, the DSATUR order as one integer.
struct Dsatur<'a> {
    adj: &'a [u64],
    k: usize,
    colour: [u8; 60], // 0 = none
    seen: [u8; 600],
    sat: [u32; 60],
    key: [u32; 60],
    uncoloured: u64,
    nodes: usize,
}

impl Dsatur<'_> {
    fn new(adj: &[u64], k: usize) -> Dsatur<'_> {
        let mut key = [0u32; 60];
        for (k, a) in key.iter_mut().zip(adj) {
            *k = a.count_ones();
        }
        Dsatur {
            adj,
            k,
            colour: [0; 60],
            seen: [0; 600],
            sat: [0; 60],
            key,
            uncoloured: if adj.len() >= 64 {
                u64::MAX
            } else {
                (1u64 << adj.len()) - 1
            },
            nodes: 0,
        }
    }

    /// Bit `c` set when a neighbour of `v` has colour `c`.
    fn used(&self, v: usize) -> u32 {
        self.sat[v]
    }

    fn set(&mut self, v: usize, c: usize) {
        self.colour[v] = c as u8;
        self.uncoloured &= !(1 << v);
        let mut bits = self.adj[v];
        while bits != 0 {
            let u = bits.trailing_zeros() as usize;
            bits &= bits - 1;
            let i = u * 10 + c;
            self.seen[i] += 1;
            if self.seen[i] == 1 {
                self.sat[u] |= 1 << c;
                self.key[u] += 64;
            }
        }
    }

    fn unset(&mut self, v: usize) {
        let c = usize::from(self.colour[v]);
        self.colour[v] = 0;
        self.uncoloured |= 1 << v;
        let mut bits = self.adj[v];
        while bits != 0 {
            let u = bits.trailing_zeros() as usize;
            bits &= bits - 1;
            let i = u * 10 + c;
            self.seen[i] -= 1;
            if self.seen[i] == 0 {
                self.sat[u] &= !(1 << c);
                self.key[u] -= 64;
            }
        }
    }

    fn go(&mut self, trace: &mut Trace) -> bool {
        // The uncoloured vertex with the most neighbour colours, then the most neighbours;
        // the lowest-numbered among equals.
        if self.uncoloured == 0 {
            return true;
        }
        let mut rest = self.uncoloured;
        let mut v = rest.trailing_zeros() as usize;
        let mut best = self.key[v];
        rest &= rest - 1;
        while rest != 0 {
            let u = rest.trailing_zeros() as usize;
            rest &= rest - 1;
            if self.key[u] > best {
                best = self.key[u];
                v = u;
            }
        }
        let used = self.used(v);
        self.nodes += 1;
        if self.nodes > 100_000 {
            return false;
        }
        // Colours 1..=k as bits 1..=k.
        let all = ((1u32 << (self.k + 1)) - 1) & !1;
        let free = all & !used;
        if free == 0 {
            trace.push(format!(
                "Vertex {}: its neighbours use every colour; back up.",
                v + 1
            ));
            return false;
        }
        let mut rest = free;
        let mut first = true;
        while rest != 0 {
            let c = rest.trailing_zeros() as usize;
            rest &= rest - 1;
            // The colours the neighbours use, e.g. "{1,3}" (colour k is bit k of `used`).
            let neighbour_colours: Vec<String> = (0..u32::BITS)
                .filter(|&k| used & (1 << k) != 0)
                .map(|k| k.to_string())
                .collect();
            let verb = if first { "colour" } else { "try colour" };
            trace.push(format!(
                "Vertex {} (neighbours use {{{}}}): {verb} {c}.",
                v + 1,
                neighbour_colours.join(",")
            ));
            first = false;
            self.set(v, c);
            if self.go(trace) {
                return true;
            }
            self.unset(v);
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
        let mut planted = [0usize; 60];
        for p in planted.iter_mut().take(n) {
            *p = rng.below(c.colours as u64) as usize;
        }
        let mut edges: Vec<(usize, usize)> = Vec::with_capacity(n * 2);
        let mut adj = [0u64; 60];
        for a in 0..n {
            for b in a + 1..n {
                if planted[a] != planted[b] && rng.chance(c.edge_probability) {
                    edges.push((a + 1, b + 1));
                    adj[a] |= 1 << b;
                    adj[b] |= 1 << a;
                }
            }
        }
        let mut trace = Trace::new();
        trace.push(format!("DSATUR: repeatedly take the uncoloured vertex whose neighbours use the most colours (ties: most neighbours), give it the lowest free colour, back up when none is free. {} colours available.", c.colours));
        let mut s = Dsatur::new(&adj[..n], c.colours);
        let mut colouring = [0usize; 60];
        if s.go(&mut trace) {
            for (c, &x) in colouring.iter_mut().zip(&s.colour[..n]) {
                *c = usize::from(x);
            }
        } else {
            trace.push(
                "The search is taking long; use the colouring that the edge structure allows: ",
            );
            for (c, &p) in colouring.iter_mut().zip(&planted[..n]) {
                *c = p + 1;
            }
        }
        let answer: Vec<String> = colouring[..n]
            .iter()
            .enumerate()
            .map(|(v, col)| format!("{}: {col}", v + 1))
            .collect();
        let answer = answer.join(", ");
        let edge_text: Vec<String> = edges.iter().map(|(a, b)| format!("{a}-{b}")).collect();
        let edge_text = edge_text.join(", ");
        let question = render(
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
        );
        let edge_json: Vec<Value> = edges
            .iter()
            .map(|&(a, b)| Value::Array(vec![a.into(), b.into()]))
            .collect();
        let mut gold = serde_json::Map::new();
        gold.insert("colours".into(), c.colours.into());
        gold.insert("edges".into(), Value::Array(edge_json));
        gold.insert("vertices".into(), n.into());
        Ok(Problem {
            question,
            answer: Value::Object(gold),
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
