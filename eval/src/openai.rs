//! The OpenAI-compatible client: `openai:BASE_URL#MODEL` (vLLM, SGLang, llama.cpp,
//! `verigym serve`, hosted APIs). One blocking request per task with `n` completions; chat
//! mode posts to `BASE_URL/chat/completions`, completion mode to `BASE_URL/completions`.
//! Failures are classified for the runner's retries (see [`Failure`]).

use crate::backend::{Backend, BackendError, Completion, Failure, PromptInput, Request, Sample};
use serde_json::{json, Value};
use std::time::Duration;

/// Longest error body quoted in a message.
const QUOTE: usize = 300;

pub struct OpenAi {
    base_url: String,
    model: String,
    api_key: Option<String>,
    concurrency: usize,
    agent: ureq::Agent,
}

impl OpenAi {
    /// Parses `openai:BASE_URL#MODEL`; `None` when `spec` does not start with `openai:`.
    pub fn parse_spec(spec: &str) -> Option<Result<(String, String), String>> {
        let rest = spec.strip_prefix("openai:")?;
        Some(match rest.rsplit_once('#') {
            Some((url, model))
                if (url.starts_with("http://") || url.starts_with("https://"))
                    && !model.is_empty() =>
            {
                Ok((url.trim_end_matches('/').to_string(), model.to_string()))
            }
            _ => Err(format!(
                "--model {spec:?}: expected openai:BASE_URL#MODEL_NAME, e.g. \
                 openai:http://127.0.0.1:8000/v1#my-model"
            )),
        })
    }

    pub fn new(
        base_url: String,
        model: String,
        api_key: Option<String>,
        concurrency: usize,
        timeout: Duration,
    ) -> OpenAi {
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            // Error statuses come back as responses, so their bodies can be quoted.
            .http_status_as_error(false)
            .max_idle_connections_per_host(concurrency.max(1))
            .build();
        OpenAi {
            base_url,
            model,
            api_key,
            concurrency: concurrency.max(1),
            agent: ureq::Agent::new_with_config(config),
        }
    }

    fn body(&self, r: &Request) -> Value {
        let mut body = json!({
            "model": self.model,
            "n": r.n,
            "temperature": r.temperature,
            "top_p": r.top_p,
            "max_tokens": r.max_tokens,
            "seed": r.seed,
        });
        if !r.stop.is_empty() {
            body["stop"] = json!(r.stop);
        }
        match &r.prompt {
            PromptInput::Chat(m) => body["messages"] = json!(m),
            PromptInput::Text(t) => body["prompt"] = json!(t),
        }
        body
    }

    fn one(&self, r: &Request) -> Result<Completion, BackendError> {
        let retry = |m: String| BackendError::new(Failure::Retryable, m);
        let (path, chat) = match &r.prompt {
            PromptInput::Chat(_) => ("chat/completions", true),
            PromptInput::Text(_) => ("completions", false),
        };
        let url = format!("{}/{path}", self.base_url);
        let mut req = self.agent.post(&url);
        if let Some(key) = &self.api_key {
            req = req.header("Authorization", &format!("Bearer {key}"));
        }
        let mut resp = req
            .send_json(self.body(r))
            .map_err(|e| retry(format!("POST {url}: {e}")))?;
        let status = resp.status().as_u16();
        let text = resp
            .body_mut()
            .read_to_string()
            .map_err(|e| retry(format!("POST {url}: reading the reply: {e}")))?;
        if status != 200 {
            let failure = match status {
                429 | 500..=599 | 408 => Failure::Retryable,
                401 | 403 | 404 => Failure::Fatal,
                _ => Failure::Item,
            };
            let quoted: String = text.chars().take(QUOTE).collect();
            return Err(BackendError::new(
                failure,
                format!("POST {url}: HTTP {status}: {quoted}"),
            ));
        }
        parse_reply(&text, r.n, chat).map_err(|m| retry(format!("POST {url}: {m}")))
    }
}

