//! The fused fp32 decode engine on CPU for the sampler and the reference pass: one new
//! token per row through every layer in one call, with the weights packed once per
//! `generate` call for the register-tile GEMM of gemm.rs (the BLIS / llama.cpp layout), on
//! the code path the process chose (AVX-512, AVX2 + FMA or portable; `cpu::CpuPath`).
//!
//! Why: a decode step of a small model is 17 small GEMMs (M = batch rows) and ~60 other ops.
//! Through libtorch, MKL repacks every weight matrix on every call and runs its generic
//! kernel on AMD CPUs, and each op pays dispatch and an OpenMP fork/join. Here RMSNorm, the
//! projections, RoPE, the KV-cache write, attention (attention.rs), SiLU * up (fused into
//! the gate/up tile) and the residual adds (fused into the o/down tiles) run per row. The
//! prompt goes through in blocks of (row, position) pairs, one pass per block, so a weight
//! panel serves ~1,000 rows at a time, and rows that share a prompt (a GRPO group) share
//! its pass. They share its reads too: each step's attention takes the prompt's slots from
//! one row of the group, the group's rows on one core in a row, so a prompt streams from
//! memory about once per step rather than once per completion (cascade / shared-prefix
//! attention; `attention_units`). The same passes score given completions
//! (`DecodeEngine::logprobs`: the GRPO learner's reference log-probs) with the LM head on
//! every pair. In a prefill pass the last layer stops after the keys and values for the
//! pairs whose logits nobody reads.
//!
//! Threads (`tch::get_num_threads()`, a rayon pool of the engine's own), per step:
//! - from 16 rows per thread, and at 8 rows or fewer, every thread works on every phase:
//!   the projections split by weight panels (the step streams each weight once, not once
//!   per thread), the row-wise work by rows, with a spinning barrier between phases (7 per
//!   layer) that yields after a while, so a descheduled thread (on a shared machine) does
//!   not keep the other burning its core;
//! - in between, each thread takes its own rows start to end, with no barrier inside the
//!   step (small phases made the barriers' waits cost more than the second weight stream).
//!
//! At batch 64 x 160 slots the KV cache (84 MB) and the weights (15 MB) outgrow a small L3,
//! and attention streams the cache from memory at every step: the ceiling of this design in
//! fp32. A bf16 cache (`KvCacheDtype::Bf16`, opt-in) halves those bytes.
//!
//! The formulas and their operation order are model.rs's (fp32 arithmetic throughout; keys
//! and values stored in the cache's dtype); only the summation order inside dot products
//! differs, and tests compare every path with the libtorch layers.

use super::model::{KvCache, Model, ModelError, SharedPrefix};
use crate::kernels::attention::{self, Bf16, KvElem, SendPtr, Shape, Window};
use crate::kernels::cpu::CpuPath;
use crate::kernels::gemm::{gemm, Packed};
use crate::kernels::vector::{exp_shifted, rope, sum_squares};
use tch::{Device, Kind, Tensor};

/// Models above this many parameters keep the libtorch path: packing copies every weight,
/// and their matrix work dwarfs the per-op overhead this path removes.
pub const MAX_PARAMS: usize = 64 << 20;

/// At most this many rows in a step, every thread works on every phase (too few rows for
/// a row group per thread).
const FEW_ROWS: usize = 8;

struct Layer {
    input_norm: Vec<f32>,
    qkv: Packed,
    qkv_bias: Option<Vec<f32>>,
    o: Packed,
    o_bias: Option<Vec<f32>>,
    post_norm: Vec<f32>,
    gate_up: Packed,
    down: Packed,
}

/// The packed weights of one model plus per-row scratch for up to `rows` rows.
pub(crate) struct DecodeEngine {
    /// The kernels' code path (never `Libtorch`).
    path: CpuPath,
    layers: Vec<Layer>,
    embed: Vec<f32>,
    norm: Vec<f32>,
    lm_head: Packed,
    /// RoPE tables for positions 0..positions, [positions, hd] each.
    cos: Vec<f32>,
    sin: Vec<f32>,
    positions: usize,
    eps: f32,
    h: usize,
    heads: usize,
    kv_heads: usize,
    hd: usize,
    inter: usize,
    vocab: usize,
    /// Per row, one block of `stride()` floats: x | xn | qkv | attention out | act.
    scratch: Vec<f32>,
    logits: Vec<f32>,
    rows: usize,
    /// Threads for row groups (`tch::get_num_threads()`); `None` runs on the caller.
    pool: Option<rayon::ThreadPool>,
    /// Per layer, cache rows claimed in a step's attention phase (reset each step).
    claims: Vec<std::sync::atomic::AtomicUsize>,
}

fn host(t: &Tensor) -> Option<Vec<f32>> {
    let t = t.detach().to_device(Device::Cpu).to_kind(Kind::Float);
    Vec::<f32>::try_from(&t.contiguous().view([-1])).ok()
}

impl DecodeEngine {
    /// Packs `model` for decoding up to `rows` rows at positions below `positions` on the
    /// process's code path (`CpuPath::active`); `None` where this engine does not apply (the
    /// libtorch path, not CPU fp32, a large model, a head size not a multiple of 8), and the
    /// caller keeps the libtorch layers.
    pub(crate) fn new(model: &Model, rows: usize, positions: usize) -> Option<DecodeEngine> {
        let threads = tch::get_num_threads().max(1) as usize;
        DecodeEngine::with_path(model, rows, positions, threads, CpuPath::active())
    }

    /// `new` on `threads` threads and a given code path (`None` for one this CPU lacks).
    pub(crate) fn with_path(
        model: &Model,
        rows: usize,
        positions: usize,
        threads: usize,
        path: CpuPath,
    ) -> Option<DecodeEngine> {
        let cfg = &model.cfg;
        let hd = cfg.head_dim();
        if model.device() != Device::Cpu
            || model.kind() != Kind::Float
            || !path.fused()
            || !path.available()
            || cfg.num_params() > MAX_PARAMS
            || !hd.is_multiple_of(8)
            || hd > 512
            || rows == 0
            || positions == 0
            || positions as i64 > model.max_positions()
        {
            return None;
        }
        let (h, nh, nkv, inter, vocab) = (
            cfg.hidden_size,
            cfg.num_attention_heads,
            cfg.num_kv_heads(),
            cfg.intermediate_size,
            cfg.vocab_size,
        );
        let qkv_w = (nh + 2 * nkv) * hd;
        let mut layers = Vec::with_capacity(model.layers.len());
        for (i, l) in model.layers.iter().enumerate() {
            let a = &l.attn;
            // With LoRA adapters on, the engine runs the merged weights.
            let [qkv, o, gate_up, down] = model.layer_weights(i)?;
            layers.push(Layer {
                input_norm: host(&l.input_norm.weight)?,
                qkv: Packed::new(&host(&qkv)?, qkv_w, h),
                qkv_bias: match &a.qkv_bias {
                    Some(b) => Some(host(b)?),
                    None => None,
                },
                o: Packed::new(&host(&o)?, h, nh * hd),
                o_bias: match &a.o_bias {
                    Some(b) => Some(host(b)?),
                    None => None,
                },
                post_norm: host(&l.post_norm.weight)?,
                gate_up: Packed::gate_up(&host(&gate_up)?, inter, h),
                down: Packed::new(&host(&down)?, h, inter),
            });
        }
        let n = positions as i64;
        let mut engine = DecodeEngine {
            path,
            layers,
            embed: host(&model.embed)?,
            norm: host(&model.norm.weight)?,
            lm_head: Packed::new(&host(model.lm_head_weight())?, vocab, h),
            cos: host(&model.cos.narrow(0, 0, n))?,
            sin: host(&model.sin.narrow(0, 0, n))?,
            positions,
            eps: model.norm.eps as f32,
            h,
            heads: nh,
            kv_heads: nkv,
            hd,
            inter,
            vocab,
            scratch: Vec::new(),
            logits: Vec::new(),
            rows,
            pool: None,
            claims: Vec::new(),
        };
        if threads > 1 {
            engine.pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .thread_name(|i| format!("decode-{i}"))
                .build()
                .ok();
        }
        engine.scratch = vec![0f32; rows * engine.stride()];
        engine.claims = engine.layers.iter().map(|_| Default::default()).collect();
        engine.logits = vec![0f32; rows * vocab];
        let sizes_ok = engine.embed.len() == vocab * h
            && engine.norm.len() == h
            && engine.cos.len() == positions * hd
            && engine.sin.len() == positions * hd;
        sizes_ok.then_some(engine)
    }

