//! A safe parser and exact evaluator for arithmetic answers (`(25 - 5) * 4 / 2`).
//!
//! Model text is never evaluated as code: it is tokenised and parsed by precedence climbing
//! into a small tree, and evaluated with big rationals so `1/3*3` is exactly 1. Length,
//! number count and nesting depth are bounded before evaluation.

use num_bigint::BigInt;
use num_rational::BigRational;
use num_traits::{Num, Zero};
use thiserror::Error;

/// Longest expression accepted (bytes).
pub const MAX_EXPR_BYTES: usize = 2048;
/// Deepest parenthesis / operator nesting accepted.
pub const MAX_DEPTH: usize = 64;
/// Most digits in one literal.
pub const MAX_LITERAL_DIGITS: usize = 64;

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum ArithError {
    #[error("expression is longer than {MAX_EXPR_BYTES} bytes")]
    TooLong,
    #[error("expression nests deeper than {MAX_DEPTH}")]
    TooDeep,
    #[error("unexpected character {0:?} at byte {1}")]
    UnexpectedChar(char, usize),
    #[error("unexpected {0} at byte {1}")]
    Unexpected(String, usize),
    #[error("number literal too long")]
    LiteralTooLong,
    #[error("empty expression")]
    Empty,
    #[error("division by zero")]
    DivisionByZero,
}

/// Binary operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Add,
    Sub,
    Mul,
    Div,
}

impl Op {
    pub fn symbol(self) -> char {
        match self {
            Op::Add => '+',
            Op::Sub => '-',
            Op::Mul => '*',
            Op::Div => '/',
        }
    }
    fn precedence(self) -> u8 {
        match self {
            Op::Add | Op::Sub => 1,
            Op::Mul | Op::Div => 2,
        }
    }
}

/// A parsed arithmetic expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expr {
    /// A non-negative integer literal as written.
    Num(BigInt),
    Neg(Box<Expr>),
    Bin(Op, Box<Expr>, Box<Expr>),
}

impl Expr {
    /// Exact value; division by zero anywhere in the tree is an error.
    pub fn eval(&self) -> Result<BigRational, ArithError> {
        Ok(match self {
            Expr::Num(n) => BigRational::from_integer(n.clone()),
            Expr::Neg(e) => -e.eval()?,
            Expr::Bin(op, a, b) => {
                let (x, y) = (a.eval()?, b.eval()?);
                match op {
                    Op::Add => x + y,
                    Op::Sub => x - y,
                    Op::Mul => x * y,
                    Op::Div => {
                        if y.is_zero() {
                            return Err(ArithError::DivisionByZero);
                        }
                        x / y
                    }
                }
            }
        })
    }

    /// The integer literals in the order they appear.
    pub fn literals(&self) -> Vec<&BigInt> {
        let mut out = Vec::new();
        self.collect(&mut out);
        out
    }

