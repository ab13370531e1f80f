//! Math answer verification: extraction, parsing and exact equivalence — the job of
//! Hugging Face `math-verify` (extraction priorities, comparison classes), done with exact
//! big-rational arithmetic, canonical rational-function forms and hard bounds.
//!
//! `verify(gold, completion_or_answer, &opts)` applies the think-block rule, extracts the
//! answer (last `\boxed{}`, `<answer>`, "final answer is", "Answer:", whole text, then an
//! optional fallback to the last math expression), parses both sides into trees and compares
//! them. No global state; bounded work and no panics whatever the input.
//!
//! Reading rules, chosen so that no wrong answer passes (soundness wins over recall):
//! - A gold with several different `\boxed{}` is a multi-part answer: every part is
//!   required, in the gold's order (separate boxes, or one list or tuple). Boxes joined only
//!   by "and" or commas (`\boxed{1} and \boxed{-2}`) list the values of one answer, in any
//!   order.
//! - Words that qualify a number ("not", "at least", "more than", "about", "or") make the
//!   answer something other than that number; it is never reduced to it.
//! - Commas: inside `(…)`, `[…]`, `{…}`, `\{…\}` a comma separates items. Outside them a
//!   comma followed directly by exactly three digits groups thousands (`1,000` is 1000,
//!   `1, 000` is two items), as do `1\,000`, `1{,}000`, `32,\! 349` and `1 000`; when the
//!   gold is a list, set or tuple, an ungrouped reading of the answer is also tried.
//! - Percent: `p\%` against a plain number is the number p, never p/100 (`13\%` matches 13,
//!   not 0.13); two percentages compare by value.
//! - `exact \approx decimal` is graded on the exact part, if the decimal agrees with it.

pub mod compare;
pub mod extract;
pub mod lexer;
pub mod numeric;
pub mod parser;
pub mod ratfun;

use compare::{Cx, Method};
use parser::Node;
use serde::{Deserialize, Serialize};
use std::cell::RefCell;

/// Options of one comparison.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MathOptions {
    /// Accept unevaluated arithmetic (`2+3`) for an integer gold.
    #[serde(default)]
    pub allow_unevaluated: bool,
    /// Relative tolerance when the gold is a decimal approximation (None: exact).
    #[serde(default)]
    pub float_tolerance: Option<f64>,
    /// Only grade an explicit answer (box, marker, or a text that is one answer); never
    /// fall back to the last math expression of free text.
    #[serde(default)]
    pub strict_extraction: bool,
}

/// Result of comparing an answer to a gold answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MathVerdict {
    pub equal: bool,
    pub extracted: Option<String>,
    pub reason: Option<String>,
    /// How equality was established: "exact", "numeric" (agreement at random points in
    /// double precision) or "tolerance" (within a decimal gold's rounding); None if unequal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
}

/// Caps checked before and during evaluation.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// Longest gold or extracted answer (bytes).
    pub max_expr_bytes: usize,
    pub max_tokens: usize,
    /// Deepest parser recursion.
    pub max_depth: usize,
    /// Most digits in one literal, and largest decimal exponent.
    pub max_digits: usize,
    /// Largest numerator + denominator size of any exact coefficient (bits).
    pub max_bits: u64,
    pub max_terms: usize,
    pub max_degree: u32,
    /// Largest integer exponent applied exactly.
    pub max_exponent: u64,
    /// Largest n for an exact n! or binomial.
    pub max_factorial: u64,
    pub max_vars: usize,
    /// Most element comparisons in one verification (sets are matched pairwise).
    pub max_comparisons: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_expr_bytes: 4096,
            max_tokens: 1500,
            max_depth: 100,
            max_digits: 1000,
            max_bits: 1 << 16,
            max_terms: 128,
            max_degree: 64,
            max_exponent: 4096,
            max_factorial: 3000,
            max_vars: 12,
            max_comparisons: 4096,
        }
    }
}

/// Parses an answer text (no extraction) into a tree.
pub fn parse_answer(text: &str, limits: &Limits) -> Result<Node, String> {
    let toks = lexer::lex(text, limits).map_err(|e| format!("{e:?}"))?;
    parser::parse(toks, limits).map_err(|e| e.0)
}

