//! `char_at_position`: which letters stand at given positions of a string.
//!
//! Several positions are asked at once so a guessed letter earns next to nothing; the
//! reference numbers every letter up to the last position asked, then reads them off.

use crate::env::{Domain, Family, Problem};
use crate::kit::render;
use crate::kit::{gold_str, parse_letters, push_int, reject};
use crate::rng::TaskRng;
use crate::text::words;
use serde::{Deserialize, Serialize};
use serde_json::json;
use verigym_verifiers::{Verdict, VerifyError};

const TEMPLATE: &str = crate::template!("char_at_position");

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CharAtPositionConfig {
    /// Letters in the string, drawn uniformly in [min_letters, max_letters].
    pub min_letters: usize,
    pub max_letters: usize,
    /// How many positions are asked (capped by the string's length).
    pub positions: usize,
}

pub struct CharAtPosition {
    config: CharAtPositionConfig,
}

impl Family for CharAtPosition {
    type Config = CharAtPositionConfig;
    const NAME: &'static str = "char_at_position";
    const DOMAIN: Domain = Domain::Text;
    const DESCRIPTION: &'static str = "Name the letters at given positions of a string";

    fn config_for(difficulty: u8) -> CharAtPositionConfig {
        const MIN: [usize; 10] = [5, 6, 7, 8, 10, 12, 15, 18, 22, 26];
        const MAX: [usize; 10] = [7, 8, 10, 12, 15, 18, 22, 26, 32, 40];
        let d = usize::from(difficulty.clamp(1, 10));
        CharAtPositionConfig {
            min_letters: MIN[d - 1],
            max_letters: MAX[d - 1],
            positions: 3 + (d - 1) / 3,
        }
    }

    fn new(config: CharAtPositionConfig) -> Result<Self, String> {
        if config.min_letters == 0 || config.min_letters > config.max_letters {
            return Err("min_letters must be in 1..=max_letters".into());
        }
        if config.max_letters > 1000 {
            return Err("max_letters must be at most 1000".into());
        }
        if config.positions == 0 || config.positions > config.min_letters {
            return Err("positions must be in 1..=min_letters".into());
        }
        Ok(CharAtPosition { config })
    }

    fn generate(&self, rng: &mut TaskRng) -> Result<Problem, String> {
        let c = &self.config;
        let text = words::letters(rng, c.min_letters, c.max_letters);
        let bytes = text.as_bytes();
        // Distinct positions: a partial Fisher-Yates over 0..len.
        let mut all: Vec<usize> = (0..bytes.len()).collect();
        let k = c.positions.min(all.len());
        for i in 0..k {
            let j = i + rng.below((all.len() - i) as u64) as usize;
            all.swap(i, j);
        }
        let pos = &all[..k];
        let last = pos.iter().copied().max().unwrap_or(0);
        let mut thinking = String::with_capacity(last * 6 + k * 20 + 80);
        thinking.push_str("Number the letters from 1: ");
        for (i, b) in bytes.iter().take(last + 1).enumerate() {
            if i > 0 {
                thinking.push_str(", ");
            }
            push_int(&mut thinking, i as i64 + 1);
            thinking.push('=');
            thinking.push(char::from(*b));
        }
        thinking.push_str(".\nRead off the positions asked:");
        let mut listed = String::new();
        let mut letters = String::with_capacity(k * 2);
        for (n, p) in pos.iter().enumerate() {
            if n > 0 {
                listed.push_str(if n + 1 == k { " and " } else { ", " });
                letters.push(' ');
            }
            push_int(&mut listed, *p as i64 + 1);
            let ch = char::from(bytes.get(*p).copied().unwrap_or(b'a'));
            letters.push(ch);
            thinking.push_str(if n == 0 { " position " } else { ", position " });
            push_int(&mut thinking, *p as i64 + 1);
            thinking.push_str(" is ");
            thinking.push(ch);
        }
        thinking.push('.');
        Ok(Problem {
            question: render(TEMPLATE, &[("text", &text), ("positions", &listed)]),
            answer: json!({ "letters": letters.replace(' ', "") }),
            thinking,
            final_answer: letters,
        })
    }

    fn verify(&self, gold: &serde_json::Value, answer: &str) -> Result<Verdict, VerifyError> {
        let gold = gold_str(gold, "letters")?;
        Ok(match parse_letters(answer) {
            Some(l) if l == gold.as_bytes() => Verdict::correct(gold),
            Some(_) => reject(answer, "wrong letters or order"),
            None => reject(answer, "answer is not single letters separated by spaces"),
        })
    }
}
