//! Algorithmic environments: sorting, set operations, bits, encodings, dates, matrices.

use crate::EnvEntry;

/// This domain's builtin environments, alphabetised by name.
pub fn entries() -> Vec<EnvEntry> {
    vec![]
}
