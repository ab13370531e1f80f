//! `anagram_check`: pick out, from a list of candidate strings, those that are anagrams
//! of a word (same multiset of letters, different order).
//!
//! Candidates mix true rearrangements with near misses (one letter changed, added or
//! dropped), so the check needs a letter count, not a glance; asking for the whole subset
//! makes a random guess worth 2^-n. The reference compares sorted letters.

use crate::env::{Domain, Family, Problem};
use crate::kit::render;
use crate::kit::{gold_strs, is_empty_marker, parse_words, reject};
use crate::rng::TaskRng;
use crate::text::words;
use serde::{Deserialize, Serialize};
use serde_json::json;
use verigym_verifiers::{Verdict, VerifyError};

const TEMPLATE: &str = crate::template!("anagram_check");

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnagramCheckConfig {
    /// Letters in the word, drawn in [min_letters, max_letters] (list words, 3..=11).
    pub min_letters: usize,
    pub max_letters: usize,
    /// Number of candidates shown.
    pub candidates: usize,
}

pub struct AnagramCheck {
    config: AnagramCheckConfig,
}

fn sorted(w: &[u8]) -> Vec<u8> {
    let mut s = w.to_vec();
    s.sort_unstable();
    s
}

/// A near miss: one letter replaced, added or removed, then shuffled.
fn near_miss(rng: &mut TaskRng, w: &[u8]) -> Vec<u8> {
    let mut v = w.to_vec();
    let i = rng.below(v.len() as u64) as usize;
    match rng.below(if v.len() > 3 { 3 } else { 2 }) {
        0 => {
            let old = v.get(i).copied().unwrap_or(b'a');
            let new = b'a' + ((old - b'a') + 1 + rng.below(25) as u8) % 26;
            if let Some(x) = v.get_mut(i) {
                *x = new;
            }
        }
        1 => v.insert(i, b'a' + rng.below(26) as u8),
        _ => {
            v.remove(i);
        }
    }
    rng.shuffle(&mut v);
    v
}

impl Family for AnagramCheck {
    type Config = AnagramCheckConfig;
    const NAME: &'static str = "anagram_check";
    const DOMAIN: Domain = Domain::Text;
    const DESCRIPTION: &'static str =
        "Pick out the anagrams of a word among candidates with near misses";

    fn config_for(difficulty: u8) -> AnagramCheckConfig {
        const MIN: [usize; 10] = [4, 4, 5, 5, 5, 6, 6, 7, 8, 9];
        const MAX: [usize; 10] = [5, 5, 6, 6, 7, 7, 8, 9, 10, 11];
        const N: [usize; 10] = [6, 6, 6, 7, 7, 8, 8, 9, 10, 12];
        let d = usize::from(difficulty.clamp(1, 10)) - 1;
        AnagramCheckConfig {
            min_letters: MIN[d],
            max_letters: MAX[d],
            candidates: N[d],
        }
    }

    fn new(config: AnagramCheckConfig) -> Result<Self, String> {
        if config.min_letters < 3 || config.min_letters > config.max_letters {
            return Err("min_letters must be in 3..=max_letters".into());
        }
        if config.max_letters > 11 {
            return Err("max_letters must be at most 11 (the word list's longest)".into());
        }
        if !(1..=50).contains(&config.candidates) {
            return Err("candidates must be in 1..=50".into());
        }
        Ok(AnagramCheck { config })
    }

    fn generate(&self, rng: &mut TaskRng) -> Result<Problem, String> {
        let c = &self.config;
        // A word with at least two distinct letters, so rearrangements exist.
        let mut word = words::word_len(rng, c.min_letters, c.max_letters);
        for _ in 0..32 {
            let b = word.as_bytes();
            if b.iter().any(|x| Some(x) != b.first()) {
                break;
            }
            word = words::word_len(rng, c.min_letters, c.max_letters);
        }
        let w = word.as_bytes();
        let key = sorted(w);
        let mut cands: Vec<Vec<u8>> = Vec::with_capacity(c.candidates);
        for _ in 0..c.candidates * 20 {
            if cands.len() == c.candidates {
                break;
            }
            let cand = if rng.chance(0.5) {
                let mut v = w.to_vec();
                rng.shuffle(&mut v);
                v
            } else {
                near_miss(rng, w)
            };
            if cand != w && !cands.contains(&cand) {
                cands.push(cand);
            }
        }
        let mut thinking = String::with_capacity(c.candidates * 40 + 80);
        thinking.push_str("Sort the letters of ");
        thinking.push_str(word);
        thinking.push_str(": ");
        thinking.push_str(std::str::from_utf8(&key).unwrap_or(""));
        thinking.push_str(". Compare each candidate's sorted letters:\n");
        let mut anagrams = Vec::new();
        let mut shown = Vec::with_capacity(cands.len());
        for cand in &cands {
            let s = String::from_utf8_lossy(cand).into_owned();
            let sk = sorted(cand);
            thinking.push_str(&s);
            thinking.push_str(" -> ");
            thinking.push_str(std::str::from_utf8(&sk).unwrap_or(""));
            if sk == key {
                thinking.push_str(": same letters, an anagram\n");
                anagrams.push(s.clone());
            } else {
                thinking.push_str(": different letters\n");
            }
            shown.push(s);
        }
        let final_answer = if anagrams.is_empty() {
            thinking.push_str("No candidate is an anagram.");
            "none".to_string()
        } else {
            thinking.push_str("The anagrams are ");
            thinking.push_str(&anagrams.join(", "));
            thinking.push('.');
            anagrams.join(", ")
        };
        Ok(Problem {
            question: render(
                TEMPLATE,
                &[("word", word), ("candidates", &shown.join(", "))],
            ),
            answer: json!({ "candidates": shown, "anagrams": anagrams }),
            thinking,
            final_answer,
        })
    }

    fn verify(&self, gold: &serde_json::Value, answer: &str) -> Result<Verdict, VerifyError> {
        let cands = gold_strs(gold, "candidates")?;
        let gold = gold_strs(gold, "anagrams")?;
        let picked = if is_empty_marker(answer) {
            Vec::new()
        } else {
            match parse_words(answer) {
                Some(ws) => ws,
                None => return Ok(reject(answer, "answer is not a list of candidates")),
            }
        };
        for (i, p) in picked.iter().enumerate() {
            if !cands.contains(&p.as_str()) {
                return Ok(reject(answer, format!("'{p}' is not a candidate")));
            }
            if picked[..i].contains(p) {
                return Ok(reject(answer, format!("'{p}' is listed twice")));
            }
        }
        let same = picked.len() == gold.len() && gold.iter().all(|g| picked.iter().any(|p| p == g));
        Ok(if same {
            Verdict::correct(picked.join(", "))
        } else {
            reject(answer, "not exactly the set of anagrams")
        })
    }
}
