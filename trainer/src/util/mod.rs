//! Helpers every stage uses: run configs and overrides, JSON/JSONL files, progress bars and
//! plots.

pub mod config;
pub mod json;
pub mod plot;
pub mod progress;
