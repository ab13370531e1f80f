//! GRPO objective: group advantages, clipped surrogate, k3 KL, loss aggregation (issue 8).
