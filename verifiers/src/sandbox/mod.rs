//! Sandboxed execution of model-written Python programs: a pool of pre-started zygote
//! interpreters, each forking per test the program's process (network, PID, mount and IPC
//! namespaces, a seccomp filter, a cgroup leaf and rlimits over the test's whole process
//! tree, an unprivileged uid, a size-limited /tmp emptied after every test) and, in call
//! and assert modes, a judge process.
//!
//! Follows the layered design of judges such as DMOJ and of Android's zygote: isolation by
//! the kernel (namespaces, seccomp and cgroups, as nsjail / bubblewrap do) rather than by
//! Python-level tricks, and pre-forking so each test costs forks, not an interpreter start.
//! The verdict is decided where no program code runs: stdout is compared in Rust, return
//! values and assertion test code are judged in the judge process (another uid, not
//! dumpable), which receives the program's values as plain data only.

pub mod compare;
pub mod judge;
mod zygote;

pub use judge::{judge, CaseResult, Failure, JudgeReport, TestCase, TestSuite};
pub use zygote::Hardening;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};
use thiserror::Error;
use zygote::Zygote;

/// Why the sandbox itself could not run a program (never a property of the program).
#[derive(Debug, Error, Clone, PartialEq)]
pub enum SandboxError {
    #[error("sandbox unavailable: {0}")]
    Unavailable(String),
    #[error("sandbox protocol failure: {0}")]
    Protocol(String),
    #[error("invalid sandbox request: {0}")]
    Invalid(String),
}

impl From<SandboxError> for crate::VerifyError {
    fn from(e: SandboxError) -> Self {
        crate::VerifyError::Unavailable(e.to_string())
    }
}

/// How the children are isolated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Isolation {
    /// Network, PID and mount namespaces (user namespace too when not root), an
    /// unprivileged uid when root. Start-up fails when the kernel refuses namespaces.
    Namespaces,
    /// rlimits and a process group only: the program can reach the network and the host's
    /// files. Only for machines where namespaces are unavailable, on the user's explicit
    /// request (`--unsafe-no-isolation`).
    UnsafeNone,
}

/// Per-test resource limits.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Wall-clock limit (milliseconds).
    pub wall_ms: u64,
    /// CPU-time limit (seconds, RLIMIT_CPU; at least 1).
    pub cpu_s: u64,
    /// Address space each process may add to the interpreter's own (MiB, RLIMIT_AS); the
    /// test's whole process tree is held to this plus a small headroom by its cgroup,
    /// where the kernel offers one.
    pub memory_mb: u64,
    /// Captured stdout; more ends the test with an output-limit failure.
    pub stdout_bytes: u64,
    /// Captured stderr; more is truncated (flagged) but not a failure.
    pub stderr_bytes: u64,
    /// Largest file the program may write (RLIMIT_FSIZE).
    pub file_bytes: u64,
    /// Open file descriptors (RLIMIT_NOFILE).
    pub open_files: u64,
    /// Processes of the test (its cgroup's pids.max, and RLIMIT_NPROC of the sandbox uid).
    pub processes: u64,
    /// Largest serialised return value.
    pub result_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            wall_ms: 4000,
            cpu_s: 2,
            memory_mb: 512,
            stdout_bytes: 1 << 20,
            stderr_bytes: 8 << 10,
            file_bytes: 16 << 20,
            open_files: 64,
            processes: 32,
            result_bytes: 1 << 20,
        }
    }
}

impl Limits {
    /// Rejects limits that are zero or absurdly large.
    pub fn validate(&self) -> Result<(), SandboxError> {
        let checks = [
            ("wall_ms", self.wall_ms, 10, 600_000),
            ("cpu_s", self.cpu_s, 1, 600),
            ("memory_mb", self.memory_mb, 16, 64 << 10),
            ("stdout_bytes", self.stdout_bytes, 1, 64 << 20),
            ("stderr_bytes", self.stderr_bytes, 1, 16 << 20),
            ("file_bytes", self.file_bytes, 0, 1 << 30),
            ("open_files", self.open_files, 8, 4096),
            ("processes", self.processes, 1, 4096),
            ("result_bytes", self.result_bytes, 16, 16 << 20),
        ];
        for (name, v, lo, hi) in checks {
            if !(lo..=hi).contains(&v) {
                return Err(SandboxError::Invalid(format!(
                    "{name} = {v} is outside {lo}..={hi}"
                )));
            }
        }
        Ok(())
    }
}

