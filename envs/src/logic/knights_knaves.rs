//! `knights_knaves`: Smullyan's knights (always truthful) and knaves (always lying)
//! ("What Is the Name of This Book?", 1978; reasoning-gym's `knights_knaves`). Each
//! inhabitant makes one statement; puzzles are kept only when exactly one assignment is
//! consistent, checked by brute force over all 2^n assignments.
//!
//! The reference chain of thought is the case analysis written out: suppose each person
//! in turn is a knight or a knave, check every statement that becomes decidable, record the
//! contradiction, back up, and confirm that only one case survives. The verifier checks the
//! answer's assignment against every statement itself.

use crate::env::{Domain, Family, Problem};
use crate::kit::render;
use crate::kit::{read_gold, reject, Trace};
use crate::rng::TaskRng;
use serde::{Deserialize, Serialize};
use serde_json::json;
use verigym_verifiers::{Verdict, VerifyError};

const TEMPLATE: &str = crate::template!("knights_knaves");

const NAMES: [&str; 16] = [
    "Alice", "Ben", "Chloe", "Daniel", "Emma", "Felix", "Grace", "Hugo", "Iris", "Jack", "Kira",
    "Liam", "Maya", "Noah", "Olivia", "Peter",
];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KnightsKnavesConfig {
    pub min_people: usize,
    pub max_people: usize,
    /// Largest nesting of a statement: 1 = "X is a knight", 2 = "X and Y are knights", ...
    pub depth: usize,
}

pub struct KnightsKnaves {
    config: KnightsKnavesConfig,
}

/// A statement about who is a knight (true = knight).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Claim {
    Is(usize, bool),
    Not(Box<Claim>),
    And(Box<Claim>, Box<Claim>),
    Or(Box<Claim>, Box<Claim>),
    Implies(Box<Claim>, Box<Claim>),
    Iff(Box<Claim>, Box<Claim>),
    /// Exactly k of all the inhabitants are knights.
    Exactly(usize),
}

impl Claim {
    pub fn eval(&self, knights: &[bool]) -> bool {
        match self {
            Claim::Is(p, k) => knights.get(*p) == Some(k),
            Claim::Not(c) => !c.eval(knights),
            Claim::And(a, b) => a.eval(knights) && b.eval(knights),
            Claim::Or(a, b) => a.eval(knights) || b.eval(knights),
            Claim::Implies(a, b) => !a.eval(knights) || b.eval(knights),
            Claim::Iff(a, b) => a.eval(knights) == b.eval(knights),
            Claim::Exactly(k) => knights.iter().filter(|&&x| x).count() == *k,
        }
    }

    /// The people the claim mentions, as a bit mask (Exactly mentions everyone).
    fn mentions(&self, n: usize) -> u32 {
        match self {
            Claim::Is(p, _) => 1 << p,
            Claim::Not(c) => c.mentions(n),
            Claim::And(a, b) | Claim::Or(a, b) | Claim::Implies(a, b) | Claim::Iff(a, b) => {
                a.mentions(n) | b.mentions(n)
            }
            Claim::Exactly(_) => (1u32 << n) - 1,
        }
    }

    fn depth(&self) -> usize {
        match self {
            Claim::Is(..) | Claim::Exactly(_) => 1,
            Claim::Not(c) => c.depth(),
            Claim::And(a, b) | Claim::Or(a, b) | Claim::Implies(a, b) | Claim::Iff(a, b) => {
                1 + a.depth().max(b.depth())
            }
        }
    }

