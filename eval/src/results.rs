//! The run folder's records: `results.jsonl` (one line per task, appended as each finishes)
//! and `eval.json` (the suite and model it belongs to).
//!
//! Nothing finished is lost and nothing is redone: on a restart the lines already written
//! are read back, a torn last line (the process was killed mid-write) is cut off, and only
//! the tasks without a good line run again. Tasks whose line records an error run again
//! too (the error may have been passing); the newest line of a task wins. When the eval
//! ends the file is rewritten in suite order, one line per task, so two runs of the same
//! suite compare line by line.

use crate::suite::{ItemKey, Suite};
use crate::EvalError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

pub const RESULTS: &str = "results.jsonl";
pub const MANIFEST: &str = "eval.json";

/// One line of `results.jsonl`: a task and its completions with their verdicts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ItemResult {
    pub env: String,
    pub seed: u64,
    pub index: u64,
    pub difficulty: u8,
    /// Which `[[envs]]` entry of the suite the task came from.
    pub entry: usize,
    /// As sent: a string (completion mode) or chat messages.
    pub prompt: serde_json::Value,
    pub completions: Vec<String>,
    pub rewards: Vec<f64>,
    pub correct: Vec<bool>,
    /// The answer the verifier read from each completion (for maj@k).
    pub extracted: Vec<Option<String>>,
    pub finish_reasons: Vec<Option<String>>,
    /// Completion tokens of all samples together, when the model reported them.
    pub tokens: Option<usize>,
    /// Seconds from the first attempt to the last reply.
    pub latency_s: f64,
    pub attempts: u32,
    /// Why the task has no completions (null when it has them).
    pub error: Option<String>,
}

impl ItemResult {
    pub fn key(&self) -> ItemKey {
        ItemKey {
            entry: self.entry,
            env: self.env.clone(),
            difficulty: self.difficulty,
            seed: self.seed,
            index: self.index,
        }
    }
}

/// What a run folder was made for; a restart must match it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub suite: Suite,
    pub model: String,
}

fn io(path: &Path, e: impl std::fmt::Display) -> EvalError {
    EvalError::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

/// Writes the manifest, or checks that an existing one names the same suite and model.
pub fn claim(dir: &Path, manifest: &Manifest) -> Result<(), EvalError> {
    std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    let path = dir.join(MANIFEST);
    if path.exists() {
        let text = std::fs::read_to_string(&path).map_err(|e| io(&path, e))?;
        let old: Manifest = serde_json::from_str(&text).map_err(|e| io(&path, e))?;
        if old.model != manifest.model {
            return Err(EvalError::Mismatch(format!(
                "{} holds an eval of {}, not {}; use another --out",
                dir.display(),
                old.model,
                manifest.model
            )));
        }
        if old.suite != manifest.suite {
            return Err(EvalError::Mismatch(format!(
                "{} holds an eval of a different suite ({}); use another --out",
                dir.display(),
                old.suite.name
            )));
        }
        return Ok(());
    }
    let text = serde_json::to_string_pretty(manifest).map_err(|e| io(&path, e))?;
    std::fs::write(&path, text + "\n").map_err(|e| io(&path, e))
}

/// The manifest of a finished or running eval.
pub fn read_manifest(dir: &Path) -> Result<Manifest, EvalError> {
    let path = dir.join(MANIFEST);
    let text = std::fs::read_to_string(&path).map_err(|e| io(&path, e))?;
    serde_json::from_str(&text).map_err(|e| io(&path, e))
}

/// `results.jsonl`, open for appending.
pub struct Store {
    path: PathBuf,
    file: File,
}

impl Store {
    /// Opens (or creates) `dir/results.jsonl` and reads back its lines, newest per task.
    /// A last line without its newline is a torn write and is cut off; any other line
    /// that does not parse is an error naming the file and line.
    pub fn open(dir: &Path) -> Result<(Store, BTreeMap<ItemKey, ItemResult>), EvalError> {
        let path = dir.join(RESULTS);
        let mut file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&path)
            .map_err(|e| io(&path, e))?;
        let mut done = BTreeMap::new();
        let mut good_len = 0u64;
        let mut reader = BufReader::new(&file);
        let mut line = String::new();
        let mut number = 0usize;
        loop {
            line.clear();
            let n = reader.read_line(&mut line).map_err(|e| io(&path, e))?;
            if n == 0 {
                break;
            }
            number += 1;
            if !line.ends_with('\n') {
                // Torn by a kill mid-write: dropped below, the task runs again.
                break;
            }
            good_len += n as u64;
            if line.trim().is_empty() {
                continue;
            }
            let r: ItemResult = serde_json::from_str(&line).map_err(|e| EvalError::Results {
                path: path.display().to_string(),
                line: number,
                message: e.to_string(),
            })?;
            done.insert(r.key(), r);
        }
        drop(reader);
        file.set_len(good_len).map_err(|e| io(&path, e))?;
        file.seek(SeekFrom::End(0)).map_err(|e| io(&path, e))?;
        Ok((Store { path, file }, done))
    }

    /// Appends one line, written with a single call and flushed to the OS.
    pub fn append(&mut self, r: &ItemResult) -> Result<(), EvalError> {
        let mut line = serde_json::to_string(r).map_err(|e| io(&self.path, e))?;
        line.push('\n');
        self.file
            .write_all(line.as_bytes())
            .and_then(|()| self.file.flush())
            .map_err(|e| io(&self.path, e))
    }

    /// Rewrites the file as `results` (in their order), through a temporary file and a
    /// rename, so a kill during the rewrite leaves the old file whole.
    pub fn rewrite(self, results: &[&ItemResult]) -> Result<(), EvalError> {
        let tmp = self.path.with_extension("jsonl.tmp");
        let mut out = std::io::BufWriter::new(File::create(&tmp).map_err(|e| io(&tmp, e))?);
        for r in results {
            serde_json::to_writer(&mut out, r).map_err(|e| io(&tmp, e))?;
            out.write_all(b"\n").map_err(|e| io(&tmp, e))?;
        }
        out.into_inner()
            .map_err(|e| io(&tmp, e))?
            .sync_all()
            .map_err(|e| io(&tmp, e))?;
        std::fs::rename(&tmp, &self.path).map_err(|e| io(&self.path, e))
    }
}

