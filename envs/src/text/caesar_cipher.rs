//! `caesar_cipher`: encrypt, decrypt, or crack (shift not given) a Caesar cipher, the
//! reasoning-gym `caesar_cipher` task extended with encryption and known shifts.
//!
//! For cracking, the generator checks with the shipped word list that no other shift also
//! decodes every word to an English word, so the answer is unique; the reference tries
//! the shifts in order as a person would.

use crate::algorithmic::answer::{gold_str, parse_words, wrong};
use crate::env::{Domain, Family, Problem};
use crate::puzzles::common::Template;
use crate::rng::TaskRng;
use crate::text::words;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::sync::LazyLock;
use verigym_verifiers::{Verdict, VerifyError};

const TEMPLATE: &str = include_str!("../../../prompts/caesar_cipher.txt");

/// The template after its leading `{instruction}` filled for each kind of answer:
/// [0] encryption, [1] decryption. Generation writes the instruction, then one of these.
static TAILS: LazyLock<[String; 2]> = LazyLock::new(|| {
    let tail = Template::new(TEMPLATE.strip_prefix("{instruction}").unwrap_or(TEMPLATE));
    ["encrypted text", "plain text"].map(|what| {
        let mut s = String::new();
        tail.fill_into(&mut s, &[("what", what)]);
        s
    })
});

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

/// Shifts every capital letter `k` places forward (k in 0..26); other bytes are kept.
fn shift_any(b: u8, k: u8) -> u8 {
    if b.is_ascii_uppercase() {
        let x = b + k;
        if x > b'Z' {
            x - 26
        } else {
            x
        }
    } else {
        b
    }
}

/// Shifts every capital letter `k` places forward (k in 0..26).
pub fn shift_text(text: &str, k: u8) -> String {
    text.bytes()
        .map(|b| char::from(shift_any(b, k % 26)))
        .collect()
}

/// Shifts a capital letter `k` places forward, for `k` in 0..26 (no division).
#[cfg(test)]
fn shift_cap(b: u8, k: u8) -> u8 {
    let x = b - b'A' + k;
    b'A' + if x >= 26 { x - 26 } else { x }
}

/// Width of the fixed-size copies generation makes: a word of at most `WIDTH` letters is
/// written as one `WIDTH`-byte copy and a truncate rather than a variable-length memcpy
/// (every listed word fits; a test checks). The buffers words are copied from end in
/// `WIDTH` bytes of padding so such a copy never runs past them; longer words take a
/// plain copy.
const WIDTH: usize = 16;

/// Letters a word's table entry holds inline; longer words are read from the list.
const INLINE: usize = 11;

/// Each listed word (by index in [`words::words`]) as one 16-byte entry, so drawing a word
/// touches one cache line: bytes 0..INLINE its capitals (zero padded), byte INLINE its
/// length (0 for a word longer than INLINE), bytes 12..16 its [`words::shift_masks`] entry
/// (little-endian). The whole entry is copied and then truncated to the word.
static ENTRIES: LazyLock<Vec<[u8; WIDTH]>> = LazyLock::new(|| {
    words::words()
        .iter()
        .zip(words::shift_masks())
        .map(|(w, m)| {
            let mut e = [0u8; WIDTH];
            if w.len() <= INLINE {
                for (o, b) in e.iter_mut().zip(w.bytes()) {
                    *o = b.to_ascii_uppercase();
                }
                e[INLINE] = w.len() as u8;
            }
            e[12..].copy_from_slice(&m.to_le_bytes());
            e
        })
        .collect()
});

/// The `WIDTH` bytes of `src` from `at`, if it has them and the word there (`len` bytes)
/// fits in them.
fn chunk(src: &[u8], at: usize, len: usize) -> Option<&[u8; WIDTH]> {
    if len > WIDTH {
        return None;
    }
    src.get(at..).and_then(<[u8]>::first_chunk::<WIDTH>)
}

/// Appends the first `len` bytes of `bytes` (`len <= WIDTH`) by one fixed-size copy.
fn put_fixed(out: &mut Vec<u8>, bytes: &[u8; WIDTH], len: usize) {
    let end = out.len() + len.min(WIDTH);
    out.extend_from_slice(bytes);
    out.truncate(end);
}

