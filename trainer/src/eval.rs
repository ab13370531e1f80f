//! Evaluation on held-out seeded tasks: greedy completions for each env's tasks, scored by
//! the env's verifier; accuracy, mean reward and mean completion length per env (the
//! per-env table of nanochat's `chat_eval` and reasoning-gym's scoring loop).

use crate::data::Template;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use thiserror::Error;
use verigym_envs::{Environment, Task};

#[derive(Debug, Error)]
pub enum EvalError {
    #[error("environment: {0}")]
    Env(#[from] verigym_envs::EnvError),
    #[error("generation failed: {0}")]
    Generate(String),
    #[error("the generator returned {got} completions for {want} prompts")]
    Count { want: usize, got: usize },
}

/// One completion as the generator returns it.
#[derive(Debug, Clone, PartialEq)]
pub struct Generation {
    pub text: String,
    /// Completion length in tokens.
    pub tokens: usize,
    /// The verdict of a multi-turn episode, which the generator played out with the env;
    /// `None`: the text is graded by the env's verifier.
    pub verdict: Option<Result<verigym_verifiers::Verdict, String>>,
}

/// Completes a batch of tasks, given with their prompts (greedy, for evaluation).
pub type Generate<'a> = &'a mut dyn FnMut(&[Task], &[String]) -> Result<Vec<Generation>, String>;

/// One scored task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub env: String,
    pub index: u64,
    pub question: String,
    pub completion: String,
    pub correct: bool,
    pub reward: f64,
    pub tokens: usize,
}

/// Scores of one environment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnvScore {
    pub env: String,
    pub n: usize,
    pub accuracy: f64,
    pub mean_reward: f64,
    pub mean_length: f64,
}

/// The evaluation of every environment, and each scored task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalReport {
    pub per_env: Vec<EnvScore>,
    pub records: Vec<Record>,
}

impl EvalReport {
    /// Mean accuracy over environments (each env weighs the same).
    pub fn mean_accuracy(&self) -> f64 {
        mean(self.per_env.iter().map(|e| e.accuracy))
    }

    pub fn mean_reward(&self) -> f64 {
        mean(self.per_env.iter().map(|e| e.mean_reward))
    }

    pub fn env(&self, name: &str) -> Option<&EnvScore> {
        self.per_env.iter().find(|e| e.env == name)
    }
}

fn mean(xs: impl Iterator<Item = f64>) -> f64 {
    let (s, n) = xs.fold((0.0, 0usize), |(s, n), x| (s + x, n + 1));
    if n == 0 {
        0.0
    } else {
        s / n as f64
    }
}

/// The held-out tasks: `n` per env from `seed` (use a seed no training data came from).
pub fn tasks(envs: &[Box<dyn Environment>], n: u64, seed: u64) -> Result<Vec<Task>, EvalError> {
    let mut out = Vec::new();
    for env in envs {
        for i in 0..n {
            out.push(env.generate(seed, i)?);
        }
    }
    Ok(out)
}

/// Completes and scores `tasks` in batches of `batch` prompts.
pub fn evaluate(
    envs: &[Box<dyn Environment>],
    tasks: &[Task],
    template: Template,
    batch: usize,
    generate: Generate,
) -> Result<EvalReport, EvalError> {
    let mut records = Vec::with_capacity(tasks.len());
    for chunk in tasks.chunks(batch.max(1)) {
        let prompts: Vec<String> = chunk.iter().map(|t| template.prompt(t)).collect();
        let gens = generate(chunk, &prompts).map_err(EvalError::Generate)?;
        if gens.len() != chunk.len() {
            return Err(EvalError::Count {
                want: chunk.len(),
                got: gens.len(),
            });
        }
        let scored: Result<Vec<Record>, EvalError> = chunk
            .par_iter()
            .zip(gens.par_iter())
            .map(|(task, g)| {
                let env = envs
                    .iter()
                    .find(|e| e.name() == task.env)
                    .ok_or_else(|| EvalError::Generate(format!("no env {}", task.env)))?;
                let v = match &g.verdict {
                    Some(v) => v.clone().map_err(EvalError::Generate)?,
                    None => env.verify(task, &g.text)?,
                };
                Ok(Record {
                    env: task.env.clone(),
                    index: task.index,
                    question: task.question.clone(),
                    completion: g.text.clone(),
                    correct: v.correct,
                    reward: v.reward,
                    tokens: g.tokens,
                })
            })
            .collect();
        records.extend(scored?);
    }
    let per_env = envs
        .iter()
        .map(|env| summarise(env.name(), records.iter().filter(|r| r.env == env.name())))
        .collect();
    Ok(EvalReport { per_env, records })
}

