//! Suites: a TOML file of environments × difficulties × tasks, with the sampling settings
//! every task is asked under. [`Suite::load`] takes a builtin name (`suites/NAME.toml`,
//! compiled in) or a path; [`Suite::items`] expands it into the tasks an eval runs.
//!
//! ```toml
//! name = "mini"
//! samples = 4            # completions per task (k)
//! temperature = 0.0
//! max_tokens = 256
//! [[envs]]
//! name = "arithmetic"
//! difficulties = [1, 5]
//! n = 10                 # tasks per difficulty
//! seed = 0
//! config = {}            # optional env config
//! ```

use crate::EvalError;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use verigym_envs::env::{DEFAULT_DIFFICULTY, MAX_DIFFICULTY, MIN_DIFFICULTY};
use verigym_envs::{EnvOptions, Environment, Registry, Task};

/// The suites shipped in `suites/`, by name.
pub const BUILTIN: &[(&str, &str)] = &[
    ("core", include_str!("../../suites/core.toml")),
    ("mini", include_str!("../../suites/mini.toml")),
    ("sharp-edges", include_str!("../../suites/sharp-edges.toml")),
];

/// Most completions per task a suite may ask for.
pub const MAX_SAMPLES: usize = 1024;
/// Most tasks per difficulty of one entry.
pub const MAX_TASKS: u64 = 1_000_000;

/// How prompts are sent: as chat messages (`/v1/chat/completions`, the tokenizer's chat
/// template locally) or as one text (`/v1/completions`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    #[default]
    Chat,
    Completion,
}

/// One benchmark suite (the TOML file's shape).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Suite {
    pub name: String,
    /// Completions per task (k).
    #[serde(default = "one")]
    pub samples: usize,
    /// 0 is greedy.
    #[serde(default)]
    pub temperature: f64,
    #[serde(default = "one_f64")]
    pub top_p: f64,
    #[serde(default = "default_max_tokens")]
    pub max_tokens: usize,
    /// A system message (chat) or a preamble before the prompt (completion).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_prompt: Option<String>,
    #[serde(default)]
    pub mode: Mode,
    /// How a task becomes the user text: `{prompt}` is the env's full prompt (with its
    /// format instructions), `{question}` the bare question. Unset: `{prompt}`, or for a
    /// local checkpoint the template recorded in it (`verigym.json`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_template: Option<String>,
    /// Strings that end a completion (besides the model's end of sequence).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stop: Vec<String>,
    /// An envs file whose environments the entries may name (relative to the suite file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub envs_file: Option<PathBuf>,
    pub envs: Vec<SuiteEnv>,
}

/// One `[[envs]]` entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SuiteEnv {
    /// An environment name, or `"*"` for every builtin family (of `domains`, if given).
    pub name: String,
    /// Difficulties 1..=10 (default: the env's default level, 3).
    #[serde(default = "default_difficulties")]
    pub difficulties: Vec<u8>,
    /// Tasks per difficulty.
    pub n: u64,
    #[serde(default)]
    pub seed: u64,
    /// The env's config overrides (as `verigym sample --config`). For the dataset envs
    /// (`gsm8k_jsonl`, `math_jsonl`) `path` names the JSONL file, relative to the suite file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<serde_json::Value>,
    /// With `name = "*"`: only these domains (math, code, science, logic, puzzles, text...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub domains: Vec<String>,
}

fn one() -> usize {
    1
}
fn one_f64() -> f64 {
    1.0
}
fn default_max_tokens() -> usize {
    256
}
fn default_difficulties() -> Vec<u8> {
    vec![DEFAULT_DIFFICULTY]
}

/// One task of a suite: which entry, env, difficulty, seed and index.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ItemKey {
    pub entry: usize,
    pub env: String,
    pub difficulty: u8,
    pub seed: u64,
    pub index: u64,
}

