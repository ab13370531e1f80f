//! The conformance checks: the contract of [`Environment`] that every env must meet, as
//! functions, so an env written outside this crate gets in its own tests the checks every
//! builtin gets (envs/tests/conformance.rs runs these same functions over the builtins).
//!
//! ```no_run
//! # use verigym_envs::{conformance, Registry};
//! let registry = Registry::builtin();
//! conformance::check_entry(registry.get("arithmetic").unwrap()).unwrap();
//! // or, for a `Family` of your own: conformance::check_family::<MyFamily>()
//! ```
//!
//! Each check builds the env from its registry entry and returns the first way it falls
//! short as a [`ConformanceError`] naming the env, the check and the task.

use crate::env::{Family, DEFAULT_DIFFICULTY, MAX_DIFFICULTY, MIN_DIFFICULTY};
use crate::registry::EnvEntry;
use crate::{EnvOptions, Environment};
use thiserror::Error;

/// How an env falls short of the contract.
#[derive(Debug, Error)]
#[error("{env} fails '{check}': {message}")]
pub struct ConformanceError {
    pub env: String,
    /// The check's function name.
    pub check: &'static str,
    pub message: String,
}

/// Every check, in order; the first failure is returned.
pub fn check_entry(entry: &EnvEntry) -> Result<(), ConformanceError> {
    config_round_trips(entry)?;
    unknown_config_fields_are_rejected(entry)?;
    tasks_are_deterministic(entry)?;
    seeds_give_different_tasks(entry)?;
    reference_solutions_score_one(entry)?;
    garbage_scores_zero(entry)?;
    many_tasks_generate(entry, 1000)?;
    tasks_of_another_env_are_refused(entry)?;
    episodes_are_deterministic(entry)?;
    corrupted_final_turns_score_zero(entry)?;
    hostile_tool_calls_are_survived(entry)?;
    Ok(())
}

/// Every check for a [`Family`] (as registered with `register_family`).
pub fn check_family<F: Family>() -> Result<(), ConformanceError> {
    check_entry(&EnvEntry::family::<F>())
}

/// Completions that must score 0 without an error: empty, malformed, hostile and huge.
pub fn garbage_completions() -> Vec<String> {
    vec![
        String::new(),
        " ".into(),
        "<think>".into(),
        "</think></think>".into(),
        "<answer></answer>".into(),
        "<think>x</think><answer>1</answer><answer>2</answer>".into(),
        "\u{0}\u{feff}\u{202e}ünï©ødé".into(),
        "((((((((((((((((((((((((((((((".into(),
        "9".repeat(100_000),
        "(".repeat(100_000),
        "<answer>".repeat(20_000),
        format!(
            "<think>{}</think><answer>{}</answer>",
            "a".repeat(50_000),
            "1+".repeat(25_000)
        ),
    ]
}

/// A failing check's error.
fn fail(entry: &EnvEntry, check: &'static str, message: impl Into<String>) -> ConformanceError {
    ConformanceError {
        env: entry.name.clone(),
        check,
        message: message.into(),
    }
}

fn build(
    entry: &EnvEntry,
    check: &'static str,
    difficulty: u8,
    config: Option<serde_json::Value>,
) -> Result<Box<dyn Environment>, ConformanceError> {
    entry
        .build(&EnvOptions {
            difficulty: Some(difficulty),
            config,
        })
        .map_err(|e| {
            fail(
                entry,
                check,
                format!("build at difficulty {difficulty}: {e}"),
            )
        })
}

/// The resolved config round-trips through serde, and passed back as overrides it builds
/// an env with the same config that makes the same tasks.
pub fn config_round_trips(entry: &EnvEntry) -> Result<(), ConformanceError> {
    const CHECK: &str = "config_round_trips";
    let env = build(entry, CHECK, DEFAULT_DIFFICULTY, None)?;
    let config = env.config();
    let text = serde_json::to_string(&config).map_err(|e| fail(entry, CHECK, e.to_string()))?;
    let back: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| fail(entry, CHECK, e.to_string()))?;
    if back != config {
        return Err(fail(entry, CHECK, format!("{config} came back as {back}")));
    }
    let again = build(entry, CHECK, DEFAULT_DIFFICULTY, Some(back))?;
    if again.config() != config {
        return Err(fail(
            entry,
            CHECK,
            format!(
                "rebuilt from its own config {config}, it has {}",
                again.config()
            ),
        ));
    }
    let generate = |e: &dyn Environment| {
        e.generate(5, 5)
            .map_err(|err| fail(entry, CHECK, format!("generate(5, 5): {err}")))
    };
    if generate(again.as_ref())? != generate(env.as_ref())? {
        return Err(fail(
            entry,
            CHECK,
            "rebuilt from its own config, it makes another task 5/5",
        ));
    }
    Ok(())
}

