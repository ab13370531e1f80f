//! Decoder-only transformer of the Llama / Qwen2 family in tch (issue 7): RMSNorm, RoPE,
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
//! - Run generation under the sampler (it takes `tch::no_grad` itself); the reference model for
//!   the KL term is a second `Model` loaded from the same checkpoint and `vs.freeze()`d.

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
struct RmsNorm {
    weight: Tensor,
    eps: f64,
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
struct Attention {
    qkv: Tensor,
    qkv_bias: Option<Tensor>,
    o: Tensor,
    o_bias: Option<Tensor>,
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

    /// `x`: [B, T, H]; `cos`/`sin`: [B, T, 1, hd]; `mask`: additive, broadcastable to
    /// [B, 1, 1, T, L]. With a cache, this step's keys/values are written at `offset` and
    /// attention runs over cache positions `0..offset + T`.
    fn forward(
        &self,
        x: &Tensor,
        cos: &Tensor,
        sin: &Tensor,
        mask: &Tensor,
        cache: Option<(&Tensor, &Tensor, i64)>,
    ) -> Tensor {
        let (b, t, _) = x.size3().unwrap_or((0, 0, 0));
        let (nh, nkv, hd) = (self.heads, self.kv_heads, self.head_dim);
        let qkv = x
            .linear(&self.qkv, self.qkv_bias.as_ref())
            .view([b, t, nh + 2 * nkv, hd]);
        // RoPE on q and k together: x*cos + rotate_half(x)*sin, where rotate_half(x)*sin ==
        // roll(x, hd/2) * [-sin, sin] (the sign lives in the table).
        let qk = qkv.narrow(2, 0, nh + nkv);
        let qk = (&qk * cos).addcmul(&qk.roll([hd / 2], [-1]), sin);
        let q = qk.narrow(2, 0, nh);
        let k = qk.narrow(2, nh, nkv).permute([0, 2, 1, 3]);
        let v = qkv.narrow(2, nh + nkv, nkv).permute([0, 2, 1, 3]);
        let (k_all, v_all) = match cache {
            Some((ck, cv, offset)) => {
                ck.narrow(2, offset, t).copy_(&k);
                cv.narrow(2, offset, t).copy_(&v);
                (ck.narrow(2, 0, offset + t), cv.narrow(2, 0, offset + t))
            }
            None => (k, v),
        };
        let l = k_all.size().get(2).copied().unwrap_or(0);
        let g = nh / nkv;
        // Grouped-query attention without repeating k/v: the g query heads sharing a kv head
        // become extra rows of one matmul: q [B, nkv, g*T, hd] x k^T [B, nkv, hd, L].
        let q = (q * self.scale)
            .reshape([b, t, nkv, g, hd])
            .permute([0, 2, 3, 1, 4])
            .reshape([b, nkv, g * t, hd]);
        let scores = q.matmul(&k_all.transpose(-1, -2)).view([b, nkv, g, t, l]) + mask;
        let probs = scores.softmax(-1, Kind::Float).to_kind(x.kind());
        let out = probs
            .view([b, nkv, g * t, l])
            .matmul(&v_all)
            .view([b, nkv, g, t, hd])
            .permute([0, 3, 1, 2, 4])
            .reshape([b, t, nh * hd]);
        out.linear(&self.o, self.o_bias.as_ref())
    }
}

/// SwiGLU MLP with fused gate/up projection: down(silu(gate(x)) * up(x)).
struct Mlp {
    gate_up: Tensor,
    down: Tensor,
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

    fn forward(&self, x: &Tensor) -> Tensor {
        let gu = x.linear::<Tensor>(&self.gate_up, None);
        let act = gu.narrow(-1, 0, self.inter).silu() * gu.narrow(-1, self.inter, self.inter);
        act.linear::<Tensor>(&self.down, None)
    }
}

struct DecoderLayer {
    input_norm: RmsNorm,
    attn: Attention,
    post_norm: RmsNorm,
    mlp: Mlp,
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
        mask: &Tensor,
        cache: Option<(&Tensor, &Tensor, i64)>,
    ) -> Tensor {
        let h = x + self
            .attn
            .forward(&self.input_norm.forward(x), cos, sin, mask, cache);
        let out = self.mlp.forward(&self.post_norm.forward(&h));
        h + out
    }
}

/// Preallocated key/value cache: per layer [B, kv_heads, capacity, head_dim].
pub struct KvCache {
    k: Vec<Tensor>,
    v: Vec<Tensor>,
    /// Positions filled so far (shared by all rows; rows are left-padded).
    pub len: i64,
    pub capacity: i64,
}

impl KvCache {
    pub fn new(model: &Model, batch: i64, capacity: i64) -> KvCache {
        let cfg = &model.cfg;
        let shape = [
            batch,
            cfg.num_kv_heads() as i64,
            capacity,
            cfg.head_dim() as i64,
        ];
        let opts = (model.kind, model.device);
        let n = cfg.num_hidden_layers;
        KvCache {
            // Uninitialised is safe: prefill writes slots 0..P of every row (padding too) and
            // each decode step writes the slot it then reads; nothing past `len` is read.
            k: (0..n).map(|_| Tensor::empty(shape, opts)).collect(),
            v: (0..n).map(|_| Tensor::empty(shape, opts)).collect(),
            len: 0,
            capacity,
        }
    }

    /// Keeps only the given batch rows (used to drop finished sequences).
    pub fn select_rows(&mut self, rows: &Tensor) {
        for t in self.k.iter_mut().chain(self.v.iter_mut()) {
            *t = t.index_select(0, rows);
        }
    }
}

