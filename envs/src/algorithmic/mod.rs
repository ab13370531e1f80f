//! Algorithmic environments: sorting, set operations, bits, encodings, dates, matrices.

use crate::EnvEntry;

pub mod base_conversion;
pub mod bit_operations;
pub mod calendar;
pub mod date_arithmetic;
pub mod day_of_week;
pub mod dedup;
pub mod game_of_life;
pub mod matrix_multiply;
pub mod matrix_transpose;
pub mod run_length;
pub mod set_operations;
pub mod sorting;

/// This domain's builtin environments, alphabetised by name.
pub fn entries() -> Vec<EnvEntry> {
    vec![
        EnvEntry::family::<base_conversion::BaseConversion>(),
        EnvEntry::family::<bit_operations::BitOperations>(),
        EnvEntry::family::<date_arithmetic::DateArithmetic>(),
        EnvEntry::family::<day_of_week::DayOfWeek>(),
        EnvEntry::family::<dedup::Dedup>(),
        EnvEntry::family::<game_of_life::GameOfLife>(),
        EnvEntry::family::<matrix_multiply::MatrixMultiply>(),
        EnvEntry::family::<matrix_transpose::MatrixTranspose>(),
        EnvEntry::family::<run_length::RunLength>(),
        EnvEntry::family::<set_operations::SetOperations>(),
        EnvEntry::family::<sorting::Sorting>(),
    ]
}
