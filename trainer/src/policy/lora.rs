//! LoRA: low-rank adapters on the policy's projections, trained while the base weights stay
//! frozen (Hu et al. 2021, as Hugging Face PEFT implements it).
//!
//! A targeted projection `W` [out, in] gains `A` [r, in] and `B` [out, r] and computes
//! `x W^T + (alpha / r) · dropout(x) A^T B^T`. `A` starts uniform in ±1/sqrt(in) (PEFT's
//! Kaiming-uniform with a = sqrt(5)), `B` at zero, so a fresh adapter changes nothing.
//!
//! - The adapters live in their own `VarStore` (`Lora::vs`), always fp32: with a bf16 base
//!   (`model.dtype = "bfloat16"`) the adapters, their gradients and AdamW's moments stay fp32.
//! - The reference model of the KL is the same base with the adapters switched off
//!   (`Model::with_adapters_off`): no second copy of the weights.
//! - Sampling goes through the fused engine on merged weights (`W + (alpha/r) B A`,
//!   computed when an engine is built); training and scoring apply the adapters unmerged.
//! - Checkpoints are PEFT's layout: `adapter_config.json` and `adapter_model.safetensors`
//!   with `base_model.model.<module>.lora_A.weight` / `lora_B.weight`, which
//!   `PeftModel.from_pretrained` loads onto the transformers model.

use crate::util::config::{finite_in, within, ConfigError};
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicBool, Ordering};
use tch::{nn, Device, Kind, Tensor};

/// The projections adapters can target, by their Hugging Face module names.
pub const TARGETS: [&str; 7] = [
    "q_proj",
    "k_proj",
    "v_proj",
    "o_proj",
    "gate_proj",
    "up_proj",
    "down_proj",
];

/// `[lora]` of `train sft` and `train grpo`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LoraConfig {
    /// Adapter rank; 0 turns LoRA off (full fine-tuning).
    pub rank: usize,
    /// Scaling numerator: the adapter's output is multiplied by alpha / rank.
    pub alpha: f64,
    /// Dropout on the adapter's input while training. Its masks come from libtorch's global
    /// generator, so a resumed run with dropout goes on statistically alike rather than bit
    /// for bit (0, the default, keeps resumes exact).
    pub dropout: f64,
    /// Projections that get adapters (any of q_proj, k_proj, v_proj, o_proj, gate_proj,
    /// up_proj, down_proj).
    pub targets: Vec<String>,
}

impl Default for LoraConfig {
    fn default() -> Self {
        LoraConfig {
            rank: 0,
            alpha: 16.0,
            dropout: 0.0,
            targets: TARGETS.iter().map(|t| t.to_string()).collect(),
        }
    }
}

impl LoraConfig {
    pub fn enabled(&self) -> bool {
        self.rank > 0
    }

    /// Range checks, each error naming its knob.
    pub fn validate(&self) -> Result<(), ConfigError> {
        within("lora.rank", self.rank, 0, 4096)?;
        finite_in("lora.alpha", self.alpha, 1e-6, 1e6)?;
        finite_in("lora.dropout", self.dropout, 0.0, 0.99)?;
        if self.enabled() && self.targets.is_empty() {
            return Err(ConfigError::Invalid(
                "lora.targets is empty: name at least one projection".into(),
            ));
        }
        for t in &self.targets {
            if !TARGETS.contains(&t.as_str()) {
                return Err(ConfigError::Invalid(format!(
                    "lora.targets: unknown projection '{t}' (use {})",
                    TARGETS.join(", ")
                )));
            }
        }
        Ok(())
    }

    /// alpha / rank (PEFT's scaling without rsLoRA).
    pub fn scale(&self) -> f64 {
        self.alpha / self.rank.max(1) as f64
    }
}

/// LoRA trains adapters against a base checkpoint on disk, which its saved adapters name.
pub fn lora_needs_a_base(model: &crate::policy::ModelConfig) -> Result<(), ConfigError> {
    if model.path.is_empty() {
        return Err(ConfigError::Invalid(
            "lora.rank > 0 needs model.path: the base checkpoint the adapters are trained \
             on and saved against"
                .into(),
        ));
    }
    Ok(())
}

/// One projection's adapter: `a` [r, in], `b` [out, r].
pub(crate) struct Adapter {
    pub(crate) a: Tensor,
    pub(crate) b: Tensor,
}

