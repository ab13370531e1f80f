//! Output comparison for code tests, done in Rust outside the sandbox: token-wise stdout
//! comparison (the Codeforces / DMOJ "standard" checker: whitespace-separated tokens line by
//! line, trailing blank lines ignored) and strict JSON equality of return values.

use serde_json::Value;

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

/// Strict equality of a returned JSON value with the expected one. Types must agree
/// (a bool is not an integer, a list is not a string); an integer expected needs an integer;
/// floats compare exactly unless a tolerance is given. Depth is bounded by the parser.
pub fn json_match(got: &Value, expected: &Value, tolerance: Option<f64>) -> bool {
    match (got, expected) {
        (Value::Null, Value::Null) => true,
        (Value::Bool(a), Value::Bool(b)) => a == b,
        (Value::String(a), Value::String(b)) => a == b,
        (Value::Number(a), Value::Number(b)) => {
            let int = |n: &serde_json::Number| n.is_i64() || n.is_u64();
            if int(b) {
                return int(a) && a == b;
            }
            match (a.as_f64(), b.as_f64()) {
                (Some(x), Some(y)) => match tolerance {
                    Some(t) => close(x, y, t),
                    None => x == y,
                },
                _ => false,
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            a.len() == b.len()
                && a.iter()
                    .zip(b.iter())
                    .all(|(x, y)| json_match(x, y, tolerance))
        }
        (Value::Object(a), Value::Object(b)) => {
            a.len() == b.len()
                && a.iter()
                    .all(|(k, x)| b.get(k).is_some_and(|y| json_match(x, y, tolerance)))
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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

    #[test]
    fn json_is_type_strict() {
        assert!(json_match(
            &json!([1, "a", null]),
            &json!([1, "a", null]),
            None
        ));
        assert!(!json_match(&json!(true), &json!(1), None));
        assert!(!json_match(&json!(1.0), &json!(1), None));
        assert!(json_match(&json!(1), &json!(1.0), None));
        assert!(!json_match(&json!(0.30000000000000004), &json!(0.3), None));
        assert!(json_match(
            &json!(0.30000000000000004),
            &json!(0.3),
            Some(1e-9)
        ));
        assert!(!json_match(&json!([1, 2]), &json!([1, 2, 3]), None));
        assert!(!json_match(
            &json!({"a": 1}),
            &json!({"a": 1, "b": 2}),
            None
        ));
        assert!(json_match(
            &json!({"b": 2, "a": 1}),
            &json!({"a": 1, "b": 2}),
            None
        ));
        assert!(!json_match(&json!("1"), &json!(1), None));
    }
}
