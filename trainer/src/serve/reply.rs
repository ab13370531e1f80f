//! Replies to the generation endpoints in the OpenAI API's shapes, built from the tokens
//! the model thread sends back: the whole reply once every choice has finished, or
//! server-sent-event chunks as tokens arrive (text held back while it could still be the
//! start of a stop string, which a reply never contains, as OpenAI's).

use super::api::{ApiError, Endpoint, Prepared};
use super::scheduler::Update;
use crate::policy::tokenizer::Tokenizer;
use crate::rollout::sampler::FinishReason;
use axum::http::StatusCode;
use serde_json::{json, Map, Value};
use std::sync::Arc;

/// One choice's tokens as they arrive.
#[derive(Debug, Default)]
struct Choice {
    tokens: Vec<i64>,
    logprobs: Vec<f32>,
    tops: Vec<Vec<(i64, f32)>>,
    finish: Option<FinishReason>,
    /// Text already streamed.
    sent: String,
}

/// The reply to one request, built from the model thread's updates.
pub(crate) struct Reply {
    endpoint: Endpoint,
    id: String,
    created: u64,
    model: Arc<str>,
    tok: Arc<Tokenizer>,
    prompt_tokens: usize,
    stops: Vec<String>,
    logprobs: Option<usize>,
    /// Whether updates become stream chunks (else only the whole reply is built).
    stream: bool,
    choices: Vec<Choice>,
}

impl Reply {
    pub fn new(p: &Prepared, model: Arc<str>, tok: Arc<Tokenizer>) -> Reply {
        let prefix = match p.endpoint {
            Endpoint::Completions => "cmpl",
            Endpoint::Chat => "chatcmpl",
        };
        Reply {
            endpoint: p.endpoint,
            id: format!("{prefix}-{:016x}", super::fresh_u64()),
            created: super::unix_seconds(),
            model,
            tok,
            prompt_tokens: p.prompt_tokens(),
            stops: p
                .params
                .first()
                .map(|q| q.stop_strings.clone())
                .unwrap_or_default(),
            logprobs: p.logprobs,
            stream: p.stream,
            choices: (0..p.prompts.len() * p.n)
                .map(|_| Choice::default())
                .collect(),
        }
    }

    /// Whether every choice has finished.
    pub fn done(&self) -> bool {
        self.choices.iter().all(|c| c.finish.is_some())
    }

    /// Records an update; returns the stream chunks it makes (empty when it only holds
    /// text back), or the error that ends the request.
    pub fn on_update(&mut self, update: Update) -> Result<Vec<Value>, ApiError> {
        let (choice, token, logprob, top, finish) = match update {
            Update::Token {
                choice,
                token,
                logprob,
                top,
                finish,
            } => (choice, token, logprob, top, finish),
            Update::Failed {
                message,
                client_error,
            } => {
                return Err(if client_error {
                    ApiError::invalid("", message)
                } else {
                    ApiError::server(StatusCode::INTERNAL_SERVER_ERROR, message)
                })
            }
        };
        let Some(c) = self.choices.get_mut(choice) else {
            return Ok(Vec::new());
        };
        c.tokens.push(token);
        c.logprobs.push(logprob);
        c.tops.push(top);
        c.finish = finish;
        if !self.stream {
            return Ok(Vec::new());
        }
        let delta = self.delta(choice);
        let Some(c) = self.choices.get(choice) else {
            return Ok(Vec::new());
        };
        let finish = c.finish.as_ref().map(finish_reason);
        if delta.is_empty() && finish.is_none() && self.logprobs.is_none() {
            return Ok(Vec::new());
        }
        let from = c.tokens.len().saturating_sub(1);
        let logprobs = self.logprobs_json(c, from);
        let choice_json = match self.endpoint {
            Endpoint::Completions => json!({
                "index": choice, "text": delta, "logprobs": logprobs, "finish_reason": finish,
            }),
            Endpoint::Chat => {
                let delta = if delta.is_empty() && finish.is_some() {
                    json!({})
                } else {
                    json!({"content": delta})
                };
                json!({
                    "index": choice, "delta": delta, "logprobs": logprobs,
                    "finish_reason": finish,
                })
            }
        };
        Ok(vec![self.chunk(vec![choice_json])])
    }

