//! Mediocre demonstrations for `product_blurb`: templated blurbs with random choices of
//! each feature the hidden quality scores, for supervised fine-tuning and for the pairs
//! simulated raters compare.
//!
//! Most blurbs get one or two features wrong (the item left out, no audience, too short
//! or too long, no praise or too much, a stutter), so q is spread wide around the middle
//! and few blurbs come near 1: text a reward model can learn from only approximately. The
//! vocabulary is small (the family's word lists and the phrases below) so that a tiny
//! character-level model can be trained on it. Over 2,000 demonstrations q has a mean of
//! about 0.47 and a standard deviation of about 0.27, and about 6% score above 0.8 (the
//! tests hold it to ranges around these).

use crate::env::{FamilyEnv, DEFAULT_DIFFICULTY};
use crate::preference::product_blurb::{quality, thinking, Brief, ProductBlurb};
use crate::preference::raters::Group;
use crate::rng::TaskRng;
use crate::{EnvError, EnvOptions, Environment, Task};
use verigym_verifiers::format::format_completion;

/// Openings of a blurb.
const OPENERS: [&str; 6] = ["this", "the", "our", "meet the", "try this", "here is our"];
/// What a blurb that leaves the item out calls it instead.
const STAND_INS: [&str; 5] = ["thing", "product", "gadget", "pick", "find"];
/// Positive words used as adjectives before the item.
const PRAISE: [&str; 10] = [
    "great",
    "perfect",
    "amazing",
    "wonderful",
    "fantastic",
    "excellent",
    "awesome",
    "incredible",
    "superb",
    "brilliant",
];
/// Neutral phrases that pad a blurb to its length (no two share a content word, and none
/// names an item, an audience or an adjective of the family).
const FILLERS: [&str; 16] = [
    "with a clean look",
    "that fits any bag",
    "made to last",
    "at a fair price",
    "for every day",
    "easy to carry",
    "built for long trips",
    "in four colors",
    "that works well",
    "with a soft grip",
    "ready when you are",
    "now on sale",
    "with a two year warranty",
    "from a small shop",
    "that packs flat",
    "and quick to wash",
];

/// One demonstration: a task of the registered env, a blurb for it, and the blurb in the
/// env's completion format.
#[derive(Debug, Clone, PartialEq)]
pub struct Demonstration {
    /// The task as `product_blurb` generates it at the default level (prompt and brief).
    pub task: Task,
    pub blurb: String,
    /// `<think>…</think>` then the blurb in `<answer>` tags, as the prompt asks.
    pub completion: String,
    /// The hidden quality: what `verify` returns as the reward for `completion`.
    pub quality: f64,
}

/// An index drawn with the given weights (which need not sum to 1).
fn weighted(rng: &mut TaskRng, weights: &[f64]) -> usize {
    let mut x = rng.unit() * weights.iter().sum::<f64>();
    for (i, w) in weights.iter().enumerate() {
        if x < *w {
            return i;
        }
        x -= w;
    }
    weights.len() - 1
}

