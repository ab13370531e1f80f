//! Tokeniser for LaTeX and plain-text math answers (the subset used by MATH / AIME style
//! answers, following the normalisations of hendrycks/math and latex2sympy).
//!
//! Spacing commands, `\left`/`\right`, `\text{…}` wrappers, currency signs and unit words are
//! dropped here, so the parser only sees mathematical tokens. Work is linear in the input
//! and the token count is capped.

use super::Limits;

/// Functions the parser knows how to evaluate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Func {
    Sin,
    Cos,
    Tan,
    Sec,
    Csc,
    Cot,
    Asin,
    Acos,
    Atan,
    Sinh,
    Cosh,
    Tanh,
    Ln,
    Log,
    Exp,
    Floor,
    Ceil,
}

/// Relation symbols.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// Constants with a fixed value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Const {
    Pi,
    E,
    I,
    Inf,
}

/// Matrix environments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Env {
    Matrix,
    Cases,
}

/// One token.
#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    /// A number literal: integer digits, fractional digits, decimal exponent (`1.5e-3`).
    Num {
        int: String,
        frac: String,
        exp: i32,
    },
    Ident(String),
    Const(Const),
    Func(Func),
    Plus,
    Minus,
    Pm,
    Star,
    Slash,
    Caret,
    Underscore,
    Bang,
    Percent,
    Comma,
    /// A word separating alternatives or items: "or", "and".
    Or,
    Semicolon,
    Amp,
    RowSep,
    LParen,
    RParen,
    LBrack,
    RBrack,
    LBrace,
    RBrace,
    LSet,
    RSet,
    Bar,
    Rel(RelOp),
    Frac,
    Sqrt,
    Binom,
    Cup,
    Begin(Env),
    End,
    /// `\in`: membership, treated like `=` for `x \in [a, b]`.
    In,
    /// `:` between quantities: a ratio (`11:21`).
    Colon,
    /// `\approx`, `≈`: an approximation of what precedes it.
    Approx,
}

/// Why an input could not be tokenised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LexError {
    TooLong,
    TooManyTokens,
    Unbalanced,
    Unsupported(String),
    /// A word that changes what the number means ("not", "at least", "about"): the
    /// answer is not the number it mentions, so it is never reduced to it.
    Qualifier(String),
}

/// Words that negate, bound or offer alternatives to a value ("not 13", "at least 13",
/// "13 or 14"). Other words are dropped as units or filler ("5 apples", "x is 3"), but
/// dropping one of these would turn the statement into the number it mentions. Extraction
/// reads prose sentences and the words before a box with the same list.
pub const HEDGES: &[&str] = &[
    "not",
    "no",
    "never",
    "nor",
    "neither",
    "either",
    "or",
    "least",
    "most",
    "more",
    "less",
    "than",
    "fewer",
    "greater",
    "over",
    "under",
    "above",
    "below",
    "exceed",
    "exceeds",
    "exceeding",
    "beyond",
    "between",
    "maybe",
    "perhaps",
    "probably",
    "possibly",
    "isn",
    "cannot",
    "unless",
    "except",
];

/// Words that only say a value is approximate: a fair answer to a gold that is itself a
/// decimal approximation, a hedge against an exact one.
pub const APPROXIMATE: &[&str] = &[
    "approximately",
    "approx",
    "about",
    "around",
    "roughly",
    "nearly",
    "almost",
];

