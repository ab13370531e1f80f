//! `caesar_cipher`: encrypt, decrypt, or crack (shift not given) a Caesar cipher, the
//! reasoning-gym `caesar_cipher` task extended with encryption and known shifts.
//!
//! For cracking, the generator checks with the shipped word list that no other shift also
//! decodes every word to an English word, so the answer is unique; the reference tries
//! the shifts in order as a person would.

use crate::env::{Domain, Family, Problem};
use crate::kit::{gold_str, parse_words, reject, render, str_gold};
use crate::rng::TaskRng;
use crate::text::words;
use serde::{Deserialize, Serialize};
use std::sync::OnceLock;
use verigym_verifiers::{Verdict, VerifyError};

const TEMPLATE: &str = crate::template!("caesar_cipher");

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

/// Shifts a capital letter `k` places forward in the alphabet, Z wrapping to A; any other
/// byte is kept (so UTF-8 text stays UTF-8). The texts here are capital ASCII words, so
/// they are shifted and written as bytes.
fn shift_byte(b: u8, k: u8) -> u8 {
    if b.is_ascii_uppercase() {
        b'A' + (b - b'A' + k % 26) % 26
    } else {
        b
    }
}

/// Shifts every capital letter of `text` `k` places forward.
pub fn shift_text(text: &str, k: u8) -> String {
    let bytes: Vec<u8> = text.bytes().map(|b| shift_byte(b, k)).collect();
    String::from_utf8(bytes).unwrap_or_default()
}

/// Writes the worked shift of every word of `text`, one line each:
/// `HELLO: H>K E>H L>O L>O O>R -> KHOOR`.
fn write_steps(out: &mut String, text: &str, k: u8) {
    let mut lines: Vec<u8> = Vec::with_capacity(6 * text.len() + 8);
    for word in text.split(' ') {
        lines.extend_from_slice(word.as_bytes());
        lines.push(b':');
        for b in word.bytes() {
            lines.extend_from_slice(&[b' ', b, b'>', shift_byte(b, k)]);
        }
        lines.extend_from_slice(b" -> ");
        lines.extend(word.bytes().map(|b| shift_byte(b, k)));
        lines.push(b'\n');
    }
    out.push_str(&String::from_utf8_lossy(&lines));
}

/// Appends `n` (below 100) in decimal.
fn push_number(out: &mut String, n: u8) {
    if n >= 10 {
        out.push(char::from(b'0' + n / 10));
    }
    out.push(char::from(b'0' + n % 10));
}

