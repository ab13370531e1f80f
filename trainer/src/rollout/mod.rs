//! Rollouts: the batched KV-cache sampler (and its continuous-batching form, which
//! `verigym serve` runs), the env mixture with its curriculum, and the pipeline that
//! samples groups of completions (or multi-turn episodes) on the model thread while a pool of
//! verifiers scores them.

pub mod config;
pub mod continuous;
pub mod episodes;
pub mod mixture;
pub mod pipeline;
pub mod sampler;
