//! Answer extraction from a completion, following the priority order of Hugging Face
//! math-verify's `LatexExtractionConfig` (boxed first, then "final answer is", then
//! "Answer:"), after the DeepSeek-R1 think-block rule of `crate::format`.

use super::lexer::{APPROXIMATE, HEDGES};
use crate::format::{parse_think_answer, FormatError};

/// Where the extracted answer came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Boxed,
    Marker,
    Whole,
    Fallback,
}

/// Candidate answer texts (several only for several different boxes) and their source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extraction {
    pub items: Vec<String>,
    pub source: Source,
    /// The answer is stated as approximate ("approximately \boxed{16386.16}"): right only
    /// where the gold is itself a decimal approximation.
    pub approximate: bool,
}

/// A word that qualifies an answer, and whether it only says the value is approximate.
struct Qualifier {
    word: String,
    approximate: bool,
}

impl Qualifier {
    fn new(word: &str) -> Qualifier {
        Qualifier {
            approximate: APPROXIMATE.contains(&word) || word == "≈",
            word: word.to_string(),
        }
    }
}

/// Most boxes looked at in one completion.
const MAX_BOXES: usize = 16;

/// Applies the think rule and picks the text to grade: the last `\boxed{…}` (all boxes
/// when they differ), else the text after "final answer is" / "Answer:", else the whole
/// answer text. `whole_parses` tells whether the whole text is to be graded as one answer;
/// when it is not (prose) and `fallback` is set, the last math block or number is taken.
pub fn extract(
    completion: &str,
    fallback: bool,
    whole_parses: impl Fn(&str) -> bool,
) -> Result<Extraction, String> {
    let (text, tagged) = match parse_think_answer(completion) {
        Ok(p) => (p.answer, p.tagged),
        Err(FormatError::Empty) => return Err("empty answer".into()),
        Err(e) => return Err(e.to_string()),
    };
    let boxes = boxes(text);
    // A final-answer statement after the last box is the answer committed to (boxes before
    // it were intermediate results).
    let marker_last = match (boxes.last(), last_marker_at(text)) {
        (Some(b), Some(at)) => at > (b.as_ptr() as usize).saturating_sub(text.as_ptr() as usize),
        _ => false,
    };
    if !boxes.is_empty() && !marker_last {
        let mut items: Vec<String> = Vec::new();
        let mut approximate = false;
        for b in &boxes {
            if let Some(q) = qualified_box(text, b) {
                if !q.approximate {
                    return Err(format!("the box is qualified by \"{}\"", q.word));
                }
                approximate = true;
            }
        }
        for b in boxes {
            let b = clean(b);
            if !b.is_empty() && !items.contains(&b) {
                items.push(b);
            }
        }
        if items.is_empty() {
            return Err("empty \\boxed{}".into());
        }
        return Ok(Extraction {
            items,
            source: Source::Boxed,
            approximate,
        });
    }
    if let Some(after) = after_marker(text) {
        let c = clean(first_sentence(after));
        if !c.is_empty() {
            // "Final Answer: The largest $n$ is 34." names the answer in a sentence.
            if fallback && !tagged && !whole_parses(&c) {
                if let Some((cand, approximate)) = last_candidate(&c)? {
                    return Ok(Extraction {
                        items: vec![cand],
                        source: Source::Fallback,
                        approximate,
                    });
                }
            }
            return Ok(Extraction {
                items: vec![c],
                source: Source::Marker,
                approximate: false,
            });
        }
    }
    let whole = clean(text);
    // An `<answer>` block is the committed answer: graded whole, never searched.
    if tagged || !fallback || whole_parses(&whole) {
        return Ok(Extraction {
            items: vec![whole],
            source: Source::Whole,
            approximate: false,
        });
    }
    match last_candidate(text)? {
        Some((cand, approximate)) => Ok(Extraction {
            items: vec![cand],
            source: Source::Fallback,
            approximate,
        }),
        None => Ok(Extraction {
            items: vec![whole],
            source: Source::Whole,
            approximate: false,
        }),
    }
}

/// The last math block or number of a prose text, refused when its sentence qualifies it
/// ("not 13", "at least 13", "13 or 14", "about 13"): prose is only read where it commits.
fn last_candidate(text: &str) -> Result<Option<(String, bool)>, String> {
    let Some((cand, sentence)) = last_math(text) else {
        return Ok(None);
    };
    let mut approximate = false;
    if let Some(q) = hedge(&sentence) {
        if !q.approximate {
            return Err(format!(
                "the answer sentence qualifies the value (\"{}\")",
                q.word
            ));
        }
        approximate = true;
    }
    let c = clean(cand);
    Ok((!c.is_empty()).then_some((c, approximate)))
}