/// Words that change the value next to them ("13 million", "square root of 13", "twice
/// 13") or make it a range or a guess; never dropped either.
const VALUE_WORDS: &[&str] = &[
    "smaller",
    "larger",
    "bigger",
    "higher",
    "lower",
    "up",
    "circa",
    "ca",
    "excluding",
    "likely",
    "unlikely",
    "without",
    "minimum",
    "maximum",
    "min",
    "max",
    "till",
    "until",
    "within",
    "range",
    "some",
    "several",
    "many",
    "few",
    "any",
    "guess",
    "estimate",
    "estimated",
    "rounded",
    "round",
    "rounding",
    "truncated",
    "aren",
    "unknown",
    "undefined",
    "none",
    "nothing",
    "impossible",
    "infinite",
    "infinitely",
    "false",
    "wrong",
    "incorrect",
    "else",
    "otherwise",
    "another",
    "instead",
    "plus",
    "minus",
    "times",
    "divided",
    "multiplied",
    "squared",
    "cubed",
    "root",
    "power",
    "half",
    "third",
    "quarter",
    "twice",
    "double",
    "triple",
    "thousand",
    "thousands",
    "million",
    "millions",
    "billion",
    "billions",
    "hundred",
    "hundreds",
    "dozen",
    "dozens",
    "through",
    "thru",
    "from",
];

/// Tokenises `s`. `\text{…}` and similar wrappers are lexed recursively (their words
/// become separators, units or nothing).
pub fn lex(s: &str, limits: &Limits) -> Result<Vec<Tok>, LexError> {
    lex_with(s, limits, true)
}

/// `lex`, choosing whether digit groups outside brackets join into one number: `1,000`
/// is 1000 with `group`, and the two items 1 and 0 without (used when the gold is a list).
pub fn lex_with(s: &str, limits: &Limits, group: bool) -> Result<Vec<Tok>, LexError> {
    if s.len() > limits.max_expr_bytes {
        return Err(LexError::TooLong);
    }
    let mut lx = Lexer {
        b: s.as_bytes(),
        s,
        pos: 0,
        out: Vec::new(),
        depth: 0,
        max_tokens: limits.max_tokens,
        in_text: false,
        group,
        gap: false,
        last_word: String::new(),
        env_depth: 0,
    };
    lx.run(0)?;
    Ok(lx.out)
}

struct Lexer<'a> {
    b: &'a [u8],
    s: &'a str,
    pos: usize,
    out: Vec<Tok>,
    /// Bracket depth, used to decide whether `1,234` is a thousands-grouped number.
    depth: i32,
    max_tokens: usize,
    /// Inside `\text{…}`.
    in_text: bool,
    /// Whether digit groups outside brackets join into one number (`1,000`).
    group: bool,
    /// A word was dropped right after a value.
    gap: bool,
    /// The previous word, lower-cased ("equal" makes a following "to" filler).
    last_word: String,
    /// Open `\begin{…}` environments.
    env_depth: i32,
}

fn ends_value(t: &Tok) -> bool {
    matches!(
        t,
        Tok::Num { .. }
            | Tok::Ident(_)
            | Tok::Const(_)
            | Tok::RParen
            | Tok::RBrack
            | Tok::RBrace
            | Tok::RSet
            | Tok::Bang
            | Tok::Percent
    )
}

fn starts_value(t: &Tok) -> bool {
    matches!(
        t,
        Tok::Num { .. }
            | Tok::Ident(_)
            | Tok::Const(_)
            | Tok::Func(_)
            | Tok::LParen
            | Tok::LBrack
            | Tok::LBrace
            | Tok::LSet
            | Tok::Frac
            | Tok::Sqrt
            | Tok::Binom
            | Tok::Begin(_)
    )
}

/// Two-letter English words dropped like longer words (other letter pairs are products).
const STOPWORDS: &[&str] = &[
    "is", "it", "at", "to", "of", "we", "so", "as", "be", "by", "if", "on", "an", "no", "up", "us",
    "my", "me", "he", "do", "go",
];

const UNITS: &[&str] = &[
    "cm", "mm", "km", "kg", "mg", "ft", "hr", "hrs", "mi", "yd", "lb", "lbs", "oz", "ml", "mph",
    "sq", "rs", "am", "pm",
];

