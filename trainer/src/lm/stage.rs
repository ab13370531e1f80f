//! `verigym train pretrain` and `verigym train sft`: the next-token stages as commands, in
//! the same shape as `train grpo` — a TOML config whose every knob has a default, `--set
//! key=value` overrides, `--resume`, and one run-folder layout:
//!
//! - `config.toml`: the resolved config;
//! - `metrics.jsonl`: one line per step (`step`, `loss`, `lr`, `grad_norm`, `tokens`,
//!   `tokens_per_s`, and `val_loss` at evaluations);
//! - `events.out.tfevents.*`: the same metrics for TensorBoard (`log.tensorboard`);
//! - `checkpoints/step-N/`: Hugging Face checkpoints (the last at N = steps), which the next
//!   stage starts from with `model.path`; SFT checkpoints record the prompt template;
//! - `state/`: what `--resume` needs (weights, optimiser moments, best weights, the step);
//! - `plots/loss.png` and `report.md`.
//!
//! Pretraining reads UTF-8 text (a file, or every file of a folder; one document per line
//! or per file) and trains next-token loss on packed windows; SFT reads `{prompt,
//! completion}` JSONL and trains on completion tokens only.

use super::sft::{CausalLm, SftConfig, SftError, SftReport};
use super::train::{restore, snapshot, Hooks, LoopState, StepRecord};
use crate::data::{read_jsonl, DataError};
use crate::optim::OptimConfig;
use crate::policy::lora::{lora_needs_a_base, LoraConfig};
use crate::policy::{checkpoint, Model, ModelConfig, ModelError, Tokenizer};
use crate::util::config::{finite_in, within, ConfigError, StageConfig};
use crate::util::json::{append_line, truncate_jsonl, write_atomic};
use crate::util::tensorboard::EventWriter;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Instant;
use tch::Device;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum StageError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error(transparent)]
    Train(#[from] SftError),
    #[error(transparent)]
    Data(#[from] DataError),
    #[error(transparent)]
    Torch(#[from] tch::TchError),
    #[error("{0}")]
    Run(String),
}

/// Rows, length and evaluation of a next-token stage (TOML `[train]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LmTrain {
    /// Tokens per row.
    pub seq_len: usize,
    /// Rows per optimiser step.
    pub batch_size: usize,
    /// Validation loss every N steps (0: never); needs `data.val_path`.
    pub eval_every: usize,
    /// Stop after this many evaluations without improvement (0: never stop early).
    pub patience: usize,
    /// Smallest drop of the validation loss that counts as an improvement.
    pub min_delta: f64,
    /// End with the weights of the best validation loss.
    pub keep_best: bool,
}

impl Default for LmTrain {
    fn default() -> Self {
        LmTrain {
            seq_len: 256,
            batch_size: 16,
            eval_every: 100,
            patience: 0,
            min_delta: 1e-3,
            keep_best: false,
        }
    }
}

/// Logging and checkpoints of a next-token stage (TOML `[log]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LmLog {
    /// Checkpoint (and resumable state) every N steps (0: only at the end).
    pub checkpoint_every: usize,
    pub progress: bool,
    pub plots: bool,
    /// A TensorBoard event file (`events.out.tfevents.*`) beside metrics.jsonl, every
    /// numeric metric under the same name.
    pub tensorboard: bool,
}

impl Default for LmLog {
    fn default() -> Self {
        LmLog {
            checkpoint_every: 100,
            progress: true,
            plots: true,
            tensorboard: true,
        }
    }
}

/// What a document of the pretraining text is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Documents {
    /// Each line (what `verigym data corpus` writes).
    Line,
    /// Each file.
    File,
}

/// Pretraining data (TOML `[data]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TextData {
    /// A UTF-8 text file, or a folder of them (every file, in name order).
    pub path: String,
    /// Held-out text for the validation loss (empty: none).
    pub val_path: String,
    /// Windows of the held-out text the validation loss averages over.
    pub val_windows: usize,
    /// `line` or `file`: where an end-of-sequence token goes between documents.
    pub documents: Documents,
}

impl Default for TextData {
    fn default() -> Self {
        TextData {
            path: String::new(),
            val_path: String::new(),
            val_windows: 32,
            documents: Documents::Line,
        }
    }
}

