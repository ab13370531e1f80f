//! Exact canonical forms: multivariate polynomials and rational functions over BigRational
//! (the normal form of computer algebra systems for the field Q(x1..xn), cf. Geddes,
//! Czapor & Labahn, "Algorithms for Computer Algebra", ch. 2).
//!
//! Two rational functions a/b and c/d are equal iff a·d = c·b as canonical polynomials, so
//! equality needs no GCDs. Term count, degree and coefficient size are capped on every
//! operation; exceeding a cap is an error, never a hang.

use super::lexer::Func;
use super::parser::Node;
use super::Limits;
use num_bigint::BigInt;
use num_rational::BigRational;
use num_traits::{One, Signed, ToPrimitive, Zero};
use std::collections::BTreeMap;

/// Variable id and exponent, sorted by id; exponents are positive.
pub type Mono = Vec<(u16, u32)>;

/// Why an expression has no exact rational-function form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RfError {
    /// Contains something outside Q(x): roots of non-powers, π, logs, trig…
    NotRational,
    /// A size cap was hit.
    TooBig,
    DivZero,
}

type Res<T> = Result<T, RfError>;

/// A polynomial in canonical form: monomial → non-zero coefficient.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Poly(pub BTreeMap<Mono, BigRational>);

/// A rational function num/den (not reduced; den is 1 when it is a constant).
#[derive(Debug, Clone, PartialEq)]
pub struct Rf {
    pub num: Poly,
    pub den: Poly,
}

/// Variable names seen while converting (shared by both sides of a comparison).
#[derive(Debug, Default, Clone)]
pub struct Vars(pub Vec<String>);

impl Vars {
    pub fn id(&mut self, name: &str, limits: &Limits) -> Res<u16> {
        if let Some(i) = self.0.iter().position(|v| v == name) {
            return Ok(i as u16);
        }
        if self.0.len() >= limits.max_vars {
            return Err(RfError::TooBig);
        }
        self.0.push(name.to_string());
        Ok((self.0.len() - 1) as u16)
    }
}

/// gcd that first reduces a lopsided pair with one division: num-bigint's binary gcd
/// takes time proportional to the bigger operand's bit length times its limb count, so
/// gcd(2, 2006!) would cost milliseconds.
fn gcd(a: &BigInt, b: &BigInt) -> BigInt {
    let (mut x, mut y) = (a.abs(), b.abs());
    loop {
        if y.is_zero() {
            return x;
        }
        if x.is_zero() {
            return y;
        }
        if x < y {
            std::mem::swap(&mut x, &mut y);
        }
        if x.bits() - y.bits() > 16 || y.bits() <= 64 {
            x = &x % &y;
            continue;
        }
        return num_integer::Integer::gcd(&x, &y);
    }
}

fn reduced(n: BigInt, d: BigInt) -> BigRational {
    let g = gcd(&n, &d);
    let (n, d) = if g.is_one() { (n, d) } else { (n / &g, d / &g) };
    if d.is_negative() {
        BigRational::new_raw(-n, -d)
    } else {
        BigRational::new_raw(n, d)
    }
}

/// a + b with the fast gcd.
pub fn qadd(a: &BigRational, b: &BigRational) -> BigRational {
    if a.is_zero() {
        return b.clone();
    }
    if b.is_zero() {
        return a.clone();
    }
    if a.denom().is_one() && b.denom().is_one() {
        return BigRational::from_integer(a.numer() + b.numer());
    }
    if a.denom() == b.denom() {
        return reduced(a.numer() + b.numer(), a.denom().clone());
    }
    let g = gcd(a.denom(), b.denom());
    let (ad, bd) = (a.denom() / &g, b.denom() / &g);
    let n = a.numer() * &bd + b.numer() * &ad;
    reduced(n, ad * b.denom())
}

