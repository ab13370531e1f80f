//! The over-optimisation guard: when RL trains against a learned reward (a proxy for what
//! people want), the proxy keeps rising long after true quality has peaked — the policy finds
//! the reward model's blind spots. The guard watches signals that do not share those blind
//! spots and decides when to stop.
//!
//! Signals, one observation per step:
//! - `proxy`: the reward the policy is trained on (reward-model mean);
//! - `gold`: a held-out scorer the policy never trains on, when one exists (a verifier kept
//!   out of the reward, or a second rater pool);
//! - `ensemble_min` / `ensemble_std`: the pessimistic member of a reward-model ensemble and
//!   the members' disagreement (they agree on what the data showed, and drift apart where
//!   the policy has gone beyond it);
//! - `kl` from the reference, mean completion `length`, n-gram `repetition`.
//!
//! The guard's *estimate* of true quality is `gold` when observed, else `ensemble_min`,
//! smoothed by a trailing mean over `window` observations. Rules, each off at 0:
//! - **divergence**: the estimate sits more than `min_drop` below its best for `patience`
//!   consecutive evaluations while the smoothed proxy is above its value at that best;
//! - **budgets**: `kl_budget`, `max_ensemble_std`, `max_length_drift` (relative to the first
//!   window), `max_repetition`.
//!
//! When a rule fires the decision names it and the step the estimate was best at; the run
//! stops there, or rolls back to the saved checkpoint the estimate rates best (`action`).

use crate::util::config::{finite_in, within, ConfigError};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

/// What the run does when the guard fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GuardAction {
    /// Stop; the weights of the last step are the run's final weights.
    Stop,
    /// Stop and restore the saved checkpoint the guard's estimate rates best.
    Rollback,
}

/// The guard's knobs (TOML `[guard]` of `train grpo`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GuardConfig {
    pub enabled: bool,
    /// Evaluate the rules every N steps (observations are recorded every step).
    pub every: usize,
    /// Observations in the trailing mean that smooths each signal.
    pub window: usize,
    /// Evaluations in a row the estimate must stay fallen while the proxy rises.
    pub patience: usize,
    /// How far below its best the smoothed estimate must be to count as fallen.
    pub min_drop: f64,
    /// Evaluations before any rule may fire (the first windows are noisy).
    pub warmup: usize,
    /// Stop when the smoothed KL from the reference exceeds this (0: off).
    pub kl_budget: f64,
    /// Stop when the smoothed ensemble std exceeds this (0: off).
    pub max_ensemble_std: f64,
    /// Stop when the smoothed mean length moves more than this fraction from the first
    /// window's (0: off).
    pub max_length_drift: f64,
    /// Stop when the smoothed n-gram repetition rate exceeds this (0: off).
    pub max_repetition: f64,
    pub action: GuardAction,
}

impl Default for GuardConfig {
    fn default() -> Self {
        GuardConfig {
            enabled: false,
            every: 1,
            window: 5,
            patience: 3,
            min_drop: 0.0,
            warmup: 2,
            kl_budget: 0.0,
            max_ensemble_std: 0.0,
            max_length_drift: 0.0,
            max_repetition: 0.0,
            action: GuardAction::Rollback,
        }
    }
}

impl GuardConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        within("guard.every", self.every, 1, 1_000_000)?;
        within("guard.window", self.window, 1, 100_000)?;
        within("guard.patience", self.patience, 1, 100_000)?;
        within("guard.warmup", self.warmup, 0, 1_000_000)?;
        finite_in("guard.min_drop", self.min_drop, 0.0, 1e9)?;
        finite_in("guard.kl_budget", self.kl_budget, 0.0, 1e9)?;
        finite_in("guard.max_ensemble_std", self.max_ensemble_std, 0.0, 1e9)?;
        finite_in("guard.max_length_drift", self.max_length_drift, 0.0, 1e9)?;
        finite_in("guard.max_repetition", self.max_repetition, 0.0, 1.0)
    }
}

/// One step's signals.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Signals {
    pub proxy: f64,
    pub gold: Option<f64>,
    pub ensemble_min: Option<f64>,
    pub ensemble_std: Option<f64>,
    pub kl: f64,
    pub length: f64,
    pub repetition: f64,
}

/// Why the guard fired.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trigger {
    /// The step (0-based) whose observation fired the rule.
    pub step: usize,
    /// `divergence`, `kl_budget`, `ensemble_std`, `length_drift` or `repetition`.
    pub rule: String,
    /// A sentence for the log, the report and the exit summary.
    pub reason: String,
    /// The step at which the smoothed estimate was best (None: no estimate observed).
    pub best_step: Option<usize>,
}

