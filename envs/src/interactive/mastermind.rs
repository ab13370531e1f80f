//! `mastermind`: find a secret code of coloured pegs (colours are the digits 1..=C) from
//! black / white peg feedback: black for a right colour in the right place, white for a
//! right colour in the wrong place. The rules of the board game (Meirowitz, 1970).
//!
//! The reference solver plays a fixed opening, then only codes consistent with all the
//! feedback so far, choosing by Knuth's minimax rule once few enough remain.

use super::game::{reference_transcript, Feedback, Game, GameEpisode};
use super::solver::{filter, next_guess};
use super::{MultiFamily, Played};
use crate::env::Domain;
use crate::episode::{Episode, EpisodeLimits};
use crate::kit::{gold_str, level};
use crate::rng::TaskRng;
use crate::tools::ToolRegistry;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use verigym_verifiers::VerifyError;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MastermindConfig {
    /// Pegs in the code.
    pub pegs: usize,
    /// Colours, written 1..=colours (repeats allowed in the code).
    pub colours: u8,
    pub max_turns: usize,
    pub max_tokens: usize,
}

pub struct Mastermind {
    config: MastermindConfig,
}

/// Largest number of possible codes (colours^pegs) the solver enumerates.
pub const MAX_CODES: usize = 50_000;
/// Draws of a secret before a too-tight turn limit is an error.
const REDRAWS: usize = 100;
/// Fewest turns a config may allow, and most pegs.
pub const MIN_TURNS: usize = 6;
pub const MAX_PEGS: usize = 6;

/// Candidates at or below which the solver uses the minimax rule.
const EXHAUSTIVE: usize = 60;

type Code = Vec<u8>;
/// Every code of a game, by (pegs, colours).
type CodeCache = Mutex<HashMap<(usize, u8), Arc<Vec<Code>>>>;

/// (black, white) pegs for `guess` against `secret`.
pub fn score(guess: &[u8], secret: &[u8]) -> (u8, u8) {
    let mut black = 0;
    let mut counts = [0i16; 10];
    for (g, s) in guess.iter().zip(secret) {
        if g == s {
            black += 1;
        } else {
            counts[usize::from(*s) % 10] += 1;
            counts[usize::from(*g) % 10] -= 1;
        }
    }
    let mismatched = guess.iter().zip(secret).filter(|(g, s)| g != s).count() as i16;
    let unmatched_guess: i16 = counts.iter().filter(|c| **c > 0).sum();
    // White pegs: colours the unmatched guess and secret pegs share.
    (black, (mismatched - unmatched_guess) as u8)
}

fn show(code: &[u8]) -> String {
    code.iter().map(|c| char::from(b'0' + c)).collect()
}

/// Every code of the game, made once per (pegs, colours) and shared.
fn all_codes(pegs: usize, colours: u8) -> Arc<Vec<Code>> {
    static CACHE: OnceLock<CodeCache> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let mut map = match cache.lock() {
        Ok(m) => m,
        Err(poisoned) => poisoned.into_inner(),
    };
    map.entry((pegs, colours))
        .or_insert_with(|| Arc::new(enumerate(pegs, colours)))
        .clone()
}

fn enumerate(pegs: usize, colours: u8) -> Vec<Code> {
    let mut codes = vec![Vec::new()];
    for _ in 0..pegs {
        codes = codes
            .into_iter()
            .flat_map(|c| {
                (1..=colours).map(move |x| {
                    let mut c = c.clone();
                    c.push(x);
                    c
                })
            })
            .collect();
    }
    codes
}

/// The solver's guesses against `secret`, ending with the secret.
pub fn solve(secret: &[u8], colours: u8) -> Vec<Code> {
    let pegs = secret.len();
    let all = all_codes(pegs, colours);
    let mut candidates: Vec<Code> = Vec::new();
    // Opening 1122..: two pegs of each colour, which splits the codes well.
    let mut guess: Code = (0..pegs).map(|i| (i / 2) as u8 % colours + 1).collect();
    let mut guesses = Vec::new();
    loop {
        guesses.push(guess.clone());
        let seen = score(&guess, secret);
        if usize::from(seen.0) == pegs || guesses.len() > 50 {
            return guesses;
        }
        let from: &[Code] = if guesses.len() == 1 {
            &all
        } else {
            &candidates
        };
        candidates = filter(from, &guess, &seen, |g, s| score(g, s));
        let Some(next) = candidates.get(next_guess(&candidates, |g, s| score(g, s), EXHAUSTIVE))
        else {
            return guesses;
        };
        guess = next.clone();
    }
}

