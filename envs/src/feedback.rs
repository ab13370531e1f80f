//! People's feedback on completions, for domains without a verifier: the JSONL shapes a
//! reward model trains on, and their conversion to preference pairs.
//!
//! Three shapes, told apart by their fields (other fields, such as an annotator id, are
//! kept out of the way and ignored):
//!
//! - comparison `{"prompt", "chosen", "rejected"}` (with `"tie": true` when the person found
//!   them equal, as `verigym label` writes it);
//! - rating `{"prompt", "completion", "rating"}`: completions of the same prompt with
//!   different ratings make a pair, the better one chosen, `margin` = the rating difference;
//! - ordering `{"prompt", "ranking": [best, ..., worst]}`: every implied pair.
//!
//! A malformed row is an error naming file, line and field. Ties (equal ratings, a tied
//! comparison, a completion against itself) and duplicates (a pair seen before) are counted
//! in [`PairStats`]: ties make no pair; duplicate pairs are kept (two people agreeing is
//! signal) and so are contradicting ones (`conflicts`).

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, HashSet};
use std::path::Path;

/// One row of feedback.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Feedback {
    Comparison {
        prompt: String,
        chosen: String,
        rejected: String,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        tie: bool,
    },
    Rating {
        prompt: String,
        completion: String,
        rating: f64,
    },
    Ordering {
        prompt: String,
        ranking: Vec<String>,
    },
}

impl Feedback {
    pub fn prompt(&self) -> &str {
        match self {
            Feedback::Comparison { prompt, .. }
            | Feedback::Rating { prompt, .. }
            | Feedback::Ordering { prompt, .. } => prompt,
        }
    }
}

/// A preference: `chosen` is better than `rejected` for `prompt`, by at least `margin`
/// (rating points; 0 for comparisons and orderings).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pair {
    pub prompt: String,
    pub chosen: String,
    pub rejected: String,
    pub margin: f64,
}

/// What the conversion saw besides the pairs it made.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PairStats {
    pub rows: usize,
    pub comparisons: usize,
    pub ratings: usize,
    pub orderings: usize,
    pub pairs: usize,
    /// Equal ratings, tied comparisons, a completion compared with itself: no pair.
    pub ties: usize,
    /// Pairs (prompt, chosen, rejected) seen before; kept.
    pub duplicates: usize,
    /// Pairs whose reverse was seen before; kept.
    pub conflicts: usize,
    /// A completion rated more than once for the same prompt (each rating is used).
    pub repeated_ratings: usize,
}

/// A row that is not feedback; the message names file, line and field.
#[derive(Debug, thiserror::Error)]
pub enum FeedbackError {
    #[error("{file}:{line}: {msg}")]
    Row {
        file: String,
        line: usize,
        msg: String,
    },
    #[error("{file}: {source}")]
    Io {
        file: String,
        source: std::io::Error,
    },
}

/// Parses one JSONL row (`line` is 1-based, for the error).
pub fn parse_row(text: &str, file: &str, line: usize) -> Result<Feedback, FeedbackError> {
    let err = |msg: String| FeedbackError::Row {
        file: file.to_string(),
        line,
        msg,
    };
    let v: Value = serde_json::from_str(text).map_err(|e| err(format!("not JSON: {e}")))?;
    let obj = v
        .as_object()
        .ok_or_else(|| err("a row must be a JSON object".into()))?;
    let string = |field: &str| -> Result<String, FeedbackError> {
        match obj.get(field) {
            Some(Value::String(s)) => Ok(s.clone()),
            Some(other) => Err(err(format!(
                "field '{field}' must be a string, got {other}"
            ))),
            None => Err(err(format!("missing field '{field}'"))),
        }
    };
    let prompt = string("prompt")?;
    if obj.contains_key("chosen") || obj.contains_key("rejected") {
        let tie = match obj.get("tie") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(other) => {
                return Err(err(format!(
                    "field 'tie' must be true or false, got {other}"
                )))
            }
        };
        return Ok(Feedback::Comparison {
            prompt,
            chosen: string("chosen")?,
            rejected: string("rejected")?,
            tie,
        });
    }
    if obj.contains_key("rating") || obj.contains_key("completion") {
        let rating = match obj.get("rating") {
            Some(Value::Number(n)) => n
                .as_f64()
                .filter(|r| r.is_finite())
                .ok_or_else(|| err("field 'rating' must be a finite number".into()))?,
            Some(other) => {
                return Err(err(format!("field 'rating' must be a number, got {other}")))
            }
            None => return Err(err("missing field 'rating'".into())),
        };
        return Ok(Feedback::Rating {
            prompt,
            completion: string("completion")?,
            rating,
        });
    }
    match obj.get("ranking") {
        Some(Value::Array(items)) => {
            let ranking = items
                .iter()
                .enumerate()
                .map(|(i, x)| {
                    x.as_str()
                        .map(str::to_string)
                        .ok_or_else(|| err(format!("field 'ranking' item {i} must be a string")))
                })
                .collect::<Result<Vec<_>, _>>()?;
            if ranking.len() < 2 {
                return Err(err("field 'ranking' needs at least 2 completions".into()));
            }
            Ok(Feedback::Ordering { prompt, ranking })
        }
        Some(other) => Err(err(format!("field 'ranking' must be a list, got {other}"))),
        None => Err(err(
            "no feedback fields: a row needs 'chosen' and 'rejected', 'completion' and \
             'rating', or 'ranking'"
                .into(),
        )),
    }
}

