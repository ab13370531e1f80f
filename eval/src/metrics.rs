//! The numbers of an eval: unbiased pass@k (Chen et al. 2021, "Evaluating Large Language
//! Models Trained on Code", eq. 1), maj@k (majority vote over the extracted answers of the
//! first k samples), and 95% intervals.
//!
//! Intervals are Wilson score intervals over *tasks*: the samples of one task are not
//! independent draws, so the effective count is the number of tasks, and a per-task score
//! in [0, 1] has variance at most p(1 - p), which makes Wilson's interval a safe (slightly
//! wide) one for means of such scores. Unlike the normal approximation it never collapses to
//! a point at 0 or 1.

use serde::{Deserialize, Serialize};

/// z for a two-sided 95% interval.
pub const Z95: f64 = 1.959_963_984_540_054;

/// Unbiased pass@k from `n` samples of which `c` are correct: 1 - C(n-c, k) / C(n, k),
/// computed as a running product (no factorials). `k` must be in 1..=n.
pub fn pass_at_k(n: usize, c: usize, k: usize) -> f64 {
    if k == 0 || k > n {
        return f64::NAN;
    }
    let c = c.min(n);
    if n - c < k {
        return 1.0;
    }
    // C(n-c, k) / C(n, k) = prod_{i = n-c+1}^{n} (1 - k / i)
    let fail: f64 = ((n - c + 1)..=n)
        .map(|i| 1.0 - k as f64 / i as f64)
        .product();
    1.0 - fail
}

/// Majority vote over the first `k` samples: the most frequent extracted answer wins (a tie
/// goes to the answer that appeared first); samples without an extracted answer do not
/// vote. True when the winning answer was judged correct.
pub fn maj_at_k(extracted: &[Option<String>], correct: &[bool], k: usize) -> bool {
    let mut votes: Vec<(&str, usize, bool)> = Vec::new();
    for (answer, &ok) in extracted.iter().zip(correct).take(k) {
        let Some(a) = answer.as_deref().map(str::trim) else {
            continue;
        };
        match votes.iter_mut().find(|(v, _, _)| *v == a) {
            Some(v) => v.1 += 1,
            None => votes.push((a, 1, ok)),
        }
    }
    // max_by_key keeps the last maximum; scanning in reverse makes it the first.
    votes
        .iter()
        .rev()
        .max_by_key(|(_, count, _)| *count)
        .is_some_and(|(_, _, ok)| *ok)
}

/// A mean with its 95% interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    pub mean: f64,
    pub lo: f64,
    pub hi: f64,
}

impl Interval {
    /// The mean of per-task scores in [0, 1] with a Wilson score interval over the tasks.
    /// Empty: NaN mean and the whole of [0, 1].
    pub fn wilson(scores: &[f64]) -> Interval {
        if scores.is_empty() {
            return Interval::wilson_of(f64::NAN, 0);
        }
        Interval::wilson_of(
            scores.iter().sum::<f64>() / scores.len() as f64,
            scores.len(),
        )
    }

    /// The Wilson score interval of a proportion `p` observed over `n` trials (n = 0: NaN
    /// mean and the whole of [0, 1]).
    pub fn wilson_of(p: f64, n: usize) -> Interval {
        if n == 0 {
            return Interval {
                mean: p,
                lo: 0.0,
                hi: 1.0,
            };
        }
        let n = n as f64;
        let z2 = Z95 * Z95;
        let centre = (p + z2 / (2.0 * n)) / (1.0 + z2 / n);
        let half = Z95 / (1.0 + z2 / n) * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
        Interval {
            mean: p,
            lo: (centre - half).max(0.0),
            hi: (centre + half).min(1.0),
        }
    }

    /// Mean ± 1.96 standard errors (sample standard deviation); for differences.
    pub fn normal(values: &[f64]) -> Interval {
        let n = values.len() as f64;
        if values.len() < 2 {
            let mean = values.first().copied().unwrap_or(f64::NAN);
            return Interval {
                mean,
                lo: f64::NEG_INFINITY,
                hi: f64::INFINITY,
            };
        }
        let mean = values.iter().sum::<f64>() / n;
        let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
        let half = Z95 * (var / n).sqrt();
        Interval {
            mean,
            lo: mean - half,
            hi: mean + half,
        }
    }

