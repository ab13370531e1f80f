//! The learner's step: pack scored rollouts into padded tensors (prompts left-padded,
//! completions right-padded, so every completion starts at the same column), compute the
//! reference log-probs once, then `mu` passes of micro-batched forward/backward with
//! gradient accumulation, global-norm clipping and one AdamW step per pass (TRL's
//! `num_iterations` with `steps_per_generation = 1`).
//!
//! The G completions of a group share their prompt, so a pass runs each distinct prompt once
//! into a KV cache, repeats the cache rows per completion, and runs the completions against
//! it: the same attention and the same gradients (autograd sums the repeated rows back into
//! the prompt's keys and values), with the prompt's share of the work divided by G.

use super::loss::{
    is_weights, mismatch_stats, weighted_micro_batch_loss, IsCorrection, LossStats, LossType,
    Normaliser, ObjectiveConfig,
};
use crate::optim::AdamW;
use crate::policy::engine::DecodeEngine;
use crate::policy::model::{AttnMask, KvCache, Model, ModelError};
use crate::rollout::pipeline::Rollout;
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
    /// The distinct prompts, when rows with the same prompt are adjacent and there are
    /// fewer prompts than rows.
    pub shared: Option<SharedPrompts>,
}

impl Batch {
    /// Sets the rows' advantages (a batch built before the rewards were known).
    pub fn set_advantages(&mut self, adv: &[f64]) {
        let a: Vec<f32> = adv.iter().map(|&x| x as f32).collect();
        self.adv = Tensor::from_slice(&a).to_device(self.ids.device());
    }
}

