//! Answer extraction from a completion, following the priority order of Hugging Face
//! math-verify's `LatexExtractionConfig` (boxed first, then "final answer is", then
//! "Answer:"), after the DeepSeek-R1 think-block rule of `crate::format`.

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
    if !boxes.is_empty() {
        let mut items: Vec<String> = Vec::new();
        for b in &boxes {
            if let Some(w) = qualified_box(text, b) {
                return Err(format!("the box is qualified by \"{w}\""));
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
        });
    }
    if let Some(after) = after_marker(text) {
        let c = clean(first_sentence(after));
        if !c.is_empty() {
            // "Final Answer: The largest $n$ is 34." names the answer in a sentence.
            if fallback && !tagged && !whole_parses(&c) {
                if let Some(cand) = last_candidate(&c)? {
                    return Ok(Extraction {
                        items: vec![cand],
                        source: Source::Fallback,
                    });
                }
            }
            return Ok(Extraction {
                items: vec![c],
                source: Source::Marker,
            });
        }
    }
    let whole = clean(text);
    // An `<answer>` block is the committed answer: graded whole, never searched.
    if tagged || !fallback || whole_parses(&whole) {
        return Ok(Extraction {
            items: vec![whole],
            source: Source::Whole,
        });
    }
    match last_candidate(text)? {
        Some(cand) => Ok(Extraction {
            items: vec![cand],
            source: Source::Fallback,
        }),
        None => Ok(Extraction {
            items: vec![whole],
            source: Source::Whole,
        }),
    }
}

/// The last math block or number of a prose text, refused when its sentence qualifies it
/// ("not 13", "at least 13", "13 or 14", "about 13"): prose is only read where it commits.
fn last_candidate(text: &str) -> Result<Option<String>, String> {
    let Some((cand, sentence)) = last_math(text) else {
        return Ok(None);
    };
    if let Some(w) = hedge(sentence) {
        return Err(format!("the answer sentence qualifies the value (\"{w}\")"));
    }
    let c = clean(cand);
    Ok((!c.is_empty()).then_some(c))
}

/// Words of a sentence that negate, bound, approximate or offer alternatives.
const HEDGES: &[&str] = &[
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
    "approximately",
    "approx",
    "about",
    "around",
    "roughly",
    "nearly",
    "almost",
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

/// The same for scripts without spaces (Chinese): not, about, at least, at most, more than,
/// less than, or, or else, between, approximately, left or right (roughly).
const HEDGES_CJK: &[&str] = &[
    "不是", "不", "大约", "约", "至少", "至多", "超过", "多于", "少于", "不到", "或", "之间",
    "左右", "以上", "以下", "大概", "可能",
];

fn hedge(sentence: &str) -> Option<String> {
    if let Some(w) = sentence
        .split(|c: char| !c.is_ascii_alphabetic())
        .find(|t| HEDGES.iter().any(|h| t.eq_ignore_ascii_case(h)))
    {
        return Some(w.to_string());
    }
    if sentence.contains(['≈', '≥', '≤', '>', '<', '~', '±']) {
        return Some("a comparison sign".into());
    }
    HEDGES_CJK
        .iter()
        .find(|h| sentence.contains(**h))
        .map(|h| h.to_string())
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
fn qualified_box(text: &str, inner: &str) -> Option<String> {
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
    if BEFORE_BOX.contains(&last) || BEFORE_BOX_2.contains(&last2.as_str()) {
        return Some(if BEFORE_BOX.contains(&last) {
            last.to_string()
        } else {
            last2
        });
    }
    if tail.ends_with(['≥', '≤', '>', '<', '≈', '~']) {
        return Some("a comparison sign".into());
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
        return Some(h.to_string());
    }
    let next = after.trim_start_matches([' ', '$', ')', ']', '\\']);
    if words(next.get(..next.len().min(12)).unwrap_or(""))
        .first()
        .is_some_and(|w| w == "or")
        || next.starts_with('或')
    {
        return Some("or".into());
    }
    None
}

const BEFORE_BOX: &[&str] = &[
    "not",
    "than",
    "about",
    "approximately",
    "approx",
    "around",
    "roughly",
    "nearly",
    "almost",
    "either",
    "maybe",
    "perhaps",
    "probably",
    "possibly",
    "over",
    "under",
    "above",
    "below",
    "exceed",
    "exceeds",
    "exceeding",
    "beyond",
    "between",
    "isn",
    "never",
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
fn last_math(text: &str) -> Option<(&str, &str)> {
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
    let end = pick.0 + pick.1.len();
    let start = text
        .get(..pick.0)
        .and_then(|h| h.rfind(is_sentence_end).map(|i| i + 1))
        .unwrap_or(0);
    let stop = text
        .get(end..)
        .and_then(|t| t.find(is_sentence_end))
        .map_or(text.len(), |i| end + i);
    Some((pick.1, text.get(start..stop).unwrap_or("")))
}

/// Sentence ends for the hedge check (a full stop inside "3.5" is never next to the
/// candidate's own digits, which are excluded from the search).
fn is_sentence_end(c: char) -> bool {
    matches!(c, '\n' | '!' | '?' | '。' | '！' | '？' | '；')
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
