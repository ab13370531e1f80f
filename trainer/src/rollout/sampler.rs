//! Batched sampler with a preallocated KV cache: left-padded prompts of different
//! lengths, temperature / top-k / top-p / min-p (the logits processors of transformers'
//! `generate` and vLLM), stop tokens and stop strings, a seed per sequence, greedy mode.
//! Finished sequences are dropped from the batch (the cache rows are compacted).
//!
//! # API note for the GRPO learner
//!
//! ```ignore
//! let sampler = Sampler::new(&tokenizer);
//! let params = SamplingParams { max_new_tokens: 256, temperature: 1.0,
//!     stop_token_ids: tokenizer.eos_ids().to_vec(), ..Default::default() };
//! let outs: Vec<Completion> = sampler.generate(&model, &prompt_ids, &params, &seeds)?;
//! // outs[i].token_ids / .logprobs (same length) / .text / .finish_reason
//! ```
//!
//! - `prompt_ids[i]` is the already-encoded prompt; `seeds[i]` seeds sequence i alone (a
//!   ChaCha8 stream drawn once per step), so the same (prompt, seed) gives the same completion
//!   whatever else is in the batch (up to float rounding differences of batched matmuls).
//! - `token_ids` include the stop token that ended the sequence (the policy must learn to emit
//!   it); `text` is their decoding without special tokens. A stop string keeps the tokens up to
//!   the one that completed it, so text, ids and logprobs always agree.
//! - `logprobs[t]` = log softmax(logits / temperature)[token] before top-k/top-p/min-p
//!   filtering (temperature 1 in greedy mode): the `logp_old` of the GRPO ratio, matching
//!   `Model::token_logprobs` with the same temperature.
//! - Multi-turn episodes (`generate_turns`): when a sequence ends a model turn (a stop token,
//!   a stop string, or its [`Turns::pause_on`] string such as `</tool_call>`), the caller's
//!   [`Turns`] answers; an environment reply's tokens are then fed through the same decode
//!   steps one per step (forced, not sampled) with the row's KV cache kept, while the other
//!   rows go on sampling. `loss_mask` is true exactly on the sampled tokens.
//! - Speed: on CPU in fp32 (models up to `engine::MAX_PARAMS` parameters) the prompt and
//!   every decode step run in the fused decode engine (policy/engine.rs, on the process's
//!   `CpuPath`: AVX-512, AVX2 or portable) on its own threads (`tch::get_num_threads()` of
//!   them), with unfiltered/greedy sampling on the host; other devices, dtypes and
//!   `VERIGYM_CPU_PATH=libtorch` take the libtorch layers. Both give the same tokens up to float
//!   rounding (tests compare them).

use crate::policy::engine::{self, DecodeEngine};
use crate::policy::model::{padded_causal_mask, AttnMask, KvCache, Model};
use crate::policy::tokenizer::Tokenizer;
use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};
use serde::{Deserialize, Serialize};
use tch::{Kind, Tensor};

#[derive(Debug, thiserror::Error)]
pub enum SampleError {
    #[error("invalid sampling request: {0}")]
    Invalid(String),
    #[error(transparent)]
    Model(#[from] crate::policy::model::ModelError),
    #[error(transparent)]
    Tokenizer(#[from] crate::policy::tokenizer::TokenizerError),
    #[error(transparent)]
    Torch(#[from] tch::TchError),
}

/// Sampling settings shared by every sequence of a `generate` call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SamplingParams {
    pub max_new_tokens: usize,
    /// 0 means greedy (argmax).
    pub temperature: f64,
    /// Keep the k most likely tokens; 0 disables.
    pub top_k: usize,
    /// Keep the smallest set of tokens whose probability reaches top_p; 1 disables.
    pub top_p: f64,
    /// Drop tokens below min_p times the top token's probability; 0 disables.
    pub min_p: f64,
    /// Token ids that end a sequence (usually `tokenizer.eos_ids()`); kept in the output.
    pub stop_token_ids: Vec<i64>,
    /// Strings that end a sequence once they appear in the completion text.
    pub stop_strings: Vec<String>,
    /// How the KV cache stores keys and values.
    pub kv_cache_dtype: KvCacheDtype,
}

/// The dtype of the sampler's KV cache.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum KvCacheDtype {
    /// The model's dtype.
    #[default]
    Auto,
    /// bfloat16 (for an fp32 model: half the bytes that every decode step's attention
    /// streams; attention computes in fp32 from keys and values rounded to bf16, so
    /// completions and log-probs drift from the fp32 cache's by that rounding).
    Bf16,
}

impl KvCacheDtype {
    /// The cache's libtorch kind for `model`.
    pub fn kind(self, model: &Model) -> Kind {
        match self {
            KvCacheDtype::Auto => model.kind(),
            KvCacheDtype::Bf16 => Kind::BFloat16,
        }
    }
}

impl Default for SamplingParams {
    fn default() -> Self {
        SamplingParams {
            max_new_tokens: 256,
            temperature: 1.0,
            top_k: 0,
            top_p: 1.0,
            min_p: 0.0,
            stop_token_ids: Vec::new(),
            stop_strings: Vec::new(),
            kv_cache_dtype: KvCacheDtype::Auto,
        }
    }
}

/// Longest stop string accepted (bytes); stop-string checks cost O(this) per token.
pub const MAX_STOP_STRING_BYTES: usize = 256;

impl SamplingParams {
    pub fn greedy(max_new_tokens: usize) -> SamplingParams {
        SamplingParams {
            max_new_tokens,
            temperature: 0.0,
            ..Default::default()
        }
    }

    pub fn is_greedy(&self) -> bool {
        self.temperature == 0.0
    }

