//! Strict answer parsers shared by the algorithmic and character-level families: integer
//! lists, matrices, letter sequences, words, and the gold-spec readers.
//!
//! Our own small parsers (no evaluation of model text): they accept the usual notations
//! of one answer (`1, 2, 3`, `[1 2 3]`, one matrix row per line or `[[1,2],[3,4]]`) and
//! reject anything else, so there is no substring credit. Work is linear in the input,
//! which the format parser already caps at 64 KiB.

use verigym_verifiers::{Verdict, VerifyError};

/// Most items any list answer may have; longer answers are rejected before allocating.
pub const MAX_ITEMS: usize = 4096;

/// The first 200 characters of an answer, for `Verdict::extracted`.
pub fn excerpt(s: &str) -> String {
    s.chars().take(200).collect()
}

/// A wrong verdict carrying an excerpt of the answer.
pub fn wrong(answer: &str, reason: impl Into<String>) -> Verdict {
    Verdict::wrong(Some(excerpt(answer)), reason)
}

/// Removes one layer of common wrappers around a whole answer: `**x**`, `` `x` ``,
/// `"x"`, `'x'`, `$x$`, `\boxed{x}`, and a trailing period.
pub fn clean(s: &str) -> &str {
    let mut s = s.trim();
    for _ in 0..4 {
        let before = s;
        for (open, close) in [
            ("**", "**"),
            ("`", "`"),
            ("\"", "\""),
            ("'", "'"),
            ("$", "$"),
            ("\\boxed{", "}"),
        ] {
            if s.len() >= open.len() + close.len() {
                if let Some(inner) = s.strip_prefix(open).and_then(|t| t.strip_suffix(close)) {
                    s = inner.trim();
                }
            }
        }
        if let Some(inner) = s.strip_suffix('.') {
            s = inner.trim_end();
        }
        if s == before {
            break;
        }
    }
    s
}

/// One strict integer token: optional sign, 1..=18 ASCII digits.
pub fn parse_int(tok: &str) -> Option<i64> {
    let digits = tok.strip_prefix(['-', '+']).unwrap_or(tok);
    if digits.is_empty() || digits.len() > 18 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    tok.parse().ok()
}

/// Whether the answer says "the result is empty".
pub fn is_empty_marker(s: &str) -> bool {
    let s = clean(s);
    [
        "none",
        "empty",
        "[]",
        "{}",
        "()",
        "∅",
        "empty set",
        "nothing",
    ]
    .iter()
    .any(|m| s.eq_ignore_ascii_case(m))
}

/// Splits on commas and whitespace, dropping empty pieces.
fn tokens(s: &str) -> impl Iterator<Item = &str> {
    s.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|t| !t.is_empty())
}

/// Strips one pair of surrounding brackets: `[..]`, `(..)` or `{..}`.
fn unbracket(s: &str) -> &str {
    let s = s.trim();
    for (o, c) in [('[', ']'), ('(', ')'), ('{', '}')] {
        if let Some(inner) = s.strip_prefix(o).and_then(|t| t.strip_suffix(c)) {
            return inner.trim();
        }
    }
    s
}

/// A non-empty list of integers separated by commas and/or whitespace, optionally in
/// brackets: `1, 2, 3`, `[1,2,3]`, `1 2 3`.
pub fn parse_int_list(s: &str) -> Option<Vec<i64>> {
    let inner = unbracket(clean(s));
    let mut out = Vec::new();
    for t in tokens(inner) {
        if out.len() >= MAX_ITEMS {
            return None;
        }
        out.push(parse_int(t)?);
    }
    (!out.is_empty()).then_some(out)
}