    /// The code path the engine's kernels run on.
    pub(crate) fn path(&self) -> CpuPath {
        self.path
    }

    fn qkv_width(&self) -> usize {
        (self.heads + 2 * self.kv_heads) * self.hd
    }

    fn stride(&self) -> usize {
        2 * self.h + self.qkv_width() + self.heads * self.hd + self.inter
    }

    /// One decode step: row r's token `ids[r]` at position `pos[r]` is written to cache slot
    /// `cache.len` and attends slots `from[r]..=cache.len`. Returns the logits [R, V] and
    /// advances `cache.len`.
    pub(crate) fn step(
        &mut self,
        ids: &[i64],
        pos: &[i64],
        from: &[i64],
        cache: &mut KvCache,
    ) -> Result<(), ModelError> {
        self.run(ids, pos, from, 1, cache, Head::Last)
    }

    /// The logits [rows, V] of the last `step` (or `prefill`), row-major.
    pub(crate) fn logits(&self, rows: usize) -> &[f32] {
        self.logits.get(..rows * self.vocab).unwrap_or(&[])
    }

    /// `logits(rows)` as a [rows, V] tensor.
    pub(crate) fn logits_tensor(&self, rows: usize) -> Tensor {
        Tensor::from_slice(self.logits(rows)).view([rows as i64, self.vocab as i64])
    }

    /// Prefill of left-padded prompts [R, P] (row r's `pads[r]` leading entries are padding)
    /// into an empty cache: blocks of positions, each one pass over R x block (row,
    /// position) pairs, so a weight streams once per block rather than once per position;
    /// each pair attends its row's real slots up to its own (the causal attention of a full
    /// pass). Padding slots get the keys/values of token 0 at position 0 attending only
    /// itself (finite; no real token reads them). The logits of the last position are then
    /// `logits(R)`.
    pub(crate) fn prefill(
        &mut self,
        ids: &[i64],
        pads: &[i64],
        cache: &mut KvCache,
    ) -> Result<(), ModelError> {
        let r = pads.len();
        if r == 0 || ids.is_empty() || !ids.len().is_multiple_of(r) || cache.len != 0 {
            return Err(ModelError::Input(format!(
                "prefill: {} ids for {r} rows into a cache holding {}",
                ids.len(),
                cache.len
            )));
        }
        let p = ids.len() / r;
        let pair = |i: usize, s: usize| {
            let id = ids.get(i * p + s).copied().unwrap_or(0);
            let (s, pad) = (s as i64, pads.get(i).copied().unwrap_or(0));
            if s >= pad {
                (id, s - pad, pad)
            } else {
                (0, 0, s)
            }
        };
        let head = |last: bool| if last { Head::Last } else { Head::None };
        self.blocks(r, p, PREFILL_PAIRS, cache, pair, head, |_, _, _| Ok(()))
    }

    /// Positions 0..n of `r` cache rows, in passes over blocks of about `pairs` (row,
    /// position) pairs (at least one position per row): enough to reuse each weight panel
    /// across many rows, few enough that the scratch stays a few MB. `pair(row, j)` is the
    /// pair's (token, position, window start), `head(last)` the LM head of a pass (`last`:
    /// the final one), and `done(self, j0, nb)` reads a pass's logits (positions j0..j0 +
    /// nb, pair order row-major).
    #[allow(clippy::too_many_arguments)]
    fn blocks(
        &mut self,
        r: usize,
        n: usize,
        pairs: usize,
        cache: &mut KvCache,
        pair: impl Fn(usize, usize) -> (i64, i64, i64),
        head: impl Fn(bool) -> Head,
        mut done: impl FnMut(&Self, usize, usize) -> Result<(), ModelError>,
    ) -> Result<(), ModelError> {
        let block = (pairs / r.max(1)).clamp(1, n.max(1));
        let stride = self.stride();
        if self.scratch.len() < r * block * stride {
            self.scratch.resize(r * block * stride, 0.0);
        }
        let mut j0 = 0;
        while j0 < n {
            let nb = block.min(n - j0);
            let (mut tok, mut pos, mut from) = (
                Vec::with_capacity(r * nb),
                Vec::with_capacity(r * nb),
                Vec::with_capacity(r * nb),
            );
            for row in 0..r {
                for j in j0..j0 + nb {
                    let (t, q, f) = pair(row, j);
                    tok.push(t);
                    pos.push(q);
                    from.push(f);
                }
            }
            self.run(&tok, &pos, &from, nb, cache, head(j0 + nb == n))?;
            done(self, j0, nb)?;
            j0 += nb;
        }
        Ok(())
    }

    /// `prefill` where rows may share a prompt: each distinct prompt (ids and padding) goes
    /// through once, then its cache rows and last logits are copied to every row that has
    /// it (the same values as prefilling every row: a pair's result does not depend on the
    /// other pairs of its pass). `cache`, an empty cache of R rows, is replaced by one of
    /// the same shape.
    pub(crate) fn prefill_shared(
        &mut self,
        model: &Model,
        ids: &[i64],
        pads: &[i64],
        cache: &mut KvCache,
    ) -> Result<(), ModelError> {
        let r = pads.len();
        if r == 0 || !ids.len().is_multiple_of(r) {
            return self.prefill(ids, pads, cache);
        }
        let p = ids.len() / r;
        let mut index: std::collections::HashMap<(i64, &[i64]), i64> = Default::default();
        let (mut uids, mut upads, mut group) = (Vec::new(), Vec::new(), Vec::with_capacity(r));
        for (prompt, &pad) in ids.chunks_exact(p.max(1)).zip(pads) {
            let next = upads.len() as i64;
            group.push(*index.entry((pad, prompt)).or_insert_with(|| {
                uids.extend_from_slice(prompt);
                upads.push(pad);
                next
            }));
        }
        if upads.len() == r {
            return self.prefill(ids, pads, cache);
        }
        let n = upads.len() as i64;
        let mut distinct = KvCache::with_kind(model, n, cache.capacity, cache.kind());
        self.prefill(&uids, &upads, &mut distinct)?;
        // Every row of a prompt gets a copy of its slots, which attention then reads from
        // one of them (`attention_units`).
        distinct.shared = Some(SharedPrefix {
            groups: (0..upads.len() as i64).collect(),
            slots: distinct.len,
        });
        distinct.select_rows(&Tensor::from_slice(&group));
        *cache = distinct;
        let v = self.vocab;
        let firsts = self.logits.get(..upads.len() * v).unwrap_or(&[]).to_vec();
        for (row, &g) in self.logits.chunks_exact_mut(v.max(1)).zip(&group) {
            if let Some(src) = firsts.get(g as usize * v..(g as usize + 1) * v) {
                row.copy_from_slice(src);
            }
        }
        Ok(())
    }

