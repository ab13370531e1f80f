//! A reward model: the policy's backbone (any model `train` loads) with a scalar `score`
//! head on the last token's final-normed hidden state, as transformers'
//! `LlamaForSequenceClassification` / `Qwen2ForSequenceClassification` with one label.
//!
//! Saved as that class saves itself: `config.json` with the `*ForSequenceClassification`
//! architecture and one label, the backbone's `model.*` weights and `score.weight` [1, H]
//! (no LM head), and the tokenizer; `AutoModelForSequenceClassification` loads it.
//! Sequences are left-padded, so the last position is every row's last token (the one
//! transformers picks: the last that is not padding).

use crate::policy::checkpoint;
use crate::policy::{Config, Model, ModelError, Tokenizer};
use serde_json::{json, Value};
use std::path::Path;
use tch::{nn, Device, Kind, Tensor};

const SCORE: &str = "score.weight";

pub struct RewardModel {
    pub model: Model,
    /// [1, H], a variable of `model.vs` (trained and saved with the backbone).
    pub score: Tensor,
}

/// Whether a checkpoint's config names a sequence-classification (reward) model.
pub fn is_reward_model(cfg: &Config) -> bool {
    cfg.architectures
        .iter()
        .any(|a| a.ends_with("ForSequenceClassification"))
}

impl RewardModel {
    /// A reward model on `backbone` with a zero score head (every score 0 until trained;
    /// the first steps move the head, then the backbone).
    pub fn new(mut backbone: Model) -> RewardModel {
        let h = backbone.cfg.hidden_size as i64;
        let score = (&backbone.vs.root() / "score").var("weight", &[1, h], nn::Init::Const(0.0));
        // In the backbone's dtype (set_kind converts in place: `score` stays the variable).
        let kind = backbone.kind();
        backbone.vs.set_kind(kind);
        RewardModel {
            model: backbone,
            score,
        }
    }

    /// Scores [B] (fp32) of left-padded `ids` [B, T] with `attention_mask` [B, T].
    pub fn scores(&self, ids: &Tensor, attention_mask: &Tensor) -> Result<Tensor, ModelError> {
        let hidden = self.model.hidden_states(ids, Some(attention_mask))?;
        let t = hidden.size()[1];
        let last = hidden.select(1, t - 1);
        Ok(last
            .linear::<Tensor>(&self.score, None)
            .squeeze_dim(-1)
            .to_kind(Kind::Float))
    }

