//! What an eval reports: per env, per env × difficulty and overall — accuracy (the mean over
//! samples) with its 95% interval, pass@k and maj@k for every k up to the samples, mean
//! reward, tokens per answer, errors. Written as `summary.json`, `report.md` and
//! `plots/accuracy.png`; [`table`] is the terminal's view, [`compare`] sets two evals side
//! by side.

use crate::metrics::{maj_at_k, pass_at_k, Interval, Z95};
use crate::results::{read_manifest, read_results, ItemResult};
use crate::suite::{ItemKey, Suite};
use crate::EvalError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

/// The scores of a set of tasks. An item that ended in an error counts as wrong (reward 0)
/// and is counted in `errors`, so failures never raise a score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scores {
    pub tasks: usize,
    pub errors: usize,
    /// Mean over tasks of the fraction of correct samples, with its 95% interval.
    pub accuracy: Interval,
    /// Unbiased pass@k for k = 1..=samples ("1", "2", ...).
    pub pass_at_k: BTreeMap<String, f64>,
    /// Majority vote over the first k samples' extracted answers.
    pub maj_at_k: BTreeMap<String, f64>,
    pub mean_reward: Interval,
    /// Mean completion tokens per answer (when the model reported them).
    pub tokens_per_answer: Option<f64>,
}

/// `summary.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub suite: String,
    pub model: String,
    pub samples: usize,
    pub overall: Scores,
    pub per_env: BTreeMap<String, Scores>,
    /// env → difficulty → scores.
    pub per_difficulty: BTreeMap<String, BTreeMap<u8, Scores>>,
    /// Wall seconds of the last (or only) session.
    pub seconds: f64,
}

impl Scores {
    pub fn of(results: &[&ItemResult], samples: usize) -> Scores {
        let accuracy: Vec<f64> = results
            .iter()
            .map(|r| fraction(&r.correct, samples))
            .collect();
        let reward: Vec<f64> = results
            .iter()
            .map(|r| r.rewards.iter().sum::<f64>() / samples.max(1) as f64)
            .collect();
        let mut pass = BTreeMap::new();
        let mut maj = BTreeMap::new();
        for k in 1..=samples {
            let n = results.len().max(1) as f64;
            let p: f64 = results
                .iter()
                .map(|r| {
                    // An errored or short item counts its missing samples as wrong.
                    let c = r.correct.iter().filter(|&&c| c).count();
                    pass_at_k(samples, c, k)
                })
                .sum();
            let m = results
                .iter()
                .filter(|r| maj_at_k(&r.extracted, &r.correct, k))
                .count();
            pass.insert(k.to_string(), p / n);
            maj.insert(k.to_string(), m as f64 / n);
        }
        let counted: Vec<(usize, usize)> = results
            .iter()
            .filter_map(|r| r.tokens.map(|t| (t, r.completions.len())))
            .filter(|(_, n)| *n > 0)
            .collect();
        let answers: usize = counted.iter().map(|(_, n)| n).sum();
        Scores {
            tasks: results.len(),
            errors: results.iter().filter(|r| r.error.is_some()).count(),
            accuracy: Interval::wilson(&accuracy),
            pass_at_k: pass,
            maj_at_k: maj,
            mean_reward: Interval::wilson(&reward),
            tokens_per_answer: (answers > 0)
                .then(|| counted.iter().map(|(t, _)| *t).sum::<usize>() as f64 / answers as f64),
        }
    }
}

/// Correct samples over the samples asked for.
fn fraction(correct: &[bool], samples: usize) -> f64 {
    correct.iter().filter(|&&c| c).count() as f64 / samples.max(1) as f64
}

