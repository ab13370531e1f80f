//! `caesar_cipher`: encrypt, decrypt, or crack (shift not given) a Caesar cipher, the
//! reasoning-gym `caesar_cipher` task extended with encryption and known shifts.
//!
//! For cracking, the generator checks with the shipped word list that no other shift also
//! decodes every word to an English word, so the answer is unique; the reference tries
//! the shifts in order as a person would.

use crate::algorithmic::answer::{gold_str, parse_words, wrong};
use crate::env::{Domain, Family, Problem};
use crate::puzzles::common::{uint_str, Template};
use crate::rng::TaskRng;
use crate::text::words;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::sync::LazyLock;
use verigym_verifiers::{Verdict, VerifyError};

const TEMPLATE: &str = include_str!("../../../prompts/caesar_cipher.txt");

/// The template after its leading `{instruction}`, which generation writes directly.
static PROMPT_TAIL: LazyLock<Template> =
    LazyLock::new(|| Template::new(TEMPLATE.strip_prefix("{instruction}").unwrap_or(TEMPLATE)));

/// The gold spec: `{"text": ...}`.
fn gold(text: &str) -> Value {
    let mut m = serde_json::Map::new();
    m.insert("text".into(), Value::String(text.to_owned()));
    Value::Object(m)
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaesarConfig {
    /// Words in the text, drawn uniformly in [min_words, max_words].
    pub min_words: usize,
    pub max_words: usize,
    /// Largest shift (shifts are drawn in 1..=max_shift).
    pub max_shift: u8,
    /// Probability of an encryption task (otherwise decryption).
    pub encrypt_probability: f64,
    /// Probability that a decryption task does not state the shift.
    pub crack_probability: f64,
}

pub struct CaesarCipher {
    config: CaesarConfig,
}

fn shift_byte(b: u8, k: u8) -> u8 {
    if b.is_ascii_uppercase() {
        b'A' + (b - b'A' + k) % 26
    } else {
        b
    }
}

/// Shifts every capital letter `k` places forward (k in 0..26).
pub fn shift_text(text: &str, k: u8) -> String {
    text.bytes()
        .map(|b| char::from(shift_byte(b, k % 26)))
        .collect()
}

/// Shifts a capital letter `k` places forward, for `k` in 0..26 (no division).
fn shift_cap(b: u8, k: u8) -> u8 {
    let x = b - b'A' + k;
    b'A' + if x >= 26 { x - 26 } else { x }
}

/// Writes `WORD: R>I W>N ... -> RESULT` for one capital-letter word, shifting forward by
/// `fwd` (in 1..26).
fn word_steps(out: &mut Vec<u8>, word: &[u8], fwd: u8) {
    let mut steps = [[0u8; 4]; 26];
    for (i, st) in steps.iter_mut().enumerate() {
        let b = b'A' + i as u8;
        *st = [b' ', b, b'>', shift_cap(b, fwd)];
    }
    word_steps_with(out, word, &steps);
}

/// [`word_steps`] with the per-letter step text (" R>I") precomputed for the shift.
fn word_steps_with(out: &mut Vec<u8>, word: &[u8], steps: &[[u8; 4]; 26]) {
    out.reserve(6 * word.len() + 6);
    out.extend_from_slice(word);
    out.push(b':');
    for &b in word {
        match steps.get(usize::from(b.wrapping_sub(b'A'))) {
            Some(st) => out.extend_from_slice(st),
            None => out.extend_from_slice(&[b' ', b, b'>', b]),
        }
    }
    out.extend_from_slice(b" -> ");
    for &b in word {
        out.push(
            steps
                .get(usize::from(b.wrapping_sub(b'A')))
                .map_or(b, |st| st[3]),
        );
    }
    out.push(b'\n');
}

/// Whether the capital-letter word `w`, shifted back by `back`, is a listed word
/// (checked on packed keys, without allocating).
fn decodes_to_word(w: &[u8], back: u8) -> bool {
    if !w.iter().all(|b| b.is_ascii_uppercase()) {
        return false;
    }
    let fwd = 26 - back % 26;
    let fwd = if fwd == 26 { 0 } else { fwd };
    words::key(w.iter().map(|&b| shift_cap(b, fwd) + (b'a' - b'A'))).is_some_and(words::is_word_key)
}

/// Whether decoding `cipher` with backward shift `k` gives only listed words.
fn all_words(cipher: &[u8], k: u8) -> bool {
    cipher.split(|&b| b == b' ').all(|w| decodes_to_word(w, k))
}

/// A buffer of ASCII text as a `String`.
fn ascii(v: Vec<u8>) -> Result<String, String> {
    String::from_utf8(v).map_err(|e| e.to_string())
}

impl Family for CaesarCipher {
    type Config = CaesarConfig;
    const NAME: &'static str = "caesar_cipher";
    const DOMAIN: Domain = Domain::Text;
    const DESCRIPTION: &'static str =
        "Encrypt or decrypt a Caesar cipher; at higher levels crack it without the shift";

    fn config_for(difficulty: u8) -> CaesarConfig {
        let d = usize::from(difficulty.clamp(1, 10));
        const MIN: [usize; 10] = [1, 1, 2, 2, 3, 3, 4, 4, 5, 6];
        const MAX: [usize; 10] = [2, 3, 3, 4, 5, 6, 6, 8, 9, 10];
        const SHIFT: [u8; 10] = [3, 5, 10, 25, 25, 25, 25, 25, 25, 25];
        const CRACK: [f64; 10] = [0.0, 0.0, 0.0, 0.0, 0.0, 0.2, 0.4, 0.6, 0.8, 1.0];
        CaesarConfig {
            min_words: MIN[d - 1],
            max_words: MAX[d - 1],
            max_shift: SHIFT[d - 1],
            encrypt_probability: if d >= 8 { 0.0 } else { 0.5 },
            crack_probability: CRACK[d - 1],
        }
    }

    fn new(config: CaesarConfig) -> Result<Self, String> {
        if config.min_words == 0 || config.min_words > config.max_words {
            return Err("min_words must be in 1..=max_words".into());
        }
        if config.max_words > 500 {
            return Err("max_words must be at most 500".into());
        }
        if !(1..=25).contains(&config.max_shift) {
            return Err("max_shift must be in 1..=25".into());
        }
        for (name, p) in [
            ("encrypt_probability", config.encrypt_probability),
            ("crack_probability", config.crack_probability),
        ] {
            if !(0.0..=1.0).contains(&p) {
                return Err(format!("{name} must be in [0, 1]"));
            }
        }
        Ok(CaesarCipher { config })
    }

    fn generate(&self, rng: &mut TaskRng) -> Result<Problem, String> {
        let c = &self.config;
        let n = rng.range_usize(c.min_words, c.max_words);
        // The plain text: `n` list words, upper-cased, single spaces.
        let mut plain: Vec<u8> = Vec::with_capacity(n * 8);
        for i in 0..n {
            if i > 0 {
                plain.push(b' ');
            }
            plain.extend(words::word(rng).bytes().map(|b| b.to_ascii_uppercase()));
        }
        let k = 1 + rng.below(u64::from(c.max_shift)) as u8;
        let cipher: Vec<u8> = plain
            .iter()
            .map(|&b| if b == b' ' { b } else { shift_cap(b, k) })
            .collect();
        let mut thinking: Vec<u8> = Vec::with_capacity(plain.len() * 6 + 26 * 24 + 200);
        let mut kb = [0u8; 20];
        let ks = uint_str(usize::from(k), &mut kb);
        if rng.chance(c.encrypt_probability) {
            let cipher = ascii(cipher)?;
            let plain = ascii(plain)?;
            let mut question = String::with_capacity(plain.len() + 300);
            question.push_str("Encrypt \"");
            question.push_str(&plain);
            question.push_str("\" with a Caesar cipher that shifts each letter ");
            question.push_str(ks);
            question.push_str(" places forward in the alphabet (Z wraps around to A).");
            PROMPT_TAIL.fill_into(&mut question, &[("what", "encrypted text")]);
            thinking.extend_from_slice(b"Shift each letter forward by ");
            thinking.extend_from_slice(ks.as_bytes());
            thinking.extend_from_slice(b", wrapping past Z:\n");
            for w in plain.as_bytes().split(|&b| b == b' ') {
                word_steps(&mut thinking, w, k);
            }
            thinking.extend_from_slice(b"Encrypted: ");
            thinking.extend_from_slice(cipher.as_bytes());
            return Ok(Problem {
                question,
                answer: gold(&cipher),
                thinking: ascii(thinking)?,
                final_answer: cipher,
            });
        }
        // Cracking needs a unique decryption; otherwise the shift is stated.
        // A cipher word with no other listed word among its shifts settles uniqueness at
        // once; otherwise every other shift is tried on the whole text.
        let crack = rng.chance(c.crack_probability)
            && (cipher
                .split(|&b| b == b' ')
                .take(3)
                .any(|w| words::shift_class_size(w) == 1)
                || (1..26u8).all(|s| s == k || !all_words(&cipher, s)));
        let mut question = String::with_capacity(cipher.len() + 300);
        if crack {
            thinking.extend_from_slice(b"The shift is unknown. Try shifting the first word back by 1, 2, ... until every word becomes an English word:\n");
            let first = cipher.split(|&b| b == b' ').next().unwrap_or(b"");
            for s in 1..=k {
                thinking.extend_from_slice(b"back ");
                let mut sb = [0u8; 20];
                thinking.extend_from_slice(uint_str(usize::from(s), &mut sb).as_bytes());
                thinking.extend_from_slice(b": ");
                thinking.extend(first.iter().map(|&b| shift_cap(b, 26 - s)));
                thinking.extend_from_slice(if decodes_to_word(first, s) {
                    if s == k {
                        b" (a word; the rest decode to words too)\n"
                    } else {
                        &b" (a word, but the full text does not decode to words)\n"[..]
                    }
                } else {
                    b" (not a word)\n"
                });
            }
            thinking.extend_from_slice(b"So the shift is ");
            thinking.extend_from_slice(ks.as_bytes());
            thinking.extend_from_slice(b". Shift every letter back by ");
            thinking.extend_from_slice(ks.as_bytes());
            thinking.extend_from_slice(b":\n");
            question.push_str("This text was encrypted with a Caesar cipher with an unknown shift; the plain text is English words: \"");
        } else {
            thinking.extend_from_slice(b"Shift each letter back by ");
            thinking.extend_from_slice(ks.as_bytes());
            thinking.extend_from_slice(b", wrapping past A:\n");
            question
                .push_str("This text was encrypted with a Caesar cipher that shifted each letter ");
            question.push_str(ks);
            question.push_str(" places forward in the alphabet (Z wraps around to A): \"");
        }
        let mut steps = [[0u8; 4]; 26];
        for (i, st) in steps.iter_mut().enumerate() {
            let b = b'A' + i as u8;
            *st = [b' ', b, b'>', shift_cap(b, 26 - k)];
        }
        for w in cipher.split(|&b| b == b' ') {
            word_steps_with(&mut thinking, w, &steps);
        }
        let cipher = ascii(cipher)?;
        let plain = ascii(plain)?;
        question.push_str(&cipher);
        question.push_str("\". Decrypt it.");
        PROMPT_TAIL.fill_into(&mut question, &[("what", "plain text")]);
        thinking.extend_from_slice(b"Decrypted: ");
        thinking.extend_from_slice(plain.as_bytes());
        Ok(Problem {
            question,
            answer: gold(&plain),
            thinking: ascii(thinking)?,
            final_answer: plain,
        })
    }

    fn verify(&self, gold: &serde_json::Value, answer: &str) -> Result<Verdict, VerifyError> {
        let gold = gold_str(gold, "text")?;
        Ok(match parse_words(answer) {
            Some(ws)
                if ws.len() == gold.split(' ').count()
                    && ws
                        .iter()
                        .zip(gold.split(' '))
                        .all(|(a, g)| a.eq_ignore_ascii_case(g)) =>
            {
                Verdict::correct(gold)
            }
            Some(_) => wrong(answer, "not the expected text"),
            None => wrong(answer, "answer is not words of letters"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shifting_wraps_and_inverts() {
        assert_eq!(shift_text("HELLO XYZ", 3), "KHOOR ABC");
        assert_eq!(shift_text(&shift_text("ZEBRA", 7), 19), "ZEBRA");
        assert!(all_words(b"KHOOR", 3) || !words::is_word("hello"));
        assert_eq!(shift_cap(b'Z', 1), b'A');
        assert_eq!(shift_cap(b'A', 25), b'Z');
        // Shift classes: every list word is in its own class; a class of one means no
        // other shift of it is listed.
        for w in words::words().iter().take(300) {
            let n = words::shift_class_size(w.as_bytes());
            let up = w.to_ascii_uppercase();
            let others = (1..26u8)
                .filter(|s| words::is_word(&shift_text(&up, *s).to_ascii_lowercase()))
                .count();
            assert!(n >= 1);
            assert_eq!(n == 1, others == 0, "{w}");
            assert_eq!(words::shift_class_size(up.as_bytes()), n);
        }
    }
}
