//! `prime_factorization`: factor an integer into primes by trial division, one division per
//! line; any correct product of prime powers is accepted (order and grouping free, `2*2*3`
//! equals `2^2 * 3`), but every factor must be the right prime.

use crate::env::{Domain, Family, Problem};
use crate::kit::render;
use crate::kit::{excerpt, gold_str, level, unwrap_answer};
use crate::math::grade::MAX_ANSWER_BYTES;
use crate::rng::TaskRng;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::BTreeMap;
use std::fmt::Write;
use verigym_verifiers::{Verdict, VerifyError};

const TEMPLATE: &str = crate::template!("prime_factorization");

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrimeFactorizationConfig {
    /// Prime factors are drawn among the primes up to max_prime.
    pub max_prime: u64,
    /// Number of prime factors with multiplicity, drawn in [min_factors, max_factors].
    pub min_factors: usize,
    pub max_factors: usize,
}

pub struct PrimeFactorization {
    config: PrimeFactorizationConfig,
    primes: Vec<u64>,
}

fn primes_up_to(n: u64) -> Vec<u64> {
    let n = n as usize;
    let mut sieve = vec![true; n + 1];
    let mut out = Vec::new();
    for i in 2..=n {
        if sieve[i] {
            out.push(i as u64);
            let mut j = i * i;
            while j <= n {
                sieve[j] = false;
                j += i;
            }
        }
    }
    out
}

impl Family for PrimeFactorization {
    type Config = PrimeFactorizationConfig;
    const NAME: &'static str = "prime_factorization";
    const DOMAIN: Domain = Domain::Math;
    const DESCRIPTION: &'static str = "Prime factorization by trial division";

    fn config_for(d: u8) -> PrimeFactorizationConfig {
        let max_factors = level(d, [3, 4, 6, 6, 7, 7, 8, 8, 9, 10]);
        PrimeFactorizationConfig {
            max_prime: level(d, [7, 13, 200, 250, 300, 400, 500, 1000, 2000, 5000]),
            min_factors: (max_factors - 1).max(2),
            max_factors,
        }
    }

    fn new(c: PrimeFactorizationConfig) -> Result<Self, String> {
        if !(3..=100_000).contains(&c.max_prime) {
            return Err("max_prime must be in 3..=100000".into());
        }
        if c.min_factors == 0 || c.min_factors > c.max_factors || c.max_factors > 30 {
            return Err("min_factors must be in 1..=max_factors and max_factors at most 30".into());
        }
        if c.max_factors as f64 * (c.max_prime as f64).log2() > 126.0 {
            return Err("max_prime^max_factors must stay below 2^126".into());
        }
        let primes = primes_up_to(c.max_prime);
        Ok(PrimeFactorization { config: c, primes })
    }

    fn generate(&self, rng: &mut TaskRng) -> Result<Problem, String> {
        let c = &self.config;
        let k = rng.range_usize(c.min_factors, c.max_factors);
        let mut factors = Vec::with_capacity(k);
        for _ in 0..k {
            let p = *rng.choose(&self.primes).ok_or("no primes")?;
            factors.push(p);
        }
        factors.sort_unstable();
        let n = factors
            .iter()
            .try_fold(1u128, |acc, &p| acc.checked_mul(u128::from(p)))
            .ok_or("product overflows")?;
        let mut t = format!("Trial division of {n} by primes in increasing order.\n");
        let mut m = n;
        let mut last_tried = 1u64;
        for &p in &factors {
            if p > last_tried {
                let skipped: Vec<u64> = self
                    .primes
                    .iter()
                    .copied()
                    .filter(|&q| q > last_tried && q < p)
                    .collect();
                match skipped.as_slice() {
                    [] => {}
                    [q] => {
                        let _ = writeln!(t, "{q} does not divide {m}.");
                    }
                    [first, .., lastq] => {
                        let _ = writeln!(t, "No prime from {first} to {lastq} divides {m}.");
                    }
                }
                last_tried = p;
            }
            let next = m / u128::from(p);
            let _ = writeln!(t, "{m} ÷ {p} = {next}");
            m = next;
        }
        let canonical = canonical(&count(&factors));
        let _ = write!(t, "The quotient is 1, so {n} = {canonical}.");
        let map: BTreeMap<String, u32> = count(&factors)
            .into_iter()
            .map(|(p, e)| (p.to_string(), e))
            .collect();
        Ok(Problem {
            question: render(TEMPLATE, &[("n", &n.to_string())]),
            answer: json!({ "n": n.to_string(), "factors": map }),
            thinking: t,
            final_answer: canonical,
        })
    }

