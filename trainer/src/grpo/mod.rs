//! GRPO (Shao et al. 2024, DeepSeekMath) with the variants practitioners use — Dr. GRPO,
//! DAPO (clip-higher, dynamic sampling, token-level loss, overlong shaping), BNPO — and the
//! parallel rollout pipeline that feeds it (issue 8). Follows TRL's `GRPOTrainer` for the
//! exact forms, and nanochat for keeping the loop readable in one sitting.

pub mod advantage;
pub mod bench;
pub mod cli;
pub mod config;
pub mod curriculum;
pub mod learn;
pub mod loss;
pub mod metrics;
pub mod optim;
pub mod pipeline;
pub mod run;

pub use advantage::{advantages, AdvantageScale};
pub use config::GrpoConfig;
pub use loss::{micro_batch_loss, LossStats, LossType, Normaliser, ObjectiveConfig};
pub use metrics::StepMetrics;
pub use run::{train, GrpoError, RunOptions, RunSummary};
