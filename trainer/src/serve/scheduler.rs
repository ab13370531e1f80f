//! The model thread of `verigym serve`: it owns the model (tch tensors are not `Sync`),
//! takes jobs from the HTTP handlers over a channel, runs their sequences in one
//! continuous batch (rollout/continuous.rs) and sends each token back on the job's own
//! channel. Between two decode steps it admits whatever has arrived; it sleeps on the
//! channel only while nothing runs.

use crate::policy::checkpoint;
use crate::policy::model::ModelError;
use crate::policy::tokenizer::Tokenizer;
use crate::rollout::continuous::{ContinuousBatch, NewSeq, SeqEvent};
use crate::rollout::sampler::{FinishReason, KvCacheDtype, SamplingParams};
use crossbeam::channel::{Receiver, Sender};
use std::collections::{HashMap, HashSet, VecDeque};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc::UnboundedSender;

/// One sequence of a job: choice `choice` of the request.
pub(crate) struct JobSeq {
    pub choice: usize,
    pub prompt: Vec<i64>,
    pub params: SamplingParams,
    pub seed: u64,
    pub top_logprobs: usize,
}

/// A request's sequences and where their tokens go.
pub(crate) struct Job {
    pub seqs: Vec<JobSeq>,
    pub updates: UnboundedSender<Update>,
}

/// What a job hears back, per token.
#[derive(Debug)]
pub(crate) enum Update {
    Token {
        choice: usize,
        token: i64,
        logprob: f32,
        top: Vec<(i64, f32)>,
        finish: Option<FinishReason>,
    },
    /// The job cannot finish: a sequence was refused (`client_error`), or the model step
    /// failed.
    Failed { message: String, client_error: bool },
}

/// What the model thread needs besides the tokenizer.
pub(crate) struct SchedulerConfig {
    pub model_dir: PathBuf,
    pub device: tch::Device,
    pub kind: tch::Kind,
    pub max_rows: usize,
    pub max_slots: usize,
    pub kv_cache_dtype: KvCacheDtype,
}

/// What the handlers learn of the model once it is loaded.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ModelInfo {
    pub max_positions: usize,
    pub vocab_size: usize,
    pub fused: bool,
}

/// The handlers' side of the model thread.
pub(crate) struct Scheduler {
    pub jobs: Sender<Job>,
    /// Sequences sent and not yet admitted (the handlers refuse work past a limit).
    pub waiting: Arc<AtomicUsize>,
    pub info: ModelInfo,
}

/// Starts the model thread, loads the model on it and waits until it is ready. The thread
/// ends once every `Sender` of the returned scheduler is dropped and its work is done.
pub(crate) fn spawn(
    cfg: SchedulerConfig,
    tokenizer: Arc<Tokenizer>,
) -> Result<(Scheduler, std::thread::JoinHandle<()>), ModelError> {
    let (jobs, inbox) = crossbeam::channel::unbounded::<Job>();
    let waiting = Arc::new(AtomicUsize::new(0));
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let count = waiting.clone();
    let handle = std::thread::Builder::new()
        .name("model".into())
        .spawn(move || {
            let model = match checkpoint::load_model(&cfg.model_dir, cfg.device, cfg.kind) {
                Ok(m) => m,
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                    return;
                }
            };
            let _guard = tch::no_grad_guard();
            let fresh = || {
                ContinuousBatch::new(
                    &model,
                    Some(&tokenizer),
                    cfg.max_rows,
                    cfg.max_slots,
                    cfg.kv_cache_dtype,
                )
            };
            let mut lane = Lane {
                batch: fresh(),
                queue: VecDeque::new(),
                owners: HashMap::new(),
                events: Vec::new(),
                next_key: 0,
                waiting: count,
                admitting: Duration::ZERO,
                stepping: Duration::ZERO,
            };
            let info = ModelInfo {
                max_positions: usize::try_from(model.max_positions()).unwrap_or(0),
                vocab_size: model.cfg.vocab_size,
                fused: lane.batch.fused(),
            };
            let _ = ready_tx.send(Ok(info));
            lane.run(&inbox, fresh);
        })
        .map_err(|e| ModelError::Checkpoint(format!("starting the model thread: {e}")))?;
    let info = ready_rx
        .recv()
        .map_err(|_| ModelError::Checkpoint("the model thread stopped while loading".into()))??;
    Ok((
        Scheduler {
            jobs,
            waiting,
            info,
        },
        handle,
    ))
}

/// The model thread's state: the batch, the sequences waiting to join it, and who each
/// sequence's tokens go to.
struct Lane<'a> {
    batch: ContinuousBatch<'a>,
    queue: VecDeque<NewSeq>,
    /// Sequence key -> (its job's channel, its choice index).
    owners: HashMap<u64, (UnboundedSender<Update>, usize)>,
    events: Vec<SeqEvent>,
    next_key: u64,
    waiting: Arc<AtomicUsize>,
    /// Time spent admitting sequences and in decode steps (the stats of the batch in hand).
    admitting: Duration,
    stepping: Duration,
}

