//! `palindrome`: arrange a multiset of letters into a palindrome using each exactly once
//! (the reasoning-gym `palindrome_generation` task).
//!
//! Many answers are valid; the verifier checks the letters and the mirror property from
//! the answer itself. The reference pairs letters up and mirrors the first half.

use crate::env::{Domain, Family, Problem};
use crate::kit::render;
use crate::kit::{gold_str, parse_word, push_int, reject, str_gold};
use crate::rng::TaskRng;
use serde::{Deserialize, Serialize};
use verigym_verifiers::{Verdict, VerifyError};

const TEMPLATE: &str = crate::template!("palindrome");

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PalindromeConfig {
    /// Letters given, drawn uniformly in [min_letters, max_letters].
    pub min_letters: usize,
    pub max_letters: usize,
    /// Size of the alphabet the letters are drawn from (2..=26); small means repeats.
    pub alphabet: u8,
}

pub struct Palindrome {
    config: PalindromeConfig,
}

fn counts(letters: &[u8]) -> [usize; 26] {
    let mut c = [0usize; 26];
    for b in letters {
        if b.is_ascii_lowercase() {
            c[usize::from(b - b'a')] += 1;
        }
    }
    c
}

impl Family for Palindrome {
    type Config = PalindromeConfig;
    const NAME: &'static str = "palindrome";
    const DOMAIN: Domain = Domain::Text;
    const DESCRIPTION: &'static str =
        "Arrange given letters into a palindrome (any valid arrangement accepted)";

    fn config_for(difficulty: u8) -> PalindromeConfig {
        const MIN: [usize; 10] = [7, 8, 9, 10, 11, 13, 15, 17, 19, 21];
        const MAX: [usize; 10] = [8, 9, 10, 12, 14, 16, 18, 20, 23, 27];
        let d = usize::from(difficulty.clamp(1, 10)) - 1;
        PalindromeConfig {
            min_letters: MIN[d],
            max_letters: MAX[d],
            alphabet: 26,
        }
    }

    fn new(config: PalindromeConfig) -> Result<Self, String> {
        if config.min_letters < 2 || config.min_letters > config.max_letters {
            return Err("min_letters must be in 2..=max_letters".into());
        }
        if config.max_letters > 1000 {
            return Err("max_letters must be at most 1000".into());
        }
        if !(2..=26).contains(&config.alphabet) {
            return Err("alphabet must be in 2..=26".into());
        }
        Ok(Palindrome { config })
    }

    fn generate(&self, rng: &mut TaskRng) -> Result<Problem, String> {
        let c = &self.config;
        let n = rng.range_usize(c.min_letters, c.max_letters);
        let a = u64::from(c.alphabet);
        let mut letters: Vec<u8> = Vec::with_capacity(n);
        for _ in 0..n / 2 {
            let l = b'a' + rng.below(a) as u8;
            letters.push(l);
            letters.push(l);
        }
        if n % 2 == 1 {
            letters.push(b'a' + rng.below(a) as u8);
        }
        rng.shuffle(&mut letters);
        let cnt = counts(&letters);
        let mut thinking = String::with_capacity(n * 10 + 200);
        thinking.push_str("Count the letters:");
        let mut half = String::with_capacity(n / 2);
        let mut middle = None;
        for (i, k) in cnt.iter().enumerate() {
            if *k == 0 {
                continue;
            }
            let ch = char::from(b'a' + i as u8);
            thinking.push(' ');
            thinking.push(ch);
            thinking.push(':');
            push_int(&mut thinking, *k as i64);
            for _ in 0..k / 2 {
                half.push(ch);
            }
            if k % 2 == 1 {
                middle = Some(ch);
            }
        }
        thinking.push_str(".\nEach pair puts one copy on each side; ");
        match middle {
            Some(m) => {
                thinking.push_str("the one letter with an odd count, ");
                thinking.push(m);
                thinking.push_str(", goes in the middle.\n");
            }
            None => thinking.push_str("every count is even, so there is no middle letter.\n"),
        }
        thinking.push_str("First half: ");
        thinking.push_str(&half);
        let mut pal = half.clone();
        if let Some(m) = middle {
            pal.push(m);
        }
        pal.extend(half.chars().rev());
        thinking.push_str(", mirrored: ");
        thinking.push_str(&pal);
        // The letters sorted (a counting sort from the counts).
        let mut key = String::with_capacity(n);
        for (i, k) in cnt.iter().enumerate() {
            for _ in 0..*k {
                key.push(char::from(b'a' + i as u8));
            }
        }
        let shown: Vec<String> = letters.iter().map(|b| char::from(*b).to_string()).collect();
        let question = render(TEMPLATE, &[("letters", &shown.join(", "))]);
        Ok(Problem {
            question,
            answer: str_gold("letters", &key),
            thinking,
            final_answer: pal,
        })
    }

    fn verify(&self, gold: &serde_json::Value, answer: &str) -> Result<Verdict, VerifyError> {
        let gold = gold_str(gold, "letters")?;
        let Some(w) = parse_word(answer) else {
            return Ok(reject(answer, "answer is not one word of letters"));
        };
        if counts(&w) != counts(gold.as_bytes()) || w.len() != gold.len() {
            return Ok(reject(answer, "does not use exactly the given letters"));
        }
        if !w.iter().eq(w.iter().rev()) {
            return Ok(reject(answer, "does not read the same backward"));
        }
        Ok(Verdict::correct(String::from_utf8_lossy(&w)))
    }
}
