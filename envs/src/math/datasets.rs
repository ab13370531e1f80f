//! Dataset environments over local JSONL files: GSM8K format (Cobbe et al., 2021:
//! `question`, `answer` ending in `#### N`) and MATH format (Hendrycks et al., 2021:
//! `problem`, `solution` with the final answer in `\boxed{}`, optional `answer`).
//!
//! They are not builtin (they need a file): build one with [`DatasetEnv::build`], or register
//! [`gsm8k_entry`] / [`math_entry`] in a `Registry` so `verigym sample`-style tooling can use
//! it by name. A malformed row is an error naming the file and the 1-based line.

use crate::env::{
    check_difficulty, merge_config, verify_formatted, Domain, EnvOptions, Environment,
    DEFAULT_DIFFICULTY,
};
use crate::kit::excerpt;
use crate::kit::with_format;
use crate::math::grade::{braced, parse_rational, MAX_ANSWER_BYTES};
use crate::rng::TaskRng;
use crate::{EnvEntry, EnvError, Prompt, Task};
use serde::{Deserialize, Serialize};
use serde_json::json;
use verigym_verifiers::format::format_completion;
use verigym_verifiers::math::{verify as math_verify, MathOptions};
use verigym_verifiers::{Verdict, VerifyError};

/// Largest dataset file read (bytes).
pub const MAX_FILE_BYTES: u64 = 1 << 30;

/// The two supported row formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DatasetFormat {
    Gsm8k,
    Math,
}

impl DatasetFormat {
    pub fn env_name(self) -> &'static str {
        match self {
            DatasetFormat::Gsm8k => "gsm8k_jsonl",
            DatasetFormat::Math => "math_jsonl",
        }
    }
}

/// How a task index picks a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RowOrder {
    /// Row `index % rows` (seed ignored): for evaluation over the whole file.
    Sequential,
    /// A row drawn from (seed, index): for training mixtures.
    Random,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatasetConfig {
    /// The JSONL file.
    pub path: String,
    pub order: RowOrder,
}

/// One loaded row.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// 1-based line in the file.
    pub line: usize,
    pub question: String,
    /// The gold final answer (a number for GSM8K, the boxed text for MATH).
    pub gold: String,
    /// The reference worked solution (without the final-answer marker).
    pub thinking: String,
}

/// A loaded dataset as an [`Environment`].
pub struct DatasetEnv {
    format: DatasetFormat,
    config: DatasetConfig,
    rows: Vec<Row>,
    difficulty: u8,
}

impl DatasetEnv {
    /// Builds from options whose `config` holds at least `path`.
    pub fn build(format: DatasetFormat, opts: &EnvOptions) -> Result<Self, EnvError> {
        let name = format.env_name();
        let base = DatasetConfig {
            path: String::new(),
            order: RowOrder::Sequential,
        };
        let config: DatasetConfig = merge_config(name, &base, opts.config.as_ref())?;
        if config.path.is_empty() {
            return Err(EnvError::config(
                name,
                "path: the JSONL file to load is required",
            ));
        }
        let difficulty = check_difficulty(opts.difficulty.unwrap_or(DEFAULT_DIFFICULTY))?;
        let rows = load(format, &config.path)?;
        Ok(DatasetEnv {
            format,
            config,
            rows,
            difficulty,
        })
    }

    pub fn rows(&self) -> &[Row] {
        &self.rows
    }
}

/// A registry entry for a GSM8K-format file; `config.path` in the options overrides `path`.
pub fn gsm8k_entry(path: impl Into<String>) -> EnvEntry {
    entry(DatasetFormat::Gsm8k, path.into())
}

/// A registry entry for a MATH-format file; `config.path` in the options overrides `path`.
pub fn math_entry(path: impl Into<String>) -> EnvEntry {
    entry(DatasetFormat::Math, path.into())
}

fn entry(format: DatasetFormat, path: String) -> EnvEntry {
    let description = match format {
        DatasetFormat::Gsm8k => "GSM8K-format JSONL dataset (question / answer with #### N)",
        DatasetFormat::Math => "MATH-format JSONL dataset (problem / solution with \\boxed{})",
    };
    EnvEntry::new(format.env_name(), Domain::Math, description, move |opts| {
        let mut config = opts.config.clone().unwrap_or_else(|| json!({}));
        if let Some(obj) = config.as_object_mut() {
            obj.entry("path").or_insert_with(|| json!(path.clone()));
        }
        let opts = EnvOptions {
            difficulty: opts.difficulty,
            config: Some(config),
        };
        Ok(Box::new(DatasetEnv::build(format, &opts)?) as Box<dyn Environment>)
    })
}