/// Compares `answer` (a whole completion, or just the text to grade) with `gold`.
pub fn verify(gold: &str, answer: &str, opts: &MathOptions) -> MathVerdict {
    verify_with(gold, answer, opts, &Limits::default())
}

fn wrong(extracted: Option<String>, reason: impl Into<String>) -> MathVerdict {
    MathVerdict {
        equal: false,
        extracted,
        reason: Some(reason.into()),
        method: None,
    }
}

fn right(extracted: String, m: Method) -> MathVerdict {
    MathVerdict {
        equal: true,
        extracted: Some(extracted),
        reason: None,
        method: Some(
            match m {
                Method::Exact => "exact",
                Method::Numeric => "numeric",
                Method::Tolerance => "tolerance",
            }
            .to_string(),
        ),
    }
}

/// `verify` with explicit limits.
pub fn verify_with(gold: &str, answer: &str, opts: &MathOptions, limits: &Limits) -> MathVerdict {
    if gold.len() > limits.max_expr_bytes {
        return wrong(None, "gold answer too long");
    }
    let parts = gold_parts(gold);
    let gold_text = parts.join(", ");
    if gold_text.is_empty() {
        return wrong(None, "empty gold answer");
    }
    // The whole-text candidate is parsed once; extraction asks whether it parses.
    let whole: RefCell<Option<(String, Result<Node, String>)>> = RefCell::new(None);
    let whole_parses = |s: &str| {
        let r = if s.len() > limits.max_expr_bytes {
            Err("answer too long".to_string())
        } else {
            parse_answer(s, limits)
        };
        let ok = r.is_ok();
        *whole.borrow_mut() = Some((s.to_string(), r));
        // Malformed math is graded (and fails) as written; only prose falls back to its
        // last math expression.
        let _ = ok;
        !is_prose(s)
    };
    let ex = match extract::extract(answer, !opts.strict_extraction, whole_parses) {
        Ok(ex) => ex,
        Err(reason) => return wrong(None, reason),
    };
    let extracted = ex.items.join(", ");
    if extracted.len() > limits.max_expr_bytes {
        return wrong(None, "answer too long");
    }
    if ex.approximate && !matches!(parts.as_slice(), [g] if is_decimal_text(g)) {
        return wrong(
            Some(extracted),
            "an answer stated as approximate where the gold is exact",
        );
    }
    if let ([one], [g]) = (ex.items.as_slice(), parts.as_slice()) {
        if squash(one) == squash(g) {
            return right(extracted, Method::Exact);
        }
    }
    let parse_item = |s: &String| -> Result<Node, String> {
        if let Some((text, r)) = whole.borrow().as_ref() {
            if text == s {
                return r.clone();
            }
        }
        parse_answer(s, limits)
    };
    let answer_node = match ex.items.as_slice() {
        [one] => parse_item(one),
        many => many
            .iter()
            .map(parse_item)
            .collect::<Result<Vec<Node>, String>>()
            .map(Node::List),
    };
    let gold_node = match parts.as_slice() {
        [one] => parse_answer(one, limits),
        many => many
            .iter()
            .map(|p| parse_answer(p, limits))
            .collect::<Result<Vec<Node>, String>>()
            .map(if boxes_listed(gold) {
                Node::Set
            } else {
                Node::Parts
            }),
    };
    match (gold_node, answer_node) {
        (Ok(g), Ok(a)) => {
            let mut cx = Cx {
                opts,
                limits,
                budget: limits.max_comparisons,
                depth: 0,
            };
            match cx.value(&g, &a) {
                Ok(m) => right(extracted, m),
                Err(reason) => match ungrouped(&g, &ex.items, limits) {
                    // `498,524` for the gold `\{498, 524\}`: the commas were item commas.
                    Some(a2) => match cx.value(&g, &a2) {
                        Ok(m) => right(extracted, m),
                        Err(_) => wrong(Some(extracted), reason),
                    },
                    None => wrong(Some(extracted), reason),
                },
            }
        }
        (Err(_), _) => {
            if text_key(&gold_text) == text_key(&extracted) && !extracted.trim().is_empty() {
                right(extracted, Method::Exact)
            } else {
                wrong(Some(extracted), "not equal (text answer)")
            }
        }
        (Ok(_), Err(e)) => wrong(Some(extracted), format!("could not parse the answer: {e}")),
    }
}

