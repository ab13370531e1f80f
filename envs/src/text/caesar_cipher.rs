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

/// " X>Y" for every forward shift (0..26) and capital letter X, 4 bytes each at offset
/// (shift * 26 + letter) * 4: the per-letter step text, built once.
static STEPS: LazyLock<String> = LazyLock::new(|| {
    let mut t = String::with_capacity(26 * 26 * 4);
    for fwd in 0..26u8 {
        for l in 0..26u8 {
            t.push(' ');
            t.push(char::from(b'A' + l));
            t.push('>');
            t.push(char::from(shift_cap(b'A' + l, fwd)));
        }
    }
    t
});

/// The listed words in capitals, by index in [`words::words`].
static UPPER: LazyLock<Vec<String>> = LazyLock::new(|| {
    words::words()
        .iter()
        .map(|w| w.to_ascii_uppercase())
        .collect()
});

/// Writes `WORD: R>I W>N ... -> RESULT` for one capital-letter word whose letters shift
/// `fwd` places forward (in 0..26) to give `result`.
fn word_steps(out: &mut String, word: &str, fwd: u8, result: &str) {
    let steps = STEPS.as_str();
    out.push_str(word);
    out.push(':');
    for b in word.bytes() {
        let o = (usize::from(fwd) * 26 + usize::from(b.wrapping_sub(b'A'))) * 4;
        out.push_str(steps.get(o..o + 4).unwrap_or(" ?>?"));
    }
    out.push_str(" -> ");
    out.push_str(result);
    out.push('\n');
}

/// Whether the capital-letter word `w`, shifted back by `back`, is a listed word
/// (checked on packed keys, without allocating). Generation uses the precomputed
/// [`words::shift_masks`]; the tests check the two agree.
#[cfg(test)]
fn decodes_to_word(w: &[u8], back: u8) -> bool {
    if !w.iter().all(|b| b.is_ascii_uppercase()) {
        return false;
    }
    let fwd = 26 - back % 26;
    let fwd = if fwd == 26 { 0 } else { fwd };
    words::key(w.iter().map(|&b| shift_cap(b, fwd) + (b'a' - b'A'))).is_some_and(words::is_word_key)
}

