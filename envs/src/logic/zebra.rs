//! `zebra`: Einstein's riddle style logic grid puzzles (Life International, 1962;
//! reasoning-gym's `zebra_puzzles`). A hidden arrangement is drawn, clues true of it are
//! added until our own constraint solver (forward checking, fewest-options-first) finds a
//! single solution, then clues that became redundant are dropped.
//!
//! The reference chain of thought is that solver's search written out: forced placements,
//! guesses and undone guesses. The verifier reads the answer's full table and re-checks
//! every clue against it (the solution is unique, so that is exactly the gold table).

use crate::env::{Domain, Family, Problem};
use crate::kit::render;
use crate::kit::{read_gold, reject, Trace};
use crate::rng::TaskRng;
use serde::{Deserialize, Serialize};
use serde_json::json;
use verigym_verifiers::{Verdict, VerifyError};

const TEMPLATE: &str = crate::template!("zebra");

/// Attribute name, values, how to describe a person by a value, and what they "do".
const ATTRS: [(&str, [&str; 6]); 5] = [
    ("name", ["Alice", "Bob", "Carol", "David", "Emma", "Frank"]),
    (
        "colour",
        ["red", "green", "blue", "yellow", "white", "purple"],
    ),
    ("pet", ["dog", "cat", "bird", "fish", "horse", "rabbit"]),
    (
        "drink",
        ["tea", "coffee", "milk", "juice", "water", "cocoa"],
    ),
    (
        "food",
        ["pizza", "pasta", "soup", "salad", "curry", "bread"],
    ),
];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZebraConfig {
    pub houses: usize,
    pub attributes: usize,
}

pub struct Zebra {
    config: ZebraConfig,
}

/// A clue over values identified as `attr * houses + value`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Clue {
    At(usize, usize),
    NotAt(usize, usize),
    Same(usize, usize),
    NotSame(usize, usize),
    /// First lives directly left of second.
    LeftOf(usize, usize),
    NextTo(usize, usize),
    /// First lives somewhere left of second.
    Before(usize, usize),
}

impl Clue {
    fn holds(&self, house: &[usize]) -> bool {
        match *self {
            Clue::At(v, h) => house[v] == h,
            Clue::NotAt(v, h) => house[v] != h,
            Clue::Same(a, b) => house[a] == house[b],
            Clue::NotSame(a, b) => house[a] != house[b],
            Clue::LeftOf(a, b) => house[a] + 1 == house[b],
            Clue::NextTo(a, b) => house[a].abs_diff(house[b]) == 1,
            Clue::Before(a, b) => house[a] < house[b],
        }
    }

    /// Houses allowed for `other` once `this` value sits in house `h` (a bit mask), for a
    /// binary clue between them.
    fn allowed(&self, this_is_first: bool, h: usize, n: usize) -> u32 {
        let all = (1u32 << n) - 1;
        let bit = |x: isize| {
            if x >= 0 && (x as usize) < n {
                1u32 << x
            } else {
                0
            }
        };
        let h = h as isize;
        match (*self, this_is_first) {
            (Clue::Same(..), _) => bit(h),
            (Clue::NotSame(..), _) => all & !bit(h),
            (Clue::LeftOf(..), true) => bit(h + 1),
            (Clue::LeftOf(..), false) => bit(h - 1),
            (Clue::NextTo(..), _) => bit(h - 1) | bit(h + 1),
            (Clue::Before(..), true) => all & !((1u32 << (h + 1)) - 1),
            (Clue::Before(..), false) => (1u32 << h) - 1,
            _ => all,
        }
    }

    fn pair(&self) -> Option<(usize, usize)> {
        match *self {
            Clue::Same(a, b)
            | Clue::NotSame(a, b)
            | Clue::LeftOf(a, b)
            | Clue::NextTo(a, b)
            | Clue::Before(a, b) => Some((a, b)),
            _ => None,
        }
    }
}

