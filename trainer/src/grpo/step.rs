//! One GRPO step, top to bottom: draw tasks from the env mixture, sample a group of
//! completions for each, score them with the verifiers, turn rewards into group-relative
//! advantages, take an optimiser step on the clipped objective, and report the step's
//! metrics. `train grpo`, the demo and every experiment run this same step.
//!
//! The speed lives in named helpers, not in the loop: the sampler runs the fused CPU decode
//! engine, the verifiers score on their own threads while the model thread goes on
//! (`Scorer`), the frozen reference computes its log-probs while they score
//! (`reference_while_scoring`), and the learner runs each group's shared prompt once
//! (`learn::build_batch`).

use super::advantage::{advantages, all_equal};
use super::config::GrpoConfig;
use super::learn::{build_batch, learn, reference_logprobs, Batch, LearnReport, LearnSettings};
use super::metrics::StepMetrics;
use super::run::GrpoError;
use crate::optim::{lr_at, AdamW};
use crate::policy::{Model, Tokenizer};
use crate::rm::reward::{mix, RewardModels};
use crate::rollout::mixture::Mixture;
use crate::rollout::pipeline::{prompt_text, sample_round, Pending, Rollout, Scorer, Shaping};
use std::time::Instant;
use tch::Tensor;
use verigym_envs::Registry;

/// Everything a step reads and updates: the policy and its optimiser, the frozen reference
/// (when `objective.beta > 0`; with LoRA the policy's base, adapters off, stands in for it),
/// the env mixture and the verifier pool.
pub struct Grpo<'a> {
    pub cfg: &'a GrpoConfig,
    pub policy: &'a Model,
    pub tok: &'a Tokenizer,
    pub reference: Option<Model>,
    pub opt: AdamW,
    pub mixture: Mixture,
    scorer: Scorer,
    /// The reward models of `[reward] model`, frozen.
    reward_models: Option<RewardModels>,
}

/// What a step produced besides its metrics: every rollout it sampled (trained on or not).
pub struct StepOutput {
    pub metrics: StepMetrics,
    pub rollouts: Vec<Rollout>,
}

