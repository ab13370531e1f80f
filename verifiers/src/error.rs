//! Errors a verifier reports when it cannot run at all (not when an answer is wrong).

use thiserror::Error;

#[derive(Debug, Error, Clone, PartialEq)]
pub enum VerifyError {
    /// The gold answer stored with a task is not of the shape the verifier expects.
    #[error("invalid gold answer: {0}")]
    InvalidGold(String),
    /// A configuration value is outside what the verifier accepts.
    #[error("invalid verifier configuration: {0}")]
    InvalidConfig(String),
    /// An external resource the verifier needs (an interpreter, a sandbox) is unavailable.
    #[error("verifier unavailable: {0}")]
    Unavailable(String),
}
