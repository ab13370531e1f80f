//! Helpers every stage uses: run configs and overrides, JSON/JSONL files, TensorBoard event
//! files, progress bars and plots.

pub mod config;
pub mod json;
pub mod tensorboard;
// Charts and progress bars live in verigym-eval (no libtorch), which `verigym eval` shares.
pub use verigym_eval::{plot, progress};
