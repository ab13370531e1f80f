//! `code_output`: predict exactly what a short generated Python program prints for a given
//! input (the CRUXEval "output prediction" task, with programs generated per task).
//!
//! Programs are built as a small AST, rendered as Python, and executed by an interpreter
//! here that follows Python's semantics for the constructs used (floor division and modulo
//! by positive constants, unbounded ints kept within ±10^9 by construction). An integration
//! test runs generated programs through the real interpreter in the sandbox to check that.

use super::python::extract_code;
use crate::env::{Domain, Family, Problem};
use crate::kit::render;
use crate::rng::TaskRng;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use verigym_verifiers::sandbox::compare::tokens_match;
use verigym_verifiers::{Verdict, VerifyError};

const TEMPLATE: &str = crate::template!("code_output");
const NAMES: [&str; 6] = ["n", "a", "b", "c", "i", "j"];
const LOOP_VARS: [usize; 2] = [4, 5];
const LIMIT: i64 = 1_000_000_000;
const MAX_LINES: usize = 12;
const MAX_STEPS: usize = 400;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    Add,
    Sub,
    Mul,
    FloorDiv,
    Mod,
}

#[derive(Debug, Clone, PartialEq)]
enum Expr {
    Var(usize),
    Const(i64),
    Len,
    Sum,
    Bin(Box<Expr>, Op, Box<Expr>),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Cmp {
    Lt,
    Gt,
    Le,
    Ge,
    Eq,
    Ne,
}

#[derive(Debug, Clone, PartialEq)]
enum Stmt {
    Assign(usize, Expr),
    Aug(usize, Op, Expr),
    If(Expr, Cmp, Expr, Vec<Stmt>, Vec<Stmt>),
    For(usize, i64, Vec<Stmt>),
    Append(Expr),
    Print(Vec<Expr>, bool),
}

fn op_str(op: Op) -> &'static str {
    match op {
        Op::Add => "+",
        Op::Sub => "-",
        Op::Mul => "*",
        Op::FloorDiv => "//",
        Op::Mod => "%",
    }
}

fn cmp_str(c: Cmp) -> &'static str {
    match c {
        Cmp::Lt => "<",
        Cmp::Gt => ">",
        Cmp::Le => "<=",
        Cmp::Ge => ">=",
        Cmp::Eq => "==",
        Cmp::Ne => "!=",
    }
}

fn expr_str(e: &Expr) -> String {
    match e {
        Expr::Var(v) => NAMES[*v].to_string(),
        Expr::Const(c) => c.to_string(),
        Expr::Len => "len(xs)".into(),
        Expr::Sum => "sum(xs)".into(),
        Expr::Bin(l, op, r) => {
            let wrap = |x: &Expr| match x {
                Expr::Bin(..) => format!("({})", expr_str(x)),
                _ => expr_str(x),
            };
            format!("{} {} {}", wrap(l), op_str(*op), wrap(r))
        }
    }
}

fn render_block(stmts: &[Stmt], indent: usize, out: &mut String) {
    let pad = "    ".repeat(indent);
    for s in stmts {
        match s {
            Stmt::Assign(v, e) => out.push_str(&format!("{pad}{} = {}\n", NAMES[*v], expr_str(e))),
            Stmt::Aug(v, op, e) => out.push_str(&format!(
                "{pad}{} {}= {}\n",
                NAMES[*v],
                op_str(*op),
                expr_str(e)
            )),
            Stmt::If(l, c, r, then, other) => {
                out.push_str(&format!(
                    "{pad}if {} {} {}:\n",
                    expr_str(l),
                    cmp_str(*c),
                    expr_str(r)
                ));
                render_block(then, indent + 1, out);
                if !other.is_empty() {
                    out.push_str(&format!("{pad}else:\n"));
                    render_block(other, indent + 1, out);
                }
            }
            Stmt::For(v, k, body) => {
                out.push_str(&format!("{pad}for {} in range({k}):\n", NAMES[*v]));
                render_block(body, indent + 1, out);
            }
            Stmt::Append(e) => out.push_str(&format!("{pad}xs.append({})\n", expr_str(e))),
            Stmt::Print(items, list) => {
                let mut parts: Vec<String> = items.iter().map(expr_str).collect();
                if *list {
                    parts.push("xs".into());
                }
                out.push_str(&format!("{pad}print({})\n", parts.join(", ")));
            }
        }
    }
}

