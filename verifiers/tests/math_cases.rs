//! The math equivalence case files (tests/data/math_cases.txt, and math_issue_cases.txt for
//! the reading rules of the math module doc): every case must grade as labelled. Failures
//! are collected and printed together so one run shows all of them.

use verigym_verifiers::math::{verify, MathOptions};

struct Case {
    line: usize,
    group: String,
    expect: bool,
    unevaluated: bool,
    gold: String,
    completion: String,
}

fn cases() -> Vec<Case> {
    let mut out = parse(include_str!("data/math_cases.txt"));
    out.extend(parse(include_str!("data/math_issue_cases.txt")));
    out
}

fn parse(text: &str) -> Vec<Case> {
    let mut group = String::new();
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        if let Some(g) = raw.strip_prefix("## ") {
            group = g.split(" — ").next().unwrap_or(g).trim().to_string();
            continue;
        }
        if raw.starts_with('#') || raw.trim().is_empty() {
            continue;
        }
        let (tag, rest) = raw.split_once(' ').expect("tag");
        let (gold, completion) = rest.split_once(" ||| ").unwrap_or_else(|| {
            rest.strip_suffix(" |||")
                .map(|g| (g, ""))
                .unwrap_or_else(|| panic!("line {}: no separator", i + 1))
        });
        let (expect, unevaluated) = match tag {
            "=" => (true, false),
            "!" => (false, false),
            "=u" => (true, true),
            "!u" => (false, true),
            other => panic!("line {}: bad tag {other}", i + 1),
        };
        out.push(Case {
            line: i + 1,
            group: group.clone(),
            expect,
            unevaluated,
            gold: gold.to_string(),
            completion: completion.replace('⏎', "\n"),
        });
    }
    out
}

#[test]
fn case_file_has_enough_cases_and_groups() {
    let cs = cases();
    assert!(cs.len() >= 400, "only {} cases", cs.len());
    let groups: std::collections::BTreeSet<&str> = cs.iter().map(|c| c.group.as_str()).collect();
    for g in [
        "numbers",
        "fractions",
        "radicals",
        "expressions",
        "relations",
        "sets_lists",
        "intervals",
        "matrices",
        "units_text",
        "percent",
        "extraction",
        "adversarial",
    ] {
        assert!(groups.contains(g), "missing group {g}");
    }
    assert!(cs.iter().filter(|c| c.expect).count() >= 150);
    assert!(cs.iter().filter(|c| !c.expect).count() >= 150);
}

#[test]
fn reading_rules_have_cases_both_ways() {
    let cs = parse(include_str!("data/math_issue_cases.txt"));
    for g in [
        "qualified",
        "listed",
        "approximations",
        "multipart",
        "item_commas",
        "named",
        "prose",
        "separators",
        "approx_after_exact",
        "inequalities",
        "units_roots",
        "solution_lists",
        "percent_rule",
    ] {
        assert!(cs.iter().any(|c| c.group == g), "missing group {g}");
    }
    for g in [
        "multipart",
        "named",
        "prose",
        "approx_after_exact",
        "inequalities",
    ] {
        assert!(
            cs.iter().any(|c| c.group == g && c.expect),
            "{g}: no right answer"
        );
        assert!(
            cs.iter().any(|c| c.group == g && !c.expect),
            "{g}: no wrong answer"
        );
    }
}

#[test]
fn every_case_grades_as_labelled() {
    let mut failures = Vec::new();
    let cs = cases();
    for c in &cs {
        let opts = MathOptions {
            allow_unevaluated: c.unevaluated,
            ..Default::default()
        };
        let v = verify(&c.gold, &c.completion, &opts);
        if v.equal != c.expect {
            failures.push(format!(
                "line {} [{}] expected {} for gold {:?} vs {:?}: got extracted {:?}, reason {:?}",
                c.line, c.group, c.expect, c.gold, c.completion, v.extracted, v.reason
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cs.len(),
        failures.join("\n")
    );
}

#[test]
fn verdicts_are_deterministic() {
    for c in cases().iter().step_by(7) {
        let a = verify(&c.gold, &c.completion, &MathOptions::default());
        let b = verify(&c.gold, &c.completion, &MathOptions::default());
        assert_eq!(a, b, "line {}", c.line);
    }
}
