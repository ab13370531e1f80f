//! Row-wise vector helpers of the decode engine, one form per code path (AVX-512, AVX2 +
//! FMA, portable): the sum of squares of RMSNorm, rotary embeddings, and the shifted exp
//! of a log-softmax. The vector forms keep libtorch's operation order per element (RoPE as
//! x*cos then + rolled*sin, no fused multiply-add); sums differ only in association.

use super::attention::exp_f32;
use super::cpu::CpuPath;

/// Sum of x[i]^2 (in lanes of the path's vector width, as libtorch's vectorised reduction;
/// the order of the additions differs from a serial sum only in rounding).
pub(crate) fn sum_squares(path: CpuPath, x: &[f32]) -> f32 {
    #[cfg(target_arch = "x86_64")]
    match path {
        CpuPath::Avx512 if x.len().is_multiple_of(16) && path.available() => {
            // SAFETY: the CPU has AVX-512F (`available`).
            return unsafe { avx512::sum_squares(x) };
        }
        CpuPath::Avx2 if x.len().is_multiple_of(8) && path.available() => {
            // SAFETY: the CPU has AVX2 and FMA (`available`).
            return unsafe { avx2::sum_squares(x) };
        }
        _ => {}
    }
    let _ = path;
    x.iter().map(|v| v * v).sum()
}

/// x*cos + rotate_half(x)*sin for one head, with the sign of rotate_half in the sin table
/// (as model.rs: `x * cos` then `+ roll(x, hd/2) * sin`).
pub(crate) fn rope(path: CpuPath, x: &mut [f32], cos: &[f32], sin: &[f32]) {
    let fits = |lanes: usize| {
        (x.len() / 2).is_multiple_of(lanes)
            && !x.is_empty()
            && cos.len() == x.len()
            && sin.len() == x.len()
            && path.available()
    };
    #[cfg(target_arch = "x86_64")]
    match path {
        CpuPath::Avx512 if fits(16) => {
            // SAFETY: the CPU has AVX-512F and FMA (`available`); lengths checked.
            unsafe { avx512::rope(x, cos, sin) };
            return;
        }
        CpuPath::Avx2 if fits(8) => {
            // SAFETY: the CPU has AVX2 and FMA (`available`); lengths checked.
            unsafe { avx2::rope(x, cos, sin) };
            return;
        }
        _ => {}
    }
    let _ = fits;
    let half = x.len() / 2;
    let mut buf = [0f32; 512];
    let Some(orig) = buf.get_mut(..x.len()) else {
        return;
    };
    orig.copy_from_slice(x);
    for (i, o) in x.iter_mut().enumerate() {
        let rolled = orig.get((i + half) % (2 * half)).copied().unwrap_or(0.0);
        let (c, s) = (
            cos.get(i).copied().unwrap_or(0.0),
            sin.get(i).copied().unwrap_or(0.0),
        );
        *o = orig.get(i).copied().unwrap_or(0.0) * c + rolled * s;
    }
}

/// out[i] = exp((x[i] - max) - lse).
pub(crate) fn exp_shifted(path: CpuPath, x: &[f32], max: f32, lse: f32, out: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    match path {
        CpuPath::Avx512 if path.available() => {
            // SAFETY: the CPU has AVX-512F and FMA (`available`).
            unsafe { avx512::exp_shifted(x, max, lse, out) };
            return;
        }
        CpuPath::Avx2 if path.available() => {
            // SAFETY: the CPU has AVX2 and FMA (`available`).
            unsafe { avx2::exp_shifted(x, max, lse, out) };
            return;
        }
        _ => {}
    }
    for (o, &v) in out.iter_mut().zip(x) {
        *o = exp_f32((v - max) - lse);
    }
}

#[cfg(target_arch = "x86_64")]
pub(crate) mod avx512 {
    use std::arch::x86_64::*;

    /// The mask of the first `n` of 16 lanes.
    pub(crate) fn lanes(n: usize) -> u16 {
        if n >= 16 {
            u16::MAX
        } else {
            ((1u32 << n) - 1) as u16
        }
    }

    /// `super::sum_squares`; x.len() is a multiple of 16.
    #[target_feature(enable = "avx512f")]
    pub(super) fn sum_squares(x: &[f32]) -> f32 {
        let mut acc = _mm512_setzero_ps();
        for c in x.chunks_exact(16) {
            // SAFETY: c holds 16 floats.
            let v = unsafe { _mm512_loadu_ps(c.as_ptr()) };
            acc = _mm512_fmadd_ps(v, v, acc);
        }
        _mm512_reduce_add_ps(acc)
    }

    /// `super::rope` for heads whose half is a multiple of 16: lanes i and i + half pair up.
    /// Same products and sum per element (x*cos, then + rolled*sin).
    #[target_feature(enable = "avx512f,fma")]
    pub(super) fn rope(x: &mut [f32], cos: &[f32], sin: &[f32]) {
        let half = x.len() / 2;
        let (xp, cp, sp) = (x.as_mut_ptr(), cos.as_ptr(), sin.as_ptr());
        for j in (0..half).step_by(16) {
            // SAFETY: j + half + 16 <= x.len() == cos.len() == sin.len() (caller checked).
            unsafe {
                let lo = _mm512_loadu_ps(xp.add(j));
                let hi = _mm512_loadu_ps(xp.add(j + half));
                let out_lo = _mm512_add_ps(
                    _mm512_mul_ps(lo, _mm512_loadu_ps(cp.add(j))),
                    _mm512_mul_ps(hi, _mm512_loadu_ps(sp.add(j))),
                );
                let out_hi = _mm512_add_ps(
                    _mm512_mul_ps(hi, _mm512_loadu_ps(cp.add(j + half))),
                    _mm512_mul_ps(lo, _mm512_loadu_ps(sp.add(j + half))),
                );
                _mm512_storeu_ps(xp.add(j), out_lo);
                _mm512_storeu_ps(xp.add(j + half), out_hi);
            }
        }
    }

