//! `word_problems`: multi-step arithmetic word problems in the style of GSM8K (Cobbe et al.,
//! 2021): a person, a kind of item, and 2-8 steps (buying packs, giving away, doubling,
//! using a percentage, sharing equally, selling at a price), each phrased several ways. The
//! reference solution works one step per line with the arithmetic written out.

use crate::env::{Domain, Family, Problem};
use crate::kit::level;
use crate::kit::render;
use crate::math::grade::grade_integer;
use crate::rng::TaskRng;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::fmt::Write;
use verigym_verifiers::{Verdict, VerifyError};

const TEMPLATE: &str = crate::template!("word_problems");

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WordProblemsConfig {
    /// Number of reasoning steps, drawn in [min_steps, max_steps].
    pub min_steps: usize,
    pub max_steps: usize,
    /// Scale of the quantities (starting amounts up to this, other amounts proportional).
    pub max_quantity: i64,
}

pub struct WordProblems {
    config: WordProblemsConfig,
}

const NAMES: &[(&str, &str)] = &[
    ("Maya", "she"),
    ("Liam", "he"),
    ("Aisha", "she"),
    ("Noah", "he"),
    ("Sofia", "she"),
    ("Mateo", "he"),
    ("Priya", "she"),
    ("Kenji", "he"),
    ("Olivia", "she"),
    ("Omar", "he"),
    ("Chloe", "she"),
    ("Lucas", "he"),
    ("Fatima", "she"),
    ("Ethan", "he"),
    ("Zara", "she"),
    ("Diego", "he"),
    ("Hannah", "she"),
    ("Ravi", "he"),
    ("Grace", "she"),
    ("Samuel", "he"),
    ("Mei", "she"),
    ("Jonah", "he"),
    ("Leila", "she"),
    ("Tomás", "he"),
];
const FRIENDS: &[&str] = &[
    "a neighbour",
    "a classmate",
    "a cousin",
    "a friend",
    "the school",
    "a charity",
    "a younger sibling",
    "a teacher",
];
const ITEMS: &[(&str, &str, &str)] = &[
    // (plural, container, seller's unit)
    ("stickers", "sheet", "sticker"),
    ("marbles", "bag", "marble"),
    ("apples", "crate", "apple"),
    ("cookies", "tray", "cookie"),
    ("pencils", "box", "pencil"),
    ("trading cards", "pack", "card"),
    ("eggs", "carton", "egg"),
    ("cupcakes", "tray", "cupcake"),
    ("seashells", "bucket", "seashell"),
    ("stamps", "album page", "stamp"),
    ("beads", "jar", "bead"),
    ("bottles of juice", "case", "bottle"),
    ("oranges", "bag", "orange"),
    ("comic books", "bundle", "comic book"),
    ("flowers", "bunch", "flower"),
    ("toy cars", "set", "toy car"),
    ("candles", "box", "candle"),
    ("notebooks", "pack", "notebook"),
];

enum Step {
    Packs,
    Give,
    Multiply,
    Percent,
    Share,
    Sell,
}

impl Family for WordProblems {
    type Config = WordProblemsConfig;
    const NAME: &'static str = "word_problems";
    const DOMAIN: Domain = Domain::Math;
    const DESCRIPTION: &'static str =
        "GSM8K-style multi-step word problems (2-8 steps) with varied wording";

    fn config_for(d: u8) -> WordProblemsConfig {
        let max_steps = level(d, [2, 2, 3, 4, 4, 5, 6, 6, 7, 8]);
        WordProblemsConfig {
            min_steps: (max_steps - 1).max(2),
            max_steps,
            max_quantity: level(d, [20, 30, 50, 80, 100, 150, 200, 300, 500, 1000]),
        }
    }

    fn new(c: WordProblemsConfig) -> Result<Self, String> {
        if c.min_steps < 1 || c.min_steps > c.max_steps || c.max_steps > 20 {
            return Err("min_steps must be in 1..=max_steps and max_steps at most 20".into());
        }
        if !(10..=1_000_000).contains(&c.max_quantity) {
            return Err("max_quantity must be in 10..=1000000".into());
        }
        Ok(WordProblems { config: c })
    }

