//! Complex double-precision evaluation of an answer tree at a point: the fallback for
//! expressions outside Q(x) (radicals, π, e, i, logs, trigonometry), in the manner of
//! randomised identity testing (Schwartz–Zippel; Gonnet, "Determining equivalence of
//! expressions in random polynomial time", STOC 1984) with a tight relative tolerance.

use super::lexer::{Const, Func};
use super::parser::Node;
use super::ratfun::Vars;
use num_traits::ToPrimitive;

/// A complex number.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct C {
    pub re: f64,
    pub im: f64,
}

impl C {
    pub const fn real(re: f64) -> C {
        C { re, im: 0.0 }
    }
    fn add(self, o: C) -> C {
        C {
            re: self.re + o.re,
            im: self.im + o.im,
        }
    }
    fn sub(self, o: C) -> C {
        C {
            re: self.re - o.re,
            im: self.im - o.im,
        }
    }
    fn mul(self, o: C) -> C {
        C {
            re: self.re * o.re - self.im * o.im,
            im: self.re * o.im + self.im * o.re,
        }
    }
    fn div(self, o: C) -> Option<C> {
        let d = o.re * o.re + o.im * o.im;
        if d == 0.0 {
            return None;
        }
        Some(C {
            re: (self.re * o.re + self.im * o.im) / d,
            im: (self.im * o.re - self.re * o.im) / d,
        })
    }
    fn neg(self) -> C {
        C {
            re: -self.re,
            im: -self.im,
        }
    }
    pub fn abs(self) -> f64 {
        self.re.hypot(self.im)
    }
    fn is_real(self) -> bool {
        self.im == 0.0
    }
    fn exp(self) -> C {
        let m = self.re.exp();
        C {
            re: m * self.im.cos(),
            im: m * self.im.sin(),
        }
    }
    fn ln(self) -> Option<C> {
        if self.re == 0.0 && self.im == 0.0 {
            return None;
        }
        Some(C {
            re: self.abs().ln(),
            im: self.im.atan2(self.re),
        })
    }
    fn pow(self, e: C) -> Option<C> {
        if self.is_real() && e.is_real() {
            if self.re >= 0.0 {
                return Some(C::real(self.re.powf(e.re)));
            }
            if e.re.fract() == 0.0 {
                return Some(C::real(self.re.powf(e.re)));
            }
        }
        if self.re == 0.0 && self.im == 0.0 {
            return Some(C::real(0.0));
        }
        Some(e.mul(self.ln()?).exp())
    }
    fn sin(self) -> C {
        C {
            re: self.re.sin() * self.im.cosh(),
            im: self.re.cos() * self.im.sinh(),
        }
    }
    fn cos(self) -> C {
        C {
            re: self.re.cos() * self.im.cosh(),
            im: -self.re.sin() * self.im.sinh(),
        }
    }
    fn finite(self) -> bool {
        self.re.is_finite() && self.im.is_finite()
    }
}

/// Evaluates `n` with variable `vars.0[i]` set to `at[i]`. `None` for anything undefined,
/// infinite or not a scalar.
pub fn eval(n: &Node, vars: &Vars, at: &[f64]) -> Option<C> {
    let v = eval_inner(n, vars, at, &mut Watch::default())?;
    v.finite().then_some(v)
}

/// Smallest magnitude, relative to 1, that a value met during evaluation may have, and the
/// least a sum may keep of its largest term: below these a perturbation (`+10^{-10}`, a
/// factor `1.0000000001`, `\sqrt{10001}-\sqrt{10000}`) hides under the tolerance.
const TINY: f64 = 1e-6;
const CANCEL: f64 = 1e-3;

/// What evaluation saw that makes a double-precision agreement meaningless.
#[derive(Debug, Default, Clone, Copy)]
struct Watch {
    untrusted: bool,
}

impl Watch {
    fn see(&mut self, v: C) -> C {
        let m = v.abs();
        if m != 0.0 && m < TINY {
            self.untrusted = true;
        }
        v
    }
}

