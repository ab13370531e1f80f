//! examples/custom_cli.rs, a binary of its own built on `verigym::cli::run` with a family
//! (`max_of_two`) added: its commands see the family, and the processes it hands work to
//! (`verigym-train`, eval's suites) reach it through `env-process` and `$VERIGYM_ENVS_FILE`,
//! where it passes the conformance checks read back through the process protocol.

mod common;

use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use verigym_envs::external::envs_file::{self, ENVS_FILE_VAR};
use verigym_envs::{conformance, EnvOptions, Registry};

/// The example's binary, built by cargo in this test's profile (a test target alone does
/// not build examples).
fn example() -> &'static Path {
    static EXE: OnceLock<PathBuf> = OnceLock::new();
    EXE.get_or_init(|| {
        // target/<profile>/deps/this-test: the profile folder names the profile.
        let test_exe = std::env::current_exe().unwrap();
        let profile_dir = test_exe.parent().and_then(Path::parent).unwrap();
        let profile = profile_dir.file_name().unwrap().to_str().unwrap();
        let profile = if profile == "debug" { "dev" } else { profile };
        let out = common::cargo()
            .args(["build", "-p", "verigym", "--example", "custom_cli"])
            .args(["--profile", profile, "--message-format", "json"])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .stderr(Stdio::inherit())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "cargo build --example custom_cli failed"
        );
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|m| m["target"]["name"] == "custom_cli")
            .find_map(|m| m["executable"].as_str().map(PathBuf::from))
            .expect("cargo named no executable for custom_cli")
    })
}

