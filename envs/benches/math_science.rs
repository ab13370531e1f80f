//! Criterion benches of the math and science families: task generation, and
//! generation plus scoring of the reference solution, per family, on one core. Throughput is
//! reported in tasks/s ("elem/s"); the target is 50,000 tasks/s of generation at the default
//! difficulty (3). Level 10 generation is measured too, to show the cost of the hardest level.
//!
//! Run with `cargo bench -p verigym-envs --bench math_science`; add `-- <filter>` (e.g.
//! `-- molar_mass/`) for one family.

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::time::Duration;
use verigym_envs::env::DEFAULT_DIFFICULTY;
use verigym_envs::{Domain, Environment, Registry};

/// The families under test: every math and science family in the registry.
fn families() -> Vec<String> {
    Registry::builtin_names(&[Domain::Math, Domain::Science])
}

fn build(name: &str, difficulty: u8) -> Box<dyn Environment> {
    Registry::builtin_at(name, difficulty).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn bench_families(c: &mut Criterion) {
    for name in &families() {
        let mut group = c.benchmark_group(name.as_str());
        group
            .throughput(Throughput::Elements(1))
            .measurement_time(Duration::from_millis(1500))
            .warm_up_time(Duration::from_millis(300))
            .sample_size(20);
        for d in [DEFAULT_DIFFICULTY, 10] {
            let env = build(name, d);
            let mut i = 0u64;
            group.bench_with_input(BenchmarkId::new("generate", d), &d, |b, _| {
                b.iter(|| {
                    i += 1;
                    black_box(env.generate(1, i).unwrap())
                })
            });
        }
        let env = build(name, DEFAULT_DIFFICULTY);
        let tasks: Vec<_> = (0..256).map(|i| env.generate(2, i).unwrap()).collect();
        let mut i = 0usize;
        group.bench_function(
            BenchmarkId::new("generate_and_score", DEFAULT_DIFFICULTY),
            |b| {
                b.iter(|| {
                    i = (i + 1) % tasks.len();
                    let t = env.generate(3, i as u64).unwrap();
                    let v = env
                        .verify(&t, t.solution.as_deref().unwrap_or_default())
                        .unwrap();
                    black_box((v, &tasks[i]))
                })
            },
        );
        group.finish();
    }
}

criterion_group!(benches, bench_families);
criterion_main!(benches);
