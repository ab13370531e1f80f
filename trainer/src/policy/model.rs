//! Decoder-only transformer of the Llama / Qwen2 family in tch: RMSNorm, RoPE,
//! SwiGLU, grouped-query attention, optional QKV bias, tied or untied embeddings. Laid out like
//! candle's `llama.rs` / `qwen2.rs` (one struct per layer with `load` and `forward`) and
//! numerically following transformers' `modeling_llama.py` / `modeling_qwen2.py`.
//!
//! # API note for the GRPO learner
//!
//! - `Model::new(&cfg, device, kind)` builds a randomly initialised model; `checkpoint::load(dir,
//!   device, kind)` loads an HF-layout checkpoint, `checkpoint::save(&model, &tok, dir)` writes one.
//! - Every weight is a variable of `model.vs` (a tch `VarStore`): build the optimiser from it
//!   (`nn::AdamW::default().build(&model.vs, lr)`). q/k/v and gate/up are stored fused
//!   (`qkv_proj`, `gate_up_proj`, one matmul each); checkpoints split them into HF names.
//! - `model.token_logprobs(&ids, &attention_mask, temperature)` -> `[B, T-1]` float tensor with
//!   gradients: `out[b, t]` = log p(ids[b, t+1] | ids[b, ..=t]) under `logits / temperature`.
//!   `attention_mask` is 1 for real tokens and 0 for padding (left or right); mask the prompt
//!   and padding positions out of the loss yourself. The sampler's `Completion::logprobs`
//!   are the same quantity (temperature-scaled, before top-k/top-p/min-p filtering), so
//!   `ratio = exp(new - old)` is 1 on the first step when the weights did not change.
//! - Cheaper for completion-only losses: `model.hidden_states(&ids, Some(&attn))` then
//!   `model.target_logprobs(&hidden.narrow(1, p - 1, c), &targets, temperature)` projects only
//!   the completion positions onto the vocabulary, and never materialises a [.., V]
//!   log-softmax (`logit[target] - logsumexp`; gradients are exact).
//! - Speed: without left padding (no mask, or right padding only) a full pass is one causal
//!   SDPA per layer with no mask tensor; left padding takes a [B, 1, T, T] additive mask.
//! - Run generation under the sampler (it takes `tch::no_grad` itself); the reference model for
//!   the KL term is a second `Model` loaded from the same checkpoint and `vs.freeze()`d.

use crate::policy::lora::{Apply, LayerAdapters, Lora, LoraConfig};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::path::Path;
use tch::{nn, Device, Kind, Tensor};

/// Errors of model construction, loading and inputs.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("invalid model config: {0}")]
    Config(String),
    #[error("invalid input: {0}")]
    Input(String),
    #[error("checkpoint: tensor '{name}' is missing{}", in_files(.files))]
    MissingTensor { name: String, files: Vec<String> },
    #[error("checkpoint: tensor '{name}' has shape {found:?}, expected {expected:?}")]
    BadShape {
        name: String,
        expected: Vec<i64>,
        found: Vec<i64>,
    },
    #[error("checkpoint: {0}")]
    Checkpoint(String),
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Json {
        path: String,
        source: serde_json::Error,
    },
    #[error(transparent)]
    Torch(#[from] tch::TchError),
}

fn in_files(files: &[String]) -> String {
    if files.is_empty() {
        String::new()
    } else {
        format!(" (looked in {})", files.join(", "))
    }
}

/// Longest RoPE table we build; positions past it are rejected (not silently wrapped).
pub const MAX_ROPE_POSITIONS: usize = 32_768;

fn default_architectures() -> Vec<String> {
    vec!["LlamaForCausalLM".into()]
}
fn default_model_type() -> String {
    "llama".into()
}
fn default_max_pos() -> usize {
    2048
}
fn default_eps() -> f64 {
    1e-6
}
fn default_act() -> String {
    "silu".into()
}
fn default_init() -> f64 {
    0.02
}

/// Hugging Face `config.json` of `LlamaForCausalLM` / `Qwen2ForCausalLM`. Unknown keys are kept
/// in `extra` and written back unchanged, so a loaded-then-saved config stays what it was.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Config {
    #[serde(default = "default_architectures")]
    pub architectures: Vec<String>,
    #[serde(default = "default_model_type")]
    pub model_type: String,
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub intermediate_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub num_key_value_heads: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head_dim: Option<usize>,
    #[serde(default = "default_max_pos")]
    pub max_position_embeddings: usize,
    #[serde(default = "default_eps")]
    pub rms_norm_eps: f64,
    /// transformers < 5 writes `rope_theta` at the top level, >= 5 inside `rope_parameters`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rope_theta: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rope_scaling: Option<Value>,
    #[serde(default)]
    pub tie_word_embeddings: bool,
    #[serde(default)]
    pub attention_bias: bool,
    #[serde(default)]
    pub mlp_bias: bool,
    #[serde(default = "default_act")]
    pub hidden_act: String,
    #[serde(default = "default_init")]
    pub initializer_range: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bos_token_id: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eos_token_id: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pad_token_id: Option<Value>,
    #[serde(flatten)]
    pub extra: serde_json::Map<String, Value>,
}

impl Config {
    /// A Llama config with the given sizes (no biases, untied embeddings, theta 10000).
    pub fn llama(
        vocab: usize,
        hidden: usize,
        intermediate: usize,
        layers: usize,
        heads: usize,
        kv_heads: usize,
    ) -> Config {
        Config {
            architectures: default_architectures(),
            model_type: "llama".into(),
            vocab_size: vocab,
            hidden_size: hidden,
            intermediate_size: intermediate,
            num_hidden_layers: layers,
            num_attention_heads: heads,
            num_key_value_heads: Some(kv_heads),
            head_dim: None,
            max_position_embeddings: 2048,
            rms_norm_eps: 1e-6,
            rope_theta: Some(10_000.0),
            rope_scaling: None,
            tie_word_embeddings: false,
            attention_bias: false,
            mlp_bias: false,
            hidden_act: "silu".into(),
            initializer_range: 0.02,
            bos_token_id: None,
            eos_token_id: None,
            pad_token_id: None,
            extra: serde_json::Map::new(),
        }
    }

    /// Reads and validates a `config.json`.
    pub fn from_file(path: &Path) -> Result<Config, ModelError> {
        let text = std::fs::read_to_string(path).map_err(|source| ModelError::Io {
            path: path.display().to_string(),
            source,
        })?;
        let cfg: Config = serde_json::from_str(&text).map_err(|source| ModelError::Json {
            path: path.display().to_string(),
            source,
        })?;
        cfg.validate()?;
        Ok(cfg)
    }

