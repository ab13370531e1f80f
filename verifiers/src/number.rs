//! Strict parsing of a final integer answer (`-1,234`, `$42$`, `\boxed{7}`).
//!
//! Used by environments whose gold is a single integer. No substring credit: the whole
//! answer must be one integer, so "41 or 42" and "x = 42" are not numbers.

use num_bigint::BigInt;
use num_traits::Num;

/// Most digits an integer answer may have; the check runs before any conversion.
pub const MAX_INTEGER_DIGITS: usize = 4096;

/// Parses an answer that must be exactly one integer. Accepts surrounding `$…$`, one
/// `\boxed{…}`, a leading sign and correctly grouped thousands separators.
pub fn parse_integer(answer: &str) -> Option<BigInt> {
    let s = unwrap_decorations(answer.trim());
    let (neg, digits) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let digits = strip_grouping(digits.trim_start())?;
    if digits.is_empty() || digits.len() > MAX_INTEGER_DIGITS {
        return None;
    }
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let v = BigInt::from_str_radix(&digits, 10).ok()?;
    Some(if neg { -v } else { v })
}

fn unwrap_decorations(mut s: &str) -> &str {
    for _ in 0..4 {
        let before = s;
        if let Some(inner) = s.strip_prefix('$').and_then(|t| t.strip_suffix('$')) {
            s = inner.trim();
        }
        if let Some(inner) = s.strip_prefix("\\boxed{").and_then(|t| t.strip_suffix('}')) {
            s = inner.trim();
        }
        if let Some(inner) = s.strip_prefix("**").and_then(|t| t.strip_suffix("**")) {
            s = inner.trim();
        }
        if s == before {
            break;
        }
    }
    s.strip_suffix('.').unwrap_or(s)
}

/// Removes thousands separators (`,` or `\,` or `{,}`) only when every group after the
/// first has exactly three digits, so "1,23" is not read as 123.
fn strip_grouping(s: &str) -> Option<String> {
    let normalised = s.replace("{,}", ",").replace("\\,", ",").replace("\\!", "");
    if !normalised.contains(',') {
        return Some(normalised);
    }
    let mut groups = normalised.split(',');
    let first = groups.next()?;
    if first.is_empty() || first.len() > 3 {
        return None;
    }
    let mut out = first.to_string();
    for g in groups {
        if g.len() != 3 {
            return None;
        }
        out.push_str(g);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Option<String> {
        parse_integer(s).map(|v| v.to_string())
    }

    #[test]
    fn accepts_plain_and_decorated_integers() {
        assert_eq!(p("42"), Some("42".into()));
        assert_eq!(p(" -7 "), Some("-7".into()));
        assert_eq!(p("$1,234,567$"), Some("1234567".into()));
        assert_eq!(p("\\boxed{99}"), Some("99".into()));
        assert_eq!(p("**73**"), Some("73".into()));
        assert_eq!(p("12."), Some("12".into()));
        assert_eq!(
            p("123456789012345678901234567890"),
            Some("123456789012345678901234567890".into())
        );
    }

    #[test]
    fn rejects_everything_else() {
        for s in [
            "", "-", "41 or 42", "x = 42", "4 2", "1,23", "1,2345", "0x10", "4.5", "1e3", "four",
        ] {
            assert_eq!(p(s), None, "{s:?} must not parse");
        }
        assert_eq!(p(&"9".repeat(MAX_INTEGER_DIGITS + 1)), None);
    }
}
