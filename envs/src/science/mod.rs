//! Science environments: chemistry (balancing, molar mass, stoichiometry), unit conversion.

use crate::EnvEntry;

/// This domain's builtin environments, alphabetised by name.
pub fn entries() -> Vec<EnvEntry> {
    vec![]
}