/// Reads a feedback JSONL file (blank lines are skipped).
pub fn read_file(path: &Path) -> Result<Vec<Feedback>, FeedbackError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| FeedbackError::Io {
        file: file.clone(),
        source,
    })?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| parse_row(l, &file, i + 1))
        .collect()
}

/// Every preference pair the rows imply, in row order, and what was counted on the way.
pub fn to_pairs(rows: &[Feedback]) -> (Vec<Pair>, PairStats) {
    let mut st = PairStats {
        rows: rows.len(),
        ..Default::default()
    };
    let mut out = Pairs::default();
    // Ratings pair up within a prompt, in the order the prompts first appear.
    let mut rated: BTreeMap<usize, (String, Vec<(String, f64)>)> = BTreeMap::new();
    let mut prompt_slot: std::collections::HashMap<&str, usize> = Default::default();
    for (i, row) in rows.iter().enumerate() {
        match row {
            Feedback::Comparison {
                prompt,
                chosen,
                rejected,
                tie,
            } => {
                st.comparisons += 1;
                if *tie || chosen == rejected {
                    st.ties += 1;
                } else {
                    out.push(&mut st, prompt, chosen, rejected, 0.0);
                }
            }
            Feedback::Rating {
                prompt,
                completion,
                rating,
            } => {
                st.ratings += 1;
                let slot = *prompt_slot.entry(prompt).or_insert(i);
                let entry = rated
                    .entry(slot)
                    .or_insert_with(|| (prompt.clone(), Vec::new()));
                if entry.1.iter().any(|(c, _)| c == completion) {
                    st.repeated_ratings += 1;
                }
                entry.1.push((completion.clone(), *rating));
            }
            Feedback::Ordering { prompt, ranking } => {
                st.orderings += 1;
                for (a, better) in ranking.iter().enumerate() {
                    for worse in &ranking[a + 1..] {
                        if better == worse {
                            st.ties += 1;
                        } else {
                            out.push(&mut st, prompt, better, worse, 0.0);
                        }
                    }
                }
            }
        }
    }
    for (prompt, items) in rated.values() {
        for (a, (ca, ra)) in items.iter().enumerate() {
            for (cb, rb) in &items[a + 1..] {
                if ra == rb || ca == cb {
                    st.ties += 1;
                } else if ra > rb {
                    out.push(&mut st, prompt, ca, cb, ra - rb);
                } else {
                    out.push(&mut st, prompt, cb, ca, rb - ra);
                }
            }
        }
    }
    st.pairs = out.pairs.len();
    (out.pairs, st)
}

#[derive(Default)]
struct Pairs {
    pairs: Vec<Pair>,
    seen: HashSet<(String, String, String)>,
}

