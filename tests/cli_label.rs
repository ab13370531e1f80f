//! `verigym label`: scripted keys in, feedback out; quitting and starting again
//! resumes where the person stopped without losing or repeating a record; undo and skip;
//! bad keys and bad input named.

use serde_json::{json, Value};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use verigym_envs::feedback;

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("verigym-label-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Runs `verigym label` with `keys` on stdin (one per line); (exit ok, stdout, stderr).
fn label(dir: &Path, mode: &str, keys: &[&str]) -> (bool, Value, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_verigym"))
        .args([
            "label", "--in", "in.jsonl", "--out", "fb.jsonl", "--mode", mode,
        ])
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    for k in keys {
        writeln!(stdin, "{k}").unwrap();
    }
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    let summary = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (
        out.status.success(),
        summary,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn rows(dir: &Path) -> Vec<Value> {
    std::fs::read_to_string(dir.join("fb.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn write_input(dir: &Path) {
    let lines = [
        json!({"prompt": "P1", "completions": ["a", "b", "c"]}),
        json!({"prompt": "P2", "completions": ["x", "y"]}),
    ];
    let text: Vec<String> = lines.iter().map(Value::to_string).collect();
    std::fs::write(dir.join("in.jsonl"), text.join("\n") + "\n").unwrap();
}

#[test]
fn compare_session_interrupted_and_resumed_loses_and_repeats_nothing() {
    let dir = tmp("compare");
    write_input(&dir);
    // Items: P1 (a,b) (a,c) (b,c), P2 (x,y). First session: a bad key, "2" for (a,b),
    // skip (a,c), quit.
    let (ok, s, err) = label(&dir, "compare", &["7", "2", "s", "q"]);
    assert!(ok, "{err}");
    assert!(err.contains("'7' is not 1, 2, =, s, u or q"), "{err}");
    assert_eq!(s["answered"], 1);
    assert_eq!(s["skipped"], 1);
    assert_eq!(s["remaining"], 2);
    // Second session resumes at (b,c): "=" (a tie), then "1" for (x,y), then undo that and
    // answer "2" instead; input ends.
    let (ok, s, _) = label(&dir, "compare", &["=", "1", "u", "2"]);
    assert!(ok);
    assert_eq!(s["remaining"], 0);
    let got = rows(&dir);
    let want = [
        json!({"prompt": "P1", "chosen": "b", "rejected": "a", "item": 0}),
        json!({"prompt": "P1", "chosen": "b", "rejected": "c", "tie": true, "item": 2}),
        json!({"prompt": "P2", "chosen": "y", "rejected": "x", "item": 3}),
    ];
    assert_eq!(got, want);
    // A third session has nothing left and quits.
    let (_, s, _) = label(&dir, "compare", &["q"]);
    assert_eq!(s["remaining"], 0);
    assert_eq!(rows(&dir).len(), 3);
    // The file reads as feedback: two pairs and a tie.
    let (pairs, st) = feedback::to_pairs(&feedback::read_file(&dir.join("fb.jsonl")).unwrap());
    assert_eq!((pairs.len(), st.ties), (2, 1));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn undo_reaches_into_an_earlier_session_and_skips_can_be_undone() {
    let dir = tmp("undo");
    write_input(&dir);
    let (ok, _, _) = label(&dir, "compare", &["1", "1", "s", "1"]);
    assert!(ok);
    assert_eq!(rows(&dir).len(), 3);
    // Undo the last answer (item 3), then the skip (item 2): both come back, in that order.
    let (_, s, err) = label(&dir, "compare", &["u", "u", "2", "2"]);
    assert!(
        err.contains("took back item 4") && err.contains("took back item 3"),
        "{err}"
    );
    assert_eq!(s["remaining"], 0);
    let items: Vec<u64> = rows(&dir)
        .iter()
        .map(|r| r["item"].as_u64().unwrap())
        .collect();
    assert_eq!(items, vec![0, 1, 2, 3]);
    assert_eq!(rows(&dir)[3]["chosen"], "y");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn rate_and_rank_write_their_shapes() {
    let dir = tmp("rate");
    write_input(&dir);
    let (ok, s, err) = label(&dir, "rate", &["6", "5", "3", "3", "1", "4"]);
    assert!(ok && err.contains("not a rating 1..5"), "{err}");
    assert_eq!(s["answered"], 5);
    let ratings: Vec<f64> = rows(&dir)
        .iter()
        .map(|r| r["rating"].as_f64().unwrap())
        .collect();
    assert_eq!(ratings, vec![5.0, 3.0, 3.0, 1.0, 4.0]);
    let (pairs, st) = feedback::to_pairs(&feedback::read_file(&dir.join("fb.jsonl")).unwrap());
    assert_eq!((pairs.len(), st.ties), (3, 1));

    let dir2 = tmp("rank");
    write_input(&dir2);
    let (ok, _, err) = label(&dir2, "rank", &["3 3 1", "312", "2 1"]);
    assert!(ok && err.contains("not an order of 1..3"), "{err}");
    let got = rows(&dir2);
    assert_eq!(got[0]["ranking"], json!(["c", "a", "b"]));
    assert_eq!(got[1]["ranking"], json!(["y", "x"]));
    for d in [dir, dir2] {
        let _ = std::fs::remove_dir_all(d);
    }
}

#[test]
fn a_bad_input_line_is_named() {
    let dir = tmp("bad");
    std::fs::write(
        dir.join("in.jsonl"),
        "{\"prompt\": \"p\", \"completions\": [\"a\", \"b\"]}\n{\"prompt\": \"q\", \"completions\": [1]}\n",
    )
    .unwrap();
    let (ok, _, err) = label(&dir, "compare", &[]);
    assert!(!ok);
    assert!(
        err.contains("in.jsonl:2") && err.contains("'completions' item 0"),
        "{err}"
    );
    assert!(!dir.join("fb.jsonl").exists());
    let _ = std::fs::remove_dir_all(dir);
}
