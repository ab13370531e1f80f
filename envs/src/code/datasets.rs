//! JSONL loaders for public code benchmarks, each becoming an `Environment` whose tasks
//! are judged in the sandbox: HumanEval / MBPP (prompt + assertion test code),
//! APPS / CodeContests (stdin/stdout pairs; APPS call-based problems too) and
//! LiveCodeBench (functional and stdin tests). Field names follow the datasets' own
//! releases (openai/human-eval, google-research/mbpp, hendrycks/apps,
//! deepmind/code_contests, LiveCodeBench/code_generation). Not in the builtin registry:
//! build one from a file with [`CodeDataset::from_jsonl`] and add it with one call.

use super::python::{extract_code, judge_program, task_limits};
use crate::env::{verify_formatted, Domain, Environment};
use crate::kit::with_format;
use crate::rng::TaskRng;
use crate::{EnvError, Prompt, Task};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use verigym_verifiers::format::format_completion;
use verigym_verifiers::sandbox::{Limits, TestCase, TestSuite};
use verigym_verifiers::{Verdict, VerifyError};

/// Which public format a JSONL file is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DatasetFormat {
    HumanEval,
    Mbpp,
    Apps,
    CodeContests,
    LiveCodeBench,
}

impl DatasetFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            DatasetFormat::HumanEval => "humaneval",
            DatasetFormat::Mbpp => "mbpp",
            DatasetFormat::Apps => "apps",
            DatasetFormat::CodeContests => "codecontests",
            DatasetFormat::LiveCodeBench => "livecodebench",
        }
    }
}

/// One loaded problem.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CodeProblem {
    pub id: String,
    pub question: String,
    pub suite: TestSuite,
    /// Code prepended to an answer that does not define the entry point itself
    /// (HumanEval completions continue the prompt).
    pub prefix: Option<String>,
    pub entry_point: Option<String>,
    /// A known-correct program, where the dataset ships one.
    pub reference: Option<String>,
}

/// A code benchmark loaded from JSONL.
pub struct CodeDataset {
    name: String,
    format: DatasetFormat,
    problems: Vec<CodeProblem>,
    limits: Limits,
    max_tests: usize,
}

/// Most tests kept per problem (CodeContests ships hundreds of generated ones).
pub const DEFAULT_MAX_TESTS: usize = 50;

fn data_err(path: &str, line: usize, message: impl Into<String>) -> EnvError {
    EnvError::Data {
        path: path.to_string(),
        line,
        message: message.into(),
    }
}

/// A field that some releases store as a JSON string holding JSON.
fn nested_json(v: Option<&Value>) -> Option<Value> {
    match v? {
        Value::String(s) => serde_json::from_str(s).ok(),
        other => Some(other.clone()),
    }
}

fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(lines) => lines
            .iter()
            .map(|l| {
                l.as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| l.to_string())
            })
            .collect::<Vec<_>>()
            .join("\n"),
        other => other.to_string(),
    }
}

fn str_field<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

impl CodeDataset {
    /// Loads a JSONL file; `name` is the environment name tasks carry.
    pub fn from_jsonl(
        path: &std::path::Path,
        format: DatasetFormat,
        name: &str,
    ) -> Result<CodeDataset, EnvError> {
        let text = std::fs::read_to_string(path)?;
        Self::from_jsonl_str(&text, format, name, &path.display().to_string())
    }

    /// Parses JSONL text (`source` names it in errors).
    pub fn from_jsonl_str(
        text: &str,
        format: DatasetFormat,
        name: &str,
        source: &str,
    ) -> Result<CodeDataset, EnvError> {
        let mut problems = Vec::new();
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let v: Value =
                serde_json::from_str(line).map_err(|e| data_err(source, i + 1, e.to_string()))?;
            let p = parse_problem(&v, format, DEFAULT_MAX_TESTS)
                .map_err(|m| data_err(source, i + 1, m))?;
            problems.push(p);
        }
        if problems.is_empty() {
            return Err(data_err(source, 0, "no problems"));
        }
        Ok(CodeDataset {
            name: name.to_string(),
            format,
            problems,
            limits: task_limits(),
            max_tests: DEFAULT_MAX_TESTS,
        })
    }

    /// Replaces the per-test limits (competition problems often need more time).
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    pub fn problems(&self) -> &[CodeProblem] {
        &self.problems
    }

    /// The problem task `index` under `seed` shows: a seeded permutation, so indices
    /// 0..len visit every problem once.
    fn pick(&self, seed: u64, index: u64) -> &CodeProblem {
        let n = self.problems.len();
        let mut order: Vec<usize> = (0..n).collect();
        if seed != 0 {
            TaskRng::for_task(&self.name, seed, 0).shuffle(&mut order);
        }
        let k = order.get((index % n as u64) as usize).copied().unwrap_or(0);
        &self.problems[k.min(n - 1)]
    }
}

