//! Puzzle and search environments: countdown, sudoku, mazes, games.

use crate::EnvEntry;

pub mod arith_search;
pub mod common;
pub mod countdown;
pub mod game_of_24;
pub mod maze;
pub mod n_queens;
pub mod sliding_puzzle;
pub mod sudoku;
pub mod tower_of_hanoi;

/// This domain's builtin environments, alphabetised by name.
pub fn entries() -> Vec<EnvEntry> {
    vec![
        EnvEntry::family::<countdown::Countdown>(),
        EnvEntry::family::<game_of_24::GameOf24>(),
        EnvEntry::family::<maze::Maze>(),
        EnvEntry::family::<sudoku::MiniSudoku>(),
        EnvEntry::family::<n_queens::NQueens>(),
        EnvEntry::family::<sliding_puzzle::SlidingPuzzle>(),
        EnvEntry::family::<sudoku::Sudoku>(),
        EnvEntry::family::<tower_of_hanoi::TowerOfHanoi>(),
    ]
}
