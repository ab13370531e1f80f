//! Math environments: exact arithmetic, algebra, number theory, combinatorics, word problems.

use crate::EnvEntry;

pub mod arithmetic;
pub mod chained_sums;
pub mod decimals_percentages;
pub mod fractions;
pub mod gcd_lcm;
pub mod grade;
pub mod long_division;
pub mod modular_arithmetic;
pub mod modular_exponentiation;
pub mod order_of_operations;
pub mod powers_roots;
pub mod prime_factorization;
pub mod radix_conversion;
pub mod surd;

/// This domain's builtin environments, alphabetised by name.
pub fn entries() -> Vec<EnvEntry> {
    vec![
        EnvEntry::family::<arithmetic::Arithmetic>(),
        EnvEntry::family::<chained_sums::ChainedSums>(),
        EnvEntry::family::<decimals_percentages::DecimalsPercentages>(),
        EnvEntry::family::<fractions::Fractions>(),
        EnvEntry::family::<gcd_lcm::GcdLcm>(),
        EnvEntry::family::<long_division::LongDivision>(),
        EnvEntry::family::<modular_arithmetic::ModularArithmetic>(),
        EnvEntry::family::<modular_exponentiation::ModularExponentiation>(),
        EnvEntry::family::<order_of_operations::OrderOfOperations>(),
        EnvEntry::family::<powers_roots::PowersRoots>(),
        EnvEntry::family::<prime_factorization::PrimeFactorization>(),
        EnvEntry::family::<radix_conversion::RadixConversion>(),
    ]
}
