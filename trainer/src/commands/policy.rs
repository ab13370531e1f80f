//! The policy's commands: `generate`, `bench sample` and `checkpoint
//! convert|init`. Argument structs live here so `main.rs` only names them.

use anyhow::{bail, Context, Result};
use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};
use std::path::PathBuf;
use std::time::Instant;
use tch::{Device, Kind, Tensor};
use verigym_trainer::policy::checkpoint;
use verigym_trainer::policy::model::{Config, Model};
use verigym_trainer::policy::tokenizer::Tokenizer;
use verigym_trainer::rollout::sampler::{KvCacheDtype, Sampler, SamplingParams};
use verigym_trainer::DeviceChoice;

/// Weight precision: float32 or bfloat16.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Dtype {
    Float32,
    Bfloat16,
}

impl Dtype {
    pub fn kind(self) -> Kind {
        match self {
            Dtype::Float32 => Kind::Float,
            Dtype::Bfloat16 => Kind::BFloat16,
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct GenerateArgs {
    /// Checkpoint folder (config.json, safetensors, tokenizer.json).
    #[arg(long)]
    pub model: PathBuf,
    #[arg(long)]
    pub prompt: String,
    #[arg(long, default_value_t = 256)]
    pub max_tokens: usize,
    /// 0 is greedy.
    #[arg(long, default_value_t = 1.0)]
    pub temperature: f64,
    #[arg(long, default_value_t = 0)]
    pub top_k: usize,
    #[arg(long, default_value_t = 1.0)]
    pub top_p: f64,
    #[arg(long, default_value_t = 0.0)]
    pub min_p: f64,
    /// A stop string (repeatable); the tokenizer's end-of-sequence tokens always stop.
    #[arg(long)]
    pub stop: Vec<String>,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Print {"token_ids": [...], "text": "..."} of the completion.
    #[arg(long)]
    pub json: bool,
    /// Wrap the prompt in the model family's chat template (prompts/chat_*.txt).
    #[arg(long)]
    pub chat: bool,
    /// Feed the prompt as given, ignoring the prompt template the checkpoint records
    /// (`verigym.json`, written by the training stages).
    #[arg(long)]
    pub raw: bool,
    #[arg(long, default_value = "auto")]
    pub device: DeviceChoice,
    #[arg(long, value_enum, default_value = "float32")]
    pub dtype: Dtype,
    /// KV cache dtype while sampling (bf16: less memory traffic, bf16-rounded attention).
    #[arg(long, value_enum, default_value = "auto")]
    pub kv_cache_dtype: KvCacheDtype,
}

pub fn generate(a: &GenerateArgs) -> Result<()> {
    let device = a.device.resolve().map_err(anyhow::Error::msg)?;
    let (model, tok) = checkpoint::load(&a.model, device, a.dtype.kind())?;
    let ids = if a.chat {
        tok.encode(&tok.apply_chat(&a.prompt)?, false)?
    } else {
        // Written the way the checkpoint's training prompts were, unless --raw.
        let template = match a.raw {
            true => None,
            false => checkpoint::prompt_template(&a.model)?,
        };
        let prompt = match template {
            Some(t) => checkpoint::apply_prompt_template(&t, &a.prompt),
            None => a.prompt.clone(),
        };
        tok.encode(&prompt, true)?
    };
    let params = SamplingParams {
        max_new_tokens: a.max_tokens,
        temperature: a.temperature,
        top_k: a.top_k,
        top_p: a.top_p,
        min_p: a.min_p,
        stop_token_ids: tok.eos_ids().to_vec(),
        stop_strings: a.stop.clone(),
        kv_cache_dtype: a.kv_cache_dtype,
    };
    let out = Sampler::new(&tok).generate(&model, &[ids], &params, &[a.seed])?;
    let c = out.first().context("no completion")?;
    if a.json {
        let v = serde_json::json!({"token_ids": c.token_ids, "text": c.text});
        println!("{v}");
    } else {
        println!("{}", c.text);
    }
    Ok(())
}

#[derive(Debug, clap::Args)]
pub struct BenchSampleArgs {
    /// Checkpoint folder.
    #[arg(long, conflicts_with = "config", required_unless_present = "config")]
    pub model: Option<PathBuf>,
    /// A config.json path or inline JSON (random weights).
    #[arg(long)]
    pub config: Option<String>,
    #[arg(long, default_value_t = 64)]
    pub batch: usize,
    #[arg(long, default_value_t = 32)]
    pub prompt_len: usize,
    #[arg(long, default_value_t = 128)]
    pub new_tokens: usize,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Timed repetitions (the best is reported, after one untimed warm-up).
    #[arg(long, default_value_t = 1)]
    pub repeats: usize,
    /// CPU threads for libtorch (default: libtorch's choice).
    #[arg(long)]
    pub threads: Option<i32>,
    #[arg(long, default_value = "auto")]
    pub device: DeviceChoice,
    #[arg(long, value_enum, default_value = "float32")]
    pub dtype: Dtype,
    /// KV cache dtype while sampling (bf16: less memory traffic, bf16-rounded attention).
    #[arg(long, value_enum, default_value = "auto")]
    pub kv_cache_dtype: KvCacheDtype,
}

fn read_config(spec: &str) -> Result<Config> {
    let text = if spec.trim_start().starts_with('{') {
        spec.to_string()
    } else {
        std::fs::read_to_string(spec).with_context(|| format!("reading {spec}"))?
    };
    let cfg: Config = serde_json::from_str(&text).context("parsing the model config")?;
    cfg.validate()?;
    Ok(cfg)
}

/// New tokens per second of batched sampling: random prompt ids, temperature 1, no stop
/// tokens, so every sequence makes exactly `new_tokens` (prefill time included).
pub fn bench_sample(a: &BenchSampleArgs) -> Result<serde_json::Value> {
    if let Some(t) = a.threads {
        tch::set_num_threads(t);
    }
    if a.batch == 0 || a.prompt_len == 0 || a.new_tokens == 0 {
        bail!("--batch, --prompt-len and --new-tokens must be > 0");
    }
    let device = a.device.resolve().map_err(anyhow::Error::msg)?;
    let model = match (&a.model, &a.config) {
        (Some(dir), _) => checkpoint::load_model(dir, device, a.dtype.kind())?,
        (None, Some(spec)) => {
            tch::manual_seed(a.seed as i64);
            Model::new(&read_config(spec)?, device, a.dtype.kind())?
        }
        (None, None) => bail!("give --model DIR or --config JSON"),
    };
    let vocab = model.cfg.vocab_size as u64;
    let mut rng = ChaCha8Rng::seed_from_u64(a.seed);
    let prompts: Vec<Vec<i64>> = (0..a.batch)
        .map(|_| {
            (0..a.prompt_len)
                .map(|_| (rng.next_u64() % vocab) as i64)
                .collect()
        })
        .collect();
    let seeds: Vec<u64> = (0..a.batch as u64).collect();
    let params = SamplingParams {
        max_new_tokens: a.new_tokens,
        temperature: 1.0,
        kv_cache_dtype: a.kv_cache_dtype,
        ..Default::default()
    };
    let sampler = Sampler::ids_only();
    let warm = SamplingParams {
        max_new_tokens: a.new_tokens.min(8),
        ..params.clone()
    };
    sampler.generate(&model, &prompts, &warm, &seeds)?;
    let mut best = f64::INFINITY;
    let mut best_cpu = f64::INFINITY;
    for _ in 0..a.repeats.max(1) {
        let c0 = process_cpu_seconds();
        let t0 = Instant::now();
        let out = sampler.generate(&model, &prompts, &params, &seeds)?;
        if device.is_cuda() {
            tch::Cuda::synchronize(0);
        }
        let secs = t0.elapsed().as_secs_f64();
        best_cpu = best_cpu.min(process_cpu_seconds() - c0);
        let made: usize = out.iter().map(|c| c.token_ids.len()).sum();
        if made != a.batch * a.new_tokens {
            bail!("expected {} new tokens, got {made}", a.batch * a.new_tokens);
        }
        best = best.min(secs);
    }
    let tps = (a.batch * a.new_tokens) as f64 / best;
    Ok(serde_json::json!({
        "tokens_per_s": (tps * 10.0).round() / 10.0,
        "batch": a.batch,
        "prompt_len": a.prompt_len,
        "new_tokens": a.new_tokens,
        "seconds": best,
        // CPU time (all threads, user + system) of the fastest run: on a shared machine it
        // moves much less than wall time, so A/B comparisons at --threads 1 use it.
        "cpu_seconds": best_cpu,
        "tokens_per_cpu_s": ((a.batch * a.new_tokens) as f64 / best_cpu * 10.0).round() / 10.0,
        "device": verigym_trainer::device::describe(device),
        "dtype": format!("{:?}", a.dtype).to_lowercase(),
        "kv_cache_dtype": format!("{:?}", a.kv_cache_dtype).to_lowercase(),
        "params": model.cfg.num_params(),
    }))
}

/// User + system CPU seconds of this process so far (all threads); 0 where unavailable.
fn process_cpu_seconds() -> f64 {
    #[cfg(unix)]
    {
        let mut u = std::mem::MaybeUninit::<libc::rusage>::zeroed();
        // SAFETY: getrusage writes a rusage into the pointer it is given; RUSAGE_SELF is valid.
        let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, u.as_mut_ptr()) };
        if rc == 0 {
            // SAFETY: getrusage returned 0, so it initialised the struct.
            let u = unsafe { u.assume_init() };
            let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 * 1e-6;
            return tv(u.ru_utime) + tv(u.ru_stime);
        }
    }
    0.0
}

#[derive(Debug, clap::Subcommand)]
pub enum CheckpointCommand {
    /// Load a checkpoint and save it again (optionally in another dtype).
    Convert {
        #[arg(long)]
        model: PathBuf,
        #[arg(long)]
        out: PathBuf,
        #[arg(long, value_enum, default_value = "float32")]
        dtype: Dtype,
    },
    /// Merge LoRA adapters (a folder in PEFT's layout, as `train sft`/`train grpo` with
    /// `[lora]` save them) into their base and save the whole model.
    Merge {
        /// The adapter folder (adapter_config.json, adapter_model.safetensors).
        #[arg(long)]
        model: PathBuf,
        #[arg(long)]
        out: PathBuf,
        #[arg(long, value_enum, default_value = "float32")]
        dtype: Dtype,
        /// Print {"ids", "last_logits"} of this text under base plus adapters, computed
        /// unmerged (for round trips against peft).
        #[arg(long)]
        probe: Option<String>,
    },
    /// Save a randomly initialised model from a config, with the built-in byte-level
    /// tokenizer (or a given tokenizer.json).
    Init {
        /// A config.json path or inline JSON.
        #[arg(long)]
        config: String,
        #[arg(long)]
        out: PathBuf,
        #[arg(long, default_value_t = 0)]
        seed: u64,
        #[arg(long)]
        tokenizer: Option<PathBuf>,
        /// Print {"ids", "last_logits"} of this text under the new model (for round trips).
        #[arg(long)]
        probe: Option<String>,
    },
}

pub fn checkpoint(cmd: &CheckpointCommand) -> Result<()> {
    match cmd {
        CheckpointCommand::Convert { model, out, dtype } => {
            let (m, tok) = checkpoint::load(model, Device::Cpu, dtype.kind())?;
            checkpoint::save(&m, &tok, out)?;
            eprintln!("saved {} to {}", model.display(), out.display());
        }
        CheckpointCommand::Merge {
            model,
            out,
            dtype,
            probe,
        } => {
            if !checkpoint::is_adapter_dir(model) {
                bail!(
                    "{}: no {} here (or it also holds a whole model's config.json): not a \
                     LoRA adapter folder",
                    model.display(),
                    checkpoint::ADAPTER_CONFIG
                );
            }
            let (mut m, tok) = checkpoint::load_adapters(model, Device::Cpu, dtype.kind())?;
            if let Some(text) = probe {
                println!("{}", probe_json(&m, &tok, text)?);
            }
            m.merge_lora();
            checkpoint::save(&m, &tok, out)?;
            if let Some(t) = checkpoint::prompt_template(model)? {
                checkpoint::write_prompt_template(out, &t)?;
            }
            eprintln!("merged {} into {}", model.display(), out.display());
        }
        CheckpointCommand::Init {
            config,
            out,
            seed,
            tokenizer,
            probe,
        } => {
            let cfg = read_config(config)?;
            let tok = match tokenizer {
                Some(p) => Tokenizer::from_file(p)?,
                None => Tokenizer::builtin(),
            };
            if tok.vocab_size() > cfg.vocab_size {
                bail!(
                    "the tokenizer has {} tokens but vocab_size is {}",
                    tok.vocab_size(),
                    cfg.vocab_size
                );
            }
            tch::manual_seed(*seed as i64);
            let m = Model::new(&cfg, Device::Cpu, Kind::Float)?;
            checkpoint::save(&m, &tok, out)?;
            if let Some(text) = probe {
                println!("{}", probe_json(&m, &tok, text)?);
            }
        }
    }
    Ok(())
}

fn probe_json(m: &Model, tok: &Tokenizer, text: &str) -> Result<serde_json::Value> {
    let ids = tok.encode(text, true)?;
    let t = Tensor::from_slice(&ids).view([1, ids.len() as i64]);
    let logits = m
        .forward(&t, None)?
        .select(1, ids.len() as i64 - 1)
        .squeeze();
    let last = Vec::<f32>::try_from(&logits)?;
    Ok(serde_json::json!({"ids": ids, "last_logits": last}))
}
