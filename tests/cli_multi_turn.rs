//! Integration tests of the `verigym` binary's multi-turn contracts: `list --json` fields,
//! `sample` reference turns, `score` of episode turns and the `play` JSON-lines protocol.

use serde_json::{json, Value};
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

fn lines(o: &Output) -> Vec<Value> {
    String::from_utf8(o.stdout.clone())
        .expect("utf-8 stdout")
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect()
}

fn sample(env: &str, seed: &str) -> Value {
    let out = verigym(&["sample", "--env", env, "--n", "1", "--seed", seed], "");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    lines(&out).remove(0)
}

/// `{"content": turn}` lines for `play`.
fn turn_lines(turns: &[Value]) -> String {
    turns
        .iter()
        .map(|t| format!("{}\n", json!({ "content": t })))
        .collect()
}

#[test]
fn list_json_says_which_envs_are_multi_turn_and_their_tools() {
    let out = verigym(&["list", "--json"], "");
    assert!(out.status.success());
    let listed = lines(&out);
    let get = |name: &str| listed.iter().find(|e| e["name"] == name).cloned().unwrap();
    assert_eq!(get("tool_multiplication")["multi_turn"], true);
    assert_eq!(get("tool_multiplication")["tools"], json!(["calculator"]));
    assert_eq!(get("tool_letter_count")["tools"], json!(["python"]));
    assert_eq!(get("wordle")["multi_turn"], true);
    assert_eq!(get("wordle")["tools"], json!([]));
    assert_eq!(get("arithmetic")["multi_turn"], false);
    for e in &listed {
        assert!(e["multi_turn"].is_boolean() && e["tools"].is_array(), "{e}");
    }
}

#[test]
fn sample_of_a_multi_turn_env_has_reference_turns_and_a_transcript() {
    let t = sample("tool_multiplication", "4");
    let turns = t["solution_turns"].as_array().unwrap();
    assert_eq!(turns.len(), 2);
    let solution = t["solution"].as_str().unwrap();
    for turn in turns {
        assert!(solution.contains(turn.as_str().unwrap()), "{solution}");
    }
    assert_eq!(t["prompt"][0]["role"], "system");
    assert!(t["prompt"][0]["content"]
        .as_str()
        .unwrap()
        .contains("<tools>"));
}

#[test]
fn score_replays_turns_and_rejects_lines_with_both_or_neither() {
    let mut good = sample("mastermind", "2");
    good["turns"] = good["solution_turns"].clone();
    let mut wrong = good.clone();
    wrong["turns"] = json!(["<answer>oops</answer>"]);
    let mut both = good.clone();
    both["completion"] = "<answer>1</answer>".into();
    let mut neither = good.clone();
    neither.as_object_mut().unwrap().remove("turns");
    let input = format!("{good}\n{wrong}\n{both}\n{neither}\n");
    let out = verigym(&["score", "--env", "mastermind"], &input);
    assert!(!out.status.success(), "bad lines make the run fail");
    let r = lines(&out);
    assert_eq!(r.len(), 4);
    assert_eq!(
        (r[0]["reward"].as_f64(), r[0]["correct"].as_bool()),
        (Some(1.0), Some(true))
    );
    let transcript = r[0]["transcript"].as_array().unwrap();
    assert_eq!(transcript[0]["role"], "assistant");
    assert_eq!(r[0]["turns"], good["turns"].as_array().unwrap().len());
    assert_eq!(r[1]["reward"], 0.0);
    assert!(
        r[1]["reason"].as_str().unwrap().contains("not finished"),
        "{}",
        r[1]
    );
    assert!(r[2]["error"].as_str().unwrap().contains("not both"));
    assert!(r[3]["error"].as_str().unwrap().contains("neither"));
    // The same turns give the same bytes.
    let again = verigym(&["score", "--env", "mastermind"], &format!("{good}\n"));
    assert_eq!(
        again.stdout,
        verigym(&["score", "--env", "mastermind"], &format!("{good}\n")).stdout
    );
}

