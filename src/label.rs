//! `verigym label`: people's feedback on completions, one keypress at a time.
//!
//! Reads `{"prompt", "completions": [...]}` lines (or a run's `samples.jsonl`, one
//! `"completion"` per line, grouped by prompt) and writes feedback rows in the shapes
//! `verigym_envs::feedback` reads, each with the `item` it answers:
//!
//! - `compare`: every pair of a prompt's completions side by side; `1` or `2` picks the
//!   better, `=` calls a tie;
//! - `rate`: each completion alone, rated `1`..`--scale`;
//! - `rank`: all of a prompt's completions, ordered by typing their numbers best first
//!   (`2 1 3`, then Enter).
//!
//! Everywhere `s` skips, `u` undoes the last answer or skip (also one from an earlier
//! session), `q` quits. Every answer is appended and flushed at once, and skips go to
//! `OUT.progress`, so starting again resumes at the first item neither answered nor
//! skipped, and nothing typed is lost. Items are numbered by their place in the input, so
//! a session resumes against the same input file. With stdin not a terminal the keys come
//! one per line (EOF quits), which is how scripts and tests drive it.

use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use verigym_envs::feedback::Feedback;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Mode {
    Compare,
    Rate,
    Rank,
}

#[derive(Args)]
pub struct LabelArgs {
    /// `{"prompt", "completions": [...]}` JSONL, or `{"prompt", "completion"}` lines.
    #[arg(long = "in")]
    input: PathBuf,
    /// Feedback JSONL, appended to (and resumed from).
    #[arg(long)]
    out: PathBuf,
    #[arg(long, value_enum, default_value = "compare")]
    mode: Mode,
    /// Highest rating in `rate` mode (ratings are 1..=scale).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u8).range(2..=9))]
    scale: u8,
}

/// A prompt and its completions.
struct Group {
    prompt: String,
    completions: Vec<String>,
}

/// What one item asks the person.
enum Item {
    Pair { group: usize, a: usize, b: usize },
    One { group: usize, c: usize },
    All { group: usize },
}

fn read_groups(path: &Path) -> Result<Vec<Group>> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).with_context(|| file.clone())?;
    let mut groups: Vec<Group> = Vec::new();
    let mut by_prompt: std::collections::HashMap<String, usize> = Default::default();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let at = || format!("{file}:{}", i + 1);
        let v: Value = serde_json::from_str(line).with_context(|| format!("{}: not JSON", at()))?;
        let Some(prompt) = v.get("prompt").and_then(Value::as_str) else {
            bail!("{}: missing string field 'prompt'", at());
        };
        let completions: Vec<String> = match (v.get("completions"), v.get("completion")) {
            (Some(Value::Array(cs)), _) => cs
                .iter()
                .enumerate()
                .map(|(k, c)| {
                    c.as_str().map(str::to_string).with_context(|| {
                        format!("{}: field 'completions' item {k} must be a string", at())
                    })
                })
                .collect::<Result<_>>()?,
            (Some(_), _) => bail!("{}: field 'completions' must be a list of strings", at()),
            (None, Some(Value::String(c))) => vec![c.clone()],
            _ => bail!(
                "{}: missing field 'completions' (a list) or 'completion' (a string)",
                at()
            ),
        };
        match by_prompt.get(prompt) {
            Some(&g) => groups[g].completions.extend(completions),
            None => {
                by_prompt.insert(prompt.to_string(), groups.len());
                groups.push(Group {
                    prompt: prompt.to_string(),
                    completions,
                });
            }
        }
    }
    Ok(groups)
}

fn items(groups: &[Group], mode: Mode) -> Vec<Item> {
    let mut out = Vec::new();
    for (g, group) in groups.iter().enumerate() {
        let n = group.completions.len();
        match mode {
            Mode::Compare => {
                for a in 0..n {
                    for b in a + 1..n {
                        out.push(Item::Pair { group: g, a, b });
                    }
                }
            }
            Mode::Rate => out.extend((0..n).map(|c| Item::One { group: g, c })),
            Mode::Rank if n >= 2 => out.push(Item::All { group: g }),
            Mode::Rank => {}
        }
    }
    out
}