/// The guard's state: every observation so far and the best smoothed estimate.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Guard {
    cfg: GuardConfig,
    steps: Vec<usize>,
    history: Vec<Signals>,
    evaluations: usize,
    /// Consecutive evaluations the divergence rule has held.
    fallen: usize,
    /// (step, smoothed estimate, smoothed proxy) at the best estimate.
    best: Option<(usize, f64, f64)>,
    baseline_length: Option<f64>,
    fired: Option<Trigger>,
}

impl Guard {
    pub fn new(cfg: GuardConfig) -> Guard {
        Guard {
            cfg,
            ..Default::default()
        }
    }

    /// The rule that fired, once one has.
    pub fn fired(&self) -> Option<&Trigger> {
        self.fired.as_ref()
    }

    /// The smoothed estimate of true quality at the latest observation.
    pub fn estimate(&self) -> Option<f64> {
        self.smoothed_at(self.history.len(), estimate_of)
    }

    /// The step of the best smoothed estimate so far.
    pub fn best_step(&self) -> Option<usize> {
        self.best.map(|b| b.0)
    }

    /// Records step `step`'s signals; returns the trigger when a rule fires now (once: a
    /// guard that has fired stays fired and returns None afterwards).
    pub fn observe(&mut self, step: usize, s: Signals) -> Option<Trigger> {
        if self.fired.is_some() {
            return None;
        }
        self.steps.push(step);
        self.history.push(s);
        let n = self.history.len();
        let proxy = self.smoothed_at(n, |s| Some(s.proxy));
        let estimate = self.smoothed_at(n, estimate_of);
        if n == self.cfg.window {
            self.baseline_length = self.smoothed_at(n, |s| Some(s.length));
        }
        // The best is taken from full windows only: one noisy early step is no peak.
        if let (Some(e), Some(p), true) = (estimate, proxy, n >= self.cfg.window) {
            if self.best.is_none_or(|(_, b, _)| e > b) {
                self.best = Some((step, e, p));
            }
        }
        if !(n.is_multiple_of(self.cfg.every) || n == 1) {
            return None;
        }
        self.evaluations += 1;
        let rule = self.check(n, estimate, proxy);
        if self.evaluations <= self.cfg.warmup {
            return None;
        }
        let (rule, reason) = rule?;
        let t = Trigger {
            step,
            rule: rule.into(),
            reason,
            best_step: self.best_step(),
        };
        self.fired = Some(t.clone());
        Some(t)
    }

    /// The first rule that holds at observation `n`, with its reason.
    fn check(
        &mut self,
        n: usize,
        estimate: Option<f64>,
        proxy: Option<f64>,
    ) -> Option<(&'static str, String)> {
        let c = self.cfg.clone();
        if let (Some(e), Some(p), Some((bs, be, bp))) = (estimate, proxy, self.best) {
            if e < be - c.min_drop && p > bp {
                self.fallen += 1;
            } else {
                self.fallen = 0;
            }
            if self.fallen >= c.patience {
                return Some((
                    "divergence",
                    format!(
                        "true-quality estimate fell from {be:.4} (step {bs}) to {e:.4} over \
                         {} evaluations while the proxy reward rose from {bp:.4} to {p:.4}",
                        self.fallen
                    ),
                ));
            }
        }
        let over = |name: &'static str, v: Option<f64>, limit: f64, what: &str| {
            let v = v?;
            (limit > 0.0 && v > limit)
                .then(|| (name, format!("{what} {v:.4} exceeds its budget {limit}")))
        };
        over(
            "kl_budget",
            self.smoothed_at(n, |s| Some(s.kl)),
            c.kl_budget,
            "KL from the reference",
        )
        .or_else(|| {
            over(
                "ensemble_std",
                self.smoothed_at(n, |s| s.ensemble_std),
                c.max_ensemble_std,
                "reward-model ensemble std",
            )
        })
        .or_else(|| {
            let base = self.baseline_length.filter(|b| *b > 0.0)?;
            let len = self.smoothed_at(n, |s| Some(s.length))?;
            over(
                "length_drift",
                Some((len / base - 1.0).abs()),
                c.max_length_drift,
                "relative length drift",
            )
        })
        .or_else(|| {
            over(
                "repetition",
                self.smoothed_at(n, |s| Some(s.repetition)),
                c.max_repetition,
                "n-gram repetition rate",
            )
        })
    }

    /// The trailing mean of `f` over the `window` observations ending at `n` (those where
    /// `f` is defined); None when none is.
    fn smoothed_at(&self, n: usize, f: impl Fn(&Signals) -> Option<f64>) -> Option<f64> {
        let lo = n.saturating_sub(self.cfg.window);
        let vals: Vec<f64> = self.history[lo..n].iter().filter_map(f).collect();
        (!vals.is_empty()).then(|| vals.iter().sum::<f64>() / vals.len() as f64)
    }

    /// Of `candidates` (steps with saved weights), the one the estimate rates best: the mean
    /// estimate over a window centred on it. Rolling back picks this one.
    pub fn best_of(&self, candidates: &[usize]) -> Option<usize> {
        let half = self.cfg.window / 2;
        let mut best: Option<(usize, f64)> = None;
        for &c in candidates {
            let Some(i) = self.steps.iter().position(|&s| s == c) else {
                continue;
            };
            let lo = i.saturating_sub(half);
            let hi = (i + half + 1).min(self.history.len());
            let vals: Vec<f64> = self.history[lo..hi]
                .iter()
                .filter_map(estimate_of)
                .collect();
            if vals.is_empty() {
                continue;
            }
            let m = vals.iter().sum::<f64>() / vals.len() as f64;
            if best.is_none_or(|(_, b)| m > b) {
                best = Some((c, m));
            }
        }
        best.map(|b| b.0)
    }
}

