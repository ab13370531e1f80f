//! Criterion bench of the code sandbox: trivial programs through the full isolated path
//! (zygote fork, namespaces, rlimits, uid drop, capture, classification), one test at a
//! time and a 64-test suite spread over the pool (one zygote per core). Reports sandboxed
//! test executions per second; `verigym bench sandbox` prints the same figure.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use serde_json::json;
use verigym_verifiers::sandbox::{
    judge, Limits, Mode, Sandbox, SandboxConfig, TestCase, TestSuite,
};

fn bench_sandbox(c: &mut Criterion) {
    let sandbox = match Sandbox::new(SandboxConfig::default()).and_then(|s| s.warm_up().map(|_| s))
    {
        Ok(s) => s,
        Err(e) => {
            eprintln!("sandbox unavailable, skipping: {e}");
            return;
        }
    };
    let limits = Limits::default();
    let mut g = c.benchmark_group("sandbox");
    g.sample_size(20);
    g.throughput(Throughput::Elements(1));
    g.bench_function("one_io_test", |b| {
        b.iter(|| {
            let out = sandbox
                .run(
                    "print(int(input()) + 1)",
                    &Mode::Io {
                        stdin: "41\n".into(),
                    },
                    &limits,
                )
                .expect("sandbox run");
            assert_eq!(out.stdout, "42\n");
        })
    });
    let n = 64;
    let suite = TestSuite {
        cases: (0..n)
            .map(|i| TestCase::Call {
                function: "f".into(),
                args: vec![json!(i)],
                expected: json!(i * i),
            })
            .collect(),
        tolerance: None,
    };
    g.throughput(Throughput::Elements(n as u64));
    g.bench_function("call_suite_64_tests_pool", |b| {
        b.iter(|| {
            let r = judge(&sandbox, "def f(x):\n    return x * x", &suite, &limits).expect("judge");
            assert!(r.all_passed());
        })
    });
    g.finish();
}

criterion_group!(benches, bench_sandbox);
criterion_main!(benches);
