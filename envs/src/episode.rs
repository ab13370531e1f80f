//! `Episode`: a multi-turn interaction with an environment. A single-turn task is an
//! episode that ends after the first model turn.
//!
//! Environment-inserted text (tool results, observations) is returned as `Continue`
//! observations so the learner can mask those tokens out of the loss.

use crate::{EnvError, Environment, Task};
use verigym_verifiers::Verdict;

/// What the environment answers to one model turn.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// The episode goes on; the observation is appended to the conversation.
    Continue { observation: String },
    /// The episode is over with this verdict.
    Done(Verdict),
}

/// A running interaction. `step` is called with each model turn until it returns `Done`.
pub trait Episode: Send {
    fn step(&mut self, model_turn: &str) -> Result<Step, EnvError>;
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
        assert!(
            ep.step(&solution).is_err(),
            "a finished episode refuses more turns"
        );
    }
}