/// `chunk` with every capital letter shifted `k` places forward (k in 0..26).
fn shift_chunk(chunk: &[u8; WIDTH], k: u8) -> [u8; WIDTH] {
    let mut out = [0u8; WIDTH];
    for (o, &b) in out.iter_mut().zip(chunk) {
        *o = shift_any(b, k);
    }
    out
}

/// Writes `WORD: R>I W>N ... -> RESULT` and a newline for the capital-letter word
/// `src[at..at + len]`, whose letters shift `fwd` places forward (in 0..26).
fn step_line(out: &mut Vec<u8>, src: &[u8], at: usize, len: usize, fwd: u8) {
    let Some(word) = chunk(src, at, len) else {
        // A word wider than the fixed copies: the same text, letter by letter.
        let word = src.get(at..at + len).unwrap_or_default();
        out.extend_from_slice(word);
        out.push(b':');
        for &b in word {
            out.extend_from_slice(&[b' ', b, b'>', shift_any(b, fwd)]);
        }
        out.extend_from_slice(b" -> ");
        out.extend(word.iter().map(|&b| shift_any(b, fwd)));
        out.push(b'\n');
        return;
    };
    let shifted = shift_chunk(word, fwd);
    // " A>B" per letter, built as two arrays of byte pairs (" A", ">B") and interleaved:
    // written this way the compiler vectorises it (about twice as fast as byte quads).
    let mut from = [0u16; WIDTH];
    let mut to = [0u16; WIDTH];
    for (x, &a) in from.iter_mut().zip(word) {
        *x = u16::from_le_bytes([b' ', a]);
    }
    for (y, &b) in to.iter_mut().zip(&shifted) {
        *y = u16::from_le_bytes([b'>', b]);
    }
    let mut steps = [0u8; 4 * WIDTH];
    for ((s, x), y) in steps.chunks_exact_mut(4).zip(from).zip(to) {
        s[..2].copy_from_slice(&x.to_le_bytes());
        s[2..].copy_from_slice(&y.to_le_bytes());
    }
    put_fixed(out, word, len);
    out.push(b':');
    let end = out.len() + 4 * len;
    out.extend_from_slice(&steps);
    out.truncate(end);
    out.extend_from_slice(b" -> ");
    put_fixed(out, &shifted, len);
    out.push(b'\n');
}

/// Writes a step line for every word of `text[start..start + len]` (capital-letter words
/// separated by single spaces, best followed by `WIDTH` bytes of anything), each shifted
/// `fwd` places forward.
fn step_lines(out: &mut Vec<u8>, text: &[u8], start: usize, len: usize, fwd: u8) {
    let end = start + len;
    if text.get(start..end).is_none() {
        step_line(out, text, start, 0, fwd); // as for an empty text: one empty word
        return;
    }
    let mut at = start;
    loop {
        let w = word_len(text, at, end);
        step_line(out, text, at, w, fwd);
        if at + w >= end {
            break;
        }
        at += w + 1;
    }
}

/// Index of the first space in `c`, `WIDTH` if none: eight bytes at a time with the
/// zero-byte test `(x - 0x01..) & !x & 0x80..` on `bytes ^ 0x20..`, whose lowest set bit
/// marks the first zero byte exactly (borrows only make false marks above it).
fn first_space(c: &[u8; WIDTH]) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    let zero_marks = |half: &[u8; 8]| {
        let x = u64::from_le_bytes(*half) ^ (ONES * u64::from(b' '));
        x.wrapping_sub(ONES) & !x & (ONES << 7)
    };
    let (lo, hi) = c.split_at(8);
    let (lo, hi) = (
        lo.first_chunk::<8>().map_or(0, zero_marks),
        hi.first_chunk::<8>().map_or(0, zero_marks),
    );
    if lo != 0 {
        lo.trailing_zeros() as usize / 8
    } else if hi != 0 {
        8 + hi.trailing_zeros() as usize / 8
    } else {
        WIDTH
    }
}

