//! `letter_counting`: how many times a letter occurs in a text ("how many r in
//! strawberry"), the reasoning-gym `letter_counting` task.
//!
//! Models see tokens, not letters, so this is a known failure (the "strawberry" problem).
//! The reference chain of thought walks the text letter by letter with a running count.

use crate::algorithmic::answer::{gold_i64, push_int, wrong};
use crate::env::{Domain, Family, Problem};
use crate::prompts::render;
use crate::rng::TaskRng;
use crate::text::words;
use serde::{Deserialize, Serialize};
use serde_json::json;
use verigym_verifiers::number::parse_integer;
use verigym_verifiers::{Verdict, VerifyError};

const TEMPLATE: &str = include_str!("../../../prompts/letter_counting.txt");

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
        let text = words::sentence(rng, n);
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
        let (thinking, count) = count_steps(&text, letter);
        let l = char::from(letter).to_string();
        Ok(Problem {
            question: render(TEMPLATE, &[("letter", &l), ("text", &text)]),
            answer: json!({ "count": count }),
            thinking,
            final_answer: {
                let mut f = String::with_capacity(4);
                push_int(&mut f, count);
                f
            },
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
fn count_steps(text: &str, letter: u8) -> (String, i64) {
    let words = text.bytes().filter(|b| *b == b' ').count() + 1;
    let mut out = String::with_capacity(text.len() * 4 + words * 24 + 160);
    out.push_str("Go through the text letter by letter, keeping a running count of \"");
    out.push(char::from(letter));
    out.push_str("\".\n");
    let mut count = 0i64;
    for w in text.split(' ') {
        out.push_str(w);
        out.push_str(": ");
        for (i, b) in w.bytes().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            out.push(char::from(b));
            if b == letter {
                count += 1;
                out.push_str(" (");
                push_int(&mut out, count);
                out.push(')');
            }
        }
        out.push_str(" -> count so far ");
        push_int(&mut out, count);
        out.push('\n');
    }
    out.push_str("The letter \"");
    out.push(char::from(letter));
    out.push_str("\" appears ");
    push_int(&mut out, count);
    out.push_str(" times.");
    (out, count)
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
