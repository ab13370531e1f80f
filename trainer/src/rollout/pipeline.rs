//! The rollout pipeline (DESIGN.md, "The rollout pipeline"): the model thread samples groups
//! of completions with the batched KV-cache sampler and sends the text over a crossbeam
//! channel to a rayon pool of verifiers, which score while the model thread goes on
//! (sampling the next chunk, computing reference log-probs). Tensors never leave the model
//! thread; the channels carry strings, token ids and verdicts.

use super::config::RolloutConfig;
use super::episodes::{EpisodeDriver, EpisodeOutcome};
use super::mixture::{derive, Drawn, Mixture};
use super::sampler::{Completion, FinishReason, SampleError, Sampler, SamplingParams};
use crate::policy::Model;
use crate::policy::Tokenizer;
use crate::rm::reward::EnsembleScore;
use crossbeam::channel::{unbounded, Receiver, Sender};
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::{Duration, Instant};
use verigym_envs::{Environment, EpisodeStats, Prompt, Task};
use verigym_verifiers::{Rubric, Verdict};

/// One sampled completion and, once scored, its verdict and reward.
#[derive(Debug, Clone)]
pub struct Rollout {
    /// Which group (task) of the step it belongs to.
    pub group: usize,
    /// The env slot of the mixture.
    pub slot: usize,
    pub task: Arc<Task>,
    pub prompt_ids: Arc<Vec<i64>>,
    pub completion_ids: Vec<i64>,
    /// Sampling-time log-probs of `completion_ids` (the "old" policy).
    pub logprobs: Vec<f32>,
    /// Per completion token: counts in the loss (false for env-inserted tokens).
    pub loss_mask: Vec<bool>,
    pub text: String,
    /// Ended by the token budget rather than a stop token.
    pub truncated: bool,
    pub verdict: Option<Verdict>,
    /// The reward the learner uses: the verifier's (verdict reward, rubric, overlong
    /// shaping), mixed with reward models and length as `[reward]` says.
    pub reward: f64,
    /// The verifier's part alone (equal to `reward` when nothing is mixed in).
    pub verifier_reward: f64,
    /// The reward models' scores, when the run has any.
    pub rm: Option<EnsembleScore>,
    pub verify_error: Option<String>,
    /// Turns, tool calls and tool errors, for a multi-turn episode.
    pub episode: Option<EpisodeStats>,
}

struct Job {
    id: usize,
    env: Arc<dyn Environment>,
    task: Arc<Task>,
    text: String,
}

type Scored = (usize, Result<Verdict, String>);

/// A long-lived rayon pool of verifiers fed over a channel.
pub struct Scorer {
    jobs: Option<Sender<Job>>,
    results: Receiver<Scored>,
    dispatcher: Option<std::thread::JoinHandle<()>>,
}

impl Scorer {
    pub fn new(threads: usize) -> Result<Scorer, String> {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("verifier-{i}"))
            .build()
            .map_err(|e| e.to_string())?;
        let (job_tx, job_rx) = unbounded::<Job>();
        let (res_tx, res_rx) = unbounded::<Scored>();
        let dispatcher = std::thread::Builder::new()
            .name("verifier-dispatch".into())
            .spawn(move || {
                for job in job_rx {
                    let tx = res_tx.clone();
                    pool.spawn(move || {
                        // Verifiers must not panic; if one does, the completion scores 0 and
                        // the run goes on rather than hanging on a result that never comes.
                        let r = std::panic::catch_unwind(AssertUnwindSafe(|| {
                            job.env.verify(&job.task, &job.text)
                        }));
                        let r = match r {
                            Ok(Ok(v)) => Ok(v),
                            Ok(Err(e)) => Err(e.to_string()),
                            Err(_) => Err("verifier panicked".to_string()),
                        };
                        let _ = tx.send((job.id, r));
                    });
                }
            })
            .map_err(|e| e.to_string())?;
        Ok(Scorer {
            jobs: Some(job_tx),
            results: res_rx,
            dispatcher: Some(dispatcher),
        })
    }

    fn submit(&self, job: Job) -> Result<(), String> {
        match &self.jobs {
            Some(tx) => tx
                .send(job)
                .map_err(|_| "verifier pool is gone".to_string()),
            None => Err("verifier pool is shut down".into()),
        }
    }
}

impl Drop for Scorer {
    fn drop(&mut self) {
        self.jobs.take();
        if let Some(h) = self.dispatcher.take() {
            let _ = h.join();
        }
    }
}

