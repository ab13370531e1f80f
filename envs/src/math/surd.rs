//! Exact numbers of the form a + b·√r (a, b rational, r square-free): a bounded parser for
//! answers such as `(3 + 2√5)/4`, `\frac{-1 - \sqrt{13}}{6}`, `2*sqrt(3)` and the arithmetic of
//! the quadratic field Q(√r), so radical answers compare exactly, never by floating point.

use num_bigint::BigInt;
use num_rational::BigRational;
use num_traits::{One, Signed, ToPrimitive, Zero};

/// Largest radicand simplified (keeps the trial division bounded).
const MAX_RADICAND: u64 = 1_000_000_000_000;
/// Most square roots in one answer.
const MAX_ROOTS: usize = 16;
/// Deepest nesting accepted.
const MAX_DEPTH: usize = 32;
/// Longest expression accepted (bytes).
pub const MAX_SURD_BYTES: usize = 1024;

/// a + b·√r with r square-free; r is 1 whenever b is 0.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Surd {
    pub a: BigRational,
    pub b: BigRational,
    pub r: u64,
}

impl Surd {
    pub fn rational(a: BigRational) -> Self {
        Surd {
            a,
            b: BigRational::zero(),
            r: 1,
        }
    }

    fn norm(mut self) -> Self {
        if self.r == 1 {
            self.a += &self.b;
            self.b = BigRational::zero();
        } else if self.b.is_zero() {
            self.r = 1;
        }
        self
    }

    /// √q for a rational q >= 0, simplified.
    pub fn sqrt_of(q: &BigRational) -> Option<Surd> {
        if q.is_negative() {
            return None;
        }
        // √(p/d) = √(p·d) / d
        let pd = (q.numer() * q.denom()).to_u64()?;
        if pd > MAX_RADICAND {
            return None;
        }
        let (outside, inside) = split_square(pd);
        let coef = BigRational::new(BigInt::from(outside), q.denom().clone());
        Some(if inside == 1 {
            Surd::rational(coef)
        } else {
            Surd {
                a: BigRational::zero(),
                b: coef,
                r: inside,
            }
        })
    }

    fn same_field(&self, o: &Surd) -> Option<u64> {
        match (self.r, o.r) {
            (1, r) | (r, 1) => Some(r),
            (x, y) if x == y => Some(x),
            _ => None,
        }
    }

    pub fn add(&self, o: &Surd) -> Option<Surd> {
        let r = self.same_field(o)?;
        Some(
            Surd {
                a: &self.a + &o.a,
                b: &self.b + &o.b,
                r,
            }
            .norm(),
        )
    }

    pub fn neg(&self) -> Surd {
        Surd {
            a: -self.a.clone(),
            b: -self.b.clone(),
            r: self.r,
        }
    }

    pub fn mul(&self, o: &Surd) -> Option<Surd> {
        let r = self.same_field(o)?;
        let rr = BigRational::from_integer(BigInt::from(r));
        Some(
            Surd {
                a: &self.a * &o.a + &self.b * &o.b * rr,
                b: &self.a * &o.b + &self.b * &o.a,
                r,
            }
            .norm(),
        )
    }

    pub fn div(&self, o: &Surd) -> Option<Surd> {
        let rr = BigRational::from_integer(BigInt::from(o.r));
        let n = &o.a * &o.a - &o.b * &o.b * rr;
        if n.is_zero() {
            return None;
        }
        let conj = Surd {
            a: o.a.clone(),
            b: -o.b.clone(),
            r: o.r,
        };
        let top = self.mul(&conj)?;
        Some(
            Surd {
                a: top.a / &n,
                b: top.b / &n,
                r: top.r,
            }
            .norm(),
        )
    }

    /// Canonical text: `a`, `b√r`, `(a + b√r)` style with a common denominator,
    /// e.g. `(3 + 2√5)/4`, `-√2/2`, `7/3`.
    pub fn to_text(&self) -> String {
        if self.b.is_zero() {
            return crate::math::grade::rational_str(&self.a);
        }
        let den = num_integer::Integer::lcm(self.a.denom(), self.b.denom());
        let an = (&self.a * BigRational::from_integer(den.clone())).to_integer();
        let bn = (&self.b * BigRational::from_integer(den.clone())).to_integer();
        let root = |c: &BigInt| -> String {
            if c.is_one() {
                format!("√{}", self.r)
            } else {
                format!("{c}√{}", self.r)
            }
        };
        let body = if an.is_zero() {
            if bn.is_negative() {
                format!("-{}", root(&-bn.clone()))
            } else {
                root(&bn)
            }
        } else if bn.is_negative() {
            format!("{an} - {}", root(&-bn.clone()))
        } else {
            format!("{an} + {}", root(&bn))
        };
        if den.is_one() {
            body
        } else if an.is_zero() {
            format!("{body}/{den}")
        } else {
            format!("({body})/{den}")
        }
    }

    /// Approximate value (for ordering roots in a reference answer).
    pub fn approx(&self) -> f64 {
        let f = |q: &BigRational| q.to_f64().unwrap_or(0.0);
        f(&self.a) + f(&self.b) * (self.r as f64).sqrt()
    }
}

/// n = outside² · inside with inside square-free.
pub fn split_square(mut n: u64) -> (u64, u64) {
    if n == 0 {
        return (0, 1);
    }
    let (mut outside, mut inside) = (1u64, 1u64);
    let mut p = 2u64;
    while p.saturating_mul(p) <= n {
        let mut e = 0;
        while n.is_multiple_of(p) {
            n /= p;
            e += 1;
        }
        for _ in 0..e / 2 {
            outside *= p;
        }
        if e % 2 == 1 {
            inside *= p;
        }
        p += if p == 2 { 1 } else { 2 };
    }
    (outside, inside * n)
}