/// SFT data (TOML `[data]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SftData {
    /// JSONL of `{"prompt", "completion"}` (or chat `{"messages"}`) lines.
    pub path: String,
    /// Held-out JSONL for the validation loss (empty: none).
    pub val_path: String,
    /// How the prompts were written from a question (`verigym data sft --template full`
    /// writes `{prompt}\n`, `compact` writes `{question}\n`); recorded in the checkpoints so
    /// `generate` writes prompts the same way.
    pub prompt_template: String,
    /// Pack several examples per row (first-fit decreasing); off: one per row.
    pub pack: bool,
}

impl Default for SftData {
    fn default() -> Self {
        SftData {
            path: String::new(),
            val_path: String::new(),
            prompt_template: "{prompt}\n".into(),
            pack: true,
        }
    }
}

/// The optimiser defaults of the next-token stages (a small model from scratch).
fn lm_optim() -> OptimConfig {
    OptimConfig {
        lr: 1e-3,
        weight_decay: 0.01,
        beta1: 0.9,
        beta2: 0.999,
        eps: 1e-8,
        warmup_steps: 20,
        min_lr_ratio: 0.1,
        max_grad_norm: 1.0,
        ..Default::default()
    }
}

/// `verigym train pretrain`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PretrainConfig {
    pub seed: u64,
    pub steps: usize,
    pub out: String,
    pub model: ModelConfig,
    pub data: TextData,
    pub train: LmTrain,
    pub optim: OptimConfig,
    pub log: LmLog,
}

impl Default for PretrainConfig {
    fn default() -> Self {
        PretrainConfig {
            seed: 0,
            steps: 1000,
            out: "runs/pretrain".into(),
            model: ModelConfig::default(),
            data: TextData::default(),
            train: LmTrain::default(),
            optim: lm_optim(),
            log: LmLog::default(),
        }
    }
}

/// `verigym train sft`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SftStageConfig {
    pub seed: u64,
    pub steps: usize,
    pub out: String,
    pub model: ModelConfig,
    pub data: SftData,
    pub train: LmTrain,
    pub optim: OptimConfig,
    pub log: LmLog,
    /// LoRA adapters (`rank = 0`: full fine-tuning).
    pub lora: LoraConfig,
}

impl Default for SftStageConfig {
    fn default() -> Self {
        SftStageConfig {
            seed: 0,
            steps: 500,
            out: "runs/sft".into(),
            model: ModelConfig::default(),
            data: SftData::default(),
            train: LmTrain::default(),
            optim: lm_optim(),
            log: LmLog::default(),
            lora: LoraConfig::default(),
        }
    }
}

/// Range checks shared by both stages.
fn validate_common(
    steps: usize,
    model: &ModelConfig,
    train: &LmTrain,
    optim: &OptimConfig,
) -> Result<(), ConfigError> {
    within("steps", steps, 1, 100_000_000)?;
    model.validate()?;
    within("train.seq_len", train.seq_len, 2, 1 << 20)?;
    within("train.batch_size", train.batch_size, 1, 1 << 16)?;
    within(
        "train.seq_len x train.batch_size",
        train.seq_len.saturating_mul(train.batch_size),
        2,
        1 << 24,
    )?;
    within("train.eval_every", train.eval_every, 0, 100_000_000)?;
    within("train.patience", train.patience, 0, 1_000_000)?;
    finite_in("train.min_delta", train.min_delta, 0.0, 1e6)?;
    optim.validate()?;
    if train.seq_len > model.max_position_embeddings && model.path.is_empty() {
        return Err(ConfigError::Invalid(format!(
            "train.seq_len ({}) exceeds model.max_position_embeddings ({})",
            train.seq_len, model.max_position_embeddings
        )));
    }
    Ok(())
}

impl StageConfig for PretrainConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        validate_common(self.steps, &self.model, &self.train, &self.optim)?;
        within("data.val_windows", self.data.val_windows, 0, 1 << 20)
    }
}

impl StageConfig for SftStageConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        validate_common(self.steps, &self.model, &self.train, &self.optim)?;
        self.lora.validate()?;
        if self.lora.enabled() {
            lora_needs_a_base(&self.model)?;
        }
        if !self.data.prompt_template.contains("{prompt}")
            && !self.data.prompt_template.contains("{question}")
        {
            return Err(ConfigError::Invalid(format!(
                "data.prompt_template '{}' must contain {{prompt}} or {{question}}",
                self.data.prompt_template
            )));
        }
        Ok(())
    }
}