/// The session's record: answers in OUT (each with its item), skips and the order of
/// everything in OUT.progress.
struct Log {
    out: PathBuf,
    progress: PathBuf,
    /// Items answered or skipped, in the order it happened: (item, answered).
    done: Vec<(usize, bool)>,
    /// The items of `done`, for lookups.
    decided: std::collections::HashSet<usize>,
}

impl Log {
    fn open(out: &Path) -> Result<Log> {
        let progress = PathBuf::from(format!("{}.progress", out.display()));
        let mut done: Vec<(usize, bool)> = Vec::new();
        if let Ok(text) = std::fs::read_to_string(&progress) {
            for (i, line) in text.lines().enumerate() {
                let v: Value = serde_json::from_str(line)
                    .with_context(|| format!("{}:{}: not JSON", progress.display(), i + 1))?;
                let item = v.get("item").and_then(Value::as_u64).with_context(|| {
                    format!("{}:{}: missing field 'item'", progress.display(), i + 1)
                })?;
                done.push((item as usize, v.get("skip") != Some(&Value::Bool(true))));
            }
        }
        // Answers in OUT the log does not have (a crash between the two writes) count too.
        let logged: BTreeSet<usize> = done.iter().map(|d| d.0).collect();
        if let Ok(text) = std::fs::read_to_string(out) {
            for (i, line) in text
                .lines()
                .enumerate()
                .filter(|(_, l)| !l.trim().is_empty())
            {
                let v: Value = serde_json::from_str(line)
                    .with_context(|| format!("{}:{}: not JSON", out.display(), i + 1))?;
                if let Some(item) = v.get("item").and_then(Value::as_u64) {
                    if !logged.contains(&(item as usize)) {
                        done.push((item as usize, true));
                    }
                }
            }
        }
        let decided = done.iter().map(|d| d.0).collect();
        Ok(Log {
            out: out.to_path_buf(),
            progress,
            done,
            decided,
        })
    }

    fn is_done(&self, item: usize) -> bool {
        self.decided.contains(&item)
    }

    fn answer(&mut self, item: usize, row: &Feedback) -> Result<()> {
        let mut v = serde_json::to_value(row)?;
        v["item"] = json!(item);
        append(&self.out, &v)?;
        append(&self.progress, &json!({"item": item}))?;
        self.done.push((item, true));
        self.decided.insert(item);
        Ok(())
    }

    fn skip(&mut self, item: usize) -> Result<()> {
        append(&self.progress, &json!({"item": item, "skip": true}))?;
        self.done.push((item, false));
        self.decided.insert(item);
        Ok(())
    }

    /// Takes back the last answer or skip; returns its item.
    fn undo(&mut self) -> Result<Option<usize>> {
        let Some((item, answered)) = self.done.pop() else {
            return Ok(None);
        };
        self.decided.remove(&item);
        if answered {
            drop_last_row_of(&self.out, item)?;
        }
        let lines: Vec<String> = self
            .done
            .iter()
            .map(|&(i, a)| match a {
                true => json!({"item": i}).to_string(),
                false => json!({"item": i, "skip": true}).to_string(),
            })
            .collect();
        rewrite(&self.progress, &lines)?;
        Ok(Some(item))
    }
}

fn append(path: &Path, v: &Value) -> Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| path.display().to_string())?;
    writeln!(f, "{v}")?;
    f.sync_data()?;
    Ok(())
}

/// Writes `lines` to `path` through a temporary file and a rename (never half-written).
fn rewrite(path: &Path, lines: &[String]) -> Result<()> {
    let tmp = PathBuf::from(format!("{}.tmp", path.display()));
    let mut text = lines.join("\n");
    if !lines.is_empty() {
        text.push('\n');
    }
    std::fs::write(&tmp, text).with_context(|| tmp.display().to_string())?;
    std::fs::rename(&tmp, path).with_context(|| path.display().to_string())?;
    Ok(())
}

