//! Environments in any language: a process that reads one JSON request per line on stdin and
//! writes one JSON reply per line on stdout.
//!
//! | request | reply |
//! |---|---|
//! | `{"op": "describe"}` | `{"name", "domain", "description", "raw"?}` |
//! | `{"op": "generate", "seed", "index", "difficulty", "config"}` | `{"question", "answer", "solution"?, "prompt"?}` |
//! | `{"op": "verify", "answer", "completion", "difficulty", "config"}` | `{"reward", "correct", "reason"?, "extracted"?, "components"?}` |
//!
//! A task must be a function of (seed, index, difficulty, config): on start-up one task is
//! asked for twice, on two processes when there are two, and an env that answers
//! differently is refused. Unless the env says `"raw": true`, verigym writes the prompt's
//! format instructions and applies its own think/answer format rules first: a malformed
//! completion scores 0 without a request, and `verify` receives the text of the `<answer>`
//! block as `completion`.
//!
//! The optional fields let an env written against this crate be served over the protocol
//! without loss ([`super::serve_env`]): `prompt` (a string, or chat messages
//! `[{"role", "content"}]`) is the prompt exactly, instead of the question with format
//! instructions; `extracted` and `components` (an object of numbers) fill the verdict's
//! fields of those names. `verify` is sent the difficulty and config the env was built with;
//! an env may ignore them.
//!
//! `workers` processes serve the requests of parallel callers (each caller takes a free
//! one). A crash, a malformed reply or a timeout is an error for that request naming the env
//! and the request; the process is killed and started again for the next one. After
//! [`MAX_CONSECUTIVE_FAILURES`] failures in a row the env stops: every later request fails at
//! once with [`EnvError::Stopped`], which commands treat as fatal.

use crate::env::{check_difficulty, Domain, EnvOptions, Environment, DEFAULT_DIFFICULTY};
use crate::error::EnvError;
use crate::kit::template::with_format;
use crate::registry::EnvEntry;
use crate::task::{Prompt, Task};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use verigym_verifiers::format::parse_think_answer;
use verigym_verifiers::Verdict;

/// Failures in a row after which an env stops.
pub const MAX_CONSECUTIVE_FAILURES: u32 = 5;
/// Longest reply line quoted in an error.
const QUOTE: usize = 200;
/// Longest reply line read; a process that writes more without a newline is a failure, not
/// an unbounded buffer.
pub const MAX_REPLY_BYTES: usize = 64 << 20;

/// How to run a process env (an `[[env]]` with `command` in an envs file).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProcessSpec {
    pub name: String,
    /// Program and arguments.
    pub command: Vec<String>,
    /// Processes serving requests in parallel.
    pub workers: usize,
    /// Seconds a request may take.
    pub timeout_s: f64,
    /// The processes' working directory (the envs file's folder).
    pub dir: PathBuf,
}

/// What `describe` answered.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Description {
    pub name: String,
    pub domain: Domain,
    pub description: String,
    #[serde(default)]
    pub raw: bool,
}

/// A running process.
struct Worker {
    child: Child,
    /// Request lines, written to its stdin by a thread: a process that stops reading cannot
    /// block the caller on a full pipe, only time out (and be killed, which ends the write).
    requests: Sender<String>,
    /// Lines of its stdout, read by a thread (so a reply can be waited for with a timeout).
    lines: Receiver<Result<String, String>>,
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The processes of one env.
pub struct ProcessPool {
    spec: ProcessSpec,
    workers: Vec<Mutex<Option<Worker>>>,
    next: AtomicUsize,
    failures: AtomicU32,
    stopped: AtomicBool,
    description: Description,
}

impl ProcessPool {
    /// Checks a spec's fields without starting anything.
    pub fn check(spec: &ProcessSpec) -> Result<(), EnvError> {
        let bad = |m: String| EnvError::config(&spec.name, m);
        if spec.command.is_empty() {
            return Err(bad("command: must name a program".into()));
        }
        if !(1..=256).contains(&spec.workers) {
            return Err(bad(format!(
                "workers: must be 1..=256, got {}",
                spec.workers
            )));
        }
        if !(spec.timeout_s.is_finite() && spec.timeout_s > 0.0) {
            return Err(bad(format!(
                "timeout_s: must be > 0, got {}",
                spec.timeout_s
            )));
        }
        Ok(())
    }