    /// Log-probabilities of given completions, without gradients (learn.rs's
    /// `completion_logprobs` on this path, for the reference model). `prompts` [R, P] are
    /// left-padded (row r's `pads[r]` leading entries are padding; rows with the same
    /// prompt share its pass, `prefill_shared`) and `completions` [R, C] (C = len / R;
    /// trailing padding is scored like any token, for the caller to mask). Returns [R, C]
    /// row-major: entry (r, j) is log-softmax(logits / temperature) at completion r's token
    /// j, from the position before it. The completions go through in blocks of (row,
    /// position) pairs.
    pub(crate) fn logprobs(
        &mut self,
        model: &Model,
        prompts: &[i64],
        pads: &[i64],
        completions: &[i64],
        temperature: f32,
    ) -> Result<Vec<f32>, ModelError> {
        let r = pads.len();
        if r == 0
            || prompts.is_empty()
            || !prompts.len().is_multiple_of(r)
            || completions.is_empty()
            || !completions.len().is_multiple_of(r)
        {
            return Err(ModelError::Input(format!(
                "scoring: {} prompt ids and {} completion ids for {r} rows",
                prompts.len(),
                completions.len(),
            )));
        }
        let (p, c, v) = (prompts.len() / r, completions.len() / r, self.vocab);
        let mut cache = KvCache::new(model, r as i64, (p + c) as i64);
        self.prefill_shared(model, prompts, pads, &mut cache)?;
        let mut out = vec![0f32; r * c];
        let (mut x, mut e) = (vec![0f32; v], vec![0f32; v]);
        let path = self.path;
        let mut score = |logits: &[f32], target: i64| -> Result<f32, ModelError> {
            let row = logits.get(..v).ok_or_else(|| {
                ModelError::Input("scoring: the logits buffer is short".to_string())
            })?;
            token_logprob(path, row, target, temperature, &mut x, &mut e).ok_or_else(|| {
                ModelError::Input(format!("scoring: token id {target} outside the vocabulary"))
            })
        };
        // Token 0 of each completion, from its prompt's last position.
        for row in 0..r {
            let logits = self.logits.get(row * v..).unwrap_or(&[]);
            if let Some(o) = out.get_mut(row * c) {
                *o = score(logits, completions.get(row * c).copied().unwrap_or(-1))?;
            }
        }
        // Tokens 0..C-1 predict tokens 1..C.
        let pair = |row: usize, j: usize| {
            let pad = pads.get(row).copied().unwrap_or(0);
            let id = completions.get(row * c + j).copied().unwrap_or(0);
            (id, p as i64 - pad + j as i64, pad)
        };
        // Every pair gets its logits: fewer pairs per pass for a large vocabulary.
        let pairs = PREFILL_PAIRS.min(SCORE_LOGITS / v.max(1));
        self.blocks(
            r,
            c - 1,
            pairs,
            &mut cache,
            pair,
            |_| Head::All,
            |eng, j0, nb| {
                for row in 0..r {
                    for j in j0..j0 + nb {
                        let pair = row * nb + (j - j0);
                        let logits = eng.logits.get(pair * v..).unwrap_or(&[]);
                        let target = completions.get(row * c + j + 1).copied().unwrap_or(-1);
                        if let Some(o) = out.get_mut(row * c + j + 1) {
                            *o = score(logits, target)?;
                        }
                    }
                }
                Ok(())
            },
        )?;
        Ok(out)
    }

    /// One pass over `ids.len()` (row, slot) pairs: pair g is cache row g / per_row at slot
    /// cache.len + g % per_row (per_row = 1: a decode step; more: a prefill block, a row's
    /// pairs in slot order). `head`: which pairs get their logits written.
    fn run(
        &mut self,
        ids: &[i64],
        pos: &[i64],
        from: &[i64],
        per_row: usize,
        cache: &mut KvCache,
        head: Head,
    ) -> Result<(), ModelError> {
        let r = ids.len();
        let offset = cache.len;
        let bad = |m: String| Err(ModelError::Input(m));
        let rows = r / per_row.max(1);
        if r == 0
            || per_row == 0
            || !r.is_multiple_of(per_row)
            || rows > self.rows
            || r * self.stride() > self.scratch.len()
            || pos.len() != r
            || from.len() != r
        {
            return bad(format!(
                "decode step: {r} ids ({per_row} per row), {} positions, {} windows for at \
                 most {} rows",
                pos.len(),
                from.len(),
                self.rows
            ));
        }
        if let Some(t) = ids.iter().find(|&&t| !(0..self.vocab as i64).contains(&t)) {
            return bad(format!("decode step: token id {t} outside the vocabulary"));
        }
        if let Some(p) = pos
            .iter()
            .find(|&&p| !(0..self.positions as i64).contains(&p))
        {
            return bad(format!("decode step: position {p} past the RoPE table"));
        }
        let own_slot = |g: usize| offset + (g % per_row) as i64;
        if let Some((g, f)) = from
            .iter()
            .enumerate()
            .find(|&(g, &f)| !(0..=own_slot(g)).contains(&f))
        {
            return bad(format!(
                "decode step: window start {f} past slot {}",
                own_slot(g)
            ));
        }
        let want = [
            rows as i64,
            cache.capacity,
            self.kv_heads as i64,
            self.hd as i64,
        ];
        let kv_kind = cache.kind();
        let ok = |t: &Tensor| {
            t.device() == Device::Cpu
                && matches!(kv_kind, Kind::Float | Kind::BFloat16)
                && t.kind() == kv_kind
                && t.is_contiguous()
                && t.size() == want
        };
        if offset + per_row as i64 > cache.capacity
            || cache.k.len() != self.layers.len()
            || cache.v.len() != self.layers.len()
            || !cache.k.iter().chain(cache.v.iter()).all(ok)
        {
            return bad(format!(
                "decode step: the KV cache is not [{rows}, {}, {}, {}] fp32 or bf16 with \
                 {per_row} free slots",
                cache.capacity, self.kv_heads, self.hd
            ));
        }
        let caches: Vec<(SendPtr, SendPtr)> = cache
            .k
            .iter()
            .zip(&cache.v)
            .map(|(k, v)| {
                (
                    SendPtr(k.data_ptr() as *mut f32),
                    SendPtr(v.data_ptr() as *mut f32),
                )
            })
            .collect();
        for c in &self.claims {
            c.store(0, std::sync::atomic::Ordering::Relaxed);
        }
        let threads = self.pool.as_ref().map_or(1, |p| p.current_num_threads());
        let (source, units) = attention_units(cache.shared.as_ref(), rows, threads);
        if head == Head::All && self.logits.len() < r * self.vocab {
            self.logits.resize(r * self.vocab, 0.0);
        }
        let job = Job {
            ids,
            pos,
            from,
            caches: &caches,
            per_row,
            kv_bf16: kv_kind == Kind::BFloat16,
            source: &source,
            shared_slots: cache
                .shared
                .as_ref()
                .map_or(0, |s| s.slots.clamp(0, offset) as usize),
            units: &units,
            claims: &self.claims,
            cap: cache.capacity as usize,
            offset: offset as usize,
            scratch: SendPtr(self.scratch.as_mut_ptr()),
            head,
            logits: SendPtr(self.logits.as_mut_ptr()),
        };
        let this = &*self;
        match &self.pool {
            // Rows enough that streaming the weights once per step pays for the barriers, or
            // too few for a row group per thread: every thread works on every phase.
            Some(pool) if rows >= SPLIT_PANELS_ROWS * threads || rows <= FEW_ROWS => {
                let barrier = SpinBarrier::new(threads);
                pool.broadcast(|ctx| {
                    // SAFETY: every thread of the pool runs part ctx.index() of the step over
                    // all rows with the shared barrier; `work` writes only what its contract
                    // allows, and the buffers (sizes checked above) outlive this call.
                    unsafe { this.work(&job, 0..r, ctx.index(), threads, &barrier) }
                });
            }
            // Otherwise one row group per thread, each start to end without barriers.
            Some(pool) => {
                let one = SpinBarrier::new(1);
                pool.broadcast(|ctx| {
                    let rows = share(rows, ctx.index(), threads);
                    let rows = rows.start * per_row..rows.end * per_row;
                    // SAFETY: the groups are disjoint row ranges, each run whole by one
                    // thread; sizes checked above, buffers outlive this call.
                    unsafe { this.work(&job, rows, 0, 1, &one) }
                });
            }
            // SAFETY: as above, all rows in one part.
            _ => unsafe { this.work(&job, 0..r, 0, 1, &SpinBarrier::new(1)) },
        }
        cache.len += per_row as i64;
        Ok(())
    }

