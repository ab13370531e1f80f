//! Character-level text environments: counting, spelling, reversing, ciphers.

use crate::EnvEntry;

/// This domain's builtin environments, alphabetised by name.
pub fn entries() -> Vec<EnvEntry> {
    vec![]
}
