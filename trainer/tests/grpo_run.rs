//! End-to-end GRPO runs on a tiny model: reward rises from a seeded random start on an easy
//! env defined here, and an interrupted run resumed from its checkpoint reproduces the
//! uninterrupted run's metrics step for step (issue 8).

use serde_json::json;
use verigym_envs::{Domain, EnvEntry, EnvError, Environment, Prompt, Registry, Task, Verdict};
use verigym_trainer::grpo::{train, GrpoConfig, RunOptions, StageConfig, StepMetrics};
use verigym_trainer::util::tensorboard::{check_run_folder, FILE_PREFIX};

/// "Write digits" or "write letters": the reward is the fraction of the 8-token budget
/// spent on characters of the asked-for class. A random byte-level policy scores about
/// 0.04 (digits) and 0.2 (letters); the class must be read from the prompt.
struct CharClass;

const BUDGET: f64 = 8.0;

impl Environment for CharClass {
    fn name(&self) -> &str {
        "char_class"
    }
    fn domain(&self) -> Domain {
        Domain::Text
    }
    fn difficulty(&self) -> u8 {
        1
    }
    fn config(&self) -> serde_json::Value {
        json!({})
    }
    fn generate(&self, seed: u64, index: u64) -> Result<Task, EnvError> {
        let digits = (seed ^ index).is_multiple_of(2);
        let q = if digits { "digits:" } else { "letters:" };
        Ok(Task {
            env: "char_class".into(),
            seed,
            index,
            difficulty: 1,
            prompt: Prompt::Text(q.into()),
            answer: json!({ "digits": digits }),
            solution: None,
            solution_turns: None,
            question: q.into(),
        })
    }
    fn verify(&self, task: &Task, completion: &str) -> Result<Verdict, EnvError> {
        let digits = task.answer["digits"].as_bool().unwrap_or(true);
        let hits = completion
            .chars()
            .filter(|c| {
                if digits {
                    c.is_ascii_digit()
                } else {
                    c.is_ascii_alphabetic()
                }
            })
            .count() as f64;
        let score = (hits / BUDGET).min(1.0);
        let mut v = if score >= 1.0 {
            Verdict::correct(completion)
        } else {
            Verdict::wrong(Some(completion.into()), "not all characters of the class")
        };
        v.reward = score;
        v.components.insert("accuracy".into(), score);
        Ok(v)
    }
}

fn registry() -> Registry {
    let mut r = Registry::empty();
    r.register(EnvEntry::new(
        "char_class",
        Domain::Text,
        "write characters of a class",
        |_| Ok(Box::new(CharClass) as Box<dyn Environment>),
    ))
    .unwrap();
    r
}

fn config(steps: usize, extra: &[&str]) -> GrpoConfig {
    let mut sets: Vec<String> = [
        format!("steps={steps}"),
        "seed=3".into(),
        "model.vocab_size=272".into(),
        "model.hidden_size=64".into(),
        "model.intermediate_size=128".into(),
        "model.num_layers=2".into(),
        "model.num_heads=4".into(),
        "model.num_kv_heads=4".into(),
        "model.max_position_embeddings=64".into(),
        "model.init_seed=11".into(),
        "model.device=\"cpu\"".into(),
        "rollout.tasks_per_step=8".into(),
        "rollout.group_size=8".into(),
        "rollout.max_new_tokens=8".into(),
        "objective.beta=0.01".into(),
        "optim.lr=3e-3".into(),
        "optim.warmup_steps=2".into(),
        "optim.schedule=\"constant\"".into(),
        "learn.micro_batch_size=32".into(),
        "log.progress=false".into(),
        "envs.0.name=\"char_class\"".into(),
        "envs.0.difficulty=1".into(),
    ]
    .into_iter()
    .collect();
    sets.extend(extra.iter().map(|s| s.to_string()));
    GrpoConfig::from_toml("", &sets).unwrap()
}

fn options(out: &std::path::Path, resume: bool, stop_after: Option<usize>) -> RunOptions {
    RunOptions {
        out: out.to_path_buf(),
        resume,
        registry: registry(),
        device: tch::Device::Cpu,
        stop_after,
        quiet: true,
    }
}

