//! One pre-started Python "zygote" process (the Android zygote pattern): started once, it
//! forks a fresh isolated child per test. This file is the Rust end of its pipe protocol
//! (4-byte big-endian length + JSON, both ways), with deadlines so a stuck zygote is killed
//! and replaced rather than waited on.

use super::{Isolation, SandboxError};
use serde_json::Value;
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

/// The zygote program, embedded at compile time.
const ZYGOTE_PY: &str = include_str!("zygote.py");
/// Largest reply frame accepted from a zygote (its own caps keep replies far below this).
const MAX_FRAME: usize = 64 << 20;
/// How long a zygote may take to start and report ready.
const START_TIMEOUT: Duration = Duration::from_secs(30);

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
        let ready = z.read_frame(Instant::now() + START_TIMEOUT)?;
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

    /// Sends one request and waits for its reply until `deadline`.
    pub fn call(&mut self, request: &Value, deadline: Instant) -> Result<Value, SandboxError> {
        let body = serde_json::to_vec(request)
            .map_err(|e| SandboxError::Protocol(format!("request: {e}")))?;
        let len = u32::try_from(body.len())
            .map_err(|_| SandboxError::Protocol("request too large".into()))?;
        self.stdin
            .write_all(&len.to_be_bytes())
            .and_then(|_| self.stdin.write_all(&body))
            .and_then(|_| self.stdin.flush())
            .map_err(|e| SandboxError::Protocol(format!("zygote closed its input: {e}")))?;
        self.read_frame(deadline)
    }

    fn read_frame(&mut self, deadline: Instant) -> Result<Value, SandboxError> {
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
        serde_json::from_slice(&body).map_err(|e| SandboxError::Protocol(format!("reply: {e}")))
    }
}

impl Drop for Zygote {
    fn drop(&mut self) {
        // Killing the outer zygote kills PID 1 of its namespace (parent-death signal), and
        // with it every process in the namespace.
        let _ = self.child.kill();
        let _ = self.child.wait();
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
