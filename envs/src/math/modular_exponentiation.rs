//! `modular_exponentiation`: a^e mod m by right-to-left binary exponentiation (square and
//! multiply), one bit of the exponent per line.

use crate::env::{Domain, Family, Problem};
use crate::kit::level;
use crate::kit::render;
use crate::math::grade::grade_integer;
use crate::rng::TaskRng;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::fmt::Write;
use verigym_verifiers::{Verdict, VerifyError};

const TEMPLATE: &str = crate::template!("modular_exponentiation");

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModularExponentiationConfig {
    /// Moduli are drawn in [max_modulus/10, max_modulus] (at least 3).
    pub max_modulus: u64,
    /// Exponents are drawn in 2..=max_exponent.
    pub max_exponent: u64,
}

pub struct ModularExponentiation {
    config: ModularExponentiationConfig,
}

impl Family for ModularExponentiation {
    type Config = ModularExponentiationConfig;
    const NAME: &'static str = "modular_exponentiation";
    const DOMAIN: Domain = Domain::Math;
    const DESCRIPTION: &'static str = "a^e mod m by binary exponentiation (square and multiply)";

    fn config_for(d: u8) -> ModularExponentiationConfig {
        ModularExponentiationConfig {
            max_modulus: level(
                d,
                [
                    13,
                    50,
                    500,
                    1000,
                    10_000,
                    100_000,
                    1_000_000,
                    10_000_000,
                    1_000_000_000,
                    1_000_000_000_000,
                ],
            ),
            max_exponent: level(
                d,
                [
                    6,
                    12,
                    50,
                    100,
                    1000,
                    10_000,
                    100_000,
                    1_000_000,
                    1_000_000_000,
                    1_000_000_000_000_000,
                ],
            ),
        }
    }

    fn new(c: ModularExponentiationConfig) -> Result<Self, String> {
        if !(3..=1_000_000_000_000_000).contains(&c.max_modulus) {
            return Err("max_modulus must be in 3..=10^15".into());
        }
        if c.max_exponent < 2 {
            return Err("max_exponent must be at least 2".into());
        }
        Ok(ModularExponentiation { config: c })
    }

    fn generate(&self, rng: &mut TaskRng) -> Result<Problem, String> {
        let c = &self.config;
        let m = rng.range((c.max_modulus / 10).max(3) as i64, c.max_modulus as i64) as u128;
        let a = rng.range(2, (m as i64 * 3).max(3)) as u128;
        let e = rng.range(2, c.max_exponent as i64) as u64;
        let mut t = format!("Write the exponent in binary: {e} = {e:b} (base 2).\n");
        let mut base = a % m;
        if a >= m {
            let _ = writeln!(t, "Reduce the base first: {a} mod {m} = {base}.");
        }
        let mut result: u128 = 1 % m;
        let mut bits = e;
        let mut k = 0;
        let _ = writeln!(
            t,
            "Start with result = {result}, square = {base}, and read the bits from the right."
        );
        while bits > 0 {
            if bits & 1 == 1 {
                let prod = result * base;
                let next = prod % m;
                let _ = writeln!(
                    t,
                    "bit {k} is 1: result = {result} × {base} = {prod} ≡ {next} (mod {m})"
                );
                result = next;
            } else {
                let _ = writeln!(t, "bit {k} is 0: result stays {result}");
            }
            bits >>= 1;
            if bits > 0 {
                let sq = base * base;
                let next = sq % m;
                let _ = writeln!(t, "square: {base}^2 = {sq} ≡ {next} (mod {m})");
                base = next;
            }
            k += 1;
        }
        let _ = write!(t, "So {a}^{e} mod {m} = {result}.");
        Ok(Problem {
            question: render(
                TEMPLATE,
                &[
                    ("a", &a.to_string()),
                    ("e", &e.to_string()),
                    ("m", &m.to_string()),
                ],
            ),
            answer: json!({ "value": result.to_string() }),
            thinking: t,
            final_answer: result.to_string(),
        })
    }

    fn verify(&self, gold: &serde_json::Value, answer: &str) -> Result<Verdict, VerifyError> {
        grade_integer(gold, answer)
    }
}
