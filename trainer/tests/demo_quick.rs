//! `verigym demo --quick` end to end through the library (the CI run): SFT, eval, GRPO,
//! eval, and a complete run folder. Checks structure and sanity, not speed.

use verigym_trainer::recipes::demo::{run, DemoConfig};

#[test]
fn quick_demo_writes_a_complete_run_folder() {
    let out = std::env::temp_dir().join(format!("verigym-demo-quick-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let cfg = DemoConfig::new(true);
    let s = run(tch::Device::Cpu, &cfg, &out, false).unwrap();
    for f in [
        "summary.json",
        "report.md",
        "sft_loss.png",
        "grpo_reward.png",
        "eval_sft.json",
        "eval_grpo.json",
        "grpo_metrics.jsonl",
        "sft_train.jsonl",
        "model/config.json",
        "model/tokenizer.json",
    ] {
        assert!(out.join(f).is_file(), "missing {f}");
    }
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    for key in ["sft_accuracy", "grpo_accuracy"] {
        let v = summary[key].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&v), "{key} = {v}");
    }
    assert_eq!(summary["per_env"].as_array().unwrap().len(), cfg.envs.len());
    assert_eq!(s.per_env.len(), cfg.envs.len());
    // The SFT stage learnt something: the model writes the format on held-out tasks.
    let evals: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("eval_sft.json")).unwrap()).unwrap();
    let formatted = evals["records"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["completion"].as_str().unwrap().contains("</answer>"))
        .count();
    assert!(
        formatted > 0,
        "no held-out completion closes an <answer> block after SFT"
    );
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(report.contains("| **mean** |"));
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn quick_beyond_imitation_writes_its_summary_and_resumes_its_sft() {
    use verigym_trainer::recipes::experiments;
    let out = std::env::temp_dir().join(format!("verigym-bi-quick-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let over = serde_json::json!({"eval_tasks": 16, "rl": {"steps": 2, "progress": false}});
    let run = |over: &serde_json::Value| {
        experiments::run(
            "beyond-imitation",
            tch::Device::Cpu,
            &out,
            0..1,
            true,
            Some(over),
        )
    };
    run(&over).unwrap();
    let read = |f: &str| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(out.join(f)).unwrap()).unwrap()
    };
    let s = read("summary.json");
    for key in ["demonstrator_accuracy", "sft_accuracy", "grpo_accuracy"] {
        let v = s[key].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&v), "{key} = {v}");
    }
    assert_eq!(s["config"]["rl"]["steps"], 2, "the override was applied");
    assert_eq!(
        read("seed-0/grpo_history.json").as_array().unwrap().len(),
        2
    );
    for f in [
        "results.md",
        "beyond_imitation.png",
        "seed-0/sft.safetensors",
    ] {
        assert!(out.join(f).is_file(), "missing {f}");
    }
    // A rerun into the same folder resumes the finished seed: nothing is trained again.
    let weights = out.join("seed-0/sft.safetensors");
    let stamp = std::fs::metadata(&weights).unwrap().modified().unwrap();
    run(&over).unwrap();
    assert_eq!(
        std::fs::metadata(&weights).unwrap().modified().unwrap(),
        stamp
    );
    let again = read("summary.json");
    assert_eq!(again["sft_accuracy"], s["sft_accuracy"]);
    // An unknown key is refused before any work, naming its path.
    let bad = serde_json::json!({"rl": {"step": 2}});
    let err = run(&bad).unwrap_err().to_string();
    assert!(err.contains("'rl.step'"), "{err}");
    let _ = std::fs::remove_dir_all(&out);
}

