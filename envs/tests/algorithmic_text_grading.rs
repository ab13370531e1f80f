//! Grading of the algorithmic and character-level families: reference solutions
//! score 1.0 at difficulty 1, 5 and 10 (200 tasks each), a corrupted reference scores 0,
//! random well-formed answers earn close to nothing (the mean is measured and printed),
//! alternative valid answers are accepted, and the registry-wide contract holds for these
//! families on their own.

use serde_json::Value;
use verigym_envs::{Domain, EnvOptions, Environment, Registry, Task, TaskRng};

/// The families under test: every algorithmic and text family in the registry.
fn families() -> Vec<String> {
    Registry::builtin_names(&[Domain::Algorithmic, Domain::Text])
}

fn build(name: &str, difficulty: u8) -> Box<dyn Environment> {
    Registry::builtin_at(name, difficulty).unwrap_or_else(|e| panic!("{name} d{difficulty}: {e}"))
}

/// The reference's final answer (the inside of its `<answer>` block).
fn final_answer(task: &Task) -> String {
    let s = task.solution.as_deref().unwrap_or("");
    let start = s.rfind("<answer>").map(|i| i + 8).unwrap_or(0);
    let end = s.rfind("</answer>").unwrap_or(s.len());
    s[start..end].to_string()
}

fn wrap(answer: &str) -> String {
    format!("<think>worked</think>\n<answer>{answer}</answer>")
}

fn score(env: &dyn Environment, task: &Task, answer: &str) -> f64 {
    let v = env.verify(task, &wrap(answer)).unwrap();
    assert_eq!(v.correct, v.reward == 1.0, "{v:?}");
    v.reward
}

fn ints(v: &Value) -> Vec<i64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_i64().unwrap())
        .collect()
}

