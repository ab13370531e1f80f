//! Equivalence of parsed answers: exact canonical forms first, numeric identity testing as
//! the fallback, and structural rules for sets, tuples, intervals, matrices and relations
//! (the comparison classes of Hugging Face math-verify's `verify`, made exact and strict).

use super::lexer::{Const, RelOp};
use super::numeric::{self, close};
use super::parser::{Lit, Node};
use super::ratfun::{qadd, qdiv, to_rf, Rf, RfError, Vars};
use super::{Limits, MathOptions};
use num_bigint::BigInt;
use num_rational::BigRational;
use num_traits::{Signed, ToPrimitive, Zero};

/// How two answers were found equal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// Identical text, or exact rational / canonical-form equality.
    Exact,
    /// Agreement at random points in double precision (expressions with radicals,
    /// π, e, i, logs or trigonometry).
    Numeric,
    /// Within the rounding of a decimal gold, or the configured tolerance.
    Tolerance,
}

/// `Ok(method)` when equal, `Err(reason)` otherwise.
pub type Eq = Result<Method, String>;

pub struct Cx<'a> {
    pub opts: &'a MathOptions,
    pub limits: &'a Limits,
    /// Comparisons left (sets match pairwise; this bounds the work).
    pub budget: usize,
    /// Current nesting of `value` calls.
    pub depth: usize,
}

fn combine(a: Method, b: Method) -> Method {
    match (a, b) {
        (Method::Tolerance, _) | (_, Method::Tolerance) => Method::Tolerance,
        (Method::Numeric, _) | (_, Method::Numeric) => Method::Numeric,
        _ => Method::Exact,
    }
}

fn is_relation(n: &Node) -> bool {
    matches!(n, Node::Rel(..) | Node::Chain(..))
}

fn is_collection(n: &Node) -> bool {
    matches!(
        n,
        Node::List(_) | Node::Set(_) | Node::Tuple(_) | Node::Matrix(_) | Node::Union(_)
    )
}

/// `x = 5`, `x_1 = 5`, `f(x) = …` style answers: the bare variable on the left.
fn named_value(n: &Node) -> Option<&Node> {
    match n {
        Node::Rel(l, RelOp::Eq, r) if matches!(l.as_ref(), Node::Sym(_)) => Some(r),
        _ => None,
    }
}

fn inf_sign(n: &Node) -> Option<i8> {
    match n {
        Node::Const(Const::Inf) => Some(1),
        Node::Neg(x) => inf_sign(x).map(|s| -s),
        _ => None,
    }
}

fn is_interval_like(n: &Node) -> bool {
    matches!(n, Node::Interval(..) | Node::Union(_)) || is_relation(n)
}

fn open_interval(pair: &[Node]) -> Node {
    let lo = pair.first().cloned().unwrap_or(Node::Const(Const::Inf));
    let hi = pair.get(1).cloned().unwrap_or(Node::Const(Const::Inf));
    Node::Interval(false, Box::new(lo), Box::new(hi), false)
}

/// Whether a `±` sits where `expand_pm` expands it (sums, products, negation, quotients).
fn has_pm(n: &Node) -> bool {
    match n {
        Node::Pm(..) => true,
        Node::Add(v) | Node::Mul(v) => v.iter().any(has_pm),
        Node::Neg(x) => has_pm(x),
        Node::Div(a, b) => has_pm(a) || has_pm(b),
        _ => false,
    }
}

/// Expands every `a ± b` into its two values (at most 3 signs, so 8 variants).
fn expand_pm(n: &Node, budget: &mut usize) -> Vec<Node> {
    if *budget == 0 {
        return vec![n.clone()];
    }
    match n {
        Node::Pm(a, b) => {
            *budget -= 1;
            let mut out = Vec::new();
            for x in expand_pm(a, budget) {
                for y in expand_pm(b, budget) {
                    out.push(Node::Add(vec![x.clone(), y.clone()]));
                    out.push(Node::Add(vec![x.clone(), Node::Neg(Box::new(y))]));
                }
            }
            out
        }
        Node::Add(v) | Node::Mul(v) => {
            let mut acc: Vec<Vec<Node>> = vec![Vec::new()];
            for t in v {
                let opts = expand_pm(t, budget);
                let mut next = Vec::new();
                for a in &acc {
                    for o in &opts {
                        let mut a2 = a.clone();
                        a2.push(o.clone());
                        next.push(a2);
                    }
                }
                acc = next;
            }
            let add = matches!(n, Node::Add(_));
            acc.into_iter()
                .map(|v| if add { Node::Add(v) } else { Node::Mul(v) })
                .collect()
        }
        Node::Neg(x) => expand_pm(x, budget)
            .into_iter()
            .map(|y| Node::Neg(Box::new(y)))
            .collect(),
        Node::Div(a, b) => {
            let mut out = Vec::new();
            for x in expand_pm(a, budget) {
                for y in expand_pm(b, budget) {
                    out.push(Node::Div(Box::new(x.clone()), Box::new(y)));
                }
            }
            out
        }
        other => vec![other.clone()],
    }
}