/// The loop knobs of a stage, as the shared loop takes them.
fn loop_config(steps: usize, seed: u64, t: &LmTrain, o: &OptimConfig, progress: bool) -> SftConfig {
    SftConfig {
        seq_len: t.seq_len,
        batch_size: t.batch_size,
        max_steps: steps,
        lr: o.lr,
        min_lr_ratio: o.min_lr_ratio,
        warmup_steps: o.warmup_steps,
        weight_decay: o.weight_decay,
        grad_clip: o.max_grad_norm,
        pack: true,
        eval_every: t.eval_every,
        patience: t.patience,
        min_delta: t.min_delta,
        keep_best: t.keep_best,
        seed,
        progress,
    }
}

/// How a stage is started (what is not part of its config).
pub struct StageOptions {
    pub out: PathBuf,
    pub resume: bool,
    pub device: Device,
    /// Stop right after this many steps without the final save (simulates a kill; used
    /// by the resume tests).
    pub stop_after: Option<usize>,
}

/// What a finished (or stopped) stage reports.
pub struct StageSummary {
    pub report: SftReport,
    pub out: PathBuf,
    /// The last checkpoint written.
    pub checkpoint: Option<PathBuf>,
}

/// Pretrains as configured; see the module docs for the run folder.
pub fn pretrain(cfg: &PretrainConfig, opts: StageOptions) -> Result<StageSummary, StageError> {
    let files = text_files(&cfg.data.path, "data.path")?;
    let val_files = match cfg.data.val_path.as_str() {
        "" => Vec::new(),
        p => text_files(p, "data.val_path")?,
    };
    let lc = loop_config(
        cfg.steps,
        cfg.seed,
        &cfg.train,
        &cfg.optim,
        cfg.log.progress,
    );
    let run = RunFolder::open(&opts, &cfg.to_toml(), &cfg.model)?;
    let (model, tok) = (&run.model, &run.tok);
    let eos = end_of_sequence(tok)?;
    let encode = |s: &str| tok.encode(s, false).map_err(|e| e.to_string());
    let mut hooks = run.hooks(cfg.steps, &cfg.log, None, &opts);
    let report = super::pretrain::train_with_hooks(
        model as &dyn CausalLm,
        &model.vs,
        files,
        val_files,
        cfg.data.val_windows,
        &encode,
        eos,
        &lc,
        cfg.data.documents == Documents::Line,
        &mut hooks,
    )?;
    let checkpoint = hooks.last_checkpoint.take();
    run.finish(report, checkpoint, "pretrain", cfg.log.plots)
}

/// Fine-tunes as configured; see the module docs for the run folder.
pub fn sft(cfg: &SftStageConfig, opts: StageOptions) -> Result<StageSummary, StageError> {
    let train = read_named(&cfg.data.path, "data.path")?;
    let val = match cfg.data.val_path.as_str() {
        "" => Vec::new(),
        p => read_named(p, "data.val_path")?,
    };
    let mut lc = loop_config(
        cfg.steps,
        cfg.seed,
        &cfg.train,
        &cfg.optim,
        cfg.log.progress,
    );
    lc.pack = cfg.data.pack;
    let mut run = RunFolder::open(&opts, &cfg.to_toml(), &cfg.model)?;
    if cfg.lora.enabled() {
        run.model
            .attach_lora(&cfg.lora, cfg.seed as i64, &base_path(&cfg.model.path))?;
    }
    let (model, tok) = (&run.model, &run.tok);
    let eos = end_of_sequence(tok)?;
    let pad = tok.pad_id().unwrap_or(eos);
    let encode = |s: &str| tok.encode(s, false).map_err(|e| e.to_string());
    let tokens = super::sft::Tokens {
        encode: &encode,
        eos,
        pad,
        format: crate::rollout::episodes::TurnFormat::new(tok),
    };
    let template = Some(cfg.data.prompt_template.as_str());
    let mut hooks = run.hooks(cfg.steps, &cfg.log, template, &opts);
    let report = super::sft::train_with_hooks(
        model as &dyn CausalLm,
        model.trainable_store(),
        &train,
        &val,
        &tokens,
        &lc,
        &mut hooks,
    )?;
    let checkpoint = hooks.last_checkpoint.take();
    run.finish(report, checkpoint, "sft", cfg.log.plots)
}

