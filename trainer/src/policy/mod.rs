//! The policy: a Llama / Qwen2 decoder (`model`), its fused CPU decode engine (`engine`,
//! built on `kernels`), its tokenizer, and checkpoints in the Hugging Face layout. `[model]` of every stage's config says which policy to start from:
//! a checkpoint folder, or a fresh model of the given sizes with the built-in tokenizer.

pub mod checkpoint;
pub mod engine;
pub mod lora;
pub mod model;
pub mod tokenizer;

pub use model::{Config, Model, ModelError};
pub use tokenizer::Tokenizer;

use crate::util::config::{within, ConfigError};
use crate::DeviceChoice;
use serde::{Deserialize, Serialize};
use std::path::Path;
use tch::{Device, Kind};

/// The policy to train: a checkpoint directory, or a randomly initialised Llama.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ModelConfig {
    /// HF-layout checkpoint directory (config.json, model.safetensors, tokenizer.json);
    /// empty means a random Llama of the sizes below with the built-in tokenizer.
    pub path: String,
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub intermediate_size: usize,
    pub num_layers: usize,
    pub num_heads: usize,
    pub num_kv_heads: usize,
    pub max_position_embeddings: usize,
    /// Seed of the random initialisation.
    pub init_seed: i64,
    /// float32 | bfloat16
    pub dtype: String,
    pub device: DeviceChoice,
    /// libtorch intra-op threads; 0 keeps libtorch's default.
    pub threads: usize,
}

impl Default for ModelConfig {
    fn default() -> Self {
        ModelConfig {
            path: String::new(),
            vocab_size: 512,
            hidden_size: 256,
            intermediate_size: 768,
            num_layers: 4,
            num_heads: 8,
            num_kv_heads: 8,
            max_position_embeddings: 1024,
            init_seed: 0,
            dtype: "float32".into(),
            device: DeviceChoice::Auto,
            threads: 0,
        }
    }
}

impl ModelConfig {
    /// Range checks of the `[model]` knobs, each error naming its knob.
    pub fn validate(&self) -> Result<(), ConfigError> {
        within("model.vocab_size", self.vocab_size, 1, 1 << 22)?;
        within("model.hidden_size", self.hidden_size, 1, 1 << 16)?;
        within(
            "model.intermediate_size",
            self.intermediate_size,
            1,
            1 << 18,
        )?;
        within("model.num_layers", self.num_layers, 1, 1024)?;
        within("model.num_heads", self.num_heads, 1, 1024)?;
        within("model.num_kv_heads", self.num_kv_heads, 1, self.num_heads)?;
        within(
            "model.max_position_embeddings",
            self.max_position_embeddings,
            2,
            1 << 22,
        )?;
        within("model.threads", self.threads, 0, 1024)?;
        if !self.hidden_size.is_multiple_of(self.num_heads)
            || !self.num_heads.is_multiple_of(self.num_kv_heads)
        {
            return Err(ConfigError::Invalid(format!(
                "model.hidden_size ({}) must be a multiple of model.num_heads ({}), and \
                 model.num_heads of model.num_kv_heads ({})",
                self.hidden_size, self.num_heads, self.num_kv_heads
            )));
        }
        match self.dtype.as_str() {
            "float32" | "bfloat16" => Ok(()),
            other => Err(ConfigError::Invalid(format!(
                "model.dtype '{other}': use float32 or bfloat16"
            ))),
        }
    }

    pub fn kind(&self) -> Kind {
        if self.dtype == "bfloat16" {
            Kind::BFloat16
        } else {
            Kind::Float
        }
    }
}

/// The policy `cfg` describes: its checkpoint, or a fresh Llama with the built-in tokenizer.
pub fn build(cfg: &ModelConfig, device: Device) -> Result<(Model, Tokenizer), ModelError> {
    if cfg.threads > 0 {
        tch::set_num_threads(cfg.threads as i32);
    }
    if !cfg.path.is_empty() {
        return checkpoint::load(Path::new(&cfg.path), device, cfg.kind());
    }
    let tok = Tokenizer::builtin();
    if cfg.vocab_size < tok.vocab_size() {
        return Err(ModelError::Config(format!(
            "model.vocab_size {} is smaller than the built-in tokenizer's {}",
            cfg.vocab_size,
            tok.vocab_size()
        )));
    }
    let mut mc = Config::llama(
        cfg.vocab_size,
        cfg.hidden_size,
        cfg.intermediate_size,
        cfg.num_layers,
        cfg.num_heads,
        cfg.num_kv_heads,
    );
    mc.max_position_embeddings = cfg.max_position_embeddings;
    mc.eos_token_id = tok.eos_ids().first().map(|&e| serde_json::json!(e));
    mc.bos_token_id = tok.bos_id().map(|b| serde_json::json!(b));
    mc.pad_token_id = tok.pad_id().map(|p| serde_json::json!(p));
    let model = Model::new_seeded(&mc, device, cfg.kind(), cfg.init_seed)?;
    Ok((model, tok))
}