    fn collect<'a>(&'a self, out: &mut Vec<&'a BigInt>) {
        match self {
            Expr::Num(n) => out.push(n),
            Expr::Neg(e) => e.collect(out),
            Expr::Bin(_, a, b) => {
                a.collect(out);
                b.collect(out);
            }
        }
    }

    /// Whether unary minus appears anywhere.
    pub fn has_negation(&self) -> bool {
        match self {
            Expr::Num(_) => false,
            Expr::Neg(_) => true,
            Expr::Bin(_, a, b) => a.has_negation() || b.has_negation(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Num(BigInt),
    Op(Op),
    Open,
    Close,
}

fn tokenize(s: &str) -> Result<Vec<(Tok, usize)>, ArithError> {
    let mut toks = Vec::new();
    let mut it = s.char_indices().peekable();
    while let Some((i, c)) = it.next() {
        let tok = match c {
            c if c.is_whitespace() => continue,
            '0'..='9' => {
                let mut end = i + 1;
                while let Some(&(j, d)) = it.peek() {
                    if d.is_ascii_digit() {
                        end = j + 1;
                        it.next();
                    } else {
                        break;
                    }
                }
                if end - i > MAX_LITERAL_DIGITS {
                    return Err(ArithError::LiteralTooLong);
                }
                let n = BigInt::from_str_radix(&s[i..end], 10)
                    .map_err(|_| ArithError::UnexpectedChar(c, i))?;
                Tok::Num(n)
            }
            '+' => Tok::Op(Op::Add),
            '-' | '−' => Tok::Op(Op::Sub),
            '*' | '×' | '·' => Tok::Op(Op::Mul),
            '/' | '÷' => Tok::Op(Op::Div),
            '(' | '[' => Tok::Open,
            ')' | ']' => Tok::Close,
            other => return Err(ArithError::UnexpectedChar(other, i)),
        };
        toks.push((tok, i));
    }
    Ok(toks)
}

/// Parses an arithmetic expression of integers, `+ - * /` (also `× ÷ −`), parentheses and
/// unary minus. Anything else is an error naming the offending character.
pub fn parse(s: &str) -> Result<Expr, ArithError> {
    if s.len() > MAX_EXPR_BYTES {
        return Err(ArithError::TooLong);
    }
    let toks = tokenize(s)?;
    if toks.is_empty() {
        return Err(ArithError::Empty);
    }
    let mut p = Parser {
        toks,
        pos: 0,
        end: s.len(),
    };
    let e = p.expr(0, 0)?;
    if let Some((t, at)) = p.toks.get(p.pos) {
        return Err(ArithError::Unexpected(describe(t), *at));
    }
    Ok(e)
}

fn describe(t: &Tok) -> String {
    match t {
        Tok::Num(n) => format!("number {n}"),
        Tok::Op(o) => format!("operator '{}'", o.symbol()),
        Tok::Open => "'('".into(),
        Tok::Close => "')'".into(),
    }
}

struct Parser {
    toks: Vec<(Tok, usize)>,
    pos: usize,
    end: usize,
}

impl Parser {
    fn expr(&mut self, min_prec: u8, depth: usize) -> Result<Expr, ArithError> {
        if depth > MAX_DEPTH {
            return Err(ArithError::TooDeep);
        }
        let mut lhs = self.atom(depth)?;
        while let Some((Tok::Op(op), _)) = self.toks.get(self.pos) {
            let op = *op;
            if op.precedence() < min_prec.max(1) {
                break;
            }
            self.pos += 1;
            let rhs = self.expr(op.precedence() + 1, depth + 1)?;
            lhs = Expr::Bin(op, Box::new(lhs), Box::new(rhs));
        }
        Ok(lhs)
    }

    fn atom(&mut self, depth: usize) -> Result<Expr, ArithError> {
        if depth > MAX_DEPTH {
            return Err(ArithError::TooDeep);
        }
        let Some((tok, at)) = self.toks.get(self.pos).cloned() else {
            return Err(ArithError::Unexpected("end of expression".into(), self.end));
        };
        self.pos += 1;
        match tok {
            Tok::Num(n) => Ok(Expr::Num(n)),
            Tok::Op(Op::Sub) => Ok(Expr::Neg(Box::new(self.atom(depth + 1)?))),
            Tok::Open => {
                let e = self.expr(0, depth + 1)?;
                match self.toks.get(self.pos) {
                    Some((Tok::Close, _)) => {
                        self.pos += 1;
                        Ok(e)
                    }
                    Some((t, at)) => Err(ArithError::Unexpected(describe(t), *at)),
                    None => Err(ArithError::Unexpected("end of expression".into(), self.end)),
                }
            }
            other => Err(ArithError::Unexpected(describe(&other), at)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn val(s: &str) -> String {
        parse(s).unwrap().eval().unwrap().to_string()
    }

    #[test]
    fn precedence_and_associativity() {
        assert_eq!(val("2 + 3 * 4"), "14");
        assert_eq!(val("(2 + 3) * 4"), "20");
        assert_eq!(val("10 - 4 - 3"), "3");
        assert_eq!(val("12 / 4 / 3"), "1");
        assert_eq!(val("1 / 3 * 3"), "1");
        assert_eq!(val("-(5 - 8)"), "3");
        assert_eq!(val("7 × 6 ÷ 2 − 1"), "20");
        assert_eq!(val("1/3"), "1/3");
    }

    #[test]
    fn errors_name_the_problem() {
        assert_eq!(
            parse("1 / (2 - 2)").unwrap().eval(),
            Err(ArithError::DivisionByZero)
        );
        assert!(matches!(
            parse("__import__('os')"),
            Err(ArithError::UnexpectedChar('_', 0))
        ));
        assert!(matches!(parse("2 ** 3"), Err(ArithError::Unexpected(_, _))));
        assert!(matches!(parse("(1 + 2"), Err(ArithError::Unexpected(_, _))));
        assert_eq!(parse("   "), Err(ArithError::Empty));
        assert_eq!(parse(&"(".repeat(1000)), Err(ArithError::TooDeep));
        assert_eq!(parse(&"1+".repeat(2000)), Err(ArithError::TooLong));
        assert_eq!(parse(&"9".repeat(100)), Err(ArithError::LiteralTooLong));
    }

    #[test]
    fn literals_in_order() {
        let e = parse("(25 - 5) * 4").unwrap();
        let lits: Vec<String> = e.literals().iter().map(|n| n.to_string()).collect();
        assert_eq!(lits, ["25", "5", "4"]);
    }
}