/// Removes the last row of OUT answering `item`.
fn drop_last_row_of(out: &Path, item: usize) -> Result<()> {
    let text = std::fs::read_to_string(out).with_context(|| out.display().to_string())?;
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let pos = lines.iter().rposition(|l| {
        serde_json::from_str::<Value>(l)
            .ok()
            .and_then(|v| v.get("item").and_then(Value::as_u64))
            == Some(item as u64)
    });
    if let Some(p) = pos {
        lines.remove(p);
    }
    rewrite(out, &lines)
}

/// Where keys come from: single keypresses on a terminal, lines otherwise.
enum Keys {
    Terminal(console::Term),
    Lines(std::io::StdinLock<'static>),
}

impl Keys {
    fn new() -> Keys {
        if std::io::stdin().is_terminal() {
            Keys::Terminal(console::Term::stderr())
        } else {
            Keys::Lines(std::io::stdin().lock())
        }
    }

    /// One key (`None` at EOF); `line` asks for a whole line (rank mode).
    fn next(&mut self, line: bool) -> Result<Option<String>> {
        match self {
            Keys::Terminal(t) if !line => Ok(t.read_char().ok().map(|c| c.to_string())),
            Keys::Terminal(t) => Ok(Some(t.read_line()?)),
            Keys::Lines(input) => {
                let mut s = String::new();
                if input.read_line(&mut s)? == 0 {
                    return Ok(None);
                }
                Ok(Some(s.trim().to_string()))
            }
        }
    }
}

/// Wraps `text` to `width` columns (by characters; its own newlines kept).
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut out = Vec::new();
    for para in text.split('\n') {
        let chars: Vec<char> = para.chars().collect();
        if chars.is_empty() {
            out.push(String::new());
        }
        for chunk in chars.chunks(width.max(1)) {
            out.push(chunk.iter().collect());
        }
    }
    out
}

fn side_by_side(left: &str, right: &str, width: usize) -> String {
    let col = width.saturating_sub(3) / 2;
    let (l, r) = (wrap(left, col), wrap(right, col));
    let mut s = format!(
        "{:<col$} | {}\n{}\n",
        "[1]",
        "[2]",
        "-".repeat(width.min(2 * col + 3))
    );
    for i in 0..l.len().max(r.len()) {
        let a = l.get(i).map_or("", String::as_str);
        let b = r.get(i).map_or("", String::as_str);
        s.push_str(&format!("{a:<col$} | {b}\n"));
    }
    s
}

