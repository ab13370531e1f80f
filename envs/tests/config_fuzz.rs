//! Every knob of every registered environment tried with hostile values: each field of the
//! default config is replaced by zero, negatives, huge numbers, fractions, `null` (what NaN
//! and infinities become in JSON), the wrong type, empty and odd strings and arrays. Each
//! case must end in an error that names the field, or in an environment whose tasks
//! generate and whose reference solutions (reference episodes, for multi-turn envs) score
//! 1.0 — never a panic or a hang.
//!
//! Driven from the registry: a new family is fuzzed by being registered.

use serde_json::{json, Value};
use std::sync::mpsc;
use std::time::Duration;
use verigym_envs::{EnvOptions, Registry};

/// Longest one case may take: building, generating [`TASKS`] tasks and scoring them.
const CASE_LIMIT: Duration = Duration::from_secs(60);
/// Tasks generated and scored for every config that validates.
const TASKS: u64 = 3;

/// Hostile replacements for a field whose default value is `value`.
fn hostile_values(value: &Value) -> Vec<Value> {
    let mut out = vec![
        Value::Null,
        json!("not a value"),
        json!({"nested": 1}),
        json!([]),
    ];
    match value {
        Value::Number(_) => out.extend([
            json!(0),
            json!(-1),
            json!(1),
            json!(2),
            json!(0.5),
            json!(-0.5),
            json!(1.5),
            json!(255),
            json!(256),
            json!(1_000_000),
            json!(i64::MIN),
            json!(i64::MAX),
            json!(u64::MAX),
            json!(1e300),
            json!(-1e300),
            json!(true),
        ]),
        Value::Bool(_) => out.extend([json!(0), json!(1)]),
        Value::String(_) => out.extend([json!(""), json!(7), json!("x".repeat(300))]),
        Value::Array(items) => {
            out.push(json!("x"));
            if let Some(first) = items.first() {
                out.push(json!([first, first, first, first, first, first]));
                for bad in hostile_values(first).into_iter().take(8) {
                    out.push(json!([bad]));
                }
            }
        }
        Value::Object(_) | Value::Null => out.extend([json!(0), json!(-1), json!(1e300)]),
    }
    out
}

/// Builds `name` with `field` set to `value` and, when it validates, generates and scores a
/// few tasks. `Err` describes a broken contract.
fn run_case(name: &str, field: &str, value: &Value) -> Result<(), String> {
    let registry = Registry::builtin();
    let opts = EnvOptions {
        difficulty: Some(3),
        config: Some(json!({ field: value })),
    };
    let env = match registry.build(name, &opts) {
        Ok(env) => env,
        Err(e) => {
            let message = e.to_string();
            return if message.contains(field) {
                Ok(())
            } else {
                Err(format!("error does not name the field: {message}"))
            };
        }
    };
    for i in 0..TASKS {
        let task = env
            .generate(1, i)
            .map_err(|e| format!("validated, then generation failed: {e}"))?;
        // A multi-turn env's reference is an episode: its turns are replayed.
        let verdict = match task.solution_turns.clone().filter(|_| env.is_multi_turn()) {
            Some(turns) => {
                verigym_envs::replay(env.as_ref(), &task, &turns)
                    .map_err(|e| format!("replay error on the reference: {e}"))?
                    .verdict
            }
            None => {
                let solution = task.solution.clone().ok_or("no reference solution")?;
                env.verify(&task, &solution)
                    .map_err(|e| format!("verifier error on the reference: {e}"))?
            }
        };
        if !verdict.correct || verdict.reward != 1.0 {
            return Err(format!("reference scores {}: {verdict:?}", verdict.reward));
        }
    }
    Ok(())
}

#[test]
fn every_knob_of_every_env_refuses_or_runs() {
    let registry = Registry::builtin();
    let mut failures = Vec::new();
    let mut cases = 0;
    for entry in registry.entries() {
        let name = entry.name.clone();
        let config = entry
            .build(&EnvOptions::default())
            .unwrap_or_else(|e| panic!("{name}: default config fails: {e}"))
            .config();
        let Some(fields) = config.as_object() else {
            continue;
        };
        for (field, default) in fields {
            for value in hostile_values(default) {
                cases += 1;
                // Each case on its own thread, so a panic is caught and a hang is timed out.
                let (tx, rx) = mpsc::channel();
                let (n, f, v) = (name.clone(), field.clone(), value.clone());
                std::thread::spawn(move || {
                    let _ = tx.send(run_case(&n, &f, &v));
                });
                let shown = value.to_string();
                let shown = &shown[..shown.len().min(40)];
                match rx.recv_timeout(CASE_LIMIT) {
                    Ok(Ok(())) => {}
                    Ok(Err(why)) => {
                        let why: String = why.chars().take(300).collect();
                        failures.push(format!("{name}.{field} = {shown}: {why}"))
                    }
                    Err(mpsc::RecvTimeoutError::Timeout) => failures.push(format!(
                        "{name}.{field} = {shown}: still running after {CASE_LIMIT:?}"
                    )),
                    Err(mpsc::RecvTimeoutError::Disconnected) => {
                        failures.push(format!("{name}.{field} = {shown}: panicked"))
                    }
                }
            }
        }
    }
    assert!(cases > 1000, "only {cases} cases: is the registry empty?");
    assert!(
        failures.is_empty(),
        "{} of {cases} cases broke the contract:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
