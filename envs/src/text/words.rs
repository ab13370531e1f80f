//! The shipped word list (`envs/data/text_words.txt`, ~2,000 common lower-case English
//! words written for this project) and the draws the character-level families make from it.

use crate::rng::TaskRng;
use std::sync::OnceLock;

const RAW: &str = include_str!("../../data/text_words.txt");

/// The word list, parsed once: lower-case ASCII words, 3..=11 letters, sorted.
pub fn words() -> &'static [&'static str] {
    static WORDS: OnceLock<Vec<&'static str>> = OnceLock::new();
    WORDS.get_or_init(|| {
        RAW.lines()
            .map(str::trim)
            .filter(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase()))
            .collect()
    })
}

/// Packs a lower-case word of at most 12 letters into a u64, 5 bits a letter (letters
/// are 1..=26, so different words get different keys); `None` for anything else.
pub fn key(bytes: impl IntoIterator<Item = u8>) -> Option<u64> {
    let mut k = 0u64;
    for (n, b) in bytes.into_iter().enumerate() {
        if !b.is_ascii_lowercase() || n == 12 {
            return None;
        }
        k = k << 5 | u64::from(b - b'a' + 1);
    }
    Some(k)
}

/// Slots of the key table: a power of two at least twice the list's size.
const KEY_SLOTS: usize = 1 << 12;

/// Bits of the membership prefilter (8 KiB, stays in L1): bit `filter_bit(k)` is set for
/// every listed key, so most non-words are rejected by one load.
const FILTER_BITS: usize = 1 << 16;

fn filter_bit(k: u64) -> usize {
    (k.wrapping_mul(0xD6E8_FEB8_6659_FD93) >> (64 - FILTER_BITS.trailing_zeros())) as usize
}

fn filter() -> &'static [u64] {
    static FILTER: OnceLock<Vec<u64>> = OnceLock::new();
    FILTER.get_or_init(|| {
        let mut f = vec![0u64; FILTER_BITS / 64];
        for k in words().iter().filter_map(|w| key(w.bytes())) {
            let b = filter_bit(k);
            f[b / 64] |= 1 << (b % 64);
        }
        f
    })
}

/// The list's keys in an open-addressing table (linear probing, 0 = empty slot; keys are
/// never 0): membership is one multiply and a probe or two, no string compares.
fn key_table() -> &'static [u64] {
    static TABLE: OnceLock<Vec<u64>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut t = vec![0u64; KEY_SLOTS];
        for k in words().iter().filter_map(|w| key(w.bytes())) {
            let mut i = slot(k);
            while t[i] != 0 && t[i] != k {
                i = (i + 1) & (KEY_SLOTS - 1);
            }
            t[i] = k;
        }
        t
    })
}

/// Home slot of a key (Fibonacci hashing).
fn slot(k: u64) -> usize {
    (k.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - KEY_SLOTS.trailing_zeros())) as usize
}

/// Whether the packed word `k` is in the list.
pub fn is_word_key(k: u64) -> bool {
    if k == 0 {
        return false; // the empty word (and the empty-slot marker)
    }
    let b = filter_bit(k);
    if filter()
        .get(b / 64)
        .is_none_or(|w| w & (1 << (b % 64)) == 0)
    {
        return false;
    }
    let t = key_table();
    let mut i = slot(k);
    loop {
        match t.get(i) {
            Some(&x) if x == k => return true,
            Some(&0) | None => return false,
            Some(_) => i = (i + 1) & (KEY_SLOTS - 1),
        }
    }
}

/// The Caesar-shift invariant of a word: its length and the alphabet distances between
/// neighbouring letters. Two words are shifts of each other exactly when these agree.
pub fn shift_signature(bytes: &[u8]) -> u64 {
    let mut k = 0u64;
    for w in bytes.windows(2) {
        let d = (u64::from(w[1]) + 26 - u64::from(w[0])) % 26;
        k = k.wrapping_mul(26).wrapping_add(d);
    }
    k.wrapping_mul(16).wrapping_add(bytes.len() as u64 % 16)
}

/// How many listed words are Caesar shifts of `bytes` (same case throughout).
pub fn shift_class_size(bytes: &[u8]) -> usize {
    static SIGS: OnceLock<Vec<u64>> = OnceLock::new();
    let sigs = SIGS.get_or_init(|| {
        let mut v: Vec<u64> = words()
            .iter()
            .map(|w| shift_signature(w.as_bytes()))
            .collect();
        v.sort_unstable();
        v
    });
    let sig = shift_signature(bytes);
    sigs.partition_point(|x| *x <= sig) - sigs.partition_point(|x| *x < sig)
}

/// Whether `w` is in the list.
pub fn is_word(w: &str) -> bool {
    key(w.bytes()).is_some_and(is_word_key)
}

/// One uniformly drawn word.
pub fn word(rng: &mut TaskRng) -> &'static str {
    rng.choose(words()).copied().unwrap_or("word")
}

