//! What an eval asks a model: a [`Request`] per task (its prompt and the suite's sampling
//! settings), answered with `n` completions. [`Backend`] is implemented by the
//! OpenAI-compatible client ([`crate::openai::OpenAi`]) and, in `verigym-train`, by the local
//! batched sampler.

use crate::suite::{Mode, Suite};
use serde::{Deserialize, Serialize};
use verigym_envs::{Message, Prompt, Task};

/// A prompt as sent: one text (completions API) or chat messages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum PromptInput {
    Text(String),
    Chat(Vec<Message>),
}

/// One task's request.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Request {
    pub prompt: PromptInput,
    /// Completions wanted.
    pub n: usize,
    pub temperature: f64,
    pub top_p: f64,
    pub max_tokens: usize,
    pub seed: u64,
    pub stop: Vec<String>,
}

/// One completion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sample {
    pub text: String,
    /// "stop" or "length", as the backend reported it.
    pub finish_reason: Option<String>,
}

/// The `n` completions of one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    pub samples: Vec<Sample>,
    /// Completion tokens of all samples together, when the backend counts them.
    pub completion_tokens: Option<usize>,
}

/// What to do about a failed request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// Worth another try (429, 5xx, a timeout, a dropped connection, a malformed reply).
    Retryable,
    /// This request cannot succeed (400, 413, 422): recorded as the item's error.
    Item,
    /// No request can succeed (401, 403, 404: wrong key, URL or model): the eval stops.
    Fatal,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct BackendError {
    pub message: String,
    pub failure: Failure,
}

impl BackendError {
    pub fn new(failure: Failure, message: impl Into<String>) -> Self {
        BackendError {
            message: message.into(),
            failure,
        }
    }
}

/// A model an eval can ask.
pub trait Backend {
    /// The model, as recorded in the run's manifest (a restart must name the same one).
    fn describe(&self) -> String;
    /// Requests per `complete` call (the local sampler batches; HTTP sends one).
    fn batch_size(&self) -> usize {
        1
    }
    /// `complete` calls in flight at once (more than one only through [`Backend::shared`]).
    fn concurrency(&self) -> usize {
        1
    }
    /// This backend, when it can be called from several threads at once (an HTTP client
    /// can; a local libtorch model cannot, and runs on the eval's own thread).
    fn shared(&self) -> Option<&(dyn Backend + Sync)> {
        None
    }
    /// The prompt template to use when the suite sets none (a local checkpoint's own).
    fn default_prompt_template(&self) -> Option<String> {
        None
    }
    /// One result per request, in order.
    fn complete(&self, requests: &[Request]) -> Vec<Result<Completion, BackendError>>;
}

/// `template` with `{prompt}` (the env's full prompt as text) and `{question}` (the bare
/// question; the full prompt for envs that have none) filled in.
pub fn fill_template(template: &str, task: &Task) -> String {
    let prompt = task.prompt.to_text();
    let question = if task.question.is_empty() {
        prompt.as_str()
    } else {
        task.question.as_str()
    };
    template
        .replace("{prompt}", &prompt)
        .replace("{question}", question)
}

/// The prompt a suite sends for `task`. Chat mode: the system prompt, then the env's chat
/// messages (or the template's text as one user message). Completion mode: the system
/// prompt and a blank line, then the template's text.
pub fn render_prompt(suite: &Suite, task: &Task, default_template: Option<&str>) -> PromptInput {
    let explicit = suite.prompt_template.as_deref().or(default_template);
    let text = || fill_template(explicit.unwrap_or("{prompt}"), task);
    match suite.mode {
        Mode::Completion => PromptInput::Text(match &suite.system_prompt {
            Some(s) => format!("{s}\n\n{}", text()),
            None => text(),
        }),
        Mode::Chat => {
            let mut messages = Vec::new();
            if let Some(s) = &suite.system_prompt {
                messages.push(Message {
                    role: "system".into(),
                    content: s.clone(),
                });
            }
            match (&task.prompt, explicit) {
                (Prompt::Chat(m), None) => messages.extend(m.iter().cloned()),
                _ => messages.push(Message {
                    role: "user".into(),
                    content: text(),
                }),
            }
            PromptInput::Chat(messages)
        }
    }
}

/// The request for `task` under `suite`.
pub fn request_for(
    suite: &Suite,
    task: &Task,
    seed: u64,
    default_template: Option<&str>,
) -> Request {
    Request {
        prompt: render_prompt(suite, task, default_template),
        n: suite.samples,
        temperature: suite.temperature,
        top_p: suite.top_p,
        max_tokens: suite.max_tokens,
        seed,
        stop: suite.stop.clone(),
    }
}
