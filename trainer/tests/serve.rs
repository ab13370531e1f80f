//! `verigym-train serve` as a client sees it, over 127.0.0.1 with a small HTTP/1.1 client
//! on `std::net`: the model list, greedy and seeded completions equal to `generate`,
//! 64 concurrent chat requests all answered (each as it is alone), server-sent events
//! ending in `[DONE]`, OpenAI-style 4xx errors for hostile requests, and a clean exit on
//! SIGTERM. Each test starts its own server on a random small checkpoint (`--port 0`).

use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use tch::{Device, Kind};
use verigym_trainer::policy::checkpoint;
use verigym_trainer::policy::model::{Config, Model};
use verigym_trainer::policy::tokenizer::Tokenizer;

const KEY: &str = "test-key-123";
const EXE: &str = env!("CARGO_BIN_EXE_verigym-train");

/// A random Llama with the built-in tokenizer; peaky (initializer range 0.5), so greedy
/// choices are far from ties.
fn checkpoint_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("verigym-serve-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut cfg = Config::llama(267, 64, 128, 2, 4, 2);
    cfg.initializer_range = 0.5;
    cfg.max_position_embeddings = 256;
    let model = Model::new_seeded(&cfg, Device::Cpu, Kind::Float, 11).unwrap();
    checkpoint::save(&model, &Tokenizer::builtin(), &dir).unwrap();
    dir
}

/// A running server, killed when dropped.
struct Server {
    child: Child,
    addr: String,
}

impl Server {
    fn start(model: &Path, extra: &[&str]) -> Server {
        let mut child = Command::new(EXE)
            .args(["serve", "--model"])
            .arg(model)
            .args(["--port", "0", "--api-key-env", "VERIGYM_TEST_KEY"])
            .args(["--max-n", "4", "--max-tokens-limit", "64"])
            .args(["--max-body-bytes", "65536"])
            .args(extra)
            .env("VERIGYM_TEST_KEY", KEY)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        let stdout = child.stdout.take().unwrap();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        let addr = line
            .trim()
            .strip_prefix("verigym serve: listening on http://")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_string();
        assert!(addr.starts_with("127.0.0.1:"), "{addr}");
        Server { child, addr }
    }

    fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        let (status, text) = self.raw("POST", path, Some(KEY), body.to_string().as_bytes());
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    fn get(&self, path: &str) -> (u16, Value) {
        let (status, text) = self.raw("GET", path, Some(KEY), b"");
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// One request on a fresh connection; returns the status and the (de-chunked) body.
    fn raw(&self, method: &str, path: &str, key: Option<&str>, body: &[u8]) -> (u16, String) {
        let mut s = TcpStream::connect(&self.addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(300))).unwrap();
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n",
            self.addr,
            body.len()
        );
        if let Some(k) = key {
            head.push_str(&format!("Authorization: Bearer {k}\r\n"));
        }
        head.push_str("\r\n");
        s.write_all(head.as_bytes()).unwrap();
        // The server may answer (413) and close before reading a large body.
        let _ = s.write_all(body);
        let mut raw = Vec::new();
        s.read_to_end(&mut raw).unwrap();
        parse_response(&raw)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn parse_response(raw: &[u8]) -> (u16, String) {
    let text = String::from_utf8_lossy(raw);
    let (head, body) = text.split_once("\r\n\r\n").expect("no header end");
    let status: u16 = head.split(' ').nth(1).unwrap().parse().unwrap();
    let chunked = head.lines().any(|l| {
        l.to_ascii_lowercase()
            .starts_with("transfer-encoding: chunked")
    });
    if !chunked {
        return (status, body.to_string());
    }
    let mut out = String::new();
    let mut rest = body;
    loop {
        let (size, after) = rest.split_once("\r\n").expect("chunk size line");
        let size = usize::from_str_radix(size.trim(), 16).unwrap();
        if size == 0 {
            return (status, out);
        }
        out.push_str(&after[..size]);
        rest = &after[size + 2..];
    }
}

/// `verigym-train generate` on the same checkpoint: {"token_ids", "text"}.
fn generate(model: &Path, prompt: &str, args: &[&str]) -> Value {
    let out = Command::new(EXE)
        .args(["generate", "--model"])
        .arg(model)
        .args(["--prompt", prompt, "--raw", "--json"])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn text(reply: &Value) -> String {
    let c = &reply["choices"][0];
    c["text"]
        .as_str()
        .or(c["message"]["content"].as_str())
        .unwrap_or_else(|| panic!("no text in {reply}"))
        .to_string()
}

#[test]
fn models_and_completions_equal_generate() {
    let dir = checkpoint_dir("generate");
    let server = Server::start(&dir, &[]);
    let name = dir.file_name().unwrap().to_str().unwrap();
    let (status, models) = server.get("/v1/models");
    assert_eq!(status, 200, "{models}");
    assert_eq!(models["data"][0]["id"], name);
    assert_eq!(models["data"][0]["max_model_len"], 256);
    let (status, health) = server.raw("GET", "/health", None, b"");
    assert_eq!((status, health.contains("ok")), (200, true));

    let prompt = "The sum of 17 and 25 is";
    for (temperature, seed) in [("0", 0u64), ("1", 5), ("0.7", 9)] {
        let want = generate(
            &dir,
            prompt,
            &[
                "--max-tokens",
                "24",
                "--temperature",
                temperature,
                "--seed",
                &seed.to_string(),
            ],
        );
        let (status, got) = server.post(
            "/v1/completions",
            &json!({"model": name, "prompt": prompt, "max_tokens": 24,
                    "temperature": temperature.parse::<f64>().unwrap(), "seed": seed,
                    "logprobs": 1}),
        );
        assert_eq!(status, 200, "{got}");
        assert_eq!(
            text(&got),
            want["text"].as_str().unwrap(),
            "temperature {temperature}"
        );
        let made = want["token_ids"].as_array().unwrap().len();
        assert_eq!(got["usage"]["completion_tokens"], made);
        assert_eq!(got["usage"]["prompt_tokens"], prompt.len());
        let lps = got["choices"][0]["logprobs"]["token_logprobs"]
            .as_array()
            .unwrap();
        assert_eq!(lps.len(), made);
        assert!(lps.iter().all(|l| l.as_f64().unwrap() <= 0.0));
        let finish = got["choices"][0]["finish_reason"].as_str().unwrap();
        assert_eq!(finish, if made == 24 { "length" } else { "stop" });
    }
    // n choices: choice j is seeded seed + j, so choice 0 is the one-choice request.
    let one = json!({"prompt": prompt, "max_tokens": 16, "seed": 3});
    let (_, single) = server.post("/v1/completions", &one);
    let mut two = one.clone();
    two["n"] = json!(2);
    let (status, pair) = server.post("/v1/completions", &two);
    assert_eq!(status, 200, "{pair}");
    assert_eq!(pair["choices"].as_array().unwrap().len(), 2);
    assert_eq!(pair["choices"][0]["text"], single["choices"][0]["text"]);
    // A stop string (a printable character the completion holds) ends the text before it.
    let full = text(&single);
    let stop = full
        .chars()
        .find(char::is_ascii_graphic)
        .map(String::from)
        .expect("a printable character in the completion");
    let mut stopped = one.clone();
    stopped["stop"] = json!(["never-seen", stop]);
    let (_, got) = server.post("/v1/completions", &stopped);
    let cut = full.find(&stop).unwrap();
    assert_eq!(text(&got), full[..cut]);
    assert_eq!(got["choices"][0]["finish_reason"], "stop");
}

/// 64 chat requests at once, greedy, each with its own prompt: every one is answered,
/// with the text it gets when sent alone.
#[test]
fn concurrent_chat_requests_are_all_answered_as_alone() {
    let dir = checkpoint_dir("concurrent");
    let server = Server::start(&dir, &["--max-batch", "16"]);
    let request = |i: usize| {
        json!({"messages": [
                {"role": "system", "content": "You add numbers."},
                {"role": "user", "content": format!("What is {i} + {}?", i * 7 % 13)}],
               "max_tokens": 12 + i % 20, "temperature": 0})
    };
    let replies: Vec<(u16, Value)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..64)
            .map(|i| {
                let (server, body) = (&server, request(i));
                s.spawn(move || server.post("/v1/chat/completions", &body))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for (i, (status, reply)) in replies.iter().enumerate() {
        assert_eq!(*status, 200, "request {i}: {reply}");
        assert_eq!(reply["object"], "chat.completion");
        assert_eq!(reply["choices"][0]["message"]["role"], "assistant");
        let made = reply["usage"]["completion_tokens"].as_u64().unwrap();
        assert!(made >= 1 && made <= 12 + i as u64 % 20, "{reply}");
        let total = reply["usage"]["total_tokens"].as_u64().unwrap();
        assert_eq!(
            total,
            made + reply["usage"]["prompt_tokens"].as_u64().unwrap()
        );
    }
    for i in [0, 17, 42, 63] {
        let (_, alone) = server.post("/v1/chat/completions", &request(i));
        assert_eq!(text(&alone), text(&replies[i].1), "request {i}");
    }
}

/// The data lines of a server-sent-event body.
fn sse_data(body: &str) -> Vec<String> {
    body.lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .map(str::to_string)
        .collect()
}

#[test]
fn streams_are_openai_chunks_ending_in_done() {
    let dir = checkpoint_dir("stream");
    let server = Server::start(&dir, &[]);
    let chat = json!({"messages": [{"role": "user", "content": "Say something."}],
                      "max_tokens": 20, "seed": 4, "logprobs": true, "top_logprobs": 2});
    let (_, whole) = server.post("/v1/chat/completions", &chat);
    let mut streamed = chat.clone();
    streamed["stream"] = json!(true);
    streamed["stream_options"] = json!({"include_usage": true});
    let (status, body) = server.raw(
        "POST",
        "/v1/chat/completions",
        Some(KEY),
        streamed.to_string().as_bytes(),
    );
    assert_eq!(status, 200, "{body}");
    let data = sse_data(&body);
    assert_eq!(data.last().map(String::as_str), Some("[DONE]"), "{body}");
    let chunks: Vec<Value> = data[..data.len() - 1]
        .iter()
        .map(|d| serde_json::from_str(d).unwrap())
        .collect();
    assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
    let mut content = String::new();
    let mut finish = None;
    let mut tokens = 0;
    for c in &chunks {
        assert_eq!(c["object"], "chat.completion.chunk");
        if let Some(choice) = c["choices"].get(0) {
            content.push_str(choice["delta"]["content"].as_str().unwrap_or(""));
            if let Some(lp) = choice["logprobs"]["content"].as_array() {
                tokens += lp.len();
                assert!(lp
                    .iter()
                    .all(|t| t["top_logprobs"].as_array().unwrap().len() == 2));
            }
            if let Some(f) = choice["finish_reason"].as_str() {
                finish = Some(f.to_string());
            }
        }
    }
    assert_eq!(content, text(&whole));
    assert_eq!(
        finish.as_deref(),
        whole["choices"][0]["finish_reason"].as_str()
    );
    let usage = &chunks.last().unwrap()["usage"];
    assert_eq!(usage, &whole["usage"]);
    assert_eq!(tokens as u64, usage["completion_tokens"].as_u64().unwrap());

    // Completions stream too, with n choices.
    let req = json!({"prompt": "Once", "max_tokens": 10, "n": 2, "seed": 1, "stream": true});
    let (status, body) = server.raw(
        "POST",
        "/v1/completions",
        Some(KEY),
        req.to_string().as_bytes(),
    );
    assert_eq!(status, 200);
    let data = sse_data(&body);
    assert_eq!(data.last().map(String::as_str), Some("[DONE]"));
    let mut texts = [String::new(), String::new()];
    for d in &data[..data.len() - 1] {
        let c: Value = serde_json::from_str(d).unwrap();
        assert_eq!(c["object"], "text_completion");
        let choice = &c["choices"][0];
        texts[choice["index"].as_u64().unwrap() as usize]
            .push_str(choice["text"].as_str().unwrap());
    }
    let mut whole = req.clone();
    whole["stream"] = json!(false);
    let (_, whole) = server.post("/v1/completions", &whole);
    for (i, t) in texts.iter().enumerate() {
        assert_eq!(t, whole["choices"][i]["text"].as_str().unwrap());
    }
}

#[test]
fn hostile_requests_get_openai_errors_and_the_server_lives_on() {
    let dir = checkpoint_dir("hostile");
    let server = Server::start(&dir, &[]);
    let error = |status: u16, body: &str| -> Value {
        let v: Value = serde_json::from_str(body).unwrap_or_else(|_| panic!("not JSON: {body}"));
        let e = &v["error"];
        assert!(e["message"].as_str().is_some_and(|m| !m.is_empty()), "{v}");
        assert!(e["type"].is_string() && e.get("param").is_some() && e.get("code").is_some());
        assert!((400..500).contains(&status), "{status}: {v}");
        e.clone()
    };
    let chat = |extra: Value| {
        let mut b = json!({"messages": [{"role": "user", "content": "hi"}], "max_tokens": 4});
        for (k, v) in extra.as_object().unwrap() {
            b[k] = v.clone();
        }
        b.to_string()
    };
    let completion = |body: Value| body.to_string();
    // (path, body, status, param) with the right key; then the key cases.
    let (c, chat_path) = ("/v1/completions", "/v1/chat/completions");
    let cases = [
        (chat_path, "{not json".to_string(), 400, None),
        (chat_path, String::new(), 400, None),
        (chat_path, "[1,2]".to_string(), 400, None),
        (chat_path, chat(json!({"n": 5})), 400, Some("n")),
        (
            chat_path,
            chat(json!({"max_tokens": 65})),
            400,
            Some("max_tokens"),
        ),
        (
            chat_path,
            chat(json!({"temperature": "hot"})),
            400,
            Some("temperature"),
        ),
        (
            chat_path,
            chat(json!({"messages": "hi"})),
            400,
            Some("messages"),
        ),
        (
            chat_path,
            chat(json!({"model": "gpt-9"})),
            404,
            Some("model"),
        ),
        (chat_path, chat(json!({"stop": [1]})), 400, Some("stop")),
        (
            c,
            completion(json!({"prompt": "x".repeat(250), "max_tokens": 10})),
            400,
            Some("prompt"),
        ),
        (
            c,
            completion(json!({"prompt": [[1, 2], [300]]})),
            400,
            Some("prompt"),
        ),
        (
            c,
            completion(json!({"prompt": "x".repeat(70_000)})),
            413,
            None,
        ),
        ("/v1/nowhere", "{}".to_string(), 404, None),
    ];
    for (path, body, want, param) in cases {
        let (status, text) = server.raw("POST", path, Some(KEY), body.as_bytes());
        let start: String = body.chars().take(80).collect();
        assert_eq!(status, want, "{path} {start}: {text}");
        let e = error(status, &text);
        if let Some(p) = param {
            assert_eq!(e["param"], p, "{text}");
        }
    }
    for key in [None, Some("wrong")] {
        let (status, text) = server.raw("POST", c, key, chat(json!({})).as_bytes());
        assert_eq!(status, 401, "{text}");
        assert_eq!(error(status, &text)["code"], "invalid_api_key");
    }
    let (status, text) = server.raw("GET", "/v1/completions", Some(KEY), b"");
    assert_eq!(status, 405);
    error(status, &text);
    let (status, text) = server.raw("GET", "/v1/models", None, b"");
    assert_eq!(status, 401);
    assert_eq!(error(status, &text)["code"], "invalid_api_key");
    // Still serving.
    let (status, reply) = server.post(
        "/v1/chat/completions",
        &json!({"messages": [{"role": "user", "content": "ok?"}], "max_tokens": 3}),
    );
    assert_eq!(status, 200, "{reply}");
}

#[cfg(unix)]
#[test]
fn sigterm_stops_the_server_cleanly() {
    let dir = checkpoint_dir("sigterm");
    let mut server = Server::start(&dir, &[]);
    let (status, _) = server.post("/v1/completions", &json!({"prompt": "a", "max_tokens": 2}));
    assert_eq!(status, 200);
    let pid = server.child.id() as libc::pid_t;
    // SAFETY: kill(2) on our own child's pid.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    let status = server.child.wait().unwrap();
    assert!(status.success(), "{status}");
}

/// The rows of an eval's results.jsonl, in suite order.
fn results(dir: &Path) -> Vec<Value> {
    std::fs::read_to_string(dir.join("results.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// `verigym eval` of a checkpoint on disk and of `verigym serve` serving it: the same
/// completions and verdicts, item by item, in chat and completion mode, greedy and seeded.
#[test]
fn eval_through_the_server_equals_eval_of_the_checkpoint() {
    let dir = checkpoint_dir("evalequal");
    let server = Server::start(&dir, &[]);
    let work = dir.with_extension("work");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).unwrap();
    let name = dir.file_name().unwrap().to_str().unwrap();
    for (mode, samples, temperature) in [("chat", 1, 0.0), ("completion", 2, 0.8)] {
        let suite = work.join(format!("{mode}.toml"));
        std::fs::write(
            &suite,
            format!(
                "name = \"served\"\nmode = \"{mode}\"\nsamples = {samples}\n\
                 temperature = {temperature}\nmax_tokens = 16\n\
                 [[envs]]\nname = \"arithmetic\"\ndifficulties = [1, 3]\nn = 3\nseed = 5\n\
                 [[envs]]\nname = \"letter_counting\"\ndifficulties = [2]\nn = 2\nseed = 1\n"
            ),
        )
        .unwrap();
        let endpoint = format!("openai:http://{}/v1#{name}", server.addr);
        let mut outs = Vec::new();
        for (label, model) in [("local", dir.to_str().unwrap()), ("served", &endpoint)] {
            let out = work.join(format!("{mode}-{label}"));
            let o = Command::new(EXE)
                .args(["eval", "--suite", suite.to_str().unwrap(), "--model", model])
                .args([
                    "--out",
                    out.to_str().unwrap(),
                    "--api-key-env",
                    "VERIGYM_TEST_KEY",
                ])
                .env("VERIGYM_TEST_KEY", KEY)
                .output()
                .unwrap();
            assert!(
                o.status.success(),
                "{mode} {label}: {}",
                String::from_utf8_lossy(&o.stderr)
            );
            outs.push(results(&out));
        }
        let (local, served) = (&outs[0], &outs[1]);
        assert_eq!(local.len(), 8, "{mode}: every task");
        assert_eq!(local.len(), served.len());
        for (a, b) in local.iter().zip(served) {
            assert!(a["error"].is_null() && b["error"].is_null(), "{a}\n{b}");
            for field in ["env", "seed", "index", "difficulty", "prompt"] {
                assert_eq!(a[field], b[field], "{mode}: {field}");
            }
            for field in ["completions", "rewards", "correct"] {
                assert_eq!(
                    a[field], b[field],
                    "{mode} {}#{}: {field}",
                    a["env"], a["index"]
                );
            }
            assert_eq!(a["completions"].as_array().unwrap().len(), samples);
        }
    }
}
