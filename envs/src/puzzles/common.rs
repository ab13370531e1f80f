//! Shared helpers of the puzzle and logic families: gold decoding, rejection verdicts,
//! a tolerant-but-strict grid reader, a size-bounded chain-of-thought builder, and the
//! allocation-lean text builders generation uses (template filling, integer pushing).
//!
//! The chain of thought must fit the completion limit (`MAX_COMPLETION_BYTES`), so every
//! trace is written through [`Trace`], which stops recording at a byte budget and says so.

use serde::de::DeserializeOwned;
use verigym_verifiers::{Verdict, VerifyError};

/// Bytes of chain of thought a reference solution may use (the completion limit is 64 KiB;
/// the answer and the tags need the rest).
pub const THINKING_BUDGET: usize = 40 * 1024;

/// Decodes the gold spec of a family.
pub fn read_gold<T: DeserializeOwned>(gold: &serde_json::Value) -> Result<T, VerifyError> {
    T::deserialize(gold).map_err(|e| VerifyError::InvalidGold(e.to_string()))
}

/// The first 200 characters of an answer, for the verdict's `extracted` field.
pub fn snippet(answer: &str) -> Option<String> {
    Some(answer.chars().take(200).collect())
}

/// A rejection carrying the answer snippet.
pub fn reject(answer: &str, reason: impl Into<String>) -> Verdict {
    Verdict::wrong(snippet(answer), reason)
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

/// Splits an answer into tokens at whitespace, commas, semicolons and arrows.
pub fn tokens(answer: &str) -> Vec<&str> {
    answer
        .split(|c: char| c.is_whitespace() || c == ',' || c == ';' || c == '→')
        .flat_map(|t| t.split("->"))
        .filter(|t| !t.is_empty())
        .collect()
}

/// A chain of thought that stops growing at a byte budget: lines go straight into one
/// buffer; once a line would pass the budget, it and every later line are dropped (and
/// counted), so the recorded part is always a prefix of the search.
pub struct Trace {
    text: String,
    budget: usize,
    dropped: usize,
}

impl Trace {
    pub fn new() -> Self {
        Self::with_budget(THINKING_BUDGET)
    }

    pub fn with_budget(budget: usize) -> Self {
        Trace {
            text: String::with_capacity(budget.min(1024)),
            budget,
            dropped: 0,
        }
    }

    /// Appends a line unless the budget is spent (then counts it as dropped).
    pub fn push(&mut self, line: impl AsRef<str>) {
        self.write(format_args!("{}", line.as_ref()));
    }

    /// Appends a formatted line without an intermediate allocation.
    pub fn write(&mut self, args: std::fmt::Arguments) {
        self.line(|text| {
            let _ = std::fmt::Write::write_fmt(text, args);
        });
    }

    /// Appends a line written by `f` straight into the buffer (no formatting machinery),
    /// under the same budget rule as [`Trace::write`].
    pub fn line(&mut self, f: impl FnOnce(&mut String)) {
        if self.dropped > 0 {
            self.dropped += 1;
            return;
        }
        let mark = self.text.len();
        if mark > 0 {
            self.text.push('\n');
        }
        f(&mut self.text);
        if self.text.len() > self.budget {
            self.text.truncate(mark);
            self.dropped += 1;
        }
    }

    /// Whether more lines would still be recorded.
    pub fn has_room(&self) -> bool {
        self.dropped == 0 && self.text.len() < self.budget
    }

    /// The text; when lines were dropped, a closing line says how many steps were elided,
    /// followed by `conclusion` (always kept).
    pub fn finish(mut self, conclusion: impl AsRef<str>) -> String {
        if self.dropped > 0 {
            let _ = std::fmt::Write::write_fmt(
                &mut self.text,
                format_args!(
                    "\n({} further steps of the same search omitted.)",
                    self.dropped
                ),
            );
        }
        if !self.text.is_empty() {
            self.text.push('\n');
        }
        self.text.push_str(conclusion.as_ref());
        self.text
    }
}

impl Default for Trace {
    fn default() -> Self {
        Self::new()
    }
}

/// Fills `{key}` placeholders of a prompt template (`prompts::render`: unknown
/// placeholders kept, trailing whitespace trimmed, one pre-sized buffer).
pub fn fill(template: &str, vars: &[(&str, &str)]) -> String {
    crate::prompts::render(template, vars)
}

/// A prompt template split once into literal text and `{key}` placeholders, so filling it
/// is a few appends into one pre-sized buffer. Output equals `prompts::render`'s.
pub struct Template {
    /// (literal text, placeholder key that follows it or `None` at the end)
    parts: Vec<(&'static str, Option<&'static str>)>,
    literal_len: usize,
}

impl Template {
    pub fn new(template: &'static str) -> Self {
        let template = template.trim_end();
        let mut parts = Vec::new();
        let mut rest = template;
        let mut lit_start = template;
        let mut lit_len = 0usize;
        while let Some(open) = rest.find('{') {
            let after = &rest[open + 1..];
            match after.find('}') {
                Some(close) => {
                    lit_len += open;
                    parts.push((&lit_start[..lit_len], Some(&after[..close])));
                    rest = &after[close + 1..];
                    lit_start = rest;
                    lit_len = 0;
                }
                None => break,
            }
        }
        parts.push((lit_start, None));
        let literal_len = parts.iter().map(|(l, _)| l.len()).sum();
        Template { parts, literal_len }
    }

    /// The template with each known `{key}` replaced by its value (unknown ones kept).
    pub fn fill(&self, vars: &[(&str, &str)]) -> String {
        let mut out = String::with_capacity(self.literal_len + 8 * vars.len() + 64);
        self.fill_into(&mut out, vars);
        out
    }

    /// The template with each `{key}` written by `value(key, out)`, which returns false
    /// for keys it does not know (those are kept as `{key}`).
    pub fn fill_with(
        &self,
        capacity: usize,
        mut value: impl FnMut(&str, &mut String) -> bool,
    ) -> String {
        let mut out = String::with_capacity(self.literal_len + capacity);
        for (lit, key) in &self.parts {
            out.push_str(lit);
            if let Some(key) = key {
                if !value(key, &mut out) {
                    out.push('{');
                    out.push_str(key);
                    out.push('}');
                }
            }
        }
        let end = out.trim_end().len();
        out.truncate(end);
        out
    }

    /// [`Template::fill`] appending to `out`.
    pub fn fill_into(&self, out: &mut String, vars: &[(&str, &str)]) {
        let start = out.len();
        for (lit, key) in &self.parts {
            out.push_str(lit);
            if let Some(key) = key {
                match vars.iter().find(|(k, _)| k == key) {
                    Some((_, v)) => out.push_str(v),
                    None => {
                        out.push('{');
                        out.push_str(key);
                        out.push('}');
                    }
                }
            }
        }
        // A value may end in whitespace where the template ends in a placeholder.
        let end = out[start..].trim_end().len();
        out.truncate(start + end);
    }
}

/// The decimal digits of `x`, written into `buf` (no allocation).
pub fn uint_str(x: usize, buf: &mut [u8; 20]) -> &str {
    let mut n = x;
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 || i == 0 {
            break;
        }
    }
    std::str::from_utf8(&buf[i..]).unwrap_or("")
}

