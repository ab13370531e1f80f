//! Errors of environment construction, generation and verification.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum EnvError {
    #[error("unknown environment '{name}'; known environments: {known}")]
    UnknownEnv { name: String, known: String },
    #[error("environment '{0}' is already registered")]
    Duplicate(String),
    #[error("invalid config for '{env}': {message}")]
    InvalidConfig { env: String, message: String },
    #[error("difficulty {0} is outside 1..=10")]
    InvalidDifficulty(u8),
    #[error("task does not belong to '{env}': {message}")]
    InvalidTask { env: String, message: String },
    #[error("{path}:{line}: {message}")]
    Data {
        path: String,
        line: usize,
        message: String,
    },
    #[error("generation failed for '{env}' (seed {seed}, index {index}): {message}")]
    Generation {
        env: String,
        seed: u64,
        index: u64,
        message: String,
    },
    /// A request to an external (process) env failed: a crash, a malformed reply, a timeout.
    #[error("environment '{env}' failed on {request}: {message}")]
    External {
        env: String,
        request: String,
        message: String,
    },
    /// An external env that failed too often in a row: commands stop on this one.
    #[error("environment '{env}' stopped: {message}")]
    Stopped { env: String, message: String },
    #[error("{path}: {message}")]
    EnvsFile { path: String, message: String },
    #[error(transparent)]
    Verify(#[from] verigym_verifiers::VerifyError),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

impl EnvError {
    pub fn config(env: &str, message: impl Into<String>) -> Self {
        EnvError::InvalidConfig {
            env: env.to_string(),
            message: message.into(),
        }
    }

    pub fn task(env: &str, message: impl Into<String>) -> Self {
        EnvError::InvalidTask {
            env: env.to_string(),
            message: message.into(),
        }
    }
}
