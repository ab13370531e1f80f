//! Math environments: exact arithmetic, algebra, number theory, combinatorics, word problems.

use crate::EnvEntry;

pub mod arithmetic;
pub mod chained_sums;
pub mod combinatorics;
pub mod datasets;
pub mod decimals_percentages;
pub mod fractions;
pub mod gcd_lcm;
pub mod grade;
pub mod linear_equation;
pub mod linear_system;
pub mod long_division;
pub mod modular_arithmetic;
pub mod modular_exponentiation;
pub mod number_sequences;
pub mod order_of_operations;
pub mod polynomial;
pub mod polynomial_evaluation;
pub mod polynomial_expansion;
pub mod powers_roots;
pub mod prime_factorization;
pub mod probability;
pub mod quadratic_roots;
pub mod radix_conversion;
pub mod surd;
pub mod word_problems;

/// This domain's builtin environments, alphabetised by name.
pub fn entries() -> Vec<EnvEntry> {
    vec![
        EnvEntry::family::<arithmetic::Arithmetic>(),
        EnvEntry::family::<chained_sums::ChainedSums>(),
        EnvEntry::family::<combinatorics::Combinatorics>(),
        EnvEntry::family::<decimals_percentages::DecimalsPercentages>(),
        EnvEntry::family::<fractions::Fractions>(),
        EnvEntry::family::<gcd_lcm::GcdLcm>(),
        EnvEntry::family::<linear_equation::LinearEquation>(),
        EnvEntry::family::<linear_system::LinearSystem>(),
        EnvEntry::family::<long_division::LongDivision>(),
        EnvEntry::family::<modular_arithmetic::ModularArithmetic>(),
        EnvEntry::family::<modular_exponentiation::ModularExponentiation>(),
        EnvEntry::family::<number_sequences::NumberSequences>(),
        EnvEntry::family::<order_of_operations::OrderOfOperations>(),
        EnvEntry::family::<polynomial_evaluation::PolynomialEvaluation>(),
        EnvEntry::family::<polynomial_expansion::PolynomialExpansion>(),
        EnvEntry::family::<powers_roots::PowersRoots>(),
        EnvEntry::family::<prime_factorization::PrimeFactorization>(),
        EnvEntry::family::<probability::Probability>(),
        EnvEntry::family::<quadratic_roots::QuadraticRoots>(),
        EnvEntry::family::<radix_conversion::RadixConversion>(),
        EnvEntry::family::<word_problems::WordProblems>(),
    ]
}