/// How the program is exercised.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Mode {
    /// Run as a script with this standard input.
    Io { stdin: String },
    /// Run the module, then the judge calls `function(*args)` and compares the plain value
    /// it gets back with `expected` (types strict, integers exact, floats within
    /// `tolerance` when one is given, else exactly).
    Call {
        function: String,
        args: Vec<Value>,
        expected: Value,
        tolerance: Option<f64>,
    },
    /// Run the module, then the judge runs the assertion test code (and
    /// `check(entry_point)` when given) against stand-ins for the program's functions.
    Assert {
        test_code: String,
        entry_point: Option<String>,
    },
}

/// An error the program raised (or, for `assert`, a failed assertion of the tests).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChildReport {
    /// Error class: syntax, runtime, exit, missing, assert.
    pub error: Option<String>,
    /// Python exception type name.
    pub kind: Option<String>,
    pub message: Option<String>,
    pub errno: Option<i64>,
}

/// Everything observed about one run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    pub stdout: String,
    pub stderr: String,
    pub stdout_truncated: bool,
    pub stderr_truncated: bool,
    /// The wall-clock limit was hit and the process tree killed.
    pub timed_out: bool,
    /// Stdout or the result went over its cap and the process tree was killed.
    pub output_limit: bool,
    pub exit_code: Option<i32>,
    pub signal: Option<i32>,
    /// The test's cgroup saw an out-of-memory kill.
    pub oom: bool,
    /// Peak memory of the test's cgroup, where the kernel reports it.
    pub memory_peak_kb: Option<u64>,
    pub wall_ms: f64,
    pub cpu_ms: f64,
    /// The error the program raised, if any.
    pub report: Option<ChildReport>,
    /// Call and assert modes: the judge's decision (`None` when it could not finish).
    pub verdict: Option<JudgeVerdict>,
}

/// What the judge process decided in call and assert modes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JudgeVerdict {
    pub passed: bool,
    /// Why not, in a line ("returned 6").
    pub detail: String,
}

/// Pool settings.
#[derive(Debug, Clone, PartialEq)]
pub struct SandboxConfig {
    /// The interpreter; `None` finds one at run time (see [`find_python`]).
    pub python: Option<PathBuf>,
    pub isolation: Isolation,
    /// Zygotes kept running (= tests run at once).
    pub workers: usize,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig {
            python: None,
            isolation: Isolation::Namespaces,
            workers: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1),
        }
    }
}

/// A pool of zygotes. Thread-safe; `run` blocks while all zygotes are busy.
pub struct Sandbox {
    python: PathBuf,
    isolation: Isolation,
    workers: usize,
    state: Mutex<PoolState>,
    freed: Condvar,
}

struct PoolState {
    idle: Vec<Zygote>,
    running: usize,
}

static NEXT_UID: AtomicU32 = AtomicU32::new(0);

/// Finds a Python 3.10+ interpreter (the zygote moves output with `os.splice`): `$VERIGYM_PYTHON`, else `/usr/bin/python3`, else
/// `python3` on `PATH` (resolved to the real binary, past pyenv-style shims).
pub fn find_python() -> Result<PathBuf, SandboxError> {
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Some(p) = std::env::var_os("VERIGYM_PYTHON") {
        candidates.push(PathBuf::from(p));
    }
    candidates.push(PathBuf::from("/usr/bin/python3"));
    candidates.push(PathBuf::from("python3"));
    let mut tried = Vec::new();
    for c in candidates {
        match probe_python(&c) {
            Ok(p) => return Ok(p),
            Err(e) => tried.push(format!("{}: {e}", c.display())),
        }
    }
    Err(SandboxError::Unavailable(format!(
        "no usable python3 (3.10 or newer) found; set VERIGYM_PYTHON. Tried: {}",
        tried.join("; ")
    )))
}

