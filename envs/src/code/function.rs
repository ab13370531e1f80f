//! `code_function`: write a Python function to a specification, graded by hidden generated
//! tests (edge cases first, then random inputs) run in the sandbox — the MBPP / HumanEval
//! task shape with tests generated per task instead of a fixed handful.
//!
//! Expected values are computed by Rust reference implementations (`specs.rs`) at
//! generation time and never enter the sandbox; the program's return values are
//! serialised inside the child and compared here.

use super::python::{extract_code, judge_program, task_limits};
use super::specs::{function_name, Kind, Spec, SPECS};
use crate::env::{Domain, Family, Problem};
use crate::kit::render;
use crate::rng::TaskRng;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use verigym_verifiers::sandbox::{TestCase, TestSuite};
use verigym_verifiers::{Verdict, VerifyError};

const TEMPLATE: &str = crate::template!("code_function");

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CodeFunctionConfig {
    /// Specs rated in `min_rating..=max_rating` (1 easy, 3 hard) are drawn.
    pub min_rating: u8,
    pub max_rating: u8,
    /// Longest generated list or string.
    pub max_len: usize,
    /// Largest magnitude of generated integers.
    pub max_abs: i64,
    /// Hidden tests per task (edge cases first).
    pub tests: usize,
    /// Of those, how many are shown in the prompt as examples.
    pub examples: usize,
}

pub struct CodeFunction {
    config: CodeFunctionConfig,
    specs: Vec<&'static Spec>,
}

impl Family for CodeFunction {
    type Config = CodeFunctionConfig;
    const NAME: &'static str = "code_function";
    const DOMAIN: Domain = Domain::Code;
    const DESCRIPTION: &'static str =
        "Write a Python function to a specification; graded by hidden tests in the sandbox";

    fn config_for(difficulty: u8) -> CodeFunctionConfig {
        let d = difficulty.clamp(1, 10);
        CodeFunctionConfig {
            min_rating: if d >= 8 { 2 } else { 1 },
            max_rating: match d {
                1..=2 => 1,
                3..=6 => 2,
                _ => 3,
            },
            max_len: 3 + 2 * usize::from(d),
            max_abs: 5 * i64::from(d) * i64::from(d),
            tests: 4 + usize::from(d) / 2,
            examples: 2,
        }
    }

    fn new(config: CodeFunctionConfig) -> Result<Self, String> {
        if !(1..=3).contains(&config.min_rating)
            || config.min_rating > config.max_rating
            || config.max_rating > 3
        {
            return Err("ratings must satisfy 1 <= min_rating <= max_rating <= 3".into());
        }
        if !(1..=40).contains(&config.max_len) {
            return Err(format!("max_len ({}) must be in 1..=40", config.max_len));
        }
        if !(1..=10_000).contains(&config.max_abs) {
            return Err(format!("max_abs ({}) must be in 1..=10000", config.max_abs));
        }
        if !(1..=50).contains(&config.tests) {
            return Err(format!("tests ({}) must be in 1..=50", config.tests));
        }
        if config.examples > config.tests {
            return Err("examples must not exceed tests".into());
        }
        let specs: Vec<&'static Spec> = SPECS
            .iter()
            .filter(|s| (config.min_rating..=config.max_rating).contains(&s.rating))
            .collect();
        Ok(CodeFunction { config, specs })
    }

    fn generate(&self, rng: &mut TaskRng) -> Result<Problem, String> {
        let spec = *rng
            .choose(&self.specs)
            .ok_or("no specs in the rating range")?;
        let mut tests: Vec<(Vec<Value>, Value)> = Vec::new();
        let mut attempts = 0;
        while tests.len() < self.config.tests && attempts < 20 * self.config.tests {
            let edge = attempts < 3;
            attempts += 1;
            let args = gen_args(spec.kind, rng, &self.config, edge);
            if tests.iter().any(|(a, _)| *a == args) {
                continue;
            }
            let expected = (spec.reference)(&args);
            tests.push((args, expected));
        }
        // Examples are the last (random) tests, so the edge cases stay hidden.
        let shown: Vec<String> = tests
            .iter()
            .rev()
            .take(self.config.examples)
            .map(|(args, exp)| format!("{}({}) == {}", spec.name, py_args(args), py_value(exp)))
            .collect();
        let question = render(
            TEMPLATE,
            &[
                ("signature", spec.signature),
                ("statement", spec.statement),
                ("examples", &shown.join("\n")),
            ],
        );
        let thinking = format!(
            "The function {} must satisfy: {} I handle the edge cases the statement names \
             (empty inputs, ties, signs) and write a direct implementation.",
            spec.name, spec.statement
        );
        Ok(Problem {
            question,
            answer: json!({
                "spec": spec.name,
                "function": function_name(spec),
                "tests": tests.iter().map(|(a, e)| json!({"args": a, "expected": e})).collect::<Vec<_>>(),
            }),
            thinking,
            final_answer: format!("```python\n{}```", spec.python),
        })
    }