/// `eval`, but `None` also when the value cannot be trusted to separate an answer from a
/// slightly perturbed one: a tiny intermediate value or a sum that cancels.
pub fn eval_checked(n: &Node, vars: &Vars, at: &[f64]) -> Option<C> {
    let mut w = Watch::default();
    let v = eval_inner(n, vars, at, &mut w)?;
    (v.finite() && !w.untrusted).then_some(v)
}

fn real_only(v: C) -> Option<f64> {
    (v.im.abs() <= 1e-12 * v.re.abs().max(1.0)).then_some(v.re)
}

fn eval_inner(n: &Node, vars: &Vars, at: &[f64], w: &mut Watch) -> Option<C> {
    let r = match n {
        Node::Num(v, _) => C::real(v.to_f64()?),
        Node::Sym(s) => {
            let i = vars.0.iter().position(|v| v == s)?;
            C::real(*at.get(i)?)
        }
        Node::Const(Const::Pi) => C::real(std::f64::consts::PI),
        Node::Const(Const::E) => C::real(std::f64::consts::E),
        Node::Const(Const::I) => C { re: 0.0, im: 1.0 },
        Node::Const(Const::Inf) => return None,
        Node::Add(ts) => {
            let mut acc = C::real(0.0);
            let mut largest = 0.0f64;
            for t in ts {
                let v = eval_inner(t, vars, at, w)?;
                largest = largest.max(v.abs());
                acc = acc.add(v);
            }
            if acc.abs() < CANCEL * largest {
                w.untrusted = true;
            }
            acc
        }
        Node::Neg(x) => eval_inner(x, vars, at, w)?.neg(),
        Node::Mul(fs) => {
            let mut acc = C::real(1.0);
            for f in fs {
                acc = acc.mul(eval_inner(f, vars, at, w)?);
            }
            acc
        }
        Node::Div(a, b) => eval_inner(a, vars, at, w)?.div(eval_inner(b, vars, at, w)?)?,
        Node::Pow(b, e) => {
            let base = eval_inner(b, vars, at, w)?;
            let ex = eval_inner(e, vars, at, w)?;
            match odd_root_exponent(e) {
                // x^{p/q} with q odd is real for negative x, as \sqrt[q]{x}^p is.
                Some((p, _)) if base.is_real() && base.re < 0.0 => {
                    let m = (-base.re).powf(ex.re);
                    C::real(if p % 2 == 0 { m } else { -m })
                }
                _ => base.pow(ex)?,
            }
        }
        Node::Root(k, x) => {
            let k = eval_inner(k, vars, at, w)?;
            let x = eval_inner(x, vars, at, w)?;
            let kr = real_only(k)?;
            if x.is_real() && x.re < 0.0 && kr.fract() == 0.0 && (kr as i64) % 2 != 0 {
                C::real(-(-x.re).powf(1.0 / kr))
            } else {
                x.pow(C::real(1.0).div(k)?)?
            }
        }
        Node::Percent(x) => eval_inner(x, vars, at, w)?.div(C::real(100.0))?,
        Node::Abs(x) => C::real(eval_inner(x, vars, at, w)?.abs()),
        Node::Fact(x) => {
            let k = real_only(eval_inner(x, vars, at, w)?)?;
            if k < 0.0 || k.fract() != 0.0 || k > 170.0 {
                return None;
            }
            C::real((2..=k as u32).fold(1.0, |a, i| a * f64::from(i)))
        }
        Node::Binom(a, b) => {
            let n = real_only(eval_inner(a, vars, at, w)?)?;
            let k = real_only(eval_inner(b, vars, at, w)?)?;
            if k.fract() != 0.0 || !(0.0..=1000.0).contains(&k) {
                return None;
            }
            let mut c = 1.0;
            for i in 0..k as u32 {
                c = c * (n - f64::from(i)) / f64::from(i + 1);
            }
            C::real(c)
        }
        Node::Log(b, x) => {
            let lb = eval_inner(b, vars, at, w)?.ln()?;
            eval_inner(x, vars, at, w)?.ln()?.div(lb)?
        }
        Node::Func(f, x) => func(*f, eval_inner(x, vars, at, w)?)?,
        _ => return None,
    };
    Some(w.see(r))
}

