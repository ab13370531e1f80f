//! Conformance suite: every registered environment must meet the contract of
//! `Environment` (DESIGN.md). A new env gets these checks by being registered. The checks
//! live in `verigym_envs::conformance`, so envs outside this crate run the same ones.

use verigym_envs::conformance::{self, ConformanceError};
use verigym_envs::env::merge_config;
use verigym_envs::{EnvEntry, Registry};

fn for_every_env(check: impl Fn(&EnvEntry) -> Result<(), ConformanceError>) {
    let registry = Registry::builtin();
    assert!(!registry.entries().is_empty());
    for entry in registry.entries() {
        if let Err(e) = check(entry) {
            panic!("{e}");
        }
    }
}

#[test]
fn default_config_round_trips_through_serde() {
    for_every_env(conformance::config_round_trips);
}

#[test]
fn unknown_config_fields_are_rejected() {
    for_every_env(conformance::unknown_config_fields_are_rejected);
    // Builtins are stricter than the shared check: they refuse at build time.
    for_every_env(|entry| {
        let opts = verigym_envs::EnvOptions {
            difficulty: None,
            config: Some(serde_json::json!({"no_such_field": 1})),
        };
        assert!(entry.build(&opts).is_err(), "{} built", entry.name);
        Ok(())
    });
    let _ = merge_config::<serde_json::Value>; // the helper is public for custom envs
}

#[test]
fn same_seed_and_index_give_byte_identical_tasks() {
    for_every_env(conformance::tasks_are_deterministic);
}

#[test]
fn different_seeds_give_different_tasks() {
    for_every_env(conformance::seeds_give_different_tasks);
}

#[test]
fn reference_solutions_score_one_at_every_level() {
    for_every_env(conformance::reference_solutions_score_one);
}

#[test]
fn empty_garbage_and_huge_inputs_score_zero_without_error() {
    for_every_env(conformance::garbage_scores_zero);
}

#[test]
fn a_thousand_tasks_generate_without_error() {
    for_every_env(|entry| conformance::many_tasks_generate(entry, 1000));
}

#[test]
fn tasks_from_another_env_are_refused() {
    for_every_env(conformance::tasks_of_another_env_are_refused);
}

#[test]
fn multi_turn_episodes_replay_deterministically() {
    for_every_env(conformance::episodes_are_deterministic);
}

#[test]
fn multi_turn_corrupted_final_turns_score_zero() {
    for_every_env(conformance::corrupted_final_turns_score_zero);
}

#[test]
fn hostile_tool_calls_get_error_results_and_the_episode_goes_on() {
    for_every_env(conformance::hostile_tool_calls_are_survived);
}
