//! Tools a model calls inside an episode, in the Qwen2.5 / Hermes format: the assistant
//! writes `<tool_call>{"name": ..., "arguments": {...}}</tool_call>` and the environment
//! answers with a `tool` message holding the result (rendered as `<tool_response>…
//! </tool_response>` by the chat template).
//!
//! [`call`] parses calls and renders the tools block of a system prompt, [`calculator`] and
//! [`python`] are the builtin tools, [`ToolRegistry`] names them and [`ToolEpisode`] is the
//! generic tool-use episode.

pub mod calculator;
pub mod call;
pub mod episode;
pub mod python;
pub mod registry;

pub use call::{parse_tool_calls, render_call, render_tools, tool_object, CallError, ToolCall};
pub use episode::{Grader, ToolEpisode};
pub use registry::{ToolError, ToolRegistry};

use serde::{Deserialize, Serialize};

/// What a model is told about a tool: its name, what it does and the JSON Schema of its
/// arguments (the `function` object of an OpenAI / Qwen2.5 `tools` entry).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolSpec {
    pub name: String,
    pub description: String,
    pub parameters: serde_json::Value,
}

/// A tool. `call` never panics and is bounded in time and size: bad arguments or a
/// computation past the tool's limits give `Err(message)`, which the model reads as the
/// tool's result.
pub trait Tool: Send + Sync {
    fn spec(&self) -> ToolSpec;
    fn call(&self, arguments: &serde_json::Value) -> Result<String, String>;
}