/// The base folder a LoRA run's adapters name: `model.path`, absolute where it exists.
pub(crate) fn base_path(path: &str) -> String {
    std::fs::canonicalize(path)
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| path.to_string())
}

fn end_of_sequence(tok: &Tokenizer) -> Result<i64, StageError> {
    tok.eos_ids()
        .first()
        .copied()
        .ok_or_else(|| StageError::Run("the tokenizer has no end-of-sequence token".into()))
}

fn read_named(path: &str, knob: &str) -> Result<Vec<crate::data::Demo>, StageError> {
    if path.is_empty() {
        return Err(ConfigError::Invalid(format!("{knob} is empty: name a JSONL file")).into());
    }
    read_jsonl(Path::new(path)).map_err(|e| match e {
        DataError::Io(io) => StageError::Run(format!("{knob} {path}: {io}")),
        other => other.into(),
    })
}

/// The text files of `path`: the file itself, or every regular file of the folder in name
/// order.
fn text_files(path: &str, knob: &str) -> Result<Vec<PathBuf>, StageError> {
    if path.is_empty() {
        return Err(ConfigError::Invalid(format!(
            "{knob} is empty: name a text file or a folder of them"
        ))
        .into());
    }
    let p = Path::new(path);
    if p.is_file() {
        return Ok(vec![p.to_path_buf()]);
    }
    let entries =
        std::fs::read_dir(p).map_err(|e| StageError::Run(format!("{knob} {path}: {e}")))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|f| f.is_file())
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(StageError::Run(format!(
            "{knob} {path}: the folder has no files"
        )));
    }
    Ok(files)
}

/// What `state/state.json` holds.
#[derive(Debug, Serialize, Deserialize)]
struct SavedState {
    /// Steps taken.
    step: usize,
    report: SftReport,
    stale: usize,
    has_best: bool,
}

/// A stage's run folder and the policy it trains.
struct RunFolder {
    out: PathBuf,
    model: Model,
    tok: Tokenizer,
    started: Instant,
}

impl RunFolder {
    /// Creates (or, resuming, reopens) the run folder and builds the policy.
    fn open(
        opts: &StageOptions,
        config_toml: &str,
        model: &ModelConfig,
    ) -> Result<RunFolder, StageError> {
        let out = opts.out.clone();
        let io = |e: std::io::Error| StageError::Run(format!("{}: {e}", out.display()));
        std::fs::create_dir_all(&out).map_err(io)?;
        let state = out.join("state").join("state.json");
        if !opts.resume && state.exists() {
            return Err(StageError::Run(format!(
                "{} already holds a run; pass --resume to continue it or choose another --out",
                out.display()
            )));
        }
        std::fs::write(out.join("config.toml"), config_toml).map_err(io)?;
        if !(opts.resume && state.exists()) {
            std::fs::write(out.join("metrics.jsonl"), "").map_err(io)?;
        }
        let (model, tok) = crate::policy::build(model, opts.device)?;
        Ok(RunFolder {
            out,
            model,
            tok,
            started: Instant::now(),
        })
    }

    fn hooks<'a>(
        &'a self,
        steps: usize,
        log: &LmLog,
        template: Option<&'a str>,
        opts: &StageOptions,
    ) -> FolderHooks<'a> {
        FolderHooks {
            folder: self,
            steps,
            every: log.checkpoint_every,
            tensorboard: log.tensorboard,
            events: None,
            template,
            resume: opts.resume,
            stop_after: opts.stop_after,
            last_checkpoint: None,
            last_time: Instant::now(),
            last_step: 0,
        }
    }

    /// Plots and `report.md`.
    fn finish(
        &self,
        report: SftReport,
        checkpoint: Option<PathBuf>,
        stage: &str,
        plots: bool,
    ) -> Result<StageSummary, StageError> {
        if plots && !report.train_loss.is_empty() {
            let dir = self.out.join("plots");
            std::fs::create_dir_all(&dir)
                .map_err(|e| StageError::Run(format!("{}: {e}", dir.display())))?;
            let train: Vec<(f64, f64)> = report
                .train_loss
                .iter()
                .map(|&(s, l)| (s as f64, l))
                .collect();
            let val: Vec<(f64, f64)> = report
                .val_loss
                .iter()
                .map(|&(s, l)| (s as f64, l))
                .collect();
            let mut series = vec![crate::util::plot::Series::noisy("train", &train)];
            if !val.is_empty() {
                series.push(crate::util::plot::Series::line("validation", &val));
            }
            crate::util::plot::chart(
                &dir.join("loss.png"),
                &format!("{stage}: next-token loss"),
                "step",
                "loss (nats/token)",
                &series,
            )
            .map_err(StageError::Run)?;
        }
        let md = report_md(
            stage,
            &report,
            checkpoint.as_deref(),
            self.started.elapsed(),
        );
        write_atomic(&self.out.join("report.md"), md.as_bytes())
            .map_err(|e| StageError::Run(e.to_string()))?;
        Ok(StageSummary {
            report,
            out: self.out.clone(),
            checkpoint,
        })
    }
}

