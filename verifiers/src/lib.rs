//! verigym-verifiers: deterministic, bounded scoring of model completions.
//!
//! Every function here is pure, thread-safe and bounded in time and memory whatever the
//! input (see DESIGN.md, "Verifier rules"). A wrong or malformed completion is an `Ok`
//! verdict with reward 0; `Err` is reserved for a verifier that itself could not run.

pub mod arith;
pub mod error;
pub mod format;
pub mod math;
pub mod number;
pub mod rubric;
pub mod sandbox;
pub mod verdict;

pub use error::VerifyError;
pub use format::{parse_think_answer, FormatError, ParsedCompletion};
pub use rubric::{Component, Rubric};
pub use verdict::Verdict;

/// Hard cap on the completion length any verifier looks at (bytes). Longer inputs are
/// rejected before parsing so a 100 MB completion costs nothing.
pub const MAX_COMPLETION_BYTES: usize = 64 * 1024;
