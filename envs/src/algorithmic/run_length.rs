//! `run_length`: run-length encode a string of letters (`aaabcc` -> `3a1b2c`) or decode
//! one back, the classic RLE of Robinson and Cherry (1967) in its textbook count-letter form.
//!
//! Encoded answers are parsed into (count, letter) runs and must describe the string
//! with maximal runs; a count of 1 may be written or left out.

use crate::env::{Domain, Family, Problem};
use crate::kit::render;
use crate::kit::{gold_str, parse_word, push_int, reject, unwrap_answer};
use crate::rng::TaskRng;
use serde::{Deserialize, Serialize};
use serde_json::json;
use verigym_verifiers::{Verdict, VerifyError};

const TEMPLATE: &str = crate::template!("run_length");

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunLengthConfig {
    /// Number of runs, drawn uniformly in [min_runs, max_runs].
    pub min_runs: usize,
    pub max_runs: usize,
    /// Longest run.
    pub max_run: usize,
    /// Letters are drawn from the first `alphabet` letters (2..=26).
    pub alphabet: u8,
    /// Probability of a decoding task (otherwise encoding).
    pub decode_probability: f64,
}

pub struct RunLength {
    config: RunLengthConfig,
}

/// Maximal runs of a byte string.
fn runs(s: &[u8]) -> Vec<(usize, u8)> {
    let mut out: Vec<(usize, u8)> = Vec::new();
    for &b in s {
        match out.last_mut() {
            Some((n, l)) if *l == b => *n += 1,
            _ => out.push((1, b)),
        }
    }
    out
}

fn encode(r: &[(usize, u8)]) -> String {
    let mut s = String::with_capacity(r.len() * 3);
    for (n, l) in r {
        push_int(&mut s, *n as i64);
        s.push(char::from(*l));
    }
    s
}

/// Parses `3a1b2c` / `3ab2c` (spaces and commas between runs allowed) into runs, with
/// the total length capped at `cap`. `None` on any other character or a zero count.
fn parse_runs(answer: &str, cap: usize) -> Option<Vec<(usize, u8)>> {
    let mut out = Vec::new();
    let mut count: Option<usize> = None;
    let mut total = 0usize;
    for b in unwrap_answer(answer).bytes() {
        match b {
            b'0'..=b'9' => {
                if count.is_none() && b == b'0' {
                    return None; // no zero counts or leading zeros
                }
                let c = count
                    .unwrap_or(0)
                    .checked_mul(10)?
                    .checked_add(usize::from(b - b'0'))?;
                if c > cap {
                    return None;
                }
                count = Some(c);
            }
            b'a'..=b'z' | b'A'..=b'Z' => {
                let n = count.take().unwrap_or(1);
                total = total.checked_add(n)?;
                if total > cap {
                    return None;
                }
                out.push((n, b.to_ascii_lowercase()));
            }
            b' ' | b',' => {
                if count.is_some() {
                    return None;
                }
            }
            _ => return None,
        }
    }
    (count.is_none() && !out.is_empty()).then_some(out)
}

impl Family for RunLength {
    type Config = RunLengthConfig;
    const NAME: &'static str = "run_length";
    const DOMAIN: Domain = Domain::Algorithmic;
    const DESCRIPTION: &'static str = "Run-length encode a string of letters, or decode one";

    fn config_for(difficulty: u8) -> RunLengthConfig {
        const MIN: [usize; 10] = [4, 5, 6, 7, 8, 9, 10, 12, 14, 16];
        const MAX: [usize; 10] = [6, 7, 8, 9, 10, 12, 14, 16, 20, 24];
        const RUN: [usize; 10] = [4, 5, 6, 7, 8, 9, 10, 12, 12, 15];
        let d = usize::from(difficulty.clamp(1, 10)) - 1;
        RunLengthConfig {
            min_runs: MIN[d],
            max_runs: MAX[d],
            max_run: RUN[d],
            alphabet: if d < 3 { 4 } else { 8 },
            decode_probability: 0.5,
        }
    }

    fn new(config: RunLengthConfig) -> Result<Self, String> {
        if config.min_runs == 0 || config.min_runs > config.max_runs || config.max_runs > 500 {
            return Err("min_runs must be in 1..=max_runs, max_runs at most 500".into());
        }
        if !(1..=100).contains(&config.max_run) {
            return Err("max_run must be in 1..=100".into());
        }
        if !(2..=26).contains(&config.alphabet) {
            return Err("alphabet must be in 2..=26".into());
        }
        if !(0.0..=1.0).contains(&config.decode_probability) {
            return Err("decode_probability must be in [0, 1]".into());
        }
        Ok(RunLength { config })
    }