fn tmp(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("verigym-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn mean(ms: &[StepMetrics]) -> f64 {
    ms.iter().map(|m| m.reward_mean).sum::<f64>() / ms.len().max(1) as f64
}

#[test]
fn reward_rises_from_a_seeded_random_start() {
    let out = tmp("grpo-e2e");
    let s = train(&config(40, &[]), options(&out, false, None)).unwrap();
    let m = &s.metrics;
    assert_eq!(m.len(), 40);
    let (first, last) = (mean(&m[..5]), mean(&m[35..]));
    eprintln!("reward: first 5 steps {first:.3}, last 5 steps {last:.3}");
    assert!(
        last > first + 0.25 && last > 2.0 * first,
        "reward did not rise: {first:.3} -> {last:.3}"
    );
    for x in m {
        assert!(x.kl.is_finite() && x.loss.is_finite() && x.grad_norm.is_finite());
        assert_eq!(x.rollouts, 64);
    }
    // The run folder has everything the issue lists.
    for f in [
        "config.toml",
        "metrics.jsonl",
        "samples.jsonl",
        "state/state.json",
    ] {
        assert!(out.join(f).exists(), "missing {f}");
    }
    assert!(out.join("checkpoints/step-40/config.json").exists());
    assert!(out.join("plots/reward_mean.png").exists());
    let lines = std::fs::read_to_string(out.join("metrics.jsonl")).unwrap();
    assert_eq!(lines.lines().count(), 40);
    let logged = check_run_folder(&out).unwrap();
    assert!(logged.iter().any(|s| s.tag == "difficulty/char_class"));
    let _ = std::fs::remove_dir_all(out);
}

/// Timings dropped, and passed through JSON like the resumed run's earlier steps (read
/// back from metrics.jsonl; serde_json's float parsing may differ in the last ulp).
fn normalised(m: &StepMetrics) -> StepMetrics {
    serde_json::from_str(&serde_json::to_string(&m.deterministic()).unwrap()).unwrap()
}

#[test]
fn interrupted_and_resumed_run_matches_the_uninterrupted_one() {
    resumed_run_matches(&[], "fp32");
}

/// The same with a bf16 policy: the optimiser's fp32 master weights are part of the saved
/// state (rebuilding them from the bf16 checkpoint would change the trajectory).
#[test]
fn interrupted_and_resumed_bf16_run_matches_the_uninterrupted_one() {
    resumed_run_matches(&["model.dtype=\"bfloat16\""], "bf16");
}

fn resumed_run_matches(more: &[&str], name: &str) {
    let mut extra = vec![
        "log.checkpoint_every=2",
        "objective.mu=2",
        "objective.loss_type=\"dapo\"",
    ];
    extra.extend_from_slice(more);
    let full_dir = tmp(&format!("grpo-full-{name}"));
    let full = train(&config(6, &extra), options(&full_dir, false, None)).unwrap();

    let cut_dir = tmp(&format!("grpo-cut-{name}"));
    // "Killed" after step index 2 completes: the last saved state is after step 2 (done=2),
    // so the resumed run redoes step index 2 and goes on to the end.
    let cut = train(&config(6, &extra), options(&cut_dir, false, Some(2))).unwrap();
    assert_eq!(cut.metrics.len(), 3);
    let resumed = train(&config(6, &extra), options(&cut_dir, true, None)).unwrap();
    assert_eq!(resumed.metrics.len(), 6);

    let a: Vec<StepMetrics> = full.metrics.iter().map(normalised).collect();
    let b: Vec<StepMetrics> = resumed.metrics.iter().map(normalised).collect();
    assert_eq!(a, b);
    let text = std::fs::read_to_string(cut_dir.join("metrics.jsonl")).unwrap();
    let on_disk: Vec<StepMetrics> = text
        .lines()
        .map(|l| normalised(&serde_json::from_str::<StepMetrics>(l).unwrap()))
        .collect();
    assert_eq!(on_disk, a, "metrics.jsonl of the resumed run");
    // The event file was started afresh from the cut-back metrics.jsonl and appended to.
    check_run_folder(&cut_dir).unwrap();
    // A second run into the same folder without --resume is refused.
    assert!(train(&config(6, &extra), options(&cut_dir, false, None)).is_err());
    let _ = std::fs::remove_dir_all(full_dir);
    let _ = std::fs::remove_dir_all(cut_dir);
}

#[test]
fn dapo_style_variants_run_and_report_sane_metrics() {
    let extra = [
        "objective.dynamic_sampling=true",
        "objective.max_resample_rounds=2",
        "objective.mask_truncated=true",
        "objective.overlong_penalty=true",
        "objective.overlong_cache=4",
        "objective.loss_type=\"bnpo\"",
        "objective.advantage_scale=\"none\"",
        "objective.eps_high=0.28",
        "objective.beta=0.0",
        "objective.mu=2",
        "curriculum.enabled=true",
        "curriculum.window=16",
        "log.plots=false",
        "log.tensorboard=false",
    ];
    let out = tmp("grpo-variants");
    let s = train(&config(3, &extra), options(&out, false, None)).unwrap();
    let events = std::fs::read_dir(&out)
        .unwrap()
        .filter(|e| {
            let name = e.as_ref().unwrap().file_name();
            name.to_string_lossy().starts_with(FILE_PREFIX)
        })
        .count();
    assert_eq!(events, 0, "log.tensorboard = false writes no event file");
    for m in &s.metrics {
        assert!(m.sampling_rounds >= 1 && m.sampling_rounds <= 3, "{m:?}");
        assert!(m.groups_trained <= 8);
        // Refill rounds sample only the groups still missing.
        assert!(
            m.rollouts >= 64 && (m.sampling_rounds > 1 || m.rollouts == 64),
            "{m:?}"
        );
        assert!(m.loss.is_finite() && m.grad_norm.is_finite());
        assert_eq!(m.kl, 0.0, "beta = 0 keeps no reference");
        // The overlong penalty makes full-budget completions' rewards negative.
        assert!(m.reward_mean < 1.0);
    }
    let _ = std::fs::remove_dir_all(out);
}

#[test]
fn cispo_and_sequence_level_ratios_run_through_the_step() {
    for extra in [
        ["objective.loss_type=\"cispo\"", "objective.eps_high=5.0"],
        [
            "objective.importance_sampling_level=\"sequence\"",
            "objective.loss_type=\"grpo\"",
        ],
    ] {
        let out = tmp(&format!("grpo-objective-{}", extra[0].len()));
        let s = train(&config(3, &extra), options(&out, false, None)).unwrap();
        assert_eq!(s.metrics.len(), 3, "{extra:?}");
        for m in &s.metrics {
            assert!(m.loss.is_finite() && m.grad_norm.is_finite(), "{extra:?}");
        }
        let _ = std::fs::remove_dir_all(&out);
    }
}

#[test]
fn a_bf16_kv_cache_shows_a_mismatch_that_the_correction_takes_out_of_the_ratio() {
    let base = ["rollout.kv_cache_dtype=\"bf16\""];
    let out = tmp("grpo-mismatch");
    let plain = train(&config(2, &base), options(&out, false, None)).unwrap();
    let _ = std::fs::remove_dir_all(&out);
    for m in &plain.metrics {
        // The sampler read keys and values rounded to bf16; the learner did not.
        assert!(m.mismatch_abs_mean > 0.0 && m.mismatch_abs_max >= m.mismatch_abs_mean);
        assert!(m.mismatch_kl >= 0.0 && m.mismatch_kl.is_finite());
    }
    // Masking above a cap of 1: the tokens the learner finds likelier than the sampler did
    // (about half, from rounding alone) leave the loss.
    let corrected = [
        base[0],
        "objective.is_correction=\"token_mask\"",
        "objective.is_correction_cap=1.0",
    ];
    let fixed = train(&config(2, &corrected), options(&out, false, None)).unwrap();
    let _ = std::fs::remove_dir_all(&out);
    // The same samples (the first step's weights are the same) and the same mismatch
    // logged; the ratio is now against the learner's own log-probs, so at mu = 1 it is
    // exactly 1 and nothing is clipped, and the masked tokens change the loss.
    let (a, b) = (&plain.metrics[0], &fixed.metrics[0]);
    assert_eq!(a.reward_mean, b.reward_mean);
    assert!((a.mismatch_abs_mean - b.mismatch_abs_mean).abs() < 1e-9);
    assert_eq!(b.clip_region, 0.0);
    assert!(
        b.loss.is_finite() && (b.loss - a.loss).abs() > 1e-9,
        "{} {}",
        a.loss,
        b.loss
    );
}

/// LoRA: a run with adapters on a small HF-layout checkpoint trains only the
/// adapters (the base stays bit-identical), takes its KL against the base with the adapters
/// off (no reference copy in the saved state), raises the reward, saves PEFT-layout
/// checkpoints that load back as base plus adapters, and resumes exactly.
#[test]
fn lora_run_trains_the_adapters_against_the_frozen_base() {
    use verigym_trainer::policy::checkpoint;
    let base_dir = tmp("grpo-lora-base");
    let (base, tok) =
        verigym_trainer::policy::build(&config(1, &[]).model, tch::Device::Cpu).unwrap();
    // A random init's logits stay within about ±1 whatever its hidden state, and LoRA
    // leaves the LM head and the norms frozen: the base gets a final norm of 4 so that
    // adapters can sharpen its next-token distribution (a trained model's head has that
    // range).
    tch::no_grad(|| {
        let mut norm = base.vs.variables()["model.norm.weight"].shallow_clone();
        let _ = norm.fill_(4.0);
    });
    checkpoint::save(&base, &tok, &base_dir).unwrap();
    let path = format!("model.path={:?}", base_dir.display().to_string());
    let lora = [
        path.as_str(),
        "lora.rank=8",
        "lora.alpha=16",
        "optim.lr=5e-3",
        "log.checkpoint_every=10",
    ];
    let out = tmp("grpo-lora");
    let s = train(&config(40, &lora), options(&out, false, None)).unwrap();
    let m = &s.metrics;
    let (first, last) = (mean(&m[..5]), mean(&m[35..]));
    eprintln!("LoRA reward: first 5 steps {first:.3}, last 5 steps {last:.3}");
    assert!(
        last > first + 0.25 && last > 2.0 * first,
        "reward did not rise with LoRA: {first:.3} -> {last:.3}"
    );
    assert!(m.iter().any(|x| x.kl > 0.0) && m.iter().all(|x| x.kl.is_finite()));
    assert!(!out.join("state/reference.safetensors").exists());
    let ckpt = out.join("checkpoints/step-40");
    assert!(ckpt.join("adapter_config.json").exists());
    assert!(ckpt.join("adapter_model.safetensors").exists());
    assert!(!ckpt.join("config.json").exists());
    let cfg: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(ckpt.join("adapter_config.json")).unwrap())
            .unwrap();
    assert_eq!(cfg["r"], 8);
    assert_eq!(
        cfg["base_model_name_or_path"].as_str().unwrap(),
        std::fs::canonicalize(&base_dir)
            .unwrap()
            .display()
            .to_string()
    );
    // Base plus adapters: the base weights are those of the base folder, bit for bit, and
    // the adapters moved the model away from it.
    let (with, _) = checkpoint::load_adapters(&ckpt, tch::Device::Cpu, tch::Kind::Float).unwrap();
    let (plain, _) = checkpoint::load(&base_dir, tch::Device::Cpu, tch::Kind::Float).unwrap();
    for ((n, a), (_, b)) in with
        .hf_state_dict()
        .iter()
        .zip(plain.hf_state_dict().iter())
    {
        assert!(a.equal(b), "base weight {n} changed");
    }
    let ids = tch::Tensor::from_slice(&[1i64, 40, 50, 60]).view([1, 4]);
    let lw = with.forward(&ids, None).unwrap();
    let lp = plain.forward(&ids, None).unwrap();
    assert!((&lw - &lp).abs().max().double_value(&[]) > 1e-3);
    // Loading the folder as a checkpoint merges the adapters: the same logits.
    let (merged, _) = checkpoint::load(&ckpt, tch::Device::Cpu, tch::Kind::Float).unwrap();
    let lm = merged.forward(&ids, None).unwrap();
    assert!((&lw - &lm).abs().max().double_value(&[]) < 1e-4);

    // Interrupted after step 12 and resumed: the same metrics as the whole run.
    let cut = tmp("grpo-lora-cut");
    let short = [lora.as_slice(), &["log.checkpoint_every=4"]].concat();
    let full = train(&config(16, &short), options(&out.join("x"), false, None)).unwrap();
    train(&config(16, &short), options(&cut, false, Some(9))).unwrap();
    let resumed = train(&config(16, &short), options(&cut, true, None)).unwrap();
    let a: Vec<StepMetrics> = full.metrics.iter().map(normalised).collect();
    let b: Vec<StepMetrics> = resumed.metrics.iter().map(normalised).collect();
    assert_eq!(a, b);
    for d in [out, cut, base_dir] {
        let _ = std::fs::remove_dir_all(d);
    }
}