/// a · b with the fast gcd.
pub fn qmul(a: &BigRational, b: &BigRational) -> BigRational {
    if a.is_zero() || b.is_zero() {
        return BigRational::zero();
    }
    if a.is_one() {
        return b.clone();
    }
    if b.is_one() {
        return a.clone();
    }
    if a.denom().is_one() && b.denom().is_one() {
        return BigRational::from_integer(a.numer() * b.numer());
    }
    let g1 = gcd(a.numer(), b.denom());
    let g2 = gcd(b.numer(), a.denom());
    let n = (a.numer() / &g1) * (b.numer() / &g2);
    let d = (a.denom() / &g2) * (b.denom() / &g1);
    BigRational::new_raw(n, d)
}

/// a / b (b ≠ 0) with the fast gcd.
pub fn qdiv(a: &BigRational, b: &BigRational) -> BigRational {
    qmul(a, &b.recip())
}

fn bits_ok(c: &BigRational, l: &Limits) -> Res<()> {
    if c.numer().bits() + c.denom().bits() > l.max_bits {
        Err(RfError::TooBig)
    } else {
        Ok(())
    }
}

impl Poly {
    pub fn constant(c: BigRational) -> Poly {
        let mut m = BTreeMap::new();
        if !c.is_zero() {
            m.insert(Vec::new(), c);
        }
        Poly(m)
    }

    pub fn is_zero(&self) -> bool {
        self.0.is_empty()
    }

    /// The value when the polynomial is a constant.
    pub fn as_constant(&self) -> Option<BigRational> {
        match self.0.len() {
            0 => Some(BigRational::zero()),
            1 => self.0.get(&Vec::new()).cloned(),
            _ => None,
        }
    }

    fn add(&self, o: &Poly, l: &Limits) -> Res<Poly> {
        let mut m = self.0.clone();
        for (k, v) in &o.0 {
            let e = m.entry(k.clone()).or_insert_with(BigRational::zero);
            *e = qadd(e, v);
            bits_ok(e, l)?;
            if e.is_zero() {
                m.remove(k);
            }
        }
        if m.len() > l.max_terms {
            return Err(RfError::TooBig);
        }
        Ok(Poly(m))
    }

    fn neg(&self) -> Poly {
        Poly(self.0.iter().map(|(k, v)| (k.clone(), -v)).collect())
    }

    fn scale(&self, c: &BigRational, l: &Limits) -> Res<Poly> {
        let mut m = BTreeMap::new();
        if c.is_zero() {
            return Ok(Poly(m));
        }
        for (k, v) in &self.0 {
            let p = qmul(v, c);
            bits_ok(&p, l)?;
            m.insert(k.clone(), p);
        }
        Ok(Poly(m))
    }

    fn mul(&self, o: &Poly, l: &Limits) -> Res<Poly> {
        if self.0.len().saturating_mul(o.0.len()) > l.max_terms.saturating_mul(l.max_terms) {
            return Err(RfError::TooBig);
        }
        if let Some(c) = self.as_constant() {
            return o.scale(&c, l);
        }
        if let Some(c) = o.as_constant() {
            return self.scale(&c, l);
        }
        let mut m: BTreeMap<Mono, BigRational> = BTreeMap::new();
        for (ka, va) in &self.0 {
            for (kb, vb) in &o.0 {
                let k = mono_mul(ka, kb);
                if mono_degree(&k) > l.max_degree {
                    return Err(RfError::TooBig);
                }
                let e = m.entry(k).or_insert_with(BigRational::zero);
                *e = qadd(e, &qmul(va, vb));
                bits_ok(e, l)?;
            }
        }
        m.retain(|_, v| !v.is_zero());
        if m.len() > l.max_terms {
            return Err(RfError::TooBig);
        }
        Ok(Poly(m))
    }

    /// Exact value at a rational point (`None` when a variable has no value).
    pub fn eval(&self, at: &[BigRational]) -> Option<BigRational> {
        let mut sum = BigRational::zero();
        for (k, v) in &self.0 {
            let mut t = v.clone();
            for (var, e) in k {
                let x = at.get(usize::from(*var))?;
                t = qmul(&t, &num_traits::Pow::pow(x, *e));
            }
            sum = qadd(&sum, &t);
        }
        Some(sum)
    }
}

