//! Requests to `/v1/completions` and `/v1/chat/completions` in the OpenAI API's shapes
//! (platform.openai.com/docs/api-reference), checked and turned into the model thread's
//! sequences; refusals as OpenAI's error object.

use super::scheduler::JobSeq;
use crate::policy::tokenizer::Tokenizer;
use crate::rollout::sampler::{SamplingParams, MAX_STOP_STRING_BYTES};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Map, Value};

/// A refused request: OpenAI's `{"error": {"message", "type", "param", "code"}}`.
#[derive(Debug, Clone)]
pub(crate) struct ApiError {
    pub status: StatusCode,
    pub message: String,
    pub kind: &'static str,
    pub param: Option<String>,
    pub code: Option<&'static str>,
}

impl ApiError {
    /// A 400 about `param`.
    pub fn invalid(param: &str, message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
            kind: "invalid_request_error",
            param: (!param.is_empty()).then(|| param.to_string()),
            code: None,
        }
    }

    pub fn with_status(mut self, status: StatusCode) -> ApiError {
        self.status = status;
        self
    }

    pub fn with_code(mut self, code: &'static str) -> ApiError {
        self.code = Some(code);
        self
    }

    /// A failure on the server's side (5xx).
    pub fn server(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
            kind: "server_error",
            param: None,
            code: None,
        }
    }

    pub fn body(&self) -> Value {
        json!({"error": {
            "message": self.message,
            "type": self.kind,
            "param": self.param,
            "code": self.code,
        }})
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body())).into_response()
    }
}

/// Which endpoint a request came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Endpoint {
    Completions,
    Chat,
}

/// What a request may ask for.
#[derive(Debug, Clone)]
pub(crate) struct Limits {
    pub max_n: usize,
    pub max_prompts: usize,
    pub max_tokens: usize,
    /// Prompt plus completion tokens (at most the model's positions).
    pub max_model_len: usize,
    pub vocab_size: usize,
}

/// Most alternatives per token (`logprobs` of completions, `top_logprobs` of chat).
pub(crate) const MAX_TOP_LOGPROBS: usize = 20;
/// Most stop strings per request.
pub(crate) const MAX_STOPS: usize = 16;

/// The request body's fields, for both endpoints (each reads its own). Unknown fields are
/// ignored, as OpenAI's clients send some this server has no use for; known ones it does
/// not implement are refused when set to anything but their default.
#[derive(Debug, Default, Deserialize)]
struct Body {
    model: Option<String>,
    prompt: Option<Value>,
    messages: Option<Vec<Message>>,
    n: Option<u64>,
    temperature: Option<f64>,
    top_p: Option<f64>,
    /// vLLM's extension: -1 or 0 keeps every token.
    top_k: Option<i64>,
    /// vLLM's extension.
    min_p: Option<f64>,
    max_tokens: Option<u64>,
    max_completion_tokens: Option<u64>,
    stop: Option<Value>,
    seed: Option<i64>,
    logprobs: Option<Value>,
    top_logprobs: Option<u64>,
    stream: Option<bool>,
    stream_options: Option<StreamOptions>,
    /// vLLM's extension: keep sampling past the end-of-sequence token (benchmarks).
    ignore_eos: Option<bool>,
    echo: Option<bool>,
    best_of: Option<u64>,
    presence_penalty: Option<f64>,
    frequency_penalty: Option<f64>,
    logit_bias: Option<Map<String, Value>>,
    suffix: Option<String>,
    tools: Option<Vec<Value>>,
    response_format: Option<Value>,
}

#[derive(Debug, Default, Deserialize)]
struct StreamOptions {
    include_usage: Option<bool>,
}

#[derive(Debug, Deserialize)]
struct Message {
    role: String,
    content: Option<Value>,
}