/// A literal exponent p/q with q odd (`1/3`, `\frac{2}{3}`, `-1/5`), as (p, q).
fn odd_root_exponent(e: &Node) -> Option<(i64, i64)> {
    let int = |n: &Node| match n {
        Node::Num(v, _) if v.is_integer() => v.to_integer().to_i64(),
        _ => None,
    };
    let (p, q) = match e {
        Node::Num(v, _) => (v.numer().to_i64()?, v.denom().to_i64()?),
        Node::Div(a, b) => (int(a)?, int(b)?),
        Node::Neg(x) => {
            let (p, q) = odd_root_exponent(x)?;
            return Some((-p, q));
        }
        _ => return None,
    };
    (q % 2 != 0 && q != 1 && q != -1).then_some((p, q))
}

fn func(f: Func, x: C) -> Option<C> {
    Some(match f {
        Func::Sin => x.sin(),
        Func::Cos => x.cos(),
        Func::Tan => x.sin().div(x.cos())?,
        Func::Sec => C::real(1.0).div(x.cos())?,
        Func::Csc => C::real(1.0).div(x.sin())?,
        Func::Cot => x.cos().div(x.sin())?,
        Func::Asin => C::real(real_only(x)?.asin()),
        Func::Acos => C::real(real_only(x)?.acos()),
        Func::Atan => C::real(real_only(x)?.atan()),
        Func::Sinh => x.exp().sub(x.neg().exp()).div(C::real(2.0))?,
        Func::Cosh => x.exp().add(x.neg().exp()).div(C::real(2.0))?,
        Func::Tanh => {
            let (a, b) = (x.exp(), x.neg().exp());
            a.sub(b).div(a.add(b))?
        }
        Func::Ln | Func::Log => x.ln()?,
        Func::Exp => x.exp(),
        Func::Floor => C::real(real_only(x)?.floor()),
        Func::Ceil => C::real(real_only(x)?.ceil()),
    })
}

/// Deterministic points for the variables: splitmix64 from a fixed seed, mapped into
/// [0.35, 2.85); every third point is negated so `|x|` and `x` differ.
pub fn points(n_vars: usize, k: usize) -> Vec<Vec<f64>> {
    let mut s: u64 = 0x005E_ED0F_7E57_u64;
    let mut next = move || {
        s = s.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = s;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    (0..k)
        .map(|j| {
            let sign = if j % 3 == 2 { -1.0 } else { 1.0 };
            (0..n_vars)
                .map(|_| sign * (0.35 + 2.5 * ((next() >> 11) as f64 / (1u64 << 53) as f64)))
                .collect()
        })
        .collect()
}

/// Whether two values agree to a relative tolerance of 1e-9 (absolute 1e-12 near 0).
pub fn close(a: C, b: C) -> bool {
    let d = a.sub(b).abs();
    d <= 1e-9 * a.abs().max(b.abs()) + 1e-12
}

#[cfg(test)]
mod tests {
    use super::super::lexer::lex;
    use super::super::parser::parse;
    use super::super::Limits;
    use super::*;

    fn ev(s: &str) -> Option<C> {
        let l = Limits::default();
        eval(
            &parse(lex(s, &l).unwrap(), &l).unwrap(),
            &Vars::default(),
            &[],
        )
    }

    #[test]
    fn values() {
        assert!(close(ev("\\sqrt{8}").unwrap(), ev("2\\sqrt{2}").unwrap()));
        assert!(close(ev("e^{i\\pi}").unwrap(), C::real(-1.0)));
        assert!(close(ev("\\sqrt[3]{-8}").unwrap(), C::real(-2.0)));
        assert!(close(ev("\\log_2 8").unwrap(), C::real(3.0)));
        assert!(!close(ev("\\pi").unwrap(), ev("3.14159").unwrap()));
        assert_eq!(ev("1/0"), None);
        assert_eq!(ev("10^{400}"), None);
    }
}
