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
        // The same draws as `words::draw`, each word with its padded form for fixed-size
        // copies.
        let list = words::words();
        let pads = padded();
        let ws: Vec<(&str, Option<&Padded>)> = words::draw_indices(rng, n)
            .into_iter()
            .map(|i| match (list.get(i), pads.get(i)) {
                (Some(w), Some(p)) => (*w, p.as_ref()),
                _ => ("word", None),
            })
            .collect();
        let mut text = Vec::with_capacity(ws.iter().map(|(w, _)| w.len() + 1).sum::<usize>() + 16);
        for (i, &(w, pad)) in ws.iter().enumerate() {
            if i > 0 {
                text.push(b' ');
            }
            put_word(&mut text, w, pad);
        }
        let text = String::from_utf8(text).map_err(|e| e.to_string())?;
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
    let ws: Vec<(&str, Option<&Padded>)> = text.split(' ').map(|w| (w, None)).collect();
    count_words(&ws, text.len(), letter).unwrap_or_default()
}

/// A listed word zero-padded to 16 bytes, so it is written with one fixed-size copy
/// (and a truncate) rather than a variable-length memcpy.
type Padded = [u8; 16];

/// The padded form of each listed word (by index in [`words::words`]); `None` for a word
/// longer than 16 letters.
fn padded() -> &'static [Option<Padded>] {
    static PADDED: LazyLock<Vec<Option<Padded>>> = LazyLock::new(|| {
        words::words()
            .iter()
            .map(|w| {
                let mut p = [0u8; 16];
                p.get_mut(..w.len())?.copy_from_slice(w.as_bytes());
                Some(p)
            })
            .collect()
    });
    &PADDED
}

/// Appends `w`, by one fixed-size copy from `pad` (its padded form) when given.
fn put_word(out: &mut Vec<u8>, w: &str, pad: Option<&Padded>) {
    match pad {
        Some(p) if w.len() <= p.len() => {
            let end = out.len() + w.len();
            out.extend_from_slice(p);
            out.truncate(end);
        }
        _ => out.extend_from_slice(w.as_bytes()),
    }
}

/// Appends the decimal digits of a count (the common one- and two-digit cases without a
/// variable-length copy).
fn put_count(out: &mut Vec<u8>, n: usize) {
    match n {
        0..=9 => out.push(b'0' + n as u8),
        10..=99 => out.extend_from_slice(&[b'0' + (n / 10) as u8, b'0' + (n % 10) as u8]),
        _ => out.extend_from_slice(uint_str(n, &mut [0u8; 20]).as_bytes()),
    }
}

/// [`count_steps`] over the words of a text of `text_len` bytes (each with its padded
/// form where it has one), written into one pre-sized byte buffer.
fn count_words(
    words: &[(&str, Option<&Padded>)],
    text_len: usize,
    letter: u8,
) -> Result<(String, i64), String> {
    let mut out: Vec<u8> = Vec::with_capacity(text_len * 4 + words.len() * 24 + 160);
    out.extend_from_slice(b"Go through the text letter by letter, keeping a running count of \"");
    out.push(letter);
    out.extend_from_slice(b"\".\n");
    let mut count = 0usize;
    for &(w, pad) in words {
        put_word(&mut out, w, pad);
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
                put_count(&mut out, count);
                out.push(b')');
            }
        }
        out.extend_from_slice(b" -> count so far ");
        put_count(&mut out, count);
        out.push(b'\n');
    }
    out.extend_from_slice(b"The letter \"");
    out.push(letter);
    out.extend_from_slice(b"\" appears ");
    put_count(&mut out, count);
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

    #[test]
    fn padded_copies_write_the_same_text() {
        let list = words::words();
        let pads = padded();
        assert_eq!(pads.len(), list.len());
        for start in (0..list.len()).step_by(13) {
            let range = start..(start + 9).min(list.len());
            let fast: Vec<(&str, Option<&Padded>)> = list[range.clone()]
                .iter()
                .zip(&pads[range.clone()])
                .map(|(w, p)| (*w, p.as_ref()))
                .collect();
            let slow: Vec<(&str, Option<&Padded>)> =
                list[range].iter().map(|w| (*w, None)).collect();
            assert!(fast.iter().all(|(_, p)| p.is_some()));
            for letter in [b'e', b'a', b'z'] {
                assert_eq!(count_words(&fast, 0, letter), count_words(&slow, 0, letter));
            }
        }
        let mut out = Vec::new();
        for n in [0, 7, 10, 99, 100, 12345] {
            put_count(&mut out, n);
            out.push(b' ');
        }
        assert_eq!(out, b"0 7 10 99 100 12345 ");
    }
}