/// The same for scripts without spaces (Chinese): not, about, at least, at most, more than,
/// less than, or, or else, between, approximately, left or right (roughly).
const HEDGES_CJK: &[&str] = &[
    "不是", "不", "大约", "约", "至少", "至多", "超过", "多于", "少于", "不到", "或", "之间",
    "左右", "以上", "以下", "大概", "可能",
];

/// The first qualifier in a sentence (the candidate itself already cut out of it).
fn hedge(sentence: &str) -> Option<Qualifier> {
    if let Some(w) = sentence
        .split(|c: char| !c.is_ascii_alphabetic())
        .find(|t| {
            HEDGES
                .iter()
                .chain(APPROXIMATE)
                .any(|h| t.eq_ignore_ascii_case(h))
        })
    {
        return Some(Qualifier::new(&w.to_ascii_lowercase()));
    }
    if sentence.contains('≈') {
        return Some(Qualifier::new("≈"));
    }
    if sentence.contains(['≥', '≤', '>', '<', '~', '±']) {
        return Some(Qualifier::new("a comparison sign"));
    }
    HEDGES_CJK
        .iter()
        .find(|h| sentence.contains(**h))
        .map(|h| Qualifier::new(h))
}

/// Contents of every `\boxed{…}` / `\fbox{…}` (nested braces balanced), in order.
pub fn boxes(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut from = 0;
    while out.len() < MAX_BOXES {
        let rest = text.get(from..).unwrap_or("");
        let found = ["\\boxed", "\\fbox"]
            .iter()
            .filter_map(|m| rest.find(m).map(|i| (i, m.len())))
            .min();
        let Some((i, len)) = found else { break };
        let start = from + i + len;
        let after = text.get(start..).unwrap_or("");
        let trimmed = after.trim_start();
        let open = start + (after.len() - trimmed.len());
        if trimmed.starts_with('{') {
            match matching(text, open) {
                Some(close) => {
                    out.push(text.get(open + 1..close).unwrap_or(""));
                    from = close + 1;
                }
                None => break,
            }
        } else if after.starts_with(' ') {
            // `\boxed 5`: up to the next space or `$`.
            let end = trimmed
                .find(|c: char| c.is_whitespace() || c == '$')
                .unwrap_or(trimmed.len());
            out.push(trimmed.get(..end).unwrap_or(""));
            from = open + end.max(1);
        } else {
            from = start;
        }
    }
    out
}

/// Words right before a box that make it a statement about the value ("is not \boxed{13}",
/// "at least \boxed{13}", "about \boxed{13}"), or an "or" right after it ("\boxed{13} or
/// more", "\boxed{13} or 14"). Words further away are left alone: "the least value is
/// \boxed{13}" names the quantity.
fn qualified_box(text: &str, inner: &str) -> Option<Qualifier> {
    let start = (inner.as_ptr() as usize).checked_sub(text.as_ptr() as usize)?;
    let head = text.get(..start)?;
    let open = head.rfind("\\boxed").or_else(|| head.rfind("\\fbox"))?;
    let before = head.get(..open)?;
    let after = text.get(start + inner.len()..).unwrap_or("");
    let after = after.strip_prefix('}').unwrap_or(after);
    let words = |s: &str| -> Vec<String> {
        s.split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_ascii_lowercase)
            .collect()
    };
    // Only text, spaces and math delimiters may sit between the words and the box.
    let tail = before.trim_end_matches([' ', '$', '(', '[', '\\', '*', '\n']);
    let prev = words(tail.rsplit(['.', ':', ',', ';', '\n']).next().unwrap_or(""));
    let last = prev.last().map(String::as_str).unwrap_or("");
    let last2 = if prev.len() >= 2 {
        prev.get(prev.len() - 2..)
            .map(|w| w.join(" "))
            .unwrap_or_default()
    } else {
        String::new()
    };
    // "between \boxed{12 and 13}" answers with the pair itself.
    let pair = last == "between" && (inner.contains("and") || inner.contains(','));
    let hedging = (HEDGES.contains(&last) && !NAMING_BEFORE_BOX.contains(&last))
        || APPROXIMATE.contains(&last);
    if hedging && !pair {
        return Some(Qualifier::new(last));
    }
    if BEFORE_BOX_2.contains(&last2.as_str()) {
        return Some(Qualifier::new(&last2));
    }
    if tail.ends_with('≈') {
        return Some(Qualifier::new("≈"));
    }
    if tail.ends_with(['≥', '≤', '>', '<', '~']) {
        return Some(Qualifier::new("a comparison sign"));
    }
    let tail_chars: String = tail
        .chars()
        .rev()
        .take(4)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    if let Some(h) = HEDGES_CJK.iter().find(|h| tail_chars.contains(**h)) {
        return Some(Qualifier::new(h));
    }
    let next = after.trim_start_matches([' ', '$', ')', ']', '\\']);
    if words(next.get(..next.len().min(12)).unwrap_or(""))
        .first()
        .is_some_and(|w| w == "or")
        || next.starts_with('或')
    {
        return Some(Qualifier::new("or"));
    }
    None
}

