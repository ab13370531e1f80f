//! The reward model's Bradley–Terry loss and its gradient against PyTorch (issue 20):
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
