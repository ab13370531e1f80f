//! The optimisation loop of the next-token stages (pretraining and SFT): a batch per step,
//! the shared AdamW with warm-up and cosine decay, gradient clipping, periodic validation
//! with early stopping and the best weights kept. The loop's state (step, optimiser moments,
//! best weights, validation history) is what a run folder saves, so a resumed run continues
//! bit for bit: batches are a function of the step, never of a stream's history.

use super::sft::{Row, SftConfig, SftError, SftReport};
use crate::optim::{lr_at, AdamW, OptimConfig};
use crate::util::progress::progress_bar;
use tch::{nn, Tensor};
use verigym_envs::TaskRng;

/// The weights of the best validation loss so far.
pub type Snapshot = Vec<(String, Tensor)>;

/// What the loop carries from step to step.
pub struct LoopState {
    /// The next step to run.
    pub step: usize,
    pub opt: AdamW,
    pub best: Option<Snapshot>,
    pub report: SftReport,
    /// Evaluations since the validation loss last improved.
    pub stale: usize,
}

/// One step's numbers, as a stage logs them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepRecord {
    /// 1-based: the number of optimiser steps taken.
    pub step: usize,
    pub loss: f64,
    pub lr: f64,
    pub grad_norm: f64,
    pub tokens: usize,
    pub val_loss: Option<f64>,
}

/// Where a stage hooks into the loop: restoring saved state before the first step, and
/// logging / saving after each one. The in-memory runs of the demo use [`NoHooks`].
pub trait Hooks {
    fn start(&mut self, _state: &mut LoopState) -> Result<(), SftError> {
        Ok(())
    }
    fn after_step(&mut self, _rec: &StepRecord, _state: &LoopState) -> Result<(), SftError> {
        Ok(())
    }
    /// Stop now, as if killed: no final restore of the best weights (resume tests).
    fn stop(&self) -> bool {
        false
    }
}

pub struct NoHooks;
impl Hooks for NoHooks {}

impl SftConfig {
    /// The shared optimiser's settings for these knobs (torch's AdamW defaults otherwise).
    pub fn optim(&self) -> OptimConfig {
        OptimConfig {
            lr: self.lr,
            weight_decay: self.weight_decay,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            warmup_steps: self.warmup_steps,
            schedule: crate::optim::Schedule::Cosine,
            min_lr_ratio: self.min_lr_ratio,
            max_grad_norm: self.grad_clip,
        }
    }
}

/// Trainable variables of `vs` in name order (a VarStore's map order is not stable).
pub fn trainable(vs: &nn::VarStore) -> Vec<Tensor> {
    let mut vars: Vec<(String, Tensor)> = vs.variables().into_iter().collect();
    vars.sort_by(|a, b| a.0.cmp(&b.0));
    vars.into_iter()
        .map(|(_, t)| t)
        .filter(|t| t.requires_grad())
        .collect()
}

/// Runs `cfg.max_steps` steps: `batch(step)` gives the rows of a step, `objective` their
/// mean loss and token count, `validate` the validation loss (when `validating`).
#[allow(clippy::too_many_arguments)]
pub fn run_loop(
    vs: &nn::VarStore,
    cfg: &SftConfig,
    report: SftReport,
    mut batch: impl FnMut(usize) -> Result<Vec<Row>, SftError>,
    objective: impl Fn(&[&Row]) -> Result<(Tensor, usize), SftError>,
    validate: impl Fn(&nn::VarStore) -> Result<f64, SftError>,
    validating: bool,
    hooks: &mut dyn Hooks,
) -> Result<SftReport, SftError> {
    let optim = cfg.optim();
    let mut st = LoopState {
        step: 0,
        opt: AdamW::new(trainable(vs), optim.clone()),
        best: None,
        report,
        stale: 0,
    };
    hooks.start(&mut st)?;
    let bar = progress_bar(cfg.max_steps as u64, "train", cfg.progress);
    bar.set_position(st.step as u64);
    let validating = validating && cfg.eval_every > 0;
    while st.step < cfg.max_steps && !st.report.stopped_early {
        let rows = batch(st.step)?;
        if rows.is_empty() {
            break;
        }
        let refs: Vec<&Row> = rows.iter().collect();
        let lr = lr_at(&optim, st.step, cfg.max_steps);
        let (loss, tokens) = objective(&refs)?;
        st.opt.zero_grad();
        loss.backward();
        let grad_norm = st.opt.clip_grad_norm(cfg.grad_clip);
        let l = loss.double_value(&[]);
        if !(l.is_finite() && grad_norm.is_finite()) {
            st.opt.zero_grad();
            return Err(SftError::Config(format!(
                "non-finite loss ({l}) or gradient norm ({grad_norm}) at step {}: stopping \
                 before the update (lower optim.lr)",
                st.step + 1
            )));
        }
        st.opt.step(lr);
        st.step += 1;
        let step = st.step;
        st.report.train_loss.push((step, l));
        st.report.tokens_trained += tokens;
        st.report.steps = step;
        let mut val_loss = None;
        if validating && (step.is_multiple_of(cfg.eval_every) || step == cfg.max_steps) {
            let v = validate(vs)?;
            val_loss = Some(v);
            st.report.val_loss.push((step, v));
            if st
                .report
                .best_val_loss
                .is_none_or(|b| v < b - cfg.min_delta)
            {
                st.report.best_val_loss = Some(v);
                st.stale = 0;
                if cfg.keep_best {
                    st.best = Some(snapshot(vs));
                }
            } else {
                st.stale += 1;
                st.report.stopped_early = cfg.patience > 0 && st.stale >= cfg.patience;
            }
        }
        bar.set_message(format!("loss {l:.3}"));
        bar.inc(1);
        let rec = StepRecord {
            step,
            loss: l,
            lr,
            grad_norm,
            tokens,
            val_loss,
        };
        hooks.after_step(&rec, &st)?;
        if hooks.stop() {
            return Ok(st.report);
        }
    }
    if let Some(b) = &st.best {
        restore(vs, b);
    }
    bar.finish_and_clear();
    Ok(st.report)
}

