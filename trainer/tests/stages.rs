//! The three stages as a user chains them, on a tiny model from nothing: pretrain on a
//! corpus from `data corpus`, SFT from the pretrained checkpoint on `data sft`
//! demonstrations, GRPO from the SFT checkpoint. Each stage, interrupted and resumed,
//! ends with the same weights and metrics as the uninterrupted run, bit for bit.

use std::path::{Path, PathBuf};
use verigym_envs::Registry;
use verigym_trainer::data::{self, DemoSpec, Profile, Template};
use verigym_trainer::grpo::{self, GrpoConfig, RunOptions};
use verigym_trainer::lm::stage::{self, PretrainConfig, SftStageConfig, StageOptions};
use verigym_trainer::policy::checkpoint;
use verigym_trainer::util::config::StageConfig;
use verigym_trainer::util::tensorboard::check_run_folder;

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("verigym-stages-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

const TINY: [&str; 9] = [
    "model.vocab_size=272",
    "model.hidden_size=32",
    "model.intermediate_size=64",
    "model.num_layers=2",
    "model.num_heads=4",
    "model.num_kv_heads=4",
    "model.max_position_embeddings=256",
    "model.device=\"cpu\"",
    "log.progress=false",
];

fn sets(extra: &[String]) -> Vec<String> {
    TINY.iter()
        .map(|s| s.to_string())
        .chain(extra.iter().cloned())
        .collect()
}

fn options(out: &Path, resume: bool, stop_after: Option<usize>) -> StageOptions {
    StageOptions {
        out: out.to_path_buf(),
        resume,
        device: tch::Device::Cpu,
        stop_after,
    }
}

/// metrics.jsonl without the wall-clock fields.
fn metrics(out: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(out.join("metrics.jsonl"))
        .unwrap()
        .lines()
        .map(|l| {
            let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
            v.as_object_mut().unwrap().remove("tokens_per_s");
            v
        })
        .collect()
}

fn weights(dir: &Path) -> Vec<(String, tch::Tensor)> {
    let mut w = tch::Tensor::read_safetensors(dir.join("model.safetensors")).unwrap();
    w.sort_by(|a, b| a.0.cmp(&b.0));
    w
}

fn assert_same_weights(a: &Path, b: &Path) {
    let (wa, wb) = (weights(a), weights(b));
    assert_eq!(wa.len(), wb.len());
    for ((na, ta), (nb, tb)) in wa.iter().zip(&wb) {
        assert_eq!(na, nb);
        assert!(
            ta.equal(tb),
            "{na} differs between {} and {}",
            a.display(),
            b.display()
        );
    }
}

#[test]
fn pretrain_sft_grpo_chain_from_nothing_and_each_resumes_bit_for_bit() {
    let root = tmp("chain");
    // Data: a corpus and demonstrations, as `verigym data corpus|sft` write them.
    let spec = |n, seed, profile| DemoSpec {
        envs: vec!["arithmetic".into()],
        n,
        seed,
        difficulty: Some(1),
        config: Default::default(),
        template: Template::Compact,
        profile,
    };
    let corpus = root.join("corpus.txt");
    let docs = data::corpus(&spec(200, 1, Profile::Reference)).unwrap();
    assert_eq!(docs.len(), 200);
    assert!(docs
        .iter()
        .all(|d| !d.contains('\n') && d.contains("<answer>")));
    std::fs::write(&corpus, docs.join("\n")).unwrap();
    let demos_path = root.join("sft.jsonl");
    data::write_jsonl(
        &demos_path,
        &data::demonstrations(&spec(100, 2, Profile::Reference)).unwrap(),
    )
    .unwrap();

    // 1. Pretraining: 6 steps, checkpoints every 3; a run stopped after 3 and resumed
    //    ends where the straight one does.
    let pre_sets = sets(&[
        "steps=6".into(),
        format!("data.path=\"{}\"", corpus.display()),
        "train.seq_len=64".into(),
        "train.batch_size=4".into(),
        "log.checkpoint_every=3".into(),
        "optim.warmup_steps=2".into(),
    ]);
    let pre_cfg = PretrainConfig::from_toml("", &pre_sets).unwrap();
    let (a, b) = (root.join("pre-a"), root.join("pre-b"));
    let s = stage::pretrain(&pre_cfg, options(&a, false, None)).unwrap();
    assert_eq!(s.report.steps, 6);
    let first = s.report.train_loss[0].1;
    let last = s.report.train_loss[5].1;
    assert!(
        last < first,
        "pretraining loss did not fall: {first} -> {last}"
    );
    stage::pretrain(&pre_cfg, options(&b, false, Some(3))).unwrap();
    assert!(!b.join("checkpoints/step-6").exists());
    let again = stage::pretrain(&pre_cfg, options(&b, false, None));
    assert!(
        again.is_err(),
        "a second run into a used folder must ask for --resume"
    );
    stage::pretrain(&pre_cfg, options(&b, true, None)).unwrap();
    assert_eq!(metrics(&a), metrics(&b));
    assert_eq!(metrics(&a).len(), 6);
    check_run_folder(&b).unwrap();
    assert_same_weights(&a.join("checkpoints/step-6"), &b.join("checkpoints/step-6"));
    for f in [
        "config.toml",
        "report.md",
        "plots/loss.png",
        "checkpoints/step-3/config.json",
    ] {
        assert!(a.join(f).exists(), "pretrain run folder lacks {f}");
    }

    // 2. SFT from the pretrained checkpoint.
    let pre_ckpt = a.join("checkpoints/step-6");
    let sft_sets = sets(&[
        "steps=5".into(),
        format!("model.path=\"{}\"", pre_ckpt.display()),
        format!("data.path=\"{}\"", demos_path.display()),
        format!("data.val_path=\"{}\"", demos_path.display()),
        "data.prompt_template=\"{question}\\n\"".into(),
        "train.seq_len=256".into(),
        "train.batch_size=4".into(),
        "train.eval_every=2".into(),
        "train.keep_best=true".into(),
        "log.checkpoint_every=2".into(),
    ]);
    let sft_cfg = SftStageConfig::from_toml("", &sft_sets).unwrap();
    let (a, b) = (root.join("sft-a"), root.join("sft-b"));
    let s = stage::sft(&sft_cfg, options(&a, false, None)).unwrap();
    assert_eq!(s.report.steps, 5);
    assert!(s.report.best_val_loss.is_some());
    stage::sft(&sft_cfg, options(&b, false, Some(3))).unwrap();
    stage::sft(&sft_cfg, options(&b, true, None)).unwrap();
    assert_eq!(metrics(&a), metrics(&b));
    // Stopped after 3 steps, saved after 2: the third step's events are rewritten too.
    let logged = check_run_folder(&b).unwrap();
    assert!(logged.iter().any(|s| s.tag == "val_loss"));
    assert_same_weights(&a.join("checkpoints/step-5"), &b.join("checkpoints/step-5"));
    let sft_ckpt = a.join("checkpoints/step-5");
    assert_eq!(
        checkpoint::prompt_template(&sft_ckpt).unwrap().as_deref(),
        Some("{question}\n")
    );

    // 3. GRPO from the SFT checkpoint.
    let grpo_sets: Vec<String> = [
        "steps=2",
        "rollout.tasks_per_step=2",
        "rollout.group_size=2",
        "rollout.max_new_tokens=8",
        "rollout.prompt_template=\"{question}\\n\"",
        "objective.beta=0",
        "log.progress=false",
        "envs.0.difficulty=1",
        "model.device=\"cpu\"",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain([format!("model.path=\"{}\"", sft_ckpt.display())])
    .collect();
    let grpo_cfg = GrpoConfig::from_toml("", &grpo_sets).unwrap();
    let out = root.join("grpo");
    let run = grpo::train(
        &grpo_cfg,
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
    assert_eq!(run.metrics.len(), 2);
    assert_eq!(
        checkpoint::prompt_template(&out.join("checkpoints/step-2"))
            .unwrap()
            .as_deref(),
        Some("{question}\n")
    );
    let _ = std::fs::remove_dir_all(root);
}

#[test]
fn bad_data_paths_are_errors_that_name_the_knob() {
    let root = tmp("bad");
    let cfg = PretrainConfig::from_toml("", &sets(&["steps=1".into()])).unwrap();
    let e = stage::pretrain(&cfg, options(&root.join("p"), false, None))
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("data.path"), "{e}");
    let missing = format!("data.path=\"{}\"", root.join("nope.jsonl").display());
    let cfg = SftStageConfig::from_toml("", &sets(&["steps=1".into(), missing])).unwrap();
    let e = stage::sft(&cfg, options(&root.join("s"), false, None))
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("data.path") && e.contains("nope.jsonl"), "{e}");
    let bad = root.join("bad.jsonl");
    std::fs::write(
        &bad,
        "{\"prompt\": \"a\", \"completion\": \"b\"}\nnot json\n",
    )
    .unwrap();
    let cfg = SftStageConfig::from_toml(
        "",
        &sets(&["steps=1".into(), format!("data.path=\"{}\"", bad.display())]),
    )
    .unwrap();
    let e = stage::sft(&cfg, options(&root.join("s2"), false, None))
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("bad.jsonl") && e.contains('2'), "{e}");
    let _ = std::fs::remove_dir_all(root);
}

