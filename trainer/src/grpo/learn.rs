//! The learner's step: pack scored rollouts into padded tensors (prompts left-padded,
//! completions right-padded, so every completion starts at the same column), compute the
//! reference log-probs once, then `mu` passes of micro-batched forward/backward with
//! gradient accumulation, global-norm clipping and one AdamW step per pass (TRL's
//! `num_iterations` with `steps_per_generation = 1`).

use super::loss::{micro_batch_loss, LossStats, Normaliser, ObjectiveConfig};
use super::optim::AdamW;
use super::pipeline::Rollout;
use crate::model::{Model, ModelError};
use tch::{Device, Kind, Tensor};

/// A step's batch on the model's device.
pub struct Batch {
    /// [B, P + C] token ids (pad where `attn` is 0).
    pub ids: Tensor,
    pub attn: Tensor,
    /// [B, C] 1 where a completion token counts in the loss.
    pub mask: Tensor,
    /// [B, C] sampling-time log-probs.
    pub old: Tensor,
    /// [B] advantages.
    pub adv: Tensor,
    pub prompt_len: i64,
    pub completion_len: i64,
    pub rows: i64,
}

/// Packs rollouts (with their advantages). `mask_truncated` zeroes the loss weight of
/// completions that hit the token budget.
pub fn build_batch(
    rollouts: &[&Rollout],
    advantages: &[f64],
    mask_truncated: bool,
    pad: i64,
    device: Device,
) -> Batch {
    let p = rollouts
        .iter()
        .map(|r| r.prompt_ids.len())
        .max()
        .unwrap_or(1)
        .max(1);
    let c = rollouts
        .iter()
        .map(|r| r.completion_ids.len())
        .max()
        .unwrap_or(1)
        .max(1);
    let b = rollouts.len();
    let mut ids = vec![pad; b * (p + c)];
    let mut attn = vec![0i64; b * (p + c)];
    let mut mask = vec![0f32; b * c];
    let mut old = vec![0f32; b * c];
    for (row, r) in rollouts.iter().enumerate() {
        let base = row * (p + c);
        let off = p - r.prompt_ids.len();
        for (j, &t) in r.prompt_ids.iter().enumerate() {
            ids[base + off + j] = t;
            attn[base + off + j] = 1;
        }
        let keep = !(mask_truncated && r.truncated);
        for (j, &t) in r.completion_ids.iter().enumerate() {
            ids[base + p + j] = t;
            attn[base + p + j] = 1;
            let counts = keep && r.loss_mask.get(j).copied().unwrap_or(false);
            mask[row * c + j] = if counts { 1.0 } else { 0.0 };
            old[row * c + j] = r.logprobs.get(j).copied().unwrap_or(0.0);
        }
    }
    let adv: Vec<f32> = advantages.iter().map(|&a| a as f32).collect();
    let (b, p, c) = (b as i64, p as i64, c as i64);
    Batch {
        ids: Tensor::from_slice(&ids).view([b, p + c]).to_device(device),
        attn: Tensor::from_slice(&attn).view([b, p + c]).to_device(device),
        mask: Tensor::from_slice(&mask).view([b, c]).to_device(device),
        old: Tensor::from_slice(&old).view([b, c]).to_device(device),
        adv: Tensor::from_slice(&adv).to_device(device),
        prompt_len: p,
        completion_len: c,
        rows: b,
    }
}

impl Batch {
    /// Rows `start..start + len` as a batch view.
    pub fn rows(&self, start: i64, len: i64) -> Batch {
        Batch {
            ids: self.ids.narrow(0, start, len),
            attn: self.attn.narrow(0, start, len),
            mask: self.mask.narrow(0, start, len),
            old: self.old.narrow(0, start, len),
            adv: self.adv.narrow(0, start, len),
            prompt_len: self.prompt_len,
            completion_len: self.completion_len,
            rows: len,
        }
    }
}

