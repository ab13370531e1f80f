//! `word_ladder`: change one letter at a time from a start word to a target word, through
//! dictionary words, in the fewest steps (Lewis Carroll's "doublets", 1879; reasoning-gym's
//! `word_ladder`). The dictionary ships in the repo (envs/data/words{3,4,5}.txt, a list
//! curated for verigym). Any shortest ladder through listed words is accepted.
//!
//! The reference chain of thought is breadth-first search from the start word, written
//! layer by layer, then the ladder read back from the target.

use crate::env::{Domain, Family, Problem};
use crate::kit::render;
use crate::kit::{read_gold, reject, tokens, Trace};
use crate::rng::TaskRng;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::{HashMap, VecDeque};
use verigym_verifiers::{Verdict, VerifyError};

const TEMPLATE: &str = crate::template!("word_ladder");
const WORDS3: &str = include_str!("../../data/words3.txt");
const WORDS4: &str = include_str!("../../data/words4.txt");
const WORDS5: &str = include_str!("../../data/words5.txt");

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WordLadderConfig {
    /// Word length: 3, 4 or 5.
    pub word_length: usize,
    /// The shortest ladder has between min_steps and max_steps changes (best effort).
    pub min_steps: usize,
    pub max_steps: usize,
}

/// A dictionary of one word length with its one-letter-change graph.
pub struct Dictionary {
    words: Vec<&'static str>,
    index: HashMap<&'static str, usize>,
    adj: Vec<Vec<usize>>,
}

impl Dictionary {
    pub fn for_length(len: usize) -> Option<Dictionary> {
        let text = match len {
            3 => WORDS3,
            4 => WORDS4,
            5 => WORDS5,
            _ => return None,
        };
        let words: Vec<&'static str> = text
            .lines()
            .map(str::trim)
            .filter(|w| !w.is_empty() && !w.starts_with('#'))
            .collect();
        let index: HashMap<&'static str, usize> =
            words.iter().enumerate().map(|(i, w)| (*w, i)).collect();
        let mut buckets: HashMap<(usize, String), Vec<usize>> = HashMap::new();
        for (i, w) in words.iter().enumerate() {
            for k in 0..w.len() {
                let pattern = format!("{}_{}", &w[..k], &w[k + 1..]);
                buckets.entry((k, pattern)).or_default().push(i);
            }
        }
        let mut adj = vec![Vec::new(); words.len()];
        for group in buckets.values() {
            for &a in group {
                for &b in group {
                    if a != b {
                        adj[a].push(b);
                    }
                }
            }
        }
        for a in &mut adj {
            a.sort_unstable();
        }
        Some(Dictionary { words, index, adj })
    }

    fn bfs(&self, from: usize) -> (Vec<usize>, Vec<usize>) {
        let mut dist = vec![usize::MAX; self.words.len()];
        let mut prev = vec![usize::MAX; self.words.len()];
        dist[from] = 0;
        let mut q = VecDeque::from([from]);
        while let Some(u) = q.pop_front() {
            for &v in &self.adj[u] {
                if dist[v] == usize::MAX {
                    dist[v] = dist[u] + 1;
                    prev[v] = u;
                    q.push_back(v);
                }
            }
        }
        (dist, prev)
    }
}

pub struct WordLadder {
    config: WordLadderConfig,
    dict: Dictionary,
}

#[derive(Deserialize)]
struct Gold {
    start: String,
    target: String,
    steps: usize,
}

impl Family for WordLadder {
    type Config = WordLadderConfig;
    const NAME: &'static str = "word_ladder";
    const DOMAIN: Domain = Domain::Puzzle;
    const DESCRIPTION: &'static str =
        "Word ladder through a shipped dictionary in the fewest steps; any shortest ladder accepted";

    fn config_for(difficulty: u8) -> WordLadderConfig {
        const LEVELS: [(usize, usize, usize); 10] = [
            (3, 2, 3),
            (3, 3, 4),
            (4, 2, 3),
            (4, 3, 4),
            (4, 4, 5),
            (4, 5, 6),
            (4, 6, 8),
            (5, 3, 4),
            (5, 4, 6),
            (5, 6, 9),
        ];
        let (word_length, min_steps, max_steps) = LEVELS[usize::from(difficulty.clamp(1, 10)) - 1];
        WordLadderConfig {
            word_length,
            min_steps,
            max_steps,
        }
    }

    fn new(config: WordLadderConfig) -> Result<Self, String> {
        let dict =
            Dictionary::for_length(config.word_length).ok_or("word_length must be 3, 4 or 5")?;
        if config.min_steps == 0 || config.min_steps > config.max_steps || config.max_steps > 30 {
            return Err(
                "min_steps and max_steps must satisfy 1 <= min_steps <= max_steps <= 30".into(),
            );
        }
        Ok(WordLadder { config, dict })
    }