impl Summary {
    pub fn of(suite: &Suite, model: &str, results: &[&ItemResult], seconds: f64) -> Summary {
        let k = suite.samples;
        let mut by_env: BTreeMap<&str, Vec<&ItemResult>> = BTreeMap::new();
        let mut by_level: BTreeMap<&str, BTreeMap<u8, Vec<&ItemResult>>> = BTreeMap::new();
        for &r in results {
            by_env.entry(&r.env).or_default().push(r);
            by_level
                .entry(&r.env)
                .or_default()
                .entry(r.difficulty)
                .or_default()
                .push(r);
        }
        Summary {
            suite: suite.name.clone(),
            model: model.to_string(),
            samples: k,
            overall: Scores::of(results, k),
            per_env: by_env
                .into_iter()
                .map(|(e, rs)| (e.to_string(), Scores::of(&rs, k)))
                .collect(),
            per_difficulty: by_level
                .into_iter()
                .map(|(e, levels)| {
                    let levels = levels
                        .into_iter()
                        .map(|(d, rs)| (d, Scores::of(&rs, k)))
                        .collect();
                    (e.to_string(), levels)
                })
                .collect(),
            seconds,
        }
    }
}

fn pct(i: &Interval) -> String {
    format!("{:.3} [{:.3}, {:.3}]", i.mean, i.lo, i.hi)
}

fn tokens(t: Option<f64>) -> String {
    t.map(|t| format!("{t:.0}")).unwrap_or_else(|| "-".into())
}

/// The per-env table, as markdown (the terminal prints it too).
pub fn table(s: &Summary) -> String {
    let k = s.samples.to_string();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "| env | tasks | accuracy [95% CI] | pass@{k} | maj@{k} | reward | tokens/answer | errors |"
    );
    let _ = writeln!(out, "|---|---:|---|---:|---:|---:|---:|---:|");
    let rows = s
        .per_env
        .iter()
        .map(|(e, sc)| (e.as_str(), sc))
        .chain([("**overall**", &s.overall)]);
    for (env, sc) in rows {
        let _ = writeln!(
            out,
            "| {env} | {} | {} | {:.3} | {:.3} | {:.3} | {} | {} |",
            sc.tasks,
            pct(&sc.accuracy),
            sc.pass_at_k.get(&k).copied().unwrap_or(f64::NAN),
            sc.maj_at_k.get(&k).copied().unwrap_or(f64::NAN),
            sc.mean_reward.mean,
            tokens(sc.tokens_per_answer),
            sc.errors
        );
    }
    out
}

/// `report.md`: the overall line, the per-env and per-difficulty tables, pass@k and maj@k
/// for every k.
pub fn markdown(s: &Summary) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Eval: suite {} on {}\n", s.suite, s.model);
    let _ = writeln!(
        out,
        "{} tasks, {} samples each; accuracy {} (95% Wilson interval over tasks); {} errors; {:.0} s.\n",
        s.overall.tasks,
        s.samples,
        pct(&s.overall.accuracy),
        s.overall.errors,
        s.seconds
    );
    let _ = writeln!(out, "![accuracy per env](plots/accuracy.png)\n");
    let _ = writeln!(out, "## Per environment\n");
    out.push_str(&table(s));
    let _ = writeln!(out, "\n## Per difficulty\n");
    let _ = writeln!(
        out,
        "| env | difficulty | tasks | accuracy [95% CI] | reward | errors |"
    );
    let _ = writeln!(out, "|---|---:|---:|---|---:|---:|");
    for (env, levels) in &s.per_difficulty {
        for (d, sc) in levels {
            let _ = writeln!(
                out,
                "| {env} | {d} | {} | {} | {:.3} | {} |",
                sc.tasks,
                pct(&sc.accuracy),
                sc.mean_reward.mean,
                sc.errors
            );
        }
    }
    let _ = writeln!(out, "\n## pass@k and maj@k (overall)\n");
    let _ = writeln!(out, "| k | pass@k | maj@k |");
    let _ = writeln!(out, "|---:|---:|---:|");
    for k in 1..=s.samples {
        let k = k.to_string();
        let _ = writeln!(
            out,
            "| {k} | {:.3} | {:.3} |",
            s.overall.pass_at_k.get(&k).copied().unwrap_or(f64::NAN),
            s.overall.maj_at_k.get(&k).copied().unwrap_or(f64::NAN)
        );
    }
    let _ = writeln!(
        out,
        "\npass@k is the unbiased estimator of Chen et al. (2021); maj@k is a majority vote over \
         the answers the verifier extracted from the first k samples. Errored tasks count as wrong."
    );
    out
}