fn mono_mul(a: &Mono, b: &Mono) -> Mono {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        match (a.get(i), b.get(j)) {
            (Some(x), Some(y)) if x.0 == y.0 => {
                out.push((x.0, x.1.saturating_add(y.1)));
                i += 1;
                j += 1;
            }
            (Some(x), Some(y)) if x.0 < y.0 => {
                out.push(*x);
                i += 1;
            }
            (Some(_), Some(y)) => {
                out.push(*y);
                j += 1;
            }
            (Some(x), None) => {
                out.push(*x);
                i += 1;
            }
            (None, Some(y)) => {
                out.push(*y);
                j += 1;
            }
            (None, None) => break,
        }
    }
    out
}

fn mono_degree(m: &Mono) -> u32 {
    m.iter().fold(0u32, |d, (_, e)| d.saturating_add(*e))
}

impl Rf {
    pub fn constant(c: BigRational) -> Rf {
        Rf {
            num: Poly::constant(c),
            den: Poly::constant(BigRational::one()),
        }
    }

    pub fn as_constant(&self) -> Option<BigRational> {
        let n = self.num.as_constant()?;
        let d = self.den.as_constant()?;
        if d.is_zero() {
            return None;
        }
        Some(qdiv(&n, &d))
    }

    fn normalise(num: Poly, den: Poly, l: &Limits) -> Res<Rf> {
        if den.is_zero() {
            return Err(RfError::DivZero);
        }
        if let Some(c) = den.as_constant() {
            let inv = c.recip();
            return Ok(Rf {
                num: num.scale(&inv, l)?,
                den: Poly::constant(BigRational::one()),
            });
        }
        if num.is_zero() {
            return Ok(Rf::constant(BigRational::zero()));
        }
        Ok(Rf { num, den })
    }

    pub fn add(&self, o: &Rf, l: &Limits) -> Res<Rf> {
        if self.den == o.den {
            return Rf::normalise(self.num.add(&o.num, l)?, self.den.clone(), l);
        }
        let a = self.num.mul(&o.den, l)?;
        let b = o.num.mul(&self.den, l)?;
        Rf::normalise(a.add(&b, l)?, self.den.mul(&o.den, l)?, l)
    }

    pub fn neg(&self) -> Rf {
        Rf {
            num: self.num.neg(),
            den: self.den.clone(),
        }
    }

    pub fn mul(&self, o: &Rf, l: &Limits) -> Res<Rf> {
        Rf::normalise(self.num.mul(&o.num, l)?, self.den.mul(&o.den, l)?, l)
    }

    pub fn div(&self, o: &Rf, l: &Limits) -> Res<Rf> {
        if o.num.is_zero() {
            return Err(RfError::DivZero);
        }
        Rf::normalise(self.num.mul(&o.den, l)?, self.den.mul(&o.num, l)?, l)
    }

    pub fn pow(&self, n: i64, l: &Limits) -> Res<Rf> {
        if n.unsigned_abs() > l.max_exponent {
            return Err(RfError::TooBig);
        }
        if let Some(c) = self.as_constant() {
            let bits = c.numer().bits().max(c.denom().bits());
            if bits.saturating_mul(n.unsigned_abs()) > l.max_bits {
                return Err(RfError::TooBig);
            }
            if c.is_zero() && n < 0 {
                return Err(RfError::DivZero);
            }
            return Ok(Rf::constant(num_traits::Pow::pow(&c, n as i32)));
        }
        let mut result = Rf::constant(BigRational::one());
        let mut base = self.clone();
        let mut e = n.unsigned_abs();
        while e > 0 {
            if e & 1 == 1 {
                result = result.mul(&base, l)?;
            }
            e >>= 1;
            if e > 0 {
                base = base.mul(&base, l)?;
            }
        }
        if n < 0 {
            Rf::constant(BigRational::one()).div(&result, l)
        } else {
            Ok(result)
        }
    }