/// Accuracy, mean reward and mean length of `records` under the name `env`.
pub fn summarise<'a>(env: &str, records: impl Iterator<Item = &'a Record>) -> EnvScore {
    let (mut n, mut c, mut r, mut l) = (0usize, 0usize, 0.0, 0usize);
    for rec in records {
        n += 1;
        c += usize::from(rec.correct);
        r += rec.reward;
        l += rec.tokens;
    }
    let d = n.max(1) as f64;
    EnvScore {
        env: env.to_string(),
        n,
        accuracy: c as f64 / d,
        mean_reward: r / d,
        mean_length: l as f64 / d,
    }
}

/// A Wilson score interval (95%) for `k` successes in `n` trials.
pub fn wilson(k: usize, n: usize) -> (f64, f64) {
    let i = verigym_eval::metrics::Interval::wilson_of(k as f64 / n.max(1) as f64, n);
    (i.lo, i.hi)
}

/// Mean and the half-width of a 95% t-interval over seeds (normal 1.96 from 30 on).
pub fn mean_ci(xs: &[f64]) -> (f64, f64) {
    let n = xs.len();
    if n == 0 {
        return (0.0, 0.0);
    }
    let m = xs.iter().sum::<f64>() / n as f64;
    if n == 1 {
        return (m, 0.0);
    }
    let var = xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1) as f64;
    const T: [f64; 10] = [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    ];
    let t = T
        .get(n - 2)
        .copied()
        .unwrap_or(if n < 30 { 2.2 } else { 1.96 });
    (m, t * (var / n as f64).sqrt())
}

/// A model or a reference to one: the eval command owns its checkpoint, training lends
/// its policy.
pub enum Held<'a, T> {
    Owned(T),
    Borrowed(&'a T),
}

impl<T> std::ops::Deref for Held<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        match self {
            Held::Owned(t) => t,
            Held::Borrowed(t) => t,
        }
    }
}

/// A local policy as a `verigym eval` backend: prompts rendered (chat template or text),
/// tokenised, and sampled in batches of tasks × samples by the batched sampler. Sample j of
/// a request seeded s uses seed s + j.
pub struct LocalModel<'a> {
    pub model: Held<'a, crate::policy::model::Model>,
    pub tokenizer: Held<'a, crate::policy::tokenizer::Tokenizer>,
    /// The checkpoint's recorded prompt template (used when the suite sets none).
    pub prompt_template: Option<String>,
    pub batch_size: usize,
    pub name: String,
    pub kv_cache_dtype: crate::rollout::sampler::KvCacheDtype,
}

impl LocalModel<'_> {
    fn encode(&self, prompt: &verigym_eval::PromptInput) -> Result<Vec<i64>, String> {
        use verigym_eval::PromptInput;
        let tok = &*self.tokenizer;
        match prompt {
            PromptInput::Text(t) => tok.encode(t, true).map_err(|e| e.to_string()),
            PromptInput::Chat(messages) => {
                let template = tok.chat_template().ok_or(
                    "the checkpoint's tokenizer has no chat template; set mode = \"completion\" \
                     in the suite",
                )?;
                let turns: Vec<(&str, &str)> = messages
                    .iter()
                    .map(|m| (m.role.as_str(), m.content.as_str()))
                    .collect();
                tok.encode(&template.render(&turns, true), false)
                    .map_err(|e| e.to_string())
            }
        }
    }
}