/// Length of the word starting at `text[at]`: up to the next space, or to `end`.
fn word_len(text: &[u8], at: usize, end: usize) -> usize {
    let rest = end.saturating_sub(at);
    if let Some(c) = text.get(at..).and_then(<[u8]>::first_chunk::<WIDTH>) {
        let first = first_space(c);
        if first < WIDTH || rest <= WIDTH {
            return first.min(rest);
        }
    }
    text.get(at..end)
        .unwrap_or_default()
        .iter()
        .position(|&b| b == b' ')
        .unwrap_or(rest)
}

/// `back S: ` for every shift S in 0..26, zero padded to `WIDTH` bytes, with its length:
/// the start of each line of the cracking search, written with one fixed-size copy.
const BACK: [([u8; WIDTH], usize); 26] = {
    let mut table = [([0u8; WIDTH], 0usize); 26];
    let mut s = 0;
    while s < table.len() {
        let mut line = [0u8; WIDTH];
        let mut p = 0;
        while p < 5 {
            line[p] = b"back "[p];
            p += 1;
        }
        if s >= 10 {
            line[p] = b'0' + (s / 10) as u8;
            p += 1;
        }
        line[p] = b'0' + (s % 10) as u8;
        line[p + 1] = b':';
        line[p + 2] = b' ';
        table[s] = (line, p + 3);
        s += 1;
    }
    table
};