impl<'a> Lane<'a> {
    /// Serves until the job channel closes and the work in hand is done. A failed or
    /// panicking step fails the jobs in the batch (never the server) and starts a new
    /// batch from `fresh`.
    fn run(&mut self, inbox: &Receiver<Job>, fresh: impl Fn() -> ContinuousBatch<'a>) {
        loop {
            if self.batch.live() == 0 && self.queue.is_empty() {
                match inbox.recv() {
                    Ok(job) => self.enqueue(job),
                    Err(_) => {
                        self.report();
                        return;
                    }
                }
            }
            while let Ok(job) = inbox.try_recv() {
                self.enqueue(job);
            }
            self.drop_abandoned();
            let before = self.queue.len();
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                let t0 = Instant::now();
                self.batch.admit(&mut self.queue, &mut self.events)?;
                let t1 = Instant::now();
                self.admitting += t1 - t0;
                if self.batch.live() > 0 {
                    self.batch.step(&mut self.events)?;
                    self.stepping += t1.elapsed();
                }
                Ok::<(), crate::rollout::sampler::SampleError>(())
            }));
            self.left_queue(before);
            self.dispatch();
            let failure = match outcome {
                Ok(Ok(())) => continue,
                Ok(Err(e)) => e.to_string(),
                Err(_) => "the model step panicked".to_string(),
            };
            eprintln!("verigym serve: {failure}; failing the requests in the batch");
            self.fail_running(&failure);
            self.batch = fresh();
        }
    }

    /// What the model thread did, on stderr as it ends.
    fn report(&self) {
        let s = self.batch.stats();
        eprintln!(
            "verigym serve: {:.2} s admitting (prefill), {:.2} s in decode steps; {} sequences \
             joined a running batch ({} in a finished one's row), {} cache moves, {} \
             compactions",
            self.admitting.as_secs_f64(),
            self.stepping.as_secs_f64(),
            s.joined_running,
            s.reused_rows,
            s.relayouts,
            s.compactions
        );
    }

    fn enqueue(&mut self, job: Job) {
        for s in job.seqs {
            let key = self.next_key;
            self.next_key += 1;
            self.owners.insert(key, (job.updates.clone(), s.choice));
            self.queue.push_back(NewSeq {
                key,
                prompt: s.prompt,
                params: s.params,
                seed: s.seed,
                top_logprobs: s.top_logprobs,
            });
        }
    }

    /// Forgets waiting sequences whose client has gone.
    fn drop_abandoned(&mut self) {
        let before = self.queue.len();
        let owners = &mut self.owners;
        self.queue.retain(|s| {
            let open = owners.get(&s.key).is_some_and(|(tx, _)| !tx.is_closed());
            if !open {
                owners.remove(&s.key);
            }
            open
        });
        self.left_queue(before);
    }

    /// Counts the sequences that left the queue since it held `before`.
    fn left_queue(&self, before: usize) {
        let gone = before.saturating_sub(self.queue.len());
        let _ = self
            .waiting
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |w| {
                Some(w.saturating_sub(gone))
            });
    }

    /// Sends the events to their jobs; a job that stopped listening has its sequences
    /// dropped from the batch.
    fn dispatch(&mut self) {
        for event in std::mem::take(&mut self.events) {
            match event {
                SeqEvent::Token {
                    key,
                    token,
                    logprob,
                    top,
                    finish,
                } => {
                    let Some((tx, choice)) = self.owners.get(&key) else {
                        continue;
                    };
                    let done = finish.is_some();
                    let sent = tx
                        .send(Update::Token {
                            choice: *choice,
                            token,
                            logprob,
                            top,
                            finish,
                        })
                        .is_ok();
                    if done || !sent {
                        self.owners.remove(&key);
                    }
                    if !sent {
                        self.batch.cancel(key);
                    }
                }
                SeqEvent::Rejected { key, reason } => {
                    if let Some((tx, _)) = self.owners.remove(&key) {
                        let _ = tx.send(Update::Failed {
                            message: reason,
                            client_error: true,
                        });
                    }
                }
            }
        }
    }

    /// Fails every job with a sequence that left the queue (in the batch, or being
    /// admitted when the step failed).
    fn fail_running(&mut self, message: &str) {
        let queued: HashSet<u64> = self.queue.iter().map(|s| s.key).collect();
        let running: Vec<u64> = self
            .owners
            .keys()
            .copied()
            .filter(|k| !queued.contains(k))
            .collect();
        for key in running {
            if let Some((tx, _)) = self.owners.remove(&key) {
                let _ = tx.send(Update::Failed {
                    message: format!("generation failed: {message}"),
                    client_error: false,
                });
            }
        }
    }
}
