//! verigym-eval: benchmark suites over verigym's environments, for any model.
//!
//! - [`suite`]: the TOML suite format and the builtin suites (`suites/*.toml`).
//! - [`backend`]: what is asked of a model; [`openai`]: any OpenAI-compatible endpoint.
//! - [`run`]: the resumable eval loop (`results.jsonl` appended as tasks finish).
//! - [`metrics`]: unbiased pass@k, maj@k, intervals; [`report`]: summary, report, compare.
//! - [`cli`]: `verigym eval`, shared by `verigym` (endpoints) and `verigym-train` (local
//!   checkpoints), so neither duplicates the other.
//!
//! No libtorch here: evaluating a model behind an endpoint never loads it.

pub mod backend;
pub mod cli;
pub mod metrics;
pub mod openai;
pub mod plot;
pub mod progress;
pub mod report;
pub mod results;
pub mod run;
pub mod suite;

pub use backend::{Backend, BackendError, Completion, Failure, PromptInput, Request, Sample};
pub use report::Summary;
pub use run::{run, RunOptions};
pub use suite::Suite;

#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    #[error("{origin}: {message}")]
    Suite { origin: String, message: String },
    #[error("{path}: {message}")]
    Io { path: String, message: String },
    #[error("{path}:{line}: {message}")]
    Results {
        path: String,
        line: usize,
        message: String,
    },
    #[error("{0}")]
    Mismatch(String),
    #[error("the model cannot be reached: {0}")]
    Backend(String),
    #[error("{0}")]
    Usage(String),
}
