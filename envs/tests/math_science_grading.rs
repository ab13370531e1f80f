//! Grading of every math and science family: reference solutions score
//! 1.0 at levels 1, 5 and 10 (200 tasks each), a wrong final answer scores 0, prompts are
//! diverse (distinct-prompt rate over 10,000 samples), and difficulty measurably matters.

use verigym_envs::{Domain, EnvOptions, Environment, Registry, Task};
use verigym_verifiers::format::format_completion;

/// The families under test: every math and science family in the registry.
fn families() -> Vec<String> {
    Registry::builtin_names(&[Domain::Math, Domain::Science])
}

/// Families whose problem space at the default difficulty is too small for 99% distinct
/// prompts over 10,000 samples, with the rate they must still reach.
const SMALL_SPACES: &[(&str, f64)] = &[
    // 18 metals, small fuels, 18 x 9 metal/acid and acid/base pairs at level 3.
    ("chemical_balancing", 0.10),
    // C(n, k) and P(n, k) with n <= 20 are a few hundred questions.
    ("combinatorics", 0.75),
    // 324 ionic compounds plus small organic formulas.
    ("molar_mass", 0.40),
    // b^e with b <= 20, e <= 5, roots of those, radicals of n <= 300.
    ("powers_roots", 0.02),
    // Two dice, a few coins, small urns.
    ("probability", 0.25),
    // Integer and rational roots with coefficients <= 40.
    ("quadratic_roots", 0.65),
];

fn build(name: &str, d: u8) -> Box<dyn Environment> {
    Registry::builtin()
        .build(
            name,
            &EnvOptions {
                difficulty: Some(d),
                config: None,
            },
        )
        .unwrap_or_else(|e| panic!("{name} d{d}: {e}"))
}

fn final_answer(task: &Task) -> String {
    let s = task.solution.as_deref().unwrap_or_default();
    let start = s
        .rfind("<answer>")
        .map(|i| i + "<answer>".len())
        .unwrap_or(0);
    let end = s.rfind("</answer>").unwrap_or(s.len());
    s[start..end].to_string()
}

/// A wrong answer in the same format: the first digit bumped by one (9 becomes 0), or,
/// for answers without digits, the final answer of a task with a different one.
fn wrong_answer(env: &dyn Environment, task: &Task) -> String {
    let gold = final_answer(task);
    if let Some(pos) = gold.find(|c: char| c.is_ascii_digit()) {
        let d = gold.as_bytes()[pos] - b'0';
        let mut s = gold.clone();
        s.replace_range(pos..pos + 1, &((d + 1) % 10).to_string());
        if s.starts_with('0') && s.len() > 1 && s.as_bytes()[1].is_ascii_digit() {
            s.replace_range(0..1, "1");
            if s == gold {
                s.insert(0, '2');
            }
        }
        return s;
    }
    (1..100)
        .map(|k| final_answer(&env.generate(task.seed, task.index + k).unwrap()))
        .find(|a| *a != gold)
        .unwrap_or_else(|| format!("{gold}1"))
}

#[test]
fn every_family_is_registered_with_its_domain() {
    let registry = Registry::builtin();
    for name in &families() {
        let entry = registry.get(name).unwrap();
        let domain = entry.domain.as_str();
        assert!(domain == "math" || domain == "science", "{name}: {domain}");
    }
    assert!(
        families().len() >= 22,
        "the math and science domains have at least 22 families"
    );
}

#[test]
fn reference_scores_one_and_a_wrong_answer_zero_at_levels_1_5_10() {
    for name in &families() {
        for d in [1, 5, 10] {
            let env = build(name, d);
            for i in 0..200 {
                let task = env.generate(1, i).unwrap();
                let solution = task.solution.clone().unwrap();
                let v = env.verify(&task, &solution).unwrap();
                assert!(
                    v.correct && v.reward == 1.0,
                    "{name} d{d} #{i}: {v:?}\n{solution}"
                );
                let wrong = wrong_answer(env.as_ref(), &task);
                let v = env
                    .verify(&task, &format_completion("working", &wrong))
                    .unwrap();
                assert!(
                    !v.correct && v.reward == 0.0,
                    "{name} d{d} #{i}: wrong answer {wrong:?} (gold {:?}) scored {v:?}",
                    final_answer(&task)
                );
            }
        }
    }
}

#[test]
fn prompts_are_diverse_at_the_default_difficulty() {
    let (mut report, mut failures) = (Vec::new(), Vec::new());
    for name in &families() {
        let env = build(name, 3);
        let mut seen = std::collections::HashSet::new();
        for i in 0..10_000 {
            seen.insert(env.generate(1, i).unwrap().question);
        }
        let rate = seen.len() as f64 / 10_000.0;
        report.push(format!("{name}: {rate:.4}"));
        let floor = SMALL_SPACES
            .iter()
            .find(|(n, _)| n == name)
            .map_or(0.99, |(_, f)| *f);
        if rate < floor {
            failures.push(format!("{name}: distinct-prompt rate {rate} < {floor}"));
        }
    }
    println!(
        "distinct-prompt rate over 10,000 samples at difficulty 3:\n{}",
        report.join("\n")
    );
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn difficulty_measurably_matters() {
    // Either the worked solution grows (more steps) or the numbers do (longer gold answer).
    for name in &families() {
        let means = |d: u8| {
            let env = build(name, d);
            let (mut sol, mut ans) = (0usize, 0usize);
            for i in 0..300 {
                let t = env.generate(9, i).unwrap();
                sol += t.solution.as_deref().map_or(0, str::len);
                ans += t.answer.to_string().len() + t.question.len();
            }
            (sol as f64 / 300.0, ans as f64 / 300.0)
        };
        let ((s1, a1), (s5, a5), (s10, a10)) = (means(1), means(5), means(10));
        assert!(
            (s5 > s1 && s10 > 1.3 * s1) || (a5 > a1 && a10 > 1.3 * a1),
            "{name}: mean solution length {s1:.0}/{s5:.0}/{s10:.0}, problem+gold length {a1:.0}/{a5:.0}/{a10:.0} at d1/d5/d10"
        );
    }
}