/// One mediocre blurb for `brief`, a function of the stream `rng`.
pub fn mediocre_blurb(brief: &Brief, rng: &mut TaskRng) -> String {
    let name_item = rng.chance(0.75);
    let name_audience = rng.chance(0.5);
    let name_adjective = rng.chance(0.5);
    let praise = weighted(rng, &[0.3, 0.35, 0.22, 0.1, 0.03]);
    let exclamations = weighted(rng, &[0.6, 0.3, 0.07, 0.03]);
    let target = match weighted(rng, &[0.2, 0.55, 0.25]) {
        0 => rng.range_usize(3, 7),
        1 => rng.range_usize(8, 16),
        _ => rng.range_usize(17, 28),
    };

    let mut words: Vec<String> = Vec::new();
    if target > 7 || rng.chance(0.5) {
        push(&mut words, rng.choose(&OPENERS).copied().unwrap_or("the"));
    }
    let mut praise_words = PRAISE;
    rng.shuffle(&mut praise_words);
    // One word of praise in four goes at the end as "love it" instead of before the item.
    let love = praise > 0 && rng.chance(0.25);
    let before = if love { praise - 1 } else { praise };
    for p in &praise_words[..before] {
        push(&mut words, p);
    }
    if name_adjective {
        push(&mut words, &brief.adjective);
    }
    let noun = if name_item {
        brief.item.as_str()
    } else {
        rng.choose(&STAND_INS).copied().unwrap_or("thing")
    };
    push(&mut words, noun);
    if name_audience {
        if rng.chance(0.6) {
            push(&mut words, &format!("for {}", brief.audience));
        } else {
            push(&mut words, &format!("that {} will like", brief.audience));
        }
    }
    let mut fillers = FILLERS;
    rng.shuffle(&mut fillers);
    let closing = if love { 2 } else { 0 };
    let mut used = 0;
    while words.len() + closing < target && used < fillers.len() {
        push(&mut words, fillers[used]);
        used += 1;
    }
    if love {
        push(&mut words, "love it");
    }
    if rng.chance(0.15) {
        let last_filler = used.checked_sub(1).and_then(|i| fillers.get(i));
        repeat_something(&mut words, noun, last_filler, rng);
    }

    let mut blurb = words.join(" ");
    if let Some(first) = blurb.get(..1) {
        blurb.replace_range(..1, &first.to_ascii_uppercase());
    }
    if exclamations > 0 {
        blurb.push_str(&"!".repeat(exclamations));
    } else if rng.chance(0.7) {
        blurb.push('.');
    }
    blurb
}

/// Appends the words of `phrase`.
fn push(words: &mut Vec<String>, phrase: &str) {
    words.extend(phrase.split(' ').map(str::to_string));
}

/// The degenerate repeats models fall into: a stuttered word, the noun twice, or the
/// last padding phrase again.
fn repeat_something(words: &mut Vec<String>, noun: &str, filler: Option<&&str>, rng: &mut TaskRng) {
    match (rng.below(3), filler) {
        (1, _) => {
            let at = words.iter().position(|w| w == noun).unwrap_or(0);
            words.insert(at, noun.to_string());
        }
        (2, Some(phrase)) => push(words, phrase),
        _ => {
            let i = rng.below(words.len() as u64) as usize;
            let w = words[i].clone();
            words.insert(i, w);
        }
    }
}

/// `per_task` demonstrations for each of the first `tasks` tasks of `product_blurb` at the
/// default level under `seed`, task by task. A pure function of its arguments; the blurbs
/// of a task do not depend on how many tasks are asked for.
pub fn demonstrations(
    seed: u64,
    tasks: u64,
    per_task: usize,
) -> Result<Vec<Demonstration>, EnvError> {
    let env = FamilyEnv::<ProductBlurb>::build(&EnvOptions {
        difficulty: Some(DEFAULT_DIFFICULTY),
        config: None,
    })?;
    let mut out = Vec::new();
    for index in 0..tasks {
        let task = env.generate(seed, index)?;
        let brief: Brief = serde_json::from_value(task.answer.clone())
            .map_err(|e| EnvError::task("product_blurb", e.to_string()))?;
        let mut rng = TaskRng::for_task("product_blurb/demonstrations", seed, index);
        for _ in 0..per_task {
            let blurb = mediocre_blurb(&brief, &mut rng);
            out.push(Demonstration {
                completion: format_completion(&thinking(&brief), &blurb),
                quality: quality(&brief, &blurb).score,
                task: task.clone(),
                blurb,
            });
        }
    }
    Ok(out)
}

