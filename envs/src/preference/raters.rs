//! Simulated raters: people who compare two completions of a prompt, or rate one, with
//! noise around a hidden quality in [0, 1].
//!
//! A comparison follows the Bradley–Terry model (Bradley and Terry, 1952) on the quality:
//! P(a preferred to b) = sigmoid((q(a) − q(b)) / temperature), the synthetic labellers of
//! Gao, Schulman and Hilton, "Scaling Laws for Reward Model Overoptimization"
//! (arXiv:2210.10760). A rating is 1 + round(6 · clamp(q + temperature · z, 0, 1)) on a
//! 1–7 scale, z standard normal. Every draw comes from a [`TaskRng`] keyed by (seed, the
//! index of the pair or rating in the call), so feedback is reproducible.

use crate::feedback::Feedback;
use crate::rng::TaskRng;

/// Stream names: comparisons and ratings draw from unrelated streams.
const COMPARE_STREAM: &str = "simulated_raters/compare";
const RATE_STREAM: &str = "simulated_raters/rate";

/// Completions of one prompt, each with its hidden quality.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    /// The prompt as the feedback rows will carry it.
    pub prompt: String,
    /// (completion, quality in [0, 1]).
    pub completions: Vec<(String, f64)>,
}

/// People who judge by a hidden quality with noise. A temperature of 0 (or below, or NaN)
/// is a noiseless rater: the higher quality always wins, and ratings are exact.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SimulatedRaters {
    /// In units of quality: the difference at which the better completion wins with
    /// probability sigmoid(1), about 0.73; and the spread of a rating's noise.
    pub temperature: f64,
    pub seed: u64,
}

impl SimulatedRaters {
    fn noiseless(&self) -> bool {
        self.temperature.is_nan() || self.temperature <= 0.0
    }

    /// The probability that a completion of quality `qa` is preferred to one of `qb`.
    pub fn preference_probability(&self, qa: f64, qb: f64) -> f64 {
        let d = qa - qb;
        let p = if self.noiseless() {
            if d > 0.0 {
                1.0
            } else if d < 0.0 {
                0.0
            } else {
                0.5
            }
        } else {
            1.0 / (1.0 + (-d / self.temperature).exp())
        };
        if p.is_nan() {
            0.5
        } else {
            p
        }
    }

    /// Whether the rater of pair `index` prefers the first completion (quality `qa`) to
    /// the second (`qb`). Never a tie: equal qualities are a fair coin.
    pub fn prefers_first(&self, index: u64, qa: f64, qb: f64) -> bool {
        let u = TaskRng::for_task(COMPARE_STREAM, self.seed, index).unit();
        u < self.preference_probability(qa, qb)
    }

    /// One comparison row for every pair of completions within each group, group by
    /// group, pairs (i, j) with i < j in order; the k-th pair of the call is drawn with
    /// index k. Two identical completions make no row.
    pub fn compare(&self, groups: &[Group]) -> Vec<Feedback> {
        self.compare_or_tie(groups, 0.0)
    }

    /// [`SimulatedRaters::compare`], where a pair whose qualities differ by less than
    /// `tie_below` is judged "about the same": a tie row (which `feedback::to_pairs` counts
    /// and makes no pair of), as people asked to compare two equally good texts answer.
    pub fn compare_or_tie(&self, groups: &[Group], tie_below: f64) -> Vec<Feedback> {
        let mut rows = Vec::new();
        let mut index = 0u64;
        for g in groups {
            for (i, (a, qa)) in g.completions.iter().enumerate() {
                for (b, qb) in &g.completions[i + 1..] {
                    let k = index;
                    index += 1;
                    if a == b {
                        continue;
                    }
                    if (qa - qb).abs() < tie_below {
                        rows.push(Feedback::Comparison {
                            prompt: g.prompt.clone(),
                            chosen: a.clone(),
                            rejected: b.clone(),
                            tie: true,
                        });
                        continue;
                    }
                    let (chosen, rejected) = if self.prefers_first(k, *qa, *qb) {
                        (a, b)
                    } else {
                        (b, a)
                    };
                    rows.push(Feedback::Comparison {
                        prompt: g.prompt.clone(),
                        chosen: chosen.clone(),
                        rejected: rejected.clone(),
                        tie: false,
                    });
                }
            }
        }
        rows
    }