struct Puzzle<'a> {
    n: usize,
    k: usize,
    clues: &'a [Clue],
}

impl Puzzle<'_> {
    fn vars(&self) -> usize {
        self.n * self.k
    }

    fn initial(&self) -> Vec<u32> {
        let mut dom = vec![(1u32 << self.n) - 1; self.vars()];
        for c in self.clues {
            match *c {
                Clue::At(v, h) => dom[v] &= 1 << h,
                Clue::NotAt(v, h) => dom[v] &= !(1 << h),
                _ => {}
            }
        }
        dom
    }

    /// Places `v` in house `h` and prunes the domains; false on a wipe-out.
    fn assign(&self, dom: &mut [u32], house: &mut [Option<usize>], v: usize, h: usize) -> bool {
        dom[v] = 1 << h;
        house[v] = Some(h);
        let attr = v / self.n;
        for (u, d) in dom.iter_mut().enumerate().skip(attr * self.n).take(self.n) {
            if u != v {
                *d &= !(1 << h);
                if *d == 0 {
                    return false;
                }
            }
        }
        for c in self.clues {
            if let Some((a, b)) = c.pair() {
                let (other, first) = if a == v {
                    (b, true)
                } else if b == v {
                    (a, false)
                } else {
                    continue;
                };
                dom[other] &= c.allowed(first, h, self.n);
                if dom[other] == 0 {
                    return false;
                }
                if let Some(oh) = house[other] {
                    if dom[other] & (1 << oh) == 0 {
                        return false;
                    }
                }
            }
        }
        true
    }

    /// Counts solutions up to `limit`, optionally writing the search and keeping the first.
    fn search(
        &self,
        dom: Vec<u32>,
        house: Vec<Option<usize>>,
        limit: usize,
        found: &mut Vec<Vec<usize>>,
        mut trace: Option<&mut Trace>,
        nodes: &mut usize,
    ) {
        if found.len() >= limit || *nodes > 200_000 {
            return;
        }
        *nodes += 1;
        let pick = (0..self.vars())
            .filter(|&v| house[v].is_none())
            .min_by_key(|&v| (dom[v].count_ones(), v));
        let Some(v) = pick else {
            let h: Vec<usize> = house.iter().map(|x| x.unwrap_or(0)).collect();
            if self.clues.iter().all(|c| c.holds(&h)) {
                found.push(h);
            }
            return;
        };
        let options: Vec<usize> = (0..self.n).filter(|&h| dom[v] & (1 << h) != 0).collect();
        if options.is_empty() {
            if let Some(t) = trace.as_deref_mut() {
                t.push(format!(
                    "{} has no house left: contradiction, undo the last guess.",
                    label(v, self.n)
                ));
            }
            return;
        }
        for &h in &options {
            if let Some(t) = trace.as_deref_mut() {
                if options.len() == 1 {
                    t.push(format!(
                        "{} can only be in house {}.",
                        label(v, self.n),
                        h + 1
                    ));
                } else {
                    let list = options
                        .iter()
                        .map(|o| (o + 1).to_string())
                        .collect::<Vec<_>>()
                        .join(", ");
                    t.push(format!(
                        "{} could be in houses {list}; try house {}.",
                        label(v, self.n),
                        h + 1
                    ));
                }
            }
            let (mut d, mut hs) = (dom.clone(), house.clone());
            if self.assign(&mut d, &mut hs, v, h) {
                self.search(d, hs, limit, found, trace.as_deref_mut(), nodes);
            } else if let Some(t) = trace.as_deref_mut() {
                t.push(format!(
                    "That leaves some value with no house: undo {} in house {}.",
                    label(v, self.n),
                    h + 1
                ));
            }
            if found.len() >= limit {
                return;
            }
        }
    }

    fn count(&self, limit: usize) -> usize {
        let mut found = Vec::new();
        let mut nodes = 0;
        self.search(
            self.initial(),
            vec![None; self.vars()],
            limit,
            &mut found,
            None,
            &mut nodes,
        );
        if nodes > 200_000 {
            return limit; // too hard to decide: treat as not unique
        }
        found.len()
    }
}