    /// Part `t` of `parts` of one step over rows `team` (embedding to logits). Row-wise
    /// phases (embedding, RMSNorm, RoPE + cache write + attention) take a share of the
    /// rows; the projections take all the team's rows against a share of the weight's
    /// panels, so the team streams every weight once per step whatever its size. A barrier
    /// separates phases that read another part's writes: 7 per layer.
    ///
    /// # Safety
    /// `job`'s pointers hold at least `self.rows >= team.end` rows of scratch and logits and
    /// `team.end` rows of each [.., cap, kv_heads, hd] cache; every part of the team runs
    /// concurrently with the same `barrier` of `parts` threads, and nothing else touches
    /// the team's rows meanwhile.
    unsafe fn work(
        &self,
        job: &Job,
        team: std::ops::Range<usize>,
        t: usize,
        parts: usize,
        barrier: &SpinBarrier,
    ) {
        let (w, h) = (self.stride(), self.h);
        let qkv_w = self.qkv_width();
        let (xo, xno, qkvo, atto, acto) = (
            0,
            h,
            2 * h,
            2 * h + qkv_w,
            2 * h + qkv_w + self.heads * self.hd,
        );
        let (r, per) = (team.len(), job.per_row.max(1));
        // Whole cache rows per part: a row's pairs write slots that its later pairs read.
        let rows = {
            let s = share(r / per, t, parts);
            team.start + s.start * per..team.start + s.end * per
        };
        let base = job.scratch.0.wrapping_add(team.start * w);
        let all = job.scratch.0;
        // This part's rows of the scratch, borrowed afresh for each row-wise phase.
        // SAFETY (whole function): row-wise phases touch only this part's rows (or the cache
        // rows it claimed) of the scratch and the cache; the GEMMs read all rows (written
        // before a barrier) and write only their panels' columns; barriers order the rest.
        let mine =
            || unsafe { std::slice::from_raw_parts_mut(all.add(rows.start * w), rows.len() * w) };
        for (row, &id) in mine()
            .chunks_exact_mut(w)
            .zip(job.ids.get(rows.clone()).unwrap_or(&[]))
        {
            let e = self
                .embed
                .get(id as usize * h..(id as usize + 1) * h)
                .unwrap_or(&[]);
            if let Some(x) = row.get_mut(xo..xo + h) {
                x.copy_from_slice(e);
            }
        }
        let kvw = self.kv_heads * self.hd;
        let shape = Shape {
            nh: self.heads,
            nkv: self.kv_heads,
            hd: self.hd,
            // As model.rs: 1/sqrt(hd) in f64, rounded once.
            scale: (1.0 / (self.hd as f64).sqrt()) as f32,
        };
        // Which scratch rows a phase runs on, as (first, count, stride) in rows: every pair,
        // or each cache row's last pair.
        type Sel = (usize, usize, usize);
        let (every, lasts): (Sel, Sel) = ((0, r, 1), (per - 1, r / per, per));
        let proj = |sel: Sel, input: usize, wt: &Packed, bias: Option<&[f32]>, out: usize, add| {
            let (first, m, stride) = sel;
            let panels = share(wt.panels(), t, parts);
            // SAFETY: the team's selected rows of the scratch hold `input` (written before the
            // barrier that precedes this call); the output columns of these panels are this
            // part's.
            unsafe {
                gemm(
                    self.path,
                    base.add(first * w + input),
                    m,
                    stride * w,
                    wt,
                    panels,
                    bias,
                    base.add(first * w + out),
                    stride * w,
                    add,
                )
            }
        };
        // This part's selected rows (it holds whole cache rows, so `lasts` picks its own).
        let norm = |sel: Sel, weight: &[f32]| {
            let (first, _, stride) = sel;
            let (x, xn) = (first * w + xo, first * w + xno);
            rms_norm_rows(self.path, mine(), stride * w, x, xn, h, weight, self.eps);
        };
        let last_layer = self.layers.len().saturating_sub(1);
        let mut scores = Vec::new();
        for (l, layer) in self.layers.iter().enumerate() {
            // The last layer's output only feeds the LM head: unless every pair gets logits,
            // every pair writes its keys and values, but attention and the rest of the
            // layer run for each cache row's last pair (the head's; in a decode step that
            // is every pair), or for none when the pass gets no head (a prefill block).
            let heads_only = l == last_layer && job.head != Head::All;
            let sel = if heads_only { lasts } else { every };
            let skip_rest = heads_only && job.head == Head::None;
            rms_norm_rows(
                self.path,
                mine(),
                w,
                xo,
                xno,
                h,
                &layer.input_norm,
                self.eps,
            );
            barrier.wait();
            proj(
                every,
                xno,
                &layer.qkv,
                layer.qkv_bias.as_deref(),
                qkvo,
                false,
            );
            barrier.wait();
            let Some(&(kc, vc)) = job.caches.get(l) else {
                return;
            };
            // Units of cache rows are handed out one at a time (attention reads memory at
            // rates that differ between the threads; a team covers every row, so its parts
            // share `job.units`); a cache row's pairs go in slot order.
            let claim = job.claims.get(l);
            let next = |own: &mut usize| -> Option<std::ops::Range<usize>> {
                match claim {
                    Some(c) if parts > 1 => {
                        let k = c.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        job.units.get(k).cloned()
                    }
                    _ => {
                        let k = *own;
                        *own += 1;
                        let cr = rows.start / per + k;
                        (k < rows.len() / per).then_some(cr..cr + 1)
                    }
                }
            };
            let mut own = 0;
            while let Some(unit) = next(&mut own) {
                for (cr, g) in unit.flat_map(|cr| (cr * per..(cr + 1) * per).map(move |g| (cr, g)))
                {
                    // SAFETY: scratch row g (of the team) is claimed by this part alone for
                    // this phase; its qkv were written before the barrier above.
                    let row = unsafe { std::slice::from_raw_parts_mut(all.add(g * w), w) };
                    let slot = job.offset + g % per;
                    let (p, f) = (
                        job.pos.get(g).copied().unwrap_or(0) as usize,
                        job.from.get(g).copied().unwrap_or(0) as usize,
                    );
                    let (cos, sin) = (
                        self.cos.get(p * self.hd..(p + 1) * self.hd).unwrap_or(&[]),
                        self.sin.get(p * self.hd..(p + 1) * self.hd).unwrap_or(&[]),
                    );
                    let (head, tail) = row.split_at_mut(atto);
                    let Some(qkv) = head.get_mut(qkvo..qkvo + qkv_w) else {
                        return;
                    };
                    for x in qkv
                        .chunks_exact_mut(self.hd)
                        .take(self.heads + self.kv_heads)
                    {
                        rope(self.path, x, cos, sin);
                    }
                    let (q, kv) = qkv.split_at(self.heads * self.hd);
                    // Window f..=slot: the shared slots f..mid from the group's source row,
                    // then mid..=slot from this row.
                    let src = job.source.get(cr).copied().unwrap_or(cr);
                    let mid = job.shared_slots.max(f).min(slot + 1);
                    let shared = (src * job.cap + f) * kvw..(src * job.cap + mid) * kvw;
                    let own = (cr * job.cap + mid) * kvw..(cr * job.cap + slot + 1) * kvw;
                    let slot = (cr * job.cap + slot) * kvw;
                    let needed = !heads_only || (job.head == Head::Last && g % per == per - 1);
                    let out = tail.get_mut(..self.heads * self.hd).filter(|_| needed);
                    let pair = Pair {
                        kv,
                        slot,
                        shared,
                        own,
                    };
                    // SAFETY: cache row cr's block [cap, kvw] is this part's (claimed whole); its
                    // slots up to this pair's are written (in pair order) before the window that
                    // includes them is read. The source row's slots below shared_slots <= the
                    // step's first slot are read-only during the step (every write is at or
                    // after it), whichever part owns that row. The caches hold bf16 exactly
                    // when kv_bf16 (checked in `run`).
                    unsafe {
                        if job.kv_bf16 {
                            let (k, v) = (kc.0.cast::<Bf16>(), vc.0.cast::<Bf16>());
                            pair.write_and_attend(self.path, k, v, &shape, q, &mut scores, out);
                        } else {
                            pair.write_and_attend(
                                self.path,
                                kc.0,
                                vc.0,
                                &shape,
                                q,
                                &mut scores,
                                out,
                            );
                        }
                    }
                }
            }
            if skip_rest {
                // Every part returns after its own cache writes: nothing reads them here.
                return;
            }
            barrier.wait();
            proj(sel, atto, &layer.o, layer.o_bias.as_deref(), xo, true);
            barrier.wait();
            norm(sel, &layer.post_norm);
            barrier.wait();
            proj(sel, xno, &layer.gate_up, None, acto, false);
            barrier.wait();
            proj(sel, acto, &layer.down, None, xo, true);
            barrier.wait();
        }
        // Each cache row's last pair (every per-th scratch row from per - 1), or every pair.
        let (first, m, lda, out_row) = match job.head {
            Head::None => return,
            Head::Last => (per - 1, r / per, per * w, team.start / per),
            Head::All => (0, r, w, team.start),
        };
        norm(
            if job.head == Head::All { every } else { lasts },
            &self.norm,
        );
        barrier.wait();
        let v = self.vocab;
        let panels = share(self.lm_head.panels(), t, parts);
        // SAFETY: the team's rows of xn are final (barrier above); logits hold m rows of v
        // floats from out_row (`run` sized them: self.rows rows, or every pair for
        // Head::All), and this part writes only its panels' columns.
        unsafe {
            gemm(
                self.path,
                base.add(first * w + xno),
                m,
                lda,
                &self.lm_head,
                panels,
                None,
                job.logits.at(out_row * v),
                v,
                false,
            )
        };
    }
}

