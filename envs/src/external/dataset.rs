//! Datasets with a chosen verifier: a JSONL or Parquet file of questions and gold answers
//! becomes an environment graded by one of the builtin verifiers (math equivalence, exact
//! string, integer, number within a tolerance, multiple-choice letter, or code tests in the
//! sandbox).
//!
//! Rows are picked from (seed, index) as the GSM8K / MATH dataset envs do
//! ([`crate::math::datasets`]): in file order by default, or drawn at random with the config
//! override `{"order": "random"}`. Difficulty has no meaning for a dataset: every level
//! 1..=10 is accepted and gives the same tasks.
//!
//! Each row is a JSON object with the question (a string) under `question_field` and the gold
//! answer (a string or a number; for `code_tests` a list or object of tests, or a string
//! holding one) under `answer_field`. An optional string field `solution` is the reference
//! program of a `code_tests` row, and the worked reasoning of any other row (shown in the
//! reference completion's think block). The file is read once, at the first build of the
//! entry; a malformed row is an [`EnvError::Data`] naming the file, the 1-based line (the
//! 1-based row of a Parquet file, chosen by the `.parquet` extension) and the field, and every gold is checked against its verifier then, so no task is unwinnable.

use crate::code::python::{extract_code, judge_program, task_limits};
use crate::env::{
    check_difficulty, merge_config, verify_formatted, Domain, EnvOptions, Environment,
    DEFAULT_DIFFICULTY,
};
use crate::kit::{excerpt, unwrap_answer, with_format, THINKING_BUDGET};
use crate::math::datasets::{grade as math_grade, DatasetFormat, RowOrder, MAX_FILE_BYTES};
use crate::math::grade::{grade_integer, parse_rational};
use crate::rng::TaskRng;
use crate::{EnvEntry, EnvError, Prompt, Task};
use num_bigint::BigInt;
use num_rational::BigRational;
use num_traits::Signed;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use verigym_verifiers::format::format_completion;
use verigym_verifiers::number::parse_integer;
use verigym_verifiers::sandbox::{TestCase, TestSuite};
use verigym_verifiers::{Verdict, VerifyError};

/// Relative tolerance of the `number` verifier when the spec gives none.
pub const DEFAULT_TOLERANCE: f64 = 1e-6;
/// Largest power of ten a number in scientific notation may carry (`1e1000`).
const MAX_EXPONENT: u32 = 1000;
/// Most options a multiple-choice row may list (A to Z).
const MAX_CHOICES: usize = 26;
/// The think block of a reference completion when the row has no worked reasoning.
const PLAIN_THINKING: &str = "The dataset gives the reference answer.";
const CODE_THINKING: &str = "I write a program that passes the tests.";

/// The builtin verifier a dataset is graded with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VerifierKind {
    /// Math equivalence, as `math_jsonl` grades (`\frac{1}{2}` = `0.5`, `2\sqrt{2}`, sets).
    Math,
    /// The answer equals the gold string once both are trimmed of surrounding whitespace;
    /// case-sensitive, nothing else normalised.
    Exact,
    /// One integer equal to the gold (`1,000`, `$42$` and `\boxed{7}` are read).
    Integer,
    /// One number within the relative tolerance of the gold: integers, decimals, fractions
    /// (`3/4`, `\frac{3}{4}`) and scientific notation (`6.02e23`).
    Number,
    /// A multiple-choice letter: gold `B`, `b` or `(B)`; see [`read_choice`] for answers.
    Choice,
    /// The answer is a program (a ```python fence is stripped), run on the gold tests in the
    /// sandbox.
    CodeTests,
}

impl VerifierKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            VerifierKind::Math => "math",
            VerifierKind::Exact => "exact",
            VerifierKind::Integer => "integer",
            VerifierKind::Number => "number",
            VerifierKind::Choice => "choice",
            VerifierKind::CodeTests => "code_tests",
        }
    }

    /// The domain a dataset is listed under when its spec names none: math for the
    /// numeric verifiers, code for code tests, logic for exact and multiple-choice answers.
    pub fn default_domain(&self) -> Domain {
        match self {
            VerifierKind::Math | VerifierKind::Integer | VerifierKind::Number => Domain::Math,
            VerifierKind::CodeTests => Domain::Code,
            VerifierKind::Exact | VerifierKind::Choice => Domain::Logic,
        }
    }
}

/// A dataset environment as declared (in an envs file, or in code).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatasetSpec {
    /// The environment's name.
    pub name: String,
    /// The JSONL or Parquet (`.parquet`) file, already resolved by the caller.
    pub data: PathBuf,
    pub verifier: VerifierKind,
    /// The row field holding the question.
    #[serde(default = "default_question_field")]
    pub question_field: String,
    /// The row field holding the gold answer.
    #[serde(default = "default_answer_field")]
    pub answer_field: String,
    /// One of the [`Domain`] names; default [`VerifierKind::default_domain`].
    #[serde(default)]
    pub domain: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    /// `number` only: relative tolerance in [0, 1) (default [`DEFAULT_TOLERANCE`]).
    #[serde(default)]
    pub tolerance: Option<f64>,
    /// `choice` only: a row field listing the options, shown as `A) ...` under the question.
    #[serde(default)]
    pub choices_field: Option<String>,
}

fn default_question_field() -> String {
    "question".into()
}

fn default_answer_field() -> String {
    "answer".into()
}

/// The config overrides a dataset env takes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct OrderConfig {
    order: RowOrder,
}

/// One loaded row, ready to become a task.
#[derive(Debug, Clone, PartialEq)]
struct Row {
    /// The question, with the options rendered under it for `choice`.
    question: String,
    /// The gold spec `verify` reads back: `{"value"}` or, for code, `{"tests"}`; and `line`.
    answer: Value,
    /// A reference completion that scores 1 (code rows without a `solution` have none).
    solution: Option<String>,
}

/// The registry entry for the dataset. Building it reads the file (once: later builds share
/// the rows) and is where every mistake shows: a spec field that does not fit the verifier
/// is an [`EnvError::InvalidConfig`], a malformed row an [`EnvError::Data`].
pub fn dataset_entry(spec: DatasetSpec) -> EnvEntry {
    let checked = check_spec(&spec);
    let domain = checked
        .as_ref()
        .map(|c| c.domain)
        .unwrap_or_else(|_| spec.verifier.default_domain());
    let description = spec.description.clone().unwrap_or_else(|| {
        format!(
            "dataset {} graded by the {} verifier",
            spec.data.display(),
            spec.verifier.as_str()
        )
    });
    let rows: OnceLock<Arc<[Row]>> = OnceLock::new();
    EnvEntry::new(spec.name.clone(), domain, description, move |opts| {
        let checked = checked
            .clone()
            .map_err(|m| EnvError::config(&spec.name, m))?;
        let rows = match rows.get() {
            Some(rows) => rows.clone(),
            None => {
                let loaded: Arc<[Row]> = load(&spec, checked.tolerance)?.into();
                rows.get_or_init(|| loaded).clone()
            }
        };
        let env = DatasetEnv::build(&spec, checked, rows, opts)?;
        Ok(Box::new(env) as Box<dyn Environment>)
    })
}