impl<'a> Lexer<'a> {
    fn push(&mut self, t: Tok) -> Result<(), LexError> {
        if self.out.len() >= self.max_tokens {
            return Err(LexError::TooManyTokens);
        }
        if std::mem::take(&mut self.gap) && starts_value(&t) {
            // "2 \text{ to } (3)" must not become the product 2·3.
            return Err(LexError::Qualifier("words between two values".into()));
        }
        self.out.push(t);
        Ok(())
    }

    /// Drops a word; one between two values blocks their implicit product.
    fn drop_word(&mut self) -> Result<(), LexError> {
        self.gap = self.out.last().is_some_and(ends_value);
        Ok(())
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }

    fn rest(&self) -> &'a str {
        self.s.get(self.pos..).unwrap_or("")
    }

    fn run(&mut self, level: usize) -> Result<(), LexError> {
        if level > 8 {
            return Err(LexError::Unsupported("nested text".into()));
        }
        while let Some(c) = self.peek() {
            match c {
                b' ' | b'\t' | b'\n' | b'\r' | b'$' | b'~' => self.pos += 1,
                b'0'..=b'9' => self.number()?,
                b'.' if self.b.get(self.pos + 1).is_some_and(u8::is_ascii_digit) => {
                    self.number()?
                }
                b'a'..=b'z' | b'A'..=b'Z' => self.word()?,
                b'\\' => self.command(level)?,
                b'+' => self.single(Tok::Plus)?,
                b'-' => self.single(Tok::Minus)?,
                b'*' => {
                    if self.b.get(self.pos + 1) == Some(&b'*') {
                        self.pos += 2;
                        self.push(Tok::Caret)?;
                    } else {
                        self.single(Tok::Star)?
                    }
                }
                b'/' => self.single(Tok::Slash)?,
                b'^' => {
                    self.pos += 1;
                    self.degree_after_caret()?;
                }
                b'_' => self.single(Tok::Underscore)?,
                b'!' => {
                    if self.b.get(self.pos + 1) == Some(&b'=') {
                        self.pos += 2;
                        self.push(Tok::Rel(RelOp::Ne))?;
                    } else {
                        self.single(Tok::Bang)?
                    }
                }
                b'%' => self.single(Tok::Percent)?,
                b',' => self.single(Tok::Comma)?,
                b';' => self.single(Tok::Semicolon)?,
                b'&' => self.single(Tok::Amp)?,
                b'(' => {
                    self.depth += 1;
                    self.single(Tok::LParen)?
                }
                b')' => {
                    self.depth -= 1;
                    self.single(Tok::RParen)?
                }
                b'[' => {
                    self.depth += 1;
                    self.single(Tok::LBrack)?
                }
                b']' => {
                    self.depth -= 1;
                    self.single(Tok::RBrack)?
                }
                b'{' => {
                    self.depth += 1;
                    self.single(Tok::LBrace)?
                }
                b'}' => {
                    self.depth -= 1;
                    self.single(Tok::RBrace)?
                }
                b'|' => self.single(Tok::Bar)?,
                b'=' => {
                    self.pos += 1;
                    if self.peek() == Some(b'=') {
                        self.pos += 1;
                    }
                    self.push(Tok::Rel(RelOp::Eq))?
                }
                b'<' => {
                    self.pos += 1;
                    if self.peek() == Some(b'=') {
                        self.pos += 1;
                        self.push(Tok::Rel(RelOp::Le))?
                    } else {
                        self.push(Tok::Rel(RelOp::Lt))?
                    }
                }
                b'>' => {
                    self.pos += 1;
                    if self.peek() == Some(b'=') {
                        self.pos += 1;
                        self.push(Tok::Rel(RelOp::Ge))?
                    } else {
                        self.push(Tok::Rel(RelOp::Gt))?
                    }
                }
                // A colon inside `\text{…}` is punctuation ("Ratio: 3:4" keeps the second).
                // A colon after a word or a label ("Answer:", "matrix:") is punctuation too.
                b':' if self.in_text || !self.out.last().is_some_and(ends_value) => self.pos += 1,
                b':' => self.single(Tok::Colon)?,
                b'?' | b'"' | b'\'' | b'`' => self.pos += 1,
                _ if c >= 0x80 => self.unicode()?,
                _ => return Err(LexError::Unsupported((c as char).to_string())),
            }
        }
        Ok(())
    }

    fn single(&mut self, t: Tok) -> Result<(), LexError> {
        self.pos += 1;
        self.push(t)
    }

    fn unicode(&mut self) -> Result<(), LexError> {
        let Some(ch) = self.rest().chars().next() else {
            self.pos = self.b.len();
            return Ok(());
        };
        self.pos += ch.len_utf8();
        let t = match ch {
            'π' => Tok::Const(Const::Pi),
            '∞' => Tok::Const(Const::Inf),
            '√' => Tok::Sqrt,
            '×' | '·' | '⋅' | '∙' => Tok::Star,
            '÷' => Tok::Slash,
            '−' | '–' | '—' => Tok::Minus,
            '±' => Tok::Pm,
            '≤' | '⩽' => Tok::Rel(RelOp::Le),
            '≥' | '⩾' => Tok::Rel(RelOp::Ge),
            '≠' => Tok::Rel(RelOp::Ne),
            '∪' => Tok::Cup,
            '∈' => Tok::In,
            '≈' | '≃' => Tok::Approx,
            '°' | '\u{a0}' | '\u{2009}' | '\u{202f}' => return Ok(()),
            _ if ch.is_whitespace() => return Ok(()),
            _ if ch.is_alphabetic() => Tok::Ident(ch.to_string()),
            _ => return Err(LexError::Unsupported(ch.to_string())),
        };
        self.push(t)
    }

    /// Reads a number, with thousands separators (`7,425,000`, `32{,}349`, `1\,000`,
    /// `1 000`) only outside brackets and only when every group after the first has
    /// exactly three digits. Inside `(…)`, `[…]`, `{…}` and `\{…\}` a comma separates
    /// items, so `\{524,498\}` is a set of two numbers while a bare `1,000` is one.
    fn number(&mut self) -> Result<(), LexError> {
        let start = self.pos;
        let mut int = String::new();
        while let Some(c) = self.peek() {
            if c.is_ascii_digit() {
                int.push(c as char);
                self.pos += 1;
            } else {
                break;
            }
        }
        if self.group && self.depth <= 0 && !int.is_empty() && int.len() <= 3 {
            while let Some(skip) = self.group_separator() {
                let g = self.pos + skip;
                let digits = self.b.get(g..g + 3);
                let after = self.b.get(g + 3).copied();
                let three = digits.is_some_and(|d| d.iter().all(u8::is_ascii_digit));
                if three && !after.is_some_and(|a| a.is_ascii_digit()) {
                    int.push_str(self.s.get(g..g + 3).unwrap_or(""));
                    self.pos = g + 3;
                } else {
                    break;
                }
            }
        }
        let mut frac = String::new();
        if self.peek() == Some(b'.') && self.b.get(self.pos + 1).is_some_and(u8::is_ascii_digit) {
            self.pos += 1;
            while let Some(c) = self.peek() {
                if c.is_ascii_digit() {
                    frac.push(c as char);
                    self.pos += 1;
                } else {
                    break;
                }
            }
        } else if self.peek() == Some(b'.')
            && !self
                .b
                .get(self.pos + 1)
                .is_some_and(|c| c.is_ascii_alphabetic())
        {
            // "5." at the end of a sentence.
            self.pos += 1;
        }
        let mut exp = 0i32;
        if matches!(self.peek(), Some(b'e' | b'E')) {
            let mut p = self.pos + 1;
            let neg = match self.b.get(p) {
                Some(b'-') => {
                    p += 1;
                    true
                }
                Some(b'+') => {
                    p += 1;
                    false
                }
                _ => false,
            };
            let ds = p;
            while self.b.get(p).is_some_and(u8::is_ascii_digit) {
                p += 1;
            }
            let next_alpha = self.b.get(p).is_some_and(u8::is_ascii_alphabetic);
            if p > ds && p - ds <= 6 && !next_alpha {
                let v: i32 = self.s.get(ds..p).and_then(|d| d.parse().ok()).unwrap_or(0);
                exp = if neg { -v } else { v };
                self.pos = p;
            }
        }
        if self.pos == start {
            self.pos += 1;
        }
        self.push(Tok::Num { int, frac, exp })
    }

    /// Length of a thousands separator at the cursor, if one is there: a comma written
    /// tight (`1,000`), a LaTeX spacing separator possibly followed by spaces (`32,\! 349`,
    /// `1\,000`, `1{,}000`, `1\ 000`), or one plain space (`1 000`).
    fn group_separator(&self) -> Option<usize> {
        let r = self.rest();
        for sep in [",\\!", "{,}", "\\,", "\\ ", "\\;", "\\!"] {
            if let Some(after) = r.strip_prefix(sep) {
                let spaces = after.len() - after.trim_start_matches(' ').len();
                return Some(sep.len() + spaces);
            }
        }
        if r.starts_with(',') {
            return Some(1);
        }
        // One plain space, only between digit groups of a number ("4 2" is no number).
        if r.starts_with(' ') && !r.starts_with("  ") {
            return Some(1);
        }
        None
    }

    fn word(&mut self) -> Result<(), LexError> {
        let start = self.pos;
        while self.peek().is_some_and(|c| c.is_ascii_alphabetic()) {
            self.pos += 1;
        }
        let w = self.s.get(start..self.pos).unwrap_or("");
        let lower = w.to_ascii_lowercase();
        let previous = std::mem::replace(&mut self.last_word, lower.clone());
        if w.len() == 2 && w.chars().all(|c| c.is_ascii_uppercase()) {
            // `NO`, `AB`: two points or variables, never the word "no".
            for ch in w.chars() {
                let mut buf = [0u8; 4];
                self.push(ident_or_const(ch.encode_utf8(&mut buf)))?;
            }
            return Ok(());
        }
        if lower == "to" {
            // "equal to 5" is filler; any other "to" makes a range ("13 to 14").
            if matches!(previous.as_str(), "equal" | "equals" | "set" | "simplifies") {
                return Ok(());
            }
            return Err(LexError::Qualifier(lower));
        }
        if let Some(t) = named(&lower) {
            return self.push(t);
        }
        let l = lower.as_str();
        // "or" separates the items of a list (`x = 1 \text{ or } x = 2`), graded as a list.
        let hedge = HEDGES.contains(&l) && l != "or";
        if hedge || APPROXIMATE.contains(&l) || VALUE_WORDS.contains(&l) {
            return Err(LexError::Qualifier(lower));
        }
        match lower.as_str() {
            "or" | "and" => return self.push(Tok::Or),
            "percent" => return self.push(Tok::Percent),
            "pi" => return self.push(Tok::Const(Const::Pi)),
            "infty" | "infinity" | "inf" | "oo" => return self.push(Tok::Const(Const::Inf)),
            "sqrt" => return self.push(Tok::Sqrt),
            "u" if w == "U" => return self.push(Tok::Cup),
            "in" => {
                // "x in [1, 2]" is membership; otherwise the unit (inches).
                if matches!(self.out.last(), Some(Tok::Ident(_))) {
                    return self.push(Tok::In);
                }
                return Ok(());
            }
            _ => {}
        }
        if self.in_text && matches!(self.out.last(), Some(Tok::Num { .. })) {
            // `5\text{ m}`: a unit after a number.
            return self.drop_word();
        }
        if w.len() == 1 {
            return self.push(ident_or_const(w));
        }
        if w.len() >= 3 || UNITS.contains(&lower.as_str()) || STOPWORDS.contains(&lower.as_str()) {
            // A word (unit, "dollars", "degrees", "because"): not part of the value.
            return self.drop_word();
        }
        // Two letters: a product of single-letter variables ("xy").
        for ch in w.chars() {
            let mut buf = [0u8; 4];
            self.push(ident_or_const(ch.encode_utf8(&mut buf)))?;
        }
        Ok(())
    }

    /// Handles `^\circ`, `^{\circ}` (degrees, dropped) and otherwise emits `^`.
    fn degree_after_caret(&mut self) -> Result<(), LexError> {
        let r = self.rest().trim_start();
        let skipped = self.rest().len() - r.len();
        for pat in [
            "\\circ",
            "{\\circ}",
            "{ \\circ }",
            "{\\circ }",
            "{ \\circ}",
            "\\degree",
        ] {
            if let Some(after) = r.strip_prefix(pat) {
                if pat == "\\circ" && after.starts_with(|c: char| c.is_ascii_alphabetic()) {
                    continue;
                }
                self.pos += skipped + pat.len();
                return Ok(());
            }
        }
        self.push(Tok::Caret)
    }

    /// Position just after the `}` matching the `{` at `open` (None when unbalanced).
    fn matching_brace(&self, open: usize) -> Option<usize> {
        let mut depth = 0usize;
        let mut i = open;
        while let Some(&c) = self.b.get(i) {
            match c {
                b'\\' => {
                    i += 2;
                    continue;
                }
                b'{' => depth += 1,
                b'}' => {
                    depth = depth.checked_sub(1)?;
                    if depth == 0 {
                        return Some(i + 1);
                    }
                }
                _ => {}
            }
            i += 1;
        }
        None
    }

    fn skip_spaces(&mut self) {
        while self.peek().is_some_and(|c| c == b' ') {
            self.pos += 1;
        }
    }

    /// Reads `{name}` after `\begin` / `\end`.
    fn braced_name(&mut self) -> Result<&'a str, LexError> {
        self.skip_spaces();
        if self.peek() != Some(b'{') {
            return Err(LexError::Unbalanced);
        }
        let end = self.matching_brace(self.pos).ok_or(LexError::Unbalanced)?;
        let name = self.s.get(self.pos + 1..end - 1).unwrap_or("");
        self.pos = end;
        Ok(name.trim())
    }

    fn command(&mut self, level: usize) -> Result<(), LexError> {
        self.pos += 1;
        let Some(c) = self.peek() else {
            return Ok(());
        };
        if !c.is_ascii_alphabetic() {
            self.pos += 1;
            let t = match c {
                b'{' => {
                    self.depth += 1;
                    Tok::LSet
                }
                b'}' => {
                    self.depth -= 1;
                    Tok::RSet
                }
                b'%' => Tok::Percent,
                // `\\frac` outside a matrix is a doubled escape of `\frac`, not a row end.
                b'\\'
                    if self.env_depth == 0
                        && self.peek().is_some_and(|n| n.is_ascii_alphabetic()) =>
                {
                    self.pos -= 1;
                    return self.command(level);
                }
                b'\\' => Tok::RowSep,
                b'|' => Tok::Bar,
                b'$' | b',' | b';' | b':' | b'!' | b' ' | b'>' | b'(' | b')' | b'[' | b']'
                | b'"' | b'\n' => return Ok(()),
                _ => return Err(LexError::Unsupported(format!("\\{}", c as char))),
            };
            return self.push(t);
        }
        let start = self.pos;
        while self.peek().is_some_and(|c| c.is_ascii_alphabetic()) {
            self.pos += 1;
        }
        let name = self.s.get(start..self.pos).unwrap_or("");
        if let Some(t) = named(name) {
            return self.push(t);
        }
        let t = match name {
            "frac" | "dfrac" | "tfrac" | "cfrac" => Tok::Frac,
            "sqrt" => Tok::Sqrt,
            "binom" | "dbinom" | "tbinom" => Tok::Binom,
            "cdot" | "times" | "ast" | "cross" => Tok::Star,
            "div" => Tok::Slash,
            "pm" | "mp" => Tok::Pm,
            "le" | "leq" | "leqslant" | "leqq" => Tok::Rel(RelOp::Le),
            "ge" | "geq" | "geqslant" | "geqq" => Tok::Rel(RelOp::Ge),
            "lt" => Tok::Rel(RelOp::Lt),
            "gt" => Tok::Rel(RelOp::Gt),
            "ne" | "neq" => Tok::Rel(RelOp::Ne),
            "eq" => Tok::Rel(RelOp::Eq),
            "approx" | "simeq" | "thickapprox" => Tok::Approx,
            // Comparisons that are not answers: "≪ 13", "≲ 13", "≈ 13" in words.
            "ll" | "gg" | "lesssim" | "gtrsim" | "sim" | "nless" | "ngtr" | "nleq" | "ngeq"
            | "lneq" | "gneq" | "neg" | "lnot" | "not" => {
                return Err(LexError::Qualifier(format!("\\{name}")))
            }
            "in" => Tok::In,
            "cup" => Tok::Cup,
            "pi" => Tok::Const(Const::Pi),
            "infty" | "infin" => Tok::Const(Const::Inf),
            "lbrace" => {
                self.depth += 1;
                Tok::LSet
            }
            "rbrace" => {
                self.depth -= 1;
                Tok::RSet
            }
            "langle" => Tok::LParen,
            "rangle" => Tok::RParen,
            "lvert" | "rvert" | "vert" | "mid" => Tok::Bar,
            "lfloor" => {
                self.push(Tok::Func(Func::Floor))?;
                Tok::LParen
            }
            "lceil" => {
                self.push(Tok::Func(Func::Ceil))?;
                Tok::LParen
            }
            "rfloor" | "rceil" => Tok::RParen,
            "circ" | "degree" | "displaystyle" | "textstyle" | "quad" | "qquad" | "big" | "Big"
            | "bigg" | "Bigg" | "bigl" | "bigr" | "Bigl" | "Bigr" | "biggl" | "biggr"
            | "limits" | "nolimits" | "dollar" | "space" | "enspace" | "thinspace" | "hfill" => {
                return Ok(())
            }
            "left" | "right" => {
                // `\left.` and `\right.` are invisible delimiters.
                if self.peek() == Some(b'.') {
                    self.pos += 1;
                }
                return Ok(());
            }
            "text" | "textbf" | "textit" | "textrm" | "textnormal" | "textsf" | "texttt"
            | "mathrm" | "mathbf" | "mathit" | "mbox" | "operatorname" | "mathsf"
            | "boldsymbol" | "mathnormal" | "textup" | "emph" | "hbox" | "boxed" | "fbox"
            | "underline" | "overline" => {
                self.skip_spaces();
                if self.peek() != Some(b'{') {
                    return Ok(());
                }
                let end = self.matching_brace(self.pos).ok_or(LexError::Unbalanced)?;
                let inner = self.s.get(self.pos + 1..end - 1).unwrap_or("");
                self.pos = end;
                let mut sub = Lexer {
                    b: inner.as_bytes(),
                    s: inner,
                    pos: 0,
                    out: std::mem::take(&mut self.out),
                    depth: self.depth,
                    max_tokens: self.max_tokens,
                    in_text: true,
                    group: self.group,
                    gap: self.gap,
                    last_word: std::mem::take(&mut self.last_word),
                    env_depth: self.env_depth,
                };
                let r = sub.run(level + 1);
                self.out = sub.out;
                self.gap = sub.gap;
                self.last_word = sub.last_word;
                return r;
            }
            "begin" => {
                let env = self.braced_name()?;
                let env = match env {
                    "pmatrix" | "bmatrix" | "matrix" | "Bmatrix" | "smallmatrix" | "array" => {
                        Env::Matrix
                    }
                    "cases" => Env::Cases,
                    other => return Err(LexError::Unsupported(format!("environment {other}"))),
                };
                if env == Env::Matrix && self.rest().trim_start().starts_with('{') {
                    // array column spec `{cc}`.
                    self.skip_spaces();
                    let end = self.matching_brace(self.pos).ok_or(LexError::Unbalanced)?;
                    self.pos = end;
                }
                self.env_depth += 1;
                Tok::Begin(env)
            }
            "end" => {
                self.braced_name()?;
                self.env_depth -= 1;
                Tok::End
            }
            "dots" | "ldots" | "cdots" => Tok::Ident("...".into()),
            _ => Tok::Ident(name.to_string()),
        };
        self.push(t)
    }
}

