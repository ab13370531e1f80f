//! `GameEpisode`: the driver of a game played over turns. Each assistant turn is a move
//! read from its `<answer>` block (think block allowed, as in every env); the game answers
//! with feedback in a `user` message until it is won or the turns run out.
//!
//! Every turn counts towards `max_turns`, an invalid move included (it gets feedback
//! saying what was wrong): otherwise a model could stall forever. Reward is 1 for a win
//! within the limit and 0 otherwise; there is no partial credit.

use crate::episode::{Episode, EpisodeStats, Step};
use crate::{EnvError, Message};
use verigym_verifiers::format::parse_think_answer;
use verigym_verifiers::Verdict;

/// What a game says to one move.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Feedback {
    /// Not a move of this game: why.
    Invalid(String),
    /// A legal move that did not win: the feedback text.
    Miss(String),
    Win,
}

/// A game's state between turns.
pub trait Game: Send {
    /// Plays one move, given the answer text of the turn.
    fn play(&mut self, answer: &str) -> Feedback;
}

/// A running game.
pub struct GameEpisode<G: Game> {
    env: &'static str,
    game: G,
    max_turns: usize,
    stats: EpisodeStats,
    done: bool,
}

impl<G: Game> GameEpisode<G> {
    pub fn new(env: &'static str, game: G, max_turns: usize) -> Self {
        GameEpisode {
            env,
            game,
            max_turns,
            stats: EpisodeStats::default(),
            done: false,
        }
    }
}

impl<G: Game> Episode for GameEpisode<G> {
    fn step(&mut self, model_turn: &str) -> Result<Step, EnvError> {
        if self.done {
            return Err(EnvError::task(
                self.env,
                "step called after the episode finished",
            ));
        }
        self.stats.turns += 1;
        let (feedback, answer) = match parse_think_answer(model_turn) {
            Ok(p) => (self.game.play(p.answer), p.answer),
            Err(e) => (
                Feedback::Invalid(format!("{e}; give your move inside <answer> </answer>")),
                "",
            ),
        };
        let text = match feedback {
            Feedback::Win => {
                self.done = true;
                return Ok(Step::Done(Verdict::correct(answer)));
            }
            Feedback::Invalid(why) => format!("Invalid move: {why}."),
            Feedback::Miss(text) => text,
        };
        let left = self.max_turns.saturating_sub(self.stats.turns);
        if left == 0 {
            self.done = true;
            let extracted = (!answer.is_empty()).then(|| answer.chars().take(200).collect());
            return Ok(Step::Done(Verdict::wrong(
                extracted,
                format!(
                    "turn limit reached: max_turns is {} and the game was not won",
                    self.max_turns
                ),
            )));
        }
        let plural = if left == 1 { "" } else { "s" };
        Ok(Step::Continue {
            messages: vec![Message::new(
                "user",
                format!("{text}\n{left} turn{plural} left."),
            )],
        })
    }

    fn stats(&self) -> EpisodeStats {
        self.stats
    }

    fn cut_off(&mut self, reason: &str) -> Verdict {
        self.done = true;
        Verdict::wrong(None, reason)
    }
}

/// Plays `guesses` against `game` (a fresh copy of the task's game) and returns the
/// reference transcript: each guess as an assistant turn, then the feedback the episode
/// would send. Errors when the guesses do not win within `max_turns`.
pub fn reference_transcript<G: Game>(
    mut game: G,
    guesses: &[String],
    max_turns: usize,
) -> Result<Vec<Message>, String> {
    let mut ep = GameEpisode::new("reference", &mut game, max_turns);
    let mut messages = Vec::new();
    for g in guesses {
        let turn = format!("<answer>{g}</answer>");
        messages.push(Message::new("assistant", turn.as_str()));
        match ep.step(&turn).map_err(|e| e.to_string())? {
            Step::Continue { messages: more } => messages.extend(more),
            Step::Done(v) if v.correct => return Ok(messages),
            Step::Done(v) => {
                return Err(format!(
                    "the reference solver did not win: {}",
                    v.reason.unwrap_or_default()
                ))
            }
        }
    }
    Err("the reference solver's guesses ran out before a win".into())
}

impl<G: Game> Game for &mut G {
    fn play(&mut self, answer: &str) -> Feedback {
        (**self).play(answer)
    }
}