/// What [`check_spec`] settles once per spec.
#[derive(Debug, Clone, Copy)]
struct Checked {
    domain: Domain,
    tolerance: f64,
}

/// Checks the spec fields that do not need the file; the message names the field.
fn check_spec(spec: &DatasetSpec) -> Result<Checked, String> {
    if spec.name.trim().is_empty() {
        return Err("name must not be empty".into());
    }
    if spec.question_field.is_empty() || spec.answer_field.is_empty() {
        return Err("question_field and answer_field must not be empty".into());
    }
    let domain = match &spec.domain {
        None => spec.verifier.default_domain(),
        Some(d) => serde_json::from_value(json!(d))
            .map_err(|e| format!("domain {d:?} is not a domain: {e}"))?,
    };
    if spec.tolerance.is_some() && spec.verifier != VerifierKind::Number {
        return Err("tolerance applies to the number verifier only".into());
    }
    let tolerance = spec.tolerance.unwrap_or(DEFAULT_TOLERANCE);
    if !(0.0..1.0).contains(&tolerance) {
        return Err(format!(
            "tolerance {tolerance} must be a relative tolerance in [0, 1)"
        ));
    }
    if spec.choices_field.is_some() && spec.verifier != VerifierKind::Choice {
        return Err("choices_field applies to the choice verifier only".into());
    }
    Ok(Checked { domain, tolerance })
}

/// Reads and checks every row of the spec's file.
fn load(spec: &DatasetSpec, tolerance: f64) -> Result<Vec<Row>, EnvError> {
    let path = spec.data.display().to_string();
    let data_err = |line: usize, message: String| EnvError::Data {
        path: path.clone(),
        line,
        message,
    };
    let meta =
        std::fs::metadata(&spec.data).map_err(|e| data_err(0, format!("cannot read: {e}")))?;
    if meta.len() > MAX_FILE_BYTES {
        return Err(data_err(
            0,
            format!("file is larger than {MAX_FILE_BYTES} bytes"),
        ));
    }
    let records = if is_parquet(&spec.data) {
        parquet_records(&spec.data).map_err(|(row, message)| data_err(row, message))?
    } else {
        let text = std::fs::read_to_string(&spec.data)
            .map_err(|e| data_err(0, format!("cannot read: {e}")))?;
        let mut records = Vec::new();
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let v: Value = serde_json::from_str(line)
                .map_err(|e| data_err(i + 1, format!("not valid JSON: {e}")))?;
            records.push((i + 1, v));
        }
        records
    };
    let mut rows = Vec::with_capacity(records.len());
    for (n, v) in records {
        let row = read_row(spec, tolerance, &v, n).map_err(|m| data_err(n, m))?;
        rows.push(row);
    }
    if rows.is_empty() {
        return Err(data_err(0, "the file has no rows".into()));
    }
    Ok(rows)
}

/// Whether a dataset file is Parquet (by its extension; anything else is read as JSONL).
fn is_parquet(path: &std::path::Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("parquet"))
}

/// The rows of a Parquet file as JSON objects, numbered from 1 (the number an error quotes
/// as the line). Strings, numbers, lists and structs convert as JSON would hold them, so a
/// `code_tests` answer can be a list column of test structs.
fn parquet_records(path: &std::path::Path) -> Result<Vec<(usize, Value)>, (usize, String)> {
    use parquet::file::reader::SerializedFileReader;
    let file = std::fs::File::open(path).map_err(|e| (0, format!("cannot read: {e}")))?;
    let reader = SerializedFileReader::new(file)
        .map_err(|e| (0, format!("not a readable Parquet file: {e}")))?;
    let mut records = Vec::new();
    for (i, row) in reader.into_iter().enumerate() {
        let row = row.map_err(|e| (i + 1, format!("row {} cannot be read: {e}", i + 1)))?;
        records.push((i + 1, row.to_json_value()));
    }
    Ok(records)
}

/// One row into a task's question, gold spec and reference completion.
fn read_row(spec: &DatasetSpec, tolerance: f64, v: &Value, line: usize) -> Result<Row, String> {
    if !v.is_object() {
        return Err("a row must be a JSON object".into());
    }
    let qf = &spec.question_field;
    let question = match v.get(qf) {
        None => return Err(format!("field \"{qf}\" is missing")),
        Some(Value::String(s)) if s.trim().is_empty() => {
            return Err(format!("field \"{qf}\" is empty"))
        }
        Some(Value::String(s)) => s.trim().to_string(),
        Some(other) => {
            return Err(format!(
                "field \"{qf}\" must be a string, not {}",
                type_name(other)
            ))
        }
    };
    let af = &spec.answer_field;
    let gold = v
        .get(af)
        .ok_or_else(|| format!("field \"{af}\" is missing"))?;
    let given = v.get("solution").and_then(Value::as_str);

    if spec.verifier == VerifierKind::CodeTests {
        let suite = read_tests(gold).map_err(|m| format!("field \"{af}\": {m}"))?;
        let solution = given.filter(|p| !has_tags(p)).map(|program| {
            format_completion(
                CODE_THINKING,
                &format!("```python\n{}\n```", program.trim_end()),
            )
        });
        return Ok(Row {
            question,
            answer: json!({ "tests": suite, "line": line }),
            solution,
        });
    }

    let text = gold_text(gold).map_err(|m| format!("field \"{af}\": {m}"))?;
    let value = match spec.verifier {
        VerifierKind::Integer => parse_integer(&text)
            .map(|i| i.to_string())
            .ok_or_else(|| format!("field \"{af}\": {text:?} is not an integer"))?,
        VerifierKind::Number => {
            parse_number(&text)
                .ok_or_else(|| format!("field \"{af}\": {text:?} is not a number"))?;
            text
        }
        VerifierKind::Choice => lone_letter(&text)
            .map(String::from)
            .ok_or_else(|| format!("field \"{af}\": {text:?} is not an option letter A-Z"))?,
        _ => text,
    };
    let question = match &spec.choices_field {
        Some(cf) => {
            let options = read_choices(v, cf)?;
            let picked = value.bytes().next().and_then(|b| b.checked_sub(b'A'));
            if picked.is_none_or(|p| usize::from(p) >= options.len()) {
                return Err(format!(
                    "field \"{af}\": option {value} is not among the {} options of \"{cf}\"",
                    options.len()
                ));
            }
            format!("{question}\n\n{}", options.join("\n"))
        }
        None => question,
    };
    let thinking = given
        .filter(|t| !has_tags(t) && t.len() <= THINKING_BUDGET && !t.trim().is_empty())
        .map_or(PLAIN_THINKING, str::trim);
    let answer = json!({ "value": value, "line": line });
    let solution = format_completion(thinking, &value);
    // The reference answer must pass its own verifier, or every sample of the task would
    // score 0 however good; say so now rather than train on it.
    let check = verify_formatted(&solution, |a| grade(&spec.verifier, tolerance, &answer, a))
        .map_err(|e| e.to_string())?;
    if !check.correct {
        return Err(format!(
            "field \"{af}\": the {} verifier does not accept the gold {value:?} itself ({})",
            spec.verifier.as_str(),
            check.reason.unwrap_or_default()
        ));
    }
    Ok(Row {
        question,
        answer,
        solution: Some(solution),
    })
}