/// A reward model with a random score head on a tiny random backbone (the built-in
/// tokenizer), saved where `[reward] model` can load it.
fn random_reward_model(dir: &std::path::Path) {
    use verigym_trainer::rm::model::RewardModel;
    let cfg = config(1, &["model.hidden_size=32", "model.intermediate_size=64"]).model;
    let (backbone, tok) = verigym_trainer::policy::build(&cfg, tch::Device::Cpu).unwrap();
    let rm = RewardModel::new(backbone);
    // The head from a seeded stream of our own: libtorch's global generator is shared with
    // the tests running beside this one.
    let mut rng = verigym_envs::TaskRng::from_seed(5);
    let head: Vec<f32> = (0..rm.score.numel())
        .map(|_| (rng.unit() * 2.0 - 1.0) as f32)
        .collect();
    tch::no_grad(|| {
        let head = tch::Tensor::from_slice(&head).view(rm.score.size().as_slice());
        rm.score.shallow_clone().copy_(&head);
    });
    rm.save(&tok, dir).unwrap();
}

#[test]
fn a_reward_model_rewards_the_run_and_the_verifier_is_held_out() {
    let dir = tmp("grpo-rm");
    let rm = dir.join("rm");
    random_reward_model(&rm);
    let rm_set = format!("reward.model={:?}", rm.display().to_string());
    let out = dir.join("run");
    let cfg = config(30, &[&rm_set, "reward.verifier_weight=0"]);
    let s = train(&cfg, options(&out, false, None)).unwrap();
    let m = &s.metrics;
    for x in m {
        let proxy = x.rm_reward_mean.expect("the reward model's mean is logged");
        // The reward is the reward model's score alone; the verifier is logged beside it.
        assert!(
            (x.reward_mean - proxy).abs() < 1e-9,
            "{} vs {proxy}",
            x.reward_mean
        );
        assert!(x.verifier_reward_mean.is_some());
        assert_eq!(x.rm_std_mean, Some(0.0), "one model: no disagreement");
    }
    let proxy = |ms: &[StepMetrics]| {
        ms.iter().map(|x| x.rm_reward_mean.unwrap()).sum::<f64>() / ms.len() as f64
    };
    let (first, last) = (proxy(&m[..5]), proxy(&m[25..]));
    eprintln!("proxy {first} -> {last}");
    assert!(
        last > first,
        "GRPO raises the reward model's score: {first} -> {last}"
    );
    assert!(out.join("plots/proxy_vs_gold.png").exists());
    assert!(s.guard.is_none());
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn the_guard_stops_the_run_rolls_back_and_says_why() {
    let dir = tmp("grpo-guard");
    let rm = dir.join("rm");
    random_reward_model(&rm);
    let rm_set = format!("reward.model={:?}", rm.display().to_string());
    let out = dir.join("run");
    let sets = [
        rm_set.as_str(),
        "reward.verifier_weight=0",
        "guard.enabled=true",
        "guard.window=2",
        "guard.warmup=3",
        "guard.kl_budget=1e-6",
        "log.checkpoint_every=2",
    ];
    let cfg = config(30, &sets);
    let s = train(&cfg, options(&out, false, None)).unwrap();
    let g = s
        .guard
        .expect("a KL budget of 1e-6 is spent in a few steps");
    assert_eq!(g.trigger.rule, "kl_budget");
    assert!(g.trigger.reason.contains("KL"), "{}", g.trigger.reason);
    // Observations 1..=3 are the warm-up: the fourth step is the first that may stop.
    assert_eq!(g.stopped_at, 4, "{g:?}");
    let m = &s.metrics;
    assert_eq!(m.len(), 4);
    assert_eq!(m[3].guard_stop.as_ref(), Some(&g.trigger));
    assert!(m.iter().all(|x| x.guard_estimate.is_some()));
    // Rollback keeps a saved checkpoint (steps 2 and 4 were saved) and writes guard.json.
    assert!(["checkpoints/step-2", "checkpoints/step-4"].contains(&g.checkpoint.as_str()));
    assert!(out.join(&g.checkpoint).join("config.json").exists());
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("guard.json")).unwrap()).unwrap();
    assert_eq!(saved["trigger"]["rule"], "kl_budget");
    // Resuming a run its guard stopped trains no further.
    let again = train(&cfg, options(&out, true, None)).unwrap();
    assert_eq!(again.metrics.len(), 4);
    assert_eq!(again.guard.unwrap().stopped_at, 4);
    let _ = std::fs::remove_dir_all(dir);
}