/// A checked request: encoded prompts and the settings of their choices.
#[derive(Debug)]
pub(crate) struct Prepared {
    pub endpoint: Endpoint,
    pub prompts: Vec<Vec<i64>>,
    /// Choices per prompt.
    pub n: usize,
    /// Per prompt (its `max_new_tokens` defaults to what its length leaves).
    pub params: Vec<SamplingParams>,
    pub seed: Option<u64>,
    /// `Some(k)`: report log-probabilities, with the k most likely tokens.
    pub logprobs: Option<usize>,
    pub stream: bool,
    pub include_usage: bool,
}

impl Prepared {
    /// The model thread's sequences: choice `i * n + j` is prompt i's j-th, seeded with
    /// `seed + j` (so each prompt's choices equal a one-prompt request's).
    pub fn seqs(&self, seed: u64) -> Vec<JobSeq> {
        let mut seqs = Vec::with_capacity(self.prompts.len() * self.n);
        for (i, (prompt, params)) in self.prompts.iter().zip(&self.params).enumerate() {
            for j in 0..self.n {
                seqs.push(JobSeq {
                    choice: i * self.n + j,
                    prompt: prompt.clone(),
                    params: params.clone(),
                    seed: seed.wrapping_add(j as u64),
                    top_logprobs: self.logprobs.unwrap_or(0),
                });
            }
        }
        seqs
    }

    pub fn prompt_tokens(&self) -> usize {
        self.prompts.iter().map(Vec::len).sum()
    }
}