    /// Exact equality of rational functions (cross-multiplied canonical forms).
    pub fn same(&self, o: &Rf, l: &Limits) -> Res<bool> {
        if self.den == o.den {
            return Ok(self.num == o.num);
        }
        Ok(self.num.mul(&o.den, l)? == o.num.mul(&self.den, l)?)
    }

    /// Exact value at a point; `None` at a pole or when a variable has no value.
    pub fn eval(&self, at: &[BigRational]) -> Option<BigRational> {
        let d = self.den.eval(at)?;
        if d.is_zero() {
            return None;
        }
        Some(qdiv(&self.num.eval(at)?, &d))
    }
}

/// Converts an expression into its exact canonical form.
pub fn to_rf(n: &Node, vars: &mut Vars, l: &Limits) -> Res<Rf> {
    Ok(match n {
        Node::Num(v, _) => Rf::constant(v.clone()),
        Node::Sym(s) => {
            let id = vars.id(s, l)?;
            let mut m = BTreeMap::new();
            m.insert(vec![(id, 1u32)], BigRational::one());
            Rf {
                num: Poly(m),
                den: Poly::constant(BigRational::one()),
            }
        }
        Node::Add(ts) => {
            let mut acc = Rf::constant(BigRational::zero());
            for t in ts {
                acc = acc.add(&to_rf(t, vars, l)?, l)?;
            }
            acc
        }
        Node::Neg(x) => to_rf(x, vars, l)?.neg(),
        Node::Mul(fs) => {
            let mut acc = Rf::constant(BigRational::one());
            for f in fs {
                acc = acc.mul(&to_rf(f, vars, l)?, l)?;
            }
            acc
        }
        Node::Div(a, b) => to_rf(a, vars, l)?.div(&to_rf(b, vars, l)?, l)?,
        Node::Percent(x) => {
            to_rf(x, vars, l)?.div(&Rf::constant(BigRational::from_integer(100.into())), l)?
        }
        Node::Pow(b, e) => {
            let e = to_rf(e, vars, l)?
                .as_constant()
                .ok_or(RfError::NotRational)?;
            power(&to_rf(b, vars, l)?, &e, l)?
        }
        Node::Root(k, x) => {
            let k = to_rf(k, vars, l)?
                .as_constant()
                .ok_or(RfError::NotRational)?;
            if k.is_zero() {
                return Err(RfError::DivZero);
            }
            power(&to_rf(x, vars, l)?, &k.recip(), l)?
        }
        Node::Fact(x) => {
            let k = small_int(&to_rf(x, vars, l)?)?;
            if k < 0 {
                return Err(RfError::NotRational);
            }
            if k as u64 > l.max_factorial {
                return Err(RfError::TooBig);
            }
            Rf::constant(BigRational::from_integer(product(1, k as u64)))
        }
        Node::Binom(a, b) => {
            let (n, k) = (
                small_int(&to_rf(a, vars, l)?)?,
                small_int(&to_rf(b, vars, l)?)?,
            );
            if k < 0 || n < 0 || k > n {
                return Ok(Rf::constant(BigRational::zero()));
            }
            let k = k.min(n - k);
            if k as u64 > l.max_factorial {
                return Err(RfError::TooBig);
            }
            let mut c = BigInt::one();
            for i in 0..k {
                c = c * (n - i) / (i + 1);
            }
            Rf::constant(BigRational::from_integer(c))
        }
        Node::Abs(x) => {
            let c = to_rf(x, vars, l)?
                .as_constant()
                .ok_or(RfError::NotRational)?;
            Rf::constant(c.abs())
        }
        Node::Func(Func::Floor, x) => {
            let c = to_rf(x, vars, l)?
                .as_constant()
                .ok_or(RfError::NotRational)?;
            Rf::constant(c.floor())
        }
        Node::Func(Func::Ceil, x) => {
            let c = to_rf(x, vars, l)?
                .as_constant()
                .ok_or(RfError::NotRational)?;
            Rf::constant(c.ceil())
        }
        _ => return Err(RfError::NotRational),
    })
}