/// A layer's adapters, indexed like [`TARGETS`].
pub(crate) struct LayerAdapters {
    pub(crate) by_target: [Option<Adapter>; 7],
}

/// How the adapters apply in one forward pass.
#[derive(Clone, Copy)]
pub(crate) struct Apply {
    pub(crate) scale: f64,
    /// Dropout probability, 0 outside training.
    pub(crate) dropout: f64,
}

impl LayerAdapters {
    /// The summed adapter outputs of targets `parts` (each with its output width), laid out
    /// side by side like a fused projection's output; `None` when none of them is adapted.
    pub(crate) fn fused_delta(
        &self,
        x: &Tensor,
        parts: &[(usize, i64)],
        how: Apply,
    ) -> Option<Tensor> {
        if parts.iter().all(|&(t, _)| self.by_target[t].is_none()) {
            return None;
        }
        let lead: Vec<i64> = x
            .size()
            .split_last()
            .map_or(Vec::new(), |(_, l)| l.to_vec());
        let pieces: Vec<Tensor> = parts
            .iter()
            .map(|&(t, width)| match &self.by_target[t] {
                Some(ad) => ad.delta(x, how),
                None => {
                    let mut shape = lead.clone();
                    shape.push(width);
                    Tensor::zeros(shape.as_slice(), (x.kind(), x.device()))
                }
            })
            .collect();
        Some(Tensor::cat(&pieces, -1))
    }

    /// The merged-weight delta of targets `parts` (each with its [out, in] shape), stacked
    /// along the output rows like a fused weight; `None` when none is adapted.
    pub(crate) fn fused_weight_delta(
        &self,
        parts: &[(usize, [i64; 2])],
        scale: f64,
        device: Device,
    ) -> Option<Tensor> {
        if parts.iter().all(|&(t, _)| self.by_target[t].is_none()) {
            return None;
        }
        let pieces: Vec<Tensor> = parts
            .iter()
            .map(|&(t, shape)| match &self.by_target[t] {
                Some(ad) => ad.b.matmul(&ad.a) * scale,
                None => Tensor::zeros(shape, (Kind::Float, device)),
            })
            .collect();
        Some(Tensor::cat(&pieces, 0))
    }
}

impl Adapter {
    /// `scale · dropout(x) A^T B^T`, computed in the adapter's dtype and returned in x's.
    fn delta(&self, x: &Tensor, how: Apply) -> Tensor {
        let xa = x.to_kind(self.a.kind());
        let xa = if how.dropout > 0.0 {
            xa.dropout(how.dropout, true)
        } else {
            xa
        };
        (xa.linear::<Tensor>(&self.a, None)
            .linear::<Tensor>(&self.b, None)
            * how.scale)
            .to_kind(x.kind())
    }
}

/// The adapters of a whole model.
pub struct Lora {
    pub cfg: LoraConfig,
    /// The adapters' variables (what the optimiser trains), named as in PEFT's file
    /// without its `base_model.model.` prefix.
    pub vs: nn::VarStore,
    pub(crate) layers: Vec<LayerAdapters>,
    /// The base checkpoint folder the adapters are saved against.
    pub base: String,
    enabled: AtomicBool,
}

/// (in, out) of each target for a model config, indexed like [`TARGETS`].
pub(crate) fn target_shapes(cfg: &crate::policy::Config) -> [(i64, i64); 7] {
    let (h, i) = (cfg.hidden_size as i64, cfg.intermediate_size as i64);
    let (q, kv) = (
        (cfg.num_attention_heads * cfg.head_dim()) as i64,
        (cfg.num_kv_heads() * cfg.head_dim()) as i64,
    );
    [(h, q), (h, kv), (h, kv), (q, h), (h, i), (h, i), (i, h)]
}

/// `self_attn` or `mlp`: where a target sits in a decoder layer.
fn block(target: &str) -> &'static str {
    if matches!(target, "gate_proj" | "up_proj" | "down_proj") {
        "mlp"
    } else {
        "self_attn"
    }
}

/// The key PEFT's `adapter_model.safetensors` uses for a variable.
pub(crate) fn peft_key(var: &str) -> String {
    format!("base_model.model.{var}")
}