    /// Starts the processes, asks for the description, and checks determinism.
    pub fn start(spec: ProcessSpec) -> Result<Arc<ProcessPool>, EnvError> {
        Self::check(&spec)?;
        let name = spec.name.clone();
        let bad = |m: String| EnvError::config(&name, m);
        let mut pool = ProcessPool {
            workers: (0..spec.workers).map(|_| Mutex::new(None)).collect(),
            spec,
            next: AtomicUsize::new(0),
            failures: AtomicU32::new(0),
            stopped: AtomicBool::new(false),
            description: Description {
                name: String::new(),
                domain: Domain::Logic,
                description: String::new(),
                raw: false,
            },
        };
        let reply = pool
            .ask_worker(0, &json!({"op": "describe"}))
            .map_err(|m| bad(format!("describe: {m}")))?;
        pool.description = serde_json::from_value(reply).map_err(|e| {
            bad(format!(
                "describe: the reply does not fit {{name, domain, description, raw?}}: {e}"
            ))
        })?;
        // Determinism: the same task from two processes (or twice from one).
        let probe = json!({"op": "generate", "seed": 0, "index": 0,
            "difficulty": DEFAULT_DIFFICULTY, "config": {}});
        let a = pool
            .ask_worker(0, &probe)
            .map_err(|m| bad(format!("generate: {m}")))?;
        let b = pool
            .ask_worker(1 % pool.workers.len(), &probe)
            .map_err(|m| bad(format!("generate: {m}")))?;
        if a != b {
            return Err(bad(format!(
                "not deterministic: generate(seed 0, index 0) answered {} and then {}",
                quote(&a.to_string()),
                quote(&b.to_string())
            )));
        }
        Ok(Arc::new(pool))
    }

    pub fn description(&self) -> &Description {
        &self.description
    }

    fn spawn(&self) -> Result<Worker, String> {
        let (program, args) = self
            .spec
            .command
            .split_first()
            .ok_or("the command is empty")?;
        let mut child = Command::new(program)
            .args(args)
            .current_dir(&self.spec.dir)
            // The envs files of this process are not the env's: a program that serves its own
            // families (`env-process`) must not start them again from the variable.
            .env_remove(super::envs_file::ENVS_FILE_VAR)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("could not start {:?}: {e}", self.spec.command))?;
        let stdin = child.stdin.take().ok_or("no stdin pipe")?;
        let stdout = child.stdout.take().ok_or("no stdout pipe")?;
        let (requests, to_write) = std::sync::mpsc::channel::<String>();
        std::thread::spawn(move || write_requests(stdin, to_write));
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || read_replies(stdout, tx));
        Ok(Worker {
            child,
            requests,
            lines,
        })
    }

    /// One request on worker `i` (started if it is not running); on failure the worker is
    /// dropped (killed) so the next request starts a fresh one.
    fn ask_worker(&self, i: usize, request: &Value) -> Result<Value, String> {
        let slot = self.workers.get(i).ok_or("no such worker")?;
        let mut guard = slot.lock().map_err(|_| "a worker lock was poisoned")?;
        if guard.is_none() {
            *guard = Some(self.spawn()?);
        }
        let result = match guard.as_mut() {
            Some(w) => self.exchange(w, request),
            None => Err("no worker".into()),
        };
        if result.is_err() {
            *guard = None;
        }
        result
    }

    fn exchange(&self, w: &mut Worker, request: &Value) -> Result<Value, String> {
        let mut line = request.to_string();
        line.push('\n');
        w.requests
            .send(line)
            .map_err(|_| "writing the request: the process closed its stdin".to_string())?;
        let timeout = Duration::from_secs_f64(self.spec.timeout_s);
        let reply = match w.lines.recv_timeout(timeout) {
            Ok(Ok(l)) => l,
            Ok(Err(e)) => return Err(format!("reading the reply: {e}")),
            Err(RecvTimeoutError::Timeout) => {
                return Err(format!("no reply within {} s", self.spec.timeout_s))
            }
            Err(RecvTimeoutError::Disconnected) => {
                // Its stdout closed: it is exiting; give it a moment to be reaped.
                let mut status = None;
                for _ in 0..50 {
                    status = w.child.try_wait().ok().flatten();
                    if status.is_some() {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(4));
                }
                return Err(match status {
                    Some(s) => format!("the process exited ({s}) without replying"),
                    None => "the process closed its stdout without replying".into(),
                });
            }
        };
        let v: Value = serde_json::from_str(&reply)
            .map_err(|e| format!("the reply is not JSON ({e}): {}", quote(&reply)))?;
        if let Some(err) = v.get("error").filter(|e| !e.is_null()) {
            return Err(format!(
                "the env answered an error: {}",
                quote(&err.to_string())
            ));
        }
        if !v.is_object() {
            return Err(format!("the reply is not a JSON object: {}", quote(&reply)));
        }
        Ok(v)
    }

    /// One request on a free worker; failures are counted (and stop the env after
    /// [`MAX_CONSECUTIVE_FAILURES`] in a row).
    pub fn request(&self, request: &Value) -> Result<Value, EnvError> {
        let name = &self.spec.name;
        if self.stopped.load(Ordering::Relaxed) {
            return Err(EnvError::Stopped {
                env: name.clone(),
                message: format!("its processes failed {MAX_CONSECUTIVE_FAILURES} times in a row"),
            });
        }
        let n = self.workers.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed) % n;
        // A free worker if there is one, else wait for the round-robin choice.
        let free = (0..n)
            .map(|k| (start + k) % n)
            .find(|&i| self.workers[i].try_lock().is_ok());
        let result = self.ask_worker(free.unwrap_or(start), request);
        match result {
            Ok(v) => {
                self.failures.store(0, Ordering::Relaxed);
                Ok(v)
            }
            Err(message) => {
                let failures = self.failures.fetch_add(1, Ordering::Relaxed) + 1;
                if failures >= MAX_CONSECUTIVE_FAILURES {
                    self.stopped.store(true, Ordering::Relaxed);
                }
                Err(EnvError::External {
                    env: name.clone(),
                    request: quote(&request.to_string()),
                    message,
                })
            }
        }
    }
}

