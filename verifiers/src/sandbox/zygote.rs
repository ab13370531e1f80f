//! One pre-started Python "zygote" process (the Android zygote pattern): started once, it
//! forks a program process (and a judge, where the mode has one) per test. This file is the
//! Rust end of its pipe protocol (frames of a 4-byte big-endian length + body: JSON parts
//! in, a JSON control part and four raw blobs out), with deadlines so a stuck zygote is
//! killed and replaced rather than waited on, and the removal of its cgroups when it goes.

use super::{Isolation, SandboxError};
use serde_json::Value;
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

/// The zygote program, embedded at compile time: the program-side harness and plain-data
/// codec first, then the zygote and judge that use them.
const ZYGOTE_PY: &str = concat!(include_str!("program.py"), include_str!("zygote.py"));
/// Largest reply frame accepted from a zygote (its own caps keep replies far below this).
const MAX_FRAME: usize = 64 << 20;
/// How long a zygote may take to start and report ready.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// How this machine confines tests, as the zygote found it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hardening {
    /// Namespaces in use (false only under `Isolation::UnsafeNone`).
    pub isolated: bool,
    /// What bounds a test's whole process tree: "v2" or "v1" (the zygote's cgroup leaf,
    /// holding one test at a time, with memory and pids limits) or "rlimit" (no usable
    /// cgroups, or no root: RLIMIT_AS per process times RLIMIT_NPROC processes).
    pub cgroup: String,
    /// Whether the seccomp filter is installed (false on architectures without a table).
    pub seccomp: bool,
}

/// A running zygote.
pub struct Zygote {
    child: Child,
    stdin: ChildStdin,
    stdout: ChildStdout,
    /// What the zygote reported when it started (isolated, root, python version).
    pub info: Value,
}

impl Zygote {
    /// Starts a zygote and waits for its ready message.
    pub fn start(
        python: &Path,
        isolation: Isolation,
        uid: u32,
        slot: usize,
    ) -> Result<Zygote, SandboxError> {
        let mode = match isolation {
            Isolation::Namespaces => "isolate",
            Isolation::UnsafeNone => "unsafe",
        };
        let mut child = Command::new(python)
            .args(["-I", "-S", "-B", "-c", ZYGOTE_PY, mode])
            .args([uid.to_string(), slot.to_string()])
            .env_clear()
            .current_dir("/")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| {
                SandboxError::Unavailable(format!("cannot start {}: {e}", python.display()))
            })?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(SandboxError::Unavailable("zygote pipes missing".into()));
        };
        let mut z = Zygote {
            child,
            stdin,
            stdout,
            info: Value::Null,
        };
        let ready: Value =
            serde_json::from_slice(&z.read_frame(Instant::now() + START_TIMEOUT)?)
                .map_err(|e| SandboxError::Unavailable(format!("zygote start-up: {e}")))?;
        if ready.get("ready").and_then(Value::as_bool) != Some(true) {
            let msg = ready
                .get("error")
                .and_then(Value::as_str)
                .unwrap_or("the zygote did not start")
                .to_string();
            return Err(SandboxError::Unavailable(msg));
        }
        z.info = ready;
        Ok(z)
    }

    pub fn hardening(&self) -> Hardening {
        Hardening {
            isolated: self.info.get("isolated").and_then(Value::as_bool) == Some(true),
            cgroup: self
                .info
                .get("cgroup")
                .and_then(Value::as_str)
                .unwrap_or("rlimit")
                .to_string(),
            seccomp: self.info.get("seccomp").and_then(Value::as_bool) == Some(true),
        }
    }

    /// Sends one request and waits until `deadline` for the reply. The zygote reads only
    /// `control` (mode, limits: no test data); it forwards the program's part to the
    /// program's process and the judge's part (where the mode has a judge) to the judge
    /// without reading either.
    pub fn call(
        &mut self,
        control: &Value,
        program_part: &Value,
        judge_part: Option<&Value>,
        deadline: Instant,
    ) -> Result<Reply, SandboxError> {
        let encode = |v: &Value| {
            serde_json::to_vec(v).map_err(|e| SandboxError::Protocol(format!("request: {e}")))
        };
        let program = encode(program_part)?;
        let judge = judge_part.map(encode).transpose()?.unwrap_or_default();
        let mut control = control.clone();
        control["program_len"] = program.len().into();
        control["judge_len"] = judge.len().into();
        let head = encode(&control)?;
        let len = u32::try_from(head.len())
            .map_err(|_| SandboxError::Protocol("request too large".into()))?;
        let mut out = len.to_be_bytes().to_vec();
        out.extend_from_slice(&head);
        out.extend_from_slice(&program);
        out.extend_from_slice(&judge);
        self.stdin
            .write_all(&out)
            .and_then(|_| self.stdin.flush())
            .map_err(|e| SandboxError::Protocol(format!("zygote closed its input: {e}")))?;
        let control: Value = serde_json::from_slice(&self.read_frame(deadline)?)
            .map_err(|e| SandboxError::Protocol(format!("reply: {e}")))?;
        Ok(Reply {
            stdout: self.read_frame(deadline)?,
            stderr: self.read_frame(deadline)?,
            report: self.read_frame(deadline)?,
            judge: self.read_frame(deadline)?,
            control,
        })
    }

    fn read_frame(&mut self, deadline: Instant) -> Result<Vec<u8>, SandboxError> {
        let mut head = [0u8; 4];
        read_exact_until(&mut self.stdout, &mut head, deadline)?;
        let len = u32::from_be_bytes(head) as usize;
        if len > MAX_FRAME {
            return Err(SandboxError::Protocol(format!(
                "reply frame of {len} bytes"
            )));
        }
        let mut body = vec![0u8; len];
        read_exact_until(&mut self.stdout, &mut body, deadline)?;
        Ok(body)
    }
}

