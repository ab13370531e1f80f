//! Reading a model's answer: the one normalisation every domain applies (`\boxed{}`, bold,
//! quotes, `$…$`, a trailing period), rejection verdicts that carry an excerpt and a reason,
//! and strict parsers for the usual notations of one answer (integer lists, matrices,
//! letters, words, grids).
//!
//! The parsers are our own and small (no evaluation of model text): they accept the usual
//! ways of writing one answer and reject anything else, so there is no substring credit.
//! Work is linear in the input, which the format parser already caps at 64 KiB.

use verigym_verifiers::Verdict;

/// Most items any list answer may have; longer answers are rejected before allocating.
pub const MAX_ITEMS: usize = 4096;

/// The first 200 characters of an answer, for `Verdict::extracted`.
pub fn excerpt(answer: &str) -> String {
    answer.chars().take(200).collect()
}

/// A wrong verdict carrying an excerpt of the answer and the reason it was rejected.
pub fn reject(answer: &str, reason: impl Into<String>) -> Verdict {
    Verdict::wrong(Some(excerpt(answer)), reason)
}

/// The answer without the wrappers models put around a whole answer: `**x**`, `` `x` ``,
/// `"x"`, `'x'`, `$x$`, `\(x\)`, `\[x\]`, `\boxed{x}` and a trailing period, up to four
/// layers deep (`**\boxed{7}**.`), with surrounding whitespace trimmed.
pub fn unwrap_answer(answer: &str) -> &str {
    const WRAPPERS: [(&str, &str); 8] = [
        ("**", "**"),
        ("`", "`"),
        ("\"", "\""),
        ("'", "'"),
        ("$", "$"),
        ("\\(", "\\)"),
        ("\\[", "\\]"),
        ("\\boxed{", "}"),
    ];
    let mut s = answer.trim();
    for _ in 0..4 {
        let before = s;
        for (open, close) in WRAPPERS {
            if let Some(inner) = s.strip_prefix(open).and_then(|t| t.strip_suffix(close)) {
                s = inner.trim();
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
pub fn is_empty_marker(answer: &str) -> bool {
    let s = unwrap_answer(answer);
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

/// Splits a list on commas and whitespace, dropping empty pieces.
fn list_items(s: &str) -> impl Iterator<Item = &str> {
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
    let inner = unbracket(unwrap_answer(s));
    let mut out = Vec::new();
    for t in list_items(inner) {
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
    let s = unwrap_answer(s);
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
    let s = unbracket(unwrap_answer(s));
    let mut out = Vec::new();
    for t in s
        .split(|c: char| c == ',' || c == '-' || c.is_whitespace())
        .filter(|t| !t.is_empty())
    {
        let t = unwrap_answer(t);
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
    let c = unwrap_answer(s);
    if !c.is_empty() && c.bytes().all(|b| b.is_ascii_alphabetic()) {
        return Some(c.bytes().map(|b| b.to_ascii_lowercase()).collect());
    }
    parse_letters(s)
}

/// Words of ASCII letters separated by whitespace (commas allowed), lower-cased.
pub fn parse_words(s: &str) -> Option<Vec<String>> {
    let mut out = Vec::new();
    for t in list_items(unwrap_answer(s)) {
        let t = t.trim_matches(['"', '\'', '`']);
        if t.is_empty() || !t.bytes().all(|b| b.is_ascii_alphabetic()) || out.len() >= MAX_ITEMS {
            return None;
        }
        out.push(t.to_ascii_lowercase());
    }
    (!out.is_empty()).then_some(out)
}

/// Splits an answer into tokens at whitespace, commas, semicolons and arrows (`->`, `→`):
/// the moves, cells or names of a puzzle answer.
pub fn tokens(answer: &str) -> Vec<&str> {
    answer
        .split(|c: char| c.is_whitespace() || c == ',' || c == ';' || c == '→')
        .flat_map(|t| t.split("->"))
        .filter(|t| !t.is_empty())
        .collect()
}

/// Reads a grid answer: one row per line; spaces, `|` and `,` inside a row are ignored, and
/// lines made only of `-`, `+`, `=`, `|` and spaces (drawn separators) are skipped. A single
/// line whose cell count is `width * height` is read row by row. Returns `None` when the
/// shape is not `height` rows of `width` cells.
pub fn read_grid(answer: &str, width: usize, height: usize) -> Option<Vec<Vec<char>>> {
    let mut rows: Vec<Vec<char>> = Vec::new();
    for line in answer.lines() {
        let line = line.trim();
        if line.is_empty() || line.chars().all(|c| "-+=| ".contains(c)) {
            continue;
        }
        let cells: Vec<char> = line
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '|' && *c != ',')
            .collect();
        rows.push(cells);
        if rows.len() > height {
            return None;
        }
    }
    if rows.len() == 1 && height > 1 {
        let flat = rows.pop()?;
        if flat.len() != width * height {
            return None;
        }
        rows = flat.chunks(width).map(|c| c.to_vec()).collect();
    }
    (rows.len() == height && rows.iter().all(|r| r.len() == width)).then_some(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrappers_come_off_in_every_combination() {
        for wrapped in [
            "42",
            " 42 ",
            "**42**",
            "`42`",
            "\"42\"",
            "'42'",
            "$42$",
            "\\(42\\)",
            "\\[42\\]",
            "\\boxed{42}",
            "42.",
            "**\\boxed{42}**.",
            "$\\boxed{42}$",
        ] {
            assert_eq!(unwrap_answer(wrapped), "42", "{wrapped:?}");
        }
        // Only whole-answer wrappers: a wrapper around part of the answer stays.
        assert_eq!(unwrap_answer("**4** and 2"), "**4** and 2");
        assert_eq!(unwrap_answer("3.5"), "3.5");
        assert_eq!(unwrap_answer("$"), "$");
        assert_eq!(unwrap_answer("**"), "**");
        assert_eq!(unwrap_answer(""), "");
    }

    #[test]
    fn rejections_carry_a_short_excerpt() {
        let v = reject(&"x".repeat(500), "too long");
        assert_eq!(v.extracted.as_deref().map(str::len), Some(200));
        assert!(!v.correct && v.reward == 0.0);
    }

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
    fn grid_reader_accepts_drawn_and_flat_grids() {
        let g = read_grid("1 2 | 3 4\n---+---\n3 4 | 1 2", 4, 2).unwrap();
        assert_eq!(g[1], vec!['3', '4', '1', '2']);
        assert_eq!(read_grid("1234", 2, 2).unwrap()[1], vec!['3', '4']);
        assert!(read_grid("12\n34\n12", 2, 2).is_none());
        assert!(read_grid("12\n345", 2, 2).is_none());
        assert_eq!(tokens("a -> b, c→d; e"), vec!["a", "b", "c", "d", "e"]);
    }
}
