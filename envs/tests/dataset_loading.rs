//! The GSM8K- and MATH-format JSONL dataset environments: loading, grading, registry entries,
//! and errors that name the file and line of a malformed row. Files are written by the tests.

use std::path::{Path, PathBuf};
use verigym_envs::math::datasets::{gsm8k_entry, math_entry, DatasetEnv, DatasetFormat};
use verigym_envs::{EnvError, EnvOptions, Environment, Registry};
use verigym_verifiers::format::format_completion;

fn write(name: &str, lines: &[&str]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("verigym-datasets-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, lines.join("\n")).unwrap();
    p
}

fn opts(path: &Path, extra: Option<(&str, &str)>) -> EnvOptions {
    let mut c = serde_json::json!({ "path": path.to_str().unwrap() });
    if let Some((k, v)) = extra {
        c[k] = serde_json::json!(v);
    }
    EnvOptions {
        difficulty: None,
        config: Some(c),
    }
}

const GSM: &[&str] = &[
    r#####"{"question": "Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May. How many clips did Natalia sell altogether in April and May?", "answer": "Natalia sold 48/2 = <<48/2=24>>24 clips in May.\nNatalia sold 48+24 = <<48+24=72>>72 clips altogether in April and May.\n#### 72"}"#####,
    "",
    r#####"{"question": "A shop earns 1,250 dollars a day. How much in 4 days?", "answer": "1250*4 = 5000\n#### 5,000"}"#####,
    r#####"{"question": "What is -3 halved?", "answer": "-3/2 = -1.5\n#### -1.5"}"#####,
];

const MATH: &[&str] = &[
    r#"{"problem": "What is $\\frac{1}{2} + \\frac{1}{3}$?", "solution": "The sum is $\\frac{3}{6} + \\frac{2}{6} = \\boxed{\\frac{5}{6}}$.", "level": "Level 1", "type": "Prealgebra"}"#,
    r#"{"problem": "Solve $x^2 = 4$ for the positive root.", "solution": "$x = \\boxed{2}$."}"#,
    r#"{"problem": "Simplify $\\sqrt{8}$.", "solution": "We get $\\sqrt{8} = 2\\sqrt{2}$, so the answer is $\\boxed{2\\sqrt{2}}$."}"#,
];

#[test]
fn gsm8k_rows_load_and_grade() {
    let p = write("gsm.jsonl", GSM);
    let env = DatasetEnv::build(DatasetFormat::Gsm8k, &opts(&p, None)).unwrap();
    assert_eq!(env.name(), "gsm8k_jsonl");
    assert_eq!(env.rows().len(), 3);
    assert_eq!(env.rows()[0].line, 1);
    assert_eq!(env.rows()[1].line, 3, "blank lines are skipped but counted");
    assert_eq!(env.rows()[1].gold, "5000");
    assert!(
        !env.rows()[0].thinking.contains("<<"),
        "calculator annotations are removed"
    );
    for i in 0..3 {
        let t = env.generate(0, i).unwrap();
        let v = env.verify(&t, t.solution.as_deref().unwrap()).unwrap();
        assert!(v.correct && v.reward == 1.0, "{v:?}");
    }
    let t = env.generate(0, 0).unwrap();
    for (ans, ok) in [
        ("72", true),
        ("72.0", true),
        ("$72", true),
        ("73", false),
        ("72 or 73", false),
        ("seventy-two", false),
    ] {
        let v = env.verify(&t, &format_completion("w", ans)).unwrap();
        assert_eq!(v.correct, ok, "{ans}: {v:?}");
    }
    let t = env.generate(0, 2).unwrap();
    assert!(
        env.verify(&t, &format_completion("w", "-3/2"))
            .unwrap()
            .correct
    );
    // Sequential order wraps around; random order is a function of (seed, index).
    assert_eq!(
        env.generate(0, 3).unwrap().question,
        env.generate(0, 0).unwrap().question
    );
    let r = DatasetEnv::build(DatasetFormat::Gsm8k, &opts(&p, Some(("order", "random")))).unwrap();
    assert_eq!(r.generate(5, 9).unwrap(), r.generate(5, 9).unwrap());
}

#[test]
fn math_rows_load_and_grade() {
    let p = write("math.jsonl", MATH);
    let env = DatasetEnv::build(DatasetFormat::Math, &opts(&p, None)).unwrap();
    assert_eq!(env.rows()[0].gold, "\\frac{5}{6}");
    assert_eq!(env.rows()[2].gold, "2\\sqrt{2}");
    for i in 0..3 {
        let t = env.generate(1, i).unwrap();
        let v = env.verify(&t, t.solution.as_deref().unwrap()).unwrap();
        assert!(v.correct, "{v:?}");
    }
    let t = env.generate(1, 0).unwrap();
    assert!(
        env.verify(&t, &format_completion("w", "5/6"))
            .unwrap()
            .correct
    );
    assert!(
        !env.verify(&t, &format_completion("w", "6/5"))
            .unwrap()
            .correct
    );
    assert!(
        !env.verify(&t, "<think>unfinished \\boxed{5/6}")
            .unwrap()
            .correct
    );
}

fn load_err(format: DatasetFormat, name: &str, lines: &[&str]) -> String {
    let p = write(name, lines);
    match DatasetEnv::build(format, &opts(&p, None)) {
        Err(e @ EnvError::Data { .. }) => {
            let s = e.to_string();
            assert!(
                s.contains(p.to_str().unwrap()),
                "error does not name the file: {s}"
            );
            s
        }
        Err(e) => panic!("wrong error kind: {e}"),
        Ok(_) => panic!("{name} loaded"),
    }
}

#[test]
fn malformed_rows_name_file_and_line() {
    let good = GSM[0];
    let e = load_err(
        DatasetFormat::Gsm8k,
        "badjson.jsonl",
        &[good, good, "{not json"],
    );
    assert!(e.contains(":3:") && e.contains("JSON"), "{e}");
    let e = load_err(
        DatasetFormat::Gsm8k,
        "nohash.jsonl",
        &[good, r#"{"question": "q", "answer": "42"}"#],
    );
    assert!(e.contains(":2:") && e.contains("####"), "{e}");
    let e = load_err(
        DatasetFormat::Gsm8k,
        "notnum.jsonl",
        &[r#####"{"question": "q", "answer": "x #### many"}"#####],
    );
    assert!(e.contains(":1:") && e.contains("not a number"), "{e}");
    let e = load_err(
        DatasetFormat::Gsm8k,
        "nofield.jsonl",
        &[r#####"{"answer": "#### 1"}"#####],
    );
    assert!(e.contains(":1:") && e.contains("question"), "{e}");
    let e = load_err(
        DatasetFormat::Math,
        "nobox.jsonl",
        &[MATH[0], r#"{"problem": "p", "solution": "it is 4"}"#],
    );
    assert!(e.contains(":2:") && e.contains("boxed"), "{e}");
    let e = load_err(DatasetFormat::Math, "empty.jsonl", &["", "  "]);
    assert!(e.contains("no rows"), "{e}");
    let missing = std::env::temp_dir().join("verigym-no-such-file.jsonl");
    let err = DatasetEnv::build(DatasetFormat::Gsm8k, &opts(&missing, None))
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("verigym-no-such-file.jsonl"), "{err}");
    // Without a path, and with an unknown field, the config is rejected by name.
    let err = DatasetEnv::build(DatasetFormat::Gsm8k, &EnvOptions::default())
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("path"), "{err}");
    let p = write("ok.jsonl", GSM);
    let err = DatasetEnv::build(DatasetFormat::Gsm8k, &opts(&p, Some(("shuffle", "x"))))
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("shuffle"), "{err}");
}

#[test]
fn entries_register_by_name() {
    let g = write("reg-gsm.jsonl", GSM);
    let m = write("reg-math.jsonl", MATH);
    let mut reg = Registry::builtin();
    reg.register(gsm8k_entry(g.to_str().unwrap())).unwrap();
    reg.register(math_entry(m.to_str().unwrap())).unwrap();
    let env = reg.build("gsm8k_jsonl", &EnvOptions::default()).unwrap();
    let t = env.generate(0, 0).unwrap();
    assert!(
        env.verify(&t, t.solution.as_deref().unwrap())
            .unwrap()
            .correct
    );
    let env = reg
        .build(
            "math_jsonl",
            &EnvOptions {
                difficulty: Some(2),
                config: None,
            },
        )
        .unwrap();
    assert_eq!(env.difficulty(), 2);
    assert_eq!(env.generate(0, 1).unwrap().answer["value"], "2");
    assert!(reg.get("gsm8k_jsonl").unwrap().listing().domain.as_str() == "math");
}
