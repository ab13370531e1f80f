//! A packed-panel GEMM for the decode engine, y = x W^T with the epilogues a decoder layer
//! needs (bias, residual add, SiLU(gate) * up), in the BLIS / llama.cpp layout: the weight
//! packed once into 32-column panels of [k][32] floats, an R x 32 register tile of
//! accumulators per panel, broadcast-FMA over k. One tile per code path: AVX-512 (8 x 32,
//! two 16-lane vectors a row), AVX2 + FMA (3 x 32, four 8-lane vectors a row: 12
//! accumulators, 3 broadcasts and one panel vector fill the 16 registers) and portable Rust
//! (6 x 32 in strips of 8 columns, separate multiply and add, which the compiler vectorises
//! for any target). The
//! paths differ only in the order of the additions inside each dot product (and fused vs
//! separate multiply-add), which the tests bound.

use super::attention::exp_f32;
use super::cpu::CpuPath;

/// Columns of a packed panel (two 16-lane or four 8-lane vectors).
pub(crate) const NR: usize = 32;

/// A weight W [n, k] of `y = x W^T`, packed as ceil(n / 32) panels of [k][32] floats (zero
/// padded past n). For the fused gate/up weight a panel holds 16 gate columns in lanes 0..16
/// and the same 16 up columns in lanes 16..32, and `n` counts outputs (intermediate size).
pub(crate) struct Packed {
    data: Vec<f32>,
    n: usize,
    k: usize,
    silu_mul: bool,
}

impl Packed {
    pub(crate) fn new(w: &[f32], n: usize, k: usize) -> Packed {
        let mut data = vec![0f32; n.div_ceil(NR) * k * NR];
        for (col, row) in w.chunks_exact(k).take(n).enumerate() {
            let (p, j) = (col / NR, col % NR);
            for (kk, &x) in row.iter().enumerate() {
                if let Some(d) = data.get_mut((p * k + kk) * NR + j) {
                    *d = x;
                }
            }
        }
        Packed {
            data,
            n,
            k,
            silu_mul: false,
        }
    }

    /// `w` is the fused [2 * inter, k] weight: gate rows 0..inter, up rows inter..2 * inter.
    pub(crate) fn gate_up(w: &[f32], inter: usize, k: usize) -> Packed {
        let mut data = vec![0f32; inter.div_ceil(16) * k * NR];
        for (col, row) in w.chunks_exact(k).take(2 * inter).enumerate() {
            let (half, c) = (col / inter, col % inter);
            let (p, j) = (c / 16, c % 16 + 16 * half);
            for (kk, &x) in row.iter().enumerate() {
                if let Some(d) = data.get_mut((p * k + kk) * NR + j) {
                    *d = x;
                }
            }
        }
        Packed {
            data,
            n: inter,
            k,
            silu_mul: true,
        }
    }

    /// Output columns per panel.
    fn width(&self) -> usize {
        if self.silu_mul {
            16
        } else {
            NR
        }
    }

    pub(crate) fn panels(&self) -> usize {
        self.n.div_ceil(self.width())
    }
}

/// What every tile of one panel needs besides its rows.
struct Tile<'a> {
    k: usize,
    lda: usize,
    ldc: usize,
    /// Output columns of this panel that exist (the last panel may be partial).
    valid: usize,
    bias: Option<&'a [f32]>,
    add: bool,
    silu_mul: bool,
}

/// out[i, :] = A[i, :] W^T (+ bias) for rows 0..m and the columns of `panels`; `add` adds
/// into out (residual), and a gate/up weight writes silu(gate) * up. Row strides lda / ldc.
/// `path` picks the tile (`Libtorch` is not a tile: it runs the portable one).
///
/// # Safety
/// A holds m rows of w.k floats at stride lda, out m rows of w.n floats at stride ldc;
/// `path` is available on this CPU (`CpuPath::available`).
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn gemm(
    path: CpuPath,
    a: *const f32,
    m: usize,
    lda: usize,
    w: &Packed,
    panels: std::ops::Range<usize>,
    bias: Option<&[f32]>,
    out: *mut f32,
    ldc: usize,
    add: bool,
) {
    let (k, width) = (w.k, w.width());
    for p in panels.start..panels.end.min(w.panels()) {
        let col = p * width;
        let valid = (w.n - col).min(width);
        let t = Tile {
            k,
            lda,
            ldc,
            valid,
            bias: bias.and_then(|bs| bs.get(col..col + valid)),
            add,
            silu_mul: w.silu_mul,
        };
        let b = w.data.as_ptr().wrapping_add(p * k * NR);
        let c = out.wrapping_add(col);
        // SAFETY: the panel holds k * NR floats; rows and columns as the caller's contract.
        unsafe {
            match path {
                #[cfg(target_arch = "x86_64")]
                CpuPath::Avx512 => avx512::panel(&t, m, a, b, c),
                #[cfg(target_arch = "x86_64")]
                CpuPath::Avx2 => avx2::panel(&t, m, a, b, c),
                _ => portable::panel(&t, m, a, b, c),
            }
        }
    }
}