    /// The rating of the completion with index `index` and quality `q`: an integer in 1..=7.
    pub fn rating(&self, index: u64, q: f64) -> f64 {
        let noisy = if self.noiseless() {
            q
        } else {
            q + self.temperature
                * standard_normal(&mut TaskRng::for_task(RATE_STREAM, self.seed, index))
        };
        let x = if noisy.is_nan() {
            0.0
        } else {
            noisy.clamp(0.0, 1.0)
        };
        1.0 + (6.0 * x).round()
    }

    /// One rating row per completion, group by group; the k-th completion of the call is
    /// rated with index k.
    pub fn rate(&self, groups: &[Group]) -> Vec<Feedback> {
        groups
            .iter()
            .flat_map(|g| g.completions.iter().map(move |c| (&g.prompt, c)))
            .enumerate()
            .map(|(k, (prompt, (completion, q)))| Feedback::Rating {
                prompt: prompt.clone(),
                completion: completion.clone(),
                rating: self.rating(k as u64, *q),
            })
            .collect()
    }
}

/// A standard normal draw (Box–Muller).
fn standard_normal(rng: &mut TaskRng) -> f64 {
    let u1 = 1.0 - rng.unit(); // in (0, 1], so the logarithm is finite
    let u2 = rng.unit();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::feedback::{parse_row, to_pairs};
    use crate::preference::demonstrations::{demonstrations, groups};

    /// `n` pairs of qualities drawn uniformly in [0, 1].
    fn random_pairs(n: usize) -> Vec<(f64, f64)> {
        let mut rng = TaskRng::from_seed(17);
        (0..n).map(|_| (rng.unit(), rng.unit())).collect()
    }

    #[test]
    fn without_noise_the_higher_quality_always_wins() {
        for temperature in [0.0, -1.0, f64::NAN, 1e-12] {
            let r = SimulatedRaters {
                temperature,
                seed: 3,
            };
            for (k, (qa, qb)) in random_pairs(5000).into_iter().enumerate() {
                if (qa - qb).abs() > 1e-9 {
                    assert_eq!(
                        r.prefers_first(k as u64, qa, qb),
                        qa > qb,
                        "T={temperature}"
                    );
                }
            }
        }
    }

    #[test]
    fn agreement_with_the_true_order_matches_bradley_terry() {
        for temperature in [0.05, 0.1, 0.3] {
            let r = SimulatedRaters {
                temperature,
                seed: 11,
            };
            let pairs = random_pairs(20_000);
            let mut agree = 0usize;
            let mut expected = 0.0;
            for (k, (qa, qb)) in pairs.iter().enumerate() {
                let first = r.prefers_first(k as u64, *qa, *qb);
                if first == (qa > qb) {
                    agree += 1;
                }
                expected += 1.0 / (1.0 + (-(qa - qb).abs() / temperature).exp());
            }
            let rate = agree as f64 / pairs.len() as f64;
            let expected = expected / pairs.len() as f64;
            // The standard error of the rate is below 0.0036 here; 0.015 is four of them.
            assert!(
                (rate - expected).abs() < 0.015,
                "T={temperature}: agreement {rate:.4}, Bradley–Terry {expected:.4}"
            );
            assert!(rate < 0.995, "T={temperature}: no noise at all ({rate})");
        }
    }

    #[test]
    fn equal_qualities_are_a_fair_coin_and_never_a_tie() {
        let r = SimulatedRaters {
            temperature: 0.0,
            seed: 5,
        };
        let firsts = (0..4000).filter(|k| r.prefers_first(*k, 0.4, 0.4)).count();
        assert!((1800..2200).contains(&firsts), "{firsts}");
    }

    #[test]
    fn close_qualities_become_ties_that_make_no_pair() {
        let g = Group {
            prompt: "p".into(),
            completions: vec![("a".into(), 0.50), ("b".into(), 0.51), ("c".into(), 0.9)],
        };
        let r = SimulatedRaters {
            temperature: 0.05,
            seed: 3,
        };
        let rows = r.compare_or_tie(std::slice::from_ref(&g), 0.02);
        assert_eq!(rows.len(), 3);
        let (pairs, stats) = to_pairs(&rows);
        // a~b is a tie; a-c and b-c are preferences.
        assert_eq!((stats.ties, pairs.len()), (1, 2));
        assert!(pairs.iter().all(|p| p.chosen == "c" || p.rejected == "c"));
        // Without a tie margin every pair is a preference.
        assert_eq!(to_pairs(&r.compare(&[g])).0.len(), 3);
    }

    #[test]
    fn comparison_rows_parse_back_into_pairs_and_are_reproducible() {
        let demos = demonstrations(7, 30, 4).unwrap();
        let groups = groups(&demos, |t| t.question.clone());
        assert_eq!(groups.len(), 30);
        let r = SimulatedRaters {
            temperature: 0.1,
            seed: 1,
        };
        let rows = r.compare(&groups);
        let distinct_pairs: usize = groups
            .iter()
            .map(|g| {
                let c = &g.completions;
                (0..c.len())
                    .flat_map(|i| (i + 1..c.len()).map(move |j| (i, j)))
                    .filter(|(i, j)| c[*i].0 != c[*j].0)
                    .count()
            })
            .sum();
        assert_eq!(rows.len(), distinct_pairs);
        assert!(rows.len() > 150, "{}", rows.len());
        let back: Vec<Feedback> = rows
            .iter()
            .enumerate()
            .map(|(i, row)| parse_row(&serde_json::to_string(row).unwrap(), "sim", i + 1).unwrap())
            .collect();
        assert_eq!(back, rows);
        let (pairs, stats) = to_pairs(&back);
        assert_eq!(
            (stats.pairs, stats.ties, stats.comparisons),
            (rows.len(), 0, rows.len())
        );
        // The better completion is chosen more often than not, but not always.
        let quality: std::collections::HashMap<(&str, &str), f64> = groups
            .iter()
            .flat_map(|g| {
                g.completions
                    .iter()
                    .map(|(c, q)| ((g.prompt.as_str(), c.as_str()), *q))
            })
            .collect();
        let q = |p: &str, c: &str| quality[&(p, c)];
        let better = pairs
            .iter()
            .filter(|p| q(&p.prompt, &p.chosen) >= q(&p.prompt, &p.rejected))
            .count();
        let share = better as f64 / pairs.len() as f64;
        assert!((0.6..0.99).contains(&share), "{share}");
        assert_eq!(r.compare(&groups), rows);
        let other = SimulatedRaters { seed: 2, ..r }.compare(&groups);
        assert_ne!(other, rows);
    }

    #[test]
    fn identical_completions_make_no_row() {
        let g = Group {
            prompt: "p".into(),
            completions: vec![("a".into(), 0.2), ("a".into(), 0.9), ("b".into(), 0.5)],
        };
        let rows = SimulatedRaters {
            temperature: 0.0,
            seed: 0,
        }
        .compare(&[g]);
        let chosen: Vec<&str> = rows
            .iter()
            .map(|r| match r {
                Feedback::Comparison { chosen, .. } => chosen.as_str(),
                _ => panic!("{r:?}"),
            })
            .collect();
        assert_eq!(chosen, vec!["b", "a"]);
    }

    #[test]
    fn ratings_are_on_the_seven_point_scale_and_follow_quality() {
        let exact = SimulatedRaters {
            temperature: 0.0,
            seed: 0,
        };
        assert_eq!(exact.rating(0, 0.0), 1.0);
        assert_eq!(exact.rating(0, 0.5), 4.0);
        assert_eq!(exact.rating(0, 1.0), 7.0);
        assert_eq!(exact.rating(0, f64::NAN), 1.0);
        let noisy = SimulatedRaters {
            temperature: 0.15,
            seed: 9,
        };
        let mut off = 0;
        for k in 0..2000u64 {
            let q = (k % 101) as f64 / 100.0;
            let r = noisy.rating(k, q);
            assert!((1.0..=7.0).contains(&r) && r.fract() == 0.0, "{r}");
            if r != exact.rating(k, q) {
                off += 1;
            }
        }
        assert!((400..1900).contains(&off), "{off}");

        let demos = demonstrations(3, 10, 3).unwrap();
        let rows = noisy.rate(&groups(&demos, |t| t.question.clone()));
        assert_eq!(rows.len(), 30);
        let back: Vec<Feedback> = rows
            .iter()
            .map(|row| parse_row(&serde_json::to_string(row).unwrap(), "sim", 1).unwrap())
            .collect();
        assert_eq!(back, rows);
        let (pairs, stats) = to_pairs(&back);
        assert_eq!(stats.ratings, 30);
        assert!(pairs.iter().all(|p| p.margin >= 1.0), "{pairs:?}");
    }
}