/// Function names shared by plain text and `\name` commands.
fn named(name: &str) -> Option<Tok> {
    let f = match name {
        "sin" => Func::Sin,
        "cos" => Func::Cos,
        "tan" => Func::Tan,
        "sec" => Func::Sec,
        "csc" => Func::Csc,
        "cot" => Func::Cot,
        "arcsin" | "asin" => Func::Asin,
        "arccos" | "acos" => Func::Acos,
        "arctan" | "atan" => Func::Atan,
        "sinh" => Func::Sinh,
        "cosh" => Func::Cosh,
        "tanh" => Func::Tanh,
        "ln" => Func::Ln,
        "log" | "lg" => Func::Log,
        "exp" => Func::Exp,
        "floor" => Func::Floor,
        "ceil" => Func::Ceil,
        _ => return None,
    };
    Some(Tok::Func(f))
}

fn ident_or_const(w: &str) -> Tok {
    match w {
        "e" => Tok::Const(Const::E),
        "i" => Tok::Const(Const::I),
        _ => Tok::Ident(w.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<Tok> {
        lex(s, &Limits::default()).unwrap()
    }

    fn num(i: &str) -> Tok {
        Tok::Num {
            int: i.into(),
            frac: String::new(),
            exp: 0,
        }
    }

    #[test]
    fn thousands_only_outside_brackets() {
        assert_eq!(toks("7,425,000"), vec![num("7425000")]);
        assert_eq!(toks("32,\\!349"), vec![num("32349")]);
        assert_eq!(toks("1{,}000"), vec![num("1000")]);
        assert_eq!(toks("(1,234)").len(), 5);
        assert_eq!(toks("1,23").len(), 3);
    }

    #[test]
    fn text_units_and_words() {
        assert_eq!(toks("5 \\text{ cm}"), vec![num("5")]);
        assert_eq!(toks("28\\%"), vec![num("28"), Tok::Percent]);
        assert_eq!(toks("1 \\text{ or } 2"), vec![num("1"), Tok::Or, num("2")]);
        assert_eq!(toks("30^\\circ"), vec![num("30")]);
        assert_eq!(
            toks("xy"),
            vec![Tok::Ident("x".into()), Tok::Ident("y".into())]
        );
    }

    #[test]
    fn scientific_and_decimal() {
        assert_eq!(
            toks("1.5e-3"),
            vec![Tok::Num {
                int: "1".into(),
                frac: "5".into(),
                exp: -3
            }]
        );
        assert_eq!(toks("2e"), vec![num("2"), Tok::Const(Const::E)]);
    }

    #[test]
    fn bounded() {
        let l = Limits::default();
        assert_eq!(
            lex(&"1".repeat(l.max_expr_bytes + 1), &l),
            Err(LexError::TooLong)
        );
        assert_eq!(
            lex(&"+".repeat(l.max_tokens + 1), &l),
            Err(LexError::TooManyTokens)
        );
    }
}
