//! `caesar_cipher`: encrypt, decrypt, or crack (shift not given) a Caesar cipher, the
//! reasoning-gym `caesar_cipher` task extended with encryption and known shifts.
//!
//! For cracking, the generator checks with the shipped word list that no other shift also
//! decodes every word to an English word, so the answer is unique; the reference tries
//! the shifts in order as a person would.

use crate::algorithmic::answer::{gold_str, parse_words, push_int, wrong};
use crate::env::{Domain, Family, Problem};
use crate::prompts::render;
use crate::rng::TaskRng;
use crate::text::words;
use serde::{Deserialize, Serialize};
use serde_json::json;
use verigym_verifiers::{Verdict, VerifyError};

const TEMPLATE: &str = include_str!("../../../prompts/caesar_cipher.txt");

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

/// Writes `WORD: R>I W>N ... -> RESULT` for one word, shifting forward by `fwd`.
fn word_steps(out: &mut String, word: &str, fwd: u8) {
    out.push_str(word);
    out.push(':');
    for b in word.bytes() {
        out.push(' ');
        out.push(char::from(b));
        out.push('>');
        out.push(char::from(shift_byte(b, fwd)));
    }
    out.push_str(" -> ");
    for b in word.bytes() {
        out.push(char::from(shift_byte(b, fwd)));
    }
    out.push('\n');
}

/// Whether the capital-letter word `w`, shifted back by `back`, is a listed word
/// (checked on packed keys, without allocating).
fn decodes_to_word(w: &str, back: u8) -> bool {
    if !w.bytes().all(|b| b.is_ascii_uppercase()) {
        return false;
    }
    words::key(w.bytes().map(|b| b'a' + (b - b'A' + 26 - back % 26) % 26))
        .is_some_and(words::is_word_key)
}

/// Whether decoding `cipher` with backward shift `k` gives only listed words.
fn all_words(cipher: &str, k: u8) -> bool {
    cipher.split(' ').all(|w| decodes_to_word(w, k))
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
        let mut plain = words::sentence(rng, n);
        plain.make_ascii_uppercase();
        let k = 1 + rng.below(u64::from(c.max_shift)) as u8;
        let cipher = shift_text(&plain, k);
        let mut thinking = String::with_capacity(plain.len() * 6 + 26 * 24 + 200);
        let mut ks = String::new();
        push_int(&mut ks, i64::from(k));
        if rng.chance(c.encrypt_probability) {
            let mut instruction = String::with_capacity(plain.len() + 140);
            instruction.push_str("Encrypt \"");
            instruction.push_str(&plain);
            instruction.push_str("\" with a Caesar cipher that shifts each letter ");
            instruction.push_str(&ks);
            instruction.push_str(" places forward in the alphabet (Z wraps around to A).");
            thinking.push_str("Shift each letter forward by ");
            thinking.push_str(&ks);
            thinking.push_str(", wrapping past Z:\n");
            for w in plain.split(' ') {
                word_steps(&mut thinking, w, k);
            }
            thinking.push_str("Encrypted: ");
            thinking.push_str(&cipher);
            return Ok(Problem {
                question: render(
                    TEMPLATE,
                    &[("instruction", &instruction), ("what", "encrypted text")],
                ),
                answer: json!({ "text": cipher }),
                thinking,
                final_answer: cipher,
            });
        }
        // Cracking needs a unique decryption; otherwise the shift is stated.
        // A cipher word with no other listed word among its shifts settles uniqueness at
        // once; otherwise every other shift is tried on the whole text.
        let crack = rng.chance(c.crack_probability)
            && (cipher
                .split(' ')
                .take(3)
                .any(|w| words::shift_class_size(w.as_bytes()) == 1)
                || (1..26u8).all(|s| s == k || !all_words(&cipher, s)));
        let instruction = if crack {
            thinking.push_str("The shift is unknown. Try shifting the first word back by 1, 2, ... until every word becomes an English word:\n");
            let first = cipher.split(' ').next().unwrap_or("");
            for s in 1..=k {
                thinking.push_str("back ");
                push_int(&mut thinking, i64::from(s));
                thinking.push_str(": ");
                for b in first.bytes() {
                    thinking.push(char::from(shift_byte(b, 26 - s)));
                }
                if decodes_to_word(first, s) {
                    if s == k {
                        thinking.push_str(" (a word; the rest decode to words too)\n");
                    } else {
                        thinking
                            .push_str(" (a word, but the full text does not decode to words)\n");
                    }
                } else {
                    thinking.push_str(" (not a word)\n");
                }
            }
            thinking.push_str("So the shift is ");
            thinking.push_str(&ks);
            thinking.push_str(". Shift every letter back by ");
            thinking.push_str(&ks);
            thinking.push_str(":\n");
            let mut i = String::with_capacity(cipher.len() + 140);
            i.push_str("This text was encrypted with a Caesar cipher with an unknown shift; the plain text is English words: \"");
            i.push_str(&cipher);
            i.push_str("\". Decrypt it.");
            i
        } else {
            thinking.push_str("Shift each letter back by ");
            thinking.push_str(&ks);
            thinking.push_str(", wrapping past A:\n");
            let mut i = String::with_capacity(cipher.len() + 160);
            i.push_str("This text was encrypted with a Caesar cipher that shifted each letter ");
            i.push_str(&ks);
            i.push_str(" places forward in the alphabet (Z wraps around to A): \"");
            i.push_str(&cipher);
            i.push_str("\". Decrypt it.");
            i
        };
        for w in cipher.split(' ') {
            word_steps(&mut thinking, w, 26 - k);
        }
        thinking.push_str("Decrypted: ");
        thinking.push_str(&plain);
        Ok(Problem {
            question: render(
                TEMPLATE,
                &[("instruction", &instruction), ("what", "plain text")],
            ),
            answer: json!({ "text": plain }),
            thinking,
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
        assert!(all_words("KHOOR", 3) || !words::is_word("hello"));
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
