//! Multi-turn environments: tool use (the model calls `calculator` or `python`, then
//! answers) and games with feedback (wordle, guess the number, mastermind).
//!
//! [`MultiFamily`] is the short way to write one, as [`Family`](crate::Family) is for
//! single-turn envs: a serde config with difficulty levels, a seeded generator that also
//! writes the reference episode, and the episode that plays a task. [`MultiEnv`] adapts it
//! to [`Environment`].

pub mod game;
pub mod guess_number;
pub mod mastermind;
pub mod solver;
pub mod tool_letter_count;
pub mod tool_multiplication;
pub mod tool_sequence_sum;
pub mod wordle;

use crate::env::{check_difficulty, merge_config, verify_formatted, Domain, DEFAULT_DIFFICULTY};
use crate::episode::{Episode, EpisodeLimits, EpisodeStats, Step};
use crate::rng::TaskRng;
use crate::tools::{render_tools, Grader, ToolEpisode, ToolRegistry, ToolSpec};
use crate::{EnvEntry, EnvError, EnvOptions, Environment, Message, Prompt, Task};
use serde::de::DeserializeOwned;
use serde::Serialize;
use verigym_verifiers::{Verdict, VerifyError};

/// This domain's builtin environments, alphabetised by name.
pub fn entries() -> Vec<EnvEntry> {
    vec![
        entry::<guess_number::GuessNumber>(),
        entry::<mastermind::Mastermind>(),
        entry::<tool_letter_count::ToolLetterCount>(),
        entry::<tool_multiplication::ToolMultiplication>(),
        entry::<tool_sequence_sum::ToolSequenceSum>(),
        entry::<wordle::Wordle>(),
    ]
}

/// The system prompt's answer instruction in tool envs (after the tools block).
pub const TOOL_INSTRUCTIONS: &str = "Call tools when they help. When you know the final \
answer, reply without a tool call: think inside <think> </think>, then give only the final \
answer inside <answer> </answer>.";

/// The system prompt of games.
pub const GAME_INSTRUCTIONS: &str = "This is a game played over several turns. In each turn, \
think inside <think> </think> if you like, then give only your move inside <answer> \
</answer>. You will get feedback after each move; every turn counts towards the limit, \
invalid moves included.";

/// What a multi-turn family's generator returns for one task.
#[derive(Debug, Clone, PartialEq)]
pub struct Played {
    /// The problem statement (the user message).
    pub question: String,
    /// Gold spec, read back by `episode`.
    pub answer: serde_json::Value,
    /// The reference episode after the prompt: assistant turns and the env's replies, as
    /// a replay of the assistant turns gives them.
    pub reference: Vec<Message>,
}

/// One multi-turn environment family. Wrap it in [`MultiEnv`] (see [`entry`]).
pub trait MultiFamily: Sized + Send + Sync + 'static {
    type Config: Serialize + DeserializeOwned + Clone + Send + Sync;
    const NAME: &'static str;
    const DOMAIN: Domain;
    const DESCRIPTION: &'static str;
    /// The builtin tools its episodes may call (empty for games).
    const TOOLS: &'static [&'static str];

    /// The config at a difficulty level in 1..=10.
    fn config_for(difficulty: u8) -> Self::Config;
    /// Validates the config once; the message names the offending field.
    fn new(config: Self::Config) -> Result<Self, String>;
    fn limits(&self) -> EpisodeLimits;
    fn generate(&self, rng: &mut TaskRng) -> Result<Played, String>;
    /// The episode of a task with gold spec `gold`; `tools` holds [`Self::TOOLS`].
    fn episode<'a>(
        &'a self,
        gold: &serde_json::Value,
        tools: &ToolRegistry,
    ) -> Result<Box<dyn Episode + 'a>, VerifyError>;
}

/// The registry entry of a [`MultiFamily`].
pub fn entry<F: MultiFamily>() -> EnvEntry {
    EnvEntry::new(F::NAME, F::DOMAIN, F::DESCRIPTION, |opts| {
        Ok(Box::new(MultiEnv::<F>::build(opts)?) as Box<dyn Environment>)
    })
    .with_interaction(true, F::TOOLS.iter().map(|t| t.to_string()).collect())
}