    pub fn to_json_pretty(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|_| "{}".into())
    }

    pub fn num_kv_heads(&self) -> usize {
        self.num_key_value_heads.unwrap_or(self.num_attention_heads)
    }

    pub fn head_dim(&self) -> usize {
        self.head_dim
            .unwrap_or(self.hidden_size / self.num_attention_heads.max(1))
    }

    pub fn is_qwen2(&self) -> bool {
        self.model_type == "qwen2"
    }

    /// Qwen2 always has q/k/v biases; Llama only with `attention_bias` (then o_proj too).
    pub fn qkv_bias(&self) -> bool {
        self.is_qwen2() || self.attention_bias
    }

    pub fn o_bias(&self) -> bool {
        !self.is_qwen2() && self.attention_bias
    }

    /// The RoPE base, wherever this config's transformers version put it.
    pub fn rope_theta(&self) -> f64 {
        if let Some(t) = self.rope_theta {
            return t;
        }
        for key in ["rope_parameters"] {
            if let Some(t) = self
                .extra
                .get(key)
                .and_then(|p| p.get("rope_theta"))
                .and_then(Value::as_f64)
            {
                return t;
            }
        }
        10_000.0
    }

    fn rope_type(&self) -> Option<String> {
        let from = |v: &Value| {
            v.get("rope_type")
                .or_else(|| v.get("type"))
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        self.rope_scaling
            .as_ref()
            .filter(|v| !v.is_null())
            .and_then(from)
            .or_else(|| self.extra.get("rope_parameters").and_then(from))
    }

    /// End-of-sequence ids named by the config (`eos_token_id` may be an int or a list).
    pub fn eos_token_ids(&self) -> Vec<i64> {
        ids_of(self.eos_token_id.as_ref())
    }

    /// Checks everything the model relies on, so that construction cannot fail on a shape.
    pub fn validate(&self) -> Result<(), ModelError> {
        let bad = |m: String| Err(ModelError::Config(m));
        if self.model_type != "llama" && self.model_type != "qwen2" {
            return bad(format!(
                "model_type '{}' is not supported (llama, qwen2)",
                self.model_type
            ));
        }
        if self.hidden_act != "silu" {
            return bad(format!(
                "hidden_act '{}' is not supported (silu)",
                self.hidden_act
            ));
        }
        if self.mlp_bias {
            return bad("mlp_bias = true is not supported".into());
        }
        if let Some(t) = self.rope_type() {
            if t != "default" {
                return bad(format!("rope scaling type '{t}' is not supported"));
            }
        }
        let sizes = [
            ("vocab_size", self.vocab_size, 1 << 21),
            ("hidden_size", self.hidden_size, 1 << 16),
            ("intermediate_size", self.intermediate_size, 1 << 18),
            ("num_hidden_layers", self.num_hidden_layers, 1024),
            ("num_attention_heads", self.num_attention_heads, 1024),
            ("num_key_value_heads", self.num_kv_heads(), 1024),
            ("head_dim", self.head_dim(), 1024),
            (
                "max_position_embeddings",
                self.max_position_embeddings,
                1 << 24,
            ),
        ];
        for (name, v, max) in sizes {
            if v == 0 || v > max {
                return bad(format!("{name} = {v} is out of range 1..={max}"));
            }
        }
        if !self.num_attention_heads.is_multiple_of(self.num_kv_heads()) {
            return bad(format!(
                "num_attention_heads {} is not a multiple of num_key_value_heads {}",
                self.num_attention_heads,
                self.num_kv_heads()
            ));
        }
        if !self.head_dim().is_multiple_of(2) {
            return bad(format!(
                "head_dim {} must be even for RoPE",
                self.head_dim()
            ));
        }
        let theta = self.rope_theta();
        if !(theta.is_finite() && theta > 1.0) {
            return bad(format!("rope_theta {theta} must be a finite number > 1"));
        }
        if !(self.rms_norm_eps.is_finite() && self.rms_norm_eps > 0.0) {
            return bad(format!("rms_norm_eps {} must be > 0", self.rms_norm_eps));
        }
        Ok(())
    }

    /// Number of parameters (tied embeddings counted once).
    pub fn num_params(&self) -> usize {
        let (h, i, v) = (self.hidden_size, self.intermediate_size, self.vocab_size);
        let (nh, nkv, hd) = (
            self.num_attention_heads,
            self.num_kv_heads(),
            self.head_dim(),
        );
        let qkv = h * (nh + 2 * nkv) * hd
            + if self.qkv_bias() {
                (nh + 2 * nkv) * hd
            } else {
                0
            };
        let o = nh * hd * h + if self.o_bias() { h } else { 0 };
        let layer = qkv + o + 3 * h * i + 2 * h;
        let head = if self.tie_word_embeddings { 0 } else { v * h };
        v * h + self.num_hidden_layers * layer + h + head
    }
}

pub(crate) fn ids_of(v: Option<&Value>) -> Vec<i64> {
    match v {
        Some(Value::Number(n)) => n.as_i64().into_iter().collect(),
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_i64).collect(),
        _ => Vec::new(),
    }
}

/// RMSNorm weight; the op is libtorch's fused `rms_norm` (same formula as `LlamaRMSNorm`).
pub(crate) struct RmsNorm {
    pub(crate) weight: Tensor,
    pub(crate) eps: f64,
    size: i64,
}

impl RmsNorm {
    fn load(p: nn::Path, size: usize, eps: f64) -> RmsNorm {
        RmsNorm {
            weight: p.var("weight", &[size as i64], nn::Init::Const(1.0)),
            eps,
            size: size as i64,
        }
    }

    fn forward(&self, x: &Tensor) -> Tensor {
        x.rms_norm([self.size], Some(&self.weight), self.eps)
    }
}

fn linear_init(cfg: &Config) -> nn::Init {
    nn::Init::Randn {
        mean: 0.0,
        stdev: cfg.initializer_range,
    }
}

/// Self-attention with fused q/k/v projection, RoPE and grouped-query heads.
pub(crate) struct Attention {
    pub(crate) qkv: Tensor,
    pub(crate) qkv_bias: Option<Tensor>,
    pub(crate) o: Tensor,
    pub(crate) o_bias: Option<Tensor>,
    heads: i64,
    kv_heads: i64,
    head_dim: i64,
    scale: f64,
}

impl Attention {
    fn load(p: nn::Path, cfg: &Config) -> Attention {
        let (nh, nkv, hd, h) = (
            cfg.num_attention_heads as i64,
            cfg.num_kv_heads() as i64,
            cfg.head_dim() as i64,
            cfg.hidden_size as i64,
        );
        let qkv_out = (nh + 2 * nkv) * hd;
        let qkv_p = &p / "qkv_proj";
        let o_p = &p / "o_proj";
        Attention {
            qkv: qkv_p.var("weight", &[qkv_out, h], linear_init(cfg)),
            qkv_bias: cfg
                .qkv_bias()
                .then(|| qkv_p.var("bias", &[qkv_out], nn::Init::Const(0.0))),
            o: o_p.var("weight", &[h, nh * hd], linear_init(cfg)),
            o_bias: cfg
                .o_bias()
                .then(|| o_p.var("bias", &[h], nn::Init::Const(0.0))),
            heads: nh,
            kv_heads: nkv,
            head_dim: hd,
            scale: 1.0 / (hd as f64).sqrt(),
        }
    }

