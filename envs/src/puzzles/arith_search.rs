//! Depth-first search over arithmetic combinations of a number pool (the classic
//! "combine two numbers, put the result back" search of Countdown and the 24 game), with
//! exact small rationals, a visited-state memo, a node budget and a written trace.
//!
//! Used by `countdown` (positive-integer intermediates, any subset of the numbers) and
//! `game_of_24` (exact fractions, every number used once).

use crate::kit::Trace;
use std::collections::HashSet;
use verigym_verifiers::arith::Op;

/// An exact fraction with a positive denominator, in lowest terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Rat {
    pub num: i64,
    pub den: i64,
}

fn gcd(mut a: i64, mut b: i64) -> i64 {
    a = a.abs();
    b = b.abs();
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a.max(1)
}

impl Rat {
    pub fn int(n: i64) -> Rat {
        Rat { num: n, den: 1 }
    }

    fn new(num: i64, den: i64) -> Option<Rat> {
        if den == 0 {
            return None;
        }
        let g = gcd(num, den);
        let s = if den < 0 { -1 } else { 1 };
        Some(Rat {
            num: s * num / g,
            den: s * den / g,
        })
    }

    pub fn apply(self, op: Op, o: Rat) -> Option<Rat> {
        match op {
            Op::Add => Rat::new(
                self.num
                    .checked_mul(o.den)?
                    .checked_add(o.num.checked_mul(self.den)?)?,
                self.den.checked_mul(o.den)?,
            ),
            Op::Sub => Rat::new(
                self.num
                    .checked_mul(o.den)?
                    .checked_sub(o.num.checked_mul(self.den)?)?,
                self.den.checked_mul(o.den)?,
            ),
            Op::Mul => Rat::new(self.num.checked_mul(o.num)?, self.den.checked_mul(o.den)?),
            Op::Div => Rat::new(self.num.checked_mul(o.den)?, self.den.checked_mul(o.num)?),
        }
    }

    /// Numeric comparison (the derived `Ord` is only a key order).
    pub fn value_cmp(self, o: Rat) -> std::cmp::Ordering {
        (i128::from(self.num) * i128::from(o.den)).cmp(&(i128::from(o.num) * i128::from(self.den)))
    }

    pub fn is_int(self) -> bool {
        self.den == 1
    }

    fn as_f64(self) -> f64 {
        self.num as f64 / self.den as f64
    }
}

impl std::fmt::Display for Rat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.den == 1 {
            write!(f, "{}", self.num)
        } else {
            write!(f, "{}/{}", self.num, self.den)
        }
    }
}

/// The rules of one search.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rules {
    /// Countdown: every intermediate a positive integer; any subset of the numbers.
    Countdown,
    /// 24 game: exact non-negative fractions; every number used exactly once.
    AllNumbers,
}

/// One combination: pool entries `i` and `j` (left operand `i`) replaced by `i op j`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Move {
    pub i: usize,
    pub j: usize,
    pub op: Op,
}

/// The legal results of combining entries `a` (index i) and `b` (index j) of the pool.
fn candidates(rules: Rules, pool: &[Rat], i: usize, j: usize, out: &mut Vec<(Move, Rat)>) {
    let (a, b) = (pool[i], pool[j]);
    let mut push = |i: usize, j: usize, op: Op| {
        let (x, y) = (pool[i], pool[j]);
        if let Some(r) = x.apply(op, y) {
            let ok = match rules {
                Rules::Countdown => r.is_int() && r.num > 0,
                Rules::AllNumbers => r.num >= 0,
            };
            if ok {
                out.push((Move { i, j, op }, r));
            }
        }
    };
    push(i, j, Op::Add);
    push(i, j, Op::Mul);
    if a.value_cmp(b).is_ge() {
        push(i, j, Op::Sub);
    } else {
        push(j, i, Op::Sub);
    }
    let one = Rat::int(1);
    if (rules == Rules::AllNumbers || b != one) && b.num != 0 {
        push(i, j, Op::Div);
    }
    if (rules == Rules::AllNumbers || a != one) && a.num != 0 && a != b {
        push(j, i, Op::Div);
    }
}

