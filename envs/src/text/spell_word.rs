//! `spell_word`: spell a word letter by letter, letters separated by spaces.
//!
//! A character-level probe (models see tokens, not letters). Words come from the shipped
//! list; long difficulties run several words together into one letter string.

use crate::env::{Domain, Family, Problem};
use crate::kit::render;
use crate::kit::{gold_str, parse_letters, push_int, reject};
use crate::rng::TaskRng;
use crate::text::words;
use serde::{Deserialize, Serialize};
use serde_json::json;
use verigym_verifiers::{Verdict, VerifyError};

const TEMPLATE: &str = crate::template!("spell_word");

/// Letter-length range shared by the spelling families.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpellConfig {
    /// Letters in the word, drawn uniformly in [min_letters, max_letters].
    pub min_letters: usize,
    pub max_letters: usize,
}

/// The spelling length at each difficulty.
pub fn spell_config(difficulty: u8) -> SpellConfig {
    const MIN: [usize; 10] = [5, 5, 6, 7, 8, 9, 10, 12, 15, 18];
    const MAX: [usize; 10] = [6, 7, 8, 9, 10, 12, 15, 18, 22, 28];
    let d = usize::from(difficulty.clamp(1, 10)) - 1;
    SpellConfig {
        min_letters: MIN[d],
        max_letters: MAX[d],
    }
}

/// Validates a spelling config.
pub fn check_spell(c: &SpellConfig) -> Result<(), String> {
    if c.min_letters == 0 || c.min_letters > c.max_letters {
        return Err("min_letters must be in 1..=max_letters".into());
    }
    if c.max_letters > 1000 {
        return Err("max_letters must be at most 1000".into());
    }
    Ok(())
}

pub struct SpellWord {
    config: SpellConfig,
}

impl Family for SpellWord {
    type Config = SpellConfig;
    const NAME: &'static str = "spell_word";
    const DOMAIN: Domain = Domain::Text;
    const DESCRIPTION: &'static str = "Spell a word letter by letter, separated by spaces";

    fn config_for(difficulty: u8) -> SpellConfig {
        spell_config(difficulty)
    }

    fn new(config: SpellConfig) -> Result<Self, String> {
        check_spell(&config)?;
        Ok(SpellWord { config })
    }

    fn generate(&self, rng: &mut TaskRng) -> Result<Problem, String> {
        let w = words::letters(rng, self.config.min_letters, self.config.max_letters);
        let mut thinking = String::with_capacity(w.len() * 8 + 60);
        thinking.push_str("Take the letters one at a time from the start:\n");
        let mut spelled = String::with_capacity(w.len() * 2);
        for (i, b) in w.bytes().enumerate() {
            thinking.push_str("letter ");
            push_int(&mut thinking, i as i64 + 1);
            thinking.push_str(": ");
            thinking.push(char::from(b));
            thinking.push('\n');
            if i > 0 {
                spelled.push(' ');
            }
            spelled.push(char::from(b));
        }
        thinking.push_str("That is ");
        push_int(&mut thinking, w.len() as i64);
        thinking.push_str(" letters.");
        Ok(Problem {
            question: render(TEMPLATE, &[("word", &w)]),
            answer: json!({ "word": w }),
            thinking,
            final_answer: spelled,
        })
    }

    fn verify(&self, gold: &serde_json::Value, answer: &str) -> Result<Verdict, VerifyError> {
        let gold = gold_str(gold, "word")?;
        Ok(match parse_letters(answer) {
            Some(l) if l == gold.as_bytes() => Verdict::correct(gold),
            Some(_) => reject(answer, "the letters differ from the word"),
            None => reject(answer, "answer is not single letters separated by spaces"),
        })
    }
}
