//! Criterion bench of `math::verify` on one thread: the whole case file (mixed pairs, the
//! same ones benches/compare_math_verify.py times against Hugging Face math-verify), plain
//! numbers, symbolic expressions, and hostile inputs. Reports pairs per second.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use verigym_verifiers::math::{verify, MathOptions};

fn case_pairs() -> Vec<(String, String, MathOptions)> {
    let text = include_str!("../tests/data/math_cases.txt");
    let mut out = Vec::new();
    for raw in text.lines() {
        if raw.starts_with('#') || raw.trim().is_empty() {
            continue;
        }
        let Some((tag, rest)) = raw.split_once(' ') else {
            continue;
        };
        let (gold, completion) = match rest.split_once(" ||| ") {
            Some(p) => p,
            None => (rest.trim_end_matches(" |||"), ""),
        };
        let opts = MathOptions {
            allow_unevaluated: tag.ends_with('u'),
            ..Default::default()
        };
        out.push((gold.to_string(), completion.replace('⏎', "\n"), opts));
    }
    out
}

fn bench(c: &mut Criterion) {
    let cases = case_pairs();
    let mut g = c.benchmark_group("math_verify");
    g.throughput(Throughput::Elements(cases.len() as u64));
    g.bench_function("case_file_mixed", |b| {
        b.iter(|| {
            for (gold, completion, opts) in &cases {
                black_box(verify(gold, completion, opts));
            }
        })
    });
    let numbers: Vec<(String, String)> = (0..200)
        .map(|i| {
            (
                format!("\\frac{{{}}}{{{}}}", i * 7 + 1, i + 3),
                format!(
                    "<think>reasoning {i}</think> so the answer is \\boxed{{{}/{}}}",
                    i * 7 + 1,
                    i + 3
                ),
            )
        })
        .collect();
    g.throughput(Throughput::Elements(numbers.len() as u64));
    g.bench_function("fractions_in_completions", |b| {
        b.iter(|| {
            for (gold, completion) in &numbers {
                black_box(verify(gold, completion, &MathOptions::default()));
            }
        })
    });
    let symbolic = [
        ("x^2+2x+1", "(x+1)^2"),
        ("\\frac{x+1}{x-1}", "\\frac{-x-1}{1-x}"),
        ("2x+4y-3=0", "y=-\\frac12 x+\\frac34"),
        ("2\\sqrt{2}", "\\sqrt{8}"),
        ("\\frac{\\pi}{2}", "pi/2"),
        (
            "(-\\infty, 0) \\cup (0, \\infty)",
            "(0,\\infty)\\cup(-\\infty,0)",
        ),
        (
            "\\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix}",
            "\\begin{bmatrix} 1 & 2 \\\\ 3 & 4 \\end{bmatrix}",
        ),
        ("\\{1, 2, 3\\}", "3, 2, 1"),
    ];
    g.throughput(Throughput::Elements(symbolic.len() as u64));
    g.bench_function("symbolic", |b| {
        b.iter(|| {
            for (gold, ans) in &symbolic {
                black_box(verify(gold, ans, &MathOptions::default()));
            }
        })
    });
    let hostile = [
        "5^{5^{5^{5}}}".to_string(),
        "{".repeat(10_000),
        "\\frac{1}{2006!}".to_string(),
        "(x+y+z+1)^{4096}".to_string(),
        "9".repeat(60_000),
    ];
    g.throughput(Throughput::Elements(hostile.len() as u64));
    g.bench_function("hostile", |b| {
        b.iter(|| {
            for h in &hostile {
                black_box(verify("\\frac{1}{2004!}", h, &MathOptions::default()));
            }
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
