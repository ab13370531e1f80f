//! The `calculator` tool: exact arithmetic on big integers and rationals (`+ - * / × ÷`,
//! `^` and `**` powers, parentheses, unary minus, decimals as exact fractions). Answers an
//! integer or a reduced fraction `p/q`.
//!
//! Bounded like `verifiers::arith` (length and nesting capped before evaluating), plus the
//! size of every result is estimated from its operands' bit lengths before it is computed,
//! so `10^10^10` is refused at once instead of filling memory.

use super::{Tool, ToolSpec};
use num_bigint::BigInt;
use num_rational::BigRational;
use num_traits::{One, Signed, ToPrimitive, Zero};
use serde_json::{json, Value};

/// Longest expression accepted (bytes).
pub const MAX_INPUT_BYTES: usize = 1000;
/// Deepest nesting of parentheses, signs and powers.
pub const MAX_DEPTH: usize = 64;
/// Largest result (numerator plus denominator bits), about 20,000 decimal digits.
pub const MAX_RESULT_BITS: u64 = 1 << 16;

/// The calculator tool.
pub struct Calculator;

impl Tool for Calculator {
    fn spec(&self) -> ToolSpec {
        ToolSpec {
            name: "calculator".into(),
            description: "Evaluates an arithmetic expression exactly: + - * / (also × ÷), ^ or \
                          ** for integer powers, parentheses and decimals. Returns an integer \
                          or a reduced fraction p/q."
                .into(),
            parameters: json!({
                "type": "object",
                "properties": {
                    "expression": {"type": "string", "description": "for example (12 + 3) * 4^2 / 7"}
                },
                "required": ["expression"]
            }),
        }
    }

    fn call(&self, arguments: &Value) -> Result<String, String> {
        let expr = arguments
            .get("expression")
            .and_then(Value::as_str)
            .ok_or("missing string argument \"expression\"")?;
        evaluate(expr).map(|v| show(&v))
    }
}

/// An integer, or `p/q` in lowest terms (the sign on `p`).
pub fn show(v: &BigRational) -> String {
    if v.is_integer() {
        v.numer().to_string()
    } else {
        format!("{}/{}", v.numer(), v.denom())
    }
}

/// The exact value of `expr`, or why it has none within the bounds.
pub fn evaluate(expr: &str) -> Result<BigRational, String> {
    if expr.len() > MAX_INPUT_BYTES {
        return Err(format!(
            "expression is longer than {MAX_INPUT_BYTES} characters"
        ));
    }
    let tokens = lex(expr)?;
    if tokens.is_empty() {
        return Err("empty expression".into());
    }
    let mut p = Parser { tokens, pos: 0 };
    let v = p.sum(0)?;
    match p.tokens.get(p.pos) {
        None => Ok(v),
        Some(t) => Err(format!("unexpected {} after the expression", t.describe())),
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Num(BigRational),
    Plus,
    Minus,
    Times,
    Divide,
    Power,
    Open,
    Close,
}

impl Tok {
    fn describe(&self) -> String {
        match self {
            Tok::Num(n) => format!("number {}", show(n)),
            Tok::Plus => "'+'".into(),
            Tok::Minus => "'-'".into(),
            Tok::Times => "'*'".into(),
            Tok::Divide => "'/'".into(),
            Tok::Power => "'^'".into(),
            Tok::Open => "'('".into(),
            Tok::Close => "')'".into(),
        }
    }
}

fn lex(s: &str) -> Result<Vec<Tok>, String> {
    let chars: Vec<char> = s.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        i += 1;
        let tok = match c {
            c if c.is_whitespace() => continue,
            '+' => Tok::Plus,
            '-' | '−' => Tok::Minus,
            '*' if chars.get(i) == Some(&'*') => {
                i += 1;
                Tok::Power
            }
            '*' | '×' => Tok::Times,
            '/' | '÷' => Tok::Divide,
            '^' => Tok::Power,
            '(' => Tok::Open,
            ')' => Tok::Close,
            c if c.is_ascii_digit() || c == '.' => {
                let start = i - 1;
                while chars
                    .get(i)
                    .is_some_and(|d| d.is_ascii_digit() || *d == '.')
                {
                    i += 1;
                }
                let text: String = chars[start..i].iter().collect();
                Tok::Num(decimal(&text)?)
            }
            other => return Err(format!("unexpected character {other:?}")),
        };
        out.push(tok);
    }
    Ok(out)
}

