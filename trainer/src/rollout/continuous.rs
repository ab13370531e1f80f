//! Continuous batching over the sampler's decode step (iteration-level scheduling, as in
//! Orca: Yu et al., OSDI 2022, and vLLM): sequences join a running batch between two
//! decode steps and leave it when they finish, so a short request never waits for a long
//! one to end.
//!
//! The batch keeps one KV cache whose slot counter (`cache.len`) all rows share, as the
//! sampler's does. A joining sequence's prompt goes through the prefill on its own (into a
//! small cache of its own: the fused engine's blocked prefill, or the libtorch layers),
//! and its keys and values are copied into a free row of the batch's cache, right-aligned
//! to end at the shared slot counter; from then on the row attends from its first slot
//! (`from`), exactly as a left-padded row of the sampler does. A finished row leaves a
//! hole that the next joining sequence takes; holes are compacted out once they are an
//! eighth of the batch. A sequence joins only when the cache has room for every live
//! row's remaining tokens and its own; where it has not, the live window is moved back to
//! the cache's first slot, and the cache grows (up to `max_slots`) only when that is not
//! enough. The first sequences of an empty batch are prefilled straight into a new cache,
//! as `Sampler::generate` does.
//!
//! Each sequence has its own sampling settings and ChaCha8 stream (seeded from its seed)
//! and draws one uniform per token as the sampler does, so its tokens equal
//! `Sampler::generate` of its prompt alone with the same seed: bit for bit when it runs
//! alone, and up to the float rounding of batched matmuls beside other rows.

use crate::kernels::cpu::CpuPath;
use crate::policy::engine::{sample_rows, DecodeEngine};
use crate::policy::model::{padded_causal_mask, AttnMask, KvCache, Model, SharedPrefix};
use crate::policy::tokenizer::Tokenizer;
use crate::rollout::sampler::{
    sample, unit, FinishReason, KvCacheDtype, SampleError, SamplingParams, TorchThreads,
};
use rand_chacha::ChaCha8Rng;
use rand_core::SeedableRng;
use std::collections::VecDeque;
use tch::{Device, Kind, Tensor};

/// A sequence asking to join the batch.
#[derive(Debug, Clone)]
pub struct NewSeq {
    /// The caller's name for the sequence, repeated in its events.
    pub key: u64,
    /// Encoded prompt (not empty).
    pub prompt: Vec<i64>,
    /// Its sampling settings (`kv_cache_dtype` is the batch's, not the sequence's).
    pub params: SamplingParams,
    /// Seeds the sequence's own random stream.
    pub seed: u64,
    /// How many of the most likely tokens to report with each token (0: none).
    pub top_logprobs: usize,
}

/// What a call to `admit` or `step` produced, one per sequence and token.
#[derive(Debug, Clone, PartialEq)]
pub enum SeqEvent {
    /// A new token of sequence `key`, its log-probability (under the sampled distribution,
    /// as `Completion::logprobs`) and the `top_logprobs` most likely tokens with theirs;
    /// `finish` is set on the sequence's last token.
    Token {
        key: u64,
        token: i64,
        logprob: f32,
        top: Vec<(i64, f32)>,
        finish: Option<FinishReason>,
    },
    /// The sequence cannot run, for the reason given; it never joined.
    Rejected { key: u64, reason: String },
}

/// A sequence in the batch.
struct Live {
    key: u64,
    params: SamplingParams,
    top_logprobs: usize,
    rng: ChaCha8Rng,
    prompt_len: i64,
    /// Sampled so far; the newest is fed at the next step.
    tokens: Vec<i64>,
    /// The row's first cache slot (its window starts there).
    from: i64,
}

impl Live {
    /// The position of the newest token, the one the next step feeds.
    fn pos(&self) -> i64 {
        self.prompt_len + self.tokens.len() as i64 - 1
    }

    /// Steps the row may still take, each writing one cache slot.
    fn remaining(&self) -> i64 {
        self.params.max_new_tokens as i64 - self.tokens.len() as i64
    }
}

/// A running batch that sequences join and leave between decode steps.
pub struct ContinuousBatch<'a> {
    model: &'a Model,
    tokenizer: Option<&'a Tokenizer>,
    /// The fused CPU decode engine where it applies; the libtorch layers otherwise.
    engine: Option<DecodeEngine>,
    /// libtorch on one thread while the engine (on threads of its own) runs.
    _torch_threads: Option<TorchThreads>,
    kv_kind: Kind,
    max_rows: usize,
    max_slots: i64,
    /// `None` while the batch is empty. Its keys and values are views of the first
    /// `rows.len()` rows of `alloc`, so rows join and leave without copying the cache.
    cache: Option<KvCache>,
    /// Per layer, keys then values: [allocated rows, capacity, kv heads, head dim].
    alloc: Vec<Tensor>,
    /// One entry per cache row; `None` is a finished row's hole.
    rows: Vec<Option<Live>>,
    stats: BatchStats,
}

