//! `wordle`: find a secret word of the built-in word list from per-letter feedback, the
//! rules of Wordle (Wardle, 2021): `G` for a right letter in the right place, `Y` for a
//! letter of the word in another place, `.` for a letter not in the word (a repeated
//! letter is marked only as often as the word holds it).
//!
//! Any string of the right number of letters is a legal guess (the word list is small, so
//! guesses are not checked against it); anything else is an invalid move that still costs
//! its turn. The reference solver guesses only words consistent with the feedback so far,
//! chosen by the minimax rule; its first guess per word length is computed once.

use super::game::{reference_transcript, Feedback, Game, GameEpisode};
use super::solver::{filter, next_guess};
use super::{MultiFamily, Played};
use crate::env::Domain;
use crate::episode::{Episode, EpisodeLimits};
use crate::kit::{gold_str, level};
use crate::rng::TaskRng;
use crate::text::words::words;
use crate::tools::ToolRegistry;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::sync::OnceLock;
use verigym_verifiers::VerifyError;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WordleConfig {
    /// Letters in the secret word (4..=8: the lengths the word list holds enough of).
    pub word_length: usize,
    pub max_turns: usize,
    pub max_tokens: usize,
}

pub struct Wordle {
    config: WordleConfig,
}

/// Word lengths the game is played with.
pub const LENGTHS: std::ops::RangeInclusive<usize> = 4..=8;

/// The feedback for `guess` against `secret` (same length, lower-case ASCII), one mark per
/// letter: 2 right place, 1 elsewhere in the word, 0 not in it.
pub fn marks(guess: &[u8], secret: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; guess.len()];
    let mut left = [0u8; 26];
    for (i, (g, s)) in guess.iter().zip(secret).enumerate() {
        if g == s {
            out[i] = 2;
        } else {
            left[usize::from(s.wrapping_sub(b'a')) % 26] += 1;
        }
    }
    for (i, g) in guess.iter().enumerate() {
        let slot = &mut left[usize::from(g.wrapping_sub(b'a')) % 26];
        if out[i] == 0 && *slot > 0 {
            *slot -= 1;
            out[i] = 1;
        }
    }
    out
}

/// The marks as one number (base 3), for grouping.
fn key(guess: &&str, secret: &&str) -> u32 {
    marks(guess.as_bytes(), secret.as_bytes())
        .iter()
        .fold(0, |k, m| k * 3 + u32::from(*m))
}

/// The list words of `len` letters.
fn words_of(len: usize) -> Vec<&'static str> {
    words().iter().copied().filter(|w| w.len() == len).collect()
}

/// Draws of a secret before a too-tight turn limit is an error.
const REDRAWS: usize = 100;
/// Fewest turns a config may allow.
pub const MIN_TURNS: usize = 4;

/// Largest candidate set the minimax rule is used on (covers every first guess).
const EXHAUSTIVE: usize = 1000;

/// The solver's first guess for each length, computed once.
fn opening(len: usize) -> &'static str {
    static OPENINGS: OnceLock<Vec<&'static str>> = OnceLock::new();
    let all = OPENINGS.get_or_init(|| {
        (0..=*LENGTHS.end())
            .map(|n| {
                let ws = words_of(n);
                ws.get(next_guess(&ws, key, EXHAUSTIVE))
                    .copied()
                    .unwrap_or("")
            })
            .collect()
    });
    all.get(len).copied().unwrap_or("")
}

/// The solver's guesses against `secret`, ending with it.
pub fn solve(secret: &str) -> Vec<&'static str> {
    let mut candidates = words_of(secret.len());
    let mut guess = opening(secret.len());
    let mut guesses = Vec::new();
    while !guess.is_empty() && guesses.len() < 50 {
        guesses.push(guess);
        if guess == secret {
            break;
        }
        candidates = filter(&candidates, &guess, &key(&guess, &secret), key);
        guess = candidates
            .get(next_guess(&candidates, key, EXHAUSTIVE))
            .copied()
            .unwrap_or("");
    }
    guesses
}

