//! `topological_sort`: order tasks so each follows its prerequisites. Any valid order is
//! accepted: the verifier checks that the answer is a permutation of the tasks and that
//! every constraint points forward.
//!
//! The reference chain of thought is Kahn's algorithm (1962) written out: the tasks with
//! no remaining prerequisites, the one taken (alphabetically first), the tasks it frees.

use crate::env::{Domain, Family, Problem};
use crate::kit::render;
use crate::kit::{letter_name, read_gold, reject, tokens, Trace};
use crate::rng::TaskRng;
use serde::{Deserialize, Serialize};
use serde_json::json;
use verigym_verifiers::{Verdict, VerifyError};

const TEMPLATE: &str = crate::template!("topological_sort");

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopologicalSortConfig {
    pub tasks: usize,
    /// Probability of a constraint between two tasks (in the hidden order's direction).
    pub edge_probability: f64,
}

pub struct TopologicalSort {
    config: TopologicalSortConfig,
}

#[derive(Deserialize)]
struct Gold {
    tasks: usize,
    /// (before, after), 0-based.
    edges: Vec<(usize, usize)>,
}

impl Family for TopologicalSort {
    type Config = TopologicalSortConfig;
    const NAME: &'static str = "topological_sort";
    const DOMAIN: Domain = Domain::Puzzle;
    const DESCRIPTION: &'static str =
        "Order tasks after their prerequisites (topological sort); any valid order accepted";

    fn config_for(difficulty: u8) -> TopologicalSortConfig {
        let d = usize::from(difficulty.clamp(1, 10));
        const N: [usize; 10] = [4, 5, 6, 8, 10, 12, 14, 16, 20, 24];
        TopologicalSortConfig {
            tasks: N[d - 1],
            edge_probability: [0.48, 0.45, 0.42, 0.4, 0.38, 0.35, 0.32, 0.3, 0.28, 0.25][d - 1],
        }
    }

    fn new(config: TopologicalSortConfig) -> Result<Self, String> {
        if !(2..=26).contains(&config.tasks) {
            return Err("tasks must be in 2..=26".into());
        }
        if !(0.0..=1.0).contains(&config.edge_probability) {
            return Err("edge_probability must be in [0, 1]".into());
        }
        Ok(TopologicalSort { config })
    }

    fn generate(&self, rng: &mut TaskRng) -> Result<Problem, String> {
        let n = self.config.tasks;
        let mut hidden: Vec<usize> = (0..n).collect();
        rng.shuffle(&mut hidden);
        let mut edges = Vec::new();
        for i in 0..n {
            for j in i + 1..n {
                if rng.chance(self.config.edge_probability) {
                    edges.push((hidden[i], hidden[j]));
                }
            }
        }
        rng.shuffle(&mut edges);
        let mut trace = Trace::new();
        trace.push("Kahn's algorithm: repeatedly take a task with no unfinished prerequisites (alphabetically first), then release the tasks that were waiting on it.");
        let mut indeg = vec![0usize; n];
        for &(_, b) in &edges {
            indeg[b] += 1;
        }
        let mut done = vec![false; n];
        let mut order = Vec::with_capacity(n);
        for _ in 0..n {
            let ready: Vec<usize> = (0..n).filter(|&v| !done[v] && indeg[v] == 0).collect();
            let &v = ready.first().ok_or("the constraints have a cycle")?;
            done[v] = true;
            order.push(v);
            let mut freed = Vec::new();
            for &(a, b) in &edges {
                if a == v {
                    indeg[b] -= 1;
                    if indeg[b] == 0 {
                        freed.push(letter_name(b));
                    }
                }
            }
            let ready_names: Vec<String> = ready.iter().map(|&r| letter_name(r)).collect();
            trace.push(format!(
                "Ready: {}. Take {}{}.",
                ready_names.join(", "),
                letter_name(v),
                if freed.is_empty() {
                    String::new()
                } else {
                    format!("; this frees {}", freed.join(", "))
                }
            ));
        }
        let answer = order
            .iter()
            .map(|&v| letter_name(v))
            .collect::<Vec<_>>()
            .join(" ");
        let names: Vec<String> = (0..n).map(letter_name).collect();
        let constraints = if edges.is_empty() {
            "(none)".to_string()
        } else {
            edges
                .iter()
                .map(|&(a, b)| format!("{} must come before {}", letter_name(a), letter_name(b)))
                .collect::<Vec<_>>()
                .join("\n")
        };
        Ok(Problem {
            question: render(
                TEMPLATE,
                &[
                    ("count", &n.to_string()),
                    ("tasks", &names.join(", ")),
                    ("constraints", &constraints),
                ],
            ),
            answer: json!({ "tasks": n, "edges": edges }),
            thinking: trace.finish(format!("Order: {answer}.")),
            final_answer: answer,
        })
    }

    fn verify(&self, gold: &serde_json::Value, answer: &str) -> Result<Verdict, VerifyError> {
        let g: Gold = read_gold(gold)?;
        if g.tasks == 0
            || g.tasks > 26
            || g.edges.iter().any(|&(a, b)| a >= g.tasks || b >= g.tasks)
        {
            return Err(VerifyError::InvalidGold("bad tasks".into()));
        }
        Ok(check(g.tasks, &g.edges, answer))
    }
}

pub fn check(n: usize, edges: &[(usize, usize)], answer: &str) -> Verdict {
    let toks = tokens(answer);
    if toks.len() != n {
        return reject(
            answer,
            format!("{} tasks listed, there are {n}", toks.len()),
        );
    }
    let mut pos = vec![usize::MAX; n];
    for (i, t) in toks.iter().enumerate() {
        let Some(v) = (0..n).find(|&v| letter_name(v) == t.to_ascii_uppercase()) else {
            return reject(answer, format!("'{t}' is not a task"));
        };
        if pos[v] != usize::MAX {
            return reject(answer, format!("{t} is listed twice"));
        }
        pos[v] = i;
    }
    for &(a, b) in edges {
        if pos[a] > pos[b] {
            return reject(
                answer,
                format!("{} must come before {}", letter_name(a), letter_name(b)),
            );
        }
    }
    Verdict::correct(toks.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_every_valid_order() {
        let edges = [(0, 2), (1, 2)];
        assert!(check(3, &edges, "A B C").correct);
        assert!(check(3, &edges, "B, A, C").correct);
        assert!(!check(3, &edges, "A C B").correct);
        assert!(!check(3, &edges, "A B").correct);
        assert!(!check(3, &edges, "A A C").correct);
    }
}
