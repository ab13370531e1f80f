//! Reading the gold answer spec a family stored in its task, and building simple ones.
//!
//! A gold spec that does not have the expected shape is the verifier's own failure
//! (`VerifyError::InvalidGold`), never a wrong answer: it means the task was not made by
//! this family or was edited.

use serde::de::DeserializeOwned;
use verigym_verifiers::VerifyError;

fn missing(key: &str) -> VerifyError {
    VerifyError::InvalidGold(format!("expected field '{key}'"))
}

/// Decodes the whole gold spec into a family's own type.
pub fn read_gold<T: DeserializeOwned>(gold: &serde_json::Value) -> Result<T, VerifyError> {
    T::deserialize(gold).map_err(|e| VerifyError::InvalidGold(e.to_string()))
}

/// A string field of the gold spec.
pub fn gold_str<'a>(gold: &'a serde_json::Value, key: &str) -> Result<&'a str, VerifyError> {
    gold.get(key)
        .and_then(|v| v.as_str())
        .ok_or_else(|| missing(key))
}

/// An integer field of the gold spec.
pub fn gold_i64(gold: &serde_json::Value, key: &str) -> Result<i64, VerifyError> {
    gold.get(key)
        .and_then(|v| v.as_i64())
        .ok_or_else(|| missing(key))
}

/// An integer-array field of the gold spec.
pub fn gold_ints(gold: &serde_json::Value, key: &str) -> Result<Vec<i64>, VerifyError> {
    gold.get(key)
        .and_then(|v| v.as_array())
        .ok_or_else(|| missing(key))?
        .iter()
        .map(|v| v.as_i64().ok_or_else(|| missing(key)))
        .collect()
}

/// An integer-matrix field of the gold spec.
pub fn gold_matrix(gold: &serde_json::Value, key: &str) -> Result<Vec<Vec<i64>>, VerifyError> {
    gold.get(key)
        .and_then(|v| v.as_array())
        .ok_or_else(|| missing(key))?
        .iter()
        .map(|row| {
            row.as_array()
                .ok_or_else(|| missing(key))?
                .iter()
                .map(|v| v.as_i64().ok_or_else(|| missing(key)))
                .collect()
        })
        .collect()
}

/// A string-array field of the gold spec.
pub fn gold_strs<'a>(gold: &'a serde_json::Value, key: &str) -> Result<Vec<&'a str>, VerifyError> {
    gold.get(key)
        .and_then(|v| v.as_array())
        .ok_or_else(|| missing(key))?
        .iter()
        .map(|v| v.as_str().ok_or_else(|| missing(key)))
        .collect()
}

/// The gold spec `{key: value}` of a family whose gold is one string.
pub fn str_gold(key: &str, value: &str) -> serde_json::Value {
    serde_json::json!({ key: value })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fields_are_read_or_named_when_missing() {
        let g = json!({"s": "x", "n": 3, "v": [1, 2], "m": [[1], [2]], "w": ["a"]});
        assert_eq!(gold_str(&g, "s").unwrap(), "x");
        assert_eq!(gold_i64(&g, "n").unwrap(), 3);
        assert_eq!(gold_ints(&g, "v").unwrap(), vec![1, 2]);
        assert_eq!(gold_matrix(&g, "m").unwrap(), vec![vec![1], vec![2]]);
        assert_eq!(gold_strs(&g, "w").unwrap(), vec!["a"]);
        let err = gold_str(&g, "n").unwrap_err().to_string();
        assert!(err.contains("'n'"), "{err}");
        assert!(gold_ints(&json!({"v": [1, "x"]}), "v").is_err());
        assert_eq!(str_gold("text", "HI"), json!({"text": "HI"}));
        let back: std::collections::BTreeMap<String, i64> = read_gold(&json!({"a": 1})).unwrap();
        assert_eq!(back["a"], 1);
        assert!(read_gold::<u8>(&json!("x")).is_err());
    }
}
