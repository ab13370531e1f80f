//! Integration tests of `verigym reward-server` on 127.0.0.1: both endpoints against
//! `verigym score`, then load and faults — 1,000 concurrent requests, malformed JSON,
//! oversized bodies and batches, slow and vanishing clients — after which every request
//! has been answered and the server still answers `/health`.

use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A server on an OS-chosen loopback port, killed when dropped.
struct Server {
    child: Child,
    port: u16,
}

impl Server {
    fn start(extra: &[&str]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_verigym"))
            .args(["reward-server", "--port", "0"])
            .args(extra)
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn reward-server");
        let mut stderr = BufReader::new(child.stderr.take().expect("stderr"));
        let mut line = String::new();
        stderr
            .read_line(&mut line)
            .expect("read the listening line");
        let port = line
            .trim()
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("no port in {line:?}"));
        assert!(
            line.contains("http://127.0.0.1:"),
            "binds loopback by default: {line}"
        );
        // Keep draining stderr so the server never blocks on a full pipe.
        std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
        Server { child, port }
    }

    fn connect(&self) -> TcpStream {
        let s = TcpStream::connect(("127.0.0.1", self.port)).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
        s
    }

    /// Sends raw request bytes and returns (status, body as JSON).
    fn raw(&self, request: &[u8]) -> (u16, Value) {
        let mut s = self.connect();
        s.write_all(request).expect("send");
        read_response(&mut s)
    }

    fn post(&self, path: &str, body: &str) -> (u16, Value) {
        self.raw(&post_bytes(path, body))
    }

    fn get(&self, path: &str) -> (u16, Value) {
        self.raw(format!("GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").as_bytes())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn post_bytes(path: &str, body: &str) -> Vec<u8> {
    format!(
        "POST {path} HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Reads a `Connection: close` response to its end: (status, JSON body).
fn read_response(s: &mut TcpStream) -> (u16, Value) {
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).expect("read response");
    let text = String::from_utf8(raw).expect("utf-8 response");
    let (head, body) = text.split_once("\r\n\r\n").expect("header end");
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .expect("status code");
    let body = serde_json::from_str(body).unwrap_or(Value::Null);
    (status, body)
}

fn verigym(args: &[&str], stdin: &str) -> String {
    let mut child = Command::new(env!("CARGO_BIN_EXE_verigym"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn verigym");
    let mut pipe = child.stdin.take().unwrap();
    let input = stdin.to_string();
    let writer = std::thread::spawn(move || pipe.write_all(input.as_bytes()));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    String::from_utf8(out.stdout).unwrap()
}

/// Tasks of `env` with completions: the reference solution, a wrong answer, garbage.
fn items(env: &str, n: usize) -> Vec<Value> {
    let tasks = verigym(
        &["sample", "--env", env, "--n", &n.to_string(), "--seed", "3"],
        "",
    );
    tasks
        .lines()
        .enumerate()
        .map(|(i, l)| {
            let mut t: Value = serde_json::from_str(l).unwrap();
            t["completion"] = match i % 3 {
                0 => t["solution"].clone(),
                1 => "<think>guess</think><answer>7</answer>".into(),
                _ => "\u{0}garbage<think>".into(),
            };
            t
        })
        .collect()
}

fn cli_score(env: &str, items: &[Value]) -> Vec<Value> {
    let input: String = items.iter().map(|t| format!("{t}\n")).collect();
    verigym(&["score", "--env", env], &input)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn score_and_get_reward_agree_with_verigym_score() {
    let server = Server::start(&[]);
    let (status, health) = server.get("/health");
    assert_eq!((status, &health["status"]), (200, &json!("ok")));

    let mut all = Vec::new();
    let mut expected = Vec::new();
    for env in ["arithmetic", "countdown", "letter_counting"] {
        let its = items(env, 12);
        expected.extend(cli_score(env, &its).into_iter().map(|mut r| {
            // The CLI numbers lines per file; the server numbers items per request.
            r["line"] = json!(all.len() + r["line"].as_u64().unwrap() as usize);
            r
        }));
        all.extend(its);
    }
    let (status, body) = server.post("/score", &json!({ "items": all }).to_string());
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["results"].as_array().unwrap(), &expected);
    assert!(
        expected.iter().any(|r| r["reward"] == 1.0) && expected.iter().any(|r| r["reward"] == 0.0)
    );

    // OpenRLHF: the query is prompt + response, the label the task record (text or object).
    let prompts: Vec<String> = all
        .iter()
        .map(|t| t["prompt"].as_str().unwrap().to_string())
        .collect();
    let query: Vec<String> = all
        .iter()
        .zip(&prompts)
        .map(|(t, p)| format!("{p}{}", t["completion"].as_str().unwrap()))
        .collect();
    let labels: Vec<Value> = all
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let mut t = t.clone();
            t.as_object_mut().unwrap().remove("completion");
            if i % 2 == 0 {
                t.to_string().into()
            } else {
                t
            }
        })
        .collect();
    let request = json!({ "query": query, "prompts": prompts, "labels": labels });
    let (status, body) = server.post("/get_reward", &request.to_string());
    assert_eq!(status, 200, "{body}");
    let rewards: Vec<f64> = expected
        .iter()
        .map(|r| r["reward"].as_f64().unwrap())
        .collect();
    let correct: Vec<f64> = expected
        .iter()
        .map(|r| if r["correct"] == true { 1.0 } else { 0.0 })
        .collect();
    assert_eq!(body["rewards"], json!(rewards));
    assert_eq!(body["scores"], json!(rewards));
    assert_eq!(body["extra_logs"]["correct"], json!(correct));
}

#[test]
fn bad_items_are_error_records_in_place_and_bad_requests_are_named_4xx() {
    let server = Server::start(&["--max-batch", "50", "--max-body-bytes", "100000"]);
    let mut its = items("arithmetic", 3);
    its.insert(1, json!({ "env": "arithmetic" }));
    its.push(json!({ "env": "nope", "seed": 0, "index": 0, "difficulty": 1, "prompt": "", "answer": 1, "completion": "" }));
    let (status, body) = server.post("/score", &json!({ "items": its }).to_string());
    assert_eq!(status, 200);
    let r = body["results"].as_array().unwrap();
    assert_eq!(r.len(), 5, "nothing dropped");
    assert_eq!(r[0]["reward"], 1.0);
    assert!(
        r[1]["error"].as_str().unwrap().contains("missing field"),
        "{}",
        r[1]
    );
    assert_eq!(r[1]["line"], 2);
    assert!(r[4]["error"]
        .as_str()
        .unwrap()
        .contains("unknown environment 'nope'"));

    let cases: Vec<(&str, String, u16, &str)> = vec![
        ("/score", "{\"items\": [".into(), 400, "invalid JSON body"),
        (
            "/score",
            "{\"tasks\": []}".into(),
            400,
            "unknown field `tasks`",
        ),
        ("/score", "[1,2]".into(), 400, "invalid JSON body"),
        (
            "/score",
            json!({ "items": vec![json!({}); 51] }).to_string(),
            413,
            "at most 50",
        ),
        (
            "/get_reward",
            json!({ "query": ["a"], "prompts": [] , "labels": []}).to_string(),
            400,
            "\"prompts\" has 0",
        ),
        (
            "/get_reward",
            json!({ "query": ["a"], "prompts": ["b"], "labels": [its[0]] }).to_string(),
            422,
            "item 0: query does not start with its prompt",
        ),
        (
            "/get_reward",
            json!({ "query": ["ab"], "prompts": ["a"], "labels": ["{"] }).to_string(),
            422,
            "item 0: label is not a task record",
        ),
        (
            "/get_reward",
            json!({ "query": ["a"] }).to_string(),
            400,
            "missing field `prompts`",
        ),
        ("/nowhere", "{}".into(), 404, "no route /nowhere"),
    ];
    for (path, body, want, says) in cases {
        let (status, reply) = server.post(path, &body);
        assert_eq!(status, want, "{path} {reply}");
        let msg = reply["error"]
            .as_str()
            .unwrap_or_else(|| panic!("JSON error body: {reply}"));
        assert!(msg.contains(says), "{msg:?} should say {says:?}");
    }
    // An oversized body is refused from its Content-Length, before it is sent.
    let (status, reply) = server.raw(
        b"POST /score HTTP/1.1\r\nHost: t\r\nContent-Length: 200000\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(status, 413);
    assert!(reply["error"]
        .as_str()
        .unwrap()
        .contains("exceeds 100000 bytes"));
    // A chunked body (no length given) is cut off at the cap.
    let big = format!("{{\"items\": [\"{}\"]}}", "x".repeat(100_100));
    let chunked = format!(
        "POST /score HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n{:x}\r\n{big}\r\n0\r\n\r\n",
        big.len()
    );
    let (status, reply) = server.raw(chunked.as_bytes());
    assert_eq!(status, 413, "{reply}");
    let (status, reply) = server.get("/score");
    assert_eq!(status, 405);
    assert!(reply["error"].as_str().unwrap().contains("POST"));
    // Not HTTP at all: hyper answers 400 or closes; either way the server lives on.
    let mut s = server.connect();
    s.write_all(b"\x00\x01 hello\r\n\r\n").unwrap();
    let mut sink = Vec::new();
    let _ = s.read_to_end(&mut sink);
    assert_eq!(server.get("/health").0, 200);
}

#[test]
fn a_thousand_concurrent_requests_are_all_answered() {
    let server = Server::start(&[]);
    let its = items("countdown", 8);
    let expected = cli_score("countdown", &its);
    let body = json!({ "items": its }).to_string();
    let request = post_bytes("/score", &body);
    // All 1,000 connections are open and their requests sent before any reply is read.
    let mut streams: Vec<TcpStream> = (0..1000)
        .map(|_| {
            let mut s = server.connect();
            s.write_all(&request).expect("send");
            s
        })
        .collect();
    let mut answered = 0;
    for s in &mut streams {
        let (status, reply) = read_response(s);
        assert_eq!(status, 200);
        assert_eq!(reply["results"].as_array().unwrap(), &expected);
        answered += 1;
    }
    assert_eq!(answered, 1000);
    assert_eq!(server.get("/health").0, 200);
}

#[test]
fn slow_and_vanishing_clients_do_not_hold_up_others() {
    let server = Server::start(&["--body-timeout-s", "5"]);
    let its = items("arithmetic", 2);
    let body = json!({ "items": its }).to_string();
    // Clients that send headers and half a body, then stall.
    let mut stalled: Vec<TcpStream> = (0..50)
        .map(|_| {
            let mut s = server.connect();
            let req = post_bytes("/score", &body);
            s.write_all(&req[..req.len() - body.len() / 2]).unwrap();
            s
        })
        .collect();
    // Clients that dribble their headers, and clients that vanish mid-request.
    let mut dribbling: Vec<TcpStream> = (0..20)
        .map(|_| {
            let mut s = server.connect();
            s.write_all(b"POST /score HTTP/1.1\r\nHo").unwrap();
            s
        })
        .collect();
    for _ in 0..20 {
        let mut s = server.connect();
        s.write_all(&post_bytes("/score", &body)[..40]).unwrap();
    }
    // Meanwhile everyone else is served, while the stalled clients still wait for replies.
    for _ in 0..20 {
        let (status, reply) = server.post("/score", &body);
        assert_eq!(status, 200);
        assert_eq!(reply["results"][0]["reward"], 1.0);
    }
    for s in &stalled {
        s.set_nonblocking(true).unwrap();
        let pending = s.peek(&mut [0u8; 1]).err().map(|e| e.kind());
        assert_eq!(
            pending,
            Some(std::io::ErrorKind::WouldBlock),
            "no reply before the timeout"
        );
        s.set_nonblocking(false).unwrap();
    }
    // The stalled bodies time out with a named 408.
    for s in &mut stalled {
        let (status, reply) = read_response(s);
        assert_eq!(status, 408);
        assert!(reply["error"].as_str().unwrap().contains("within 5 s"));
    }
    for s in &mut dribbling {
        s.write_all(b"st: t\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}")
            .unwrap();
        let (status, reply) = read_response(s);
        assert_eq!(status, 400, "{reply}");
    }
    assert_eq!(server.get("/health").0, 200);
}