/// Loads and validates every row of a dataset file.
pub fn load(format: DatasetFormat, path: &str) -> Result<Vec<Row>, EnvError> {
    let data_err = |line: usize, message: String| EnvError::Data {
        path: path.to_string(),
        line,
        message,
    };
    let meta = std::fs::metadata(path).map_err(|e| data_err(0, format!("cannot read: {e}")))?;
    if meta.len() > MAX_FILE_BYTES {
        return Err(data_err(
            0,
            format!("file is larger than {MAX_FILE_BYTES} bytes"),
        ));
    }
    let text =
        std::fs::read_to_string(path).map_err(|e| data_err(0, format!("cannot read: {e}")))?;
    let mut rows = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        if line.trim().is_empty() {
            continue;
        }
        let v: serde_json::Value =
            serde_json::from_str(line).map_err(|e| data_err(n, format!("not valid JSON: {e}")))?;
        let field = |k: &str| -> Result<String, EnvError> {
            v.get(k)
                .and_then(|x| x.as_str())
                .map(str::to_string)
                .ok_or_else(|| data_err(n, format!("missing string field \"{k}\"")))
        };
        let row = match format {
            DatasetFormat::Gsm8k => {
                let question = field("question")?;
                let answer = field("answer")?;
                let (work, gold) = answer.rsplit_once("####").ok_or_else(|| {
                    data_err(n, "answer does not end with \"#### <number>\"".into())
                })?;
                let gold = gold.trim().replace(',', "");
                if parse_rational(&gold).is_none() {
                    return Err(data_err(
                        n,
                        format!("final answer {gold:?} after #### is not a number"),
                    ));
                }
                Row {
                    line: n,
                    question,
                    gold,
                    thinking: strip_calculator(work.trim()),
                }
            }
            DatasetFormat::Math => {
                let question = field("problem")?;
                let solution = field("solution")?;
                let boxed = last_boxed(&solution);
                let gold = match v.get("answer").and_then(|a| a.as_str()) {
                    Some(a) if !a.trim().is_empty() => a.trim().to_string(),
                    _ => boxed
                        .ok_or_else(|| data_err(n, "solution has no \\boxed{...} answer".into()))?,
                };
                Row {
                    line: n,
                    question,
                    gold,
                    thinking: solution.trim().to_string(),
                }
            }
        };
        rows.push(row);
    }
    if rows.is_empty() {
        return Err(data_err(0, "the file has no rows".into()));
    }
    Ok(rows)
}

/// Removes GSM8K's calculator annotations `<<48/2=24>>`.
fn strip_calculator(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(open) = rest.find("<<") {
        out.push_str(&rest[..open]);
        match rest[open..].find(">>") {
            Some(close) => rest = &rest[open + close + 2..],
            None => {
                rest = &rest[open..];
                break;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The content of the last `\boxed{...}` (or `\fbox{...}`), braces balanced.
pub fn last_boxed(s: &str) -> Option<String> {
    let (pos, len) = [s.rfind("\\boxed"), s.rfind("\\fbox")]
        .into_iter()
        .zip([6usize, 5])
        .filter_map(|(p, l)| p.map(|p| (p, l)))
        .max_by_key(|(p, _)| *p)?;
    let rest = s.get(pos + len..)?.trim_start();
    braced(rest).map(|(inner, _)| inner.trim().to_string())
}

/// Grades a dataset answer: exact rational equality when both sides are numbers, else the
/// shared math equivalence checker.
pub fn grade(format: DatasetFormat, gold: &str, answer: &str) -> Result<Verdict, VerifyError> {
    if answer.len() > MAX_ANSWER_BYTES {
        return Ok(Verdict::wrong(None, "answer too long"));
    }
    let a = match format {
        DatasetFormat::Gsm8k => answer.trim().trim_start_matches('$').trim(),
        DatasetFormat::Math => answer,
    };
    if let (Some(g), Some(v)) = (parse_rational(gold), parse_rational(a)) {
        return Ok(if g == v {
            Verdict::correct(excerpt(a))
        } else {
            Verdict::wrong(Some(excerpt(a)), format!("expected {gold}"))
        });
    }
    let v = math_verify(gold, a, &MathOptions::default());
    Ok(if v.equal {
        Verdict::correct(v.extracted.unwrap_or_else(|| excerpt(a)))
    } else {
        Verdict::wrong(
            Some(v.extracted.unwrap_or_else(|| excerpt(a))),
            v.reason.unwrap_or_else(|| format!("expected {gold}")),
        )
    })
}

impl Environment for DatasetEnv {
    fn name(&self) -> &str {
        self.format.env_name()
    }

    fn domain(&self) -> Domain {
        Domain::Math
    }

    fn difficulty(&self) -> u8 {
        self.difficulty
    }

    fn config(&self) -> serde_json::Value {
        serde_json::to_value(&self.config).unwrap_or_default()
    }

    fn generate(&self, seed: u64, index: u64) -> Result<Task, EnvError> {
        let n = self.rows.len() as u64;
        let i = match self.config.order {
            RowOrder::Sequential => index % n.max(1),
            RowOrder::Random => TaskRng::for_task(self.name(), seed, index).below(n),
        };
        let row = self
            .rows
            .get(i as usize)
            .ok_or_else(|| EnvError::task(self.name(), "empty dataset"))?;
        Ok(Task {
            env: self.name().to_string(),
            seed,
            index,
            difficulty: self.difficulty,
            prompt: Prompt::Text(with_format(&row.question)),
            answer: json!({ "value": row.gold, "line": row.line }),
            solution: Some(format_completion(&row.thinking, &row.gold)),
            solution_turns: None,
            question: row.question.clone(),
        })
    }

    fn verify(&self, task: &Task, completion: &str) -> Result<Verdict, EnvError> {
        if task.env != self.name() {
            return Err(EnvError::task(
                self.name(),
                format!("task is for '{}'", task.env),
            ));
        }
        let gold = task
            .answer
            .get("value")
            .and_then(|v| v.as_str())
            .ok_or_else(|| EnvError::task(self.name(), "gold answer has no \"value\""))?;
        verify_formatted(completion, |a| grade(self.format, gold, a))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boxed_and_calculator_helpers() {
        assert_eq!(
            last_boxed("so \\boxed{\\frac{1}{2}} and \\boxed{3}"),
            Some("3".into())
        );
        assert_eq!(
            last_boxed("x = \\boxed{\\frac{1}{2}}."),
            Some("\\frac{1}{2}".into())
        );
        assert_eq!(last_boxed("\\boxed{unclosed"), None);
        assert_eq!(
            strip_calculator("48/2 = <<48/2=24>>24 clips"),
            "48/2 = 24 clips"
        );
    }
}