/// Every line of a finished eval's `results.jsonl`.
pub fn read_results(dir: &Path) -> Result<Vec<ItemResult>, EvalError> {
    let path = dir.join(RESULTS);
    let file = File::open(&path).map_err(|e| io(&path, e))?;
    let mut out = Vec::new();
    for (i, line) in BufReader::new(file).lines().enumerate() {
        let line = line.map_err(|e| io(&path, e))?;
        if line.trim().is_empty() {
            continue;
        }
        out.push(serde_json::from_str(&line).map_err(|e| EvalError::Results {
            path: path.display().to_string(),
            line: i + 1,
            message: e.to_string(),
        })?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(index: u64, error: Option<&str>) -> ItemResult {
        ItemResult {
            env: "arithmetic".into(),
            seed: 0,
            index,
            difficulty: 1,
            entry: 0,
            prompt: serde_json::json!("q"),
            completions: vec!["a".into()],
            rewards: vec![1.0],
            correct: vec![true],
            extracted: vec![Some("a".into())],
            finish_reasons: vec![Some("stop".into())],
            tokens: Some(3),
            latency_s: 0.1,
            attempts: 1,
            error: error.map(String::from),
        }
    }

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("verigym-eval-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn a_torn_last_line_is_cut_and_the_rest_kept() {
        let dir = scratch("torn");
        {
            let (mut s, done) = Store::open(&dir).unwrap();
            assert!(done.is_empty());
            s.append(&result(0, None)).unwrap();
            s.append(&result(1, Some("HTTP 500"))).unwrap();
            s.append(&result(1, None)).unwrap();
        }
        let path = dir.join(RESULTS);
        let whole = std::fs::read_to_string(&path).unwrap();
        let mut torn = whole.clone();
        torn.push_str(r#"{"env": "arithmetic", "seed": 0, "ind"#);
        std::fs::write(&path, &torn).unwrap();
        let (mut s, done) = Store::open(&dir).unwrap();
        assert_eq!(done.len(), 2);
        // The newest line of index 1 (no error) wins.
        assert!(done.values().all(|r| r.error.is_none()));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), whole);
        s.append(&result(2, None)).unwrap();
        let all = read_results(&dir).unwrap();
        assert_eq!(all.len(), 4);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_bad_line_in_the_middle_is_an_error_naming_it() {
        let dir = scratch("bad");
        let line = serde_json::to_string(&result(0, None)).unwrap();
        std::fs::write(dir.join(RESULTS), format!("{line}\nnot json\n{line}\n")).unwrap();
        let err = Store::open(&dir).err().unwrap().to_string();
        assert!(err.contains("results.jsonl:2"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_folder_belongs_to_one_suite_and_model() {
        let dir = scratch("claim");
        let suite = Suite::load("mini").unwrap();
        let m = Manifest {
            suite: suite.clone(),
            model: "a".into(),
        };
        claim(&dir, &m).unwrap();
        claim(&dir, &m).unwrap();
        let other = Manifest {
            suite: suite.clone(),
            model: "b".into(),
        };
        assert!(claim(&dir, &other)
            .unwrap_err()
            .to_string()
            .contains("another --out"));
        let mut s2 = suite;
        s2.samples = 2;
        let other = Manifest {
            suite: s2,
            model: "a".into(),
        };
        assert!(claim(&dir, &other).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
