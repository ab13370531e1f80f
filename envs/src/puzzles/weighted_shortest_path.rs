//! `weighted_shortest_path`: a minimum-weight path between two nodes of a weighted
//! undirected graph. Any path of the minimum total length is accepted: the verifier checks
//! every edge of the answer and sums the weights itself.
//!
//! The reference chain of thought is Dijkstra's algorithm (1959) written out: each node
//! settled with its distance and the edges it relaxes, then the path read back.

use crate::env::{Domain, Family, Problem};
use crate::kit::render;
use crate::kit::{letter_name, read_gold, reject, tokens, Trace};
use crate::rng::TaskRng;
use serde::{Deserialize, Serialize};
use serde_json::json;
use verigym_verifiers::{Verdict, VerifyError};

const TEMPLATE: &str = crate::template!("weighted_shortest_path");

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WeightedShortestPathConfig {
    pub nodes: usize,
    /// Edges beyond the random spanning tree.
    pub extra_edges: usize,
    pub max_weight: u32,
}

pub struct WeightedShortestPath {
    config: WeightedShortestPathConfig,
}

#[derive(Deserialize)]
struct Gold {
    nodes: usize,
    edges: Vec<(usize, usize, u64)>,
    source: usize,
    target: usize,
    distance: u64,
}

fn weight(edges: &[(usize, usize, u64)], a: usize, b: usize) -> Option<u64> {
    edges
        .iter()
        .filter(|&&(x, y, _)| (x == a && y == b) || (x == b && y == a))
        .map(|e| e.2)
        .min()
}

/// Dijkstra over the adjacency list; O(n^2) selection, which is plenty for these sizes.
fn dijkstra(
    n: usize,
    edges: &[(usize, usize, u64)],
    s: usize,
    trace: Option<&mut Trace>,
) -> (Vec<u64>, Vec<usize>) {
    let mut dist = vec![u64::MAX; n];
    let mut prev = vec![usize::MAX; n];
    let mut done = vec![false; n];
    dist[s] = 0;
    let mut lines = Vec::new();
    for _ in 0..n {
        let Some(u) = (0..n)
            .filter(|&v| !done[v] && dist[v] < u64::MAX)
            .min_by_key(|&v| (dist[v], v))
        else {
            break;
        };
        done[u] = true;
        let mut relaxed = Vec::new();
        for &(a, b, w) in edges {
            let v = if a == u {
                b
            } else if b == u {
                a
            } else {
                continue;
            };
            if done[v] {
                continue;
            }
            let nd = dist[u] + w;
            if nd < dist[v] {
                let old = if dist[v] == u64::MAX {
                    "inf".to_string()
                } else {
                    dist[v].to_string()
                };
                relaxed.push(format!("{} {old} -> {nd}", letter_name(v)));
                dist[v] = nd;
                prev[v] = u;
            }
        }
        lines.push(format!(
            "Settle {} at distance {}; update {}.",
            letter_name(u),
            dist[u],
            if relaxed.is_empty() {
                "nothing".to_string()
            } else {
                relaxed.join(", ")
            }
        ));
    }
    if let Some(t) = trace {
        for l in lines {
            t.push(l);
        }
    }
    (dist, prev)
}

impl Family for WeightedShortestPath {
    type Config = WeightedShortestPathConfig;
    const NAME: &'static str = "weighted_shortest_path";
    const DOMAIN: Domain = Domain::Puzzle;
    const DESCRIPTION: &'static str =
        "Minimum-weight path in a weighted undirected graph; any shortest path accepted";

    fn config_for(difficulty: u8) -> WeightedShortestPathConfig {
        let d = usize::from(difficulty.clamp(1, 10));
        const N: [usize; 10] = [4, 5, 6, 8, 10, 12, 14, 16, 20, 24];
        let nodes = N[d - 1];
        WeightedShortestPathConfig {
            nodes,
            extra_edges: nodes * (d + 3) / 6,
            max_weight: 5 + 2 * d as u32,
        }
    }

    fn new(config: WeightedShortestPathConfig) -> Result<Self, String> {
        if !(2..=26).contains(&config.nodes) {
            return Err("nodes must be in 2..=26".into());
        }
        if config.extra_edges > config.nodes * config.nodes {
            return Err("extra_edges must be at most nodes^2".into());
        }
        if !(1..=1000).contains(&config.max_weight) {
            return Err("max_weight must be in 1..=1000".into());
        }
        Ok(WeightedShortestPath { config })
    }

