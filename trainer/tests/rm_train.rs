//! `train rm` end to end on a tiny model from nothing: feedback whose preferred completion
//! is told apart by a word before the last one (so the score head must read more than the
//! last token), held-out accuracy, the saved model scoring as it trained, resume bit for bit,
//! an ensemble of two, and bad feedback named by file and line.

use std::path::{Path, PathBuf};
use verigym_trainer::lm::stage::StageOptions;
use verigym_trainer::rm::model::RewardModel;
use verigym_trainer::rm::train::{self, member_paths, RmConfig};
use verigym_trainer::util::config::StageConfig;

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("verigym-rm-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

const GOOD: [&str; 4] = ["fine", "great", "lovely", "neat"];
const BAD: [&str; 4] = ["poor", "awful", "dull", "weak"];
const THINGS: [&str; 5] = ["lamp", "chair", "mug", "desk", "bike"];

/// Comparisons: `good X` preferred to `bad X` for the same X.
fn feedback(dir: &Path) -> PathBuf {
    let mut lines = Vec::new();
    for i in 0..120 {
        let thing = THINGS[i % THINGS.len()];
        let row = serde_json::json!({
            "prompt": format!("Item {i}:"),
            "chosen": format!(" {} {thing}", GOOD[i % 4]),
            "rejected": format!(" {} {thing}", BAD[(i / 4) % 4]),
        });
        lines.push(row.to_string());
    }
    let path = dir.join("feedback.jsonl");
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    path
}

fn config(data: &Path, extra: &[&str]) -> RmConfig {
    let mut sets: Vec<String> = [
        "model.vocab_size=272",
        "model.hidden_size=32",
        "model.intermediate_size=64",
        "model.num_layers=2",
        "model.num_heads=4",
        "model.num_kv_heads=4",
        "model.max_position_embeddings=64",
        "model.device=\"cpu\"",
        "log.progress=false",
        "steps=60",
        "optim.lr=3e-3",
        "train.eval_every=20",
        "data.val_fraction=0.2",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    sets.push(format!("data.path={:?}", data.display().to_string()));
    sets.extend(extra.iter().map(|s| s.to_string()));
    RmConfig::from_toml("", &sets).unwrap()
}

fn options(out: &Path, resume: bool, stop_after: Option<usize>) -> StageOptions {
    StageOptions {
        out: out.to_path_buf(),
        resume,
        device: tch::Device::Cpu,
        stop_after,
    }
}

fn metrics(out: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(out.join("metrics.jsonl"))
        .unwrap()
        .lines()
        .map(|l| {
            let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
            v.as_object_mut().unwrap().remove("pairs_per_s");
            v
        })
        .collect()
}

#[test]
fn learns_held_out_preferences_and_saves_a_model_that_scores_the_same() {
    let dir = tmp("learn");
    let data = feedback(&dir);
    let out = dir.join("run");
    let cfg = config(&data, &[]);
    let s = train::train(&cfg, options(&out, false, None)).unwrap();
    let e = &s.ensemble;
    assert_eq!(e.members.len(), 1);
    // 120 prompts, one pair each; 20% of the prompts held out.
    assert_eq!((e.train_pairs, e.val_pairs), (96, 24));
    let m = metrics(&out);
    assert_eq!(m.len(), 60);
    let evals: Vec<f64> = m
        .iter()
        .filter_map(|l| l["val_accuracy"].as_f64())
        .collect();
    assert_eq!(evals.len(), 3, "evaluations at steps 20, 40, 60");
    assert!(
        e.members[0].val_accuracy >= 0.9,
        "held-out accuracy {}",
        e.members[0].val_accuracy
    );
    assert_eq!(e.members[0].val_accuracy, evals[2]);
    eprintln!("val accuracy {evals:?}");
    for key in ["loss", "accuracy", "margin", "lr", "grad_norm"] {
        assert!(m[0][key].is_number(), "{key} missing from {}", m[0]);
    }
    // The held-out margin grows as the model learns.
    let margins: Vec<f64> = m.iter().filter_map(|l| l["val_margin"].as_f64()).collect();
    assert!(margins[2] > margins[0], "{margins:?}");
    assert!(out.join("report.md").exists() && out.join("plots/rm.png").exists());
    verigym_trainer::util::tensorboard::check_run_folder(&out).unwrap();

    // The saved model gives the held-out scores the run measured.
    let paths = member_paths(&out).unwrap();
    assert_eq!(paths, vec![out.join("checkpoints/step-60")]);
    let (rm, tok) = RewardModel::load(&paths[0], tch::Device::Cpu, tch::Kind::Float).unwrap();
    let texts = vec![
        "Item 7: lovely desk".to_string(),
        "Item 7: awful desk".to_string(),
    ];
    let s = rm.score_texts(&tok, &texts, 2).unwrap();
    assert!(s[0] > s[1], "{s:?}");
    let again = rm.score_texts(&tok, &texts[..1], 1).unwrap();
    assert!((again[0] - s[0]).abs() < 1e-5, "batching changes a score");

    // The same folder again without --resume is refused.
    let e = train::train(&cfg, options(&out, false, None))
        .err()
        .unwrap();
    assert!(e.to_string().contains("--resume"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_resumed_run_equals_the_uninterrupted_one() {
    let dir = tmp("resume");
    let data = feedback(&dir);
    let cfg = config(&data, &["steps=30", "log.checkpoint_every=10"]);
    let whole = dir.join("whole");
    train::train(&cfg, options(&whole, false, None)).unwrap();
    let cut = dir.join("cut");
    let s = train::train(&cfg, options(&cut, false, Some(20))).unwrap();
    assert!(s.ensemble.members.is_empty(), "stopped before the end");
    train::train(&cfg, options(&cut, true, None)).unwrap();
    assert_eq!(metrics(&whole), metrics(&cut));
    let w = |d: &Path| {
        let mut w =
            tch::Tensor::read_safetensors(d.join("checkpoints/step-30/model.safetensors")).unwrap();
        w.sort_by(|a, b| a.0.cmp(&b.0));
        w
    };
    let (a, b) = (w(&whole), w(&cut));
    assert!(a.iter().any(|(n, _)| n == "score.weight"));
    for ((na, ta), (_, tb)) in a.iter().zip(&b) {
        assert!(ta.equal(tb), "{na} differs after resume");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_ensemble_is_one_key_and_its_members_differ() {
    let dir = tmp("ensemble");
    let data = feedback(&dir);
    let out = dir.join("run");
    let cfg = config(&data, &["steps=20", "train.ensemble=2"]);
    let s = train::train(&cfg, options(&out, false, None)).unwrap();
    assert_eq!(s.ensemble.members.len(), 2);
    let paths = member_paths(&out).unwrap();
    assert_eq!(
        paths,
        vec![
            out.join("members/m0/checkpoints/step-20"),
            out.join("members/m1/checkpoints/step-20")
        ]
    );
    let score = |p: &Path| {
        let (rm, tok) = RewardModel::load(p, tch::Device::Cpu, tch::Kind::Float).unwrap();
        rm.score_texts(&tok, &["Item 3: neat mug".to_string()], 1)
            .unwrap()[0]
    };
    assert_ne!(
        score(&paths[0]),
        score(&paths[1]),
        "bootstrap resamples differ"
    );
    assert!(s.ensemble.ensemble_val_accuracy.is_finite());
    assert!(std::fs::read_to_string(out.join("report.md"))
        .unwrap()
        .contains("ensemble of 2"));
    // The folder holds a finished ensemble: a fresh start there is refused.
    let e = train::train(&cfg, options(&out, false, None))
        .err()
        .unwrap();
    assert!(e.to_string().contains("--resume"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_feedback_is_named_by_file_and_line() {
    let dir = tmp("bad");
    let data = dir.join("feedback.jsonl");
    std::fs::write(
        &data,
        "{\"prompt\": \"a\", \"chosen\": \"x\", \"rejected\": \"y\"}\n{\"prompt\": \"b\", \"chosen\": 3}\n",
    )
    .unwrap();
    let e = train::train(&config(&data, &[]), options(&dir.join("run"), false, None))
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("feedback.jsonl:2"), "{e}");
    // One prompt cannot be split into training and held-out pairs.
    std::fs::write(
        &data,
        "{\"prompt\": \"a\", \"chosen\": \"x\", \"rejected\": \"y\"}\n",
    )
    .unwrap();
    let e = train::train(&config(&data, &[]), options(&dir.join("run2"), false, None))
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("held-out"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}
