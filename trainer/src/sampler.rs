//! Batched sampler with a KV cache (issue 7).
