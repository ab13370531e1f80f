//! The GRPO objective on per-token log-probabilities: PPO-style clipped ratio with separate
//! `eps_low` / `eps_high` (DAPO clip-higher), k3 KL to a frozen reference (Schulman 2020,
//! as in DeepSeekMath), and the loss aggregations of TRL's `GRPOTrainer._compute_loss`:
//! grpo, dr_grpo, dapo and bnpo. Two newer objectives by the names TRL gives them: GSPO's
//! sequence-level ratio (Zheng et al. 2025: the geometric mean of a sequence's token ratios,
//! clipped per sequence; `importance_sampling_level = "sequence"`) and CISPO (MiniMax-M1,
//! 2025: the importance weight capped at `eps_high` and detached, times the log-prob, so no
//! token's gradient is clipped away; `loss_type = "cispo"`, aggregated as dapo).
//!
//! With gradient accumulation each micro-batch's loss is scaled by a [`Normaliser`] computed
//! over the whole batch, so that summing the micro-batch gradients gives the full-batch
//! gradient (grpo, dr_grpo, dapo); bnpo normalises by each micro-batch's own token count and
//! averages over micro-batches, as TRL does.

use serde::{Deserialize, Serialize};
use tch::{Kind, Tensor};

/// How per-token losses are reduced to one number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LossType {
    /// Mean over each sequence's tokens, then mean over sequences.
    #[default]
    Grpo,
    /// Sum over all tokens / (sequences * max completion length).
    DrGrpo,
    /// Sum over all tokens of the batch / number of tokens in the batch.
    Dapo,
    /// Sum over tokens / tokens in the micro-batch, averaged over micro-batches.
    Bnpo,
    /// CISPO: -min(ratio, eps_high).detach() * A * logp per token, summed over all tokens
    /// of the batch / number of tokens (as dapo).
    Cispo,
}

/// How the gap between the sampler's log-probs and the learner's is corrected (TRL's
/// `vllm_importance_sampling_correction` modes): off, or each token's loss weighted by
/// w = exp(learner - sampler) of its token (`token_*`) or of its whole sequence
/// (`sequence_*`: the product of the token ratios), truncated at the cap (`*_truncate`,
/// truncated importance sampling) or zeroed above it (`*_mask`). With a correction the PPO
/// ratio is taken against the learner's own log-probs before the update, not the sampler's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IsCorrection {
    #[default]
    None,
    TokenTruncate,
    TokenMask,
    SequenceTruncate,
    SequenceMask,
}

/// The detached per-token weights of `correction` (`[B, T]`, or `[B, 1]` per sequence):
/// `learner` are the learner's log-probs before the update, `sampler` the sampler's.
pub fn is_weights(
    correction: IsCorrection,
    cap: f64,
    learner: &Tensor,
    sampler: &Tensor,
    mask: &Tensor,
) -> Option<Tensor> {
    let d = (learner - sampler).detach() * mask;
    let log_w = match correction {
        IsCorrection::None => return None,
        IsCorrection::TokenTruncate | IsCorrection::TokenMask => d,
        IsCorrection::SequenceTruncate | IsCorrection::SequenceMask => {
            d.sum_dim_intlist(-1, true, Kind::Float)
        }
    };
    // exp of a log-weight far past the cap would overflow; both modes only compare with it.
    let w = log_w.clamp_max(cap.ln() + 1.0).exp();
    Some(match correction {
        IsCorrection::TokenTruncate | IsCorrection::SequenceTruncate => w.clamp_max(cap),
        _ => {
            let over = w.gt(cap);
            w.masked_fill(&over, 0.0)
        }
    })
}

/// Whether the importance ratio is per token (PPO, GRPO) or per sequence (GSPO).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportanceSamplingLevel {
    #[default]
    Token,
    /// exp(mean over the sequence's tokens of logp - old_logp), one ratio per sequence.
    Sequence,
}

/// The objective's knobs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ObjectiveConfig {
    pub loss_type: LossType,
    pub eps_low: f64,
    pub eps_high: f64,
    /// Weight of the k3 KL to the reference; 0 keeps no reference model.
    pub beta: f64,
    pub importance_sampling_level: ImportanceSamplingLevel,
    pub is_correction: IsCorrection,
    /// The cap C of the correction's weights.
    pub is_correction_cap: f64,
}

