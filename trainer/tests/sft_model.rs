//! SFT and pretraining on the real policy model (issue-7 Llama) with the built-in tokenizer:
//! validation loss falls, only completion tokens are learnt, and a JSONL file written by
//! the data stage trains as well as the in-memory demonstrations.

use tch::Device;
use verigym_trainer::data::{self, DemoSpec, Profile};
use verigym_trainer::experiments::pipeline::{ModelSize, Policy};
use verigym_trainer::sft::SftConfig;
use verigym_trainer::tokenizer::Tokenizer;

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