fn parse_problem(
    v: &Value,
    format: DatasetFormat,
    max_tests: usize,
) -> Result<CodeProblem, String> {
    let need = |k: &str| str_field(v, k).ok_or_else(|| format!("missing string field '{k}'"));
    let id = [
        "task_id",
        "problem_id",
        "name",
        "question_id",
        "question_title",
    ]
    .iter()
    .find_map(|k| v.get(*k))
    .map(|x| {
        x.as_str()
            .map(str::to_string)
            .unwrap_or_else(|| x.to_string())
    })
    .unwrap_or_default();
    let problem = match format {
        DatasetFormat::HumanEval => {
            let prompt = need("prompt")?;
            let entry = need("entry_point")?;
            CodeProblem {
                id,
                question: format!(
                    "Complete the following Python function.\n\n```python\n{}\n```\n\nAnswer with the complete function in a ```python block.",
                    prompt.trim_end()
                ),
                suite: TestSuite {
                    cases: vec![TestCase::Assert {
                        test_code: need("test")?.to_string(),
                        entry_point: Some(entry.to_string()),
                    }],
                    tolerance: None,
                },
                prefix: Some(prompt.to_string()),
                entry_point: Some(entry.to_string()),
                reference: str_field(v, "canonical_solution").map(|s| format!("{prompt}{s}")),
            }
        }
        DatasetFormat::Mbpp => {
            let tests: Vec<String> = v
                .get("test_list")
                .and_then(Value::as_array)
                .ok_or("missing 'test_list'")?
                .iter()
                .filter_map(|t| t.as_str().map(str::to_string))
                .collect();
            let first = tests.first().ok_or("empty 'test_list'")?;
            let setup = str_field(v, "test_setup_code").unwrap_or("");
            let statement = str_field(v, "text")
                .or_else(|| str_field(v, "prompt"))
                .ok_or("missing 'text'")?;
            CodeProblem {
                id,
                question: format!(
                    "{statement}\nYour code should pass this test:\n{first}\n\nAnswer with the Python code in a ```python block."
                ),
                suite: TestSuite {
                    cases: vec![TestCase::Assert {
                        test_code: format!("{setup}\n{}", tests.join("\n")),
                        entry_point: None,
                    }],
                    tolerance: None,
                },
                prefix: None,
                entry_point: None,
                reference: str_field(v, "code").map(str::to_string),
            }
        }
        DatasetFormat::Apps => {
            let io = nested_json(v.get("input_output")).ok_or("missing 'input_output'")?;
            let inputs = io
                .get("inputs")
                .and_then(Value::as_array)
                .ok_or("missing 'inputs'")?;
            let outputs = io
                .get("outputs")
                .and_then(Value::as_array)
                .ok_or("missing 'outputs'")?;
            if inputs.len() != outputs.len() {
                return Err("inputs and outputs differ in length".into());
            }
            let fn_name = io.get("fn_name").and_then(Value::as_str);
            let cases: Vec<TestCase> = inputs
                .iter()
                .zip(outputs.iter())
                .take(max_tests)
                .map(|(i, o)| match fn_name {
                    Some(f) => TestCase::Call {
                        function: f.to_string(),
                        args: i.as_array().cloned().unwrap_or_else(|| vec![i.clone()]),
                        // APPS wraps call-based results in a one-element list.
                        expected: match o {
                            Value::Array(a) if a.len() == 1 => a[0].clone(),
                            other => other.clone(),
                        },
                    },
                    None => TestCase::Io {
                        input: text_of(i),
                        output: text_of(o),
                    },
                })
                .collect();
            let reference = nested_json(v.get("solutions")).and_then(|s| {
                s.as_array()
                    .and_then(|a| a.first())
                    .and_then(Value::as_str)
                    .map(str::to_string)
            });
            let how = match fn_name {
                Some(f) => format!("Write a Python function `{f}`."),
                None => "Read from standard input and write to standard output.".to_string(),
            };
            CodeProblem {
                id,
                question: format!(
                    "{}\n\n{how} Answer with the Python program in a ```python block.",
                    need("question")?.trim_end()
                ),
                suite: TestSuite {
                    cases,
                    tolerance: None,
                },
                prefix: None,
                entry_point: fn_name.map(str::to_string),
                reference,
            }
        }
        DatasetFormat::CodeContests => {
            let mut cases = Vec::new();
            for key in ["public_tests", "private_tests", "generated_tests"] {
                let Some(t) = v.get(key) else { continue };
                let ins = t.get("input").and_then(Value::as_array);
                let outs = t.get("output").and_then(Value::as_array);
                if let (Some(ins), Some(outs)) = (ins, outs) {
                    for (i, o) in ins.iter().zip(outs.iter()) {
                        if cases.len() < max_tests {
                            cases.push(TestCase::Io {
                                input: text_of(i),
                                output: text_of(o),
                            });
                        }
                    }
                }
            }
            // language 3 is PYTHON3 in the CodeContests release
            let reference = v.get("solutions").and_then(|s| {
                let langs = s.get("language")?.as_array()?;
                let sols = s.get("solution")?.as_array()?;
                langs
                    .iter()
                    .zip(sols.iter())
                    .find(|(l, _)| l.as_i64() == Some(3))
                    .and_then(|(_, s)| s.as_str().map(str::to_string))
            });
            CodeProblem {
                id,
                question: format!(
                    "{}\n\nRead from standard input and write to standard output. Answer with the Python program in a ```python block.",
                    need("description")?.trim_end()
                ),
                suite: TestSuite { cases, tolerance: None },
                prefix: None,
                entry_point: None,
                reference,
            }
        }
        DatasetFormat::LiveCodeBench => {
            let meta = nested_json(v.get("metadata")).unwrap_or(Value::Null);
            let func = meta.get("func_name").and_then(Value::as_str);
            let starter = str_field(v, "starter_code").unwrap_or("");
            let function = func.map(|f| {
                if starter.contains("class Solution") {
                    format!("Solution.{f}")
                } else {
                    f.to_string()
                }
            });
            let mut cases = Vec::new();
            for key in ["public_test_cases", "private_test_cases"] {
                // Private tests in the official release may be compressed; only plain
                // JSON lists are read.
                let Some(Value::Array(list)) = nested_json(v.get(key)) else {
                    continue;
                };
                for t in list {
                    if cases.len() >= max_tests {
                        break;
                    }
                    let input = str_field(&t, "input").ok_or("test without 'input'")?;
                    let output = str_field(&t, "output").ok_or("test without 'output'")?;
                    if str_field(&t, "testtype") == Some("functional") {
                        let f = function
                            .clone()
                            .ok_or("functional test without metadata.func_name")?;
                        let args = input
                            .lines()
                            .filter(|l| !l.trim().is_empty())
                            .map(serde_json::from_str::<Value>)
                            .collect::<Result<Vec<_>, _>>()
                            .map_err(|e| format!("functional input: {e}"))?;
                        let expected = serde_json::from_str(output)
                            .map_err(|e| format!("functional output: {e}"))?;
                        cases.push(TestCase::Call {
                            function: f,
                            args,
                            expected,
                        });
                    } else {
                        cases.push(TestCase::Io {
                            input: input.to_string(),
                            output: output.to_string(),
                        });
                    }
                }
            }
            let mut question = need("question_content")?.trim_end().to_string();
            if !starter.trim().is_empty() {
                question.push_str(&format!(
                    "\n\nStart from:\n```python\n{}\n```",
                    starter.trim_end()
                ));
            }
            question.push_str("\n\nAnswer with the Python code in a ```python block.");
            CodeProblem {
                id,
                question,
                suite: TestSuite {
                    cases,
                    tolerance: None,
                },
                prefix: None,
                entry_point: func.map(str::to_string),
                reference: None,
            }
        }
    };
    problem.suite.validate().map_err(|e| e.to_string())?;
    Ok(problem)
}