/// Whole-batch counts that scale each micro-batch's loss.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Normaliser {
    /// Sequences in the whole batch.
    pub sequences: usize,
    /// Unmasked completion tokens in the whole batch.
    pub tokens: f64,
    /// Number of micro-batches the batch is split into.
    pub micro_batches: usize,
    /// The max completion length (dr_grpo's constant).
    pub max_len: usize,
}

/// Per-micro-batch statistics, as sums so they can be added across micro-batches.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct LossStats {
    pub tokens: f64,
    pub kl_sum: f64,
    pub clip_low_sum: f64,
    pub clip_high_sum: f64,
    pub clip_region_sum: f64,
    /// Sampler-learner mismatch over counted tokens: sum and max of
    /// |logp_learner - logp_sampler| and the sum of the k3 estimate of KL(sampler || learner).
    pub mismatch_abs_sum: f64,
    pub mismatch_abs_max: f64,
    pub mismatch_kl_sum: f64,
}

impl LossStats {
    pub fn add(&mut self, o: &LossStats) {
        self.tokens += o.tokens;
        self.kl_sum += o.kl_sum;
        self.clip_low_sum += o.clip_low_sum;
        self.clip_high_sum += o.clip_high_sum;
        self.clip_region_sum += o.clip_region_sum;
        self.mismatch_abs_sum += o.mismatch_abs_sum;
        self.mismatch_abs_max = self.mismatch_abs_max.max(o.mismatch_abs_max);
        self.mismatch_kl_sum += o.mismatch_kl_sum;
    }
    pub fn mismatch_abs_mean(&self) -> f64 {
        self.mean(self.mismatch_abs_sum)
    }
    pub fn mismatch_kl(&self) -> f64 {
        self.mean(self.mismatch_kl_sum)
    }
    fn mean(&self, x: f64) -> f64 {
        if self.tokens > 0.0 {
            x / self.tokens
        } else {
            0.0
        }
    }
    pub fn kl(&self) -> f64 {
        self.mean(self.kl_sum)
    }
    pub fn clip_low(&self) -> f64 {
        self.mean(self.clip_low_sum)
    }
    pub fn clip_high(&self) -> f64 {
        self.mean(self.clip_high_sum)
    }
    pub fn clip_region(&self) -> f64 {
        self.mean(self.clip_region_sum)
    }
}

/// The k3 estimator of KL(pi || ref) per token: exp(ref - logp) - (ref - logp) - 1.
pub fn k3_kl(logp: &Tensor, ref_logp: &Tensor) -> Tensor {
    let d = ref_logp - logp;
    d.exp() - &d - 1.0
}

/// The sampler-learner mismatch of one micro-batch (no gradient), as [`LossStats`] sums.
pub fn mismatch_stats(learner: &Tensor, sampler: &Tensor, mask: &Tensor) -> LossStats {
    tch::no_grad(|| {
        let r = (learner - sampler).detach() * mask;
        let abs = r.abs();
        let k3 = (r.exp() - &r - 1.0) * mask;
        LossStats {
            mismatch_abs_sum: abs.sum(Kind::Float).double_value(&[]),
            mismatch_abs_max: abs.max().double_value(&[]),
            mismatch_kl_sum: k3.sum(Kind::Float).double_value(&[]),
            ..LossStats::default()
        }
    })
}

/// The micro-batch loss (a scalar with the graph of `logp`) and its statistics.
///
/// Shapes: `logp`, `old_logp`, `ref_logp` and `mask` are `[B, T]` (mask is 1 on completion
/// tokens that count, 0 on padding, env-inserted and masked-truncated tokens);
/// `advantages` is `[B]`. `old_logp` and `ref_logp` carry no gradient.
pub fn micro_batch_loss(
    cfg: &ObjectiveConfig,
    norm: &Normaliser,
    logp: &Tensor,
    old_logp: &Tensor,
    ref_logp: Option<&Tensor>,
    advantages: &Tensor,
    mask: &Tensor,
) -> (Tensor, LossStats) {
    weighted_micro_batch_loss(cfg, norm, logp, old_logp, ref_logp, advantages, mask, None)
}

