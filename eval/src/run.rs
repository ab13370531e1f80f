//! The eval loop: expand the suite, skip what `results.jsonl` already holds, send the rest
//! to the backend from `concurrency` workers (retrying what is worth retrying, with
//! backoff), score each reply with the env's verifier, and append every finished task as it
//! arrives. Every task ends as a line: completions and verdicts, or its error.

use crate::backend::{request_for, Backend, BackendError, Completion, Failure, PromptInput};
use crate::report::Summary;
use crate::results::{claim, ItemResult, Manifest, Store};
use crate::suite::{Expanded, Item, Suite};
use crate::EvalError;
use crossbeam::channel;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// How the loop runs (the suite says what to ask).
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Extra tries of a retryable failure (429, 5xx, timeouts, dropped connections).
    pub retries: u32,
    /// The first backoff; it doubles per try, up to `max_backoff`.
    pub backoff: Duration,
    pub max_backoff: Duration,
    /// Draw a progress bar on stderr.
    pub progress: bool,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            retries: 3,
            backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(8),
            progress: true,
        }
    }
}

/// Runs (or resumes) `suite` against `backend` into `out`, then writes the summary,
/// report and chart. Returns the summary.
pub fn run(
    suite: &Suite,
    backend: &dyn Backend,
    out: &Path,
    opts: &RunOptions,
) -> Result<Summary, EvalError> {
    let started = Instant::now();
    claim(
        out,
        &Manifest {
            suite: suite.clone(),
            model: backend.describe(),
        },
    )?;
    let expanded = suite.expand()?;
    let (mut store, mut done) = Store::open(out)?;
    for key in done.keys() {
        if !expanded.items.iter().any(|i| &i.key == key) {
            return Err(EvalError::Mismatch(format!(
                "{} has a result for {key:?}, which the suite does not contain; use another --out",
                out.display()
            )));
        }
    }
    let pending: Vec<&Item> = expanded
        .items
        .iter()
        .filter(|i| done.get(&i.key).is_none_or(|r| r.error.is_some()))
        .collect();
    let bar = crate::progress::styled_bar(
        expanded.items.len() as u64,
        opts.progress,
        "    eval [{bar:30}] {pos}/{len} tasks {msg} ({per_sec}, {elapsed} < {eta})",
    );
    bar.set_position((expanded.items.len() - pending.len()) as u64);
    let template = backend.default_prompt_template();
    let stop = AtomicBool::new(false);
    let mut fatal: Option<EvalError> = None;
    let (mut correct, mut samples) = (0usize, 0usize);
    // Appends a finished task (or records the first fatal error, which stops the eval).
    let mut finish =
        |r: Result<ItemResult, EvalError>| match r.and_then(|r| store.append(&r).map(|()| r)) {
            Ok(r) => {
                correct += r.correct.iter().filter(|&&c| c).count();
                samples += r.correct.len();
                if samples > 0 {
                    bar.set_message(format!(
                        "accuracy {:.3} (this session)",
                        correct as f64 / samples as f64
                    ));
                }
                bar.inc(1);
                done.insert(r.key(), r);
            }
            Err(e) => {
                stop.store(true, Ordering::Relaxed);
                fatal.get_or_insert(e);
            }
        };
    let chunks: Vec<&[&Item]> = pending.chunks(backend.batch_size().max(1)).collect();
    match backend.shared() {
        // Several requests in flight: workers ask, this thread writes.
        Some(shared) if backend.concurrency() > 1 => {
            let (work_tx, work_rx) = channel::unbounded::<&[&Item]>();
            for chunk in &chunks {
                // The receiver lives until the workers end; a send cannot fail here.
                let _ = work_tx.send(chunk);
            }
            drop(work_tx);
            let (done_tx, done_rx) = channel::unbounded::<Result<ItemResult, EvalError>>();
            std::thread::scope(|scope| {
                for _ in 0..backend.concurrency() {
                    let (work_rx, done_tx) = (work_rx.clone(), done_tx.clone());
                    let (expanded, stop, template) = (&expanded, &stop, template.as_deref());
                    scope.spawn(move || {
                        for chunk in work_rx.iter() {
                            if stop.load(Ordering::Relaxed) {
                                break;
                            }
                            let asked = ask(suite, shared, expanded, chunk, template, opts, stop);
                            for r in asked {
                                if done_tx.send(r).is_err() {
                                    return;
                                }
                            }
                        }
                    });
                }
                drop(done_tx);
                done_rx.iter().for_each(&mut finish);
            });
        }
        // One at a time, on this thread (a local model).
        _ => {
            for chunk in chunks {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let asked = ask(
                    suite,
                    backend,
                    &expanded,
                    chunk,
                    template.as_deref(),
                    opts,
                    &stop,
                );
                asked.into_iter().for_each(&mut finish);
            }
        }
    }
    bar.finish_and_clear();
    if let Some(e) = fatal {
        return Err(e);
    }
    let ordered: Vec<&ItemResult> = expanded
        .items
        .iter()
        .filter_map(|i| done.get(&i.key))
        .collect();
    if ordered.len() != expanded.items.len() {
        return Err(EvalError::Mismatch(format!(
            "{} of {} tasks have no result",
            expanded.items.len() - ordered.len(),
            expanded.items.len()
        )));
    }
    store.rewrite(&ordered)?;
    let summary = Summary::of(
        suite,
        &backend.describe(),
        &ordered,
        started.elapsed().as_secs_f64(),
    );
    crate::report::write(out, &summary)?;
    Ok(summary)
}

