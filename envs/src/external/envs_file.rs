//! The envs file: environments added beside the builtins without a fork.
//!
//! ```toml
//! [[env]]
//! name = "reverse_word"
//! command = ["python3", "my_env.py"]     # an environment in any language (process.rs)
//! workers = 2                             # processes, for parallel generate/verify
//! timeout_s = 10                          # per request
//! domain = "text"                         # with description: start on first use
//! description = "Reverse a string"        # (without both, describe answers at load)
//!
//! [[env]]
//! name = "my_qa"
//! data = "qa.jsonl"                       # a dataset with a chosen builtin verifier
//! verifier = "math"                       # math | exact | integer | number | choice | code_tests
//! question_field = "question"
//! answer_field = "answer"
//! ```
//!
//! Relative paths (`data`, and the processes' working directory) are taken from the file's
//! folder. A name already registered is an error naming both.
//!
//! Besides a file given by path, the environment variable [`ENVS_FILE_VAR`]
//! (`VERIGYM_ENVS_FILE`) names envs files that [`Registry::with_envs_file`] and
//! [`Registry::add_envs_files`] load too: one path, or several joined like `PATH` (`:` on
//! Unix, `;` on Windows). It is how a program that embeds the verigym CLI hands its own
//! families to `verigym-train`, which runs in another process; processes of command envs
//! are started without it, so an env served by the program that set it does not load it
//! again.

use super::dataset::{dataset_entry, DatasetSpec, VerifierKind};
use super::process::{process_entry, ProcessSpec};
use crate::error::EnvError;
use crate::registry::Registry;
use serde::Deserialize;
use std::path::{Path, PathBuf};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EnvsFile {
    #[serde(default)]
    env: Vec<EnvDecl>,
}

/// One `[[env]]`: a process (`command`) or a dataset (`data` + `verifier`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EnvDecl {
    name: String,
    command: Option<Vec<String>>,
    workers: Option<usize>,
    timeout_s: Option<f64>,
    data: Option<PathBuf>,
    verifier: Option<VerifierKind>,
    question_field: Option<String>,
    answer_field: Option<String>,
    domain: Option<String>,
    description: Option<String>,
    tolerance: Option<f64>,
    choices_field: Option<String>,
}

/// Adds every env of the envs file at `path` to `registry`.
pub fn load(path: &Path, registry: &mut Registry) -> Result<(), EnvError> {
    let where_ = path.display().to_string();
    let fail = |m: String| EnvError::EnvsFile {
        path: where_.clone(),
        message: m,
    };
    let text = std::fs::read_to_string(path).map_err(|e| fail(e.to_string()))?;
    let file: EnvsFile =
        toml::from_str(&text).map_err(|e| fail(e.to_string().trim_end().replace('\n', " ")))?;
    if file.env.is_empty() {
        return Err(fail("no [[env]] entries".into()));
    }
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_path_buf();
    for (i, d) in file.env.into_iter().enumerate() {
        let at = format!("env[{i}] ({})", d.name);
        if d.name.trim().is_empty() || d.name.contains(char::is_whitespace) {
            return Err(fail(format!("{at}: name must be one word")));
        }
        if registry.get(&d.name).is_ok() {
            return Err(fail(format!(
                "{at}: the name '{}' is already an environment (a builtin, or an earlier entry); \
                 rename this one",
                d.name
            )));
        }
        let entry = match (d.command, d.data) {
            (Some(command), None) => {
                if d.verifier.is_some() || d.question_field.is_some() || d.answer_field.is_some() {
                    return Err(fail(format!(
                        "{at}: verifier/question_field/answer_field belong to data envs"
                    )));
                }
                // Both declared: the processes start when the env is first used.
                let declared = match (d.domain, d.description) {
                    (Some(domain), Some(description)) => Some((
                        serde_json::from_value(serde_json::Value::String(domain.clone())).map_err(
                            |_| fail(format!("{at}: domain {domain:?} is not a domain")),
                        )?,
                        description,
                    )),
                    (None, None) => None,
                    _ => {
                        return Err(fail(format!(
                            "{at}: give both domain and description (then the processes start \
                             when the env is first used), or neither (then describe answers)"
                        )))
                    }
                };
                process_entry(
                    ProcessSpec {
                        name: d.name.clone(),
                        command,
                        workers: d.workers.unwrap_or(1),
                        timeout_s: d.timeout_s.unwrap_or(10.0),
                        dir: dir.clone(),
                    },
                    declared,
                )
            }
            (None, Some(data)) => {
                if d.workers.is_some() || d.timeout_s.is_some() {
                    return Err(fail(format!(
                        "{at}: workers/timeout_s belong to command envs"
                    )));
                }
                let verifier = d
                    .verifier
                    .ok_or_else(|| fail(format!("{at}: a data env needs a verifier")))?;
                let data = if data.is_relative() {
                    dir.join(data)
                } else {
                    data
                };
                let spec = DatasetSpec {
                    name: d.name.clone(),
                    data,
                    verifier,
                    question_field: d.question_field.unwrap_or_else(|| "question".into()),
                    answer_field: d.answer_field.unwrap_or_else(|| "answer".into()),
                    domain: d.domain,
                    description: d.description,
                    tolerance: d.tolerance,
                    choices_field: d.choices_field,
                };
                Ok(dataset_entry(spec))
            }
            (Some(_), Some(_)) => {
                return Err(fail(format!("{at}: give either command or data, not both")))
            }
            (None, None) => return Err(fail(format!("{at}: give command or data"))),
        };
        let entry = entry.map_err(|e| fail(format!("{at}: {e}")))?;
        registry
            .register(entry)
            .map_err(|e| fail(format!("{at}: {e}")))?;
    }
    Ok(())
}

/// The environment variable naming envs files that every registry built with
/// [`Registry::with_envs_file`] (or extended with [`Registry::add_envs_files`]) loads.
pub const ENVS_FILE_VAR: &str = "VERIGYM_ENVS_FILE";

/// The envs files named by [`ENVS_FILE_VAR`], in order; empty when it is unset or empty.
pub fn envs_files_from_env() -> Vec<PathBuf> {
    match std::env::var_os(ENVS_FILE_VAR) {
        Some(v) => std::env::split_paths(&v)
            .filter(|p| !p.as_os_str().is_empty())
            .collect(),
        None => Vec::new(),
    }
}

/// Whether two paths name the same file (compared canonically when both exist).
fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

impl Registry {
    /// The builtins plus the envs of the files named by `$VERIGYM_ENVS_FILE` and of
    /// `path` (when given).
    pub fn with_envs_file(path: Option<&Path>) -> Result<Registry, EnvError> {
        let mut r = Registry::builtin();
        r.add_envs_files(path)?;
        Ok(r)
    }

    /// Adds the envs of the files named by `$VERIGYM_ENVS_FILE`, then those of `path` (when
    /// given and not already one of them).
    pub fn add_envs_files(&mut self, path: Option<&Path>) -> Result<(), EnvError> {
        let from_env = envs_files_from_env();
        for p in &from_env {
            load(p, self).map_err(|e| match e {
                EnvError::EnvsFile { path, message } => EnvError::EnvsFile {
                    path: format!("{path} (named by ${ENVS_FILE_VAR})"),
                    message,
                },
                e => e,
            })?;
        }
        if let Some(p) = path {
            if !from_env.iter().any(|e| same_file(e, p)) {
                load(p, self)?;
            }
        }
        Ok(())
    }
}