    /// The chunks a stream opens with: chat announces the assistant's role per choice.
    pub fn opening(&self) -> Vec<Value> {
        match self.endpoint {
            Endpoint::Completions => Vec::new(),
            Endpoint::Chat => (0..self.choices.len())
                .map(|i| {
                    self.chunk(vec![json!({
                        "index": i, "delta": {"role": "assistant", "content": ""},
                        "logprobs": null, "finish_reason": null,
                    })])
                })
                .collect(),
        }
    }

    /// The stream's usage chunk (`stream_options.include_usage`).
    pub fn usage_chunk(&self) -> Value {
        let mut c = self.chunk(Vec::new());
        if let Some(o) = c.as_object_mut() {
            o.insert("usage".into(), self.usage());
        }
        c
    }

    fn chunk(&self, choices: Vec<Value>) -> Value {
        let object = match self.endpoint {
            Endpoint::Completions => "text_completion",
            Endpoint::Chat => "chat.completion.chunk",
        };
        json!({
            "id": self.id, "object": object, "created": self.created, "model": &*self.model,
            "choices": choices,
        })
    }

    pub fn usage(&self) -> Value {
        let completion: usize = self.choices.iter().map(|c| c.tokens.len()).sum();
        json!({
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": completion,
            "total_tokens": self.prompt_tokens + completion,
        })
    }

    /// The whole reply once every choice has finished.
    pub fn whole(&self) -> Value {
        let choices: Vec<Value> = self
            .choices
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let text = final_text(&self.tok, c);
                let logprobs = self.logprobs_json(c, 0);
                let finish = c.finish.as_ref().map(finish_reason);
                match self.endpoint {
                    Endpoint::Completions => json!({
                        "index": i, "text": text, "logprobs": logprobs, "finish_reason": finish,
                    }),
                    Endpoint::Chat => json!({
                        "index": i,
                        "message": {"role": "assistant", "content": text},
                        "logprobs": logprobs,
                        "finish_reason": finish,
                    }),
                }
            })
            .collect();
        let object = match self.endpoint {
            Endpoint::Completions => "text_completion",
            Endpoint::Chat => "chat.completion",
        };
        json!({
            "id": self.id, "object": object, "created": self.created, "model": &*self.model,
            "choices": choices, "usage": self.usage(),
        })
    }

    /// The text of choice `i` that can be streamed now and was not yet: everything decoded
    /// so far except an unfinished UTF-8 sequence and a tail that could be the start of a
    /// stop string (the reply never contains a stop string, as OpenAI's).
    fn delta(&mut self, i: usize) -> String {
        let Some(c) = self.choices.get(i) else {
            return String::new();
        };
        let full = final_text(&self.tok, c);
        let end = if c.finish.is_some() {
            full.len()
        } else {
            let mut end = full.len();
            if full.ends_with(char::REPLACEMENT_CHARACTER) {
                end -= char::REPLACEMENT_CHARACTER.len_utf8();
            }
            end - held_back(full.get(..end).unwrap_or(""), &self.stops)
        };
        let Some(c) = self.choices.get_mut(i) else {
            return String::new();
        };
        let Some(ready) = full.get(..end) else {
            return String::new();
        };
        // Decoding more tokens can rewrite earlier text (rare); then wait for the end.
        match ready.strip_prefix(c.sent.as_str()) {
            Some(new) if !new.is_empty() => {
                let new = new.to_string();
                c.sent = ready.to_string();
                new
            }
            _ => String::new(),
        }
    }

    /// The log-probabilities of choice `c`'s tokens from `from` on, in the endpoint's
    /// shape; null when the request asked for none. Completions' `text_offset` counts
    /// characters from the first of those tokens, each token's text decoded on its own.
    fn logprobs_json(&self, c: &Choice, from: usize) -> Value {
        let Some(k) = self.logprobs else {
            return Value::Null;
        };
        let piece = |t: i64| self.tok.decode(&[t], false).unwrap_or_default();
        let tokens = c.tokens.get(from..).unwrap_or(&[]);
        let lps = c.logprobs.get(from..).unwrap_or(&[]);
        let tops = c.tops.get(from..).unwrap_or(&[]);
        match self.endpoint {
            Endpoint::Completions => {
                let strings: Vec<String> = tokens.iter().map(|&t| piece(t)).collect();
                let mut offset = 0usize;
                let offsets: Vec<usize> = strings
                    .iter()
                    .map(|s| {
                        let at = offset;
                        offset += s.chars().count();
                        at
                    })
                    .collect();
                let top: Value = if k == 0 {
                    Value::Null
                } else {
                    tops.iter()
                        .map(|alts| {
                            let mut m = Map::new();
                            for &(t, lp) in alts {
                                m.insert(piece(t), json!(lp));
                            }
                            Value::Object(m)
                        })
                        .collect()
                };
                json!({
                    "tokens": strings, "token_logprobs": lps, "top_logprobs": top,
                    "text_offset": offsets,
                })
            }
            Endpoint::Chat => {
                let entry = |t: i64, lp: f32| {
                    let s = piece(t);
                    json!({"token": s, "logprob": lp, "bytes": s.as_bytes()})
                };
                let content: Vec<Value> = tokens
                    .iter()
                    .zip(lps)
                    .zip(tops)
                    .map(|((&t, &lp), alts)| {
                        let mut e = entry(t, lp);
                        let alts: Vec<Value> = alts.iter().map(|&(a, l)| entry(a, l)).collect();
                        if let Some(o) = e.as_object_mut() {
                            o.insert("top_logprobs".into(), Value::Array(alts));
                        }
                        e
                    })
                    .collect();
                json!({"content": content, "refusal": null})
            }
        }
    }
}