/// The rows of step `step`: rows are visited in a fresh shuffle each epoch (the shuffle of
/// epoch e is seeded by (seed, e)), `batch` at a time, so any step's batch can be computed
/// without replaying the ones before it.
pub struct EpochOrder {
    n: usize,
    batch: usize,
    seed: u64,
    cached: Option<(usize, Vec<usize>)>,
}

impl EpochOrder {
    pub fn new(n: usize, batch: usize, seed: u64) -> EpochOrder {
        EpochOrder {
            n,
            batch: batch.min(n),
            seed,
            cached: None,
        }
    }

    /// Row indices of step `step`.
    pub fn batch(&mut self, step: usize) -> Vec<usize> {
        if self.n == 0 {
            return Vec::new();
        }
        (0..self.batch)
            .map(|j| {
                let k = step * self.batch + j;
                let (epoch, at) = (k / self.n, k % self.n);
                self.permutation(epoch)[at]
            })
            .collect()
    }

    fn permutation(&mut self, epoch: usize) -> &[usize] {
        if self.cached.as_ref().is_none_or(|(e, _)| *e != epoch) {
            let mut order: Vec<usize> = (0..self.n).collect();
            let mix = (epoch as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
            TaskRng::from_seed(self.seed ^ mix).shuffle(&mut order);
            self.cached = Some((epoch, order));
        }
        self.cached.as_ref().map_or(&[], |(_, o)| o.as_slice())
    }
}

/// Detached copies of every variable of `vs`, by name.
pub fn snapshot(vs: &nn::VarStore) -> Snapshot {
    let _g = tch::no_grad_guard();
    vs.variables()
        .into_iter()
        .map(|(name, t)| (name, t.detach().copy()))
        .collect()
}

/// Writes a [`snapshot`] back into `vs` (names it does not have are ignored).
pub fn restore(vs: &nn::VarStore, saved: &[(String, Tensor)]) {
    let _g = tch::no_grad_guard();
    let vars = vs.variables();
    for (name, t) in saved {
        if let Some(mut v) = vars.get(name).map(|v| v.shallow_clone()) {
            v.copy_(t);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_row_once_per_epoch_and_any_step_on_its_own() {
        let mut a = EpochOrder::new(10, 4, 7);
        let steps: Vec<Vec<usize>> = (0..5).map(|s| a.batch(s)).collect();
        let flat: Vec<usize> = steps.concat();
        let mut first: Vec<usize> = flat[..10].to_vec();
        first.sort_unstable();
        assert_eq!(first, (0..10).collect::<Vec<_>>());
        let mut second: Vec<usize> = flat[10..20].to_vec();
        second.sort_unstable();
        assert_eq!(second, (0..10).collect::<Vec<_>>());
        assert_ne!(flat[..10], flat[10..20], "each epoch is shuffled afresh");
        // A fresh order asked for step 3 alone gives the same rows.
        assert_eq!(EpochOrder::new(10, 4, 7).batch(3), steps[3]);
        assert!(EpochOrder::new(0, 4, 7).batch(0).is_empty());
        assert_eq!(EpochOrder::new(3, 8, 1).batch(0).len(), 3);
    }
}