/// Appends the decimal digits of a shift (0..100).
fn put_shift(out: &mut Vec<u8>, k: u8) {
    if k >= 10 {
        out.push(b'0' + k / 10 % 10);
    }
    out.push(b'0' + k % 10);
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
        // Every text is written as bytes into one pre-sized buffer (fixed-size copies, no
        // formatting machinery) and checked as UTF-8 once at the end.
        let c = &self.config;
        let n = rng.range_usize(c.min_words, c.max_words);
        // The plain text: `n` list words in capitals, single spaces, then padding.
        // Bit d of a word's mask: the word shifted d places forward is a listed word.
        let entries = ENTRIES.as_slice();
        let count = words::words().len() as u64;
        let mut plain = Vec::with_capacity(n * (INLINE + 1) + WIDTH);
        let (mut first_mask, mut any_zero, mut all) = (0u32, false, !0u32);
        for i in 0..n {
            let w = rng.below(count) as usize;
            // By reference: a copy on the stack, read back in other widths, stalls.
            let e = entries.get(w).unwrap_or(&[0; WIDTH]);
            if i > 0 {
                plain.push(b' ');
            }
            match usize::from(e[INLINE]) {
                0 => {
                    let word = words::words().get(w).copied().unwrap_or("word");
                    plain.extend(word.bytes().map(|b| b.to_ascii_uppercase()));
                }
                len => put_fixed(&mut plain, e, len),
            }
            let m = u32::from_le_bytes([e[12], e[13], e[14], e[15]]);
            if i == 0 {
                first_mask = m;
            }
            any_zero |= i < 3 && m == 0;
            all &= m;
        }
        let plen = plain.len();
        let first_len = plain.iter().position(|&b| b == b' ').unwrap_or(plen);
        plain.extend_from_slice(&[0; WIDTH]);
        let k = 1 + rng.below(u64::from(c.max_shift)) as u8;
        let plain_text = plain.get(..plen).unwrap_or_default();
        let text = |v: Vec<u8>| String::from_utf8(v).map_err(|e| e.to_string());
        let mut thinking =
            Vec::with_capacity(7 * plen + 5 * n + usize::from(k) * 90 + 4 * WIDTH + 200);
        let mut question = Vec::with_capacity(plen + 400);
        if rng.chance(c.encrypt_probability) {
            question.extend_from_slice(b"Encrypt \"");
            question.extend_from_slice(plain_text);
            question.extend_from_slice(b"\" with a Caesar cipher that shifts each letter ");
            put_shift(&mut question, k);
            question.extend_from_slice(b" places forward in the alphabet (Z wraps around to A).");
            question.extend_from_slice(TAILS[0].as_bytes());
            thinking.extend_from_slice(b"Shift each letter forward by ");
            put_shift(&mut thinking, k);
            thinking.extend_from_slice(b", wrapping past Z:\n");
            step_lines(&mut thinking, &plain, 0, plen, k);
            let mut cipher = Vec::with_capacity(plen);
            cipher.extend(plain_text.iter().map(|&b| shift_any(b, k)));
            thinking.extend_from_slice(b"Encrypted: ");
            thinking.extend_from_slice(&cipher);
            let cipher = text(cipher)?;
            return Ok(Problem {
                question: text(question)?,
                answer: gold(&cipher),
                thinking: text(thinking)?,
                final_answer: cipher,
            });
        }
        // Cracking needs a unique decryption; otherwise the shift is stated.
        // A cipher word with no other listed word among its shifts settles uniqueness at
        // once; otherwise every other shift is tried on the whole text.
        // Decoding with back-shift s turns each plain word into that word shifted k - s
        // places forward, so the whole text decodes to words for s != k exactly when every
        // word's mask has bit (k - s) mod 26, one of 1..=25 other than k.
        let crack =
            rng.chance(c.crack_probability) && (any_zero || all & 0x03FF_FFFE & !(1 << k) == 0);
        if crack {
            thinking.extend_from_slice(b"The shift is unknown. Try shifting the first word back by 1, 2, ... until every word becomes an English word:\n");
            // The first word's letters (at most WIDTH of them), shifted d places forward.
            let first = chunk(&plain, 0, 0).copied().unwrap_or([b'?'; WIDTH]);
            let shown = first_len.min(WIDTH);
            for s in 1..=k {
                match BACK.get(usize::from(s)) {
                    Some((line, len)) => put_fixed(&mut thinking, line, *len),
                    None => {
                        thinking.extend_from_slice(b"back ");
                        put_shift(&mut thinking, s);
                        thinking.extend_from_slice(b": ");
                    }
                }
                let d = k - s; // the first plain word shifted d places forward
                put_fixed(&mut thinking, &shift_chunk(&first, d), shown);
                if d != 0 && first_mask & (1 << d) == 0 {
                    thinking.extend_from_slice(b" (not a word)\n");
                } else if s == k {
                    thinking.extend_from_slice(b" (a word; the rest decode to words too)\n");
                } else {
                    thinking.extend_from_slice(
                        b" (a word, but the full text does not decode to words)\n",
                    );
                }
            }
            thinking.extend_from_slice(b"So the shift is ");
            put_shift(&mut thinking, k);
            thinking.extend_from_slice(b". Shift every letter back by ");
            put_shift(&mut thinking, k);
            thinking.extend_from_slice(b":\n");
            question.extend_from_slice(b"This text was encrypted with a Caesar cipher with an unknown shift; the plain text is English words: \"");
        } else {
            thinking.extend_from_slice(b"Shift each letter back by ");
            put_shift(&mut thinking, k);
            thinking.extend_from_slice(b", wrapping past A:\n");
            question.extend_from_slice(
                b"This text was encrypted with a Caesar cipher that shifted each letter ",
            );
            put_shift(&mut question, k);
            question
                .extend_from_slice(b" places forward in the alphabet (Z wraps around to A): \"");
        }
        // The cipher text is written once, into the question, and the step lines read its
        // words from there (the question goes on for more than WIDTH bytes after it).
        let at = question.len();
        question.extend(plain_text.iter().map(|&b| shift_any(b, k)));
        question.extend_from_slice(b"\". Decrypt it.");
        question.extend_from_slice(TAILS[1].as_bytes());
        step_lines(&mut thinking, &question, at, plen, 26 - k);
        thinking.extend_from_slice(b"Decrypted: ");
        thinking.extend_from_slice(plain_text);
        plain.truncate(plen);
        let plain = text(plain)?;
        Ok(Problem {
            question: text(question)?,
            answer: gold(&plain),
            thinking: text(thinking)?,
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
        for b in b'A'..=b'Z' {
            for k in 0..26u8 {
                assert_eq!(shift_any(b, k), shift_cap(b, k));
            }
        }
        assert_eq!(shift_any(b' ', 7), b' ');
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

    #[test]
    fn fixed_width_copies_cover_the_list_and_match_the_slow_path() {
        // Every listed word takes the fixed-size path.
        assert!(words::words().iter().all(|w| w.len() <= WIDTH));
        assert!(words::words().iter().all(|w| w.len() <= INLINE));
        for ((w, e), m) in words::words()
            .iter()
            .zip(ENTRIES.iter())
            .zip(words::shift_masks())
        {
            let len = usize::from(e[INLINE]);
            assert_eq!(e.get(..len), Some(w.to_ascii_uppercase().as_bytes()));
            assert_eq!(u32::from_le_bytes([e[12], e[13], e[14], e[15]]), *m);
        }
        // The fixed-size step line equals the letter-by-letter one (taken for words wider
        // than WIDTH, and for a buffer without padding).
        for word in ["A", "ZEBRA", "QUIZZICALLY", "ABCDEFGHIJKLMNOP"] {
            for fwd in [0u8, 1, 13, 25] {
                let padded = [word.as_bytes(), &[0; WIDTH]].concat();
                let (mut fast, mut slow) = (Vec::new(), Vec::new());
                step_line(&mut fast, &padded, 0, word.len(), fwd);
                step_line(&mut slow, word.as_bytes(), 0, word.len(), fwd);
                assert_eq!(fast, slow, "{word} {fwd}");
                let shifted = shift_text(word, fwd);
                let steps: String = word
                    .bytes()
                    .zip(shifted.bytes())
                    .map(|(a, b)| format!(" {}>{}", char::from(a), char::from(b)))
                    .collect();
                assert_eq!(
                    String::from_utf8(fast).unwrap(),
                    format!("{word}:{steps} -> {shifted}\n")
                );
            }
        }
        for (s, (line, len)) in BACK.iter().enumerate() {
            assert_eq!(line.get(..*len), Some(format!("back {s}: ").as_bytes()));
        }
        // first_space agrees with a plain search, whatever the other bytes are.
        let mut r = TaskRng::from_seed(5);
        for _ in 0..20_000 {
            let mut c = [0u8; WIDTH];
            for b in &mut c {
                *b = match r.below(4) {
                    0 => b' ',
                    1 => b'!', // 0x21 and 0x1f sit next to the space
                    2 => 0x1f,
                    _ => r.below(256) as u8,
                };
            }
            let expected = c.iter().position(|&b| b == b' ').unwrap_or(WIDTH);
            assert_eq!(first_space(&c), expected, "{c:?}");
        }
        // Word boundaries: the same lines as splitting on spaces, with or without padding,
        // for words longer than WIDTH, empty words and text cut short by `len`.
        for text in [
            "A",
            "AB CD",
            "ABCDEFGHIJKLMNOPQRST B",
            "A  B ",
            " X",
            "HELLO WORLD",
        ] {
            for cut in [0, 1, text.len() / 2, text.len()] {
                let expected: Vec<u8> = text[..cut]
                    .split(' ')
                    .flat_map(|w| {
                        let mut line = Vec::new();
                        step_line(&mut line, w.as_bytes(), 0, w.len(), 5);
                        line
                    })
                    .collect();
                for tail in [
                    "",
                    "\". Decrypt it. Answer with the plain text in capitals.",
                ] {
                    let buf = [text.as_bytes(), tail.as_bytes()].concat();
                    let mut out = Vec::new();
                    step_lines(&mut out, &buf, 0, cut, 5);
                    assert_eq!(out, expected, "{text:?} cut {cut} tail {tail:?}");
                }
            }
        }
        let long = "ABCDEFGHIJKLMNOPQRSTUVWXYZ ABC";
        let padded = [long.as_bytes(), &[0; WIDTH]].concat();
        let mut out = Vec::new();
        step_lines(&mut out, &padded, 0, long.len(), 1);
        assert_eq!(
            String::from_utf8(out)
                .unwrap()
                .lines()
                .map(|l| l.rsplit(' ').next().unwrap_or(""))
                .collect::<Vec<_>>(),
            ["BCDEFGHIJKLMNOPQRSTUVWXYZA", "BCD"]
        );
    }
}
