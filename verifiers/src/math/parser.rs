//! Recursive-descent parser from tokens to an answer tree (numbers, expressions, relations,
//! sets, tuples, intervals, matrices, answer lists), in the spirit of latex2sympy's grammar.
//!
//! Recursion depth and token count are bounded before any evaluation happens.

use super::lexer::{Const, Env, Func, RelOp, Tok};
use super::Limits;
use num_bigint::BigInt;
use num_rational::BigRational;
use num_traits::{One, Pow, Zero};

/// How a number literal was written (decides strictness and float tolerance).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lit {
    Int,
    /// A decimal with this many fractional digits.
    Dec(u32),
    /// Scientific notation (`1.5e-3`).
    Sci,
}

/// A parsed answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    Num(BigRational, Lit),
    Sym(String),
    Const(Const),
    Add(Vec<Node>),
    Neg(Box<Node>),
    Mul(Vec<Node>),
    Div(Box<Node>, Box<Node>),
    Pow(Box<Node>, Box<Node>),
    Func(Func, Box<Node>),
    /// Logarithm with an explicit base: (base, argument).
    Log(Box<Node>, Box<Node>),
    /// n-th root: (index, radicand).
    Root(Box<Node>, Box<Node>),
    Fact(Box<Node>),
    Binom(Box<Node>, Box<Node>),
    Abs(Box<Node>),
    Percent(Box<Node>),
    /// `a ± b` (unary `±b` is `0 ± b`).
    Pm(Box<Node>, Box<Node>),
    Tuple(Vec<Node>),
    Set(Vec<Node>),
    /// Items separated by commas / "or" / "and" without brackets.
    List(Vec<Node>),
    /// (left closed, low, high, right closed).
    Interval(bool, Box<Node>, Box<Node>, bool),
    Union(Vec<Node>),
    Matrix(Vec<Vec<Node>>),
    Rel(Box<Node>, RelOp, Box<Node>),
    /// `a < x < b`: operands and the operators between them.
    Chain(Vec<Node>, Vec<RelOp>),
    /// `a : b : …`, a ratio of two or more quantities.
    Ratio(Vec<Node>),
    /// `exact \approx decimal`: a value followed by its approximation.
    Approx(Box<Node>, Box<Node>),
    /// The parts of a gold written in several boxes: every part is required, in order.
    Parts(Vec<Node>),
}

/// Why an answer did not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError(pub String);

type R = Result<Node, ParseError>;

fn err<T>(msg: impl Into<String>) -> Result<T, ParseError> {
    Err(ParseError(msg.into()))
}

/// Parses a whole token stream into one answer tree.
pub fn parse(toks: Vec<Tok>, limits: &Limits) -> R {
    if toks.is_empty() {
        return err("empty answer");
    }
    let mut p = Parser {
        toks,
        pos: 0,
        depth: 0,
        limits,
        abs_depth: 0,
    };
    let n = p.top()?;
    if p.pos < p.toks.len() {
        return err(format!("unexpected {:?}", p.toks.get(p.pos)));
    }
    Ok(n)
}

struct Parser<'l> {
    toks: Vec<Tok>,
    pos: usize,
    depth: usize,
    limits: &'l Limits,
    /// Open `|…|` bars: inside one, a `|` closes rather than opens.
    abs_depth: usize,
}

/// Converts a literal to an exact rational, refusing absurd exponents.
pub fn literal(int: &str, frac: &str, exp: i32, limits: &Limits) -> Result<Node, ParseError> {
    if int.len() + frac.len() > limits.max_digits || exp.unsigned_abs() as usize > limits.max_digits
    {
        return err("number literal too long");
    }
    let digits = format!("{int}{frac}");
    let m: BigInt = if digits.is_empty() {
        BigInt::zero()
    } else {
        digits
            .parse()
            .map_err(|_| ParseError("bad number".into()))?
    };
    let scale = exp - frac.len() as i32;
    let ten = BigInt::from(10u32);
    let v = if scale >= 0 {
        BigRational::from_integer(m * Pow::pow(&ten, scale.unsigned_abs()))
    } else {
        BigRational::new(m, Pow::pow(&ten, scale.unsigned_abs()))
    };
    let lit = if exp != 0 {
        Lit::Sci
    } else if frac.is_empty() {
        Lit::Int
    } else {
        Lit::Dec(frac.len() as u32)
    };
    Ok(Node::Num(v, lit))
}

