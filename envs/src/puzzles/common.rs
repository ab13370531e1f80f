//! Shared helpers of the puzzle and logic families: gold decoding, rejection verdicts,
//! a tolerant-but-strict grid reader, and a size-bounded chain-of-thought builder.
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
        if self.dropped > 0 {
            self.dropped += 1;
            return;
        }
        let mark = self.text.len();
        if mark > 0 {
            self.text.push('\n');
        }
        let _ = std::fmt::Write::write_fmt(&mut self.text, args);
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
}