/// The list grouped by length: `by_len()[n]` holds the words of `n` letters.
fn by_len() -> &'static [Vec<&'static str>] {
    static BY_LEN: OnceLock<Vec<Vec<&'static str>>> = OnceLock::new();
    BY_LEN.get_or_init(|| {
        let mut v: Vec<Vec<&'static str>> = vec![Vec::new(); LONGEST + 1];
        for w in words() {
            if let Some(b) = v.get_mut(w.len()) {
                b.push(w);
            }
        }
        v
    })
}

/// Longest word length the grouped draw serves.
const LONGEST: usize = 11;

/// A word of exactly `n` letters, if the list has one.
fn exact(rng: &mut TaskRng, n: usize) -> Option<&'static str> {
    by_len().get(n).and_then(|b| rng.choose(b)).copied()
}

/// A word of `min..=max` letters (the length drawn uniformly among those the list has);
/// any word if none fits.
pub fn word_len(rng: &mut TaskRng, min: usize, max: usize) -> &'static str {
    let lens: Vec<usize> = (min..=max.min(LONGEST))
        .filter(|n| by_len().get(*n).is_some_and(|b| !b.is_empty()))
        .collect();
    match rng.choose(&lens) {
        Some(n) => exact(rng, *n).unwrap_or("word"),
        None => word(rng),
    }
}

/// A letter string of `min..=max` letters: one list word when the drawn length has one,
/// else several words run together ("applebridge"); truncated only as a last resort.
pub fn letters(rng: &mut TaskRng, min: usize, max: usize) -> String {
    let (min, max) = (min.max(1), max.max(min.max(1)));
    let target = rng.range_usize(min, max);
    let mut s = String::with_capacity(target + LONGEST);
    for _ in 0..64 {
        let left = target.saturating_sub(s.len());
        if left == 0 {
            break;
        }
        if let Some(w) = exact(rng, left) {
            s.push_str(w);
            break;
        }
        // Leave at least three letters for the last word.
        let w = if left > 6 {
            word_len(rng, 3, (left - 3).min(8))
        } else {
            word(rng)
        };
        s.push_str(w);
    }
    s.truncate(max);
    s
}

/// For each listed word (by index in [`words`]), bit `s` (1..=25) is set when the word
/// with every letter shifted `s` places forward (wrapping z to a) is also listed. A word
/// has no other listed Caesar shift exactly when its mask is 0.
pub fn shift_masks() -> &'static [u32] {
    static MASKS: OnceLock<Vec<u32>> = OnceLock::new();
    MASKS.get_or_init(|| {
        words()
            .iter()
            .map(|w| {
                (1..26u8).fold(0u32, |m, s| {
                    let shifted = w.bytes().map(|b| b'a' + (b - b'a' + s) % 26);
                    if key(shifted).is_some_and(is_word_key) {
                        m | 1 << s
                    } else {
                        m
                    }
                })
            })
            .collect()
    })
}

/// `n` uniformly drawn word indices into [`words`] (the same draws as [`sentence`]).
pub fn draw_indices(rng: &mut TaskRng, n: usize) -> Vec<usize> {
    let len = words().len() as u64;
    (0..n).map(|_| rng.below(len) as usize).collect()
}

/// `n` uniformly drawn words (the same draws as [`sentence`]).
pub fn draw(rng: &mut TaskRng, n: usize) -> Vec<&'static str> {
    let list = words();
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        out.push(rng.choose(list).copied().unwrap_or("word"));
    }
    out
}

/// `words` joined by single spaces, in a buffer with `extra` bytes of spare room.
pub fn join(words: &[&str], extra: usize) -> String {
    let len = words.iter().map(|w| w.len() + 1).sum::<usize>();
    let mut s = String::with_capacity(len + extra);
    for (i, w) in words.iter().enumerate() {
        if i > 0 {
            s.push(' ');
        }
        s.push_str(w);
    }
    s
}

/// `n` words joined by single spaces.
pub fn sentence(rng: &mut TaskRng, n: usize) -> String {
    let mut s = String::with_capacity(n * 7);
    for i in 0..n {
        if i > 0 {
            s.push(' ');
        }
        s.push_str(word(rng));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_is_sorted_lowercase_and_large() {
        let w = words();
        assert!(w.len() >= 2000, "{}", w.len());
        assert!(w.windows(2).all(|p| p[0] < p[1]), "sorted, no duplicates");
        assert!(is_word("strawberry") && !is_word("strawbery"));
        assert!(w.iter().all(|x| is_word(x)));
        assert!(!is_word("") && !is_word("zzzzq") && !is_word("Apple"));
    }

    #[test]
    fn letters_stay_in_range() {
        let mut rng = TaskRng::from_seed(1);
        for (lo, hi) in [(3, 5), (8, 12), (20, 30), (1, 1)] {
            for _ in 0..200 {
                let s = letters(&mut rng, lo, hi);
                assert!((lo..=hi).contains(&s.len()), "{s} not in {lo}..={hi}");
            }
        }
    }
}
