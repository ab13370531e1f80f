//! The recipes' error: whatever a stage below reported, or a message saying what the recipe
//! was doing when it failed.

use std::fmt::Display;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum RecipeError {
    #[error(transparent)]
    Grpo(#[from] crate::grpo::GrpoError),
    #[error(transparent)]
    Train(#[from] crate::lm::sft::SftError),
    #[error(transparent)]
    Stage(#[from] crate::lm::stage::StageError),
    #[error(transparent)]
    Data(#[from] crate::data::DataError),
    #[error(transparent)]
    Eval(#[from] crate::eval::EvalError),
    #[error(transparent)]
    Model(#[from] crate::policy::ModelError),
    #[error(transparent)]
    Sample(#[from] crate::rollout::sampler::SampleError),
    #[error(transparent)]
    Tokenizer(#[from] crate::policy::tokenizer::TokenizerError),
    #[error(transparent)]
    Config(#[from] crate::util::config::ConfigError),
    #[error(transparent)]
    Env(#[from] verigym_envs::EnvError),
    #[error(transparent)]
    Torch(#[from] tch::TchError),
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Msg(String),
}

pub type Result<T, E = RecipeError> = std::result::Result<T, E>;

/// Says what was being done when an error happened (`anyhow::Context`, typed).
pub trait Context<T> {
    fn context(self, what: impl Display) -> Result<T>;
    fn with_context<S: Display>(self, what: impl FnOnce() -> S) -> Result<T>;
}

impl<T, E: Display> Context<T> for std::result::Result<T, E> {
    fn context(self, what: impl Display) -> Result<T> {
        self.map_err(|e| RecipeError::Msg(format!("{what}: {e}")))
    }
    fn with_context<S: Display>(self, what: impl FnOnce() -> S) -> Result<T> {
        self.map_err(|e| RecipeError::Msg(format!("{}: {e}", what())))
    }
}

impl<T> Context<T> for Option<T> {
    fn context(self, what: impl Display) -> Result<T> {
        self.ok_or_else(|| RecipeError::Msg(what.to_string()))
    }
    fn with_context<S: Display>(self, what: impl FnOnce() -> S) -> Result<T> {
        self.ok_or_else(|| RecipeError::Msg(what().to_string()))
    }
}
