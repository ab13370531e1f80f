//! Code environments: references score 1, mutated solutions score < 1, loaders
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

mod loaders {
    use serde_json::json;
    use verigym_envs::code::datasets::{CodeDataset, DatasetFormat};
    use verigym_envs::Environment;

    /// Writes `lines` as a JSONL file under the target tmp dir and loads it.
    fn load(tag: &str, format: DatasetFormat, lines: &[serde_json::Value]) -> CodeDataset {
        let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
        let path = dir.join(format!("code_loader_{tag}_{}.jsonl", std::process::id()));
        let text: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
        std::fs::write(&path, text.join("\n")).unwrap();
        let ds = CodeDataset::from_jsonl(&path, format, tag).unwrap();
        std::fs::remove_file(&path).unwrap();
        ds
    }

    fn answer(code: &str) -> String {
        format!("<think>x</think><answer>```python\n{code}\n```</answer>")
    }

    fn score(ds: &CodeDataset, index: u64, completion: &str) -> verigym_verifiers::Verdict {
        let task = ds.generate(0, index).unwrap();
        ds.verify(&task, completion).unwrap()
    }

    #[test]
    fn humaneval_completion_and_full_function() {
        let ds = load(
            "humaneval",
            DatasetFormat::HumanEval,
            &[json!({
                "task_id": "HumanEval/0",
                "prompt": "def add(a, b):\n    \"\"\"Return a + b.\"\"\"\n",
                "canonical_solution": "    return a + b\n",
                "test": "def check(candidate):\n    assert candidate(1, 2) == 3\n    assert candidate(-1, 1) == 0\n",
                "entry_point": "add"
            })],
        );
        let task = ds.generate(0, 0).unwrap();
        let v = ds.verify(&task, task.solution.as_ref().unwrap()).unwrap();
        assert!(v.correct, "{v:?}");
        // a body-only completion continues the prompt
        assert!(score(&ds, 0, &answer("    return a + b")).correct);
        assert!(score(&ds, 0, &answer("def add(a, b):\n    return b + a")).correct);
        let v = score(&ds, 0, &answer("def add(a, b):\n    return a * b"));
        assert!(!v.correct && v.reward == 0.0, "{v:?}");
        // skipping the tests does not pass them
        assert!(!score(&ds, 0, &answer("import sys\nsys.exit(0)")).correct);
    }

    #[test]
    fn mbpp_assertion_lists() {
        let ds = load(
            "mbpp",
            DatasetFormat::Mbpp,
            &[json!({
                "task_id": 2,
                "text": "Write a function to find the shared elements of two lists.",
                "code": "def similar_elements(a, b):\n    return tuple(sorted(set(a) & set(b)))",
                "test_list": [
                    "assert similar_elements((3, 4, 5, 6), (5, 7, 4, 10)) == (4, 5)",
                    "assert similar_elements((1, 2, 3, 4), (5, 4, 3, 7)) == (3, 4)"
                ],
                "test_setup_code": ""
            })],
        );
        let task = ds.generate(0, 0).unwrap();
        assert!(task.question.contains("similar_elements((3, 4, 5, 6)"));
        assert!(
            ds.verify(&task, task.solution.as_ref().unwrap())
                .unwrap()
                .correct
        );
        assert!(
            !score(
                &ds,
                0,
                &answer("def similar_elements(a, b):\n    return (4, 5)")
            )
            .correct
        );
    }

