//! `spell_backward`: write a word with its letters in reverse order, the reasoning-gym
//! `spell_backward` task.
//!
//! The reference reads the letters from the last position to the first. Answers are the
//! reversed word, also accepted with its letters spaced out; case does not matter.

use crate::env::{Domain, Family, Problem};
use crate::kit::render;
use crate::kit::{gold_str, parse_word, reject, str_gold};
use crate::rng::TaskRng;
use crate::text::spell_word::{check_spell, spell_config, SpellConfig};
use crate::text::words;
use verigym_verifiers::{Verdict, VerifyError};

const TEMPLATE: &str = crate::template!("spell_backward");

pub struct SpellBackward {
    config: SpellConfig,
}

impl Family for SpellBackward {
    type Config = SpellConfig;
    const NAME: &'static str = "spell_backward";
    const DOMAIN: Domain = Domain::Text;
    const DESCRIPTION: &'static str = "Spell a word backward, reading its letters last to first";

    fn config_for(difficulty: u8) -> SpellConfig {
        spell_config(difficulty)
    }

    fn new(config: SpellConfig) -> Result<Self, String> {
        check_spell(&config)?;
        Ok(SpellBackward { config })
    }

    fn generate(&self, rng: &mut TaskRng) -> Result<Problem, String> {
        let w = words::letters(rng, self.config.min_letters, self.config.max_letters);
        let n = w.len();
        let steps: Vec<String> = w
            .bytes()
            .map(char::from)
            .enumerate()
            .rev()
            .map(|(i, c)| format!("{}={c}", i + 1))
            .collect();
        let reversed: String = w.chars().rev().collect();
        let thinking = format!(
            "The word has {n} letters. Read them from the last position to the first: {}\nTogether: {reversed}",
            steps.join(" ")
        );
        Ok(Problem {
            question: render(TEMPLATE, &[("word", &w)]),
            answer: str_gold("reversed", &reversed),
            thinking,
            final_answer: reversed,
        })
    }

    fn verify(&self, gold: &serde_json::Value, answer: &str) -> Result<Verdict, VerifyError> {
        let gold = gold_str(gold, "reversed")?;
        Ok(match parse_word(answer) {
            Some(l) if l == gold.as_bytes() => Verdict::correct(gold),
            Some(_) => reject(answer, "not the word reversed"),
            None => reject(answer, "answer is not one word of letters"),
        })
    }
}
