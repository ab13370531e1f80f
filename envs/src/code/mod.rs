//! Code environments: function writing, output prediction, program synthesis, datasets.

use crate::EnvEntry;

/// This domain's builtin environments, alphabetised by name.
pub fn entries() -> Vec<EnvEntry> {
    vec![]
}
