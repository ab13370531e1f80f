//! `Episode`: a multi-turn interaction with an environment — tool use, games with feedback.
//! A single-turn task is an episode that ends after the first model turn.
//!
//! Environment-inserted text (tool results, game feedback) comes back as `Continue`
//! messages, so a trainer can render them with its chat template and mask those tokens out
//! of the loss. The message shapes follow the OpenAI / Qwen2.5 chat format: tool results are
//! `tool` messages, game feedback is a `user` message.

use crate::{EnvError, Environment, Message, Task};
use serde::{Deserialize, Serialize};
use verigym_verifiers::Verdict;

/// What the environment answers to one model turn.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// The episode goes on; these messages (role `tool` or `user`) follow the model's turn.
    Continue { messages: Vec<Message> },
    /// The episode is over with this verdict.
    Done(Verdict),
}

/// Counts an episode keeps, for metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EpisodeStats {
    /// Model turns taken.
    pub turns: usize,
    /// Tool calls made (well-formed or not).
    pub tool_calls: usize,
    /// Tool calls that got an error result (malformed, unknown tool, tool failure).
    pub tool_errors: usize,
}

/// The limits of one episode; hitting one ends it with a reason. `max_tokens` counts model
/// and environment tokens after the prompt and is enforced by whoever tokenizes (the sampler).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EpisodeLimits {
    pub max_turns: usize,
    pub max_tool_calls: usize,
    pub max_tokens: usize,
}

impl Default for EpisodeLimits {
    fn default() -> Self {
        EpisodeLimits {
            max_turns: 8,
            max_tool_calls: 8,
            max_tokens: 4096,
        }
    }
}

/// A running interaction. `step` is called with each model turn until it returns `Done`.
pub trait Episode: Send {
    fn step(&mut self, model_turn: &str) -> Result<Step, EnvError>;
    /// Counts so far.
    fn stats(&self) -> EpisodeStats;
    /// Ends the episode from outside (the driver's token budget ran out): the verdict of an
    /// unfinished episode (reward 0, `reason` given).
    fn cut_off(&mut self, reason: &str) -> Verdict;
}

/// The one-step episode every single-turn environment gets by default.
pub struct SingleTurn<'a> {
    env: &'a dyn Environment,
    task: Task,
    done: bool,
}

impl<'a> SingleTurn<'a> {
    pub fn new(env: &'a dyn Environment, task: Task) -> Self {
        SingleTurn {
            env,
            task,
            done: false,
        }
    }
}

impl Episode for SingleTurn<'_> {
    fn step(&mut self, model_turn: &str) -> Result<Step, EnvError> {
        if self.done {
            return Err(EnvError::task(
                self.env.name(),
                "step called after the episode finished",
            ));
        }
        self.done = true;
        Ok(Step::Done(self.env.verify(&self.task, model_turn)?))
    }

    fn stats(&self) -> EpisodeStats {
        EpisodeStats {
            turns: usize::from(self.done),
            ..EpisodeStats::default()
        }
    }

    fn cut_off(&mut self, reason: &str) -> Verdict {
        self.done = true;
        Verdict::wrong(None, reason)
    }
}

/// A whole episode replayed from its assistant turns.
#[derive(Debug, Clone, PartialEq)]
pub struct Replay {
    /// The conversation after the prompt: assistant turns and the env's messages.
    pub messages: Vec<Message>,
    pub verdict: Verdict,
    pub stats: EpisodeStats,
}

/// Replays `turns` (the assistant's turns, in order) through a fresh episode of `task`.
/// Tool results and feedback are recomputed, so the same turns always give the same
/// transcript. Turns that run out before the verdict give the cut-off verdict; turns left
/// over after it are an error.
pub fn replay(env: &dyn Environment, task: &Task, turns: &[String]) -> Result<Replay, EnvError> {
    let mut ep = crate::start_episode(env, task.clone());
    let mut messages = Vec::new();
    for (i, turn) in turns.iter().enumerate() {
        messages.push(Message::new("assistant", turn.as_str()));
        match ep.step(turn)? {
            Step::Continue { messages: more } => messages.extend(more),
            Step::Done(verdict) => {
                if i + 1 < turns.len() {
                    return Err(EnvError::task(
                        env.name(),
                        format!(
                            "the episode ended after turn {} of {}; the rest were never played",
                            i + 1,
                            turns.len()
                        ),
                    ));
                }
                return Ok(Replay {
                    messages,
                    verdict,
                    stats: ep.stats(),
                });
            }
        }
    }
    let verdict = ep.cut_off(&format!(
        "the episode was not finished: {} assistant turns given",
        turns.len()
    ));
    Ok(Replay {
        messages,
        verdict,
        stats: ep.stats(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{start_episode, EnvOptions, Registry};

    #[test]
    fn single_turn_episode_ends_after_one_step() {
        let env = Registry::builtin()
            .build("arithmetic", &EnvOptions::default())
            .unwrap();
        let task = env.generate(1, 2).unwrap();
        let solution = task.solution.clone().unwrap();
        let mut ep = start_episode(env.as_ref(), task);
        match ep.step(&solution).unwrap() {
            Step::Done(v) => assert!(v.correct),
            other => panic!("expected Done, got {other:?}"),
        }
        assert_eq!(ep.stats().turns, 1);
        assert!(
            ep.step(&solution).is_err(),
            "a finished episode refuses more turns"
        );
    }

    #[test]
    fn replay_of_a_single_turn_task() {
        let env = Registry::builtin()
            .build("arithmetic", &EnvOptions::default())
            .unwrap();
        let task = env.generate(1, 2).unwrap();
        let solution = task.solution.clone().unwrap();
        let r = replay(env.as_ref(), &task, std::slice::from_ref(&solution)).unwrap();
        assert!(r.verdict.correct);
        assert_eq!(
            r.messages,
            vec![Message::new("assistant", solution.clone())]
        );
        let none = replay(env.as_ref(), &task, &[]).unwrap();
        assert!(!none.verdict.correct && none.verdict.reason.is_some());
        assert!(replay(env.as_ref(), &task, &[solution.clone(), solution]).is_err());
    }
}
