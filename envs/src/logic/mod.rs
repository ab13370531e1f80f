//! Logic environments: knights and knaves, zebra puzzles, syllogisms, satisfiability.

use crate::EnvEntry;

pub mod knights_knaves;
pub mod propositional_sat;
pub mod syllogisms;
pub mod zebra;

/// This domain's builtin environments, alphabetised by name.
pub fn entries() -> Vec<EnvEntry> {
    vec![
        EnvEntry::family::<knights_knaves::KnightsKnaves>(),
        EnvEntry::family::<propositional_sat::PropositionalSat>(),
        EnvEntry::family::<syllogisms::Syllogisms>(),
        EnvEntry::family::<zebra::Zebra>(),
    ]
}