    /// `super::exp_shifted`, 16 lanes at a time.
    #[target_feature(enable = "avx512f,fma")]
    pub(super) fn exp_shifted(x: &[f32], max: f32, lse: f32, out: &mut [f32]) {
        let (m, l) = (_mm512_set1_ps(max), _mm512_set1_ps(lse));
        let n = x.len().min(out.len());
        let mut i = 0;
        while i < n {
            let mask = lanes(n - i);
            // SAFETY: masked loads/stores touch only elements i..min(i + 16, n) of both.
            unsafe {
                let v = _mm512_maskz_loadu_ps(mask, x.as_ptr().add(i));
                let y = exp16(_mm512_sub_ps(_mm512_sub_ps(v, m), l));
                _mm512_mask_storeu_ps(out.as_mut_ptr().add(i), mask, y);
            }
            i += 16;
        }
    }

    /// 16-lane form of model.rs's `exp_f32` (Cephes expf, same constants and steps).
    #[target_feature(enable = "avx512f,fma")]
    pub(crate) fn exp16(x: __m512) -> __m512 {
        use super::super::attention::{EXP_P, LN2_HI, LN2_LO};
        let x = _mm512_max_ps(
            _mm512_min_ps(x, _mm512_set1_ps(88.0)),
            _mm512_set1_ps(-87.0),
        );
        let n =
            _mm512_roundscale_ps::<{ _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC }>(_mm512_fmadd_ps(
                x,
                _mm512_set1_ps(std::f32::consts::LOG2_E),
                _mm512_set1_ps(0.5),
            ));
        let r = _mm512_fnmadd_ps(n, _mm512_set1_ps(LN2_HI), x);
        let r = _mm512_fnmadd_ps(n, _mm512_set1_ps(LN2_LO), r);
        let mut p = _mm512_set1_ps(EXP_P[0]);
        for &c in EXP_P.iter().skip(1) {
            p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(c));
        }
        let y = _mm512_add_ps(
            _mm512_fmadd_ps(_mm512_mul_ps(p, r), r, r),
            _mm512_set1_ps(1.0),
        );
        let bits = _mm512_slli_epi32::<23>(_mm512_add_epi32(
            _mm512_cvtps_epi32(n),
            _mm512_set1_epi32(127),
        ));
        _mm512_mul_ps(y, _mm512_castsi512_ps(bits))
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::super::attention::exp8;
    use std::arch::x86_64::*;

    /// `super::sum_squares`; x.len() is a multiple of 8.
    #[target_feature(enable = "avx2,fma")]
    pub(super) fn sum_squares(x: &[f32]) -> f32 {
        let mut acc = _mm256_setzero_ps();
        for c in x.chunks_exact(8) {
            // SAFETY: c holds 8 floats.
            let v = unsafe { _mm256_loadu_ps(c.as_ptr()) };
            acc = _mm256_fmadd_ps(v, v, acc);
        }
        let s = _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps::<1>(acc));
        let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        let s = _mm_add_ss(s, _mm_movehdup_ps(s));
        _mm_cvtss_f32(s)
    }

    /// `super::rope` for heads whose half is a multiple of 8: lanes i and i + half pair up.
    /// Same products and sum per element (x*cos, then + rolled*sin).
    #[target_feature(enable = "avx2,fma")]
    pub(super) fn rope(x: &mut [f32], cos: &[f32], sin: &[f32]) {
        let half = x.len() / 2;
        let (xp, cp, sp) = (x.as_mut_ptr(), cos.as_ptr(), sin.as_ptr());
        for j in (0..half).step_by(8) {
            // SAFETY: j + half + 8 <= x.len() == cos.len() == sin.len() (caller checked).
            unsafe {
                let lo = _mm256_loadu_ps(xp.add(j));
                let hi = _mm256_loadu_ps(xp.add(j + half));
                let out_lo = _mm256_add_ps(
                    _mm256_mul_ps(lo, _mm256_loadu_ps(cp.add(j))),
                    _mm256_mul_ps(hi, _mm256_loadu_ps(sp.add(j))),
                );
                let out_hi = _mm256_add_ps(
                    _mm256_mul_ps(hi, _mm256_loadu_ps(cp.add(j + half))),
                    _mm256_mul_ps(lo, _mm256_loadu_ps(sp.add(j + half))),
                );
                _mm256_storeu_ps(xp.add(j), out_lo);
                _mm256_storeu_ps(xp.add(j + half), out_hi);
            }
        }
    }

    /// `super::exp_shifted`, 8 lanes at a time and the tail one by one.
    #[target_feature(enable = "avx2,fma")]
    pub(super) fn exp_shifted(x: &[f32], max: f32, lse: f32, out: &mut [f32]) {
        let (m, l) = (_mm256_set1_ps(max), _mm256_set1_ps(lse));
        let n = x.len().min(out.len());
        let body = n / 8 * 8;
        for (o, c) in out[..body]
            .chunks_exact_mut(8)
            .zip(x[..body].chunks_exact(8))
        {
            // SAFETY: both chunks hold 8 floats.
            unsafe {
                let y = exp8(_mm256_sub_ps(
                    _mm256_sub_ps(_mm256_loadu_ps(c.as_ptr()), m),
                    l,
                ));
                _mm256_storeu_ps(o.as_mut_ptr(), y);
            }
        }
        for (o, &v) in out[body..n].iter_mut().zip(&x[body..n]) {
            *o = super::exp_f32((v - max) - lse);
        }
    }
}