impl Cx<'_> {
    fn spend(&mut self) -> Result<(), String> {
        if self.budget == 0 {
            return Err("comparison too large".into());
        }
        self.budget -= 1;
        Ok(())
    }

    /// Compares a gold answer with a candidate answer.
    pub fn value(&mut self, g: &Node, a: &Node) -> Eq {
        self.spend()?;
        if self.depth >= 32 {
            return Err("answer nests too deeply".into());
        }
        self.depth += 1;
        let r = self.value_inner(g, a);
        self.depth -= 1;
        r
    }

    fn value_inner(&mut self, g: &Node, a: &Node) -> Eq {
        // `x = 5` against a value, either way round.
        if !is_relation(g) {
            if let Some(v) = named_value(a) {
                return self.value(g, v);
            }
        }
        if !is_relation(a) {
            if let Some(v) = named_value(g) {
                return self.value(v, a);
            }
        }
        if inf_sign(g).is_some() || inf_sign(a).is_some() {
            return if inf_sign(g) == inf_sign(a) {
                Ok(Method::Exact)
            } else {
                Err("not equal (infinity)".into())
            };
        }
        if has_pm(g) || has_pm(a) {
            let expand = |n: &Node| -> Result<Node, String> {
                if !has_pm(n) {
                    return Ok(n.clone());
                }
                let mut b = 3;
                let v = expand_pm(n, &mut b);
                if v.iter().any(has_pm) {
                    return Err("too many ± signs".to_string());
                }
                Ok(Node::Set(v))
            };
            return self.value(&expand(g)?, &expand(a)?);
        }
        match (g, a) {
            (Node::Percent(x), b) if !matches!(b, Node::Percent(_)) => {
                self.scalar(g, b).or_else(|_| self.scalar(x, b))
            }
            (x, Node::Percent(y)) if !matches!(x, Node::Percent(_)) => {
                self.scalar(x, a).or_else(|_| self.scalar(x, y))
            }
            (Node::Set(gs) | Node::List(gs), Node::Set(xs) | Node::List(xs)) => {
                self.unordered(gs, xs)
            }
            (Node::List(gs), Node::Tuple(xs)) | (Node::Tuple(gs), Node::List(xs)) => {
                self.ordered(gs, xs)
            }
            (Node::Tuple(gs), Node::Tuple(xs)) => self.ordered(gs, xs),
            // `(a, b)` is a pair or an open interval.
            (Node::Tuple(gs), x) if gs.len() == 2 && (is_interval_like(x)) => {
                self.value(&open_interval(gs), x)
            }
            (x, Node::Tuple(xs)) if xs.len() == 2 && (is_interval_like(x)) => {
                self.value(x, &open_interval(xs))
            }
            (Node::Interval(..), Node::Interval(..)) => self.interval(g, a),
            (Node::Union(gs), Node::Union(xs)) => self.unordered(gs, xs),
            (Node::Interval(..) | Node::Union(_), r) | (r, Node::Interval(..) | Node::Union(_))
                if is_relation(r) =>
            {
                match as_interval(r) {
                    Some(iv) if is_relation(g) => self.value(&iv, a),
                    Some(iv) => self.value(g, &iv),
                    None => Err("a relation where the gold is an interval".into()),
                }
            }
            (Node::Matrix(gr), Node::Matrix(xr)) => {
                if gr.len() != xr.len() || gr.first().map(Vec::len) != xr.first().map(Vec::len) {
                    return Err("matrix shapes differ".into());
                }
                let mut m = Method::Exact;
                for (r1, r2) in gr.iter().zip(xr) {
                    m = combine(m, self.ordered(r1, r2)?);
                }
                Ok(m)
            }
            (Node::Matrix(rows), Node::Tuple(xs)) | (Node::Tuple(xs), Node::Matrix(rows)) => {
                match vector(rows) {
                    Some(v) => self.ordered(&v, xs),
                    None => Err("matrix and tuple differ".into()),
                }
            }
            (Node::Rel(..), Node::Rel(..)) => self.relation(g, a),
            (Node::Chain(gs, go), Node::Chain(xs, xo)) => {
                if go != xo && go.iter().map(|o| flip(*o)).ne(xo.iter().rev().copied()) {
                    return Err("relations differ".into());
                }
                let rev: Vec<Node>;
                let xs = if go == xo {
                    xs
                } else {
                    rev = xs.iter().rev().cloned().collect();
                    &rev
                };
                self.ordered(gs, xs)
            }
            (Node::Set(gs), x) | (Node::List(gs), x) if !is_collection(x) && !is_relation(x) => {
                match gs.as_slice() {
                    [one] => self.value(one, x),
                    _ => Err("a single value where the gold has several".into()),
                }
            }
            (x, Node::Set(xs) | Node::List(xs)) if !is_collection(x) && !is_relation(x) => {
                match xs.as_slice() {
                    [one] => self.value(x, one),
                    _ => Err("several candidate answers for a single gold".into()),
                }
            }
            (x, y) if is_relation(y) && !is_relation(x) => {
                Err("a relation where the gold is a value".into())
            }
            (x, y) if is_relation(x) && !is_relation(y) => {
                Err("a value where the gold is a relation".into())
            }
            (x, y) if is_collection(x) || is_collection(y) => {
                Err("answer shape differs from the gold".into())
            }
            (Node::Interval(..), _) | (_, Node::Interval(..)) => {
                Err("answer shape differs from the gold".into())
            }
            _ => self.scalar(g, a),
        }
    }

    fn ordered(&mut self, gs: &[Node], xs: &[Node]) -> Eq {
        if gs.len() != xs.len() {
            return Err(format!(
                "{} items where the gold has {}",
                xs.len(),
                gs.len()
            ));
        }
        let mut m = Method::Exact;
        for (g, x) in gs.iter().zip(xs) {
            m = combine(m, self.value(g, x)?);
        }
        Ok(m)
    }

    fn unordered(&mut self, gs: &[Node], xs: &[Node]) -> Eq {
        if gs.len() != xs.len() {
            return Err(format!(
                "{} items where the gold has {}",
                xs.len(),
                gs.len()
            ));
        }
        let mut used = vec![false; xs.len()];
        let mut m = Method::Exact;
        for g in gs {
            let mut found = None;
            for (j, x) in xs.iter().enumerate() {
                if used.get(j).copied().unwrap_or(true) {
                    continue;
                }
                if let Ok(mj) = self.value(g, x) {
                    found = Some((j, mj));
                    break;
                }
                if self.budget == 0 {
                    return Err("comparison too large".into());
                }
            }
            match found {
                Some((j, mj)) => {
                    if let Some(u) = used.get_mut(j) {
                        *u = true;
                    }
                    m = combine(m, mj);
                }
                None => return Err("the items differ from the gold's".into()),
            }
        }
        Ok(m)
    }

    fn interval(&mut self, g: &Node, a: &Node) -> Eq {
        let (Node::Interval(gl, glo, ghi, gr), Node::Interval(al, alo, ahi, ar)) = (g, a) else {
            return Err("not intervals".into());
        };
        if gl != al || gr != ar {
            return Err("interval ends differ (open vs closed)".into());
        }
        let m1 = self.endpoint(glo, alo)?;
        let m2 = self.endpoint(ghi, ahi)?;
        Ok(combine(m1, m2))
    }

    fn endpoint(&mut self, g: &Node, a: &Node) -> Eq {
        match (inf_sign(g), inf_sign(a)) {
            (Some(x), Some(y)) if x == y => Ok(Method::Exact),
            (None, None) => self.value(g, a),
            _ => Err("interval endpoints differ".into()),
        }
    }

    /// Relations up to rearrangement and scaling: l1 - r1 = c (l2 - r2), c ≠ 0 (c > 0 for
    /// inequalities, after turning > and ≥ round).
    fn relation(&mut self, g: &Node, a: &Node) -> Eq {
        let (Some((gd, gop)), Some((ad, aop))) = (difference(g), difference(a)) else {
            return Err("not relations".into());
        };
        if gop != aop {
            return Err("relation symbols differ".into());
        }
        let sign_matters = !matches!(gop, RelOp::Eq | RelOp::Ne);
        let l = self.limits;
        let mut vars = Vars::default();
        match (to_rf(&gd, &mut vars, l), to_rf(&ad, &mut vars, l)) {
            (Ok(x), Ok(y)) => proportional(&x, &y, vars.0.len(), sign_matters, l),
            (Err(RfError::DivZero), _) | (_, Err(RfError::DivZero)) => {
                Err("division by zero".into())
            }
            _ => {
                let mut vars = Vars::default();
                collect_vars(&gd, &mut vars, l);
                collect_vars(&ad, &mut vars, l);
                let mut ratio: Option<numeric::C> = None;
                let mut ok = 0;
                for p in numeric::points(vars.0.len(), 6) {
                    let (Some(x), Some(y)) =
                        (numeric::eval(&gd, &vars, &p), numeric::eval(&ad, &vars, &p))
                    else {
                        continue;
                    };
                    if y.abs() < 1e-12 {
                        if x.abs() < 1e-12 {
                            continue;
                        }
                        return Err("relations differ".into());
                    }
                    let r = numeric::C {
                        re: (x.re * y.re + x.im * y.im) / (y.re * y.re + y.im * y.im),
                        im: (x.im * y.re - x.re * y.im) / (y.re * y.re + y.im * y.im),
                    };
                    match ratio {
                        None => {
                            if r.abs() < 1e-12 || (sign_matters && r.re <= 0.0) {
                                return Err("relations differ".into());
                            }
                            ratio = Some(r)
                        }
                        Some(q) if !close(q, r) => return Err("relations differ".into()),
                        _ => {}
                    }
                    ok += 1;
                }
                if ok >= 2 || (ok == 1 && vars.0.is_empty()) {
                    Ok(Method::Numeric)
                } else {
                    Err("could not evaluate the relations".into())
                }
            }
        }
    }

    /// Two scalar expressions.
    pub fn scalar(&mut self, g: &Node, a: &Node) -> Eq {
        self.spend()?;
        if !self.opts.allow_unevaluated && is_integer_literal(g) && !is_literal(a) {
            return Err("unevaluated arithmetic where the gold is an integer".into());
        }
        let l = self.limits;
        let mut vars = Vars::default();
        let (rg, ra) = (to_rf(g, &mut vars, l), to_rf(a, &mut vars, l));
        match (&rg, &ra) {
            (Ok(x), Ok(y)) => match x.same(y, l) {
                Ok(true) => return Ok(Method::Exact),
                Ok(false) => {
                    if let (Some(gv), Some(av)) = (x.as_constant(), y.as_constant()) {
                        return self.tolerance_exact(g, a, &gv, &av);
                    }
                    return Err("not equal".into());
                }
                Err(_) => {}
            },
            (Err(RfError::DivZero), _) | (_, Err(RfError::DivZero)) => {
                return Err("division by zero".into())
            }
            _ => {}
        }
        let mut vars = Vars::default();
        collect_vars(g, &mut vars, l);
        collect_vars(a, &mut vars, l);
        let k = if vars.0.is_empty() { 1 } else { 5 };
        let mut ok = 0;
        let mut first = None;
        for p in numeric::points(vars.0.len(), k) {
            match (numeric::eval(g, &vars, &p), numeric::eval(a, &vars, &p)) {
                (Some(x), Some(y)) => {
                    if !close(x, y) {
                        if vars.0.is_empty() {
                            return self.tolerance_float(g, a, x, y);
                        }
                        return Err("not equal (differs at a random point)".into());
                    }
                    first.get_or_insert(x);
                    ok += 1;
                }
                (None, None) => {}
                _ => return Err("not equal (defined on one side only)".into()),
            }
        }
        if ok == 0 || (ok < 2 && !vars.0.is_empty()) {
            return Err("could not evaluate".into());
        }
        Ok(Method::Numeric)
    }

    /// Decimal-gold rounding and configured tolerance, with exact values.
    fn tolerance_exact(&self, g: &Node, a: &Node, gv: &BigRational, av: &BigRational) -> Eq {
        let diff = qadd(gv, &-av).abs();
        if let Some(tol) = self.opts.float_tolerance {
            if is_decimal(g) {
                let rel = diff.to_f64().unwrap_or(f64::INFINITY)
                    / gv.abs().to_f64().unwrap_or(0.0).max(f64::MIN_POSITIVE);
                if rel <= tol {
                    return Ok(Method::Tolerance);
                }
            }
        }
        if let Some(d) = rounding_places(g, a) {
            let half = BigRational::new(
                BigInt::from(1),
                BigInt::from(2) * num_traits::Pow::pow(BigInt::from(10), d),
            );
            if diff < half {
                return Ok(Method::Tolerance);
            }
        }
        Err("not equal".into())
    }

    fn tolerance_float(&self, g: &Node, a: &Node, x: numeric::C, y: numeric::C) -> Eq {
        let diff = (x.re - y.re).hypot(x.im - y.im);
        if let Some(tol) = self.opts.float_tolerance {
            if is_decimal(g) && diff <= tol * x.abs() {
                return Ok(Method::Tolerance);
            }
        }
        if let Some(d) = rounding_places(g, a) {
            if diff < 0.5 * 10f64.powi(-(d as i32)) * (1.0 - 1e-12) {
                return Ok(Method::Tolerance);
            }
        }
        Err("not equal".into())
    }
}