    fn generate(&self, rng: &mut TaskRng) -> Result<Problem, String> {
        let c = &self.config;
        let n = rng.range_usize(c.min_runs, c.max_runs);
        let mut rs: Vec<(usize, u8)> = Vec::with_capacity(n);
        for _ in 0..n {
            let prev = rs.last().map(|r| r.1);
            // A letter different from the previous run's, so runs stay maximal.
            let mut l = b'a' + rng.below(u64::from(c.alphabet)) as u8;
            if Some(l) == prev {
                l = b'a' + (l - b'a' + 1 + rng.below(u64::from(c.alphabet) - 1) as u8) % c.alphabet;
            }
            rs.push((rng.range_usize(1, c.max_run), l));
        }
        let mut plain = String::new();
        for (k, l) in &rs {
            for _ in 0..*k {
                plain.push(char::from(*l));
            }
        }
        let code = encode(&rs);
        let decode = rng.chance(c.decode_probability);
        let mut thinking = String::with_capacity(rs.len() * 40 + 80);
        if decode {
            thinking
                .push_str("Read each count and letter, and write the letter that many times:\n");
        } else {
            thinking.push_str("Scan the string, counting each run of equal letters:\n");
        }
        for (k, l) in &rs {
            let ch = char::from(*l);
            if decode {
                push_int(&mut thinking, *k as i64);
                thinking.push(ch);
                thinking.push_str(" -> ");
                for _ in 0..*k {
                    thinking.push(ch);
                }
            } else {
                for _ in 0..*k {
                    thinking.push(ch);
                }
                thinking.push_str(": ");
                push_int(&mut thinking, *k as i64);
                thinking.push_str(" x ");
                thinking.push(ch);
                thinking.push_str(" -> ");
                push_int(&mut thinking, *k as i64);
                thinking.push(ch);
            }
            thinking.push('\n');
        }
        let (instruction, final_answer) = if decode {
            thinking.push_str("Decoded: ");
            thinking.push_str(&plain);
            (
                format!("Decode this run-length encoding, where each number is followed by the letter it repeats: {code}. Answer with the decoded string of letters, no spaces."),
                plain.clone(),
            )
        } else {
            thinking.push_str("Encoded: ");
            thinking.push_str(&code);
            (
                format!("Run-length encode the string {plain}: write each maximal run of equal letters as its length followed by the letter (for aaabcc: 3a1b2c). Answer with the encoding, no spaces."),
                code,
            )
        };
        Ok(Problem {
            question: render(TEMPLATE, &[("instruction", &instruction)]),
            answer: json!({ "mode": if decode { "decode" } else { "encode" }, "text": plain }),
            thinking,
            final_answer,
        })
    }

    fn verify(&self, gold: &serde_json::Value, answer: &str) -> Result<Verdict, VerifyError> {
        let mode = gold_str(gold, "mode")?;
        let plain = gold_str(gold, "text")?;
        if mode == "decode" {
            return Ok(match parse_word(answer) {
                Some(w) if w == plain.as_bytes() => Verdict::correct(plain),
                Some(_) => reject(answer, "not the decoded string"),
                None => reject(answer, "answer is not a string of letters"),
            });
        }
        let gold_runs = runs(plain.as_bytes());
        Ok(match parse_runs(answer, plain.len()) {
            Some(r) if r == gold_runs => Verdict::correct(encode(&r)),
            Some(_) => reject(answer, "not the maximal-run encoding of the string"),
            None => reject(answer, "answer is not a count-letter encoding"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_encode_and_parse() {
        let r = runs(b"aaabcc");
        assert_eq!(encode(&r), "3a1b2c");
        assert_eq!(parse_runs("3a1b2c", 6), Some(r.clone()));
        assert_eq!(parse_runs("3ab2c", 6), Some(r.clone()));
        assert_eq!(parse_runs("3a 1b, 2c", 6), Some(r));
        assert_eq!(parse_runs("3a0b2c", 6), None);
        assert_eq!(parse_runs("3a1b2", 6), None);
        assert_eq!(parse_runs("99999999999999999999a", 6), None);
        assert_eq!(parse_runs("2a1a1b2c", 6).map(|r| r.len()), Some(4));
    }
}