/// One pair's keys and values ([2 x kvw] fp32: keys, then values), the flat element
/// offset of its cache slot, and its attention window's two runs (flat element ranges
/// of the caches: the shared slots in the group's source row, then the row's own).
struct Pair<'a> {
    kv: &'a [f32],
    slot: usize,
    shared: std::ops::Range<usize>,
    own: std::ops::Range<usize>,
}

impl Pair<'_> {
    /// Stores the keys and values (rounded to `T`) at the slot, then, given `out`, attends
    /// `q` over the window into it.
    ///
    /// # Safety
    /// `kc` and `vc` are caches of `T` holding the slot's `kvw = kv.len() / 2` elements and
    /// both ranges; nothing else writes them or reads the slot during the call.
    #[allow(clippy::too_many_arguments)]
    unsafe fn write_and_attend<T: KvElem>(
        &self,
        path: CpuPath,
        kc: *mut T,
        vc: *mut T,
        shape: &Shape,
        q: &[f32],
        scores: &mut Vec<f32>,
        out: Option<&mut [f32]>,
    ) {
        let (k, v) = self.kv.split_at(self.kv.len() / 2);
        // SAFETY: as the function's contract: the slot's elements are in bounds and
        // unshared, and the runs are in bounds and not written meanwhile.
        let win = unsafe {
            let (ks, vs) = (
                std::slice::from_raw_parts_mut(kc.add(self.slot), k.len()),
                std::slice::from_raw_parts_mut(vc.add(self.slot), v.len()),
            );
            ks.iter_mut().zip(k).for_each(|(d, &x)| *d = T::from_f32(x));
            vs.iter_mut().zip(v).for_each(|(d, &x)| *d = T::from_f32(x));
            let run = |c: *mut T, r: &std::ops::Range<usize>| {
                std::slice::from_raw_parts(c.add(r.start).cast_const(), r.len())
            };
            Window {
                k: [run(kc, &self.shared), run(kc, &self.own)],
                v: [run(vc, &self.shared), run(vc, &self.own)],
            }
        };
        if let Some(out) = out {
            attention::attend_row(path, shape, q, win, scores, out);
        }
    }
}

/// (row, position) pairs per prefill pass.
const PREFILL_PAIRS: usize = 1024;

/// Logits (floats) a scoring pass may hold: 32 MB, so a 150k vocabulary scores ~55 pairs
/// per pass rather than 1,024 (600 MB).
const SCORE_LOGITS: usize = 8 << 20;