/// OpenAI's finish reason: "stop" (a stop token or string) or "length".
fn finish_reason(f: &FinishReason) -> &'static str {
    match f {
        FinishReason::StopToken(_) | FinishReason::StopString(_) => "stop",
        FinishReason::Length => "length",
    }
}

/// A choice's text: its tokens decoded without special tokens, cut before the stop
/// string that ended it.
fn final_text(tok: &Tokenizer, c: &Choice) -> String {
    let mut text = tok.decode(&c.tokens, true).unwrap_or_default();
    if let Some(FinishReason::StopString(s)) = &c.finish {
        if let Some(at) = text.find(s.as_str()) {
            text.truncate(at);
        }
    }
    text
}

/// How many trailing bytes of `text` could begin one of `stops` (held back from a stream
/// until the next tokens tell).
fn held_back(text: &str, stops: &[String]) -> usize {
    stops
        .iter()
        .filter_map(|s| {
            (1..s.len())
                .rev()
                .find(|&k| s.is_char_boundary(k) && text.ends_with(s.get(..k).unwrap_or("")))
        })
        .max()
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::serve::api::{prepare, Limits};

    #[test]
    fn streamed_text_holds_back_possible_stop_strings() {
        let stops = vec!["</answer>".to_string(), "zz".to_string()];
        assert_eq!(held_back("x </ans", &stops), 5);
        assert_eq!(held_back("x z", &stops), 1);
        assert_eq!(held_back("x", &stops), 0);
        assert_eq!(held_back("é", &["éa".to_string()]), 2);
    }

    #[test]
    fn replies_cut_stop_strings_and_count_usage() {
        let tok = Arc::new(Tokenizer::builtin());
        let limits = Limits {
            max_n: 1,
            max_prompts: 1,
            max_tokens: 50,
            max_model_len: 100,
            vocab_size: 267,
        };
        let body = json!({"prompt": "ab", "stop": "cd", "stream": true}).to_string();
        let p = prepare(Endpoint::Completions, body.as_bytes(), "m", &tok, &limits).unwrap();
        let mut r = Reply::new(&p, "m".into(), tok.clone());
        let ids = tok.encode("xycdz", false).unwrap();
        let mut streamed = String::new();
        for (k, &t) in ids.iter().take(4).enumerate() {
            let finish = (k == 3).then(|| FinishReason::StopString("cd".into()));
            let update = Update::Token {
                choice: 0,
                token: t,
                logprob: -0.5,
                top: Vec::new(),
                finish,
            };
            for chunk in r.on_update(update).unwrap() {
                streamed.push_str(chunk["choices"][0]["text"].as_str().unwrap());
            }
        }
        assert!(r.done());
        assert_eq!(streamed, "xy");
        let whole = r.whole();
        assert_eq!(whole["choices"][0]["text"], "xy");
        assert_eq!(whole["choices"][0]["finish_reason"], "stop");
        assert_eq!(whole["usage"]["prompt_tokens"], 2);
        assert_eq!(whole["usage"]["completion_tokens"], 4);
        assert_eq!(whole["usage"]["total_tokens"], 6);
    }
}