impl MultiFamily for Mastermind {
    type Config = MastermindConfig;
    const NAME: &'static str = "mastermind";
    const DOMAIN: Domain = Domain::Puzzle;
    const DESCRIPTION: &'static str =
        "Find a secret colour code from black/white peg feedback over several turns";
    const TOOLS: &'static [&'static str] = &[];

    fn config_for(difficulty: u8) -> MastermindConfig {
        let (pegs, colours) = level(
            difficulty,
            [
                (3, 3),
                (3, 4),
                (4, 4),
                (4, 5),
                (4, 6),
                (5, 5),
                (4, 8),
                (5, 6),
                (6, 5),
                (5, 8),
            ],
        );
        MastermindConfig {
            pegs,
            colours,
            max_turns: level(difficulty, [7, 8, 8, 9, 10, 10, 12, 11, 11, 13]),
            max_tokens: 4096,
        }
    }

    fn new(config: MastermindConfig) -> Result<Self, String> {
        if !(2..=9).contains(&config.colours) {
            return Err("colours must be in 2..=9".into());
        }
        let codes = (config.colours as usize).checked_pow(config.pegs as u32);
        if !(2..=MAX_PEGS).contains(&config.pegs) || codes.is_none_or(|n| n > MAX_CODES) {
            return Err(format!(
                "pegs must be in 2..={MAX_PEGS} and colours^pegs at most {MAX_CODES}"
            ));
        }
        if !(MIN_TURNS..=100).contains(&config.max_turns) {
            return Err(format!("max_turns must be in {MIN_TURNS}..=100"));
        }
        Ok(Mastermind { config })
    }

    fn limits(&self) -> EpisodeLimits {
        EpisodeLimits {
            max_turns: self.config.max_turns,
            max_tool_calls: 0,
            max_tokens: self.config.max_tokens,
        }
    }

    fn generate(&self, rng: &mut TaskRng) -> Result<Played, String> {
        let c = &self.config;
        // A limit tighter than the solver's worst case: redraw until the reference wins
        // (the defaults never need it; a test checks a spread of codes at every level).
        let mut secret: Code = Vec::new();
        let mut guesses: Vec<String> = Vec::new();
        for _ in 0..REDRAWS {
            secret = (0..c.pegs)
                .map(|_| 1 + rng.below(u64::from(c.colours)) as u8)
                .collect();
            guesses = solve(&secret, c.colours).iter().map(|g| show(g)).collect();
            if guesses.len() <= c.max_turns {
                break;
            }
        }
        let question = format!(
            "Find my secret code of {} pegs. Each peg is a colour from 1 to {}, and colours \
             may repeat. Guess a code by writing its {} digits (for example {}). After each \
             guess I say how many pegs are the right colour in the right place (black) and \
             how many more are a right colour in the wrong place (white). You have {} turns.",
            c.pegs,
            c.colours,
            c.pegs,
            show(
                &(1..=c.pegs as u8)
                    .map(|i| (i - 1) % c.colours + 1)
                    .collect::<Vec<_>>()
            ),
            c.max_turns
        );
        let game = Board {
            secret: secret.clone(),
            colours: c.colours,
        };
        Ok(Played {
            question,
            answer: json!({ "code": show(&secret), "colours": c.colours }),
            reference: reference_transcript(game, &guesses, c.max_turns)?,
        })
    }

    fn episode<'a>(
        &'a self,
        gold: &serde_json::Value,
        _tools: &ToolRegistry,
    ) -> Result<Box<dyn Episode + 'a>, VerifyError> {
        let secret = parse_code(gold_str(gold, "code")?, self.config.colours)
            .ok_or_else(|| VerifyError::InvalidGold("code is not a code of this game".into()))?;
        let game = Board {
            secret,
            colours: self.config.colours,
        };
        Ok(Box::new(GameEpisode::new(
            Self::NAME,
            game,
            self.config.max_turns,
        )))
    }
}

/// Digits 1..=colours, spaces and commas between them ignored.
fn parse_code(s: &str, colours: u8) -> Option<Code> {
    if s.len() > 200 {
        return None;
    }
    s.chars()
        .filter(|c| !c.is_whitespace() && *c != ',')
        .map(|c| {
            c.to_digit(10)
                .map(|d| d as u8)
                .filter(|d| (1..=colours).contains(d))
        })
        .collect()
}

struct Board {
    secret: Code,
    colours: u8,
}

impl Game for Board {
    fn play(&mut self, answer: &str) -> Feedback {
        let pegs = self.secret.len();
        let Some(guess) = parse_code(answer, self.colours).filter(|g| g.len() == pegs) else {
            return Feedback::Invalid(format!(
                "write exactly {pegs} digits, each from 1 to {}",
                self.colours
            ));
        };
        let (black, white) = score(&guess, &self.secret);
        if usize::from(black) == pegs {
            return Feedback::Win;
        }
        Feedback::Miss(format!("{}: {black} black, {white} white.", show(&guess)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pegs_are_scored_as_in_the_board_game() {
        assert_eq!(score(&[1, 2, 3, 4], &[1, 2, 3, 4]), (4, 0));
        assert_eq!(score(&[1, 1, 2, 2], &[2, 2, 1, 1]), (0, 4));
        assert_eq!(score(&[1, 1, 1, 1], &[1, 2, 3, 4]), (1, 0));
        assert_eq!(score(&[1, 2, 2, 3], &[2, 2, 4, 1]), (1, 2));
    }

    #[test]
    fn the_solver_wins_every_code_within_the_turn_limit() {
        // Exhaustive where the code space is small, a spread sample elsewhere.
        for d in 1..=10u8 {
            let c = Mastermind::config_for(d);
            let codes = all_codes(c.pegs, c.colours);
            let step = (codes.len() / 150).max(1);
            let worst = codes
                .iter()
                .step_by(step)
                .map(|s| solve(s, c.colours).len())
                .max()
                .unwrap();
            assert!(worst <= c.max_turns, "level {d}: {worst} > {}", c.max_turns);
        }
    }
}
