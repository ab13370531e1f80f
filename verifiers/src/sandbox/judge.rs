//! Judging a program against a test suite: each test in its own sandboxed child, results
//! classified (wrong answer, timeout, memory, runtime error, output or file limit) and
//! compared (stdout in Rust, return values and assertions by the judge process), then folded
//! into a `Verdict` (strict `correct`, passed fraction as a component). Follows the verdict taxonomy of competitive-programming judges (Codeforces,
//! DMOJ: WA / TLE / MLE / RE / OLE).

use super::compare::tokens_match;
use super::{Limits, Mode, Outcome, Sandbox, SandboxError};
use crate::Verdict;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// Most tests one suite may hold.
pub const MAX_TESTS: usize = 10_000;
/// Largest program accepted (bytes).
pub const MAX_PROGRAM_BYTES: usize = 256 << 10;

/// One hidden test. Expected values stay on this side of the sandbox.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TestCase {
    /// Standard input and the expected standard output.
    Io { input: String, output: String },
    /// `function(*args)` must return `expected`.
    Call {
        function: String,
        args: Vec<Value>,
        expected: Value,
    },
    /// Assertion test code run after the program (HumanEval / MBPP style); passes when it
    /// completes. The test code runs in the judge process, never in the program's.
    Assert {
        test_code: String,
        entry_point: Option<String>,
    },
}

/// Tests plus the float tolerance they state (none: exact comparison).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct TestSuite {
    pub cases: Vec<TestCase>,
    pub tolerance: Option<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SuiteFile {
    io: Option<Vec<IoFile>>,
    function: Option<String>,
    cases: Option<Vec<CallFile>>,
    #[serde(rename = "assert")]
    assertion: Option<String>,
    entry_point: Option<String>,
    tolerance: Option<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IoFile {
    input: String,
    output: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CallFile {
    args: Vec<Value>,
    expected: Value,
}

impl TestSuite {
    /// Reads the `verigym exec` test file format: `{"io": [{"input", "output"}, ...]}`,
    /// `{"function": name, "cases": [{"args": [...], "expected": v}, ...]}` or
    /// `{"assert": code, "entry_point": name?}`; each optionally with `"tolerance"`.
    pub fn from_json(v: &Value) -> Result<TestSuite, SandboxError> {
        let f: SuiteFile = serde_json::from_value(v.clone())
            .map_err(|e| SandboxError::Invalid(format!("tests: {e}")))?;
        let mut cases = Vec::new();
        let kinds = [f.io.is_some(), f.cases.is_some(), f.assertion.is_some()];
        if kinds.iter().filter(|k| **k).count() != 1 {
            return Err(SandboxError::Invalid(
                "tests need exactly one of \"io\", \"function\" + \"cases\", \"assert\"".into(),
            ));
        }
        if let Some(io) = f.io {
            cases.extend(io.into_iter().map(|c| TestCase::Io {
                input: c.input,
                output: c.output,
            }));
        }
        if let Some(calls) = f.cases {
            let function = f
                .function
                .ok_or_else(|| SandboxError::Invalid("\"cases\" needs \"function\"".into()))?;
            cases.extend(calls.into_iter().map(|c| TestCase::Call {
                function: function.clone(),
                args: c.args,
                expected: c.expected,
            }));
        }
        if let Some(code) = f.assertion {
            cases.push(TestCase::Assert {
                test_code: code,
                entry_point: f.entry_point,
            });
        }
        let suite = TestSuite {
            cases,
            tolerance: f.tolerance,
        };
        suite.validate()?;
        Ok(suite)
    }

    pub fn validate(&self) -> Result<(), SandboxError> {
        if self.cases.is_empty() || self.cases.len() > MAX_TESTS {
            return Err(SandboxError::Invalid(format!(
                "a suite needs 1..={MAX_TESTS} tests, has {}",
                self.cases.len()
            )));
        }
        if let Some(t) = self.tolerance {
            if !(t.is_finite() && t >= 0.0) {
                return Err(SandboxError::Invalid(
                    "tolerance must be finite and >= 0".into(),
                ));
            }
        }
        Ok(())
    }
}

/// Why a test failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Failure {
    WrongAnswer,
    Timeout,
    Memory,
    RuntimeError,
    OutputLimit,
    FileLimit,
}

impl Failure {
    pub fn as_str(self) -> &'static str {
        match self {
            Failure::WrongAnswer => "wrong answer",
            Failure::Timeout => "timeout",
            Failure::Memory => "memory limit exceeded",
            Failure::RuntimeError => "runtime error",
            Failure::OutputLimit => "output limit exceeded",
            Failure::FileLimit => "file size limit exceeded",
        }
    }
}