/// `12`, `1.5`, `.5` or `3.` as an exact rational.
fn decimal(text: &str) -> Result<BigRational, String> {
    let bad = || format!("malformed number {text:?}");
    let (int, frac) = text.split_once('.').unwrap_or((text, ""));
    if frac.contains('.') || (int.is_empty() && frac.is_empty()) {
        return Err(bad());
    }
    let digits = format!("{int}{frac}");
    let n: BigInt = digits.parse().map_err(|_| bad())?;
    let scale = num_traits::pow(BigInt::from(10), frac.len());
    Ok(BigRational::new(n, scale))
}

struct Parser {
    tokens: Vec<Tok>,
    pos: usize,
}

fn bits(v: &BigRational) -> u64 {
    v.numer().bits() + v.denom().bits()
}

fn check_size(estimate: u64) -> Result<(), String> {
    if estimate > MAX_RESULT_BITS {
        Err(format!(
            "the result would be too large (about {} digits; the limit is about {} digits)",
            estimate.saturating_mul(3) / 10,
            MAX_RESULT_BITS * 3 / 10
        ))
    } else {
        Ok(())
    }
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.tokens.get(self.pos)
    }

    fn deeper(depth: usize) -> Result<usize, String> {
        if depth >= MAX_DEPTH {
            Err(format!("expression nests deeper than {MAX_DEPTH}"))
        } else {
            Ok(depth + 1)
        }
    }

    fn sum(&mut self, depth: usize) -> Result<BigRational, String> {
        let mut acc = self.product(depth)?;
        while let Some(op @ (Tok::Plus | Tok::Minus)) = self.peek().cloned() {
            self.pos += 1;
            let rhs = self.product(depth)?;
            // a/b ± c/d has at most bits(a/b) + bits(c/d) + 1 bits.
            check_size(bits(&acc) + bits(&rhs) + 1)?;
            acc = if op == Tok::Plus {
                acc + rhs
            } else {
                acc - rhs
            };
        }
        Ok(acc)
    }

    fn product(&mut self, depth: usize) -> Result<BigRational, String> {
        let mut acc = self.unary(depth)?;
        while let Some(op @ (Tok::Times | Tok::Divide)) = self.peek().cloned() {
            self.pos += 1;
            let rhs = self.unary(depth)?;
            check_size(bits(&acc) + bits(&rhs))?;
            acc = if op == Tok::Times {
                acc * rhs
            } else if rhs.is_zero() {
                return Err("division by zero".into());
            } else {
                acc / rhs
            };
        }
        Ok(acc)
    }

    /// Signs bind looser than powers: `-2^2` is -4, as in Python.
    fn unary(&mut self, depth: usize) -> Result<BigRational, String> {
        let depth = Self::deeper(depth)?;
        match self.peek() {
            Some(Tok::Minus) => {
                self.pos += 1;
                Ok(-self.unary(depth)?)
            }
            Some(Tok::Plus) => {
                self.pos += 1;
                self.unary(depth)
            }
            _ => self.power(depth),
        }
    }

    /// Right-associative: `2^3^2` is 2^9.
    fn power(&mut self, depth: usize) -> Result<BigRational, String> {
        let base = self.atom(depth)?;
        if self.peek() != Some(&Tok::Power) {
            return Ok(base);
        }
        self.pos += 1;
        let exp = self.unary(depth)?;
        pow(&base, &exp)
    }

    fn atom(&mut self, depth: usize) -> Result<BigRational, String> {
        let tok = self.peek().cloned();
        self.pos += 1;
        match tok {
            Some(Tok::Num(n)) => Ok(n),
            Some(Tok::Open) => {
                let v = self.sum(Self::deeper(depth)?)?;
                match self.peek() {
                    Some(Tok::Close) => {
                        self.pos += 1;
                        Ok(v)
                    }
                    _ => Err("missing ')'".into()),
                }
            }
            Some(t) => Err(format!("unexpected {}", t.describe())),
            None => Err("the expression ends too early".into()),
        }
    }
}