impl ItemKey {
    /// A stable seed for this item's sampling (FNV-1a over the key), so the same suite asks
    /// every endpoint for the same seeds. Kept within 63 bits: the OpenAI API's `seed` is a
    /// signed 64-bit integer, and servers (ours included) refuse larger ones.
    pub fn sampling_seed(&self) -> u64 {
        let text = format!(
            "{}/{}/{}/{}/{}",
            self.entry, self.env, self.difficulty, self.seed, self.index
        );
        let hash = text.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
        hash & i64::MAX as u64
    }
}

/// A task ready to run.
#[derive(Debug, Clone)]
pub struct Item {
    pub key: ItemKey,
    pub task: Task,
}

/// Which env of a suite: (entry, difficulty, env name).
pub type EnvSlot = (usize, u8, String);

/// The suite's environments, built once (one per entry × difficulty).
pub struct Expanded {
    /// Each env of the suite, in suite order.
    pub envs: Vec<(EnvSlot, Box<dyn Environment>)>,
    pub items: Vec<Item>,
}

impl Expanded {
    /// The env an item was generated by.
    pub fn env_of(&self, key: &ItemKey) -> Option<&dyn Environment> {
        self.envs
            .iter()
            .find(|((e, d, n), _)| *e == key.entry && *d == key.difficulty && *n == key.env)
            .map(|(_, env)| env.as_ref())
    }
}