    fn generate(&self, rng: &mut TaskRng) -> Result<Problem, String> {
        let c = &self.config;
        let n = c.nodes;
        let mut order: Vec<usize> = (0..n).collect();
        rng.shuffle(&mut order);
        let mut edges: Vec<(usize, usize, u64)> = Vec::new();
        let w = |rng: &mut TaskRng| rng.range(1, i64::from(c.max_weight)) as u64;
        for i in 1..n {
            let j = rng.below(i as u64) as usize;
            let (a, b) = (order[i].min(order[j]), order[i].max(order[j]));
            edges.push((a, b, w(rng)));
        }
        for _ in 0..c.extra_edges {
            let (a, b) = (rng.below(n as u64) as usize, rng.below(n as u64) as usize);
            if a != b && weight(&edges, a, b).is_none() {
                edges.push((a.min(b), a.max(b), w(rng)));
            }
        }
        edges.sort();
        let source = rng.below(n as u64) as usize;
        let target = (source + 1 + rng.below(n as u64 - 1) as usize) % n;
        let mut trace = Trace::new();
        trace.push(format!(
            "Dijkstra from {}: settle the closest unsettled node, then update its neighbours' distances.",
            letter_name(source)
        ));
        let (dist, prev) = dijkstra(n, &edges, source, Some(&mut trace));
        let mut path = vec![target];
        while let Some(&p) = path.last().map(|&v| &prev[v]) {
            if p == usize::MAX {
                break;
            }
            path.push(p);
        }
        path.reverse();
        let answer = path
            .iter()
            .map(|&v| letter_name(v))
            .collect::<Vec<_>>()
            .join(" ");
        trace.push(format!(
            "Following the predecessors back from {} gives {answer}.",
            letter_name(target)
        ));
        let edge_text = edges
            .iter()
            .map(|&(a, b, w)| format!("{}-{}: {w}", letter_name(a), letter_name(b)))
            .collect::<Vec<_>>()
            .join("\n");
        Ok(Problem {
            question: render(
                TEMPLATE,
                &[
                    ("source", &letter_name(source)),
                    ("target", &letter_name(target)),
                    ("edges", &edge_text),
                ],
            ),
            answer: json!({ "nodes": n, "edges": edges, "source": source, "target": target, "distance": dist[target] }),
            thinking: trace.finish(format!("Total length {}.", dist[target])),
            final_answer: answer,
        })
    }

    fn verify(&self, gold: &serde_json::Value, answer: &str) -> Result<Verdict, VerifyError> {
        let g: Gold = read_gold(gold)?;
        if g.nodes == 0 || g.nodes > 26 || g.source >= g.nodes || g.target >= g.nodes {
            return Err(VerifyError::InvalidGold("bad graph".into()));
        }
        Ok(check(
            g.nodes, &g.edges, g.source, g.target, g.distance, answer,
        ))
    }
}

pub fn check(
    n: usize,
    edges: &[(usize, usize, u64)],
    s: usize,
    t: usize,
    distance: u64,
    answer: &str,
) -> Verdict {
    let toks = tokens(answer);
    if toks.len() > n {
        return reject(answer, "a shortest path never repeats a node");
    }
    let mut path = Vec::new();
    for tok in &toks {
        match (0..n).find(|&v| letter_name(v) == tok.to_ascii_uppercase()) {
            Some(v) => path.push(v),
            None => return reject(answer, format!("'{tok}' is not a node")),
        }
    }
    if path.first() != Some(&s) || path.last() != Some(&t) {
        return reject(
            answer,
            format!(
                "the path must go from {} to {}",
                letter_name(s),
                letter_name(t)
            ),
        );
    }
    let mut total = 0u64;
    for w in path.windows(2) {
        match weight(edges, w[0], w[1]) {
            Some(x) => total += x,
            None => {
                return reject(
                    answer,
                    format!(
                        "there is no edge {}-{}",
                        letter_name(w[0]),
                        letter_name(w[1])
                    ),
                )
            }
        }
    }
    if total != distance {
        return reject(
            answer,
            format!("the path has length {total}, the shortest is {distance}"),
        );
    }
    Verdict::correct(format!("length {total}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_both_equal_shortest_paths() {
        // A-B-D and A-C-D both have length 3; A-D directly is 5.
        let edges = [(0, 1, 1), (1, 3, 2), (0, 2, 2), (2, 3, 1), (0, 3, 5)];
        let (dist, _) = dijkstra(4, &edges, 0, None);
        assert_eq!(dist[3], 3);
        assert!(check(4, &edges, 0, 3, 3, "A B D").correct);
        assert!(check(4, &edges, 0, 3, 3, "A, C, D").correct);
        assert!(!check(4, &edges, 0, 3, 3, "A D").correct);
        assert!(!check(4, &edges, 0, 3, 3, "A B C D").correct);
        assert!(!check(4, &edges, 0, 3, 3, "B D").correct);
    }
}