    fn verify(&self, gold: &Value, answer: &str) -> Result<Verdict, VerifyError> {
        let suite = call_suite(gold)?;
        judge_program(&extract_code(answer), &suite, &task_limits())
    }
}

/// The hidden tests of a gold spec as a call-style suite.
pub fn call_suite(gold: &Value) -> Result<TestSuite, VerifyError> {
    let bad = || VerifyError::InvalidGold("expected {function, tests: [{args, expected}]}".into());
    let function = gold
        .get("function")
        .and_then(Value::as_str)
        .ok_or_else(bad)?;
    let cases = gold
        .get("tests")
        .and_then(Value::as_array)
        .ok_or_else(bad)?
        .iter()
        .map(|t| {
            Ok(TestCase::Call {
                function: function.to_string(),
                args: t
                    .get("args")
                    .and_then(Value::as_array)
                    .ok_or_else(bad)?
                    .clone(),
                expected: t.get("expected").cloned().ok_or_else(bad)?,
            })
        })
        .collect::<Result<Vec<_>, VerifyError>>()?;
    Ok(TestSuite {
        cases,
        tolerance: None,
    })
}

/// Python literal of a JSON value (None/True/False, lists, strings).
pub fn py_value(v: &Value) -> String {
    match v {
        Value::Null => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Array(a) => format!(
            "[{}]",
            a.iter().map(py_value).collect::<Vec<_>>().join(", ")
        ),
        Value::String(s) => format!("{s:?}"),
        other => other.to_string(),
    }
}

fn py_args(args: &[Value]) -> String {
    args.iter().map(py_value).collect::<Vec<_>>().join(", ")
}

fn int_list(rng: &mut TaskRng, len: usize, max_abs: i64) -> Vec<i64> {
    // Small value ranges half the time, so duplicates, ties and majorities occur.
    let span = if rng.chance(0.5) {
        max_abs.min(4)
    } else {
        max_abs
    };
    (0..len).map(|_| rng.range(-span, span)).collect()
}

fn string_from(rng: &mut TaskRng, alphabet: &[u8], len: usize) -> String {
    (0..len)
        .map(|_| char::from(*rng.choose(alphabet).unwrap_or(&b'a')))
        .collect()
}