/// What the batch has done to its cache so far (for logs and tests).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchStats {
    /// Sequences that joined a running batch (not an empty one).
    pub joined_running: usize,
    /// Of those, how many took a finished row's place.
    pub reused_rows: usize,
    /// Times the live window was moved or the cache grew.
    pub relayouts: usize,
    /// Times finished rows were compacted out.
    pub compactions: usize,
}

/// Cache capacities are rounded up to this many slots, so growth is not one slot at a time.
const SLOT_ROUNDING: i64 = 64;

impl<'a> ContinuousBatch<'a> {
    /// A batch of at most `max_rows` sequences whose cache holds at most `max_slots` slots
    /// (raised to the model's positions, so any one sequence fits). Without a tokenizer,
    /// sequences with stop strings are rejected.
    pub fn new(
        model: &'a Model,
        tokenizer: Option<&'a Tokenizer>,
        max_rows: usize,
        max_slots: usize,
        kv_cache_dtype: KvCacheDtype,
    ) -> ContinuousBatch<'a> {
        let max_rows = max_rows.max(1);
        let positions = usize::try_from(model.max_positions()).unwrap_or(0);
        let engine = DecodeEngine::new(model, max_rows, positions);
        ContinuousBatch {
            model,
            tokenizer,
            _torch_threads: engine.as_ref().map(|_| TorchThreads::set(1)),
            engine,
            kv_kind: kv_cache_dtype.kind(model),
            max_rows,
            max_slots: (max_slots as i64).max(model.max_positions()),
            cache: None,
            alloc: Vec::new(),
            rows: Vec::new(),
            stats: BatchStats::default(),
        }
    }

    pub fn stats(&self) -> BatchStats {
        self.stats
    }

    /// Sequences in the batch.
    pub fn live(&self) -> usize {
        self.rows.iter().flatten().count()
    }

    /// Whether the fused CPU engine runs the steps (else the libtorch layers).
    pub fn fused(&self) -> bool {
        self.engine.is_some()
    }

    /// Drops a sequence (its client went away); nothing more is emitted for it.
    pub fn cancel(&mut self, key: u64) {
        for slot in &mut self.rows {
            if slot.as_ref().is_some_and(|l| l.key == key) {
                *slot = None;
            }
        }
    }

    /// Why `seq` can never run here, if it cannot.
    fn check(&self, seq: &NewSeq) -> Result<(), String> {
        seq.params.validate().map_err(|e| e.to_string())?;
        let p = &seq.params;
        let vocab = self.model.cfg.vocab_size as i64;
        if p.max_new_tokens == 0 {
            return Err("max_new_tokens must be at least 1".into());
        }
        if seq.prompt.is_empty() {
            return Err("the prompt is empty".into());
        }
        if let Some(t) = seq.prompt.iter().find(|&&t| t < 0 || t >= vocab) {
            return Err(format!("token id {t} outside the vocabulary 0..{vocab}"));
        }
        let total = seq.prompt.len().saturating_add(p.max_new_tokens);
        if total as i64 > self.model.max_positions() {
            return Err(format!(
                "prompt ({}) + max_new_tokens ({}) exceeds the model's {} positions",
                seq.prompt.len(),
                p.max_new_tokens,
                self.model.max_positions()
            ));
        }
        if !p.stop_strings.is_empty() && self.tokenizer.is_none() {
            return Err("stop strings need a tokenizer".into());
        }
        Ok(())
    }

    /// Takes sequences from the front of `queue` while they fit (rows and cache slots), in
    /// order, prefills them and samples their first tokens into `out`. Sequences that can
    /// never run are answered with `Rejected`. Returns how many joined.
    pub fn admit(
        &mut self,
        queue: &mut VecDeque<NewSeq>,
        out: &mut Vec<SeqEvent>,
    ) -> Result<usize, SampleError> {
        let _guard = tch::no_grad_guard();
        let live: Vec<&Live> = self.rows.iter().flatten().collect();
        let n_live = live.len();
        let len = self.cache.as_ref().map_or(0, |c| c.len);
        let window = live.iter().map(|l| len - l.from).max().unwrap_or(0);
        let remaining = live.iter().map(|l| l.remaining()).max().unwrap_or(0);
        let mut take: Vec<NewSeq> = Vec::new();
        let (mut p_max, mut tail) = (0i64, remaining);
        while let Some(seq) = queue.front() {
            if let Err(reason) = self.check(seq) {
                let key = seq.key;
                queue.pop_front();
                out.push(SeqEvent::Rejected { key, reason });
                continue;
            }
            if n_live + take.len() >= self.max_rows {
                break;
            }
            let p = p_max.max(seq.prompt.len() as i64);
            let t = tail.max(seq.params.max_new_tokens as i64 - 1);
            // The slots needed once the live window is moved to start at slot 0.
            if window.max(p) + t > self.max_slots {
                break;
            }
            (p_max, tail) = (p, t);
            match queue.pop_front() {
                Some(seq) => take.push(seq),
                None => break,
            }
        }
        if take.is_empty() {
            return Ok(0);
        }
        let joined = take.len();
        if n_live == 0 {
            self.start(take, p_max, tail, out)?;
        } else {
            self.join(take, p_max, tail, out)?;
        }
        Ok(joined)
    }

    /// An empty batch: `take` prefilled straight into a new cache (the sampler's layout:
    /// left-padded prompts ending at slot `p_max`).
    fn start(
        &mut self,
        take: Vec<NewSeq>,
        p_max: i64,
        tail: i64,
        out: &mut Vec<SeqEvent>,
    ) -> Result<(), SampleError> {
        self.rows.clear();
        self.cache = None;
        let capacity = round_slots(p_max + tail).min(self.max_slots);
        let Prefilled { cache, pads, host } = self.prefill(&take, p_max, capacity)?;
        self.alloc = cache
            .k
            .iter()
            .chain(&cache.v)
            .map(Tensor::shallow_clone)
            .collect();
        self.cache = Some(cache);
        self.rows = take
            .iter()
            .zip(&pads)
            .map(|(seq, &pad)| Some(live_of(seq, pad)))
            .collect();
        let rows: Vec<usize> = (0..take.len()).collect();
        self.sample_new(&rows, host.as_deref(), out)
    }

    /// A running batch: room made in the cache, `take` prefilled on its own, copied into
    /// free rows so each prompt ends at the shared slot counter.
    fn join(
        &mut self,
        take: Vec<NewSeq>,
        p_max: i64,
        tail: i64,
        out: &mut Vec<SeqEvent>,
    ) -> Result<(), SampleError> {
        self.make_room(p_max, tail);
        // Free rows first, then new ones.
        let mut dest: Vec<usize> = (0..self.rows.len())
            .filter(|&r| self.rows.get(r).is_some_and(Option::is_none))
            .take(take.len())
            .collect();
        self.stats.joined_running += take.len();
        self.stats.reused_rows += dest.len();
        if dest.len() < take.len() {
            let more = take.len() - dest.len();
            let first = self.rows.len();
            self.add_rows(more);
            dest.extend(first..first + more);
        }
        let Prefilled {
            cache: fresh,
            pads,
            host,
        } = self.prefill(&take, p_max, p_max)?;
        let cache = self
            .cache
            .as_mut()
            .ok_or_else(|| SampleError::Invalid("no cache to join".into()))?;
        let len = cache.len;
        // Rows change hands: no row shares a prompt copy any more.
        cache.shared = None;
        let layers = cache
            .k
            .iter_mut()
            .zip(fresh.k.iter())
            .chain(cache.v.iter_mut().zip(fresh.v.iter()));
        for (main, new) in layers {
            for ((i, &d), &pad) in dest.iter().enumerate().zip(&pads) {
                let p = p_max - pad;
                let mut to = main.get(d as i64).narrow(0, len - p, p);
                to.copy_(&new.get(i as i64).narrow(0, pad, p));
            }
        }
        for ((seq, &d), &pad) in take.iter().zip(&dest).zip(&pads) {
            if let Some(slot) = self.rows.get_mut(d) {
                *slot = Some(live_of(seq, len - (p_max - pad)));
            }
        }
        self.sample_new(&dest, host.as_deref(), out)
    }

    /// Moves or grows the cache so that prompts of up to `p_max` tokens can end at the slot
    /// counter and every row has `tail` slots after it.
    fn make_room(&mut self, p_max: i64, tail: i64) {
        let Some(cache) = self.cache.as_ref() else {
            return;
        };
        let (len, capacity) = (cache.len, cache.capacity);
        if len >= p_max && len + tail <= capacity {
            return;
        }
        let window = self
            .rows
            .iter()
            .flatten()
            .map(|l| len - l.from)
            .max()
            .unwrap_or(0);
        let new_len = window.max(p_max);
        let new_capacity = if new_len + tail <= capacity {
            capacity
        } else {
            round_slots(new_len + tail).min(self.max_slots)
        };
        self.relayout(new_len, new_capacity);
    }

    /// Copies the live window (each live row's slots `from..len`) so that it ends at slot
    /// `new_len` of a cache of `capacity` slots.
    fn relayout(&mut self, new_len: i64, capacity: i64) {
        let Some(cache) = self.cache.as_mut() else {
            return;
        };
        let len = cache.len;
        let first = self
            .rows
            .iter()
            .flatten()
            .map(|l| l.from)
            .min()
            .unwrap_or(len);
        let (width, rows) = (len - first, self.rows.len() as i64);
        self.stats.relayouts += 1;
        for t in &mut self.alloc {
            let mut shape = t.size();
            if let Some(s) = shape.get_mut(1) {
                *s = capacity;
            }
            let moved = Tensor::empty(shape.as_slice(), (t.kind(), t.device()));
            if width > 0 {
                let mut to = moved.narrow(0, 0, rows).narrow(1, new_len - width, width);
                to.copy_(&t.narrow(0, 0, rows).narrow(1, first, width));
            }
            *t = moved;
        }
        let delta = new_len - len;
        if delta != 0 {
            cache.shared = None;
        }
        cache.len = new_len;
        cache.capacity = capacity;
        for l in self.rows.iter_mut().flatten() {
            l.from += delta;
        }
        self.view();
    }

    /// Appends `n` free rows to the cache: views of allocated rows where there are enough,
    /// else a new allocation (twice the rows, up to `max_rows`) that the rows are copied to.
    fn add_rows(&mut self, n: usize) {
        let (rows, want) = (self.rows.len(), self.rows.len() + n);
        let allocated = self.alloc.first().and_then(|t| t.size().first().copied());
        if allocated.is_some_and(|a| (a as usize) < want) {
            let grown = want.max(2 * rows).min(self.max_rows.max(want)) as i64;
            for t in &mut self.alloc {
                let mut shape = t.size();
                if let Some(s) = shape.first_mut() {
                    *s = grown;
                }
                let more = Tensor::empty(shape.as_slice(), (t.kind(), t.device()));
                more.narrow(0, 0, rows as i64)
                    .copy_(&t.narrow(0, 0, rows as i64));
                *t = more;
            }
        }
        if let Some(cache) = self.cache.as_mut() {
            cache.shared = None;
        }
        self.rows.extend((0..n).map(|_| None));
        self.view();
    }

    /// Points the cache at the first `rows.len()` rows of the allocation (views of a
    /// contiguous tensor's leading rows are contiguous, as the engine needs).
    fn view(&mut self) {
        let Some(cache) = self.cache.as_mut() else {
            return;
        };
        let rows = self.rows.len() as i64;
        let layers = self.alloc.len() / 2;
        let views: Vec<Tensor> = self.alloc.iter().map(|t| t.narrow(0, 0, rows)).collect();
        let mut views = views.into_iter();
        cache.k = views.by_ref().take(layers).collect();
        cache.v = views.collect();
    }

    /// Prefills `take`'s prompts, left-padded to `p_max`, into a new cache of `capacity`
    /// slots.
    fn prefill(
        &mut self,
        take: &[NewSeq],
        p_max: i64,
        capacity: i64,
    ) -> Result<Prefilled, SampleError> {
        let model = self.model;
        let (b, p) = (take.len(), p_max as usize);
        let mut ids = vec![0i64; b * p];
        let mut attn = vec![0i64; b * p];
        let mut pads = Vec::with_capacity(b);
        for (i, seq) in take.iter().enumerate() {
            let pad = p.saturating_sub(seq.prompt.len());
            let at = i * p + pad;
            if let Some(dst) = ids.get_mut(at..at + seq.prompt.len()) {
                dst.copy_from_slice(&seq.prompt);
            }
            if let Some(dst) = attn.get_mut(at..at + seq.prompt.len()) {
                dst.fill(1);
            }
            pads.push(pad as i64);
        }
        let mut cache = KvCache::with_kind(model, b as i64, capacity, self.kv_kind);
        let host = match self.engine.as_mut() {
            Some(e) => {
                e.prefill_shared(model, &ids, &pads, &mut cache)?;
                None
            }
            None => {
                let device = model.device();
                let ids = Tensor::from_slice(&ids)
                    .view([b as i64, p_max])
                    .to_device(device);
                let attn = Tensor::from_slice(&attn)
                    .view([b as i64, p_max])
                    .to_device(device);
                let (positions, mask) = padded_causal_mask(&attn, model.kind());
                let hidden = model.forward_hidden(&ids, &positions, &mask, Some(&mut cache));
                Some(host_floats(&model.logits(&hidden.select(1, p_max - 1)))?)
            }
        };
        Ok(Prefilled { cache, pads, host })
    }

    /// Samples the first token of the new rows `rows` (row i's logits are row i of the
    /// prefill's), emitting each.
    fn sample_new(
        &mut self,
        rows: &[usize],
        host: Option<&[f32]>,
        out: &mut Vec<SeqEvent>,
    ) -> Result<(), SampleError> {
        let vocab = self.model.cfg.vocab_size;
        let logits = match (host, self.engine.as_ref()) {
            (Some(h), _) => h,
            (None, Some(e)) => e.logits(rows.len()),
            (None, None) => return Err(SampleError::Invalid("no logits".into())),
        };
        let path = self.engine.as_ref().map(DecodeEngine::path);
        for (i, &r) in rows.iter().enumerate() {
            let Some(slot) = self.rows.get_mut(r) else {
                continue;
            };
            let row = logits.get(i * vocab..(i + 1) * vocab).unwrap_or(&[]);
            if advance(slot, row, vocab, path, self.tokenizer, out)? {
                *slot = None;
            }
        }
        if self.live() == 0 {
            self.clear();
        }
        Ok(())
    }

    /// One decode step of every live row: feeds its newest token, samples the next into
    /// `out`, drops finished rows.
    pub fn step(&mut self, out: &mut Vec<SeqEvent>) -> Result<(), SampleError> {
        if self.live() == 0 {
            self.clear();
            return Ok(());
        }
        let _guard = tch::no_grad_guard();
        let model = self.model;
        let cache = self
            .cache
            .as_mut()
            .ok_or_else(|| SampleError::Invalid("a live batch without a cache".into()))?;
        let n = self.rows.len();
        let (mut ids, mut pos, mut from) = (
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
        );
        for slot in &self.rows {
            match slot {
                Some(l) => {
                    ids.push(l.tokens.last().copied().unwrap_or(0));
                    pos.push(l.pos());
                    from.push(l.from);
                }
                // A hole attends only to its own slot; its logits are not read.
                None => {
                    ids.push(0);
                    pos.push(0);
                    from.push(cache.len);
                }
            }
        }
        let host = match self.engine.as_mut() {
            Some(e) => {
                e.step(&ids, &pos, &from, cache)?;
                None
            }
            None => Some(layers_step(model, &ids, &pos, &from, cache)?),
        };
        let vocab = model.cfg.vocab_size;
        let logits = match (host.as_deref(), self.engine.as_ref()) {
            (Some(h), _) => h,
            (None, Some(e)) => e.logits(n),
            (None, None) => return Err(SampleError::Invalid("no logits".into())),
        };
        let path = self.engine.as_ref().map(DecodeEngine::path);
        for (r, slot) in self.rows.iter_mut().enumerate() {
            let row = logits.get(r * vocab..(r + 1) * vocab).unwrap_or(&[]);
            if slot.is_some() && advance(slot, row, vocab, path, self.tokenizer, out)? {
                *slot = None;
            }
        }
        self.compact();
        Ok(())
    }

    /// Drops the holes once they are an eighth of the rows (a hole costs a row of every
    /// step): live rows move down into them, in place. An empty batch lets its cache go.
    fn compact(&mut self) {
        let holes = self.rows.iter().filter(|s| s.is_none()).count();
        if holes == self.rows.len() {
            self.clear();
            return;
        }
        if holes == 0 || holes * 8 < self.rows.len() {
            return;
        }
        let keep: Vec<usize> = (0..self.rows.len())
            .filter(|&r| self.rows.get(r).is_some_and(Option::is_some))
            .collect();
        // keep is increasing, so row r moves to a row i < r that no kept row still needs.
        for (i, &r) in keep.iter().enumerate().filter(|(i, r)| i != *r) {
            for t in &self.alloc {
                t.get(i as i64).copy_(&t.get(r as i64));
            }
        }
        if let Some(cache) = self.cache.as_mut() {
            cache.shared = cache.shared.take().and_then(|s| {
                let groups: Option<Vec<i64>> =
                    keep.iter().map(|&r| s.groups.get(r).copied()).collect();
                groups.map(|groups| SharedPrefix { groups, ..s })
            });
        }
        self.rows.retain(Option::is_some);
        self.view();
        self.stats.compactions += 1;
    }

    fn clear(&mut self) {
        self.rows.clear();
        self.cache = None;
        self.alloc.clear();
    }
}

