//! A chain of thought that stops growing at a byte budget, so a reference solution always
//! fits the completion limit however long the search behind it runs.

/// Bytes of chain of thought a reference solution may use (the completion limit is 64 KiB;
/// the answer and the tags need the rest).
pub const THINKING_BUDGET: usize = 40 * 1024;

/// Lines of a chain of thought. Once a line would pass the budget, it and every later line
/// are dropped (and counted), so the recorded part is always a prefix of the work.
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
            text: String::new(),
            budget,
            dropped: 0,
        }
    }

    /// Appends a line unless the budget is spent (then counts it as dropped).
    pub fn push(&mut self, line: impl AsRef<str>) {
        if self.dropped > 0 {
            self.dropped += 1;
            return;
        }
        let line = line.as_ref();
        let separator = usize::from(!self.text.is_empty());
        if self.text.len() + separator + line.len() > self.budget {
            self.dropped += 1;
            return;
        }
        if separator == 1 {
            self.text.push('\n');
        }
        self.text.push_str(line);
    }

    /// Appends the line that `write` writes into an empty string, under the same budget.
    pub fn line(&mut self, write: impl FnOnce(&mut String)) {
        if self.dropped > 0 {
            self.dropped += 1;
            return;
        }
        let mut line = String::new();
        write(&mut line);
        self.push(line);
    }

    /// Whether more lines would still be recorded.
    pub fn has_room(&self) -> bool {
        self.dropped == 0 && self.text.len() < self.budget
    }

    /// The text; when lines were dropped, a closing line says how many steps were elided,
    /// followed by `conclusion` (always kept).
    pub fn finish(mut self, conclusion: impl AsRef<str>) -> String {
        if self.dropped > 0 {
            self.text.push_str(&format!(
                "\n({} further steps of the same search omitted.)",
                self.dropped
            ));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trace_keeps_a_prefix_within_its_budget() {
        let mut t = Trace::with_budget(20);
        for i in 0..10 {
            t.push(format!("line {i}"));
        }
        assert!(!t.has_room());
        let s = t.finish("done");
        assert!(s.starts_with("line 0\nline 1\nline 2\n("), "{s}");
        assert!(s.contains("7 further steps") && s.ends_with("done"));
        assert_eq!(Trace::new().finish("x"), "x");
    }
}
