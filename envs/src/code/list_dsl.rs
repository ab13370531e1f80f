//! `list_dsl`: program synthesis by example in a tiny list language interpreted in Rust
//! (after DeepCoder's DSL, Balog et al. 2017): find a pipeline such as
//! `filter even | map *2 | sort | take 3` that maps every shown input list to its output.
//! Graded on the shown examples and hidden inputs; any program that agrees on all of them
//! is accepted. No Python needed, so a tiny CPU policy can learn a code task.

use crate::env::{Domain, Family, Problem};
use crate::kit::render;
use crate::rng::TaskRng;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::fmt;
use verigym_verifiers::{Verdict, VerifyError};

const TEMPLATE: &str = crate::template!("list_dsl");
/// Longest program text and most stages the verifier looks at.
const MAX_PROGRAM_CHARS: usize = 400;
const MAX_STAGES: usize = 16;
/// Values beyond this magnitude are an evaluation error (keeps everything in i64).
const MAX_VALUE: i64 = 1_000_000_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Func {
    Inc,
    Dec,
    Double,
    Triple,
    Negate,
    Half,
    Square,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pred {
    Positive,
    Negative,
    Even,
    Odd,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fold {
    Add,
    Mul,
    Max,
    Min,
}

/// One pipeline stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Sort,
    Reverse,
    Unique,
    Map(Func),
    Filter(Pred),
    Take(usize),
    Drop(usize),
    Scan(Fold),
    // terminals: list -> int
    Sum,
    Max,
    Min,
    Len,
    Head,
    Last,
    Count(Pred),
}

/// A value flowing through the pipeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Val {
    List(Vec<i64>),
    Int(i64),
}

impl Val {
    pub fn to_json(&self) -> Value {
        match self {
            Val::List(v) => json!(v),
            Val::Int(i) => json!(i),
        }
    }
}

impl fmt::Display for Val {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Val::Int(i) => write!(f, "{i}"),
            Val::List(v) => {
                let items: Vec<String> = v.iter().map(i64::to_string).collect();
                write!(f, "[{}]", items.join(", "))
            }
        }
    }
}

const FUNCS: [(&str, Func); 7] = [
    ("+1", Func::Inc),
    ("-1", Func::Dec),
    ("*2", Func::Double),
    ("*3", Func::Triple),
    ("neg", Func::Negate),
    ("half", Func::Half),
    ("sq", Func::Square),
];
const PREDS: [(&str, Pred); 4] = [
    (">0", Pred::Positive),
    ("<0", Pred::Negative),
    ("even", Pred::Even),
    ("odd", Pred::Odd),
];
const FOLDS: [(&str, Fold); 4] = [
    ("+", Fold::Add),
    ("*", Fold::Mul),
    ("max", Fold::Max),
    ("min", Fold::Min),
];

