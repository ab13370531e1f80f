//! The think/answer completion format: `<think>…</think>` then the answer.
//!
//! Follows the DeepSeek-R1 convention (arXiv:2501.12948): only the text after `</think>` is
//! graded; an unfinished think block is no answer. The answer may be wrapped in one
//! `<answer>…</answer>` block; several blocks are malformed (a model must commit to one).

use crate::MAX_COMPLETION_BYTES;
use thiserror::Error;

/// Why a completion does not follow the format.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum FormatError {
    #[error("completion is {0} bytes, over the {MAX_COMPLETION_BYTES}-byte limit")]
    TooLong(usize),
    #[error("unclosed <think> block")]
    UnclosedThink,
    #[error("more than one think block")]
    SeveralThinkBlocks,
    #[error("more than one <answer> block")]
    SeveralAnswerBlocks,
    #[error("unclosed <answer> block")]
    UnclosedAnswer,
    #[error("empty answer")]
    Empty,
}

/// A completion split into its reasoning and its (trimmed) answer text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedCompletion<'a> {
    /// The reasoning inside the think block, if there was one.
    pub thinking: Option<&'a str>,
    /// The text to grade: the inside of the `<answer>` block if present, else everything
    /// after the think block.
    pub answer: &'a str,
    /// Whether the answer came from an `<answer>` block.
    pub tagged: bool,
}

const THINK_OPEN: &str = "<think>";
const THINK_CLOSE: &str = "</think>";
const ANSWER_OPEN: &str = "<answer>";
const ANSWER_CLOSE: &str = "</answer>";

/// Splits a completion into thinking and answer. A completion without any think block is
/// graded whole; one whose `<think>` never closes has no answer.
pub fn parse_think_answer(text: &str) -> Result<ParsedCompletion<'_>, FormatError> {
    if text.len() > MAX_COMPLETION_BYTES {
        return Err(FormatError::TooLong(text.len()));
    }
    let (thinking, rest) = match text.find(THINK_CLOSE) {
        Some(close) => {
            let head = &text[..close];
            // Chat templates often put the opening tag in the prompt, so it may be absent.
            let thinking = match head.find(THINK_OPEN) {
                Some(open) => {
                    if !head[..open].trim().is_empty()
                        || head[open + THINK_OPEN.len()..].contains(THINK_OPEN)
                    {
                        return Err(FormatError::SeveralThinkBlocks);
                    }
                    &head[open + THINK_OPEN.len()..]
                }
                None => head,
            };
            let rest = &text[close + THINK_CLOSE.len()..];
            if rest.contains(THINK_OPEN) || rest.contains(THINK_CLOSE) {
                return Err(FormatError::SeveralThinkBlocks);
            }
            (Some(thinking), rest)
        }
        None if text.contains(THINK_OPEN) => return Err(FormatError::UnclosedThink),
        None => (None, text),
    };
    let (answer, tagged) = match rest.find(ANSWER_OPEN) {
        Some(open) => {
            let inner_start = open + ANSWER_OPEN.len();
            let close = rest[inner_start..]
                .find(ANSWER_CLOSE)
                .ok_or(FormatError::UnclosedAnswer)?
                + inner_start;
            let after = &rest[close + ANSWER_CLOSE.len()..];
            if after.contains(ANSWER_OPEN) || rest[inner_start..close].contains(ANSWER_OPEN) {
                return Err(FormatError::SeveralAnswerBlocks);
            }
            (rest[inner_start..close].trim(), true)
        }
        None if rest.contains(ANSWER_CLOSE) => return Err(FormatError::UnclosedAnswer),
        None => (rest.trim(), false),
    };
    if answer.is_empty() {
        return Err(FormatError::Empty);
    }
    Ok(ParsedCompletion {
        thinking,
        answer,
        tagged,
    })
}

/// Wraps reasoning and an answer in the canonical format the prompts ask for.
pub fn format_completion(thinking: &str, answer: &str) -> String {
    // One exactly sized allocation and plain copies: this runs once per generated task.
    let mut out = String::with_capacity(
        THINK_OPEN.len()
            + thinking.len()
            + THINK_CLOSE.len()
            + 1
            + ANSWER_OPEN.len()
            + answer.len()
            + ANSWER_CLOSE.len(),
    );
    out.push_str(THINK_OPEN);
    out.push_str(thinking);
    out.push_str(THINK_CLOSE);
    out.push('\n');
    out.push_str(ANSWER_OPEN);
    out.push_str(answer);
    out.push_str(ANSWER_CLOSE);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grades_only_text_after_think() {
        let p = parse_think_answer("<think>maybe 41</think>\n<answer>42</answer>").unwrap();
        assert_eq!(p.answer, "42");
        assert_eq!(p.thinking, Some("maybe 41"));
        assert!(p.tagged);
    }

    #[test]
    fn missing_open_tag_is_allowed() {
        let p = parse_think_answer("reasoning</think> 7").unwrap();
        assert_eq!(p.answer, "7");
        assert!(!p.tagged);
    }

    #[test]
    fn unclosed_think_has_no_answer() {
        assert_eq!(
            parse_think_answer("<think>the answer is <answer>5</answer>"),
            Err(FormatError::UnclosedThink)
        );
    }

    #[test]
    fn several_answer_blocks_are_malformed() {
        assert_eq!(
            parse_think_answer("<think>x</think><answer>1</answer><answer>2</answer>"),
            Err(FormatError::SeveralAnswerBlocks)
        );
        assert_eq!(
            parse_think_answer("<answer>1<answer>2</answer>"),
            Err(FormatError::SeveralAnswerBlocks)
        );
    }

    #[test]
    fn several_think_blocks_are_malformed() {
        assert_eq!(
            parse_think_answer("<think>a</think><think>b</think>3"),
            Err(FormatError::SeveralThinkBlocks)
        );
        assert_eq!(
            parse_think_answer("3 <think>a</think>4"),
            Err(FormatError::SeveralThinkBlocks)
        );
    }

    #[test]
    fn empty_and_oversized_inputs() {
        assert_eq!(parse_think_answer(""), Err(FormatError::Empty));
        assert_eq!(
            parse_think_answer("<think>x</think>  "),
            Err(FormatError::Empty)
        );
        assert_eq!(
            parse_think_answer("<answer> </answer>"),
            Err(FormatError::Empty)
        );
        let big = "9".repeat(MAX_COMPLETION_BYTES + 1);
        assert!(matches!(
            parse_think_answer(&big),
            Err(FormatError::TooLong(_))
        ));
    }

    #[test]
    fn unclosed_answer_is_malformed() {
        assert_eq!(
            parse_think_answer("<answer>5"),
            Err(FormatError::UnclosedAnswer)
        );
        assert_eq!(
            parse_think_answer("5</answer>"),
            Err(FormatError::UnclosedAnswer)
        );
    }

    #[test]
    fn format_completion_layout_is_fixed() {
        for (t, a) in [("2+2=4", "4"), ("", ""), ("line 1\nline 2 é", "x y")] {
            let c = format_completion(t, a);
            assert_eq!(c, format!("<think>{t}</think>\n<answer>{a}</answer>"));
            assert_eq!(c.len(), c.capacity());
        }
    }

    #[test]
    fn format_completion_parses_back() {
        let c = format_completion("2+2=4", "4");
        let p = parse_think_answer(&c).unwrap();
        assert_eq!((p.thinking, p.answer), (Some("2+2=4"), "4"));
    }
}