/// A gold answer written as a JSON string or number, as text.
fn gold_text(gold: &Value) -> Result<String, String> {
    let text = match gold {
        Value::String(s) => s.trim().to_string(),
        Value::Number(n) => n.to_string(),
        other => {
            return Err(format!(
                "must be a string or a number, not {}",
                type_name(other)
            ))
        }
    };
    if text.is_empty() {
        return Err("is empty".into());
    }
    Ok(text)
}

/// The options of a multiple-choice row as `A) ...` lines.
fn read_choices(v: &Value, field: &str) -> Result<Vec<String>, String> {
    let list = match v.get(field) {
        None => return Err(format!("field \"{field}\" is missing")),
        Some(Value::Array(list)) => list,
        Some(other) => {
            return Err(format!(
                "field \"{field}\" must be a list of options, not {}",
                type_name(other)
            ))
        }
    };
    if !(2..=MAX_CHOICES).contains(&list.len()) {
        return Err(format!(
            "field \"{field}\" has {} options; give 2 to {MAX_CHOICES}",
            list.len()
        ));
    }
    list.iter()
        .zip('A'..='Z')
        .map(|(option, letter)| {
            let text = gold_text(option).map_err(|m| format!("field \"{field}\": option {m}"))?;
            Ok(format!("{letter}) {text}"))
        })
        .collect()
}