/// The gold's decimal places when the gold is a decimal approximation and the answer is
/// more precise than it (an exact form, or a decimal with more places).
fn rounding_places(g: &Node, a: &Node) -> Option<u32> {
    let d = decimal_places(g)?;
    match literal_kind(a) {
        Some(Lit::Dec(p)) if p <= d => None,
        Some(Lit::Int) => None,
        _ => Some(d),
    }
}

fn decimal_places(n: &Node) -> Option<u32> {
    match n {
        Node::Num(_, Lit::Dec(d)) => Some(*d),
        Node::Neg(x) => decimal_places(x),
        _ => None,
    }
}

fn is_decimal(n: &Node) -> bool {
    decimal_places(n).is_some()
}

fn literal_kind(n: &Node) -> Option<Lit> {
    match n {
        Node::Num(_, k) => Some(*k),
        Node::Neg(x) => literal_kind(x),
        _ => None,
    }
}

fn is_integer_literal(n: &Node) -> bool {
    literal_kind(n) == Some(Lit::Int)
}

/// A written number: literal with optional sign or percent.
fn is_literal(n: &Node) -> bool {
    match n {
        Node::Num(..) => true,
        Node::Neg(x) | Node::Percent(x) => is_literal(x),
        _ => false,
    }
}

fn flip(op: RelOp) -> RelOp {
    match op {
        RelOp::Lt => RelOp::Gt,
        RelOp::Gt => RelOp::Lt,
        RelOp::Le => RelOp::Ge,
        RelOp::Ge => RelOp::Le,
        o => o,
    }
}