/// Writes `summary.json`, `report.md` and `plots/accuracy.png` into `dir`.
pub fn write(dir: &Path, s: &Summary) -> Result<(), EvalError> {
    let io = |p: &Path, e: String| EvalError::Io {
        path: p.display().to_string(),
        message: e,
    };
    let path = dir.join("summary.json");
    let text = serde_json::to_string_pretty(s).map_err(|e| io(&path, e.to_string()))?;
    std::fs::write(&path, text + "\n").map_err(|e| io(&path, e.to_string()))?;
    let path = dir.join("report.md");
    std::fs::write(&path, markdown(s)).map_err(|e| io(&path, e.to_string()))?;
    let plots = dir.join("plots");
    std::fs::create_dir_all(&plots).map_err(|e| io(&plots, e.to_string()))?;
    let path = plots.join("accuracy.png");
    let groups: Vec<String> = s.per_env.keys().cloned().collect();
    let k = s.samples.to_string();
    let values: Vec<Vec<f64>> = s
        .per_env
        .values()
        .map(|sc| {
            let mut v = vec![sc.accuracy.mean];
            if s.samples > 1 {
                v.push(sc.pass_at_k.get(&k).copied().unwrap_or(f64::NAN));
            }
            v
        })
        .collect();
    let err: Vec<Vec<f64>> = s
        .per_env
        .values()
        .map(|sc| vec![sc.accuracy.half_width(), 0.0])
        .collect();
    let mut series = vec!["accuracy (95% CI)".to_string()];
    if s.samples > 1 {
        series.push(format!("pass@{k}"));
    }
    crate::plot::bars(
        &path,
        &format!("{} on {}", s.suite, s.model),
        "accuracy",
        &groups,
        &series,
        &values,
        Some(&err),
    )
    .map_err(|e| io(&path, e))
}

/// One row of [`compare`]: B minus A on one env.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Difference {
    pub env: String,
    pub a: f64,
    pub b: f64,
    /// b - a with its 95% interval.
    pub diff: Interval,
    /// Tasks both evals ran (the difference is paired over them), or 0 when unpaired.
    pub paired: usize,
}