    /// `x`: [B, T, H]; `cos`/`sin`: [B, T, 1, hd]. With a cache `(k, v, offset, start)`,
    /// this step's keys/values are written at `offset` and attention runs over cache slots
    /// `start..offset + T` (`start` skips slots that are padding in every row). The
    /// attention is libtorch's fused `scaled_dot_product_attention` (a flash-attention
    /// kernel on CPU and CUDA, with backward; no [T, L] score matrix is materialised), except
    /// one-token decode steps on CPU in fp32, which use `kernels::attention`.
    fn forward(
        &self,
        x: &Tensor,
        cos: &Tensor,
        sin: &Tensor,
        mask: &AttnMask,
        cache: Option<(&Tensor, &Tensor, i64, i64)>,
        lora: Option<(&LayerAdapters, Apply)>,
    ) -> Tensor {
        let (b, t, _) = x.size3().unwrap_or((0, 0, 0));
        let (nh, nkv, hd) = (self.heads, self.kv_heads, self.head_dim);
        let mut qkv = x.linear(&self.qkv, self.qkv_bias.as_ref());
        if let Some(d) = lora.and_then(|(ad, how)| {
            ad.fused_delta(x, &[(0, nh * hd), (1, nkv * hd), (2, nkv * hd)], how)
        }) {
            qkv += d;
        }
        let qkv = qkv.view([b, t, nh + 2 * nkv, hd]);
        let o_proj = |out: Tensor| -> Tensor {
            let y = out.linear(&self.o, self.o_bias.as_ref());
            match lora.and_then(|(ad, how)| ad.fused_delta(&out, &[(3, 0)], how)) {
                Some(d) => y + d,
                None => y,
            }
        };
        // RoPE on q and k together: x*cos + rotate_half(x)*sin, where rotate_half(x)*sin ==
        // roll(x, hd/2) * [-sin, sin] (the sign lives in the table).
        let qk = qkv.narrow(2, 0, nh + nkv);
        let qk = (&qk * cos).addcmul(&qk.roll([hd / 2], [-1]), sin);
        // [B, T, heads, hd]; SDPA takes [B, heads, T, hd] views of them (any strides).
        let k = qk.narrow(2, nh, nkv);
        let v = qkv.narrow(2, nh + nkv, nkv);
        let (k_all, v_all) = match cache {
            Some((ck, cv, offset, start)) => {
                ck.narrow(1, offset, t).copy_(&k);
                cv.narrow(1, offset, t).copy_(&v);
                if t == 1 {
                    let from = match mask {
                        AttnMask::All => Some(vec![start; b as usize]),
                        AttnMask::RowsFrom { from, .. } => Some(from.clone()),
                        _ => None,
                    };
                    let q1 = || qk.select(1, 0).narrow(1, 0, nh);
                    if let Some(out) = from.and_then(|f| {
                        crate::kernels::attention::attend(&q1(), ck, cv, offset + 1, &f, self.scale)
                    }) {
                        return o_proj(out.view([b, 1, nh * hd]));
                    }
                }
                let l = offset + t - start;
                let (k_all, v_all) = (ck.narrow(1, start, l), cv.narrow(1, start, l));
                if k_all.kind() == k.kind() {
                    (k_all, v_all)
                } else {
                    // A cache kept in another dtype (bf16 for an fp32 model): attention
                    // computes in the model's.
                    (k_all.to_kind(k.kind()), v_all.to_kind(k.kind()))
                }
            }
            None => (k, v),
        };
        let q = qk.narrow(2, 0, nh).transpose(1, 2);
        let (k_all, v_all) = (k_all.transpose(1, 2), v_all.transpose(1, 2));
        let g = nh / nkv;
        let (additive, causal) = match mask {
            AttnMask::Causal => (None, true),
            AttnMask::All => (None, false),
            AttnMask::Additive(m) | AttnMask::RowsFrom { mask: m, .. } => (Some(m), false),
        };
        let out = if t == 1 && g > 1 {
            // One query per row: the g query heads sharing a kv head become g query rows of
            // that kv head (no repeated k/v); a [B, 1, 1, L] mask broadcasts over them.
            let q = q.reshape([b, nkv, g, hd]);
            Tensor::scaled_dot_product_attention(
                &q, &k_all, &v_all, additive, 0.0, false, self.scale, false,
            )
            .reshape([b, 1, nh * hd])
        } else {
            Tensor::scaled_dot_product_attention(
                &q,
                &k_all,
                &v_all,
                additive,
                0.0,
                causal,
                self.scale,
                g > 1,
            )
            .transpose(1, 2)
            .reshape([b, t, nh * hd])
        };
        o_proj(out)
    }
}

/// Which keys each query attends to (over the attended key window, see `KvCache::start`).
pub(crate) enum AttnMask {
    /// Query i sees keys 0..=i: a full pass, or a prefill into an empty cache, where no row
    /// has left padding. Positions are then 0..T in every row.
    Causal,
    /// Every key of the window (a one-token decode step where no row has padding in the
    /// window).
    All,
    /// Additive (0 / -inf) mask in the model's dtype, broadcastable to [B, 1, T, L].
    Additive(Tensor),
    /// A one-token decode step where row b sees cache slots `from[b]..` (its left padding
    /// comes before); `mask` is the same as an additive [B, 1, 1, L] mask over the window.
    RowsFrom { from: Vec<i64>, mask: Tensor },
}

/// SwiGLU MLP with fused gate/up projection: down(silu(gate(x)) * up(x)).
pub(crate) struct Mlp {
    pub(crate) gate_up: Tensor,
    pub(crate) down: Tensor,
    inter: i64,
}

impl Mlp {
    fn load(p: nn::Path, cfg: &Config) -> Mlp {
        let (h, i) = (cfg.hidden_size as i64, cfg.intermediate_size as i64);
        Mlp {
            gate_up: (&p / "gate_up_proj").var("weight", &[2 * i, h], linear_init(cfg)),
            down: (&p / "down_proj").var("weight", &[h, i], linear_init(cfg)),
            inter: i,
        }
    }

    fn forward(&self, x: &Tensor, lora: Option<(&LayerAdapters, Apply)>) -> Tensor {
        let i = self.inter;
        let mut gu = x.linear::<Tensor>(&self.gate_up, None);
        if let Some(d) = lora.and_then(|(ad, how)| ad.fused_delta(x, &[(4, i), (5, i)], how)) {
            gu += d;
        }
        let act = gu.narrow(-1, 0, i).silu() * gu.narrow(-1, i, i);
        let y = act.linear::<Tensor>(&self.down, None);
        match lora.and_then(|(ad, how)| ad.fused_delta(&act, &[(6, 0)], how)) {
            Some(d) => y + d,
            None => y,
        }
    }
}

pub(crate) struct DecoderLayer {
    pub(crate) input_norm: RmsNorm,
    pub(crate) attn: Attention,
    pub(crate) post_norm: RmsNorm,
    pub(crate) mlp: Mlp,
}

impl DecoderLayer {
    fn load(p: nn::Path, cfg: &Config) -> DecoderLayer {
        DecoderLayer {
            input_norm: RmsNorm::load(&p / "input_layernorm", cfg.hidden_size, cfg.rms_norm_eps),
            attn: Attention::load(&p / "self_attn", cfg),
            post_norm: RmsNorm::load(
                &p / "post_attention_layernorm",
                cfg.hidden_size,
                cfg.rms_norm_eps,
            ),
            mlp: Mlp::load(&p / "mlp", cfg),
        }
    }

    fn forward(
        &self,
        x: &Tensor,
        cos: &Tensor,
        sin: &Tensor,
        mask: &AttnMask,
        cache: Option<(&Tensor, &Tensor, i64, i64)>,
        lora: Option<(&LayerAdapters, Apply)>,
    ) -> Tensor {
        let h = x + self
            .attn
            .forward(&self.input_norm.forward(x), cos, sin, mask, cache, lora);
        let out = self.mlp.forward(&self.post_norm.forward(&h), lora);
        h + out
    }
}

/// Preallocated key/value cache: per layer [B, capacity, kv_heads, head_dim] (a row's slots
/// are one contiguous block, which the decode-step attention streams through).
pub struct KvCache {
    pub(crate) k: Vec<Tensor>,
    pub(crate) v: Vec<Tensor>,
    /// Positions filled so far (shared by all rows; rows are left-padded).
    pub len: i64,
    pub capacity: i64,
    /// First slot attention reads: slots before it are padding in every row (the sampler
    /// raises it when the rows with the longest prompts leave the batch).
    pub(crate) start: i64,
    /// Rows that hold the same keys and values in their first slots (a prompt prefilled
    /// once and copied to each of its rows), which attention may read from one of them.
    pub(crate) shared: Option<SharedPrefix>,
}

/// Rows `i` and `j` with `groups[i] == groups[j]` hold bitwise-equal keys and values in
/// slots `0..slots` (nothing writes below `len`, and `slots <= len`).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct SharedPrefix {
    pub(crate) groups: Vec<i64>,
    pub(crate) slots: i64,
}

impl KvCache {
    pub fn new(model: &Model, batch: i64, capacity: i64) -> KvCache {
        KvCache::with_kind(model, batch, capacity, model.kind)
    }

    /// A cache that stores keys and values as `kind` (bf16 for an fp32 model halves the
    /// memory that decode-time attention streams; attention still computes in the
    /// model's dtype, from the rounded values).
    pub fn with_kind(model: &Model, batch: i64, capacity: i64, kind: Kind) -> KvCache {
        let cfg = &model.cfg;
        let shape = [
            batch,
            capacity,
            cfg.num_kv_heads() as i64,
            cfg.head_dim() as i64,
        ];
        let opts = (kind, model.device);
        let n = cfg.num_hidden_layers;
        KvCache {
            // Uninitialised is safe: prefill writes slots 0..P of every row (padding too) and
            // each decode step writes the slot it then reads; nothing past `len` is read.
            k: (0..n).map(|_| Tensor::empty(shape, opts)).collect(),
            v: (0..n).map(|_| Tensor::empty(shape, opts)).collect(),
            len: 0,
            capacity,
            start: 0,
            shared: None,
        }
    }

