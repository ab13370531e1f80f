//! verigym's command line as a library. [`cli::run`] runs every command of the `verigym`
//! binary on a registry you pass, so a binary of your own, with your families registered,
//! is the whole command line for them (examples/custom_cli.rs):
//!
//! ```no_run
//! fn main() -> std::process::ExitCode {
//!     let registry = verigym_envs::Registry::builtin();
//!     // registry.register_family::<MyFamily>().unwrap();
//!     verigym::cli::run(registry)
//! }
//! ```
//!
//! Thin by design — environments, verifiers and the learner live in their crates. This
//! crate does not link libtorch, so `list`, `sample`, `score`, `verify`, `exec`, `export`,
//! `reward-server` and `eval` of an endpoint start in milliseconds; commands that train or
//! sample a model are handed to `verigym-train`.

pub mod cli;
mod exec;
mod export;
mod handoff;
mod jsonl;
mod label;
mod new_env;
mod play;
mod sample;
mod score;
mod serve;
mod trainer;
mod verify;
