//! Integration tests of the `verigym` binary: list, sample, score and their bad-input paths.

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn verigym(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_verigym"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn verigym");
    let mut pipe = child.stdin.take().expect("stdin");
    let input = stdin.to_string();
    let writer = std::thread::spawn(move || pipe.write_all(input.as_bytes()));
    let out = child.wait_with_output().expect("wait");
    writer.join().expect("writer thread").expect("write stdin");
    out
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).expect("utf-8 stdout")
}

fn lines(o: &Output) -> Vec<serde_json::Value> {
    stdout(o)
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect()
}

/// Turns sampled tasks into score input with `completion` set by `f`.
fn with_completions(tasks: &str, f: impl Fn(&serde_json::Value) -> String) -> String {
    tasks
        .lines()
        .map(|l| {
            let mut t: serde_json::Value = serde_json::from_str(l).unwrap();
            t["completion"] = f(&t).into();
            format!("{t}\n")
        })
        .collect()
}

#[test]
fn list_json_has_every_builtin_env() {
    let out = verigym(&["list", "--json"], "");
    assert!(out.status.success());
    let listed = lines(&out);
    let names: Vec<&str> = listed.iter().map(|e| e["name"].as_str().unwrap()).collect();
    assert!(
        names.contains(&"arithmetic") && names.contains(&"countdown"),
        "{names:?}"
    );
    for e in &listed {
        assert!(e["domain"].is_string() && e["description"].is_string());
        assert_eq!(e["difficulty"], serde_json::json!([1, 10]));
    }
}

#[test]
fn issue_2_countdown_sample_is_stable_and_reference_solutions_score_one() {
    let a = verigym(
        &["sample", "--env", "countdown", "--n", "100", "--seed", "7"],
        "",
    );
    let b = verigym(
        &["sample", "--env", "countdown", "--n", "100", "--seed", "7"],
        "",
    );
    assert!(a.status.success());
    assert_eq!(a.stdout, b.stdout, "same seed must print the same bytes");
    let tasks = stdout(&a);
    assert_eq!(tasks.lines().count(), 100);
    for t in lines(&a) {
        for key in [
            "env",
            "seed",
            "index",
            "difficulty",
            "prompt",
            "answer",
            "solution",
        ] {
            assert!(t.get(key).is_some(), "missing {key}");
        }
    }
    let input = with_completions(&tasks, |t| t["solution"].as_str().unwrap().to_string());
    let scored = verigym(&["score", "--env", "countdown"], &input);
    assert!(
        scored.status.success(),
        "{}",
        String::from_utf8_lossy(&scored.stderr)
    );
    let results = lines(&scored);
    assert_eq!(results.len(), 100);
    for (i, r) in results.iter().enumerate() {
        assert_eq!(r["reward"], 1.0, "line {i}: {r}");
        assert_eq!(r["correct"], true);
        assert_eq!(r["index"], i as u64, "results stay in input order");
    }
}

#[test]
fn countdown_hacks_score_zero_with_a_reason() {
    let task = r#"{"env":"countdown","seed":0,"index":0,"difficulty":3,"prompt":"p","answer":{"numbers":[5,3,2,2],"target":25}"#;
    let cases = [
        ("5 * 5", "used more times"),
        ("(5 + 3) / (2 - 2)", "division by zero"),
        (
            "__import__('os').system('echo hacked')",
            "not an arithmetic expression",
        ),
        ("eval('5*5')", "not an arithmetic expression"),
    ];
    let input: String = cases
        .iter()
        .map(|(c, _)| {
            format!(
                "{task},\"completion\":\"<think>t</think><answer>{}</answer>\"}}\n",
                c.replace('\'', "\\u0027")
            )
        })
        .collect();
    let out = verigym(&["score", "--env", "countdown"], &input);
    assert!(out.status.success());
    for (r, (c, reason)) in lines(&out).iter().zip(cases) {
        assert_eq!(r["reward"], 0.0, "{c}");
        assert!(r["reason"].as_str().unwrap().contains(reason), "{c}: {r}");
    }
}

#[test]
fn unknown_env_lists_known_names_and_exits_2() {
    for args in [
        vec!["sample", "--env", "nope"],
        vec!["score", "--env", "nope"],
    ] {
        let out = verigym(&args, "");
        assert_eq!(out.status.code(), Some(2));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("nope") && err.contains("countdown") && err.contains("arithmetic"),
            "{err}"
        );
    }
}

#[test]
fn invalid_lines_become_error_records_and_the_rest_is_scored() {
    let good = verigym(&["sample", "--env", "arithmetic", "--n", "2"], "");
    let good = with_completions(&stdout(&good), |t| {
        t["solution"].as_str().unwrap().to_string()
    });
    let mut g = good.lines();
    let input = format!(
        "{}\nnot json\n\n{}\n{{\"env\":\"arithmetic\"}}\n",
        g.next().unwrap(),
        g.next().unwrap()
    );
    let out = verigym(&["score", "--env", "arithmetic"], &input);
    assert_eq!(
        out.status.code(),
        Some(1),
        "invalid lines make the exit non-zero"
    );
    let r = lines(&out);
    assert_eq!(
        r.len(),
        4,
        "one output per non-empty input line, none dropped"
    );
    assert_eq!(r[0]["reward"], 1.0);
    assert_eq!(r[1]["line"], 2);
    assert!(r[1]["error"].is_string());
    assert_eq!(r[2]["reward"], 1.0);
    assert_eq!(r[2]["line"], 4);
    assert_eq!(r[3]["line"], 5);
    assert!(r[3]["error"].is_string());
    assert!(String::from_utf8_lossy(&out.stderr).contains("line 2"));
}

