//! Environments from an envs file: a Python process through the JSON-lines protocol passes
//! the checks the builtins get (determinism, reference solutions score 1, garbage and wrong
//! answers 0), and one that crashes, hangs or replies garbage gives errors that name the env
//! and the request — never a hang — and stops after five failures in a row.

use std::path::{Path, PathBuf};
use verigym_envs::{EnvError, EnvOptions, Environment, Registry};

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/python_env.py")
}

fn envs_file(name: &str, body: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("verigym-external-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("envs.toml");
    std::fs::write(&path, body).unwrap();
    path
}

fn python_env(name: &str, fault: Option<&str>, workers: usize, timeout_s: f64) -> PathBuf {
    let fault = fault
        .map(|f| format!(", \"--fault\", \"{f}\""))
        .unwrap_or_default();
    envs_file(
        name,
        &format!(
            "[[env]]\nname = \"reverse_word\"\ncommand = [\"python3\", \"{}\"{fault}]\n\
             workers = {workers}\ntimeout_s = {timeout_s}\n",
            script().display()
        ),
    )
}

fn build(registry: &Registry, difficulty: u8) -> Box<dyn Environment> {
    registry
        .build(
            "reverse_word",
            &EnvOptions {
                difficulty: Some(difficulty),
                config: None,
            },
        )
        .unwrap()
}

#[test]
fn a_python_env_passes_the_conformance_checks() {
    let path = python_env("ok", None, 2, 10.0);
    let registry = Registry::with_envs_file(Some(&path)).unwrap();
    // Listed beside the builtins, with the domain and description it described.
    let entry = registry.get("reverse_word").unwrap();
    assert_eq!(entry.domain.as_str(), "text");
    assert!(registry.get("arithmetic").is_ok());
    for d in [1, 3, 5] {
        let (a, b) = (build(&registry, d), build(&registry, d));
        // Parallel callers share the two processes.
        let tasks: Vec<_> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..4)
                .map(|t| {
                    let a = &a;
                    s.spawn(move || {
                        (0..5)
                            .map(|i| a.generate(7, t * 5 + i).unwrap())
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().unwrap())
                .collect()
        });
        assert_eq!(tasks.len(), 20);
        for t in &tasks {
            assert_eq!(t, &b.generate(t.seed, t.index).unwrap(), "deterministic");
            assert_eq!(t.difficulty, d);
            assert!(
                t.prompt.to_text().contains("<answer>"),
                "format instructions added"
            );
            let v = a.verify(t, t.solution.as_deref().unwrap()).unwrap();
            assert!(v.correct && v.reward == 1.0, "{t:?}: {v:?}");
            let wrong = a
                .verify(t, "<think>guess</think>\n<answer>olleh</answer>")
                .unwrap();
            assert!(!wrong.correct && wrong.reward == 0.0);
            let garbage = a.verify(t, "no tags at all").unwrap();
            assert!(!garbage.correct && garbage.reward == 0.0);
        }
        // Different indices give different tasks.
        assert_ne!(tasks[0].question, tasks[1].question);
    }
    // Config overrides reach the process.
    let env = registry
        .build(
            "reverse_word",
            &EnvOptions {
                difficulty: Some(1),
                config: Some(serde_json::json!({"words": 4})),
            },
        )
        .unwrap();
    let t = env.generate(0, 0).unwrap();
    // "Reverse the string '<4 words>' character by character.": 6 spaces around the words.
    assert_eq!(t.question.matches(' ').count(), 6 + 3, "{}", t.question);
}

#[test]
fn crashes_hangs_and_garbage_are_errors_naming_the_env_and_the_request() {
    for (fault, expect) in [
        ("crash", "exited"),
        ("garbage", "not JSON"),
        ("hang", "no reply within 1 s"),
    ] {
        let path = python_env(fault, Some(fault), 1, 1.0);
        let registry = Registry::with_envs_file(Some(&path)).unwrap();
        let env = build(&registry, 3);
        // Index 0 is served; index 1 triggers the fault.
        let err = env.generate(0, 1).unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, EnvError::External { .. }), "{fault}: {text}");
        assert!(
            text.contains("reverse_word") && text.contains("\"index\":1"),
            "{text}"
        );
        assert!(text.contains(expect), "{fault}: {text}");
        // The process was replaced: the next request is served.
        assert!(env.generate(0, 0).is_ok(), "{fault}: restarted");
        // Five failures in a row stop the env; later requests fail at once.
        for _ in 0..5 {
            assert!(env.generate(0, 2).is_err());
        }
        let err = env.generate(0, 0).unwrap_err();
        assert!(matches!(err, EnvError::Stopped { .. }), "{fault}: {err}");
        assert!(err.to_string().contains("5 times in a row"), "{err}");
    }
}

#[test]
fn a_non_deterministic_env_is_refused_at_start() {
    let path = python_env("random", Some("random"), 2, 10.0);
    let err = Registry::with_envs_file(Some(&path))
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("not deterministic"), "{err}");
    assert!(err.contains("envs.toml"), "{err}");
}