impl Lora {
    /// Fresh adapters for a model of config `mc` on `device`, drawn from libtorch's global
    /// generator as it stands (the caller seeds it under the model's init lock).
    pub(crate) fn new_unlocked(
        cfg: &LoraConfig,
        mc: &crate::policy::Config,
        device: Device,
        base: &str,
    ) -> Lora {
        let vs = nn::VarStore::new(device);
        let root = vs.root();
        let shapes = target_shapes(mc);
        let r = cfg.rank as i64;
        let layers = (0..mc.num_hidden_layers)
            .map(|l| {
                let by_target = std::array::from_fn(|t| {
                    let name = TARGETS[t];
                    if !cfg.targets.iter().any(|x| x == name) {
                        return None;
                    }
                    let (fan_in, out) = shapes[t];
                    let p = &root / "model" / "layers" / l / block(name) / name;
                    let bound = 1.0 / (fan_in as f64).sqrt();
                    Some(Adapter {
                        a: (&p / "lora_A").var(
                            "weight",
                            &[r, fan_in],
                            nn::Init::Uniform {
                                lo: -bound,
                                up: bound,
                            },
                        ),
                        b: (&p / "lora_B").var("weight", &[out, r], nn::Init::Const(0.0)),
                    })
                });
                LayerAdapters { by_target }
            })
            .collect();
        Lora {
            cfg: cfg.clone(),
            vs,
            layers,
            base: base.to_string(),
            enabled: AtomicBool::new(true),
        }
    }

    pub(crate) fn enabled(&self) -> bool {
        self.enabled.load(Ordering::Relaxed)
    }

    pub(crate) fn set_enabled(&self, on: bool) -> bool {
        self.enabled.swap(on, Ordering::Relaxed)
    }

    /// How the adapters apply in a pass: dropout only where gradients are recorded.
    pub(crate) fn apply(&self) -> Apply {
        Apply {
            scale: self.cfg.scale(),
            dropout: if self.cfg.dropout > 0.0 && grad_enabled() {
                self.cfg.dropout
            } else {
                0.0
            },
        }
    }

    /// Every adapter matrix as (PEFT key, detached contiguous CPU copy), in name order.
    pub fn peft_state_dict(&self) -> Vec<(String, Tensor)> {
        let mut vars: Vec<(String, Tensor)> = self.vs.variables().into_iter().collect();
        vars.sort_by(|a, b| a.0.cmp(&b.0));
        vars.into_iter()
            .map(|(n, t)| (peft_key(&n), t.detach().to_device(Device::Cpu).contiguous()))
            .collect()
    }

    /// `adapter_config.json` as PEFT writes it for these adapters.
    pub fn peft_config(&self) -> serde_json::Value {
        serde_json::json!({
            "peft_type": "LORA",
            "task_type": "CAUSAL_LM",
            "base_model_name_or_path": self.base,
            "r": self.cfg.rank,
            "lora_alpha": self.cfg.alpha,
            "lora_dropout": self.cfg.dropout,
            "target_modules": self.cfg.targets,
            "bias": "none",
            "fan_in_fan_out": false,
            "use_rslora": false,
            "use_dora": false,
            "inference_mode": true,
            "modules_to_save": null,
            "init_lora_weights": true,
        })
    }
}

/// Whether libtorch records gradients here (outside `no_grad`): an op on a tensor that
/// requires grad yields one that does only then.
fn grad_enabled() -> bool {
    let probe = Tensor::zeros([1], (Kind::Float, Device::Cpu)).set_requires_grad(true);
    (&probe * 1.0).requires_grad()
}

