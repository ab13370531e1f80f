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