    /// Half the interval's width (for error bars).
    pub fn half_width(&self) -> f64 {
        (self.hi - self.lo) / 2.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// C(a, b) exactly, for the hand computations.
    fn choose(a: u64, b: u64) -> f64 {
        if b > a {
            return 0.0;
        }
        (0..b).fold(1.0, |acc, i| acc * (a - i) as f64 / (i + 1) as f64)
    }

    #[test]
    fn pass_at_k_matches_hand_computed_cases() {
        // n = 2, c = 1: pass@1 = 1/2, pass@2 = 1.
        assert_eq!(pass_at_k(2, 1, 1), 0.5);
        assert_eq!(pass_at_k(2, 1, 2), 1.0);
        // n = 5, c = 2, k = 2: 1 - C(3,2)/C(5,2) = 1 - 3/10 = 0.7.
        assert!((pass_at_k(5, 2, 2) - 0.7).abs() < 1e-12);
        // n = 10, c = 3, k = 5: 1 - C(7,5)/C(10,5) = 1 - 21/252.
        assert!((pass_at_k(10, 3, 5) - (1.0 - 21.0 / 252.0)).abs() < 1e-12);
        // None correct, all correct.
        assert_eq!(pass_at_k(8, 0, 4), 0.0);
        assert_eq!(pass_at_k(8, 8, 1), 1.0);
        // pass@1 is the fraction correct.
        assert!((pass_at_k(7, 3, 1) - 3.0 / 7.0).abs() < 1e-12);
        // Against the closed form over a grid.
        for n in 1..=20u64 {
            for c in 0..=n {
                for k in 1..=n {
                    let want = 1.0 - choose(n - c, k) / choose(n, k);
                    let got = pass_at_k(n as usize, c as usize, k as usize);
                    assert!((got - want).abs() < 1e-9, "n={n} c={c} k={k}");
                }
            }
        }
        assert!(pass_at_k(3, 1, 4).is_nan());
    }

    #[test]
    fn majority_vote_counts_extracted_answers() {
        let s = |v: &[Option<&str>]| v.iter().map(|a| a.map(String::from)).collect::<Vec<_>>();
        // 7, 7, 8: 7 wins; it is correct.
        let ex = s(&[Some("7"), Some("8"), Some("7")]);
        assert!(maj_at_k(&ex, &[true, false, true], 3));
        // Only the first sample: 7.
        assert!(maj_at_k(&ex, &[true, false, true], 1));
        // First two: a 1-1 tie goes to the first answer (7).
        assert!(maj_at_k(&ex, &[true, false, true], 2));
        assert!(!maj_at_k(&ex, &[false, true, false], 2));
        // No answers: no vote, not correct.
        assert!(!maj_at_k(&s(&[None, None]), &[false, false], 2));
        // Wrong majority beats a right minority.
        let ex = s(&[Some("3"), Some("4"), Some("4"), None]);
        assert!(!maj_at_k(&ex, &[true, false, false, false], 4));
        // Whitespace does not split votes.
        let ex = s(&[Some(" 5"), Some("5 "), Some("6")]);
        assert!(maj_at_k(&ex, &[true, true, false], 3));
    }

    #[test]
    fn wilson_interval_is_inside_unit_and_covers_the_mean() {
        let all = Interval::wilson(&[1.0; 10]);
        assert_eq!(all.mean, 1.0);
        // Wilson at p = 1, n = 10: [0.7225, 1] (the upper end is 1 up to rounding).
        assert!(
            (all.lo - 0.7225).abs() < 1e-3 && all.hi > 1.0 - 1e-12,
            "{all:?}"
        );
        let half = Interval::wilson(&[0.0, 1.0, 0.0, 1.0]);
        assert!(half.lo < 0.5 && half.hi > 0.5);
        // 50 of 100: the textbook Wilson interval is about [0.404, 0.596].
        let mut v = vec![0.0; 50];
        v.extend([1.0; 50]);
        let w = Interval::wilson(&v);
        assert!(
            (w.lo - 0.4038).abs() < 1e-3 && (w.hi - 0.5962).abs() < 1e-3,
            "{w:?}"
        );
        assert!(Interval::wilson(&[]).mean.is_nan());
    }

    #[test]
    fn normal_interval_of_differences() {
        let d = Interval::normal(&[0.0, 1.0, 0.0, 1.0]);
        assert_eq!(d.mean, 0.5);
        // sd = 0.57735, se = 0.288675, half = 0.5658
        assert!((d.half_width() - Z95 * (1.0f64 / 3.0 / 4.0).sqrt()).abs() < 1e-12);
        assert!(Interval::normal(&[1.0]).hi.is_infinite());
    }
}
