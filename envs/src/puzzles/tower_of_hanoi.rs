//! `tower_of_hanoi`: the minimal move sequence for n disks on three pegs (reasoning-gym's
//! `tower_of_hanoi`; Lucas 1883). The verifier simulates the moves itself — top disk only,
//! never a larger disk on a smaller one, named disks must match — and requires the tower
//! on the target peg after exactly 2^n - 1 moves.
//!
//! The reference chain of thought is the recursive plan: to move k disks, move k-1 aside,
//! move the largest, move k-1 back on top.

use crate::env::{Domain, Family, Problem};
use crate::kit::{read_gold, reject, render};
use crate::rng::TaskRng;
use serde::{Deserialize, Serialize};
use verigym_verifiers::{Verdict, VerifyError};

const TEMPLATE: &str = crate::template!("tower_of_hanoi");
const PEGS: [&str; 3] = ["A", "B", "C"];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TowerOfHanoiConfig {
    pub min_disks: usize,
    pub max_disks: usize,
}

pub struct TowerOfHanoi {
    config: TowerOfHanoiConfig,
}

#[derive(Deserialize)]
struct Gold {
    disks: usize,
    from: usize,
    to: usize,
}

/// Most disks (2^10 - 1 = 1023 moves keeps the answer inside the completion limit).
const MAX_DISKS: usize = 10;

/// Appends a disk number (1..=10) without the formatting machinery.
fn push_disk(s: &mut String, k: usize) {
    if k < 10 {
        s.push(char::from(b'0' + k as u8));
    } else {
        s.push_str("10");
    }
}

/// Appends the recursive plan (one line per sub-tower of two or more disks) to `plan`
/// and the moves, as answer lines, to `moves`. Written a byte or a fixed literal at a time
/// (no formatting, no variable-length copies): this is the whole cost of generating a task.
fn solve(k: usize, from: usize, to: usize, plan: &mut String, moves: &mut String) {
    if k == 0 {
        return;
    }
    let via = 3 - from - to;
    let peg = |p: usize| char::from(b'A' + p as u8);
    let (f, t, v) = (peg(from), peg(to), peg(via));
    if k > 1 {
        // "1-k F>T: 1-(k-1) F>V, k F>T, 1-(k-1) V>T"
        plan.push_str("\n1-");
        push_disk(plan, k);
        plan.push(' ');
        plan.push(f);
        plan.push('>');
        plan.push(t);
        plan.push_str(": 1-");
        push_disk(plan, k - 1);
        plan.push(' ');
        plan.push(f);
        plan.push('>');
        plan.push(v);
        plan.push_str(", ");
        push_disk(plan, k);
        plan.push(' ');
        plan.push(f);
        plan.push('>');
        plan.push(t);
        plan.push_str(", 1-");
        push_disk(plan, k - 1);
        plan.push(' ');
        plan.push(v);
        plan.push('>');
        plan.push(t);
    }
    solve(k - 1, from, via, plan, moves);
    if !moves.is_empty() {
        moves.push('\n');
    }
    moves.push_str("disk ");
    push_disk(moves, k);
    moves.push_str(": ");
    moves.push(f);
    moves.push_str(" -> ");
    moves.push(t);
    solve(k - 1, via, to, plan, moves);
}

impl Family for TowerOfHanoi {
    type Config = TowerOfHanoiConfig;
    const NAME: &'static str = "tower_of_hanoi";
    const DOMAIN: Domain = Domain::Puzzle;
    const DESCRIPTION: &'static str =
        "Minimal Tower of Hanoi move list (3 pegs), checked by simulation";

    fn config_for(difficulty: u8) -> TowerOfHanoiConfig {
        const DISKS: [usize; 10] = [2, 3, 3, 4, 5, 6, 7, 8, 9, 10];
        let d = DISKS[usize::from(difficulty.clamp(1, 10)) - 1];
        TowerOfHanoiConfig {
            min_disks: if difficulty <= 3 {
                d.saturating_sub(1).max(2)
            } else {
                d - 1
            },
            max_disks: d,
        }
    }

    fn new(config: TowerOfHanoiConfig) -> Result<Self, String> {
        if config.min_disks == 0
            || config.min_disks > config.max_disks
            || config.max_disks > MAX_DISKS
        {
            return Err(format!(
                "min_disks and max_disks must satisfy 1 <= min_disks <= max_disks <= {MAX_DISKS}"
            ));
        }
        Ok(TowerOfHanoi { config })
    }