/// Rows i0..i0 + R of a panel, in chunks of at most MR rows, each by `tile::<R>`.
macro_rules! by_tiles {
    ($m:expr, $mr:expr, $lda:expr, $ldc:expr, $a:expr, $c:expr, |$ap:ident, $cp:ident, $rows:ident| $body:expr) => {{
        let mut i = 0;
        while i < $m {
            let $rows = ($m - i).min($mr);
            let ($ap, $cp) = ($a.wrapping_add(i * $lda), $c.wrapping_add(i * $ldc));
            $body;
            i += $rows;
        }
    }};
}

/// SiLU(g) * u, as the vector tiles compute it: g / (1 + exp(-g)) * u.
fn silu_mul(g: f32, u: f32) -> f32 {
    g / (1.0 + exp_f32(-g)) * u
}

/// The portable tile: plain loops the compiler vectorises for any target. A panel's 32
/// columns go in strips of 8, each an R x 8 block of accumulators (12 registers of 4 lanes
/// at R = 6 on a baseline x86-64 or aarch64 target), so they stay in registers.
mod portable {
    use super::{silu_mul, Tile, NR};

    const MR: usize = 6;
    /// Columns per strip.
    const STRIP: usize = 8;

    /// # Safety
    /// As `super::gemm`.
    pub(super) unsafe fn panel(t: &Tile, m: usize, a: *const f32, b: *const f32, c: *mut f32) {
        by_tiles!(m, MR, t.lda, t.ldc, a, c, |ap, cp, rows| {
            // SAFETY: rows ap.. of A and cp.. of out are in bounds (caller's contract).
            unsafe {
                match rows {
                    6 => tile::<6>(t, ap, b, cp),
                    5 => tile::<5>(t, ap, b, cp),
                    4 => tile::<4>(t, ap, b, cp),
                    3 => tile::<3>(t, ap, b, cp),
                    2 => tile::<2>(t, ap, b, cp),
                    _ => tile::<1>(t, ap, b, cp),
                }
            }
        })
    }

    unsafe fn tile<const R: usize>(t: &Tile, a: *const f32, b: *const f32, c: *mut f32) {
        let mut acc = [[0f32; NR]; R];
        // SAFETY: R rows of t.k floats at a (stride lda) and t.k * NR floats at b.
        let (panel, rows) = unsafe {
            (
                std::slice::from_raw_parts(b, t.k * NR),
                std::array::from_fn::<_, R, _>(|i| {
                    std::slice::from_raw_parts(a.add(i * t.lda), t.k)
                }),
            )
        };
        for c0 in (0..NR).step_by(STRIP) {
            let mut strip = [[0f32; STRIP]; R];
            for (kk, bk) in panel.chunks_exact(NR).enumerate() {
                let bs = &bk[c0..c0 + STRIP];
                for (s, row) in strip.iter_mut().zip(&rows) {
                    let av = row[kk];
                    for (x, &bv) in s.iter_mut().zip(bs) {
                        *x += av * bv;
                    }
                }
            }
            for (acc, s) in acc.iter_mut().zip(&strip) {
                acc[c0..c0 + STRIP].copy_from_slice(s);
            }
        }
        for (i, acc) in acc.iter().enumerate() {
            // SAFETY: row i of out holds the panel's `valid` columns.
            let out = unsafe { std::slice::from_raw_parts_mut(c.add(i * t.ldc), t.valid) };
            if t.silu_mul {
                for (j, o) in out.iter_mut().enumerate() {
                    *o = silu_mul(acc[j], acc[j + 16]);
                }
                continue;
            }
            for (j, o) in out.iter_mut().enumerate() {
                let y = acc[j] + t.bias.map_or(0.0, |bs| bs[j]);
                *o = if t.add { *o + y } else { y };
            }
        }
    }
}