/// lo·(lo+1)·…·hi by binary splitting, so n! costs a few big multiplications of balanced
/// size instead of n unbalanced ones.
fn product(lo: u64, hi: u64) -> BigInt {
    if hi < lo {
        return BigInt::one();
    }
    if hi - lo < 16 {
        let mut p = BigInt::one();
        for i in lo..=hi {
            p *= i;
        }
        return p;
    }
    let mid = lo + (hi - lo) / 2;
    product(lo, mid) * product(mid + 1, hi)
}

fn small_int(r: &Rf) -> Res<i64> {
    let c = r.as_constant().ok_or(RfError::NotRational)?;
    if !c.is_integer() {
        return Err(RfError::NotRational);
    }
    c.to_integer().to_i64().ok_or(RfError::TooBig)
}

/// base^e for a rational exponent; exact only when the root is rational.
fn power(base: &Rf, e: &BigRational, l: &Limits) -> Res<Rf> {
    if e.is_integer() {
        let n = e.to_integer().to_i64().ok_or(RfError::TooBig)?;
        return base.pow(n, l);
    }
    let c = base.as_constant().ok_or(RfError::NotRational)?;
    let q = e.denom().to_u32().ok_or(RfError::NotRational)?;
    let p = e.numer().to_i64().ok_or(RfError::TooBig)?;
    if q > 64 {
        return Err(RfError::NotRational);
    }
    if c.is_negative() {
        // Odd roots of negatives are real; even ones are not rational.
        if q % 2 == 0 {
            return Err(RfError::NotRational);
        }
        let r = exact_root(&(-c), q)?;
        return Rf::constant(-r).pow(p, l);
    }
    let r = exact_root(&c, q)?;
    Rf::constant(r).pow(p, l)
}

fn exact_root(c: &BigRational, q: u32) -> Res<BigRational> {
    let n = c.numer().nth_root(q);
    let d = c.denom().nth_root(q);
    if num_traits::Pow::pow(&n, q) == *c.numer() && num_traits::Pow::pow(&d, q) == *c.denom() {
        Ok(BigRational::new(n, d))
    } else {
        Err(RfError::NotRational)
    }
}

#[cfg(test)]
mod tests {
    use super::super::lexer::lex;
    use super::super::parser::parse;
    use super::*;

    fn rf(s: &str, vars: &mut Vars) -> Res<Rf> {
        let l = Limits::default();
        to_rf(&parse(lex(s, &l).unwrap(), &l).unwrap(), vars, &l)
    }

    fn same(a: &str, b: &str) -> bool {
        let mut v = Vars::default();
        let (x, y) = (rf(a, &mut v).unwrap(), rf(b, &mut v).unwrap());
        x.same(&y, &Limits::default()).unwrap()
    }

    #[test]
    fn canonical_forms() {
        assert!(same("(x+1)^2", "x^2 + 2x + 1"));
        assert!(same("\\frac{x^2-1}{x-1}", "x+1"));
        assert!(same("\\frac{1}{2}", "0.5"));
        assert!(same("\\sqrt{\\frac{9}{4}}", "1.5"));
        assert!(same("8^{2/3}", "4"));
        assert!(!same("(x+1)^2", "x^2 + 1"));
        assert!(!same("\\frac{1}{2004!}", "\\frac{1}{2006!}"));
    }

    #[test]
    fn caps_and_irrationals() {
        let mut v = Vars::default();
        assert_eq!(rf("\\sqrt{2}", &mut v), Err(RfError::NotRational));
        assert_eq!(rf("5^{5^{5^{5}}}", &mut v), Err(RfError::TooBig));
        assert_eq!(rf("(x+y+1)^{300}", &mut v), Err(RfError::TooBig));
        assert_eq!(rf("1/(x-x)", &mut v), Err(RfError::DivZero));
    }
}
