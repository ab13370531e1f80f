//! Adversarial wrong answers: for every gold of the case files, a seeded generator writes
//! answers that must score 0 — the gold negated, bounded ("at least"), hedged ("about"),
//! listed with another candidate, turned into a range, rounded, perturbed by 1e-10, and
//! for multi-part golds given in part or out of order. Release builds grade at least 10^5
//! of them (debug builds a tenth); none may be accepted. Everything is seeded (splitmix64).

use verigym_verifiers::math::numeric;
use verigym_verifiers::math::ratfun::Vars;
use verigym_verifiers::math::{parse_answer, verify, Limits, MathOptions};

mod common;
use common::Rng;

/// Golds of every case of the case files (deduplicated, in file order).
fn golds() -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for text in [
        include_str!("data/math_cases.txt"),
        include_str!("data/math_issue_cases.txt"),
    ] {
        for raw in text.lines() {
            if raw.starts_with('#') || raw.trim().is_empty() {
                continue;
            }
            let Some((_, rest)) = raw.split_once(' ') else {
                continue;
            };
            let gold = rest.split(" ||| ").next().unwrap_or("").trim().to_string();
            // Golds that set their boxes in prose or math delimiters ("(a) \boxed{3} (b) …")
            // do not splice into the templates as one value; the case files cover them.
            let prose_boxes =
                gold.contains("\\boxed") && (gold.contains("\\(") || gold.contains("(a)"));
            if !gold.is_empty() && !out.contains(&gold) && !prose_boxes {
                out.push(gold);
            }
        }
    }
    out
}

/// The boxes of a multi-box gold, else None.
fn parts(gold: &str) -> Option<Vec<String>> {
    let mut out = Vec::new();
    let mut rest = gold;
    while let Some(i) = rest.find("\\boxed{") {
        let body = &rest[i + 7..];
        let mut depth = 1;
        let mut end = None;
        for (j, c) in body.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = Some(j);
                        break;
                    }
                }
                _ => {}
            }
        }
        let end = end?;
        // A repeated box is the same answer again, not another part.
        let part = body[..end].to_string();
        if !out.contains(&part) {
            out.push(part);
        }
        rest = &body[end + 1..];
    }
    (out.len() > 1).then_some(out)
}

/// Top-level comma items of a list, set or tuple gold (brackets kept off), if it has two
/// or more.
fn items(gold: &str) -> Option<(String, String, Vec<String>)> {
    let (open, close, body) =
        if let Some(b) = gold.strip_prefix("\\{").and_then(|g| g.strip_suffix("\\}")) {
            ("\\{", "\\}", b)
        } else if let Some(b) = gold.strip_prefix('(').and_then(|g| g.strip_suffix(')')) {
            ("(", ")", b)
        } else {
            ("", "", gold)
        };
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut cur = String::new();
    for c in body.chars() {
        match c {
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth -= 1,
            _ => {}
        }
        if c == ',' && depth == 0 {
            out.push(cur.trim().to_string());
            cur.clear();
        } else {
            cur.push(c);
        }
    }
    out.push(cur.trim().to_string());
    (out.len() > 1 && out.iter().all(|s| !s.is_empty()))
        .then(|| (open.to_string(), close.to_string(), out))
}

/// The gold's value when it is one real constant.
fn value(gold: &str) -> Option<f64> {
    let node = parse_answer(gold, &Limits::default()).ok()?;
    let v = numeric::eval(&node, &Vars::default(), &[])?;
    (v.im == 0.0 && v.re.is_finite() && v.re.abs() < 1e12).then_some(v.re)
}

fn is_decimal_literal(gold: &str) -> bool {
    let g = gold.trim_start_matches('-');
    g.contains('.') && g.chars().all(|c| c.is_ascii_digit() || c == '.')
}