fn probe_python(cmd: &Path) -> Result<PathBuf, String> {
    let out = std::process::Command::new(cmd)
        .args([
            "-I",
            "-S",
            "-c",
            "import sys; print(sys.executable); print(sys.version_info >= (3, 10))",
        ])
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&out.stdout);
    let mut lines = text.lines();
    match (lines.next(), lines.next()) {
        (Some(exe), Some("True")) if out.status.success() && !exe.is_empty() => {
            Ok(PathBuf::from(exe))
        }
        (Some(_), Some(_)) => Err("older than 3.10".into()),
        _ => Err("did not run".into()),
    }
}

impl Sandbox {
    /// A pool; zygotes start lazily on first use. Fails only when no interpreter is found.
    pub fn new(config: SandboxConfig) -> Result<Sandbox, SandboxError> {
        let python = match config.python {
            Some(p) => probe_python(&p)
                .map_err(|e| SandboxError::Unavailable(format!("{}: {e}", p.display())))?,
            None => find_python()?,
        };
        Ok(Sandbox {
            python,
            isolation: config.isolation,
            workers: config.workers.max(1),
            state: Mutex::new(PoolState {
                idle: Vec::new(),
                running: 0,
            }),
            freed: Condvar::new(),
        })
    }

    /// The process-wide isolated pool with one zygote per core.
    pub fn shared() -> Result<&'static Sandbox, SandboxError> {
        static SHARED: OnceLock<Result<Sandbox, SandboxError>> = OnceLock::new();
        SHARED
            .get_or_init(|| Sandbox::new(SandboxConfig::default()))
            .as_ref()
            .map_err(Clone::clone)
    }

    pub fn python(&self) -> &Path {
        &self.python
    }

    pub fn isolation(&self) -> Isolation {
        self.isolation
    }

    pub fn workers(&self) -> usize {
        self.workers
    }

    /// How tests are confined on this machine (starts a zygote if none runs yet).
    pub fn hardening(&self) -> Result<Hardening, SandboxError> {
        let z = self.checkout()?;
        let h = z.hardening();
        self.checkin(Some(z));
        Ok(h)
    }

    /// Starts every zygote now (so start-up cost and errors show before the first test).
    pub fn warm_up(&self) -> Result<(), SandboxError> {
        let mut held = Vec::new();
        for _ in 0..self.workers {
            held.push(self.checkout()?);
        }
        for z in held {
            self.checkin(Some(z));
        }
        Ok(())
    }

    fn checkout(&self) -> Result<Zygote, SandboxError> {
        let mut st = self
            .state
            .lock()
            .map_err(|_| SandboxError::Protocol("pool lock poisoned".into()))?;
        loop {
            if let Some(z) = st.idle.pop() {
                st.running += 1;
                return Ok(z);
            }
            if st.running < self.workers {
                st.running += 1;
                drop(st);
                let slot = NEXT_UID.fetch_add(1, Ordering::Relaxed) as usize;
                let uid = 200_000 + (std::process::id() % 4096) * 64 + (slot % 64) as u32;
                let started = Zygote::start(&self.python, self.isolation, uid, slot);
                if started.is_err() {
                    self.checkin(None);
                }
                return started;
            }
            st = self
                .freed
                .wait(st)
                .map_err(|_| SandboxError::Protocol("pool lock poisoned".into()))?;
        }
    }

    fn checkin(&self, z: Option<Zygote>) {
        if let Ok(mut st) = self.state.lock() {
            st.running = st.running.saturating_sub(1);
            if let Some(z) = z {
                st.idle.push(z);
            }
        }
        self.freed.notify_one();
    }

    /// Runs `program` once under `limits`.
    pub fn run(
        &self,
        program: &str,
        mode: &Mode,
        limits: &Limits,
    ) -> Result<Outcome, SandboxError> {
        limits.validate()?;
        // The program's process reads only its part; the judge's part (expected value,
        // test code) is read by the judge alone.
        let mut part = json!({ "program": program, "limits": limits });
        let judge_part = match mode {
            Mode::Io { stdin } => {
                part["mode"] = json!("io");
                part["stdin"] = json!(stdin);
                None
            }
            Mode::Call {
                function,
                args,
                expected,
                tolerance,
            } => {
                part["mode"] = json!("call");
                // As JSON text, parsed by the judge into exact Python values.
                Some(json!({
                    "function": function,
                    "args": json_text(args)?,
                    "expected": json_text(expected)?,
                    "tolerance": tolerance,
                }))
            }
            Mode::Assert {
                test_code,
                entry_point,
            } => {
                part["mode"] = json!("assert");
                Some(json!({ "test_code": test_code, "entry_point": entry_point }))
            }
        };
        let control = json!({ "mode": part["mode"], "limits": limits });
        // A zygote that fails, or reports a fault, is killed and replaced; the test runs once
        // more on a fresh one, so a program that broke a zygote cannot fail later tests.
        let mut last = None;
        for _ in 0..2 {
            let mut z = self.checkout()?;
            // From now, not from the call: waiting for a free zygote, or for a fresh one
            // to start, is not the test's time.
            let deadline =
                Instant::now() + Duration::from_millis(limits.wall_ms) + Duration::from_secs(10);
            match z.call(&control, &part, judge_part.as_ref(), deadline) {
                Ok(reply) => {
                    let clean = reply.control.get("clean").and_then(Value::as_bool) == Some(true);
                    let outcome = parse_outcome(&reply);
                    self.checkin((clean && outcome.is_ok()).then_some(z));
                    match outcome {
                        Ok(o) => return Ok(o),
                        Err(e) => last = Some(e),
                    }
                }
                Err(e) => {
                    drop(z); // killed with its namespace
                    self.checkin(None);
                    last = Some(e);
                }
            }
        }
        Err(last.unwrap_or_else(|| SandboxError::Protocol("no zygote".into())))
    }
}