/// Checks a request body and encodes its prompts.
pub(crate) fn prepare(
    endpoint: Endpoint,
    bytes: &[u8],
    model_name: &str,
    tok: &Tokenizer,
    limits: &Limits,
) -> Result<Prepared, ApiError> {
    let value: Value = serde_json::from_slice(bytes)
        .map_err(|e| ApiError::invalid("", format!("invalid JSON body: {e}")))?;
    if !value.is_object() {
        return Err(ApiError::invalid(
            "",
            "the request body must be a JSON object",
        ));
    }
    let body: Body = serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        ApiError::invalid(&path, format!("{path}: {}", e.inner()))
    })?;
    if let Some(m) = body.model.as_deref() {
        if m != model_name {
            return Err(ApiError {
                status: StatusCode::NOT_FOUND,
                message: format!("The model `{m}` does not exist; this server has `{model_name}`"),
                kind: "invalid_request_error",
                param: Some("model".into()),
                code: Some("model_not_found"),
            });
        }
    }
    refuse_unsupported(&body)?;
    let n = in_range("n", body.n.unwrap_or(1), 1, limits.max_n as u64)? as usize;
    let temperature = body.temperature.unwrap_or(1.0);
    if !(temperature.is_finite() && (0.0..=2.0).contains(&temperature)) {
        return Err(ApiError::invalid(
            "temperature",
            "temperature must be in [0, 2]",
        ));
    }
    let top_p = body.top_p.unwrap_or(1.0);
    if !(top_p > 0.0 && top_p <= 1.0) {
        return Err(ApiError::invalid("top_p", "top_p must be in (0, 1]"));
    }
    let top_k = match body.top_k.unwrap_or(0) {
        -1 | 0 => 0,
        k if k > 0 => k as usize,
        _ => {
            return Err(ApiError::invalid(
                "top_k",
                "top_k must be -1, 0 or positive",
            ))
        }
    };
    let min_p = body.min_p.unwrap_or(0.0);
    if !(0.0..1.0).contains(&min_p) {
        return Err(ApiError::invalid("min_p", "min_p must be in [0, 1)"));
    }
    let stop_strings = stops(body.stop.as_ref())?;
    let logprobs = match endpoint {
        Endpoint::Completions => match &body.logprobs {
            None | Some(Value::Null) => None,
            Some(v) => match v.as_u64() {
                Some(k) => Some(in_range("logprobs", k, 0, MAX_TOP_LOGPROBS as u64)? as usize),
                None => {
                    return Err(ApiError::invalid(
                        "logprobs",
                        format!("logprobs must be an integer 0..={MAX_TOP_LOGPROBS}"),
                    ))
                }
            },
        },
        Endpoint::Chat => {
            let on = match &body.logprobs {
                None | Some(Value::Null) => false,
                Some(Value::Bool(b)) => *b,
                Some(_) => return Err(ApiError::invalid("logprobs", "logprobs must be a boolean")),
            };
            let top = match body.top_logprobs {
                Some(k) => in_range("top_logprobs", k, 0, MAX_TOP_LOGPROBS as u64)? as usize,
                None => 0,
            };
            if top > 0 && !on {
                return Err(ApiError::invalid(
                    "top_logprobs",
                    "top_logprobs needs logprobs set to true",
                ));
            }
            on.then_some(top)
        }
    };
    let (prompts, param) = match endpoint {
        Endpoint::Completions => (completion_prompts(&body, tok, limits)?, "prompt"),
        Endpoint::Chat => (vec![chat_prompt(&body, tok)?], "messages"),
    };
    let requested = match endpoint {
        Endpoint::Completions => body.max_tokens,
        Endpoint::Chat => body.max_completion_tokens.or(body.max_tokens),
    };
    if let Some(m) = requested {
        in_range("max_tokens", m, 1, limits.max_tokens as u64)?;
    }
    let stop_token_ids = match body.ignore_eos {
        Some(true) => Vec::new(),
        _ => tok.eos_ids().to_vec(),
    };
    let mut params = Vec::with_capacity(prompts.len());
    for p in &prompts {
        let room = limits.max_model_len.saturating_sub(p.len());
        let max_new_tokens = match requested {
            Some(m) => m as usize,
            None => room.min(limits.max_tokens),
        };
        if max_new_tokens == 0 || max_new_tokens > room {
            return Err(ApiError::invalid(
                param,
                format!(
                    "This model's maximum context length is {} tokens. However, you requested \
                     {} tokens ({} in the {param}, {} in the completion). Please reduce the \
                     length of the {param} or completion.",
                    limits.max_model_len,
                    p.len() + max_new_tokens.max(1),
                    p.len(),
                    max_new_tokens.max(1)
                ),
            )
            .with_code("context_length_exceeded"));
        }
        params.push(SamplingParams {
            max_new_tokens,
            temperature,
            top_k,
            top_p,
            min_p,
            stop_token_ids: stop_token_ids.clone(),
            stop_strings: stop_strings.clone(),
            ..Default::default()
        });
    }
    let stream = body.stream.unwrap_or(false);
    Ok(Prepared {
        endpoint,
        prompts,
        n,
        params,
        seed: body.seed.map(|s| s as u64),
        logprobs,
        stream,
        include_usage: stream
            && body
                .stream_options
                .as_ref()
                .and_then(|o| o.include_usage)
                .unwrap_or(false),
    })
}

fn in_range(param: &str, v: u64, lo: u64, hi: u64) -> Result<u64, ApiError> {
    if v < lo || v > hi {
        return Err(ApiError::invalid(
            param,
            format!("{param} must be in {lo}..={hi} on this server, got {v}"),
        ));
    }
    Ok(v)
}

/// Fields of OpenAI's API this server does not implement, refused unless at their default.
fn refuse_unsupported(b: &Body) -> Result<(), ApiError> {
    let unsupported = [
        ("echo", b.echo == Some(true)),
        (
            "best_of",
            b.best_of.is_some_and(|k| Some(k) != b.n.or(Some(1))),
        ),
        (
            "presence_penalty",
            b.presence_penalty.is_some_and(|p| p != 0.0),
        ),
        (
            "frequency_penalty",
            b.frequency_penalty.is_some_and(|p| p != 0.0),
        ),
        (
            "logit_bias",
            b.logit_bias.as_ref().is_some_and(|m| !m.is_empty()),
        ),
        ("suffix", b.suffix.as_ref().is_some_and(|s| !s.is_empty())),
        ("tools", b.tools.as_ref().is_some_and(|t| !t.is_empty())),
        (
            "response_format",
            b.response_format
                .as_ref()
                .is_some_and(|f| f.get("type").and_then(Value::as_str) != Some("text")),
        ),
    ];
    match unsupported.iter().find(|(_, set)| *set) {
        Some((name, _)) => Err(ApiError::invalid(
            name,
            format!("{name} is not supported by this server"),
        )),
        None => Ok(()),
    }
}