/// Qualified forms of a value: each is a statement about the gold, not the gold.
const QUALIFIED: &[&str] = &[
    "\\boxed{not G}",
    "\\boxed{\\text{not } G}",
    "\\boxed{\\text{not }G}",
    "The answer is not G.",
    "The answer is not $G$.",
    "\\boxed{\\neq G}",
    "\\boxed{\\ne G}",
    "\\boxed{x \\neq G}",
    "\\boxed{\\text{at least } G}",
    "\\boxed{\\text{at most } G}",
    "\\boxed{\\text{more than } G}",
    "\\boxed{\\text{less than } G}",
    "\\boxed{\\text{fewer than } G}",
    "\\boxed{\\text{greater than } G}",
    "\\boxed{G \\text{ or more}}",
    "\\boxed{G \\text{ or less}}",
    "\\boxed{\\text{about } G}",
    "\\boxed{\\text{approximately } G}",
    "\\boxed{\\text{roughly } G}",
    "\\boxed{\\text{around } G}",
    "\\boxed{\\text{nearly } G}",
    "\\boxed{\\text{almost } G}",
    "\\boxed{\\approx G}",
    "\\boxed{\\sim G}",
    "\\boxed{\\ge G}",
    "\\boxed{\\geq G}",
    "\\boxed{\\le G}",
    "\\boxed{> G}",
    "\\boxed{< G}",
    "\\boxed{≥ G}",
    "\\boxed{≤ G}",
    "\\boxed{≈ G}",
    "\\boxed{\\text{up to } G}",
    "\\boxed{\\text{maybe } G}",
    "\\boxed{\\text{probably } G}",
    "\\boxed{G\\text{ (approximately)}}",
    "\\boxed{G\\text{, roughly}}",
    "The answer is at least $G$.",
    "The answer is more than $G$.",
    "Final answer: approximately G",
    "So there are more than G of them.",
    "So the answer is probably G",
    "We get about $G$ in the end.",
    "It is not G",
    "所以不是 G 只",
    "大约 G",
    "答案至少是 G",
    "<think>G</think>\\boxed{\\text{not } G}",
];

/// Forms that list the gold with another candidate or a range around it.
const LISTED: &[&str] = &[
    "\\boxed{G \\text{ or } W}",
    "\\boxed{W \\text{ or } G}",
    "\\boxed{G, W}",
    "\\boxed{W, G}",
    "\\boxed{G; W}",
    "\\boxed{G} \\text{ or } \\boxed{W}",
    "\\boxed{W} or \\boxed{G}",
    "\\boxed{G}\\boxed{W}",
    "\\boxed{G \\text{ and } W}",
    "The answer is G or W.",
    "The answer is $G$ or $W$.",
    "It is either G or W",
    "\\boxed{\\text{between } G \\text{ and } W}",
    "\\boxed{G \\text{ to } W}",
    "\\boxed{G \\text{ through } W}",
    "\\boxed{G \\sim W}",
    "\\boxed{G \\pm W}",
    "\\boxed{x = G \\text{ or } x = W}",
    "\\boxed{G \\text{ or } G+1}",
    "\\boxed{G \\text{ (or } W)}",
    "G 或 W",
];

/// Another candidate: a different value written near the gold's form.
fn other(r: &mut Rng, gold: &str) -> String {
    match r.below(4) {
        0 => format!("{}", 1 + r.below(999)),
        1 => format!("({gold})+1"),
        2 => format!("-({gold})"),
        _ => format!("2({gold})"),
    }
}

fn wrap(r: &mut Rng, answer: &str) -> String {
    match r.below(5) {
        0 => format!("\\boxed{{{answer}}}"),
        1 => format!("The final answer is ${answer}$."),
        2 => format!("<think>let me see</think>\\boxed{{{answer}}}"),
        3 => format!("Answer: {answer}"),
        _ => format!("So we get\n$$\\boxed{{{answer}}}$$"),
    }
}