/// Prompts through the prefill: their cache, each row's left padding, and the last
/// position's logits on the host when the libtorch layers made them (the engine keeps
/// its own).
struct Prefilled {
    cache: KvCache,
    pads: Vec<i64>,
    host: Option<Vec<f32>>,
}

fn round_slots(n: i64) -> i64 {
    (n.max(1) + SLOT_ROUNDING - 1) / SLOT_ROUNDING * SLOT_ROUNDING
}

fn live_of(seq: &NewSeq, from: i64) -> Live {
    Live {
        key: seq.key,
        params: seq.params.clone(),
        top_logprobs: seq.top_logprobs,
        rng: ChaCha8Rng::seed_from_u64(seq.seed),
        prompt_len: seq.prompt.len() as i64,
        tokens: Vec::with_capacity(seq.params.max_new_tokens),
        from,
    }
}

/// Samples the next token of the row in `slot` from its logits and emits it; returns
/// whether the row finished. `path`: the engine's kernels, whose host sampling the
/// sampler uses for unfiltered and greedy sampling (`None`: libtorch's `sample`).
fn advance(
    slot: &mut Option<Live>,
    logits: &[f32],
    vocab: usize,
    path: Option<CpuPath>,
    tokenizer: Option<&Tokenizer>,
    out: &mut Vec<SeqEvent>,
) -> Result<bool, SampleError> {
    let Some(live) = slot.as_mut() else {
        return Ok(false);
    };
    if logits.len() != vocab || vocab == 0 {
        return Err(SampleError::Invalid(format!(
            "{} logits for a vocabulary of {vocab}",
            logits.len()
        )));
    }
    let p = &live.params;
    // As the sampler: one uniform per token, drawn only when sampling.
    let u = if p.is_greedy() {
        0.5
    } else {
        unit(&mut live.rng)
    };
    let unfiltered = p.top_k == 0 && p.top_p >= 1.0 && p.min_p == 0.0;
    let (token, logprob) = match path {
        Some(path) if unfiltered => {
            let t = if p.is_greedy() {
                0.0
            } else {
                p.temperature as f32
            };
            let (mut tok, mut lp) = (Vec::with_capacity(1), Vec::with_capacity(1));
            sample_rows(path, logits, vocab, t, &[u], &mut tok, &mut lp);
            (
                tok.first().copied().unwrap_or(0),
                lp.first().copied().unwrap_or(0.0),
            )
        }
        _ => {
            let l = Tensor::from_slice(logits).view([1, vocab as i64]);
            let (tok, lp) = sample(&l, p, &[u])?;
            (tok.int64_value(&[0]), lp.double_value(&[0]) as f32)
        }
    };
    let top = top_logprobs(logits, p, live.top_logprobs);
    live.tokens.push(token);
    let finish = if p.stop_token_ids.contains(&token) {
        Some(FinishReason::StopToken(token))
    } else if let Some(s) = stop_string_hit(tokenizer, &live.tokens, &p.stop_strings)? {
        Some(FinishReason::StopString(s))
    } else if live.tokens.len() >= p.max_new_tokens {
        Some(FinishReason::Length)
    } else {
        None
    };
    let done = finish.is_some();
    out.push(SeqEvent::Token {
        key: live.key,
        token,
        logprob,
        top,
        finish,
    });
    Ok(done)
}

