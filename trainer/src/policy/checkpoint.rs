//! Checkpoints in the Hugging Face layout: `config.json`, `model.safetensors` or
//! shards with `model.safetensors.index.json`, `tokenizer.json`, as `save_pretrained` writes
//! them, so a policy trained here loads in `transformers` and serves from vLLM unconverted.
//! Safetensors I/O is tch's own (`Tensor::read_safetensors` / `write_safetensors`).

use crate::policy::model::{Config, Model, ModelError};
use crate::policy::tokenizer::Tokenizer;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use tch::{Device, Kind, Tensor};

const INDEX: &str = "model.safetensors.index.json";
const SINGLE: &str = "model.safetensors";
/// Shard size when saving (transformers' default is 5 GB; smaller shards load with less
/// peak memory here, where a whole shard is read at once).
pub const DEFAULT_SHARD_BYTES: usize = 2 << 30;

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> ModelError + '_ {
    move |source| ModelError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// The safetensors files of a checkpoint folder (the index's shards, or the single file).
pub fn weight_files(dir: &Path) -> Result<Vec<PathBuf>, ModelError> {
    let index = dir.join(INDEX);
    if index.exists() {
        let text = std::fs::read_to_string(&index).map_err(io_err(&index))?;
        let v: Value = serde_json::from_str(&text).map_err(|source| ModelError::Json {
            path: index.display().to_string(),
            source,
        })?;
        let map = v
            .get("weight_map")
            .and_then(Value::as_object)
            .ok_or_else(|| ModelError::Checkpoint(format!("{}: no weight_map", index.display())))?;
        let files: BTreeSet<&str> = map.values().filter_map(Value::as_str).collect();
        let mut out = Vec::new();
        for f in files {
            // Shard names come from a file; keep them inside the checkpoint folder.
            if f.contains('/') || f.contains('\\') || f.starts_with('.') {
                return Err(ModelError::Checkpoint(format!(
                    "bad shard name '{f}' in {INDEX}"
                )));
            }
            out.push(dir.join(f));
        }
        return Ok(out);
    }
    let single = dir.join(SINGLE);
    if single.exists() {
        return Ok(vec![single]);
    }
    Err(ModelError::Checkpoint(format!(
        "{}: neither {SINGLE} nor {INDEX} found",
        dir.display()
    )))
}

/// Loads `config.json` and the weights of `dir` into a model of `kind` on `device`.
pub fn load_model(dir: &Path, device: Device, kind: Kind) -> Result<Model, ModelError> {
    let cfg = Config::from_file(&dir.join("config.json"))?;
    Ok(load_weights_as(dir, &cfg, device, kind)?.0)
}

/// The weights of `dir` loaded into a model of config `cfg` (which may differ from the
/// folder's `config.json`, e.g. a reward model read without an LM head), with the tensors
/// the model did not use. A missing tensor is an error naming it and the files read.
pub fn load_weights_as(
    dir: &Path,
    cfg: &Config,
    device: Device,
    kind: Kind,
) -> Result<(Model, HashMap<String, Tensor>), ModelError> {
    let files = weight_files(dir)?;
    let mut tensors: HashMap<String, Tensor> = HashMap::new();
    for f in &files {
        for (name, t) in Tensor::read_safetensors(f)? {
            tensors.insert(name, t);
        }
    }
    let mut model = Model::new(cfg, device, kind)?;
    let names: Vec<String> = files
        .iter()
        .filter_map(|f| f.file_name().map(|n| n.to_string_lossy().into_owned()))
        .collect();
    model
        .load_hf_state_dict(&mut |name| tensors.remove(name))
        .map_err(|e| match e {
            ModelError::MissingTensor { name, .. } => ModelError::MissingTensor {
                name,
                files: names.clone(),
            },
            other => other,
        })?;
    Ok((model, tensors))
}