fn value(v: usize, n: usize) -> &'static str {
    ATTRS[v / n].1[v % n]
}

fn label(v: usize, n: usize) -> String {
    format!("{} ({})", value(v, n), ATTRS[v / n].0)
}

fn who(v: usize, n: usize) -> String {
    let x = value(v, n);
    match v / n {
        0 => x.to_string(),
        1 => format!("the person in the {x} house"),
        2 => format!("the {x} owner"),
        3 => format!("the person who drinks {x}"),
        _ => format!("the person who eats {x}"),
    }
}

fn clue_text(c: &Clue, n: usize) -> String {
    let s = match *c {
        Clue::At(v, h) => format!("{} lives in house {}", who(v, n), h + 1),
        Clue::NotAt(v, h) => format!("{} does not live in house {}", who(v, n), h + 1),
        Clue::Same(a, b) => format!("{} is {}", who(a, n), who(b, n)),
        Clue::NotSame(a, b) => format!("{} is not {}", who(a, n), who(b, n)),
        Clue::LeftOf(a, b) => format!("{} lives directly left of {}", who(a, n), who(b, n)),
        Clue::NextTo(a, b) => format!("{} lives next to {}", who(a, n), who(b, n)),
        Clue::Before(a, b) => format!("{} lives somewhere to the left of {}", who(a, n), who(b, n)),
    };
    let mut cs = s.chars();
    cs.next()
        .map(|f| f.to_uppercase().collect::<String>() + cs.as_str() + ".")
        .unwrap_or_default()
}

fn random_clue(rng: &mut TaskRng, house: &[usize], n: usize, k: usize) -> Clue {
    let nv = n * k;
    loop {
        let a = rng.below(nv as u64) as usize;
        let b = rng.below(nv as u64) as usize;
        let roll = rng.below(100);
        let clue = match roll {
            0..=9 => Clue::At(a, house[a]),
            10..=14 => Clue::NotAt(a, (house[a] + 1 + rng.below(n as u64 - 1) as usize) % n),
            _ if a / n == b / n => continue,
            15..=49 => Clue::Same(a, b),
            50..=59 => Clue::NotSame(a, b),
            60..=74 => Clue::LeftOf(a, b),
            75..=89 => Clue::NextTo(a, b),
            _ => Clue::Before(a, b),
        };
        if clue.holds(house) {
            return clue;
        }
    }
}

#[derive(Deserialize)]
struct Gold {
    houses: usize,
    attributes: usize,
    clues: Vec<Clue>,
}

impl Family for Zebra {
    type Config = ZebraConfig;
    const NAME: &'static str = "zebra";
    const DOMAIN: Domain = Domain::Logic;
    const DESCRIPTION: &'static str =
        "Zebra (Einstein) logic grid puzzles with a unique solution; the full table is the answer";

    fn config_for(difficulty: u8) -> ZebraConfig {
        const LEVELS: [(usize, usize); 10] = [
            (2, 2),
            (3, 2),
            (3, 3),
            (4, 3),
            (4, 4),
            (5, 3),
            (5, 4),
            (5, 5),
            (6, 4),
            (6, 5),
        ];
        let (houses, attributes) = LEVELS[usize::from(difficulty.clamp(1, 10)) - 1];
        ZebraConfig { houses, attributes }
    }

    fn new(config: ZebraConfig) -> Result<Self, String> {
        if !(2..=6).contains(&config.houses) {
            return Err("houses must be in 2..=6".into());
        }
        if !(1..=5).contains(&config.attributes) {
            return Err("attributes must be in 1..=5".into());
        }
        Ok(Zebra { config })
    }

