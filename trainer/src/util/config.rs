//! Run configs as TOML with defaults: every stage's config is plain serde data whose
//! `Default` is the documented default. A file is laid over the defaults key by key, then
//! `--set key=value` overrides are applied to the same tree, and only then is the tree
//! deserialised and range-checked, so an override is checked exactly like the file. The
//! demo's and experiments' JSON overrides go through the same merge.

use serde::{de::DeserializeOwned, Serialize};
use std::path::Path;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("{path}: {msg}")]
    Read { path: String, msg: String },
    #[error("config: {0}")]
    Parse(String),
    #[error("--set {0}: expected key=value")]
    BadSet(String),
    #[error("--set {key}: {msg}")]
    BadPath { key: String, msg: String },
    #[error("config: {0}")]
    Invalid(String),
}

/// A stage's config: defaults, TOML in and out, and a range check of every knob.
pub trait StageConfig: Serialize + DeserializeOwned + Default {
    /// Refuses a value no run should start with, naming the knob.
    fn validate(&self) -> Result<(), ConfigError>;

    /// Parses TOML text over the defaults, applies `--set` overrides and validates.
    fn from_toml(text: &str, sets: &[String]) -> Result<Self, ConfigError> {
        let file: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| ConfigError::Parse(one_line(&e)))?;
        let mut root = defaults_tree(&Self::default())?;
        merge(&mut root, toml::Value::Table(file), "", &[])?;
        for s in sets {
            let (k, v) = s
                .split_once('=')
                .ok_or_else(|| ConfigError::BadSet(s.clone()))?;
            set_path(&mut root, k.trim(), v.trim())?;
        }
        let cfg: Self = root
            .try_into()
            .map_err(|e: toml::de::Error| ConfigError::Parse(one_line(&e)))?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// [`StageConfig::from_toml`] of a file; errors name the file.
    fn from_file(path: &Path, sets: &[String]) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read {
            path: path.display().to_string(),
            msg: e.to_string(),
        })?;
        Self::from_toml(&text, sets).map_err(|e| match e {
            ConfigError::Parse(msg) | ConfigError::Invalid(msg) => ConfigError::Read {
                path: path.display().to_string(),
                msg,
            },
            other => other,
        })
    }

    /// The resolved config as TOML (what a run folder's `config.toml` holds).
    fn to_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_else(|e| format!("# could not serialise: {e}\n"))
    }
}