/// Rollouts of one sampling round, submitted for scoring; [`Pending::collect`] waits for
/// the verdicts.
pub struct Pending {
    pub rollouts: Vec<Rollout>,
    pub sample_time: Duration,
    pub new_tokens: usize,
    submitted: usize,
}

/// The text fed to the model for a task. A chat prompt (system and user messages, as
/// multi-turn envs write theirs) goes through the chat template message by message.
pub fn prompt_text(cfg: &RolloutConfig, tok: &Tokenizer, task: &Task) -> String {
    if let (Prompt::Chat(messages), true, Some(t)) = (&task.prompt, cfg.chat, tok.chat_template()) {
        if cfg.prompt_template == "{prompt}" {
            let pairs: Vec<(&str, &str)> = messages
                .iter()
                .map(|m| (m.role.as_str(), m.content.as_str()))
                .collect();
            return t.render(&pairs, true);
        }
    }
    let text = cfg
        .prompt_template
        .replace("{prompt}", &task.prompt.to_text())
        .replace("{question}", &task.question);
    if cfg.chat && tok.chat_template().is_some() {
        tok.apply_chat(&text).unwrap_or(text)
    } else {
        text
    }
}

pub fn sampling_params(cfg: &RolloutConfig, tok: &Tokenizer) -> SamplingParams {
    SamplingParams {
        max_new_tokens: cfg.max_new_tokens,
        temperature: cfg.temperature,
        top_k: cfg.top_k,
        top_p: cfg.top_p,
        min_p: cfg.min_p,
        stop_token_ids: tok.eos_ids().to_vec(),
        stop_strings: Vec::new(),
        kv_cache_dtype: cfg.kv_cache_dtype,
    }
}

/// Samples `group_size` completions for each drawn task and submits them for scoring.
/// Sequence seeds are `derive(run seed, step, round, group, member)`.
#[allow(clippy::too_many_arguments)]
pub fn sample_round(
    model: &Model,
    tok: &Tokenizer,
    cfg: &RolloutConfig,
    mixture: &Mixture,
    scorer: &Scorer,
    drawn: &[Drawn],
    seed: u64,
    step: u64,
    round: u64,
    first_group: usize,
) -> Result<Pending, SampleError> {
    let start = Instant::now();
    let params = sampling_params(cfg, tok);
    let g = cfg.group_size;
    let mut prompts = Vec::with_capacity(drawn.len());
    for d in drawn {
        let ids = tok.encode(&prompt_text(cfg, tok, &d.task), true)?;
        if ids.is_empty() {
            return Err(SampleError::Invalid(format!(
                "task {} of {} encodes to an empty prompt",
                d.task.index, d.task.env
            )));
        }
        prompts.push(Arc::new(ids));
    }
    let mut rows: Vec<(usize, usize)> = Vec::with_capacity(drawn.len() * g);
    for i in 0..drawn.len() {
        for m in 0..g {
            rows.push((i, m));
        }
    }
    let chunk = if cfg.sample_batch == 0 {
        rows.len().max(1)
    } else {
        cfg.sample_batch
    };
    let sampler = Sampler::new(tok);
    let mut rollouts = Vec::with_capacity(rows.len());
    let mut new_tokens = 0;
    for part in rows.chunks(chunk) {
        let ids: Vec<Vec<i64>> = part
            .iter()
            .map(|&(i, _)| prompts.get(i).map(|p| p.to_vec()).unwrap_or_default())
            .collect();
        let seeds: Vec<u64> = part
            .iter()
            .map(|&(i, m)| derive(&[seed, step, round, (first_group + i) as u64, m as u64]))
            .collect();
        let episodic: Vec<Option<(&dyn Environment, Task)>> = part
            .iter()
            .map(|&(i, _)| {
                let d = drawn.get(i)?;
                let env = mixture.envs.get(d.slot)?.env.as_ref();
                env.is_multi_turn().then(|| (env, (*d.task).clone()))
            })
            .collect();
        let (outs, mut outcomes) = if episodic.iter().any(Option::is_some) {
            let mut driver = EpisodeDriver::new(tok, episodic);
            let outs = sampler.generate_turns(model, &ids, &params, &seeds, &mut driver)?;
            (outs, driver.finish())
        } else {
            let outs = sampler.generate(model, &ids, &params, &seeds)?;
            (outs, Vec::new())
        };
        for (k, (&(i, _), c)) in part.iter().zip(outs).enumerate() {
            let (Some(d), Some(p)) = (drawn.get(i), prompts.get(i)) else {
                continue;
            };
            new_tokens += c.token_ids.len();
            let id = rollouts.len();
            let mut r = rollout_of(first_group + i, d, p.clone(), c);
            if let Some(o) = outcomes.get_mut(k).and_then(Option::take) {
                // The episode already has its verdict: nothing to send to the verifiers.
                set_outcome(&mut r, o);
                rollouts.push(r);
                continue;
            }
            let env = mixture
                .envs
                .get(d.slot)
                .map(|e| e.env.clone())
                .ok_or_else(|| SampleError::Invalid(format!("no env in slot {}", d.slot)))?;
            scorer
                .submit(Job {
                    id,
                    env,
                    task: d.task.clone(),
                    text: r.text.clone(),
                })
                .map_err(SampleError::Invalid)?;
            rollouts.push(r);
        }
    }
    let submitted = rollouts.iter().filter(|r| r.episode.is_none()).count();
    Ok(Pending {
        rollouts,
        sample_time: start.elapsed(),
        new_tokens,
        submitted,
    })
}