/// Loads the tokenizer of a checkpoint folder; the model config's `eos_token_id` (and
/// `generation_config.json`'s) are added to the tokenizer's end-of-sequence ids.
pub fn load_tokenizer(dir: &Path, cfg: &Config) -> Result<Tokenizer, ModelError> {
    let mut tok = Tokenizer::from_dir(dir).map_err(|e| ModelError::Checkpoint(e.to_string()))?;
    let mut eos = tok.eos_ids().to_vec();
    let gen = std::fs::read_to_string(dir.join("generation_config.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<Value>(&t).ok());
    let from_gen = crate::policy::model::ids_of(gen.as_ref().and_then(|g| g.get("eos_token_id")));
    for id in cfg.eos_token_ids().into_iter().chain(from_gen) {
        if !eos.contains(&id) {
            eos.push(id);
        }
    }
    tok.set_eos_ids(eos);
    Ok(tok)
}

/// Loads model and tokenizer from a checkpoint folder. A folder of LoRA adapters (PEFT's
/// layout, see [`load_adapters`]) loads as its base with the adapters merged in.
pub fn load(dir: &Path, device: Device, kind: Kind) -> Result<(Model, Tokenizer), ModelError> {
    if is_adapter_dir(dir) {
        let (mut model, tok) = load_adapters(dir, device, kind)?;
        model.merge_lora();
        return Ok((model, tok));
    }
    let model = load_model(dir, device, kind)?;
    let tok = load_tokenizer(dir, &model.cfg)?;
    Ok((model, tok))
}

/// PEFT's adapter files.
pub const ADAPTER_CONFIG: &str = "adapter_config.json";
pub const ADAPTER_WEIGHTS: &str = "adapter_model.safetensors";

/// Whether `dir` holds LoRA adapters rather than a whole model.
pub fn is_adapter_dir(dir: &Path) -> bool {
    dir.join(ADAPTER_CONFIG).exists() && !dir.join("config.json").exists()
}

/// Loads a folder of LoRA adapters in PEFT's layout: the base checkpoint that
/// `base_model_name_or_path` names (absolute, or relative to the working directory or to
/// `dir`; itself possibly an adapter folder), with the adapters attached unmerged. The
/// tokenizer is the base's.
pub fn load_adapters(
    dir: &Path,
    device: Device,
    kind: Kind,
) -> Result<(Model, Tokenizer), ModelError> {
    load_adapters_nested(dir, device, kind, 0)
}

fn load_adapters_nested(
    dir: &Path,
    device: Device,
    kind: Kind,
    depth: usize,
) -> Result<(Model, Tokenizer), ModelError> {
    let cfg_path = dir.join(ADAPTER_CONFIG);
    let text = std::fs::read_to_string(&cfg_path).map_err(io_err(&cfg_path))?;
    let file = cfg_path.display().to_string();
    let (lora, base) =
        crate::policy::lora::read_peft_config(&text, &file).map_err(ModelError::Checkpoint)?;
    let base_dir = resolve_base(dir, &base).ok_or_else(|| {
        ModelError::Checkpoint(format!(
            "{file}: base_model_name_or_path '{base}' is not a checkpoint folder (looked in \
             the working directory and beside {})",
            dir.display()
        ))
    })?;
    let (mut model, tok) = if is_adapter_dir(&base_dir) {
        if depth >= 8 {
            return Err(ModelError::Checkpoint(format!(
                "{file}: adapters on adapters more than 8 deep"
            )));
        }
        let (mut m, t) = load_adapters_nested(&base_dir, device, kind, depth + 1)?;
        m.merge_lora();
        (m, t)
    } else {
        let m = load_model(&base_dir, device, kind)?;
        let t = load_tokenizer(&base_dir, &m.cfg)?;
        (m, t)
    };
    model.attach_lora(&lora, 0, &base)?;
    let weights = dir.join(ADAPTER_WEIGHTS);
    let mut tensors: HashMap<String, Tensor> =
        Tensor::read_safetensors(&weights)?.into_iter().collect();
    let name = ADAPTER_WEIGHTS.to_string();
    model
        .load_peft_adapters(&mut |k| tensors.remove(k))
        .map_err(|e| match e {
            ModelError::MissingTensor { name: key, .. } => ModelError::MissingTensor {
                name: key,
                files: vec![name.clone()],
            },
            other => other,
        })?;
    Ok((model, tok))
}

fn resolve_base(dir: &Path, base: &str) -> Option<PathBuf> {
    let p = Path::new(base);
    let candidates = if p.is_absolute() {
        vec![p.to_path_buf()]
    } else {
        vec![p.to_path_buf(), dir.join(p)]
    };
    candidates
        .into_iter()
        .find(|c| c.join("config.json").exists() || is_adapter_dir(c))
}

/// Saves the policy as a checkpoint: with LoRA adapters attached, the adapters in PEFT's
/// layout (against the base they were trained on) and the tokenizer; else the whole model.
pub fn save_policy(model: &Model, tokenizer: &Tokenizer, dir: &Path) -> Result<(), ModelError> {
    let Some(lora) = model.lora() else {
        return save(model, tokenizer, dir);
    };
    std::fs::create_dir_all(dir).map_err(io_err(dir))?;
    let cfg_path = dir.join(ADAPTER_CONFIG);
    let text = serde_json::to_string_pretty(&lora.peft_config()).unwrap_or_default();
    std::fs::write(&cfg_path, text).map_err(io_err(&cfg_path))?;
    Tensor::write_safetensors(&lora.peft_state_dict(), dir.join(ADAPTER_WEIGHTS))?;
    tokenizer
        .save_dir(dir)
        .map_err(|e| ModelError::Checkpoint(e.to_string()))
}

fn dtype_name(kind: Kind) -> &'static str {
    match kind {
        Kind::BFloat16 => "bfloat16",
        Kind::Half => "float16",
        _ => "float32",
    }
}

/// Saves model (HF names, shards of at most `DEFAULT_SHARD_BYTES`), config and tokenizer.
pub fn save(model: &Model, tokenizer: &Tokenizer, dir: &Path) -> Result<(), ModelError> {
    save_sharded(model, tokenizer, dir, DEFAULT_SHARD_BYTES)
}

/// `save` with an explicit shard size (one file when everything fits).
pub fn save_sharded(
    model: &Model,
    tokenizer: &Tokenizer,
    dir: &Path,
    shard_bytes: usize,
) -> Result<(), ModelError> {
    std::fs::create_dir_all(dir).map_err(io_err(dir))?;
    let mut cfg = model.cfg.clone();
    let arch = if cfg.is_qwen2() {
        "Qwen2ForCausalLM"
    } else {
        "LlamaForCausalLM"
    };
    cfg.architectures = vec![arch.into()];
    let dtype = dtype_name(model.kind());
    cfg.extra.insert("torch_dtype".into(), json!(dtype));
    cfg.extra.insert("dtype".into(), json!(dtype));
    if cfg.eos_token_id.is_none() {
        if let Some(&e) = tokenizer.eos_ids().first() {
            cfg.eos_token_id = Some(json!(e));
        }
    }
    if cfg.bos_token_id.is_none() {
        cfg.bos_token_id = tokenizer.bos_id().map(|b| json!(b));
    }
    let cfg_path = dir.join("config.json");
    std::fs::write(&cfg_path, cfg.to_json_pretty()).map_err(io_err(&cfg_path))?;

    // Group tensors into shards in order, each at most shard_bytes (a bigger tensor alone).
    let tensors = model.hf_state_dict();
    let mut shards: Vec<Vec<(String, Tensor)>> = vec![Vec::new()];
    let mut size = 0usize;
    let mut total = 0usize;
    for (name, t) in tensors {
        let bytes = t.numel() * t.kind().elt_size_in_bytes();
        total += bytes;
        let start_new = shards.last().is_some_and(|s| !s.is_empty()) && size + bytes > shard_bytes;
        if start_new {
            shards.push(Vec::new());
            size = 0;
        }
        size += bytes;
        if let Some(s) = shards.last_mut() {
            s.push((name, t));
        }
    }
    // Remove a stale layout of the other kind before writing.
    for stale in [SINGLE, INDEX] {
        let p = dir.join(stale);
        if p.exists() {
            std::fs::remove_file(&p).map_err(io_err(&p))?;
        }
    }
    if shards.len() == 1 {
        let shard = shards.first().map(Vec::as_slice).unwrap_or(&[]);
        Tensor::write_safetensors(shard, dir.join(SINGLE))?;
    } else {
        let n = shards.len();
        let mut map = BTreeMap::new();
        for (i, shard) in shards.iter().enumerate() {
            let file = format!("model-{:05}-of-{:05}.safetensors", i + 1, n);
            for (name, _) in shard {
                map.insert(name.clone(), json!(file));
            }
            Tensor::write_safetensors(shard, dir.join(&file))?;
        }
        let index = json!({"metadata": {"total_size": total}, "weight_map": map});
        let p = dir.join(INDEX);
        std::fs::write(&p, serde_json::to_string_pretty(&index).unwrap_or_default())
            .map_err(io_err(&p))?;
    }
    let mut gen = serde_json::Map::new();
    if let Some(b) = &cfg.bos_token_id {
        gen.insert("bos_token_id".into(), b.clone());
    }
    if let Some(e) = &cfg.eos_token_id {
        gen.insert("eos_token_id".into(), e.clone());
    }
    let gp = dir.join("generation_config.json");
    std::fs::write(
        &gp,
        serde_json::to_string_pretty(&Value::Object(gen)).unwrap_or_default(),
    )
    .map_err(io_err(&gp))?;
    tokenizer
        .save_dir(dir)
        .map_err(|e| ModelError::Checkpoint(e.to_string()))
}

/// The file of a checkpoint that records how its prompts were written in training.
pub const PROMPT_FILE: &str = "verigym.json";

/// Records in `dir` that training prompts were `template` applied to the question
/// (`{prompt}` / `{question}` stand for it), so `generate` can write prompts the same way.
pub fn write_prompt_template(dir: &Path, template: &str) -> Result<(), ModelError> {
    let path = dir.join(PROMPT_FILE);
    let text = serde_json::to_string_pretty(&serde_json::json!({ "prompt_template": template }))
        .map_err(|e| ModelError::Checkpoint(e.to_string()))?;
    std::fs::write(&path, text).map_err(|source| ModelError::Io {
        path: path.display().to_string(),
        source,
    })
}

/// The prompt template `dir` records, if any.
pub fn prompt_template(dir: &Path) -> Result<Option<String>, ModelError> {
    let path = dir.join(PROMPT_FILE);
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Ok(None);
    };
    let v: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| ModelError::Checkpoint(format!("{}: {e}", path.display())))?;
    match v.get("prompt_template") {
        None => Ok(None),
        Some(serde_json::Value::String(t)) => Ok(Some(t.clone())),
        Some(_) => Err(ModelError::Checkpoint(format!(
            "{}: prompt_template must be a string",
            path.display()
        ))),
    }
}