/// A TOML error on one line (its text spreads the key's context over several).
fn one_line(e: &toml::de::Error) -> String {
    e.to_string()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

fn defaults_tree<T: Serialize>(value: &T) -> Result<toml::Value, ConfigError> {
    toml::Table::try_from(value)
        .map(toml::Value::Table)
        .map_err(|e| ConfigError::Parse(e.to_string()))
}

/// Lays `over` onto `base` key by key, recursing into tables; arrays and values replace.
/// Keys of `over` that are absent from a `base` table are inserted (the deserialiser refuses
/// the unknown ones by name), except that `strict` makes them an error naming their path.
/// Tables at the paths in `opaque` are taken whole (an env's own config, checked by the env).
pub fn merge(
    base: &mut toml::Value,
    over: toml::Value,
    path: &str,
    opaque: &[&str],
) -> Result<(), ConfigError> {
    match (base, over) {
        (toml::Value::Table(b), toml::Value::Table(o)) if !opaque.contains(&path) => {
            for (k, v) in o {
                let here = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                match b.get_mut(&k) {
                    Some(slot) => merge(slot, v, &here, opaque)?,
                    None => {
                        b.insert(k, v);
                    }
                }
            }
            Ok(())
        }
        (slot, v) => {
            *slot = v;
            Ok(())
        }
    }
}

/// `base` with a JSON object of overrides merged in, key by key and recursively
/// (`{"sft": {"max_steps": 800}, "size": {"layers": 2}}`). Unknown keys are errors naming
/// their dotted path; tables at `opaque` paths are taken as given. `label` says whose
/// config it is.
pub fn with_json_overrides<T: Serialize + DeserializeOwned>(
    base: &T,
    overrides: &serde_json::Value,
    label: &str,
    opaque: &[&str],
) -> Result<T, ConfigError> {
    let invalid = |m: String| ConfigError::Invalid(format!("{label}: {m}"));
    if !overrides.is_object() {
        return Err(invalid("expected a JSON object".into()));
    }
    if let Some((path, what)) = not_toml(overrides, "") {
        return Err(invalid(format!("{path}: {what}")));
    }
    let over = toml::Value::try_from(overrides).map_err(|e| invalid(format!("overrides: {e}")))?;
    let mut root = defaults_tree(base)?;
    check_known(&root, &over, "", opaque).map_err(&invalid)?;
    let mut set = Vec::new();
    leaf_paths(&over, "", &mut set);
    merge(&mut root, over, "", opaque)?;
    root.try_into().map_err(|e: toml::de::Error| {
        // Serde names the field only sometimes (not inside a tagged enum): say which
        // overrides were given.
        let msg = e.to_string();
        invalid(format!(
            "{} (overrides set: {})",
            msg.trim_end(),
            set.join(", ")
        ))
    })
}

/// Dotted paths of the leaves of a TOML tree.
fn leaf_paths(v: &toml::Value, path: &str, out: &mut Vec<String>) {
    match v {
        toml::Value::Table(t) if !t.is_empty() => {
            for (k, x) in t {
                let here = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                leaf_paths(x, &here, out);
            }
        }
        _ => out.push(path.to_string()),
    }
}

/// The first value a TOML tree cannot hold (null, an integer beyond i64), by path.
fn not_toml(v: &serde_json::Value, path: &str) -> Option<(String, &'static str)> {
    let at = |k: &str| {
        if path.is_empty() {
            k.to_string()
        } else {
            format!("{path}.{k}")
        }
    };
    match v {
        serde_json::Value::Null => Some((path.to_string(), "null is not a value")),
        serde_json::Value::Number(n) if n.is_u64() && n.as_i64().is_none() => {
            Some((path.to_string(), "integer out of range"))
        }
        serde_json::Value::Array(a) => a
            .iter()
            .enumerate()
            .find_map(|(i, x)| not_toml(x, &at(&i.to_string()))),
        serde_json::Value::Object(o) => o.iter().find_map(|(k, x)| not_toml(x, &at(k))),
        _ => None,
    }
}

/// Every key of `over` exists in `base` (outside the `opaque` tables).
fn check_known(
    base: &toml::Value,
    over: &toml::Value,
    path: &str,
    opaque: &[&str],
) -> Result<(), String> {
    let (Some(b), Some(o)) = (base.as_table(), over.as_table()) else {
        return Ok(());
    };
    if opaque.contains(&path) {
        return Ok(());
    }
    for (k, v) in o {
        let here = if path.is_empty() {
            k.clone()
        } else {
            format!("{path}.{k}")
        };
        match b.get(k) {
            Some(slot) => check_known(slot, v, &here, opaque)?,
            None => {
                let known: Vec<&str> = b.keys().map(String::as_str).collect();
                return Err(format!(
                    "unknown key '{here}'; keys here: {}",
                    known.join(", ")
                ));
            }
        }
    }
    Ok(())
}

/// `Ok` when `v` is in `lo..=hi`; else an error naming the knob.
pub fn within(name: &str, v: usize, lo: usize, hi: usize) -> Result<(), ConfigError> {
    if (lo..=hi).contains(&v) {
        Ok(())
    } else {
        Err(ConfigError::Invalid(format!(
            "{name} must be in {lo}..={hi}, got {v}"
        )))
    }
}

/// `Ok` when `v` is a finite number in `[lo, hi]`; else an error naming the knob.
pub fn finite_in(name: &str, v: f64, lo: f64, hi: f64) -> Result<(), ConfigError> {
    if v.is_finite() && (lo..=hi).contains(&v) {
        Ok(())
    } else {
        Err(ConfigError::Invalid(format!(
            "{name} must be a number in [{lo}, {hi}], got {v}"
        )))
    }
}

/// Sets `key` (dotted; array elements by index, e.g. `envs.0.weight`) in `table` to
/// `value`, parsed as a TOML value (`0.1`, `true`, `"x"`, `[1, 2]`) or else taken as a
/// bare string.
pub fn set_path(root: &mut toml::Value, key: &str, value: &str) -> Result<(), ConfigError> {
    let parsed: toml::Value = match format!("v = {value}").parse::<toml::Table>() {
        Ok(mut t) => t.remove("v").unwrap_or(toml::Value::String(value.into())),
        Err(_) => toml::Value::String(value.into()),
    };
    let parts: Vec<&str> = key.split('.').collect();
    let bad = |msg: String| ConfigError::BadPath {
        key: key.into(),
        msg,
    };
    if parts.iter().any(|p| p.is_empty()) {
        return Err(bad("empty key segment".into()));
    }
    let Some((last, init)) = parts.split_last() else {
        return Err(bad("empty key".into()));
    };
    let mut cur: &mut toml::Value = root;
    for p in init {
        cur = match cur {
            toml::Value::Table(t) => t
                .entry(p.to_string())
                .or_insert_with(|| toml::Value::Table(toml::Table::new())),
            toml::Value::Array(a) => {
                let i: usize = p
                    .parse()
                    .map_err(|_| bad(format!("'{p}' indexes an array; use a number")))?;
                let n = a.len();
                a.get_mut(i)
                    .ok_or_else(|| bad(format!("index {i} out of range (length {n})")))?
            }
            _ => return Err(bad(format!("'{p}' is not a table"))),
        };
    }
    match cur {
        toml::Value::Table(t) => {
            t.insert(last.to_string(), parsed);
        }
        toml::Value::Array(a) => {
            let i: usize = last
                .parse()
                .map_err(|_| bad(format!("'{last}' indexes an array; use a number")))?;
            let n = a.len();
            *a.get_mut(i)
                .ok_or_else(|| bad(format!("index {i} out of range (length {n})")))? = parsed;
        }
        _ => return Err(bad(format!("cannot set '{last}' inside a value"))),
    }
    Ok(())
}

/// The fuzz check every stage config passes: each knob (every leaf of the default config,
/// and of the first entry of each array of tables) set by `--set` to each hostile value is
/// either a valid config with only finite numbers, or an error that names the knob. Returns
/// the failures, one line each (empty: all good). Panics propagate, so a knob that panics
/// fails the calling test.
pub fn hostile_knob_failures<T: StageConfig>() -> Vec<String> {
    fn leaves(prefix: &str, v: &toml::Value, out: &mut Vec<String>) {
        match v {
            toml::Value::Table(t) => {
                for (k, v) in t {
                    let p = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    leaves(&p, v, out);
                }
            }
            toml::Value::Array(a) => match a.first() {
                Some(first) if first.is_table() => leaves(&format!("{prefix}.0"), first, out),
                _ => out.push(prefix.to_string()),
            },
            _ => out.push(prefix.to_string()),
        }
    }
    let Ok(root) = defaults_tree(&T::default()) else {
        return vec!["the defaults do not serialise".into()];
    };
    let mut knobs = Vec::new();
    leaves("", &root, &mut knobs);
    let hostile = [
        "nan",
        "inf",
        "-inf",
        "-1",
        "0",
        "1e12",
        "1000000000000",
        "18446744073709551615",
        "\"x\"",
        "true",
        "[1, 2]",
    ];
    let mut failures = Vec::new();
    for knob in &knobs {
        for v in hostile {
            let set = format!("{knob}={v}");
            match T::from_toml("", std::slice::from_ref(&set)) {
                Ok(cfg) => {
                    let text = cfg.to_toml();
                    if text.contains("nan") || text.contains("inf") {
                        failures.push(format!("{set}: accepted a non-finite value"));
                    }
                }
                Err(e) => {
                    let msg = e.to_string();
                    let leaf = knob.rsplit('.').next().unwrap_or(knob);
                    if !(msg.contains(leaf) || msg.contains(knob.as_str())) {
                        failures.push(format!("{set}: the error does not name it: {msg}"));
                    }
                }
            }
        }
    }
    failures
}

/// The check of an example config file: it parses, names every scalar knob of `T`, and
/// every value it does not mark `default: ...` in a comment is the default. Returns the
/// failures (empty: all good).
pub fn example_file_failures<T: StageConfig>(text: &str) -> Vec<String> {
    fn knobs(prefix: &str, t: &toml::Table, out: &mut Vec<(String, toml::Value)>) {
        for (k, v) in t {
            let path = format!("{prefix}{k}");
            match v {
                toml::Value::Table(sub) => knobs(&format!("{path}."), sub, out),
                toml::Value::Array(_) => {}
                _ => out.push((path, v.clone())),
            }
        }
    }
    let mut failures = Vec::new();
    if let Err(e) = T::from_toml(text, &[]) {
        failures.push(format!("the example does not load: {e}"));
    }
    let example: toml::Table = match text.parse() {
        Ok(t) => t,
        Err(e) => return vec![format!("not TOML: {e}")],
    };
    let Ok(toml::Value::Table(defaults)) = defaults_tree(&T::default()) else {
        return vec!["the defaults do not serialise".into()];
    };
    let (mut want, mut have) = (Vec::new(), Vec::new());
    knobs("", &defaults, &mut want);
    knobs("", &example, &mut have);
    let marked: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("default: "))
        .filter_map(|l| l.split_once(" = ").map(|(k, _)| k.trim()))
        .collect();
    for (path, value) in &want {
        let Some((_, example_value)) = have.iter().find(|(p, _)| p == path) else {
            failures.push(format!(
                "the example does not list {path} (default {value})"
            ));
            continue;
        };
        let key = path.rsplit('.').next().unwrap_or(path);
        if !marked.contains(&key) && example_value != value {
            failures.push(format!(
                "{path} = {example_value} differs from its default {value} unmarked"
            ));
        }
    }
    failures
}