fn estimate_of(s: &Signals) -> Option<f64> {
    s.gold.or(s.ensemble_min)
}

/// The share of repeated word n-grams in `text`: 1 − distinct / total (0 for text with
/// fewer than `n` words).
pub fn repetition_rate(text: &str, n: usize) -> f64 {
    let words: Vec<&str> = text.split_whitespace().collect();
    let n = n.max(1);
    if words.len() < n {
        return 0.0;
    }
    let grams: Vec<&[&str]> = words.windows(n).collect();
    let distinct: HashSet<&[&str]> = grams.iter().copied().collect();
    1.0 - distinct.len() as f64 / grams.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> GuardConfig {
        GuardConfig {
            enabled: true,
            window: 5,
            patience: 3,
            warmup: 2,
            ..Default::default()
        }
    }

    /// Deterministic noise in [-a, a].
    fn noise(i: usize, a: f64) -> f64 {
        let x = ((i as f64 + 1.0) * 12.9898).sin() * 43758.5453;
        (x - x.floor() - 0.5) * 2.0 * a
    }

    /// Proxy rising throughout; gold rising to a peak at `peak`, then falling.
    fn hacking_curve(steps: usize, peak: usize) -> Vec<Signals> {
        (0..steps)
            .map(|i| {
                let t = i as f64;
                let p = peak as f64;
                let gold = if t <= p {
                    0.4 + 0.3 * t / p
                } else {
                    0.7 - 0.4 * (t - p) / (steps as f64 - p)
                };
                Signals {
                    proxy: 0.1 + 0.02 * t + noise(i, 0.02),
                    gold: Some(gold + noise(i + 1000, 0.02)),
                    kl: 0.001 * t,
                    length: 20.0,
                    ..Default::default()
                }
            })
            .collect()
    }

    fn run(g: &mut Guard, curve: &[Signals]) -> Option<Trigger> {
        curve.iter().enumerate().find_map(|(i, s)| g.observe(i, *s))
    }

    #[test]
    fn divergence_fires_soon_after_the_true_peak_and_names_it() {
        let curve = hacking_curve(100, 40);
        let mut g = Guard::new(cfg());
        let t = run(&mut g, &curve).expect("the guard fires on a hacked run");
        assert_eq!(t.rule, "divergence", "{t:?}");
        // Smoothing and patience delay the decision, but by a few steps, not tens.
        assert!((41..=52).contains(&t.step), "fired at {}", t.step);
        let best = t.best_step.unwrap();
        assert!((36..=44).contains(&best), "best estimate at {best}");
        assert!(t.reason.contains("proxy"), "{}", t.reason);
        // Fired once: later observations do not fire again.
        assert!(g.observe(200, curve[99]).is_none());
        assert_eq!(g.fired(), Some(&t));
    }

    #[test]
    fn a_run_where_both_rise_or_both_fall_never_fires() {
        // Gold and proxy rising together: healthy training.
        let rising: Vec<Signals> = (0..100)
            .map(|i| Signals {
                proxy: 0.01 * i as f64 + noise(i, 0.02),
                gold: Some(0.3 + 0.005 * i as f64 + noise(i + 7, 0.02)),
                ..Default::default()
            })
            .collect();
        assert_eq!(run(&mut Guard::new(cfg()), &rising), None);
        // Both falling (a bad learning rate, not over-optimisation): the divergence rule
        // wants the proxy rising.
        let falling: Vec<Signals> = rising.iter().rev().copied().collect();
        assert_eq!(run(&mut Guard::new(cfg()), &falling), None);
    }

    #[test]
    fn noise_within_min_drop_does_not_fire() {
        let flat: Vec<Signals> = (0..200)
            .map(|i| Signals {
                proxy: 0.01 * i as f64,
                gold: Some(0.5 + noise(i, 0.03)),
                ..Default::default()
            })
            .collect();
        let mut c = cfg();
        c.min_drop = 0.05;
        assert_eq!(run(&mut Guard::new(c.clone()), &flat), None);
        // Without the tolerance the same noise fires: the knob is what holds it back.
        c.min_drop = 0.0;
        c.patience = 2;
        assert!(run(&mut Guard::new(c), &flat).is_some());
    }

    #[test]
    fn ensemble_min_stands_in_for_gold() {
        let curve: Vec<Signals> = hacking_curve(100, 40)
            .into_iter()
            .map(|s| Signals {
                ensemble_min: s.gold,
                gold: None,
                ..s
            })
            .collect();
        let t = run(&mut Guard::new(cfg()), &curve).unwrap();
        assert_eq!(t.rule, "divergence");
        assert!((41..=52).contains(&t.step), "fired at {}", t.step);
    }

    #[test]
    fn budgets_fire_by_name() {
        let base = |i: usize| Signals {
            proxy: 0.01 * i as f64,
            gold: Some(0.5),
            kl: 0.002 * i as f64,
            length: 20.0 + i as f64,
            repetition: 0.005 * i as f64,
            ensemble_std: Some(0.01 * i as f64),
            ..Default::default()
        };
        let curve: Vec<Signals> = (0..100).map(base).collect();
        let fire = |c: GuardConfig| run(&mut Guard::new(c), &curve).unwrap();
        let t = fire(GuardConfig {
            kl_budget: 0.101,
            ..cfg()
        });
        assert_eq!(t.rule, "kl_budget");
        // Smoothed KL over steps i-4..=i is 0.002 (i - 2): above 0.101 from i = 53.
        assert_eq!(t.step, 53);
        let t = fire(GuardConfig {
            max_ensemble_std: 0.305,
            ..cfg()
        });
        assert_eq!((t.rule.as_str(), t.step), ("ensemble_std", 33));
        // Baseline length: the mean of steps 0..=4, 22; smoothed length 18 + i drifts more
        // than 52% from it from i = 16.
        let t = fire(GuardConfig {
            max_length_drift: 0.52,
            ..cfg()
        });
        assert_eq!((t.rule.as_str(), t.step), ("length_drift", 16));
        let t = fire(GuardConfig {
            max_repetition: 0.201,
            ..cfg()
        });
        assert_eq!((t.rule.as_str(), t.step), ("repetition", 43));
        // All off: nothing fires on the same curve.
        assert_eq!(run(&mut Guard::new(cfg()), &curve), None);
    }

    #[test]
    fn warmup_and_every_delay_the_decision() {
        let curve: Vec<Signals> = (0..50)
            .map(|i| Signals {
                proxy: i as f64,
                kl: 1.0,
                ..Default::default()
            })
            .collect();
        let c = GuardConfig {
            kl_budget: 0.5,
            warmup: 4,
            every: 3,
            ..cfg()
        };
        // Evaluations at observations 1, 3, 6, 9, 12: the fifth (step 11) is the first
        // after the warm-up.
        let t = run(&mut Guard::new(c), &curve).unwrap();
        assert_eq!(t.step, 11);
    }

    #[test]
    fn rollback_picks_the_checkpoint_nearest_the_true_peak() {
        let curve = hacking_curve(100, 40);
        let mut g = Guard::new(cfg());
        run(&mut g, &curve).unwrap();
        let saved: Vec<usize> = (0..=50).step_by(10).collect();
        assert_eq!(g.best_of(&saved), Some(40));
        assert_eq!(g.best_of(&[]), None);
        assert_eq!(
            g.best_of(&[999]),
            None,
            "a step never observed is no candidate"
        );
    }

    #[test]
    fn repetition_rate_counts_repeated_ngrams() {
        assert_eq!(repetition_rate("", 2), 0.0);
        assert_eq!(repetition_rate("one", 2), 0.0);
        assert_eq!(repetition_rate("a b c d", 2), 0.0);
        // "great great great great": bigrams (great great) x3, one distinct.
        assert!((repetition_rate("great great great great", 2) - 2.0 / 3.0).abs() < 1e-12);
        assert!((repetition_rate("a b a b", 1) - 0.5).abs() < 1e-12);
    }

    #[test]
    fn hostile_knobs_are_named() {
        let bad = GuardConfig { window: 0, ..cfg() };
        assert!(bad
            .validate()
            .unwrap_err()
            .to_string()
            .contains("guard.window"));
        let bad = GuardConfig {
            kl_budget: f64::NAN,
            ..cfg()
        };
        assert!(bad
            .validate()
            .unwrap_err()
            .to_string()
            .contains("guard.kl_budget"));
    }
}