    fn generate(&self, rng: &mut TaskRng) -> Result<Problem, String> {
        let c = &self.config;
        let steps = rng.range_usize(c.min_steps, c.max_steps);
        let &(name, pron) = rng.choose(NAMES).ok_or("no names")?;
        let &(items, container, unit) = rng.choose(ITEMS).ok_or("no items")?;
        let q = c.max_quantity;
        let mut n = rng.range(q / 4 + 2, q);
        let cap = |s: &str| {
            let mut ch = s.chars();
            ch.next()
                .map(|f| f.to_uppercase().collect::<String>() + ch.as_str())
                .unwrap_or_default()
        };
        let mut text = match rng.below(3) {
            0 => format!("{name} has {n} {items}."),
            1 => format!("{name} starts the week with {n} {items}."),
            _ => format!("At the start, {name} owns {n} {items}."),
        };
        let mut t = format!("{name} starts with {n} {items}.\n");
        let cp = cap(pron);
        let poss = if pron == "she" { "Her" } else { "His" };
        let mut question = None;
        for i in 0..steps {
            let last = i + 1 == steps;
            // The last step may end the story with sharing or selling.
            let step = match rng.below(if last { 6 } else { 4 }) {
                0 => Step::Packs,
                1 => Step::Give,
                2 => Step::Multiply,
                3 => Step::Percent,
                4 => Step::Share,
                _ => Step::Sell,
            };
            match step {
                Step::Packs => {
                    let (p, per) = (rng.range(2, 9), rng.range(3, (q / 5).max(6)));
                    let add = p * per;
                    let _ = write!(text, " {}", match rng.below(3) {
                        0 => format!("Then {pron} buys {p} {container}s of {items} with {per} in each {container}."),
                        1 => format!("{cp} gets {p} more {container}s, each holding {per} {items}."),
                        _ => format!("Next, {name} receives {p} {container}s of {per} {items} each."),
                    });
                    let _ = writeln!(
                        t,
                        "{p} {container}s × {per} = {add} more {items}; {n} + {add} = {}.",
                        n + add
                    );
                    n += add;
                }
                Step::Give if n > 2 => {
                    let k = rng.range(1, n - 1);
                    let friend = rng.choose(FRIENDS).unwrap_or(&"a friend");
                    let _ = write!(
                        text,
                        " {}",
                        match rng.below(3) {
                            0 => format!("{cp} gives {k} of them to {friend}."),
                            1 => format!("{name} donates {k} {items} to {friend}."),
                            _ => format!("Later {pron} loses {k} {items}."),
                        }
                    );
                    let _ = writeln!(t, "{n} - {k} = {} {items} left.", n - k);
                    n -= k;
                }
                Step::Multiply | Step::Give => {
                    let m = rng.range(2, 4);
                    let word = match m {
                        2 => "twice",
                        3 => "three times",
                        _ => "four times",
                    };
                    let _ = write!(
                        text,
                        " {}",
                        match rng.below(2) {
                            0 => format!(
                                "After a trade, {name} has {word} as many {items} as before."
                            ),
                            _ => format!("{poss} collection then grows to {word} its size."),
                        }
                    );
                    let _ = writeln!(t, "{word} as many: {n} × {m} = {}.", n * m);
                    n *= m;
                }
                Step::Percent => {
                    let options: Vec<i64> = [10i64, 20, 25, 50, 75]
                        .into_iter()
                        .filter(|p| (n * p) % 100 == 0)
                        .collect();
                    if let Some(&p) = rng.choose(&options) {
                        let used = n * p / 100;
                        let _ = write!(
                            text,
                            " {}",
                            match rng.below(2) {
                                0 => format!("{name} uses {p}% of the {items} for a project."),
                                _ => format!("{cp} sells {p}% of them at a fair."),
                            }
                        );
                        let _ = writeln!(
                            t,
                            "{p}% of {n} is {n} × {p} / 100 = {used}; {n} - {used} = {}.",
                            n - used
                        );
                        n -= used;
                    } else {
                        let k = rng.range(2, 20);
                        let _ = write!(text, " Then {pron} finds {k} more {items}.");
                        let _ = writeln!(t, "{n} + {k} = {}.", n + k);
                        n += k;
                    }
                }
                Step::Share => {
                    let divisors: Vec<i64> = (2..=12).filter(|d| n % d == 0).collect();
                    if let Some(&d) = rng.choose(&divisors) {
                        let _ = write!(
                            text,
                            " Finally, {name} packs all of the {items} equally into {d} gift bags."
                        );
                        question = Some(format!("How many {items} go into each gift bag?"));
                        let _ = writeln!(t, "{n} ÷ {d} = {} {items} per bag.", n / d);
                        n /= d;
                    } else {
                        question = Some(format!("How many {items} does {name} have now?"));
                    }
                }
                Step::Sell => {
                    let price = rng.range(2, 15);
                    let _ = write!(
                        text,
                        " {name} sells every remaining {unit} for ${price} each."
                    );
                    question = Some(format!("How many dollars does {name} earn from the sale?"));
                    let _ = writeln!(t, "{n} × ${price} = ${}.", n * price);
                    n *= price;
                }
            }
        }
        let question = question.unwrap_or_else(|| match rng.below(3) {
            0 => format!("How many {items} does {name} have now?"),
            1 => format!("How many {items} does {name} end up with?"),
            _ => format!("What is the number of {items} {name} has at the end?"),
        });
        let _ = write!(t, "The answer is {n}.");
        Ok(Problem {
            question: render(TEMPLATE, &[("question", &format!("{text} {question}"))]),
            answer: json!({ "value": n.to_string() }),
            thinking: t,
            final_answer: n.to_string(),
        })
    }

    fn verify(&self, gold: &serde_json::Value, answer: &str) -> Result<Verdict, VerifyError> {
        grade_integer(gold, answer)
    }
}