impl<'a> Grpo<'a> {
    pub fn new(
        cfg: &'a GrpoConfig,
        policy: &'a Model,
        tok: &'a Tokenizer,
        registry: Registry,
    ) -> Result<Grpo<'a>, GrpoError> {
        // With LoRA the reference is the base, adapters off: no copy.
        let reference = if cfg.objective.beta > 0.0 && policy.lora().is_none() {
            Some(frozen_copy(policy)?)
        } else {
            None
        };
        Ok(Grpo {
            cfg,
            policy,
            tok,
            reference,
            opt: AdamW::new(trainable_params(policy), cfg.optim.clone()),
            mixture: Mixture::new(registry, &cfg.envs, cfg.curriculum.clone(), cfg.seed)?,
            scorer: Scorer::new(cfg.rollout.verifier_threads).map_err(GrpoError::Run)?,
            reward_models: match cfg.reward.model.as_str() {
                "" => None,
                _ => Some(
                    RewardModels::load(&cfg.reward, policy.device())
                        .map_err(|e| GrpoError::Run(format!("reward.model: {e}")))?,
                ),
            },
        })
    }

    /// Step `step` (0-based) of the run.
    pub fn step(&mut self, step: usize) -> Result<StepOutput, GrpoError> {
        let started = Instant::now();
        let g = self.cfg.rollout.group_size;
        let obj = &self.cfg.objective;
        let mut m = StepMetrics {
            step,
            ..Default::default()
        };

        // 1. Sample and score: draw tasks, sample a group of completions for each, and
        //    let the verifiers score them. Dynamic sampling (DAPO) drops groups whose
        //    rewards are all equal — they carry no signal — and draws again to refill.
        let mut all: Vec<Rollout> = Vec::new();
        let mut kept: Vec<Rollout> = Vec::new();
        let mut ready: Option<(Batch, Option<Tensor>)> = None;
        loop {
            let groups_wanted = if obj.dynamic_sampling {
                self.cfg.rollout.tasks_per_step - kept.len() / g
            } else {
                self.cfg.rollout.tasks_per_step
            };
            let drawn = self
                .mixture
                .draw(step as u64, m.sampling_rounds as u64, groups_wanted)?;
            let pending = sample_round(
                self.policy,
                self.tok,
                &self.cfg.rollout,
                &self.mixture,
                &self.scorer,
                &drawn,
                self.cfg.seed,
                step as u64,
                m.sampling_rounds as u64,
                all.len() / g,
            )?;
            m.time_sample_s += pending.sample_time.as_secs_f64();
            if !obj.dynamic_sampling {
                // Every rollout will be trained on: batch them now, while they are scored.
                ready = Some(self.reference_while_scoring(&pending, &mut m)?);
            }
            let (mut scored, wait) = pending
                .collect(&self.scorer, &self.shaping())
                .map_err(GrpoError::Run)?;
            m.time_score_s += wait.as_secs_f64();
            if self.cfg.reward.mixes() {
                let started = Instant::now();
                self.mix_rewards(&mut scored)?;
                m.time_score_s += started.elapsed().as_secs_f64();
            }
            m.sampling_rounds += 1;
            for group in scored.chunks(g) {
                let rewards: Vec<f64> = group.iter().map(|r| r.reward).collect();
                if !obj.dynamic_sampling || !all_equal(&rewards) {
                    kept.extend_from_slice(group);
                }
            }
            all.extend(scored);
            let full = kept.len() / g >= self.cfg.rollout.tasks_per_step;
            if !obj.dynamic_sampling || full || m.sampling_rounds > obj.max_resample_rounds {
                break;
            }
        }
        kept.truncate(self.cfg.rollout.tasks_per_step * g);

        // 2. Advantages: each reward against its group's mean (scaled as configured).
        let rewards: Vec<f64> = kept.iter().map(|r| r.reward).collect();
        let adv = advantages(&rewards, g, obj.advantage_scale, obj.advantage_eps);

        // 3. Learn: `objective.mu` passes of the clipped objective, one AdamW step each.
        let learn_started = Instant::now();
        m.lr = lr_at(&self.cfg.optim, step, self.cfg.steps);
        m.groups_trained = kept.len() / g;
        if !kept.is_empty() {
            let (batch, ref_logp) = match ready {
                Some((mut batch, ref_logp)) => {
                    batch.set_advantages(&adv);
                    (batch, ref_logp)
                }
                None => {
                    let rollouts: Vec<&Rollout> = kept.iter().collect();
                    self.batch_and_reference(&rollouts, &adv, &mut m)?
                }
            };
            let settings = self.learn_settings();
            let report = learn(
                self.policy,
                ref_logp.as_ref(),
                &mut self.opt,
                &batch,
                &settings,
                m.lr,
            )?;
            m.fill_learn(&report);
        }
        m.time_learn_s = learn_started.elapsed().as_secs_f64();

        // 4. Curriculum and metrics: each env's accuracy moves its difficulty.
        for slot in 0..self.mixture.envs.len() {
            let correct: Vec<bool> = all
                .iter()
                .filter(|r| r.slot == slot)
                .map(|r| r.verdict.as_ref().is_some_and(|v| v.correct))
                .collect();
            self.mixture.record(slot, &correct)?;
        }
        m.fill_rollouts(&all, g);
        if self.cfg.reward.mixes() {
            let n = all.len().max(1) as f64;
            m.verifier_reward_mean = Some(all.iter().map(|r| r.verifier_reward).sum::<f64>() / n);
        }
        for e in &self.mixture.envs {
            m.difficulty.insert(e.spec.name.clone(), e.state.difficulty);
        }
        m.time_step_s = started.elapsed().as_secs_f64();
        m.tokens_per_s = m.new_tokens as f64 / m.time_step_s.max(1e-9);
        Ok(StepOutput {
            metrics: m,
            rollouts: all,
        })
    }

    /// Scores the rollouts with the reward models and mixes their scores with the
    /// verifier's reward and the length component (`[reward]`).
    fn mix_rewards(&self, rollouts: &mut [Rollout]) -> Result<(), GrpoError> {
        if let Some(rms) = &self.reward_models {
            let texts: Vec<String> = rollouts
                .iter()
                .map(|r| prompt_text(&self.cfg.rollout, self.tok, &r.task) + &r.text)
                .collect();
            let scores = rms.score(&texts)?;
            for (r, s) in rollouts.iter_mut().zip(scores) {
                r.rm = Some(s);
            }
        }
        let max_len = self.cfg.rollout.max_new_tokens;
        for r in rollouts {
            let len = r.completion_ids.len();
            r.reward = mix(&self.cfg.reward, r.verifier_reward, r.rm, len, max_len);
        }
        Ok(())
    }

    /// Reward models scoring the rollouts (0: verifiers only).
    pub fn reward_model_count(&self) -> usize {
        self.reward_models.as_ref().map_or(0, RewardModels::len)
    }

    /// Refreshes the reference from the policy (`objective.ref_refresh_steps`).
    pub fn refresh_reference(&mut self) -> Result<(), GrpoError> {
        if let Some(r) = self.reference.as_mut() {
            tch::no_grad(|| r.vs.copy(&self.policy.vs))?;
        }
        Ok(())
    }

    /// The round's rollouts as the learner's batch (advantages filled in later), and the
    /// reference's log-probs of it, computed while the verifiers are still scoring.
    fn reference_while_scoring(
        &self,
        pending: &Pending,
        m: &mut StepMetrics,
    ) -> Result<(Batch, Option<Tensor>), GrpoError> {
        let rollouts: Vec<&Rollout> = pending.rollouts.iter().collect();
        let zeros = vec![0.0; rollouts.len()];
        self.batch_and_reference(&rollouts, &zeros, m)
    }

    /// `rollouts` as the learner's batch, with the reference's log-probs (beta > 0).
    fn batch_and_reference(
        &self,
        rollouts: &[&Rollout],
        adv: &[f64],
        m: &mut StepMetrics,
    ) -> Result<(Batch, Option<Tensor>), GrpoError> {
        let pad = self.tok.pad_id().unwrap_or(0);
        let mask_truncated = self.cfg.objective.mask_truncated;
        let batch = build_batch(rollouts, adv, mask_truncated, pad, self.policy.device());
        let (micro, temperature) = (
            self.cfg.learn.micro_batch_size,
            self.cfg.rollout.temperature,
        );
        let started = Instant::now();
        let lp = match &self.reference {
            Some(reference) => reference_logprobs(reference, &batch, micro, temperature)?,
            None if self.cfg.objective.beta > 0.0 && self.policy.lora().is_some() => {
                self.policy.with_adapters_off(|| {
                    reference_logprobs(self.policy, &batch, micro, temperature)
                })?
            }
            None => return Ok((batch, None)),
        };
        m.time_reference_s += started.elapsed().as_secs_f64();
        Ok((batch, Some(lp)))
    }

    /// Each env's rubric and the overlong penalty, applied to the verdicts.
    fn shaping(&self) -> Shaping<'_> {
        let obj = &self.cfg.objective;
        Shaping {
            rubrics: self
                .mixture
                .envs
                .iter()
                .map(|e| e.rubric.as_ref())
                .collect(),
            overlong: obj.overlong_penalty.then_some((
                self.cfg.rollout.max_new_tokens,
                obj.overlong_cache,
                obj.overlong_factor,
            )),
        }
    }

    fn learn_settings(&self) -> LearnSettings {
        LearnSettings {
            objective: self.cfg.objective.objective(),
            mu: self.cfg.objective.mu,
            micro_batch_size: self.cfg.learn.micro_batch_size,
            temperature: self.cfg.rollout.temperature,
            max_grad_norm: self.cfg.optim.max_grad_norm,
            max_len: self.cfg.rollout.max_new_tokens,
        }
    }
}

