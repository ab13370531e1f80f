//! Whole runs built from the stages: the README's demo and the experiments, on a small
//! from-scratch policy (`common`).

pub mod common;
pub mod demo;
pub mod error;
pub mod experiments;