/// Interpreter state.
struct Machine {
    vars: [i64; 6],
    xs: Vec<i64>,
    out: Vec<String>,
    steps: usize,
    trace: Vec<String>,
}

fn check(v: Option<i64>) -> Result<i64, String> {
    v.filter(|x| x.abs() <= LIMIT)
        .ok_or_else(|| "value out of range".into())
}

impl Machine {
    fn eval(&self, e: &Expr) -> Result<i64, String> {
        match e {
            Expr::Var(v) => Ok(self.vars[*v]),
            Expr::Const(c) => Ok(*c),
            Expr::Len => Ok(self.xs.len() as i64),
            Expr::Sum => check(self.xs.iter().try_fold(0i64, |a, x| a.checked_add(*x))),
            Expr::Bin(l, op, r) => binop(self.eval(l)?, *op, self.eval(r)?),
        }
    }

    fn exec(&mut self, stmts: &[Stmt]) -> Result<(), String> {
        for s in stmts {
            self.steps += 1;
            if self.steps > MAX_STEPS {
                return Err("too many steps".into());
            }
            match s {
                Stmt::Assign(v, e) => {
                    self.vars[*v] = self.eval(e)?;
                    self.note(format!(
                        "{} = {} -> {}",
                        NAMES[*v],
                        expr_str(e),
                        self.vars[*v]
                    ));
                }
                Stmt::Aug(v, op, e) => {
                    self.vars[*v] = binop(self.vars[*v], *op, self.eval(e)?)?;
                    self.note(format!(
                        "{} {}= {} -> {}",
                        NAMES[*v],
                        op_str(*op),
                        expr_str(e),
                        self.vars[*v]
                    ));
                }
                Stmt::If(l, c, r, then, other) => {
                    let (a, b) = (self.eval(l)?, self.eval(r)?);
                    let t = match c {
                        Cmp::Lt => a < b,
                        Cmp::Gt => a > b,
                        Cmp::Le => a <= b,
                        Cmp::Ge => a >= b,
                        Cmp::Eq => a == b,
                        Cmp::Ne => a != b,
                    };
                    self.note(format!(
                        "{} {} {} is {a} {} {b}: {}",
                        expr_str(l),
                        cmp_str(*c),
                        expr_str(r),
                        cmp_str(*c),
                        if t { "True" } else { "False" }
                    ));
                    self.exec(if t { then } else { other })?;
                }
                Stmt::For(v, k, body) => {
                    for it in 0..*k {
                        self.vars[*v] = it;
                        self.note(format!("{} = {it}", NAMES[*v]));
                        self.exec(body)?;
                    }
                }
                Stmt::Append(e) => {
                    let x = self.eval(e)?;
                    self.xs.push(x);
                    self.note(format!("xs.append({x})"));
                }
                Stmt::Print(items, list) => {
                    let mut parts = items
                        .iter()
                        .map(|e| self.eval(e).map(|v| v.to_string()))
                        .collect::<Result<Vec<_>, _>>()?;
                    if *list {
                        let xs: Vec<String> = self.xs.iter().map(i64::to_string).collect();
                        parts.push(format!("[{}]", xs.join(", ")));
                    }
                    let line = parts.join(" ");
                    self.note(format!("print -> {line}"));
                    self.out.push(line);
                    if self.out.len() > MAX_LINES {
                        return Err("too much output".into());
                    }
                }
            }
        }
        Ok(())
    }

