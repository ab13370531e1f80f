//! Integer polynomials in one variable: products with the worked distribution, text in
//! descending powers, and a strict parser for answers (`6x^3 - 2x^2 + x - 5`, `x**2`,
//! `3*x^{2}`) that refuses brackets, so an unexpanded product is not an expansion.

use crate::kit::unwrap_answer;
use crate::math::grade::MAX_ANSWER_BYTES;
use num_bigint::BigInt;
use num_traits::{One, Signed, Zero};
use std::fmt::Write;

/// Coefficients, lowest power first, without trailing zeros (the zero polynomial is empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Poly(pub Vec<BigInt>);

/// Highest degree a parsed answer may have.
const MAX_DEGREE: usize = 64;

impl Poly {
    pub fn from_i64(c: &[i64]) -> Poly {
        Poly(c.iter().map(|&v| BigInt::from(v)).collect()).trim()
    }

    fn trim(mut self) -> Poly {
        while self.0.last().is_some_and(Zero::is_zero) {
            self.0.pop();
        }
        self
    }

    pub fn mul(&self, o: &Poly) -> Poly {
        if self.0.is_empty() || o.0.is_empty() {
            return Poly(Vec::new());
        }
        let mut out = vec![BigInt::zero(); self.0.len() + o.0.len() - 1];
        for (i, a) in self.0.iter().enumerate() {
            for (j, b) in o.0.iter().enumerate() {
                out[i + j] += a * b;
            }
        }
        Poly(out).trim()
    }

    /// Text in descending powers of `v`: `6x^3 - 2x^2 + x - 5`; `0` for zero.
    pub fn text(&self, v: &str) -> String {
        let mut s = String::new();
        for (k, c) in self.0.iter().enumerate().rev() {
            if c.is_zero() {
                continue;
            }
            let mag = c.abs();
            let sign = if c.is_negative() { "-" } else { "+" };
            if s.is_empty() {
                if c.is_negative() {
                    s.push('-');
                }
            } else {
                let _ = write!(s, " {sign} ");
            }
            let coef = if mag.is_one() && k > 0 {
                String::new()
            } else {
                mag.to_string()
            };
            match k {
                0 => s.push_str(&coef),
                1 => {
                    let _ = write!(s, "{coef}{v}");
                }
                _ => {
                    let _ = write!(s, "{coef}{v}^{k}");
                }
            }
        }
        if s.is_empty() {
            s.push('0');
        }
        s
    }

    /// p(x) by Horner's rule, with one line per step.
    pub fn horner(&self, x: &BigInt, t: &mut String) -> BigInt {
        let mut acc = BigInt::zero();
        for (i, c) in self.0.iter().rev().enumerate() {
            let next = &acc * x + c;
            if i == 0 {
                let _ = writeln!(t, "Start with the leading coefficient {c}.");
            } else {
                let _ = writeln!(t, "{acc} × ({x}) + ({c}) = {next}");
            }
            acc = next;
        }
        acc
    }
}

/// Parses a polynomial in `v` with integer coefficients; `None` for brackets, other
/// letters, non-integer coefficients or degrees above the cap.
pub fn parse_poly(answer: &str, v: char) -> Option<Poly> {
    if answer.len() > MAX_ANSWER_BYTES {
        return None;
    }
    // Whitespace may separate terms and signs, but never two digits ("x^2 3" is not x^23).
    let mut last: Option<char> = None;
    let mut gap = false;
    for c in unwrap_answer(answer).chars() {
        if c.is_whitespace() {
            gap = last.is_some();
            continue;
        }
        if gap
            && c.is_ascii_digit()
            && last.is_some_and(|b| b.is_ascii_alphanumeric() || b == '^' || b == '}')
        {
            return None;
        }
        last = Some(c);
        gap = false;
    }
    let s: String = unwrap_answer(answer)
        .replace("**", "^")
        .replace("\\cdot", "*")
        .replace('−', "-")
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '{' && *c != '}')
        .collect();
    if s.is_empty() {
        return None;
    }
    let mut coefs = vec![BigInt::zero(); MAX_DEGREE + 1];
    let bytes: Vec<char> = s.chars().collect();
    let mut i = 0;
    let mut first = true;
    while i < bytes.len() {
        let mut neg = false;
        match bytes[i] {
            '+' => i += 1,
            '-' => {
                neg = true;
                i += 1;
            }
            _ if !first => return None,
            _ => {}
        }
        first = false;
        let start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        let digits: String = bytes[start..i].iter().collect();
        if digits.len() > 200 {
            return None;
        }
        let mut coef: BigInt = if digits.is_empty() {
            BigInt::one()
        } else {
            digits.parse().ok()?
        };
        let mut power = 0usize;
        if i < bytes.len() && bytes[i] == '*' {
            i += 1;
            if bytes.get(i) != Some(&v) {
                return None;
            }
        }
        if i < bytes.len() && bytes[i] == v {
            i += 1;
            power = 1;
            if i < bytes.len() && bytes[i] == '^' {
                i += 1;
                let s2 = i;
                while i < bytes.len() && bytes[i].is_ascii_digit() {
                    i += 1;
                }
                let e: String = bytes[s2..i].iter().collect();
                power = e.parse().ok()?;
            }
        } else if digits.is_empty() {
            return None;
        }
        if power > MAX_DEGREE {
            return None;
        }
        if neg {
            coef = -coef;
        }
        coefs[power] += coef;
    }
    Some(Poly(coefs).trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_parse_agree() {
        let p = Poly::from_i64(&[-5, 1, -2, 6]);
        assert_eq!(p.text("x"), "6x^3 - 2x^2 + x - 5");
        assert_eq!(parse_poly("6x^3 - 2x^2 + x - 5", 'x'), Some(p.clone()));
        assert_eq!(parse_poly("-5 + x + 6*x**3 - 2x^{2}", 'x'), Some(p));
        assert_eq!(parse_poly("(x+1)(x+2)", 'x'), None);
        assert_eq!(parse_poly("x^2 + y", 'x'), None);
        assert_eq!(parse_poly("x^2 3", 'x'), None);
        assert_eq!(parse_poly("0", 'x'), Some(Poly(vec![])));
        let sq = Poly::from_i64(&[1, 1]).mul(&Poly::from_i64(&[1, 1]));
        assert_eq!(sq.text("x"), "x^2 + 2x + 1");
        let mut t = String::new();
        assert_eq!(sq.horner(&BigInt::from(3), &mut t), BigInt::from(16));
    }
}