/// Rewrites LaTeX and Unicode spellings into the plain grammar the parser reads.
fn normalise(s: &str) -> String {
    let mut t = s.to_string();
    for (from, to) in [
        ("\\left", ""),
        ("\\right", ""),
        ("\\cdot", "*"),
        ("\\times", "*"),
        ("\\dfrac", "\\frac"),
        ("\\tfrac", "\\frac"),
        ("\\sqrt", "√"),
        ("sqrt", "√"),
        ("×", "*"),
        ("·", "*"),
        ("−", "-"),
        ("\\,", ""),
        ("\\!", ""),
    ] {
        t = t.replace(from, to);
    }
    t
}

/// Parses one exact expression over numbers, `+ - * /`, parentheses, square roots and
/// `\frac{}{}`. `None` for anything else, for unsupported mixes (√2 + √3) or past limits.
pub fn parse_surd(text: &str) -> Option<Surd> {
    if text.len() > MAX_SURD_BYTES {
        return None;
    }
    let norm = normalise(text);
    let mut p = Parser {
        chars: norm.chars().filter(|c| !c.is_whitespace()).collect(),
        pos: 0,
        roots: 0,
    };
    let v = p.expr(0)?;
    (p.pos == p.chars.len()).then_some(v)
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
    roots: usize,
}

impl Parser {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expr(&mut self, depth: usize) -> Option<Surd> {
        if depth > MAX_DEPTH {
            return None;
        }
        let mut v = self.term(depth)?;
        loop {
            if self.eat('+') {
                v = v.add(&self.term(depth)?)?;
            } else if self.eat('-') {
                v = v.add(&self.term(depth)?.neg())?;
            } else {
                return Some(v);
            }
        }
    }

    fn term(&mut self, depth: usize) -> Option<Surd> {
        let mut v = self.unary(depth)?;
        loop {
            if self.eat('*') {
                v = v.mul(&self.unary(depth)?)?;
            } else if self.eat('/') {
                v = v.div(&self.unary(depth)?)?;
            } else if matches!(self.peek(), Some('√' | '(' | '\\')) {
                // Juxtaposition: 2√3, 3(1 + √2), 2\frac{..}{..}
                v = v.mul(&self.atom(depth)?)?;
            } else {
                return Some(v);
            }
        }
    }

    fn unary(&mut self, depth: usize) -> Option<Surd> {
        if depth > MAX_DEPTH {
            return None;
        }
        if self.eat('-') {
            return Some(self.unary(depth + 1)?.neg());
        }
        if self.eat('+') {
            return self.unary(depth + 1);
        }
        self.atom(depth)
    }

    fn atom(&mut self, depth: usize) -> Option<Surd> {
        if depth > MAX_DEPTH {
            return None;
        }
        match self.peek()? {
            '(' => {
                self.pos += 1;
                let v = self.expr(depth + 1)?;
                self.eat(')').then_some(v)
            }
            '{' => {
                self.pos += 1;
                let v = self.expr(depth + 1)?;
                self.eat('}').then_some(v)
            }
            '√' => {
                self.pos += 1;
                self.roots += 1;
                if self.roots > MAX_ROOTS {
                    return None;
                }
                let inner = match self.peek()? {
                    '(' | '{' => self.atom(depth + 1)?,
                    _ => self.number()?,
                };
                if !inner.b.is_zero() {
                    return None;
                }
                Surd::sqrt_of(&inner.a)
            }
            '\\' => {
                let rest: String = self.chars[self.pos..].iter().take(5).collect();
                if rest != "\\frac" {
                    return None;
                }
                self.pos += 5;
                if self.peek()? != '{' {
                    return None;
                }
                let num = self.atom(depth + 1)?;
                if self.peek()? != '{' {
                    return None;
                }
                let den = self.atom(depth + 1)?;
                num.div(&den)
            }
            c if c.is_ascii_digit() || c == '.' => self.number(),
            _ => None,
        }
    }

    fn number(&mut self) -> Option<Surd> {
        let start = self.pos;
        while matches!(self.peek(), Some(c) if c.is_ascii_digit() || c == '.') {
            self.pos += 1;
        }
        if self.pos - start > 200 {
            return None;
        }
        let lit: String = self.chars[start..self.pos].iter().collect();
        if lit.is_empty() || lit.matches('.').count() > 1 {
            return None;
        }
        crate::math::grade::parse_rational(&lit).map(Surd::rational)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Option<String> {
        parse_surd(s).map(|v| v.to_text())
    }

    #[test]
    fn parses_and_canonicalises_radicals() {
        assert_eq!(t("(3 + 2√5)/4"), Some("(3 + 2√5)/4".into()));
        assert_eq!(t("3/4 + \\frac{\\sqrt{20}}{4}"), Some("(3 + 2√5)/4".into()));
        assert_eq!(t("2*sqrt(12)"), Some("4√3".into()));
        assert_eq!(t("-√8/4"), Some("-√2/2".into()));
        assert_eq!(t("\\sqrt{16}"), Some("4".into()));
        assert_eq!(t("1/(1+√2)"), Some("-1 + √2".into()));
        assert_eq!(t("3(1 - √2)"), Some("3 - 3√2".into()));
        assert_eq!(t("√(1/2)"), Some("√2/2".into()));
        for bad in ["√2 + √3", "x", "1/0", "((((", "√-4", "2^3", "", "1..2"] {
            assert_eq!(t(bad), None, "{bad:?}");
        }
        assert_eq!(split_square(72), (6, 2));
        assert_eq!(split_square(97), (1, 97));
    }
}