/// A config field the env does not have is an error naming it: when the env is built, or
/// (for an env in another process, which sees the config only then) at its first task.
pub fn unknown_config_fields_are_rejected(entry: &EnvEntry) -> Result<(), ConformanceError> {
    const CHECK: &str = "unknown_config_fields_are_rejected";
    let opts = EnvOptions {
        difficulty: None,
        config: Some(serde_json::json!({"no_such_field": 1})),
    };
    let err = match entry.build(&opts) {
        Err(e) => e,
        Ok(env) => match env.generate(0, 0) {
            Err(e) => e,
            Ok(_) => {
                return Err(fail(
                    entry,
                    CHECK,
                    "config {\"no_such_field\": 1} was accepted",
                ))
            }
        },
    };
    if !err.to_string().contains("no_such_field") {
        return Err(fail(
            entry,
            CHECK,
            format!("the error does not name the field: {err}"),
        ));
    }
    Ok(())
}

/// Two builds at the same level make byte-identical tasks for the same (seed, index).
pub fn tasks_are_deterministic(entry: &EnvEntry) -> Result<(), ConformanceError> {
    const CHECK: &str = "tasks_are_deterministic";
    for d in [MIN_DIFFICULTY, 5, MAX_DIFFICULTY] {
        let (a, b) = (build(entry, CHECK, d, None)?, build(entry, CHECK, d, None)?);
        for i in 0..20 {
            let json = |e: &dyn Environment| {
                e.generate(7, i)
                    .map_err(|err| fail(entry, CHECK, format!("d{d} generate(7, {i}): {err}")))
                    .and_then(|t| {
                        serde_json::to_string(&t).map_err(|err| fail(entry, CHECK, err.to_string()))
                    })
            };
            let (x, y) = (json(a.as_ref())?, json(b.as_ref())?);
            if x != y {
                return Err(fail(
                    entry,
                    CHECK,
                    format!("d{d} task 7/{i} differs between two builds:\n{x}\n{y}"),
                ));
            }
        }
    }
    Ok(())
}

/// Seeds matter: at level 5, at least 15 of 20 prompts differ between seeds 1 and 2 (for
/// a multi-turn env, prompt and gold answer together: a game's prompt hides its secret).
pub fn seeds_give_different_tasks(entry: &EnvEntry) -> Result<(), ConformanceError> {
    const CHECK: &str = "seeds_give_different_tasks";
    let env = build(entry, CHECK, 5, None)?;
    let multi = env.is_multi_turn();
    let mut differing = 0;
    for i in 0..20 {
        let prompt = |seed| {
            env.generate(seed, i)
                .map(|t| (t.prompt, multi.then_some(t.answer)))
                .map_err(|e| fail(entry, CHECK, format!("generate({seed}, {i}): {e}")))
        };
        if prompt(1)? != prompt(2)? {
            differing += 1;
        }
    }
    if differing < 15 {
        return Err(fail(
            entry,
            CHECK,
            format!("only {differing}/20 prompts differ between seeds 1 and 2"),
        ));
    }
    Ok(())
}