    fn generate(&self, rng: &mut TaskRng) -> Result<Problem, String> {
        let c = &self.config;
        let d = &self.dict;
        let mut best: Option<(usize, usize, usize)> = None; // start, target, steps
        for _ in 0..30 {
            let start = rng.below(d.words.len() as u64) as usize;
            if d.adj[start].is_empty() {
                continue;
            }
            let (dist, _) = d.bfs(start);
            let fits: Vec<usize> = (0..d.words.len())
                .filter(|&v| (c.min_steps..=c.max_steps).contains(&dist[v]))
                .collect();
            if let Some(&t) = rng.choose(&fits) {
                best = Some((start, t, dist[t]));
                break;
            }
            let far = (0..d.words.len())
                .filter(|&v| dist[v] != usize::MAX && dist[v] <= c.max_steps)
                .max_by_key(|&v| dist[v]);
            if let Some(t) = far {
                if dist[t] > 0 && best.is_none_or(|b| dist[t] > b.2) {
                    best = Some((start, t, dist[t]));
                }
            }
        }
        let (start, target, steps) = best.ok_or("no connected word found")?;
        let (dist, prev) = d.bfs(start);
        let mut trace = Trace::new();
        trace.push(format!(
            "Breadth-first search from {}: each layer holds the words one more change away.",
            d.words[start].to_uppercase()
        ));
        for k in 1..=steps {
            let layer: Vec<&str> = (0..d.words.len())
                .filter(|&v| dist[v] == k)
                .map(|v| d.words[v])
                .collect();
            let shown: Vec<String> = layer.iter().take(15).map(|w| w.to_uppercase()).collect();
            let more = if layer.len() > 15 {
                format!(" and {} more", layer.len() - 15)
            } else {
                String::new()
            };
            let hit = if k == steps {
                format!(" — {} is here", d.words[target].to_uppercase())
            } else {
                String::new()
            };
            trace.push(format!(
                "{k} change{}: {}{more}{hit}",
                if k == 1 { "" } else { "s" },
                shown.join(", ")
            ));
        }
        let mut ladder = vec![target];
        while let Some(&p) = ladder.last().map(|&v| &prev[v]) {
            if p == usize::MAX {
                break;
            }
            ladder.push(p);
        }
        ladder.reverse();
        let answer = ladder
            .iter()
            .map(|&v| d.words[v].to_uppercase())
            .collect::<Vec<_>>()
            .join(" ");
        trace.push(format!(
            "Reading the predecessors back from the target: {answer}."
        ));
        let (s, t) = (
            d.words[start].to_uppercase(),
            d.words[target].to_uppercase(),
        );
        Ok(Problem {
            question: render(
                TEMPLATE,
                &[
                    ("start", &s),
                    ("target", &t),
                    ("length", &c.word_length.to_string()),
                ],
            ),
            answer: json!({ "start": s, "target": t, "steps": steps }),
            thinking: trace.finish(format!("{steps} changes.")),
            final_answer: answer,
        })
    }

    fn verify(&self, gold: &serde_json::Value, answer: &str) -> Result<Verdict, VerifyError> {
        let g: Gold = read_gold(gold)?;
        Ok(check(&self.dict, &g.start, &g.target, g.steps, answer))
    }
}

/// Checks a ladder: listed words, one letter changed per step, shortest length.
pub fn check(dict: &Dictionary, start: &str, target: &str, steps: usize, answer: &str) -> Verdict {
    let toks = tokens(answer);
    if toks.len() != steps + 1 {
        return reject(
            answer,
            format!("{} words, a shortest ladder has {}", toks.len(), steps + 1),
        );
    }
    let words: Vec<String> = toks.iter().map(|t| t.to_ascii_lowercase()).collect();
    if words.first().map(String::as_str) != Some(&start.to_ascii_lowercase())
        || words.last().map(String::as_str) != Some(&target.to_ascii_lowercase())
    {
        return reject(
            answer,
            format!("the ladder must go from {start} to {target}"),
        );
    }
    for w in &words {
        if !dict.index.contains_key(w.as_str()) {
            return reject(answer, format!("'{w}' is not in the word list"));
        }
    }
    for pair in words.windows(2) {
        let diff = pair[0]
            .bytes()
            .zip(pair[1].bytes())
            .filter(|(a, b)| a != b)
            .count();
        if diff != 1 || pair[0].len() != pair[1].len() {
            return reject(
                answer,
                format!("{} to {} is not a one-letter change", pair[0], pair[1]),
            );
        }
    }
    Verdict::correct(words.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dictionaries_load_and_alternative_ladders_pass() {
        let d = Dictionary::for_length(4).unwrap();
        assert!(d.words.len() > 1000);
        assert!(d.words.windows(2).all(|w| w[0] < w[1]));
        // COLD -> WARM in four changes, two different ways.
        let (dist, _) = d.bfs(d.index["cold"]);
        assert_eq!(dist[d.index["warm"]], 4);
        assert!(check(&d, "COLD", "WARM", 4, "COLD CORD CARD WARD WARM").correct);
        assert!(check(&d, "COLD", "WARM", 4, "cold cord word ward warm").correct);
        assert!(!check(&d, "COLD", "WARM", 4, "COLD CORD CARD WARM WARM").correct);
        assert!(!check(&d, "COLD", "WARM", 4, "COLD CXRD CARD WARD WARM").correct);
    }
}