/// `stop`: null, a string, or a list of strings.
fn stops(v: Option<&Value>) -> Result<Vec<String>, ApiError> {
    let list = match v {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| i.as_str().map(str::to_string))
            .collect::<Option<Vec<String>>>()
            .ok_or_else(|| {
                ApiError::invalid("stop", "stop must be a string or a list of strings")
            })?,
        Some(_) => {
            return Err(ApiError::invalid(
                "stop",
                "stop must be a string or a list of strings",
            ))
        }
    };
    if list.len() > MAX_STOPS {
        return Err(ApiError::invalid(
            "stop",
            format!("at most {MAX_STOPS} stop strings, got {}", list.len()),
        ));
    }
    if let Some(s) = list
        .iter()
        .find(|s| s.is_empty() || s.len() > MAX_STOP_STRING_BYTES)
    {
        return Err(ApiError::invalid(
            "stop",
            format!(
                "stop strings must be 1..={MAX_STOP_STRING_BYTES} bytes, got {} bytes",
                s.len()
            ),
        ));
    }
    Ok(list)
}

/// `prompt`: a string, a list of strings, a list of token ids or a list of such lists.
/// Text is encoded as given (no template), with the tokenizer's special tokens (BOS).
fn completion_prompts(
    body: &Body,
    tok: &Tokenizer,
    limits: &Limits,
) -> Result<Vec<Vec<i64>>, ApiError> {
    let bad = || {
        ApiError::invalid(
            "prompt",
            "prompt must be a string, a list of strings, a list of token ids or a list of lists \
             of token ids",
        )
    };
    let encode = |s: &str| {
        tok.encode(s, true)
            .map_err(|e| ApiError::invalid("prompt", e.to_string()))
    };
    let ids = |items: &[Value]| -> Result<Vec<i64>, ApiError> {
        items
            .iter()
            .map(|v| {
                v.as_i64()
                    .filter(|&t| t >= 0 && (t as u64) < limits.vocab_size as u64)
                    .ok_or_else(|| {
                        ApiError::invalid(
                            "prompt",
                            format!(
                                "token ids must be integers in 0..{}, got {v}",
                                limits.vocab_size
                            ),
                        )
                    })
            })
            .collect()
    };
    let prompts = match &body.prompt {
        None | Some(Value::Null) => return Err(ApiError::invalid("prompt", "prompt is required")),
        Some(Value::String(s)) => vec![encode(s)?],
        Some(Value::Array(items)) if items.is_empty() => return Err(bad()),
        Some(Value::Array(items)) => match items.first() {
            Some(Value::String(_)) => {
                check_count(items.len(), limits)?;
                items
                    .iter()
                    .map(|v| v.as_str().ok_or_else(bad).and_then(encode))
                    .collect::<Result<_, _>>()?
            }
            Some(Value::Number(_)) => vec![ids(items)?],
            Some(Value::Array(_)) => {
                check_count(items.len(), limits)?;
                items
                    .iter()
                    .map(|v| v.as_array().ok_or_else(bad).and_then(|a| ids(a)))
                    .collect::<Result<_, _>>()?
            }
            _ => return Err(bad()),
        },
        Some(_) => return Err(bad()),
    };
    if prompts.iter().any(Vec::is_empty) {
        return Err(ApiError::invalid(
            "prompt",
            "a prompt encodes to no tokens; give at least one character",
        ));
    }
    Ok(prompts)
}