/// The AVX2 + FMA tile: 3 rows x 32 columns in 12 accumulators.
#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::super::attention::exp8;
    use super::{Tile, NR};
    use std::arch::x86_64::*;

    const MR: usize = 3;

    /// # Safety
    /// As `super::gemm`; the CPU has AVX2 and FMA.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn panel(t: &Tile, m: usize, a: *const f32, b: *const f32, c: *mut f32) {
        by_tiles!(m, MR, t.lda, t.ldc, a, c, |ap, cp, rows| {
            // SAFETY: rows ap.. of A and cp.. of out are in bounds (caller's contract).
            unsafe {
                match rows {
                    3 => tile::<3>(t, ap, b, cp),
                    2 => tile::<2>(t, ap, b, cp),
                    _ => tile::<1>(t, ap, b, cp),
                }
            }
        })
    }

    /// R rows x 32 columns: acc[i] += A[i, kk] * panel[kk] over kk, then the epilogue.
    #[target_feature(enable = "avx2,fma")]
    unsafe fn tile<const R: usize>(t: &Tile, a: *const f32, b: *const f32, c: *mut f32) {
        let mut acc = [[_mm256_setzero_ps(); 4]; R];
        let mut bp = b;
        // SAFETY: R rows of t.k floats at a (stride lda) and a panel of t.k * NR floats.
        unsafe {
            for kk in 0..t.k {
                let mut av = [_mm256_setzero_ps(); R];
                for (i, x) in av.iter_mut().enumerate() {
                    *x = _mm256_broadcast_ss(&*a.add(i * t.lda + kk));
                }
                for j in 0..4 {
                    let bj = _mm256_loadu_ps(bp.add(8 * j));
                    for (acc, x) in acc.iter_mut().zip(&av) {
                        acc[j] = _mm256_fmadd_ps(*x, bj, acc[j]);
                    }
                }
                bp = bp.add(NR);
            }
        }
        for (i, acc) in acc.iter().enumerate() {
            let row = c.wrapping_add(i * t.ldc);
            if t.silu_mul {
                let one = _mm256_set1_ps(1.0);
                let mut y = [_mm256_setzero_ps(); 2];
                for (j, y) in y.iter_mut().enumerate() {
                    let g = acc[j];
                    let e = exp8(_mm256_sub_ps(_mm256_setzero_ps(), g));
                    *y = _mm256_mul_ps(_mm256_div_ps(g, _mm256_add_ps(one, e)), acc[j + 2]);
                }
                // SAFETY: row i of out holds the panel's valid columns.
                unsafe { store(row, &y, t.valid) };
                continue;
            }
            let mut y = *acc;
            if let Some(bs) = t.bias {
                // SAFETY: bs holds the valid columns.
                let bv = unsafe { load::<4>(bs.as_ptr(), t.valid) };
                y.iter_mut()
                    .zip(bv)
                    .for_each(|(y, b)| *y = _mm256_add_ps(*y, b));
            }
            if t.add {
                // SAFETY: row i of out holds the valid columns.
                let old = unsafe { load::<4>(row, t.valid) };
                y.iter_mut()
                    .zip(old)
                    .for_each(|(y, o)| *y = _mm256_add_ps(o, *y));
            }
            // SAFETY: as above.
            unsafe { store(row, &y, t.valid) };
        }
    }

    /// N vectors from `valid` floats at p (zeros past them).
    ///
    /// # Safety
    /// p[..valid] is readable; valid <= 8 N.
    #[target_feature(enable = "avx2,fma")]
    unsafe fn load<const N: usize>(p: *const f32, valid: usize) -> [__m256; N] {
        let mut buf = [0f32; 32];
        // SAFETY: valid floats readable at p; buf holds 32 >= 8 N >= valid.
        unsafe {
            std::ptr::copy_nonoverlapping(p, buf.as_mut_ptr(), valid.min(8 * N));
            std::array::from_fn(|j| _mm256_loadu_ps(buf.as_ptr().add(8 * j)))
        }
    }

    /// Stores the first `valid` lanes of y (in order) at p.
    ///
    /// # Safety
    /// p[..valid] is writable; valid <= 8 y.len().
    #[target_feature(enable = "avx2,fma")]
    unsafe fn store(p: *mut f32, y: &[__m256], valid: usize) {
        // SAFETY: a whole panel writes its vectors directly; a partial one goes through buf.
        unsafe {
            if valid == 8 * y.len() {
                for (j, v) in y.iter().enumerate() {
                    _mm256_storeu_ps(p.add(8 * j), *v);
                }
                return;
            }
            let mut buf = [0f32; 32];
            for (j, v) in y.iter().enumerate().take(4) {
                _mm256_storeu_ps(buf.as_mut_ptr().add(8 * j), *v);
            }
            std::ptr::copy_nonoverlapping(buf.as_ptr(), p, valid.min(8 * y.len()).min(32));
        }
    }
}