    /// Scores of texts, `batch` at a time, left-padded with `pad`; no gradient.
    pub fn score_texts(
        &self,
        tok: &Tokenizer,
        texts: &[String],
        batch: usize,
    ) -> Result<Vec<f64>, ModelError> {
        let pad = tok
            .pad_id()
            .or_else(|| tok.eos_ids().first().copied())
            .unwrap_or(0);
        let mut out = Vec::with_capacity(texts.len());
        for chunk in texts.chunks(batch.max(1)) {
            let encoded = chunk
                .iter()
                .map(|t| {
                    tok.encode(t, true)
                        .map_err(|e| ModelError::Input(e.to_string()))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let (ids, attn) = left_pad(&encoded, pad, self.model.device())?;
            let s = tch::no_grad(|| self.scores(&ids, &attn))?;
            out.extend(Vec::<f64>::try_from(&s.to_kind(Kind::Double))?);
        }
        Ok(out)
    }

    /// Saves in transformers' sequence-classification layout (one file of weights).
    pub fn save(&self, tok: &Tokenizer, dir: &Path) -> Result<(), ModelError> {
        checkpoint::save_sharded(&self.model, tok, dir, usize::MAX)?;
        let weights = dir.join("model.safetensors");
        let mut tensors: Vec<(String, Tensor)> = Tensor::read_safetensors(&weights)?
            .into_iter()
            .filter(|(n, _)| n != "lm_head.weight")
            .collect();
        tensors.push((
            SCORE.to_string(),
            self.score.detach().to_device(Device::Cpu).contiguous(),
        ));
        Tensor::write_safetensors(&tensors, &weights)?;
        let cfg_path = dir.join("config.json");
        let text = std::fs::read_to_string(&cfg_path).map_err(|source| ModelError::Io {
            path: cfg_path.display().to_string(),
            source,
        })?;
        let mut cfg: Value = serde_json::from_str(&text).map_err(|source| ModelError::Json {
            path: cfg_path.display().to_string(),
            source,
        })?;
        let arch = if self.model.cfg.is_qwen2() {
            "Qwen2ForSequenceClassification"
        } else {
            "LlamaForSequenceClassification"
        };
        cfg["architectures"] = json!([arch]);
        cfg["id2label"] = json!({"0": "LABEL_0"});
        cfg["label2id"] = json!({"LABEL_0": 0});
        if cfg.get("pad_token_id").is_none_or(Value::is_null) {
            let pad = tok.pad_id().or_else(|| tok.eos_ids().first().copied());
            cfg["pad_token_id"] = json!(pad);
        }
        let text = serde_json::to_string_pretty(&cfg).unwrap_or_default();
        std::fs::write(&cfg_path, text).map_err(|source| ModelError::Io {
            path: cfg_path.display().to_string(),
            source,
        })
    }

    /// Loads a reward model saved by [`RewardModel::save`] (or by transformers).
    pub fn load(
        dir: &Path,
        device: Device,
        kind: Kind,
    ) -> Result<(RewardModel, Tokenizer), ModelError> {
        let mut cfg = Config::from_file(&dir.join("config.json"))?;
        if !is_reward_model(&cfg) {
            return Err(ModelError::Checkpoint(format!(
                "{}: architectures {:?} name no *ForSequenceClassification: not a reward model",
                dir.join("config.json").display(),
                cfg.architectures
            )));
        }
        // No LM head in a reward model's weights.
        cfg.tie_word_embeddings = true;
        let (model, mut rest) = checkpoint::load_weights_as(dir, &cfg, device, kind)?;
        let rm = RewardModel::new(model);
        let h = rm.model.cfg.hidden_size as i64;
        let w = rest
            .remove(SCORE)
            .ok_or_else(|| ModelError::MissingTensor {
                name: SCORE.into(),
                files: vec![dir.display().to_string()],
            })?;
        if w.size() != [1, h] {
            return Err(ModelError::BadShape {
                name: SCORE.into(),
                expected: vec![1, h],
                found: w.size(),
            });
        }
        tch::no_grad(|| rm.score.shallow_clone().f_copy_(&w))?;
        let tok = checkpoint::load_tokenizer(dir, &rm.model.cfg)?;
        Ok((rm, tok))
    }
}

/// Left-padded ids and attention mask of token sequences.
pub(crate) fn left_pad(
    rows: &[Vec<i64>],
    pad: i64,
    device: Device,
) -> Result<(Tensor, Tensor), ModelError> {
    let t = rows.iter().map(Vec::len).max().unwrap_or(0);
    if t == 0 {
        return Err(ModelError::Input(
            "an empty text has no last token to score".into(),
        ));
    }
    let mut ids = Vec::with_capacity(rows.len() * t);
    let mut attn = Vec::with_capacity(rows.len() * t);
    for r in rows {
        if r.is_empty() {
            return Err(ModelError::Input(
                "an empty text has no last token to score".into(),
            ));
        }
        ids.extend(std::iter::repeat_n(pad, t - r.len()).chain(r.iter().copied()));
        attn.extend(std::iter::repeat_n(0i64, t - r.len()).chain(std::iter::repeat_n(1, r.len())));
    }
    let shape = [rows.len() as i64, t as i64];
    Ok((
        Tensor::from_slice(&ids).view(shape).to_device(device),
        Tensor::from_slice(&attn).view(shape).to_device(device),
    ))
}