fn check_count(n: usize, limits: &Limits) -> Result<(), ApiError> {
    if n > limits.max_prompts {
        return Err(ApiError::invalid(
            "prompt",
            format!(
                "at most {} prompts per request, got {n}",
                limits.max_prompts
            ),
        ));
    }
    Ok(())
}

/// `messages` rendered with the tokenizer's chat template (generation prompt appended)
/// and encoded as is (the template writes any BOS itself).
fn chat_prompt(body: &Body, tok: &Tokenizer) -> Result<Vec<i64>, ApiError> {
    let messages = match &body.messages {
        Some(m) if !m.is_empty() => m,
        _ => {
            return Err(ApiError::invalid(
                "messages",
                "messages must be a non-empty list",
            ))
        }
    };
    let template = tok.chat_template().ok_or_else(|| {
        ApiError::invalid(
            "messages",
            "this model has no chat template; use /v1/completions with a prompt",
        )
    })?;
    let mut turns: Vec<(&str, String)> = Vec::with_capacity(messages.len());
    for (i, m) in messages.iter().enumerate() {
        let role = match m.role.as_str() {
            "system" | "developer" => "system",
            "user" => "user",
            "assistant" => "assistant",
            other => {
                return Err(ApiError::invalid(
                    &format!("messages[{i}].role"),
                    format!("role {other:?} is not supported (system, developer, user, assistant)"),
                ))
            }
        };
        turns.push((role, content_text(m.content.as_ref(), i)?));
    }
    let pairs: Vec<(&str, &str)> = turns.iter().map(|(r, c)| (*r, c.as_str())).collect();
    let text = template.render(&pairs, true);
    let ids = tok
        .encode(&text, false)
        .map_err(|e| ApiError::invalid("messages", e.to_string()))?;
    if ids.is_empty() {
        return Err(ApiError::invalid(
            "messages",
            "the messages encode to no tokens",
        ));
    }
    Ok(ids)
}

