//! Exact grading for the math and science families: strict parsing of integer, rational and
//! decimal answers as big rationals, canonical rational strings, tolerance grading. The rules
//! every domain shares (unwrapping `\boxed{}`, bold and a trailing period, gold fields,
//! excerpts) come from the env kit.
//!
//! Follows DESIGN.md's verifier rules: the whole answer must be one value (no substring
//! credit), integers and fractions are compared exactly as big rationals, and every parse is
//! bounded in length before any work. Forms our parsers do not read fall back to the shared
//! `verigym_verifiers::math::verify` equivalence checker.

use crate::kit::{excerpt, gold_str, unwrap_answer};
use num_bigint::BigInt;
use num_integer::Integer;
use num_rational::BigRational;
use num_traits::{One, Signed, Zero};
use verigym_verifiers::math::{verify as math_verify, MathOptions};
use verigym_verifiers::number::parse_integer;
use verigym_verifiers::{Verdict, VerifyError};

/// Longest answer any helper here looks at (bytes); longer answers are wrong unread.
pub const MAX_ANSWER_BYTES: usize = 4096;
/// Most digits of one number literal in an answer.
const MAX_LITERAL_DIGITS: usize = 4096;

/// Strips a leading `name =` (e.g. `x = 3`) when the name is one of `names`.
pub fn strip_assignment<'a>(s: &'a str, names: &[&str]) -> &'a str {
    if let Some((lhs, rhs)) = s.split_once('=') {
        if names.contains(&lhs.trim()) {
            return rhs.trim();
        }
    }
    s
}

/// Canonical text of an exact rational: `p` or `p/q` in lowest terms, sign on `p`.
pub fn rational_str(r: &BigRational) -> String {
    if r.is_integer() {
        r.numer().to_string()
    } else {
        format!("{}/{}", r.numer(), r.denom())
    }
}

/// A rational from integers; `den == 0` gives zero (callers never pass it).
pub fn ratio(num: i64, den: i64) -> BigRational {
    if den == 0 {
        return BigRational::zero();
    }
    BigRational::new(BigInt::from(num), BigInt::from(den))
}

/// Parses an unsigned decimal literal `123`, `12.5`, `.5` exactly.
fn parse_unsigned_decimal(s: &str) -> Option<BigRational> {
    if s.is_empty() || s.len() > MAX_LITERAL_DIGITS {
        return None;
    }
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i, f),
        None => (s, ""),
    };
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    if !int.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let digits = format!("{int}{frac}");
    let num: BigInt = if digits.is_empty() {
        BigInt::zero()
    } else {
        digits.parse().ok()?
    };
    let den = num_traits::pow(BigInt::from(10u32), frac.len());
    Some(BigRational::new(num, den))
}

/// A signed number: an integer (thousands separators allowed), or a decimal.
fn parse_signed_number(s: &str) -> Option<BigRational> {
    let s = s.trim();
    if let Some(i) = parse_integer(s) {
        return Some(BigRational::from_integer(i));
    }
    let (neg, body) = match s.as_bytes().first()? {
        b'-' => (true, s.get(1..)?.trim_start()),
        b'+' => (false, s.get(1..)?.trim_start()),
        _ => (false, s),
    };
    let v = parse_unsigned_decimal(body)?;
    Some(if neg { -v } else { v })
}

/// Parses one exact rational answer: `7`, `-3/4`, `- 3 / 4`, `1.25`, `\frac{3}{4}`,
/// `-\frac{3}{4}`, `\dfrac{3}{4}`, with the usual `$`/`\boxed{}` wrappers. Nothing else:
/// a list, an expression or a word is `None`.
pub fn parse_rational(answer: &str) -> Option<BigRational> {
    if answer.len() > MAX_ANSWER_BYTES {
        return None;
    }
    let s = unwrap_answer(answer);
    let (neg, body) = match s.as_bytes().first()? {
        b'-' => (true, s.get(1..)?.trim_start()),
        _ => (false, s),
    };
    let body = body.trim();
    if neg && (body.starts_with('-') || body.starts_with('+')) {
        return None;
    }
    let frac = body
        .strip_prefix("\\frac")
        .or_else(|| body.strip_prefix("\\dfrac"))
        .or_else(|| body.strip_prefix("\\tfrac"));
    let v = if let Some(rest) = frac {
        let (num, rest) = braced(rest.trim_start())?;
        let (den, rest) = braced(rest.trim_start())?;
        if !rest.trim().is_empty() {
            return None;
        }
        divide(parse_signed_number(num)?, parse_signed_number(den)?)?
    } else if let Some((num, den)) = body.split_once('/') {
        divide(parse_signed_number(num)?, parse_signed_number(den)?)?
    } else {
        parse_signed_number(body)?
    };
    Some(if neg { -v } else { v })
}