/// Log-probs [B, C] of the completion tokens (with gradients when enabled) and, when
/// `entropy` is set, the masked sum of per-token entropies (no gradient).
pub fn completion_logprobs(
    model: &Model,
    batch: &Batch,
    temperature: f64,
    entropy: bool,
) -> Result<(Tensor, f64), ModelError> {
    let t = batch.prompt_len + batch.completion_len;
    let logits = model.forward(
        &batch.ids.narrow(1, 0, t - 1),
        Some(&batch.attn.narrow(1, 0, t - 1)),
    )?;
    let logits = logits
        .narrow(1, batch.prompt_len - 1, batch.completion_len)
        .to_kind(Kind::Float);
    let logits = if temperature == 1.0 {
        logits
    } else {
        logits / temperature
    };
    let logp_all = logits.log_softmax(-1, Kind::Float);
    let targets = batch
        .ids
        .narrow(1, batch.prompt_len, batch.completion_len)
        .unsqueeze(-1);
    let logp = logp_all.gather(-1, &targets, false).squeeze_dim(-1);
    let ent = if entropy {
        tch::no_grad(|| {
            let l = logp_all.detach();
            let h = -(l.exp() * &l).sum_dim_intlist(-1, false, Kind::Float);
            (h * &batch.mask).sum(Kind::Float).double_value(&[])
        })
    } else {
        0.0
    };
    Ok((logp, ent))
}

/// What one learner step reports.
#[derive(Debug, Clone, Default)]
pub struct LearnReport {
    /// Loss of the last pass.
    pub loss: f64,
    /// Gradient norm before clipping (last pass).
    pub grad_norm: f64,
    /// KL and clip statistics of the first pass.
    pub stats: LossStats,
    /// Mean per-token entropy of the policy over counted tokens (first pass).
    pub entropy: f64,
}

/// Knobs of the learner step.
pub struct LearnSettings {
    pub objective: ObjectiveConfig,
    pub mu: usize,
    pub micro_batch_size: usize,
    pub temperature: f64,
    pub max_grad_norm: f64,
    pub max_len: usize,
}

/// Reference log-probs for the whole batch (no gradient), micro-batch by micro-batch.
pub fn reference_logprobs(
    reference: &Model,
    batch: &Batch,
    micro: usize,
    temperature: f64,
) -> Result<Tensor, ModelError> {
    tch::no_grad(|| {
        let mut parts = Vec::new();
        let mut start = 0;
        while start < batch.rows {
            let len = (micro as i64).min(batch.rows - start);
            let (lp, _) =
                completion_logprobs(reference, &batch.rows(start, len), temperature, false)?;
            parts.push(lp);
            start += len;
        }
        Ok(Tensor::cat(&parts, 0))
    })
}

/// `mu` optimisation passes over the batch at learning rate `lr`.
pub fn learn(
    model: &Model,
    ref_logp: Option<&Tensor>,
    opt: &mut AdamW,
    batch: &Batch,
    s: &LearnSettings,
    lr: f64,
) -> Result<LearnReport, ModelError> {
    let micro = s.micro_batch_size.max(1) as i64;
    let n_micro = ((batch.rows + micro - 1) / micro).max(1) as usize;
    let norm = Normaliser {
        sequences: batch.rows as usize,
        tokens: batch.mask.sum(Kind::Float).double_value(&[]),
        micro_batches: n_micro,
        max_len: s.max_len,
    };
    let mut report = LearnReport::default();
    for pass in 0..s.mu.max(1) {
        opt.zero_grad();
        let mut stats = LossStats::default();
        let mut loss_sum = 0.0;
        let mut ent_sum = 0.0;
        let mut start = 0;
        while start < batch.rows {
            let len = micro.min(batch.rows - start);
            let mb = batch.rows(start, len);
            let (logp, ent) = completion_logprobs(model, &mb, s.temperature, pass == 0)?;
            let r = ref_logp.map(|r| r.narrow(0, start, len));
            let (loss, st) = micro_batch_loss(
                &s.objective,
                &norm,
                &logp,
                &mb.old,
                r.as_ref(),
                &mb.adv,
                &mb.mask,
            );
            loss.backward();
            loss_sum += loss.double_value(&[]);
            ent_sum += ent;
            stats.add(&st);
            start += len;
        }
        let grad_norm = opt.clip_grad_norm(s.max_grad_norm);
        if grad_norm.is_finite() {
            opt.step(lr);
        }
        report.loss = loss_sum;
        report.grad_norm = grad_norm;
        if pass == 0 {
            report.stats = stats;
            report.entropy = if stats.tokens > 0.0 {
                ent_sum / stats.tokens
            } else {
                0.0
            };
        }
    }
    opt.zero_grad();
    Ok(report)
}
