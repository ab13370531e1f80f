//! Puzzle and search environments: countdown, sudoku, mazes, games.

use crate::EnvEntry;

pub mod countdown;

/// This domain's builtin environments, alphabetised by name.
pub fn entries() -> Vec<EnvEntry> {
    vec![EnvEntry::family::<countdown::Countdown>()]
}