/// `l op r` as (l - r, op) with > and ≥ turned into < and ≤.
fn difference(n: &Node) -> Option<(Node, RelOp)> {
    let Node::Rel(l, op, r) = n else { return None };
    let (l, r, op) = match op {
        RelOp::Gt => (r, l, RelOp::Lt),
        RelOp::Ge => (r, l, RelOp::Le),
        o => (l, r, *o),
    };
    Some((
        Node::Add(vec![
            l.as_ref().clone(),
            Node::Neg(Box::new(r.as_ref().clone())),
        ]),
        op,
    ))
}

/// Whether x = c·y for a constant c ≠ 0 (c > 0 when the sign matters).
fn proportional(x: &Rf, y: &Rf, n_vars: usize, sign_matters: bool, l: &Limits) -> Eq {
    if y.num.is_zero() || x.num.is_zero() {
        return if y.num.is_zero() && x.num.is_zero() {
            Ok(Method::Exact)
        } else {
            Err("relations differ".into())
        };
    }
    for p in 0..8i64 {
        let at: Vec<BigRational> = (0..n_vars as i64)
            .map(|i| {
                BigRational::new(
                    BigInt::from(3 + 7 * p + 11 * i * i + 5 * i),
                    BigInt::from(13),
                )
            })
            .collect();
        let (Some(xv), Some(yv)) = (x.eval(&at), y.eval(&at)) else {
            continue;
        };
        if yv.is_zero() {
            continue;
        }
        let c = qdiv(&xv, &yv);
        if c.is_zero() || (sign_matters && c.is_negative()) {
            return Err("relations differ".into());
        }
        let scaled = y
            .mul(&Rf::constant(c), l)
            .map_err(|_| "relation too large".to_string())?;
        return match x.same(&scaled, l) {
            Ok(true) => Ok(Method::Exact),
            Ok(false) => Err("relations differ".into()),
            Err(_) => Err("relation too large".into()),
        };
    }
    Err("could not compare the relations".into())
}

