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

/// Whether a node only names a quantity: `x`, `x_1`, `AB`, `f(x)`, `|AB|`, `(p, q)`,
/// `V_1:V_2`. Names hold symbols only, so `2x = 6` or `x + y = 5` are relations.
fn is_name(n: &Node) -> bool {
    match n {
        Node::Sym(_) => true,
        Node::Mul(v) | Node::Tuple(v) | Node::Ratio(v) => !v.is_empty() && v.iter().all(is_name),
        Node::Abs(x) => is_name(x),
        Node::Div(a, b) => is_name(a) && is_name(b),
        _ => false,
    }
}

/// A gold derivation `1 + 1 = 2` (a chain of equalities, trusted as the gold) against a
/// plain value: its last member. Answers get no such reading (`2+3 = 5` is no value).
fn gold_conclusion(g: &Node, a: &Node) -> Option<Node> {
    let Node::Chain(xs, ops) = g else { return None };
    let plain = !is_relation(a) && !is_collection(a);
    (plain && ops.iter().all(|o| *o == RelOp::Eq)).then(|| xs.last().cloned())?
}

/// `x = 5+5+1 = 11` read as its conclusion `x = 11`: the last member of a chain of
/// equalities that starts with a name is what it commits to.
fn conclusion(n: &Node) -> Option<Node> {
    let Node::Chain(xs, ops) = n else { return None };
    if !ops.iter().all(|o| *o == RelOp::Eq) {
        return None;
    }
    let (first, last) = (xs.first()?, xs.last()?);
    // Only a chain that names what it computes; `2+3 = 5` stays a relation, not a value.
    is_name(first).then(|| Node::Rel(Box::new(first.clone()), RelOp::Eq, Box::new(last.clone())))
}

/// `x = 5`, `(p, q) = (3, 2)`, `f(x) = 1`, `|AB| = 1` style answers: the value on the right
/// of a left side that only names what is asked.
fn named_value(n: &Node) -> Option<&Node> {
    match n {
        Node::Rel(l, RelOp::Eq, r) if is_name(l) && !is_name(r) => Some(r),
        _ => None,
    }
}

/// `p = 5, q = 2` as (name, value) pairs in written order; None unless every item assigns
/// a distinct name.
fn assignments(n: &Node) -> Option<Vec<(&Node, &Node)>> {
    let Node::List(items) = n else { return None };
    let mut out: Vec<(&Node, &Node)> = Vec::with_capacity(items.len());
    for it in items {
        let Node::Rel(l, RelOp::Eq, r) = it else {
            return None;
        };
        if !is_name(l) || out.iter().any(|(name, _)| *name == l.as_ref()) {
            return None;
        }
        out.push((l, r));
    }
    Some(out)
}