fn rollout_of(group: usize, d: &Drawn, prompt_ids: Arc<Vec<i64>>, c: Completion) -> Rollout {
    Rollout {
        group,
        slot: d.slot,
        task: d.task.clone(),
        prompt_ids,
        truncated: matches!(c.finish_reason, FinishReason::Length),
        completion_ids: c.token_ids,
        logprobs: c.logprobs,
        loss_mask: c.loss_mask,
        text: c.text,
        verdict: None,
        reward: 0.0,
        verifier_reward: 0.0,
        rm: None,
        verify_error: None,
        episode: None,
    }
}

fn set_outcome(r: &mut Rollout, o: EpisodeOutcome) {
    match o.verdict {
        Ok(v) => r.verdict = Some(v),
        Err(e) => r.verify_error = Some(e),
    }
    r.episode = Some(o.stats);
}

/// How rewards are shaped after verification.
pub struct Shaping<'a> {
    pub rubrics: Vec<Option<&'a Rubric>>,
    pub overlong: Option<(usize, usize, f64)>,
}

impl Pending {
    /// Waits for every verdict, applies the env's rubric and the overlong shaping.
    pub fn collect(
        mut self,
        scorer: &Scorer,
        shaping: &Shaping,
    ) -> Result<(Vec<Rollout>, Duration), String> {
        let start = Instant::now();
        for _ in 0..self.submitted {
            let (id, r) = scorer
                .results
                .recv()
                .map_err(|_| "verifier pool stopped".to_string())?;
            let Some(ro) = self.rollouts.get_mut(id) else {
                continue;
            };
            match r {
                Ok(v) => ro.verdict = Some(v),
                Err(e) => ro.verify_error = Some(e),
            }
        }
        for ro in &mut self.rollouts {
            ro.reward = 0.0;
            if let Some(v) = ro.verdict.take() {
                let v = match shaping.rubrics.get(ro.slot).copied().flatten() {
                    Some(rubric) => rubric.apply(v),
                    None => v,
                };
                ro.reward = if v.reward.is_finite() { v.reward } else { 0.0 };
                ro.verdict = Some(v);
            }
            if let Some((max_len, cache, factor)) = shaping.overlong {
                ro.reward +=
                    factor * soft_overlong_penalty(ro.completion_ids.len(), max_len, cache);
            }
            ro.verifier_reward = ro.reward;
        }
        Ok((self.rollouts, start.elapsed()))
    }
}

/// DAPO's soft overlong punishment: 0 up to `max_len - cache`, then falling linearly to -1
/// at `max_len`, and -1 beyond. `cache = 0` gives -1 only past `max_len`.
pub fn soft_overlong_penalty(len: usize, max_len: usize, cache: usize) -> f64 {
    let start = max_len.saturating_sub(cache);
    if len <= start {
        0.0
    } else if len <= max_len {
        (start as f64 - len as f64) / cache.max(1) as f64
    } else {
        -1.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlong_penalty_ramps_over_the_cache() {
        assert_eq!(soft_overlong_penalty(10, 64, 16), 0.0);
        assert_eq!(soft_overlong_penalty(48, 64, 16), 0.0);
        assert!((soft_overlong_penalty(56, 64, 16) + 0.5).abs() < 1e-12);
        assert_eq!(soft_overlong_penalty(64, 64, 16), -1.0);
        assert_eq!(soft_overlong_penalty(65, 64, 16), -1.0);
        assert_eq!(soft_overlong_penalty(64, 64, 0), 0.0);
    }
}