impl verigym_eval::Backend for LocalModel<'_> {
    fn describe(&self) -> String {
        self.name.clone()
    }

    fn batch_size(&self) -> usize {
        self.batch_size
    }

    fn default_prompt_template(&self) -> Option<String> {
        self.prompt_template.clone()
    }

    fn complete(
        &self,
        requests: &[verigym_eval::Request],
    ) -> Vec<Result<verigym_eval::Completion, verigym_eval::BackendError>> {
        use crate::rollout::sampler::{Sampler, SamplingParams};
        use verigym_eval::{BackendError, Completion, Failure, Sample};
        let fail = |m: String| BackendError::new(Failure::Item, m);
        // Requests share the suite's sampling settings; the first one's stand for all.
        let Some(first) = requests.first() else {
            return Vec::new();
        };
        let mut prompts = Vec::new();
        let mut seeds = Vec::new();
        let mut encoded = Vec::with_capacity(requests.len());
        for r in requests {
            match self.encode(&r.prompt) {
                Ok(ids) => {
                    for j in 0..r.n {
                        prompts.push(ids.clone());
                        seeds.push(r.seed.wrapping_add(j as u64));
                    }
                    encoded.push(Ok(r.n));
                }
                Err(e) => encoded.push(Err(e)),
            }
        }
        let params = SamplingParams {
            max_new_tokens: first.max_tokens,
            temperature: first.temperature,
            top_p: first.top_p,
            stop_token_ids: self.tokenizer.eos_ids().to_vec(),
            stop_strings: first.stop.clone(),
            kv_cache_dtype: self.kv_cache_dtype,
            ..SamplingParams::default()
        };
        let sampled =
            Sampler::new(&self.tokenizer).generate(&self.model, &prompts, &params, &seeds);
        let mut out = match sampled {
            Ok(c) => c.into_iter(),
            Err(e) => {
                let m = format!("sampling: {e}");
                return requests.iter().map(|_| Err(fail(m.clone()))).collect();
            }
        };
        encoded
            .into_iter()
            .map(|n| {
                let n = n.map_err(fail)?;
                let samples: Vec<_> = out.by_ref().take(n).collect();
                let tokens = samples.iter().map(|c| c.token_ids.len()).sum();
                Ok(Completion {
                    samples: samples
                        .into_iter()
                        .map(|c| Sample {
                            text: c.text,
                            finish_reason: Some(
                                match c.finish_reason {
                                    crate::rollout::sampler::FinishReason::Length => "length",
                                    _ => "stop",
                                }
                                .to_string(),
                            ),
                        })
                        .collect(),
                    completion_tokens: Some(tokens),
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use verigym_envs::{EnvOptions, Registry};

    #[test]
    fn reference_solutions_score_perfectly_and_garbage_scores_zero() {
        let r = Registry::builtin();
        let envs = vec![r.build("arithmetic", &EnvOptions::default()).unwrap()];
        let ts = tasks(&envs, 12, 99).unwrap();
        let by_prompt: std::collections::HashMap<String, String> = ts
            .iter()
            .map(|t| (Template::Compact.prompt(t), t.solution.clone().unwrap()))
            .collect();
        let mut oracle = |_: &[Task], ps: &[String]| {
            Ok(ps
                .iter()
                .map(|p| Generation {
                    text: by_prompt[p].clone(),
                    tokens: 10,
                    verdict: None,
                })
                .collect())
        };
        let rep = evaluate(&envs, &ts, Template::Compact, 5, &mut oracle).unwrap();
        assert_eq!(rep.records.len(), 12);
        assert_eq!(rep.mean_accuracy(), 1.0);
        assert_eq!(rep.per_env[0].mean_length, 10.0);
        let mut junk = |_: &[Task], ps: &[String]| {
            Ok(ps
                .iter()
                .map(|_| Generation {
                    text: "<think>hmm".into(),
                    tokens: 3,
                    verdict: None,
                })
                .collect())
        };
        let rep = evaluate(&envs, &ts, Template::Compact, 5, &mut junk).unwrap();
        assert_eq!(rep.mean_accuracy(), 0.0);
        let mut short = |_: &[Task], _: &[String]| Ok(vec![]);
        assert!(matches!(
            evaluate(&envs, &ts, Template::Compact, 5, &mut short),
            Err(EvalError::Count { .. })
        ));
    }

    #[test]
    fn intervals() {
        let (lo, hi) = wilson(50, 100);
        assert!((lo - 0.404).abs() < 0.01 && (hi - 0.596).abs() < 0.01);
        let (m, h) = mean_ci(&[0.5, 0.6, 0.7]);
        assert!((m - 0.6).abs() < 1e-12 && (h - 4.303 * 0.1 / 3f64.sqrt()).abs() < 1e-9);
    }
}