/// Whether decoding `cipher` with backward shift `k` gives only listed words.
#[cfg(test)]
fn all_words(cipher: &[u8], k: u8) -> bool {
    cipher.split(|&b| b == b' ').all(|w| decodes_to_word(w, k))
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
        let upper = UPPER.as_slice();
        let masks = words::shift_masks();
        let drawn = words::draw_indices(rng, n);
        let word = |i: usize| {
            drawn
                .get(i)
                .and_then(|&w| upper.get(w))
                .map_or("WORD", |w| w.as_str())
        };
        // Bit d of a word's mask: the word shifted d places forward is a listed word.
        let mask = |i: usize| {
            drawn
                .get(i)
                .and_then(|&w| masks.get(w))
                .copied()
                .unwrap_or(0)
        };
        let mut plain = String::with_capacity(n * 9);
        for i in 0..n {
            if i > 0 {
                plain.push(' ');
            }
            plain.push_str(word(i));
        }
        let k = 1 + rng.below(u64::from(c.max_shift)) as u8;
        let cipher: Vec<u8> = plain
            .bytes()
            .map(|b| if b == b' ' { b } else { shift_cap(b, k) })
            .collect();
        let cipher = String::from_utf8(cipher).map_err(|e| e.to_string())?;
        // Word i of both texts starts at the same offset.
        let pieces = || {
            let mut at = 0;
            (0..n).map(move |i| {
                let len = word(i).len();
                let r = at..at + len;
                at += len + 1;
                r
            })
        };
        let mut thinking = String::with_capacity(plain.len() * 6 + 26 * 24 + 200);
        let mut kb = [0u8; 20];
        let ks = uint_str(usize::from(k), &mut kb);
        if rng.chance(c.encrypt_probability) {
            let mut question = String::with_capacity(plain.len() + 300);
            question.push_str("Encrypt \"");
            question.push_str(&plain);
            question.push_str("\" with a Caesar cipher that shifts each letter ");
            question.push_str(ks);
            question.push_str(" places forward in the alphabet (Z wraps around to A).");
            PROMPT_TAIL.fill_into(&mut question, &[("what", "encrypted text")]);
            thinking.push_str("Shift each letter forward by ");
            thinking.push_str(ks);
            thinking.push_str(", wrapping past Z:\n");
            for r in pieces() {
                let (p, c) = (plain.get(r.clone()), cipher.get(r));
                word_steps(&mut thinking, p.unwrap_or(""), k, c.unwrap_or(""));
            }
            thinking.push_str("Encrypted: ");
            thinking.push_str(&cipher);
            return Ok(Problem {
                question,
                answer: gold(&cipher),
                thinking,
                final_answer: cipher,
            });
        }
        // Cracking needs a unique decryption; otherwise the shift is stated.
        // A cipher word with no other listed word among its shifts settles uniqueness at
        // once; otherwise every other shift is tried on the whole text.
        // Decoding with back-shift s turns each plain word into that word shifted k - s
        // places forward, so the whole text decodes to words for s != k exactly when every
        // word's mask has bit (k - s) mod 26, one of 1..=25 other than k.
        let crack = rng.chance(c.crack_probability)
            && ((0..n.min(3)).any(|i| mask(i) == 0)
                || (0..n).fold(!0u32, |m, i| m & mask(i)) & 0x03FF_FFFE & !(1 << k) == 0);
        let mut question = String::with_capacity(cipher.len() + 300);
        if crack {
            thinking.push_str("The shift is unknown. Try shifting the first word back by 1, 2, ... until every word becomes an English word:\n");
            let first = word(0);
            for s in 1..=k {
                thinking.push_str("back ");
                let mut sb = [0u8; 20];
                thinking.push_str(uint_str(usize::from(s), &mut sb));
                thinking.push_str(": ");
                let d = k - s; // the first plain word shifted d places forward
                let mut buf = [0u8; 16];
                let len = first.len().min(buf.len());
                for (o, b) in buf.iter_mut().zip(first.bytes()) {
                    *o = shift_cap(b, d);
                }
                thinking.push_str(std::str::from_utf8(&buf[..len]).unwrap_or("?"));
                thinking.push_str(if d == 0 || mask(0) & (1 << d) != 0 {
                    if s == k {
                        " (a word; the rest decode to words too)\n"
                    } else {
                        " (a word, but the full text does not decode to words)\n"
                    }
                } else {
                    " (not a word)\n"
                });
            }
            thinking.push_str("So the shift is ");
            thinking.push_str(ks);
            thinking.push_str(". Shift every letter back by ");
            thinking.push_str(ks);
            thinking.push_str(":\n");
            question.push_str("This text was encrypted with a Caesar cipher with an unknown shift; the plain text is English words: \"");
        } else {
            thinking.push_str("Shift each letter back by ");
            thinking.push_str(ks);
            thinking.push_str(", wrapping past A:\n");
            question
                .push_str("This text was encrypted with a Caesar cipher that shifted each letter ");
            question.push_str(ks);
            question.push_str(" places forward in the alphabet (Z wraps around to A): \"");
        }
        for r in pieces() {
            let (c, p) = (cipher.get(r.clone()), plain.get(r));
            word_steps(&mut thinking, c.unwrap_or(""), 26 - k, p.unwrap_or(""));
        }
        question.push_str(&cipher);
        question.push_str("\". Decrypt it.");
        PROMPT_TAIL.fill_into(&mut question, &[("what", "plain text")]);
        thinking.push_str("Decrypted: ");
        thinking.push_str(&plain);
        Ok(Problem {
            question,
            answer: gold(&plain),
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
        assert!(all_words(b"KHOOR", 3) || !words::is_word("hello"));
        assert_eq!(shift_cap(b'Z', 1), b'A');
        // The shift masks agree with decoding word by word.
        let masks = words::shift_masks();
        for (w, m) in words::words().iter().zip(masks).step_by(7) {
            let up = w.to_ascii_uppercase();
            for k in 1..26u8 {
                let cipher = shift_text(&up, k);
                for s in 1..26u8 {
                    let d = (26 + k - s) % 26;
                    let by_mask = d == 0 || m & (1 << d) != 0;
                    assert_eq!(
                        decodes_to_word(cipher.as_bytes(), s),
                        by_mask,
                        "{w} {k} {s}"
                    );
                }
            }
            assert_eq!(*m == 0, words::shift_class_size(up.as_bytes()) == 1, "{w}");
        }
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