/// Arguments for one test. `edge` asks for a boundary input (empty, single, extreme).
fn gen_args(kind: Kind, rng: &mut TaskRng, c: &CodeFunctionConfig, edge: bool) -> Vec<Value> {
    let len = if edge {
        *rng.choose(&[0, 1, 2]).unwrap_or(&0)
    } else {
        rng.range_usize(2, c.max_len.max(2))
    };
    let m = c.max_abs;
    match kind {
        Kind::List => {
            let mut xs = int_list(rng, len, m);
            if !edge && rng.chance(0.2) {
                // a palindrome or a list with a majority, so those answers occur
                let half: Vec<i64> = xs.iter().take(len / 2).copied().collect();
                if rng.chance(0.5) {
                    xs = half.iter().chain(half.iter().rev()).copied().collect();
                } else if let Some(&v) = xs.first() {
                    for x in xs.iter_mut().take(len * 2 / 3 + 1) {
                        *x = v;
                    }
                    rng.shuffle(&mut xs);
                }
            }
            vec![json!(xs)]
        }
        Kind::ListCount => {
            let xs = int_list(rng, len, m);
            vec![json!(xs), json!(rng.range(0, 2 * len as i64 + 2))]
        }
        Kind::ListPositive => {
            let xs = int_list(rng, len, m);
            vec![json!(xs), json!(rng.range(1, len as i64 + 2))]
        }
        Kind::ListTarget => {
            let xs = int_list(rng, len, m);
            let t = match (xs.first(), xs.last()) {
                (Some(a), Some(b)) if rng.chance(0.7) => a + b,
                _ => rng.range(-m, m),
            };
            vec![json!(xs), json!(t)]
        }
        Kind::SortedPair => {
            let mut a = int_list(rng, len, m);
            let blen = rng.range_usize(0, c.max_len);
            let mut b = int_list(rng, blen, m);
            a.sort_unstable();
            b.sort_unstable();
            vec![json!(a), json!(b)]
        }
        Kind::Int => {
            let big = m * m;
            let n = if edge {
                *rng.choose(&[0, 1, -1, 2, 10, -100]).unwrap_or(&0)
            } else {
                rng.range(-big, big)
            };
            vec![json!(n)]
        }
        Kind::Natural => {
            let n = if edge {
                rng.range(0, 1)
            } else {
                rng.range(0, m * m)
            };
            vec![json!(n)]
        }
        Kind::Positive => {
            let n = if edge {
                rng.range(1, 2)
            } else {
                rng.range(1, m * 20)
            };
            vec![json!(n)]
        }
        Kind::Small => {
            let n = if edge {
                rng.range(0, 2)
            } else {
                rng.range(0, (5 + m / 10).min(60))
            };
            vec![json!(n)]
        }
        Kind::IntPair => {
            let (a, b) = if edge {
                (rng.range(-1, 1) * rng.range(0, m), 0)
            } else {
                let g = rng.range(1, 12);
                (g * rng.range(-m, m), g * rng.range(-m, m))
            };
            vec![json!(a), json!(b)]
        }
        Kind::Words => {
            let s = string_from(rng, b"aAbeEiIoOuUrstnlmk  ", len * 2);
            vec![json!(s)]
        }
        Kind::Runs => vec![json!(string_from(rng, b"aabbc", len * 2))],
        Kind::Phrase => {
            let half = string_from(rng, b"abcAB1 ,.!", len);
            let s = if rng.chance(0.5) {
                let rev: String = half
                    .chars()
                    .rev()
                    .map(|ch| {
                        if rng.chance(0.3) {
                            ch.to_ascii_uppercase()
                        } else {
                            ch
                        }
                    })
                    .collect();
                format!("{half}{rev}")
            } else {
                half
            };
            vec![json!(s)]
        }
        Kind::TextShift => {
            let s = string_from(rng, b"abcxyz .!Q", len * 2);
            vec![json!(s), json!(rng.range(-30, 60))]
        }
        Kind::StrPair => {
            let a = string_from(rng, b"abcdeA ", len * 2);
            let mut b: Vec<char> = a.chars().collect();
            rng.shuffle(&mut b);
            let mut b: String = b.into_iter().collect();
            if rng.chance(0.4) {
                b = string_from(rng, b"abcdeA ", len * 2);
            }
            vec![json!(a), json!(b)]
        }
        Kind::Needle => {
            let s = string_from(rng, b"ab", len * 3);
            let tlen = rng.range_usize(1, 3);
            let t = string_from(rng, b"ab", tlen);
            vec![json!(s), json!(t)]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_literals() {
        assert_eq!(
            py_value(&json!([1, null, true, "a\"b"])),
            "[1, None, True, \"a\\\"b\"]"
        );
    }

    #[test]
    fn tests_start_with_edge_cases_and_are_distinct() {
        let fam = CodeFunction::new(CodeFunction::config_for(5)).unwrap();
        for i in 0..50 {
            let p = fam
                .generate(&mut TaskRng::for_task("code_function", 1, i))
                .unwrap();
            let tests = p.answer["tests"].as_array().unwrap();
            assert_eq!(tests.len(), 6);
            for (k, a) in tests.iter().enumerate() {
                for b in &tests[k + 1..] {
                    assert_ne!(a["args"], b["args"]);
                }
            }
        }
    }
}
