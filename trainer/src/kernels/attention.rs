//! Attention of one new token per row over a KV cache, on CPU in fp32, without autograd: the
//! decode step of the sampler. libtorch runs it (SDPA's flash kernel or a batched matmul) as
//! B x heads matrix-vector products of a few microseconds' call overhead each, which cost
//! more than all the model's linear layers at batch 64. Here each row streams its cache
//! slots once (the cache is [B, slots, kv_heads, hd], so a row's window is one contiguous
//! block): dot products for every head, a vectorised softmax, and a weighted sum of values.
//! It is the same softmax attention in fp32 (the exp is Cephes' polynomial, within 2 ulp, as
//! libtorch's own vectorised exp); tests compare it with libtorch's SDPA.

use super::cpu::CpuPath;
use rayon::prelude::*;
use tch::{Device, Kind, Tensor};

/// `q` [B, heads, hd] fp32 (each row's heads contiguous), caches [B, C, kv_heads, hd]
/// contiguous fp32 or bf16; row b attends slots `from[b]..len`. Returns [B, heads * hd],
/// or `None` when the inputs are not what this kernel handles, or the process runs the
/// libtorch path (the caller then uses SDPA).
pub(crate) fn attend(
    q: &Tensor,
    k_cache: &Tensor,
    v_cache: &Tensor,
    len: i64,
    from: &[i64],
    scale: f64,
) -> Option<Tensor> {
    attend_on(CpuPath::active(), q, k_cache, v_cache, len, from, scale)
}

/// `attend` on a given code path.
fn attend_on(
    path: CpuPath,
    q: &Tensor,
    k_cache: &Tensor,
    v_cache: &Tensor,
    len: i64,
    from: &[i64],
    scale: f64,
) -> Option<Tensor> {
    let cpu = |t: &Tensor| t.device() == Device::Cpu;
    if !(path.fused() && cpu(q) && cpu(k_cache) && cpu(v_cache))
        || q.kind() != Kind::Float
        || v_cache.kind() != k_cache.kind()
        || q.requires_grad()
    {
        return None;
    }
    let (b, nh, hd) = q.size3().ok()?;
    let (cb, cap, nkv, chd) = k_cache.size4().ok()?;
    let qs = q.stride();
    let ok = cb == b
        && b > 0
        && chd == hd
        && v_cache.size() == k_cache.size()
        && k_cache.is_contiguous()
        && v_cache.is_contiguous()
        && qs.get(1) == Some(&hd)
        && qs.get(2) == Some(&1)
        && qs.first().is_some_and(|&s| s >= nh * hd)
        && nkv > 0
        && nh % nkv == 0
        && hd > 0
        && (1..=cap).contains(&len)
        && from.len() as i64 == b
        && from.iter().all(|&f| (0..len).contains(&f));
    if !ok {
        return None;
    }
    let sb = *qs.first()? as usize;
    let (b, nh, hd, nkv, cap, len) = (
        b as usize,
        nh as usize,
        hd as usize,
        nkv as usize,
        cap as usize,
        len as usize,
    );
    let shape = Shape {
        nh,
        nkv,
        hd,
        scale: scale as f32,
    };
    let dims = Dims {
        b,
        cap,
        len,
        sb,
        path,
    };
    let caches = [k_cache, v_cache];
    match k_cache.kind() {
        Kind::Float => Some(attend_as::<f32>(q, caches, &shape, &dims, from)),
        Kind::BFloat16 => Some(attend_as::<Bf16>(q, caches, &shape, &dims, from)),
        _ => None,
    }
}

/// Rows, cache slots, slots attended, q's row stride and the code path of an `attend` call.
#[derive(Clone, Copy)]
struct Dims {
    b: usize,
    cap: usize,
    len: usize,
    sb: usize,
    path: CpuPath,
}

/// `attend` over [k, v] caches of `T`s, the shapes checked by the caller.
fn attend_as<T: KvElem>(
    q: &Tensor,
    [k_cache, v_cache]: [&Tensor; 2],
    shape: &Shape,
    d: &Dims,
    from: &[i64],
) -> Tensor {
    let (
        Dims {
            b,
            cap,
            len,
            sb,
            path,
        },
        nh,
        hd,
    ) = (*d, shape.nh, shape.hd);
    let w = shape.nkv * hd;
    let out = Tensor::empty([b as i64, (nh * hd) as i64], (Kind::Float, Device::Cpu));
    // SAFETY: all four are CPU tensors alive for this call, q and out float32, the
    // caches of T's kind (checked by `attend`). The caches are contiguous with
    // b * cap * w elements; q's rows start every sb >= nh * hd elements and hold
    // nh * hd contiguous ones (strides checked above), so offsets 0..(b - 1) * sb +
    // nh * hd are within its storage. Nothing else touches them during the call; `out`
    // is fresh, contiguous, with b * nh * hd elements, and written only through the
    // slice made here.
    let (qd, kd, vd, od) = unsafe {
        (
            std::slice::from_raw_parts(q.data_ptr() as *const f32, (b - 1) * sb + nh * hd),
            std::slice::from_raw_parts(k_cache.data_ptr() as *const T, b * cap * w),
            std::slice::from_raw_parts(v_cache.data_ptr() as *const T, b * cap * w),
            std::slice::from_raw_parts_mut(out.data_ptr() as *mut f32, b * nh * hd),
        )
    };
    let od_ptr = SendPtr(od.as_mut_ptr());
    let row = |r: usize, o: &mut [f32], scores: &mut Vec<f32>| {
        let lo = from.get(r).copied().unwrap_or(0) as usize;
        let base = r * cap * w;
        if let (Some(qr), Some(kr), Some(vr)) = (
            qd.get(r * sb..r * sb + nh * hd),
            kd.get(base + lo * w..base + len * w),
            vd.get(base + lo * w..base + len * w),
        ) {
            attend_row(path, shape, qr, Window::one(kr, vr), scores, o);
        }
    };
    let threads = (tch::get_num_threads().max(1) as usize).min(b);
    if threads <= 1 {
        let mut scores = Vec::new();
        for (r, o) in od.chunks_exact_mut(nh * hd).enumerate() {
            row(r, o, &mut scores);
        }
    } else if let Some(run) = omp::parallel() {
        // On libtorch's own OpenMP threads: they are awake (spinning) right after the
        // previous op, where a second pool would have to share their cores.
        let chunk = |part: usize, parts: usize| {
            let per = b.div_ceil(parts.max(1));
            let mut scores = Vec::new();
            for r in part * per..((part + 1) * per).min(b) {
                // SAFETY: parts write disjoint rows r of `od` (row ranges do not overlap).
                let o = unsafe { std::slice::from_raw_parts_mut(od_ptr.at(r * nh * hd), nh * hd) };
                row(r, o, &mut scores);
            }
        };
        run(threads, &chunk);
    } else {
        let per = b.div_ceil(threads);
        od.par_chunks_mut(per * nh * hd)
            .enumerate()
            .for_each(|(c, chunk)| {
                let mut scores = Vec::new();
                for (i, o) in chunk.chunks_exact_mut(nh * hd).enumerate() {
                    row(c * per + i, o, &mut scores);
                }
            });
    }
    out
}