fn json_text<T: Serialize>(v: &T) -> Result<String, SandboxError> {
    serde_json::to_string(v).map_err(|e| SandboxError::Invalid(e.to_string()))
}

/// An error report as the program's harness or the judge writes it.
fn child_report(r: &Value) -> Option<ChildReport> {
    r.is_object().then(|| ChildReport {
        error: r.get("error").and_then(Value::as_str).map(str::to_string),
        kind: r.get("type").and_then(Value::as_str).map(str::to_string),
        message: r.get("message").and_then(Value::as_str).map(str::to_string),
        errno: r.get("errno").and_then(Value::as_i64),
    })
}

/// The last well-formed report among the frames the program's harness wrote (io mode):
/// `["ok", null]` or `["error", class, type, message, errno]`. A `["setup_error", ..]`
/// frame means the sandbox failed to set the program up.
fn io_report(frames: &[u8]) -> Result<Option<ChildReport>, SandboxError> {
    let mut report = None;
    let mut rest = frames;
    while let (Some(head), Some(after)) = (rest.get(..4), rest.get(4..)) {
        let len = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize;
        let Some(body) = after.get(..len) else {
            break;
        };
        rest = &after[len..];
        let Ok(Value::Array(frame)) = serde_json::from_slice::<Value>(body) else {
            continue;
        };
        match (frame.first().and_then(Value::as_str), frame.len()) {
            (Some("ok"), 2) => report = None,
            (Some("error"), 5) => {
                report = child_report(&json!({
                    "error": frame[1], "type": frame[2], "message": frame[3], "errno": frame[4],
                }))
            }
            (Some("setup_error"), _) => {
                return Err(SandboxError::Protocol(format!(
                    "program set-up failed: {}",
                    Value::Array(frame)
                )))
            }
            _ => {}
        }
    }
    Ok(report)
}