fn run(exe: &Path, args: &[&str], stdin: &str, env: &[(&str, &str)]) -> Output {
    let mut child = Command::new(exe)
        .args(args)
        .envs(env.iter().copied())
        .env_remove(ENVS_FILE_VAR)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn lines(out: &Output) -> Vec<Value> {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn temp_dir(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("verigym-custom-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn the_example_lists_samples_and_scores_its_family() {
    let exe = example();
    let listed = lines(&run(exe, &["list", "--json"], "", &[]));
    let names: Vec<&str> = listed.iter().filter_map(|e| e["name"].as_str()).collect();
    assert!(names.contains(&"max_of_two"), "{names:?}");
    assert!(
        names.contains(&"arithmetic"),
        "the builtins stay: {names:?}"
    );
    assert_eq!(listed.len(), Registry::builtin().entries().len() + 1);

    let tasks = lines(&run(
        exe,
        &["sample", "--env", "max_of_two", "--n", "3"],
        "",
        &[],
    ));
    assert_eq!(tasks.len(), 3);
    let mut input = String::new();
    for mut t in tasks.clone() {
        assert_eq!(t["env"], "max_of_two");
        t["completion"] = t["solution"].clone();
        input.push_str(&format!("{t}\n"));
    }
    // One wrong answer too: the verifier runs, it does not just echo the solution.
    let mut wrong = tasks[0].clone();
    wrong["completion"] = "<think>guess</think><answer>-1</answer>".into();
    input.push_str(&format!("{wrong}\n"));
    let scored = lines(&run(exe, &["score", "--env", "max_of_two"], &input, &[]));
    let rewards: Vec<f64> = scored
        .iter()
        .map(|v| v["reward"].as_f64().unwrap())
        .collect();
    assert_eq!(rewards, [1.0, 1.0, 1.0, 0.0]);

    // The plain verigym does not know it.
    let out = run(
        Path::new(env!("CARGO_BIN_EXE_verigym")),
        &["sample", "--env", "max_of_two"],
        "",
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
}

/// A stand-in for verigym-train that prints `$VERIGYM_ENVS_FILE` and its arguments.
#[cfg(unix)]
fn fake_trainer(dir: &Path) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join("fake-verigym-train");
    std::fs::write(
        &path,
        "#!/bin/sh\nprintf '%s\\n' \"$VERIGYM_ENVS_FILE\" \"$@\"\n",
    )
    .unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

#[cfg(unix)]
#[test]
fn trainer_commands_get_the_family_through_env_process() {
    let exe = example();
    let dir = temp_dir("trainer");
    let trainer = fake_trainer(&dir);
    // An envs file the user named already: kept, before the example's own.
    std::fs::write(
        dir.join("qa.jsonl"),
        "{\"question\": \"1+1?\", \"answer\": \"2\"}\n",
    )
    .unwrap();
    let theirs = dir.join("envs.toml");
    std::fs::write(
        &theirs,
        "[[env]]\nname = \"their_qa\"\ndata = \"qa.jsonl\"\nverifier = \"exact\"\n",
    )
    .unwrap();
    let mut cmd = Command::new(exe);
    cmd.args(["train", "grpo", "--config", "run.toml"])
        .env("VERIGYM_TRAIN", &trainer)
        .env(ENVS_FILE_VAR, &theirs);
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let printed: Vec<&str> = stdout.lines().collect();
    assert_eq!(&printed[1..], ["train", "grpo", "--config", "run.toml"]);
    let files: Vec<PathBuf> = std::env::split_paths(printed[0]).collect();
    assert_eq!(files.len(), 2, "{}", printed[0]);
    assert_eq!(files[0], theirs);
    let text = std::fs::read_to_string(&files[1]).unwrap();
    assert!(text.contains("\"env-process\", \"max_of_two\""), "{text}");

    // What verigym-train would build: the builtins, then each file in turn.
    let mut registry = Registry::builtin();
    for f in &files {
        envs_file::load(f, &mut registry).unwrap();
    }
    assert!(registry.get("their_qa").is_ok());
    let entry = registry.get("max_of_two").unwrap();
    assert_eq!(entry.domain.as_str(), "math");
    if let Err(e) = conformance::check_entry(entry) {
        panic!("{e}");
    }
    // The tasks served are those the example samples itself, byte for byte.
    let sampled = lines(&run(
        exe,
        &[
            "sample",
            "--env",
            "max_of_two",
            "--n",
            "4",
            "--seed",
            "9",
            "--difficulty",
            "6",
        ],
        "",
        &[],
    ));
    let env = registry
        .build(
            "max_of_two",
            &EnvOptions {
                difficulty: Some(6),
                config: None,
            },
        )
        .unwrap();
    for (i, line) in sampled.iter().enumerate() {
        let task = env.generate(9, i as u64).unwrap();
        assert_eq!(&serde_json::to_value(&task).unwrap(), line);
    }
}

#[test]
fn eval_suites_see_the_family_and_env_process_refuses_unknown_names() {
    let exe = example();
    let dir = temp_dir("eval");
    let suite = dir.join("mine.toml");
    std::fs::write(
        &suite,
        "name = \"mine\"\nsamples = 1\ntemperature = 0.0\nmax_tokens = 64\n\n\
         [[envs]]\nname = \"max_of_two\"\ndifficulties = [2]\nn = 3\nseed = 0\n",
    )
    .unwrap();
    let suite = suite.to_str().unwrap();
    let out = run(exe, &["eval", "--suite", suite, "--dry-run"], "", &[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("max_of_two"), "{stdout}");
    let plain = run(
        Path::new(env!("CARGO_BIN_EXE_verigym")),
        &["eval", "--suite", suite, "--dry-run"],
        "",
        &[],
    );
    assert_eq!(
        plain.status.code(),
        Some(2),
        "the builtins have no max_of_two"
    );

    let out = run(exe, &["env-process", "no_such_env"], "", &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown environment"));
    // Served directly: one reply line per request line.
    let out = run(
        exe,
        &["env-process", "max_of_two"],
        "{\"op\": \"describe\"}\n{\"op\": \"fly\"}\n",
        &[],
    );
    let replies = lines(&out);
    assert_eq!(replies[0]["name"], "max_of_two");
    assert!(replies[1]["error"].as_str().unwrap().contains("unknown op"));
}