/// One test's reply: the zygote's control part (limits hit, exit status, timing, whether
/// the zygote is clean) and what it forwarded without reading: the program's stdout and
/// stderr, its report frames (io mode) and the judge's result (call and assert modes).
pub struct Reply {
    pub control: Value,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub report: Vec<u8>,
    pub judge: Vec<u8>,
}

impl Drop for Zygote {
    fn drop(&mut self) {
        // Killing the outer zygote kills PID 1 of its namespace (parent-death signal), and
        // with it every process in the namespace.
        let _ = self.child.kill();
        let _ = self.child.wait();
        // Its cgroups (a test's leaf, then the zygote's own), now that nothing is in them.
        let dirs = self.info.get("cgroup_dirs").and_then(Value::as_array);
        for dir in dirs.into_iter().flatten().filter_map(Value::as_str) {
            let dir = Path::new(dir);
            if !dir
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("verigym."))
            {
                continue;
            }
            // The namespace's processes die just after the zygote (parent-death signal):
            // the leaf stays busy for a moment.
            for _ in 0..100 {
                let _ = std::fs::remove_dir(dir.join("t"));
                if std::fs::remove_dir(dir).is_ok() || !dir.exists() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(2));
            }
        }
    }
}

/// `read_exact` that gives up at `deadline` (poll(2) before each read).
fn read_exact_until(
    r: &mut ChildStdout,
    buf: &mut [u8],
    deadline: Instant,
) -> Result<(), SandboxError> {
    let fd = r.as_raw_fd();
    let mut filled = 0;
    while filled < buf.len() {
        let now = Instant::now();
        if now >= deadline {
            return Err(SandboxError::Protocol(
                "zygote did not answer in time".into(),
            ));
        }
        let ms = (deadline - now).as_millis().min(i32::MAX as u128) as i32;
        let mut pfd = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd for the duration of the call.
        let n = unsafe { libc::poll(&mut pfd, 1, ms.max(1)) };
        if n < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return Err(SandboxError::Protocol(format!("poll: {e}")));
        }
        if n == 0 {
            continue;
        }
        let Some(rest) = buf.get_mut(filled..) else {
            break;
        };
        match r.read(rest) {
            Ok(0) => return Err(SandboxError::Protocol("zygote exited".into())),
            Ok(k) => filled += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(SandboxError::Protocol(format!("read: {e}"))),
        }
    }
    Ok(())
}