/// Writes each request line to a process's stdin until the channel or the pipe closes.
fn write_requests(mut stdin: ChildStdin, lines: Receiver<String>) {
    for line in lines {
        if stdin
            .write_all(line.as_bytes())
            .and_then(|()| stdin.flush())
            .is_err()
        {
            return;
        }
    }
}

/// Sends each line of a process's stdout (without its newline) until it closes; a line
/// longer than [`MAX_REPLY_BYTES`] or not UTF-8 is sent as an error and ends the reading.
fn read_replies(stdout: ChildStdout, tx: Sender<Result<String, String>>) {
    let mut reader = BufReader::new(stdout);
    loop {
        let mut buf = Vec::new();
        let limit = MAX_REPLY_BYTES as u64 + 1;
        let line = match (&mut reader).take(limit).read_until(b'\n', &mut buf) {
            Ok(0) => return,
            Ok(_) if buf.last() != Some(&b'\n') && buf.len() > MAX_REPLY_BYTES => Err(format!(
                "a reply line is longer than {MAX_REPLY_BYTES} bytes"
            )),
            Ok(_) => {
                if buf.last() == Some(&b'\n') {
                    buf.pop();
                }
                if buf.last() == Some(&b'\r') {
                    buf.pop();
                }
                String::from_utf8(buf).map_err(|_| "a reply line is not UTF-8".to_string())
            }
            Err(e) => Err(e.to_string()),
        };
        let failed = line.is_err();
        if tx.send(line).is_err() || failed {
            return;
        }
    }
}

fn quote(s: &str) -> String {
    if s.chars().count() <= QUOTE {
        return s.to_string();
    }
    let cut: String = s.chars().take(QUOTE).collect();
    format!("{cut}...")
}

/// One built process env: the pool, at a difficulty and config.
pub struct ProcessEnv {
    pool: Arc<ProcessPool>,
    name: String,
    /// The entry's domain (the envs file's, when it declares one).
    domain: Domain,
    difficulty: u8,
    config: Value,
}