fn parse_outcome(reply: &zygote::Reply) -> Result<Outcome, SandboxError> {
    let c = &reply.control;
    if let Some(e) = c.get("sandbox_error") {
        return Err(SandboxError::Protocol(format!("zygote: {e}")));
    }
    if c.get("judge_ok").and_then(Value::as_bool) == Some(false) {
        return Err(SandboxError::Protocol("the judge process failed".into()));
    }
    let judge: Value = if reply.judge.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&reply.judge)
            .map_err(|e| SandboxError::Protocol(format!("judge reply: {e}")))?
    };
    if let Some(e) = judge.get("sandbox_error") {
        return Err(SandboxError::Protocol(format!("judge: {e}")));
    }
    let report = match judge.get("report") {
        Some(r) => child_report(r),
        None => io_report(&reply.report)?,
    };
    let verdict = judge
        .get("verdict")
        .filter(|v| v.is_object())
        .map(|v| JudgeVerdict {
            passed: v.get("passed").and_then(Value::as_bool) == Some(true),
            detail: v
                .get("detail")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
        });
    let b = |k: &str| c.get(k).and_then(Value::as_bool).unwrap_or(false);
    let f = |k: &str| c.get(k).and_then(Value::as_f64).unwrap_or(0.0);
    let i = |k: &str| {
        c.get(k)
            .and_then(Value::as_i64)
            .and_then(|v| i32::try_from(v).ok())
    };
    Ok(Outcome {
        stdout: String::from_utf8_lossy(&reply.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&reply.stderr).into_owned(),
        stdout_truncated: b("stdout_truncated"),
        stderr_truncated: b("stderr_truncated"),
        timed_out: b("timed_out"),
        output_limit: b("output_limit"),
        exit_code: i("exit_code"),
        signal: i("signal"),
        oom: b("oom"),
        memory_peak_kb: c.get("memory_peak_kb").and_then(Value::as_u64),
        wall_ms: f("wall_ms"),
        cpu_ms: f("cpu_ms"),
        report,
        verdict,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_validated() {
        assert!(Limits::default().validate().is_ok());
        let zero = Limits {
            wall_ms: 0,
            ..Limits::default()
        };
        assert!(zero.validate().is_err());
        let huge = Limits {
            memory_mb: 1 << 30,
            ..Limits::default()
        };
        assert!(huge.validate().is_err());
    }

    fn reply(control: Value, report: &[u8], judge: &str) -> zygote::Reply {
        zygote::Reply {
            control,
            stdout: b"42\n".to_vec(),
            stderr: Vec::new(),
            report: report.to_vec(),
            judge: judge.as_bytes().to_vec(),
        }
    }

    fn frame(text: &str) -> Vec<u8> {
        let mut f = (text.len() as u32).to_be_bytes().to_vec();
        f.extend_from_slice(text.as_bytes());
        f
    }

    #[test]
    fn replies_are_read_strictly() {
        let judged = r#"{"verdict": {"passed": "yes", "detail": ""},
            "report": {"error": "runtime", "type": "ValueError", "message": "m", "errno": 2}}"#;
        let o = parse_outcome(&reply(
            json!({"exit_code": 0, "oom": true, "memory_peak_kb": 2048, "clean": true}),
            b"",
            judged,
        ))
        .unwrap();
        // Only a literal `true` passes.
        assert_eq!(o.verdict.map(|v| v.passed), Some(false));
        assert_eq!(o.report.and_then(|r| r.kind).as_deref(), Some("ValueError"));
        assert!(o.oom);
        assert_eq!(o.memory_peak_kb, Some(2048));
        assert_eq!(o.stdout, "42\n");
        // io mode: the last well-formed frame is the report; torn frames are skipped.
        let mut frames = frame(r#"["error", "runtime", "MemoryError", "m", null]"#);
        frames.extend(frame("not json"));
        let mut ok = frames.clone();
        ok.extend(frame(r#"["ok", null]"#));
        frames.extend_from_slice(&[0, 0, 0, 99, b'x']);
        let o = parse_outcome(&reply(json!({"exit_code": 1}), &frames, "")).unwrap();
        assert_eq!(
            o.report.and_then(|r| r.kind).as_deref(),
            Some("MemoryError")
        );
        assert!(o.verdict.is_none());
        assert!(parse_outcome(&reply(json!({}), &ok, ""))
            .unwrap()
            .report
            .is_none());
        // Faults of the sandbox itself are errors, not verdicts.
        let setup = frame(r#"["setup_error", "x"]"#);
        assert!(parse_outcome(&reply(json!({}), &setup, "")).is_err());
        assert!(parse_outcome(&reply(json!({"sandbox_error": "x"}), b"", "")).is_err());
        assert!(parse_outcome(&reply(json!({"judge_ok": false}), b"", "")).is_err());
        assert!(parse_outcome(&reply(json!({}), b"", r#"{"sandbox_error": "x"}"#)).is_err());
        assert!(parse_outcome(&reply(json!({}), b"", "{torn")).is_err());
    }
}
