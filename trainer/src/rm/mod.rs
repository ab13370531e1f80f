//! Reward models for domains without a verifier: people's preference pairs
//! (`verigym_envs::feedback`) train a scalar score with the Bradley–Terry loss.
//!
//! `loss`: the Bradley–Terry objective and its pair statistics. `model`: the backbone with
//! a scalar head, saved and loaded in transformers' sequence-classification layout, which
//! `verigym rm score` runs.

pub mod guard;
pub mod loss;
pub mod model;
pub mod reward;
pub mod train;