/// The result of one test.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseResult {
    pub passed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<Failure>,
    /// What went wrong, in a line (empty when passed).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub detail: String,
    pub wall_ms: f64,
    pub cpu_ms: f64,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub stdout_truncated: bool,
    /// The start of the program's stdout and the end of its stderr (for feedback and
    /// debugging; never used for grading).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub stdout_head: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub stderr_tail: String,
}

fn head(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

fn tail(s: &str, n: usize) -> String {
    let count = s.chars().count();
    s.chars().skip(count.saturating_sub(n)).collect()
}

/// All results of one program.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JudgeReport {
    pub passed: usize,
    pub total: usize,
    pub results: Vec<CaseResult>,
}

impl JudgeReport {
    pub fn fraction(&self) -> f64 {
        if self.total == 0 {
            0.0
        } else {
            self.passed as f64 / self.total as f64
        }
    }

    pub fn all_passed(&self) -> bool {
        self.total > 0 && self.passed == self.total
    }

    /// Reward 1 and `correct` only when every test passes (a program that passes the easy
    /// half is still wrong); `tests_passed` carries the fraction as a weight-0 component,
    /// and the reason lists the failed tests.
    pub fn verdict(&self, extracted: &str) -> Verdict {
        let clipped: String = extracted.chars().take(200).collect();
        let v = if self.all_passed() {
            Verdict::correct(clipped)
        } else {
            Verdict::wrong(Some(clipped), self.reason())
        };
        v.with_component("tests_passed", self.fraction())
    }

    /// "k of n tests failed: #i timeout (...); ..." listing at most 5.
    pub fn reason(&self) -> String {
        let failed: Vec<String> = self
            .results
            .iter()
            .enumerate()
            .filter(|(_, r)| !r.passed)
            .take(5)
            .map(|(i, r)| {
                let kind = r.failure.map(Failure::as_str).unwrap_or("failed");
                format!("#{} {kind}: {}", i + 1, r.detail)
            })
            .collect();
        format!(
            "{} of {} tests failed: {}",
            self.total - self.passed,
            self.total,
            failed.join("; ")
        )
    }
}

/// Runs every test of `suite` against `program`, spreading the tests over the pool.
pub fn judge(
    sandbox: &Sandbox,
    program: &str,
    suite: &TestSuite,
    limits: &Limits,
) -> Result<JudgeReport, SandboxError> {
    suite.validate()?;
    limits.validate()?;
    if program.len() > MAX_PROGRAM_BYTES {
        let results = suite
            .cases
            .iter()
            .map(|_| failed(Failure::RuntimeError, "program is too long".into(), None))
            .collect();
        return Ok(JudgeReport {
            passed: 0,
            total: suite.cases.len(),
            results,
        });
    }
    let n = suite.cases.len();
    let slots: Mutex<Vec<Option<Result<CaseResult, SandboxError>>>> = Mutex::new(vec![None; n]);
    let next = AtomicUsize::new(0);
    let threads = sandbox.workers().min(n).max(1);
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(case) = suite.cases.get(i) else {
                    break;
                };
                let r = run_case(sandbox, program, case, suite.tolerance, limits);
                if let Ok(mut g) = slots.lock() {
                    if let Some(slot) = g.get_mut(i) {
                        *slot = Some(r);
                    }
                }
            });
        }
    });
    let slots = slots
        .into_inner()
        .map_err(|_| SandboxError::Protocol("result lock poisoned".into()))?;
    let mut results = Vec::with_capacity(n);
    for s in slots {
        results.push(s.unwrap_or_else(|| Err(SandboxError::Protocol("test not run".into())))?);
    }
    let passed = results.iter().filter(|r| r.passed).count();
    Ok(JudgeReport {
        passed,
        total: n,
        results,
    })
}

/// Runs and classifies one test.
pub fn run_case(
    sandbox: &Sandbox,
    program: &str,
    case: &TestCase,
    tolerance: Option<f64>,
    limits: &Limits,
) -> Result<CaseResult, SandboxError> {
    let mode = match case {
        TestCase::Io { input, .. } => Mode::Io {
            stdin: input.clone(),
        },
        TestCase::Call {
            function,
            args,
            expected,
        } => Mode::Call {
            function: function.clone(),
            args: args.clone(),
            expected: expected.clone(),
            tolerance,
        },
        TestCase::Assert {
            test_code,
            entry_point,
        } => Mode::Assert {
            test_code: test_code.clone(),
            entry_point: entry_point.clone(),
        },
    };
    let out = sandbox.run(program, &mode, limits)?;
    Ok(classify(&out, case, tolerance, limits))
}

fn failed(failure: Failure, detail: String, out: Option<&Outcome>) -> CaseResult {
    CaseResult {
        passed: false,
        failure: Some(failure),
        detail,
        wall_ms: out.map_or(0.0, |o| o.wall_ms),
        cpu_ms: out.map_or(0.0, |o| o.cpu_ms),
        stdout_truncated: out.is_some_and(|o| o.stdout_truncated),
        stdout_head: out.map(|o| head(&o.stdout, 200)).unwrap_or_default(),
        stderr_tail: out.map(|o| tail(&o.stderr, 500)).unwrap_or_default(),
    }
}

