//! The GRPO loss and its gradient for every loss type (CISPO included), per-token and
//! per-sequence (GSPO) importance ratios, with and without KL and clipping, against PyTorch
//! reference values (scripts/make_grpo_fixture.py); advantages likewise. On the CPU by
//! default; `VERIGYM_TEST_DEVICE=cuda` puts the loss tensors on the GPU (scripts/gpu_check.sh),
//! same tolerances (elementwise fp32 maths and reductions over a 5 x 7 batch).

use serde_json::Value;
use tch::{Device, Kind, Tensor};
use verigym_trainer::grpo::{
    advantages, micro_batch_loss, AdvantageScale, ImportanceSamplingLevel, LossType, Normaliser,
    ObjectiveConfig,
};
use verigym_trainer::DeviceChoice;

/// `VERIGYM_TEST_DEVICE` (cpu, cuda or auto; cpu when unset).
fn device() -> Device {
    let choice: DeviceChoice = std::env::var("VERIGYM_TEST_DEVICE")
        .map_or(Ok(DeviceChoice::Cpu), |s| s.parse())
        .unwrap();
    choice.resolve().unwrap()
}

fn fixture() -> Value {
    let text = include_str!("fixtures/grpo/loss.json");
    serde_json::from_str(text).unwrap()
}

fn floats(v: &Value) -> Vec<f32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect()
}

fn loss_type(s: &str) -> LossType {
    match s {
        "grpo" => LossType::Grpo,
        "dr_grpo" => LossType::DrGrpo,
        "dapo" => LossType::Dapo,
        "bnpo" => LossType::Bnpo,
        "cispo" => LossType::Cispo,
        other => panic!("unknown loss type {other}"),
    }
}

/// The objective of a fixture case.
fn objective(f: &Value, case: &Value) -> ObjectiveConfig {
    ObjectiveConfig {
        loss_type: loss_type(case["loss_type"].as_str().unwrap()),
        eps_low: f["eps_low"].as_f64().unwrap(),
        eps_high: case["eps_high"].as_f64().unwrap(),
        beta: case["beta"].as_f64().unwrap(),
        importance_sampling_level: match case["importance_sampling_level"].as_str().unwrap() {
            "token" => ImportanceSamplingLevel::Token,
            "sequence" => ImportanceSamplingLevel::Sequence,
            other => panic!("unknown level {other}"),
        },
        is_correction: Default::default(),
        is_correction_cap: 2.0,
    }
}

fn tensor(v: &Value, b: i64, t: i64) -> Tensor {
    Tensor::from_slice(&floats(v))
        .view([b, t])
        .to_device(device())
}

#[test]
fn loss_and_gradient_match_pytorch_for_every_loss_type() {
    let f = fixture();
    let (b, t) = (f["B"].as_i64().unwrap(), f["T"].as_i64().unwrap());
    let mask = tensor(&f["mask"], b, t);
    let cases = f["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 28);
    let mut clipped_cases = 0;
    for case in cases {
        let cfg = objective(&f, case);
        let name = format!(
            "{} {} beta {}",
            case["loss_type"], case["importance_sampling_level"], cfg.beta
        );
        let logp = tensor(&f["logp"], b, t).set_requires_grad(true);
        let old = tensor(&case["old_logp"], b, t);
        let reference = tensor(&case["ref_logp"], b, t);
        let adv = Tensor::from_slice(&floats(&case["advantages"])).to_device(device());
        let norm = Normaliser {
            sequences: b as usize,
            tokens: mask.sum(Kind::Float).double_value(&[]),
            micro_batches: 1,
            max_len: f["max_len"].as_u64().unwrap() as usize,
        };
        let (loss, stats) =
            micro_batch_loss(&cfg, &norm, &logp, &old, Some(&reference), &adv, &mask);
        loss.backward();
        let want = case["loss"].as_f64().unwrap();
        let got = loss.double_value(&[]);
        assert!(
            (got - want).abs() < 1e-5 * want.abs().max(1.0),
            "{name}: loss {got} vs {want}"
        );
        let grad = Vec::<f32>::try_from(logp.grad().flatten(0, -1).to_device(Device::Cpu)).unwrap();
        for (g, w) in grad.iter().zip(floats(&case["grad"])) {
            assert!((g - w).abs() < 1e-5, "{name}: grad {g} vs {w}");
        }
        // The clipped-token count agrees with PyTorch's, and the clip cases do clip.
        let clipped = case["clipped"].as_bool().unwrap();
        assert_eq!(stats.clip_region() > 0.0, clipped, "{name}");
        assert_eq!(clipped, case["clip"].as_bool().unwrap(), "{name}");
        clipped_cases += usize::from(clipped);
        if cfg.beta > 0.0 {
            assert!(stats.kl() > 0.0);
        }
    }
    assert_eq!(clipped_cases, 14);
}

#[test]
fn micro_batches_add_up_to_the_full_batch_gradient() {
    let f = fixture();
    let (b, t) = (f["B"].as_i64().unwrap(), f["T"].as_i64().unwrap());
    let mask = tensor(&f["mask"], b, t);
    for case in f["cases"].as_array().unwrap() {
        let cfg = objective(&f, case);
        let kind = cfg.loss_type;
        if kind == LossType::Bnpo {
            continue; // bnpo is per micro-batch by definition
        }
        let old = tensor(&case["old_logp"], b, t);
        let reference = tensor(&case["ref_logp"], b, t);
        let adv = Tensor::from_slice(&floats(&case["advantages"])).to_device(device());
        let norm = Normaliser {
            sequences: b as usize,
            tokens: mask.sum(Kind::Float).double_value(&[]),
            micro_batches: 2,
            max_len: 9,
        };
        let logp = tensor(&f["logp"], b, t).set_requires_grad(true);
        let mut total = 0.0;
        for (start, len) in [(0i64, 2i64), (2, 3)] {
            let (loss, _) = micro_batch_loss(
                &cfg,
                &norm,
                &logp.narrow(0, start, len),
                &old.narrow(0, start, len),
                Some(&reference.narrow(0, start, len)),
                &adv.narrow(0, start, len),
                &mask.narrow(0, start, len),
            );
            loss.backward();
            total += loss.double_value(&[]);
        }
        let want = case["loss"].as_f64().unwrap();
        assert!((total - want).abs() < 1e-5, "{kind:?}: {total} vs {want}");
        let grad = Vec::<f32>::try_from(logp.grad().flatten(0, -1).to_device(Device::Cpu)).unwrap();
        for (g, w) in grad.iter().zip(floats(&case["grad"])) {
            assert!((g - w).abs() < 1e-5, "{kind:?}: grad {g} vs {w}");
        }
    }
}

#[test]
fn advantages_match_pytorch() {
    let f = fixture();
    let rewards: Vec<f64> = floats(&f["advantage_rewards"])
        .into_iter()
        .map(f64::from)
        .collect();
    let g = f["advantage_group"].as_u64().unwrap() as usize;
    let eps = f["advantage_eps"].as_f64().unwrap();
    for (name, scale) in [
        ("group", AdvantageScale::Group),
        ("batch", AdvantageScale::Batch),
        ("none", AdvantageScale::None),
    ] {
        let got = advantages(&rewards, g, scale, eps);
        for (x, w) in got.iter().zip(floats(&f["advantages"][name])) {
            assert!((*x as f32 - w).abs() < 1e-5, "{name}: {x} vs {w}");
        }
    }
}