/// At every level, each task names its env and level and has a reference solution that
/// scores exactly 1 and is correct. For a multi-turn env the reference is an episode:
/// replaying its `solution_turns` must win (10 tasks a level, tools really called).
pub fn reference_solutions_score_one(entry: &EnvEntry) -> Result<(), ConformanceError> {
    const CHECK: &str = "reference_solutions_score_one";
    for d in MIN_DIFFICULTY..=MAX_DIFFICULTY {
        let env = build(entry, CHECK, d, None)?;
        if env.is_multi_turn() {
            for (seed, i) in (0..5).flat_map(|i| [(11, i), (12, i)]) {
                let (task, turns) = multi_turn_task(entry, CHECK, env.as_ref(), seed, i)?;
                let r = replay_or_fail(entry, CHECK, env.as_ref(), &task, &turns)?;
                if !(r.verdict.correct && r.verdict.reward == 1.0) {
                    return Err(fail(
                        entry,
                        CHECK,
                        format!(
                            "d{d} task {seed}/{i}: its reference episode scored {:?}",
                            r.verdict
                        ),
                    ));
                }
            }
            continue;
        }
        for i in 0..30 {
            let at = format!("d{d} task 11/{i}");
            let task = env
                .generate(11, i)
                .map_err(|e| fail(entry, CHECK, format!("{at}: {e}")))?;
            if task.difficulty != d || task.env != entry.name {
                return Err(fail(
                    entry,
                    CHECK,
                    format!(
                        "{at} says env '{}' at difficulty {}",
                        task.env, task.difficulty
                    ),
                ));
            }
            let solution = task
                .solution
                .as_deref()
                .ok_or_else(|| fail(entry, CHECK, format!("{at} has no solution")))?;
            let v = env
                .verify(&task, solution)
                .map_err(|e| fail(entry, CHECK, format!("{at}: verify: {e}")))?;
            if !(v.correct && v.reward == 1.0) {
                return Err(fail(
                    entry,
                    CHECK,
                    format!("{at}: its solution scored {v:?}\n{solution}"),
                ));
            }
        }
    }
    Ok(())
}

/// Empty, malformed, hostile and huge completions ([`garbage_completions`]) score 0 and are
/// never an error.
pub fn garbage_scores_zero(entry: &EnvEntry) -> Result<(), ConformanceError> {
    const CHECK: &str = "garbage_scores_zero";
    let env = build(entry, CHECK, 5, None)?;
    let task = env
        .generate(3, 0)
        .map_err(|e| fail(entry, CHECK, format!("generate(3, 0): {e}")))?;
    for g in garbage_completions() {
        let shown: String = g.chars().take(40).collect();
        let v = env
            .verify(&task, &g)
            .map_err(|e| fail(entry, CHECK, format!("an error for {shown:?}: {e}")))?;
        if v.correct || v.reward != 0.0 {
            return Err(fail(entry, CHECK, format!("{v:?} for {shown:?}")));
        }
    }
    Ok(())
}

/// `n` tasks at the lowest and at the highest level generate without an error.
pub fn many_tasks_generate(entry: &EnvEntry, n: u64) -> Result<(), ConformanceError> {
    const CHECK: &str = "many_tasks_generate";
    for d in [MIN_DIFFICULTY, MAX_DIFFICULTY] {
        let env = build(entry, CHECK, d, None)?;
        for i in 0..n {
            env.generate(42, i)
                .map_err(|e| fail(entry, CHECK, format!("d{d} task 42/{i}: {e}")))?;
        }
    }
    Ok(())
}

/// A task made by another env is an error to `verify`, not a score.
pub fn tasks_of_another_env_are_refused(entry: &EnvEntry) -> Result<(), ConformanceError> {
    const CHECK: &str = "tasks_of_another_env_are_refused";
    let env = build(entry, CHECK, 3, None)?;
    let mut task = env
        .generate(0, 0)
        .map_err(|e| fail(entry, CHECK, format!("generate(0, 0): {e}")))?;
    task.env = format!("not_{}", entry.name);
    match env.verify(&task, task.solution.as_deref().unwrap_or("x")) {
        Err(_) => Ok(()),
        Ok(v) => Err(fail(
            entry,
            CHECK,
            format!("a task of '{}' was scored: {v:?}", task.env),
        )),
    }
}