fn int(n: i64) -> Node {
    Node::Num(BigRational::from_integer(BigInt::from(n)), Lit::Int)
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    fn eat(&mut self, t: &Tok) -> bool {
        if self.peek() == Some(t) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, t: &Tok) -> Result<(), ParseError> {
        if self.eat(t) {
            Ok(())
        } else {
            err(format!("expected {t:?}, found {:?}", self.peek()))
        }
    }

    fn enter(&mut self) -> Result<(), ParseError> {
        self.depth += 1;
        if self.depth > self.limits.max_depth {
            return err("nesting too deep");
        }
        Ok(())
    }

    /// Items separated by commas or "or"/"and"; semicolons separate groups of such items
    /// (`p=5, q=2; p=7, q=2` is two solutions of two assignments each).
    fn top(&mut self) -> R {
        let mut groups = vec![self.items()?];
        while self.eat(&Tok::Semicolon) {
            while self.eat(&Tok::Semicolon) {}
            if self.at_closer() {
                break;
            }
            groups.push(self.items()?);
        }
        Ok(if groups.len() == 1 {
            groups.pop().unwrap_or_else(|| int(0))
        } else {
            Node::List(groups)
        })
    }

    fn items(&mut self) -> R {
        let mut items = vec![self.rel()?];
        while matches!(self.peek(), Some(Tok::Comma | Tok::Or)) {
            self.pos += 1;
            while matches!(self.peek(), Some(Tok::Comma | Tok::Or)) {
                self.pos += 1;
            }
            if self.at_closer() || self.peek() == Some(&Tok::Semicolon) {
                break;
            }
            items.push(self.rel()?);
        }
        Ok(if items.len() == 1 {
            items.pop().unwrap_or_else(|| int(0))
        } else {
            Node::List(items)
        })
    }

    fn at_closer(&self) -> bool {
        matches!(
            self.peek(),
            None | Some(
                Tok::RParen
                    | Tok::RBrack
                    | Tok::RBrace
                    | Tok::RSet
                    | Tok::End
                    | Tok::Amp
                    | Tok::RowSep
            )
        )
    }

    /// A relation chain, possibly ending in `\approx d`: the approximation is kept apart
    /// so that the exact value before it is what gets graded.
    fn rel(&mut self) -> R {
        let exact = self.rel_chain()?;
        if !self.eat(&Tok::Approx) {
            return Ok(exact);
        }
        let approx = self.ratio()?;
        if matches!(self.peek(), Some(Tok::Rel(_) | Tok::In | Tok::Approx)) {
            return err("a relation after an approximation");
        }
        Ok(Node::Approx(Box::new(exact), Box::new(approx)))
    }

    fn rel_chain(&mut self) -> R {
        let first = self.ratio()?;
        let mut operands = vec![first];
        let mut ops = Vec::new();
        loop {
            let op = match self.peek() {
                Some(Tok::Rel(op)) => *op,
                Some(Tok::In) => RelOp::Eq,
                _ => break,
            };
            self.pos += 1;
            ops.push(op);
            operands.push(self.ratio()?);
        }
        match ops.len() {
            0 => Ok(operands.pop().unwrap_or_else(|| int(0))),
            1 => {
                let b = operands.pop().unwrap_or_else(|| int(0));
                let a = operands.pop().unwrap_or_else(|| int(0));
                Ok(Node::Rel(Box::new(a), ops[0], Box::new(b)))
            }
            _ => Ok(Node::Chain(operands, ops)),
        }
    }

    fn ratio(&mut self) -> R {
        let first = self.union()?;
        if self.peek() != Some(&Tok::Colon) {
            return Ok(first);
        }
        let mut parts = vec![first];
        while self.eat(&Tok::Colon) {
            parts.push(self.union()?);
        }
        Ok(Node::Ratio(parts))
    }

    fn union(&mut self) -> R {
        let first = self.sum()?;
        if self.peek() != Some(&Tok::Cup) {
            return Ok(first);
        }
        let mut parts = vec![first];
        while self.eat(&Tok::Cup) {
            parts.push(self.sum()?);
        }
        Ok(Node::Union(parts))
    }

    fn sum(&mut self) -> R {
        let saved = self.depth;
        let r = self.sum_inner();
        self.depth = saved;
        r
    }

    fn sum_inner(&mut self) -> R {
        let mut terms = vec![self.unary_term()?];
        loop {
            match self.peek() {
                Some(Tok::Plus) => {
                    self.pos += 1;
                    terms.push(self.term()?);
                }
                Some(Tok::Minus) => {
                    self.pos += 1;
                    terms.push(Node::Neg(Box::new(self.term()?)));
                }
                Some(Tok::Pm) => {
                    self.pos += 1;
                    self.enter()?;
                    let rhs = self.term()?;
                    let lhs = collapse_add(std::mem::take(&mut terms));
                    terms.push(Node::Pm(Box::new(lhs), Box::new(rhs)));
                }
                _ => break,
            }
        }
        Ok(collapse_add(terms))
    }

    /// A term that may start with a sign.
    fn unary_term(&mut self) -> R {
        match self.peek() {
            Some(Tok::Minus) => {
                self.pos += 1;
                Ok(Node::Neg(Box::new(self.unary_term_inner()?)))
            }
            Some(Tok::Plus) => {
                self.pos += 1;
                self.unary_term_inner()
            }
            Some(Tok::Pm) => {
                self.pos += 1;
                Ok(Node::Pm(
                    Box::new(int(0)),
                    Box::new(self.unary_term_inner()?),
                ))
            }
            _ => self.term(),
        }
    }

    fn unary_term_inner(&mut self) -> R {
        self.enter()?;
        let r = self.unary_term();
        self.depth -= 1;
        r
    }

    fn starts_atom(&self) -> bool {
        if self.abs_depth == 0 && self.peek() == Some(&Tok::Bar) {
            return true;
        }
        matches!(
            self.peek(),
            Some(
                Tok::Num { .. }
                    | Tok::Ident(_)
                    | Tok::Const(_)
                    | Tok::Func(_)
                    | Tok::Frac
                    | Tok::Sqrt
                    | Tok::Binom
                    | Tok::LParen
                    | Tok::LBrace
                    | Tok::Begin(_)
            )
        )
    }

    fn term(&mut self) -> R {
        let saved = self.depth;
        let r = self.term_inner();
        self.depth = saved;
        r
    }

    /// Left-associative chains (`a/b/c`) nest the tree without recursing, so each link
    /// counts against the depth limit too.
    fn term_inner(&mut self) -> R {
        let mut acc = self.unary()?;
        loop {
            match self.peek() {
                Some(Tok::Star) => {
                    self.pos += 1;
                    let f = self.unary()?;
                    acc = mul(acc, f);
                }
                Some(Tok::Slash) => {
                    self.pos += 1;
                    self.enter()?;
                    let d = self.unary()?;
                    acc = Node::Div(Box::new(acc), Box::new(d));
                }
                Some(Tok::Num { .. }) => {
                    // "4 2", "x2", "\frac{1}{2}1": a number never multiplies implicitly
                    // from the right.
                    return err("a number after a factor");
                }
                Some(Tok::Frac) if matches!(acc, Node::Num(_, Lit::Int)) => {
                    let f = self.power()?;
                    acc = mixed_number(acc, f);
                }
                _ if self.starts_atom() => {
                    let f = self.power()?;
                    acc = mul(acc, f);
                }
                _ => break,
            }
        }
        Ok(acc)
    }

    fn unary(&mut self) -> R {
        self.enter()?;
        let r = match self.peek() {
            Some(Tok::Minus) => {
                self.pos += 1;
                self.unary().map(|n| Node::Neg(Box::new(n)))
            }
            Some(Tok::Plus) => {
                self.pos += 1;
                self.unary()
            }
            _ => self.power(),
        };
        self.depth -= 1;
        r
    }

    fn power(&mut self) -> R {
        let base = self.postfix()?;
        if !self.eat(&Tok::Caret) {
            return Ok(base);
        }
        let exp = self.exponent()?;
        self.postfix_ops(Node::Pow(Box::new(base), Box::new(exp)))
    }

    fn exponent(&mut self) -> R {
        if self.peek() == Some(&Tok::LBrace) {
            self.group_arg()
        } else {
            self.unary()
        }
    }

    fn postfix(&mut self) -> R {
        let a = self.atom()?;
        self.postfix_ops(a)
    }

    fn postfix_ops(&mut self, mut a: Node) -> R {
        let saved = self.depth;
        loop {
            if self.depth > saved + 16 {
                self.depth = saved;
                return err("too many postfix operators");
            }
            match self.peek() {
                Some(Tok::Bang) => {
                    self.pos += 1;
                    self.depth += 1;
                    a = Node::Fact(Box::new(a));
                }
                Some(Tok::Percent) => {
                    self.pos += 1;
                    self.depth += 1;
                    a = Node::Percent(Box::new(a));
                }
                _ => {
                    self.depth = saved;
                    return Ok(a);
                }
            }
        }
    }

    /// `{…}` argument.
    fn group_arg(&mut self) -> R {
        self.expect(&Tok::LBrace)?;
        if self.eat(&Tok::RBrace) {
            return err("empty group");
        }
        let n = self.top()?;
        self.expect(&Tok::RBrace)?;
        Ok(n)
    }

    /// A LaTeX macro argument: `{…}`, one digit of a number (`\frac12`), or one atom.
    fn arg(&mut self) -> R {
        match self.peek().cloned() {
            Some(Tok::LBrace) => self.group_arg(),
            Some(Tok::Num { int, frac, exp }) if int.len() > 1 => {
                let (first, rest) = int.split_at(1);
                let first_node = literal(first, "", 0, self.limits)?;
                if let Some(slot) = self.toks.get_mut(self.pos) {
                    *slot = Tok::Num {
                        int: rest.to_string(),
                        frac,
                        exp,
                    };
                }
                Ok(first_node)
            }
            _ => self.atom(),
        }
    }

    fn atom(&mut self) -> R {
        self.enter()?;
        let r = self.atom_inner();
        self.depth -= 1;
        r
    }

    fn atom_inner(&mut self) -> R {
        let Some(t) = self.peek().cloned() else {
            return err("unexpected end");
        };
        self.pos += 1;
        match t {
            Tok::Num { int, frac, exp } => literal(&int, &frac, exp, self.limits),
            Tok::Ident(name) => {
                let mut name = name;
                if self.eat(&Tok::Underscore) {
                    name.push('_');
                    name.push_str(&self.subscript()?);
                }
                Ok(Node::Sym(name))
            }
            Tok::Const(c) => Ok(Node::Const(c)),
            Tok::Func(f) => self.function(f),
            Tok::Frac => {
                let a = self.arg()?;
                let b = self.arg()?;
                Ok(Node::Div(Box::new(a), Box::new(b)))
            }
            Tok::Sqrt => {
                let index = if self.eat(&Tok::LBrack) {
                    let i = self.top()?;
                    self.expect(&Tok::RBrack)?;
                    i
                } else {
                    int(2)
                };
                let x = self.arg()?;
                Ok(Node::Root(Box::new(index), Box::new(x)))
            }
            Tok::Binom => {
                let a = self.arg()?;
                let b = self.arg()?;
                Ok(Node::Binom(Box::new(a), Box::new(b)))
            }
            Tok::LBrace => {
                if self.eat(&Tok::RBrace) {
                    return Ok(Node::Set(Vec::new()));
                }
                // Plain braces group in LaTeX: `{1,3}` is the list 1, 3 (a set only with `\{`).
                let n = self.top()?;
                self.expect(&Tok::RBrace)?;
                Ok(n)
            }
            Tok::LSet => {
                if self.eat(&Tok::RSet) {
                    return Ok(Node::Set(Vec::new()));
                }
                let n = self.top()?;
                self.expect(&Tok::RSet)?;
                Ok(match n {
                    Node::List(items) => Node::Set(items),
                    other => Node::Set(vec![other]),
                })
            }
            Tok::LParen | Tok::LBrack => self.bracketed(t == Tok::LBrack),
            Tok::Bar => {
                self.abs_depth += 1;
                let inner = self.sum();
                self.abs_depth -= 1;
                let inner = inner?;
                self.expect(&Tok::Bar)?;
                Ok(Node::Abs(Box::new(inner)))
            }
            Tok::Begin(Env::Matrix) => self.matrix(),
            other => err(format!("unexpected {other:?}")),
        }
    }

    fn subscript(&mut self) -> Result<String, ParseError> {
        let Some(t) = self.peek().cloned() else {
            return err("missing subscript");
        };
        self.pos += 1;
        let mut out = String::new();
        let mut push = |t: &Tok| match t {
            Tok::Num { int, frac, .. } => {
                out.push_str(int);
                out.push_str(frac);
            }
            Tok::Ident(s) => out.push_str(s),
            Tok::Const(Const::E) => out.push('e'),
            Tok::Const(Const::I) => out.push('i'),
            other => out.push_str(&format!("{other:?}")),
        };
        if t == Tok::LBrace {
            let mut n = 0;
            while let Some(t) = self.peek().cloned() {
                self.pos += 1;
                if t == Tok::RBrace {
                    return Ok(out);
                }
                n += 1;
                if n > 16 {
                    return err("subscript too long");
                }
                push(&t);
            }
            return err("unclosed subscript");
        }
        if let Tok::Num { int, .. } = &t {
            // `x_12` is x_1 times 2 in LaTeX, but answers mean x_12.
            out.push_str(int);
            return Ok(out);
        }
        push(&t);
        Ok(out)
    }

    fn function(&mut self, f: Func) -> R {
        let mut power = None;
        let mut base = None;
        for _ in 0..2 {
            if self.eat(&Tok::Caret) {
                power = Some(self.exponent()?);
            } else if f == Func::Log && self.eat(&Tok::Underscore) {
                base = Some(self.arg()?);
            }
        }
        let a = match self.peek() {
            Some(Tok::LParen | Tok::LBrace) => self.atom()?,
            _ => self.power()?,
        };
        let mut n = match base {
            Some(b) => Node::Log(Box::new(b), Box::new(a)),
            None => Node::Func(f, Box::new(a)),
        };
        if let Some(p) = power {
            // `\sin^{-1} x` is arcsin; other powers apply to the value.
            n = match (&n, &p) {
                (Node::Func(g, x), Node::Neg(one)) if is_one(one) => {
                    let inv = match g {
                        Func::Sin => Some(Func::Asin),
                        Func::Cos => Some(Func::Acos),
                        Func::Tan => Some(Func::Atan),
                        _ => None,
                    };
                    match inv {
                        Some(i) => Node::Func(i, x.clone()),
                        None => Node::Pow(Box::new(n), Box::new(p)),
                    }
                }
                _ => Node::Pow(Box::new(n), Box::new(p)),
            };
        }
        Ok(n)
    }

    /// `( … )` or `[ … ]`: grouping, tuple or interval depending on contents and ends.
    fn bracketed(&mut self, open_closed: bool) -> R {
        let mut items = Vec::new();
        loop {
            if matches!(self.peek(), Some(Tok::RParen | Tok::RBrack)) {
                break;
            }
            items.push(self.rel()?);
            if !self.eat(&Tok::Comma) && !self.eat(&Tok::Semicolon) {
                break;
            }
        }
        let close_closed = match self.peek() {
            Some(Tok::RBrack) => true,
            Some(Tok::RParen) => false,
            other => return err(format!("expected a closing bracket, found {other:?}")),
        };
        self.pos += 1;
        match items.len() {
            0 => err("empty brackets"),
            1 if open_closed == close_closed => Ok(items.pop().unwrap_or_else(|| int(0))),
            2 if open_closed || close_closed => {
                let hi = items.pop().unwrap_or_else(|| int(0));
                let lo = items.pop().unwrap_or_else(|| int(0));
                Ok(Node::Interval(
                    open_closed,
                    Box::new(lo),
                    Box::new(hi),
                    close_closed,
                ))
            }
            _ if open_closed == close_closed => Ok(Node::Tuple(items)),
            _ => err("mismatched brackets"),
        }
    }

    fn matrix(&mut self) -> R {
        let mut rows: Vec<Vec<Node>> = Vec::new();
        let mut row = Vec::new();
        loop {
            match self.peek() {
                Some(Tok::End) => {
                    self.pos += 1;
                    if !row.is_empty() {
                        rows.push(row);
                    }
                    break;
                }
                None => return err("unclosed matrix"),
                _ => {}
            }
            row.push(self.rel()?);
            match self.peek() {
                Some(Tok::Amp) => self.pos += 1,
                Some(Tok::RowSep) => {
                    self.pos += 1;
                    rows.push(std::mem::take(&mut row));
                }
                Some(Tok::End) => {}
                other => return err(format!("unexpected {other:?} in matrix")),
            }
        }
        let width = rows.first().map_or(0, Vec::len);
        if width == 0 || rows.iter().any(|r| r.len() != width) {
            return err("matrix rows differ in length");
        }
        Ok(Node::Matrix(rows))
    }
}