    /// The dtype keys and values are stored in.
    pub fn kind(&self) -> Kind {
        self.k.first().map_or(Kind::Float, Tensor::kind)
    }

    /// Keeps (or repeats) the given batch rows, in that order (used to drop finished
    /// sequences, and to copy a prompt's rows to each of its completions).
    pub fn select_rows(&mut self, rows: &Tensor) {
        for t in self.k.iter_mut().chain(self.v.iter_mut()) {
            *t = t.index_select(0, rows);
        }
        // Row i now holds old row rows[i]: it keeps that row's group.
        self.shared = self.shared.take().and_then(|s| {
            let rows = rows.to_device(Device::Cpu).to_kind(Kind::Int64);
            let rows = Vec::<i64>::try_from(&rows.reshape([-1])).ok()?;
            let groups = rows
                .iter()
                .map(|&r| s.groups.get(usize::try_from(r).ok()?).copied())
                .collect::<Option<Vec<i64>>>()?;
            Some(SharedPrefix {
                groups,
                slots: s.slots,
            })
        });
    }
}

/// The policy: embeddings, decoder layers, final norm and LM head, all in `vs`.
pub struct Model {
    pub cfg: Config,
    pub vs: nn::VarStore,
    pub(crate) embed: Tensor,
    pub(crate) layers: Vec<DecoderLayer>,
    pub(crate) norm: RmsNorm,
    /// `None` when the embeddings are tied.
    lm_head: Option<Tensor>,
    /// LoRA adapters, when attached (`attach_lora`).
    pub(crate) lora: Option<Lora>,
    pub(crate) cos: Tensor,
    pub(crate) sin: Tensor,
    device: Device,
    kind: Kind,
}

