//! `verigym eval` against OpenAI-compatible endpoints on 127.0.0.1: a fake server that
//! answers arithmetic correctly, fails on purpose (500s, hangs past the timeout, malformed
//! JSON, closed connections, 401), or answers slowly so a run can be killed mid-way. Written
//! on raw sockets so a fault can be anything a real server might do.

use serde_json::{json, Value};
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The fake endpoint. The URL's first path segment picks the behaviour:
/// `perfect`, `slow` (perfect after 150 ms), `flaky` (each prompt's first try is a 500),
/// `broken` (by prompt: always 500, hangs 5 s, malformed JSON, or the connection closed),
/// `locked` (401).
struct Fake {
    url: String,
    requests: Arc<AtomicUsize>,
}

impl Fake {
    fn start() -> Fake {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let requests = Arc::new(AtomicUsize::new(0));
        let tries: Arc<Mutex<HashMap<String, u32>>> = Arc::default();
        let count = requests.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (count, tries) = (count.clone(), tries.clone());
                std::thread::spawn(move || serve(stream, &count, &tries));
            }
        });
        Fake { url, requests }
    }

    fn model(&self, mode: &str) -> String {
        format!("openai:{}/{mode}/v1#fake-model", self.url)
    }
}

fn serve(mut stream: TcpStream, count: &AtomicUsize, tries: &Mutex<HashMap<String, u32>>) {
    let Some((path, body)) = read_request(&stream) else {
        return;
    };
    count.fetch_add(1, Ordering::SeqCst);
    let mode = path.trim_start_matches('/').split('/').next().unwrap_or("");
    let chat = path.ends_with("/chat/completions");
    let prompt = if chat {
        body["messages"]
            .as_array()
            .and_then(|m| m.last())
            .and_then(|m| m["content"].as_str())
            .unwrap_or("")
            .to_string()
    } else {
        body["prompt"].as_str().unwrap_or("").to_string()
    };
    let attempt = {
        let mut t = tries.lock().unwrap();
        let a = t.entry(format!("{mode}/{prompt}")).or_insert(0);
        *a += 1;
        *a
    };
    let bucket = prompt.bytes().map(usize::from).sum::<usize>() % 4;
    match mode {
        "locked" => return respond(&mut stream, 401, r#"{"error": {"message": "bad key"}}"#),
        "flaky" if attempt == 1 => return respond(&mut stream, 500, "{}"),
        "broken" => match bucket {
            0 => return respond(&mut stream, 503, r#"{"error": {"message": "overloaded"}}"#),
            1 => {
                std::thread::sleep(Duration::from_secs(5));
                return respond(&mut stream, 200, "{}");
            }
            2 => return respond(&mut stream, 200, r#"{"choices": [{"text": "#),
            _ => return, // dropped without a reply
        },
        "slow" => std::thread::sleep(Duration::from_millis(150)),
        _ => {}
    }
    let answer = solve(&prompt);
    let n = body["n"].as_u64().unwrap_or(1);
    let text = format!("<think>worked out</think>\n<answer>{answer}</answer>");
    let choices: Vec<Value> = (0..n)
        .map(|i| {
            if chat {
                json!({"index": i, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"})
            } else {
                json!({"index": i, "text": text, "finish_reason": "stop"})
            }
        })
        .collect();
    let reply = json!({"choices": choices, "usage": {"prompt_tokens": 5, "completion_tokens": 7 * n, "total_tokens": 5 + 7 * n}});
    respond(&mut stream, 200, &reply.to_string());
}

/// The answer to "Compute A op B." (what the arithmetic env asks at difficulty 1).
fn solve(prompt: &str) -> i64 {
    let words: Vec<&str> = prompt
        .split("Compute ")
        .nth(1)
        .and_then(|s| s.split('.').next())
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let num = |i: usize| {
        words
            .get(i)
            .and_then(|w| w.parse::<i64>().ok())
            .unwrap_or(0)
    };
    match words.get(1).copied() {
        Some("+") => num(0) + num(2),
        Some("-") => num(0) - num(2),
        Some("*") | Some("×") => num(0) * num(2),
        _ => 0,
    }
}

fn read_request(stream: &TcpStream) -> Option<(String, Value)> {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let path = line.split_whitespace().nth(1)?.to_string();
    let mut length = 0usize;
    loop {
        let mut h = String::new();
        reader.read_line(&mut h).ok()?;
        if h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                length = v.trim().parse().ok()?;
            }
        }
    }
    let mut body = vec![0u8; length];
    reader.read_exact(&mut body).ok()?;
    Some((path, serde_json::from_slice(&body).unwrap_or(Value::Null)))
}

fn respond(stream: &mut TcpStream, status: u16, body: &str) {
    let _ = write!(
        stream,
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("verigym-eval-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn suite(dir: &Path, extra: &str, n: u64, samples: usize) -> PathBuf {
    let path = dir.join("suite.toml");
    let text = format!(
        "name = \"t\"\nsamples = {samples}\ntemperature = 0.0\nmax_tokens = 64\n{extra}\n\
         [[envs]]\nname = \"arithmetic\"\ndifficulties = [1]\nn = {n}\nseed = 7\n"
    );
    std::fs::write(&path, text).unwrap();
    path
}

fn verigym(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_verigym"))
        .args(args)
        .env_remove("OPENAI_API_KEY")
        .output()
        .unwrap()
}

fn results(dir: &Path) -> Vec<Value> {
    std::fs::read_to_string(dir.join("results.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn a_perfect_endpoint_scores_one_in_chat_and_completion_mode() {
    let fake = Fake::start();
    for mode in ["chat", "completion"] {
        let dir = scratch(&format!("perfect-{mode}"));
        let s = suite(&dir, &format!("mode = \"{mode}\""), 6, 3);
        let out = dir.join("out");
        let o = verigym(&[
            "eval",
            "--suite",
            s.to_str().unwrap(),
            "--model",
            &fake.model("perfect"),
            "--out",
            out.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", text(&o));
        let rs = results(&out);
        assert_eq!(rs.len(), 6);
        for r in &rs {
            assert_eq!(r["completions"].as_array().unwrap().len(), 3);
            assert_eq!(r["correct"], json!([true, true, true]), "{r}");
            assert!(r["error"].is_null());
            assert_eq!(r["tokens"], json!(21));
            for field in ["env", "seed", "index", "difficulty", "prompt", "rewards"] {
                assert!(r.get(field).is_some(), "{field} missing: {r}");
            }
        }
        // Suite order: index 0..6.
        let idx: Vec<u64> = rs.iter().map(|r| r["index"].as_u64().unwrap()).collect();
        assert_eq!(idx, (0..6).collect::<Vec<_>>());
        let summary: Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap())
                .unwrap();
        assert_eq!(summary["overall"]["accuracy"]["mean"], json!(1.0));
        assert_eq!(summary["overall"]["pass_at_k"]["3"], json!(1.0));
        assert_eq!(summary["overall"]["maj_at_k"]["2"], json!(1.0));
        assert_eq!(
            summary["per_difficulty"]["arithmetic"]["1"]["tasks"],
            json!(6)
        );
        assert!(out.join("report.md").exists() && out.join("plots/accuracy.png").exists());
        let stdout = String::from_utf8_lossy(&o.stdout);
        assert!(stdout.contains("| arithmetic | 6 | 1.000"), "{stdout}");
    }
}

#[test]
fn failures_are_retried_then_recorded_and_every_item_is_accounted_for() {
    let fake = Fake::start();
    let dir = scratch("faults");
    let s = suite(&dir, "", 12, 1);
    // Flaky: every prompt fails once, then succeeds on the retry.
    let out = dir.join("flaky");
    let o = verigym(&[
        "eval",
        "--suite",
        s.to_str().unwrap(),
        "--model",
        &fake.model("flaky"),
        "--out",
        out.to_str().unwrap(),
        "--retries",
        "2",
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let rs = results(&out);
    assert_eq!(rs.len(), 12);
    assert!(
        rs.iter()
            .all(|r| r["error"].is_null() && r["attempts"] == json!(2)),
        "{rs:?}"
    );
    // Broken: 503s, hangs past the timeout, malformed JSON, dropped connections.
    let out = dir.join("broken");
    let started = Instant::now();
    let o = verigym(&[
        "eval",
        "--suite",
        s.to_str().unwrap(),
        "--model",
        &fake.model("broken"),
        "--out",
        out.to_str().unwrap(),
        "--retries",
        "1",
        "--timeout-s",
        "1",
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    // Twelve hangs of 5 s would take a minute; the timeout cut them.
    assert!(started.elapsed() < Duration::from_secs(40));
    let rs = results(&out);
    assert_eq!(rs.len(), 12, "every item has its line");
    let errors: Vec<&str> = rs.iter().map(|r| r["error"].as_str().unwrap()).collect();
    assert!(
        errors.iter().all(|e| e.contains("after 2 tries")),
        "{errors:?}"
    );
    assert!(errors.iter().any(|e| e.contains("HTTP 503")), "{errors:?}");
    assert!(errors.iter().any(|e| e.contains("not JSON")), "{errors:?}");
    assert!(
        errors.iter().any(|e| e.to_lowercase().contains("timeout")),
        "{errors:?}"
    );
    let summary = std::fs::read_to_string(out.join("summary.json")).unwrap();
    let summary: Value = serde_json::from_str(&summary).unwrap();
    assert_eq!(summary["overall"]["errors"], json!(12));
    assert_eq!(summary["overall"]["accuracy"]["mean"], json!(0.0));
    // A restart retries the errored items (the endpoint may be back) and keeps one line each.
    let o = verigym(&[
        "eval",
        "--suite",
        s.to_str().unwrap(),
        "--model",
        &fake.model("broken"),
        "--out",
        out.to_str().unwrap(),
        "--retries",
        "0",
        "--timeout-s",
        "1",
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(results(&out).len(), 12);
}

#[test]
fn a_wrong_key_stops_the_eval_with_an_error() {
    let fake = Fake::start();
    let dir = scratch("locked");
    let s = suite(&dir, "", 4, 1);
    let out = dir.join("out");
    let o = verigym(&[
        "eval",
        "--suite",
        s.to_str().unwrap(),
        "--model",
        &fake.model("locked"),
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("HTTP 401"), "{}", text(&o));
}

#[test]
fn an_eval_killed_mid_run_resumes_to_the_results_of_an_uninterrupted_one() {
    let fake = Fake::start();
    let dir = scratch("resume");
    let s = suite(&dir, "", 40, 2);
    let run = |out: &Path| {
        Command::new(env!("CARGO_BIN_EXE_verigym"))
            .args([
                "eval",
                "--suite",
                s.to_str().unwrap(),
                "--model",
                &fake.model("slow"),
                "--out",
                out.to_str().unwrap(),
                "--concurrency",
                "2",
                "--quiet",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    let whole = dir.join("whole");
    assert!(run(&whole).wait().unwrap().success());
    let before = fake.requests.load(Ordering::SeqCst);
    let cut = dir.join("cut");
    let mut child = run(&cut);
    let lines = || {
        std::fs::read_to_string(cut.join("results.jsonl"))
            .map(|t| t.lines().count())
            .unwrap_or(0)
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while lines() < 10 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let finished = lines();
    assert!(
        (10..40).contains(&finished),
        "killed after {finished} lines"
    );
    assert!(run(&cut).wait().unwrap().success());
    // Nothing finished was asked again: at most the two in flight at the kill.
    let asked = fake.requests.load(Ordering::SeqCst) - before;
    assert!(asked <= 40 + 2, "{asked} requests for 40 tasks");
    let strip = |rs: Vec<Value>| -> Vec<Value> {
        rs.into_iter()
            .map(|mut r| {
                r.as_object_mut().unwrap().remove("latency_s");
                r
            })
            .collect()
    };
    assert_eq!(strip(results(&whole)), strip(results(&cut)));
    let summary = |d: &Path| -> Value {
        let mut v: Value =
            serde_json::from_str(&std::fs::read_to_string(d.join("summary.json")).unwrap())
                .unwrap();
        v.as_object_mut().unwrap().remove("seconds");
        v.as_object_mut().unwrap().remove("model");
        v
    };
    assert_eq!(summary(&whole), summary(&cut));
    // --compare pairs the two over their tasks: no difference.
    let o = verigym(&[
        "eval",
        "--compare",
        whole.to_str().unwrap(),
        cut.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("| arithmetic | 1.000 | 1.000 | +0.000"),
        "{}",
        text(&o)
    );
}

#[test]
fn bad_input_is_refused_with_a_clear_error() {
    let dir = scratch("bad");
    let bad = dir.join("bad.toml");
    std::fs::write(
        &bad,
        "name = \"x\"\nsamples = 0\n[[envs]]\nname = \"arithmetic\"\nn = 1\n",
    )
    .unwrap();
    let o = verigym(&["eval", "--suite", bad.to_str().unwrap(), "--dry-run"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("bad.toml: samples"), "{}", text(&o));
    let o = verigym(&["eval", "--suite", "mini", "--model", "openai:localhost#m"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o).contains("openai:BASE_URL#MODEL_NAME"),
        "{}",
        text(&o)
    );
    let o = verigym(&["eval", "--suite", "mini"]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "--model is required: {}",
        text(&o)
    );
    let o = verigym(&["eval", "--suite", "mini", "--dry-run"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("60 tasks x 1 samples"), "{}", text(&o));
    // A folder made for one model is not reused for another.
    let fake = Fake::start();
    let s = suite(&dir, "", 2, 1);
    let out = dir.join("out");
    let args = |m: &str| {
        vec![
            "eval".to_string(),
            "--suite".into(),
            s.display().to_string(),
            "--model".into(),
            m.to_string(),
            "--out".into(),
            out.display().to_string(),
            "--quiet".into(),
        ]
    };
    let run = |a: Vec<String>| {
        Command::new(env!("CARGO_BIN_EXE_verigym"))
            .args(a)
            .output()
            .unwrap()
    };
    assert!(run(args(&fake.model("perfect"))).status.success());
    let o = run(args(&fake.model("slow")));
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("another --out"), "{}", text(&o));
}
