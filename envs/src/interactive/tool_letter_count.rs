//! `tool_letter_count`: count a letter in a long word or sentence, with the `python` tool.
//! The reference episode runs `print("...".count("r"))`, then answers the count.
//!
//! The character-level counting of `letter_counting` (the "strawberry" problem), at
//! lengths where counting by hand is error-prone and one line of Python is exact.

use super::{integer_tool_episode, MultiFamily, Played};
use crate::env::Domain;
use crate::episode::{Episode, EpisodeLimits};
use crate::kit::{gold_i64, level};
use crate::rng::TaskRng;
use crate::text::words;
use crate::tools::{render_call, ToolRegistry};
use crate::Message;
use serde::{Deserialize, Serialize};
use serde_json::json;
use verigym_verifiers::VerifyError;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToolLetterCountConfig {
    /// Words in the text, drawn uniformly in [min_words, max_words] (1 is a single word).
    pub min_words: usize,
    pub max_words: usize,
    pub max_turns: usize,
    pub max_tool_calls: usize,
    pub max_tokens: usize,
}

pub struct ToolLetterCount {
    config: ToolLetterCountConfig,
}

const WORD_CAP: usize = 2000;

impl MultiFamily for ToolLetterCount {
    type Config = ToolLetterCountConfig;
    const NAME: &'static str = "tool_letter_count";
    const DOMAIN: Domain = Domain::Text;
    const DESCRIPTION: &'static str =
        "Count a letter in a long word or sentence, with a Python tool to call";
    const TOOLS: &'static [&'static str] = &["python"];

    fn config_for(difficulty: u8) -> ToolLetterCountConfig {
        let (min_words, max_words) = level(
            difficulty,
            [
                (1, 1),
                (1, 3),
                (3, 6),
                (6, 10),
                (10, 15),
                (15, 25),
                (25, 40),
                (40, 60),
                (60, 90),
                (90, 140),
            ],
        );
        ToolLetterCountConfig {
            min_words,
            max_words,
            max_turns: 4,
            max_tool_calls: 4,
            max_tokens: 4096,
        }
    }

    fn new(config: ToolLetterCountConfig) -> Result<Self, String> {
        if config.min_words < 1 || config.min_words > config.max_words {
            return Err("min_words must be in 1..=max_words".into());
        }
        if config.max_words > WORD_CAP {
            return Err(format!("max_words must be at most {WORD_CAP}"));
        }
        if config.max_turns < 2 || config.max_tool_calls < 1 {
            return Err("max_turns must be at least 2 and max_tool_calls at least 1".into());
        }
        Ok(ToolLetterCount { config })
    }

    fn limits(&self) -> EpisodeLimits {
        EpisodeLimits {
            max_turns: self.config.max_turns,
            max_tool_calls: self.config.max_tool_calls,
            max_tokens: self.config.max_tokens,
        }
    }

    fn generate(&self, rng: &mut TaskRng) -> Result<Played, String> {
        let n = rng.range_usize(self.config.min_words, self.config.max_words);
        let text = if n == 1 {
            words::letters(rng, 9, 16)
        } else {
            words::sentence(rng, n)
        };
        // Mostly a letter of the text, sometimes one it lacks (count 0).
        let letter = if rng.chance(0.85) {
            let present: Vec<char> = text.chars().filter(char::is_ascii_lowercase).collect();
            *rng.choose(&present).ok_or("empty text")?
        } else {
            char::from(b'a' + rng.below(26) as u8)
        };
        let count = text.chars().filter(|c| *c == letter).count();
        let code = format!(
            "print({}.count({}))",
            json!(text),
            json!(letter.to_string())
        );
        let call = render_call("python", &json!({ "code": code }));
        let what = if n == 1 { "word" } else { "text" };
        Ok(Played {
            question: format!(
                "How many times does the letter \"{letter}\" occur in this {what}?\n\n{text}"
            ),
            answer: json!({ "count": count }),
            reference: vec![
                Message::new("assistant", call),
                Message::new("tool", format!("{count}\n")),
                Message::new("assistant", format!("<answer>{count}</answer>")),
            ],
        })
    }

    fn episode<'a>(
        &'a self,
        gold: &serde_json::Value,
        tools: &ToolRegistry,
    ) -> Result<Box<dyn Episode + 'a>, VerifyError> {
        let count = gold_i64(gold, "count")?;
        Ok(integer_tool_episode(
            Self::NAME,
            tools,
            self.limits(),
            count.into(),
            "count",
        ))
    }
}
