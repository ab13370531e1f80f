//! A rubric: named reward components combined by weight (accuracy, format, ...).
//!
//! Weight-0 components are computed and logged but do not move the reward, the pattern
//! used by TRL's multi-reward GRPO and by reasoning-gym's scoring.

use crate::{Verdict, VerifyError};
use serde::{Deserialize, Serialize};

/// One named component and its weight in the reward.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Component {
    pub name: String,
    pub weight: f64,
}

/// Weighted combination of named components into a reward in [0, 1].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rubric {
    components: Vec<Component>,
}

impl Default for Rubric {
    /// Accuracy only; format is logged with weight 0.
    fn default() -> Self {
        Rubric {
            components: vec![
                Component {
                    name: "accuracy".into(),
                    weight: 1.0,
                },
                Component {
                    name: "format".into(),
                    weight: 0.0,
                },
            ],
        }
    }
}

impl Rubric {
    /// Validates weights (finite, non-negative, at least one positive) and unique names.
    pub fn new(components: Vec<Component>) -> Result<Self, VerifyError> {
        let mut total = 0.0;
        for (i, c) in components.iter().enumerate() {
            if !c.weight.is_finite() || c.weight < 0.0 {
                return Err(VerifyError::InvalidConfig(format!(
                    "component '{}' has weight {}; weights must be finite and >= 0",
                    c.name, c.weight
                )));
            }
            if components[..i].iter().any(|o| o.name == c.name) {
                return Err(VerifyError::InvalidConfig(format!(
                    "component '{}' is listed twice",
                    c.name
                )));
            }
            total += c.weight;
        }
        if total <= 0.0 {
            return Err(VerifyError::InvalidConfig(
                "a rubric needs at least one component with a positive weight".into(),
            ));
        }
        Ok(Rubric { components })
    }

    pub fn components(&self) -> &[Component] {
        &self.components
    }

    /// Recomputes a verdict's reward as the weighted mean of its components (a missing
    /// component counts 0). `correct` is left as the verifier decided it: strict.
    pub fn apply(&self, mut verdict: Verdict) -> Verdict {
        let mut sum = 0.0;
        let mut total = 0.0;
        for c in &self.components {
            let v = verdict.components.get(&c.name).copied().unwrap_or(0.0);
            let v = if v.is_finite() {
                v.clamp(0.0, 1.0)
            } else {
                0.0
            };
            sum += c.weight * v;
            total += c.weight;
        }
        verdict.reward = if total > 0.0 { sum / total } else { 0.0 };
        verdict
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weight_zero_components_are_logged_not_rewarded() {
        let v = Verdict::wrong(None, "wrong").with_component("format", 1.0);
        let v = Rubric::default().apply(v);
        assert_eq!(v.reward, 0.0);
        assert_eq!(v.components["format"], 1.0);
    }

    #[test]
    fn weighted_mean() {
        let r = Rubric::new(vec![
            Component {
                name: "accuracy".into(),
                weight: 3.0,
            },
            Component {
                name: "format".into(),
                weight: 1.0,
            },
        ])
        .unwrap();
        let v = r.apply(Verdict::wrong(None, "x").with_component("format", 1.0));
        assert!((v.reward - 0.25).abs() < 1e-12);
        assert!(!v.correct);
    }

    #[test]
    fn rejects_bad_weights() {
        let bad = |w: f64| {
            Rubric::new(vec![Component {
                name: "a".into(),
                weight: w,
            }])
        };
        assert!(bad(-1.0).is_err());
        assert!(bad(f64::NAN).is_err());
        assert!(bad(0.0).is_err());
        let dup = Rubric::new(vec![
            Component {
                name: "a".into(),
                weight: 1.0,
            },
            Component {
                name: "a".into(),
                weight: 1.0,
            },
        ]);
        assert!(dup.is_err());
    }
}