fn divide(a: BigRational, b: BigRational) -> Option<BigRational> {
    if b.is_zero() {
        None
    } else {
        Some(a / b)
    }
}

/// Splits `{inner}rest` into (inner, rest), braces balanced.
pub fn braced(s: &str) -> Option<(&str, &str)> {
    let rest = s.strip_prefix('{')?;
    let mut depth = 1usize;
    for (i, c) in rest.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return Some((rest.get(..i)?, rest.get(i + 1..)?));
                }
            }
            _ => {}
        }
    }
    None
}

/// Falls back to the shared math equivalence checker for forms our parsers do not read.
fn shared_equal(gold: &str, answer: &str) -> bool {
    answer.len() <= MAX_ANSWER_BYTES && math_verify(gold, answer, &MathOptions::default()).equal
}

/// Grades an answer that must equal the integer gold `{"value": "<integer>"}`.
pub fn grade_integer(gold: &serde_json::Value, answer: &str) -> Result<Verdict, VerifyError> {
    let text = gold_str(gold, "value")?;
    let g = parse_integer(text)
        .ok_or_else(|| VerifyError::InvalidGold(format!("value {text:?} is not an integer")))?;
    if answer.len() > MAX_ANSWER_BYTES {
        return Ok(Verdict::wrong(None, "answer too long"));
    }
    Ok(match parse_integer(unwrap_answer(answer)) {
        Some(v) if v == g => Verdict::correct(v.to_string()),
        Some(v) => Verdict::wrong(Some(v.to_string()), format!("{v} is not {g}")),
        None if shared_equal(text, answer) => Verdict::correct(excerpt(answer)),
        None => Verdict::wrong(Some(excerpt(answer)), "answer is not a single integer"),
    })
}

/// Grades an answer that must equal the exact rational gold `{"value": "p/q"}`; any exact
/// form of the same number (`0.75`, `\frac{3}{4}`, `6/8`) is accepted.
pub fn grade_rational(gold: &serde_json::Value, answer: &str) -> Result<Verdict, VerifyError> {
    let text = gold_str(gold, "value")?;
    let g = parse_rational(text)
        .ok_or_else(|| VerifyError::InvalidGold(format!("value {text:?} is not a rational")))?;
    Ok(compare_rational(&g, text, answer))
}

/// Compares an answer with an exact rational gold.
pub fn compare_rational(g: &BigRational, gold_text: &str, answer: &str) -> Verdict {
    match parse_rational(answer) {
        Some(v) if &v == g => Verdict::correct(rational_str(&v)),
        Some(v) => Verdict::wrong(
            Some(rational_str(&v)),
            format!("{} is not {}", rational_str(&v), rational_str(g)),
        ),
        None if shared_equal(gold_text, answer) => Verdict::correct(excerpt(answer)),
        None => Verdict::wrong(Some(excerpt(answer)), "answer is not a single number"),
    }
}

/// Grades a decimal answer against `{"value": "<exact rational>"}` within the stated
/// tolerance: |answer - gold| <= max(abs_tol, rel_tol * |gold|). Used only where the task
/// itself asks for a rounded value.
pub fn grade_tolerance(
    gold: &serde_json::Value,
    answer: &str,
    abs_tol: &BigRational,
    rel_tol: &BigRational,
) -> Result<Verdict, VerifyError> {
    let text = gold_str(gold, "value")?;
    let g = parse_rational(text)
        .ok_or_else(|| VerifyError::InvalidGold(format!("value {text:?} is not a rational")))?;
    let Some(v) = parse_rational(answer) else {
        return Ok(Verdict::wrong(
            Some(excerpt(answer)),
            "answer is not a single number",
        ));
    };
    let tol = std::cmp::max(abs_tol.clone(), rel_tol * g.abs());
    let shown = decimal_str(&v, 6);
    Ok(if (&v - &g).abs() <= tol {
        Verdict::correct(shown)
    } else {
        Verdict::wrong(
            Some(shown.clone()),
            format!(
                "{shown} is not within {} of {}",
                decimal_str(&tol, 6),
                decimal_str(&g, 6)
            ),
        )
    })
}

