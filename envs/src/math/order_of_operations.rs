//! `order_of_operations`: integer expressions with parentheses and the four operations,
//! evaluated one operation at a time in the conventional order (PEMDAS), each step rewriting
//! the whole expression.
//!
//! Expressions are random binary trees printed with the fewest parentheses that keep their
//! structure; every division is exact, so the value is an integer.

use crate::env::{Domain, Family, Problem};
use crate::kit::level;
use crate::kit::render;
use crate::math::grade::grade_integer;
use crate::rng::TaskRng;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::fmt::Write;
use verigym_verifiers::{Verdict, VerifyError};

const TEMPLATE: &str = crate::template!("order_of_operations");

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderOfOperationsConfig {
    /// Number of operators, drawn uniformly in [min_ops, max_ops].
    pub min_ops: usize,
    pub max_ops: usize,
    /// Operands are drawn in 1..=max_operand.
    pub max_operand: i64,
    /// Whether division may appear (always exact).
    pub allow_division: bool,
}

pub struct OrderOfOperations {
    config: OrderOfOperationsConfig,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Op {
    Add,
    Sub,
    Mul,
    Div,
}

impl Op {
    fn symbol(self) -> &'static str {
        match self {
            Op::Add => "+",
            Op::Sub => "-",
            Op::Mul => "*",
            Op::Div => "/",
        }
    }
    fn prec(self) -> u8 {
        match self {
            Op::Add | Op::Sub => 1,
            Op::Mul | Op::Div => 2,
        }
    }
}

enum Node {
    Leaf(i128),
    Bin(Op, Box<Node>, Box<Node>),
}

impl Node {
    fn value(&self) -> i128 {
        match self {
            Node::Leaf(v) => *v,
            Node::Bin(op, a, b) => {
                let (x, y) = (a.value(), b.value());
                match op {
                    Op::Add => x + y,
                    Op::Sub => x - y,
                    Op::Mul => x * y,
                    Op::Div => x / y,
                }
            }
        }
    }

    fn write(&self, out: &mut String) {
        match self {
            Node::Leaf(v) if *v < 0 => {
                let _ = write!(out, "({v})");
            }
            Node::Leaf(v) => {
                let _ = write!(out, "{v}");
            }
            Node::Bin(op, a, b) => {
                let paren_a = matches!(**a, Node::Bin(o, ..) if o.prec() < op.prec());
                // A right operand of equal precedence is always bracketed, so the printed
                // left-to-right order is the order the steps reduce it in.
                let paren_b = matches!(**b, Node::Bin(o, ..) if o.prec() <= op.prec());
                write_child(a, paren_a, out);
                let _ = write!(out, " {} ", op.symbol());
                write_child(b, paren_b, out);
            }
        }
    }

    /// Reduces the first operation in evaluation order (post-order, leftmost first) whose
    /// operands are both numbers; returns the step's text.
    fn reduce_one(&mut self) -> Option<String> {
        match self {
            Node::Leaf(_) => None,
            Node::Bin(op, a, b) => {
                if let (Node::Leaf(x), Node::Leaf(y)) = (&**a, &**b) {
                    let (x, y, op) = (*x, *y, *op);
                    let v = self.value();
                    *self = Node::Leaf(v);
                    return Some(format!("{} {} {} = {v}", show(x), op.symbol(), show(y)));
                }
                a.reduce_one().or_else(|| b.reduce_one())
            }
        }
    }
}

fn show(v: i128) -> String {
    if v < 0 {
        format!("({v})")
    } else {
        v.to_string()
    }
}

fn write_child(n: &Node, paren: bool, out: &mut String) {
    if paren {
        out.push('(');
        n.write(out);
        out.push(')');
    } else {
        n.write(out);
    }
}

/// Bound on any intermediate value, so every step stays readable and exact.
const VALUE_CAP: i128 = 1_000_000_000_000;