fn join(v: &[i64]) -> String {
    v.iter()
        .map(|x| x.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

fn next_letter(c: char) -> char {
    char::from(b'a' + ((c.to_ascii_lowercase() as u8 - b'a' + 1) % 26))
}

/// Changes the last letter of `s` to the next letter of the alphabet.
fn bump_last_letter(s: &str) -> String {
    let mut chars: Vec<char> = s.chars().collect();
    if let Some(i) = chars.iter().rposition(|c| c.is_ascii_alphabetic()) {
        let up = chars[i].is_ascii_uppercase();
        let n = next_letter(chars[i]);
        chars[i] = if up { n.to_ascii_uppercase() } else { n };
    }
    chars.into_iter().collect()
}

fn matrix_of(v: &Value) -> Vec<Vec<i64>> {
    v.as_array().unwrap().iter().map(ints).collect()
}

fn matrix_text(m: &[Vec<i64>]) -> String {
    m.iter()
        .map(|r| {
            r.iter()
                .map(|x| x.to_string())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// A wrong answer of the right shape, made from the reference.
fn corrupt(name: &str, task: &Task) -> String {
    let fa = final_answer(task);
    let a = &task.answer;
    match name {
        "letter_counting" | "bit_operations" => (fa.parse::<i64>().unwrap() + 1).to_string(),
        "date_arithmetic" => match fa.parse::<i64>() {
            Ok(n) => (n + 1).to_string(),
            Err(_) => {
                // Move the date by one day (re-using the family's own validity rules).
                let parts: Vec<i64> = fa.split('-').map(|p| p.parse().unwrap()).collect();
                let day = if parts[2] == 1 { 2 } else { parts[2] - 1 };
                format!("{:04}-{:02}-{:02}", parts[0], parts[1], day)
            }
        },
        "spell_word" | "spell_backward" | "caesar_cipher" | "char_at_position" => {
            bump_last_letter(&fa)
        }
        "palindrome" => {
            let mut c: Vec<char> = fa.chars().collect();
            c[0] = next_letter(c[0]);
            c.into_iter().collect()
        }
        "word_reversal" => {
            let mut w: Vec<&str> = fa.split(' ').collect();
            w.pop();
            w.join(" ")
        }
        "anagram_check" => {
            let mut g: Vec<&str> = a["anagrams"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_str().unwrap())
                .collect();
            if g.is_empty() {
                a["candidates"][0].as_str().unwrap().to_string()
            } else {
                g.pop();
                if g.is_empty() {
                    "none".into()
                } else {
                    g.join(", ")
                }
            }
        }
        "sorting" => {
            let mut v = ints(&a["sorted"]);
            v[0] += 1;
            join(&v)
        }
        "dedup" => {
            let mut v = ints(&a["kept"]);
            v.push(v[0]);
            join(&v)
        }
        "set_operations" => {
            let mut v = ints(&a["set"]);
            if v.pop().is_none() {
                v.push(7);
            }
            if v.is_empty() {
                "none".into()
            } else {
                join(&v)
            }
        }
        "base_conversion" => {
            let base = a["base"].as_u64().unwrap() as u32;
            let mut c: Vec<char> = fa.chars().collect();
            let last = c.len() - 1;
            let d = c[last].to_digit(base).unwrap();
            c[last] = char::from_digit((d + 1) % base, base).unwrap();
            c.into_iter().collect()
        }
        "run_length" => {
            if a["mode"] == "decode" {
                format!("{fa}a")
            } else {
                // One more of the first letter.
                let digits: String = fa.chars().take_while(|c| c.is_ascii_digit()).collect();
                let n: u64 = digits.parse().unwrap();
                format!("{}{}", n + 1, &fa[digits.len()..])
            }
        }
        "game_of_life" => {
            let mut c: Vec<char> = fa.chars().collect();
            c[0] = if c[0] == '#' { '.' } else { '#' };
            c.into_iter().collect()
        }
        "matrix_multiply" | "matrix_transpose" => {
            let mut m = matrix_of(&a["matrix"]);
            m[0][0] += 1;
            matrix_text(&m)
        }
        "day_of_week" => {
            const W: [&str; 7] = [
                "Monday",
                "Tuesday",
                "Wednesday",
                "Thursday",
                "Friday",
                "Saturday",
                "Sunday",
            ];
            let mut v = ints(&a["weekdays"]);
            v[0] = (v[0] + 1) % 7;
            v.iter()
                .map(|i| W[*i as usize])
                .collect::<Vec<_>>()
                .join(", ")
        }
        other => panic!("no corruption for {other}"),
    }
}

/// Text between the `k`-th pair of `open` and `close` in `s`.
fn between(s: &str, open: char, close: char, k: usize) -> String {
    let mut rest = s;
    for _ in 0..k {
        rest = &rest[rest.find(close).unwrap() + 1..];
    }
    let i = rest.find(open).unwrap() + open.len_utf8();
    let j = rest[i..].find(close).unwrap() + i;
    rest[i..j].to_string()
}

/// An answer of the right shape drawn at random: what a guesser who knows the format
/// (and, where it helps, the letters or numbers involved) would write.
fn random_answer(name: &str, task: &Task, env: &dyn Environment, rng: &mut TaskRng) -> String {
    let fa = final_answer(task);
    let a = &task.answer;
    let q = &task.question;
    let shuffle_chars = |rng: &mut TaskRng, s: &str| {
        let mut c: Vec<char> = s.chars().collect();
        rng.shuffle(&mut c);
        c.into_iter().collect::<String>()
    };
    match name {
        "letter_counting" => {
            // The question quotes the letter, then the text.
            let text = q.split('"').nth(3).unwrap();
            rng.range(0, text.replace(' ', "").len() as i64).to_string()
        }
        "spell_word" | "char_at_position" => {
            let n = fa.split(' ').count();
            let text = between(q, '"', '"', 0);
            let letters: Vec<char> = text.chars().collect();
            (0..n)
                .map(|_| rng.choose(&letters).unwrap().to_string())
                .collect::<Vec<_>>()
                .join(" ")
        }
        "spell_backward" | "palindrome" => shuffle_chars(rng, &fa),
        "word_reversal" => {
            let mut w: Vec<&str> = fa.split(' ').collect();
            rng.shuffle(&mut w);
            w.join(" ")
        }
        "caesar_cipher" => {
            let k = rng.below(26) as u8;
            fa.bytes()
                .map(|b| {
                    if b.is_ascii_uppercase() {
                        char::from(b'A' + (b - b'A' + k) % 26)
                    } else {
                        char::from(b)
                    }
                })
                .collect()
        }
        "anagram_check" => {
            let picked: Vec<&str> = a["candidates"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_str().unwrap())
                .filter(|_| rng.chance(0.5))
                .collect();
            if picked.is_empty() {
                "none".into()
            } else {
                picked.join(", ")
            }
        }
        "sorting" | "dedup" => {
            let mut v = ints(&a[if name == "sorting" { "sorted" } else { "kept" }]);
            rng.shuffle(&mut v);
            join(&v)
        }
        "set_operations" => {
            let mut pool: Vec<i64> = Vec::new();
            for k in 0..2 {
                for x in between(q, '{', '}', k).split(", ") {
                    let x: i64 = x.parse().unwrap();
                    if !pool.contains(&x) {
                        pool.push(x);
                    }
                }
            }
            let v: Vec<i64> = pool.into_iter().filter(|_| rng.chance(0.5)).collect();
            if v.is_empty() {
                "none".into()
            } else {
                join(&v)
            }
        }
        "bit_operations" => {
            let bits: u32 = q
                .split("-bit")
                .next()
                .unwrap()
                .rsplit(' ')
                .next()
                .unwrap()
                .parse()
                .unwrap();
            rng.below(1u64 << bits).to_string()
        }
        "base_conversion" => {
            let base = a["base"].as_u64().unwrap();
            let n = fa.len();
            (0..n)
                .map(|i| {
                    let d = if i == 0 {
                        1 + rng.below(base - 1)
                    } else {
                        rng.below(base)
                    };
                    char::from_digit(d as u32, base as u32).unwrap()
                })
                .collect()
        }
        "run_length" => {
            if a["mode"] == "decode" {
                shuffle_chars(rng, &fa)
            } else {
                // Shuffle the runs.
                let mut runs: Vec<String> = Vec::new();
                let mut cur = String::new();
                for c in fa.chars() {
                    cur.push(c);
                    if c.is_ascii_alphabetic() {
                        runs.push(std::mem::take(&mut cur));
                    }
                }
                rng.shuffle(&mut runs);
                runs.concat()
            }
        }
        "game_of_life" => fa
            .split('\n')
            .map(|r| {
                r.chars()
                    .map(|_| if rng.chance(0.35) { '#' } else { '.' })
                    .collect::<String>()
            })
            .collect::<Vec<_>>()
            .join("\n"),
        "matrix_multiply" | "matrix_transpose" => {
            let m = matrix_of(&a["matrix"]);
            let lo = m.iter().flatten().min().copied().unwrap();
            let hi = m.iter().flatten().max().copied().unwrap();
            let r: Vec<Vec<i64>> = m
                .iter()
                .map(|row| row.iter().map(|_| rng.range(lo, hi)).collect())
                .collect();
            matrix_text(&r)
        }
        "day_of_week" => {
            const W: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
            ints(&a["weekdays"])
                .iter()
                .map(|_| *rng.choose(&W).unwrap())
                .collect::<Vec<_>>()
                .join(", ")
        }
        "date_arithmetic" => {
            let max_days = env.config()["max_days"].as_i64().unwrap();
            match fa.parse::<i64>() {
                Ok(_) => rng.range(1, max_days).to_string(),
                Err(_) => {
                    // A date within max_days of the gold, as a guesser who knows roughly
                    // where it lies: a random year/month/day near it.
                    let y: i64 = fa[..4].parse().unwrap();
                    let spread = (max_days / 365).max(0);
                    let year = (y + rng.range(-spread, spread)).clamp(1, 9999);
                    format!(
                        "{:04}-{:02}-{:02}",
                        year,
                        rng.range(1, 12),
                        rng.range(1, 28)
                    )
                }
            }
        }
        other => panic!("no random answer for {other}"),
    }
}

#[test]
fn reference_solutions_score_one_at_levels_1_5_10() {
    for name in &families() {
        for d in [1, 5, 10] {
            let env = build(name, d);
            for i in 0..200 {
                let task = env.generate(5, i).unwrap();
                let sol = task.solution.clone().unwrap();
                let v = env.verify(&task, &sol).unwrap();
                assert!(
                    v.correct && v.reward == 1.0,
                    "{name} d{d} #{i}: {v:?}\n{sol}"
                );
                assert!(
                    sol.len() > final_answer(&task).len() + 40,
                    "{name}: no real chain of thought"
                );
            }
        }
    }
}

#[test]
fn corrupted_solutions_score_zero() {
    for name in &families() {
        for d in [1, 5, 10] {
            let env = build(name, d);
            for i in 0..100 {
                let task = env.generate(6, i).unwrap();
                let bad = corrupt(name, &task);
                assert_ne!(bad, final_answer(&task), "{name}: corruption is a no-op");
                let v = env.verify(&task, &wrap(&bad)).unwrap();
                assert!(
                    !v.correct && v.reward == 0.0,
                    "{name} d{d} #{i}: {bad:?} got {v:?}"
                );
            }
        }
    }
}

#[test]
fn random_well_formed_answers_earn_close_to_nothing() {
    // Measured means are printed (`cargo test -- --nocapture`); the bounds are the
    // theoretical guess rates with slack, per family where they differ.
    let mut report = Vec::new();
    for name in &families() {
        let mut worst: f64 = 0.0;
        for d in [1, 5, 10] {
            let mut rng = TaskRng::for_task(name, 77, u64::from(d));
            let env = build(name, d);
            let n = 400;
            let mut total = 0.0;
            for i in 0..n {
                let task = env.generate(8, i).unwrap();
                let guess = random_answer(name, &task, env.as_ref(), &mut rng);
                total += score(env.as_ref(), &task, &guess);
            }
            let mean = total / n as f64;
            println!("random {name} d{d}: {mean:.4}");
            report.push(format!("{name} d{d}: {mean:.4}"));
            worst = worst.max(mean);
        }
        // letter_counting's guess range is the text's letter count (~1/15 at level 1);
        // caesar's guess is one of 26 shifts; the others are below a few percent.
        let bound = match name.as_str() {
            "letter_counting" => 0.1,
            "caesar_cipher" => 0.07,
            _ => 0.05,
        };
        assert!(worst <= bound, "{name}: random answers earn {worst}");
    }
    println!(
        "random well-formed answer mean reward:\n{}",
        report.join("\n")
    );
}

/// Hand-written alternative forms of a valid answer, each of which must score 1.
fn alternatives(name: &str, task: &Task) -> Vec<String> {
    let fa = final_answer(task);
    let a = &task.answer;
    match name {
        "letter_counting" => vec![format!("\\boxed{{{fa}}}"), format!("**{fa}**")],
        "spell_word" => vec![
            fa.replace(' ', ", "),
            fa.to_uppercase(),
            fa.replace(' ', "-"),
        ],
        "spell_backward" => {
            let spaced: Vec<String> = fa.chars().map(|c| c.to_string()).collect();
            vec![spaced.join(" "), fa.to_uppercase(), format!("\"{fa}\"")]
        }
        "word_reversal" => vec![fa.to_uppercase(), fa.replace(' ', ", ")],
        "caesar_cipher" => vec![fa.to_lowercase(), format!("\"{fa}\"")],
        "char_at_position" => vec![fa.replace(' ', ", "), fa.to_uppercase()],
        "anagram_check" => {
            let mut g: Vec<&str> = a["anagrams"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_str().unwrap())
                .collect();
            g.reverse();
            if g.is_empty() {
                vec!["None".into(), "none.".into()]
            } else {
                vec![g.join(", "), g.join(" ")]
            }
        }
        "palindrome" => {
            // Another arrangement: the first half reversed, then mirrored.
            let c: Vec<char> = fa.chars().collect();
            let h = c.len() / 2;
            let mut half: Vec<char> = c[..h].to_vec();
            half.reverse();
            let mut p = half.clone();
            if c.len() % 2 == 1 {
                p.push(c[h]);
            }
            p.extend(half.iter().rev());
            vec![p.into_iter().collect(), fa.to_uppercase()]
        }
        "sorting" | "dedup" => vec![format!("[{fa}]"), fa.replace(", ", " ")],
        "set_operations" => {
            let mut v = ints(&a["set"]);
            v.reverse();
            if v.is_empty() {
                vec!["∅".into(), "{}".into(), "empty".into()]
            } else {
                vec![join(&v), format!("{{{}}}", join(&v))]
            }
        }
        "bit_operations" => vec![format!("0b{:b}", a["value"].as_u64().unwrap())],
        "base_conversion" => match a["base"].as_u64().unwrap() {
            2 => vec![format!("0b{fa}")],
            16 => vec![format!("0x{}", fa.to_uppercase())],
            _ => vec![format!("{fa}.")],
        },
        "run_length" => {
            if a["mode"] == "decode" {
                vec![fa.to_uppercase()]
            } else {
                // Counts of 1 left out: "3a1b2c" -> "3ab2c".
                let mut out = String::new();
                let mut digits = String::new();
                for ch in fa.chars() {
                    if ch.is_ascii_digit() {
                        digits.push(ch);
                    } else {
                        if digits != "1" {
                            out.push_str(&digits);
                        }
                        digits.clear();
                        out.push(ch);
                    }
                }
                vec![out]
            }
        }
        "game_of_life" => vec![
            fa.replace('#', "1").replace('.', "0"),
            format!("```\n{fa}\n```"),
        ],
        "matrix_multiply" | "matrix_transpose" => {
            let m = matrix_of(&a["matrix"]);
            let nested = m
                .iter()
                .map(|r| format!("[{}]", join(r)))
                .collect::<Vec<_>>()
                .join(", ");
            vec![format!("[{nested}]"), fa.replace('\n', "; ")]
        }
        "day_of_week" => vec![
            fa.split(", ")
                .map(|w| w[..3].to_lowercase())
                .collect::<Vec<_>>()
                .join(", "),
            fa.to_uppercase().replace(", ", " "),
        ],
        "date_arithmetic" => match fa.parse::<i64>() {
            Ok(n) if n >= 1000 => vec![format!("{},{:03}", n / 1000, n % 1000)],
            Ok(n) => vec![format!("{n}.")],
            Err(_) => vec![format!("**{fa}**")],
        },
        other => panic!("no alternatives for {other}"),
    }
}

#[test]
fn alternative_valid_answers_are_accepted() {
    for name in &families() {
        for d in [1, 5, 10] {
            let env = build(name, d);
            for i in 0..50 {
                let task = env.generate(9, i).unwrap();
                for alt in alternatives(name, &task) {
                    let v = env.verify(&task, &wrap(&alt)).unwrap();
                    assert!(v.correct, "{name} d{d} #{i}: {alt:?} rejected: {v:?}");
                }
            }
        }
    }
}

#[test]
fn palindrome_accepts_every_arrangement_of_a_small_multiset() {
    // Letters a a b b c: the valid answers are abcba and bacab; every other
    // permutation must be refused.
    let env = build("palindrome", 1);
    let mut task = env.generate(1, 0).unwrap();
    task.answer = serde_json::json!({ "letters": "aabbc" });
    let mut accepted = Vec::new();
    let letters = ['a', 'a', 'b', 'b', 'c'];
    let mut idx = [0usize, 1, 2, 3, 4];
    // All 120 orderings via Heap's algorithm.
    let mut c = [0usize; 5];
    let mut visit = |idx: &[usize; 5]| {
        let s: String = idx.iter().map(|i| letters[*i]).collect();
        if env.verify(&task, &wrap(&s)).unwrap().correct && !accepted.contains(&s) {
            accepted.push(s);
        }
    };
    visit(&idx);
    let mut i = 0;
    while i < 5 {
        if c[i] < i {
            if i % 2 == 0 {
                idx.swap(0, i);
            } else {
                idx.swap(c[i], i);
            }
            visit(&idx);
            c[i] += 1;
            i = 0;
        } else {
            c[i] = 0;
            i += 1;
        }
    }
    accepted.sort();
    assert_eq!(accepted, vec!["abcba".to_string(), "bacab".to_string()]);
}

#[test]
fn hedged_and_padded_answers_are_refused() {
    let env = build("letter_counting", 1);
    let task = env.generate(1, 1).unwrap();
    let fa = final_answer(&task);
    for bad in [
        format!("{fa} or 4"),
        format!("count = {fa}"),
        format!("{fa} {fa}"),
    ] {
        assert_eq!(score(env.as_ref(), &task, &bad), 0.0, "{bad}");
    }
    let env = build("anagram_check", 5);
    let task = env.generate(1, 2).unwrap();
    let all = task.answer["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap())
        .collect::<Vec<_>>()
        .join(", ");
    if task.answer["anagrams"].as_array().unwrap().len()
        < task.answer["candidates"].as_array().unwrap().len()
    {
        assert_eq!(
            score(env.as_ref(), &task, &all),
            0.0,
            "listing every candidate"
        );
    }
    let env = build("set_operations", 3);
    let task = env.generate(1, 3).unwrap();
    let mut v = ints(&task.answer["set"]);
    if let Some(x) = v.first().copied() {
        v.push(x);
        assert_eq!(score(env.as_ref(), &task, &join(&v)), 0.0, "duplicates");
    }
}

#[test]
fn the_registry_contract_holds_for_these_families() {
    let garbage = [
        "".to_string(),
        "<think>".to_string(),
        "<answer></answer>".to_string(),
        "\u{0}\u{feff}\u{202e}ünï©ødé".to_string(),
        "9".repeat(100_000),
        format!("<think>x</think><answer>{}</answer>", "1,".repeat(30_000)),
        format!("<think>x</think><answer>{}</answer>", "a ".repeat(30_000)),
        format!("<think>x</think><answer>{}</answer>", "#\n".repeat(30_000)),
        format!("<think>x</think><answer>{}a</answer>", "9".repeat(60_000)),
    ];
    for name in &families() {
        for d in [1, 10] {
            let (a, b) = (build(name, d), build(name, d));
            for i in 0..1000 {
                let t = a.generate(42, i).unwrap();
                if i < 20 {
                    assert_eq!(t, b.generate(42, i).unwrap(), "{name} deterministic");
                }
            }
            let task = a.generate(3, 0).unwrap();
            for g in &garbage {
                let v = a.verify(&task, g).unwrap();
                assert!(!v.correct && v.reward == 0.0, "{name}: {v:?}");
            }
        }
        let env = build(name, 5);
        let differing = (0..20)
            .filter(|&i| env.generate(1, i).unwrap().prompt != env.generate(2, i).unwrap().prompt)
            .count();
        assert!(differing >= 15, "{name}: {differing}/20 differ");
        let err = Registry::builtin()
            .build(
                name,
                &EnvOptions {
                    difficulty: None,
                    config: Some(serde_json::json!({"no_such_field": 1})),
                },
            )
            .err()
            .unwrap();
        assert!(err.to_string().contains("no_such_field"));
    }
}