impl Environment for ProcessEnv {
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
        self.config.clone()
    }

    fn generate(&self, seed: u64, index: u64) -> Result<Task, EnvError> {
        let reply = self
            .pool
            .request(&json!({"op": "generate", "seed": seed, "index": index,
            "difficulty": self.difficulty, "config": self.config}))?;
        let fail = |m: String| EnvError::Generation {
            env: self.name.clone(),
            seed,
            index,
            message: m,
        };
        let question = reply
            .get("question")
            .and_then(Value::as_str)
            .ok_or_else(|| fail("the reply has no \"question\" string".into()))?
            .to_string();
        let answer = reply
            .get("answer")
            .cloned()
            .ok_or_else(|| fail("the reply has no \"answer\"".into()))?;
        let solution = match reply.get("solution") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => return Err(fail("\"solution\" must be a string".into())),
        };
        let prompt = match reply.get("prompt") {
            None | Some(Value::Null) => Prompt::Text(match self.pool.description.raw {
                true => question.clone(),
                false => with_format(&question),
            }),
            Some(p) => serde_json::from_value(p.clone()).map_err(|_| {
                fail("\"prompt\" must be a string or [{\"role\", \"content\"}] messages".into())
            })?,
        };
        Ok(Task {
            env: self.name.clone(),
            seed,
            index,
            difficulty: self.difficulty,
            prompt,
            answer,
            solution,
            solution_turns: None,
            question,
        })
    }

    fn verify(&self, task: &Task, completion: &str) -> Result<Verdict, EnvError> {
        if task.env != self.name {
            return Err(EnvError::task(
                &self.name,
                format!("task is for '{}'", task.env),
            ));
        }
        let (text, format, extracted) = if self.pool.description.raw {
            (completion, None, None)
        } else {
            match parse_think_answer(completion) {
                Ok(p) => {
                    let format = f64::from(u8::from(p.thinking.is_some() && p.tagged));
                    (p.answer, Some(format), Some(p.answer.to_string()))
                }
                Err(e) => {
                    return Ok(Verdict::wrong(None, format!("malformed completion: {e}"))
                        .with_component("format", 0.0))
                }
            }
        };
        let reply = self.pool.request(
            &json!({"op": "verify", "answer": task.answer, "completion": text,
                "difficulty": self.difficulty, "config": self.config}),
        )?;
        let reward = reply.get("reward").and_then(Value::as_f64);
        let correct = reply.get("correct").and_then(Value::as_bool);
        let (Some(reward), Some(correct)) = (reward, correct) else {
            return Err(EnvError::External {
                env: self.name.clone(),
                request: "verify".into(),
                message: format!(
                    "the reply needs a number \"reward\" and a bool \"correct\": {}",
                    quote(&reply.to_string())
                ),
            });
        };
        let reason = reply
            .get("reason")
            .and_then(Value::as_str)
            .map(String::from);
        let mut v = match correct {
            true => Verdict::correct(extracted.clone().unwrap_or_default()),
            false => Verdict::wrong(extracted.clone(), reason.unwrap_or_else(|| "wrong".into())),
        };
        v.reward = reward;
        v.extracted = match reply.get("extracted") {
            Some(Value::String(e)) => Some(e.clone()),
            _ => extracted,
        };
        v = v.with_component("accuracy", f64::from(u8::from(correct)));
        if let Some(f) = format {
            v = v.with_component("format", f);
        }
        if let Some(Value::Object(components)) = reply.get("components") {
            for (name, value) in components {
                if let Some(x) = value.as_f64() {
                    v = v.with_component(name, x);
                }
            }
        }
        Ok(v.clamp())
    }
}

/// The registry entry of a process env. With `declared` (the domain and description the
/// envs file gives) nothing starts until the entry is first built, so listing or using
/// other envs of the file costs no process; without it the processes start here, since the
/// description names the domain. Either way the pool starts once (describe, then the
/// determinism check) and every build of the entry shares it; a pool that fails to start
/// fails every build with the same message.
pub fn process_entry(
    spec: ProcessSpec,
    declared: Option<(Domain, String)>,
) -> Result<EnvEntry, EnvError> {
    let name = spec.name.clone();
    let started: Arc<OnceLock<Result<Arc<ProcessPool>, String>>> = Arc::new(OnceLock::new());
    let (domain, description) = match declared {
        Some(d) => {
            ProcessPool::check(&spec)?;
            d
        }
        None => {
            let pool = ProcessPool::start(spec.clone())?;
            let d = pool.description().clone();
            let _ = started.set(Ok(pool));
            (d.domain, d.description)
        }
    };
    Ok(EnvEntry::new(
        name.clone(),
        domain,
        description,
        move |opts: &EnvOptions| {
            let difficulty = check_difficulty(opts.difficulty.unwrap_or(DEFAULT_DIFFICULTY))?;
            let config = match &opts.config {
                None => json!({}),
                Some(c) if c.is_object() => c.clone(),
                Some(_) => return Err(EnvError::config(&name, "config must be a JSON object")),
            };
            let pool = started
                .get_or_init(|| match ProcessPool::start(spec.clone()) {
                    Ok(pool) => Ok(pool),
                    Err(EnvError::InvalidConfig { message, .. }) => Err(message),
                    Err(e) => Err(e.to_string()),
                })
                .clone()
                .map_err(|message| EnvError::config(&name, message))?;
            Ok(Box::new(ProcessEnv {
                pool,
                name: name.clone(),
                domain,
                difficulty,
                config,
            }) as Box<dyn Environment>)
        },
    ))
}
