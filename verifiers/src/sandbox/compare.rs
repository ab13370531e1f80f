//! Stdout comparison for code tests, done in Rust outside the sandbox: the Codeforces / DMOJ
//! "standard" checker (whitespace-separated tokens line by line, trailing blank lines
//! ignored). Return values are compared by the judge process, on exact Python values.

/// Compares program output with the expected output line by line, token by token.
/// Integers and words must match exactly; a token pair that both parse as finite floats
/// matches within `tolerance` (absolute or relative) only when a tolerance is given and the
/// expected token is not an integer. `Err` says where the first difference is.
pub fn tokens_match(got: &str, expected: &str, tolerance: Option<f64>) -> Result<(), String> {
    let g = significant_lines(got);
    let e = significant_lines(expected);
    for (i, (gl, el)) in g.iter().zip(e.iter()).enumerate() {
        let gt: Vec<&str> = gl.split_whitespace().collect();
        let et: Vec<&str> = el.split_whitespace().collect();
        if gt.len() != et.len() {
            return Err(format!(
                "line {}: {} tokens, expected {}",
                i + 1,
                gt.len(),
                et.len()
            ));
        }
        for (j, (a, b)) in gt.iter().zip(et.iter()).enumerate() {
            if !token_eq(a, b, tolerance) {
                return Err(format!(
                    "line {}, token {}: got '{}', expected '{}'",
                    i + 1,
                    j + 1,
                    clip(a),
                    clip(b)
                ));
            }
        }
    }
    if g.len() != e.len() {
        return Err(format!("{} lines, expected {}", g.len(), e.len()));
    }
    Ok(())
}

fn clip(s: &str) -> String {
    let mut out: String = s.chars().take(40).collect();
    if out.len() < s.len() {
        out.push('…');
    }
    out
}

/// Lines with trailing blank lines removed (`\r\n` tolerated).
fn significant_lines(s: &str) -> Vec<&str> {
    let mut lines: Vec<&str> = s.split('\n').map(|l| l.trim_end_matches('\r')).collect();
    while lines.last().is_some_and(|l| l.trim().is_empty()) {
        lines.pop();
    }
    lines
}

fn is_integer_token(t: &str) -> bool {
    let digits = t.strip_prefix(['-', '+']).unwrap_or(t);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

fn token_eq(got: &str, expected: &str, tolerance: Option<f64>) -> bool {
    if got == expected {
        return true;
    }
    let Some(tol) = tolerance else {
        return false;
    };
    if is_integer_token(expected) {
        return false;
    }
    match (parse_finite(got), parse_finite(expected)) {
        (Some(a), Some(b)) => close(a, b, tol),
        _ => false,
    }
}

fn parse_finite(t: &str) -> Option<f64> {
    // Only plain decimal notation: no "inf", "nan", hex or underscores.
    if !t
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E'))
    {
        return None;
    }
    t.parse::<f64>().ok().filter(|v| v.is_finite())
}

fn close(a: f64, b: f64, tol: f64) -> bool {
    let d = (a - b).abs();
    d <= tol || d <= tol * b.abs()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_compare_line_by_line() {
        assert!(tokens_match("1 2\n3\n", "1  2\n3", None).is_ok());
        assert!(tokens_match("1 2\r\n3\r\n\n\n", "1 2\n3", None).is_ok());
        // all lines count, not just the first
        assert!(tokens_match("1 2\n4", "1 2\n3", None).is_err());
        assert!(tokens_match("1 2", "1 2\n3", None).is_err());
        assert!(tokens_match("1 2\n3\n4", "1 2\n3", None).is_err());
        // tokens cannot move across lines
        assert!(tokens_match("1\n2 3", "1 2\n3", None).is_err());
        assert!(tokens_match("", "", None).is_ok());
        assert!(tokens_match("", "0", None).is_err());
    }

    #[test]
    fn floats_need_a_stated_tolerance_and_integers_are_exact() {
        assert!(tokens_match("0.3333333", "0.333333333", None).is_err());
        assert!(tokens_match("0.3333333", "0.333333333", Some(1e-6)).is_ok());
        assert!(tokens_match("0.34", "0.333333333", Some(1e-6)).is_err());
        assert!(tokens_match("3.0000001", "3", Some(1e-3)).is_err());
        assert!(tokens_match("10", "10.0", None).is_err());
        assert!(tokens_match("10", "10.0", Some(1e-9)).is_ok());
        assert!(tokens_match("nan", "1.5", Some(1e9)).is_err());
        assert!(tokens_match("inf", "1e308", Some(1e9)).is_err());
    }
}
