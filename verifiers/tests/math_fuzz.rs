//! Property and fuzz tests of the math verifier: 10^6 random and mutated inputs (in release;
//! a tenth in debug builds) must return a verdict without panicking, and algebraic
//! identities generated at random must grade as equal while perturbed ones must not.
//! Everything is seeded (splitmix64), so a failure reproduces.

use verigym_verifiers::math::{verify, MathOptions};

mod common;
use common::Rng;

const PIECES: &[&str] = &[
    "\\frac",
    "\\dfrac",
    "{",
    "}",
    "{",
    "}",
    "^",
    "_",
    "(",
    ")",
    "[",
    "]",
    "\\{",
    "\\}",
    "0",
    "1",
    "2",
    "7",
    "9",
    "42",
    "1000",
    ".",
    ",",
    "-",
    "+",
    "*",
    "/",
    "=",
    "<",
    "\\le",
    "\\ge",
    "x",
    "y",
    "e",
    "i",
    "\\pi",
    "\\sqrt",
    "\\sqrt[3]",
    "!",
    "%",
    "\\%",
    "\\boxed{",
    "\\fbox{",
    "<think>",
    "</think>",
    "<answer>",
    "</answer>",
    "\\begin{pmatrix}",
    "\\end{pmatrix}",
    "&",
    "\\\\",
    "\\pm",
    "|",
    "\\infty",
    "\\cup",
    " ",
    " or ",
    "\\text{",
    "$",
    "$$",
    "\\(",
    "\\)",
    "π",
    "√",
    "é",
    "∞",
    "\u{0}",
    "\\left(",
    "\\right)",
    "\\sin",
    "\\log_",
    "\\ln",
    "\\binom",
    "^{",
    "\\cdot",
    "\\times",
    "\\div",
    "1e5",
    "1.5e-3",
    "7,425,000",
    "32,\\!349",
    "**",
    "Answer:",
    "final answer is",
    "\\circ",
    "\\begin{array}{cc}",
    "\\in",
    "U",
    "\\dots",
    "\\mathrm{",
    "\\lfloor",
    "\\rfloor",
    "999999999999999999999",
    "\\",
    "\n",
    "\t",
    "'",
];

const SEEDS: &[&str] = &[
    "\\frac{1}{2}",
    "2\\sqrt{2}",
    "(1, 2)",
    "[1, 2)",
    "x \\le 5",
    "\\{1, 2\\}",
    "28\\%",
    "\\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix}",
    "5^{5^{5^{5}}}",
    "y = 2x + 3",
    "(-\\infty, 0) \\cup (0, \\infty)",
    "\\pm 2",
    "<think>a</think>\\boxed{3}",
    "3.14",
    "1, 2, 3",
    "\\frac{1}{2004!}",
    "e^{i\\pi}",
    "\\log_2 8",
    "|x|",
    "\\binom{5}{2}",
    "The final answer is $42$.",
    "x = 1 \\text{ or } x = 2",
    "4\\sqrt(2)",
    "**73**",
];

fn random_text(r: &mut Rng) -> String {
    let n = r.below(24);
    let mut s = String::new();
    for _ in 0..n {
        s.push_str(r.pick(PIECES));
    }
    s
}

fn mutate(r: &mut Rng, base: &str) -> String {
    let mut chars: Vec<char> = base.chars().collect();
    for _ in 0..1 + r.below(4) {
        let at = r.below(chars.len() + 1);
        match r.below(4) {
            0 if !chars.is_empty() && at < chars.len() => {
                chars.remove(at);
            }
            1 => {
                let p = r.pick(PIECES);
                for (k, c) in p.chars().enumerate() {
                    chars.insert(at + k, c);
                }
            }
            2 if at < chars.len() => {
                let bytes = b"{}()[]^_\\0123456789xyz+-*/=<>,.|!%$ ";
                chars[at] = bytes[r.below(bytes.len())] as char;
            }
            _ => {
                // Duplicate a slice: grows nesting and repetition.
                let a = r.below(chars.len() + 1);
                let b = (a + r.below(8)).min(chars.len());
                let dup: Vec<char> = chars[a..b].to_vec();
                for (k, c) in dup.into_iter().enumerate() {
                    chars.insert(at.min(chars.len()) + k, c);
                }
            }
        }
    }
    chars.into_iter().collect()
}

