//! `word_reversal`: reverse the order of the words in a sentence, the reasoning-gym
//! `word_sequence_reversal` task.
//!
//! The reference numbers the words, then reads them from the last to the first. Answers
//! are compared word by word (case-insensitive); separators may be spaces or commas.

use crate::env::{Domain, Family, Problem};
use crate::kit::render;
use crate::kit::{gold_str, parse_words, reject, str_gold};
use crate::rng::TaskRng;
use crate::text::words;
use serde::{Deserialize, Serialize};
use verigym_verifiers::{Verdict, VerifyError};

const TEMPLATE: &str = crate::template!("word_reversal");

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WordReversalConfig {
    /// Words in the sentence, drawn uniformly in [min_words, max_words].
    pub min_words: usize,
    pub max_words: usize,
}

pub struct WordReversal {
    config: WordReversalConfig,
}

impl Family for WordReversal {
    type Config = WordReversalConfig;
    const NAME: &'static str = "word_reversal";
    const DOMAIN: Domain = Domain::Text;
    const DESCRIPTION: &'static str = "Reverse the order of the words in a sentence";

    fn config_for(difficulty: u8) -> WordReversalConfig {
        const MIN: [usize; 10] = [5, 5, 6, 7, 8, 10, 12, 15, 18, 22];
        const MAX: [usize; 10] = [6, 7, 8, 10, 12, 15, 18, 22, 26, 30];
        let d = usize::from(difficulty.clamp(1, 10)) - 1;
        WordReversalConfig {
            min_words: MIN[d],
            max_words: MAX[d],
        }
    }

    fn new(config: WordReversalConfig) -> Result<Self, String> {
        if config.min_words < 2 || config.min_words > config.max_words {
            return Err("min_words must be in 2..=max_words".into());
        }
        if config.max_words > 1000 {
            return Err("max_words must be at most 1000".into());
        }
        Ok(WordReversal { config })
    }

    fn generate(&self, rng: &mut TaskRng) -> Result<Problem, String> {
        let n = rng.range_usize(self.config.min_words, self.config.max_words);
        let ws = words::draw(rng, n);
        let sentence = ws.join(" ");
        let numbered: Vec<String> = ws
            .iter()
            .enumerate()
            .map(|(i, w)| format!("{} {w}", i + 1))
            .collect();
        let thinking = format!(
            "Number the words: {}.\nRead them from word {n} down to word 1.",
            numbered.join(", ")
        );
        let reversed: Vec<&str> = ws.iter().rev().copied().collect();
        let reversed = reversed.join(" ");
        Ok(Problem {
            question: render(TEMPLATE, &[("sentence", &sentence)]),
            answer: str_gold("reversed", &reversed),
            thinking,
            final_answer: reversed,
        })
    }

    fn verify(&self, gold: &serde_json::Value, answer: &str) -> Result<Verdict, VerifyError> {
        let gold = gold_str(gold, "reversed")?;
        Ok(match parse_words(answer) {
            Some(ws) if ws.iter().map(String::as_str).eq(gold.split(' ')) => Verdict::correct(gold),
            Some(_) => reject(answer, "not the words in reversed order"),
            None => reject(answer, "answer is not a sequence of words"),
        })
    }
}
