//! `letter_counting`: how many times a letter occurs in a text ("how many r in
//! strawberry"), the reasoning-gym `letter_counting` task.
//!
//! Models see tokens, not letters, so this is a known failure (the "strawberry" problem).
//! The reference chain of thought walks the text letter by letter with a running count.

use crate::algorithmic::answer::{gold_i64, push_int, wrong};
use crate::env::{Domain, Family, Problem};
use crate::puzzles::common::{uint_str, Template};
use crate::rng::TaskRng;
use crate::text::words;
use serde::{Deserialize, Serialize};
use std::sync::LazyLock;
use verigym_verifiers::number::parse_integer;
use verigym_verifiers::{Verdict, VerifyError};

static PROMPT: LazyLock<Template> =
    LazyLock::new(|| Template::new(include_str!("../../../prompts/letter_counting.txt")));

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LetterCountingConfig {
    /// Words in the text, drawn uniformly in [min_words, max_words].
    pub min_words: usize,
    pub max_words: usize,
    /// Probability that the asked letter is one that occurs in the text.
    pub present_probability: f64,
}

pub struct LetterCounting {
    config: LetterCountingConfig,
}

const WORD_CAP: usize = 1000;

impl Family for LetterCounting {
    type Config = LetterCountingConfig;
    const NAME: &'static str = "letter_counting";
    const DOMAIN: Domain = Domain::Text;
    const DESCRIPTION: &'static str =
        "Count the occurrences of a letter in a text, letter by letter with a running count";

    fn config_for(difficulty: u8) -> LetterCountingConfig {
        const MIN: [usize; 10] = [2, 2, 3, 4, 5, 6, 8, 10, 12, 15];
        const MAX: [usize; 10] = [3, 4, 5, 6, 8, 10, 12, 15, 20, 25];
        let d = usize::from(difficulty.clamp(1, 10)) - 1;
        LetterCountingConfig {
            min_words: MIN[d],
            max_words: MAX[d],
            present_probability: 0.85,
        }
    }

    fn new(config: LetterCountingConfig) -> Result<Self, String> {
        if config.min_words == 0 || config.min_words > config.max_words {
            return Err("min_words must be in 1..=max_words".into());
        }
        if config.max_words > WORD_CAP {
            return Err(format!("max_words must be at most {WORD_CAP}"));
        }
        if !(0.0..=1.0).contains(&config.present_probability) {
            return Err("present_probability must be in [0, 1]".into());
        }
        Ok(LetterCounting { config })
    }

    fn generate(&self, rng: &mut TaskRng) -> Result<Problem, String> {
        let c = &self.config;
        let n = rng.range_usize(c.min_words, c.max_words);
        let ws = words::draw(rng, n);
        let text = words::join(&ws, 0);
        let letter = if rng.chance(c.present_probability) {
            // A letter of the text, drawn by position (spaces redrawn, bounded).
            let bytes = text.as_bytes();
            let mut pick = b'e';
            for _ in 0..64 {
                let b = bytes.get(rng.below(bytes.len() as u64) as usize).copied();
                if let Some(b) = b.filter(|b| *b != b' ') {
                    pick = b;
                    break;
                }
            }
            pick
        } else {
            b'a' + rng.below(26) as u8
        };
        let (thinking, count) = count_words(&ws, text.len(), letter)?;
        let l = [letter];
        let l = std::str::from_utf8(&l).map_err(|e| e.to_string())?;
        let mut gold = serde_json::Map::new();
        gold.insert("count".into(), count.into());
        let mut final_answer = String::with_capacity(4);
        push_int(&mut final_answer, count);
        Ok(Problem {
            question: PROMPT.fill(&[("letter", l), ("text", &text)]),
            answer: serde_json::Value::Object(gold),
            thinking,
            final_answer,
        })
    }

    fn verify(&self, gold: &serde_json::Value, answer: &str) -> Result<Verdict, VerifyError> {
        let gold = gold_i64(gold, "count")?;
        Ok(match parse_integer(answer) {
            Some(v) if v == num_bigint::BigInt::from(gold) => Verdict::correct(v.to_string()),
            Some(v) => wrong(answer, format!("{v} is not the count")),
            None => wrong(answer, "answer is not a single integer"),
        })
    }
}

/// Walks the text word by word and letter by letter; a matching letter is followed by
/// the running count in parentheses.
#[cfg(test)]
fn count_steps(text: &str, letter: u8) -> (String, i64) {
    let ws: Vec<&str> = text.split(' ').collect();
    count_words(&ws, text.len(), letter).unwrap_or_default()
}

/// [`count_steps`] over the words of a text of `text_len` bytes, written into one
/// pre-sized byte buffer.
fn count_words(words: &[&str], text_len: usize, letter: u8) -> Result<(String, i64), String> {
    let mut out: Vec<u8> = Vec::with_capacity(text_len * 4 + words.len() * 24 + 160);
    out.extend_from_slice(b"Go through the text letter by letter, keeping a running count of \"");
    out.push(letter);
    out.extend_from_slice(b"\".\n");
    let mut count = 0usize;
    let mut num = [0u8; 20];
    for w in words {
        out.extend_from_slice(w.as_bytes());
        out.extend_from_slice(b": ");
        for (i, &b) in w.as_bytes().iter().enumerate() {
            if i > 0 {
                out.extend_from_slice(&[b',', b' ', b]);
            } else {
                out.push(b);
            }
            if b == letter {
                count += 1;
                out.extend_from_slice(b" (");
                out.extend_from_slice(uint_str(count, &mut num).as_bytes());
                out.push(b')');
            }
        }
        out.extend_from_slice(b" -> count so far ");
        out.extend_from_slice(uint_str(count, &mut num).as_bytes());
        out.push(b'\n');
    }
    out.extend_from_slice(b"The letter \"");
    out.push(letter);
    out.extend_from_slice(b"\" appears ");
    out.extend_from_slice(uint_str(count, &mut num).as_bytes());
    out.extend_from_slice(b" times.");
    let text = String::from_utf8(out).map_err(|e| e.to_string())?;
    Ok((text, count as i64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strawberry_has_three_r() {
        let (steps, n) = count_steps("strawberry", b'r');
        assert_eq!(n, 3);
        assert!(steps.contains("r (3), y"), "{steps}");
        assert_eq!(count_steps("a bb a", b'b').1, 2);
        assert_eq!(count_steps("cat", b'z').1, 0);
    }
}