/// Demonstrations gathered into rater groups, one per run of the same task, with the
/// prompt text `prompt` makes of the task (the text the reward model will be shown).
pub fn groups(demos: &[Demonstration], prompt: impl Fn(&Task) -> String) -> Vec<Group> {
    let mut out: Vec<Group> = Vec::new();
    let mut last: Option<(&str, u64, u64)> = None;
    for d in demos {
        let key = (d.task.env.as_str(), d.task.seed, d.task.index);
        if last != Some(key) {
            out.push(Group {
                prompt: prompt(&d.task),
                completions: Vec::new(),
            });
            last = Some(key);
        }
        if let Some(g) = out.last_mut() {
            g.completions.push((d.completion.clone(), d.quality));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::preference::product_blurb::Quality;
    use std::collections::BTreeSet;

    fn mean_sd(xs: &[f64]) -> (f64, f64) {
        let n = xs.len() as f64;
        let mean = xs.iter().sum::<f64>() / n;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
        (mean, var.sqrt())
    }

    #[test]
    fn demonstrations_are_deterministic_and_prefix_stable() {
        let a = demonstrations(5, 40, 3).unwrap();
        assert_eq!(a.len(), 120);
        assert_eq!(a, demonstrations(5, 40, 3).unwrap());
        assert_eq!(a[..30], demonstrations(5, 10, 3).unwrap()[..]);
        let b = demonstrations(6, 40, 3).unwrap();
        let same = a.iter().zip(&b).filter(|(x, y)| x.blurb == y.blurb).count();
        assert!(same < 10, "{same} of 120 blurbs equal across seeds");
    }

    #[test]
    fn demonstrations_are_mediocre_with_a_wide_spread() {
        for seed in [1, 2, 3] {
            let qs: Vec<f64> = demonstrations(seed, 1000, 2)
                .unwrap()
                .iter()
                .map(|d| d.quality)
                .collect();
            let (mean, sd) = mean_sd(&qs);
            let share = |f: &dyn Fn(f64) -> bool| {
                qs.iter().filter(|q| f(**q)).count() as f64 / qs.len() as f64
            };
            let (above, correct) = (share(&|q| q > 0.8), share(&|q| q >= 0.5));
            println!(
                "seed {seed}: q over {} demonstrations: mean {mean:.3}, sd {sd:.3}, \
                 above 0.8 {above:.3}, at least 0.5 {correct:.3}",
                qs.len()
            );
            assert!((0.4..=0.5).contains(&mean), "mean {mean}");
            assert!(sd > 0.2, "sd {sd}");
            assert!(above < 0.1, "{above} above 0.8");
            assert!((0.3..0.7).contains(&correct), "{correct} at least 0.5");
        }
    }

    #[test]
    fn each_feature_varies_across_demonstrations() {
        let demos = demonstrations(2, 500, 1).unwrap();
        let briefs: Vec<Brief> = demos
            .iter()
            .map(|d| serde_json::from_value(d.task.answer.clone()).unwrap())
            .collect();
        let qs: Vec<Quality> = demos
            .iter()
            .zip(&briefs)
            .map(|(d, b)| quality(b, &d.blurb))
            .collect();
        let share = |f: &dyn Fn(&Quality) -> bool| {
            qs.iter().filter(|q| f(q)).count() as f64 / qs.len() as f64
        };
        let feature = |q: &Quality, name: &str| q.features.iter().find(|f| f.0 == name).unwrap().1;
        let checks: [(&str, f64); 6] = [
            ("item left out", share(&|q| feature(q, "relevance") < 1.0)),
            ("no audience", share(&|q| feature(q, "audience") == 0.0)),
            (
                "off length",
                share(&|q| feature(q, "relevance") == 1.0 && feature(q, "length") < 1.0),
            ),
            ("over two positive words", share(&|q| q.positive_words > 2)),
            ("several exclamation marks", share(&|q| q.exclamations > 1)),
            ("repeats", share(&|q| q.repeats > 0)),
        ];
        for (what, s) in checks {
            assert!((0.03..0.7).contains(&s), "{what}: {s}");
        }
        // Mostly 0 to 2 positive words, where more looks better.
        assert!(share(&|q| q.positive_words <= 2) > 0.8);
    }

    #[test]
    fn quality_is_what_the_env_returns_and_the_vocabulary_is_small() {
        let env = FamilyEnv::<ProductBlurb>::build(&EnvOptions::default()).unwrap();
        let demos = demonstrations(4, 300, 2).unwrap();
        let mut words = BTreeSet::new();
        let mut chars = BTreeSet::new();
        for d in &demos {
            let v = env.verify(&d.task, &d.completion).unwrap();
            assert_eq!(v.reward, d.quality, "{}", d.completion);
            assert_eq!(v.correct, d.quality >= 0.5);
            assert_eq!(v.components["format"], 1.0);
            words.extend(
                d.blurb
                    .split(' ')
                    .map(|w| w.trim_matches(['.', '!']).to_lowercase()),
            );
            chars.extend(d.completion.chars());
        }
        assert!(words.len() < 150, "{} words", words.len());
        assert!(chars.len() < 60, "{} characters: {chars:?}", chars.len());
    }
}
