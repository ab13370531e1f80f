//! Criterion benches of the puzzle and logic families: task generation and verification of
//! the reference solution, per family, at difficulty 1, 5 and 10.
//!
//! Run with `cargo bench -p verigym-envs --bench puzzles`; add `-- <filter>` (e.g.
//! `-- sudoku/generate`) for one family. The reasoning-gym comparison lives in
//! benches/compare_reasoning_gym.py.

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion};
use std::time::Duration;
use verigym_envs::{EnvOptions, Environment, Registry};

/// The families benched here (the puzzle and logic domains).
const FAMILIES: &[&str] = &[
    "countdown",
    "cryptarithm",
    "game_of_24",
    "graph_colouring",
    "knights_knaves",
    "knights_tour",
    "maze",
    "mini_sudoku",
    "n_queens",
    "propositional_sat",
    "sliding_puzzle",
    "sudoku",
    "syllogisms",
    "topological_sort",
    "tower_of_hanoi",
    "weighted_shortest_path",
    "word_ladder",
    "zebra",
];

fn build(name: &str, difficulty: u8) -> Box<dyn Environment> {
    Registry::builtin()
        .build(
            name,
            &EnvOptions {
                difficulty: Some(difficulty),
                config: None,
            },
        )
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn generation(c: &mut Criterion) {
    for name in FAMILIES {
        let mut group = c.benchmark_group(format!("{name}/generate"));
        group
            .measurement_time(Duration::from_secs(2))
            .warm_up_time(Duration::from_millis(300))
            .sample_size(20);
        for d in [1u8, 5, 10] {
            let env = build(name, d);
            let mut i = 0u64;
            group.bench_with_input(BenchmarkId::from_parameter(d), &d, |b, _| {
                b.iter(|| {
                    i += 1;
                    black_box(env.generate(1, i).unwrap())
                })
            });
        }
        group.finish();
    }
}

fn verification(c: &mut Criterion) {
    for name in FAMILIES {
        let mut group = c.benchmark_group(format!("{name}/verify"));
        group
            .measurement_time(Duration::from_secs(1))
            .warm_up_time(Duration::from_millis(200))
            .sample_size(20);
        let env = build(name, 5);
        let tasks: Vec<_> = (0..64).map(|i| env.generate(2, i).unwrap()).collect();
        let mut i = 0usize;
        group.bench_function("reference", |b| {
            b.iter(|| {
                i = (i + 1) % tasks.len();
                let t = &tasks[i];
                black_box(env.verify(t, t.solution.as_deref().unwrap_or("")).unwrap())
            })
        });
        group.finish();
    }
}

criterion_group!(benches, generation, verification);
criterion_main!(benches);