/// The `n` most likely tokens under softmax(logits / temperature) (temperature 1 when
/// greedy: the distribution `Completion::logprobs` are of), most likely first.
fn top_logprobs(logits: &[f32], params: &SamplingParams, n: usize) -> Vec<(i64, f32)> {
    if n == 0 || logits.is_empty() {
        return Vec::new();
    }
    let t = if params.is_greedy() {
        1.0
    } else {
        params.temperature
    };
    let scaled: Vec<f64> = logits.iter().map(|&x| x as f64 / t).collect();
    let max = scaled.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let lse = scaled.iter().map(|x| (x - max).exp()).sum::<f64>().ln();
    let mut order: Vec<usize> = (0..scaled.len()).collect();
    let by_value = |a: &usize, b: &usize| {
        let (x, y) = (scaled.get(*a), scaled.get(*b));
        y.partial_cmp(&x).unwrap_or(std::cmp::Ordering::Equal)
    };
    let n = n.min(order.len());
    if n < order.len() {
        order.select_nth_unstable_by(n - 1, by_value);
        order.truncate(n);
    }
    order.sort_by(by_value);
    order
        .into_iter()
        .map(|i| {
            let x = scaled.get(i).copied().unwrap_or(f64::NEG_INFINITY);
            (i as i64, (x - max - lse) as f32)
        })
        .collect()
}