    fn verify(&self, gold: &serde_json::Value, answer: &str) -> Result<Verdict, VerifyError> {
        let _ = gold_str(gold, "n")?;
        let want: BTreeMap<u128, u32> = gold
            .get("factors")
            .and_then(|f| f.as_object())
            .ok_or_else(|| VerifyError::InvalidGold("expected a factors object".into()))?
            .iter()
            .map(|(p, e)| Some((p.parse().ok()?, u32::try_from(e.as_u64()?).ok()?)))
            .collect::<Option<_>>()
            .ok_or_else(|| VerifyError::InvalidGold("bad factors".into()))?;
        Ok(match parse_factorization(answer) {
            Some(got) if got == want => Verdict::correct(canonical(&got)),
            Some(got) => Verdict::wrong(
                Some(canonical(&got)),
                format!("expected {}", canonical(&want)),
            ),
            None => Verdict::wrong(
                Some(excerpt(answer)),
                "answer is not a product of prime powers",
            ),
        })
    }
}

fn count(factors: &[u64]) -> BTreeMap<u128, u32> {
    let mut m = BTreeMap::new();
    for &p in factors {
        *m.entry(u128::from(p)).or_insert(0) += 1;
    }
    m
}

fn canonical(m: &BTreeMap<u128, u32>) -> String {
    m.iter()
        .map(|(p, e)| {
            if *e == 1 {
                p.to_string()
            } else {
                format!("{p}^{e}")
            }
        })
        .collect::<Vec<_>>()
        .join(" * ")
}

/// Reads `2^3 * 3 * 5^{2}` (also `×`, `\times`, `\cdot`, `·`) into base -> total exponent.
pub fn parse_factorization(answer: &str) -> Option<BTreeMap<u128, u32>> {
    if answer.len() > MAX_ANSWER_BYTES {
        return None;
    }
    let s = unwrap_answer(answer)
        .replace("\\times", "*")
        .replace("\\cdot", "*")
        .replace(['×', '·'], "*");
    let mut m = BTreeMap::new();
    for part in s.split('*') {
        let part = part.trim();
        let (base, exp) = match part.split_once('^') {
            Some((b, e)) => {
                let e = e.trim();
                let e = e
                    .strip_prefix('{')
                    .and_then(|x| x.strip_suffix('}'))
                    .unwrap_or(e);
                (
                    b.trim(),
                    e.trim()
                        .parse::<u32>()
                        .ok()
                        .filter(|&e| (1..=200).contains(&e))?,
                )
            }
            None => (part, 1),
        };
        if base.is_empty() || base.len() > 30 || !base.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let e = m.entry(base.parse::<u128>().ok()?).or_insert(0u32);
        *e = e.checked_add(exp)?;
    }
    Some(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn factorization_forms() {
        let p = |s: &str| parse_factorization(s).map(|m| canonical(&m));
        assert_eq!(p("2^3 * 3 * 5^2"), Some("2^3 * 3 * 5^2".into()));
        assert_eq!(p("2 × 2 × 3"), Some("2^2 * 3".into()));
        assert_eq!(p("$2^{2} \\cdot 3$"), Some("2^2 * 3".into()));
        assert_eq!(p("2^3 * x"), None);
        assert_eq!(p("12"), Some("12".into()));
    }
}
