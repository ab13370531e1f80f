//! `cryptarithm`: letter-substituted addition (SEND + MORE = MONEY; Dudeney 1924, and
//! reasoning-gym's `cryptarithm`). Puzzles are checked for a unique solution by our own
//! column-by-column solver; the verifier recomputes the sum from the answer's digits, so
//! any mapping that makes the addition true (and obeys the rules) is accepted.
//!
//! The reference chain of thought is the column search from the units column up: each
//! column's letters are tried in turn, carries are tracked, dead ends are counted.

use crate::env::{Domain, Family, Problem};
use crate::kit::{read_gold, reject, render};
use crate::rng::TaskRng;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt::Write;
use verigym_verifiers::{Verdict, VerifyError};

const TEMPLATE: &str = crate::template!("cryptarithm");

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CryptarithmConfig {
    /// Number of addends.
    pub addends: usize,
    /// Digits per addend, drawn in [min_digits, max_digits].
    pub min_digits: usize,
    pub max_digits: usize,
    /// Keep only puzzles with exactly one solution (checked by search). Without it the
    /// construction's mapping is the reference and any valid mapping is still accepted.
    pub unique: bool,
}

pub struct Cryptarithm {
    config: CryptarithmConfig,
}

#[derive(Deserialize)]
struct Gold {
    addends: Vec<String>,
    sum: String,
}

/// The column solver: letters are bytes b'A'..=b'Z'.
struct Solver<'a> {
    addends: &'a [Vec<u8>],
    sum: &'a [u8],
    leading: Vec<u8>,
    digit: [i8; 26],
    used: [bool; 10],
    found: usize,
    limit: usize,
    first: Option<[i8; 26]>,
    nodes: usize,
    dead_ends: Vec<usize>,
}

impl Solver<'_> {
    fn width(&self) -> usize {
        self.sum.len()
    }

    /// Letter at column `col` (0 = units) of a word, if the word is that long.
    fn at(word: &[u8], col: usize) -> Option<u8> {
        word.len().checked_sub(col + 1).map(|i| word[i])
    }

    fn try_digit(&mut self, l: u8, d: usize, mut next: impl FnMut(&mut Self)) {
        let li = usize::from(l - b'A');
        if self.used[d] || (d == 0 && self.leading.contains(&l)) {
            return;
        }
        self.digit[li] = d as i8;
        self.used[d] = true;
        next(self);
        self.used[d] = false;
        self.digit[li] = -1;
    }

    /// Assigns the unassigned addend letters of column `col` from the `k`-th addend on.
    fn column(&mut self, col: usize, carry: usize, k: usize) {
        if self.found >= self.limit || self.nodes > 2_000_000 {
            return;
        }
        self.nodes += 1;
        if col == self.width() {
            if carry == 0 {
                self.found += 1;
                if self.first.is_none() {
                    self.first = Some(self.digit);
                }
            }
            return;
        }
        if k < self.addends.len() {
            match Self::at(&self.addends[k], col) {
                Some(l) if self.digit[usize::from(l - b'A')] < 0 => {
                    for d in 0..10 {
                        self.try_digit(l, d, |s| s.column(col, carry, k + 1));
                    }
                }
                _ => self.column(col, carry, k + 1),
            }
            return;
        }
        let total: usize = carry
            + self
                .addends
                .iter()
                .filter_map(|w| Self::at(w, col))
                .map(|l| self.digit[usize::from(l - b'A')] as usize)
                .sum::<usize>();
        let (want, next_carry) = (total % 10, total / 10);
        let Some(l) = Self::at(self.sum, col) else {
            return;
        };
        let li = usize::from(l - b'A');
        let before = self.found;
        if self.digit[li] >= 0 {
            if self.digit[li] as usize == want {
                self.column(col + 1, next_carry, 0);
            }
        } else {
            self.try_digit(l, want, |s| s.column(col + 1, next_carry, 0));
        }
        if self.found == before {
            self.dead_ends[col] += 1;
        }
    }
}

