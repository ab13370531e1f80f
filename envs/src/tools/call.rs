//! Tool calls in an assistant turn and the tools block of a system prompt, in the
//! Qwen2.5 / Hermes format: calls are `<tool_call>{"name": ..., "arguments": {...}}
//! </tool_call>` blocks, and the tools are listed as one JSON function object per line
//! inside `<tools></tools>`, as Qwen2.5's chat template writes them.
//!
//! Parsing never fails as a whole: each block is a call or a [`CallError`] that the model
//! reads back as a `tool` message starting with `error: `.

use super::ToolSpec;
use serde_json::Value;
use thiserror::Error;

const OPEN: &str = "<tool_call>";
const CLOSE: &str = "</tool_call>";

/// One well-formed call: a tool name and its arguments (always a JSON object).
#[derive(Debug, Clone, PartialEq)]
pub struct ToolCall {
    pub name: String,
    pub arguments: serde_json::Map<String, Value>,
}

/// Why a `<tool_call>` block is not a call.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum CallError {
    #[error("<tool_call> is never closed by </tool_call>")]
    Unclosed,
    #[error("the tool call is not valid JSON ({0})")]
    BadJson(String),
    #[error("the tool call must be a JSON object with \"name\" and \"arguments\"")]
    NotAnObject,
    #[error("the tool call has no \"name\" string")]
    MissingName,
    #[error("\"arguments\" must be a JSON object (or a string holding one)")]
    ArgumentsNotObject,
    #[error("unknown tool '{name}'; the tools are: {known}")]
    UnknownTool { name: String, known: String },
}

/// Whether the turn opens any `<tool_call>` block (after its think block, if it has one).
pub fn has_tool_call(turn: &str) -> bool {
    after_think(turn).contains(OPEN)
}

/// The text a model's calls are read from: after `</think>` when there is one, so a call
/// merely drafted while thinking is not run.
fn after_think(turn: &str) -> &str {
    match turn.rfind("</think>") {
        Some(i) => &turn[i + "</think>".len()..],
        None => turn,
    }
}

/// Every `<tool_call>` block of the turn, in order: a call, or why it is not one. An
/// unclosed block ends the list.
pub fn parse_tool_calls(turn: &str) -> Vec<Result<ToolCall, CallError>> {
    let mut calls = Vec::new();
    let mut rest = after_think(turn);
    while let Some(open) = rest.find(OPEN) {
        let body_start = open + OPEN.len();
        let Some(len) = rest[body_start..].find(CLOSE) else {
            calls.push(Err(CallError::Unclosed));
            break;
        };
        calls.push(parse_call(&rest[body_start..body_start + len]));
        rest = &rest[body_start + len + CLOSE.len()..];
    }
    calls
}

/// One block's JSON. `arguments` may be an object or a string holding one (some models
/// emit the OpenAI wire form); a missing `arguments` is an empty object.
pub fn parse_call(body: &str) -> Result<ToolCall, CallError> {
    let value: Value =
        serde_json::from_str(body.trim()).map_err(|e| CallError::BadJson(e.to_string()))?;
    let Value::Object(mut obj) = value else {
        return Err(CallError::NotAnObject);
    };
    let name = match obj.remove("name") {
        Some(Value::String(n)) if !n.trim().is_empty() => n.trim().to_string(),
        _ => return Err(CallError::MissingName),
    };
    let arguments = match obj.remove("arguments") {
        None | Some(Value::Null) => serde_json::Map::new(),
        Some(Value::Object(a)) => a,
        Some(Value::String(s)) => match serde_json::from_str(&s) {
            Ok(Value::Object(a)) => a,
            _ => return Err(CallError::ArgumentsNotObject),
        },
        Some(_) => return Err(CallError::ArgumentsNotObject),
    };
    Ok(ToolCall { name, arguments })
}

/// A call as a model writes it, for reference episodes.
pub fn render_call(name: &str, arguments: &Value) -> String {
    // Name first, as models are trained to write it.
    let name = spaced_json(&Value::String(name.to_string()));
    let args = spaced_json(arguments);
    format!("{OPEN}\n{{\"name\": {name}, \"arguments\": {args}}}\n{CLOSE}")
}

/// A tool as an OpenAI / Qwen2.5 `tools` entry: `{"type": "function", "function": spec}`.
pub fn tool_object(spec: &ToolSpec) -> Value {
    serde_json::json!({
        "type": "function",
        "function": {
            "name": spec.name,
            "description": spec.description,
            "parameters": spec.parameters,
        }
    })
}

/// The tools block of a system prompt, laid out as Qwen2.5's chat template lays it out.
pub fn render_tools(tools: &[ToolSpec]) -> String {
    let mut out =
        String::from("# Tools\n\nYou have functions you may call to help with the task.\n\n");
    out.push_str("Their signatures are listed inside <tools></tools> XML tags:\n<tools>");
    for spec in tools {
        // Keys in the template's order: type, then function's name, description, parameters.
        out.push_str("\n{\"type\": \"function\", \"function\": {\"name\": ");
        out.push_str(&spaced_json(&Value::String(spec.name.clone())));
        out.push_str(", \"description\": ");
        out.push_str(&spaced_json(&Value::String(spec.description.clone())));
        out.push_str(", \"parameters\": ");
        out.push_str(&spaced_json(&spec.parameters));
        out.push_str("}}");
    }
    out.push_str("\n</tools>\n\n");
    out.push_str(
        "To call a function, write a JSON object with its name and arguments inside \
         <tool_call></tool_call> XML tags, one call per block:\n<tool_call>\n\
         {\"name\": <function-name>, \"arguments\": <args-json-object>}\n</tool_call>",
    );
    out
}