/// Whether a gold's boxes only list the values of one answer: joined by "and" or commas
/// (`\boxed{1} and \boxed{-2}`), so that their order is free. Boxes side by side or apart
/// in words ("(a) \boxed{3} (b) \boxed{5}") are parts, in order.
fn boxes_listed(gold: &str) -> bool {
    let bs = extract::boxes(gold);
    if bs.len() < 2 {
        return false;
    }
    let base = gold.as_ptr() as usize;
    bs.windows(2).all(|w| {
        let (Some(a), Some(b)) = (w.first(), w.get(1)) else {
            return false;
        };
        let from = a.as_ptr() as usize - base + a.len() + 1;
        let to = b.as_ptr() as usize - base;
        let between = gold.get(from..to).unwrap_or("");
        let between = between
            .trim_end_matches('{')
            .trim_end_matches("\\boxed")
            .trim_end_matches("\\fbox");
        let rest: String = between
            .replace("\\(", "")
            .replace("\\)", "")
            .replace("\\text{and}", "and")
            .replace(['$', ' ', '~'], "");
        matches!(rest.to_ascii_lowercase().as_str(), "and" | "," | ",and")
    })
}

/// The gold as stored, without math delimiters: its boxes if it has any (several different
/// boxes are the parts of a multi-part answer), else the whole text.
fn gold_parts(gold: &str) -> Vec<String> {
    let mut parts: Vec<String> = Vec::new();
    for b in extract::boxes(gold) {
        let b = extract::clean(b);
        if !b.is_empty() && !parts.contains(&b) {
            parts.push(b);
        }
    }
    if parts.is_empty() {
        let whole = extract::clean(gold);
        // A gold written as a worked solution ("… Final Answer: The final answer is $28\%$.")
        // is read the way an answer is.
        if is_prose(&whole) {
            if let Ok(ex) = extract::extract(gold, true, |s| !is_prose(s)) {
                return ex.items;
            }
        }
        parts.push(whole);
    }
    parts
}

/// A decimal literal such as `16386.16` or `-0.5`: a gold that is itself approximate.
fn is_decimal_text(s: &str) -> bool {
    let t = s.trim().trim_start_matches('-');
    t.contains('.')
        && t.chars()
            .all(|c| c.is_ascii_digit() || c == '.' || c == ',')
}

/// The answer read with every comma as an item separator, when the gold is a collection
/// and the answer has digit groups that the default reading joined.
fn ungrouped(gold: &Node, items: &[String], limits: &Limits) -> Option<Node> {
    let collection = matches!(
        gold,
        Node::List(_) | Node::Set(_) | Node::Tuple(_) | Node::Parts(_)
    );
    if !collection || !items.iter().any(|s| s.contains(',')) {
        return None;
    }
    let parse = |s: &String| -> Option<Node> {
        let toks = lexer::lex_with(s, limits, false).ok()?;
        parser::parse(toks, limits).ok()
    };
    match items {
        [one] => parse(one),
        many => many
            .iter()
            .map(parse)
            .collect::<Option<Vec<Node>>>()
            .map(Node::List),
    }
}

