//! `quadratic_roots`: real roots of a·x² + b·x + c = 0 — integer, rational or irrational —
//! by the discriminant and the quadratic formula, with the square root simplified; answers
//! are compared exactly in Q(√r) (see `surd`), never numerically.

use crate::env::{Domain, Family, Problem};
use crate::kit::render;
use crate::kit::{excerpt, level, unwrap_answer};
use crate::math::grade::MAX_ANSWER_BYTES;
use crate::math::surd::{parse_surd, split_square, Surd};
use crate::rng::TaskRng;
use num_bigint::BigInt;
use num_rational::BigRational;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::fmt::Write;
use verigym_verifiers::{Verdict, VerifyError};

const TEMPLATE: &str = crate::template!("quadratic_roots");

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RootKind {
    Integer,
    Rational,
    Irrational,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuadraticRootsConfig {
    pub kinds: Vec<RootKind>,
    /// Roots / factor coefficients / coefficients are drawn in -max..=max.
    pub max_value: i64,
    /// Leading coefficient is drawn in 1..=max_leading (sign random when > 1).
    pub max_leading: i64,
}

pub struct QuadraticRoots {
    config: QuadraticRootsConfig,
}

/// `a x^2 + b x + c = 0` as text.
fn poly_text(a: i64, b: i64, c: i64) -> String {
    let mut s = match a {
        1 => "x^2".to_string(),
        -1 => "-x^2".to_string(),
        _ => format!("{a}x^2"),
    };
    match b {
        0 => {}
        1 => s.push_str(" + x"),
        -1 => s.push_str(" - x"),
        b if b > 0 => {
            let _ = write!(s, " + {b}x");
        }
        b => {
            let _ = write!(s, " - {}x", -b);
        }
    }
    if c > 0 {
        let _ = write!(s, " + {c}");
    } else if c < 0 {
        let _ = write!(s, " - {}", -c);
    }
    format!("{s} = 0")
}

fn nonzero(rng: &mut TaskRng, m: i64) -> i64 {
    let v = rng.range(1, m.max(1));
    if rng.chance(0.5) {
        -v
    } else {
        v
    }
}

impl Family for QuadraticRoots {
    type Config = QuadraticRootsConfig;
    const NAME: &'static str = "quadratic_roots";
    const DOMAIN: Domain = Domain::Math;
    const DESCRIPTION: &'static str =
        "Real roots of quadratics (integer, rational, irrational) by the quadratic formula, exact radicals";

    fn config_for(d: u8) -> QuadraticRootsConfig {
        use RootKind::*;
        QuadraticRootsConfig {
            kinds: match d {
                1..=2 => vec![Integer],
                3..=4 => vec![Integer, Rational],
                5..=6 => vec![Integer, Rational, Irrational],
                _ => vec![Rational, Irrational],
            },
            max_value: level(d, [9, 12, 40, 40, 40, 40, 50, 60, 80, 100]),
            max_leading: level(d, [1, 3, 6, 6, 6, 8, 10, 12, 15, 20]),
        }
    }

    fn new(c: QuadraticRootsConfig) -> Result<Self, String> {
        if c.kinds.is_empty() {
            return Err("kinds: at least one root kind is needed".into());
        }
        if !(2..=10_000).contains(&c.max_value) || !(1..=1000).contains(&c.max_leading) {
            return Err("max_value must be in 2..=10000 and max_leading in 1..=1000".into());
        }
        Ok(QuadraticRoots { config: c })
    }

    fn generate(&self, rng: &mut TaskRng) -> Result<Problem, String> {
        let cfg = &self.config;
        let kind = *rng.choose(&cfg.kinds).ok_or("no kinds")?;
        let m = cfg.max_value;
        let lead = |rng: &mut TaskRng| {
            if cfg.max_leading > 1 {
                nonzero(rng, cfg.max_leading)
            } else {
                1
            }
        };
        let (a, b, c) = match kind {
            RootKind::Integer => {
                let (r, s, k) = (rng.range(-m, m), rng.range(-m, m), lead(rng));
                (k, -k * (r + s), k * r * s)
            }
            RootKind::Rational => {
                // (p x - q)(u x - v) with p, u >= 1.
                let (p, u) = (
                    rng.range(1, cfg.max_leading.max(2)),
                    rng.range(2, cfg.max_leading.max(2) + 1),
                );
                let (qv, v) = (nonzero(rng, m), nonzero(rng, m));
                (p * u, -(p * v + qv * u), qv * v)
            }
            RootKind::Irrational => loop {
                let (a, b, c) = (lead(rng), rng.range(-m, m), rng.range(-m, m));
                let disc = b * b - 4 * a * c;
                if disc > 0 && split_square(disc as u64).1 > 1 {
                    break (a, b, c);
                }
            },
        };
        // Normalise the sign of the leading coefficient and drop a common factor.
        let g = num_integer::gcd(num_integer::gcd(a, b), c).max(1);
        let s = if a < 0 { -1 } else { 1 };
        let (a, b, c) = (s * a / g, s * b / g, s * c / g);
        let equation = poly_text(a, b, c);
        let disc = b * b - 4 * a * c;
        let mut t = format!("For {equation}: a = {a}, b = {b}, c = {c}.\n");
        let _ = writeln!(
            t,
            "Discriminant D = b^2 - 4ac = {} - {} = {disc}.",
            b * b,
            4 * a * c
        );
        let two_a = BigRational::from_integer(BigInt::from(2 * a));
        let minus_b = Surd::rational(BigRational::from_integer(BigInt::from(-b)));
        let root_d = Surd::sqrt_of(&BigRational::from_integer(BigInt::from(disc)))
            .ok_or("negative discriminant")?;
        let (out, inside) = split_square(disc as u64);
        if inside == 1 {
            let _ = writeln!(t, "D is a perfect square: √{disc} = {out}.");
        } else if out > 1 {
            let _ = writeln!(t, "√{disc} = √({}·{inside}) = {out}√{inside}.", out * out);
        } else {
            let _ = writeln!(t, "√{disc} cannot be simplified.");
        }
        let den = Surd::rational(two_a);
        let r1 = minus_b
            .add(&root_d)
            .and_then(|v| v.div(&den))
            .ok_or("root")?;
        let r2 = minus_b
            .add(&root_d.neg())
            .and_then(|v| v.div(&den))
            .ok_or("root")?;
        let _ = writeln!(
            t,
            "x = (-b ± √D) / (2a) = ({} ± {}) / {}.",
            -b,
            root_d.to_text(),
            2 * a
        );
        for (sign, r) in [("+", &r1), ("-", &r2)] {
            let _ = writeln!(
                t,
                "x = ({} {sign} {}) / {} = {}",
                -b,
                root_d.to_text(),
                2 * a,
                r.to_text()
            );
        }
        let mut roots = vec![r1, r2];
        roots.sort_by(|x, y| x.approx().total_cmp(&y.approx()));
        roots.dedup();
        let texts: Vec<String> = roots.iter().map(Surd::to_text).collect();
        if roots.len() == 1 {
            let _ = write!(
                t,
                "D = 0, so there is one (double) root: x = {}.",
                texts.join("")
            );
        } else {
            let _ = write!(
                t,
                "The two roots are x = {} and x = {}.",
                texts[0], texts[1]
            );
        }
        let final_answer = texts.join(", ");
        Ok(Problem {
            question: render(TEMPLATE, &[("equation", &equation)]),
            answer: json!({ "roots": texts }),
            thinking: t,
            final_answer,
        })
    }

    fn verify(&self, gold: &serde_json::Value, answer: &str) -> Result<Verdict, VerifyError> {
        let want: Vec<Surd> = gold
            .get("roots")
            .and_then(|r| r.as_array())
            .ok_or_else(|| VerifyError::InvalidGold("expected a roots array".into()))?
            .iter()
            .map(|r| r.as_str().and_then(parse_surd))
            .collect::<Option<_>>()
            .ok_or_else(|| VerifyError::InvalidGold("bad root".into()))?;
        let Some(got) = parse_roots(answer) else {
            return Ok(Verdict::wrong(
                Some(excerpt(answer)),
                "answer is not a list of exact roots",
            ));
        };
        let same = got.iter().all(|g| want.contains(g)) && want.iter().all(|w| got.contains(w));
        Ok(if same {
            Verdict::correct(excerpt(answer))
        } else {
            Verdict::wrong(Some(excerpt(answer)), "the roots differ")
        })
    }
}

/// Reads `r1, r2` (also `;`, "and", `x_1 = …`, one `±`) into exact values, duplicates merged.
pub fn parse_roots(answer: &str) -> Option<Vec<Surd>> {
    if answer.len() > MAX_ANSWER_BYTES {
        return None;
    }
    let s = unwrap_answer(answer)
        .replace("\\pm", "±")
        .replace(" and ", ",")
        .replace(';', ",");
    let mut out: Vec<Surd> = Vec::new();
    let parts: Vec<&str> = s.split(',').collect();
    if parts.len() > 4 {
        return None;
    }
    for part in parts {
        let mut p = part.trim();
        if let Some((lhs, rhs)) = p.split_once('=') {
            let lhs = lhs.trim().replace(['_', '{', '}'], "");
            if !matches!(lhs.as_str(), "x" | "x1" | "x2") {
                return None;
            }
            p = rhs.trim();
        }
        let variants = if p.contains('±') {
            vec![p.replacen('±', "+", 1), p.replacen('±', "-", 1)]
        } else {
            vec![p.to_string()]
        };
        for v in variants {
            let r = parse_surd(&v)?;
            if !out.contains(&r) {
                out.push(r);
            }
        }
    }
    (!out.is_empty()).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roots_forms() {
        let n = |s: &str| parse_roots(s).map(|v| v.len());
        assert_eq!(n("(3 + 2√5)/4, (3 - 2√5)/4"), Some(2));
        assert_eq!(n("x = \\frac{3 \\pm 2\\sqrt{5}}{4}"), Some(2));
        assert_eq!(n("x_1 = 2 and x_2 = -1/3"), Some(2));
        assert_eq!(n("3, 3"), Some(1));
        assert_eq!(n("y = 3"), None);
        assert_eq!(parse_roots("1/2").unwrap()[0].to_text(), "1/2");
    }
}
