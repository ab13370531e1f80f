//! `ToolEpisode`: the generic driver of a tool-use episode. Each assistant turn either
//! calls tools (each call is run and answered by one `tool` message, and the episode goes
//! on) or is the final answer, which the env's grader scores.
//!
//! Follows the Qwen2.5 / Hermes function-calling loop. Limits end the episode with reward
//! 0 and a reason naming the limit. The verdict gets a `tool_use` component (1 when at least
//! one call succeeded), logged with weight 0: the reward stays the accuracy.

use super::call::parse_tool_calls;
use super::ToolRegistry;
use crate::episode::{Episode, EpisodeLimits, EpisodeStats, Step};
use crate::{EnvError, Message};
use verigym_verifiers::Verdict;

/// Scores a final answer turn (the whole turn text).
pub type Grader<'a> = Box<dyn Fn(&str) -> Result<Verdict, EnvError> + Send + 'a>;

/// A running tool-use episode.
pub struct ToolEpisode<'a> {
    env: String,
    tools: ToolRegistry,
    limits: EpisodeLimits,
    grade: Grader<'a>,
    stats: EpisodeStats,
    succeeded: usize,
    done: bool,
}

impl<'a> ToolEpisode<'a> {
    /// An episode of env `env` that may call `tools` within `limits`; `grade` scores the
    /// final answer turn.
    pub fn new(env: &str, tools: ToolRegistry, limits: EpisodeLimits, grade: Grader<'a>) -> Self {
        ToolEpisode {
            env: env.to_string(),
            tools,
            limits,
            grade,
            stats: EpisodeStats::default(),
            succeeded: 0,
            done: false,
        }
    }

    fn tool_use(&self) -> f64 {
        if self.succeeded > 0 {
            1.0
        } else {
            0.0
        }
    }

    fn end(&mut self, verdict: Verdict) -> Step {
        self.done = true;
        Step::Done(verdict.with_component("tool_use", self.tool_use()))
    }
}

impl Episode for ToolEpisode<'_> {
    fn step(&mut self, model_turn: &str) -> Result<Step, EnvError> {
        if self.done {
            return Err(EnvError::task(
                &self.env,
                "step called after the episode finished",
            ));
        }
        self.stats.turns += 1;
        let calls = parse_tool_calls(model_turn);
        if calls.is_empty() {
            let verdict = (self.grade)(model_turn)?;
            return Ok(self.end(verdict));
        }
        let max = self.limits.max_tool_calls;
        if self.stats.tool_calls + calls.len() > max {
            let reason = format!(
                "tool-call limit reached: max_tool_calls is {max}, and this turn makes {} calls \
                 after {}",
                calls.len(),
                self.stats.tool_calls
            );
            return Ok(self.end(Verdict::wrong(None, reason)));
        }
        let mut messages = Vec::with_capacity(calls.len());
        for call in calls {
            self.stats.tool_calls += 1;
            let result = call
                .map_err(|e| e.to_string())
                .and_then(|c| self.tools.call(&c));
            let content = match result {
                Ok(text) => {
                    self.succeeded += 1;
                    text
                }
                Err(e) => {
                    self.stats.tool_errors += 1;
                    format!("error: {e}")
                }
            };
            messages.push(Message::new("tool", content));
        }
        if self.stats.turns >= self.limits.max_turns {
            let reason = format!(
                "turn limit reached: max_turns is {} and no final answer was given",
                self.limits.max_turns
            );
            return Ok(self.end(Verdict::wrong(None, reason)));
        }
        Ok(Step::Continue { messages })
    }

    fn stats(&self) -> EpisodeStats {
        self.stats
    }

    fn cut_off(&mut self, reason: &str) -> Verdict {
        self.done = true;
        Verdict::wrong(None, reason).with_component("tool_use", self.tool_use())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::call::render_call;
    use serde_json::json;

    fn episode(limits: EpisodeLimits) -> ToolEpisode<'static> {
        let tools = ToolRegistry::builtin_subset(&["calculator"]).unwrap();
        ToolEpisode::new(
            "t",
            tools,
            limits,
            Box::new(|turn: &str| {
                Ok(if turn.contains("<answer>42</answer>") {
                    Verdict::correct("42")
                } else {
                    Verdict::wrong(None, "not 42")
                })
            }),
        )
    }

    fn calc(expr: &str) -> String {
        render_call("calculator", &json!({ "expression": expr }))
    }

    #[test]
    fn calls_are_answered_then_the_answer_is_graded() {
        let mut ep = episode(EpisodeLimits::default());
        let turn = format!("{}\n{}", calc("6*7"), calc("1/0"));
        let Step::Continue { messages } = ep.step(&turn).unwrap() else {
            panic!("expected Continue");
        };
        assert_eq!(messages[0], Message::new("tool", "42"));
        assert!(messages[1].content.starts_with("error: division by zero"));
        let Step::Continue { messages } = ep.step("<tool_call>{oops</tool_call>").unwrap() else {
            panic!("expected Continue");
        };
        assert!(messages[0]
            .content
            .starts_with("error: the tool call is not valid JSON"));
        let Step::Done(v) = ep.step("<answer>42</answer>").unwrap() else {
            panic!("expected Done");
        };
        assert!(v.correct && v.reward == 1.0);
        assert_eq!(v.components["tool_use"], 1.0);
        assert_eq!(
            ep.stats(),
            EpisodeStats {
                turns: 3,
                tool_calls: 3,
                tool_errors: 2
            }
        );
        assert!(ep.step("<answer>42</answer>").is_err());
    }

    #[test]
    fn an_answer_without_tools_has_tool_use_zero() {
        let mut ep = episode(EpisodeLimits::default());
        let Step::Done(v) = ep.step("<answer>42</answer>").unwrap() else {
            panic!("expected Done");
        };
        assert!(v.correct && v.components["tool_use"] == 0.0);
    }

    #[test]
    fn limits_end_the_episode_with_a_reason() {
        let limits = EpisodeLimits {
            max_turns: 2,
            max_tool_calls: 2,
            max_tokens: 100,
        };
        let mut ep = episode(limits);
        assert!(matches!(
            ep.step(&calc("1")).unwrap(),
            Step::Continue { .. }
        ));
        let Step::Done(v) = ep.step(&calc("2")).unwrap() else {
            panic!("the turn limit must end it");
        };
        assert!(!v.correct && v.reward == 0.0);
        assert!(v.reason.unwrap().contains("max_turns"));

        let mut ep = episode(limits);
        let three = format!("{}{}{}", calc("1"), calc("2"), calc("3"));
        let Step::Done(v) = ep.step(&three).unwrap() else {
            panic!("the tool-call limit must end it");
        };
        assert!(v.reason.unwrap().contains("max_tool_calls"));
        let cut = episode(limits).cut_off("out of tokens");
        assert_eq!(cut.reason.as_deref(), Some("out of tokens"));
    }
}