/// The `n` completions of a chat or completions reply, in `index` order.
pub fn parse_reply(text: &str, n: usize, chat: bool) -> Result<Completion, String> {
    let v: Value = serde_json::from_str(text).map_err(|e| {
        let quoted: String = text.chars().take(QUOTE).collect();
        format!("the reply is not JSON ({e}): {quoted:?}")
    })?;
    let choices = v
        .get("choices")
        .and_then(Value::as_array)
        .ok_or("the reply has no \"choices\" list")?;
    let mut samples: Vec<(u64, Sample)> = Vec::with_capacity(choices.len());
    for (i, c) in choices.iter().enumerate() {
        let text = if chat {
            c.pointer("/message/content")
        } else {
            c.get("text")
        };
        let text = match text {
            Some(Value::String(s)) => s.clone(),
            // A null content (e.g. only a refusal or tool call) is an empty answer.
            Some(Value::Null) if chat => String::new(),
            _ => return Err(format!("choices[{i}] has no text")),
        };
        let index = c.get("index").and_then(Value::as_u64).unwrap_or(i as u64);
        let finish_reason = c
            .get("finish_reason")
            .and_then(Value::as_str)
            .map(String::from);
        samples.push((
            index,
            Sample {
                text,
                finish_reason,
            },
        ));
    }
    if samples.len() != n {
        return Err(format!("asked for {n} choices, got {}", samples.len()));
    }
    samples.sort_by_key(|(i, _)| *i);
    let completion_tokens = v
        .pointer("/usage/completion_tokens")
        .and_then(Value::as_u64)
        .map(|t| t as usize);
    Ok(Completion {
        samples: samples.into_iter().map(|(_, s)| s).collect(),
        completion_tokens,
    })
}

impl Backend for OpenAi {
    fn describe(&self) -> String {
        format!("openai:{}#{}", self.base_url, self.model)
    }

    fn concurrency(&self) -> usize {
        self.concurrency
    }

    fn shared(&self) -> Option<&(dyn Backend + Sync)> {
        Some(self)
    }

    fn complete(&self, requests: &[Request]) -> Vec<Result<Completion, BackendError>> {
        requests.iter().map(|r| self.one(r)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse_or_explain() {
        assert_eq!(
            OpenAi::parse_spec("openai:http://127.0.0.1:8000/v1/#m-1"),
            Some(Ok(("http://127.0.0.1:8000/v1".into(), "m-1".into())))
        );
        // A model name may itself contain '#'-free slashes.
        assert_eq!(
            OpenAi::parse_spec("openai:https://api.x.ai/v1#org/model"),
            Some(Ok(("https://api.x.ai/v1".into(), "org/model".into())))
        );
        assert!(OpenAi::parse_spec("runs/demo/model").is_none());
        for bad in ["openai:http://x/v1", "openai:x#m", "openai:http://x/v1#"] {
            assert!(matches!(OpenAi::parse_spec(bad), Some(Err(_))), "{bad}");
        }
    }

    #[test]
    fn replies_parse_in_index_order_and_malformed_ones_are_errors() {
        let chat = r#"{"choices": [
            {"index": 1, "message": {"role": "assistant", "content": "b"}, "finish_reason": "length"},
            {"index": 0, "message": {"role": "assistant", "content": "a"}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 3, "completion_tokens": 9, "total_tokens": 12}}"#;
        let c = parse_reply(chat, 2, true).unwrap();
        assert_eq!(c.samples[0].text, "a");
        assert_eq!(c.samples[1].finish_reason.as_deref(), Some("length"));
        assert_eq!(c.completion_tokens, Some(9));
        let text = r#"{"choices": [{"index": 0, "text": "x"}]}"#;
        assert_eq!(parse_reply(text, 1, false).unwrap().samples[0].text, "x");
        assert!(parse_reply(text, 2, false)
            .unwrap_err()
            .contains("asked for 2"));
        assert!(parse_reply("{", 1, true).unwrap_err().contains("not JSON"));
        assert!(parse_reply("{}", 1, true).unwrap_err().contains("choices"));
        assert!(parse_reply(text, 1, true).unwrap_err().contains("no text"));
    }
}
