//! `Verdict`: the result of scoring one completion (reward in [0, 1], strict `correct`).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The outcome of verifying one completion.
///
/// `reward` is what the learner optimises; `correct` is strict 0/1 accuracy used for
/// evaluation and never carries partial credit. `components` holds the named parts the
/// reward was built from (accuracy, format, ...), including weight-0 ones that are logged
/// but not rewarded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    pub reward: f64,
    pub correct: bool,
    #[serde(default)]
    pub components: BTreeMap<String, f64>,
    /// The answer the verifier extracted from the completion, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extracted: Option<String>,
    /// Why the answer was rejected (absent when correct).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl Verdict {
    /// A fully correct answer: reward 1, accuracy 1.
    pub fn correct(extracted: impl Into<String>) -> Self {
        let mut components = BTreeMap::new();
        components.insert("accuracy".to_string(), 1.0);
        Verdict {
            reward: 1.0,
            correct: true,
            components,
            extracted: Some(extracted.into()),
            reason: None,
        }
    }

    /// A rejected answer: reward 0 with the reason it was rejected.
    pub fn wrong(extracted: Option<String>, reason: impl Into<String>) -> Self {
        let mut components = BTreeMap::new();
        components.insert("accuracy".to_string(), 0.0);
        Verdict {
            reward: 0.0,
            correct: false,
            components,
            extracted,
            reason: Some(reason.into()),
        }
    }

    /// Adds (or replaces) a named component without changing the reward.
    pub fn with_component(mut self, name: &str, value: f64) -> Self {
        self.components.insert(name.to_string(), value);
        self
    }

    /// Reward clamped into [0, 1]; NaN becomes 0 so a broken component never poisons a batch.
    pub fn clamp(mut self) -> Self {
        self.reward = if self.reward.is_nan() {
            0.0
        } else {
            self.reward.clamp(0.0, 1.0)
        };
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constructors_set_strict_correctness() {
        let v = Verdict::correct("42");
        assert!(v.correct);
        assert_eq!(v.reward, 1.0);
        let w = Verdict::wrong(Some("41".into()), "not equal");
        assert!(!w.correct);
        assert_eq!(w.reward, 0.0);
        assert_eq!(w.reason.as_deref(), Some("not equal"));
    }

    #[test]
    fn clamp_removes_nan_and_out_of_range() {
        let mut v = Verdict::correct("x");
        v.reward = f64::NAN;
        assert_eq!(v.clamp().reward, 0.0);
        let mut v = Verdict::correct("x");
        v.reward = 3.0;
        assert_eq!(v.clamp().reward, 1.0);
    }

    #[test]
    fn serde_round_trip() {
        let v = Verdict::wrong(None, "empty").with_component("format", 1.0);
        let s = serde_json::to_string(&v).unwrap();
        let back: Verdict = serde_json::from_str(&s).unwrap();
        assert_eq!(v, back);
    }
}