    pub fn text(&self, names: &[&str], speaker: usize) -> String {
        let who = |p: usize| {
            if p == speaker {
                "I".to_string()
            } else {
                names.get(p).copied().unwrap_or("?").to_string()
            }
        };
        let be = |p: usize| if p == speaker { "am" } else { "is" };
        match self {
            Claim::Is(p, true) => format!("{} {} a knight", who(*p), be(*p)),
            Claim::Is(p, false) => format!("{} {} a knave", who(*p), be(*p)),
            Claim::Not(c) => format!("it is not true that {}", c.text(names, speaker)),
            Claim::And(a, b) => {
                format!("{} and {}", a.text(names, speaker), b.text(names, speaker))
            }
            Claim::Or(a, b) => format!("{} or {}", a.text(names, speaker), b.text(names, speaker)),
            Claim::Implies(a, b) => format!(
                "if {}, then {}",
                a.text(names, speaker),
                b.text(names, speaker)
            ),
            Claim::Iff(a, b) => format!(
                "{} if and only if {}",
                a.text(names, speaker),
                b.text(names, speaker)
            ),
            Claim::Exactly(k) => match k {
                0 => "none of us is a knight".to_string(),
                1 => "exactly one of us is a knight".to_string(),
                k => format!("exactly {k} of us are knights"),
            },
        }
    }
}

fn random_claim(rng: &mut TaskRng, n: usize, speaker: usize, depth: usize) -> Claim {
    let atom = |rng: &mut TaskRng| {
        // Mostly about others; sometimes about oneself or a head count.
        if n > 2 && rng.chance(0.08) {
            return Claim::Exactly(rng.below(n as u64 + 1) as usize);
        }
        let mut p = rng.below(n as u64) as usize;
        if p == speaker && n > 1 && rng.chance(0.7) {
            p = (p + 1 + rng.below(n as u64 - 1) as usize) % n;
        }
        Claim::Is(p, rng.chance(0.5))
    };
    if depth <= 1 || rng.chance(0.3) {
        return atom(rng);
    }
    let a = random_claim(rng, n, speaker, depth - 1);
    let b = random_claim(rng, n, speaker, depth - 1);
    if a == b {
        // "X iff X" and "X and X" say nothing new.
        return a;
    }
    let (a, b) = (Box::new(a), Box::new(b));
    match rng.below(5) {
        0 => Claim::And(a, b),
        1 => Claim::Or(a, b),
        2 => Claim::Implies(a, b),
        3 => Claim::Iff(a, b),
        _ => Claim::Not(Box::new(Claim::And(a, b))),
    }
}

/// All consistent assignments, as bit masks (bit i = person i is a knight), up to `limit`.
fn consistent(claims: &[Claim], limit: usize) -> Vec<u32> {
    let n = claims.len();
    let mut out = Vec::new();
    let mut knights = vec![false; n];
    for mask in 0..(1u32 << n) {
        for (i, k) in knights.iter_mut().enumerate() {
            *k = mask & (1 << i) != 0;
        }
        if claims
            .iter()
            .enumerate()
            .all(|(i, c)| c.eval(&knights) == knights[i])
        {
            out.push(mask);
            if out.len() >= limit {
                break;
            }
        }
    }
    out
}

fn role(k: bool) -> &'static str {
    if k {
        "knight"
    } else {
        "knave"
    }
}

/// Case analysis over people in order, checking each statement once it is decidable.
fn written_search(claims: &[Claim], names: &[&str], trace: &mut Trace) {
    let n = claims.len();
    let needs: Vec<u32> = claims
        .iter()
        .enumerate()
        .map(|(i, c)| c.mentions(n) | 1 << i)
        .collect();
    fn go(
        claims: &[Claim],
        names: &[&str],
        needs: &[u32],
        knights: &mut Vec<bool>,
        trace: &mut Trace,
        found: &mut usize,
    ) {
        let k = knights.len();
        let n = claims.len();
        let assigned = if k == 0 { 0 } else { (1u32 << k) - 1 };
        let indent = "  ".repeat(k.saturating_sub(1));
        if k > 0 {
            trace.push(format!(
                "{indent}Suppose {} is a {}.",
                names[k - 1],
                role(knights[k - 1])
            ));
            // Statements that just became decidable.
            let mut full = knights.clone();
            full.resize(n, false);
            for (i, c) in claims.iter().enumerate() {
                let newly = needs[i] & assigned == needs[i] && needs[i] & (1 << (k - 1)) != 0;
                if newly {
                    let truth = c.eval(&full);
                    if truth != knights[i] {
                        trace.push(format!(
                            "{indent}  Then {}'s statement is {}, but {} is a {}: contradiction.",
                            names[i],
                            truth,
                            names[i],
                            role(knights[i])
                        ));
                        return;
                    }
                }
            }
        }
        if k == n {
            *found += 1;
            let desc: Vec<String> = (0..n)
                .map(|i| format!("{} {}", names[i], role(knights[i])))
                .collect();
            trace.push(format!(
                "{indent}  Every statement fits: {}.",
                desc.join(", ")
            ));
            return;
        }
        for v in [true, false] {
            knights.push(v);
            go(claims, names, needs, knights, trace, found);
            knights.pop();
        }
    }
    let mut found = 0;
    go(claims, names, &needs, &mut Vec::new(), trace, &mut found);
}

