//! Supervised fine-tuning on demonstrations: loss on completion tokens only, packing of
//! several examples per row, validation loss and early stopping on it. Follows TRL's
//! `SFTTrainer` (completion-only loss, packing) and nanochat's `chat_sft` loop (AdamW,
//! warmup then cosine decay, gradient clipping).

use super::train::{run_loop, EpochOrder, Hooks, NoHooks};
use crate::data::Demo;
use crate::rollout::episodes::{render_turns, TurnFormat};
use crate::util::config::{finite_in, within, ConfigError};
use serde::{Deserialize, Serialize};
use tch::nn;
use tch::{Device, Kind, Tensor};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum SftError {
    #[error("no training examples (all {0} were empty or too long)")]
    NoExamples(usize),
    #[error("invalid config: {0}")]
    Config(String),
    #[error("tokenizer: {0}")]
    Tokenize(String),
    #[error("libtorch: {0}")]
    Torch(#[from] tch::TchError),
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    #[error("model: {0}")]
    Model(String),
}

/// What SFT and pretraining need from a policy: logits for a batch of token ids.
pub trait CausalLm {
    /// Logits `[B, T, V]` (float) for ids `[B, T]` (int64), positions starting at 0.
    fn logits(&self, ids: &Tensor) -> Result<Tensor, SftError>;
}

impl<F: Fn(&Tensor) -> Tensor> CausalLm for F {
    fn logits(&self, ids: &Tensor) -> Result<Tensor, SftError> {
        Ok(self(ids))
    }
}

impl CausalLm for crate::policy::model::Model {
    fn logits(&self, ids: &Tensor) -> Result<Tensor, SftError> {
        self.forward(ids, None)
            .map_err(|e| SftError::Model(e.to_string()))
    }
}

/// Text to token ids; implemented for the trainer's tokenizer by the caller.
pub type Encode<'a> = &'a dyn Fn(&str) -> Result<Vec<i64>, String>;

/// How demonstrations become token ids: the encoder, the end-of-sequence id that closes each
/// completion, the padding id and how multi-turn episodes are written between turns.
pub struct Tokens<'a> {
    pub encode: Encode<'a>,
    pub eos: i64,
    pub pad: i64,
    pub format: TurnFormat,
}

/// The knobs of an SFT run; defaults suit a small model trained from scratch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SftConfig {
    /// Tokens per packed row (examples longer than this are dropped and counted).
    pub seq_len: usize,
    /// Rows per optimiser step.
    pub batch_size: usize,
    /// Most optimiser steps; training also stops early on a stalled validation loss.
    pub max_steps: usize,
    pub lr: f64,
    /// Final learning rate as a fraction of `lr` (cosine decay).
    pub min_lr_ratio: f64,
    pub warmup_steps: usize,
    pub weight_decay: f64,
    pub grad_clip: f64,
    /// Pack several examples into each row (first-fit decreasing); off: one per row.
    pub pack: bool,
    /// Validation loss every this many steps (0: never, no early stop).
    pub eval_every: usize,
    /// Stop after this many evaluations without improvement (0: never stop early).
    pub patience: usize,
    /// Smallest drop of the validation loss that counts as an improvement.
    pub min_delta: f64,
    /// Restore the weights of the best validation loss at the end.
    pub keep_best: bool,
    pub seed: u64,
    /// Show a progress bar.
    pub progress: bool,
}

impl Default for SftConfig {
    fn default() -> Self {
        SftConfig {
            seq_len: 256,
            batch_size: 32,
            max_steps: 400,
            lr: 3e-3,
            min_lr_ratio: 0.1,
            warmup_steps: 20,
            weight_decay: 0.01,
            grad_clip: 1.0,
            pack: true,
            eval_every: 50,
            patience: 3,
            min_delta: 1e-3,
            keep_best: true,
            seed: 0,
            progress: true,
        }
    }
}