/// Serialises every draw of initial weights from libtorch's process-global generator.
fn init_lock() -> std::sync::MutexGuard<'static, ()> {
    static INIT: std::sync::Mutex<()> = std::sync::Mutex::new(());
    INIT.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Model {
    /// A fresh model whose weights are drawn from libtorch's generator seeded with `seed`.
    /// That generator is process-global, so seeding and drawing happen under one lock,
    /// which every model construction takes (`new` too: a checkpoint load or a frozen copy
    /// draws weights it then overwrites): models built concurrently (parallel tests,
    /// several runs in one process) stay reproducible.
    pub fn new_seeded(
        cfg: &Config,
        device: Device,
        kind: Kind,
        seed: i64,
    ) -> Result<Model, ModelError> {
        let _guard = init_lock();
        tch::manual_seed(seed);
        Model::new_unlocked(cfg, device, kind)
    }

    /// A randomly initialised model (normal(0, initializer_range) weights, unit norms),
    /// drawn from libtorch's global generator as it stands.
    pub fn new(cfg: &Config, device: Device, kind: Kind) -> Result<Model, ModelError> {
        let _guard = init_lock();
        Model::new_unlocked(cfg, device, kind)
    }

    /// `new`, the caller holding `init_lock`.
    fn new_unlocked(cfg: &Config, device: Device, kind: Kind) -> Result<Model, ModelError> {
        cfg.validate()?;
        if !matches!(kind, Kind::Float | Kind::BFloat16 | Kind::Half) {
            return Err(ModelError::Config(format!(
                "dtype {kind:?} is not supported (float32, bfloat16, float16)"
            )));
        }
        let vs = nn::VarStore::new(device);
        let root = vs.root();
        let (v, h) = (cfg.vocab_size as i64, cfg.hidden_size as i64);
        let m = &root / "model";
        let embed = (&m / "embed_tokens").var("weight", &[v, h], linear_init(cfg));
        let layers = (0..cfg.num_hidden_layers)
            .map(|i| DecoderLayer::load(&m / "layers" / i, cfg))
            .collect();
        let norm = RmsNorm::load(&m / "norm", cfg.hidden_size, cfg.rms_norm_eps);
        let lm_head = (!cfg.tie_word_embeddings)
            .then(|| (&root / "lm_head").var("weight", &[v, h], linear_init(cfg)));
        let (cos, sin) = rope_tables(cfg, device, kind);
        let mut model = Model {
            cfg: cfg.clone(),
            vs,
            embed,
            layers,
            norm,
            lm_head,
            lora: None,
            cos,
            sin,
            device,
            kind: Kind::Float,
        };
        model.set_kind(kind);
        Ok(model)
    }

    pub fn device(&self) -> Device {
        self.device
    }

    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// Converts every weight (and the RoPE tables) to `kind`: Float, BFloat16 or Half.
    pub fn set_kind(&mut self, kind: Kind) {
        self.vs.set_kind(kind);
        let (cos, sin) = rope_tables(&self.cfg, self.device, kind);
        self.cos = cos;
        self.sin = sin;
        self.kind = kind;
    }

    /// Number of positions the RoPE tables cover (prompt + completion must fit).
    pub fn max_positions(&self) -> i64 {
        self.cos.size().first().copied().unwrap_or(0)
    }

    pub(crate) fn lm_head_weight(&self) -> &Tensor {
        self.lm_head.as_ref().unwrap_or(&self.embed)
    }

    /// Attaches fresh LoRA adapters (drawn from libtorch's generator seeded with `seed`)
    /// and freezes the base weights; `base` is the checkpoint folder they are saved
    /// against. Replaces adapters attached before.
    pub fn attach_lora(
        &mut self,
        cfg: &LoraConfig,
        seed: i64,
        base: &str,
    ) -> Result<(), ModelError> {
        cfg.validate()
            .map_err(|e| ModelError::Config(e.to_string()))?;
        if !cfg.enabled() {
            return Err(ModelError::Config(
                "lora.rank is 0: nothing to attach".into(),
            ));
        }
        let lora = {
            let _guard = init_lock();
            tch::manual_seed(seed);
            Lora::new_unlocked(cfg, &self.cfg, self.device, base)
        };
        self.vs.freeze();
        self.lora = Some(lora);
        Ok(())
    }

    /// The attached adapters, if any.
    pub fn lora(&self) -> Option<&Lora> {
        self.lora.as_ref()
    }

    /// The attached adapters when they are switched on.
    pub(crate) fn active_lora(&self) -> Option<&Lora> {
        self.lora.as_ref().filter(|l| l.enabled())
    }

    /// Runs `f` with the adapters switched off: the frozen base, which is the reference
    /// model of a LoRA run. Without adapters this is just `f()`.
    pub fn with_adapters_off<R>(&self, f: impl FnOnce() -> R) -> R {
        let Some(l) = &self.lora else {
            return f();
        };
        let was = l.set_enabled(false);
        let out = f();
        l.set_enabled(was);
        out
    }

    /// The variables training updates: the adapters' store with LoRA, else every weight.
    pub fn trainable_store(&self) -> &nn::VarStore {
        self.lora.as_ref().map_or(&self.vs, |l| &l.vs)
    }

    /// `trainable_store`, mutable (to load saved weights into it).
    pub fn trainable_store_mut(&mut self) -> &mut nn::VarStore {
        match self.lora.as_mut() {
            Some(l) => &mut l.vs,
            None => &mut self.vs,
        }
    }

    /// Layer `i`'s fused projection weights (qkv, o, gate_up, down) as the forward pass
    /// applies them: with active adapters, `W + (alpha/r) B A` in the base weight's dtype
    /// (what the fused engine packs); else the weights themselves.
    pub(crate) fn layer_weights(&self, i: usize) -> Option<[Tensor; 4]> {
        let layer = self.layers.get(i)?;
        let base = [
            layer.attn.qkv.shallow_clone(),
            layer.attn.o.shallow_clone(),
            layer.mlp.gate_up.shallow_clone(),
            layer.mlp.down.shallow_clone(),
        ];
        let Some(lora) = self.active_lora() else {
            return Some(base);
        };
        let ad = lora.layers.get(i)?;
        let s = crate::policy::lora::target_shapes(&self.cfg);
        let shape = |t: usize| [s[t].1, s[t].0];
        let groups: [Vec<usize>; 4] = [vec![0, 1, 2], vec![3], vec![4, 5], vec![6]];
        let scale = lora.cfg.scale();
        let merged = base.iter().zip(groups.iter()).map(|(w, g)| {
            let parts: Vec<(usize, [i64; 2])> = g.iter().map(|&t| (t, shape(t))).collect();
            tch::no_grad(|| match ad.fused_weight_delta(&parts, scale, self.device) {
                Some(d) => (w.to_kind(Kind::Float) + d).to_kind(w.kind()),
                None => w.shallow_clone(),
            })
        });
        let merged: Vec<Tensor> = merged.collect();
        merged.try_into().ok()
    }

    /// Folds the adapters into the base weights (`W += (alpha/r) B A`) and drops them: the
    /// merged model computes what base plus adapters did, with no adapter overhead.
    pub fn merge_lora(&mut self) {
        if self.lora.is_none() {
            return;
        }
        let merged: Vec<[Tensor; 4]> = (0..self.layers.len())
            .filter_map(|i| self.layer_weights(i))
            .collect();
        tch::no_grad(|| {
            for (layer, [qkv, o, gate_up, down]) in self.layers.iter_mut().zip(merged) {
                layer.attn.qkv.copy_(&qkv);
                layer.attn.o.copy_(&o);
                layer.mlp.gate_up.copy_(&gate_up);
                layer.mlp.down.copy_(&down);
            }
        });
        self.lora = None;
    }

    /// Loads adapter weights saved in PEFT's layout (`get(key)` returns the tensor of a
    /// PEFT key) into the attached adapters; a missing or mis-shaped one is an error naming
    /// it. Keys the adapters do not have are not asked for.
    pub fn load_peft_adapters(
        &mut self,
        get: &mut dyn FnMut(&str) -> Option<Tensor>,
    ) -> Result<(), ModelError> {
        let Some(lora) = &self.lora else {
            return Err(ModelError::Config("no adapters attached".into()));
        };
        let _guard = tch::no_grad_guard();
        // In name order, so a missing tensor is always reported the same way.
        let mut vars: Vec<(String, Tensor)> = lora.vs.variables().into_iter().collect();
        vars.sort_by(|a, b| a.0.cmp(&b.0));
        for (name, mut var) in vars {
            let key = crate::policy::lora::peft_key(&name);
            let t = get(&key).ok_or_else(|| ModelError::MissingTensor {
                name: key.clone(),
                files: Vec::new(),
            })?;
            if t.size() != var.size() {
                return Err(ModelError::BadShape {
                    name: key,
                    expected: var.size(),
                    found: t.size(),
                });
            }
            var.f_copy_(&t)?;
        }
        Ok(())
    }

    /// (HF name, tensor) for every weight in the transformers layout: fused q/k/v and
    /// gate/up are split back into `q_proj`/`k_proj`/`v_proj` and `gate_proj`/`up_proj`.
    /// The tensors are detached, contiguous CPU copies.
    pub fn hf_state_dict(&self) -> Vec<(String, Tensor)> {
        let cfg = &self.cfg;
        let (nh, nkv, hd, i) = (
            cfg.num_attention_heads as i64,
            cfg.num_kv_heads() as i64,
            cfg.head_dim() as i64,
            cfg.intermediate_size as i64,
        );
        let mut out = Vec::new();
        let mut put = |name: String, t: &Tensor| {
            out.push((name, t.detach().to_device(Device::Cpu).contiguous()));
        };
        put("model.embed_tokens.weight".into(), &self.embed);
        for (l, layer) in self.layers.iter().enumerate() {
            let p = format!("model.layers.{l}");
            let a = &layer.attn;
            let parts = [
                ("q_proj", 0, nh * hd),
                ("k_proj", nh * hd, nkv * hd),
                ("v_proj", (nh + nkv) * hd, nkv * hd),
            ];
            for (name, start, len) in parts {
                put(
                    format!("{p}.self_attn.{name}.weight"),
                    &a.qkv.narrow(0, start, len),
                );
                if let Some(b) = &a.qkv_bias {
                    put(
                        format!("{p}.self_attn.{name}.bias"),
                        &b.narrow(0, start, len),
                    );
                }
            }
            put(format!("{p}.self_attn.o_proj.weight"), &a.o);
            if let Some(b) = &a.o_bias {
                put(format!("{p}.self_attn.o_proj.bias"), b);
            }
            put(
                format!("{p}.mlp.gate_proj.weight"),
                &layer.mlp.gate_up.narrow(0, 0, i),
            );
            put(
                format!("{p}.mlp.up_proj.weight"),
                &layer.mlp.gate_up.narrow(0, i, i),
            );
            put(format!("{p}.mlp.down_proj.weight"), &layer.mlp.down);
            put(
                format!("{p}.input_layernorm.weight"),
                &layer.input_norm.weight,
            );
            put(
                format!("{p}.post_attention_layernorm.weight"),
                &layer.post_norm.weight,
            );
        }
        put("model.norm.weight".into(), &self.norm.weight);
        if let Some(h) = &self.lm_head {
            put("lm_head.weight".into(), h);
        }
        out
    }

    /// Copies weights in the transformers layout into this model. `get(name)` returns the
    /// checkpoint tensor of that name; a missing or mis-shaped one is an error naming it.
    /// Dtypes are converted to the model's. Tensors the model does not use are not asked for.
    pub fn load_hf_state_dict(
        &mut self,
        get: &mut dyn FnMut(&str) -> Option<Tensor>,
    ) -> Result<(), ModelError> {
        let cfg = self.cfg.clone();
        let (nh, nkv, hd, h, i) = (
            cfg.num_attention_heads as i64,
            cfg.num_kv_heads() as i64,
            cfg.head_dim() as i64,
            cfg.hidden_size as i64,
            cfg.intermediate_size as i64,
        );
        let mut fetch = |name: String, shape: &[i64]| -> Result<Tensor, ModelError> {
            let t = get(&name).ok_or_else(|| ModelError::MissingTensor {
                name: name.clone(),
                files: Vec::new(),
            })?;
            if t.size() != shape {
                return Err(ModelError::BadShape {
                    name,
                    expected: shape.to_vec(),
                    found: t.size(),
                });
            }
            Ok(t)
        };
        let _guard = tch::no_grad_guard();
        let copy = |dst: &Tensor, src: &Tensor| -> Result<(), ModelError> {
            let mut dst = dst.shallow_clone();
            dst.f_copy_(src)?;
            Ok(())
        };
        let v = cfg.vocab_size as i64;
        copy(
            &self.embed,
            &fetch("model.embed_tokens.weight".into(), &[v, h])?,
        )?;
        for (l, layer) in self.layers.iter().enumerate() {
            let p = format!("model.layers.{l}");
            let a = &layer.attn;
            let parts = [
                ("q_proj", 0, nh * hd),
                ("k_proj", nh * hd, nkv * hd),
                ("v_proj", (nh + nkv) * hd, nkv * hd),
            ];
            for (name, start, len) in parts {
                let w = fetch(format!("{p}.self_attn.{name}.weight"), &[len, h])?;
                copy(&a.qkv.narrow(0, start, len), &w)?;
                if let Some(b) = &a.qkv_bias {
                    let src = fetch(format!("{p}.self_attn.{name}.bias"), &[len])?;
                    copy(&b.narrow(0, start, len), &src)?;
                }
            }
            copy(
                &a.o,
                &fetch(format!("{p}.self_attn.o_proj.weight"), &[h, nh * hd])?,
            )?;
            if let Some(b) = &a.o_bias {
                copy(b, &fetch(format!("{p}.self_attn.o_proj.bias"), &[h])?)?;
            }
            let gate = fetch(format!("{p}.mlp.gate_proj.weight"), &[i, h])?;
            copy(&layer.mlp.gate_up.narrow(0, 0, i), &gate)?;
            let up = fetch(format!("{p}.mlp.up_proj.weight"), &[i, h])?;
            copy(&layer.mlp.gate_up.narrow(0, i, i), &up)?;
            copy(
                &layer.mlp.down,
                &fetch(format!("{p}.mlp.down_proj.weight"), &[h, i])?,
            )?;
            copy(
                &layer.input_norm.weight,
                &fetch(format!("{p}.input_layernorm.weight"), &[h])?,
            )?;
            copy(
                &layer.post_norm.weight,
                &fetch(format!("{p}.post_attention_layernorm.weight"), &[h])?,
            )?;
        }
        copy(&self.norm.weight, &fetch("model.norm.weight".into(), &[h])?)?;
        if let Some(head) = &self.lm_head {
            copy(head, &fetch("lm_head.weight".into(), &[v, h])?)?;
        }
        Ok(())
    }

    /// Final-normed hidden states [B, T, H] for `ids` [B, T] at `positions` [B, T] or [1, T]
    /// under `mask` (over key slots `cache.start..cache.len + T` with a cache, `0..T` without).
    /// With a cache, keys/values are appended at `cache.len` and `cache.len` advances by T.
    /// `AttnMask::Causal` with a non-empty cache is turned into the equivalent explicit mask.
    pub(crate) fn forward_hidden(
        &self,
        ids: &Tensor,
        positions: &Tensor,
        mask: &AttnMask,
        mut cache: Option<&mut KvCache>,
    ) -> Tensor {
        let (b, t) = ids.size2().unwrap_or((0, 0));
        let hd = self.cfg.head_dim() as i64;
        // [1, T] positions (shared by every row) broadcast over the batch.
        let pb = positions.size().first().copied().unwrap_or(b);
        let flat_pos = positions.reshape([-1]);
        let cos = self.cos.index_select(0, &flat_pos).view([pb, t, 1, hd]);
        let sin = self.sin.index_select(0, &flat_pos).view([pb, t, 1, hd]);
        let mut x = self.embed.index_select(0, &ids.reshape([-1])).view([
            b,
            t,
            self.cfg.hidden_size as i64,
        ]);
        let (offset, start) = cache.as_ref().map(|c| (c.len, c.start)).unwrap_or((0, 0));
        let shifted;
        let mask = match mask {
            // Causal after `offset - start` earlier keys: query i sees keys ..=offset-start+i.
            AttnMask::Causal if offset > start => {
                shifted = if t == 1 {
                    AttnMask::All
                } else {
                    let before = offset - start;
                    let allowed =
                        Tensor::ones([t, before + t], (Kind::Bool, self.device)).tril(before);
                    AttnMask::Additive(
                        Tensor::zeros([t, before + t], (self.kind, self.device))
                            .masked_fill(&allowed.logical_not(), f64::NEG_INFINITY),
                    )
                };
                &shifted
            }
            m => m,
        };
        let lora = self.active_lora().map(|l| (l, l.apply()));
        for (i, layer) in self.layers.iter().enumerate() {
            let kv = cache
                .as_ref()
                .and_then(|c| Some((c.k.get(i)?, c.v.get(i)?, offset, start)));
            let ad = lora.and_then(|(l, how)| Some((l.layers.get(i)?, how)));
            x = layer.forward(&x, &cos, &sin, mask, kv, ad);
        }
        if let Some(c) = cache.as_mut() {
            c.len += t;
        }
        self.norm.forward(&x)
    }

    /// LM-head logits of hidden states (any leading shape).
    pub fn logits(&self, hidden: &Tensor) -> Tensor {
        hidden.linear::<Tensor>(self.lm_head_weight(), None)
    }

    fn check_ids(&self, ids: &Tensor) -> Result<(i64, i64), ModelError> {
        let (b, t) = ids
            .size2()
            .map_err(|_| ModelError::Input(format!("ids must be [B, T], got {:?}", ids.size())))?;
        if ids.kind() != Kind::Int64 {
            return Err(ModelError::Input(format!(
                "ids must be int64, got {:?}",
                ids.kind()
            )));
        }
        if b == 0 || t == 0 {
            return Err(ModelError::Input("empty batch".into()));
        }
        let (lo, hi) = (ids.min().int64_value(&[]), ids.max().int64_value(&[]));
        if lo < 0 || hi >= self.cfg.vocab_size as i64 {
            return Err(ModelError::Input(format!(
                "token ids must be in 0..{}, got {lo}..={hi}",
                self.cfg.vocab_size
            )));
        }
        if t > self.max_positions() {
            return Err(ModelError::Input(format!(
                "sequence length {t} exceeds the {} positions of this model",
                self.max_positions()
            )));
        }
        Ok((b, t))
    }

    /// Logits [B, T, V] of a full forward pass (no cache). `attention_mask` [B, T] is 1 for
    /// real tokens, 0 for padding; `None` means no padding.
    pub fn forward(
        &self,
        ids: &Tensor,
        attention_mask: Option<&Tensor>,
    ) -> Result<Tensor, ModelError> {
        Ok(self.logits(&self.hidden_states(ids, attention_mask)?))
    }

    /// Final-normed hidden states [B, T, H] of a full pass (no cache): `forward` without the
    /// LM head, for callers that need logits at a few positions only (`logits` of a slice).
    /// Without left padding (no mask, or every row's real tokens are a prefix of it) this is
    /// a plain causal pass with positions 0..T and no materialised mask; left-padded rows
    /// take positions from the mask and a [B, 1, T, T] padding-aware mask.
    pub fn hidden_states(
        &self,
        ids: &Tensor,
        attention_mask: Option<&Tensor>,
    ) -> Result<Tensor, ModelError> {
        let (b, t) = self.check_ids(ids)?;
        let (positions, mask) = match attention_mask {
            Some(m) => {
                if m.size() != [b, t] {
                    return Err(ModelError::Input(format!(
                        "attention_mask shape {:?} differs from ids {:?}",
                        m.size(),
                        ids.size()
                    )));
                }
                padded_causal_mask(m, self.kind)
            }
            None => (
                Tensor::arange(t, (Kind::Int64, self.device)).view([1, t]),
                AttnMask::Causal,
            ),
        };
        Ok(self.forward_hidden(ids, &positions, &mask, None))
    }

    /// Per-token log-probabilities with gradients, for the policy-gradient loss: `[B, T-1]`,
    /// entry `[b, t]` = log softmax(logits[b, t] / temperature)[ids[b, t+1]].
    pub fn token_logprobs(
        &self,
        ids: &Tensor,
        attention_mask: &Tensor,
        temperature: f64,
    ) -> Result<Tensor, ModelError> {
        check_temperature(temperature)?;
        let (_, t) = self.check_ids(ids)?;
        if t < 2 {
            return Err(ModelError::Input("need at least 2 tokens per row".into()));
        }
        let hidden = self.hidden_states(
            &ids.narrow(1, 0, t - 1),
            Some(&attention_mask.narrow(1, 0, t - 1)),
        )?;
        self.target_logprobs(&hidden, &ids.narrow(1, 1, t - 1), temperature)
    }

    /// log softmax(lm_head(hidden) / temperature)[target] for hidden states [.., H] and int64
    /// targets of the same leading shape, with gradients, computed as
    /// `logit[target] - logsumexp(logits)`: no [.., V] log-softmax is materialised (the
    /// autograd graph keeps only the logits), which halves the memory of the vocabulary
    /// projection in training. In fp32 the temperature divides the hidden state (H values a
    /// position instead of V).
    pub fn target_logprobs(
        &self,
        hidden: &Tensor,
        targets: &Tensor,
        temperature: f64,
    ) -> Result<Tensor, ModelError> {
        check_temperature(temperature)?;
        let logits = if temperature == 1.0 {
            self.logits(hidden).to_kind(Kind::Float)
        } else if hidden.kind() == Kind::Float {
            self.logits(&(hidden / temperature))
        } else {
            self.logits(hidden).to_kind(Kind::Float) / temperature
        };
        let picked = logits
            .f_gather(-1, &targets.unsqueeze(-1), false)?
            .squeeze_dim(-1);
        Ok(picked - logits.logsumexp([-1], false))
    }
}