/// Distinct prompts of a batch and which one each row continues.
pub struct SharedPrompts {
    /// [N, P] left-padded ids and their mask (all the batch's prompts, whatever rows a
    /// micro-batch holds).
    pub ids: Tensor,
    pub attn: Tensor,
    /// [B] index into `ids` of each row's prompt (non-decreasing).
    pub group: Tensor,
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
    // Adjacent rows with the same prompt form a group.
    let mut group = Vec::with_capacity(b);
    let mut firsts: Vec<usize> = Vec::new();
    for (row, r) in rollouts.iter().enumerate() {
        let same = row > 0
            && rollouts
                .get(row - 1)
                .is_some_and(|prev| prev.prompt_ids == r.prompt_ids);
        if !same {
            firsts.push(row);
        }
        group.push(firsts.len() as i64 - 1);
    }
    let shared = (firsts.len() < b).then(|| {
        let pick = |v: &[i64]| -> Vec<i64> {
            firsts
                .iter()
                .flat_map(|&row| {
                    let base = row * (p + c);
                    v.get(base..base + p).unwrap_or(&[]).iter().copied()
                })
                .collect()
        };
        let n = firsts.len() as i64;
        SharedPrompts {
            ids: Tensor::from_slice(&pick(&ids))
                .view([n, p as i64])
                .to_device(device),
            attn: Tensor::from_slice(&pick(&attn))
                .view([n, p as i64])
                .to_device(device),
            group: Tensor::from_slice(&group).to_device(device),
        }
    });
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
        shared,
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
            shared: self.shared.as_ref().map(|s| SharedPrompts {
                ids: s.ids.shallow_clone(),
                attn: s.attn.shallow_clone(),
                group: s.group.narrow(0, start, len),
            }),
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
    let hidden = match &batch.shared {
        Some(s) => shared_prompt_hidden(model, batch, s)?,
        None => {
            let t = batch.prompt_len + batch.completion_len;
            model
                .hidden_states(
                    &batch.ids.narrow(1, 0, t - 1),
                    Some(&batch.attn.narrow(1, 0, t - 1)),
                )?
                .narrow(1, batch.prompt_len - 1, batch.completion_len)
        }
    };
    let logits = model.logits(&hidden).to_kind(Kind::Float);
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

/// Final hidden states [B, C, H] of the positions that predict the completion tokens (the
/// prompt's last one, then the completion's own but its last), each distinct prompt run
/// once: the prompts [N, P] go through into a KV cache, its rows are repeated per
/// completion (`index_select`, so gradients from every completion sum into the prompt), and
/// the completions attend the cache with their positions continuing their prompt's.
fn shared_prompt_hidden(
    model: &Model,
    batch: &Batch,
    s: &SharedPrompts,
) -> Result<Tensor, ModelError> {
    let (b, p, c) = (batch.rows, batch.prompt_len, batch.completion_len);
    let device = batch.ids.device();
    let first = s.group.int64_value(&[0]);
    let n = s.group.int64_value(&[b - 1]) + 1 - first;
    let local = &s.group - first;
    let (pids, pattn) = (s.ids.narrow(0, first, n), s.attn.narrow(0, first, n));
    let (positions, mask) = crate::policy::model::padded_causal_mask(&pattn, model.kind());
    let mut cache = KvCache::new(model, n, p + c);
    let prompt_hidden = model.forward_hidden(&pids, &positions, &mask, Some(&mut cache));
    let last = prompt_hidden
        .select(1, p - 1)
        .index_select(0, &local)
        .unsqueeze(1);
    if c == 1 {
        return Ok(last);
    }
    cache.select_rows(&local);
    // Completion tokens 0..C-1 at positions prompt length + j; key slots 0..P are the
    // prompt's (its padding masked out), P.. the completion's own (causal, padding masked).
    let t = c - 1;
    let ids = batch.ids.narrow(1, p, t);
    let prompt_valid = pattn.index_select(0, &local).ne(0);
    let lens = prompt_valid.sum_dim_intlist(1, true, Kind::Int64);
    let positions = lens + Tensor::arange(t, (Kind::Int64, device)).view([1, t]);
    let own_valid = batch.attn.narrow(1, p, t).ne(0);
    let causal = Tensor::ones([t, t], (Kind::Bool, device)).tril(0);
    let own = causal
        .unsqueeze(0)
        .logical_and(&own_valid.unsqueeze(1))
        .logical_or(&Tensor::eye(t, (Kind::Bool, device)).unsqueeze(0));
    let allowed = Tensor::cat(
        &[prompt_valid.unsqueeze(1).expand([b, t, p], false), own],
        2,
    );
    let mask = Tensor::zeros([b, t, p + t], (model.kind(), device))
        .masked_fill(&allowed.logical_not(), f64::NEG_INFINITY)
        .view([b, 1, t, p + t]);
    let own_hidden = model.forward_hidden(
        &ids,
        &positions,
        &AttnMask::Additive(mask),
        Some(&mut cache),
    );
    Ok(Tensor::cat(&[last, own_hidden], 1))
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

/// Reference log-probs for the whole batch (no gradient), micro-batch by micro-batch:
/// through the fused CPU engine where it applies (a small fp32 model on the CPU; the same
/// values up to float rounding in a different summation order), else through libtorch.
pub fn reference_logprobs(
    reference: &Model,
    batch: &Batch,
    micro: usize,
    temperature: f64,
) -> Result<Tensor, ModelError> {
    if let Some(lp) = engine_logprobs(reference, batch, micro, temperature)? {
        return Ok(lp);
    }
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

/// `reference_logprobs` through `DecodeEngine::logprobs`, `micro` rows per call (rows
/// with the same prompt share one prompt pass); `None` where the engine does not apply.
fn engine_logprobs(
    model: &Model,
    batch: &Batch,
    micro: usize,
    temperature: f64,
) -> Result<Option<Tensor>, ModelError> {
    let (b, p, c) = (
        batch.rows as usize,
        batch.prompt_len as usize,
        batch.completion_len as usize,
    );
    let micro = micro.clamp(1, b.max(1));
    if b == 0 || p == 0 || c == 0 {
        return Ok(None);
    }
    let Some(mut engine) = DecodeEngine::new(model, micro, p + c) else {
        return Ok(None);
    };
    let host = |t: &Tensor| -> Result<Vec<i64>, ModelError> {
        let t = t.to_device(Device::Cpu).to_kind(Kind::Int64).contiguous();
        Vec::<i64>::try_from(&t.view([-1]))
            .map_err(|e| ModelError::Input(format!("batch ids: {e}")))
    };
    let (ids, attn) = (host(&batch.ids)?, host(&batch.attn)?);
    let width = p + c;
    let mut out = Vec::with_capacity(b * c);
    for start in (0..b).step_by(micro) {
        let rows = start..(start + micro).min(b);
        let (Some(row_ids), Some(row_attn)) = (
            ids.get(rows.start * width..rows.end * width),
            attn.get(rows.start * width..rows.end * width),
        ) else {
            return Err(ModelError::Input(format!("batch rows {rows:?} are short")));
        };
        let (mut prompts, mut pads, mut completions) = (Vec::new(), Vec::new(), Vec::new());
        for (ids, attn) in row_ids
            .chunks_exact(width)
            .zip(row_attn.chunks_exact(width))
        {
            let (prompt, completion) = ids.split_at(p);
            prompts.extend_from_slice(prompt);
            pads.push(attn.iter().take(p).filter(|&&a| a == 0).count() as i64);
            completions.extend_from_slice(completion);
        }
        out.extend(engine.logprobs(model, &prompts, &pads, &completions, temperature as f32)?);
    }
    let lp = Tensor::from_slice(&out).view([b as i64, c as i64]);
    Ok(Some(lp.to_device(batch.ids.device())))
}

/// The rows whose advantage is not zero, when the others add exactly nothing to the loss
/// and its gradient: with no KL term (beta = 0) each of their terms is ratio x 0, and the
/// normaliser does not depend on which rows a micro-batch holds (every loss type but
/// bnpo). `None` keeps the whole batch (also when no row has signal: the optimiser then
/// steps on zero gradients, as it would with every row). Logged entropy and clip fractions
/// then describe the trained rows.
fn rows_with_signal(batch: &Batch, s: &LearnSettings) -> Option<Batch> {
    if s.objective.beta != 0.0 || s.objective.loss_type == LossType::Bnpo {
        return None;
    }
    let adv = Vec::<f32>::try_from(&batch.adv.to_device(Device::Cpu)).ok()?;
    let keep: Vec<i64> = (0..adv.len() as i64)
        .filter(|&i| adv[i as usize] != 0.0)
        .collect();
    if keep.is_empty() || keep.len() == adv.len() {
        return None;
    }
    let idx = Tensor::from_slice(&keep).to_device(batch.ids.device());
    Some(Batch {
        ids: batch.ids.index_select(0, &idx),
        attn: batch.attn.index_select(0, &idx),
        mask: batch.mask.index_select(0, &idx),
        old: batch.old.index_select(0, &idx),
        adv: batch.adv.index_select(0, &idx),
        prompt_len: batch.prompt_len,
        completion_len: batch.completion_len,
        rows: keep.len() as i64,
        shared: batch.shared.as_ref().map(|p| SharedPrompts {
            ids: p.ids.shallow_clone(),
            attn: p.attn.shallow_clone(),
            group: p.group.index_select(0, &idx),
        }),
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
    // Only the rows that carry gradient go through the model; the normaliser above is the
    // whole batch's, so the loss and its gradient are the same.
    let trained = rows_with_signal(batch, s);
    let batch = trained.as_ref().unwrap_or(batch);
    let mut report = LearnReport::default();
    let correcting = s.objective.is_correction != IsCorrection::None;
    // With a correction: the learner's own log-probs before the update, per micro-batch
    // (the PPO ratio's denominator), and the correction's weights against the sampler's.
    let mut learner_old: Vec<(Tensor, Option<Tensor>)> = Vec::new();
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
            if pass == 0 {
                stats.add(&mismatch_stats(&logp, &mb.old, &mb.mask));
                if correcting {
                    let o = s.objective;
                    let w = is_weights(
                        o.is_correction,
                        o.is_correction_cap,
                        &logp,
                        &mb.old,
                        &mb.mask,
                    );
                    learner_old.push((logp.detach(), w));
                }
            }
            let (old, weights) = match learner_old.get((start / micro) as usize) {
                Some((old, w)) if correcting => (old, w.as_ref()),
                _ => (&mb.old, None),
            };
            let (loss, st) = weighted_micro_batch_loss(
                &s.objective,
                &norm,
                &logp,
                old,
                r.as_ref(),
                &mb.adv,
                &mb.mask,
                weights,
            );
            loss.backward();
            loss_sum += loss.double_value(&[]);
            ent_sum += ent;
            stats.add(&st);
            start += len;
        }
        let grad_norm = opt.clip_grad_norm(s.max_grad_norm);
        // A NaN or infinite loss or gradient would poison every weight at the update: the
        // run stops here, before it, with the weights of the last good step.
        if !(loss_sum.is_finite() && grad_norm.is_finite()) {
            opt.zero_grad();
            return Err(ModelError::Input(format!(
                "non-finite loss ({loss_sum}) or gradient norm ({grad_norm}) in pass {pass}: \
                 stopping before the update (lower optim.lr, or check the rewards)"
            )));
        }
        opt.step(lr);
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

#[cfg(test)]
mod tests {
    use super::super::loss::micro_batch_loss;
    use super::*;
    use crate::policy::model::Config;
    use std::sync::Arc;
    use tch::Device;
    use verigym_envs::{Prompt, Task};

    fn rollout(prompt: &Arc<Vec<i64>>, completion: &[i64], group: usize) -> Rollout {
        Rollout {
            group,
            slot: 0,
            task: Arc::new(Task {
                env: "test".into(),
                seed: 0,
                index: 0,
                difficulty: 1,
                prompt: Prompt::Text(String::new()),
                answer: serde_json::Value::Null,
                solution: None,
                solution_turns: None,
                question: String::new(),
            }),
            prompt_ids: Arc::clone(prompt),
            completion_ids: completion.to_vec(),
            logprobs: vec![0.0; completion.len()],
            loss_mask: vec![true; completion.len()],
            episode: None,
            text: String::new(),
            truncated: false,
            verdict: None,
            reward: 0.0,
            verifier_reward: 0.0,
            rm: None,
            verify_error: None,
        }
    }

    /// A GQA Llama and rollouts in groups of 3, 1 and 2 rows, prompts of different lengths
    /// (left padding), completions of different lengths (right padding).
    fn fixture() -> (Model, Vec<Rollout>) {
        let cfg = Config::llama(40, 32, 48, 2, 4, 2);
        let model = Model::new_seeded(&cfg, Device::Cpu, Kind::Float, 3).unwrap();
        let prompts = [
            Arc::new(vec![5i64, 9, 2, 7]),
            Arc::new(vec![3i64]),
            Arc::new(vec![8i64, 1]),
        ];
        let rows = [
            (0, vec![4i64, 6, 11, 2, 30]),
            (0, vec![4, 19]),
            (0, vec![13, 5, 5]),
            (1, vec![7, 7, 8, 9]),
            (2, vec![1]),
            (2, vec![22, 3, 9, 10, 12]),
        ]
        .iter()
        .map(|(g, c)| rollout(&prompts[*g], c, *g))
        .collect();
        (model, rows)
    }

    /// Log-probs and gradients with each prompt run once equal those of the full rows, on
    /// the fixture, and in a micro-batch that starts inside a group.
    #[test]
    fn shared_prompts_give_the_full_rows_logprobs_and_gradients() {
        let (model, rows) = fixture();
        let refs: Vec<&Rollout> = rows.iter().collect();
        let adv = vec![0.0; rows.len()];
        let shared = build_batch(&refs, &adv, false, 0, Device::Cpu);
        assert!(shared.shared.is_some());
        let mut full = build_batch(&refs, &adv, false, 0, Device::Cpu);
        full.shared = None;
        let grads = |batch: &Batch| -> (Tensor, Vec<Tensor>) {
            for mut v in model.vs.trainable_variables() {
                v.zero_grad();
            }
            let (lp, _) = completion_logprobs(&model, batch, 0.9, false).unwrap();
            let lp = &lp * &batch.mask;
            (&lp * 1.0).sum(Kind::Float).backward();
            let g = model
                .vs
                .trainable_variables()
                .iter()
                .map(|v| v.grad().copy())
                .collect();
            (lp.detach(), g)
        };
        let (lp_shared, g_shared) = grads(&shared);
        let (lp_full, g_full) = grads(&full);
        let err = (&lp_shared - &lp_full).abs().max().double_value(&[]);
        assert!(err < 1e-5, "log-probs differ by {err}");
        for (a, b) in g_shared.iter().zip(&g_full) {
            let scale = b.abs().max().double_value(&[]).max(1e-3);
            let err = (a - b).abs().max().double_value(&[]) / scale;
            assert!(err < 1e-4, "gradients differ by {err} (relative)");
        }
        // A micro-batch from row 2 (inside the first group) to row 4.
        let part_shared = shared.rows(2, 3);
        let part_full = full.rows(2, 3);
        let (a, _) = completion_logprobs(&model, &part_shared, 1.0, false).unwrap();
        let (b, _) = completion_logprobs(&model, &part_full, 1.0, false).unwrap();
        let err = ((a - b) * &part_full.mask).abs().max().double_value(&[]);
        assert!(err < 1e-5, "micro-batch log-probs differ by {err}");
    }

    /// With beta = 0 the learner skips rows of zero advantage; the loss and the gradient
    /// are those of the whole batch (each loss type it applies to), and with a KL term or
    /// bnpo every row is kept.
    #[test]
    fn skipping_zero_advantage_rows_keeps_the_loss_and_gradient() {
        let (model, rows) = fixture();
        let refs: Vec<&Rollout> = rows.iter().collect();
        let adv = vec![0.7, 0.0, -0.7, 0.0, 0.5, -0.5];
        let batch = build_batch(&refs, &adv, false, 0, Device::Cpu);
        for loss_type in [LossType::Grpo, LossType::DrGrpo, LossType::Dapo] {
            let settings = LearnSettings {
                objective: ObjectiveConfig {
                    loss_type,
                    eps_low: 0.2,
                    eps_high: 0.28,
                    beta: 0.0,
                    importance_sampling_level: Default::default(),
                    is_correction: Default::default(),
                    is_correction_cap: 2.0,
                },
                mu: 1,
                micro_batch_size: 2,
                temperature: 1.0,
                max_grad_norm: 0.0,
                max_len: 8,
            };
            let kept = rows_with_signal(&batch, &settings).expect("rows are skipped");
            assert_eq!(kept.rows, 4);
            let loss_and_grads = |b: &Batch| -> (f64, Vec<Tensor>) {
                for mut v in model.vs.trainable_variables() {
                    v.zero_grad();
                }
                let norm = Normaliser {
                    sequences: batch.rows as usize,
                    tokens: batch.mask.sum(Kind::Float).double_value(&[]),
                    micro_batches: 1,
                    max_len: 8,
                };
                let (lp, _) = completion_logprobs(&model, b, 1.0, false).unwrap();
                let (loss, _) = micro_batch_loss(
                    &settings.objective,
                    &norm,
                    &lp,
                    &b.old,
                    None,
                    &b.adv,
                    &b.mask,
                );
                loss.backward();
                let g = model
                    .vs
                    .trainable_variables()
                    .iter()
                    .map(|v| v.grad().copy())
                    .collect();
                (loss.double_value(&[]), g)
            };
            let (l_all, g_all) = loss_and_grads(&batch);
            let (l_kept, g_kept) = loss_and_grads(&kept);
            assert!(
                (l_all - l_kept).abs() < 1e-6,
                "{loss_type:?}: {l_all} vs {l_kept}"
            );
            for (a, b) in g_all.iter().zip(&g_kept) {
                let scale = a.abs().max().double_value(&[]).max(1e-6);
                let err = (a - b).abs().max().double_value(&[]) / scale;
                assert!(err < 1e-4, "{loss_type:?}: gradients differ by {err}");
            }
        }
        let mut settings = LearnSettings {
            objective: ObjectiveConfig {
                loss_type: LossType::Dapo,
                eps_low: 0.2,
                eps_high: 0.2,
                beta: 0.04,
                importance_sampling_level: Default::default(),
                is_correction: Default::default(),
                is_correction_cap: 2.0,
            },
            mu: 1,
            micro_batch_size: 2,
            temperature: 1.0,
            max_grad_norm: 0.0,
            max_len: 8,
        };
        assert!(
            rows_with_signal(&batch, &settings).is_none(),
            "a KL term keeps every row"
        );
        settings.objective.beta = 0.0;
        settings.objective.loss_type = LossType::Bnpo;
        assert!(
            rows_with_signal(&batch, &settings).is_none(),
            "bnpo keeps every row"
        );
    }

    /// The fused engine's reference log-probs equal libtorch's on the fixture, whole and in
    /// micro-batches that cut a group, at temperature 0.7 and 1.
    #[test]
    fn engine_reference_logprobs_match_libtorch() {
        let (model, rows) = fixture();
        let refs: Vec<&Rollout> = rows.iter().collect();
        let batch = build_batch(&refs, &vec![0.0; rows.len()], false, 0, Device::Cpu);
        for temperature in [0.7, 1.0] {
            let (want, _) =
                tch::no_grad(|| completion_logprobs(&model, &batch, temperature, false)).unwrap();
            for micro in [6, 4, 1] {
                let Some(got) = engine_logprobs(&model, &batch, micro, temperature).unwrap() else {
                    // Only the libtorch path keeps the libtorch layers for this model.
                    let path = crate::kernels::cpu::CpuPath::active();
                    assert!(!path.fused(), "the engine should apply on {path}");
                    return;
                };
                assert_eq!(got.size(), want.size());
                let err = ((&got - &want) * &batch.mask).abs().max().double_value(&[]);
                // A log-prob is a logit minus a log-sum-exp: twice a logit's bound, for the
                // fixture's widths (k = 48) and 2 layers.
                let magnitude = (&want * &batch.mask).abs().max().double_value(&[]) + 1.0;
                let tol = 2.0 * crate::kernels::tolerance::logit_tolerance(48, 9, magnitude);
                assert!(err <= tol, "T {temperature} micro {micro}: differ by {err}");
                let finite = got.isfinite().all().int64_value(&[]) == 1;
                assert!(finite, "padding positions must stay finite");
            }
        }
    }
}