/// Whether a text reads as sentences: at least two words of three or more letters that
/// are not LaTeX commands or function names, or two letters of a script without spaces
/// between words (Chinese, Japanese: "所以一共有 13 只").
pub(crate) fn is_prose(s: &str) -> bool {
    let mut words = 0;
    let mut word = String::new();
    let mut command = false;
    let mut prev = ' ';
    let mut non_ascii_letters = 0;
    for c in s.chars().chain(std::iter::once(' ')) {
        if c.is_ascii_alphabetic() {
            if word.is_empty() {
                command = prev == '\\';
            }
            word.push(c);
        } else {
            if !command
                && word.len() >= 3
                && !MATH_WORDS.contains(&word.to_ascii_lowercase().as_str())
            {
                words += 1;
            }
            word.clear();
            if c.is_alphabetic() && !matches!(c, 'π' | 'θ' | 'α' | 'β' | 'γ' | 'λ' | 'μ' | 'ω')
            {
                non_ascii_letters += 1;
            }
        }
        if words >= 2 || non_ascii_letters >= 2 {
            return true;
        }
        prev = c;
    }
    false
}

const MATH_WORDS: &[&str] = &[
    "sin",
    "cos",
    "tan",
    "sec",
    "csc",
    "cot",
    "arcsin",
    "arccos",
    "arctan",
    "sinh",
    "cosh",
    "tanh",
    "log",
    "exp",
    "sqrt",
    "infty",
    "infinity",
    "and",
    "percent",
    "pmatrix",
    "bmatrix",
    "matrix",
    "smallmatrix",
    "array",
    "cases",
    "vmatrix",
];

/// Text without insignificant whitespace (identical-answer fast path); a space between
/// two letters or digits is kept, so "4 2" is not "42".
fn squash(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut pending_space = false;
    for c in s.chars() {
        if c.is_whitespace() {
            pending_space = true;
            continue;
        }
        if pending_space
            && c.is_ascii_alphanumeric()
            && out
                .chars()
                .last()
                .is_some_and(|p| p.is_ascii_alphanumeric())
        {
            out.push(' ');
        }
        pending_space = false;
        out.push(c);
    }
    out
}

/// Normalised text for answers that are not math (names, days, multiple-choice letters).
fn text_key(s: &str) -> String {
    let mut t = s.to_lowercase();
    for w in [
        "\\text", "\\textbf", "\\mathrm", "\\mathbf", "\\mbox", "\\left", "\\right",
    ] {
        t = t.replace(w, "");
    }
    let t: String = t
        .chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '{' | '}' | '$' | '\\' | '*'))
        .collect();
    let t = t.trim_end_matches('.');
    let t = t
        .strip_prefix('(')
        .and_then(|x| x.strip_suffix(')'))
        .filter(|x| x.chars().count() == 1)
        .unwrap_or(t);
    t.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eq(g: &str, a: &str) -> bool {
        verify(g, a, &MathOptions::default()).equal
    }

    #[test]
    fn basics() {
        assert!(eq("42", "42"));
        assert!(eq("\\frac{1}{2}", "0.5"));
        assert!(eq("\\frac{1}{2}", "\\boxed{\\dfrac12}"));
        assert!(!eq("5", "2+3"));
        assert!(
            verify(
                "5",
                "2+3",
                &MathOptions {
                    allow_unevaluated: true,
                    ..Default::default()
                }
            )
            .equal
        );
        assert!(eq("2\\sqrt{2}", "\\sqrt{8}"));
        assert!(eq("\\{1,2\\}", "\\{2,1\\}"));
        assert!(!eq("(1,2)", "(2,1)"));
        assert!(eq("x \\le 5", "5 \\ge x"));
        assert!(eq("2x+4y-3=0", "y=-\\frac12 x+\\frac34"));
        assert!(!eq("3x+4y+14=0", "3*x-1*y+13=0"));
        assert!(!eq("\\frac{1}{2004!}", "\\frac{1}{2006!}"));
        assert!(eq("Monday", "\\text{Monday}"));
        assert!(!eq("5", "5 or 6"));
        assert!(!eq("5", "<think>x"));
    }

    #[test]
    fn bounded_on_hostile_input() {
        for s in [
            "5^{5^{5^{5}}}".to_string(),
            "{".repeat(10_000),
            "(".repeat(10_000) + &")".repeat(10_000),
            "\\sqrt{".repeat(3000),
            "x^".repeat(2000) + "2",
            "9".repeat(100_000),
        ] {
            let v = verify("3125", &s, &MathOptions::default());
            assert!(!v.equal, "{s:.40}");
        }
    }
}