fn check_temperature(temperature: f64) -> Result<(), ModelError> {
    if temperature.is_finite() && temperature > 0.0 {
        Ok(())
    } else {
        Err(ModelError::Input(format!(
            "temperature must be > 0, got {temperature}"
        )))
    }
}

/// Positions and attention mask of a padded batch, `attn` [B, T] being 1 for real tokens.
///
/// When every row's real tokens are a prefix of it (no padding, or right padding only) this
/// is positions 0..T ([1, T]) and `AttnMask::Causal`: real tokens see exactly the real tokens
/// before them, and no mask is materialised (padding outputs are unused). Otherwise
/// (left padding) positions are the cumulative count of real tokens - 1, as transformers
/// derives them from the attention mask, and the mask is the additive causal + padding mask
/// [B, 1, T, T]. Each query may always attend to itself, so padding rows never become all
/// -inf (their outputs are unused, but a NaN there would poison gradients).
pub(crate) fn padded_causal_mask(attn: &Tensor, kind: Kind) -> (Tensor, AttnMask) {
    let (b, t) = attn.size2().unwrap_or((0, 0));
    let device = attn.device();
    let valid = attn.ne(0);
    let left_padded = t > 1
        && valid
            .narrow(1, 1, t - 1)
            .logical_and(&valid.narrow(1, 0, t - 1).logical_not())
            .any()
            .int64_value(&[])
            != 0;
    if !left_padded {
        return (
            Tensor::arange(t, (Kind::Int64, device)).view([1, t]),
            AttnMask::Causal,
        );
    }
    let positions = (valid.cumsum(1, Kind::Int64) - 1).clamp_min(0);
    let causal = Tensor::ones([t, t], (Kind::Bool, device)).tril(0);
    let allowed = causal.unsqueeze(0).logical_and(&valid.unsqueeze(1));
    let allowed = allowed.logical_or(&Tensor::eye(t, (Kind::Bool, device)).unsqueeze(0));
    let mask = Tensor::zeros([b, t, t], (kind, device))
        .masked_fill(&allowed.logical_not(), f64::NEG_INFINITY)
        .view([b, 1, t, t]);
    (positions, AttnMask::Additive(mask))
}

