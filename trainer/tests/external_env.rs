//! `train grpo` on an environment served by a Python process (examples/python_env.py
//! through an envs file): the rollouts are its tasks and its verifier's rewards.

use serde_json::Value;
use std::path::Path;
use verigym_trainer::grpo::{self, GrpoConfig, RunOptions};
use verigym_trainer::util::config::StageConfig;

#[test]
fn grpo_trains_on_a_python_env() {
    let dir = std::env::temp_dir().join(format!("verigym-external-grpo-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/python_env.py");
    let envs = dir.join("envs.toml");
    std::fs::write(
        &envs,
        format!(
            "[[env]]\nname = \"reverse_word\"\ncommand = [\"python3\", \"{}\"]\nworkers = 2\n",
            script.display()
        ),
    )
    .unwrap();
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
        "steps=2",
        "rollout.tasks_per_step=2",
        "rollout.group_size=2",
        "rollout.max_new_tokens=8",
        "envs=[{name=\"reverse_word\", difficulty=1}]",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain([format!("envs_file=\"{}\"", envs.display())])
    .collect();
    let cfg = GrpoConfig::from_toml("", &sets).unwrap();
    let out = dir.join("run");
    let run = grpo::train(
        &cfg,
        RunOptions {
            out: out.clone(),
            resume: false,
            registry: cfg.registry().unwrap(),
            device: tch::Device::Cpu,
            stop_after: None,
            quiet: true,
        },
    )
    .unwrap();
    assert_eq!(run.metrics.len(), 2);
    assert_eq!(run.metrics[0].rollouts, 4);
    assert_eq!(run.metrics[0].verifier_errors, 0);
    let samples: Vec<Value> = std::fs::read_to_string(out.join("samples.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(!samples.is_empty());
    for s in &samples {
        assert_eq!(s["env"], "reverse_word");
        assert!(
            s["prompt"].as_str().unwrap().contains("Reverse the string"),
            "{s}"
        );
    }
    // A missing envs file is refused by name.
    let bad: Vec<String> = sets
        .iter()
        .cloned()
        .chain(["envs_file=\"/no/such/envs.toml\"".to_string()])
        .collect();
    let err = GrpoConfig::from_toml("", &bad).unwrap_err().to_string();
    assert!(err.contains("envs_file"), "{err}");
    let _ = std::fs::remove_dir_all(dir);
}

/// `data sft|corpus --envs-file`: imitation data from a Python env's reference solutions.
#[test]
fn data_commands_take_an_envs_file() {
    let dir = std::env::temp_dir().join(format!("verigym-external-data-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let envs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/python_envs.toml");
    for what in ["sft", "corpus"] {
        let out = dir.join(format!("{what}.txt"));
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_verigym-train"))
            .args([
                "data",
                what,
                "--envs",
                "reverse_word,arithmetic",
                "--n",
                "3",
            ])
            .arg("--envs-file")
            .arg(&envs)
            .arg("--out")
            .arg(&out)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let text = std::fs::read_to_string(&out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 6, "{what}: 3 tasks of each env");
        assert!(lines[0].contains("Reverse the string"), "{}", lines[0]);
        if what == "sft" {
            let demo: Value = serde_json::from_str(lines[0]).unwrap();
            let completion = demo["completion"].as_str().unwrap();
            assert!(completion.contains("<answer>"), "{completion}");
        }
    }
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_verigym-train"))
        .args(["data", "sft", "--envs", "reverse_word", "--out"])
        .arg(dir.join("x.jsonl"))
        .output()
        .unwrap();
    assert!(!o.status.success(), "reverse_word needs the envs file");
    assert!(String::from_utf8_lossy(&o.stderr).contains("reverse_word"));
}