/// Assignment lists read as plain values: `p=5, q=2` is the tuple (5, 2), and the
/// solution list `p=5, q=2; p=7, q=2` is the list of tuples (5, 2), (7, 2).
fn plain_values(n: &Node) -> Option<Node> {
    let tuple = |n: &Node| {
        assignments(n).map(|a| Node::Tuple(a.into_iter().map(|(_, v)| v.clone()).collect()))
    };
    if let Some(t) = tuple(n) {
        return Some(t);
    }
    let Node::List(groups) = n else { return None };
    groups
        .iter()
        .map(tuple)
        .collect::<Option<Vec<Node>>>()
        .map(Node::List)
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
        // An exact value followed by its approximation is graded on the exact value, once
        // the approximation is seen to agree with it.
        if let Node::Approx(exact, approx) = a {
            self.approximation_agrees(exact, approx)?;
            return self.value(g, exact);
        }
        if let Node::Approx(exact, _) = g {
            return self.value(exact, a);
        }
        if let Some(c) = conclusion(a) {
            return self.value(g, &c);
        }
        if let Some(c) = conclusion(g).or_else(|| gold_conclusion(g, a)) {
            return self.value(&c, a);
        }
        // Assignments: by name when both sides name the same quantities, else as values.
        if let (Some(ga), Some(aa)) = (assignments(g), assignments(a)) {
            if ga.len() != aa.len() {
                return Err(format!(
                    "{} items where the gold has {}",
                    aa.len(),
                    ga.len()
                ));
            }
            let mut m = Method::Exact;
            for (name, gv) in &ga {
                let Some((_, av)) = aa.iter().find(|(n, _)| n == name) else {
                    return Err("the answer names other quantities".into());
                };
                m = combine(m, self.value(gv, av)?);
            }
            return Ok(m);
        }
        if let Some(gp) = plain_values(g) {
            return self.value(&gp, a);
        }
        if let Some(ap) = plain_values(a) {
            return self.value(g, &ap);
        }
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
            (Node::Parts(gs), Node::List(xs) | Node::Tuple(xs) | Node::Set(xs)) => {
                self.ordered(gs, xs)
            }
            (Node::Parts(gs), _) => Err(format!("the gold has {} parts", gs.len())),
            // The percent rule: `p\%` against a plain number is the number p (the sign is a
            // unit, as MATH writes "what percent" golds as 28), never p/100: one reading, so
            // `13\%` matches 13 but not 0.13, and `1300\%` does not match 13.
            (Node::Percent(x), b) if !matches!(b, Node::Percent(_)) => self.value(x, b),
            (x, Node::Percent(y)) if !matches!(x, Node::Percent(_)) => self.value(x, y),
            (Node::Ratio(gs), Node::Ratio(xs)) => self.ratio(gs, xs),
            (Node::Ratio(gs), x) if gs.len() == 2 && !is_collection(x) && !is_relation(x) => {
                let q = quotient(gs);
                self.value(&q, x)
            }
            (x, Node::Ratio(xs)) if xs.len() == 2 && !is_collection(x) && !is_relation(x) => {
                let q = quotient(xs);
                self.value(x, &q)
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
            (Node::Rel(..), Node::Rel(..)) => self
                .relation(g, a)
                .or_else(|e| self.as_intervals(g, a).unwrap_or(Err(e))),
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
            // `x \in [-2, 7]` and `-2 \le x \le 7` state the same interval.
            (x, y) if is_relation(x) && is_relation(y) => self
                .as_intervals(g, a)
                .unwrap_or_else(|| Err("relations differ".into())),
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

    /// Both relations read as intervals, when both can be.
    fn as_intervals(&mut self, g: &Node, a: &Node) -> Option<Eq> {
        let (gi, ai) = (as_interval(g)?, as_interval(a)?);
        Some(self.value(&gi, &ai))
    }

    /// Ratios with as many parts, equal up to a common positive factor (2:4 is 1:2).
    fn ratio(&mut self, gs: &[Node], xs: &[Node]) -> Eq {
        if gs.len() != xs.len() {
            return Err("ratios have different numbers of parts".into());
        }
        let (Some(g0), Some(x0)) = (gs.first(), xs.first()) else {
            return Err("empty ratio".into());
        };
        let zero = |n: &Node| matches!(n, Node::Num(v, _) if v.is_zero());
        if gs.iter().chain(xs).any(zero) {
            // A zero part (`12:00`) is no ratio to scale: compare the parts as written.
            return self.ordered(gs, xs);
        }
        let mut m = Method::Exact;
        for (g, x) in gs.iter().zip(xs).skip(1) {
            let gq = Node::Div(Box::new(g.clone()), Box::new(g0.clone()));
            let xq = Node::Div(Box::new(x.clone()), Box::new(x0.clone()));
            m = combine(m, self.scalar(&gq, &xq)?);
        }
        Ok(m)
    }

    /// Whether `exact \approx d` is consistent: d a decimal within one unit of its last
    /// place of the exact value (rounded or truncated). An answer that only approximates
    /// is graded on its exact part, so the approximation may not be anything at all.
    fn approximation_agrees(&mut self, exact: &Node, approx: &Node) -> Result<(), String> {
        let value = match exact {
            Node::Rel(_, RelOp::Eq, r) => r.as_ref(),
            other => other,
        };
        let places = match literal_kind(approx) {
            Some(Lit::Dec(p)) => p as i32,
            Some(Lit::Int) => 0,
            _ => return Err("an approximation that is not a decimal".into()),
        };
        let vars = Vars::default();
        let (Some(x), Some(d)) = (
            numeric::eval(value, &vars, &[]),
            numeric::eval(approx, &vars, &[]),
        ) else {
            return Err("could not check the approximation".into());
        };
        if (x.re - d.re).abs() <= 10f64.powi(-places) && x.im.abs() < 1e-12 {
            Ok(())
        } else {
            Err("the approximation disagrees with the exact value".into())
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
        // The same solution written twice is still that solution, when the gold lists
        // distinct items (a gold that repeats an item asks for the repeat).
        let distinct = |v: &[Node]| v.iter().enumerate().all(|(i, x)| !v[..i].contains(x));
        let deduped: Vec<Node>;
        let xs = if xs.len() > gs.len() && distinct(gs) && !distinct(xs) {
            deduped = xs
                .iter()
                .enumerate()
                .filter(|(i, x)| !xs[..*i].contains(x))
                .map(|(_, x)| x.clone())
                .collect();
            &deduped
        } else {
            xs
        };
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
        // Double precision separates two values only down to its tolerance. An exact
        // fraction with a large denominator can sit that close to an irrational value
        // (47321/33461 to sqrt 2), and so can anything built from long literals.
        for (r, other) in [(&rg, &ra), (&ra, &rg)] {
            if let (Ok(x), Err(RfError::NotRational)) = (r, other) {
                if x.as_constant()
                    .is_some_and(|c| c.denom() > &BigInt::from(1000))
                {
                    return Err("an exact fraction where the other side is irrational".into());
                }
            }
        }
        let mut budget = 2000;
        if !coarse_rationals(g, l, &mut budget) || !coarse_rationals(a, l, &mut budget) {
            return Err("not decidable in double precision (long exact numbers)".into());
        }
        let mut vars = Vars::default();
        collect_vars(g, &mut vars, l);
        collect_vars(a, &mut vars, l);
        let k = if vars.0.is_empty() { 1 } else { 6 };
        let mut ok = 0;
        for p in numeric::points(vars.0.len(), k) {
            match (numeric::eval(g, &vars, &p), numeric::eval(a, &vars, &p)) {
                (Some(x), Some(y)) => {
                    let exact_enough = numeric::eval_checked(g, &vars, &p).is_some()
                        && numeric::eval_checked(a, &vars, &p).is_some();
                    if !close_tight(x, y) {
                        if vars.0.is_empty() {
                            return self.tolerance_float(g, a, x, y);
                        }
                        return Err("not equal (differs at a random point)".into());
                    }
                    // Agreement is only evidence where a small perturbation would show.
                    if exact_enough {
                        ok += 1;
                    }
                }
                (None, None) => {}
                _ => return Err("not equal (defined on one side only)".into()),
            }
        }
        if ok == 0 || (ok < 2 && !vars.0.is_empty()) {
            return Err("could not decide (values too small or cancelling)".into());
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

/// Agreement to a relative 1e-11: looser than double rounding of short expressions, tighter
/// than any fraction with five-digit terms gets to an irrational value (about 1/(√5 q²)).
fn close_tight(a: numeric::C, b: numeric::C) -> bool {
    let d = (a.re - b.re).hypot(a.im - b.im);
    d <= 1e-11 * a.abs().max(b.abs()) + 1e-13
}

/// Most significant digits in a numerator or denominator of an exact fraction met on the
/// numeric path (integers may have more: a multiple of an irrational moves by whole steps).
const MAX_FRACTION_DIGITS: usize = 5;
const MAX_INTEGER_DIGITS: usize = 12;

fn significant_digits(n: &BigInt) -> usize {
    let s = n.magnitude().to_string();
    s.trim_end_matches('0').len()
}

/// Whether every exact number inside `n` (each largest sub-expression that is rational) is
/// short enough for double precision to tell it apart from a nearby value.
fn coarse_rationals(n: &Node, l: &Limits, budget: &mut usize) -> bool {
    if *budget == 0 {
        return false;
    }
    *budget -= 1;
    if let Ok(Some(c)) = to_rf(n, &mut Vars::default(), l).map(|r| r.as_constant()) {
        return if c.is_integer() {
            significant_digits(c.numer()) <= MAX_INTEGER_DIGITS
        } else {
            significant_digits(c.numer()) <= MAX_FRACTION_DIGITS
                && significant_digits(c.denom()) <= MAX_FRACTION_DIGITS
        };
    }
    match n {
        Node::Add(v) | Node::Mul(v) => v.iter().all(|x| coarse_rationals(x, l, budget)),
        Node::Neg(x) | Node::Func(_, x) | Node::Fact(x) | Node::Abs(x) | Node::Percent(x) => {
            coarse_rationals(x, l, budget)
        }
        Node::Div(a, b)
        | Node::Pow(a, b)
        | Node::Log(a, b)
        | Node::Root(a, b)
        | Node::Binom(a, b)
        | Node::Pm(a, b) => coarse_rationals(a, l, budget) && coarse_rationals(b, l, budget),
        _ => true,
    }
}

fn quotient(parts: &[Node]) -> Node {
    let part = |i: usize| {
        parts
            .get(i)
            .cloned()
            .unwrap_or(Node::Num(BigRational::zero(), Lit::Int))
    };
    Node::Div(Box::new(part(0)), Box::new(part(1)))
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
            // `|x| < 3` is no interval of values of |x|: it bounds x on both sides.
            if matches!(l.as_ref(), Node::Abs(_)) || matches!(r.as_ref(), Node::Abs(_)) {
                return None;
            }
            let (c, op) = match (l.as_ref(), r.as_ref()) {
                (name, c) if is_name(name) && !is_name(c) => (c, *op),
                (c, name) if is_name(name) => (c, flip(*op)),
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
            let (lc, hc) = (o1 == RelOp::Le, o2 == RelOp::Le);
            let middle = xs.get(1)?;
            if !is_name(middle) {
                return None;
            }
            if matches!(middle, Node::Abs(_)) {
                // a ≤ |z| ≤ b with a > 0 puts z in [-b, -a] ∪ [a, b].
                let a = numeric::eval(lo, &Vars::default(), &[])?;
                if a.im != 0.0 || a.re <= 0.0 {
                    return None;
                }
                let neg = |n: &Node| Box::new(Node::Neg(Box::new(n.clone())));
                return Some(Node::Union(vec![
                    Node::Interval(hc, neg(hi), neg(lo), lc),
                    Node::Interval(lc, Box::new(lo.clone()), Box::new(hi.clone()), hc),
                ]));
            }
            Some(Node::Interval(
                lc,
                Box::new(lo.clone()),
                Box::new(hi.clone()),
                hc,
            ))
        }
        _ => None,
    }
}