/// A multi-turn env's task `seed`/`index` and its reference turns.
fn multi_turn_task(
    entry: &EnvEntry,
    check: &'static str,
    env: &dyn Environment,
    seed: u64,
    index: u64,
) -> Result<(crate::Task, Vec<String>), ConformanceError> {
    let at = format!("d{} task {seed}/{index}", env.difficulty());
    let task = env
        .generate(seed, index)
        .map_err(|e| fail(entry, check, format!("{at}: {e}")))?;
    let turns = task
        .solution_turns
        .clone()
        .filter(|t| !t.is_empty())
        .ok_or_else(|| fail(entry, check, format!("{at} has no solution_turns")))?;
    Ok((task, turns))
}

fn replay_or_fail(
    entry: &EnvEntry,
    check: &'static str,
    env: &dyn Environment,
    task: &crate::Task,
    turns: &[String],
) -> Result<crate::Replay, ConformanceError> {
    crate::replay(env, task, turns).map_err(|e| {
        fail(
            entry,
            check,
            format!("task {}/{}: replay: {e}", task.seed, task.index),
        )
    })
}

/// Multi-turn envs: replaying the same turns twice gives the same transcript and verdict.
pub fn episodes_are_deterministic(entry: &EnvEntry) -> Result<(), ConformanceError> {
    const CHECK: &str = "episodes_are_deterministic";
    for d in [MIN_DIFFICULTY, 5, MAX_DIFFICULTY] {
        let env = build(entry, CHECK, d, None)?;
        if !env.is_multi_turn() {
            return Ok(());
        }
        for i in 0..3 {
            let (task, turns) = multi_turn_task(entry, CHECK, env.as_ref(), 21, i)?;
            let a = replay_or_fail(entry, CHECK, env.as_ref(), &task, &turns)?;
            let b = replay_or_fail(entry, CHECK, env.as_ref(), &task, &turns)?;
            if a != b {
                return Err(fail(
                    entry,
                    CHECK,
                    format!("d{d} task 21/{i} replays differently:\n{a:?}\n{b:?}"),
                ));
            }
        }
    }
    Ok(())
}

/// Multi-turn envs: the reference episode with its last turn replaced by a wrong answer
/// scores 0 (the episode may end there or be cut off unfinished).
pub fn corrupted_final_turns_score_zero(entry: &EnvEntry) -> Result<(), ConformanceError> {
    const CHECK: &str = "corrupted_final_turns_score_zero";
    for d in [MIN_DIFFICULTY, MAX_DIFFICULTY] {
        let env = build(entry, CHECK, d, None)?;
        if !env.is_multi_turn() {
            return Ok(());
        }
        for i in 0..3 {
            let (task, mut turns) = multi_turn_task(entry, CHECK, env.as_ref(), 31, i)?;
            for bad in ["<answer>corrupted</answer>", "", "<answer>-1</answer>"] {
                if let Some(last) = turns.last_mut() {
                    *last = bad.to_string();
                }
                let r = replay_or_fail(entry, CHECK, env.as_ref(), &task, &turns)?;
                if r.verdict.correct || r.verdict.reward != 0.0 {
                    return Err(fail(
                        entry,
                        CHECK,
                        format!("d{d} task 31/{i} with last turn {bad:?}: {:?}", r.verdict),
                    ));
                }
            }
        }
    }
    Ok(())
}

/// Hostile arguments for the builtin tools: each must come back as an error result.
pub fn hostile_tool_arguments(tool: &str) -> Vec<serde_json::Value> {
    match tool {
        "calculator" => vec![
            serde_json::json!({"expression": "10^10^10"}),
            serde_json::json!({"expression": "9^9^9^9"}),
            serde_json::json!({"expression": "1/0"}),
        ],
        "python" => vec![
            serde_json::json!({"code": "while True: pass"}),
            serde_json::json!({"code": "print('x' * 100_000_000)"}),
        ],
        _ => Vec::new(),
    }
}