fn collect_vars(n: &Node, vars: &mut Vars, l: &Limits) {
    match n {
        Node::Sym(s) => {
            let _ = vars.id(s, l);
        }
        Node::Add(v) | Node::Mul(v) | Node::Tuple(v) | Node::Set(v) | Node::List(v) => {
            v.iter().for_each(|x| collect_vars(x, vars, l))
        }
        Node::Neg(x) | Node::Func(_, x) | Node::Fact(x) | Node::Abs(x) | Node::Percent(x) => {
            collect_vars(x, vars, l)
        }
        Node::Div(a, b)
        | Node::Pow(a, b)
        | Node::Log(a, b)
        | Node::Root(a, b)
        | Node::Binom(a, b)
        | Node::Pm(a, b) => {
            collect_vars(a, vars, l);
            collect_vars(b, vars, l);
        }
        _ => {}
    }
}

/// A 1×n or n×1 matrix as a vector.
fn vector(rows: &[Vec<Node>]) -> Option<Vec<Node>> {
    if rows.len() == 1 {
        return rows.first().cloned();
    }
    if rows.iter().all(|r| r.len() == 1) {
        return Some(rows.iter().filter_map(|r| r.first().cloned()).collect());
    }
    None
}

/// `x < 3`, `3 \ge x`, `-1 \le x < 2`, `x \in [a, b]` as an interval.
fn as_interval(n: &Node) -> Option<Node> {
    let inf = || Box::new(Node::Const(Const::Inf));
    let ninf = || Box::new(Node::Neg(Box::new(Node::Const(Const::Inf))));
    match n {
        Node::Rel(l, op, r) => {
            let (c, op) = match (l.as_ref(), r.as_ref()) {
                (Node::Sym(_), c) if !matches!(c, Node::Sym(_)) => (c, *op),
                (c, Node::Sym(_)) => (c, flip(*op)),
                _ => return None,
            };
            if matches!(c, Node::Interval(..) | Node::Union(_)) && op == RelOp::Eq {
                return Some(c.clone());
            }
            let c = Box::new(c.clone());
            Some(match op {
                RelOp::Lt => Node::Interval(false, ninf(), c, false),
                RelOp::Le => Node::Interval(false, ninf(), c, true),
                RelOp::Gt => Node::Interval(false, c, inf(), false),
                RelOp::Ge => Node::Interval(true, c, inf(), false),
                _ => return None,
            })
        }
        Node::Chain(xs, ops) if xs.len() == 3 && ops.len() == 2 => {
            let (lo, hi, o1, o2) = match (ops.first()?, ops.get(1)?) {
                (a @ (RelOp::Lt | RelOp::Le), b @ (RelOp::Lt | RelOp::Le)) => {
                    (xs.first()?, xs.get(2)?, *a, *b)
                }
                (a @ (RelOp::Gt | RelOp::Ge), b @ (RelOp::Gt | RelOp::Ge)) => {
                    (xs.get(2)?, xs.first()?, flip(*b), flip(*a))
                }
                _ => return None,
            };
            if !matches!(xs.get(1)?, Node::Sym(_)) {
                return None;
            }
            Some(Node::Interval(
                o1 == RelOp::Le,
                Box::new(lo.clone()),
                Box::new(hi.clone()),
                o2 == RelOp::Le,
            ))
        }
        _ => None,
    }
}