fn report_md(
    stage: &str,
    r: &SftReport,
    checkpoint: Option<&Path>,
    took: std::time::Duration,
) -> String {
    let first = r.train_loss.first().map_or(f64::NAN, |x| x.1);
    let last = r.train_loss.last().map_or(f64::NAN, |x| x.1);
    let mut s = format!(
        "# verigym {stage}\n\n| | |\n|---|---:|\n| steps | {} |\n| tokens trained | {} |\n\
         | first loss | {first:.4} |\n| last loss | {last:.4} |\n",
        r.steps, r.tokens_trained
    );
    if let Some(b) = r.best_val_loss {
        s.push_str(&format!("| best validation loss | {b:.4} |\n"));
    }
    if r.train_examples > 0 {
        s.push_str(&format!(
            "| examples (dropped as too long) | {} ({}) |\n",
            r.train_examples, r.dropped_examples
        ));
    }
    s.push_str(&format!(
        "| wall time (this session) | {:.0} s |\n\n",
        took.as_secs_f64()
    ));
    if let Some(c) = checkpoint {
        s.push_str(&format!("Last checkpoint: `{}`.\n\n", c.display()));
    }
    s.push_str("![loss](plots/loss.png)\n");
    s
}

/// The loop's hooks for a run folder: restore on resume, log each step, save checkpoints
/// and state.
struct FolderHooks<'a> {
    folder: &'a RunFolder,
    steps: usize,
    every: usize,
    tensorboard: bool,
    /// Open from `start` on when `tensorboard` is set.
    events: Option<EventWriter>,
    template: Option<&'a str>,
    resume: bool,
    stop_after: Option<usize>,
    last_checkpoint: Option<PathBuf>,
    last_time: Instant,
    last_step: usize,
}

impl FolderHooks<'_> {
    fn state_dir(&self) -> PathBuf {
        self.folder.out.join("state")
    }

    fn save(&mut self, st: &LoopState) -> Result<(), SftError> {
        let f = self.folder;
        let dir = f.out.join("checkpoints").join(format!("step-{}", st.step));
        let ckpt = |e: ModelError| SftError::Model(e.to_string());
        checkpoint::save_policy(&f.model, &f.tok, &dir).map_err(ckpt)?;
        if let Some(t) = self.template {
            checkpoint::write_prompt_template(&dir, t).map_err(ckpt)?;
        }
        self.last_checkpoint = Some(dir);
        let state = self.state_dir();
        std::fs::create_dir_all(&state)?;
        f.model
            .trainable_store()
            .save(state.join("policy.safetensors"))?;
        st.opt.save(&state.join("optimizer.pt"))?;
        if let Some(best) = &st.best {
            tch::Tensor::write_safetensors(best, state.join("best.safetensors"))?;
        }
        let saved = SavedState {
            step: st.step,
            report: st.report.clone(),
            stale: st.stale,
            has_best: st.best.is_some(),
        };
        let text = serde_json::to_string_pretty(&saved).map_err(std::io::Error::other)?;
        write_atomic(&state.join("state.json"), text.as_bytes())?;
        Ok(())
    }

    /// Loads the saved state of a resumed run and cuts metrics.jsonl back to it.
    fn load_state(&self, st: &mut LoopState, dir: &Path, path: &Path) -> Result<(), SftError> {
        let text = std::fs::read_to_string(path)?;
        let saved: SavedState = serde_json::from_str(&text)
            .map_err(|e| SftError::Config(format!("{}: {e}", path.display())))?;
        let vs = self.folder.model.trainable_store();
        let weights = tch::Tensor::read_safetensors(dir.join("policy.safetensors"))?;
        restore(vs, &weights);
        st.opt.load(&dir.join("optimizer.pt"))?;
        st.best = match saved.has_best {
            true => Some(tch::Tensor::read_safetensors(dir.join("best.safetensors"))?),
            false => None,
        };
        st.step = saved.step;
        st.report = saved.report;
        st.stale = saved.stale;
        let metrics = self.folder.out.join("metrics.jsonl");
        truncate_jsonl(&metrics, st.step)?;
        eprintln!("resumed at step {} from {}", st.step, dir.display());
        Ok(())
    }
}