#[derive(Deserialize)]
struct Gold {
    names: Vec<String>,
    claims: Vec<Claim>,
}

impl Family for KnightsKnaves {
    type Config = KnightsKnavesConfig;
    const NAME: &'static str = "knights_knaves";
    const DOMAIN: Domain = Domain::Logic;
    const DESCRIPTION: &'static str =
        "Knights and knaves puzzles with a unique consistent assignment (brute-force checked)";

    fn config_for(difficulty: u8) -> KnightsKnavesConfig {
        const LEVELS: [(usize, usize, usize); 10] = [
            (2, 2, 1),
            (2, 3, 2),
            (3, 3, 2),
            (3, 4, 2),
            (4, 4, 2),
            (4, 5, 3),
            (5, 5, 3),
            (5, 6, 3),
            (6, 7, 3),
            (7, 8, 3),
        ];
        let (min_people, max_people, depth) = LEVELS[usize::from(difficulty.clamp(1, 10)) - 1];
        KnightsKnavesConfig {
            min_people,
            max_people,
            depth,
        }
    }

    fn new(config: KnightsKnavesConfig) -> Result<Self, String> {
        if config.min_people < 2 || config.min_people > config.max_people || config.max_people > 10
        {
            return Err("min_people and max_people must satisfy 2 <= min <= max <= 10".into());
        }
        if !(1..=4).contains(&config.depth) {
            return Err("depth must be in 1..=4".into());
        }
        Ok(KnightsKnaves { config })
    }

    fn generate(&self, rng: &mut TaskRng) -> Result<Problem, String> {
        let c = &self.config;
        let n = rng.range_usize(c.min_people, c.max_people);
        let mut pool: Vec<&str> = NAMES.to_vec();
        rng.shuffle(&mut pool);
        let names: Vec<&str> = pool[..n].to_vec();
        let knights: Vec<bool> = (0..n).map(|_| rng.chance(0.5)).collect();
        let mut claims: Vec<Claim> = Vec::new();
        // Draw statements that fit the hidden roles; redraw one person's statement at a
        // time until the puzzle has a unique solution (bounded).
        for i in 0..n {
            claims.push(fitting_claim(rng, n, i, c.depth, &knights));
        }
        let mut unique = false;
        for round in 0..400 {
            if consistent(&claims, 2).len() == 1 {
                unique = true;
                break;
            }
            let i = round % n;
            claims[i] = fitting_claim(rng, n, i, c.depth, &knights);
        }
        if !unique {
            // Last resort: "I am a knight if and only if P" forces P whoever says it, so a
            // ring of such statements about the next person pins everyone down.
            for (i, claim) in claims.iter_mut().enumerate() {
                let prev = (i + n - 1) % n;
                *claim = Claim::Iff(
                    Box::new(Claim::Is(i, true)),
                    Box::new(Claim::Is(prev, knights[prev])),
                );
            }
            if consistent(&claims, 2).len() != 1 {
                return Err("no unique puzzle found".into());
            }
        }
        let mut trace = Trace::new();
        trace.push("Case analysis: fix each person as knight or knave in turn; a knight's statement must be true, a knave's false. Check each statement as soon as everyone it mentions is fixed.");
        written_search(&claims, &names, &mut trace);
        let answer = (0..n)
            .map(|i| format!("{}: {}", names[i], role(knights[i])))
            .collect::<Vec<_>>()
            .join(", ");
        let statements = claims
            .iter()
            .enumerate()
            .map(|(i, cl)| {
                format!(
                    "{} says: \"{}.\"",
                    names[i],
                    capitalise(&cl.text(&names, i))
                )
            })
            .collect::<Vec<_>>()
            .join("\n");
        Ok(Problem {
            question: render(
                TEMPLATE,
                &[
                    ("count", &n.to_string()),
                    ("names", &names.join(", ")),
                    ("statements", &statements),
                ],
            ),
            answer: json!({ "names": names, "claims": claims }),
            thinking: trace.finish("Exactly one case survives, so the assignment is determined."),
            final_answer: answer,
        })
    }