/// A rectangular integer matrix: one row per line (or rows separated by `;`), entries
/// separated by spaces or commas, each row optionally bracketed; or `[[1,2],[3,4]]`.
pub fn parse_matrix(s: &str) -> Option<Vec<Vec<i64>>> {
    let s = clean(s);
    let rows: Vec<&str> = if s.starts_with("[[") || s.starts_with("[ [") {
        let inner = s.strip_prefix('[')?.strip_suffix(']')?;
        let mut rows = Vec::new();
        for piece in inner.split(']') {
            let piece = piece.trim().trim_start_matches(',').trim();
            if piece.is_empty() {
                continue;
            }
            rows.push(piece.strip_prefix('[')?);
        }
        rows
    } else {
        s.split(['\n', ';'])
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .collect()
    };
    if rows.is_empty() || rows.len() > MAX_ITEMS {
        return None;
    }
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let row = parse_int_list(r)?;
        if out.first().is_some_and(|f: &Vec<i64>| f.len() != row.len()) {
            return None;
        }
        out.push(row);
    }
    Some(out)
}

/// A sequence of single ASCII letters separated by whitespace, commas or hyphens
/// (`s t r a w`, `s, t, r`, `s-t-r`), lower-cased. `None` if any piece is not one letter.
pub fn parse_letters(s: &str) -> Option<Vec<u8>> {
    let s = unbracket(clean(s));
    let mut out = Vec::new();
    for t in s
        .split(|c: char| c == ',' || c == '-' || c.is_whitespace())
        .filter(|t| !t.is_empty())
    {
        let t = clean(t);
        let b = t.as_bytes();
        if b.len() != 1 || !b[0].is_ascii_alphabetic() || out.len() >= MAX_ITEMS {
            return None;
        }
        out.push(b[0].to_ascii_lowercase());
    }
    (!out.is_empty()).then_some(out)
}

/// One word of ASCII letters, lower-cased; also accepts the letters spaced out.
pub fn parse_word(s: &str) -> Option<Vec<u8>> {
    let c = clean(s);
    if !c.is_empty() && c.bytes().all(|b| b.is_ascii_alphabetic()) {
        return Some(c.bytes().map(|b| b.to_ascii_lowercase()).collect());
    }
    parse_letters(s)
}

/// Words of ASCII letters separated by whitespace (commas allowed), lower-cased.
pub fn parse_words(s: &str) -> Option<Vec<String>> {
    let mut out = Vec::new();
    for t in tokens(clean(s)) {
        let t = t.trim_matches(['"', '\'', '`']);
        if t.is_empty() || !t.bytes().all(|b| b.is_ascii_alphabetic()) || out.len() >= MAX_ITEMS {
            return None;
        }
        out.push(t.to_ascii_lowercase());
    }
    (!out.is_empty()).then_some(out)
}

fn bad_gold(what: &str) -> VerifyError {
    VerifyError::InvalidGold(format!("expected field '{what}'"))
}

/// Reads a string field of the gold spec.
pub fn gold_str<'a>(gold: &'a serde_json::Value, key: &str) -> Result<&'a str, VerifyError> {
    gold.get(key)
        .and_then(|v| v.as_str())
        .ok_or_else(|| bad_gold(key))
}

/// Reads an integer field of the gold spec.
pub fn gold_i64(gold: &serde_json::Value, key: &str) -> Result<i64, VerifyError> {
    gold.get(key)
        .and_then(|v| v.as_i64())
        .ok_or_else(|| bad_gold(key))
}

/// Reads an integer-array field of the gold spec.
pub fn gold_ints(gold: &serde_json::Value, key: &str) -> Result<Vec<i64>, VerifyError> {
    gold.get(key)
        .and_then(|v| v.as_array())
        .ok_or_else(|| bad_gold(key))?
        .iter()
        .map(|v| v.as_i64().ok_or_else(|| bad_gold(key)))
        .collect()
}

/// Reads an integer-matrix field of the gold spec.
pub fn gold_matrix(gold: &serde_json::Value, key: &str) -> Result<Vec<Vec<i64>>, VerifyError> {
    gold.get(key)
        .and_then(|v| v.as_array())
        .ok_or_else(|| bad_gold(key))?
        .iter()
        .map(|row| {
            row.as_array()
                .ok_or_else(|| bad_gold(key))?
                .iter()
                .map(|v| v.as_i64().ok_or_else(|| bad_gold(key)))
                .collect()
        })
        .collect()
}

