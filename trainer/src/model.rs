//! Decoder-only transformer of the Llama / Qwen2 family (issue 7).