/// The AVX-512 tile: 8 rows x 32 columns in 16 accumulators, masked partial panels.
#[cfg(target_arch = "x86_64")]
mod avx512 {
    use super::super::vector::avx512::{exp16, lanes};
    use super::{Tile, NR};
    use std::arch::x86_64::*;

    const MR: usize = 8;

    /// # Safety
    /// As `super::gemm`; the CPU has AVX-512F and FMA.
    #[target_feature(enable = "avx512f,fma")]
    pub(super) unsafe fn panel(t: &Tile, m: usize, a: *const f32, b: *const f32, c: *mut f32) {
        by_tiles!(m, MR, t.lda, t.ldc, a, c, |ap, cp, rows| {
            // SAFETY: rows ap.. of A and cp.. of out are in bounds (caller's contract).
            unsafe {
                match rows {
                    8 => tile::<8>(t, ap, b, cp),
                    7 => tile::<7>(t, ap, b, cp),
                    6 => tile::<6>(t, ap, b, cp),
                    5 => tile::<5>(t, ap, b, cp),
                    4 => tile::<4>(t, ap, b, cp),
                    3 => tile::<3>(t, ap, b, cp),
                    2 => tile::<2>(t, ap, b, cp),
                    _ => tile::<1>(t, ap, b, cp),
                }
            }
        })
    }

    /// R rows x 32 columns: acc[i] += A[i, kk] * panel[kk] over kk, then the epilogue.
    #[target_feature(enable = "avx512f,fma")]
    unsafe fn tile<const R: usize>(t: &Tile, a: *const f32, b: *const f32, c: *mut f32) {
        let mut acc = [[_mm512_setzero_ps(); 2]; R];
        let mut bp = b;
        // SAFETY: the caller guarantees R rows of t.k floats at a (stride lda) and a panel of
        // t.k * NR floats at b.
        unsafe {
            for kk in 0..t.k {
                let b0 = _mm512_loadu_ps(bp);
                let b1 = _mm512_loadu_ps(bp.add(16));
                for (i, acc) in acc.iter_mut().enumerate() {
                    let av = _mm512_set1_ps(*a.add(i * t.lda + kk));
                    acc[0] = _mm512_fmadd_ps(av, b0, acc[0]);
                    acc[1] = _mm512_fmadd_ps(av, b1, acc[1]);
                }
                bp = bp.add(NR);
            }
        }
        let (m0, m1) = (lanes(t.valid), lanes(t.valid.saturating_sub(16)));
        if t.silu_mul {
            let one = _mm512_set1_ps(1.0);
            for (i, acc) in acc.iter().enumerate() {
                let g = acc[0];
                let e = exp16(_mm512_sub_ps(_mm512_setzero_ps(), g));
                let y = _mm512_mul_ps(_mm512_div_ps(g, _mm512_add_ps(one, e)), acc[1]);
                // SAFETY: masked store of the valid output columns of row i.
                unsafe { _mm512_mask_storeu_ps(c.add(i * t.ldc), m0, y) };
            }
            return;
        }
        let bias = t.bias.map(|bs| {
            // SAFETY: masked loads read only the valid lanes, which `bs` holds.
            unsafe {
                (
                    _mm512_maskz_loadu_ps(m0, bs.as_ptr()),
                    _mm512_maskz_loadu_ps(m1, bs.as_ptr().wrapping_add(16)),
                )
            }
        });
        for (i, acc) in acc.iter().enumerate() {
            let (mut y0, mut y1) = (acc[0], acc[1]);
            if let Some((b0, b1)) = bias {
                y0 = _mm512_add_ps(y0, b0);
                y1 = _mm512_add_ps(y1, b1);
            }
            let row = c.wrapping_add(i * t.ldc);
            // SAFETY: masked loads/stores touch only the valid columns of row i.
            unsafe {
                if t.add {
                    y0 = _mm512_add_ps(_mm512_maskz_loadu_ps(m0, row), y0);
                    y1 = _mm512_add_ps(_mm512_maskz_loadu_ps(m1, row.wrapping_add(16)), y1);
                }
                _mm512_mask_storeu_ps(row, m0, y0);
                _mm512_mask_storeu_ps(row.wrapping_add(16), m1, y1);
            }
        }
    }
}