/// A message's content: a string, a list of text parts, or null (empty).
fn content_text(content: Option<&Value>, i: usize) -> Result<String, ApiError> {
    let param = format!("messages[{i}].content");
    match content {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(Value::Array(parts)) => {
            let mut text = String::new();
            for p in parts {
                match (
                    p.get("type").and_then(Value::as_str),
                    p.get("text").and_then(Value::as_str),
                ) {
                    (Some("text"), Some(t)) => text.push_str(t),
                    _ => {
                        return Err(ApiError::invalid(
                            &param,
                            "only text content parts ({\"type\": \"text\", \"text\": ...}) are \
                             supported",
                        ))
                    }
                }
            }
            Ok(text)
        }
        Some(_) => Err(ApiError::invalid(
            &param,
            "content must be a string or a list of text parts",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Limits {
        Limits {
            max_n: 4,
            max_prompts: 3,
            max_tokens: 50,
            max_model_len: 100,
            vocab_size: 267,
        }
    }

    fn prep(endpoint: Endpoint, body: Value) -> Result<Prepared, ApiError> {
        let tok = Tokenizer::builtin();
        prepare(endpoint, body.to_string().as_bytes(), "m", &tok, &limits())
    }

    #[test]
    fn requests_are_checked_with_openai_errors() {
        let bad = |endpoint, body: Value, param: &str| {
            let e = prep(endpoint, body.clone()).unwrap_err();
            assert_eq!(e.param.as_deref(), Some(param), "{body}: {}", e.message);
            assert!(e.status.is_client_error());
        };
        let c = Endpoint::Completions;
        bad(c, json!({"prompt": "hi", "n": 5}), "n");
        bad(c, json!({"prompt": "hi", "n": -1}), "n");
        bad(c, json!({"prompt": "hi", "n": "2"}), "n");
        bad(c, json!({"prompt": "hi", "max_tokens": 51}), "max_tokens");
        bad(
            c,
            json!({"prompt": "x".repeat(99), "max_tokens": 2}),
            "prompt",
        );
        bad(c, json!({"prompt": "x".repeat(100)}), "prompt");
        bad(c, json!({"prompt": ["a", "b", "c", "d"]}), "prompt");
        bad(c, json!({"prompt": [1, 999]}), "prompt");
        bad(c, json!({"prompt": ""}), "prompt");
        bad(c, json!({"prompt": "hi", "temperature": -1}), "temperature");
        bad(c, json!({"prompt": "hi", "top_p": 0}), "top_p");
        bad(c, json!({"prompt": "hi", "stop": [""]}), "stop");
        bad(c, json!({"prompt": "hi", "stop": 3}), "stop");
        bad(c, json!({"prompt": "hi", "logprobs": 21}), "logprobs");
        bad(c, json!({"prompt": "hi", "echo": true}), "echo");
        bad(
            c,
            json!({"prompt": "hi", "presence_penalty": 1.0}),
            "presence_penalty",
        );
        bad(c, json!({"prompt": "hi", "model": "other"}), "model");
        let chat = Endpoint::Chat;
        bad(chat, json!({"messages": []}), "messages");
        bad(
            chat,
            json!({"messages": [{"role": "tool", "content": "x"}]}),
            "messages[0].role",
        );
        bad(
            chat,
            json!({"messages": [{"role": "user", "content": 3}]}),
            "messages[0].content",
        );
        bad(
            chat,
            json!({"messages": [{"role": "user", "content": "x"}], "top_logprobs": 2}),
            "top_logprobs",
        );
        bad(
            chat,
            json!({"messages": [{"role": "user", "content": "x"}], "logprobs": 2}),
            "logprobs",
        );
        let e = prep(c, json!({"prompt": "hi", "model": "other"})).unwrap_err();
        assert_eq!(e.status, StatusCode::NOT_FOUND);
        assert_eq!(e.code, Some("model_not_found"));
        let tok = Tokenizer::builtin();
        let e = prepare(c, b"{nope", "m", &tok, &limits()).unwrap_err();
        assert!(e.message.starts_with("invalid JSON body"), "{}", e.message);
        assert!(prepare(c, b"[1]", "m", &tok, &limits()).is_err());
    }

    #[test]
    fn prompts_and_defaults() {
        let p = prep(
            Endpoint::Completions,
            json!({"prompt": ["ab", "c"], "n": 2, "seed": 7, "stop": "x", "logprobs": 0}),
        )
        .unwrap();
        assert_eq!(p.prompts.len(), 2);
        // No max_tokens: what the prompt leaves of max_model_len, capped by max_tokens.
        assert_eq!(p.params[0].max_new_tokens, 50);
        assert_eq!(p.params[0].stop_strings, vec!["x".to_string()]);
        assert_eq!(p.params[0].stop_token_ids, vec![2]);
        let seqs = p.seqs(7);
        let order: Vec<(usize, u64)> = seqs.iter().map(|s| (s.choice, s.seed)).collect();
        assert_eq!(order, vec![(0, 7), (1, 8), (2, 7), (3, 8)]);
        assert_eq!(p.logprobs, Some(0));
        let ids = prep(
            Endpoint::Completions,
            json!({"prompt": [[5, 6], [7]], "ignore_eos": true}),
        )
        .unwrap();
        assert_eq!(ids.prompts, vec![vec![5, 6], vec![7]]);
        assert!(ids.params[0].stop_token_ids.is_empty());
        let chat = prep(
            Endpoint::Chat,
            json!({"messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}],
                   "max_completion_tokens": 3, "logprobs": true, "top_logprobs": 2,
                   "stream": true, "stream_options": {"include_usage": true}}),
        )
        .unwrap();
        assert_eq!(chat.params[0].max_new_tokens, 3);
        assert_eq!(chat.logprobs, Some(2));
        assert!(chat.stream && chat.include_usage);
    }
}