#[test]
fn a_line_that_is_not_utf8_is_an_error_record_not_the_end_of_the_run() {
    let good = verigym(&["sample", "--env", "arithmetic", "--n", "1"], "");
    let good = with_completions(&stdout(&good), |t| {
        t["solution"].as_str().unwrap().to_string()
    });
    let mut input = b"\xff\xfe not utf-8\n".to_vec();
    input.extend_from_slice(good.as_bytes());
    let mut child = Command::new(env!("CARGO_BIN_EXE_verigym"))
        .args(["score", "--env", "arithmetic"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&input).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let r = lines(&out);
    assert_eq!(r.len(), 2);
    assert!(r[0]["error"].as_str().unwrap().contains("UTF-8"));
    assert_eq!(r[1]["reward"], 1.0);
}

#[test]
fn a_task_for_another_env_is_an_error_record() {
    let tasks = verigym(&["sample", "--env", "arithmetic", "--n", "1"], "");
    let input = with_completions(&stdout(&tasks), |_| "1".into());
    let out = verigym(&["score", "--env", "countdown"], &input);
    assert_eq!(out.status.code(), Some(1));
    assert!(lines(&out)[0]["error"]
        .as_str()
        .unwrap()
        .contains("arithmetic"));
}

#[test]
fn bad_config_and_difficulty_are_clear_errors() {
    let out = verigym(
        &[
            "sample",
            "--env",
            "arithmetic",
            "--config",
            "{\"digits\": 3}",
        ],
        "",
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown field 'digits'"));
    let out = verigym(&["sample", "--env", "arithmetic", "--difficulty", "11"], "");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("difficulty 11"));
    let out = verigym(
        &["sample", "--env", "arithmetic", "--config", "{not json"],
        "",
    );
    assert!(!out.status.success());
}

#[test]
fn dataset_envs_sample_and_score_from_a_file() {
    let dir = std::env::temp_dir().join(format!("verigym-cli-data-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("gsm8k.jsonl");
    std::fs::write(
        &path,
        "{\"question\": \"Tom has 3 apples and buys 4 more. How many?\", \"answer\": \"3 + 4 = 7\\n#### 7\"}\n",
    )
    .unwrap();
    let p = path.to_str().unwrap();
    let out = verigym(
        &["sample", "--env", "gsm8k_jsonl", "--data", p, "--n", "1"],
        "",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let input = with_completions(&stdout(&out), |t| {
        t["solution"].as_str().unwrap().to_string()
    });
    let scored = verigym(&["score", "--env", "gsm8k_jsonl", "--data", p], &input);
    assert!(
        scored.status.success(),
        "{}",
        String::from_utf8_lossy(&scored.stderr)
    );
    assert_eq!(lines(&scored)[0]["reward"], 1.0);
    // A malformed row names the file and line.
    std::fs::write(&path, "{\"question\": \"q\", \"answer\": \"no marker\"}\n").unwrap();
    let bad = verigym(
        &["sample", "--env", "gsm8k_jsonl", "--data", p, "--n", "1"],
        "",
    );
    assert!(!bad.status.success());
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(err.contains("gsm8k.jsonl:1"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_hostile_code_answer_leaves_later_honest_answers_scoring_one() {
    // The first answer forges result lines, breaks its work folder, leaves a 3,000-deep
    // directory chain and a note in /tmp, and returns a value no test expects; every
    // reference solution after it must still score 1.0 (not "verifier unavailable").
    let tasks = verigym(
        &[
            "sample",
            "--env",
            "code_function",
            "--n",
            "12",
            "--seed",
            "11",
        ],
        "",
    );
    assert!(tasks.status.success());
    let hostile = |t: &serde_json::Value| {
        let name = t["answer"]["function"].as_str().unwrap().to_string();
        format!(
            "<answer>```python\nimport os, json\nfor fd in range(3, 12):\n    try:\n        os.write(fd, b'{{\"ok\": \"passed\"}}\\n' + json.dumps(['ok', None]).encode())\n    except OSError:\n        pass\nhere = os.getcwd()\nopen('/tmp/note', 'w').write('x')\nfor i in range(3000):\n    os.mkdir('d')\n    os.chdir('d')\ntry:\n    os.symlink('/', here + '/link')\nexcept OSError:\n    pass\ndef {name}(*args):\n    return object()\n```</answer>"
        )
    };
    let input = with_completions(&stdout(&tasks), |t| {
        if t["index"] == 0 {
            hostile(t)
        } else {
            t["solution"].as_str().unwrap().to_string()
        }
    });
    let scored = verigym(&["score", "--env", "code_function"], &input);
    assert!(
        scored.status.success(),
        "{}",
        String::from_utf8_lossy(&scored.stderr)
    );
    let results = lines(&scored);
    assert_eq!(results.len(), 12);
    assert_eq!(results[0]["reward"], 0.0, "{}", results[0]);
    assert!(results[0].get("error").is_none(), "{}", results[0]);
    for (i, r) in results.iter().enumerate().skip(1) {
        assert_eq!(r["reward"], 1.0, "line {i}: {r}");
    }
}