impl SftConfig {
    fn check(&self) -> Result<(), SftError> {
        self.validate("sft")
            .map_err(|e| SftError::Config(e.to_string()))
    }

    /// Range checks, each error naming its knob as `{prefix}.knob`.
    pub fn validate(&self, prefix: &str) -> Result<(), ConfigError> {
        let n = |k: &str| format!("{prefix}.{k}");
        within(&n("seq_len"), self.seq_len, 2, 1 << 20)?;
        within(&n("batch_size"), self.batch_size, 1, 1 << 16)?;
        within(&n("max_steps"), self.max_steps, 1, 100_000_000)?;
        finite_in(&n("lr"), self.lr, 1e-12, 1e3)?;
        finite_in(&n("min_lr_ratio"), self.min_lr_ratio, 0.0, 1.0)?;
        within(&n("warmup_steps"), self.warmup_steps, 0, 100_000_000)?;
        finite_in(&n("weight_decay"), self.weight_decay, 0.0, 1e3)?;
        finite_in(&n("grad_clip"), self.grad_clip, 0.0, 1e9)?;
        within(&n("eval_every"), self.eval_every, 0, 100_000_000)?;
        within(&n("patience"), self.patience, 0, 1_000_000)?;
        finite_in(&n("min_delta"), self.min_delta, 0.0, 1e6)
    }

    /// Learning rate at `step`: linear warmup, then cosine decay to `lr * min_lr_ratio`
    /// (the shared schedule of `optim`).
    pub fn lr_at(&self, step: usize) -> f64 {
        crate::optim::lr_at(&self.optim(), step, self.max_steps)
    }
}

/// One tokenised example: ids and, per id, whether it is a target of the loss.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Example {
    pub ids: Vec<i64>,
    pub loss: Vec<bool>,
}

/// Tokenises demonstrations: prompt ids (no loss), completion ids and `eos` (loss). A
/// multi-turn demonstration's turns are rendered with `format` as the sampler renders an
/// episode, the loss on the assistant turns only. Returns the examples and how many were
/// dropped for exceeding `max_len` tokens.
pub fn tokenize(
    demos: &[Demo],
    encode: Encode,
    eos: i64,
    format: &TurnFormat,
    max_len: usize,
) -> Result<(Vec<Example>, usize), SftError> {
    let mut out = Vec::with_capacity(demos.len());
    let mut dropped = 0;
    for d in demos {
        let p = encode(&d.prompt).map_err(SftError::Tokenize)?;
        let pieces = if d.turns.is_empty() {
            let mut c = encode(&d.completion).map_err(SftError::Tokenize)?;
            if !c.is_empty() {
                c.push(eos);
            }
            vec![(c, true)]
        } else {
            render_turns(format, encode, Some(eos), &d.turns).map_err(SftError::Tokenize)?
        };
        let len = p.len() + pieces.iter().map(|(ids, _)| ids.len()).sum::<usize>();
        if len > max_len || len == p.len() {
            dropped += 1;
            continue;
        }
        let mut ids = p.clone();
        let mut loss = vec![false; p.len()];
        for (piece, counts) in pieces {
            loss.extend(std::iter::repeat_n(counts, piece.len()));
            ids.extend(piece);
        }
        out.push(Example { ids, loss });
    }
    Ok((out, dropped))
}

/// A training row: one or more examples back to back, padded by the batcher.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Row {
    pub ids: Vec<i64>,
    pub loss: Vec<bool>,
}

/// Packs examples into rows of at most `seq_len` tokens, first-fit decreasing (as TRL's
/// "bfd" packing); with `pack` off, one example per row.
pub fn pack(examples: &[Example], seq_len: usize, pack: bool) -> Vec<Row> {
    if !pack {
        return examples
            .iter()
            .map(|e| Row {
                ids: e.ids.clone(),
                loss: e.loss.clone(),
            })
            .collect();
    }
    let mut order: Vec<usize> = (0..examples.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(examples[i].ids.len()));
    let mut rows: Vec<Row> = Vec::new();
    for i in order {
        let e = &examples[i];
        match rows
            .iter_mut()
            .find(|r| r.ids.len() + e.ids.len() <= seq_len)
        {
            Some(r) => {
                r.ids.extend_from_slice(&e.ids);
                r.loss.extend_from_slice(&e.loss);
            }
            None => rows.push(Row {
                ids: e.ids.clone(),
                loss: e.loss.clone(),
            }),
        }
    }
    rows
}

