//! Math environments: exact arithmetic, algebra, number theory, combinatorics, word problems.

use crate::EnvEntry;

pub mod arithmetic;

/// This domain's builtin environments, alphabetised by name.
pub fn entries() -> Vec<EnvEntry> {
    vec![EnvEntry::family::<arithmetic::Arithmetic>()]
}