/// The stop string that the newest token completed, if any: as the sampler, on the
/// decoded tail of the completion (the longest stop string plus a few tokens).
fn stop_string_hit(
    tokenizer: Option<&Tokenizer>,
    tokens: &[i64],
    stops: &[String],
) -> Result<Option<String>, SampleError> {
    let (Some(tok), false) = (tokenizer, stops.is_empty()) else {
        return Ok(None);
    };
    let window = stops.iter().map(String::len).max().unwrap_or(0) + 8;
    let tail = tok.decode(
        tokens
            .get(tokens.len().saturating_sub(window)..)
            .unwrap_or(&[]),
        false,
    )?;
    Ok(stops.iter().find(|s| tail.contains(s.as_str())).cloned())
}

/// One decode step through the libtorch layers: row r's token at `pos[r]` goes into slot
/// `cache.len` and attends slots `from[r]..=cache.len`. Returns the logits [R, V] on the
/// host.
fn layers_step(
    model: &Model,
    ids: &[i64],
    pos: &[i64],
    from: &[i64],
    cache: &mut KvCache,
) -> Result<Vec<f32>, SampleError> {
    let device = model.device();
    let n = ids.len() as i64;
    let start = from.iter().copied().min().unwrap_or(0);
    cache.start = start;
    let next_ids = Tensor::from_slice(ids).to_device(device).view([n, 1]);
    let next_pos = Tensor::from_slice(pos).to_device(device).view([n, 1]);
    let mask = if from.iter().all(|&f| f == start) {
        AttnMask::All
    } else {
        let width = cache.len + 1 - start;
        let slots =
            Tensor::arange_start(start, cache.len + 1, (Kind::Int64, device)).view([1, width]);
        let from_t = Tensor::from_slice(from).to_device(device).view([n, 1]);
        let mask = Tensor::zeros([n, width], (model.kind(), device))
            .masked_fill(&slots.lt_tensor(&from_t), f64::NEG_INFINITY)
            .view([n, 1, 1, width]);
        AttnMask::RowsFrom {
            from: from.to_vec(),
            mask,
        }
    };
    let hidden = model.forward_hidden(&next_ids, &next_pos, &mask, Some(cache));
    host_floats(&model.logits(&hidden.select(1, 0)))
}