fn is_one(n: &Node) -> bool {
    matches!(n, Node::Num(v, _) if v.is_one())
}

/// `2\frac{1}{2}` is the mixed number 5/2 when the fraction is a proper numeric one.
fn mixed_number(whole: Node, frac: Node) -> Node {
    if let (Node::Num(w, _), Node::Div(a, b)) = (&whole, &frac) {
        if let (Node::Num(p, Lit::Int), Node::Num(q, Lit::Int)) = (a.as_ref(), b.as_ref()) {
            if !q.is_zero() && p < q && !p.is_zero() {
                return Node::Num(w + p / q, Lit::Int);
            }
        }
    }
    mul(whole, frac)
}

fn mul(a: Node, b: Node) -> Node {
    match a {
        Node::Mul(mut v) => {
            v.push(b);
            Node::Mul(v)
        }
        a => Node::Mul(vec![a, b]),
    }
}

fn collapse_add(mut terms: Vec<Node>) -> Node {
    if terms.len() == 1 {
        terms.pop().unwrap_or_else(|| int(0))
    } else {
        Node::Add(terms)
    }
}

#[cfg(test)]
mod tests {
    use super::super::lexer::lex;
    use super::*;

    fn p(s: &str) -> Node {
        let l = Limits::default();
        parse(lex(s, &l).unwrap(), &l).unwrap()
    }