/// Appends the decimal digits of `x` (no formatting machinery).
pub fn push_uint(s: &mut String, x: usize) {
    if x < 10 {
        s.push(char::from(b'0' + x as u8));
        return;
    }
    let mut buf = [0u8; 20];
    let mut n = x;
    let mut i = buf.len();
    while n > 0 && i > 0 {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
    }
    for &b in &buf[i..] {
        s.push(char::from(b));
    }
}

/// Appends the spreadsheet-style label of `i` (see [`letter_name`]).
pub fn push_letter_name(s: &mut String, i: usize) {
    if i < 26 {
        s.push(char::from(b'A' + i as u8));
    } else {
        s.push_str(&letter_name(i));
    }
}

/// Spreadsheet-style row label for names: 0 -> A, 25 -> Z, 26 -> AA.
pub fn letter_name(mut i: usize) -> String {
    let mut s = Vec::new();
    loop {
        s.push(b'A' + (i % 26) as u8);
        if i < 26 {
            break;
        }
        i = i / 26 - 1;
    }
    s.reverse();
    String::from_utf8(s).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_reader_accepts_drawn_and_flat_grids() {
        let g = read_grid("1 2 | 3 4\n---+---\n3 4 | 1 2", 4, 2).unwrap();
        assert_eq!(g[1], vec!['3', '4', '1', '2']);
        assert_eq!(read_grid("1234", 2, 2).unwrap()[1], vec!['3', '4']);
        assert!(read_grid("12\n34\n12", 2, 2).is_none());
        assert!(read_grid("12\n345", 2, 2).is_none());
    }

    #[test]
    fn trace_respects_its_budget() {
        let mut t = Trace::with_budget(20);
        for i in 0..10 {
            t.push(format!("line {i}"));
        }
        let s = t.finish("done");
        assert!(s.contains("omitted") && s.ends_with("done"));
        assert_eq!(letter_name(0), "A");
        assert_eq!(letter_name(27), "AB");
    }

    #[test]
    fn fill_matches_render_and_push_uint_matches_display() {
        for (t, v) in [
            ("{a} + {b} = {c}  \n", vec![("a", "1"), ("b", "22")]),
            ("no braces", vec![]),
            ("open { only", vec![]),
            ("{a}{a}", vec![("a", "xyz")]),
        ] {
            assert_eq!(fill(t, &v), crate::prompts::render(t, &v));
            assert_eq!(Template::new(t).fill(&v), crate::prompts::render(t, &v));
        }
        for x in [0usize, 9, 10, 99, 100, 12345, usize::MAX] {
            let mut s = String::from("x");
            push_uint(&mut s, x);
            assert_eq!(s, format!("x{x}"));
            assert_eq!(uint_str(x, &mut [0; 20]), x.to_string());
        }
    }
}
