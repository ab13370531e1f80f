//! Preference environments: open-ended text with no verifier, scored by a hidden quality
//! function, with what a reward-model experiment builds around it: mediocre demonstrations
//! ([`demonstrations`]) and simulated people who compare or rate completions ([`raters`]).

use crate::EnvEntry;

pub mod demonstrations;
pub mod product_blurb;
pub mod raters;

/// This domain's builtin environments, alphabetised by name.
pub fn entries() -> Vec<EnvEntry> {
    vec![EnvEntry::family::<product_blurb::ProductBlurb>()]
}
