//! Science environments: chemistry (balancing, molar mass, stoichiometry), unit conversion.

use crate::EnvEntry;

pub mod chem;
pub mod chemical_balancing;
pub mod molar_mass;
pub mod reactions;
pub mod stoichiometry;
pub mod unit_conversion;

/// This domain's builtin environments, alphabetised by name.
pub fn entries() -> Vec<EnvEntry> {
    vec![
        EnvEntry::family::<chemical_balancing::ChemicalBalancing>(),
        EnvEntry::family::<molar_mass::MolarMass>(),
        EnvEntry::family::<stoichiometry::Stoichiometry>(),
        EnvEntry::family::<unit_conversion::UnitConversion>(),
    ]
}
