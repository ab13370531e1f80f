//! `propositional_sat`: find a satisfying assignment of a random k-CNF formula with a
//! planted solution (the planted 3-SAT model; hardest near 4.26 clauses per variable,
//! Mitchell, Selman and Levesque 1992). Any satisfying assignment is accepted: the verifier
//! evaluates every clause under the answer.
//!
//! The reference chain of thought is DPLL (Davis, Logemann and Loveland 1962) written out:
//! unit propagation, decisions on the most frequent variable, conflicts and backtracking.

use crate::env::{Domain, Family, Problem};
use crate::kit::render;
use crate::kit::{read_gold, reject, Trace};
use crate::rng::TaskRng;
use serde::{Deserialize, Serialize};
use serde_json::json;
use verigym_verifiers::{Verdict, VerifyError};

const TEMPLATE: &str = crate::template!("propositional_sat");

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PropositionalSatConfig {
    pub variables: usize,
    /// Clauses per variable (rounded).
    pub clause_ratio: f64,
    /// Literals per clause.
    pub width: usize,
}

pub struct PropositionalSat {
    config: PropositionalSatConfig,
}

/// A literal: variable index (0-based) and polarity (true = positive).
type Lit = (usize, bool);

#[derive(Deserialize)]
struct Gold {
    variables: usize,
    clauses: Vec<Vec<Lit>>,
}

fn lit_text((v, pos): Lit) -> String {
    format!("{}x{}", if pos { "" } else { "~" }, v + 1)
}

fn clause_text(c: &[Lit]) -> String {
    format!(
        "({})",
        c.iter()
            .map(|&l| lit_text(l))
            .collect::<Vec<_>>()
            .join(" | ")
    )
}

struct Dpll<'a> {
    clauses: &'a [Vec<Lit>],
    nodes: usize,
}

impl Dpll<'_> {
    /// Returns a model extending `assign`, writing the search into `trace`.
    fn solve(&mut self, assign: &mut Vec<Option<bool>>, trace: &mut Trace, depth: usize) -> bool {
        self.nodes += 1;
        if self.nodes > 20_000 {
            return false;
        }
        let indent = "  ".repeat(depth);
        let mut forced: Vec<usize> = Vec::new();
        // Unit propagation to a fixed point.
        loop {
            let mut changed = false;
            for (ci, c) in self.clauses.iter().enumerate() {
                let mut open = None;
                let mut open_count = 0;
                let mut sat = false;
                for &(v, pos) in c {
                    match assign[v] {
                        Some(x) if x == pos => {
                            sat = true;
                            break;
                        }
                        Some(_) => {}
                        None => {
                            open_count += 1;
                            open = Some((v, pos));
                        }
                    }
                }
                if sat {
                    continue;
                }
                match (open_count, open) {
                    (0, _) => {
                        trace.push(format!(
                            "{indent}Clause {} {} is false: conflict, back up.",
                            ci + 1,
                            clause_text(c)
                        ));
                        for v in forced {
                            assign[v] = None;
                        }
                        return false;
                    }
                    (1, Some((v, pos))) => {
                        assign[v] = Some(pos);
                        forced.push(v);
                        trace.push(format!(
                            "{indent}Clause {} {} forces x{} = {}.",
                            ci + 1,
                            clause_text(c),
                            v + 1,
                            tf(pos)
                        ));
                        changed = true;
                    }
                    _ => {}
                }
            }
            if !changed {
                break;
            }
        }
        // Decide the unassigned variable occurring in the most unsatisfied clauses.
        let mut count = vec![0usize; assign.len()];
        for c in self.clauses {
            if c.iter().any(|&(v, pos)| assign[v] == Some(pos)) {
                continue;
            }
            for &(v, _) in c {
                if assign[v].is_none() {
                    count[v] += 1;
                }
            }
        }
        let pick = (0..assign.len())
            .filter(|&v| assign[v].is_none())
            .max_by_key(|&v| (count[v], usize::MAX - v));
        let Some(v) = pick else {
            return true;
        };
        if count[v] == 0 {
            // Every clause is satisfied; the rest are free.
            for a in assign.iter_mut().filter(|a| a.is_none()) {
                *a = Some(true);
            }
            trace.push(format!(
                "{indent}All clauses are satisfied; set the remaining variables to T."
            ));
            return true;
        }
        for value in [true, false] {
            trace.push(format!("{indent}Decide x{} = {}.", v + 1, tf(value)));
            assign[v] = Some(value);
            if self.solve(assign, trace, depth + 1) {
                return true;
            }
            assign[v] = None;
        }
        for v in forced {
            assign[v] = None;
        }
        false
    }
}

fn tf(b: bool) -> &'static str {
    if b {
        "T"
    } else {
        "F"
    }
}

impl Family for PropositionalSat {
    type Config = PropositionalSatConfig;
    const NAME: &'static str = "propositional_sat";
    const DOMAIN: Domain = Domain::Logic;
    const DESCRIPTION: &'static str =
        "Satisfy a random k-CNF formula (planted solution); any satisfying assignment accepted";

    fn config_for(difficulty: u8) -> PropositionalSatConfig {
        let d = usize::from(difficulty.clamp(1, 10));
        const VARS: [usize; 10] = [3, 4, 5, 6, 8, 10, 12, 14, 16, 20];
        PropositionalSatConfig {
            variables: VARS[d - 1],
            // Literal table (not arithmetic) so the config prints and parses back exactly.
            clause_ratio: [2.2, 2.5, 2.7, 3.0, 3.2, 3.4, 3.7, 3.9, 4.1, 4.26][d - 1],
            width: if d <= 2 { 2 } else { 3 },
        }
    }