fn solve(addends: &[Vec<u8>], sum: &[u8], limit: usize) -> (usize, Option<[i8; 26]>, Vec<usize>) {
    let mut leading: Vec<u8> = addends
        .iter()
        .filter(|w| w.len() > 1)
        .filter_map(|w| w.first().copied())
        .collect();
    if sum.len() > 1 {
        leading.extend(sum.first().copied());
    }
    let mut s = Solver {
        addends,
        sum,
        leading,
        digit: [-1; 26],
        used: [false; 10],
        found: 0,
        limit,
        first: None,
        nodes: 0,
        dead_ends: vec![0; sum.len()],
    };
    if addends.iter().any(|w| w.len() > sum.len()) {
        return (0, None, s.dead_ends);
    }
    s.column(0, 0, 0);
    (s.found, s.first, s.dead_ends)
}

fn letters_of(words: &[&[u8]]) -> Vec<u8> {
    let mut ls: Vec<u8> = words.iter().flat_map(|w| w.iter().copied()).collect();
    ls.sort_unstable();
    ls.dedup();
    ls
}

/// Appends the puzzle as a right-aligned column addition with a rule under it.
fn write_layout(out: &mut String, addends: &[Vec<u8>], sum: &[u8]) {
    let w = sum.len() + 2;
    for (i, a) in addends.iter().enumerate() {
        out.push(if i + 1 == addends.len() { '+' } else { ' ' });
        for _ in a.len()..w - 1 {
            out.push(' ');
        }
        out.extend(a.iter().map(|&b| char::from(b)));
        out.push('\n');
    }
    for _ in 0..w {
        out.push('-');
    }
    out.push('\n');
    for _ in sum.len()..w {
        out.push(' ');
    }
    out.extend(sum.iter().map(|&b| char::from(b)));
}

impl Family for Cryptarithm {
    type Config = CryptarithmConfig;
    const NAME: &'static str = "cryptarithm";
    const DOMAIN: Domain = Domain::Puzzle;
    const DESCRIPTION: &'static str =
        "Letter-for-digit addition puzzles with a unique solution; the sum is rechecked from the answer";

    fn config_for(difficulty: u8) -> CryptarithmConfig {
        const LEVELS: [(usize, usize, usize); 10] = [
            (2, 2, 3),
            (2, 3, 3),
            (2, 3, 4),
            (2, 4, 4),
            (2, 4, 5),
            (3, 3, 4),
            (3, 4, 4),
            (2, 5, 6),
            (3, 4, 5),
            (3, 5, 6),
        ];
        let (addends, min_digits, max_digits) = LEVELS[usize::from(difficulty.clamp(1, 10)) - 1];
        CryptarithmConfig {
            addends,
            min_digits,
            max_digits,
            unique: true,
        }
    }

    fn new(config: CryptarithmConfig) -> Result<Self, String> {
        if !(2..=5).contains(&config.addends) {
            return Err("addends must be in 2..=5".into());
        }
        if config.min_digits == 0 || config.min_digits > config.max_digits || config.max_digits > 9
        {
            return Err(
                "min_digits and max_digits must satisfy 1 <= min_digits <= max_digits <= 9".into(),
            );
        }
        Ok(Cryptarithm { config })
    }