/// `template` with `{prompt}` and `{question}` replaced by `text`.
pub fn apply_prompt_template(template: &str, text: &str) -> String {
    template
        .replace("{prompt}", text)
        .replace("{question}", text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("vg-ckpt-{name}-{}", std::process::id()));
        std::fs::remove_dir_all(&d).ok();
        d
    }

    #[test]
    fn save_then_load_gives_identical_logits_single_and_sharded() {
        tch::manual_seed(0);
        let mut cfg = Config::llama(267, 32, 48, 2, 4, 2);
        cfg.model_type = "qwen2".into();
        let model = Model::new(&cfg, Device::Cpu, Kind::Float).unwrap();
        let tok = Tokenizer::builtin();
        let ids = Tensor::from_slice(&[1i64, 20, 30, 40]).view([1, 4]);
        let want = model.forward(&ids, None).unwrap();
        for (name, shard) in [("single", DEFAULT_SHARD_BYTES), ("sharded", 20_000)] {
            let dir = tmp(name);
            save_sharded(&model, &tok, &dir, shard).unwrap();
            assert_eq!(dir.join(INDEX).exists(), name == "sharded");
            let (back, tok2) = load(&dir, Device::Cpu, Kind::Float).unwrap();
            assert_eq!(back.cfg.vocab_size, 267);
            assert!(back.forward(&ids, None).unwrap().equal(&want), "{name}");
            assert_eq!(tok2.eos_ids(), &[2]);
            std::fs::remove_dir_all(&dir).ok();
        }
    }

    #[test]
    fn missing_and_misshaped_tensors_are_named() {
        tch::manual_seed(1);
        let cfg = Config::llama(267, 32, 48, 1, 4, 2);
        let model = Model::new(&cfg, Device::Cpu, Kind::Float).unwrap();
        let dir = tmp("bad");
        save(&model, &Tokenizer::builtin(), &dir).unwrap();
        let mut tensors = model.hf_state_dict();
        tensors.retain(|(n, _)| n != "model.layers.0.mlp.up_proj.weight");
        Tensor::write_safetensors(&tensors, dir.join(SINGLE)).unwrap();
        let err = load_model(&dir, Device::Cpu, Kind::Float)
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("model.layers.0.mlp.up_proj.weight"), "{err}");
        assert!(err.contains("model.safetensors"), "{err}");
        let mut tensors = model.hf_state_dict();
        for (n, t) in tensors.iter_mut() {
            if n == "model.norm.weight" {
                *t = Tensor::zeros([31], (Kind::Float, Device::Cpu));
            }
        }
        Tensor::write_safetensors(&tensors, dir.join(SINGLE)).unwrap();
        let err = load_model(&dir, Device::Cpu, Kind::Float)
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.contains("model.norm.weight") && err.contains("[31]"),
            "{err}"
        );
        std::fs::remove_dir_all(&dir).ok();
        assert!(load_model(&dir, Device::Cpu, Kind::Float).is_err());
    }
}
