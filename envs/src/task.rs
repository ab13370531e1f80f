//! `Task`: one generated problem — prompt, gold answer spec and reference solution.

use serde::{Deserialize, Serialize};

/// One chat message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub role: String,
    pub content: String,
}

impl Message {
    pub fn new(role: &str, content: impl Into<String>) -> Message {
        Message {
            role: role.to_string(),
            content: content.into(),
        }
    }
}

/// A prompt: plain text, or chat messages for chat-templated models.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Prompt {
    Text(String),
    Chat(Vec<Message>),
}

impl Prompt {
    /// The prompt as one string (chat messages joined by role), for models without a
    /// chat template.
    pub fn to_text(&self) -> String {
        match self {
            Prompt::Text(t) => t.clone(),
            Prompt::Chat(msgs) => msgs
                .iter()
                .map(|m| format!("{}: {}", m.role, m.content))
                .collect::<Vec<_>>()
                .join("\n"),
        }
    }
}

/// A generated (or loaded) problem. Serialised as one JSONL line by `verigym sample`.
///
/// `answer` is the gold answer spec (env-specific JSON); `solution` is a complete reference
/// completion — chain of thought, then the final answer in the format the prompt asks
/// for — that scores 1.0. `question` is the bare problem statement without format
/// instructions, for small models trained from scratch that use a compact template.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Task {
    pub env: String,
    pub seed: u64,
    pub index: u64,
    pub difficulty: u8,
    pub prompt: Prompt,
    pub answer: serde_json::Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub solution: Option<String>,
    /// The assistant turns of the reference episode, for multi-turn envs (`solution` is then
    /// the whole transcript as text).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub solution_turns: Option<Vec<String>>,
    #[serde(default)]
    pub question: String,
}