impl Suite {
    /// A builtin suite by name, or a TOML file by path (a path wins when both exist).
    /// Dataset paths in entries are made absolute relative to the file's folder.
    pub fn load(name_or_path: &str) -> Result<Suite, EvalError> {
        let path = Path::new(name_or_path);
        if path.is_file() {
            let text = std::fs::read_to_string(path).map_err(|e| EvalError::Io {
                path: path.display().to_string(),
                message: e.to_string(),
            })?;
            let mut suite = Suite::parse(&path.display().to_string(), &text)?;
            suite.resolve_paths(path.parent().unwrap_or(Path::new(".")));
            return Ok(suite);
        }
        match BUILTIN.iter().find(|(n, _)| *n == name_or_path) {
            Some((n, text)) => Suite::parse(&format!("builtin suite {n}"), text),
            None => Err(EvalError::Suite {
                origin: name_or_path.to_string(),
                message: format!(
                    "no such file, and not a builtin suite (builtin: {})",
                    BUILTIN
                        .iter()
                        .map(|(n, _)| *n)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            }),
        }
    }

    /// Parses and validates a suite; `source` names it in errors.
    pub fn parse(source: &str, text: &str) -> Result<Suite, EvalError> {
        let suite: Suite = toml::from_str(text).map_err(|e| EvalError::Suite {
            origin: source.to_string(),
            message: e.to_string().trim_end().replace('\n', " "),
        })?;
        suite.validate().map_err(|message| EvalError::Suite {
            origin: source.to_string(),
            message,
        })?;
        Ok(suite)
    }

    fn validate(&self) -> Result<(), String> {
        if self.name.trim().is_empty() {
            return Err("name: must not be empty".into());
        }
        if !(1..=MAX_SAMPLES).contains(&self.samples) {
            return Err(format!(
                "samples: must be 1..={MAX_SAMPLES}, got {}",
                self.samples
            ));
        }
        if !(self.temperature.is_finite() && self.temperature >= 0.0) {
            return Err(format!(
                "temperature: must be >= 0, got {}",
                self.temperature
            ));
        }
        if !(self.top_p > 0.0 && self.top_p <= 1.0) {
            return Err(format!("top_p: must be in (0, 1], got {}", self.top_p));
        }
        if self.max_tokens == 0 {
            return Err("max_tokens: must be at least 1".into());
        }
        if let Some(t) = &self.prompt_template {
            if !t.contains("{prompt}") && !t.contains("{question}") {
                return Err(format!(
                    "prompt_template: {t:?} names neither {{prompt}} nor {{question}}"
                ));
            }
        }
        if self.stop.iter().any(String::is_empty) {
            return Err("stop: strings must not be empty".into());
        }
        if self.envs.is_empty() {
            return Err("envs: a suite needs at least one [[envs]] entry".into());
        }
        for (i, e) in self.envs.iter().enumerate() {
            let at = |field: &str| format!("envs[{i}] ({}).{field}", e.name);
            if e.difficulties.is_empty() {
                return Err(format!("{}: must not be empty", at("difficulties")));
            }
            if let Some(d) = e
                .difficulties
                .iter()
                .find(|d| !(MIN_DIFFICULTY..=MAX_DIFFICULTY).contains(*d))
            {
                return Err(format!(
                    "{}: {d} is outside {MIN_DIFFICULTY}..={MAX_DIFFICULTY}",
                    at("difficulties")
                ));
            }
            if !(1..=MAX_TASKS).contains(&e.n) {
                return Err(format!("{}: must be 1..={MAX_TASKS}, got {}", at("n"), e.n));
            }
            if e.config.as_ref().is_some_and(|c| !c.is_object()) {
                return Err(format!("{}: must be a table", at("config")));
            }
            if !e.domains.is_empty() && e.name != "*" {
                return Err(format!("{}: only with name = \"*\"", at("domains")));
            }
        }
        Ok(())
    }

    /// Makes a relative `config.path` and `envs_file` absolute against `dir`.
    fn resolve_paths(&mut self, dir: &Path) {
        if let Some(f) = self.envs_file.as_mut() {
            if f.is_relative() {
                *f = dir.join(&*f);
            }
        }
        for e in &mut self.envs {
            let Some(serde_json::Value::Object(cfg)) = e.config.as_mut() else {
                continue;
            };
            if let Some(serde_json::Value::String(p)) = cfg.get_mut("path") {
                let path = PathBuf::from(&*p);
                if path.is_relative() {
                    *p = dir.join(path).display().to_string();
                }
            }
        }
    }

    /// The registry suites draw from: the builtins, the suite's envs file, and the two JSONL
    /// dataset envs (whose file comes from each entry's `config.path`).
    pub fn registry(&self) -> Result<Registry, EvalError> {
        use verigym_envs::math::datasets::{gsm8k_entry, math_entry};
        let mut registry =
            Registry::with_envs_file(self.envs_file.as_deref()).map_err(|e| EvalError::Suite {
                origin: self.name.clone(),
                message: format!("envs_file: {e}"),
            })?;
        for entry in [gsm8k_entry(""), math_entry("")] {
            // Both names are fixed and absent from the builtin list (a test in envs checks it).
            let _ = registry.register(entry);
        }
        Ok(registry)
    }

    /// Every task of the suite, in order (entry, difficulty, index), with the envs that
    /// made them. An unknown env, a bad config or a failed generation is an error naming the
    /// entry.
    pub fn expand(&self) -> Result<Expanded, EvalError> {
        let registry = self.registry()?;
        let mut envs = Vec::new();
        let mut items = Vec::new();
        for (i, entry) in self.envs.iter().enumerate() {
            let fail = |message: String| EvalError::Suite {
                origin: self.name.clone(),
                message: format!("envs[{i}] ({}): {message}", entry.name),
            };
            let names: Vec<String> = if entry.name == "*" {
                let all: Vec<&str> = registry
                    .entries()
                    .iter()
                    .filter(|e| {
                        !e.name.ends_with("_jsonl")
                            && (entry.domains.is_empty()
                                || entry.domains.iter().any(|d| d == e.domain.as_str()))
                    })
                    .map(|e| e.name.as_str())
                    .collect();
                if all.is_empty() {
                    return Err(fail(format!(
                        "no builtin env in domains {:?}",
                        entry.domains
                    )));
                }
                all.into_iter().map(String::from).collect()
            } else {
                vec![entry.name.clone()]
            };
            for name in names {
                for &d in &entry.difficulties {
                    let options = EnvOptions {
                        difficulty: Some(d),
                        config: entry.config.clone(),
                    };
                    let env = registry
                        .build(&name, &options)
                        .map_err(|e| fail(e.to_string()))?;
                    for index in 0..entry.n {
                        let task = env
                            .generate(entry.seed, index)
                            .map_err(|e| fail(e.to_string()))?;
                        let key = ItemKey {
                            entry: i,
                            env: name.clone(),
                            difficulty: d,
                            seed: entry.seed,
                            index,
                        };
                        items.push(Item { key, task });
                    }
                    envs.push(((i, d, name.clone()), env));
                }
            }
        }
        Ok(Expanded { envs, items })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_suites_parse_and_expand() {
        for (name, _) in BUILTIN {
            let suite = Suite::load(name).expect(name);
            let expanded = suite.expand().expect(name);
            assert!(!expanded.items.is_empty(), "{name} has no tasks");
        }
        let core = Suite::load("core").unwrap().expand().unwrap();
        let families = Registry::builtin().entries().len();
        // Every family at three difficulties.
        assert_eq!(core.envs.len(), families * 3);
    }

    #[test]
    fn bad_suites_name_the_field() {
        let cases = [
            ("name = \"x\"\nenvs = []", "envs"),
            (
                "name = \"x\"\nsamples = 0\n[[envs]]\nname = \"arithmetic\"\nn = 1",
                "samples",
            ),
            (
                "name = \"x\"\ntop_p = 0\n[[envs]]\nname = \"arithmetic\"\nn = 1",
                "top_p",
            ),
            (
                "name = \"x\"\n[[envs]]\nname = \"arithmetic\"\nn = 1\ndifficulties = [11]",
                "envs[0] (arithmetic).difficulties",
            ),
            (
                "name = \"x\"\n[[envs]]\nname = \"arithmetic\"\nn = 0",
                "envs[0] (arithmetic).n",
            ),
            (
                "name = \"x\"\nsampels = 3\n[[envs]]\nname = \"a\"\nn = 1",
                "sampels",
            ),
            (
                "name = \"x\"\nprompt_template = \"Q\"\n[[envs]]\nname = \"a\"\nn = 1",
                "prompt_template",
            ),
        ];
        for (text, field) in cases {
            let err = Suite::parse("t.toml", text).unwrap_err().to_string();
            assert!(err.starts_with("t.toml: "), "{err}");
            assert!(err.contains(field), "{text:?}: {err}");
        }
        let unknown = Suite::parse("t.toml", "name = \"x\"\n[[envs]]\nname = \"nope\"\nn = 1")
            .unwrap()
            .expand()
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(unknown.contains("envs[0] (nope)"), "{unknown}");
        assert!(
            unknown.contains("arithmetic"),
            "lists the known envs: {unknown}"
        );
        assert!(Suite::load("no-such-suite").is_err());
    }

    #[test]
    fn items_are_seeded_and_distinct() {
        let text = "name = \"x\"\n[[envs]]\nname = \"arithmetic\"\nn = 3\ndifficulties = [1, 5]";
        let a = Suite::parse("t", text).unwrap().expand().unwrap();
        let b = Suite::parse("t", text).unwrap().expand().unwrap();
        assert_eq!(a.items.len(), 6);
        for (x, y) in a.items.iter().zip(&b.items) {
            assert_eq!(x.key, y.key);
            assert_eq!(x.task, y.task);
        }
        let seeds: std::collections::BTreeSet<u64> =
            a.items.iter().map(|i| i.key.sampling_seed()).collect();
        assert_eq!(seeds.len(), 6);
        assert!(
            seeds.iter().all(|&s| i64::try_from(s).is_ok()),
            "seeds fit the API's int64: {seeds:?}"
        );
    }
}