impl MultiFamily for Wordle {
    type Config = WordleConfig;
    const NAME: &'static str = "wordle";
    const DOMAIN: Domain = Domain::Puzzle;
    const DESCRIPTION: &'static str =
        "Find a secret word from per-letter feedback over several turns (Wordle)";
    const TOOLS: &'static [&'static str] = &[];

    fn config_for(difficulty: u8) -> WordleConfig {
        let (word_length, max_turns) = level(
            difficulty,
            [
                (4, 10),
                (4, 8),
                (5, 8),
                (5, 7),
                (5, 6),
                (6, 6),
                (6, 5),
                (7, 5),
                (8, 5),
                (8, 4),
            ],
        );
        WordleConfig {
            word_length,
            max_turns,
            max_tokens: 4096,
        }
    }

    fn new(config: WordleConfig) -> Result<Self, String> {
        if !LENGTHS.contains(&config.word_length) {
            return Err(format!(
                "word_length must be in {}..={}",
                LENGTHS.start(),
                LENGTHS.end()
            ));
        }
        if !(MIN_TURNS..=100).contains(&config.max_turns) {
            return Err(format!("max_turns must be in {MIN_TURNS}..=100"));
        }
        Ok(Wordle { config })
    }

    fn limits(&self) -> EpisodeLimits {
        EpisodeLimits {
            max_turns: self.config.max_turns,
            max_tool_calls: 0,
            max_tokens: self.config.max_tokens,
        }
    }

    fn generate(&self, rng: &mut TaskRng) -> Result<Played, String> {
        let n = self.config.word_length;
        let list = words_of(n);
        // A limit tighter than the solver's worst case: redraw until the reference wins
        // (the defaults never need it; a test checks every word at every level).
        let mut secret = "";
        for _ in 0..REDRAWS {
            secret = rng.choose(&list).ok_or("no word of that length")?;
            if solve(secret).len() <= self.config.max_turns {
                break;
            }
        }
        let question = format!(
            "Find my secret word: a common English word of {n} letters. Guess a word of {n} \
             letters. After each guess I mark every letter: G if it is in the right place, \
             Y if the word has it in another place, . if the word does not have it (a \
             repeated letter is marked only as often as the word has it). You have {} turns.",
            self.config.max_turns
        );
        let guesses: Vec<String> = solve(secret).iter().map(|g| g.to_string()).collect();
        let game = Secret {
            word: secret.to_string(),
        };
        Ok(Played {
            question,
            answer: json!({ "word": secret }),
            reference: reference_transcript(game, &guesses, self.config.max_turns)?,
        })
    }

    fn episode<'a>(
        &'a self,
        gold: &serde_json::Value,
        _tools: &ToolRegistry,
    ) -> Result<Box<dyn Episode + 'a>, VerifyError> {
        let word = gold_str(gold, "word")?;
        if !LENGTHS.contains(&word.len()) || !word.bytes().all(|b| b.is_ascii_lowercase()) {
            return Err(VerifyError::InvalidGold(format!(
                "{word:?} is not a secret word"
            )));
        }
        let game = Secret {
            word: word.to_string(),
        };
        Ok(Box::new(GameEpisode::new(
            Self::NAME,
            game,
            self.config.max_turns,
        )))
    }
}

struct Secret {
    word: String,
}

impl Game for Secret {
    fn play(&mut self, answer: &str) -> Feedback {
        let n = self.word.len();
        let guess = answer.trim().to_ascii_lowercase();
        if guess.len() != n || !guess.bytes().all(|b| b.is_ascii_lowercase()) {
            return Feedback::Invalid(format!("guess one word of exactly {n} letters"));
        }
        if guess == self.word {
            return Feedback::Win;
        }
        let m = marks(guess.as_bytes(), self.word.as_bytes());
        let pattern: String = m.iter().map(|x| ['.', 'Y', 'G'][usize::from(*x)]).collect();
        let letters = |want: u8| -> String {
            let picked: Vec<String> = guess
                .chars()
                .zip(&m)
                .filter(|(_, x)| **x == want)
                .map(|(c, _)| c.to_ascii_uppercase().to_string())
                .collect();
            if picked.is_empty() {
                "none".into()
            } else {
                picked.join(", ")
            }
        };
        Feedback::Miss(format!(
            "{} {pattern}\nRight place: {}. Elsewhere in the word: {}. Not in the word: {}.",
            guess.to_ascii_uppercase(),
            letters(2),
            letters(1),
            letters(0)
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_follow_the_repeated_letter_rule() {
        assert_eq!(marks(b"crane", b"crane"), [2, 2, 2, 2, 2]);
        assert_eq!(marks(b"eerie", b"there"), [1, 0, 1, 0, 2]);
        assert_eq!(marks(b"speed", b"abide"), [0, 0, 1, 0, 1]);
        let mut g = Secret {
            word: "crane".into(),
        };
        assert!(matches!(g.play("CRANES"), Feedback::Invalid(_)));
        let Feedback::Miss(text) = g.play("caner") else {
            panic!()
        };
        assert!(text.starts_with("CANER GYYYY"), "{text}");
    }

    #[test]
    fn the_solver_wins_every_word_within_the_turn_limit() {
        for d in 1..=10u8 {
            let c = Wordle::config_for(d);
            let worst = words_of(c.word_length)
                .iter()
                .map(|w| solve(w).len())
                .max()
                .unwrap();
            assert!(worst <= c.max_turns, "level {d}: {worst} > {}", c.max_turns);
        }
    }
}