impl Environment for CodeDataset {
    fn name(&self) -> &str {
        &self.name
    }

    fn domain(&self) -> Domain {
        Domain::Code
    }

    fn difficulty(&self) -> u8 {
        crate::env::DEFAULT_DIFFICULTY
    }

    fn config(&self) -> Value {
        json!({"format": self.format.as_str(), "problems": self.problems.len(), "max_tests": self.max_tests})
    }

    fn generate(&self, seed: u64, index: u64) -> Result<Task, EnvError> {
        let p = self.pick(seed, index);
        let solution = p.reference.as_ref().map(|r| {
            format_completion(
                "I implement the specification directly.",
                &format!("```python\n{}\n```", r.trim_end()),
            )
        });
        Ok(Task {
            env: self.name.clone(),
            seed,
            index,
            difficulty: self.difficulty(),
            prompt: Prompt::Text(with_format(&p.question)),
            answer: json!({
                "id": p.id,
                "suite": p.suite,
                "prefix": p.prefix,
                "entry_point": p.entry_point,
            }),
            solution,
            solution_turns: None,
            question: p.question.clone(),
        })
    }

    fn verify(&self, task: &Task, completion: &str) -> Result<Verdict, EnvError> {
        if task.env != self.name {
            return Err(EnvError::task(
                &self.name,
                format!("task is for '{}'", task.env),
            ));
        }
        let suite: TestSuite =
            serde_json::from_value(task.answer.get("suite").cloned().unwrap_or(Value::Null))
                .map_err(|e| VerifyError::InvalidGold(format!("suite: {e}")))?;
        let prefix = task.answer.get("prefix").and_then(Value::as_str);
        let entry = task.answer.get("entry_point").and_then(Value::as_str);
        verify_formatted(completion, |answer| {
            let mut program = extract_code(answer);
            if let (Some(prefix), Some(entry)) = (prefix, entry) {
                if !program.contains(&format!("def {entry}")) {
                    program = format!("{prefix}{program}");
                }
            }
            judge_program(&program, &suite, &self.limits)
        })
    }
}
