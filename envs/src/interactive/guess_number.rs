//! `guess_number`: find a secret whole number in 1..=N with "higher" / "lower" feedback,
//! the classic binary-search game (as in TextArena's GuessTheNumber).
//!
//! The reference episode is a binary search driven by the feedback, which wins within
//! floor(log2 N) + 1 guesses; the turn limit leaves some slack above that.

use super::game::{reference_transcript, Feedback, Game, GameEpisode};
use super::{MultiFamily, Played};
use crate::env::Domain;
use crate::episode::{Episode, EpisodeLimits};
use crate::kit::{gold_i64, level};
use crate::rng::TaskRng;
use crate::tools::ToolRegistry;
use serde::{Deserialize, Serialize};
use serde_json::json;
use verigym_verifiers::number::parse_integer;
use verigym_verifiers::VerifyError;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GuessNumberConfig {
    /// The secret is drawn uniformly from 1..=max_value.
    pub max_value: u64,
    pub max_turns: usize,
    pub max_tokens: usize,
}

pub struct GuessNumber {
    config: GuessNumberConfig,
}

/// Guesses a binary search needs at most for 1..=n.
pub fn search_turns(n: u64) -> usize {
    (64 - n.leading_zeros()) as usize
}

impl MultiFamily for GuessNumber {
    type Config = GuessNumberConfig;
    const NAME: &'static str = "guess_number";
    const DOMAIN: Domain = Domain::Puzzle;
    const DESCRIPTION: &'static str =
        "Find a secret number with higher/lower feedback over several turns";
    const TOOLS: &'static [&'static str] = &[];

    fn config_for(difficulty: u8) -> GuessNumberConfig {
        let max_value = level(
            difficulty,
            [10, 20, 50, 100, 200, 500, 1000, 5000, 10_000, 100_000],
        );
        let slack = level(difficulty, [3, 3, 3, 2, 2, 2, 2, 1, 1, 1]);
        GuessNumberConfig {
            max_value,
            max_turns: search_turns(max_value) + slack,
            max_tokens: 4096,
        }
    }

    fn new(config: GuessNumberConfig) -> Result<Self, String> {
        if !(2..=1_000_000_000_000).contains(&config.max_value) {
            return Err("max_value must be in 2..=10^12".into());
        }
        let need = search_turns(config.max_value);
        if config.max_turns < need || config.max_turns > 1000 {
            return Err(format!(
                "max_turns must be in {need}..=1000 for max_value {} (a binary search \
                 needs {need} turns)",
                config.max_value
            ));
        }
        Ok(GuessNumber { config })
    }

    fn limits(&self) -> EpisodeLimits {
        EpisodeLimits {
            max_turns: self.config.max_turns,
            max_tool_calls: 0,
            max_tokens: self.config.max_tokens,
        }
    }

    fn generate(&self, rng: &mut TaskRng) -> Result<Played, String> {
        let n = self.config.max_value;
        let secret = 1 + rng.below(n);
        let question = format!(
            "I am thinking of a whole number from 1 to {n}. Find it. After each guess I will \
             tell you whether my number is higher or lower. You have {} turns.",
            self.config.max_turns
        );
        let (mut lo, mut hi) = (1, n);
        let mut guesses = Vec::new();
        loop {
            let g = lo + (hi - lo) / 2;
            guesses.push(g.to_string());
            match g.cmp(&secret) {
                std::cmp::Ordering::Equal => break,
                std::cmp::Ordering::Less => lo = g + 1,
                std::cmp::Ordering::Greater => hi = g - 1,
            }
        }
        let game = Secret { secret, max: n };
        Ok(Played {
            question,
            answer: json!({ "secret": secret, "max_value": n }),
            reference: reference_transcript(game, &guesses, self.config.max_turns)?,
        })
    }

    fn episode<'a>(
        &'a self,
        gold: &serde_json::Value,
        _tools: &ToolRegistry,
    ) -> Result<Box<dyn Episode + 'a>, VerifyError> {
        let game = Secret {
            secret: gold_i64(gold, "secret")? as u64,
            max: gold_i64(gold, "max_value")? as u64,
        };
        Ok(Box::new(GameEpisode::new(
            Self::NAME,
            game,
            self.config.max_turns,
        )))
    }
}

struct Secret {
    secret: u64,
    max: u64,
}

impl Game for Secret {
    fn play(&mut self, answer: &str) -> Feedback {
        let guess = parse_integer(answer).and_then(|g| u64::try_from(g).ok());
        let Some(g) = guess.filter(|g| (1..=self.max).contains(g)) else {
            return Feedback::Invalid(format!("guess one whole number from 1 to {}", self.max));
        };
        match g.cmp(&self.secret) {
            std::cmp::Ordering::Equal => Feedback::Win,
            std::cmp::Ordering::Less => {
                Feedback::Miss(format!("{g} is too low: my number is higher."))
            }
            std::cmp::Ordering::Greater => {
                Feedback::Miss(format!("{g} is too high: my number is lower."))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{replay, Registry};

    #[test]
    fn reference_wins_and_feedback_points_the_way() {
        let env = Registry::builtin_at("guess_number", 10).unwrap();
        let task = env.generate(3, 4).unwrap();
        let turns = task.solution_turns.clone().unwrap();
        let r = replay(env.as_ref(), &task, &turns).unwrap();
        assert!(r.verdict.correct && r.verdict.reward == 1.0);
        assert!(turns.len() <= search_turns(100_000));
        let secret = task.answer["secret"].as_u64().unwrap();
        let low = format!("<answer>{}</answer>", secret.saturating_sub(1).max(1));
        if secret > 1 {
            let r = replay(env.as_ref(), &task, &[low]).unwrap();
            assert!(r.messages[1].content.contains("higher"), "{:?}", r.messages);
            assert_eq!(r.verdict.reward, 0.0);
        }
        assert!(GuessNumber::new(GuessNumberConfig {
            max_value: 100,
            max_turns: 3,
            max_tokens: 10
        })
        .is_err());
    }

    #[test]
    fn invalid_moves_cost_a_turn_and_the_limit_ends_the_game() {
        let env = Registry::builtin_at("guess_number", 1).unwrap();
        let task = env.generate(0, 0).unwrap();
        let limit = env.episode_limits().unwrap().max_turns;
        let turns = vec!["<answer>banana</answer>".to_string(); limit];
        let r = replay(env.as_ref(), &task, &turns).unwrap();
        assert!(r.messages[1].content.starts_with("Invalid move"));
        assert!(!r.verdict.correct);
        assert!(r.verdict.reason.unwrap().contains("max_turns"));
        assert_eq!(r.stats.turns, limit);
    }
}