/// A tensor's values as f32 on the host, row-major.
fn host_floats(t: &Tensor) -> Result<Vec<f32>, SampleError> {
    let t = t.to_kind(Kind::Float).to_device(Device::Cpu).contiguous();
    Ok(Vec::<f32>::try_from(&t.view([-1]))?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::model::Config;
    use crate::rollout::sampler::Sampler;

    /// A peaky GQA Llama (logits of tens: greedy is not tie-prone).
    fn model(seed: i64) -> Model {
        let mut cfg = Config::llama(267, 32, 64, 2, 4, 2);
        cfg.initializer_range = 0.5;
        cfg.max_position_embeddings = 96;
        Model::new_seeded(&cfg, Device::Cpu, Kind::Float, seed).unwrap()
    }

    fn prompt(i: u64) -> Vec<i64> {
        (0..1 + i % 7)
            .map(|j| ((i * 31 + j * 7) % 267) as i64)
            .collect()
    }

    fn seq(key: u64, params: &SamplingParams) -> NewSeq {
        NewSeq {
            key,
            prompt: prompt(key),
            params: params.clone(),
            seed: 1000 + key,
            top_logprobs: 0,
        }
    }

    /// A sequence's tokens, log-probabilities and finish reason.
    type Generated = (Vec<i64>, Vec<f32>, Option<FinishReason>);

    /// Runs `arrivals` (step at which each sequence is queued) through one batch and
    /// returns each sequence's tokens, logprobs and finish reason, by key.
    fn run(
        m: &Model,
        tok: Option<&Tokenizer>,
        seqs: &[NewSeq],
        arrivals: &[usize],
        max_rows: usize,
        max_slots: usize,
    ) -> (Vec<Generated>, BatchStats) {
        let mut batch = ContinuousBatch::new(m, tok, max_rows, max_slots, KvCacheDtype::Auto);
        let mut out = vec![(Vec::new(), Vec::new(), None); seqs.len()];
        let mut queue = VecDeque::new();
        let mut events = Vec::new();
        let mut step = 0;
        while out.iter().any(|o| o.2.is_none()) {
            for (s, &at) in seqs.iter().zip(arrivals) {
                if at == step {
                    queue.push_back(s.clone());
                }
            }
            batch.admit(&mut queue, &mut events).unwrap();
            batch.step(&mut events).unwrap();
            for e in events.drain(..) {
                match e {
                    SeqEvent::Token {
                        key,
                        token,
                        logprob,
                        finish,
                        ..
                    } => {
                        let o = &mut out[key as usize];
                        assert!(o.2.is_none(), "a token after the finish of {key}");
                        o.0.push(token);
                        o.1.push(logprob);
                        o.2 = finish;
                    }
                    SeqEvent::Rejected { key, reason } => panic!("{key} rejected: {reason}"),
                }
            }
            step += 1;
            assert!(step < 10_000, "the batch did not drain");
        }
        assert_eq!(batch.live(), 0);
        (out, batch.stats())
    }

    /// Sequences that join a running batch at different steps, with different lengths,
    /// settings and stop tokens, sample what each samples alone through the sampler.
    #[test]
    fn joining_sequences_sample_what_they_sample_alone() {
        let m = model(3);
        let tok = Tokenizer::builtin();
        let mut seqs = Vec::new();
        for key in 0..40u64 {
            let mut params = SamplingParams {
                max_new_tokens: 4 + (key as usize * 5) % 29,
                temperature: [1.0, 0.0, 0.7][key as usize % 3],
                stop_token_ids: vec![3, 17],
                ..Default::default()
            };
            if key % 4 == 1 {
                params.top_p = 0.9;
            }
            seqs.push(seq(key, &params));
        }
        // Some arrive together, most while others run; the rows run out (at most 12), and
        // the cache (capped at the model's 96 positions) must move its window back.
        let arrivals: Vec<usize> = (0..40).map(|k| k - k % 3 + [0, 0, 2][k % 3]).collect();
        let (got, stats) = run(&m, Some(&tok), &seqs, &arrivals, 12, 0);
        // The paths this test is for were taken.
        assert!(stats.joined_running > 20, "{stats:?}");
        assert!(stats.reused_rows > 0, "{stats:?}");
        assert!(stats.relayouts > 0, "{stats:?}");
        assert!(stats.compactions > 0, "{stats:?}");
        let sampler = Sampler::new(&tok);
        for (s, (tokens, logprobs, finish)) in seqs.iter().zip(&got) {
            let alone = sampler
                .generate(&m, std::slice::from_ref(&s.prompt), &s.params, &[s.seed])
                .unwrap();
            assert_eq!(tokens, &alone[0].token_ids, "sequence {}", s.key);
            assert_eq!(finish.as_ref(), Some(&alone[0].finish_reason));
            for (a, b) in logprobs.iter().zip(&alone[0].logprobs) {
                assert!((a - b).abs() < 1e-4, "sequence {}: {a} vs {b}", s.key);
            }
        }
    }

    /// Alone in the batch, a sequence takes the sampler's path: the same tokens and
    /// log-probabilities bit for bit.
    #[test]
    fn a_sequence_alone_is_the_sampler_bit_for_bit() {
        let m = model(4);
        for params in [SamplingParams::greedy(20), SamplingParams::default()] {
            let params = SamplingParams {
                max_new_tokens: 20,
                ..params
            };
            let s = NewSeq {
                prompt: prompt(5),
                ..seq(0, &params)
            };
            let (got, _) = run(&m, None, std::slice::from_ref(&s), &[0], 4, 0);
            let alone = Sampler::ids_only()
                .generate(&m, std::slice::from_ref(&s.prompt), &params, &[s.seed])
                .unwrap();
            assert_eq!(got[0].0, alone[0].token_ids);
            assert_eq!(got[0].1, alone[0].logprobs);
        }
    }

    /// The libtorch layers (no fused engine) batch continuously too.
    #[test]
    fn the_libtorch_layers_batch_continuously() {
        let m = model(6);
        let params = SamplingParams {
            max_new_tokens: 12,
            stop_token_ids: vec![3, 17],
            ..Default::default()
        };
        let seqs: Vec<NewSeq> = (0..8).map(|k| seq(k, &params)).collect();
        let arrivals = [0, 0, 2, 3, 3, 7, 8, 15];
        let mut batch = ContinuousBatch::new(&m, None, 8, 0, KvCacheDtype::Auto);
        batch.engine = None;
        batch._torch_threads = None;
        let (mut queue, mut events) = (VecDeque::new(), Vec::new());
        let mut got = vec![Vec::new(); seqs.len()];
        for step in 0..200 {
            for (s, &at) in seqs.iter().zip(&arrivals) {
                if at == step {
                    queue.push_back(s.clone());
                }
            }
            batch.admit(&mut queue, &mut events).unwrap();
            batch.step(&mut events).unwrap();
            for e in events.drain(..) {
                if let SeqEvent::Token { key, token, .. } = e {
                    got[key as usize].push(token);
                }
            }
        }
        for (s, tokens) in seqs.iter().zip(&got) {
            let alone = Sampler::ids_only()
                .generate(&m, std::slice::from_ref(&s.prompt), &params, &[s.seed])
                .unwrap();
            assert_eq!(tokens, &alone[0].token_ids, "sequence {}", s.key);
        }
    }

    #[test]
    fn top_logprobs_are_the_most_likely_tokens() {
        let logits = [0.0f32, 2.0, 1.0, 3.0];
        let p = SamplingParams::greedy(1);
        let top = top_logprobs(&logits, &p, 2);
        assert_eq!(top.iter().map(|t| t.0).collect::<Vec<_>>(), vec![3, 1]);
        let lse = logits.iter().map(|&x| (x as f64).exp()).sum::<f64>().ln();
        assert!((top[0].1 as f64 - (3.0 - lse)).abs() < 1e-6);
        assert_eq!(top_logprobs(&logits, &p, 9).len(), 4);
        assert!(top_logprobs(&logits, &p, 0).is_empty());
    }

    #[test]
    fn sequences_that_cannot_run_are_rejected() {
        let m = model(7);
        let mut batch = ContinuousBatch::new(&m, None, 4, 0, KvCacheDtype::Auto);
        let ok = SamplingParams::greedy(4);
        let mut queue: VecDeque<NewSeq> = VecDeque::new();
        let mut bad = |f: &dyn Fn(&mut NewSeq)| {
            let mut s = seq(queue.len() as u64, &ok);
            f(&mut s);
            queue.push_back(s);
        };
        bad(&|s| s.prompt.clear());
        bad(&|s| s.prompt.push(999));
        bad(&|s| s.params.max_new_tokens = 0);
        bad(&|s| s.params.max_new_tokens = 96);
        bad(&|s| s.params.top_p = 0.0);
        bad(&|s| s.params.stop_strings = vec!["x".into()]);
        let mut events = Vec::new();
        assert_eq!(batch.admit(&mut queue, &mut events).unwrap(), 0);
        assert_eq!(events.len(), 6);
        assert!(events
            .iter()
            .all(|e| matches!(e, SeqEvent::Rejected { .. })));
        assert_eq!(batch.live(), 0);
    }
}