/// The tests of a `code_tests` row: an object in the `verigym exec` test format
/// (`{"io": [...]}`, `{"function", "cases"}` or `{"assert"}`), a list of assertion strings
/// (MBPP's `test_list`, one test each), or a list of `{"input", "output"}` pairs; any of
/// these may come as a string holding the JSON.
fn read_tests(gold: &Value) -> Result<TestSuite, String> {
    let parsed;
    let gold = match gold {
        Value::String(s) => {
            parsed = serde_json::from_str::<Value>(s)
                .map_err(|e| format!("a string of tests must hold JSON: {e}"))?;
            &parsed
        }
        other => other,
    };
    let suite = match gold {
        Value::Object(_) => TestSuite::from_json(gold).map_err(|e| e.to_string())?,
        Value::Array(items) if items.iter().all(Value::is_string) => TestSuite {
            cases: items
                .iter()
                .filter_map(Value::as_str)
                .map(|code| TestCase::Assert {
                    test_code: code.to_string(),
                    entry_point: None,
                })
                .collect(),
            tolerance: None,
        },
        Value::Array(_) => {
            TestSuite::from_json(&json!({ "io": gold })).map_err(|e| e.to_string())?
        }
        other => {
            return Err(format!(
                "tests must be a list or an object, not {}",
                type_name(other)
            ))
        }
    };
    suite.validate().map_err(|e| e.to_string())?;
    Ok(suite)
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// Whether text carries the completion format's tags (it could not sit inside one).
fn has_tags(text: &str) -> bool {
    ["<think>", "</think>", "<answer>", "</answer>"]
        .iter()
        .any(|t| text.contains(t))
}

/// Grades the answer text (already cut out of the completion) against a row's gold spec.
fn grade(
    kind: &VerifierKind,
    tolerance: f64,
    gold: &Value,
    answer: &str,
) -> Result<Verdict, VerifyError> {
    let value = || {
        gold.get("value")
            .and_then(Value::as_str)
            .ok_or_else(|| VerifyError::InvalidGold("expected field 'value'".into()))
    };
    Ok(match kind {
        VerifierKind::Math => math_grade(DatasetFormat::Math, value()?, answer)?,
        VerifierKind::Exact => {
            let value = value()?;
            if answer.trim() == value {
                Verdict::correct(excerpt(answer))
            } else {
                Verdict::wrong(Some(excerpt(answer)), format!("expected {value:?}"))
            }
        }
        VerifierKind::Integer => grade_integer(gold, answer)?,
        VerifierKind::Number => grade_number(value()?, answer, tolerance)?,
        VerifierKind::Choice => {
            let value = value()?;
            match read_choice(answer) {
                Ok(c) if value == c.to_string() => Verdict::correct(c),
                Ok(c) => Verdict::wrong(Some(c.into()), format!("{c} is not {value}")),
                Err(reason) => Verdict::wrong(Some(excerpt(answer)), reason),
            }
        }
        VerifierKind::CodeTests => {
            let tests = gold.get("tests").cloned().unwrap_or(Value::Null);
            let suite: TestSuite = serde_json::from_value(tests)
                .map_err(|e| VerifyError::InvalidGold(format!("tests: {e}")))?;
            judge_program(&extract_code(answer), &suite, &task_limits())?
        }
    })
}

/// |answer - gold| <= tolerance * |gold|, exactly (a zero gold needs an exact zero).
fn grade_number(gold: &str, answer: &str, tolerance: f64) -> Result<Verdict, VerifyError> {
    let g = parse_number(gold)
        .ok_or_else(|| VerifyError::InvalidGold(format!("value {gold:?} is not a number")))?;
    let tol = BigRational::from_float(tolerance)
        .ok_or_else(|| VerifyError::InvalidConfig(format!("tolerance {tolerance}")))?;
    Ok(match parse_number(answer) {
        Some(v) if (&v - &g).abs() <= tol * g.abs() => Verdict::correct(excerpt(answer)),
        Some(_) => Verdict::wrong(
            Some(excerpt(answer)),
            format!("not within relative {tolerance} of {gold}"),
        ),
        None => Verdict::wrong(Some(excerpt(answer)), "answer is not a single number"),
    })
}

/// One number: what `parse_rational` reads (integers with thousands separators, decimals,
/// `p/q`, `\frac{p}{q}`), or a decimal in scientific notation (`6.02e23`, `1E-3`).
fn parse_number(text: &str) -> Option<BigRational> {
    if let Some(v) = parse_rational(text) {
        return Some(v);
    }
    let (mantissa, exponent) = unwrap_answer(text).split_once(['e', 'E'])?;
    let mantissa = mantissa.trim();
    if !mantissa
        .bytes()
        .all(|b| b.is_ascii_digit() || b == b'.' || b == b'-' || b == b'+')
    {
        return None;
    }
    let m = parse_rational(mantissa)?;
    let e: i32 = exponent.trim().parse().ok()?;
    if e.unsigned_abs() > MAX_EXPONENT {
        return None;
    }
    let scale = BigRational::from_integer(num_traits::pow(
        BigInt::from(10u32),
        e.unsigned_abs() as usize,
    ));
    Some(if e >= 0 { m * scale } else { m / scale })
}

/// A gold or answer that is one letter and nothing else: `B`, `b`, `(B)`, `[b]`, `B)`, `B.`.
fn lone_letter(text: &str) -> Option<char> {
    let core = unwrap_answer(text)
        .trim_start_matches(['(', '['])
        .trim_end_matches([')', ']', '.', ':'])
        .trim();
    match core.as_bytes() {
        [b] if b.is_ascii_alphabetic() => Some(char::from(b.to_ascii_uppercase())),
        _ => None,
    }
}

/// The option letter an answer picks. The whole answer may be the letter (`B`, `b`, `(B)`);
/// otherwise only capital letters standing alone count. Letters written as option markers
/// (`(B)`, `B)`) win over bare ones, so `B) A dog` and `The answer is (B) A dog` pick B; a
/// bare letter is read from a sentence (`The answer is B`). Naming two different letters
/// ("A or B", "I think B") picks none: there is no credit for hedging.
pub fn read_choice(answer: &str) -> Result<char, String> {
    if let Some(c) = lone_letter(answer) {
        return Ok(c);
    }
    let mut markers = Vec::new();
    let mut bare = Vec::new();
    for token in unwrap_answer(answer).split_whitespace() {
        let core = token
            .trim_start_matches(['(', '[', '*', '$', '"', '\''])
            .trim_end_matches([')', ']', '*', '$', '"', '\'', '.', ':', ',', ';', '!', '?']);
        if let [b] = core.as_bytes() {
            if b.is_ascii_uppercase() {
                if token.contains(['(', ')', '[', ']']) {
                    markers.push(char::from(*b));
                } else {
                    bare.push(char::from(*b));
                }
            }
        }
    }
    let named = if markers.is_empty() { bare } else { markers };
    match named.first() {
        None => Err("no option letter A-Z".into()),
        Some(&c) if named.iter().all(|&x| x == c) => Ok(c),
        Some(_) => {
            let listed: Vec<String> = named.iter().map(char::to_string).collect();
            Err(format!("names several options: {}", listed.join(", ")))
        }
    }
}

/// A loaded dataset as an [`Environment`].
struct DatasetEnv {
    name: String,
    domain: Domain,
    verifier: VerifierKind,
    tolerance: f64,
    config: OrderConfig,
    difficulty: u8,
    rows: Arc<[Row]>,
}

impl DatasetEnv {
    fn build(
        spec: &DatasetSpec,
        checked: Checked,
        rows: Arc<[Row]>,
        opts: &EnvOptions,
    ) -> Result<Self, EnvError> {
        let base = OrderConfig {
            order: RowOrder::Sequential,
        };
        let config = merge_config(&spec.name, &base, opts.config.as_ref())?;
        Ok(DatasetEnv {
            name: spec.name.clone(),
            domain: checked.domain,
            verifier: spec.verifier.clone(),
            tolerance: checked.tolerance,
            config,
            difficulty: check_difficulty(opts.difficulty.unwrap_or(DEFAULT_DIFFICULTY))?,
            rows,
        })
    }
}

impl Environment for DatasetEnv {
    fn name(&self) -> &str {
        &self.name
    }

    fn domain(&self) -> Domain {
        self.domain
    }

    fn difficulty(&self) -> u8 {
        self.difficulty
    }

    fn config(&self) -> Value {
        serde_json::to_value(&self.config).unwrap_or_default()
    }

    fn generate(&self, seed: u64, index: u64) -> Result<Task, EnvError> {
        let n = self.rows.len() as u64;
        let i = match self.config.order {
            RowOrder::Sequential => index % n.max(1),
            RowOrder::Random => TaskRng::for_task(&self.name, seed, index).below(n),
        };
        let row = self
            .rows
            .get(i as usize)
            .ok_or_else(|| EnvError::task(&self.name, "empty dataset"))?;
        Ok(Task {
            env: self.name.clone(),
            seed,
            index,
            difficulty: self.difficulty,
            prompt: Prompt::Text(with_format(&row.question)),
            answer: row.answer.clone(),
            solution: row.solution.clone(),
            solution_turns: None,
            question: row.question.clone(),
        })
    }

    fn verify(&self, task: &Task, completion: &str) -> Result<Verdict, EnvError> {
        if task.env != self.name {
            return Err(EnvError::task(
                &self.name,
                format!("task is for '{}'", task.env),
            ));
        }
        verify_formatted(completion, |answer| {
            grade(&self.verifier, self.tolerance, &task.answer, answer)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::{MAX_DIFFICULTY, MIN_DIFFICULTY};
    use std::path::Path;

    /// Writes `lines` to a fresh file under the temp dir, unique to this process and test.
    fn write(name: &str, lines: &[&str]) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("verigym-dataset-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{name}.jsonl"));
        std::fs::write(&path, lines.join("\n")).unwrap();
        path
    }

    fn spec(name: &str, data: &Path, verifier: VerifierKind) -> DatasetSpec {
        DatasetSpec {
            name: name.into(),
            data: data.to_path_buf(),
            verifier,
            question_field: default_question_field(),
            answer_field: default_answer_field(),
            domain: None,
            description: None,
            tolerance: None,
            choices_field: None,
        }
    }

    fn opts(difficulty: u8, config: Option<Value>) -> EnvOptions {
        EnvOptions {
            difficulty: Some(difficulty),
            config,
        }
    }

    fn build(spec: &DatasetSpec, difficulty: u8) -> Box<dyn Environment> {
        dataset_entry(spec.clone())
            .build(&opts(difficulty, None))
            .unwrap_or_else(|e| panic!("{}: {e}", spec.name))
    }

    fn random(spec: &DatasetSpec) -> Box<dyn Environment> {
        dataset_entry(spec.clone())
            .build(&opts(3, Some(json!({"order": "random"}))))
            .unwrap()
    }

    /// The checks every builtin gets in tests/conformance.rs, for one dataset env: byte-equal
    /// tasks for equal (seed, index) in both row orders, a reference solution that scores 1
    /// at every level, garbage and `wrong` (a wrong answer for every row) scoring 0, the
    /// resolved config rebuilding the same env, unknown fields and other envs' tasks refused.
    fn conformance(spec: &DatasetSpec, rows: usize, wrong: &str) {
        let name = &spec.name;
        for d in MIN_DIFFICULTY..=MAX_DIFFICULTY {
            let (a, b) = (build(spec, d), build(spec, d));
            for i in 0..2 * rows as u64 {
                let task = a.generate(7, i).unwrap();
                let text = serde_json::to_string(&task).unwrap();
                assert_eq!(
                    text,
                    serde_json::to_string(&b.generate(7, i).unwrap()).unwrap()
                );
                assert_eq!((task.difficulty, task.env.as_str()), (d, name.as_str()));
                assert!(task.prompt.to_text().contains("<answer>"), "{name}: format");
                assert!(task.prompt.to_text().starts_with(&task.question));
                let solution = task.solution.as_deref().unwrap();
                let v = a.verify(&task, solution).unwrap();
                assert!(v.correct && v.reward == 1.0, "{name} d{d} #{i}: {v:?}");
            }
        }
        let (a, b) = (random(spec), random(spec));
        let mut rows_seen = std::collections::BTreeSet::new();
        for i in 0..40 {
            let task = a.generate(i % 3, i).unwrap();
            assert_eq!(task, b.generate(i % 3, i).unwrap(), "{name}: random order");
            rows_seen.insert(task.answer["line"].as_u64().unwrap());
        }
        assert_eq!(
            rows_seen.len(),
            rows,
            "{name}: random order reaches every row"
        );
        let env = build(spec, 5);
        let wrong = format_completion("I guess.", wrong);
        let garbage = [
            "".to_string(),
            "no tags at all".to_string(),
            "<think>".to_string(),
            "<answer></answer>".to_string(),
            "<think>x</think><answer>1</answer><answer>2</answer>".to_string(),
            "\u{0}\u{feff}\u{202e}ünï©ødé".to_string(),
            "9".repeat(100_000),
            "<answer>".repeat(20_000),
            format!("<think>a</think><answer>{}</answer>", "(".repeat(30_000)),
            wrong,
        ];
        for i in 0..rows as u64 {
            let task = env.generate(3, i).unwrap();
            for g in &garbage {
                let v = env
                    .verify(&task, g)
                    .unwrap_or_else(|e| panic!("{name}: error on garbage: {e}"));
                let shown = &g[..g.len().min(60)];
                assert!(!v.correct && v.reward == 0.0, "{name}: {v:?} for {shown:?}");
                assert!(v.reason.is_some(), "{name}: no reason for {shown:?}");
            }
        }
        // The resolved config, passed back, rebuilds the same env; unknown fields are refused.
        let again = dataset_entry(spec.clone())
            .build(&opts(5, Some(env.config())))
            .unwrap();
        assert_eq!(again.generate(2, 1).unwrap(), env.generate(2, 1).unwrap());
        let err = dataset_entry(spec.clone())
            .build(&opts(5, Some(json!({"no_such_field": 1}))))
            .err()
            .unwrap();
        assert!(err.to_string().contains("no_such_field"), "{err}");
        for d in [0, 11] {
            assert!(dataset_entry(spec.clone()).build(&opts(d, None)).is_err());
        }
        let mut other = env.generate(0, 0).unwrap();
        other.env = "someone_else".into();
        assert!(env
            .verify(&other, other.solution.as_deref().unwrap_or("x"))
            .is_err());
    }

    /// Grades `answer` against row `index` (file order).
    fn grades(env: &dyn Environment, index: u64, answer: &str) -> bool {
        let task = env.generate(0, index).unwrap();
        let v = env.verify(&task, &format_completion("w", answer)).unwrap();
        assert_eq!(v.correct, v.reward == 1.0);
        v.correct
    }

    #[test]
    fn math_dataset_conforms_and_grades_equivalent_forms() {
        let path = write(
            "math",
            &[
                r#"{"question": "What is 1/2 + 1/3?", "answer": "\\frac{5}{6}", "solution": "3/6 + 2/6 = 5/6."}"#,
                "",
                r#"{"question": "Simplify sqrt(8).", "answer": "2\\sqrt{2}"}"#,
                r#"{"question": "How many legs have 3 spiders?", "answer": 24}"#,
            ],
        );
        let spec = spec("my_math", &path, VerifierKind::Math);
        conformance(&spec, 3, "7");
        let env = build(&spec, 3);
        let first = env.generate(0, 0).unwrap();
        assert_eq!(first.question, "What is 1/2 + 1/3?");
        assert_eq!(first.answer, json!({"value": "\\frac{5}{6}", "line": 1}));
        assert!(
            first.solution.unwrap().contains("3/6 + 2/6"),
            "row reasoning"
        );
        assert_eq!(
            env.generate(0, 1).unwrap().answer["line"],
            3,
            "blank lines count"
        );
        for (i, answer, ok) in [
            (0, "5/6", true),
            (0, "\\dfrac{5}{6}", true),
            (0, "0.5", false),
            (1, "2\\sqrt{2}", true),
            (1, "\\sqrt{8}", true),
            (1, "2", false),
            (2, "24", true),
            (2, "24.0", true),
            (2, "23 or 24", false),
        ] {
            assert_eq!(grades(env.as_ref(), i, answer), ok, "{answer}");
        }
        assert_eq!(env.domain(), Domain::Math);
    }

    #[test]
    fn exact_dataset_conforms_and_is_case_sensitive() {
        let path = write(
            "exact",
            &[
                r#"{"question": "Capital of France?", "answer": "Paris"}"#,
                r#"{"question": "Largest US city?", "answer": "  New York "}"#,
                r#"{"question": "Answer to everything?", "answer": 42}"#,
            ],
        );
        let spec = spec("my_exact", &path, VerifierKind::Exact);
        conformance(&spec, 3, "Lyon");
        let env = build(&spec, 3);
        for (i, answer, ok) in [
            (0, "Paris", true),
            (0, "  Paris\n", true),
            (0, "paris", false),
            (0, "Paris.", false),
            (0, "Paris or Lyon", false),
            (1, "New York", true),
            (1, "New  York", false),
            (2, "42", true),
            (2, "42.0", false),
        ] {
            assert_eq!(grades(env.as_ref(), i, answer), ok, "{answer:?}");
        }
        assert_eq!(env.domain(), Domain::Logic);
    }

    /// Writes a Snappy-compressed Parquet file with a UTF-8 `question` column and an optional
    /// INT64 `answer` column (`None` is a null).
    fn write_parquet(name: &str, rows: &[(&str, Option<i64>)]) -> PathBuf {
        use parquet::basic::Compression;
        use parquet::data_type::{ByteArray, ByteArrayType, Int64Type};
        use parquet::file::properties::WriterProperties;
        use parquet::file::writer::SerializedFileWriter;
        use parquet::schema::parser::parse_message_type;
        let dir = std::env::temp_dir().join(format!("verigym-dataset-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{name}.parquet"));
        let schema = parse_message_type(
            "message rows { required binary question (UTF8); optional int64 answer; }",
        )
        .unwrap();
        let props = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .build();
        let file = std::fs::File::create(&path).unwrap();
        let mut writer =
            SerializedFileWriter::new(file, Arc::new(schema), Arc::new(props)).unwrap();
        let mut group = writer.next_row_group().unwrap();
        let questions: Vec<ByteArray> = rows.iter().map(|(q, _)| (*q).into()).collect();
        let mut column = group.next_column().unwrap().unwrap();
        column
            .typed::<ByteArrayType>()
            .write_batch(&questions, None, None)
            .unwrap();
        column.close().unwrap();
        let answers: Vec<i64> = rows.iter().filter_map(|(_, a)| *a).collect();
        let defined: Vec<i16> = rows.iter().map(|(_, a)| i16::from(a.is_some())).collect();
        let mut column = group.next_column().unwrap().unwrap();
        column
            .typed::<Int64Type>()
            .write_batch(&answers, Some(&defined), None)
            .unwrap();
        column.close().unwrap();
        group.close().unwrap();
        writer.close().unwrap();
        path
    }

    #[test]
    fn parquet_dataset_conforms_and_names_the_bad_row() {
        let rows = [
            ("Six times seven?", Some(42)),
            ("Three minus ten?", Some(-7)),
            ("A million?", Some(1_000_000)),
        ];
        let path = write_parquet("integer_rows", &rows);
        let good = spec("my_parquet", &path, VerifierKind::Integer);
        conformance(&good, 3, "5");
        let env = build(&good, 3);
        let task = env.generate(0, 1).unwrap();
        assert_eq!(task.question, "Three minus ten?");
        assert_eq!(task.answer["value"], "-7");
        assert!(grades(env.as_ref(), 2, "1,000,000"));
        assert!(!grades(env.as_ref(), 0, "41"));

        let bad = write_parquet("null_answer", &[("One?", Some(1)), ("Two?", None)]);
        let err = dataset_entry(spec("bad_parquet", &bad, VerifierKind::Integer))
            .build(&opts(1, None))
            .err()
            .expect("a null answer is an error")
            .to_string();
        assert!(err.contains("null_answer.parquet:2:"), "{err}");
        assert!(err.contains("\"answer\""), "{err}");

        let not_parquet = write("not_parquet", &["{\"question\": \"q\", \"answer\": 1}"]);
        let renamed = not_parquet.with_extension("parquet");
        std::fs::rename(&not_parquet, &renamed).unwrap();
        let err = dataset_entry(spec("fake_parquet", &renamed, VerifierKind::Integer))
            .build(&opts(1, None))
            .err()
            .expect("JSON under a .parquet name is an error")
            .to_string();
        assert!(err.contains("not a readable Parquet file"), "{err}");
    }

    #[test]
    fn integer_dataset_conforms_and_reads_separators() {
        let path = write(
            "integer",
            &[
                r#"{"question": "A thousand?", "answer": "1,000"}"#,
                r#"{"question": "Six times seven?", "answer": 42}"#,
                r#"{"question": "Three minus ten?", "answer": " -7 "}"#,
            ],
        );
        let spec = spec("my_integer", &path, VerifierKind::Integer);
        conformance(&spec, 3, "5");
        let env = build(&spec, 3);
        assert_eq!(env.generate(0, 0).unwrap().answer["value"], "1000");
        for (i, answer, ok) in [
            (0, "1000", true),
            (0, "$1,000$", true),
            (0, "\\boxed{1000}", true),
            (0, "1000.5", false),
            (0, "999 or 1000", false),
            (0, "1,00,0", false),
            (1, "42", true),
            (1, "43", false),
            (2, "-7", true),
            (2, "7", false),
        ] {
            assert_eq!(grades(env.as_ref(), i, answer), ok, "{answer}");
        }
    }

    #[test]
    fn number_dataset_conforms_within_relative_tolerance() {
        let path = write(
            "number",
            &[
                r#"{"question": "Pi to five places?", "answer": "3.14159"}"#,
                r#"{"question": "Half?", "answer": 0.5}"#,
                r#"{"question": "A third?", "answer": "1/3"}"#,
                r#"{"question": "Avogadro's number?", "answer": "6.02e23"}"#,
                r#"{"question": "Nothing?", "answer": "0"}"#,
            ],
        );
        let mut spec = spec("my_number", &path, VerifierKind::Number);
        conformance(&spec, 5, "12345");
        let env = build(&spec, 3);
        for (i, answer, ok) in [
            (0, "3.141592", true),
            (0, "3.1416", false),
            (1, "1/2", true),
            (1, "\\frac{1}{2}", true),
            (1, "0.5000001", true),
            (1, "0.51", false),
            (2, "0.333333333", true),
            (2, "0.333", false),
            (3, "6.02E+23", true),
            (3, "602000000000000000000000", true),
            (3, "6.03e23", false),
            (4, "0", true),
            (4, "0.0000001", false),
            (0, "3.14159 or 3", false),
            (0, "pi", false),
        ] {
            assert_eq!(grades(env.as_ref(), i, answer), ok, "{answer}");
        }
        spec.tolerance = Some(0.01);
        let loose = build(&spec, 3);
        assert!(grades(loose.as_ref(), 0, "3.14"));
        assert!(!grades(loose.as_ref(), 0, "3.1"));
    }

    #[test]
    fn choice_dataset_conforms_and_renders_options() {
        let path = write(
            "choice",
            &[
                r#"{"question": "Which is prime?", "options": ["4", "6", "7", "9"], "answer": "C"}"#,
                r#"{"question": "Which is even?", "options": ["3", 8, "5"], "answer": "b"}"#,
                r#"{"question": "Which is a colour?", "options": ["red", "dog"], "answer": "(A)"}"#,
            ],
        );
        let mut spec = spec("my_choice", &path, VerifierKind::Choice);
        spec.choices_field = Some("options".into());
        conformance(&spec, 3, "D");
        let env = build(&spec, 3);
        let task = env.generate(0, 0).unwrap();
        assert_eq!(task.question, "Which is prime?\n\nA) 4\nB) 6\nC) 7\nD) 9");
        assert_eq!(env.generate(0, 1).unwrap().answer["value"], "B");
        for (answer, ok) in [
            ("C", true),
            ("c", true),
            ("(C)", true),
            ("C) 7", true),
            ("**C**", true),
            ("The answer is C.", true),
            ("The answer is (C) 7, not A", true),
            ("B", false),
            ("A or C", false),
            ("I think C", false),
            ("7", false),
        ] {
            assert_eq!(grades(env.as_ref(), 0, answer), ok, "{answer}");
        }
        // Without a choices field the options are part of the question text.
        let plain = write(
            "choice_plain",
            &[r#"{"question": "2+2? A) 3 B) 4", "answer": "B"}"#],
        );
        let env = build(
            &self::spec("my_choice_plain", &plain, VerifierKind::Choice),
            3,
        );
        assert_eq!(env.generate(0, 0).unwrap().question, "2+2? A) 3 B) 4");
        assert!(grades(env.as_ref(), 0, "B"));
    }

    #[test]
    fn choice_letters_are_read_strictly() {
        for (answer, letter) in [
            ("B", Some('B')),
            ("b", Some('B')),
            ("(B)", Some('B')),
            ("[b]", Some('B')),
            ("B) foo", Some('B')),
            ("(B) A dog", Some('B')),
            ("The answer is B", Some('B')),
            ("Answer: $B$", Some('B')),
            ("A or B", None),
            ("(A) or (B)", None),
            ("I choose B", None),
            ("none of them", None),
            ("", None),
        ] {
            assert_eq!(read_choice(answer).ok(), letter, "{answer:?}");
        }
        assert!(read_choice("A or B").unwrap_err().contains("several"));
    }

    #[test]
    fn code_tests_dataset_conforms_in_the_sandbox() {
        let path = write(
            "code",
            &[
                r#"{"question": "Write add(a, b).", "answer": ["assert add(1, 2) == 3", "assert add(-1, 1) == 0"], "solution": "def add(a, b):\n    return a + b"}"#,
                r#"{"question": "Print the sum of two integers read from stdin.", "answer": [{"input": "1 2\n", "output": "3\n"}, {"input": "5 -5\n", "output": "0\n"}], "solution": "a, b = map(int, input().split())\nprint(a + b)"}"#,
                r#"{"question": "Write sq(x).", "answer": "{\"function\": \"sq\", \"cases\": [{\"args\": [3], \"expected\": 9}, {\"args\": [-2], \"expected\": 4}]}", "solution": "def sq(x):\n    return x * x"}"#,
            ],
        );
        let spec = spec("my_code", &path, VerifierKind::CodeTests);
        conformance(&spec, 3, "```python\nprint(7)\n```");
        let env = build(&spec, 3);
        assert_eq!(env.domain(), Domain::Code);
        let task = env.generate(0, 0).unwrap();
        assert_eq!(task.answer["tests"]["cases"].as_array().unwrap().len(), 2);
        let wrong = "```python\ndef add(a, b):\n    return a + b if a > 0 else 1\n```";
        let v = env.verify(&task, &format_completion("w", wrong)).unwrap();
        assert!(!v.correct && v.reward == 0.0, "{v:?}");
        assert_eq!(v.components["tests_passed"], 0.5, "add(1, 2) passes");
        // A row without a reference program gives a task without a solution.
        let bare = write(
            "code_bare",
            &[r#"{"question": "q", "answer": ["assert True"]}"#],
        );
        let env = build(
            &self::spec("my_code_bare", &bare, VerifierKind::CodeTests),
            3,
        );
        assert_eq!(env.generate(0, 0).unwrap().solution, None);
    }

    /// The build error for a one-row-per-line file, as text.
    fn load_error(name: &str, spec_of: impl Fn(&Path) -> DatasetSpec, lines: &[&str]) -> String {
        let path = write(name, lines);
        let err = dataset_entry(spec_of(&path))
            .build(&opts(3, None))
            .err()
            .unwrap_or_else(|| panic!("{name}: loaded"));
        assert!(matches!(err, EnvError::Data { .. }), "{name}: {err}");
        let text = err.to_string();
        assert!(text.starts_with(&path.display().to_string()), "{text}");
        text
    }

    #[test]
    fn malformed_rows_are_errors_naming_file_line_and_field() {
        let good = r#"{"question": "q", "answer": "1"}"#;
        let math = |p: &Path| spec("bad", p, VerifierKind::Math);
        let cases: [(&str, Vec<&str>, &str, &[&str]); 9] = [
            (
                "bad_json",
                vec![good, "{\"question\": "],
                ":2:",
                &["not valid JSON"],
            ),
            (
                "missing_question",
                vec![good, good, r#"{"answer": "1"}"#],
                ":3:",
                &["\"question\"", "missing"],
            ),
            (
                "answer_wrong_type",
                vec![r#"{"question": "q", "answer": [1]}"#],
                ":1:",
                &["\"answer\"", "a list"],
            ),
            (
                "question_wrong_type",
                vec![good, r#"{"question": 5, "answer": "1"}"#],
                ":2:",
                &["\"question\"", "a number"],
            ),
            (
                "missing_answer",
                vec![r#"{"question": "q", "gold": "1"}"#],
                ":1:",
                &["\"answer\"", "missing"],
            ),
            (
                "empty_answer",
                vec![r#"{"question": "q", "answer": "  "}"#],
                ":1:",
                &["\"answer\"", "empty"],
            ),
            ("not_an_object", vec!["[1, 2]"], ":1:", &["JSON object"]),
            ("empty", vec![], ":0:", &["no rows"]),
            ("blank", vec!["", "  ", ""], ":0:", &["no rows"]),
        ];
        for (name, lines, at, words) in cases {
            let text = load_error(name, math, &lines);
            assert!(text.contains(at), "{name}: {text}");
            for w in words {
                assert!(text.contains(w), "{name}: {text}");
            }
        }
        let typed = |kind: VerifierKind| move |p: &Path| spec("bad", p, kind.clone());
        for (name, kind, row, words) in [
            (
                "not_integer",
                VerifierKind::Integer,
                r#"{"question": "q", "answer": "1.5"}"#,
                &["\"answer\"", "not an integer"][..],
            ),
            (
                "not_number",
                VerifierKind::Number,
                r#"{"question": "q", "answer": "many"}"#,
                &["\"answer\"", "not a number"],
            ),
            (
                "not_letter",
                VerifierKind::Choice,
                r#"{"question": "q", "answer": "AB"}"#,
                &["\"answer\"", "option letter"],
            ),
            (
                "tests_not_json",
                VerifierKind::CodeTests,
                r#"{"question": "q", "answer": "assert f(1) == 2"}"#,
                &["\"answer\"", "must hold JSON"],
            ),
            (
                "tests_empty",
                VerifierKind::CodeTests,
                r#"{"question": "q", "answer": []}"#,
                &["\"answer\"", "1..="],
            ),
            (
                "tests_wrong_type",
                VerifierKind::CodeTests,
                r#"{"question": "q", "answer": 3}"#,
                &["\"answer\"", "a number"],
            ),
        ] {
            // Line 1 is a good row for the verifier, so the error is on line 2.
            let first = match kind {
                VerifierKind::Choice => r#"{"question": "q", "answer": "A"}"#,
                VerifierKind::CodeTests => r#"{"question": "q", "answer": ["assert True"]}"#,
                _ => good,
            };
            let text = load_error(name, typed(kind), &[first, row]);
            assert!(text.contains(":2:"), "{name}: {text}");
            for w in words {
                assert!(text.contains(w), "{name}: {text}");
            }
        }
        let choice = |p: &Path| DatasetSpec {
            choices_field: Some("options".into()),
            ..spec("bad", p, VerifierKind::Choice)
        };
        for (name, row, words) in [
            (
                "options_missing",
                r#"{"question": "q", "answer": "A"}"#,
                &["\"options\"", "missing"][..],
            ),
            (
                "options_wrong_type",
                r#"{"question": "q", "options": "A) x", "answer": "A"}"#,
                &["\"options\"", "a string"],
            ),
            (
                "gold_beyond_options",
                r#"{"question": "q", "options": ["x", "y"], "answer": "C"}"#,
                &["\"answer\"", "not among the 2 options"],
            ),
        ] {
            let text = load_error(name, choice, &[row]);
            assert!(text.contains(":1:"), "{name}: {text}");
            for w in words {
                assert!(text.contains(w), "{name}: {text}");
            }
        }
        // A custom question field is the one named.
        let prompt_field = |p: &Path| DatasetSpec {
            question_field: "prompt".into(),
            ..spec("bad", p, VerifierKind::Exact)
        };
        let text = load_error("custom_field", prompt_field, &[good]);
        assert!(
            text.contains("\"prompt\"") && text.contains(":1:"),
            "{text}"
        );
        // A gold its verifier cannot read (too long for the math checker) is refused at load.
        let long = format!(r#"{{"question": "q", "answer": "{}1"}}"#, "1+".repeat(3000));
        let text = load_error("unreadable_math", math, &[&long]);
        assert!(text.contains("does not accept the gold"), "{text}");
        let missing = Path::new("/no/such/dir/data.jsonl");
        let err = dataset_entry(math(missing))
            .build(&opts(3, None))
            .err()
            .unwrap();
        assert!(err.to_string().contains("/no/such/dir/data.jsonl"), "{err}");
    }

    #[test]
    fn spec_fields_that_do_not_fit_the_verifier_are_config_errors() {
        let path = write("spec_checks", &[r#"{"question": "q", "answer": "1"}"#]);
        let base = spec("checked", &path, VerifierKind::Exact);
        for (spec, expect) in [
            (
                DatasetSpec {
                    tolerance: Some(0.1),
                    ..base.clone()
                },
                "tolerance",
            ),
            (
                DatasetSpec {
                    verifier: VerifierKind::Number,
                    tolerance: Some(f64::NAN),
                    ..base.clone()
                },
                "tolerance",
            ),
            (
                DatasetSpec {
                    choices_field: Some("options".into()),
                    ..base.clone()
                },
                "choices_field",
            ),
            (
                DatasetSpec {
                    domain: Some("maths".into()),
                    ..base.clone()
                },
                "maths",
            ),
        ] {
            let err = dataset_entry(spec).build(&opts(3, None)).err().unwrap();
            assert!(matches!(err, EnvError::InvalidConfig { .. }), "{err}");
            assert!(err.to_string().contains(expect), "{err}");
        }
        let entry = dataset_entry(DatasetSpec {
            domain: Some("science".into()),
            description: Some("My questions".into()),
            ..base.clone()
        });
        assert_eq!(
            (entry.domain, entry.description.as_str()),
            (Domain::Science, "My questions")
        );
        assert_eq!(
            entry.build(&opts(3, None)).unwrap().domain(),
            Domain::Science
        );
    }

    #[test]
    fn the_file_is_read_once_and_the_spec_reads_from_toml_and_json() {
        let path = write("read_once", &[r#"{"question": "q", "answer": "1"}"#]);
        let entry = dataset_entry(spec("once", &path, VerifierKind::Integer));
        let first = entry.build(&opts(1, None)).unwrap().generate(0, 0).unwrap();
        std::fs::remove_file(&path).unwrap();
        let again = entry.build(&opts(9, None)).unwrap().generate(0, 0).unwrap();
        assert_eq!(
            (first.question, first.answer),
            (again.question, again.answer)
        );

        let spec: DatasetSpec =
            toml::from_str("name = \"qa\"\ndata = \"qa.jsonl\"\nverifier = \"code_tests\"\n")
                .unwrap();
        assert_eq!(
            (spec.question_field.as_str(), spec.answer_field.as_str()),
            ("question", "answer")
        );
        assert_eq!(spec.verifier, VerifierKind::CodeTests);
        let unknown = serde_json::from_value::<DatasetSpec>(json!({
            "name": "qa", "data": "qa.jsonl", "verifier": "math", "tolerence": 0.1
        }));
        assert!(unknown.unwrap_err().to_string().contains("tolerence"));
    }
}