/// Rows per thread from which a step splits the projections' panels between threads
/// rather than giving each thread its own rows (measured on the 3.5 M model, 2 threads).
const SPLIT_PANELS_ROWS: usize = 16;

/// Part `t` of `parts` near-equal contiguous shares of 0..n.
fn share(n: usize, t: usize, parts: usize) -> std::ops::Range<usize> {
    let parts = parts.max(1);
    (n * t / parts).min(n)..(n * (t + 1) / parts).min(n)
}

/// For each of `rows` cache rows, the row whose copy of the shared slots its attention
/// reads (the first row of its group; itself without sharing), and the cache rows in the
/// units the attention phase hands out: a group's adjacent rows together, so its shared
/// slots come from memory once per unit and from the core's L2 for the unit's other rows
/// (a GRPO group's G completions read their prompt once per step, not G times), in pieces
/// of at most rows / (2 x threads) so every thread gets work; single rows without sharing.
fn attention_units(
    shared: Option<&SharedPrefix>,
    rows: usize,
    threads: usize,
) -> (Vec<usize>, Vec<std::ops::Range<usize>>) {
    let Some(groups) = shared
        .filter(|s| s.slots > 0 && s.groups.len() == rows)
        .map(|s| &s.groups)
    else {
        return ((0..rows).collect(), (0..rows).map(|r| r..r + 1).collect());
    };
    let mut first = std::collections::HashMap::new();
    let source: Vec<usize> = groups
        .iter()
        .enumerate()
        .map(|(r, &g)| *first.entry(g).or_insert(r))
        .collect();
    let most = rows.div_ceil(2 * threads.max(1)).max(1);
    let mut units = Vec::new();
    let mut start = 0;
    for r in 1..=rows {
        if r == rows || source.get(r) != source.get(start) || r - start == most {
            units.push(start..r);
            start = r;
        }
    }
    (source, units)
}

/// A reusable barrier for the engine's threads, which spin (they own their cores for the
/// microseconds between phases) and yield after a while, so a thread the OS descheduled
/// does not keep the others burning a core.
struct SpinBarrier {
    parts: usize,
    arrived: std::sync::atomic::AtomicUsize,
    generation: std::sync::atomic::AtomicUsize,
}

impl SpinBarrier {
    fn new(parts: usize) -> SpinBarrier {
        SpinBarrier {
            parts: parts.max(1),
            arrived: Default::default(),
            generation: Default::default(),
        }
    }

    fn wait(&self) {
        use std::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed, Release};
        if self.parts == 1 {
            return;
        }
        let gen = self.generation.load(Acquire);
        if self.arrived.fetch_add(1, AcqRel) + 1 == self.parts {
            // Nobody touches `arrived` again before `generation` moves.
            self.arrived.store(0, Relaxed);
            self.generation.fetch_add(1, Release);
            return;
        }
        let mut spins = 0u32;
        while self.generation.load(Acquire) == gen {
            if spins < 20_000 {
                spins += 1;
                std::hint::spin_loop();
            } else {
                std::thread::yield_now();
            }
        }
    }
}

struct Job<'a> {
    ids: &'a [i64],
    pos: &'a [i64],
    from: &'a [i64],
    caches: &'a [(SendPtr, SendPtr)],
    /// Pairs per cache row (see `DecodeEngine::run`).
    per_row: usize,
    /// The caches hold bf16 (else fp32).
    kv_bf16: bool,
    /// Per cache row, the row whose slots 0..shared_slots its attention reads (itself
    /// when it shares none), and the attention phase's units (`attention_units`).
    source: &'a [usize],
    shared_slots: usize,
    units: &'a [std::ops::Range<usize>],
    /// Per layer, the count of cache rows claimed so far in the attention phase.
    claims: &'a [std::sync::atomic::AtomicUsize],
    cap: usize,
    offset: usize,
    scratch: SendPtr,
    head: Head,
    logits: SendPtr,
}

/// Which pairs of a pass get the LM head.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Head {
    /// None (a prefill block before the last).
    None,
    /// Each cache row's last pair: `logits(rows)`.
    Last,
    /// Every pair, in pair order (scoring given tokens).
    All,
}

/// xn = x * rsqrt(mean(x^2) + eps) * weight for each row (libtorch's `rms_norm` formula).
#[allow(clippy::too_many_arguments)]
fn rms_norm_rows(
    path: CpuPath,
    block: &mut [f32],
    w: usize,
    xo: usize,
    xno: usize,
    h: usize,
    weight: &[f32],
    eps: f32,
) {
    for row in block.chunks_exact_mut(w) {
        let (x, rest) = row.split_at_mut(xno);
        let (Some(x), Some(xn)) = (x.get(xo..xo + h), rest.get_mut(..h)) else {
            continue;
        };
        let ss = sum_squares(path, x);
        let inv = 1.0 / (ss / h as f32 + eps).sqrt();
        for ((o, &v), &g) in xn.iter_mut().zip(x).zip(weight) {
            *o = v * inv * g;
        }
    }
}

/// Unfiltered sampling (temperature only) or greedy (`temperature` 0) over host logits
/// [R, V], appending each row's token and its log-probability: sampler.rs's `sample` (the
/// libtorch ops) in the same steps and order: `x / T`, log-softmax as (x - max) - ln(sum
/// exp(x - max)), probabilities exp(logp), their cumulative sum accumulated in f64 as
/// libtorch's CPU cumsum does, and the token = how many cdf entries are <= u * total. Only
/// the exp (Cephes, within 2 ulp, vs libtorch's Sleef) and the order of the sum differ, so a
/// token can differ only where u * total falls within float rounding of a cdf entry.
pub(crate) fn sample_rows(
    path: CpuPath,
    logits: &[f32],
    vocab: usize,
    temperature: f32,
    uniforms: &[f32],
    tokens: &mut Vec<i64>,
    logprobs: &mut Vec<f32>,
) {
    let greedy = temperature == 0.0;
    let mut x = vec![0f32; vocab];
    let mut p = vec![0f32; vocab];
    let t = if greedy { 1.0 } else { temperature };
    for (row, &u) in logits.chunks_exact(vocab.max(1)).zip(uniforms) {
        // p = exp(x - max), then p = exp(logp) once the normaliser is known.
        let (max, lse) = log_normaliser(path, row, t, &mut x, &mut p);
        let tok = if greedy {
            let mut best = 0usize;
            for (i, &v) in row.iter().enumerate() {
                if v > row.get(best).copied().unwrap_or(f32::NEG_INFINITY) {
                    best = i;
                }
            }
            best
        } else {
            exp_shifted(path, &x, max, lse, &mut p);
            let total = p.iter().fold(0f64, |a, &v| a + v as f64) as f32;
            let threshold = u * total;
            let mut acc = 0f64;
            let mut count = 0usize;
            for &v in &p {
                acc += v as f64;
                if acc as f32 <= threshold {
                    count += 1;
                }
            }
            count.min(vocab.saturating_sub(1))
        };
        tokens.push(tok as i64);
        logprobs.push((x.get(tok).copied().unwrap_or(0.0) - max) - lse);
    }
}

