//! Code environments: function writing, output prediction, program synthesis, datasets.
//!
//! Python-backed families run programs in the sandbox of `verigym_verifiers::sandbox`;
//! `list_dsl` and `code_output` are verified in Rust without Python.

use crate::EnvEntry;

pub mod datasets;
pub mod function;
pub mod list_dsl;
pub mod output;
pub mod python;
pub mod specs;

/// This domain's builtin environments, alphabetised by name.
pub fn entries() -> Vec<EnvEntry> {
    vec![
        EnvEntry::family::<function::CodeFunction>(),
        EnvEntry::family::<output::CodeOutput>(),
        EnvEntry::family::<list_dsl::ListDsl>(),
    ]
}