const SIGKILL: i32 = 9;
const SIGSEGV: i32 = 11;
const SIGXCPU: i32 = 24;
const SIGXFSZ: i32 = 25;
const EFBIG: i64 = 27;

/// Turns what was observed into a test result. Order matters: resource limits first (a
/// program killed for time has no meaningful output), then the child's own report.
pub fn classify(
    out: &Outcome,
    case: &TestCase,
    tolerance: Option<f64>,
    limits: &Limits,
) -> CaseResult {
    let o = Some(out);
    let cpu_limit_ms = (limits.cpu_s * 1000) as f64;
    if out.timed_out {
        return failed(
            Failure::Timeout,
            format!("wall-clock limit of {} ms exceeded", limits.wall_ms),
            o,
        );
    }
    if out.signal == Some(SIGXCPU)
        || (out.signal == Some(SIGKILL) && out.cpu_ms >= cpu_limit_ms * 0.95)
    {
        return failed(
            Failure::Timeout,
            format!("CPU limit of {} s exceeded", limits.cpu_s),
            o,
        );
    }
    if out.oom {
        return failed(
            Failure::Memory,
            format!(
                "the test's processes went over {} MiB together",
                limits.memory_mb
            ),
            o,
        );
    }
    if out.output_limit {
        return failed(
            Failure::OutputLimit,
            format!("more than {} bytes of output", limits.stdout_bytes),
            o,
        );
    }
    let report = out.report.as_ref();
    let kind = report.and_then(|r| r.kind.as_deref()).unwrap_or("");
    let message = report.and_then(|r| r.message.as_deref()).unwrap_or("");
    if kind == "MemoryError" {
        return failed(
            Failure::Memory,
            format!("MemoryError (limit {} MiB)", limits.memory_mb),
            o,
        );
    }
    if out.signal == Some(SIGXFSZ) || report.and_then(|r| r.errno) == Some(EFBIG) {
        return failed(
            Failure::FileLimit,
            format!("a file grew past {} bytes", limits.file_bytes),
            o,
        );
    }
    if let Some(r) = report {
        if r.error.is_some() {
            let what = match r.error.as_deref() {
                Some("syntax") => "does not compile",
                Some("exit") => "exited early",
                Some("missing") => "function missing",
                Some("assert") => "assertion failed",
                _ => "raised",
            };
            let failure = if r.error.as_deref() == Some("assert") {
                Failure::WrongAnswer
            } else {
                Failure::RuntimeError
            };
            let msg: String = message.chars().take(160).collect();
            return failed(failure, format!("{what}: {kind}: {msg}"), o);
        }
    }
    if let Some(sig) = out.signal {
        let detail = if sig == SIGSEGV {
            "killed by SIGSEGV (stack overflow or memory)".to_string()
        } else {
            format!("killed by signal {sig}")
        };
        return failed(Failure::RuntimeError, detail, o);
    }
    match case {
        TestCase::Io { output, .. } => {
            if out.exit_code != Some(0) {
                return failed(
                    Failure::RuntimeError,
                    format!("exit status {:?}", out.exit_code),
                    o,
                );
            }
            match tokens_match(&out.stdout, output, tolerance) {
                Ok(()) => passed(out),
                Err(e) => failed(Failure::WrongAnswer, e, o),
            }
        }
        TestCase::Call { .. } | TestCase::Assert { .. } => match &out.verdict {
            Some(v) if v.passed => passed(out),
            Some(v) if !v.detail.is_empty() => failed(Failure::WrongAnswer, v.detail.clone(), o),
            _ => failed(
                Failure::RuntimeError,
                format!(
                    "the tests did not complete (exit status {:?})",
                    out.exit_code
                ),
                o,
            ),
        },
    }
}