/// A rational rounded half away from zero to `places` decimals, trailing zeros kept.
/// Integer arithmetic only (one multiplication and one division), as generators call it often.
pub fn decimal_str(r: &BigRational, places: usize) -> String {
    let scale = num_traits::pow(BigInt::from(10u32), places);
    let num = r.numer().abs() * scale;
    let den = r.denom();
    let (mut q, rem) = num.div_rem(den);
    if rem * 2u32 >= *den {
        q += 1u32;
    }
    let n = q.to_string();
    let sign = if r.is_negative() && !q.is_zero() {
        "-"
    } else {
        ""
    };
    if places == 0 {
        return format!("{sign}{n}");
    }
    let padded = format!("{n:0>width$}", width = places + 1);
    let (int, frac) = padded.split_at(padded.len() - places);
    format!("{sign}{int}.{frac}")
}

/// The exact decimal expansion of a rational whose denominator has only factors 2 and 5
/// (`None` otherwise), without trailing zeros.
pub fn exact_decimal(r: &BigRational) -> Option<String> {
    if r.is_integer() {
        return Some(r.numer().to_string());
    }
    let den = r.denom();
    let twos = den.trailing_zeros().unwrap_or(0) as usize;
    let mut rest: BigInt = den >> twos;
    let mut fives = 0usize;
    let five = BigInt::from(5u32);
    loop {
        let (q, m) = rest.div_rem(&five);
        if !m.is_zero() {
            break;
        }
        rest = q;
        fives += 1;
    }
    if !rest.is_one() {
        return None;
    }
    let s = decimal_str(r, twos.max(fives));
    Some(if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn q(s: &str) -> Option<String> {
        parse_rational(s).map(|r| rational_str(&r))
    }

    #[test]
    fn rational_forms() {
        assert_eq!(q("3/4"), Some("3/4".into()));
        assert_eq!(q("-6/8"), Some("-3/4".into()));
        assert_eq!(q(" - 3 / 4 "), Some("-3/4".into()));
        assert_eq!(q("0.75"), Some("3/4".into()));
        assert_eq!(q("\\frac{3}{4}"), Some("3/4".into()));
        assert_eq!(q("$-\\dfrac{6}{8}$"), Some("-3/4".into()));
        assert_eq!(q("\\boxed{12}"), Some("12".into()));
        assert_eq!(q("1,234"), Some("1234".into()));
        for bad in [
            "",
            "3/0",
            "3/4 or 1/2",
            "x",
            "1/2/3",
            "3 4",
            "1e5",
            "..",
            "-",
            "(1/2)",
        ] {
            assert_eq!(q(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn decimals_round_and_expand() {
        assert_eq!(decimal_str(&ratio(2, 3), 3), "0.667");
        assert_eq!(decimal_str(&ratio(-1, 8), 2), "-0.13");
        assert_eq!(decimal_str(&ratio(-1, 1000), 2), "0.00");
        assert_eq!(exact_decimal(&ratio(7, 8)), Some("0.875".into()));
        assert_eq!(exact_decimal(&ratio(-5, 2)), Some("-2.5".into()));
        assert_eq!(exact_decimal(&ratio(40, 1)), Some("40".into()));
        assert_eq!(exact_decimal(&ratio(1, 3)), None);
    }

    #[test]
    fn graders_are_exact_and_strict() {
        let g = json!({"value": "-3/4"});
        assert!(grade_rational(&g, "-0.75").unwrap().correct);
        assert!(!grade_rational(&g, "-0.76").unwrap().correct);
        assert!(!grade_rational(&g, "-3/4, 3/4").unwrap().correct);
        let g = json!({"value": "42"});
        assert!(grade_integer(&g, "$42$").unwrap().correct);
        assert!(!grade_integer(&g, "41").unwrap().correct);
        assert!(grade_integer(&json!({}), "1").is_err());
        let g = json!({"value": "18.015"});
        let tol = ratio(1, 100);
        assert!(
            grade_tolerance(&g, "18.02", &tol, &BigRational::zero())
                .unwrap()
                .correct
        );
        assert!(
            !grade_tolerance(&g, "18.03", &tol, &BigRational::zero())
                .unwrap()
                .correct
        );
    }
}
