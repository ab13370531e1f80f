//! Environments from outside the crate: processes speaking the JSON-lines protocol
//! ([`process`]), datasets with a chosen verifier ([`dataset`]), and the TOML envs file that
//! declares both ([`envs_file`]); and the protocol's server side ([`serve_env`]), which
//! serves any registered env, Rust families included, to such a process client.

pub mod dataset;
pub mod envs_file;
pub mod process;
pub mod serve_env;