/// A tool-use episode whose final answer turn is graded by `grade` on its answer text
/// (the think/answer format parsed first, as in single-turn envs).
pub fn tool_episode<'a>(
    env: &str,
    tools: &ToolRegistry,
    limits: EpisodeLimits,
    grade: impl Fn(&str) -> Result<Verdict, VerifyError> + Send + 'a,
) -> Box<dyn Episode + 'a> {
    let grader: Grader<'a> = Box::new(move |turn: &str| verify_formatted(turn, &grade));
    Box::new(ToolEpisode::new(env, tools.clone(), limits, grader))
}

/// A tool-use episode whose final answer is an integer that must equal `gold` (`what`
/// names it in the rejection: "wrong product").
pub fn integer_tool_episode<'a>(
    env: &str,
    tools: &ToolRegistry,
    limits: EpisodeLimits,
    gold: num_bigint::BigInt,
    what: &'static str,
) -> Box<dyn Episode + 'a> {
    tool_episode(env, tools, limits, move |answer| {
        Ok(match verigym_verifiers::number::parse_integer(answer) {
            Some(n) if n == gold => Verdict::correct(answer),
            Some(_) => crate::kit::reject(answer, format!("wrong {what}")),
            None => crate::kit::reject(answer, "the answer is not an integer"),
        })
    })
}

/// Adapter from a [`MultiFamily`] to an [`Environment`].
pub struct MultiEnv<F: MultiFamily> {
    family: F,
    config: serde_json::Value,
    difficulty: u8,
    tools: ToolRegistry,
}

impl<F: MultiFamily> MultiEnv<F> {
    pub fn build(opts: &EnvOptions) -> Result<Self, EnvError> {
        let difficulty = check_difficulty(opts.difficulty.unwrap_or(DEFAULT_DIFFICULTY))?;
        let config = merge_config(F::NAME, &F::config_for(difficulty), opts.config.as_ref())?;
        let json =
            serde_json::to_value(&config).map_err(|e| EnvError::config(F::NAME, e.to_string()))?;
        let family = F::new(config).map_err(|m| EnvError::config(F::NAME, m))?;
        let limits = family.limits();
        if limits.max_turns == 0 || limits.max_tokens == 0 {
            return Err(EnvError::config(
                F::NAME,
                "max_turns and max_tokens must be at least 1",
            ));
        }
        let tools = ToolRegistry::builtin_subset(F::TOOLS)
            .map_err(|e| EnvError::config(F::NAME, e.to_string()))?;
        Ok(MultiEnv {
            family,
            config: json,
            difficulty,
            tools,
        })
    }

    pub fn family(&self) -> &F {
        &self.family
    }

    fn system_prompt(&self) -> String {
        if self.tools.is_empty() {
            GAME_INSTRUCTIONS.to_string()
        } else {
            format!(
                "{}\n\n{TOOL_INSTRUCTIONS}",
                render_tools(&self.tools.specs())
            )
        }
    }

    fn check_task(&self, task: &Task) -> Result<(), EnvError> {
        if task.env != F::NAME {
            return Err(EnvError::task(
                F::NAME,
                format!("task is for '{}'", task.env),
            ));
        }
        Ok(())
    }
}

/// A transcript as text: each message as `role: content`, separated by blank lines.
pub fn transcript_text(messages: &[Message]) -> String {
    messages
        .iter()
        .map(|m| format!("{}: {}", m.role, m.content))
        .collect::<Vec<_>>()
        .join("\n\n")
}

impl<F: MultiFamily> Environment for MultiEnv<F> {
    fn name(&self) -> &str {
        F::NAME
    }

    fn domain(&self) -> Domain {
        F::DOMAIN
    }

    fn difficulty(&self) -> u8 {
        self.difficulty
    }

    fn config(&self) -> serde_json::Value {
        self.config.clone()
    }

    fn generate(&self, seed: u64, index: u64) -> Result<Task, EnvError> {
        let mut rng = TaskRng::for_task(F::NAME, seed, index);
        let p = self
            .family
            .generate(&mut rng)
            .map_err(|message| EnvError::Generation {
                env: F::NAME.to_string(),
                seed,
                index,
                message,
            })?;
        let turns: Vec<String> = p
            .reference
            .iter()
            .filter(|m| m.role == "assistant")
            .map(|m| m.content.clone())
            .collect();
        Ok(Task {
            env: F::NAME.to_string(),
            seed,
            index,
            difficulty: self.difficulty,
            prompt: Prompt::Chat(vec![
                Message::new("system", self.system_prompt()),
                Message::new("user", p.question.as_str()),
            ]),
            answer: p.answer,
            solution: Some(transcript_text(&p.reference)),
            solution_turns: Some(turns),
            question: p.question,
        })
    }