    fn note(&mut self, s: String) {
        if self.trace.len() < 60 {
            self.trace.push(s);
        } else if self.trace.len() == 60 {
            self.trace.push("... (the same steps continue)".into());
        }
    }
}

fn binop(a: i64, op: Op, b: i64) -> Result<i64, String> {
    check(match op {
        Op::Add => a.checked_add(b),
        Op::Sub => a.checked_sub(b),
        Op::Mul => a.checked_mul(b),
        // Generated divisors are positive constants, where Python's floor division and
        // modulo equal the Euclidean ones.
        Op::FloorDiv if b > 0 => Some(a.div_euclid(b)),
        Op::Mod if b > 0 => Some(a.rem_euclid(b)),
        _ => None,
    })
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CodeOutputConfig {
    /// Top-level statements after the set-up lines.
    pub statements: usize,
    /// Loops, conditionals, a list, nested loops, prints inside loops.
    pub loops: bool,
    pub conditionals: bool,
    pub lists: bool,
    pub nesting: usize,
    /// Largest loop count and constant.
    pub max_loop: i64,
    pub max_const: i64,
    /// Expressions nest binary operations this deep.
    pub expr_depth: usize,
}

pub struct CodeOutput {
    config: CodeOutputConfig,
}

struct Gen<'a> {
    rng: &'a mut TaskRng,
    c: &'a CodeOutputConfig,
    prints_in_loops: bool,
}

impl Gen<'_> {
    fn var(&mut self, scope: &[usize]) -> usize {
        let mut vars = vec![0, 1, 2, 3];
        vars.extend_from_slice(scope);
        *self.rng.choose(&vars).unwrap_or(&1)
    }

    fn leaf(&mut self, scope: &[usize]) -> Expr {
        let r = self.rng.below(10);
        if r < 3 {
            Expr::Const(self.rng.range(1, self.c.max_const))
        } else if r == 3 && self.c.lists {
            if self.rng.chance(0.5) {
                Expr::Len
            } else {
                Expr::Sum
            }
        } else {
            Expr::Var(self.var(scope))
        }
    }

    fn expr(&mut self, scope: &[usize], depth: usize) -> Expr {
        if depth == 0 || self.rng.chance(0.35) {
            return self.leaf(scope);
        }
        let op = *self
            .rng
            .choose(&[Op::Add, Op::Add, Op::Sub, Op::Mul, Op::FloorDiv, Op::Mod])
            .unwrap_or(&Op::Add);
        let left = self.expr(scope, depth - 1);
        let right = match op {
            Op::FloorDiv | Op::Mod => Expr::Const(self.rng.range(2, 7)),
            Op::Mul => Expr::Const(self.rng.range(2, 4)),
            _ => self.expr(scope, depth - 1),
        };
        Expr::Bin(Box::new(left), op, Box::new(right))
    }

    fn simple(&mut self, scope: &[usize]) -> Stmt {
        let target = 1 + self.rng.below(3) as usize;
        if self.c.lists && self.rng.chance(0.25) {
            return Stmt::Append(self.expr(scope, self.c.expr_depth));
        }
        if self.prints_in_loops && !scope.is_empty() && self.rng.chance(0.15) {
            return Stmt::Print(vec![Expr::Var(self.var(scope))], false);
        }
        if self.rng.chance(0.5) {
            let op = *self
                .rng
                .choose(&[Op::Add, Op::Sub, Op::Add])
                .unwrap_or(&Op::Add);
            Stmt::Aug(
                target,
                op,
                self.expr(scope, self.c.expr_depth.saturating_sub(1)),
            )
        } else {
            Stmt::Assign(target, self.expr(scope, self.c.expr_depth))
        }
    }

    fn block(&mut self, scope: &[usize], len: usize, depth: usize) -> Vec<Stmt> {
        (0..len).map(|_| self.stmt(scope, depth)).collect()
    }

    fn stmt(&mut self, scope: &[usize], depth: usize) -> Stmt {
        let r = self.rng.below(10);
        if self.c.loops && depth < self.c.nesting && r < 3 {
            let v = LOOP_VARS[scope.len().min(1)];
            let mut inner = scope.to_vec();
            inner.push(v);
            let k = self.rng.range(2, self.c.max_loop);
            let len = self.rng.range_usize(1, 2);
            return Stmt::For(v, k, self.block(&inner, len, depth + 1));
        }
        if self.c.conditionals && depth <= self.c.nesting && r < 5 {
            let l = self.expr(scope, 1);
            let (cmp, rhs) = if self.rng.chance(0.4) {
                (Cmp::Eq, Expr::Const(0))
            } else {
                let c = *self
                    .rng
                    .choose(&[Cmp::Lt, Cmp::Gt, Cmp::Le, Cmp::Ge, Cmp::Ne])
                    .unwrap_or(&Cmp::Lt);
                (c, self.leaf(scope))
            };
            let l = if cmp == Cmp::Eq {
                Expr::Bin(
                    Box::new(l),
                    Op::Mod,
                    Box::new(Expr::Const(self.rng.range(2, 3))),
                )
            } else {
                l
            };
            let then = vec![self.simple(scope)];
            let other = if self.rng.chance(0.5) {
                vec![self.simple(scope)]
            } else {
                vec![]
            };
            return Stmt::If(l, cmp, rhs, then, other);
        }
        self.simple(scope)
    }
}