/// tokens-not-characters runs its three arms, and the equal-examples arm trains the BPE
/// model on as many demonstrations as the character model saw, one per row.
#[test]
fn quick_tokens_not_characters_matches_demonstrations_in_its_third_arm() {
    use verigym_trainer::recipes::experiments;
    let out = std::env::temp_dir().join(format!("verigym-tnc-quick-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    experiments::run(
        "tokens-not-characters",
        tch::Device::Cpu,
        &out,
        0..1,
        true,
        None,
    )
    .unwrap();
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    let steps: Vec<u64> = (0..3).map(|i| s["steps"][i].as_u64().unwrap()).collect();
    let seen: Vec<f64> = (0..3)
        .map(|i| s["demos_seen"][i].as_f64().unwrap())
        .collect();
    assert_eq!(
        steps[0], steps[1],
        "characters and BPE share the token budget"
    );
    assert!(
        seen[1] > 2.0 * seen[0],
        "BPE rows hold more demonstrations: {seen:?}"
    );
    // A character demonstration fills a row in this config: the same steps, and exactly
    // one demonstration per row in the third arm.
    assert_eq!(steps[2], steps[0], "steps {steps:?}");
    assert!((seen[2] - seen[0]).abs() < 1e-9, "equal examples: {seen:?}");
    for key in [
        "char_accuracy",
        "bpe_accuracy",
        "bpe_equal_examples_accuracy",
    ] {
        let v = s[key].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&v), "{key} = {v}");
    }
    let md = std::fs::read_to_string(out.join("results.md")).unwrap();
    assert!(md.contains("BPE, equal examples"));
    assert!(out.join("tokens_not_characters.png").exists());
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn quick_tools_writes_its_summary_report_and_plot() {
    use verigym_trainer::recipes::experiments;
    let out = std::env::temp_dir().join(format!("verigym-tools-quick-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let over = serde_json::json!({"rl": {"progress": false}});
    experiments::run("tools", tch::Device::Cpu, &out, 0..1, true, Some(&over)).unwrap();
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    for key in [
        "no_tool_accuracy",
        "tool_sft_accuracy",
        "tool_grpo_accuracy",
    ] {
        let mean = s[key].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&mean), "{key} {mean}");
        // The mean is over the two tasks, each reported under "tasks".
        let per: Vec<f64> = ["tool_multiplication", "tool_letter_count"]
            .iter()
            .map(|t| s["tasks"][t][key].as_f64().unwrap())
            .collect();
        assert!((mean - (per[0] + per[1]) / 2.0).abs() < 1e-9, "{key}");
    }
    for f in [
        "report.md",
        "tools.png",
        "tool-sft-eval.jsonl",
        "no-tool-eval.jsonl",
    ] {
        assert!(out.join(f).exists(), "{f}");
    }
    // Every held-out task was played and recorded, none dropped.
    let lines = std::fs::read_to_string(out.join("tool-grpo-eval.jsonl")).unwrap();
    assert_eq!(lines.lines().count(), 16);
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn quick_reward_hacking_writes_every_summary_field() {
    use verigym_trainer::recipes::experiments;
    let out = std::env::temp_dir().join(format!("verigym-rh-quick-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let over = serde_json::json!({"rl": {"progress": false}});
    experiments::run(
        "reward-hacking",
        tch::Device::Cpu,
        &out,
        0..1,
        true,
        Some(&over),
    )
    .unwrap();
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    let steps = s["steps"].as_u64().unwrap() as usize;
    assert_eq!(steps, 6);
    for run in ["unguarded", "guarded"] {
        for key in ["proxy_reward", "true_score"] {
            let v = s[run][key].as_array().unwrap();
            assert!(
                !v.is_empty() && v.len() <= steps,
                "{run}.{key}: {}",
                v.len()
            );
        }
    }
    assert_eq!(
        s["unguarded"]["true_score"].as_array().unwrap().len(),
        steps
    );
    for key in [
        "rm_pairwise_accuracy",
        "true_peak",
        "true_final_unguarded",
        "rater_agreement",
    ] {
        let v = s[key].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&v), "{key} = {v}");
    }
    assert!(s["true_peak_step"].as_u64().unwrap() < steps as u64);
    // Present, null when the guard did not fire in so short a run.
    for key in ["guard_stop_step", "true_at_stop"] {
        assert!(s.get(key).is_some(), "{key} missing");
    }
    for f in [
        "report.md",
        "proxy_vs_true.png",
        "feedback.jsonl",
        "rm/ensemble.json",
        "unguarded/metrics.jsonl",
        "guarded/metrics.jsonl",
    ] {
        assert!(out.join(f).exists(), "{f}");
    }
    let _ = std::fs::remove_dir_all(&out);
}
