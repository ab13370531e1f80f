//! `letter_counting`: how many times a letter occurs in a text ("how many r in
//! strawberry"), the reasoning-gym `letter_counting` task.
//!
//! Models see tokens, not letters, so this is a known failure (the "strawberry" problem).
//! The reference chain of thought walks the text letter by letter with a running count.

use crate::env::{Domain, Family, Problem};
use crate::kit::{gold_i64, reject, render};
use crate::rng::TaskRng;
use crate::text::words;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::fmt::Write;
use verigym_verifiers::number::parse_integer;
use verigym_verifiers::{Verdict, VerifyError};

const TEMPLATE: &str = crate::template!("letter_counting");

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
        let text = words::draw(rng, n).join(" ");
        let letter = if rng.chance(c.present_probability) {
            // A letter of the text, drawn by position; a space is redrawn, up to 64 times.
            let bytes = text.as_bytes();
            let mut pick = b'e';
            for _ in 0..64 {
                let b = bytes[rng.below(bytes.len() as u64) as usize];
                if b != b' ' {
                    pick = b;
                    break;
                }
            }
            char::from(pick)
        } else {
            char::from(b'a' + rng.below(26) as u8)
        };
        let (thinking, count) = count_steps(&text, letter);
        Ok(Problem {
            question: render(
                TEMPLATE,
                &[("letter", &letter.to_string()), ("text", &text)],
            ),
            answer: json!({ "count": count }),
            thinking,
            final_answer: count.to_string(),
        })
    }

    fn verify(&self, gold: &serde_json::Value, answer: &str) -> Result<Verdict, VerifyError> {
        let gold = gold_i64(gold, "count")?;
        Ok(match parse_integer(answer) {
            Some(v) if v == num_bigint::BigInt::from(gold) => Verdict::correct(v.to_string()),
            Some(v) => reject(answer, format!("{v} is not the count")),
            None => reject(answer, "answer is not a single integer"),
        })
    }
}

/// Walks the text word by word and letter by letter; a matching letter is followed by
/// the running count in parentheses. Returns the walk and the count.
fn count_steps(text: &str, letter: char) -> (String, usize) {
    let mut out =
        format!("Go through the text letter by letter, keeping a running count of \"{letter}\".\n");
    let mut count = 0;
    for word in text.split(' ') {
        let _ = write!(out, "{word}:");
        for (i, c) in word.chars().enumerate() {
            let sep = if i == 0 { " " } else { ", " };
            if c == letter {
                count += 1;
                let _ = write!(out, "{sep}{c} ({count})");
            } else {
                let _ = write!(out, "{sep}{c}");
            }
        }
        let _ = writeln!(out, " -> count so far {count}");
    }
    let _ = write!(out, "The letter \"{letter}\" appears {count} times.");
    (out, count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strawberry_has_three_r() {
        let (steps, n) = count_steps("strawberry", 'r');
        assert_eq!(n, 3);
        assert!(steps.contains("r (3), y"), "{steps}");
        assert_eq!(count_steps("a bb a", 'b').1, 2);
        assert_eq!(count_steps("cat", 'z').1, 0);
    }
}
