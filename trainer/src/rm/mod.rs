//! Reward models for domains without a verifier (issue 20): people's preference pairs
//! (`verigym_envs::feedback`) train a scalar score with the Bradley–Terry loss.
//!
//! Built so far: the loss and its statistics. The `train rm` stage, the sequence-
//! classification checkpoint and RL against a reward model build on them.

pub mod loss;