    fn generate(&self, rng: &mut TaskRng) -> Result<Problem, String> {
        let n = rng.range_usize(self.config.min_disks, self.config.max_disks);
        let from = rng.below(3) as usize;
        let to = (from + 1 + rng.below(2) as usize) % 3;
        let total = (1usize << n) - 1;
        let mut thinking = format!(
            "{n} disks from {} to {}: the minimum is 2^{n} - 1 = {total} moves, found recursively. \
             Notation: \"1-k X>Y: 1-(k-1) X>Z, k X>Y, 1-(k-1) Z>Y\" moves the k smallest disks from X to Y \
             by parking the k-1 smaller ones on Z.",
            PEGS[from], PEGS[to]
        );
        let mut answer = String::with_capacity(15 * total);
        solve(n, from, to, &mut thinking, &mut answer);
        thinking.push_str(&format!("\nWriting the plan out gives the {total} moves."));
        let mut gold = serde_json::Map::new();
        gold.insert("disks".into(), n.into());
        gold.insert("from".into(), from.into());
        gold.insert("to".into(), to.into());
        Ok(Problem {
            question: render(
                TEMPLATE,
                &[
                    ("disks", &n.to_string()),
                    ("from", PEGS[from]),
                    ("to", PEGS[to]),
                ],
            ),
            answer: serde_json::Value::Object(gold),
            thinking,
            final_answer: answer,
        })
    }

    fn verify(&self, gold: &serde_json::Value, answer: &str) -> Result<Verdict, VerifyError> {
        let g: Gold = read_gold(gold)?;
        if g.disks == 0 || g.disks > MAX_DISKS || g.from > 2 || g.to > 2 || g.from == g.to {
            return Err(VerifyError::InvalidGold("bad tower".into()));
        }
        Ok(check(g.disks, g.from, g.to, answer))
    }
}

fn peg(word: &str) -> Option<usize> {
    let w = word.trim_matches(|c: char| !c.is_ascii_alphanumeric());
    match w {
        "A" | "a" => Some(0),
        "B" | "b" => Some(1),
        "C" | "c" => Some(2),
        _ => None,
    }
}

/// Parses one move line: an optional disk number, then two peg names.
fn parse_move(line: &str) -> Option<(Option<usize>, usize, usize)> {
    let mut disk = None;
    let mut pegs = Vec::new();
    for t in line.split(|c: char| {
        c.is_whitespace() || c == ':' || c == ',' || c == '>' || c == '→' || c == '(' || c == ')'
    }) {
        let t = t.trim_matches('-');
        if t.is_empty() {
            continue;
        }
        let lower = t.to_ascii_lowercase();
        if ["move", "disk", "from", "to", "peg"].contains(&lower.as_str()) {
            continue;
        }
        if let Some(p) = peg(t) {
            pegs.push(p);
        } else if disk.is_none()
            && pegs.is_empty()
            && t.len() <= 3
            && t.bytes().all(|b| b.is_ascii_digit())
        {
            disk = t.parse().ok();
        } else {
            return None;
        }
    }
    (pegs.len() == 2 && pegs[0] != pegs[1]).then_some((disk, pegs[0], pegs[1]))
}

/// Simulates the moves; strict about legality, naming and length.
pub fn check(n: usize, from: usize, to: usize, answer: &str) -> Verdict {
    let optimal = (1usize << n) - 1;
    let lines: Vec<&str> = answer
        .split(['\n', ';'])
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    if lines.len() != optimal {
        return reject(
            answer,
            format!("{} moves, the minimum is {optimal}", lines.len()),
        );
    }
    let mut pegs: [Vec<usize>; 3] = [Vec::new(), Vec::new(), Vec::new()];
    pegs[from] = (1..=n).rev().collect();
    for (k, line) in lines.iter().enumerate() {
        let Some((disk, a, b)) = parse_move(line) else {
            return reject(
                answer,
                format!("move {} ('{line}') is not 'disk d: X -> Y'", k + 1),
            );
        };
        let Some(&top) = pegs[a].last() else {
            return reject(answer, format!("move {}: peg {} is empty", k + 1, PEGS[a]));
        };
        if disk.is_some_and(|d| d != top) {
            return reject(
                answer,
                format!("move {}: the top disk of {} is {top}", k + 1, PEGS[a]),
            );
        }
        if pegs[b].last().is_some_and(|&t| t < top) {
            return reject(
                answer,
                format!("move {}: disk {top} on a smaller disk", k + 1),
            );
        }
        pegs[a].pop();
        pegs[b].push(top);
    }
    if pegs[to].len() != n {
        return reject(answer, format!("the tower is not on peg {}", PEGS[to]));
    }
    Verdict::correct(format!("{optimal} moves"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_named_and_bare_moves_and_rejects_illegal_ones() {
        assert!(check(2, 0, 2, "disk 1: A -> B\ndisk 2: A -> C\ndisk 1: B -> C").correct);
        assert!(check(2, 0, 2, "A B; A C; B C").correct);
        assert!(
            check(
                2,
                0,
                2,
                "Move disk 1 from A to B\nMove disk 2 from A to C\nMove disk 1 from B to C"
            )
            .correct
        );
        assert!(!check(2, 0, 2, "disk 2: A -> B\ndisk 1: A -> C\ndisk 1: B -> C").correct);
        assert!(!check(2, 0, 2, "A C\nA B\nC B").correct);
        assert!(!check(2, 0, 2, "A B\nA C").correct);
    }
}