pub fn run(args: LabelArgs) -> Result<ExitCode> {
    let groups = read_groups(&args.input)?;
    let items = items(&groups, args.mode);
    let mut log = Log::open(&args.out)?;
    let mut keys = Keys::new();
    let interactive = matches!(keys, Keys::Terminal(_));
    let width = if interactive {
        console::Term::stderr().size().1 as usize
    } else {
        100
    };
    let ui = |s: &str| eprint!("{s}");
    ui(&format!(
        "{} items ({} answered or skipped before); keys: {} s skip, u undo, q quit\n",
        items.len(),
        log.done.len(),
        match args.mode {
            Mode::Compare => "1 / 2 better, = tie,".to_string(),
            Mode::Rate => format!("1..{} rating,", args.scale),
            Mode::Rank => "numbers best first then Enter,".to_string(),
        }
    ));
    let mut quit = false;
    while !quit {
        let Some(k) = (0..items.len()).find(|&k| !log.is_done(k)) else {
            // Everything answered: an undo can still take the last answer back.
            ui("\nall items done: u undoes the last answer, any other key quits> ");
            match keys.next(false)?.as_deref() {
                Some("u") => {
                    if let Some(i) = log.undo()? {
                        ui(&format!("(took back item {})\n", i + 1));
                    }
                    continue;
                }
                _ => break,
            }
        };
        let remaining = items.len().saturating_sub(log.decided.len());
        let (prompt, shown) = match &items[k] {
            Item::Pair { group, a, b } => {
                let g = &groups[*group];
                (
                    &g.prompt,
                    side_by_side(&g.completions[*a], &g.completions[*b], width),
                )
            }
            Item::One { group, c } => {
                let g = &groups[*group];
                (&g.prompt, format!("{}\n", g.completions[*c]))
            }
            Item::All { group } => {
                let g = &groups[*group];
                let mut s = String::new();
                for (i, c) in g.completions.iter().enumerate() {
                    s.push_str(&format!("[{}] {}\n", i + 1, c));
                }
                (&g.prompt, s)
            }
        };
        ui(&format!(
            "\n=== item {} ({remaining} to go) ===\n{prompt}\n\n{shown}> ",
            k + 1
        ));
        // Keys until one decides this item (bad keys are named and asked again).
        loop {
            let Some(key) = keys.next(args.mode == Mode::Rank)? else {
                quit = true;
                break;
            };
            match key.as_str() {
                "q" => {
                    quit = true;
                    break;
                }
                "s" => {
                    log.skip(k)?;
                    break;
                }
                "u" => {
                    match log.undo()? {
                        Some(i) => ui(&format!("(took back item {})\n", i + 1)),
                        None => ui("(nothing to undo)\n"),
                    }
                    break;
                }
                _ => match decide(&groups, &items[k], &key, args.scale) {
                    Ok(row) => {
                        log.answer(k, &row)?;
                        break;
                    }
                    Err(why) => ui(&format!("{why}; again> ")),
                },
            }
        }
    }
    let answered = log.done.iter().filter(|d| d.1).count();
    let left = items.len().saturating_sub(log.decided.len());
    println!(
        "{}",
        json!({
            "out": args.out.display().to_string(),
            "items": items.len(),
            "answered": answered,
            "skipped": log.done.len() - answered,
            "remaining": left,
        })
    );
    Ok(ExitCode::SUCCESS)
}

/// The feedback row a key gives for an item, or why the key does not answer it.
fn decide(groups: &[Group], item: &Item, key: &str, scale: u8) -> Result<Feedback, String> {
    match item {
        Item::Pair { group, a, b } => {
            let g = &groups[*group];
            let (ca, cb) = (g.completions[*a].clone(), g.completions[*b].clone());
            let (chosen, rejected, tie) = match key {
                "1" => (ca, cb, false),
                "2" => (cb, ca, false),
                "=" => (ca, cb, true),
                other => return Err(format!("'{other}' is not 1, 2, =, s, u or q")),
            };
            Ok(Feedback::Comparison {
                prompt: g.prompt.clone(),
                chosen,
                rejected,
                tie,
            })
        }
        Item::One { group, c } => {
            let g = &groups[*group];
            match key.parse::<u8>() {
                Ok(r) if (1..=scale).contains(&r) => Ok(Feedback::Rating {
                    prompt: g.prompt.clone(),
                    completion: g.completions[*c].clone(),
                    rating: f64::from(r),
                }),
                _ => Err(format!("'{key}' is not a rating 1..{scale}, s, u or q")),
            }
        }
        Item::All { group } => {
            let g = &groups[*group];
            let n = g.completions.len();
            let order: Vec<usize> = if n < 10 && !key.contains(char::is_whitespace) {
                key.chars()
                    .map(|c| c.to_digit(10).map_or(0, |d| d as usize))
                    .collect()
            } else {
                key.split_whitespace()
                    .map(|t| t.parse().unwrap_or(0))
                    .collect()
            };
            let distinct: BTreeSet<usize> = order.iter().copied().collect();
            if order.len() != n
                || distinct.len() != n
                || !distinct.iter().all(|&i| (1..=n).contains(&i))
            {
                return Err(format!(
                    "'{key}' is not an order of 1..{n} (each number once, best first)"
                ));
            }
            Ok(Feedback::Ordering {
                prompt: g.prompt.clone(),
                ranking: order
                    .iter()
                    .map(|&i| g.completions[i - 1].clone())
                    .collect(),
            })
        }
    }
}
