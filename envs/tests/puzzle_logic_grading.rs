//! Grading of the puzzle and logic families: reference solutions score 1 at difficulty 1, 5 and
//! 10 (200 tasks each), a corrupted solution scores 0, alternative valid answers score 1,
//! and random answers of the right shape earn close to nothing.

use serde_json::Value;
use verigym_envs::task::Task;
use verigym_envs::{Domain, EnvOptions, Environment, Registry, TaskRng};

/// The families under test: every logic and puzzle family in the registry.
fn families() -> Vec<String> {
    Registry::builtin_names(&[Domain::Logic, Domain::Puzzle])
}

fn build(name: &str, difficulty: u8) -> Box<dyn Environment> {
    Registry::builtin_at(name, difficulty).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn wrap(answer: &str) -> String {
    format!("<think>checked</think>\n<answer>{answer}</answer>")
}

/// The reference answer inside `<answer>`.
fn reference(task: &Task) -> String {
    let s = task.solution.as_deref().expect("solution");
    let start = s.find("<answer>").expect("answer tag") + "<answer>".len();
    let end = s.rfind("</answer>").expect("answer close");
    s[start..end].trim().to_string()
}

fn score(env: &dyn Environment, task: &Task, answer: &str) -> f64 {
    let v = env
        .verify(task, &wrap(answer))
        .expect("verifier must not fail");
    assert_eq!(
        v.correct,
        v.reward == 1.0,
        "correct must match a full reward: {v:?}"
    );
    v.reward
}

fn lines(s: &str) -> Vec<String> {
    s.lines().map(str::to_string).collect()
}

/// A family-specific corruption of a valid answer that can never be valid.
fn corrupt(name: &str, task: &Task, answer: &str) -> String {
    let gold = &task.answer;
    let words: Vec<&str> = answer.split_whitespace().collect();
    match name {
        // No number is ever 0, so "+ 0" uses a number that is not given.
        "countdown" | "game_of_24" => format!("{answer} + 0"),
        "sudoku" | "mini_sudoku" => {
            // Change the first cell that was empty: its row then repeats a digit.
            let puzzle = gold["puzzle"].as_str().unwrap();
            let n =
                (gold["box_rows"].as_u64().unwrap() * gold["box_cols"].as_u64().unwrap()) as usize;
            let i = puzzle.bytes().position(|b| b == b'0').unwrap();
            let mut rows: Vec<Vec<String>> = answer
                .lines()
                .map(|l| l.split_whitespace().map(str::to_string).collect())
                .collect();
            let cell = &mut rows[i / n][i % n];
            let d: usize = cell.parse().unwrap();
            *cell = (d % n + 1).to_string();
            rows.iter()
                .map(|r| r.join(" "))
                .collect::<Vec<_>>()
                .join("\n")
        }
        "n_queens" => {
            // Move the queen of a non-given row onto another queen's column.
            let given: Vec<usize> = gold["given"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p[0].as_u64().unwrap() as usize)
                .collect();
            let mut rows = lines(answer);
            let r = (0..rows.len()).find(|r| !given.contains(r)).unwrap();
            let q = rows[r].find('Q').unwrap();
            let n = rows[r].len();
            let mut row: Vec<char> = vec!['_'; n];
            row[(q + 1) % n] = 'Q';
            rows[r] = row.into_iter().collect();
            rows.join("\n")
        }
        "maze" => {
            // Reverse the last move: same length, ends two squares away from G.
            let mut m: Vec<String> = words.iter().map(|s| s.to_string()).collect();
            let last = m.pop().unwrap();
            let flipped = match last.as_str() {
                "U" => "D",
                "D" => "U",
                "L" => "R",
                _ => "L",
            };
            m.push(flipped.to_string());
            m.join(" ")
        }
        "tower_of_hanoi" => {
            let mut l = lines(answer);
            l.swap(0, 1);
            l.join("\n")
        }
        "sliding_puzzle" => words[..words.len() - 1].join(" "),
        "knights_tour" | "topological_sort" => {
            let mut w: Vec<&str> = words.clone();
            let last = w.len() - 1;
            w[last] = w[0];
            w.join(" ")
        }
        "weighted_shortest_path" | "word_ladder" => {
            let mut w: Vec<&str> = words.clone();
            w.push(words[0]);
            w.join(" ")
        }
        "graph_colouring" => {
            let k = gold["colours"].as_u64().unwrap();
            let edges = gold["edges"].as_array().unwrap();
            let mut pairs: Vec<(u64, u64)> = answer
                .split(", ")
                .map(|p| {
                    let (v, c) = p.split_once(": ").unwrap();
                    (v.parse().unwrap(), c.parse().unwrap())
                })
                .collect();
            match edges.first() {
                Some(e) => {
                    let (a, b) = (e[0].as_u64().unwrap(), e[1].as_u64().unwrap());
                    let cb = pairs[(b - 1) as usize].1;
                    pairs[(a - 1) as usize].1 = cb;
                }
                None => pairs[0].1 = k + 1,
            }
            pairs
                .iter()
                .map(|(v, c)| format!("{v}: {c}"))
                .collect::<Vec<_>>()
                .join(", ")
        }
        "cryptarithm" => {
            // Give the first letter the second letter's digit: two letters share a digit.
            let mut parts: Vec<String> = answer.split(", ").map(str::to_string).collect();
            let d2 = parts[1].split('=').nth(1).unwrap().to_string();
            let l1 = parts[0].split('=').next().unwrap().to_string();
            parts[0] = format!("{l1}={d2}");
            parts.join(", ")
        }
        "knights_knaves" => answer
            .replace("knight", "KNAVE_")
            .replace("knave", "knight")
            .replace("KNAVE_", "knave"),
        "zebra" => {
            // Swap the contents of houses 1 and 2 (the solution is unique).
            let mut l = lines(answer);
            let a = l[0].split_once(": ").unwrap().1.to_string();
            let b = l[1].split_once(": ").unwrap().1.to_string();
            l[0] = format!("House 1: {b}");
            l[1] = format!("House 2: {a}");
            l.join("\n")
        }
        "syllogisms" => {
            if answer == "none" {
                "A".into()
            } else if answer.contains('A') {
                let rest: Vec<&str> = answer.split(", ").filter(|x| *x != "A").collect();
                if rest.is_empty() {
                    "none".into()
                } else {
                    rest.join(", ")
                }
            } else {
                format!("A, {answer}")
            }
        }
        "propositional_sat" => {
            // Falsify every literal of the first clause.
            let clause = gold["clauses"][0].as_array().unwrap();
            let mut parts: Vec<String> = answer.split(", ").map(str::to_string).collect();
            for lit in clause {
                let (v, pos) = (lit[0].as_u64().unwrap() as usize, lit[1].as_bool().unwrap());
                parts[v] = format!("x{}={}", v + 1, if pos { "F" } else { "T" });
            }
            parts.join(", ")
        }
        other => panic!("no corruption for {other}"),
    }
}

#[test]
fn reference_solutions_score_one_and_corruptions_zero_at_levels_1_5_10() {
    for name in &families() {
        for d in [1u8, 5, 10] {
            let env = build(name, d);
            for i in 0..200 {
                let task = env.generate(2026, i).unwrap();
                let v = env
                    .verify(&task, task.solution.as_deref().unwrap())
                    .unwrap();
                assert!(v.correct && v.reward == 1.0, "{name} d{d} #{i}: {v:?}");
                let answer = reference(&task);
                let bad = corrupt(name, &task, &answer);
                assert_eq!(
                    score(env.as_ref(), &task, &bad),
                    0.0,
                    "{name} d{d} #{i}: corrupted answer passed:\n{bad}"
                );
            }
        }
    }
}

#[test]
fn alternative_valid_answers_score_one() {
    // topological_sort: Kahn's algorithm taking the alphabetically LAST ready task.
    let env = build("topological_sort", 6);
    let mut differing = 0;
    for i in 0..100 {
        let task = env.generate(5, i).unwrap();
        let n = task.answer["tasks"].as_u64().unwrap() as usize;
        let edges: Vec<(usize, usize)> = task.answer["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e[0].as_u64().unwrap() as usize,
                    e[1].as_u64().unwrap() as usize,
                )
            })
            .collect();
        let mut done = vec![false; n];
        let mut order = Vec::new();
        for _ in 0..n {
            let v = (0..n)
                .rev()
                .find(|&v| !done[v] && edges.iter().all(|&(a, b)| b != v || done[a]))
                .unwrap();
            done[v] = true;
            order.push(((b'A' + v as u8) as char).to_string());
        }
        let alt = order.join(" ");
        differing += usize::from(alt != reference(&task));
        assert_eq!(score(env.as_ref(), &task, &alt), 1.0, "{alt}");
    }
    assert!(differing > 50);

    // graph_colouring: any permutation of the colours of a proper colouring is proper.
    let env = build("graph_colouring", 7);
    for i in 0..100 {
        let task = env.generate(5, i).unwrap();
        let k = task.answer["colours"].as_u64().unwrap();
        let alt = reference(&task)
            .split(", ")
            .map(|p| {
                let (v, c) = p.split_once(": ").unwrap();
                let c: u64 = c.parse().unwrap();
                format!("{v}={}", k + 1 - c)
            })
            .collect::<Vec<_>>()
            .join("\n");
        assert_eq!(score(env.as_ref(), &task, &alt), 1.0, "{alt}");
    }

    // n_queens with every queen removed: the mirror image of a solution is a solution.
    let env = Registry::builtin()
        .build(
            "n_queens",
            &EnvOptions {
                difficulty: Some(5),
                config: Some(serde_json::json!({"min_remove": 8, "max_remove": 8})),
            },
        )
        .unwrap();
    for i in 0..50 {
        let task = env.generate(5, i).unwrap();
        let alt = reference(&task)
            .lines()
            .map(|l| l.chars().rev().collect::<String>())
            .collect::<Vec<_>>()
            .join("\n");
        assert_eq!(score(env.as_ref(), &task, &alt), 1.0, "{alt}");
    }

    // Equivalent phrasings the prompts allow.
    type Rephrase = fn(&str) -> String;
    let phrasing: &[(&str, Rephrase)] = &[
        ("tower_of_hanoi", |a| {
            a.lines()
                .map(|l| l.split_once(": ").unwrap().1.replace(" -> ", " to "))
                .collect::<Vec<_>>()
                .join("\n")
        }),
        ("knights_knaves", |a| {
            a.split(", ")
                .map(|p| p.replace(": ", " is a "))
                .collect::<Vec<_>>()
                .join("\n")
        }),
        ("zebra", |a| {
            a.lines()
                .map(|l| {
                    let (h, vals) = l.split_once(": ").unwrap();
                    let mut v: Vec<&str> = vals.split(", ").collect();
                    v.reverse();
                    format!("{h}: {}", v.join(", ").to_lowercase())
                })
                .collect::<Vec<_>>()
                .join("\n")
        }),
        ("propositional_sat", |a| {
            a.replace("=T", "=true").replace("=F", "=false")
        }),
        ("sudoku", |a| a.replace(' ', "")),
        ("maze", |a| a.replace(' ', "")),
        ("game_of_24", |a| format!("{a} = 24")),
        ("word_ladder", |a| a.to_lowercase().replace(' ', " -> ")),
        ("knights_tour", |a| a.replace(' ', ", ")),
    ];
    for (name, alt) in phrasing {
        let env = build(name, 5);
        for i in 0..50 {
            let task = env.generate(9, i).unwrap();
            let a = alt(&reference(&task));
            assert_eq!(score(env.as_ref(), &task, &a), 1.0, "{name}: {a}");
        }
    }
}

