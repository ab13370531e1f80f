//! The reward of a GRPO run where a learned model stands in for (or beside) the verifier:
//!
//! ```text
//! reward = verifier_weight · verifier + model_weight · mean_k(rm_k) + length_weight · len / max_new_tokens
//! ```
//!
//! `verifier` is the env's shaped reward (rubric, overlong penalty) as a verifier-only run
//! uses it; `rm_k` are the scores of the ensemble's members for the prompt followed by the
//! completion, as `train rm` trained them. With `verifier_weight = 0` the verifier still runs
//! and is logged (`verifier_reward_mean`) but not trained on: a held-out gold scorer for the
//! guard. Group normalisation of the advantages is unchanged.

use super::model::RewardModel;
use super::train::member_paths;
use crate::lm::stage::StageError;
use crate::policy::{ModelError, Tokenizer};
use crate::util::config::{finite_in, within, ConfigError};
use serde::{Deserialize, Serialize};
use std::path::Path;
use tch::{Device, Kind};

/// `train grpo`'s `[reward]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RewardConfig {
    /// A reward model folder, or a `train rm` run folder (its ensemble); empty: none.
    pub model: String,
    /// Weight of the reward models' mean score.
    pub model_weight: f64,
    /// Weight of the verifier's reward (0: logged, not trained on).
    pub verifier_weight: f64,
    /// Weight of the completion's length as a fraction of `rollout.max_new_tokens`
    /// (negative: shorter is better).
    pub length_weight: f64,
    /// Texts per reward-model forward pass.
    pub batch_size: usize,
}

impl Default for RewardConfig {
    fn default() -> Self {
        RewardConfig {
            model: String::new(),
            model_weight: 1.0,
            verifier_weight: 1.0,
            length_weight: 0.0,
            batch_size: 32,
        }
    }
}

impl RewardConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        finite_in("reward.model_weight", self.model_weight, -1e6, 1e6)?;
        finite_in("reward.verifier_weight", self.verifier_weight, -1e6, 1e6)?;
        finite_in("reward.length_weight", self.length_weight, -1e6, 1e6)?;
        within("reward.batch_size", self.batch_size, 1, 1 << 14)
    }

    /// Whether rewards differ from the verifier's alone.
    pub fn mixes(&self) -> bool {
        !self.model.is_empty() || self.verifier_weight != 1.0 || self.length_weight != 0.0
    }
}

/// One completion's scores across the ensemble.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct EnsembleScore {
    pub mean: f64,
    /// Population std across members (0 for one model).
    pub std: f64,
    /// The most pessimistic member.
    pub min: f64,
}

impl EnsembleScore {
    pub fn of(scores: &[f64]) -> EnsembleScore {
        let n = scores.len().max(1) as f64;
        let mean = scores.iter().sum::<f64>() / n;
        let var = scores.iter().map(|s| (s - mean).powi(2)).sum::<f64>() / n;
        EnsembleScore {
            mean,
            std: var.sqrt(),
            min: scores.iter().copied().fold(f64::INFINITY, f64::min),
        }
    }
}

/// The reward models of a run (one, or an ensemble's members), each with its tokenizer.
pub struct RewardModels {
    members: Vec<(RewardModel, Tokenizer)>,
    batch_size: usize,
}

impl RewardModels {
    /// Loads what `cfg.model` names, frozen, onto `device`.
    pub fn load(cfg: &RewardConfig, device: Device) -> Result<RewardModels, StageError> {
        let paths = member_paths(Path::new(&cfg.model))?;
        let members = paths
            .iter()
            .map(|p| {
                let (mut rm, tok) = RewardModel::load(p, device, Kind::Float)?;
                rm.model.vs.freeze();
                Ok((rm, tok))
            })
            .collect::<Result<Vec<_>, ModelError>>()?;
        Ok(RewardModels {
            members,
            batch_size: cfg.batch_size,
        })
    }

    pub fn len(&self) -> usize {
        self.members.len()
    }

    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// Each text's scores across the members.
    pub fn score(&self, texts: &[String]) -> Result<Vec<EnsembleScore>, ModelError> {
        let per_member = self
            .members
            .iter()
            .map(|(rm, tok)| rm.score_texts(tok, texts, self.batch_size))
            .collect::<Result<Vec<_>, _>>()?;
        Ok((0..texts.len())
            .map(|i| {
                let s: Vec<f64> = per_member.iter().map(|m| m[i]).collect();
                EnsembleScore::of(&s)
            })
            .collect())
    }
}

/// The mixed reward of one completion (see the module docs).
pub fn mix(
    cfg: &RewardConfig,
    verifier: f64,
    rm: Option<EnsembleScore>,
    len: usize,
    max_len: usize,
) -> f64 {
    let mut r = cfg.verifier_weight * verifier;
    if let Some(s) = rm {
        r += cfg.model_weight * s.mean;
    }
    r + cfg.length_weight * len as f64 / max_len.max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mix_weighs_each_component() {
        let c = RewardConfig {
            model_weight: 2.0,
            verifier_weight: 0.5,
            length_weight: -1.0,
            ..Default::default()
        };
        let s = EnsembleScore::of(&[1.0, 3.0]);
        assert_eq!((s.mean, s.std, s.min), (2.0, 1.0, 1.0));
        // 0.5·1 + 2·2 − 1·(10/40)
        assert!((mix(&c, 1.0, Some(s), 10, 40) - 4.25).abs() < 1e-12);
        // The defaults leave a verifier-only reward as it was.
        let d = RewardConfig::default();
        assert!(!d.mixes());
        assert_eq!(mix(&d, 0.7, None, 10, 40), 0.7);
        assert!(RewardConfig {
            verifier_weight: 0.0,
            ..d
        }
        .mixes());
    }
}
