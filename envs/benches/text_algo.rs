//! Generation throughput of the algorithmic and character-level families on one core:
//! criterion reports tasks per second (`thrpt`) for `Environment::generate`, which builds the full task — prompt, gold spec and worked reference solution.
//!
//! Run: `cargo bench -p verigym-envs --bench text_algo`. Families are benched at
//! difficulty 5; `letter_counting` is also benched at level 7 (8..=12 words, mean 10),
//! the closest to reasoning-gym's default (5..=15 words) for the comparison script.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use std::time::Duration;
use verigym_envs::{Domain, EnvOptions, Registry};

fn generation(c: &mut Criterion) {
    let registry = Registry::builtin();
    let mut group = c.benchmark_group("generate");
    group.throughput(Throughput::Elements(1));
    group.warm_up_time(Duration::from_millis(500));
    group.measurement_time(Duration::from_secs(2));
    let cases = registry
        .names_in(&[Domain::Algorithmic, Domain::Text])
        .into_iter()
        .map(|f| (f, 5u8))
        .chain([("letter_counting", 7u8)]);
    for (name, difficulty) in cases {
        let env = registry
            .build(
                name,
                &EnvOptions {
                    difficulty: Some(difficulty),
                    config: None,
                },
            )
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let mut index = 0u64;
        group.bench_function(format!("{name}/d{difficulty}"), |b| {
            b.iter(|| {
                index += 1;
                black_box(env.generate(1, index).unwrap_or_else(|e| panic!("{e}")))
            })
        });
    }
    group.finish();
}

criterion_group!(benches, generation);
criterion_main!(benches);