#[test]
fn a_million_random_and_mutated_inputs_never_panic() {
    let total: usize = if cfg!(debug_assertions) {
        100_000
    } else {
        1_000_000
    };
    let mut r = Rng(0xF0CC_AC1A);
    let opts = [
        MathOptions::default(),
        MathOptions {
            allow_unevaluated: true,
            float_tolerance: Some(1e-3),
            strict_extraction: true,
        },
    ];
    let mut equal = 0usize;
    for i in 0..total {
        let (gold, answer) = match i % 4 {
            0 => (random_text(&mut r), random_text(&mut r)),
            1 => {
                let g = r.pick(SEEDS);
                (g.to_string(), mutate(&mut r, g))
            }
            2 => {
                let g = r.pick(SEEDS);
                let other = r.pick(SEEDS);
                (mutate(&mut r, g), mutate(&mut r, other))
            }
            _ => {
                let g = r.pick(SEEDS);
                (
                    g.to_string(),
                    format!(
                        "<think>{}</think>{}",
                        random_text(&mut r),
                        mutate(&mut r, g)
                    ),
                )
            }
        };
        let v = verify(&gold, &answer, &opts[i % 2]);
        equal += usize::from(v.equal);
        assert!(v.equal || v.reason.is_some(), "{gold:?} {answer:?}");
    }
    // Mutations sometimes leave the answer intact or equivalent; the count proves the
    // loop exercised the comparison and not only the parser's error paths.
    assert!(equal > total / 100, "only {equal} equal verdicts");
}

#[test]
fn hostile_inputs_return_quickly_without_panicking() {
    let huge = "9".repeat(200_000);
    let inputs = [
        "{".repeat(10_000),
        "(".repeat(10_000) + "1" + &")".repeat(10_000),
        "\\frac{".repeat(5_000),
        "-".repeat(50_000) + "1",
        "\\sqrt{".repeat(5_000) + "2" + &"}".repeat(5_000),
        "x^".repeat(3_000) + "2",
        "2^{".repeat(1_000) + "2" + &"}".repeat(1_000),
        "10^{10^{10^{10^{10}}}}".to_string(),
        "(x+y+z+1)^{4096}".to_string(),
        "9".repeat(999) + "!",
        "3000!".to_string(),
        "100000!".to_string(),
        "\\binom{1000000}{500000}".to_string(),
        "1,".repeat(3_000),
        "\\boxed{1}".repeat(5_000),
        "\\{".repeat(2_000) + &"\\}".repeat(2_000),
        "\\begin{pmatrix}".repeat(500),
        "|".repeat(4_000),
        "1e999999".to_string(),
        "0.".to_string() + &"0".repeat(3_000) + "1",
        huge,
    ];
    for s in &inputs {
        for gold in ["3125", "\\frac{1}{2}", "x", "(1, 2)", s.as_str()] {
            let v = verify(gold, s, &MathOptions::default());
            if gold != s {
                assert!(!v.equal, "{:.60} vs {gold}", s);
            }
        }
    }
}

fn poly_str(c: &[i64]) -> String {
    // c[k] x^k, written highest power first.
    let mut s = String::new();
    for (k, &a) in c.iter().enumerate().rev() {
        if a == 0 {
            continue;
        }
        s.push_str(if a < 0 {
            "-"
        } else if s.is_empty() {
            ""
        } else {
            "+"
        });
        let m = a.abs();
        match (m, k) {
            (1, 0) => s.push('1'),
            (1, _) => {}
            _ => s.push_str(&m.to_string()),
        }
        match k {
            0 => {}
            1 => s.push('x'),
            _ => s.push_str(&format!("x^{{{k}}}")),
        }
    }
    if s.is_empty() {
        s.push('0');
    }
    s
}

#[test]
fn random_polynomial_identities_are_exact() {
    let mut r = Rng(7);
    for _ in 0..2_000 {
        let (a, b, c, d) = (
            r.range(-9, 9),
            r.range(-9, 9),
            r.range(-9, 9),
            r.range(-9, 9),
        );
        if a == 0 || c == 0 {
            continue;
        }
        let factored = format!("({a}x+{b})({c}x+{d})").replace("+-", "-");
        let expanded = [b * d, a * d + b * c, a * c];
        let ok = verify(&poly_str(&expanded), &factored, &MathOptions::default());
        assert!(
            ok.equal,
            "{} vs {factored}: {:?}",
            poly_str(&expanded),
            ok.reason
        );
        let mut wrong = expanded;
        wrong[r.below(3)] += if r.below(2) == 0 { 1 } else { -1 };
        let bad = verify(&poly_str(&wrong), &factored, &MathOptions::default());
        assert!(!bad.equal, "{} vs {factored}", poly_str(&wrong));
    }
}

#[test]
fn random_fractions_and_decimals_agree() {
    let mut r = Rng(11);
    for _ in 0..5_000 {
        let p = r.range(-999, 999);
        let q = [1i64, 2, 4, 5, 8, 10, 16, 20, 25, 40, 50, 125][r.below(12)];
        let k = r.range(1, 9);
        let frac = format!("\\frac{{{}}}{{{}}}", p * k, q * k);
        let dec = format!("{}", p as f64 / q as f64);
        let v = verify(&frac, &format!("\\boxed{{{dec}}}"), &MathOptions::default());
        assert!(v.equal, "{frac} vs {dec}: {:?}", v.reason);
        let off = format!("\\frac{{{}}}{{{}}}", p * k + 1, q * k);
        assert!(
            !verify(&off, &dec, &MathOptions::default()).equal,
            "{off} vs {dec}"
        );
    }
}