impl StepMetrics {
    /// The learner's loss, gradient norm, KL, clip fractions and entropy.
    pub fn fill_learn(&mut self, r: &LearnReport) {
        self.loss = r.loss;
        self.grad_norm = r.grad_norm;
        self.kl = r.stats.kl();
        self.mismatch_abs_mean = r.stats.mismatch_abs_mean();
        self.mismatch_abs_max = r.stats.mismatch_abs_max;
        self.mismatch_kl = r.stats.mismatch_kl();
        self.clip_low = r.stats.clip_low();
        self.clip_high = r.stats.clip_high();
        self.clip_region = r.stats.clip_region();
        self.entropy = r.entropy;
    }
}

/// A frozen copy of `policy`.
fn frozen_copy(policy: &Model) -> Result<Model, GrpoError> {
    let mut r = Model::new(&policy.cfg, policy.device(), policy.kind())?;
    r.vs.copy(&policy.vs)?;
    r.vs.freeze();
    Ok(r)
}

/// Trainable parameters in name order (a VarStore's map order is not stable).
pub fn trainable_params(model: &Model) -> Vec<Tensor> {
    let mut vars: Vec<(String, Tensor)> = model.trainable_store().variables().into_iter().collect();
    vars.sort_by(|a, b| a.0.cmp(&b.0));
    vars.into_iter()
        .map(|(_, t)| t)
        .filter(|t| t.requires_grad())
        .collect()
}