#[test]
fn play_runs_a_tool_episode_and_skips_bad_lines_without_using_a_turn() {
    let t = sample("tool_multiplication", "9");
    let turns = t["solution_turns"].as_array().unwrap();
    let input = format!(
        "not json\n{}\n{}",
        json!({ "text": "no content" }),
        turn_lines(turns)
    );
    let out = verigym(
        &["play", "--env", "tool_multiplication", "--seed", "9"],
        &input,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let l = lines(&out);
    assert_eq!(l[0]["type"], "start");
    assert_eq!(l[0]["messages"], t["prompt"]);
    assert_eq!(l[0]["tools"][0]["type"], "function");
    assert_eq!(l[0]["tools"][0]["function"]["name"], "calculator");
    assert_eq!(
        (l[1]["type"].as_str(), l[2]["type"].as_str()),
        (Some("error"), Some("error"))
    );
    assert_eq!(l[3]["type"], "env");
    assert_eq!(l[3]["messages"][0]["role"], "tool");
    assert_eq!(l[3]["messages"][0]["content"], t["answer"]["product"]);
    let end = &l[4];
    assert_eq!(
        (end["type"].as_str(), end["reward"].as_f64()),
        (Some("end"), Some(1.0))
    );
    assert_eq!(
        (end["correct"].as_bool(), end["turns"].as_u64()),
        (Some(true), Some(2))
    );
    assert_eq!(end["components"]["tool_use"], 1.0);
    assert!(end["reason"].is_null());
    assert_eq!(l.len(), 5);
}

#[test]
fn play_of_a_game_ends_on_the_win_and_input_that_stops_early_is_cut_off() {
    let t = sample("guess_number", "5");
    let turns = t["solution_turns"].as_array().unwrap();
    let out = verigym(
        &["play", "--env", "guess_number", "--seed", "5"],
        &turn_lines(turns),
    );
    assert!(out.status.success());
    let l = lines(&out);
    assert!(l[1..l.len() - 1]
        .iter()
        .all(|m| m["type"] == "env" && m["messages"][0]["role"] == "user"));
    assert_eq!(l.last().unwrap()["reward"], 1.0);

    let out = verigym(
        &[
            "play",
            "--env",
            "wordle",
            "--seed",
            "5",
            "--difficulty",
            "4",
        ],
        "",
    );
    assert!(out.status.success());
    let l = lines(&out);
    assert_eq!(l.len(), 2);
    assert_eq!(
        (l[1]["type"].as_str(), l[1]["reward"].as_f64()),
        (Some("end"), Some(0.0))
    );
    assert!(l[1]["reason"].as_str().unwrap().contains("input ended"));
}

#[test]
fn play_of_a_single_turn_env_is_one_turn_and_config_limits_apply() {
    let t = sample("arithmetic", "3");
    let input = turn_lines(&[t["solution"].clone()]);
    let out = verigym(&["play", "--env", "arithmetic", "--seed", "3"], &input);
    let l = lines(&out);
    assert_eq!(l[0]["messages"][0]["role"], "user");
    assert_eq!(l[0]["tools"], json!([]));
    assert_eq!(
        (l[1]["type"].as_str(), l[1]["reward"].as_f64()),
        (Some("end"), Some(1.0))
    );

    // max_turns from --config: two tool turns use up a limit of 2.
    let call = "<tool_call>{\"name\": \"calculator\", \"arguments\": {\"expression\": \"1+1\"}}</tool_call>";
    let config = r#"{"max_turns": 2}"#;
    let out = verigym(
        &["play", "--env", "tool_multiplication", "--config", config],
        &turn_lines(&[json!(call), json!(call), json!("<answer>2</answer>")]),
    );
    let l = lines(&out);
    assert_eq!(l.len(), 3, "{l:?}");
    assert!(l[2]["reason"].as_str().unwrap().contains("max_turns"));
    let bad = verigym(
        &[
            "play",
            "--env",
            "tool_multiplication",
            "--config",
            r#"{"max_turns": 0}"#,
        ],
        "",
    );
    assert!(!bad.status.success());
    let unknown = verigym(&["play", "--env", "nope"], "");
    assert_eq!(unknown.status.code(), Some(2));
}