#[derive(Clone, Copy)]
pub(crate) struct SendPtr(pub(crate) *mut f32);
// SAFETY: used only to hand disjoint row ranges of one output buffer to worker threads.
unsafe impl Send for SendPtr {}
unsafe impl Sync for SendPtr {}
impl SendPtr {
    /// The pointer `i` elements on (a method, so closures capture the Sync wrapper).
    pub(crate) fn at(self, i: usize) -> *mut f32 {
        self.0.wrapping_add(i)
    }
}

/// libtorch's OpenMP runtime (libgomp), found at run time; absent, callers use rayon.
pub(crate) mod omp {
    type Body = unsafe extern "C" fn(*mut std::ffi::c_void);
    type Parallel = unsafe extern "C" fn(Body, *mut std::ffi::c_void, u32, u32);
    type Query = unsafe extern "C" fn() -> i32;

    struct Fns {
        parallel: Parallel,
        thread_num: Query,
        num_threads: Query,
    }

    fn fns() -> Option<&'static Fns> {
        static FNS: std::sync::OnceLock<Option<Fns>> = std::sync::OnceLock::new();
        FNS.get_or_init(|| {
            let sym = |name: &std::ffi::CStr| {
                // SAFETY: dlsym with RTLD_DEFAULT and a NUL-terminated name only looks up.
                let p = unsafe { libc::dlsym(libc::RTLD_DEFAULT, name.as_ptr()) };
                (!p.is_null()).then_some(p)
            };
            let (p, t, n) = (
                sym(c"GOMP_parallel")?,
                sym(c"omp_get_thread_num")?,
                sym(c"omp_get_num_threads")?,
            );
            // SAFETY: these are libgomp's documented C entry points with these
            // signatures (GOMP_parallel is what `#pragma omp parallel` compiles to).
            unsafe {
                Some(Fns {
                    parallel: std::mem::transmute::<*mut libc::c_void, Parallel>(p),
                    thread_num: std::mem::transmute::<*mut libc::c_void, Query>(t),
                    num_threads: std::mem::transmute::<*mut libc::c_void, Query>(n),
                })
            }
        })
        .as_ref()
    }

    type Work<'a> = &'a (dyn Fn(usize, usize) + Sync);

    /// `run(threads, work)` calls `work(part, parts)` once on each thread of an OpenMP
    /// parallel region of `threads` threads.
    pub(crate) fn parallel() -> Option<impl Fn(usize, Work)> {
        let f = fns()?;
        Some(move |threads: usize, work: Work| {
            struct Ctx<'a> {
                work: Work<'a>,
                f: &'static Fns,
            }
            unsafe extern "C" fn body(data: *mut std::ffi::c_void) {
                // SAFETY: `data` is the Ctx passed below, alive until GOMP_parallel returns.
                let ctx = unsafe { &*(data as *const Ctx) };
                // SAFETY: called inside the parallel region, as libgomp requires.
                let (me, n) = unsafe { ((ctx.f.thread_num)(), (ctx.f.num_threads)()) };
                (ctx.work)(me.max(0) as usize, n.max(1) as usize);
            }
            let ctx = Ctx { work, f };
            // SAFETY: GOMP_parallel runs `body(&ctx)` on every thread of the team and
            // returns after all of them finished; ctx outlives the call.
            unsafe {
                (f.parallel)(
                    body,
                    &ctx as *const Ctx as *mut std::ffi::c_void,
                    threads as u32,
                    0,
                )
            };
        })
    }
}

pub(crate) struct Shape {
    pub(crate) nh: usize,
    pub(crate) nkv: usize,
    pub(crate) hd: usize,
    pub(crate) scale: f32,
}