/// Per-env accuracy of eval B minus eval A, with 95% intervals: paired over the tasks both
/// ran (same env, difficulty, seed and index), else unpaired (normal approximation).
pub fn compare(a_dir: &Path, b_dir: &Path) -> Result<(Vec<Difference>, String), EvalError> {
    let (ma, mb) = (read_manifest(a_dir)?, read_manifest(b_dir)?);
    let (ra, rb) = (read_results(a_dir)?, read_results(b_dir)?);
    let per_task = |rs: &[ItemResult], k: usize| -> BTreeMap<String, BTreeMap<ItemKey, f64>> {
        let mut m: BTreeMap<String, BTreeMap<ItemKey, f64>> = BTreeMap::new();
        for r in rs {
            let mut key = r.key();
            // Entries are numbered per suite; two suites' tasks pair by what they are.
            key.entry = 0;
            m.entry(r.env.clone())
                .or_default()
                .insert(key, fraction(&r.correct, k));
        }
        m
    };
    let (ta, tb) = (
        per_task(&ra, ma.suite.samples),
        per_task(&rb, mb.suite.samples),
    );
    let mut rows = Vec::new();
    for (env, xa) in &ta {
        let Some(xb) = tb.get(env) else { continue };
        let mean = |v: &BTreeMap<ItemKey, f64>| v.values().sum::<f64>() / v.len().max(1) as f64;
        let pairs: Vec<f64> = xa
            .iter()
            .filter_map(|(k, a)| xb.get(k).map(|b| b - a))
            .collect();
        let (a, b) = (mean(xa), mean(xb));
        let diff = if pairs.len() >= 2 && pairs.len() == xa.len() && pairs.len() == xb.len() {
            Interval::normal(&pairs)
        } else {
            let var = |v: &BTreeMap<ItemKey, f64>, m: f64| {
                v.values().map(|x| (x - m).powi(2)).sum::<f64>()
                    / (v.len().max(2) - 1) as f64
                    / v.len().max(1) as f64
            };
            let half = Z95 * (var(xa, a) + var(xb, b)).sqrt();
            Interval {
                mean: b - a,
                lo: b - a - half,
                hi: b - a + half,
            }
        };
        let paired = if pairs.len() == xa.len() && pairs.len() == xb.len() {
            pairs.len()
        } else {
            0
        };
        rows.push(Difference {
            env: env.clone(),
            a,
            b,
            diff,
            paired,
        });
    }
    let mut out = String::new();
    let _ = writeln!(
        out,
        "A: {} ({}, suite {})",
        a_dir.display(),
        ma.model,
        ma.suite.name
    );
    let _ = writeln!(
        out,
        "B: {} ({}, suite {})\n",
        b_dir.display(),
        mb.model,
        mb.suite.name
    );
    let _ = writeln!(
        out,
        "| env | A accuracy | B accuracy | B - A [95% CI] | paired tasks |"
    );
    let _ = writeln!(out, "|---|---:|---:|---|---:|");
    for r in &rows {
        let _ = writeln!(
            out,
            "| {} | {:.3} | {:.3} | {:+.3} [{:+.3}, {:+.3}] | {} |",
            r.env, r.a, r.b, r.diff.mean, r.diff.lo, r.diff.hi, r.paired
        );
    }
    if rows.is_empty() {
        let _ = writeln!(out, "(the two evals share no environment)");
    }
    Ok((rows, out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(index: u64, correct: &[bool], answers: &[&str], error: Option<&str>) -> ItemResult {
        ItemResult {
            env: "arithmetic".into(),
            seed: 0,
            index,
            difficulty: 1,
            entry: 0,
            prompt: serde_json::json!("q"),
            completions: answers.iter().map(|a| a.to_string()).collect(),
            rewards: correct.iter().map(|&c| f64::from(u8::from(c))).collect(),
            correct: correct.to_vec(),
            extracted: answers.iter().map(|a| Some(a.to_string())).collect(),
            finish_reasons: vec![None; answers.len()],
            tokens: Some(10 * answers.len()),
            latency_s: 0.0,
            attempts: 1,
            error: error.map(String::from),
        }
    }

    #[test]
    fn scores_count_errors_as_wrong_and_average_pass_at_k() {
        let rs = [
            item(0, &[true, false, true], &["1", "2", "1"], None),
            item(1, &[false, false, false], &["3", "3", "4"], None),
            item(2, &[], &[], Some("HTTP 500 (after 4 tries)")),
        ];
        let refs: Vec<&ItemResult> = rs.iter().collect();
        let s = Scores::of(&refs, 3);
        assert_eq!(s.tasks, 3);
        assert_eq!(s.errors, 1);
        assert!((s.accuracy.mean - (2.0 / 3.0) / 3.0).abs() < 1e-12);
        // pass@1 = mean of c/n; pass@3 = 1 for the task with any correct sample.
        assert!((s.pass_at_k["1"] - (2.0 / 3.0) / 3.0).abs() < 1e-12);
        assert!((s.pass_at_k["3"] - 1.0 / 3.0).abs() < 1e-12);
        // pass@2 of task 0: 1 - C(1,2)/C(3,2) = 1.
        assert!((s.pass_at_k["2"] - 1.0 / 3.0).abs() < 1e-12);
        assert!((s.maj_at_k["3"] - 1.0 / 3.0).abs() < 1e-12);
        assert_eq!(s.tokens_per_answer, Some(10.0));
    }
}
