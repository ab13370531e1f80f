//! `chemical_balancing`: balance a chemical equation. The reference sets up one atom-balance
//! equation per element and solves them by elimination; the verifier accepts any answer
//! that names the same species on the same sides, conserves every element, and uses the
//! smallest positive integer coefficients (gcd 1).

use crate::env::{Domain, Family, Problem};
use crate::kit::render;
use crate::kit::unwrap_answer;
use crate::kit::{excerpt, level};
use crate::math::grade::MAX_ANSWER_BYTES;
use crate::rng::TaskRng;
use crate::science::chem::Reaction;
use crate::science::reactions::{draw_reaction, ReactionKind};
use num_integer::Integer;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::fmt::Write;
use verigym_verifiers::{Verdict, VerifyError};

const TEMPLATE: &str = crate::template!("chemical_balancing");

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChemicalBalancingConfig {
    pub kinds: Vec<ReactionKind>,
    /// Largest number of carbon atoms in a combustion fuel.
    pub max_carbons: i64,
    /// Fewest species (reactants plus products) in a drawn reaction.
    pub min_species: usize,
}

pub struct ChemicalBalancing {
    config: ChemicalBalancingConfig,
}

/// The reaction kinds of each level.
pub fn kinds_for(d: u8) -> Vec<ReactionKind> {
    use ReactionKind::*;
    match d {
        1 => vec![Synthesis],
        2 => vec![Synthesis, Combustion],
        3 => vec![Synthesis, Combustion, MetalAcid, Neutralisation],
        4..=5 => vec![Combustion, MetalAcid, Neutralisation, DoubleDisplacement],
        6..=7 => vec![Combustion, Neutralisation, DoubleDisplacement, Listed],
        8..=9 => vec![DoubleDisplacement, Listed, Listed],
        _ => vec![Listed],
    }
}

impl Family for ChemicalBalancing {
    type Config = ChemicalBalancingConfig;
    const NAME: &'static str = "chemical_balancing";
    const DOMAIN: Domain = Domain::Science;
    const DESCRIPTION: &'static str =
        "Balance chemical equations; verified by atom conservation with smallest integer coefficients";

    fn config_for(d: u8) -> ChemicalBalancingConfig {
        ChemicalBalancingConfig {
            kinds: kinds_for(d),
            max_carbons: level(d, [2, 3, 4, 5, 6, 8, 10, 12, 16, 20]),
            min_species: level(d, [3, 3, 3, 4, 4, 4, 4, 5, 5, 5]),
        }
    }

    fn new(c: ChemicalBalancingConfig) -> Result<Self, String> {
        if c.kinds.is_empty() {
            return Err("kinds: at least one reaction kind is needed".into());
        }
        if !(2..=6).contains(&c.min_species) {
            return Err("min_species must be in 2..=6".into());
        }
        if !(1..=60).contains(&c.max_carbons) {
            return Err("max_carbons must be in 1..=60".into());
        }
        Ok(ChemicalBalancing { config: c })
    }

    fn generate(&self, rng: &mut TaskRng) -> Result<Problem, String> {
        // Draw until the reaction balances uniquely and is big enough (bounded; past the
        // bound any uniquely balanced draw is kept).
        let c = &self.config;
        let mut found = None;
        for attempt in 0..96 {
            let Some(mut r) = draw_reaction(rng, &c.kinds, c.max_carbons) else {
                continue;
            };
            if attempt < 64 && r.reactants.len() + r.products.len() < c.min_species {
                continue;
            }
            rng.shuffle(&mut r.reactants);
            rng.shuffle(&mut r.products);
            let mut t = String::new();
            if let Some(coefs) = r.balance_worked(&mut t) {
                found = Some((r, coefs, t));
                break;
            }
        }
        let (r, coefs, mut t) = found.ok_or("no uniquely balanced reaction drawn")?;
        let balanced = r.text(Some(&coefs));
        let _ = write!(t, "Balanced: {balanced}");
        Ok(Problem {
            question: render(TEMPLATE, &[("equation", &r.text(None))]),
            answer: json!({ "reactants": r.reactants, "products": r.products }),
            thinking: t,
            final_answer: balanced,
        })
    }