/// log-softmax(logits / temperature)[target] as learn.rs computes it (divide, then
/// (x - max) - ln(sum exp(x - max))); `None` for a target outside the row. `x` and `e` are
/// scratch of the row's length.
fn token_logprob(
    path: CpuPath,
    logits: &[f32],
    target: i64,
    temperature: f32,
    x: &mut [f32],
    e: &mut [f32],
) -> Option<f32> {
    let t = usize::try_from(target).ok().filter(|&t| t < logits.len())?;
    let (x, e) = (x.get_mut(..logits.len())?, e.get_mut(..logits.len())?);
    let (max, lse) = log_normaliser(path, logits, temperature, x, e);
    Some((x.get(t)? - max) - lse)
}

/// x = logits / temperature (a copy at temperature 1), e = exp(x - max), and (max,
/// ln(sum e)): log-softmax(x) is then (x - max) - lse, as libtorch computes it. x and e
/// have the row's length.
fn log_normaliser(
    path: CpuPath,
    logits: &[f32],
    temperature: f32,
    x: &mut [f32],
    e: &mut [f32],
) -> (f32, f32) {
    if temperature == 1.0 {
        x.copy_from_slice(logits);
    } else {
        x.iter_mut()
            .zip(logits)
            .for_each(|(s, &v)| *s = v / temperature);
    }
    let max = x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    exp_shifted(path, x, max, 0.0, e);
    (max, e.iter().sum::<f32>().ln())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::cpu::for_each_available;
    use crate::policy::model::{padded_causal_mask, AttnMask, Config};

    use crate::kernels::tolerance::{logit_tolerance, U};

    #[test]
    fn fused_step_matches_the_libtorch_layers() {
        let _g = tch::no_grad_guard();
        for_each_available(|path| {
            if !path.fused() {
                let m = Model::new_seeded(&qwen2_tied(), Device::Cpu, Kind::Float, 0).unwrap();
                assert!(DecodeEngine::with_path(&m, 1, 8, 1, path).is_none());
                return;
            }
            fused_step_matches_on(path);
        });
    }

    fn fused_step_matches_on(path: CpuPath) {
        let qwen = qwen2_tied();
        let mut llama_bias = Config::llama(64, 32, 48, 2, 4, 4);
        llama_bias.attention_bias = true;
        for (ci, cfg) in [Config::llama(64, 32, 48, 2, 4, 2), qwen, llama_bias]
            .into_iter()
            .enumerate()
        {
            let m = Model::new_seeded(&cfg, Device::Cpu, Kind::Float, 10 + ci as i64).unwrap();
            // Row groups (11 rows) with a phased prefill, phases at few rows (3), phases at
            // many rows with a prompt of two prefill blocks (37 x 40), one thread.
            for (b, p, threads) in [(11i64, 5i64, 2usize), (3, 5, 2), (37, 40, 2), (11, 5, 1)] {
                let steps = 6i64;
                let cap = p + steps;
                let pads: Vec<i64> = (0..b).map(|r| r % 3).collect();
                let mut attn = vec![1i64; (b * p) as usize];
                for (r, &pad) in pads.iter().enumerate() {
                    for s in 0..pad as usize {
                        attn[r * p as usize + s] = 0;
                    }
                }
                let attn = Tensor::from_slice(&attn).view([b, p]);
                let ids =
                    Tensor::randint(cfg.vocab_size as i64, [b, p], (Kind::Int64, Device::Cpu));
                let (pos, mask) = padded_causal_mask(&attn, Kind::Float);
                let mut c_ref = KvCache::new(&m, b, cap);
                let mut c_new = KvCache::new(&m, b, cap);
                let prefilled = m.forward_hidden(&ids, &pos, &mask, Some(&mut c_ref));
                let want = m.logits(&prefilled.select(1, p - 1));
                let mut engine =
                    DecodeEngine::with_path(&m, b as usize, cap as usize, threads, path).unwrap();
                let k = cfg.hidden_size.max(cfg.intermediate_size);
                let products = 4 * cfg.num_hidden_layers + 1;
                let tol = |want: &Tensor| {
                    let magnitude = want.abs().max().double_value(&[]) + 1.0;
                    logit_tolerance(k, products, magnitude)
                };
                let ids_host = Vec::<i64>::try_from(&ids.view([-1])).unwrap();
                engine.prefill(&ids_host, &pads, &mut c_new).unwrap();
                let got = engine.logits_tensor(b as usize);
                let err = (&got - &want).abs().max().double_value(&[]);
                assert!(
                    err <= tol(&want),
                    "{path} config {ci} b {b} prefill: {err:e}"
                );
                assert_eq!(c_new.len, p);
                let slots = Tensor::arange(cap, (Kind::Int64, Device::Cpu)).view([1, cap]);
                let pads_t = Tensor::from_slice(&pads).view([b, 1]);
                let key_mask = Tensor::zeros([b, cap], (Kind::Float, Device::Cpu))
                    .masked_fill(&slots.lt_tensor(&pads_t), f64::NEG_INFINITY)
                    .view([b, 1, 1, cap]);
                let mut pos_host: Vec<i64> = pads.iter().map(|&pad| p - pad).collect();
                for step in 0..steps {
                    let tok: Vec<i64> = (0..b)
                        .map(|r| (r * 7 + step * 3) % cfg.vocab_size as i64)
                        .collect();
                    let want = {
                        let mask = AttnMask::RowsFrom {
                            from: pads.clone(),
                            mask: key_mask.narrow(-1, 0, c_ref.len + 1),
                        };
                        let h = m.forward_hidden(
                            &Tensor::from_slice(&tok).view([b, 1]),
                            &Tensor::from_slice(&pos_host).view([b, 1]),
                            &mask,
                            Some(&mut c_ref),
                        );
                        m.logits(&h.select(1, 0))
                    };
                    engine.step(&tok, &pos_host, &pads, &mut c_new).unwrap();
                    let got = engine.logits_tensor(b as usize);
                    let err = (&got - &want).abs().max().double_value(&[]);
                    let tol = tol(&want);
                    assert!(err <= tol, "{path} config {ci} b {b} step {step}: {err:e}");
                    assert_eq!(c_new.len, c_ref.len);
                    pos_host.iter_mut().for_each(|p| *p += 1);
                }
                // Bad inputs are errors, not panics.
                let t = vec![0i64; b as usize];
                assert!(engine
                    .step(&[cfg.vocab_size as i64], &[0], &[0], &mut c_new)
                    .is_err());
                assert!(engine
                    .step(&t, &t, &vec![99; b as usize], &mut c_new)
                    .is_err());
            }
        }
    }

    /// Groups' adjacent rows go in one unit, cut at rows / (2 x threads); each row reads
    /// the shared slots from its group's first row; no sharing: single rows.
    #[test]
    fn attention_units_keep_groups_together() {
        let shared = |groups: Vec<i64>| SharedPrefix { groups, slots: 3 };
        let s = shared(vec![0, 0, 0, 1, 1, 2, 0, 0]);
        let (source, units) = attention_units(Some(&s), 8, 1);
        assert_eq!(source, [0, 0, 0, 3, 3, 5, 0, 0]);
        assert_eq!(units, [0..3, 3..5, 5..6, 6..8]);
        // Two threads: units of at most 2 rows.
        let (_, units) = attention_units(Some(&s), 8, 2);
        assert_eq!(units, [0..2, 2..3, 3..5, 5..6, 6..8]);
        // One group of 16 rows on 2 threads: four units of 4.
        let (source, units) = attention_units(Some(&shared(vec![5; 16])), 16, 2);
        assert_eq!(source, [0; 16]);
        assert_eq!(units, [0..4, 4..8, 8..12, 12..16]);
        // Without sharing, or with groups for another row count: every row alone.
        for s in [None, Some(&s)] {
            let (source, units) = attention_units(s, 3, 2);
            assert_eq!(source, [0, 1, 2]);
            assert_eq!(units, [0..1, 1..2, 2..3]);
        }
    }

    /// A Qwen2 (q/k/v biases) with tied embeddings, vocab 50, intermediate 40 (partial
    /// panels), 6 heads over 2 kv heads.
    fn qwen2_tied() -> Config {
        let mut cfg = Config::llama(50, 48, 40, 2, 6, 2);
        cfg.model_type = "qwen2".into();
        cfg.tie_word_embeddings = true;
        cfg
    }

    /// Scoring given completions (the reference pass) equals teacher-forced log-probs of
    /// each unpadded row through the libtorch layers: Qwen2 biases and tied embeddings,
    /// 40 rows in groups of 5 sharing left-padded prompts of 1-6 tokens, 31-token
    /// completions (1,200 pairs: two passes), temperature 0.8, both threads.
    #[test]
    fn scoring_matches_teacher_forced_logprobs() {
        let _g = tch::no_grad_guard();
        for_each_available(|path| {
            if path.fused() {
                scoring_matches_on(path);
            }
        });
    }

    fn scoring_matches_on(path: CpuPath) {
        let m = Model::new_seeded(&qwen2_tied(), Device::Cpu, Kind::Float, 21).unwrap();
        let (rows, p, c) = (40usize, 6usize, 31usize);
        let prompt = |g: usize| -> Vec<i64> {
            (0..1 + g % 6)
                .map(|j| ((g * 13 + j * 7) % 50) as i64)
                .collect()
        };
        let (mut padded, mut pads, mut completions) = (Vec::new(), Vec::new(), Vec::new());
        for r in 0..rows {
            let pr = prompt(r / 5);
            pads.push((p - pr.len()) as i64);
            padded.extend(std::iter::repeat_n(0, p - pr.len()).chain(pr));
            completions.extend((0..c).map(|j| ((r * 31 + j * 17 + 3) % 50) as i64));
        }
        let mut engine = DecodeEngine::with_path(&m, rows, p + c, 2, path).unwrap();
        let cfg = qwen2_tied();
        let (k, products) = (cfg.hidden_size, 4 * cfg.num_hidden_layers + 1);
        let got = engine
            .logprobs(&m, &padded, &pads, &completions, 0.8)
            .unwrap();
        for r in 0..rows {
            let mut seq = prompt(r / 5);
            let n = seq.len();
            seq.extend_from_slice(&completions[r * c..(r + 1) * c]);
            let len = seq.len() as i64;
            let ids = Tensor::from_slice(&seq).view([1, len]);
            let attn = Tensor::ones([1, len], (Kind::Int64, Device::Cpu));
            let want = m.token_logprobs(&ids, &attn, 0.8).unwrap();
            let want =
                Vec::<f32>::try_from(&want.narrow(1, n as i64 - 1, c as i64).view([-1])).unwrap();
            for (j, (a, b)) in got[r * c..(r + 1) * c].iter().zip(&want).enumerate() {
                // A log-prob is a logit minus a log-sum-exp of logits: twice a logit's bound.
                let tol = 2.0 * logit_tolerance(k, products, b.abs() as f64 + 1.0);
                let err = (a - b).abs() as f64;
                assert!(err <= tol, "{path} row {r} token {j}: {a} vs {b}");
            }
        }
    }

    fn packed_gemm_matches_on(path: CpuPath) {
        let (k, n) = (19usize, 45usize);
        let w: Vec<f32> = (0..n * k)
            .map(|i| ((i * 37 % 101) as f32 - 50.0) * 0.01)
            .collect();
        let bias: Vec<f32> = (0..n).map(|i| i as f32 * 0.1).collect();
        for m in 1..=17usize {
            let a: Vec<f32> = (0..m * k)
                .map(|i| ((i * 13 % 29) as f32 - 14.0) * 0.1)
                .collect();
            let dot = |i: usize, j: usize| -> f32 {
                (0..k).map(|kk| a[i * k + kk] * w[j * k + kk]).sum()
            };
            // Both sides sum k products in their own order: each within k u sum|a w|.
            let dot_err = |i: usize, j: usize| -> f64 {
                let abs: f64 = (0..k)
                    .map(|kk| (a[i * k + kk] * w[j * k + kk]).abs() as f64)
                    .sum();
                2.0 * k as f64 * U * abs
            };
            let packed = Packed::new(&w, n, k);
            let mut out = vec![1f32; m * n];
            // In two panel ranges, as two threads split a projection.
            for panels in [0..1, 1..packed.panels()] {
                unsafe {
                    gemm(
                        path,
                        a.as_ptr(),
                        m,
                        k,
                        &packed,
                        panels,
                        Some(&bias),
                        out.as_mut_ptr(),
                        n,
                        true,
                    )
                };
            }
            for i in 0..m {
                for j in 0..n {
                    let want = 1.0 + (dot(i, j) + bias[j]);
                    // Plus the two additions' rounding.
                    let tol = dot_err(i, j) + 4.0 * U * (want.abs() as f64 + bias[j].abs() as f64);
                    let err = (out[i * n + j] - want).abs() as f64;
                    assert!(err <= tol, "{path} m {m} ({i}, {j}): {err:e} > {tol:e}");
                }
            }
            let inter = 21usize;
            let gu = Packed::gate_up(&w[..2 * inter * k], inter, k);
            let mut act = vec![0f32; m * inter];
            let all = 0..gu.panels();
            unsafe {
                gemm(
                    path,
                    a.as_ptr(),
                    m,
                    k,
                    &gu,
                    all,
                    None,
                    act.as_mut_ptr(),
                    inter,
                    false,
                )
            };
            for i in 0..m {
                for j in 0..inter {
                    let (g, u) = (dot(i, j), dot(i, inter + j));
                    let want = g / (1.0 + (-g).exp()) * u;
                    // silu' stays within 1.1: the gate's error moves the output by at most
                    // 1.1 |u| dg, the up's by |silu(g)| du <= |g| du; the exp (2 ulp), the
                    // division and the products add a few ulp of the result.
                    let (dg, du) = (dot_err(i, j), dot_err(i, inter + j));
                    let tol = 1.1 * u.abs() as f64 * dg
                        + g.abs() as f64 * du
                        + 8.0 * U * want.abs() as f64;
                    let err = (act[i * inter + j] - want).abs() as f64;
                    assert!(
                        err <= tol,
                        "{path} silu m {m} ({i}, {j}): {err:e} > {tol:e}"
                    );
                }
            }
        }
    }

    /// The packed tile against a plain triple loop: every row-remainder size, a partial
    /// panel, bias, residual add and the fused silu(gate) * up.
    #[test]
    fn packed_gemm_matches_a_reference() {
        for_each_available(packed_gemm_matches_on);
    }
}
