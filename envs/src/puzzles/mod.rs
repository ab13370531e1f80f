//! Puzzle and search environments: countdown, sudoku, mazes, games.

use crate::EnvEntry;

pub mod arith_search;
pub mod countdown;
pub mod cryptarithm;
pub mod game_of_24;
pub mod graph_colouring;
pub mod knights_tour;
pub mod maze;
pub mod n_queens;
pub mod sliding_puzzle;
pub mod sudoku;
pub mod topological_sort;
pub mod tower_of_hanoi;
pub mod weighted_shortest_path;
pub mod word_ladder;

/// This domain's builtin environments, alphabetised by name.
pub fn entries() -> Vec<EnvEntry> {
    vec![
        EnvEntry::family::<countdown::Countdown>(),
        EnvEntry::family::<cryptarithm::Cryptarithm>(),
        EnvEntry::family::<game_of_24::GameOf24>(),
        EnvEntry::family::<graph_colouring::GraphColouring>(),
        EnvEntry::family::<knights_tour::KnightsTour>(),
        EnvEntry::family::<maze::Maze>(),
        EnvEntry::family::<sudoku::MiniSudoku>(),
        EnvEntry::family::<n_queens::NQueens>(),
        EnvEntry::family::<sliding_puzzle::SlidingPuzzle>(),
        EnvEntry::family::<sudoku::Sudoku>(),
        EnvEntry::family::<topological_sort::TopologicalSort>(),
        EnvEntry::family::<tower_of_hanoi::TowerOfHanoi>(),
        EnvEntry::family::<weighted_shortest_path::WeightedShortestPath>(),
        EnvEntry::family::<word_ladder::WordLadder>(),
    ]
}