    fn generate(&self, rng: &mut TaskRng) -> Result<Problem, String> {
        let c = &self.config;
        let mut fallback = None;
        let mut chosen = None;
        for _ in 0..40 {
            let nums: Vec<u64> = (0..c.addends)
                .map(|_| {
                    let len = rng.range_usize(c.min_digits, c.max_digits) as u32;
                    let lo = 10u64.pow(len - 1);
                    lo + rng.below(9 * lo)
                })
                .collect();
            let total: u64 = nums.iter().sum();
            let mut alphabet: [u8; 26] = std::array::from_fn(|i| b'A' + i as u8);
            rng.shuffle(&mut alphabet);
            let map = |mut n: u64| -> Vec<u8> {
                let mut w = Vec::with_capacity(20);
                loop {
                    w.push(alphabet[(n % 10) as usize]);
                    n /= 10;
                    if n == 0 {
                        break;
                    }
                }
                w.reverse();
                w
            };
            let addends: Vec<Vec<u8>> = nums.iter().map(|&n| map(n)).collect();
            let sum = map(total);
            let mut built = [-1i8; 26];
            for (d, &l) in alphabet.iter().take(10).enumerate() {
                built[usize::from(l - b'A')] = d as i8;
            }
            if !c.unique {
                chosen = Some((addends, sum, built));
                break;
            }
            let (count, _, _) = solve(&addends, &sum, 2);
            if count == 1 {
                chosen = Some((addends, sum, built));
                break;
            }
            fallback.get_or_insert((addends, sum, built));
        }
        let (addends, sum, built) = chosen.or(fallback).ok_or("no puzzle drawn")?;
        let (digit, dead_ends) = if c.unique {
            let (_, solution, dead_ends) = solve(&addends, &sum, 1);
            (
                solution.ok_or("the drawn puzzle has no solution")?,
                dead_ends,
            )
        } else {
            (built, vec![0; sum.len()])
        };
        let mut words: Vec<&[u8]> = addends.iter().map(Vec::as_slice).collect();
        words.push(&sum);
        let letters = letters_of(&words);
        // At most 10 columns, so the chain of thought is small: one String, written directly.
        let d_of = |l: u8| digit[usize::from(l - b'A')];
        let mut thinking = String::with_capacity(1024);
        thinking.push_str(
            "Work column by column from the units, carrying as in ordinary addition; letters first \
             seen in a column are tried digit by digit, and the sum letter is forced by the column \
             total. Leading letters (",
        );
        let mut leads = [0u8; 6];
        let mut n_leads = 0;
        for w in addends.iter().chain(std::iter::once(&sum)) {
            if let (true, Some(&l)) = (w.len() > 1, w.first()) {
                if !leads[..n_leads].contains(&l) {
                    if n_leads > 0 {
                        thinking.push_str(", ");
                    }
                    thinking.push(char::from(l));
                    leads[n_leads] = l;
                    n_leads += 1;
                }
            }
        }
        thinking.push_str(") cannot be 0.");
        let mut carry = 0u64;
        for col in 0..sum.len() {
            let carry_in = if col == 0 {
                "units".to_string()
            } else {
                format!("carry in {carry}")
            };
            let terms: Vec<String> = addends
                .iter()
                .filter_map(|w| Solver::at(w, col))
                .map(|l| format!("{}={}", char::from(l), d_of(l)))
                .collect();
            let mut total = carry;
            for l in addends.iter().filter_map(|w| Solver::at(w, col)) {
                total += d_of(l) as u64;
            }
            let terms = if terms.is_empty() {
                "nothing".to_string()
            } else {
                terms.join(" + ")
            };
            let plus_carry = if carry > 0 {
                format!(" + carry {carry}")
            } else {
                String::new()
            };
            let s_letter = char::from(Solver::at(&sum, col).unwrap_or(b'?'));
            let _ = write!(
                thinking,
                "\nColumn {} ({carry_in}): {terms}{plus_carry} gives {total}, so {s_letter}={} carry {}.",
                col + 1,
                total % 10,
                total / 10
            );
            if let Some(&n) = dead_ends.get(col).filter(|&&n| n > 0) {
                let _ = write!(
                    thinking,
                    " (Other choices here failed {n} times, in this column or further up.)"
                );
            }
            carry = total / 10;
        }
        let mut answer = String::with_capacity(6 * letters.len());
        for (i, &l) in letters.iter().enumerate() {
            if i > 0 {
                answer.push_str(", ");
            }
            answer.push(char::from(l));
            answer.push('=');
            answer.push(char::from(b'0' + d_of(l) as u8));
        }
        let val = |w: &[u8]| w.iter().fold(0u64, |v, &l| v * 10 + d_of(l) as u64);
        let values: Vec<String> = addends.iter().map(|w| val(w).to_string()).collect();
        let _ = write!(thinking, "\nCheck: {} = {}.", values.join(" + "), val(&sum));
        let text = |w: &[u8]| Value::String(w.iter().map(|&b| char::from(b)).collect());
        let mut gold = serde_json::Map::new();
        gold.insert(
            "addends".into(),
            Value::Array(addends.iter().map(|w| text(w)).collect()),
        );
        gold.insert("sum".into(), text(&sum));
        let mut layout = String::new();
        write_layout(&mut layout, &addends, &sum);
        let question = render(TEMPLATE, &[("puzzle", &layout)]);
        Ok(Problem {
            question,
            answer: Value::Object(gold),
            thinking,
            final_answer: answer,
        })
    }

