//! Logic environments: knights and knaves, zebra puzzles, syllogisms, satisfiability.

use crate::EnvEntry;

/// This domain's builtin environments, alphabetised by name.
pub fn entries() -> Vec<EnvEntry> {
    vec![]
}