/// Hedge words that, right before a box, name the quantity rather than qualify the value
/// ("the least \boxed{…}" is rare, "at least \boxed{…}" is caught as a pair).
const NAMING_BEFORE_BOX: &[&str] = &[
    "least", "most", "more", "less", "fewer", "greater", "or", "nor",
];

const BEFORE_BOX_2: &[&str] = &["at least", "at most", "up to", "no more", "no less"];

/// Index of the `}` closing the `{` at `open`.
fn matching(text: &str, open: usize) -> Option<usize> {
    let b = text.as_bytes();
    let mut depth = 0usize;
    let mut i = open;
    while let Some(&c) = b.get(i) {
        match c {
            b'\\' => {
                i += 2;
                continue;
            }
            b'{' => depth += 1,
            b'}' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

const MARKERS: &[&str] = &[
    "final answer is",
    "final answer:",
    "the answer is",
    "answer is:",
    "answer:",
];

/// Where the last answer marker starts, if the text has one.
fn last_marker_at(text: &str) -> Option<usize> {
    let lower = text.to_ascii_lowercase();
    MARKERS.iter().filter_map(|m| lower.rfind(m)).max()
}

/// Text after the last answer marker (case-insensitive, markers tried in priority order).
fn after_marker(text: &str) -> Option<&str> {
    let lower = text.to_ascii_lowercase();
    for m in MARKERS {
        if let Some(i) = lower.rfind(m) {
            let rest = text.get(i + m.len()..)?;
            let rest = rest.trim_start_matches([' ', ':', '\t']);
            let rest = rest.strip_prefix("**").unwrap_or(rest).trim_start();
            return Some(rest);
        }
    }
    None
}

/// The first line, cut at a sentence end (". " that is not a decimal point) and, when it
/// is one math block and punctuation, to that block ("$42$ or $43$" stays whole).
fn first_sentence(s: &str) -> &str {
    let line = s.lines().next().unwrap_or("");
    let t = line.trim_start();
    for (open, close) in [("$$", "$$"), ("$", "$"), ("\\(", "\\)"), ("\\[", "\\]")] {
        if let Some(inner) = t.strip_prefix(open) {
            if let Some(end) = inner.find(close) {
                let after = inner.get(end + close.len()..).unwrap_or("");
                let tail_is_punctuation = after
                    .trim_start()
                    .split(". ")
                    .next()
                    .unwrap_or("")
                    .chars()
                    .all(|c| c.is_whitespace() || matches!(c, '.' | ',' | ';' | '!' | '*'));
                if tail_is_punctuation {
                    return inner.get(..end).unwrap_or("");
                }
                break;
            }
        }
    }
    let b = t.as_bytes();
    for (i, &c) in b.iter().enumerate() {
        if c == b'.' && b.get(i + 1).is_none_or(|n| n.is_ascii_whitespace()) {
            return t.get(..i).unwrap_or(t);
        }
    }
    t
}

/// Strips math delimiters, bold markers, a trailing full stop and whitespace.
pub fn clean(s: &str) -> String {
    let mut t = s.trim();
    for _ in 0..4 {
        let before = t;
        for (open, close) in [("$$", "$$"), ("$", "$"), ("\\(", "\\)"), ("\\[", "\\]")] {
            if let Some(inner) = t.strip_prefix(open).and_then(|x| x.strip_suffix(close)) {
                t = inner.trim();
            }
        }
        // Markdown bold, possibly cut on one side by a marker or a sentence end.
        t = t.strip_prefix("**").unwrap_or(t);
        t = t.strip_suffix("**").unwrap_or(t).trim();
        t = t.trim_end_matches(['.', ',', ';']).trim();
        if t == before {
            break;
        }
    }
    t.to_string()
}

/// The last math block (`$…$`, `\(…\)`, `\[…\]`) or else the last number, with the
/// sentence it sits in.
fn last_math(text: &str) -> Option<(&str, String)> {
    let mut best: Option<(usize, &str)> = None;
    for (open, close) in [("$$", "$$"), ("\\[", "\\]"), ("\\(", "\\)"), ("$", "$")] {
        if let Some(end) = text.rfind(close) {
            if let Some(start) = text.get(..end).and_then(|h| h.rfind(open)) {
                let inner = text.get(start + open.len()..end).unwrap_or("");
                if !inner.trim().is_empty() && best.is_none_or(|(at, _)| start > at) {
                    best = Some((start, inner));
                }
            }
        }
    }
    let num = last_number(text);
    let pick = match (best, num) {
        (Some((a, m)), Some((b, n))) => {
            if b > a + m.len() {
                Some((b, n))
            } else {
                Some((a, m))
            }
        }
        (Some(x), None) | (None, Some(x)) => Some(x),
        (None, None) => None,
    }?;
    // The candidate's sentence, without the candidate: its own signs ("$x \le 2$") are
    // what it says, the words around it are what the hedge check reads.
    let end = pick.0 + pick.1.len();
    let head = text.get(..pick.0).unwrap_or("");
    let start = sentence_ends(head).last().copied().unwrap_or(0);
    let tail = text.get(end..).unwrap_or("");
    let stop = sentence_ends(tail)
        .first()
        .map_or(text.len(), |i| (end + i).saturating_sub(1));
    let before = text.get(start..pick.0).unwrap_or("");
    let after = text.get(end..stop).unwrap_or("");
    Some((pick.1, format!("{before} {after}")))
}

/// Byte offsets just after each sentence end: a newline, "!", "?", CJK stops, or a full
/// stop followed by a space (so the point of "3.5" is no end).
fn sentence_ends(s: &str) -> Vec<usize> {
    let mut out = Vec::new();
    let mut prev_stop = false;
    for (i, c) in s.char_indices() {
        if prev_stop && c.is_whitespace() {
            out.push(i);
        }
        prev_stop = c == '.';
        if matches!(c, '\n' | '!' | '?' | '。' | '！' | '？' | '；') {
            out.push(i + c.len_utf8());
        }
    }
    out
}

fn last_number(text: &str) -> Option<(usize, &str)> {
    let b = text.as_bytes();
    let end = b.iter().rposition(u8::is_ascii_digit)? + 1;
    let mut start = end;
    while start > 0 {
        let c = b.get(start - 1).copied().unwrap_or(b' ');
        let next_digit = b.get(start).is_some_and(u8::is_ascii_digit);
        if c.is_ascii_digit() || (matches!(c, b'.' | b',' | b'/') && next_digit) {
            start -= 1;
        } else {
            break;
        }
    }
    if start > 0 && b.get(start - 1) == Some(&b'-') {
        start -= 1;
    }
    Some((start, text.get(start..end)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ex(s: &str) -> Result<Vec<String>, String> {
        extract(s, true, |w| !w.contains(' ')).map(|e| e.items)
    }

    #[test]
    fn priority_order() {
        assert_eq!(
            ex("so \\boxed{\\frac{1}{2}} done").unwrap(),
            ["\\frac{1}{2}"]
        );
        assert_eq!(ex("\\boxed{1} then \\boxed{2}").unwrap(), ["1", "2"]);
        assert_eq!(ex("\\boxed{3} and again \\boxed{3}").unwrap(), ["3"]);
        assert_eq!(ex("The final answer is $42$. Yes").unwrap(), ["42"]);
        assert_eq!(ex("blah\nAnswer: 7.").unwrap(), ["7"]);
        assert_eq!(ex("**73**").unwrap(), ["73"]);
        assert_eq!(ex("we get $x=3$ so it is 5 apples").unwrap(), ["5"]);
    }

    #[test]
    fn think_rule_and_guards() {
        assert_eq!(ex("<think>\\boxed{5}</think>\\boxed{6}").unwrap(), ["6"]);
        assert!(ex("<think>\\boxed{5}").is_err());
        assert!(ex("it is 5 or 6 I think").is_err());
        assert!(ex("").is_err());
        assert_eq!(ex("\\boxed{a{b}c}").unwrap(), ["a{b}c"]);
        assert!(ex("\\boxed{unclosed").is_ok());
    }
}
