//! LoRA adapters: what the adapted model computes, unmerged in the libtorch
//! layers, merged in the fused engine, and saved in PEFT's layout.

use tch::{Device, Kind, Tensor};
use verigym_trainer::policy::checkpoint;
use verigym_trainer::policy::lora::{LoraConfig, TARGETS};
use verigym_trainer::policy::{Config, Model, Tokenizer};
use verigym_trainer::rollout::sampler::{Sampler, SamplingParams};

fn tmp(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("verigym-lora-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// A tiny Llama with grouped-query heads (4 query, 2 kv) and the built-in tokenizer,
/// saved as a base checkpoint.
fn base(name: &str) -> (std::path::PathBuf, Model, Tokenizer) {
    let tok = Tokenizer::builtin();
    let cfg = Config::llama(tok.vocab_size(), 64, 96, 2, 4, 2);
    let model = Model::new_seeded(&cfg, Device::Cpu, Kind::Float, 5).unwrap();
    let dir = tmp(name);
    checkpoint::save(&model, &tok, &dir).unwrap();
    (dir, model, tok)
}

fn lora(rank: usize, targets: &[&str]) -> LoraConfig {
    LoraConfig {
        rank,
        alpha: 2.0 * rank as f64,
        dropout: 0.0,
        targets: targets.iter().map(|t| t.to_string()).collect(),
    }
}

/// Gives every adapter matrix random values (B starts at zero, which would hide mistakes).
fn randomise(model: &Model, seed: i64) {
    tch::manual_seed(seed);
    tch::no_grad(|| {
        for (_, mut v) in model.trainable_store().variables() {
            let r = Tensor::randn_like(&v) * 0.1;
            v.copy_(&r);
        }
    });
}

fn ids() -> Tensor {
    Tensor::from_slice(&[1i64, 40, 50, 60, 70, 80, 90]).view([1, 7])
}

fn max_diff(a: &Tensor, b: &Tensor) -> f64 {
    (a - b).abs().max().double_value(&[])
}

#[test]
fn adapters_compute_base_plus_low_rank_delta_and_merge_to_the_same_model() {
    let (dir, plain, _) = base("merge");
    let (mut m, _) = checkpoint::load(&dir, Device::Cpu, Kind::Float).unwrap();
    let all = TARGETS;
    m.attach_lora(&lora(4, &all), 0, "base").unwrap();
    let base_logits = plain.forward(&ids(), None).unwrap();
    // Fresh adapters (B = 0) change nothing.
    assert!(max_diff(&m.forward(&ids(), None).unwrap(), &base_logits) < 1e-6);
    randomise(&m, 1);
    let adapted = m.forward(&ids(), None).unwrap();
    assert!(
        max_diff(&adapted, &base_logits) > 1e-2,
        "adapters had no effect"
    );
    // Switched off, the model is the base.
    let off = m.with_adapters_off(|| m.forward(&ids(), None).unwrap());
    assert!(max_diff(&off, &base_logits) < 1e-6);
    // One projection by hand: q_proj of layer 0 with its adapter equals W + (alpha/r) B A.
    let sd: std::collections::HashMap<String, Tensor> =
        m.lora().unwrap().peft_state_dict().into_iter().collect();
    let a = &sd["base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight"];
    let b = &sd["base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight"];
    assert_eq!(a.size(), [4, 64]);
    assert_eq!(b.size(), [64, 4]);
    // Merged: the same logits from the plain layers.
    let mut merged = checkpoint::load(&dir, Device::Cpu, Kind::Float).unwrap().0;
    // (hf_state_dict's tensors may share storage with the weights: copy them.)
    let sd_before: Vec<(String, Tensor)> = merged
        .hf_state_dict()
        .into_iter()
        .map(|(n, t)| (n, t.copy()))
        .collect();
    merged.attach_lora(&lora(4, &all), 0, "base").unwrap();
    tch::no_grad(|| {
        for (n, mut v) in merged.trainable_store().variables() {
            v.copy_(&sd[&format!("base_model.model.{n}")]);
        }
    });
    merged.merge_lora();
    assert!(merged.lora().is_none());
    let q = merged
        .hf_state_dict()
        .into_iter()
        .find(|(n, _)| n == "model.layers.0.self_attn.q_proj.weight")
        .unwrap()
        .1;
    let q0 = &sd_before
        .iter()
        .find(|(n, _)| n == "model.layers.0.self_attn.q_proj.weight")
        .unwrap()
        .1;
    let want_q = q0 + b.matmul(a) * 2.0;
    assert!(
        max_diff(&q, &want_q) < 1e-6,
        "q_proj {} (delta {})",
        max_diff(&q, &want_q),
        max_diff(&q, q0)
    );
    let lm = merged.forward(&ids(), None).unwrap();
    assert!(
        max_diff(&lm, &adapted) < 1e-4,
        "merged {}",
        max_diff(&lm, &adapted)
    );
    let _ = std::fs::remove_dir_all(dir);
}

/// Greedy sampling with adapters (the fused engine packs merged weights) picks, at every
/// step, the argmax of the unmerged model's logits on the same prefix.
#[test]
fn sampling_with_adapters_follows_the_adapted_model() {
    let (dir, _, tok) = base("sample");
    let (mut m, _) = checkpoint::load(&dir, Device::Cpu, Kind::Float).unwrap();
    m.attach_lora(&lora(8, &["q_proj", "v_proj", "down_proj"]), 0, "base")
        .unwrap();
    randomise(&m, 2);
    let prompt = vec![1i64, 40, 50, 60];
    let out = Sampler::new(&tok)
        .generate(
            &m,
            std::slice::from_ref(&prompt),
            &SamplingParams::greedy(12),
            &[0],
        )
        .unwrap();
    let mut seq = prompt.clone();
    let mut base_differs = false;
    for &t in &out[0].token_ids {
        let x = Tensor::from_slice(&seq).view([1, seq.len() as i64]);
        let logits = m.forward(&x, None).unwrap().select(1, seq.len() as i64 - 1);
        let best = logits.max().double_value(&[]);
        let picked = logits.squeeze().double_value(&[t]);
        assert!(best - picked < 1e-4, "token {t}: {picked} vs best {best}");
        let off =
            m.with_adapters_off(|| m.forward(&x, None).unwrap().select(1, seq.len() as i64 - 1));
        base_differs |= off.argmax(-1, false).int64_value(&[0]) != t;
        seq.push(t);
    }
    assert!(base_differs, "the adapters never changed a greedy choice");
    let _ = std::fs::remove_dir_all(dir);
}

/// Saved in PEFT's layout and loaded back: base plus the same adapters. Broken folders get
/// errors naming what is wrong.
#[test]
fn peft_layout_round_trips_and_broken_folders_are_named() {
    let (dir, _, tok) = base("save");
    let (mut m, _) = checkpoint::load(&dir, Device::Cpu, Kind::Float).unwrap();
    m.attach_lora(
        &lora(4, &["k_proj", "o_proj", "up_proj"]),
        0,
        &dir.display().to_string(),
    )
    .unwrap();
    randomise(&m, 3);
    let out = tmp("adapters");
    checkpoint::save_policy(&m, &tok, &out).unwrap();
    assert!(checkpoint::is_adapter_dir(&out));
    let (back, _) = checkpoint::load_adapters(&out, Device::Cpu, Kind::Float).unwrap();
    let want = m.forward(&ids(), None).unwrap();
    assert!(max_diff(&back.forward(&ids(), None).unwrap(), &want) < 1e-6);
    let (merged, _) = checkpoint::load(&out, Device::Cpu, Kind::Float).unwrap();
    assert!(max_diff(&merged.forward(&ids(), None).unwrap(), &want) < 1e-4);

    // A base that is not there.
    let cfg_path = out.join("adapter_config.json");
    let good = std::fs::read_to_string(&cfg_path).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&good).unwrap();
    v["base_model_name_or_path"] = serde_json::json!("/nowhere/base");
    std::fs::write(&cfg_path, v.to_string()).unwrap();
    let load_error = || {
        checkpoint::load(&out, Device::Cpu, Kind::Float)
            .err()
            .unwrap()
            .to_string()
    };
    let e = load_error();
    assert!(
        e.contains("base_model_name_or_path") && e.contains("/nowhere/base"),
        "{e}"
    );
    // A target the weights file does not have.
    v["base_model_name_or_path"] = serde_json::json!(dir.display().to_string());
    v["target_modules"] = serde_json::json!(["k_proj", "o_proj", "up_proj", "gate_proj"]);
    std::fs::write(&cfg_path, v.to_string()).unwrap();
    let e = load_error();
    assert!(
        e.contains("gate_proj.lora_A") && e.contains("adapter_model.safetensors"),
        "{e}"
    );
    let _ = std::fs::remove_dir_all(out);
    let _ = std::fs::remove_dir_all(dir);
}

/// A bf16 base with fp32 adapters: the adapters, their gradients (and so AdamW's moments)
/// stay fp32 while the frozen base is bf16.
#[test]
fn a_bf16_base_trains_fp32_adapters() {
    let (dir, _, _) = base("bf16");
    let (mut m, _) = checkpoint::load(&dir, Device::Cpu, Kind::BFloat16).unwrap();
    m.attach_lora(&lora(4, &["q_proj", "gate_proj"]), 0, "base")
        .unwrap();
    randomise(&m, 4);
    let lp = m
        .token_logprobs(
            &ids(),
            &Tensor::ones([1, 7], (Kind::Int64, Device::Cpu)),
            1.0,
        )
        .unwrap();
    lp.sum(Kind::Float).backward();
    let vars = m.trainable_store().trainable_variables();
    assert_eq!(vars.len(), 2 * 2 * 2);
    for v in &vars {
        assert_eq!(v.kind(), Kind::Float);
        assert_eq!(v.grad().kind(), Kind::Float);
        assert!(v.grad().abs().sum(Kind::Float).double_value(&[]) > 0.0);
    }
    for (n, v) in m.vs.variables() {
        assert!(!v.requires_grad(), "base weight {n} is not frozen");
    }
    let _ = std::fs::remove_dir_all(dir);
}