/// Every wrong answer generated for one gold in one round.
fn wrong_answers(r: &mut Rng, gold: &str) -> Vec<String> {
    let mut out = Vec::new();
    // A decimal gold is itself an approximation: "about 0.33" is a fair answer to it (the
    // module's rule), so only the other qualifiers are wrong there.
    let approximate_ok = is_decimal_literal(gold);
    for t in QUALIFIED {
        let approximating = [
            "about",
            "approximately",
            "roughly",
            "around",
            "nearly",
            "almost",
        ]
        .iter()
        .any(|w| t.contains(w));
        if !(approximate_ok && approximating) {
            out.push(t.replace('G', gold));
        }
    }
    for t in LISTED {
        let w = other(r, gold);
        out.push(t.replace('G', gold).replace('W', &w));
    }
    if let Some(v) = value(gold) {
        if !is_decimal_literal(gold) {
            // Rounded: decimal forms of an exact value that is not itself that decimal.
            for places in 0..=12 {
                let d = format!("{v:.places$}");
                let back: f64 = d.parse().unwrap_or(f64::NAN);
                if (back - v).abs() > 1e-13 * v.abs().max(1.0) {
                    out.push(wrap(r, &d));
                }
            }
            // Perturbed by 1e-10, in the ways it can be written.
            for form in [
                format!("{gold}+10^{{-10}}"),
                format!("{gold}-10^{{-10}}"),
                format!("{gold}+0.0000000001"),
                format!("({gold})\\cdot 1.0000000001"),
                format!("({gold})(1+10^{{-10}})"),
                format!("{gold}+\\frac{{1}}{{10^{{10}}}}"),
                format!("{gold}-\\frac{{1}}{{10000000000}}"),
                format!("{gold}+\\frac{{1}}{{99999}}-\\frac{{1}}{{100000}}+\\frac{{1}}{{9999900000}}-\\frac{{1}}{{10^{{10}}}}"),
            ] {
                out.push(wrap(r, &form));
            }
            // The same as decimals and a fraction, where double precision still holds them.
            for d in [v + 1e-10, v - 1e-10] {
                let text = format!("{d:.15}");
                if text.parse::<f64>().is_ok_and(|back| back != v) {
                    out.push(wrap(r, &text));
                }
            }
            if v.abs() < 1e5 {
                let n = (v * 1e10).round() as i64 + 1;
                out.push(wrap(r, &format!("\\frac{{{n}}}{{10000000000}}")));
            }
        }
    }
    if let Some(ps) = parts(gold) {
        // Multi-part: a part alone, all but one, or the parts out of order.
        for p in &ps {
            out.push(format!("\\boxed{{{p}}}"));
        }
        let mut rev = ps.clone();
        rev.reverse();
        // Boxes joined by "and" or a comma list one answer's values in any order.
        let listed = gold.contains("} and \\boxed") || gold.contains("}, \\boxed");
        if rev != ps && !listed {
            out.push(rev.iter().map(|p| format!("\\boxed{{{p}}}")).collect());
            out.push(format!("\\boxed{{{}}}", rev.join(", ")));
        }
        out.push(format!("\\boxed{{{}}}", ps[..ps.len() - 1].join(", ")));
    } else if let Some((open, close, xs)) = items(gold) {
        // Partial list: one item dropped.
        let drop = r.below(xs.len());
        let kept: Vec<&String> = xs
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != drop)
            .map(|(_, x)| x)
            .collect();
        let body = kept
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        out.push(wrap(r, &format!("{open}{body}{close}")));
    }
    out
}

#[test]
fn no_adversarial_wrong_answer_is_accepted() {
    let target: usize = if cfg!(debug_assertions) {
        10_000
    } else {
        100_000
    };
    let golds = golds();
    assert!(golds.len() >= 200, "only {} golds", golds.len());
    let mut r = Rng(0x00AD_5E12_5A21_u64);
    let opts = MathOptions::default();
    let mut graded = 0usize;
    let mut accepted = Vec::new();
    'rounds: loop {
        for gold in &golds {
            for answer in wrong_answers(&mut r, gold) {
                let v = verify(gold, &answer, &opts);
                graded += 1;
                if v.equal && accepted.len() < 40 {
                    accepted.push(format!(
                        "gold {gold:?} accepted {answer:?} (extracted {:?})",
                        v.extracted
                    ));
                }
                if graded >= target {
                    break 'rounds;
                }
            }
        }
    }
    assert!(
        accepted.is_empty(),
        "{} of {graded} wrong answers accepted (first 40):\n{}",
        accepted.len(),
        accepted.join("\n")
    );
}