#[test]
fn envs_file_mistakes_are_errors_that_name_them() {
    let cases = [
        (
            "[[env]]\nname = \"arithmetic\"\ncommand = [\"python3\", \"x.py\"]\n",
            "'arithmetic' is already an environment",
        ),
        (
            "[[env]]\nname = \"x\"\ncommand = [\"a\"]\ndata = \"b.jsonl\"\nverifier = \"math\"\n",
            "either command or data",
        ),
        (
            "[[env]]\nname = \"x\"\ndata = \"b.jsonl\"\n",
            "needs a verifier",
        ),
        ("[[env]]\nname = \"x\"\n", "give command or data"),
        ("[[env]]\nname = \"x\"\ncomand = [\"a\"]\n", "comand"),
        ("", "no [[env]] entries"),
        (
            "[[env]]\nname = \"x\"\ncommand = [\"/no/such/program\"]\n",
            "could not start",
        ),
        (
            "[[env]]\nname = \"x\"\ncommand = [\"python3\", \"-c\", \"pass\"]\nworkers = 0\n",
            "workers",
        ),
    ];
    for (i, (body, expect)) in cases.iter().enumerate() {
        let path = envs_file(&format!("bad{i}"), body);
        let err = Registry::with_envs_file(Some(&path))
            .err()
            .unwrap_or_else(|| panic!("accepted: {body}"))
            .to_string();
        assert!(err.contains("envs.toml"), "{err}");
        assert!(err.contains(expect), "{body:?}: {err}");
    }
    let missing = Registry::with_envs_file(Some(Path::new("/no/such/envs.toml")));
    assert!(missing
        .err()
        .unwrap()
        .to_string()
        .contains("/no/such/envs.toml"));
}

/// With domain and description declared in the file, nothing starts until the env is built:
/// loading the file (as `list` does) runs no process, the first build starts the pool once,
/// and a command that cannot start fails the build with the reason, not the load.
#[test]
fn declared_envs_start_on_first_use() {
    let path = envs_file(
        "lazy",
        &format!(
            "[[env]]\nname = \"reverse_word\"\n\
             command = [\"sh\", \"-c\", \"echo started >> starts.txt; exec python3 {}\"]\n\
             workers = 2\ndomain = \"logic\"\ndescription = \"Reversal, declared\"\n\n\
             [[env]]\nname = \"missing\"\ncommand = [\"/no/such/program\"]\n\
             domain = \"text\"\ndescription = \"Never starts\"\n",
            script().display()
        ),
    );
    let starts = path.with_file_name("starts.txt");
    let registry = Registry::with_envs_file(Some(&path)).unwrap();
    let entry = registry.get("reverse_word").unwrap();
    assert_eq!(
        (entry.domain.as_str(), entry.description.as_str()),
        ("logic", "Reversal, declared")
    );
    assert!(!starts.exists(), "loading the file started a process");

    let (a, b) = (build(&registry, 2), build(&registry, 2));
    assert_eq!(a.domain().as_str(), "logic");
    let task = a.generate(3, 1).unwrap();
    assert_eq!(
        serde_json::to_string(&task).unwrap(),
        serde_json::to_string(&b.generate(3, 1).unwrap()).unwrap()
    );
    let solution = task.solution.clone().unwrap();
    assert!(b.verify(&task, &solution).unwrap().correct);
    let started = std::fs::read_to_string(&starts).unwrap();
    assert_eq!(
        started.lines().count(),
        2,
        "one pool of two workers: {started}"
    );

    let opts = EnvOptions {
        difficulty: None,
        config: None,
    };
    let err = registry.build("missing", &opts).err().unwrap().to_string();
    assert!(
        err.contains("missing") && err.contains("/no/such/program"),
        "{err}"
    );
    let again = registry.build("missing", &opts).err().unwrap().to_string();
    assert_eq!(err, again);

    let half = envs_file(
        "half",
        "[[env]]\nname = \"x\"\ncommand = [\"true\"]\ndomain = \"text\"\n",
    );
    let err = Registry::with_envs_file(Some(&half))
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("both domain and description"), "{err}");
}

/// A process that answers start-up and then stops reading its stdin (a large request fills
/// the pipe) or writes an endless line: each request fails within the timeout, no hang and
/// no unbounded buffer.
#[test]
fn a_process_that_stops_reading_or_floods_fails_the_request() {
    let script = |after: &str| {
        format!(
            "import json, sys, time\n\
             for i, line in enumerate(sys.stdin):\n\
             \x20   req = json.loads(line)\n\
             \x20   if req['op'] == 'describe':\n\
             \x20       print(json.dumps({{'name': 'x', 'domain': 'text', 'description': 'd'}}), flush=True)\n\
             \x20   else:\n\
             \x20       print(json.dumps({{'question': 'q', 'answer': 'a'}}), flush=True)\n\
             \x20   if i == 2:\n\
             \x20       {after}\n"
        )
    };
    // After the start-up requests (describe, two probes) it reads nothing more.
    for (name, after, want) in [
        ("stuck", "time.sleep(3600)", "no reply within"),
        (
            "flood",
            "sys.stdout.write('x' * (65 << 20)); sys.stdout.flush(); time.sleep(3600)",
            "longer than",
        ),
    ] {
        let path = envs_file(name, "");
        let py = path.with_file_name("env.py");
        std::fs::write(&py, script(after)).unwrap();
        std::fs::write(
            &path,
            format!(
                "[[env]]\nname = \"reverse_word\"\ncommand = [\"python3\", \"{}\"]\n\
                 workers = 1\ntimeout_s = 2\n",
                py.display()
            ),
        )
        .unwrap();
        let registry = Registry::with_envs_file(Some(&path)).unwrap();
        // Far more than a pipe holds, so a blocking write would never return.
        let big = serde_json::json!({ "pad": "y".repeat(4 << 20) });
        let env = registry
            .build(
                "reverse_word",
                &EnvOptions {
                    difficulty: Some(1),
                    config: Some(big),
                },
            )
            .unwrap();
        let err = env
            .generate(0, 1)
            .expect_err("the request fails")
            .to_string();
        assert!(err.contains(want), "{name}: {err}");
    }
}
