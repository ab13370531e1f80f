//! The env kit: the helpers every builtin family shares, in one place so the answer rules
//! are the same in every domain. Reading the gold spec ([`gold`]), normalising and parsing
//! an answer and rejecting it with a reason ([`answer`]), prompt templates ([`template`]),
//! a chain of thought bounded in size ([`trace`]), and writing numbers and grids ([`write`]).
//!
//! A family that needs only a few of these imports them from here: `use crate::kit::{...}`
//! (or `verigym_envs::kit` from another crate). Domain-specific grading stays with its
//! domain: exact rationals in `math::grade`, chemistry in `science::chem`.

pub mod answer;
pub mod gold;
pub mod template;
pub mod trace;
pub mod write;

pub use answer::{
    excerpt, is_empty_marker, parse_int, parse_int_list, parse_letters, parse_matrix, parse_word,
    parse_words, read_grid, reject, tokens, unwrap_answer, MAX_ITEMS,
};
pub use gold::{gold_i64, gold_ints, gold_matrix, gold_str, gold_strs, read_gold, str_gold};
pub use template::{render, with_format, FORMAT_INSTRUCTIONS};
pub use trace::{Trace, THINKING_BUDGET};
pub use write::{join_ints, letter_name, matrix_text, push_bin, push_int};

/// The entry of a 10-level difficulty table for level `d` (clamped into 1..=10).
pub fn level<T: Copy>(d: u8, table: [T; 10]) -> T {
    table[usize::from(d.clamp(1, 10)) - 1]
}