fn name_of<T: PartialEq + Copy>(table: &[(&'static str, T)], x: T) -> &'static str {
    table.iter().find(|(_, v)| *v == x).map_or("?", |(n, _)| n)
}

fn lookup<T: Copy>(table: &[(&'static str, T)], s: &str) -> Option<T> {
    table.iter().find(|(n, _)| *n == s).map(|(_, v)| *v)
}

impl Stage {
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            Stage::Sum
                | Stage::Max
                | Stage::Min
                | Stage::Len
                | Stage::Head
                | Stage::Last
                | Stage::Count(_)
        )
    }

    fn parse(text: &str) -> Result<Stage, String> {
        let words: Vec<&str> = text.split_whitespace().collect();
        let arg = |i: usize| words.get(i).copied().unwrap_or("");
        let count = |s: &str| -> Result<usize, String> {
            s.parse::<usize>()
                .ok()
                .filter(|k| (0..=20).contains(k))
                .ok_or_else(|| format!("'{s}' is not a count 0..20"))
        };
        let stage = match (arg(0), words.len()) {
            ("sort", 1) => Stage::Sort,
            ("reverse", 1) => Stage::Reverse,
            ("unique", 1) => Stage::Unique,
            ("sum", 1) => Stage::Sum,
            ("max", 1) => Stage::Max,
            ("min", 1) => Stage::Min,
            ("len", 1) => Stage::Len,
            ("head", 1) => Stage::Head,
            ("last", 1) => Stage::Last,
            ("map", 2) => Stage::Map(
                lookup(&FUNCS, arg(1)).ok_or_else(|| format!("unknown function '{}'", arg(1)))?,
            ),
            ("filter", 2) => Stage::Filter(
                lookup(&PREDS, arg(1)).ok_or_else(|| format!("unknown predicate '{}'", arg(1)))?,
            ),
            ("count", 2) => Stage::Count(
                lookup(&PREDS, arg(1)).ok_or_else(|| format!("unknown predicate '{}'", arg(1)))?,
            ),
            ("scan", 2) => Stage::Scan(
                lookup(&FOLDS, arg(1)).ok_or_else(|| format!("unknown operator '{}'", arg(1)))?,
            ),
            ("take", 2) => Stage::Take(count(arg(1))?),
            ("drop", 2) => Stage::Drop(count(arg(1))?),
            _ => return Err(format!("unknown stage '{}'", text.trim())),
        };
        Ok(stage)
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Stage::Sort => write!(f, "sort"),
            Stage::Reverse => write!(f, "reverse"),
            Stage::Unique => write!(f, "unique"),
            Stage::Map(x) => write!(f, "map {}", name_of(&FUNCS, *x)),
            Stage::Filter(p) => write!(f, "filter {}", name_of(&PREDS, *p)),
            Stage::Take(k) => write!(f, "take {k}"),
            Stage::Drop(k) => write!(f, "drop {k}"),
            Stage::Scan(o) => write!(f, "scan {}", name_of(&FOLDS, *o)),
            Stage::Sum => write!(f, "sum"),
            Stage::Max => write!(f, "max"),
            Stage::Min => write!(f, "min"),
            Stage::Len => write!(f, "len"),
            Stage::Head => write!(f, "head"),
            Stage::Last => write!(f, "last"),
            Stage::Count(p) => write!(f, "count {}", name_of(&PREDS, *p)),
        }
    }
}

/// Parses `stage | stage | ...`; a terminal stage may only come last.
pub fn parse_program(text: &str) -> Result<Vec<Stage>, String> {
    let text = text.trim().trim_matches('`').trim();
    if text.is_empty() {
        return Err("empty program".into());
    }
    if text.chars().count() > MAX_PROGRAM_CHARS {
        return Err("program is too long".into());
    }
    let stages = text
        .split('|')
        .map(Stage::parse)
        .collect::<Result<Vec<_>, _>>()?;
    if stages.len() > MAX_STAGES {
        return Err(format!("more than {MAX_STAGES} stages"));
    }
    if stages.iter().rev().skip(1).any(|s| s.is_terminal()) {
        return Err("a list-to-integer stage can only be the last".into());
    }
    Ok(stages)
}

pub fn render_program(stages: &[Stage]) -> String {
    stages
        .iter()
        .map(Stage::to_string)
        .collect::<Vec<_>>()
        .join(" | ")
}

fn bounded(v: Option<i64>) -> Result<i64, String> {
    v.filter(|x| x.abs() <= MAX_VALUE)
        .ok_or_else(|| "value out of range".to_string())
}

fn apply(f: Func, x: i64) -> Result<i64, String> {
    bounded(match f {
        Func::Inc => x.checked_add(1),
        Func::Dec => x.checked_sub(1),
        Func::Double => x.checked_mul(2),
        Func::Triple => x.checked_mul(3),
        Func::Negate => x.checked_neg(),
        Func::Half => Some(x.div_euclid(2)),
        Func::Square => x.checked_mul(x),
    })
}

fn test(p: Pred, x: i64) -> bool {
    match p {
        Pred::Positive => x > 0,
        Pred::Negative => x < 0,
        Pred::Even => x % 2 == 0,
        Pred::Odd => x % 2 != 0,
    }
}

fn fold(o: Fold, a: i64, b: i64) -> Result<i64, String> {
    bounded(match o {
        Fold::Add => a.checked_add(b),
        Fold::Mul => a.checked_mul(b),
        Fold::Max => Some(a.max(b)),
        Fold::Min => Some(a.min(b)),
    })
}

/// One stage on one value.
pub fn step(stage: Stage, v: &[i64]) -> Result<Val, String> {
    let undefined = || format!("{stage} of an empty list");
    Ok(match stage {
        Stage::Sort => {
            let mut w = v.to_vec();
            w.sort_unstable();
            Val::List(w)
        }
        Stage::Reverse => Val::List(v.iter().rev().copied().collect()),
        Stage::Unique => {
            let mut w: Vec<i64> = Vec::new();
            for x in v {
                if !w.contains(x) {
                    w.push(*x);
                }
            }
            Val::List(w)
        }
        Stage::Map(f) => Val::List(v.iter().map(|x| apply(f, *x)).collect::<Result<_, _>>()?),
        Stage::Filter(p) => Val::List(v.iter().copied().filter(|x| test(p, *x)).collect()),
        Stage::Take(k) => Val::List(v.iter().take(k).copied().collect()),
        Stage::Drop(k) => Val::List(v.iter().skip(k).copied().collect()),
        Stage::Scan(o) => {
            let mut out = Vec::with_capacity(v.len());
            let mut acc: Option<i64> = None;
            for &x in v {
                let next = match acc {
                    None => x,
                    Some(a) => fold(o, a, x)?,
                };
                acc = Some(next);
                out.push(next);
            }
            Val::List(out)
        }
        Stage::Sum => Val::Int(bounded(v.iter().try_fold(0i64, |a, x| a.checked_add(*x)))?),
        Stage::Max => Val::Int(*v.iter().max().ok_or_else(undefined)?),
        Stage::Min => Val::Int(*v.iter().min().ok_or_else(undefined)?),
        Stage::Len => Val::Int(v.len() as i64),
        Stage::Head => Val::Int(*v.first().ok_or_else(undefined)?),
        Stage::Last => Val::Int(*v.last().ok_or_else(undefined)?),
        Stage::Count(p) => Val::Int(v.iter().filter(|x| test(p, **x)).count() as i64),
    })
}

/// Runs a program, returning every intermediate value (the last is the output).
pub fn run(stages: &[Stage], input: &[i64]) -> Result<Vec<Val>, String> {
    let mut trace = Vec::with_capacity(stages.len());
    let mut cur = Val::List(input.to_vec());
    for &s in stages {
        let Val::List(list) = &cur else {
            return Err("a stage after a list-to-integer stage".into());
        };
        cur = step(s, list)?;
        trace.push(cur.clone());
    }
    Ok(trace)
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListDslConfig {
    /// Stages of the hidden reference program.
    pub min_stages: usize,
    pub max_stages: usize,
    /// Input/output pairs shown, and further ones hidden.
    pub examples: usize,
    pub hidden: usize,
    /// Input lists have min_len..=max_len elements in -max_abs..=max_abs.
    pub min_len: usize,
    pub max_len: usize,
    pub max_abs: i64,
}

pub struct ListDsl {
    config: ListDslConfig,
}

impl Family for ListDsl {
    type Config = ListDslConfig;
    const NAME: &'static str = "list_dsl";
    const DOMAIN: Domain = Domain::Code;
    const DESCRIPTION: &'static str =
        "Program synthesis by example in a tiny list language (sort, map, filter, take, sum, ...)";

    fn config_for(difficulty: u8) -> ListDslConfig {
        let d = usize::from(difficulty.clamp(1, 10));
        let stages = match d {
            1 => 1,
            2..=3 => 2,
            4..=6 => 3,
            _ => 4,
        };
        ListDslConfig {
            min_stages: if d >= 5 { stages - 1 } else { stages },
            max_stages: stages,
            examples: if d <= 3 { 3 } else { 4 },
            hidden: 5,
            min_len: 3,
            max_len: 5 + d / 2,
            max_abs: if d <= 2 { 9 } else { 20 },
        }
    }

    fn new(config: ListDslConfig) -> Result<Self, String> {
        if !(1..=8).contains(&config.min_stages)
            || config.min_stages > config.max_stages
            || config.max_stages > 8
        {
            return Err("stages must satisfy 1 <= min_stages <= max_stages <= 8".into());
        }
        // One example cannot show that a program does something informative (outputs
        // that differ from each other), so generation needs two.
        if !(2..=10).contains(&config.examples) || config.hidden > 20 {
            return Err("examples must be in 2..=10 and hidden at most 20".into());
        }
        if config.min_len == 0 || config.min_len > config.max_len || config.max_len > 20 {
            return Err("lengths must satisfy 1 <= min_len <= max_len <= 20".into());
        }
        if !(1..=1000).contains(&config.max_abs) {
            return Err("max_abs must be in 1..=1000".into());
        }
        Ok(ListDsl { config })
    }

    fn generate(&self, rng: &mut TaskRng) -> Result<Problem, String> {
        let c = &self.config;
        let total = c.examples + c.hidden;
        for _ in 0..500 {
            let n = rng.range_usize(c.min_stages, c.max_stages);
            let program = random_program(rng, n);
            let inputs: Vec<Vec<i64>> = (0..total)
                .map(|_| {
                    let len = rng.range_usize(c.min_len, c.max_len);
                    (0..len).map(|_| rng.range(-c.max_abs, c.max_abs)).collect()
                })
                .collect();
            let Ok(traces) = inputs
                .iter()
                .map(|i| run(&program, i))
                .collect::<Result<Vec<_>, _>>()
            else {
                continue;
            };
            let outputs: Vec<Val> = traces.iter().filter_map(|t| t.last().cloned()).collect();
            // Reject programs whose shown outputs are all equal or equal to the inputs.
            let shown = &outputs[..c.examples.min(outputs.len())];
            if shown.windows(2).all(|w| w[0] == w[1])
                || inputs
                    .iter()
                    .zip(outputs.iter())
                    .all(|(i, o)| *o == Val::List(i.clone()))
            {
                continue;
            }
            // Every stage must matter: dropping any one changes some output.
            let redundant = (0..program.len()).any(|skip| {
                let shorter: Vec<Stage> = program
                    .iter()
                    .enumerate()
                    .filter(|(k, _)| *k != skip)
                    .map(|(_, s)| *s)
                    .collect();
                !shorter.is_empty()
                    && inputs.iter().zip(outputs.iter()).all(|(i, o)| {
                        run(&shorter, i)
                            .ok()
                            .and_then(|t| t.last().cloned())
                            .as_ref()
                            == Some(o)
                    })
            });
            if redundant {
                continue;
            }
            let examples: Vec<String> = inputs
                .iter()
                .zip(outputs.iter())
                .take(c.examples)
                .map(|(i, o)| format!("{} -> {o}", Val::List(i.clone())))
                .collect();
            let question = render(TEMPLATE, &[("examples", &examples.join("\n"))]);
            let text = render_program(&program);
            let mut thinking = format!("Try the pipeline `{text}` on each example.\n");
            for (i, t) in inputs.iter().zip(traces.iter()).take(c.examples) {
                let steps: Vec<String> = program
                    .iter()
                    .zip(t.iter())
                    .map(|(s, v)| format!("{s} -> {v}"))
                    .collect();
                thinking.push_str(&format!("{}: {}\n", Val::List(i.clone()), steps.join("; ")));
            }
            thinking.push_str("Every example matches.");
            return Ok(Problem {
                question,
                answer: json!({
                    "program": text,
                    "inputs": inputs,
                    "outputs": outputs.iter().map(Val::to_json).collect::<Vec<_>>(),
                }),
                thinking,
                final_answer: text,
            });
        }
        Err("no program with informative examples found".into())
    }

    fn verify(&self, gold: &Value, answer: &str) -> Result<Verdict, VerifyError> {
        let bad = || VerifyError::InvalidGold("expected {inputs, outputs}".into());
        let inputs = gold
            .get("inputs")
            .and_then(Value::as_array)
            .ok_or_else(bad)?;
        let outputs = gold
            .get("outputs")
            .and_then(Value::as_array)
            .ok_or_else(bad)?;
        if inputs.is_empty() || inputs.len() != outputs.len() {
            return Err(bad());
        }
        let extracted: String = answer.chars().take(200).collect();
        let program = match parse_program(answer) {
            Ok(p) => p,
            Err(e) => {
                return Ok(
                    Verdict::wrong(Some(extracted), format!("not a program: {e}"))
                        .with_component("tests_passed", 0.0),
                )
            }
        };
        let mut passed = 0;
        let mut first_failure = None;
        for (k, (i, o)) in inputs.iter().zip(outputs.iter()).enumerate() {
            let input: Vec<i64> = i
                .as_array()
                .ok_or_else(bad)?
                .iter()
                .map(|x| x.as_i64().ok_or_else(bad))
                .collect::<Result<_, _>>()?;
            match run(&program, &input) {
                Ok(t) if t.last().map(Val::to_json).as_ref() == Some(o) => passed += 1,
                Ok(t) => {
                    let got = t.last().map(|v| v.to_string()).unwrap_or_default();
                    first_failure
                        .get_or_insert(format!("input #{}: got {got}, expected {o}", k + 1));
                }
                Err(e) => {
                    first_failure.get_or_insert(format!("input #{}: {e}", k + 1));
                }
            }
        }
        let fraction = passed as f64 / inputs.len() as f64;
        let v = match first_failure {
            None => Verdict::correct(extracted),
            Some(reason) => Verdict::wrong(
                Some(extracted),
                format!(
                    "{} of {} inputs wrong; {reason}",
                    inputs.len() - passed,
                    inputs.len()
                ),
            ),
        };
        Ok(v.with_component("tests_passed", fraction))
    }
}

fn random_program(rng: &mut TaskRng, n: usize) -> Vec<Stage> {
    let mut stages: Vec<Stage> = Vec::with_capacity(n);
    while stages.len() < n {
        let last = stages.len() + 1 == n;
        let s = if last && rng.chance(0.5) {
            random_terminal(rng)
        } else {
            random_list_stage(rng)
        };
        if stages.last() == Some(&s) {
            continue;
        }
        stages.push(s);
    }
    stages
}

fn random_list_stage(rng: &mut TaskRng) -> Stage {
    let pred = PREDS[rng.below(PREDS.len() as u64) as usize].1;
    match rng.below(8) {
        0 => Stage::Sort,
        1 => Stage::Reverse,
        2 => Stage::Unique,
        3 | 4 => Stage::Map(FUNCS[rng.below(FUNCS.len() as u64) as usize].1),
        5 => Stage::Filter(pred),
        6 => {
            if rng.chance(0.5) {
                Stage::Take(rng.range_usize(1, 4))
            } else {
                Stage::Drop(rng.range_usize(1, 3))
            }
        }
        _ => Stage::Scan(FOLDS[rng.below(FOLDS.len() as u64) as usize].1),
    }
}

fn random_terminal(rng: &mut TaskRng) -> Stage {
    match rng.below(7) {
        0 => Stage::Sum,
        1 => Stage::Max,
        2 => Stage::Min,
        3 => Stage::Len,
        4 => Stage::Head,
        5 => Stage::Last,
        _ => Stage::Count(PREDS[rng.below(PREDS.len() as u64) as usize].1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn programs_round_trip_and_run() {
        let p = parse_program("filter even | map *2 | sort | take 2").unwrap();
        assert_eq!(render_program(&p), "filter even | map *2 | sort | take 2");
        let t = run(&p, &[5, 4, -2, 8, 3]).unwrap();
        assert_eq!(t.last(), Some(&Val::List(vec![-4, 8])));
        let p = parse_program("scan max | last").unwrap();
        assert_eq!(run(&p, &[1, 7, 3]).unwrap().last(), Some(&Val::Int(7)));
        assert!(run(&parse_program("head").unwrap(), &[]).is_err());
        assert_eq!(
            run(&parse_program("map half").unwrap(), &[-3, 3])
                .unwrap()
                .last(),
            Some(&Val::List(vec![-2, 1]))
        );
    }

    #[test]
    fn malformed_programs_are_rejected() {
        for bad in [
            "",
            "sum | sort",
            "map ^",
            "take -1",
            "sort sort",
            "filter",
            "x | y",
        ] {
            assert!(parse_program(bad).is_err(), "{bad}");
        }
        assert!(parse_program(&"sort | ".repeat(100)).is_err());
        // overflow is an error, not a panic
        let p = parse_program("map sq | map sq | map sq | map sq").unwrap();
        assert!(run(&p, &[1000]).is_err());
    }

    #[test]
    fn another_program_with_the_same_behaviour_is_accepted() {
        let fam = ListDsl::new(ListDsl::config_for(1)).unwrap();
        let gold = json!({"inputs": [[3, 1, 2], [5, 4]], "outputs": [[1, 2, 3], [4, 5]]});
        assert!(fam.verify(&gold, "sort").unwrap().correct);
        assert!(fam.verify(&gold, "reverse | sort").unwrap().correct);
        let v = fam.verify(&gold, "reverse").unwrap();
        assert!(!v.correct && v.reward == 0.0);
        assert_eq!(v.components["tests_passed"], 0.5);
        let v = fam.verify(&gold, "sum").unwrap();
        assert_eq!(v.components["tests_passed"], 0.0);
        let v = fam
            .verify(
                &json!({"inputs": [[3, 1, 2], [4, 5]], "outputs": [[1, 2, 3], [4, 5]]}),
                "reverse | reverse",
            )
            .unwrap();
        assert_eq!(v.components["tests_passed"], 0.5);
    }
}