fn apply_move(pool: &[Rat], m: Move, r: Rat) -> Vec<Rat> {
    let mut next: Vec<Rat> = pool
        .iter()
        .enumerate()
        .filter(|(k, _)| *k != m.i && *k != m.j)
        .map(|(_, v)| *v)
        .collect();
    next.push(r);
    next
}

struct Searcher {
    rules: Rules,
    target: Rat,
    nodes: usize,
    budget: usize,
    failed: HashSet<Vec<Rat>>,
}

impl Searcher {
    fn reached(&self, pool: &[Rat]) -> bool {
        match self.rules {
            Rules::Countdown => pool.contains(&self.target),
            Rules::AllNumbers => pool.len() == 1 && pool[0] == self.target,
        }
    }

    /// Candidates ordered by closeness to the target (the search's heuristic).
    fn ordered(&self, pool: &[Rat]) -> Vec<(Move, Rat)> {
        let mut out = Vec::new();
        for i in 0..pool.len() {
            for j in i + 1..pool.len() {
                candidates(self.rules, pool, i, j, &mut out);
            }
        }
        let t = self.target.as_f64();
        out.sort_by(|x, y| {
            (x.1.as_f64() - t)
                .abs()
                .total_cmp(&(y.1.as_f64() - t).abs())
        });
        out
    }

    /// Depth-first search; on success `path` holds the moves.
    fn dfs(&mut self, pool: &[Rat], path: &mut Vec<(Move, Rat)>) -> bool {
        if self.reached(pool) {
            return true;
        }
        if pool.len() < 2 || self.nodes >= self.budget {
            return false;
        }
        let mut key = pool.to_vec();
        key.sort();
        if self.failed.contains(&key) {
            return false;
        }
        self.nodes += 1;
        for (m, r) in self.ordered(pool) {
            path.push((m, r));
            if self.dfs(&apply_move(pool, m, r), path) {
                return true;
            }
            path.pop();
        }
        if self.nodes < self.budget {
            self.failed.insert(key);
        }
        false
    }
}

/// The result of a written search.
pub struct Found {
    /// The moves from the starting pool, in order.
    pub moves: Vec<(Move, Rat)>,
    /// The final expression.
    pub expression: String,
}