impl OrderOfOperations {
    fn tree(&self, rng: &mut TaskRng, ops: usize) -> Node {
        let c = &self.config;
        if ops == 0 {
            return Node::Leaf(i128::from(rng.range(1, c.max_operand)));
        }
        let mut op = *rng
            .choose(if c.allow_division {
                &[Op::Add, Op::Sub, Op::Mul, Op::Div][..]
            } else {
                &[Op::Add, Op::Sub, Op::Mul][..]
            })
            .unwrap_or(&Op::Add);
        // A division's right side is a single exact divisor, so its left side takes all
        // the remaining operators.
        let left_ops = if op == Op::Div {
            ops - 1
        } else {
            rng.below(ops as u64) as usize
        };
        let a = self.tree(rng, left_ops);
        let av = a.value();
        if op == Op::Div {
            // The divisor is a number that divides the left side exactly.
            let divisors: Vec<i128> = (2..=i128::from(c.max_operand.min(50)))
                .filter(|d| av != 0 && av % d == 0)
                .collect();
            if let Some(d) = rng.choose(&divisors) {
                return Node::Bin(Op::Div, Box::new(a), Box::new(Node::Leaf(*d)));
            }
            op = Op::Mul;
        }
        let b = self.tree(rng, ops - 1 - left_ops);
        let v = Node::Bin(op, Box::new(a), Box::new(b));
        let ok = match &v {
            Node::Bin(_, x, y) => {
                let (x, y) = (x.value(), y.value());
                x.abs() < VALUE_CAP && y.abs() < VALUE_CAP && (x * y).abs() < VALUE_CAP
            }
            Node::Leaf(_) => true,
        };
        if ok {
            v
        } else if let Node::Bin(_, x, y) = v {
            Node::Bin(Op::Add, x, y)
        } else {
            v
        }
    }
}

impl Family for OrderOfOperations {
    type Config = OrderOfOperationsConfig;
    const NAME: &'static str = "order_of_operations";
    const DOMAIN: Domain = Domain::Math;
    const DESCRIPTION: &'static str =
        "Integer expressions with parentheses and + - * /, evaluated step by step in PEMDAS order";

    fn config_for(d: u8) -> OrderOfOperationsConfig {
        let max_ops = level(d, [2, 3, 4, 4, 5, 6, 7, 8, 10, 12]);
        OrderOfOperationsConfig {
            min_ops: (max_ops * 3 / 4).max(2),
            max_ops,
            max_operand: level(d, [9, 12, 20, 20, 25, 30, 40, 50, 75, 100]),
            allow_division: d >= 2,
        }
    }

    fn new(c: OrderOfOperationsConfig) -> Result<Self, String> {
        if c.min_ops == 0 || c.min_ops > c.max_ops || c.max_ops > 40 {
            return Err("min_ops must be in 1..=max_ops and max_ops at most 40".into());
        }
        if !(2..=10_000).contains(&c.max_operand) {
            return Err("max_operand must be in 2..=10000".into());
        }
        Ok(OrderOfOperations { config: c })
    }

    fn generate(&self, rng: &mut TaskRng) -> Result<Problem, String> {
        let ops = rng.range_usize(self.config.min_ops, self.config.max_ops);
        let mut tree = self.tree(rng, ops);
        let mut expr = String::new();
        tree.write(&mut expr);
        let mut thinking = format!("Evaluate {expr} one operation at a time.\n");
        while let Some(step) = tree.reduce_one() {
            let mut now = String::new();
            tree.write(&mut now);
            let _ = writeln!(thinking, "{step}, so the expression becomes {now}");
        }
        let v = tree.value();
        let _ = write!(thinking, "The value is {v}.");
        Ok(Problem {
            question: render(TEMPLATE, &[("expr", &expr)]),
            answer: json!({ "value": v.to_string() }),
            thinking,
            final_answer: v.to_string(),
        })
    }

    fn verify(&self, gold: &serde_json::Value, answer: &str) -> Result<Verdict, VerifyError> {
        grade_integer(gold, answer)
    }
}