/// An element of a KV cache: fp32, or bf16.
pub(crate) trait KvElem: Copy + Send + Sync + 'static {
    fn to_f32(self) -> f32;

    /// `x` stored as this type (rounded to nearest even for bf16).
    fn from_f32(x: f32) -> Self;

    /// Lanes 0..16 = `p[0..16]` as fp32.
    ///
    /// # Safety
    /// The CPU has AVX-512F; `p[0..16]` is readable.
    #[cfg(target_arch = "x86_64")]
    unsafe fn load16(p: *const Self) -> std::arch::x86_64::__m512;

    /// Lanes 0..8 = `p[0..8]` as fp32.
    ///
    /// # Safety
    /// The CPU has AVX2; `p[0..8]` is readable.
    #[cfg(target_arch = "x86_64")]
    unsafe fn load8(p: *const Self) -> std::arch::x86_64::__m256;
}

impl KvElem for f32 {
    fn to_f32(self) -> f32 {
        self
    }

    fn from_f32(x: f32) -> f32 {
        x
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f")]
    unsafe fn load16(p: *const f32) -> std::arch::x86_64::__m512 {
        // SAFETY: the caller guarantees 16 readable floats.
        unsafe { std::arch::x86_64::_mm512_loadu_ps(p) }
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn load8(p: *const f32) -> std::arch::x86_64::__m256 {
        // SAFETY: the caller guarantees 8 readable floats.
        unsafe { std::arch::x86_64::_mm256_loadu_ps(p) }
    }
}

/// A bfloat16: the upper 16 bits of an fp32 (libtorch's `BFloat16` layout).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(transparent)]
pub(crate) struct Bf16(pub(crate) u16);

impl KvElem for Bf16 {
    fn to_f32(self) -> f32 {
        f32::from_bits(u32::from(self.0) << 16)
    }

    /// Round to nearest, ties to even, NaN to the quiet NaN: libtorch's fp32 -> bf16.
    fn from_f32(x: f32) -> Bf16 {
        if x.is_nan() {
            return Bf16(0x7fc0);
        }
        let bits = x.to_bits();
        let even = (bits >> 16) & 1;
        Bf16((bits.wrapping_add(0x7fff + even) >> 16) as u16)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f")]
    unsafe fn load16(p: *const Bf16) -> std::arch::x86_64::__m512 {
        use std::arch::x86_64::*;
        // SAFETY: the caller guarantees 16 readable bf16s (32 bytes).
        unsafe {
            let half = _mm256_loadu_si256(p.cast());
            _mm512_castsi512_ps(_mm512_slli_epi32::<16>(_mm512_cvtepu16_epi32(half)))
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn load8(p: *const Bf16) -> std::arch::x86_64::__m256 {
        use std::arch::x86_64::*;
        // SAFETY: the caller guarantees 8 readable bf16s (16 bytes).
        unsafe {
            let half = _mm_loadu_si128(p.cast());
            _mm256_castsi256_ps(_mm256_slli_epi32::<16>(_mm256_cvtepu16_epi32(half)))
        }
    }
}

/// The slots one row attends, in slot order, as two runs of [L_i, nkv * hd] keys and
/// values: a prefix the row shares with others (read from one row's cache for all of
/// them, so a GRPO group's prompt streams from memory once per step, not once per
/// completion) and then the row's own slots. Either run may be empty.
#[derive(Clone, Copy)]
pub(crate) struct Window<'a, T = f32> {
    pub(crate) k: [&'a [T]; 2],
    pub(crate) v: [&'a [T]; 2],
}

impl<'a, T: KvElem> Window<'a, T> {
    /// One run of slots.
    pub(crate) fn one(k: &'a [T], v: &'a [T]) -> Window<'a, T> {
        Window {
            k: [k, &[]],
            v: [v, &[]],
        }
    }

    /// Slot rows of `w` elements, in order (keys when `values` is false).
    fn slots(&self, w: usize, values: bool) -> impl Iterator<Item = &'a [T]> {
        let [a, b] = if values { self.v } else { self.k };
        a.chunks_exact(w.max(1)).chain(b.chunks_exact(w.max(1)))
    }
}

/// One sequence, all heads: `q` [nh * hd], the window's keys/values [L, nkv * hd],
/// `out` [nh * hd].
pub(crate) fn attend_row<T: KvElem>(
    path: CpuPath,
    s: &Shape,
    q: &[f32],
    win: Window<T>,
    sc: &mut Vec<f32>,
    out: &mut [f32],
) {
    #[cfg(target_arch = "x86_64")]
    if path == CpuPath::Avx512 && s.hd.is_multiple_of(16) && s.nh <= 256 && path.available() {
        // SAFETY: the CPU has AVX-512F, AVX2 and FMA (`available` checked it).
        let done = unsafe {
            match s.hd / 16 {
                1 => avx512::attend_row::<T, 1, 16>(s, q, win, sc, out),
                2 => avx512::attend_row::<T, 2, 8>(s, q, win, sc, out),
                4 => avx512::attend_row::<T, 4, 4>(s, q, win, sc, out),
                8 => avx512::attend_row::<T, 8, 2>(s, q, win, sc, out),
                _ => false,
            }
        };
        if done {
            return;
        }
    }
    #[cfg(target_arch = "x86_64")]
    if matches!(path, CpuPath::Avx512 | CpuPath::Avx2)
        && s.hd.is_multiple_of(8)
        && CpuPath::Avx2.available()
    {
        // SAFETY: the CPU has AVX2 and FMA (`available` checked it).
        unsafe { avx2::attend_row(s, q, win, sc, out) };
        return;
    }
    let _ = path;
    attend_row_scalar(s, q, win, sc, out);
}

/// `avx2::attend_row` for head sizes of C x 16 lanes, with every accumulator in registers.
/// Scores: blocks of 16 slots, each slot's dot product a vector of partial sums, the 16
/// reduced together by a transpose-add tree (45 shuffles/adds per 16 scores, where a
/// horizontal sum per score costs 8 dependent ones). Weighted sum of values: H heads at
/// a time, their H x C accumulators held across all slots. Sums over slots run in slot
/// order as before; only the order inside each dot product differs.
#[cfg(target_arch = "x86_64")]
mod avx512 {
    use super::{KvElem, Shape, Window};
    use std::arch::x86_64::*;

    /// Elements of the values prefetched while the scores are computed (8 KB in fp32).
    const PREFETCH_FLOATS: usize = 2048;

    /// sum(v[j]) in lane j.
    #[target_feature(enable = "avx512f")]
    fn sum16(v: &[__m512; 16]) -> __m512 {
        let pd = _mm512_castps_pd;
        let ps = _mm512_castpd_ps;
        let mut t = [_mm512_setzero_ps(); 8];
        for (i, t) in t.iter_mut().enumerate() {
            let (a, b) = (v[2 * i], v[2 * i + 1]);
            *t = _mm512_add_ps(_mm512_unpacklo_ps(a, b), _mm512_unpackhi_ps(a, b));
        }
        // u[i], 128-bit lane L, element e: lane L's sum of v[4i + e].
        let mut u = [_mm512_setzero_ps(); 4];
        for (i, u) in u.iter_mut().enumerate() {
            let (a, b) = (pd(t[2 * i]), pd(t[2 * i + 1]));
            *u = _mm512_add_ps(ps(_mm512_unpacklo_pd(a, b)), ps(_mm512_unpackhi_pd(a, b)));
        }
        let lanes = |a: __m512, b: __m512| {
            _mm512_add_ps(
                _mm512_shuffle_f32x4::<0b10_00_10_00>(a, b),
                _mm512_shuffle_f32x4::<0b11_01_11_01>(a, b),
            )
        };
        let (w0, w1) = (lanes(u[0], u[1]), lanes(u[2], u[3]));
        lanes(w0, w1)
    }

    /// Returns false (nothing written) when the shapes are not the ones it handles.
    #[target_feature(enable = "avx512f,avx2,fma")]
    pub(super) fn attend_row<T: KvElem, const C: usize, const H: usize>(
        s: &Shape,
        q: &[f32],
        win: Window<T>,
        sc: &mut Vec<f32>,
        out: &mut [f32],
    ) -> bool {
        let (nh, hd, w) = (s.nh, s.hd, s.nkv * s.hd);
        if hd != 16 * C || q.len() < nh * hd || out.len() < nh * hd || w == 0 || s.nkv == 0 {
            return false;
        }
        let g = nh / s.nkv;
        // Slots 0..n1 in the first run, n1..n in the second.
        let n1 = win.k[0].len() / w;
        let n = n1 + win.k[1].len() / w;
        if win.v[0].len() < n1 * w || win.v[1].len() < (n - n1) * w || g == 0 {
            return false;
        }
        // Scores [nh, np], np = n rounded up to 16 (the tail block's extra lanes unused).
        let np = n.div_ceil(16) * 16;
        // Every score read below is written first: no need to clear.
        if sc.len() < nh * np {
            sc.resize(nh * np, 0.0);
        }
        let (qp, sp) = (q.as_ptr(), sc.as_mut_ptr());
        let (k0, k1) = (win.k[0].as_ptr(), win.k[1].as_ptr());
        let (v0, v1) = (win.v[0].as_ptr(), win.v[1].as_ptr());
        // Slot l's keys / values (l < n: inside its run, by the lengths checked above).
        let key = |l: usize| {
            if l < n1 {
                k0.wrapping_add(l * w)
            } else {
                k1.wrapping_add((l - n1) * w)
            }
        };
        let value = |l: usize| {
            if l < n1 {
                v0.wrapping_add(l * w)
            } else {
                v1.wrapping_add((l - n1) * w)
            }
        };
        // The values stream starts after the keys': ask for its first lines now, so
        // they arrive while the scores are computed.
        for c in (0..(n * w).min(PREFETCH_FLOATS)).step_by(16) {
            // SAFETY: a prefetch of an address inside slot c / w < n of the window.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(value(c / w).add(c % w).cast()) };
        }
        let scale = _mm512_set1_ps(s.scale);
        for blk in 0..np / 16 {
            let l0 = blk * 16;
            let live = (n - l0).min(16);
            // The block's slot addresses, once for all heads.
            let mut slot = [k0; 16];
            for (i, p) in slot.iter_mut().enumerate().take(live) {
                *p = key(l0 + i);
            }
            for h in 0..nh {
                let ko = (h / g) * hd;
                let mut parts = [_mm512_setzero_ps(); 16];
                // SAFETY: h * hd + hd <= nh * hd <= q.len(); slot l < n reads
                // ko + hd <= w floats from key(l), inside its run; the store is inside
                // sc's nh * np floats.
                unsafe {
                    let mut qv = [_mm512_setzero_ps(); C];
                    for (j, x) in qv.iter_mut().enumerate() {
                        *x = _mm512_loadu_ps(qp.add(h * hd + 16 * j));
                    }
                    for (i, part) in parts.iter_mut().enumerate().take(live) {
                        let kr = slot[i].add(ko);
                        let mut acc = _mm512_mul_ps(qv[0], T::load16(kr));
                        for (j, x) in qv.iter().enumerate().skip(1) {
                            acc = _mm512_fmadd_ps(*x, T::load16(kr.add(16 * j)), acc);
                        }
                        *part = acc;
                    }
                    _mm512_storeu_ps(sp.add(h * np + l0), _mm512_mul_ps(sum16(&parts), scale));
                }
            }
        }
        let mut inv = [0f32; 256];
        for (p, i) in sc.chunks_exact_mut(np.max(1)).take(nh).zip(inv.iter_mut()) {
            if let Some(p) = p.get_mut(..n) {
                *i = 1.0 / super::avx2::softmax_numerators(p);
            }
        }
        let sp = sc.as_ptr();
        let op = out.as_mut_ptr();
        for h0 in (0..nh).step_by(H) {
            let heads = (nh - h0).min(H);
            let mut voff = [0usize; H];
            for (b, o) in voff.iter_mut().enumerate().take(heads) {
                *o = ((h0 + b) / g) * hd;
            }
            let mut acc = [[_mm512_setzero_ps(); C]; H];
            // SAFETY: slot l < n reads voff + hd <= w floats from value(l), inside its
            // run; scores
            // (h0 + b) * np + l < nh * np; the stores write out[h * hd..(h + 1) * hd]
            // with h < nh.
            unsafe {
                for (l, vr) in (0..n).map(|l| (l, value(l))) {
                    for (b, a) in acc.iter_mut().enumerate().take(heads) {
                        let p = _mm512_set1_ps(*sp.add((h0 + b) * np + l));
                        for (j, x) in a.iter_mut().enumerate() {
                            *x = _mm512_fmadd_ps(p, T::load16(vr.add(voff[b] + 16 * j)), *x);
                        }
                    }
                }
                for (b, a) in acc.iter().enumerate().take(heads) {
                    let h = h0 + b;
                    let i = _mm512_set1_ps(inv.get(h).copied().unwrap_or(0.0));
                    for (j, x) in a.iter().enumerate() {
                        _mm512_storeu_ps(op.add(h * hd + 16 * j), _mm512_mul_ps(*x, i));
                    }
                }
            }
        }
        true
    }
}

fn attend_row_scalar<T: KvElem>(
    s: &Shape,
    q: &[f32],
    win: Window<T>,
    sc: &mut Vec<f32>,
    out: &mut [f32],
) {
    let (g, hd, w) = (s.nh / s.nkv, s.hd, s.nkv * s.hd);
    let n = win.slots(w, false).count();
    sc.clear();
    sc.resize(s.nh * n, 0.0);
    for (l, kr) in win.slots(w, false).enumerate() {
        for (h, qh) in q.chunks_exact(hd).enumerate() {
            let kh = kr.chunks_exact(hd).nth(h / g).unwrap_or(&[]);
            let d: f32 = qh.iter().zip(kh).map(|(a, b)| a * b.to_f32()).sum();
            if let Some(x) = sc.get_mut(h * n + l) {
                *x = d * s.scale;
            }
        }
    }
    let mut inv = vec![0f32; s.nh];
    for (p, i) in sc.chunks_exact_mut(n.max(1)).zip(inv.iter_mut()) {
        let m = p.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        p.iter_mut().for_each(|x| *x = (*x - m).exp());
        *i = 1.0 / p.iter().sum::<f32>();
    }
    out.iter_mut().for_each(|o| *o = 0.0);
    for (l, vr) in win.slots(w, true).enumerate() {
        for (h, oh) in out.chunks_exact_mut(hd).enumerate() {
            let p = sc.get(h * n + l).copied().unwrap_or(0.0);
            let vh = vr.chunks_exact(hd).nth(h / g).unwrap_or(&[]);
            oh.iter_mut()
                .zip(vh)
                .for_each(|(o, x)| *o += p * x.to_f32());
        }
    }
    for (oh, i) in out.chunks_exact_mut(hd).zip(&inv) {
        oh.iter_mut().for_each(|o| *o *= i);
    }
}

#[cfg(target_arch = "x86_64")]
pub(crate) use avx2::exp8;

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::{KvElem, Shape, Window};
    use std::arch::x86_64::*;

    /// `attend_row_scalar` with 8-wide AVX2/FMA loops over fp32 or bf16 slots (widened to
    /// fp32 as they load, so both kinds take the same arithmetic); `s.hd` is a multiple of 8.
    #[target_feature(enable = "avx2,fma")]
    pub(super) fn attend_row<T: KvElem>(
        s: &Shape,
        q: &[f32],
        win: Window<T>,
        sc: &mut Vec<f32>,
        out: &mut [f32],
    ) {
        let (g, hd, w) = (s.nh / s.nkv, s.hd, s.nkv * s.hd);
        let n = win.slots(w, false).count();
        sc.clear();
        sc.resize(s.nh * n, 0.0);
        for (l, kr) in win.slots(w, false).enumerate() {
            for (h, qh) in q.chunks_exact(hd).enumerate() {
                let kh = kr.get((h / g) * hd..(h / g + 1) * hd).unwrap_or(&[]);
                let mut acc = _mm256_setzero_ps();
                for (a, b) in qh.chunks_exact(8).zip(kh.chunks_exact(8)) {
                    acc = _mm256_fmadd_ps(load(a), load_kv(b), acc);
                }
                if let Some(x) = sc.get_mut(h * n + l) {
                    *x = hsum(acc) * s.scale;
                }
            }
        }
        let mut inv = [0f32; 64];
        let mut inv_heap = Vec::new();
        let inv: &mut [f32] = if s.nh <= 64 {
            &mut inv[..s.nh]
        } else {
            inv_heap.resize(s.nh, 0.0);
            &mut inv_heap
        };
        for (p, i) in sc.chunks_exact_mut(n.max(1)).zip(inv.iter_mut()) {
            *i = 1.0 / softmax_numerators(p);
        }
        out.iter_mut().for_each(|o| *o = 0.0);
        for (l, vr) in win.slots(w, true).enumerate() {
            for (h, oh) in out.chunks_exact_mut(hd).enumerate() {
                let p = _mm256_set1_ps(sc.get(h * n + l).copied().unwrap_or(0.0));
                let vh = vr.get((h / g) * hd..(h / g + 1) * hd).unwrap_or(&[]);
                for (o, x) in oh.chunks_exact_mut(8).zip(vh.chunks_exact(8)) {
                    store(o, _mm256_fmadd_ps(p, load_kv(x), load(o)));
                }
            }
        }
        for (oh, &i) in out.chunks_exact_mut(hd).zip(inv.iter()) {
            let i = _mm256_set1_ps(i);
            for o in oh.chunks_exact_mut(8) {
                store(o, _mm256_mul_ps(load(o), i));
            }
        }
    }

    /// Loads 8 cache elements as fp32; `c` has at least 8 (every caller passes an 8-chunk).
    #[target_feature(enable = "avx2,fma")]
    fn load_kv<T: KvElem>(c: &[T]) -> __m256 {
        assert!(c.len() >= 8);
        // SAFETY: c holds at least 8 elements (asserted); the CPU has AVX2.
        unsafe { T::load8(c.as_ptr()) }
    }

    /// p <- exp(p - max p); returns the sum.
    #[target_feature(enable = "avx2,fma")]
    pub(super) fn softmax_numerators(p: &mut [f32]) -> f32 {
        let mut mv = _mm256_set1_ps(f32::NEG_INFINITY);
        let chunks = p.len() / 8 * 8;
        let (body, tail) = p.split_at_mut(chunks);
        for c in body.chunks_exact(8) {
            mv = _mm256_max_ps(mv, load(c));
        }
        let mut m = hmax(mv);
        for &x in tail.iter() {
            m = m.max(x);
        }
        let mb = _mm256_set1_ps(m);
        let mut acc = _mm256_setzero_ps();
        for c in body.chunks_exact_mut(8) {
            let e = exp8(_mm256_sub_ps(load(c), mb));
            store(c, e);
            acc = _mm256_add_ps(acc, e);
        }
        let mut total = hsum(acc);
        for x in tail.iter_mut() {
            *x = super::exp_f32(*x - m);
            total += *x;
        }
        total
    }

    /// The 8-lane form of `super::exp_f32` (same constants and steps).
    #[target_feature(enable = "avx2,fma")]
    pub(crate) fn exp8(x: __m256) -> __m256 {
        let x = _mm256_max_ps(
            _mm256_min_ps(x, _mm256_set1_ps(88.0)),
            _mm256_set1_ps(-87.0),
        );
        let n = _mm256_floor_ps(_mm256_fmadd_ps(
            x,
            _mm256_set1_ps(std::f32::consts::LOG2_E),
            _mm256_set1_ps(0.5),
        ));
        let r = _mm256_fnmadd_ps(n, _mm256_set1_ps(super::LN2_HI), x);
        let r = _mm256_fnmadd_ps(n, _mm256_set1_ps(super::LN2_LO), r);
        let mut p = _mm256_set1_ps(super::EXP_P[0]);
        for &c in super::EXP_P.iter().skip(1) {
            p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(c));
        }
        let y = _mm256_add_ps(
            _mm256_fmadd_ps(_mm256_mul_ps(p, r), r, r),
            _mm256_set1_ps(1.0),
        );
        let bits = _mm256_slli_epi32::<23>(_mm256_add_epi32(
            _mm256_cvtps_epi32(n),
            _mm256_set1_epi32(127),
        ));
        _mm256_mul_ps(y, _mm256_castsi256_ps(bits))
    }

    #[target_feature(enable = "avx2,fma")]
    fn hsum(v: __m256) -> f32 {
        let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
        let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        let s = _mm_add_ss(s, _mm_movehdup_ps(s));
        _mm_cvtss_f32(s)
    }

    #[target_feature(enable = "avx2,fma")]
    fn hmax(v: __m256) -> f32 {
        let s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
        let s = _mm_max_ps(s, _mm_movehl_ps(s, s));
        let s = _mm_max_ss(s, _mm_movehdup_ps(s));
        _mm_cvtss_f32(s)
    }

    /// Loads 8 floats; `c` has at least 8 (every caller passes an 8-chunk).
    #[target_feature(enable = "avx2,fma")]
    fn load(c: &[f32]) -> __m256 {
        assert!(c.len() >= 8);
        // SAFETY: c holds at least 8 floats (asserted); loadu has no alignment needs.
        unsafe { _mm256_loadu_ps(c.as_ptr()) }
    }

    #[target_feature(enable = "avx2,fma")]
    fn store(c: &mut [f32], v: __m256) {
        assert!(c.len() >= 8);
        // SAFETY: c holds at least 8 floats (asserted); storeu has no alignment needs.
        unsafe { _mm256_storeu_ps(c.as_mut_ptr(), v) }
    }
}

pub(crate) const LN2_HI: f32 = 0.693_359_4;
pub(crate) const LN2_LO: f32 = -2.121_944_4e-4;
pub(crate) const EXP_P: [f32; 6] = [
    1.987_569_1e-4,
    1.398_199_9e-3,
    8.333_452e-3,
    4.166_579_6e-2,
    1.666_666_5e-1,
    0.5,
];

/// exp for x <= 0 (Cephes `expf`: x = n ln2 + r, |r| <= ln2/2, degree-6 polynomial;
/// within 2 ulp). Below -87 it returns about 1.6e-38 instead of smaller values, which no
/// softmax can tell apart from 0.
pub(crate) fn exp_f32(x: f32) -> f32 {
    let x = x.clamp(-87.0, 88.0);
    let n = (x * std::f32::consts::LOG2_E + 0.5).floor();
    let r = x - n * LN2_HI - n * LN2_LO;
    let mut p = EXP_P[0];
    for &c in EXP_P.iter().skip(1) {
        p = p * r + c;
    }
    let y = p * r * r + r + 1.0;
    y * f32::from_bits(((n as i32 + 127) as u32) << 23)
}

#[cfg(test)]
mod tests {
    use super::super::cpu::for_each_available;
    use super::*;

    const U: f64 = f32::EPSILON as f64 / 2.0;

    /// A bound on |ours - SDPA| for one row, from the arithmetic rather than fitted: each
    /// score is a dot product of hd terms summed in a different order by each side
    /// (|error| <= 2 hd u sum|q_i k_i| scale, u = 2^-24, once per side), a score error d
    /// moves a softmax weight by a factor within e^(+-2d), and the weighted sum of L
    /// values and the normaliser add (L + hd) u relative error per side; the exp of each
    /// side is within 2 ulp. So |o - o'| <= max|v| (4 d_max + 2 (L + hd + 4) u).
    fn attention_bound(q: &[f32], k: &[Vec<f32>], v_max: f32, scale: f32) -> f64 {
        let hd = q.len();
        let d_max = k
            .iter()
            .map(|kl| {
                let dot: f64 = q.iter().zip(kl).map(|(a, b)| (a * b).abs() as f64).sum();
                2.0 * hd as f64 * U * dot * scale as f64
            })
            .fold(0.0, f64::max);
        v_max as f64 * (4.0 * d_max + 2.0 * (k.len() + hd + 4) as f64 * U)
    }

    /// The decode kernel on every path this CPU has against libtorch's SDPA over each row's
    /// window, for multi-head and grouped-query shapes, head sizes the vector paths take
    /// (16, 32, 64, 128) and one they do not (6), windows of different starts and lengths
    /// that are not multiples of 8. The libtorch path declines (the caller runs SDPA).
    #[test]
    fn decode_attention_matches_sdpa() {
        let _g = tch::no_grad_guard();
        for_each_available(|path| {
            tch::manual_seed(4);
            for (nh, nkv, hd) in [
                (4i64, 4i64, 16i64),
                (6, 2, 16),
                (4, 2, 6),
                (2, 1, 32),
                (8, 8, 32),
                (8, 2, 32),
                (4, 4, 64),
                (2, 2, 128),
                (20, 4, 16),
            ] {
                let (b, cap, len) = (4i64, 40i64, 37i64);
                let opts = (Kind::Float, Device::Cpu);
                let q = Tensor::randn([b, nh, hd], opts) * 2.0;
                let kc = Tensor::randn([b, cap, nkv, hd], opts);
                let vc = Tensor::randn([b, cap, nkv, hd], opts);
                let from = [0i64, 5, 36, 21];
                let scale = 1.0 / (hd as f64).sqrt();
                let got = attend_on(path, &q, &kc, &vc, len, &from, scale);
                let Some(got) = got else {
                    assert_eq!(path, CpuPath::Libtorch, "{path} declined {nh}/{nkv}/{hd}");
                    continue;
                };
                assert!(path.fused());
                assert_eq!(got.size(), [b, nh * hd]);
                let v_max = vc.abs().max().double_value(&[]) as f32;
                for (r, &f) in from.iter().enumerate() {
                    let r = r as i64;
                    let k = kc.get(r).narrow(0, f, len - f).transpose(0, 1).unsqueeze(0);
                    let v = vc.get(r).narrow(0, f, len - f).transpose(0, 1).unsqueeze(0);
                    let qr = q.get(r).unsqueeze(0).unsqueeze(2);
                    let want = Tensor::scaled_dot_product_attention(
                        &qr,
                        &k,
                        &v,
                        None::<Tensor>,
                        0.0,
                        false,
                        scale,
                        true,
                    )
                    .reshape([nh * hd]);
                    let (g, gr) = (nh / nkv, got.get(r));
                    for h in 0..nh {
                        let qh = Vec::<f32>::try_from(q.get(r).get(h)).unwrap();
                        let keys: Vec<Vec<f32>> = (f..len)
                            .map(|l| Vec::<f32>::try_from(kc.get(r).get(l).get(h / g)).unwrap())
                            .collect();
                        let bound = attention_bound(&qh, &keys, v_max, scale as f32);
                        let err = (gr.narrow(0, h * hd, hd) - want.narrow(0, h * hd, hd))
                            .abs()
                            .max()
                            .double_value(&[]);
                        assert!(
                            err <= bound,
                            "{path} {nh}/{nkv}/{hd} row {r} head {h}: {err:e} > {bound:e}"
                        );
                    }
                }
            }
            // Not handled (the caller falls back to SDPA): a window past the cache, bf16.
            let q = Tensor::randn([1, 2, 8], (Kind::Float, Device::Cpu));
            let c = Tensor::randn([1, 4, 2, 8], (Kind::Float, Device::Cpu));
            assert!(attend_on(path, &q, &c, &c, 5, &[0], 1.0).is_none());
            assert!(attend_on(path, &q, &c, &c, 3, &[3], 1.0).is_none());
            let qb = q.to_kind(Kind::BFloat16);
            let cb = c.to_kind(Kind::BFloat16);
            assert!(attend_on(path, &qb, &cb, &cb, 3, &[0], 1.0).is_none());
        });
    }

    /// A window given as two runs (a shared prefix held elsewhere, then the row's own
    /// slots) gives exactly what the same slots give as one run, for every split point,
    /// on every path this CPU has (head sizes 32, 64, 8 and 6: the 16-lane, 8-lane and
    /// scalar kernels): the sums run over slots in the same order either way.
    #[test]
    fn attention_over_two_runs_equals_one_run() {
        for_each_available(|path| {
            tch::manual_seed(7);
            for (nh, nkv, hd) in [(8, 8, 32), (4, 2, 64), (4, 2, 8), (4, 2, 6)] {
                let n = 37usize;
                let w = nkv * hd;
                let (q, k, v) = (randn(nh * hd), randn(n * w), randn(n * w));
                let shape = attention_shape(nh, nkv, hd);
                let mut scores = Vec::new();
                let mut want = vec![0f32; nh * hd];
                attend_row(
                    path,
                    &shape,
                    &q,
                    Window::one(&k, &v),
                    &mut scores,
                    &mut want,
                );
                for split in [0, 1, 16, 17, 36, 37] {
                    // The prefix from separate buffers: the kernel must read the runs it is
                    // given.
                    let (kp, vp) = (k[..split * w].to_vec(), v[..split * w].to_vec());
                    let win = Window {
                        k: [&kp, &k[split * w..]],
                        v: [&vp, &v[split * w..]],
                    };
                    let mut got = vec![f32::NAN; nh * hd];
                    attend_row(path, &shape, &q, win, &mut scores, &mut got);
                    assert_eq!(got, want, "{path} {nh}/{nkv}/{hd} split at {split}");
                }
            }
        });
    }

    /// Keys and values rounded to bf16 here equal libtorch's fp32 -> bf16 conversion
    /// (ties to even, overflow to infinity, NaN stays NaN), and attention over a bf16
    /// window equals, bit for bit, the fp32 kernel over the same values widened, on every
    /// path this CPU has: each kernel widens bf16 to fp32 as it loads and then runs the
    /// fp32 arithmetic unchanged.
    #[test]
    fn bf16_cache_rounds_as_libtorch_and_attends_as_fp32() {
        tch::manual_seed(3);
        let mut xs =
            Vec::<f32>::try_from(&(Tensor::randn([4000], (Kind::Float, Device::Cpu)) * 50.0))
                .unwrap();
        // Ties (half-way between bf16 neighbours, both parities), tiny, huge and odd values.
        xs.extend([
            f32::from_bits(0x3f80_8000),
            f32::from_bits(0x3f81_8000),
            f32::from_bits(0xbf80_8000),
            1e-40,
            -1e-42,
            3.4e38,
            f32::MAX,
            f32::INFINITY,
            f32::NEG_INFINITY,
            0.0,
            -0.0,
            f32::NAN,
        ]);
        let torch = Tensor::from_slice(&xs)
            .to_kind(Kind::BFloat16)
            .to_kind(Kind::Float);
        let torch = Vec::<f32>::try_from(&torch).unwrap();
        for (x, t) in xs.iter().zip(&torch) {
            let ours = Bf16::from_f32(*x).to_f32();
            assert!(
                ours.to_bits() == t.to_bits() || (ours.is_nan() && t.is_nan()),
                "{x:e}: ours {ours:e}, libtorch {t:e}"
            );
        }
        for_each_available(|path| {
            for (nh, nkv, hd) in [(8, 8, 32), (4, 2, 64), (4, 2, 6), (4, 2, 8)] {
                let (n, w) = (29usize, nkv * hd);
                let q = randn(nh * hd);
                let (k16, v16): (Vec<Bf16>, Vec<Bf16>) = (
                    randn(n * w).into_iter().map(Bf16::from_f32).collect(),
                    randn(n * w).into_iter().map(Bf16::from_f32).collect(),
                );
                let widen = |v: &[Bf16]| v.iter().map(|x| x.to_f32()).collect::<Vec<f32>>();
                let (k32, v32) = (widen(&k16), widen(&v16));
                let shape = attention_shape(nh, nkv, hd);
                let mut scores = Vec::new();
                let (mut want, mut got) = (vec![0f32; nh * hd], vec![f32::NAN; nh * hd]);
                let one = Window::one(&k32[..], &v32[..]);
                attend_row(path, &shape, &q, one, &mut scores, &mut want);
                // Split into two runs too: the shared-prefix path.
                let win = Window {
                    k: [&k16[..10 * w], &k16[10 * w..]],
                    v: [&v16[..10 * w], &v16[10 * w..]],
                };
                attend_row(path, &shape, &q, win, &mut scores, &mut got);
                assert_eq!(got, want, "{path} {nh}/{nkv}/{hd}");
            }
        });
    }

    #[test]
    fn polynomial_exp_is_within_a_few_ulp() {
        let mut x = -87.0f32;
        while x <= 0.0 {
            let (got, want) = (exp_f32(x), (x as f64).exp());
            let rel = ((got as f64 - want) / want).abs();
            assert!(rel < 3e-7, "exp({x}) = {got}, want {want}");
            x += 0.013;
        }
    }

    /// `len` standard normal floats from libtorch's (seeded) generator.
    fn randn(len: usize) -> Vec<f32> {
        Vec::<f32>::try_from(&Tensor::randn([len as i64], (Kind::Float, Device::Cpu))).unwrap()
    }

    fn attention_shape(nh: usize, nkv: usize, hd: usize) -> Shape {
        Shape {
            nh,
            nkv,
            hd,
            scale: 1.0 / (hd as f32).sqrt(),
        }
    }
}
