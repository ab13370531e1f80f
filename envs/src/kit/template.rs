//! Prompt templates: the text files under the crate's `prompts/` folder, embedded at compile
//! time with [`template!`](crate::template), a tiny `{name}` filler, and the format
//! instructions appended to every single-turn prompt.
//!
//! The templates live inside the crate so the published crate carries them.

/// The text of `prompts/<name>.txt` inside this crate, embedded at compile time:
/// `template!("arithmetic")`.
#[macro_export]
macro_rules! template {
    ($name:literal) => {
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/prompts/",
            $name,
            ".txt"
        ))
    };
}

/// The instruction appended to every single-turn prompt: think, then answer in tags.
pub const FORMAT_INSTRUCTIONS: &str = crate::template!("format");

/// Replaces each `{key}` in `template` by its value and trims trailing whitespace. Unknown
/// placeholders are left as is, so a template bug shows up in the prompt text rather than
/// as a panic.
pub fn render(template: &str, vars: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else {
            out.push_str(&rest[open..]);
            rest = "";
            break;
        };
        let key = &after[..close];
        match vars.iter().find(|(k, _)| *k == key) {
            Some((_, value)) => out.push_str(value),
            None => out.push_str(&rest[open..open + close + 2]),
        }
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    out.truncate(out.trim_end().len());
    out
}

/// The full prompt: the rendered problem, a blank line, then the format instructions.
pub fn with_format(question: &str) -> String {
    format!("{question}\n\n{}", FORMAT_INSTRUCTIONS.trim_end())
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
        assert_eq!(render("{a}{a}  \n", &[("a", "xyz")]), "xyzxyz");
        assert_eq!(render("no braces", &[]), "no braces");
        assert_eq!(render("open { only", &[]), "open { only");
        assert_eq!(render("x {a", &[("a", "1")]), "x {a");
    }

    #[test]
    fn prompt_is_question_then_trimmed_instructions() {
        let q = "What is 2 + 2?";
        assert_eq!(
            with_format(q),
            format!("{q}\n\n{}", FORMAT_INSTRUCTIONS.trim_end())
        );
        assert!(!FORMAT_INSTRUCTIONS.trim().is_empty());
    }
}
