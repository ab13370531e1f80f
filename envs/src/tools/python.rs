//! The `python` tool: runs a model-written script in the code sandbox
//! (`verigym_verifiers::sandbox`: no network, time, memory and output limits) and answers
//! its standard output. An exception, a timeout or too much output is an error result.

use super::{Tool, ToolSpec};
use serde_json::{json, Value};
use verigym_verifiers::sandbox::{Limits, Mode, Outcome, Sandbox};

/// Longest script accepted (bytes).
pub const MAX_CODE_BYTES: usize = 64 << 10;
/// The most stdout returned to the model; more ends the run with an error.
pub const MAX_OUTPUT_BYTES: u64 = 16 << 10;

/// The python tool, with its per-call limits.
pub struct Python {
    pub limits: Limits,
}

impl Default for Python {
    fn default() -> Self {
        Python {
            limits: Limits {
                wall_ms: 3000,
                cpu_s: 2,
                memory_mb: 256,
                stdout_bytes: MAX_OUTPUT_BYTES,
                stderr_bytes: 4 << 10,
                ..Limits::default()
            },
        }
    }
}

impl Tool for Python {
    fn spec(&self) -> ToolSpec {
        ToolSpec {
            name: "python".into(),
            description: format!(
                "Runs a Python 3 script in a sandbox without network access and returns what \
                 it prints to standard output (use print). Each call starts fresh; limits: \
                 {} s, {} MB of memory, {} KB of output.",
                self.limits.wall_ms / 1000,
                self.limits.memory_mb,
                self.limits.stdout_bytes >> 10
            ),
            parameters: json!({
                "type": "object",
                "properties": {
                    "code": {"type": "string", "description": "the script to run"}
                },
                "required": ["code"]
            }),
        }
    }

    fn call(&self, arguments: &Value) -> Result<String, String> {
        let code = arguments
            .get("code")
            .and_then(Value::as_str)
            .ok_or("missing string argument \"code\"")?;
        if code.len() > MAX_CODE_BYTES {
            return Err(format!("the script is longer than {MAX_CODE_BYTES} bytes"));
        }
        let sandbox =
            Sandbox::shared().map_err(|e| format!("the python sandbox is unavailable: {e}"))?;
        let outcome = sandbox
            .run(
                code,
                &Mode::Io {
                    stdin: String::new(),
                },
                &self.limits,
            )
            .map_err(|e| format!("the python sandbox failed: {e}"))?;
        result(&outcome, &self.limits)
    }
}

/// Stdout of a clean run, else what went wrong.
pub fn result(o: &Outcome, limits: &Limits) -> Result<String, String> {
    if o.timed_out {
        return Err(format!(
            "the script did not finish within {} ms",
            limits.wall_ms
        ));
    }
    if o.output_limit {
        return Err(format!(
            "the script printed more than {} bytes; print less",
            limits.stdout_bytes
        ));
    }
    if o.oom {
        return Err(format!(
            "the script ran out of memory ({} MB)",
            limits.memory_mb
        ));
    }
    if let Some(r) = &o.report {
        let kind = r.kind.as_deref().or(r.error.as_deref()).unwrap_or("error");
        let message = r.message.as_deref().unwrap_or("");
        return Err(format!("{kind}: {message}{}", stderr_tail(&o.stderr)));
    }
    if o.signal.is_some() || o.exit_code.is_some_and(|c| c != 0) {
        let how = match o.signal {
            Some(s) => format!("was killed by signal {s}"),
            None => format!("exited with status {}", o.exit_code.unwrap_or(-1)),
        };
        return Err(format!("the script {how}{}", stderr_tail(&o.stderr)));
    }
    if o.stdout.is_empty() {
        return Ok("(no output: print the values you want to see)".into());
    }
    Ok(o.stdout.clone())
}

/// The last lines of stderr (the traceback's end), after a newline; empty when none.
fn stderr_tail(stderr: &str) -> String {
    let t = stderr.trim_end();
    if t.is_empty() {
        return String::new();
    }
    let start = t.len().saturating_sub(600);
    let start = (start..=t.len())
        .find(|i| t.is_char_boundary(*i))
        .unwrap_or(t.len());
    format!("\n{}", &t[start..])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(code: &str) -> Result<String, String> {
        Python::default().call(&json!({ "code": code }))
    }

    fn sandbox_here() -> bool {
        let ok = Sandbox::shared().and_then(|s| s.hardening()).is_ok();
        if !ok {
            eprintln!("skipped: no python sandbox on this machine");
        }
        ok
    }

    #[test]
    fn prints_come_back_and_errors_are_messages() {
        if !sandbox_here() {
            return;
        }
        assert_eq!(
            run("print(sum(i * i for i in range(10)))").unwrap(),
            "285\n"
        );
        let err = run("1/0").unwrap_err();
        assert!(err.contains("ZeroDivisionError"), "{err}");
        assert!(run("x = 1").unwrap().contains("no output"));
        assert!(Python::default().call(&json!({"source": "1"})).is_err());
    }

    #[test]
    fn hostile_scripts_are_bounded_errors() {
        if !sandbox_here() {
            return;
        }
        let err = run("while True: pass").unwrap_err();
        assert!(
            err.contains("did not finish") || err.contains("signal"),
            "{err}"
        );
        let err = run("print('x' * 100_000_000)").unwrap_err();
        assert!(
            err.contains("printed more") || err.contains("memory"),
            "{err}"
        );
        let err = run("import socket; socket.create_connection(('1.1.1.1', 80), timeout=1)");
        assert!(err.is_err(), "{err:?}");
        assert!(run(&"#".repeat(MAX_CODE_BYTES + 1))
            .unwrap_err()
            .contains("longer"));
    }
}