impl Family for CodeOutput {
    type Config = CodeOutputConfig;
    const NAME: &'static str = "code_output";
    const DOMAIN: Domain = Domain::Code;
    const DESCRIPTION: &'static str =
        "Predict exactly what a short generated Python program prints for a given input";

    fn config_for(difficulty: u8) -> CodeOutputConfig {
        let d = difficulty.clamp(1, 10);
        CodeOutputConfig {
            statements: 2 + usize::from(d) / 2,
            loops: d >= 3,
            conditionals: d >= 2,
            lists: d >= 6,
            nesting: match d {
                1..=2 => 0,
                3..=7 => 1,
                _ => 2,
            },
            max_loop: 3 + i64::from(d) / 3,
            max_const: 5 + i64::from(d),
            expr_depth: if d <= 4 { 1 } else { 2 },
        }
    }

    fn new(config: CodeOutputConfig) -> Result<Self, String> {
        if !(1..=20).contains(&config.statements) {
            return Err(format!(
                "statements ({}) must be in 1..=20",
                config.statements
            ));
        }
        if config.nesting > 3 || !(2..=10).contains(&config.max_loop) {
            return Err("nesting must be <= 3 and max_loop in 2..=10".into());
        }
        if !(1..=100).contains(&config.max_const) || config.expr_depth > 3 {
            return Err("max_const must be in 1..=100 and expr_depth <= 3".into());
        }
        Ok(CodeOutput { config })
    }