/// Reads PEFT's `adapter_config.json` into a [`LoraConfig`] and the base folder it names.
pub fn read_peft_config(text: &str, file: &str) -> Result<(LoraConfig, String), String> {
    let v: serde_json::Value = serde_json::from_str(text).map_err(|e| format!("{file}: {e}"))?;
    let field = |name: &str| {
        v.get(name)
            .ok_or_else(|| format!("{file}: missing field '{name}'"))
    };
    let peft_type = field("peft_type")?.as_str().unwrap_or_default();
    if peft_type != "LORA" {
        return Err(format!(
            "{file}: peft_type '{peft_type}' is not supported (only LORA)"
        ));
    }
    let rank = field("r")?
        .as_u64()
        .ok_or_else(|| format!("{file}: field 'r' must be a positive integer"))?;
    let alpha = field("lora_alpha")?
        .as_f64()
        .ok_or_else(|| format!("{file}: field 'lora_alpha' must be a number"))?;
    let dropout = v
        .get("lora_dropout")
        .and_then(serde_json::Value::as_f64)
        .unwrap_or(0.0);
    let targets: Vec<String> = match field("target_modules")? {
        serde_json::Value::Array(a) => a
            .iter()
            .map(|t| {
                t.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| format!("{file}: field 'target_modules' must hold strings"))
            })
            .collect::<Result<_, _>>()?,
        serde_json::Value::String(s) if s == "all-linear" => {
            TARGETS.iter().map(|t| t.to_string()).collect()
        }
        other => {
            return Err(format!(
                "{file}: field 'target_modules' must be a list of projection names, got {other}"
            ))
        }
    };
    for (flag, what) in [("use_rslora", "rsLoRA"), ("use_dora", "DoRA")] {
        if v.get(flag).and_then(serde_json::Value::as_bool) == Some(true) {
            return Err(format!(
                "{file}: {what} adapters ('{flag}') are not supported"
            ));
        }
    }
    if v.get("bias")
        .and_then(serde_json::Value::as_str)
        .unwrap_or("none")
        != "none"
    {
        return Err(format!("{file}: field 'bias' must be \"none\""));
    }
    let base = field("base_model_name_or_path")?
        .as_str()
        .ok_or_else(|| format!("{file}: field 'base_model_name_or_path' must be a string"))?
        .to_string();
    let cfg = LoraConfig {
        rank: rank as usize,
        alpha,
        dropout,
        targets,
    };
    cfg.validate().map_err(|e| format!("{file}: {e}"))?;
    if !cfg.enabled() {
        return Err(format!("{file}: field 'r' must be positive"));
    }
    Ok((cfg, base))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_knobs_are_named() {
        let bad = |f: fn(&mut LoraConfig), knob: &str| {
            let mut c = LoraConfig {
                rank: 8,
                ..Default::default()
            };
            f(&mut c);
            let e = c.validate().unwrap_err().to_string();
            assert!(e.contains(knob), "{e}");
        };
        bad(|c| c.alpha = f64::NAN, "lora.alpha");
        bad(|c| c.dropout = 1.0, "lora.dropout");
        bad(|c| c.targets = vec!["qkv".into()], "lora.targets");
        bad(|c| c.targets.clear(), "lora.targets");
        bad(|c| c.rank = 1 << 20, "lora.rank");
    }

    #[test]
    fn peft_configs_read_back_and_bad_ones_name_the_field() {
        let lora = LoraConfig {
            rank: 4,
            alpha: 8.0,
            dropout: 0.05,
            targets: vec!["q_proj".into(), "down_proj".into()],
        };
        let mc = crate::policy::Config::llama(300, 32, 64, 2, 4, 2);
        let l = Lora::new_unlocked(&lora, &mc, Device::Cpu, "/models/base");
        let text = l.peft_config().to_string();
        let (back, base) = read_peft_config(&text, "a.json").unwrap();
        assert_eq!(back, lora);
        assert_eq!(base, "/models/base");
        let mut v = l.peft_config();
        v["target_modules"] = serde_json::json!("all-linear");
        let (all, _) = read_peft_config(&v.to_string(), "a.json").unwrap();
        assert_eq!(all.targets.len(), 7);
        for (field, value) in [
            ("peft_type", serde_json::json!("IA3")),
            ("r", serde_json::json!("eight")),
            ("target_modules", serde_json::json!(["fc1"])),
            ("use_dora", serde_json::json!(true)),
            ("bias", serde_json::json!("all")),
        ] {
            let mut v = l.peft_config();
            v[field] = value;
            let e = read_peft_config(&v.to_string(), "a.json").unwrap_err();
            assert!(e.contains("a.json"), "{e}");
            let named = e.contains(field) || (field == "target_modules" && e.contains("fc1"));
            assert!(named, "{field}: {e}");
        }
        // Shapes: one A and B per layer and target, named as PEFT keys.
        let keys: Vec<String> = l.peft_state_dict().into_iter().map(|(k, _)| k).collect();
        assert_eq!(keys.len(), 2 * 2 * 2);
        assert!(keys
            .contains(&"base_model.model.model.layers.1.mlp.down_proj.lora_B.weight".to_string()));
    }
}