/// Asks for one chunk of items, retrying retryable failures; scores what comes back. A
/// fatal failure stops the eval (an `Err`); any other failure becomes the item's error.
fn ask(
    suite: &Suite,
    backend: &dyn Backend,
    expanded: &Expanded,
    items: &[&Item],
    template: Option<&str>,
    opts: &RunOptions,
    stop: &AtomicBool,
) -> Vec<Result<ItemResult, EvalError>> {
    let requests: Vec<_> = items
        .iter()
        .map(|i| request_for(suite, &i.task, i.key.sampling_seed(), template))
        .collect();
    let started = Instant::now();
    let mut replies: Vec<Option<Result<Completion, BackendError>>> = vec![None; items.len()];
    let mut attempts = 0u32;
    let mut todo: Vec<usize> = (0..items.len()).collect();
    while !todo.is_empty() {
        if attempts > 0 {
            let wait = opts.backoff.saturating_mul(1 << (attempts - 1).min(16));
            std::thread::sleep(wait.min(opts.max_backoff));
        }
        attempts += 1;
        let batch: Vec<_> = todo.iter().map(|&i| requests[i].clone()).collect();
        let got = backend.complete(&batch);
        let mut again = Vec::new();
        for (slot, &i) in todo.iter().enumerate() {
            let reply = got.get(slot).cloned().unwrap_or_else(|| {
                Err(BackendError::new(
                    Failure::Retryable,
                    format!(
                        "the backend answered {} of {} requests",
                        got.len(),
                        batch.len()
                    ),
                ))
            });
            let retry = matches!(&reply, Err(e) if e.failure == Failure::Retryable)
                && attempts <= opts.retries
                && !stop.load(Ordering::Relaxed);
            if retry {
                again.push(i);
            }
            replies[i] = Some(reply);
        }
        todo = again;
    }
    let latency_s = started.elapsed().as_secs_f64();
    items
        .iter()
        .zip(requests)
        .zip(replies)
        .map(|((item, request), reply)| {
            let prompt = match &request.prompt {
                PromptInput::Text(t) => serde_json::json!(t),
                PromptInput::Chat(m) => serde_json::json!(m),
            };
            let mut r = ItemResult {
                env: item.key.env.clone(),
                seed: item.key.seed,
                index: item.key.index,
                difficulty: item.key.difficulty,
                entry: item.key.entry,
                prompt,
                completions: Vec::new(),
                rewards: Vec::new(),
                correct: Vec::new(),
                extracted: Vec::new(),
                finish_reasons: Vec::new(),
                tokens: None,
                latency_s,
                attempts,
                error: None,
            };
            match reply {
                Some(Ok(c)) => score(expanded, item, c, &mut r),
                Some(Err(e)) if e.failure == Failure::Fatal => {
                    return Err(EvalError::Backend(e.message))
                }
                Some(Err(e)) => {
                    let tries = if attempts > 1 {
                        format!(" (after {attempts} tries)")
                    } else {
                        String::new()
                    };
                    r.error = Some(format!("{}{tries}", e.message));
                }
                None => r.error = Some("no reply".into()),
            }
            Ok(r)
        })
        .collect()
}

/// Fills in the completions and the verifier's verdicts.
fn score(expanded: &Expanded, item: &Item, c: Completion, r: &mut ItemResult) {
    let Some(env) = expanded.env_of(&item.key) else {
        r.error = Some("the env of this task is missing".into());
        return;
    };
    r.tokens = c.completion_tokens;
    for s in c.samples {
        match env.verify(&item.task, &s.text) {
            Ok(v) => {
                r.rewards.push(v.reward);
                r.correct.push(v.correct);
                r.extracted.push(v.extracted);
            }
            Err(e) => {
                r.rewards.push(0.0);
                r.correct.push(false);
                r.extracted.push(None);
                r.error.get_or_insert(format!("verifier: {e}"));
            }
        }
        r.completions.push(s.text);
        r.finish_reasons.push(s.finish_reason);
    }
}