impl Hooks for FolderHooks<'_> {
    fn start(&mut self, st: &mut LoopState) -> Result<(), SftError> {
        let dir = self.state_dir();
        let path = dir.join("state.json");
        if self.resume && path.exists() {
            self.load_state(st, &dir, &path)?;
        }
        // The event file starts afresh from what metrics.jsonl now holds (nothing, or the
        // steps up to the resumed checkpoint).
        if self.tensorboard {
            let out = &self.folder.out;
            let events = EventWriter::resume_from_jsonl(out, &out.join("metrics.jsonl"))
                .map_err(std::io::Error::other)?;
            self.events = Some(events);
        }
        Ok(())
    }

    fn after_step(&mut self, rec: &StepRecord, st: &LoopState) -> Result<(), SftError> {
        let secs = self.last_time.elapsed().as_secs_f64();
        self.last_time = Instant::now();
        let mut line = serde_json::json!({
            // 0-based, like `train grpo`'s metrics: the line of the step that took the
            // run to `rec.step` steps.
            "step": rec.step - 1,
            "loss": rec.loss,
            "lr": rec.lr,
            "grad_norm": rec.grad_norm,
            "tokens": rec.tokens,
            "tokens_per_s": rec.tokens as f64 / secs.max(1e-9),
        });
        if let Some(v) = rec.val_loss {
            line["val_loss"] = serde_json::json!(v);
        }
        let line = line.to_string();
        append_line(&self.folder.out.join("metrics.jsonl"), &line)?;
        if let Some(events) = self.events.as_mut() {
            events.write_line(&line).map_err(std::io::Error::other)?;
        }
        let due = self.every > 0 && rec.step.is_multiple_of(self.every);
        if due || rec.step == self.steps || st.report.stopped_early {
            // The final checkpoint holds the weights the run ends with (the best ones, when
            // kept).
            let last = rec.step == self.steps || st.report.stopped_early;
            match (&st.best, last) {
                (Some(best), true) => {
                    let vs = self.folder.model.trainable_store();
                    let current = snapshot(vs);
                    restore(vs, best);
                    let r = self.save(st);
                    restore(vs, &current);
                    r?;
                }
                _ => self.save(st)?,
            }
        }
        self.last_step = rec.step;
        Ok(())
    }

    fn stop(&self) -> bool {
        self.stop_after == Some(self.last_step)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::config::{example_file_failures, hostile_knob_failures};

    #[test]
    fn the_example_files_list_every_knob_with_its_default() {
        let pretrain = include_str!("../../tests/fixtures/pretrain/pretrain.toml");
        let sft = include_str!("../../tests/fixtures/sft/sft.toml");
        let mut failures = example_file_failures::<PretrainConfig>(pretrain);
        failures.extend(example_file_failures::<SftStageConfig>(sft));
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    /// Every knob of both stages, set to each hostile value, is a valid config or an error
    /// naming the knob.
    #[test]
    fn every_knob_refuses_hostile_values_by_name() {
        let mut failures = hostile_knob_failures::<PretrainConfig>();
        failures.extend(hostile_knob_failures::<SftStageConfig>());
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[test]
    fn defaults_load_and_bad_keys_are_named() {
        assert_eq!(
            PretrainConfig::from_toml("", &[]).unwrap(),
            PretrainConfig::default()
        );
        let e = SftStageConfig::from_toml("[data]\npth = \"x\"", &[])
            .unwrap_err()
            .to_string();
        assert!(e.contains("pth"), "{e}");
        let e = SftStageConfig::from_toml("", &["data.prompt_template=\"Q:\"".into()])
            .unwrap_err()
            .to_string();
        assert!(e.contains("data.prompt_template"), "{e}");
        let e = PretrainConfig::from_toml("", &["train.seq_len=4096".into()])
            .unwrap_err()
            .to_string();
        assert!(e.contains("max_position_embeddings"), "{e}");
    }
}