    fn generate(&self, rng: &mut TaskRng) -> Result<Problem, String> {
        let (n, k) = (self.config.houses, self.config.attributes);
        let mut house = vec![0usize; n * k];
        for a in 0..k {
            let mut perm: Vec<usize> = (0..n).collect();
            rng.shuffle(&mut perm);
            for (val, h) in perm.into_iter().enumerate() {
                house[a * n + val] = h;
            }
        }
        let mut clues: Vec<Clue> = Vec::new();
        // Add true clues until unique (bounded); pin values outright if that runs out.
        for _ in 0..200 {
            if (Puzzle {
                n,
                k,
                clues: &clues,
            })
            .count(2)
                == 1
            {
                break;
            }
            clues.push(random_clue(rng, &house, n, k));
        }
        let mut v = 0;
        while (Puzzle {
            n,
            k,
            clues: &clues,
        })
        .count(2)
            != 1
            && v < n * k
        {
            clues.push(Clue::At(v, house[v]));
            v += 1;
        }
        // Drop clues that are implied by the others, in random order.
        let mut order: Vec<usize> = (0..clues.len()).collect();
        rng.shuffle(&mut order);
        order.sort_unstable_by(|a, b| b.cmp(a));
        let mut keep = vec![true; clues.len()];
        for i in order {
            keep[i] = false;
            let trial: Vec<Clue> = clues
                .iter()
                .zip(&keep)
                .filter(|(_, &k)| k)
                .map(|(c, _)| *c)
                .collect();
            if (Puzzle {
                n,
                k,
                clues: &trial,
            })
            .count(2)
                != 1
            {
                keep[i] = true;
            }
        }
        let mut clues: Vec<Clue> = clues
            .iter()
            .zip(&keep)
            .filter(|(_, &k)| k)
            .map(|(c, _)| *c)
            .collect();
        rng.shuffle(&mut clues);
        let puzzle = Puzzle {
            n,
            k,
            clues: &clues,
        };
        let mut trace = Trace::new();
        trace.push("Place one value at a time, always the one with the fewest possible houses; after each placement cross off what the clues and the one-per-house rule exclude, and back up when some value has no house left.");
        let at: Vec<String> = clues
            .iter()
            .filter_map(|c| match c {
                Clue::At(..) | Clue::NotAt(..) => Some(clue_text(c, n)),
                _ => None,
            })
            .collect();
        if !at.is_empty() {
            trace.push(format!("Direct clues first: {}", at.join(" ")));
        }
        let mut found = Vec::new();
        let mut nodes = 0;
        puzzle.search(
            puzzle.initial(),
            vec![None; n * k],
            1,
            &mut found,
            Some(&mut trace),
            &mut nodes,
        );
        let solution = found.pop().ok_or("the solver lost the solution")?;
        let answer = table(&solution, n, k);
        let attributes = (0..k)
            .map(|a| format!("{}: {}", ATTRS[a].0, ATTRS[a].1[..n].join(", ")))
            .collect::<Vec<_>>()
            .join("\n");
        let clue_lines = clues
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{}. {}", i + 1, clue_text(c, n)))
            .collect::<Vec<_>>()
            .join("\n");
        let example = (0..k)
            .map(|a| format!("<{}>", ATTRS[a].0))
            .collect::<Vec<_>>()
            .join(", ");
        Ok(Problem {
            question: render(
                TEMPLATE,
                &[
                    ("houses", &n.to_string()),
                    ("attributes", &attributes),
                    ("clues", &clue_lines),
                    ("example", &example),
                ],
            ),
            answer: json!({ "houses": n, "attributes": k, "clues": clues }),
            thinking: trace.finish("Every value has its house and every clue holds."),
            final_answer: answer,
        })
    }