/// Reads a string-array field of the gold spec.
pub fn gold_strs<'a>(gold: &'a serde_json::Value, key: &str) -> Result<Vec<&'a str>, VerifyError> {
    gold.get(key)
        .and_then(|v| v.as_array())
        .ok_or_else(|| bad_gold(key))?
        .iter()
        .map(|v| v.as_str().ok_or_else(|| bad_gold(key)))
        .collect()
}

/// Joins integers with `sep`.
pub fn join_ints(v: &[i64], sep: &str) -> String {
    let mut s = String::with_capacity(v.len() * 4);
    for (i, x) in v.iter().enumerate() {
        if i > 0 {
            s.push_str(sep);
        }
        push_int(&mut s, *x);
    }
    s
}

/// Appends an integer without going through `format!` (hot in generators).
pub fn push_int(s: &mut String, x: i64) {
    if (0..10).contains(&x) {
        s.push(char::from(b'0' + x as u8));
        return;
    }
    let mut buf = [0u8; 20];
    let mut n = x.unsigned_abs();
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if x < 0 {
        s.push('-');
    }
    // ASCII digits only, so the conversion cannot fail.
    s.push_str(std::str::from_utf8(&buf[i..]).unwrap_or(""));
}

/// The gold spec `{key: value}` for a family whose gold is one string (built directly,
/// without the `json!` machinery).
pub fn str_gold(key: &str, value: &str) -> serde_json::Value {
    let mut m = serde_json::Map::new();
    m.insert(key.to_owned(), serde_json::Value::String(value.to_owned()));
    serde_json::Value::Object(m)
}

/// Appends `v` in binary, zero-padded to `width` digits.
pub fn push_bin(s: &mut String, v: u64, width: u32) {
    let n = (64 - v.leading_zeros()).max(width).max(1);
    for i in (0..n).rev() {
        s.push(if (v >> i) & 1 == 1 { '1' } else { '0' });
    }
}

/// A matrix written one row per line, entries separated by spaces.
pub fn matrix_text(m: &[Vec<i64>]) -> String {
    m.iter()
        .map(|r| join_ints(r, " "))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_parse_in_usual_notations_only() {
        assert_eq!(parse_int_list("1, -2, 3"), Some(vec![1, -2, 3]));
        assert_eq!(parse_int_list("[1,2 ,3]"), Some(vec![1, 2, 3]));
        assert_eq!(parse_int_list("**4 5**"), Some(vec![4, 5]));
        for bad in ["", "[]", "1, 2, x", "1 or 2", "1.5", "0x3", "1,2;3"] {
            assert_eq!(parse_int_list(bad), None, "{bad:?}");
        }
        assert!(parse_int_list(&"1,".repeat(MAX_ITEMS + 1)).is_none());
    }

    #[test]
    fn matrices_parse_lines_semicolons_and_nested_brackets() {
        let m = Some(vec![vec![1, 2], vec![3, 4]]);
        assert_eq!(parse_matrix("1 2\n3 4"), m);
        assert_eq!(parse_matrix("1, 2; 3, 4"), m);
        assert_eq!(parse_matrix("[[1, 2], [3, 4]]"), m);
        assert_eq!(parse_matrix("[1 2]\n[3 4]"), m);
        assert_eq!(parse_matrix("1 2\n3"), None);
        assert_eq!(parse_matrix("[[1, 2], [3, x]]"), None);
    }

    #[test]
    fn letters_and_words() {
        assert_eq!(parse_letters("S t-r, a"), Some(b"stra".to_vec()));
        assert_eq!(parse_letters("st r"), None);
        assert_eq!(parse_word("\"Tac\""), Some(b"tac".to_vec()));
        assert_eq!(parse_word("t a c"), Some(b"tac".to_vec()));
        assert_eq!(parse_word("ta c1"), None);
        assert_eq!(
            parse_words("Hello  world"),
            Some(vec!["hello".into(), "world".into()])
        );
        assert!(is_empty_marker("None.") && !is_empty_marker("no"));
    }

    #[test]
    fn push_int_matches_display() {
        for x in [0, 7, -7, 1234567, i64::MIN, i64::MAX] {
            let mut s = String::new();
            push_int(&mut s, x);
            assert_eq!(s, x.to_string());
        }
    }
}
