//! `verigym serve`: the command line of the OpenAI-compatible server (the server itself is
//! `verigym_trainer::serve`).

use super::policy::Dtype;
use anyhow::{bail, Context, Result};
use std::path::PathBuf;
use std::time::Duration;
use verigym_trainer::rollout::sampler::KvCacheDtype;
use verigym_trainer::serve::{self, ServeOptions};
use verigym_trainer::DeviceChoice;

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Checkpoint folder (config.json, safetensors, tokenizer.json).
    #[arg(long)]
    pub model: PathBuf,
    /// The model id clients name in requests (default: the folder's name).
    #[arg(long)]
    pub served_model_name: Option<String>,
    /// Address to listen on; loopback unless you mean to expose the model.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// 0 lets the OS pick a free port (the listening line on stdout names it).
    #[arg(long, default_value_t = 8000)]
    pub port: u16,
    /// An environment variable holding the API key; every /v1 request must then send
    /// `Authorization: Bearer <key>`.
    #[arg(long)]
    pub api_key_env: Option<String>,
    /// Sequences decoded together at most; requests beyond wait for a place.
    #[arg(long, default_value_t = 64)]
    pub max_batch: usize,
    /// Most choices (`n`) per request.
    #[arg(long, default_value_t = 16)]
    pub max_n: usize,
    /// Most prompts in one /v1/completions request.
    #[arg(long, default_value_t = 64)]
    pub max_prompts: usize,
    /// Largest `max_tokens` a request may ask for (also caps the default, which is what
    /// the prompt leaves of the model's length).
    #[arg(long, default_value_t = 4096)]
    pub max_tokens_limit: usize,
    /// Prompt plus completion tokens per sequence (default: the model's positions).
    #[arg(long)]
    pub max_model_len: Option<usize>,
    /// Largest request body, in bytes.
    #[arg(long, default_value_t = 4 << 20)]
    pub max_body_bytes: usize,
    /// Sequences that may wait for a place in the batch; more get 429.
    #[arg(long, default_value_t = 4096)]
    pub max_waiting: usize,
    /// Seconds a client may take to send its request body.
    #[arg(long, default_value_t = 30)]
    pub body_timeout_s: u64,
    /// Seconds in-flight requests get to finish after SIGTERM or ctrl-c.
    #[arg(long, default_value_t = 30)]
    pub shutdown_grace_s: u64,
    #[arg(long, default_value = "auto")]
    pub device: DeviceChoice,
    #[arg(long, value_enum, default_value = "float32")]
    pub dtype: Dtype,
    /// KV cache dtype (bf16: less memory traffic, bf16-rounded attention).
    #[arg(long, value_enum, default_value = "auto")]
    pub kv_cache_dtype: KvCacheDtype,
}

pub fn run(a: &ServeArgs) -> Result<()> {
    let api_key = match &a.api_key_env {
        Some(name) => match std::env::var(name) {
            Ok(key) if !key.trim().is_empty() => Some(key.trim().to_string()),
            _ => bail!("--api-key-env {name}: the environment variable is unset or empty"),
        },
        None => None,
    };
    let device = a.device.resolve().map_err(anyhow::Error::msg)?;
    serve::run(ServeOptions {
        model_dir: a.model.clone(),
        served_model_name: a.served_model_name.clone(),
        host: a.host.clone(),
        port: a.port,
        api_key,
        device,
        kind: a.dtype.kind(),
        kv_cache_dtype: a.kv_cache_dtype,
        max_batch: a.max_batch,
        max_n: a.max_n,
        max_prompts: a.max_prompts,
        max_tokens: a.max_tokens_limit,
        max_model_len: a.max_model_len,
        max_body_bytes: a.max_body_bytes,
        max_waiting: a.max_waiting,
        body_timeout: Duration::from_secs(a.body_timeout_s),
        shutdown_grace: Duration::from_secs(a.shutdown_grace_s),
    })
    .with_context(|| format!("serving {}", a.model.display()))
}
