//! Math answer verification: extraction, parsing and exact equivalence.
//!
//! STUB API (the math-verifier issue replaces the implementation, keeping these names):
//! `verify(gold, completion_answer, &MathOptions) -> MathVerdict`.

use serde::{Deserialize, Serialize};

/// Options of one comparison.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MathOptions {
    /// Accept unevaluated arithmetic (`2+3`) for an integer gold.
    #[serde(default)]
    pub allow_unevaluated: bool,
    /// Relative tolerance when the gold is a decimal approximation (None: exact).
    #[serde(default)]
    pub float_tolerance: Option<f64>,
}

/// Result of comparing an answer to a gold answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MathVerdict {
    pub equal: bool,
    pub extracted: Option<String>,
    pub reason: Option<String>,
}

/// Compares `answer` (the text to grade, e.g. the inside of `<answer>` or a whole
/// completion) with `gold`. Stub: exact match after trimming.
pub fn verify(gold: &str, answer: &str, _opts: &MathOptions) -> MathVerdict {
    let a = answer.trim();
    let equal = !a.is_empty() && a == gold.trim();
    MathVerdict {
        equal,
        extracted: Some(a.to_string()),
        reason: (!equal).then(|| "not equal".to_string()),
    }
}