/// Mean reward of `answers` drawn by `draw` over 300 tasks.
fn mean_random(name: &str, d: u8, draw: impl Fn(&Task, &mut TaskRng) -> String) -> f64 {
    let env = build(name, d);
    let mut rng = TaskRng::from_seed(99);
    let mut total = 0.0;
    for i in 0..300 {
        let task = env.generate(4, i).unwrap();
        total += score(env.as_ref(), &task, &draw(&task, &mut rng));
    }
    total / 300.0
}

#[test]
fn random_well_formed_answers_earn_close_to_nothing() {
    let sudoku = mean_random("sudoku", 5, |_, r| {
        (0..9)
            .map(|_| {
                (0..9)
                    .map(|_| (1 + r.below(9)).to_string())
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect::<Vec<_>>()
            .join("\n")
    });
    let queens = mean_random("n_queens", 8, |t, r| {
        let n = t.answer["n"].as_u64().unwrap() as usize;
        (0..n)
            .map(|_| {
                let q = r.below(n as u64) as usize;
                (0..n)
                    .map(|c| if c == q { 'Q' } else { '_' })
                    .collect::<String>()
            })
            .collect::<Vec<_>>()
            .join("\n")
    });
    let knaves = mean_random("knights_knaves", 10, |t, r| {
        t.answer["names"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| {
                format!(
                    "{}: {}",
                    n.as_str().unwrap(),
                    if r.chance(0.5) { "knight" } else { "knave" }
                )
            })
            .collect::<Vec<_>>()
            .join(", ")
    });
    let colours = mean_random("graph_colouring", 6, |t, r| {
        let (n, k) = (
            t.answer["vertices"].as_u64().unwrap(),
            t.answer["colours"].as_u64().unwrap(),
        );
        (1..=n)
            .map(|v| format!("{v}: {}", 1 + r.below(k)))
            .collect::<Vec<_>>()
            .join(", ")
    });
    let sat = mean_random("propositional_sat", 10, |t, r| {
        let n = t.answer["variables"].as_u64().unwrap();
        (1..=n)
            .map(|v| format!("x{v}={}", if r.chance(0.5) { "T" } else { "F" }))
            .collect::<Vec<_>>()
            .join(", ")
    });
    let maze = mean_random("maze", 8, |t, r| {
        let d = t.answer["distance"].as_u64().unwrap();
        (0..d)
            .map(|_| ["U", "D", "L", "R"][r.below(4) as usize])
            .collect::<Vec<_>>()
            .join(" ")
    });
    let syllogisms = mean_random("syllogisms", 9, |t, r| {
        let n = t.answer["count"].as_u64().unwrap() as u8;
        let picked: Vec<String> = (0..n)
            .filter(|_| r.chance(0.5))
            .map(|i| ((b'A' + i) as char).to_string())
            .collect();
        if picked.is_empty() {
            "none".into()
        } else {
            picked.join(", ")
        }
    });
    let order = mean_random("topological_sort", 10, |t, r| {
        let n = t.answer["tasks"].as_u64().unwrap() as u8;
        let mut v: Vec<String> = (0..n).map(|i| ((b'A' + i) as char).to_string()).collect();
        r.shuffle(&mut v);
        v.join(" ")
    });
    for (name, mean) in [
        ("sudoku", sudoku),
        ("n_queens", queens),
        ("knights_knaves", knaves),
        ("graph_colouring", colours),
        ("propositional_sat", sat),
        ("maze", maze),
        ("syllogisms", syllogisms),
        ("topological_sort", order),
    ] {
        assert!(mean < 0.05, "{name}: random answers average {mean}");
    }
}

#[test]
fn gold_specs_are_plain_json() {
    for name in &families() {
        let task = build(name, 3).generate(1, 1).unwrap();
        assert!(matches!(task.answer, Value::Object(_)), "{name}");
    }
}