/// The commands as a user types them: `data corpus` and `data sft` write their files, and a
/// stage refuses an unknown key or a missing data file with one line naming it.
#[test]
fn data_and_stage_commands_from_the_command_line() {
    let root = tmp("cli");
    let exe = env!("CARGO_BIN_EXE_verigym-train");
    let run = |args: &[&str]| {
        std::process::Command::new(exe)
            .args(args)
            .output()
            .expect("runs verigym-train")
    };
    let corpus = root.join("corpus.txt");
    let out = run(&[
        "data",
        "corpus",
        "--envs",
        "arithmetic,chained_sums",
        "--n",
        "5",
        "--out",
        corpus.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(&corpus).unwrap().lines().count(),
        10
    );
    let sft = root.join("sft.jsonl");
    let out = run(&[
        "data",
        "sft",
        "--envs",
        "arithmetic",
        "--n",
        "4",
        "--template",
        "compact",
        "--out",
        sft.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(data::read_jsonl(&sft).unwrap().len(), 4);
    let out = run(&[
        "data",
        "corpus",
        "--envs",
        "arithmetic",
        "--config",
        "[1]",
        "--out",
        corpus.to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("--config"), "{err}");
    let out = run(&[
        "train",
        "sft",
        "--set",
        "data.pth=1",
        "--out",
        root.join("s").to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("pth"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    let missing = format!("data.path={}", root.join("none.txt").display());
    let out = run(&[
        "train",
        "pretrain",
        "--set",
        &missing,
        "--out",
        root.join("p").to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("data.path") && err.contains("none.txt"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(root);
}