    fn verify(&self, gold: &serde_json::Value, answer: &str) -> Result<Verdict, VerifyError> {
        let g: Gold = read_gold(gold)?;
        let nv = g.houses * g.attributes;
        let bad = |v: usize| v >= nv;
        if !(2..=6).contains(&g.houses)
            || !(1..=5).contains(&g.attributes)
            || g.clues.iter().any(|c| match *c {
                Clue::At(v, h) | Clue::NotAt(v, h) => bad(v) || h >= g.houses,
                other => other.pair().is_some_and(|(a, b)| bad(a) || bad(b)),
            })
        {
            return Err(VerifyError::InvalidGold("bad zebra puzzle".into()));
        }
        Ok(check(g.houses, g.attributes, &g.clues, answer))
    }
}

fn table(house: &[usize], n: usize, k: usize) -> String {
    (0..n)
        .map(|h| {
            let vals: Vec<&str> = (0..k)
                .filter_map(|a| {
                    (0..n)
                        .find(|&v| house[a * n + v] == h)
                        .map(|v| ATTRS[a].1[v])
                })
                .collect();
            format!("House {}: {}", h + 1, vals.join(", "))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Reads the table ("House h: v, v, ...", values in any order) and checks every clue.
pub fn check(n: usize, k: usize, clues: &[Clue], answer: &str) -> Verdict {
    let lines: Vec<&str> = answer
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    if lines.len() != n {
        return reject(
            answer,
            format!("{} lines, there are {n} houses", lines.len()),
        );
    }
    let mut house = vec![usize::MAX; n * k];
    for line in lines {
        let Some((head, rest)) = line.split_once(':') else {
            return reject(answer, format!("'{line}' is not 'House h: values'"));
        };
        let head = head.trim().to_ascii_lowercase();
        let num = head.strip_prefix("house").unwrap_or(&head).trim();
        let Some(h) = num
            .parse::<usize>()
            .ok()
            .filter(|h| (1..=n).contains(h))
            .map(|h| h - 1)
        else {
            return reject(answer, format!("'{head}' is not a house number"));
        };
        let vals: Vec<&str> = rest
            .split(',')
            .map(|v| v.trim().trim_end_matches('.'))
            .filter(|v| !v.is_empty())
            .collect();
        if vals.len() != k {
            return reject(answer, format!("house {} needs {k} values", h + 1));
        }
        let mut seen_attr = vec![false; k];
        for val in vals {
            let Some(v) = (0..n * k).find(|&v| value(v, n).eq_ignore_ascii_case(val)) else {
                return reject(answer, format!("'{val}' is not one of the values"));
            };
            if std::mem::replace(&mut seen_attr[v / n], true) {
                return reject(
                    answer,
                    format!("house {} has two {} values", h + 1, ATTRS[v / n].0),
                );
            }
            if house[v] != usize::MAX {
                return reject(answer, format!("{val} appears in two houses"));
            }
            house[v] = h;
        }
    }
    if house.contains(&usize::MAX) {
        return reject(answer, "some value is missing");
    }
    for (i, c) in clues.iter().enumerate() {
        if !c.holds(&house) {
            return reject(answer, format!("clue {} does not hold", i + 1));
        }
    }
    Verdict::correct(table(&house, n, k))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_read_in_any_value_order_and_clues_rechecked() {
        // 2 houses, names and colours: Alice in red, Bob in green; Alice in house 1.
        let clues = [Clue::At(0, 0), Clue::Same(0, 2)];
        assert_eq!(
            (Puzzle {
                n: 2,
                k: 2,
                clues: &clues
            })
            .count(3),
            1
        );
        assert!(check(2, 2, &clues, "House 1: Alice, red\nHouse 2: Bob, green").correct);
        assert!(check(2, 2, &clues, "house 2: green, bob\n1: red, alice").correct);
        assert!(!check(2, 2, &clues, "House 1: Alice, green\nHouse 2: Bob, red").correct);
        assert!(!check(2, 2, &clues, "House 1: Alice, red").correct);
        assert!(!check(2, 2, &clues, "House 1: Alice, red, Bob\nHouse 2: green").correct);
    }
}
