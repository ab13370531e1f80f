//! Code environments (issue #6): references score 1, mutated solutions score < 1, loaders
//! read every supported dataset format.

use verigym_envs::{EnvOptions, Environment, Registry};

fn build(name: &str, difficulty: u8) -> Box<dyn Environment> {
    Registry::builtin()
        .build(
            name,
            &EnvOptions {
                difficulty: Some(difficulty),
                config: None,
            },
        )
        .unwrap()
}

#[test]
fn code_function_references_pass_and_mutants_fail() {
    let env = build("code_function", 10);
    for i in 0..12 {
        let task = env.generate(3, i).unwrap();
        let sol = task.solution.clone().unwrap();
        let v = env.verify(&task, &sol).unwrap();
        assert!(v.correct && v.reward == 1.0, "{v:?}\n{sol}");
        assert_eq!(v.components["tests_passed"], 1.0);
        // A mutant that changes every return value fails every test.
        let func = task.answer["function"].as_str().unwrap();
        let mutant = sol.replace(
            "```</answer>",
            &format!(
                "\n_orig = {func}\ndef {func}(*a):\n    r = _orig(*a)\n    if type(r) is bool:\n        return not r\n    if type(r) is int:\n        return r + 1\n    if type(r) is str:\n        return r + 'x'\n    if type(r) is list:\n        return r + [0]\n    return 0\n```</answer>"
            ),
        );
        assert_ne!(mutant, sol);
        let v = env.verify(&task, &mutant).unwrap();
        assert!(!v.correct && v.reward < 1.0, "{v:?}");
        assert_eq!(v.components["tests_passed"], 0.0, "{v:?}");
    }
}

#[test]
fn code_output_interpreter_agrees_with_python() {
    use verigym_verifiers::sandbox::{judge, Limits, Sandbox, TestCase, TestSuite};
    // Each generated program, run by the real interpreter in the sandbox, prints exactly
    // the gold output computed by our Rust interpreter.
    let mut cases = Vec::new();
    let mut programs = Vec::new();
    for d in [1, 3, 5, 7, 9, 10] {
        let env = build("code_output", d);
        for i in 0..25 {
            let task = env.generate(17, i).unwrap();
            programs.push(task.answer["program"].as_str().unwrap().to_string());
            cases.push((
                task.answer["input"].as_str().unwrap().to_string(),
                task.answer["output"].as_str().unwrap().to_string(),
            ));
        }
    }
    let sandbox = Sandbox::shared().unwrap();
    for (program, (input, output)) in programs.iter().zip(cases) {
        let suite = TestSuite {
            cases: vec![TestCase::Io {
                input,
                output: output.clone(),
            }],
            tolerance: None,
        };
        let r = judge(sandbox, program, &suite, &Limits::default()).unwrap();
        assert!(r.all_passed(), "{program}\nexpected:\n{output}\n{r:?}");
    }
}
