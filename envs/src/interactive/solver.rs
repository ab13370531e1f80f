//! The guess chooser the games' reference solvers share: among the secrets still
//! consistent with the feedback so far, the guess whose feedback leaves the smallest
//! largest group (Knuth's minimax rule for Mastermind, restricted to consistent guesses so
//! every guess may win). Deterministic: ties go to the earliest candidate.

/// The index in `candidates` of the next guess. Above `exhaustive` candidates the rule
/// costs too much (quadratic) and the first candidate is taken.
pub fn next_guess<T, K: Ord>(
    candidates: &[T],
    feedback: impl Fn(&T, &T) -> K,
    exhaustive: usize,
) -> usize {
    if candidates.len() > exhaustive {
        return 0;
    }
    let mut best = (usize::MAX, 0);
    let mut keys = Vec::with_capacity(candidates.len());
    for (i, guess) in candidates.iter().enumerate() {
        keys.clear();
        keys.extend(candidates.iter().map(|secret| feedback(guess, secret)));
        keys.sort_unstable();
        let mut largest = 0;
        let mut run = 0;
        for j in 0..keys.len() {
            run = if j > 0 && keys[j] == keys[j - 1] {
                run + 1
            } else {
                1
            };
            largest = largest.max(run);
        }
        if largest < best.0 {
            best = (largest, i);
        }
    }
    best.1
}

/// Keeps the candidates that would have given `seen` for `guess`.
pub fn filter<T: Clone, K: PartialEq>(
    candidates: &[T],
    guess: &T,
    seen: &K,
    feedback: impl Fn(&T, &T) -> K,
) -> Vec<T> {
    candidates
        .iter()
        .filter(|s| feedback(guess, s) == *seen)
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_the_guess_that_splits_best() {
        // Guessing 2 of 1..=3 with higher/lower feedback splits {1, 3} evenly.
        let f = |g: &i32, s: &i32| g.cmp(s);
        assert_eq!(next_guess(&[1, 2, 3], f, 10), 1);
        assert_eq!(next_guess(&[1, 2, 3], f, 2), 0);
        assert_eq!(
            filter(&[1, 2, 3], &2, &std::cmp::Ordering::Less, f),
            vec![3]
        );
    }
}