/// [`micro_batch_loss`] with each token's policy loss multiplied by `weights` (`[B, T]` or
/// `[B, 1]`, no gradient): the sampler-learner correction of [`is_weights`].
#[allow(clippy::too_many_arguments)]
pub fn weighted_micro_batch_loss(
    cfg: &ObjectiveConfig,
    norm: &Normaliser,
    logp: &Tensor,
    old_logp: &Tensor,
    ref_logp: Option<&Tensor>,
    advantages: &Tensor,
    mask: &Tensor,
    weights: Option<&Tensor>,
) -> (Tensor, LossStats) {
    let adv = advantages.unsqueeze(1);
    let log_ratio = logp - old_logp;
    // [B, T] per token, or [B, 1] per sequence (broadcast over the tokens below).
    let log_weight = match cfg.importance_sampling_level {
        ImportanceSamplingLevel::Token => log_ratio,
        ImportanceSamplingLevel::Sequence => {
            (log_ratio * mask).sum_dim_intlist(-1, true, Kind::Float)
                / mask.sum_dim_intlist(-1, true, Kind::Float).clamp_min(1.0)
        }
    };
    let ratio = log_weight.exp();
    let per_token = match cfg.loss_type {
        LossType::Cispo => -(ratio.clamp_max(cfg.eps_high).detach() * &adv * logp),
        _ => {
            let clipped = ratio.clamp(1.0 - cfg.eps_low, 1.0 + cfg.eps_high);
            -(&ratio * &adv).min_other(&(&clipped * &adv))
        }
    };
    let per_token = match weights {
        Some(w) => per_token * w,
        None => per_token,
    };
    // A per-sequence loss is [B, 1]: spread it over the tokens before adding the KL in place.
    let mut per_token = per_token.expand_as(logp).contiguous();
    let kl = match ref_logp {
        Some(r) if cfg.beta != 0.0 => {
            let kl = k3_kl(logp, r);
            per_token += &kl * cfg.beta;
            Some(kl)
        }
        _ => None,
    };
    let masked = &per_token * mask;
    let loss = match cfg.loss_type {
        LossType::Grpo => {
            let per_seq = masked.sum_dim_intlist(-1, false, Kind::Float)
                / mask.sum_dim_intlist(-1, false, Kind::Float).clamp_min(1.0);
            per_seq.sum(Kind::Float) / norm.sequences.max(1) as f64
        }
        LossType::DrGrpo => {
            masked.sum(Kind::Float) / (norm.sequences.max(1) * norm.max_len.max(1)) as f64
        }
        LossType::Dapo | LossType::Cispo => masked.sum(Kind::Float) / norm.tokens.max(1.0),
        LossType::Bnpo => {
            masked.sum(Kind::Float)
                / mask.sum(Kind::Float).clamp_min(1.0)
                / norm.micro_batches.max(1) as f64
        }
    };
    let stats = tch::no_grad(|| {
        let tokens = mask.sum(Kind::Float).double_value(&[]);
        // CISPO caps the weight itself (at eps_high, whatever the advantage's sign).
        let (low, high) = match cfg.loss_type {
            LossType::Cispo => (
                ratio.zeros_like().to_kind(Kind::Bool),
                ratio.gt(cfg.eps_high),
            ),
            _ => (
                ratio.lt(1.0 - cfg.eps_low).logical_and(&adv.lt(0.0)),
                ratio.gt(1.0 + cfg.eps_high).logical_and(&adv.gt(0.0)),
            ),
        };
        let region = low.logical_or(&high);
        let msum = |t: &Tensor| {
            (t.to_kind(Kind::Float) * mask)
                .sum(Kind::Float)
                .double_value(&[])
        };
        LossStats {
            tokens,
            kl_sum: kl.as_ref().map(msum).unwrap_or(0.0),
            clip_low_sum: msum(&low),
            clip_high_sum: msum(&high),
            clip_region_sum: msum(&region),
            ..LossStats::default()
        }
    });
    (loss, stats)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(loss_type: LossType, beta: f64) -> ObjectiveConfig {
        ObjectiveConfig {
            loss_type,
            eps_low: 0.2,
            eps_high: 0.28,
            beta,
            importance_sampling_level: ImportanceSamplingLevel::Token,
            is_correction: IsCorrection::None,
            is_correction_cap: 2.0,
        }
    }

    #[test]
    fn on_policy_loss_is_minus_mean_advantage_and_kl_zero() {
        let logp = Tensor::from_slice(&[-1.0f32, -2.0, -0.5, -0.1]).view([2, 2]);
        let mask = Tensor::from_slice(&[1.0f32, 1.0, 1.0, 0.0]).view([2, 2]);
        let adv = Tensor::from_slice(&[1.0f32, -1.0]);
        let norm = Normaliser {
            sequences: 2,
            tokens: 3.0,
            micro_batches: 1,
            max_len: 2,
        };
        let (loss, st) = micro_batch_loss(
            &cfg(LossType::Grpo, 0.1),
            &norm,
            &logp,
            &logp,
            Some(&logp),
            &adv,
            &mask,
        );
        assert!(loss.double_value(&[]).abs() < 1e-7);
        assert_eq!(st.tokens, 3.0);
        assert!(st.kl().abs() < 1e-7);
        assert_eq!(st.clip_region(), 0.0);
        let (loss, _) = micro_batch_loss(
            &cfg(LossType::Dapo, 0.0),
            &norm,
            &logp,
            &logp,
            None,
            &adv,
            &mask,
        );
        assert!((loss.double_value(&[]) - (-(1.0 + 1.0 - 1.0) / 3.0)).abs() < 1e-6);
    }

    #[test]
    fn correction_weights_truncate_or_mask_per_token_or_sequence() {
        // Row 0: learner - sampler = ln 3, ln 0.5, and a padding token; row 1: ln 1.5.
        let sampler = Tensor::from_slice(&[-1.0f32, -1.0, -1.0, -2.0, -2.0, -2.0]).view([2, 3]);
        let d = [3f32.ln(), 0.5f32.ln(), 5.0, 1.5f32.ln(), 0.0, 0.0];
        let learner = &sampler + Tensor::from_slice(&d).view([2, 3]);
        let mask = Tensor::from_slice(&[1.0f32, 1.0, 0.0, 1.0, 0.0, 0.0]).view([2, 3]);
        let w = |c| {
            let t = is_weights(c, 2.0, &learner, &sampler, &mask).unwrap();
            Vec::<f32>::try_from(t.flatten(0, -1)).unwrap()
        };
        let close = |got: Vec<f32>, want: &[f32]| {
            assert_eq!(got.len(), want.len());
            for (g, w) in got.iter().zip(want) {
                assert!((g - w).abs() < 1e-5, "{got:?} vs {want:?}");
            }
        };
        // Padding tokens get weight exp(0) = 1 (their loss is masked anyway).
        close(
            w(IsCorrection::TokenTruncate),
            &[2.0, 0.5, 1.0, 1.5, 1.0, 1.0],
        );
        close(w(IsCorrection::TokenMask), &[0.0, 0.5, 1.0, 1.5, 1.0, 1.0]);
        // Sequences: 3 x 0.5 = 1.5 and 1.5, both under the cap; a cap of 1.2 cuts both.
        close(w(IsCorrection::SequenceTruncate), &[1.5, 1.5]);
        let cut = is_weights(IsCorrection::SequenceMask, 1.2, &learner, &sampler, &mask).unwrap();
        close(
            Vec::<f32>::try_from(cut.flatten(0, -1)).unwrap(),
            &[0.0, 0.0],
        );
        assert!(is_weights(IsCorrection::None, 2.0, &learner, &sampler, &mask).is_none());
        let m = mismatch_stats(&learner, &sampler, &mask);
        let want = 3f64.ln() + 2f64.ln() + 1.5f64.ln();
        assert!((m.mismatch_abs_sum - want).abs() < 1e-5);
        assert!((m.mismatch_abs_max - 3f64.ln()).abs() < 1e-5);
        let k3 = |r: f64| r.exp() - r - 1.0;
        let kl = k3(3f64.ln()) + k3(0.5f64.ln()) + k3(1.5f64.ln());
        assert!((m.mismatch_kl_sum - kl).abs() < 1e-5);
    }

    #[test]
    fn clipping_is_counted_by_side() {
        let old = Tensor::from_slice(&[0.0f32, 0.0])
            .view([2, 1])
            .log_softmax(0, Kind::Float);
        let new = &old + Tensor::from_slice(&[0.5f32, -0.5]).view([2, 1]);
        let mask = Tensor::ones([2, 1], (Kind::Float, tch::Device::Cpu));
        let adv = Tensor::from_slice(&[1.0f32, -1.0]);
        let norm = Normaliser {
            sequences: 2,
            tokens: 2.0,
            micro_batches: 1,
            max_len: 1,
        };
        let (_, st) = micro_batch_loss(
            &cfg(LossType::Grpo, 0.0),
            &norm,
            &new,
            &old,
            None,
            &adv,
            &mask,
        );
        assert_eq!(st.clip_high(), 0.5);
        assert_eq!(st.clip_low(), 0.5);
        assert_eq!(st.clip_region(), 1.0);
    }
}