    fn generate(&self, rng: &mut TaskRng) -> Result<Problem, String> {
        let c = &self.config;
        for _ in 0..200 {
            let input = rng.range(1, 3 * c.max_const);
            let mut g = Gen {
                rng,
                c,
                prints_in_loops: c.nesting >= 2,
            };
            let mut body = vec![
                Stmt::Assign(1, Expr::Const(g.rng.range(0, c.max_const))),
                Stmt::Assign(2, Expr::Const(g.rng.range(0, c.max_const))),
                // `c` starts from the input, so the output depends on it.
                Stmt::Assign(
                    3,
                    Expr::Bin(
                        Box::new(Expr::Var(0)),
                        if g.rng.chance(0.5) { Op::Add } else { Op::Sub },
                        Box::new(Expr::Const(g.rng.range(1, c.max_const))),
                    ),
                ),
            ];
            body.extend(g.block(&[], c.statements, 0));
            let shown: Vec<usize> = match g.rng.below(4) {
                0 => vec![1, 2],
                1 => vec![1, 2, 3],
                2 => vec![2, 3],
                _ => vec![1],
            };
            body.push(Stmt::Print(
                shown.into_iter().map(Expr::Var).collect(),
                c.lists,
            ));
            let mut m = Machine {
                vars: [input, 0, 0, 0, 0, 0],
                xs: Vec::new(),
                out: Vec::new(),
                steps: 0,
                trace: Vec::new(),
            };
            if m.exec(&body).is_err() || m.xs.len() > 30 {
                continue;
            }
            let mut program = String::from("n = int(input())\n");
            if c.lists {
                program.push_str("xs = []\n");
            }
            render_block(&body, 0, &mut program);
            let output = m.out.join("\n");
            let question = render(
                TEMPLATE,
                &[
                    ("program", program.trim_end()),
                    ("input", &input.to_string()),
                ],
            );
            let thinking = format!(
                "Execute the program with n = {input}, step by step:\n{}\nThe printed output is:\n{output}",
                m.trace.join("\n")
            );
            return Ok(Problem {
                question,
                answer: json!({"output": output, "program": program, "input": input.to_string()}),
                thinking,
                final_answer: output,
            });
        }
        Err("no program within bounds found".into())
    }

    fn verify(&self, gold: &Value, answer: &str) -> Result<Verdict, VerifyError> {
        let expected = gold
            .get("output")
            .and_then(Value::as_str)
            .ok_or_else(|| VerifyError::InvalidGold("expected {output}".into()))?;
        let got = extract_code(answer);
        let extracted: String = got.chars().take(200).collect();
        if got.trim().is_empty() {
            return Ok(Verdict::wrong(None, "empty answer"));
        }
        Ok(match tokens_match(&got, expected, None) {
            Ok(()) => Verdict::correct(extracted),
            Err(e) => Verdict::wrong(Some(extracted), format!("output differs: {e}")),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_division_semantics() {
        assert_eq!(binop(-7, Op::FloorDiv, 2), Ok(-4));
        assert_eq!(binop(-7, Op::Mod, 3), Ok(2));
        assert!(binop(LIMIT, Op::Mul, 3).is_err());
    }

    #[test]
    fn rendering_parenthesises_and_indents() {
        let body = vec![Stmt::For(
            4,
            3,
            vec![Stmt::If(
                Expr::Bin(Box::new(Expr::Var(4)), Op::Mod, Box::new(Expr::Const(2))),
                Cmp::Eq,
                Expr::Const(0),
                vec![Stmt::Aug(1, Op::Add, Expr::Var(4))],
                vec![],
            )],
        )];
        let mut s = String::new();
        render_block(&body, 0, &mut s);
        assert_eq!(
            s,
            "for i in range(3):\n    if i % 2 == 0:\n        a += i\n"
        );
        let mut m = Machine {
            vars: [0; 6],
            xs: vec![],
            out: vec![],
            steps: 0,
            trace: vec![],
        };
        m.exec(&body).unwrap();
        assert_eq!(m.vars[1], 2);
    }

    #[test]
    fn answers_compare_token_wise_and_exactly() {
        let fam = CodeOutput::new(CodeOutput::config_for(5)).unwrap();
        let gold = json!({"output": "3 4\n[1, 2]"});
        assert!(fam.verify(&gold, "3 4\n[1, 2]").unwrap().correct);
        assert!(fam.verify(&gold, "```\n3  4\n[1, 2]\n```").unwrap().correct);
        assert!(!fam.verify(&gold, "3 4").unwrap().correct);
        assert!(!fam.verify(&gold, "3 4 [1, 2]").unwrap().correct);
        assert!(!fam.verify(&gold, "3 4\n[1,2]").unwrap().correct);
    }
}