    #[test]
    fn shapes() {
        assert!(matches!(p("(1, 2)"), Node::Tuple(_)));
        assert!(matches!(p("[1, 2)"), Node::Interval(true, _, _, false)));
        assert!(matches!(p("\\{1, 2\\}"), Node::Set(_)));
        assert!(matches!(p("1, 2"), Node::List(_)));
        assert!(matches!(p("x \\le 5"), Node::Rel(_, RelOp::Le, _)));
        assert!(matches!(p("1 < x < 2"), Node::Chain(_, _)));
        assert!(matches!(
            p("\\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix}"),
            Node::Matrix(_)
        ));
        assert!(matches!(p("\\frac12"), Node::Div(_, _)));
        assert!(matches!(
            p("(-\\infty, 2] \\cup [3, \\infty)"),
            Node::Union(_)
        ));
    }

    #[test]
    fn rejects_garbage_and_deep_nesting() {
        let l = Limits::default();
        assert!(parse(lex("4 2", &l).unwrap(), &l).is_err());
        assert!(parse(lex("(1", &l).unwrap(), &l).is_err());
        let deep = format!("{}1{}", "(".repeat(500), ")".repeat(500));
        assert!(parse(lex(&deep, &l).unwrap(), &l).is_err());
        let neg = "-".repeat(900) + "1";
        assert!(parse(lex(&neg, &l).unwrap(), &l).is_err());
    }
}
