//! Criterion benches of the puzzle and logic families: task generation and verification of
//! the reference solution, per family, at difficulty 1, 5 and 10.
//!
//! Run with `cargo bench -p verigym-envs --bench puzzles`; add `-- <filter>` (e.g.
//! `-- sudoku/generate`) for one family.
//!
//! With `VERIGYM_RATES=name:level,name:level` set, the binary instead prints one JSON line
//! per family with its generation rate on the calling thread (tasks/second over
//! `VERIGYM_RATE_SECONDS`, default 2): the mode benches/compare_reasoning_gym.py uses to
//! time us against reasoning-gym in the same run. `VERIGYM_RATE_CONFIG` (a JSON object)
//! overrides config fields of the family being timed.

use criterion::{black_box, criterion_group, BenchmarkId, Criterion};
use std::time::Duration;
use verigym_envs::{Domain, EnvOptions, Environment, Registry};

/// The families under test: every logic and puzzle family in the registry.
fn families() -> Vec<String> {
    Registry::builtin_names(&[Domain::Logic, Domain::Puzzle])
}

fn build(name: &str, difficulty: u8) -> Box<dyn Environment> {
    Registry::builtin_at(name, difficulty).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn generation(c: &mut Criterion) {
    for name in &families() {
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
    for name in &families() {
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

/// Tasks per second of `Environment::generate` (full tasks: prompt, gold, reference
/// solution) over consecutive indices, after a short warm-up.
fn rate(name: &str, level: u8, config: Option<serde_json::Value>, seconds: f64) -> (u64, f64) {
    let env = Registry::builtin()
        .build(
            name,
            &EnvOptions {
                difficulty: Some(level),
                config,
            },
        )
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    for i in 0..20 {
        black_box(env.generate(7, 1_000_000 + i).unwrap());
    }
    let start = std::time::Instant::now();
    let mut n = 0u64;
    loop {
        for _ in 0..16 {
            black_box(env.generate(7, n).unwrap());
            n += 1;
        }
        let elapsed = start.elapsed().as_secs_f64();
        if elapsed >= seconds {
            return (n, elapsed);
        }
    }
}

criterion_group!(benches, generation, verification);

fn main() {
    if let Ok(spec) = std::env::var("VERIGYM_RATES") {
        let seconds: f64 = std::env::var("VERIGYM_RATE_SECONDS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(2.0);
        for item in spec.split(',').filter(|s| !s.is_empty()) {
            let (name, level) = item.split_once(':').unwrap_or((item, "5"));
            let level: u8 = level.parse().expect("level must be 1..=10");
            let config = std::env::var("VERIGYM_RATE_CONFIG")
                .ok()
                .map(|c| serde_json::from_str(&c).expect("VERIGYM_RATE_CONFIG must be JSON"));
            let (n, elapsed) = rate(name, level, config, seconds);
            println!(
                "{{\"env\": \"{name}\", \"level\": {level}, \"n\": {n}, \"seconds\": {elapsed:.4}, \"rate\": {:.1}}}",
                n as f64 / elapsed
            );
        }
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