/// Envs with tools: a turn calling a tool with hostile arguments (a huge power, an
/// endless loop, a flood of output) gets an `error: ` tool result and the episode goes
/// on: the reference's final answer on the next turn still scores 1.
pub fn hostile_tool_calls_are_survived(entry: &EnvEntry) -> Result<(), ConformanceError> {
    const CHECK: &str = "hostile_tool_calls_are_survived";
    let env = build(entry, CHECK, DEFAULT_DIFFICULTY, None)?;
    if !env.is_multi_turn() || env.tools().is_empty() {
        return Ok(());
    }
    let (task, turns) = multi_turn_task(entry, CHECK, env.as_ref(), 41, 0)?;
    let last = turns.last().cloned().unwrap_or_default();
    for spec in env.tools() {
        for args in hostile_tool_arguments(&spec.name) {
            let call = crate::tools::render_call(&spec.name, &args);
            let r = replay_or_fail(entry, CHECK, env.as_ref(), &task, &[call, last.clone()])?;
            let answered = r.messages.get(1).filter(|m| m.role == "tool");
            if !answered.is_some_and(|m| m.content.starts_with("error: ")) {
                return Err(fail(
                    entry,
                    CHECK,
                    format!("{} {args} was answered {answered:?}", spec.name),
                ));
            }
            if !r.verdict.correct {
                return Err(fail(
                    entry,
                    CHECK,
                    format!(
                        "after {} {args}, the right answer scored {:?}",
                        spec.name, r.verdict
                    ),
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::math::arithmetic::Arithmetic;
    use crate::{Domain, Problem, TaskRng};
    use verigym_verifiers::{Verdict, VerifyError};

    #[test]
    fn a_builtin_family_passes() {
        check_family::<Arithmetic>().unwrap();
    }

    /// A family that breaks one rule per config flag.
    #[derive(Clone, serde::Serialize, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct FlawConfig {
        wrong_solution: bool,
        ignores_seed: bool,
        accepts_anything: bool,
    }

    struct Flawed(FlawConfig);

    impl Family for Flawed {
        type Config = FlawConfig;
        const NAME: &'static str = "flawed";
        const DOMAIN: Domain = Domain::Math;
        const DESCRIPTION: &'static str = "breaks the rules on request";

        fn config_for(_: u8) -> FlawConfig {
            FlawConfig {
                wrong_solution: false,
                ignores_seed: false,
                accepts_anything: false,
            }
        }
        fn new(config: FlawConfig) -> Result<Self, String> {
            Ok(Flawed(config))
        }
        fn generate(&self, rng: &mut TaskRng) -> Result<Problem, String> {
            let n = if self.0.ignores_seed {
                4
            } else {
                rng.range(0, 1_000_000)
            };
            let answer = if self.0.wrong_solution { n + 1 } else { n };
            Ok(Problem {
                question: format!("Repeat {n}."),
                answer: serde_json::json!(n),
                thinking: "Repeat it.".into(),
                final_answer: answer.to_string(),
            })
        }
        fn verify(&self, gold: &serde_json::Value, answer: &str) -> Result<Verdict, VerifyError> {
            if self.0.accepts_anything || answer.trim().parse().ok() == gold.as_i64() {
                Ok(Verdict::correct(answer))
            } else {
                Ok(Verdict::wrong(Some(answer.into()), "no"))
            }
        }
    }

    /// An entry for `Flawed` whose default config turns on `flaw`.
    fn flawed(flaw: &'static str) -> EnvEntry {
        let plain = EnvEntry::family::<Flawed>();
        EnvEntry::new("flawed", Domain::Math, "", move |opts: &EnvOptions| {
            let mut config = serde_json::json!({ flaw: true });
            if let Some(serde_json::Value::Object(o)) = &opts.config {
                for (k, v) in o {
                    config[k] = v.clone();
                }
            }
            plain.build(&EnvOptions {
                difficulty: opts.difficulty,
                config: Some(config),
            })
        })
    }

    #[test]
    fn each_flaw_is_caught_by_its_check() {
        check_family::<Flawed>().unwrap();
        let err = check_entry(&flawed("wrong_solution")).unwrap_err();
        assert_eq!(err.check, "reference_solutions_score_one", "{err}");
        let err = check_entry(&flawed("ignores_seed")).unwrap_err();
        assert_eq!(err.check, "seeds_give_different_tasks", "{err}");
        assert!(err.to_string().contains("0/20"), "{err}");
        let err = check_entry(&flawed("accepts_anything")).unwrap_err();
        assert_eq!(err.check, "garbage_scores_zero", "{err}");
        assert!(err.to_string().starts_with("flawed fails"), "{err}");
    }
}