    fn new(config: PropositionalSatConfig) -> Result<Self, String> {
        if !(1..=100).contains(&config.variables) {
            return Err("variables must be in 1..=100".into());
        }
        if !(0.1..=10.0).contains(&config.clause_ratio) {
            return Err("clause_ratio must be in [0.1, 10]".into());
        }
        if config.width == 0 || config.width > config.variables.min(8) {
            return Err("width must be in 1..=min(variables, 8)".into());
        }
        Ok(PropositionalSat { config })
    }

    fn generate(&self, rng: &mut TaskRng) -> Result<Problem, String> {
        let c = &self.config;
        let n = c.variables;
        let planted: Vec<bool> = (0..n).map(|_| rng.chance(0.5)).collect();
        let m = ((n as f64 * c.clause_ratio).round() as usize).max(1);
        let mut clauses = Vec::with_capacity(m);
        while clauses.len() < m {
            let mut vars: Vec<usize> = (0..n).collect();
            rng.shuffle(&mut vars);
            let clause: Vec<Lit> = vars[..c.width]
                .iter()
                .map(|&v| (v, rng.chance(0.5)))
                .collect();
            // Planted: keep only clauses the hidden assignment satisfies.
            if clause.iter().any(|&(v, pos)| planted[v] == pos) {
                clauses.push(clause);
            }
        }
        let mut trace = Trace::new();
        trace.push("DPLL: propagate unit clauses, then decide the variable in the most unsatisfied clauses (T first), backing up on a conflict.");
        let mut assign = vec![None; n];
        let model: Vec<bool> = if (Dpll {
            clauses: &clauses,
            nodes: 0,
        })
        .solve(&mut assign, &mut trace, 0)
        {
            assign.iter().map(|a| a.unwrap_or(true)).collect()
        } else {
            trace.push("The search is long; the hidden assignment below satisfies every clause.");
            planted
        };
        let answer = model
            .iter()
            .enumerate()
            .map(|(v, &b)| format!("x{}={}", v + 1, tf(b)))
            .collect::<Vec<_>>()
            .join(", ");
        let vars = (1..=n)
            .map(|v| format!("x{v}"))
            .collect::<Vec<_>>()
            .join(", ");
        let clause_lines = clauses
            .iter()
            .enumerate()
            .map(|(i, cl)| format!("{}. {}", i + 1, clause_text(cl)))
            .collect::<Vec<_>>()
            .join("\n");
        Ok(Problem {
            question: render(TEMPLATE, &[("vars", &vars), ("clauses", &clause_lines)]),
            answer: json!({ "variables": n, "clauses": clauses }),
            thinking: trace.finish(format!(
                "Check: every clause has a true literal under {answer}."
            )),
            final_answer: answer,
        })
    }

    fn verify(&self, gold: &serde_json::Value, answer: &str) -> Result<Verdict, VerifyError> {
        let g: Gold = read_gold(gold)?;
        if g.variables == 0
            || g.variables > 1000
            || g.clauses.iter().flatten().any(|&(v, _)| v >= g.variables)
        {
            return Err(VerifyError::InvalidGold("bad formula".into()));
        }
        Ok(check(g.variables, &g.clauses, answer))
    }
}

/// Reads "xN=T/F" for every variable and evaluates every clause.
pub fn check(n: usize, clauses: &[Vec<Lit>], answer: &str) -> Verdict {
    let mut assign: Vec<Option<bool>> = vec![None; n];
    let parts: Vec<&str> = answer
        .split([',', ';', '\n'])
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect();
    if parts.len() != n {
        return reject(
            answer,
            format!("{} assignments, there are {n} variables", parts.len()),
        );
    }
    for p in parts {
        let Some((name, value)) = p.split_once(['=', ':']) else {
            return reject(answer, format!("'{p}' is not 'xN=T'"));
        };
        let name = name.trim().to_ascii_lowercase();
        let Some(v) = name
            .strip_prefix('x')
            .and_then(|d| d.parse::<usize>().ok())
            .filter(|&v| (1..=n).contains(&v))
        else {
            return reject(answer, format!("'{name}' is not a variable"));
        };
        let value = match value.trim().to_ascii_lowercase().as_str() {
            "t" | "true" | "1" => true,
            "f" | "false" | "0" => false,
            other => return reject(answer, format!("'{other}' is not T or F")),
        };
        if assign[v - 1].replace(value).is_some() {
            return reject(answer, format!("x{v} is assigned twice"));
        }
    }
    for (i, c) in clauses.iter().enumerate() {
        if !c.iter().any(|&(v, pos)| assign[v] == Some(pos)) {
            return reject(
                answer,
                format!("clause {} {} is false", i + 1, clause_text(c)),
            );
        }
    }
    Verdict::correct(answer.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_satisfying_assignment_passes() {
        // (x1 | x2) & (~x1 | x2): x2 must be true, x1 is free.
        let clauses = vec![vec![(0, true), (1, true)], vec![(0, false), (1, true)]];
        assert!(check(2, &clauses, "x1=T, x2=T").correct);
        assert!(check(2, &clauses, "x1=false\nx2=true").correct);
        assert!(!check(2, &clauses, "x1=T, x2=F").correct);
        assert!(!check(2, &clauses, "x2=T").correct);
        assert!(!check(2, &clauses, "x1=T, x1=F").correct);
    }
}
