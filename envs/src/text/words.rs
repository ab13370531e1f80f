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

/// Whether `w` is in the list (which is sorted, a test checks).
pub fn is_word(w: &str) -> bool {
    words().binary_search(&w).is_ok()
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

/// `n` uniformly drawn words (the same draws as [`sentence`]).
pub fn draw(rng: &mut TaskRng, n: usize) -> Vec<&'static str> {
    (0..n).map(|_| word(rng)).collect()
}

/// `n` words joined by single spaces.
pub fn sentence(rng: &mut TaskRng, n: usize) -> String {
    draw(rng, n).join(" ")
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
