//! The binary's command handlers: argument structs and entry points, so `main.rs` only
//! dispatches (the library below stays free of `anyhow` and of clap's argument types).

pub mod bench_grpo;
pub mod data;
pub mod eval;
pub mod policy;
pub mod rm;
pub mod serve;
pub mod train;
