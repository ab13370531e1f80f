//! Prompt templates from `prompts/`, embedded at compile time, and a tiny `{name}` filler.

/// The instruction appended to every single-turn prompt: think, then answer in tags.
pub const FORMAT_INSTRUCTIONS: &str = include_str!("../../prompts/format.txt");

/// [`FORMAT_INSTRUCTIONS`] without its trailing whitespace, trimmed at compile time (a test
/// checks it equals `trim_end()`, which also trims non-ASCII whitespace).
const FORMAT_INSTRUCTIONS_TRIMMED: &str = FORMAT_INSTRUCTIONS.trim_ascii_end();

/// Replaces each `{key}` in `template` by its value. Unknown placeholders are left as is,
/// so a template bug shows up in the prompt text rather than as a panic.
pub fn render(template: &str, vars: &[(&str, &str)]) -> String {
    let extra: usize = vars.iter().map(|(_, v)| v.len()).sum();
    let mut out = String::with_capacity(template.len() + 2 * extra);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) => {
                let key = &after[..close];
                match vars.iter().find(|(k, _)| *k == key) {
                    Some((_, v)) => out.push_str(v),
                    None => {
                        out.push('{');
                        out.push_str(key);
                        out.push('}');
                    }
                }
                rest = &after[close + 1..];
            }
            None => {
                out.push_str(&rest[open..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    let end = out.trim_end().len();
    out.truncate(end);
    out
}

/// The full prompt: the rendered problem followed by the format instructions.
pub fn with_format(question: &str) -> String {
    // One exactly sized allocation and plain copies: this runs once per generated task.
    let instructions = FORMAT_INSTRUCTIONS_TRIMMED;
    let mut out = String::with_capacity(question.len() + 2 + instructions.len());
    out.push_str(question);
    out.push_str("\n\n");
    out.push_str(instructions);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_known_and_keeps_unknown() {
        assert_eq!(
            render("{a} + {b} = {c}", &[("a", "1"), ("b", "2")]),
            "1 + 2 = {c}"
        );
        assert_eq!(render("no braces", &[]), "no braces");
        assert_eq!(render("open { only", &[]), "open { only");
    }

    #[test]
    fn prompt_is_question_then_trimmed_instructions() {
        assert_eq!(FORMAT_INSTRUCTIONS_TRIMMED, FORMAT_INSTRUCTIONS.trim_end());
        let q = "What is 2 + 2?";
        let p = with_format(q);
        assert_eq!(p, format!("{q}\n\n{}", FORMAT_INSTRUCTIONS.trim_end()));
        assert_eq!(p.len(), p.capacity());
        assert_eq!(
            with_format(""),
            format!("\n\n{}", FORMAT_INSTRUCTIONS.trim_end())
        );
    }
}
