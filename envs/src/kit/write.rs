//! Writing the numbers, lists and grids that prompts and reference solutions show.

use std::fmt::Write;

/// Appends a number in decimal, for writers that build a line piece by piece.
pub fn push_int(s: &mut String, x: impl std::fmt::Display) {
    let _ = write!(s, "{x}");
}

/// Integers joined by `sep`: `join_ints(&[1, 2], ", ")` is `1, 2`.
pub fn join_ints(values: &[i64], sep: &str) -> String {
    let mut s = String::new();
    for (i, x) in values.iter().enumerate() {
        if i > 0 {
            s.push_str(sep);
        }
        let _ = write!(s, "{x}");
    }
    s
}

/// A matrix written one row per line, entries separated by spaces.
pub fn matrix_text(m: &[Vec<i64>]) -> String {
    m.iter()
        .map(|row| join_ints(row, " "))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Appends `v` in binary, zero-padded to `width` digits.
pub fn push_bin(s: &mut String, v: u64, width: u32) {
    let _ = write!(s, "{v:0width$b}", width = width.max(1) as usize);
}

/// Spreadsheet-style label, used to name people and items: 0 -> A, 25 -> Z, 26 -> AA.
pub fn letter_name(mut i: usize) -> String {
    let mut letters = Vec::new();
    loop {
        letters.push(char::from(b'A' + (i % 26) as u8));
        if i < 26 {
            break;
        }
        i = i / 26 - 1;
    }
    letters.iter().rev().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writers_match_their_examples() {
        assert_eq!(join_ints(&[1, -2, 30], ", "), "1, -2, 30");
        assert_eq!(join_ints(&[], " "), "");
        assert_eq!(matrix_text(&[vec![1, 2], vec![3, 4]]), "1 2\n3 4");
        for (v, w, want) in [(5u64, 4u32, "0101"), (0, 0, "0"), (255, 3, "11111111")] {
            let mut s = String::new();
            push_bin(&mut s, v, w);
            assert_eq!(s, want);
        }
        assert_eq!(letter_name(0), "A");
        assert_eq!(letter_name(25), "Z");
        assert_eq!(letter_name(26), "AA");
        assert_eq!(letter_name(27), "AB");
        assert_eq!(letter_name(26 * 27), "AAA");
    }
}
