//! The Bradley–Terry objective of a reward model, as TRL's `RewardTrainer` computes it.
//!
//! For a pair with scores `r_c` (chosen) and `r_r` (rejected), the model of people's choice
//! is `P(chosen preferred) = sigmoid(r_c - r_r)`, and the loss is its negative log-likelihood
//! averaged over the batch:
//!
//! ```text
//! loss = mean(-log sigmoid(r_c - r_r - m)) + c · mean((r_c + r_r)²)
//! ```
//!
//! `m` is a per-pair margin (a rating difference, as Llama 2's reward models use: a pair
//! rated far apart must be separated further), 0 without one. `c` is the optional
//! centring coefficient (TRL's `center_rewards_coefficient`), which keeps scores near zero
//! since the loss only sees differences.

use tch::{Kind, Tensor};

/// What a batch of pairs reports besides its loss.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PairStats {
    /// Pairs where the chosen completion scores strictly higher.
    pub accuracy: f64,
    /// Mean of `r_c - r_r`.
    pub margin: f64,
}

/// The Bradley–Terry loss of scores `chosen` and `rejected` ([N] each), with per-pair
/// `margin` ([N]) and centring coefficient `center` (0: off). Differentiable in both.
pub fn bradley_terry(
    chosen: &Tensor,
    rejected: &Tensor,
    margin: Option<&Tensor>,
    center: f64,
) -> Tensor {
    let diff = (chosen - rejected).to_kind(Kind::Float);
    let diff = match margin {
        Some(m) => diff - m.to_kind(Kind::Float),
        None => diff,
    };
    // -log sigmoid(x) = softplus(-x), stable for large |x|.
    let loss = (-diff).softplus().mean(Kind::Float);
    if center == 0.0 {
        return loss;
    }
    let sum = (chosen + rejected).to_kind(Kind::Float);
    loss + (&sum * &sum).mean(Kind::Float) * center
}

/// Pairwise accuracy and mean score gap of a batch (no gradient).
pub fn pair_stats(chosen: &Tensor, rejected: &Tensor) -> PairStats {
    tch::no_grad(|| {
        let diff = (chosen - rejected).to_kind(Kind::Double);
        if diff.numel() == 0 {
            return PairStats::default();
        }
        PairStats {
            accuracy: diff
                .gt(0.0)
                .to_kind(Kind::Double)
                .mean(Kind::Double)
                .double_value(&[]),
            margin: diff.mean(Kind::Double).double_value(&[]),
        }
    })
}
