//! `verigym eval` of local checkpoints: the command on a small random checkpoint (results,
//! resume, chat mode refused without a chat template), and the suite evals `train grpo`
//! runs every N steps.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use verigym_envs::Registry;
use verigym_trainer::grpo::{self, GrpoConfig, RunOptions};
use verigym_trainer::util::config::StageConfig;

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("verigym-evallocal-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn train_bin(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_verigym-train"))
        .args(args)
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A random Llama with the builtin tokenizer.
fn checkpoint(dir: &Path) -> PathBuf {
    let model = dir.join("model");
    let config = r#"{"vocab_size": 272, "hidden_size": 32, "intermediate_size": 64,
        "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 4,
        "max_position_embeddings": 256}"#;
    let o = train_bin(&[
        "checkpoint",
        "init",
        "--config",
        config,
        "--out",
        model.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    model
}

fn suite_file(dir: &Path, mode: &str, samples: usize) -> PathBuf {
    let path = dir.join(format!("suite-{mode}.toml"));
    std::fs::write(
        &path,
        format!(
            "name = \"local\"\nmode = \"{mode}\"\nsamples = {samples}\ntemperature = 0.8\n\
             max_tokens = 12\nprompt_template = \"{{question}}\\n\"\n\
             [[envs]]\nname = \"arithmetic\"\ndifficulties = [1, 2]\nn = 5\nseed = 3\n"
        ),
    )
    .unwrap();
    path
}

fn lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn eval_of_a_local_checkpoint_writes_every_task_and_resumes_to_the_same_results() {
    let dir = tmp("cli");
    let model = checkpoint(&dir);
    let suite = suite_file(&dir, "completion", 3);
    let out = dir.join("out");
    let args = [
        "eval",
        "--suite",
        suite.to_str().unwrap(),
        "--model",
        model.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--device",
        "cpu",
        "--batch-size",
        "4",
        "--quiet",
    ];
    let o = train_bin(&args);
    assert!(o.status.success(), "{}", text(&o));
    let first = lines(&out.join("results.jsonl"));
    assert_eq!(first.len(), 10);
    for r in &first {
        assert_eq!(r["completions"].as_array().unwrap().len(), 3, "{r}");
        assert!(r["error"].is_null());
        assert_eq!(r["prompt"].as_str().unwrap().chars().last(), Some('\n'));
        // At most 12 tokens per sample.
        assert!(r["tokens"].as_u64().unwrap() <= 36);
    }
    // Sampled with per-task seeds: a fresh folder gives the same completions.
    let again = dir.join("again");
    let mut args2 = args;
    args2[6] = again.to_str().unwrap();
    assert!(train_bin(&args2).status.success());
    let strip = |v: Vec<Value>| -> Vec<Value> {
        v.into_iter()
            .map(|mut r| {
                r.as_object_mut().unwrap().remove("latency_s");
                r
            })
            .collect()
    };
    assert_eq!(
        strip(first.clone()),
        strip(lines(&again.join("results.jsonl")))
    );
    // Rerun into the same folder: nothing left to do, nothing changed.
    let o = train_bin(&args);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(first, lines(&out.join("results.jsonl")));
    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["overall"]["tasks"], 10);
    assert!(summary["per_difficulty"]["arithmetic"]["2"]["accuracy"]["hi"].is_number());
    // The builtin tokenizer has a chat template: chat mode renders through it.
    let chat = suite_file(&dir, "chat", 1);
    let out = dir.join("chat");
    let o = train_bin(&[
        "eval",
        "--suite",
        chat.to_str().unwrap(),
        "--model",
        model.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--device",
        "cpu",
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(lines(&out.join("results.jsonl"))[0]["prompt"].is_array());
    // `verigym eval` hands a local checkpoint to verigym-train.
    let verigym = Path::new(env!("CARGO_BIN_EXE_verigym-train")).with_file_name("verigym");
    if verigym.exists() {
        let o = Command::new(&verigym)
            .args([
                "eval",
                "--suite",
                "mini",
                "--model",
                "/no/such/model",
                "--quiet",
            ])
            .output()
            .unwrap();
        assert!(!o.status.success());
        assert!(
            text(&o).contains("/no/such/model/config.json"),
            "{}",
            text(&o)
        );
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn grpo_runs_the_suite_every_n_steps_and_logs_pass_at_k() {
    let dir = tmp("grpo");
    let suite = suite_file(&dir, "completion", 2);
    let sets: Vec<String> = [
        "model.vocab_size=272",
        "model.hidden_size=32",
        "model.intermediate_size=64",
        "model.num_layers=2",
        "model.num_heads=4",
        "model.num_kv_heads=4",
        "model.max_position_embeddings=256",
        "model.device=\"cpu\"",
        "log.progress=false",
        "log.checkpoint_every=0",
        "steps=3",
        "rollout.tasks_per_step=2",
        "rollout.group_size=2",
        "rollout.max_new_tokens=12",
        "rollout.prompt_template=\"{question}\\n\"",
        "eval.every=2",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain([format!("eval.suite=\"{}\"", suite.display())])
    .collect();
    let cfg = GrpoConfig::from_toml("", &sets).unwrap();
    let out = dir.join("run");
    grpo::train(
        &cfg,
        RunOptions {
            out: out.clone(),
            resume: false,
            registry: Registry::builtin(),
            device: tch::Device::Cpu,
            stop_after: None,
            quiet: true,
        },
    )
    .unwrap();
    let metrics = lines(&out.join("metrics.jsonl"));
    assert_eq!(metrics.len(), 3);
    // After step 2 (every 2) and after the last step (3).
    assert!(metrics[0].get("eval").is_none());
    for m in &metrics[1..] {
        let e = &m["eval"];
        for key in [
            "accuracy",
            "pass@1",
            "pass@2",
            "pass@1/arithmetic",
            "pass@2/arithmetic",
        ] {
            let v = e[key].as_f64().unwrap_or(f64::NAN);
            assert!((0.0..=1.0).contains(&v), "{key}: {e}");
        }
    }
    for step in [2, 3] {
        let results = lines(&out.join(format!("eval/step-{step}/results.jsonl")));
        assert_eq!(results.len(), 10);
        // Held-out seeds: the suite's seed plus the offset.
        assert_eq!(results[0]["seed"], 1_000_003);
    }
    assert!(out.join("plots/eval_pass_at_1.png").exists());
    // A suite that does not load is refused up front, naming the knob.
    let bad: Vec<String> = sets
        .iter()
        .cloned()
        .chain(["eval.suite=\"/no/such/suite.toml\"".to_string()])
        .collect();
    let err = GrpoConfig::from_toml("", &bad).unwrap_err().to_string();
    assert!(err.contains("eval.suite"), "{err}");
    let _ = std::fs::remove_dir_all(dir);
}
