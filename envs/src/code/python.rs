//! Shared glue between the code environments and the sandbox: code extraction from an
//! answer (Markdown fences stripped, as models write them), the process-wide sandbox pool,
//! and judging into a `Verdict` (strict `correct`, passed fraction as a component).

use verigym_verifiers::sandbox::{judge, Limits, Sandbox, TestSuite};
use verigym_verifiers::{Verdict, VerifyError};

/// Limits for generated function-writing tasks (trivial reference solutions).
pub fn task_limits() -> Limits {
    Limits {
        wall_ms: 3000,
        cpu_s: 2,
        memory_mb: 256,
        ..Limits::default()
    }
}

/// The program inside an answer: the body of the first ``` fence if there is one, else the
/// whole answer.
pub fn extract_code(answer: &str) -> String {
    let Some(start) = answer.find("```") else {
        return answer.trim().to_string();
    };
    let after = &answer[start + 3..];
    // Skip the language tag line (```python).
    let body = match after.find('\n') {
        Some(nl) => &after[nl + 1..],
        None => after,
    };
    match body.find("```") {
        Some(end) => body[..end].trim_end().to_string(),
        None => body.trim_end().to_string(),
    }
}

/// The shared isolated pool; `Unavailable` when no interpreter or namespaces.
pub fn sandbox() -> Result<&'static Sandbox, VerifyError> {
    Ok(Sandbox::shared()?)
}

/// Judges `program` on `suite` and folds the result into a verdict.
pub fn judge_program(
    program: &str,
    suite: &TestSuite,
    limits: &Limits,
) -> Result<Verdict, VerifyError> {
    if program.trim().is_empty() {
        return Ok(Verdict::wrong(None, "empty program").with_component("tests_passed", 0.0));
    }
    let report = judge(sandbox()?, program, suite, limits)?;
    Ok(report.verdict(program))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fences_are_stripped() {
        assert_eq!(extract_code("def f(): pass"), "def f(): pass");
        assert_eq!(
            extract_code("Here:\n```python\ndef f():\n    return 1\n```\nDone."),
            "def f():\n    return 1"
        );
        assert_eq!(extract_code("```\nx = 1\n"), "x = 1");
    }
}
