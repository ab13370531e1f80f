//! Reward models for domains without a verifier (issue 20): people's preference pairs
//! (`verigym_envs::feedback`) train a scalar score with the Bradley–Terry loss.
//!
//! Built so far: the loss and its statistics, and the model with its transformers-layout
//! checkpoint (`verigym rm score`). The `train rm` stage and RL against a reward model
//! build on them.

pub mod loss;
pub mod model;