fn list(pool: &[Rat]) -> String {
    pool.iter()
        .map(|r| r.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Replays moves over the pool's expressions, writing one line per step.
pub fn replay(numbers: &[Rat], moves: &[(Move, Rat)], trace: &mut Trace, indent: &str) -> String {
    let mut pool: Vec<(Rat, String)> = numbers.iter().map(|r| (*r, r.to_string())).collect();
    for (m, r) in moves {
        let (Some(a), Some(b)) = (pool.get(m.i).cloned(), pool.get(m.j).cloned()) else {
            break;
        };
        trace.push(format!("{indent}{} {} {} = {}", a.0, m.op.symbol(), b.0, r));
        let wrap = |t: &str| {
            if t.contains(' ') {
                format!("({t})")
            } else {
                t.to_string()
            }
        };
        let expr = format!("{} {} {}", wrap(&a.1), m.op.symbol(), wrap(&b.1));
        let mut next: Vec<(Rat, String)> = pool
            .iter()
            .enumerate()
            .filter(|(k, _)| *k != m.i && *k != m.j)
            .map(|(_, v)| v.clone())
            .collect();
        next.push((*r, expr));
        pool = next;
    }
    // Each step appends its result, so the last entry is the final expression.
    pool.pop().map(|p| p.1).unwrap_or_default()
}

/// Searches for the target, writing the first-level attempts (with their dead ends) and
/// the successful line into `trace`. Returns `None` when the budget ran out first.
pub fn solve_written(
    rules: Rules,
    numbers: &[Rat],
    target: Rat,
    budget: usize,
    trace: &mut Trace,
) -> Option<Found> {
    let mut s = Searcher {
        rules,
        target,
        nodes: 0,
        budget,
        failed: HashSet::new(),
    };
    if s.reached(numbers) {
        trace.push(format!("{target} is one of the given numbers."));
        return Some(Found {
            moves: Vec::new(),
            expression: target.to_string(),
        });
    }
    const LOGGED_FAILURES: usize = 12;
    let mut failures = 0usize;
    for (m, r) in s.ordered(numbers) {
        let next = apply_move(numbers, m, r);
        let mut path = vec![(m, r)];
        let ok = s.dfs(&next, &mut path);
        let (a, b) = (numbers[m.i], numbers[m.j]);
        if ok {
            trace.push(format!(
                "Try {a} {} {b} = {r}, leaving [{}].",
                m.op.symbol(),
                list(&next)
            ));
            if path.len() > 1 {
                trace.push("  Continue from there:");
            }
            let expression = {
                let mut inner = Trace::new();
                let e = replay(numbers, &path, &mut inner, "  ");
                for line in inner.finish("").lines().skip(1) {
                    if !line.is_empty() {
                        trace.push(line);
                    }
                }
                e
            };
            trace.push(format!("  That reaches {target}."));
            return Some(Found {
                moves: path,
                expression,
            });
        }
        failures += 1;
        if failures <= LOGGED_FAILURES {
            trace.push(format!(
                "Try {a} {} {b} = {r}, leaving [{}]: no combination of these reaches {target}; back up.",
                m.op.symbol(),
                list(&next)
            ));
        } else if failures == LOGGED_FAILURES + 1 {
            trace.push("Further first steps fail in the same way; keep going down the list.");
        }
        if s.nodes >= s.budget {
            return None;
        }
    }
    None
}

/// Counts the complete solutions (ordered combination sequences) up to `cap`; used to
/// grade how hard a hand is.
pub fn count_solutions(rules: Rules, pool: &[Rat], target: Rat, cap: usize) -> usize {
    fn go(rules: Rules, pool: &[Rat], target: Rat, cap: usize, n: &mut usize) {
        if *n >= cap {
            return;
        }
        if pool.len() == 1 {
            if pool[0] == target {
                *n += 1;
            }
            return;
        }
        let mut out = Vec::new();
        for i in 0..pool.len() {
            for j in i + 1..pool.len() {
                candidates(rules, pool, i, j, &mut out);
            }
        }
        for (m, r) in out {
            go(rules, &apply_move(pool, m, r), target, cap, n);
        }
    }
    let mut n = 0;
    go(rules, pool, target, cap, &mut n);
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ints(v: &[i64]) -> Vec<Rat> {
        v.iter().map(|&n| Rat::int(n)).collect()
    }

    #[test]
    fn finds_the_fraction_solution_of_3_3_8_8() {
        let mut t = Trace::new();
        let f = solve_written(
            Rules::AllNumbers,
            &ints(&[3, 3, 8, 8]),
            Rat::int(24),
            100_000,
            &mut t,
        )
        .unwrap();
        let v = verigym_verifiers::arith::parse(&f.expression)
            .unwrap()
            .eval()
            .unwrap();
        assert_eq!(v.to_string(), "24", "{}", f.expression);
        assert!(count_solutions(Rules::AllNumbers, &ints(&[1, 1, 1, 1]), Rat::int(24), 10) == 0);
    }

    #[test]
    fn countdown_search_reaches_target_with_a_subset() {
        let mut t = Trace::new();
        let f = solve_written(
            Rules::Countdown,
            &ints(&[25, 4, 3, 7]),
            Rat::int(103),
            10_000,
            &mut t,
        )
        .unwrap();
        let v = verigym_verifiers::arith::parse(&f.expression)
            .unwrap()
            .eval()
            .unwrap();
        assert_eq!(v.to_string(), "103");
    }
}