/// The JSON counterpart of [`hostile_knob_failures`] for the demo's and experiments'
/// configs: each leaf of `base` set (by a one-key override object) to each hostile JSON
/// value must load (`load` returns `Ok`) or fail with an error naming the leaf.
pub fn hostile_json_failures<T: Serialize>(
    base: &T,
    load: impl Fn(&serde_json::Value) -> Result<(), String>,
) -> Vec<String> {
    fn leaves(prefix: Vec<String>, v: &serde_json::Value, out: &mut Vec<Vec<String>>) {
        match v {
            serde_json::Value::Object(o) if !o.is_empty() => {
                for (k, x) in o {
                    let mut p = prefix.clone();
                    p.push(k.clone());
                    leaves(p, x, out);
                }
            }
            _ => out.push(prefix),
        }
    }
    let Ok(root) = serde_json::to_value(base) else {
        return vec!["the defaults do not serialise".into()];
    };
    let mut paths = Vec::new();
    leaves(Vec::new(), &root, &mut paths);
    let hostile = [
        serde_json::json!(-1),
        serde_json::json!(0),
        serde_json::json!(1e12),
        serde_json::json!(1e308),
        serde_json::json!(-1e308),
        serde_json::json!(u64::MAX),
        serde_json::json!("x"),
        serde_json::json!(true),
        serde_json::json!([1, 2]),
        serde_json::Value::Null,
    ];
    let mut failures = Vec::new();
    for path in &paths {
        for h in &hostile {
            let mut over = h.clone();
            for k in path.iter().rev() {
                over = serde_json::json!({ k.as_str(): over });
            }
            let knob = path.join(".");
            let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| load(&over)));
            match caught {
                Err(_) => failures.push(format!("{knob} = {h}: panicked")),
                Ok(Ok(())) => {}
                Ok(Err(msg)) => {
                    let leaf = path.last().map_or("", String::as_str);
                    if !msg.contains(leaf) {
                        failures.push(format!("{knob} = {h}: the error does not name it: {msg}"));
                    }
                }
            }
        }
    }
    failures
}