    #[test]
    fn apps_stdin_and_call_based() {
        let ds = load(
            "apps",
            DatasetFormat::Apps,
            &[
                json!({
                    "problem_id": 1,
                    "question": "Print the sum of two integers.",
                    "solutions": json!(["a, b = map(int, input().split())\nprint(a + b)"]).to_string(),
                    "input_output": json!({"inputs": ["1 2\n", "10 -3\n"], "outputs": ["3\n", "7\n"]}).to_string()
                }),
                json!({
                    "problem_id": 2,
                    "question": "Return the square.",
                    "solutions": json!(["def square(x):\n    return x * x"]).to_string(),
                    "input_output": json!({"fn_name": "square", "inputs": [[3], [-4]], "outputs": [[9], [16]]}).to_string()
                }),
            ],
        );
        assert_eq!(ds.problems().len(), 2);
        for i in 0..2 {
            let task = ds.generate(0, i).unwrap();
            let v = ds.verify(&task, task.solution.as_ref().unwrap()).unwrap();
            assert!(v.correct, "{v:?}");
        }
        let v = score(&ds, 0, &answer("print(3)"));
        assert!(!v.correct);
        assert_eq!(v.components["tests_passed"], 0.5);
    }

    #[test]
    fn codecontests_public_private_generated() {
        let ds = load(
            "codecontests",
            DatasetFormat::CodeContests,
            &[json!({
                "name": "1A. Double",
                "description": "Given n, print 2n.",
                "public_tests": {"input": ["2\n"], "output": ["4\n"]},
                "private_tests": {"input": ["5\n"], "output": ["10\n"]},
                "generated_tests": {"input": ["0\n", "-7\n"], "output": ["0\n", "-14\n"]},
                "solutions": {"language": [2, 3], "solution": ["int main(){}", "print(2 * int(input()))"]}
            })],
        );
        assert_eq!(ds.problems()[0].suite.cases.len(), 4);
        let task = ds.generate(0, 0).unwrap();
        assert!(
            ds.verify(&task, task.solution.as_ref().unwrap())
                .unwrap()
                .correct
        );
        let v = score(&ds, 0, &answer("print(abs(2 * int(input())))"));
        assert!(!v.correct);
        assert_eq!(v.components["tests_passed"], 0.75);
    }

    #[test]
    fn livecodebench_functional_and_stdin() {
        let ds = load(
            "livecodebench",
            DatasetFormat::LiveCodeBench,
            &[
                json!({
                    "question_title": "two-sum-size",
                    "question_content": "Return the number of pairs summing to target.",
                    "starter_code": "class Solution:\n    def countPairs(self, nums: List[int], target: int) -> int:\n        ",
                    "public_test_cases": json!([
                        {"input": "[1, 2, 3]\n4", "output": "1", "testtype": "functional"},
                        {"input": "[2, 2, 2]\n4", "output": "3", "testtype": "functional"}
                    ]).to_string(),
                    "private_test_cases": "eJzT0yMAAGTvBe8=",
                    "metadata": json!({"func_name": "countPairs"}).to_string()
                }),
                json!({
                    "question_title": "echo",
                    "question_content": "Print the input reversed.",
                    "starter_code": "",
                    "public_test_cases": json!([{"input": "abc\n", "output": "cba\n", "testtype": "stdin"}]).to_string(),
                    "private_test_cases": "[]",
                    "metadata": "{}"
                }),
            ],
        );
        let good = "from typing import List\nclass Solution:\n    def countPairs(self, nums: List[int], target: int) -> int:\n        return sum(1 for i in range(len(nums)) for j in range(i + 1, len(nums)) if nums[i] + nums[j] == target)";
        assert!(score(&ds, 0, &answer(good)).correct);
        let v = score(
            &ds,
            0,
            &answer("class Solution:\n    def countPairs(self, nums, target):\n        return 1"),
        );
        assert!(!v.correct);
        assert_eq!(v.components["tests_passed"], 0.5);
        assert!(score(&ds, 1, &answer("print(input()[::-1])")).correct);
    }

    #[test]
    fn malformed_lines_name_their_line() {
        let err = CodeDataset::from_jsonl_str(
            "{\"prompt\": \"x\"}\n",
            DatasetFormat::HumanEval,
            "he",
            "mem.jsonl",
        )
        .err()
        .unwrap();
        assert!(err.to_string().contains("mem.jsonl:1"), "{err}");
        assert!(err.to_string().contains("entry_point"), "{err}");
    }
}
