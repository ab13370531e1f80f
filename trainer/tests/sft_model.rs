//! SFT and pretraining on the real policy model (issue-7 Llama) with the built-in tokenizer:
//! validation loss falls, only completion tokens are learnt, and a JSONL file written by
//! the data stage trains as well as the in-memory demonstrations.

use tch::Device;
use verigym_trainer::data::{self, DemoSpec, Profile};
use verigym_trainer::lm::sft::SftConfig;
use verigym_trainer::policy::tokenizer::Tokenizer;
use verigym_trainer::recipes::common::{ModelSize, Policy};

fn spec(n: u64, seed: u64) -> DemoSpec {
    DemoSpec::addition(1, 1, n, seed, Profile::Reference)
}

#[test]
fn sft_lowers_the_validation_loss_of_the_policy() {
    let dir = std::env::temp_dir().join(format!("verigym-sft-model-{}", std::process::id()));
    let path = dir.join("train.jsonl");
    data::write_jsonl(&path, &data::demonstrations(&spec(120, 1)).unwrap()).unwrap();
    let train = data::read_jsonl(&path).unwrap();
    let val = data::demonstrations(&spec(16, 2)).unwrap();
    let policy = Policy::new(Tokenizer::builtin(), ModelSize::TINY, Device::Cpu, 0).unwrap();
    let cfg = SftConfig {
        seq_len: 256,
        batch_size: 8,
        max_steps: 40,
        lr: 3e-3,
        warmup_steps: 5,
        eval_every: 20,
        patience: 0,
        progress: false,
        ..Default::default()
    };
    let r = policy.sft(&train, &val, &cfg).unwrap();
    assert_eq!(r.dropped_examples, 0);
    assert!(r.rows < train.len(), "packing put several examples per row");
    let first = r.train_loss[0].1;
    let best = r.best_val_loss.unwrap();
    // Uniform over 267 tokens is ln 267 = 5.6; the completions are highly regular.
    assert!(first > 4.5, "initial loss {first}");
    assert!(best < 2.0, "best validation loss {best}");
    let _ = std::fs::remove_dir_all(dir);
}

/// Greedy completions of a few prompts: equal weights give equal text.
fn greedy(policy: &Policy, prompts: &[String]) -> Vec<String> {
    let seeds = vec![0; prompts.len()];
    policy
        .generate(prompts, 24, 0.0, &seeds)
        .unwrap()
        .into_iter()
        .map(|c| c.text)
        .collect()
}

#[test]
fn sft_resumes_from_its_saved_weights_only_under_the_same_key() {
    let dir = std::env::temp_dir().join(format!("verigym-sft-resume-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let train = data::demonstrations(&spec(60, 1)).unwrap();
    let prompts: Vec<String> = train.iter().take(4).map(|d| d.prompt.clone()).collect();
    let cfg = SftConfig {
        seq_len: 256,
        batch_size: 8,
        max_steps: 12,
        lr: 3e-3,
        warmup_steps: 2,
        eval_every: 0,
        progress: false,
        ..Default::default()
    };
    let key = serde_json::json!({"run": "a"});
    let fresh = || Policy::new(Tokenizer::builtin(), ModelSize::TINY, Device::Cpu, 0).unwrap();

    let mut trained = fresh();
    let r1 = trained
        .sft_resumable(&train, &[], &cfg, &dir, key.clone())
        .unwrap();
    assert!(dir.join("sft.safetensors").is_file() && dir.join("sft.json").is_file());
    let want = greedy(&trained, &prompts);

    // Same key: the weights come back from disk (a different init seed proves it).
    let mut resumed = Policy::new(Tokenizer::builtin(), ModelSize::TINY, Device::Cpu, 7).unwrap();
    let before = greedy(&resumed, &prompts);
    let r2 = resumed
        .sft_resumable(&train, &[], &cfg, &dir, key.clone())
        .unwrap();
    // The saved report comes back (JSON keeps floats to within an ulp or so).
    assert_eq!((r2.steps, r2.tokens_trained), (r1.steps, r1.tokens_trained));
    assert_eq!(r2.train_loss.len(), r1.train_loss.len());
    for (a, b) in r1.train_loss.iter().zip(&r2.train_loss) {
        assert!(a.0 == b.0 && (a.1 - b.1).abs() < 1e-9, "{a:?} vs {b:?}");
    }
    assert_eq!(greedy(&resumed, &prompts), want);
    assert_ne!(before, want, "an untrained seed-7 model already agreed");

    // Another key (or other data) trains afresh: 3 steps report 3 steps.
    let short = SftConfig {
        max_steps: 3,
        ..cfg.clone()
    };
    let r3 = fresh()
        .sft_resumable(&train, &[], &short, &dir, key)
        .unwrap();
    assert_eq!(r3.steps, 3);
    let _ = std::fs::remove_dir_all(dir);
}