/// cos and signed sin tables [positions, head_dim] as transformers computes them
/// (`inv_freq = 1 / theta^(2i/d)` in float32, `emb = cat(freqs, freqs)`), cast to `kind`.
fn rope_tables(cfg: &Config, device: Device, kind: Kind) -> (Tensor, Tensor) {
    let hd = cfg.head_dim() as i64;
    let n = cfg.max_position_embeddings.min(MAX_ROPE_POSITIONS) as i64;
    let exps = Tensor::arange_start_step(0, hd, 2, (Kind::Int64, device)).to_kind(Kind::Float)
        / (hd as f64);
    let inv_freq = Tensor::pow_scalar(cfg.rope_theta(), &exps).reciprocal();
    let t = Tensor::arange(n, (Kind::Int64, device)).to_kind(Kind::Float);
    let freqs = t.unsqueeze(1) * inv_freq.unsqueeze(0); // [n, hd/2]
    let emb = Tensor::cat(&[&freqs, &freqs], 1);
    let cos = emb.cos();
    let half = emb.sin().narrow(1, 0, hd / 2);
    let sin = Tensor::cat(&[-&half, half.shallow_clone()], 1);
    (cos.to_kind(kind), sin.to_kind(kind))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny(kind: &str) -> Config {
        let mut c = Config::llama(64, 32, 48, 2, 4, 2);
        if kind == "qwen2" {
            c.model_type = "qwen2".into();
            c.architectures = vec!["Qwen2ForCausalLM".into()];
            c.tie_word_embeddings = true;
        }
        c
    }

    #[test]
    fn config_round_trips_and_keeps_unknown_keys() {
        let text = r#"{"architectures":["Qwen2ForCausalLM"],"model_type":"qwen2",
            "vocab_size":10,"hidden_size":8,"intermediate_size":16,"num_hidden_layers":1,
            "num_attention_heads":2,"num_key_value_heads":1,"rope_theta":1000000.0,
            "use_sliding_window":false,"eos_token_id":[3,4]}"#;
        let c: Config = serde_json::from_str(text).unwrap();
        c.validate().unwrap();
        assert_eq!(c.rope_theta(), 1e6);
        assert_eq!(c.eos_token_ids(), vec![3, 4]);
        assert!(c.qkv_bias() && !c.o_bias());
        let back: Config = serde_json::from_str(&c.to_json_pretty()).unwrap();
        assert_eq!(back, c);
        assert_eq!(
            back.extra.get("use_sliding_window"),
            Some(&Value::Bool(false))
        );
    }

    #[test]
    fn rope_parameters_of_transformers_5_are_read() {
        let text = r#"{"vocab_size":10,"hidden_size":8,"intermediate_size":16,
            "num_hidden_layers":1,"num_attention_heads":2,
            "rope_parameters":{"rope_type":"default","rope_theta":500000.0}}"#;
        let c: Config = serde_json::from_str(text).unwrap();
        c.validate().unwrap();
        assert_eq!(c.rope_theta(), 500000.0);
    }

    #[test]
    fn invalid_configs_are_rejected() {
        let mut c = tiny("llama");
        c.num_key_value_heads = Some(3);
        assert!(c.validate().is_err());
        let mut c = tiny("llama");
        c.hidden_act = "gelu".into();
        assert!(c.validate().is_err());
        let mut c = tiny("llama");
        c.rope_scaling = Some(serde_json::json!({"rope_type": "yarn", "factor": 4.0}));
        assert!(c.validate().is_err());
        let mut c = tiny("llama");
        c.vocab_size = 0;
        assert!(Model::new(&c, Device::Cpu, Kind::Float).is_err());
    }

    #[test]
    fn param_count_matches_the_var_store() {
        for kind in ["llama", "qwen2"] {
            let c = tiny(kind);
            let m = Model::new(&c, Device::Cpu, Kind::Float).unwrap();
            let n: i64 =
                m.vs.trainable_variables()
                    .iter()
                    .map(|t| t.numel() as i64)
                    .sum();
            assert_eq!(n as usize, c.num_params(), "{kind}");
        }
    }

    #[test]
    fn cached_decoding_matches_a_full_forward() {
        tch::manual_seed(0);
        let m = Model::new(&tiny("qwen2"), Device::Cpu, Kind::Float).unwrap();
        let ids = Tensor::from_slice(&[1i64, 5, 9, 2, 7, 3]).view([1, 6]);
        let full = m.forward(&ids, None).unwrap();
        let _g = tch::no_grad_guard();
        let mut cache = KvCache::new(&m, 1, 8);
        let (pos, mask) =
            padded_causal_mask(&Tensor::ones([1, 4], (Kind::Int64, Device::Cpu)), m.kind());
        let h = m.forward_hidden(&ids.narrow(1, 0, 4), &pos, &mask, Some(&mut cache));
        let first = m.logits(&h);
        assert!(first.allclose(&full.narrow(1, 0, 4), 1e-5, 1e-5, false));
        for step in 4..6 {
            let pos = Tensor::from_slice(&[step]).view([1, 1]);
            let h = m.forward_hidden(
                &ids.narrow(1, step, 1),
                &pos,
                &AttnMask::All,
                Some(&mut cache),
            );
            let got = m.logits(&h);
            assert!(got.allclose(&full.narrow(1, step, 1), 1e-5, 1e-5, false));
        }
    }

    #[test]
    fn left_padding_does_not_change_logits() {
        tch::manual_seed(1);
        let m = Model::new(&tiny("llama"), Device::Cpu, Kind::Float).unwrap();
        let ids = Tensor::from_slice(&[4i64, 8, 15]).view([1, 3]);
        let alone = m.forward(&ids, None).unwrap().narrow(1, 2, 1);
        let padded = Tensor::from_slice(&[0i64, 0, 4, 8, 15]).view([1, 5]);
        let attn = Tensor::from_slice(&[0i64, 0, 1, 1, 1]).view([1, 5]);
        let got = m.forward(&padded, Some(&attn)).unwrap().narrow(1, 4, 1);
        assert!(got.allclose(&alone, 1e-5, 1e-5, false));
    }

    #[test]
    fn token_logprobs_have_gradients_and_reject_bad_ids() {
        tch::manual_seed(2);
        let m = Model::new(&tiny("llama"), Device::Cpu, Kind::Float).unwrap();
        let ids = Tensor::from_slice(&[1i64, 2, 3, 4]).view([1, 4]);
        let attn = Tensor::ones([1, 4], (Kind::Int64, Device::Cpu));
        let lp = m.token_logprobs(&ids, &attn, 1.0).unwrap();
        assert_eq!(lp.size(), [1, 3]);
        assert!(lp.requires_grad());
        assert!(lp.max().double_value(&[]) <= 0.0);
        let bad = Tensor::from_slice(&[1i64, 64]).view([1, 2]);
        assert!(m.token_logprobs(&bad, &attn.narrow(1, 0, 2), 1.0).is_err());
    }

    #[test]
    fn bf16_forward_is_close_to_fp32() {
        tch::manual_seed(3);
        let mut m = Model::new(&tiny("llama"), Device::Cpu, Kind::Float).unwrap();
        let ids = Tensor::from_slice(&[1i64, 2, 3, 4]).view([1, 4]);
        let a = m.forward(&ids, None).unwrap();
        m.set_kind(Kind::BFloat16);
        let b = m.forward(&ids, None).unwrap().to_kind(Kind::Float);
        let err = (a - b).abs().max().double_value(&[]);
        assert!(err < 0.05, "bf16 drift {err}");
    }

    /// `select_rows` keeps each surviving row's group of shared slots, through drops,
    /// reordering and repeats.
    #[test]
    fn selecting_cache_rows_keeps_their_groups() {
        let m = Model::new_seeded(
            &Config::llama(16, 8, 16, 1, 2, 1),
            Device::Cpu,
            Kind::Float,
            1,
        )
        .unwrap();
        let mut cache = KvCache::new(&m, 3, 4);
        cache.shared = Some(SharedPrefix {
            groups: vec![0, 1, 2],
            slots: 2,
        });
        cache.select_rows(&Tensor::from_slice(&[0i64, 0, 2, 1, 2]));
        let groups = |c: &KvCache| c.shared.as_ref().map(|s| s.groups.clone());
        assert_eq!(groups(&cache), Some(vec![0, 0, 2, 1, 2]));
        cache.select_rows(&Tensor::from_slice(&[4i64, 1, 3]));
        assert_eq!(groups(&cache), Some(vec![2, 0, 1]));
        assert_eq!(cache.k[0].size()[0], 3);
        // A row index the groups do not cover drops the sharing rather than guessing.
        cache.shared = Some(SharedPrefix {
            groups: vec![0, 1],
            slots: 2,
        });
        cache.select_rows(&Tensor::from_slice(&[2i64]));
        assert_eq!(cache.shared, None);
    }

    /// Right padding takes the mask-free causal path: real tokens get the logits of their
    /// row run alone; left padding (the masked path) agrees as well.
    #[test]
    fn right_and_left_padding_match_unpadded_rows() {
        tch::manual_seed(5);
        let m = Model::new(&tiny("qwen2"), Device::Cpu, Kind::Float).unwrap();
        let rows: [&[i64]; 3] = [&[3, 9, 27, 17, 51], &[2, 4], &[8, 16, 32]];
        let t = 5i64;
        let mut right = Vec::new();
        let mut right_attn = Vec::new();
        let mut left = Vec::new();
        let mut left_attn = Vec::new();
        for r in rows {
            let pad = t as usize - r.len();
            right.extend(r.iter().copied().chain(std::iter::repeat_n(0, pad)));
            right_attn
                .extend(std::iter::repeat_n(1i64, r.len()).chain(std::iter::repeat_n(0, pad)));
            left.extend(std::iter::repeat_n(0, pad).chain(r.iter().copied()));
            left_attn.extend(std::iter::repeat_n(0i64, pad).chain(std::iter::repeat_n(1, r.len())));
        }
        let as_t = |v: &[i64]| Tensor::from_slice(v).view([3, t]);
        let (pos, mask) = padded_causal_mask(&as_t(&right_attn), Kind::Float);
        assert!(matches!(mask, AttnMask::Causal));
        assert_eq!(pos.size(), [1, t]);
        let (_, mask) = padded_causal_mask(&as_t(&left_attn), Kind::Float);
        assert!(matches!(mask, AttnMask::Additive(_)));
        let r_logits = m.forward(&as_t(&right), Some(&as_t(&right_attn))).unwrap();
        let l_logits = m.forward(&as_t(&left), Some(&as_t(&left_attn))).unwrap();
        for (i, r) in rows.iter().enumerate() {
            let n = r.len() as i64;
            let alone = m
                .forward(&Tensor::from_slice(r).view([1, n]), None)
                .unwrap()
                .squeeze_dim(0);
            let i = i as i64;
            let rr = r_logits.get(i).narrow(0, 0, n);
            let ll = l_logits.get(i).narrow(0, t - n, n);
            assert!(rr.allclose(&alone, 1e-5, 1e-5, false), "right row {i}");
            assert!(ll.allclose(&alone, 1e-5, 1e-5, false), "left row {i}");
        }
    }

    /// `token_logprobs` (gather - logsumexp, temperature folded into the hidden state) equals
    /// the log-softmax formula, values and gradients.
    #[test]
    fn token_logprobs_equal_log_softmax_with_gradients() {
        tch::manual_seed(6);
        let m = Model::new(&tiny("llama"), Device::Cpu, Kind::Float).unwrap();
        let ids = Tensor::from_slice(&[0i64, 5, 9, 2, 7, 3, 1, 4, 33, 12]).view([2, 5]);
        let attn = Tensor::from_slice(&[1i64, 1, 1, 1, 1, 0, 1, 1, 1, 1]).view([2, 5]);
        for temp in [1.0, 0.7] {
            let weight = &m.vs.trainable_variables()[3];
            let got = m.token_logprobs(&ids, &attn, temp).unwrap();
            let logits = m
                .forward(&ids.narrow(1, 0, 4), Some(&attn.narrow(1, 0, 4)))
                .unwrap()
                / temp;
            let want = logits
                .log_softmax(-1, Kind::Float)
                .gather(-1, &ids.narrow(1, 1, 4).unsqueeze(-1), false)
                .squeeze_dim(-1);
            // Row 1's first position is padding (its output is unused); compare the rest.
            let real = attn.narrow(1, 0, 4).to_kind(Kind::Float);
            let err = ((&got - &want) * &real).abs().max().double_value(&[]);
            assert!(err < 1e-5, "temperature {temp}: {err}");
            let grad_of = |lp: &Tensor| {
                let g =
                    Tensor::run_backward(&[(lp * &real).sum(Kind::Float)], &[weight], false, false);
                g.into_iter().next().unwrap()
            };
            let (a, b) = (grad_of(&got), grad_of(&want));
            let err = (&a - &b).abs().max().double_value(&[]);
            let scale = b.abs().max().double_value(&[]);
            assert!(
                err < 1e-5 * scale.max(1.0),
                "temperature {temp}: grad {err}"
            );
        }
    }
}