/// Inputs, targets and loss mask (`[B, T-1]` each) for a batch of rows padded with `pad`.
pub fn collate(rows: &[&Row], pad: i64, device: Device) -> (Tensor, Tensor, Tensor) {
    let t = rows.iter().map(|r| r.ids.len()).max().unwrap_or(1).max(2);
    let mut ids = Vec::with_capacity(rows.len() * t);
    let mut mask = Vec::with_capacity(rows.len() * t);
    for r in rows {
        ids.extend_from_slice(&r.ids);
        ids.resize(ids.len() + t - r.ids.len(), pad);
        mask.extend(r.loss.iter().map(|&b| f32::from(u8::from(b))));
        mask.resize(mask.len() + t - r.loss.len(), 0.0);
    }
    let b = rows.len() as i64;
    let ids = Tensor::from_slice(&ids)
        .view([b, t as i64])
        .to_device(device);
    let mask = Tensor::from_slice(&mask)
        .view([b, t as i64])
        .to_device(device);
    let input = ids.narrow(1, 0, t as i64 - 1);
    let target = ids.narrow(1, 1, t as i64 - 1);
    let mask = mask.narrow(1, 1, t as i64 - 1);
    (input, target, mask)
}

/// Summed cross-entropy over masked target tokens, and the number of such tokens.
pub fn masked_nll(logits: &Tensor, target: &Tensor, mask: &Tensor) -> (Tensor, f64) {
    let v = logits.size().last().copied().unwrap_or(1);
    let logp = logits
        .reshape([-1, v])
        .to_kind(Kind::Float)
        .log_softmax(-1, Kind::Float);
    let nll = -logp
        .gather(1, &target.reshape([-1, 1]), false)
        .squeeze_dim(1);
    let m = mask.reshape([-1]).to_kind(Kind::Float);
    let count = m.sum(Kind::Float).double_value(&[]);
    ((nll * m).sum(Kind::Float), count)
}

/// Mean completion-token loss of `rows`, without gradients.
pub fn mean_loss(
    model: &dyn CausalLm,
    rows: &[Row],
    batch: usize,
    pad: i64,
    device: Device,
) -> Result<f64, SftError> {
    let _guard = tch::no_grad_guard();
    let (mut total, mut count) = (0.0, 0.0);
    for chunk in rows.chunks(batch.max(1)) {
        let refs: Vec<&Row> = chunk.iter().collect();
        let (input, target, mask) = collate(&refs, pad, device);
        let (sum, n) = masked_nll(&model.logits(&input)?, &target, &mask);
        total += sum.double_value(&[]);
        count += n;
    }
    Ok(if count > 0.0 { total / count } else { f64::NAN })
}

/// What an SFT run did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SftReport {
    pub steps: usize,
    pub train_examples: usize,
    pub dropped_examples: usize,
    pub rows: usize,
    /// (step, training loss) for every step.
    pub train_loss: Vec<(usize, f64)>,
    /// (step, validation loss) at each evaluation.
    pub val_loss: Vec<(usize, f64)>,
    pub best_val_loss: Option<f64>,
    pub stopped_early: bool,
    pub tokens_trained: usize,
}

/// Fine-tunes `model` (whose trainable weights live in `vs`) on `train`, validating on
/// `val`, with the token ids of `tokens`.
pub fn train(
    model: &dyn CausalLm,
    vs: &nn::VarStore,
    train: &[Demo],
    val: &[Demo],
    tokens: &Tokens,
    cfg: &SftConfig,
) -> Result<SftReport, SftError> {
    train_with_hooks(model, vs, train, val, tokens, cfg, &mut NoHooks)
}