/// `base^exp` for an integer exponent, its size checked before computing.
fn pow(base: &BigRational, exp: &BigRational) -> Result<BigRational, String> {
    if !exp.is_integer() {
        return Err("exponents must be integers".into());
    }
    let e = exp.numer();
    if base.is_zero() {
        return match e.sign() {
            num_bigint::Sign::Minus => Err("division by zero (0 to a negative power)".into()),
            num_bigint::Sign::NoSign => Ok(BigRational::one()),
            num_bigint::Sign::Plus => Ok(BigRational::zero()),
        };
    }
    if base.abs().is_one() {
        let odd = e.bits() > 0 && (e % 2u8) != BigInt::zero();
        return Ok(if odd {
            base.clone()
        } else {
            BigRational::one()
        });
    }
    // (p/q)^e has at most bits(p) * |e| + bits(q) * |e| bits (q = 1 adds none).
    let magnitude = e.abs().to_u64().unwrap_or(u64::MAX);
    let per_power = base.numer().bits() + base.denom().bits().saturating_sub(1);
    check_size(per_power.saturating_mul(magnitude))?;
    let n = u32::try_from(magnitude).map_err(|_| "exponent too large".to_string())?;
    let p = num_traits::pow(base.clone(), n as usize);
    Ok(if e.is_negative() { p.recip() } else { p })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn calc(s: &str) -> Result<String, String> {
        Calculator.call(&json!({ "expression": s }))
    }

    #[test]
    fn exact_integers_and_fractions() {
        assert_eq!(calc("2 + 3 * 4").unwrap(), "14");
        assert_eq!(calc("(2 + 3) × 4 ÷ 6").unwrap(), "10/3");
        assert_eq!(calc("1/3*3").unwrap(), "1");
        assert_eq!(calc("1.5 + .25").unwrap(), "7/4");
        assert_eq!(calc("-2^2").unwrap(), "-4");
        assert_eq!(calc("(-2)**3").unwrap(), "-8");
        assert_eq!(calc("2^3^2").unwrap(), "512");
        assert_eq!(calc("2^-3").unwrap(), "1/8");
        assert_eq!(calc("(2/3)^-2").unwrap(), "9/4");
        assert_eq!(calc("--5 - -5").unwrap(), "10");
        assert_eq!(calc("6 / -4").unwrap(), "-3/2");
        assert_eq!(
            calc("123456789012345678901234567890 * 987654321098765432109876543210").unwrap(),
            "121932631137021795226185032733622923332237463801111263526900"
        );
        assert_eq!(calc("(-1)^100000000001").unwrap(), "-1");
        assert_eq!(calc("0^0").unwrap(), "1");
    }

    #[test]
    fn errors_are_messages() {
        assert!(calc("1/0").unwrap_err().contains("division by zero"));
        assert!(calc("0^-1").unwrap_err().contains("division by zero"));
        assert!(calc("2^0.5").unwrap_err().contains("integers"));
        assert!(calc("").unwrap_err().contains("empty"));
        assert!(calc("2 +").is_err() && calc("(2").is_err() && calc("2)").is_err());
        assert!(calc("1.2.3").is_err() && calc("import os").is_err() && calc(".").is_err());
        assert!(Calculator.call(&json!({"expr": "1"})).is_err());
        assert!(Calculator.call(&json!({"expression": 5})).is_err());
    }

    #[test]
    fn huge_results_are_refused_before_computing() {
        for e in [
            "10^10^10",
            "9^9^9^9",
            "2^100000",
            "(10^5000)^100",
            "7**-99999999999999999999",
        ] {
            let err = calc(e).unwrap_err();
            assert!(err.contains("too large"), "{e}: {err}");
        }
        // Repeated squaring stays bounded by the per-result check.
        let nested = format!("{}2{}", "(".repeat(20), "^2)".repeat(20));
        assert!(calc(&nested).unwrap_err().contains("too large"));
        assert!(calc(&"(".repeat(200)).unwrap_err().contains("deeper"));
        assert!(calc(&"9".repeat(2000)).unwrap_err().contains("longer"));
        assert!(calc(&format!("{}1", "-".repeat(100)))
            .unwrap_err()
            .contains("deeper"));
        // Just below the bound is fine.
        assert_eq!(calc("2^30000").unwrap().len(), 9031);
    }
}
