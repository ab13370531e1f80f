//! GRPO (Shao et al. 2024, DeepSeekMath) with the variants practitioners use — Dr. GRPO,
//! DAPO (clip-higher, dynamic sampling, token-level loss, overlong shaping), BNPO — and the run
//! that feeds it from the rollout pipeline. Follows TRL's `GRPOTrainer` for the
//! exact forms, and nanochat for keeping the loop readable in one sitting.

pub mod advantage;
pub mod config;
pub mod learn;
pub mod loss;
pub mod metrics;
pub mod run;
pub mod step;

pub use advantage::{advantages, AdvantageScale};
pub use config::{GrpoConfig, StageConfig};
pub use loss::{
    is_weights, micro_batch_loss, mismatch_stats, weighted_micro_batch_loss,
    ImportanceSamplingLevel, IsCorrection, LossStats, LossType, Normaliser, ObjectiveConfig,
};
pub use metrics::StepMetrics;
pub use run::{train, train_policy, GrpoError, RunOptions, RunSummary};
pub use step::{Grpo, StepOutput};