/// [`train`] with a stage's hooks (run folder, checkpoints, resume).
pub fn train_with_hooks(
    model: &dyn CausalLm,
    vs: &nn::VarStore,
    train: &[Demo],
    val: &[Demo],
    tokens: &Tokens,
    cfg: &SftConfig,
    hooks: &mut dyn Hooks,
) -> Result<SftReport, SftError> {
    cfg.check()?;
    let (encode, eos, pad, format) = (tokens.encode, tokens.eos, tokens.pad, &tokens.format);
    let (examples, dropped) = tokenize(train, encode, eos, format, cfg.seq_len)?;
    if examples.is_empty() {
        return Err(SftError::NoExamples(train.len()));
    }
    let (val_examples, _) = tokenize(val, encode, eos, format, cfg.seq_len)?;
    let rows = pack(&examples, cfg.seq_len, cfg.pack);
    let val_rows = pack(&val_examples, cfg.seq_len, cfg.pack);
    let device = vs.device();
    let objective = |rows: &[&Row]| -> Result<(Tensor, usize), SftError> {
        let (input, target, mask) = collate(rows, pad, device);
        let (sum, n) = masked_nll(&model.logits(&input)?, &target, &mask);
        Ok((sum / n.max(1.0), n as usize))
    };
    let report = SftReport {
        steps: 0,
        train_examples: examples.len(),
        dropped_examples: dropped,
        rows: rows.len(),
        train_loss: Vec::new(),
        val_loss: Vec::new(),
        best_val_loss: None,
        stopped_early: false,
        tokens_trained: 0,
    };
    let mut order = EpochOrder::new(rows.len(), cfg.batch_size, cfg.seed);
    let batch = |step: usize| -> Result<Vec<Row>, SftError> {
        Ok(order
            .batch(step)
            .into_iter()
            .map(|i| rows[i].clone())
            .collect())
    };
    let validate =
        |vs: &nn::VarStore| mean_loss(model, &val_rows, cfg.batch_size, pad, vs.device());
    let validating = !val_rows.is_empty();
    run_loop(
        vs, cfg, report, batch, objective, validate, validating, hooks,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(s: &str) -> Result<Vec<i64>, String> {
        Ok(s.bytes().map(|b| i64::from(b) + 2).collect())
    }

    #[test]
    fn loss_covers_completion_and_eos_only() {
        let demos = vec![Demo {
            prompt: "ab".into(),
            completion: "cde".into(),
            turns: Vec::new(),
        }];
        let (ex, dropped) = tokenize(&demos, &enc, 1, &TurnFormat::plain(), 64).unwrap();
        assert_eq!(dropped, 0);
        assert_eq!(ex[0].ids.len(), 6);
        assert_eq!(ex[0].loss, vec![false, false, true, true, true, true]);
        let (_, dropped) = tokenize(&demos, &enc, 1, &TurnFormat::plain(), 5).unwrap();
        assert_eq!(dropped, 1);
    }

    #[test]
    fn packing_fills_rows_without_splitting_examples() {
        let ex: Vec<Example> = [5usize, 4, 3, 3, 2, 7]
            .iter()
            .map(|&n| Example {
                ids: vec![3; n],
                loss: vec![true; n],
            })
            .collect();
        let rows = pack(&ex, 8, true);
        assert!(rows.iter().all(|r| r.ids.len() <= 8));
        assert_eq!(rows.iter().map(|r| r.ids.len()).sum::<usize>(), 24);
        assert_eq!(rows.len(), 4, "first-fit decreasing: 7 | 5+3 | 4+3 | 2");
        assert_eq!(pack(&ex, 8, false).len(), 6);
    }

    #[test]
    fn multi_turn_demos_train_on_the_assistant_turns_only() {
        use verigym_envs::Message;
        // One id per byte, so pieces are easy to count.
        let enc = |s: &str| Ok(s.bytes().map(i64::from).collect::<Vec<_>>());
        let demo = Demo {
            prompt: "q".into(),
            completion: String::new(),
            turns: vec![
                Message::new("assistant", "<tool_call>c</tool_call>"),
                Message::new("tool", "7"),
                Message::new("assistant", "a"),
            ],
        };
        let (ex, dropped) = tokenize(&[demo], &enc, 1, &TurnFormat::plain(), 256).unwrap();
        assert_eq!(dropped, 0);
        let reply = "\n<tool_response>\n7\n</tool_response>\n";
        let call = "<tool_call>c</tool_call>";
        let mut want_loss = vec![false];
        want_loss.extend(std::iter::repeat_n(true, call.len()));
        want_loss.extend(std::iter::repeat_n(false, reply.len()));
        want_loss.extend([true, true]); // "a" and eos
        assert_eq!(ex[0].loss, want_loss);
        let mut want_ids = enc(&format!("q{call}{reply}a")).unwrap();
        want_ids.push(1);
        assert_eq!(ex[0].ids, want_ids);
    }

    #[test]
    fn collate_shifts_targets_and_masks_padding() {
        let a = Row {
            ids: vec![5, 6, 7],
            loss: vec![false, true, true],
        };
        let b = Row {
            ids: vec![8, 9],
            loss: vec![false, true],
        };
        let (i, t, m) = collate(&[&a, &b], 0, Device::Cpu);
        assert_eq!(
            Vec::<i64>::try_from(i.reshape([-1])).unwrap(),
            vec![5, 6, 8, 9]
        );
        assert_eq!(
            Vec::<i64>::try_from(t.reshape([-1])).unwrap(),
            vec![6, 7, 9, 0]
        );
        assert_eq!(
            Vec::<f32>::try_from(m.reshape([-1])).unwrap(),
            vec![1.0, 1.0, 1.0, 0.0]
        );
    }

    #[test]
    fn schedule_warms_up_then_decays() {
        let c = SftConfig {
            lr: 1.0,
            warmup_steps: 10,
            max_steps: 110,
            min_lr_ratio: 0.1,
            ..Default::default()
        };
        assert!((c.lr_at(0) - 0.1).abs() < 1e-12);
        assert!((c.lr_at(9) - 1.0).abs() < 1e-12);
        assert!((c.lr_at(60) - 0.55).abs() < 1e-9);
        assert!((c.lr_at(110) - 0.1).abs() < 1e-12);
    }

    /// A bigram model learns a deterministic completion; the loss falls and early stop
    /// keeps the best weights.
    #[test]
    fn a_bigram_model_fits_the_completions() {
        tch::manual_seed(0);
        let vs = nn::VarStore::new(Device::Cpu);
        let emb = nn::embedding(vs.root() / "emb", 300, 300, Default::default());
        let model = move |ids: &Tensor| ids.apply(&emb);
        let demos: Vec<Demo> = (0..40)
            .map(|i| Demo {
                prompt: format!("q{}", i % 4),
                completion: "xyz".into(),
                turns: Vec::new(),
            })
            .collect();
        let cfg = SftConfig {
            seq_len: 32,
            batch_size: 8,
            max_steps: 150,
            lr: 0.5,
            weight_decay: 0.0,
            eval_every: 25,
            progress: false,
            ..Default::default()
        };
        let tokens = Tokens {
            encode: &enc,
            eos: 1,
            pad: 0,
            format: TurnFormat::plain(),
        };
        let r = train(&model, &vs, &demos, &demos[..8], &tokens, &cfg).unwrap();
        let first = r.train_loss[0].1;
        let best = r.best_val_loss.unwrap();
        assert!(first > 3.0 && best < 0.3, "first {first}, best val {best}");
    }
}
