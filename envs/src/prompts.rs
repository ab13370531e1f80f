//! Prompt templates from `prompts/`, embedded at compile time, and a tiny `{name}` filler.

/// The instruction appended to every single-turn prompt: think, then answer in tags.
pub const FORMAT_INSTRUCTIONS: &str = include_str!("../../prompts/format.txt");

/// Replaces each `{key}` in `template` by its value. Unknown placeholders are left as is,
/// so a template bug shows up in the prompt text rather than as a panic.
pub fn render(template: &str, vars: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len() + 64);
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
    out.trim_end().to_string()
}

/// The full prompt: the rendered problem followed by the format instructions.
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
        assert_eq!(render("no braces", &[]), "no braces");
        assert_eq!(render("open { only", &[]), "open { only");
    }
}