    fn verify(&self, gold: &serde_json::Value, answer: &str) -> Result<Verdict, VerifyError> {
        let g: Gold = read_gold(gold)?;
        let ok = |w: &String| {
            !w.is_empty() && w.len() <= 18 && w.bytes().all(|b| b.is_ascii_uppercase())
        };
        if !g.addends.iter().all(ok) || !ok(&g.sum) || g.addends.len() > 10 {
            return Err(VerifyError::InvalidGold("bad cryptarithm".into()));
        }
        Ok(check(&g.addends, &g.sum, answer))
    }
}

/// Reads "L=d" pairs and recomputes the addition.
pub fn check(addends: &[String], sum: &str, answer: &str) -> Verdict {
    let mut words: Vec<&[u8]> = addends.iter().map(|w| w.as_bytes()).collect();
    words.push(sum.as_bytes());
    let letters = letters_of(&words);
    let mut digit = [-1i8; 26];
    let parts: Vec<&str> = answer
        .split([',', ';', '\n'])
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect();
    if parts.len() != letters.len() {
        return reject(
            answer,
            format!(
                "{} assignments, the puzzle has {} letters",
                parts.len(),
                letters.len()
            ),
        );
    }
    for p in parts {
        let Some((l, d)) = p.split_once(['=', ':']) else {
            return reject(answer, format!("'{p}' is not 'LETTER=digit'"));
        };
        let (l, d) = (l.trim(), d.trim());
        let (Some(lb), Ok(dv)) = (l.bytes().next().filter(|_| l.len() == 1), d.parse::<u8>())
        else {
            return reject(answer, format!("'{p}' is not 'LETTER=digit'"));
        };
        let lb = lb.to_ascii_uppercase();
        if !letters.contains(&lb) || dv > 9 || d.len() != 1 {
            return reject(
                answer,
                format!("'{p}' is not a letter of the puzzle with one digit"),
            );
        }
        let slot = &mut digit[usize::from(lb - b'A')];
        if *slot >= 0 {
            return reject(answer, format!("{} is assigned twice", char::from(lb)));
        }
        *slot = dv as i8;
    }
    let mut used = [false; 10];
    for &l in &letters {
        let d = digit[usize::from(l - b'A')] as usize;
        if std::mem::replace(&mut used[d], true) {
            return reject(answer, format!("digit {d} is used for two letters"));
        }
    }
    for w in &words {
        if w.len() > 1
            && w.first()
                .is_some_and(|&l| digit[usize::from(l - b'A')] == 0)
        {
            return reject(answer, "a number starts with 0");
        }
    }
    let val = |w: &[u8]| {
        w.iter()
            .fold(0u128, |v, &l| v * 10 + digit[usize::from(l - b'A')] as u128)
    };
    let total: u128 = addends.iter().map(|w| val(w.as_bytes())).sum();
    if total != val(sum.as_bytes()) {
        return reject(
            answer,
            format!("the digits give {total}, not {}", val(sum.as_bytes())),
        );
    }
    Verdict::correct(format!("{total}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn send_more_money_is_unique_and_checked() {
        let a = vec![b"SEND".to_vec(), b"MORE".to_vec()];
        let (n, sol, _) = solve(&a, b"MONEY", 5);
        assert_eq!(n, 1);
        let sol = sol.unwrap();
        assert_eq!(sol[usize::from(b'M' - b'A')], 1);
        let add = vec!["SEND".to_string(), "MORE".to_string()];
        let good = "D=7, E=5, M=1, N=6, O=0, R=8, S=9, Y=2";
        assert!(check(&add, "MONEY", good).correct);
        assert!(check(&add, "MONEY", "S=9\nE=5\nN=6\nD=7\nM=1\nO=0\nR=8\nY=2").correct);
        assert!(!check(&add, "MONEY", "D=7, E=5, M=1, N=6, O=0, R=8, S=9, Y=3").correct);
        assert!(!check(&add, "MONEY", "D=7, E=5, M=1, N=6, O=0, R=8, S=9").correct);
        // Several valid mappings: A + B = C with single letters has many; any is accepted.
        let ab = vec!["A".to_string(), "B".to_string()];
        assert!(check(&ab, "C", "A=1, B=2, C=3").correct);
        assert!(check(&ab, "C", "A=2, B=5, C=7").correct);
    }
}