/// For each listed word (by its index in the list), bit `d` says whether the word shifted
/// `d` places forward is a listed word too (bit 0: the word itself). Computed once. A text
/// of listed words decodes to listed words under another shift only if every word's mask
/// has that shift's bit.
fn shift_masks() -> &'static [u32] {
    static MASKS: OnceLock<Vec<u32>> = OnceLock::new();
    MASKS.get_or_init(|| {
        words::words()
            .iter()
            .map(|w| {
                let upper = w.to_ascii_uppercase();
                (0..26u8)
                    .filter(|&d| words::is_word(&shift_text(&upper, d).to_ascii_lowercase()))
                    .fold(0u32, |mask, d| mask | 1 << d)
            })
            .collect()
    })
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
        let list = words::words();
        let picks: Vec<usize> = (0..n)
            .map(|_| rng.below(list.len() as u64) as usize)
            .collect();
        let mut plain = String::with_capacity(12 * n);
        for (j, &i) in picks.iter().enumerate() {
            if j > 0 {
                plain.push(' ');
            }
            plain.extend(
                list.get(i)
                    .copied()
                    .unwrap_or("word")
                    .chars()
                    .map(|c| c.to_ascii_uppercase()),
            );
        }
        let k = 1 + rng.below(u64::from(c.max_shift)) as u8;
        let cipher = shift_text(&plain, k);

        if rng.chance(c.encrypt_probability) {
            let instruction = format!(
                "Encrypt \"{plain}\" with a Caesar cipher that shifts each letter {k} places forward in the alphabet (Z wraps around to A)."
            );
            let mut thinking = format!("Shift each letter forward by {k}, wrapping past Z:\n");
            write_steps(&mut thinking, &plain, k);
            thinking.push_str("Encrypted: ");
            thinking.push_str(&cipher);
            return Ok(Problem {
                question: render(
                    TEMPLATE,
                    &[("instruction", &instruction), ("what", "encrypted text")],
                ),
                answer: str_gold("text", &cipher),
                thinking,
                final_answer: cipher,
            });
        }

        // Cracking needs a unique decryption: no shift back other than k may turn every
        // cipher word into a listed word. Otherwise the shift is stated.
        // Decoding with any shift but k moves the plain text d = 1..=25 places: unique when
        // no such d keeps every word a listed word.
        let masks = shift_masks();
        let every_word = picks
            .iter()
            .fold(!0u32, |m, &i| m & masks.get(i).copied().unwrap_or(1));
        let unique = every_word & !1 == 0;
        let crack = rng.chance(c.crack_probability) && unique;
        let (instruction, mut thinking) = if crack {
            let mut thinking = String::from(
                "The shift is unknown. Try shifting the first word back by 1, 2, ... until every word becomes an English word:\n",
            );
            let first = plain.split(' ').next().unwrap_or_default();
            let first_mask = picks
                .first()
                .and_then(|&i| masks.get(i))
                .copied()
                .unwrap_or(1);
            for s in 1..=k {
                // Shifting the cipher back by s shifts the plain word k - s places forward;
                // the first word's mask says whether that is a listed word.
                let verdict = if s == k {
                    "a word; the rest decode to words too"
                } else if first_mask & (1 << (k - s)) == 0 {
                    "not a word"
                } else {
                    "a word, but the full text does not decode to words"
                };
                thinking.push_str("back ");
                push_number(&mut thinking, s);
                thinking.push_str(": ");
                thinking.push_str(&shift_text(first, k - s));
                thinking.push_str(" (");
                thinking.push_str(verdict);
                thinking.push_str(")\n");
            }
            thinking.push_str(&format!(
                "So the shift is {k}. Shift every letter back by {k}:\n"
            ));
            let instruction = format!(
                "This text was encrypted with a Caesar cipher with an unknown shift; the plain text is English words: \"{cipher}\". Decrypt it."
            );
            (instruction, thinking)
        } else {
            let thinking = format!("Shift each letter back by {k}, wrapping past A:\n");
            let instruction = format!(
                "This text was encrypted with a Caesar cipher that shifted each letter {k} places forward in the alphabet (Z wraps around to A): \"{cipher}\". Decrypt it."
            );
            (instruction, thinking)
        };
        write_steps(&mut thinking, &cipher, 26 - k);
        thinking.push_str(&format!("Decrypted: {plain}"));
        Ok(Problem {
            question: render(
                TEMPLATE,
                &[("instruction", &instruction), ("what", "plain text")],
            ),
            answer: str_gold("text", &plain),
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
            Some(_) => reject(answer, "not the expected text"),
            None => reject(answer, "answer is not words of letters"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether shifting `cipher` back by `s` turns every word into a listed word.
    fn decodes_to_words(cipher: &str, s: u8) -> bool {
        cipher
            .split(' ')
            .all(|w| words::is_word(&shift_text(w, 26 - s).to_ascii_lowercase()))
    }

    #[test]
    fn shifting_wraps_and_inverts() {
        assert_eq!(shift_text("HELLO XYZ", 3), "KHOOR ABC");
        assert_eq!(shift_text(&shift_text("ZEBRA", 7), 19), "ZEBRA");
        assert_eq!(shift_text("A Z", 25), "Z Y");
        let mut steps = String::new();
        write_steps(&mut steps, "HELLO AB", 3);
        assert_eq!(
            steps,
            "HELLO: H>K E>H L>O L>O O>R -> KHOOR\nAB: A>D B>E -> DE\n"
        );
        // KHOOR is HELLO shifted by 3: it decodes by 3 exactly when "hello" is listed.
        assert_eq!(decodes_to_words("KHOOR", 3), words::is_word("hello"));
        assert!(!decodes_to_words("KHOOR", 0));
    }

    #[test]
    fn cracked_tasks_have_one_decryption() {
        let family = CaesarCipher::new(CaesarConfig {
            crack_probability: 1.0,
            encrypt_probability: 0.0,
            ..CaesarCipher::config_for(10)
        })
        .unwrap();
        for i in 0..50 {
            let p = family
                .generate(&mut TaskRng::for_task("caesar_cipher", 1, i))
                .unwrap();
            if !p.thinking.starts_with("The shift is unknown") {
                continue;
            }
            let cipher = p.question.split('"').nth(1).unwrap();
            let decodings = (1..26u8).filter(|&s| decodes_to_words(cipher, s)).count();
            assert_eq!(decodings, 1, "{cipher}");
        }
    }
}