    /// One completion is scored as the first (and only) turn of an episode: it counts when
    /// it ends the episode (a direct final answer, a winning first guess); otherwise the
    /// verdict is 0 with a reason saying the env is multi-turn.
    fn verify(&self, task: &Task, completion: &str) -> Result<Verdict, EnvError> {
        self.check_task(task)?;
        let mut ep = self.family.episode(&task.answer, &self.tools)?;
        match ep.step(completion)? {
            Step::Done(v) => Ok(v),
            Step::Continue { .. } => Ok(ep.cut_off(&format!(
                "'{}' is a multi-turn environment and this completion does not end the \
                 episode; score whole episodes from their assistant turns",
                F::NAME
            ))),
        }
    }

    fn multi_turn(&self, task: &Task) -> Option<Box<dyn Episode + '_>> {
        let ep = self
            .check_task(task)
            .and_then(|()| Ok(self.family.episode(&task.answer, &self.tools)?));
        Some(match ep {
            Ok(ep) => ep,
            Err(e) => Box::new(Broken {
                env: F::NAME,
                error: e.to_string(),
            }),
        })
    }

    fn is_multi_turn(&self) -> bool {
        true
    }

    fn tools(&self) -> Vec<ToolSpec> {
        self.tools.specs()
    }

    fn episode_limits(&self) -> Option<EpisodeLimits> {
        Some(self.family.limits())
    }
}

/// The episode of a task that cannot be played (another env's task, an unreadable gold
/// spec): every step is that error.
struct Broken {
    env: &'static str,
    error: String,
}

impl Episode for Broken {
    fn step(&mut self, _: &str) -> Result<Step, EnvError> {
        Err(EnvError::task(self.env, self.error.clone()))
    }

    fn stats(&self) -> EpisodeStats {
        EpisodeStats::default()
    }

    fn cut_off(&mut self, reason: &str) -> Verdict {
        Verdict::wrong(None, reason)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{replay, Registry};

    /// `solution` is exactly the transcript a replay of `solution_turns` gives (tool
    /// results really computed), and that replay wins.
    #[test]
    fn every_reference_transcript_is_what_a_replay_gives() {
        for e in entries() {
            for d in [1, 10] {
                let env = Registry::builtin_at(&e.name, d).unwrap();
                assert!(env.is_multi_turn() && e.multi_turn);
                assert_eq!(
                    env.tools()
                        .iter()
                        .map(|t| t.name.clone())
                        .collect::<Vec<_>>(),
                    e.tools
                );
                let task = env.generate(8, 3).unwrap();
                let r = replay(env.as_ref(), &task, task.solution_turns.as_ref().unwrap()).unwrap();
                assert!(r.verdict.correct, "{} d{d}: {:?}", e.name, r.verdict);
                assert_eq!(
                    Some(transcript_text(&r.messages)),
                    task.solution,
                    "{} d{d}",
                    e.name
                );
                let Prompt::Chat(m) = &task.prompt else {
                    panic!("{}: chat prompt expected", e.name)
                };
                assert_eq!(
                    (m[0].role.as_str(), m[1].content.as_str()),
                    ("system", task.question.as_str())
                );
                assert_eq!(env.tools().is_empty(), !m[0].content.contains("<tools>"));
            }
        }
    }

    #[test]
    fn a_task_of_another_env_is_an_error_not_a_panic() {
        let env = Registry::builtin_at("wordle", 3).unwrap();
        let mut task = env.generate(1, 1).unwrap();
        task.env = "mastermind".into();
        assert!(env.verify(&task, "<answer>x</answer>").is_err());
        assert!(replay(env.as_ref(), &task, &["<answer>x</answer>".to_string()]).is_err());
        let mut task = env.generate(1, 1).unwrap();
        task.answer = serde_json::json!({"word": 5});
        assert!(replay(env.as_ref(), &task, &["<answer>x</answer>".to_string()]).is_err());
    }
}