    fn verify(&self, gold: &serde_json::Value, answer: &str) -> Result<Verdict, VerifyError> {
        let g: Gold = read_gold(gold)?;
        if g.names.len() != g.claims.len() || g.names.is_empty() || g.names.len() > 16 {
            return Err(VerifyError::InvalidGold(
                "names and claims must pair up".into(),
            ));
        }
        Ok(check(&g.names, &g.claims, answer))
    }
}

fn fitting_claim(
    rng: &mut TaskRng,
    n: usize,
    speaker: usize,
    depth: usize,
    knights: &[bool],
) -> Claim {
    let c = random_claim(rng, n, speaker, depth);
    let c = if c.depth() > depth {
        Claim::Is(speaker, true)
    } else {
        c
    };
    if c.eval(knights) == knights[speaker] {
        c
    } else {
        match c {
            Claim::Is(p, k) => Claim::Is(p, !k),
            Claim::Not(inner) => *inner,
            other => Claim::Not(Box::new(other)),
        }
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

/// Reads "name: knight/knave" entries and checks them against every statement.
pub fn check(names: &[String], claims: &[Claim], answer: &str) -> Verdict {
    let n = names.len();
    let mut roles: Vec<Option<bool>> = vec![None; n];
    let parts: Vec<&str> = answer
        .split([',', ';', '\n'])
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect();
    if parts.len() != n {
        return reject(
            answer,
            format!("{} entries, there are {n} people", parts.len()),
        );
    }
    for p in parts {
        let words: Vec<String> = p
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(|w| w.to_lowercase())
            .collect();
        let who: Vec<usize> = (0..n)
            .filter(|&i| words.iter().any(|w| *w == names[i].to_lowercase()))
            .collect();
        let knight = words.iter().any(|w| w == "knight");
        let knave = words.iter().any(|w| w == "knave");
        let extra = words.iter().any(|w| {
            !["is", "a", "knight", "knave"].contains(&w.as_str())
                && !names.iter().any(|n| n.to_lowercase() == *w)
        });
        let [i] = who[..] else {
            return reject(answer, format!("'{p}' must name exactly one person"));
        };
        if knight == knave || extra {
            return reject(
                answer,
                format!("'{p}' must say knight or knave, nothing else"),
            );
        }
        if roles[i].replace(knight).is_some() {
            return reject(answer, format!("{} is named twice", names[i]));
        }
    }
    let knights: Vec<bool> = roles.iter().map(|r| r.unwrap_or(false)).collect();
    for (i, c) in claims.iter().enumerate() {
        if c.eval(&knights) != knights[i] {
            return reject(
                answer,
                format!(
                    "{}'s statement does not fit a {}",
                    names[i],
                    role(knights[i])
                ),
            );
        }
    }
    Verdict::correct(answer.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classic_puzzle_is_unique_and_answers_in_any_form_pass() {
        // A: "We are both knaves." -> A knave, B knight.
        let claims = vec![
            Claim::And(Box::new(Claim::Is(0, false)), Box::new(Claim::Is(1, false))),
            Claim::Is(1, true),
        ];
        assert_eq!(consistent(&claims, 3), vec![0b10]);
        let names = vec!["Alice".to_string(), "Ben".to_string()];
        assert!(check(&names, &claims, "Alice: knave, Ben: knight").correct);
        assert!(check(&names, &claims, "Ben is a knight\nAlice is a knave").correct);
        assert!(!check(&names, &claims, "Alice: knight, Ben: knight").correct);
        assert!(!check(&names, &claims, "Alice: knave or knight, Ben: knight").correct);
        assert!(!check(&names, &claims, "Alice: knave").correct);
    }
}