impl Pairs {
    fn push(
        &mut self,
        st: &mut PairStats,
        prompt: &str,
        chosen: &str,
        rejected: &str,
        margin: f64,
    ) {
        let key = (prompt.to_string(), chosen.to_string(), rejected.to_string());
        let reverse = (prompt.to_string(), rejected.to_string(), chosen.to_string());
        if self.seen.contains(&key) {
            st.duplicates += 1;
        } else if self.seen.contains(&reverse) {
            st.conflicts += 1;
        }
        self.seen.insert(key);
        self.pairs.push(Pair {
            prompt: prompt.to_string(),
            chosen: chosen.to_string(),
            rejected: rejected.to_string(),
            margin,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(text: &str) -> Vec<Feedback> {
        text.lines()
            .enumerate()
            .map(|(i, l)| parse_row(l, "f.jsonl", i + 1).unwrap())
            .collect()
    }

    fn triples(pairs: &[Pair]) -> Vec<(&str, &str, f64)> {
        pairs
            .iter()
            .map(|p| (p.chosen.as_str(), p.rejected.as_str(), p.margin))
            .collect()
    }

    #[test]
    fn comparisons_give_their_pair_and_ties_none() {
        let r = rows(concat!(
            r#"{"prompt": "p", "chosen": "a", "rejected": "b", "annotator": 7}"#,
            "\n",
            r#"{"prompt": "p", "chosen": "a", "rejected": "b"}"#,
            "\n",
            r#"{"prompt": "p", "chosen": "b", "rejected": "a"}"#,
            "\n",
            r#"{"prompt": "p", "chosen": "a", "rejected": "c", "tie": true}"#,
            "\n",
            r#"{"prompt": "p", "chosen": "c", "rejected": "c"}"#,
        ));
        let (pairs, st) = to_pairs(&r);
        assert_eq!(
            triples(&pairs),
            vec![("a", "b", 0.0), ("a", "b", 0.0), ("b", "a", 0.0)]
        );
        assert_eq!(
            (st.comparisons, st.ties, st.duplicates, st.conflicts),
            (5, 2, 1, 1)
        );
        assert_eq!(st.pairs, 3);
    }

    #[test]
    fn ratings_pair_within_a_prompt_with_the_difference_as_margin() {
        let r = rows(concat!(
            r#"{"prompt": "p", "completion": "a", "rating": 2}"#,
            "\n",
            r#"{"prompt": "q", "completion": "x", "rating": 1}"#,
            "\n",
            r#"{"prompt": "p", "completion": "b", "rating": 5}"#,
            "\n",
            r#"{"prompt": "p", "completion": "c", "rating": 2}"#,
            "\n",
            r#"{"prompt": "q", "completion": "y", "rating": 1.5}"#,
        ));
        let (pairs, st) = to_pairs(&r);
        assert_eq!(
            triples(&pairs),
            vec![("b", "a", 3.0), ("b", "c", 3.0), ("y", "x", 0.5)]
        );
        assert!(pairs.iter().take(2).all(|p| p.prompt == "p"));
        assert_eq!((st.ratings, st.ties, st.pairs), (5, 1, 3));
    }

    #[test]
    fn an_ordering_gives_every_implied_pair() {
        let r = rows(r#"{"prompt": "p", "ranking": ["a", "b", "c", "d"]}"#);
        let (pairs, st) = to_pairs(&r);
        assert_eq!(
            triples(&pairs),
            vec![
                ("a", "b", 0.0),
                ("a", "c", 0.0),
                ("a", "d", 0.0),
                ("b", "c", 0.0),
                ("b", "d", 0.0),
                ("c", "d", 0.0)
            ]
        );
        assert_eq!((st.orderings, st.pairs, st.ties), (1, 6, 0));
    }

    #[test]
    fn malformed_rows_name_file_line_and_field() {
        let cases = [
            ("[1, 2]", "JSON object"),
            (
                "{\"prompt\": 1, \"chosen\": \"a\", \"rejected\": \"b\"}",
                "'prompt'",
            ),
            (
                "{\"prompt\": \"p\", \"chosen\": \"a\"}",
                "missing field 'rejected'",
            ),
            (
                "{\"prompt\": \"p\", \"completion\": \"a\", \"rating\": \"5\"}",
                "'rating'",
            ),
            (
                "{\"prompt\": \"p\", \"completion\": \"a\"}",
                "missing field 'rating'",
            ),
            ("{\"prompt\": \"p\", \"ranking\": [\"a\"]}", "'ranking'"),
            (
                "{\"prompt\": \"p\", \"ranking\": [\"a\", 3]}",
                "'ranking' item 1",
            ),
            ("{\"prompt\": \"p\"}", "no feedback fields"),
            (
                "{\"prompt\": \"p\", \"chosen\": \"a\", \"rejected\": \"b\", \"tie\": 1}",
                "'tie'",
            ),
            ("not json", "not JSON"),
        ];
        for (text, want) in cases {
            let e = parse_row(text, "f.jsonl", 12).unwrap_err().to_string();
            assert!(
                e.starts_with("f.jsonl:12: ") && e.contains(want),
                "{text}: {e}"
            );
        }
    }

    #[test]
    fn rows_serialise_in_the_shapes_they_are_read_in() {
        for text in [
            r#"{"prompt":"p","chosen":"a","rejected":"b"}"#,
            r#"{"prompt":"p","chosen":"a","rejected":"b","tie":true}"#,
            r#"{"prompt":"p","completion":"a","rating":4.0}"#,
            r#"{"prompt":"p","ranking":["a","b"]}"#,
        ] {
            let row = parse_row(text, "f", 1).unwrap();
            assert_eq!(serde_json::to_string(&row).unwrap(), text);
        }
    }
}