/// JSON with `", "` and `": "` separators (how Python's `json.dumps` writes, which the
/// chat templates use). Object keys in serde_json's order.
pub fn spaced_json(v: &Value) -> String {
    let mut out = String::new();
    write_spaced(v, &mut out);
    out
}

fn write_spaced(v: &Value, out: &mut String) {
    match v {
        Value::Array(items) => {
            out.push('[');
            for (i, x) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_spaced(x, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (k, x)) in map.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push_str(": ");
                write_spaced(x, out);
            }
            out.push('}');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn calls_are_found_with_any_whitespace_and_string_arguments() {
        let turn = "Let me compute.\n<tool_call>\n  {\"name\": \"calculator\", \"arguments\": \
                    {\"expression\": \"2*3\"}}\n</tool_call><tool_call>{\"name\": \"python\", \
                    \"arguments\": \"{\\\"code\\\": \\\"print(1)\\\"}\"}</tool_call>";
        let calls = parse_tool_calls(turn);
        assert_eq!(calls.len(), 2);
        let a = calls[0].as_ref().unwrap();
        assert_eq!(
            (a.name.as_str(), &a.arguments["expression"]),
            ("calculator", &json!("2*3"))
        );
        let b = calls[1].as_ref().unwrap();
        assert_eq!(
            (b.name.as_str(), &b.arguments["code"]),
            ("python", &json!("print(1)"))
        );
        assert!(has_tool_call(turn));
        assert!(parse_tool_calls("<answer>6</answer>").is_empty());
    }

    #[test]
    fn malformed_calls_are_errors_not_crashes() {
        let one = |body: &str| parse_tool_calls(&format!("<tool_call>{body}</tool_call>"));
        assert!(matches!(one("{not json")[0], Err(CallError::BadJson(_))));
        assert_eq!(one("[1, 2]")[0], Err(CallError::NotAnObject));
        assert_eq!(one(r#"{"arguments": {}}"#)[0], Err(CallError::MissingName));
        assert_eq!(one(r#"{"name": 3}"#)[0], Err(CallError::MissingName));
        assert_eq!(
            one(r#"{"name": "c", "arguments": [1]}"#)[0],
            Err(CallError::ArgumentsNotObject)
        );
        assert_eq!(
            one(r#"{"name": "c", "arguments": "not an object"}"#)[0],
            Err(CallError::ArgumentsNotObject)
        );
        assert_eq!(
            parse_tool_calls("<tool_call>{\"name\": \"c\"}")[0],
            Err(CallError::Unclosed)
        );
        let ok = one(r#"{"name": "c"}"#);
        assert!(ok[0].as_ref().unwrap().arguments.is_empty());
        // Huge and nested inputs are just errors.
        assert!(one(&"[".repeat(100_000))[0].is_err());
        assert_eq!(parse_tool_calls(&"<tool_call>".repeat(10_000)).len(), 1);
    }

    #[test]
    fn calls_drafted_while_thinking_are_not_run() {
        let turn = "<think><tool_call>{\"name\": \"x\"}</tool_call></think><answer>1</answer>";
        assert!(parse_tool_calls(turn).is_empty() && !has_tool_call(turn));
    }

    #[test]
    fn rendered_calls_parse_back() {
        let text = render_call("calculator", &json!({"expression": "12*34"}));
        assert_eq!(
            text,
            "<tool_call>\n{\"name\": \"calculator\", \"arguments\": {\"expression\": \"12*34\"}}\n</tool_call>"
        );
        let call = parse_tool_calls(&text).remove(0).unwrap();
        assert_eq!(call.name, "calculator");
    }

    #[test]
    fn tools_block_has_one_function_object_per_line() {
        let spec = ToolSpec {
            name: "calculator".into(),
            description: "Exact arithmetic.".into(),
            parameters: json!({"type": "object", "properties": {"expression": {"type": "string"}}}),
        };
        let text = render_tools(&[spec.clone(), spec.clone()]);
        assert!(text.starts_with("# Tools\n"));
        let inside = text
            .split("<tools>\n")
            .nth(1)
            .unwrap()
            .split("\n</tools>")
            .next()
            .unwrap();
        let lines: Vec<&str> = inside.lines().collect();
        assert_eq!(lines.len(), 2);
        for l in lines {
            assert!(
                l.starts_with("{\"type\": \"function\", \"function\": {\"name\": \"calculator\"")
            );
            assert_eq!(
                serde_json::from_str::<Value>(l).unwrap(),
                tool_object(&spec)
            );
        }
        assert!(text.contains("<tool_call></tool_call>") && text.contains("\"arguments\""));
    }
}