fn passed(out: &Outcome) -> CaseResult {
    CaseResult {
        passed: true,
        failure: None,
        detail: String::new(),
        wall_ms: out.wall_ms,
        cpu_ms: out.cpu_ms,
        stdout_truncated: out.stdout_truncated,
        stdout_head: head(&out.stdout, 200),
        stderr_tail: tail(&out.stderr, 500),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::{ChildReport, JudgeVerdict};
    use serde_json::json;

    #[test]
    fn suite_files_of_each_style() {
        let s = TestSuite::from_json(
            &json!({"io": [{"input": "1", "output": "2"}], "tolerance": 1e-6}),
        )
        .unwrap();
        assert_eq!(s.cases.len(), 1);
        assert_eq!(s.tolerance, Some(1e-6));
        let s = TestSuite::from_json(
            &json!({"function": "f", "cases": [{"args": [1, [2]], "expected": 3}]}),
        )
        .unwrap();
        assert!(matches!(&s.cases[0], TestCase::Call { function, .. } if function == "f"));
        let s = TestSuite::from_json(&json!({"assert": "assert f(1) == 1"})).unwrap();
        assert!(matches!(&s.cases[0], TestCase::Assert { .. }));
        for bad in [
            json!({}),
            json!({"io": []}),
            json!({"cases": [{"args": [], "expected": 1}]}),
            json!({"io": [{"input": "1", "output": "2"}], "assert": "x"}),
            json!({"io": [{"input": "1", "output": "2", "extra": 1}]}),
            json!({"io": [{"input": "1", "output": "2"}], "tolerance": -1.0}),
        ] {
            assert!(TestSuite::from_json(&bad).is_err(), "{bad}");
        }
    }

    fn outcome() -> Outcome {
        Outcome {
            stdout: String::new(),
            stderr: String::new(),
            stdout_truncated: false,
            stderr_truncated: false,
            timed_out: false,
            output_limit: false,
            exit_code: Some(0),
            signal: None,
            oom: false,
            memory_peak_kb: None,
            wall_ms: 1.0,
            cpu_ms: 1.0,
            report: None,
            verdict: None,
        }
    }

    fn error(kind: &str, class: &str, errno: Option<i64>) -> Option<ChildReport> {
        Some(ChildReport {
            error: Some(class.into()),
            kind: Some(kind.into()),
            message: Some("m".into()),
            errno,
        })
    }

    #[test]
    fn outcomes_are_classified_with_limits_first() {
        let lim = Limits::default();
        let io = TestCase::Io {
            input: String::new(),
            output: "5".into(),
        };
        let mut o = outcome();
        o.stdout = "5\n".into();
        assert!(classify(&o, &io, None, &lim).passed);
        o.stdout = "6\n".into();
        assert_eq!(
            classify(&o, &io, None, &lim).failure,
            Some(Failure::WrongAnswer)
        );
        let mut t = outcome();
        t.timed_out = true;
        t.stdout = "5".into();
        assert_eq!(
            classify(&t, &io, None, &lim).failure,
            Some(Failure::Timeout)
        );
        let mut c = outcome();
        c.signal = Some(SIGKILL);
        c.cpu_ms = 2000.0;
        assert_eq!(
            classify(&c, &io, None, &lim).failure,
            Some(Failure::Timeout)
        );
        let mut m = outcome();
        m.exit_code = Some(1);
        m.report = error("MemoryError", "runtime", None);
        assert_eq!(classify(&m, &io, None, &lim).failure, Some(Failure::Memory));
        m.report = error("OSError", "runtime", Some(EFBIG));
        assert_eq!(
            classify(&m, &io, None, &lim).failure,
            Some(Failure::FileLimit)
        );
        m.report = error("ZeroDivisionError", "runtime", None);
        assert_eq!(
            classify(&m, &io, None, &lim).failure,
            Some(Failure::RuntimeError)
        );
        let mut big = outcome();
        big.output_limit = true;
        assert_eq!(
            classify(&big, &io, None, &lim).failure,
            Some(Failure::OutputLimit)
        );
    }

    #[test]
    fn call_and_assert_results_come_from_the_judge() {
        let lim = Limits::default();
        let case = TestCase::Call {
            function: "f".into(),
            args: vec![],
            expected: json!([1, 2]),
        };
        let mut o = outcome();
        // No verdict (the program died before the judge could decide): not a pass, even
        // with a zero exit.
        assert_eq!(
            classify(&o, &case, None, &lim).failure,
            Some(Failure::RuntimeError)
        );
        o.verdict = Some(JudgeVerdict {
            passed: true,
            detail: String::new(),
        });
        assert!(classify(&o, &case, None, &lim).passed);
        o.verdict = Some(JudgeVerdict {
            passed: false,
            detail: "returned [1, 2, 3]".into(),
        });
        let r = classify(&o, &case, None, &lim);
        assert_eq!(r.failure, Some(Failure::WrongAnswer));
        assert_eq!(r.detail, "returned [1, 2, 3]");
        // Limits still come first: a pass that ran out of memory is not one.
        o.verdict = Some(JudgeVerdict {
            passed: true,
            detail: String::new(),
        });
        o.oom = true;
        assert_eq!(
            classify(&o, &case, None, &lim).failure,
            Some(Failure::Memory)
        );
    }

    #[test]
    fn verdict_is_strict_with_a_fraction_component() {
        let r = JudgeReport {
            passed: 3,
            total: 4,
            results: vec![],
        };
        let v = r.verdict("x");
        assert!(!v.correct && v.reward == 0.0);
        assert_eq!(v.components["tests_passed"], 0.75);
    }
}
