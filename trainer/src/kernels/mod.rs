//! verigym's own CPU kernels: the SIMD attention, the packed-panel GEMM and the vector
//! math that the model's fast path (`policy::engine`, the fused decode engine) and its
//! decode attention are built from; where they do not apply the model falls back to
//! libtorch's layers. `cpu` picks the code path (AVX-512, AVX2 + FMA,
//! portable, or libtorch) once per process; every kernel takes the path explicitly, so
//! tests run each path the machine has.

pub(crate) mod attention;
pub mod cpu;
pub(crate) mod gemm;
pub(crate) mod vector;

/// Error bounds the kernels' tests (and their callers' tests) assert, derived from fp32
/// arithmetic rather than fitted to one CPU.
#[cfg(test)]
pub(crate) mod tolerance {
    /// The unit roundoff of fp32, 2^-24.
    pub(crate) const U: f64 = f32::EPSILON as f64 / 2.0;

    /// How far a fused path's logits may sit from the libtorch layers': every matrix
    /// product of the network (`products`: four per layer plus the head) sums its `k`
    /// terms in another order, or with fused multiply-adds, than libtorch, which moves each
    /// output by at most 2 k u sum|a_i w_i|; RMSNorm and attention add a few ulp more, and
    /// errors pass through later layers scaled by weights of magnitude below one. With
    /// sum|a_i w_i| below `magnitude` (the largest |logit| plus one: the test models'
    /// activations and logits are O(1)), the bound is 2 k u magnitude per product, summed
    /// over the products, doubled for the norms and the exp.
    pub(crate) fn logit_tolerance(k: usize, products: usize, magnitude: f64) -> f64 {
        2.0 * products as f64 * (2.0 * k as f64 * U * magnitude)
    }
}