/// The policy: embeddings, decoder layers, final norm and LM head, all in `vs`.
pub struct Model {
    pub cfg: Config,
    pub vs: nn::VarStore,
    embed: Tensor,
    layers: Vec<DecoderLayer>,
    norm: RmsNorm,
    /// `None` when the embeddings are tied.
    lm_head: Option<Tensor>,
    cos: Tensor,
    sin: Tensor,
    device: Device,
    kind: Kind,
}

impl Model {
    /// A fresh model whose weights are drawn from libtorch's generator seeded with `seed`.
    /// That generator is process-global, so seeding and drawing happen under one lock:
    /// models built concurrently (parallel tests, several runs in one process) stay
    /// reproducible.
    pub fn new_seeded(
        cfg: &Config,
        device: Device,
        kind: Kind,
        seed: i64,
    ) -> Result<Model, ModelError> {
        static INIT: std::sync::Mutex<()> = std::sync::Mutex::new(());
        let _guard = INIT.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        tch::manual_seed(seed);
        Model::new(cfg, device, kind)
    }

    /// A randomly initialised model (normal(0, initializer_range) weights, unit norms).
    pub fn new(cfg: &Config, device: Device, kind: Kind) -> Result<Model, ModelError> {
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

    /// Final-normed hidden states [B, T, H] for `ids` [B, T] at `positions` [B, T] with an
    /// additive attention `mask` broadcastable to [B, 1, 1, T, L]. With a cache, keys/values
    /// are appended at `cache.len` and `cache.len` advances by T.
    pub(crate) fn forward_hidden(
        &self,
        ids: &Tensor,
        positions: &Tensor,
        mask: &Tensor,
        mut cache: Option<&mut KvCache>,
    ) -> Tensor {
        let (b, t) = ids.size2().unwrap_or((0, 0));
        let hd = self.cfg.head_dim() as i64;
        let flat_pos = positions.reshape([-1]);
        let cos = self.cos.index_select(0, &flat_pos).view([b, t, 1, hd]);
        let sin = self.sin.index_select(0, &flat_pos).view([b, t, 1, hd]);
        let mut x = self.embed.index_select(0, &ids.reshape([-1])).view([
            b,
            t,
            self.cfg.hidden_size as i64,
        ]);
        let offset = cache.as_ref().map(|c| c.len).unwrap_or(0);
        for (i, layer) in self.layers.iter().enumerate() {
            let kv = cache
                .as_ref()
                .and_then(|c| Some((c.k.get(i)?, c.v.get(i)?, offset)));
            x = layer.forward(&x, &cos, &sin, mask, kv);
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
        let (b, t) = self.check_ids(ids)?;
        let ones;
        let attn = match attention_mask {
            Some(m) => {
                if m.size() != [b, t] {
                    return Err(ModelError::Input(format!(
                        "attention_mask shape {:?} differs from ids {:?}",
                        m.size(),
                        ids.size()
                    )));
                }
                m
            }
            None => {
                ones = Tensor::ones([b, t], (Kind::Int64, self.device));
                &ones
            }
        };
        let (positions, mask) = padded_causal_mask(attn, self.kind);
        Ok(self.logits(&self.forward_hidden(ids, &positions, &mask, None)))
    }

    /// Per-token log-probabilities with gradients, for the policy-gradient loss: `[B, T-1]`,
    /// entry `[b, t]` = log softmax(logits[b, t] / temperature)[ids[b, t+1]].
    pub fn token_logprobs(
        &self,
        ids: &Tensor,
        attention_mask: &Tensor,
        temperature: f64,
    ) -> Result<Tensor, ModelError> {
        if !(temperature.is_finite() && temperature > 0.0) {
            return Err(ModelError::Input(format!(
                "temperature must be > 0, got {temperature}"
            )));
        }
        let (_, t) = self.check_ids(ids)?;
        if t < 2 {
            return Err(ModelError::Input("need at least 2 tokens per row".into()));
        }
        let logits = self.forward(
            &ids.narrow(1, 0, t - 1),
            Some(&attention_mask.narrow(1, 0, t - 1)),
        )?;
        let logits = logits.to_kind(Kind::Float);
        let logits = if temperature == 1.0 {
            logits
        } else {
            logits / temperature
        };
        let targets = ids.narrow(1, 1, t - 1).unsqueeze(-1);
        Ok(logits
            .log_softmax(-1, Kind::Float)
            .gather(-1, &targets, false)
            .squeeze_dim(-1))
    }
}

/// Positions (cumulative count of real tokens - 1, as transformers derives them from the
/// attention mask) and the additive causal + padding mask [B, 1, 1, T, T]. Each query may
/// always attend to itself, so padding rows never become all -inf (their outputs are unused).
pub(crate) fn padded_causal_mask(attn: &Tensor, kind: Kind) -> (Tensor, Tensor) {
    let (b, t) = attn.size2().unwrap_or((0, 0));
    let device = attn.device();
    let valid = attn.ne(0);
    let positions = (valid.cumsum(1, Kind::Int64) - 1).clamp_min(0);
    let causal = Tensor::ones([t, t], (Kind::Bool, device)).tril(0);
    let allowed = causal.unsqueeze(0).logical_and(&valid.unsqueeze(1));
    let allowed = allowed.logical_or(&Tensor::eye(t, (Kind::Bool, device)).unsqueeze(0));
    let mask = Tensor::zeros([b, t, t], (kind, device))
        .masked_fill(&allowed.logical_not(), f64::NEG_INFINITY)
        .view([b, 1, 1, t, t]);
    (positions, mask)
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
            let mask = Tensor::zeros([1, 1, 1, 1, step + 1], (Kind::Float, Device::Cpu));
            let h = m.forward_hidden(&ids.narrow(1, step, 1), &pos, &mask, Some(&mut cache));
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
}
