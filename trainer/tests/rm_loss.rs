//! The reward model's Bradley–Terry loss and its gradient against PyTorch:
//! fixture made by scripts/make_rm_fixture.py as TRL's RewardTrainer computes the loss.

use serde_json::Value;
use tch::{Kind, Tensor};
use verigym_trainer::rm::loss::{bradley_terry, pair_stats};

fn floats(v: &Value) -> Vec<f32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect()
}

fn max_diff(a: &Tensor, b: &[f32]) -> f64 {
    (a - Tensor::from_slice(b)).abs().max().double_value(&[])
}

#[test]
fn loss_and_gradient_match_pytorch() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/rm/bt.json");
    let fixture: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let cases = fixture["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 4);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let chosen = Tensor::from_slice(&floats(&case["chosen"])).set_requires_grad(true);
        let rejected = Tensor::from_slice(&floats(&case["rejected"])).set_requires_grad(true);
        let margin =
            (!case["margin"].is_null()).then(|| Tensor::from_slice(&floats(&case["margin"])));
        let center = case["center"].as_f64().unwrap();
        let loss = bradley_terry(&chosen, &rejected, margin.as_ref(), center);
        let want = case["loss"].as_f64().unwrap();
        let got = loss.double_value(&[]);
        assert!((got - want).abs() < 1e-5, "{name}: loss {got} vs {want}");
        loss.backward();
        let gc = max_diff(&chosen.grad(), &floats(&case["grad_chosen"]));
        let gr = max_diff(&rejected.grad(), &floats(&case["grad_rejected"]));
        assert!(
            gc < 1e-5 && gr < 1e-5,
            "{name}: gradients differ by {gc}, {gr}"
        );
        let st = pair_stats(&chosen, &rejected);
        assert!(
            (st.accuracy - case["accuracy"].as_f64().unwrap()).abs() < 1e-6,
            "{name}"
        );
        let gap = (&chosen - &rejected).mean(Kind::Float).double_value(&[]);
        assert!((st.margin - gap).abs() < 1e-5, "{name}");
    }
}

/// A reward model saved and loaded gives the same scores; a causal-LM folder is refused
/// by name; batched left-padded scoring equals one text at a time.
#[test]
fn reward_model_round_trips_and_scores_padded_batches_alike() {
    use verigym_trainer::policy::{checkpoint, Config, Model, Tokenizer};
    use verigym_trainer::rm::model::RewardModel;
    let tok = Tokenizer::builtin();
    let cfg = Config::llama(tok.vocab_size(), 32, 64, 2, 4, 2);
    let backbone = Model::new_seeded(&cfg, tch::Device::Cpu, Kind::Float, 9).unwrap();
    let dir = std::env::temp_dir().join(format!("verigym-rm-{}", std::process::id()));
    checkpoint::save(&backbone, &tok, &dir.join("lm")).unwrap();
    let rm = RewardModel::new(backbone);
    tch::no_grad(|| {
        let w = Tensor::from_slice(&(0..32).map(|i| (i as f32 - 16.0) / 8.0).collect::<Vec<_>>());
        rm.score.shallow_clone().copy_(&w.view([1, 32]));
    });
    let texts: Vec<String> = ["a", "a longer text to score", "2+2=4"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let batched = rm.score_texts(&tok, &texts, 8).unwrap();
    for (t, b) in texts.iter().zip(&batched) {
        let one = rm.score_texts(&tok, std::slice::from_ref(t), 1).unwrap()[0];
        assert!((one - b).abs() < 1e-5, "{t}: {one} vs {b}");
    }
    rm.save(&tok, &dir.join("rm")).unwrap();
    let (back, _) = RewardModel::load(&dir.join("rm"), tch::Device::Cpu, Kind::Float).unwrap();
    let again = back.score_texts(&tok, &texts, 8).unwrap();
    assert_eq!(batched, again);
    let e = RewardModel::load(&dir.join("lm"), tch::Device::Cpu, Kind::Float)
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("not a reward model"), "{e}");
    let _ = std::fs::remove_dir_all(dir);
}