    fn verify(&self, gold: &serde_json::Value, answer: &str) -> Result<Verdict, VerifyError> {
        let side = |k: &str| -> Result<Vec<String>, VerifyError> {
            gold.get(k)
                .and_then(|v| v.as_array())
                .and_then(|a| {
                    a.iter()
                        .map(|s| s.as_str().map(str::to_string))
                        .collect::<Option<Vec<_>>>()
                })
                .ok_or_else(|| VerifyError::InvalidGold(format!("expected a {k} array")))
        };
        let r = Reaction {
            reactants: side("reactants")?,
            products: side("products")?,
        };
        Ok(match check_balanced(&r, answer) {
            Ok(()) => Verdict::correct(excerpt(answer)),
            Err(why) => Verdict::wrong(Some(excerpt(answer)), why),
        })
    }
}

/// Parses `2 H2 + O2 -> 2 H2O` against the gold species and checks the balance.
pub fn check_balanced(gold: &Reaction, answer: &str) -> Result<(), String> {
    if answer.len() > MAX_ANSWER_BYTES {
        return Err("answer too long".into());
    }
    let s = unwrap_answer(answer)
        .replace(['→', '⟶'], "->")
        .replace("\\rightarrow", "->")
        .replace("\\to", "->");
    let (l, rgt) = s
        .split_once("->")
        .or_else(|| s.split_once('='))
        .ok_or("no arrow between the two sides")?;
    let parse_side = |text: &str| -> Result<Vec<(String, u64)>, String> {
        text.split('+')
            .map(|term| {
                let term = term.trim();
                let digits: String = term.chars().take_while(|c| c.is_ascii_digit()).collect();
                let rest = term[digits.len()..].trim().trim_start_matches('*').trim();
                let k = if digits.is_empty() {
                    1
                } else {
                    digits
                        .parse::<u64>()
                        .map_err(|_| "coefficient too large".to_string())?
                };
                if k == 0 || digits.len() > 6 {
                    return Err(format!("bad coefficient in {term:?}"));
                }
                Ok((rest.replace(' ', ""), k))
            })
            .collect()
    };
    let (lt, rt) = (parse_side(l)?, parse_side(rgt)?);
    // Match the answer's species to the gold order.
    let mut coefs = Vec::new();
    for (gold_side, got) in [(&gold.reactants, &lt), (&gold.products, &rt)] {
        if gold_side.len() != got.len() {
            return Err("the answer has different species".into());
        }
        for f in gold_side {
            let hits: Vec<u64> = got
                .iter()
                .filter(|(g, _)| g == f)
                .map(|(_, k)| *k)
                .collect();
            match hits.as_slice() {
                [k] => coefs.push(*k),
                _ => return Err(format!("{f} must appear exactly once on its side")),
            }
        }
    }
    if !gold.conserves(&coefs) {
        return Err("atoms are not conserved".into());
    }
    let g = coefs.iter().fold(0u64, |a, b| a.gcd(b));
    if g != 1 {
        return Err(format!(
            "coefficients share the factor {g}; use the smallest whole numbers"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_order_is_accepted_but_not_multiples() {
        let r = Reaction {
            reactants: vec!["H2".into(), "O2".into()],
            products: vec!["H2O".into()],
        };
        assert!(check_balanced(&r, "2 H2 + O2 -> 2 H2O").is_ok());
        assert!(check_balanced(&r, "O2 + 2H2 → 2 H2O").is_ok());
        assert!(check_balanced(&r, "4 H2 + 2 O2 -> 4 H2O").is_err());
        assert!(check_balanced(&r, "H2 + O2 -> H2O").is_err());
        assert!(check_balanced(&r, "2 H2 + O2 -> 2 H2O + 0 O2").is_err());
        assert!(check_balanced(&r, "2 H2 + O2").is_err());
    }
}