    pub fn validate(&self) -> Result<(), SampleError> {
        let bad = |m: String| Err(SampleError::Invalid(m));
        if !(self.temperature.is_finite() && self.temperature >= 0.0) {
            return bad(format!(
                "temperature must be >= 0, got {}",
                self.temperature
            ));
        }
        if !(self.top_p > 0.0 && self.top_p <= 1.0) {
            return bad(format!("top_p must be in (0, 1], got {}", self.top_p));
        }
        if !(self.min_p >= 0.0 && self.min_p < 1.0) {
            return bad(format!("min_p must be in [0, 1), got {}", self.min_p));
        }
        if let Some(s) = self
            .stop_strings
            .iter()
            .find(|s| s.is_empty() || s.len() > MAX_STOP_STRING_BYTES)
        {
            return bad(format!(
                "stop strings must be 1..={MAX_STOP_STRING_BYTES} bytes, got {} bytes",
                s.len()
            ));
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FinishReason {
    /// A stop token was sampled (it is the last of `token_ids`).
    StopToken(i64),
    /// The text came to contain this stop string.
    StopString(String),
    /// `max_new_tokens` were generated.
    Length,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Completion {
    pub token_ids: Vec<i64>,
    pub text: String,
    /// Sampling log-probs; 0 on forced (environment) tokens.
    pub logprobs: Vec<f32>,
    /// Per token: sampled by the model (true) or fed in from an environment reply (false).
    pub loss_mask: Vec<bool>,
    pub finish_reason: FinishReason,
}

/// What follows a model turn in an episode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TurnEnd {
    /// The environment's reply, as tokens to feed before the model's next turn.
    Continue(Vec<i64>),
    /// The episode is over; the sequence finishes with the turn's finish reason.
    Done,
}

/// The caller's side of a multi-turn `generate_turns`: it owns the episodes, one per row.
pub trait Turns {
    /// A string that ends a model turn of `row` besides the stop tokens and strings (the
    /// closing `</tool_call>` of a tool call), if any.
    fn pause_on(&self, row: usize) -> Option<&str>;
    /// The most tokens (model and environment) row `row` may take, when tighter than
    /// `max_new_tokens` (an episode's own token limit).
    fn budget(&self, _row: usize) -> Option<usize> {
        None
    }
    /// Row `row` ended a model turn (`ended_by`); `turn` is the text of its tokens since the
    /// last environment reply, special tokens dropped.
    fn turn_end(
        &mut self,
        row: usize,
        turn: &str,
        ended_by: &FinishReason,
    ) -> Result<TurnEnd, SampleError>;
}

/// Batched generation; holds the tokenizer used for text and stop strings.
pub struct Sampler<'a> {
    tokenizer: Option<&'a Tokenizer>,
    /// Decode with the fused CPU step where it applies (tests turn it off to compare).
    fused: bool,
}

struct Row {
    tokens: Vec<i64>,
    logprobs: Vec<f32>,
    mask: Vec<bool>,
    /// Environment tokens still to feed, one per decode step.
    forced: std::collections::VecDeque<i64>,
    /// Where the current model turn started in `tokens`.
    turn_start: usize,
    rng: ChaCha8Rng,
    finish: Option<FinishReason>,
}

impl<'a> Sampler<'a> {
    pub fn new(tokenizer: &'a Tokenizer) -> Sampler<'a> {
        Sampler {
            tokenizer: Some(tokenizer),
            fused: true,
        }
    }

    /// The same sampler on the libtorch layers only (tests compare the two paths).
    pub fn without_fused_engine(self) -> Sampler<'a> {
        Sampler {
            fused: false,
            ..self
        }
    }

    /// A sampler that returns ids and logprobs only (empty `text`, no stop strings).
    pub fn ids_only() -> Sampler<'static> {
        Sampler {
            tokenizer: None,
            fused: true,
        }
    }

    /// Generates one completion per prompt; `seeds[i]` drives sequence i.
    pub fn generate(
        &self,
        model: &Model,
        prompts: &[Vec<i64>],
        params: &SamplingParams,
        seeds: &[u64],
    ) -> Result<Vec<Completion>, SampleError> {
        self.generate_with(model, prompts, params, seeds, None)
    }

    /// Generates one multi-turn episode per prompt: `turns` is asked at the end of every
    /// model turn and answers with the environment's reply or the end of the episode.
    /// `max_new_tokens` bounds model and environment tokens together; a reply that does not
    /// fit ends the sequence with `FinishReason::Length`.
    pub fn generate_turns(
        &self,
        model: &Model,
        prompts: &[Vec<i64>],
        params: &SamplingParams,
        seeds: &[u64],
        turns: &mut dyn Turns,
    ) -> Result<Vec<Completion>, SampleError> {
        if self.tokenizer.is_none() {
            return Err(SampleError::Invalid("episodes need a tokenizer".into()));
        }
        self.generate_with(model, prompts, params, seeds, Some(turns))
    }

    fn generate_with(
        &self,
        model: &Model,
        prompts: &[Vec<i64>],
        params: &SamplingParams,
        seeds: &[u64],
        turns: Option<&mut dyn Turns>,
    ) -> Result<Vec<Completion>, SampleError> {
        params.validate()?;
        let vocab = model.cfg.vocab_size as i64;
        if prompts.len() != seeds.len() {
            return Err(SampleError::Invalid(format!(
                "{} prompts but {} seeds",
                prompts.len(),
                seeds.len()
            )));
        }
        if prompts.is_empty() {
            return Ok(Vec::new());
        }
        if !params.stop_strings.is_empty() && self.tokenizer.is_none() {
            return Err(SampleError::Invalid("stop strings need a tokenizer".into()));
        }
        for (i, p) in prompts.iter().enumerate() {
            if p.is_empty() {
                return Err(SampleError::Invalid(format!("prompt {i} is empty")));
            }
            if let Some(t) = p.iter().find(|&&t| t < 0 || t >= vocab) {
                return Err(SampleError::Invalid(format!(
                    "prompt {i} has token id {t} outside the vocabulary 0..{vocab}"
                )));
            }
        }
        let p_max = prompts.iter().map(Vec::len).max().unwrap_or(0) as i64;
        let capacity = p_max + params.max_new_tokens as i64;
        if capacity > model.max_positions() {
            return Err(SampleError::Invalid(format!(
                "prompt ({p_max}) + max_new_tokens ({}) exceeds the model's {} positions",
                params.max_new_tokens,
                model.max_positions()
            )));
        }
        let mut rows: Vec<Row> = seeds
            .iter()
            .map(|&s| Row {
                tokens: Vec::new(),
                logprobs: Vec::new(),
                mask: Vec::new(),
                forced: Default::default(),
                turn_start: 0,
                rng: ChaCha8Rng::seed_from_u64(s),
                finish: None,
            })
            .collect();
        if params.max_new_tokens > 0 {
            let _guard = tch::no_grad_guard();
            self.run(model, prompts, params, &mut rows, p_max, capacity, turns)?;
        }
        rows.into_iter()
            .map(|r| {
                let text = match self.tokenizer {
                    Some(t) => t.decode(&r.tokens, true)?,
                    None => String::new(),
                };
                Ok(Completion {
                    token_ids: r.tokens,
                    text,
                    logprobs: r.logprobs,
                    loss_mask: r.mask,
                    finish_reason: r.finish.unwrap_or(FinishReason::Length),
                })
            })
            .collect()
    }

    #[allow(clippy::too_many_arguments)]
    fn run(
        &self,
        model: &Model,
        prompts: &[Vec<i64>],
        params: &SamplingParams,
        rows: &mut [Row],
        p_max: i64,
        capacity: i64,
        mut turns: Option<&mut dyn Turns>,
    ) -> Result<(), SampleError> {
        let device = model.device();
        let b = prompts.len() as i64;
        // Left-pad: row i's real tokens sit at p_max-len_i..p_max.
        let mut ids = vec![0i64; (b * p_max) as usize];
        let mut attn = vec![0i64; (b * p_max) as usize];
        let mut pads = Vec::with_capacity(prompts.len());
        for (i, p) in prompts.iter().enumerate() {
            let pad = p_max as usize - p.len();
            let start = i * p_max as usize + pad;
            ids[start..start + p.len()].copy_from_slice(p);
            attn[start..start + p.len()].iter_mut().for_each(|a| *a = 1);
            pads.push(pad as i64);
        }
        // The fused CPU decode step (decode.rs) where it applies, for the prompt (one
        // position per step) and the completion; the libtorch layers otherwise.
        let mut engine = self
            .fused
            .then(|| DecodeEngine::new(model, prompts.len(), capacity as usize))
            .flatten();
        // The engine has its own threads; libtorch's remaining ops (sampling on [B, V]) are
        // small, and its OpenMP team would spin between them on cores the engine needs.
        let _one_thread = engine.as_ref().map(|_| TorchThreads::set(1));
        let mut cache = KvCache::with_kind(model, b, capacity, params.kv_cache_dtype.kind(model));
        // `None`: the logits are in the engine (host memory).
        let mut logits = match engine.as_mut() {
            Some(e) => {
                // A group's G rollouts share their prompt: it goes through once.
                e.prefill_shared(model, &ids, &pads, &mut cache)?;
                None
            }
            None => Some({
                let ids = Tensor::from_slice(&ids).view([b, p_max]).to_device(device);
                let attn = Tensor::from_slice(&attn).view([b, p_max]).to_device(device);
                let (positions, prefill_mask) = padded_causal_mask(&attn, model.kind());
                let hidden =
                    model.forward_hidden(&ids, &positions, &prefill_mask, Some(&mut cache));
                model.logits(&hidden.select(1, p_max - 1))
            }),
        };
        // Sampling without top-k / top-p / min-p runs on the engine's host logits.
        let host_sampling = params.top_k == 0 && params.top_p >= 1.0 && params.min_p == 0.0;
        // Row i's next position is its prompt length.
        let mut pos_host: Vec<i64> = prompts.iter().map(|p| p.len() as i64).collect();
        // Decode-time mask over cache slots, -inf on each row's left padding; only built when
        // the rows' paddings differ (slots that are padding in every row are skipped through
        // `cache.start` instead).
        let key_mask_of = |pads: &[i64]| -> Option<Tensor> {
            let lo = pads.iter().copied().min().unwrap_or(0);
            if pads.iter().all(|&p| p == lo) {
                return None;
            }
            let n = pads.len() as i64;
            let pads_t = Tensor::from_slice(pads).to_device(device).view([n, 1]);
            let slots = Tensor::arange(capacity, (Kind::Int64, device)).view([1, capacity]);
            Some(
                Tensor::zeros([n, capacity], (model.kind(), device))
                    .masked_fill(&slots.lt_tensor(&pads_t), f64::NEG_INFINITY)
                    .view([n, 1, 1, capacity]),
            )
        };
        let mut key_mask = key_mask_of(&pads);
        cache.start = pads.iter().copied().min().unwrap_or(0);
        // active[r] = index into `rows` of batch row r.
        let mut active: Vec<usize> = (0..prompts.len()).collect();
        let pause_len = (0..rows.len())
            .filter_map(|i| turns.as_ref().and_then(|t| t.pause_on(i)).map(str::len))
            .max();
        let stop_window = params
            .stop_strings
            .iter()
            .map(String::len)
            .chain(pause_len)
            .max()
            .map(|m| m + 8)
            .unwrap_or(0);
        let mut uniforms = vec![0f32; active.len()];
        for step in 0..params.max_new_tokens {
            uniforms.clear();
            for &i in &active {
                let u = match rows.get_mut(i) {
                    Some(r) if r.finish.is_none() && !params.is_greedy() => unit(&mut r.rng),
                    _ => 0.5,
                };
                uniforms.push(u);
            }
            let (mut tok_host, mut lp_host): (Vec<i64>, Vec<f32>) = (Vec::new(), Vec::new());
            match (&logits, engine.as_ref()) {
                (None, Some(e)) if host_sampling => {
                    let t = if params.is_greedy() {
                        0.0
                    } else {
                        params.temperature as f32
                    };
                    let v = model.cfg.vocab_size;
                    let rows = e.logits(active.len());
                    let path = e.path();
                    engine::sample_rows(path, rows, v, t, &uniforms, &mut tok_host, &mut lp_host);
                }
                _ => {
                    let l = match (&logits, engine.as_ref()) {
                        (Some(l), _) => l.to_kind(Kind::Float),
                        (None, Some(e)) => e.logits_tensor(active.len()),
                        (None, None) => return Err(SampleError::Invalid("no logits".into())),
                    };
                    let (tokens, logp) = sample(&l, params, &uniforms)?;
                    tok_host = Vec::<i64>::try_from(&tokens)?;
                    lp_host = Vec::<f32>::try_from(&logp)?;
                }
            }
            let last = step + 1 == params.max_new_tokens;
            let mut dead = 0usize;
            for (r, &i) in active.iter().enumerate() {
                let Some(row) = rows.get_mut(i) else { continue };
                if row.finish.is_some() {
                    dead += 1;
                    continue;
                }
                if let Some(forced) = row.forced.pop_front() {
                    // An environment token: fed in place of the sampled one.
                    row.tokens.push(forced);
                    row.logprobs.push(0.0);
                    row.mask.push(false);
                    if let Some(t) = tok_host.get_mut(r) {
                        *t = forced;
                    }
                    if row.forced.is_empty() {
                        row.turn_start = row.tokens.len();
                    }
                    if last {
                        row.finish = Some(FinishReason::Length);
                        dead += 1;
                    }
                    continue;
                }
                let (Some(&tok), Some(&lp)) = (tok_host.get(r), lp_host.get(r)) else {
                    continue;
                };
                row.tokens.push(tok);
                row.logprobs.push(lp);
                row.mask.push(true);
                let pause = turns.as_ref().and_then(|t| t.pause_on(i));
                let budget = turns
                    .as_ref()
                    .and_then(|t| t.budget(i))
                    .map_or(params.max_new_tokens, |b| b.min(params.max_new_tokens));
                let ended = if params.stop_token_ids.contains(&tok) {
                    Some(FinishReason::StopToken(tok))
                } else {
                    self.stop_string_hit(row, params, pause, stop_window)?
                        .map(FinishReason::StopString)
                };
                match (ended, turns.as_deref_mut()) {
                    (Some(reason), Some(t)) => {
                        let turn = self.decode_turn(row)?;
                        match t.turn_end(i, &turn, &reason)? {
                            TurnEnd::Continue(reply) if reply.is_empty() => {
                                return Err(SampleError::Invalid(format!(
                                    "row {i}: an environment reply with no tokens"
                                )))
                            }
                            // A reply that leaves no room for another model token ends
                            // the sequence at the budget.
                            TurnEnd::Continue(reply)
                                if row.tokens.len() + reply.len() >= budget =>
                            {
                                row.finish = Some(FinishReason::Length)
                            }
                            TurnEnd::Continue(reply) => row.forced.extend(reply),
                            TurnEnd::Done => row.finish = Some(reason),
                        }
                    }
                    (Some(reason), None) => row.finish = Some(reason),
                    (None, _) => {}
                }
                if (last || row.tokens.len() >= budget) && row.finish.is_none() {
                    row.finish = Some(FinishReason::Length);
                }
                if row.finish.is_some() {
                    dead += 1;
                }
            }
            if last || dead == active.len() {
                break;
            }
            let mut ids_host = tok_host;
            // Drop finished rows once they are an eighth of the batch (each compaction copies
            // the cache, so compacting on every single finish would cost more than it saves).
            if dead > 0 && dead * 8 >= active.len() {
                let keep: Vec<i64> = active
                    .iter()
                    .enumerate()
                    .filter(|(_, &i)| rows.get(i).is_some_and(|r| r.finish.is_none()))
                    .map(|(r, _)| r as i64)
                    .collect();
                let keep_t = Tensor::from_slice(&keep).to_device(device);
                cache.select_rows(&keep_t);
                let pick = |v: &[i64]| -> Vec<i64> {
                    keep.iter()
                        .filter_map(|&r| v.get(r as usize).copied())
                        .collect()
                };
                ids_host = pick(&ids_host);
                pos_host = pick(&pos_host);
                pads = keep
                    .iter()
                    .filter_map(|&r| pads.get(r as usize).copied())
                    .collect();
                active = keep
                    .iter()
                    .filter_map(|&r| active.get(r as usize).copied())
                    .collect();
                key_mask = key_mask_of(&pads);
                cache.start = pads.iter().copied().min().unwrap_or(0);
            }
            if let Some(e) = engine.as_mut() {
                // Row r attends from its first real slot (pads[r]), as the masks below.
                e.step(&ids_host, &pos_host, &pads, &mut cache)?;
            } else {
                let n = ids_host.len() as i64;
                let next_ids = Tensor::from_slice(&ids_host).to_device(device).view([n, 1]);
                let next_pos = Tensor::from_slice(&pos_host).to_device(device).view([n, 1]);
                let mask = match &key_mask {
                    Some(m) => AttnMask::RowsFrom {
                        from: pads.clone(),
                        mask: m.narrow(-1, cache.start, cache.len + 1 - cache.start),
                    },
                    None => AttnMask::All,
                };
                let hidden = model.forward_hidden(&next_ids, &next_pos, &mask, Some(&mut cache));
                logits = Some(model.logits(&hidden.select(1, 0)));
            }
            pos_host.iter_mut().for_each(|p| *p += 1);
        }
        Ok(())
    }

    /// Whether a stop string (or the row's pause string) appears in the decoded tail of the
    /// current model turn (it can only have appeared through the newest token, so a tail as
    /// long as the longest stop string plus a few tokens of slack suffices; environment text
    /// before the turn is never searched).
    fn stop_string_hit(
        &self,
        row: &Row,
        params: &SamplingParams,
        pause: Option<&str>,
        window: usize,
    ) -> Result<Option<String>, SampleError> {
        let Some(tok) = self.tokenizer else {
            return Ok(None);
        };
        if params.stop_strings.is_empty() && pause.is_none() {
            return Ok(None);
        }
        let from = row.tokens.len().saturating_sub(window).max(row.turn_start);
        let tail = tok.decode(row.tokens.get(from..).unwrap_or(&[]), false)?;
        Ok(params
            .stop_strings
            .iter()
            .map(String::as_str)
            .chain(pause)
            .find(|s| tail.contains(s))
            .map(str::to_string))
    }

    /// The text of the row's current model turn, special tokens dropped.
    fn decode_turn(&self, row: &Row) -> Result<String, SampleError> {
        let ids = row.tokens.get(row.turn_start..).unwrap_or(&[]);
        match self.tokenizer {
            Some(t) => Ok(t.decode(ids, true)?),
            None => Ok(String::new()),
        }
    }
}

/// Sets libtorch's intra-op thread count, restoring the previous one when dropped.
pub(crate) struct TorchThreads(i32);

impl TorchThreads {
    pub(crate) fn set(n: i32) -> TorchThreads {
        let old = tch::get_num_threads();
        tch::set_num_threads(n);
        TorchThreads(old)
    }
}

impl Drop for TorchThreads {
    fn drop(&mut self) {
        tch::set_num_threads(self.0);
    }
}

/// A uniform in [0, 1) from 24 random bits (exact in f32).
pub(crate) fn unit(rng: &mut ChaCha8Rng) -> f32 {
    (rng.next_u32() >> 8) as f32 * (1.0 / (1u32 << 24) as f32)
}

/// One sampling step over float logits [R, V]: returns the chosen ids [R] and their
/// log-probabilities [R] under `logits / temperature` (before filtering). Sampling is by
/// inverse CDF with the caller's uniforms, so each row depends only on its own uniform.
pub fn sample(
    logits: &Tensor,
    params: &SamplingParams,
    uniforms: &[f32],
) -> Result<(Tensor, Tensor), SampleError> {
    let (r, v) = logits.size2()?;
    if uniforms.len() as i64 != r {
        return Err(SampleError::Invalid(format!(
            "{} uniforms for {r} rows",
            uniforms.len()
        )));
    }
    if params.is_greedy() {
        let tokens = logits.argmax(-1, false);
        let logp = logits
            .log_softmax(-1, Kind::Float)
            .gather(-1, &tokens.unsqueeze(-1), false)
            .squeeze_dim(-1);
        return Ok((tokens, logp));
    }
    let scaled = if params.temperature == 1.0 {
        logits.shallow_clone()
    } else {
        logits / params.temperature
    };
    let logp_all = scaled.log_softmax(-1, Kind::Float);
    let mut filtered = logp_all.shallow_clone();
    // A top-k past i64 (a typo, 2^63) keeps every token rather than wrapping negative.
    let k = i64::try_from(params.top_k).unwrap_or(i64::MAX);
    if params.top_k > 0 && k < v {
        let (top, _) = filtered.topk(k, -1, true, true);
        let kth = top.narrow(-1, k - 1, 1);
        filtered = filtered.masked_fill(&filtered.lt_tensor(&kth), f64::NEG_INFINITY);
    }
    if params.top_p < 1.0 {
        let (sorted, idx) = filtered.sort(-1, true);
        let probs = sorted.exp();
        let before = probs.cumsum(-1, Kind::Float) - &probs;
        // Drop a token once the mass before it already reaches top_p (the first always stays).
        let drop = before.ge(params.top_p);
        let kept = sorted.masked_fill(&drop, f64::NEG_INFINITY);
        filtered = filtered.scatter(-1, &idx, &kept);
    }
    if params.min_p > 0.0 {
        let max = filtered.amax(-1, true);
        let floor = max + params.min_p.ln();
        filtered = filtered.masked_fill(&filtered.lt_tensor(&floor), f64::NEG_INFINITY);
    }
    let probs = filtered.exp();
    let cdf = probs.cumsum(-1, Kind::Float);
    let total = cdf.narrow(-1, v - 1, 1);
    let u = Tensor::from_slice(uniforms)
        .to_device(logits.device())
        .view([r, 1]);
    // First index whose cdf exceeds u * total; zero-probability tokens are never chosen.
    let tokens = cdf
        .le_tensor(&(u * total))
        .sum_dim_intlist(-1, false, Kind::Int64)
        .clamp_max(v - 1);
    let logp = logp_all
        .gather(-1, &tokens.unsqueeze(-1), false)
        .squeeze_dim(-1);
    Ok((tokens, logp))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::model::Config;
    use tch::Device;

    fn model(seed: i64) -> Model {
        let mut cfg = Config::llama(267, 32, 64, 2, 4, 2);
        cfg.initializer_range = 0.5; // peaky distributions, so greedy is not tie-prone
        Model::new_seeded(&cfg, Device::Cpu, Kind::Float, seed).unwrap()
    }

    fn probs_row(p: &[f32]) -> Tensor {
        Tensor::from_slice(p).log().view([1, p.len() as i64])
    }

    #[test]
    fn inverse_cdf_picks_by_uniform_and_skips_zero_mass() {
        let logits = probs_row(&[0.0, 0.25, 0.0, 0.75]);
        let params = SamplingParams::default();
        for (u, want) in [(0.0f32, 1i64), (0.2, 1), (0.3, 3), (0.999, 3)] {
            let (t, lp) = sample(&logits, &params, &[u]).unwrap();
            assert_eq!(t.int64_value(&[0]), want, "u={u}");
            let p = if want == 1 { 0.25f64 } else { 0.75 };
            assert!((lp.double_value(&[0]) - p.ln()).abs() < 1e-6);
        }
    }

    #[test]
    fn top_k_top_p_min_p_filter() {
        let logits = probs_row(&[0.1, 0.2, 0.3, 0.4]);
        let k1 = SamplingParams {
            top_k: 1,
            ..Default::default()
        };
        assert_eq!(sample(&logits, &k1, &[0.0]).unwrap().0.int64_value(&[0]), 3);
        // top_p 0.5: keeps 0.4 and 0.3 (mass before 0.3 is 0.4 < 0.5).
        let p = SamplingParams {
            top_p: 0.5,
            ..Default::default()
        };
        assert_eq!(sample(&logits, &p, &[0.0]).unwrap().0.int64_value(&[0]), 2);
        assert_eq!(sample(&logits, &p, &[0.99]).unwrap().0.int64_value(&[0]), 3);
        // min_p 0.6: floor 0.24 keeps 0.3 and 0.4.
        let m = SamplingParams {
            min_p: 0.6,
            ..Default::default()
        };
        assert_eq!(sample(&logits, &m, &[0.0]).unwrap().0.int64_value(&[0]), 2);
        // Logprobs are of the unfiltered distribution.
        let (_, lp) = sample(&logits, &k1, &[0.5]).unwrap();
        assert!((lp.double_value(&[0]) - 0.4f64.ln()).abs() < 1e-6);
        // A top-k past i64 (2^63 from a command line) keeps every token, as top-k = V does.
        for top_k in [1usize << 63, usize::MAX] {
            let huge = SamplingParams {
                top_k,
                ..Default::default()
            };
            assert_eq!(
                sample(&logits, &huge, &[0.0]).unwrap().0.int64_value(&[0]),
                0
            );
        }
    }

    #[test]
    fn same_seed_same_completion_whatever_the_batch() {
        let m = model(0);
        let params = SamplingParams {
            max_new_tokens: 12,
            ..Default::default()
        };
        let s = Sampler::ids_only();
        let a = vec![5i64, 6, 7];
        let alone = s
            .generate(&m, std::slice::from_ref(&a), &params, &[42])
            .unwrap();
        let batch = s
            .generate(
                &m,
                &[vec![9; 7], a.clone(), vec![1, 2]],
                &params,
                &[1, 42, 3],
            )
            .unwrap();
        // Same tokens; logprobs equal up to the rounding of batched matmuls.
        assert_eq!(alone[0].token_ids, batch[1].token_ids);
        for (a, b) in alone[0].logprobs.iter().zip(&batch[1].logprobs) {
            assert!((a - b).abs() < 1e-4);
        }
        assert_eq!(alone[0].token_ids.len(), 12);
        assert_eq!(alone[0].finish_reason, FinishReason::Length);
        let other = s.generate(&m, &[a], &params, &[43]).unwrap();
        assert_ne!(other[0].token_ids, alone[0].token_ids);
    }

    #[test]
    fn greedy_matches_full_forward_argmax_and_logprobs() {
        let m = model(1);
        let prompt = vec![3i64, 50, 60, 70];
        let out = Sampler::ids_only()
            .generate(
                &m,
                &[prompt.clone(), vec![8, 9]],
                &SamplingParams::greedy(6),
                &[0, 0],
            )
            .unwrap();
        let mut seq = prompt.clone();
        for (t, &tok) in out[0].token_ids.iter().enumerate() {
            let ids = Tensor::from_slice(&seq).view([1, seq.len() as i64]);
            let logits = m
                .forward(&ids, None)
                .unwrap()
                .select(1, seq.len() as i64 - 1);
            assert_eq!(logits.argmax(-1, false).int64_value(&[0]), tok);
            let lp = logits.log_softmax(-1, Kind::Float).double_value(&[0, tok]);
            assert!((lp - out[0].logprobs[t] as f64).abs() < 1e-4);
            seq.push(tok);
        }
        // Sampler logprobs equal teacher-forced logprobs.
        let ids = Tensor::from_slice(&seq).view([1, seq.len() as i64]);
        let attn = Tensor::ones([1, seq.len() as i64], (Kind::Int64, Device::Cpu));
        let tf = m.token_logprobs(&ids, &attn, 1.0).unwrap();
        let tail = tf.narrow(1, prompt.len() as i64 - 1, 6);
        let want = Tensor::from_slice(&out[0].logprobs).view([1, 6]);
        assert!(tail.allclose(&want, 1e-4, 1e-4, false));
    }

    #[test]
    fn stop_tokens_and_strings_end_sequences_and_batch_compacts() {
        let m = model(2);
        let tok = Tokenizer::builtin();
        let s = Sampler::new(&tok);
        let prompts: Vec<Vec<i64>> = (0..10).map(|i| vec![20 + i, 30 + i]).collect();
        let seeds: Vec<u64> = (0..10).collect();
        let free = SamplingParams {
            max_new_tokens: 40,
            ..Default::default()
        };
        let base = s.generate(&m, &prompts, &free, &seeds).unwrap();
        // Stop on the 5th sampled token of sequence 0: it ends there, others are unchanged
        // unless they sample that token too.
        let stop = base[0].token_ids[4];
        let p = SamplingParams {
            stop_token_ids: vec![stop],
            ..free.clone()
        };
        let out = s.generate(&m, &prompts, &p, &seeds).unwrap();
        for (o, b) in out.iter().zip(&base) {
            let cut = b.token_ids.iter().position(|&t| t == stop);
            match cut {
                Some(c) => {
                    assert_eq!(o.token_ids, b.token_ids[..=c].to_vec());
                    assert_eq!(o.finish_reason, FinishReason::StopToken(stop));
                }
                None => assert_eq!(o.token_ids, b.token_ids),
            }
            assert_eq!(o.logprobs.len(), o.token_ids.len());
        }
        // A stop string taken from a completion's text.
        let text = &base[3].text;
        let needle: String = text.chars().skip(6).take(2).collect();
        if !needle.is_empty() {
            let p = SamplingParams {
                stop_strings: vec![needle.clone()],
                ..free
            };
            let out = s.generate(&m, &prompts, &p, &seeds).unwrap();
            assert!(out[3].text.contains(&needle));
            assert_eq!(
                out[3].finish_reason,
                FinishReason::StopString(needle.clone())
            );
            assert!(out[3].token_ids.len() <= base[3].token_ids.len());
        }
    }

    /// The fused decode step (decode.rs) samples the same tokens as the libtorch layers, with
    /// log-probabilities equal to float rounding: left-padded prompts of different lengths,
    /// repeated prompts (one shared prefill each, as a GRPO group's), two prompts whose
    /// padded ids coincide ([0, 5] and [5] with pad id 0), rows finishing early
    /// (compaction), sampling and greedy.
    #[test]
    fn fused_decode_samples_what_the_libtorch_layers_sample() {
        let mut cfg = Config::llama(267, 32, 64, 2, 4, 2);
        cfg.initializer_range = 0.5;
        let m = Model::new_seeded(&cfg, Device::Cpu, Kind::Float, 4).unwrap();
        let mut prompts: Vec<Vec<i64>> = (0..13)
            .map(|i| (0..1 + i % 5).map(|j| (i * 31 + j * 7) % 267).collect())
            .collect();
        let repeats = [prompts[2].clone(), prompts[2].clone(), prompts[7].clone()];
        prompts.extend(repeats);
        prompts.extend([vec![0, 5], vec![5]]);
        let seeds: Vec<u64> = (0..prompts.len() as u64).collect();
        for params in [
            SamplingParams {
                max_new_tokens: 24,
                stop_token_ids: vec![3, 17, 101],
                ..Default::default()
            },
            SamplingParams::greedy(16),
        ] {
            // Logits of this peaky model are tens in size; 1e-4 is their rounding.
            fused_and_plain_agree(&m, &prompts, &params, &seeds, 1e-4);
        }
    }

    /// A GQA Llama with head size 16 and peaky distributions (vocab 267).
    fn peaky_hd16(seed: i64) -> Model {
        let mut cfg = Config::llama(267, 64, 64, 2, 4, 2);
        cfg.initializer_range = 0.5;
        Model::new_seeded(&cfg, Device::Cpu, Kind::Float, seed).unwrap()
    }

    /// `rows` prompts in adjacent groups of `group`, group g's of 1 + g % `lengths` tokens.
    fn grouped_prompts(rows: i64, group: i64, lengths: i64) -> Vec<Vec<i64>> {
        (0..rows)
            .map(|r| r / group)
            .map(|g| {
                (0..1 + g % lengths)
                    .map(|j| (g * 37 + j * 11) % 267)
                    .collect()
            })
            .collect()
    }

    /// Samples through the fused engine and through the libtorch layers, asserts the same
    /// tokens and finish reasons and log-probs within `tol`, and returns the fused ones.
    fn fused_and_plain_agree(
        m: &Model,
        prompts: &[Vec<i64>],
        params: &SamplingParams,
        seeds: &[u64],
        tol: f32,
    ) -> Vec<Completion> {
        let plain = Sampler {
            tokenizer: None,
            fused: false,
        };
        let a = Sampler::ids_only()
            .generate(m, prompts, params, seeds)
            .unwrap();
        let b = plain.generate(m, prompts, params, seeds).unwrap();
        for (i, (x, y)) in a.iter().zip(&b).enumerate() {
            assert_eq!(x.token_ids, y.token_ids, "row {i}");
            assert_eq!(x.finish_reason, y.finish_reason, "row {i}");
            for (p, q) in x.logprobs.iter().zip(&y.logprobs) {
                assert!((p - q).abs() < tol, "row {i}: {p} vs {q}");
            }
        }
        a
    }

    /// GRPO's shape: 40 rows, 10 prompts of 1-9 tokens with 4 completions each (adjacent),
    /// so the fused engine's attention reads each prompt from one row of its group, and
    /// the teams split the step (>= 16 rows per thread). Stop tokens end rows early, so
    /// the compacted batch keeps reading the right rows. Same tokens as the libtorch path.
    #[test]
    fn groups_sharing_a_prompt_sample_what_the_libtorch_layers_sample() {
        // Head size 16: the AVX-512 attention kernel (the other fused test has 8: AVX2).
        let m = peaky_hd16(9);
        let prompts = grouped_prompts(40, 4, 9);
        let seeds: Vec<u64> = (100..140).collect();
        let params = SamplingParams {
            max_new_tokens: 20,
            stop_token_ids: vec![3, 17, 101, 150, 201],
            ..Default::default()
        };
        let a = fused_and_plain_agree(&m, &prompts, &params, &seeds, 1e-4);
        let stopped = a
            .iter()
            .filter(|c| matches!(c.finish_reason, FinishReason::StopToken(_)))
            .count();
        assert!(
            (5..35).contains(&stopped),
            "{stopped} of 40 rows stopped early: the test needs some of each"
        );
    }

    /// A bf16 KV cache: the fused engine and the libtorch layers (which round on their
    /// cache write the same way) sample the same tokens; against the fp32 cache the
    /// log-probs move by bf16 rounding only, and they do move (the option takes effect).
    #[test]
    fn bf16_kv_cache_samples_alike_on_both_paths_and_near_fp32() {
        let m = peaky_hd16(5);
        let prompts = grouped_prompts(36, 3, 7);
        let seeds: Vec<u64> = (7..43).collect();
        let bf16 = SamplingParams {
            max_new_tokens: 12,
            stop_token_ids: vec![3, 17, 101],
            kv_cache_dtype: KvCacheDtype::Bf16,
            ..Default::default()
        };
        // The paths' fp32 keys differ in their last bits, which can round to neighbouring
        // bf16 values: a few 1e-4 here, where fp32 caches agree to 1e-4.
        fused_and_plain_agree(&m, &prompts, &bf16, &seeds, 5e-3);
        let fused = Sampler::ids_only();
        // Greedy, so both caches follow the same tokens while they agree; a model with the
        // usual initialisation (logits of order 1, where this one's are tens).
        let m = Model::new_seeded(
            &Config::llama(267, 64, 64, 2, 4, 2),
            Device::Cpu,
            Kind::Float,
            5,
        )
        .unwrap();
        let greedy = |kv_cache_dtype| SamplingParams {
            kv_cache_dtype,
            ..SamplingParams::greedy(12)
        };
        let lo = fused
            .generate(&m, &prompts, &greedy(KvCacheDtype::Bf16), &seeds)
            .unwrap();
        let hi = fused
            .generate(&m, &prompts, &greedy(KvCacheDtype::Auto), &seeds)
            .unwrap();
        let mut most = 0f32;
        for (x, y) in lo.iter().zip(&hi) {
            let same = x
                .token_ids
                .iter()
                .zip(&y.token_ids)
                .take_while(|(a, b)| a == b);
            for (j, _) in same.enumerate() {
                most = most.max((x.logprobs[j] - y.logprobs[j]).abs());
            }
        }
        assert!(most > 0.0, "a bf16 cache should change some log-prob");
        assert!(most < 0.01, "bf16 rounding moved a log-prob by {most}");
    }

    #[test]
    fn bad_requests_are_errors() {
        let m = model(3);
        let s = Sampler::ids_only();
        let p = SamplingParams::default();
        assert!(s.generate(&m, &[vec![1]], &p, &[]).is_err());
        assert!(s.generate(&m, &[vec![]], &p, &[0]).is_err());
        assert!(s.generate(&m, &[vec![999]], &p, &[0]).is_err());
        let big = SamplingParams {
            max_new_tokens: 1 << 20,
            ..Default::default()
        };
        assert!(s.generate(&m, &[vec![1]], &big, &[0]).is_err());
        let bad = SamplingParams {
            top_p: 0.0,
            ..Default::default()
        };
        assert!(s.generate(&m, &[vec![1]], &bad, &[0]).is_err());
        let stops = SamplingParams {
            stop_strings: vec!["x".into()],
            ..Default::default()
        };
        assert!(s.generate(&m, &[vec![1]], &stops, &[0]).is_err());
    }

    /// The engine's host-side sampling picks the same tokens as the libtorch sampler, with
    /// log-probs within fp32 rounding, on every CPU path.
    #[test]
    fn host_sampling_matches_the_libtorch_sampler() {
        use crate::kernels::cpu::for_each_available;
        use crate::kernels::tolerance::U;
        use crate::policy::engine::sample_rows;
        tch::manual_seed(7);
        let (r, v) = (200usize, 300usize);
        let logits = Tensor::randn([r as i64, v as i64], (Kind::Float, Device::Cpu)) * 3.0;
        let host = Vec::<f32>::try_from(&logits.view([-1])).unwrap();
        let uniforms: Vec<f32> = (0..r).map(|i| (i as f32 * 0.618_034).fract()).collect();
        for t in [1.0f64, 0.7, 0.0] {
            let params = SamplingParams {
                temperature: t,
                ..Default::default()
            };
            let (tok, lp) = sample(&logits, &params, &uniforms).unwrap();
            let (want_t, want_lp) = (
                Vec::<i64>::try_from(&tok).unwrap(),
                Vec::<f32>::try_from(&lp).unwrap(),
            );
            for_each_available(|path| {
                let (mut got_t, mut got_lp) = (Vec::new(), Vec::new());
                sample_rows(path, &host, v, t as f32, &uniforms, &mut got_t, &mut got_lp);
                assert_eq!(got_t, want_t, "{path} temperature {t}");
                // (x - max) - lse with lse = ln(sum of v exps within 2 ulp each, summed in
                // another order): |error| <= (v + 4) u (|x - max| + |lse|).
                for (a, b) in got_lp.iter().zip(&want_lp) {
                    let tol = (v + 4) as f64 * U * (2.0 * b.abs() as f64 + 1.0);
                    let err = (a - b).abs() as f64;
                    assert!(err <= tol, "{path} temperature {t}: {a} vs {b}");
                }
            });
        }
    }
}
