//! Math environments: exact arithmetic, algebra, number theory, combinatorics, word problems.

use crate::EnvEntry;

pub mod arithmetic;
pub mod chained_sums;
pub mod decimals_percentages;
pub mod fractions;
pub mod grade;
pub mod long_division;
pub mod order_of_operations;
pub mod surd;

/// This domain's builtin environments, alphabetised by name.
pub fn entries() -> Vec<EnvEntry> {
    vec![
        EnvEntry::family::<arithmetic::Arithmetic>(),
        EnvEntry::family::<chained_sums::ChainedSums>(),
        EnvEntry::family::<decimals_percentages::DecimalsPercentages>(),
        EnvEntry::family::<fractions::Fractions>(),
        EnvEntry::family::<long_division::LongDivision>(),
        EnvEntry::family::<order_of_operations::OrderOfOperations>(),
    ]
}
