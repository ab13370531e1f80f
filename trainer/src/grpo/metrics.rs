//! Per-step metrics of a GRPO run (the set TRL's `GRPOTrainer` logs, plus timings split by
//! stage), written one JSON object per line to `metrics.jsonl`.

use super::advantage::{all_equal, mean_std};
use crate::rollout::pipeline::Rollout;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StepMetrics {
    pub step: usize,
    pub reward_mean: f64,
    pub reward_std: f64,
    /// Mean of each named verdict component (accuracy, format, ...).
    pub reward_components: BTreeMap<String, f64>,
    /// Strict accuracy (`Verdict::correct`).
    pub accuracy: f64,
    /// Fraction of sampled groups whose rewards were all equal.
    pub zero_std_frac: f64,
    pub kl: f64,
    /// Sampler-learner mismatch over the trained tokens, before the update: mean and max of
    /// |logp_learner - logp_sampler|, and the k3 estimate of KL(sampler || learner).
    #[serde(default)]
    pub mismatch_abs_mean: f64,
    #[serde(default)]
    pub mismatch_abs_max: f64,
    #[serde(default)]
    pub mismatch_kl: f64,
    pub clip_low: f64,
    pub clip_high: f64,
    pub clip_region: f64,
    pub entropy: f64,
    pub loss: f64,
    pub completion_len_mean: f64,
    pub completion_len_max: usize,
    /// Fraction of completions cut by the token budget.
    pub truncated_frac: f64,
    pub rollouts: usize,
    /// Groups the learner trained on (after dynamic sampling).
    pub groups_trained: usize,
    pub sampling_rounds: usize,
    pub verifier_errors: usize,
    pub new_tokens: usize,
    /// New tokens per second of the whole step.
    pub tokens_per_s: f64,
    pub time_sample_s: f64,
    pub time_score_s: f64,
    /// The frozen reference model's log-probs (beta > 0), while the verifiers score.
    pub time_reference_s: f64,
    pub time_learn_s: f64,
    pub time_step_s: f64,
    pub lr: f64,
    pub grad_norm: f64,
    pub difficulty: BTreeMap<String, u8>,
    /// Multi-turn episodes only (absent when the step had none): model turns, tool calls
    /// and tool calls that got an error result, per episode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub turns_per_episode: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_calls_per_episode: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_errors_per_episode: Option<f64>,
    /// The verifier's reward alone, when `[reward]` mixes in anything else.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verifier_reward_mean: Option<f64>,
    /// The reward models' mean score, their std across ensemble members and the most
    /// pessimistic member's score, averaged over the rollouts (runs with reward models).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rm_reward_mean: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rm_std_mean: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rm_min_mean: Option<f64>,
    /// Share of repeated word bigrams in the completions (mean over rollouts).
    #[serde(default)]
    pub repetition: f64,
    /// The guard's smoothed estimate of true quality, and what it decided (`[guard]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guard_estimate: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guard_stop: Option<crate::rm::guard::Trigger>,
    /// The suite eval after this step, when one ran (`[eval]`): `pass@K` overall and
    /// `pass@K/ENV` per env for every K up to the suite's samples, and `accuracy`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub eval: BTreeMap<String, f64>,
}

impl StepMetrics {
    /// Fills the reward, accuracy and length fields from every rollout sampled this step.
    pub fn fill_rollouts(&mut self, all: &[Rollout], group_size: usize) {
        let rewards: Vec<f64> = all.iter().map(|r| r.reward).collect();
        let (m, s) = mean_std(&rewards);
        self.reward_mean = m;
        self.reward_std = s;
        let n = all.len().max(1) as f64;
        self.accuracy = all
            .iter()
            .filter(|r| r.verdict.as_ref().is_some_and(|v| v.correct))
            .count() as f64
            / n;
        let mut comps: BTreeMap<String, f64> = BTreeMap::new();
        for r in all {
            if let Some(v) = &r.verdict {
                for (k, x) in &v.components {
                    *comps.entry(k.clone()).or_default() += x;
                }
            }
        }
        for x in comps.values_mut() {
            *x /= n;
        }
        self.reward_components = comps;
        let groups: Vec<&[f64]> = rewards.chunks(group_size.max(1)).collect();
        self.zero_std_frac =
            groups.iter().filter(|g| all_equal(g)).count() as f64 / groups.len().max(1) as f64;
        let lens: Vec<usize> = all.iter().map(|r| r.completion_ids.len()).collect();
        self.completion_len_mean = lens.iter().sum::<usize>() as f64 / n;
        self.completion_len_max = lens.iter().copied().max().unwrap_or(0);
        self.truncated_frac = all.iter().filter(|r| r.truncated).count() as f64 / n;
        self.rollouts = all.len();
        self.verifier_errors = all.iter().filter(|r| r.verify_error.is_some()).count();
        self.new_tokens = lens.iter().sum();
        self.repetition = all
            .iter()
            .map(|r| crate::rm::guard::repetition_rate(&r.text, 2))
            .sum::<f64>()
            / n;
        let rm: Vec<_> = all.iter().filter_map(|r| r.rm).collect();
        if !rm.is_empty() {
            let k = rm.len() as f64;
            self.rm_reward_mean = Some(rm.iter().map(|s| s.mean).sum::<f64>() / k);
            self.rm_std_mean = Some(rm.iter().map(|s| s.std).sum::<f64>() / k);
            self.rm_min_mean = Some(rm.iter().map(|s| s.min).sum::<f64>() / k);
        }
        let episodes: Vec<_> = all.iter().filter_map(|r| r.episode).collect();
        if !episodes.is_empty() {
            let per = |f: fn(&verigym_envs::EpisodeStats) -> usize| {
                Some(episodes.iter().map(f).sum::<usize>() as f64 / episodes.len() as f64)
            };
            self.turns_per_episode = per(|e| e.turns);
            self.tool_calls_per_episode = per(|e| e.tool_calls);
            self.tool_errors_per_episode = per(|e| e.tool_errors);
        }
    }

    /// The fields that must agree between an uninterrupted and a resumed run (everything
    /// but wall-clock timings and throughput).
    pub fn deterministic(&self) -> StepMetrics {
        StepMetrics {
            tokens_per_s: 0.0,
            time_sample_s: 0.0,
            time_score_s: 0.0,
            time_reference_s: 0.0,
            time_learn_s: 0.0,
            time_step_s: 0.0,
            ..self.clone()
        }
    }
}
